/*
 * fuzz_warmblock.c
 *		libFuzzer harness for the warm block codec (src/warmcodec.c).
 *
 * First byte odd: the rest is a block from an untrusted source.  Parsing
 * and decoding must either fail with a message or give values that lie
 * inside the memory the codec handed out; every column is decoded from an
 * exactly sized copy of its stream, so ASan sees any over-read.
 *
 * First byte even: the rest describes rows (column kinds and values are
 * drawn from it: small products, whole 64-bit words, runs, scattered
 * dictionaries; up to 2000 rows); they are encoded, decoded and must come
 * back exactly, whichever encoding the encoder's estimates pick.
 * Then one byte of the block is changed as the input says and the result
 * is decoded again, which takes the decoder deep into near-valid blocks
 * (valid zstd frames, plausible directories) that random bytes never reach.
 *
 * fuzz sources: src/warmcodec.c -lzstd
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warmcodec.h"

#include "fuzz_common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

typedef struct Arena
{
	void	   *ptrs[4096];
	size_t		n;
} Arena;

static void *
arena_alloc(void *ctx, size_t size)
{
	Arena	   *a = ctx;
	void	   *p;

	FUZZ_CHECK(a->n < 4096);
	p = malloc(size ? size : 1);
	FUZZ_CHECK(p != NULL);
	a->ptrs[a->n++] = p;
	return p;
}

static void
arena_free(Arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->ptrs[i]);
	a->n = 0;
}

static void
touch(const void *p, size_t n)
{
	const uint8_t *s = p;
	unsigned	h = 0;

	for (size_t i = 0; i < n; i++)
		h = h * 31 + s[i];
	sink += h;
}

static void
touch_column(const WcColumnOut *o)
{
	for (uint32_t i = 0; i < o->nrows; i++)
	{
		if (o->nulls[i])
			continue;
		if (o->kind == WC_INT)
			touch(&o->ints[i], 8);
		else if (o->ndict)
		{
			uint32_t	c = o->codes ? o->codes[i] : 0;

			FUZZ_CHECK(c < o->ndict);
			touch(o->dict_ptrs[c], o->dict_lens[c]);
		}
		else
			touch(o->ptrs[i], o->lens[i]);
	}
}

/* Decode everything in a block; return whether all of it decoded. */
static bool
decode_all(const uint8_t *blk, size_t len, Arena *ar)
{
	WcAlloc		a = {arena_alloc, ar};
	WcBlockInfo info;
	char		err[256];
	bool		ok = true;

	if (!wc_parse_header(blk, len, &a, &info, err, sizeof(err)))
	{
		FUZZ_CHECK(err[0] != '\0');
		return false;
	}
	if (info.total_len != len)
		return false;
	for (int k = 0; k < info.ncols; k++)
	{
		const WcColumnDir *d = &info.cols[k];
		uint8_t    *exact;
		WcColumnOut o;

		/* huge claimed sizes are legal but slow to fuzz */
		if (d->raw_len > (1u << 22) || ar->n > 4000)
			return false;
		exact = malloc(d->stored_len ? d->stored_len : 1);
		FUZZ_CHECK(exact != NULL);
		memcpy(exact, blk + d->offset, d->stored_len);
		if (wc_decode_column(&info, k, exact, d->stored_len, &a, &o, err, sizeof(err)))
			touch_column(&o);
		else
		{
			FUZZ_CHECK(err[0] != '\0');
			ok = false;
		}
		free(exact);
	}
	return ok;
}

static void
as_block(const uint8_t *data, size_t size)
{
	Arena	   *ar = calloc(1, sizeof(Arena));
	uint8_t    *exact = malloc(size ? size : 1);

	memcpy(exact, data, size);
	(void) decode_all(exact, size, ar);
	arena_free(ar);
	free(exact);
	free(ar);
}

