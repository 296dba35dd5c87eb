/*
 * test_warmcodec.c
 *		Unit tests of the warm block codec (src/warmcodec.c): exact round
 *		trips over every encoding (constants, NULL-only and NULL-heavy
 *		columns, small and large dictionaries, wide ranges, extreme
 *		values, runs and repeats that steer the encoder's estimates; 1 to
 *		65536 rows), and rejection of truncated and corrupted blocks.
 *
 * unit.sh sources: src/warmcodec.c -lzstd
 */
#include "warmcodec.h"
#include "unit.h"

#include <stdint.h>

/* An arena: every allocation is kept and freed at the end of a case. */
typedef struct Arena
{
	void	  **ptrs;
	size_t		n,
				cap;
} Arena;

static void *
arena_alloc(void *ctx, size_t size)
{
	Arena	   *a = ctx;
	void	   *p = malloc(size ? size : 1);

	if (!p)
		abort();
	if (a->n == a->cap)
	{
		a->cap = a->cap ? a->cap * 2 : 64;
		a->ptrs = realloc(a->ptrs, sizeof(void *) * a->cap);
	}
	a->ptrs[a->n++] = p;
	return p;
}

static void
arena_free(Arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->ptrs[i]);
	free(a->ptrs);
	memset(a, 0, sizeof(*a));
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define NCOLS 10

/* Build a block of nrows with assorted columns; decode and compare all. */
static void
round_trip(uint32_t nrows, int null_pct, int line)
{
	Arena		ar = {0};
	WcAlloc		a = {arena_alloc, &ar};
	WcColumnIn	c[NCOLS];
	static const uint8_t widths[NCOLS] = {8, 4, 2, 1, 8, 8, 0, 0, 0, 0};
	char		err[256];
	size_t		len;
	uint8_t    *blk;
	WcBlockInfo info;
	int			bad = 0;

	for (int k = 0; k < NCOLS; k++)
	{
		bool	   *nulls = arena_alloc(&ar, nrows);
		int64_t    *ints = arena_alloc(&ar, 8 * nrows);
		const uint8_t **ptrs = arena_alloc(&ar, sizeof(void *) * nrows);
		uint32_t   *lens = arena_alloc(&ar, 4 * nrows);

		for (uint32_t i = 0; i < nrows; i++)
		{
			uint64_t	r = next();

			nulls[i] = (int) (r % 100) < null_pct || (k == 5);	/* column 5: all NULL */
			switch (k)
			{
				case 0:			/* timestamps: whole seconds in microseconds */
					ints[i] = INT64_C(1714521600000000) + (int64_t) (r % 3600) * 1000000;
					break;
				case 1:			/* wide random integers, extremes included */
					ints[i] = (i % 7 == 0) ? INT32_MIN : (i % 11 == 0) ? INT32_MAX : (int32_t) r;
					break;
				case 2:			/* a few ports */
					ints[i] = (int16_t) ((r % 5) * 1000);
					break;
				case 3:			/* a constant label */
					ints[i] = -3;
					break;
				case 4:			/* int64 extremes */
					ints[i] = (r & 1) ? INT64_MIN : INT64_MAX;
					break;
				case 5:
					ints[i] = 0;
					break;
				case 6:			/* small dictionary of strings */
				case 7:			/* large cardinality strings, empty ones too */
				case 8:			/* one constant string */
				case 9:			/* random bytes of random length */
					{
						uint32_t	l = k == 6 ? 4 : k == 7 ? (uint32_t) (r % 20) :
							k == 8 ? 5 : (uint32_t) (r % 300);
						uint8_t    *p = arena_alloc(&ar, l ? l : 1);

						for (uint32_t j = 0; j < l; j++)
							p[j] = k == 6 ? (uint8_t) ('a' + (r >> 8) % 3) :
								k == 8 ? 'x' : (uint8_t) next();
						ptrs[i] = p;
						lens[i] = l;
						break;
					}
			}
		}
		c[k].kind = widths[k] ? WC_INT : WC_BYTES;
		c[k].width = widths[k];
		c[k].nulls = nulls;
		c[k].ints = ints;
		c[k].ptrs = ptrs;
		c[k].lens = lens;
	}
	blk = wc_encode_block(c, NCOLS, nrows, 3, &a, &len, err, sizeof(err));
	CHECK(blk != NULL);
	if (!blk)
	{
		fprintf(stderr, "line %d: %s\n", line, err);
		arena_free(&ar);
		return;
	}
	CHECK(wc_parse_header(blk, len, &a, &info, err, sizeof(err)));
	CHECK_INT(info.total_len, len);
	CHECK_INT(info.nrows, nrows);
	for (int k = 0; k < NCOLS; k++)
	{
		WcColumnOut o;
		const WcColumnDir *d = &info.cols[k];
		uint8_t    *exact = malloc(d->stored_len ? d->stored_len : 1);

		/* an exactly sized copy, so ASan sees any over-read */
		memcpy(exact, blk + d->offset, d->stored_len);
		if (!wc_decode_column(&info, k, exact, d->stored_len, &a, &o, err, sizeof(err)))
		{
			fprintf(stderr, "line %d col %d: %s\n", line, k, err);
			bad++;
			free(exact);
			continue;
		}
		for (uint32_t i = 0; i < nrows; i++)
		{
			if (o.nulls[i] != c[k].nulls[i])
			{
				bad++;
				break;
			}
			if (c[k].nulls[i])
				continue;
			if (c[k].kind == WC_INT && o.ints[i] != c[k].ints[i])
				bad++;
			if (c[k].kind == WC_BYTES)
			{
				const uint8_t *p;
				uint32_t	l;

				if (o.ndict)
				{
					uint32_t	code = o.codes ? o.codes[i] : 0;

					p = o.dict_ptrs[code];
					l = o.dict_lens[code];
				}
				else
				{
					p = o.ptrs[i];
					l = o.lens[i];
				}
				if (l != c[k].lens[i] || (l && memcmp(p, c[k].ptrs[i], l) != 0))
					bad++;
			}
		}
		free(exact);
	}
	if (bad)
		fprintf(stderr, "line %d: %d mismatches (nrows %u, nulls %d%%)\n", line, bad, nrows, null_pct);
	CHECK_INT(bad, 0);

	/* every truncation and many single-byte corruptions: no crash, no over-read */
	for (size_t cut = 0; cut < len; cut += 1 + cut / 16)
	{
		uint8_t    *t = malloc(cut ? cut : 1);
		WcBlockInfo ti;

		memcpy(t, blk, cut);
		if (wc_parse_header(t, cut, &a, &ti, err, sizeof(err)))
		{
			CHECK(ti.total_len > cut);	/* a truncated block never claims to fit */
			for (int k = 0; k < ti.ncols; k++)
			{
				WcColumnOut o;
				const WcColumnDir *d = &ti.cols[k];

				if ((uint64_t) d->offset + d->stored_len <= cut)
					(void) wc_decode_column(&ti, k, t + d->offset, d->stored_len, &a, &o,
											err, sizeof(err));
			}
		}
		free(t);
	}
	for (int n = 0; n < 300; n++)
	{
		uint8_t    *t = malloc(len);
		WcBlockInfo ti;

		memcpy(t, blk, len);
		t[next() % len] ^= (uint8_t) (1 + next() % 255);
		if (wc_parse_header(t, len, &a, &ti, err, sizeof(err)) && ti.total_len == len)
			for (int k = 0; k < ti.ncols; k++)
			{
				WcColumnOut o;

				(void) wc_decode_column(&ti, k, t + ti.cols[k].offset, ti.cols[k].stored_len,
										&a, &o, err, sizeof(err));
			}
		free(t);
	}
	arena_free(&ar);
}

