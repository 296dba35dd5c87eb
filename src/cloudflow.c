/*
 * cloudflow.c
 *		GCP and Azure flow logs into FlowRows (see cloudflow.h and
 *		docs/providers.md).
 *
 * Each object is read in two steps: one pass notes where the values of
 * the keys we use start (and validates and skips everything else), then
 * those values are read from their offsets.  Keys may come in any order
 * (GCP's reporter after its instances, Azure's macAddress after the
 * flows), and the nesting is shallow, so the second read costs little.
 * Strings are decoded into a per-row arena; the extra column is built as
 * JSON text from the raw, already validated, bytes of the fields kept.
 *
 * This file: the steps both readers share (cloudflow_int.h), the document
 * loop and detection.  GCP entries: cloudflow_gcp.c; Azure records and
 * tuples: cloudflow_azure.c.
 */
#include "cloudflow_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

/* Note a semantic error in the current item; the first one is kept. */
void
cf_bad(CloudReader *r, const char *fmt,...)
{
	va_list		ap;

	if (r->message[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

void
cf_bad_in(CloudReader *r, const char *field, const char *msg)
{
	if (r->message[0] != '\0')
		return;
	r->bad_field = field;
	cf_bad(r, "%s", msg);
}

/*
 * Read a member's key at js.pos (its quote): its decoded text (first
 * MAX_KEY - 1 bytes), full length, and the raw span for copying.
 */
int
cf_member_key(CloudReader *r, char *key, size_t *klen, size_t *raw_start, size_t *raw_end)
{
	*raw_start = r->js.pos;
	if (json_read_string(&r->js, &r->js.pos, key, MAX_KEY - 1, klen, NULL) < 0)
		return -1;
	*raw_end = r->js.pos;
	if (*klen >= MAX_KEY - 1)
		*klen = MAX_KEY;		/* matches nothing */
	if (!json_accept(&r->js, ':'))
		return json_unexpected(&r->js, "':'");
	json_skip_ws(&r->js);
	return 0;
}

/*
 * The offsets of the values of keys[] in the object whose '{' is at pos
 * (0: absent; a value is never at offset 0); everything is validated and
 * js.pos ends after the '}'.
 */
int
cf_members_at(CloudReader *r, size_t pos, int level, const char *const *keys, int nkeys,
		   size_t *at)
{
	bool		first = true;
	int			m;

	for (int i = 0; i < nkeys; i++)
		at[i] = 0;
	r->js.pos = pos;
	if (!json_accept(&r->js, '{'))
		return json_unexpected(&r->js, "an object");
	while ((m = json_next_member(&r->js, &first)) > 0)
	{
		char		key[MAX_KEY];
		size_t		klen,
					ks,
					ke;

		if (cf_member_key(r, key, &klen, &ks, &ke) < 0)
			return -1;
		for (int i = 0; i < nkeys; i++)
			if (key_is(key, klen, keys[i]))
				at[i] = r->js.pos;
		if (json_skip_value(&r->js, level) < 0)
			return -1;
	}
	return m;
}

/*
 * The bytes of the string at at when it is plain (printable ASCII, no
 * escapes): its decoded text is those bytes, to be used in place.  False
 * for anything else, which takes json_read_string.
 */
static inline bool
plain_string_at(const CloudReader *r, size_t at, const char **s, size_t *n)
{
	const unsigned char *b = (const unsigned char *) r->js.buf;
	size_t		p;

	if (!cf_at_char(r, at, '"'))
		return false;
	p = at + 1 + json_plain_run(b, at + 1, r->js.len);
	if (p >= r->js.len || b[p] != '"')
		return false;
	*s = r->js.buf + at + 1;
	*n = p - at - 1;
	return true;
}

/*
 * The decoded string at at: in the arena, or in place when it is plain
 * (the document outlives the row).  1 ok, 0 not a string (or longer than
 * the arena's room), -1 error.
 */
int
cf_arena_string(CloudReader *r, size_t at, FlowStr *out)
{
	size_t		room = CLOUD_ARENA_SIZE - r->arena_used;
	size_t		n;
	const char *s;

	if (plain_string_at(r, at, &s, &n))
	{
		/* as long as a decoded copy could be: the same limit */
		if (n >= room)
			return 0;
		out->ptr = s;
		out->len = (uint32_t) n;
		return 1;
	}
	if (!cf_at_char(r, at, '"'))
		return 0;
	if (json_read_string(&r->js, &at, r->arena + r->arena_used, room, &n, "a string value") < 0)
		return -1;
	if (n >= room)
		return 0;
	out->ptr = r->arena + r->arena_used;
	out->len = (uint32_t) n;
	r->arena_used += n;
	return 1;
}

/* A text field of the row from the string at at; false if it is not one. */
bool
cf_set_text(CloudReader *r, int f, size_t at, const char *field)
{
	FlowStr		s;
	int			rc;

	if (at == 0 || cf_at_char(r, at, 'n'))	/* absent or null */
		return true;
	rc = cf_arena_string(r, at, &s);
	if (rc < 0)
		return false;
	if (rc == 0)
	{
		cf_bad_in(r, field, "expected a string (of at most 16 kB)");
		return true;
	}
	if (s.len == 0)
		return true;
	r->row.v[f].str = s;
	r->row.present[f >> 6] |= UINT64_C(1) << (f & 63);
	return true;
}

/*
 * An integer at at: a JSON number (floats with an integral value, as the
 * protobuf Struct of some clients writes ports: 3389.0) or, when
 * strings_ok, a string of digits (int64-as-string).  1 ok, 0 bad value.
 */
int
cf_int_value(CloudReader *r, size_t at, bool strings_ok, int64_t max, int64_t *v)
{
	const char *b = r->js.buf;
	size_t		p = at;
	size_t		end;
	char		tok[48];
	size_t		n;

	/*
	 * The common case, read in place: up to 18 plain digits (no overflow
	 * before the max check), as a string ending in its quote or a number
	 * ending in a byte that cannot continue one.  Anything else (signs,
	 * fractions, exponents, escapes, leading zeros) takes the full path.
	 */
	{
		size_t		q = at + (cf_at_char(r, at, '"') ? 1 : 0);
		size_t		lim = r->js.len;
		uint64_t	u = 0;
		size_t		i = q;

		if (q > at && !strings_ok)
			return 0;
		while (i < lim && i - q < 18 && b[i] >= '0' && b[i] <= '9')
			u = u * 10 + (uint64_t) (b[i++] - '0');
		if (i > q && i < lim && !(b[q] == '0' && i - q > 1) &&
			(q > at ? b[i] == '"' :
			 (b[i] != '.' && b[i] != 'e' && b[i] != 'E' && !(b[i] >= '0' && b[i] <= '9'))))
		{
			if (u > (uint64_t) max)
				return 0;
			if (q == at)
				r->js.pos = i;
			*v = (int64_t) u;
			return 1;
		}
	}
	if (cf_at_char(r, at, '"'))
	{
		if (!strings_ok)
			return 0;
		if (json_read_string(&r->js, &p, tok, sizeof(tok) - 1, &n, NULL) < 0 || n == 0 ||
			n >= sizeof(tok) - 1)
			return 0;
		tok[n] = '\0';
	}
	else
	{
		r->js.pos = at;
		if (p >= r->js.len || !(b[p] == '-' || (b[p] >= '0' && b[p] <= '9')))
			return 0;
		if (json_skip_number(&r->js) < 0)
			return -1;
		end = r->js.pos;
		n = end - at;
		if (n >= sizeof(tok))
			return 0;
		memcpy(tok, b + at, n);
		tok[n] = '\0';
	}
	/* plain digits: exact; anything else must be an integral number */
	{
		uint64_t	u = 0;
		size_t		i;

		for (i = 0; i < n && tok[i] >= '0' && tok[i] <= '9'; i++)
		{
			if (u > ((uint64_t) max - (uint64_t) (tok[i] - '0')) / 10)
				return 0;
			u = u * 10 + (uint64_t) (tok[i] - '0');
		}
		if (i == n)
		{
			*v = (int64_t) u;
			return 1;
		}
		/* strings hold digits only; numbers may be integral floats */
		if (tok[0] == '-' || cf_at_char(r, at, '"'))
			return 0;
		{
			char	   *e;
			double		d = strtod(tok, &e);

			if (*e != '\0' || !(d >= 0 && d <= (double) max && d < 9.2e18) ||
				d != (double) (int64_t) d)
				return 0;
			*v = (int64_t) d;
			return 1;
		}
	}
}

/* An integer field of the row; absent or null is NULL. */
bool
cf_set_int(CloudReader *r, int f, size_t at, bool strings_ok, int64_t max, const char *field)
{
	int64_t		v;
	int			rc;

	if (at == 0 || cf_at_char(r, at, 'n'))
		return true;
	rc = cf_int_value(r, at, strings_ok, max, &v);
	if (rc < 0)
		return false;
	if (rc == 0)
	{
		char		msg[80];

		snprintf(msg, sizeof(msg), "expected an integer 0..%lld", (long long) max);
		cf_bad_in(r, field, msg);
		return true;
	}
	flow_row_set(&r->row, f, v);
	return true;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		era;
	unsigned	yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t) doe - 719468;
}

static inline bool
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/*
 * RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM) into
 * microseconds since 1970 (nanoseconds are truncated).
 */
static bool
parse_rfc3339(const char *s, size_t len, int64_t *usec)
{
	int			y,
				mo,
				d,
				h,
				mi,
				se,
				oh = 0,
				om = 0;
	size_t		p = 19;
	int64_t		frac = 0;
	int			fdig = 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (len < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
		s[7] != '-' || !digits(s + 8, 2, &d) ||
		!(s[10] == 'T' || s[10] == 't' || s[10] == ' ') ||
		!digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
		s[16] != ':' || !digits(s + 17, 2, &se))
		return false;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		return false;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	if (p < len && s[p] == '.')
	{
		p++;
		while (p < len && s[p] >= '0' && s[p] <= '9')
		{
			if (fdig < 6)
				frac = frac * 10 + (s[p] - '0');
			fdig++;
			p++;
		}
		if (fdig == 0)
			return false;
		for (int i = fdig; i < 6; i++)
			frac *= 10;
	}
	if (p < len && (s[p] == 'Z' || s[p] == 'z') && p + 1 == len)
		;
	else if (p + 6 == len && (s[p] == '+' || s[p] == '-') &&
			 digits(s + p + 1, 2, &oh) && s[p + 3] == ':' && digits(s + p + 4, 2, &om) &&
			 oh <= 23 && om <= 59)
	{
		if (s[p] == '+')
			oh = -oh, om = -om;
	}
	else
		return false;
	*usec = ((days_from_civil(y, (unsigned) mo, (unsigned) d) * 86400 +
			  (int64_t) h * 3600 + mi * 60 + se + (int64_t) oh * 3600 + (int64_t) om * 60)
			 * 1000000) + frac;
	return true;
}

bool
cf_set_time(CloudReader *r, int f, size_t at, const char *field)
{
	char		tok[64];
	size_t		p = at,
				n;
	int64_t		us;
	const char *s;

	if (at == 0 || cf_at_char(r, at, 'n'))
		return true;
	if (!cf_at_char(r, at, '"'))
	{
		cf_bad_in(r, field, "expected an RFC 3339 time string");
		return true;
	}
	if (plain_string_at(r, at, &s, &n))
	{
		if (n >= sizeof(tok) || !parse_rfc3339(s, n, &us))
		{
			cf_bad_in(r, field, "invalid RFC 3339 time");
			return true;
		}
		flow_row_set(&r->row, f, us);
		return true;
	}
	if (json_read_string(&r->js, &p, tok, sizeof(tok), &n, NULL) < 0)
		return false;
	if (n >= sizeof(tok) || !parse_rfc3339(tok, n, &us))
	{
		cf_bad_in(r, field, "invalid RFC 3339 time");
		return true;
	}
	flow_row_set(&r->row, f, us);
	return true;
}

bool
cf_set_addr(CloudReader *r, int f, size_t at, const char *field)
{
	char		tok[64];
	size_t		p = at,
				n;
	const char *s;

	if (at == 0 || !cf_at_char(r, at, '"'))
	{
		cf_bad_in(r, field, at == 0 ? "missing IP address" : "expected an IP address string");
		return true;
	}
	if (plain_string_at(r, at, &s, &n))
	{
		if (n >= sizeof(tok) || !flow_parse_addr(s, n, &r->row.v[f].addr))
		{
			cf_bad_in(r, field, "invalid IP address");
			return true;
		}
		r->row.present[f >> 6] |= UINT64_C(1) << (f & 63);
		return true;
	}
	if (json_read_string(&r->js, &p, tok, sizeof(tok), &n, NULL) < 0)
		return false;
	if (n >= sizeof(tok) || !flow_parse_addr(tok, n, &r->row.v[f].addr))
	{
		cf_bad_in(r, field, "invalid IP address");
		return true;
	}
	r->row.present[f >> 6] |= UINT64_C(1) << (f & 63);
	return true;
}

/* ---------------------------------------------------------------- extra */

void
cf_extra_begin(CloudReader *r)
{
	r->extra_len = 0;
}

/* Append "key": value from raw document bytes (both already validated). */
void
cf_extra_add(CloudReader *r, const char *key, size_t klen, size_t vstart, size_t vend)
{
	size_t		need = klen + (vend - vstart) + 3;

	if (r->extra_len + need + 2 > CLOUD_EXTRA_SIZE)
	{
		cf_bad_in(r, NULL, "fields kept in extra exceed 64 kB");
		return;
	}
	/* PostgreSQL's jsonb cannot hold U+0000: an escaped \u0000 is an error */
	for (const char *bs = memchr(r->js.buf + vstart, '\\', vend - vstart);
		 bs != NULL && (size_t) (bs - r->js.buf) + 6 <= vend;
		 bs = memchr(bs + 1, '\\', vend - (size_t) (bs + 1 - r->js.buf)))
	{
		size_t		p = (size_t) (bs - r->js.buf);

		if (memcmp(bs, "\\u0000", 6) == 0)
		{
			size_t		nbs = 0;

			while (p - nbs > vstart && r->js.buf[p - nbs - 1] == '\\')
				nbs++;
			if (nbs % 2 == 0)
			{
				cf_bad_in(r, NULL, "a value kept in extra holds \\u0000, which jsonb cannot store");
				return;
			}
		}
	}
	r->extra[r->extra_len] = r->extra_len == 0 ? '{' : ',';
	r->extra_len++;
	memcpy(r->extra + r->extra_len, key, klen);
	r->extra_len += klen;
	r->extra[r->extra_len++] = ':';
	memcpy(r->extra + r->extra_len, r->js.buf + vstart, vend - vstart);
	r->extra_len += vend - vstart;
}

void
cf_extra_end(CloudReader *r)
{
	if (r->extra_len == 0)
		return;
	r->extra[r->extra_len++] = '}';
	r->row.extra_json.ptr = r->extra;
	r->row.extra_json.len = (uint32_t) r->extra_len;
}

/* An empty value, not worth keeping: {}, [], null, "" (any blanks). */
bool
cf_is_empty_value(const CloudReader *r, size_t vstart, size_t vend)
{
	char		c[2];
	int			n = 0;

	for (size_t p = vstart; p < vend; p++)
	{
		char		ch = r->js.buf[p];

		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
			continue;
		if (n == 2)
			return false;
		c[n++] = ch;
	}
	if (n == 2)
		return (c[0] == '{' && c[1] == '}') || (c[0] == '[' && c[1] == ']') ||
			(c[0] == '"' && c[1] == '"');
	return false;
}

/* ---------------------------------------------------------------- rows */

void
cf_row_begin(CloudReader *r, int provider)
{
	r->row.present[0] = r->row.present[1] = 0;
	r->row.nunknown = 0;
	r->row.extra_json.ptr = NULL;
	r->row.extra_json.len = 0;
	r->message[0] = '\0';
	r->bad_field = NULL;
	cf_extra_begin(r);
	flow_row_set(&r->row, FF_PROVIDER, provider);
	flow_row_set(&r->row, FF_LOG_STATUS, FLOW_STATUS_OK);
}

/* Hand over the row, or the item as bad; raw is the item's bytes. */
void
cf_row_end(CloudReader *r, size_t raw_start, size_t raw_end)
{
	size_t		line = json_line_at(&r->js, raw_start);

	if (r->message[0] == '\0' && !flow_row_has(&r->row, FF_START))
		cf_bad_in(r, "start_time", "no start time, so no time partition");
	if (r->message[0] != '\0')
	{
		r->bad++;
		r->bad_fn(r->arg, r->js.buf + raw_start, raw_end - raw_start, line,
				  r->bad_field, r->message);
		return;
	}
	r->rows++;
	r->row_fn(r->arg, &r->row, r->js.buf + raw_start, raw_end - raw_start, line);
}

/* ---------------------------------------------------------------- documents */

static int
top_value(CloudReader *r, int level)
{
	if (r->provider == FLOW_PROVIDER_GCP)
		return cf_gcp_entry(r, level);
	return cf_azure_object(r, r->js.pos, level, true);
}

/*
 * NDJSON (an entry or record per line) when the first line is one whole
 * object: "{" ... "}" with nothing after it but blanks.
 */
static bool
line_is_object(const char *b, size_t p, size_t len)
{
	const char *nl;
	size_t		e;

	if (p >= len || b[p] != '{')
		return false;
	nl = memchr(b + p, '\n', len - p);
	e = nl ? (size_t) (nl - b) : len;
	while (e > p && (b[e - 1] == ' ' || b[e - 1] == '\t' || b[e - 1] == '\r'))
		e--;
	return e > p + 1 && b[e - 1] == '}';
}

bool
cloud_is_ndjson(const char *buf, size_t len)
{
	return line_is_object(buf, json_first_value(buf, len), len);
}

/*
 * Malformed JSON in a line of NDJSON (a truncated download, a half-written
 * last line) spoils that line only: it goes to the bad-item callback and
 * reading resumes at the next line.  The object's rows are handed over
 * only after all of it has been scanned, so none of a broken line's rows
 * were given out.  Elsewhere malformed JSON ends the document.
 */
static bool
skip_broken_line(CloudReader *r, size_t start)
{
	const char *b = r->js.buf;
	size_t		line = json_line_at(&r->js, start);
	size_t		p = start;
	const char *nl;
	size_t		eol;

	while (p > 0 && (b[p - 1] == ' ' || b[p - 1] == '\t'))
		p--;
	if ((p > 0 && b[p - 1] != '\n') || r->js.line != line)
		return false;
	nl = memchr(b + start, '\n', r->js.len - start);
	eol = nl ? (size_t) (nl - b) : r->js.len;
	/* NDJSON goes on with another object (or ends) on the next lines */
	for (p = eol; p < r->js.len; p++)
		if (b[p] != ' ' && b[p] != '\t' && b[p] != '\n' && b[p] != '\r')
			break;
	if (p < r->js.len && b[p] != '{')
		return false;
	snprintf(r->message, sizeof(r->message), "malformed JSON: %s", r->js.error);
	r->bad++;
	r->bad_fn(r->arg, b + start, eol - start, line, NULL, r->message);
	r->js.failed = false;
	r->js.error[0] = '\0';
	r->js.pos = eol;
	return true;
}

static int	parse_document(CloudReader *r, int provider, const char *buf, size_t len,
						   size_t resume_at, bool lines, CloudRowFn row_fn, CloudBadFn bad_fn,
						   void *arg);

int
cloud_parse(CloudReader *r, int provider, const char *buf, size_t len,
			size_t resume_at, CloudRowFn row_fn, CloudBadFn bad_fn, void *arg)
{
	return parse_document(r, provider, buf, len, resume_at, false, row_fn, bad_fn, arg);
}

int
cloud_parse_lines(CloudReader *r, int provider, const char *buf, size_t len,
				  CloudRowFn row_fn, CloudBadFn bad_fn, void *arg)
{
	return parse_document(r, provider, buf, len, 0, true, row_fn, bad_fn, arg);
}

static int
parse_document(CloudReader *r, int provider, const char *buf, size_t len,
			   size_t resume_at, bool lines, CloudRowFn row_fn, CloudBadFn bad_fn, void *arg)
{
	bool		ndjson;

	r->provider = provider;
	r->resume_at = resume_at;
	r->row_fn = row_fn;
	r->bad_fn = bad_fn;
	r->arg = arg;
	r->rows = r->bad = 0;
	r->error[0] = '\0';
	r->records_end = 0;
	r->skipped_records = 0;
	r->in_blob_records = false;
	json_scan_init(&r->js, buf, len);

	json_skip_ws(&r->js);
	r->first_value = r->js.pos;
	if (provider != FLOW_PROVIDER_GCP && r->js.pos < r->js.len &&
		r->js.buf[r->js.pos] != '{' && r->js.buf[r->js.pos] != '[')
	{
		cf_azure_tuple_lines(r);
		return 0;
	}
	ndjson = lines || line_is_object(r->js.buf, r->first_value, r->js.len);
	for (;;)
	{
		json_skip_ws(&r->js);
		if (r->js.pos >= r->js.len)
			return 0;
		if (r->js.pos != r->first_value)
			r->records_end = 0; /* not a single blob: nothing to resume */
		if (r->js.buf[r->js.pos] == '[')
		{
			bool		first = true;
			int			m;

			r->js.pos++;
			while ((m = json_next_element(&r->js, &first)) > 0)
			{
				if (!cf_at_char(r, r->js.pos, '{'))
				{
					json_unexpected(&r->js, "an object");
					goto fail;
				}
				if (top_value(r, 2) < 0)
					goto fail;
			}
			if (m < 0)
				goto fail;
		}
		else if (r->js.buf[r->js.pos] == '{')
		{
			size_t		start = r->js.pos;
			size_t		full = r->js.len;
			const char *nl = NULL;
			size_t		line = 0;
			int			rc;

			/* NDJSON: an object may not run into the next line */
			if (ndjson)
			{
				nl = memchr(r->js.buf + start, '\n', full - start);
				r->js.len = nl ? (size_t) (nl - r->js.buf) : full;
				line = json_line_at(&r->js, start);
			}
			rc = top_value(r, 1);
			r->js.len = full;
			/* the next line starts after nl: its number is known, not scanned for */
			if (nl != NULL && r->js.lc_pos <= (size_t) (nl - r->js.buf) + 1)
				json_line_note(&r->js, (size_t) (nl - r->js.buf) + 1, line + 1);
			if (rc < 0 && !(ndjson && skip_broken_line(r, start)))
				goto fail;
		}
		else
		{
			json_unexpected(&r->js, "'{' or '['");
			goto fail;
		}
	}
fail:
	snprintf(r->error, sizeof(r->error), "%s", r->js.error);
	return -1;
}

/* ---------------------------------------------------------------- detection */

static bool
contains(const char *buf, size_t len, const char *needle)
{
	size_t		nl = strlen(needle);

	for (size_t i = 0; i + nl <= len; i++)
		if (buf[i] == needle[0] && memcmp(buf + i, needle, nl) == 0)
			return true;
	return false;
}

/* ts,addr,addr,...: a bare Azure tuple line (VNet when field 6 is a number). */
static int
tuple_line_provider(const char *s, size_t len)
{
	FlowStr		t[16];
	const char *nl = memchr(s, '\n', len);
	size_t		l = nl ? (size_t) (nl - s) : len;
	int			n;
	uint64_t	v;
	FlowAddr	a;

	while (l > 0 && (s[l - 1] == '\r' || s[l - 1] == ' '))
		l--;
	n = cf_split_commas(s, l, t, 15);
	if ((n != 8 && n != 13) || !cf_num(t[0], UINT64_MAX / 2, &v) ||
		!flow_parse_addr(t[1].ptr, t[1].len, &a) || !flow_parse_addr(t[2].ptr, t[2].len, &a))
		return 0;
	if (t[5].len > 0 && t[5].ptr[0] >= '0' && t[5].ptr[0] <= '9')
		return n == 13 ? FLOW_PROVIDER_AZURE_VNET : 0;
	return FLOW_PROVIDER_AZURE_NSG;
}

int
cloud_detect(const char *buf, size_t len)
{
	size_t		n = len < 65536 ? len : 65536;
	size_t		p = json_first_value(buf, n);

	if (p >= n)
		return 0;
	if (buf[p] != '{' && buf[p] != '[')
		return (buf[p] >= '0' && buf[p] <= '9') ? tuple_line_provider(buf + p, n - p) : 0;
	/* AWS envelopes carry flow-log text in "message"; these keys never */
	if (contains(buf, n, "\"flowRecords\"") || contains(buf, n, "\"flowLogVersion\""))
		return FLOW_PROVIDER_AZURE_VNET;
	if (contains(buf, n, "\"flowTuples\"") || contains(buf, n, "NetworkSecurityGroupFlowEvent"))
		return FLOW_PROVIDER_AZURE_NSG;
	if (contains(buf, n, "vpc_flows") ||
		(contains(buf, n, "\"connection\"") && contains(buf, n, "\"reporter\"")))
		return FLOW_PROVIDER_GCP;
	return 0;
}

int
cloud_format_code(const char *name, size_t len)
{
	static const struct
	{
		const char *name;
		int			code;
	}			names[] = {
		{"aws", FLOW_PROVIDER_AWS},
		{"gcp", FLOW_PROVIDER_GCP},
		{"azure-nsg", FLOW_PROVIDER_AZURE_NSG},
		{"azure-vnet", FLOW_PROVIDER_AZURE_VNET},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (len == strlen(names[i].name) && memcmp(name, names[i].name, len) == 0)
			return names[i].code;
	return 0;
}
