/*
 * cryptopan.c
 *		Crypto-PAn on a small table-driven AES-128 (encryption only).
 *
 * Own AES rather than OpenSSL's: the core stays dependency-free for the
 * unit tests and the fuzzer.  The nbits blocks of one address do not depend
 * on each other (each is a prefix of the address followed by the pad), so
 * with AES-NI they are built in registers and encrypted eight at a time
 * through the pipelined instructions, which beats OpenSSL's EVP (one call
 * per block); without it, one by one through the portable tables.  bench/cryptopan_bench.c
 * measures both against EVP; docs/security.md has the figures.
 * The tables are computed once, on first use, from the field arithmetic
 * (no hand-typed S-box to get wrong); FIPS-197's vector is in the unit test.
 */
#include <string.h>

#include "cryptopan.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRYPTOPAN_HAVE_AESNI 1
#include <immintrin.h>
#endif

static uint8_t sbox[256];
static uint32_t te[4][256];
static uint8_t prefix_mask[129][16];	/* row n: n leading one bits */
static int	tables_ready;

static inline uint8_t
rotl8(uint8_t x, int n)
{
	return (uint8_t) ((x << n) | (x >> (8 - n)));
}

static inline uint8_t
xtime(uint8_t x)
{
	return (uint8_t) ((x << 1) ^ ((x & 0x80) ? 0x1b : 0));
}

static inline uint32_t
ror32(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

/* S-box: p walks the multiplicative group by 3, q by its inverse 3^-1. */
static void
aes_tables(void)
{
	uint8_t		p = 1,
				q = 1;

	do
	{
		p = p ^ xtime(p);
		q ^= (uint8_t) (q << 1);
		q ^= (uint8_t) (q << 2);
		q ^= (uint8_t) (q << 4);
		if (q & 0x80)
			q ^= 0x09;
		sbox[p] = (uint8_t) (q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4) ^ 0x63);
	} while (p != 1);
	sbox[0] = 0x63;

	for (int x = 0; x < 256; x++)
	{
		uint8_t		s = sbox[x];
		uint8_t		s2 = xtime(s);
		uint32_t	w = ((uint32_t) s2 << 24) | ((uint32_t) s << 16) |
			((uint32_t) s << 8) | (uint32_t) (s2 ^ s);

		te[0][x] = w;
		te[1][x] = ror32(w, 8);
		te[2][x] = ror32(w, 16);
		te[3][x] = ror32(w, 24);
	}
	for (int n = 0; n <= 128; n++)
		for (int i = 0; i < 128; i++)
			if (i < n)
				prefix_mask[n][i / 8] |= (uint8_t) (0x80 >> (i % 8));
	tables_ready = 1;
}

static inline uint32_t
load32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

static inline void
store32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static inline uint32_t
sub_word(uint32_t w)
{
	return ((uint32_t) sbox[w >> 24] << 24) | ((uint32_t) sbox[(w >> 16) & 0xff] << 16) |
		((uint32_t) sbox[(w >> 8) & 0xff] << 8) | sbox[w & 0xff];
}

void
aes128_init(Aes128 *aes, const uint8_t key[16])
{
	uint8_t		rcon = 1;

	if (!tables_ready)
		aes_tables();
	for (int i = 0; i < 4; i++)
		aes->rk[i] = load32(key + 4 * i);
	for (int i = 4; i < 44; i++)
	{
		uint32_t	t = aes->rk[i - 1];

		if (i % 4 == 0)
		{
			t = sub_word((t << 8) | (t >> 24)) ^ ((uint32_t) rcon << 24);
			rcon = xtime(rcon);
		}
		aes->rk[i] = aes->rk[i - 4] ^ t;
	}
}

void
aes128_encrypt(const Aes128 *aes, const uint8_t in[16], uint8_t out[16])
{
	const uint32_t *rk = aes->rk;
	uint32_t	s0 = load32(in) ^ rk[0],
				s1 = load32(in + 4) ^ rk[1],
				s2 = load32(in + 8) ^ rk[2],
				s3 = load32(in + 12) ^ rk[3];
	uint32_t	t0,
				t1,
				t2,
				t3;

#define ROUND_COL(a, b, c, d, k) \
	(te[0][(a) >> 24] ^ te[1][((b) >> 16) & 0xff] ^ te[2][((c) >> 8) & 0xff] ^ \
	 te[3][(d) & 0xff] ^ (k))
	for (int r = 1; r < 10; r++)
	{
		rk += 4;
		t0 = ROUND_COL(s0, s1, s2, s3, rk[0]);
		t1 = ROUND_COL(s1, s2, s3, s0, rk[1]);
		t2 = ROUND_COL(s2, s3, s0, s1, rk[2]);
		t3 = ROUND_COL(s3, s0, s1, s2, rk[3]);
		s0 = t0;
		s1 = t1;
		s2 = t2;
		s3 = t3;
	}
#undef ROUND_COL
	rk += 4;
#define LAST_COL(a, b, c, d, k) \
	((((uint32_t) sbox[(a) >> 24] << 24) | ((uint32_t) sbox[((b) >> 16) & 0xff] << 16) | \
	  ((uint32_t) sbox[((c) >> 8) & 0xff] << 8) | sbox[(d) & 0xff]) ^ (k))
	store32(out, LAST_COL(s0, s1, s2, s3, rk[0]));
	store32(out + 4, LAST_COL(s1, s2, s3, s0, rk[1]));
	store32(out + 8, LAST_COL(s2, s3, s0, s1, rk[2]));
	store32(out + 12, LAST_COL(s3, s0, s1, s2, rk[3]));
#undef LAST_COL
}

