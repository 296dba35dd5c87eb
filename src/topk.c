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
 * In memory: an entry array, an open-addressing hash table (linear
 * probing, backward-shift deletion) of entry indexes and a binary min-heap
 * of entry indexes by count.
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
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
	int32		heappos;
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
	uint32		n;
	uint32		allocated;		/* entries and heap slots */
	int64		total;
	TopkEntry  *entries;
	int32	   *heap;
	int32	   *table;			/* -1: empty slot */
	uint32		mask;			/* table size - 1 */
} Topk;

static uint32
topk_default_capacity(int32 k)
{
	int64		c = Max((int64) k * 20, 200);

	return (uint32) Min(c, TOPK_MAX_CAPACITY);
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
	t->allocated = Min(capacity, 16);
	t->entries = MemoryContextAlloc(cxt, sizeof(TopkEntry) * t->allocated);
	t->heap = MemoryContextAlloc(cxt, sizeof(int32) * t->allocated);
	t->mask = 31;
	t->table = MemoryContextAlloc(cxt, sizeof(int32) * (t->mask + 1));
	memset(t->table, 0xff, sizeof(int32) * (t->mask + 1));
	return t;
}

static void
topk_free(Topk *t)
{
	for (uint32 i = 0; i < t->n; i++)
		if (t->entries[i].ext != NULL)
			pfree(t->entries[i].ext);
	pfree(t->entries);
	pfree(t->heap);
	pfree(t->table);
	pfree(t);
}

/* ---------- hash table ---------- */

/* The entry holding key, or -1; *slot: its slot, or the free slot to use. */
static inline int32
table_find(const Topk *t, uint64 h, const uint8 *key, uint32 len, uint32 *slot)
{
	uint32		i = (uint32) h & t->mask;

	for (;;)
	{
		int32		e = t->table[i];
		const TopkEntry *en;

		if (e < 0)
		{
			*slot = i;
			return -1;
		}
		en = &t->entries[e];
		if (en->hash == h && en->keylen == len && memcmp(ENTRY_KEY(en), key, len) == 0)
		{
			*slot = i;
			return e;
		}
		i = (i + 1) & t->mask;
	}
}

static void
table_delete(Topk *t, uint32 i)
{
	uint32		j = i;

	for (;;)
	{
		uint32		home;

		j = (j + 1) & t->mask;
		if (t->table[j] < 0)
			break;
		home = (uint32) t->entries[t->table[j]].hash & t->mask;
		/* the entry at j may move to i unless its home lies in (i, j] */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
		{
			t->table[i] = t->table[j];
			i = j;
		}
	}
	t->table[i] = -1;
}

/* Make room for one more entry (arrays and a table at most half full). */
static void
topk_grow(Topk *t)
{
	if (t->n == t->allocated)
	{
		uint32		a = Min(t->allocated * 2, t->capacity);

		t->entries = repalloc(t->entries, sizeof(TopkEntry) * a);
		t->heap = repalloc(t->heap, sizeof(int32) * a);
		t->allocated = a;
	}
	if ((t->n + 1) * 2 > t->mask + 1)
	{
		uint32		size = (t->mask + 1) * 2;

		pfree(t->table);
		t->table = MemoryContextAlloc(t->cxt, sizeof(int32) * size);
		memset(t->table, 0xff, sizeof(int32) * size);
		t->mask = size - 1;
		for (uint32 e = 0; e < t->n; e++)
		{
			uint32		i = (uint32) t->entries[e].hash & t->mask;

			while (t->table[i] >= 0)
				i = (i + 1) & t->mask;
			t->table[i] = (int32) e;
		}
	}
}

/* ---------- min-heap by count ---------- */

static inline void
heap_sift_down(Topk *t, uint32 pos)
{
	int32		idx = t->heap[pos];
	int64		c = t->entries[idx].count;

	for (;;)
	{
		uint32		child = 2 * pos + 1;

		if (child >= t->n)
			break;
		if (child + 1 < t->n &&
			t->entries[t->heap[child + 1]].count < t->entries[t->heap[child]].count)
			child++;
		if (t->entries[t->heap[child]].count >= c)
			break;
		t->heap[pos] = t->heap[child];
		t->entries[t->heap[pos]].heappos = (int32) pos;
		pos = child;
	}
	t->heap[pos] = idx;
	t->entries[idx].heappos = (int32) pos;
}

