/*
 * parsebench.c
 *		Parse-only throughput of the vpcflow flow-log parser, one core.
 *
 * Reads the whole file into memory, then times (CLOCK_MONOTONIC) two loops
 * over it, best of N runs each:
 *
 *   parse   every line through flow_parse_line() (lines split with memchr),
 *           touching the parsed values so nothing is optimised away;
 *   split   the ceiling: memchr over lines and spaces, an atoi-like loop
 *           over every numeric token, nothing else (no validation, no
 *           addresses, no labels).
 *
 * Usage: vpcflow-parsebench FILE [RUNS]
 *
 * Output: human-readable lines, then one machine-readable line per loop:
 *   RESULT parse lines=N records=N headers=N blank=N errors=N best_s=S lines_per_s=R checksum=X
 *   RESULT split lines=N best_s=S lines_per_s=R checksum=X
 *   RESULT cpu cpu_s=S wall_s=S      (this process, whole run: compare for noise)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "flowparse.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		size;

	if (f == NULL)
	{
		fprintf(stderr, "parsebench: cannot open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
	{
		fprintf(stderr, "parsebench: cannot size %s: %s\n", path, strerror(errno));
		exit(1);
	}
	buf = malloc((size_t) size + 1);
	if (buf == NULL)
	{
		fprintf(stderr, "parsebench: out of memory (%ld bytes)\n", size);
		exit(1);
	}
	if (size > 0 && fread(buf, 1, (size_t) size, f) != (size_t) size)
	{
		fprintf(stderr, "parsebench: short read on %s\n", path);
		exit(1);
	}
	fclose(f);
	buf[size] = '\0';
	*len = (size_t) size;
	return buf;
}

typedef struct ParseStats
{
	uint64_t	lines;
	uint64_t	records;
	uint64_t	headers;
	uint64_t	blank;
	uint64_t	errors;
	uint64_t	checksum;
} ParseStats;

static uint64_t
mix_addr(const FlowAddr *a)
{
	uint64_t	x = a->family;

	for (int i = 0; i < (a->family == 6 ? 16 : 4); i++)
		x = (x << 5) ^ (x >> 59) ^ a->bytes[i];
	return x;
}

/* Every line through the real parser. */
static void
run_parse(const char *buf, size_t len, ParseStats *st)
{
	FlowParser	parser;
	FlowRow		row;
	const char *p = buf;
	const char *end = buf + len;
	uint64_t	sum = 0,
				x = 0;

	memset(st, 0, sizeof(*st));
	flow_parser_init(&parser);
	while (p < end)
	{
		const char *nl = memchr(p, '\n', end - p);
		size_t		n = (nl ? nl : end) - p;

		st->lines++;
		switch (flow_parse_line(&parser, p, n, &row))
		{
			case FLOW_LINE_RECORD:
				st->records++;
				if (flow_row_has(&row, FF_BYTES))
					sum += (uint64_t) row.v[FF_BYTES].i;
				if (flow_row_has(&row, FF_PACKETS))
					sum += (uint64_t) row.v[FF_PACKETS].i << 20;
				if (flow_row_has(&row, FF_START))
					sum += (uint64_t) row.v[FF_START].i;
				if (flow_row_has(&row, FF_SRCPORT))
					x ^= (uint64_t) row.v[FF_SRCPORT].i << 16 | (uint64_t) row.v[FF_DSTPORT].i;
				if (flow_row_has(&row, FF_SRCADDR))
					x ^= mix_addr(&row.v[FF_SRCADDR].addr);
				if (flow_row_has(&row, FF_DSTADDR))
					x ^= mix_addr(&row.v[FF_DSTADDR].addr) << 1;
				if (flow_row_has(&row, FF_INTERFACE_ID))
					x += row.v[FF_INTERFACE_ID].str.len +
						(uint8_t) row.v[FF_INTERFACE_ID].str.ptr[row.v[FF_INTERFACE_ID].str.len - 1];
				if (flow_row_has(&row, FF_ACTION))
					x += (uint64_t) row.v[FF_ACTION].i;
				break;
			case FLOW_LINE_HEADER:
				st->headers++;
				break;
			case FLOW_LINE_BLANK:
				st->blank++;
				break;
			case FLOW_LINE_ERROR:
				st->errors++;
				if (st->errors <= 3)
					fprintf(stderr, "parsebench: line %llu: %s\n",
							(unsigned long long) st->lines, parser.error.message);
				break;
		}
		p += n + 1;
	}
	st->checksum = sum ^ (x * 0x9E3779B97F4A7C15ULL);
}

