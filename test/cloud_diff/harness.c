/*
 * harness.c
 *		Differential check of the GCP / Azure readers: the reference
 *		commit's (ref_run) and the working tree's (new_run) must hand back
 *		the same text for every input (see run.sh).  As a libFuzzer target
 *		the first byte picks the reader and a resume offset, as fuzz_cloud
 *		does, and the rest is also read as GCP NDJSON pieces; built with
 *		-DSTANDALONE it compares the files named on the command line under
 *		every reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
char *ref_run(size_t *outlen, int mode, int provider, const char *doc, size_t len, size_t resume);
char *new_run(size_t *outlen, int mode, int provider, const char *doc, size_t len, size_t resume);
static int compare(int mode, int prov, const char *doc, size_t len, size_t resume)
{
	size_t a, b;
	char *x = ref_run(&a, mode, prov, doc, len, resume);
	char *y = new_run(&b, mode, prov, doc, len, resume);
	int bad = (a != b || memcmp(x, y, a) != 0);
	if (bad) {
		fprintf(stderr, "DIFF mode=%d prov=%d\n--- old\n%s\n--- new\n%s\n", mode, prov, x, y);
	}
	free(x); free(y);
	return bad;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) return 0;
	char *doc = malloc(size - 1 ? size - 1 : 1);
	memcpy(doc, data + 1, size - 1);
	int prov = 2 + data[0] % 3;
	if (compare(0, prov, doc, size - 1, (size_t)(data[0] >> 2) * 16) ||
		compare(1, 2, doc, size - 1, 0))
		abort();
	free(doc);
	return 0;
}
#ifdef STANDALONE
int main(int argc, char **argv)
{
	int fails = 0;
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb"); if (!f) continue;
		fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
		char *buf = malloc(n ? n : 1); if (fread(buf, 1, n, f) != (size_t) n) return 2; fclose(f);
		for (int prov = 2; prov <= 4; prov++) {
			fails += compare(0, prov, buf, n, 0);
		}
		fails += compare(1, 2, buf, n, 0);
		free(buf);
	}
	printf("%d files, %d diffs\n", argc - 1, fails);
	return fails != 0;
}
#endif