#ifdef CRYPTOPAN_HAVE_AESNI
static int	aesni_state = -1;	/* -1: not probed yet */

/*
 * The flip bits of one address with AES-NI: block pos is built in a
 * register from the prefix mask table, eight blocks are in flight at a
 * time, and the first bit of each result is read with movemask.
 */
__attribute__((target("aes,sse2")))
static void
aesni_flip_bits(const CryptoPan *cp, const uint8_t orig[16], int nbits, uint8_t flip[16])
{
	__m128i		k[11];
	__m128i		a = _mm_loadu_si128((const __m128i *) orig);
	__m128i		p = _mm_loadu_si128((const __m128i *) cp->pad);

	for (int r = 0; r < 11; r++)
		k[r] = _mm_loadu_si128((const __m128i *) cp->round_keys[r]);
	for (int pos = 0; pos < nbits; pos += 8)
	{
		__m128i		b[8];

		for (int j = 0; j < 8; j++)
		{
			/* past nbits (up to 7 spare blocks): any valid mask row */
			__m128i		m = _mm_loadu_si128((const __m128i *) prefix_mask[pos + j <= 128 ? pos + j : 128]);

			b[j] = _mm_xor_si128(_mm_or_si128(_mm_and_si128(a, m), _mm_andnot_si128(m, p)), k[0]);
		}
		for (int r = 1; r < 10; r++)
			for (int j = 0; j < 8; j++)
				b[j] = _mm_aesenc_si128(b[j], k[r]);
		for (int j = 0; j < 8 && pos + j < nbits; j++)
		{
			int			bit = _mm_movemask_epi8(_mm_aesenclast_si128(b[j], k[10])) & 1;

			flip[(pos + j) / 8] |= (uint8_t) (bit << (7 - (pos + j) % 8));
		}
	}
}
#endif

int
cryptopan_aesni_available(void)
{
#ifdef CRYPTOPAN_HAVE_AESNI
	return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse2");
#else
	return 0;
#endif
}

void
cryptopan_use_aesni(int on)
{
#ifdef CRYPTOPAN_HAVE_AESNI
	aesni_state = on && cryptopan_aesni_available();
#else
	(void) on;
#endif
}

void
cryptopan_init(CryptoPan *cp, const uint8_t key[CRYPTOPAN_KEY_LEN])
{
	aes128_init(&cp->aes, key);
	aes128_encrypt(&cp->aes, key + 16, cp->pad);
	for (int i = 0; i < 44; i++)
		store32(cp->round_keys[i / 4] + 4 * (i % 4), cp->aes.rk[i]);
}

void
cryptopan_anonymize(const CryptoPan *cp, const uint8_t *addr, int nbits, uint8_t *out)
{
	uint8_t		orig[16] = {0};
	uint8_t		flip[16] = {0};
	int			nbytes;

	if (nbits < 0)
		nbits = 0;
	if (nbits > 128)
		nbits = 128;
	nbytes = (nbits + 7) / 8;
	memcpy(orig, addr, nbytes);

#ifdef CRYPTOPAN_HAVE_AESNI
	if (aesni_state < 0)
		aesni_state = cryptopan_aesni_available();
	if (aesni_state)
		aesni_flip_bits(cp, orig, nbits, flip);
	else
#endif
	{
		uint8_t		block[16];
		uint8_t		enc[16];

		/* block pos: the first pos bits of the address, then the pad */
		for (int pos = 0; pos < nbits; pos++)
		{
			for (int j = 0; j < 16; j++)
				block[j] = (uint8_t) ((orig[j] & prefix_mask[pos][j]) |
									  (cp->pad[j] & ~prefix_mask[pos][j]));
			aes128_encrypt(&cp->aes, block, enc);
			/* bit pos of the result flips with the first bit of block pos */
			flip[pos / 8] |= (uint8_t) ((enc[0] >> 7) << (7 - pos % 8));
		}
	}
	for (int i = 0; i < nbytes; i++)
		out[i] = orig[i] ^ flip[i];
}
