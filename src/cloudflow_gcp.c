/*
 * cloudflow_gcp.c
 *		GCP VPC Flow Logs: one Cloud Logging entry (or bare jsonPayload)
 *		into a row (see cloudflow.h; the mapping is in docs/providers.md).
 *
 * One pass over the entry: the members of the small objects we map
 * (connection, the instances, VPCs and locations, network_service) are
 * noted as the
 * pass meets them, so no object is scanned twice; keys are compared in
 * place, in the document.  The values noted are read afterwards, once the
 * reporter (which may come last) says which end is which.
 */
#include "cloudflow_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_EXTRA	32			/* extra candidates per entry */
#define MAX_OBJ_KEYS 5			/* members noted per mapped object */

/* The payload members we map. */
enum
{
	G_CONNECTION, G_BYTES, G_PACKETS, G_RTT, G_START, G_END, G_REPORTER,
	G_SRC_INSTANCE, G_DEST_INSTANCE, G_SRC_VPC, G_DEST_VPC, G_NETWORK_SERVICE,
	G_SRC_LOCATION, G_DEST_LOCATION,
	G_NKEYS
};
static const char *const gcp_keys[G_NKEYS] = {
	"connection", "bytes_sent", "packets_sent", "rtt_msec", "start_time", "end_time",
	"reporter", "src_instance", "dest_instance", "src_vpc", "dest_vpc", "network_service",
	"src_location", "dest_location"
};

/* The members noted in each mapped object, by its kind. */
enum
{
	O_NONE, O_CONNECTION, O_INSTANCE, O_VPC, O_NETWORK_SERVICE, O_LOCATION
};
typedef struct Name
{
	const char *s;
	size_t		len;
} Name;

#define N(s) {s, sizeof(s) - 1}
static const Name conn_names[] = {N("src_ip"), N("dest_ip"), N("src_port"), N("dest_port"),
N("protocol"), {NULL, 0}};
static const Name inst_names[] = {N("project_id"), N("vm_name"), N("region"), N("zone"), {NULL, 0}};
static const Name vpc_names[] = {N("project_id"), N("vpc_name"), N("subnetwork_name"),
N("subnetwork_region"), {NULL, 0}};
static const Name ns_names[] = {N("dscp"), {NULL, 0}};
static const Name loc_names[] = {N("asn"), N("country"), N("continent"), N("region"), N("city"),
{NULL, 0}};
#undef N

/* A payload member we map: where its key and value are. */
typedef struct GcpMember
{
	size_t		at;				/* value offset, 0 = absent */
	size_t		key_raw[2];
	size_t		value_end;
	/* an object of a kind we map: its members' value offsets */
	bool		scanned;
	bool		other;			/* it has members we do not map */
	size_t		sub[MAX_OBJ_KEYS];
	size_t		sub_end[MAX_OBJ_KEYS];	/* a plain string's closing quote, or 0 */
} GcpMember;

typedef struct GcpEntry
{
	GcpMember	m[G_NKEYS];
	size_t		log_name;
	bool		has_payload;
	int			nextra;			/* members kept verbatim in extra */
	size_t		extra_key[MAX_EXTRA][2];
	size_t		extra_value[MAX_EXTRA][2];
	bool		extra_top[MAX_EXTRA];	/* a LogEntry member, not payload */
} GcpEntry;

static int
object_kind(int k)
{
	switch (k)
	{
		case G_CONNECTION:
			return O_CONNECTION;
		case G_SRC_INSTANCE:
		case G_DEST_INSTANCE:
			return O_INSTANCE;
		case G_SRC_VPC:
		case G_DEST_VPC:
			return O_VPC;
		case G_NETWORK_SERVICE:
			return O_NETWORK_SERVICE;
		case G_SRC_LOCATION:
		case G_DEST_LOCATION:
			return O_LOCATION;
	}
	return O_NONE;
}

static const Name *
object_names(int kind)
{
	switch (kind)
	{
		case O_CONNECTION:
			return conn_names;
		case O_INSTANCE:
			return inst_names;
		case O_VPC:
			return vpc_names;
		case O_NETWORK_SERVICE:
			return ns_names;
		case O_LOCATION:
			return loc_names;
	}
	return NULL;
}

/*
 * key[0..klen) equals name, by length and first byte first; the names are
 * short, so a loop beats a call to memcmp
 */
static inline bool
key_eq(const char *key, size_t klen, const char *name, size_t nlen)
{
	if (klen != nlen || (nlen > 0 && key[0] != name[0]))
		return false;
	for (size_t i = 1; i < nlen; i++)
		if (key[i] != name[i])
			return false;
	return true;
}

