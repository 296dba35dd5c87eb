/*
 * lpmtrie.c
 *		IP prefixes and the compiled time-aware longest-prefix-match table
 *		(see lpmtrie.h for the layout).  No PostgreSQL dependency.
 */
#include "lpmtrie.h"

#include <arpa/inet.h>
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

#define DIR_BUCKETS 65536

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
	/* elementary ranges: start and most specific group (-1: none) */
	uint32_t   *v4_start;
	int32_t    *v4_group;
	size_t		v4_n;
	u128	   *v6_start;
	int32_t    *v6_group;
	size_t		v6_n;
	/* first range whose start has top-16 bits >= b, b in 0..65536 */
	uint32_t	v4_dir[DIR_BUCKETS + 1];
	uint32_t	v6_dir[DIR_BUCKETS + 1];
	/*
	 * A second stride of 12 bits for crowded first-stride buckets (more
	 * than SUB_MIN ranges): sub[f][b] is -1 or the number of a block of
	 * SUB_BUCKETS + 1 entries in subdir[f], laid out like the dir.
	 */
	int32_t    *sub[2];
	uint32_t   *subdir[2];
	size_t		nsub[2];
};

#define SUB_BITS 12
#define SUB_BUCKETS (1 << SUB_BITS)
#define SUB_MIN 64

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

static void
build_dir(uint32_t *dir, size_t n, const u128 *start, int maxbits)
{
	size_t		j = 0;
	uint32_t	b;

	for (b = 0; b <= DIR_BUCKETS; b++)
	{
		while (j < n && (uint32_t) (start[j] >> (maxbits - 16)) < b)
			j++;
		dir[b] = (uint32_t) j;
	}
}

/* Second strides for the crowded buckets of one family (f: 0 v4, 1 v6). */
static bool
build_subdirs(LpmTable *t, int f, const uint32_t *dir, const u128 *start, int maxbits)
{
	size_t		nsub = 0;
	uint32_t	b;

	for (b = 0; b < DIR_BUCKETS; b++)
		if (dir[b + 1] - dir[b] > SUB_MIN)
			nsub++;
	t->nsub[f] = nsub;
	if (nsub == 0)
		return true;
	t->sub[f] = malloc(sizeof(int32_t) * DIR_BUCKETS);
	t->subdir[f] = malloc(sizeof(uint32_t) * (SUB_BUCKETS + 1) * nsub);
	if (!t->sub[f] || !t->subdir[f])
		return false;
	nsub = 0;
	for (b = 0; b < DIR_BUCKETS; b++)
	{
		uint32_t   *sd;
		uint32_t	j,
					s;

		t->sub[f][b] = -1;
		if (dir[b + 1] - dir[b] <= SUB_MIN)
			continue;
		t->sub[f][b] = (int32_t) nsub;
		sd = t->subdir[f] + (SUB_BUCKETS + 1) * nsub;
		nsub++;
		j = dir[b];
		for (s = 0; s < SUB_BUCKETS; s++)
		{
			while (j < dir[b + 1] &&
				   (uint32_t) ((start[j] >> (maxbits - 16 - SUB_BITS)) & (SUB_BUCKETS - 1)) < s)
				j++;
			sd[s] = j;
		}
		sd[SUB_BUCKETS] = dir[b + 1];
	}
	return true;
}

