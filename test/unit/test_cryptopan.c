/*
 * test_cryptopan.c
 *		Unit tests of src/cryptopan.c: AES-128 against FIPS-197, Crypto-PAn
 *		against the published vectors (the reference distribution's sample
 *		trace for IPv4; the IPv6 vectors of the Go implementation by Yawning
 *		Angel, which use the same 128-bit construction), prefix preservation
 *		on random pairs, the IPv4-in-IPv6 embedding, key sensitivity.
 *
 * unit.sh sources: src/cryptopan.c
 */
#include <arpa/inet.h>
#include <stdint.h>

#include "cryptopan.h"
#include "unit.h"

/* the key of the reference distribution's sample (sample.cpp) */
static const uint8_t ref_key[32] = {
	21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
	216, 152, 143, 131, 121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2
};

/*
 * The distinct address pairs of sample_trace_raw.dat ->
 * sample_trace_sanitized.dat (100 lines, 70 distinct addresses).
 */
static const char *const v4_vectors[][2] = {
	{"128.11.68.132", "135.242.180.132"}, {"129.118.74.4", "134.136.186.123"},
	{"130.132.252.244", "133.68.164.234"}, {"141.223.7.43", "141.167.8.160"},
	{"141.233.145.108", "141.129.237.235"}, {"152.163.225.39", "151.140.114.167"},
	{"156.29.3.236", "147.225.12.42"}, {"165.247.96.84", "162.9.99.234"},
	{"166.107.77.190", "160.132.178.185"}, {"192.102.249.13", "252.138.62.131"},
	{"192.215.32.125", "252.43.47.189"}, {"192.233.80.103", "252.25.108.8"},
	{"192.41.57.43", "252.222.221.184"}, {"193.150.244.223", "253.169.52.216"},
	{"195.205.63.100", "255.186.223.5"}, {"198.200.171.101", "249.199.68.213"},
	{"198.26.132.101", "249.36.123.202"}, {"198.36.213.5", "249.7.21.132"},
	{"198.51.77.238", "249.18.186.254"}, {"199.217.79.101", "248.38.184.213"},
	{"202.49.198.20", "245.206.7.234"}, {"203.12.160.252", "244.248.163.4"},
	{"204.184.162.189", "243.192.77.90"}, {"204.202.136.230", "243.178.4.198"},
	{"204.29.20.4", "243.33.20.123"}, {"205.178.38.67", "242.108.198.51"},
	{"205.188.147.153", "242.96.16.101"}, {"205.188.248.25", "242.96.88.27"},
	{"205.245.121.43", "242.21.121.163"}, {"207.105.49.5", "241.118.205.138"},
	{"207.135.65.238", "241.202.129.222"}, {"207.155.9.214", "241.220.250.22"},
	{"207.188.7.45", "241.255.249.220"}, {"207.25.71.27", "241.33.119.156"},
	{"207.33.151.131", "241.1.233.131"}, {"208.147.89.59", "227.237.98.191"},
	{"208.234.120.210", "227.154.67.17"}, {"208.28.185.184", "227.39.94.90"},
	{"208.52.56.122", "227.8.63.165"}, {"209.12.231.7", "226.243.167.8"},
	{"209.238.72.3", "226.6.119.243"}, {"209.246.74.109", "226.22.124.76"},
	{"209.68.60.238", "226.184.220.233"}, {"209.85.249.6", "226.170.70.6"},
	{"212.120.124.31", "228.135.163.231"}, {"212.146.8.236", "228.19.4.234"},
	{"212.186.227.154", "228.59.98.98"}, {"212.204.172.118", "228.71.195.169"},
	{"212.206.130.201", "228.69.242.193"}, {"216.148.237.145", "235.84.194.111"},
	{"216.157.30.252", "235.89.31.26"}, {"216.184.159.48", "235.96.225.78"},
	{"216.227.10.221", "235.28.253.36"}, {"216.254.18.172", "235.7.16.162"},
	{"216.32.132.250", "235.192.139.38"}, {"216.35.217.178", "235.195.157.81"},
	{"24.0.250.221", "100.15.198.226"}, {"24.13.62.231", "100.2.192.247"},
	{"24.14.213.138", "100.1.42.141"}, {"24.5.0.80", "100.9.15.210"},
	{"24.7.198.88", "100.10.6.25"}, {"24.94.26.44", "100.88.228.35"},
	{"38.15.67.68", "64.3.66.187"}, {"4.3.88.225", "124.60.155.63"},
	{"63.14.55.111", "95.9.215.7"}, {"63.195.241.44", "95.179.238.44"},
	{"63.97.7.140", "95.97.9.123"}, {"64.14.118.196", "0.255.183.58"},
	{"64.34.154.117", "0.221.154.117"}, {"64.39.15.238", "0.219.7.41"},
};

