/*
 * parse_funcs.c
 *		SQL face of the parser: vpcflow.parse(), vpcflow.fields(), and the
 *		conversion of a parsed row into the store's column values that
 *		ingest.c shares.
 */
#include "postgres.h"

#include <sys/socket.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "port/pg_bitutils.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "cloudflow.h"
#include "envelope.h"
#include "common/hashfn.h"
#include "utils/memutils.h"
#include "vpcflow.h"

/* res: a buffer of the caller's, reused row after row */
static Datum
addr_datum(const FlowAddr *a, inet *res)
{
	int			nbytes = (a->family == 4) ? 4 : 16;

	res->inet_data.family = (a->family == 4) ? PGSQL_AF_INET : PGSQL_AF_INET6;
	res->inet_data.bits = nbytes * 8;
	memcpy(res->inet_data.ipaddr, a->bytes, nbytes);
	SET_VARSIZE(res, VARHDRSZ + offsetof(inet_struct, ipaddr) + nbytes);
	return InetPGetDatum(res);
}

/*
 * The datums are valid until the next call: addresses and ids are built in
 * per-backend buffers, one per field (callers copy each row into a tuple or a
 * tuplestore before converting the next one), text is palloc'd.
 */
void
flow_row_to_datums(const FlowRow *row, Datum *values, bool *nulls)
{
	static inet addr_buf[FF_COUNT];
	static AwsidBuf id_buf[FF_COUNT];

	memset(nulls, true, sizeof(bool) * FF_COUNT);
	/* visit only the fields present: most rows fill a few of the 72 */
	for (int w = 0; w < 2; w++)
	{
		uint64		bits = row->present[w];

		while (bits != 0)
		{
			int			f = w * 64 + pg_rightmost_one_pos64(bits);
			const FlowValue *v = &row->v[f];

			bits &= bits - 1;
			nulls[f] = false;
			switch ((FlowKind) flow_fields[f].kind)
			{
				case FK_INT16:
				case FK_PROTOCOL:
					values[f] = Int16GetDatum((int16) v->i);
					break;
				case FK_PORT:
					values[f] = Int32GetDatum((int32) v->i);
					break;
				case FK_INT64:
					values[f] = Int64GetDatum(v->i);
					break;
				case FK_TIME:
					values[f] = TimestampTzGetDatum(v->i - UNIX_TO_PG_USECS);
					break;
				case FK_ADDR:
					values[f] = addr_datum(&v->addr, &addr_buf[f]);
					break;
				case FK_ID:
					values[f] = awsid_from_cstring_cached(v->str.ptr, v->str.len, &id_buf[f]);
					break;
				case FK_TEXT:
					values[f] = PointerGetDatum(cstring_to_text_with_len(v->str.ptr, v->str.len));
					break;
				case FK_ACTION:
				case FK_LOG_STATUS:
				case FK_DIRECTION:
				case FK_PROVIDER:
					values[f] = CharGetDatum((char) v->i);
					break;
			}
		}
	}
}

/*
 * jsonb for the GCP / Azure readers' extra object (valid JSON by
 * construction).  Flow logs repeat the same few objects (a peer VM and its
 * VPC, a location, an Azure ACL) row after row, so conversions are kept in
 * a small direct-mapped cache keyed by the text: the datum is valid until
 * the next call, callers copy it into their tuple.
 */
#define EXTRA_CACHE_SLOTS 1024

typedef struct ExtraSlot
{
	char	   *text;
	uint32		len;
	Datum		datum;
} ExtraSlot;

static Datum
extra_json_datum(const char *text, uint32 len)
{
	static MemoryContext cache_cxt = NULL;
	static ExtraSlot *slots = NULL;
	ExtraSlot  *slot;
	MemoryContext old;
	char	   *tmp;

	if (cache_cxt == NULL)
	{
		cache_cxt = AllocSetContextCreate(TopMemoryContext, "vpcflow extra cache",
										  ALLOCSET_DEFAULT_SIZES);
		slots = MemoryContextAllocZero(cache_cxt, sizeof(ExtraSlot) * EXTRA_CACHE_SLOTS);
	}
	slot = &slots[hash_bytes((const unsigned char *) text, (int) len) % EXTRA_CACHE_SLOTS];
	if (slot->text != NULL && slot->len == len && memcmp(slot->text, text, len) == 0)
		return slot->datum;
	if (slot->text != NULL)
	{
		pfree(slot->text);
		pfree(DatumGetPointer(slot->datum));
		slot->text = NULL;
	}
	/* long objects are rare and not worth keeping */
	if (len > 4096)
		return DirectFunctionCall1(jsonb_in, CStringGetDatum(pnstrdup(text, len)));
	old = MemoryContextSwitchTo(cache_cxt);
	tmp = pnstrdup(text, len);
	slot->datum = DirectFunctionCall1(jsonb_in, CStringGetDatum(tmp));
	slot->text = tmp;
	slot->len = len;
	MemoryContextSwitchTo(old);
	return slot->datum;
}

