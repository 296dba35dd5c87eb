/*
 * cloudflow_azure.c
 *		Azure NSG (v1, v2) and VNet (v4) flow logs: records, their rules and
 *		MACs, and one row per flow tuple (see cloudflow.h; the mapping is in
 *		docs/providers.md).
 */
#include "cloudflow_int.h"

#include <stdio.h>
#include <string.h>

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
int
cf_split_commas(const char *s, size_t len, FlowStr *f, int max)
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

bool
cf_num(FlowStr t, uint64_t max, uint64_t *v)
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
	if (!cf_num(t, INT64_MAX, &v))
	{
		cf_bad_in(r, name, "invalid counter: expected a non-negative integer");
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
	int			n = cf_split_commas(s, len, t, 15);
	bool		vnet;
	uint64_t	v;

	if (n < 8)
	{
		cf_bad_in(r, NULL, "flow tuple has fewer than 8 fields");
		return;
	}
	vnet = t[5].len > 0 && t[5].ptr[0] >= '0' && t[5].ptr[0] <= '9';
	if (vnet ? n != 13 : (n != 8 && n != 13))
	{
		cf_bad(r, "flow tuple has %d fields; %s", n,
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
	if (!cf_num(t[0], 253402300799999ULL, &v))
	{
		cf_bad_in(r, "timestamp", "invalid timestamp: expected Unix seconds or milliseconds");
		return;
	}
	flow_row_set(&r->row, FF_START, v > 99999999999ULL ? (int64_t) v * 1000 : (int64_t) v * 1000000);
	if (!flow_parse_addr(t[1].ptr, t[1].len, &r->row.v[FF_SRCADDR].addr))
		cf_bad_in(r, "srcaddr", "invalid source IP address");
	else
		r->row.present[FF_SRCADDR >> 6] |= UINT64_C(1) << (FF_SRCADDR & 63);
	if (!flow_parse_addr(t[2].ptr, t[2].len, &r->row.v[FF_DSTADDR].addr))
		cf_bad_in(r, "dstaddr", "invalid destination IP address");
	else
		r->row.present[FF_DSTADDR >> 6] |= UINT64_C(1) << (FF_DSTADDR & 63);
	for (int i = 3; i <= 4; i++)
	{
		if (t[i].len == 0)
			continue;
		if (!cf_num(t[i], 65535, &v))
			cf_bad_in(r, i == 3 ? "srcport" : "dstport", "invalid port: expected an integer 0..65535");
		else
			flow_row_set(&r->row, i == 3 ? FF_SRCPORT : FF_DSTPORT, (int64_t) v);
	}
	if (vnet)
	{
		if (!cf_num(t[5], 255, &v))
			cf_bad_in(r, "protocol", "invalid protocol: expected an integer 0..255");
		else
			flow_row_set(&r->row, FF_PROTOCOL, (int64_t) v);
	}
	else if (is1(t[5], 'T') || is1(t[5], 'U'))
		flow_row_set(&r->row, FF_PROTOCOL, t[5].ptr[0] == 'T' ? 6 : 17);
	else
		cf_bad_in(r, "protocol", "invalid protocol: expected T or U");
	if (is1(t[6], 'I') || is1(t[6], 'O'))
		flow_row_set(&r->row, FF_FLOW_DIRECTION, t[6].ptr[0] == 'I' ? FLOW_DIR_INGRESS : FLOW_DIR_EGRESS);
	else
		cf_bad_in(r, "direction", "invalid direction: expected I or O");

	if (!vnet)
	{
		if (is1(t[7], 'A') || is1(t[7], 'D'))
			flow_row_set(&r->row, FF_ACTION, t[7].ptr[0] == 'A' ? FLOW_ACTION_ACCEPT : FLOW_ACTION_REJECT);
		else
			cf_bad_in(r, "decision", "invalid decision: expected A or D");
		if (n == 13)
		{
			if (is1(t[8], 'B') || is1(t[8], 'C') || is1(t[8], 'E'))
				ctx_text(r, FF_FLOW_STATE, t[8]);
			else
				cf_bad_in(r, "state", "invalid flow state: expected B, C or E");
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
			cf_bad_in(r, "state", "invalid flow state: expected B, C, E or D");
		/* X: encrypted; NX and NX_<reason>: not (the reason kept in extra) */
		if (is1(t[8], 'X'))
			flow_row_set(&r->row, FF_ENCRYPTION_STATUS, 1);
		else if (t[8].len >= 2 && t[8].ptr[0] == 'N' && t[8].ptr[1] == 'X')
			flow_row_set(&r->row, FF_ENCRYPTION_STATUS, 0);
		else
			cf_bad_in(r, "encryption", "invalid encryption: expected X, NX or NX_<reason>");
	}
	if (n == 13)
	{
		counter(r, FF_PACKETS, t[9], "packets_s2d");
		counter(r, FF_BYTES, t[10], "bytes_s2d");
		counter(r, FF_REVERSE_PACKETS, t[11], "packets_d2s");
		counter(r, FF_REVERSE_BYTES, t[12], "bytes_d2s");
	}
	if (ctx != NULL && ctx->acl_at[0] != 0)
		cf_extra_add(r, "\"acl_id\"", 8, ctx->acl_at[0], ctx->acl_at[1]);
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
			cf_bad_in(r, "encryption", "invalid encryption: expected X, NX or NX_<reason>");
	}
	cf_extra_end(r);
}

/* Each string of a flowTuples array at at, as a row. */
static int
azure_tuples(CloudReader *r, AzureContext *ctx, size_t at, int level)
{
	bool		first = true;
	int			m;
	size_t		arena_mark = r->arena_used;

	if (!cf_at_char(r, at, '['))
	{
		cf_row_begin(r, ctx->provider);
		cf_bad_in(r, "flowTuples", "flowTuples is not an array");
		/* reported against the array's value; its extent is one byte */
		cf_row_end(r, at, at < r->js.len ? at + 1 : at);
		return 0;
	}
	r->js.pos = at + 1;
	while ((m = json_next_element(&r->js, &first)) > 0)
	{
		size_t		s = r->js.pos;
		char		tup[512];
		size_t		n;

		r->arena_used = arena_mark;
		cf_row_begin(r, ctx->provider);
		if (!cf_at_char(r, s, '"'))
		{
			if (json_skip_value(&r->js, level) < 0)
				return -1;
			cf_bad_in(r, "flowTuples", "flow tuple is not a string");
		}
		else
		{
			if (json_read_string(&r->js, &r->js.pos, tup, sizeof(tup), &n, "a flow tuple") < 0)
				return -1;
			if (n >= sizeof(tup))
				cf_bad_in(r, "flowTuples", "flow tuple longer than 511 bytes");
			else
				azure_tuple(r, ctx, tup, n);
		}
		{
			size_t		e = r->js.pos;

			cf_row_end(r, s, e);
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

	if (!cf_at_char(r, at, '['))
	{
		cf_row_begin(r, ctx->provider);
		cf_bad_in(r, what, "expected an array");
		cf_row_end(r, at, at + 1);
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
		if (!cf_at_char(r, s, '{'))
		{
			cf_row_begin(r, ctx->provider);
			cf_bad_in(r, what, "expected an object");
			cf_row_end(r, s, e);
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

	if (cf_members_at(r, at, level, keys, 2, v) < 0)
		return -1;
	if (v[0] != 0 && (rc = cf_arena_string(r, v[0], &mac)) < 0)
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

	if (cf_members_at(r, at, level, keys, 2, v) < 0)
		return -1;
	if (v[0] != 0 && cf_arena_string(r, v[0], &rule) < 0)
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

	if (cf_members_at(r, at, level, keys, 2, v) < 0)
		return -1;
	if (v[0] != 0 && cf_arena_string(r, v[0], &rule) < 0)
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

	if (cf_members_at(r, at, level, keys, 2, v) < 0)
		return -1;
	ctx->acl_at[0] = 0;
	if (v[0] != 0 && cf_at_char(r, v[0], '"'))
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
azure_record_elem(CloudReader *r, AzureContext *ctx, size_t at, int level)
{
	(void) ctx;
	return cf_azure_object(r, at, level, false);
}

int
cf_azure_object(CloudReader *r, size_t at, int level, bool top)
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
	if (cf_members_at(r, at, level, keys, A_NKEYS, v) < 0)
		return -1;
	end = r->js.pos;
	r->arena_used = 0;

	if (v[A_RECORDS] != 0 && v[A_PROPERTIES] == 0 && v[A_FLOW_RECORDS] == 0)
	{
		if (!top)
		{
			cf_row_begin(r, r->provider);
			cf_bad_in(r, "records", "a record holds a nested \"records\" array (not a flow-log "
				   "record; its records would duplicate the blob's own): not loaded");
			cf_row_end(r, at, end);
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
		cf_row_begin(r, r->provider);
		cf_bad_in(r, NULL, "not an Azure flow-log record: it has neither properties (NSG) "
			   "nor flowRecords (VNet)");
		cf_row_end(r, at, end);
		r->js.pos = end;
		return 0;
	}

	if (v[A_FLOW_RECORDS] != 0)
	{
		static const char *const fk[] = {"flows"};
		size_t		flows;

		ctx.provider = FLOW_PROVIDER_AZURE_VNET;
		ctx.version = 4;
		if (v[A_FLV] != 0 && cf_int_value(r, v[A_FLV], true, 255, &ver) == 1)
			ctx.version = (int) ver;
		if (v[A_TARGET_ID] != 0 && cf_arena_string(r, v[A_TARGET_ID], &s) == 1)
		{
			ctx.resource = s;
			ctx.subscription = subscription_of(r, s);
		}
		if (v[A_MAC] != 0 && cf_arena_string(r, v[A_MAC], &s) == 1)
			ctx.mac = normalize_mac(r, s);
		if (cf_members_at(r, v[A_FLOW_RECORDS], level + 1, fk, 1, &flows) < 0)
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
		if (v[A_RESOURCE_ID] != 0 && cf_arena_string(r, v[A_RESOURCE_ID], &s) == 1)
		{
			ctx.resource = s;
			ctx.subscription = subscription_of(r, s);
		}
		if (cf_members_at(r, v[A_PROPERTIES], level + 1, pk, 2, p) < 0)
			return -1;
		if (p[0] != 0 && cf_int_value(r, p[0], true, 255, &ver) == 1)
			ctx.version = (int) ver;
		if (p[1] != 0 &&
			each_object(r, &ctx, p[1], level + 2, "properties.flows", nsg_rule) < 0)
			return -1;
	}
	r->js.pos = end;
	return 0;
}

/* Bare flowTuples strings, one per line (no record around them). */
void
cf_azure_tuple_lines(CloudReader *r)
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
			cf_row_begin(r, r->provider);
			azure_tuple(r, NULL, b + s, te - s);
			cf_row_end(r, p, e);
		}
		p = e + 1;
	}
	r->js.pos = r->js.len;
}
