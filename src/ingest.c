/*
 * ingest.c
 *		vpcflow.ingest_file() and vpcflow.ingest_data(): load one flow-log
 *		file (a server file, or bytes a client sends; plain or gzip) into the
 *		store, exactly once, in the caller's transaction.
 *
 * The file's SHA-256 is claimed in vpcflow.ingest_log first, so a second
 * load of the same bytes is a no-op (and a concurrent one waits for the
 * first to commit or abort).  Each line is parsed and its row handed to the
 * store writer (store_writer.c), which writes partitions in bulk, with no
 * per-row SQL.  Bad lines go to vpcflow.ingest_errors or fail the load, as
 * the caller chooses.
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "cloudflow.h"
#include "envelope.h"
#include "input.h"
#include "store_writer.h"
#include "vpcflow.h"

#define READ_CHUNK		(1024 * 1024)

typedef struct Ingest
{
	const char *path;			/* as given, for messages */
	FlowParser	parser;
	int			provider;		/* format => 'gcp' etc. (cloudflow.h), or 0 */
	int64		size;			/* the file's size as stored (maybe gzip) */
	bool		quarantine;
	int32		ingest_id;
	StoreWriter *writer;
	SPIPlanPtr	error_plan;
	List	   *unknown_fields; /* names of unknown header columns */
	/* counters */
	int64		rows;
	int64		nodata;
	int64		skipdata;
	int64		errors;
	int64		bytes_read;
	uint64		line_no;
	size_t		line_base;		/* lines before the piece of NDJSON being read */
	FlowRow    *row;			/* scratch row for JSON documents */
	TimestampTz min_start;
	TimestampTz max_start;
} Ingest;

/* ---------- permissions and paths ---------- */

/*
 * pg_read_server_files members read any file, as COPY FROM does;
 * vpcflow_writer members only below vpcflow.ingest_directory.
 */
static char *
resolve_path(const char *given)
{
	char	   *path;
	char	   *resolved;
	char	   *dir;
	char	   *result;
	bool		inside;
	int			save_errno;
	Oid			writer = get_role_oid("vpcflow_writer", true);

	if (is_absolute_path(given))
		path = pstrdup(given);
	else
		path = psprintf("%s/%s", DataDir, given);
	canonicalize_path(path);

	if (has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		return path;

	if (!OidIsValid(writer) || !has_privs_of_role(GetUserId(), writer))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to ingest file \"%s\"", given),
				 errhint("Ingesting files needs membership in vpcflow_writer "
						 "(within vpcflow.ingest_directory) or pg_read_server_files.")));
	if (vpcflow_ingest_directory == NULL || vpcflow_ingest_directory[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to ingest file \"%s\"", given),
				 errdetail("vpcflow.ingest_directory is not set, so vpcflow_writer "
						   "members cannot ingest server files.")));
	/* realpath() resolves symlinks and "..", so the check sees the target */
	resolved = realpath(path, NULL);
	save_errno = errno;
	dir = realpath(vpcflow_ingest_directory, NULL);
	if (resolved == NULL)
	{

		/*
		 * Say "could not open" only for a path inside the directory: for any
		 * other the answer must not tell whether it exists.
		 */
		char	   *configured = pstrdup(vpcflow_ingest_directory);

		canonicalize_path(configured);
		inside = (dir != NULL && path_is_prefix_of_path(dir, path) && strcmp(dir, path) != 0) ||
			(path_is_prefix_of_path(configured, path) && strcmp(configured, path) != 0);
		free(dir);
		if (!inside)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("file \"%s\" is outside vpcflow.ingest_directory", given)));
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", given)));
	}
	inside = dir != NULL && path_is_prefix_of_path(dir, resolved) &&
		strcmp(dir, resolved) != 0;
	result = pstrdup(resolved);
	free(resolved);
	free(dir);
	if (!inside)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("file \"%s\" is outside vpcflow.ingest_directory", given)));
	return result;
}

/* ---------- the file ---------- */

