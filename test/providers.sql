-- pgTAP: GCP and Azure flow logs in the store (docs/providers.md), over
-- the project's own hand-written files in test/data (staged as
-- 'vpcflow_testdata/').  Expected values are the ones written into those
-- files, converted by hand (1709287200 = 2024-03-01 10:00:00 UTC).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = warning;

CREATE FUNCTION pg_temp.f(name text) RETURNS text
LANGUAGE sql AS $$ SELECT pg_read_file('vpcflow_testdata/' || name) $$;

-- The first n lines of a file.
CREATE FUNCTION pg_temp.head(name text, n integer) RETURNS text
LANGUAGE sql AS $$
    SELECT array_to_string((string_to_array(pg_temp.f(name), E'\n'))[1:n], E'\n')
$$;

-- Chosen columns of a row as jsonb, NULLs left out.
CREATE FUNCTION pg_temp.j(r vpcflow.flows) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_strip_nulls(to_jsonb(r) - 'ingest_id')
$$;

SELECT plan(53);

-- ---------------------------------------------------------------- the label type
SELECT is(('azure-vnet'::vpcflow.cloud_provider)::text, 'azure-vnet', 'cloud_provider reads and prints its labels');
SELECT is(pg_column_size('gcp'::vpcflow.cloud_provider), 1, 'cloud_provider takes one byte');
SELECT throws_ok($$SELECT 'oracle'::vpcflow.cloud_provider$$, '22P02', NULL,
    'cloud_provider rejects an unknown provider');
