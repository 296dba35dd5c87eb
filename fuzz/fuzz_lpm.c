/*
 * fuzz_lpm.c
 *		libFuzzer harness for the time-aware longest-prefix-match table.
 *
 * Input layout (short inputs are padded with zeros):
 *
 *	byte 0		number of entries (mod MAX_ENTRIES + 1; fewer if the input runs out)
 *	bytes 1-16	a base address; entry and query addresses are the base with
 *				a few bytes changed, so prefixes nest and crowd one /16
 *				(which makes lpm_build use its deeper strides and nodes)
 *	9 bytes per entry:
 *		flags	bit 0: IPv6; bit 1: mask length taken raw (may be out of
 *				range); bits 2-3: 3 = an invalid family (0, 5 or 255);
 *				bits 4-7: where the changed bytes go
 *		bits	mask length (mod maxbits + 1 unless raw)
 *		x0, x1	XORed into the base at that place
 *		from	valid_from: 0x80 = INT64_MIN, else a signed small number
 *		to		valid_to:	0x7f = INT64_MAX, else a signed small number
 *		id		the id (small, so that ties happen)
 *		extra	low 4 bits XORed into the address, high 4 bits say where
 *		junk	which invalid family, when bits 2-3 of flags ask for one
 *	then 4 bytes per query: selector, entry number, time, perturbation.
 *
 * The table is built with lpm_build and every lookup is compared with a
 * brute-force longest match written here from the header's words (and with
 * lpm_lookup_brute, every 16th lookup), with lpm_prefetch called before
 * each lookup.  Besides the queries from the input, the first and
 * last address of each of the first EDGE_ENTRIES entries and the addresses
 * just outside it are looked up at the times where the entry starts and
 * stops being valid.
 *
 * Validity is taken literally, valid_from <= at < valid_to, as
 * lpm_lookup_brute does, also for valid_to = INT64_MAX and at = INT64_MAX
 * (timestamptz 'infinity').  -DFUZZ_LPM_SKIP_AT_MAX skips lookups at
 * INT64_MAX, to fuzz past a known disagreement there.
 *
 * fuzz sources: src/lpmtrie.c
 */
#include "fuzz_common.h"
#include "lpmtrie.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENTRY_BYTES 9
#define QUERY_BYTES 4
#define MAX_ENTRIES 96			/* enough to crowd a /16 past SUB_MIN ranges */
#define EDGE_ENTRIES 24			/* entries whose edges are all looked up */

typedef struct Reader
{
	const uint8_t *p;
	size_t		n;
} Reader;

static uint8_t
next(Reader *r)
{
	uint8_t		c = 0;

	if (r->n > 0)
	{
		c = *r->p++;
		r->n--;
	}
	return c;
}

static int64_t
time_from(uint8_t c)
{
	return c == 0x80 ? INT64_MIN : (int64_t) (int8_t) c;
}

static int64_t
time_to(uint8_t c)
{
	return c == 0x7f ? INT64_MAX : (int64_t) (int8_t) c;
}

/* the harness's own loops need no coverage feedback: keeps execs/s up */
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))

NO_COVERAGE static bool
addr_in(const IpPrefix *p, int family, const uint8_t *addr)
{
	int			nbits = p->bits;
	int			i;

	if (p->family != family || p->bits > (family == 4 ? 32 : 128))
		return false;
	for (i = 0; i < nbits / 8; i++)
		if (p->addr[i] != addr[i])
			return false;
	if (nbits % 8)
	{
		uint8_t		mask = (uint8_t) (0xff << (8 - nbits % 8));

		if ((p->addr[i] ^ addr[i]) & mask)
			return false;
	}
	return true;
}

/*
 * The header's rule: among the entries valid at `at` whose prefix holds
 * addr, the longest prefix, then the latest valid_from, then the smallest
 * id.  Entries tied on all three are all acceptable: *nties says how many,
 * ties[] which (the smallest index is returned).
 */
NO_COVERAGE static long
reference(const LpmEntry *e, size_t n, int family, const uint8_t *addr,
		  int64_t at, long *ties, int *nties)
{
	long		best = -1;

	*nties = 0;
	for (size_t i = 0; i < n; i++)
	{
		int			better;

		if (!(e[i].valid_from <= at && at < e[i].valid_to) ||
			!addr_in(&e[i].prefix, family, addr))
			continue;
		if (best < 0)
			better = 1;
		else if (e[i].prefix.bits != e[best].prefix.bits)
			better = e[i].prefix.bits > e[best].prefix.bits ? 1 : -1;
		else if (e[i].valid_from != e[best].valid_from)
			better = e[i].valid_from > e[best].valid_from ? 1 : -1;
		else if (e[i].id != e[best].id)
			better = e[i].id < e[best].id ? 1 : -1;
		else
			better = 0;
		if (better > 0)
		{
			best = (long) i;
			ties[0] = best;
			*nties = 1;
		}
		else if (better == 0)
			ties[(*nties)++] = (long) i;
	}
	return best;
}

