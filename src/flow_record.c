/*
 * flow_record.c
 *		vpcflow.flow_record: one parsed flow-log record (the v2..v5 fields)
 *		in a fixed 320-byte value.
 *
 * Numbers and addresses sit at fixed offsets; the twelve id and name
 * fields share a packed string area, each as [length][idcodec encoding],
 * so a typical record's ids take about half their text size.  Unused
 * bytes are always zero, which makes equality and hashing plain memcmp
 * and hash_any over the value (record dedupe relies on that).
 */
#include "postgres.h"

#include <sys/socket.h>

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/timestamp.h"

#include "flowrec.h"
#include "idcodec.h"
#include "vpcflow.h"

#define FLOW_RECORD_SIZE	320
#define FLOW_RECORD_STRINGS FLOWREC_STRINGS
#define FLOW_RECORD_FIELDS	(FF_TRAFFIC_PATH + 1)	/* v2..v5 */
#define FLOW_RECORD_SEND_VERSION 1

typedef struct FlowRecord
{
	int64		start_us;		/* microseconds since 1970 */
	int64		end_us;
	int64		packets;
	int64		bytes;
	uint8		addr[4][16];	/* srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr */
	uint32		nulls;			/* bit f: field f (FlowFieldId) is NULL */
	uint16		version;
	uint16		srcport;
	uint16		dstport;
	uint16		tcp_flags;
	uint16		traffic_path;
	uint8		protocol;
	uint8		action;			/* label codes of flowparse.h */
	uint8		log_status;
	uint8		flow_direction;
	uint8		addr_v6;		/* bit i: addr[i] is IPv6 */
	uint8		strings_used;	/* bytes used in strings[] */
	uint8		strings[FLOW_RECORD_STRINGS];
} FlowRecord;

StaticAssertDecl(sizeof(FlowRecord) == FLOW_RECORD_SIZE, "flow_record must be 320 bytes");

/* The string fields, in their order in strings[]. */
static const int string_fields[] = {
	FF_ACCOUNT_ID, FF_INTERFACE_ID, FF_VPC_ID, FF_SUBNET_ID, FF_INSTANCE_ID,
	FF_TYPE, FF_REGION, FF_AZ_ID, FF_SUBLOCATION_TYPE, FF_SUBLOCATION_ID,
	FF_PKT_SRC_AWS_SERVICE, FF_PKT_DST_AWS_SERVICE
};
#define NUM_STRING_FIELDS ((int) lengthof(string_fields))

static int
addr_slot(int f)
{
	switch (f)
	{
		case FF_SRCADDR:
			return 0;
		case FF_DSTADDR:
			return 1;
		case FF_PKT_SRCADDR:
			return 2;
		case FF_PKT_DSTADDR:
			return 3;
	}
	return -1;
}

static inline bool
rec_isnull(const FlowRecord *r, int f)
{
	return (r->nulls >> f) & 1;
}

/* Append one string field; strings must be added in string_fields order. */
static void
rec_put_string(FlowRecord *r, const char *s, size_t len)
{
	if (!flowrec_put_string(r->strings, &r->strings_used, s, len))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ids and names of the record do not fit in a flow_record"),
				 errdetail("A flow_record holds at most %d bytes of encoded ids and names.",
						   FLOW_RECORD_STRINGS),
				 errhint("Store such records with vpcflow.parse() into vpcflow.flows.")));
}

/*
 * Find string field f; returns its encoding and length, or NULL.  Checks
 * every length against the area (flowrec.c), so a corrupt value cannot
 * over-read.
 */
static const uint8 *
rec_get_string(const FlowRecord *r, int f, size_t *len)
{
	int			k = 0;

	for (int i = 0; i < NUM_STRING_FIELDS; i++)
	{
		if (rec_isnull(r, string_fields[i]))
			continue;
		if (string_fields[i] == f)
		{
			bool		corrupt;
			const uint8 *p = flowrec_get_string(r->strings, r->strings_used, k, len, &corrupt);

			if (corrupt)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("corrupt flow_record value")));
			return p;
		}
		k++;
	}
	return NULL;
}

