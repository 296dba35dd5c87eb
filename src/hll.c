/*
 * hll.c
 *		Distinct counts: a HyperLogLog sketch stored as the type vpcflow.hll.
 *		vpcflow.approx_distinct(key) counts distinct keys in one go;
 *		vpcflow.hll(key [, precision]) builds a storable sketch,
 *		vpcflow.hll_merge merges stored sketches, vpcflow.hll_union two of
 *		them, vpcflow.hll_cardinality estimates.
 *
 * Keys hash with a fixed 64-bit hash (aggformat.c), so sketches built on
 * other machines or releases merge.  A sketch starts sparse: a set of
 * (index, rho) pairs at precision 25, nearly exact for small counts; past
 * 2^p / 8 pairs it becomes dense, 2^p one-byte registers (p = 14 by
 * default: 16 kB, standard error 1.04 / sqrt(2^p) = 0.81%).  The choice
 * depends only on the set of pairs, so merging the sketches of parts
 * gives exactly the sketch of the whole.  Estimates use Ertl's improved
 * estimator, unbiased over the whole range without bias tables.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include <math.h>
#include <sys/socket.h>

#include "utils/inet.h"
#include "utils/memutils.h"

#include "aggregates.h"

/*
 * In memory a sketch is one small chunk while sparse and tiny: the pairs of
 * a sparse sketch sit in an open-addressing hash set (0 = empty slot), kept
 * inline in the struct while it has HLL_SPARSE_INLINE slots, so a group
 * with one or two distinct keys (most groups of a per-source count) costs
 * one 48-byte allocation.  cxt is not stored: allocations go to the
 * context the struct itself lives in.
 *
 * The struct also keeps the key of the previous row: adding a key twice
 * changes nothing, and the rows of an index-ordered scan, or of a source
 * talking to one destination, repeat their key, so a repeat skips the hash
 * and the register or hash-set update.
 */
#define HLL_LAST_KEY		18	/* an address key; integer keys take 8 */

typedef struct Hll
{
	uint8		p;
	bool		dense;
	uint8		last_len;		/* length of last_key, 0: none */
	uint32		sp_n;
	union
	{
		uint32	   *sp;			/* sparse: the slots (inl, or allocated) */
		uint8	   *regs;		/* dense: 2^p registers */
	};
	uint32		sp_mask;		/* sparse: slots - 1 */
	uint32		inl[2];
	uint8		last_key[HLL_LAST_KEY];
} Hll;

#define HLL_SPARSE_INLINE	2
#define HLL_CXT(h)			GetMemoryChunkContext(h)

static Hll *
hll_create(MemoryContext cxt, int p)
{
	Hll		   *h;

	if (p < HLL_MIN_PRECISION || p > HLL_MAX_PRECISION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hll precision must be between %d and %d",
						HLL_MIN_PRECISION, HLL_MAX_PRECISION)));
	h = MemoryContextAlloc(cxt, sizeof(Hll));
	h->p = (uint8) p;
	h->dense = false;
	h->last_len = 0;
	h->sp_n = 0;
	h->sp_mask = HLL_SPARSE_INLINE - 1;
	h->sp = h->inl;
	h->inl[0] = h->inl[1] = 0;
	return h;
}

static void
hll_free(Hll *h)
{
	if (h->dense || h->sp != h->inl)
		pfree(h->sp);
	pfree(h);
}

static inline void
dense_set(Hll *h, uint32 idx, uint8 rho)
{
	uint8		cur = h->regs[idx];

	h->regs[idx] = cur < rho ? rho : cur;	/* a conditional move, no branch */
}

static void
hll_to_dense(Hll *h)
{
	uint32	   *old = h->sp;
	uint32		slots = h->sp_mask + 1;
	uint8	   *regs = MemoryContextAllocZero(HLL_CXT(h), (Size) 1 << h->p);

	for (uint32 i = 0; i < slots; i++)
	{
		if (old[i] != 0)
		{
			uint32		idx;
			uint8		rho;

			agg_hll_fold(old[i], h->p, &idx, &rho);
			if (regs[idx] < rho)
				regs[idx] = rho;
		}
	}
	if (old != h->inl)
		pfree(old);
	h->regs = regs;
	h->sp_n = 0;
	h->dense = true;
}

