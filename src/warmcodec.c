/*
 * warmcodec.c
 *		The warm tier's block codec (see warmcodec.h and docs/warm.md).
 *
 * Integers are encoded as a constant, frame of reference with a common
 * divisor (timestamps are whole seconds in microseconds), zigzag deltas,
 * or a dictionary with byte codes; byte strings as a constant, a
 * dictionary or plainly.  Byte codes rather than bit-packing leave zstd's
 * Huffman stage free to code skewed distributions (Zipf talkers, a few
 * ports) below their fixed bit width.
 *
 * Choosing costs little: every candidate encoding of a column gets a size
 * estimate from one pass over its values (see Est), without being
 * written; only the best (and the runner-up when the two are close) is
 * written and compressed with zstd, and the smallest result is kept.
 *
 * The decoder trusts nothing: every length, count and code is checked
 * against the bytes actually present before use.
 */
#include "warmcodec.h"
#include "fmix64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define ERR(...) do { snprintf(err, errlen, __VA_ARGS__); return false; } while (0)

/*
 * zstd contexts, made once per process and reused: a context is large
 * (about 1 MB to compress), and making one per column stream cost more
 * than the work itself.  Not thread-safe; PostgreSQL backends, the tests
 * and the fuzzer are single-threaded.
 */
static ZSTD_CCtx *cctx;
static ZSTD_DCtx *dctx;

/* ---------------------------------------------------------------- helpers */

static inline size_t
varint_size(uint64_t v)
{
	size_t		n = 1;

	while (v >= 0x80)
	{
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t) v;
	return p;
}

static inline uint64_t
zigzag(int64_t v)
{
	return ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);
}

