/*
 * cloudflow.h
 *		GCP VPC Flow Logs and Azure NSG / VNet flow logs, read into the same
 *		FlowRow the AWS text parser fills (docs/providers.md has the
 *		mapping onto the store's columns).
 *
 * Pure C99 with no PostgreSQL dependency, shared by the server's ingest
 * and parse() and by the libpq loader's dry run; the JSON steps are the
 * shared scanner's (jsonscan.h).  The document is read whole from the
 * caller's buffer; each row is handed to a callback while the strings it
 * points to are valid, and each bad entry or tuple to another callback
 * with its raw bytes, for quarantine.  Malformed JSON in a one-line entry
 * of NDJSON is such a bad item too (the line is skipped); elsewhere it ends
 * the document (cloud_parse returns -1 with the error).  Nothing outside
 * buf[0..len) is read, whatever the bytes.
 *
 * Documents:
 *   gcp         Cloud Logging LogEntry objects (logName .../vpc_flows of
 *               compute.googleapis.com or networkmanagement.googleapis.com)
 *               or bare jsonPayload objects: one per line, back to back, or
 *               in a JSON array.
 *   azure-nsg   NSG flow logs v1 / v2: {"records": [...]} (the blob's
 *               PT1H.json), records one per line, or an array of records;
 *               or bare flowTuples strings, one per line (text).
 *   azure-vnet  VNet flow logs (flowLogVersion 4), the same shapes.
 */
#ifndef VPCFLOW_CLOUDFLOW_H
#define VPCFLOW_CLOUDFLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "flowparse.h"
#include "jsonscan.h"

/*
 * The provider of a document from its first bytes (up to 64 kB):
 * FLOW_PROVIDER_GCP, _AZURE_NSG or _AZURE_VNET, or 0 for AWS (flow-log
 * text and CloudWatch envelopes).
 */
extern int	cloud_detect(const char *buf, size_t len);

/*
 * A format => name: "gcp", "azure-nsg" or "azure-vnet" give the provider
 * code, "aws" gives FLOW_PROVIDER_AWS, anything else 0 (an AWS field list).
 */
extern int	cloud_format_code(const char *name, size_t len);

/*
 * A row: valid only during the call.  raw[0..rawlen) are the bytes of its
 * entry or tuple in the document; line: the 1-based line where they start.
 */
typedef void (*CloudRowFn) (void *arg, FlowRow *row, const char *raw, size_t rawlen,
							size_t line);

/*
 * A bad entry or tuple: raw[0..rawlen) are its bytes in the document,
 * field the offending field (or NULL), message says what is wrong.
 */
typedef void (*CloudBadFn) (void *arg, const char *raw, size_t rawlen, size_t line,
							const char *field, const char *message);

#define CLOUD_ARENA_SIZE	16384	/* decoded strings of one row */
#define CLOUD_EXTRA_SIZE	65536	/* the extra object of one row */

typedef struct CloudReader
{
	int			provider;
	JsonScan	js;
	CloudRowFn	row_fn;
	CloudBadFn	bad_fn;
	void	   *arg;
	FlowRow		row;
	/*
	 * Azure blobs grow: Azure appends records to a PT1H.json during its
	 * hour.  When the document is one {"records": [...]} blob, records
	 * that end at or before resume_at (cloud_parse's argument: where an
	 * earlier copy of the blob ended, once that prefix is known to be the
	 * same bytes) are skipped and counted in skipped_records; records_end
	 * is the offset just after the last record read (0 when the document
	 * is not a single blob), for the next copy.
	 */
	size_t		resume_at;
	size_t		records_end;
	size_t		skipped_records;
	/* counters */
	size_t		rows;
	size_t		bad;
	/* after -1: what is wrong with the document, at js.line */
	char		error[200];
	/* private scratch */
	char		message[200];
	const char *bad_field;
	size_t		first_value;	/* offset of the first top-level value */
	bool		in_blob_records;	/* between the blob's records */
	size_t		arena_used;
	char		arena[CLOUD_ARENA_SIZE];
	size_t		extra_len;
	char		extra[CLOUD_EXTRA_SIZE];
} CloudReader;

/*
 * Read the document buf[0..len) of provider (a FLOW_PROVIDER_* code other
 * than AWS).  Returns 0 when the whole document was read (bad entries and
 * tuples went to bad_fn), -1 on malformed JSON (r->error, r->js.line).
 * resume_at: 0, or where an earlier copy of this Azure blob ended (see
 * above).  r is large (about 100 kB): allocate it, not on the stack.
 */
extern int	cloud_parse(CloudReader *r, int provider, const char *buf, size_t len,
						size_t resume_at, CloudRowFn row_fn, CloudBadFn bad_fn, void *arg);

/*
 * True when buf (the start of a document) holds one whole JSON object on
 * its first line: NDJSON, whose entries can be read a piece at a time.
 */
extern bool cloud_is_ndjson(const char *buf, size_t len);

/*
 * A piece of an NDJSON document (whole lines, as cloud_is_ndjson found it):
 * read like cloud_parse, each line an entry, even when the piece's first
 * line is malformed.  js.line and the lines handed to the callbacks count
 * from 1 at buf.
 */
extern int	cloud_parse_lines(CloudReader *r, int provider, const char *buf, size_t len,
							  CloudRowFn row_fn, CloudBadFn bad_fn, void *arg);

#endif							/* VPCFLOW_CLOUDFLOW_H */
