/*
 * vpcflow-load: load flow-log files and S3-style trees into vpcflow, on libpq.
 *
 * Each file travels as it is stored (plain or gzip) to vpcflow.ingest_data,
 * which parses it with the same C parser as ingest_file and loads it whole
 * or not at all, exactly once (keyed by the SHA-256 of its bytes).  Files
 * go in transactions of several (--batch-seconds), each under a savepoint,
 * between vpcflow.begin_bulk_load() and end_bulk_load(): a new day that the
 * files of one transaction fill gets its indexes built once, by sorting, at
 * the end (docs/bulk_load.md).  A killed loader leaves no partial file, and
 * a re-run loads exactly what is missing.  -j N loads on N connections.
 *
 * --dry-run parses locally with the shared parser (src/flowparse.c,
 * src/envelope.c) and reports what would load, without a server.
 *
 * --shards: -d names a scale-out coordinator (docs/scaleout.md).  The
 * shard map (vpcflow.shard_routes) is read from it; each file is parsed
 * locally for its accounts and sent to the one shard that owns them, where
 * exactly-once holds through that shard's ingest_log.  A file whose
 * accounts are unplaced, being moved or on different shards fails.
 * Afterwards vpcflow.sync_shards() on the coordinator makes new partitions
 * visible there.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <zlib.h>

#include "cloudflow.h"
#include "envelope.h"
#include "flowparse.h"

#define MAX_FILE_BYTES ((size_t) 1000 * 1000 * 1000)	/* bytea's limit, with room */

typedef struct Options
{
	const char *conninfo;
	const char *format;
	const char *on_error;
	int			jobs;
	int			retries;
	double		batch_seconds;
	bool		dry_run;
	bool		quiet;
	bool		shards;
	bool		backfill;
} Options;

/* --shards: the shard map read from the coordinator */
#define MAX_SHARDS 64
#define MAX_FILE_ACCOUNTS 16
typedef struct Route
{
	char		account[64];
	int			shard;			/* index into shard_names / shard_conninfo */
	bool		moving;
} Route;
static Route *routes;
static int	nroutes;
static char *shard_names[MAX_SHARDS];
static char *shard_conninfo[MAX_SHARDS];
static int	nshards;
static char *coordinator_user;

/* The distinct accounts of a file's records ("" for a record without one). */
typedef struct AccountSet
{
	char		ids[MAX_FILE_ACCOUNTS][64];
	int			n;
	bool		overflow;
} AccountSet;

typedef struct FileItem
{
	char	   *path;
	off_t		size;
	size_t		day_len;		/* path[0..day_len) names its day: see day_prefix */
} FileItem;

/* Shared by the workers, under lock. */
static struct
{
	pthread_mutex_t lock;
	FileItem   *files;
	size_t		nfiles;
	size_t		next;			/* next file to take */
	size_t		done;
	size_t		loaded;
	size_t		duplicates;
	size_t		failed;
	long long	rows;
	long long	errors;
	long long	bytes_in;		/* file bytes sent */
	long long	bytes_total;
	bool		fatal;			/* a connection could not be made: stop */
} shared = {.lock = PTHREAD_MUTEX_INITIALIZER};

static Options opts = {NULL, NULL, "quarantine", 1, 0, 60, false, false, false, false};
static volatile sig_atomic_t interrupted = 0;
static double start_time;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
on_signal(int sig)
{
	(void) sig;
	interrupted = 1;
}

static void
usage(FILE *out)
{
	fprintf(out,
			"vpcflow-load: load AWS, GCP and Azure flow-log files into vpcflow, exactly once.\n"
			"\n"
			"Usage: vpcflow-load [OPTION]... PATH...\n"
			"\n"
			"PATH is a file (plain or gzip; flow-log text, a CloudWatch Logs subscription\n"
			"payload, or NDJSON of {\"message\": ...} lines; GCP Cloud Logging entries; Azure\n"
			"NSG or VNet flow-log blobs), a directory walked recursively (the S3 layout\n"
			"AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/..., the Azure layout\n"
			"resourceId=/SUBSCRIPTIONS/.../y=YYYY/.../PT1H.json, Hive-style trees, anything),\n"
			"or - for standard input.\n"
			"\n"
			"Options:\n"
			"  -d, --dbname=CONNINFO   database name or libpq connection string (PG* variables\n"
			"                          apply as usual)\n"
			"  -j, --jobs=N            load on N connections (default 1); in bulk loads the\n"
			"                          files of one day (.../YYYY/MM/DD/, d=DD/, else one\n"
			"                          directory) go to one connection\n"
			"  -f, --format=FORMAT     format of headerless input: field names, or v2, v3, v4,\n"
			"                          v5, tgw (files with a header line need none); or gcp,\n"
			"                          azure-nsg, azure-vnet, aws (else detected from content)\n"
			"      --on-error=MODE     quarantine (default: bad lines to vpcflow.ingest_errors)\n"
			"                          or fail (a bad line fails its whole file)\n"
			"      --retry=N           retry a lost or refused connection N times, with\n"
			"                          exponential backoff (default 0)\n"
			"      --batch-seconds=S   commit every S seconds: the files of one transaction\n"
			"                          fill the new partitions they create, whose indexes\n"
			"                          are built once at commit (default 60; 0: one file\n"
			"                          per transaction)\n"
			"      --backfill          loading history: a day the load creates that is already\n"
			"                          past the store's hot_window is made warm at once, its\n"
			"                          rows kept unindexed until the next maintenance pass\n"
			"                          compresses them (docs/bulk_load.md, Backfill)\n"
			"      --shards            -d is a scale-out coordinator: send each file to the\n"
			"                          shard that owns its account, one transaction per\n"
			"                          file (docs/scaleout.md)\n"
			"  -n, --dry-run           parse locally and report; connect to nothing\n"
			"  -q, --quiet             no progress display\n"
			"  -h, --help              this help\n"
			"\n"
			"Each file loads whole or not at all through vpcflow.ingest_data, under its own\n"
			"savepoint; a file already loaded (same bytes) is skipped.  An interrupted run\n"
			"loses at most its open transactions: a re-run loads exactly what is missing. Exit status: 0 when every file loaded or was\n"
			"already loaded, 1 when some file failed, 2 on bad usage or no connection.\n");
}

