-- The store: vpcflow.flows, range-partitioned on start_time, one typed
-- column per flow-log field (see vpcflow.fields()), then the values of
-- unknown header columns (extra) and the file the row came from.

CREATE TABLE vpcflow.settings (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- fixed-length intervals only: partitions are aligned with date_bin
    partition_interval interval NOT NULL DEFAULT '1 day'
        CHECK (partition_interval >= interval '1 hour'
               AND extract(month FROM partition_interval) = 0
               AND extract(year FROM partition_interval) = 0)
);
INSERT INTO vpcflow.settings DEFAULT VALUES;
SELECT pg_catalog.pg_extension_config_dump('vpcflow.settings', '');

-- Column order: the v2 fields, with the small fixed-width ones placed so
-- that an IPv4 row needs no alignment padding, and ingest_id before the
-- optional fields, so that a row whose later fields are all NULL is stored
-- short, without them (see form_short_tuple in store_writer.c): a v2 row
-- takes 112 bytes with its header.  provider (1 byte) sits in the
-- alignment gap before srcport, so AWS rows, which always fill it, keep
-- that size; the GCP and Azure columns come last (docs/providers.md).
CREATE TABLE vpcflow.flows (
    -- v2: the default format
    version                      smallint,
    account_id                   vpcflow.awsid,
    interface_id                 vpcflow.awsid,
    srcaddr                      inet,
    dstaddr                      inet,
    -- aws | gcp | azure-nsg | azure-vnet (docs/providers.md)
    provider                     vpcflow.cloud_provider NOT NULL DEFAULT 'aws',
    srcport                      integer,
    dstport                      integer,
    protocol                     smallint,
    action                       vpcflow.flow_action,
    log_status                   vpcflow.log_status,
    -- the vpcflow.ingest_log entry of the file the row came from
    ingest_id                    integer,
    packets                      bigint,
    bytes                        bigint,
    start_time                   timestamptz NOT NULL,
    end_time                     timestamptz,
    -- v3
    vpc_id                       vpcflow.awsid,
    subnet_id                    vpcflow.awsid,
    instance_id                  vpcflow.awsid,
    tcp_flags                    smallint,
    type                         text,
    pkt_srcaddr                  inet,
    pkt_dstaddr                  inet,
    -- v4
    region                       text,
    az_id                        text,
    sublocation_type             text,
    sublocation_id               text,
    -- v5
    pkt_src_aws_service          text,
    pkt_dst_aws_service          text,
    flow_direction               vpcflow.flow_direction,
    traffic_path                 smallint,
    -- v7: ECS
    ecs_cluster_arn              text,
    ecs_cluster_name             text,
    ecs_container_instance_arn   text,
    ecs_container_instance_id    text,
    ecs_container_id             text,
    ecs_second_container_id      text,
    ecs_service_name             text,
    ecs_task_definition_arn      text,
    ecs_task_arn                 text,
    ecs_task_id                  text,
    -- v8 and later
    reject_reason                text,
    resource_id                  vpcflow.awsid,
    encryption_status            smallint,
    instance_tag                 text,
    instance_tag_2               text,
    interface_tag                text,
    interface_tag_2              text,
    asg_tag                      text,
    asg_tag_2                    text,
    interface_type               text,
    next_hop_interface_id        vpcflow.awsid,
    next_hop_subnet_id           vpcflow.awsid,
    next_hop_az_id               text,
    next_hop_vpc_id              vpcflow.awsid,
    next_hop_interface_type      text,
    -- transit gateway flow logs
    resource_type                text,
    tgw_id                       vpcflow.awsid,
    tgw_attachment_id            vpcflow.awsid,
    tgw_src_vpc_account_id       vpcflow.awsid,
    tgw_dst_vpc_account_id       vpcflow.awsid,
    tgw_src_vpc_id               vpcflow.awsid,
    tgw_dst_vpc_id               vpcflow.awsid,
    tgw_src_subnet_id            vpcflow.awsid,
    tgw_dst_subnet_id            vpcflow.awsid,
    tgw_src_eni                  vpcflow.awsid,
    tgw_dst_eni                  vpcflow.awsid,
    tgw_src_az_id                text,
    tgw_dst_az_id                text,
    tgw_pair_attachment_id       vpcflow.awsid,
    packets_lost_no_route        bigint,
    packets_lost_blackhole       bigint,
    packets_lost_mtu_exceeded    bigint,
    packets_lost_ttl_expired     bigint,
    -- GCP and Azure (docs/providers.md): dst -> src counters of a
    -- bidirectional record, Azure flow state (B, C, E, D) and rule, GCP
    -- round-trip time and DSCP
    reverse_packets              bigint,
    reverse_bytes                bigint,
    flow_state                   text,
    rule_name                    text,
    rtt_msec                     bigint,
    dscp                         smallint,
    -- values of header columns vpcflow does not know, by column name, and
    -- the GCP / Azure fields without a column (docs/providers.md)
    extra                        jsonb,
    -- GCP: the peer, the end that is not the reporter: its instance and
    -- VPC, or the location of an address outside them (docs/providers.md);
    -- after extra, so that no other row stores them
    peer_account_id              vpcflow.awsid,
    peer_instance_id             vpcflow.awsid,
    peer_vpc_id                  vpcflow.awsid,
    peer_subnet_id               vpcflow.awsid,
    peer_region                  text,
    peer_az_id                   text,
    peer_asn                     bigint,
    peer_country                 text,
    peer_continent               text,
    peer_geo_region              text,
    peer_city                    text
) PARTITION BY RANGE (start_time);

