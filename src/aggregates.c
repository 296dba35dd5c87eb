/*
 * aggregates.c
 *		Exact flow statistics as mergeable aggregates:
 *		vpcflow.reject_rate(action), vpcflow.flow_stats(...) with its
 *		storable state type vpcflow.flow_stats_state, vpcflow.flow_stats_merge
 *		and the egress helpers vpcflow.is_private_address(inet) and
 *		vpcflow.egress_bytes(dstaddr, bytes).
 *
 * Every aggregate keeps its state in a C struct (stype internal) and has
 * combine, serialize and deserialize functions, so it runs in parallel
 * workers.  The serialized form of a flow_stats state is the stored form
 * of vpcflow.flow_stats_state (aggformat.h, docs/aggregates.md).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include <sys/socket.h>

#include "utils/inet.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "aggregates.h"
#include "flowparse.h"

MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext cxt;

	if (!AggCheckCallContext(fcinfo, &cxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called in non-aggregate context", fn)));
	return cxt;
}

/*
 * The NULL cases of a combine function over a fixed-size state.  Returns
 * true with the function's result in *result when a side is NULL (b
 * copied into the aggregate context when only a is NULL); false when both
 * states are there to be added.
 */
static bool
combine_nulls(FunctionCallInfo fcinfo, const char *fn, Size size, Datum *result)
{
	MemoryContext cxt = agg_context(fcinfo, fn);
	void	   *copy;

	if (PG_ARGISNULL(1))
	{
		fcinfo->isnull = PG_ARGISNULL(0);
		*result = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
		return true;
	}
	if (!PG_ARGISNULL(0))
		return false;
	copy = MemoryContextAlloc(cxt, size);
	memcpy(copy, PG_GETARG_POINTER(1), size);
	*result = PointerGetDatum(copy);
	return true;
}

bool
combine_adopt_nulls(FunctionCallInfo fcinfo, MemoryContext cxt, Datum *result)
{
	if (PG_ARGISNULL(1))
	{
		fcinfo->isnull = PG_ARGISNULL(0);
		*result = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
		return true;
	}
	/* a worker's state lives in another context: then it is merged into a new one */
	if (PG_ARGISNULL(0) && GetMemoryChunkContext(PG_GETARG_POINTER(1)) == cxt)
	{
		*result = PG_GETARG_DATUM(1);
		return true;
	}
	return false;
}

