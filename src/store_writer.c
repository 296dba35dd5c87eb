/*
 * store_writer.c
 *		Writing parsed rows into the partitions of vpcflow.flows, in bulk.
 *
 * Rows are buffered per partition and written with table_multi_insert (the
 * path COPY uses), then their index entries; no per-row SQL.  A partition
 * missing for a row's start time is created through vpcflow.partition_for,
 * unattached and without indexes: its heap is filled and attaching it at
 * the end builds the indexes by sorting, much cheaper than row-by-row
 * inserts.  Inside a bulk load (vpcflow.begin_bulk_load) such partitions
 * stay unattached until vpcflow.end_bulk_load, for the transaction's later
 * loads to fill.  Rows are stored without their trailing NULL columns.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tupmacs.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "store_writer.h"
#include "warm.h"

#define BATCH_ROWS		1000	/* rows buffered per partition, as COPY */

/*
 * What forming a tuple needs of an attribute, packed: reading it from the
 * descriptor's pg_attribute rows (over 100 bytes each) for every attribute
 * of every row costs more than the rest of forming a wide GCP row.
 */
typedef struct AttForm
{
	int16		len;			/* attlen */
	char		align;			/* attalign */
	bool		byval;			/* attbyval */
	bool		packable;		/* varlena that may get a 1-byte header */
} AttForm;

/* One destination partition and its insert buffer. */
typedef struct Target
{
	TimestampTz lower;
	TimestampTz upper;
	Oid			relid;
	bool		pending;		/* created by this load, attached at its end */
	Relation	rel;
	ResultRelInfo *rri;
	BulkInsertState bistate;
	int16	   *map;
	int			natts;
	int			min_natts;		/* never drop columns with a missing value */
	TupleDesc  *short_descs;	/* [k]: the descriptor cut to k attributes */
	AttForm    *att;			/* [natts] */
	int16	   *present;		/* scratch: the non-null attributes of a row */
	Datum	   *values;
	bool	   *nulls;
	TupleTableSlot *slots[BATCH_ROWS];
	int			nused;
} Target;

struct StoreWriter
{
	EState	   *estate;
	CommandId	cid;
	MemoryContext batch_cxt;	/* datums of buffered rows */
	Target	   *targets;
	int			ntargets;
	int			maxtargets;
	int			last;			/* target of the previous row */
};

/*
 * Partitions created unattached (partition_for(ts, false)) by the loads of
 * the current transaction and not attached yet.  A load attaches its own
 * at its end, unless the transaction runs a bulk load
 * (vpcflow.begin_bulk_load): then later loads of the transaction keep
 * filling them and vpcflow.end_bulk_load attaches them all, so a day that
 * many files make gets its indexes built once, by sorting, instead of row
 * by row.  An entry made in a subtransaction that aborts goes with it
 * (the table does); committing with entries left is an error.
 */
typedef struct PendingPart
{
	Oid			relid;
	TimestampTz lower;
	TimestampTz upper;
	SubTransactionId subid;		/* where partition_for made it */
} PendingPart;

static PendingPart *pending_parts = NULL;
static int	npending = 0;
static int	maxpending = 0;
static bool bulk_load = false;
static bool bulk_backfill = false;	/* begin_bulk_load(backfill => true) */
static bool callbacks_registered = false;

static void
pending_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (npending > 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("a bulk load left %d new partition(s) of vpcflow.flows unattached", npending),
						 errhint("Call vpcflow.end_bulk_load() before COMMIT.")));
			break;
		default:
			npending = 0;
			bulk_load = false;
			bulk_backfill = false;
			break;
	}
}

static void
pending_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	int			kept = 0;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	/* entries made since the subtransaction began are rolled back with it */
	for (int i = 0; i < npending; i++)
		if (pending_parts[i].subid < mySubid)
			pending_parts[kept++] = pending_parts[i];
	npending = kept;
}

static void
register_pending_callbacks(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(pending_xact_callback, NULL);
	RegisterSubXactCallback(pending_subxact_callback, NULL);
	callbacks_registered = true;
}

