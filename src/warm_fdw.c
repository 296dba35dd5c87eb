/*
 * warm_fdw.c
 *		vpcflow_warm: the foreign data wrapper that serves warm partitions of
 *		vpcflow.flows from compressed blocks (vpcflow.warm_blocks) and their
 *		late rows (a heap side table).
 *
 * Scan: quals on start_time (ranges) and on srcaddr / dstaddr (equality)
 * choose the blocks to read from the per-block min/max, before any block is
 * fetched.  The quals are evaluated here rather than by the executor, so
 * that a block decodes the columns the quals need first and the rest of
 * the columns the query uses only when some row matches (late
 * materialisation); columns the query does not use are never decoded.
 * Blocks are stored uncompressed by PostgreSQL (STORAGE EXTERNAL), so
 * each column stream is read as a slice of its TOAST value: a block's
 * other columns are not even read from disk.
 *
 * The scan is parallel aware: participants take blocks from a shared
 * counter, and one of them reads the side table.
 *
 * Insert (tuple routing of INSERT/COPY into vpcflow.flows, or INSERT into
 * the partition) appends to the side table, visible at once; maintenance
 * folds side rows into blocks later.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "foreign/fdwapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "port/atomics.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "warm.h"

/*
 * vpcflow.warm_blocks holds every tenant's rows, so only its owner may read
 * it.  The scan reads blocks as that owner; the row-level security of
 * vpcflow.flows, applied to the rows this scan returns, decides what the
 * caller sees (docs/security.md).
 */
typedef struct BlocksReader
{
	Oid			saved_user;
	int			saved_sec;
} BlocksReader;

static void
blocks_reader_begin(BlocksReader *r)
{
	Oid			relid = get_relname_relid("warm_blocks", get_namespace_oid("vpcflow", false));
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "relation vpcflow.warm_blocks is missing");
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	GetUserIdAndSecContext(&r->saved_user, &r->saved_sec);
	SetUserIdAndSecContext(owner, r->saved_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	SPI_connect();
}

static void
blocks_reader_end(BlocksReader *r)
{
	SPI_finish();
	SetUserIdAndSecContext(r->saved_user, r->saved_sec);
}

PG_FUNCTION_INFO_V1(vpcflow_warm_handler);

/* what a pushed-down clause bounds */
#define BOUND_TIME	0
#define BOUND_SRC	1
#define BOUND_DST	2

/* ---------------------------------------------------------------- planning */

typedef struct WarmPlanState
{
	List	   *bound_kinds;	/* int: BOUND_* */
	List	   *bound_strats;	/* int: btree strategy (column OP value) */
	List	   *bound_exprs;	/* Expr: the value */
	double		block_rows;		/* rows in blocks the time bounds keep */
	double		side_rows;
	double		bytes;
} WarmPlanState;

/* The btree strategy of "column op value" for a block-skip column, or 0. */
static int
classify(PlannerInfo *root, RelOptInfo *baserel, Expr *clause, int *kind, Expr **value)
{
	OpExpr	   *op;
	Node	   *l,
			   *r;
	Var		   *var;
	Oid			opno;
	Oid			family;
	int			strat;
	char	   *name;
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);

	if (!IsA(clause, OpExpr) || list_length(((OpExpr *) clause)->args) != 2)
		return 0;
	op = (OpExpr *) clause;
	l = linitial(op->args);
	r = lsecond(op->args);
	opno = op->opno;
	if (IsA(r, Var) && !IsA(l, Var))
	{
		Node	   *t = l;

		l = r;
		r = t;
		opno = get_commutator(opno);
		if (!OidIsValid(opno))
			return 0;
	}
	if (!IsA(l, Var))
		return 0;
	var = (Var *) l;
	if ((Index) var->varno != baserel->relid || var->varlevelsup != 0 || var->varattno <= 0)
		return 0;
	if (contain_var_clause(r) || contain_volatile_functions(r))
		return 0;
	name = get_attname(rte->relid, var->varattno, true);
	if (name == NULL)
		return 0;
	if (strcmp(name, "start_time") == 0 && var->vartype == TIMESTAMPTZOID &&
		exprType(r) == TIMESTAMPTZOID)
	{
		*kind = BOUND_TIME;
		family = get_opclass_family(GetDefaultOpClass(TIMESTAMPTZOID, BTREE_AM_OID));
	}
	else if ((strcmp(name, "srcaddr") == 0 || strcmp(name, "dstaddr") == 0) &&
			 var->vartype == INETOID && exprType(r) == INETOID)
	{
		*kind = name[0] == 's' ? BOUND_SRC : BOUND_DST;
		family = NETWORK_BTREE_FAM_OID;
	}
	else
		return 0;
	strat = get_op_opfamily_strategy(opno, family);
	if (strat == 0 || (*kind != BOUND_TIME && strat != BTEqualStrategyNumber))
		return 0;
	*value = (Expr *) r;
	return strat;
}

