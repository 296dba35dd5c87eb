/*
 * shard_pushdown_exec.c
 *		Runs the ShardPartialAgg Custom Scan planned by shard_pushdown.c: one
 *		remote query per foreign partition, returning group keys and partial
 *		aggregate states, read through a cursor on postgres_fdw's connection.
 *
 * The shards work at the same time.  The Append above the scans runs its
 * children one after another, and a Custom Scan cannot join postgres_fdw's
 * asynchronous execution (PostgreSQL 15 has it for Foreign Scans only).  So
 * the first scan of an Append to run sends, besides its own, the first
 * request of each sibling scan whose connection is free; each sibling later
 * reads the answer waiting for it.  A connection carries one request at a
 * time: a scan that needs a connection on which another scan's request is
 * in flight first reads that answer and keeps it for its owner.  A scan
 * whose server the query also reads through postgres_fdw's own Foreign
 * Scans is never sent early (postgres_fdw would find the connection busy).
 * The Finalize Aggregate above the Append reads all of it before anything
 * else of the query runs.
 */
#include "postgres.h"

#include "commands/explain.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "shard_pushdown.h"

/* postgres_fdw's default (server option fetch_size) */
#define DEFAULT_FETCH_SIZE 100

typedef struct PartialAggState
{
	CustomScanState css;
	char	   *sql;
	Oid			serverid;
	Oid			userid;			/* 0: the current user */
	Oid			relid;
	int			fetch_size;
	PGconn	   *conn;
	PgFdwConnState *connstate;
	EState	   *estate;
	Plan	   *append;			/* the Append holding this scan, or NULL */
	bool		early_ok;		/* may be sent before its turn */
	bool		started;		/* its first request was sent */
	bool		pending;		/* a request is in flight, its answer unread */
	char	   *request;		/* the last request sent */
	unsigned int cursor;
	bool		cursor_open;
	bool		eof;			/* the cursor has no more rows */
	PGresult   *res;			/* current batch (malloc'd by libpq) */
	int			nrows;
	int			row;
	FmgrInfo   *infuncs;
	Oid		   *ioparams;
	int32	   *typmods;
	MemoryContext row_cxt;
	MemoryContextCallback cleanup;
} PartialAggState;

/* this backend's scans between Begin and End (cells in TopMemoryContext) */
static List *live_scans = NIL;

static void begin_partial_agg(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *exec_partial_agg(CustomScanState *node);
static void end_partial_agg(CustomScanState *node);
static void rescan_partial_agg(CustomScanState *node);
static void explain_partial_agg(CustomScanState *node, List *ancestors, ExplainState *es);

static const CustomExecMethods partial_agg_exec_methods = {
	.CustomName = PUSHDOWN_NAME,
	.BeginCustomScan = begin_partial_agg,
	.ExecCustomScan = exec_partial_agg,
	.EndCustomScan = end_partial_agg,
	.ReScanCustomScan = rescan_partial_agg,
	.ExplainCustomScan = explain_partial_agg,
};

Node *
shard_pushdown_create_state(CustomScan *cscan)
{
	PartialAggState *state = (PartialAggState *) newNode(sizeof(PartialAggState),
														 T_CustomScanState);

	state->css.methods = &partial_agg_exec_methods;
	state->sql = strVal(linitial(cscan->custom_private));
	state->serverid = atooid(strVal(lsecond(cscan->custom_private)));
	state->userid = atooid(strVal(lthird(cscan->custom_private)));
	state->relid = atooid(strVal(lfourth(cscan->custom_private)));
	return (Node *) state;
}

/* ---------------------------------------------------------------- plan walk */

static List *
plan_children(Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_Append:
			return ((Append *) plan)->appendplans;
		case T_MergeAppend:
			return ((MergeAppend *) plan)->mergeplans;
		case T_BitmapAnd:
			return ((BitmapAnd *) plan)->bitmapplans;
		case T_BitmapOr:
			return ((BitmapOr *) plan)->bitmapplans;
		case T_SubqueryScan:
			return list_make1(((SubqueryScan *) plan)->subplan);
		case T_CustomScan:
			return ((CustomScan *) plan)->custom_plans;
		default:
			return NIL;
	}
}

/* whether a postgres_fdw-style Foreign Scan of the server is in the plan */
static bool
plan_reads_server(Plan *plan, Oid serverid)
{
	ListCell   *lc;

	if (plan == NULL)
		return false;
	check_stack_depth();
	if (IsA(plan, ForeignScan) && ((ForeignScan *) plan)->fs_server == serverid)
		return true;
	foreach(lc, plan_children(plan))
		if (plan_reads_server(lfirst(lc), serverid))
			return true;
	return plan_reads_server(plan->lefttree, serverid) ||
		plan_reads_server(plan->righttree, serverid);
}