static void
sparse_grow(Hll *h)
{
	uint32		size = (h->sp_mask + 1) * 2;
	uint32	   *old = h->sp;
	uint32		old_size = h->sp_mask + 1;

	h->sp = MemoryContextAllocZero(HLL_CXT(h), sizeof(uint32) * size);
	h->sp_mask = size - 1;
	for (uint32 i = 0; i < old_size; i++)
	{
		if (old[i] != 0)
		{
			uint32		j = HLL_SPARSE_INDEX(old[i]) & h->sp_mask;

			while (h->sp[j] != 0)
				j = (j + 1) & h->sp_mask;
			h->sp[j] = old[i];
		}
	}
	if (old != h->inl)
		pfree(old);
}

/* Add a sparse entry (index at precision 25, rho). */
static void
hll_add_entry(Hll *h, uint32 e)
{
	uint32		sidx = HLL_SPARSE_INDEX(e);
	uint32		j;

	if (h->dense)
	{
		uint32		idx;
		uint8		rho;

		agg_hll_fold(e, h->p, &idx, &rho);
		dense_set(h, idx, rho);
		return;
	}
	/* the inline set fills up; allocated ones stay at most half full */
	if (h->sp_n > h->sp_mask)
		sparse_grow(h);
	j = sidx & h->sp_mask;
	for (;;)
	{
		uint32		cur = h->sp[j];

		if (cur == 0)
		{
			h->sp[j] = e;
			h->sp_n++;
			if (h->sp_n > HLL_SPARSE_LIMIT(h->p))
				hll_to_dense(h);
			else if (h->sp_mask + 1 > HLL_SPARSE_INLINE && h->sp_n * 2 > h->sp_mask + 1)
				sparse_grow(h);
			return;
		}
		if (HLL_SPARSE_INDEX(cur) == sidx)
		{
			if (HLL_SPARSE_RHO(cur) < HLL_SPARSE_RHO(e))
				h->sp[j] = e;
			return;
		}
		j = (j + 1) & h->sp_mask;
	}
}

static inline void
hll_add_hash(Hll *h, uint64 hash)
{
	uint32		idx;
	uint8		rho;

	if (h->dense)
	{
		agg_hll_split(hash, h->p, &idx, &rho);
		dense_set(h, idx, rho);
	}
	else
	{
		agg_hll_split(hash, HLL_SPARSE_PRECISION, &idx, &rho);
		hll_add_entry(h, (idx << 6) | rho);
	}
}

/* b into a */
static void
hll_merge_into(Hll *a, const Hll *b)
{
	if (a->p != b->p)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge hll sketches of different precisions (%d and %d)",
						a->p, b->p)));
	if (b->dense)
	{
		uint32		m = (uint32) 1 << a->p;

		if (!a->dense)
			hll_to_dense(a);
		for (uint32 i = 0; i < m; i++)
			dense_set(a, i, b->regs[i]);
		return;
	}
	for (uint32 i = 0; i <= b->sp_mask; i++)
		if (b->sp[i] != 0)
			hll_add_entry(a, b->sp[i]);
}

static double
hll_estimate(const Hll *h)
{
	uint32		hist[64 - HLL_MIN_PRECISION + 2] = {0};

	if (h->dense)
	{
		uint32		m = (uint32) 1 << h->p;

		for (uint32 i = 0; i < m; i++)
			hist[h->regs[i]]++;
		return agg_hll_estimate(hist, h->p);
	}
	hist[0] = ((uint32) 1 << HLL_SPARSE_PRECISION) - h->sp_n;
	for (uint32 i = 0; i <= h->sp_mask; i++)
		if (h->sp[i] != 0)
			hist[HLL_SPARSE_RHO(h->sp[i])]++;
	return agg_hll_estimate(hist, HLL_SPARSE_PRECISION);
}

/* ---------- stored form ---------- */

static int
uint32_order(const void *a, const void *b)
{
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;

	return (x > y) - (x < y);
}