static void
warmGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	WarmPlanState *ps = palloc0(sizeof(WarmPlanState));
	List	   *other = NIL;
	WarmPartInfo info;
	bool		all_const = true;
	TimestampTz tlo = PG_INT64_MIN,
				thi = PG_INT64_MAX;
	Datum		src_const = (Datum) 0,
				dst_const = (Datum) 0;
	double		sel;

	ListCell   *lc;

	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		int			kind;
		Expr	   *value;
		int			strat = classify(root, baserel, ri->clause, &kind, &value);

		if (strat == 0)
		{
			other = lappend(other, ri);
			continue;
		}
		ps->bound_kinds = lappend_int(ps->bound_kinds, kind);
		ps->bound_strats = lappend_int(ps->bound_strats, strat);
		ps->bound_exprs = lappend(ps->bound_exprs, value);
		if (kind != BOUND_TIME)
		{
			/* a constant address also narrows the blocks counted below */
			if (IsA(value, Const) && !((Const *) value)->constisnull)
			{
				if (kind == BOUND_SRC)
					src_const = ((Const *) value)->constvalue;
				else
					dst_const = ((Const *) value)->constvalue;
			}
			other = lappend(other, ri);
			continue;
		}
		if (!IsA(value, Const) || ((Const *) value)->constisnull)
			all_const = false;
		else
		{
			TimestampTz v = DatumGetTimestampTz(((Const *) value)->constvalue);

			if (strat == BTGreaterEqualStrategyNumber || strat == BTEqualStrategyNumber)
				tlo = Max(tlo, v);
			if (strat == BTGreaterStrategyNumber)
				tlo = Max(tlo, v == PG_INT64_MAX ? v : v + 1);
			if (strat == BTLessEqualStrategyNumber || strat == BTEqualStrategyNumber)
				thi = Min(thi, v);
			if (strat == BTLessStrategyNumber)
				thi = Min(thi, v == PG_INT64_MIN ? v : v - 1);
		}
	}

	/* rows and bytes of the blocks the time bounds keep, from their min/max */
	if (warm_lookup_partition(foreigntableid, &info, true))
	{
		Oid			types[5] = {OIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INETOID, INETOID};
		Datum		args[5] = {ObjectIdGetDatum(foreigntableid), TimestampTzGetDatum(tlo),
		TimestampTzGetDatum(thi), src_const, dst_const};
		char		nulls[5] = {' ', ' ', ' ', src_const ? ' ' : 'n', dst_const ? ' ' : 'n'};
		Relation	side;
		BlocksReader reader;

		if (!all_const)
			args[1] = TimestampTzGetDatum(PG_INT64_MIN), args[2] = TimestampTzGetDatum(PG_INT64_MAX);
		blocks_reader_begin(&reader);
		if (SPI_execute_with_args("SELECT coalesce(sum(nrows), 0)::float8, "
								  "coalesce(sum(pg_column_size(data)), 0)::float8 "
								  "FROM vpcflow.warm_blocks WHERE partition = $1 "
								  "AND max_time >= $2 AND min_time <= $3 "
								  "AND ($4 IS NULL OR (src_lo <= $4 AND src_hi >= $4)) "
								  "AND ($5 IS NULL OR (dst_lo <= $5 AND dst_hi >= $5))",
								  5, types, args, nulls, true, 1) == SPI_OK_SELECT &&
			SPI_processed == 1)
		{
			bool		isnull;

			ps->block_rows = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 1, &isnull));
			ps->bytes = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 2, &isnull));
		}
		blocks_reader_end(&reader);
		side = table_open(info.side_relid, AccessShareLock);
		ps->side_rows = Max(side->rd_rel->reltuples, 0) +
			(side->rd_rel->relpages == 0 ? RelationGetNumberOfBlocks(side) * 50.0 : 0);
		ps->bytes += (double) RelationGetNumberOfBlocks(side) * BLCKSZ;
		table_close(side, AccessShareLock);
	}

	if (!all_const)
	{
		/* parameters: fall back on the default selectivity of the time clauses */
		List	   *time_clauses = list_difference_ptr(baserel->baserestrictinfo, other);

		ps->block_rows *= clauselist_selectivity(root, time_clauses, baserel->relid,
												 JOIN_INNER, NULL);
	}
	sel = clauselist_selectivity(root, other, baserel->relid, JOIN_INNER, NULL);
	baserel->rows = clamp_row_est((ps->block_rows + ps->side_rows) * sel);
	baserel->tuples = ps->block_rows + ps->side_rows;
	baserel->pages = (BlockNumber) Max(ps->bytes / BLCKSZ, 1);
	baserel->fdw_private = ps;
}

/* Decoding and filtering cost per row kept by the time bounds. */
#define WARM_ROW_COST	(cpu_tuple_cost * 0.5)

static void
warmGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	WarmPlanState *ps = baserel->fdw_private;
	double		scanned = ps->block_rows + ps->side_rows;
	Cost		startup = 10;
	Cost		run = seq_page_cost * baserel->pages +
		scanned * (WARM_ROW_COST + cpu_operator_cost * list_length(baserel->baserestrictinfo)) +
		baserel->rows * cpu_tuple_cost;
	ForeignPath *path;

	path = create_foreignscan_path(root, baserel, NULL, baserel->rows, startup, startup + run,
								   NIL, NULL, NULL, NIL);
	add_path(baserel, (Path *) path);

	if (baserel->consider_parallel)
	{
		int			workers = compute_parallel_worker(baserel, baserel->pages, -1,
													  max_parallel_workers_per_gather);

		if (workers > 0)
		{
			double		divisor = workers;
			double		leader = 1.0 - 0.3 * workers;

			if (parallel_leader_participation && leader > 0)
				divisor += leader;
			path = create_foreignscan_path(root, baserel, NULL, clamp_row_est(baserel->rows / divisor),
										   startup,
										   startup + seq_page_cost * baserel->pages +
										   (run - seq_page_cost * baserel->pages) / divisor,
										   NIL, NULL, NULL, NIL);
			path->path.parallel_aware = true;
			path->path.parallel_safe = true;
			path->path.parallel_workers = workers;
			add_partial_path(baserel, (Path *) path);
		}
	}
}

/* Column numbers (1-based) used by node, as an integer list. */
static List *
attnos_used(Node *node, Index relid, int natts)
{
	Bitmapset  *attrs = NULL;
	List	   *out = NIL;

	pull_varattnos(node, relid, &attrs);
	if (bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs))
	{
		for (int a = 1; a <= natts; a++)
			out = lappend_int(out, a);
		return out;
	}
	for (int a = 1; a <= natts; a++)
		if (bms_is_member(a - FirstLowInvalidHeapAttributeNumber, attrs))
			out = lappend_int(out, a);
	return out;
}

/*
 * fdw_exprs: the quals (one implicit-AND list), then the bound values.
 * fdw_private: bound kinds, bound strategies, columns used, columns the
 * quals use.
 */
