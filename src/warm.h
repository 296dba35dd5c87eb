/*
 * warm.h
 *		Shared pieces of the warm tier's server side: the block builder
 *		(warm_build.c) and the foreign data wrapper (warm_fdw.c).
 */
#ifndef VPCFLOW_WARM_H
#define VPCFLOW_WARM_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "utils/snapshot.h"
#include "warmcodec.h"

/* How a column of the relation is carried in blocks. */
typedef struct WarmColType
{
	uint8		kind;			/* WC_INT or WC_BYTES */
	uint8		width;			/* WC_INT: bytes */
	int16		typlen;
	bool		typbyval;
} WarmColType;

/* The codec kind for a type; errors for types blocks cannot carry. */
extern WarmColType warm_col_type(Form_pg_attribute att);

/* A codec allocator on palloc in the current memory context. */
extern const WcAlloc *warm_palloc_allocator(void);

/* The registry row of a warm partition: its side table and block layout. */
typedef struct WarmPartInfo
{
	Oid			side_relid;
	int			ncols;
	char	  **columns;		/* names, in block column order */
	int64		rows;			/* rows in blocks, at the last fold */
} WarmPartInfo;

/*
 * fresh: read the registry with the latest snapshot (writers and the
 * planner, who found the partition in the catalog after waiting for a lock
 * their statement's snapshot predates); otherwise with the active one (the
 * scan, whose blocks must match its snapshot).
 */
extern bool warm_lookup_partition(Oid relid, WarmPartInfo *info, bool fresh);

/*
 * Keep the snapshot a warm_build of a heap read with, for warm_catch_up
 * (warm_catchup.c) later in the same transaction.
 */
extern void warm_remember_build_snapshot(Oid source, Snapshot snapshot);

#endif							/* VPCFLOW_WARM_H */