SELECT is((SELECT column_default FROM information_schema.columns
           WHERE table_schema = 'vpcflow' AND table_name = 'flows' AND column_name = 'provider'),
    '''aws''::vpcflow.cloud_provider', 'provider defaults to aws for rows inserted without it');

-- ---------------------------------------------------------------- GCP: parse()
SELECT is((SELECT count(*) FROM vpcflow.parse(pg_temp.head('gcp-both-ends.ndjson', 5))), 4::bigint,
    'GCP: one row per entry (LogEntry lines, a bare payload, a blank line)');

SELECT is((SELECT pg_temp.j(p) - 'extra' FROM vpcflow.parse(pg_temp.head('gcp-both-ends.ndjson', 1)) p),
    '{"provider": "gcp", "srcaddr": "10.128.0.2", "dstaddr": "10.128.0.3", "srcport": 40000,
      "dstport": 5432, "protocol": 6, "packets": 10, "bytes": 1200,
      "start_time": "2024-03-01T10:00:00.123456+00:00", "end_time": "2024-03-01T10:00:05+00:00",
      "action": "ACCEPT", "log_status": "OK", "flow_direction": "egress",
      "account_id": "proj-a", "instance_id": "web-1", "region": "europe-west1",
      "az_id": "europe-west1-b", "vpc_id": "net-a", "subnet_id": "sub-a",
      "rtt_msec": 3, "dscp": 46,
      "peer_account_id": "proj-a", "peer_instance_id": "db-1", "peer_region": "europe-west1",
      "peer_az_id": "europe-west1-c", "peer_vpc_id": "net-a", "peer_subnet_id": "sub-b"}'::jsonb,
    'GCP SRC report: 5-tuple, int64-as-string counters, nanoseconds cut to microseconds, the reporter''s instance and VPC in columns, the peer''s in peer_ columns');

SELECT is((SELECT extra FROM vpcflow.parse(pg_temp.head('gcp-both-ends.ndjson', 1))), NULL::jsonb,
    'GCP SRC report: nothing left for extra when the peer''s instance and VPC have only mapped members');

SELECT is((SELECT ARRAY[flow_direction::text, instance_id::text, subnet_id::text, peer_instance_id::text,
                        peer_subnet_id::text, (extra IS NULL)::text]
           FROM vpcflow.parse(pg_temp.head('gcp-both-ends.ndjson', 2)) WHERE bytes = 1180),
    ARRAY['ingress', 'db-1', 'sub-b', 'web-1', 'sub-a', 'true'],
    'GCP DEST report: ingress, the receiving VM in columns, the sender in peer_ columns');

SELECT throws_ok($$SELECT * FROM vpcflow.parse(pg_temp.f('gcp-both-ends.ndjson'))$$, '22P02',
    'invalid flow-log record in input line 6, field connection.src_ip: ',
    'parse() of a document with a bad entry names its line and field');

SELECT is((SELECT ARRAY[srcport::text, dstport::text, protocol::text, start_time::text,
                        peer_country, peer_continent, (extra IS NULL)::text]
           FROM vpcflow.parse(pg_temp.head('gcp-both-ends.ndjson', 5)) WHERE protocol = 1),
    ARRAY[NULL, NULL, '1', '2024-03-01 09:59:59+00', 'deu', 'Europe', 'true'],
    'GCP ICMP: no ports (NULL), a +02:00 RFC 3339 offset, dest_location in peer_ columns');

SELECT is((SELECT ARRAY[srcport::text, dstport::text, protocol::text, (extra IS NULL)::text,
                        instance_id::text, peer_country, (peer_instance_id IS NULL)::text]
           FROM vpcflow.parse(pg_temp.head('gcp-both-ends.ndjson', 5)) WHERE bytes = 500),
    ARRAY['443', '51000', '6', 'true', 'db-1', 'usa', 'true'],
    'GCP bare payload: float ports 443.0 read as integers, empty {} objects not kept');

SELECT is((SELECT ARRAY[host(srcaddr), bytes::text, packets::text, (extra ? 'src_gke_details')::text]
           FROM vpcflow.parse((pg_temp.f('gcp-array.json')::jsonb -> 0)::text)),
    ARRAY['2001:db8::10', '2048', '3', 'true'],
    'GCP JSON array: IPv6, counters as JSON numbers, unmapped payload members kept in extra');

SELECT throws_ok($$SELECT * FROM vpcflow.parse('{"jsonPayload": {"connection": {"src_ip": "10.0.0.1", "dest_ip": "10.0.0.2"}, "reporter": "BOTH", "start_time": "2024-01-01T00:00:00Z"}}')$$,
    '22P02', 'invalid flow-log record in input line 1, field reporter: ',
    'GCP: a reporter other than SRC or DEST is an error');

SELECT throws_ok($$SELECT * FROM vpcflow.parse(E'{\n  "jsonPayload": {"connection": {"src_ip": "10.0.0.1"}, "reporter": "SRC"}', 'gcp')$$,
    '22P02', 'invalid gcp flow-log JSON in input line 2: unexpected end of input, expected '','' or ''}''',
    'GCP: malformed JSON in a pretty-printed document is an error naming the line');

SELECT throws_ok($$SELECT * FROM vpcflow.parse('{"jsonPayload": {"connection": {"src_ip": "10.0.0.1"}, "reporter": "SRC"}', 'gcp')$$,
    '22P02', 'invalid flow-log record in input line 1, ',
    'GCP: a malformed NDJSON line is a bad record, naming its line');

-- ---------------------------------------------------------------- GCP: ingest
SELECT results_eq($$SELECT status, rows, errors FROM vpcflow.ingest_file('vpcflow_testdata/gcp-both-ends.ndjson')$$,
    $$VALUES ('loaded_with_errors'::text, 4::bigint, 1::bigint)$$,
    'GCP ingest: 4 rows, the bad entry quarantined');

SELECT results_eq($$SELECT line_no, field, position('10.0.0.999' IN convert_from(raw_line, 'UTF8')) > 0
                    FROM vpcflow.ingest_errors e JOIN vpcflow.ingest_log l USING (ingest_id)
                    WHERE l.file_name = 'vpcflow_testdata/gcp-both-ends.ndjson'$$,
    $$VALUES (6::bigint, 'connection.src_ip'::text, true)$$,
    'GCP quarantine: line, field and the raw entry');

SELECT is((SELECT status FROM vpcflow.ingest_file('vpcflow_testdata/gcp-both-ends.ndjson')), 'duplicate',
    'GCP ingest: loading the same file again is a no-op');