static ForeignScan *
warmGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				   ForeignPath *best_path, List *tlist, List *scan_clauses, Plan *outer_plan)
{
	WarmPlanState *ps = baserel->fdw_private;
	List	   *quals = extract_actual_clauses(scan_clauses, false);
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);
	Relation	rel = table_open(rte->relid, NoLock);
	int			natts = RelationGetDescr(rel)->natts;
	List	   *used;
	List	   *filter;

	table_close(rel, NoLock);
	used = attnos_used((Node *) baserel->reltarget->exprs, baserel->relid, natts);
	filter = attnos_used((Node *) quals, baserel->relid, natts);
	used = list_concat_unique_int(used, filter);

	return make_foreignscan(tlist, NIL, baserel->relid,
							lcons(quals, list_copy(ps->bound_exprs)),
							list_make5(ps->bound_kinds, ps->bound_strats, used, filter,
									   list_make1_int(list_length(quals) ==
													  list_length(ps->bound_exprs))),
							NIL, NIL, outer_plan);
}

/* ---------------------------------------------------------------- scanning */

typedef struct WarmShared
{
	pg_atomic_uint32 next_block;
	pg_atomic_uint32 side_taken;
} WarmShared;

/* One column of the relation, as the scan sees it. */
typedef struct ScanCol
{
	bool		used;
	bool		filter;
	int			blockcol;		/* index in the block layout, or -1 */
	WarmColType type;
	/* decoded values of the current block */
	bool		decoded;
	bool		all_null;
	Datum	   *values;			/* [cap], kept from block to block */
	uint32		cap;
	bool	   *nulls;
} ScanCol;

typedef struct WarmScanState
{
	Relation	rel;
	int			natts;
	ScanCol    *cols;
	ExprState  *qual;
	bool		has_qual;
	List	   *bound_states;
	List	   *bound_kinds;
	List	   *bound_strats;
	WarmPartInfo info;
	bool		empty;			/* a bound is NULL: nothing can match */

	/*
	 * The bounds, checked on decoded datums before the quals (a cheap
	 * pre-filter; when every qual is a bound it decides alone).
	 */
	bool		quals_exact;
	int			time_att;		/* attribute index of start_time, or -1 */
	int			src_att;
	int			dst_att;
	TimestampTz tlo;
	TimestampTz thi;
	struct varlena *src;		/* srcaddr = src, or NULL */
	struct varlena *dst;

	/* blocks to read, found at the first fetch (parameters are set by then) */
	bool		blocks_found;
	int			nblocks;
	int			total_blocks;
	Datum	   *blocks;			/* the data values (TOAST pointers) */
	int			next_block;
	WarmShared *shared;

	/* columns to fill: those the quals use, then the other used ones */
	int		   *filter_atts;
	int			nfilter;
	int		   *rest_atts;
	int			nrest;
	/* the same, without the columns NULL throughout the current block */
	int		   *live_filter;
	int			nlive_filter;
	int		   *live_rest;
	int			nlive_rest;

	/*
	 * Decoder memory: a bump arena kept from block to block (fresh memory
	 * per block cost more in page faults than decoding), palloc in the
	 * block context beyond it.
	 */
	char	   *arena;
	Size		arena_size;
	Size		arena_used;
	Size		arena_want;		/* high-water mark of a block */
	WcAlloc		alloc;

	/* the current block */
	MemoryContext block_cxt;
	struct varlena *block;		/* as stored (usually a TOAST pointer) */
	struct varlena *whole;		/* fetched whole, when many columns are needed */
	WcBlockInfo binfo;
	uint32		nrows;
	uint32	   *sel;			/* rows to return (NULL: all of them) */
	uint32		nsel;
	uint32		row;			/* next index into sel */

	MemoryContext scan_cxt;		/* lives as long as the scan */

	/* the side table */
	bool		in_side;
	bool		side_done;
	Relation	side_rel;
	TableScanDesc side_scan;
	TupleTableSlot *side_slot;
	AttrNumber *side_map;		/* [natts]: side attno (1-based) or 0 */

	/* EXPLAIN ANALYZE */
	int			blocks_read;
	int64		rows_decoded;
} WarmScanState;

/* Attribute numbers in to of each column of from, by name (0: absent). */
static AttrNumber *
map_by_name(TupleDesc from, TupleDesc to)
{
	AttrNumber *map = palloc0(sizeof(AttrNumber) * from->natts);

	for (int i = 0; i < from->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(from, i);

		if (a->attisdropped)
			continue;
		for (int j = 0; j < to->natts; j++)
		{
			Form_pg_attribute b = TupleDescAttr(to, j);

			if (!b->attisdropped && strcmp(NameStr(a->attname), NameStr(b->attname)) == 0)
			{
				if (a->atttypid != b->atttypid)
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("column \"%s\" has type %s in the warm partition but %s in its side table",
									NameStr(a->attname), format_type_be(a->atttypid),
									format_type_be(b->atttypid))));
				map[i] = j + 1;
			}
		}
	}
	return map;
}

