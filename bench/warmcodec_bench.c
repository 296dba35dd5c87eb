/*
 * warmcodec_bench.c
 *		Encoder cost and size of the warm block codec on real blocks, one core.
 *
 * Reads blocks (one hex string per line, as written by
 *   \copy (SELECT encode(data, 'hex') FROM vpcflow.warm_blocks) TO FILE
 * ), decodes every column, then times (CLOCK_MONOTONIC, best of RUNS)
 * wc_encode_block over all of them and checks that each re-encoded block
 * decodes to the same values.  Build it against two versions of
 * src/warmcodec.c to compare them on the same blocks (bench/warm.sh does).
 *
 * Usage: warmcodec_bench FILE [RUNS] [-v]
 *   -v  also one line per column position: the encodings chosen and bytes
 *
 * Output: RESULT blocks=N rows=N bytes=N bytes_per_row=B best_s=S us_per_row=U
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "warmcodec.h"

static void *
xalloc(void *ctx, size_t size)
{
	void	   *p = malloc(size ? size : 1);

	(void) ctx;
	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

/* a bump arena, reset per block, so the timing is the codec's and not malloc's */
typedef struct Arena
{
	uint8_t    *base;
	size_t		used,
				cap;
} Arena;

static void *
arena_alloc(void *ctx, size_t size)
{
	Arena	   *a = ctx;
	void	   *p;

	size = (size + 15) & ~(size_t) 15;
	if (a->used + size > a->cap)
	{
		fprintf(stderr, "arena too small\n");
		exit(1);
	}
	p = a->base + a->used;
	a->used += size;
	return p;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

typedef struct Block
{
	uint32_t	nrows;
	int			ncols;
	WcColumnIn *cols;
} Block;

static int
hexval(int c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* the decoded columns as encoder input */
static void
to_input(const WcColumnOut *o, const WcColumnDir *d, WcColumnIn *in, const WcAlloc *a)
{
	in->kind = d->kind;
	in->width = d->width;
	in->nulls = o->nulls;
	in->ints = o->ints;
	if (d->kind == WC_BYTES)
	{
		const uint8_t **ptrs = a->alloc(a->ctx, sizeof(uint8_t *) * o->nrows);
		uint32_t   *lens = a->alloc(a->ctx, sizeof(uint32_t) * o->nrows);

		for (uint32_t i = 0; i < o->nrows; i++)
		{
			if (o->nulls[i])
			{
				ptrs[i] = NULL;
				lens[i] = 0;
			}
			else if (o->ndict > 0)
			{
				uint32_t	k = o->codes ? o->codes[i] : 0;

				ptrs[i] = o->dict_ptrs[k];
				lens[i] = o->dict_lens[k];
			}
			else
			{
				ptrs[i] = o->ptrs[i];
				lens[i] = o->lens[i];
			}
		}
		in->ptrs = ptrs;
		in->lens = lens;
	}
}

static bool
same_column(const WcColumnIn *in, const WcColumnOut *o, uint32_t nrows)
{
	for (uint32_t i = 0; i < nrows; i++)
	{
		if (in->nulls[i] != o->nulls[i])
			return false;
		if (in->nulls[i])
			continue;
		if (in->kind == WC_INT)
		{
			if (in->ints[i] != o->ints[i])
				return false;
		}
		else
		{
			const uint8_t *p;
			uint32_t	l;

			if (o->ndict > 0)
			{
				uint32_t	k = o->codes ? o->codes[i] : 0;

				p = o->dict_ptrs[k];
				l = o->dict_lens[k];
			}
			else
			{
				p = o->ptrs[i];
				l = o->lens[i];
			}
			if (l != in->lens[i] || (l && memcmp(p, in->ptrs[i], l) != 0))
				return false;
		}
	}
	return true;
}

int
main(int argc, char **argv)
{
	WcAlloc		heap = {xalloc, NULL};
	Arena		ar = {NULL, 0, (size_t) 256 << 20};
	WcAlloc		arena = {arena_alloc, &ar};
	FILE	   *f;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	Block	   *blocks = NULL;
	int			nblocks = 0,
				bcap = 0;
	int			runs = argc > 2 ? atoi(argv[2]) : 3;
	bool		verbose = argc > 3 && strcmp(argv[3], "-v") == 0;
	char		err[256];
	uint64_t	rows = 0,
				bytes = 0;
	double		best = 1e30;
	uint64_t	enc_count[64][6] = {{0}};
	uint64_t	col_bytes[64] = {0};

	if (argc < 2 || (f = fopen(argv[1], "r")) == NULL)
	{
		fprintf(stderr, "usage: warmcodec_bench FILE [RUNS] [-v]\n");
		return 2;
	}
	ar.base = xalloc(NULL, ar.cap);
	while ((n = getline(&line, &cap, f)) > 0)
	{
		size_t		len = (size_t) n / 2;
		uint8_t    *buf;
		WcBlockInfo info;
		Block		b;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		len = (size_t) n / 2;
		if (len == 0)
			continue;
		buf = xalloc(NULL, len);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t) (hexval(line[2 * i]) << 4 | hexval(line[2 * i + 1]));
		if (!wc_parse_header(buf, len, &heap, &info, err, sizeof(err)))
		{
			fprintf(stderr, "block %d: %s\n", nblocks + 1, err);
			return 1;
		}
		b.nrows = info.nrows;
		b.ncols = info.ncols;
		b.cols = xalloc(NULL, sizeof(WcColumnIn) * info.ncols);
		for (int c = 0; c < info.ncols; c++)
		{
			WcColumnOut o;

			if (!wc_decode_column(&info, c, buf + info.cols[c].offset, info.cols[c].stored_len,
								  &heap, &o, err, sizeof(err)))
			{
				fprintf(stderr, "block %d: %s\n", nblocks + 1, err);
				return 1;
			}
			to_input(&o, &info.cols[c], &b.cols[c], &heap);
		}
		if (nblocks == bcap)
		{
			bcap = bcap ? bcap * 2 : 64;
			blocks = realloc(blocks, sizeof(Block) * bcap);
		}
		blocks[nblocks++] = b;
		rows += b.nrows;
	}
	fclose(f);

	for (int r = 0; r < runs; r++)
	{
		double		t0 = now_s(),
					t;

		for (int i = 0; i < nblocks; i++)
		{
			size_t		len;

			ar.used = 0;
			if (wc_encode_block(blocks[i].cols, blocks[i].ncols, blocks[i].nrows, 3, &arena,
								&len, err, sizeof(err)) == NULL)
			{
				fprintf(stderr, "encode: %s\n", err);
				return 1;
			}
		}
		t = now_s() - t0;
		if (t < best)
			best = t;
	}

	/* sizes, choices, and a full round-trip check */
	for (int i = 0; i < nblocks; i++)
	{
		size_t		len;
		uint8_t    *blk;
		WcBlockInfo info;

		ar.used = 0;
		blk = wc_encode_block(blocks[i].cols, blocks[i].ncols, blocks[i].nrows, 3, &arena,
							  &len, err, sizeof(err));
		bytes += len;
		if (!wc_parse_header(blk, len, &arena, &info, err, sizeof(err)))
		{
			fprintf(stderr, "re-encoded block %d: %s\n", i + 1, err);
			return 1;
		}
		for (int c = 0; c < info.ncols; c++)
		{
			WcColumnOut o;

			if (!wc_decode_column(&info, c, blk + info.cols[c].offset, info.cols[c].stored_len,
								  &arena, &o, err, sizeof(err)) ||
				!same_column(&blocks[i].cols[c], &o, info.nrows))
			{
				fprintf(stderr, "re-encoded block %d column %d does not round-trip\n", i + 1, c + 1);
				return 1;
			}
			if (c < 64)
			{
				enc_count[c][info.cols[c].enc]++;
				col_bytes[c] += info.cols[c].stored_len;
			}
		}
	}
	if (verbose)
		for (int c = 0; c < 64 && nblocks > 0 && c < blocks[0].ncols; c++)
		{
			if (col_bytes[c] <= (uint64_t) nblocks * 8)
				continue;		/* all-NULL columns */
			printf("column %2d: %8.3f bytes/row  none %lu const %lu for %lu delta %lu dict %lu plain %lu\n",
				   c + 1, (double) col_bytes[c] / rows,
				   (unsigned long) enc_count[c][0], (unsigned long) enc_count[c][1],
				   (unsigned long) enc_count[c][2], (unsigned long) enc_count[c][3],
				   (unsigned long) enc_count[c][4], (unsigned long) enc_count[c][5]);
		}
	printf("RESULT blocks=%d rows=%lu bytes=%lu bytes_per_row=%.3f best_s=%.3f us_per_row=%.3f\n",
		   nblocks, (unsigned long) rows, (unsigned long) bytes, (double) bytes / rows, best,
		   best * 1e6 / rows);
	return 0;
}
