/*
 * topk.c
 *		Heavy hitters: vpcflow.topk(key, weight, k) builds a weighted
 *		space-saving sketch (Metwally et al. 2005) stored as the type
 *		vpcflow.topk_state; vpcflow.topk_merge merges stored states and
 *		vpcflow.topk_entries unnests one into (key, weight, error) rows.
 *
 * A sketch holds at most `capacity` counters (default max(20 k, 200)).  A
 * new key, when all counters are taken, replaces the key with the smallest
 * counter c and starts at c + weight with error c.  Guarantees, for a
 * sketch of total weight N, after any merges:
 *	 - every reported weight w overestimates: true weight in [w - error, w];
 *	 - error <= N / capacity;
 *	 - a key whose true weight exceeds N / capacity is in the sketch.
 * Merging (Cafaro et al. 2016) adds the counters of keys in both sketches
 * and, for a key in one only, the other's smallest counter (0 when it is
 * not full) to weight and error, then keeps the `capacity` largest.
 *
 * In memory (batched space-saving): an entry array and an open-addressing
 * hash table (linear probing) of entry indexes.  A row of a held key adds
 * to its counter; a new key is appended with count floor + weight and
 * error floor.  When `limit` (2 capacity + 512) entries are held, a
 * compaction keeps the `capacity` largest counters and raises the floor to
 * the largest dropped one, so a row costs a hash probe and no heap work.
 * Merging compacts first; serializing writes the `capacity` largest entries
 * without changing the state.  The stored form keeps the guarantees above
 * (docs/aggregates.md has the argument).
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"
#include <sys/socket.h>

#include "utils/inet.h"
#include "utils/memutils.h"

#include "aggregates.h"

#define TOPK_INLINE_KEY 24

typedef struct TopkEntry
{
	int64		count;
	int64		error;
	uint64		hash;
	uint32		keylen;
	uint8	   *ext;			/* the key when longer than TOPK_INLINE_KEY */
	uint8		inl[TOPK_INLINE_KEY];
} TopkEntry;

#define ENTRY_KEY(e) ((e)->ext != NULL ? (e)->ext : (e)->inl)

typedef struct Topk
{
	MemoryContext cxt;
	int			kind;
	uint32		k;
	uint32		capacity;
	uint32		limit;			/* entries held before a compaction */
	uint32		n;
	uint32		allocated;		/* entries */
	int64		total;
	int64		floor;			/* no key outside the sketch weighs more */
	TopkEntry  *entries;
	uint64	   *table;			/* 0 empty, else SLOT(hash, entry index) */
	uint32		mask;			/* table size - 1 */
	int64	   *scratch;		/* compaction: counts (limit of them) */
	int64	   *direct;			/* exact counters of integer keys 0..65535, or NULL */
	bool		direct_ok;		/* may move to direct counters */
} Topk;

/*
 * Integer keys of a plain (ungrouped) aggregate, the one state of its
 * process, move to exact counters indexed by the key (512 kB; a row is an
 * array add) when the table first fills up, if every key so far (the table
 * is still exact then) lies in 0..65535: ports and protocols.  A small
 * input never pays for the array.  The first key outside the range (or
 * merging) turns the counters back into entries.
 */
#define TOPK_DIRECT_KEYS 65536

static uint32
topk_default_capacity(int32 k)
{
	int64		c = Max((int64) k * 20, 200);

	return (uint32) Min(c, TOPK_MAX_CAPACITY);
}

/*
 * Entries a sketch of this capacity may hold between compactions: more
 * keeps heavy keys longer (the bound does not depend on it) and makes a
 * compaction rarer; 2 capacity + 512 keeps the default sketch (200) in
 * about 60 kB, within a core's L2 cache.
 */
static uint32
topk_limit(uint32 capacity)
{
	return capacity * 2 + 512;
}