/* The payload member a key names, or -1. */
static int
payload_key(const char *key, size_t klen)
{
	switch (klen)
	{
		case 7:
			return key_eq(key, klen, "src_vpc", 7) ? G_SRC_VPC : -1;
		case 8:
			if (key_eq(key, klen, "end_time", 8))
				return G_END;
			if (key_eq(key, klen, "rtt_msec", 8))
				return G_RTT;
			if (key_eq(key, klen, "reporter", 8))
				return G_REPORTER;
			if (key_eq(key, klen, "dest_vpc", 8))
				return G_DEST_VPC;
			return -1;
		case 10:
			if (key_eq(key, klen, "connection", 10))
				return G_CONNECTION;
			if (key_eq(key, klen, "bytes_sent", 10))
				return G_BYTES;
			if (key_eq(key, klen, "start_time", 10))
				return G_START;
			return -1;
		case 12:
			if (key_eq(key, klen, "packets_sent", 12))
				return G_PACKETS;
			if (key_eq(key, klen, "src_instance", 12))
				return G_SRC_INSTANCE;
			if (key_eq(key, klen, "src_location", 12))
				return G_SRC_LOCATION;
			return -1;
		case 13:
			if (key_eq(key, klen, "dest_instance", 13))
				return G_DEST_INSTANCE;
			if (key_eq(key, klen, "dest_location", 13))
				return G_DEST_LOCATION;
			return -1;
		case 15:
			return key_eq(key, klen, "network_service", 15) ? G_NETWORK_SERVICE : -1;
	}
	return -1;
}

/* A number starts at js.pos: json_skip_value would only skip the number. */
static inline bool
value_is_number(const CloudReader *r)
{
	char		c;

	if (r->js.pos >= r->js.len)
		return false;
	c = r->js.buf[r->js.pos];
	return c == '-' || (c >= '0' && c <= '9');
}

/*
 * The members of a mapped object whose '{' is at js.pos: the value offsets
 * of names[] into sub[] (the last of duplicates wins), *other when it has
 * any other member.  Everything is validated; js.pos ends after the '}'.
 */
static int
object_members(CloudReader *r, int level, const Name *names, size_t *sub, size_t *sub_end,
			   bool *other)
{
	bool		first = true;
	int			m;

	*other = false;
	for (int i = 0; i < MAX_OBJ_KEYS; i++)
		sub[i] = sub_end[i] = 0;
	r->js.pos++;
	while ((m = json_next_member(&r->js, &first)) > 0)
	{
		char		buf[MAX_KEY];
		const char *key;
		size_t		klen;
		int			i;

		if (json_member_key(&r->js, &key, &klen, buf, sizeof(buf)) < 0)
			return -1;
		for (i = 0; names[i].s != NULL; i++)
			if (key_eq(key, klen, names[i].s, names[i].len))
				break;
		if (names[i].s != NULL)
		{
			sub[i] = r->js.pos;
			sub_end[i] = 0;
		}
		else
			*other = true;
		if (r->js.pos < r->js.len && r->js.buf[r->js.pos] == '"')
		{
			/* a plain string's end is noted, for the value to be used in place */
			const unsigned char *b = (const unsigned char *) r->js.buf;
			size_t		q = r->js.pos + 1 + json_plain_run(b, r->js.pos + 1, r->js.len);

			if (q < r->js.len && b[q] == '"')
			{
				if (names[i].s != NULL)
					sub_end[i] = q;
				r->js.pos = q + 1;
			}
			else if (json_skip_string(&r->js, &r->js.pos) < 0)
				return -1;
		}
		else if (value_is_number(r))
		{
			if (json_skip_number(&r->js) < 0)
				return -1;
		}
		else if (json_skip_value(&r->js, level) < 0)
			return -1;
	}
	return m;
}

/*
 * The members of a LogEntry (payload = false) or of its jsonPayload (or
 * of a bare payload), js.pos just after its '{'.  Payload members we map
 * are noted; the others are extra candidates (a LogEntry's own members
 * only count when the entry has no jsonPayload, i.e. it is itself the
 * payload).
 */