/*
 * A file is read twice when its records are lines (AWS text, GCP NDJSON):
 * once for its SHA-256, then a chunk at a time to parse it, through one
 * buffer that stays in cache.  Reading such a file into memory whole
 * faulted in its size of fresh pages, a tenth of a GCP load's CPU; the
 * second read of bytes in the page cache costs a third of that.  The file
 * must not change in between (check_unchanged).  A gzip file, or a JSON
 * document needed whole, up to this size is read once: kept as it is
 * hashed, then parsed from memory.
 */
#define WHOLE_FILE_MAX	((int64) 512 * 1024 * 1024)

/* Whether a file starting with first[0..n) is parsed as lines, in chunks. */
static bool
parsed_in_chunks(const char *first, size_t n, int provider)
{
	if (n >= 2 && (uint8) first[0] == 0x1f && (uint8) first[1] == 0x8b)
		return false;			/* gzip: kept compressed, inflated from memory */
	if (provider == 0)
		provider = cloud_detect(first, n);
	if (provider == FLOW_PROVIDER_GCP)
		return cloud_is_ndjson(first, n);
	return provider <= FLOW_PROVIDER_AWS && !flow_envelope_detect(first, n);
}

/*
 * SHA-256 and size of a server file; *whole gets its bytes (and
 * *wholelen their number) when they are to be kept, else NULL; *seen is
 * the file's stat, to tell later whether it changed.
 */