static Topk *
topk_create(MemoryContext cxt, int kind, int32 k, int32 capacity)
{
	Topk	   *t;

	if (k < 1 || k > TOPK_MAX_CAPACITY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top-k k must be between 1 and %d", TOPK_MAX_CAPACITY)));
	if (capacity == 0)
		capacity = topk_default_capacity(k);
	if (capacity < k || capacity > TOPK_MAX_CAPACITY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top-k capacity must be between k and %d", TOPK_MAX_CAPACITY)));
	t = MemoryContextAllocZero(cxt, sizeof(Topk));
	t->cxt = cxt;
	t->kind = kind;
	t->k = k;
	t->capacity = capacity;
	t->limit = topk_limit(capacity);
	t->allocated = 16;
	t->entries = MemoryContextAlloc(cxt, sizeof(TopkEntry) * t->allocated);
	t->mask = 63;
	t->table = MemoryContextAllocZero(cxt, sizeof(uint64) * (t->mask + 1));
	return t;
}

static void
topk_free(Topk *t)
{
	for (uint32 i = 0; i < t->n; i++)
		if (t->entries[i].ext != NULL)
			pfree(t->entries[i].ext);
	pfree(t->entries);
	pfree(t->table);
	if (t->scratch != NULL)
		pfree(t->scratch);
	if (t->direct != NULL)
		pfree(t->direct);
	pfree(t);
}

/* ---------- in-memory key hashing (not stored: any fast mix will do) ---------- */

static inline uint64
mix64(uint64 a, uint64 b)
{
	uint128		r = (uint128) a * b;

	return (uint64) r ^ (uint64) (r >> 64);
}

static inline uint64
load64(const uint8 *p)
{
	uint64		v;

	memcpy(&v, p, 8);
	return v;
}

/* wyhash-style: one 64x64->128 multiply per 8 bytes */
static inline uint64
mem_hash(const uint8 *key, uint32 len)
{
	const uint64 k1 = UINT64CONST(0xa0761d6478bd642f);
	const uint64 k2 = UINT64CONST(0xe7037ed1a0b428db);
	uint64		h = k1 ^ len;
	uint64		tail = 0;

	while (len >= 8)
	{
		h = mix64(h ^ load64(key), k2);
		key += 8;
		len -= 8;
	}
	for (uint32 i = 0; i < len; i++)
		tail |= (uint64) key[i] << (8 * i);
	return mix64(h ^ tail, k2 ^ k1);
}

static inline uint64
int_hash(int64 v)
{
	return mix64((uint64) v ^ UINT64CONST(0xa0761d6478bd642f),
				 UINT64CONST(0xe7037ed1a0b428db));
}

static inline bool
key_eq(const uint8 *a, const uint8 *b, uint32 len)
{
	/* the common fixed lengths compare inline */
	switch (len)
	{
		case 6:
			return memcmp(a, b, 6) == 0;
		case 8:
			return memcmp(a, b, 8) == 0;
		case 12:
			return memcmp(a, b, 12) == 0;
		case 18:
			return memcmp(a, b, 18) == 0;
		default:
			return memcmp(a, b, len) == 0;
	}
}

/* ---------- hash table ---------- */

/*
 * A slot holds the hash's high half beside the entry index + 1, so a probe
 * compares hashes without touching the entry array; the table is kept at
 * most a quarter full.
 */
#define SLOT(h, e)		(((h) & UINT64CONST(0xffffffff00000000)) | (uint64) ((e) + 1))
#define SLOT_ENTRY(s)	((int32) ((uint32) (s) - 1))
#define SLOT_TAG(s)		((s) & UINT64CONST(0xffffffff00000000))

/* The entry holding key, or -1; *slot: its slot, or the free slot to use. */
static inline int32
table_find(const Topk *t, uint64 h, const uint8 *key, uint32 len, uint32 *slot)
{
	uint32		i = (uint32) h & t->mask;
	uint64		tag = SLOT_TAG(h);

	for (;;)
	{
		uint64		s = t->table[i];

		if (s == 0)
		{
			*slot = i;
			return -1;
		}
		if (SLOT_TAG(s) == tag)
		{
			int32		e = SLOT_ENTRY(s);
			const TopkEntry *en = &t->entries[e];

			if (en->hash == h && en->keylen == len && key_eq(ENTRY_KEY(en), key, len))
			{
				*slot = i;
				return e;
			}
		}
		i = (i + 1) & t->mask;
	}
}

static void
table_rebuild(Topk *t, uint32 size)
{
	if (size != t->mask + 1)
	{
		pfree(t->table);
		t->table = MemoryContextAlloc(t->cxt, sizeof(uint64) * size);
		t->mask = size - 1;
	}
	memset(t->table, 0, sizeof(uint64) * size);
	for (uint32 e = 0; e < t->n; e++)
	{
		uint64		h = t->entries[e].hash;
		uint32		i = (uint32) h & t->mask;

		while (t->table[i] != 0)
			i = (i + 1) & t->mask;
		t->table[i] = SLOT(h, e);
	}
}

#define TABLE_FULL(t)	(((t)->n + 1) * 4 > (t)->mask + 1)

/* Make room for one more entry (an array slot and a table at most a quarter full). */
static void
topk_grow(Topk *t)
{
	if (t->n == t->allocated)
	{
		uint32		a = Min(t->allocated * 2, Max(t->limit, t->capacity));

		t->entries = repalloc(t->entries, sizeof(TopkEntry) * a);
		t->allocated = a;
	}
	if (TABLE_FULL(t))
		table_rebuild(t, (t->mask + 1) * 2);
}

/* ---------- compaction ---------- */

static inline void
swap64(int64 *a, int64 *b)
{
	int64		x = *a;

	*a = *b;
	*b = x;
}

/* The value of rank r (0 = largest) among v[0..n-1]; v is reordered. */
static int64
select_desc(int64 *v, uint32 n, uint32 r)
{
	uint32		lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		uint32		mid = lo + (hi - lo) / 2;
		int64		pivot;
		uint32		i,
					j;

		/* median of three, then Hoare partition (descending) */
		if (v[mid] > v[lo])
			swap64(&v[mid], &v[lo]);
		if (v[hi] > v[lo])
			swap64(&v[hi], &v[lo]);
		if (v[hi] > v[mid])
			swap64(&v[hi], &v[mid]);
		pivot = v[mid];
		i = lo;
		j = hi;
		for (;;)
		{
			while (v[i] > pivot)
				i++;
			while (v[j] < pivot)
				j--;
			if (i >= j)
				break;
			swap64(&v[i], &v[j]);
			i++;
			j--;
		}
		/* v[lo..j] >= pivot >= v[j+1..hi] */
		if (r <= j)
			hi = j;
		else
			lo = j + 1;
	}
	return v[r];
}

static void topk_append(Topk *t, const uint8 *key, uint32 len, uint64 h,
						int64 count, int64 error);

/*
 * The `capacity` largest direct counters into kept[] (room for capacity),
 * in key order, exact (error 0); ties at the cut keep the smaller keys.
 * Returns how many; *dropped_max: the largest counter left out.  The
 * counters are not changed.
 */
static uint32
direct_top(const Topk *t, TopkEntry *kept, int64 *dropped_max)
{
	const int64 *d = t->direct;
	uint32		nz = 0;
	uint32		above = 0;
	uint32		ties;
	uint32		n = 0;
	int64		v = 0;

	*dropped_max = 0;
	for (uint32 i = 0; i < TOPK_DIRECT_KEYS; i++)
		nz += d[i] != 0;
	if (nz > t->capacity)
	{
		int64	   *counts = palloc(sizeof(int64) * nz);

		nz = 0;
		for (uint32 i = 0; i < TOPK_DIRECT_KEYS; i++)
			if (d[i] != 0)
				counts[nz++] = d[i];
		v = select_desc(counts, nz, t->capacity - 1);
		pfree(counts);
		for (uint32 i = 0; i < TOPK_DIRECT_KEYS; i++)
			above += d[i] > v;
	}
	ties = t->capacity - above;
	for (uint32 i = 0; i < TOPK_DIRECT_KEYS; i++)
	{
		if (d[i] == 0)
			continue;
		if (d[i] > v || (d[i] == v && ties > 0))
		{
			TopkEntry  *e = &kept[n++];

			if (d[i] == v)
				ties--;
			e->count = d[i];
			e->error = 0;
			e->ext = NULL;
			e->keylen = 8;
			agg_put_u64(e->inl, (uint64) i);
			e->hash = int_hash((int64) i);
		}
		else if (d[i] > *dropped_max)
			*dropped_max = d[i];
	}
	return n;
}

/*
 * The direct counters as entries (the capacity largest); the largest
 * dropped one becomes the floor, as in a compaction.
 */
static void
topk_undirect(Topk *t)
{
	TopkEntry  *kept = palloc(sizeof(TopkEntry) * t->capacity);
	int64		dropped_max;
	uint32		n = direct_top(t, kept, &dropped_max);

	Assert(t->n == 0 && t->floor == 0);
	pfree(t->direct);
	t->direct = NULL;
	for (uint32 i = 0; i < n; i++)
		topk_append(t, kept[i].inl, 8, kept[i].hash, kept[i].count, 0);
	t->floor = dropped_max;
	pfree(kept);
}

/*
 * Keep the `capacity` largest counters and drop the others (batched
 * space-saving): the largest dropped counter becomes the floor, the count
 * and error a new key starts from.  Counters overestimate, so a dropped
 * key weighed at most the floor; the kept counters are all >= the floor.
 */
static void
topk_compact(Topk *t)
{
	uint32		keep = t->capacity;
	int64		v;
	uint32		above = 0,
				out = 0;
	int64		dropped_max = t->floor;

	if (t->direct != NULL)
		topk_undirect(t);
	if (t->n <= keep)
		return;
	if (t->scratch == NULL)
		t->scratch = MemoryContextAlloc(t->cxt, sizeof(int64) * Max(t->limit, t->capacity));
	for (uint32 i = 0; i < t->n; i++)
		t->scratch[i] = t->entries[i].count;
	v = select_desc(t->scratch, t->n, keep - 1);
	for (uint32 i = 0; i < t->n; i++)
		if (t->entries[i].count > v)
			above++;
	/* keep every counter > v and the first (keep - above) equal to v */
	for (uint32 i = 0, ties = keep - above; i < t->n; i++)
	{
		TopkEntry  *e = &t->entries[i];
		bool		kept = e->count > v || (e->count == v && ties > 0);

		if (kept)
		{
			if (e->count == v)
				ties--;
			if (out != i)
				t->entries[out] = *e;
			out++;
		}
		else
		{
			if (e->count > dropped_max)
				dropped_max = e->count;
			if (e->ext != NULL)
				pfree(e->ext);
		}
	}
	Assert(out == keep);
	t->n = out;
	t->floor = dropped_max;
	table_rebuild(t, t->mask + 1);
}

/* ---------- updates ---------- */

static void
entry_set_key(Topk *t, TopkEntry *e, const uint8 *key, uint32 len, uint64 h)
{
	e->ext = NULL;
	/* the common fixed lengths copy inline */
	switch (len)
	{
		case 6:
			memcpy(e->inl, key, 6);
			break;
		case 8:
			memcpy(e->inl, key, 8);
			break;
		case 12:
			memcpy(e->inl, key, 12);
			break;
		case 18:
			memcpy(e->inl, key, 18);
			break;
		default:
			if (len > TOPK_INLINE_KEY)
			{
				e->ext = MemoryContextAlloc(t->cxt, len);
				memcpy(e->ext, key, len);
			}
			else
				memcpy(e->inl, key, len);
	}
	e->keylen = len;
	e->hash = h;
}

/* A new entry in the free slot table_find() gave (the caller checked there is room). */
static inline void
topk_insert(Topk *t, uint32 slot, const uint8 *key, uint32 len, uint64 h,
			int64 count, int64 error)
{
	TopkEntry  *e = &t->entries[t->n];

	entry_set_key(t, e, key, len, h);
	e->count = count;
	e->error = error;
	t->table[slot] = SLOT(h, t->n);
	t->n++;
}

/* Append a decoded or merged entry (no key twice). */
static void
topk_append(Topk *t, const uint8 *key, uint32 len, uint64 h, int64 count, int64 error)
{
	uint32		slot;

	topk_grow(t);
	if (table_find(t, h, key, len, &slot) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid vpcflow.topk_state value: duplicate key")));
	topk_insert(t, slot, key, len, h, count, error);
}

/*
 * The table's entries into direct counters, if it is exact and every key,
 * the new one (v) too, lies in 0..65535; else false, and never again.
 */
static pg_noinline bool
topk_to_direct(Topk *t, int64 v)
{
	t->direct_ok = false;
	if (t->floor != 0 || (uint64) v >= TOPK_DIRECT_KEYS)
		return false;
	for (uint32 i = 0; i < t->n; i++)
		if (agg_get_u64(t->entries[i].inl) >= TOPK_DIRECT_KEYS)
			return false;
	t->direct = MemoryContextAllocZero(t->cxt, sizeof(int64) * TOPK_DIRECT_KEYS);
	for (uint32 i = 0; i < t->n; i++)
		t->direct[agg_get_u64(t->entries[i].inl)] = t->entries[i].count;
	t->n = 0;
	memset(t->table, 0, sizeof(uint64) * (t->mask + 1));
	return true;
}

static inline void
topk_add(Topk *t, const uint8 *key, uint32 len, uint64 h, int64 w)
{
	uint32		slot;
	int32		e;

	if (unlikely(w <= 0))
	{
		if (w < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("top-k weight must not be negative")));
		return;
	}
	if (unlikely(pg_add_s64_overflow(t->total, w, &t->total)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("top-k total weight out of range")));
	e = table_find(t, h, key, len, &slot);
	if (likely(e >= 0))
	{
		t->entries[e].count += w;	/* <= total: no overflow */
		return;
	}
	if (unlikely(t->n >= t->limit))
	{
		if (t->direct_ok && topk_to_direct(t, (int64) agg_get_u64(key)))
		{
			t->direct[agg_get_u64(key)] += w;
			return;
		}
		topk_compact(t);
		table_find(t, h, key, len, &slot);
	}
	if (unlikely(t->n == t->allocated || TABLE_FULL(t)))
	{
		topk_grow(t);
		table_find(t, h, key, len, &slot);
	}
	/* floor + w <= total: a dropped key's counter was part of the total */
	topk_insert(t, slot, key, len, h, t->floor + w, t->floor);
}

/*
 * The merge floor of a compacted sketch (n <= capacity): its smallest
 * counter when full, else 0.  No key outside weighs more.
 */
static int64
topk_floor(const Topk *t)
{
	int64		min;

	Assert(t->n <= t->capacity);
	if (t->n < t->capacity || t->n == 0)
		return 0;
	min = t->entries[0].count;
	for (uint32 i = 1; i < t->n; i++)
		if (t->entries[i].count < min)
			min = t->entries[i].count;
	return min;
}

/* ---------- ordering, stored form ---------- */

static int
key_cmp(int kind, const uint8 *a, uint32 alen, const uint8 *b, uint32 blen)
{
	int			c;

	if (kind == TOPK_KEY_INT)
	{
		int64		x = (int64) agg_get_u64(a);
		int64		y = (int64) agg_get_u64(b);

		return (x > y) - (x < y);
	}
	c = memcmp(a, b, Min(alen, blen));
	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

/* the canonical order: weight descending, then key ascending */
static int	sort_kind;

static int
entry_order(const void *pa, const void *pb)
{
	const TopkEntry *a = *(const TopkEntry *const *) pa;
	const TopkEntry *b = *(const TopkEntry *const *) pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return key_cmp(sort_kind, ENTRY_KEY(a), a->keylen, ENTRY_KEY(b), b->keylen);
}

static TopkEntry **
topk_sorted(const Topk *t, TopkEntry *entries, uint32 n)
{
	TopkEntry **order = palloc(sizeof(TopkEntry *) * Max(n, 1));

	for (uint32 i = 0; i < n; i++)
		order[i] = &entries[i];
	sort_kind = t->kind;
	qsort(order, n, sizeof(TopkEntry *), entry_order);
	return order;
}

/*
 * The stored form: the `capacity` largest entries in canonical order (what
 * a compaction would keep; ties at the cut keep the smaller keys).  The
 * state is not changed, so the final function is read-only and the
 * aggregates work as window functions.
 */
static bytea *
topk_serialize_state(const Topk *t)
{
	TopkEntry  *kept = NULL;
	TopkEntry **order;
	uint32		n;
	Size		size = VARHDRSZ + TOPK_HEADER_SIZE;
	bytea	   *out;
	uint8	   *p;

	if (t->direct != NULL)
	{
		int64		dropped_max;

		kept = palloc(sizeof(TopkEntry) * t->capacity);
		n = direct_top(t, kept, &dropped_max);
		order = topk_sorted(t, kept, n);
	}
	else
	{
		order = topk_sorted(t, t->entries, t->n);
		n = Min(t->n, t->capacity);
	}
	for (uint32 i = 0; i < n; i++)
		size += 20 + order[i]->keylen;
	out = palloc(size);
	SET_VARSIZE(out, size);
	p = (uint8 *) VARDATA(out);
	p[0] = AGG_FORMAT_VERSION;
	p[1] = (uint8) t->kind;
	agg_put_u32(p + 2, t->k);
	agg_put_u32(p + 6, t->capacity);
	agg_put_u32(p + 10, n);
	agg_put_u64(p + 14, (uint64) t->total);
	p += TOPK_HEADER_SIZE;
	for (uint32 i = 0; i < n; i++)
	{
		const TopkEntry *e = order[i];

		agg_put_u64(p, (uint64) e->count);
		agg_put_u64(p + 8, (uint64) e->error);
		agg_put_u32(p + 16, e->keylen);
		memcpy(p + 20, ENTRY_KEY(e), e->keylen);
		p += 20 + e->keylen;
	}
	pfree(order);
	if (kept != NULL)
		pfree(kept);
	return out;
}

static void
topk_check(const uint8 *p, size_t len)
{
	const char *msg = agg_check_topk(p, len);

	if (msg != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid vpcflow.topk_state value: %s", msg)));
}

static inline uint64
key_hash(int kind, const uint8 *key, uint32 len)
{
	return kind == TOPK_KEY_INT ? int_hash((int64) agg_get_u64(key)) : mem_hash(key, len);
}

/* A stored form as a sketch in cxt (validated here). */
static Topk *
topk_decode(MemoryContext cxt, const uint8 *p, size_t len)
{
	Topk	   *t;
	uint32		n;
	size_t		pos = TOPK_HEADER_SIZE;

	topk_check(p, len);
	t = topk_create(cxt, p[1], (int32) agg_get_u32(p + 2), (int32) agg_get_u32(p + 6));
	n = agg_get_u32(p + 10);
	t->total = (int64) agg_get_u64(p + 14);
	for (uint32 i = 0; i < n; i++)
	{
		int64		count = (int64) agg_get_u64(p + pos);
		int64		error = (int64) agg_get_u64(p + pos + 8);
		uint32		keylen = agg_get_u32(p + pos + 16);
		const uint8 *key = p + pos + 20;

		if (t->kind == TOPK_KEY_TEXT)
			pg_verifymbstr((const char *) key, keylen, false);
		topk_append(t, key, keylen, key_hash(t->kind, key, keylen), count, error);
		pos += 20 + keylen;
	}
	t->floor = topk_floor(t);
	return t;
}

static Topk *
topk_decode_varlena(MemoryContext cxt, struct varlena *v)
{
	return topk_decode(cxt, (const uint8 *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
}

/* ---------- merging ---------- */

typedef struct MergeItem
{
	int64		count;
	int64		error;
	const TopkEntry *src;
} MergeItem;

static int
merge_order(const void *pa, const void *pb)
{
	const MergeItem *a = pa;
	const MergeItem *b = pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return key_cmp(sort_kind, ENTRY_KEY(a->src), a->src->keylen,
				   ENTRY_KEY(b->src), b->src->keylen);
}

/* a and b merged, as a new sketch in cxt; a and b are compacted, else unchanged */
static Topk *
topk_merge_states(MemoryContext cxt, Topk *a, Topk *b)
{
	int			kind = a->kind != TOPK_KEY_NONE ? a->kind : b->kind;
	int64		floor_a;
	int64		floor_b;
	MergeItem  *items;
	uint32		n = 0;
	Topk	   *t;
	int64		total;

	if (a->kind != TOPK_KEY_NONE && b->kind != TOPK_KEY_NONE && a->kind != b->kind)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot merge top-k states of different key types")));
	if (a->capacity != b->capacity)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge top-k states of different capacities (%u and %u)",
						a->capacity, b->capacity)));
	if (pg_add_s64_overflow(a->total, b->total, &total))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("top-k total weight out of range")));
	topk_compact(a);
	topk_compact(b);
	floor_a = topk_floor(a);
	floor_b = topk_floor(b);

	items = palloc(sizeof(MergeItem) * Max(a->n + b->n, 1));
	for (uint32 i = 0; i < a->n; i++)
	{
		const TopkEntry *e = &a->entries[i];
		uint32		slot;
		int32		j = table_find(b, e->hash, ENTRY_KEY(e), e->keylen, &slot);

		items[n].src = e;
		items[n].count = e->count + (j >= 0 ? b->entries[j].count : floor_b);
		items[n].error = e->error + (j >= 0 ? b->entries[j].error : floor_b);
		n++;
	}
	for (uint32 i = 0; i < b->n; i++)
	{
		const TopkEntry *e = &b->entries[i];
		uint32		slot;

		if (table_find(a, e->hash, ENTRY_KEY(e), e->keylen, &slot) >= 0)
			continue;
		items[n].src = e;
		items[n].count = e->count + floor_a;
		items[n].error = e->error + floor_a;
		n++;
	}
	sort_kind = kind;
	qsort(items, n, sizeof(MergeItem), merge_order);

	t = topk_create(cxt, kind, (int32) Max(a->k, b->k), (int32) a->capacity);
	t->total = total;
	n = Min(n, t->capacity);
	for (uint32 i = 0; i < n; i++)
		topk_append(t, ENTRY_KEY(items[i].src), items[i].src->keylen,
					items[i].src->hash, items[i].count, items[i].error);
	pfree(items);
	/* a key in neither weighed at most floor_a + floor_b <= any merged counter */
	t->floor = topk_floor(t);
	return t;
}

