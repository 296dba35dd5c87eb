/*
 * jsonscan.h
 *		The JSON scanner the flow-log document readers share (envelope.c for
 *		AWS CloudWatch envelopes, cloudflow.c for GCP and Azure logs).
 *
 * Pure C99 with no PostgreSQL dependency.  Not a DOM: the readers walk the
 * shapes they expect and use these steps to read keys, strings and numbers
 * and to validate and skip everything else exactly.  Nothing is allocated;
 * skipped values nest with an explicit bit stack instead of recursion, so
 * hostile input cannot exhaust the C stack.  Every read of buf checks the
 * offset against len first.  Errors are sticky: after one, the reader
 * stops and reports js->error at js->line.
 */
#ifndef VPCFLOW_JSONSCAN_H
#define VPCFLOW_JSONSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Deepest nesting of arrays and objects accepted, counting from the top. */
#define JSON_SCAN_MAX_DEPTH		64

typedef struct JsonScan
{
	const char *buf;
	size_t		len;
	size_t		pos;			/* next byte to read */
	bool		failed;
	size_t		line;			/* line of the error, after a failure */
	char		error[160];
	/* private: line_at's cache, an offset and its 1-based line */
	size_t		lc_pos;
	size_t		lc_line;
} JsonScan;

/* 1 for the bytes a plain run may hold: printable ASCII but '"' and '\\' */
static const unsigned char json_plain_byte[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/*
 * Length of the run of plain string bytes (printable ASCII other than '"'
 * and '\\') at b[p..len).  With SSE2 (every x86-64), sixteen at a time: a
 * signed compare below 0x20 flags both control bytes and bytes at or above
 * 0x80.  Elsewhere eight at a time: a word has none of the bytes that end
 * a run when no byte is below 0x20 or at or above 0x80 and none equals '"'
 * or '\\' (the classic has-zero / has-less bit tricks).  Inline: the
 * strings of flow logs are short, so the call would cost as much as the
 * scan.
 */
static inline size_t
json_plain_run(const unsigned char *b, size_t p, size_t len)
{
	size_t		start = p;

#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);

	while (len - p >= 16)
	{
		__m128i		v = _mm_loadu_si128((const __m128i *) (b + p));
		__m128i		m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
												  _mm_cmpeq_epi8(v, bslash)),
									 _mm_cmplt_epi8(v, space));
		unsigned	bits = (unsigned) _mm_movemask_epi8(m);

		if (bits != 0)
			return p - start + (size_t) __builtin_ctz(bits);
		p += 16;
	}
#else
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);

	while (len - p >= 8)
	{
		uint64_t	v,
					q,
					s,
					m;

		memcpy(&v, b + p, 8);
		q = v ^ (ones * '"');
		s = v ^ (ones * '\\');
		m = (((q - ones) & ~q) | ((s - ones) & ~s) | (v - ones * 0x20) | v) & highs;
		if (m != 0)
		{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			/*
			 * The lowest flagged byte is exact (borrows only run upwards):
			 * on a little-endian machine it is the first byte in memory.
			 */
			return p - start + ((size_t) __builtin_ctzll(m) >> 3);
#else
			break;
#endif
		}
		p += 8;
	}
#endif
	while (p < len && json_plain_byte[b[p]])
		p++;
	return p - start;
}

/* Start on buf[0..len), after a UTF-8 byte order mark if there is one. */
extern void json_scan_init(JsonScan *js, const char *buf, size_t len);

/* 1-based line of offset at ('\n' ends a line); cached, so walks are cheap. */
extern size_t json_line_at(JsonScan *js, size_t at);

/*
 * Note that offset at starts line `line`, a fact the caller knows (say,
 * the offset after the first newline following a counted offset), so that
 * the next json_line_at need not scan the bytes before it.
 */
static inline void
json_line_note(JsonScan *js, size_t at, size_t line)
{
	js->lc_pos = at;
	js->lc_line = line;
}

/* Record an error at offset at (printf-style); always returns -1. */
extern int	json_fail(JsonScan *js, size_t at, const char *fmt,...)
#if defined(__GNUC__) || defined(__clang__)
			__attribute__((format(printf, 3, 4)))
#endif
			;

/* Error for the byte at js->pos (or the end) not being what was expected. */
extern int	json_unexpected(JsonScan *js, const char *expected);

extern void json_skip_ws_slow(JsonScan *js);

