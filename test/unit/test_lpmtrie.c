/*
 * test_lpmtrie.c
 *		Unit tests of the prefix functions and the LPM table (src/lpmtrie.c):
 *		parsing and printing, ordering, the stable hash, and lookups against
 *		a brute-force reference on random sets (v4 and v6, nested prefixes,
 *		/0, /32, /128, overlapping validity windows).
 *
 * unit.sh sources: src/lpmtrie.c
 */
#include <stdint.h>

#include "lpmtrie.h"
#include "unit.h"

static IpPrefix
P(const char *s)
{
	IpPrefix	p;
	IpPrefixParseResult r = ipprefix_parse(s, strlen(s), &p);

	if (r != IPP_OK)
	{
		fprintf(stderr, "cannot parse %s: %s\n", s, ipprefix_parse_error(r));
		abort();
	}
	return p;
}

static void
check_round_trip(const char *in, const char *want)
{
	IpPrefix	p;
	char		buf[IPPREFIX_MAXSTR];
	char	   *copy = unit_exact_copy(in, strlen(in));

	CHECK_INT(ipprefix_parse(copy, strlen(in), &p), IPP_OK);
	ipprefix_format(&p, buf);
	CHECK_STR(buf, want);
	free(copy);
}

static void
check_bad(const char *in, IpPrefixParseResult want)
{
	IpPrefix	p;
	char	   *copy = unit_exact_copy(in, strlen(in));

	CHECK_INT(ipprefix_parse(copy, strlen(in), &p), want);
	free(copy);
}

/* xorshift64*: reproducible random numbers */
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* A random address near one of a few bases, so prefixes nest and collide. */
static void
random_addr(int family, uint8_t *addr)
{
	static const uint8_t bases[4][16] = {
		{10, 0, 0, 0},
		{10, 1, 0, 0},
		{0x20, 0x01, 0x0d, 0xb8},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	};
	int			n = family == 4 ? 4 : 16;
	int			b = (int) (rnd() % 4);
	int			fixed = (int) (rnd() % (n + 1));
	int			i;

	memset(addr, 0, 16);
	for (i = 0; i < n; i++)
		addr[i] = i < fixed ? bases[b][i] : (uint8_t) (rnd() % 4 == 0 ? rnd() : (uint64_t) (i % 3));
}

static int
random_bits(int family)
{
	int			maxbits = family == 4 ? 32 : 128;

	switch (rnd() % 6)
	{
		case 0:
			return 0;
		case 1:
			return maxbits;
		case 2:
			return (int) (rnd() % 4) * 8;
		default:
			return (int) (rnd() % (maxbits + 1));
	}
}

static int64_t
random_time(void)
{
	switch (rnd() % 8)
	{
		case 0:
			return INT64_MIN;
		case 1:
			return INT64_MAX;
		default:
			return (int64_t) (rnd() % 20);
	}
}

/*
 * A random set of n entries probed probes times.  all_always: every entry
 * valid forever, so answers come straight from the trie's leaves (no time
 * resolution); otherwise a third of them.
 */
