/*
 * baseline.c
 *		Stored form, merge, statistics and score of vpcflow.baseline.
 *		Pure C: see baseline.h.
 */
#include "baseline.h"

#include <math.h>
#include <string.h>

#include "aggformat.h"

/* 2^(1/4), 2^(1/2), 2^(3/4): the quarter-octave bucket edges in [1, 2) */
static const double quarter_edge[3] = {
	1.18920711500272106671, 1.41421356237309504880, 1.68179283050742908606
};

int
baseline_bucket(double v)
{
	int			e;
	double		m;
	int			q = 0;
	int			b;

	if (!(v > 0.0))
		return 0;				/* 0 (callers reject negatives and NaN) */
	if (isinf(v))
		return BASELINE_NBUCKETS - 1;
	/* v = m 2^e, m in [0.5, 1): log2 v = (e - 1) + log2(2m), 2m in [1, 2) */
	m = frexp(v, &e) * 2.0;
	while (q < 3 && m >= quarter_edge[q])
		q++;
	b = 1 + (e - 1 + BASELINE_MIN_EXP) * BASELINE_BUCKETS_PER_DOUBLING + q;
	if (b < 1)
		return 1;
	if (b > BASELINE_NBUCKETS - 1)
		return BASELINE_NBUCKETS - 1;
	return b;
}

double
baseline_bucket_value(int bucket)
{
	if (bucket <= 0)
		return 0.0;
	return exp2((bucket - 0.5) / BASELINE_BUCKETS_PER_DOUBLING - BASELINE_MIN_EXP);
}

int
baseline_slot(int64_t unix_seconds)
{
	/* 1970-01-01 was a Thursday: day 3 of a week starting on Monday */
	int64_t		hours = unix_seconds >= 0 ? unix_seconds / 3600 :
		-((-unix_seconds + 3599) / 3600);
	int64_t		h = (hours + 3 * 24) % BASELINE_SLOTS;

	return (int) (h < 0 ? h + BASELINE_SLOTS : h);
}

const char *
baseline_check(const uint8_t *buf, size_t len)
{
	uint32_t	n;
	uint64_t	total = 0;
	int			prev = -1;

	if (len < BASELINE_HEADER_SIZE)
		return "too short";
	if (buf[0] != BASELINE_FORMAT_VERSION)
		return "unsupported format version";
	if (buf[1] != 0)
		return "reserved byte is not 0";
	n = agg_get_u32(buf + 2);
	if (n > BASELINE_MAX_ENTRIES)
		return "too many entries";
	if (len != BASELINE_HEADER_SIZE + (size_t) n * BASELINE_ENTRY_SIZE)
		return "wrong length";
	for (uint32_t i = 0; i < n; i++)
	{
		const uint8_t *p = buf + BASELINE_HEADER_SIZE + (size_t) i * BASELINE_ENTRY_SIZE;
		int			key = (p[0] << 8) | p[1];
		uint64_t	count = agg_get_u64(p + 2);

		if (p[0] >= BASELINE_SLOTS)
			return "slot out of range";
		if (key <= prev)
			return "entries out of order";
		if (count < 1 || count > (uint64_t) INT64_MAX - total)
			return "invalid count";
		total += count;
		prev = key;
	}
	return NULL;
}

uint32_t
baseline_count_entries(const uint8_t *buf)
{
	return agg_get_u32(buf + 2);
}

void
baseline_decode(const uint8_t *buf, BaselineEntry *out)
{
	uint32_t	n = agg_get_u32(buf + 2);

	for (uint32_t i = 0; i < n; i++)
	{
		const uint8_t *p = buf + BASELINE_HEADER_SIZE + (size_t) i * BASELINE_ENTRY_SIZE;

		out[i].key = (uint16_t) ((p[0] << 8) | p[1]);
		out[i].count = agg_get_u64(p + 2);
	}
}

void
baseline_encode(const BaselineEntry *e, uint32_t n, uint8_t *buf)
{
	buf[0] = BASELINE_FORMAT_VERSION;
	buf[1] = 0;
	agg_put_u32(buf + 2, n);
	for (uint32_t i = 0; i < n; i++)
	{
		uint8_t    *p = buf + BASELINE_HEADER_SIZE + (size_t) i * BASELINE_ENTRY_SIZE;

		p[0] = (uint8_t) (e[i].key >> 8);
		p[1] = (uint8_t) e[i].key;
		agg_put_u64(p + 2, e[i].count);
	}
}

