/*
 * fuzz_aggstate.c
 *		libFuzzer harness for the stored forms of the aggregate states
 *		(aggformat.h: vpcflow.flow_stats_state, vpcflow.topk_state,
 *		vpcflow.hll), which `in` and `recv` check on untrusted bytes.
 *
 * The input, in a buffer of exactly its size (so ASan sees any read past
 * it), goes through every checker: agg_check_flow_stats, agg_check_topk,
 * agg_check_hll and agg_check_topk_key for each key kind.  Then:
 *
 *	- each checker must agree with a second validator written here from
 *	  the layouts in docs/aggregates.md (accept exactly the same inputs);
 *	- an accepted form is decoded here, as the server does it without
 *	  further bounds checks, and its documented invariants are checked;
 *	  it is re-encoded from the decoded values and must give the same
 *	  bytes (there is no pure-C encoder in src/ to call: the encoders live
 *	  in the PostgreSQL-dependent topk.c/hll.c/aggregates.c);
 *	- no strict prefix of an accepted form is accepted (every form has
 *	  its length implied by its contents);
 *	- HLL: registers folded from sparse entries are in range, the folded
 *	  form of a hash's precision-25 entry equals its direct split at the
 *	  lower precision, and the estimates are numbers >= 0;
 *	- the key hashes are deterministic and read only the key's bytes.
 *
 * A dense HLL of precision 12..18 is longer than run.sh's -max_len, so an
 * input "01 p 02 <registers...>" with p > 11 that is too short is also
 * tried stretched to its full size, the given registers repeated.
 *
 * Build with -DFUZZ_STRICT_FINITE to also require finite HLL estimates
 * (see fuzz/README.md: a saturated dense sketch estimates +infinity).
 *
 * fuzz sources: src/aggformat.c
 */
#include <math.h>

#include "fuzz_common.h"
#include "aggformat.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int	run_check_key_ok(int kind, const uint8_t *key, size_t len);
static int	ref_key(int kind, const uint8_t *k, size_t len);

typedef const char *(*CheckFn) (const uint8_t *buf, size_t len);

static const char *
run_check(CheckFn fn, const uint8_t *data, size_t len)
{
	uint8_t    *buf = malloc(len > 0 ? len : 1);
	const char *msg;

	FUZZ_CHECK(buf != NULL);
	if (len > 0)
		memcpy(buf, data, len);
	msg = fn(buf, len);
	if (msg != NULL)
	{
		fuzz_touch_cstr(msg, 256);
		FUZZ_CHECK(msg[0] != '\0');
	}
	free(buf);
	return msg;
}

/* Accepted forms are prefix-free: no shorter cut of one is accepted. */
static void
check_cuts(CheckFn fn, const uint8_t *data, size_t len)
{
	size_t		cuts[4] = {0, len / 2, len > 0 ? len - 1 : 0, len > 4 ? len - 4 : 0};

	for (int i = 0; i < 4; i++)
		if (cuts[i] < len)
			FUZZ_CHECK(run_check(fn, data, cuts[i]) != NULL);
}