/* Build a record from a parsed row; fields beyond v5 must be absent. */
static FlowRecord *
record_from_row(const FlowParser *parser, const FlowRow *row)
{
	FlowRecord *r = palloc0(sizeof(FlowRecord));

	for (int f = FLOW_RECORD_FIELDS; f < FF_COUNT; f++)
		if (flow_row_has(row, f) && f != FF_PROVIDER)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("field %s is not part of flow_record (it holds the v2 to v5 fields)",
							flow_fields[f].name),
					 errhint("Use vpcflow.parse() to get every field.")));
	for (int i = 0; i < row->nunknown; i++)
		if (!row->unknown_null[i])
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("unknown field %s has a value, which flow_record cannot keep",
							parser->format.unknown_name[i]),
					 errhint("Use vpcflow.parse() to keep it in column extra.")));

	for (int f = 0; f < FLOW_RECORD_FIELDS; f++)
	{
		const FlowValue *v = &row->v[f];

		if (!flow_row_has(row, f))
		{
			r->nulls |= UINT32_C(1) << f;
			continue;
		}
		switch (f)
		{
			case FF_START:
				r->start_us = v->i;
				break;
			case FF_END:
				r->end_us = v->i;
				break;
			case FF_PACKETS:
				r->packets = v->i;
				break;
			case FF_BYTES:
				r->bytes = v->i;
				break;
			case FF_VERSION:
				r->version = (uint16) v->i;
				break;
			case FF_SRCPORT:
				r->srcport = (uint16) v->i;
				break;
			case FF_DSTPORT:
				r->dstport = (uint16) v->i;
				break;
			case FF_TCP_FLAGS:
				r->tcp_flags = (uint16) v->i;
				break;
			case FF_PROTOCOL:
				r->protocol = (uint8) v->i;
				break;
			case FF_ACTION:
				r->action = (uint8) v->i;
				break;
			case FF_LOG_STATUS:
				r->log_status = (uint8) v->i;
				break;
			case FF_FLOW_DIRECTION:
				r->flow_direction = (uint8) v->i;
				break;
			case FF_TRAFFIC_PATH:
				r->traffic_path = (uint16) v->i;
				break;
			default:
				if (addr_slot(f) >= 0)
				{
					int			slot = addr_slot(f);

					memcpy(r->addr[slot], v->addr.bytes, v->addr.family == 4 ? 4 : 16);
					if (v->addr.family == 6)
						r->addr_v6 |= 1 << slot;
				}
				break;
		}
	}
	/* strings last, in their fixed order */
	for (int i = 0; i < NUM_STRING_FIELDS; i++)
	{
		int			f = string_fields[i];

		if (flow_row_has(row, f))
			rec_put_string(r, row->v[f].str.ptr, row->v[f].str.len);
	}
	return r;
}

/* Parse one line; a header or blank line is not a record. */
static FlowRecord *
record_from_line(FlowParser *parser, const char *line, size_t len, const char *what)
{
	FlowRow    *row = palloc(sizeof(FlowRow));

	switch (flow_parse_line(parser, line, len, row))
	{
		case FLOW_LINE_RECORD:
			return record_from_row(parser, row);
		case FLOW_LINE_ERROR:
			flow_report_parse_error(parser, what, 1);
			break;
		case FLOW_LINE_HEADER:
		case FLOW_LINE_BLANK:
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("%s is not a flow-log record: \"%.*s\"", what, (int) Min(len, 200), line),
			 errhint("Pass one record line; header and blank lines hold no record.")));
	return NULL;
}

