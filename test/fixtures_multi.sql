-- pgTAP: conformance over the shared corpus of public GCP and Azure flow-log
-- samples (../shared/fixtures/gcp and /azure, staged as 'vpcflow_fixtures/';
-- see its SOURCES.md).  Without the corpus the whole plan is skipped.
--
-- Every file is loaded with vpcflow.ingest_file.  Expected values never come
-- from our own reader:
--   * rows: every GCP entry, and every Azure flow tuple, as PostgreSQL's own
--     JSON decoding finds them; their fields split and converted in SQL
--     (set_eq over the whole corpus);
--   * foxsec / gcp-flowlogs-reader / elastic *.expected.json: the upstream
--     projects' expected values.
-- Quirks (SOURCES.md, docs/providers.md): msdocs-nsg-flow-log-v1.json nests
-- a copy of the blob ({"records": [...]}) inside its records array: that
-- element is quarantined with a clear message (loading it would count its
-- flows twice) and the rest loads.  msdocs-vnet-bandwidth-example-tuples.txt
-- has second-precision VNet timestamps: a VNet value too small to be
-- milliseconds after 1973 is read as seconds, the rule AWS start/end follow.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = warning;

SELECT (pg_stat_file('vpcflow_fixtures/SOURCES.md', true)).size IS NOT NULL
   AND (pg_stat_file('vpcflow_fixtures/gcp', true)).isdir
   AND (pg_stat_file('vpcflow_fixtures/azure', true)).isdir AS have_fixtures \gset

\if :have_fixtures

CREATE TEMP TABLE fx AS
SELECT d || '/' || f AS file, d AS provider_dir,
       'vpcflow_fixtures/' || d || '/' || f AS path,
       pg_read_file('vpcflow_fixtures/' || d || '/' || f) AS content
FROM unnest(ARRAY['gcp', 'azure']) AS d, pg_ls_dir('vpcflow_fixtures/' || d) AS f
WHERE f NOT LIKE '%.expected.json';

-- The JSON values of each file: NDJSON lines, or the whole document.
CREATE TEMP TABLE fx_values AS
SELECT file, provider_dir, v
FROM fx, LATERAL (
    SELECT l::jsonb AS v FROM regexp_split_to_table(content, E'\n') AS l
    WHERE file LIKE '%.ndjson' AND btrim(l) <> ''
    UNION ALL
    SELECT content::jsonb WHERE file LIKE '%.json') x;