/* (kind, encoding) pairs seen by encode_and_compare: bit kind * 8 + enc */
static unsigned encodings_seen;

/* Encode columns c, decode every column and compare; returns mismatches. */
static int
encode_and_compare(const WcColumnIn *c, int ncols, uint32_t nrows, WcAlloc *a, int line)
{
	char		err[256];
	size_t		len;
	uint8_t    *blk;
	WcBlockInfo info;
	int			bad = 0;

	blk = wc_encode_block(c, ncols, nrows, 3, a, &len, err, sizeof(err));
	CHECK(blk != NULL);
	if (!blk)
	{
		fprintf(stderr, "line %d: %s\n", line, err);
		return 1;
	}
	CHECK(wc_parse_header(blk, len, a, &info, err, sizeof(err)));
	CHECK_INT(info.total_len, len);
	for (int k = 0; k < ncols; k++)
	{
		WcColumnOut o;
		const WcColumnDir *d = &info.cols[k];
		uint8_t    *exact = malloc(d->stored_len ? d->stored_len : 1);

		memcpy(exact, blk + d->offset, d->stored_len);
		encodings_seen |= 1u << (d->kind * 8 + d->enc);
		if (!wc_decode_column(&info, k, exact, d->stored_len, a, &o, err, sizeof(err)))
		{
			fprintf(stderr, "line %d col %d: %s\n", line, k, err);
			bad++;
			free(exact);
			continue;
		}
		for (uint32_t i = 0; i < nrows; i++)
		{
			int			before = bad;

			if (o.nulls[i] != c[k].nulls[i])
				bad++;
			else if (c[k].nulls[i])
				continue;
			else if (c[k].kind == WC_INT && o.ints[i] != c[k].ints[i])
				bad++;
			else if (c[k].kind == WC_BYTES)
			{
				uint32_t	code = o.ndict ? (o.codes ? o.codes[i] : 0) : 0;
				const uint8_t *p = o.ndict ? o.dict_ptrs[code] : o.ptrs[i];
				uint32_t	l = o.ndict ? o.dict_lens[code] : o.lens[i];

				if (l != c[k].lens[i] || (l && memcmp(p, c[k].ptrs[i], l) != 0))
					bad++;
			}
			if (bad > before)
			{
				fprintf(stderr, "line %d: column %d (encoding %d) row %u differs\n", line, k,
						d->enc, i);
				break;
			}
		}
		free(exact);
	}
	return bad;
}

