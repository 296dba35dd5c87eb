/*
 * flowparse.h
 *		AWS VPC Flow Logs text parser: field catalogue, formats, one line at a time.
 *
 * Pure C99 with no PostgreSQL dependency, so the server functions, the
 * libpq bulk loader and the fuzz harness share exactly one parser.  The
 * parser never allocates: string values point into the caller's line
 * buffer, which must stay alive until the row has been consumed.
 */
#ifndef VPCFLOW_FLOWPARSE_H
#define VPCFLOW_FLOWPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every field AWS documents (ENI flow logs v2..v11) and the transit gateway
 * flow log fields.  The order is the order of the store's columns.
 */
typedef enum FlowFieldId
{
	/* v2: the default format, in this order */
	FF_VERSION,
	FF_ACCOUNT_ID,
	FF_INTERFACE_ID,
	FF_SRCADDR,
	FF_DSTADDR,
	FF_SRCPORT,
	FF_DSTPORT,
	FF_PROTOCOL,
	FF_PACKETS,
	FF_BYTES,
	FF_START,
	FF_END,
	FF_ACTION,
	FF_LOG_STATUS,
	/* v3 */
	FF_VPC_ID,
	FF_SUBNET_ID,
	FF_INSTANCE_ID,
	FF_TCP_FLAGS,
	FF_TYPE,
	FF_PKT_SRCADDR,
	FF_PKT_DSTADDR,
	/* v4 */
	FF_REGION,
	FF_AZ_ID,
	FF_SUBLOCATION_TYPE,
	FF_SUBLOCATION_ID,
	/* v5 */
	FF_PKT_SRC_AWS_SERVICE,
	FF_PKT_DST_AWS_SERVICE,
	FF_FLOW_DIRECTION,
	FF_TRAFFIC_PATH,
	/* v7: ECS */
	FF_ECS_CLUSTER_ARN,
	FF_ECS_CLUSTER_NAME,
	FF_ECS_CONTAINER_INSTANCE_ARN,
	FF_ECS_CONTAINER_INSTANCE_ID,
	FF_ECS_CONTAINER_ID,
	FF_ECS_SECOND_CONTAINER_ID,
	FF_ECS_SERVICE_NAME,
	FF_ECS_TASK_DEFINITION_ARN,
	FF_ECS_TASK_ARN,
	FF_ECS_TASK_ID,
	/* v8 .. v11 */
	FF_REJECT_REASON,
	FF_RESOURCE_ID,
	FF_ENCRYPTION_STATUS,
	FF_INSTANCE_TAG,
	FF_INSTANCE_TAG_2,
	FF_INTERFACE_TAG,
	FF_INTERFACE_TAG_2,
	FF_ASG_TAG,
	FF_ASG_TAG_2,
	FF_INTERFACE_TYPE,
	FF_NEXT_HOP_INTERFACE_ID,
	FF_NEXT_HOP_SUBNET_ID,
	FF_NEXT_HOP_AZ_ID,
	FF_NEXT_HOP_VPC_ID,
	FF_NEXT_HOP_INTERFACE_TYPE,
	/* transit gateway flow logs */
	FF_RESOURCE_TYPE,
	FF_TGW_ID,
	FF_TGW_ATTACHMENT_ID,
	FF_TGW_SRC_VPC_ACCOUNT_ID,
	FF_TGW_DST_VPC_ACCOUNT_ID,
	FF_TGW_SRC_VPC_ID,
	FF_TGW_DST_VPC_ID,
	FF_TGW_SRC_SUBNET_ID,
	FF_TGW_DST_SUBNET_ID,
	FF_TGW_SRC_ENI,
	FF_TGW_DST_ENI,
	FF_TGW_SRC_AZ_ID,
	FF_TGW_DST_AZ_ID,
	FF_TGW_PAIR_ATTACHMENT_ID,
	FF_PACKETS_LOST_NO_ROUTE,
	FF_PACKETS_LOST_BLACKHOLE,
	FF_PACKETS_LOST_MTU_EXCEEDED,
	FF_PACKETS_LOST_TTL_EXPIRED,
	/*
	 * Not AWS flow-log fields (version 0, never read from a header): the
	 * source of the row, and the typed columns of the GCP and Azure
	 * readers (cloudflow.h; docs/providers.md).  AWS rows have provider
	 * 'aws' and leave the rest NULL.
	 */
	FF_PROVIDER,
	FF_REVERSE_PACKETS,
	FF_REVERSE_BYTES,
	FF_FLOW_STATE,
	FF_RULE_NAME,
	FF_RTT_MSEC,
	FF_DSCP,
	/*
	 * GCP: the peer (the end that is not the reporter): its instance and
	 * VPC, or the location of an address outside them
	 */
	FF_PEER_ACCOUNT_ID,
	FF_PEER_INSTANCE_ID,
	FF_PEER_VPC_ID,
	FF_PEER_SUBNET_ID,
	FF_PEER_REGION,
	FF_PEER_AZ_ID,
	FF_PEER_ASN,
	FF_PEER_COUNTRY,
	FF_PEER_CONTINENT,
	FF_PEER_GEO_REGION,
	FF_PEER_CITY,
	FF_COUNT
} FlowFieldId;

/* How a field's text converts; the store's column type follows from it. */
typedef enum FlowKind
{
	FK_INT16,					/* smallint, 0..32767 */
	FK_PORT,					/* integer, 0..65535 */
	FK_PROTOCOL,				/* smallint, 0..255 */
	FK_INT64,					/* bigint, >= 0 */
	FK_TIME,					/* Unix seconds or milliseconds -> microseconds */
	FK_ADDR,					/* IPv4 or IPv6 address */
	FK_ID,						/* resource id (eni-..., vpc-..., account) */
	FK_TEXT,					/* free text */
	FK_ACTION,					/* ACCEPT | REJECT */
	FK_LOG_STATUS,				/* OK | NODATA | SKIPDATA */
	FK_DIRECTION,				/* ingress | egress */
	FK_PROVIDER					/* aws | gcp | azure-nsg | azure-vnet */
} FlowKind;

