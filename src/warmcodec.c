/*
 * warmcodec.c
 *		The warm tier's block codec (see warmcodec.h and docs/warm.md).
 *
 * Each column is encoded in whichever of its candidate encodings ends up
 * smallest after zstd (or stored raw when zstd does not help): integers as
 * a constant, frame of reference with a common divisor (timestamps are
 * whole seconds in microseconds), zigzag deltas, or a dictionary with byte
 * codes; byte strings as a constant, a dictionary or plainly.  Byte codes
 * rather than bit-packing leave zstd's Huffman stage free to code skewed
 * distributions (Zipf talkers, a few ports) below their fixed bit width.
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

/* ---------------------------------------------------------------- bytes out */

typedef struct Buf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} Buf;

static void
buf_init(Buf *b, const WcAlloc *a, size_t cap)
{
	b->data = a->alloc(a->ctx, cap ? cap : 1);
	b->len = 0;
	b->cap = cap;
}

/* capacities are computed up front; this only guards the arithmetic */
static inline void
buf_put(Buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap)
		abort();
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void
buf_byte(Buf *b, uint8_t v)
{
	buf_put(b, &v, 1);
}

static inline void
buf_varint(Buf *b, uint64_t v)
{
	uint8_t		tmp[10];
	int			n = 0;

	while (v >= 0x80)
	{
		tmp[n++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t) v;
	buf_put(b, tmp, n);
}

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
	int			n = 0;

	while (v)
	{
		n++;
		v >>= 1;
	}
	return n;
}

/* ---------------------------------------------------------------- hashing */


static inline uint64_t
hash_bytes(const uint8_t *p, uint32_t n)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325) ^ n;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
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

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* ---------------------------------------------------------------- encoder */

/* A candidate raw stream: the NULL bitmap (if any), then the payload. */
static Buf
start_stream(const WcColumnIn *c, uint32_t nrows, bool has_nulls, size_t payload_cap,
			 const WcAlloc *a)
{
	Buf			b;
	size_t		bm = has_nulls ? (nrows + 7) / 8 : 0;

	buf_init(&b, a, bm + payload_cap);
	if (has_nulls)
	{
		memset(b.data, 0, bm);
		for (uint32_t i = 0; i < nrows; i++)
			if (c->nulls[i])
				b.data[i / 8] |= (uint8_t) (1u << (i % 8));
		b.len = bm;
	}
	return b;
}

