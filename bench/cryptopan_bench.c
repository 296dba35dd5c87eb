/*
 * cryptopan_bench.c
 *		Crypto-PAn throughput of src/cryptopan.c (its AES-NI path, batched,
 *		and its portable tables) against the same construction on OpenSSL's
 *		EVP AES-128-ECB (AES-NI where the CPU has it, one call per block) as
 *		the baseline, measured in the same run: addresses per second and the
 *		ratios to EVP.  All must produce the same pseudonyms.
 *
 *   cc -O2 -Isrc -o /tmp/cpbench bench/cryptopan_bench.c src/cryptopan.c -lcrypto
 *   /tmp/cpbench [addresses]
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cryptopan.h"

static const uint8_t key[32] = {
	21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
	216, 152, 143, 131, 121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The same construction with EVP for the block cipher. */
static void
evp_anonymize(EVP_CIPHER_CTX *ctx, const uint8_t *pad, const uint8_t *addr, int nbits, uint8_t *out)
{
	uint8_t		flip[16] = {0},
				block[16],
				enc[32];
	int			len;

	for (int pos = 0; pos < nbits; pos++)
	{
		int			whole = pos / 8,
					rest = pos % 8;

		memcpy(block, addr, whole);
		memcpy(block + whole, pad + whole, 16 - whole);
		if (rest)
		{
			uint8_t		keep = (uint8_t) (0xff << (8 - rest));

			block[whole] = (uint8_t) ((addr[whole] & keep) | (pad[whole] & ~keep));
		}
		EVP_EncryptUpdate(ctx, enc, &len, block, 16);
		flip[whole] |= (uint8_t) ((enc[0] >> 7) << (7 - rest));
	}
	for (int i = 0; i < nbits / 8; i++)
		out[i] = addr[i] ^ flip[i];
}

int
main(int argc, char **argv)
{
	long		n = argc > 1 ? atol(argv[1]) : 200000;
	CryptoPan	cp;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t		pad[32];
	int			len;
	unsigned	sink = 0;

	cryptopan_init(&cp, key);
	EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	EVP_EncryptUpdate(ctx, pad, &len, key + 16, 16);
	if (memcmp(pad, cp.pad, 16) != 0)
		return 1;

	for (int bits = 32; bits <= 128; bits += 96)
	{
		double		t0,
					t_ni = 0,
					t_tab,
					t_evp;
		uint8_t		a[16] = {0},
					o1[16],
					o2[16];

		for (int aesni = 1; aesni >= 0; aesni--)
		{
			if (aesni && !cryptopan_aesni_available())
				continue;
			cryptopan_use_aesni(aesni);
			t0 = now();
			for (long i = 0; i < n; i++)
			{
				memcpy(a, &i, sizeof(i));
				cryptopan_anonymize(&cp, a, bits, o1);
				sink += o1[0];
			}
			if (aesni)
				t_ni = now() - t0;
			else
				t_tab = now() - t0;
		}
		t0 = now();
		for (long i = 0; i < n; i++)
		{
			memcpy(a, &i, sizeof(i));
			evp_anonymize(ctx, pad, a, bits, o2);
			sink += o2[0];
		}
		t_evp = now() - t0;
		for (int aesni = 0; aesni <= 1; aesni++)
		{
			cryptopan_use_aesni(aesni);
			cryptopan_anonymize(&cp, a, bits, o1);
			if (memcmp(o1, o2, bits / 8) != 0)
			{
				fprintf(stderr, "vpcflow and EVP disagree\n");
				return 1;
			}
		}
		printf("IPv%d: OpenSSL EVP (baseline) %.0f addr/s; vpcflow AES-NI %.0f addr/s (%.2fx); "
			   "vpcflow portable %.0f addr/s (%.2fx)\n",
			   bits == 32 ? 4 : 6, n / t_evp,
			   t_ni > 0 ? n / t_ni : 0.0, t_ni > 0 ? t_evp / t_ni : 0.0,
			   n / t_tab, t_evp / t_tab);
	}
	EVP_CIPHER_CTX_free(ctx);
	return sink == 12345 ? 2 : 0;
}