/* ---------- finding files ---------- */

static bool
all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len > 0;
}

/*
 * The length of the part of path that names the file's day: through the
 * directory DD of .../YYYY/MM/DD/ (the S3 layout) or d=DD / day=DD (Hive
 * style, Azure), whatever hour or minute directories follow; else the
 * file's directory.  Files of one day go to one connection (see worker),
 * so that one bulk load fills each new day.
 */
static size_t
day_prefix(const char *path)
{
	const char *comp[64];
	size_t		len[64];
	int			n = 0;
	const char *p = path;
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return 0;
	while (p < slash && n < 64)
	{
		const char *e = memchr(p, '/', slash - p);

		if (e == NULL)
			e = slash;
		comp[n] = p;
		len[n] = e - p;
		n++;
		p = e + 1;
	}
	for (int i = n - 1; i >= 0; i--)
	{
		bool		ymd = i >= 2 && len[i] == 2 && all_digits(comp[i], 2) &&
			len[i - 1] == 2 && all_digits(comp[i - 1], 2) &&
			len[i - 2] == 4 && all_digits(comp[i - 2], 4);
		bool		hive = (len[i] > 2 && strncmp(comp[i], "d=", 2) == 0) ||
			(len[i] > 4 && strncmp(comp[i], "day=", 4) == 0);

		if (ymd || hive)
			return comp[i] + len[i] - path;
	}
	return slash - path;
}

static void
add_file(FileItem **files, size_t *n, size_t *cap, const char *path, off_t size)
{
	if (*n == *cap)
	{
		*cap = *cap ? *cap * 2 : 64;
		*files = realloc(*files, *cap * sizeof(FileItem));
		if (*files == NULL)
		{
			perror("vpcflow-load");
			exit(2);
		}
	}
	(*files)[*n].path = strdup(path);
	(*files)[*n].size = size;
	(*files)[*n].day_len = day_prefix(path);
	(*n)++;
}

/*
 * Flow-log files in a tree: .log, .txt, .json and .ndjson, each optionally
 * .gz, and bare .gz (what S3 and CloudWatch exports hold).  Files named on
 * the command line load whatever their name.
 */
static bool
is_flow_log_name(const char *name)
{
	static const char *const suffixes[] = {
		".log", ".txt", ".json", ".ndjson", ".gz", NULL
	};
	size_t		len = strlen(name);

	if (len > 3 && strcmp(name + len - 3, ".gz") == 0)
		return true;
	for (int i = 0; suffixes[i]; i++)
	{
		size_t		sl = strlen(suffixes[i]);

		if (len > sl && strcmp(name + len - sl, suffixes[i]) == 0)
			return true;
	}
	return false;
}

/* Walk a tree; names starting with '.' are skipped. */
static void
walk(const char *path, FileItem **files, size_t *n, size_t *cap, bool top)
{
	struct stat st;

	if (strcmp(path, "-") == 0)
	{
		add_file(files, n, cap, "-", 0);
		return;
	}
	if (stat(path, &st) != 0)
	{
		fprintf(stderr, "vpcflow-load: %s: %s\n", path, strerror(errno));
		shared.failed++;
		return;
	}
	if (S_ISDIR(st.st_mode))
	{
		struct dirent **names;
		int			k = scandir(path, &names, NULL, alphasort);

		if (k < 0)
		{
			fprintf(stderr, "vpcflow-load: %s: %s\n", path, strerror(errno));
			shared.failed++;
			return;
		}
		for (int i = 0; i < k; i++)
		{
			if (names[i]->d_name[0] != '.')
			{
				size_t		len = strlen(path) + strlen(names[i]->d_name) + 2;
				char	   *child = malloc(len);

				snprintf(child, len, "%s/%s", path, names[i]->d_name);
				walk(child, files, n, cap, false);
				free(child);
			}
			free(names[i]);
		}
		free(names);
	}
	else if (S_ISREG(st.st_mode) && (top || is_flow_log_name(path)))
		add_file(files, n, cap, path, st.st_size);
}

