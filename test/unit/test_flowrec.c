/*
 * test_flowrec.c
 *		Unit tests of src/flowrec.c: counting the text form's fields, the
 *		v2 / v5 choice, packing the string area to its limit, and lookups
 *		in corrupt areas (lengths past 'used', 'used' past the area).
 *
 * unit.sh sources: src/flowrec.c src/flowparse.c src/idcodec.c
 */
#include "flowrec.h"
#include "idcodec.h"
#include "unit.h"

static void
test_tokens(void)
{
	CHECK_INT(flowrec_count_tokens("", 0), 0);
	CHECK_INT(flowrec_count_tokens("  a\tb  c ", 9), 3);
	CHECK_INT(flowrec_count_tokens("a b\r\n", 5), 2);
	CHECK_INT(flowrec_count_tokens("a b c", 3), 2);		/* bounded by len */
	CHECK_INT(flowrec_count_tokens("a b\0c d", 7), 2);	/* stops at a NUL */
}

static void
test_parse(void)
{
	static const char v2[] = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 "
		"20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";
	static const char v5[] = "5 123456789010 eni-1235b8ca123456789 10.0.0.1 10.0.0.2 1 2 6 1 1 "
		"1418530010 1418530070 ACCEPT OK vpc-0a1b2c3d subnet-0a1b2c3d i-0a1b2c3d 3 IPv4 "
		"10.0.0.1 10.0.0.2 us-east-1 use1-az1 - - - S3 ingress 1";
	FlowParser *p = malloc(sizeof(FlowParser));
	FlowRow    *row = malloc(sizeof(FlowRow));

	CHECK_INT(flowrec_parse_text(p, v2, strlen(v2), row), FLOW_LINE_RECORD);
	CHECK(!flow_row_has(row, FF_VPC_ID));
	CHECK_INT(flowrec_parse_text(p, v5, strlen(v5), row), FLOW_LINE_RECORD);
	CHECK(flow_row_has(row, FF_VPC_ID));
	CHECK(flow_row_has(row, FF_FLOW_DIRECTION));
	CHECK_INT(flowrec_parse_text(p, "2 x", 3, row), FLOW_LINE_ERROR);
	free(row);
	free(p);
}

static void
test_area(void)
{
	uint8_t		area[FLOWREC_STRINGS];
	uint8_t		used = 0;
	char		name[64];
	int			n = 0;
	size_t		len;
	bool		corrupt;
	const uint8_t *e;
	char		out[256];

	/* fill with raw (unpacked) 20-byte names until one does not fit */
	memset(name, 'x', sizeof(name));
	while (flowrec_put_string(area, &used, name, 20))
		n++;
	CHECK_INT(n, FLOWREC_STRINGS / 22);
	CHECK(used <= FLOWREC_STRINGS);
	for (int k = 0; k < n; k++)
	{
		e = flowrec_get_string(area, used, k, &len, &corrupt);
		CHECK(e != NULL && !corrupt);
		CHECK_INT(id_decode(e, len, out, sizeof(out)), 20);
	}
	/* past the last one: corrupt, as a NULL bit set wrongly would be */
	CHECK(flowrec_get_string(area, used, n, &len, &corrupt) == NULL && corrupt);
	/* too long for the area at all */
	used = 0;
	CHECK(!flowrec_put_string(area, &used, name, FLOWREC_STRINGS + 1));
	CHECK_INT(used, 0);

	/* corrupt stored values */
	memset(area, 0, sizeof(area));
	area[0] = 200;				/* claims 200 bytes, 10 in use */
	CHECK(flowrec_get_string(area, 10, 0, &len, &corrupt) == NULL && corrupt);
	CHECK(flowrec_get_string(area, 255, 0, &len, &corrupt) == NULL && corrupt);	/* used > area */
	area[0] = 3;
	CHECK(flowrec_get_string(area, 4, 0, &len, &corrupt) != NULL && !corrupt && len == 3);
	CHECK(flowrec_get_string(area, 4, 1, &len, &corrupt) == NULL && corrupt);
}

int
main(void)
{
	test_tokens();
	test_parse();
	test_area();
	UNIT_DONE();
}