static bytea *
hll_serialize_state(const Hll *h)
{
	bytea	   *out;
	uint8	   *p;
	Size		size;

	if (h->dense)
	{
		size = VARHDRSZ + HLL_HEADER_SIZE + ((Size) 1 << h->p);
		out = palloc(size);
		p = (uint8 *) VARDATA(out);
		p[2] = HLL_ENC_DENSE;
		memcpy(p + HLL_HEADER_SIZE, h->regs, (Size) 1 << h->p);
	}
	else
	{
		uint32		local[16];
		uint32	   *ent = h->sp_n <= lengthof(local) ? local :
			palloc(sizeof(uint32) * h->sp_n);
		uint32		n = 0;

		for (uint32 i = 0; i <= h->sp_mask; i++)
			if (h->sp[i] != 0)
				ent[n++] = h->sp[i];
		if (n <= lengthof(local))
		{
			/* insertion sort: most per-group sketches hold a few pairs */
			for (uint32 i = 1; i < n; i++)
			{
				uint32		x = ent[i];
				uint32		j = i;

				for (; j > 0 && ent[j - 1] > x; j--)
					ent[j] = ent[j - 1];
				ent[j] = x;
			}
		}
		else
			qsort(ent, n, sizeof(uint32), uint32_order);
		size = VARHDRSZ + HLL_HEADER_SIZE + 4 + (Size) n * 4;
		out = palloc(size);
		p = (uint8 *) VARDATA(out);
		p[2] = HLL_ENC_SPARSE;
		agg_put_u32(p + 3, n);
		for (uint32 i = 0; i < n; i++)
			agg_put_u32(p + 7 + (Size) i * 4, ent[i]);
		if (ent != local)
			pfree(ent);
	}
	SET_VARSIZE(out, size);
	p[0] = AGG_FORMAT_VERSION;
	p[1] = h->p;
	return out;
}

static void
hll_check(const uint8 *p, size_t len)
{
	const char *msg = agg_check_hll(p, len);

	if (msg != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid vpcflow.hll value: %s", msg)));
}

static Hll *
hll_decode(MemoryContext cxt, struct varlena *v)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(v);
	size_t		len = VARSIZE_ANY_EXHDR(v);
	Hll		   *h;

	hll_check(p, len);
	h = hll_create(cxt, p[1]);
	if (p[2] == HLL_ENC_DENSE)
	{
		h->sp = NULL;
		h->dense = true;
		h->regs = MemoryContextAlloc(cxt, (Size) 1 << h->p);
		memcpy(h->regs, p + HLL_HEADER_SIZE, (Size) 1 << h->p);
	}
	else
	{
		uint32		n = agg_get_u32(p + 3);

		if (n > HLL_SPARSE_INLINE && n <= HLL_SPARSE_LIMIT(h->p))
		{
			uint32		size = 4;

			while (size < 2 * n)
				size *= 2;
			h->sp = MemoryContextAllocZero(cxt, sizeof(uint32) * size);
			h->sp_mask = size - 1;
		}
		for (uint32 i = 0; i < n; i++)
			hll_add_entry(h, agg_get_u32(p + 7 + (Size) i * 4));
	}
	return h;
}

/* ---------- aggregate support ---------- */

/*
 * The aggregates' state (stype internal, passed by value) is a Datum that
 * is either a pointer to an Hll or, while the sketch holds at most one
 * pair, the sketch itself: bit 0 set, precision in bits 1-5, the pair
 * (0: none) in bits 32-62.  Most groups of a per-source count see one
 * distinct key, and then cost no allocation (and no cache miss to reach
 * one); such a state is materialized as an Hll at its second pair.  A
 * palloc'd pointer always has bit 0 clear.
 */
#define HLL_INLINE(d)			((DatumGetUInt64(d) & 1) != 0)
#define HLL_INLINE_MAKE(p, e)	UInt64GetDatum(1 | ((uint64) (p) << 1) | ((uint64) (e) << 32))
#define HLL_INLINE_P(d)			((int) ((DatumGetUInt64(d) >> 1) & 0x1f))
#define HLL_INLINE_ENTRY(d)		((uint32) (DatumGetUInt64(d) >> 32))

/* An inline state as a (stack) Hll, for reading only. */
static Hll *
hll_inline_view(Datum d, Hll *one)
{
	one->p = (uint8) HLL_INLINE_P(d);
	one->dense = false;
	one->last_len = 0;
	one->sp_mask = HLL_SPARSE_INLINE - 1;
	one->sp = one->inl;
	one->inl[0] = HLL_INLINE_ENTRY(d);
	one->inl[1] = 0;
	one->sp_n = one->inl[0] != 0;
	return one;
}

static Hll *
hll_from_inline(Datum d, MemoryContext cxt)
{
	Hll		   *h = hll_create(cxt, HLL_INLINE_P(d));

	if (HLL_INLINE_ENTRY(d) != 0)
		hll_add_entry(h, HLL_INLINE_ENTRY(d));
	return h;
}

static void
hll_check_same_precision(int a, int b)
{
	if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge hll sketches of different precisions (%d and %d)",
						a, b)));
}

