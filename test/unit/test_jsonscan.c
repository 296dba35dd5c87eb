/*
 * test_jsonscan.c
 *		Unit tests of the JSON scanner's fast paths (src/jsonscan.h): the
 *		inline steps must find what the out-of-line ones find, byte for
 *		byte and error for error.  The plain-run scan is checked against a
 *		one-byte-at-a-time reading of its definition at every offset and
 *		length of buffers whose stopping bytes sit at every position around
 *		the 8- and 16-byte steps; the inline string, key and member steps
 *		against json_read_string / json_read_key and hand-written cases
 *		(escapes, UTF-8, \u escapes and surrogates, truncation at every
 *		byte, blanks where compact JSON has none).
 *
 * unit.sh sources: src/jsonscan.c
 */
#include "jsonscan.h"
#include "unit.h"

/* The definition: ASCII at or above 0x20 (DEL too) other than '"' and '\\'. */
static size_t
reference_run(const unsigned char *b, size_t p, size_t len)
{
	size_t		n = 0;

	while (p + n < len && b[p + n] >= 0x20 && b[p + n] < 0x80 && b[p + n] != '"' &&
		   b[p + n] != '\\')
		n++;
	return n;
}

static void
test_plain_run(void)
{
	static const unsigned char stops[] = {'"', '\\', 0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xff, '\n'};
	unsigned char buf[80];
	int			bad = 0;

	/* one stopping byte at each position, every start and end */
	for (size_t s = 0; s < sizeof(stops); s++)
		for (size_t at = 0; at < sizeof(buf); at++)
		{
			for (size_t i = 0; i < sizeof(buf); i++)
				buf[i] = (unsigned char) ('a' + i % 26);
			buf[at] = stops[s];
			for (size_t p = 0; p < sizeof(buf); p++)
				for (size_t len = p; len <= sizeof(buf); len++)
					if (json_plain_run(buf, p, len) != reference_run(buf, p, len))
						bad++;
		}
	CHECK_INT(bad, 0);

	/* pseudo-random bytes, mostly plain */
	{
		uint32_t	x = 12345;

		for (int round = 0; round < 2000; round++)
		{
			for (size_t i = 0; i < sizeof(buf); i++)
			{
				x = x * 1103515245u + 12345u;
				buf[i] = ((x >> 16) % 23 == 0) ? (unsigned char) (x >> 8) : (unsigned char) (' ' + (x >> 20) % 95);
			}
			for (size_t p = 0; p < sizeof(buf); p += 3)
				if (json_plain_run(buf, p, sizeof(buf)) != reference_run(buf, p, sizeof(buf)))
					bad++;
		}
	}
	CHECK_INT(bad, 0);
}

/*
 * json_skip_string (inline) against json_read_string on doc: the same
 * result, end and error.
 */
static void
same_as_read_string(const char *doc, size_t len, int line)
{
	JsonScan	a,
				b;
	size_t		pa = 0,
				pb = 0,
				n;
	int			ra,
				rb;

	json_scan_init(&a, doc, len);
	json_scan_init(&b, doc, len);
	ra = json_skip_string(&a, &pa);
	rb = json_read_string(&b, &pb, NULL, 0, &n, NULL);
	if (ra != rb || (ra == 0 && pa != pb) || a.failed != b.failed ||
		strcmp(a.error, b.error) != 0 || (ra < 0 && a.line != b.line))
	{
		unit_failures++;
		fprintf(stderr, "%s:%d: skip and read differ on \"%.*s\": %d/%d at %zu/%zu, \"%s\"/\"%s\"\n",
				__FILE__, line, (int) len, doc, ra, rb, pa, pb, a.error, b.error);
	}
	unit_checks++;
}

