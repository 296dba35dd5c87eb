/*
 * ipprefix.c
 *		vpcflow.ipprefix: an IPv4 or IPv6 CIDR prefix, fixed width (18
 *		bytes, see lpmtrie.h), with casts to and from inet, cidr and text,
 *		containment operators (also against inet), btree and hash operator
 *		classes (the hash is platform independent) and an SP-GiST operator
 *		class for containment searches.
 */
#include "postgres.h"

#include "access/spgist.h"
#include "access/stratnum.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/inet.h"

#include "ipprefix.h"

/* SP-GiST strategy numbers (our own operator class) */
#define IPP_STRAT_OVERLAP	3	/* && */
#define IPP_STRAT_EQ		18	/* = */
#define IPP_STRAT_SUB		24	/* << */
#define IPP_STRAT_SUBEQ		25	/* <<= */
#define IPP_STRAT_SUP		26	/* >> */
#define IPP_STRAT_SUPEQ		27	/* >>= */

static IpPrefix *
ipprefix_parse_or_error(const char *s, size_t len, const char *what)
{
	IpPrefix   *p = palloc(sizeof(IpPrefix));
	IpPrefixParseResult r = ipprefix_parse(s, len, p);

	if (r != IPP_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%.*s\"", what,
						(int) Min(len, 200), s),
				 errdetail("%s.", ipprefix_parse_error(r)),
				 r == IPP_ERR_HOSTBITS ?
				 errhint("Write the network address, or use network(inet) to clear the host bits.") : 0));
	return p;
}

PG_FUNCTION_INFO_V1(ipprefix_in);
Datum
ipprefix_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);

	PG_RETURN_IPPREFIX_P(ipprefix_parse_or_error(s, strlen(s), "vpcflow.ipprefix"));
}

PG_FUNCTION_INFO_V1(ipprefix_out);
Datum
ipprefix_out(PG_FUNCTION_ARGS)
{
	IpPrefix   *p = PG_GETARG_IPPREFIX_P(0);
	char	   *buf = palloc(IPPREFIX_MAXSTR);

	ipprefix_format(p, buf);
	PG_RETURN_CSTRING(buf);
}

/* Binary form: family (4 or 6), mask length, then 4 or 16 address bytes. */
PG_FUNCTION_INFO_V1(ipprefix_recv);
Datum
ipprefix_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	IpPrefix   *p = palloc0(sizeof(IpPrefix));
	uint8		check[16];
	int			n;

	p->family = (uint8) pq_getmsgbyte(msg);
	p->bits = (uint8) pq_getmsgbyte(msg);
	if (p->family != 4 && p->family != 6)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid address family %d in external vpcflow.ipprefix value",
						p->family)));
	if (p->bits > ipprefix_maxbits(p))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid mask length %d in external vpcflow.ipprefix value",
						p->bits)));
	n = p->family == 4 ? 4 : 16;
	pq_copymsgbytes(msg, (char *) p->addr, n);
	memcpy(check, p->addr, 16);
	ip_clear_host_bits(check, p->bits, 16);
	if (memcmp(check, p->addr, 16) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("external vpcflow.ipprefix value has bits set to the right of the mask")));
	PG_RETURN_IPPREFIX_P(p);
}

PG_FUNCTION_INFO_V1(ipprefix_send);
Datum
ipprefix_send(PG_FUNCTION_ARGS)
{
	IpPrefix   *p = PG_GETARG_IPPREFIX_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, p->family);
	pq_sendbyte(&buf, p->bits);
	pq_sendbytes(&buf, (const char *) p->addr, p->family == 4 ? 4 : 16);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---------------------------------------------------------------- casts */

/* inet or cidr to ipprefix: the mask length is kept; host bits are an error. */
PG_FUNCTION_INFO_V1(ipprefix_from_inet);
Datum
ipprefix_from_inet(PG_FUNCTION_ARGS)
{
	inet	   *in = PG_GETARG_INET_PP(0);
	IpPrefix   *p = palloc(sizeof(IpPrefix));
	uint8		check[16];

	inet_to_ipprefix(in, p, false);
	memcpy(check, p->addr, 16);
	ip_clear_host_bits(check, p->bits, 16);
	if (memcmp(check, p->addr, 16) != 0)
	{
		char		buf[IPPREFIX_MAXSTR];

		ipprefix_format(p, buf);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot convert inet value \"%s\" to vpcflow.ipprefix", buf),
				 errdetail("The address has bits set to the right of the mask."),
				 errhint("Use network(inet) to clear the host bits, or host addresses (/32, /128).")));
	}
	PG_RETURN_IPPREFIX_P(p);
}

