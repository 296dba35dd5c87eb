/*
 * warm_build.c
 *		Building warm blocks from heap rows: vpcflow.warm_build().
 *
 * Rows are read an hour of start_time at a time, ordered by srcaddr and
 * then start_time, and cut into blocks of up to block_rows rows; every
 * block thus covers at most one hour (a one-hour query decodes only that
 * hour), and within the hour the srcaddr ranges of blocks barely overlap,
 * so a point lookup by source address reads one or two blocks per hour.
 * Each block records its row count and the min/max of start_time,
 * srcaddr and dstaddr in vpcflow.warm_blocks, where the scan skips on
 * them.
 *
 * Columns are taken generically from the relation's TupleDesc (see
 * warm_col_type), in the layout registered in vpcflow.warm_partitions.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "access/xact.h"
#include "utils/timestamp.h"

#include "warm.h"

PG_FUNCTION_INFO_V1(vpcflow_warm_build);

WarmColType
warm_col_type(Form_pg_attribute att)
{
	WarmColType t;

	t.typlen = att->attlen;
	t.typbyval = att->attbyval;
	t.width = 0;
	if (att->attbyval && (att->attlen == 1 || att->attlen == 2 ||
						  att->attlen == 4 || att->attlen == 8))
	{
		t.kind = WC_INT;
		t.width = (uint8) att->attlen;
	}
	else if (att->attlen == -1 || (att->attlen > 0 && !att->attbyval))
		t.kind = WC_BYTES;
	else
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" of type %s cannot be stored in warm blocks",
						NameStr(att->attname), format_type_be(att->atttypid))));
	return t;
}

static void *
palloc_cb(void *ctx, size_t size)
{
	if (size > MaxAllocSize)
		return palloc_extended(size, MCXT_ALLOC_HUGE);
	return palloc(size);
}

static const WcAlloc palloc_alloc = {palloc_cb, NULL};

const WcAlloc *
warm_palloc_allocator(void)
{
	return &palloc_alloc;
}

bool
warm_lookup_partition(Oid relid, WarmPartInfo *info, bool fresh)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	MemoryContext caller = CurrentMemoryContext;
	bool		found = false;

	/* (parallel workers cannot take a new snapshot, and never need to) */
	fresh = fresh && !IsInParallelMode();
	if (fresh)
		PushActiveSnapshot(GetLatestSnapshot());
	SPI_connect();
	if (SPI_execute_with_args("SELECT side_table::oid, array_length(columns, 1), "
							  "array_to_string(columns, ','), rows "
							  "FROM vpcflow.warm_partitions WHERE partition = $1::regclass",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vpcflow.warm_partitions");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *names;
		MemoryContext old;

		info->side_relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		info->ncols = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		info->rows = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		if (isnull)
			info->rows = 0;
		names = SPI_getvalue(tup, desc, 3);
		old = MemoryContextSwitchTo(caller);
		info->columns = palloc(sizeof(char *) * Max(info->ncols, 1));
		{
			char	   *copy = pstrdup(names);
			int			n = 0;

			/* column names are identifiers made by the store: no commas */
			for (char *tok = strtok(copy, ","); tok && n < info->ncols; tok = strtok(NULL, ","))
				info->columns[n++] = tok;
			if (n != info->ncols)
				elog(ERROR, "bad column list in vpcflow.warm_partitions");
		}
		MemoryContextSwitchTo(old);
		found = true;
	}
	SPI_finish();
	if (fresh)
		PopActiveSnapshot();
	return found;
}

/* One layout column while building. */
typedef struct BuildCol
{
	int			attno;			/* in the source's SPI result, 1-based */
	WarmColType type;
	bool	   *nulls;
	int64	   *ints;
	const uint8 **ptrs;
	uint32	   *lens;
} BuildCol;

typedef struct Builder
{
	Oid			target;
	int			ncols;
	BuildCol   *cols;
	int			time_col;		/* layout index of start_time */
	int			src_col;		/* of srcaddr, or -1 */
	int			dst_col;		/* of dstaddr, or -1 */
	int			block_rows;
	int			next_block;
	SPIPlanPtr	insert_plan;
	int64		rows;
	int64		bytes;
	int			blocks;
	MemoryContext block_cxt;
} Builder;

static int
layout_index(WarmPartInfo *info, const char *name)
{
	for (int i = 0; i < info->ncols; i++)
		if (strcmp(info->columns[i], name) == 0)
			return i;
	return -1;
}

/* min and max (network order) of an inet column; false when all NULL */
static bool
inet_range(const Datum *rv, const bool *rn, int ncols, uint64 n, int col, Datum *lo, Datum *hi)
{
	bool		any = false;

	for (uint64 r = 0; r < n; r++)
	{
		Datum		d = rv[r * ncols + col];

		if (rn[r * ncols + col])
			continue;
		if (!any)
		{
			*lo = *hi = d;
			any = true;
			continue;
		}
		if (DatumGetInt32(DirectFunctionCall2(network_cmp, d, *lo)) < 0)
			*lo = d;
		if (DatumGetInt32(DirectFunctionCall2(network_cmp, d, *hi)) > 0)
			*hi = d;
	}
	return any;
}

