/*
 * fuzz_envelope.c
 *		libFuzzer harness for the JSON envelope reader, and the parser behind it.
 *
 * The input is a document for flow_envelope_next.  Each message it yields
 * is checked against the header's promises, re-escaped into a new
 * {"message": ...} document that must give the same bytes back, and then
 * split into lines for flow_parse_line, as ingest does.
 *
 * fuzz sources: src/envelope.c src/jsonscan.c src/flowparse.c
 */
#include "envelope.h"
#include "fuzz_common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * msg as a JSON document {"message":"..."}; with ascii_only, every
 * non-ASCII character is a \u escape (surrogate pairs above U+FFFF).
 */
static size_t
escape_message(const unsigned char *msg, size_t len, char *doc, int ascii_only)
{
	static const char hex[] = "0123456789abcdef";
	size_t		n = 0;

	memcpy(doc, "{\"message\":\"", 12);
	n = 12;
	for (size_t i = 0; i < len;)
	{
		unsigned	c = msg[i];
		uint32_t	cp;
		int			k;

		if (c == '"' || c == '\\')
		{
			doc[n++] = '\\';
			doc[n++] = (char) c;
			i++;
			continue;
		}
		if (c >= 0x20 && (c < 0x80 || !ascii_only))
		{
			doc[n++] = (char) c;
			i++;
			continue;
		}
		if (c < 0x80)
		{
			cp = c;
			k = 1;
		}
		else
		{
			/* the message is valid UTF-8: checked before */
			k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			cp = c & (k == 4 ? 0x07 : k == 3 ? 0x0f : 0x1f);
			for (int j = 1; j < k; j++)
				cp = (cp << 6) | (msg[i + j] & 0x3f);
		}
		i += (size_t) k;
		if (cp >= 0x10000)
		{
			uint32_t	hi = 0xd800 + ((cp - 0x10000) >> 10);
			uint32_t	lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);

			doc[n++] = '\\';
			doc[n++] = 'u';
			for (int s = 12; s >= 0; s -= 4)
				doc[n++] = hex[(hi >> s) & 0xf];
			cp = lo;
		}
		doc[n++] = '\\';
		doc[n++] = 'u';
		for (int s = 12; s >= 0; s -= 4)
			doc[n++] = hex[(cp >> s) & 0xf];
	}
	memcpy(doc + n, "\"}", 2);
	return n + 2;
}

/* The escaped forms of msg must read back as msg. */
static void
check_round_trip(const char *msg, size_t len)
{
	char	   *doc = malloc(12 * len + 16);
	char	   *out = malloc(len + 1);
	FlowEnvelope *e = malloc(sizeof(FlowEnvelope));

	FUZZ_CHECK(doc && out && e);
	for (int ascii_only = 0; ascii_only <= 1; ascii_only++)
	{
		size_t		doclen = escape_message((const unsigned char *) msg, len, doc, ascii_only);
		size_t		outlen;
		int			r;

		FUZZ_CHECK(flow_envelope_detect(doc, doclen));
		flow_envelope_init(e, doc, doclen);
		r = flow_envelope_next(e, out, len + 1, &outlen);
		if (r != 1)
			fprintf(stderr, "round trip failed: %s\n", e->error);
		FUZZ_CHECK(r == 1);
		FUZZ_CHECK(outlen == len && memcmp(out, msg, len) == 0);
		FUZZ_CHECK(flow_envelope_next(e, out, len + 1, &outlen) == 0);
	}
	free(e);
	free(doc);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *doc = (const char *) data;
	/* an odd size gets a small buffer, so messages that do not fit occur */
	size_t		outcap = (size & 1) ? 4096 : 40;
	char	   *out = malloc(outcap);
	FlowEnvelope *e = malloc(sizeof(FlowEnvelope));
	FlowParser *p = malloc(sizeof(FlowParser));
	size_t		nlines = 1;
	size_t		count = 0;
	size_t		outlen;
	int			r;

	FUZZ_CHECK(out && e && p);
	for (size_t i = 0; i < size; i++)
		nlines += doc[i] == '\n';
	(void) flow_envelope_detect(doc, size);
	flow_envelope_init(e, doc, size);
	flow_parser_init(p);

	while ((r = flow_envelope_next(e, out, outcap, &outlen)) == 1)
	{
		count++;
		/* every record takes input: no endless loop */
		FUZZ_CHECK(count <= size);
		FUZZ_CHECK(outlen < outcap && out[outlen] == '\0');
		FUZZ_CHECK(memchr(out, '\0', outlen) == NULL);
		FUZZ_CHECK(fuzz_valid_utf8((const unsigned char *) out, outlen));
		FUZZ_CHECK(e->line >= 1 && e->line <= nlines);
		/* returned events are numbered 1, 2, 3, ... */
		FUZZ_CHECK(e->event == count);
		FUZZ_CHECK(e->log_stream_len <= FLOW_ENVELOPE_STREAM_MAX);
		FUZZ_CHECK(strlen(e->log_stream) == e->log_stream_len);
		FUZZ_CHECK(fuzz_valid_utf8((const unsigned char *) e->log_stream, e->log_stream_len));
		check_round_trip(out, outlen);
		fuzz_parse_lines(p, out, outlen);
	}
	FUZZ_CHECK(r == 0 || r == -1);
	FUZZ_CHECK(outlen == 0);
	if (r == -1)
	{
		fuzz_touch_cstr(e->error, sizeof(e->error));
		FUZZ_CHECK(e->error[0] != '\0');
		FUZZ_CHECK(e->line >= 1 && e->line <= nlines);
		FUZZ_CHECK(e->event <= count + 1);
	}
	/* the end, or the error, stays */
	FUZZ_CHECK(flow_envelope_next(e, out, outcap, &outlen) == r);
	free(p);
	free(e);
	free(out);
	return 0;
}