static void
remember_pending(Oid relid, TimestampTz lower, TimestampTz upper)
{
	register_pending_callbacks();
	if (npending == maxpending)
	{
		maxpending = maxpending ? maxpending * 2 : 8;
		pending_parts = pending_parts
			? repalloc(pending_parts, sizeof(PendingPart) * maxpending)
			: MemoryContextAlloc(TopMemoryContext, sizeof(PendingPart) * maxpending);
	}
	pending_parts[npending].relid = relid;
	pending_parts[npending].lower = lower;
	pending_parts[npending].upper = upper;
	pending_parts[npending].subid = GetCurrentSubTransactionId();
	npending++;
}

static Target *
open_target(StoreWriter *st, Oid relid, TimestampTz lower, TimestampTz upper, bool pending)
{
	Target	   *t;

	if (st->ntargets == st->maxtargets)
	{
		st->maxtargets *= 2;
		st->targets = repalloc(st->targets, sizeof(Target) * st->maxtargets);
	}
	t = &st->targets[st->ntargets++];
	memset(t, 0, sizeof(Target));
	t->lower = lower;
	t->upper = upper;
	t->relid = relid;
	t->pending = pending;
	t->rel = table_open(relid, RowExclusiveLock);
	t->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(t->rri, t->rel, 1, NULL, 0);
	ExecOpenIndices(t->rri, false);
	t->bistate = GetBulkInsertState();
	t->map = flow_attr_map(RelationGetDescr(t->rel));
	t->natts = RelationGetDescr(t->rel)->natts;
	t->short_descs = palloc0(sizeof(TupleDesc) * (t->natts + 1));
	t->values = palloc(sizeof(Datum) * t->natts);
	t->nulls = palloc(sizeof(bool) * t->natts);
	t->att = palloc(sizeof(AttForm) * t->natts);
	t->present = palloc(sizeof(int16) * t->natts);
	for (int i = 0; i < t->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(t->rel), i);

		if (att->atthasmissing)
			t->min_natts = i + 1;
		t->att[i].len = att->attlen;
		t->att[i].align = att->attalign;
		t->att[i].byval = att->attbyval;
		t->att[i].packable = att->attlen == -1 && att->attstorage != TYPSTORAGE_PLAIN;
	}
	/* slots are made as the buffer first fills, see handle_line */
	return t;
}

/*
 * heap_form_tuple(desc, t->values, t->nulls) for desc, t's descriptor cut
 * to k attributes, byte for byte: the same header, null bitmap, alignment
 * and 1-byte varlena headers (PostgreSQL's heap_compute_data_size and
 * heap_fill_tuple, src/backend/access/common/heaptuple.c), but it reads
 * each attribute's form from t->att and visits the non-null attributes
 * only once they are listed: a GCP row fills a quarter of the store's 92
 * columns.  Rows the store never makes (toasted or expanded values, fixed
 * length by reference, cstrings) take heap_form_tuple itself.
 */
