/*
 * baseline.h
 *		Seasonal, robust, mergeable baselines (the stored form of the type
 *		vpcflow.baseline) and the anomaly score.  Pure C, no PostgreSQL
 *		dependency: the server module (anomaly.c), the unit tests and the
 *		fuzz harness share it.
 *
 * A baseline is a histogram of observed values per hour-of-week slot: each
 * value falls in a log-scale bucket (BASELINE_BUCKETS_PER_DOUBLING buckets
 * per power of two, so a bucket is about 19% wide; 0 has its own bucket).
 * Histograms add, so baselines merge exactly, in any order, and the median
 * and the median absolute deviation are read from them (to within a
 * bucket).  Layout (docs/detections.md), integers big-endian:
 *
 *	 version (1) = 1, reserved (1) = 0, n entries (4),
 *	 n x { slot (1) 0..167, bucket (1), count (8) >= 1 },
 *	 entries strictly increasing by (slot, bucket), total count <= INT64_MAX.
 */
#ifndef VPCFLOW_BASELINE_H
#define VPCFLOW_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BASELINE_FORMAT_VERSION		1
#define BASELINE_HEADER_SIZE		6
#define BASELINE_ENTRY_SIZE			10
#define BASELINE_SLOTS				168		/* hours of the week */
#define BASELINE_NBUCKETS			256
#define BASELINE_BUCKETS_PER_DOUBLING 4
/* bucket 1 starts at 2^-BASELINE_MIN_EXP; bucket 255 holds everything above */
#define BASELINE_MIN_EXP			16
/* entries of a baseline: (slot, bucket) pairs, so at most this many */
#define BASELINE_MAX_ENTRIES		(BASELINE_SLOTS * BASELINE_NBUCKETS)

/* half a bucket's width, relative: 2^(1/8) - 1 */
#define BASELINE_RESOLUTION			0.0905077326652577

/* one histogram cell; key = slot << 8 | bucket */
typedef struct BaselineEntry
{
	uint16_t	key;
	uint64_t	count;
} BaselineEntry;

#define BASELINE_KEY(slot, bucket)	((uint16_t) (((slot) << 8) | (bucket)))
#define BASELINE_KEY_SLOT(k)		((int) ((k) >> 8))
#define BASELINE_KEY_BUCKET(k)		((int) ((k) & 0xff))

/* The bucket of a value (finite, >= 0) and a bucket's representative value
 * (0 for bucket 0, else the geometric middle of the bucket). */
extern int	baseline_bucket(double v);
extern double baseline_bucket_value(int bucket);

/* The hour-of-week slot (0 = Monday 00:00-01:00 UTC) of a Unix time. */
extern int	baseline_slot(int64_t unix_seconds);

/* NULL if buf is a valid stored baseline, else what is wrong. */
extern const char *baseline_check(const uint8_t *buf, size_t len);

/* Decode a checked stored form into entries (room for n entries). */
extern uint32_t baseline_count_entries(const uint8_t *buf);
extern void baseline_decode(const uint8_t *buf, BaselineEntry *out);
/* Encode n sorted entries; buf has BASELINE_HEADER_SIZE + n * ENTRY_SIZE bytes. */
extern void baseline_encode(const BaselineEntry *e, uint32_t n, uint8_t *buf);

/* Merge sorted a and b into out (room for na + nb); returns the count, or
 * -1 if a merged count would pass INT64_MAX. */
extern int64_t baseline_merge(const BaselineEntry *a, uint32_t na,
							  const BaselineEntry *b, uint32_t nb,
							  BaselineEntry *out);

/* Robust statistics of the values of one slot (slot >= 0) or of all. */
typedef struct BaselineStats
{
	uint64_t	n;				/* observations */
	double		median;
	double		mad;			/* median absolute deviation from the median */
	double		meanad;			/* mean absolute deviation from the median */
} BaselineStats;

extern void baseline_stats(const BaselineEntry *e, uint32_t n, int slot,
						   BaselineStats *st);

/* Which statistics a score used. */
typedef enum BaselineBasis
{
	BASIS_NONE = 0,				/* not enough history anywhere: no score */
	BASIS_SLOT,					/* the entity's own hour-of-week slot */
	BASIS_ALL,					/* the entity's own history, all hours */
	BASIS_GROUP_SLOT,			/* the group's hour-of-week slot */
	BASIS_GROUP_ALL				/* the group's history, all hours */
} BaselineBasis;

extern const char *baseline_basis_name(BaselineBasis b);

typedef enum ScoreDirection
{
	SCORE_HIGH,					/* only values above expected score */
	SCORE_LOW,
	SCORE_BOTH
} ScoreDirection;

typedef struct BaselineScore
{
	double		expected;		/* the median */
	double		spread;			/* robust standard deviation (see below) */
	double		deviation;		/* (observed - expected) / spread, signed */
	double		score;			/* deviation in the scored direction, >= 0 */
	uint64_t	size;			/* observations behind expected and spread */
} BaselineScore;

/*
 * Score an observation against statistics: spread is 1.4826 MAD (the
 * standard deviation for normal data); when MAD is 0 (more than half the
 * values equal) 1.2533 x the mean absolute deviation; never below the
 * histogram's resolution (BASELINE_RESOLUTION x expected) nor min_spread
 * (also what a constant history gets).  Monotone: score does
 * not decrease as observed moves away from expected.
 */
extern void baseline_score(const BaselineStats *st, double observed, double min_spread,
						   ScoreDirection dir, BaselineScore *out);

#endif							/* VPCFLOW_BASELINE_H */
