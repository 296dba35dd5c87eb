/*
 * cloudflow_gcp.c
 *		GCP VPC Flow Logs: one Cloud Logging entry (or bare jsonPayload)
 *		into a row (see cloudflow.h; the mapping is in docs/providers.md).
 */
#include "cloudflow_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_EXTRA	32			/* extra candidates per entry */

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

		if (cf_member_key(r, key, &klen, &ks, &ke) < 0)
			return -1;
		at = r->js.pos;
		if (!payload && key_is(key, klen, "jsonPayload") && cf_at_char(r, at, '{'))
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
	if (at == 0 || cf_at_char(r, at, 'n'))
		return 0;
	if (!cf_at_char(r, at, '{'))
	{
		cf_bad_in(r, what, "expected an object");
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

		if (cf_member_key(r, key, &klen, &ks, &ke) < 0)
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
			if (!cf_set_int(r, FF_DSCP, vat, true, 63, "network_service.dscp"))
				return -1;
		}
		else if (!flow_row_has(&r->row, fields[k]) && !cf_set_text(r, fields[k], vat, what))
			return -1;
	}
	return m;
}

int
cf_gcp_entry(CloudReader *r, int level)
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
	if (e.at[G_CONNECTION] == 0 || !cf_at_char(r, e.at[G_CONNECTION], '{'))
		cf_bad_in(r, "connection", "entry has no connection object");
	else
	{
		if (cf_members_at(r, e.at[G_CONNECTION], level + 2, conn_keys, 5, conn) < 0)
			return -1;
		if (!cf_set_addr(r, FF_SRCADDR, conn[0], "connection.src_ip") ||
			!cf_set_addr(r, FF_DSTADDR, conn[1], "connection.dest_ip") ||
			!cf_set_int(r, FF_SRCPORT, conn[2], true, 65535, "connection.src_port") ||
			!cf_set_int(r, FF_DSTPORT, conn[3], true, 65535, "connection.dest_port") ||
			!cf_set_int(r, FF_PROTOCOL, conn[4], true, 255, "connection.protocol"))
			return -1;
	}
	if (!cf_set_int(r, FF_BYTES, e.at[G_BYTES], true, INT64_MAX, "bytes_sent") ||
		!cf_set_int(r, FF_PACKETS, e.at[G_PACKETS], true, INT64_MAX, "packets_sent") ||
		!cf_set_int(r, FF_RTT_MSEC, e.at[G_RTT], true, INT64_MAX, "rtt_msec") ||
		!cf_set_time(r, FF_START, e.at[G_START], "start_time") ||
		!cf_set_time(r, FF_END, e.at[G_END], "end_time"))
		return -1;
	flow_row_set(&r->row, FF_ACTION, FLOW_ACTION_ACCEPT);

	/* reporter: the side whose instance and VPC fill the typed columns */
	if (e.at[G_REPORTER] == 0)
		cf_bad_in(r, "reporter", "entry has no reporter");
	else
	{
		char		rep[8];
		size_t		p = e.at[G_REPORTER],
					n = 0;

		if (!cf_at_char(r, p, '"'))
			n = sizeof(rep);
		else if (json_read_string(&r->js, &p, rep, sizeof(rep), &n, NULL) < 0)
			return -1;
		if (n == 3 && memcmp(rep, "SRC", 3) == 0)
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
		int			ki = local == 0 ? G_SRC_INSTANCE : G_DEST_INSTANCE;
		int			kv = local == 0 ? G_SRC_VPC : G_DEST_VPC;

		if (gcp_object(r, e.at[ki], level + 2, inst_names, inst_fields, 4, gcp_keys[ki], &other) < 0)
			return -1;
		if (other)
			cf_extra_add(r, r->js.buf + e.key_raw[ki][0], e.key_raw[ki][1] - e.key_raw[ki][0],
					  e.at[ki], e.value_end[ki]);
		if (gcp_object(r, e.at[kv], level + 2, vpc_names, vpc_fields, 4, gcp_keys[kv], &other) < 0)
			return -1;
		if (other)
			cf_extra_add(r, r->js.buf + e.key_raw[kv][0], e.key_raw[kv][1] - e.key_raw[kv][0],
					  e.at[kv], e.value_end[kv]);
	}
	if (gcp_object(r, e.at[G_NETWORK_SERVICE], level + 2, ns_names, ns_fields, 1,
				   "network_service", &other) < 0)
		return -1;
	if (other)
		cf_extra_add(r, r->js.buf + e.key_raw[G_NETWORK_SERVICE][0],
				  e.key_raw[G_NETWORK_SERVICE][1] - e.key_raw[G_NETWORK_SERVICE][0],
				  e.at[G_NETWORK_SERVICE], e.value_end[G_NETWORK_SERVICE]);

	/* the peer's instance and VPC, and unmapped payload members, verbatim */
	for (int k = G_SRC_INSTANCE; k <= G_DEST_VPC; k++)
	{
		bool		is_local = local >= 0 &&
			(k == (local == 0 ? G_SRC_INSTANCE : G_DEST_INSTANCE) ||
			 k == (local == 0 ? G_SRC_VPC : G_DEST_VPC));

		if (e.at[k] != 0 && !is_local && !cf_is_empty_value(r, e.at[k], e.value_end[k]) &&
			!cf_at_char(r, e.at[k], 'n'))
			cf_extra_add(r, r->js.buf + e.key_raw[k][0], e.key_raw[k][1] - e.key_raw[k][0],
					  e.at[k], e.value_end[k]);
	}
	for (int i = 0; i < e.nextra; i++)
		if (!e.extra_top[i] || !e.has_payload)
			cf_extra_add(r, r->js.buf + e.extra_key[i][0], e.extra_key[i][1] - e.extra_key[i][0],
					  e.extra_value[i][0], e.extra_value[i][1]);
	cf_extra_end(r);
	cf_row_end(r, start, end);
	r->js.pos = end;
	return 0;
}
