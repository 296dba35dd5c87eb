/*
 * flowparse.c
 *		AWS VPC Flow Logs text parser (see flowparse.h).
 *
 * One pass over the line: split on runs of blanks, convert each token by
 * its field's kind straight into the row.  No allocation, no locale, no
 * libc conversion routines (strtol and inet_pton are slower and accept
 * more than the format allows).
 */
#include "flowparse.h"

#include <stdio.h>
#include <string.h>

#define F(name, column, kind, version) {name, column, kind, version}

const FlowFieldInfo flow_fields[FF_COUNT] = {
	F("version", "version", FK_INT16, 2),
	F("account-id", "account_id", FK_ID, 2),
	F("interface-id", "interface_id", FK_ID, 2),
	F("srcaddr", "srcaddr", FK_ADDR, 2),
	F("dstaddr", "dstaddr", FK_ADDR, 2),
	F("srcport", "srcport", FK_PORT, 2),
	F("dstport", "dstport", FK_PORT, 2),
	F("protocol", "protocol", FK_PROTOCOL, 2),
	F("packets", "packets", FK_INT64, 2),
	F("bytes", "bytes", FK_INT64, 2),
	F("start", "start_time", FK_TIME, 2),
	F("end", "end_time", FK_TIME, 2),
	F("action", "action", FK_ACTION, 2),
	F("log-status", "log_status", FK_LOG_STATUS, 2),
	F("vpc-id", "vpc_id", FK_ID, 3),
	F("subnet-id", "subnet_id", FK_ID, 3),
	F("instance-id", "instance_id", FK_ID, 3),
	F("tcp-flags", "tcp_flags", FK_INT16, 3),
	F("type", "type", FK_TEXT, 3),
	F("pkt-srcaddr", "pkt_srcaddr", FK_ADDR, 3),
	F("pkt-dstaddr", "pkt_dstaddr", FK_ADDR, 3),
	F("region", "region", FK_TEXT, 4),
	F("az-id", "az_id", FK_TEXT, 4),
	F("sublocation-type", "sublocation_type", FK_TEXT, 4),
	F("sublocation-id", "sublocation_id", FK_TEXT, 4),
	F("pkt-src-aws-service", "pkt_src_aws_service", FK_TEXT, 5),
	F("pkt-dst-aws-service", "pkt_dst_aws_service", FK_TEXT, 5),
	F("flow-direction", "flow_direction", FK_DIRECTION, 5),
	F("traffic-path", "traffic_path", FK_INT16, 5),
	F("ecs-cluster-arn", "ecs_cluster_arn", FK_TEXT, 7),
	F("ecs-cluster-name", "ecs_cluster_name", FK_TEXT, 7),
	F("ecs-container-instance-arn", "ecs_container_instance_arn", FK_TEXT, 7),
	F("ecs-container-instance-id", "ecs_container_instance_id", FK_TEXT, 7),
	F("ecs-container-id", "ecs_container_id", FK_TEXT, 7),
	F("ecs-second-container-id", "ecs_second_container_id", FK_TEXT, 7),
	F("ecs-service-name", "ecs_service_name", FK_TEXT, 7),
	F("ecs-task-definition-arn", "ecs_task_definition_arn", FK_TEXT, 7),
	F("ecs-task-arn", "ecs_task_arn", FK_TEXT, 7),
	F("ecs-task-id", "ecs_task_id", FK_TEXT, 7),
	F("reject-reason", "reject_reason", FK_TEXT, 8),
	F("resource-id", "resource_id", FK_ID, 9),
	F("encryption-status", "encryption_status", FK_INT16, 9),
	F("instance-tag", "instance_tag", FK_TEXT, 10),
	F("instance-tag-2", "instance_tag_2", FK_TEXT, 10),
	F("interface-tag", "interface_tag", FK_TEXT, 10),
	F("interface-tag-2", "interface_tag_2", FK_TEXT, 10),
	F("asg-tag", "asg_tag", FK_TEXT, 10),
	F("asg-tag-2", "asg_tag_2", FK_TEXT, 10),
	F("interface-type", "interface_type", FK_TEXT, 11),
	F("next-hop-interface-id", "next_hop_interface_id", FK_ID, 11),
	F("next-hop-subnet-id", "next_hop_subnet_id", FK_ID, 11),
	F("next-hop-az-id", "next_hop_az_id", FK_TEXT, 11),
	F("next-hop-vpc-id", "next_hop_vpc_id", FK_ID, 11),
	F("next-hop-interface-type", "next_hop_interface_type", FK_TEXT, 11),
	F("resource-type", "resource_type", FK_TEXT, 6),
	F("tgw-id", "tgw_id", FK_ID, 6),
	F("tgw-attachment-id", "tgw_attachment_id", FK_ID, 6),
	F("tgw-src-vpc-account-id", "tgw_src_vpc_account_id", FK_ID, 6),
	F("tgw-dst-vpc-account-id", "tgw_dst_vpc_account_id", FK_ID, 6),
	F("tgw-src-vpc-id", "tgw_src_vpc_id", FK_ID, 6),
	F("tgw-dst-vpc-id", "tgw_dst_vpc_id", FK_ID, 6),
	F("tgw-src-subnet-id", "tgw_src_subnet_id", FK_ID, 6),
	F("tgw-dst-subnet-id", "tgw_dst_subnet_id", FK_ID, 6),
	F("tgw-src-eni", "tgw_src_eni", FK_ID, 6),
	F("tgw-dst-eni", "tgw_dst_eni", FK_ID, 6),
	F("tgw-src-az-id", "tgw_src_az_id", FK_TEXT, 6),
	F("tgw-dst-az-id", "tgw_dst_az_id", FK_TEXT, 6),
	F("tgw-pair-attachment-id", "tgw_pair_attachment_id", FK_ID, 6),
	F("packets-lost-no-route", "packets_lost_no_route", FK_INT64, 6),
	F("packets-lost-blackhole", "packets_lost_blackhole", FK_INT64, 6),
	F("packets-lost-mtu-exceeded", "packets_lost_mtu_exceeded", FK_INT64, 6),
	F("packets-lost-ttl-expired", "packets_lost_ttl_expired", FK_INT64, 6),
	F("provider", "provider", FK_PROVIDER, 0),
	F("reverse-packets", "reverse_packets", FK_INT64, 0),
	F("reverse-bytes", "reverse_bytes", FK_INT64, 0),
	F("flow-state", "flow_state", FK_TEXT, 0),
	F("rule-name", "rule_name", FK_TEXT, 0),
	F("rtt-msec", "rtt_msec", FK_INT64, 0),
	F("dscp", "dscp", FK_INT16, 0),
	F("peer-account-id", "peer_account_id", FK_ID, 0),
	F("peer-instance-id", "peer_instance_id", FK_ID, 0),
	F("peer-vpc-id", "peer_vpc_id", FK_ID, 0),
	F("peer-subnet-id", "peer_subnet_id", FK_ID, 0),
	F("peer-region", "peer_region", FK_TEXT, 0),
	F("peer-az-id", "peer_az_id", FK_TEXT, 0),
	F("peer-asn", "peer_asn", FK_INT64, 0),
	F("peer-country", "peer_country", FK_TEXT, 0),
	F("peer-continent", "peer_continent", FK_TEXT, 0),
	F("peer-geo-region", "peer_geo_region", FK_TEXT, 0),
	F("peer-city", "peer_city", FK_TEXT, 0),
};

