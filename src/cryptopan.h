/*
 * cryptopan.h
 *		Crypto-PAn prefix-preserving address pseudonymisation (Xu, Fan,
 *		Ammar, Moon, "Prefix-Preserving IP Address Anonymization", ICNP
 *		2002) on AES-128, for IPv4 and IPv6.  Pure C, no PostgreSQL
 *		dependency: shared by the server (src/anonymize.c), the unit tests
 *		and the fuzz harness.
 *
 * The 32-byte key is the reference implementation's: bytes 0..15 are the
 * AES key, bytes 16..31 are encrypted under it to give the pad.  Bit i of
 * the result is bit i of the address XOR the first bit of
 * AES(first i bits of the address, then the pad's remaining bits); IPv6
 * uses the same construction over 128 bits, so an IPv4 address placed in
 * the top 32 bits of an IPv6 one maps to the same 32 bits.  Two addresses
 * sharing exactly k leading bits map to two sharing exactly k.
 */
#ifndef VPCFLOW_CRYPTOPAN_H
#define VPCFLOW_CRYPTOPAN_H

#include <stdint.h>

#define CRYPTOPAN_KEY_LEN 32

/* An expanded AES-128 encryption key. */
typedef struct Aes128
{
	uint32_t	rk[44];
} Aes128;

void		aes128_init(Aes128 *aes, const uint8_t key[16]);
void		aes128_encrypt(const Aes128 *aes, const uint8_t in[16], uint8_t out[16]);

typedef struct CryptoPan
{
	Aes128		aes;
	uint8_t		pad[16];
	uint8_t		round_keys[11][16]; /* aes.rk as bytes, for AES-NI */
} CryptoPan;

/*
 * Whether cryptopan_anonymize uses the CPU's AES instructions (x86-64 with
 * AES-NI); cryptopan_use_aesni(0) forces the portable tables (for tests and
 * benchmarks).  Both give the same results.
 */
int			cryptopan_aesni_available(void);
void		cryptopan_use_aesni(int on);

void		cryptopan_init(CryptoPan *cp, const uint8_t key[CRYPTOPAN_KEY_LEN]);

/*
 * Pseudonymise the first nbits (0..128) of addr (network byte order) into
 * out; bits of the last partial byte beyond nbits are copied unchanged.
 * addr and out may be the same buffer.  IPv4: nbits 32, IPv6: 128.
 */
void		cryptopan_anonymize(const CryptoPan *cp, const uint8_t *addr, int nbits,
								uint8_t *out);

#endif							/* VPCFLOW_CRYPTOPAN_H */
