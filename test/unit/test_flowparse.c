/*
 * test_flowparse.c
 *		Unit tests of the flow-log text parser (src/flowparse.c).
 *
 * unit.sh sources: src/flowparse.c
 */
#include "flowparse.h"
#include "unit.h"

static FlowParser parser;
static FlowRow row;

/* Parse the C string line; the parser sees an exact-size copy (ASan). */
static FlowLineType
parse(const char *line)
{
	size_t		len = strlen(line);
	static char *copy;

	/* values point into the line: keep it until the next call */
	free(copy);
	copy = unit_exact_copy(line, len);
	memset(&row, 0x7f, sizeof(row));
	return flow_parse_line(&parser, copy, len, &row);
}

static bool
set_format(const char *spec)
{
	char	   *copy = unit_exact_copy(spec, strlen(spec));
	bool		ok = flow_parser_set_format(&parser, copy, strlen(spec));

	free(copy);
	return ok;
}

static const char *
addr_text(const FlowAddr *a)
{
	static char buf[64];

	if (flow_format_addr(a, buf, sizeof(buf)) < 0)
		return "(error)";
	return buf;
}

#define CHECK_FIELD_STR(f, want) \
	do { \
		CHECK(flow_row_has(&row, f)); \
		if (flow_row_has(&row, f)) \
			CHECK_MEM(row.v[f].str.ptr, row.v[f].str.len, want); \
	} while (0)

#define CHECK_FIELD_INT(f, want) \
	do { \
		CHECK(flow_row_has(&row, f)); \
		if (flow_row_has(&row, f)) \
			CHECK_INT(row.v[f].i, want); \
	} while (0)

#define CHECK_FIELD_ADDR(f, want) \
	do { \
		CHECK(flow_row_has(&row, f)); \
		if (flow_row_has(&row, f)) \
			CHECK_STR(addr_text(&row.v[f].addr), want); \
	} while (0)

static int
count_present(void)
{
	int			n = 0;

	/* the AWS fields; provider is always 'aws' (checked in test_v2_default) */
	for (int f = 0; f < FF_COUNT; f++)
		n += flow_row_has(&row, f) && f != FF_PROVIDER;
	return n;
}

static void
test_catalogue(void)
{
	CHECK_INT(flow_field_lookup("log-status", 10), FF_LOG_STATUS);
	CHECK_INT(flow_field_lookup("log_status", 10), FF_LOG_STATUS);
	CHECK_INT(flow_field_lookup("tgw-src-eni", 11), FF_TGW_SRC_ENI);
	CHECK_INT(flow_field_lookup("no-such-field", 13), -1);
	CHECK_INT(flow_field_lookup("", 0), -1);
	CHECK_INT(flow_field_lookup("version-and-more", 7), FF_VERSION);
	/* GCP / Azure columns (version 0) are never header fields */
	for (int f = 0; f < FF_COUNT; f++)
		CHECK_INT(flow_field_lookup(flow_fields[f].name, strlen(flow_fields[f].name)),
				  flow_fields[f].version > 0 ? f : -1);
	CHECK_STR(flow_label_name(FK_ACTION, FLOW_ACTION_REJECT), "REJECT");
	CHECK_STR(flow_label_name(FK_LOG_STATUS, FLOW_STATUS_SKIPDATA), "SKIPDATA");
	CHECK_STR(flow_label_name(FK_DIRECTION, FLOW_DIR_EGRESS), "egress");
	CHECK(flow_label_name(FK_ACTION, 0) == NULL);
	CHECK(flow_label_name(FK_ACTION, 3) == NULL);
	CHECK_INT(flow_label_code(FK_LOG_STATUS, "NODATA", 6), FLOW_STATUS_NODATA);
	CHECK_INT(flow_label_code(FK_ACTION, "accept", 6), 0);
	CHECK_INT(flow_label_code(FK_ACTION, "ACCEPTED", 8), 0);
}

