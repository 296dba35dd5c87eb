/*
 * test_envelope.c
 *		Unit tests of the JSON envelope reader (src/envelope.c).
 *
 * unit.sh sources: src/envelope.c src/jsonscan.c
 */
#include "envelope.h"
#include "unit.h"

#define MAXREC 16

/* Everything one pass over a document produced. */
typedef struct Collected
{
	int			n;
	char		msg[MAXREC][512];
	size_t		len[MAXREC];
	size_t		line[MAXREC];
	size_t		event[MAXREC];
	char		stream[MAXREC][FLOW_ENVELOPE_STREAM_MAX + 1];
	int			rc;				/* 0 or -1: how the pass ended */
	char		error[160];
	size_t		eline;
	size_t		eevent;
} Collected;

static Collected col;

/*
 * Read doc[0..len) to the end with an output buffer of outcap bytes.  The
 * document is copied to a buffer of its exact size so that ASan catches
 * any read past its end.
 */
static Collected *
collect_n(const char *doc, size_t len, size_t outcap)
{
	char	   *copy = unit_exact_copy(doc, len);
	char	   *out = malloc(outcap > 0 ? outcap : 1);
	FlowEnvelope *e = malloc(sizeof(FlowEnvelope));
	size_t		outlen;
	int			rc;

	memset(&col, 0, sizeof(col));
	flow_envelope_init(e, copy, len);
	while ((rc = flow_envelope_next(e, out, outcap, &outlen)) == 1)
	{
		if (col.n < MAXREC)
		{
			CHECK(outlen < outcap && out[outlen] == '\0');
			CHECK(outlen < sizeof(col.msg[0]));
			memcpy(col.msg[col.n], out, outlen < 511 ? outlen : 511);
			col.len[col.n] = outlen;
			col.line[col.n] = e->line;
			col.event[col.n] = e->event;
			CHECK_INT(strlen(e->log_stream), e->log_stream_len);
			memcpy(col.stream[col.n], e->log_stream, e->log_stream_len + 1);
		}
		col.n++;
	}
	col.rc = rc;
	if (rc < 0)
	{
		memcpy(col.error, e->error, sizeof(col.error));
		col.eline = e->line;
		col.eevent = e->event;
		CHECK(e->error[0] != '\0');
		CHECK_INT(outlen, 0);
	}
	/* the end, or the error, is sticky */
	CHECK_INT(flow_envelope_next(e, out, outcap, &outlen), rc);
	free(e);
	free(out);
	free(copy);
	return &col;
}

static Collected *
collect(const char *doc)
{
	return collect_n(doc, strlen(doc), 4096);
}

/* doc must fail with an error containing what, on line eline. */
static void
expect_error(const char *doc, const char *what, size_t eline, int line)
{
	Collected  *c = collect(doc);

	if (c->rc != -1 || strstr(c->error, what) == NULL || c->eline != eline)
	{
		unit_failures++;
		fprintf(stderr, "test_envelope.c:%d: expected error \"%s\" on line %zu, got rc %d \"%s\" on line %zu\n",
				line, what, eline, c->rc, c->error, c->eline);
	}
	unit_checks++;
}

#define EXPECT_ERROR(doc, what, eline) expect_error(doc, what, eline, __LINE__)

static void
test_detect(void)
{
	CHECK(flow_envelope_detect("{}", 2));
	CHECK(flow_envelope_detect(" \r\n\t[", 5));
	CHECK(flow_envelope_detect("\xef\xbb\xbf {", 5));
	CHECK(!flow_envelope_detect("2 123456789010 eni-1", 20));
	CHECK(!flow_envelope_detect("version account-id", 18));
	CHECK(!flow_envelope_detect("", 0));
	CHECK(!flow_envelope_detect(NULL, 0));
	CHECK(!flow_envelope_detect("   \n", 4));
	/* only len bytes count */
	CHECK(!flow_envelope_detect("  {", 2));
}

