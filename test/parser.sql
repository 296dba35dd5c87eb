-- pgTAP: vpcflow.parse() and vpcflow.fields() over the project's own small
-- test files in test/data (staged as 'vpcflow_testdata/' in the data
-- directory).  Every expected value below is one written into those files
-- by hand from the AWS format facts (field order per version, '-' means
-- NULL, Unix-second timestamps, header lines in hyphen form); the epoch
-- values were converted independently (1700000000 = 2023-11-14 22:13:20 UTC).
BEGIN;
SET LOCAL TimeZone = 'UTC';   -- jsonb renders timestamptz in the session zone

-- The text of one test file.
CREATE FUNCTION pg_temp.f(name text) RETURNS text
LANGUAGE sql AS $$ SELECT pg_read_file('vpcflow_testdata/' || name) $$;

-- A file's lines as bytes (n = 1-based line number, newline removed), so
-- that a line that is not valid UTF-8 does not stop the others being read.
CREATE FUNCTION pg_temp.lines(name text) RETURNS TABLE (n integer, raw bytea)
LANGUAGE plpgsql AS $$
DECLARE
    b bytea := pg_read_binary_file('vpcflow_testdata/' || name);
    pos integer := 1;
    nl integer;
BEGIN
    n := 0;
    WHILE pos <= length(b) LOOP
        nl := position('\x0a'::bytea IN substring(b FROM pos));
        n := n + 1;
        IF nl = 0 THEN
            raw := substring(b FROM pos);
            pos := length(b) + 1;
        ELSE
            raw := substring(b FROM pos FOR nl - 1);
            pos := pos + nl;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Line n of a file as text (the line must be valid UTF-8).
CREATE FUNCTION pg_temp.line(name text, lineno integer) RETURNS text
LANGUAGE sql AS $$
    SELECT convert_from(raw, 'UTF8') FROM pg_temp.lines(name) WHERE n = lineno
$$;

-- A parsed row without its NULL columns: comparing it with a literal also
-- asserts that every field not listed is NULL.  provider is 'aws' on every
-- row of AWS text (checked once below), so it is left out.
CREATE FUNCTION pg_temp.j(r vpcflow.flows) RETURNS jsonb
LANGUAGE sql AS $$ SELECT jsonb_strip_nulls(to_jsonb(r)) - 'provider' $$;

SELECT plan(66);

SELECT is((SELECT array_agg(DISTINCT provider::text) FROM vpcflow.parse(pg_temp.f('v2-header.log'))),
    ARRAY['aws'], 'AWS text: provider is aws on every row');

-- ---------------------------------------------------------------- v2 + header
SELECT is((SELECT count(*) FROM vpcflow.parse(pg_temp.f('v2-header.log'))), 5::bigint,
    'v2 with header: 5 records, the header line is not a record');

SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse(pg_temp.f('v2-header.log')) p WHERE srcport = 443),
    '{"version": 2, "account_id": "111122223333", "interface_id": "eni-0a1b2c3d4e5f60718",
      "srcaddr": "10.1.2.3", "dstaddr": "10.1.2.4", "srcport": 443, "dstport": 50123,
      "protocol": 6, "packets": 12, "bytes": 3456,
      "start_time": "2023-11-14T22:13:20+00:00", "end_time": "2023-11-14T22:14:20+00:00",
      "action": "ACCEPT", "log_status": "OK"}'::jsonb,
    'v2 with header: ACCEPT record, every field as written');

SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse(pg_temp.f('v2-header.log')) p WHERE srcport = 51515),
    '{"version": 2, "account_id": "111122223333", "interface_id": "eni-0a1b2c3d4e5f60718",
      "srcaddr": "198.51.100.7", "dstaddr": "10.1.2.3", "srcport": 51515, "dstport": 22,
      "protocol": 6, "packets": 1, "bytes": 40,
      "start_time": "2023-11-14T22:13:25+00:00", "end_time": "2023-11-14T22:14:25+00:00",
      "action": "REJECT", "log_status": "OK"}'::jsonb,
    'v2 with header: REJECT record');

