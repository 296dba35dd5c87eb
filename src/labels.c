/*
 * labels.c
 *		One-byte label types: vpcflow.flow_action (ACCEPT, REJECT),
 *		vpcflow.log_status (OK, NODATA, SKIPDATA) and vpcflow.flow_direction
 *		(ingress, egress) and vpcflow.cloud_provider (aws, gcp, azure-nsg,
 *		azure-vnet: the source of a row, docs/providers.md).
 *
 * An enum would take 4 bytes and an OID lookup per value; these take one
 * byte, the code defined in flowparse.h, and order by that code.  The
 * comparison functions are shared by all three types.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "flowparse.h"

static uint8
label_from_text(FlowKind kind, const char *type, const char *s, size_t len)
{
	int			code = flow_label_code(kind, s, len);

	if (code == 0)
	{
		StringInfoData valid;

		initStringInfo(&valid);
		for (int i = 1; flow_label_name(kind, i) != NULL; i++)
			appendStringInfo(&valid, "%s%s", i > 1 ? ", " : "", flow_label_name(kind, i));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input value for type %s: \"%.*s\"", type, (int) len, s),
				 errhint("Valid values are %s.", valid.data)));
	}
	return (uint8) code;
}

static const char *
label_to_text(FlowKind kind, const char *type, uint8 code)
{
	const char *name = flow_label_name(kind, code);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid code %d for type %s", code, type)));
	return name;
}

/* in, out, recv, send and the cast to text, for one label type */
#define LABEL_TYPE(prefix, kind, sqlname) \
PG_FUNCTION_INFO_V1(prefix##_in); \
Datum \
prefix##_in(PG_FUNCTION_ARGS) \
{ \
	const char *s = PG_GETARG_CSTRING(0); \
	PG_RETURN_CHAR(label_from_text(kind, sqlname, s, strlen(s))); \
} \
PG_FUNCTION_INFO_V1(prefix##_out); \
Datum \
prefix##_out(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_CSTRING(pstrdup(label_to_text(kind, sqlname, PG_GETARG_CHAR(0)))); \
} \
PG_FUNCTION_INFO_V1(prefix##_recv); \
Datum \
prefix##_recv(PG_FUNCTION_ARGS) \
{ \
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0); \
	int			n; \
	char	   *s = pq_getmsgtext(msg, msg->len - msg->cursor, &n); \
	PG_RETURN_CHAR(label_from_text(kind, sqlname, s, n)); \
} \
PG_FUNCTION_INFO_V1(prefix##_send); \
Datum \
prefix##_send(PG_FUNCTION_ARGS) \
{ \
	StringInfoData buf; \
	pq_begintypsend(&buf); \
	pq_sendstring(&buf, label_to_text(kind, sqlname, PG_GETARG_CHAR(0))); \
	buf.len--;		/* pq_sendstring adds a NUL: the text form has none */ \
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf)); \
} \
PG_FUNCTION_INFO_V1(prefix##_to_text); \
Datum \
prefix##_to_text(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_TEXT_P(cstring_to_text(label_to_text(kind, sqlname, PG_GETARG_CHAR(0)))); \
}

LABEL_TYPE(flow_action, FK_ACTION, "vpcflow.flow_action")
LABEL_TYPE(log_status, FK_LOG_STATUS, "vpcflow.log_status")
LABEL_TYPE(flow_direction, FK_DIRECTION, "vpcflow.flow_direction")
LABEL_TYPE(cloud_provider, FK_PROVIDER, "vpcflow.cloud_provider")

#define LABEL_CMP_FN(name, op) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_BOOL((uint8) PG_GETARG_CHAR(0) op (uint8) PG_GETARG_CHAR(1)); \
}

LABEL_CMP_FN(label_eq, ==)
LABEL_CMP_FN(label_ne, !=)
LABEL_CMP_FN(label_lt, <)
LABEL_CMP_FN(label_le, <=)
LABEL_CMP_FN(label_gt, >)
LABEL_CMP_FN(label_ge, >=)

PG_FUNCTION_INFO_V1(label_cmp);
Datum
label_cmp(PG_FUNCTION_ARGS)
{
	uint8		a = (uint8) PG_GETARG_CHAR(0);
	uint8		b = (uint8) PG_GETARG_CHAR(1);

	PG_RETURN_INT32((a > b) - (a < b));
}

PG_FUNCTION_INFO_V1(label_hash);
Datum
label_hash(PG_FUNCTION_ARGS)
{
	return hash_uint32((uint8) PG_GETARG_CHAR(0));
}

PG_FUNCTION_INFO_V1(label_hash_extended);
Datum
label_hash_extended(PG_FUNCTION_ARGS)
{
	return hash_uint32_extended((uint8) PG_GETARG_CHAR(0), PG_GETARG_INT64(1));
}
