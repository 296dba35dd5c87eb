/*
 * flowrec.h
 *		The pure-C parts of vpcflow.flow_record (flow_record.c): reading the
 *		text form (shared by input and binary receive) and the string area
 *		that holds a record's ids and names.  No PostgreSQL dependency, so
 *		the fuzzer (fuzz/fuzz_flowrec.c) reaches them.
 *
 * String area: for each non-NULL string field in a fixed order, one length
 * byte n then the n bytes of its id encoding (idcodec.h); 'used' bytes of
 * the FLOWREC_STRINGS are in use.  A stored value may be corrupt: lookups
 * check every length against 'used' and never read past it.
 */
#ifndef VPCFLOW_FLOWREC_H
#define VPCFLOW_FLOWREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flowparse.h"

#define FLOWREC_STRINGS 204

/* Fields (blank-separated tokens) in line[0..len) before a line end. */
int			flowrec_count_tokens(const char *line, size_t len);

/*
 * Parse the text form: the v2 default line (14 fields) or, with more
 * fields, the 29-field v5 line.  Initialises the parser.
 */
FlowLineType flowrec_parse_text(FlowParser *parser, const char *line, size_t len, FlowRow *row);

/* Append s[0..len) encoded; false (area unchanged) if it does not fit. */
bool		flowrec_put_string(uint8_t *strings, uint8_t *used, const char *s, size_t len);

/*
 * Find the encoding of the k-th present string (present: how many string
 * fields precede it that are not NULL are skipped, i.e. k is its index
 * among the present ones).  Returns its bytes and length, or NULL with
 * *corrupt set when the area's lengths do not add up.
 */
const uint8_t *flowrec_get_string(const uint8_t *strings, uint8_t used, int k,
								  size_t *len, bool *corrupt);

#endif							/* VPCFLOW_FLOWREC_H */