/* the Append whose direct child is target, or NULL */
static Plan *
parent_append(Plan *plan, Plan *target)
{
	ListCell   *lc;
	Plan	   *found;

	if (plan == NULL)
		return NULL;
	check_stack_depth();
	if (IsA(plan, Append) && list_member_ptr(((Append *) plan)->appendplans, target))
		return plan;
	foreach(lc, plan_children(plan))
		if ((found = parent_append(lfirst(lc), target)) != NULL)
			return found;
	if ((found = parent_append(plan->lefttree, target)) != NULL)
		return found;
	return parent_append(plan->righttree, target);
}

/* ---------------------------------------------------------------- begin / end */

/* the query's memory is going (end, error, cancel): forget the scan */
static void
forget_scan(void *arg)
{
	PartialAggState *state = arg;
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	live_scans = list_delete_ptr(live_scans, state);
	MemoryContextSwitchTo(old);
	if (state->res)
		PQclear(state->res);
	state->res = NULL;
}

static void
begin_partial_agg(CustomScanState *node, EState *estate, int eflags)
{
	PartialAggState *state = (PartialAggState *) node;
	TupleDesc	desc = node->ss.ss_ScanTupleSlot->tts_tupleDescriptor;
	PlannedStmt *stmt = estate->es_plannedstmt;
	ForeignServer *server;
	UserMapping *user;
	ListCell   *lc;
	MemoryContext old;
	int			i;

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	load_postgres_fdw();
	server = GetForeignServer(state->serverid);
	state->fetch_size = (int) server_option_real(server, "fetch_size", DEFAULT_FETCH_SIZE);
	if (state->fetch_size <= 0)
		state->fetch_size = DEFAULT_FETCH_SIZE;
	user = GetUserMapping(OidIsValid(state->userid) ? state->userid : GetUserId(), state->serverid);
	/* postgres_fdw's connection: it names the server when the shard is down */
	state->conn = pgfdw.GetConnection(user, false, &state->connstate);
	state->estate = estate;

	state->append = parent_append(stmt->planTree, node->ss.ps.plan);
	state->early_ok = state->append != NULL && !plan_reads_server(stmt->planTree, state->serverid);
	foreach(lc, stmt->subplans)
		if (plan_reads_server(lfirst(lc), state->serverid))
			state->early_ok = false;

	state->infuncs = palloc(sizeof(FmgrInfo) * desc->natts);
	state->ioparams = palloc(sizeof(Oid) * desc->natts);
	state->typmods = palloc(sizeof(int32) * desc->natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Oid			infunc;

		getTypeInputInfo(att->atttypid, &infunc, &state->ioparams[i]);
		fmgr_info(infunc, &state->infuncs[i]);
		state->typmods[i] = att->atttypmod;
	}
	state->row_cxt = AllocSetContextCreate(estate->es_query_cxt, "vpcflow partial agg row",
										   ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(TopMemoryContext);
	live_scans = lappend(live_scans, state);
	MemoryContextSwitchTo(old);
	state->cleanup.func = forget_scan;
	state->cleanup.arg = state;
	MemoryContextRegisterResetCallback(estate->es_query_cxt, &state->cleanup);
}

/* ---------------------------------------------------------------- requests */

/* res (a FETCH's answer) becomes the current batch */
static void
take_batch(PartialAggState *state, PGresult *res)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		pgfdw.report_error(ERROR, res, state->conn, true, state->request);
	if (state->res)
		PQclear(state->res);
	state->res = res;
	state->nrows = PQntuples(res);
	state->row = 0;
	state->eof = state->nrows < state->fetch_size;
	if (PQnfields(res) != state->css.ss.ss_ScanTupleSlot->tts_tupleDescriptor->natts)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("remote partial aggregate returned %d columns, expected %d",
						PQnfields(res), state->css.ss.ss_ScanTupleSlot->tts_tupleDescriptor->natts),
				 errdetail("Remote SQL: %s", state->sql)));
}

/* wait for the answer to the request in flight */
static void
read_answer(PartialAggState *state)
{
	state->pending = false;
	take_batch(state, pgfdw.get_result(state->conn, state->request));
}

/* before using the connection: read any other scan's answer still on it */
static void
claim_connection(PartialAggState *state)
{
	ListCell   *lc;

	foreach(lc, live_scans)
	{
		PartialAggState *other = lfirst(lc);

		if (other != state && other->pending && other->conn == state->conn)
			read_answer(other);
	}
}

static bool
connection_free(PartialAggState *state)
{
	ListCell   *lc;

	/* postgres_fdw's own request in flight (PgFdwConnState's first field) */
	if (state->connstate && *(void **) state->connstate != NULL)
		return false;
	foreach(lc, live_scans)
	{
		PartialAggState *other = lfirst(lc);

		if (other->pending && other->conn == state->conn)
			return false;
	}
	return true;
}

/*
 * Ask for the next batch: the cursor is declared by the first request.
 * async: send and return (read_answer later); otherwise wait for it.
 */