/* Offset of a document's first value: after a UTF-8 byte order mark and blanks. */
static inline size_t
json_first_value(const char *buf, size_t len)
{
	size_t		p = 0;

	if (len >= 3 && (unsigned char) buf[0] == 0xef && (unsigned char) buf[1] == 0xbb &&
		(unsigned char) buf[2] == 0xbf)
		p = 3;
	while (p < len && (buf[p] == ' ' || buf[p] == '\t' || buf[p] == '\n' || buf[p] == '\r'))
		p++;
	return p;
}

/* Skip blanks; inline, as compact JSON mostly has none. */
static inline void
json_skip_ws(JsonScan *js)
{
	if (js->pos < js->len)
	{
		char		c = js->buf[js->pos];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			json_skip_ws_slow(js);
	}
}

/* True (and past it) when the next non-blank byte is c. */
extern bool json_accept(JsonScan *js, char c);

/*
 * Read the JSON string whose opening quote is at *pp and advance *pp past
 * it.  The decoded bytes go to out[0..cap) when out is given, and *declen
 * gets the full decoded length even when that is more than cap.  nul_in,
 * when set, forbids \u0000 and names the value in the error.
 */
extern int	json_read_string(JsonScan *js, size_t *pp, char *out, size_t cap,
							 size_t *declen, const char *nul_in);

/*
 * Skip the string whose opening quote is at *pp; *pp ends past it.  A
 * plain run then the closing quote is the common case, inline; anything
 * else (escapes, UTF-8, errors) takes the out-of-line path.
 */
extern int	json_skip_string_slow(JsonScan *js, size_t *pp);

static inline int
json_skip_string(JsonScan *js, size_t *pp)
{
	const unsigned char *b = (const unsigned char *) js->buf;
	size_t		p = *pp + 1;

	p += json_plain_run(b, p, js->len);
	if (p < js->len && b[p] == '"')
	{
		*pp = p + 1;
		return 0;
	}
	return json_skip_string_slow(js, pp);
}

/*
 * The key at js->pos (its quote) and the ':' after it, leaving js->pos at
 * the value.  A key without escapes is handed back in place (*key points
 * into the document); another is decoded into buf[0..cap), with *klen its
 * full decoded length (more than cap when it was cut).
 */
extern int	json_member_key_slow(JsonScan *js, const char **key, size_t *klen, char *buf,
								 size_t cap);

/* Inline: a plain key, then ':' right after it, as compact JSON has them. */
static inline int
json_member_key(JsonScan *js, const char **key, size_t *klen, char *buf, size_t cap)
{
	const unsigned char *b = (const unsigned char *) js->buf;
	size_t		s = js->pos + 1;
	size_t		p = s + json_plain_run(b, s, js->len);

	if (p + 1 < js->len && b[p] == '"' && b[p + 1] == ':')
	{
		*key = js->buf + s;
		*klen = p - s;
		js->pos = p + 2;
		json_skip_ws(js);
		return 0;
	}
	return json_member_key_slow(js, key, klen, buf, cap);
}

/*
 * Read an object key and the ':' after it, leaving js->pos at the value.
 * The key is decoded into key[0..cap) when key is given.
 */
extern int	json_read_key(JsonScan *js, char *key, size_t cap, size_t *klen);

/* Skip a number (JSON grammar) at js->pos. */
extern int	json_skip_number(JsonScan *js);

/* Skip the value at js->pos, whose parent is at nesting level parent. */
extern int	json_skip_value(JsonScan *js, int parent);

/*
 * After '{' (first) or a member: 1 and js->pos at the next key's quote,
 * 0 past the closing '}', -1 on error.  Arrays: json_next_element.
 */
extern int	json_next_member_slow(JsonScan *js, bool *first);
extern int	json_next_element(JsonScan *js, bool *first);

/* Inline: ',"' between members, '}' at the end, no blanks. */
static inline int
json_next_member(JsonScan *js, bool *first)
{
	size_t		p = js->pos;

	if (p + 1 < js->len)
	{
		char		c = js->buf[p];

		if (c == ',' && !*first && js->buf[p + 1] == '"')
		{
			js->pos = p + 1;
			return 1;
		}
		if (c == '}')
		{
			js->pos = p + 1;
			return 0;
		}
		if (c == '"' && *first)
		{
			*first = false;
			return 1;
		}
	}
	return json_next_member_slow(js, first);
}

#endif							/* VPCFLOW_JSONSCAN_H */