void
lpm_free(LpmTable *t)
{
	if (t == NULL)
		return;
	free(t->sub[0]);
	free(t->sub[1]);
	free(t->subdir[0]);
	free(t->subdir[1]);
	free(t->from);
	free(t->to);
	free(t->index);
	free(t->groups);
	free(t->v4_start);
	free(t->v4_group);
	free(t->v6_start);
	free(t->v6_group);
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
		t->v4_n = out.n;
		t->v4_start = malloc(sizeof(uint32_t) * out.n);
		t->v4_group = malloc(sizeof(int32_t) * out.n);
		if (!t->v4_start || !t->v4_group)
			goto fail;
		for (i = 0; i < out.n; i++)
		{
			t->v4_start[i] = (uint32_t) out.start[i];
			t->v4_group[i] = out.group[i];
		}
		build_dir(t->v4_dir, out.n, out.start, 32);
		if (!build_subdirs(t, 0, t->v4_dir, out.start, 32))
			goto fail;
	}
	/* IPv6 */
	out.n = 0;
	if (g4 < (int32_t) ngroups)
	{
		sweep(items, t->groups, g4, (int32_t) ngroups, 128, &out, stack_g, stack_end);
		t->v6_n = out.n;
		t->v6_start = malloc(sizeof(u128) * out.n);
		t->v6_group = malloc(sizeof(int32_t) * out.n);
		if (!t->v6_start || !t->v6_group)
			goto fail;
		memcpy(t->v6_start, out.start, sizeof(u128) * out.n);
		memcpy(t->v6_group, out.group, sizeof(int32_t) * out.n);
		build_dir(t->v6_dir, out.n, out.start, 128);
		if (!build_subdirs(t, 1, t->v6_dir, out.start, 128))
			goto fail;
	}

	t->bytes = sizeof(LpmTable) + m * (8 + 8 + 4) + ngroups * sizeof(LpmGroup) +
		t->v4_n * 8 + t->v6_n * (sizeof(u128) + 4) +
		(t->nsub[0] + t->nsub[1]) * (SUB_BUCKETS + 1) * 4 +
		(t->sub[0] ? DIR_BUCKETS * 4 : 0) + (t->sub[1] ? DIR_BUCKETS * 4 : 0);

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
static inline long
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

long
lpm_lookup(const LpmTable *t, int family, const uint8_t *addr, int64_t at)
{
	if (family == 4)
	{
		uint32_t	key;
		uint32_t	lo,
					hi;

		if (t->v4_n == 0)
			return -1;
		key = ((uint32_t) addr[0] << 24) | ((uint32_t) addr[1] << 16) |
			((uint32_t) addr[2] << 8) | addr[3];
		lo = t->v4_dir[key >> 16];
		hi = t->v4_dir[(key >> 16) + 1];
		if (hi - lo > SUB_MIN)
		{
			const uint32_t *sd = t->subdir[0] +
				(size_t) (SUB_BUCKETS + 1) * t->sub[0][key >> 16];
			uint32_t	s = (key >> (32 - 16 - SUB_BITS)) & (SUB_BUCKETS - 1);

			lo = sd[s];
			hi = sd[s + 1];
		}
		while (lo < hi)
		{
			uint32_t	mid = (lo + hi) / 2;

			if (t->v4_start[mid] <= key)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* lo >= 1: the first range starts at 0 */
		return resolve(t, t->v4_group[lo - 1], at);
	}
	else if (family == 6)
	{
		u128		key;
		uint32_t	lo,
					hi;

		if (t->v6_n == 0)
			return -1;
		key = addr_key(6, addr);
		lo = t->v6_dir[(uint32_t) (key >> 112)];
		hi = t->v6_dir[(uint32_t) (key >> 112) + 1];
		if (hi - lo > SUB_MIN)
		{
			const uint32_t *sd = t->subdir[1] +
				(size_t) (SUB_BUCKETS + 1) * t->sub[1][(uint32_t) (key >> 112)];
			uint32_t	s = (uint32_t) (key >> (128 - 16 - SUB_BITS)) & (SUB_BUCKETS - 1);

			lo = sd[s];
			hi = sd[s + 1];
		}
		while (lo < hi)
		{
			uint32_t	mid = (lo + hi) / 2;

			if (t->v6_start[mid] <= key)
				lo = mid + 1;
			else
				hi = mid;
		}
		return resolve(t, t->v6_group[lo - 1], at);
	}
	return -1;
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