static const char *const v6_vectors[][2] = {
	{"::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"},
	{"::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef"},
	{"::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838"},
	{"2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"},
	{"2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"},
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void
random_bytes(uint8_t *p, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t) (rnd() >> 56);
}

/* leading bits a and b share, of nbits */
static int
common_prefix(const uint8_t *a, const uint8_t *b, int nbits)
{
	for (int i = 0; i < nbits; i++)
	{
		int			x = (a[i / 8] >> (7 - i % 8)) & 1;
		int			y = (b[i / 8] >> (7 - i % 8)) & 1;

		if (x != y)
			return i;
	}
	return nbits;
}

static void
test_aes(void)
{
	/* FIPS-197 appendix C.1 */
	static const uint8_t key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	static const uint8_t pt[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	static const uint8_t ct[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
	0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
	/* FIPS-197 appendix B */
	static const uint8_t key_b[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
	static const uint8_t pt_b[16] = {0x32, 0x43, 0xf6, 0xa8, 0x88, 0x5a, 0x30, 0x8d,
	0x31, 0x31, 0x98, 0xa2, 0xe0, 0x37, 0x07, 0x34};
	static const uint8_t ct_b[16] = {0x39, 0x25, 0x84, 0x1d, 0x02, 0xdc, 0x09, 0xfb,
	0xdc, 0x11, 0x85, 0x97, 0x19, 0x6a, 0x0b, 0x32};
	Aes128		aes;
	uint8_t		out[16];

	aes128_init(&aes, key);
	aes128_encrypt(&aes, pt, out);
	CHECK(memcmp(out, ct, 16) == 0);
	aes128_init(&aes, key_b);
	aes128_encrypt(&aes, pt_b, out);
	CHECK(memcmp(out, ct_b, 16) == 0);
}

static void
check_vector(const CryptoPan *cp, int af, const char *in, const char *want)
{
	uint8_t		a[16],
				got[16];
	char		buf[INET6_ADDRSTRLEN];
	int			nbits = af == AF_INET ? 32 : 128;

	CHECK(inet_pton(af, in, a) == 1);
	cryptopan_anonymize(cp, a, nbits, got);
	inet_ntop(af, got, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fprintf(stderr, "%s -> %s, expected %s\n", in, buf, want);
	CHECK_STR(buf, want);
}

static void
test_vectors(void)
{
	CryptoPan	cp;

	cryptopan_init(&cp, ref_key);
	for (size_t i = 0; i < sizeof(v4_vectors) / sizeof(v4_vectors[0]); i++)
		check_vector(&cp, AF_INET, v4_vectors[i][0], v4_vectors[i][1]);
	for (size_t i = 0; i < sizeof(v6_vectors) / sizeof(v6_vectors[0]); i++)
		check_vector(&cp, AF_INET6, v6_vectors[i][0], v6_vectors[i][1]);
	CHECK_INT(sizeof(v4_vectors) / sizeof(v4_vectors[0]), 70);
}

/* An IPv4 address in the top 32 bits of an IPv6 one maps to the same 32 bits. */
static void
test_v4_in_v6(void)
{
	CryptoPan	cp;

	cryptopan_init(&cp, ref_key);
	for (size_t i = 0; i < sizeof(v4_vectors) / sizeof(v4_vectors[0]); i++)
	{
		uint8_t		a6[16],
					out6[16],
					want[4];

		random_bytes(a6, 16);
		CHECK(inet_pton(AF_INET, v4_vectors[i][0], a6) == 1);
		CHECK(inet_pton(AF_INET, v4_vectors[i][1], want) == 1);
		cryptopan_anonymize(&cp, a6, 128, out6);
		CHECK(memcmp(out6, want, 4) == 0);
	}
}

/* Random pairs with a chosen common prefix keep exactly that prefix. */
static void
test_prefix_preserving(void)
{
	CryptoPan	cp;
	uint8_t		key[32];

	for (int k = 0; k < 4; k++)
	{
		random_bytes(key, 32);
		cryptopan_init(&cp, key);
		for (int n = 0; n < 400; n++)
		{
			int			nbits = (n & 1) ? 128 : 32;
			int			shared = (int) (rnd() % (nbits + 1));
			uint8_t		a[16],
						b[16],
						ea[16],
						eb[16];

			random_bytes(a, 16);
			memcpy(b, a, 16);
			if (shared < nbits)
			{
				/* flip bit 'shared', randomise the bits after it */
				random_bytes(b + shared / 8, 16 - shared / 8);
				for (int i = 0; i < shared % 8; i++)
				{
					uint8_t		m = (uint8_t) (0x80 >> i);

					b[shared / 8] = (uint8_t) ((b[shared / 8] & ~m) | (a[shared / 8] & m));
				}
				b[shared / 8] ^= (uint8_t) ((((a[shared / 8] ^ b[shared / 8]) & (0x80 >> (shared % 8))) ^ (0x80 >> (shared % 8))));
			}
			CHECK_INT(common_prefix(a, b, nbits), shared);
			cryptopan_anonymize(&cp, a, nbits, ea);
			cryptopan_anonymize(&cp, b, nbits, eb);
			CHECK_INT(common_prefix(ea, eb, nbits), shared);
			/* deterministic, and in place gives the same */
			cryptopan_anonymize(&cp, a, nbits, a);
			CHECK(memcmp(a, ea, nbits / 8) == 0);
		}
	}
}

/* Another key gives other pseudonyms; every key bit matters. */
static void
test_keyed(void)
{
	CryptoPan	cp,
				cp2;
	uint8_t		key[32];
	uint8_t		a[16] = {10, 1, 2, 3},
				e1[16],
				e2[16];
	int			same = 0;

	cryptopan_init(&cp, ref_key);
	cryptopan_anonymize(&cp, a, 32, e1);
	for (int bit = 0; bit < 256; bit++)
	{
		memcpy(key, ref_key, 32);
		key[bit / 8] ^= (uint8_t) (1 << (bit % 8));
		cryptopan_init(&cp2, key);
		/* 128 bits of a v6 address: equal by chance with probability 2^-128 */
		cryptopan_anonymize(&cp2, a, 128, e2);
		cryptopan_anonymize(&cp, a, 128, e1);
		same += memcmp(e1, e2, 16) == 0;
	}
	CHECK_INT(same, 0);
}

/* A partial last byte: the bits beyond nbits are copied as they are. */
static void
test_partial(void)
{
	CryptoPan	cp;
	uint8_t		a[16] = {0xab, 0xcd},
				out[16],
				full[16];

	cryptopan_init(&cp, ref_key);
	cryptopan_anonymize(&cp, a, 12, out);
	cryptopan_anonymize(&cp, a, 16, full);
	CHECK(out[0] == full[0]);
	CHECK((out[1] & 0x0f) == 0x0d);
	CHECK((out[1] & 0xf0) == (full[1] & 0xf0));
	cryptopan_anonymize(&cp, a, 0, out);	/* nothing to do, nothing written */
}

/* The AES-NI and the portable paths agree (where the CPU has AES-NI). */
static void
test_paths_agree(void)
{
	CryptoPan	cp;
	uint8_t		key[32],
				a[16],
				x[16],
				y[16];

	if (!cryptopan_aesni_available())
	{
		fprintf(stderr, "no AES-NI here: only the portable path was tested\n");
		return;
	}
	for (int n = 0; n < 300; n++)
	{
		int			nbits = (int) (rnd() % 129);

		random_bytes(key, 32);
		random_bytes(a, 16);
		cryptopan_init(&cp, key);
		cryptopan_use_aesni(1);
		cryptopan_anonymize(&cp, a, nbits, x);
		cryptopan_use_aesni(0);
		cryptopan_anonymize(&cp, a, nbits, y);
		CHECK(memcmp(x, y, (nbits + 7) / 8) == 0);
	}
}

int
main(void)
{
	/* everything once per path: AES-NI (if the CPU has it), then portable */
	for (int aesni = 1; aesni >= 0; aesni--)
	{
		cryptopan_use_aesni(aesni);
		test_aes();
		test_vectors();
		test_v4_in_v6();
		test_prefix_preserving();
		test_keyed();
		test_partial();
	}
	test_paths_agree();
	UNIT_DONE();
}
