/*
 * jsoncbench.c: the json-c baseline for the GCP reader (bench/multicloud.sh).
 *
 *   vpcflow-jsoncbench FILE.ndjson [runs]   prints "rows cpu_seconds rows_per_cpu_second"
 *
 * Each line is parsed by json-c (one reused tokener) into its object tree,
 * then the fields vpcflow stores in typed columns are looked up and
 * converted (addresses with the project's parser; times are only looked
 * up, not converted, which favours json-c).  What cloudbench measures for
 * src/cloudflow.c does all of it, and builds the extra column's text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "flowparse.h"

static volatile long long sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct json_object *
path(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b != NULL && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return v;
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	char	   *buf;
	long		len;
	int			runs = argc > 2 ? atoi(argv[2]) : 3;
	double		best = 1e30;
	long long	rows = 0;
	struct json_tokener *tok = json_tokener_new();

	if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL)
	{
		fprintf(stderr, "usage: vpcflow-jsoncbench FILE.ndjson [runs]\n");
		return 2;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len + 1);
	if (fread(buf, 1, len, f) != (size_t) len)
		return 2;
	fclose(f);
	for (int i = 0; i < runs; i++)
	{
		double		t0 = now();
		char	   *s = buf,
				   *end = buf + len;

		rows = 0;
		while (s < end)
		{
			char	   *nl = memchr(s, '\n', end - s);
			char	   *e = nl ? nl : end;
			struct json_object *o,
					   *p;
			FlowAddr	a;

			json_tokener_reset(tok);
			o = json_tokener_parse_ex(tok, s, (int) (e - s));
			s = e + 1;
			if (o == NULL)
				continue;
			p = path(o, "jsonPayload", NULL);
			if (p == NULL)
				p = o;
			{
				const char *src = json_object_get_string(path(p, "connection", "src_ip"));
				const char *dst = json_object_get_string(path(p, "connection", "dest_ip"));

				if (src && flow_parse_addr(src, strlen(src), &a))
					sink += a.bytes[3];
				if (dst && flow_parse_addr(dst, strlen(dst), &a))
					sink += a.bytes[3];
			}
			sink += json_object_get_int(path(p, "connection", "src_port"));
			sink += json_object_get_int(path(p, "connection", "dest_port"));
			sink += json_object_get_int(path(p, "connection", "protocol"));
			sink += json_object_get_int64(path(p, "bytes_sent", NULL));
			sink += json_object_get_int64(path(p, "packets_sent", NULL));
			sink += json_object_get_int64(path(p, "rtt_msec", NULL));
			sink += (long long) strlen(json_object_get_string(path(p, "start_time", NULL)) ?: "");
			sink += (long long) strlen(json_object_get_string(path(p, "end_time", NULL)) ?: "");
			sink += (long long) strlen(json_object_get_string(path(p, "reporter", NULL)) ?: "");
			sink += (long long) strlen(json_object_get_string(path(p, "src_instance", "vm_name")) ?: "");
			sink += (long long) strlen(json_object_get_string(path(p, "dest_instance", "vm_name")) ?: "");
			json_object_put(o);
			rows++;
		}
		if (now() - t0 < best)
			best = now() - t0;
	}
	printf("%lld %.4f %.0f\n", rows, best, rows / best);
	return 0;
}
