/*
 * unit.h
 *		A few assertion macros for the C unit tests; no test library needed.
 *
 * A failed check prints where and what, and the run goes on so one
 * broken case does not hide the others.  main() ends with UNIT_DONE().
 */
#ifndef VPCFLOW_UNIT_H
#define VPCFLOW_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	unit_checks;
static int	unit_failures;

#define CHECK(cond) \
	do { \
		unit_checks++; \
		if (!(cond)) \
		{ \
			unit_failures++; \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

#define CHECK_INT(got, want) \
	do { \
		long long	got_ = (long long) (got); \
		long long	want_ = (long long) (want); \
		unit_checks++; \
		if (got_ != want_) \
		{ \
			unit_failures++; \
			fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", \
					__FILE__, __LINE__, #got, got_, want_); \
		} \
	} while (0)

/* got[0..gotlen) must equal the C string want. */
#define CHECK_MEM(got, gotlen, want) \
	do { \
		const char *got_ = (const char *) (got); \
		size_t		gotlen_ = (size_t) (gotlen); \
		const char *want_ = (want); \
		unit_checks++; \
		if (gotlen_ != strlen(want_) || (gotlen_ > 0 && memcmp(got_, want_, gotlen_) != 0)) \
		{ \
			unit_failures++; \
			fprintf(stderr, "%s:%d: %s is \"%.*s\", expected \"%s\"\n", \
					__FILE__, __LINE__, #got, (int) gotlen_, got_ ? got_ : "", want_); \
		} \
	} while (0)

#define CHECK_STR(got, want) \
	do { \
		const char *gs_ = (got); \
		CHECK_MEM(gs_ ? gs_ : "(null)", gs_ ? strlen(gs_) : 6, (want)); \
	} while (0)

/* The C string hay must contain needle. */
#define CHECK_CONTAINS(hay, needle) \
	do { \
		const char *hay_ = (hay); \
		unit_checks++; \
		if (hay_ == NULL || strstr(hay_, (needle)) == NULL) \
		{ \
			unit_failures++; \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected it to contain \"%s\"\n", \
					__FILE__, __LINE__, #hay, hay_ ? hay_ : "(null)", (needle)); \
		} \
	} while (0)

#define UNIT_DONE() \
	do { \
		if (unit_failures > 0) \
			fprintf(stderr, "%d of %d checks failed\n", unit_failures, unit_checks); \
		else \
			printf("%d checks passed\n", unit_checks); \
		return unit_failures > 0 ? 1 : 0; \
	} while (0)

/* A copy of s[0..len) in a buffer of exactly len bytes, so ASan sees over-reads. */
static inline char *
unit_exact_copy(const char *s, size_t len)
{
	char	   *p = malloc(len > 0 ? len : 1);

	if (p == NULL)
		abort();
	memcpy(p, s, len);
	return p;
}

#endif							/* VPCFLOW_UNIT_H */
