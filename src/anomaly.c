/*
 * anomaly.c
 *		Baselines and the anomaly score.
 *
 *		vpcflow.baseline(value, at)		 aggregate: a seasonal baseline state
 *		vpcflow.baseline_merge(baseline) aggregate: stored baselines merged
 *		vpcflow.anomaly_score(observed, baseline, at, group_baseline, ...)
 *			the robust deviation of observed from the baseline's hour-of-week
 *			(or all-hours) median, with the numbers that explain it.
 *
 * The state is a histogram of log-scale buckets per hour-of-week slot
 * (baseline.c, pure C): histograms add, so baselines merge exactly and the
 * aggregates run in parallel.  In memory it is a sorted array of (slot,
 * bucket, count) cells; most entities occupy a few hundred cells.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include <math.h>

#include "aggregates.h"
#include "baseline.h"
#include "vpcflow.h"

typedef struct BaselineAgg
{
	uint32		n;
	uint32		cap;
	BaselineEntry *e;
} BaselineAgg;

static BaselineAgg *
bagg_create(MemoryContext cxt, uint32 cap)
{
	BaselineAgg *s = MemoryContextAlloc(cxt, sizeof(BaselineAgg));

	s->n = 0;
	s->cap = Max(cap, 8);
	s->e = MemoryContextAlloc(cxt, sizeof(BaselineEntry) * s->cap);
	return s;
}

static void
count_overflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("vpcflow.baseline observation count out of range")));
}

static void
bagg_add(BaselineAgg *s, uint16 key, uint64 count)
{
	uint32		lo = 0,
				hi = s->n;

	while (lo < hi)
	{
		uint32		mid = (lo + hi) / 2;

		if (s->e[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n && s->e[lo].key == key)
	{
		if (s->e[lo].count > (uint64) PG_INT64_MAX - count)
			count_overflow();
		s->e[lo].count += count;
		return;
	}
	if (s->n == s->cap)
	{
		s->cap *= 2;
		s->e = repalloc(s->e, sizeof(BaselineEntry) * s->cap);
	}
	memmove(s->e + lo + 1, s->e + lo, sizeof(BaselineEntry) * (s->n - lo));
	s->e[lo].key = key;
	s->e[lo].count = count;
	s->n++;
}

/* a into s (s in its own context) */
static void
bagg_merge_entries(BaselineAgg *s, const BaselineEntry *e, uint32 n)
{
	BaselineEntry *out;
	int64		m;

	if (n == 0)
		return;
	out = MemoryContextAlloc(GetMemoryChunkContext(s), sizeof(BaselineEntry) * (s->n + n));
	m = baseline_merge(s->e, s->n, e, n, out);
	if (m < 0)
		count_overflow();
	pfree(s->e);
	s->e = out;
	s->n = (uint32) m;
	s->cap = Max(s->n + n, 8);
	s->e = repalloc(s->e, sizeof(BaselineEntry) * s->cap);
}

static int64
total_count(const BaselineEntry *e, uint32 n)
{
	uint64		t = 0;

	for (uint32 i = 0; i < n; i++)
		t += e[i].count;		/* checked: never above INT64_MAX */
	return (int64) t;
}

static bytea *
bagg_serialize(const BaselineAgg *s)
{
	Size		len = BASELINE_HEADER_SIZE + (Size) s->n * BASELINE_ENTRY_SIZE;
	bytea	   *out = palloc(VARHDRSZ + len);

	SET_VARSIZE(out, VARHDRSZ + len);
	baseline_encode(s->e, s->n, (uint8 *) VARDATA(out));
	return out;
}

/*
 * Entries of a stored baseline.  Stored values were checked by input or
 * made here; check again anyway (cheap) so a corrupt datum is an error,
 * not a bad read.
 */
