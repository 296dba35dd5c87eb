/*
 * anonymize.c
 *		Pseudonymisation: vpcflow.anonymize(inet, key) (Crypto-PAn, see
 *		cryptopan.h) and vpcflow.anonymize_id(text, key), a keyed hash of a
 *		resource id that keeps its shape (eni-, vpc-, ... prefix, length,
 *		hex or decimal digits), so pseudonymised ids still look like ids and
 *		join with each other; anything else (tags, ARNs) becomes 16 hex digits.
 */
#include "postgres.h"

#include <sys/socket.h>

#include "common/hmac.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/inet.h"

#include "cryptopan.h"
#include "idcodec.h"
#include "ipprefix.h"
#include "vpcflow.h"

/* the id hash's minimum key length: 128 bits */
#define ID_KEY_MIN 16
/* longest pseudonym body (awsid values are at most 1024 bytes) */
#define ID_BODY_MAX 1024

/* The expanded key, cached per call site: a query uses one key. */
typedef struct AnonCache
{
	uint8		key[CRYPTOPAN_KEY_LEN];
	CryptoPan	cp;
} AnonCache;

static const CryptoPan *
cached_cryptopan(FunctionCallInfo fcinfo, bytea *key)
{
	AnonCache  *cache = (AnonCache *) fcinfo->flinfo->fn_extra;

	if (VARSIZE_ANY_EXHDR(key) != CRYPTOPAN_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Crypto-PAn key must be %d bytes, not %zu",
						CRYPTOPAN_KEY_LEN, (size_t) VARSIZE_ANY_EXHDR(key)),
				 errhint("Make one with gen_random_bytes(32) (pgcrypto) or "
						 "decode(<64 hex digits>, 'hex'); keep it secret.")));
	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(AnonCache));
		fcinfo->flinfo->fn_extra = cache;
		cryptopan_init(&cache->cp, (const uint8 *) VARDATA_ANY(key));
		memcpy(cache->key, VARDATA_ANY(key), CRYPTOPAN_KEY_LEN);
	}
	else if (memcmp(cache->key, VARDATA_ANY(key), CRYPTOPAN_KEY_LEN) != 0)
	{
		cryptopan_init(&cache->cp, (const uint8 *) VARDATA_ANY(key));
		memcpy(cache->key, VARDATA_ANY(key), CRYPTOPAN_KEY_LEN);
	}
	return &cache->cp;
}

PG_FUNCTION_INFO_V1(vpcflow_anonymize);
Datum
vpcflow_anonymize(PG_FUNCTION_ARGS)
{
	inet	   *addr = PG_GETARG_INET_PP(0);
	bytea	   *key = PG_GETARG_BYTEA_PP(1);
	const CryptoPan *cp = cached_cryptopan(fcinfo, key);
	inet	   *res = (inet *) palloc0(sizeof(inet));
	int			nbits = ip_family(addr) == PGSQL_AF_INET ? 32 : 128;

	/* the whole address, whatever its mask: the mask length is kept */
	ip_family(res) = ip_family(addr);
	ip_bits(res) = ip_bits(addr);
	cryptopan_anonymize(cp, ip_addr(addr), nbits, ip_addr(res));
	SET_INET_VARSIZE(res);
	PG_RETURN_INET_P(res);
}

/* ---------- resource ids ---------- */

/*
 * A stream of pseudorandom bytes: HMAC-SHA256(key, "vpcflow-id" 0x00 id
 * counter), 32 bytes per counter value.
 */
typedef struct IdStream
{
	const uint8 *key;
	size_t		keylen;
	const char *id;
	size_t		idlen;
	uint8		block[PG_SHA256_DIGEST_LENGTH];
	int			used;
	uint8		counter;
} IdStream;

static uint8
id_stream_byte(IdStream *s)
{
	if (s->used == PG_SHA256_DIGEST_LENGTH)
	{
		pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
		static const char domain[] = "vpcflow-id";

		if (ctx == NULL ||
			pg_hmac_init(ctx, s->key, s->keylen) < 0 ||
			pg_hmac_update(ctx, (const uint8 *) domain, sizeof(domain)) < 0 ||
			pg_hmac_update(ctx, (const uint8 *) s->id, s->idlen) < 0 ||
			pg_hmac_update(ctx, &s->counter, 1) < 0 ||
			pg_hmac_final(ctx, s->block, sizeof(s->block)) < 0)
			elog(ERROR, "could not compute HMAC-SHA256: %s",
				 ctx ? pg_hmac_error(ctx) : "out of memory");
		pg_hmac_free(ctx);
		s->counter++;
		s->used = 0;
	}
	return s->block[s->used++];
}

