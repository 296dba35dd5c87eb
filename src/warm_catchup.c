/*
 * warm_catchup.c
 *		Compressing a day while it is still written: vpcflow.warm_catch_up().
 *
 * compress_partition builds the warm blocks of a hot partition from the
 * snapshot of the warm_build call, holding no lock that stops writers, so
 * ingest goes on for the minute the build takes.  Only then does it stop
 * writers (EXCLUSIVE on the parent, SHARE on the partition) and call
 * warm_catch_up, which scans the partition once more with a fresh snapshot
 * and sorts every live row into one of two kinds:
 *
 *	- visible to the build's snapshot: it is in the blocks; counted, and the
 *	  count must equal what the build wrote, else a row was deleted or
 *	  updated meanwhile and the step fails (to be retried) rather than keep
 *	  a stale copy;
 *	- not visible to it: committed during the build; copied into the warm
 *	  partition's side table, where late rows live until the next fold.
 *
 * The build's snapshot stays registered from warm_build to warm_catch_up
 * (so the xmin it needs is not pruned meanwhile) and is released at the
 * latest when the transaction ends.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "warm.h"

PG_FUNCTION_INFO_V1(vpcflow_warm_catch_up);

/* The snapshot of this transaction's last warm_build of a heap, and its source. */
static Snapshot build_snapshot = NULL;
static Oid	build_source = InvalidOid;
static bool callback_registered = false;

static void
forget_build_snapshot(bool release)
{
	if (build_snapshot != NULL && release)
		UnregisterSnapshotFromOwner(build_snapshot, TopTransactionResourceOwner);
	build_snapshot = NULL;
	build_source = InvalidOid;
}

/*
 * Before commit, release a snapshot no catch-up took (a fold, or a build
 * called by hand), so the resource owner does not report a leak; on abort
 * the resource owner has released it already.
 */
static void
warm_catchup_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PARALLEL_PRE_COMMIT ||
		event == XACT_EVENT_PRE_PREPARE)
		forget_build_snapshot(true);
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		forget_build_snapshot(false);
}

void
warm_remember_build_snapshot(Oid source, Snapshot snapshot)
{
	if (!callback_registered)
	{
		RegisterXactCallback(warm_catchup_xact_callback, NULL);
		callback_registered = true;
	}
	forget_build_snapshot(true);
	build_snapshot = RegisterSnapshotOnOwner(snapshot, TopTransactionResourceOwner);
	build_source = source;
}

/* Row addresses are passed as the text of a tid[] literal. */
static void
append_tid(StringInfo buf, ItemPointer tid, bool first)
{
	appendStringInfo(buf, "%s\"(%u,%u)\"", first ? "" : ",",
					 ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid));
}

/*
 * vpcflow.warm_catch_up(source regclass, side regclass, built bigint)
 *		RETURNS bigint
 *
 * The caller holds locks that stop writers of source.  Copies the rows of
 * source committed after this transaction's warm_build of it into side, and
 * returns how many; errors if the rows the build saw are no longer all
 * there (built of them).
 */
Datum
vpcflow_warm_catch_up(PG_FUNCTION_ARGS)
{
	Oid			source = PG_GETARG_OID(0);
	Oid			side = PG_GETARG_OID(1);
	int64		built = PG_GETARG_INT64(2);
	Relation	rel;
	Snapshot	now;
	TableScanDesc scan;
	TupleTableSlot *slot;
	int64		kept = 0;
	int64		added = 0;
	StringInfoData tids;
	StringInfoData sql;
	TupleDesc	desc;

	if (build_snapshot == NULL || build_source != source)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						errmsg("no warm build of relation %u in this transaction to catch up with",
							   source)));

	rel = table_open(source, ShareLock);
	now = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, now, 0, NULL);
	slot = table_slot_create(rel, NULL);
	initStringInfo(&tids);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		CHECK_FOR_INTERRUPTS();
		if (table_tuple_satisfies_snapshot(rel, slot, build_snapshot))
			kept++;
		else
			append_tid(&tids, &slot->tts_tid, added++ == 0);
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(now);

	if (kept != built)
		ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						errmsg("rows of %s changed while it was compressed: %lld were built, %lld are still there",
							   RelationGetRelationName(rel), (long long) built, (long long) kept),
						errhint("Nothing was changed; the next maintenance pass compresses it again.")));

	if (added > 0)
	{
		/* by column name: the side table and the partition may differ in attnums */
		desc = RelationGetDescr(rel);
		initStringInfo(&sql);
		appendStringInfo(&sql, "INSERT INTO %s (", quote_qualified_identifier(
							 get_namespace_name(get_rel_namespace(side)), get_rel_name(side)));
		for (int a = 0, n = 0; a < desc->natts; a++)
			if (!TupleDescAttr(desc, a)->attisdropped)
				appendStringInfo(&sql, "%s%s", n++ ? ", " : "",
								 quote_identifier(NameStr(TupleDescAttr(desc, a)->attname)));
		appendStringInfoString(&sql, ") SELECT ");
		for (int a = 0, n = 0; a < desc->natts; a++)
			if (!TupleDescAttr(desc, a)->attisdropped)
				appendStringInfo(&sql, "%s%s", n++ ? ", " : "",
								 quote_identifier(NameStr(TupleDescAttr(desc, a)->attname)));
		appendStringInfo(&sql, " FROM %s WHERE ctid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.tid[])",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													RelationGetRelationName(rel)));
		{
			Oid			argtypes[1] = {TEXTOID};
			Datum		args[1];

			/* a text literal, cast to tid[] by the statement */
			args[0] = CStringGetTextDatum(psprintf("{%s}", tids.data));
			SPI_connect();
			if (SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not copy rows written during the build into the side table");
			if ((int64) SPI_processed != added)
				elog(ERROR, "copied " UINT64_FORMAT " rows written during the build, expected %lld",
					 SPI_processed, (long long) added);
			SPI_finish();
		}
	}
	table_close(rel, NoLock);
	forget_build_snapshot(true);
	PG_RETURN_INT64(added);
}
