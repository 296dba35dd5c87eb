/*
 * lpmtrie.c
 *		IP prefixes and the compiled time-aware longest-prefix-match table
 *		(see lpmtrie.h for the layout).  No PostgreSQL dependency.
 */
#include "lpmtrie.h"
#include "fmix64.h"

#include <arpa/inet.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

/* ---------------------------------------------------------------- prefixes */

bool
ip_bits_equal(const uint8_t *a, const uint8_t *b, int nbits)
{
	int			nbytes = nbits / 8;
	int			rest = nbits % 8;

	if (nbytes > 0 && memcmp(a, b, nbytes) != 0)
		return false;
	if (rest > 0)
	{
		uint8_t		mask = (uint8_t) (0xFF << (8 - rest));

		if ((a[nbytes] ^ b[nbytes]) & mask)
			return false;
	}
	return true;
}

int
ip_bits_common(const uint8_t *a, const uint8_t *b, int nbits)
{
	int			i;

	for (i = 0; i * 8 < nbits; i++)
	{
		uint8_t		x = a[i] ^ b[i];

		if (x != 0)
		{
			int			n = i * 8;

			while (!(x & 0x80))
			{
				x <<= 1;
				n++;
			}
			return n < nbits ? n : nbits;
		}
	}
	return nbits;
}

void
ip_clear_host_bits(uint8_t *addr, int bits, int maxbytes)
{
	int			i = bits / 8;

	if (bits % 8 != 0)
	{
		addr[i] &= (uint8_t) (0xFF << (8 - bits % 8));
		i++;
	}
	for (; i < maxbytes; i++)
		addr[i] = 0;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

IpPrefixParseResult
ipprefix_parse(const char *s, size_t len, IpPrefix *out)
{
	char		buf[IPPREFIX_MAXSTR];
	const char *slash;
	size_t		alen;
	int			maxbits;
	int			bits;
	uint8_t		check[16];

	while (len > 0 && is_blank(s[0]))
	{
		s++;
		len--;
	}
	while (len > 0 && is_blank(s[len - 1]))
		len--;

	slash = memchr(s, '/', len);
	alen = slash ? (size_t) (slash - s) : len;
	if (alen == 0 || alen >= sizeof(buf))
		return IPP_ERR_SYNTAX;
	memcpy(buf, s, alen);
	buf[alen] = '\0';

	memset(out, 0, sizeof(*out));
	if (memchr(buf, ':', alen) != NULL)
	{
		if (inet_pton(AF_INET6, buf, out->addr) != 1)
			return IPP_ERR_SYNTAX;
		out->family = 6;
		maxbits = 128;
	}
	else
	{
		if (inet_pton(AF_INET, buf, out->addr) != 1)
			return IPP_ERR_SYNTAX;
		out->family = 4;
		maxbits = 32;
	}

	if (slash == NULL)
		bits = maxbits;
	else
	{
		const char *p = slash + 1;
		const char *end = s + len;

		if (p == end || end - p > 3)
			return IPP_ERR_MASKLEN;
		bits = 0;
		for (; p < end; p++)
		{
			if (*p < '0' || *p > '9')
				return IPP_ERR_MASKLEN;
			bits = bits * 10 + (*p - '0');
		}
		if (bits > maxbits)
			return IPP_ERR_MASKLEN;
	}
	out->bits = (uint8_t) bits;

	memcpy(check, out->addr, 16);
	ip_clear_host_bits(check, bits, 16);
	if (memcmp(check, out->addr, 16) != 0)
		return IPP_ERR_HOSTBITS;
	return IPP_OK;
}

const char *
ipprefix_parse_error(IpPrefixParseResult r)
{
	switch (r)
	{
		case IPP_OK:
			return "ok";
		case IPP_ERR_SYNTAX:
			return "Expected an IPv4 or IPv6 address, optionally followed by /length";
		case IPP_ERR_MASKLEN:
			return "The mask length must be a number from 0 to 32 (IPv4) or 128 (IPv6)";
		case IPP_ERR_HOSTBITS:
			return "The address has bits set to the right of the mask";
	}
	return "invalid prefix";
}

size_t
ipprefix_format(const IpPrefix *p, char *buf)
{
	size_t		n;

	if (inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, buf,
				  IPPREFIX_MAXSTR - 5) == NULL)
	{
		/* cannot happen for a valid value; print something sane */
		strcpy(buf, "?");
	}
	n = strlen(buf);
	n += (size_t) snprintf(buf + n, IPPREFIX_MAXSTR - n, "/%d", p->bits);
	return n;
}