static inline void
heap_sift_up(Topk *t, uint32 pos)
{
	int32		idx = t->heap[pos];
	int64		c = t->entries[idx].count;

	while (pos > 0)
	{
		uint32		parent = (pos - 1) / 2;

		if (t->entries[t->heap[parent]].count <= c)
			break;
		t->heap[pos] = t->heap[parent];
		t->entries[t->heap[pos]].heappos = (int32) pos;
		pos = parent;
	}
	t->heap[pos] = idx;
	t->entries[idx].heappos = (int32) pos;
}

/* ---------- updates ---------- */

static void
entry_set_key(Topk *t, TopkEntry *e, const uint8 *key, uint32 len, uint64 h)
{
	if (e->ext != NULL)
	{
		pfree(e->ext);
		e->ext = NULL;
	}
	if (len > TOPK_INLINE_KEY)
	{
		e->ext = MemoryContextAlloc(t->cxt, len);
		memcpy(e->ext, key, len);
	}
	else
		memcpy(e->inl, key, len);
	e->keylen = len;
	e->hash = h;
}

/* Append a new entry (the caller checked there is room and no such key). */
static void
topk_append(Topk *t, const uint8 *key, uint32 len, uint64 h, int64 count, int64 error)
{
	TopkEntry  *e;
	uint32		slot;

	topk_grow(t);
	e = &t->entries[t->n];
	e->ext = NULL;
	entry_set_key(t, e, key, len, h);
	e->count = count;
	e->error = error;
	if (table_find(t, h, key, len, &slot) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid vpcflow.topk_state value: duplicate key")));
	t->table[slot] = (int32) t->n;
	t->heap[t->n] = (int32) t->n;
	t->n++;
	heap_sift_up(t, t->n - 1);
}

static void
topk_add(Topk *t, const uint8 *key, uint32 len, uint64 h, int64 w)
{
	uint32		slot;
	int32		e;

	if (w <= 0)
	{
		if (w < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("top-k weight must not be negative")));
		return;
	}
	if (pg_add_s64_overflow(t->total, w, &t->total))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("top-k total weight out of range")));
	e = table_find(t, h, key, len, &slot);
	if (e >= 0)
	{
		t->entries[e].count += w;	/* <= total: no overflow */
		heap_sift_down(t, t->entries[e].heappos);
	}
	else if (t->n < t->capacity)
		topk_append(t, key, len, h, w, 0);
	else
	{
		/* replace the smallest counter */
		int32		victim = t->heap[0];
		TopkEntry  *v = &t->entries[victim];
		int64		min = v->count;

		table_find(t, v->hash, ENTRY_KEY(v), v->keylen, &slot);
		table_delete(t, slot);
		entry_set_key(t, v, key, len, h);
		v->count = min + w;
		v->error = min;
		table_find(t, h, key, len, &slot);
		t->table[slot] = victim;
		heap_sift_down(t, 0);
	}
}