#define NVARIED 22

/*
 * A round trip over columns shaped to reach every encoding and the edges
 * of the cheap choice between them: NULL patterns, constants, runs, wide
 * and negative ranges, divisors, deltas that repeat, small and large
 * dictionaries of integers and byte strings, strings that repeat next to
 * each other and far apart, empty and long strings.
 */
static void
varied_round_trip(uint32_t nrows, int line)
{
	Arena		ar = {0};
	WcAlloc		a = {arena_alloc, &ar};
	WcColumnIn	c[NVARIED];
	static const uint8_t widths[NVARIED] = {8, 8, 8, 8, 8, 8, 8, 4, 2, 1, 8, 8, 4,
	0, 0, 0, 0, 0, 0, 0, 0, 0};

	for (int k = 0; k < NVARIED; k++)
	{
		bool	   *nulls = arena_alloc(&ar, nrows);
		int64_t    *ints = arena_alloc(&ar, 8 * nrows);
		const uint8_t **ptrs = arena_alloc(&ar, sizeof(void *) * nrows);
		uint32_t   *lens = arena_alloc(&ar, 4 * nrows);

		for (uint32_t i = 0; i < nrows; i++)
		{
			uint64_t	r = next();
			uint32_t	l = 0;
			uint8_t    *p;

			nulls[i] = false;
			ints[i] = 0;
			switch (k)
			{
				case 0:			/* every row NULL */
					nulls[i] = true;
					break;
				case 1:			/* a constant with NULLs every third row */
					nulls[i] = i % 3 == 1;
					ints[i] = -123456789012345;
					break;
				case 2:			/* sorted with long runs: (srcaddr-like) */
					ints[i] = (int64_t) (i / 37) - 5000;
					break;
				case 3:			/* the full int64 range */
					ints[i] = (int64_t) r;
					if (i % 5 == 0)
						ints[i] = i % 2 ? INT64_MAX : INT64_MIN;
					break;
				case 4:			/* timestamps: a divisor, negative too */
					ints[i] = ((int64_t) (r % 7200) - 3600) * 1000000;
					break;
				case 5:			/* deltas that repeat: steps of 60 s, restarting */
					ints[i] = INT64_C(1714521600000000) + (int64_t) (i % 50) * 60000000;
					break;
				case 6:			/* five scattered negative values, NULL at random */
					nulls[i] = r % 4 == 0;
					ints[i] = -(int64_t) ((((r >> 8) % 5 + 1) * UINT64_C(0x9E3779B97F4A7C15)) >> 14);
					break;
				case 7:			/* 300 scattered int4 values: two-byte codes */
					ints[i] = (int32_t) (uint32_t) (((r >> 4) % 300 + 1) * UINT32_C(2654435761));
					break;
				case 8:			/* int2 extremes */
					ints[i] = (r & 1) ? INT16_MIN : INT16_MAX;
					break;
				case 9:			/* 1-byte labels, mostly one value */
					ints[i] = (r % 10) ? 3 : -1;
					break;
				case 10:		/* alternating NULL, then a power-of-two divisor */
					nulls[i] = i % 2 == 0;
					ints[i] = (int64_t) (r % 1000) * 1024;
					break;
				case 11:		/* only the last row non-NULL */
					nulls[i] = i != nrows - 1;
					ints[i] = 42;
					break;
				case 12:		/* int4 full range */
					ints[i] = (int32_t) r;
					break;
				case 13:		/* every row NULL (bytes) */
					nulls[i] = true;
					break;
				case 14:		/* constant string with NULLs */
				case 15:		/* runs of equal strings (interface-like) */
				case 16:		/* a few strings recurring far apart */
				case 17:		/* long strings differing only in the last byte */
				case 18:		/* empty strings among others */
				case 19:		/* more than 256 distinct strings: two-byte codes */
				case 20:		/* all distinct, random length */
				case 21:		/* only the first row non-NULL, empty */
					{
						uint64_t	which = k == 15 ? i / 23 : k == 16 ? r % 9 :
							k == 17 ? r % 40 : k == 19 ? r % 600 : k == 20 ? i : r % 3;

						nulls[i] = (k == 14 && r % 7 == 0) || (k == 21 && i != 0);
						l = k == 14 ? 12 : k == 17 ? 37 : k == 18 ? (uint32_t) (which == 0 ? 0 : 6) :
							k == 20 ? (uint32_t) (r % 30) : k == 21 ? 0 : 10;
						p = arena_alloc(&ar, l ? l : 1);
						for (uint32_t j = 0; j < l; j++)
							p[j] = k == 20 ? (uint8_t) next() :
								(uint8_t) ('a' + (j + 1 == l ? which % 26 : (which / 26 + j) % 26));
						if (k == 19 && l >= 2)
							p[0] = (uint8_t) (which >> 4);
						ptrs[i] = nulls[i] ? NULL : p;
						lens[i] = nulls[i] ? 0 : l;
						break;
					}
			}
		}
		c[k].kind = widths[k] ? WC_INT : WC_BYTES;
		c[k].width = widths[k];
		c[k].nulls = nulls;
		c[k].ints = ints;
		c[k].ptrs = ptrs;
		c[k].lens = lens;
	}
	CHECK_INT(encode_and_compare(c, NVARIED, nrows, &a, line), 0);
	/* each column alone too: the block-wide all-NULL stream is made per block */
	for (int k = 0; k < NVARIED; k++)
		CHECK_INT(encode_and_compare(&c[k], 1, nrows, &a, line), 0);
	arena_free(&ar);
}