/* ---------- aggregate support ---------- */

/* The first call: a new sketch from the k (argument karg) and capacity arguments. */
static pg_noinline Topk *
topk_first_state(FunctionCallInfo fcinfo, int kind, int karg)
{
	MemoryContext cxt = agg_context(fcinfo, "topk");
	bool		has_capacity = PG_NARGS() > karg + 1;
	Topk	   *t;

	if (PG_ARGISNULL(karg) || (has_capacity && PG_ARGISNULL(karg + 1)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("top-k k and capacity must not be null")));
	if (has_capacity && PG_GETARG_INT32(karg + 1) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top-k capacity must be between k and %d", TOPK_MAX_CAPACITY)));
	t = topk_create(cxt, kind, PG_GETARG_INT32(karg),
					has_capacity ? PG_GETARG_INT32(karg + 1) : 0);
	if (kind == TOPK_KEY_INT && fcinfo->context != NULL && IsA(fcinfo->context, AggState) &&
		((AggState *) fcinfo->context)->aggstrategy == AGG_PLAIN)
		t->direct_ok = true;
	return t;
}

/* The state, modified in place (stype internal: no copy per row) */
static inline Topk *
topk_state_arg(FunctionCallInfo fcinfo, int kind)
{
	if (likely(!PG_ARGISNULL(0)))
		return (Topk *) PG_GETARG_POINTER(0);
	return topk_first_state(fcinfo, kind, 3);
}

#define TOPK_SKIP_ROW() (PG_ARGISNULL(1) || PG_ARGISNULL(2))

static Datum
topk_int_add(FunctionCallInfo fcinfo, int64 v)
{
	Topk	   *t = topk_state_arg(fcinfo, TOPK_KEY_INT);
	uint8		key[8];

	if (t->direct != NULL)
	{
		int64		w = PG_GETARG_INT64(2);

		if (likely((uint64) v < TOPK_DIRECT_KEYS && w > 0))
		{
			if (unlikely(pg_add_s64_overflow(t->total, w, &t->total)))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("top-k total weight out of range")));
			t->direct[v] += w;	/* <= total: no overflow */
			PG_RETURN_POINTER(t);
		}
		if ((uint64) v >= TOPK_DIRECT_KEYS)
			topk_undirect(t);
	}
	agg_put_u64(key, (uint64) v);
	topk_add(t, key, 8, int_hash(v), PG_GETARG_INT64(2));
	PG_RETURN_POINTER(t);
}