#undef F

/* Named formats for headerless input. */
static const char *const preset_v2 =
"version account-id interface-id srcaddr dstaddr srcport dstport protocol "
"packets bytes start end action log-status";
static const char *const preset_v3_extra =
" vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr";
static const char *const preset_v4_extra =
" region az-id sublocation-type sublocation-id";
static const char *const preset_v5_extra =
" pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path";
static const char *const preset_tgw =
"version resource-type account-id tgw-id tgw-attachment-id "
"tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id "
"tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id "
"tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol "
"packets bytes start end log-status type packets-lost-no-route "
"packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired "
"tcp-flags region flow-direction pkt-src-aws-service pkt-dst-aws-service";

static const char *const action_names[] = {NULL, "ACCEPT", "REJECT"};
static const char *const status_names[] = {NULL, "OK", "NODATA", "SKIPDATA"};
static const char *const direction_names[] = {NULL, "ingress", "egress"};
static const char *const provider_names[] = {NULL, "aws", "gcp", "azure-nsg", "azure-vnet"};

static int
label_table(FlowKind kind, const char *const **names)
{
	switch (kind)
	{
		case FK_ACTION:
			*names = action_names;
			return 3;
		case FK_LOG_STATUS:
			*names = status_names;
			return 4;
		case FK_DIRECTION:
			*names = direction_names;
			return 3;
		case FK_PROVIDER:
			*names = provider_names;
			return 5;
		default:
			*names = NULL;
			return 0;
	}
}

