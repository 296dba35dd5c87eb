/*
 * lpmtrie.h
 *		IP prefixes and a compiled, time-aware longest-prefix-match table.
 *
 * Pure C99 (plus the compiler's unsigned __int128) with no PostgreSQL
 * dependency, so the server functions, the unit tests and a fuzz harness
 * share one implementation.
 *
 * IpPrefix is also the on-disk form of vpcflow.ipprefix: 18 bytes, family
 * (4 or 6), mask length, then the address in network byte order, 16 bytes
 * always, host bits and unused bytes zero.  Equal prefixes therefore have
 * equal bytes, and the hash of those bytes is the same on every platform.
 *
 * The LPM table is built once from a list of entries (prefix, validity
 * [valid_from, valid_to), id) and is then read-only.  Its structure, per
 * address family: the prefixes are flattened into the sorted list of
 * elementary address ranges, each labelled with its most specific covering
 * prefix, and the ranges are compiled into a leaf-pushed multibit trie: a
 * direct-indexed first stride on the top 16 address bits, then per block
 * either a leaf (one range), a compact node (up to 24 ranges: narrow
 * relative starts, then the answers) or an 8-bit stride built the same way
 * (see lpmtrie.c).  A leaf holds the answer itself when it cannot depend on
 * time (one entry valid forever); otherwise time is resolved from its
 * prefix: each distinct prefix keeps its entries (latest valid_from first)
 * and a link to its longest strictly shorter prefix in the set, and the
 * first entry valid at the lookup time, going up that chain, is the answer.
 */
#ifndef VPCFLOW_LPMTRIE_H
#define VPCFLOW_LPMTRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct IpPrefix
{
	uint8_t		family;			/* 4 or 6 */
	uint8_t		bits;			/* mask length, 0..32 or 0..128 */
	uint8_t		addr[16];		/* network order; host bits zero */
} IpPrefix;

#define IPPREFIX_SIZE		18
/* "xxxx:...:xxxx/128" or an IPv4-mapped form, with the NUL */
#define IPPREFIX_MAXSTR		64

#define ipprefix_maxbits(p)	((p)->family == 4 ? 32 : 128)

/* Results of ipprefix_parse */
typedef enum IpPrefixParseResult
{
	IPP_OK = 0,
	IPP_ERR_SYNTAX,				/* not an address, or junk around it */
	IPP_ERR_MASKLEN,			/* mask length not a number in range */
	IPP_ERR_HOSTBITS			/* bits set to the right of the mask */
} IpPrefixParseResult;

/*
 * Parse "addr" or "addr/len" (IPv4 dotted quad or any IPv6 form, surrounding
 * blanks allowed).  Without /len the prefix is a host (/32 or /128).
 */
extern IpPrefixParseResult ipprefix_parse(const char *s, size_t len, IpPrefix *out);

/* A human-readable message for a parse result. */
extern const char *ipprefix_parse_error(IpPrefixParseResult r);

/* Text form "addr/len" into buf (IPPREFIX_MAXSTR bytes); returns its length. */
extern size_t ipprefix_format(const IpPrefix *p, char *buf);

/* Order: family, then address bytes, then mask length (a prefix sorts just
 * before the prefixes it contains). */
extern int	ipprefix_cmp(const IpPrefix *a, const IpPrefix *b);

/* Do a and b agree on their first nbits bits? */
extern bool ip_bits_equal(const uint8_t *a, const uint8_t *b, int nbits);

/* Number of leading bits a and b have in common, at most nbits. */
extern int	ip_bits_common(const uint8_t *a, const uint8_t *b, int nbits);

/* Zero the bits of addr after the first bits. */
extern void ip_clear_host_bits(uint8_t *addr, int bits, int maxbytes);

/* a >>= b: a contains or equals b (same family, a.bits <= b.bits, agree) */
extern bool ipprefix_contains(const IpPrefix *a, const IpPrefix *b);

/* a && b: one contains the other */
extern bool ipprefix_overlaps(const IpPrefix *a, const IpPrefix *b);

/*
 * A 64-bit hash of the canonical 18 bytes, the same on every platform and
 * compiler: bytes are assembled explicitly (little-endian 8-byte words) and
 * mixed with fixed constants.  The low 32 bits with seed 0 are the 32-bit hash.
 */
extern uint64_t ipprefix_hash64(const IpPrefix *p, uint64_t seed);

/* ---------------------------------------------------------------- LPM */

typedef struct LpmEntry
{
	IpPrefix	prefix;
	int64_t		valid_from;		/* inclusive; INT64_MIN = since ever */
	int64_t		valid_to;		/* exclusive; INT64_MAX = forever */
	int64_t		id;				/* tie-break: smaller id wins */
} LpmEntry;

typedef struct LpmTable LpmTable;

/*
 * Build a table from entries[0..n).  Returns NULL when out of memory.  The
 * entries are copied; lookups return indexes into the caller's array.
 * Entries with valid_from >= valid_to never match.
 */
extern LpmTable *lpm_build(const LpmEntry *entries, size_t n);
extern void lpm_free(LpmTable *t);

/* Bytes of memory the table uses. */
extern size_t lpm_memory(const LpmTable *t);

/*
 * The entry for addr (family 4: addr[0..4), family 6: addr[0..16)) valid at
 * time t: among the prefixes containing addr that have an entry valid at t,
 * the longest; among that prefix's entries valid at t, the one with the
 * latest valid_from, then the smallest id.  Returns the entry's index in
 * the build array, or -1.
 */
extern long lpm_lookup(const LpmTable *t, int family, const uint8_t *addr, int64_t at);

/*
 * Hint that addr (same arguments as lpm_lookup) will be looked up soon:
 * reads its first-stride slot and prefetches what that slot points to.  No
 * effect on results; lpm_lookup_batch does this (and more) by itself.
 */
extern void lpm_prefetch(const LpmTable *t, int family, const uint8_t *addr);

/*
 * n lookups at once: out[i] = lpm_lookup(t, family[i], addr[i], at[i]).
 * The probes go down the trie together, a level per round, prefetching each
 * probe's next level, so that the cache misses of up to 64 lookups overlap.
 */
extern void lpm_lookup_batch(const LpmTable *t, size_t n, const uint8_t *family,
							 const uint8_t *const *addr, const int64_t *at,
							 long *out);

/* The same by brute force over entries[0..n), for tests. */
extern long lpm_lookup_brute(const LpmEntry *entries, size_t n, int family,
							 const uint8_t *addr, int64_t at);

#endif							/* VPCFLOW_LPMTRIE_H */