#define TOPK_INT_TRANSFN(name, getter) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	if (TOPK_SKIP_ROW()) \
		PG_RETURN_POINTER(topk_state_arg(fcinfo, TOPK_KEY_INT)); \
	return topk_int_add(fcinfo, (int64) getter(1)); \
}

TOPK_INT_TRANSFN(topk_int2_transfn, PG_GETARG_INT16)
TOPK_INT_TRANSFN(topk_int4_transfn, PG_GETARG_INT32)
TOPK_INT_TRANSFN(topk_int8_transfn, PG_GETARG_INT64)

PG_FUNCTION_INFO_V1(topk_text_transfn);
Datum
topk_text_transfn(PG_FUNCTION_ARGS)
{
	Topk	   *t = topk_state_arg(fcinfo, TOPK_KEY_TEXT);
	text	   *v;
	uint32		len;

	if (TOPK_SKIP_ROW())
		PG_RETURN_POINTER(t);
	v = PG_GETARG_TEXT_PP(1);
	len = VARSIZE_ANY_EXHDR(v);
	if (len > TOPK_MAX_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("top-k key is too long (%u bytes, at most %d)", len, TOPK_MAX_KEY_LEN)));
	topk_add(t, (const uint8 *) VARDATA_ANY(v), len,
			 mem_hash((const uint8 *) VARDATA_ANY(v), len), PG_GETARG_INT64(2));
	PG_RETURN_POINTER(t);
}