const char *
flow_label_name(FlowKind kind, int code)
{
	const char *const *names;
	int			n = label_table(kind, &names);

	return (code > 0 && code < n) ? names[code] : NULL;
}

int
flow_label_code(FlowKind kind, const char *s, size_t len)
{
	const char *const *names;
	int			n = label_table(kind, &names);

	for (int i = 1; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return i;
	return 0;
}

int
flow_field_lookup(const char *name, size_t len)
{
	char		norm[FLOW_MAX_NAME];

	if (len == 0 || len >= sizeof(norm))
		return -1;
	for (size_t i = 0; i < len; i++)
		norm[i] = (name[i] == '_') ? '-' : name[i];
	norm[len] = '\0';
	for (int f = 0; f < FF_COUNT; f++)
		if (flow_fields[f].version > 0 && strcmp(flow_fields[f].name, norm) == 0)
			return f;
	return -1;
}

static void
set_error(FlowParser *p, const char *field, int column, const char *tok,
		  size_t toklen, const char *msg)
{
	snprintf(p->error.message, sizeof(p->error.message), "%s", msg);
	p->error.field = field;
	p->error.column = column;
	p->error.value.ptr = tok;
	p->error.value.len = (uint32_t) toklen;
}

static inline bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Build a format from names separated by blanks or commas.  Unknown names
 * become unknown columns; a field named twice is an error (its values
 * would be ambiguous).
 */
static bool
format_from_names(FlowParser *p, FlowFormat *fmt, const char *s, size_t len)
{
	const char *end = s + len;

	memset(fmt, 0, sizeof(*fmt));
	while (s < end)
	{
		const char *tok;
		size_t		toklen;
		int			f;

		while (s < end && (is_blank(*s) || *s == ',' || *s == '\r' || *s == '\n'))
			s++;
		if (s >= end)
			break;
		tok = s;
		while (s < end && !is_blank(*s) && *s != ',' && *s != '\r' && *s != '\n')
			s++;
		toklen = s - tok;
		/* AWS's own LogFormat syntax: ${field} */
		if (toklen >= 3 && tok[0] == '$' && tok[1] == '{' && tok[toklen - 1] == '}')
		{
			tok += 2;
			toklen -= 3;
		}
		if (fmt->ncolumns >= FLOW_MAX_COLUMNS)
		{
			set_error(p, NULL, fmt->ncolumns + 1, tok, toklen,
					  "format has more than 128 columns");
			return false;
		}
		f = flow_field_lookup(tok, toklen);
		if (f >= 0)
		{
			for (int c = 0; c < fmt->ncolumns; c++)
				if (fmt->field[c] == f)
				{
					set_error(p, flow_fields[f].name, fmt->ncolumns + 1, tok, toklen,
							  "field appears twice in the format");
					return false;
				}
		}
		else
		{
			if (toklen == 0 || toklen >= FLOW_MAX_NAME)
			{
				set_error(p, NULL, fmt->ncolumns + 1, tok, toklen,
						  "invalid field name in format");
				return false;
			}
			if (fmt->nunknown >= 8)
			{
				set_error(p, NULL, fmt->ncolumns + 1, tok, toklen,
						  "format has more than 8 unknown fields");
				return false;
			}
			memcpy(fmt->unknown_name[fmt->nunknown], tok, toklen);
			fmt->unknown_name[fmt->nunknown][toklen] = '\0';
			fmt->unknown_column[fmt->nunknown] = (int16_t) fmt->ncolumns;
			fmt->nunknown++;
		}
		fmt->field[fmt->ncolumns++] = (int16_t) f;
	}
	if (fmt->ncolumns == 0)
	{
		set_error(p, NULL, 0, NULL, 0, "format names no fields");
		return false;
	}
	return true;
}

void
flow_parser_init(FlowParser *p)
{
	memset(p, 0, sizeof(*p));
	(void) format_from_names(p, &p->format, preset_v2, strlen(preset_v2));
}

bool
flow_parser_set_format(FlowParser *p, const char *spec, size_t len)
{
	char		buf[1024];
	const char *name = NULL;
	FlowFormat	fmt;

	while (len > 0 && is_blank(*spec))
		spec++, len--;
	while (len > 0 && is_blank(spec[len - 1]))
		len--;

#define IS(word) (len == strlen(word) && memcmp(spec, word, len) == 0)
	if (IS("default") || IS("v2"))
		name = preset_v2;
	else if (IS("tgw"))
		name = preset_tgw;
	else if (IS("v3") || IS("v4") || IS("v5"))
	{
		snprintf(buf, sizeof(buf), "%s%s%s%s", preset_v2, preset_v3_extra,
				 spec[1] >= '4' ? preset_v4_extra : "",
				 spec[1] >= '5' ? preset_v5_extra : "");
		name = buf;
	}
#undef IS

	if (name != NULL)
	{
		spec = name;
		len = strlen(name);
	}
	if (!format_from_names(p, &fmt, spec, len))
		return false;
	p->format = fmt;
	p->explicit_format = true;
	return true;
}

/*
 * A header is a line of field names: every token lowercase name-like, and
 * most of them fields we know (so one unknown column is kept, but a data
 * line made of ids is not taken for a header).
 */
static bool
looks_like_header(const char *s, const char *end)
{
	int			ntok = 0,
				nknown = 0;

	while (s < end)
	{
		const char *tok;

		while (s < end && is_blank(*s))
			s++;
		if (s >= end)
			break;
		tok = s;
		while (s < end && !is_blank(*s))
		{
			if (!is_name_char(*s))
				return false;
			s++;
		}
		if (flow_field_lookup(tok, s - tok) >= 0)
			nknown++;
		else if (ntok == 0)
			return false;
		ntok++;
	}
	return ntok > 0 && nknown * 2 >= ntok;
}

static bool
parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		unsigned	d = (unsigned char) s[i] - '0';

		if (d > 9)
			return false;
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool
parse_ipv4(const char *s, size_t len, uint8_t *out)
{
	const char *end = s + len;

	for (int part = 0; part < 4; part++)
	{
		unsigned	v = 0;
		int			ndig = 0;

		while (s < end && *s >= '0' && *s <= '9' && ndig < 4)
		{
			v = v * 10 + (*s - '0');
			s++, ndig++;
		}
		if (ndig == 0 || ndig > 3 || v > 255)
			return false;
		out[part] = (uint8_t) v;
		if (part < 3)
		{
			if (s >= end || *s != '.')
				return false;
			s++;
		}
	}
	return s == end;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 4291 text forms: groups, one "::", optional dotted IPv4 tail. */
static bool
parse_ipv6(const char *s, size_t len, uint8_t *out)
{
	const char *end = s + len;
	int			ngroups = 0,
				gap = -1;
	uint16_t	groups[8];

	if (len < 2)
		return false;
	if (s[0] == ':')
	{
		if (s[1] != ':')
			return false;
		gap = 0;
		s += 2;
	}
	while (s < end)
	{
		const char *tok = s;
		unsigned	v = 0;
		int			ndig = 0;
		int			h;

		if (ngroups >= 8)
			return false;
		while (s < end && (h = hexval(*s)) >= 0 && ndig < 5)
		{
			v = (v << 4) | h;
			s++, ndig++;
		}
		if (s < end && *s == '.')
		{
			/* embedded IPv4 takes the last two groups */
			uint8_t		v4[4];

			if (ngroups > 6 || !parse_ipv4(tok, end - tok, v4))
				return false;
			groups[ngroups++] = (uint16_t) ((v4[0] << 8) | v4[1]);
			groups[ngroups++] = (uint16_t) ((v4[2] << 8) | v4[3]);
			s = end;
			break;
		}
		if (ndig == 0 || ndig > 4)
			return false;
		groups[ngroups++] = (uint16_t) v;
		if (s == end)
			break;
		if (*s != ':')
			return false;
		s++;
		if (s < end && *s == ':')
		{
			if (gap >= 0)
				return false;
			gap = ngroups;
			s++;
		}
		else if (s == end)
			return false;		/* trailing single colon */
	}
	if (gap < 0 && ngroups != 8)
		return false;
	if (gap >= 0 && ngroups > 7)
		return false;

	memset(out, 0, 16);
	if (gap < 0)
		gap = ngroups;
	for (int i = 0; i < gap; i++)
	{
		out[2 * i] = groups[i] >> 8;
		out[2 * i + 1] = groups[i] & 0xff;
	}
	for (int i = gap; i < ngroups; i++)
	{
		int			pos = 8 - (ngroups - i);

		out[2 * pos] = groups[i] >> 8;
		out[2 * pos + 1] = groups[i] & 0xff;
	}
	return true;
}

bool
flow_parse_addr(const char *s, size_t len, FlowAddr *out)
{
	if (memchr(s, ':', len) != NULL)
	{
		out->family = 6;
		return parse_ipv6(s, len, out->bytes);
	}
	out->family = 4;
	memset(out->bytes + 4, 0, 12);
	return parse_ipv4(s, len, out->bytes);
}

int
flow_format_addr(const FlowAddr *a, char *buf, size_t buflen)
{
	const uint8_t *b = a->bytes;
	int			best = -1,
				bestlen = 0;
	size_t		n = 0;

	if (a->family == 4)
		return snprintf(buf, buflen, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);

	/* RFC 5952: compress the longest run (>= 2) of zero groups */
	for (int i = 0; i < 8;)
	{
		int			j = i;

		while (j < 8 && b[2 * j] == 0 && b[2 * j + 1] == 0)
			j++;
		if (j - i > bestlen && j - i >= 2)
			best = i, bestlen = j - i;
		i = (j == i) ? i + 1 : j;
	}
	if (buflen < 48)
		return -1;
	for (int i = 0; i < 8; i++)
	{
		if (i == best)
		{
			buf[n++] = ':';
			if (i == 0)
				buf[n++] = ':';
			i += bestlen - 1;
			continue;
		}
		/* IPv4-mapped tail, as PostgreSQL's inet prints it */
		if (i == 6 && best == 0 && bestlen == 5 && b[10] == 0xff && b[11] == 0xff)
		{
			n += snprintf(buf + n, buflen - n, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
			return (int) n;
		}
		n += snprintf(buf + n, buflen - n, "%x%s", (b[2 * i] << 8) | b[2 * i + 1],
					  i < 7 ? ":" : "");
	}
	buf[n] = '\0';
	return (int) n;
}

/* Printable ASCII or well-formed UTF-8 with no control characters. */
static bool
valid_text(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = s[i];
		int			n;
		uint32_t	cp;

		if (c < 0x80)
		{
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if (i + n >= len)
			return false;		/* truncated sequence */
		for (int k = 1; k <= n; k++)
		{
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
			(n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += n + 1;
	}
	return true;
}

/* Unix seconds, or milliseconds when the value is too large for seconds. */
#define MAX_SECONDS		99999999999LL	/* 11 digits: year 5138 */
#define MAX_MILLIS		253402300799999LL	/* 9999-12-31 23:59:59.999 */

static bool
convert_token(FlowParser *p, FlowRow *row, int f, int column,
			  const char *tok, size_t len)
{
	const FlowFieldInfo *info = &flow_fields[f];
	FlowValue  *v = &row->v[f];
	uint64_t	u;

	switch ((FlowKind) info->kind)
	{
		case FK_INT16:
			if (!parse_uint(tok, len, 32767, &u))
				goto bad_int;
			v->i = (int64_t) u;
			break;
		case FK_PORT:
			if (!parse_uint(tok, len, 65535, &u))
				goto bad_int;
			v->i = (int64_t) u;
			break;
		case FK_PROTOCOL:
			if (!parse_uint(tok, len, 255, &u))
				goto bad_int;
			v->i = (int64_t) u;
			break;
		case FK_INT64:
			if (!parse_uint(tok, len, INT64_MAX, &u))
				goto bad_int;
			v->i = (int64_t) u;
			break;
		case FK_TIME:
			if (!parse_uint(tok, len, MAX_MILLIS, &u))
			{
				set_error(p, info->name, column, tok, len,
						  "invalid timestamp: expected Unix seconds or milliseconds");
				return false;
			}
			v->i = (u > MAX_SECONDS) ? (int64_t) u * 1000 : (int64_t) u * 1000000;
			break;
		case FK_ADDR:
			if (!flow_parse_addr(tok, len, &v->addr))
			{
				set_error(p, info->name, column, tok, len, "invalid IP address");
				return false;
			}
			break;
		case FK_ACTION:
		case FK_LOG_STATUS:
		case FK_DIRECTION:
		case FK_PROVIDER:
			v->i = flow_label_code((FlowKind) info->kind, tok, len);
			if (v->i == 0)
			{
				set_error(p, info->name, column, tok, len,
						  info->kind == FK_ACTION ? "invalid action: expected ACCEPT or REJECT" :
						  info->kind == FK_LOG_STATUS ? "invalid log-status: expected OK, NODATA or SKIPDATA" :
						  "invalid flow-direction: expected ingress or egress");
				return false;
			}
			break;
		case FK_ID:
		case FK_TEXT:
			if (!valid_text((const unsigned char *) tok, len))
			{
				set_error(p, info->name, column, tok, len,
						  "invalid text: control character or malformed UTF-8");
				return false;
			}
			v->str.ptr = tok;
			v->str.len = (uint32_t) len;
			break;
	}
	row->present[f >> 6] |= UINT64_C(1) << (f & 63);
	return true;

bad_int:
	set_error(p, info->name, column, tok, len,
			  info->kind == FK_PORT ? "invalid port: expected an integer 0..65535" :
			  info->kind == FK_PROTOCOL ? "invalid protocol: expected an integer 0..255" :
			  info->kind == FK_INT16 ? "invalid number: expected an integer 0..32767" :
			  "invalid number: expected a non-negative integer");
	return false;
}

FlowLineType
flow_parse_line(FlowParser *p, const char *line, size_t len, FlowRow *row)
{
	const char *s = line;
	const char *end = line + len;
	const FlowFormat *fmt = &p->format;
	int			col = 0;
	int			unk = 0;

	if (end > s && end[-1] == '\r')
		end--;
	while (s < end && is_blank(*s))
		s++;
	if (s == end)
		return FLOW_LINE_BLANK;

	if (*s >= 'a' && *s <= 'z' && looks_like_header(s, end))
	{
		FlowFormat	next;

		if (!format_from_names(p, &next, s, end - s))
			return FLOW_LINE_ERROR;
		p->format = next;
		p->headers++;
		return FLOW_LINE_HEADER;
	}

	row->present[0] = row->present[1] = 0;
	row->nunknown = fmt->nunknown;
	row->extra_json.ptr = NULL;
	flow_row_set(row, FF_PROVIDER, FLOW_PROVIDER_AWS);
	while (s < end)
	{
		const char *tok = s;
		size_t		toklen;
		int			f;

		while (s < end && !is_blank(*s))
			s++;
		toklen = s - tok;
		if (col >= fmt->ncolumns)
		{
			set_error(p, NULL, col + 1, tok, toklen,
					  "more fields than the format has");
			snprintf(p->error.message, sizeof(p->error.message),
					 "more fields than the format's %d", fmt->ncolumns);
			return FLOW_LINE_ERROR;
		}
		f = fmt->field[col];
		if (f < 0)
		{
			if (!valid_text((const unsigned char *) tok, toklen))
			{
				set_error(p, fmt->unknown_name[unk], col + 1, tok, toklen,
						  "invalid text: control character or malformed UTF-8");
				return FLOW_LINE_ERROR;
			}
			row->unknown[unk].ptr = tok;
			row->unknown[unk].len = (uint32_t) toklen;
			row->unknown_null[unk] = (toklen == 1 && *tok == '-');
			unk++;
		}
		else if (!(toklen == 1 && *tok == '-') &&
				 !convert_token(p, row, f, col + 1, tok, toklen))
			return FLOW_LINE_ERROR;
		col++;
		while (s < end && is_blank(*s))
			s++;
	}
	if (col < fmt->ncolumns)
	{
		int			f = fmt->field[col];
		const char *name = f >= 0 ? flow_fields[f].name : fmt->unknown_name[unk];

		set_error(p, name, col + 1, NULL, 0, "");
		snprintf(p->error.message, sizeof(p->error.message),
				 "missing field: the line has %d fields, the format %d",
				 col, fmt->ncolumns);
		return FLOW_LINE_ERROR;
	}
	return FLOW_LINE_RECORD;
}