static void
test_strings(void)
{
	static const char *const cases[] = {
		"\"\"", "\"plain\"", "\"0123456789abcdef\"", "\"0123456789abcde\\\"\"",
		"\"0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ\"",
		"\"caf\xc3\xa9\"", "\"\\u00e9t\\u00E9\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"",
		"\"\\ude00\"", "\"\\ud83d\\u0041\"", "\"\\u12\"", "\"\\uZZZZ\"", "\"a\\qb\"",
		"\"a\\\x01\"", "\"tab\there\"", "\"nl\nx\"", "\"\xc3\"", "\"\xc0\xaf\"",
		"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\\/\\b\\f\\n\\r\\t\\\\\"",
		"\"0123456789abcde\xc3\xa9\"", "\"0123456\\\\\"", "\"\\u0000\"",
	};
	char		doc[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		size_t		len = strlen(cases[i]);

		same_as_read_string(cases[i], len, __LINE__);
		/* cut at every byte: unterminated and broken escapes alike */
		for (size_t cut = 1; cut < len; cut++)
			same_as_read_string(cases[i], cut, __LINE__);
		/* at every offset from the step boundaries: the string after a run of x */
		for (size_t pad = 0; pad < 40 && pad + len + 1 < sizeof(doc); pad++)
		{
			JsonScan	a,
						b;
			size_t		pa,
						pb,
						n;
			int			ra,
						rb;

			memset(doc, 'x', pad);
			memcpy(doc + pad, cases[i], len);
			json_scan_init(&a, doc, pad + len);
			json_scan_init(&b, doc, pad + len);
			pa = pb = pad;
			ra = json_skip_string(&a, &pa);
			rb = json_read_string(&b, &pb, NULL, 0, &n, NULL);
			CHECK(ra == rb && (ra < 0 || pa == pb) && strcmp(a.error, b.error) == 0);
		}
	}
}

/* The key at the start of doc: its text and where the value starts, or the error. */
static void
check_key(const char *doc, const char *want_key, size_t want_pos, const char *want_error)
{
	JsonScan	js;
	char		buf[8];
	const char *key = NULL;
	size_t		klen = 0;
	int			rc;

	json_scan_init(&js, doc, strlen(doc));
	rc = json_member_key(&js, &key, &klen, buf, sizeof(buf));
	if (want_error == NULL)
	{
		CHECK_INT(rc, 0);
		if (rc == 0)
		{
			CHECK_MEM(key, klen < sizeof(buf) || key != buf ? klen : sizeof(buf), want_key);
			CHECK_INT(js.pos, want_pos);
		}
	}
	else
	{
		CHECK_INT(rc, -1);
		CHECK_STR(js.error, want_error);
	}
}