static void
check_lookup(const LpmTable *t, const LpmEntry *e, size_t n, int family,
			 const uint8_t *addr, int64_t at)
{
	long		ties[MAX_ENTRIES];
	int			nties;
	long		want,
				got,
				brute;
	bool		ok = false;

#ifdef FUZZ_LPM_SKIP_AT_MAX
	if (at == INT64_MAX)
		return;
#endif
	want = reference(e, n, family, addr, at, ties, &nties);
	lpm_prefetch(t, family, addr);
	got = lpm_lookup(t, family, addr, at);

	if (want < 0)
		ok = got == -1;
	else
		for (int i = 0; i < nties; i++)
			ok |= got == ties[i];
	if (!ok)
	{
		brute = lpm_lookup_brute(e, n, family, addr, at);
		char		text[IPPREFIX_MAXSTR];
		IpPrefix	a;

		memset(&a, 0, sizeof(a));
		a.family = (uint8_t) family;
		a.bits = family == 4 ? 32 : 128;
		memcpy(a.addr, addr, family == 4 ? 4 : 16);
		ipprefix_format(&a, text);
		fprintf(stderr, "lookup %s at %lld: table %ld, reference %ld, lpm_lookup_brute %ld\n",
				text, (long long) at, got, want, brute);
		for (size_t i = 0; i < n; i++)
		{
			ipprefix_format(&e[i].prefix, text);
			fprintf(stderr, "  [%zu] %s (family %d bits %d) [%lld, %lld) id %lld\n", i, text,
					e[i].prefix.family, e[i].prefix.bits, (long long) e[i].valid_from,
					(long long) e[i].valid_to, (long long) e[i].id);
		}
	}
	FUZZ_CHECK(ok);
	/* the test helper agrees (up to ties); it is slow, so only now and then */
	if ((fuzz_sink++ & 15) == 0)
	{
		bool		bok = false;

		brute = lpm_lookup_brute(e, n, family, addr, at);
		if (want < 0)
			bok = brute == -1;
		for (int i = 0; i < nties; i++)
			bok |= brute == ties[i];
		FUZZ_CHECK(bok);
	}
	/* read-only and deterministic */
	FUZZ_CHECK(lpm_lookup(t, family, addr, at) == got);
}

/* addr + delta (delta -1 or +1), wrapping, over nbytes */
static void
addr_step(uint8_t *addr, int nbytes, int delta)
{
	for (int i = nbytes - 1; i >= 0; i--)
	{
		if (delta > 0)
		{
			if (++addr[i] != 0)
				return;
		}
		else
		{
			if (addr[i]-- != 0)
				return;
		}
	}
}