static void
hash_file(const char *path, const char *given, int provider, uint8 *digest, int64 *size,
		  char **whole, size_t *wholelen, struct stat *seen)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	char	   *buf;
	char	   *at;
	size_t		cap;
	size_t		have = 0;
	bool		keep;
	int			fd;
	struct stat st;
	ssize_t		n = 0;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", given)));
	if (fstat(fd, &st) < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", given)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a regular file", given)));
	*seen = st;
	/* one chunk first: what it holds decides whether the file is kept */
	keep = st.st_size <= WHOLE_FILE_MAX;
	cap = READ_CHUNK;
	buf = palloc(cap);
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialize SHA-256");
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (keep && cap - have < READ_CHUNK)
		{
			/* room for the whole file and a chunk: growth shows as a short read */
			cap = Max(cap * 2, Max(have, (size_t) st.st_size) + READ_CHUNK);
			if (cap > MaxAllocHugeSize)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("file \"%s\" is too large", given)));
			buf = repalloc_huge(buf, cap);
		}
		at = keep ? buf + have : buf;
		n = read(fd, at, READ_CHUNK);
		if (n <= 0)
			break;
		if (pg_cryptohash_update(ctx, (uint8 *) at, n) < 0)
			elog(ERROR, "could not compute SHA-256");
		if (have == 0 && keep && parsed_in_chunks(buf, n, provider))
			keep = false;		/* lines: parsed in chunks, from the file */
		have += n;
	}
	if (n < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", given)));
	if (pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256");
	pg_cryptohash_free(ctx);
	CloseTransientFile(fd);
	*size = (int64) have;
	if (keep)
	{
		*whole = buf;
		*wholelen = have;
	}
	else
	{
		pfree(buf);
		*whole = NULL;
		*wholelen = 0;
	}
}

/* ---------- records and errors ---------- */

static void
quarantine_line(Ingest *st, const char *line, size_t len, const char *message,
				const FlowError *err)
{
	Oid			types[7] = {INT4OID, TEXTOID, INT8OID, INT4OID, TEXTOID, TEXTOID, BYTEAOID};
	Datum		args[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bytea	   *raw = palloc(VARHDRSZ + len);

	if (!st->quarantine)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid flow-log record in %s line " UINT64_FORMAT ", %s",
						st->path, st->line_no, message)));
	if (st->error_plan == NULL)
	{
		st->error_plan = SPI_prepare("INSERT INTO vpcflow.ingest_errors "
									 "(ingest_id, source, line_no, column_no, field, message, raw_line) "
									 "VALUES ($1, $2, $3, $4, $5, $6, $7)", 7, types);
		if (st->error_plan == NULL)
			elog(ERROR, "could not prepare the quarantine insert");
	}
	SET_VARSIZE(raw, VARHDRSZ + len);
	memcpy(VARDATA(raw), line, len);
	args[0] = Int32GetDatum(st->ingest_id);
	args[1] = CStringGetTextDatum(st->path);
	args[2] = Int64GetDatum((int64) st->line_no);
	args[3] = Int32GetDatum(err ? err->column : 0);
	if (err && err->field)
		args[4] = CStringGetTextDatum(err->field);
	else
		nulls[4] = 'n';
	args[5] = CStringGetTextDatum(message);
	args[6] = PointerGetDatum(raw);
	if (SPI_execute_plan(st->error_plan, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record a quarantined line");
	st->errors++;
}

static void
note_header(Ingest *st)
{
	const FlowFormat *fmt = &st->parser.format;

	for (int i = 0; i < fmt->nunknown; i++)
	{
		const char *name = fmt->unknown_name[i];
		ListCell   *lc;
		bool		seen = false;

		foreach(lc, st->unknown_fields)
			if (strcmp((char *) lfirst(lc), name) == 0)
				seen = true;
		if (!seen)
		{
			st->unknown_fields = lappend(st->unknown_fields, pstrdup(name));
			ereport(NOTICE,
					(errmsg("%s line " UINT64_FORMAT ": unknown field \"%s\" kept in column extra",
							st->path, st->line_no, name)));
		}
	}
}

static void store_row(Ingest *st, FlowRow *row, const char *line, size_t len);
static void hash_bytes_sha256(const char *data, size_t len, uint8 *digest);

static void
handle_line(Ingest *st, const char *line, size_t len, FlowRow *row)
{
	if ((int64) len > vpcflow_max_line_length)
	{
		char	   *msg = psprintf("line is longer than vpcflow.max_line_length (%d bytes)",
									vpcflow_max_line_length);

		quarantine_line(st, line, Min(len, (size_t) vpcflow_max_line_length), msg, NULL);
		return;
	}
	switch (flow_parse_line(&st->parser, line, len, row))
	{
		case FLOW_LINE_BLANK:
			return;
		case FLOW_LINE_HEADER:
			note_header(st);
			return;
		case FLOW_LINE_ERROR:
			quarantine_line(st, line, len, flow_error_detail(&st->parser), &st->parser.error);
			return;
		case FLOW_LINE_RECORD:
			break;
	}
	store_row(st, row, line, len);
}

/* Hand a parsed row to the store writer; line[0..len) is its raw text. */
static void
store_row(Ingest *st, FlowRow *row, const char *line, size_t len)
{
	TimestampTz start;

	if (!flow_row_has(row, FF_START))
	{
		FlowError	err = {.field = "start", .column = 0};

		quarantine_line(st, line, len,
						"record has no start time, so it has no time partition "
						"(the format lacks the start field, or it is \"-\")", &err);
		return;
	}

	start = (TimestampTz) (row->v[FF_START].i - UNIX_TO_PG_USECS);
	if (!store_writer_add(st->writer, start, &st->parser, row, st->ingest_id))
	{
		FlowError	err = {.field = "start", .column = 0};

		quarantine_line(st, line, len,
						psprintf("record would need more than vpcflow.max_partitions_per_load (%d) "
								 "partitions in one load", vpcflow_max_partitions_per_load), &err);
		return;
	}

	st->rows++;
	if (flow_row_has(row, FF_LOG_STATUS))
	{
		if (row->v[FF_LOG_STATUS].i == FLOW_STATUS_NODATA)
			st->nodata++;
		else if (row->v[FF_LOG_STATUS].i == FLOW_STATUS_SKIPDATA)
			st->skipdata++;
	}
	if (st->rows == 1 || start < st->min_start)
		st->min_start = start;
	if (st->rows == 1 || start > st->max_start)
		st->max_start = start;
}

static void
envelope_line(void *arg, const char *line, size_t len, uint64 line_no)
{
	Ingest	   *st = (Ingest *) arg;

	st->line_no = line_no;
	handle_line(st, line, len, st->row);
}

/*
 * The whole input as one buffer (JSON documents are parsed whole): the
 * first `have` bytes, already read into `first`, then the rest; the buffer
 * starts at cap bytes and doubles as needed.  Sets *len.
 */
static char *
read_document(Ingest *st, IngestInput *in, const char *first, size_t have, size_t cap,
			  size_t *len)
{
	char	   *doc = palloc_extended(cap, MCXT_ALLOC_HUGE);
	size_t		n;

	memcpy(doc, first, have);
	for (;;)
	{
		if (cap - have < READ_CHUNK)
		{
			if (cap >= MaxAllocHugeSize / 2)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("JSON document \"%s\" is too large", st->path)));
			cap *= 2;
			doc = repalloc_huge(doc, cap);
		}
		n = input_read(in, doc + have, READ_CHUNK);
		if (n == 0)
			break;
		have += n;
		st->bytes_read += n;
	}
	*len = have;
	return doc;
}