static void
rejects(void)
{
	Arena		ar = {0};
	WcAlloc		a = {arena_alloc, &ar};
	WcBlockInfo info;
	char		err[256];
	uint8_t		hdr[WC_HEADER_SIZE + WC_COLDIR_SIZE] = {'V', 'F', 'W', 'B', 1, 0, 1, 0, 1, 0, 0, 0,
		WC_INT, 8, WC_ENC_CONST, 0, 1, 0, 0, 0, 1, 0, 0, 0};
	uint8_t		stream[1] = {0x80};	/* a varint that never ends */
	WcColumnOut o;

	CHECK(wc_parse_header(hdr, sizeof(hdr), &a, &info, err, sizeof(err)));
	CHECK(!wc_decode_column(&info, 0, stream, 1, &a, &o, err, sizeof(err)));
	CHECK(strstr(err, "truncated") != NULL);
	hdr[4] = 2;
	CHECK(!wc_parse_header(hdr, sizeof(hdr), &a, &info, err, sizeof(err)));
	CHECK(strstr(err, "version") != NULL);
	hdr[4] = 1;
	hdr[0] = 'X';
	CHECK(!wc_parse_header(hdr, sizeof(hdr), &a, &info, err, sizeof(err)));
	hdr[0] = 'V';
	hdr[13] = 3;				/* bad width */
	CHECK(!wc_parse_header(hdr, sizeof(hdr), &a, &info, err, sizeof(err)));
	hdr[13] = 8;
	hdr[8] = 0;					/* zero rows */
	CHECK(!wc_parse_header(hdr, sizeof(hdr), &a, &info, err, sizeof(err)));
	CHECK(!wc_parse_header(hdr, 11, &a, &info, err, sizeof(err)));
	arena_free(&ar);
}

int
main(void)
{
	round_trip(1, 0, __LINE__);
	round_trip(2, 50, __LINE__);
	round_trip(7, 0, __LINE__);
	round_trip(100, 10, __LINE__);
	round_trip(1000, 95, __LINE__);
	round_trip(5000, 0, __LINE__);
	round_trip(WC_MAX_ROWS, 3, __LINE__);
	varied_round_trip(1, __LINE__);
	varied_round_trip(2, __LINE__);
	varied_round_trip(9, __LINE__);
	varied_round_trip(1000, __LINE__);
	encodings_seen = 0;
	varied_round_trip(8192, __LINE__);
	/* every encoding of both kinds was chosen for some column */
#define SEEN(kind, enc) ((encodings_seen >> ((kind) * 8 + (enc))) & 1)
	CHECK(SEEN(WC_INT, WC_ENC_NONE) && SEEN(WC_INT, WC_ENC_CONST) && SEEN(WC_INT, WC_ENC_FOR) &&
		  SEEN(WC_INT, WC_ENC_DELTA) && SEEN(WC_INT, WC_ENC_DICT));
	CHECK(SEEN(WC_BYTES, WC_ENC_NONE) && SEEN(WC_BYTES, WC_ENC_CONST) &&
		  SEEN(WC_BYTES, WC_ENC_DICT) && SEEN(WC_BYTES, WC_ENC_PLAIN));
	if (!(SEEN(WC_INT, WC_ENC_DELTA) && SEEN(WC_INT, WC_ENC_DICT) && SEEN(WC_INT, WC_ENC_FOR)))
		fprintf(stderr, "encodings seen: 0x%x\n", encodings_seen);
	varied_round_trip(WC_MAX_ROWS, __LINE__);
	rejects();
	UNIT_DONE();
}