static void
put_codes(Buf *b, const uint32_t *codes, uint32_t m, uint32_t ndict)
{
	for (uint32_t i = 0; i < m; i++)
	{
		buf_byte(b, (uint8_t) codes[i]);
		if (ndict > 256)
			buf_byte(b, (uint8_t) (codes[i] >> 8));
	}
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

/* Keep cand (raw, or zstd of it if smaller) if it beats the best so far. */
static void
consider(Choice *best, uint8_t enc, uint8_t flags, const Buf *raw, int level,
		 const WcAlloc *a)
{
	size_t		bound = ZSTD_compressBound(raw->len);
	uint8_t    *z = NULL;
	size_t		zlen = 0;

	if (raw->len >= 64)
	{
		z = a->alloc(a->ctx, bound);
		if (cctx == NULL)
			cctx = ZSTD_createCCtx();
		zlen = cctx ? ZSTD_compressCCtx(cctx, z, bound, raw->data, raw->len, level) : 0;
		if (ZSTD_isError(zlen))
			zlen = 0;
	}
	if (z && zlen > 0 && zlen < raw->len)
	{
		if (best->data == NULL || zlen < best->stored_len)
		{
			best->enc = enc;
			best->flags = flags | WC_FLAG_ZSTD;
			best->data = z;
			best->stored_len = (uint32_t) zlen;
			best->raw_len = (uint32_t) raw->len;
		}
	}
	else if (best->data == NULL || raw->len < best->stored_len)
	{
		best->enc = enc;
		best->flags = flags;
		best->data = raw->data;
		best->stored_len = (uint32_t) raw->len;
		best->raw_len = (uint32_t) raw->len;
	}
}

static void
encode_int(const WcColumnIn *c, uint32_t nrows, int level, const WcAlloc *a, Choice *best)
{
	bool		has_nulls = false;
	int64_t    *v = a->alloc(a->ctx, sizeof(int64_t) * nrows);
	uint32_t	m = 0;
	int64_t		mn,
				mx;
	uint8_t		flags;

	for (uint32_t i = 0; i < nrows; i++)
	{
		if (c->nulls[i])
			has_nulls = true;
		else
			v[m++] = c->ints[i];
	}
	flags = has_nulls ? WC_FLAG_NULLS : 0;
	memset(best, 0, sizeof(*best));
	if (m == 0)
	{
		Buf			b = start_stream(c, nrows, has_nulls, 0, a);

		consider(best, WC_ENC_NONE, flags, &b, level, a);
		return;
	}
	mn = mx = v[0];
	for (uint32_t i = 1; i < m; i++)
	{
		if (v[i] < mn)
			mn = v[i];
		if (v[i] > mx)
			mx = v[i];
	}
	if (mn == mx)
	{
		Buf			b = start_stream(c, nrows, has_nulls, 10, a);

		buf_varint(&b, zigzag(mn));
		consider(best, WC_ENC_CONST, flags, &b, level, a);
		return;
	}

	/* frame of reference with a common divisor */
	{
		uint64_t	g = 0;
		int			bits;
		Buf			b;
		uint64_t	acc = 0;
		int			nacc = 0;

		for (uint32_t i = 0; i < m && g != 1; i++)
			g = gcd64(g, (uint64_t) v[i] - (uint64_t) mn);
		bits = bit_width(((uint64_t) mx - (uint64_t) mn) / g);
		b = start_stream(c, nrows, has_nulls, 21 + ((size_t) m * bits + 7) / 8, a);
		buf_varint(&b, zigzag(mn));
		buf_varint(&b, g);
		buf_byte(&b, (uint8_t) bits);
		for (uint32_t i = 0; i < m; i++)
		{
			uint64_t	q = ((uint64_t) v[i] - (uint64_t) mn) / g;
			int			left = bits;

			while (left > 0)
			{
				int			take = 64 - nacc < left ? 64 - nacc : left;
				uint64_t	part = take == 64 ? q : q & ((UINT64_C(1) << take) - 1);

				acc |= part << nacc;
				nacc += take;
				q = take == 64 ? 0 : q >> take;
				left -= take;
				while (nacc >= 8)
				{
					buf_byte(&b, (uint8_t) acc);
					acc >>= 8;
					nacc -= 8;
				}
				if (nacc == 64)
					abort();
			}
		}
		if (nacc > 0)
			buf_byte(&b, (uint8_t) acc);
		consider(best, WC_ENC_FOR, flags, &b, level, a);
	}

	/* zigzag deltas */
	{
		Buf			b = start_stream(c, nrows, has_nulls, (size_t) m * 10, a);
		int64_t		prev = 0;

		for (uint32_t i = 0; i < m; i++)
		{
			buf_varint(&b, zigzag((int64_t) ((uint64_t) v[i] - (uint64_t) prev)));
			prev = v[i];
		}
		consider(best, WC_ENC_DELTA, flags, &b, level, a);
	}

	/* dictionary, when there are at most 65536 distinct values */
	{
		uint32_t	tsize = table_size_for(m);
		int32_t    *slot = a->alloc(a->ctx, sizeof(int32_t) * tsize);
		int64_t    *dict = a->alloc(a->ctx, sizeof(int64_t) * (m < 65536 ? m : 65536));
		uint32_t	ndict = 0;
		bool		ok = true;

		memset(slot, -1, sizeof(int32_t) * tsize);
		for (uint32_t i = 0; i < m && ok; i++)
		{
			uint32_t	h = (uint32_t) fmix64((uint64_t) v[i]) & (tsize - 1);

			while (slot[h] >= 0 && dict[slot[h]] != v[i])
				h = (h + 1) & (tsize - 1);
			if (slot[h] < 0)
			{
				if (ndict == 65536)
					ok = false;
				else
				{
					slot[h] = (int32_t) ndict;
					dict[ndict++] = v[i];
				}
			}
		}
		if (ok && ndict <= m / 2)
		{
			uint32_t   *codes = a->alloc(a->ctx, sizeof(uint32_t) * m);
			Buf			b;
			int64_t		prev;

			qsort(dict, ndict, sizeof(int64_t), cmp_i64);
			for (uint32_t i = 0; i < m; i++)
			{
				uint32_t	lo = 0,
							hi = ndict;

				while (hi - lo > 1)
				{
					uint32_t	mid = (lo + hi) / 2;

					if (dict[mid] <= v[i])
						lo = mid;
					else
						hi = mid;
				}
				codes[i] = lo;
			}
			b = start_stream(c, nrows, has_nulls, 5 + (size_t) ndict * 10 + (size_t) m * 2, a);
			buf_varint(&b, ndict - 1);
			buf_varint(&b, zigzag(dict[0]));
			prev = dict[0];
			for (uint32_t k = 1; k < ndict; k++)
			{
				buf_varint(&b, (uint64_t) dict[k] - (uint64_t) prev);
				prev = dict[k];
			}
			put_codes(&b, codes, m, ndict);
			consider(best, WC_ENC_DICT, flags, &b, level, a);
		}
	}
}

static void
encode_bytes(const WcColumnIn *c, uint32_t nrows, int level, const WcAlloc *a, Choice *best)
{
	bool		has_nulls = false;
	uint32_t	m = 0;
	uint32_t   *rows = a->alloc(a->ctx, sizeof(uint32_t) * nrows);
	size_t		total = 0;
	uint8_t		flags;

	for (uint32_t i = 0; i < nrows; i++)
	{
		if (c->nulls[i])
			has_nulls = true;
		else
		{
			rows[m++] = i;
			total += varint_size(c->lens[i]) + c->lens[i];
		}
	}
	flags = has_nulls ? WC_FLAG_NULLS : 0;
	memset(best, 0, sizeof(*best));
	if (m == 0)
	{
		Buf			b = start_stream(c, nrows, has_nulls, 0, a);

		consider(best, WC_ENC_NONE, flags, &b, level, a);
		return;
	}

	/* dictionary in first-seen order (always possible: m <= 65536) */
	{
		uint32_t	tsize = table_size_for(m);
		int32_t    *slot = a->alloc(a->ctx, sizeof(int32_t) * tsize);
		uint32_t   *first = a->alloc(a->ctx, sizeof(uint32_t) * m);	/* dict -> row */
		uint32_t   *codes = a->alloc(a->ctx, sizeof(uint32_t) * m);
		uint32_t	ndict = 0;
		size_t		dict_bytes = 0;

		memset(slot, -1, sizeof(int32_t) * tsize);
		for (uint32_t k = 0; k < m; k++)
		{
			uint32_t	r = rows[k];
			uint32_t	h = (uint32_t) hash_bytes(c->ptrs[r], c->lens[r]) & (tsize - 1);

			for (;;)
			{
				uint32_t	o;

				if (slot[h] < 0)
				{
					slot[h] = (int32_t) ndict;
					first[ndict++] = r;
					dict_bytes += varint_size(c->lens[r]) + c->lens[r];
					break;
				}
				o = first[slot[h]];
				if (c->lens[o] == c->lens[r] &&
					(c->lens[r] == 0 || memcmp(c->ptrs[o], c->ptrs[r], c->lens[r]) == 0))
					break;
				h = (h + 1) & (tsize - 1);
			}
			codes[k] = (uint32_t) slot[h];
		}
		if (ndict == 1)
		{
			Buf			b = start_stream(c, nrows, has_nulls, dict_bytes, a);

			buf_varint(&b, c->lens[first[0]]);
			buf_put(&b, c->ptrs[first[0]], c->lens[first[0]]);
			consider(best, WC_ENC_CONST, flags, &b, level, a);
			return;
		}
		if (ndict <= m / 2)
		{
			Buf			b = start_stream(c, nrows, has_nulls,
										 5 + dict_bytes + (size_t) m * 2, a);

			buf_varint(&b, ndict - 1);
			for (uint32_t d = 0; d < ndict; d++)
			{
				buf_varint(&b, c->lens[first[d]]);
				buf_put(&b, c->ptrs[first[d]], c->lens[first[d]]);
			}
			put_codes(&b, codes, m, ndict);
			consider(best, WC_ENC_DICT, flags, &b, level, a);
		}
	}

	/* plain */
	{
		Buf			b = start_stream(c, nrows, has_nulls, total, a);

		for (uint32_t k = 0; k < m; k++)
		{
			buf_varint(&b, c->lens[rows[k]]);
			buf_put(&b, c->ptrs[rows[k]], c->lens[rows[k]]);
		}
		consider(best, WC_ENC_PLAIN, flags, &b, level, a);
	}
}

uint8_t *
wc_encode_block(const WcColumnIn *cols, int ncols, uint32_t nrows, int zstd_level,
				const WcAlloc *a, size_t *len, char *err, size_t errlen)
{
	Choice	   *ch;
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
	ch = a->alloc(a->ctx, sizeof(Choice) * ncols);
	total = WC_HEADER_SIZE + (size_t) ncols * WC_COLDIR_SIZE;
	for (int i = 0; i < ncols; i++)
	{
		const WcColumnIn *c = &cols[i];

		if (c->kind == WC_INT && (c->width == 1 || c->width == 2 || c->width == 4 || c->width == 8))
			encode_int(c, nrows, zstd_level, a, &ch[i]);
		else if (c->kind == WC_BYTES && c->width == 0)
			encode_bytes(c, nrows, zstd_level, a, &ch[i]);
		else
		{
			snprintf(err, errlen, "column %d: bad kind %d or width %d", i + 1, c->kind, c->width);
			return NULL;
		}
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
