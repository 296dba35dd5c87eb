/*
 * flowrec.c
 *		The pure-C parts of vpcflow.flow_record; see flowrec.h.
 */
#include <string.h>

#include "flowrec.h"
#include "idcodec.h"

int
flowrec_count_tokens(const char *line, size_t len)
{
	size_t		i = 0;
	int			n = 0;

	while (i < len && line[i] != '\0')
	{
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i < len && line[i] != '\0' && line[i] != '\r' && line[i] != '\n')
			n++;
		while (i < len && line[i] != '\0' && line[i] != ' ' && line[i] != '\t')
			i++;
	}
	return n;
}

FlowLineType
flowrec_parse_text(FlowParser *parser, const char *line, size_t len, FlowRow *row)
{
	flow_parser_init(parser);
	if (flowrec_count_tokens(line, len) > 14)
		(void) flow_parser_set_format(parser, "v5", 2);
	return flow_parse_line(parser, line, len, row);
}

bool
flowrec_put_string(uint8_t *strings, uint8_t *used, const char *s, size_t len)
{
	uint8_t		enc[ID_ENCODED_MAX(FLOWREC_STRINGS)];
	size_t		n;

	if (*used > FLOWREC_STRINGS || len > FLOWREC_STRINGS)
		return false;
	n = id_encode(s, len, enc);
	if (n > 255 || n + 1 > (size_t) (FLOWREC_STRINGS - *used))
		return false;
	strings[(*used)++] = (uint8_t) n;
	memcpy(strings + *used, enc, n);
	*used = (uint8_t) (*used + n);
	return true;
}

const uint8_t *
flowrec_get_string(const uint8_t *strings, uint8_t used, int k, size_t *len, bool *corrupt)
{
	size_t		pos = 0;

	*corrupt = false;
	if (used > FLOWREC_STRINGS)
	{
		*corrupt = true;
		return NULL;
	}
	for (int i = 0;; i++)
	{
		if (pos >= used || pos + 1 + strings[pos] > used)
		{
			*corrupt = true;
			return NULL;
		}
		if (i == k)
		{
			*len = strings[pos];
			return strings + pos + 1;
		}
		pos += 1 + (size_t) strings[pos];
	}
}