/* An address key: family (4 or 6), prefix length, address bytes. */
static inline uint32
inet_key(inet *addr, uint8 *key)
{
	bool		v4 = ip_family(addr) == PGSQL_AF_INET;
	uint32		alen = v4 ? 4 : 16;

	key[0] = v4 ? 4 : 6;
	key[1] = ip_bits(addr);
	if (v4)
		memcpy(key + 2, ip_addr(addr), 4);
	else
		memcpy(key + 2, ip_addr(addr), 16);
	return 2 + alen;
}

PG_FUNCTION_INFO_V1(topk_inet_transfn);
Datum
topk_inet_transfn(PG_FUNCTION_ARGS)
{
	Topk	   *t = topk_state_arg(fcinfo, TOPK_KEY_INET);
	uint8		key[18];
	uint32		len;

	if (TOPK_SKIP_ROW())
		PG_RETURN_POINTER(t);
	len = inet_key(PG_GETARG_INET_PP(1), key);
	topk_add(t, key, len, mem_hash(key, len), PG_GETARG_INT64(2));
	PG_RETURN_POINTER(t);
}

/*
 * topk(src inet, dst inet, weight, k [, capacity]): address pairs, keyed by
 * the two address keys end to end (no text built per row).
 */
PG_FUNCTION_INFO_V1(topk_inet_pair_transfn);
Datum
topk_inet_pair_transfn(PG_FUNCTION_ARGS)
{
	Topk	   *t;
	uint8		key[36];
	uint32		len;

	if (likely(!PG_ARGISNULL(0)))
		t = (Topk *) PG_GETARG_POINTER(0);
	else
		t = topk_first_state(fcinfo, TOPK_KEY_INET_PAIR, 4);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_POINTER(t);
	len = inet_key(PG_GETARG_INET_PP(1), key);
	len += inet_key(PG_GETARG_INET_PP(2), key + len);
	topk_add(t, key, len, mem_hash(key, len), PG_GETARG_INT64(3));
	PG_RETURN_POINTER(t);
}