static void
find_blocks(ForeignScanState *node, WarmScanState *st)
{
	EState	   *estate = node->ss.ps.state;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	TimestampTz tlo = PG_INT64_MIN,
				thi = PG_INT64_MAX;
	Datum		src = (Datum) 0,
				dst = (Datum) 0;
	bool		have_src = false,
				have_dst = false;
	ListCell   *ls,
			   *lk,
			   *lt;
	Oid			types[5] = {OIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INETOID, INETOID};
	Datum		args[5];
	char		nulls[5] = "     ";
	MemoryContext scan_cxt = st->scan_cxt;
	BlocksReader reader;

	forthree(ls, st->bound_states, lk, st->bound_kinds, lt, st->bound_strats)
	{
		bool		isnull;
		Datum		v = ExecEvalExpr((ExprState *) lfirst(ls), econtext, &isnull);
		int			strat = lfirst_int(lt);

		if (isnull)
		{
			st->empty = true;
			continue;
		}
		switch (lfirst_int(lk))
		{
			case BOUND_TIME:
				{
					TimestampTz t = DatumGetTimestampTz(v);

					if (strat == BTGreaterEqualStrategyNumber || strat == BTEqualStrategyNumber)
						tlo = Max(tlo, t);
					if (strat == BTGreaterStrategyNumber)
						tlo = Max(tlo, t == PG_INT64_MAX ? t : t + 1);
					if (strat == BTLessEqualStrategyNumber || strat == BTEqualStrategyNumber)
						thi = Min(thi, t);
					if (strat == BTLessStrategyNumber)
						thi = Min(thi, t == PG_INT64_MIN ? t : t - 1);
					break;
				}
			case BOUND_SRC:
				if (have_src && DatumGetInt32(DirectFunctionCall2(network_cmp, src, v)) != 0)
					st->empty = true;
				src = datumCopy(v, false, -1);
				have_src = true;
				break;
			case BOUND_DST:
				if (have_dst && DatumGetInt32(DirectFunctionCall2(network_cmp, dst, v)) != 0)
					st->empty = true;
				dst = datumCopy(v, false, -1);
				have_dst = true;
				break;
		}
	}
	st->tlo = tlo;
	st->thi = thi;
	st->src = have_src ? (struct varlena *) MemoryContextAlloc(scan_cxt, VARSIZE_ANY(DatumGetPointer(src))) : NULL;
	if (st->src)
		memcpy(st->src, DatumGetPointer(src), VARSIZE_ANY(DatumGetPointer(src)));
	st->dst = have_dst ? (struct varlena *) MemoryContextAlloc(scan_cxt, VARSIZE_ANY(DatumGetPointer(dst))) : NULL;
	if (st->dst)
		memcpy(st->dst, DatumGetPointer(dst), VARSIZE_ANY(DatumGetPointer(dst)));

	args[0] = ObjectIdGetDatum(RelationGetRelid(st->rel));
	args[1] = TimestampTzGetDatum(tlo);
	args[2] = TimestampTzGetDatum(thi);
	args[3] = src;
	args[4] = dst;
	if (!have_src)
		nulls[3] = 'n';
	if (!have_dst)
		nulls[4] = 'n';

	blocks_reader_begin(&reader);
	if (SPI_execute_with_args("SELECT count(*)::int4 FROM vpcflow.warm_blocks WHERE partition = $1",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vpcflow.warm_blocks");
	{
		bool		isnull;

		st->total_blocks = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (!st->empty)
	{
		if (SPI_execute_with_args("SELECT data FROM vpcflow.warm_blocks WHERE partition = $1 "
								  "AND max_time >= $2 AND min_time <= $3 "
								  "AND ($4 IS NULL OR (src_lo <= $4 AND src_hi >= $4)) "
								  "AND ($5 IS NULL OR (dst_lo <= $5 AND dst_hi >= $5)) "
								  "ORDER BY block_id",
								  5, types, args, nulls, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read vpcflow.warm_blocks");
		st->nblocks = (int) SPI_processed;
		st->blocks = MemoryContextAlloc(scan_cxt, sizeof(Datum) * Max(st->nblocks, 1));
		for (int i = 0; i < st->nblocks; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			MemoryContext old = MemoryContextSwitchTo(scan_cxt);

			/* a TOAST pointer stays one: only its few bytes are copied */
			st->blocks[i] = datumCopy(d, false, -1);
			MemoryContextSwitchTo(old);
		}
	}
	blocks_reader_end(&reader);
	(void) estate;
}

static void
warmBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	WarmScanState *st = palloc0(sizeof(WarmScanState));
	List	   *used = lthird(plan->fdw_private);
	List	   *filter = lfourth(plan->fdw_private);
	TupleDesc	desc;
	ListCell   *lc;

	node->fdw_state = st;
	st->scan_cxt = CurrentMemoryContext;
	st->rel = node->ss.ss_currentRelation;
	desc = RelationGetDescr(st->rel);
	st->natts = desc->natts;
	st->qual = ExecInitQual((List *) linitial(plan->fdw_exprs), (PlanState *) node);
	st->has_qual = linitial(plan->fdw_exprs) != NIL;
	st->bound_states = ExecInitExprList(list_copy_tail(plan->fdw_exprs, 1), (PlanState *) node);
	st->bound_kinds = linitial(plan->fdw_private);
	st->bound_strats = lsecond(plan->fdw_private);
	st->cols = palloc0(sizeof(ScanCol) * st->natts);
	st->quals_exact = linitial_int(list_nth(plan->fdw_private, 4)) != 0;
	st->time_att = st->src_att = st->dst_att = -1;
	for (int a = 0; a < st->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);

		if (att->attisdropped)
			continue;
		if (strcmp(NameStr(att->attname), "start_time") == 0 && att->atttypid == TIMESTAMPTZOID)
			st->time_att = a;
		else if (strcmp(NameStr(att->attname), "srcaddr") == 0 && att->atttypid == INETOID)
			st->src_att = a;
		else if (strcmp(NameStr(att->attname), "dstaddr") == 0 && att->atttypid == INETOID)
			st->dst_att = a;
	}
	foreach(lc, used)
		st->cols[lfirst_int(lc) - 1].used = true;
	foreach(lc, filter)
		st->cols[lfirst_int(lc) - 1].filter = true;
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	if (!warm_lookup_partition(RelationGetRelid(st->rel), &st->info, false))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("foreign table \"%s\" is not a vpcflow warm partition",
						RelationGetRelationName(st->rel))));
	for (int a = 0; a < st->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);

		st->cols[a].blockcol = -1;
		if (att->attisdropped)
		{
			st->cols[a].used = st->cols[a].filter = false;
			continue;
		}
		for (int c = 0; c < st->info.ncols; c++)
			if (strcmp(st->info.columns[c], NameStr(att->attname)) == 0)
				st->cols[a].blockcol = c;
		if (st->cols[a].used && st->cols[a].blockcol >= 0)
			st->cols[a].type = warm_col_type(att);
	}
	st->block_cxt = AllocSetContextCreate(CurrentMemoryContext, "vpcflow warm block",
										  ALLOCSET_DEFAULT_SIZES);
	st->filter_atts = palloc(sizeof(int) * st->natts);
	st->rest_atts = palloc(sizeof(int) * st->natts);
	st->live_filter = palloc(sizeof(int) * st->natts);
	st->live_rest = palloc(sizeof(int) * st->natts);
	for (int a = 0; a < st->natts; a++)
	{
		if (st->cols[a].used && st->cols[a].filter)
			st->filter_atts[st->nfilter++] = a;
		else if (st->cols[a].used)
			st->rest_atts[st->nrest++] = a;
	}
	/* columns the scan never fills read as NULL */
	{
		TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

		ExecClearTuple(slot);
		memset(slot->tts_isnull, true, sizeof(bool) * st->natts);
		memset(slot->tts_values, 0, sizeof(Datum) * st->natts);
	}

	st->side_rel = table_open(st->info.side_relid, AccessShareLock);
	st->side_map = map_by_name(desc, RelationGetDescr(st->side_rel));
	st->side_slot = table_slot_create(st->side_rel, NULL);
}