/*
 * A JSON document (CloudWatch Logs payload, NDJSON of {"message": ...}):
 * read it whole, then take its records.  Such files are small, one
 * delivery batch each; the size limit keeps a hostile one bounded.
 */
static void
read_envelopes(Ingest *st, IngestInput *in, char *first, size_t have, FlowRow *row)
{
	char	   *doc = read_document(st, in, first, have, Max(have * 2, (size_t) READ_CHUNK), &have);

	st->row = row;
	flow_document_lines(st->path, doc, have, envelope_line, st);
	pfree(doc);
}

/* ---------- GCP and Azure documents (cloudflow.c) ---------- */

static void
cloud_row(void *arg, FlowRow *row, const char *raw, size_t rawlen, size_t line)
{
	Ingest	   *st = (Ingest *) arg;

	st->line_no = st->line_base + line;
	store_row(st, row, raw, Min(rawlen, (size_t) vpcflow_max_line_length));
}

static void
cloud_bad(void *arg, const char *raw, size_t rawlen, size_t line, const char *field,
		  const char *message)
{
	Ingest	   *st = (Ingest *) arg;
	FlowError	err = {.field = field, .column = 0};

	st->line_no = st->line_base + line;
	quarantine_line(st, raw, Min(rawlen, (size_t) vpcflow_max_line_length),
					field ? psprintf("field %s: %s", field, message) : pstrdup(message),
					&err);
}

/*
 * Azure appends records to a blob (PT1H.json) during its hour, so a later
 * copy of a blob starts with the bytes of an earlier one.  Where an
 * earlier load of the same file name recorded where its records ended and
 * the SHA-256 of the bytes before, and this document starts with the same
 * bytes, those records are already in the store: the reader skips them.
 */
static size_t
blob_resume_offset(Ingest *st, const char *doc, size_t len)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	bool		isnull;
	int64		offset;
	bytea	   *want;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	args[0] = CStringGetTextDatum(st->path);
	args[1] = Int32GetDatum(st->ingest_id);
	if (SPI_execute_with_args("SELECT resume_offset, resume_sha256 FROM vpcflow.ingest_log "
							  "WHERE file_name = $1 AND ingest_id <> $2 AND resume_offset IS NOT NULL "
							  "AND status IN ('loaded', 'loaded_with_errors') "
							  "ORDER BY ingest_id DESC LIMIT 1",
							  2, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up earlier copies of \"%s\"", st->path);
	if (SPI_processed != 1)
		return 0;
	offset = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	want = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull || offset <= 0 || (size_t) offset > len ||
		VARSIZE_ANY_EXHDR(want) != PG_SHA256_DIGEST_LENGTH)
		return 0;
	hash_bytes_sha256(doc, (size_t) offset, digest);
	if (memcmp(digest, VARDATA_ANY(want), PG_SHA256_DIGEST_LENGTH) != 0)
		return 0;
	return (size_t) offset;
}

/* Record where this blob's records end, for its later copies. */
static void
blob_note_end(Ingest *st, const char *doc, size_t end)
{
	Oid			types[3] = {INT4OID, INT8OID, BYTEAOID};
	Datum		args[3];
	bytea	   *sha = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	SET_VARSIZE(sha, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	hash_bytes_sha256(doc, end, (uint8 *) VARDATA(sha));
	args[0] = Int32GetDatum(st->ingest_id);
	args[1] = Int64GetDatum((int64) end);
	args[2] = PointerGetDatum(sha);
	if (SPI_execute_with_args("UPDATE vpcflow.ingest_log SET resume_offset = $2, resume_sha256 = $3 "
							  "WHERE ingest_id = $1", 3, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update vpcflow.ingest_log");
}

static void
bad_cloud_json(Ingest *st, int provider, CloudReader *r)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid %s flow-log JSON in %s line %zu: %s",
					flow_label_name(FK_PROVIDER, provider), st->path,
					st->line_base + r->js.line, r->error)));
}