static const char cwl_doc[] =
"{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789010\","
"\"logGroup\":\"/vpc/flows\",\"logStream\":\"eni-0a1b2c3d4e5f60718\","
"\"subscriptionFilters\":[\"all\"],\"logEvents\":["
"{\"id\":\"1\",\"timestamp\":1700000000000,\"message\":\"2 123456789010 eni-0a1b2c3d4e5f60718 10.0.0.1 10.0.0.2 443 50000 6 10 840 1700000000 1700000060 ACCEPT OK\"},"
"{\"id\":\"2\",\"timestamp\":1700000000000,\"message\":\"2 123456789010 eni-0a1b2c3d4e5f60718 - - - - - - - 1700000000 1700000060 - NODATA\"}]}";

static void
test_cloudwatch(void)
{
	Collected  *c = collect(cwl_doc);
	char		doc[2048];

	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 2);
	CHECK_STR(c->msg[0], "2 123456789010 eni-0a1b2c3d4e5f60718 10.0.0.1 10.0.0.2 443 50000 6 10 840 1700000000 1700000060 ACCEPT OK");
	CHECK_STR(c->msg[1], "2 123456789010 eni-0a1b2c3d4e5f60718 - - - - - - - 1700000000 1700000060 - NODATA");
	CHECK_STR(c->stream[0], "eni-0a1b2c3d4e5f60718");
	CHECK_STR(c->stream[1], "eni-0a1b2c3d4e5f60718");
	CHECK_INT(c->line[1], 1);
	CHECK_INT(c->event[0], 1);
	CHECK_INT(c->event[1], 2);

	/* concatenated payloads, as Firehose delivers them: back to back ... */
	snprintf(doc, sizeof(doc), "%s%s", cwl_doc, cwl_doc);
	c = collect(doc);
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 4);
	CHECK_INT(c->event[3], 4);
	CHECK_INT(c->line[3], 1);

	/* ... or one a line */
	snprintf(doc, sizeof(doc), "%s\n%s\n", cwl_doc, cwl_doc);
	c = collect(doc);
	CHECK_INT(c->n, 4);
	CHECK_INT(c->line[1], 1);
	CHECK_INT(c->line[2], 2);
	CHECK_STR(c->msg[2], "2 123456789010 eni-0a1b2c3d4e5f60718 10.0.0.1 10.0.0.2 443 50000 6 10 840 1700000000 1700000060 ACCEPT OK");
}

static void
test_control(void)
{
	static const char control[] =
	"{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\","
	"\"logGroup\":\"\",\"logStream\":\"\",\"subscriptionFilters\":[],"
	"\"logEvents\":[{\"id\":\"\",\"timestamp\":1700000000000,"
	"\"message\":\"CWL CONTROL MESSAGE: Checking health of destination Firehose.\"}]}";
	char		doc[2048];
	Collected  *c = collect(control);

	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 0);

	snprintf(doc, sizeof(doc), "%s%s", control, cwl_doc);
	c = collect(doc);
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 2);
	CHECK_INT(c->event[0], 1);
	CHECK_STR(c->stream[0], "eni-0a1b2c3d4e5f60718");

	/* messageType and logStream after logEvents: still honoured */
	c = collect("{\"logEvents\":[{\"message\":\"hello\"}],\"logStream\":\"s1\","
				"\"messageType\":\"CONTROL_MESSAGE\"}"
				"{\"logEvents\":[{\"message\":\"a\"},{\"message\":\"b\",\"logStreamName\":\"own\"}],"
				"\"extra\":{\"x\":[1,2,{\"y\":null}]},\"logStream\":\"s2\","
				"\"messageType\":\"DATA_MESSAGE\"}\n");
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 2);
	CHECK_STR(c->msg[0], "a");
	CHECK_STR(c->stream[0], "s2");
	CHECK_STR(c->msg[1], "b");
	CHECK_STR(c->stream[1], "own");
	CHECK_INT(c->event[1], 2);

	/* an error after the events is found before any of them is returned */
	c = collect("{\"logEvents\":[{\"message\":\"a\"}],\"messageType\":\"OTHER\"}");
	CHECK_INT(c->rc, -1);
	CHECK_INT(c->n, 0);
	CHECK_CONTAINS(c->error, "messageType");
}

