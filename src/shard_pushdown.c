/*
 * shard_pushdown.c
 *		Partial aggregation on the shards for plain SQL on the coordinator.
 *
 * On a coordinator, vpcflow.flows' leaf partitions are postgres_fdw foreign
 * tables (docs/scaleout.md).  PostgreSQL 15's postgres_fdw pushes an
 * aggregate down only whole, so a GROUP BY that does not contain the
 * partition keys (Q1's srcaddr, Q3's interface_id) ships every qualifying
 * flow row.  With partitionwise aggregation on, the planner asks for a
 * *partial* aggregate per partition; this file offers one that runs on the
 * shard: a Custom Scan sending one remote query that returns the group keys
 * and each aggregate's partial state, exactly as the local Partial
 * Aggregate would have produced it (the state itself, or its serialized
 * bytea for internal states).  The Finalize Aggregate above merges them.
 *
 * Why a per-rel wrapper of GetForeignUpperPaths and not create_upper_paths_hook:
 * PostgreSQL 15 calls no hook for UPPERREL_PARTIAL_GROUP_AGG, only the
 * input rel's FDW (create_partial_grouping_paths).  So set_rel_pathlist_hook
 * gives each postgres_fdw foreign rel of an aggregate query a copy of its
 * FdwRoutine whose GetForeignUpperPaths calls postgres_fdw's and then adds
 * our path at the partial stage.
 *
 * shard_pushdown_exec.c runs the remote queries on postgres_fdw's own
 * connections (same remote transaction and snapshot as the query's other
 * foreign scans), the shards at the same time.  Only expressions that
 * postgres_fdw itself would ship (is_foreign_expr: built-ins and the
 * server's `extensions`) and that the deparser below knows are sent;
 * anything else adds no path, and the plan stays what PostgreSQL would do
 * without this file.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planner.h"
#include "optimizer/tlist.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"

#include "vpcflow.h"
#include "shard_pushdown.h"

#define PGFDW_LIB "$libdir/postgres_fdw"
/* postgres_fdw's default (server option fdw_tuple_cost) */
#define DEFAULT_FDW_TUPLE_COST 0.01

/* postgres_fdw's functions, loaded by load_postgres_fdw() */
ShardPgFdw	pgfdw;

bool		vpcflow_partial_agg_pushdown = true;

static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;

void
load_postgres_fdw(void)
{
	PGFunction	handler;
	FdwRoutine *routine;

	if (pgfdw.loaded)
		return;
#define LOAD(field, name) \
	pgfdw.field = (void *) load_external_function(PGFDW_LIB, name, true, NULL)
	LOAD(GetConnection, "GetConnection");
	LOAD(ReleaseConnection, "ReleaseConnection");
	LOAD(GetCursorNumber, "GetCursorNumber");
	LOAD(exec_query, "pgfdw_exec_query");
	LOAD(get_result, "pgfdw_get_result");
	LOAD(report_error, "pgfdw_report_error");
	LOAD(is_foreign_expr, "is_foreign_expr");
	LOAD(is_shippable, "is_shippable");
	LOAD(set_transmission_modes, "set_transmission_modes");
	LOAD(reset_transmission_modes, "reset_transmission_modes");
#undef LOAD
	/* the handler is a V1 function; called directly it only builds a struct */
	handler = load_external_function(PGFDW_LIB, "postgres_fdw_handler", true, NULL);
	{
		LOCAL_FCINFO(fcinfo, 0);

		InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
		routine = (FdwRoutine *) DatumGetPointer(handler(fcinfo));
	}
	pgfdw.upper_paths = routine->GetForeignUpperPaths;
	pgfdw.loaded = true;
}

/* ---------------------------------------------------------------- deparse */

typedef struct DeparseCtx
{
	StringInfo	buf;
	Index		relid;			/* the foreign rel's range table index */
	Oid			reloid;
} DeparseCtx;

static bool deparse_expr(Node *node, DeparseCtx *ctx);

