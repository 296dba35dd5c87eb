/*
 * warm_build.c
 *		Building warm blocks from heap rows: vpcflow.warm_build().
 *
 * Rows are sorted by the hour of start_time, then srcaddr, then
 * start_time, and cut into blocks of up to block_rows rows that never
 * cross an hour; every block thus covers at most one hour (a one-hour query
 * decodes only that hour), and within the hour the srcaddr ranges of
 * blocks barely overlap, so a point lookup by source address reads one or
 * two blocks per hour.  The source is read in batches of hours that sort
 * in memory (see vpcflow_warm_build), the whole day in one batch when it
 * fits.
 * Each block records its row count and the min/max of start_time,
 * srcaddr and dstaddr in vpcflow.warm_blocks, where the scan skips on
 * them.
 *
 * Columns are taken generically from the relation's TupleDesc (see
 * warm_col_type), in the layout registered in vpcflow.warm_partitions.
 */
#include "postgres.h"

#include <sys/socket.h>

#include "access/detoast.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplesort.h"
#include "utils/typcache.h"

#include "vpcflow.h"
#include "warm.h"

PG_FUNCTION_INFO_V1(vpcflow_warm_build);

/* vpcflow.warm_build_memory: the sort budget of a build, in kB (with work_mem, the larger) */
static int	warm_build_memory = 256 * 1024;