/* topk_merge(topk_state) */
PG_FUNCTION_INFO_V1(topk_merge_transfn);
Datum
topk_merge_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "topk_merge");
	Topk	   *t = PG_ARGISNULL(0) ? NULL : (Topk *) PG_GETARG_POINTER(0);
	Topk	   *b;
	Topk	   *m;
	MemoryContext old;

	if (PG_ARGISNULL(1))
	{
		if (t == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(t);
	}
	b = topk_decode_varlena(cxt, PG_GETARG_VARLENA_PP(1));
	if (t == NULL)
		PG_RETURN_POINTER(b);
	old = MemoryContextSwitchTo(cxt);
	m = topk_merge_states(cxt, t, b);
	MemoryContextSwitchTo(old);
	topk_free(t);
	topk_free(b);
	PG_RETURN_POINTER(m);
}

PG_FUNCTION_INFO_V1(topk_combine);
Datum
topk_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "topk_combine");
	Topk	   *a = PG_ARGISNULL(0) ? NULL : (Topk *) PG_GETARG_POINTER(0);
	Topk	   *b = PG_ARGISNULL(1) ? NULL : (Topk *) PG_GETARG_POINTER(1);
	Topk	   *m;
	MemoryContext old;

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	old = MemoryContextSwitchTo(cxt);
	if (a == NULL)
	{
		/* a copy in the aggregate's context */
		Topk	   *empty = topk_create(cxt, b->kind, (int32) b->k, (int32) b->capacity);

		m = topk_merge_states(cxt, empty, b);
		topk_free(empty);
	}
	else
	{
		m = topk_merge_states(cxt, a, b);
		topk_free(a);
	}
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(m);
}