static void
append_qualified_proc(StringInfo buf, Oid funcoid)
{
	HeapTuple	tp = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcoid));
	Form_pg_proc proc;

	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for function %u", funcoid);
	proc = (Form_pg_proc) GETSTRUCT(tp);
	appendStringInfo(buf, "%s.%s",
					 quote_identifier(get_namespace_name(proc->pronamespace)),
					 quote_identifier(NameStr(proc->proname)));
	ReleaseSysCache(tp);
}

/* OPERATOR(schema.op): resolved remotely exactly as here */
static void
append_qualified_operator(StringInfo buf, Oid opno)
{
	HeapTuple	tp = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Form_pg_operator op;

	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for operator %u", opno);
	op = (Form_pg_operator) GETSTRUCT(tp);
	appendStringInfo(buf, "OPERATOR(%s.%s)",
					 quote_identifier(get_namespace_name(op->oprnamespace)),
					 NameStr(op->oprname));
	ReleaseSysCache(tp);
}

static void
append_type(StringInfo buf, Oid type, int32 typmod)
{
	appendStringInfoString(buf, format_type_extended(type, typmod,
													 FORMAT_TYPE_TYPEMOD_GIVEN |
													 FORMAT_TYPE_FORCE_QUALIFY));
}

/* the remote column name: the column_name option, else the local name */
static char *
remote_column_name(Oid reloid, AttrNumber attnum)
{
	List	   *options = GetForeignColumnOptions(reloid, attnum);
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, "column_name") == 0)
			return defGetString(def);
	}
	return get_attname(reloid, attnum, false);
}

static bool
deparse_list(List *args, const char *sep, DeparseCtx *ctx)
{
	ListCell   *lc;
	bool		first = true;

	foreach(lc, args)
	{
		if (!first)
			appendStringInfoString(ctx->buf, sep);
		first = false;
		if (!deparse_expr(lfirst(lc), ctx))
			return false;
	}
	return true;
}

/*
 * Append expr as remote SQL.  Every node is fully parenthesized, every
 * operator and function schema-qualified, every constant typed, so the
 * remote side (search_path = pg_catalog) resolves exactly the objects used
 * here.  Returns false for anything not handled: the caller adds no path.
 */
