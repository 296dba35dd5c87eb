/*
 * store_writer.h
 *		Writing parsed rows into the partitions of vpcflow.flows, in bulk.
 */
#ifndef VPCFLOW_STORE_WRITER_H
#define VPCFLOW_STORE_WRITER_H

#include "vpcflow.h"

typedef struct StoreWriter StoreWriter;

/* Start writing, in the current transaction and memory context. */
extern StoreWriter *store_writer_begin(void);

/*
 * Buffer one row for the partition holding start (created if missing).
 * Returns false, storing nothing, when the row would need more than
 * vpcflow.max_partitions_per_load partitions in this load.
 */
extern bool store_writer_add(StoreWriter *w, TimestampTz start, const FlowParser *parser,
							 const FlowRow *row, int32 ingest_id);

/* Write what is buffered, close the partitions, attach the new ones. */
extern void store_writer_finish(StoreWriter *w);

#endif							/* VPCFLOW_STORE_WRITER_H */
