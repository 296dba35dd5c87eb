-- Rollups: flows aggregated per minute, hour and day by account, VPC,
-- subnet, interface, direction, action, log status, protocol, service port,
-- address family, remote class, AWS service and cost path, with exact
-- counters and the mergeable sketch states of the aggregates (top remotes,
-- distinct remote addresses and destination ports).  refresh_rollups()
-- folds in every committed file of vpcflow.ingest_log exactly once.
-- Documentation: docs/dashboards.md.

-- Policy and classification settings (one row).
CREATE TABLE vpcflow.rollup_settings (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- how long each grain is kept (expire_rollups); hours and days outlive raw data
    minute_retention   interval NOT NULL DEFAULT '3 days',
    hour_retention     interval NOT NULL DEFAULT '400 days',
    day_retention      interval NOT NULL DEFAULT '5 years',
    -- destination ports counted as services besides 0..1023; any other
    -- port is 'ephemeral' (service_port -1).  Applies to files rolled up
    -- after a change.
    -- refresh_rollups merges a backlog in statements of about this many rows
    refresh_chunk_rows bigint NOT NULL DEFAULT 1000000 CHECK (refresh_chunk_rows > 0),
    service_ports      integer[] NOT NULL DEFAULT '{1433,1521,2049,2181,2375,2376,2379,3000,3306,3389,5432,5439,5601,5671,5672,5900,6379,6443,7000,8000,8080,8443,8888,9000,9042,9092,9200,9300,11211,27017}',
    CHECK (minute_retention > interval '0' AND hour_retention >= minute_retention
           AND day_retention >= hour_retention)
);
INSERT INTO vpcflow.rollup_settings DEFAULT VALUES;
SELECT pg_catalog.pg_extension_config_dump('vpcflow.rollup_settings', '');

-- Price per GB (10^9 bytes) by cost path, for the egress cost dashboard.
-- Bytes of egress flows are charged; charge_ingress also charges the
-- ingress side (cross-AZ traffic is billed in both directions).
CREATE TABLE vpcflow.egress_prices (
    path           text PRIMARY KEY,
    usd_per_gb     numeric NOT NULL CHECK (usd_per_gb >= 0),
    charge_ingress boolean NOT NULL DEFAULT false,
    description    text
);
INSERT INTO vpcflow.egress_prices VALUES
    ('internet',      0.09,  false, 'data transfer out to the internet'),
    ('nat_gateway',   0.045, false, 'NAT gateway data processing'),
    ('cross_az',      0.01,  true,  'between availability zones, each direction'),
    ('inter_region',  0.02,  false, 'to another region (inter-region peering, other regions'' services)'),
    ('peering',       0.01,  false, 'VPC peering in the region'),
    ('vpn',           0.09,  false, 'out through a virtual private gateway'),
    ('endpoint',      0.01,  false, 'through a VPC endpoint'),
    ('aws_service',   0,     false, 'to AWS services in the region'),
    ('local_gateway', 0,     false, 'through a local gateway'),
    ('intra_az',      0,     false, 'within one availability zone'),
    ('internal',      0,     false, 'internal, availability zones unknown');
SELECT pg_catalog.pg_extension_config_dump('vpcflow.egress_prices', '');

-- The three grains share one layout.  Keys may be NULL (unknown): the
-- unique key treats NULLs as equal, so each combination has one row.
DO $rollups$
DECLARE
    g text;
BEGIN
    FOREACH g IN ARRAY ARRAY['1m', '1h', '1d'] LOOP
        EXECUTE format($sql$
            CREATE TABLE vpcflow.rollup_%1$s (
                bucket        timestamptz NOT NULL,
                account_id    vpcflow.awsid,
                vpc_id        vpcflow.awsid,
                subnet_id     vpcflow.awsid,
                interface_id  vpcflow.awsid,
                direction     vpcflow.flow_direction,
                action        vpcflow.flow_action,
                log_status    vpcflow.log_status,
                protocol      smallint,
                service_port  integer,
                ip_family     smallint,
                remote_class  text,
                aws_service   text,
                path          text,
                flows         bigint NOT NULL,
                accepts       bigint NOT NULL,
                rejects       bigint NOT NULL,
                packets       bigint NOT NULL,
                bytes         bigint NOT NULL,
                unattributed  bigint NOT NULL,
                first_start   timestamptz,
                last_end      timestamptz,
                top_remotes   vpcflow.topk_state,
                remote_addrs  vpcflow.hll,
                dst_ports     vpcflow.hll,
                CONSTRAINT rollup_%1$s_key UNIQUE NULLS NOT DISTINCT
                    (bucket, interface_id, account_id, vpc_id, subnet_id, direction, action,
                     log_status, protocol, service_port, ip_family, remote_class, aws_service, path)
            );
            SELECT pg_catalog.pg_extension_config_dump('vpcflow.rollup_%1$s', '');
        $sql$, g);
    END LOOP;
