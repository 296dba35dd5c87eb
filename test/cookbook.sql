-- pgTAP: every query of the cookbook (docs/dashboards.md) on a small
-- hand-written flow log whose answers are worked out by hand in the
-- comments.  Day under test: 2019-05-01 UTC (t0 = 1556668800); one record
-- on the day before.  Everything is rolled back.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = warning;
SELECT plan(28);

SELECT 1 FROM vpcflow.load_aws_ip_ranges('{"createDate": "2019-01-01-00-00-00",
    "prefixes": [{"ip_prefix": "52.95.0.0/16", "region": "us-east-1", "service": "S3", "network_border_group": "us-east-1"}]}');
SELECT 1 FROM vpcflow.load_subnets('{"Subnets": [
    {"SubnetId": "subnet-0c0", "VpcId": "vpc-0cb", "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "us-east-1a", "AvailabilityZoneId": "use1-az1"},
    {"SubnetId": "subnet-0c1", "VpcId": "vpc-0cb", "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1b", "AvailabilityZoneId": "use1-az2"}]}',
    '2019-01-01');

-- fields: interface src dst sport dport proto packets bytes start end action tcp-flags direction path type
SELECT 1 FROM vpcflow.ingest_data('cookbook.log', convert_to(
'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id az-id tcp-flags flow-direction traffic-path interface-type
5 999988887777 eni-0c1 10.0.0.5 203.0.113.9 49999 443 6 1 100 1556582400 1556582410 ACCEPT OK vpc-0cb subnet-0c0 use1-az1 2 egress 8 -
5 999988887777 eni-0c1 10.0.0.5 203.0.113.9 50000 443 6 10 5000 1556668800 1556668810 ACCEPT OK vpc-0cb subnet-0c0 use1-az1 2 egress 8 -
5 999988887777 eni-0c1 203.0.113.9 10.0.0.5 443 50000 6 20 20000 1556668800 1556668810 ACCEPT OK vpc-0cb subnet-0c0 use1-az1 18 ingress - -
5 999988887777 eni-0c1 10.0.0.5 52.95.1.1 50001 443 6 5 3000 1556668860 1556668870 ACCEPT OK vpc-0cb subnet-0c0 use1-az1 2 egress 8 -
5 999988887777 eni-0c9 10.0.1.9 52.95.2.2 50002 443 6 8 8000 1556668860 1556668870 ACCEPT OK vpc-0cb subnet-0c1 use1-az2 2 egress 8 nat_gateway
5 999988887777 eni-0c2 198.51.100.7 10.0.1.6 40000 22 6 1 40 1556668920 1556668921 REJECT OK vpc-0cb subnet-0c1 use1-az2 2 ingress - -
5 999988887777 eni-0c2 198.51.100.7 10.0.1.6 40000 3389 6 1 40 1556668920 1556668921 ACCEPT OK vpc-0cb subnet-0c1 use1-az2 2 ingress - -
5 999988887777 eni-0c2 198.51.100.7 10.0.1.6 40000 23 6 1 40 1556668920 1556668921 REJECT OK vpc-0cb subnet-0c1 use1-az2 2 ingress - -
5 999988887777 eni-0c2 198.51.100.7 10.0.1.6 40000 25 6 1 40 1556668920 1556668921 REJECT OK vpc-0cb subnet-0c1 use1-az2 2 ingress - -
5 999988887777 eni-0c1 10.0.0.5 10.0.1.6 50003 5432 6 4 2000 1556668980 1556668990 ACCEPT OK vpc-0cb subnet-0c0 use1-az1 2 egress 1 -
5 999988887777 eni-0c1 10.0.0.5 10.0.0.7 50004 6379 6 2 1000 1556668980 1556668990 ACCEPT OK vpc-0cb subnet-0c0 use1-az1 2 egress 1 -
5 999988887777 eni-0c3 198.51.100.8 10.0.0.20 41000 22 6 1 40 1556669040 1556669041 REJECT OK vpc-0cb subnet-0c0 use1-az1 2 ingress - -
5 999988887777 eni-0c3 198.51.100.8 10.0.0.21 41000 22 6 1 40 1556669040 1556669041 REJECT OK vpc-0cb subnet-0c0 use1-az1 2 ingress - -
5 999988887777 eni-0c3 198.51.100.8 10.0.0.22 41000 22 6 1 40 1556669040 1556669041 REJECT OK vpc-0cb subnet-0c0 use1-az1 2 ingress - -
5 999988887777 eni-0c4 2600:1f18::5 2001:db8::1 50005 443 6 3 900 1556672400 1556672410 ACCEPT OK vpc-0cb subnet-0c0 use1-az1 2 egress 8 -
5 999988887777 eni-0c1 10.0.0.5 10.1.0.9 50006 443 6 2 1000 1556672400 1556672410 ACCEPT OK vpc-0cb subnet-0c0 use1-az1 2 egress 4 -
5 999988887777 eni-0c1 10.0.0.5 10.0.0.2 50007 53 17 1 100 1556672400 1556672401 ACCEPT OK vpc-0cb subnet-0c0 use1-az1 0 egress 1 -
', 'UTF8'));
SELECT 1 FROM vpcflow.refresh_rollups();

-- Top talkers: source addresses by bytes.  203.0.113.9 sent 20000; 10.0.0.5
-- 5000 + 3000 + 2000 + 1000 + 1000 + 100; 10.0.1.9 8000.
SELECT is(array_to_string(ARRAY(
    SELECT host(srcaddr) || '=' || sum(bytes) FROM vpcflow.flows
    WHERE start_time >= '2019-05-01' AND start_time < '2019-05-02'
    GROUP BY srcaddr ORDER BY sum(bytes) DESC, srcaddr LIMIT 3), ' '),
    '203.0.113.9=20000 10.0.0.5=12100 10.0.1.9=8000', 'top talkers');

-- Top pairs (either direction counts separately).
SELECT is(array_to_string(ARRAY(
    SELECT host(srcaddr) || '>' || host(dstaddr) || '=' || sum(bytes) FROM vpcflow.flows
    WHERE start_time >= '2019-05-01' AND start_time < '2019-05-02'
    GROUP BY srcaddr, dstaddr ORDER BY sum(bytes) DESC, srcaddr, dstaddr LIMIT 3), ' '),
    '203.0.113.9>10.0.0.5=20000 10.0.1.9>52.95.2.2=8000 10.0.0.5>203.0.113.9=5000', 'top pairs');

-- Rejects by source: 198.51.100.7 (22, 23, 25) and 198.51.100.8 (three hosts).
SELECT is(array_to_string(ARRAY(
    SELECT host(srcaddr) || '=' || count(*) FROM vpcflow.flows
    WHERE start_time >= '2019-05-01' AND start_time < '2019-05-02' AND action = 'REJECT'
    GROUP BY srcaddr ORDER BY count(*) DESC, srcaddr), ' '),
    '198.51.100.7=3 198.51.100.8=3', 'rejects by source');

-- REJECT rate per hour (rollups): hour 0 has 6 REJECTs of 13 records, hour 1 none of 3.
SELECT is(array_to_string(ARRAY(
    SELECT to_char(bucket, 'HH24') || '=' || round(sum(rejects)::numeric / nullif(sum(accepts) + sum(rejects), 0), 4)
    FROM vpcflow.rollup_vpc_1h
    WHERE bucket >= '2019-05-01' AND bucket < '2019-05-02' AND vpc_id = 'vpc-0cb'
    GROUP BY bucket ORDER BY bucket), ' '),
    '00=0.4615 01=0.0000', 'REJECT rate over time');

-- Admin ports (22, 3389) reachable from the internet: accepted inbound from
-- a public address.  Only 10.0.1.6:3389.
SELECT is(array_to_string(ARRAY(
    SELECT DISTINCT host(dstaddr) || ':' || dstport FROM vpcflow.flows
    WHERE start_time >= '2019-05-01' AND start_time < '2019-05-02'
      AND dstport IN (22, 3389) AND action = 'ACCEPT'
      AND NOT vpcflow.is_private_address(srcaddr) ORDER BY 1), ' '),
    '10.0.1.6:3389', 'admin ports reachable from the internet');

-- All traffic to or from a CIDR in a window: 10.0.1.0/24 on the day: the NAT
-- record, the four probes and the PostgreSQL connection.
SELECT is((SELECT count(*) FROM vpcflow.flows
           WHERE start_time >= '2019-05-01' AND start_time < '2019-05-02'
             AND (srcaddr << inet '10.0.1.0/24' OR dstaddr << inet '10.0.1.0/24')),
          6::bigint, 'traffic to or from a CIDR');

-- Egress by destination class and AWS service (rollups): internet 5000 + 900,
-- S3 3000 + 8000 (through the NAT), internal 2000 + 1000 + 1000 + 100.
SELECT is(array_to_string(ARRAY(
    SELECT remote_class || coalesce(':' || aws_service, '') || '=' || sum(bytes)
    FROM vpcflow.rollup_1d
    WHERE bucket = '2019-05-01' AND vpc_id = 'vpc-0cb' AND direction = 'egress'
    GROUP BY remote_class, aws_service ORDER BY sum(bytes) DESC), ' '),
    'aws:S3=11000 internet=5900 internal=4100', 'egress by destination and AWS service');

-- Internet vs internal vs peering (rollups, all directions): internet 5000 +
-- 20000 + 4 x 40 + 3 x 40 + 900, AWS 11000, internal 3100, peering 1000.
SELECT is(array_to_string(ARRAY(
    SELECT category || '=' || sum(bytes) FROM (
        SELECT CASE WHEN path = 'peering' THEN 'peering' ELSE remote_class END AS category, bytes
        FROM vpcflow.rollup_1d WHERE bucket = '2019-05-01' AND vpc_id = 'vpc-0cb') x
    GROUP BY category ORDER BY sum(bytes) DESC), ' '),
    'internet=26180 aws=11000 internal=3100 peering=1000', 'internet vs internal vs peering');

-- NAT gateway bytes to AWS services a gateway endpoint would make free
-- (S3, DynamoDB): the 8000 bytes through eni-0c9.
SELECT is((SELECT sum(bytes) FROM vpcflow.rollup_1d
           WHERE bucket >= '2019-05-01' AND bucket < '2019-05-02'
             AND path = 'nat_gateway' AND aws_service IN ('S3', 'DYNAMODB')),
          8000::numeric, 'NAT gateway traffic an endpoint would make free');

-- Cross-AZ bytes: 10.0.0.5 (use1-az1) to 10.0.1.6 (use1-az2), 2000 bytes.
SELECT is((SELECT sum(bytes) FROM vpcflow.rollup_1d
           WHERE bucket = '2019-05-01' AND vpc_id = 'vpc-0cb' AND path = 'cross_az'),
          2000::numeric, 'cross-AZ bytes');

-- IPv4 vs IPv6 (rollups): one IPv6 record of 900 bytes, 15 IPv4 records.
SELECT is(array_to_string(ARRAY(
    SELECT 'v' || ip_family || '=' || sum(flows) || '/' || sum(bytes) FROM vpcflow.rollup_1d
    WHERE bucket = '2019-05-01' AND vpc_id = 'vpc-0cb' GROUP BY ip_family ORDER BY ip_family), ' '),
    'v4=15/40380 v6=1/900', 'IPv4 vs IPv6');

-- Protocol mix (rollups): TCP 15 records, UDP 1.
SELECT is(array_to_string(ARRAY(
    SELECT protocol || '=' || sum(flows) FROM vpcflow.rollup_vpc_1d
    WHERE bucket = '2019-05-01' AND vpc_id = 'vpc-0cb' GROUP BY protocol ORDER BY protocol), ' '),
    '6=15 17=1', 'protocol mix');

-- Vertical port scans: one source, one destination, many ports (>= 3 here).
SELECT is(array_to_string(ARRAY(
    SELECT host(srcaddr) || '>' || host(dstaddr) || '=' || count(DISTINCT dstport) FROM vpcflow.flows
    WHERE start_time >= '2019-05-01' AND start_time < '2019-05-02'
    GROUP BY srcaddr, dstaddr HAVING count(DISTINCT dstport) >= 3 ORDER BY 1), ' '),
    '198.51.100.7>10.0.1.6=4', 'vertical port scans');

-- Horizontal sweeps: one outside source, one port, many destinations (>= 3
-- here; 10.0.0.5 reaching three servers on 443 is not a sweep).
SELECT is(array_to_string(ARRAY(
    SELECT host(srcaddr) || ':' || dstport || '=' || count(DISTINCT dstaddr) FROM vpcflow.flows
    WHERE start_time >= '2019-05-01' AND start_time < '2019-05-02'
      AND NOT vpcflow.is_private_address(srcaddr)
    GROUP BY srcaddr, dstport HAVING count(DISTINCT dstaddr) >= 3 ORDER BY 1), ' '),
    '198.51.100.8:22=3', 'horizontal sweeps');

-- The same from the rollups: interfaces whose inbound internet records
-- reached many distinct ports (HLL of destination ports).
SELECT is(array_to_string(ARRAY(
    SELECT interface_id || '=' || vpcflow.hll_cardinality(vpcflow.hll_merge(dst_ports)) FROM vpcflow.rollup_1h
    WHERE bucket >= '2019-05-01' AND bucket < '2019-05-02' AND direction = 'ingress' AND remote_class = 'internet'
    GROUP BY interface_id HAVING vpcflow.hll_cardinality(vpcflow.hll_merge(dst_ports)) >= 3 ORDER BY 1), ' '),
    'eni-0c2=4', 'vertical scans from the rollups');

-- New remote ports: service ports contacted outbound on the day that the
-- VPC did not use in the 7 days before (443 was used on 2019-04-30).
SELECT is(array_to_string(ARRAY(
    SELECT service_port::text FROM vpcflow.rollup_1d
    WHERE bucket = '2019-05-01' AND vpc_id = 'vpc-0cb' AND direction = 'egress' AND service_port >= 0
    EXCEPT
    SELECT service_port::text FROM vpcflow.rollup_1d
    WHERE bucket >= timestamptz '2019-05-01' - interval '7 days' AND bucket < '2019-05-01'
      AND vpc_id = 'vpc-0cb' AND direction = 'egress'
    ORDER BY 1), ' '),
    '53 5432 6379', 'new remote ports');

-- Who initiated a connection: the source of the record with SYN (2) and
-- no ACK (16) in its TCP flags.
SELECT is((SELECT string_agg(DISTINCT host(srcaddr), ' ') FROM vpcflow.flows
           WHERE start_time >= '2019-05-01' AND start_time < '2019-05-02'
             AND ((srcaddr = '10.0.0.5' AND dstaddr = '203.0.113.9')
                  OR (srcaddr = '203.0.113.9' AND dstaddr = '10.0.0.5'))
             AND tcp_flags & 2 <> 0 AND tcp_flags & 16 = 0),
          '10.0.0.5', 'who initiated a connection');

-- Egress cost of the day at the default prices: internet 5900 bytes at 0.09,
-- NAT 8000 at 0.045, cross-AZ 2000 at 0.01, peering 1000 at 0.01, S3 direct 0.
SELECT is((SELECT sum(cost_usd * 1e9)::bigint FROM vpcflow.egress_cost('2019-05-01', '2019-05-02')
           WHERE vpc_id = 'vpc-0cb'),
          (5900 * 0.09 + 8000 * 0.045 + 2000 * 0.01 + 1000 * 0.01)::bigint, 'egress cost');

-- Privileges: readers read every dashboard view and function; writers
-- (and admins) may refresh, readers may not; no pg_cron here.
SET LOCAL ROLE vpcflow_reader;
SELECT lives_ok($$SELECT count(*) FROM vpcflow.exec_egress_cost_30d, vpcflow.exec_anomalies_week,
    vpcflow.exec_ingest_trend, vpcflow.exec_logging_coverage, vpcflow.oncall_ingest_health,
    vpcflow.oncall_delivery_latency, vpcflow.oncall_silent_interfaces, vpcflow.oncall_log_gaps,
    vpcflow.oncall_top_rejects, vpcflow.oncall_volume_spikes, vpcflow.debug_unattributed_24h,
    vpcflow.rollup_backlog$$, 'a reader reads the dashboard views');
SELECT is((SELECT count(*) FROM vpcflow.slis WHERE sli <> 'volume_per_vpc'), 10::bigint, 'a reader reads the SLIs');
SELECT lives_ok($$SELECT count(*) FROM vpcflow.top_talkers('vpc-0cb', '2019-05-01', '2019-05-02'),
    vpcflow.top_ports(NULL, '2019-05-01', '2019-05-02'), vpcflow.flow_durations(NULL, '2019-05-01', '2019-05-02'),
    vpcflow.address_timeline('10.0.0.5', '2019-05-01', '2019-05-02'),
    vpcflow.unattributed_flows('2019-05-01', '2019-05-02'), vpcflow.silent_interfaces()$$,
    'a reader calls the debug functions');
SELECT throws_ok($$SELECT vpcflow.refresh_rollups()$$, '42501', NULL, 'a reader may not refresh the rollups');
RESET ROLE;
SET LOCAL ROLE vpcflow_writer;
SELECT lives_ok($$SELECT vpcflow.refresh_rollups()$$, 'a writer may refresh the rollups');
RESET ROLE;
SELECT is((SELECT count(*) FROM vpcflow.address_timeline('10.0.1.6', '2019-05-01', '2019-05-02')), 5::bigint,
          'address timeline: the four probes and the PostgreSQL connection of 10.0.1.6');
SELECT throws_ok($$SELECT vpcflow.schedule_rollups()$$, '0A000', NULL,
                 'schedule_rollups says so when pg_cron is not installed here');

-- delivery latency quantiles: bucket upper bounds, Infinity past a day, NULL when empty
SELECT is(vpcflow.latency_quantile('{0,5,5}', 0.5), 120::float8, 'latency p50: upper bound of the median bucket');
SELECT is(vpcflow.latency_quantile('{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,3}', 0.5), 'Infinity'::float8,
          'latency beyond a day: Infinity');
SELECT is(vpcflow.latency_quantile('{0,0}', 0.5), NULL, 'no flows: NULL');

SELECT * FROM finish();
ROLLBACK;