static bool
deparse_expr(Node *node, DeparseCtx *ctx)
{
	StringInfo	buf = ctx->buf;

	if (node == NULL)
		return false;
	check_stack_depth();
	switch (nodeTag(node))
	{
		case T_Var:
			{
				Var		   *v = (Var *) node;

				if ((Index) v->varno != ctx->relid || v->varlevelsup != 0 || v->varattno <= 0)
					return false;
				appendStringInfoString(buf, quote_identifier(remote_column_name(ctx->reloid,
																				  v->varattno)));
				return true;
			}
		case T_Const:
			{
				Const	   *c = (Const *) node;

				if (c->constisnull)
					appendStringInfoString(buf, "NULL");
				else
				{
					Oid			typout;
					bool		isvarlena;

					getTypeOutputInfo(c->consttype, &typout, &isvarlena);
					appendStringInfoString(buf,
										   quote_literal_cstr(OidOutputFunctionCall(typout,
																					c->constvalue)));
				}
				appendStringInfoString(buf, "::");
				append_type(buf, c->consttype, c->consttypmod);
				return true;
			}
		case T_OpExpr:
			{
				OpExpr	   *op = (OpExpr *) node;

				appendStringInfoChar(buf, '(');
				if (list_length(op->args) == 2)
				{
					if (!deparse_expr(linitial(op->args), ctx))
						return false;
					appendStringInfoChar(buf, ' ');
					append_qualified_operator(buf, op->opno);
					appendStringInfoChar(buf, ' ');
					if (!deparse_expr(lsecond(op->args), ctx))
						return false;
				}
				else if (list_length(op->args) == 1)
				{
					append_qualified_operator(buf, op->opno);
					appendStringInfoChar(buf, ' ');
					if (!deparse_expr(linitial(op->args), ctx))
						return false;
				}
				else
					return false;
				appendStringInfoChar(buf, ')');
				return true;
			}
		case T_ScalarArrayOpExpr:
			{
				ScalarArrayOpExpr *op = (ScalarArrayOpExpr *) node;

				appendStringInfoChar(buf, '(');
				if (!deparse_expr(linitial(op->args), ctx))
					return false;
				appendStringInfoChar(buf, ' ');
				append_qualified_operator(buf, op->opno);
				appendStringInfoString(buf, op->useOr ? " ANY (" : " ALL (");
				if (!deparse_expr(lsecond(op->args), ctx))
					return false;
				appendStringInfoString(buf, "))");
				return true;
			}
		case T_FuncExpr:
			{
				FuncExpr   *f = (FuncExpr *) node;

				/* a VARIADIC call would need the keyword; not worth it here */
				if (f->funcvariadic)
					return false;
				append_qualified_proc(buf, f->funcid);
				appendStringInfoChar(buf, '(');
				if (!deparse_list(f->args, ", ", ctx))
					return false;
				appendStringInfoChar(buf, ')');
				/* pin the result type when resolution could differ (polymorphics) */
				appendStringInfoString(buf, "::");
				append_type(buf, f->funcresulttype, -1);
				return true;
			}
		case T_BoolExpr:
			{
				BoolExpr   *b = (BoolExpr *) node;

				appendStringInfoChar(buf, '(');
				if (b->boolop == NOT_EXPR)
				{
					appendStringInfoString(buf, "NOT ");
					if (!deparse_expr(linitial(b->args), ctx))
						return false;
				}
				else if (!deparse_list(b->args, b->boolop == AND_EXPR ? " AND " : " OR ", ctx))
					return false;
				appendStringInfoChar(buf, ')');
				return true;
			}
		case T_NullTest:
			{
				NullTest   *nt = (NullTest *) node;

				/* IS NULL on a row value means "all fields null": keep it local */
				if (nt->argisrow || type_is_rowtype(exprType((Node *) nt->arg)))
					return false;
				appendStringInfoChar(buf, '(');
				if (!deparse_expr((Node *) nt->arg, ctx))
					return false;
				appendStringInfoString(buf, nt->nulltesttype == IS_NULL ? " IS NULL)" : " IS NOT NULL)");
				return true;
			}
		case T_RelabelType:
			{
				RelabelType *r = (RelabelType *) node;

				appendStringInfoChar(buf, '(');
				if (!deparse_expr((Node *) r->arg, ctx))
					return false;
				appendStringInfoString(buf, ")::");
				append_type(buf, r->resulttype, r->resulttypmod);
				return true;
			}
		case T_CoerceViaIO:
			{
				CoerceViaIO *c = (CoerceViaIO *) node;

				/* same catalogs on both sides: the remote cast is the same I/O cast */
				appendStringInfoChar(buf, '(');
				if (!deparse_expr((Node *) c->arg, ctx))
					return false;
				appendStringInfoString(buf, ")::");
				append_type(buf, c->resulttype, -1);
				return true;
			}
		default:
			return false;
	}
}

/*
 * Whether expr may run on the shard: postgres_fdw's own rule
 * (is_foreign_expr: built-in or `extensions` objects, immutable, collation
 * from foreign columns), widened for one case it refuses: comparing an
 * I/O cast to text for equality, which is how `action = 'REJECT'` on a
 * vpcflow enum-like type reads without vpcflow on the search_path (Q3).
 * The cast runs the type's output function, the same on both sides
 * (shippable type, immutable), and text equality under the database's
 * default collation is byte equality (deterministic in PostgreSQL 15).
 */
static bool
shippable_expr(PlannerInfo *root, RelOptInfo *rel, Expr *expr)
{
	if (IsA(expr, BoolExpr))
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) expr)->args)
			if (!shippable_expr(root, rel, lfirst(lc)))
				return false;
		return true;
	}
	if (IsA(expr, OpExpr) && list_length(((OpExpr *) expr)->args) == 2 &&
		(get_opcode(((OpExpr *) expr)->opno) == F_TEXTEQ ||
		 get_opcode(((OpExpr *) expr)->opno) == F_TEXTNE) &&
		(((OpExpr *) expr)->inputcollid == DEFAULT_COLLATION_OID ||
		 ((OpExpr *) expr)->inputcollid == C_COLLATION_OID))
	{
		OpExpr	   *op = (OpExpr *) expr;
		ListCell   *lc;

		foreach(lc, op->args)
		{
			Expr	   *arg = lfirst(lc);

			if (IsA(arg, CoerceViaIO))
			{
				CoerceViaIO *io = (CoerceViaIO *) arg;

				if (!pgfdw.is_shippable(exprType((Node *) io->arg), TypeRelationId,
										rel->fdw_private) ||
					contain_mutable_functions((Node *) io) ||
					!pgfdw.is_foreign_expr(root, rel, io->arg))
					return false;
			}
			else if (IsA(arg, Const))
			{
				if (((Const *) arg)->consttype != TEXTOID)
					return false;
			}
			else if (!pgfdw.is_foreign_expr(root, rel, arg))
				return false;
		}
		return true;
	}
	return pgfdw.is_foreign_expr(root, rel, expr);
}

