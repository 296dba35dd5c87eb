/*
 * aggregates.h
 *		Helpers shared by the aggregate modules (aggregates.c, topk.c,
 *		hll.c): the in/out/recv/send of their state types.
 */
#ifndef VPCFLOW_AGGREGATES_H
#define VPCFLOW_AGGREGATES_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"

#include "aggformat.h"

#ifndef HAVE_INT128
#error "vpcflow's aggregates need a 128-bit integer type"
#endif

/* checks a stored form: NULL if valid, else what is wrong */
typedef const char *(*AggCheckFn) (const uint8_t *buf, size_t len);

/*
 * The state types' I/O: the text form is the stored form in hex digits,
 * the binary form is the stored form; input is validated by check.
 */
extern Datum agg_state_in(const char *type, AggCheckFn check, const char *s);
extern Datum agg_state_out(struct varlena *v);
extern Datum agg_state_recv(const char *type, AggCheckFn check, StringInfo msg);
extern Datum agg_state_send(struct varlena *v);

/* The aggregate's memory context, or an error outside an aggregate. */
extern MemoryContext agg_context(FunctionCallInfo fcinfo, const char *fn);

/*
 * The NULL cases of a combine function whose states are structures merged
 * in place (hll, baseline): true with *result set when a NULL side settles
 * it (the first state when the second is NULL; the second when the first
 * is NULL and the second already lives in cxt); false when the caller must
 * merge the second state into the first, making an empty first state in
 * cxt if it is NULL.
 */
extern bool combine_adopt_nulls(FunctionCallInfo fcinfo, MemoryContext cxt, Datum *result);

#endif							/* VPCFLOW_AGGREGATES_H */