static void
random_case(int n, int probes, bool all_always)
{
	LpmEntry   *e = malloc(sizeof(LpmEntry) * (n > 0 ? n : 1));
	LpmTable   *t;
	int			i;
	int			mismatches = 0;
	uint8_t    *bfam = malloc(probes + 1);
	uint8_t		(*baddr)[16] = malloc(16 * (size_t) (probes + 1));
	const uint8_t **bptr = malloc(sizeof(uint8_t *) * (probes + 1));
	int64_t    *bat = malloc(sizeof(int64_t) * (probes + 1));
	long	   *bwant = malloc(sizeof(long) * (probes + 1));
	long	   *bgot = malloc(sizeof(long) * (probes + 1));

	for (i = 0; i < n; i++)
	{
		int			family = rnd() % 3 == 0 ? 6 : 4;

		memset(&e[i], 0, sizeof(LpmEntry));
		e[i].prefix.family = (uint8_t) family;
		random_addr(family, e[i].prefix.addr);
		e[i].prefix.bits = (uint8_t) random_bits(family);
		ip_clear_host_bits(e[i].prefix.addr, e[i].prefix.bits, 16);
		if (all_always || rnd() % 3 == 0)
		{
			e[i].valid_from = INT64_MIN;
			e[i].valid_to = INT64_MAX;
		}
		else
		{
			e[i].valid_from = random_time();
			e[i].valid_to = random_time();
		}
		e[i].id = (int64_t) (rnd() % 1000);	/* duplicates on purpose */
		/* sometimes repeat an earlier prefix exactly */
		if (i > 0 && rnd() % 4 == 0)
			e[i].prefix = e[rnd() % i].prefix;
	}
	t = lpm_build(e, (size_t) n);
	CHECK(t != NULL);
	for (i = 0; i < probes && t != NULL; i++)
	{
		int			family = rnd() % 3 == 0 ? 6 : 4;
		uint8_t		addr[16];
		int64_t		at = (int64_t) (rnd() % 22) - 1;
		long		got,
					want;

		if (rnd() % 2 == 0 && n > 0)
		{
			/* an address inside a random entry */
			const LpmEntry *x = &e[rnd() % n];
			int			k;

			family = x->prefix.family;
			random_addr(family, addr);
			for (k = 0; k < 16; k++)
			{
				int			bit;

				for (bit = 0; bit < 8; bit++)
					if (k * 8 + bit < x->prefix.bits)
					{
						uint8_t		m = (uint8_t) (0x80 >> bit);

						addr[k] = (uint8_t) ((addr[k] & ~m) | (x->prefix.addr[k] & m));
					}
			}
		}
		else
			random_addr(family, addr);
		if (rnd() % 10 == 0)
			at = rnd() % 2 ? INT64_MIN : INT64_MAX - 1;
		lpm_prefetch(t, family, addr);
		got = lpm_lookup(t, family, addr, at);
		/* the batch form answers the same, probe by probe */
		bfam[i] = (uint8_t) family;
		memcpy(baddr[i], addr, 16);
		bptr[i] = baddr[i];
		bat[i] = at;
		bwant[i] = got;
		want = lpm_lookup_brute(e, (size_t) n, family, addr, at);
		/* equal ids and validity on one prefix are interchangeable */
		if (got != want &&
			!(got >= 0 && want >= 0 &&
			  ipprefix_cmp(&e[got].prefix, &e[want].prefix) == 0 &&
			  e[got].valid_from == e[want].valid_from && e[got].id == e[want].id))
		{
			if (mismatches++ < 5)
				fprintf(stderr, "lookup mismatch: n=%d family=%d at=%lld got %ld want %ld\n",
						n, family, (long long) at, got, want);
		}
	}
	unit_checks++;
	if (mismatches > 0)
		unit_failures++;
	if (t != NULL)
	{
		int			bad = 0;

		lpm_lookup_batch(t, (size_t) probes, bfam, bptr, bat, bgot);
		for (i = 0; i < probes; i++)
			if (bgot[i] != bwant[i] && bad++ < 5)
				fprintf(stderr, "batch mismatch: n=%d probe %d got %ld want %ld\n",
						n, i, bgot[i], bwant[i]);
		unit_checks++;
		if (bad > 0)
			unit_failures++;
	}
	lpm_free(t);
	free(e);
	free(bfam);
	free(baddr);
	free(bptr);
	free(bat);
	free(bwant);
	free(bgot);
}