static void
test_ndjson(void)
{
	Collected  *c;

	c = collect("{\"message\":\"2 123456789010 eni-0a1b2c3d4e5f60718 - - - - - - - 1700000000 1700000060 - NODATA\"}\n"
				"\n"
				"{\"logStreamName\":\"eni-0123abcd-all\",\"timestamp\":1700000000000,"
				"\"message\":\"m2\",\"ingestionTime\":1700000001000,\"eventId\":\"3\"}\r\n"
				"   {\"message\":\"m3\",\"logStreamName\":\"after\"}");
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 3);
	CHECK_STR(c->msg[0], "2 123456789010 eni-0a1b2c3d4e5f60718 - - - - - - - 1700000000 1700000060 - NODATA");
	CHECK_STR(c->stream[0], "");
	CHECK_INT(c->line[0], 1);
	CHECK_STR(c->msg[1], "m2");
	CHECK_STR(c->stream[1], "eni-0123abcd-all");
	CHECK_INT(c->line[1], 3);
	CHECK_INT(c->event[1], 2);
	CHECK_STR(c->msg[2], "m3");
	CHECK_STR(c->stream[2], "after");
	CHECK_INT(c->line[2], 4);
	CHECK_INT(c->event[2], 3);

	/* an error names its line and event */
	c = collect("{\"message\":\"a\"}\n{\"message\":\"b\"}\n{\"message\":\"c\\x\"}\n");
	CHECK_INT(c->rc, -1);
	CHECK_INT(c->n, 2);
	CHECK_INT(c->eline, 3);
	CHECK_INT(c->eevent, 3);
	CHECK_CONTAINS(c->error, "invalid escape \"\\x\"");

	/* a truncated last line */
	c = collect("{\"message\":\"a\"}\n{\"message\":\"b\"");
	CHECK_INT(c->rc, -1);
	CHECK_INT(c->n, 1);
	CHECK_INT(c->eline, 2);
	CHECK_CONTAINS(c->error, "end of input");
}

static void
test_events_shape(void)
{
	Collected  *c;

	/* aws logs filter-log-events output, pretty-printed */
	c = collect("{\n"
				"    \"events\": [\n"
				"        {\n"
				"            \"logStreamName\": \"eni-0a1b2c3d4e5f60718-all\",\n"
				"            \"timestamp\": 1700000000000,\n"
				"            \"message\": \"first\",\n"
				"            \"ingestionTime\": 1700000005000,\n"
				"            \"eventId\": \"37\"\n"
				"        },\n"
				"        {\n"
				"            \"logStreamName\": \"eni-0b-all\",\n"
				"            \"message\": \"second\"\n"
				"        }\n"
				"    ],\n"
				"    \"searchedLogStreams\": [{\"logStreamName\": \"x\", \"searchedCompletely\": true}],\n"
				"    \"nextToken\": \"Bxkq6kVGFtq2y_Moigeqscs\"\n"
				"}\n");
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 2);
	CHECK_STR(c->msg[0], "first");
	CHECK_INT(c->line[0], 6);
	CHECK_STR(c->stream[0], "eni-0a1b2c3d4e5f60718-all");
	CHECK_STR(c->msg[1], "second");
	CHECK_INT(c->line[1], 12);
	CHECK_STR(c->stream[1], "eni-0b-all");

	/* empty containers and arrays */
	c = collect("{\"events\":[]} [] [ ] {\"logEvents\":[ ]}");
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 0);

	/* a top-level array of events, and of containers */
	c = collect("[{\"message\":\"a\"},{\"message\":\"b\"}]\n"
				"[{\"messageType\":\"DATA_MESSAGE\",\"logStream\":\"s\",\"logEvents\":[{\"message\":\"c\"}]},"
				"{\"events\":[{\"message\":\"d\"}]}]");
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 4);
	CHECK_STR(c->msg[0], "a");
	CHECK_STR(c->msg[1], "b");
	CHECK_STR(c->msg[2], "c");
	CHECK_STR(c->stream[2], "s");
	CHECK_STR(c->msg[3], "d");
	CHECK_STR(c->stream[3], "");
	CHECK_INT(c->event[3], 4);
	CHECK_INT(c->line[3], 2);

	/* a byte order mark before the document */
	c = collect("\xef\xbb\xbf{\"message\":\"bom\"}");
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 1);
	CHECK_STR(c->msg[0], "bom");
}