/*
 * GCP NDJSON that is not plain bytes in memory (a file, gzip) is read a
 * chunk at a time, each piece parsed up to its last newline: the buffer
 * stays in cache, and memory is bounded by the longest line rather than
 * the file.
 */
static void
read_cloud_lines(Ingest *st, IngestInput *in, const char *first, size_t have, CloudReader *r)
{
	size_t		cap = Max(2 * (size_t) READ_CHUNK, have + READ_CHUNK);
	char	   *buf = palloc(cap);
	bool		eof = false;

	memcpy(buf, first, have);
	for (;;)
	{
		size_t		piece = have;

		if (!eof)
		{
			size_t		n;

			if (cap - have < READ_CHUNK)
			{
				/* a line longer than the buffer: it grows as a document would */
				if (cap >= MaxAllocHugeSize / 2)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("line %zu of \"%s\" is too long",
									st->line_base + 1, st->path)));
				cap *= 2;
				buf = repalloc_huge(buf, cap);
			}
			n = input_read(in, buf + have, cap - have);
			st->bytes_read += n;
			have += n;
			eof = (n == 0);
			/* whole lines only, until the end */
			for (piece = have; !eof && piece > 0 && buf[piece - 1] != '\n'; piece--)
				;
			if (piece == 0 && !eof)
				continue;
		}
		if (piece > 0)
		{
			if (cloud_parse_lines(r, FLOW_PROVIDER_GCP, buf, piece, cloud_row, cloud_bad, st) < 0)
				bad_cloud_json(st, FLOW_PROVIDER_GCP, r);
			/* the reader's line count already went past the piece's lines */
			st->line_base += json_line_at(&r->js, piece) - 1;
		}
		if (eof)
			break;
		memmove(buf, buf + piece, have - piece);
		have -= piece;
	}
	pfree(buf);
}

/*
 * A GCP or Azure document: read it whole (as JSON envelopes are), then
 * each entry or flow tuple becomes a row, or goes to quarantine.  GCP
 * NDJSON from a file is read in chunks instead.
 */
static void
read_cloud(Ingest *st, IngestInput *in, char *first, size_t have, int provider)
{
	const char *doc;
	char	   *copy = NULL;
	CloudReader *r = palloc(sizeof(CloudReader));

	/* plain bytes already in memory are parsed where they are */
	if (st->bytes_read == (int64) have && input_plain_memory(in, &doc, &have))
		st->bytes_read = (int64) have;
	else if (provider == FLOW_PROVIDER_GCP && cloud_is_ndjson(first, have))
	{
		read_cloud_lines(st, in, first, have, r);
		pfree(r);
		return;
	}
	else
	{
		/* a plain file's size is known: one buffer, no regrowing and copying */
		copy = read_document(st, in, first, have,
							 Max(Max(have * 2, (size_t) READ_CHUNK),
								 Min((size_t) st->size + READ_CHUNK + 1, MaxAllocHugeSize / 4)),
							 &have);
		doc = copy;
	}

	if (cloud_parse(r, provider, doc, have,
					provider == FLOW_PROVIDER_GCP ? 0 : blob_resume_offset(st, doc, have),
					cloud_row, cloud_bad, st) < 0)
		bad_cloud_json(st, provider, r);
	if (r->skipped_records > 0)
		ereport(NOTICE,
				(errmsg("%s: skipped its first %zu records, loaded from an earlier copy of the blob",
						st->path, r->skipped_records)));
	if (r->records_end > 0)
		blob_note_end(st, doc, r->records_end);
	pfree(r);
	if (copy)
		pfree(copy);
}

/*
 * Read the input and hand over each line.  A line longer than
 * vpcflow.max_line_length is quarantined by its first bytes and the rest
 * of it skipped, so memory stays bounded.
 */