/* A sparse entry added to a state (inline or not); the state is returned. */
static Datum
hll_state_add_entry(Datum d, uint32 e, MemoryContext cxt)
{
	uint32		cur;

	if (!HLL_INLINE(d))
	{
		hll_add_entry((Hll *) DatumGetPointer(d), e);
		return d;
	}
	cur = HLL_INLINE_ENTRY(d);
	if (cur == 0)
		return HLL_INLINE_MAKE(HLL_INLINE_P(d), e);
	if (HLL_SPARSE_INDEX(cur) == HLL_SPARSE_INDEX(e))
		return HLL_SPARSE_RHO(cur) >= HLL_SPARSE_RHO(e) ? d : HLL_INLINE_MAKE(HLL_INLINE_P(d), e);
	/* a second pair: a real sketch */
	{
		Hll		   *h = hll_from_inline(d, cxt);

		hll_add_entry(h, e);
		return PointerGetDatum(h);
	}
}

/* The first call of a group: an empty inline state of the precision asked for. */
static pg_noinline Datum
hll_first_state(FunctionCallInfo fcinfo)
{
	int			p = HLL_DEFAULT_PRECISION;

	(void) agg_context(fcinfo, "hll");
	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("hll precision must not be null")));
		p = PG_GETARG_INT32(2);
		if (p < HLL_MIN_PRECISION || p > HLL_MAX_PRECISION)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hll precision must be between %d and %d",
							HLL_MIN_PRECISION, HLL_MAX_PRECISION)));
	}
	return HLL_INLINE_MAKE(p, 0);
}

static pg_noinline Datum
hll_inline_add_hash(FunctionCallInfo fcinfo, Datum d, uint64 hash)
{
	uint32		idx;
	uint8		rho;

	agg_hll_split(hash, HLL_SPARSE_PRECISION, &idx, &rho);
	return hll_state_add_entry(d, (idx << 6) | rho, agg_context(fcinfo, "hll"));
}

/* The state argument (a new one on a group's first row). */
static inline Datum
hll_state_arg(FunctionCallInfo fcinfo)
{
	return PG_ARGISNULL(0) ? hll_first_state(fcinfo) : PG_GETARG_DATUM(0);
}

/* Equal bytes; the fixed key lengths compare inline (no memcmp call). */
static inline bool
key_equal(const uint8 *a, const uint8 *b, uint32 len)
{
	uint64		x,
				y;
	uint16		u,
				v;

	switch (len)
	{
		case 6:
			memcpy(&x, a, 4);
			memcpy(&y, b, 4);
			memcpy(&u, a + 4, 2);
			memcpy(&v, b + 4, 2);
			return (uint32) x == (uint32) y && u == v;
		case 8:
			memcpy(&x, a, 8);
			memcpy(&y, b, 8);
			return x == y;
		case 18:
			memcpy(&u, a + 16, 2);
			memcpy(&v, b + 16, 2);
			return u == v && memcmp(a, b, 16) == 0;
		default:
			return memcmp(a, b, len) == 0;
	}
}

/* Whether key is the previous key added to state d (then it adds nothing). */
static inline bool
hll_repeat(Datum d, const uint8 *key, uint32 len)
{
	const Hll  *h = (const Hll *) DatumGetPointer(d);

	return !HLL_INLINE(d) && h->last_len == len && key_equal(h->last_key, key, len);
}

/* The transition: state d with key (hashing to hash) added and remembered. */
static inline Datum
hll_state_add_key(FunctionCallInfo fcinfo, Datum d, const uint8 *key, uint32 len, uint64 hash)
{
	Hll		   *h;

	if (unlikely(HLL_INLINE(d)))
	{
		d = hll_inline_add_hash(fcinfo, d, hash);
		if (HLL_INLINE(d))
			return d;
	}
	else
		hll_add_hash((Hll *) DatumGetPointer(d), hash);
	h = (Hll *) DatumGetPointer(d);
	h->last_len = len <= HLL_LAST_KEY ? (uint8) len : 0;
	if (h->last_len != 0)
		memcpy(h->last_key, key, len);
	return d;
}

/* The transition of a NULL key: the state as it is. */
#define HLL_NULL_KEY() \
	PG_RETURN_DATUM(PG_ARGISNULL(0) ? hll_first_state(fcinfo) : PG_GETARG_DATUM(0))

/* integer keys: the int64 value is the remembered key */
static inline Datum
hll_int_add(FunctionCallInfo fcinfo, int64 v)
{
	Datum		d = hll_state_arg(fcinfo);

	if (hll_repeat(d, (const uint8 *) &v, sizeof(v)))
		return d;
	return hll_state_add_key(fcinfo, d, (const uint8 *) &v, sizeof(v), agg_hash_int64_inline(v));
}