static void
test_skip(void)
{
	Collected  *c;

	/* unknown keys of every kind, with brackets and quotes inside strings */
	c = collect("{\"a\":{\"b\":[1,-2.5e+10,0,-0.0,1E3,true,false,null,\"}]\\\"[{\",{},[]]},"
				"\"logEvents\":[{\"id\":\"x\",\"nested\":{\"message\":\"not this\"},"
				"\"message\":\"this\",\"z\":[[[]]]}],"
				"\"messageType\":\"DATA_MESSAGE\",\"logStream\":\"s\",\"n\":12345678901234567890}");
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 1);
	CHECK_STR(c->msg[0], "this");

	/* escaped key names are still the keys */
	c = collect("{\"mess\\u0061ge\":\"escaped key\"}");
	CHECK_INT(c->n, 1);
	CHECK_STR(c->msg[0], "escaped key");

	/* \u0000 is fine where it is skipped */
	c = collect("{\"k\\u0000\":\"v\\u0000\",\"message\":\"ok\"}");
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 1);
}

static void
test_unescape(void)
{
	Collected  *c;

	c = collect("{\"message\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t|\\u0041\\u00e9\\u20AC\\ud83d\\ude00|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}");
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 1);
	CHECK_STR(c->msg[0], "q\" b\\ s/ \b\f\n\r\t|A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");

	/* highest code point, via a pair and raw */
	c = collect("{\"message\":\"\\udbff\\udfff\xf4\x8f\xbf\xbf\"}");
	CHECK_STR(c->msg[0], "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf");
	c = collect("{\"message\":\"\"}");
	CHECK_INT(c->n, 1);
	CHECK_INT(c->len[0], 0);
}

static void
test_string_errors(void)
{
	EXPECT_ERROR("{\"message\":\"a\\x\"}", "invalid escape", 1);
	EXPECT_ERROR("{\"message\":\"a\\\x01\"}", "invalid escape", 1);
	EXPECT_ERROR("{\"message\":\"a\\u12\"}", "invalid \\u escape", 1);
	EXPECT_ERROR("{\"message\":\"a\\u12G4\"}", "invalid \\u escape", 1);
	EXPECT_ERROR("{\"message\":\"\\ud800\"}", "lone surrogate \\uD800", 1);
	EXPECT_ERROR("{\"message\":\"\\ud800x\"}", "lone surrogate", 1);
	EXPECT_ERROR("{\"message\":\"\\ud800\\u0041\"}", "lone surrogate", 1);
	EXPECT_ERROR("{\"message\":\"\\ud800\\ud800\"}", "lone surrogate", 1);
	EXPECT_ERROR("{\"message\":\"\\udc00\\ud800\"}", "lone surrogate \\uDC00", 1);
	EXPECT_ERROR("{\"other\":\"\\udfff\",\"message\":\"x\"}", "lone surrogate", 1);
	EXPECT_ERROR("{\"message\":\"a\\u0000b\"}", "NUL", 1);
	EXPECT_ERROR("{\"logStream\":\"a\\u0000\",\"message\":\"b\"}", "NUL", 1);
	EXPECT_ERROR("{\"message\":\"a\x01\"}", "control character 0x01", 1);
	EXPECT_ERROR("\n{\"message\":\"a\nb\"}", "control character 0x0a", 2);
	EXPECT_ERROR("{\"message\":\"a\tb\"}", "control character 0x09", 1);
	EXPECT_ERROR("{\"message\":\"\xc0\x80\"}", "UTF-8", 1);
	EXPECT_ERROR("{\"message\":\"\xed\xa0\x80\"}", "UTF-8", 1);
	EXPECT_ERROR("{\"message\":\"\xf4\x90\x80\x80\"}", "UTF-8", 1);
	EXPECT_ERROR("{\"message\":\"\xe2\x82\"}", "UTF-8", 1);
	EXPECT_ERROR("{\"message\":\"\xff\"}", "UTF-8", 1);
	EXPECT_ERROR("{\"message\":\"abc", "unterminated string", 1);
	EXPECT_ERROR("{\"message\":\"abc\\", "unterminated string", 1);
	EXPECT_ERROR("{\"message\":\"abc\xe2\x82", "UTF-8", 1);
	EXPECT_ERROR("{\"message\":\"abc\\ud83d", "lone surrogate", 1);
}

