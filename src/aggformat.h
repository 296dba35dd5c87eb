/*
 * aggformat.h
 *		The stored forms of the aggregate states (vpcflow.flow_stats_state,
 *		vpcflow.topk_state, vpcflow.hll), their key hashing and their
 *		validation.  Pure C, no PostgreSQL dependency, so the unit tests and
 *		a fuzz harness can use it as is.
 *
 * Every stored form starts with a version byte (AGG_FORMAT_VERSION) and
 * stores integers big-endian, unaligned.  The layouts are in
 * docs/aggregates.md; the agg_check_* functions accept exactly those
 * layouts and return NULL, or a message saying what is wrong.  A form that
 * passes its check can be decoded without further bounds checks.
 */
#ifndef VPCFLOW_AGGFORMAT_H
#define VPCFLOW_AGGFORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmix64.h"

#define AGG_FORMAT_VERSION	1

/* ---------- big-endian access ---------- */

static inline uint32_t
agg_get_u32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

static inline uint64_t
agg_get_u64(const uint8_t *p)
{
	return ((uint64_t) agg_get_u32(p) << 32) | agg_get_u32(p + 4);
}

static inline void
agg_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static inline void
agg_put_u64(uint8_t *p, uint64_t v)
{
	agg_put_u32(p, (uint32_t) (v >> 32));
	agg_put_u32(p + 4, (uint32_t) v);
}

/* ---------- key hashing (stable: stored sketches depend on it) ---------- */

/* MurmurHash64A of the bytes (fixed seed, little-endian reads), then
 * murmur3's fmix64 finalizer. */
extern uint64_t agg_hash_bytes(const void *data, size_t len);

#define AGG_HASH_SEED	UINT64_C(0x5650434631303031)	/* "VPCF1001" */

static inline uint64_t
agg_load_le64(const uint8_t *p)
{
	return (uint64_t) p[0] | ((uint64_t) p[1] << 8) | ((uint64_t) p[2] << 16) |
		((uint64_t) p[3] << 24) | ((uint64_t) p[4] << 32) | ((uint64_t) p[5] << 40) |
		((uint64_t) p[6] << 48) | ((uint64_t) p[7] << 56);
}

/*
 * The body of agg_hash_bytes, inline so that a caller with a constant
 * length (an address key: 6 or 18 bytes) gets the loop and the tail
 * switch folded away; same result.
 */
static inline uint64_t
agg_hash_bytes_inline(const void *data, size_t len)
{
	const uint64_t m = UINT64_C(0xc6a4a7935bd1e995);
	const int	r = 47;
	const uint8_t *p = (const uint8_t *) data;
	const uint8_t *end = p + (len & ~(size_t) 7);
	uint64_t	h = AGG_HASH_SEED ^ (len * m);

	for (; p != end; p += 8)
	{
		uint64_t	k = agg_load_le64(p);

		k *= m;
		k ^= k >> r;
		k *= m;
		h ^= k;
		h *= m;
	}
	switch (len & 7)
	{
		case 7:
			h ^= (uint64_t) p[6] << 48;
			/* FALLTHROUGH */
		case 6:
			h ^= (uint64_t) p[5] << 40;
			/* FALLTHROUGH */
		case 5:
			h ^= (uint64_t) p[4] << 32;
			/* FALLTHROUGH */
		case 4:
			h ^= (uint64_t) p[3] << 24;
			/* FALLTHROUGH */
		case 3:
			h ^= (uint64_t) p[2] << 16;
			/* FALLTHROUGH */
		case 2:
			h ^= (uint64_t) p[1] << 8;
			/* FALLTHROUGH */
		case 1:
			h ^= (uint64_t) p[0];
			h *= m;
	}
	h ^= h >> r;
	h *= m;
	h ^= h >> r;
	/* full avalanche for short keys (addresses) */
	return fmix64(h);
}

/* An integer key (smallint, integer and bigint hash alike). */
extern uint64_t agg_hash_int64(int64_t v);