/* Values of header columns we do not know, kept as {"name": "value"}. */
Datum
flow_row_extra_jsonb(const FlowParser *parser, const FlowRow *row, bool *isnull)
{
	const FlowFormat *fmt = &parser->format;
	StringInfoData buf;
	char	   *tmp;

	if (row->extra_json.ptr != NULL)
	{
		*isnull = false;
		return extra_json_datum(row->extra_json.ptr, row->extra_json.len);
	}
	if (fmt->nunknown == 0)
	{
		*isnull = true;
		return (Datum) 0;
	}
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < fmt->nunknown && i < row->nunknown; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, fmt->unknown_name[i]);
		appendStringInfoString(&buf, ": ");
		if (row->unknown_null[i])
			appendStringInfoString(&buf, "null");
		else
		{
			tmp = pnstrdup(row->unknown[i].ptr, row->unknown[i].len);
			escape_json(&buf, tmp);
			pfree(tmp);
		}
	}
	appendStringInfoChar(&buf, '}');
	*isnull = false;
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/* A token made printable for messages: \xNN for anything not plain ASCII. */
static char *
printable_token(const char *s, size_t len)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (size_t i = 0; i < len && i < 200; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			appendStringInfoChar(&buf, (char) c);
		else
			appendStringInfo(&buf, "\\x%02x", c);
	}
	if (len > 200)
		appendStringInfoString(&buf, "...");
	return buf.data;
}

char *
flow_error_detail(const FlowParser *parser)
{
	const FlowError *e = &parser->error;
	StringInfoData buf;

	initStringInfo(&buf);
	if (e->field != NULL)
		appendStringInfo(&buf, "field %s (column %d): ", e->field, e->column);
	else if (e->column > 0)
		appendStringInfo(&buf, "column %d: ", e->column);
	appendStringInfoString(&buf, e->message);
	if (e->value.ptr != NULL)
		appendStringInfo(&buf, ": \"%s\"", printable_token(e->value.ptr, e->value.len));
	return buf.data;
}

void
flow_report_parse_error(const FlowParser *parser, const char *source, uint64 line_no)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid flow-log record in %s line " UINT64_FORMAT ", %s",
					source, line_no, flow_error_detail(parser))));
}

/* The store's column for each attribute of a tuple descriptor. */
int16 *
flow_attr_map(TupleDesc desc)
{
	int16	   *map = palloc(sizeof(int16) * desc->natts);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = NameStr(att->attname);

		map[i] = FLOW_ATTR_NONE;
		if (att->attisdropped)
			continue;
		if (strcmp(name, "extra") == 0)
			map[i] = FLOW_ATTR_EXTRA;
		else if (strcmp(name, "ingest_id") == 0)
			map[i] = FLOW_ATTR_INGEST_ID;
		else
			for (int f = 0; f < FF_COUNT; f++)
				if (strcmp(name, flow_fields[f].column) == 0)
				{
					map[i] = (int16) f;
					break;
				}
	}
	return map;
}

void
flow_fill_tuple(const FlowParser *parser, const FlowRow *row, const int16 *map,
				int natts, int32 ingest_id, Datum *values, bool *nulls)
{
	Datum		fv[FF_COUNT];
	bool		fn[FF_COUNT];

	flow_row_to_datums(row, fv, fn);
	for (int i = 0; i < natts; i++)
	{
		int			f = map[i];

		if (f >= 0)
		{
			values[i] = fv[f];
			nulls[i] = fn[f];
		}
		else if (f == FLOW_ATTR_EXTRA)
			values[i] = flow_row_extra_jsonb(parser, row, &nulls[i]);
		else if (f == FLOW_ATTR_INGEST_ID && ingest_id > 0)
		{
			values[i] = Int32GetDatum(ingest_id);
			nulls[i] = false;
		}
		else
			nulls[i] = true;
	}
}

/*
 * Hand each record line of a whole in-memory document to fn: the lines of
 * flow-log text, or the messages of JSON envelopes (CloudWatch Logs
 * subscription payloads, {"message": ...} lines, filter-log-events output),
 * each split at its newlines.  Line numbers are the document's: for JSON,
 * the line where the message starts.
 */
void
flow_document_lines(const char *source, const char *buf, size_t len,
					FlowLineFn fn, void *arg)
{
	if (flow_envelope_detect(buf, len))
	{
		FlowEnvelope *e = palloc(sizeof(FlowEnvelope));
		size_t		cap = (size_t) vpcflow_max_line_length + 1;
		char	   *msg = palloc(cap);
		size_t		mlen;
		int			r;

		flow_envelope_init(e, buf, len);
		while ((r = flow_envelope_next(e, msg, cap, &mlen)) != 0)
		{
			const char *p = msg;
			const char *end;

			if (r < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid JSON envelope in %s line %zu (event %zu): %s",
								source, e->line, e->event, e->error)));
			end = msg + mlen;
			while (p < end)
			{
				const char *nl = memchr(p, '\n', end - p);
				const char *eol = nl ? nl : end;

				fn(arg, p, eol - p, e->line);
				p = eol + 1;
			}
		}
		pfree(msg);
		pfree(e);
		return;
	}
	{
		const char *p = buf;
		const char *end = buf + len;
		uint64		line_no = 0;

		while (p < end)
		{
			const char *nl = memchr(p, '\n', end - p);
			const char *eol = nl ? nl : end;

			fn(arg, p, eol - p, ++line_no);
			p = eol + 1;
		}
	}
}