static BaselineEntry *
baseline_entries(struct varlena *v, uint32 *n)
{
	const uint8 *buf = (const uint8 *) VARDATA_ANY(v);
	size_t		len = VARSIZE_ANY_EXHDR(v);
	const char *msg = baseline_check(buf, len);
	BaselineEntry *e;

	if (msg != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid vpcflow.baseline value: %s", msg)));
	*n = baseline_count_entries(buf);
	e = palloc(sizeof(BaselineEntry) * Max(*n, 1));
	baseline_decode(buf, e);
	return e;
}

static int
timestamp_slot(TimestampTz at)
{
	int64		secs;

	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("vpcflow.baseline needs a finite time")));
	/* floor division: times before 2000 are negative */
	secs = at / USECS_PER_SEC - (at % USECS_PER_SEC < 0 ? 1 : 0);
	return baseline_slot(secs + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY);
}

static int
value_bucket(double v)
{
	if (isnan(v) || v < 0.0 || isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("vpcflow.baseline values must be finite and >= 0, got %g", v)));
	return baseline_bucket(v);
}

/* ---------- type I/O ---------- */

PG_FUNCTION_INFO_V1(baseline_in);
Datum
baseline_in(PG_FUNCTION_ARGS)
{
	return agg_state_in("vpcflow.baseline", baseline_check, PG_GETARG_CSTRING(0));
}

PG_FUNCTION_INFO_V1(baseline_out);
Datum
baseline_out(PG_FUNCTION_ARGS)
{
	return agg_state_out(PG_GETARG_VARLENA_PP(0));
}

PG_FUNCTION_INFO_V1(baseline_recv);
Datum
baseline_recv(PG_FUNCTION_ARGS)
{
	return agg_state_recv("vpcflow.baseline", baseline_check,
						  (StringInfo) PG_GETARG_POINTER(0));
}

PG_FUNCTION_INFO_V1(baseline_send);
Datum
baseline_send(PG_FUNCTION_ARGS)
{
	return agg_state_send(PG_GETARG_VARLENA_PP(0));
}

/* ---------- aggregates ---------- */

/* baseline(value float8, at timestamptz [, count bigint]): rows with a NULL
 * value or time (or count 0) are skipped */
PG_FUNCTION_INFO_V1(baseline_transfn);
Datum
baseline_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "baseline_transfn");
	BaselineAgg *s = PG_ARGISNULL(0) ? NULL : (BaselineAgg *) PG_GETARG_POINTER(0);
	int			bucket,
				slot;
	int64		count = 1;

	/* baseline(value, at, count): count observations of value at once */
	if (PG_NARGS() > 3)
	{
		count = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3);
		if (count < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("vpcflow.baseline count must be >= 0")));
	}
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || count == 0)
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	bucket = value_bucket(PG_GETARG_FLOAT8(1));
	slot = timestamp_slot(PG_GETARG_TIMESTAMPTZ(2));
	if (s == NULL)
		s = bagg_create(cxt, 8);
	bagg_add(s, BASELINE_KEY(slot, bucket), (uint64) count);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(baseline_merge_transfn);
Datum
baseline_merge_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "baseline_merge_transfn");
	BaselineAgg *s = PG_ARGISNULL(0) ? NULL : (BaselineAgg *) PG_GETARG_POINTER(0);
	BaselineEntry *e;
	uint32		n;

	if (PG_ARGISNULL(1))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	e = baseline_entries(PG_GETARG_VARLENA_PP(1), &n);
	if (s == NULL)
		s = bagg_create(cxt, n);
	bagg_merge_entries(s, e, n);
	pfree(e);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(baseline_combine);
Datum
baseline_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "baseline_combine");
	Datum		result;
	BaselineAgg *a;
	BaselineAgg *b;

	if (combine_adopt_nulls(fcinfo, cxt, &result))
		return result;
	b = (BaselineAgg *) PG_GETARG_POINTER(1);
	a = PG_ARGISNULL(0) ? bagg_create(cxt, b->n) : (BaselineAgg *) PG_GETARG_POINTER(0);
	bagg_merge_entries(a, b->e, b->n);
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(baseline_serialize);
Datum
baseline_serialize(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(bagg_serialize((BaselineAgg *) PG_GETARG_POINTER(0)));
}

PG_FUNCTION_INFO_V1(baseline_deserialize);
Datum
baseline_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "baseline_deserialize");
	BaselineEntry *e;
	uint32		n;
	BaselineAgg *s;

	e = baseline_entries(PG_GETARG_VARLENA_PP(0), &n);
	s = bagg_create(cxt, n);
	memcpy(s->e, e, sizeof(BaselineEntry) * n);
	s->n = n;
	pfree(e);
	PG_RETURN_POINTER(s);
}

