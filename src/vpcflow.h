/*
 * vpcflow.h
 *		Declarations shared by the server-side modules.
 */
#ifndef VPCFLOW_H
#define VPCFLOW_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "flowparse.h"

/* Unix epoch (1970) to PostgreSQL epoch (2000), in microseconds. */
#define UNIX_TO_PG_USECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/* settings (vpcflow.c) */
extern char *vpcflow_ingest_directory;
extern int	vpcflow_max_line_length;
extern int	vpcflow_max_partitions_per_load;
extern int	vpcflow_debug_pause_after_hash;

/* shard_pushdown.c: partial aggregates on postgres_fdw shards (planner hook, GUC) */
extern bool vpcflow_partial_agg_pushdown;
extern void shard_pushdown_init(void);

/* warm_build.c: vpcflow.warm_build_memory (GUC) */
extern void warm_build_init(void);

/* awsid.c: build a vpcflow.awsid datum from an id's text */
extern Datum awsid_from_cstring_len(const char *s, size_t len);
/*
 * The same through a cache of recent encodings.  Ids of up to
 * AWSID_CACHE_MAX_ID bytes are built in *buf (the datum lives as long as
 * buf does, whatever later calls do); longer ones are palloc'd.
 */
#define AWSID_CACHE_MAX_ID 64
typedef union AwsidBuf
{
	int32		align;			/* varlena alignment */
	char		data[VARHDRSZ + AWSID_CACHE_MAX_ID + 1];	/* ID_ENCODED_MAX */
} AwsidBuf;
extern Datum awsid_from_cstring_cached(const char *s, size_t len, AwsidBuf *buf);

/*
 * parse_funcs.c: convert one parsed row into the store's column values.
 * values/nulls are indexed by FlowFieldId; the store's trailing columns
 * (extra, ingest_id) are filled by the caller.
 */
extern void flow_row_to_datums(const FlowRow *row, Datum *values, bool *nulls);
extern Datum flow_row_extra_jsonb(const FlowParser *parser, const FlowRow *row,
								  bool *isnull);

/* Tuple attributes that are not parser fields. */
#define FLOW_ATTR_NONE		(-1)
#define FLOW_ATTR_EXTRA		(-2)
#define FLOW_ATTR_INGEST_ID (-3)

/* For each attribute of desc: its FlowFieldId or a FLOW_ATTR_* code. */
extern int16 *flow_attr_map(TupleDesc desc);

/* Fill a tuple of the store's shape (through map) from a parsed row. */
extern void flow_fill_tuple(const FlowParser *parser, const FlowRow *row,
							const int16 *map, int natts, int32 ingest_id,
							Datum *values, bool *nulls);

/* Each record line of a whole document (text, or JSON envelopes). */
typedef void (*FlowLineFn) (void *arg, const char *line, size_t len, uint64 line_no);
extern void flow_document_lines(const char *source, const char *buf, size_t len,
								FlowLineFn fn, void *arg);

/* Report a parse error as an ERROR naming source, line, field and value. */
extern void flow_report_parse_error(const FlowParser *parser, const char *source,
									uint64 line_no) pg_attribute_noreturn();
extern char *flow_error_detail(const FlowParser *parser);

#endif							/* VPCFLOW_H */