static void
request_batch(PartialAggState *state, bool async)
{
	if (!state->cursor_open)
	{
		state->cursor = pgfdw.GetCursorNumber(state->conn);
		state->request = psprintf("DECLARE c%u CURSOR FOR\n%s;\nFETCH %d FROM c%u",
								  state->cursor, state->sql, state->fetch_size, state->cursor);
		state->cursor_open = true;
	}
	else
		state->request = psprintf("FETCH %d FROM c%u", state->fetch_size, state->cursor);
	state->started = true;
	if (async)
	{
		if (!PQsendQuery(state->conn, state->request))
			pgfdw.report_error(ERROR, NULL, state->conn, false, state->request);
		state->pending = true;
		return;
	}
	claim_connection(state);
	/* pgfdw_exec_query first completes postgres_fdw's own pending request */
	take_batch(state, pgfdw.exec_query(state->conn, state->request, state->connstate));
}

/* the first scan of an Append to run starts its siblings too */
static void
start_scans(PartialAggState *state)
{
	ListCell   *lc;

	if (!state->early_ok || !connection_free(state))
	{
		request_batch(state, false);
		return;
	}
	request_batch(state, true);
	foreach(lc, live_scans)
	{
		PartialAggState *other = lfirst(lc);

		if (other != state && !other->started && other->early_ok &&
			other->estate == state->estate && other->append == state->append &&
			connection_free(other))
			request_batch(other, true);
	}
	read_answer(state);
}

/* ---------------------------------------------------------------- rows */

static TupleTableSlot *
next_group(ScanState *ss)
{
	PartialAggState *state = (PartialAggState *) ss;
	TupleTableSlot *slot = ss->ss_ScanTupleSlot;
	int			natts = slot->tts_tupleDescriptor->natts;
	MemoryContext old;
	int			i;

	ExecClearTuple(slot);
	if (state->res == NULL || state->row >= state->nrows)
	{
		if (state->pending)
			read_answer(state);		/* sent early by a sibling */
		else if (!state->started)
			start_scans(state);
		else if (state->eof)
			return slot;
		else
			request_batch(state, false);
		if (state->nrows == 0)
			return slot;
	}
	MemoryContextReset(state->row_cxt);
	old = MemoryContextSwitchTo(state->row_cxt);
	for (i = 0; i < natts; i++)
	{
		if (PQgetisnull(state->res, state->row, i))
		{
			slot->tts_values[i] = (Datum) 0;
			slot->tts_isnull[i] = true;
		}
		else
		{
			slot->tts_values[i] = InputFunctionCall(&state->infuncs[i],
													PQgetvalue(state->res, state->row, i),
													state->ioparams[i], state->typmods[i]);
			slot->tts_isnull[i] = false;
		}
	}
	MemoryContextSwitchTo(old);
	state->row++;
	return ExecStoreVirtualTuple(slot);
}

static bool
recheck_group(ScanState *ss, TupleTableSlot *slot)
{
	return true;
}

static TupleTableSlot *
exec_partial_agg(CustomScanState *node)
{
	return ExecScan(&node->ss, next_group, recheck_group);
}

/* drop the cursor (after reading any answer still due to it) */
static void
close_cursor(PartialAggState *state)
{
	if (state->pending)
		read_answer(state);
	if (state->res)
		PQclear(state->res);
	state->res = NULL;
	state->nrows = state->row = 0;
	if (state->cursor_open)
	{
		char	   *sql = psprintf("CLOSE c%u", state->cursor);
		PGresult   *res;

		claim_connection(state);
		res = pgfdw.exec_query(state->conn, sql, state->connstate);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			pgfdw.report_error(ERROR, res, state->conn, true, sql);
		PQclear(res);
	}
	state->cursor_open = false;
	state->eof = false;
}

static void
rescan_partial_agg(CustomScanState *node)
{
	PartialAggState *state = (PartialAggState *) node;

	if (state->conn == NULL)
		return;
	close_cursor(state);
	state->started = true;		/* a rescan reads in its own turn */
}

static void
end_partial_agg(CustomScanState *node)
{
	PartialAggState *state = (PartialAggState *) node;

	if (state->conn == NULL)
		return;
	close_cursor(state);
	pgfdw.ReleaseConnection(state->conn);
	state->conn = NULL;
	forget_scan(state);
}

static void
explain_partial_agg(CustomScanState *node, List *ancestors, ExplainState *es)
{
	PartialAggState *state = (PartialAggState *) node;

	ExplainPropertyText("Relations",
						psprintf("Partial Aggregate on (%s.%s)",
								 quote_identifier(get_namespace_name(get_rel_namespace(state->relid))),
								 quote_identifier(get_rel_name(state->relid))),
						es);
	if (es->verbose)
	{
		ExplainPropertyText("Server", GetForeignServer(state->serverid)->servername, es);
		ExplainPropertyText("Remote SQL", state->sql, es);
	}
}