/* ---------- functions on stored baselines ---------- */

PG_FUNCTION_INFO_V1(baseline_union);
Datum
baseline_union(PG_FUNCTION_ARGS)
{
	uint32		na,
				nb;
	BaselineEntry *a = baseline_entries(PG_GETARG_VARLENA_PP(0), &na);
	BaselineEntry *b = baseline_entries(PG_GETARG_VARLENA_PP(1), &nb);
	BaselineEntry *out = palloc(sizeof(BaselineEntry) * Max(na + nb, 1));
	int64		n = baseline_merge(a, na, b, nb, out);
	BaselineAgg s;

	if (n < 0)
		count_overflow();
	s.n = (uint32) n;
	s.cap = s.n;
	s.e = out;
	PG_RETURN_BYTEA_P(bagg_serialize(&s));
}

/* baseline_add(baseline, value, at): one observation more (NULL baseline: empty) */
PG_FUNCTION_INFO_V1(baseline_add);
Datum
baseline_add(PG_FUNCTION_ARGS)
{
	BaselineAgg s;

	if (PG_ARGISNULL(0))
	{
		s.n = 0;
		s.cap = 8;
		s.e = palloc(sizeof(BaselineEntry) * s.cap);
	}
	else
	{
		s.e = baseline_entries(PG_GETARG_VARLENA_PP(0), &s.n);
		s.cap = Max(s.n, 1);
	}
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
	{
		int			bucket = value_bucket(PG_GETARG_FLOAT8(1));
		int			slot = timestamp_slot(PG_GETARG_TIMESTAMPTZ(2));
		BaselineAgg *sp = &s;

		/* bagg_add repallocs from the chunk's context: the current one */
		bagg_add(sp, BASELINE_KEY(slot, bucket), 1);
	}
	PG_RETURN_BYTEA_P(bagg_serialize(&s));
}

PG_FUNCTION_INFO_V1(baseline_size);
Datum
baseline_size(PG_FUNCTION_ARGS)
{
	uint32		n;
	BaselineEntry *e = baseline_entries(PG_GETARG_VARLENA_PP(0), &n);

	PG_RETURN_INT64(total_count(e, n));
}

/* baseline_stats(baseline, at DEFAULT NULL): n, median, mad, meanad of the
 * slot of at, or of all hours when at is NULL */
PG_FUNCTION_INFO_V1(baseline_stats_fn);
Datum
baseline_stats_fn(PG_FUNCTION_ARGS)
{
	uint32		n;
	BaselineEntry *e;
	BaselineStats st;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	e = baseline_entries(PG_GETARG_VARLENA_PP(0), &n);
	baseline_stats(e, n, PG_ARGISNULL(1) ? -1 : timestamp_slot(PG_GETARG_TIMESTAMPTZ(1)), &st);
	values[0] = Int64GetDatum((int64) st.n);
	values[1] = Float8GetDatum(st.median);
	values[2] = Float8GetDatum(st.mad);
	values[3] = Float8GetDatum(st.meanad);
	if (st.n == 0)
		nulls[1] = nulls[2] = nulls[3] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ---------- the score ---------- */

/* The statistics to score against: the first of (entity slot, entity all
 * hours, group slot, group all hours) with at least min_history values. */
static BaselineBasis
choose_basis(struct varlena *entity, struct varlena *group, int slot, int64 min_history,
			 BaselineStats *st, uint64 *entity_n, uint64 *group_n)
{
	struct varlena *src[2] = {entity, group};

	*entity_n = *group_n = 0;
	for (int g = 0; g < 2; g++)
	{
		uint32		n;
		BaselineEntry *e;

		if (src[g] == NULL)
			continue;
		e = baseline_entries(src[g], &n);
		if (slot >= 0)
		{
			baseline_stats(e, n, slot, st);
			if (st->n >= (uint64) min_history)
				return g == 0 ? BASIS_SLOT : BASIS_GROUP_SLOT;
		}
		baseline_stats(e, n, -1, st);
		if (g == 0)
			*entity_n = st->n;
		else
			*group_n = st->n;
		if (st->n >= (uint64) min_history)
			return g == 0 ? BASIS_ALL : BASIS_GROUP_ALL;
	}
	return BASIS_NONE;
}

static ScoreDirection
parse_direction(const char *s)
{
	if (strcmp(s, "high") == 0)
		return SCORE_HIGH;
	if (strcmp(s, "low") == 0)
		return SCORE_LOW;
	if (strcmp(s, "both") == 0)
		return SCORE_BOTH;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid direction \"%s\"", s),
			 errhint("Use 'high', 'low' or 'both'.")));
	return SCORE_HIGH;
}

