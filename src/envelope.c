/*
 * envelope.c
 *		Flow-log records out of CloudWatch / NDJSON envelopes (see envelope.h).
 *
 * Not a general JSON parser: it walks the few shapes AWS produces, and
 * validates everything else it steps over just enough to skip it exactly.
 * The iterator keeps its place between calls in a small state machine;
 * skipped values nest with an explicit bit stack instead of recursion, so
 * hostile input cannot exhaust the C stack.  Every read of buf checks the
 * offset against len first.
 */
#include "envelope.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define ENV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ENV_PRINTF(f, a)
#endif

/* Keys acted on; all others are skipped. */
#define KEY_MESSAGE		0x01
#define KEY_STREAM		0x02
#define KEY_TYPE		0x04
#define KEY_EVENTS		0x08

/* Where flow_envelope_next resumes. */
enum
{
	ST_TOP,						/* between top-level values */
	ST_ARRAY_FIRST,				/* after a top-level '[' */
	ST_ARRAY_NEXT,				/* after an element of that array */
	ST_EVENTS_FIRST,			/* after the '[' of a container's events */
	ST_EVENTS_NEXT,				/* after an event */
	ST_END
};

/* How members() treats an object's keys. */
typedef enum
{
	M_TOP,						/* top-level object: container or event */
	M_EVENT,					/* element of an events array */
	M_REST						/* read-ahead of a container's later keys */
} MemberMode;

/* Results of members() and friends, besides -1 for an error. */
#define R_DONE		0			/* object closed */
#define R_EVENTS	1			/* positioned inside its events array */
#define R_RECORD	2			/* object was an event: message in out */

/* Line of offset at, counting from a cached position either way. */
static size_t
line_at(FlowEnvelope *e, size_t at)
{
	if (at > e->len)
		at = e->len;
	while (e->lc_pos < at)
	{
		const char *nl = memchr(e->buf + e->lc_pos, '\n', at - e->lc_pos);

		if (nl == NULL)
		{
			e->lc_pos = at;
			break;
		}
		e->lc_pos = (size_t) (nl - e->buf) + 1;
		e->lc_line++;
	}
	while (e->lc_pos > at)
	{
		e->lc_pos--;
		if (e->buf[e->lc_pos] == '\n')
			e->lc_line--;
	}
	return e->lc_line;
}

static int	fail(FlowEnvelope *e, size_t at, const char *fmt,...) ENV_PRINTF(3, 4);

static int
fail(FlowEnvelope *e, size_t at, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(e->error, sizeof(e->error), fmt, ap);
	va_end(ap);
	e->line = line_at(e, at);
	e->failed = true;
	return -1;
}

/* Error for the byte at e->pos (or the end) not being what was expected. */
static int
unexpected(FlowEnvelope *e, const char *expected)
{
	unsigned char c;

	if (e->pos >= e->len)
		return fail(e, e->len, "unexpected end of input, expected %s", expected);
	c = (unsigned char) e->buf[e->pos];
	if (c > 0x20 && c < 0x7f)
		return fail(e, e->pos, "unexpected '%c', expected %s", c, expected);
	return fail(e, e->pos, "unexpected byte 0x%02x, expected %s", c, expected);
}

static void
skip_ws(FlowEnvelope *e)
{
	while (e->pos < e->len)
	{
		char		c = e->buf[e->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		e->pos++;
	}
}

static bool
hex4(const unsigned char *s, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++)
	{
		unsigned	c = s[i];
		unsigned	d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		*v = (*v << 4) | d;
	}
	return true;
}