static HeapTuple
form_tuple(Target *t, TupleDesc desc, int k)
{
	const Datum *values = t->values;
	const bool *nulls = t->nulls;
	int16	   *present = t->present;
	int			n = 0;
	Size		len,
				data_len = 0;
	int			hoff;
	HeapTuple	tuple;
	HeapTupleHeader td;
	char	   *data;
	uint16		infomask = 0;

	/* branch-free: a row's nulls follow no pattern the branch could learn */
	for (int i = 0; i < k; i++)
	{
		present[n] = (int16) i;
		n += !nulls[i];
	}
	for (int j = 0; j < n; j++)
	{
		const AttForm *a = &t->att[present[j]];
		Pointer		val = DatumGetPointer(values[present[j]]);

		if (a->byval)
		{
			data_len = att_align_nominal(data_len, a->align);
			data_len += a->len;
		}
		else if (a->len != -1 || VARATT_IS_EXTERNAL(val) || VARATT_IS_COMPRESSED(val))
			return heap_form_tuple(desc, t->values, t->nulls);
		else if (a->packable && VARATT_CAN_MAKE_SHORT(val))
			data_len += VARATT_CONVERTED_SHORT_SIZE(val);
		else if (VARATT_IS_SHORT(val))
			data_len += VARSIZE_SHORT(val);
		else
		{
			data_len = att_align_nominal(data_len, a->align);
			data_len += VARSIZE(val);
		}
	}

	len = offsetof(HeapTupleHeaderData, t_bits);
	if (n < k)
		len += BITMAPLEN(k);
	hoff = len = MAXALIGN(len);
	len += data_len;

	tuple = (HeapTuple) palloc0(HEAPTUPLESIZE + len);
	tuple->t_data = td = (HeapTupleHeader) ((char *) tuple + HEAPTUPLESIZE);
	tuple->t_len = len;
	ItemPointerSetInvalid(&(tuple->t_self));
	tuple->t_tableOid = InvalidOid;
	HeapTupleHeaderSetDatumLength(td, len);
	HeapTupleHeaderSetTypeId(td, desc->tdtypeid);
	HeapTupleHeaderSetTypMod(td, desc->tdtypmod);
	ItemPointerSetInvalid(&(td->t_ctid));
	HeapTupleHeaderSetNatts(td, k);
	td->t_hoff = hoff;

	/* the data, aligned by address as heap_fill_tuple does (hoff is MAXALIGNed) */
	data = (char *) td + hoff;
	if (n < k)
	{
		infomask |= HEAP_HASNULL;
		for (int j = 0; j < n; j++)
			td->t_bits[present[j] >> 3] |= (bits8) (1 << (present[j] & 7));
	}
	for (int j = 0; j < n; j++)
	{
		const AttForm *a = &t->att[present[j]];
		Datum		datum = values[present[j]];
		Size		dl;

		if (a->byval)
		{
			data = (char *) att_align_nominal(data, a->align);
			store_att_byval(data, datum, a->len);
			dl = a->len;
		}
		else
		{
			Pointer		val = DatumGetPointer(datum);

			infomask |= HEAP_HASVARWIDTH;
			if (VARATT_IS_SHORT(val))
			{
				dl = VARSIZE_SHORT(val);
				memcpy(data, val, dl);
			}
			else if (a->packable && VARATT_CAN_MAKE_SHORT(val))
			{
				dl = VARATT_CONVERTED_SHORT_SIZE(val);
				SET_VARSIZE_SHORT(data, dl);
				memcpy(data + 1, VARDATA(val), dl - 1);
			}
			else
			{
				data = (char *) att_align_nominal(data, a->align);
				dl = VARSIZE(val);
				memcpy(data, val, dl);
			}
		}
		data += dl;
	}
	td->t_infomask = infomask;
	Assert(data == (char *) td + len);
#ifdef USE_ASSERT_CHECKING
	{
		HeapTuple	check = heap_form_tuple(desc, t->values, t->nulls);

		Assert(check->t_len == tuple->t_len &&
			   memcmp(check->t_data, tuple->t_data, tuple->t_len) == 0);
		heap_freetuple(check);
	}
#endif
	return tuple;
}

/*
 * Form the row without its trailing NULL columns.  A v2 record fills 15 of
 * the store's 74 columns; stored whole it would carry a 10-byte null bitmap
 * and a 40-byte header, cut short it has no bitmap and a 24-byte header.
 * PostgreSQL reads attributes past a tuple's end as NULL (as it does for
 * rows older than an ALTER TABLE ADD COLUMN), so nothing changes for
 * readers; columns that carry a missing value are never cut.
 */
static HeapTuple
form_short_tuple(Target *t)
{
	int			k = t->natts;

	while (k > t->min_natts && t->nulls[k - 1])
		k--;
	if (t->short_descs[k] == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(t->short_descs));
		TupleDesc	d = CreateTupleDescCopy(RelationGetDescr(t->rel));

		/*
		 * An anonymous record type: the row type of the table has all its
		 * attributes, and the datum header is overwritten on insert anyway.
		 */
		d->natts = k;
		d->tdtypeid = RECORDOID;
		d->tdtypmod = -1;
		t->short_descs[k] = d;
		MemoryContextSwitchTo(old);
	}
	return form_tuple(t, t->short_descs[k], k);
}