static void
fail_block(WarmScanState *st, const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("corrupt warm block in \"%s\": %s", RelationGetRelationName(st->rel), msg)));
}

static void *
arena_alloc(void *ctx, size_t size)
{
	WarmScanState *st = ctx;
	Size		need = MAXALIGN(size);

	st->arena_want += need;
	if (st->arena_used + need <= st->arena_size)
	{
		void	   *p = st->arena + st->arena_used;

		st->arena_used += need;
		return p;
	}
	return MemoryContextAllocExtended(st->block_cxt, Max(size, 1), MCXT_ALLOC_HUGE);
}

/* Start a block: empty the arena, grown to the last block's needs. */
static void
arena_reset(WarmScanState *st)
{
	if (st->arena_want > st->arena_size)
	{
		if (st->arena)
			pfree(st->arena);
		st->arena_size = Min(st->arena_want + st->arena_want / 4, MaxAllocHugeSize / 2);
		st->arena = MemoryContextAllocExtended(st->scan_cxt, st->arena_size, MCXT_ALLOC_HUGE);
	}
	st->arena_used = 0;
	st->arena_want = 0;
	st->alloc.alloc = arena_alloc;
	st->alloc.ctx = st;
}

/* A datum of a by-reference type from its stored bytes, in the block context. */
static Datum
make_datum(WarmScanState *st, int16 typlen, const uint8 *p, uint32 len)
{
	char	   *buf;

	if (typlen > 0)
	{
		if (len != (uint32) typlen)
			fail_block(st, "a fixed-length value has the wrong length");
		buf = palloc(len);
		memcpy(buf, p, len);
		return PointerGetDatum(buf);
	}
	if (len > MaxAllocSize - VARHDRSZ)
		fail_block(st, "a value is too long");
	buf = palloc(VARHDRSZ + len);
	SET_VARSIZE(buf, VARHDRSZ + len);
	memcpy(buf + VARHDRSZ, p, len);
	return PointerGetDatum(buf);
}

/*
 * Decode column a (0-based) of the current block into datums: for the rows
 * in sel (nsel of them), or for every row when sel is NULL.
 */
static void
decode_col(WarmScanState *st, int a, const uint32 *sel, uint32 nsel)
{
	ScanCol    *col = &st->cols[a];
	MemoryContext old;
	uint32		n = st->nrows;
	WcColumnOut o;
	const WcColumnDir *d;
	struct varlena *slice;
	const uint8 *stream;
	char		err[256];

	col->decoded = true;
	col->all_null = false;
	if (col->blockcol < 0 || st->binfo.cols[col->blockcol].enc == WC_ENC_NONE)
	{
		col->all_null = true;
		return;
	}
	if (col->cap < n)
	{
		if (col->values)
			pfree(col->values);
		col->values = MemoryContextAlloc(st->scan_cxt, sizeof(Datum) * n);
		col->cap = n;
	}
	old = MemoryContextSwitchTo(st->block_cxt);
	d = &st->binfo.cols[col->blockcol];
	if (d->kind != col->type.kind || d->width != col->type.width)
		fail_block(st, psprintf("column \"%s\" is stored as kind %d width %d, "
								"which does not fit its type",
								st->info.columns[col->blockcol], d->kind, d->width));
	if (st->whole)
		stream = (const uint8 *) VARDATA_ANY(st->whole) + d->offset;	/* bounds checked */
	else
	{
		slice = detoast_attr_slice(st->block, (int32) d->offset, (int32) d->stored_len);
		if (VARSIZE_ANY_EXHDR(slice) != d->stored_len)
			fail_block(st, "a column stream lies past the end of the block");
		stream = (const uint8 *) VARDATA_ANY(slice);
	}
	if (!wc_decode_column(&st->binfo, col->blockcol, stream, d->stored_len,
						  &st->alloc, &o, err, sizeof(err)))
		fail_block(st, err);
	col->nulls = o.nulls;
	if (sel == NULL)
		nsel = n;
	if (o.kind == WC_INT)
	{
		for (uint32 k = 0; k < nsel; k++)
		{
			uint32		i = sel ? sel[k] : k;

			switch (d->width)
			{
				case 1:
					col->values[i] = CharGetDatum((char) o.ints[i]);
					break;
				case 2:
					col->values[i] = Int16GetDatum((int16) o.ints[i]);
					break;
				case 4:
					col->values[i] = Int32GetDatum((int32) o.ints[i]);
					break;
				default:
					col->values[i] = Int64GetDatum(o.ints[i]);
					break;
			}
		}
	}
	else if (o.ndict)
	{
		/* each dictionary entry becomes a datum once, when first used */
		Datum	   *cache = palloc0(sizeof(Datum) * o.ndict);

		for (uint32 k = 0; k < nsel; k++)
		{
			uint32		i = sel ? sel[k] : k;
			uint32		c = o.codes ? o.codes[i] : 0;

			if (o.nulls[i])
				col->values[i] = (Datum) 0;
			else
			{
				if (cache[c] == (Datum) 0)
					cache[c] = make_datum(st, col->type.typlen, o.dict_ptrs[c], o.dict_lens[c]);
				col->values[i] = cache[c];
			}
		}
	}
	else
	{
		for (uint32 k = 0; k < nsel; k++)
		{
			uint32		i = sel ? sel[k] : k;

			col->values[i] = o.nulls[i] ? (Datum) 0 :
				make_datum(st, col->type.typlen, o.ptrs[i], o.lens[i]);
		}
	}
	MemoryContextSwitchTo(old);
}