static void
test_v2_default(void)
{
	flow_parser_init(&parser);
	CHECK_INT(parser.format.ncolumns, 14);
	CHECK_INT(parse("2 123456789010 eni-0a1b2c3d4e5f60718 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_INT(FF_VERSION, 2);
	CHECK_FIELD_STR(FF_ACCOUNT_ID, "123456789010");
	CHECK_FIELD_STR(FF_INTERFACE_ID, "eni-0a1b2c3d4e5f60718");
	CHECK_FIELD_ADDR(FF_SRCADDR, "172.31.16.139");
	CHECK(row.v[FF_SRCADDR].addr.family == 4);
	CHECK_FIELD_ADDR(FF_DSTADDR, "172.31.16.21");
	CHECK_FIELD_INT(FF_SRCPORT, 20641);
	CHECK_FIELD_INT(FF_DSTPORT, 22);
	CHECK_FIELD_INT(FF_PROTOCOL, 6);
	CHECK_FIELD_INT(FF_PACKETS, 20);
	CHECK_FIELD_INT(FF_BYTES, 4249);
	CHECK_FIELD_INT(FF_START, 1418530010LL * 1000000);
	CHECK_FIELD_INT(FF_END, 1418530070LL * 1000000);
	CHECK_FIELD_INT(FF_ACTION, FLOW_ACTION_ACCEPT);
	CHECK_FIELD_INT(FF_LOG_STATUS, FLOW_STATUS_OK);
	CHECK_FIELD_INT(FF_PROVIDER, FLOW_PROVIDER_AWS);
	CHECK_INT(count_present(), 14);
	CHECK(!flow_row_has(&row, FF_VPC_ID));

	CHECK_INT(parse("2 123456789010 eni-0a1b2c3d4e5f60718 10.0.0.1 10.0.0.2 65535 0 255 0 9223372036854775807 0 4102444800 REJECT OK"),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_INT(FF_SRCPORT, 65535);
	CHECK_FIELD_INT(FF_PROTOCOL, 255);
	CHECK_FIELD_INT(FF_BYTES, 9223372036854775807LL);
	CHECK_FIELD_INT(FF_ACTION, FLOW_ACTION_REJECT);

	CHECK_INT(parse(""), FLOW_LINE_BLANK);
	CHECK_INT(parse("   \t "), FLOW_LINE_BLANK);
	CHECK_INT(parse("\r"), FLOW_LINE_BLANK);
}

static void
test_nulls_and_status(void)
{
	flow_parser_init(&parser);
	CHECK_INT(parse("2 123456789010 eni-0a1b2c3d4e5f60718 - - - - - - - 1431280876 1431280934 - NODATA"),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_INT(FF_LOG_STATUS, FLOW_STATUS_NODATA);
	CHECK_FIELD_INT(FF_START, 1431280876LL * 1000000);
	CHECK(!flow_row_has(&row, FF_SRCADDR));
	CHECK(!flow_row_has(&row, FF_SRCPORT));
	CHECK(!flow_row_has(&row, FF_PACKETS));
	CHECK(!flow_row_has(&row, FF_ACTION));
	CHECK_INT(count_present(), 6);

	CHECK_INT(parse("2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA"),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_INT(FF_LOG_STATUS, FLOW_STATUS_SKIPDATA);

	/* every field '-' */
	CHECK_INT(parse("- - - - - - - - - - - - - -"), FLOW_LINE_RECORD);
	CHECK_INT(count_present(), 0);

	CHECK_INT(parse("2 123456789010 eni-0a - - - - - - - 1431280876 1431280934 - DONE"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 14);
	CHECK_STR(parser.error.field, "log-status");
	CHECK_INT(parse("2 123456789010 eni-0a 1.2.3.4 1.2.3.5 1 2 6 1 1 1431280876 1431280934 accept OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 13);
	CHECK_MEM(parser.error.value.ptr, parser.error.value.len, "accept");
}

static void
test_headers(void)
{
	flow_parser_init(&parser);
	CHECK_INT(parse("version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status"),
			  FLOW_LINE_HEADER);
	CHECK_INT(parser.headers, 1);
	CHECK_INT(parser.format.ncolumns, 21);
	CHECK_INT(parser.format.field[1], FF_VPC_ID);
	CHECK_INT(parse("3 vpc-0a1b2c3d subnet-0a1b2c3d4e5f60718 i-0123456789abcdef0 eni-0a1b2c3d4e5f60718 123456789010 IPv4 52.95.128.179 10.0.0.71 80 34210 52.95.128.179 10.0.0.71 6 5320 10 1566848875 1566848933 ACCEPT 19 OK"),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_INT(FF_VERSION, 3);
	CHECK_FIELD_STR(FF_VPC_ID, "vpc-0a1b2c3d");
	CHECK_FIELD_STR(FF_INSTANCE_ID, "i-0123456789abcdef0");
	CHECK_FIELD_STR(FF_TYPE, "IPv4");
	CHECK_FIELD_INT(FF_TCP_FLAGS, 19);
	CHECK_FIELD_INT(FF_BYTES, 5320);
	CHECK_FIELD_INT(FF_PACKETS, 10);
	CHECK_FIELD_ADDR(FF_PKT_SRCADDR, "52.95.128.179");

	/* a second header, as in concatenated S3 objects, switches again */
	CHECK_INT(parse("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction traffic-path"),
			  FLOW_LINE_HEADER);
	CHECK_INT(parser.headers, 2);
	CHECK_INT(parse("5 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 17 1 100 1700000000 1700000001 ACCEPT OK egress 2"),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_INT(FF_FLOW_DIRECTION, FLOW_DIR_EGRESS);
	CHECK_FIELD_INT(FF_TRAFFIC_PATH, 2);
	CHECK(!flow_row_has(&row, FF_VPC_ID));
	/* the v3 line now has the wrong number of fields */
	CHECK_INT(parse("3 vpc-0a1b2c3d subnet-0a1b2c3d4e5f60718 i-0123456789abcdef0 eni-0a1b2c3d4e5f60718 123456789010 IPv4 52.95.128.179 10.0.0.71 80 34210 52.95.128.179 10.0.0.71 6 5320 10 1566848875 1566848933 ACCEPT 19 OK"),
			  FLOW_LINE_ERROR);

	/* a header without version, and a data line starting with a letter */
	CHECK_INT(parse("instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr"),
			  FLOW_LINE_HEADER);
	CHECK_INT(parse("- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5"),
			  FLOW_LINE_RECORD);
	CHECK(!flow_row_has(&row, FF_INSTANCE_ID));
	CHECK_INT(parse("i-01234567890123456 eni-1111aaaa2222bbbb3 10.0.1.5 203.0.113.5 10.0.1.5 203.0.113.5"),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_STR(FF_INSTANCE_ID, "i-01234567890123456");

	/* a field twice in a header is an error */
	CHECK_INT(parse("version srcaddr srcaddr"), FLOW_LINE_ERROR);
}

static void
test_unknown_column(void)
{
	flow_parser_init(&parser);
	CHECK_INT(parse("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status future-field"),
			  FLOW_LINE_HEADER);
	CHECK_INT(parser.format.ncolumns, 15);
	CHECK_INT(parser.format.nunknown, 1);
	CHECK_STR(parser.format.unknown_name[0], "future-field");
	CHECK_INT(parser.format.unknown_column[0], 14);
	CHECK_INT(parser.format.field[14], -1);
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 1700000000 1700000001 ACCEPT OK some-value"),
			  FLOW_LINE_RECORD);
	CHECK_INT(row.nunknown, 1);
	CHECK_MEM(row.unknown[0].ptr, row.unknown[0].len, "some-value");
	CHECK(!row.unknown_null[0]);
	CHECK_INT(count_present(), 14);
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 1700000000 1700000001 ACCEPT OK -"),
			  FLOW_LINE_RECORD);
	CHECK(row.unknown_null[0]);

	/* ${field} syntax and an unknown field in an explicit format */
	flow_parser_init(&parser);
	CHECK(set_format("${version} ${srcaddr} ${my-extra}"));
	CHECK(parser.explicit_format);
	CHECK_INT(parser.format.ncolumns, 3);
	CHECK_INT(parser.format.nunknown, 1);
	CHECK_STR(parser.format.unknown_name[0], "my-extra");
	CHECK_INT(parse("4 10.1.2.3 x"), FLOW_LINE_RECORD);
	CHECK_FIELD_INT(FF_VERSION, 4);
	CHECK_MEM(row.unknown[0].ptr, row.unknown[0].len, "x");
}

static void
test_set_format(void)
{
	flow_parser_init(&parser);
	CHECK(set_format("v5"));
	CHECK_INT(parser.format.ncolumns, 29);
	CHECK_INT(parser.format.field[28], FF_TRAFFIC_PATH);
	CHECK(set_format("v3"));
	CHECK_INT(parser.format.ncolumns, 21);
	CHECK(set_format("tgw"));
	CHECK_INT(parser.format.field[1], FF_RESOURCE_TYPE);
	CHECK(set_format(" default "));
	CHECK_INT(parser.format.ncolumns, 14);
	CHECK(set_format("srcaddr,dstaddr, srcport"));
	CHECK_INT(parser.format.ncolumns, 3);
	CHECK_INT(parser.format.field[2], FF_SRCPORT);
	CHECK(!set_format(""));
	CHECK(!set_format(" , "));
	CHECK(parser.error.message[0] != '\0');
	/* a failed spec leaves the format as it was */
	CHECK_INT(parser.format.ncolumns, 3);
}

static void
test_addresses(void)
{
	static const struct
	{
		const char *in;
		const char *out;
	}			good[] = {
		{"0.0.0.0", "0.0.0.0"},
		{"255.255.255.255", "255.255.255.255"},
		{"2001:db8:1234:a100:8d6e:3477:df66:f105", "2001:db8:1234:a100:8d6e:3477:df66:f105"},
		{"::", "::"},
		{"::1", "::1"},
		{"1::", "1::"},
		{"2a02:cf40::", "2a02:cf40::"},
		{"2001:DB8::1", "2001:db8::1"},
		{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
		{"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
		{"fe80::1:2", "fe80::1:2"},
		{"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
		{"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
		{"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
		{"::ffff:c000:280", "::ffff:192.0.2.128"},
		{"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
	};
	static const char *const bad[] = {
		"", ":", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
		"1:2:3:4:5:6:7:8::", ":1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:", "::g", "1.2.3",
		"256.1.1.1", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "1.2.3.4 ", "::ffff:1.2.3",
		"::ffff:1.2.3.256", "1:2:3:4:5:6:7:1.2.3.4", "-", "1.2.3.4/32", "1234.1.1.1",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		FlowAddr	a;
		char	   *copy = unit_exact_copy(good[i].in, strlen(good[i].in));
		bool		ok = flow_parse_addr(copy, strlen(good[i].in), &a);

		free(copy);
		if (!ok)
		{
			unit_failures++;
			fprintf(stderr, "test_flowparse.c: address \"%s\" rejected\n", good[i].in);
		}
		else
			CHECK_STR(addr_text(&a), good[i].out);
		unit_checks++;
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		FlowAddr	a;
		char	   *copy = unit_exact_copy(bad[i], strlen(bad[i]));

		if (flow_parse_addr(copy, strlen(bad[i]), &a))
		{
			unit_failures++;
			fprintf(stderr, "test_flowparse.c: bad address \"%s\" accepted\n", bad[i]);
		}
		unit_checks++;
		free(copy);
	}

	/* bytes, not just text */
	{
		FlowAddr	a;

		CHECK(flow_parse_addr("::ffff:1.2.3.4", 14, &a));
		CHECK_INT(a.family, 6);
		for (int i = 0; i < 10; i++)
			CHECK_INT(a.bytes[i], 0);
		CHECK_INT(a.bytes[10], 0xff);
		CHECK_INT(a.bytes[11], 0xff);
		CHECK_INT(a.bytes[12], 1);
		CHECK_INT(a.bytes[15], 4);
		CHECK(flow_parse_addr("10.0.0.62", 9, &a));
		CHECK_INT(a.family, 4);
		CHECK_INT(a.bytes[0], 10);
		CHECK_INT(a.bytes[3], 62);
	}

	/* in a record */
	flow_parser_init(&parser);
	CHECK_INT(parse("2 123456789010 eni-0a 2001:db8:1234:a100:8d6e:3477:df66:f105 :: 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK"),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_ADDR(FF_SRCADDR, "2001:db8:1234:a100:8d6e:3477:df66:f105");
	CHECK(row.v[FF_SRCADDR].addr.family == 6);
	CHECK_FIELD_ADDR(FF_DSTADDR, "::");
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.256 1 2 6 1 1 1700000000 1700000001 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 5);
	CHECK_STR(parser.error.field, "dstaddr");
	CHECK_MEM(parser.error.value.ptr, parser.error.value.len, "10.0.0.256");
}

static void
test_times(void)
{
	flow_parser_init(&parser);
	/* 13 digits are milliseconds: the row holds microseconds */
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 1700000000123 1700000060999 ACCEPT OK"),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_INT(FF_START, 1700000000123LL * 1000);
	CHECK_FIELD_INT(FF_END, 1700000060999LL * 1000);
	/* 10 digits are seconds */
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 1700000000 0 ACCEPT OK"),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_INT(FF_START, 1700000000LL * 1000000);
	CHECK_FIELD_INT(FF_END, 0);
	/* the same instant either way */
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530010000 ACCEPT OK"),
			  FLOW_LINE_RECORD);
	CHECK_INT(row.v[FF_START].i, row.v[FF_END].i);
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 -1 1700000000 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 11);
	CHECK_STR(parser.error.field, "start");
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 17000000001230000 1700000000 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 1.5 1700000000 ACCEPT OK"),
			  FLOW_LINE_ERROR);
}

static void
test_whitespace(void)
{
	flow_parser_init(&parser);
	/* CRLF: the CR is not part of the last field */
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 1700000000 1700000001 ACCEPT OK\r"),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_INT(FF_LOG_STATUS, FLOW_STATUS_OK);
	CHECK_INT(parse("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\r"),
			  FLOW_LINE_HEADER);
	CHECK_INT(parser.format.ncolumns, 14);
	/* runs of blanks, leading and trailing blanks */
	CHECK_INT(parse("  2  123456789010   eni-0a 10.0.0.1\t10.0.0.2 1 2 6 1 1 1700000000  1700000001 REJECT OK  "),
			  FLOW_LINE_RECORD);
	CHECK_FIELD_STR(FF_ACCOUNT_ID, "123456789010");
	CHECK_FIELD_STR(FF_INTERFACE_ID, "eni-0a");
	CHECK_FIELD_ADDR(FF_DSTADDR, "10.0.0.2");
	CHECK_FIELD_INT(FF_ACTION, FLOW_ACTION_REJECT);
	CHECK_INT(count_present(), 14);
}

static void
test_field_count_errors(void)
{
	flow_parser_init(&parser);
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 1700000000 1700000001 ACCEPT OK extra"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 15);
	CHECK_CONTAINS(parser.error.message, "more fields");
	CHECK_MEM(parser.error.value.ptr, parser.error.value.len, "extra");

	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 1700000000 1700000001 ACCEPT"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 14);
	CHECK_STR(parser.error.field, "log-status");
	CHECK_CONTAINS(parser.error.message, "missing field");
	CHECK_INT(parse("2"), FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 2);
	CHECK_STR(parser.error.field, "account-id");
}

static void
test_number_errors(void)
{
	flow_parser_init(&parser);
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 70000 2 6 1 1 1700000000 1700000001 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 6);
	CHECK_STR(parser.error.field, "srcport");
	CHECK_MEM(parser.error.value.ptr, parser.error.value.len, "70000");
	CHECK_CONTAINS(parser.error.message, "port");

	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 65536 6 1 1 1700000000 1700000001 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 7);
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 256 1 1 1700000000 1700000001 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 8);
	CHECK_STR(parser.error.field, "protocol");
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 -1 1 1700000000 1700000001 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 9);
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 9223372036854775808 1700000000 1700000001 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 10);
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 99999999999999999999999 1700000000 1700000001 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parse("2 123456789010 eni-0a 10.0.0.1 10.0.0.2 +1 2 6 1 1 1700000000 1700000001 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parse("x2 123456789010 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 1700000000 1700000001 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 1);
	/* control characters are not text */
	CHECK_INT(parse("2 1234\x01 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 1 1700000000 1700000001 ACCEPT OK"),
			  FLOW_LINE_ERROR);
	CHECK_INT(parser.error.column, 2);
}

int
main(void)
{
	test_catalogue();
	test_v2_default();
	test_nulls_and_status();
	test_headers();
	test_unknown_column();
	test_set_format();
	test_addresses();
	test_times();
	test_whitespace();
	test_field_count_errors();
	test_number_errors();
	UNIT_DONE();
}