static void
read_lines(Ingest *st, IngestInput *in)
{
	size_t		maxline = (size_t) vpcflow_max_line_length;
	size_t		cap = READ_CHUNK + maxline + 1;
	char	   *buf = palloc(cap);
	size_t		have = 0;
	bool		skipping = false;
	FlowRow    *row = palloc(sizeof(FlowRow));

	for (;;)
	{
		size_t		n = input_read(in, buf + have, cap - have);
		char	   *p = buf;
		char	   *end;
		char	   *nl;
		size_t		rest;

		if (n == 0)
			break;
		st->bytes_read += n;
		have += n;
		end = buf + have;
		if (st->bytes_read == (int64) n)
		{
			int			provider = st->provider ? st->provider : cloud_detect(buf, have);

			if (provider > FLOW_PROVIDER_AWS)
			{
				read_cloud(st, in, buf, have, provider);
				pfree(buf);
				pfree(row);
				return;
			}
		}
		if (st->bytes_read == (int64) n && flow_envelope_detect(buf, have))
		{
			read_envelopes(st, in, buf, have, row);
			return;
		}
		while ((nl = memchr(p, '\n', end - p)) != NULL)
		{
			if (skipping)
				skipping = false;
			else
			{
				st->line_no++;
				handle_line(st, p, nl - p, row);
			}
			p = nl + 1;
		}
		rest = end - p;
		if (rest > maxline)
		{
			if (!skipping)
			{
				st->line_no++;
				quarantine_line(st, p, maxline,
								psprintf("line is longer than vpcflow.max_line_length (%zu bytes)", maxline),
								NULL);
			}
			skipping = true;
			rest = 0;
		}
		memmove(buf, p, rest);
		have = rest;
	}
	if (have > 0 && !skipping)
	{
		st->line_no++;
		handle_line(st, buf, have, row);
	}
	pfree(buf);
	pfree(row);
}

/*
 * A file read twice (hashed, then parsed) must be the same file with the
 * same bytes both times, or the SHA-256 claimed would not be that of the
 * rows loaded: same inode, size and modification time as when it was
 * hashed, and that size the number of bytes hashed.
 */
static void
check_unchanged(const char *path, const char *given, const struct stat *seen, int64 hashed)
{
	struct stat now;

	if (stat(path, &now) < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", given)));
	if (now.st_dev != seen->st_dev || now.st_ino != seen->st_ino ||
		now.st_size != seen->st_size || now.st_size != hashed ||
		now.st_mtim.tv_sec != seen->st_mtim.tv_sec ||
		now.st_mtim.tv_nsec != seen->st_mtim.tv_nsec)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("file \"%s\" changed while it was loaded; nothing was loaded from it", given),
				 errhint("Load it again once it is complete.")));
}

/*
 * vpcflow.debug_pause_after_hash: wait (as pg_sleep does, so the session
 * shows wait_event PgSleep) for tests that change a file between its reads.
 */
static void
pause_after_hash(void)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												  vpcflow_debug_pause_after_hash);

	for (;;)
	{
		long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);

		CHECK_FOR_INTERRUPTS();
		if (ms <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms,
						 WAIT_EVENT_PG_SLEEP);
		ResetLatch(MyLatch);
	}
}