static uint64_t
get_u64_ref(const uint8_t *p)
{
	uint64_t	v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t
get_u32_ref(const uint8_t *p)
{
	uint32_t	v = 0;

	for (int i = 0; i < 4; i++)
		v = (v << 8) | p[i];
	return v;
}

static int
is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* ---------- flow_stats_state ---------- */

typedef struct FlowStats
{
	uint8_t		flags;
	uint64_t	flows,
				accepts,
				rejects,
				packets_n,
				bytes_n;
	uint8_t		packets_sum[16],
				bytes_sum[16];
	int64_t		first_start,
				last_end;
} FlowStats;

/* docs/aggregates.md, "vpcflow.flow_stats_state, 90 bytes" */
static int
ref_flow_stats(const uint8_t *b, size_t len, FlowStats *s)
{
	if (len != 90 || b[0] != 1 || (b[1] & ~3))
		return 0;
	s->flags = b[1];
	s->flows = get_u64_ref(b + 2);
	s->accepts = get_u64_ref(b + 10);
	s->rejects = get_u64_ref(b + 18);
	s->packets_n = get_u64_ref(b + 26);
	memcpy(s->packets_sum, b + 34, 16);
	s->bytes_n = get_u64_ref(b + 50);
	memcpy(s->bytes_sum, b + 58, 16);
	s->first_start = (int64_t) get_u64_ref(b + 74);
	s->last_end = (int64_t) get_u64_ref(b + 82);
	if (s->flows > (uint64_t) INT64_MAX)
		return 0;
	/* accepts + rejects <= flows, without overflow */
	if (s->accepts > s->flows || s->rejects > s->flows - s->accepts)
		return 0;
	if (s->packets_n > s->flows || s->bytes_n > s->flows)
		return 0;
	if (s->packets_n == 0 && !is_zero(s->packets_sum, 16))
		return 0;
	if (s->bytes_n == 0 && !is_zero(s->bytes_sum, 16))
		return 0;
	if (!(s->flags & 1) && s->first_start != 0)
		return 0;
	if (!(s->flags & 2) && s->last_end != 0)
		return 0;
	/* no rows, no times (not in the table; aggformat.c and the encoder agree) */
	if (s->flows == 0 && s->flags != 0)
		return 0;
	return 1;
}

static void
put_u64_ref(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t) v;
}

static void
put_u32_ref(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t) v;
}

static void
fuzz_flow_stats(const uint8_t *data, size_t size)
{
	const char *msg = run_check(agg_check_flow_stats, data, size);
	FlowStats	s;
	int			ok = ref_flow_stats(data, size, &s);

	if ((msg == NULL) != ok)
		fprintf(stderr, "flow_stats: checker says \"%s\", reference %s\n",
				msg ? msg : "ok", ok ? "accepts" : "rejects");
	FUZZ_CHECK((msg == NULL) == ok);
	if (msg != NULL)
		return;
	FUZZ_CHECK(size == FLOW_STATS_FORMAT_SIZE);
	check_cuts(agg_check_flow_stats, data, size);
	{
		uint8_t		re[90];

		re[0] = AGG_FORMAT_VERSION;
		re[1] = s.flags;
		put_u64_ref(re + 2, s.flows);
		put_u64_ref(re + 10, s.accepts);
		put_u64_ref(re + 18, s.rejects);
		put_u64_ref(re + 26, s.packets_n);
		memcpy(re + 34, s.packets_sum, 16);
		put_u64_ref(re + 50, s.bytes_n);
		memcpy(re + 58, s.bytes_sum, 16);
		put_u64_ref(re + 74, (uint64_t) s.first_start);
		put_u64_ref(re + 82, (uint64_t) s.last_end);
		FUZZ_CHECK(memcmp(re, data, 90) == 0);
		/* the header's accessors read what we read */
		FUZZ_CHECK(agg_get_u64(data + 2) == s.flows);
		FUZZ_CHECK(agg_get_u32(data + 2) == (uint32_t) (s.flows >> 32));
	}
}

/* ---------- topk_state ---------- */

static int
ref_key(int kind, const uint8_t *k, size_t len)
{
	switch (kind)
	{
		case 1:
			return len == 8;
		case 2:
			return len <= 1024 * 1024 && memchr(k, 0, len) == NULL;
		case 3:
			return (len == 6 && k[0] == 4 && k[1] <= 32) ||
				(len == 18 && k[0] == 6 && k[1] <= 128);
		case 4:
			/* an address pair: two kind-3 keys, the first's family giving its length */
			for (size_t first = 6; first <= 18; first += 12)
				if (len >= first && ref_key(3, k, first) && ref_key(3, k + first, len - first))
					return 1;
			return 0;
		default:
			return 0;
	}
}