typedef struct FlowFieldInfo
{
	const char *name;			/* AWS name, hyphenated: "log-status" */
	const char *column;			/* store column: "log_status" */
	uint8_t		kind;			/* FlowKind */
	uint8_t		version;		/* flow-log version that introduced it; 0: not
								 * an AWS field */
} FlowFieldInfo;

extern const FlowFieldInfo flow_fields[FF_COUNT];

/* Label codes, stable: they are the on-disk values of the 1-byte types. */
enum
{
	FLOW_ACTION_ACCEPT = 1, FLOW_ACTION_REJECT = 2
};
enum
{
	FLOW_STATUS_OK = 1, FLOW_STATUS_NODATA = 2, FLOW_STATUS_SKIPDATA = 3
};
enum
{
	FLOW_DIR_INGRESS = 1, FLOW_DIR_EGRESS = 2
};
enum
{
	FLOW_PROVIDER_AWS = 1, FLOW_PROVIDER_GCP = 2, FLOW_PROVIDER_AZURE_NSG = 3,
	FLOW_PROVIDER_AZURE_VNET = 4
};

/* label code <-> text; code 0 and unknown text give NULL / 0 */
extern const char *flow_label_name(FlowKind kind, int code);
extern int	flow_label_code(FlowKind kind, const char *s, size_t len);

/*
 * Field name lookup; '-' and '_' are equivalent.  Returns -1 if unknown.
 * Only AWS fields (version > 0): the others are never header columns.
 */
extern int	flow_field_lookup(const char *name, size_t len);

#define FLOW_MAX_COLUMNS 128
#define FLOW_MAX_NAME 64

/*
 * A record format: which field each space-separated column holds.
 * Columns whose name is not a known field are kept under their own name
 * (field = -1) so the store can keep their values in its extra column.
 */
typedef struct FlowFormat
{
	int			ncolumns;
	int16_t		field[FLOW_MAX_COLUMNS];	/* FlowFieldId, or -1 */
	int			nunknown;
	char		unknown_name[8][FLOW_MAX_NAME]; /* first 8 unknown columns */
	int16_t		unknown_column[8];
} FlowFormat;

typedef struct FlowAddr
{
	uint8_t		family;			/* 4 or 6 */
	uint8_t		bytes[16];		/* network order; IPv4 uses bytes[0..3] */
} FlowAddr;

typedef struct FlowStr
{
	const char *ptr;			/* into the line; not NUL-terminated */
	uint32_t	len;
} FlowStr;

typedef union FlowValue
{
	int64_t		i;				/* integers, label codes, times in usec */
	FlowAddr	addr;
	FlowStr		str;
} FlowValue;

/* One parsed record.  Fields absent from the format, or '-', are NULL. */
typedef struct FlowRow
{
	uint64_t	present[2];		/* bit f set: field f has a value */
	FlowValue	v[FF_COUNT];
	int			nunknown;		/* values of unknown columns, '-' = NULL */
	FlowStr		unknown[8];
	bool		unknown_null[8];
	/*
	 * The GCP and Azure readers' extra column: a JSON object's text, or
	 * ptr NULL.  When set it replaces the unknown columns above.
	 */
	FlowStr		extra_json;
} FlowRow;

static inline void
flow_row_set(FlowRow *row, int f, int64_t i)
{
	row->v[f].i = i;
	row->present[f >> 6] |= UINT64_C(1) << (f & 63);
}

static inline bool
flow_row_has(const FlowRow *row, int f)
{
	return (row->present[f >> 6] >> (f & 63)) & 1;
}

typedef enum FlowLineType
{
	FLOW_LINE_RECORD,			/* row filled */
	FLOW_LINE_HEADER,			/* format switched to this header */
	FLOW_LINE_BLANK,			/* empty or whitespace only */
	FLOW_LINE_ERROR				/* see parser->error */
} FlowLineType;

typedef struct FlowError
{
	char		message[160];
	const char *field;			/* field or column name, or NULL */
	int			column;			/* 1-based column, 0 if n/a */
	FlowStr		value;			/* offending token (into the line) */
} FlowError;

typedef struct FlowParser
{
	FlowFormat	format;
	bool		explicit_format;	/* set by flow_parser_set_format */
	uint64_t	headers;		/* header lines seen */
	FlowError	error;			/* valid after FLOW_LINE_ERROR */
} FlowParser;

/* Start with the v2 default format (14 fields). */
extern void flow_parser_init(FlowParser *p);

/*
 * Set the format of headerless input.  spec is a list of field names
 * separated by spaces or commas, optionally in AWS's "${field}" syntax,
 * or one of the names: default, v2, v3, v4, v5, tgw.  Returns false with
 * p->error set if the spec is empty or too long.
 */
extern bool flow_parser_set_format(FlowParser *p, const char *spec, size_t len);

/*
 * Parse one line (without its newline; a trailing CR is ignored).  Lines
 * that look like a header switch the format: S3 objects start with one and
 * concatenated objects repeat it.
 */
extern FlowLineType flow_parse_line(FlowParser *p, const char *line, size_t len,
									FlowRow *row);

/* Format a record's time (usec since 1970) the way AWS writes it: seconds. */
extern int	flow_format_addr(const FlowAddr *a, char *buf, size_t buflen);
extern bool flow_parse_addr(const char *s, size_t len, FlowAddr *out);

#endif							/* VPCFLOW_FLOWPARSE_H */