/* The whole file (or stdin), as stored. */
static char *
read_all(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t		cap = 1 << 16,
				n = 0;
	char	   *buf;

	if (f == NULL)
	{
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	buf = malloc(cap);
	for (;;)
	{
		size_t		got;

		if (n == cap)
		{
			if (cap >= MAX_FILE_BYTES)
			{
				snprintf(err, errlen, "larger than %zu bytes; load it with vpcflow.ingest_file",
						 MAX_FILE_BYTES);
				free(buf);
				if (f != stdin)
					fclose(f);
				return NULL;
			}
			cap *= 2;
			buf = realloc(buf, cap);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
	{
		snprintf(err, errlen, "%s", strerror(errno));
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

/* ---------- dry run: the shared parser, locally ---------- */

typedef struct DryCounts
{
	FlowParser	parser;
	FlowRow		row;
	const char *path;
	long long	records;
	long long	errors;
	AccountSet *accounts;		/* --shards: collect the records' accounts */
} DryCounts;

static void
note_account(AccountSet *set, const FlowRow *row)
{
	char		id[64] = "";

	if (flow_row_has(row, FF_ACCOUNT_ID))
	{
		size_t		n = row->v[FF_ACCOUNT_ID].str.len < sizeof(id) - 1 ?
			row->v[FF_ACCOUNT_ID].str.len : sizeof(id) - 1;

		memcpy(id, row->v[FF_ACCOUNT_ID].str.ptr, n);
		id[n] = '\0';
	}
	for (int i = 0; i < set->n; i++)
		if (strcmp(set->ids[i], id) == 0)
			return;
	if (set->n == MAX_FILE_ACCOUNTS)
	{
		set->overflow = true;
		return;
	}
	strcpy(set->ids[set->n++], id);
}

static void
dry_line(DryCounts *dc, const char *line, size_t len, size_t line_no)
{
	switch (flow_parse_line(&dc->parser, line, len, &dc->row))
	{
		case FLOW_LINE_RECORD:
			dc->records++;
			if (dc->accounts)
				note_account(dc->accounts, &dc->row);
			break;
		case FLOW_LINE_ERROR:
			/* when routing, the server quarantines bad lines and reports them */
			if (dc->errors++ < 5 && !dc->accounts)
				fprintf(stderr, "%s:%zu: %s%s%s\n", dc->path, line_no,
						dc->parser.error.field ? dc->parser.error.field : "",
						dc->parser.error.field ? ": " : "", dc->parser.error.message);
			break;
		default:
			break;
	}
}

static void
dry_cloud_row(void *arg, FlowRow *row, const char *raw, size_t rawlen, size_t line)
{
	DryCounts  *dc = (DryCounts *) arg;

	(void) raw, (void) rawlen, (void) line;
	dc->records++;
	if (dc->accounts)
		note_account(dc->accounts, row);
}

static void
dry_cloud_bad(void *arg, const char *raw, size_t rawlen, size_t line, const char *field,
			  const char *message)
{
	DryCounts  *dc = (DryCounts *) arg;

	(void) raw, (void) rawlen;
	if (dc->errors++ < 5 && !dc->accounts)
		fprintf(stderr, "%s:%zu: %s%s%s\n", dc->path, line, field ? field : "",
				field ? ": " : "", message);
}

static int
dry_run_file(const char *path, const char *data, size_t len, long long *records, long long *errors,
			 AccountSet *accounts)
{
	DryCounts  *dc = calloc(1, sizeof(DryCounts));
	int			provider;
	char	   *text = NULL;
	size_t		tlen = 0;

	flow_parser_init(&dc->parser);
	if (opts.format && cloud_format_code(opts.format, strlen(opts.format)) == 0 &&
		!flow_parser_set_format(&dc->parser, opts.format, strlen(opts.format)))
	{
		fprintf(stderr, "vpcflow-load: invalid format: %s\n", dc->parser.error.message);
		exit(2);
	}
	dc->path = path;
	dc->accounts = accounts;
	/* decompress when gzip */
	if (len >= 2 && (unsigned char) data[0] == 0x1f && (unsigned char) data[1] == 0x8b)
	{
		z_stream	zs = {0};
		size_t		cap = len * 4 + 1024;

		text = malloc(cap);
		inflateInit2(&zs, 16 + MAX_WBITS);
		zs.next_in = (Bytef *) data;
		zs.avail_in = (uInt) len;
		for (;;)
		{
			int			rc;

			if (tlen == cap)
				text = realloc(text, cap *= 2);
			zs.next_out = (Bytef *) text + tlen;
			zs.avail_out = (uInt) (cap - tlen);
			rc = inflate(&zs, Z_NO_FLUSH);
			tlen = cap - zs.avail_out;
			if (rc == Z_STREAM_END && zs.avail_in > 0)
				inflateReset(&zs);
			else if (rc == Z_STREAM_END)
				break;
			else if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs.avail_out == 0))
			{
				fprintf(stderr, "%s: corrupt or truncated gzip\n", path);
				inflateEnd(&zs);
				free(text);
				free(dc);
				return -1;
			}
		}
		inflateEnd(&zs);
		data = text;
		len = tlen;
	}
	provider = opts.format ? cloud_format_code(opts.format, strlen(opts.format))
		: cloud_detect(data, len);
	if (provider > FLOW_PROVIDER_AWS)
	{
		/* GCP / Azure: the shared reader, as the server runs it */
		CloudReader *r = malloc(sizeof(CloudReader));

		if (cloud_parse(r, provider, data, len, 0, dry_cloud_row, dry_cloud_bad, dc) < 0)
		{
			fprintf(stderr, "%s:%zu: invalid %s flow-log JSON: %s\n", path, r->js.line,
					flow_label_name(FK_PROVIDER, provider), r->error);
			dc->errors++;
		}
		free(r);
	}
	else if (flow_envelope_detect(data, len))
	{
		FlowEnvelope *e = malloc(sizeof(FlowEnvelope));
		char	   *msg = malloc(1 << 20);
		size_t		mlen;
		int			r;

		flow_envelope_init(e, data, len);
		while ((r = flow_envelope_next(e, msg, 1 << 20, &mlen)) == 1)
		{
			char	   *p = msg,
					   *end = msg + mlen;

			while (p < end)
			{
				char	   *nl = memchr(p, '\n', end - p);
				char	   *eol = nl ? nl : end;

				dry_line(dc, p, eol - p, e->line);
				p = eol + 1;
			}
		}
		if (r < 0)
		{
			fprintf(stderr, "%s:%zu: invalid JSON envelope: %s\n", path, e->line, e->error);
			dc->errors++;
		}
		free(msg);
		free(e);
	}
	else
	{
		const char *p = data,
				   *end = data + len;
		size_t		line_no = 0;

		while (p < end)
		{
			const char *nl = memchr(p, '\n', end - p);
			const char *eol = nl ? nl : end;

			dry_line(dc, p, eol - p, ++line_no);
			p = eol + 1;
		}
	}
	*records = dc->records;
	*errors = dc->errors;
	free(text);
	free(dc);
	return 0;
}

/* ---------- loading ---------- */

/* "already ingested" notices: the summary counts them */
static void
ignore_notice(void *arg, const char *message)
{
	(void) arg;
	(void) message;
}

/*
 * conninfo: -d, or a shard's (then user is the coordinator connection's
 * user and label names the shard in errors).
 */
static PGconn *
connect_with_retry(const char *conninfo, const char *user, const char *label)
{
	for (int attempt = 0;; attempt++)
	{
		/* expand_dbname: -d takes a database name, a conninfo string or a URI */
		const char *keys[] = {"dbname", "application_name", user ? "user" : NULL, NULL};
		const char *vals[] = {conninfo, "vpcflow-load", user, NULL};
		PGconn	   *conn = PQconnectdbParams(keys, vals, 1);

		if (PQstatus(conn) == CONNECTION_OK)
		{
			PQsetNoticeProcessor(conn, ignore_notice, NULL);
			return conn;
		}
		if (attempt >= opts.retries || interrupted)
		{
			fprintf(stderr, "vpcflow-load: could not connect%s%s: %s", label ? " to " : "",
					label ? label : "", PQerrorMessage(conn));
			PQfinish(conn);
			return NULL;
		}
		PQfinish(conn);
		sleep(1u << (attempt < 5 ? attempt : 5));
	}
}

/*
 * Files load in transactions of several files (a bulk load: see
 * docs/bulk_load.md), each file under its own savepoint, so a bad file
 * fails alone.  A day that the files of one transaction create gets its
 * indexes built once, when the transaction ends.  Counts become final when
 * the transaction commits.
 */
typedef struct Batch
{
	FileItem  **items;			/* loaded, not yet committed */
	size_t		n;
	size_t		cap;
	size_t		loaded;
	size_t		duplicates;
	long long	rows;
	long long	errors;
	bool		open;			/* a transaction is open */
	double		started;
} Batch;

enum
{
	LOAD_OK, LOAD_FAILED, LOAD_RETRY, LOAD_DONE, LOAD_LOST = -1
};

/* Run a command; LOAD_OK, LOAD_FAILED (message printed) or LOAD_LOST. */
static int
run_command(PGconn *conn, const char *sql, const char *what)
{
	PGresult   *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int			rc = LOAD_OK;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		if (PQstatus(conn) != CONNECTION_OK)
			rc = LOAD_LOST;
		else
		{
			fprintf(stderr, "\nvpcflow-load: %s: %s", what, PQerrorMessage(conn));
			rc = LOAD_FAILED;
		}
	}
	PQclear(res);
	return rc;
}

/*
 * Load one file on conn, in the open transaction, under a savepoint.
 * LOAD_RETRY: a deadlock or serialization failure with another loader;
 * the file is rolled back and should be retried in a new transaction.
 */
static int
load_file(PGconn *conn, Batch *b, const char *path, const char *data, size_t len)
{
	const char *values[4] = {strcmp(path, "-") == 0 ? "stdin" : path, data, opts.format, opts.on_error};
	int			lengths[4] = {0, (int) len, 0, 0};
	int			formats[4] = {0, 1, 0, 0};
	PGresult   *res;
	int			rc = LOAD_OK;

	if ((rc = run_command(conn, "SAVEPOINT vpcflow_file", path)) != LOAD_OK)
		return rc;
	res = PQexecParams(conn,
					   "SELECT status, rows, errors FROM vpcflow.ingest_data($1, $2::bytea, $3, $4)",
					   4, NULL, values, lengths, formats, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
	{
		if (strcmp(PQgetvalue(res, 0, 0), "duplicate") == 0)
			b->duplicates++;
		else
		{
			b->loaded++;
			b->rows += atoll(PQgetvalue(res, 0, 1));
			b->errors += atoll(PQgetvalue(res, 0, 2));
		}
		PQclear(res);
		return run_command(conn, "RELEASE SAVEPOINT vpcflow_file", path);
	}
	if (PQstatus(conn) != CONNECTION_OK)
		rc = LOAD_LOST;
	else
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		if (state && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0))
			rc = LOAD_RETRY;
		else
		{
			fprintf(stderr, "\nvpcflow-load: %s: %s", path, PQerrorMessage(conn));
			rc = LOAD_FAILED;
		}
	}
	PQclear(res);
	if (rc != LOAD_LOST)
	{
		int			r = run_command(conn, "ROLLBACK TO SAVEPOINT vpcflow_file", path);

		if (r == LOAD_OK)
			r = run_command(conn, "RELEASE SAVEPOINT vpcflow_file", path);
		if (r != LOAD_OK)
			return r == LOAD_LOST ? LOAD_LOST : LOAD_FAILED;
	}
	return rc;
}

static int
begin_batch(PGconn *conn, Batch *b)
{
	int			rc = run_command(conn, "BEGIN", "BEGIN");

	if (rc == LOAD_OK)
	{
		rc = run_command(conn, opts.backfill ? "SELECT vpcflow.begin_bulk_load(backfill => true)"
						 : "SELECT vpcflow.begin_bulk_load()", "begin_bulk_load");
		/* end the failed transaction, so that the next file starts afresh */
		if (rc == LOAD_FAILED && run_command(conn, "ROLLBACK", "ROLLBACK") == LOAD_LOST)
			rc = LOAD_LOST;
	}
	if (rc == LOAD_OK)
	{
		b->open = true;
		b->started = now();
	}
	return rc;
}

/* Forget the batch's files and counts (committed, or to be redone). */
static void
reset_batch(Batch *b)
{
	b->n = 0;
	b->loaded = b->duplicates = 0;
	b->rows = b->errors = 0;
	b->open = false;
}

/* The files of a failed batch: each counts as failed. */
static void
fail_batch(Batch *b)
{
	pthread_mutex_lock(&shared.lock);
	shared.failed += b->n;
	shared.done += b->n;
	pthread_mutex_unlock(&shared.lock);
	reset_batch(b);
}

/* Attach what the batch created and commit; the counts become final. */
static int
commit_batch(PGconn *conn, Batch *b)
{
	int			rc = run_command(conn, "SELECT vpcflow.end_bulk_load()", "end_bulk_load");

	if (rc == LOAD_OK)
		rc = run_command(conn, "COMMIT", "COMMIT");
	if (rc == LOAD_OK)
	{
		pthread_mutex_lock(&shared.lock);
		shared.loaded += b->loaded;
		shared.duplicates += b->duplicates;
		shared.rows += b->rows;
		shared.errors += b->errors;
		shared.done += b->n;
		pthread_mutex_unlock(&shared.lock);
		reset_batch(b);
	}
	else if (rc == LOAD_FAILED)
	{
		(void) run_command(conn, "ROLLBACK", "ROLLBACK");
		fail_batch(b);
	}
	return rc;
}

static void
batch_add(Batch *b, FileItem *item)
{
	if (b->n == b->cap)
	{
		b->cap = b->cap ? b->cap * 2 : 64;
		b->items = realloc(b->items, b->cap * sizeof(FileItem *));
		if (b->items == NULL)
		{
			perror("vpcflow-load");
			exit(2);
		}
	}
	b->items[b->n++] = item;
}

/* Count one file's bytes as processed. */
static void
note_bytes(FileItem *item, size_t len)
{
	pthread_mutex_lock(&shared.lock);
	shared.bytes_in += item->size ? item->size : (long long) len;
	pthread_mutex_unlock(&shared.lock);
}

/*
 * --shards: load one file on *conn (connecting when NULL) in a transaction
 * of its own; a lost connection retries the same file (exactly-once makes
 * that safe).  A shard that cannot be reached fails its files only.
 */
static int
load_with_retry(PGconn **conn, const char *conninfo, const char *user, const char *label,
				FileItem *item, const char *data, size_t len)
{
	Batch		b = {0};
	int			rc;

	for (int attempt = 0;; attempt++)
	{
		if (*conn == NULL && (*conn = connect_with_retry(conninfo, user, label)) == NULL)
		{
			fprintf(stderr, "vpcflow-load: %s: not loaded\n", item->path);
			rc = LOAD_FAILED;
			break;
		}
		rc = begin_batch(*conn, &b);
		if (rc == LOAD_OK)
			rc = load_file(*conn, &b, item->path, data, len);
		if (rc == LOAD_OK)
		{
			batch_add(&b, item);
			rc = commit_batch(*conn, &b);	/* counts the file as done */
			if (rc == LOAD_OK)
				rc = LOAD_DONE;
		}
		else if (rc != LOAD_LOST)
		{
			if (run_command(*conn, "ROLLBACK", "ROLLBACK") == LOAD_LOST)
				rc = LOAD_LOST;
			else if (rc == LOAD_RETRY && attempt < 3)
				continue;		/* another loader holds what this file needs */
			else
				rc = LOAD_FAILED;
		}
		b.open = false;
		if (rc != LOAD_LOST)
			break;
		fprintf(stderr, "\nvpcflow-load: %s: connection%s%s lost: %s", item->path, label ? " to " : "",
				label ? label : "", PQerrorMessage(*conn));
		PQfinish(*conn);
		*conn = NULL;
		reset_batch(&b);
		if (attempt >= opts.retries || interrupted)
		{
			rc = LOAD_FAILED;
			break;
		}
	}
	free(b.items);
	return rc;
}

/* The account of a file from its S3 path (AWSLogs/[o-x/][aws-account-id=]<12 digits>/), or "". */
static void
path_account(const char *path, char *out)
{
	const char *p = strstr(path, "AWSLogs/");

	out[0] = '\0';
	if (p == NULL)
		return;
	p += 8;
	if (strncmp(p, "o-", 2) == 0 && strchr(p, '/'))
		p = strchr(p, '/') + 1;
	if (strncmp(p, "aws-account-id=", 15) == 0)
		p += 15;
	for (int i = 0; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return;
	if (p[12] != '/')
		return;
	memcpy(out, p, 12);
	out[12] = '\0';
}

static int
find_route(const char *account)
{
	for (int i = 0; i < nroutes; i++)
		if (strcmp(routes[i].account, account) == 0)
			return i;
	return -1;
}

/*
 * The shard a file goes to: the one owning the accounts of its records
 * (parsed locally), or for a file without records the account in its S3
 * path.  -1 with the reason in err when there is none.
 */
static int
route_file(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
	AccountSet	set;
	long long	records,
				errors;
	int			shard = -1;
	int			first = -1;

	memset(&set, 0, sizeof(set));
	if (dry_run_file(path, data, len, &records, &errors, &set) != 0)
	{
		snprintf(err, errlen, "cannot be read to find its accounts");
		return -1;
	}
	if (set.overflow)
	{
		snprintf(err, errlen, "holds records of more than %d accounts: split it by account",
				 MAX_FILE_ACCOUNTS);
		return -1;
	}
	if (set.n == 0)
	{
		path_account(strcmp(path, "-") == 0 ? "" : path, set.ids[0]);
		if (set.ids[0][0] == '\0')
		{
			snprintf(err, errlen, "has no records and no account in its name: no shard to send it to");
			return -1;
		}
		set.n = 1;
	}
	for (int i = 0; i < set.n; i++)
	{
		int			r;

		if (set.ids[i][0] == '\0')
		{
			snprintf(err, errlen, "has records without an account id: no shard to send them to");
			return -1;
		}
		r = find_route(set.ids[i]);
		if (r < 0)
		{
			snprintf(err, errlen, "account %s is not placed on any shard "
					 "(vpcflow.place_account on the coordinator)", set.ids[i]);
			return -1;
		}
		if (routes[r].moving)
		{
			snprintf(err, errlen, "account %s is being moved between shards; load it after the move",
					 set.ids[i]);
			return -1;
		}
		if (shard >= 0 && routes[r].shard != shard)
		{
			snprintf(err, errlen, "holds accounts %s (shard %s) and %s (shard %s): split it by account",
					 routes[first].account, shard_names[shard], set.ids[i], shard_names[routes[r].shard]);
			return -1;
		}
		shard = routes[r].shard;
		first = r;
	}
	return shard;
}

/* --shards: read the shard map from the coordinator; false on failure. */
static bool
load_routes(PGconn *conn)
{
	PGresult   *res = PQexec(conn, "SELECT r.account_id, r.shard_name, r.conninfo, r.moving "
							 "FROM vpcflow.shard_routes r ORDER BY r.shard_name, r.account_id");

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "vpcflow-load: cannot read the shard map (vpcflow.shard_routes) from the "
				"coordinator: %s", PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	nroutes = PQntuples(res);
	routes = calloc(nroutes ? nroutes : 1, sizeof(Route));
	for (int i = 0; i < nroutes; i++)
	{
		const char *name = PQgetvalue(res, i, 1);
		int			sh = -1;

		for (int k = 0; k < nshards; k++)
			if (strcmp(shard_names[k], name) == 0)
				sh = k;
		if (sh < 0)
		{
			if (nshards == MAX_SHARDS)
			{
				fprintf(stderr, "vpcflow-load: more than %d shards\n", MAX_SHARDS);
				PQclear(res);
				return false;
			}
			sh = nshards++;
			shard_names[sh] = strdup(name);
			shard_conninfo[sh] = strdup(PQgetvalue(res, i, 2));
		}
		snprintf(routes[i].account, sizeof(routes[i].account), "%s", PQgetvalue(res, i, 0));
		routes[i].shard = sh;
		routes[i].moving = strcmp(PQgetvalue(res, i, 3), "t") == 0;
	}
	PQclear(res);
	coordinator_user = strdup(PQuser(conn));
	return true;
}

static void *
worker(void *arg)
{
	PGconn	   *conn = NULL;
	Batch		b = {0};
	FileItem  **redo = NULL;	/* files of a batch lost with its connection */
	size_t		nredo = 0;
	size_t		day_next = 0,	/* this worker's day: files[day_next..day_end) */
				day_end = 0;
	FileItem   *day_item = NULL;	/* --backfill: a file of the last day taken */
	int			lost = 0;
	PGconn	   *shard_conns[MAX_SHARDS] = {0};

	(void) arg;
	for (;;)
	{
		FileItem   *item = NULL;
		bool		opens_day = false;	/* --backfill: commit right after it */
		char		err[256];
		char	   *data;
		size_t		len = 0;
		int			rc;
		bool		more;

		if (nredo > 0)
			item = redo[--nredo];
		else if (day_next < day_end && !interrupted && !shared.fatal)
			item = &shared.files[day_next++];
		else
		{
			/*
			 * The next day's files, all of them (the walk keeps them
			 * together), for one bulk load to fill the day.  With one file
			 * per transaction there is nothing to gain from that, and
			 * connections share a day's files.
			 */
			pthread_mutex_lock(&shared.lock);
			if (opts.backfill && !interrupted && !shared.fatal && shared.next < shared.nfiles)
			{
				/*
				 * --backfill: a day past hot_window is made warm by the
				 * first file that reaches it, and connections share the
				 * day's files (a warm day's rows go to an unindexed side
				 * table).  Whichever connection makes the day holds its
				 * creation lock until it commits, so each commits right
				 * after its first file of a day: the others wait for that
				 * one file only.
				 */
				item = &shared.files[shared.next++];
				opens_day = day_item == NULL || item->day_len != day_item->day_len ||
					strncmp(item->path, day_item->path, item->day_len) != 0;
				if (opens_day)
					day_item = item;
				day_next = day_end = 0;
			}
			else if (!interrupted && !shared.fatal && shared.next < shared.nfiles)
			{
				FileItem   *first = &shared.files[shared.next];

				day_next = shared.next;
				day_end = day_next + 1;
				while (opts.batch_seconds > 0 && day_end < shared.nfiles &&
					   shared.files[day_end].day_len == first->day_len &&
					   strncmp(shared.files[day_end].path, first->path, first->day_len) == 0)
					day_end++;
				shared.next = day_end;
				item = &shared.files[day_next++];
			}
			pthread_mutex_unlock(&shared.lock);
		}
		if (item == NULL)
			break;

		data = read_all(item->path, &len, err, sizeof(err));
		if (data == NULL)
		{
			fprintf(stderr, "\nvpcflow-load: %s: %s\n", item->path, err);
			rc = LOAD_FAILED;
		}
		else if (opts.dry_run)
		{
			long long	records,
						errors;

			rc = dry_run_file(item->path, data, len, &records, &errors, NULL) == 0 ? LOAD_OK : LOAD_FAILED;
			pthread_mutex_lock(&shared.lock);
			shared.loaded += rc == LOAD_OK;
			shared.rows += rc == LOAD_OK ? records : 0;
			shared.errors += rc == LOAD_OK ? errors : 0;
			pthread_mutex_unlock(&shared.lock);
		}
		else if (opts.shards)
		{
			char		rerr[512];
			int			sh = route_file(item->path, data, len, rerr, sizeof(rerr));

			if (sh < 0)
			{
				fprintf(stderr, "\nvpcflow-load: %s: %s\n", item->path, rerr);
				rc = LOAD_FAILED;
			}
			else
			{
				char		label[128];

				snprintf(label, sizeof(label), "shard %s", shard_names[sh]);
				/* a shard that is down fails its files; the others go on */
				rc = load_with_retry(&shard_conns[sh], shard_conninfo[sh], coordinator_user, label,
									 item, data, len);
			}
		}
		else
		{
			for (int retry = 0;; retry++)
			{
				if (conn == NULL && (conn = connect_with_retry(opts.conninfo, NULL, NULL)) == NULL)
				{
					pthread_mutex_lock(&shared.lock);
					shared.fatal = true;
					pthread_mutex_unlock(&shared.lock);
					rc = LOAD_FAILED;
					break;
				}
				rc = b.open ? LOAD_OK : begin_batch(conn, &b);
				if (rc == LOAD_OK)
					rc = load_file(conn, &b, item->path, data, len);
				if (rc == LOAD_RETRY && retry < 3)
				{
					/* another loader holds what this file needs: commit, retry alone */
					if ((rc = commit_batch(conn, &b)) == LOAD_OK)
						continue;
				}
				else if (rc == LOAD_RETRY)
				{
					fprintf(stderr, "\nvpcflow-load: %s: %s", item->path, PQerrorMessage(conn));
					rc = LOAD_FAILED;
				}
				if (rc != LOAD_LOST)
					break;
				/* connection lost: the open batch is rolled back, redo it */
				fprintf(stderr, "\nvpcflow-load: %s: connection lost: %s", item->path, PQerrorMessage(conn));
				PQfinish(conn);
				conn = NULL;
				b.open = false;
				if (++lost > opts.retries || interrupted)
				{
					fail_batch(&b);
					rc = LOAD_FAILED;
					break;
				}
				redo = realloc(redo, (nredo + b.n) * sizeof(FileItem *));
				for (size_t i = 0; i < b.n; i++)
					redo[nredo++] = b.items[i];
				reset_batch(&b);
				retry = -1;
			}
		}
		free(data);
		note_bytes(item, len);
		if (rc == LOAD_DONE)
			;					/* committed alone and counted (--shards) */
		else if (rc == LOAD_OK && !opts.dry_run)
			batch_add(&b, item);
		else
		{
			pthread_mutex_lock(&shared.lock);
			shared.done++;
			shared.failed += rc != LOAD_OK;
			pthread_mutex_unlock(&shared.lock);
		}

		/* end the batch after --batch-seconds, or when no file is left */
		pthread_mutex_lock(&shared.lock);
		more = !interrupted && !shared.fatal && (day_next < day_end || shared.next < shared.nfiles);
		pthread_mutex_unlock(&shared.lock);
		if (b.open && conn != NULL &&
			(nredo == 0 && (!more || opens_day || now() - b.started >= opts.batch_seconds)))
		{
			rc = commit_batch(conn, &b);
			if (rc == LOAD_LOST)
			{
				fprintf(stderr, "\nvpcflow-load: connection lost at commit: %s", PQerrorMessage(conn));
				PQfinish(conn);
				conn = NULL;
				if (++lost > opts.retries || interrupted)
					fail_batch(&b);
				else
				{
					redo = realloc(redo, (nredo + b.n) * sizeof(FileItem *));
					for (size_t i = 0; i < b.n; i++)
						redo[nredo++] = b.items[i];
					reset_batch(&b);
				}
			}
		}
	}
	/* interrupted with a batch open: it is rolled back, nothing partial */
	if (b.open)
	{
		pthread_mutex_lock(&shared.lock);
		shared.done += b.n;
		pthread_mutex_unlock(&shared.lock);
	}
	if (conn)
		PQfinish(conn);
	free(b.items);
	free(redo);
	for (int i = 0; i < nshards; i++)
		if (shard_conns[i])
			PQfinish(shard_conns[i]);
	return NULL;
}

static void
print_progress(bool final)
{
	double		el = now() - start_time;
	double		mbs;
	double		eta = 0;

	pthread_mutex_lock(&shared.lock);
	mbs = el > 0 ? shared.bytes_in / el / 1e6 : 0;
	if (shared.bytes_in > 0 && shared.bytes_total > shared.bytes_in)
		eta = el * (shared.bytes_total - shared.bytes_in) / shared.bytes_in;
	if (final)
		fprintf(stderr, "%s%zu files: %zu loaded, %zu already loaded, %zu failed; %lld rows, "
				"%lld quarantined; %.1f MB in %.1f s (%.0f rows/s)%s\n",
				isatty(2) && !opts.quiet ? "\r\033[K" : "",
				shared.nfiles, shared.loaded, shared.duplicates, shared.failed,
				shared.rows, shared.errors, shared.bytes_in / 1e6, el,
				el > 0 ? shared.rows / el : 0,
				opts.dry_run ? " [dry run]" : interrupted ? " [interrupted]" : "");
	else
		fprintf(stderr, "\r\033[K%zu/%zu files, %lld rows, %.1f MB/s, ETA %.0f s",
				shared.done, shared.nfiles, shared.rows, mbs, eta);
	pthread_mutex_unlock(&shared.lock);
}

int
main(int argc, char **argv)
{
	static struct option longopts[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"jobs", required_argument, NULL, 'j'},
		{"format", required_argument, NULL, 'f'},
		{"on-error", required_argument, NULL, 1},
		{"retry", required_argument, NULL, 2},
		{"batch-seconds", required_argument, NULL, 3},
		{"dry-run", no_argument, NULL, 'n'},
		{"shards", no_argument, NULL, 4},
		{"backfill", no_argument, NULL, 5},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	size_t		cap = 0;
	pthread_t  *threads;
	int			c;

	while ((c = getopt_long(argc, argv, "d:j:f:nqh", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				opts.conninfo = optarg;
				break;
			case 'j':
				opts.jobs = atoi(optarg);
				break;
			case 'f':
				opts.format = optarg;
				break;
			case 1:
				opts.on_error = optarg;
				break;
			case 2:
				opts.retries = atoi(optarg);
				break;
			case 3:
				opts.batch_seconds = atof(optarg);
				break;
			case 'n':
				opts.dry_run = true;
				break;
			case 4:
				opts.shards = true;
				break;
			case 5:
				opts.backfill = true;
				break;
			case 'q':
				opts.quiet = true;
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if (opts.backfill && opts.shards)
	{
		fprintf(stderr, "vpcflow-load: --backfill cannot be combined with --shards\n");
		return 2;
	}
	if (optind >= argc || opts.jobs < 1 || opts.jobs > 64 || opts.retries < 0 ||
		opts.batch_seconds < 0 ||
		(strcmp(opts.on_error, "quarantine") != 0 && strcmp(opts.on_error, "fail") != 0))
	{
		usage(stderr);
		return 2;
	}
	for (int i = optind; i < argc; i++)
		walk(argv[i], &shared.files, &shared.nfiles, &cap, true);
	for (size_t i = 0; i < shared.nfiles; i++)
		shared.bytes_total += shared.files[i].size;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (opts.shards && !opts.dry_run)
	{
		PGconn	   *coord = connect_with_retry(opts.conninfo, NULL, "the coordinator");

		if (coord == NULL || !load_routes(coord))
			return 2;
		PQfinish(coord);
	}
	start_time = now();

	threads = calloc(opts.jobs, sizeof(pthread_t));
	for (int i = 0; i < opts.jobs; i++)
		pthread_create(&threads[i], NULL, worker, NULL);
	if (isatty(2) && !opts.quiet)
	{
		while (shared.done < shared.nfiles && !shared.fatal && !interrupted)
		{
			print_progress(false);
			usleep(500 * 1000);
		}
	}
	for (int i = 0; i < opts.jobs; i++)
		pthread_join(threads[i], NULL);
	print_progress(true);
	if (shared.fatal)
		return 2;
	if (opts.shards && !opts.dry_run && shared.loaded > 0)
	{
		/* make the new partitions of the shards visible on the coordinator */
		PGconn	   *coord = connect_with_retry(opts.conninfo, NULL, "the coordinator");
		PGresult   *res = coord ? PQexec(coord, "SELECT created, dropped FROM vpcflow.sync_shards()") : NULL;

		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			if (coord)
				fprintf(stderr, "vpcflow-load: loaded, but vpcflow.sync_shards() on the coordinator "
						"failed: %s", PQerrorMessage(coord));
			PQclear(res);
			PQfinish(coord);
			return 1;
		}
		PQclear(res);
		PQfinish(coord);
	}
	return (shared.failed > 0 || interrupted) ? 1 : 0;
}