/*
 * The ceiling: split lines and fields with memchr, and run an atoi-like
 * loop over numeric tokens (an address contributes its first octet).
 */
static void
run_split(const char *buf, size_t len, ParseStats *st)
{
	const char *p = buf;
	const char *end = buf + len;
	uint64_t	sum = 0;

	memset(st, 0, sizeof(*st));
	while (p < end)
	{
		const char *nl = memchr(p, '\n', end - p);
		const char *le = nl ? nl : end;

		st->lines++;
		while (p < le)
		{
			const char *sp = memchr(p, ' ', le - p);
			const char *te = sp ? sp : le;

			if (*p >= '0' && *p <= '9')
			{
				uint64_t	v = 0;

				for (const char *q = p; q < te && *q >= '0' && *q <= '9'; q++)
					v = v * 10 + (uint64_t) (*q - '0');
				sum += v;
			}
			else
				sum += (uint64_t) (te - p);
			p = te + 1;
		}
		p = le + 1;
	}
	st->checksum = sum;
}

int
main(int argc, char **argv)
{
	size_t		len;
	char	   *buf;
	int			runs = 3;
	double		best_parse = 1e99,
				best_split = 1e99;
	ParseStats	ps,
				ss;
	double		t_start;
	struct rusage ru;

	if (argc < 2 || argc > 3)
	{
		fprintf(stderr, "usage: %s FILE [RUNS]\n", argv[0]);
		return 2;
	}
	if (argc == 3 && (runs = atoi(argv[2])) < 1)
		runs = 1;
	t_start = now_s();
	buf = read_file(argv[1], &len);
	printf("file %s: %zu bytes, best of %d runs, 1 core\n", argv[1], len, runs);

	for (int r = 0; r < runs; r++)
	{
		double		t0 = now_s(),
					t;

		run_parse(buf, len, &ps);
		t = now_s() - t0;
		if (t < best_parse)
			best_parse = t;
		printf("  parse run %d: %.3f s\n", r + 1, t);
		fflush(stdout);
	}
	for (int r = 0; r < runs; r++)
	{
		double		t0 = now_s(),
					t;

		run_split(buf, len, &ss);
		t = now_s() - t0;
		if (t < best_split)
			best_split = t;
		printf("  split run %d: %.3f s\n", r + 1, t);
		fflush(stdout);
	}

	printf("parse (flow_parse_line): %llu lines in %.3f s = %.0f lines/s, %.1f MB/s, "
		   "%llu records, %llu headers, %llu blank, %llu errors, checksum %016llx\n",
		   (unsigned long long) ps.lines, best_parse, ps.lines / best_parse,
		   len / best_parse / 1e6,
		   (unsigned long long) ps.records, (unsigned long long) ps.headers,
		   (unsigned long long) ps.blank, (unsigned long long) ps.errors,
		   (unsigned long long) ps.checksum);
	printf("split-only ceiling (memchr + atoi): %llu lines in %.3f s = %.0f lines/s, %.1f MB/s, "
		   "checksum %016llx\n",
		   (unsigned long long) ss.lines, best_split, ss.lines / best_split,
		   len / best_split / 1e6, (unsigned long long) ss.checksum);
	printf("RESULT parse lines=%llu records=%llu headers=%llu blank=%llu errors=%llu "
		   "best_s=%.6f lines_per_s=%.0f checksum=%016llx\n",
		   (unsigned long long) ps.lines, (unsigned long long) ps.records,
		   (unsigned long long) ps.headers, (unsigned long long) ps.blank,
		   (unsigned long long) ps.errors, best_parse, ps.lines / best_parse,
		   (unsigned long long) ps.checksum);
	printf("RESULT split lines=%llu best_s=%.6f lines_per_s=%.0f checksum=%016llx\n",
		   (unsigned long long) ss.lines, best_split, ss.lines / best_split,
		   (unsigned long long) ss.checksum);
	getrusage(RUSAGE_SELF, &ru);
	printf("RESULT cpu cpu_s=%.3f wall_s=%.3f\n",
		   ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
		   now_s() - t_start);
	free(buf);
	return ps.errors > 0 ? 1 : 0;
}
