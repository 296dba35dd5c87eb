/*
 * cloudflow_int.h
 *		Private to the GCP and Azure readers (cloudflow.c, cloudflow_gcp.c,
 *		cloudflow_azure.c): the steps they share.  Values are read at the
 *		offsets a first pass noted (cf_members_at); a semantic error in an
 *		item is noted with cf_bad / cf_bad_in (the first one wins) and the
 *		item is handed to the bad-item callback by cf_row_end.  Functions
 *		returning int or bool give -1 / false only for malformed JSON.
 */
#ifndef VPCFLOW_CLOUDFLOW_INT_H
#define VPCFLOW_CLOUDFLOW_INT_H

#include <string.h>

#include "cloudflow.h"

#define MAX_KEY		40			/* longer keys are never ones we use */

static inline bool
cf_at_char(const CloudReader *r, size_t at, char c)
{
	return at < r->js.len && r->js.buf[at] == c;
}

/* key[0..klen) equals the literal name (compared as we go, no strlen) */
static inline bool
key_is(const char *key, size_t klen, const char *name)
{
	size_t		i;

	for (i = 0; i < klen; i++)
		if (name[i] != key[i] || name[i] == '\0')
			return false;
	return name[i] == '\0';
}

/* errors in the current item */
extern void cf_bad(CloudReader *r, const char *fmt,...)
#if defined(__GNUC__) || defined(__clang__)
			__attribute__((format(printf, 2, 3)))
#endif
			;
extern void cf_bad_in(CloudReader *r, const char *field, const char *msg);

/* objects and values */
extern int	cf_member_key(CloudReader *r, char *key, size_t *klen, size_t *raw_start,
						  size_t *raw_end);
extern int	cf_members_at(CloudReader *r, size_t pos, int level, const char *const *keys,
						  int nkeys, size_t *at);
extern int	cf_arena_string(CloudReader *r, size_t at, FlowStr *out);
extern int	cf_int_value(CloudReader *r, size_t at, bool strings_ok, int64_t max, int64_t *v);

/* row fields from values (absent or null: NULL) */
extern bool cf_set_text(CloudReader *r, int f, size_t at, const char *field);
extern bool cf_set_int(CloudReader *r, int f, size_t at, bool strings_ok, int64_t max,
					   const char *field);
extern bool cf_set_time(CloudReader *r, int f, size_t at, const char *field);
extern bool cf_set_addr(CloudReader *r, int f, size_t at, const char *field);

/* the extra column: "key": raw value pairs */
extern void cf_extra_begin(CloudReader *r);
extern void cf_extra_add(CloudReader *r, const char *key, size_t klen, size_t vstart,
						 size_t vend);
extern void cf_extra_end(CloudReader *r);
extern bool cf_is_empty_value(const CloudReader *r, size_t vstart, size_t vend);

/* one item: start, then hand over as a row or as bad */
extern void cf_row_begin(CloudReader *r, int provider);
extern void cf_row_end(CloudReader *r, size_t raw_start, size_t raw_end);

/* tuple text */
extern int	cf_split_commas(const char *s, size_t len, FlowStr *f, int max);
extern bool cf_num(FlowStr t, uint64_t max, uint64_t *v);

/* the readers: one GCP entry at js.pos; one Azure object at at */
extern int	cf_gcp_entry(CloudReader *r, int level);
extern int	cf_azure_object(CloudReader *r, size_t at, int level, bool top);
extern void cf_azure_tuple_lines(CloudReader *r);

#endif							/* VPCFLOW_CLOUDFLOW_INT_H */