static void
test_structure_errors(void)
{
	EXPECT_ERROR("{\"message\":42}", "\"message\" is not a string", 1);
	EXPECT_ERROR("{\"message\":null}", "\"message\" is not a string", 1);
	EXPECT_ERROR("{\"logStream\":1,\"message\":\"a\"}", "\"logStream\" is not a string", 1);
	EXPECT_ERROR("{\"logEvents\":{}}", "\"logEvents\" is not an array", 1);
	EXPECT_ERROR("{\"logEvents\":[{\"id\":\"1\"}]}", "event has no \"message\"", 1);
	EXPECT_ERROR("{\"logEvents\":[\"x\"]}", "expected an event object", 1);
	EXPECT_ERROR("{\"owner\":\"x\"}\n", "no \"message\" or \"logEvents\"", 1);
	EXPECT_ERROR("{}", "no \"message\" or \"logEvents\"", 1);
	EXPECT_ERROR("{\"message\":\"a\",\"message\":\"b\"}", "duplicate key \"message\"", 1);
	EXPECT_ERROR("{\"logStream\":\"a\",\"logStreamName\":\"b\",\"message\":\"c\"}", "duplicate key \"logStreamName\"", 1);
	EXPECT_ERROR("{\"message\":\"a\",\"logEvents\":[]}", "both", 1);
	EXPECT_ERROR("{\"logEvents\":[],\"message\":\"a\"}", "both", 1);
	EXPECT_ERROR("{\"messageType\":\"DATA_MESSAGE\",\"logStream\":\"s\",\"logEvents\":[],\n\"message\":\"a\"}", "both", 2);
	EXPECT_ERROR("{\"messageType\":\"DATA_MESSAGE\",\"logStream\":\"s\",\"logEvents\":[],\"logEvents\":[]}", "duplicate", 1);
	EXPECT_ERROR("{\"messageType\":\"data\",\"logEvents\":[]}", "messageType", 1);
	EXPECT_ERROR("{\"messageType\":7,\"logEvents\":[]}", "not a string", 1);
	EXPECT_ERROR("{\"message\":\"x\"} x", "unexpected 'x'", 1);
	EXPECT_ERROR("{\"message\":\"x\"},{\"message\":\"y\"}", "unexpected ','", 1);
	EXPECT_ERROR("\"just a string\"", "expected '{' or '['", 1);
	EXPECT_ERROR("[[]]", "expected an object", 1);
	EXPECT_ERROR("[{\"message\":\"a\"} {\"message\":\"b\"}]", "expected ',' or ']'", 1);
	EXPECT_ERROR("{\"message\":\"x\",}", "expected a key string", 1);
	EXPECT_ERROR("{\"message\" \"x\"}", "expected ':'", 1);
	EXPECT_ERROR("{\"message\":\"x\" \"y\":1}", "expected ',' or '}'", 1);
	EXPECT_ERROR("{\"n\":01,\"message\":\"x\"}", "expected ',' or '}'", 1);
	EXPECT_ERROR("{\"n\":-,\"message\":\"x\"}", "invalid number", 1);
	EXPECT_ERROR("{\"n\":1.,\"message\":\"x\"}", "invalid number", 1);
	EXPECT_ERROR("{\"n\":1e,\"message\":\"x\"}", "invalid number", 1);
	EXPECT_ERROR("{\"n\":.5,\"message\":\"x\"}", "unexpected '.'", 1);
	EXPECT_ERROR("{\"n\":tru,\"message\":\"x\"}", "expected a value", 1);
	EXPECT_ERROR("{\"n\":[1,],\"message\":\"x\"}", "expected a value", 1);
	EXPECT_ERROR("{\"n\":[1 2],\"message\":\"x\"}", "expected ',' or ']'", 1);
	EXPECT_ERROR("{\"n\":{\"a\" 1},\"message\":\"x\"}", "expected ':'", 1);
	EXPECT_ERROR("{\"n\":{1:2},\"message\":\"x\"}", "expected a key string", 1);
	EXPECT_ERROR("{\"n\":[},\"message\":\"x\"}", "unexpected '}'", 1);
	EXPECT_ERROR("{\"n\":\n[\n1\n", "end of input", 4);
	EXPECT_ERROR("{\"logEvents\":[{\"message\":\"a\"}", "end of input", 1);
}