/*
 * The partition for ts, from vpcflow.partition_for.  A partition it has to
 * create comes back unattached and without indexes (attach => false): the
 * load fills its heap and attach_pending() builds the indexes afterwards.
 * Returns -1 when the load already uses vpcflow.max_partitions_per_load.
 */
static int
find_target(StoreWriter *st, TimestampTz ts)
{
	Oid			argtypes[2] = {TIMESTAMPTZOID, BOOLOID};
	Datum		args[2];
	bool		isnull;
	Oid			relid;
	TimestampTz lower,
				upper;
	bool		attached;

	if (st->last >= 0 && ts >= st->targets[st->last].lower && ts < st->targets[st->last].upper)
		return st->last;
	for (int i = 0; i < st->ntargets; i++)
		if (ts >= st->targets[i].lower && ts < st->targets[i].upper)
			return st->last = i;
	/* bound what one file can make us open, create and lock */
	if (st->ntargets >= vpcflow_max_partitions_per_load)
		return -1;
	/* made by an earlier load of this bulk load, still unattached */
	for (int i = 0; i < npending; i++)
		if (ts >= pending_parts[i].lower && ts < pending_parts[i].upper)
		{
			open_target(st, pending_parts[i].relid, pending_parts[i].lower,
						pending_parts[i].upper, true);
			return st->last = st->ntargets - 1;
		}

	args[0] = TimestampTzGetDatum(ts);
	args[1] = BoolGetDatum(bulk_backfill);
	if (SPI_execute_with_args("SELECT partition::oid, lower_bound, upper_bound, attached "
							  "FROM vpcflow.partition_for($1, false, $2)",
							  2, argtypes, args, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "vpcflow.partition_for(%s) returned no partition",
			 timestamptz_to_str(ts));
	relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	lower = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	upper = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	attached = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	/*
	 * a warm partition (docs/warm.md) takes late rows in its side table;
	 * so does a day a backfill has just made warm
	 */
	if (get_rel_relkind(relid) == RELKIND_FOREIGN_TABLE)
	{
		WarmPartInfo warm;

		if (!warm_lookup_partition(relid, &warm, true))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("partition \"%s\" of vpcflow.flows is a foreign table but not a warm partition",
							get_rel_name(relid))));
		relid = warm.side_relid;
	}
	open_target(st, relid, lower, upper, !attached);
	if (!attached)
		remember_pending(relid, lower, upper);
	return st->last = st->ntargets - 1;
}

/* Write every buffered row: heap first, then its index entries. */
static void
flush_all(StoreWriter *st)
{
	for (int i = 0; i < st->ntargets; i++)
	{
		Target	   *t = &st->targets[i];

		if (t->nused == 0)
			continue;
		table_multi_insert(t->rel, t->slots, t->nused, st->cid, 0, t->bistate);
		if (t->rri->ri_NumIndices > 0)
			for (int k = 0; k < t->nused; k++)
			{
				List	   *recheck = ExecInsertIndexTuples(t->rri, t->slots[k], st->estate,
															false, false, NULL, NIL);

				list_free(recheck);
			}
		for (int k = 0; k < t->nused; k++)
			ExecClearTuple(t->slots[k]);
		t->nused = 0;
	}
	ResetPerTupleExprContext(st->estate);
	MemoryContextReset(st->batch_cxt);
}

static void
close_targets(StoreWriter *st)
{
	for (int i = 0; i < st->ntargets; i++)
	{
		Target	   *t = &st->targets[i];

		for (int k = 0; k < BATCH_ROWS && t->slots[k] != NULL; k++)
			ExecDropSingleTupleTableSlot(t->slots[k]);
		FreeBulkInsertState(t->bistate);
		ExecCloseIndices(t->rri);
		table_finish_bulk_insert(t->rel, 0);
		table_close(t->rel, NoLock);
	}
}

/*
 * Attach the pending partitions (all of the transaction's).  ATTACH builds
 * their indexes with a sort; give that sort room, for this step only.
 * Returns how many were attached.
 */