/* 0: first address, 1: last, 2: last + 1, 3: first - 1 */
static void
boundary(const IpPrefix *p, int which, uint8_t *addr)
{
	int			nbytes = p->family == 4 ? 4 : 16;
	int			bits = p->bits;

	memcpy(addr, p->addr, 16);
	ip_clear_host_bits(addr, bits, nbytes);
	if (which == 1 || which == 2)
	{
		for (int b = bits; b < nbytes * 8; b++)
			addr[b / 8] |= (uint8_t) (0x80 >> (b % 8));
	}
	if (which == 2)
		addr_step(addr, nbytes, 1);
	else if (which == 3)
		addr_step(addr, nbytes, -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Reader		r = {data, size};
	uint8_t		base[16];
	size_t		want_n = next(&r) % (MAX_ENTRIES + 1);
	size_t		n;
	LpmEntry   *e;
	LpmTable   *t;

	for (int i = 0; i < 16; i++)
		base[i] = next(&r);
	n = r.n / ENTRY_BYTES < want_n ? r.n / ENTRY_BYTES : want_n;
	/* exactly n, so ASan sees a read past the caller's array */
	e = malloc(sizeof(LpmEntry) * (n > 0 ? n : 1));
	FUZZ_CHECK(e != NULL);
	for (size_t i = 0; i < n; i++)
	{
		uint8_t		flags = next(&r);
		uint8_t		bits = next(&r);
		uint8_t		x0 = next(&r);
		uint8_t		x1 = next(&r);
		uint8_t		from = next(&r);
		uint8_t		to = next(&r);
		uint8_t		id = next(&r);
		uint8_t		extra = next(&r);
		uint8_t		junk = next(&r);
		int			family = (flags & 1) ? 6 : 4;
		int			nbytes = family == 4 ? 4 : 16;
		int			pos = (flags >> 4) % nbytes;

		memset(&e[i], 0, sizeof(e[i]));
		e[i].prefix.family = (uint8_t) family;
		memcpy(e[i].prefix.addr, base, (size_t) nbytes);
		e[i].prefix.addr[pos] ^= x0;
		e[i].prefix.addr[(pos + 1) % nbytes] ^= x1;
		e[i].prefix.addr[(pos + 1 + (extra >> 4)) % nbytes] ^= (uint8_t) (extra & 0x0f);
		e[i].prefix.bits = (flags & 2) ? bits : (uint8_t) (bits % (family == 4 ? 33 : 129));
		if ((flags & 0x0c) == 0x0c)
			e[i].prefix.family = (uint8_t) (junk % 3 == 0 ? 0 : junk % 3 == 1 ? 5 : 255);
		else if (!(flags & 2))
			ip_clear_host_bits(e[i].prefix.addr, e[i].prefix.bits, 16);
		/* else: host bits left set, as a careless caller might */
		e[i].valid_from = time_from(from);
		e[i].valid_to = time_to(to);
		e[i].id = (int64_t) (id % 8) - 2;
	}

	t = lpm_build(e, n);
	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(lpm_memory(t) > 0);

	/* queries from the input */
	while (r.n > 0)
	{
		uint8_t		sel = next(&r);
		uint8_t		which = next(&r);
		uint8_t		tm = next(&r);
		uint8_t		pert = next(&r);
		uint8_t		addr[16];
		int			family = (sel & 1) ? 6 : 4;
		int64_t		at = (sel & 2) ? ((sel & 4) ? INT64_MAX : INT64_MIN) : (int64_t) (int8_t) tm;

		if (n > 0 && (sel & 8))
		{
			const LpmEntry *x = &e[which % n];

			if (x->prefix.family == 4 || x->prefix.family == 6)
			{
				IpPrefix	p = x->prefix;

				if (p.bits > ipprefix_maxbits(&p))
					p.bits = (uint8_t) ipprefix_maxbits(&p);
				family = p.family;
				boundary(&p, (sel >> 4) & 3, addr);
			}
			else
				memcpy(addr, base, 16);
		}
		else
		{
			memcpy(addr, base, 16);
			addr[(sel >> 4) % (family == 4 ? 4 : 16)] ^= which;
		}
		if (sel & 0x40)
			addr[(pert >> 4) % (family == 4 ? 4 : 16)] ^= (uint8_t) (pert & 0x0f);
		if (sel & 0x80)
			family = 5;			/* no such family: never a match */
		if (family == 4 || family == 6)
			check_lookup(t, e, n, family, addr, at);
		else
			FUZZ_CHECK(lpm_lookup(t, family, addr, at) == -1);
	}

	/* the first entries' edges, where and when they start and stop matching */
	for (size_t i = 0; i < n && i < EDGE_ENTRIES; i++)
	{
		IpPrefix	p = e[i].prefix;
		int64_t		times[4];

		if ((p.family != 4 && p.family != 6) || p.bits > ipprefix_maxbits(&p))
			continue;
		times[0] = e[i].valid_from;
		times[1] = e[i].valid_from == INT64_MIN ? INT64_MAX : e[i].valid_from - 1;
		times[2] = e[i].valid_to == INT64_MIN ? INT64_MIN : e[i].valid_to - 1;
		times[3] = e[i].valid_to;
		for (int w = 0; w < 4; w++)
		{
			uint8_t		addr[16];

			boundary(&p, w, addr);
			for (int k = 0; k < 4; k++)
				check_lookup(t, e, n, p.family, addr, times[k]);
		}
	}
	lpm_free(t);

	/* an empty table matches nothing */
	if (n == 0)
	{
		uint8_t		zero[16] = {0};

		t = lpm_build(e, 0);
		FUZZ_CHECK(t != NULL);
		FUZZ_CHECK(lpm_lookup(t, 4, base, 0) == -1 && lpm_lookup(t, 6, zero, 0) == -1);
		lpm_free(t);
	}
	free(e);
	return 0;
}