/* The smallest counter of a full sketch, else 0. */
static int64
topk_floor(const Topk *t)
{
	return t->n == t->capacity && t->n > 0 ? t->entries[t->heap[0]].count : 0;
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

static bytea *
topk_serialize_state(const Topk *t)
{
	TopkEntry **order = topk_sorted(t, t->entries, t->n);
	Size		size = VARHDRSZ + TOPK_HEADER_SIZE;
	bytea	   *out;
	uint8	   *p;

	for (uint32 i = 0; i < t->n; i++)
		size += 20 + t->entries[i].keylen;
	out = palloc(size);
	SET_VARSIZE(out, size);
	p = (uint8 *) VARDATA(out);
	p[0] = AGG_FORMAT_VERSION;
	p[1] = (uint8) t->kind;
	agg_put_u32(p + 2, t->k);
	agg_put_u32(p + 6, t->capacity);
	agg_put_u32(p + 10, t->n);
	agg_put_u64(p + 14, (uint64) t->total);
	p += TOPK_HEADER_SIZE;
	for (uint32 i = 0; i < t->n; i++)
	{
		const TopkEntry *e = order[i];

		agg_put_u64(p, (uint64) e->count);
		agg_put_u64(p + 8, (uint64) e->error);
		agg_put_u32(p + 16, e->keylen);
		memcpy(p + 20, ENTRY_KEY(e), e->keylen);
		p += 20 + e->keylen;
	}
	pfree(order);
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

static uint64
key_hash(int kind, const uint8 *key, uint32 len)
{
	return kind == TOPK_KEY_INT ? agg_hash_int64((int64) agg_get_u64(key)) :
		agg_hash_bytes(key, len);
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

/* a and b merged, as a new sketch in cxt; a and b are left as they are */
static Topk *
topk_merge_states(MemoryContext cxt, const Topk *a, const Topk *b)
{
	int			kind = a->kind != TOPK_KEY_NONE ? a->kind : b->kind;
	int64		floor_a = topk_floor(a);
	int64		floor_b = topk_floor(b);
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
	return t;
}

/* ---------- aggregate support ---------- */

static Topk *
topk_state_arg(FunctionCallInfo fcinfo, int kind)
{
	MemoryContext cxt = agg_context(fcinfo, "topk");
	Topk	   *t;

	if (!PG_ARGISNULL(0))
	{
		t = (Topk *) PG_GETARG_POINTER(0);
		return t;
	}
	if (PG_ARGISNULL(3) || (PG_NARGS() > 4 && PG_ARGISNULL(4)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("top-k k and capacity must not be null")));
	if (PG_NARGS() > 4 && PG_GETARG_INT32(4) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top-k capacity must be between k and %d", TOPK_MAX_CAPACITY)));
	t = topk_create(cxt, kind, PG_GETARG_INT32(3),
					PG_NARGS() > 4 ? PG_GETARG_INT32(4) : 0);
	return t;
}

#define TOPK_SKIP_ROW() (PG_ARGISNULL(1) || PG_ARGISNULL(2))

static Datum
topk_int_add(FunctionCallInfo fcinfo, int64 v)
{
	Topk	   *t = topk_state_arg(fcinfo, TOPK_KEY_INT);
	uint8		key[8];

	agg_put_u64(key, (uint64) v);
	topk_add(t, key, 8, agg_hash_int64(v), PG_GETARG_INT64(2));
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
			 agg_hash_bytes(VARDATA_ANY(v), len), PG_GETARG_INT64(2));
	PG_RETURN_POINTER(t);
}

/* An address key: family (4 or 6), prefix length, address bytes. */
static uint32
inet_key(inet *addr, uint8 *key)
{
	bool		v4 = ip_family(addr) == PGSQL_AF_INET;
	uint32		alen = v4 ? 4 : 16;

	key[0] = v4 ? 4 : 6;
	key[1] = ip_bits(addr);
	memcpy(key + 2, ip_addr(addr), alen);
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
	topk_add(t, key, len, agg_hash_bytes(key, len), PG_GETARG_INT64(2));
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

/* The text of a stored key. */
static text *
key_text(int kind, const uint8 *key, uint32 len)
{
	if (kind == TOPK_KEY_INT)
	{
		char		buf[32];

		snprintf(buf, sizeof(buf), INT64_FORMAT, (int64) agg_get_u64(key));
		return cstring_to_text(buf);
	}
	if (kind == TOPK_KEY_INET)
	{
		inet	   *addr = palloc0(sizeof(inet));

		ip_family(addr) = key[0] == 4 ? PGSQL_AF_INET : PGSQL_AF_INET6;
		ip_bits(addr) = key[1];
		memcpy(ip_addr(addr), key + 2, len - 2);
		SET_INET_VARSIZE(addr);
		return cstring_to_text(DatumGetCString(DirectFunctionCall1(inet_out,
																   InetPGetDatum(addr))));
	}
	return cstring_to_text_with_len((const char *) key, len);
}

/* topk_entries(state) -> (key text, weight bigint, error bigint), top k */
PG_FUNCTION_INFO_V1(topk_entries);
Datum
topk_entries(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	const uint8 *p = (const uint8 *) VARDATA_ANY(v);
	size_t		len = VARSIZE_ANY_EXHDR(v);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint32		k,
				n;
	size_t		pos = TOPK_HEADER_SIZE;

	topk_check(p, len);
	InitMaterializedSRF(fcinfo, 0);
	k = agg_get_u32(p + 2);
	n = agg_get_u32(p + 10);
	for (uint32 i = 0; i < n && i < k; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false};
		uint32		keylen = agg_get_u32(p + pos + 16);

		if (p[1] == TOPK_KEY_TEXT)
			pg_verifymbstr((const char *) p + pos + 20, keylen, false);
		values[0] = PointerGetDatum(key_text(p[1], p + pos + 20, keylen));
		values[1] = Int64GetDatum((int64) agg_get_u64(p + pos));
		values[2] = Int64GetDatum((int64) agg_get_u64(p + pos + 8));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pos += 20 + keylen;
	}
	return (Datum) 0;
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
