/*
 * aggformat.c
 *		Key hashing, validation of the stored aggregate states and the
 *		HyperLogLog estimator.  Pure C: see aggformat.h.
 */
#include "aggformat.h"

#include <math.h>
#include <string.h>

/* ---------- hashing ---------- */

uint64_t
agg_hash_bytes(const void *data, size_t len)
{
	return agg_hash_bytes_inline(data, len);
}

uint64_t
agg_hash_int64(int64_t v)
{
	return agg_hash_int64_inline(v);
}

/* ---------- flow_stats_state ---------- */

const char *
agg_check_flow_stats(const uint8_t *buf, size_t len)
{
	uint8_t		flags;
	uint64_t	flows,
				accepts,
				rejects,
				packets_n,
				bytes_n;

	if (len != FLOW_STATS_FORMAT_SIZE)
		return "wrong length";
	if (buf[0] != AGG_FORMAT_VERSION)
		return "unsupported format version";
	flags = buf[1];
	if (flags & ~(FLOW_STATS_HAS_FIRST | FLOW_STATS_HAS_LAST))
		return "unknown flag bits";
	flows = agg_get_u64(buf + 2);
	accepts = agg_get_u64(buf + 10);
	rejects = agg_get_u64(buf + 18);
	packets_n = agg_get_u64(buf + 26);
	bytes_n = agg_get_u64(buf + 50);
	if (flows > INT64_MAX || accepts > flows || rejects > flows - accepts ||
		packets_n > flows || bytes_n > flows)
		return "inconsistent counts";
	if (packets_n == 0 && (agg_get_u64(buf + 34) != 0 || agg_get_u64(buf + 42) != 0))
		return "a packet sum without packet values";
	if (bytes_n == 0 && (agg_get_u64(buf + 58) != 0 || agg_get_u64(buf + 66) != 0))
		return "a byte sum without byte values";
	if (!(flags & FLOW_STATS_HAS_FIRST) && agg_get_u64(buf + 74) != 0)
		return "a first start without the flag";
	if (!(flags & FLOW_STATS_HAS_LAST) && agg_get_u64(buf + 82) != 0)
		return "a last end without the flag";
	if (flows == 0 && flags != 0)
		return "times without flows";
	return NULL;
}

/* ---------- topk_state ---------- */

const char *
agg_check_topk_key(int kind, const uint8_t *key, size_t len)
{
	switch (kind)
	{
		case TOPK_KEY_INT:
			return len == 8 ? NULL : "integer key of the wrong length";
		case TOPK_KEY_TEXT:
			if (len > TOPK_MAX_KEY_LEN)
				return "text key too long";
			return memchr(key, 0, len) == NULL ? NULL : "text key with a NUL byte";
		case TOPK_KEY_INET:
			if (len == 6 && key[0] == 4 && key[1] <= 32)
				return NULL;
			if (len == 18 && key[0] == 6 && key[1] <= 128)
				return NULL;
			return "invalid address key";
		case TOPK_KEY_INET_PAIR:
			{
				size_t		first = len > 0 && key[0] == 6 ? 18 : 6;

				if (len < first ||
					agg_check_topk_key(TOPK_KEY_INET, key, first) != NULL ||
					agg_check_topk_key(TOPK_KEY_INET, key + first, len - first) != NULL)
					return "invalid address pair key";
				return NULL;
			}
		default:
			return "invalid key kind";
	}
}

