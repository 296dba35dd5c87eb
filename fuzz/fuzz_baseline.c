/*
 * fuzz_baseline.c
 *		libFuzzer harness for the stored form of vpcflow.baseline
 *		(src/baseline.c): what baseline_in / baseline_recv accept.
 *
 * Checks: baseline_check agrees with an independent reference decoder of
 * the documented layout (docs/detections.md); an accepted form decodes,
 * re-encodes to the same bytes, merges with itself (counts double, order
 * kept) and gives finite statistics and scores for every slot; no
 * truncation of an accepted form is accepted.
 *
 * fuzz sources: src/baseline.c src/aggformat.c
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aggformat.h"
#include "baseline.h"
#include "fuzz_common.h"

static uint64_t
ref_u64(const uint8_t *p)
{
	uint64_t	v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* docs/detections.md, "vpcflow.baseline" */
static int
ref_valid(const uint8_t *b, size_t len)
{
	uint32_t	n;
	uint64_t	total = 0;
	long		prev = -1;

	if (len < 6 || b[0] != 1 || b[1] != 0)
		return 0;
	n = ((uint32_t) b[2] << 24) | ((uint32_t) b[3] << 16) | ((uint32_t) b[4] << 8) | b[5];
	if (n > 168 * 256 || len != 6 + (size_t) n * 10)
		return 0;
	for (uint32_t i = 0; i < n; i++)
	{
		const uint8_t *p = b + 6 + (size_t) i * 10;
		long		key = (long) p[0] * 256 + p[1];
		uint64_t	c = ref_u64(p + 2);

		if (p[0] >= 168 || key <= prev || c == 0 || c > (uint64_t) INT64_MAX - total)
			return 0;
		total += c;
		prev = key;
	}
	return 1;
}

static const char *
run_check(const uint8_t *data, size_t size)
{
	/* an exact-size copy: ASan reports any read past the end */
	uint8_t    *buf = malloc(size > 0 ? size : 1);
	const char *msg;

	FUZZ_CHECK(buf != NULL);
	if (size > 0)
		memcpy(buf, data, size);
	msg = baseline_check(buf, size);
	if (msg != NULL)
		fuzz_touch_cstr(msg, 256);
	free(buf);
	return msg;
}

static void
check_stats(const BaselineEntry *e, uint32_t n)
{
	for (int slot = -1; slot < BASELINE_SLOTS; slot += (slot < 3 ? 1 : 41))
	{
		BaselineStats st;
		BaselineScore sc;

		baseline_stats(e, n, slot, &st);
		if (st.n == 0)
			continue;
		FUZZ_CHECK(isfinite(st.median) && st.median >= 0.0);
		FUZZ_CHECK(isfinite(st.mad) && st.mad >= 0.0);
		FUZZ_CHECK(isfinite(st.meanad) && st.meanad >= 0.0);
		baseline_score(&st, 0.0, 1.0, SCORE_BOTH, &sc);
		FUZZ_CHECK(sc.spread >= 1.0 && isfinite(sc.score) && sc.score >= 0.0);
		baseline_score(&st, 1e12, 1e-9, SCORE_HIGH, &sc);
		FUZZ_CHECK(sc.spread > 0.0 && !isnan(sc.score) && sc.score >= 0.0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = run_check(data, size);
	int			ok = ref_valid(data, size);
	uint32_t	n;
	BaselineEntry *e,
			   *twice;
	uint8_t    *re;
	int64_t		m;

	if ((msg == NULL) != ok)
		fprintf(stderr, "baseline: checker says \"%s\", reference %s\n",
				msg ? msg : "ok", ok ? "accepts" : "rejects");
	FUZZ_CHECK((msg == NULL) == ok);
	if (msg != NULL)
		return 0;

	/* no proper prefix of a valid form is valid */
	for (size_t cut = 0; cut < size; cut += 1 + cut / 3)
		FUZZ_CHECK(run_check(data, cut) != NULL);

	n = baseline_count_entries(data);
	e = malloc(sizeof(BaselineEntry) * (n + 1));
	twice = malloc(sizeof(BaselineEntry) * (2 * n + 1));
	re = malloc(size);
	FUZZ_CHECK(e != NULL && twice != NULL && re != NULL);
	baseline_decode(data, e);
	baseline_encode(e, n, re);
	FUZZ_CHECK(memcmp(re, data, size) == 0);
	check_stats(e, n);

	/* a baseline merged with itself: same cells, counts doubled (or overflow) */
	m = baseline_merge(e, n, e, n, twice);
	if (m >= 0)
	{
		FUZZ_CHECK(m == (int64_t) n);
		for (uint32_t i = 0; i < n; i++)
			FUZZ_CHECK(twice[i].key == e[i].key && twice[i].count == 2 * e[i].count);
		baseline_encode(twice, n, re);
		FUZZ_CHECK(run_check(re, size) == NULL);
	}
	/* merged with the empty baseline: itself */
	m = baseline_merge(e, n, NULL, 0, twice);
	FUZZ_CHECK(m == (int64_t) n);
	free(re);
	free(twice);
	free(e);
	return 0;
}
