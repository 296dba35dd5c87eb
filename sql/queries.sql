-- The benchmark query set (../shared/bench/queries.md, Q1-Q8) runs unchanged
-- against the store once vpcflow is on the search_path.
SET search_path = vpcflow, public;

SELECT ensure_partitions('2024-05-01 00:00+00', '2024-05-02 00:00+00');
-- 2,000 deterministic records: 3 accounts, 20 interfaces, 10.K.x.y and public peers
INSERT INTO flows
SELECT * FROM parse((
    SELECT string_agg(format('2 %s eni-%s %s %s %s %s %s %s %s %s %s %s OK',
        '11111111111' || (g % 3),
        lpad(to_hex(g % 20), 17, '0'),
        '10.' || (g % 5) || '.' || (g % 7) || '.' || (g % 11),
        CASE WHEN g % 4 = 0 THEN '198.51.100.' || (g % 50) ELSE '10.3.' || (g % 13) || '.' || (g % 17) END,
        1024 + g % 300, CASE WHEN g % 9 = 0 THEN g % 400 ELSE 443 END,
        CASE WHEN g % 10 = 0 THEN 17 ELSE 6 END,
        1 + g % 23, 40 * (1 + g % 23) + g,
        1714521600 + g * 43, 1714521600 + g * 43 + 30,
        CASE WHEN g % 8 = 0 THEN 'REJECT' ELSE 'ACCEPT' END), E'\n')
    FROM generate_series(1, 2000) g));
ANALYZE flows;

-- Q1 top 10 source IPs by bytes over the whole day
SELECT srcaddr, sum(bytes) AS bytes
FROM flows
WHERE start_time >= '2024-05-01 00:00:00+00' AND start_time < '2024-05-02 00:00:00+00'
GROUP BY srcaddr
ORDER BY bytes DESC NULLS LAST
LIMIT 10;

-- Q2 top 10 talkers by bytes in a 1-hour window
SELECT srcaddr, sum(bytes) AS bytes
FROM flows
WHERE start_time >= '2024-05-01 12:00:00+00' AND start_time < '2024-05-01 13:00:00+00'
GROUP BY srcaddr
ORDER BY bytes DESC NULLS LAST
LIMIT 10;

-- Q3 REJECT rate per interface
SELECT interface_id, count(*) AS flows,
       count(*) FILTER (WHERE action = 'REJECT') AS rejects,
       round(count(*) FILTER (WHERE action = 'REJECT')::numeric / count(*), 4) AS reject_rate
FROM flows
WHERE start_time >= '2024-05-01 00:00:00+00' AND start_time < '2024-05-02 00:00:00+00'
GROUP BY interface_id
HAVING count(*) >= 100
ORDER BY rejects DESC, interface_id
LIMIT 20;

-- Q4 egress bytes to non-RFC1918 destinations per account per hour (first rows)
SELECT account_id, date_trunc('hour', start_time) AS hour, sum(bytes) AS egress_bytes
FROM flows
WHERE start_time >= '2024-05-01 00:00:00+00' AND start_time < '2024-05-02 00:00:00+00'
  AND NOT (dstaddr << inet '10.0.0.0/8' OR dstaddr << inet '172.16.0.0/12'
           OR dstaddr << inet '192.168.0.0/16')
GROUP BY 1, 2
ORDER BY 1, 2
LIMIT 6;

-- Q5 flows to 10.3.0.0/16 in a 1-hour window (count)
SELECT count(*), sum(bytes) FROM (
SELECT *
FROM flows
WHERE dstaddr << inet '10.3.0.0/16'
  AND start_time >= '2024-05-01 12:00:00+00' AND start_time < '2024-05-01 13:00:00+00'
) q5;

-- Q6 sources with more than 100 distinct destination ports in 5 minutes (threshold 1 here)
SELECT srcaddr, date_bin('5 minutes', start_time, timestamptz '2000-01-01 00:00:00+00') AS bucket,
       count(DISTINCT dstport) AS ports
FROM flows
WHERE start_time >= '2024-05-01 00:00:00+00' AND start_time < '2024-05-02 00:00:00+00' AND srcaddr IS NOT NULL
GROUP BY 1, 2
HAVING count(DISTINCT dstport) >= 1
ORDER BY ports DESC, 1, 2
LIMIT 5;

-- Q7 flow count and bytes per 5-minute bucket (first buckets)
SELECT date_bin('5 minutes', start_time, timestamptz '2000-01-01 00:00:00+00') AS bucket,
       count(*) AS flows, sum(bytes) AS bytes
FROM flows
WHERE start_time >= '2024-05-01 00:00:00+00' AND start_time < '2024-05-02 00:00:00+00'
GROUP BY 1
ORDER BY 1
LIMIT 3;

-- Q8 point lookup: all flows from one source address in the day (count)
SELECT count(*), min(start_time), max(start_time) FROM (
SELECT *
FROM flows
WHERE srcaddr = inet '10.1.1.1'
  AND start_time >= '2024-05-01 00:00:00+00' AND start_time < '2024-05-02 00:00:00+00'
) q8;

-- Q5 and Q8 can use the address indexes
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF)
SELECT * FROM flows
WHERE dstaddr << inet '10.3.0.0/16'
  AND start_time >= '2024-05-01 12:00:00+00' AND start_time < '2024-05-01 13:00:00+00';
RESET enable_seqscan;
RESET enable_bitmapscan;
