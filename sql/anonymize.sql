-- Pseudonymisation: Crypto-PAn addresses, keyed resource ids, anonymised copies.
SET search_path = vpcflow, public;
SET TimeZone = 'UTC';
-- the key of the Crypto-PAn reference distribution's sample
\set refkey '\\x1522178d33a4cf80130a5b1649907d10d8988f837979652762574c2d2a842202'
\set otherkey '\\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'

-- The reference sample trace (sample_trace_raw.dat -> sample_trace_sanitized.dat),
-- its 70 distinct addresses: every one must match.
CREATE TEMP TABLE ref_v4 (raw inet, sanitized inet);
INSERT INTO ref_v4 VALUES
    ('128.11.68.132', '135.242.180.132'),
    ('129.118.74.4', '134.136.186.123'),
    ('130.132.252.244', '133.68.164.234'),
    ('141.223.7.43', '141.167.8.160'),
    ('141.233.145.108', '141.129.237.235'),
    ('152.163.225.39', '151.140.114.167'),
    ('156.29.3.236', '147.225.12.42'),
    ('165.247.96.84', '162.9.99.234'),
    ('166.107.77.190', '160.132.178.185'),
    ('192.102.249.13', '252.138.62.131'),
    ('192.215.32.125', '252.43.47.189'),
    ('192.233.80.103', '252.25.108.8'),
    ('192.41.57.43', '252.222.221.184'),
    ('193.150.244.223', '253.169.52.216'),
    ('195.205.63.100', '255.186.223.5'),
    ('198.200.171.101', '249.199.68.213'),
    ('198.26.132.101', '249.36.123.202'),
    ('198.36.213.5', '249.7.21.132'),
    ('198.51.77.238', '249.18.186.254'),
    ('199.217.79.101', '248.38.184.213'),
    ('202.49.198.20', '245.206.7.234'),
    ('203.12.160.252', '244.248.163.4'),
    ('204.184.162.189', '243.192.77.90'),
    ('204.202.136.230', '243.178.4.198'),
    ('204.29.20.4', '243.33.20.123'),
    ('205.178.38.67', '242.108.198.51'),
    ('205.188.147.153', '242.96.16.101'),
    ('205.188.248.25', '242.96.88.27'),
    ('205.245.121.43', '242.21.121.163'),
    ('207.105.49.5', '241.118.205.138'),
    ('207.135.65.238', '241.202.129.222'),
    ('207.155.9.214', '241.220.250.22'),
    ('207.188.7.45', '241.255.249.220'),
    ('207.25.71.27', '241.33.119.156'),
    ('207.33.151.131', '241.1.233.131'),
    ('208.147.89.59', '227.237.98.191'),
    ('208.234.120.210', '227.154.67.17'),
    ('208.28.185.184', '227.39.94.90'),
    ('208.52.56.122', '227.8.63.165'),
    ('209.12.231.7', '226.243.167.8'),
    ('209.238.72.3', '226.6.119.243'),
    ('209.246.74.109', '226.22.124.76'),
    ('209.68.60.238', '226.184.220.233'),
    ('209.85.249.6', '226.170.70.6'),
    ('212.120.124.31', '228.135.163.231'),
    ('212.146.8.236', '228.19.4.234'),
    ('212.186.227.154', '228.59.98.98'),
    ('212.204.172.118', '228.71.195.169'),
    ('212.206.130.201', '228.69.242.193'),
    ('216.148.237.145', '235.84.194.111'),
    ('216.157.30.252', '235.89.31.26'),
    ('216.184.159.48', '235.96.225.78'),
    ('216.227.10.221', '235.28.253.36'),
    ('216.254.18.172', '235.7.16.162'),
    ('216.32.132.250', '235.192.139.38'),
    ('216.35.217.178', '235.195.157.81'),
    ('24.0.250.221', '100.15.198.226'),
    ('24.13.62.231', '100.2.192.247'),
    ('24.14.213.138', '100.1.42.141'),
    ('24.5.0.80', '100.9.15.210'),
    ('24.7.198.88', '100.10.6.25'),
    ('24.94.26.44', '100.88.228.35'),
    ('38.15.67.68', '64.3.66.187'),
    ('4.3.88.225', '124.60.155.63'),
    ('63.14.55.111', '95.9.215.7'),
    ('63.195.241.44', '95.179.238.44'),
    ('63.97.7.140', '95.97.9.123'),
    ('64.14.118.196', '0.255.183.58'),
    ('64.34.154.117', '0.221.154.117'),
    ('64.39.15.238', '0.219.7.41');
SELECT count(*) AS vectors,
       count(*) FILTER (WHERE anonymize(raw, :'refkey') = sanitized) AS matching
FROM ref_v4;
SELECT raw, anonymize(raw, :'refkey') AS pseudonym FROM ref_v4 ORDER BY raw LIMIT 3;

-- IPv6: the same construction over 128 bits
SELECT a, anonymize(a::inet, :'refkey') AS pseudonym
FROM unnest(ARRAY['::1', '::2', '::ffff', '2001:db8::1', '2001:db8::2']) a;