static inet *
ipprefix_to_inet_internal(const IpPrefix *p)
{
	inet	   *res = palloc0(sizeof(inet));

	ip_family(res) = p->family == 4 ? PGSQL_AF_INET : PGSQL_AF_INET6;
	ip_bits(res) = p->bits;
	memcpy(ip_addr(res), p->addr, p->family == 4 ? 4 : 16);
	SET_INET_VARSIZE(res);
	return res;
}

/* The same bytes serve as inet and cidr (host bits are zero). */
PG_FUNCTION_INFO_V1(ipprefix_to_inet);
Datum
ipprefix_to_inet(PG_FUNCTION_ARGS)
{
	PG_RETURN_INET_P(ipprefix_to_inet_internal(PG_GETARG_IPPREFIX_P(0)));
}

PG_FUNCTION_INFO_V1(ipprefix_masklen);
Datum
ipprefix_masklen(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_IPPREFIX_P(0)->bits);
}

PG_FUNCTION_INFO_V1(ipprefix_family);
Datum
ipprefix_family(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_IPPREFIX_P(0)->family);
}

/* ---------------------------------------------------------------- comparison */

#define IPP_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	IpPrefix   *a = PG_GETARG_IPPREFIX_P(0); \
	IpPrefix   *b = PG_GETARG_IPPREFIX_P(1); \
	PG_RETURN_BOOL(expr); \
}

IPP_CMP_FN(ipprefix_eq, memcmp(a, b, IPPREFIX_SIZE) == 0)
IPP_CMP_FN(ipprefix_ne, memcmp(a, b, IPPREFIX_SIZE) != 0)
IPP_CMP_FN(ipprefix_lt, ipprefix_cmp(a, b) < 0)
IPP_CMP_FN(ipprefix_le, ipprefix_cmp(a, b) <= 0)
IPP_CMP_FN(ipprefix_gt, ipprefix_cmp(a, b) > 0)
IPP_CMP_FN(ipprefix_ge, ipprefix_cmp(a, b) >= 0)
IPP_CMP_FN(ipprefix_contains_fn, ipprefix_contains(a, b))
IPP_CMP_FN(ipprefix_contains_strict, a->bits < b->bits && ipprefix_contains(a, b))
IPP_CMP_FN(ipprefix_contained, ipprefix_contains(b, a))
IPP_CMP_FN(ipprefix_contained_strict, b->bits < a->bits && ipprefix_contains(b, a))
IPP_CMP_FN(ipprefix_overlaps_fn, ipprefix_overlaps(a, b))

PG_FUNCTION_INFO_V1(ipprefix_cmp_fn);
Datum
ipprefix_cmp_fn(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ipprefix_cmp(PG_GETARG_IPPREFIX_P(0), PG_GETARG_IPPREFIX_P(1)));
}

PG_FUNCTION_INFO_V1(ipprefix_hash);
Datum
ipprefix_hash(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) (uint32) ipprefix_hash64(PG_GETARG_IPPREFIX_P(0), 0));
}

PG_FUNCTION_INFO_V1(ipprefix_hash_extended);
Datum
ipprefix_hash_extended(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) ipprefix_hash64(PG_GETARG_IPPREFIX_P(0),
											(uint64) PG_GETARG_INT64(1)));
}

/* ipprefix against inet: the inet value is taken as its network and mask length */

#define IPP_INET_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	IpPrefix   *a = PG_GETARG_IPPREFIX_P(0); \
	IpPrefix	b; \
	inet_to_ipprefix(PG_GETARG_INET_PP(1), &b, true); \
	PG_RETURN_BOOL(expr); \
}

#define INET_IPP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	IpPrefix	a; \
	IpPrefix   *b = PG_GETARG_IPPREFIX_P(1); \
	inet_to_ipprefix(PG_GETARG_INET_PP(0), &a, true); \
	PG_RETURN_BOOL(expr); \
}

