/*
 * fuzz_flowrec.c
 *		libFuzzer harness for the vpcflow.flow_record input forms (the text
 *		input and the binary receive both read the text line) and for the
 *		record's string area, through the pure-C parts in src/flowrec.c.
 *
 * The input is used twice:
 *
 *	- as a text-form line, from a buffer of exactly its size: the parse
 *	  must not read past it; a record's v2..v5 string fields are packed
 *	  into a string area as flow_record_in does and must read back (through
 *	  flowrec_get_string and id_decode) as the same bytes, or be refused as
 *	  too long without touching the area;
 *
 *	- its first bytes as a stored string area (byte 0: 'used', then up to
 *	  FLOWREC_STRINGS bytes), as a corrupt on-disk value would be: every
 *	  lookup must either report corruption or return bytes inside 'used'.
 *
 * fuzz sources: src/flowrec.c src/flowparse.c src/idcodec.c
 */
#include "fuzz_common.h"
#include "flowrec.h"
#include "idcodec.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int string_fields[] = {
	FF_ACCOUNT_ID, FF_INTERFACE_ID, FF_VPC_ID, FF_SUBNET_ID, FF_INSTANCE_ID,
	FF_TYPE, FF_REGION, FF_AZ_ID, FF_SUBLOCATION_TYPE, FF_SUBLOCATION_ID,
	FF_PKT_SRC_AWS_SERVICE, FF_PKT_DST_AWS_SERVICE
};
#define NUM_STRING_FIELDS ((int) (sizeof(string_fields) / sizeof(string_fields[0])))

static void
check_text_form(const uint8_t *data, size_t size)
{
	char	   *line = malloc(size ? size : 1);
	FlowParser *parser = malloc(sizeof(FlowParser));
	FlowRow    *row = malloc(sizeof(FlowRow));
	uint8_t		area[FLOWREC_STRINGS];
	uint8_t		used = 0;
	int			present = 0;

	memcpy(line, data, size);
	if (flowrec_parse_text(parser, line, size, row) == FLOW_LINE_RECORD)
	{
		for (int i = 0; i < NUM_STRING_FIELDS; i++)
		{
			const FlowStr *s;
			uint8_t		before = used;

			if (!flow_row_has(row, string_fields[i]))
				continue;
			s = &row->v[string_fields[i]].str;
			/* the value lies inside the line */
			FUZZ_CHECK(s->len == 0 || (s->ptr >= line && s->ptr + s->len <= line + size));
			if (!flowrec_put_string(area, &used, s->ptr, s->len))
			{
				FUZZ_CHECK(used == before);
				break;			/* flow_record_in raises an error here */
			}
			FUZZ_CHECK(used <= FLOWREC_STRINGS);
			{
				size_t		len = 0;
				bool		corrupt;
				const uint8_t *enc = flowrec_get_string(area, used, present, &len, &corrupt);
				char		out[FLOWREC_STRINGS * 2 + 1];
				long		n;

				FUZZ_CHECK(enc != NULL && !corrupt);
				FUZZ_CHECK(enc >= area && enc + len <= area + used);
				n = id_decode(enc, len, out, sizeof(out));
				FUZZ_CHECK(n == (long) s->len);
				FUZZ_CHECK(memcmp(out, s->ptr, s->len) == 0);
			}
			present++;
		}
	}
	free(row);
	free(parser);
	free(line);
}

static void
check_stored_area(const uint8_t *data, size_t size)
{
	uint8_t    *area;
	uint8_t		used;
	size_t		n;

	if (size == 0)
		return;
	used = data[0];
	n = size - 1 < FLOWREC_STRINGS ? size - 1 : FLOWREC_STRINGS;
	/* exactly the area's bytes, so ASan sees a read past it */
	area = malloc(FLOWREC_STRINGS);
	memset(area, 0, FLOWREC_STRINGS);
	memcpy(area, data + 1, n);
	for (int k = 0; k < NUM_STRING_FIELDS + 2; k++)
	{
		size_t		len = 0;
		bool		corrupt;
		const uint8_t *p = flowrec_get_string(area, used, k, &len, &corrupt);

		if (p == NULL)
		{
			FUZZ_CHECK(corrupt);
			break;
		}
		FUZZ_CHECK(used <= FLOWREC_STRINGS);
		FUZZ_CHECK(p >= area + 1 && p + len <= area + used);
		fuzz_touch(p, len);
		(void) id_decoded_length(p, len);
	}
	free(area);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_text_form(data, size);
	check_stored_area(data, size);
	return 0;
}