-- helpers: bytes <-> inet, bit i counted from the most significant
CREATE FUNCTION pg_temp.to_inet(b bytea) RETURNS inet LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE length(b)
        WHEN 4 THEN format('%s.%s.%s.%s', get_byte(b, 0), get_byte(b, 1), get_byte(b, 2), get_byte(b, 3))
        ELSE regexp_replace(encode(b, 'hex'), '(....)(?!$)', '\1:', 'g') END::inet $$;
CREATE FUNCTION pg_temp.bytes(a inet) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT substr(inet_send(a), 5) $$;
CREATE FUNCTION pg_temp.bit(b bytea, i int) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT get_bit(b, (i / 8) * 8 + 7 - i % 8) $$;
CREATE FUNCTION pg_temp.common_bits(a inet, b inet) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(min(i), length(pg_temp.bytes(a)) * 8)
    FROM generate_series(0, length(pg_temp.bytes(a)) * 8 - 1) i
    WHERE pg_temp.bit(pg_temp.bytes(a), i) <> pg_temp.bit(pg_temp.bytes(b), i) $$;
-- b: the first k bits of a, then the opposite of a's bit k, then random bits
CREATE FUNCTION pg_temp.partner(a bytea, k int) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    b bytea := a;
BEGIN
    FOR i IN k .. length(a) * 8 - 1 LOOP
        b := set_bit(b, (i / 8) * 8 + 7 - i % 8,
                     CASE WHEN i = k THEN 1 - pg_temp.bit(a, i) ELSE (random() < 0.5)::int END);
    END LOOP;
    RETURN b;
END $$;
SELECT pg_temp.to_inet(pg_temp.bytes('2001:db8::1')) AS v6_round_trip,
       pg_temp.to_inet(pg_temp.bytes('192.0.2.250')) AS v4_round_trip,
       pg_temp.common_bits('10.0.0.0', '10.0.0.1') AS c31, pg_temp.common_bits('::', '8000::') AS c0;

-- an IPv4 address in the top 32 bits of an IPv6 one keeps its IPv4 pseudonym there
SELECT bool_and(substr(pg_temp.bytes(anonymize(
           pg_temp.to_inet(pg_temp.bytes(raw) || substr(decode(md5(raw::text), 'hex'), 1, 12)), :'refkey')), 1, 4)
           = pg_temp.bytes(sanitized)) AS v4_in_v6
FROM (SELECT raw, sanitized FROM ref_v4) s;

-- Prefix preservation: random pairs sharing exactly k leading bits (k from
-- 0 to the full length) keep exactly k shared bits, under two keys.
SELECT setseed(0.42);
CREATE TEMP TABLE pairs AS
SELECT a, pg_temp.partner(a, k) AS b, k
FROM (SELECT substr(decode(md5(random()::text) || md5(random()::text), 'hex'), 1, n) AS a,
             (random() * n * 8)::int AS k
      FROM generate_series(1, 150) i, (VALUES (4), (16)) AS f(n)) s;
SELECT length(a) * 8 AS bits, count(*) AS pairs,
       count(DISTINCT k) > 20 AS varied_k,
       count(*) FILTER (WHERE pg_temp.common_bits(pg_temp.to_inet(a), pg_temp.to_inet(b)) = k) AS raw_ok,
       count(*) FILTER (WHERE pg_temp.common_bits(anonymize(pg_temp.to_inet(a), :'refkey'),
                                                  anonymize(pg_temp.to_inet(b), :'refkey')) = k) AS refkey_ok,
       count(*) FILTER (WHERE pg_temp.common_bits(anonymize(pg_temp.to_inet(a), :'otherkey'),
                                                  anonymize(pg_temp.to_inet(b), :'otherkey')) = k) AS otherkey_ok
FROM pairs GROUP BY 1 ORDER BY 1;

-- the mask length and the family are kept
SELECT anonymize('10.1.2.0/24', :'refkey') AS net4, anonymize('2001:db8::/32', :'refkey') AS net6;
-- networks (cidr, vpcflow.ipprefix): the first masklen bits pseudonymised,
-- host bits zero: the network of the addresses' pseudonyms
SELECT anonymize('10.1.2.0/24'::cidr, :'refkey') AS cidr4, anonymize('2001:db8::/32'::cidr, :'refkey') AS cidr6,
       anonymize('10.1.2.0/24'::ipprefix, :'refkey') AS prefix4, anonymize('0.0.0.0/0'::cidr, :'refkey') AS all4;
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE anonymize(network(set_masklen(pg_temp.to_inet(a), k))::cidr, :'refkey')
                              = network(set_masklen(anonymize(pg_temp.to_inet(a), :'refkey'), k))) AS cidr_ok,
       count(*) FILTER (WHERE anonymize(ipprefix(network(set_masklen(pg_temp.to_inet(a), k))), :'refkey')::cidr
                              = network(set_masklen(anonymize(pg_temp.to_inet(a), :'refkey'), k))) AS ipprefix_ok