SELECT is((SELECT ARRAY[protocol, srcport, dstport]::int[] FROM vpcflow.parse(pg_temp.f('v2-header.log')) p
           WHERE dstaddr = '192.0.2.9'),
    ARRAY[1, 0, 0],
    'v2 with header: ICMP record has protocol 1 and ports 0 (not NULL)');

SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse(pg_temp.f('v2-header.log')) p WHERE log_status = 'NODATA'),
    '{"version": 2, "account_id": "111122223333", "interface_id": "eni-0a1b2c3d4e5f60718",
      "start_time": "2023-11-14T22:15:00+00:00", "end_time": "2023-11-14T22:16:00+00:00",
      "log_status": "NODATA"}'::jsonb,
    'NODATA record: the ''-'' fields are NULL, version/account/interface/start/end/status kept');

SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse(pg_temp.f('v2-header.log')) p WHERE log_status = 'SKIPDATA'),
    '{"version": 2, "account_id": "111122223333", "interface_id": "eni-0ffff0000aaaa1111",
      "start_time": "2023-11-14T22:15:00+00:00", "end_time": "2023-11-14T22:16:00+00:00",
      "log_status": "SKIPDATA"}'::jsonb,
    'SKIPDATA record: the ''-'' fields are NULL');

-- ---------------------------------------------------------------- v3 custom header order
SELECT is((SELECT count(*) FROM vpcflow.parse(pg_temp.f('v3-custom-header.log'))), 2::bigint,
    'v3 custom header (start first, version last): 2 records');

SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse(pg_temp.f('v3-custom-header.log')) p WHERE srcport = 34567),
    '{"version": 3, "account_id": "111122223333", "interface_id": "eni-0a1b2c3d4e5f60718",
      "srcaddr": "10.20.0.5", "dstaddr": "10.20.1.9", "srcport": 34567, "dstport": 5432,
      "protocol": 6, "packets": 40, "bytes": 12000,
      "start_time": "2023-11-14T23:13:20+00:00", "end_time": "2023-11-14T23:14:20+00:00",
      "action": "ACCEPT", "log_status": "OK", "vpc_id": "vpc-0123abcd4567ef890",
      "subnet_id": "subnet-0aaaabbbbccccdddd", "instance_id": "i-0123456789abcdef0",
      "tcp_flags": 18, "type": "IPv4", "pkt_srcaddr": "10.20.0.5", "pkt_dstaddr": "172.16.5.9"}'::jsonb,
    'v3 custom header: each value lands in its header''s column');

SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse(pg_temp.f('v3-custom-header.log')) p WHERE srcport = 5432),
    '{"version": 3, "account_id": "111122223333", "interface_id": "eni-0a1b2c3d4e5f60718",
      "srcaddr": "10.20.1.9", "dstaddr": "10.20.0.5", "srcport": 5432, "dstport": 34567,
      "protocol": 6, "packets": 38, "bytes": 9000,
      "start_time": "2023-11-14T23:13:20+00:00", "end_time": "2023-11-14T23:14:20+00:00",
      "action": "ACCEPT", "log_status": "OK", "vpc_id": "vpc-0123abcd4567ef890",
      "subnet_id": "subnet-0aaaabbbbccccdddd",
      "tcp_flags": 3, "type": "IPv4", "pkt_srcaddr": "172.16.5.9", "pkt_dstaddr": "10.20.0.5"}'::jsonb,
    'v3 custom header: instance-id ''-'' is NULL, pkt-srcaddr differs from srcaddr');

-- ---------------------------------------------------------------- v5, all 29 fields, explicit formats
SELECT is((SELECT count(*) FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'), 'v5')), 2::bigint,
    'v5 headerless with format ''v5'': 2 records');

SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'), 'v5') p WHERE srcport = 34210),
    '{"version": 5, "account_id": "111122223333", "interface_id": "eni-0a1b2c3d4e5f60718",
      "srcaddr": "10.0.0.71", "dstaddr": "52.95.128.179", "srcport": 34210, "dstport": 443,
      "protocol": 6, "packets": 7, "bytes": 471,
      "start_time": "2023-11-15T00:13:20+00:00", "end_time": "2023-11-15T00:14:20+00:00",
      "action": "ACCEPT", "log_status": "OK", "vpc_id": "vpc-0123abcd4567ef890",
      "subnet_id": "subnet-0aaaabbbbccccdddd", "instance_id": "i-0123456789abcdef0",
      "tcp_flags": 3, "type": "IPv4", "pkt_srcaddr": "10.0.0.71", "pkt_dstaddr": "52.95.128.179",
      "region": "us-east-1", "az_id": "use1-az4",
      "pkt_dst_aws_service": "S3", "flow_direction": "egress", "traffic_path": 8}'::jsonb,
    'v5 all fields: egress record (v4 sublocation and pkt-src-aws-service ''-'' are NULL)');

SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'), 'v5') p WHERE srcport = 443),
    '{"version": 5, "account_id": "111122223333", "interface_id": "eni-0a1b2c3d4e5f60718",
      "srcaddr": "52.95.128.179", "dstaddr": "10.0.0.71", "srcport": 443, "dstport": 34210,
      "protocol": 6, "packets": 14, "bytes": 15044,
      "start_time": "2023-11-15T00:13:20+00:00", "end_time": "2023-11-15T00:14:20+00:00",
      "action": "ACCEPT", "log_status": "OK", "vpc_id": "vpc-0123abcd4567ef890",
      "subnet_id": "subnet-0aaaabbbbccccdddd", "instance_id": "i-0123456789abcdef0",
      "tcp_flags": 19, "type": "IPv4", "pkt_srcaddr": "52.95.128.179", "pkt_dstaddr": "10.0.0.71",
      "region": "us-east-1", "az_id": "use1-az4", "sublocation_type": "wavelength",
      "sublocation_id": "wlid-use1-wl1-bos-wlz-1",
      "pkt_src_aws_service": "S3", "flow_direction": "ingress"}'::jsonb,
    'v5 all fields: ingress record (traffic-path ''-'' is NULL)');

SELECT results_eq(
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'),
        'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path') p$$,
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'), 'v5') p$$,
    'format as a space-separated field list gives the same rows as preset v5');

SELECT results_eq(
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'),
        'version,account-id,interface-id,srcaddr,dstaddr,srcport,dstport,protocol,packets,bytes,start,end,action,log-status,vpc-id,subnet-id,instance-id,tcp-flags,type,pkt-srcaddr,pkt-dstaddr,region,az-id,sublocation-type,sublocation-id,pkt-src-aws-service,pkt-dst-aws-service,flow-direction,traffic-path') p$$,
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'), 'v5') p$$,
    'format as a comma-separated field list gives the same rows as preset v5');

SELECT results_eq(
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'),
        '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}') p$$,
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'), 'v5') p$$,
    'format in AWS ${field} LogFormat syntax gives the same rows as preset v5');

SELECT results_eq(
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'),
        'version account_id interface_id srcaddr dstaddr srcport dstport protocol packets bytes start end action log_status vpc_id subnet_id instance_id tcp_flags type pkt_srcaddr pkt_dstaddr region az_id sublocation_type sublocation_id pkt_src_aws_service pkt_dst_aws_service flow_direction traffic_path') p$$,
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'), 'v5') p$$,
    'format with underscore names gives the same rows as preset v5');

SELECT throws_ok(
    $$SELECT * FROM vpcflow.parse(pg_temp.f('v5-all-fields.log'))$$,
    '22P02',
    'invalid flow-log record in input line 1, column 15: more fields than the format''s 14: "vpc-0123abcd4567ef890"',
    'headerless v5 text without a format is read as v2 and fails at column 15');

-- ---------------------------------------------------------------- transit gateway
SELECT is((SELECT count(*) FROM vpcflow.parse(pg_temp.f('tgw.log'), 'tgw')), 2::bigint,
    'transit gateway log with preset tgw: 2 records');

SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse(pg_temp.f('tgw.log'), 'tgw') p WHERE srcport = 40000),
    '{"version": 6, "resource_type": "TransitGateway", "account_id": "111122223333",
      "tgw_id": "tgw-0123456789abcdef0", "tgw_attachment_id": "tgw-attach-0aaaabbbbccccdddd",
      "tgw_src_vpc_account_id": "111122223333", "tgw_dst_vpc_account_id": "444455556666",
      "tgw_src_vpc_id": "vpc-0123abcd4567ef890", "tgw_dst_vpc_id": "vpc-0fedcba987654321f",
      "tgw_src_subnet_id": "subnet-0aaaabbbbccccdddd", "tgw_dst_subnet_id": "subnet-0bbbbccccddddeeee",
      "tgw_src_eni": "eni-0a1b2c3d4e5f60718", "tgw_dst_eni": "eni-0b2c3d4e5f6071829",
      "tgw_src_az_id": "use1-az1", "tgw_dst_az_id": "use1-az2",
      "tgw_pair_attachment_id": "tgw-attach-0eeeeffff00001111",
      "srcaddr": "10.1.0.5", "dstaddr": "10.2.0.9", "srcport": 40000, "dstport": 443,
      "protocol": 6, "packets": 25, "bytes": 7800,
      "start_time": "2023-11-15T01:13:20+00:00", "end_time": "2023-11-15T01:14:20+00:00",
      "log_status": "OK", "type": "IPv4",
      "packets_lost_no_route": 0, "packets_lost_blackhole": 1,
      "packets_lost_mtu_exceeded": 0, "packets_lost_ttl_expired": 0,
      "tcp_flags": 19, "region": "us-east-1", "flow_direction": "ingress"}'::jsonb,
    'transit gateway record: all 36 tgw preset columns as written');

SELECT is((SELECT ARRAY[host(srcaddr), host(dstaddr), type, flow_direction::text,
                        pkt_dst_aws_service, packets_lost_mtu_exceeded::text]
           FROM vpcflow.parse(pg_temp.f('tgw.log'), 'tgw') p WHERE srcport = 40001),
    ARRAY['2001:db8:10::5', '2001:db8:20::9', 'IPv6', 'egress', 'EC2', '2'],
    'transit gateway record over IPv6, egress');

-- ---------------------------------------------------------------- headers repeated mid-file
SELECT is((SELECT count(*) FROM vpcflow.parse(pg_temp.f('headers-repeated.log'))), 3::bigint,
    'headers repeated mid-file: 3 records, the 3 header lines are not records');

SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse(pg_temp.f('headers-repeated.log')) p WHERE srcport = 2222),
    '{"version": 3, "srcaddr": "10.3.0.3", "dstaddr": "10.3.0.4", "srcport": 2222, "dstport": 443,
      "protocol": 6, "start_time": "2023-11-15T02:15:00+00:00", "end_time": "2023-11-15T02:16:00+00:00",
      "action": "REJECT", "log_status": "OK", "vpc_id": "vpc-0123abcd4567ef890", "tcp_flags": 2}'::jsonb,
    'a second header with another field order switches the format for the lines after it');

SELECT is((SELECT ARRAY[account_id::text, interface_id::text, srcport::text, packets::text, action::text]
           FROM vpcflow.parse(pg_temp.f('headers-repeated.log')) p WHERE srcport = 3333),
    ARRAY['111122223333', 'eni-0a1b2c3d4e5f60718', '3333', '7', 'ACCEPT'],
    'a third header switches back to the v2 layout');

-- ---------------------------------------------------------------- unknown header column
SELECT is((SELECT count(*) FROM vpcflow.parse(pg_temp.f('unknown-column.log'))), 2::bigint,
    'header with an unknown column is still a header: 2 records');

SELECT is((SELECT extra FROM vpcflow.parse(pg_temp.f('unknown-column.log')) p WHERE srcport = 1234),
    '{"cost-center": "blue"}'::jsonb,
    'unknown column value is kept in extra under its header name');

SELECT is((SELECT extra FROM vpcflow.parse(pg_temp.f('unknown-column.log')) p WHERE srcport = 80),
    '{"cost-center": null}'::jsonb,
    'unknown column value ''-'' is kept in extra as JSON null');

SELECT is((SELECT ARRAY[srcport::text, bytes::text, action::text, log_status::text]
           FROM vpcflow.parse(pg_temp.f('unknown-column.log')) p WHERE srcport = 1234),
    ARRAY['1234', '120', 'ACCEPT', 'OK'],
    'known columns beside the unknown one keep their values');