COMMENT ON TABLE vpcflow.flows IS
    'Flow-log records, one row per record, range-partitioned on start_time.';

-- Indexes (see the README's measurements): BRIN on time inside each
-- partition, and btree on the addresses (btree deduplicates repeated
-- addresses and serves prefix searches through inet's << support).
CREATE INDEX flows_start_time_brin ON vpcflow.flows USING brin (start_time);
CREATE INDEX flows_srcaddr_idx ON vpcflow.flows (srcaddr);
CREATE INDEX flows_dstaddr_idx ON vpcflow.flows (dstaddr);

-- Partitions with their bounds, read from the catalog so that partitions
-- created or dropped by hand are seen too.
CREATE VIEW vpcflow.partitions AS
SELECT c.oid::regclass AS partition,
       b[1]::timestamptz AS lower_bound,
       b[2]::timestamptz AS upper_bound,
       pg_catalog.pg_total_relation_size(c.oid) AS total_bytes
FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
CROSS JOIN LATERAL pg_catalog.regexp_match(
    pg_catalog.pg_get_expr(c.relpartbound, c.oid),
    $re$FROM \('([^']*)'\) TO \('([^']*)'\)$re$) AS b
WHERE i.inhparent = 'vpcflow.flows'::regclass;

-- The partition holding ts, created when missing.  A new partition is
-- made as a plain table and then attached, which locks vpcflow.flows in
-- SHARE UPDATE EXCLUSIVE mode only, so queries and other loads go on.
-- Its range is the partition_interval bucket of ts, clipped to the gap
-- between existing partitions (the interval may have changed since they
-- were made), so backfilled or late data always finds a home.
--
-- attach => false is for bulk loads: the new table is returned unattached
-- and without indexes, with a CHECK constraint on its bounds; the loader
-- fills it and calls vpcflow.attach_partition, which builds the indexes by
-- sorting (much cheaper than row-by-row inserts) and skips the validation
-- scan thanks to the constraint.  Creators are serialized by a
-- transaction-level advisory lock, so a concurrent loader waits for the
-- attach instead of creating an overlapping table.
--
-- backfill => true is for loading history (docs/bulk_load.md, Backfill):
-- a partition it has to create whose end is already past hot_window is
-- made warm at once (vpcflow.create_warm_partition, attached, whatever
-- attach says), since maintenance would compress a hot one at its next
-- pass anyway.
CREATE FUNCTION vpcflow.partition_for(ts timestamptz, attach boolean DEFAULT true,
                                      backfill boolean DEFAULT false)
RETURNS TABLE (partition regclass, lower_bound timestamptz, upper_bound timestamptz,
               attached boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    step interval;
    lo timestamptz;
    hi timestamptz;
    name text;
BEGIN
    IF ts IS NULL OR NOT isfinite(ts) THEN
        RAISE EXCEPTION 'no partition for start_time %', ts
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY SELECT p.partition, p.lower_bound, p.upper_bound, true
        FROM vpcflow.partitions p WHERE ts >= p.lower_bound AND ts < p.upper_bound;
    IF FOUND THEN
        RETURN;
    END IF;

    -- one creator at a time per interval bucket (bulk loads hold the lock
    -- until they commit; other days need not wait): whoever waited finds
    -- the partition made.  Buckets of one step never overlap.
    SELECT s.partition_interval INTO step FROM vpcflow.settings s;
    PERFORM pg_advisory_xact_lock(hashtext('vpcflow.partition_for'),
        hashtext(extract(epoch FROM date_bin(step, ts, timestamptz '2000-01-01 00:00:00+00'))::text));
    PERFORM vpcflow.refuse_on_coordinator('loading flows');  -- docs/scaleout.md
    RETURN QUERY SELECT p.partition, p.lower_bound, p.upper_bound, true
        FROM vpcflow.partitions p WHERE ts >= p.lower_bound AND ts < p.upper_bound;
    IF FOUND THEN
        RETURN;
    END IF;

    SELECT s.partition_interval INTO step FROM vpcflow.settings s;
    lo := date_bin(step, ts, timestamptz '2000-01-01 00:00:00+00');
    hi := lo + step;
    SELECT greatest(lo, max(p.upper_bound)) INTO lo
        FROM vpcflow.partitions p WHERE p.upper_bound > lo AND p.upper_bound <= ts;
    SELECT least(hi, min(p.lower_bound)) INTO hi
        FROM vpcflow.partitions p WHERE p.lower_bound < hi AND p.lower_bound > ts;

    name := 'flows_p' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMMDD');
    IF hi - lo <> interval '1 day' OR (lo AT TIME ZONE 'UTC')::time <> time '00:00' THEN
        name := name || to_char(lo AT TIME ZONE 'UTC', '"_"HH24MISS');
    END IF;
    IF backfill AND EXISTS (SELECT 1 FROM vpcflow.settings s
                            WHERE s.warm AND hi <= now() - s.hot_window) THEN
        RETURN QUERY SELECT vpcflow.create_warm_partition(name, lo, hi), lo, hi, true;
        RETURN;
    END IF;
    EXECUTE format('CREATE TABLE vpcflow.%I (LIKE vpcflow.flows INCLUDING DEFAULTS '
                   'INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)', name);
    -- readers reach partitions only through vpcflow.flows, whose row-level
    -- security then applies: no grants, whatever default privileges say
    EXECUTE format('REVOKE ALL ON vpcflow.%I FROM PUBLIC, vpcflow_reader, vpcflow_writer', name);
    IF attach THEN
        EXECUTE format('ALTER TABLE vpcflow.flows ATTACH PARTITION vpcflow.%I FOR VALUES FROM (%L) TO (%L)',
                       name, lo, hi);
    ELSE
        EXECUTE format('ALTER TABLE vpcflow.%I ADD CONSTRAINT vpcflow_pending_bounds '
                       'CHECK (start_time >= %L AND start_time < %L)', name, lo, hi);
    END IF;
    RETURN QUERY SELECT format('vpcflow.%I', name)::regclass, lo, hi, attach;
END
$fn$;

-- Attach a table made by partition_for(ts, attach => false).
CREATE FUNCTION vpcflow.attach_partition(part regclass, lower_bound timestamptz,
                                         upper_bound timestamptz)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint c
                   JOIN pg_class r ON r.oid = c.conrelid
                   WHERE c.conrelid = part AND c.conname = 'vpcflow_pending_bounds'
                     AND r.relnamespace = 'vpcflow'::regnamespace AND NOT r.relispartition) THEN
        RAISE EXCEPTION '% is not a pending vpcflow partition', part
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('ALTER TABLE vpcflow.flows ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)',
                   part, lower_bound, upper_bound);
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT vpcflow_pending_bounds', part);
END
$fn$;

-- Make sure partitions exist for [from_ts, to_ts); returns how many were created.
CREATE FUNCTION vpcflow.ensure_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ts timestamptz := from_ts;
    before integer;
    hi timestamptz;
BEGIN
    SELECT count(*) INTO before FROM vpcflow.partitions;
    WHILE ts < to_ts LOOP
        SELECT p.upper_bound INTO hi FROM vpcflow.partition_for(ts) p;
        ts := hi;
    END LOOP;
    RETURN (SELECT count(*) FROM vpcflow.partitions) - before;
END
$fn$;