/*
 * The remote form of one partial aggregate, or false.  The remote value
 * must be what the local Partial Aggregate emits (AGGSPLIT_INITIAL_SERIAL):
 *   - state not internal, no final function (count, sum(int4), min, max):
 *     the aggregate's own result *is* its state;
 *   - otherwise a "shadow" aggregate vpcflow.partial_<name>(same args),
 *     checked in the catalog to have the same transition function, state
 *     type and initial value, and as final function the serialization
 *     function (internal states) or none.  src/shard_pushdown.sql
 *     defines them (sum/avg of bigint, ...).
 */
static bool
deparse_partial_aggref(PlannerInfo *root, RelOptInfo *rel, Aggref *agg, DeparseCtx *ctx)
{
	HeapTuple	tp;
	Form_pg_aggregate aggform;
	Oid			transfn,
				finalfn,
				serialfn,
				transtype;
	Datum		initval;
	bool		initnull;
	char	   *initstr = NULL;
	Oid			remote_agg = InvalidOid;
	ListCell   *lc;

	if (agg->aggsplit != AGGSPLIT_INITIAL_SERIAL || agg->aggorder != NIL ||
		agg->aggdistinct != NIL || agg->aggvariadic || agg->aggkind != AGGKIND_NORMAL ||
		agg->agglevelsup != 0 || agg->aggdirectargs != NIL)
		return false;
	/* min/max of text and the like: only under the default collation, as postgres_fdw */
	if (OidIsValid(agg->inputcollid) && agg->inputcollid != DEFAULT_COLLATION_OID)
		return false;

	tp = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(agg->aggfnoid));
	if (!HeapTupleIsValid(tp))
		return false;
	aggform = (Form_pg_aggregate) GETSTRUCT(tp);
	transfn = aggform->aggtransfn;
	finalfn = aggform->aggfinalfn;
	serialfn = aggform->aggserialfn;
	transtype = aggform->aggtranstype;
	initval = SysCacheGetAttr(AGGFNOID, tp, Anum_pg_aggregate_agginitval, &initnull);
	if (!initnull)
		initstr = TextDatumGetCString(initval);
	ReleaseSysCache(tp);

	if (transtype != INTERNALOID && !OidIsValid(finalfn) && !IsPolymorphicType(transtype))
		remote_agg = agg->aggfnoid;
	else
	{
		/* the shadow: vpcflow.partial_<name> with the same argument types */
		Oid			argtypes[FUNC_MAX_ARGS];
		int			nargs = 0;
		List	   *name;

		if (transtype == INTERNALOID && !OidIsValid(serialfn))
			return false;
		foreach(lc, agg->aggargtypes)
		{
			if (nargs >= FUNC_MAX_ARGS)
				return false;
			argtypes[nargs++] = lfirst_oid(lc);
		}
		name = list_make2(makeString("vpcflow"),
						  makeString(psprintf("partial_%s", get_func_name(agg->aggfnoid))));
		remote_agg = LookupFuncName(name, nargs, argtypes, true);
		if (!OidIsValid(remote_agg))
			return false;
		tp = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(remote_agg));
		if (!HeapTupleIsValid(tp))
			return false;
		aggform = (Form_pg_aggregate) GETSTRUCT(tp);
		{
			bool		shadow_initnull;
			Datum		shadow_init = SysCacheGetAttr(AGGFNOID, tp, Anum_pg_aggregate_agginitval,
													  &shadow_initnull);
			bool		same = aggform->aggtransfn == transfn &&
				aggform->aggtranstype == transtype &&
				aggform->aggfinalfn == (transtype == INTERNALOID ? serialfn : InvalidOid) &&
				shadow_initnull == initnull &&
				(initnull || strcmp(TextDatumGetCString(shadow_init), initstr) == 0);

			ReleaseSysCache(tp);
			if (!same)
				return false;
		}
	}
	if (!pgfdw.is_shippable(remote_agg, ProcedureRelationId, rel->fdw_private))
		return false;

	append_qualified_proc(ctx->buf, remote_agg);
	appendStringInfoChar(ctx->buf, '(');
	if (agg->aggstar)
		appendStringInfoChar(ctx->buf, '*');
	else
	{
		bool		first = true;

		foreach(lc, agg->args)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc);

			if (tle->resjunk)
				continue;
			if (!pgfdw.is_foreign_expr(root, rel, tle->expr))
				return false;
			if (!first)
				appendStringInfoString(ctx->buf, ", ");
			first = false;
			if (!deparse_expr((Node *) tle->expr, ctx))
				return false;
		}
	}
	appendStringInfoChar(ctx->buf, ')');
	if (agg->aggfilter)
	{
		if (!shippable_expr(root, rel, agg->aggfilter))
			return false;
		appendStringInfoString(ctx->buf, " FILTER (WHERE ");
		if (!deparse_expr((Node *) agg->aggfilter, ctx))
			return false;
		appendStringInfoChar(ctx->buf, ')');
	}
	return true;
}