SELECT is((SELECT extra FROM vpcflow.parse('2 blue', 'version colour') p),
    '{"colour": "blue"}'::jsonb,
    'an unknown name in an explicit format is kept in extra too');

-- ---------------------------------------------------------------- IPv6
SELECT is((SELECT count(*) FROM vpcflow.parse(pg_temp.f('ipv6.log'))), 5::bigint,
    'IPv6 file: 5 records');

SELECT is((SELECT coalesce(array_agg(l.n ORDER BY l.n), '{}')
           FROM regexp_split_to_table(pg_temp.f('ipv6.log'), E'\n') WITH ORDINALITY AS l(line, n)
           CROSS JOIN LATERAL vpcflow.parse(l.line) p
           WHERE NOT (p.srcaddr = split_part(l.line, ' ', 4)::inet
                      AND p.dstaddr = split_part(l.line, ' ', 5)::inet)),
    '{}'::bigint[],
    'every IPv6 form (full, ::, ::1, compressed, upper case, IPv4-mapped, embedded IPv4) equals PostgreSQL''s own reading');

SELECT is((SELECT bool_and(family(srcaddr) = 6 AND masklen(srcaddr) = 128
                           AND family(dstaddr) = 6 AND masklen(dstaddr) = 128)
           FROM vpcflow.parse(pg_temp.f('ipv6.log'))),
    true,
    'IPv6 addresses are family 6 host addresses (/128)');

SELECT is((SELECT array_agg(host(srcaddr) || ' ' || host(dstaddr) ORDER BY srcport)
           FROM vpcflow.parse(pg_temp.f('ipv6.log')) WHERE srcport IN (0, 40000, 50000)),
    ARRAY[':: ::1', '2001:db8::1 2001:db8::2', '::ffff:192.0.2.1 2001:db8::1:0:0:a'],
    'IPv6 spot values: 2001:0db8:0:..:0001 is 2001:db8::1, :: is all-zero, mixed case is read');

-- ---------------------------------------------------------------- millisecond timestamps
SELECT is((SELECT ARRAY[start_time, end_time] FROM vpcflow.parse(pg_temp.f('millis.log')) WHERE srcport = 1000),
    ARRAY[to_timestamp(1700025200) + interval '123 milliseconds',
          to_timestamp(1700025260) + interval '456 milliseconds'],
    'millisecond timestamps keep their milliseconds');

SELECT is((SELECT ARRAY[start_time, end_time] FROM vpcflow.parse(pg_temp.f('millis.log')) WHERE log_status = 'NODATA'),
    ARRAY[to_timestamp(1700025200), to_timestamp(1700025260) + interval '999 milliseconds'],
    'millisecond timestamps on a NODATA record');

-- ---------------------------------------------------------------- CRLF line endings
SELECT ok(strpos(pg_temp.f('crlf.log'), E'\r\n') > 0,
    'crlf.log really has CRLF line endings (fixture guard)');

SELECT is((SELECT array_agg(type || '/' || log_status::text ORDER BY srcport)
           FROM vpcflow.parse(pg_temp.f('crlf.log'))),
    ARRAY['IPv4/OK', 'IPv6/OK'],
    'CRLF: header recognised, the CR is not part of the last field');

-- ---------------------------------------------------------------- runs of blanks, blank lines
SELECT is((SELECT count(*) FROM vpcflow.parse(pg_temp.f('spacing.log'))), 2::bigint,
    'blank and whitespace-only lines are skipped: 2 records');

SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse(pg_temp.f('spacing.log')) p WHERE srcport = 1000),
    '{"version": 2, "account_id": "111122223333", "interface_id": "eni-0a1b2c3d4e5f60718",
      "srcaddr": "10.6.0.1", "dstaddr": "10.6.0.2", "srcport": 1000, "dstport": 2000,
      "protocol": 6, "packets": 3, "bytes": 300,
      "start_time": "2023-11-15T06:13:20+00:00", "end_time": "2023-11-15T06:14:20+00:00",
      "action": "ACCEPT", "log_status": "OK"}'::jsonb,
    'runs of spaces and tabs separate fields like one space; trailing blanks ignored');