#define HLL_INT_TRANSFN(name, getter) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	if (PG_ARGISNULL(1)) \
		HLL_NULL_KEY(); \
	PG_RETURN_DATUM(hll_int_add(fcinfo, (int64) getter(1))); \
}

HLL_INT_TRANSFN(hll_int2_transfn, PG_GETARG_INT16)
HLL_INT_TRANSFN(hll_int4_transfn, PG_GETARG_INT32)
HLL_INT_TRANSFN(hll_int8_transfn, PG_GETARG_INT64)

PG_FUNCTION_INFO_V1(hll_text_transfn);
Datum
hll_text_transfn(PG_FUNCTION_ARGS)
{
	text	   *v;
	Datum		d;
	const uint8 *key;
	uint32		len;

	if (PG_ARGISNULL(1))
		HLL_NULL_KEY();
	v = PG_GETARG_TEXT_PP(1);
	key = (const uint8 *) VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	d = hll_state_arg(fcinfo);
	if (hll_repeat(d, key, len))
		PG_RETURN_DATUM(d);
	PG_RETURN_DATUM(hll_state_add_key(fcinfo, d, key, len, agg_hash_bytes(key, len)));
}

/* addresses hash as family (4|6), prefix length, address bytes */
PG_FUNCTION_INFO_V1(hll_inet_transfn);
Datum
hll_inet_transfn(PG_FUNCTION_ARGS)
{
	inet	   *addr;
	uint8		key[18];
	uint32		len;
	uint64		hash;
	Datum		d;

	if (PG_ARGISNULL(1))
		HLL_NULL_KEY();
	addr = PG_GETARG_INET_PP(1);
	key[1] = ip_bits(addr);
	if (ip_family(addr) == PGSQL_AF_INET)
	{
		key[0] = 4;
		memcpy(key + 2, ip_addr(addr), 4);
		len = 6;
	}
	else
	{
		key[0] = 6;
		memcpy(key + 2, ip_addr(addr), 16);
		len = 18;
	}
	d = hll_state_arg(fcinfo);
	if (hll_repeat(d, key, len))
		PG_RETURN_DATUM(d);
	/* constant lengths: the hash inlines without its loop and switch */
	hash = len == 6 ? agg_hash_bytes_inline(key, 6) : agg_hash_bytes_inline(key, 18);
	PG_RETURN_DATUM(hll_state_add_key(fcinfo, d, key, len, hash));
}

/* A stored form as a state: inline when it holds at most one pair. */
static Datum
hll_decode_state(MemoryContext cxt, struct varlena *v)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(v);
	size_t		len = VARSIZE_ANY_EXHDR(v);

	hll_check(p, len);
	if (p[2] == HLL_ENC_SPARSE && agg_get_u32(p + 3) <= 1)
		return HLL_INLINE_MAKE(p[1], agg_get_u32(p + 3) == 1 ? agg_get_u32(p + 7) : 0);
	return PointerGetDatum(hll_decode(cxt, v));
}

/*
 * State b merged into state a (both not NULL); returns the merged state.
 * a is modified or replaced; b is left as it is.
 */
static Datum
hll_state_merge(Datum a, Datum b, MemoryContext cxt)
{
	if (HLL_INLINE(b))
	{
		hll_check_same_precision(HLL_INLINE(a) ? HLL_INLINE_P(a) : ((Hll *) DatumGetPointer(a))->p,
								 HLL_INLINE_P(b));
		if (HLL_INLINE_ENTRY(b) == 0)
			return a;
		return hll_state_add_entry(a, HLL_INLINE_ENTRY(b), cxt);
	}
	if (HLL_INLINE(a))
	{
		hll_check_same_precision(HLL_INLINE_P(a), ((Hll *) DatumGetPointer(b))->p);
		a = PointerGetDatum(hll_from_inline(a, cxt));
	}
	hll_merge_into((Hll *) DatumGetPointer(a), (Hll *) DatumGetPointer(b));
	return a;
}