/* Its body: splitmix64's finalizer over the seeded value. */
static inline uint64_t
agg_hash_int64_inline(int64_t v)
{
	uint64_t	z = (uint64_t) v + AGG_HASH_SEED + UINT64_C(0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* ---------- vpcflow.flow_stats_state ---------- */

/*
 * version, flags, then flows, accepts, rejects, packets_n (i64),
 * packets_sum (i128), bytes_n (i64), bytes_sum (i128), first_start,
 * last_end (i64 microseconds since 2000-01-01 UTC).
 */
#define FLOW_STATS_FORMAT_SIZE	(2 + 8 * 4 + 16 + 8 + 16 + 8 * 2)
#define FLOW_STATS_HAS_FIRST	0x01
#define FLOW_STATS_HAS_LAST		0x02

extern const char *agg_check_flow_stats(const uint8_t *buf, size_t len);

/* ---------- vpcflow.topk_state ---------- */

/* key kinds */
#define TOPK_KEY_NONE	0		/* no key seen yet */
#define TOPK_KEY_INT	1		/* 8 bytes, big-endian two's complement */
#define TOPK_KEY_TEXT	2		/* UTF-8 bytes, no NUL */
#define TOPK_KEY_INET	3		/* family (4|6), prefix bits, 4|16 address bytes */
#define TOPK_KEY_INET_PAIR 4	/* two inet keys: source, then destination */

#define TOPK_HEADER_SIZE	(1 + 1 + 4 + 4 + 4 + 8)
#define TOPK_MAX_CAPACITY	100000
#define TOPK_MAX_KEY_LEN	(1024 * 1024)

extern const char *agg_check_topk(const uint8_t *buf, size_t len);
extern const char *agg_check_topk_key(int kind, const uint8_t *key, size_t len);

/* ---------- vpcflow.hll ---------- */

#define HLL_MIN_PRECISION	4
#define HLL_MAX_PRECISION	18
#define HLL_DEFAULT_PRECISION 14
#define HLL_SPARSE_PRECISION 25
#define HLL_ENC_SPARSE		1
#define HLL_ENC_DENSE		2
#define HLL_HEADER_SIZE		3

/* The largest register value at precision p: 64 - p + 1. */
#define HLL_MAX_RHO(p)		(64 - (p) + 1)
/* A sparse sketch of more than this many entries is made dense. */
#define HLL_SPARSE_LIMIT(p) ((1u << (p)) / 8)

/* a sparse entry: (index at HLL_SPARSE_PRECISION) << 6 | rho */
#define HLL_SPARSE_INDEX(e) ((e) >> 6)
#define HLL_SPARSE_RHO(e)	((e) & 0x3f)

extern const char *agg_check_hll(const uint8_t *buf, size_t len);

/* Index and rho of a hash at precision p. */
static inline void
agg_hll_split(uint64_t h, int p, uint32_t *idx, uint8_t *rho)
{
	uint64_t	rest = h << p;

	*idx = (uint32_t) (h >> (64 - p));
	*rho = rest == 0 ? (uint8_t) HLL_MAX_RHO(p) :
		(uint8_t) (__builtin_clzll(rest) + 1);
}

/* A sparse entry (precision HLL_SPARSE_PRECISION) folded to precision p. */
static inline void
agg_hll_fold(uint32_t entry, int p, uint32_t *idx, uint8_t *rho)
{
	uint32_t	sidx = HLL_SPARSE_INDEX(entry);
	int			extra = HLL_SPARSE_PRECISION - p;
	uint32_t	low = sidx & ((1u << extra) - 1);

	*idx = sidx >> extra;
	if (low != 0)
		*rho = (uint8_t) (extra - (31 - __builtin_clz(low)));
	else
		*rho = (uint8_t) (extra + HLL_SPARSE_RHO(entry));
}

/*
 * Cardinality from a histogram of register values: hist[0..64-p+1] counts
 * the m = 2^p registers by value.  Ertl's improved estimator (2017): no
 * bias tables, no empirical thresholds.
 */
extern double agg_hll_estimate(const uint32_t *hist, int p);

#endif							/* VPCFLOW_AGGFORMAT_H */
