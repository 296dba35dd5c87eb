-- Bulk loads of many files in one transaction (vpcflow-load; docs/bulk_load.md).
-- Between begin_bulk_load() and end_bulk_load(), the partitions that the
-- transaction's ingest_file / ingest_data calls create stay unattached, so
-- later files of the same day fill the same unindexed heap; end_bulk_load()
-- attaches them, building their indexes once by sorting.  Each file still
-- loads exactly once through vpcflow.ingest_log, in this transaction.
-- backfill => true: days the loads create that are already past
-- hot_window are made warm at once (partition_for(ts, backfill => true));
-- their rows go to the day's side table, without indexes, and the next
-- maintenance pass folds them into blocks (docs/bulk_load.md, Backfill).
CREATE FUNCTION vpcflow.begin_bulk_load(backfill boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'vpcflow_begin_bulk_load'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vpcflow.end_bulk_load()
RETURNS integer
AS 'MODULE_PATHNAME', 'vpcflow_end_bulk_load'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION vpcflow.begin_bulk_load(boolean) IS
    'Until vpcflow.end_bulk_load(), partitions this transaction''s loads create stay unattached and keep filling; backfill => true makes days past hot_window warm at once.';
COMMENT ON FUNCTION vpcflow.end_bulk_load() IS
    'Attach the partitions this transaction''s loads created (building their indexes); returns how many.';

REVOKE EXECUTE ON FUNCTION vpcflow.begin_bulk_load(boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.end_bulk_load() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vpcflow.begin_bulk_load(boolean) TO vpcflow_writer;
GRANT EXECUTE ON FUNCTION vpcflow.end_bulk_load() TO vpcflow_writer;