/* Length of the well-formed UTF-8 sequence at s, or 0. */
static int
utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned	c = s[0];
	int			k;
	uint32_t	cp,
				min;

	if (c >= 0xc2 && c <= 0xdf)
	{
		k = 2;
		cp = c & 0x1f;
		min = 0x80;
	}
	else if (c >= 0xe0 && c <= 0xef)
	{
		k = 3;
		cp = c & 0x0f;
		min = 0x800;
	}
	else if (c >= 0xf0 && c <= 0xf4)
	{
		k = 4;
		cp = c & 0x07;
		min = 0x10000;
	}
	else
		return 0;
	if (avail < (size_t) k)
		return 0;
	for (int i = 1; i < k; i++)
	{
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates and beyond U+10FFFF are invalid */
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* Append k bytes as far as they fit; the length counts them all. */
static void
put(char *out, size_t cap, size_t *n, const void *src, size_t k)
{
	if (out != NULL && *n < cap)
		memcpy(out + *n, src, (cap - *n < k) ? cap - *n : k);
	*n += k;
}

/* Append code point cp (a valid one) as UTF-8. */
static void
put_utf8(char *out, size_t cap, size_t *n, uint32_t cp)
{
	unsigned char u[4];
	size_t		k;

	if (cp < 0x80)
	{
		u[0] = (unsigned char) cp;
		k = 1;
	}
	else if (cp < 0x800)
	{
		u[0] = (unsigned char) (0xc0 | (cp >> 6));
		k = 2;
	}
	else if (cp < 0x10000)
	{
		u[0] = (unsigned char) (0xe0 | (cp >> 12));
		k = 3;
	}
	else
	{
		u[0] = (unsigned char) (0xf0 | (cp >> 18));
		k = 4;
	}
	/* continuation bytes carry six bits each, last bits last */
	for (size_t i = k - 1; i >= 1; i--)
	{
		u[i] = (unsigned char) (0x80 | (cp & 0x3f));
		cp >>= 6;
	}
	put(out, cap, n, u, k);
}

/*
 * Read the JSON string whose opening quote is at *pp and advance *pp past
 * it.  The decoded bytes go to out[0..cap) when out is given, and *declen
 * gets the full decoded length even when that is more than cap, so the
 * caller can name the size.  nul_in, when set, forbids \u0000 and names
 * the value in the error.
 */
static int
read_string(FlowEnvelope *e, size_t *pp, char *out, size_t cap,
			size_t *declen, const char *nul_in)
{
	const unsigned char *b = (const unsigned char *) e->buf;
	size_t		len = e->len;
	size_t		p = *pp + 1;
	size_t		n = 0;

	for (;;)
	{
		size_t		run = p;
		unsigned char c;
		uint32_t	cp;

		/* printable ASCII is copied in runs */
		while (p < len && b[p] >= 0x20 && b[p] < 0x80 && b[p] != '"' && b[p] != '\\')
			p++;
		put(out, cap, &n, b + run, p - run);
		if (p >= len)
			return fail(e, *pp, "unterminated string");
		c = b[p];
		if (c == '"')
		{
			*pp = p + 1;
			*declen = n;
			return 0;
		}
		if (c < 0x20)
			return fail(e, p, "unescaped control character 0x%02x in a string", c);
		if (c >= 0x80)
		{
			int			k = utf8_seq(b + p, len - p);

			if (k == 0)
				return fail(e, p, "invalid UTF-8 in a string");
			put(out, cap, &n, b + p, (size_t) k);
			p += (size_t) k;
			continue;
		}

		/* a backslash */
		if (len - p < 2)
			return fail(e, *pp, "unterminated string");
		switch (b[p + 1])
		{
			case '"':
			case '\\':
			case '/':
				put(out, cap, &n, b + p + 1, 1);
				p += 2;
				continue;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				c = 0;
				break;
			default:
				if (b[p + 1] > 0x20 && b[p + 1] < 0x7f)
					return fail(e, p, "invalid escape \"\\%c\" in a string", b[p + 1]);
				return fail(e, p, "invalid escape (backslash, byte 0x%02x) in a string",
							b[p + 1]);
		}
		if (c != 0)
		{
			put(out, cap, &n, &c, 1);
			p += 2;
			continue;
		}

		/* \uXXXX, and a surrogate pair is one code point */
		if (len - p < 6 || !hex4(b + p + 2, &cp))
			return fail(e, p, "invalid \\u escape in a string");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return fail(e, p, "lone surrogate \\u%04X in a string", (unsigned) cp);
		if (cp >= 0xd800 && cp <= 0xdbff)
		{
			uint32_t	lo;

			if (len - p < 12 || b[p + 6] != '\\' || b[p + 7] != 'u' ||
				!hex4(b + p + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
				return fail(e, p, "lone surrogate \\u%04X in a string", (unsigned) cp);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		if (cp == 0 && nul_in != NULL)
			return fail(e, p, "NUL (\\u0000) in %s", nul_in);
		p += 6;

		put_utf8(out, cap, &n, cp);
	}
}

static bool
is_digit_at(const FlowEnvelope *e, size_t p)
{
	return p < e->len && e->buf[p] >= '0' && e->buf[p] <= '9';
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
skip_number(FlowEnvelope *e)
{
	size_t		p = e->pos;

	if (p < e->len && e->buf[p] == '-')
		p++;
	if (p < e->len && e->buf[p] == '0')
		p++;
	else if (is_digit_at(e, p))
		while (is_digit_at(e, p))
			p++;
	else
		return fail(e, e->pos, "invalid number");
	if (p < e->len && e->buf[p] == '.')
	{
		if (!is_digit_at(e, ++p))
			return fail(e, e->pos, "invalid number");
		while (is_digit_at(e, p))
			p++;
	}
	if (p < e->len && (e->buf[p] == 'e' || e->buf[p] == 'E'))
	{
		p++;
		if (p < e->len && (e->buf[p] == '+' || e->buf[p] == '-'))
			p++;
		if (!is_digit_at(e, p))
			return fail(e, e->pos, "invalid number");
		while (is_digit_at(e, p))
			p++;
	}
	e->pos = p;
	return 0;
}

static int
skip_literal(FlowEnvelope *e)
{
	static const char *const words[] = {"true", "false", "null"};

	for (int i = 0; i < 3; i++)
	{
		size_t		wl = strlen(words[i]);

		if (e->len - e->pos >= wl && memcmp(e->buf + e->pos, words[i], wl) == 0)
		{
			e->pos += wl;
			return 0;
		}
	}
	return unexpected(e, "a value");
}

/*
 * Read an object key and the ':' after it, leaving e->pos at the value.
 * The key is decoded into key[0..cap) when key is given (see read_string).
 */
static int
read_key(FlowEnvelope *e, char *key, size_t cap, size_t *klen)
{
	size_t		n;

	skip_ws(e);
	if (e->pos >= e->len || e->buf[e->pos] != '"')
		return unexpected(e, "a key string");
	if (read_string(e, &e->pos, key, cap, klen ? klen : &n, NULL) < 0)
		return -1;
	skip_ws(e);
	if (e->pos >= e->len || e->buf[e->pos] != ':')
		return unexpected(e, "':'");
	e->pos++;
	skip_ws(e);
	return 0;
}

/*
 * Skip the value at e->pos, whose parent is at nesting level parent.  Open
 * arrays and objects are a bit stack (1 = array), which the depth limit
 * keeps within 64 bits.
 */
static int
skip_value(FlowEnvelope *e, int parent)
{
	uint64_t	arrays = 0;
	int			open = 0;

	for (;;)
	{
		char		c;
		size_t		n;

		/* a value starts here */
		skip_ws(e);
		if (e->pos >= e->len)
			return unexpected(e, "a value");
		c = e->buf[e->pos];
		if (c == '{' || c == '[')
		{
			char		close = (c == '[') ? ']' : '}';

			if (parent + open + 1 > FLOW_ENVELOPE_MAX_DEPTH)
				return fail(e, e->pos, "nesting deeper than %d levels",
							FLOW_ENVELOPE_MAX_DEPTH);
			if (c == '[')
				arrays |= UINT64_C(1) << open;
			else
				arrays &= ~(UINT64_C(1) << open);
			open++;
			e->pos++;
			skip_ws(e);
			if (e->pos < e->len && e->buf[e->pos] == close)
			{
				e->pos++;
				open--;
			}
			else if (c == '[')
				continue;
			else
			{
				if (read_key(e, NULL, 0, NULL) < 0)
					return -1;
				continue;
			}
		}
		else if (c == '"')
		{
			if (read_string(e, &e->pos, NULL, 0, &n, NULL) < 0)
				return -1;
		}
		else if (c == '-' || (c >= '0' && c <= '9'))
		{
			if (skip_number(e) < 0)
				return -1;
		}
		else if (skip_literal(e) < 0)
			return -1;

		/* after a value: close what ends here, or go on to the next one */
		for (;;)
		{
			bool		is_array;

			if (open == 0)
				return 0;
			is_array = (arrays >> (open - 1)) & 1;
			skip_ws(e);
			if (e->pos < e->len && e->buf[e->pos] == ',')
			{
				e->pos++;
				if (!is_array && read_key(e, NULL, 0, NULL) < 0)
					return -1;
				break;
			}
			if (e->pos < e->len && e->buf[e->pos] == (is_array ? ']' : '}'))
			{
				e->pos++;
				open--;
				continue;
			}
			return unexpected(e, is_array ? "',' or ']'" : "',' or '}'");
		}
	}
}

static unsigned
classify(const char *key, size_t klen, MemberMode mode)
{
#define IS(s) (klen == sizeof(s) - 1 && memcmp(key, s, klen) == 0)
	if (IS("message"))
		return KEY_MESSAGE;
	if (IS("logStream") || IS("logStreamName"))
		return KEY_STREAM;
	if (mode == M_EVENT)
		return 0;
	if (IS("messageType"))
		return KEY_TYPE;
	if (IS("logEvents") || IS("events"))
		return KEY_EVENTS;
	return 0;
#undef IS
}

/*
 * Read an object's members from e->pos (first: just after its '{') until
 * its '}' (R_DONE) or, for a container, into its events array (R_EVENTS).
 * A message goes to out, except in M_REST, which only validates and notes
 * messageType and the log stream.
 */
static int
members(FlowEnvelope *e, FlowEnvelopeObject *obj, MemberMode mode, bool first,
		char *out, size_t outcap, size_t *outlen)
{
	for (;;)
	{
		char		key[16];
		size_t		klen;
		size_t		at;
		size_t		n;
		unsigned	k;

		skip_ws(e);
		if (e->pos < e->len && e->buf[e->pos] == '}')
		{
			e->pos++;
			return R_DONE;
		}
		if (!first)
		{
			if (e->pos >= e->len || e->buf[e->pos] != ',')
				return unexpected(e, "',' or '}'");
			e->pos++;
		}
		first = false;
		if (read_key(e, key, sizeof(key), &klen) < 0)
			return -1;
		at = e->pos;
		k = classify(key, klen, mode);
		if (k != 0 && (obj->seen & k))
			return fail(e, at, "duplicate key \"%.*s\"", (int) klen, key);
		obj->seen |= k;
		if ((k == KEY_MESSAGE || k == KEY_EVENTS) &&
			(obj->seen & (KEY_MESSAGE | KEY_EVENTS)) == (KEY_MESSAGE | KEY_EVENTS))
			return fail(e, at, "object has both \"message\" and an events array");
		if (k != 0 && k != KEY_EVENTS && (at >= e->len || e->buf[at] != '"'))
			return fail(e, at, "\"%.*s\" is not a string", (int) klen, key);

		switch (k)
		{
			case KEY_MESSAGE:
				obj->message_at = at;
				if (mode == M_REST)
				{
					out = NULL;
					outcap = 0;
				}
				if (read_string(e, &e->pos, out, outcap, &n, "message") < 0)
					return -1;
				if (out == NULL)
					break;
				if (n >= outcap)
					return fail(e, at, "message is %zu bytes, longer than the %zu the buffer holds",
								n, outcap > 0 ? outcap - 1 : 0);
				out[n] = '\0';
				*outlen = n;
				break;

			case KEY_STREAM:
				obj->stream_at = at;
				if (read_string(e, &e->pos, NULL, 0, &n, "a log stream name") < 0)
					return -1;
				if (n > FLOW_ENVELOPE_STREAM_MAX)
					return fail(e, at, "log stream name is %zu bytes, longer than %d",
								n, FLOW_ENVELOPE_STREAM_MAX);
				break;

			case KEY_TYPE:
				{
					char		type[24];

					if (read_string(e, &e->pos, type, sizeof(type), &n, NULL) < 0)
						return -1;
					if (n == 15 && memcmp(type, "CONTROL_MESSAGE", 15) == 0)
						obj->control = true;
					else if (!(n == 12 && memcmp(type, "DATA_MESSAGE", 12) == 0))
						return fail(e, at, "messageType is neither DATA_MESSAGE nor CONTROL_MESSAGE");
					break;
				}

			case KEY_EVENTS:
				if (at >= e->len || e->buf[at] != '[')
					return fail(e, at, "\"%.*s\" is not an array", (int) klen, key);

				/*
				 * Events are returned as they are read, so whether they are
				 * returned at all (CONTROL_MESSAGE) and under which log stream
				 * must be known first.  AWS writes those keys first; when
				 * they are not, read the rest of the object ahead once.
				 */
				if ((obj->seen & (KEY_TYPE | KEY_STREAM)) != (KEY_TYPE | KEY_STREAM))
				{
					if (skip_value(e, obj->level) < 0 ||
						members(e, obj, M_REST, false, NULL, 0, NULL) < 0)
						return -1;
					obj->end = e->pos;
					obj->rest_known = true;
					e->pos = at;
				}
				if (!obj->control)
				{
					e->pos++;
					return R_EVENTS;
				}
				if (skip_value(e, obj->level) < 0)
					return -1;
				if (obj->rest_known)
				{
					e->pos = obj->end;
					return R_DONE;
				}
				break;

			default:
				if (skip_value(e, obj->level) < 0)
					return -1;
				break;
		}
	}
}

/* Fill in line and log stream for the record of obj, in container. */
static int
record_done(FlowEnvelope *e, const FlowEnvelopeObject *obj,
			const FlowEnvelopeObject *container)
{
	size_t		at = 0;
	size_t		n = 0;
	bool		has_stream = true;

	e->line = line_at(e, obj->message_at);
	if (obj->seen & KEY_STREAM)
		at = obj->stream_at;
	else if (container != NULL && (container->seen & KEY_STREAM))
		at = container->stream_at;
	else
		has_stream = false;
	if (has_stream &&
		read_string(e, &at, e->log_stream, FLOW_ENVELOPE_STREAM_MAX, &n, "a log stream name") < 0)
		return -1;
	e->log_stream[n] = '\0';
	e->log_stream_len = n;
	return R_RECORD;
}

/* Outcome of a top-level object whose members() returned r. */
static int
finish_top(FlowEnvelope *e, int r, size_t *outlen)
{
	FlowEnvelopeObject *obj = &e->top;

	if (r < 0)
		return -1;
	if (r == R_EVENTS)
	{
		/* a container, not an event itself */
		e->event = e->nevents;
		return R_EVENTS;
	}
	if (obj->seen & KEY_MESSAGE)
	{
		if (obj->control)
		{
			*outlen = 0;
			e->event = e->nevents;
			return R_DONE;
		}
		e->nevents++;
		return record_done(e, obj, NULL);
	}
	if ((obj->seen & KEY_EVENTS) || obj->control)
		return R_DONE;
	return fail(e, obj->start, "object has no \"message\" or \"logEvents\"");
}

static int
top_object(FlowEnvelope *e, int level, char *out, size_t outcap, size_t *outlen)
{
	memset(&e->top, 0, sizeof(e->top));
	e->top.start = e->pos;
	e->top.level = level;
	/* the ordinal it will have if it is an event */
	e->event = e->nevents + 1;
	e->pos++;
	return finish_top(e, members(e, &e->top, M_TOP, true, out, outcap, outlen),
					  outlen);
}

bool
flow_envelope_detect(const char *buf, size_t len)
{
	size_t		p = 0;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		p = 3;
	while (p < len && (buf[p] == ' ' || buf[p] == '\t' || buf[p] == '\n' || buf[p] == '\r'))
		p++;
	return p < len && (buf[p] == '{' || buf[p] == '[');
}

void
flow_envelope_init(FlowEnvelope *e, const char *buf, size_t len)
{
	memset(e, 0, sizeof(*e));
	e->buf = buf;
	e->len = (buf != NULL) ? len : 0;
	e->lc_line = 1;
	e->state = ST_TOP;
	/* a byte order mark is not whitespace to JSON, but editors add it */
	if (e->len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		e->pos = 3;
}

static int
next_record(FlowEnvelope *e, char *out, size_t outcap, size_t *outlen)
{
	if (e->failed)
		return -1;

	for (;;)
	{
		int			r;

		skip_ws(e);
		switch (e->state)
		{
			case ST_END:
				return 0;

			case ST_TOP:
				if (e->pos >= e->len)
				{
					e->state = ST_END;
					return 0;
				}
				if (e->buf[e->pos] == '[')
				{
					e->pos++;
					e->in_array = true;
					e->state = ST_ARRAY_FIRST;
					continue;
				}
				if (e->buf[e->pos] != '{')
					return unexpected(e, "'{' or '['");
				r = top_object(e, 1, out, outcap, outlen);
				break;

			case ST_ARRAY_FIRST:
			case ST_ARRAY_NEXT:
				if (e->pos < e->len && e->buf[e->pos] == ']')
				{
					e->pos++;
					e->in_array = false;
					e->state = ST_TOP;
					continue;
				}
				if (e->state == ST_ARRAY_NEXT)
				{
					if (e->pos >= e->len || e->buf[e->pos] != ',')
						return unexpected(e, "',' or ']'");
					e->pos++;
					skip_ws(e);
				}
				if (e->pos >= e->len || e->buf[e->pos] != '{')
					return unexpected(e, "an object");
				r = top_object(e, 2, out, outcap, outlen);
				break;

			case ST_EVENTS_FIRST:
			case ST_EVENTS_NEXT:
				if (e->pos < e->len && e->buf[e->pos] == ']')
				{
					/* the container's keys after its events */
					e->pos++;
					if (e->top.rest_known)
					{
						e->pos = e->top.end;
						r = R_DONE;
					}
					else
						r = finish_top(e, members(e, &e->top, M_TOP, false,
												  out, outcap, outlen),
									   outlen);
					break;
				}
				if (e->state == ST_EVENTS_NEXT)
				{
					if (e->pos >= e->len || e->buf[e->pos] != ',')
						return unexpected(e, "',' or ']'");
					e->pos++;
					skip_ws(e);
				}
				if (e->pos >= e->len || e->buf[e->pos] != '{')
					return unexpected(e, "an event object");
				{
					FlowEnvelopeObject ev;

					memset(&ev, 0, sizeof(ev));
					ev.start = e->pos;
					ev.level = e->top.level + 2;
					e->event = ++e->nevents;
					e->pos++;
					if (members(e, &ev, M_EVENT, true, out, outcap, outlen) < 0)
						return -1;
					if (!(ev.seen & KEY_MESSAGE))
						return fail(e, ev.start, "event has no \"message\"");
					e->state = ST_EVENTS_NEXT;
					return record_done(e, &ev, &e->top) < 0 ? -1 : 1;
				}

			default:
				return fail(e, e->pos, "internal error: bad state");
		}

		if (r < 0)
			return -1;
		if (r == R_EVENTS)
		{
			e->state = ST_EVENTS_FIRST;
			continue;
		}
		e->state = e->in_array ? ST_ARRAY_NEXT : ST_TOP;
		if (r == R_RECORD)
			return 1;
	}
}

int
flow_envelope_next(FlowEnvelope *e, char *out, size_t outcap, size_t *outlen)
{
	int			r;

	*outlen = 0;
	r = next_record(e, out, outcap, outlen);
	/* no half-read message is left for a caller that ignores r */
	if (r != 1)
	{
		*outlen = 0;
		if (outcap > 0)
			out[0] = '\0';
	}
	return r;
}