/*
 * Whether the columns still to decode (the filter ones, or all used ones)
 * have more than a few non-empty streams: then one read of the whole block
 * beats a TOAST slice fetch per column.
 */
static bool
many_streams(WarmScanState *st, bool all_used)
{
	int			n = 0;

	for (int a = 0; a < st->natts; a++)
	{
		ScanCol    *col = &st->cols[a];

		if (col->used && !col->decoded && (all_used || col->filter) && col->blockcol >= 0 &&
			st->binfo.cols[col->blockcol].enc != WC_ENC_NONE)
			n++;
	}
	return n > 3;
}

static void
fetch_whole(WarmScanState *st)
{
	MemoryContext old = MemoryContextSwitchTo(st->block_cxt);

	st->whole = detoast_attr(st->block);
	MemoryContextSwitchTo(old);
	if (VARSIZE_ANY_EXHDR(st->whole) != st->binfo.total_len)
		fail_block(st, "the block changed size while being read");
}

/* Make block i current: read its directory and decode the filter columns. */
static void
load_block(WarmScanState *st, int i)
{
	MemoryContext old;
	struct varlena *head;
	char		err[256];
	Size		raw_size;

	MemoryContextReset(st->block_cxt);
	arena_reset(st);
	old = MemoryContextSwitchTo(st->block_cxt);
	st->block = (struct varlena *) DatumGetPointer(st->blocks[i]);
	st->whole = NULL;
	raw_size = toast_raw_datum_size(PointerGetDatum(st->block)) - VARHDRSZ;
	head = detoast_attr_slice(st->block, 0,
							  WC_HEADER_SIZE + WC_COLDIR_SIZE * Max(st->info.ncols, 1));
	if (!wc_parse_header((const uint8 *) VARDATA_ANY(head), VARSIZE_ANY_EXHDR(head),
						 warm_palloc_allocator(), &st->binfo, err, sizeof(err)))
		fail_block(st, err);
	if (st->binfo.total_len != raw_size)
		fail_block(st, psprintf("the block is %zu bytes, its directory says %u",
								raw_size, st->binfo.total_len));
	if (st->binfo.ncols != st->info.ncols)
		fail_block(st, psprintf("the block has %d columns, the layout %d",
								st->binfo.ncols, st->info.ncols));
	MemoryContextSwitchTo(old);
	st->nrows = st->binfo.nrows;
	st->row = 0;
	st->nsel = 0;
	for (int a = 0; a < st->natts; a++)
		st->cols[a].decoded = false;
	if (many_streams(st, !st->has_qual))
		fetch_whole(st);
	for (int a = 0; a < st->natts; a++)
		if (st->cols[a].used && (st->cols[a].filter || !st->has_qual))
			decode_col(st, a, NULL, 0);
	st->blocks_read++;
	st->rows_decoded += st->nrows;
}

/*
 * After decoding: the columns to copy row by row.  Columns NULL throughout
 * the block (most optional fields of most flow logs) are set NULL in the
 * slot once, here, instead of at every row.
 */
static void
plan_fill(WarmScanState *st, TupleTableSlot *slot)
{
	st->nlive_filter = st->nlive_rest = 0;
	for (int i = 0; i < st->nfilter + st->nrest; i++)
	{
		bool		is_filter = i < st->nfilter;
		int			a = is_filter ? st->filter_atts[i] : st->rest_atts[i - st->nfilter];
		ScanCol    *col = &st->cols[a];

		if (!col->decoded)
			continue;
		if (col->all_null)
		{
			slot->tts_values[a] = (Datum) 0;
			slot->tts_isnull[a] = true;
		}
		else if (is_filter)
			st->live_filter[st->nlive_filter++] = a;
		else
			st->live_rest[st->nlive_rest++] = a;
	}
}

/* Fill the slot's columns from the current block: the qual columns, or all. */
static void
fill_slot(WarmScanState *st, TupleTableSlot *slot, uint32 row, bool filter_only)
{
	ExecClearTuple(slot);
	for (int i = 0; i < st->nlive_filter; i++)
	{
		int			a = st->live_filter[i];

		slot->tts_values[a] = st->cols[a].values[row];
		slot->tts_isnull[a] = st->cols[a].nulls[row];
	}
	if (!filter_only)
		for (int i = 0; i < st->nlive_rest; i++)
		{
			int			a = st->live_rest[i];

			slot->tts_values[a] = st->cols[a].values[row];
			slot->tts_isnull[a] = st->cols[a].nulls[row];
		}
	ExecStoreVirtualTuple(slot);
}

static bool
next_side_row(WarmScanState *st, TupleTableSlot *slot, ExprContext *econtext, EState *estate)
{
	if (st->side_scan == NULL)
	{
		MemoryContext old;

		if (st->shared && pg_atomic_exchange_u32(&st->shared->side_taken, 1) != 0)
		{
			st->side_done = true;
			return false;
		}
		/* Iterate runs in per-tuple memory: the scan must outlive it */
		old = MemoryContextSwitchTo(st->scan_cxt);

		st->side_scan = table_beginscan(st->side_rel, estate->es_snapshot, 0, NULL);
		MemoryContextSwitchTo(old);
	}
	while (table_scan_getnextslot(st->side_scan, ForwardScanDirection, st->side_slot))
	{
		slot_getallattrs(st->side_slot);
		ExecClearTuple(slot);
		for (int a = 0; a < st->natts; a++)
		{
			AttrNumber s = st->side_map[a];

			if (s > 0 && st->cols[a].used)
			{
				slot->tts_values[a] = st->side_slot->tts_values[s - 1];
				slot->tts_isnull[a] = st->side_slot->tts_isnull[s - 1];
			}
			else
			{
				slot->tts_values[a] = (Datum) 0;
				slot->tts_isnull[a] = true;
			}
		}
		ExecStoreVirtualTuple(slot);
		econtext->ecxt_scantuple = slot;
		if (!st->has_qual || ExecQual(st->qual, econtext))
			return true;
		ResetExprContext(econtext);
	}
	st->side_done = true;
	return false;
}