SELECT results_eq($$SELECT status, rows, errors FROM vpcflow.ingest_data('truncated.ndjson',
                      convert_to(array_to_string((string_to_array(pg_temp.f('gcp-both-ends.ndjson'), E'\n'))[4:5], E'\n')
                                 || E'\n' || left(pg_temp.head('gcp-both-ends.ndjson', 1), 300), 'UTF8'))$$,
    $$VALUES ('loaded_with_errors'::text, 2::bigint, 1::bigint)$$,
    'GCP NDJSON with a truncated last line: the line is quarantined, the others load');

SELECT is((SELECT line_no || ': ' || left(message, 14) FROM vpcflow.ingest_errors e JOIN vpcflow.ingest_log l USING (ingest_id)
           WHERE l.file_name = 'truncated.ndjson'),
    '3: malformed JSON', 'the truncated line is reported with its line number');

SELECT results_eq($$SELECT rows, errors FROM vpcflow.ingest_file('vpcflow_testdata/gcp-array.json')$$,
    $$VALUES (1::bigint, 1::bigint)$$,
    'GCP array: the entry whose logName is not vpc_flows is quarantined');

-- ---------------------------------------------------------------- Azure NSG
SELECT results_eq($$SELECT rows, errors FROM vpcflow.ingest_file('vpcflow_testdata/azure-nsg.json')$$,
    $$VALUES (5::bigint, 1::bigint)$$, 'Azure NSG: 5 tuples, the bad one quarantined');

SELECT is((SELECT field || ' line ' || line_no FROM vpcflow.ingest_errors e JOIN vpcflow.ingest_log l USING (ingest_id)
           WHERE l.file_name = 'vpcflow_testdata/azure-nsg.json'),
    'dstaddr line 10', 'Azure NSG quarantine names the field and the tuple''s line');

SELECT is((SELECT pg_temp.j(f) - 'resource_id' FROM vpcflow.flows f
           WHERE provider = 'azure-nsg' AND flow_state = 'C'),
    '{"provider": "azure-nsg", "version": 2, "account_id": "11111111-2222-3333-4444-555555555555",
      "interface_id": "00-AA-BB-CC-DD-EE", "srcaddr": "10.1.0.4", "dstaddr": "203.0.113.50",
      "srcport": 50000, "dstport": 443, "protocol": 6, "packets": 10, "bytes": 1000,
      "reverse_packets": 8, "reverse_bytes": 8000, "start_time": "2024-03-01T10:01:00+00:00",
      "action": "ACCEPT", "log_status": "OK", "flow_direction": "egress", "flow_state": "C",
      "rule_name": "UserRule_allow-https"}'::jsonb,
    'Azure NSG v2 C tuple: subscription, MAC as 00-AA-.., rule, both directions'' counters');

SELECT is((SELECT ARRAY[sum(packets), sum(bytes), sum(reverse_packets), sum(reverse_bytes), count(*)]
           FROM vpcflow.flows WHERE provider = 'azure-nsg' AND srcport = 50000),
    ARRAY[12, 1200, 9, 8100, 3]::numeric[],
    'Azure NSG: B (empty counters, NULL) + C + E deltas sum to the flow''s totals');

SELECT is((SELECT ARRAY[version::text, protocol::text, action::text, flow_state, interface_id::text]
           FROM vpcflow.flows WHERE provider = 'azure-nsg' AND dstport = 53),
    ARRAY['1', '17', 'ACCEPT', NULL, '00-AA-BB-CC-DD-01'],
    'Azure NSG v1 tuple: U is UDP, no state or counters');

SELECT is((SELECT ARRAY[action::text, flow_direction::text, flow_state]
           FROM vpcflow.flows WHERE provider = 'azure-nsg' AND dstport = 22),
    ARRAY['REJECT', 'ingress', 'B'], 'Azure NSG deny: D is REJECT, I is ingress');

SELECT is((SELECT resource_id::text FROM vpcflow.flows WHERE provider = 'azure-nsg' AND dstport = 22),
    '/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG1',
    'Azure NSG: the NSG''s resource id is kept');

