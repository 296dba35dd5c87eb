/*
 * idcodec.h
 *		Compact, exact encoding of cloud resource ids ("eni-0a1b...", account ids).
 *
 * Pure C, no PostgreSQL dependency.  Used by the vpcflow.awsid column type
 * and by the fixed-width flow_record.  The encoding is canonical (one byte
 * string per id), so equality and hashing can work on encoded bytes.
 *
 * Layout (on disk; the prefix table below is append-only):
 *   packed: byte 0 = 0x80 | prefix index, byte 1 = number of hex digits n
 *           (1..ID_MAX_DIGITS), then ceil(n/2) bytes, high nibble first;
 *           an odd count leaves the last low nibble zero.
 *   raw:    byte 0 = 0x00, then the id's bytes unchanged.
 * An id is packed when it is a known prefix followed by lowercase hex
 * digits and packing is strictly shorter than raw.
 */
#ifndef VPCFLOW_IDCODEC_H
#define VPCFLOW_IDCODEC_H

#include <stddef.h>
#include <stdint.h>

#define ID_TAG_RAW		0x00
#define ID_TAG_PACKED	0x80
#define ID_MAX_DIGITS	64

/* Upper bound of id_encode's output for an id of len bytes. */
#define ID_ENCODED_MAX(len) ((len) + 1)

/* Encode s[0..len) into out (ID_ENCODED_MAX(len) bytes); returns the size. */
extern size_t id_encode(const char *s, size_t len, uint8_t *out);

/*
 * Decode in[0..inlen) into out (outcap bytes).  Returns the id's length,
 * or -1 if the bytes are not a valid encoding or do not fit in outcap.
 * Never reads outside in[0..inlen) nor writes outside out[0..outcap).
 */
extern long id_decode(const uint8_t *in, size_t inlen, char *out, size_t outcap);

/* Length of the decoded id, or -1 if invalid (same checks as id_decode). */
extern long id_decoded_length(const uint8_t *in, size_t inlen);

#endif							/* VPCFLOW_IDCODEC_H */
