/*
 * fuzz_common.h
 *		Checks shared by the libFuzzer harnesses.
 *
 * Sanitizers catch bad memory accesses only when something reads the
 * bytes, so every value and error the parser hands back is read here, and
 * the documented invariants are checked: a failed check aborts, which
 * libFuzzer reports as a crash with its input saved.
 */
#ifndef VPCFLOW_FUZZ_COMMON_H
#define VPCFLOW_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowparse.h"

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "invariant failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

static volatile unsigned fuzz_sink;

static inline void
fuzz_touch(const void *p, size_t len)
{
	const unsigned char *s = p;
	unsigned	h = 0;

	for (size_t i = 0; i < len; i++)
		h = h * 31 + s[i];
	fuzz_sink += h;
}

/* A NUL-terminated string that must end within cap bytes. */
static inline void
fuzz_touch_cstr(const char *s, size_t cap)
{
	size_t		n = 0;

	while (n < cap && s[n] != '\0')
		n++;
	FUZZ_CHECK(n < cap);
	fuzz_touch(s, n);
}

/* A string value must lie inside the line it was parsed from. */
static inline void
fuzz_touch_in(FlowStr s, const char *line, size_t len)
{
	FUZZ_CHECK(s.ptr >= line && s.len <= len && s.ptr - line <= (ptrdiff_t) (len - s.len));
	fuzz_touch(s.ptr, s.len);
}

/* Well-formed UTF-8: the parser promises it for text fields. */
static inline int
fuzz_valid_utf8(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned	c = s[i];
		int			k;
		uint32_t	cp;

		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return 0;
		if (len - i <= (size_t) k)
			return 0;
		for (int j = 1; j <= k; j++)
		{
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
			(k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += (size_t) k + 1;
	}
	return 1;
}

static inline void
fuzz_check_format(const FlowFormat *fmt)
{
	int			unknown = 0;

	FUZZ_CHECK(fmt->ncolumns >= 1 && fmt->ncolumns <= FLOW_MAX_COLUMNS);
	FUZZ_CHECK(fmt->nunknown >= 0 && fmt->nunknown <= 8);
	for (int c = 0; c < fmt->ncolumns; c++)
	{
		FUZZ_CHECK(fmt->field[c] >= -1 && fmt->field[c] < FF_COUNT);
		unknown += fmt->field[c] < 0;
	}
	FUZZ_CHECK(unknown == fmt->nunknown);
	for (int u = 0; u < fmt->nunknown; u++)
	{
		fuzz_touch_cstr(fmt->unknown_name[u], FLOW_MAX_NAME);
		FUZZ_CHECK(fmt->unknown_column[u] >= 0 && fmt->unknown_column[u] < fmt->ncolumns);
		FUZZ_CHECK(fmt->field[fmt->unknown_column[u]] == -1);
	}
}

/* An error's strings; its token, when there is one, lies in [base, base+len). */
static inline void
fuzz_check_error(const FlowError *err, const char *base, size_t len)
{
	fuzz_touch_cstr(err->message, sizeof(err->message));
	FUZZ_CHECK(err->message[0] != '\0');
	if (err->field != NULL)
		fuzz_touch_cstr(err->field, 256);
	FUZZ_CHECK(err->column >= 0 && err->column <= FLOW_MAX_COLUMNS + 1);
	if (err->value.ptr != NULL)
		fuzz_touch_in(err->value, base, len);
	else
		FUZZ_CHECK(err->value.len == 0);
}

static inline void
fuzz_check_addr(const FlowAddr *a)
{
	char		buf[64];
	FlowAddr	back;
	int			n;

	FUZZ_CHECK(a->family == 4 || a->family == 6);
	n = flow_format_addr(a, buf, sizeof(buf));
	FUZZ_CHECK(n > 0 && n < (int) sizeof(buf));
	FUZZ_CHECK(strlen(buf) == (size_t) n);
	/* what is printed parses back to the same address */
	FUZZ_CHECK(flow_parse_addr(buf, (size_t) n, &back));
	FUZZ_CHECK(back.family == a->family);
	FUZZ_CHECK(memcmp(back.bytes, a->bytes, a->family == 4 ? 4 : 16) == 0);
}

static inline void
fuzz_check_row(const FlowParser *p, const FlowRow *row, const char *line, size_t len)
{
	for (int f = 0; f < FF_COUNT; f++)
	{
		const FlowValue *v = &row->v[f];

		if (!flow_row_has(row, f))
			continue;
		switch ((FlowKind) flow_fields[f].kind)
		{
			case FK_INT16:
				FUZZ_CHECK(v->i >= 0 && v->i <= 32767);
				break;
			case FK_PORT:
				FUZZ_CHECK(v->i >= 0 && v->i <= 65535);
				break;
			case FK_PROTOCOL:
				FUZZ_CHECK(v->i >= 0 && v->i <= 255);
				break;
			case FK_INT64:
			case FK_TIME:
				FUZZ_CHECK(v->i >= 0);
				break;
			case FK_ADDR:
				fuzz_check_addr(&v->addr);
				break;
			case FK_ID:
			case FK_TEXT:
				fuzz_touch_in(v->str, line, len);
				FUZZ_CHECK(v->str.len > 0);
				FUZZ_CHECK(fuzz_valid_utf8((const unsigned char *) v->str.ptr, v->str.len));
				break;
			case FK_ACTION:
			case FK_LOG_STATUS:
			case FK_DIRECTION:
				FUZZ_CHECK(flow_label_name((FlowKind) flow_fields[f].kind, (int) v->i) != NULL);
				break;
		}
	}
	FUZZ_CHECK(row->nunknown == p->format.nunknown);
	for (int u = 0; u < row->nunknown; u++)
	{
		fuzz_touch_in(row->unknown[u], line, len);
		fuzz_touch(&row->unknown_null[u], 1);
	}
}

/*
 * Parse one line from a buffer of exactly its size, so that ASan reports
 * any read past its end, and check what comes back.
 */
static inline void
fuzz_parse_one(FlowParser *p, const char *text, size_t len)
{
	char	   *line = malloc(len > 0 ? len : 1);
	FlowRow    *row = malloc(sizeof(FlowRow));
	FlowLineType t;

	FUZZ_CHECK(line != NULL && row != NULL);
	if (len > 0)
		memcpy(line, text, len);
	t = flow_parse_line(p, line, len, row);
	switch (t)
	{
		case FLOW_LINE_RECORD:
			fuzz_check_row(p, row, line, len);
			break;
		case FLOW_LINE_HEADER:
			fuzz_check_format(&p->format);
			break;
		case FLOW_LINE_BLANK:
			break;
		case FLOW_LINE_ERROR:
			fuzz_check_error(&p->error, line, len);
			break;
		default:
			FUZZ_CHECK(!"flow_parse_line returned an unknown line type");
	}
	/* the format in force is always usable */
	fuzz_check_format(&p->format);
	free(row);
	free(line);
}

/* Every '\n'-separated line of text through the parser. */
static inline void
fuzz_parse_lines(FlowParser *p, const char *text, size_t len)
{
	size_t		start = 0;

	if (len == 0)
	{
		fuzz_parse_one(p, "", 0);
		return;
	}
	while (start <= len)
	{
		const char *nl = memchr(text + start, '\n', len - start);
		size_t		end = nl ? (size_t) (nl - text) : len;

		fuzz_parse_one(p, text + start, end - start);
		if (nl == NULL)
			break;
		start = end + 1;
	}
}

#endif							/* VPCFLOW_FUZZ_COMMON_H */
