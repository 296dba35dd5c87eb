/*
 * cloudbench.c: parse-only throughput of the GCP / Azure readers
 * (src/cloudflow.c) and, for comparison, the AWS text parser, on one core.
 *
 *   vpcflow-cloudbench FILE [runs]     prints "rows cpu_seconds rows_per_cpu_second"
 *
 * The file is read into memory first; each run parses all of it, handing
 * every row to a callback that reads one field, as ingest would take it.
 * Times are the process's CPU time (best run), so a loaded machine
 * inflates them less than wall-clock time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloudflow.h"

static long long rows, bad;
static volatile long long sink;

static void
on_row(void *arg, FlowRow *row, const char *raw, size_t rawlen, size_t line)
{
	(void) arg, (void) raw, (void) rawlen, (void) line;
	sink += row->v[FF_START].i;
	rows++;
}

static void
on_bad(void *arg, const char *raw, size_t rawlen, size_t line, const char *field, const char *msg)
{
	(void) arg, (void) raw, (void) rawlen, (void) line, (void) field, (void) msg;
	bad++;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	char	   *buf;
	long		len;
	int			runs = argc > 2 ? atoi(argv[2]) : 3;
	int			provider;
	double		best = 1e30;
	long long	nrows = 0;
	CloudReader *r = malloc(sizeof(CloudReader));

	if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL)
	{
		fprintf(stderr, "usage: vpcflow-cloudbench FILE [runs]\n");
		return 2;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len + 1);
	if (fread(buf, 1, len, f) != (size_t) len)
		return 2;
	fclose(f);
	provider = cloud_detect(buf, len);
	for (int i = 0; i < runs; i++)
	{
		double		t0 = now();

		rows = bad = 0;
		if (provider > FLOW_PROVIDER_AWS)
		{
			if (cloud_parse(r, provider, buf, len, 0, on_row, on_bad, NULL) < 0)
			{
				fprintf(stderr, "%s: line %zu: %s\n", argv[1], r->js.line, r->error);
				return 1;
			}
		}
		else
		{
			FlowParser	p;
			FlowRow		row;
			char	   *s = buf,
					   *end = buf + len;

			flow_parser_init(&p);
			while (s < end)
			{
				char	   *nl = memchr(s, '\n', end - s);
				char	   *e = nl ? nl : end;

				if (flow_parse_line(&p, s, e - s, &row) == FLOW_LINE_RECORD)
					on_row(NULL, &row, s, e - s, 0);
				s = e + 1;
			}
		}
		if (now() - t0 < best)
			best = now() - t0;
		nrows = rows;
	}
	if (bad > 0)
		fprintf(stderr, "%s: %lld bad items\n", argv[1], bad);
	printf("%lld %.4f %.0f\n", nrows, best, nrows / best);
	return 0;
}