/* Encode the rows of one SPI fetch as a block and store it. */
static void
emit_block(Builder *b, SPITupleTable *tt, uint64 n)
{
	MemoryContext old = MemoryContextSwitchTo(b->block_cxt);
	WcColumnIn *in = palloc(sizeof(WcColumnIn) * b->ncols);
	char		err[256];
	size_t		len;
	uint8	   *blk;
	bytea	   *data;
	Datum		args[10];
	char		nulls[10];
	TimestampTz tmin = PG_INT64_MAX,
				tmax = PG_INT64_MIN;
	Datum	   *rv;
	bool	   *rn;

	/* deform each row once (getattr per column would be quadratic) */
	rv = palloc(sizeof(Datum) * n * b->ncols);
	rn = palloc(sizeof(bool) * n * b->ncols);

	for (uint64 r = 0; r < n; r++)
		heap_deform_tuple(tt->vals[r], tt->tupdesc, rv + r * b->ncols, rn + r * b->ncols);
	for (int c = 0; c < b->ncols; c++)
	{
		BuildCol   *col = &b->cols[c];

		col->nulls = palloc(sizeof(bool) * n);
		if (col->type.kind == WC_INT)
			col->ints = palloc(sizeof(int64) * n);
		else
		{
			col->ptrs = palloc(sizeof(uint8 *) * n);
			col->lens = palloc(sizeof(uint32) * n);
		}
		for (uint64 r = 0; r < n; r++)
		{
			bool		isnull = rn[r * b->ncols + c];
			Datum		d = rv[r * b->ncols + c];

			col->nulls[r] = isnull;
			if (isnull)
			{
				if (col->type.kind == WC_INT)
					col->ints[r] = 0;
				else
				{
					col->ptrs[r] = NULL;
					col->lens[r] = 0;
				}
				continue;
			}
			if (col->type.kind == WC_INT)
			{
				switch (col->type.width)
				{
					case 1:
						col->ints[r] = (int8) DatumGetChar(d);
						break;
					case 2:
						col->ints[r] = DatumGetInt16(d);
						break;
					case 4:
						col->ints[r] = DatumGetInt32(d);
						break;
					default:
						col->ints[r] = DatumGetInt64(d);
						break;
				}
			}
			else if (col->type.typlen == -1)
			{
				struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));

				col->ptrs[r] = (const uint8 *) VARDATA_ANY(v);
				col->lens[r] = VARSIZE_ANY_EXHDR(v);
			}
			else
			{
				col->ptrs[r] = (const uint8 *) DatumGetPointer(d);
				col->lens[r] = col->type.typlen;
			}
		}
		in[c].kind = col->type.kind;
		in[c].width = col->type.width;
		in[c].nulls = col->nulls;
		in[c].ints = col->ints;
		in[c].ptrs = col->ptrs;
		in[c].lens = col->lens;
	}
	for (uint64 r = 0; r < n; r++)
	{
		int64		t = b->cols[b->time_col].ints[r];

		if (b->cols[b->time_col].nulls[r])
			elog(ERROR, "row without start_time");
		tmin = Min(tmin, t);
		tmax = Max(tmax, t);
	}
	blk = wc_encode_block(in, b->ncols, (uint32) n, 3, warm_palloc_allocator(), &len,
						  err, sizeof(err));
	if (blk == NULL)
		elog(ERROR, "could not encode a warm block: %s", err);
	data = palloc(VARHDRSZ + len);
	SET_VARSIZE(data, VARHDRSZ + len);
	memcpy(VARDATA(data), blk, len);

	memset(nulls, ' ', sizeof(nulls));
	args[0] = ObjectIdGetDatum(b->target);
	args[1] = Int32GetDatum(b->next_block++);
	args[2] = TimestampTzGetDatum(tmin);
	args[3] = TimestampTzGetDatum(tmax);
	args[4] = args[5] = args[6] = args[7] = (Datum) 0;
	if (b->src_col < 0 || !inet_range(rv, rn, b->ncols, n, b->src_col, &args[4], &args[5]))
		nulls[4] = nulls[5] = 'n';
	if (b->dst_col < 0 || !inet_range(rv, rn, b->ncols, n, b->dst_col, &args[6], &args[7]))
		nulls[6] = nulls[7] = 'n';
	args[8] = Int32GetDatum((int32) n);
	args[9] = PointerGetDatum(data);
	if (SPI_execute_plan(b->insert_plan, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store a warm block");
	b->rows += n;
	b->bytes += len;
	b->blocks++;
	MemoryContextSwitchTo(old);
	MemoryContextReset(b->block_cxt);
}

/*
 * vpcflow.warm_build(source regclass, target regclass, lower timestamptz,
 *                    upper timestamptz, block_rows integer) RETURNS bigint
 *
 * Compress the rows of source with start_time in [lower, upper) into new
 * blocks of the warm partition target; returns the number of rows.
 */
Datum
vpcflow_warm_build(PG_FUNCTION_ARGS)
{
	Oid			source = PG_GETARG_OID(0);
	Oid			target = PG_GETARG_OID(1);
	TimestampTz lower = PG_GETARG_TIMESTAMPTZ(2);
	TimestampTz upper = PG_GETARG_TIMESTAMPTZ(3);
	int32		block_rows = PG_GETARG_INT32(4);
	WarmPartInfo info;
	Builder		b;
	StringInfoData sql;
	Relation	rel;
	TupleDesc	desc;
	int			nestlevel;
	Oid			ins_types[10] = {OIDOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	INETOID, INETOID, INETOID, INETOID, INT4OID, BYTEAOID};
	bool		isnull;

	if (block_rows < 1 || block_rows > WC_MAX_ROWS)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("block_rows must be between 1 and %d", WC_MAX_ROWS)));
	if (!warm_lookup_partition(target, &info, true))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("relation with OID %u is not a vpcflow warm partition", target)));

	memset(&b, 0, sizeof(b));
	b.target = target;
	b.ncols = info.ncols;
	b.cols = palloc0(sizeof(BuildCol) * info.ncols);
	b.block_rows = block_rows;
	b.time_col = layout_index(&info, "start_time");
	b.src_col = layout_index(&info, "srcaddr");
	b.dst_col = layout_index(&info, "dstaddr");
	if (b.time_col < 0)
		elog(ERROR, "warm layout has no start_time column");

	/* the source's columns, by name, in layout order */
	rel = relation_open(source, AccessShareLock);
	desc = RelationGetDescr(rel);
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int c = 0; c < info.ncols; c++)
	{
		int			found = -1;

		for (int a = 0; a < desc->natts; a++)
			if (!TupleDescAttr(desc, a)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(desc, a)->attname), info.columns[c]) == 0)
				found = a;
		if (found < 0)
			ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
							errmsg("column \"%s\" of the warm layout is missing from %s",
								   info.columns[c], RelationGetRelationName(rel))));
		b.cols[c].type = warm_col_type(TupleDescAttr(desc, found));
		b.cols[c].attno = c + 1;
		appendStringInfo(&sql, "%s%s", c ? ", " : "", quote_identifier(info.columns[c]));
	}
	appendStringInfo(&sql, " FROM %s WHERE start_time >= $1 AND start_time < $2 ORDER BY %s",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)),
					 b.src_col >= 0 ? "srcaddr, start_time" : "start_time");
	relation_close(rel, NoLock);

	b.block_cxt = AllocSetContextCreate(CurrentMemoryContext, "warm block",
										ALLOCSET_DEFAULT_SIZES);
	/* an hour of rows sorts in memory */
	nestlevel = NewGUCNestLevel();
	if (work_mem < 256 * 1024)
		(void) set_config_option("work_mem", "256MB", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	/* read an hour through the time index (BRIN), not the whole heap 24 times */
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	SPI_connect();
	if (SPI_execute_with_args("SELECT coalesce(max(block_id) + 1, 0) FROM vpcflow.warm_blocks "
							  "WHERE partition = $1",
							  1, ins_types, &PG_GETARG_DATUM(1), NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vpcflow.warm_blocks");
	b.next_block = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
											   &isnull));
	b.insert_plan = SPI_prepare("INSERT INTO vpcflow.warm_blocks (partition, block_id, "
								"min_time, max_time, src_lo, src_hi, dst_lo, dst_hi, nrows, data) "
								"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 10, ins_types);
	if (b.insert_plan == NULL)
		elog(ERROR, "could not prepare the warm block insert");

	for (TimestampTz h = lower; h < upper;)
	{
		TimestampTz next = h - (h % USECS_PER_HOUR) + USECS_PER_HOUR;
		Oid			types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
		Datum		args[2];
		Portal		portal;

		if (h < 0 && h % USECS_PER_HOUR != 0)
			next -= USECS_PER_HOUR;
		if (next > upper)
			next = upper;
		args[0] = TimestampTzGetDatum(h);
		args[1] = TimestampTzGetDatum(next);
		portal = SPI_cursor_open_with_args(NULL, sql.data, 2, types, args, NULL, true, 0);
		for (;;)
		{
			SPITupleTable *tt;

			CHECK_FOR_INTERRUPTS();
			SPI_cursor_fetch(portal, true, block_rows);
			tt = SPI_tuptable;

			if (SPI_processed == 0)
				break;
			emit_block(&b, tt, SPI_processed);
			SPI_freetuptable(tt);
		}
		SPI_cursor_close(portal);
		h = next;
	}
	SPI_finish();
	AtEOXact_GUC(true, nestlevel);
	/* every hour was read with the caller's snapshot (read-only cursors) */
	warm_remember_build_snapshot(source, GetActiveSnapshot());
	MemoryContextDelete(b.block_cxt);
	PG_RETURN_INT64(b.rows);
}
