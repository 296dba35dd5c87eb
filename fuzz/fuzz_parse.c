/*
 * fuzz_parse.c
 *		libFuzzer harness for the flow-log text parser.
 *
 * Input: text lines.  A first line starting with '#' is a format spec for
 * flow_parser_set_format (as for headerless input); every other line goes
 * through flow_parse_line, and everything it returns is read and checked.
 *
 * fuzz sources: src/flowparse.c
 */
#include "fuzz_common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	FlowParser *p = malloc(sizeof(FlowParser));

	FUZZ_CHECK(p != NULL);
	flow_parser_init(p);
	fuzz_check_format(&p->format);
	FUZZ_CHECK(p->format.ncolumns == 14);

	if (size > 0 && text[0] == '#')
	{
		const char *nl = memchr(text, '\n', size);
		size_t		speclen = (nl ? (size_t) (nl - text) : size) - 1;
		char	   *spec = malloc(speclen > 0 ? speclen : 1);

		FUZZ_CHECK(spec != NULL);
		if (speclen > 0)
			memcpy(spec, text + 1, speclen);
		if (flow_parser_set_format(p, spec, speclen))
		{
			FUZZ_CHECK(p->explicit_format);
			fuzz_check_format(&p->format);
		}
		else
			fuzz_check_error(&p->error, spec, speclen);
		free(spec);
		if (nl == NULL)
		{
			free(p);
			return 0;
		}
		size -= (size_t) (nl - text) + 1;
		text = nl + 1;
	}
	fuzz_parse_lines(p, text, size);
	free(p);
	return 0;
}
