/*
 * shard_pushdown.h
 *		Partial aggregates on postgres_fdw shards: what the planner part
 *		(shard_pushdown.c) and the executor part (shard_pushdown_exec.c) share.
 */
#ifndef SHARD_PUSHDOWN_H
#define SHARD_PUSHDOWN_H

#include "postgres.h"

#include "libpq-fe.h"

#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "nodes/plannodes.h"

#define PUSHDOWN_NAME "ShardPartialAgg"

/*
 * postgres_fdw's exported functions (contrib/postgres_fdw/postgres_fdw.h of
 * PostgreSQL 15; the header is not installed).  PgFdwConnState is opaque
 * here except for its first field, postgres_fdw's pending async request.
 */
typedef struct PgFdwConnState PgFdwConnState;

typedef struct ShardPgFdw
{
	bool		loaded;
	PGconn	   *(*GetConnection) (UserMapping *user, bool will_prep_stmt,
								  PgFdwConnState **state);
	void		(*ReleaseConnection) (PGconn *conn);
	unsigned int (*GetCursorNumber) (PGconn *conn);
	PGresult   *(*exec_query) (PGconn *conn, const char *query, PgFdwConnState *state);
	PGresult   *(*get_result) (PGconn *conn, const char *query);
	void		(*report_error) (int elevel, PGresult *res, PGconn *conn, bool clear,
								 const char *sql);
	bool		(*is_foreign_expr) (PlannerInfo *root, RelOptInfo *baserel, Expr *expr);
	bool		(*is_shippable) (Oid objectId, Oid classId, void *fpinfo);
	int			(*set_transmission_modes) (void);
	void		(*reset_transmission_modes) (int nestlevel);
	GetForeignUpperPaths_function upper_paths;	/* postgres_fdw's own */
} ShardPgFdw;

extern ShardPgFdw pgfdw;
extern void load_postgres_fdw(void);
extern double server_option_real(ForeignServer *server, const char *name, double dflt);

/*
 * The Custom Scan's private list: remote SQL, server OID, user OID (0: the
 * current user), foreign table OID, all as strings.
 */
extern Node *shard_pushdown_create_state(CustomScan *cscan);

#endif							/* SHARD_PUSHDOWN_H */
