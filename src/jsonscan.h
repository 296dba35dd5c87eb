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

/* Skip the string whose opening quote is at *pp; *pp ends past it. */
extern int	json_skip_string(JsonScan *js, size_t *pp);

/*
 * The key at js->pos (its quote) and the ':' after it, leaving js->pos at
 * the value.  A key without escapes is handed back in place (*key points
 * into the document); another is decoded into buf[0..cap), with *klen its
 * full decoded length (more than cap when it was cut).
 */
extern int	json_member_key(JsonScan *js, const char **key, size_t *klen, char *buf,
							size_t cap);

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
extern int	json_next_member(JsonScan *js, bool *first);
extern int	json_next_element(JsonScan *js, bool *first);

#endif							/* VPCFLOW_JSONSCAN_H */