static void
test_errors_in_events(void)
{
	Collected  *c;

	/* the third event is broken: two good ones come first */
	c = collect("{\"messageType\":\"DATA_MESSAGE\",\"logStream\":\"s\",\"logEvents\":[\n"
				"{\"message\":\"one\"},\n"
				"{\"message\":\"two\"},\n"
				"{\"message\":\"th\\ree\\q\"}\n"
				"]}");
	CHECK_INT(c->rc, -1);
	CHECK_INT(c->n, 2);
	CHECK_INT(c->line[1], 3);
	CHECK_INT(c->eline, 4);
	CHECK_INT(c->eevent, 3);
	CHECK_CONTAINS(c->error, "\\q");
}

/* prefix, depth '[' and as many ']', suffix; returns the length. */
static size_t
nest(char *doc, const char *prefix, int depth, const char *suffix)
{
	size_t		n = strlen(prefix);

	memcpy(doc, prefix, n);
	memset(doc + n, '[', (size_t) depth);
	memset(doc + n + depth, ']', (size_t) depth);
	n += 2 * (size_t) depth;
	memcpy(doc + n, suffix, strlen(suffix));
	return n + strlen(suffix);
}

static void
test_depth(void)
{
	static const char in_event[] = "[{\"logEvents\":[{\"message\":\"m\",\"x\":";
	char		doc[1024];
	size_t		n;
	Collected  *c;
	char	   *big;
	size_t		bigsize = 200000;

	/* the object is level 1, so 63 arrays in it reach the limit exactly */
	n = nest(doc, "{\"message\":\"deep\",\"a\":", 63, "}");
	c = collect_n(doc, n, 64);
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 1);
	n = nest(doc, "{\"message\":\"deep\",\"a\":", 64, "}");
	c = collect_n(doc, n, 64);
	CHECK_INT(c->rc, -1);
	CHECK_CONTAINS(c->error, "nesting deeper than 64");

	/* an event in a container in a top-level array is at level 4 */
	n = nest(doc, in_event, 60, "}]}]");
	c = collect_n(doc, n, 64);
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 1);
	n = nest(doc, in_event, 61, "}]}]");
	c = collect_n(doc, n, 64);
	CHECK_INT(c->rc, -1);
	CHECK_CONTAINS(c->error, "nesting");

	/* objects count as well as arrays */
	n = 0;
	n += (size_t) snprintf(doc + n, sizeof(doc) - n, "{\"message\":\"m\",\"a\":");
	for (int i = 0; i < 64; i++)
		n += (size_t) snprintf(doc + n, sizeof(doc) - n, "{\"k\":");
	c = collect_n(doc, n, 64);
	CHECK_INT(c->rc, -1);
	CHECK_CONTAINS(c->error, "nesting deeper than 64");

	/* far deeper than any stack would take if this recursed */
	big = malloc(bigsize);
	memcpy(big, "{\"a\":", 5);
	memset(big + 5, '[', bigsize - 5);
	c = collect_n(big, bigsize, 64);
	CHECK_INT(c->rc, -1);
	CHECK_CONTAINS(c->error, "nesting");
	free(big);
}