/* An int128 as numeric (sum(bigint) returns numeric too). */
static Datum
int128_to_numeric_datum(int128 v)
{
	char		buf[48];
	char	   *p = buf + sizeof(buf);
	bool		neg = v < 0;
	uint128		u = neg ? -(uint128) v : (uint128) v;

	if (v >= PG_INT64_MIN && v <= PG_INT64_MAX)
		return NumericGetDatum(int64_to_numeric((int64) v));
	*--p = '\0';
	do
	{
		*--p = (char) ('0' + (int) (u % 10));
		u /= 10;
	} while (u != 0);
	if (neg)
		*--p = '-';
	return DirectFunctionCall3(numeric_in, CStringGetDatum(p),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

static void
put_i128(uint8 *p, int128 v)
{
	agg_put_u64(p, (uint64) ((uint128) v >> 64));
	agg_put_u64(p + 8, (uint64) v);
}

static int128
get_i128(const uint8 *p)
{
	return (int128) (((uint128) agg_get_u64(p) << 64) | agg_get_u64(p + 8));
}

/* ================================================================
 * reject_rate(action): rejects / flows with an action
 * ================================================================ */

typedef struct RejectRate
{
	int64		accepts;
	int64		rejects;
} RejectRate;

#define REJECT_RATE_SERIAL_SIZE 17

PG_FUNCTION_INFO_V1(reject_rate_transfn);
Datum
reject_rate_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "reject_rate_transfn");
	RejectRate *s;

	if (PG_ARGISNULL(0))
		s = MemoryContextAllocZero(cxt, sizeof(RejectRate));
	else
		s = (RejectRate *) PG_GETARG_POINTER(0);
	if (!PG_ARGISNULL(1))
	{
		uint8		a = (uint8) PG_GETARG_CHAR(1);

		if (a == FLOW_ACTION_REJECT)
			s->rejects++;
		else if (a == FLOW_ACTION_ACCEPT)
			s->accepts++;
	}
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(reject_rate_combine);
Datum
reject_rate_combine(PG_FUNCTION_ARGS)
{
	RejectRate	*a;
	RejectRate	*b;
	Datum		result;

	if (combine_nulls(fcinfo, "reject_rate_combine", sizeof(RejectRate), &result))
		return result;
	a = (RejectRate *) PG_GETARG_POINTER(0);
	b = (RejectRate *) PG_GETARG_POINTER(1);
	a->accepts += b->accepts;
	a->rejects += b->rejects;
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(reject_rate_serialize);
Datum
reject_rate_serialize(PG_FUNCTION_ARGS)
{
	RejectRate *s = (RejectRate *) PG_GETARG_POINTER(0);
	bytea	   *out = palloc(VARHDRSZ + REJECT_RATE_SERIAL_SIZE);
	uint8	   *p = (uint8 *) VARDATA(out);

	SET_VARSIZE(out, VARHDRSZ + REJECT_RATE_SERIAL_SIZE);
	p[0] = AGG_FORMAT_VERSION;
	agg_put_u64(p + 1, (uint64) s->accepts);
	agg_put_u64(p + 9, (uint64) s->rejects);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(reject_rate_deserialize);
Datum
reject_rate_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	const uint8 *p = (const uint8 *) VARDATA_ANY(in);
	RejectRate *s;

	agg_context(fcinfo, "reject_rate_deserialize");
	if (VARSIZE_ANY_EXHDR(in) != REJECT_RATE_SERIAL_SIZE || p[0] != AGG_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid reject_rate state")));
	s = palloc(sizeof(RejectRate));
	s->accepts = (int64) agg_get_u64(p + 1);
	s->rejects = (int64) agg_get_u64(p + 9);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(reject_rate_final);
Datum
reject_rate_final(PG_FUNCTION_ARGS)
{
	RejectRate *s = PG_ARGISNULL(0) ? NULL : (RejectRate *) PG_GETARG_POINTER(0);

	if (s == NULL || s->accepts + s->rejects == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8((double) s->rejects / (double) (s->accepts + s->rejects));
}

/* ================================================================
 * flow_stats(action, packets, bytes, start_time, end_time)
 * ================================================================ */

typedef struct FlowStats
{
	int64		flows;
	int64		accepts;
	int64		rejects;
	int64		packets_n;
	int64		bytes_n;
	int128		packets_sum;
	int128		bytes_sum;
	bool		has_first;
	bool		has_last;
	TimestampTz first_start;
	TimestampTz last_end;
} FlowStats;

static FlowStats *
flow_stats_state_arg(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext cxt = agg_context(fcinfo, fn);

	if (PG_ARGISNULL(0))
		return MemoryContextAllocZero(cxt, sizeof(FlowStats));
	return (FlowStats *) PG_GETARG_POINTER(0);
}

static void
flow_stats_add(FlowStats *a, const FlowStats *b)
{
	a->flows += b->flows;
	a->accepts += b->accepts;
	a->rejects += b->rejects;
	a->packets_n += b->packets_n;
	a->bytes_n += b->bytes_n;
	a->packets_sum += b->packets_sum;
	a->bytes_sum += b->bytes_sum;
	if (b->has_first && (!a->has_first || b->first_start < a->first_start))
	{
		a->has_first = true;
		a->first_start = b->first_start;
	}
	if (b->has_last && (!a->has_last || b->last_end > a->last_end))
	{
		a->has_last = true;
		a->last_end = b->last_end;
	}
}

static void
flow_stats_encode(const FlowStats *s, uint8 *p)
{
	p[0] = AGG_FORMAT_VERSION;
	p[1] = (s->has_first ? FLOW_STATS_HAS_FIRST : 0) | (s->has_last ? FLOW_STATS_HAS_LAST : 0);
	agg_put_u64(p + 2, (uint64) s->flows);
	agg_put_u64(p + 10, (uint64) s->accepts);
	agg_put_u64(p + 18, (uint64) s->rejects);
	agg_put_u64(p + 26, (uint64) s->packets_n);
	put_i128(p + 34, s->packets_sum);
	agg_put_u64(p + 50, (uint64) s->bytes_n);
	put_i128(p + 58, s->bytes_sum);
	agg_put_u64(p + 74, s->has_first ? (uint64) s->first_start : 0);
	agg_put_u64(p + 82, s->has_last ? (uint64) s->last_end : 0);
}

/* Decode a stored form (validated here: it may come from anywhere). */
static void
flow_stats_decode(const uint8 *p, size_t len, FlowStats *s)
{
	const char *msg = agg_check_flow_stats(p, len);

	if (msg != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid vpcflow.flow_stats_state: %s", msg)));
	s->has_first = (p[1] & FLOW_STATS_HAS_FIRST) != 0;
	s->has_last = (p[1] & FLOW_STATS_HAS_LAST) != 0;
	s->flows = (int64) agg_get_u64(p + 2);
	s->accepts = (int64) agg_get_u64(p + 10);
	s->rejects = (int64) agg_get_u64(p + 18);
	s->packets_n = (int64) agg_get_u64(p + 26);
	s->packets_sum = get_i128(p + 34);
	s->bytes_n = (int64) agg_get_u64(p + 50);
	s->bytes_sum = get_i128(p + 58);
	s->first_start = (TimestampTz) agg_get_u64(p + 74);
	s->last_end = (TimestampTz) agg_get_u64(p + 82);
}

static bytea *
flow_stats_to_varlena(const FlowStats *s)
{
	bytea	   *out = palloc(VARHDRSZ + FLOW_STATS_FORMAT_SIZE);

	SET_VARSIZE(out, VARHDRSZ + FLOW_STATS_FORMAT_SIZE);
	flow_stats_encode(s, (uint8 *) VARDATA(out));
	return out;
}

PG_FUNCTION_INFO_V1(flow_stats_transfn);
Datum
flow_stats_transfn(PG_FUNCTION_ARGS)
{
	FlowStats  *s = flow_stats_state_arg(fcinfo, "flow_stats_transfn");

	s->flows++;
	if (!PG_ARGISNULL(1))
	{
		uint8		a = (uint8) PG_GETARG_CHAR(1);

		if (a == FLOW_ACTION_REJECT)
			s->rejects++;
		else if (a == FLOW_ACTION_ACCEPT)
			s->accepts++;
	}
	if (!PG_ARGISNULL(2))
	{
		s->packets_n++;
		s->packets_sum += PG_GETARG_INT64(2);
	}
	if (!PG_ARGISNULL(3))
	{
		s->bytes_n++;
		s->bytes_sum += PG_GETARG_INT64(3);
	}
	if (!PG_ARGISNULL(4))
	{
		TimestampTz t = PG_GETARG_TIMESTAMPTZ(4);

		if (!s->has_first || t < s->first_start)
		{
			s->has_first = true;
			s->first_start = t;
		}
	}
	if (!PG_ARGISNULL(5))
	{
		TimestampTz t = PG_GETARG_TIMESTAMPTZ(5);

		if (!s->has_last || t > s->last_end)
		{
			s->has_last = true;
			s->last_end = t;
		}
	}
	PG_RETURN_POINTER(s);
}

/* flow_stats_merge(flow_stats_state): add a stored state */
PG_FUNCTION_INFO_V1(flow_stats_merge_transfn);
Datum
flow_stats_merge_transfn(PG_FUNCTION_ARGS)
{
	FlowStats  *s = flow_stats_state_arg(fcinfo, "flow_stats_merge_transfn");

	if (!PG_ARGISNULL(1))
	{
		bytea	   *v = PG_GETARG_BYTEA_PP(1);
		FlowStats	b;

		flow_stats_decode((const uint8 *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), &b);
		flow_stats_add(s, &b);
	}
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(flow_stats_combine);
Datum
flow_stats_combine(PG_FUNCTION_ARGS)
{
	FlowStats	*a;
	FlowStats	*b;
	Datum		result;

	if (combine_nulls(fcinfo, "flow_stats_combine", sizeof(FlowStats), &result))
		return result;
	a = (FlowStats *) PG_GETARG_POINTER(0);
	b = (FlowStats *) PG_GETARG_POINTER(1);
	flow_stats_add(a, b);
	PG_RETURN_POINTER(a);
}

/* serialfunc, and the final function of the flow_stats_state aggregates */
PG_FUNCTION_INFO_V1(flow_stats_serialize);
Datum
flow_stats_serialize(PG_FUNCTION_ARGS)
{
	FlowStats	empty = {0};
	FlowStats  *s = PG_ARGISNULL(0) ? &empty : (FlowStats *) PG_GETARG_POINTER(0);

	PG_RETURN_BYTEA_P(flow_stats_to_varlena(s));
}

PG_FUNCTION_INFO_V1(flow_stats_deserialize);
Datum
flow_stats_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *v = PG_GETARG_BYTEA_PP(0);
	FlowStats  *s;

	agg_context(fcinfo, "flow_stats_deserialize");
	s = palloc(sizeof(FlowStats));
	flow_stats_decode((const uint8 *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), s);
	PG_RETURN_POINTER(s);
}

/* The vpcflow.flow_stats composite of a state. */
static Datum
flow_stats_result(FunctionCallInfo fcinfo, const FlowStats *s)
{
	TupleDesc	td;
	Datum		values[8];
	bool		nulls[8] = {false};
	int64		acted = s->accepts + s->rejects;

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE || td->natts != 8)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("function returning vpcflow.flow_stats called in an unexpected context")));
	td = BlessTupleDesc(td);
	values[0] = Int64GetDatum(s->flows);
	if (s->packets_n > 0)
		values[1] = int128_to_numeric_datum(s->packets_sum);
	else
		nulls[1] = true;
	if (s->bytes_n > 0)
		values[2] = int128_to_numeric_datum(s->bytes_sum);
	else
		nulls[2] = true;
	values[3] = Int64GetDatum(s->accepts);
	values[4] = Int64GetDatum(s->rejects);
	values[5] = TimestampTzGetDatum(s->first_start);
	nulls[5] = !s->has_first;
	values[6] = TimestampTzGetDatum(s->last_end);
	nulls[6] = !s->has_last;
	if (acted > 0)
		values[7] = Float8GetDatum((double) s->rejects / (double) acted);
	else
		nulls[7] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(td, values, nulls)));
}

PG_FUNCTION_INFO_V1(flow_stats_final);
Datum
flow_stats_final(PG_FUNCTION_ARGS)
{
	FlowStats	empty = {0};

	return flow_stats_result(fcinfo,
							 PG_ARGISNULL(0) ? &empty : (FlowStats *) PG_GETARG_POINTER(0));
}

/* flow_stats_final(flow_stats_state): the composite of a stored state */
PG_FUNCTION_INFO_V1(flow_stats_state_result);
Datum
flow_stats_state_result(PG_FUNCTION_ARGS)
{
	bytea	   *v = PG_GETARG_BYTEA_PP(0);
	FlowStats	s;

	flow_stats_decode((const uint8 *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), &s);
	return flow_stats_result(fcinfo, &s);
}

/* flow_stats_state + flow_stats_state */
PG_FUNCTION_INFO_V1(flow_stats_state_add);
Datum
flow_stats_state_add(PG_FUNCTION_ARGS)
{
	bytea	   *va = PG_GETARG_BYTEA_PP(0);
	bytea	   *vb = PG_GETARG_BYTEA_PP(1);
	FlowStats	a,
				b;

	flow_stats_decode((const uint8 *) VARDATA_ANY(va), VARSIZE_ANY_EXHDR(va), &a);
	flow_stats_decode((const uint8 *) VARDATA_ANY(vb), VARSIZE_ANY_EXHDR(vb), &b);
	flow_stats_add(&a, &b);
	PG_RETURN_BYTEA_P(flow_stats_to_varlena(&a));
}

/* ---------- the vpcflow.flow_stats_state type ---------- */

/*
 * Shared by the state types of this module, topk.c and hll.c: the text
 * form is the stored form in lowercase hex, the binary form is the stored
 * form itself; check validates both.
 */

static bytea *
state_from_bytes(const char *type, AggCheckFn check, const char *buf, size_t len)
{
	const char *msg = check((const uint8_t *) buf, len);
	bytea	   *out;

	if (msg != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid %s value: %s", type, msg)));
	out = palloc(VARHDRSZ + len);
	SET_VARSIZE(out, VARHDRSZ + len);
	memcpy(VARDATA(out), buf, len);
	return out;
}

Datum
agg_state_in(const char *type, AggCheckFn check, const char *s)
{
	size_t		slen = strlen(s);
	char	   *buf;
	size_t		len;

	if (slen % 2 != 0 || strspn(s, "0123456789abcdefABCDEF") != slen)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s", type),
				 errdetail("The text form is the stored form in hexadecimal digits.")));
	buf = palloc(slen / 2 + 1);
	len = hex_decode(s, slen, buf);
	return PointerGetDatum(state_from_bytes(type, check, buf, len));
}