void
warm_build_init(void)
{
	DefineCustomIntVariable("vpcflow.warm_build_memory",
							"Memory a warm block build sorts rows in (the larger of this and work_mem).",
							"Consecutive hours are read and sorted in batches that fit; an hour "
							"larger than this alone sorts with temporary files (docs/warm.md).",
							&warm_build_memory,
							256 * 1024, 64, MAX_KILOBYTES,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
}

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

/* One layout column while building: the current block's values. */
typedef struct BuildCol
{
	int			src_attno;		/* in the source relation, 1-based */
	int			sort_attno;		/* in the sort's tuples, 1-based; 0: NULL in every row */
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
	int			max_src_attno;	/* the last source column the sort needs */
	int		   *present;		/* layout columns in the sort: all but those NULL in every row */
	int			npresent;
	int			n;				/* rows in the current block */
	MemoryContext block_cxt;	/* the current block's byte values; reset per block */
	char	   *arena;			/* bump allocation of byte values in block_cxt */
	Size		arena_left;
} Builder;

static int
layout_index(WarmPartInfo *info, const char *name)
{
	for (int i = 0; i < info->ncols; i++)
		if (strcmp(info->columns[i], name) == 0)
			return i;
	return -1;
}

/*
 * Copy a byte value into the block's arena as a 4-byte-header varlena, so
 * that it can serve as a Datum (block statistics) and as codec input.
 */
static const uint8 *
arena_copy(Builder *b, const void *data, uint32 len)
{
	Size		need = MAXALIGN(VARHDRSZ + (Size) len);
	char	   *p;

	if (need > b->arena_left)
	{
		Size		chunk = Max(need, 64 * 1024);

		b->arena = MemoryContextAllocHuge(b->block_cxt, chunk);
		b->arena_left = chunk;
	}
	p = b->arena;
	b->arena += need;
	b->arena_left -= need;
	SET_VARSIZE(p, VARHDRSZ + len);
	if (len)
		memcpy(p + VARHDRSZ, data, len);
	return (const uint8 *) p + VARHDRSZ;
}

/* Append the row in slot (a sorted tuple) to the current block. */
static void
add_row(Builder *b, TupleTableSlot *slot)
{
	int			r = b->n++;

	for (int i = 0; i < b->npresent; i++)
	{
		BuildCol   *col = &b->cols[b->present[i]];
		bool		isnull = slot->tts_isnull[col->sort_attno - 1];
		Datum		d = slot->tts_values[col->sort_attno - 1];

		col->nulls[r] = isnull;
		if (col->type.kind == WC_INT)
		{
			if (isnull)
				col->ints[r] = 0;
			else
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
		else if (isnull)
		{
			col->ptrs[r] = NULL;
			col->lens[r] = 0;
		}
		else if (col->type.typlen == -1)
		{
			struct varlena *raw = (struct varlena *) DatumGetPointer(d);
			struct varlena *v = pg_detoast_datum_packed(raw);

			col->lens[r] = VARSIZE_ANY_EXHDR(v);
			col->ptrs[r] = arena_copy(b, VARDATA_ANY(v), col->lens[r]);
			if (v != raw)
				pfree(v);
		}
		else
		{
			col->lens[r] = col->type.typlen;
			col->ptrs[r] = arena_copy(b, DatumGetPointer(d), col->type.typlen);
		}
	}
}

/* min and max (network order) of an inet column; false when all NULL */
static bool
inet_range(const BuildCol *col, int n, Datum *lo, Datum *hi)
{
	bool		any = false;

	for (int r = 0; r < n; r++)
	{
		Datum		d;

		if (col->nulls[r])
			continue;
		d = PointerGetDatum(col->ptrs[r] - VARHDRSZ);
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

/* Encode the current block's rows and store the block. */
static void
emit_block(Builder *b)
{
	MemoryContext old = MemoryContextSwitchTo(b->block_cxt);
	WcColumnIn *in = palloc(sizeof(WcColumnIn) * b->ncols);
	int			n = b->n;
	char		err[256];
	size_t		len;
	uint8	   *blk;
	bytea	   *data;
	Datum		args[10];
	char		nulls[10];
	TimestampTz tmin = PG_INT64_MAX,
				tmax = PG_INT64_MIN;

	for (int c = 0; c < b->ncols; c++)
	{
		in[c].kind = b->cols[c].type.kind;
		in[c].width = b->cols[c].type.width;
		in[c].nulls = b->cols[c].nulls;
		in[c].ints = b->cols[c].ints;
		in[c].ptrs = b->cols[c].ptrs;
		in[c].lens = b->cols[c].lens;
	}
	for (int r = 0; r < n; r++)
	{
		int64		t = b->cols[b->time_col].ints[r];

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
	if (b->src_col < 0 || !inet_range(&b->cols[b->src_col], n, &args[4], &args[5]))
		nulls[4] = nulls[5] = 'n';
	if (b->dst_col < 0 || !inet_range(&b->cols[b->dst_col], n, &args[6], &args[7]))
		nulls[6] = nulls[7] = 'n';
	args[8] = Int32GetDatum((int32) n);
	args[9] = PointerGetDatum(data);
	if (SPI_execute_plan(b->insert_plan, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store a warm block");
	b->rows += n;
	b->bytes += len;
	b->blocks++;
	b->n = 0;
	MemoryContextSwitchTo(old);
	MemoryContextReset(b->block_cxt);
	b->arena = NULL;
	b->arena_left = 0;
}

/* The hour of a time: floor division, so that negative times work too. */
static inline int64
hour_of(TimestampTz t)
{
	return t >= 0 ? t / USECS_PER_HOUR : -((-t - 1) / USECS_PER_HOUR) - 1;
}

/*
 * The leading sort key: a signed 64-bit integer ordered as (hour, srcaddr,
 * start_time) are, or tied where it cannot tell, so that most comparisons
 * of the sort end on it rather than in the full comparison of the columns
 * (the next keys, srcaddr and start_time, settle the ties).  From the top:
 * the hour within the batch (hbits bits), then srcaddr as
 *	 IPv4: 0, the network (32 bits), the prefix length (6), and for a host
 *		   address (/32) the time within the hour in 128 us units (25);
 *	 IPv6: 1, the first 63 bits of the network;
 *	 NULL: all ones (NULLs sort last);
 * shifted right by hbits.  Inet's own order (network_cmp) compares the
 * networks over the shorter prefix, then the prefix lengths, then the
 * whole addresses, so that a < b never gives key(a) > key(b).
 */
static inline int64
sort_key(int64 hour_index, int hbits, bool src_null, Datum src, TimestampTz t, int64 hour)
{
	uint64		k;

	if (src_null)
		k = ~UINT64CONST(0);
	else
	{
		inet	   *ip = DatumGetInetPP(src);
		unsigned char *a = ip_addr(ip);
		int			bits = ip_bits(ip);

		if (ip_family(ip) == PGSQL_AF_INET)
		{
			uint32		addr = (uint32) a[0] << 24 | (uint32) a[1] << 16 | (uint32) a[2] << 8 | a[3];
			uint32		net = bits == 0 ? 0 : addr & (PG_UINT32_MAX << (32 - bits));

			k = (uint64) net << 31 | (uint64) bits << 25;
			if (bits == 32)
				k |= (uint64) (t - hour * USECS_PER_HOUR) >> 7;
		}
		else
		{
			uint64		hi = 0;

			for (int i = 0; i < 8; i++)
				hi = hi << 8 | a[i];
			if (bits < 64)
				hi &= bits == 0 ? 0 : ~UINT64CONST(0) << (64 - bits);
			k = UINT64CONST(1) << 63 | hi >> 1;
		}
	}
	if (hbits > 0)
		k = (uint64) hour_index << (64 - hbits) | k >> hbits;
	return (int64) (k ^ (UINT64CONST(1) << 63));
}

/* What the first pass learns of one hour of rows. */
typedef struct HourInfo
{
	int64		hour;
	int64		rows;
	double		mem;			/* about what sorting its rows takes, in bytes */
	BlockNumber first_blk;		/* the heap blocks its rows lie in */
	BlockNumber last_blk;
} HourInfo;

static int
cmp_hour(const void *a, const void *b)
{
	int64		x = ((const HourInfo *) a)->hour,
				y = ((const HourInfo *) b)->hour;

	return (x > y) - (x < y);
}

/* A heap scan without synchronized start (so block limits hold). */
static TableScanDesc
begin_scan(Relation rel, Snapshot snapshot)
{
	return table_beginscan_strat(rel, snapshot, 0, NULL, true, false);
}

/*
 * Pass 1: one scan reading only start_time: the hours with rows in
 * [lower, upper), in order, each with its row count, memory to sort and
 * block range; and, from the tuples' NULL bitmaps, which columns have a
 * value in some row (nonnull, by attribute number - 1).
 */
static HourInfo *
count_hours(Relation rel, Snapshot snapshot, int time_attno, TimestampTz lower,
			TimestampTz upper, int *nhours, bool *nonnull)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			natts = desc->natts;
	bits8	   *seen = palloc0(BITMAPLEN(natts));	/* a non-NULL value seen, per column */
	int			all_upto = 0;	/* columns before this had a value in a tuple without NULLs */
	int			min_natts = natts;
	TableScanDesc scan = begin_scan(rel, snapshot);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	int			cap = 32,
				n = 0;
	HourInfo   *hours = palloc(sizeof(HourInfo) * cap);
	HourInfo   *cur = NULL;

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		TimestampTz t;
		int64		hour;
		BlockNumber blk;
		HeapTuple	tup;

		CHECK_FOR_INTERRUPTS();
		t = DatumGetTimestampTz(slot_getattr(slot, time_attno, &isnull));
		if (isnull || t < lower || t >= upper)
			continue;
		hour = hour_of(t);
		if (cur == NULL || cur->hour != hour)
		{
			cur = NULL;
			for (int i = n - 1; i >= 0; i--)
				if (hours[i].hour == hour)
				{
					cur = &hours[i];
					break;
				}
			if (cur == NULL)
			{
				if (n == cap)
				{
					cap *= 2;
					hours = repalloc_huge(hours, sizeof(HourInfo) * cap);
				}
				cur = &hours[n++];
				cur->hour = hour;
				cur->rows = 0;
				cur->mem = 0;
				cur->first_blk = InvalidBlockNumber;
				cur->last_blk = 0;
			}
		}
		blk = ItemPointerGetBlockNumber(&slot->tts_tid);
		tup = ExecFetchSlotHeapTuple(slot, false, NULL);
		{
			int			tn = HeapTupleHeaderGetNatts(tup->t_data);

			min_natts = Min(min_natts, tn);
			if (!HeapTupleHasNulls(tup))
				all_upto = Max(all_upto, tn);
			else
			{
				/* a set bit in t_bits is a non-NULL value */
				for (int i = 0; i < tn / 8; i++)
					seen[i] |= tup->t_data->t_bits[i];
				if (tn % 8)
					seen[tn / 8] |= tup->t_data->t_bits[tn / 8] & ((1 << (tn % 8)) - 1);
			}
		}
		cur->rows++;
		/* the sorted copy: about the heap tuple, plus the hour, a chunk header and a SortTuple (24) */
		cur->mem += tup->t_len + 8 + 16 + 24;
		cur->first_blk = Min(cur->first_blk, blk);
		cur->last_blk = Max(cur->last_blk, blk);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	/* columns past a tuple's own count read as their missing value, if any */
	for (int a = 0; a < natts; a++)
		nonnull[a] = a < all_upto || (seen[a / 8] >> (a % 8)) & 1 ||
			(a >= min_natts && TupleDescAttr(desc, a)->atthasmissing);
	qsort(hours, n, sizeof(HourInfo), cmp_hour);
	*nhours = n;
	return hours;
}

/*
 * Pass 2, one batch: scan blocks [first_blk, first_blk + nblks) for the
 * rows of hours [hour_lo, hour_hi] in [lower, upper) and put them into
 * sort as tuples of sortdesc; returns how many.
 */
static int64
feed_sort(Builder *b, Relation rel, Snapshot snapshot, Tuplesortstate *sort,
		  TupleDesc sortdesc, TimestampTz lower, TimestampTz upper, int64 hour_lo,
		  int64 hour_hi, BlockNumber first_blk, BlockNumber nblks)
{
	TableScanDesc scan = begin_scan(rel, snapshot);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TupleTableSlot *sort_slot = MakeSingleTupleTableSlot(sortdesc, &TTSOpsVirtual);
	int			time_attno = b->cols[b->time_col].src_attno;
	int64		fed = 0;
	int			hbits = 0;

	while (hbits < 64 && (uint64) (hour_hi - hour_lo) >> hbits)
		hbits++;
	if (hbits > 32)
		elog(ERROR, "warm build over %lld hours at once", (long long) (hour_hi - hour_lo + 1));
	heap_setscanlimits(scan, first_blk, nblks);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		TimestampTz t;
		int64		hour;

		CHECK_FOR_INTERRUPTS();
		t = DatumGetTimestampTz(slot_getattr(slot, time_attno, &isnull));
		if (isnull || t < lower || t >= upper)
			continue;
		hour = hour_of(t);
		if (hour < hour_lo || hour > hour_hi)
			continue;
		slot_getsomeattrs(slot, b->max_src_attno);
		ExecClearTuple(sort_slot);
		if (b->src_col >= 0)
			sort_slot->tts_values[0] =
				Int64GetDatum(sort_key(hour - hour_lo, hbits,
									   slot->tts_isnull[b->cols[b->src_col].src_attno - 1],
									   slot->tts_values[b->cols[b->src_col].src_attno - 1],
									   t, hour));
		else
			sort_slot->tts_values[0] = Int64GetDatum(hour);
		sort_slot->tts_isnull[0] = false;
		for (int i = 0; i < b->npresent; i++)
		{
			BuildCol   *col = &b->cols[b->present[i]];

			sort_slot->tts_values[col->sort_attno - 1] = slot->tts_values[col->src_attno - 1];
			sort_slot->tts_isnull[col->sort_attno - 1] = slot->tts_isnull[col->src_attno - 1];
		}
		ExecStoreVirtualTuple(sort_slot);
		tuplesort_puttupleslot(sort, sort_slot);
		fed++;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	ExecDropSingleTupleTableSlot(sort_slot);
	return fed;
}

/*
 * vpcflow.warm_build(source regclass, target regclass, lower timestamptz,
 *                    upper timestamptz, block_rows integer) RETURNS bigint
 *
 * Compress the rows of source with start_time in [lower, upper) into new
 * blocks of the warm partition target; returns the number of rows.
 *
 * Everything is read under the caller's active snapshot (remembered for
 * warm_catch_up).  A first scan reads only start_time and learns, per
 * hour, how many rows there are, how much memory sorting them takes and
 * which heap blocks hold them.  Then consecutive hours are taken in
 * batches that sort in memory (sort_mem); one scan per batch, limited to
 * the batch's block range, feeds a sort by (hour, srcaddr, start_time)
 * (see sort_key), whose output is cut into blocks at block_rows rows and
 * at every change of hour.  A day that sorts in memory thus costs two
 * scans; a heap written in time order (a hot day) is read about twice
 * whatever its size; a side table in no order costs one scan per batch.
 * An hour too big for sort_mem alone is sorted with temporary files.
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
	Relation	rel;
	TupleDesc	desc;
	TupleDesc	sortdesc;
	AttrNumber	keys[3];
	Oid			sort_ops[3];
	Oid			collations[3];
	bool		nulls_first[3] = {false, false, false};
	int			nkeys = 0;
	int			nsort;
	Tuplesortstate *sort;
	TupleTableSlot *out_slot;
	HourInfo   *hours;
	int			nhours;
	bool	   *nonnull;
	Snapshot	snapshot = GetActiveSnapshot();
	Oid			ins_types[10] = {OIDOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	INETOID, INETOID, INETOID, INETOID, INT4OID, BYTEAOID};
	bool		isnull;
	int64		cur_hour = 0;
	int			sort_mem = Max(work_mem, warm_build_memory);	/* kB */

	if (block_rows < 1 || block_rows > WC_MAX_ROWS)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("block_rows must be between 1 and %d", WC_MAX_ROWS)));
	if (!warm_lookup_partition(target, &info, true))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("relation with OID %u is not a vpcflow warm partition", target)));
	if (snapshot == NULL)
		elog(ERROR, "warm_build needs an active snapshot");

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
	rel = table_open(source, AccessShareLock);
	desc = RelationGetDescr(rel);
	/* (the second pass limits heap scans to block ranges) */
	if (rel->rd_rel->relam != HEAP_TABLE_AM_OID)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("warm blocks are built from heap tables, and %s is not one",
							   RelationGetRelationName(rel))));
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
		b.cols[c].src_attno = found + 1;
		b.cols[c].nulls = palloc(sizeof(bool) * block_rows);
		if (b.cols[c].type.kind == WC_INT)
			b.cols[c].ints = palloc(sizeof(int64) * block_rows);
		else
		{
			b.cols[c].ptrs = palloc(sizeof(uint8 *) * block_rows);
			b.cols[c].lens = palloc(sizeof(uint32) * block_rows);
		}
	}
	if (b.cols[b.time_col].type.kind != WC_INT || b.cols[b.time_col].type.width != 8)
		elog(ERROR, "start_time of %s is not a timestamp", RelationGetRelationName(rel));

	/* pass 1: where each hour's rows are, how much sorting they need, which columns have values */
	nonnull = palloc(sizeof(bool) * desc->natts);
	hours = count_hours(rel, snapshot, b.cols[b.time_col].src_attno, lower, upper, &nhours,
						nonnull);

	/*
	 * The sorted tuples: sort_key(), start_time, srcaddr, then the other layout
	 * columns that have a value in some row (of 98 flow columns, AWS v2 logs
	 * fill 16: the rest are NULL in every block, and cost nothing to sort).
	 * The keys come first so that comparing them never walks past other
	 * columns.
	 */
	b.present = palloc(sizeof(int) * info.ncols);
	b.present[b.npresent++] = b.time_col;
	if (b.src_col >= 0)
		b.present[b.npresent++] = b.src_col;
	for (int c = 0; c < info.ncols; c++)
		if (c != b.time_col && c != b.src_col)
		{
			if (nonnull[b.cols[c].src_attno - 1])
				b.present[b.npresent++] = c;
			else
				memset(b.cols[c].nulls, true, sizeof(bool) * block_rows);
		}
	sortdesc = CreateTemplateTupleDesc(b.npresent + 1);
	TupleDescInitEntry(sortdesc, 1, "key", INT8OID, -1, 0);
	nsort = 1;
	for (int i = 0; i < b.npresent; i++)
	{
		BuildCol   *col = &b.cols[b.present[i]];

		col->sort_attno = ++nsort;
		b.max_src_attno = Max(b.max_src_attno, col->src_attno);
		TupleDescCopyEntry(sortdesc, col->sort_attno, desc, col->src_attno);
	}
	for (int i = 0; i < sortdesc->natts; i++)
		TupleDescAttr(sortdesc, i)->attnotnull = false;

	keys[nkeys++] = 1;
	if (b.src_col >= 0)
		keys[nkeys++] = b.cols[b.src_col].sort_attno;
	keys[nkeys++] = b.cols[b.time_col].sort_attno;
	for (int k = 0; k < nkeys; k++)
	{
		Form_pg_attribute att = TupleDescAttr(sortdesc, keys[k] - 1);
		TypeCacheEntry *tc = lookup_type_cache(att->atttypid, TYPECACHE_LT_OPR);

		if (!OidIsValid(tc->lt_opr))
			elog(ERROR, "no ordering operator for type %s", format_type_be(att->atttypid));
		sort_ops[k] = tc->lt_opr;
		collations[k] = att->attcollation;
	}
	out_slot = MakeSingleTupleTableSlot(sortdesc, &TTSOpsMinimalTuple);

	b.block_cxt = AllocSetContextCreate(CurrentMemoryContext, "warm block",
										ALLOCSET_DEFAULT_SIZES);
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

	/*
	 * pass 2: batches of consecutive hours whose rows sort in memory, each
	 * read by one scan of the heap blocks where those hours' rows lie
	 */
	for (int h = 0; h < nhours;)
	{
		int			last = h;
		double		mem = hours[h].mem;
		BlockNumber first_blk = hours[h].first_blk,
					last_blk = hours[h].last_blk;
		int64		expected = hours[h].rows;
		int64		fed;

		while (last + 1 < nhours && mem + hours[last + 1].mem <= sort_mem * 1024.0 * 0.9)
		{
			last++;
			mem += hours[last].mem;
			expected += hours[last].rows;
			first_blk = Min(first_blk, hours[last].first_blk);
			last_blk = Max(last_blk, hours[last].last_blk);
		}
		sort = tuplesort_begin_heap(sortdesc, nkeys, keys, sort_ops, collations, nulls_first,
									sort_mem, NULL, TUPLESORT_NONE);
		fed = feed_sort(&b, rel, snapshot, sort, sortdesc, lower, upper,
						hours[h].hour, hours[last].hour, first_blk, last_blk - first_blk + 1);
		if (fed != expected)
			elog(ERROR, "warm build of %s: %lld rows in hours %lld..%lld, %lld at first",
				 RelationGetRelationName(rel), (long long) fed, (long long) hours[h].hour,
				 (long long) hours[last].hour, (long long) expected);
		tuplesort_performsort(sort);

		/* blocks of at most block_rows rows, never across an hour */
		while (tuplesort_gettupleslot(sort, true, false, out_slot, NULL))
		{
			int64		hour;

			CHECK_FOR_INTERRUPTS();
			slot_getallattrs(out_slot);
			hour = hour_of(DatumGetTimestampTz(out_slot->tts_values[b.cols[b.time_col].sort_attno - 1]));
			if (b.n > 0 && (hour != cur_hour || b.n == block_rows))
				emit_block(&b);
			cur_hour = hour;
			add_row(&b, out_slot);
		}
		if (b.n > 0)
			emit_block(&b);
		tuplesort_end(sort);
		h = last + 1;
	}
	SPI_finish();
	ExecDropSingleTupleTableSlot(out_slot);
	table_close(rel, NoLock);
	/* every row was read with this snapshot */
	warm_remember_build_snapshot(source, snapshot);
	MemoryContextDelete(b.block_cxt);
	PG_RETURN_INT64(b.rows);
}