/*
 * The remote query for the partial aggregation of rel into target, or NULL.
 * Sets *group_exprs to the grouping expressions (for the group estimate).
 */
static char *
deparse_partial_agg_query(PlannerInfo *root, RelOptInfo *rel, PathTarget *target,
						  List **group_exprs, int *naggs)
{
	RangeTblEntry *rte = planner_rt_fetch(rel->relid, root);
	ForeignTable *table = GetForeignTable(rte->relid);
	StringInfoData sql;
	StringInfoData groupby;
	DeparseCtx	ctx;
	char	   *nspname = NULL;
	char	   *relname = NULL;
	ListCell   *lc;
	int			i = 0;
	bool		ok = true;
	int			nestlevel;

	initStringInfo(&sql);
	initStringInfo(&groupby);
	ctx.buf = &sql;
	ctx.relid = rel->relid;
	ctx.reloid = rte->relid;
	*group_exprs = NIL;
	*naggs = 0;

	/* constants are printed as the remote session reads them */
	nestlevel = pgfdw.set_transmission_modes();
	appendStringInfoString(&sql, "SELECT ");
	foreach(lc, target->exprs)
	{
		Expr	   *expr = lfirst(lc);
		Index		sgref = get_pathtarget_sortgroupref(target, i);

		if (i > 0)
			appendStringInfoString(&sql, ", ");
		i++;
		if (IsA(expr, Aggref))
		{
			ok = deparse_partial_aggref(root, rel, (Aggref *) expr, &ctx);
			(*naggs)++;
		}
		else if (sgref != 0 &&
				 get_sortgroupref_clause_noerr(sgref, root->parse->groupClause) != NULL)
		{
			ok = pgfdw.is_foreign_expr(root, rel, expr) && deparse_expr((Node *) expr, &ctx);
			*group_exprs = lappend(*group_exprs, expr);
			appendStringInfo(&groupby, "%s%d", groupby.len ? ", " : "", i);
		}
		else
			ok = false;			/* neither a grouping column nor an aggregate */
		if (!ok)
			break;
	}
	if (ok)
	{
		foreach(lc, table->options)
		{
			DefElem    *def = lfirst_node(DefElem, lc);

			if (strcmp(def->defname, "schema_name") == 0)
				nspname = defGetString(def);
			else if (strcmp(def->defname, "table_name") == 0)
				relname = defGetString(def);
		}
		appendStringInfo(&sql, " FROM %s.%s",
						 quote_identifier(nspname ? nspname :
										  get_namespace_name(get_rel_namespace(rte->relid))),
						 quote_identifier(relname ? relname : get_rel_name(rte->relid)));
		i = 0;
		foreach(lc, rel->baserestrictinfo)
		{
			RestrictInfo *ri = lfirst_node(RestrictInfo, lc);

			/* every condition must run on the shard, before aggregation */
			ok = shippable_expr(root, rel, ri->clause);
			if (!ok)
				break;
			appendStringInfoString(&sql, i++ == 0 ? " WHERE " : " AND ");
			ok = deparse_expr((Node *) ri->clause, &ctx);
			if (!ok)
				break;
		}
	}
	pgfdw.reset_transmission_modes(nestlevel);
	if (!ok)
		return NULL;
	if (groupby.len > 0)
		appendStringInfo(&sql, " GROUP BY %s", groupby.data);
	return sql.data;
}