static int
attach_pending(void)
{
	Oid			types[3] = {OIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	int			nestlevel = NewGUCNestLevel();
	int			n = 0;

	if (maintenance_work_mem < 256 * 1024)
		(void) set_config_option("maintenance_work_mem", "256MB", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	while (npending > 0)
	{
		PendingPart *p = &pending_parts[0];
		Datum		args[3];

		args[0] = ObjectIdGetDatum(p->relid);
		args[1] = TimestampTzGetDatum(p->lower);
		args[2] = TimestampTzGetDatum(p->upper);
		if (SPI_execute_with_args("SELECT vpcflow.attach_partition($1::regclass, $2, $3)",
								  3, types, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not attach a new partition of vpcflow.flows");
		memmove(&pending_parts[0], &pending_parts[1], sizeof(PendingPart) * (npending - 1));
		npending--;
		n++;
	}
	AtEOXact_GUC(true, nestlevel);
	return n;
}

StoreWriter *
store_writer_begin(void)
{
	StoreWriter *st = palloc0(sizeof(StoreWriter));

	st->estate = CreateExecutorState();
	st->cid = GetCurrentCommandId(true);
	st->batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "vpcflow ingest batch",
										  ALLOCSET_DEFAULT_SIZES);
	st->maxtargets = 4;
	st->targets = palloc(sizeof(Target) * st->maxtargets);
	st->last = -1;
	return st;
}

bool
store_writer_add(StoreWriter *st, TimestampTz start, const FlowParser *parser,
				 const FlowRow *row, int32 ingest_id)
{
	int			target = find_target(st, start);
	Target	   *t;
	TupleTableSlot *slot;
	MemoryContext old;

	if (target < 0)
		return false;
	t = &st->targets[target];
	if (t->slots[t->nused] == NULL)
		t->slots[t->nused] = MakeSingleTupleTableSlot(RelationGetDescr(t->rel), &TTSOpsHeapTuple);
	slot = t->slots[t->nused];
	ExecClearTuple(slot);
	old = MemoryContextSwitchTo(st->batch_cxt);
	flow_fill_tuple(parser, row, t->map, t->natts, ingest_id, t->values, t->nulls);
	ExecStoreHeapTuple(form_short_tuple(t), slot, false);
	MemoryContextSwitchTo(old);
	if (++t->nused == BATCH_ROWS)
		flush_all(st);
	return true;
}

void
store_writer_finish(StoreWriter *st)
{
	flush_all(st);
	close_targets(st);
	if (!bulk_load)
		(void) attach_pending();
	FreeExecutorState(st->estate);
	MemoryContextDelete(st->batch_cxt);
}

/*
 * vpcflow.begin_bulk_load(backfill boolean): the loads that follow in this
 * transaction leave the partitions they create unattached, for later loads
 * of the transaction to fill, until vpcflow.end_bulk_load() attaches them.
 * With backfill, days already past hot_window are made warm instead, their
 * rows written to the day's side table (no index at all).
 */
PG_FUNCTION_INFO_V1(vpcflow_begin_bulk_load);
Datum
vpcflow_begin_bulk_load(PG_FUNCTION_ARGS)
{
	if (!IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("vpcflow.begin_bulk_load() can only be used in a transaction block")));
	register_pending_callbacks();
	bulk_load = true;
	bulk_backfill = !PG_ARGISNULL(0) && PG_GETARG_BOOL(0);
	PG_RETURN_VOID();
}

/*
 * vpcflow.end_bulk_load(): attach the partitions the transaction's loads
 * created (building their indexes), end the bulk load; returns how many.
 * Not under a savepoint: rolling it back would undo the attaching after
 * the list was emptied, and leave the tables unattached at commit.
 */
PG_FUNCTION_INFO_V1(vpcflow_end_bulk_load);
Datum
vpcflow_end_bulk_load(PG_FUNCTION_ARGS)
{
	int			n;

	if (GetCurrentTransactionNestLevel() > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("vpcflow.end_bulk_load() cannot run inside a savepoint or exception block")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = attach_pending();
	SPI_finish();
	bulk_load = false;
	bulk_backfill = false;
	PG_RETURN_INT32(n);
}
