/*
 * ser.c
 *		Everything the GCP / Azure reader hands back for a document, as text:
 *		detection, every row (line, raw span, every field), every bad item
 *		(line, raw span, field, message), the result and error.  Compiled
 *		twice by run.sh, against a reference commit's reader (as ref_run)
 *		and the working tree's (as new_run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cloudflow.h"

#include <stdarg.h>

typedef struct Out
{
	char	   *s;
	size_t		n,
				cap;
	const char *doc;
} Out;

static void put(Out *o, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
put(Out *o, const char *fmt,...)
{
	va_list		ap;
	static char tmp[140000];
	int			k;

	va_start(ap, fmt);
	k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (k < 0)
		abort();
	if ((size_t) k >= sizeof(tmp))
		k = sizeof(tmp) - 1;
	if (o->n + k + 1 > o->cap)
	{
		o->cap = (o->n + k + 1) * 2;
		o->s = realloc(o->s, o->cap);
		if (o->s == NULL)
			abort();
	}
	memcpy(o->s + o->n, tmp, k);
	o->n += k;
	o->s[o->n] = 0;
}
static void on_row(void *arg, FlowRow *row, const char *raw, size_t rawlen, size_t line)
{
	Out *o = arg;
	put(o, "ROW line=%zu raw=%zd+%zu", line, raw - o->doc, rawlen);
	for (int f = 0; f < FF_COUNT; f++) {
		if (!flow_row_has(row, f)) continue;
		switch ((FlowKind) flow_fields[f].kind) {
		case FK_ADDR: { char b[64]; flow_format_addr(&row->v[f].addr, b, sizeof b); put(o, " %d=%s", f, b); break; }
		case FK_ID: case FK_TEXT: put(o, " %d='%.*s'", f, (int) row->v[f].str.len, row->v[f].str.ptr); break;
		default: put(o, " %d=%lld", f, (long long) row->v[f].i);
		}
	}
	if (row->extra_json.ptr) put(o, " extra=%.*s", (int) row->extra_json.len, row->extra_json.ptr);
	put(o, " nunk=%d\n", row->nunknown);
}
static void on_bad(void *arg, const char *raw, size_t rawlen, size_t line, const char *field, const char *msg)
{
	Out *o = arg;
	put(o, "BAD line=%zu raw=%zd+%zu field=%s msg=%s\n", line, raw - o->doc, rawlen, field ? field : "-", msg);
}
char *PREFIX(size_t *outlen, int mode, int provider, const char *doc, size_t len, size_t resume)
{
	static CloudReader r;
	Out o = {0};
	int rc;
	o.doc = doc;
	put(&o, "detect=%d ndjson=%d\n", cloud_detect(doc, len), (int) cloud_is_ndjson(doc, len));
	if (mode == 0)
		rc = cloud_parse(&r, provider, doc, len, resume, on_row, on_bad, &o);
	else
		rc = cloud_parse_lines(&r, provider, doc, len, on_row, on_bad, &o);
	put(&o, "rc=%d rows=%zu bad=%zu err=%s line=%zu rend=%zu skipped=%zu\n", rc, r.rows, r.bad,
		rc < 0 ? r.error : "", rc < 0 ? r.js.line : 0, r.records_end, r.skipped_records);
	if (rc == 0) put(&o, "lineat_end=%zu\n", json_line_at(&r.js, len));
	*outlen = o.n;
	return o.s;
}
