/*
 * jsonscan.c
 *		The shared JSON scanner (see jsonscan.h).
 */
#include "jsonscan.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


/* Line of offset at, counting from a cached position either way. */
size_t
json_line_at(JsonScan *e, size_t at)
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

int
json_fail(JsonScan *e, size_t at, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(e->error, sizeof(e->error), fmt, ap);
	va_end(ap);
	e->line = json_line_at(e, at);
	e->failed = true;
	return -1;
}

/* Error for the byte at e->pos (or the end) not being what was expected. */
int
json_unexpected(JsonScan *e, const char *expected)
{
	unsigned char c;

	if (e->pos >= e->len)
		return json_fail(e, e->len, "unexpected end of input, expected %s", expected);
	c = (unsigned char) e->buf[e->pos];
	if (c > 0x20 && c < 0x7f)
		return json_fail(e, e->pos, "unexpected '%c', expected %s", c, expected);
	return json_fail(e, e->pos, "unexpected byte 0x%02x, expected %s", c, expected);
}

void
json_skip_ws_slow(JsonScan *e)
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
int
json_read_string(JsonScan *e, size_t *pp, char *out, size_t cap,
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
		p += json_plain_run(b, p, len);
		put(out, cap, &n, b + run, p - run);
		if (p >= len)
			return json_fail(e, *pp, "unterminated string");
		c = b[p];
		if (c == '"')
		{
			*pp = p + 1;
			*declen = n;
			return 0;
		}
		if (c < 0x20)
			return json_fail(e, p, "unescaped control character 0x%02x in a string", c);
		if (c >= 0x80)
		{
			int			k = utf8_seq(b + p, len - p);

			if (k == 0)
				return json_fail(e, p, "invalid UTF-8 in a string");
			put(out, cap, &n, b + p, (size_t) k);
			p += (size_t) k;
			continue;
		}

		/* a backslash */
		if (len - p < 2)
			return json_fail(e, *pp, "unterminated string");
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
					return json_fail(e, p, "invalid escape \"\\%c\" in a string", b[p + 1]);
				return json_fail(e, p, "invalid escape (backslash, byte 0x%02x) in a string",
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
			return json_fail(e, p, "invalid \\u escape in a string");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return json_fail(e, p, "lone surrogate \\u%04X in a string", (unsigned) cp);
		if (cp >= 0xd800 && cp <= 0xdbff)
		{
			uint32_t	lo;

			if (len - p < 12 || b[p + 6] != '\\' || b[p + 7] != 'u' ||
				!hex4(b + p + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
				return json_fail(e, p, "lone surrogate \\u%04X in a string", (unsigned) cp);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		if (cp == 0 && nul_in != NULL)
			return json_fail(e, p, "NUL (\\u0000) in %s", nul_in);
		p += 6;

		put_utf8(out, cap, &n, cp);
	}
}

/*
 * Skip the string whose opening quote is at *pp: a plain run then the
 * closing quote is the common case; anything else (escapes, UTF-8, errors)
 * takes json_read_string.
 */
int
json_skip_string_slow(JsonScan *e, size_t *pp)
{
	const unsigned char *b = (const unsigned char *) e->buf;
	size_t		p = *pp + 1;
	size_t		n;

	p += json_plain_run(b, p, e->len);
	if (p < e->len && b[p] == '"')
	{
		*pp = p + 1;
		return 0;
	}
	return json_read_string(e, pp, NULL, 0, &n, NULL);
}

/* The ':' after a key, and the blanks around it; leaves e->pos at the value. */
static int
json_after_key(JsonScan *e)
{
	if (e->pos < e->len && e->buf[e->pos] == ':')
		e->pos++;				/* the usual "key":value, no blank to skip */
	else
	{
		json_skip_ws(e);
		if (e->pos >= e->len || e->buf[e->pos] != ':')
			return json_unexpected(e, "':'");
		e->pos++;
	}
	json_skip_ws(e);
	return 0;
}

/*
 * The key at e->pos (its quote) and the ':' after it, leaving e->pos at the
 * value.  A key without escapes (the common case) is handed back in place,
 * as bytes of the document; another is decoded into buf[0..cap), and
 * *klen is its full decoded length (more than cap: it was cut).
 */
int
json_member_key_slow(JsonScan *e, const char **key, size_t *klen, char *buf, size_t cap)
{
	const unsigned char *b = (const unsigned char *) e->buf;
	size_t		s = e->pos + 1;
	size_t		p = s + json_plain_run(b, s, e->len);

	if (p < e->len && b[p] == '"')
	{
		*key = e->buf + s;
		*klen = p - s;
		e->pos = p + 1;
	}
	else
	{
		if (json_read_string(e, &e->pos, buf, cap, klen, NULL) < 0)
			return -1;
		*key = buf;
	}
	return json_after_key(e);
}

static bool
is_digit_at(const JsonScan *e, size_t p)
{
	return p < e->len && e->buf[p] >= '0' && e->buf[p] <= '9';
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
int
json_skip_number(JsonScan *e)
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
		return json_fail(e, e->pos, "invalid number");
	if (p < e->len && e->buf[p] == '.')
	{
		if (!is_digit_at(e, ++p))
			return json_fail(e, e->pos, "invalid number");
		while (is_digit_at(e, p))
			p++;
	}
	if (p < e->len && (e->buf[p] == 'e' || e->buf[p] == 'E'))
	{
		p++;
		if (p < e->len && (e->buf[p] == '+' || e->buf[p] == '-'))
			p++;
		if (!is_digit_at(e, p))
			return json_fail(e, e->pos, "invalid number");
		while (is_digit_at(e, p))
			p++;
	}
	e->pos = p;
	return 0;
}

static int
skip_literal(JsonScan *e)
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
	return json_unexpected(e, "a value");
}

/*
 * Read an object key and the ':' after it, leaving e->pos at the value.
 * The key is decoded into key[0..cap) when key is given (see read_string).
 */
int
json_read_key(JsonScan *e, char *key, size_t cap, size_t *klen)
{
	size_t		n;

	json_skip_ws(e);
	if (e->pos >= e->len || e->buf[e->pos] != '"')
		return json_unexpected(e, "a key string");
	if (key == NULL && klen == NULL)
	{
		if (json_skip_string(e, &e->pos) < 0)
			return -1;
	}
	else if (json_read_string(e, &e->pos, key, cap, klen ? klen : &n, NULL) < 0)
		return -1;
	return json_after_key(e);
}

/*
 * A key and its ':' as json_read_key(e, NULL, 0, NULL) reads them; a plain
 * key with the ':' right after it (compact JSON) without the call.
 */
static inline int
skip_key(JsonScan *e)
{
	const unsigned char *b = (const unsigned char *) e->buf;

	if (e->pos < e->len && b[e->pos] == '"')
	{
		size_t		p = e->pos + 1 + json_plain_run(b, e->pos + 1, e->len);

		if (p + 1 < e->len && b[p] == '"' && b[p + 1] == ':')
		{
			e->pos = p + 2;
			json_skip_ws(e);
			return 0;
		}
	}
	return json_read_key(e, NULL, 0, NULL);
}

/*
 * Skip the value at e->pos, whose parent is at nesting level parent.  Open
 * arrays and objects are a bit stack (1 = array), which the depth limit
 * keeps within 64 bits.
 */
int
json_skip_value(JsonScan *e, int parent)
{
	uint64_t	arrays = 0;
	int			open = 0;

	for (;;)
	{
		char		c;

		/* a value starts here */
		json_skip_ws(e);
		if (e->pos >= e->len)
			return json_unexpected(e, "a value");
		c = e->buf[e->pos];
		if (c == '{' || c == '[')
		{
			char		close = (c == '[') ? ']' : '}';

			if (parent + open + 1 > JSON_SCAN_MAX_DEPTH)
				return json_fail(e, e->pos, "nesting deeper than %d levels",
							JSON_SCAN_MAX_DEPTH);
			if (c == '[')
				arrays |= UINT64_C(1) << open;
			else
				arrays &= ~(UINT64_C(1) << open);
			open++;
			e->pos++;
			json_skip_ws(e);
			if (e->pos < e->len && e->buf[e->pos] == close)
			{
				e->pos++;
				open--;
			}
			else if (c == '[')
				continue;
			else
			{
				if (skip_key(e) < 0)
					return -1;
				continue;
			}
		}
		else if (c == '"')
		{
			if (json_skip_string(e, &e->pos) < 0)
				return -1;
		}
		else if (c == '-' || (c >= '0' && c <= '9'))
		{
			if (json_skip_number(e) < 0)
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
			json_skip_ws(e);
			if (e->pos < e->len && e->buf[e->pos] == ',')
			{
				e->pos++;
				if (!is_array && skip_key(e) < 0)
					return -1;
				break;
			}
			if (e->pos < e->len && e->buf[e->pos] == (is_array ? ']' : '}'))
			{
				e->pos++;
				open--;
				continue;
			}
			return json_unexpected(e, is_array ? "',' or ']'" : "',' or '}'");
		}
	}
}


void
json_scan_init(JsonScan *e, const char *buf, size_t len)
{
	memset(e, 0, sizeof(*e));
	e->buf = buf;
	e->len = (buf != NULL) ? len : 0;
	e->lc_line = 1;
	/* a byte order mark is not whitespace to JSON, but editors add it */
	if (e->len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		e->pos = 3;
}

bool
json_accept(JsonScan *e, char c)
{
	json_skip_ws(e);
	if (e->pos < e->len && e->buf[e->pos] == c)
	{
		e->pos++;
		return true;
	}
	return false;
}

int
json_next_member_slow(JsonScan *e, bool *first)
{
	json_skip_ws(e);
	if (e->pos < e->len && e->buf[e->pos] == '}')
	{
		e->pos++;
		return 0;
	}
	if (!*first)
	{
		if (e->pos >= e->len || e->buf[e->pos] != ',')
			return json_unexpected(e, "',' or '}'");
		e->pos++;
		json_skip_ws(e);
	}
	*first = false;
	if (e->pos >= e->len || e->buf[e->pos] != '"')
		return json_unexpected(e, "a key string");
	return 1;
}

int
json_next_element(JsonScan *e, bool *first)
{
	json_skip_ws(e);
	if (e->pos < e->len && e->buf[e->pos] == ']')
	{
		e->pos++;
		return 0;
	}
	if (!*first)
	{
		if (e->pos >= e->len || e->buf[e->pos] != ',')
			return json_unexpected(e, "',' or ']'");
		e->pos++;
		json_skip_ws(e);
	}
	*first = false;
	if (e->pos >= e->len)
		return json_unexpected(e, "a value");
	return 1;
}