int64_t
baseline_merge(const BaselineEntry *a, uint32_t na, const BaselineEntry *b, uint32_t nb,
			   BaselineEntry *out)
{
	uint32_t	i = 0,
				j = 0;
	int64_t		n = 0;
	uint64_t	total = 0;

	while (i < na || j < nb)
	{
		BaselineEntry e;

		if (j >= nb || (i < na && a[i].key < b[j].key))
			e = a[i++];
		else if (i >= na || b[j].key < a[i].key)
			e = b[j++];
		else
		{
			e.key = a[i].key;
			if (a[i].count > (uint64_t) INT64_MAX - b[j].count)
				return -1;
			e.count = a[i++].count + b[j++].count;
		}
		if (e.count > (uint64_t) INT64_MAX - total)
			return -1;
		total += e.count;
		out[n++] = e;
	}
	return n;
}

/* weighted median of values[0..n) with weights w, values sorted ascending */
static double
weighted_median(const double *values, const uint64_t *w, int n, uint64_t total)
{
	uint64_t	lo = (total - 1) / 2,	/* 0-based ranks of the middle values */
				hi = total / 2,
				seen = 0;
	double		vlo = 0.0,
				vhi = 0.0;
	bool		have_lo = false;

	for (int i = 0; i < n; i++)
	{
		if (w[i] == 0)
			continue;
		seen += w[i];
		if (!have_lo && seen > lo)
		{
			vlo = values[i];
			have_lo = true;
		}
		if (seen > hi)
		{
			vhi = values[i];
			break;
		}
	}
	return (vlo + vhi) / 2.0;
}

void
baseline_stats(const BaselineEntry *e, uint32_t n, int slot, BaselineStats *st)
{
	uint64_t	hist[BASELINE_NBUCKETS];
	double		val[BASELINE_NBUCKETS];
	double		dev[BASELINE_NBUCKETS];
	uint64_t	dw[BASELINE_NBUCKETS];
	int			order[BASELINE_NBUCKETS];
	int			nb = 0;
	uint64_t	total = 0;
	double		sumdev = 0.0;

	memset(hist, 0, sizeof(hist));
	for (uint32_t i = 0; i < n; i++)
	{
		if (slot >= 0 && BASELINE_KEY_SLOT(e[i].key) != slot)
			continue;
		hist[BASELINE_KEY_BUCKET(e[i].key)] += e[i].count;
		total += e[i].count;
	}
	memset(st, 0, sizeof(*st));
	st->n = total;
	if (total == 0)
		return;
	for (int b = 0; b < BASELINE_NBUCKETS; b++)
		val[b] = baseline_bucket_value(b);
	st->median = weighted_median(val, hist, BASELINE_NBUCKETS, total);

	/* deviations of the occupied buckets, sorted (insertion: <= 256) */
	for (int b = 0; b < BASELINE_NBUCKETS; b++)
	{
		double		d;
		int			j;

		if (hist[b] == 0)
			continue;
		d = fabs(val[b] - st->median);
		sumdev += d * (double) hist[b];
		for (j = nb; j > 0 && dev[order[j - 1]] > d; j--)
			order[j] = order[j - 1];
		order[j] = b;
		dev[b] = d;
		nb++;
	}
	{
		double		sd[BASELINE_NBUCKETS];

		for (int i = 0; i < nb; i++)
		{
			sd[i] = dev[order[i]];
			dw[i] = hist[order[i]];
		}
		st->mad = weighted_median(sd, dw, nb, total);
	}
	st->meanad = sumdev / (double) total;
}

const char *
baseline_basis_name(BaselineBasis b)
{
	switch (b)
	{
		case BASIS_SLOT:
			return "hour_of_week";
		case BASIS_ALL:
			return "all_hours";
		case BASIS_GROUP_SLOT:
			return "group_hour_of_week";
		case BASIS_GROUP_ALL:
			return "group_all_hours";
		case BASIS_NONE:
			break;
	}
	return "insufficient_history";
}

void
baseline_score(const BaselineStats *st, double observed, double min_spread,
			   ScoreDirection dir, BaselineScore *out)
{
	double		spread = 1.4826 * st->mad;

	double		resolution = st->median * BASELINE_RESOLUTION;

	if (!(spread > 0.0))
		spread = 1.2533 * st->meanad;
	/* values within the median's bucket are indistinguishable from it */
	if (spread < resolution)
		spread = resolution;
	if (!(spread >= min_spread))
		spread = min_spread;
	out->expected = st->median;
	out->spread = spread;
	out->size = st->n;
	out->deviation = (observed - st->median) / spread;
	switch (dir)
	{
		case SCORE_HIGH:
			out->score = out->deviation > 0.0 ? out->deviation : 0.0;
			break;
		case SCORE_LOW:
			out->score = out->deviation < 0.0 ? -out->deviation : 0.0;
			break;
		case SCORE_BOTH:
			out->score = fabs(out->deviation);
			break;
	}
}