/* ---------------------------------------------------------------- planning */

static Plan *plan_partial_agg(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
							  List *tlist, List *clauses, List *custom_plans);

static const CustomPathMethods partial_agg_path_methods = {
	.CustomName = PUSHDOWN_NAME,
	.PlanCustomPath = plan_partial_agg,
};

static const CustomScanMethods partial_agg_scan_methods = {
	.CustomName = PUSHDOWN_NAME,
	.CreateCustomScanState = shard_pushdown_create_state,	/* shard_pushdown_exec.c */
};

double
server_option_real(ForeignServer *server, const char *name, double dflt)
{
	ListCell   *lc;

	foreach(lc, server->options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, name) == 0)
			return strtod(defGetString(def), NULL);
	}
	return dflt;
}

static void
add_partial_agg_path(PlannerInfo *root, RelOptInfo *input_rel, RelOptInfo *output_rel,
					 GroupPathExtraData *extra)
{
	RangeTblEntry *rte;
	Path	   *input_path = input_rel->cheapest_total_path;
	CustomPath *cpath;
	List	   *group_exprs;
	int			naggs;
	char	   *sql;
	double		groups;
	double		in_rows = input_rel->rows;
	double		per_row;
	Cost		agg_cost;
	ForeignServer *server;

	if (extra == NULL || extra->patype != PARTITIONWISE_AGGREGATE_PARTIAL ||
		input_path == NULL || !IS_SIMPLE_REL(input_rel) || input_rel->fdw_private == NULL ||
		!bms_is_empty(input_rel->lateral_relids) || root->parse->groupingSets != NIL)
		return;
	rte = planner_rt_fetch(input_rel->relid, root);
	if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_FOREIGN_TABLE)
		return;

	sql = deparse_partial_agg_query(root, input_rel, output_rel->reltarget, &group_exprs, &naggs);
	if (sql == NULL)
		return;

	/* rows shipped = groups; the shard still reads what the scan would */
	groups = group_exprs == NIL ? 1 :
		estimate_num_groups(root, group_exprs, Max(in_rows, 1), NULL, NULL);
	groups = clamp_row_est(Min(groups, Max(in_rows, 1)));
	server = GetForeignServer(input_rel->serverid);
	per_row = cpu_tuple_cost + server_option_real(server, "fdw_tuple_cost", DEFAULT_FDW_TUPLE_COST);
	agg_cost = in_rows * cpu_operator_cost * (naggs + list_length(group_exprs));

	cpath = makeNode(CustomPath);
	cpath->path.pathtype = T_CustomScan;
	cpath->path.parent = output_rel;
	cpath->path.pathtarget = output_rel->reltarget;
	cpath->path.param_info = NULL;
	cpath->path.parallel_aware = false;
	cpath->path.parallel_safe = false;
	cpath->path.parallel_workers = 0;
	cpath->path.rows = groups;
	cpath->path.startup_cost = input_path->startup_cost + agg_cost;
	/* the foreign scan's cost without shipping its rows, plus shipping the groups */
	cpath->path.total_cost = Max(input_path->total_cost - in_rows * per_row, input_path->startup_cost)
		+ agg_cost + groups * per_row;
	cpath->path.pathkeys = NIL;
	cpath->flags = 0;
	cpath->custom_paths = NIL;
	cpath->custom_private = list_make4(makeString(sql),
									   makeString(psprintf("%u", input_rel->serverid)),
									   makeString(psprintf("%u", input_rel->userid)),
									   makeString(psprintf("%u", rte->relid)));
	cpath->methods = &partial_agg_path_methods;
	add_path(output_rel, &cpath->path);
}