SELECT is((SELECT ARRAY[host(srcaddr), host(dstaddr), log_status::text]
           FROM vpcflow.parse(pg_temp.f('spacing.log')) p WHERE srcport = 2000),
    ARRAY['10.6.0.2', '10.6.0.1', 'OK'],
    'leading tab, two tabs between fields and a trailing tab');

-- ---------------------------------------------------------------- no trailing newline
SELECT ok(right(pg_temp.f('no-trailing-newline.log'), 1) <> E'\n',
    'no-trailing-newline.log really ends without a newline (fixture guard)');

SELECT is((SELECT array_agg(packets::text || ' ' || action::text ORDER BY srcport)
           FROM vpcflow.parse(pg_temp.f('no-trailing-newline.log'))),
    ARRAY['3 ACCEPT', '4 REJECT'],
    'the last line without a newline is parsed');

-- ---------------------------------------------------------------- bad lines
SELECT throws_ok(
    $$SELECT * FROM vpcflow.parse(pg_temp.line('bad-lines.log', 1) || E'\n' || pg_temp.line('bad-lines.log', 2))$$,
    '22P02',
    'invalid flow-log record in input line 2, field srcport (column 6): invalid port: expected an integer 0..65535: "70000"',
    'parse() stops at the first bad line and names its line number');

SELECT is((SELECT count(*) FROM vpcflow.parse(pg_temp.line('bad-lines.log', 1) || E'\n' || pg_temp.line('bad-lines.log', 12))),
    2::bigint,
    'the good lines of bad-lines.log parse');

SELECT throws_ok(format('SELECT * FROM vpcflow.parse(%L)', pg_temp.line('bad-lines.log', 2)), '22P02',
    'invalid flow-log record in input line 1, field srcport (column 6): invalid port: expected an integer 0..65535: "70000"',
    'bad port 70000');
SELECT throws_ok(format('SELECT * FROM vpcflow.parse(%L)', pg_temp.line('bad-lines.log', 3)), '22P02',
    'invalid flow-log record in input line 1, field srcaddr (column 4): invalid IP address: "10.7.0.256"',
    'bad IPv4 address 10.7.0.256');
SELECT throws_ok(format('SELECT * FROM vpcflow.parse(%L)', pg_temp.line('bad-lines.log', 4)), '22P02',
    'invalid flow-log record in input line 1, field action (column 13): invalid action: expected ACCEPT or REJECT: "ALLOW"',
    'bad action ALLOW');
SELECT throws_ok(format('SELECT * FROM vpcflow.parse(%L)', pg_temp.line('bad-lines.log', 5)), '22P02',
    'invalid flow-log record in input line 1, field log-status (column 14): missing field: the line has 13 fields, the format 14',
    'too few fields (13 of 14)');
SELECT throws_ok(format('SELECT * FROM vpcflow.parse(%L)', pg_temp.line('bad-lines.log', 6)), '22P02',
    'invalid flow-log record in input line 1, column 15: more fields than the format''s 14: "EXTRA"',
    'too many fields (15 of 14)');
SELECT throws_ok(format('SELECT * FROM vpcflow.parse(%L)', pg_temp.line('bad-lines.log', 7)), '22P02',
    'invalid flow-log record in input line 1, field interface-id (column 3): invalid text: control character or malformed UTF-8: "eni-0a1b2c3d\x014e5f60718"',
    'control character U+0001 in an id; the message shows it as \x01');
-- line 8 holds a 0xFF byte: a text value cannot carry it into parse(), so
-- ingest.sql checks that line through vpcflow.ingest_file().
SELECT throws_ok(format('SELECT * FROM vpcflow.parse(%L)', pg_temp.line('bad-lines.log', 9)), '22P02',
    'invalid flow-log record in input line 1, field dstaddr (column 5): invalid IP address: "2001:db8:::1"',
    'bad IPv6 address with three colons');
SELECT throws_ok(format('SELECT * FROM vpcflow.parse(%L)', pg_temp.line('bad-lines.log', 10)), '22P02',
    'invalid flow-log record in input line 1, field log-status (column 14): invalid log-status: expected OK, NODATA or SKIPDATA: "DONE"',
    'bad log-status DONE');