/* A varlena column of the current block equals want (byte equality). */
static inline bool
bytes_equal(ScanCol *col, uint32 r, const struct varlena *want)
{
	const struct varlena *v;

	if (col->all_null || col->nulls[r])
		return false;
	v = (const struct varlena *) DatumGetPointer(col->values[r]);
	return VARSIZE_ANY_EXHDR(v) == VARSIZE_ANY_EXHDR(want) &&
		memcmp(VARDATA_ANY(v), VARDATA_ANY(want), VARSIZE_ANY_EXHDR(want)) == 0;
}

/*
 * Row r against the bounds pushed down (the time range, address equality),
 * on the decoded datums: rows outside them cannot satisfy the quals.  inet
 * equality is equality of the stored bytes (family, bits, address).
 */
static inline bool
bounds_match(WarmScanState *st, uint32 r)
{
	if (st->time_att >= 0 && st->cols[st->time_att].decoded &&
		(st->tlo != PG_INT64_MIN || st->thi != PG_INT64_MAX))
	{
		ScanCol    *col = &st->cols[st->time_att];
		TimestampTz t;

		if (col->all_null || col->nulls[r])
			return false;
		t = DatumGetTimestampTz(col->values[r]);
		if (t < st->tlo || t > st->thi)
			return false;
	}
	if (st->src && st->src_att >= 0 && st->cols[st->src_att].decoded &&
		!bytes_equal(&st->cols[st->src_att], r, st->src))
		return false;
	if (st->dst && st->dst_att >= 0 && st->cols[st->dst_att].decoded &&
		!bytes_equal(&st->cols[st->dst_att], r, st->dst))
		return false;
	return true;
}

/*
 * The rows of the current block to return: with quals, evaluate them on the
 * qual columns alone, then decode the other used columns for the matching
 * rows only (late materialisation); without, every row.
 */
static void
select_rows(WarmScanState *st, TupleTableSlot *slot, ExprContext *econtext)
{
	uint32	   *sel;
	uint32		nsel = 0;

	st->row = 0;
	if (!st->has_qual)
	{
		st->sel = NULL;
		st->nsel = st->nrows;
		return;
	}
	sel = MemoryContextAlloc(st->block_cxt, sizeof(uint32) * st->nrows);
	econtext->ecxt_scantuple = slot;
	for (uint32 r = 0; r < st->nrows; r++)
	{
		if (!bounds_match(st, r))
			continue;
		if (!st->quals_exact)
		{
			fill_slot(st, slot, r, true);
			if (!ExecQual(st->qual, econtext))
			{
				ResetExprContext(econtext);
				continue;
			}
			ResetExprContext(econtext);
		}
		sel[nsel++] = r;
	}
	st->sel = sel;
	st->nsel = nsel;
	if (nsel == 0)
		return;
	if (st->whole == NULL && many_streams(st, true))
		fetch_whole(st);
	for (int a = 0; a < st->natts; a++)
		if (st->cols[a].used && !st->cols[a].decoded)
			decode_col(st, a, sel, nsel);
	plan_fill(st, slot);
}

static TupleTableSlot *
warmIterateForeignScan(ForeignScanState *node)
{
	WarmScanState *st = node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;

	if (!st->blocks_found)
	{
		find_blocks(node, st);
		st->blocks_found = true;
	}
	for (;;)
	{
		if (st->row < st->nsel)
		{
			uint32		r = st->sel ? st->sel[st->row] : st->row;

			st->row++;
			fill_slot(st, slot, r, false);
			return slot;
		}
		if (!st->in_side)
		{
			int			i;

			CHECK_FOR_INTERRUPTS();
			if (st->shared)
				i = (int) pg_atomic_fetch_add_u32(&st->shared->next_block, 1);
			else
				i = st->next_block++;
			if (i < st->nblocks)
			{
				load_block(st, i);
				plan_fill(st, slot);
				select_rows(st, slot, econtext);
				continue;
			}
			st->in_side = true;
			st->nsel = st->row = 0;
		}
		if (st->empty || st->side_done)
			return ExecClearTuple(slot);
		if (next_side_row(st, slot, econtext, node->ss.ps.state))
			return slot;
		return ExecClearTuple(slot);
	}
}

static void
warmReScanForeignScan(ForeignScanState *node)
{
	WarmScanState *st = node->fdw_state;

	/* the bounds may depend on parameters that changed */
	if (st->side_scan)
		table_endscan(st->side_scan);
	st->side_scan = NULL;
	st->side_done = false;
	st->in_side = false;
	st->next_block = 0;
	st->nrows = st->nsel = st->row = 0;
	st->empty = false;
	st->nblocks = 0;
	st->blocks_found = false;
}

static void
warmEndForeignScan(ForeignScanState *node)
{
	WarmScanState *st = node->fdw_state;

	if (st == NULL || st->side_rel == NULL)
		return;
	if (st->side_scan)
		table_endscan(st->side_scan);
	ExecDropSingleTupleTableSlot(st->side_slot);
	table_close(st->side_rel, AccessShareLock);
	MemoryContextDelete(st->block_cxt);
}