FROM pairs;
-- deterministic, in one query and across calls
SELECT count(DISTINCT anonymize('192.0.2.7', :'refkey')) AS distinct_pseudonyms FROM generate_series(1, 5);
-- keyed: another key, or one bit flipped in the AES key or in the pad, gives other pseudonyms
SELECT count(*) FILTER (WHERE anonymize(raw, :'refkey') = anonymize(raw, :'otherkey')) AS same_other_key,
       count(*) FILTER (WHERE anonymize(raw, :'refkey') = anonymize(raw, set_bit(:'refkey'::bytea, 0, 1 - get_bit(:'refkey'::bytea, 0)))) AS same_aes_bit_flipped,
       count(*) FILTER (WHERE anonymize(raw, :'refkey') = anonymize(raw, set_bit(:'refkey'::bytea, 200, 1 - get_bit(:'refkey'::bytea, 200)))) AS same_pad_bit_flipped
FROM ref_v4;
-- a wrong key length is an error, never a default
SELECT anonymize('192.0.2.7', '\x00');
SELECT anonymize('192.0.2.7', substr(:'refkey'::bytea, 1, 31));
SELECT anonymize(NULL, :'refkey') IS NULL AS strict;

-- Resource ids: the prefix and the number of digits are kept, the rest is keyed
SELECT id, anonymize_id(id, :'refkey') AS pseudonym,
       anonymize_id(id, :'refkey') = anonymize_id(id, :'otherkey') AS same_under_other_key
FROM unnest(ARRAY['eni-1235b8ca123456789', 'vpc-0a1b2c3d', 'subnet-0123456789abcdef0',
                  'tgw-attach-0a1b2c3d4e5f60718', '123456789010', 'i-0abc',
                  'arn:aws:ecs:us-east-1:123456789010:cluster/prod', 'Eni-ABC', 'eni-', '']) id;
-- the awsid form gives the same and stays an awsid
SELECT anonymize_id('eni-1235b8ca123456789'::awsid, :'refkey') AS awsid_pseudonym,
       pg_typeof(anonymize_id('eni-1235b8ca123456789'::awsid, :'refkey'));
-- joins survive: equal ids, equal pseudonyms; 2000 different ids, 2000 pseudonyms
SELECT count(DISTINCT anonymize_id(format('eni-%s', lpad(to_hex(i), 17, '0')), :'refkey')) AS distinct_eni
FROM generate_series(1, 2000) i;
SELECT anonymize_id('vpc-0a1b2c3d', '\x0001');

-- An anonymised copy of a time range (rolled back: later tests see an empty store)
BEGIN;
SELECT ensure_partitions('2014-12-14', '2014-12-16');
INSERT INTO flows SELECT * FROM parse(
'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status instance-tag
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK web-1
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK web-1
2 210987654321 eni-0aaaaaaaaaaaaaaaa 2001:db8::1 2001:db8::2 443 50000 6 3 300 1418530020 1418530080 ACCEPT OK -
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418616410 1418616470 ACCEPT OK web-1');
UPDATE flows SET extra = '{"secret": "x"}', ingest_id = 7;
SELECT publish_anonymized('public.flows_anon', '2014-12-14', '2014-12-15', :'refkey') AS published;
SELECT account_id, interface_id, srcaddr, dstaddr, srcport, dstport, action, bytes, instance_tag,
       extra, ingest_id, start_time
FROM public.flows_anon ORDER BY start_time, srcport;
-- the copy and the store agree on what is kept and on the pseudonyms
SELECT count(*) AS rows_matching
FROM public.flows_anon a JOIN flows f
  ON a.srcaddr = anonymize(f.srcaddr, :'refkey') AND a.dstaddr = anonymize(f.dstaddr, :'refkey')
 AND a.account_id = anonymize_id(f.account_id, :'refkey') AND a.bytes = f.bytes
 AND a.start_time = f.start_time;
-- no original address, id or tag is in the copy
SELECT count(*) AS leaked FROM public.flows_anon a, flows f
WHERE a::text LIKE '%' || host(f.srcaddr) || '%' OR a::text LIKE '%' || f.interface_id::text || '%'
   OR a::text LIKE '%web-1%' OR a::text LIKE '%secret%';
SELECT obj_description('public.flows_anon'::regclass) LIKE 'vpcflow flows % pseudonymised%' AS commented;
-- the same into a file: the set-returning form
SELECT count(*) FROM anonymized_flows('-infinity', 'infinity', :'refkey');
-- the target must be new and schema-qualified
SAVEPOINT s;
SELECT publish_anonymized('public.flows_anon', '2014-12-14', '2014-12-15', :'refkey');
ROLLBACK TO s;
SELECT publish_anonymized('flows_anon2', '2014-12-14', '2014-12-15', :'refkey');
ROLLBACK;
SELECT * FROM anonymized_flows('-infinity', 'infinity', '\x00');