int
ipprefix_cmp(const IpPrefix *a, const IpPrefix *b)
{
	int			c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, 16);
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (a->bits != b->bits)
		return a->bits < b->bits ? -1 : 1;
	return 0;
}

bool
ipprefix_contains(const IpPrefix *a, const IpPrefix *b)
{
	return a->family == b->family && a->bits <= b->bits &&
		ip_bits_equal(a->addr, b->addr, a->bits);
}

bool
ipprefix_overlaps(const IpPrefix *a, const IpPrefix *b)
{
	return a->family == b->family &&
		ip_bits_equal(a->addr, b->addr, a->bits < b->bits ? a->bits : b->bits);
}

static inline uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}


uint64_t
ipprefix_hash64(const IpPrefix *p, uint64_t seed)
{
	uint8_t		bytes[24];
	uint64_t	h = seed ^ (UINT64_C(18) * UINT64_C(0x9E3779B97F4A7C15));
	int			w;

	memset(bytes, 0, sizeof(bytes));
	bytes[0] = p->family;
	bytes[1] = p->bits;
	memcpy(bytes + 2, p->addr, 16);
	for (w = 0; w < 3; w++)
	{
		uint64_t	k = 0;
		int			i;

		for (i = 7; i >= 0; i--)
			k = (k << 8) | bytes[w * 8 + i];
		k *= UINT64_C(0x87c37b91114253d5);
		k = rotl64(k, 31);
		k *= UINT64_C(0x4cf5ad432745937f);
		h ^= k;
		h = rotl64(h, 27) * 5 + UINT64_C(0x52dce729);
	}
	return fmix64(h);
}

/* ---------------------------------------------------------------- LPM table */

/*
 * Lookup structure, per family: a multibit trie over the elementary ranges,
 * leaf-pushed.  The first stride is direct-indexed on the top 16 bits
 * (64K slots); a slot, like every slot below it, is a 32-bit word that is
 * one of
 *   leaf   (bit 31 clear): the answer for the whole block it covers, either
 *          an entry (bit 30 clear: entry index + 1, 0 = no match) or, when
 *          the answer depends on time, a group to resolve (bit 30 set);
 *   node   (bits 31, 30 = 1, 0): offset (in words) into the pool of a
 *          compact range list for the block: word 0 the range count n, then
 *          the n - 1 range starts after the first, relative to the block
 *          and as narrow as the block allows (16, 32, 64 or 128 bits),
 *          then the n leaf words;
 *   stride (bits 31, 30 = 1, 1): offset of a 256-slot table on the next 8
 *          bits of the address.
 * A block of at most NODE_MAX ranges becomes a node, a larger one a stride.
 * An IPv4 lookup with the bench's set is a slot read plus a node read (one
 * or two cache lines).
 */
#define L1_BITS 16
#define L1_SLOTS (1 << L1_BITS)
#define NODE_MAX 24

#define SLOT_INNER		0x80000000u
#define SLOT_STRIDE		0x40000000u		/* with SLOT_INNER */
#define SLOT_GROUP		0x40000000u		/* without SLOT_INNER */
#define SLOT_PAYLOAD	0x3FFFFFFFu

typedef struct LpmGroup
{
	int32_t		first;			/* first entry in the sorted arrays */
	int32_t		count;
	int32_t		parent;			/* longest shorter prefix in the set, or -1 */
	int32_t		always;			/* the only entry, valid forever, or -1 */
} LpmGroup;

struct LpmTable
{
	size_t		bytes;
	/* entries, grouped by prefix; in a group, latest valid_from first */
	int64_t    *from;
	int64_t    *to;
	int32_t    *index;			/* position in the caller's array */
	LpmGroup   *groups;
	bool		has[2];			/* any range of the family (v4, v6) */
	uint32_t   *pool;			/* nodes and stride tables */
	size_t		pool_n;
	size_t		pool_cap;
	size_t		pool_mapped;	/* > 0: pool is an mmap of this many bytes */
	uint32_t	l1[2][L1_SLOTS];
};