-- ---------------------------------------------------------------- Azure VNet (gzip)
SELECT results_eq($$SELECT rows, errors FROM vpcflow.ingest_file('vpcflow_testdata/azure-vnet.json.gz')$$,
    $$VALUES (5::bigint, 0::bigint)$$, 'Azure VNet, gzip: 5 tuples');

SELECT is((SELECT array_agg(start_time::text ORDER BY start_time) FROM vpcflow.flows
           WHERE provider = 'azure-vnet' AND srcport = 50000),
    ARRAY['2024-03-01 10:00:00.25+00', '2024-03-01 10:01:00.25+00', '2024-03-01 10:01:30.25+00'],
    'Azure VNet: millisecond timestamps');

SELECT is((SELECT ARRAY[sum(bytes), sum(reverse_bytes)] FROM vpcflow.flows
           WHERE provider = 'azure-vnet' AND srcport = 50000),
    ARRAY[1200, 8100]::numeric[], 'Azure VNet: B + C + E deltas sum to the flow''s totals');

SELECT is((SELECT ARRAY[action::text, flow_state, srcport::text, protocol::text, encryption_status::text,
                        extra ->> 'encryption', extra ->> 'acl_id', resource_id::text]
           FROM vpcflow.flows WHERE provider = 'azure-vnet' AND protocol = 1),
    ARRAY['REJECT', 'D', NULL, '1', '0', 'NX_HW_NOT_SUPPORTED', 'abcdabcd-0000-1111-2222-333333333333',
          '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/RG1/providers/Microsoft.Network/virtualNetworks/vnet1'],
    'Azure VNet: state D is a deny, IANA protocol 1 without ports, encryption reason and aclID in extra');

SELECT is((SELECT array_agg(DISTINCT encryption_status) FROM vpcflow.flows
           WHERE provider = 'azure-vnet' AND srcport = 50000),
    ARRAY[1::smallint], 'Azure VNet: X is encrypted (encryption_status 1)');

-- ---------------------------------------------------------------- bare tuples, format =>
SELECT results_eq($$SELECT rows, errors FROM vpcflow.ingest_file('vpcflow_testdata/azure-nsg-tuples.txt', 'azure-nsg')$$,
    $$VALUES (2::bigint, 0::bigint)$$, 'bare NSG tuples (one per line, CRLF) with format => azure-nsg');

SELECT is((SELECT count(*) FROM vpcflow.parse(pg_temp.f('azure-nsg-tuples.txt'))), 2::bigint,
    'bare NSG tuple lines are recognised without a format');

SELECT throws_ok($$SELECT * FROM vpcflow.parse(pg_temp.f('azure-nsg-tuples.txt'), 'gcp')$$, '22P02', NULL,
    'format => gcp on something else is an error, not a guess');

SELECT is((SELECT provider::text FROM vpcflow.parse(
               '2 111122223333 eni-0a1b2c3d4e5f60718 10.0.0.1 10.0.0.2 1 2 6 1 1 1700000000 1700000060 ACCEPT OK', 'aws')),
    'aws', 'format => aws is AWS text');

SELECT throws_ok($$SELECT vpcflow.ingest_data('bad-nsg.json', convert_to(pg_temp.f('azure-nsg.json') || ' ', 'UTF8'), NULL, 'fail')$$,
    '22P02', 'invalid flow-log record in bad-nsg.json line 10, field dstaddr: invalid destination IP address',
    'on_error => fail: the first bad tuple fails the load, naming file, line and field');