static inline int64_t
unzigzag(uint64_t v)
{
	return (int64_t) ((v >> 1) ^ (~(v & 1) + 1));
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static inline void
put_u64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, 8);
#else
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
#endif
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t
gcd64(uint64_t a, uint64_t b)
{
	while (b)
	{
		uint64_t	t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static int
bit_width(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

static inline uint64_t
hash_bytes(const uint8_t *p, uint32_t n)
{
	uint64_t	h = UINT64_C(0x9e3779b97f4a7c15) ^ n;
	uint64_t	w;

	for (; n >= 8; p += 8, n -= 8)
	{
		memcpy(&w, p, 8);
		h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
		h ^= h >> 32;
	}
	if (n > 0)
	{
		w = 0;
		memcpy(&w, p, n);
		h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
	}
	return fmix64(h);
}

static uint32_t
table_size_for(uint32_t n)
{
	uint32_t	s = 16;

	while (s < n * 2)
		s <<= 1;
	return s;
}

/* log2(x) for x >= 1, to about 0.01: plenty for size estimates */
static inline double
approx_log2(uint64_t x)
{
	int			e = 63 - __builtin_clzll(x);
	double		f = e < 52 ? (double) x / (double) (UINT64_C(1) << e) - 1.0 :
		(double) (x >> (e - 52)) / (double) (UINT64_C(1) << 52) - 1.0;

	return e + f * (1.3466 - 0.3466 * f);
}

/* ---------------------------------------------------------------- estimates */

/*
 * The size zstd would make of a stream, roughly: the order-0 entropy of its
 * literal bytes (zstd's Huffman stage) plus a few bytes per match.  A run
 * of values equal to the one before is one match (or its literals, if
 * shorter); a byte string seen earlier in the block, not just before, is
 * one match too.  Only the ranking of a column's candidates matters.
 */
typedef struct Est
{
	uint32_t	hist[256];
	uint64_t	nbytes;
	double		extra;			/* bytes outside the histogram (matches) */
} Est;

#define MATCH_COST	3.0		/* a run of repeats */
#define RECUR_COST	1.5		/* a byte string seen earlier: matches often span several values */

static inline void
est_bytes(Est *e, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		e->hist[p[i]]++;
	e->nbytes += n;
}

static inline void
est_varint(Est *e, uint64_t v)
{
	while (v >= 0x80)
	{
		e->hist[(uint8_t) (v | 0x80)]++;
		e->nbytes++;
		v >>= 7;
	}
	e->hist[v]++;
	e->nbytes++;
}

/* a run of n repeated values of about vb bytes each */
static inline void
est_run(Est *e, uint32_t n, double vb)
{
	double		lit = n * vb;

	if (n > 0)
		e->extra += lit < MATCH_COST ? lit : MATCH_COST;
}

static double
est_size(const Est *e)
{
	double		bits = 0;

	if (e->nbytes == 0)
		return e->extra;
	for (int i = 0; i < 256; i++)
		if (e->hist[i])
			bits += e->hist[i] * (approx_log2(e->nbytes) - approx_log2(e->hist[i]));
	return bits / 8 + e->extra;
}

/* ---------------------------------------------------------------- encoder */

/* A growable byte buffer from the allocator (old space is left behind). */
typedef struct Buf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} Buf;

static void
buf_reserve(Buf *b, const WcAlloc *a, size_t need)
{
	if (need > b->cap)
	{
		size_t		cap = need > b->cap * 2 ? need : b->cap * 2;

		b->data = a->alloc(a->ctx, cap);
		b->cap = cap;
	}
}

/*
 * Working memory for one block, sized for its row count and reused column
 * after column, so that a column costs no allocation but its result's.
 */
typedef struct Scratch
{
	const WcAlloc *a;
	uint32_t	nrows;
	size_t		bm;				/* NULL bitmap bytes: ceil(nrows / 8) */
	uint8_t    *bitmap;
	int64_t    *vals;			/* integers: the non-NULL values in row order */
	uint64_t   *quot;			/* integers: (value - min) / divisor */
	uint32_t   *rows;			/* bytes: the rows of the non-NULL values */
	uint32_t   *codes;			/* dictionary code of each value, by first appearance */
	uint32_t   *first;			/* code -> index of its first value */
	uint32_t   *heads;			/* code -> values that start a run */
	uint32_t   *rank;			/* integers: code -> sorted code */
	int64_t    *dict;			/* integers: code -> value */
	int32_t    *slot;			/* hash table */
	uint32_t	tsize;
	Buf			raw[3];			/* the written candidates */
	Buf			z[3];			/* and their zstd output */
	uint8_t    *null_block;		/* zstd of an all-NULL column's stream */
	uint32_t	null_block_len; /* 0: not made yet */
	uint8_t		null_block_flags;
} Scratch;

static void
scratch_init(Scratch *s, uint32_t nrows, const WcAlloc *a)
{
	memset(s, 0, sizeof(*s));
	s->a = a;
	s->nrows = nrows;
	s->bm = (nrows + 7) / 8;
	s->bitmap = a->alloc(a->ctx, s->bm);
	s->vals = a->alloc(a->ctx, sizeof(int64_t) * nrows);
	s->quot = a->alloc(a->ctx, sizeof(uint64_t) * nrows);
	s->rows = a->alloc(a->ctx, sizeof(uint32_t) * nrows);
	s->codes = a->alloc(a->ctx, sizeof(uint32_t) * nrows);
	s->first = a->alloc(a->ctx, sizeof(uint32_t) * nrows);
	s->heads = a->alloc(a->ctx, sizeof(uint32_t) * nrows);
	s->rank = a->alloc(a->ctx, sizeof(uint32_t) * nrows);
	s->dict = a->alloc(a->ctx, sizeof(int64_t) * nrows);
	s->tsize = table_size_for(nrows);
	s->slot = a->alloc(a->ctx, sizeof(int32_t) * s->tsize);
}

/*
 * The NULL bitmap of column c into s->bitmap; returns the number of
 * non-NULL values.
 */
static uint32_t
make_bitmap(Scratch *s, const WcColumnIn *c)
{
	uint32_t	nulls = 0;
	uint32_t	i = 0;

	memset(s->bitmap, 0, s->bm);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* eight bools (0 or 1) at a time: the multiply gathers byte j's bit into bit j */
	for (; i + 8 <= s->nrows; i += 8)
	{
		uint64_t	w;
		uint8_t		byte;

		memcpy(&w, c->nulls + i, 8);
		byte = (uint8_t) ((w * UINT64_C(0x0102040810204080)) >> 56);
		s->bitmap[i >> 3] = byte;
		nulls += (uint32_t) ((w * UINT64_C(0x0101010101010101)) >> 56);	/* sum of the bytes */
	}
#endif
	for (; i < s->nrows; i++)
	{
		s->bitmap[i >> 3] |= (uint8_t) ((c->nulls[i] ? 1u : 0u) << (i & 7));
		nulls += c->nulls[i] ? 1 : 0;
	}
	return s->nrows - nulls;
}

/* Start candidate buffer k for a payload of at most payload bytes. */
static uint8_t *
start_raw(Scratch *s, int k, bool has_nulls, size_t payload)
{
	Buf		   *b = &s->raw[k];
	size_t		bm = has_nulls ? s->bm : 0;

	buf_reserve(b, s->a, bm + payload + 1);
	if (bm)
		memcpy(b->data, s->bitmap, bm);
	b->len = bm;
	return b->data + bm;
}

static void
end_raw(Scratch *s, int k, const uint8_t *end)
{
	Buf		   *b = &s->raw[k];

	b->len = (size_t) (end - b->data);
	if (b->len > b->cap)
		abort();				/* capacities are computed up front */
}

/* The chosen stream of a column. */
typedef struct Choice
{
	uint8_t		enc;
	uint8_t		flags;
	const uint8_t *data;
	uint32_t	stored_len;
	uint32_t	raw_len;
} Choice;

/*
 * Compress candidate buffer k; returns the zstd length, or 0 when zstd does
 * not make it smaller (or the stream is too short to be worth trying).
 */
static size_t
compress_raw(Scratch *s, int k, int level)
{
	Buf		   *r = &s->raw[k];
	size_t		bound,
				zlen;

	if (r->len < 64)
		return 0;
	bound = ZSTD_compressBound(r->len);
	buf_reserve(&s->z[k], s->a, bound);
	if (cctx == NULL && (cctx = ZSTD_createCCtx()) == NULL)
		return 0;
	zlen = ZSTD_compressCCtx(cctx, s->z[k].data, bound, r->data, r->len, level);
	if (ZSTD_isError(zlen) || zlen >= r->len)
		return 0;
	s->z[k].len = zlen;
	return zlen;
}

/* Keep candidate buffer k (raw, or its zstd if smaller) if it beats best. */
static void
consider(Choice *best, Scratch *s, int k, uint8_t enc, uint8_t flags, int level)
{
	size_t		zlen = compress_raw(s, k, level);
	size_t		len = zlen ? zlen : s->raw[k].len;

	if (best->data == NULL || len < best->stored_len)
	{
		best->enc = enc;
		best->flags = zlen ? flags | WC_FLAG_ZSTD : flags;
		best->data = zlen ? s->z[k].data : s->raw[k].data;
		best->stored_len = (uint32_t) len;
		best->raw_len = (uint32_t) s->raw[k].len;
	}
}

/* Copy the chosen stream out of the scratch buffers, which the next column reuses. */
static void
keep(Choice *best, Scratch *s)
{
	uint8_t    *p = s->a->alloc(s->a->ctx, best->stored_len ? best->stored_len : 1);

	if (best->stored_len)
		memcpy(p, best->data, best->stored_len);
	best->data = p;
}

/*
 * A column whose every row is NULL: the same stream for every such column
 * of the block, compressed once.
 */
static void
encode_all_null(Scratch *s, int level, Choice *best)
{
	memset(best, 0, sizeof(*best));
	if (s->null_block_len == 0)
	{
		Choice		c;
		uint8_t    *p;

		memset(&c, 0, sizeof(c));
		memset(s->bitmap, 0xff, s->bm);
		if (s->nrows % 8)
			s->bitmap[s->bm - 1] = (uint8_t) ((1u << (s->nrows % 8)) - 1);
		p = start_raw(s, 0, true, 0);
		end_raw(s, 0, p);
		consider(&c, s, 0, WC_ENC_NONE, WC_FLAG_NULLS, level);
		keep(&c, s);
		s->null_block = (uint8_t *) c.data;
		s->null_block_len = c.stored_len;
		s->null_block_flags = c.flags;
	}
	best->enc = WC_ENC_NONE;
	best->flags = s->null_block_flags;
	best->data = s->null_block;
	best->stored_len = s->null_block_len;
	best->raw_len = (uint32_t) s->bm;
}

/*
 * Order candidates by estimate; write and compress the best, and one
 * runner-up: deltas when they are within DELTA_NEAR of the best (zstd
 * finds repeating patterns of deltas that the estimate does not see), else
 * the second best when within NEAR.  On flow logs this loses about 0.1%
 * against compressing every candidate (bench/warmcodec_bench.c).
 */
#define NEAR		1.15
#define DELTA_NEAR	1.5

typedef struct Cand
{
	uint8_t		enc;
	double		est;
} Cand;

static int
rank_cands(Cand *c, int n)
{
	/* insertion sort of at most three */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && c[j].est < c[j - 1].est; j--)
		{
			Cand		t = c[j];

			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	for (int i = 1; i < n; i++)
		if (c[i].enc == WC_ENC_DELTA && c[i].est <= c[0].est * DELTA_NEAR)
		{
			Cand		t = c[i];

			c[i] = c[1];
			c[1] = t;
			return 2;
		}
	return n > 1 && c[1].est <= c[0].est * NEAR ? 2 : 1;
}

static int
cmp_rank(const void *a, const void *b)
{
	int64_t		x = ((const int64_t *) a)[0],
				y = ((const int64_t *) b)[0];

	return (x > y) - (x < y);
}

static void
encode_int(const WcColumnIn *c, Scratch *s, int level, Choice *best)
{
	uint32_t	nrows = s->nrows;
	int64_t    *v = s->vals;
	uint32_t	m;
	bool		has_nulls;
	uint8_t		flags;
	int64_t		mn,
				mx;
	uint64_t	g = 0,
				range;
	int			bits;
	uint32_t	ndict = 0;
	bool		dict_ok = true;
	Est			e_for,
				e_for_hi,
				e_delta,
				e_dict;
	Cand		cand[3];
	int			ncand = 0,
				ntry;

	m = make_bitmap(s, c);
	if (m == 0)
	{
		encode_all_null(s, level, best);
		return;
	}
	has_nulls = m < nrows;
	flags = has_nulls ? WC_FLAG_NULLS : 0;
	memset(best, 0, sizeof(*best));
	if (has_nulls)
	{
		for (uint32_t i = 0, k = 0; i < nrows; i++)
		{
			v[k] = c->ints[i];
			k += !c->nulls[i];
		}
	}
	else
		memcpy(v, c->ints, sizeof(int64_t) * m);

	mn = mx = v[0];
	for (uint32_t k = 1; k < m; k++)
	{
		mn = v[k] < mn ? v[k] : mn;
		mx = v[k] > mx ? v[k] : mx;
	}
	if (mn == mx)
	{
		uint8_t    *p = start_raw(s, 0, has_nulls, 10);

		p = put_varint(p, zigzag(mn));
		end_raw(s, 0, p);
		consider(best, s, 0, WC_ENC_CONST, flags, level);
		keep(best, s);
		return;
	}
	for (uint32_t k = 0; k < m && g != 1; k++)
	{
		uint64_t	d = (uint64_t) v[k] - (uint64_t) mn;

		/* one division per value once the divisor has settled */
		if (g == 0 || d % g != 0)
			g = gcd64(g, d);
	}
	range = ((uint64_t) mx - (uint64_t) mn) / g;
	bits = bit_width(range);

	/*
	 * One pass for the estimates of all three encodings, and the dictionary
	 * by first appearance (given up past m / 2 entries: it cannot pay).
	 */
	memset(&e_for, 0, sizeof(Est));
	memset(&e_for_hi, 0, sizeof(Est));
	memset(&e_delta, 0, sizeof(Est));
	memset(&e_dict, 0, sizeof(Est));
	memset(s->slot, -1, sizeof(int32_t) * s->tsize);
	{
		uint32_t	run = 0,
					drun = 0;
		uint32_t	qbytes = (uint32_t) (bits + 7) / 8;
		int			shift = (g & (g - 1)) == 0 ? bit_width(g) - 1 : -1;
		uint32_t	heads = 0;
		uint32_t	code = 0;
		uint64_t	prev_d = UINT64_MAX;

		for (uint32_t k = 0; k < m; k++)
		{
			int64_t		x = v[k];
			uint64_t	d = zigzag((int64_t) ((uint64_t) x - (uint64_t) (k ? v[k - 1] : 0)));

			/* deltas: a run of equal deltas is one match */
			if (d == prev_d)
				drun++;
			else
			{
				est_run(&e_delta, drun, varint_size(prev_d));
				drun = 0;
				est_varint(&e_delta, d);
				prev_d = d;
			}
			if (k > 0 && x == v[k - 1])
			{
				run++;
				s->quot[k] = s->quot[k - 1];
				if (dict_ok)
					s->codes[k] = code;
				continue;
			}
			if (run)
			{
				est_run(&e_for, run, bits / 8.0);
				est_run(&e_dict, run, ndict > 256 ? 2 : 1);
				run = 0;
			}
			heads++;
			{
				uint64_t	q = (uint64_t) x - (uint64_t) mn;
				uint8_t		qb[8];

				q = shift >= 0 ? q >> shift : q / g;
				s->quot[k] = q;
				put_u64(qb, q);
				/* the low byte apart: it is the least skewed */
				e_for.hist[qb[0]]++;
				e_for.nbytes++;
				if (qbytes > 1)
					est_bytes(&e_for_hi, qb + 1, qbytes - 1);
			}
			if (dict_ok)
			{
				uint32_t	h = (uint32_t) fmix64((uint64_t) x) & (s->tsize - 1);

				while (s->slot[h] >= 0 && s->dict[s->slot[h]] != x)
					h = (h + 1) & (s->tsize - 1);
				if (s->slot[h] < 0)
				{
					if (ndict >= m / 2 || ndict == 65536)
						dict_ok = false;
					else
					{
						s->slot[h] = (int32_t) ndict;
						s->dict[ndict] = x;
						s->heads[ndict] = 0;
						ndict++;
					}
				}
				if (dict_ok)
				{
					code = (uint32_t) s->slot[h];
					s->codes[k] = code;
					s->heads[code]++;
				}
			}
		}
		est_run(&e_delta, drun, varint_size(prev_d));
		est_run(&e_for, run, bits / 8.0);
		est_run(&e_dict, run, ndict > 256 ? 2 : 1);
		/* FOR: entropy of the values' bytes, or their packed bits if fewer */
		{
			double		packed = heads * (bits / 8.0);
			double		ent = est_size(&e_for) - e_for.extra + est_size(&e_for_hi);

			cand[ncand].enc = WC_ENC_FOR;
			cand[ncand++].est = (ent < packed ? ent : packed) + e_for.extra + 21;
		}
		cand[ncand].enc = WC_ENC_DELTA;
		cand[ncand++].est = est_size(&e_delta);
		if (dict_ok && ndict <= m / 2)
		{
			/* codes: their entropy over run heads; entries: about a varint of the mean gap */
			double		cbits = 0;
			int			cw = ndict > 256 ? 2 : 1;

			for (uint32_t d = 0; d < ndict; d++)
				if (s->heads[d])
					cbits += s->heads[d] * (approx_log2(heads) - approx_log2(s->heads[d]));
			if (cw == 2)
				cbits += heads * 1.0;	/* the two code bytes share one Huffman table */
			cand[ncand].enc = WC_ENC_DICT;
			cand[ncand++].est = cbits / 8 + e_dict.extra + 5 +
				(double) ndict * varint_size(((uint64_t) mx - (uint64_t) mn) / ndict);
		}
	}

	ntry = rank_cands(cand, ncand);
	for (int t = 0; t < ntry; t++)
	{
		uint8_t    *p;

		switch (cand[t].enc)
		{
			case WC_ENC_FOR:
				{
					uint64_t	acc = 0;
					int			nacc = 0;

					p = start_raw(s, t, has_nulls, 21 + ((size_t) m * bits + 7) / 8);
					p = put_varint(p, zigzag(mn));
					p = put_varint(p, g);
					*p++ = (uint8_t) bits;
					/* a 64-bit word at a time, LSB first */
					for (uint32_t k = 0; k < m; k++)
					{
						uint64_t	q = s->quot[k];

						acc |= q << nacc;
						if (nacc + bits >= 64)
						{
							put_u64(p, acc);
							p += 8;
							acc = nacc ? q >> (64 - nacc) : 0;
							nacc = nacc + bits - 64;
						}
						else
							nacc += bits;
					}
					for (; nacc > 0; nacc -= 8, acc >>= 8)
						*p++ = (uint8_t) acc;
					break;
				}
			case WC_ENC_DELTA:
				{
					int64_t		prev = 0;

					p = start_raw(s, t, has_nulls, (size_t) m * 10);
					for (uint32_t k = 0; k < m; k++)
					{
						p = put_varint(p, zigzag((int64_t) ((uint64_t) v[k] - (uint64_t) prev)));
						prev = v[k];
					}
					break;
				}
			default:			/* WC_ENC_DICT */
				{
					/* entries ascending: sort (value, code) pairs, then map codes */
					int64_t    *pairs = (int64_t *) s->a->alloc(s->a->ctx, sizeof(int64_t) * 2 * ndict);
					int64_t		prev;

					for (uint32_t d = 0; d < ndict; d++)
					{
						pairs[2 * d] = s->dict[d];
						pairs[2 * d + 1] = d;
					}
					qsort(pairs, ndict, 2 * sizeof(int64_t), cmp_rank);
					for (uint32_t d = 0; d < ndict; d++)
						s->rank[pairs[2 * d + 1]] = d;
					p = start_raw(s, t, has_nulls, 5 + (size_t) ndict * 10 + (size_t) m * 2);
					p = put_varint(p, ndict - 1);
					p = put_varint(p, zigzag(pairs[0]));
					prev = pairs[0];
					for (uint32_t d = 1; d < ndict; d++)
					{
						p = put_varint(p, (uint64_t) pairs[2 * d] - (uint64_t) prev);
						prev = pairs[2 * d];
					}
					if (ndict > 256)
						for (uint32_t k = 0; k < m; k++)
						{
							uint32_t	r = s->rank[s->codes[k]];

							p[0] = (uint8_t) r;
							p[1] = (uint8_t) (r >> 8);
							p += 2;
						}
					else
						for (uint32_t k = 0; k < m; k++)
							*p++ = (uint8_t) s->rank[s->codes[k]];
					break;
				}
		}
		end_raw(s, t, p);
		consider(best, s, t, cand[t].enc, flags, level);
	}
	keep(best, s);
}

static void
encode_bytes(const WcColumnIn *c, Scratch *s, int level, Choice *best)
{
	uint32_t	nrows = s->nrows;
	uint32_t	m;
	bool		has_nulls;
	uint8_t		flags;
	uint32_t   *rows = s->rows;
	uint32_t   *codes = s->codes;
	uint32_t   *first = s->first;
	uint32_t	ndict = 0;
	size_t		total = 0,
				dict_bytes = 0;
	Est			e_plain,
				e_dict;
	Cand		cand[2];
	int			ncand = 0,
				ntry;

	m = make_bitmap(s, c);
	if (m == 0)
	{
		encode_all_null(s, level, best);
		return;
	}
	has_nulls = m < nrows;
	flags = has_nulls ? WC_FLAG_NULLS : 0;
	memset(best, 0, sizeof(*best));
	for (uint32_t i = 0, k = 0; i < nrows; i++)
	{
		rows[k] = i;
		k += !c->nulls[i];
	}

	/*
	 * The dictionary in first-seen order (always possible: m <= 65536), and
	 * the estimates: a value equal to the one before extends a run; one
	 * seen earlier is a match for plain, a code for the dictionary.
	 */
	memset(&e_plain, 0, sizeof(Est));
	memset(&e_dict, 0, sizeof(Est));
	memset(s->slot, -1, sizeof(int32_t) * s->tsize);
	{
		uint32_t	run = 0;
		double		run_plain = 0;
		int			cw;

		for (uint32_t k = 0; k < m; k++)
		{
			uint32_t	r = rows[k];
			const uint8_t *p = c->ptrs[r];
			uint32_t	len = c->lens[r];
			uint32_t	h;

			total += varint_size(len) + len;
			if (k > 0)
			{
				uint32_t	pr = rows[k - 1];

				if (c->lens[pr] == len && (len == 0 || p == c->ptrs[pr] ||
										   memcmp(p, c->ptrs[pr], len) == 0))
				{
					codes[k] = codes[k - 1];
					run++;
					run_plain = varint_size(len) + len;
					continue;
				}
			}
			if (run)
			{
				est_run(&e_plain, 1, run * run_plain);
				run = 0;
			}
			h = (uint32_t) hash_bytes(p, len) & (s->tsize - 1);
			for (;;)
			{
				uint32_t	o;

				if (s->slot[h] < 0)
				{
					uint8_t		lb[10];
					size_t		ln = (size_t) (put_varint(lb, len) - lb);

					s->slot[h] = (int32_t) ndict;
					first[ndict] = k;
					s->heads[ndict] = 0;
					ndict++;
					dict_bytes += ln + len;
					est_bytes(&e_plain, lb, ln);
					est_bytes(&e_plain, p, len);
					est_bytes(&e_dict, lb, ln);
					est_bytes(&e_dict, p, len);
					break;
				}
				o = rows[first[s->slot[h]]];
				if (c->lens[o] == len && (len == 0 || memcmp(c->ptrs[o], p, len) == 0))
				{
					/* seen before, not just before: a match */
					double		lit = varint_size(len) + len;

					e_plain.extra += lit < RECUR_COST ? lit : RECUR_COST;
					break;
				}
				h = (h + 1) & (s->tsize - 1);
			}
			codes[k] = (uint32_t) s->slot[h];
			s->heads[codes[k]]++;
		}
		if (run)
			est_run(&e_plain, 1, run * run_plain);

		if (ndict == 1)
		{
			uint32_t	r = rows[first[0]];
			uint8_t    *p = start_raw(s, 0, has_nulls, dict_bytes);

			p = put_varint(p, c->lens[r]);
			memcpy(p, c->ptrs[r], c->lens[r]);
			p += c->lens[r];
			end_raw(s, 0, p);
			consider(best, s, 0, WC_ENC_CONST, flags, level);
			keep(best, s);
			return;
		}
		cand[ncand].enc = WC_ENC_PLAIN;
		cand[ncand++].est = est_size(&e_plain);
		if (ndict <= m / 2)
		{
			uint32_t	heads = 0;
			double		cbits = 0;

			cw = ndict > 256 ? 2 : 1;
			/* runs of equal codes */
			for (uint32_t k = 1, n = 0; k <= m; k++)
			{
				if (k < m && codes[k] == codes[k - 1])
					n++;
				else
				{
					est_run(&e_dict, n, cw);
					n = 0;
				}
			}
			for (uint32_t d = 0; d < ndict; d++)
				heads += s->heads[d];
			for (uint32_t d = 0; d < ndict; d++)
				cbits += s->heads[d] * (approx_log2(heads) - approx_log2(s->heads[d]));
			if (cw == 2)
				cbits += heads * 1.0;
			cand[ncand].enc = WC_ENC_DICT;
			cand[ncand++].est = est_size(&e_dict) + cbits / 8 + 5;
		}
	}

	ntry = rank_cands(cand, ncand);
	for (int t = 0; t < ntry; t++)
	{
		uint8_t    *p;

		if (cand[t].enc == WC_ENC_DICT)
		{
			p = start_raw(s, t, has_nulls, 5 + dict_bytes + (size_t) m * 2);
			p = put_varint(p, ndict - 1);
			for (uint32_t d = 0; d < ndict; d++)
			{
				uint32_t	r = rows[first[d]];

				p = put_varint(p, c->lens[r]);
				if (c->lens[r])
					memcpy(p, c->ptrs[r], c->lens[r]);
				p += c->lens[r];
			}
			if (ndict > 256)
				for (uint32_t k = 0; k < m; k++)
				{
					p[0] = (uint8_t) codes[k];
					p[1] = (uint8_t) (codes[k] >> 8);
					p += 2;
				}
			else
				for (uint32_t k = 0; k < m; k++)
					*p++ = (uint8_t) codes[k];
		}
		else
		{
			p = start_raw(s, t, has_nulls, total);
			for (uint32_t k = 0; k < m; k++)
			{
				uint32_t	r = rows[k];

				p = put_varint(p, c->lens[r]);
				if (c->lens[r])
					memcpy(p, c->ptrs[r], c->lens[r]);
				p += c->lens[r];
			}
		}
		end_raw(s, t, p);
		consider(best, s, t, cand[t].enc, flags, level);
	}
	keep(best, s);
}

uint8_t *
wc_encode_block(const WcColumnIn *cols, int ncols, uint32_t nrows, int zstd_level,
				const WcAlloc *a, size_t *len, char *err, size_t errlen)
{
	Choice	   *ch;
	Scratch		s;
	size_t		total;
	uint8_t    *out,
			   *p;

	if (nrows == 0 || nrows > WC_MAX_ROWS)
	{
		snprintf(err, errlen, "a block holds 1 to %d rows, not %u", WC_MAX_ROWS, nrows);
		return NULL;
	}
	if (ncols <= 0 || ncols > WC_MAX_COLS)
	{
		snprintf(err, errlen, "a block holds 1 to %d columns, not %d", WC_MAX_COLS, ncols);
		return NULL;
	}
	for (int i = 0; i < ncols; i++)
		if (!((cols[i].kind == WC_INT && (cols[i].width == 1 || cols[i].width == 2 ||
										  cols[i].width == 4 || cols[i].width == 8)) ||
			  (cols[i].kind == WC_BYTES && cols[i].width == 0)))
		{
			snprintf(err, errlen, "column %d: bad kind %d or width %d", i + 1, cols[i].kind,
					 cols[i].width);
			return NULL;
		}
	ch = a->alloc(a->ctx, sizeof(Choice) * ncols);
	scratch_init(&s, nrows, a);
	total = WC_HEADER_SIZE + (size_t) ncols * WC_COLDIR_SIZE;
	for (int i = 0; i < ncols; i++)
	{
		if (cols[i].kind == WC_INT)
			encode_int(&cols[i], &s, zstd_level, &ch[i]);
		else
			encode_bytes(&cols[i], &s, zstd_level, &ch[i]);
		total += ch[i].stored_len;
	}
	if (total > UINT32_MAX)
	{
		snprintf(err, errlen, "block of %zu bytes is too large", total);
		return NULL;
	}
	out = a->alloc(a->ctx, total);
	memcpy(out, WC_MAGIC, 4);
	out[4] = WC_VERSION;
	out[5] = 0;
	out[6] = (uint8_t) ncols;
	out[7] = (uint8_t) (ncols >> 8);
	put_u32(out + 8, nrows);
	p = out + WC_HEADER_SIZE;
	for (int i = 0; i < ncols; i++)
	{
		p[0] = cols[i].kind;
		p[1] = cols[i].width;
		p[2] = ch[i].enc;
		p[3] = ch[i].flags;
		put_u32(p + 4, ch[i].stored_len);
		put_u32(p + 8, ch[i].raw_len);
		p += WC_COLDIR_SIZE;
	}
	for (int i = 0; i < ncols; i++)
	{
		if (ch[i].stored_len)
			memcpy(p, ch[i].data, ch[i].stored_len);
		p += ch[i].stored_len;
	}
	*len = total;
	return out;
}

/* ---------------------------------------------------------------- decoder */

bool
wc_parse_header(const uint8_t *buf, size_t len, const WcAlloc *a, WcBlockInfo *info,
				char *err, size_t errlen)
{
	uint64_t	off;

	if (len < WC_HEADER_SIZE)
		ERR("block is %zu bytes, shorter than its header", len);
	if (memcmp(buf, WC_MAGIC, 4) != 0)
		ERR("not a warm block (bad magic)");
	if (buf[4] != WC_VERSION)
		ERR("warm block format version %d is not supported (this build reads %d)",
			buf[4], WC_VERSION);
	if (buf[5] != 0)
		ERR("warm block has unknown header flags 0x%02x", buf[5]);
	info->ncols = (uint16_t) (buf[6] | buf[7] << 8);
	info->nrows = get_u32(buf + 8);
	if (info->nrows == 0 || info->nrows > WC_MAX_ROWS)
		ERR("warm block claims %u rows", info->nrows);
	if (info->ncols == 0 || info->ncols > WC_MAX_COLS)
		ERR("warm block claims %u columns", info->ncols);
	if (len < WC_HEADER_SIZE + (size_t) info->ncols * WC_COLDIR_SIZE)
		ERR("warm block directory is truncated");
	info->cols = a->alloc(a->ctx, sizeof(WcColumnDir) * info->ncols);
	off = WC_HEADER_SIZE + (uint64_t) info->ncols * WC_COLDIR_SIZE;
	for (int i = 0; i < info->ncols; i++)
	{
		const uint8_t *p = buf + WC_HEADER_SIZE + (size_t) i * WC_COLDIR_SIZE;
		WcColumnDir *d = &info->cols[i];

		d->kind = p[0];
		d->width = p[1];
		d->enc = p[2];
		d->flags = p[3];
		d->stored_len = get_u32(p + 4);
		d->raw_len = get_u32(p + 8);
		d->offset = (uint32_t) off;
		if (!((d->kind == WC_INT && (d->width == 1 || d->width == 2 || d->width == 4 || d->width == 8)) ||
			  (d->kind == WC_BYTES && d->width == 0)))
			ERR("warm block column %d has bad kind %d / width %d", i + 1, d->kind, d->width);
		if (d->enc > WC_ENC_PLAIN || (d->kind == WC_INT && d->enc == WC_ENC_PLAIN) ||
			(d->kind == WC_BYTES && (d->enc == WC_ENC_FOR || d->enc == WC_ENC_DELTA)))
			ERR("warm block column %d has bad encoding %d", i + 1, d->enc);
		if (d->flags & ~(WC_FLAG_NULLS | WC_FLAG_ZSTD))
			ERR("warm block column %d has unknown flags 0x%02x", i + 1, d->flags);
		if (d->raw_len > WC_MAX_RAW)
			ERR("warm block column %d claims %u decoded bytes", i + 1, d->raw_len);
		if (!(d->flags & WC_FLAG_ZSTD) && d->raw_len != d->stored_len)
			ERR("warm block column %d: stored and raw lengths differ without compression", i + 1);
		off += d->stored_len;
		if (off > UINT32_MAX)
			ERR("warm block is too long");
	}
	info->total_len = (uint32_t) off;
	return true;
}

/* A bounded reader over one raw stream. */
typedef struct Rd
{
	const uint8_t *p;
	const uint8_t *end;
} Rd;

static bool
rd_varint(Rd *r, uint64_t *v)
{
	uint64_t	x = 0;

	for (int shift = 0; shift < 64; shift += 7)
	{
		uint8_t		b;

		if (r->p >= r->end)
			return false;
		b = *r->p++;
		if (shift == 63 && b > 1)
			return false;
		x |= (uint64_t) (b & 0x7f) << shift;
		if (!(b & 0x80))
		{
			*v = x;
			return true;
		}
	}
	return false;
}

static bool
read_codes(Rd *r, uint32_t *codes, uint32_t m, uint32_t ndict, char *err, size_t errlen, int col)
{
	size_t		w = ndict > 256 ? 2 : 1;
	uint32_t	maxc = 0;

	if ((size_t) (r->end - r->p) < (size_t) m * w)
		ERR("warm block column %d: dictionary codes are truncated", col);

	if (w == 1)
		for (uint32_t i = 0; i < m; i++)
		{
			codes[i] = r->p[i];
			maxc = codes[i] > maxc ? codes[i] : maxc;
		}
	else
		for (uint32_t i = 0; i < m; i++)
		{
			codes[i] = (uint32_t) r->p[2 * i] | (uint32_t) r->p[2 * i + 1] << 8;
			maxc = codes[i] > maxc ? codes[i] : maxc;
		}
	r->p += (size_t) m * w;
	if (m > 0 && maxc >= ndict)
		ERR("warm block column %d: code %u outside its dictionary of %u", col, maxc, ndict);
	return true;
}

bool
wc_decode_column(const WcBlockInfo *info, int col, const uint8_t *stream, size_t stream_len,
				 const WcAlloc *a, WcColumnOut *out, char *err, size_t errlen)
{
	const WcColumnDir *d;
	const uint8_t *raw;
	uint32_t	nrows = info->nrows;
	uint32_t	m = nrows;
	Rd			r;
	uint32_t   *idx;			/* value k -> row */
	int			cn = col + 1;

	if (col < 0 || col >= info->ncols)
		ERR("warm block has no column %d", cn);
	d = &info->cols[col];
	if (stream_len != d->stored_len)
		ERR("warm block column %d: stream is %zu bytes, directory says %u", cn, stream_len,
			d->stored_len);
	if (d->flags & WC_FLAG_ZSTD)
	{
		uint8_t    *buf = a->alloc(a->ctx, d->raw_len ? d->raw_len : 1);
		size_t		n;

		if (dctx == NULL && (dctx = ZSTD_createDCtx()) == NULL)
			ERR("warm block column %d: out of memory for zstd", cn);
		n = ZSTD_decompressDCtx(dctx, buf, d->raw_len, stream, stream_len);

		if (ZSTD_isError(n))
			ERR("warm block column %d: zstd: %s", cn, ZSTD_getErrorName(n));
		if (n != d->raw_len)
			ERR("warm block column %d: decompressed to %zu bytes, directory says %u", cn, n,
				d->raw_len);
		raw = buf;
	}
	else
		raw = stream;
	r.p = raw;
	r.end = raw + d->raw_len;

	memset(out, 0, sizeof(*out));
	out->nrows = nrows;
	out->kind = d->kind;
	out->nulls = a->alloc(a->ctx, sizeof(bool) * nrows);
	memset(out->nulls, 0, sizeof(bool) * nrows);
	if (d->flags & WC_FLAG_NULLS)
	{
		size_t		bm = (nrows + 7) / 8;

		if (d->raw_len < bm)
			ERR("warm block column %d: NULL bitmap is truncated", cn);
		for (uint32_t i = 0; i < nrows; i++)
			if (raw[i / 8] & (1u << (i % 8)))
			{
				out->nulls[i] = true;
				m--;
			}
		if ((nrows % 8) && (raw[bm - 1] >> (nrows % 8)))
			ERR("warm block column %d: NULL bitmap has bits past the last row", cn);
		r.p += bm;
	}
	if ((d->enc == WC_ENC_NONE) != (m == 0))
		ERR("warm block column %d: encoding %d does not fit %u non-NULL values", cn, d->enc, m);
	idx = a->alloc(a->ctx, sizeof(uint32_t) * (m ? m : 1));
	for (uint32_t i = 0, k = 0; i < nrows && k < m; i++)
	{
		idx[k] = i;				/* branch-free: k moves past non-NULL rows */
		k += !out->nulls[i];
	}

	if (d->kind == WC_INT)
	{
		int64_t    *vals = a->alloc(a->ctx, sizeof(int64_t) * nrows);

		memset(vals, 0, sizeof(int64_t) * nrows);
		out->ints = vals;
		switch (d->enc)
		{
			case WC_ENC_NONE:
				break;
			case WC_ENC_CONST:
				{
					uint64_t	z;
					int64_t		v;

					if (!rd_varint(&r, &z))
						ERR("warm block column %d: truncated constant", cn);
					v = unzigzag(z);
					for (uint32_t k = 0; k < m; k++)
						vals[idx[k]] = v;
					break;
				}
			case WC_ENC_FOR:
				{
					uint64_t	zmin,
								g;
					int			bits;

					if (!rd_varint(&r, &zmin) || !rd_varint(&r, &g) || r.p >= r.end)
						ERR("warm block column %d: truncated frame of reference", cn);
					bits = *r.p++;
					if (bits > 64 || g == 0)
						ERR("warm block column %d: bad frame of reference", cn);
					if ((size_t) (r.end - r.p) < ((size_t) m * bits + 7) / 8)
						ERR("warm block column %d: packed values are truncated", cn);
					{
						const uint8_t *base = r.p;
						size_t		avail = (size_t) (r.end - r.p);
						uint64_t	mask = bits == 64 ? ~UINT64_C(0) : (UINT64_C(1) << bits) - 1;
						uint64_t	mn = (uint64_t) unzigzag(zmin);

						for (uint32_t k = 0; k < m; k++)
						{
							uint64_t	bitpos = (uint64_t) k * bits;
							size_t		byte = (size_t) (bitpos >> 3);
							int			sh = (int) (bitpos & 7);
							uint64_t	q = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
							if (bits <= 56 && byte + 8 <= avail)
							{
								uint64_t	w;

								memcpy(&w, base + byte, 8);
								q = (w >> sh) & mask;
							}
							else
#endif
							{
								/* bytes one by one, never past the packed values */
								int			got = -sh;

								for (size_t b = byte; got < bits; b++, got += 8)
									q |= got < 0 ? (uint64_t) base[b] >> -got : (uint64_t) base[b] << got;
								q &= mask;
							}
							vals[idx[k]] = (int64_t) (mn + q * g);
						}
						r.p += ((size_t) m * bits + 7) / 8;
					}
					break;
				}
			case WC_ENC_DELTA:
				{
					uint64_t	prev = 0,
								z;

					for (uint32_t k = 0; k < m; k++)
					{
						if (!rd_varint(&r, &z))
							ERR("warm block column %d: truncated delta", cn);
						prev += (uint64_t) unzigzag(z);
						vals[idx[k]] = (int64_t) prev;
					}
					break;
				}
			case WC_ENC_DICT:
				{
					uint64_t	n1,
								z;
					uint32_t	ndict;
					int64_t    *dict;
					uint32_t   *codes;

					if (!rd_varint(&r, &n1) || n1 >= 65536)
						ERR("warm block column %d: bad dictionary size", cn);
					ndict = (uint32_t) n1 + 1;
					if (ndict > (size_t) (r.end - r.p))
						ERR("warm block column %d: dictionary is truncated", cn);
					dict = a->alloc(a->ctx, sizeof(int64_t) * ndict);
					if (!rd_varint(&r, &z))
						ERR("warm block column %d: dictionary is truncated", cn);
					dict[0] = unzigzag(z);
					for (uint32_t k = 1; k < ndict; k++)
					{
						if (!rd_varint(&r, &z))
							ERR("warm block column %d: dictionary is truncated", cn);
						dict[k] = (int64_t) ((uint64_t) dict[k - 1] + z);
					}
					codes = a->alloc(a->ctx, sizeof(uint32_t) * (m ? m : 1));
					if (!read_codes(&r, codes, m, ndict, err, errlen, cn))
						return false;
					for (uint32_t k = 0; k < m; k++)
						vals[idx[k]] = dict[codes[k]];
					break;
				}
			default:
				ERR("warm block column %d: bad encoding %d", cn, d->enc);
		}
		if (d->width < 8)
		{
			int64_t		lo = d->width == 1 ? INT8_MIN : d->width == 2 ? INT16_MIN : INT32_MIN;
			int64_t		hi = d->width == 1 ? INT8_MAX : d->width == 2 ? INT16_MAX : INT32_MAX;
			bool		bad = false;

			for (uint32_t i = 0; i < nrows; i++)
				bad |= vals[i] < lo || vals[i] > hi;
			if (bad)
				ERR("warm block column %d: value out of range for %d bytes", cn, d->width);
		}
	}
	else
	{
		switch (d->enc)
		{
			case WC_ENC_NONE:
				break;
			case WC_ENC_CONST:
			case WC_ENC_DICT:
				{
					uint64_t	n1 = 0,
								l;
					uint32_t	ndict;

					if (d->enc == WC_ENC_DICT && (!rd_varint(&r, &n1) || n1 >= 65536))
						ERR("warm block column %d: bad dictionary size", cn);
					ndict = (uint32_t) n1 + 1;
					if (ndict > (size_t) (r.end - r.p))
						ERR("warm block column %d: dictionary is truncated", cn);
					out->ndict = ndict;
					out->dict_ptrs = a->alloc(a->ctx, sizeof(uint8_t *) * ndict);
					out->dict_lens = a->alloc(a->ctx, sizeof(uint32_t) * ndict);
					for (uint32_t k = 0; k < ndict; k++)
					{
						if (!rd_varint(&r, &l) || l > (uint64_t) (r.end - r.p))
							ERR("warm block column %d: dictionary entry %u is truncated", cn, k);
						out->dict_ptrs[k] = r.p;
						out->dict_lens[k] = (uint32_t) l;
						r.p += l;
					}
					out->codes = a->alloc(a->ctx, sizeof(uint32_t) * nrows);
					memset(out->codes, 0, sizeof(uint32_t) * nrows);
					if (d->enc == WC_ENC_DICT)
					{
						uint32_t   *codes = a->alloc(a->ctx, sizeof(uint32_t) * (m ? m : 1));

						if (!read_codes(&r, codes, m, ndict, err, errlen, cn))
							return false;
						for (uint32_t k = 0; k < m; k++)
							out->codes[idx[k]] = codes[k];
					}
					break;
				}
			case WC_ENC_PLAIN:
				{
					uint64_t	l;

					out->ptrs = a->alloc(a->ctx, sizeof(uint8_t *) * nrows);
					out->lens = a->alloc(a->ctx, sizeof(uint32_t) * nrows);
					memset(out->ptrs, 0, sizeof(uint8_t *) * nrows);
					memset(out->lens, 0, sizeof(uint32_t) * nrows);
					for (uint32_t k = 0; k < m; k++)
					{
						if (!rd_varint(&r, &l) || l > (uint64_t) (r.end - r.p))
							ERR("warm block column %d: value %u is truncated", cn, k);
						out->ptrs[idx[k]] = r.p;
						out->lens[idx[k]] = (uint32_t) l;
						r.p += l;
					}
					break;
				}
			default:
				ERR("warm block column %d: bad encoding %d", cn, d->enc);
		}
	}
	if (r.p != r.end)
		ERR("warm block column %d: %zu stray bytes after the values", cn, (size_t) (r.end - r.p));
	return true;
}
