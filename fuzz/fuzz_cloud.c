/*
 * fuzz_cloud.c
 *		libFuzzer harness for the GCP and Azure readers (src/cloudflow.c) and
 *		the JSON scanner under them.
 *
 * The first byte picks the reader (GCP, Azure NSG, Azure VNet; the Azure
 * readers also take bare tuple lines) and a resume offset (its top six
 * bits times 16); the rest is the document.  Every
 * row and every bad item handed back is read in full, and the promises of
 * cloudflow.h are checked: raw bytes lie inside the document, lines count
 * from 1, a row has a start time and a provider, strings are in the
 * document-independent arena or valid ranges, counters add up.
 *
 * fuzz sources: src/cloudflow.c src/cloudflow_gcp.c src/cloudflow_azure.c src/jsonscan.c src/flowparse.c
 */
#include "cloudflow.h"
#include "fuzz_common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Seen
{
	const char *doc;
	size_t		len;
	size_t		rows;
	size_t		bad;
	size_t		nlines;
} Seen;

static void
check_raw(const Seen *s, const char *raw, size_t rawlen, size_t line)
{
	FUZZ_CHECK(raw >= s->doc && raw + rawlen <= s->doc + s->len);
	FUZZ_CHECK(line >= 1 && line <= s->nlines);
	fuzz_touch(raw, rawlen);
}

static void
on_row(void *arg, FlowRow *row, const char *raw, size_t rawlen, size_t line)
{
	Seen	   *s = arg;

	check_raw(s, raw, rawlen, line);
	s->rows++;
	FUZZ_CHECK(flow_row_has(row, FF_START));
	FUZZ_CHECK(flow_row_has(row, FF_PROVIDER));
	FUZZ_CHECK(row->v[FF_PROVIDER].i >= FLOW_PROVIDER_GCP &&
			   row->v[FF_PROVIDER].i <= FLOW_PROVIDER_AZURE_VNET);
	FUZZ_CHECK(row->nunknown == 0);
	for (int f = 0; f < FF_COUNT; f++)
	{
		if (!flow_row_has(row, f))
			continue;
		switch ((FlowKind) flow_fields[f].kind)
		{
			case FK_ADDR:
				{
					char		buf[64];

					FUZZ_CHECK(row->v[f].addr.family == 4 || row->v[f].addr.family == 6);
					FUZZ_CHECK(flow_format_addr(&row->v[f].addr, buf, sizeof(buf)) > 0);
					fuzz_touch(buf, strlen(buf));
					break;
				}
			case FK_ID:
			case FK_TEXT:
				FUZZ_CHECK(row->v[f].str.ptr != NULL);
				fuzz_touch(row->v[f].str.ptr, row->v[f].str.len);
				break;
			case FK_PORT:
				FUZZ_CHECK(row->v[f].i >= 0 && row->v[f].i <= 65535);
				break;
			case FK_PROTOCOL:
				FUZZ_CHECK(row->v[f].i >= 0 && row->v[f].i <= 255);
				break;
			case FK_INT16:
				FUZZ_CHECK(row->v[f].i >= 0 && row->v[f].i <= 32767);
				break;
			case FK_INT64:
				FUZZ_CHECK(row->v[f].i >= 0);
				break;
			case FK_ACTION:
			case FK_LOG_STATUS:
			case FK_DIRECTION:
			case FK_PROVIDER:
				FUZZ_CHECK(flow_label_name((FlowKind) flow_fields[f].kind, (int) row->v[f].i) != NULL);
				break;
			case FK_TIME:
				fuzz_sink += (unsigned) row->v[f].i;
				break;
		}
	}
	if (row->extra_json.ptr != NULL)
	{
		FUZZ_CHECK(row->extra_json.len >= 2);
		FUZZ_CHECK(row->extra_json.ptr[0] == '{' && row->extra_json.ptr[row->extra_json.len - 1] == '}');
		fuzz_touch(row->extra_json.ptr, row->extra_json.len);
	}
}

static void
on_bad(void *arg, const char *raw, size_t rawlen, size_t line, const char *field,
	   const char *message)
{
	Seen	   *s = arg;

	check_raw(s, raw, rawlen, line);
	s->bad++;
	FUZZ_CHECK(message != NULL && message[0] != '\0');
	fuzz_touch(message, strlen(message));
	if (field != NULL)
		fuzz_touch(field, strlen(field));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int providers[] = {FLOW_PROVIDER_GCP, FLOW_PROVIDER_AZURE_NSG, FLOW_PROVIDER_AZURE_VNET};
	static CloudReader reader;
	Seen		s;
	char	   *doc;
	int			rc;
	int			detected;

	if (size < 1)
		return 0;
	/* an exact-size copy, so ASan sees any read past the end */
	doc = malloc(size - 1 ? size - 1 : 1);
	memcpy(doc, data + 1, size - 1);
	memset(&s, 0, sizeof(s));
	s.doc = doc;
	s.len = size - 1;
	s.nlines = 1;
	for (size_t i = 0; i < s.len; i++)
		s.nlines += doc[i] == '\n';

	detected = cloud_detect(doc, s.len);
	FUZZ_CHECK(detected == 0 || (detected >= FLOW_PROVIDER_GCP && detected <= FLOW_PROVIDER_AZURE_VNET));

	/* bits 2..7 of the first byte: a resume offset for growing Azure blobs */
	rc = cloud_parse(&reader, providers[data[0] % 3], doc, s.len, (size_t) (data[0] >> 2) * 16,
					 on_row, on_bad, &s);
	FUZZ_CHECK(reader.records_end <= s.len);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(reader.rows == s.rows && reader.bad == s.bad);
	if (rc < 0)
	{
		FUZZ_CHECK(reader.error[0] != '\0');
		FUZZ_CHECK(reader.js.line >= 1 && reader.js.line <= s.nlines);
	}

	/* the same bytes as a piece of GCP NDJSON (ingest reads files in pieces) */
	s.rows = s.bad = 0;
	rc = cloud_parse_lines(&reader, FLOW_PROVIDER_GCP, doc, s.len, on_row, on_bad, &s);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(reader.rows == s.rows && reader.bad == s.bad);
	if (rc < 0)
	{
		FUZZ_CHECK(reader.error[0] != '\0');
		FUZZ_CHECK(reader.js.line >= 1 && reader.js.line <= s.nlines);
	}
	if (cloud_is_ndjson(doc, s.len))
	{
		/* it found a whole object on the first line: it starts with '{' */
		size_t		p = (s.len >= 3 && memcmp(doc, "\xef\xbb\xbf", 3) == 0) ? 3 : 0;

		while (p < s.len && (doc[p] == ' ' || doc[p] == '\t' || doc[p] == '\r' || doc[p] == '\n'))
			p++;
		FUZZ_CHECK(p < s.len && doc[p] == '{');
	}
	free(doc);
	return 0;
}