/* Claim the file's checksum; false if a committed load already has it. */
static bool
claim_file(Ingest *st, const char *given, const uint8 *digest, int64 size,
		   const char *format, int32 *existing)
{
	Oid			types[4] = {TEXTOID, INT8OID, BYTEAOID, TEXTOID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', format ? ' ' : 'n'};
	bytea	   *sha = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	bool		isnull;

	SET_VARSIZE(sha, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(sha), digest, PG_SHA256_DIGEST_LENGTH);
	args[0] = CStringGetTextDatum(given);
	args[1] = Int64GetDatum(size);
	args[2] = PointerGetDatum(sha);
	args[3] = format ? CStringGetTextDatum(format) : (Datum) 0;

	if (SPI_execute_with_args("INSERT INTO vpcflow.ingest_log "
							  "(file_name, file_size, sha256, format, status, started_at) "
							  "VALUES ($1, $2, $3, $4, 'loading', pg_catalog.clock_timestamp()) "
							  "ON CONFLICT (sha256) DO NOTHING RETURNING ingest_id",
							  4, types, args, nulls, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not record the file in vpcflow.ingest_log");
	if (SPI_processed == 1)
	{
		st->ingest_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1, &isnull));
		return true;
	}
	/*
	 * The conflicting load may have committed after this statement began
	 * (the insert waited for it): read_only = false gives the lookup a new
	 * snapshot that sees it.
	 */
	if (SPI_execute_with_args("SELECT ingest_id FROM vpcflow.ingest_log WHERE sha256 = $1",
							  1, &types[2], &args[2], NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not look up the earlier load of \"%s\"", given);
	*existing = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return false;
}

static void
finish_log(Ingest *st, double seconds)
{
	Oid			types[11] = {INT4OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
		TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTARRAYOID, FLOAT8OID};
	Datum		args[11];
	char		nulls[11] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	ListCell   *lc;
	ArrayBuildState *names = initArrayResult(TEXTOID, CurrentMemoryContext, false);

	foreach(lc, st->unknown_fields)
		accumArrayResult(names, CStringGetTextDatum((char *) lfirst(lc)), false,
						 TEXTOID, CurrentMemoryContext);
	args[0] = Int32GetDatum(st->ingest_id);
	args[1] = CStringGetTextDatum(st->errors > 0 ? "loaded_with_errors" : "loaded");
	args[2] = Int64GetDatum(st->rows);
	args[3] = Int64GetDatum(st->nodata);
	args[4] = Int64GetDatum(st->skipdata);
	args[5] = Int64GetDatum(st->errors);
	args[6] = Int64GetDatum(st->bytes_read);
	args[7] = TimestampTzGetDatum(st->min_start);
	args[8] = TimestampTzGetDatum(st->max_start);
	args[9] = makeArrayResult(names, CurrentMemoryContext);
	args[10] = Float8GetDatum(seconds);
	if (st->rows == 0)
		nulls[7] = nulls[8] = 'n';
	if (st->unknown_fields == NIL)
		nulls[9] = 'n';
	if (SPI_execute_with_args("UPDATE vpcflow.ingest_log SET status = $2, rows = $3, "
							  "nodata = $4, skipdata = $5, errors = $6, bytes_read = $7, "
							  "min_start = $8, max_start = $9, unknown_fields = $10, "
							  "seconds = $11, finished_at = pg_catalog.clock_timestamp() "
							  "WHERE ingest_id = $1",
							  11, types, args, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update vpcflow.ingest_log");
}

/* SHA-256 of bytes in memory. */
static void
hash_bytes_sha256(const char *data, size_t len, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256");
	pg_cryptohash_free(ctx);
}

/*
 * The load itself, shared by ingest_file (path set: a server file) and
 * ingest_data (data set: bytes sent by a client).  name is the file's
 * name as given, for the log and messages.
 */
static Datum
ingest_run(FunctionCallInfo fcinfo, const char *name, const char *path,
		   const char *data, size_t datalen, const char *format, const char *on_error)
{
	Ingest	   *st = palloc0(sizeof(Ingest));
	TupleDesc	desc;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	int64		size;
	int32		existing = 0;
	Oid			flows;
	TimestampTz t0 = GetCurrentTimestamp();
	double		seconds;
	Datum		values[9];
	bool		nulls[9] = {false, false, false, false, false, false, false, false, false};
	bool		loaded;
	char	   *whole = NULL;
	size_t		wholelen = 0;
	struct stat seen = {0};

	if (strcmp(on_error, "quarantine") == 0)
		st->quarantine = true;
	else if (strcmp(on_error, "fail") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid on_error value \"%s\"", on_error),
				 errhint("Use 'quarantine' (bad lines go to vpcflow.ingest_errors) or 'fail'.")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ingest functions must return a composite type");

	st->path = name;
	flow_parser_init(&st->parser);
	if (format)
		st->provider = cloud_format_code(format, strlen(format));
	if (format && st->provider == 0 && !flow_parser_set_format(&st->parser, format, strlen(format)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid flow-log format: %s", flow_error_detail(&st->parser))));

	/* Lock the store without holding it open: partition_for may ALTER it. */
	flows = get_relname_relid("flows", get_namespace_oid("vpcflow", false));
	if (!OidIsValid(flows))
		elog(ERROR, "table vpcflow.flows does not exist");
	LockRelationOid(flows, RowExclusiveLock);
	{
		AclResult	acl = pg_class_aclcheck(flows, GetUserId(), ACL_INSERT);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, "flows");
	}
	/*
	 * The bulk writer, like COPY FROM, cannot apply row-level security
	 * WITH CHECK policies: under RLS only vpcflow_writer members, whose
	 * policy admits any row, may load (src/security.sql).
	 */
	if (check_enable_rls(flows, InvalidOid, false) == RLS_ENABLED)
	{
		Oid			writer = get_role_oid("vpcflow_writer", true);

		if (!OidIsValid(writer) || !has_privs_of_role(GetUserId(), writer))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to ingest into vpcflow.flows under row-level security"),
					 errhint("Loading needs membership in vpcflow_writer.")));
	}

	if (path != NULL)
	{
		hash_file(path, name, st->provider, digest, &size, &whole, &wholelen, &seen);
		if (vpcflow_debug_pause_after_hash > 0)
			pause_after_hash();
		/* a file read whole loads from memory, as bytes a client sent */
		data = whole;
		datalen = wholelen;
	}
	else
	{
		hash_bytes_sha256(data, datalen, digest);
		size = (int64) datalen;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	st->size = size;
	loaded = claim_file(st, name, digest, size, format, &existing);
	if (loaded)
	{
		IngestInput *in;

		st->writer = store_writer_begin();
		in = data != NULL ? input_open_memory(data, datalen, name) : input_open_file(path, name);
		read_lines(st, in);
		input_close(in);
		if (data == NULL)
			check_unchanged(path, name, &seen, size);

		store_writer_finish(st->writer);
		seconds = (double) (GetCurrentTimestamp() - t0) / USECS_PER_SEC;
		finish_log(st, seconds);
	}
	else
	{
		ereport(NOTICE,
				(errmsg("file \"%s\" was already ingested (ingest_id %d); nothing loaded",
						name, existing)));
		st->ingest_id = existing;
		seconds = (double) (GetCurrentTimestamp() - t0) / USECS_PER_SEC;
	}
	SPI_finish();

	values[0] = Int32GetDatum(st->ingest_id);
	values[1] = CStringGetTextDatum(name);
	values[2] = CStringGetTextDatum(!loaded ? "duplicate" :
									st->errors > 0 ? "loaded_with_errors" : "loaded");
	values[3] = Int64GetDatum(st->rows);
	values[4] = Int64GetDatum(st->nodata);
	values[5] = Int64GetDatum(st->skipdata);
	values[6] = Int64GetDatum(st->errors);
	values[7] = Int64GetDatum(st->bytes_read);
	values[8] = Float8GetDatum(seconds);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

static char *
text_arg_or(FunctionCallInfo fcinfo, int n, char *dflt)
{
	return PG_ARGISNULL(n) ? dflt : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * vpcflow.ingest_file(path text, format text DEFAULT NULL,
 *                     on_error text DEFAULT 'quarantine')
 * RETURNS (ingest_id, file_name, status, rows, nodata, skipdata, errors,
 *          bytes_read, seconds)
 */
PG_FUNCTION_INFO_V1(vpcflow_ingest_file);
Datum
vpcflow_ingest_file(PG_FUNCTION_ARGS)
{
	char	   *given;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("file path must not be NULL")));
	given = text_to_cstring(PG_GETARG_TEXT_PP(0));
	return ingest_run(fcinfo, given, resolve_path(given), NULL, 0,
					  text_arg_or(fcinfo, 1, NULL), text_arg_or(fcinfo, 2, "quarantine"));
}

/*
 * vpcflow.ingest_data(file_name text, data bytea, format text DEFAULT NULL,
 *                     on_error text DEFAULT 'quarantine')
 * The same load from bytes a client sends (plain or gzip, as stored): the
 * path of vpcflow-load.  The bytes' SHA-256 is the file's identity, so a
 * file loads once whether it came through ingest_file or ingest_data.
 */
PG_FUNCTION_INFO_V1(vpcflow_ingest_data);
Datum
vpcflow_ingest_data(PG_FUNCTION_ARGS)
{
	bytea	   *data;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("file name and data must not be NULL")));
	data = PG_GETARG_BYTEA_PP(1);
	return ingest_run(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)), NULL,
					  VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
					  text_arg_or(fcinfo, 2, NULL), text_arg_or(fcinfo, 3, "quarantine"));
}