Datum
agg_state_out(struct varlena *v)
{
	size_t		len = VARSIZE_ANY_EXHDR(v);
	char	   *out = palloc(len * 2 + 1);

	hex_encode(VARDATA_ANY(v), len, out);
	out[len * 2] = '\0';
	return CStringGetDatum(out);
}

Datum
agg_state_recv(const char *type, AggCheckFn check, StringInfo msg)
{
	int			len = msg->len - msg->cursor;
	const char *buf = pq_getmsgbytes(msg, len);

	return PointerGetDatum(state_from_bytes(type, check, buf, len));
}

Datum
agg_state_send(struct varlena *v)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	return PointerGetDatum(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(flow_stats_state_in);
Datum
flow_stats_state_in(PG_FUNCTION_ARGS)
{
	return agg_state_in("vpcflow.flow_stats_state", agg_check_flow_stats, PG_GETARG_CSTRING(0));
}

PG_FUNCTION_INFO_V1(flow_stats_state_out);
Datum
flow_stats_state_out(PG_FUNCTION_ARGS)
{
	return agg_state_out(PG_GETARG_VARLENA_PP(0));
}

PG_FUNCTION_INFO_V1(flow_stats_state_recv);
Datum
flow_stats_state_recv(PG_FUNCTION_ARGS)
{
	return agg_state_recv("vpcflow.flow_stats_state", agg_check_flow_stats,
						  (StringInfo) PG_GETARG_POINTER(0));
}

PG_FUNCTION_INFO_V1(flow_stats_state_send);
Datum
flow_stats_state_send(PG_FUNCTION_ARGS)
{
	return agg_state_send(PG_GETARG_VARLENA_PP(0));
}

/* ================================================================
 * Egress: traffic to addresses outside private and local ranges
 * ================================================================ */

static bool
ipv4_is_private(const unsigned char *a)
{
	return a[0] == 10 ||					/* 10.0.0.0/8 */
		(a[0] == 172 && (a[1] & 0xf0) == 16) ||	/* 172.16.0.0/12 */
		(a[0] == 192 && a[1] == 168) ||	/* 192.168.0.0/16 */
		(a[0] == 100 && (a[1] & 0xc0) == 64) ||	/* 100.64.0.0/10 (shared) */
		a[0] == 127 ||						/* loopback */
		(a[0] == 169 && a[1] == 254);	/* link-local, instance metadata */
}

static bool
inet_is_private(inet *addr)
{
	const unsigned char *a = ip_addr(addr);
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

	if (ip_family(addr) == PGSQL_AF_INET)
		return ipv4_is_private(a);
	if ((a[0] & 0xfe) == 0xfc)				/* fc00::/7 unique local */
		return true;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)	/* fe80::/10 link-local */
		return true;
	if (memcmp(a, loop6, 16) == 0)
		return true;
	if (memcmp(a, mapped, 12) == 0)			/* ::ffff:a.b.c.d */
		return ipv4_is_private(a + 12);
	return false;
}