static int
gcp_members(CloudReader *r, GcpEntry *e, int level, bool payload)
{
	bool		first = true;
	int			m;

	while ((m = json_next_member(&r->js, &first)) > 0)
	{
		char		buf[MAX_KEY];
		const char *key;
		size_t		klen,
					ks = r->js.pos,
					ke,
					at;
		int			k;
		int			kind;

		if (json_member_key(&r->js, &key, &klen, buf, sizeof(buf)) < 0)
			return -1;
		/* the raw key: its quotes and bytes, before the ':' */
		ke = (key == buf) ? 0 : (size_t) (key - r->js.buf) + klen + 1;
		at = r->js.pos;
		if (ke == 0)
		{
			/* an escaped key: find its end again for the raw span */
			size_t		p = ks;

			if (json_skip_string(&r->js, &p) < 0)
				return -1;
			ke = p;
		}
		if (!payload && key_eq(key, klen, "jsonPayload", 11) && cf_at_char(r, at, '{'))
		{
			e->has_payload = true;
			r->js.pos++;
			if (gcp_members(r, e, level + 1, true) < 0)
				return -1;
			continue;
		}
		if (!payload && key_eq(key, klen, "logName", 7))
		{
			e->log_name = at;
			k = -1;
		}
		else
			k = payload_key(key, klen);
		kind = k >= 0 ? object_kind(k) : O_NONE;
		if (kind != O_NONE && cf_at_char(r, at, '{'))
		{
			if (object_members(r, level + 1, object_names(kind), e->m[k].sub, e->m[k].sub_end,
							   &e->m[k].other) < 0)
				return -1;
			e->m[k].scanned = true;
		}
		else
		{
			if (k >= 0)
				e->m[k].scanned = false;
			if (cf_at_char(r, at, '"'))
			{
				if (json_skip_string(&r->js, &r->js.pos) < 0)
					return -1;
			}
			else if (value_is_number(r))
			{
				if (json_skip_number(&r->js) < 0)
					return -1;
			}
			else if (json_skip_value(&r->js, level) < 0)
				return -1;
		}
		if (k >= 0)
		{
			e->m[k].at = at;
			e->m[k].key_raw[0] = ks;
			e->m[k].key_raw[1] = ke;
			e->m[k].value_end = r->js.pos;
		}
		else if (e->log_name != at && !cf_is_empty_value(r, at, r->js.pos))
		{
			if (e->nextra == MAX_EXTRA)
			{
				cf_bad(r, "more than %d unmapped members", MAX_EXTRA);
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

/* Keep a payload member verbatim in extra. */
static void
keep_member(CloudReader *r, const GcpMember *m)
{
	cf_extra_add(r, r->js.buf + m->key_raw[0], m->key_raw[1] - m->key_raw[0], m->at,
				 m->value_end);
}

/*
 * A text or id field from the value at at: 1 when it was read (absent,
 * null and "" are no value), 0 when it is not a string (of at most 16 kB),
 * -1 on malformed JSON.  When the field already has a value, this one is
 * not stored; *differs tells whether it was another value.
 */
static int
text_once(CloudReader *r, int f, size_t at, size_t plain_end, bool *differs)
{
	size_t		mark = r->arena_used;
	FlowStr		s;
	int			rc;

	if (plain_end != 0)
	{
		/* a plain string: its bytes, as cf_arena_string would give them */
		if (plain_end - at - 1 >= CLOUD_ARENA_SIZE - r->arena_used)
			return 0;
		s.ptr = r->js.buf + at + 1;
		s.len = (uint32_t) (plain_end - at - 1);
	}
	else if (at == 0 || cf_at_char(r, at, 'n'))
		return 1;
	else if ((rc = cf_arena_string(r, at, &s)) <= 0)
		return rc;
	if (s.len == 0)
		return 1;
	if (!flow_row_has(&r->row, f))
	{
		r->row.v[f].str = s;
		r->row.present[f >> 6] |= UINT64_C(1) << (f & 63);
		return 1;
	}
	if (s.len != r->row.v[f].str.len || memcmp(s.ptr, r->row.v[f].str.ptr, s.len) != 0)
		*differs = true;
	r->arena_used = mark;
	return 1;
}

/*
 * Fields from a mapped instance, VPC, location or network_service object
 * (noted by the pass) into fields[] (by member, up to FF_COUNT); what and
 * int_field name the object and its integer member in errors.  The object
 * is kept whole in extra when it has members we do not map, or a value its
 * column already holds differently (a shared VPC's host project, say).
 * The reporter's objects and network_service must be well typed (strict);
 * a peer's value that is not an object, or a member of the wrong type, is
 * kept in extra as it is instead, as all peer values were before they had
 * columns.
 */
static bool
gcp_object(CloudReader *r, const GcpMember *m, const int *fields, const char *what,
		   const char *int_field, bool strict)
{
	bool		keep;

	if (m->at == 0 || cf_at_char(r, m->at, 'n'))
		return true;
	if (!m->scanned)
	{
		if (strict)
			cf_bad_in(r, what, "expected an object");
		else
			keep_member(r, m);
		return true;
	}
	keep = m->other;
	for (int i = 0; i < MAX_OBJ_KEYS && fields[i] != FF_COUNT; i++)
	{
		int			f = fields[i];
		int			rc;

		if (m->sub[i] == 0 || cf_at_char(r, m->sub[i], 'n'))
			continue;
		if (flow_fields[f].kind == FK_INT16 || flow_fields[f].kind == FK_INT64)
		{
			/* dscp is six bits; an AS number fits in 32 */
			int64_t		max = f == FF_DSCP ? 63 : INT64_C(4294967295);
			int64_t		v;

			rc = cf_int_value(r, m->sub[i], true, max, &v);
			if (rc > 0)
				flow_row_set(&r->row, f, v);
			else if (rc == 0 && strict)
			{
				char		msg[80];

				snprintf(msg, sizeof(msg), "expected an integer 0..%lld", (long long) max);
				cf_bad_in(r, int_field, msg);
			}
		}
		else
		{
			rc = text_once(r, f, m->sub[i], m->sub_end[i], &keep);
			if (rc == 0 && strict)
				cf_bad_in(r, what, "expected a string (of at most 16 kB)");
		}
		if (rc < 0)
			return false;
		if (rc == 0)
			keep = true;
	}
	if (keep)
		keep_member(r, m);
	return true;
}

int
cf_gcp_entry(CloudReader *r, int level)
{
	/* by the members of inst_names, vpc_names and ns_names; FF_COUNT ends */
	static const int local_inst[] = {FF_ACCOUNT_ID, FF_INSTANCE_ID, FF_REGION, FF_AZ_ID, FF_COUNT};
	static const int local_vpc[] = {FF_ACCOUNT_ID, FF_VPC_ID, FF_SUBNET_ID, FF_REGION, FF_COUNT};
	static const int peer_inst[] = {FF_PEER_ACCOUNT_ID, FF_PEER_INSTANCE_ID, FF_PEER_REGION,
	FF_PEER_AZ_ID, FF_COUNT};
	static const int peer_vpc[] = {FF_PEER_ACCOUNT_ID, FF_PEER_VPC_ID, FF_PEER_SUBNET_ID,
	FF_PEER_REGION, FF_COUNT};
	static const int ns_fields[] = {FF_DSCP, FF_COUNT};
	static const int peer_loc[] = {FF_PEER_ASN, FF_PEER_COUNTRY, FF_PEER_CONTINENT,
	FF_PEER_GEO_REGION, FF_PEER_CITY, FF_COUNT};
	GcpEntry	e;
	size_t		start = r->js.pos;
	size_t		end;
	int			local = -1;

	/*
	 * A member's other fields are set whenever its offset is, and read only
	 * when it is not 0; the extra arrays are filled up to nextra.
	 */
	for (int k = 0; k < G_NKEYS; k++)
		e.m[k].at = 0;
	e.log_name = 0;
	e.has_payload = false;
	e.nextra = 0;
	r->arena_used = 0;
	cf_row_begin(r, FLOW_PROVIDER_GCP);
	r->js.pos++;
	if (gcp_members(r, &e, level, false) < 0)
		return -1;
	end = r->js.pos;

	if (e.log_name != 0)
	{
		FlowStr		s = {NULL, 0};

		if (cf_arena_string(r, e.log_name, &s) < 0)
			return -1;
		if (s.ptr == NULL || s.len < 9 || memcmp(s.ptr + s.len - 9, "vpc_flows", 9) != 0)
			cf_bad_in(r, "logName", "not a VPC flow log entry (logName must end in vpc_flows)");
		r->arena_used = 0;
	}

	/* the connection */
	if (e.m[G_CONNECTION].at == 0 || !e.m[G_CONNECTION].scanned)
		cf_bad_in(r, "connection", "entry has no connection object");
	else
	{
		const size_t *conn = e.m[G_CONNECTION].sub;

		if (!cf_set_addr(r, FF_SRCADDR, conn[0], "connection.src_ip") ||
			!cf_set_addr(r, FF_DSTADDR, conn[1], "connection.dest_ip") ||
			!cf_set_int(r, FF_SRCPORT, conn[2], true, 65535, "connection.src_port") ||
			!cf_set_int(r, FF_DSTPORT, conn[3], true, 65535, "connection.dest_port") ||
			!cf_set_int(r, FF_PROTOCOL, conn[4], true, 255, "connection.protocol"))
			return -1;
	}
	if (!cf_set_int(r, FF_BYTES, e.m[G_BYTES].at, true, INT64_MAX, "bytes_sent") ||
		!cf_set_int(r, FF_PACKETS, e.m[G_PACKETS].at, true, INT64_MAX, "packets_sent") ||
		!cf_set_int(r, FF_RTT_MSEC, e.m[G_RTT].at, true, INT64_MAX, "rtt_msec") ||
		!cf_set_time(r, FF_START, e.m[G_START].at, "start_time") ||
		!cf_set_time(r, FF_END, e.m[G_END].at, "end_time"))
		return -1;
	flow_row_set(&r->row, FF_ACTION, FLOW_ACTION_ACCEPT);

	/* reporter: the side whose instance and VPC fill the typed columns */
	if (e.m[G_REPORTER].at == 0)
		cf_bad_in(r, "reporter", "entry has no reporter");
	else
	{
		char		rep[8];
		size_t		p = e.m[G_REPORTER].at,
					n = 0;

		/* "SRC" and "DEST" are plain: compared in place, else decoded */
		if (r->js.len - p >= 5 && memcmp(r->js.buf + p, "\"SRC\"", 5) == 0)
			local = 0;
		else if (r->js.len - p >= 6 && memcmp(r->js.buf + p, "\"DEST\"", 6) == 0)
			local = 1;
		else if (!cf_at_char(r, p, '"'))
			n = sizeof(rep);
		else if (json_read_string(&r->js, &p, rep, sizeof(rep), &n, NULL) < 0)
			return -1;
		if (local >= 0)
			;
		else if (n == 3 && memcmp(rep, "SRC", 3) == 0)
			local = 0;
		else if (n == 4 && memcmp(rep, "DEST", 4) == 0)
			local = 1;
		else
			cf_bad_in(r, "reporter", "reporter must be SRC or DEST");
		if (local >= 0)
			flow_row_set(&r->row, FF_FLOW_DIRECTION, local == 0 ? FLOW_DIR_EGRESS : FLOW_DIR_INGRESS);
	}
	if (local >= 0)
	{
		int			li = local == 0 ? G_SRC_INSTANCE : G_DEST_INSTANCE;
		int			lv = local == 0 ? G_SRC_VPC : G_DEST_VPC;
		int			ll = local == 0 ? G_SRC_LOCATION : G_DEST_LOCATION;
		const int	peer[3] = {local == 0 ? G_DEST_INSTANCE : G_SRC_INSTANCE,
		local == 0 ? G_DEST_VPC : G_SRC_VPC, local == 0 ? G_DEST_LOCATION : G_SRC_LOCATION};
		const int  *peer_fields[3] = {peer_inst, peer_vpc, peer_loc};

		if (!gcp_object(r, &e.m[li], local_inst, gcp_keys[li], NULL, true) ||
			!gcp_object(r, &e.m[lv], local_vpc, gcp_keys[lv], NULL, true))
			return -1;

		/*
		 * The peer's objects fill the peer_ columns.  A location of the
		 * reporter's own end (GCP gives locations for outside addresses
		 * only) would be kept in extra as it is.
		 */
		for (int k = 0; k < 3; k++)
		{
			const GcpMember *m = &e.m[peer[k]];

			if (m->at == 0 || cf_is_empty_value(r, m->at, m->value_end))
				continue;
			if (!gcp_object(r, m, peer_fields[k], gcp_keys[peer[k]],
							local == 0 ? "dest_location.asn" : "src_location.asn", false))
				return -1;
		}
		if (e.m[ll].at != 0 && !cf_at_char(r, e.m[ll].at, 'n') &&
			!cf_is_empty_value(r, e.m[ll].at, e.m[ll].value_end))
			keep_member(r, &e.m[ll]);
	}
	if (!gcp_object(r, &e.m[G_NETWORK_SERVICE], ns_fields, "network_service",
					"network_service.dscp", true))
		return -1;

	/* unmapped payload members, verbatim */
	for (int i = 0; i < e.nextra; i++)
		if (!e.extra_top[i] || !e.has_payload)
			cf_extra_add(r, r->js.buf + e.extra_key[i][0], e.extra_key[i][1] - e.extra_key[i][0],
						 e.extra_value[i][0], e.extra_value[i][1]);
	cf_extra_end(r);
	cf_row_end(r, start, end);
	r->js.pos = end;
	return 0;
}