static void
warmExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	WarmScanState *st = node->fdw_state;

	ExplainPropertyInteger("Warm Filter Clauses", NULL,
						   list_length((List *) linitial(plan->fdw_exprs)), es);
	ExplainPropertyInteger("Block Skip Bounds", NULL,
						   list_length(linitial(plan->fdw_private)), es);
	if (es->analyze && st && st->side_rel)
	{
		ExplainPropertyInteger("Blocks Selected", NULL, st->nblocks, es);
		ExplainPropertyInteger("Blocks In Partition", NULL, st->total_blocks, es);
		ExplainPropertyInteger("Blocks Decoded", NULL, st->blocks_read, es);
	}
}

static bool
warmIsForeignScanParallelSafe(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte)
{
	return true;
}

static Size
warmEstimateDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt)
{
	return sizeof(WarmShared);
}

static void
warmInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt, void *coordinate)
{
	WarmScanState *st = node->fdw_state;
	WarmShared *sh = coordinate;

	pg_atomic_init_u32(&sh->next_block, 0);
	pg_atomic_init_u32(&sh->side_taken, 0);
	st->shared = sh;
}

static void
warmReInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt, void *coordinate)
{
	WarmShared *sh = coordinate;

	pg_atomic_write_u32(&sh->next_block, 0);
	pg_atomic_write_u32(&sh->side_taken, 0);
}

static void
warmInitializeWorkerForeignScan(ForeignScanState *node, shm_toc *toc, void *coordinate)
{
	WarmScanState *st = node->fdw_state;

	st->shared = coordinate;
}

/* ---------------------------------------------------------------- inserting */

typedef struct WarmInsertState
{
	Relation	side_rel;
	TupleTableSlot *side_slot;
	AttrNumber *map;
	CommandId	cid;
	BulkInsertState bistate;
} WarmInsertState;

static WarmInsertState *
begin_insert(Relation rel)
{
	WarmInsertState *is = palloc0(sizeof(WarmInsertState));
	WarmPartInfo info;

	if (!warm_lookup_partition(RelationGetRelid(rel), &info, true))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("foreign table \"%s\" is not a vpcflow warm partition",
						RelationGetRelationName(rel))));
	is->side_rel = table_open(info.side_relid, RowExclusiveLock);
	is->map = map_by_name(RelationGetDescr(rel), RelationGetDescr(is->side_rel));
	is->side_slot = table_slot_create(is->side_rel, NULL);
	is->cid = GetCurrentCommandId(true);
	is->bistate = GetBulkInsertState();
	return is;
}

static TupleTableSlot *
insert_row(Relation rel, WarmInsertState *is, TupleTableSlot *slot)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TupleTableSlot *out = is->side_slot;
	int			nout = RelationGetDescr(is->side_rel)->natts;

	slot_getallattrs(slot);
	ExecClearTuple(out);
	for (int j = 0; j < nout; j++)
	{
		out->tts_values[j] = (Datum) 0;
		out->tts_isnull[j] = true;
	}
	for (int a = 0; a < desc->natts; a++)
	{
		if (TupleDescAttr(desc, a)->attisdropped || slot->tts_isnull[a])
			continue;
		if (is->map[a] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" is missing from the side table of warm partition \"%s\"",
							NameStr(TupleDescAttr(desc, a)->attname), RelationGetRelationName(rel)),
					 errhint("CALL vpcflow.run_maintenance() adds new columns to side tables.")));
		out->tts_values[is->map[a] - 1] = slot->tts_values[a];
		out->tts_isnull[is->map[a] - 1] = false;
	}
	ExecStoreVirtualTuple(out);
	table_tuple_insert(is->side_rel, out, is->cid, 0, is->bistate);
	return slot;
}

static void
end_insert(WarmInsertState *is)
{
	if (is == NULL)
		return;
	FreeBulkInsertState(is->bistate);
	ExecDropSingleTupleTableSlot(is->side_slot);
	table_close(is->side_rel, NoLock);
}

static void
warmBeginForeignInsert(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	rinfo->ri_FdwState = begin_insert(rinfo->ri_RelationDesc);
}

static TupleTableSlot *
warmExecForeignInsert(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot,
					  TupleTableSlot *planSlot)
{
	return insert_row(rinfo->ri_RelationDesc, rinfo->ri_FdwState, slot);
}

static void
warmEndForeignInsert(EState *estate, ResultRelInfo *rinfo)
{
	end_insert(rinfo->ri_FdwState);
}

static void
warmBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo, List *fdw_private,
					   int subplan_index, int eflags)
{
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	rinfo->ri_FdwState = begin_insert(rinfo->ri_RelationDesc);
}

static int
warmIsForeignRelUpdatable(Relation rel)
{
	return 1 << CMD_INSERT;
}

Datum
vpcflow_warm_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *r = makeNode(FdwRoutine);

	r->GetForeignRelSize = warmGetForeignRelSize;
	r->GetForeignPaths = warmGetForeignPaths;
	r->GetForeignPlan = warmGetForeignPlan;
	r->BeginForeignScan = warmBeginForeignScan;
	r->IterateForeignScan = warmIterateForeignScan;
	r->ReScanForeignScan = warmReScanForeignScan;
	r->EndForeignScan = warmEndForeignScan;
	r->ExplainForeignScan = warmExplainForeignScan;
	r->IsForeignScanParallelSafe = warmIsForeignScanParallelSafe;
	r->EstimateDSMForeignScan = warmEstimateDSMForeignScan;
	r->InitializeDSMForeignScan = warmInitializeDSMForeignScan;
	r->ReInitializeDSMForeignScan = warmReInitializeDSMForeignScan;
	r->InitializeWorkerForeignScan = warmInitializeWorkerForeignScan;
	r->BeginForeignInsert = warmBeginForeignInsert;
	r->ExecForeignInsert = warmExecForeignInsert;
	r->EndForeignInsert = warmEndForeignInsert;
	r->BeginForeignModify = warmBeginForeignModify;
	r->EndForeignModify = warmEndForeignInsert;
	r->IsForeignRelUpdatable = warmIsForeignRelUpdatable;
	PG_RETURN_POINTER(r);
}