static void
test_keys(void)
{
	JsonScan	js;
	bool		first;

	/* compact, in place */
	check_key("\"src_ip\":\"1\"", "src_ip", 9, NULL);
	/* blanks around the ':' take the slow path, same result */
	check_key("\"src_ip\" : \"1\"", "src_ip", 11, NULL);
	check_key("\"src_ip\":\n\t \"1\"", "src_ip", 12, NULL);
	/* a key crossing 16 bytes, in place */
	check_key("\"0123456789abcdefghij\":1", "0123456789abcdefghij", 23, NULL);
	/* escapes are decoded into buf (cut at its size) */
	check_key("\"\\u0061b\":1", "ab", 10, NULL);
	check_key("\"a\\\"b\":1", "a\"b", 7, NULL);
	check_key("\"caf\xc3\xa9\":1", "caf\xc3\xa9", 8, NULL);
	/* errors: the same messages as the slow path always gave */
	check_key("\"src_ip\"", NULL, 0, "unexpected end of input, expected ':'");
	check_key("\"src_ip\",1", NULL, 0, "unexpected ',', expected ':'");
	check_key("\"src_ip", NULL, 0, "unterminated string");
	check_key("\"a\\x\":1", NULL, 0, "invalid escape \"\\x\" in a string");
	check_key("\"a\x01\":1", NULL, 0, "unescaped control character 0x01 in a string");

	/* members: ',"' and '}' inline, anything else as before */
	json_scan_init(&js, "{\"a\":1,\"b\":2}", 13);
	js.pos = 1;
	first = true;
	CHECK_INT(json_next_member(&js, &first), 1);
	CHECK_INT(js.pos, 1);
	CHECK(!first);
	js.pos = 6;
	CHECK_INT(json_next_member(&js, &first), 1);
	CHECK_INT(js.pos, 7);
	js.pos = 12;
	CHECK_INT(json_next_member(&js, &first), 0);
	CHECK_INT(js.pos, 13);
	/* blanks, a missing comma, a comma before the first member, the end */
	json_scan_init(&js, "{ \"a\":1 , \"b\":2 }", 17);
	js.pos = 1;
	first = true;
	CHECK_INT(json_next_member(&js, &first), 1);
	CHECK_INT(js.pos, 2);
	js.pos = 7;
	CHECK_INT(json_next_member(&js, &first), 1);
	CHECK_INT(js.pos, 10);
	js.pos = 15;
	CHECK_INT(json_next_member(&js, &first), 0);
	json_scan_init(&js, "{\"a\":1 \"b\":2}", 13);
	js.pos = 6;
	first = false;
	CHECK_INT(json_next_member(&js, &first), -1);
	CHECK_STR(js.error, "unexpected '\"', expected ',' or '}'");
	json_scan_init(&js, "{,\"a\":1}", 8);
	js.pos = 1;
	first = true;
	CHECK_INT(json_next_member(&js, &first), -1);
	CHECK_STR(js.error, "unexpected ',', expected a key string");
	json_scan_init(&js, "{\"a\":1,", 7);
	js.pos = 6;
	first = false;
	CHECK_INT(json_next_member(&js, &first), -1);
	CHECK_STR(js.error, "unexpected end of input, expected a key string");
	json_scan_init(&js, "{\"a\":1}", 6);
	js.pos = 6;
	CHECK_INT(json_next_member(&js, &first), -1);
	CHECK_STR(js.error, "unexpected end of input, expected ',' or '}'");
}

/* json_skip_value over doc: its end, or its error and line. */
static void
check_skip(const char *doc, long want_end, const char *want_error, size_t want_line)
{
	JsonScan	js;
	int			rc;

	json_scan_init(&js, doc, strlen(doc));
	rc = json_skip_value(&js, 0);
	if (want_error == NULL)
	{
		CHECK_INT(rc, 0);
		CHECK_INT(js.pos, want_end);
	}
	else
	{
		CHECK_INT(rc, -1);
		CHECK_STR(js.error, want_error);
		CHECK_INT(js.line, want_line);
	}
}

static void
test_skip_value(void)
{
	check_skip("{\"labels\":{\"a\":\"b\",\"c\":[1,2.5e3,true,null]},\"type\":\"x\"},", 55, NULL, 0);
	check_skip("{ \"a\" :\n{ } , \"b\":[ ] }", 23, NULL, 0);
	check_skip("{\"a\\u0062\":1}", 13, NULL, 0);
	check_skip("{\"a\":1,\"b\"}", 0, "unexpected '}', expected ':'", 1);
	check_skip("{\"a\":1,\n\"b\" 2}", 0, "unexpected '2', expected ':'", 2);
	check_skip("{\"a\":1,}", 0, "unexpected '}', expected a key string", 1);
	check_skip("{\"a\":1,\"b", 0, "unterminated string", 1);
	check_skip("{\"a\":01}", 0, "unexpected '1', expected ',' or '}'", 1);
	check_skip("{\"a\":[1,]}", 0, "unexpected ']', expected a value", 1);
	check_skip("{\"a\":\"x\x80\"}", 0, "invalid UTF-8 in a string", 1);
}

int
main(void)
{
	test_plain_run();
	test_strings();
	test_keys();
	test_skip_value();
	UNIT_DONE();
}