/* Key order: integers numerically, other kinds bytewise then by length. */
static int
topk_key_cmp(int kind, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int			c;

	if (kind == TOPK_KEY_INT)
	{
		int64_t		x = (int64_t) agg_get_u64(a);
		int64_t		y = (int64_t) agg_get_u64(b);

		return (x > y) - (x < y);
	}
	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

const char *
agg_check_topk(const uint8_t *buf, size_t len)
{
	int			kind;
	uint32_t	k,
				capacity,
				n;
	uint64_t	total,
				sum = 0;
	size_t		pos = TOPK_HEADER_SIZE;
	const uint8_t *prev_key = NULL;
	size_t		prev_len = 0;
	uint64_t	prev_count = 0;

	if (len < TOPK_HEADER_SIZE)
		return "too short";
	if (buf[0] != AGG_FORMAT_VERSION)
		return "unsupported format version";
	kind = buf[1];
	k = agg_get_u32(buf + 2);
	capacity = agg_get_u32(buf + 6);
	n = agg_get_u32(buf + 10);
	total = agg_get_u64(buf + 14);
	if (kind > TOPK_KEY_INET_PAIR)
		return "invalid key kind";
	if (k < 1 || capacity < k || capacity > TOPK_MAX_CAPACITY)
		return "invalid k or capacity";
	if (n > capacity)
		return "more entries than the capacity";
	if (kind == TOPK_KEY_NONE && n != 0)
		return "entries without a key kind";
	if (total > INT64_MAX)
		return "total out of range";
	for (uint32_t i = 0; i < n; i++)
	{
		uint64_t	count,
					error;
		uint32_t	keylen;
		const char *msg;

		if (len - pos < 20)
			return "truncated entry";
		count = agg_get_u64(buf + pos);
		error = agg_get_u64(buf + pos + 8);
		keylen = agg_get_u32(buf + pos + 16);
		pos += 20;
		if (count < 1 || count > INT64_MAX || error > count)
			return "invalid entry weight or error";
		if (keylen > len - pos)
			return "truncated key";
		msg = agg_check_topk_key(kind, buf + pos, keylen);
		if (msg != NULL)
			return msg;
		if (prev_key != NULL &&
			(count > prev_count ||
			 (count == prev_count &&
			  topk_key_cmp(kind, prev_key, prev_len, buf + pos, keylen) >= 0)))
			return "entries out of order";
		sum += count;
		if (sum > total)
			return "entry weights exceed the total";
		prev_key = buf + pos;
		prev_len = keylen;
		prev_count = count;
		pos += keylen;
	}
	if (pos != len)
		return "trailing bytes";
	return NULL;
}

/* ---------- hll ---------- */

const char *
agg_check_hll(const uint8_t *buf, size_t len)
{
	int			p;

	if (len < HLL_HEADER_SIZE)
		return "too short";
	if (buf[0] != AGG_FORMAT_VERSION)
		return "unsupported format version";
	p = buf[1];
	if (p < HLL_MIN_PRECISION || p > HLL_MAX_PRECISION)
		return "precision out of range";
	if (buf[2] == HLL_ENC_SPARSE)
	{
		uint32_t	n;
		uint32_t	prev = 0;

		if (len < HLL_HEADER_SIZE + 4)
			return "too short";
		n = agg_get_u32(buf + 3);
		if (n > HLL_SPARSE_LIMIT(p))
			return "too many sparse entries";
		if (len != HLL_HEADER_SIZE + 4 + (size_t) n * 4)
			return "wrong length";
		for (uint32_t i = 0; i < n; i++)
		{
			uint32_t	e = agg_get_u32(buf + HLL_HEADER_SIZE + 4 + (size_t) i * 4);
			uint32_t	rho = HLL_SPARSE_RHO(e);

			if (e >> 31 || rho < 1 || rho > HLL_MAX_RHO(HLL_SPARSE_PRECISION))
				return "invalid sparse entry";
			if (i > 0 && HLL_SPARSE_INDEX(e) <= HLL_SPARSE_INDEX(prev))
				return "sparse entries out of order";
			prev = e;
		}
		return NULL;
	}
	if (buf[2] == HLL_ENC_DENSE)
	{
		if (len != HLL_HEADER_SIZE + ((size_t) 1 << p))
			return "wrong length";
		for (size_t i = HLL_HEADER_SIZE; i < len; i++)
			if (buf[i] > HLL_MAX_RHO(p))
				return "register out of range";
		return NULL;
	}
	return "unknown encoding";
}

static double
hll_sigma(double x)
{
	double		y = 1.0;
	double		z = x;
	double		zprev;

	if (x == 1.0)
		return INFINITY;
	do
	{
		x *= x;
		zprev = z;
		z += x * y;
		y += y;
	} while (zprev != z);
	return z;
}

static double
hll_tau(double x)
{
	double		y = 1.0;
	double		z;
	double		zprev;

	if (x == 0.0 || x == 1.0)
		return 0.0;
	z = 1.0 - x;
	do
	{
		x = sqrt(x);
		zprev = z;
		y *= 0.5;
		z -= (1.0 - x) * (1.0 - x) * y;
	} while (zprev != z);
	return z / 3.0;
}

/*
 * sigma((2^25 - n) / 2^25) for the small n of sparse sketches (the common
 * per-group case), computed once per n: the same function of the same
 * argument, so estimates are bit for bit those without the cache.
 */
#define HLL_SIGMA_CACHE 4096

static double
hll_sigma_of(uint32_t zeros, int p)
{
	static double cache[HLL_SIGMA_CACHE];
	static bool cached[HLL_SIGMA_CACHE];
	uint32_t	n = ((uint32_t) 1 << p) - zeros;
	double		m = (double) ((uint32_t) 1 << p);

	if (p != HLL_SPARSE_PRECISION || n >= HLL_SIGMA_CACHE)
		return hll_sigma(zeros / m);
	if (!cached[n])
	{
		cache[n] = hll_sigma(zeros / m);
		cached[n] = true;
	}
	return cache[n];
}

double
agg_hll_estimate(const uint32_t *hist, int p)
{
	double		m = (double) ((uint32_t) 1 << p);
	int			q = 64 - p;
	double		z;
	int			k = q;

	z = m * hll_tau(1.0 - hist[q + 1] / m);
	/* (0 + 0) * 0.5 is 0: skip the empty top of the histogram */
	if (z == 0.0)
		while (k >= 1 && hist[k] == 0)
			k--;
	for (; k >= 1; k--)
	{
		z += hist[k];
		z *= 0.5;
	}
	z += m * hll_sigma_of(hist[0], p);
	return (0.5 / log(2.0)) * m * m / z;
}