/* < 0, 0, > 0: integers numerically, others bytewise (a prefix first) */
static int
ref_key_cmp(int kind, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (kind == 1)
	{
		int64_t		x = (int64_t) get_u64_ref(a),
					y = (int64_t) get_u64_ref(b);

		return x < y ? -1 : x > y;
	}
	for (size_t i = 0; i < alen && i < blen; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return alen < blen ? -1 : alen > blen;
}

typedef struct TopkEntry
{
	uint64_t	count,
				error;
	size_t		off,
				len;
} TopkEntry;

/* docs/aggregates.md, "vpcflow.topk_state"; entries[] gets the decoded entries */
static int
ref_topk(const uint8_t *b, size_t len, TopkEntry *ent, uint32_t maxent, uint32_t *nent)
{
	uint32_t	kind,
				k,
				cap,
				n;
	uint64_t	total,
				sum = 0;
	size_t		pos = 22;

	if (len < 22 || b[0] != 1)
		return 0;
	kind = b[1];
	k = get_u32_ref(b + 2);
	cap = get_u32_ref(b + 6);
	n = get_u32_ref(b + 10);
	total = get_u64_ref(b + 14);
	if (kind > 4 || k < 1 || k > cap || cap > 100000 || n > cap)
		return 0;
	if (kind == 0 && n != 0)
		return 0;
	if (total > (uint64_t) INT64_MAX)
		return 0;
	/* each entry takes at least 20 bytes: more cannot fit */
	if (n > (len - 22) / 20 || n > maxent)
		return 0;
	for (uint32_t i = 0; i < n; i++)
	{
		TopkEntry  *e = &ent[i];
		uint32_t	klen;

		if (len - pos < 20)
			return 0;
		e->count = get_u64_ref(b + pos);
		e->error = get_u64_ref(b + pos + 8);
		klen = get_u32_ref(b + pos + 16);
		pos += 20;
		if (e->count < 1 || e->count > (uint64_t) INT64_MAX || e->error > e->count)
			return 0;
		if (klen > len - pos)
			return 0;
		e->off = pos;
		e->len = klen;
		if (!ref_key((int) kind, b + pos, klen))
			return 0;
		pos += klen;
		/* weight descending, then key ascending, no key twice */
		if (i > 0)
		{
			const TopkEntry *p = &ent[i - 1];

			if (e->count > p->count)
				return 0;
			if (e->count == p->count &&
				ref_key_cmp((int) kind, b + p->off, p->len, b + e->off, e->len) >= 0)
				return 0;
		}
		sum += e->count;		/* sum was <= total <= INT64_MAX: no wrap */
		if (sum > total)
			return 0;
	}
	*nent = n;
	return pos == len;
}

static void
fuzz_topk(const uint8_t *data, size_t size)
{
	const char *msg = run_check(agg_check_topk, data, size);
	uint32_t	maxent = (uint32_t) (size / 20 + 1);
	TopkEntry  *ent = malloc(sizeof(TopkEntry) * maxent);
	uint32_t	n = 0;
	int			ok;

	FUZZ_CHECK(ent != NULL);
	ok = ref_topk(data, size, ent, maxent, &n);
	if ((msg == NULL) != ok)
		fprintf(stderr, "topk: checker says \"%s\", reference %s\n",
				msg ? msg : "ok", ok ? "accepts" : "rejects");
	FUZZ_CHECK((msg == NULL) == ok);
	if (msg == NULL)
	{
		int			kind = data[1];
		uint8_t    *re = malloc(size);
		size_t		pos = TOPK_HEADER_SIZE;

		FUZZ_CHECK(re != NULL);
		check_cuts(agg_check_topk, data, size);
		/* re-encode from the decoded values */
		re[0] = AGG_FORMAT_VERSION;
		re[1] = (uint8_t) kind;
		put_u32_ref(re + 2, agg_get_u32(data + 2));
		put_u32_ref(re + 6, agg_get_u32(data + 6));
		put_u32_ref(re + 10, n);
		put_u64_ref(re + 14, agg_get_u64(data + 14));
		for (uint32_t i = 0; i < n; i++)
		{
			FUZZ_CHECK(pos + 20 + ent[i].len <= size);
			put_u64_ref(re + pos, ent[i].count);
			put_u64_ref(re + pos + 8, ent[i].error);
			put_u32_ref(re + pos + 16, (uint32_t) ent[i].len);
			memcpy(re + pos + 20, data + ent[i].off, ent[i].len);
			pos += 20 + ent[i].len;
			/* each stored key passes the key check on its own, and hashes */
			FUZZ_CHECK(run_check_key_ok(kind, data + ent[i].off, ent[i].len));
		}
		FUZZ_CHECK(pos == size && memcmp(re, data, size) == 0);
		free(re);
	}
	free(ent);
}

/* ---------- hll ---------- */

static int
ref_hll(const uint8_t *b, size_t len)
{
	int			p;

	if (len < 3 || b[0] != 1)
		return 0;
	p = b[1];
	if (p < 4 || p > 18)
		return 0;
	if (b[2] == 1)
	{
		uint32_t	n;

		if (len < 7)
			return 0;
		n = get_u32_ref(b + 3);
		if (n > ((uint32_t) 1 << p) / 8 || len != 7 + (size_t) n * 4)
			return 0;
		for (uint32_t i = 0; i < n; i++)
		{
			uint32_t	e = get_u32_ref(b + 7 + 4 * (size_t) i);
			uint32_t	idx = e >> 6,
						rho = e & 63;

			if (idx >= ((uint32_t) 1 << 25) || rho < 1 || rho > 40)
				return 0;
			if (i > 0 && idx <= (get_u32_ref(b + 7 + 4 * (size_t) (i - 1)) >> 6))
				return 0;
		}
		return 1;
	}
	if (b[2] == 2)
	{
		if (len != 3 + ((size_t) 1 << p))
			return 0;
		for (size_t i = 3; i < len; i++)
			if (b[i] > 65 - p)
				return 0;
		return 1;
	}
	return 0;
}

static void
check_estimate(double est)
{
	FUZZ_CHECK(!isnan(est));
	FUZZ_CHECK(est >= 0.0);
#ifdef FUZZ_STRICT_FINITE
	FUZZ_CHECK(isfinite(est));
#endif
}

static void
check_hll_accepted(const uint8_t *data, size_t size)
{
	int			p = data[1];
	uint32_t	m = (uint32_t) 1 << p;
	uint8_t    *regs = calloc(m, 1);
	uint32_t	hist[64 - HLL_MIN_PRECISION + 2];

	FUZZ_CHECK(regs != NULL);
	memset(hist, 0, sizeof(hist));
	if (data[2] == HLL_ENC_SPARSE)
	{
		uint32_t	n = agg_get_u32(data + 3);
		uint32_t	shist[64 - HLL_MIN_PRECISION + 2];

		FUZZ_CHECK(n <= HLL_SPARSE_LIMIT(p));
		memset(shist, 0, sizeof(shist));
		shist[0] = ((uint32_t) 1 << HLL_SPARSE_PRECISION) - n;
		for (uint32_t i = 0; i < n; i++)
		{
			uint32_t	e = agg_get_u32(data + 7 + (size_t) i * 4);
			uint32_t	idx;
			uint8_t		rho;

			agg_hll_fold(e, p, &idx, &rho);
			FUZZ_CHECK(idx < m);
			FUZZ_CHECK(rho >= 1 && rho <= HLL_MAX_RHO(p));
			if (regs[idx] < rho)
				regs[idx] = rho;
			FUZZ_CHECK(HLL_SPARSE_RHO(e) <= HLL_MAX_RHO(HLL_SPARSE_PRECISION));
			shist[HLL_SPARSE_RHO(e)]++;
		}
		/* the sparse estimate, as hll.c computes it */
		check_estimate(agg_hll_estimate(shist, HLL_SPARSE_PRECISION));
		if (n == 0)
			FUZZ_CHECK(agg_hll_estimate(shist, HLL_SPARSE_PRECISION) == 0.0);
	}
	else
	{
		FUZZ_CHECK(data[2] == HLL_ENC_DENSE && size == HLL_HEADER_SIZE + (size_t) m);
		memcpy(regs, data + HLL_HEADER_SIZE, m);
	}
	for (uint32_t i = 0; i < m; i++)
	{
		FUZZ_CHECK(regs[i] <= HLL_MAX_RHO(p));
		hist[regs[i]]++;
	}
	check_estimate(agg_hll_estimate(hist, p));
	if (hist[0] == m)
		FUZZ_CHECK(agg_hll_estimate(hist, p) == 0.0);
	free(regs);
}

static void
fuzz_hll_one(const uint8_t *data, size_t size)
{
	const char *msg = run_check(agg_check_hll, data, size);
	int			ok = ref_hll(data, size);

	if ((msg == NULL) != ok)
		fprintf(stderr, "hll: checker says \"%s\", reference %s\n",
				msg ? msg : "ok", ok ? "accepts" : "rejects");
	FUZZ_CHECK((msg == NULL) == ok);
	if (msg != NULL)
		return;
	check_cuts(agg_check_hll, data, size);
	check_hll_accepted(data, size);
}

static void
fuzz_hll(const uint8_t *data, size_t size)
{
	fuzz_hll_one(data, size);

	/* a long dense sketch from a short input */
	if (size >= 4 && data[0] == AGG_FORMAT_VERSION && data[1] > 11 &&
		data[1] <= HLL_MAX_PRECISION && data[2] == HLL_ENC_DENSE)
	{
		size_t		full = HLL_HEADER_SIZE + ((size_t) 1 << data[1]);
		size_t		given = size - HLL_HEADER_SIZE;
		uint8_t    *big = malloc(full);

		FUZZ_CHECK(big != NULL);
		memcpy(big, data, HLL_HEADER_SIZE);
		for (size_t i = HLL_HEADER_SIZE; i < full; i++)
			big[i] = data[HLL_HEADER_SIZE + (i - HLL_HEADER_SIZE) % given];
		fuzz_hll_one(big, full);
		free(big);
	}
}

/* ---------- keys and hashes ---------- */

static int
run_check_key_ok(int kind, const uint8_t *key, size_t len)
{
	uint8_t    *buf = malloc(len > 0 ? len : 1);
	const char *msg;

	FUZZ_CHECK(buf != NULL);
	if (len > 0)
		memcpy(buf, key, len);
	msg = agg_check_topk_key(kind, buf, len);
	if (msg != NULL)
		fuzz_touch_cstr(msg, 256);
	FUZZ_CHECK((msg == NULL) == ref_key(kind, key, len));
	/* agg_hash_bytes reads exactly the key: ASan checks the buffer's end */
	FUZZ_CHECK(agg_hash_bytes(buf, len) == agg_hash_bytes(key, len));
	free(buf);
	return msg == NULL;
}

static void
fuzz_keys(const uint8_t *data, size_t size)
{
	for (int kind = -1; kind <= 5; kind++)
		(void) run_check_key_ok(kind, data, size);

	/* a hash split at precision p equals its precision-25 entry folded to p */
	if (size >= 8)
	{
		uint64_t	h = agg_get_u64(data);
		uint32_t	idx25;
		uint8_t		rho25;

		agg_hll_split(h, HLL_SPARSE_PRECISION, &idx25, &rho25);
		FUZZ_CHECK(idx25 < ((uint32_t) 1 << HLL_SPARSE_PRECISION));
		FUZZ_CHECK(rho25 >= 1 && rho25 <= HLL_MAX_RHO(HLL_SPARSE_PRECISION));
		for (int p = HLL_MIN_PRECISION; p <= HLL_MAX_PRECISION; p++)
		{
			uint32_t	idx,
						fidx;
			uint8_t		rho,
						frho;

			agg_hll_split(h, p, &idx, &rho);
			FUZZ_CHECK(idx < ((uint32_t) 1 << p));
			FUZZ_CHECK(rho >= 1 && rho <= HLL_MAX_RHO(p));
			agg_hll_fold(idx25 << 6 | rho25, p, &fidx, &frho);
			FUZZ_CHECK(fidx == idx && frho == rho);
		}
		FUZZ_CHECK(agg_hash_int64((int64_t) h) == agg_hash_int64((int64_t) h));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_flow_stats(data, size);
	fuzz_topk(data, size);
	fuzz_hll(data, size);
	fuzz_keys(data, size);
	return 0;
}