/*
 * anomaly_score(observed float8, baseline, at timestamptz, group_baseline,
 *				 metric text, min_history integer, min_spread float8,
 *				 direction text) RETURNS vpcflow.anomaly
 *
 * NULL observed: NULL.  NULL at: all hours.  NULL baselines count as empty.
 * Without enough history the score is NULL and the reason says so.
 */
PG_FUNCTION_INFO_V1(vpcflow_anomaly_score);
Datum
vpcflow_anomaly_score(PG_FUNCTION_ARGS)
{
	double		observed;
	int			slot;
	int64		min_history = PG_ARGISNULL(5) ? 30 : PG_GETARG_INT32(5);
	double		min_spread = PG_ARGISNULL(6) ? 1.0 : PG_GETARG_FLOAT8(6);
	ScoreDirection dir = PG_ARGISNULL(7) ? SCORE_HIGH :
		parse_direction(text_to_cstring(PG_GETARG_TEXT_PP(7)));
	char	   *metric = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	BaselineStats st;
	BaselineBasis basis;
	uint64		entity_n,
				group_n;
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	observed = PG_GETARG_FLOAT8(0);
	if (isnan(observed) || isinf(observed))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("anomaly_score: observed value must be finite")));
	if (min_history < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("anomaly_score: min_history must be at least 1")));
	if (!(min_spread > 0.0) || isinf(min_spread))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("anomaly_score: min_spread must be a finite value > 0")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	slot = PG_ARGISNULL(2) ? -1 : timestamp_slot(PG_GETARG_TIMESTAMPTZ(2));

	basis = choose_basis(PG_ARGISNULL(1) ? NULL : PG_GETARG_VARLENA_PP(1),
						 PG_ARGISNULL(3) ? NULL : PG_GETARG_VARLENA_PP(3),
						 slot, min_history, &st, &entity_n, &group_n);
	memset(nulls, 0, sizeof(nulls));
	values[1] = metric ? CStringGetTextDatum(metric) : (Datum) 0;
	nulls[1] = metric == NULL;
	values[2] = Float8GetDatum(observed);
	values[7] = CStringGetTextDatum(baseline_basis_name(basis));
	if (basis == BASIS_NONE)
	{
		nulls[0] = nulls[3] = nulls[4] = nulls[5] = true;
		values[6] = Int64GetDatum((int64) entity_n);
		values[8] = CStringGetTextDatum(psprintf("%s%s%g: insufficient history (%llu observations, "
												 "group %llu; %lld needed)",
												 metric ? metric : "", metric ? " = " : "",
												 observed,
												 (unsigned long long) entity_n,
												 (unsigned long long) group_n,
												 (long long) min_history));
	}
	else
	{
		BaselineScore sc;

		baseline_score(&st, observed, min_spread, dir, &sc);
		values[0] = Float8GetDatum(sc.score);
		values[3] = Float8GetDatum(sc.expected);
		values[4] = Float8GetDatum(sc.spread);
		values[5] = Float8GetDatum(sc.deviation);
		values[6] = Int64GetDatum((int64) sc.size);
		values[8] = CStringGetTextDatum(psprintf("%s%s%g, expected %g (%s median of %llu observations, "
												 "spread %g): %.1f robust deviations %s",
												 metric ? metric : "", metric ? " = " : "",
												 observed, sc.expected,
												 baseline_basis_name(basis),
												 (unsigned long long) sc.size, sc.spread,
												 fabs(sc.deviation),
												 sc.deviation >= 0 ? "above" : "below"));
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
