/*
 * fuzz_cryptopan.c
 *		libFuzzer harness for the Crypto-PAn core (src/cryptopan.c).
 *
 * Input: byte 0 picks nbits (0..128), then a 32-byte key, then two 16-byte
 * addresses a and b (missing bytes are zero).  Checked:
 *
 *	- the result equals a second, bit-at-a-time implementation of the
 *	  construction written here from the paper (the first i bits of the
 *	  address, then the pad's bits, through AES; take the first bit);
 *	- a and b share exactly as many leading bits (of nbits) after as before;
 *	- bits beyond nbits in the last partial byte are unchanged, bytes
 *	  beyond it are not written;
 *	- it is deterministic and works in place.
 *
 * fuzz sources: src/cryptopan.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptopan.h"

#include "fuzz_common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
get_bit(const uint8_t *p, int i)
{
	return (p[i / 8] >> (7 - i % 8)) & 1;
}

static void
put_bit(uint8_t *p, int i, int v)
{
	if (v)
		p[i / 8] |= (uint8_t) (0x80 >> (i % 8));
	else
		p[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
}

/* the construction, one bit at a time */
static void
reference(const CryptoPan *cp, const uint8_t *addr, int nbits, uint8_t *out)
{
	uint8_t		block[16],
				enc[16];

	memcpy(out, addr, 16);
	for (int i = 0; i < nbits; i++)
	{
		for (int j = 0; j < 128; j++)
			put_bit(block, j, j < i ? get_bit(addr, j) : get_bit(cp->pad, j));
		aes128_encrypt(&cp->aes, block, enc);
		put_bit(out, i, get_bit(addr, i) ^ get_bit(enc, 0));
	}
}

static int
common_prefix(const uint8_t *a, const uint8_t *b, int nbits)
{
	for (int i = 0; i < nbits; i++)
		if (get_bit(a, i) != get_bit(b, i))
			return i;
	return nbits;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		in[1 + 32 + 16 + 16] = {0};
	uint8_t		a[16],
				b[16],
				ea[16],
				eb[16],
				ref[16],
				again[16];
	CryptoPan	cp;
	int			nbits;

	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	nbits = in[0] % 129;
	memcpy(a, in + 33, 16);
	memcpy(b, in + 49, 16);
	cryptopan_init(&cp, in + 1);

	memset(ea, 0xa5, sizeof(ea));
	memcpy(eb, b, 16);
	cryptopan_anonymize(&cp, a, nbits, ea);
	cryptopan_anonymize(&cp, eb, nbits, eb);	/* in place */

	/* bytes beyond the (partial) last one are not written */
	for (int i = (nbits + 7) / 8; i < 16; i++)
		FUZZ_CHECK(ea[i] == 0xa5);
	/* bits beyond nbits in the last byte are copied */
	for (int i = nbits; i < ((nbits + 7) / 8) * 8; i++)
		FUZZ_CHECK(get_bit(ea, i) == get_bit(a, i));

	reference(&cp, a, nbits, ref);
	for (int i = 0; i < nbits; i++)
		FUZZ_CHECK(get_bit(ea, i) == get_bit(ref, i));

	FUZZ_CHECK(common_prefix(ea, eb, nbits) == common_prefix(a, b, nbits));

	cryptopan_anonymize(&cp, a, nbits, again);
	FUZZ_CHECK(memcmp(again, ea, (nbits + 7) / 8) == 0);
	return 0;
}