/* hll_merge(hll) */
PG_FUNCTION_INFO_V1(hll_merge_transfn);
Datum
hll_merge_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "hll_merge");
	Datum		b;
	Datum		result;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = hll_decode_state(cxt, PG_GETARG_VARLENA_PP(1));
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(b);
	result = hll_state_merge(PG_GETARG_DATUM(0), b, cxt);
	if (!HLL_INLINE(b))
		hll_free((Hll *) DatumGetPointer(b));
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(hll_combine);
Datum
hll_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "hll_combine");
	Datum		result;
	Datum		a;
	Datum		b;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = PG_GETARG_DATUM(1);
	if (PG_ARGISNULL(0))
	{
		/* an inline state belongs to no context: adopt it as it is */
		if (HLL_INLINE(b))
			PG_RETURN_DATUM(b);
		if (combine_adopt_nulls(fcinfo, cxt, &result))
			return result;
		a = PointerGetDatum(hll_create(cxt, ((Hll *) DatumGetPointer(b))->p));
	}
	else
		a = PG_GETARG_DATUM(0);
	PG_RETURN_DATUM(hll_state_merge(a, b, cxt));
}

/* The stored form of a state. */
static bytea *
hll_serialize_datum(Datum d)
{
	Hll			one;

	if (!HLL_INLINE(d))
		return hll_serialize_state((Hll *) DatumGetPointer(d));
	return hll_serialize_state(hll_inline_view(d, &one));
}

/* serialfunc, and the final function of hll() and hll_merge() */
PG_FUNCTION_INFO_V1(hll_serialize);
Datum
hll_serialize(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(hll_serialize_datum(PG_GETARG_DATUM(0)));
}

PG_FUNCTION_INFO_V1(hll_deserialize);
Datum
hll_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "hll_deserialize");

	PG_RETURN_DATUM(hll_decode_state(cxt, PG_GETARG_VARLENA_PP(0)));
}

/*
 * The estimate as a count.  A sketch whose registers are all at their
 * maximum (only a crafted one) estimates +infinity: saturate.
 */
static int64
estimate_count(Hll *h)
{
	double		e = hll_estimate(h);

	if (!(e < (double) PG_INT64_MAX))
		return PG_INT64_MAX;
	return (int64) llround(e);
}

/* final function of approx_distinct(): 0 for no rows, like count(DISTINCT) */
PG_FUNCTION_INFO_V1(hll_count_final);
Datum
hll_count_final(PG_FUNCTION_ARGS)
{
	Datum		d;
	Hll			one;

	if (PG_ARGISNULL(0))
		PG_RETURN_INT64(0);
	d = PG_GETARG_DATUM(0);
	if (!HLL_INLINE(d))
		PG_RETURN_INT64(estimate_count((Hll *) DatumGetPointer(d)));
	PG_RETURN_INT64(estimate_count(hll_inline_view(d, &one)));
}

/* ---------- functions on stored sketches ---------- */

PG_FUNCTION_INFO_V1(hll_cardinality);
Datum
hll_cardinality(PG_FUNCTION_ARGS)
{
	Hll		   *h = hll_decode(CurrentMemoryContext, PG_GETARG_VARLENA_PP(0));

	PG_RETURN_INT64(estimate_count(h));
}

PG_FUNCTION_INFO_V1(hll_union);
Datum
hll_union(PG_FUNCTION_ARGS)
{
	Hll		   *a = hll_decode(CurrentMemoryContext, PG_GETARG_VARLENA_PP(0));
	Hll		   *b = hll_decode(CurrentMemoryContext, PG_GETARG_VARLENA_PP(1));

	hll_merge_into(a, b);
	PG_RETURN_BYTEA_P(hll_serialize_state(a));
}

PG_FUNCTION_INFO_V1(hll_precision);
Datum
hll_precision(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	const uint8 *p = (const uint8 *) VARDATA_ANY(v);

	hll_check(p, VARSIZE_ANY_EXHDR(v));
	PG_RETURN_INT32(p[1]);
}

/* ---------- the vpcflow.hll type ---------- */

PG_FUNCTION_INFO_V1(hll_in);
Datum
hll_in(PG_FUNCTION_ARGS)
{
	return agg_state_in("vpcflow.hll", agg_check_hll, PG_GETARG_CSTRING(0));
}

PG_FUNCTION_INFO_V1(hll_out);
Datum
hll_out(PG_FUNCTION_ARGS)
{
	return agg_state_out(PG_GETARG_VARLENA_PP(0));
}

PG_FUNCTION_INFO_V1(hll_recv);
Datum
hll_recv(PG_FUNCTION_ARGS)
{
	return agg_state_recv("vpcflow.hll", agg_check_hll, (StringInfo) PG_GETARG_POINTER(0));
}

PG_FUNCTION_INFO_V1(hll_send);
Datum
hll_send(PG_FUNCTION_ARGS)
{
	return agg_state_send(PG_GETARG_VARLENA_PP(0));
}