/* Rows from the input: byte 0 = columns, byte 1 = rows, then values. */
static void
as_rows(const uint8_t *data, size_t size)
{
	Arena	   *ar = calloc(1, sizeof(Arena));
	WcAlloc		a = {arena_alloc, ar};
	WcColumnIn	cols[8];
	int			ncols;
	uint32_t	nrows;
	size_t		pos = 2;
	uint8_t    *blk;
	size_t		len;
	char		err[256];
	WcBlockInfo info;

	if (size < 4)
		goto done;
	ncols = 1 + data[0] % 8;
	/* mostly small blocks; sometimes enough rows for two-byte dictionary codes */
	nrows = (data[1] & 0x80) ? 1 + (data[1] * 37u + data[2]) % 2000 : 1 + data[1] % 200;
	for (int k = 0; k < ncols; k++)
	{
		static const uint8_t widths[5] = {1, 2, 4, 8, 0};
		bool	   *nulls = arena_alloc(ar, nrows);
		int64_t    *ints = arena_alloc(ar, 8 * nrows);
		const uint8_t **ptrs = arena_alloc(ar, sizeof(void *) * nrows);
		uint32_t   *lens = arena_alloc(ar, 4 * nrows);
		uint8_t		w = widths[data[(pos++) % size] % 5];

		/*
		 * how values are drawn: 0 small products, 1 whole 64-bit words, 2
		 * runs of the previous row, 3 a table of scattered values; the
		 * encoder's estimates see very different shapes
		 */
		uint8_t		mode = data[(pos++) % size] % 4;

		for (uint32_t i = 0; i < nrows; i++)
		{
			uint8_t		b = data[(pos++) % size];
			int64_t		v = (int8_t) data[(pos++) % size];

			nulls[i] = (b & 7) == 0;
			v = v * (int64_t) (b >> 3) * ((b & 0x80) ? 1000000 : 1);
			if (mode == 1)
			{
				uint64_t	u = 0;

				for (int j = 0; j < 8; j++)
					u = u << 8 | data[(pos + j * 7) % size];
				v = (int64_t) u;
			}
			else if (mode == 3)
				v = (int64_t) ((uint64_t) (v & 0x1ff) * UINT64_C(0x9E3779B97F4A7C15));
			if (mode == 2 && i > 0 && (b & 0x60))
			{
				nulls[i] = nulls[i - 1];
				ints[i] = ints[i - 1];
				ptrs[i] = ptrs[i - 1];
				lens[i] = lens[i - 1];
				continue;
			}
			if (w == 1)
				v = (int8_t) v;
			else if (w == 2)
				v = (int16_t) v;
			else if (w == 4)
				v = (int32_t) v;
			ints[i] = v;
			ptrs[i] = data + (pos % size);
			lens[i] = (uint32_t) ((b >> 3) % 8 < size - pos % size ? (b >> 3) % 8 : 0);
		}
		cols[k].kind = w ? WC_INT : WC_BYTES;
		cols[k].width = w;
		cols[k].nulls = nulls;
		cols[k].ints = ints;
		cols[k].ptrs = ptrs;
		cols[k].lens = lens;
	}
	blk = wc_encode_block(cols, ncols, nrows, 1, &a, &len, err, sizeof(err));
	FUZZ_CHECK(blk != NULL);
	FUZZ_CHECK(wc_parse_header(blk, len, &a, &info, err, sizeof(err)));
	FUZZ_CHECK(info.total_len == len && info.nrows == nrows && info.ncols == ncols);
	for (int k = 0; k < ncols; k++)
	{
		WcColumnOut o;

		FUZZ_CHECK(wc_decode_column(&info, k, blk + info.cols[k].offset, info.cols[k].stored_len,
									&a, &o, err, sizeof(err)));
		for (uint32_t i = 0; i < nrows; i++)
		{
			FUZZ_CHECK(o.nulls[i] == cols[k].nulls[i]);
			if (o.nulls[i])
				continue;
			if (o.kind == WC_INT)
				FUZZ_CHECK(o.ints[i] == cols[k].ints[i]);
			else
			{
				const uint8_t *p = o.ndict ? o.dict_ptrs[o.codes ? o.codes[i] : 0] : o.ptrs[i];
				uint32_t	l = o.ndict ? o.dict_lens[o.codes ? o.codes[i] : 0] : o.lens[i];

				FUZZ_CHECK(l == cols[k].lens[i] && (l == 0 || memcmp(p, cols[k].ptrs[i], l) == 0));
			}
		}
	}
	/* one corrupted byte, placed and valued by the input */
	{
		uint8_t    *bad = malloc(len);
		size_t		at = ((size_t) data[2] << 8 | data[3]) % len;

		memcpy(bad, blk, len);
		bad[at] ^= (uint8_t) (data[size - 1] | 1);
		(void) decode_all(bad, len, ar);
		free(bad);
	}
done:
	arena_free(ar);
	free(ar);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		as_block(data + 1, size - 1);
	else
		as_rows(data + 1, size - 1);
	return 0;
}
