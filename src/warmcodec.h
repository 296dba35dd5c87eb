/*
 * warmcodec.h
 *		The warm tier's block codec: up to WC_MAX_ROWS rows of a table,
 *		column by column, each column encoded on its own and then compressed
 *		with zstd when that makes it smaller.  Pure C, no PostgreSQL
 *		dependency, so that it can be unit-tested and fuzzed.  The format is
 *		described in docs/warm.md.
 *
 * Two kinds of column cover every type the store uses: WC_INT holds
 * fixed-width integers of 1, 2, 4 or 8 bytes (smallint, integer, bigint,
 * timestamptz, the 1-byte label types), WC_BYTES holds byte strings (the
 * payload of a varlena: inet, text, jsonb, awsid; or a fixed-length
 * by-reference value).
 *
 * Memory comes from a caller-supplied allocator and is never freed by the
 * codec: the server passes palloc in a per-block memory context, the tests
 * an arena.  The allocator must not return NULL (or must not return at
 * all).
 */
#ifndef WARMCODEC_H
#define WARMCODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define WC_MAGIC		"VFWB"
#define WC_VERSION		1
#define WC_MAX_ROWS		65536	/* rows per block */
#define WC_MAX_COLS		1600	/* as PostgreSQL's MaxHeapAttributeNumber */
#define WC_MAX_RAW		(256u * 1024 * 1024)	/* one decoded column stream */
#define WC_HEADER_SIZE	12
#define WC_COLDIR_SIZE	12

/* column kinds */
#define WC_INT			1
#define WC_BYTES		2

/* encodings (docs/warm.md) */
#define WC_ENC_NONE		0		/* every value NULL */
#define WC_ENC_CONST	1
#define WC_ENC_FOR		2		/* frame of reference: min, gcd, bit-packed */
#define WC_ENC_DELTA	3		/* zigzag varint deltas */
#define WC_ENC_DICT		4		/* dictionary and 1- or 2-byte codes */
#define WC_ENC_PLAIN	5		/* bytes: varint length then bytes */

/* column directory flags */
#define WC_FLAG_NULLS	0x01	/* a NULL bitmap precedes the values */
#define WC_FLAG_ZSTD	0x02	/* the stream is zstd-compressed */

typedef struct WcAlloc
{
	void	   *(*alloc) (void *ctx, size_t size);
	void	   *ctx;
} WcAlloc;

/* One column of input rows, for the encoder. */
typedef struct WcColumnIn
{
	uint8_t		kind;			/* WC_INT or WC_BYTES */
	uint8_t		width;			/* WC_INT: 1, 2, 4 or 8 */
	const bool *nulls;			/* [nrows] */
	const int64_t *ints;		/* WC_INT: [nrows] (sign-extended) */
	const uint8_t *const *ptrs; /* WC_BYTES: [nrows] */
	const uint32_t *lens;		/* WC_BYTES: [nrows] */
} WcColumnIn;

/* One column directory entry, as parsed from a block. */
typedef struct WcColumnDir
{
	uint8_t		kind;
	uint8_t		width;
	uint8_t		enc;
	uint8_t		flags;
	uint32_t	stored_len;
	uint32_t	raw_len;
	uint32_t	offset;			/* of the stored stream from the block start */
} WcColumnDir;

typedef struct WcBlockInfo
{
	uint32_t	nrows;
	uint16_t	ncols;
	uint32_t	total_len;		/* header, directory and streams */
	WcColumnDir *cols;			/* [ncols] */
} WcBlockInfo;

/*
 * One decoded column.  nulls[i] is true for a NULL row.  WC_INT: ints[i].
 * WC_BYTES: value i is dict_ptrs[codes[i]] / dict_lens[codes[i]] when
 * ndict > 0 (codes is NULL for a constant), else ptrs[i] / lens[i].  Byte
 * pointers point into memory from the allocator.
 */
typedef struct WcColumnOut
{
	uint32_t	nrows;
	uint8_t		kind;
	bool	   *nulls;
	int64_t    *ints;
	uint32_t	ndict;
	const uint8_t **dict_ptrs;
	uint32_t   *dict_lens;
	uint32_t   *codes;
	const uint8_t **ptrs;
	uint32_t   *lens;
} WcColumnOut;

/*
 * Encode nrows rows of ncols columns into one block.  Returns the block
 * (from the allocator) and sets *len; NULL with a message in err on bad
 * input (zero or too many rows or columns, bad kind or width).
 */
extern uint8_t *wc_encode_block(const WcColumnIn *cols, int ncols, uint32_t nrows,
								int zstd_level, const WcAlloc *a, size_t *len,
								char *err, size_t errlen);

/*
 * Parse and check a block's header and directory.  Needs only the first
 * WC_HEADER_SIZE + ncols * WC_COLDIR_SIZE bytes; total_len says how long
 * the whole block claims to be, which the caller checks against what it
 * has (wc_decode_column checks the stream against its own bounds).
 * Returns false with a message on any inconsistency.
 */
extern bool wc_parse_header(const uint8_t *buf, size_t len, const WcAlloc *a,
							WcBlockInfo *info, char *err, size_t errlen);

/*
 * Decode column col of a parsed block from its stored stream (stream,
 * stream_len == the directory's stored_len).  Returns false with a message
 * on corrupt input; never reads outside the stream.
 */
extern bool wc_decode_column(const WcBlockInfo *info, int col, const uint8_t *stream,
							 size_t stream_len, const WcAlloc *a, WcColumnOut *out,
							 char *err, size_t errlen);

#endif							/* WARMCODEC_H */