static Plan *
plan_partial_agg(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
				 List *tlist, List *clauses, List *custom_plans)
{
	CustomScan *cscan = makeNode(CustomScan);

	/* the scan returns the target's columns; tlist refers to them (setrefs) */
	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = NIL;
	cscan->scan.scanrelid = 0;
	cscan->custom_scan_tlist = add_to_flat_tlist(NIL, best_path->path.pathtarget->exprs);
	cscan->custom_plans = NIL;
	cscan->custom_exprs = NIL;
	cscan->custom_private = best_path->custom_private;
	/* the partial rel's relids are the foreign rel's (EXPLAIN, setrefs) */
	cscan->custom_relids = bms_copy(rel->relids);
	cscan->flags = best_path->flags;
	cscan->methods = &partial_agg_scan_methods;
	return &cscan->scan.plan;
}

/*
 * Give a postgres_fdw rel of an aggregate query our GetForeignUpperPaths
 * (see the file comment).  The rel's FdwRoutine is its own palloc'd copy
 * (get_relation_info), but it is copied again rather than changed.
 */
static void pushdown_upper_paths(PlannerInfo *root, UpperRelationKind stage,
								 RelOptInfo *input_rel, RelOptInfo *output_rel, void *extra);

static bool
is_postgres_fdw_rel(RelOptInfo *rel)
{
	ForeignServer *server = GetForeignServer(rel->serverid);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	char	   *name = OidIsValid(fdw->fdwhandler) ? get_func_name(fdw->fdwhandler) : NULL;

	if (name == NULL || strcmp(name, "postgres_fdw_handler") != 0)
		return false;
	load_postgres_fdw();
	return rel->fdwroutine->GetForeignUpperPaths == pgfdw.upper_paths;
}

static void
pushdown_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	FdwRoutine *routine;

	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);
	if (!vpcflow_partial_agg_pushdown || !enable_partitionwise_aggregate ||
		(!root->parse->hasAggs && root->parse->groupClause == NIL) ||
		rte->rtekind != RTE_RELATION ||
		rte->relkind != RELKIND_FOREIGN_TABLE || rel->reloptkind != RELOPT_OTHER_MEMBER_REL ||
		rel->fdwroutine == NULL || rel->fdwroutine->GetForeignUpperPaths == NULL ||
		rel->fdwroutine->GetForeignUpperPaths == pushdown_upper_paths ||
		!OidIsValid(rel->serverid) || !is_postgres_fdw_rel(rel))
		return;
	routine = palloc(sizeof(FdwRoutine));
	memcpy(routine, rel->fdwroutine, sizeof(FdwRoutine));
	routine->GetForeignUpperPaths = pushdown_upper_paths;
	rel->fdwroutine = routine;
}

static void
pushdown_upper_paths(PlannerInfo *root, UpperRelationKind stage,
					 RelOptInfo *input_rel, RelOptInfo *output_rel, void *extra)
{
	pgfdw.upper_paths(root, stage, input_rel, output_rel, extra);
	if (stage == UPPERREL_PARTIAL_GROUP_AGG && vpcflow_partial_agg_pushdown)
		add_partial_agg_path(root, input_rel, output_rel, (GroupPathExtraData *) extra);
}

/* ---------------------------------------------------------------- setup */

void
shard_pushdown_init(void)
{
	DefineCustomBoolVariable("vpcflow.partial_agg_pushdown",
							 "Computes partial aggregates on postgres_fdw shards.",
							 "With enable_partitionwise_aggregate on, a GROUP BY over "
							 "foreign partitions ships per-group partial states instead "
							 "of rows (docs/scaleout.md).",
							 &vpcflow_partial_agg_pushdown,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	RegisterCustomScanMethods(&partial_agg_scan_methods);
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = pushdown_set_rel_pathlist;
}