-- GCP entries (array elements too) and their payloads.
CREATE TEMP TABLE gcp_expected AS
SELECT file, p,
       (p #>> '{connection,src_ip}')::inet AS srcaddr,
       (p #>> '{connection,dest_ip}')::inet AS dstaddr,
       (p #>> '{connection,src_port}')::numeric::integer AS srcport,
       (p #>> '{connection,dest_port}')::numeric::integer AS dstport,
       (p #>> '{connection,protocol}')::numeric::smallint AS protocol,
       (p ->> 'bytes_sent')::bigint AS bytes,
       (p ->> 'packets_sent')::bigint AS packets,
       date_trunc('milliseconds', (p ->> 'start_time')::timestamptz) AS start_ms,
       date_trunc('milliseconds', (p ->> 'end_time')::timestamptz) AS end_ms,
       CASE p ->> 'reporter' WHEN 'SRC' THEN 'egress' WHEN 'DEST' THEN 'ingress' END AS direction,
       (p ->> 'rtt_msec')::bigint AS rtt_msec
FROM fx_values,
     LATERAL (SELECT e FROM jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v END) e
              UNION ALL SELECT v WHERE jsonb_typeof(v) = 'object') entries(e),
     LATERAL (SELECT COALESCE(e -> 'jsonPayload', e) AS p) x
WHERE provider_dir = 'gcp';

-- Azure tuples with their rule and MAC: NSG (properties.flows[].flows[])
-- and VNet (flowRecords.flows[].flowGroups[]); records inside a
-- {"records": [...]} blob or one per line.  An element of records that is
-- itself a blob is not a record (the v1 docs quirk).
CREATE TEMP TABLE az_records AS
SELECT file, r FROM fx_values, jsonb_array_elements(v -> 'records') r
WHERE provider_dir = 'azure' AND (r ? 'properties' OR r ? 'flowRecords')
UNION ALL
SELECT file, v FROM fx_values
WHERE provider_dir = 'azure' AND (v ? 'properties' OR v ? 'flowRecords');

CREATE TEMP TABLE az_tuples AS
SELECT file, f ->> 'rule' AS rule, m ->> 'mac' AS mac, t #>> '{}' AS tup
FROM az_records, jsonb_array_elements(r #> '{properties,flows}') f,
     jsonb_array_elements(f -> 'flows') m, jsonb_array_elements(m -> 'flowTuples') t
UNION ALL
SELECT file, g ->> 'rule', r ->> 'macAddress', t #>> '{}'
FROM az_records, jsonb_array_elements(r #> '{flowRecords,flows}') f,
     jsonb_array_elements(f -> 'flowGroups') g, jsonb_array_elements(g -> 'flowTuples') t
UNION ALL
SELECT file, NULL, NULL, btrim(l, E' \r')
FROM fx, regexp_split_to_table(content, E'\n') l
WHERE provider_dir = 'azure' AND file LIKE '%.txt' AND btrim(l) <> '';

CREATE TEMP TABLE az_expected AS
SELECT file,
       CASE WHEN split_part(tup, ',', 6) ~ '^[0-9]+$' THEN 'azure-vnet' ELSE 'azure-nsg' END AS provider,
       split_part(tup, ',', 2)::inet AS srcaddr, split_part(tup, ',', 3)::inet AS dstaddr,
       NULLIF(split_part(tup, ',', 4), '')::integer AS srcport,
       NULLIF(split_part(tup, ',', 5), '')::integer AS dstport,
       CASE split_part(tup, ',', 6) WHEN 'T' THEN 6 WHEN 'U' THEN 17
            ELSE split_part(tup, ',', 6)::integer END::smallint AS protocol,
       CASE split_part(tup, ',', 7) WHEN 'I' THEN 'ingress' ELSE 'egress' END AS direction,
       CASE WHEN split_part(tup, ',', 6) ~ '^[0-9]+$'
            THEN CASE split_part(tup, ',', 8) WHEN 'D' THEN 'REJECT' ELSE 'ACCEPT' END
            ELSE CASE split_part(tup, ',', 8) WHEN 'D' THEN 'REJECT' ELSE 'ACCEPT' END END AS action,
       NULLIF(CASE WHEN split_part(tup, ',', 6) ~ '^[0-9]+$' THEN split_part(tup, ',', 8)
                   ELSE split_part(tup, ',', 9) END, '') AS flow_state,
       NULLIF(split_part(tup, ',', 10), '')::bigint AS packets,
       NULLIF(split_part(tup, ',', 11), '')::bigint AS bytes,
       NULLIF(split_part(tup, ',', 12), '')::bigint AS reverse_packets,
       NULLIF(split_part(tup, ',', 13), '')::bigint AS reverse_bytes,
       to_timestamp(CASE WHEN split_part(tup, ',', 1)::bigint > 99999999999
                         THEN split_part(tup, ',', 1)::numeric / 1000
                         ELSE split_part(tup, ',', 1)::numeric END) AS start_time,
       rule, upper(mac) AS mac
FROM az_tuples;

-- Load every file.
CREATE TEMP TABLE loaded AS
SELECT fx.file, fx.provider_dir, r.*
FROM fx, LATERAL vpcflow.ingest_file(fx.path) r;

SELECT plan(18);

SELECT is((SELECT count(*) FROM loaded), (SELECT count(*) FROM fx),
    'every GCP and Azure fixture was ingested');

SELECT is((SELECT array_agg(file ORDER BY file) FROM loaded
           WHERE status <> 'loaded' AND file <> 'azure/msdocs-nsg-flow-log-v1.json'),
    NULL, 'every fixture but the nested-records docs sample loads without errors');

SELECT results_eq($$SELECT l.status, l.rows, l.errors, e.field, e.message ~ 'nested "records"'
                    FROM loaded l JOIN vpcflow.ingest_errors e USING (ingest_id)
                    WHERE l.file = 'azure/msdocs-nsg-flow-log-v1.json'$$,
    $$VALUES ('loaded_with_errors'::text, 9::bigint, 1::bigint, 'records'::text, true)$$,
    'msdocs NSG v1: its nested {"records": [...]} element is quarantined with a clear message, its 9 own tuples load');

SELECT is((SELECT sum(rows)::bigint FROM loaded WHERE provider_dir = 'gcp'),
    (SELECT count(*) FROM gcp_expected), 'GCP: one row per entry');

SELECT is((SELECT sum(rows)::bigint FROM loaded WHERE provider_dir = 'azure'),
    (SELECT count(*) FROM az_tuples), 'Azure: one row per flow tuple');

SELECT set_eq(
    $$SELECT l.file, f.srcaddr, f.dstaddr, f.srcport, f.dstport, f.protocol, f.bytes, f.packets,
             date_trunc('milliseconds', f.start_time) AS s, date_trunc('milliseconds', f.end_time) AS e,
             f.flow_direction::text, f.rtt_msec, f.provider::text, f.action::text
      FROM vpcflow.flows f JOIN loaded l USING (ingest_id) WHERE l.provider_dir = 'gcp'$$,
    $$SELECT file, srcaddr, dstaddr, srcport, dstport, protocol, bytes, packets, start_ms, end_ms,
             direction, rtt_msec, 'gcp' AS provider, 'ACCEPT' AS action FROM gcp_expected$$,
    'GCP: every entry''s connection, counters, times, reporter and rtt as PostgreSQL decodes them');

SELECT set_eq(
    $$SELECT l.file, f.provider::text, f.srcaddr, f.dstaddr, f.srcport, f.dstport, f.protocol,
             f.flow_direction::text, f.action::text, f.flow_state, f.packets, f.bytes,
             f.reverse_packets, f.reverse_bytes, f.start_time, f.rule_name,
             replace(f.interface_id::text, '-', '') AS mac
      FROM vpcflow.flows f JOIN loaded l USING (ingest_id) WHERE l.provider_dir = 'azure'$$,
    $$SELECT file, provider, srcaddr, dstaddr, srcport, dstport, protocol, direction, action,
             flow_state, packets, bytes, reverse_packets, reverse_bytes, start_time, rule, mac
      FROM az_expected$$,
    'Azure: every tuple''s fields, rule and MAC as split in SQL');

-- upstream expected values
SELECT is((SELECT ARRAY[host(f.srcaddr), f.srcport::text, host(f.dstaddr), f.dstport::text,
                        f.bytes::text, f.instance_id::text]
           FROM vpcflow.flows f JOIN loaded l USING (ingest_id)
           WHERE l.file = 'gcp/foxsec-parsertest-vpcflow.ndjson'),
    (SELECT ARRAY[x ->> 'src_ip', x ->> 'src_port', x ->> 'dest_ip', x ->> 'dest_port',
                  x ->> 'bytes_sent', x ->> 'src_instance.vm_name']
     FROM (SELECT pg_read_file('vpcflow_fixtures/gcp/foxsec-parsertest-vpcflow.expected.json')::jsonb) e(x)),
    'foxsec expected: addresses, ports, bytes_sent, src_instance.vm_name');

SELECT set_eq(
    $$SELECT host(f.srcaddr) AS a, f.srcport, host(f.dstaddr) AS c, f.dstport, f.protocol::integer,
             to_char(date_trunc('second', f.start_time), 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS s,
             to_char(date_trunc('second', f.end_time), 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS e,
             f.bytes, f.packets, f.rtt_msec,
             CASE f.flow_direction::text WHEN 'egress' THEN 'SRC' ELSE 'DEST' END AS k
      FROM vpcflow.flows f JOIN loaded l USING (ingest_id)
      WHERE l.file = 'gcp/gcp-flowlogs-reader-jsonpayloads.ndjson' AND f.bytes IN (491, 756)$$,
    $$SELECT x ->> 'src_ip' AS a, (x ->> 'src_port')::integer AS b, x ->> 'dest_ip' AS c,
             (x ->> 'dest_port')::integer AS d, (x ->> 'protocol')::integer AS e1, x ->> 'start_time' AS f1,
             x ->> 'end_time' AS g1, (x ->> 'bytes_sent')::bigint AS h, (x ->> 'packets_sent')::bigint AS i,
             (x ->> 'rtt_msec')::bigint AS j, x ->> 'reporter' AS k
      FROM (SELECT pg_read_file('vpcflow_fixtures/gcp/gcp-flowlogs-reader-jsonpayloads.expected.json')::jsonb) e(d),
           LATERAL (VALUES (d -> 'line1'), (d -> 'line2')) v(x)$$,
    'gcp-flowlogs-reader expected: both payloads (float ports, seconds as the library gives them)');

SELECT is((SELECT ARRAY[coalesce(f.extra ? 'src_instance', false)::text, coalesce(f.extra ? 'src_vpc', false)::text,
                        coalesce(f.extra ? 'dest_location', false)::text,
                        (f.peer_instance_id IS NULL)::text, (f.peer_vpc_id IS NULL)::text, f.peer_city, f.peer_geo_region]
           FROM vpcflow.flows f JOIN loaded l USING (ingest_id)
           WHERE l.file = 'gcp/gcp-flowlogs-reader-jsonpayloads.ndjson' AND f.bytes = 491),
    ARRAY['false', 'false', 'false', 'true', 'true', 'Santa Teresa', 'California'],
    'gcp-flowlogs-reader expected: the DEST report has no src_instance, src_vpc or dest_location; its src_location is the peer''s');

SELECT is((SELECT ARRAY[f.peer_asn::text, f.peer_city, f.peer_continent, f.peer_country, f.instance_id::text,
                        (f.extra -> 'dest_instance' -> 'managed_instance_group' ->> 'name'), (f.extra ? 'src_location')::text]
           FROM vpcflow.flows f JOIN loaded l USING (ingest_id)
           WHERE l.file = 'gcp/otel-vpcflow-managed-instance.ndjson' AND f.srcaddr = '45.78.219.169'),
    ARRAY['150436', 'Singapore', 'Asia', 'sgp', 'andrewvc-flowfixtures-vm-zh8x', 'andrewvc-flowfixtures-mig', 'false'],
    'otel managed-instance: the prober''s src_location in peer_ columns, the MIG kept with the reporting VM''s object in extra');

SELECT is((SELECT ARRAY[f.extra #>> '{dest_google_service,service_name}', f.instance_id::text, f.region]
           FROM vpcflow.flows f JOIN loaded l USING (ingest_id)
           WHERE l.file = 'gcp/otel-vpcflow-google-service.ndjson' AND f.flow_direction = 'egress'),
    ARRAY['logging.googleapis.com', 'andrewvc-flowfixtures-vm-2qhb', 'us-central1'],
    'otel google-service: dest_google_service kept, the reporting VM in columns');

SELECT is((SELECT ARRAY[f.protocol::text, f.srcport::text, f.dstport::text,
                        (f.extra #>> '{internet_routing_details,egress_as_path,0,as_details,0,asn}')]
           FROM vpcflow.flows f JOIN loaded l USING (ingest_id)
           WHERE l.file = 'gcp/otel-vpcflow-internet-routing-icmp-nmapi.json'),
    ARRAY['1', NULL, NULL, '16509'],
    'otel networkmanagement log: ICMP without ports, internet_routing_details kept');

SELECT results_eq(
    $$SELECT host(f.srcaddr), f.srcport, host(f.dstaddr), f.dstport, f.packets, f.bytes,
             f.reverse_packets, f.reverse_bytes, f.interface_id::text, f.rule_name,
             f.flow_direction::text, f.action::text, f.flow_state, f.start_time
      FROM vpcflow.flows f JOIN loaded l USING (ingest_id)
      WHERE l.file = 'azure/elastic-integrations-nsg-v2.ndjson'$$,
    $$SELECT x #>> '{source,ip,0}', (x #>> '{source,port,0}')::integer,
             x #>> '{destination,ip,0}', (x #>> '{destination,port,0}')::integer,
             (x #>> '{source,packets,0}')::bigint, (x #>> '{source,bytes,0}')::bigint,
             (x #>> '{destination,packets,0}')::bigint, (x #>> '{destination,bytes,0}')::bigint,
             x #>> '{source,mac,0}', x #>> '{rule,name,0}',
             CASE x #>> '{network,direction,0}' WHEN 'outbound' THEN 'egress' ELSE 'ingress' END,
             CASE t #>> '{traffic,decision}' WHEN 'Allowed' THEN 'ACCEPT' ELSE 'REJECT' END,
             left(t ->> 'flow_state', 1), (t ->> 'timestamp')::timestamptz
      FROM (SELECT pg_read_file('vpcflow_fixtures/azure/elastic-integrations-nsg-v2.expected.json')::jsonb
                   #> '{expected,0}') e(x),
           LATERAL (SELECT x #> '{azure_network_watcher_nsg,log,properties,flows,0,flows,0,tuples,0}') y(t)$$,
    'elastic NSG v2 expected: addresses, ports, both directions'' counters, MAC, rule, direction, decision, state, time');

SELECT set_eq(
    $$SELECT host(f.srcaddr) AS a, f.srcport, host(f.dstaddr) AS c, f.dstport, f.packets, f.bytes,
             f.reverse_packets, f.reverse_bytes, f.flow_state, f.start_time, f.interface_id::text,
             f.rule_name, f.extra ->> 'acl_id' AS acl, f.protocol::text
      FROM vpcflow.flows f JOIN loaded l USING (ingest_id)
      WHERE l.file = 'azure/elastic-integrations-vnet-v4.ndjson'$$,
    $$SELECT t #>> '{source,ip}' AS a, (t #>> '{source,port}')::integer AS b, t #>> '{destination,ip}' AS c,
             (t #>> '{destination,port}')::integer AS d, (t #>> '{packets,sent}')::bigint AS e1,
             (t #>> '{bytes,sent}')::bigint AS f1, (t #>> '{packets,received}')::bigint AS g1,
             (t #>> '{bytes,received}')::bigint AS h, left(t #>> '{flow,state}', 1) AS i,
             (t ->> 'timestamp')::timestamptz AS j, x #>> '{azure_network_watcher_vnet,log,mac_address}' AS k,
             g ->> 'rule' AS l, fl ->> 'acl_id' AS m, t ->> 'protocol' AS n
      FROM (SELECT pg_read_file('vpcflow_fixtures/azure/elastic-integrations-vnet-v4.expected.json')::jsonb
                   #> '{expected,0}') e(x),
           jsonb_array_elements(x #> '{azure_network_watcher_vnet,log,records,flows}') fl,
           jsonb_array_elements(fl -> 'groups') g, jsonb_array_elements(g -> 'tuples') t$$,
    'elastic VNet v4 expected: both tuples (mixed-case MAC normalised), counters as sent/received, aclID');

SELECT is((SELECT array_agg(f.start_time ORDER BY f.flow_state)
           FROM vpcflow.flows f JOIN loaded l USING (ingest_id)
           WHERE l.file = 'azure/msdocs-vnet-bandwidth-example-tuples.txt'),
    ARRAY[to_timestamp(1493763938), to_timestamp(1493695838), to_timestamp(1493696138)],
    'msdocs VNet bandwidth example: second-precision timestamps read as seconds (2017), not milliseconds (1970)');

SELECT is((SELECT ARRAY[sum(f.bytes), sum(f.reverse_bytes), sum(f.packets), sum(f.reverse_packets)]
           FROM vpcflow.flows f JOIN loaded l USING (ingest_id)
           WHERE l.file = 'azure/msdocs-nsg-bandwidth-example-tuples.txt'),
    ARRAY[588096 + 29952, 4610880 + 27072, 1021 + 52, 8005 + 47]::numeric[],
    'msdocs NSG bandwidth example: B + C + E sum to the connection''s bytes and packets each way');

SELECT is((SELECT count(*) FROM vpcflow.flows_dedup d JOIN loaded l USING (ingest_id)
           WHERE l.provider_dir = 'gcp'),
    (SELECT count(*) FROM gcp_expected),
    'flows_dedup drops no GCP fixture row (no connection in the corpus is reported from both ends)');

SELECT * FROM finish();

\else
SELECT plan(1);
SELECT skip('../shared/fixtures/gcp and /azure not present', 1);
\endif

ROLLBACK;