/* serialfunc, and the final function of the aggregates */
PG_FUNCTION_INFO_V1(topk_serialize);
Datum
topk_serialize(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(topk_serialize_state((Topk *) PG_GETARG_POINTER(0)));
}

PG_FUNCTION_INFO_V1(topk_deserialize);
Datum
topk_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "topk_deserialize");

	PG_RETURN_POINTER(topk_decode_varlena(cxt, PG_GETARG_VARLENA_PP(0)));
}

/* ---------- functions on stored states ---------- */

/* An address of a stored inet key (6 or 18 bytes). */
static Datum
key_inet(const uint8 *key, uint32 len)
{
	inet	   *addr = palloc0(sizeof(inet));

	ip_family(addr) = key[0] == 4 ? PGSQL_AF_INET : PGSQL_AF_INET6;
	ip_bits(addr) = key[1];
	memcpy(ip_addr(addr), key + 2, len - 2);
	SET_INET_VARSIZE(addr);
	return InetPGetDatum(addr);
}

/* The length of the first address of a stored address pair key. */
static inline uint32
pair_first_len(const uint8 *key)
{
	return key[0] == 4 ? 6 : 18;
}

/* The text of a stored key. */
static text *
key_text(int kind, const uint8 *key, uint32 len)
{
	if (kind == TOPK_KEY_INET_PAIR)
	{
		uint32		first = pair_first_len(key);
		char	   *src = DatumGetCString(DirectFunctionCall1(inet_out, key_inet(key, first)));
		char	   *dst = DatumGetCString(DirectFunctionCall1(inet_out,
															  key_inet(key + first, len - first)));

		return cstring_to_text(psprintf("%s %s", src, dst));
	}
	if (kind == TOPK_KEY_INT)
	{
		char		buf[32];

		snprintf(buf, sizeof(buf), INT64_FORMAT, (int64) agg_get_u64(key));
		return cstring_to_text(buf);
	}
	if (kind == TOPK_KEY_INET)
		return cstring_to_text(DatumGetCString(DirectFunctionCall1(inet_out,
																   key_inet(key, len))));
	return cstring_to_text_with_len((const char *) key, len);
}