typedef struct ParseState
{
	FlowParser	parser;
	FlowRow		row;
	ReturnSetInfo *rsinfo;
	int16	   *map;
	Datum	   *values;
	bool	   *nulls;
} ParseState;

static void
parse_one_line(void *arg, const char *line, size_t len, uint64 line_no)
{
	ParseState *ps = (ParseState *) arg;
	TupleDesc	desc = ps->rsinfo->setDesc;

	switch (flow_parse_line(&ps->parser, line, len, &ps->row))
	{
		case FLOW_LINE_RECORD:
			flow_fill_tuple(&ps->parser, &ps->row, ps->map, desc->natts, 0,
							ps->values, ps->nulls);
			tuplestore_putvalues(ps->rsinfo->setResult, desc, ps->values, ps->nulls);
			break;
		case FLOW_LINE_ERROR:
			flow_report_parse_error(&ps->parser, "input", line_no);
			break;
		case FLOW_LINE_HEADER:
		case FLOW_LINE_BLANK:
			break;
	}
}

static void
parse_cloud_row(void *arg, FlowRow *row, const char *raw, size_t rawlen, size_t line)
{
	ParseState *ps = (ParseState *) arg;
	TupleDesc	desc = ps->rsinfo->setDesc;

	flow_fill_tuple(&ps->parser, row, ps->map, desc->natts, 0, ps->values, ps->nulls);
	tuplestore_putvalues(ps->rsinfo->setResult, desc, ps->values, ps->nulls);
}

static void
parse_cloud_bad(void *arg, const char *raw, size_t rawlen, size_t line, const char *field,
				const char *message)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid flow-log record in input line %zu, %s%s%s", line,
					field ? "field " : "", field ? field : "", field ? ": " : ""),
			 errdetail("%s", message)));
}

/*
 * vpcflow.parse(data text, format text DEFAULT NULL) RETURNS SETOF vpcflow.flows
 * Every record becomes a row of the store; a bad line is an error naming it.
 * GCP and Azure documents (detected, or format => 'gcp', 'azure-nsg',
 * 'azure-vnet') give one row per entry or flow tuple.
 */
PG_FUNCTION_INFO_V1(vpcflow_parse);
Datum
vpcflow_parse(PG_FUNCTION_ARGS)
{
	ParseState *ps;
	text	   *data;
	int			provider;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	data = PG_GETARG_TEXT_PP(0);
	ps = palloc0(sizeof(ParseState));
	flow_parser_init(&ps->parser);
	if (!PG_ARGISNULL(1))
		provider = cloud_format_code(VARDATA_ANY(PG_GETARG_TEXT_PP(1)),
									 VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(1)));
	else
		provider = cloud_detect(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data));
	if (!PG_ARGISNULL(1) && provider == 0)
	{
		text	   *format = PG_GETARG_TEXT_PP(1);

		if (!flow_parser_set_format(&ps->parser, VARDATA_ANY(format), VARSIZE_ANY_EXHDR(format)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid flow-log format: %s", flow_error_detail(&ps->parser))));
	}
	ps->rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ps->map = flow_attr_map(ps->rsinfo->setDesc);
	ps->values = palloc(sizeof(Datum) * ps->rsinfo->setDesc->natts);
	ps->nulls = palloc(sizeof(bool) * ps->rsinfo->setDesc->natts);
	if (provider > FLOW_PROVIDER_AWS)
	{
		CloudReader *r = palloc(sizeof(CloudReader));

		if (cloud_parse(r, provider, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), 0,
						parse_cloud_row, parse_cloud_bad, ps) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid %s flow-log JSON in input line %zu: %s",
							flow_label_name(FK_PROVIDER, provider), r->js.line, r->error)));
		return (Datum) 0;
	}
	flow_document_lines("input", VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
						parse_one_line, ps);
	return (Datum) 0;
}

/* vpcflow.fields(): the field catalogue, for documentation and checks. */
PG_FUNCTION_INFO_V1(vpcflow_fields);
Datum
vpcflow_fields(PG_FUNCTION_ARGS)
{
	static const char *const kind_names[] = {
		"smallint", "integer", "smallint", "bigint", "timestamptz", "inet",
		"vpcflow.awsid", "text", "vpcflow.flow_action", "vpcflow.log_status",
		"vpcflow.flow_direction", "vpcflow.cloud_provider"
	};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int f = 0; f < FF_COUNT; f++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int32GetDatum(f + 1);
		values[1] = CStringGetTextDatum(flow_fields[f].name);
		values[2] = CStringGetTextDatum(flow_fields[f].column);
		values[3] = CStringGetTextDatum(kind_names[flow_fields[f].kind]);
		values[4] = Int32GetDatum(flow_fields[f].version);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