static void
test_sizes(void)
{
	char		doc[3000];
	char		stream[1100];
	Collected  *c;

	/* "hello" needs 6 bytes with its NUL */
	c = collect_n("{\"message\":\"hello\"}", 19, 6);
	CHECK_INT(c->rc, 0);
	CHECK_INT(c->n, 1);
	CHECK_STR(c->msg[0], "hello");
	c = collect_n("{\"message\":\"hello\"}", 19, 5);
	CHECK_INT(c->rc, -1);
	CHECK_CONTAINS(c->error, "message is 5 bytes, longer than the 4");
	/* the size is the decoded size: six escapes, 6 bytes */
	c = collect_n("{\"message\":\"\\u0041\\u0042\\u0043\\u0044\\u0045\\u0046\"}", 50, 4);
	CHECK_INT(c->rc, -1);
	CHECK_CONTAINS(c->error, "message is 6 bytes");
	c = collect_n("{\"message\":\"x\"}", 15, 0);
	CHECK_INT(c->rc, -1);

	memset(stream, 'a', sizeof(stream));
	snprintf(doc, sizeof(doc), "{\"message\":\"m\",\"logStream\":\"%.*s\"}",
			 FLOW_ENVELOPE_STREAM_MAX, stream);
	c = collect(doc);
	CHECK_INT(c->rc, 0);
	CHECK_INT(strlen(c->stream[0]), FLOW_ENVELOPE_STREAM_MAX);
	snprintf(doc, sizeof(doc), "{\"message\":\"m\",\"logStream\":\"%.*s\"}",
			 FLOW_ENVELOPE_STREAM_MAX + 1, stream);
	c = collect(doc);
	CHECK_INT(c->rc, -1);
	CHECK_CONTAINS(c->error, "log stream name is 1025 bytes");
}

/* Every prefix of a valid document ends cleanly, with no over-read. */
static void
test_prefixes(void)
{
	static const char doc[] =
	"[{\"messageType\":\"DATA_MESSAGE\",\"logStream\":\"s\\u00e9\",\"logEvents\":"
	"[{\"id\":\"1\",\"timestamp\":-1.5e3,\"message\":\"a\\ud83d\\ude00\"},{\"message\":\"\\\"b\\\"\",\"t\":[true,false,null,{}]}]}]\n"
	"{\"message\":\"c\"}";
	size_t		len = strlen(doc);

	for (size_t i = 0; i <= len; i++)
	{
		Collected  *c = collect_n(doc, i, 64);

		CHECK(c->rc == -1 || c->rc == 0);
		CHECK(c->n <= 3);
	}
	CHECK_INT(collect_n(doc, len, 64)->n, 3);
}

int
main(void)
{
	test_detect();
	test_cloudwatch();
	test_control();
	test_ndjson();
	test_events_shape();
	test_skip();
	test_unescape();
	test_string_errors();
	test_structure_errors();
	test_errors_in_events();
	test_depth();
	test_sizes();
	test_prefixes();
	UNIT_DONE();
}