/*
 * The top k entries of a stored state as rows: (key text, weight, error),
 * or with pairs (src inet, dst inet, weight, error).  Entries are stored
 * heaviest first.
 */
static Datum
emit_entries(FunctionCallInfo fcinfo, bool pairs)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	const uint8 *p = (const uint8 *) VARDATA_ANY(v);
	size_t		len = VARSIZE_ANY_EXHDR(v);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint32		k,
				n;
	size_t		pos = TOPK_HEADER_SIZE;

	topk_check(p, len);
	if (pairs && p[1] != TOPK_KEY_INET_PAIR && agg_get_u32(p + 10) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("topk_pairs needs a top-k state of address pairs"),
				 errhint("Build it with vpcflow.topk(srcaddr, dstaddr, weight, k).")));
	InitMaterializedSRF(fcinfo, 0);
	k = agg_get_u32(p + 2);
	n = agg_get_u32(p + 10);
	for (uint32 i = 0; i < n && i < k; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false};
		uint32		keylen = agg_get_u32(p + pos + 16);
		const uint8 *key = p + pos + 20;
		int			c = 0;

		if (pairs)
		{
			uint32		first = pair_first_len(key);

			values[c++] = key_inet(key, first);
			values[c++] = key_inet(key + first, keylen - first);
		}
		else
		{
			if (p[1] == TOPK_KEY_TEXT)
				pg_verifymbstr((const char *) key, keylen, false);
			values[c++] = PointerGetDatum(key_text(p[1], key, keylen));
		}
		values[c++] = Int64GetDatum((int64) agg_get_u64(p + pos));
		values[c++] = Int64GetDatum((int64) agg_get_u64(p + pos + 8));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pos += 20 + keylen;
	}
	return (Datum) 0;
}

/* topk_entries(state) -> (key text, weight bigint, error bigint), top k */
PG_FUNCTION_INFO_V1(topk_entries);
Datum
topk_entries(PG_FUNCTION_ARGS)
{
	return emit_entries(fcinfo, false);
}

/* topk_pairs(state) -> (src inet, dst inet, weight bigint, error bigint) */
PG_FUNCTION_INFO_V1(topk_pairs);
Datum
topk_pairs(PG_FUNCTION_ARGS)
{
	return emit_entries(fcinfo, true);
}

/* topk_total(state): the total weight the sketch has seen */
PG_FUNCTION_INFO_V1(topk_total);
Datum
topk_total(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	const uint8 *p = (const uint8 *) VARDATA_ANY(v);

	topk_check(p, VARSIZE_ANY_EXHDR(v));
	PG_RETURN_INT64((int64) agg_get_u64(p + 14));
}

/* topk_union(a, b): two stored states merged */
PG_FUNCTION_INFO_V1(topk_union);
Datum
topk_union(PG_FUNCTION_ARGS)
{
	Topk	   *a = topk_decode_varlena(CurrentMemoryContext, PG_GETARG_VARLENA_PP(0));
	Topk	   *b = topk_decode_varlena(CurrentMemoryContext, PG_GETARG_VARLENA_PP(1));

	PG_RETURN_BYTEA_P(topk_serialize_state(topk_merge_states(CurrentMemoryContext, a, b)));
}

/* ---------- the vpcflow.topk_state type ---------- */

PG_FUNCTION_INFO_V1(topk_state_in);
Datum
topk_state_in(PG_FUNCTION_ARGS)
{
	Datum		d = agg_state_in("vpcflow.topk_state", agg_check_topk, PG_GETARG_CSTRING(0));

	/* decoding checks what the pure check cannot: key encoding, duplicates */
	topk_free(topk_decode_varlena(CurrentMemoryContext, (struct varlena *) DatumGetPointer(d)));
	PG_RETURN_DATUM(d);
}

PG_FUNCTION_INFO_V1(topk_state_out);
Datum
topk_state_out(PG_FUNCTION_ARGS)
{
	return agg_state_out(PG_GETARG_VARLENA_PP(0));
}

PG_FUNCTION_INFO_V1(topk_state_recv);
Datum
topk_state_recv(PG_FUNCTION_ARGS)
{
	Datum		d = agg_state_recv("vpcflow.topk_state", agg_check_topk,
								   (StringInfo) PG_GETARG_POINTER(0));

	topk_free(topk_decode_varlena(CurrentMemoryContext, (struct varlena *) DatumGetPointer(d)));
	PG_RETURN_DATUM(d);
}

PG_FUNCTION_INFO_V1(topk_state_send);
Datum
topk_state_send(PG_FUNCTION_ARGS)
{
	return agg_state_send(PG_GETARG_VARLENA_PP(0));
}