END
$rollups$;
-- VPC-level summaries (no interface or service port; hourly keeps the
-- subnet, for volume baselines per subnet): small enough
-- for month-long dashboards; interfaces counts the distinct interfaces.
DO $rollups$
DECLARE
    g text;
BEGIN
    FOREACH g IN ARRAY ARRAY['1h', '1d'] LOOP
        EXECUTE format($sql$
            CREATE TABLE vpcflow.rollup_vpc_%1$s (
                bucket        timestamptz NOT NULL,
                account_id    vpcflow.awsid,
                vpc_id        vpcflow.awsid,
                %2$s
                direction     vpcflow.flow_direction,
                action        vpcflow.flow_action,
                log_status    vpcflow.log_status,
                protocol      smallint,
                ip_family     smallint,
                remote_class  text,
                aws_service   text,
                path          text,
                flows         bigint NOT NULL,
                accepts       bigint NOT NULL,
                rejects       bigint NOT NULL,
                packets       bigint NOT NULL,
                bytes         bigint NOT NULL,
                unattributed  bigint NOT NULL,
                first_start   timestamptz,
                last_end      timestamptz,
                remote_addrs  vpcflow.hll,
                dst_ports     vpcflow.hll,
                interfaces    vpcflow.hll,
                CONSTRAINT rollup_vpc_%1$s_key UNIQUE NULLS NOT DISTINCT
                    (bucket, account_id, vpc_id, %3$s direction, action, log_status, protocol,
                     ip_family, remote_class, aws_service, path)
            );
            SELECT pg_catalog.pg_extension_config_dump('vpcflow.rollup_vpc_%1$s', '');
        $sql$, g, CASE g WHEN '1h' THEN 'subnet_id vpcflow.awsid,' ELSE '' END,
               CASE g WHEN '1h' THEN 'subnet_id,' ELSE '' END);
    END LOOP;
END
$rollups$;
COMMENT ON TABLE vpcflow.rollup_vpc_1h IS 'Flows per hour and VPC/subnet-level key (no interface, port)';
COMMENT ON TABLE vpcflow.rollup_vpc_1d IS 'Flows per UTC day and VPC-level key (no interface, subnet, port)';
COMMENT ON TABLE vpcflow.rollup_1m IS 'Flows per minute and key, with mergeable sketch states (docs/dashboards.md)';
COMMENT ON TABLE vpcflow.rollup_1h IS 'Flows per hour and key: the minute rollup merged';
COMMENT ON TABLE vpcflow.rollup_1d IS 'Flows per UTC day and key: the minute rollup merged';
-- dashboards filter VPCs over a time range
CREATE INDEX rollup_1h_vpc_idx ON vpcflow.rollup_1h (vpc_id, bucket);
CREATE INDEX rollup_1d_vpc_idx ON vpcflow.rollup_1d (vpc_id, bucket);

-- Files folded into the rollups: one row per vpcflow.ingest_log entry,
-- written in the transaction that merged its rows, so a file is counted
-- exactly once.  latency_counts: the file's flows by delivery latency
-- (ingest finished_at - end_time), bucketed by vpcflow.latency_bounds().
CREATE TABLE vpcflow.rollup_progress (
    ingest_id      integer PRIMARY KEY,
    rolled_up_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    ingested_at    timestamptz,
    rows           bigint,
    min_start      timestamptz,
    max_start      timestamptz,
    latency_counts bigint[]
);
CREATE INDEX rollup_progress_ingested_idx ON vpcflow.rollup_progress (ingested_at);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.rollup_progress', '');