IPP_INET_FN(ipprefix_contains_inet, ipprefix_contains(a, &b))
IPP_INET_FN(ipprefix_contains_strict_inet, a->bits < b.bits && ipprefix_contains(a, &b))
INET_IPP_FN(inet_contained_by_ipprefix, ipprefix_contains(b, &a))
INET_IPP_FN(inet_contained_strict_by_ipprefix, b->bits < a.bits && ipprefix_contains(b, &a))

/* ---------------------------------------------------------------- SP-GiST */

/*
 * A radix tree on the address bits, as PostgreSQL's inet SP-GiST opclass:
 * an inner tuple either splits by family (no prefix, node 0 IPv4, node 1
 * IPv6) or has a prefix P of c bits that all its values start with; node
 * (bit c of the value) | 2 * (value longer than c).  Leaves hold the value.
 */
static int
spg_node_number(const IpPrefix *v, int c)
{
	int			n = 0;

	if (c < ipprefix_maxbits(v) && (v->addr[c / 8] & (0x80 >> (c % 8))))
		n |= 1;
	if (c < v->bits)
		n |= 2;
	return n;
}

static IpPrefix *
spg_prefix_of(const IpPrefix *v, int bits)
{
	IpPrefix   *p = palloc(sizeof(IpPrefix));

	*p = *v;
	p->bits = (uint8) bits;
	ip_clear_host_bits(p->addr, bits, 16);
	return p;
}

