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
 */
#include "cloudflow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY		40			/* longer keys are never ones we use */
#define MAX_EXTRA	32			/* extra candidates per GCP entry */

/* ---------------------------------------------------------------- helpers */

static void
bad(CloudReader *r, const char *fmt,...)
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
;

/* Note a semantic error in the current item; the first one is kept. */
static void
bad(CloudReader *r, const char *fmt,...)
{
	va_list		ap;

	if (r->message[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

static void
bad_in(CloudReader *r, const char *field, const char *msg)
{
	if (r->message[0] != '\0')
		return;
	r->bad_field = field;
	bad(r, "%s", msg);
}

static bool
at_char(const CloudReader *r, size_t at, char c)
{
	return at < r->js.len && r->js.buf[at] == c;
}

static inline bool
key_is(const char *key, size_t klen, const char *name)
{
	/* names are short literals: compare as we go, no strlen */
	size_t		i;

	for (i = 0; i < klen; i++)
		if (name[i] != key[i] || name[i] == '\0')
			return false;
	return name[i] == '\0';
}

/*
 * Read a member's key at js.pos (its quote): its decoded text (first
 * MAX_KEY - 1 bytes), full length, and the raw span for copying.
 */
static int
member_key(CloudReader *r, char *key, size_t *klen, size_t *raw_start, size_t *raw_end)
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
static int
members_at(CloudReader *r, size_t pos, int level, const char *const *keys, int nkeys,
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

		if (member_key(r, key, &klen, &ks, &ke) < 0)
			return -1;
		for (int i = 0; i < nkeys; i++)
			if (key_is(key, klen, keys[i]))
				at[i] = r->js.pos;
		if (json_skip_value(&r->js, level) < 0)
			return -1;
	}
	return m;
}

/* The decoded string at at, in the arena.  1 ok, 0 not a string, -1 error. */
static int
arena_string(CloudReader *r, size_t at, FlowStr *out)
{
	size_t		room = CLOUD_ARENA_SIZE - r->arena_used;
	size_t		n;

	if (!at_char(r, at, '"'))
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
static bool
set_text(CloudReader *r, int f, size_t at, const char *field)
{
	FlowStr		s;
	int			rc;

	if (at == 0 || at_char(r, at, 'n'))	/* absent or null */
		return true;
	rc = arena_string(r, at, &s);
	if (rc < 0)
		return false;
	if (rc == 0)
	{
		bad_in(r, field, "expected a string (of at most 16 kB)");
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
static int
int_value(CloudReader *r, size_t at, bool strings_ok, int64_t max, int64_t *v)
{
	const char *b = r->js.buf;
	size_t		p = at;
	size_t		end;
	char		tok[48];
	size_t		n;

	if (at_char(r, at, '"'))
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
		if (tok[0] == '-' || at_char(r, at, '"'))
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
static bool
set_int(CloudReader *r, int f, size_t at, bool strings_ok, int64_t max, const char *field)
{
	int64_t		v;
	int			rc;

	if (at == 0 || at_char(r, at, 'n'))
		return true;
	rc = int_value(r, at, strings_ok, max, &v);
	if (rc < 0)
		return false;
	if (rc == 0)
	{
		char		msg[80];

		snprintf(msg, sizeof(msg), "expected an integer 0..%lld", (long long) max);
		bad_in(r, field, msg);
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

static bool
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

static bool
set_time(CloudReader *r, int f, size_t at, const char *field)
{
	char		tok[64];
	size_t		p = at,
				n;
	int64_t		us;

	if (at == 0 || at_char(r, at, 'n'))
		return true;
	if (!at_char(r, at, '"'))
	{
		bad_in(r, field, "expected an RFC 3339 time string");
		return true;
	}
	if (json_read_string(&r->js, &p, tok, sizeof(tok), &n, NULL) < 0)
		return false;
	if (n >= sizeof(tok) || !parse_rfc3339(tok, n, &us))
	{
		bad_in(r, field, "invalid RFC 3339 time");
		return true;
	}
	flow_row_set(&r->row, f, us);
	return true;
}

static bool
set_addr(CloudReader *r, int f, size_t at, const char *field)
{
	char		tok[64];
	size_t		p = at,
				n;

	if (at == 0 || !at_char(r, at, '"'))
	{
		bad_in(r, field, at == 0 ? "missing IP address" : "expected an IP address string");
		return true;
	}
	if (json_read_string(&r->js, &p, tok, sizeof(tok), &n, NULL) < 0)
		return false;
	if (n >= sizeof(tok) || !flow_parse_addr(tok, n, &r->row.v[f].addr))
	{
		bad_in(r, field, "invalid IP address");
		return true;
	}
	r->row.present[f >> 6] |= UINT64_C(1) << (f & 63);
	return true;
}

/* ---------------------------------------------------------------- extra */

static void
extra_begin(CloudReader *r)
{
	r->extra_len = 0;
}

/* Append "key": value from raw document bytes (both already validated). */
static void
extra_add(CloudReader *r, const char *key, size_t klen, size_t vstart, size_t vend)
{
	size_t		need = klen + (vend - vstart) + 3;

	if (r->extra_len + need + 2 > CLOUD_EXTRA_SIZE)
	{
		bad_in(r, NULL, "fields kept in extra exceed 64 kB");
		return;
	}
	/* PostgreSQL's jsonb cannot hold U+0000: an escaped \u0000 is an error */
	for (size_t p = vstart; p + 6 <= vend; p++)
		if (memcmp(r->js.buf + p, "\\u0000", 6) == 0)
		{
			size_t		nbs = 0;

			while (p - nbs > vstart && r->js.buf[p - nbs - 1] == '\\')
				nbs++;
			if (nbs % 2 == 0)
			{
				bad_in(r, NULL, "a value kept in extra holds \\u0000, which jsonb cannot store");
				return;
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

static void
extra_end(CloudReader *r)
{
	if (r->extra_len == 0)
		return;
	r->extra[r->extra_len++] = '}';
	r->row.extra_json.ptr = r->extra;
	r->row.extra_json.len = (uint32_t) r->extra_len;
}

/* An empty value, not worth keeping: {}, [], null, "" (any blanks). */
static bool
is_empty_value(const CloudReader *r, size_t vstart, size_t vend)
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

static void
row_begin(CloudReader *r, int provider)
{
	r->row.present[0] = r->row.present[1] = 0;
	r->row.nunknown = 0;
	r->row.extra_json.ptr = NULL;
	r->row.extra_json.len = 0;
	r->message[0] = '\0';
	r->bad_field = NULL;
	extra_begin(r);
	flow_row_set(&r->row, FF_PROVIDER, provider);
	flow_row_set(&r->row, FF_LOG_STATUS, FLOW_STATUS_OK);
}

/* Hand over the row, or the item as bad; raw is the item's bytes. */
static void
row_end(CloudReader *r, size_t raw_start, size_t raw_end)
{
	size_t		line = json_line_at(&r->js, raw_start);

	if (r->message[0] == '\0' && !flow_row_has(&r->row, FF_START))
		bad_in(r, "start_time", "no start time, so no time partition");
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

/* ---------------------------------------------------------------- GCP */

enum
{
	G_CONNECTION, G_BYTES, G_PACKETS, G_RTT, G_START, G_END, G_REPORTER,
	G_SRC_INSTANCE, G_DEST_INSTANCE, G_SRC_VPC, G_DEST_VPC, G_NETWORK_SERVICE,
	G_NKEYS
};
static const char *const gcp_keys[G_NKEYS] = {
	"connection", "bytes_sent", "packets_sent", "rtt_msec", "start_time", "end_time",
	"reporter", "src_instance", "dest_instance", "src_vpc", "dest_vpc", "network_service"
};

typedef struct GcpEntry
{
	size_t		at[G_NKEYS];	/* value offsets, 0 = absent */
	size_t		key_raw[G_NKEYS][2];
	size_t		value_end[G_NKEYS];
	size_t		log_name;
	bool		has_payload;
	int			nextra;			/* members kept verbatim in extra */
	size_t		extra_key[MAX_EXTRA][2];
	size_t		extra_value[MAX_EXTRA][2];
	bool		extra_top[MAX_EXTRA];	/* a LogEntry member, not payload */
} GcpEntry;

/*
 * The members of a LogEntry (payload = false) or of its jsonPayload (or
 * of a bare payload).  Payload members we map are noted; the others are
 * extra candidates (a LogEntry's own members only count when the entry has
 * no jsonPayload, i.e. it is itself the payload).
 */
static int
gcp_members(CloudReader *r, GcpEntry *e, int level, bool payload)
{
	bool		first = true;
	int			m;

	while ((m = json_next_member(&r->js, &first)) > 0)
	{
		char		key[MAX_KEY];
		size_t		klen,
					ks,
					ke,
					at;
		int			k = -1;

		if (member_key(r, key, &klen, &ks, &ke) < 0)
			return -1;
		at = r->js.pos;
		if (!payload && key_is(key, klen, "jsonPayload") && at_char(r, at, '{'))
		{
			e->has_payload = true;
			r->js.pos++;
			if (gcp_members(r, e, level + 1, true) < 0)
				return -1;
			continue;
		}
		if (!payload && key_is(key, klen, "logName"))
			e->log_name = at;
		else
			for (int i = 0; i < G_NKEYS; i++)
				if (key_is(key, klen, gcp_keys[i]))
					k = i;
		if (json_skip_value(&r->js, level) < 0)
			return -1;
		if (k >= 0)
		{
			e->at[k] = at;
			e->key_raw[k][0] = ks;
			e->key_raw[k][1] = ke;
			e->value_end[k] = r->js.pos;
		}
		else if (e->log_name != at && !is_empty_value(r, at, r->js.pos))
		{
			if (e->nextra == MAX_EXTRA)
			{
				bad(r, "more than %d unmapped members", MAX_EXTRA);
				continue;
			}
			e->extra_key[e->nextra][0] = ks;
			e->extra_key[e->nextra][1] = ke;
			e->extra_value[e->nextra][0] = at;
			e->extra_value[e->nextra][1] = r->js.pos;
			e->extra_top[e->nextra] = !payload;
			e->nextra++;
		}
	}
	return m;
}

/*
 * Strings of a GCP object (instance, vpc, network_service) into fields;
 * names[i] -> fields[i] (-1: read nothing).  *other: it has members we do
 * not map, so the object is kept in extra too.
 */
static int
gcp_object(CloudReader *r, size_t at, int level, const char *const *names, const int *fields,
		   int n, const char *what, bool *other)
{
	bool		first = true;
	int			m;

	*other = false;
	if (at == 0 || at_char(r, at, 'n'))
		return 0;
	if (!at_char(r, at, '{'))
	{
		bad_in(r, what, "expected an object");
		return 0;
	}
	r->js.pos = at + 1;
	while ((m = json_next_member(&r->js, &first)) > 0)
	{
		char		key[MAX_KEY];
		size_t		klen,
					ks,
					ke,
					vat;
		int			k = -1;

		if (member_key(r, key, &klen, &ks, &ke) < 0)
			return -1;
		vat = r->js.pos;
		for (int i = 0; i < n; i++)
			if (key_is(key, klen, names[i]))
				k = i;
		if (json_skip_value(&r->js, level) < 0)
			return -1;
		if (k < 0 || fields[k] < 0)
		{
			if (k < 0)
				*other = true;
			continue;
		}
		if (fields[k] == FF_DSCP)
		{
			if (!set_int(r, FF_DSCP, vat, true, 63, "network_service.dscp"))
				return -1;
		}
		else if (!flow_row_has(&r->row, fields[k]) && !set_text(r, fields[k], vat, what))
			return -1;
	}
	return m;
}

static int
gcp_entry(CloudReader *r, int level)
{
	static const char *const inst_names[] = {"project_id", "vm_name", "region", "zone"};
	static const int inst_fields[] = {FF_ACCOUNT_ID, FF_INSTANCE_ID, FF_REGION, FF_AZ_ID};
	static const char *const vpc_names[] = {"project_id", "vpc_name", "subnetwork_name",
	"subnetwork_region"};
	static const int vpc_fields[] = {FF_ACCOUNT_ID, FF_VPC_ID, FF_SUBNET_ID, FF_REGION};
	static const char *const conn_keys[] = {"src_ip", "dest_ip", "src_port", "dest_port",
	"protocol"};
	static const char *const ns_names[] = {"dscp"};
	static const int ns_fields[] = {FF_DSCP};
	GcpEntry	e;
	size_t		start = r->js.pos;
	size_t		end;
	size_t		conn[5];
	int			local = -1;
	bool		other;

	memset(&e, 0, sizeof(e));
	r->arena_used = 0;
	row_begin(r, FLOW_PROVIDER_GCP);
	r->js.pos++;
	if (gcp_members(r, &e, level, false) < 0)
		return -1;
	end = r->js.pos;

	if (e.log_name != 0)
	{
		FlowStr		s = {NULL, 0};

		if (arena_string(r, e.log_name, &s) < 0)
			return -1;
		if (s.ptr == NULL || s.len < 9 || memcmp(s.ptr + s.len - 9, "vpc_flows", 9) != 0)
			bad_in(r, "logName", "not a VPC flow log entry (logName must end in vpc_flows)");
		r->arena_used = 0;
	}

	/* the connection */
	if (e.at[G_CONNECTION] == 0 || !at_char(r, e.at[G_CONNECTION], '{'))
		bad_in(r, "connection", "entry has no connection object");
	else
	{
		if (members_at(r, e.at[G_CONNECTION], level + 2, conn_keys, 5, conn) < 0)
			return -1;
		if (!set_addr(r, FF_SRCADDR, conn[0], "connection.src_ip") ||
			!set_addr(r, FF_DSTADDR, conn[1], "connection.dest_ip") ||
			!set_int(r, FF_SRCPORT, conn[2], true, 65535, "connection.src_port") ||
			!set_int(r, FF_DSTPORT, conn[3], true, 65535, "connection.dest_port") ||
			!set_int(r, FF_PROTOCOL, conn[4], true, 255, "connection.protocol"))
			return -1;
	}
	if (!set_int(r, FF_BYTES, e.at[G_BYTES], true, INT64_MAX, "bytes_sent") ||
		!set_int(r, FF_PACKETS, e.at[G_PACKETS], true, INT64_MAX, "packets_sent") ||
		!set_int(r, FF_RTT_MSEC, e.at[G_RTT], true, INT64_MAX, "rtt_msec") ||
		!set_time(r, FF_START, e.at[G_START], "start_time") ||
		!set_time(r, FF_END, e.at[G_END], "end_time"))
		return -1;
	flow_row_set(&r->row, FF_ACTION, FLOW_ACTION_ACCEPT);

	/* reporter: the side whose instance and VPC fill the typed columns */
	if (e.at[G_REPORTER] == 0)
		bad_in(r, "reporter", "entry has no reporter");
	else
	{
		char		rep[8];
		size_t		p = e.at[G_REPORTER],
					n = 0;

		if (!at_char(r, p, '"'))
			n = sizeof(rep);
		else if (json_read_string(&r->js, &p, rep, sizeof(rep), &n, NULL) < 0)
			return -1;
		if (n == 3 && memcmp(rep, "SRC", 3) == 0)
			local = 0;
		else if (n == 4 && memcmp(rep, "DEST", 4) == 0)
			local = 1;
		else
			bad_in(r, "reporter", "reporter must be SRC or DEST");
		if (local >= 0)
			flow_row_set(&r->row, FF_FLOW_DIRECTION, local == 0 ? FLOW_DIR_EGRESS : FLOW_DIR_INGRESS);
	}
	if (local >= 0)
	{
		int			ki = local == 0 ? G_SRC_INSTANCE : G_DEST_INSTANCE;
		int			kv = local == 0 ? G_SRC_VPC : G_DEST_VPC;

		if (gcp_object(r, e.at[ki], level + 2, inst_names, inst_fields, 4, gcp_keys[ki], &other) < 0)
			return -1;
		if (other)
			extra_add(r, r->js.buf + e.key_raw[ki][0], e.key_raw[ki][1] - e.key_raw[ki][0],
					  e.at[ki], e.value_end[ki]);
		if (gcp_object(r, e.at[kv], level + 2, vpc_names, vpc_fields, 4, gcp_keys[kv], &other) < 0)
			return -1;
		if (other)
			extra_add(r, r->js.buf + e.key_raw[kv][0], e.key_raw[kv][1] - e.key_raw[kv][0],
					  e.at[kv], e.value_end[kv]);
	}
	if (gcp_object(r, e.at[G_NETWORK_SERVICE], level + 2, ns_names, ns_fields, 1,
				   "network_service", &other) < 0)
		return -1;
	if (other)
		extra_add(r, r->js.buf + e.key_raw[G_NETWORK_SERVICE][0],
				  e.key_raw[G_NETWORK_SERVICE][1] - e.key_raw[G_NETWORK_SERVICE][0],
				  e.at[G_NETWORK_SERVICE], e.value_end[G_NETWORK_SERVICE]);

	/* the peer's instance and VPC, and unmapped payload members, verbatim */
	for (int k = G_SRC_INSTANCE; k <= G_DEST_VPC; k++)
	{
		bool		is_local = local >= 0 &&
			(k == (local == 0 ? G_SRC_INSTANCE : G_DEST_INSTANCE) ||
			 k == (local == 0 ? G_SRC_VPC : G_DEST_VPC));

		if (e.at[k] != 0 && !is_local && !is_empty_value(r, e.at[k], e.value_end[k]) &&
			!at_char(r, e.at[k], 'n'))
			extra_add(r, r->js.buf + e.key_raw[k][0], e.key_raw[k][1] - e.key_raw[k][0],
					  e.at[k], e.value_end[k]);
	}
	for (int i = 0; i < e.nextra; i++)
		if (!e.extra_top[i] || !e.has_payload)
			extra_add(r, r->js.buf + e.extra_key[i][0], e.extra_key[i][1] - e.extra_key[i][0],
					  e.extra_value[i][0], e.extra_value[i][1]);
	extra_end(r);
	row_end(r, start, end);
	r->js.pos = end;
	return 0;
}

/* ---------------------------------------------------------------- Azure */

/* What a record gives every one of its tuples. */
typedef struct AzureContext
{
	int			provider;
	int			version;
	FlowStr		subscription;
	FlowStr		resource;
	FlowStr		mac;
	FlowStr		rule;
	size_t		acl_at[2];		/* VNet aclID, raw value span */
} AzureContext;

/* "000D3AF87856" -> "00-0D-3A-F8-78-56" (in the arena); other text as is. */
static FlowStr
normalize_mac(CloudReader *r, FlowStr m)
{
	FlowStr		out = m;
	char	   *d;

	if (m.len != 12 || CLOUD_ARENA_SIZE - r->arena_used < 17)
		return m;
	for (int i = 0; i < 12; i++)
	{
		char		c = m.ptr[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return m;
	}
	d = r->arena + r->arena_used;
	for (int i = 0, j = 0; i < 12; i++)
	{
		char		c = m.ptr[i];

		d[j++] = (c >= 'a' && c <= 'f') ? (char) (c - 'a' + 'A') : c;
		if (i % 2 == 1 && i < 11)
			d[j++] = '-';
	}
	out.ptr = d;
	out.len = 17;
	r->arena_used += 17;
	return out;
}

/* The subscription GUID of an Azure resource id, lowercased, in the arena. */
static FlowStr
subscription_of(CloudReader *r, FlowStr id)
{
	static const char marker[] = "/subscriptions/";
	FlowStr		out = {NULL, 0};
	size_t		ml = sizeof(marker) - 1;

	for (size_t i = 0; i + ml <= id.len; i++)
	{
		size_t		k = 0;

		while (k < ml && (id.ptr[i + k] | 0x20) == (marker[k] | (marker[k] == '/' ? 0 : 0x20)))
			k++;
		if (k == ml)
		{
			size_t		s = i + ml,
						e = s;
			char	   *d;

			while (e < id.len && id.ptr[e] != '/')
				e++;
			if (e == s || CLOUD_ARENA_SIZE - r->arena_used < e - s)
				return out;
			d = r->arena + r->arena_used;
			for (size_t j = s; j < e; j++)
				d[j - s] = (id.ptr[j] >= 'A' && id.ptr[j] <= 'Z') ? (char) (id.ptr[j] | 0x20) : id.ptr[j];
			out.ptr = d;
			out.len = (uint32_t) (e - s);
			r->arena_used += e - s;
			return out;
		}
	}
	return out;
}

static void
ctx_text(CloudReader *r, int f, FlowStr s)
{
	if (s.ptr != NULL && s.len > 0)
	{
		r->row.v[f].str = s;
		r->row.present[f >> 6] |= UINT64_C(1) << (f & 63);
	}
}

/* Split a tuple at commas: up to 16 fields. */
static int
split_commas(const char *s, size_t len, FlowStr *f, int max)
{
	int			n = 0;
	size_t		b = 0;

	for (size_t i = 0; i <= len; i++)
		if (i == len || s[i] == ',')
		{
			if (n == max)
				return max + 1;
			f[n].ptr = s + b;
			f[n].len = (uint32_t) (i - b);
			n++;
			b = i + 1;
		}
	return n;
}

static bool
num(FlowStr t, uint64_t max, uint64_t *v)
{
	uint64_t	u = 0;

	if (t.len == 0 || t.len > 20)
		return false;
	for (uint32_t i = 0; i < t.len; i++)
	{
		unsigned	d = (unsigned) (t.ptr[i] - '0');

		if (d > 9 || u > (max - d) / 10)
			return false;
		u = u * 10 + d;
	}
	*v = u;
	return true;
}

static bool
is1(FlowStr t, char c)
{
	return t.len == 1 && t.ptr[0] == c;
}

/* An optional counter: empty is NULL (v2 "B" tuples). */
static void
counter(CloudReader *r, int f, FlowStr t, const char *name)
{
	uint64_t	v;

	if (t.len == 0)
		return;
	if (!num(t, INT64_MAX, &v))
	{
		bad_in(r, name, "invalid counter: expected a non-negative integer");
		return;
	}
	flow_row_set(&r->row, f, (int64_t) v);
}

/*
 * One flowTuples string, decoded, into the row (on top of the record's
 * context).  NSG v1: ts,src,dst,sport,dport,T|U,I|O,A|D; v2 adds
 * B|C|E and four counters.  VNet v4: ts_ms,src,dst,sport,dport,proto,
 * I|O,B|C|E|D,encryption, four counters.  The layout follows from the
 * sixth field (T/U or an IANA number), so a tuple read without its record
 * (text lines) is still placed right.
 */
static void
azure_tuple(CloudReader *r, const AzureContext *ctx, const char *s, size_t len)
{
	FlowStr		t[16];
	int			n = split_commas(s, len, t, 15);
	bool		vnet;
	uint64_t	v;

	if (n < 8)
	{
		bad_in(r, NULL, "flow tuple has fewer than 8 fields");
		return;
	}
	vnet = t[5].len > 0 && t[5].ptr[0] >= '0' && t[5].ptr[0] <= '9';
	if (vnet ? n != 13 : (n != 8 && n != 13))
	{
		bad(r, "flow tuple has %d fields; %s", n,
			vnet ? "VNet flow log tuples have 13" : "NSG flow log tuples have 8 (v1) or 13 (v2)");
		return;
	}
	flow_row_set(&r->row, FF_PROVIDER, vnet ? FLOW_PROVIDER_AZURE_VNET : FLOW_PROVIDER_AZURE_NSG);
	if (vnet)
		flow_row_set(&r->row, FF_VERSION, ctx != NULL && ctx->version > 0 ? ctx->version : 4);
	if (ctx != NULL)
	{
		ctx_text(r, FF_ACCOUNT_ID, ctx->subscription);
		ctx_text(r, FF_RESOURCE_ID, ctx->resource);
		ctx_text(r, FF_INTERFACE_ID, ctx->mac);
		ctx_text(r, FF_RULE_NAME, ctx->rule);
	}

	/*
	 * Time: Unix seconds (NSG) or milliseconds (VNet); a VNet value too
	 * small for milliseconds after 1973 is taken as seconds (the docs'
	 * bandwidth example has them), by the same rule as AWS start/end.
	 */
	if (!num(t[0], 253402300799999ULL, &v))
	{
		bad_in(r, "timestamp", "invalid timestamp: expected Unix seconds or milliseconds");
		return;
	}
	flow_row_set(&r->row, FF_START, v > 99999999999ULL ? (int64_t) v * 1000 : (int64_t) v * 1000000);
	if (!flow_parse_addr(t[1].ptr, t[1].len, &r->row.v[FF_SRCADDR].addr))
		bad_in(r, "srcaddr", "invalid source IP address");
	else
		r->row.present[FF_SRCADDR >> 6] |= UINT64_C(1) << (FF_SRCADDR & 63);
	if (!flow_parse_addr(t[2].ptr, t[2].len, &r->row.v[FF_DSTADDR].addr))
		bad_in(r, "dstaddr", "invalid destination IP address");
	else
		r->row.present[FF_DSTADDR >> 6] |= UINT64_C(1) << (FF_DSTADDR & 63);
	for (int i = 3; i <= 4; i++)
	{
		if (t[i].len == 0)
			continue;
		if (!num(t[i], 65535, &v))
			bad_in(r, i == 3 ? "srcport" : "dstport", "invalid port: expected an integer 0..65535");
		else
			flow_row_set(&r->row, i == 3 ? FF_SRCPORT : FF_DSTPORT, (int64_t) v);
	}
	if (vnet)
	{
		if (!num(t[5], 255, &v))
			bad_in(r, "protocol", "invalid protocol: expected an integer 0..255");
		else
			flow_row_set(&r->row, FF_PROTOCOL, (int64_t) v);
	}
	else if (is1(t[5], 'T') || is1(t[5], 'U'))
		flow_row_set(&r->row, FF_PROTOCOL, t[5].ptr[0] == 'T' ? 6 : 17);
	else
		bad_in(r, "protocol", "invalid protocol: expected T or U");
	if (is1(t[6], 'I') || is1(t[6], 'O'))
		flow_row_set(&r->row, FF_FLOW_DIRECTION, t[6].ptr[0] == 'I' ? FLOW_DIR_INGRESS : FLOW_DIR_EGRESS);
	else
		bad_in(r, "direction", "invalid direction: expected I or O");

	if (!vnet)
	{
		if (is1(t[7], 'A') || is1(t[7], 'D'))
			flow_row_set(&r->row, FF_ACTION, t[7].ptr[0] == 'A' ? FLOW_ACTION_ACCEPT : FLOW_ACTION_REJECT);
		else
			bad_in(r, "decision", "invalid decision: expected A or D");
		if (n == 13)
		{
			if (is1(t[8], 'B') || is1(t[8], 'C') || is1(t[8], 'E'))
				ctx_text(r, FF_FLOW_STATE, t[8]);
			else
				bad_in(r, "state", "invalid flow state: expected B, C or E");
		}
		/* the tuple's layout is its version, whatever the record says */
		flow_row_set(&r->row, FF_VERSION, n == 13 ? 2 : 1);
	}
	else
	{
		if (is1(t[7], 'B') || is1(t[7], 'C') || is1(t[7], 'E') || is1(t[7], 'D'))
		{
			ctx_text(r, FF_FLOW_STATE, t[7]);
			flow_row_set(&r->row, FF_ACTION, t[7].ptr[0] == 'D' ? FLOW_ACTION_REJECT : FLOW_ACTION_ACCEPT);
		}
		else
			bad_in(r, "state", "invalid flow state: expected B, C, E or D");
		/* X: encrypted; NX and NX_<reason>: not (the reason kept in extra) */
		if (is1(t[8], 'X'))
			flow_row_set(&r->row, FF_ENCRYPTION_STATUS, 1);
		else if (t[8].len >= 2 && t[8].ptr[0] == 'N' && t[8].ptr[1] == 'X')
			flow_row_set(&r->row, FF_ENCRYPTION_STATUS, 0);
		else
			bad_in(r, "encryption", "invalid encryption: expected X, NX or NX_<reason>");
	}
	if (n == 13)
	{
		counter(r, FF_PACKETS, t[9], "packets_s2d");
		counter(r, FF_BYTES, t[10], "bytes_s2d");
		counter(r, FF_REVERSE_PACKETS, t[11], "packets_d2s");
		counter(r, FF_REVERSE_BYTES, t[12], "bytes_d2s");
	}
	if (ctx != NULL && ctx->acl_at[0] != 0)
		extra_add(r, "\"acl_id\"", 8, ctx->acl_at[0], ctx->acl_at[1]);
	if (vnet && t[8].len > 2)
	{
		/* NX_<reason>: its text is a plain token, quoted as is */
		bool		plain = true;

		for (uint32_t i = 0; i < t[8].len; i++)
			if (!((t[8].ptr[i] >= 'A' && t[8].ptr[i] <= 'Z') || t[8].ptr[i] == '_' ||
				  (t[8].ptr[i] >= '0' && t[8].ptr[i] <= '9')))
				plain = false;
		if (plain && r->extra_len + t[8].len + 20 < CLOUD_EXTRA_SIZE)
		{
			r->extra[r->extra_len] = r->extra_len == 0 ? '{' : ',';
			r->extra_len++;
			memcpy(r->extra + r->extra_len, "\"encryption\":\"", 14);
			r->extra_len += 14;
			memcpy(r->extra + r->extra_len, t[8].ptr, t[8].len);
			r->extra_len += t[8].len;
			r->extra[r->extra_len++] = '"';
		}
		else if (!plain)
			bad_in(r, "encryption", "invalid encryption: expected X, NX or NX_<reason>");
	}
	extra_end(r);
}

/* Each string of a flowTuples array at at, as a row. */
static int
azure_tuples(CloudReader *r, AzureContext *ctx, size_t at, int level)
{
	bool		first = true;
	int			m;
	size_t		arena_mark = r->arena_used;

	if (!at_char(r, at, '['))
	{
		row_begin(r, ctx->provider);
		bad_in(r, "flowTuples", "flowTuples is not an array");
		/* reported against the array's value; its extent is one byte */
		row_end(r, at, at < r->js.len ? at + 1 : at);
		return 0;
	}
	r->js.pos = at + 1;
	while ((m = json_next_element(&r->js, &first)) > 0)
	{
		size_t		s = r->js.pos;
		char		tup[512];
		size_t		n;

		r->arena_used = arena_mark;
		row_begin(r, ctx->provider);
		if (!at_char(r, s, '"'))
		{
			if (json_skip_value(&r->js, level) < 0)
				return -1;
			bad_in(r, "flowTuples", "flow tuple is not a string");
		}
		else
		{
			if (json_read_string(&r->js, &r->js.pos, tup, sizeof(tup), &n, "a flow tuple") < 0)
				return -1;
			if (n >= sizeof(tup))
				bad_in(r, "flowTuples", "flow tuple longer than 511 bytes");
			else
				azure_tuple(r, ctx, tup, n);
		}
		{
			size_t		e = r->js.pos;

			row_end(r, s, e);
			r->js.pos = e;
		}
	}
	return m;
}

/* Each element of the array at at (objects only) through fn. */
typedef int (*ElementFn) (CloudReader *r, AzureContext *ctx, size_t at, int level);

static int
each_object(CloudReader *r, AzureContext *ctx, size_t at, int level, const char *what,
			ElementFn fn)
{
	bool		first = true;
	int			m;

	if (!at_char(r, at, '['))
	{
		row_begin(r, ctx->provider);
		bad_in(r, what, "expected an array");
		row_end(r, at, at + 1);
		return 0;
	}
	r->js.pos = at + 1;
	while ((m = json_next_element(&r->js, &first)) > 0)
	{
		size_t		s = r->js.pos;
		size_t		e;
		bool		blob_record = r->in_blob_records;

		if (json_skip_value(&r->js, level) < 0)
			return -1;
		e = r->js.pos;
		if (blob_record)
		{
			/* a record of the blob: skipped when an earlier copy had it */
			if (e <= r->resume_at)
			{
				r->skipped_records++;
				r->records_end = e;
				continue;
			}
			r->in_blob_records = false;
		}
		if (!at_char(r, s, '{'))
		{
			row_begin(r, ctx->provider);
			bad_in(r, what, "expected an object");
			row_end(r, s, e);
		}
		else if (fn(r, ctx, s, level + 1) < 0)
			return -1;
		if (blob_record)
		{
			r->in_blob_records = true;
			r->records_end = e;
		}
		r->js.pos = e;
	}
	return m;
}

/* NSG: {"mac": ..., "flowTuples": [...]} */
static int
nsg_mac_group(CloudReader *r, AzureContext *ctx, size_t at, int level)
{
	static const char *const keys[] = {"mac", "flowTuples"};
	size_t		v[2];
	size_t		mark = r->arena_used;
	FlowStr		mac = {NULL, 0};
	int			rc;

	if (members_at(r, at, level, keys, 2, v) < 0)
		return -1;
	if (v[0] != 0 && (rc = arena_string(r, v[0], &mac)) < 0)
		return -1;
	ctx->mac = mac.ptr ? normalize_mac(r, mac) : mac;
	if (v[1] == 0)
		return 0;
	rc = azure_tuples(r, ctx, v[1], level + 1);
	r->arena_used = mark;
	return rc;
}

/* NSG: {"rule": ..., "flows": [{mac group}...]} */
static int
nsg_rule(CloudReader *r, AzureContext *ctx, size_t at, int level)
{
	static const char *const keys[] = {"rule", "flows"};
	size_t		v[2];
	size_t		mark = r->arena_used;
	FlowStr		rule = {NULL, 0};
	int			rc;

	if (members_at(r, at, level, keys, 2, v) < 0)
		return -1;
	if (v[0] != 0 && arena_string(r, v[0], &rule) < 0)
		return -1;
	ctx->rule = rule;
	if (v[1] == 0)
		return 0;
	rc = each_object(r, ctx, v[1], level + 1, "flows", nsg_mac_group);
	r->arena_used = mark;
	return rc;
}

/* VNet: {"rule": ..., "flowTuples": [...]} */
static int
vnet_group(CloudReader *r, AzureContext *ctx, size_t at, int level)
{
	static const char *const keys[] = {"rule", "flowTuples"};
	size_t		v[2];
	size_t		mark = r->arena_used;
	FlowStr		rule = {NULL, 0};
	int			rc;

	if (members_at(r, at, level, keys, 2, v) < 0)
		return -1;
	if (v[0] != 0 && arena_string(r, v[0], &rule) < 0)
		return -1;
	ctx->rule = rule;
	if (v[1] == 0)
		return 0;
	rc = azure_tuples(r, ctx, v[1], level + 1);
	r->arena_used = mark;
	return rc;
}

/* VNet: {"aclID": ..., "flowGroups": [...]} */
static int
vnet_flow(CloudReader *r, AzureContext *ctx, size_t at, int level)
{
	static const char *const keys[] = {"aclID", "flowGroups"};
	size_t		v[2];

	if (members_at(r, at, level, keys, 2, v) < 0)
		return -1;
	ctx->acl_at[0] = 0;
	if (v[0] != 0 && at_char(r, v[0], '"'))
	{
		size_t		p = v[0];
		size_t		n;

		if (json_read_string(&r->js, &p, NULL, 0, &n, NULL) < 0)
			return -1;
		ctx->acl_at[0] = v[0];
		ctx->acl_at[1] = p;
	}
	if (v[1] == 0)
		return 0;
	return each_object(r, ctx, v[1], level + 1, "flowGroups", vnet_group);
}

enum
{
	A_RECORDS, A_PROPERTIES, A_FLOW_RECORDS, A_RESOURCE_ID, A_TARGET_ID, A_MAC, A_FLV,
	A_NKEYS
};

/*
 * An object of an Azure document: a {"records": [...]} container (top
 * level only) or one record.  A record holding "records" itself (one docs
 * sample nests a copy of the blob inside its records array) is quarantined
 * whole: its records duplicate the blob's own, so loading them would
 * count those flows twice.
 */
static int
azure_object(CloudReader *r, size_t at, int level, bool top);

static int
azure_record_elem(CloudReader *r, AzureContext *ctx, size_t at, int level)
{
	(void) ctx;
	return azure_object(r, at, level, false);
}

static int
azure_object(CloudReader *r, size_t at, int level, bool top)
{
	static const char *const keys[A_NKEYS] = {
		"records", "properties", "flowRecords", "resourceId", "targetResourceID",
		"macAddress", "flowLogVersion"
	};
	size_t		v[A_NKEYS];
	size_t		end;
	AzureContext ctx;
	FlowStr		s;
	int64_t		ver = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.provider = r->provider;
	if (members_at(r, at, level, keys, A_NKEYS, v) < 0)
		return -1;
	end = r->js.pos;
	r->arena_used = 0;

	if (v[A_RECORDS] != 0 && v[A_PROPERTIES] == 0 && v[A_FLOW_RECORDS] == 0)
	{
		if (!top)
		{
			row_begin(r, r->provider);
			bad_in(r, "records", "a record holds a nested \"records\" array (not a flow-log "
				   "record; its records would duplicate the blob's own): not loaded");
			row_end(r, at, end);
			r->js.pos = end;
			return 0;
		}
		/* the blob shape (PT1H.json) when it is the whole document */
		r->in_blob_records = (level == 1 && at == r->first_value);
		if (each_object(r, &ctx, v[A_RECORDS], level + 1, "records", azure_record_elem) < 0)
			return -1;
		r->in_blob_records = false;
		r->js.pos = end;
		return 0;
	}

	if (v[A_PROPERTIES] == 0 && v[A_FLOW_RECORDS] == 0)
	{
		row_begin(r, r->provider);
		bad_in(r, NULL, "not an Azure flow-log record: it has neither properties (NSG) "
			   "nor flowRecords (VNet)");
		row_end(r, at, end);
		r->js.pos = end;
		return 0;
	}

	if (v[A_FLOW_RECORDS] != 0)
	{
		static const char *const fk[] = {"flows"};
		size_t		flows;

		ctx.provider = FLOW_PROVIDER_AZURE_VNET;
		ctx.version = 4;
		if (v[A_FLV] != 0 && int_value(r, v[A_FLV], true, 255, &ver) == 1)
			ctx.version = (int) ver;
		if (v[A_TARGET_ID] != 0 && arena_string(r, v[A_TARGET_ID], &s) == 1)
		{
			ctx.resource = s;
			ctx.subscription = subscription_of(r, s);
		}
		if (v[A_MAC] != 0 && arena_string(r, v[A_MAC], &s) == 1)
			ctx.mac = normalize_mac(r, s);
		if (members_at(r, v[A_FLOW_RECORDS], level + 1, fk, 1, &flows) < 0)
			return -1;
		if (flows != 0 &&
			each_object(r, &ctx, flows, level + 2, "flowRecords.flows", vnet_flow) < 0)
			return -1;
	}
	else
	{
		static const char *const pk[] = {"Version", "flows"};
		size_t		p[2];

		ctx.provider = FLOW_PROVIDER_AZURE_NSG;
		if (v[A_RESOURCE_ID] != 0 && arena_string(r, v[A_RESOURCE_ID], &s) == 1)
		{
			ctx.resource = s;
			ctx.subscription = subscription_of(r, s);
		}
		if (members_at(r, v[A_PROPERTIES], level + 1, pk, 2, p) < 0)
			return -1;
		if (p[0] != 0 && int_value(r, p[0], true, 255, &ver) == 1)
			ctx.version = (int) ver;
		if (p[1] != 0 &&
			each_object(r, &ctx, p[1], level + 2, "properties.flows", nsg_rule) < 0)
			return -1;
	}
	r->js.pos = end;
	return 0;
}

/* Bare flowTuples strings, one per line (no record around them). */
static void
azure_tuple_lines(CloudReader *r)
{
	const char *b = r->js.buf;
	size_t		p = r->js.pos;

	while (p < r->js.len)
	{
		const char *nl = memchr(b + p, '\n', r->js.len - p);
		size_t		e = nl ? (size_t) (nl - b) : r->js.len;
		size_t		s = p,
					te = e;

		while (s < te && (b[s] == ' ' || b[s] == '\t'))
			s++;
		while (te > s && (b[te - 1] == ' ' || b[te - 1] == '\t' || b[te - 1] == '\r'))
			te--;
		if (te > s)
		{
			/* a quoted tuple, as copied out of a JSON array, is fine too */
			if (te - s >= 2 && b[s] == '"' && b[te - 1] == '"')
				s++, te--;
			row_begin(r, r->provider);
			azure_tuple(r, NULL, b + s, te - s);
			row_end(r, p, e);
		}
		p = e + 1;
	}
	r->js.pos = r->js.len;
}

/* ---------------------------------------------------------------- documents */

static int
top_value(CloudReader *r, int level)
{
	if (r->provider == FLOW_PROVIDER_GCP)
		return gcp_entry(r, level);
	return azure_object(r, r->js.pos, level, true);
}

int
cloud_parse(CloudReader *r, int provider, const char *buf, size_t len,
			size_t resume_at, CloudRowFn row_fn, CloudBadFn bad_fn, void *arg)
{
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
		azure_tuple_lines(r);
		return 0;
	}
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
				if (!at_char(r, r->js.pos, '{'))
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
			if (top_value(r, 1) < 0)
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
	n = split_commas(s, l, t, 15);
	if ((n != 8 && n != 13) || !num(t[0], UINT64_MAX / 2, &v) ||
		!flow_parse_addr(t[1].ptr, t[1].len, &a) || !flow_parse_addr(t[2].ptr, t[2].len, &a))
		return 0;
	if (t[5].len > 0 && t[5].ptr[0] >= '0' && t[5].ptr[0] <= '9')
		return n == 13 ? FLOW_PROVIDER_AZURE_VNET : 0;
	return FLOW_PROVIDER_AZURE_NSG;
}

int
cloud_detect(const char *buf, size_t len)
{
	size_t		p = 0;
	size_t		n = len < 65536 ? len : 65536;

	if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		p = 3;
	while (p < n && (buf[p] == ' ' || buf[p] == '\t' || buf[p] == '\n' || buf[p] == '\r'))
		p++;
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