typedef struct SortItem
{
	LpmEntry	e;
	int32_t		idx;
} SortItem;

static int
sort_item_cmp(const void *pa, const void *pb)
{
	const SortItem *a = pa;
	const SortItem *b = pb;
	int			c = ipprefix_cmp(&a->e.prefix, &b->e.prefix);

	if (c != 0)
		return c;
	if (a->e.valid_from != b->e.valid_from)
		return a->e.valid_from > b->e.valid_from ? -1 : 1;
	if (a->e.id != b->e.id)
		return a->e.id < b->e.id ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

static inline u128
addr_key(int family, const uint8_t *addr)
{
	u128		k = 0;
	int			n = family == 4 ? 4 : 16;
	int			i;

	for (i = 0; i < n; i++)
		k = (k << 8) | addr[i];
	return k;
}

static inline u128
host_mask(int maxbits, int bits)
{
	int			hb = maxbits - bits;

	if (hb == 0)
		return 0;
	if (hb >= 128)
		return ~(u128) 0;
	return ((u128) 1 << hb) - 1;
}

typedef struct RangeOut
{
	u128	   *start;
	int32_t    *group;
	size_t		n;
} RangeOut;

static void
emit(RangeOut *o, u128 start, int32_t group)
{
	if (o->n > 0 && o->group[o->n - 1] == group)
		return;
	o->start[o->n] = start;
	o->group[o->n] = group;
	o->n++;
}

/*
 * Flatten the groups g0..g1 (one family, sorted by address then length, so
 * a prefix comes before the prefixes inside it) into elementary ranges, and
 * set each group's parent.
 */
static void
sweep(const SortItem *items, LpmGroup *groups, int32_t g0, int32_t g1,
	  int maxbits, RangeOut *o, int32_t *stack_g, u128 *stack_end)
{
	u128		max = maxbits == 128 ? ~(u128) 0 : (((u128) 1 << maxbits) - 1);
	u128		cur = 0;
	bool		have_cur = true;
	int			sp = 0;
	int32_t		g;

	for (g = g0; g < g1; g++)
	{
		const IpPrefix *p = &items[groups[g].first].e.prefix;
		u128		s = addr_key(p->family, p->addr);
		u128		e = s | host_mask(maxbits, p->bits);

		while (sp > 0 && stack_end[sp - 1] < s)
		{
			sp--;
			if (cur <= stack_end[sp])
			{
				emit(o, cur, stack_g[sp]);
				cur = stack_end[sp] + 1;	/* < s <= max: no overflow */
			}
		}
		if (cur < s)
		{
			emit(o, cur, sp > 0 ? stack_g[sp - 1] : -1);
			cur = s;
		}
		groups[g].parent = sp > 0 ? stack_g[sp - 1] : -1;
		stack_g[sp] = g;
		stack_end[sp] = e;
		sp++;
	}
	while (sp > 0)
	{
		sp--;
		if (have_cur && cur <= stack_end[sp])
		{
			emit(o, cur, stack_g[sp]);
			if (stack_end[sp] == max)
				have_cur = false;
			else
				cur = stack_end[sp] + 1;
		}
	}
	if (have_cur)
		emit(o, cur, -1);
}

/* The leaf word of a range labelled with group g. */
static uint32_t
leaf_of(const LpmTable *t, int32_t g)
{
	if (g < 0)
		return 0;
	if (t->groups[g].always >= 0)
		return (uint32_t) t->groups[g].always + 1;
	return SLOT_GROUP | (uint32_t) g;
}

/* Bytes of a relative key in a block of rbits bits. */
static inline int
key_bytes(int rbits)
{
	return rbits <= 16 ? 2 : rbits <= 32 ? 4 : rbits <= 64 ? 8 : 16;
}

/* Reserve words in the pool; returns the offset or -1. */
static long
pool_alloc(LpmTable *t, size_t words)
{
	size_t		off = t->pool_n;

	if (off + words > SLOT_PAYLOAD)
		return -1;
	if (off + words > t->pool_cap)
	{
		size_t		cap = t->pool_cap ? t->pool_cap : 65536;
		uint32_t   *p;

		while (cap < off + words)
			cap *= 2;
		p = realloc(t->pool, cap * sizeof(uint32_t));
		if (p == NULL)
			return -1;
		t->pool = p;
		t->pool_cap = cap;
	}
	memset(t->pool + off, 0, words * sizeof(uint32_t));
	t->pool_n = off + words;
	return (long) off;
}

typedef struct BuildCtx
{
	LpmTable   *t;
	const u128 *start;
	const int32_t *group;
	size_t		n;
} BuildCtx;

/*
 * The slot for the block [base, base + 2^rbits), whose ranges are
 * a..b-1 (range a contains base).  Returns false when out of memory.
 */
static bool
build_slot(BuildCtx *c, u128 base, int rbits, size_t a, size_t b, uint32_t *slot)
{
	LpmTable   *t = c->t;
	size_t		cnt = b - a;

	if (cnt == 1)
	{
		*slot = leaf_of(t, c->group[a]);
		return true;
	}
	if (cnt <= NODE_MAX)
	{
		int			kb = key_bytes(rbits);
		size_t		kwords = ((cnt - 1) * kb + 3) / 4;
		long		off = pool_alloc(t, 1 + kwords + cnt);
		uint8_t    *keys;
		uint32_t   *vals;
		size_t		i;

		if (off < 0)
			return false;
		t->pool[off] = (uint32_t) cnt;
		keys = (uint8_t *) (t->pool + off + 1);
		vals = t->pool + off + 1 + kwords;
		for (i = 1; i < cnt; i++)
		{
			u128		rel = c->start[a + i] - base;

			switch (kb)
			{
				case 2:
					{
						uint16_t	k = (uint16_t) rel;

						memcpy(keys + (i - 1) * 2, &k, 2);
						break;
					}
				case 4:
					{
						uint32_t	k = (uint32_t) rel;

						memcpy(keys + (i - 1) * 4, &k, 4);
						break;
					}
				case 8:
					{
						uint64_t	k = (uint64_t) rel;

						memcpy(keys + (i - 1) * 8, &k, 8);
						break;
					}
				default:
					memcpy(keys + (i - 1) * 16, &rel, 16);
					break;
			}
		}
		for (i = 0; i < cnt; i++)
			vals[i] = leaf_of(t, c->group[a + i]);
		*slot = SLOT_INNER | (uint32_t) off;
		return true;
	}
	else
	{
		/*
		 * A stride on the next 8 bits (rbits >= 1: a block of one address
		 * holds one range).  Block sizes are multiples of 8 bits for both
		 * families, so sb is 8; a narrower stride would repeat its slots.
		 */
		int			sb = rbits >= 8 ? 8 : rbits;
		int			cb = rbits - sb;
		long		off = pool_alloc(t, 256);
		size_t		j = a;
		int			s;

		if (off < 0)
			return false;
		for (s = 0; s < (1 << sb); s++)
		{
			u128		sbase = base + ((u128) s << cb);
			u128		send = sbase + ((u128) 1 << cb);	/* may wrap at the top */
			size_t		sa,
						se;
			uint32_t	v;

			/* sa: last range starting at or before sbase */
			while (j + 1 < b && c->start[j + 1] <= sbase)
				j++;
			sa = j;
			se = sa + 1;
			/* se: first range starting at or after send (send == 0: the
			 * block ends at the top of the address space) */
			while (se < b && (send == 0 || c->start[se] < send))
				se++;
			if (!build_slot(c, sbase, cb, sa, se, &v))
				return false;
			t->pool[off + s] = v;
		}
		/* a smaller stride (rbits < 8) repeats the slots to fill 256 */
		for (; s < 256; s++)
			t->pool[off + s] = t->pool[off + (s & ((1 << sb) - 1))];
		*slot = SLOT_INNER | SLOT_STRIDE | (uint32_t) off;
		return true;
	}
}

/* Fill l1[f] from the ranges of one family. */
static bool
build_family(LpmTable *t, int f, const u128 *start, const int32_t *group,
			 size_t n, int maxbits)
{
	BuildCtx	c = {t, start, group, n};
	int			rb = maxbits - L1_BITS;
	size_t		j = 0;
	uint32_t	s;

	for (s = 0; s < L1_SLOTS; s++)
	{
		u128		base = (u128) s << rb;
		size_t		se;

		while (j + 1 < n && start[j + 1] <= base)
			j++;
		se = j + 1;
		while (se < n && (start[se] >> rb) == s)
			se++;
		if (!build_slot(&c, base, rb, j, se, &t->l1[f][s]))
			return false;
	}
	t->has[f] = true;
	return true;
}

/*
 * Move the finished pool to memory that may use transparent huge pages:
 * lookups touch it at random, and with 4 KB pages most of them would also
 * miss the TLB.  Best effort; the malloc'd pool stays on any failure.
 */
#define HUGE_PAGE ((size_t) 2 * 1024 * 1024)

static void
pool_to_huge_pages(LpmTable *t)
{
#if defined(MADV_HUGEPAGE) && defined(MAP_ANONYMOUS)
	size_t		bytes = t->pool_n * sizeof(uint32_t);
	size_t		len;
	void	   *m;

	if (bytes < HUGE_PAGE)
		return;
	len = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return;
	{
		/* keep the 2 MB-aligned part, unmap the slack around it */
		uintptr_t	a = ((uintptr_t) m + HUGE_PAGE - 1) & ~(uintptr_t) (HUGE_PAGE - 1);
		size_t		head = a - (uintptr_t) m;

		if (head > 0)
			munmap(m, head);
		if (HUGE_PAGE - head > 0)
			munmap((char *) a + len, HUGE_PAGE - head);
		m = (void *) a;
	}
	(void) madvise(m, len, MADV_HUGEPAGE);
	memcpy(m, t->pool, bytes);
	free(t->pool);
	t->pool = m;
	t->pool_cap = t->pool_n;
	t->pool_mapped = len;
#else
	(void) t;
#endif
}

void
lpm_free(LpmTable *t)
{
	if (t == NULL)
		return;
	if (t->pool_mapped > 0)
		munmap(t->pool, t->pool_mapped);
	else
		free(t->pool);
	free(t->from);
	free(t->to);
	free(t->index);
	free(t->groups);
	free(t);
}

size_t
lpm_memory(const LpmTable *t)
{
	return t ? t->bytes : 0;
}

LpmTable *
lpm_build(const LpmEntry *entries, size_t n)
{
	LpmTable   *t = calloc(1, sizeof(LpmTable));
	SortItem   *items = NULL;
	int32_t    *stack_g = NULL;
	u128	   *stack_end = NULL;
	RangeOut	out = {NULL, NULL, 0};
	size_t		m = 0;
	size_t		ngroups = 0;
	size_t		i;
	int32_t		g4;

	if (t == NULL || n > INT32_MAX / 2)
		goto fail;

	items = malloc(sizeof(SortItem) * (n > 0 ? n : 1));
	if (items == NULL)
		goto fail;
	for (i = 0; i < n; i++)
	{
		const LpmEntry *e = &entries[i];

		if (e->valid_from >= e->valid_to ||
			(e->prefix.family != 4 && e->prefix.family != 6) ||
			e->prefix.bits > ipprefix_maxbits(&e->prefix))
			continue;
		items[m].e = *e;
		/* lookups compare network bits only: make sure host bits are zero */
		ip_clear_host_bits(items[m].e.prefix.addr, e->prefix.bits, 16);
		items[m].idx = (int32_t) i;
		m++;
	}
	qsort(items, m, sizeof(SortItem), sort_item_cmp);

	t->from = malloc(sizeof(int64_t) * (m > 0 ? m : 1));
	t->to = malloc(sizeof(int64_t) * (m > 0 ? m : 1));
	t->index = malloc(sizeof(int32_t) * (m > 0 ? m : 1));
	t->groups = malloc(sizeof(LpmGroup) * (m > 0 ? m : 1));
	stack_g = malloc(sizeof(int32_t) * 130);
	stack_end = malloc(sizeof(u128) * 130);
	out.start = malloc(sizeof(u128) * (2 * m + 1));
	out.group = malloc(sizeof(int32_t) * (2 * m + 1));
	if (!t->from || !t->to || !t->index || !t->groups || !stack_g ||
		!stack_end || !out.start || !out.group)
		goto fail;

	for (i = 0; i < m; i++)
	{
		t->from[i] = items[i].e.valid_from;
		t->to[i] = items[i].e.valid_to;
		t->index[i] = items[i].idx;
		if (i == 0 || ipprefix_cmp(&items[i].e.prefix, &items[i - 1].e.prefix) != 0)
		{
			t->groups[ngroups].first = (int32_t) i;
			t->groups[ngroups].count = 0;
			t->groups[ngroups].parent = -1;
			ngroups++;
		}
		t->groups[ngroups - 1].count++;
	}
	for (i = 0; i < ngroups; i++)
	{
		LpmGroup   *gr = &t->groups[i];

		gr->always = (gr->count == 1 && t->from[gr->first] == INT64_MIN &&
					  t->to[gr->first] == INT64_MAX) ? t->index[gr->first] : -1;
	}

	/* v4 groups come first (family 4 < 6) */
	for (g4 = 0; g4 < (int32_t) ngroups &&
		 items[t->groups[g4].first].e.prefix.family == 4; g4++)
		;

	/* IPv4 */
	if (g4 > 0)
	{
		sweep(items, t->groups, 0, g4, 32, &out, stack_g, stack_end);
		if (!build_family(t, 0, out.start, out.group, out.n, 32))
			goto fail;
	}
	/* IPv6 */
	out.n = 0;
	if (g4 < (int32_t) ngroups)
	{
		sweep(items, t->groups, g4, (int32_t) ngroups, 128, &out, stack_g, stack_end);
		if (!build_family(t, 1, out.start, out.group, out.n, 128))
			goto fail;
	}

	t->bytes = sizeof(LpmTable) + m * (8 + 8 + 4) + ngroups * sizeof(LpmGroup) +
		t->pool_n * sizeof(uint32_t);
	pool_to_huge_pages(t);

	free(items);
	free(stack_g);
	free(stack_end);
	free(out.start);
	free(out.group);
	return t;

fail:
	free(items);
	free(stack_g);
	free(stack_end);
	free(out.start);
	free(out.group);
	lpm_free(t);
	return NULL;
}

/* Resolve time: the first entry valid at t up the group's parent chain. */
static long
resolve(const LpmTable *t, int32_t g, int64_t at)
{
	while (g >= 0)
	{
		const LpmGroup *gr = &t->groups[g];
		int32_t		k;

		if (gr->always >= 0)
			return gr->always;
		for (k = gr->first; k < gr->first + gr->count; k++)
		{
			if (t->from[k] <= at && at < t->to[k])
				return t->index[k];
		}
		g = gr->parent;
	}
	return -1;
}

static inline long
leaf_answer(const LpmTable *t, uint32_t v, int64_t at)
{
	if (__builtin_expect((v & SLOT_GROUP) != 0, 0))
		return resolve(t, (int32_t) (v & SLOT_PAYLOAD), at);
	return (long) v - 1;
}

/* Position of rel among a node's n - 1 sorted keys (count of keys <= rel). */
#define NODE_COUNT(T, keys, nk, rel) \
	do { \
		const T *k_ = (const T *) (keys); \
		uint32_t i_; \
		for (i_ = 0; i_ < (nk); i_++) \
			pos += (k_[i_] <= (T) (rel)); \
	} while (0)

static inline long
lookup_v4(const LpmTable *t, uint32_t key, int64_t at)
{
	uint32_t	v = t->l1[0][key >> 16];
	int			rb = 16;

	for (;;)
	{
		const uint32_t *p;

		if (!(v & SLOT_INNER))
			return leaf_answer(t, v, at);
		p = t->pool + (v & SLOT_PAYLOAD);
		if (v & SLOT_STRIDE)
		{
			rb -= 8;
			v = p[(key >> rb) & 0xFF];
		}
		else
		{
			uint32_t	n = p[0];
			uint32_t	rel = key & (uint32_t) ((UINT64_C(1) << rb) - 1);
			uint32_t	pos = 0;

			/* rb <= 16: 16-bit keys */
			NODE_COUNT(uint16_t, p + 1, n - 1, rel);
			return leaf_answer(t, p[1 + ((n - 1) * 2 + 3) / 4 + pos], at);
		}
	}
}

static inline long
lookup_v6(const LpmTable *t, u128 key, int64_t at)
{
	uint32_t	v = t->l1[1][(uint32_t) (key >> 112)];
	int			rb = 112;

	for (;;)
	{
		const uint32_t *p;

		if (!(v & SLOT_INNER))
			return leaf_answer(t, v, at);
		p = t->pool + (v & SLOT_PAYLOAD);
		if (v & SLOT_STRIDE)
		{
			rb -= 8;
			v = p[(uint32_t) (key >> rb) & 0xFF];
		}
		else
		{
			uint32_t	n = p[0];
			u128		rel = rb >= 128 ? key : key & (((u128) 1 << rb) - 1);
			uint32_t	pos = 0;
			int			kb = key_bytes(rb);

			switch (kb)
			{
				case 2:
					NODE_COUNT(uint16_t, p + 1, n - 1, rel);
					break;
				case 4:
					NODE_COUNT(uint32_t, p + 1, n - 1, rel);
					break;
				case 8:
					{
						/* 8-byte keys at a 4-byte alignment: memcpy loads */
						const uint8_t *kp = (const uint8_t *) (p + 1);
						uint64_t	r = (uint64_t) rel;
						uint32_t	i;

						for (i = 0; i < n - 1; i++)
						{
							uint64_t	k;

							memcpy(&k, kp + i * 8, 8);
							pos += (k <= r);
						}
						break;
					}
				default:
					{
						const uint8_t *kp = (const uint8_t *) (p + 1);
						uint32_t	i;

						for (i = 0; i < n - 1; i++)
						{
							u128		k;

							memcpy(&k, kp + i * 16, 16);
							pos += (k <= rel);
						}
						break;
					}
			}
			return leaf_answer(t, p[1 + ((n - 1) * kb + 3) / 4 + pos], at);
		}
	}
}

long
lpm_lookup(const LpmTable *t, int family, const uint8_t *addr, int64_t at)
{
	/*
	 * Validity is [valid_from, valid_to) and valid_to is at most INT64_MAX
	 * (open-ended), so nothing is valid at INT64_MAX ('infinity').  The
	 * table stores forever-valid entries as direct answers, which would
	 * skip that test: decide it here, as lpm_lookup_brute does.
	 */
	if (at == INT64_MAX)
		return -1;
	if (family == 4)
	{
		uint32_t	key;

		if (!t->has[0])
			return -1;
		key = ((uint32_t) addr[0] << 24) | ((uint32_t) addr[1] << 16) |
			((uint32_t) addr[2] << 8) | addr[3];
		return lookup_v4(t, key, at);
	}
	else if (family == 6)
	{
		if (!t->has[1])
			return -1;
		return lookup_v6(t, addr_key(6, addr), at);
	}
	return -1;
}

/*
 * One step down from the inner slot v for a key with rb bits left (both
 * families: an IPv4 key is the 32-bit address, rb starting at 16).  Returns
 * true with *v and *rb updated when the step lands on another inner slot,
 * false with the answer in *out when it ends at a leaf.
 */
static inline bool
step(const LpmTable *t, u128 key, uint32_t *v, int *rb, int64_t at, long *out)
{
	const uint32_t *p = t->pool + (*v & SLOT_PAYLOAD);
	uint32_t	leaf;

	if (*v & SLOT_STRIDE)
	{
		*rb -= 8;
		*v = p[(uint32_t) (key >> *rb) & 0xFF];
		if (*v & SLOT_INNER)
			return true;
		leaf = *v;
	}
	else
	{
		uint32_t	n = p[0];
		u128		rel = key & (((u128) 1 << *rb) - 1);
		uint32_t	pos = 0;
		int			kb = key_bytes(*rb);
		const uint8_t *kp = (const uint8_t *) (p + 1);
		uint32_t	i;

		switch (kb)
		{
			case 2:
				NODE_COUNT(uint16_t, kp, n - 1, rel);
				break;
			case 4:
				NODE_COUNT(uint32_t, kp, n - 1, rel);
				break;
			case 8:
				for (i = 0; i < n - 1; i++)
				{
					uint64_t	k;

					memcpy(&k, kp + i * 8, 8);
					pos += (k <= (uint64_t) rel);
				}
				break;
			default:
				for (i = 0; i < n - 1; i++)
				{
					u128		k;

					memcpy(&k, kp + i * 16, 16);
					pos += (k <= rel);
				}
				break;
		}
		leaf = p[1 + ((n - 1) * kb + 3) / 4 + pos];
	}
	*out = leaf_answer(t, leaf, at);
	return false;
}

/* Prefetch what the inner slot v points to. */
static inline void
prefetch_slot(const LpmTable *t, uint32_t v, u128 key, int rb)
{
	const uint32_t *p = t->pool + (v & SLOT_PAYLOAD);

	if (v & SLOT_STRIDE)
		__builtin_prefetch(p + ((uint32_t) (key >> (rb - 8)) & 0xFF));
	else
	{
		/* a node of up to NODE_MAX ranges spans at most four lines */
		__builtin_prefetch(p);
		__builtin_prefetch(p + 16);
		__builtin_prefetch(p + 32);
	}
}

/* Prefetch hint for a single lookup (see lpmtrie.h). */
void
lpm_prefetch(const LpmTable *t, int family, const uint8_t *addr)
{
	uint32_t	v;

	if (family == 4)
		v = t->l1[0][((uint32_t) addr[0] << 8) | addr[1]];
	else if (family == 6)
		v = t->l1[1][((uint32_t) addr[0] << 8) | addr[1]];
	else
		return;
	if (v & SLOT_INNER)
		prefetch_slot(t, v, (u128) addr[2] << (family == 4 ? 8 : 104),
					  family == 4 ? 16 : 112);
}

#define BATCH_GROUP 64

void
lpm_lookup_batch(const LpmTable *t, size_t n, const uint8_t *family,
				 const uint8_t *const *addr, const int64_t *at, long *out)
{
	size_t		g0;

	for (g0 = 0; g0 < n; g0 += BATCH_GROUP)
	{
		size_t		gn = n - g0 < BATCH_GROUP ? n - g0 : BATCH_GROUP;
		u128		key[BATCH_GROUP];
		uint32_t	v[BATCH_GROUP];
		int			rb[BATCH_GROUP];
		uint8_t		active[BATCH_GROUP];
		size_t		nactive = 0;
		size_t		i;

		/* first stride; prefetch the next level of every probe */
		for (i = 0; i < gn; i++)
		{
			const uint8_t *a = addr[g0 + i];
			int			f = family[g0 + i];

			if (at[g0 + i] == INT64_MAX)
			{
				out[g0 + i] = -1;	/* nothing is valid then: see lpm_lookup */
				continue;
			}
			if (f == 4 && t->has[0])
			{
				key[i] = ((uint32_t) a[0] << 24) | ((uint32_t) a[1] << 16) |
					((uint32_t) a[2] << 8) | a[3];
				v[i] = t->l1[0][(uint32_t) key[i] >> 16];
				rb[i] = 16;
			}
			else if (f == 6 && t->has[1])
			{
				key[i] = addr_key(6, a);
				v[i] = t->l1[1][(uint32_t) (key[i] >> 112)];
				rb[i] = 112;
			}
			else
			{
				out[g0 + i] = -1;
				continue;
			}
			if (v[i] & SLOT_INNER)
			{
				prefetch_slot(t, v[i], key[i], rb[i]);
				active[nactive++] = (uint8_t) i;
			}
			else
				out[g0 + i] = leaf_answer(t, v[i], at[g0 + i]);
		}
		/* then one level per round for all probes still inside the trie */
		while (nactive > 0)
		{
			size_t		still = 0;
			size_t		j;

			for (j = 0; j < nactive; j++)
			{
				size_t		k = active[j];

				if (step(t, key[k], &v[k], &rb[k], at[g0 + k], &out[g0 + k]))
				{
					prefetch_slot(t, v[k], key[k], rb[k]);
					active[still++] = (uint8_t) k;
				}
			}
			nactive = still;
		}
	}
}

long
lpm_lookup_brute(const LpmEntry *entries, size_t n, int family,
				 const uint8_t *addr, int64_t at)
{
	long		best = -1;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		const LpmEntry *e = &entries[i];
		const LpmEntry *b;

		if (e->prefix.family != family || e->prefix.bits > ipprefix_maxbits(&e->prefix) ||
			!(e->valid_from <= at && at < e->valid_to) ||
			!ip_bits_equal(e->prefix.addr, addr, e->prefix.bits))
			continue;
		if (best < 0)
		{
			best = (long) i;
			continue;
		}
		b = &entries[best];
		if (e->prefix.bits != b->prefix.bits)
		{
			if (e->prefix.bits > b->prefix.bits)
				best = (long) i;
		}
		else if (e->valid_from != b->valid_from)
		{
			if (e->valid_from > b->valid_from)
				best = (long) i;
		}
		else if (e->id < b->id)
			best = (long) i;
	}
	return best;
}
