/*
 * test_baseline.c
 *		Unit tests of the baseline histogram and the anomaly score
 *		(src/baseline.c).
 *
 * unit.sh sources: src/baseline.c src/aggformat.c -lm
 */
#include <math.h>

#include "aggformat.h"
#include "baseline.h"
#include "unit.h"

static uint32_t
build(BaselineEntry *e, uint32_t n, int slot, double v, uint64_t count)
{
	BaselineEntry one = {BASELINE_KEY(slot, baseline_bucket(v)), count};
	BaselineEntry out[512];
	int64_t		m = baseline_merge(e, n, &one, 1, out);

	CHECK(m >= 0);
	memcpy(e, out, sizeof(BaselineEntry) * (size_t) m);
	return (uint32_t) m;
}

int
main(void)
{
	BaselineEntry e[512];
	uint32_t	n = 0;
	BaselineStats st;
	BaselineScore sc,
				prev;

	/* buckets: 0 alone, monotone, a value lies within +-9% of its representative */
	CHECK_INT(baseline_bucket(0.0), 0);
	CHECK_INT(baseline_bucket(-1.0), 0);
	CHECK_INT(baseline_bucket(1.0), 1 + 16 * 4);
	CHECK_INT(baseline_bucket(1.9), 1 + 16 * 4 + 3);
	CHECK_INT(baseline_bucket(2.0), 1 + 17 * 4);
	CHECK_INT(baseline_bucket(1e300), 255);
	CHECK_INT(baseline_bucket(INFINITY), 255);
	CHECK_INT(baseline_bucket(1e-30), 1);
	{
		int			last = 0;
		int			mono = 1,
					close = 1;

		for (double v = 1e-4; v < 1e14; v *= 1.01)
		{
			int			b = baseline_bucket(v);
			double		r = baseline_bucket_value(b);

			if (b < last)
				mono = 0;
			if (fabs(r - v) / v > 0.0906 * 1.0001 + 0.0906)
				close = 0;
			if (r / v > 1.0 + BASELINE_RESOLUTION + 1e-9 || v / r > 1.0 + BASELINE_RESOLUTION + 1e-9)
				close = 0;
			last = b;
		}
		CHECK(mono);
		CHECK(close);
	}

	/* hour-of-week slots: 1970-01-01 00:00 UTC was Thursday 00:00 */
	CHECK_INT(baseline_slot(0), 3 * 24);
	CHECK_INT(baseline_slot(4 * 86400), 0);		/* Monday 1970-01-05 */
	CHECK_INT(baseline_slot(4 * 86400 - 1), 167);
	CHECK_INT(baseline_slot(-1), 3 * 24 - 1);
	CHECK_INT(baseline_slot(1714521600), 2 * 24);	/* Wed 2024-05-01 */

	/* stats of 1..9 in one slot: median 5, MAD 2 (to within a bucket) */
	for (int v = 1; v <= 9; v++)
		n = build(e, n, 10, v, 1);
	baseline_stats(e, n, 10, &st);
	CHECK_INT(st.n, 9);
	CHECK(fabs(st.median - 5) / 5 < 0.1);
	CHECK(fabs(st.mad - 2) / 2 < 0.25);
	baseline_stats(e, n, 11, &st);
	CHECK_INT(st.n, 0);
	baseline_stats(e, n, -1, &st);
	CHECK_INT(st.n, 9);

	/* encode / check / decode round trip */
	{
		uint8_t		buf[BASELINE_HEADER_SIZE + 512 * BASELINE_ENTRY_SIZE];
		BaselineEntry back[512];
		size_t		len = BASELINE_HEADER_SIZE + (size_t) n * BASELINE_ENTRY_SIZE;

		baseline_encode(e, n, buf);
		CHECK(baseline_check(buf, len) == NULL);
		CHECK(baseline_check(buf, len - 1) != NULL);
		CHECK_INT(baseline_count_entries(buf), n);
		baseline_decode(buf, back);
		for (uint32_t i = 0; i < n; i++)
			CHECK(back[i].key == e[i].key && back[i].count == e[i].count);
		buf[0] = 2;
		CHECK(baseline_check(buf, len) != NULL);
		buf[0] = 1;
		buf[BASELINE_HEADER_SIZE] = 200;	/* slot 200 */
		CHECK(baseline_check(buf, len) != NULL);
	}

	/* merge is commutative and adds counts */
	{
		BaselineEntry a[2] = {{BASELINE_KEY(0, 5), 2}, {BASELINE_KEY(3, 1), 1}};
		BaselineEntry b[2] = {{BASELINE_KEY(0, 5), 3}, {BASELINE_KEY(1, 0), 4}};
		BaselineEntry ab[4],
					ba[4];
		int64_t		m1 = baseline_merge(a, 2, b, 2, ab);
		int64_t		m2 = baseline_merge(b, 2, a, 2, ba);

		CHECK_INT(m1, 3);
		CHECK_INT(m2, 3);
		CHECK(ab[0].key == ba[0].key && ab[0].count == 5 && ba[0].count == 5);
		CHECK(ab[1].key == BASELINE_KEY(1, 0) && ab[2].key == BASELINE_KEY(3, 1));
		a[0].count = (uint64_t) INT64_MAX;
		CHECK_INT(baseline_merge(a, 2, b, 2, ab), -1);
	}

	/* the score: monotone in the observation, signed deviation, directions */
	n = 0;
	for (int i = 0; i < 100; i++)
		n = build(e, n, 0, 1000 + 10 * (i % 20), 1);
	baseline_stats(e, n, -1, &st);
	baseline_score(&st, st.median, 1.0, SCORE_HIGH, &sc);
	CHECK(sc.score == 0.0 && sc.deviation == 0.0);
	{
		int			mono = 1;

		baseline_score(&st, 0, 1.0, SCORE_BOTH, &prev);
		for (double v = 0; v < 1e6; v = v * 1.1 + 1)
		{
			baseline_score(&st, v, 1.0, SCORE_HIGH, &sc);
			if (v > st.median && sc.score < prev.score && prev.deviation > 0)
				mono = 0;
			if (v < st.median && sc.score != 0.0)
				mono = 0;
			prev = sc;
		}
		CHECK(mono);
	}
	baseline_score(&st, 0, 1.0, SCORE_LOW, &sc);
	CHECK(sc.score > 0 && sc.deviation < 0 && sc.score == -sc.deviation);
	baseline_score(&st, 0, 1.0, SCORE_HIGH, &sc);
	CHECK(sc.score == 0.0);

	/* zero spread: a constant history scores by min_spread, not by 0 */
	n = 0;
	n = build(e, n, 5, 0.0, 1000);
	baseline_stats(e, n, 5, &st);
	CHECK(st.median == 0.0 && st.mad == 0.0 && st.meanad == 0.0);
	baseline_score(&st, 3.0, 1.0, SCORE_HIGH, &sc);
	CHECK(sc.spread == 1.0 && sc.score == 3.0 && isfinite(sc.score));
	/* MAD 0 but a tail: the mean absolute deviation is used */
	n = build(e, n, 5, 1000.0, 100);
	baseline_stats(e, n, 5, &st);
	CHECK(st.mad == 0.0 && st.meanad > 0.0);
	baseline_score(&st, 3.0, 1.0, SCORE_HIGH, &sc);
	CHECK(sc.spread > 1.0 && fabs(sc.spread - 1.2533 * st.meanad) < 1e-9);
	/* values in the median's bucket stay below 1 deviation */
	n = 0;
	n = build(e, n, 5, 100.0, 1000);
	baseline_stats(e, n, 5, &st);
	baseline_score(&st, 106.0, 1.0, SCORE_HIGH, &sc);
	CHECK(sc.score < 1.0);

	CHECK(strcmp(baseline_basis_name(BASIS_SLOT), "hour_of_week") == 0);
	CHECK(strcmp(baseline_basis_name(BASIS_NONE), "insufficient_history") == 0);
	UNIT_DONE();
}