/* The text form: a v2 default line (14 fields), or the v5 29-field line. */
static FlowRecord *
record_from_text_form(const char *line, size_t len, const char *what)
{
	FlowParser	parser;
	FlowRow    *row = palloc(sizeof(FlowRow));

	switch (flowrec_parse_text(&parser, line, len, row))
	{
		case FLOW_LINE_RECORD:
			return record_from_row(&parser, row);
		case FLOW_LINE_ERROR:
			flow_report_parse_error(&parser, what, 1);
			break;
		case FLOW_LINE_HEADER:
		case FLOW_LINE_BLANK:
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("%s is not a flow-log record: \"%.*s\"", what, (int) Min(len, 200), line),
			 errhint("Pass one record line; header and blank lines hold no record.")));
	return NULL;
}

PG_FUNCTION_INFO_V1(flow_record_in);
Datum
flow_record_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);

	PG_RETURN_POINTER(record_from_text_form(s, strlen(s), "flow_record input"));
}

static void
append_time(StringInfo buf, int64 us)
{
	if (us % 1000000 == 0)
		appendStringInfo(buf, INT64_FORMAT, us / 1000000);
	else
		appendStringInfo(buf, INT64_FORMAT, us / 1000);	/* milliseconds */
}

static void
append_field(StringInfo buf, const FlowRecord *r, int f)
{
	char		tmp[2 * FLOW_RECORD_STRINGS + 64];
	int			slot = addr_slot(f);
	size_t		len;
	const uint8 *enc;

	if (buf->len > 0)
		appendStringInfoChar(buf, ' ');
	if (rec_isnull(r, f))
	{
		appendStringInfoChar(buf, '-');
		return;
	}
	if (slot >= 0)
	{
		FlowAddr	a;

		a.family = (r->addr_v6 >> slot) & 1 ? 6 : 4;
		memcpy(a.bytes, r->addr[slot], 16);
		flow_format_addr(&a, tmp, sizeof(tmp));
		appendStringInfoString(buf, tmp);
		return;
	}
	switch (f)
	{
		case FF_START:
			append_time(buf, r->start_us);
			return;
		case FF_END:
			append_time(buf, r->end_us);
			return;
		case FF_PACKETS:
			appendStringInfo(buf, INT64_FORMAT, r->packets);
			return;
		case FF_BYTES:
			appendStringInfo(buf, INT64_FORMAT, r->bytes);
			return;
		case FF_VERSION:
			appendStringInfo(buf, "%u", r->version);
			return;
		case FF_SRCPORT:
			appendStringInfo(buf, "%u", r->srcport);
			return;
		case FF_DSTPORT:
			appendStringInfo(buf, "%u", r->dstport);
			return;
		case FF_TCP_FLAGS:
			appendStringInfo(buf, "%u", r->tcp_flags);
			return;
		case FF_PROTOCOL:
			appendStringInfo(buf, "%u", r->protocol);
			return;
		case FF_TRAFFIC_PATH:
			appendStringInfo(buf, "%u", r->traffic_path);
			return;
		case FF_ACTION:
		case FF_LOG_STATUS:
		case FF_FLOW_DIRECTION:
			{
				int			code = f == FF_ACTION ? r->action :
					f == FF_LOG_STATUS ? r->log_status : r->flow_direction;
				const char *name = flow_label_name((FlowKind) flow_fields[f].kind, code);

				if (name == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("corrupt flow_record value")));
				appendStringInfoString(buf, name);
				return;
			}
	}
	enc = rec_get_string(r, f, &len);
	if (enc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt flow_record value")));
	{
		long		n = id_decode(enc, len, tmp, sizeof(tmp));

		if (n < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupt flow_record value")));
		appendBinaryStringInfo(buf, tmp, n);
	}
}

static bool
has_v3_fields(const FlowRecord *r)
{
	for (int f = FF_VPC_ID; f < FLOW_RECORD_FIELDS; f++)
		if (!rec_isnull(r, f))
			return true;
	return false;
}

PG_FUNCTION_INFO_V1(flow_record_out);
Datum
flow_record_out(PG_FUNCTION_ARGS)
{
	const FlowRecord *r = (const FlowRecord *) PG_GETARG_POINTER(0);
	int			nfields = has_v3_fields(r) ? FLOW_RECORD_FIELDS : FF_LOG_STATUS + 1;
	StringInfoData buf;

	initStringInfo(&buf);
	for (int f = 0; f < nfields; f++)
		append_field(&buf, r, f);
	PG_RETURN_CSTRING(buf.data);
}

/*
 * Binary form: a format version byte, then the text line.  The receiver
 * re-parses, so a crafted message can never produce a non-canonical or
 * out-of-range value.
 */
PG_FUNCTION_INFO_V1(flow_record_recv);
Datum
flow_record_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(msg);
	int			n;
	char	   *line;

	if (version != FLOW_RECORD_SEND_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported flow_record binary format version %d", version)));
	line = pq_getmsgtext(msg, msg->len - msg->cursor, &n);
	PG_RETURN_POINTER(record_from_text_form(line, n, "flow_record binary input"));
}

PG_FUNCTION_INFO_V1(flow_record_send);
Datum
flow_record_send(PG_FUNCTION_ARGS)
{
	char	   *line = DatumGetCString(DirectFunctionCall1(flow_record_out, PG_GETARG_DATUM(0)));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, FLOW_RECORD_SEND_VERSION);
	pq_sendtext(&buf, line, strlen(line));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* vpcflow.parse_record(line text, format text DEFAULT NULL) */
PG_FUNCTION_INFO_V1(vpcflow_parse_record);
Datum
vpcflow_parse_record(PG_FUNCTION_ARGS)
{
	text	   *line = PG_GETARG_TEXT_PP(0);
	FlowParser	parser;

	flow_parser_init(&parser);
	if (!PG_ARGISNULL(1))
	{
		text	   *format = PG_GETARG_TEXT_PP(1);

		if (!flow_parser_set_format(&parser, VARDATA_ANY(format), VARSIZE_ANY_EXHDR(format)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid flow-log format: %s", flow_error_detail(&parser))));
	}
	PG_RETURN_POINTER(record_from_line(&parser, VARDATA_ANY(line), VARSIZE_ANY_EXHDR(line),
									   "input"));
}

/* ---------- accessors: one per column type, by field ordinal ---------- */

static const FlowRecord *
get_field_arg(FunctionCallInfo fcinfo, int *f)
{
	*f = PG_GETARG_INT32(1) - 1;
	if (*f < 0 || *f >= FLOW_RECORD_FIELDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("flow_record has no field %d", *f + 1)));
	return (const FlowRecord *) PG_GETARG_POINTER(0);
}

PG_FUNCTION_INFO_V1(flow_record_get_int8);
Datum
flow_record_get_int8(PG_FUNCTION_ARGS)
{
	int			f;
	const FlowRecord *r = get_field_arg(fcinfo, &f);

	if (rec_isnull(r, f))
		PG_RETURN_NULL();
	switch (f)
	{
		case FF_VERSION:
			PG_RETURN_INT64(r->version);
		case FF_SRCPORT:
			PG_RETURN_INT64(r->srcport);
		case FF_DSTPORT:
			PG_RETURN_INT64(r->dstport);
		case FF_PROTOCOL:
			PG_RETURN_INT64(r->protocol);
		case FF_PACKETS:
			PG_RETURN_INT64(r->packets);
		case FF_BYTES:
			PG_RETURN_INT64(r->bytes);
		case FF_TCP_FLAGS:
			PG_RETURN_INT64(r->tcp_flags);
		case FF_TRAFFIC_PATH:
			PG_RETURN_INT64(r->traffic_path);
	}
	elog(ERROR, "field %s of flow_record is not a number", flow_fields[f].name);
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(flow_record_get_time);
Datum
flow_record_get_time(PG_FUNCTION_ARGS)
{
	int			f;
	const FlowRecord *r = get_field_arg(fcinfo, &f);

	if (rec_isnull(r, f))
		PG_RETURN_NULL();
	if (f != FF_START && f != FF_END)
		elog(ERROR, "field %s of flow_record is not a time", flow_fields[f].name);
	PG_RETURN_TIMESTAMPTZ((f == FF_START ? r->start_us : r->end_us) - UNIX_TO_PG_USECS);
}

PG_FUNCTION_INFO_V1(flow_record_get_inet);
Datum
flow_record_get_inet(PG_FUNCTION_ARGS)
{
	int			f;
	const FlowRecord *r = get_field_arg(fcinfo, &f);
	int			slot = addr_slot(f);
	inet	   *res;
	int			nbytes;

	if (rec_isnull(r, f))
		PG_RETURN_NULL();
	if (slot < 0)
		elog(ERROR, "field %s of flow_record is not an address", flow_fields[f].name);
	nbytes = ((r->addr_v6 >> slot) & 1) ? 16 : 4;
	res = (inet *) palloc0(sizeof(inet));
	res->inet_data.family = nbytes == 4 ? PGSQL_AF_INET : PGSQL_AF_INET6;
	res->inet_data.bits = nbytes * 8;
	memcpy(res->inet_data.ipaddr, r->addr[slot], nbytes);
	SET_VARSIZE(res, VARHDRSZ + offsetof(inet_struct, ipaddr) + nbytes);
	PG_RETURN_INET_P(res);
}

/* Any field as its flow-log text (ids, names and labels use this). */
PG_FUNCTION_INFO_V1(flow_record_get_text);
Datum
flow_record_get_text(PG_FUNCTION_ARGS)
{
	int			f;
	const FlowRecord *r = get_field_arg(fcinfo, &f);
	StringInfoData buf;

	if (rec_isnull(r, f))
		PG_RETURN_NULL();
	initStringInfo(&buf);
	append_field(&buf, r, f);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/* ---------- equality, order, hash ---------- */

static int
record_cmp(const FlowRecord *a, const FlowRecord *b)
{
	if (a->start_us != b->start_us)
		return a->start_us < b->start_us ? -1 : 1;
	if (a->end_us != b->end_us)
		return a->end_us < b->end_us ? -1 : 1;
	return memcmp(a, b, sizeof(FlowRecord));
}

#define RECORD_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	const FlowRecord *a = (const FlowRecord *) PG_GETARG_POINTER(0); \
	const FlowRecord *b = (const FlowRecord *) PG_GETARG_POINTER(1); \
	PG_RETURN_BOOL(expr); \
}

RECORD_CMP_FN(flow_record_eq, memcmp(a, b, sizeof(FlowRecord)) == 0)
RECORD_CMP_FN(flow_record_ne, memcmp(a, b, sizeof(FlowRecord)) != 0)
RECORD_CMP_FN(flow_record_lt, record_cmp(a, b) < 0)
RECORD_CMP_FN(flow_record_le, record_cmp(a, b) <= 0)
RECORD_CMP_FN(flow_record_gt, record_cmp(a, b) > 0)
RECORD_CMP_FN(flow_record_ge, record_cmp(a, b) >= 0)

PG_FUNCTION_INFO_V1(flow_record_cmp);
Datum
flow_record_cmp(PG_FUNCTION_ARGS)
{
	int			c = record_cmp((const FlowRecord *) PG_GETARG_POINTER(0),
							   (const FlowRecord *) PG_GETARG_POINTER(1));

	PG_RETURN_INT32((c > 0) - (c < 0));
}

PG_FUNCTION_INFO_V1(flow_record_hash);
Datum
flow_record_hash(PG_FUNCTION_ARGS)
{
	return hash_any((const unsigned char *) PG_GETARG_POINTER(0), sizeof(FlowRecord));
}

PG_FUNCTION_INFO_V1(flow_record_hash_extended);
Datum
flow_record_hash_extended(PG_FUNCTION_ARGS)
{
	return hash_any_extended((const unsigned char *) PG_GETARG_POINTER(0),
							 sizeof(FlowRecord), PG_GETARG_INT64(1));
}
