-- pgTAP: conformance over the shared corpus of public AWS VPC flow-log
-- samples (../shared/fixtures, staged as 'vpcflow_fixtures/' in the data
-- directory; see its SOURCES.md).  Without the corpus the whole plan is
-- skipped.
--
-- Covered: every AWS text sample (aws/*.log), read with its sibling
-- .format file when there is one (the text has no header), else with its
-- own header lines or the v2 default; and the JSON envelope samples
-- (CloudWatch Logs subscription DATA_MESSAGE, lines wrapped as
-- {"message": ...}), whose records must equal those of the messages
-- PostgreSQL's own JSON parser extracts.
--
-- Expected values come from the corpus, never from our own output:
--   * record counts: the file's non-blank lines that are not header lines
--     (a header is a line made only of lowercase field names);
--   * vrl.expected.json, flowlogs-reader.expected.json: the upstream
--     parsers' expected objects (start/end as Unix seconds or ISO text);
--   * elastic-integrations-*.expected.json: Elastic's ECS documents.
-- Quirks noted in SOURCES.md: elastic-integrations-v5-all-fields.log has a
-- 9-digit start (164000066 s = 1975-03-14, which Elastic also gives) and
-- hand-redacted ids (eni-069xxxxxb7a490) that must be kept unaltered;
-- Elastic's v8 document keeps '-' as the literal region and availability
-- zone, where '-' means "no value" (NULL) by the AWS format.
BEGIN;
SET LOCAL TimeZone = 'UTC';

SELECT (pg_stat_file('vpcflow_fixtures/SOURCES.md', true)).size IS NOT NULL AS have_fixtures \gset

\if :have_fixtures

-- ------------------------------------------------------------ helpers

-- The AWS text samples.  negative: the two samples that must be rejected.
CREATE TEMP TABLE fx AS
SELECT f AS file,
       'vpcflow_fixtures/aws/' || f AS path,
       pg_read_file('vpcflow_fixtures/aws/' || f) AS content,
       CASE WHEN (pg_stat_file(regexp_replace('vpcflow_fixtures/aws/' || f, '\.log$', '.format'), true)).size IS NOT NULL
            THEN pg_read_file(regexp_replace('vpcflow_fixtures/aws/' || f, '\.log$', '.format')) END AS format,
       f IN ('beats-bad-negative.log', 'otel-negative-too-many-fields.log') AS negative
FROM pg_ls_dir('vpcflow_fixtures/aws') AS f
WHERE f LIKE '%.log';

-- Records per file, counted from the text alone.
ALTER TABLE fx ADD COLUMN records bigint;
UPDATE fx SET records = (
    SELECT count(*) FROM regexp_split_to_table(content, E'\n') AS l
    WHERE btrim(l, E' \t\r') <> ''
      AND l !~ '^[ \t]*[a-z][a-z0-9_-]*([ \t]+[a-z][a-z0-9_-]*)*[ \t\r]*$');

-- parse()'s row count, or the error it raised.
CREATE FUNCTION pg_temp.parse_count(content text, format text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    SELECT count(*) INTO n FROM vpcflow.parse(content, format);
    RETURN n::text;
EXCEPTION WHEN others THEN
    RETURN 'ERROR: ' || SQLERRM;
END
$$;

-- parse()'s rows as jsonb with their ordinal; nothing if parse() fails
-- (the count assertion reports that).
CREATE FUNCTION pg_temp.rows_of(content text, format text)
RETURNS TABLE (recno bigint, r jsonb)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT p.ordinality, to_jsonb(p) - 'ordinality'
                 FROM vpcflow.parse(content, format) WITH ORDINALITY AS p;
EXCEPTION WHEN others THEN
    RETURN;
END
$$;

-- ingest_file()'s result as jsonb, or {"error": message}.
CREATE FUNCTION pg_temp.try_ingest(path text, format text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE res jsonb;
BEGIN
    SELECT to_jsonb(i) INTO res FROM vpcflow.ingest_file(path, format) AS i;
    RETURN res;
EXCEPTION WHEN others THEN
    RETURN jsonb_build_object('error', SQLERRM);
END
$$;

-- Compare expected values (a flat object keyed by store column) with a
-- parsed row; returns one text per mismatch.  Values are compared as the
-- column's type (ids and text exactly); '-' and JSON null both mean NULL;
-- numeric start_time/end_time are Unix seconds.
CREATE FUNCTION pg_temp.mismatches(expected jsonb, actual jsonb) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    k text;
    v jsonb;
    typ regtype;
    exp_text text;
    act_text text;
    same boolean;
    out text[] := '{}';
    n integer := 0;
BEGIN
    IF actual IS NULL THEN
        RETURN ARRAY['no such parsed record'];
    END IF;
    FOR k, v IN SELECT * FROM jsonb_each(expected) LOOP
        SELECT atttypid::regtype INTO typ FROM pg_attribute
        WHERE attrelid = 'vpcflow.flows'::regclass AND attname = k AND attnum > 0 AND NOT attisdropped;
        IF typ IS NULL THEN
            out := out || format('%s: not a column of vpcflow.flows', k);
            CONTINUE;
        END IF;
        exp_text := CASE WHEN jsonb_typeof(v) = 'null' THEN NULL ELSE v #>> '{}' END;
        IF exp_text = '-' THEN
            exp_text := NULL;
        END IF;
        IF typ = 'timestamptz'::regtype AND jsonb_typeof(v) = 'number' THEN
            exp_text := to_timestamp(v::text::numeric)::text;
        END IF;
        act_text := actual ->> k;
        IF typ IN ('text'::regtype, 'vpcflow.awsid'::regtype) THEN
            same := exp_text IS NOT DISTINCT FROM act_text;
        ELSE
            EXECUTE format('SELECT $1::%s IS NOT DISTINCT FROM $2::%s', typ, typ)
                INTO same USING exp_text, act_text;
        END IF;
        IF NOT same THEN
            out := out || format('%s: expected %s, got %s', k,
                                 coalesce(exp_text, 'NULL'), coalesce(act_text, 'NULL'));
        END IF;
        n := n + 1;
    END LOOP;
    IF n = 0 THEN
        out := out || 'no expected value compared'::text;
    END IF;
    RETURN out;
END
$$;

-- Expected records: (file, recno, flat object keyed by store column).
CREATE TEMP TABLE exp (source text, file text, recno bigint, label text, expected jsonb);

-- vrl: "<file> line <n>[ (...)]" -> object, start/end -> start_time/end_time
INSERT INTO exp
SELECT 'vrl', m[1], m[2]::bigint, e.key,
       (e.value - 'start' - 'end')
       || CASE WHEN e.value ? 'start' THEN jsonb_build_object('start_time', e.value -> 'start') ELSE '{}' END
       || CASE WHEN e.value ? 'end' THEN jsonb_build_object('end_time', e.value -> 'end') ELSE '{}' END
FROM jsonb_each(pg_read_file('vpcflow_fixtures/aws/vrl.expected.json')::jsonb) AS e
CROSS JOIN LATERAL regexp_match(e.key, '^(\S+\.log) line (\d+)') AS m
WHERE jsonb_typeof(e.value) = 'object';

-- flowlogs-reader: file -> array of records, {"lineN (...)": record}, or
-- one record
WITH doc AS (
    SELECT e.key AS file, e.value
    FROM jsonb_each(pg_read_file('vpcflow_fixtures/aws/flowlogs-reader.expected.json')::jsonb) AS e
    WHERE e.key LIKE '%.log'
), recs AS (
    SELECT file, a.n AS recno, file || ' [' || a.n || ']' AS label, a.rec
    FROM doc CROSS JOIN LATERAL jsonb_array_elements(doc.value) WITH ORDINALITY AS a(rec, n)
    WHERE jsonb_typeof(doc.value) = 'array'
    UNION ALL
    SELECT file, (regexp_match(o.key, '^line ?(\d+)'))[1]::bigint, file || ' ' || o.key, o.value
    FROM doc CROSS JOIN LATERAL jsonb_each(doc.value) AS o
    WHERE jsonb_typeof(doc.value) = 'object' AND jsonb_typeof(o.value) = 'object'
    UNION ALL
    SELECT file, 1, file, doc.value
    FROM doc
    WHERE jsonb_typeof(doc.value) = 'object'
      AND NOT EXISTS (SELECT 1 FROM jsonb_each(doc.value) o WHERE jsonb_typeof(o.value) = 'object')
)
INSERT INTO exp
SELECT 'flowlogs-reader', file, recno, label,
       (rec - 'start' - 'end')
       || CASE WHEN rec ? 'start' THEN jsonb_build_object('start_time', rec -> 'start') ELSE '{}' END
       || CASE WHEN rec ? 'end' THEN jsonb_build_object('end_time', rec -> 'end') ELSE '{}' END
FROM recs;

-- Elastic ECS documents: the ECS/aws.vpcflow paths that hold a flow-log
-- field, mapped to the store's column.
CREATE TEMP TABLE ecs_map (path text[], col text);
INSERT INTO ecs_map VALUES
    ('{source,address}', 'srcaddr'), ('{source,port}', 'srcport'),
    ('{destination,address}', 'dstaddr'), ('{destination,port}', 'dstport'),
    ('{network,packets}', 'packets'), ('{network,bytes}', 'bytes'),
    ('{network,iana_number}', 'protocol'), ('{network,direction}', 'flow_direction'),
    ('{event,start}', 'start_time'), ('{event,end}', 'end_time'),
    ('{event,action}', 'action'), ('{event,reason}', 'reject_reason'),
    ('{cloud,account,id}', 'account_id'), ('{cloud,region}', 'region'),
    ('{cloud,availability_zone}', 'az_id'), ('{cloud,instance,id}', 'instance_id'),
    ('{service,name}', 'ecs_service_name'),
    ('{orchestrator,cluster,id}', 'ecs_cluster_arn'), ('{orchestrator,cluster,name}', 'ecs_cluster_name'),
    ('{orchestrator,resource,id}', 'ecs_container_instance_id'),
    ('{orchestrator,resource,name}', 'ecs_container_instance_arn'),
    ('{aws,vpcflow,pkt_src_service}', 'pkt_src_aws_service'),
    ('{aws,vpcflow,pkt_dst_service}', 'pkt_dst_aws_service');
INSERT INTO ecs_map
SELECT ARRAY['aws', 'vpcflow', c], c
FROM unnest(ARRAY['version', 'account_id', 'interface_id', 'action', 'log_status', 'vpc_id',
                  'subnet_id', 'instance_id', 'tcp_flags', 'type', 'pkt_srcaddr', 'pkt_dstaddr',
                  'traffic_path', 'ecs_container_id', 'ecs_second_container_id',
                  'ecs_task_arn', 'ecs_task_definition_arn', 'ecs_task_id']) AS c;

INSERT INTO exp
SELECT 'elastic', replace(x.f, '.expected.json', '.log'), d.n,
       x.f || ' expected[' || d.n - 1 || ']',
       (SELECT jsonb_object_agg(m.col, d.doc #> m.path) FROM ecs_map m WHERE d.doc #> m.path IS NOT NULL)
FROM (VALUES ('elastic-integrations-v5-all-fields.expected.json'),
             ('elastic-integrations-v8-reject-reason.expected.json')) AS x(f)
CROSS JOIN LATERAL jsonb_array_elements(pg_read_file('vpcflow_fixtures/aws/' || x.f)::jsonb -> 'expected')
    WITH ORDINALITY AS d(doc, n);

-- Parsed rows of every positive sample.
CREATE TEMP TABLE act AS
SELECT fx.file, r.recno, r.r AS actual
FROM fx CROSS JOIN LATERAL pg_temp.rows_of(fx.content, fx.format) AS r
WHERE NOT fx.negative;

-- Ingest every sample once, the negative ones too (all in the test's
-- transaction; what they load is checked by later statements, which see it).
CREATE TEMP TABLE ing AS
SELECT fx.file, pg_temp.try_ingest(fx.path, fx.format) AS res
FROM fx ORDER BY fx.file;

-- The JSON envelope samples, with the messages jsonb finds in them.  The
-- headerless CloudWatch ones take the format their sources state: the
-- 4-field custom format, and the transit gateway header of
-- otel-tgw-flow-log-v6-header.log without its four packets-lost fields.
CREATE TEMP TABLE envf AS
SELECT f AS file,
       'vpcflow_fixtures/aws/' || f AS path,
       pg_read_file('vpcflow_fixtures/aws/' || f) AS content,
       CASE WHEN f LIKE '%custom-4field%' THEN 'version interface-id srcaddr dstaddr'
            WHEN f LIKE '%tgw%' THEN (
                SELECT string_agg(h, ' ' ORDER BY n)
                FROM regexp_split_to_table(split_part(pg_read_file('vpcflow_fixtures/aws/otel-tgw-flow-log-v6-header.log'), E'\n', 1), ' ')
                     WITH ORDINALITY AS t(h, n)
                WHERE h NOT LIKE 'packets-lost-%') END AS format
FROM pg_ls_dir('vpcflow_fixtures/aws') AS f
WHERE f LIKE '%.ndjson' OR (f LIKE '%.json' AND f NOT LIKE '%.expected.json');
ALTER TABLE envf ADD COLUMN messages text[];
UPDATE envf SET messages = CASE
    WHEN file LIKE '%.ndjson' THEN (
        SELECT array_agg(l::jsonb ->> 'message' ORDER BY n)
        FROM regexp_split_to_table(content, E'\n') WITH ORDINALITY AS t(l, n) WHERE btrim(l) <> '')
    ELSE (SELECT array_agg(e ->> 'message' ORDER BY n)
          FROM jsonb_array_elements(content::jsonb -> 'logEvents') WITH ORDINALITY AS t(e, n)) END;

CREATE TEMP TABLE envi AS
SELECT envf.file, pg_temp.try_ingest(envf.path, envf.format) AS res
FROM envf ORDER BY envf.file;

SELECT count(*) FILTER (WHERE NOT negative) AS npos FROM fx \gset
SELECT count(*) AS nexp FROM exp \gset
SELECT count(*) AS nenv FROM envf \gset
SELECT plan(3 * :npos + :nexp + 2 * :nenv + 8);

-- ------------------------------------------------------------ the corpus
SELECT is((SELECT array_agg(file ORDER BY file) FROM fx WHERE negative),
    ARRAY['beats-bad-negative.log', 'otel-negative-too-many-fields.log'],
    'corpus: both negative samples are present');

-- ------------------------------------------------------------ parse(): row counts
SELECT is(pg_temp.parse_count(content, format), records::text,
    format('%s: parse() gives one row per record (%s)%s', file, records,
           CASE WHEN format IS NOT NULL THEN ', format from its .format file' ELSE '' END))
FROM fx WHERE NOT negative ORDER BY file;

-- ------------------------------------------------------------ the negative samples
SELECT throws_like(
    format('SELECT * FROM vpcflow.parse(%L)', (SELECT content FROM fx WHERE file = 'beats-bad-negative.log')),
    'invalid flow-log record in input line 1, field version (column 1): invalid number: % "Phony"',
    'beats-bad-negative.log: parse() rejects the garbage line, naming line 1 and field version');

SELECT throws_like(
    format('SELECT * FROM vpcflow.parse(%L)', (SELECT content FROM fx WHERE file = 'otel-negative-too-many-fields.log')),
    'invalid flow-log record in input line 2, column 15: more fields than the format''s 14: "one-too-many"',
    'otel-negative-too-many-fields.log: parse() rejects the 15-token line after a 14-field header');

SELECT is((SELECT ARRAY[ing.res ->> 'status', ing.res ->> 'rows', ing.res ->> 'errors',
                        e.line_no::text, e.field, e.column_no::text]
           FROM ing JOIN vpcflow.ingest_errors e ON e.ingest_id = (ing.res ->> 'ingest_id')::int
           WHERE ing.file = 'beats-bad-negative.log'),
    ARRAY['loaded_with_errors', '0', '1', '1', 'version', '1'],
    'beats-bad-negative.log: ingest_file() quarantines its line (line 1, field version)');

SELECT is((SELECT ARRAY[ing.res ->> 'status', ing.res ->> 'rows', ing.res ->> 'errors',
                        e.line_no::text, coalesce(e.field, 'NULL'), e.column_no::text]
           FROM ing JOIN vpcflow.ingest_errors e ON e.ingest_id = (ing.res ->> 'ingest_id')::int
           WHERE ing.file = 'otel-negative-too-many-fields.log'),
    ARRAY['loaded_with_errors', '0', '1', '2', 'NULL', '15'],
    'otel-negative-too-many-fields.log: ingest_file() quarantines line 2 at column 15');

-- ------------------------------------------------------------ ingest_file()
-- rows = records with a start time; a record without one (the NAT-gateway
-- custom formats have no start field) is quarantined, not lost.
SELECT is(
    CASE WHEN ing.res ? 'error' THEN ARRAY['ERROR: ' || (ing.res ->> 'error')]
         ELSE ARRAY[ing.res ->> 'status', ing.res ->> 'rows', ing.res ->> 'errors'] END,
    ARRAY[CASE WHEN x.with_start < fx.records THEN 'loaded_with_errors' ELSE 'loaded' END,
          x.with_start::text, (fx.records - x.with_start)::text],
    format('%s: ingest_file() status/rows/errors = %s records with a start time, %s without',
           fx.file, x.with_start, fx.records - x.with_start))
FROM fx
JOIN ing USING (file)
CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE a.actual ->> 'start_time' IS NOT NULL) AS with_start
                    FROM act a WHERE a.file = fx.file) AS x
WHERE NOT fx.negative
ORDER BY fx.file;

SELECT is(
    ARRAY[(SELECT count(*) FROM vpcflow.flows f WHERE f.ingest_id = (ing.res ->> 'ingest_id')::int),
          (SELECT count(*) FROM vpcflow.ingest_errors e WHERE e.ingest_id = (ing.res ->> 'ingest_id')::int
             AND e.field = 'start' AND e.message LIKE 'record has no start time%'),
          (SELECT count(*) FROM vpcflow.ingest_errors e WHERE e.ingest_id = (ing.res ->> 'ingest_id')::int
             AND NOT (e.field = 'start' AND e.message LIKE 'record has no start time%'))],
    ARRAY[x.with_start, fx.records - x.with_start, 0],
    format('%s: nothing lost: rows in vpcflow.flows + ''no start time'' quarantined lines = %s records',
           fx.file, fx.records))
FROM fx
JOIN ing USING (file)
CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE a.actual ->> 'start_time' IS NOT NULL) AS with_start
                    FROM act a WHERE a.file = fx.file) AS x
WHERE NOT fx.negative
ORDER BY fx.file;

SELECT is((SELECT array_agg(format('%s %s/%s', ing.file, ing.res ->> 'rows', ing.res ->> 'errors') ORDER BY ing.file)
           FROM ing WHERE ing.file LIKE '%nat-gateway%'),
    ARRAY['beats-custom-nat-gateway-no-version.log 0/2', 'vrl-awsdocs-nat-gateway-custom.log 0/6'],
    'NAT-gateway custom formats (no start field): every record quarantined, none stored');

-- ------------------------------------------------------------ field-by-field
SELECT is(pg_temp.mismatches(exp.expected, a.actual), '{}'::text[],
    format('%s: the %s expected values match (%s)', exp.label,
           (SELECT count(*) FROM jsonb_object_keys(exp.expected)), exp.source))
FROM exp
LEFT JOIN act a ON a.file = exp.file AND a.recno = exp.recno
ORDER BY exp.source, exp.file, exp.recno;

-- SOURCES.md quirk, stated on its own: the 9-digit start is seconds.
SELECT is((SELECT (a.actual ->> 'start_time')::timestamptz FROM act a
           WHERE a.file = 'elastic-integrations-v5-all-fields.log' AND a.recno = 1),
    timestamptz '1975-03-14 03:34:26+00',
    'elastic-integrations-v5-all-fields.log: 9-digit start 164000066 is Unix seconds (1975-03-14)');

-- ------------------------------------------------------------ JSON envelopes
SELECT is(cardinality(messages) > 0, true, 'envelope samples: ' || count(*) OVER () || ' files, each with messages')
FROM envf ORDER BY file LIMIT 1;

SELECT is((SELECT jsonb_agg(r ORDER BY recno) FROM pg_temp.rows_of(envf.content, envf.format)),
          (SELECT jsonb_agg(r ORDER BY recno) FROM pg_temp.rows_of(array_to_string(envf.messages, E'\n'), envf.format)),
    format('%s: parse() of the envelope gives the records of its %s messages', envf.file, cardinality(envf.messages)))
FROM envf ORDER BY envf.file;

SELECT is(
    CASE WHEN envi.res ? 'error' THEN ARRAY['ERROR: ' || (envi.res ->> 'error')]
         ELSE ARRAY[(envi.res ->> 'rows'), (envi.res ->> 'errors')] END,
    ARRAY[x.with_start::text, (cardinality(envf.messages) - x.with_start)::text],
    format('%s: ingest_file() stores the %s records with a start time and quarantines the %s without',
           envf.file, x.with_start, cardinality(envf.messages) - x.with_start))
FROM envf JOIN envi USING (file)
CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE r ->> 'start_time' IS NOT NULL) AS with_start
                    FROM pg_temp.rows_of(array_to_string(envf.messages, E'\n'), envf.format)) AS x
ORDER BY envf.file;

\else

SELECT plan(1);
SELECT skip('the shared fixture corpus is not staged (no vpcflow_fixtures/SOURCES.md in the data directory)', 1);

\endif

SELECT * FROM finish();
ROLLBACK;