int
main(void)
{
	IpPrefix	a,
				b;
	int			i;

	/* parsing and printing */
	check_round_trip("10.0.0.0/8", "10.0.0.0/8");
	check_round_trip("  10.1.2.3 ", "10.1.2.3/32");
	check_round_trip("0.0.0.0/0", "0.0.0.0/0");
	check_round_trip("2001:DB8::/32", "2001:db8::/32");
	check_round_trip("::/0", "::/0");
	check_round_trip("::1", "::1/128");
	check_round_trip("::ffff:10.0.0.1", "::ffff:10.0.0.1/128");
	check_round_trip("255.255.255.255/32", "255.255.255.255/32");
	check_bad("10.0.0.1/8", IPP_ERR_HOSTBITS);
	check_bad("2001:db8::1/32", IPP_ERR_HOSTBITS);
	check_bad("10.0.0.0/33", IPP_ERR_MASKLEN);
	check_bad("::/129", IPP_ERR_MASKLEN);
	check_bad("10.0.0.0/", IPP_ERR_MASKLEN);
	check_bad("10.0.0.0/-1", IPP_ERR_MASKLEN);
	check_bad("10.0.0.0/8x", IPP_ERR_MASKLEN);
	check_bad("10.0.0.0/0008", IPP_ERR_MASKLEN);
	check_bad("10.0.0/24", IPP_ERR_SYNTAX);
	check_bad("256.0.0.0", IPP_ERR_SYNTAX);
	check_bad("hello", IPP_ERR_SYNTAX);
	check_bad("", IPP_ERR_SYNTAX);
	check_bad("/8", IPP_ERR_SYNTAX);
	check_bad("fe80::1%eth0", IPP_ERR_SYNTAX);
	check_bad("1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28", IPP_ERR_SYNTAX);

	/* order and containment */
	CHECK(ipprefix_cmp(&(IpPrefix) {0}, &(IpPrefix) {0}) == 0);
	a = P("10.0.0.0/8");
	b = P("10.0.0.0/16");
	CHECK(ipprefix_cmp(&a, &b) < 0);
	CHECK(ipprefix_contains(&a, &b));
	CHECK(!ipprefix_contains(&b, &a));
	CHECK(ipprefix_overlaps(&b, &a));
	b = P("11.0.0.0/8");
	CHECK(!ipprefix_overlaps(&a, &b));
	CHECK(ipprefix_cmp(&a, &b) < 0);
	b = P("::/0");
	CHECK(ipprefix_cmp(&a, &b) < 0);	/* v4 before v6 */
	CHECK(!ipprefix_contains(&b, &a));	/* families never contain each other */
	a = P("0.0.0.0/0");
	b = P("255.255.255.255");
	CHECK(ipprefix_contains(&a, &b));
	CHECK_INT(ip_bits_common(P("10.0.0.0/8").addr, P("10.128.0.0/9").addr, 32), 8);
	CHECK_INT(ip_bits_common(P("10.0.0.0/8").addr, P("10.0.0.0/8").addr, 20), 20);

	/* the hash is fixed: these values are part of the on-disk contract */
	a = P("10.0.0.0/8");
	b = P("10.0.0.0/8");
	CHECK(ipprefix_hash64(&a, 0) == ipprefix_hash64(&b, 0));
	CHECK(ipprefix_hash64(&a, 0) != ipprefix_hash64(&a, 1));
	b = P("10.0.0.0/9");
	CHECK(ipprefix_hash64(&a, 0) != ipprefix_hash64(&b, 0));
	CHECK(ipprefix_hash64(&a, 0) == UINT64_C(0xa99c1da32393fdf1) || (fprintf(stderr, "hash 10/8 = 0x%016llx\n", (unsigned long long) ipprefix_hash64(&a, 0)), 0));

	/* a hand-made case: nesting, /0 and time */
	{
		LpmEntry	e[6];
		LpmTable   *t;
		uint8_t		addr[16];

		memset(e, 0, sizeof(e));
		e[0].prefix = P("0.0.0.0/0");
		e[0].valid_from = INT64_MIN;
		e[0].valid_to = INT64_MAX;
		e[0].id = 1;
		e[1].prefix = P("10.0.0.0/8");
		e[1].valid_from = 0;
		e[1].valid_to = 10;
		e[1].id = 2;
		e[2].prefix = P("10.0.0.0/8");
		e[2].valid_from = 10;
		e[2].valid_to = 20;
		e[2].id = 3;
		e[3].prefix = P("10.1.0.0/16");
		e[3].valid_from = 5;
		e[3].valid_to = 15;
		e[3].id = 4;
		e[4].prefix = P("10.1.2.3/32");
		e[4].valid_from = INT64_MIN;
		e[4].valid_to = INT64_MAX;
		e[4].id = 5;
		e[5].prefix = P("2001:db8::/32");
		e[5].valid_from = INT64_MIN;
		e[5].valid_to = INT64_MAX;
		e[5].id = 6;
		t = lpm_build(e, 6);
		CHECK(t != NULL);
		memcpy(addr, P("10.1.9.9").addr, 16);
		CHECK_INT(lpm_lookup(t, 4, addr, -5), 0);
		CHECK_INT(lpm_lookup(t, 4, addr, 3), 1);
		CHECK_INT(lpm_lookup(t, 4, addr, 7), 3);
		CHECK_INT(lpm_lookup(t, 4, addr, 17), 2);
		CHECK_INT(lpm_lookup(t, 4, addr, 25), 0);
		memcpy(addr, P("10.1.2.3").addr, 16);
		CHECK_INT(lpm_lookup(t, 4, addr, 7), 4);
		memcpy(addr, P("11.0.0.0").addr, 16);
		CHECK_INT(lpm_lookup(t, 4, addr, 7), 0);
		memcpy(addr, P("2001:db8:ffff::1").addr, 16);
		CHECK_INT(lpm_lookup(t, 6, addr, 7), 5);
		memcpy(addr, P("2001:db9::").addr, 16);
		CHECK_INT(lpm_lookup(t, 6, addr, 7), -1);
		lpm_free(t);

		/* empty table */
		t = lpm_build(e, 0);
		CHECK(t != NULL);
		CHECK_INT(lpm_lookup(t, 4, addr, 0), -1);
		CHECK_INT(lpm_lookup(t, 6, addr, 0), -1);
		lpm_free(t);

		/* only a /128 and ::/0 at the very top of the space */
		e[0].prefix = P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
		e[1].prefix = P("::/0");
		e[1].valid_from = INT64_MIN;
		e[1].valid_to = INT64_MAX;
		t = lpm_build(e, 2);
		CHECK_INT(lpm_lookup(t, 6, e[0].prefix.addr, 0), 0);
		memcpy(addr, P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe").addr, 16);
		CHECK_INT(lpm_lookup(t, 6, addr, 0), 1);
		lpm_free(t);
	}

	/* random sets against the brute-force reference */
	for (i = 0; i < 400; i++)
		random_case((int) (rnd() % 60), 300, rnd() % 4 == 0);
	/* large enough for multi-level strides and nodes of every key width */
	for (i = 0; i < 10; i++)
		random_case(2000 + (int) (rnd() % 2000), 3000, false);
	for (i = 0; i < 4; i++)
		random_case(3000 + (int) (rnd() % 3000), 4000, true);

	UNIT_DONE();
}