/*
 * The prefix an id keeps: the known resource-id prefix ("eni-",
 * "tgw-attach-", ... the awsid prefix table of idcodec.c) when digits
 * follow, so exactly the ids awsid packs; bare decimal digits (an account)
 * keep none.  -1: not an id (a tag, an ARN, a name): nothing of it is kept.
 */
static int
id_shape(const char *s, size_t len, bool *decimal)
{
	uint8		enc[ID_ENCODED_MAX(ID_BODY_MAX)];
	size_t		ndig;

	*decimal = false;
	if (len > ID_BODY_MAX || id_encode(s, len, enc) == 0 || !(enc[0] & 0x80))
		return -1;
	ndig = enc[1];
	if (ndig == 0 || ndig > len)
		return -1;
	if (ndig == len)
	{
		*decimal = true;
		for (size_t i = 0; i < len; i++)
			if (!(s[i] >= '0' && s[i] <= '9'))
				*decimal = false;
	}
	return (int) (len - ndig);
}

PG_FUNCTION_INFO_V1(vpcflow_anonymize_id);
Datum
vpcflow_anonymize_id(PG_FUNCTION_ARGS)
{
	text	   *id = PG_GETARG_TEXT_PP(0);
	bytea	   *key = PG_GETARG_BYTEA_PP(1);
	const char *s = VARDATA_ANY(id);
	size_t		len = VARSIZE_ANY_EXHDR(id);
	IdStream	st;
	bool		decimal;
	int			prefix;
	size_t		body;
	char	   *out;
	static const char hexdig[] = "0123456789abcdef";

	if (VARSIZE_ANY_EXHDR(key) < ID_KEY_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("resource id pseudonymisation key must be at least %d bytes, not %zu",
						ID_KEY_MIN, (size_t) VARSIZE_ANY_EXHDR(key))));
	if (len == 0)
		PG_RETURN_TEXT_P(id);

	st.key = (const uint8 *) VARDATA_ANY(key);
	st.keylen = VARSIZE_ANY_EXHDR(key);
	st.id = s;
	st.idlen = len;
	st.used = PG_SHA256_DIGEST_LENGTH;
	st.counter = 0;

	prefix = id_shape(s, len, &decimal);
	if (prefix < 0)
	{
		/* free text (a tag, an ARN): 16 hex digits, nothing of it kept */
		prefix = 0;
		body = 16;
		decimal = false;
	}
	else
		body = len - prefix;
	if (body > ID_BODY_MAX)
		body = ID_BODY_MAX;		/* well inside the counter's 255 blocks */

	out = palloc(prefix + body + 1);
	memcpy(out, s, prefix);
	for (size_t i = 0; i < body; i++)
	{
		uint8		b;

		if (decimal)
		{
			/* unbiased: 250 is a multiple of 10 */
			do
				b = id_stream_byte(&st);
			while (b >= 250);
			out[prefix + i] = (char) ('0' + b % 10);
		}
		else
			out[prefix + i] = hexdig[id_stream_byte(&st) & 0x0f];
	}
	out[prefix + body] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, prefix + body));
}

/* ---------- networks ---------- */

/*
 * A network's pseudonym: the first masklen bits through Crypto-PAn, the
 * host bits left zero, so it is the network of its addresses' pseudonyms:
 * anonymize(network(a/k)) = network(anonymize(a)/k).
 */
PG_FUNCTION_INFO_V1(vpcflow_anonymize_cidr);
Datum
vpcflow_anonymize_cidr(PG_FUNCTION_ARGS)
{
	inet	   *net = PG_GETARG_INET_PP(0);
	bytea	   *key = PG_GETARG_BYTEA_PP(1);
	const CryptoPan *cp = cached_cryptopan(fcinfo, key);
	inet	   *res = (inet *) palloc0(sizeof(inet));

	ip_family(res) = ip_family(net);
	ip_bits(res) = ip_bits(net);
	memcpy(ip_addr(res), ip_addr(net), ip_addrsize(net));
	cryptopan_anonymize(cp, ip_addr(net), ip_bits(net), ip_addr(res));
	SET_INET_VARSIZE(res);
	PG_RETURN_INET_P(res);
}

PG_FUNCTION_INFO_V1(vpcflow_anonymize_ipprefix);
Datum
vpcflow_anonymize_ipprefix(PG_FUNCTION_ARGS)
{
	IpPrefix   *p = PG_GETARG_IPPREFIX_P(0);
	bytea	   *key = PG_GETARG_BYTEA_PP(1);
	const CryptoPan *cp = cached_cryptopan(fcinfo, key);
	IpPrefix   *res = palloc0(sizeof(IpPrefix));

	*res = *p;
	cryptopan_anonymize(cp, p->addr, p->bits, res->addr);
	PG_RETURN_IPPREFIX_P(res);
}