PG_FUNCTION_INFO_V1(ipprefix_spg_config);
Datum
ipprefix_spg_config(PG_FUNCTION_ARGS)
{
	spgConfigIn *cfgin = (spgConfigIn *) PG_GETARG_POINTER(0);
	spgConfigOut *cfg = (spgConfigOut *) PG_GETARG_POINTER(1);

	cfg->prefixType = cfgin->attType;
	cfg->labelType = VOIDOID;
	cfg->canReturnData = true;
	cfg->longValuesOK = false;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(ipprefix_spg_choose);
Datum
ipprefix_spg_choose(PG_FUNCTION_ARGS)
{
	spgChooseIn *in = (spgChooseIn *) PG_GETARG_POINTER(0);
	spgChooseOut *out = (spgChooseOut *) PG_GETARG_POINTER(1);
	IpPrefix   *val = DatumGetIpPrefixP(in->datum);
	IpPrefix   *prefix;
	int			c;

	if (!in->hasPrefix)
	{
		/* a family split */
		out->resultType = spgMatchNode;
		out->result.matchNode.nodeN = val->family == 4 ? 0 : 1;
		out->result.matchNode.levelAdd = 0;
		out->result.matchNode.restDatum = in->datum;
		PG_RETURN_VOID();
	}

	prefix = DatumGetIpPrefixP(in->prefixDatum);
	c = prefix->bits;

	if (val->family != prefix->family)
	{
		/* a family split above this tuple */
		out->resultType = spgSplitTuple;
		out->result.splitTuple.prefixHasPrefix = false;
		out->result.splitTuple.prefixNNodes = 2;
		out->result.splitTuple.prefixNodeLabels = NULL;
		out->result.splitTuple.childNodeN = prefix->family == 4 ? 0 : 1;
		out->result.splitTuple.postfixHasPrefix = true;
		out->result.splitTuple.postfixPrefixDatum = in->prefixDatum;
		PG_RETURN_VOID();
	}

	if (val->bits < c || !ip_bits_equal(prefix->addr, val->addr, c))
	{
		/* a shorter common prefix above this tuple */
		int			common = ip_bits_common(prefix->addr, val->addr, Min(val->bits, c));

		out->resultType = spgSplitTuple;
		out->result.splitTuple.prefixHasPrefix = true;
		out->result.splitTuple.prefixPrefixDatum =
			IpPrefixPGetDatum(spg_prefix_of(val, common));
		out->result.splitTuple.prefixNNodes = 4;
		out->result.splitTuple.prefixNodeLabels = NULL;
		out->result.splitTuple.childNodeN = spg_node_number(prefix, common);
		out->result.splitTuple.postfixHasPrefix = true;
		out->result.splitTuple.postfixPrefixDatum = in->prefixDatum;
		PG_RETURN_VOID();
	}

	out->resultType = spgMatchNode;
	out->result.matchNode.nodeN = spg_node_number(val, c);
	out->result.matchNode.levelAdd = 0;
	out->result.matchNode.restDatum = in->datum;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(ipprefix_spg_picksplit);
Datum
ipprefix_spg_picksplit(PG_FUNCTION_ARGS)
{
	spgPickSplitIn *in = (spgPickSplitIn *) PG_GETARG_POINTER(0);
	spgPickSplitOut *out = (spgPickSplitOut *) PG_GETARG_POINTER(1);
	IpPrefix   *first = DatumGetIpPrefixP(in->datums[0]);
	bool		mixed = false;
	int			c = first->bits;
	int			i;

	for (i = 1; i < in->nTuples; i++)
	{
		IpPrefix   *v = DatumGetIpPrefixP(in->datums[i]);

		if (v->family != first->family)
		{
			mixed = true;
			break;
		}
		c = ip_bits_common(first->addr, v->addr, Min(c, v->bits));
	}

	out->nodeLabels = NULL;
	out->mapTuplesToNodes = palloc(sizeof(int) * in->nTuples);
	out->leafTupleDatums = palloc(sizeof(Datum) * in->nTuples);
	if (mixed)
	{
		out->hasPrefix = false;
		out->nNodes = 2;
	}
	else
	{
		out->hasPrefix = true;
		out->prefixDatum = IpPrefixPGetDatum(spg_prefix_of(first, c));
		out->nNodes = 4;
	}
	for (i = 0; i < in->nTuples; i++)
	{
		IpPrefix   *v = DatumGetIpPrefixP(in->datums[i]);

		out->mapTuplesToNodes[i] = mixed ? (v->family == 4 ? 0 : 1) : spg_node_number(v, c);
		out->leafTupleDatums[i] = in->datums[i];
	}
	PG_RETURN_VOID();
}

/* The query value of a scan key as a prefix (inet: its network). */
static void
spg_query(ScanKey sk, IpPrefix *q)
{
	if (sk->sk_subtype == INETOID || sk->sk_subtype == CIDROID)
		inet_to_ipprefix(DatumGetInetPP(sk->sk_argument), q, true);
	else
		*q = *DatumGetIpPrefixP(sk->sk_argument);
}

/*
 * Can a value under node nodeN of an inner tuple with prefix P (c bits)
 * satisfy "value OP q"?  nodeN -1: any node (an allTheSame tuple).  False
 * only when certainly not.
 */
static bool
spg_node_may_match(StrategyNumber strategy, const IpPrefix *P, int nodeN,
				   const IpPrefix *q)
{
	int			c = P->bits;
	bool		exact = nodeN >= 0 && !(nodeN & 2);	/* values are P itself */
	bool		longer = nodeN >= 0 && (nodeN & 2); /* values longer than c */
	int			bit = nodeN & 1;
	int			qbit = (c < ipprefix_maxbits(q) &&
						(q->addr[c / 8] & (0x80 >> (c % 8)))) ? 1 : 0;

	if (q->family != P->family)
		return false;

	switch (strategy)
	{
		case IPP_STRAT_SUPEQ:	/* value >>= q */
		case IPP_STRAT_SUP:	/* value >> q */
			{
				int			need = strategy == IPP_STRAT_SUP ? 1 : 0;

				/* value bits >= c (> c in longer nodes), must be <= q bits */
				if (q->bits < c + need)
					return false;
				if (!ip_bits_equal(P->addr, q->addr, c))
					return false;
				if (longer && (q->bits < c + 1 + need || qbit != bit))
					return false;
				return true;
			}
		case IPP_STRAT_SUBEQ:	/* value <<= q */
		case IPP_STRAT_SUB:	/* value << q */
			if (!ip_bits_equal(P->addr, q->addr, Min(c, q->bits)))
				return false;
			if (q->bits > c)
			{
				if (exact)
					return false;
				if (longer && qbit != bit)
					return false;
			}
			if (strategy == IPP_STRAT_SUB && exact && c <= q->bits)
				return false;
			return true;
		case IPP_STRAT_OVERLAP:
			return spg_node_may_match(IPP_STRAT_SUPEQ, P, nodeN, q) ||
				spg_node_may_match(IPP_STRAT_SUBEQ, P, nodeN, q);
		case IPP_STRAT_EQ:
			if (q->bits < c || !ip_bits_equal(P->addr, q->addr, c))
				return false;
			if (nodeN >= 0 && spg_node_number(q, c) != nodeN)
				return false;
			return true;
		default:
			elog(ERROR, "unrecognized strategy number: %d", strategy);
	}
	return true;
}

PG_FUNCTION_INFO_V1(ipprefix_spg_inner_consistent);
Datum
ipprefix_spg_inner_consistent(PG_FUNCTION_ARGS)
{
	spgInnerConsistentIn *in = (spgInnerConsistentIn *) PG_GETARG_POINTER(0);
	spgInnerConsistentOut *out = (spgInnerConsistentOut *) PG_GETARG_POINTER(1);
	IpPrefix	q[8];
	IpPrefix   *qs = in->nkeys <= 8 ? q : palloc(sizeof(IpPrefix) * in->nkeys);
	int			i,
				k;

	for (k = 0; k < in->nkeys; k++)
		spg_query(&in->scankeys[k], &qs[k]);

	out->nNodes = 0;
	out->nodeNumbers = palloc(sizeof(int) * in->nNodes);

	if (!in->hasPrefix)
	{
		/* family split: every key names one family */
		for (i = 0; i < in->nNodes; i++)
		{
			bool		ok = true;

			for (k = 0; k < in->nkeys && ok; k++)
				ok = (qs[k].family == 4 ? 0 : 1) == i;
			if (ok)
				out->nodeNumbers[out->nNodes++] = i;
		}
		PG_RETURN_VOID();
	}

	if (in->allTheSame)
	{
		/* all or none */
		bool		ok = true;

		for (k = 0; k < in->nkeys && ok; k++)
			ok = spg_node_may_match(in->scankeys[k].sk_strategy,
									DatumGetIpPrefixP(in->prefixDatum), -1, &qs[k]);
		if (ok)
			for (i = 0; i < in->nNodes; i++)
				out->nodeNumbers[out->nNodes++] = i;
		PG_RETURN_VOID();
	}

	for (i = 0; i < in->nNodes; i++)
	{
		bool		ok = true;

		for (k = 0; k < in->nkeys && ok; k++)
			ok = spg_node_may_match(in->scankeys[k].sk_strategy,
									DatumGetIpPrefixP(in->prefixDatum), i, &qs[k]);
		if (ok)
			out->nodeNumbers[out->nNodes++] = i;
	}
	PG_RETURN_VOID();
}

static bool
ipprefix_op(StrategyNumber strategy, const IpPrefix *v, const IpPrefix *q)
{
	switch (strategy)
	{
		case IPP_STRAT_OVERLAP:
			return ipprefix_overlaps(v, q);
		case IPP_STRAT_EQ:
			return memcmp(v, q, IPPREFIX_SIZE) == 0;
		case IPP_STRAT_SUB:
			return q->bits < v->bits && ipprefix_contains(q, v);
		case IPP_STRAT_SUBEQ:
			return ipprefix_contains(q, v);
		case IPP_STRAT_SUP:
			return v->bits < q->bits && ipprefix_contains(v, q);
		case IPP_STRAT_SUPEQ:
			return ipprefix_contains(v, q);
		default:
			elog(ERROR, "unrecognized strategy number: %d", strategy);
	}
	return false;
}

PG_FUNCTION_INFO_V1(ipprefix_spg_leaf_consistent);
Datum
ipprefix_spg_leaf_consistent(PG_FUNCTION_ARGS)
{
	spgLeafConsistentIn *in = (spgLeafConsistentIn *) PG_GETARG_POINTER(0);
	spgLeafConsistentOut *out = (spgLeafConsistentOut *) PG_GETARG_POINTER(1);
	IpPrefix   *v = DatumGetIpPrefixP(in->leafDatum);
	int			k;

	out->recheck = false;
	out->leafValue = in->leafDatum;
	for (k = 0; k < in->nkeys; k++)
	{
		IpPrefix	q;

		spg_query(&in->scankeys[k], &q);
		if (!ipprefix_op(in->scankeys[k].sk_strategy, v, &q))
			PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(true);
}