-- ---------------------------------------------------------------- a growing Azure blob
-- Azure appends records to PT1H.json during its hour: a later copy starts
-- with the earlier copy's bytes up to its last record.
CREATE TEMP TABLE blob AS
SELECT '{"time":"2024-03-01T11:00:00Z","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/S1/X","properties":{"Version":2,"flows":[{"rule":"r","flows":[{"mac":"00AABBCCDD02","flowTuples":["1709290800,10.9.0.1,10.9.0.2,1000,443,T,O,A,B,,,,","1709290801,10.9.0.1,10.9.0.2,1001,443,T,O,A,B,,,,"]}]}]}}' AS r1,
       '{"time":"2024-03-01T11:01:00Z","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/S1/X","properties":{"Version":2,"flows":[{"rule":"r","flows":[{"mac":"00AABBCCDD02","flowTuples":["1709290860,10.9.0.1,10.9.0.2,1000,443,T,O,A,E,5,500,4,400"]}]}]}}' AS r2,
       '{"time":"2024-03-01T11:02:00Z","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/S1/X","properties":{"Version":2,"flows":[{"rule":"r","flows":[{"mac":"00AABBCCDD02","flowTuples":["1709290920,10.9.0.1,10.9.0.2,1001,443,T,O,A,E,7,700,6,600","1709290921,10.9.0.1,10.9.0.3,1002,443,T,O,A,B,,,,"]}]}]}}' AS r3;

SELECT is((SELECT rows FROM blob, vpcflow.ingest_data('blob/PT1H.json', convert_to('{"records":[' || r1 || ',' || r2 || ']}', 'UTF8'))),
    3::bigint, 'growing blob: the first copy loads its 3 tuples');

SELECT is((SELECT rows FROM blob, vpcflow.ingest_data('blob/PT1H.json', convert_to('{"records":[' || r1 || ',' || r2 || ',' || r3 || ']}', 'UTF8'))),
    2::bigint, 'growing blob: a later, longer copy loads only the tuples of the record added');

SELECT is((SELECT ARRAY[count(*), sum(bytes)] FROM vpcflow.flows WHERE interface_id = '00-AA-BB-CC-DD-02'),
    ARRAY[5, 1200]::numeric[], 'growing blob: every tuple once');

SELECT is((SELECT rows FROM blob, vpcflow.ingest_data('blob/PT1H.json',
               convert_to('{"records":[' || replace(r1, '1000,443', '1009,443') || ',' || r2 || ',' || r3 || ']}', 'UTF8'))),
    5::bigint, 'growing blob: a copy whose earlier bytes differ is not taken as a continuation');

-- ---------------------------------------------------------------- deduplication
SELECT is((SELECT count(*) FROM vpcflow.flows
           WHERE provider = 'gcp' AND srcaddr = '10.128.0.2' AND dstaddr = '10.128.0.3' AND dstport = 5432),
    2::bigint, 'the store keeps both GCP reports of the connection');

SELECT is((SELECT ARRAY[count(*), sum(bytes)] FROM vpcflow.flows_dedup
           WHERE provider = 'gcp' AND srcaddr = '10.128.0.2' AND dstaddr = '10.128.0.3' AND dstport = 5432),
    ARRAY[1, 1200]::numeric[], 'flows_dedup counts the GCP connection once (the SRC report)');

SELECT is((SELECT count(*) FROM vpcflow.flows_dedup WHERE provider = 'gcp'),
    (SELECT count(*) - 1 FROM vpcflow.flows WHERE provider = 'gcp'),
    'flows_dedup keeps the GCP reports seen from one end only');

SELECT is((SELECT ARRAY[count(*) FILTER (WHERE provider = 'azure-nsg'), count(*) FILTER (WHERE provider = 'azure-vnet'),
                        sum(bytes) FILTER (WHERE srcport = 50000)]
           FROM vpcflow.flows_dedup WHERE interface_id = '00-AA-BB-CC-DD-EE'),
    ARRAY[0, 5, 1200]::numeric[],
    'flows_dedup drops the NSG tuples a VNet flow log repeats (deny B matches VNet D); totals count once');

-- ---------------------------------------------------------------- across providers
SELECT results_eq(
    $$SELECT provider::text, vpcflow.reject_rate(action) FROM vpcflow.flows_dedup GROUP BY 1 ORDER BY 1$$,
    $$SELECT provider::text, (count(*) FILTER (WHERE action = 'REJECT'))::float8 / count(*)
      FROM vpcflow.flows_dedup GROUP BY 1 ORDER BY 1$$,
    'reject_rate per provider over flows_dedup equals the plain SQL count');

