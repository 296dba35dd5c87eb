/*
 * fmix64.h
 *		murmur3's 64-bit finalizer: full avalanche for short keys.
 *
 * Pure C (no PostgreSQL headers), shared by the sketch hashes (aggformat),
 * the LPM trie's hash table and the warm codec's dictionary.  Stored
 * sketches and warm blocks depend on its exact output: never change it.
 */
#ifndef VPCFLOW_FMIX64_H
#define VPCFLOW_FMIX64_H

#include <stdint.h>

static inline uint64_t
fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64_C(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return k;
}

#endif							/* VPCFLOW_FMIX64_H */