PG_FUNCTION_INFO_V1(is_private_address);
Datum
is_private_address(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(inet_is_private(PG_GETARG_INET_PP(0)));
}

typedef struct Sum128
{
	int64		n;
	int128		sum;
} Sum128;

#define SUM128_SERIAL_SIZE 25

PG_FUNCTION_INFO_V1(egress_bytes_transfn);
Datum
egress_bytes_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "egress_bytes_transfn");
	Sum128	   *s;

	if (PG_ARGISNULL(0))
		s = MemoryContextAllocZero(cxt, sizeof(Sum128));
	else
		s = (Sum128 *) PG_GETARG_POINTER(0);
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2) && !inet_is_private(PG_GETARG_INET_PP(1)))
	{
		s->n++;
		s->sum += PG_GETARG_INT64(2);
	}
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(sum128_combine);
Datum
sum128_combine(PG_FUNCTION_ARGS)
{
	Sum128		*a;
	Sum128		*b;
	Datum		result;

	if (combine_nulls(fcinfo, "sum128_combine", sizeof(Sum128), &result))
		return result;
	a = (Sum128 *) PG_GETARG_POINTER(0);
	b = (Sum128 *) PG_GETARG_POINTER(1);
	a->n += b->n;
	a->sum += b->sum;
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(sum128_serialize);
Datum
sum128_serialize(PG_FUNCTION_ARGS)
{
	Sum128	   *s = (Sum128 *) PG_GETARG_POINTER(0);
	bytea	   *out = palloc(VARHDRSZ + SUM128_SERIAL_SIZE);
	uint8	   *p = (uint8 *) VARDATA(out);

	SET_VARSIZE(out, VARHDRSZ + SUM128_SERIAL_SIZE);
	p[0] = AGG_FORMAT_VERSION;
	agg_put_u64(p + 1, (uint64) s->n);
	put_i128(p + 9, s->sum);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(sum128_deserialize);
Datum
sum128_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	const uint8 *p = (const uint8 *) VARDATA_ANY(in);
	Sum128	   *s;

	agg_context(fcinfo, "sum128_deserialize");
	if (VARSIZE_ANY_EXHDR(in) != SUM128_SERIAL_SIZE || p[0] != AGG_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid egress_bytes state")));
	s = palloc(sizeof(Sum128));
	s->n = (int64) agg_get_u64(p + 1);
	s->sum = get_i128(p + 9);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(sum128_final);
Datum
sum128_final(PG_FUNCTION_ARGS)
{
	Sum128	   *s = PG_ARGISNULL(0) ? NULL : (Sum128 *) PG_GETARG_POINTER(0);

	if (s == NULL || s->n == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(int128_to_numeric_datum(s->sum));
}