-- Upper bounds (seconds) of the delivery latency buckets; the last bucket
-- is open.
CREATE FUNCTION vpcflow.latency_bounds() RETURNS double precision[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT '{60,120,180,300,450,600,900,1200,1800,2700,3600,7200,14400,43200,86400}'::double precision[]
$fn$;

-- The p-quantile (0..1) of a latency histogram: the upper bound of the
-- bucket where the cumulative count reaches p; Infinity in the open last
-- bucket (beyond a day); NULL when empty.
CREATE FUNCTION vpcflow.latency_quantile(counts numeric[], p double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE WHEN min(c.i) IS NOT NULL
                THEN coalesce((vpcflow.latency_bounds())[min(c.i)], 'Infinity'::float8) END
    FROM (SELECT u.i, sum(u.n) OVER (ORDER BY u.i) AS cum,
                 sum(u.n) OVER () AS total
          FROM unnest(counts) WITH ORDINALITY AS u(n, i)) c
    WHERE c.total > 0 AND c.cum >= p * c.total
$fn$;

-- Subnets with their VPC and availability zone (aws ec2 describe-subnets
-- JSON) as prefix set 'subnets' (history kept as for every set): name =
-- subnet id, owner = account, region, attrs {vpc_id, az_id, az}.  The
-- rollups use it for the VPC and subnet of records without them (v2) and
-- to tell cross-AZ traffic.
CREATE FUNCTION vpcflow.load_subnets(doc jsonb, valid_from timestamptz DEFAULT pg_catalog.now(),
                                     set_name text DEFAULT 'subnets',
                                     OUT inserted bigint, OUT closed bigint, OUT kept bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF jsonb_typeof(doc -> 'Subnets') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'not a describe-subnets document: no "Subnets" array'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT r.inserted, r.closed, r.kept INTO inserted, closed, kept
    FROM vpcflow.replace_prefix_set(set_name, ARRAY(
        SELECT ROW(c.cidr::vpcflow.ipprefix, s ->> 'SubnetId', s ->> 'OwnerId', 'subnet',
                   coalesce(s ->> 'Region', regexp_replace(s ->> 'AvailabilityZone', '[a-z]$', '')),
                   NULL, NULL, NULL, NULL,
                   jsonb_strip_nulls(jsonb_build_object('vpc_id', s ->> 'VpcId',
                                                        'az_id', s ->> 'AvailabilityZoneId',
                                                        'az', s ->> 'AvailabilityZone')))
               ::vpcflow.prefix_entry
        FROM jsonb_array_elements(doc -> 'Subnets') s
        CROSS JOIN LATERAL (
            SELECT s ->> 'CidrBlock'
            UNION ALL
            SELECT a ->> 'Ipv6CidrBlock'
            FROM jsonb_array_elements(coalesce(s -> 'Ipv6CidrBlockAssociationSet', '[]')) a
        ) AS c(cidr)
        WHERE c.cidr IS NOT NULL AND s ->> 'SubnetId' IS NOT NULL), valid_from) r;
END
$fn$;

-- The condition on f.start_time that covers the rows of files ids (from
-- rollup_progress): one range per run of files whose time ranges overlap
-- or lie within an hour of each other, as constants so that partition
-- pruning and BRIN apply; NULL when none of the files has rows.  Shared by
-- refresh_rollups and refresh_detection_rollups.
CREATE FUNCTION vpcflow.rollup_time_filter(ids integer[])
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ranges text[] := '{}';
    lo timestamptz;
    hi timestamptz;
    r record;
BEGIN
    FOR r IN SELECT p.min_start, p.max_start FROM vpcflow.rollup_progress p
             WHERE p.ingest_id = ANY (ids) AND p.min_start IS NOT NULL ORDER BY p.min_start LOOP
        IF lo IS NULL THEN
            lo := r.min_start; hi := r.max_start;
        ELSIF r.min_start <= hi + interval '1 hour' THEN
            hi := greatest(hi, r.max_start);
        ELSE
            ranges := ranges || format('(f.start_time >= %L AND f.start_time <= %L)', lo, hi);
            lo := r.min_start; hi := r.max_start;
        END IF;
    END LOOP;
    IF lo IS NULL THEN
        RETURN NULL;
    END IF;
    ranges := ranges || format('(f.start_time >= %L AND f.start_time <= %L)', lo, hi);
    RETURN '(' || array_to_string(ranges, ' OR ') || ')';
END
$fn$;

-- The per-row classification, as SQL text over a row source "f" with the
-- store's columns (used by refresh_rollups; kept here so that docs and
-- code say the same).  @internal(x)@ expands to the internal-address test.
CREATE FUNCTION vpcflow.rollup_source_sql(time_filter text, ids integer[])
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q text;
    internal text := '(vpcflow.is_private_address(%1$s)'
                     ' OR vpcflow.lpm_id(''interfaces'', %1$s, %2$s) IS NOT NULL'
                     ' OR vpcflow.lpm_id(''inventory'', %1$s, %2$s) IS NOT NULL'
                     ' OR vpcflow.lpm_id(''subnets'', %1$s, %2$s) IS NOT NULL)';
BEGIN
    q := format($q$
    SELECT c.*,
           -- the cost path of the bytes
           CASE WHEN c.remote_addr IS NULL THEN NULL
                WHEN c.interface_type = 'nat_gateway' OR c.next_hop_interface_type = 'nat_gateway'
                    THEN 'nat_gateway'
                WHEN c.traffic_path = 5 THEN 'inter_region'
                WHEN c.traffic_path = 4 THEN 'peering'
                WHEN c.traffic_path = 3 THEN 'vpn'
                WHEN c.traffic_path = 6 THEN 'local_gateway'
                WHEN c.traffic_path = 7 THEN 'endpoint'
                WHEN c.remote_class = 'internet' THEN 'internet'
                WHEN c.remote_class = 'aws' THEN
                    CASE WHEN c.aws_region IS NOT NULL AND c.region IS NOT NULL
                              AND c.aws_region <> c.region AND c.aws_region <> 'GLOBAL'
                         THEN 'inter_region' ELSE 'aws_service' END
                WHEN c.local_az IS NOT NULL AND c.remote_az IS NOT NULL THEN
                    CASE WHEN c.local_az = c.remote_az THEN 'intra_az' ELSE 'cross_az' END
                ELSE 'internal' END AS path
    FROM (
        SELECT b.*,
               CASE WHEN b.remote_addr IS NULL THEN NULL
                    WHEN b.remote_internal THEN 'internal'
                    WHEN b.aws_service IS NOT NULL THEN 'aws'
                    ELSE 'internet' END AS remote_class,
               coalesce(b.flow_vpc_id, ls.vpc_id::vpcflow.awsid) AS vpc_id,
               coalesce(b.flow_subnet_id, ls.subnet_id::vpcflow.awsid) AS subnet_id,
               coalesce(b.az_id, ls.az_id) AS local_az,
               rs.az_id AS remote_az
        FROM (
            SELECT a.*,
                   CASE WHEN a.remote_addr IS NULL THEN NULL
                        WHEN a.remote_addr = a.srcaddr AND a.si IS NOT NULL THEN a.si
                        WHEN a.remote_addr = a.dstaddr AND a.di IS NOT NULL THEN a.di
                        ELSE %3$s END AS remote_internal,
                   vpcflow.lpm_attr('aws', a.remote_addr, a.start_time, 'service') AS aws_service,
                   vpcflow.lpm_attr('aws', a.remote_addr, a.start_time, 'region') AS aws_region,
                   vpcflow.lpm_id('subnets', a.local_addr, a.start_time) AS local_subnet,
                   vpcflow.lpm_id('subnets', a.remote_addr, a.start_time) AS remote_subnet,
                   (coalesce(vpcflow.lpm_attr('interfaces', a.srcaddr, a.start_time, 'owner'),
                             vpcflow.lpm_attr('inventory', a.srcaddr, a.start_time, 'owner')) IS NULL
                    AND coalesce(vpcflow.lpm_attr('interfaces', a.dstaddr, a.start_time, 'owner'),
                                 vpcflow.lpm_attr('inventory', a.dstaddr, a.start_time, 'owner')) IS NULL)
                       AS unattributed
            FROM (
                SELECT d.*,
                       CASE d.direction::text WHEN 'ingress' THEN d.srcaddr WHEN 'egress' THEN d.dstaddr
                            ELSE CASE WHEN d.si THEN d.dstaddr ELSE d.srcaddr END END AS remote_addr,
                       CASE d.direction::text WHEN 'ingress' THEN d.dstaddr WHEN 'egress' THEN d.srcaddr
                            ELSE CASE WHEN d.si THEN d.srcaddr ELSE d.dstaddr END END AS local_addr
                FROM (
                    SELECT e.*,
                           coalesce(e.flow_direction,
                                    CASE WHEN e.si AND NOT e.di THEN 'egress'::vpcflow.flow_direction
                                         WHEN e.di AND NOT e.si THEN 'ingress'::vpcflow.flow_direction
                                    END) AS direction
                    FROM (
                        SELECT f.account_id, f.interface_id, f.vpc_id AS flow_vpc_id,
                               f.subnet_id AS flow_subnet_id, f.srcaddr, f.dstaddr, f.srcport,
                               f.dstport, f.protocol, f.action, f.log_status, f.packets, f.bytes,
                               f.start_time, f.end_time, f.flow_direction, f.traffic_path,
                               f.region, f.az_id, f.interface_type, f.next_hop_interface_type,
                               CASE WHEN f.flow_direction IS NULL AND f.srcaddr IS NOT NULL
                                    THEN %1$s END AS si,
                               CASE WHEN f.flow_direction IS NULL AND f.dstaddr IS NOT NULL
                                    THEN %2$s END AS di
                        FROM vpcflow.flows f
                        WHERE %4$s AND f.ingest_id = ANY (%5$L::integer[])
                        OFFSET 0) e
                    OFFSET 0) d
                OFFSET 0) a
            OFFSET 0) b
        LEFT JOIN vpcflow.rollup_subnets ls ON ls.id = b.local_subnet
        LEFT JOIN vpcflow.rollup_subnets rs ON rs.id = b.remote_subnet
        OFFSET 0) c
    $q$,
        format(internal, 'f.srcaddr', 'f.start_time'),
        format(internal, 'f.dstaddr', 'f.start_time'),
        format(internal, 'a.remote_addr', 'a.start_time'),
        time_filter, ids);
    RETURN q;
END
$fn$;

-- The 'subnets' prefix set's attributes by entry id.
CREATE VIEW vpcflow.rollup_subnets WITH (security_invoker = true) AS
SELECT p.id, p.name AS subnet_id, p.attrs ->> 'vpc_id' AS vpc_id, p.attrs ->> 'az_id' AS az_id
FROM vpcflow.prefixes p
WHERE p.set_name = 'subnets';

-- Fold the files loaded since the last call into the rollups.
--
-- Exactly once: a file's rows and its ingest_log entry commit together, so
-- a committed entry means all its rows are visible.  The entries not yet in
-- rollup_progress are claimed (inserted there) and their rows merged into
-- the three grains in this one transaction: if it commits, they are counted
-- once; if it fails, nothing is.  Callers are serialized by a lock on
-- rollup_progress, and each statement sees files committed meanwhile, in
-- any order (READ COMMITTED is required for that).  Only the claimed files'
-- rows are read: each run of files with overlapping time ranges is one
-- range scan (partition pruning, BRIN) filtered by ingest_id.
CREATE FUNCTION vpcflow.refresh_rollups(max_files integer DEFAULT NULL,
                                        OUT files integer, OUT flows bigint,
                                        OUT minute_rows bigint, OUT hour_rows bigint,
                                        OUT day_rows bigint, OUT vpc_hour_rows bigint,
                                        OUT vpc_day_rows bigint, OUT seconds double precision)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET work_mem = '128MB'
AS $fn$
DECLARE
    time_filter text;
    t0 timestamptz := clock_timestamp();
    ids integer[];
    with_rows integer[];
    ports integer[];
    chunk record;
    n record;
    chunk_ids integer[];
    chunk_rows bigint;
    src text;
    keys text := 'interface_id, account_id, vpc_id, subnet_id, direction, action, log_status, '
                 'protocol, service_port, ip_family, remote_class, aws_service, path';
    merge_set text := 'flows = r.flows + excluded.flows, accepts = r.accepts + excluded.accepts, '
        'rejects = r.rejects + excluded.rejects, packets = r.packets + excluded.packets, '
        'bytes = r.bytes + excluded.bytes, unattributed = r.unattributed + excluded.unattributed, '
        'first_start = least(r.first_start, excluded.first_start), '
        'last_end = greatest(r.last_end, excluded.last_end), '
        'top_remotes = coalesce(vpcflow.topk_union(r.top_remotes, excluded.top_remotes), '
        'r.top_remotes, excluded.top_remotes), '
        'remote_addrs = coalesce(vpcflow.hll_union(r.remote_addrs, excluded.remote_addrs), '
        'r.remote_addrs, excluded.remote_addrs), '
        'dst_ports = coalesce(vpcflow.hll_union(r.dst_ports, excluded.dst_ports), '
        'r.dst_ports, excluded.dst_ports)';
    merged text := 'sum(flows)::bigint, sum(accepts)::bigint, sum(rejects)::bigint, '
        'sum(packets)::bigint, sum(bytes)::bigint, sum(unattributed)::bigint, '
        'min(first_start), max(last_end), vpcflow.topk_merge(top_remotes), '
        'vpcflow.hll_merge(remote_addrs), vpcflow.hll_merge(dst_ports)';
    -- the VPC tables keep no top-k (merging it into few, large groups was
    -- the costliest part of a refresh, and the dashboards take top
    -- remotes from the interface-level tables)
    merge_set_vpc text := replace(merge_set,
        'top_remotes = coalesce(vpcflow.topk_union(r.top_remotes, excluded.top_remotes), '
        'r.top_remotes, excluded.top_remotes), ', '');
    merged_vpc text := replace(merged, 'vpcflow.topk_merge(top_remotes), ', '');
BEGIN
    files := 0; flows := 0; minute_rows := 0; hour_rows := 0; day_rows := 0;
    vpc_hour_rows := 0; vpc_day_rows := 0;
    PERFORM vpcflow.refuse_on_coordinator('vpcflow.refresh_rollups()');  -- docs/scaleout.md
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'vpcflow.refresh_rollups() must run at READ COMMITTED isolation'
            USING ERRCODE = 'invalid_transaction_state',
                  DETAIL = 'It must see the files committed while it waited for another refresh.';
    END IF;
    IF max_files IS NOT NULL AND max_files < 1 THEN
        RAISE EXCEPTION 'max_files must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- one refresh at a time; readers are not blocked
    LOCK TABLE vpcflow.rollup_progress IN SHARE ROW EXCLUSIVE MODE;

    WITH claimed AS (
        INSERT INTO vpcflow.rollup_progress (ingest_id, ingested_at, rows, min_start, max_start)
        SELECT l.ingest_id, l.finished_at, l.rows, l.min_start, l.max_start
        FROM vpcflow.ingest_log l
        WHERE l.status IN ('loaded', 'loaded_with_errors')
          AND NOT EXISTS (SELECT 1 FROM vpcflow.rollup_progress p WHERE p.ingest_id = l.ingest_id)
        ORDER BY l.ingest_id
        LIMIT max_files
        ON CONFLICT (ingest_id) DO NOTHING
        RETURNING ingest_id, rows, min_start)
    SELECT array_agg(c.ingest_id ORDER BY c.ingest_id),
           array_agg(c.ingest_id ORDER BY c.ingest_id) FILTER (WHERE c.rows > 0 AND c.min_start IS NOT NULL)
      INTO ids, with_rows FROM claimed c;
    files := coalesce(cardinality(ids), 0);
    IF with_rows IS NULL THEN
        seconds := extract(epoch FROM clock_timestamp() - t0);
        RETURN;
    END IF;

    SELECT s.service_ports, s.refresh_chunk_rows INTO ports, chunk_rows FROM vpcflow.rollup_settings s;
    -- Chunks of files in time order, about chunk_rows rows each, each merged
    -- by one statement: sorts and memory stay bounded however long the
    -- backlog, and all of it is still one transaction.
    FOR chunk IN
        SELECT array_agg(x.ingest_id ORDER BY x.min_start, x.ingest_id) AS ids
        FROM (SELECT p.ingest_id, p.min_start,
                     (sum(p.rows) OVER (ORDER BY p.min_start, p.ingest_id) - p.rows) / chunk_rows AS chunk
              FROM vpcflow.rollup_progress p WHERE p.ingest_id = ANY (with_rows)) x
        GROUP BY x.chunk ORDER BY x.chunk
    LOOP
        chunk_ids := chunk.ids;
        -- every file of a chunk has rows (with_rows): the filter is not NULL
        time_filter := vpcflow.rollup_time_filter(chunk_ids);
        src := vpcflow.rollup_source_sql(time_filter, chunk_ids);

        EXECUTE format($q$
            WITH delta AS MATERIALIZED (
                SELECT date_bin('1 minute', s.start_time, timestamptz '2000-01-01 00:00:00+00') AS bucket,
                       s.interface_id, s.account_id, s.vpc_id, s.subnet_id, s.direction, s.action,
                       s.log_status, s.protocol,
                       CASE WHEN s.dstport IS NULL THEN NULL
                            WHEN s.dstport <= 1023 OR s.dstport = ANY (%1$L::integer[]) THEN s.dstport
                            WHEN s.srcport <= 1023 OR s.srcport = ANY (%1$L::integer[]) THEN s.srcport
                            ELSE -1 END AS service_port,
                       CASE WHEN s.remote_addr IS NOT NULL THEN family(s.remote_addr)::smallint END AS ip_family,
                       s.remote_class, s.aws_service, s.path,
                       count(*) AS flows,
                       count(*) FILTER (WHERE s.action OPERATOR(vpcflow.=) 'ACCEPT'::vpcflow.flow_action) AS accepts,
                       count(*) FILTER (WHERE s.action OPERATOR(vpcflow.=) 'REJECT'::vpcflow.flow_action) AS rejects,
                       coalesce(sum(s.packets), 0)::bigint AS packets,
                       coalesce(sum(s.bytes), 0)::bigint AS bytes,
                       count(*) FILTER (WHERE s.unattributed) AS unattributed,
                       min(s.start_time) AS first_start, max(s.end_time) AS last_end,
                       vpcflow.topk(s.remote_addr, s.bytes, 10, 100) AS top_remotes,
                       vpcflow.hll(s.remote_addr, 12) AS remote_addrs,
                       vpcflow.hll(s.dstport, 12) AS dst_ports
                FROM (%2$s) s
                GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14),
            m AS (
                INSERT INTO vpcflow.rollup_1m AS r (bucket, %4$s, %6$s) SELECT * FROM delta
                ON CONFLICT ON CONSTRAINT rollup_1m_key DO UPDATE SET %3$s
                RETURNING 1),
            h AS (
                INSERT INTO vpcflow.rollup_1h AS r (bucket, %4$s, %6$s)
                SELECT date_bin('1 hour', bucket, timestamptz '2000-01-01 00:00:00+00'), %4$s, %5$s
                FROM delta GROUP BY 1, %4$s
                ON CONFLICT ON CONSTRAINT rollup_1h_key DO UPDATE SET %3$s
                RETURNING 1),
            d AS (
                INSERT INTO vpcflow.rollup_1d AS r (bucket, %4$s, %6$s)
                SELECT date_bin('1 day', bucket, timestamptz '2000-01-01 00:00:00+00'), %4$s, %5$s
                FROM delta GROUP BY 1, %4$s
                ON CONFLICT ON CONSTRAINT rollup_1d_key DO UPDATE SET %3$s
                RETURNING 1),
            vh AS (
                INSERT INTO vpcflow.rollup_vpc_1h AS r (bucket, subnet_id, %7$s, %11$s, interfaces)
                SELECT date_bin('1 hour', bucket, timestamptz '2000-01-01 00:00:00+00'), subnet_id, %7$s, %10$s,
                       vpcflow.hll(interface_id::text, 12)
                FROM delta GROUP BY 1, subnet_id, %7$s
                ON CONFLICT ON CONSTRAINT rollup_vpc_1h_key DO UPDATE SET %9$s, %8$s
                RETURNING 1),
            vd AS (
                INSERT INTO vpcflow.rollup_vpc_1d AS r (bucket, %7$s, %11$s, interfaces)
                SELECT date_bin('1 day', bucket, timestamptz '2000-01-01 00:00:00+00'), %7$s, %10$s,
                       vpcflow.hll(interface_id::text, 12)
                FROM delta GROUP BY 1, %7$s
                ON CONFLICT ON CONSTRAINT rollup_vpc_1d_key DO UPDATE SET %9$s, %8$s
                RETURNING 1)
            SELECT (SELECT coalesce(sum(delta.flows), 0)::bigint FROM delta) AS f,
                   (SELECT count(*) FROM m) AS m, (SELECT count(*) FROM h) AS h,
                   (SELECT count(*) FROM d) AS d, (SELECT count(*) FROM vh) AS vh,
                   (SELECT count(*) FROM vd) AS vd
        $q$, ports, src, merge_set, keys, merged,
           'flows, accepts, rejects, packets, bytes, unattributed, first_start, last_end, '
           'top_remotes, remote_addrs, dst_ports',
           'account_id, vpc_id, direction, action, log_status, protocol, ip_family, remote_class, '
           'aws_service, path',
           'interfaces = coalesce(vpcflow.hll_union(r.interfaces, excluded.interfaces), '
           'r.interfaces, excluded.interfaces)',
           merge_set_vpc, merged_vpc,
           'flows, accepts, rejects, packets, bytes, unattributed, first_start, last_end, '
           'remote_addrs, dst_ports')
        INTO n;

        -- Delivery latency per file, for the on-call dashboard.
        EXECUTE format($q$
            UPDATE vpcflow.rollup_progress p SET latency_counts = x.counts
            FROM (SELECT h.ingest_id,
                         array_agg(coalesce(n.count, 0) ORDER BY b.i) AS counts
                  FROM (SELECT DISTINCT u FROM unnest(%1$L::integer[]) u) AS h(ingest_id)
                  CROSS JOIN generate_series(1, cardinality(vpcflow.latency_bounds()) + 1) AS b(i)
                  LEFT JOIN (
                      SELECT f.ingest_id,
                             width_bucket(extract(epoch FROM l.finished_at - f.end_time)::float8,
                                          array_prepend('-Infinity'::float8, vpcflow.latency_bounds())) AS i,
                             count(*) AS count
                      FROM vpcflow.flows f
                      JOIN vpcflow.ingest_log l ON l.ingest_id = f.ingest_id
                      WHERE %2$s AND f.ingest_id = ANY (%1$L::integer[]) AND f.end_time IS NOT NULL
                      GROUP BY 1, 2) n ON n.ingest_id = h.ingest_id AND n.i = b.i
                  GROUP BY h.ingest_id) x
            WHERE p.ingest_id = x.ingest_id
        $q$, chunk_ids, time_filter);
        -- the detection baselines' per-minute inputs (src/detection_rollup.sql)
        PERFORM vpcflow.refresh_detection_rollups(chunk_ids);
        flows := flows + n.f; minute_rows := minute_rows + n.m; hour_rows := hour_rows + n.h;
        day_rows := day_rows + n.d; vpc_hour_rows := vpc_hour_rows + n.vh; vpc_day_rows := vpc_day_rows + n.vd;
    END LOOP;

    seconds := extract(epoch FROM clock_timestamp() - t0);
END
$fn$;

-- Drop rollup rows older than the policy (rollup_settings) allows, as of
-- "at".  Raw data has its own, shorter retention.
CREATE FUNCTION vpcflow.expire_rollups(at timestamptz DEFAULT pg_catalog.now(),
                                       OUT minute_rows bigint, OUT hour_rows bigint,
                                       OUT day_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s vpcflow.rollup_settings;
BEGIN
    PERFORM vpcflow.refuse_on_coordinator('vpcflow.expire_rollups()');  -- docs/scaleout.md
    SELECT * INTO s FROM vpcflow.rollup_settings;
    DELETE FROM vpcflow.rollup_1m WHERE bucket < at - s.minute_retention;
    GET DIAGNOSTICS minute_rows = ROW_COUNT;
    DELETE FROM vpcflow.rollup_1h WHERE bucket < at - s.hour_retention;
    GET DIAGNOSTICS hour_rows = ROW_COUNT;
    DELETE FROM vpcflow.rollup_vpc_1h WHERE bucket < at - s.hour_retention;
    DELETE FROM vpcflow.rollup_1d WHERE bucket < at - s.day_retention;
    GET DIAGNOSTICS day_rows = ROW_COUNT;
    DELETE FROM vpcflow.rollup_vpc_1d WHERE bucket < at - s.day_retention;
    PERFORM vpcflow.expire_detection_rollups(at);
END
$fn$;

-- Files committed but not yet rolled up (the rollups' lag).
CREATE VIEW vpcflow.rollup_backlog WITH (security_invoker = true) AS
SELECT count(*)::bigint AS files,
       coalesce(sum(l.rows), 0)::bigint AS rows,
       min(l.finished_at) AS oldest_finished_at,
       extract(epoch FROM pg_catalog.now() - min(l.finished_at))::double precision AS lag_seconds
FROM vpcflow.ingest_log l
WHERE l.status IN ('loaded', 'loaded_with_errors')
  AND NOT EXISTS (SELECT 1 FROM vpcflow.rollup_progress p WHERE p.ingest_id = l.ingest_id);

-- Schedule refresh (every minute) and expiry (hourly) with pg_cron, when
-- it is installed in this database.  Returns the job ids.
CREATE FUNCTION vpcflow.schedule_rollups(refresh_schedule text DEFAULT '* * * * *',
                                         expire_schedule text DEFAULT '17 * * * *')
RETURNS SETOF bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Call vpcflow.refresh_rollups() every minute some other way.';
    END IF;
    RETURN QUERY EXECUTE
        'SELECT cron.schedule(''vpcflow-refresh-rollups'', $1, ''SELECT vpcflow.refresh_rollups()'')
         UNION ALL
         SELECT cron.schedule(''vpcflow-expire-rollups'', $2, ''SELECT vpcflow.expire_rollups()'')'
        USING refresh_schedule, expire_schedule;
END
$fn$;

ALTER TABLE vpcflow.rollup_1m OWNER TO vpcflow_admin;
ALTER TABLE vpcflow.rollup_1h OWNER TO vpcflow_admin;
ALTER TABLE vpcflow.rollup_1d OWNER TO vpcflow_admin;
ALTER TABLE vpcflow.rollup_vpc_1h OWNER TO vpcflow_admin;
ALTER TABLE vpcflow.rollup_vpc_1d OWNER TO vpcflow_admin;
ALTER TABLE vpcflow.rollup_progress OWNER TO vpcflow_admin;
ALTER FUNCTION vpcflow.refresh_rollups(integer) OWNER TO vpcflow_admin;
ALTER FUNCTION vpcflow.expire_rollups(timestamptz) OWNER TO vpcflow_admin;
GRANT SELECT ON vpcflow.ingest_log TO vpcflow_admin;
GRANT SELECT ON vpcflow.rollup_1m, vpcflow.rollup_1h, vpcflow.rollup_1d, vpcflow.rollup_progress,
      vpcflow.rollup_vpc_1h, vpcflow.rollup_vpc_1d,
      vpcflow.rollup_settings, vpcflow.egress_prices, vpcflow.rollup_backlog, vpcflow.rollup_subnets
      TO vpcflow_reader, vpcflow_admin;
GRANT UPDATE ON vpcflow.rollup_settings TO vpcflow_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON vpcflow.egress_prices TO vpcflow_admin;
REVOKE EXECUTE ON FUNCTION vpcflow.refresh_rollups(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.rollup_time_filter(integer[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.expire_rollups(timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.schedule_rollups(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.load_subnets(jsonb, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vpcflow.refresh_rollups(integer) TO vpcflow_admin, vpcflow_writer;
GRANT EXECUTE ON FUNCTION vpcflow.expire_rollups(timestamptz) TO vpcflow_admin;
GRANT EXECUTE ON FUNCTION vpcflow.rollup_time_filter(integer[]) TO vpcflow_admin;
GRANT EXECUTE ON FUNCTION vpcflow.load_subnets(jsonb, timestamptz, text) TO vpcflow_admin;

-- Tenant isolation (docs/security.md): rollup rows belong to accounts.
-- Refresh and expiry run as vpcflow_admin (SECURITY DEFINER), whose policy
-- admits every row, so writers need no policy of their own.
SELECT vpcflow.protect_relation(r, writer => 'none')
FROM unnest(ARRAY['vpcflow.rollup_1m', 'vpcflow.rollup_1h', 'vpcflow.rollup_1d',
                  'vpcflow.rollup_vpc_1h', 'vpcflow.rollup_vpc_1d']::regclass[]) r;