SELECT is((SELECT count(*) FROM vpcflow.flows_enriched WHERE provider IN ('gcp', 'azure-nsg', 'azure-vnet')),
    (SELECT count(*) FROM vpcflow.flows WHERE provider IN ('gcp', 'azure-nsg', 'azure-vnet')),
    'flows_enriched carries the GCP and Azure rows too');

-- ---------------------------------------------------------------- GCP NDJSON read in chunks
-- ingest_file parses a GCP NDJSON file a piece at a time (2 MB, cut at a
-- newline); ingest_data holds the same bytes whole.  6000 entries (about
-- 4 MB) with a truncated line, a bad address and a 3 MB line: both paths
-- must store the same rows and quarantine the same lines, by the file's
-- own line numbers.
CREATE TEMP TABLE gcp_lines AS
SELECT i, CASE
       WHEN i = 2500 THEN left(line, 200)
       WHEN i = 4100 THEN replace(line, '"10.128.0.2"', '"10.128.0.999"')
       WHEN i = 5000 THEN replace(line, '"jsonPayload":{', '"jsonPayload":{"padding":"' || repeat('x', 3000000) || '",')
       ELSE line END AS line
FROM (SELECT i, replace(replace(pg_temp.head('gcp-both-ends.ndjson', 1), '"t1"', '"g' || i || '"'),
                        '"1200"', '"' || i || '"') AS line
      FROM generate_series(1, 6000) i) s;
DO $$ BEGIN
    EXECUTE format('COPY (SELECT line FROM gcp_lines ORDER BY i) TO %L',
                   current_setting('data_directory') || '/vpcflow_testdata/gen-chunks.ndjson');
END $$;

SELECT cmp_ok((SELECT size FROM pg_stat_file('vpcflow_testdata/gen-chunks.ndjson')), '>', 4000000::bigint,
    'the generated GCP file spans more than one 2 MB piece');

CREATE TEMP TABLE chunk_loads AS
SELECT 'file' AS path, l.* FROM vpcflow.ingest_file('vpcflow_testdata/gen-chunks.ndjson') l
UNION ALL
SELECT 'memory', l.* FROM vpcflow.ingest_data('gen-chunks-memory.ndjson',
    pg_read_binary_file('vpcflow_testdata/gen-chunks.ndjson') || '\x0a'::bytea) l;

SELECT results_eq($$SELECT path, rows, errors FROM chunk_loads ORDER BY path$$,
    $$VALUES ('file'::text, 5997::bigint, 3::bigint), ('memory', 5997, 3)$$,
    'GCP in chunks: the file and the same bytes in memory store the same counts');

SELECT is((SELECT array_agg(line_no ORDER BY line_no) FROM vpcflow.ingest_errors
           WHERE ingest_id = (SELECT ingest_id FROM chunk_loads WHERE path = 'file')),
    ARRAY[2500, 4100, 5000]::bigint[],
    'GCP in chunks: quarantined lines keep the file''s line numbers across pieces');

SELECT results_eq(
    $$SELECT line_no, field, message, md5(raw_line) FROM vpcflow.ingest_errors
      WHERE ingest_id = (SELECT ingest_id FROM chunk_loads WHERE path = 'file') ORDER BY line_no$$,
    $$SELECT line_no, field, message, md5(raw_line) FROM vpcflow.ingest_errors
      WHERE ingest_id = (SELECT ingest_id FROM chunk_loads WHERE path = 'memory') ORDER BY line_no$$,
    'GCP in chunks: the same quarantine records as the whole-document read');

SELECT results_eq(
    $$SELECT pg_temp.j(f)::text FROM vpcflow.flows f
      WHERE ingest_id = (SELECT ingest_id FROM chunk_loads WHERE path = 'file') ORDER BY 1$$,
    $$SELECT pg_temp.j(f)::text FROM vpcflow.flows f
      WHERE ingest_id = (SELECT ingest_id FROM chunk_loads WHERE path = 'memory') ORDER BY 1$$,
    'GCP in chunks: the same rows as the whole-document read');

SELECT * FROM finish();
ROLLBACK;