SELECT throws_ok(format('SELECT * FROM vpcflow.parse(%L)', pg_temp.line('bad-lines.log', 11)), '22P02',
    'invalid flow-log record in input line 1, field start (column 11): invalid timestamp: expected Unix seconds or milliseconds: "1700032400.5"',
    'fractional start time');

SELECT throws_ok($$SELECT * FROM vpcflow.parse('2 1 eni-1 1:2:3:4:5:6:7:8:9 ::1 1 2 6 1 1 1700000000 1700000001 ACCEPT OK')$$,
    '22P02',
    'invalid flow-log record in input line 1, field srcaddr (column 4): invalid IP address: "1:2:3:4:5:6:7:8:9"',
    'IPv6 address with nine groups');

SELECT throws_ok($$SELECT * FROM vpcflow.parse('2 1 eni-1 10.0.0.1 10.0.0.2 1 2 256 1 1 1700000000 1700000001 ACCEPT OK')$$,
    '22P02',
    'invalid flow-log record in input line 1, field protocol (column 8): invalid protocol: expected an integer 0..255: "256"',
    'protocol 256 is out of range');

SELECT throws_ok($$SELECT * FROM vpcflow.parse('2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 -5 1 1700000000 1700000001 ACCEPT OK')$$,
    '22P02',
    'invalid flow-log record in input line 1, field packets (column 9): invalid number: expected a non-negative integer: "-5"',
    'negative packet count');

-- ---------------------------------------------------------------- formats
SELECT is((SELECT pg_temp.j(p) FROM vpcflow.parse('2 eni-0a1b2c3d4e5f60718 10.0.0.1 2001:db8::7',
                                                  'version interface-id srcaddr dstaddr') p),
    '{"version": 2, "interface_id": "eni-0a1b2c3d4e5f60718", "srcaddr": "10.0.0.1", "dstaddr": "2001:db8::7"}'::jsonb,
    'a 4-field custom format fills only its columns');

SELECT results_eq(
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.line('bad-lines.log', 1), 'v2') p$$,
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.line('bad-lines.log', 1)) p$$,
    'preset v2 equals the default format');

SELECT results_eq(
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.line('bad-lines.log', 1), '  default ') p$$,
    $$SELECT to_jsonb(p) FROM vpcflow.parse(pg_temp.line('bad-lines.log', 1)) p$$,
    'preset name ''default'' with surrounding blanks equals the default format');

SELECT throws_ok($$SELECT * FROM vpcflow.parse('2 2', 'version srcport version')$$,
    '22023',
    'invalid flow-log format: field version (column 3): field appears twice in the format: "version"',
    'a field named twice in the format is an error');

SELECT throws_ok($$SELECT * FROM vpcflow.parse('OK OK', 'log-status log_status')$$,
    '22023',
    'invalid flow-log format: field log-status (column 2): field appears twice in the format: "log_status"',
    'log-status and log_status are the same field: named twice is an error');

SELECT throws_ok($$SELECT * FROM vpcflow.parse('x', ' , ')$$,
    '22023',
    'invalid flow-log format: format names no fields',
    'a format that names no fields is an error');

SELECT throws_ok($$SELECT * FROM vpcflow.parse('x', 'u1 u2 u3 u4 u5 u6 u7 u8 u9')$$,
    '22023',
    'invalid flow-log format: column 9: format has more than 8 unknown fields: "u9"',
    'more than 8 unknown fields is an error');

SELECT is((SELECT count(*) FROM vpcflow.parse(NULL)), 0::bigint,
    'parse(NULL) returns no rows');

-- ---------------------------------------------------------------- fields()
SELECT set_eq(
    $$SELECT column_name::name FROM vpcflow.fields()$$,
    $$SELECT attname FROM pg_attribute WHERE attrelid = 'vpcflow.flows'::regclass AND attnum > 0
        AND NOT attisdropped AND attname NOT IN ('extra', 'ingest_id')$$,
    'fields() lists exactly the store''s field columns');

SELECT is((SELECT array_agg(field ORDER BY ordinal) FILTER (WHERE ordinal <= 14) FROM vpcflow.fields()),
    ARRAY['version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport',
          'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status'],
    'fields() starts with the 14 v2 default fields in AWS order');

SELECT * FROM finish();
ROLLBACK;
