/*
 * awsid.c
 *		vpcflow.awsid: a resource id column type (interface, VPC, subnet,
 *		instance, account ids) stored in the compact encoding of idcodec.c.
 *
 * It reads and prints as the exact original text, sorts like text in the
 * C collation, and casts implicitly to text so string functions and BI
 * tools see an ordinary string.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "idcodec.h"
#include "vpcflow.h"

/* Ids longer than this are not ids; the limit bounds stack buffers. */
#define AWSID_MAX_LENGTH 1024

Datum
awsid_from_cstring_len(const char *s, size_t len)
{
	bytea	   *result;
	size_t		n;

	if (len > AWSID_MAX_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("resource id is too long (%zu bytes, at most %d)",
						len, AWSID_MAX_LENGTH)));
	result = (bytea *) palloc(VARHDRSZ + ID_ENCODED_MAX(len));
	n = id_encode(s, len, (uint8 *) VARDATA(result));
	SET_VARSIZE(result, VARHDRSZ + n);
	return PointerGetDatum(result);
}

/*
 * Ingest encodes the same few thousand ids over and over: a direct-mapped
 * cache of recent encodings, per backend, held inline in the entries.
 *
 * A hit is copied into the caller's buffer rather than returned in place:
 * one row converts several ids (account, interface, vpc, subnet, ...), and
 * two of them may share a slot, so a later id of the row replaces the entry
 * an earlier one came from.  (Returning the entry itself once left the
 * earlier column pointing at a freed encoding that the next id's encoding
 * reused: the account was stored as the row's vpc or instance id.)
 */
#define AWSID_CACHE_SIZE 1024

typedef struct AwsidCacheEntry
{
	uint8		len;			/* of id; 0 while the entry is empty */
	uint8		enclen;			/* of encoded */
	char		id[AWSID_CACHE_MAX_ID];
	uint8		encoded[ID_ENCODED_MAX(AWSID_CACHE_MAX_ID)];
} AwsidCacheEntry;

static AwsidCacheEntry *awsid_cache = NULL;

Datum
awsid_from_cstring_cached(const char *s, size_t len, AwsidBuf *buf)
{
	AwsidCacheEntry *e;
	uint32		h;

	StaticAssertStmt(sizeof(buf->data) >= VARHDRSZ + ID_ENCODED_MAX(AWSID_CACHE_MAX_ID),
					 "AwsidBuf too small for a cached id");
	if (len == 0 || len > AWSID_CACHE_MAX_ID)
		return awsid_from_cstring_len(s, len);
	if (awsid_cache == NULL)
		awsid_cache = MemoryContextAllocZero(TopMemoryContext,
											 sizeof(AwsidCacheEntry) * AWSID_CACHE_SIZE);
	h = hash_bytes((const unsigned char *) s, (int) len);
	e = &awsid_cache[h % AWSID_CACHE_SIZE];
	if (e->len != len || memcmp(e->id, s, len) != 0)
	{
		e->enclen = (uint8) id_encode(s, len, e->encoded);
		e->len = (uint8) len;
		memcpy(e->id, s, len);
	}
	memcpy(VARDATA(buf->data), e->encoded, e->enclen);
	SET_VARSIZE(buf->data, VARHDRSZ + e->enclen);
	return PointerGetDatum(buf->data);
}

/* Decode into buf (AWSID_MAX_LENGTH + 1 bytes); returns the length. */
static long
awsid_decode(const struct varlena *id, char *buf)
{
	long		len = id_decode((const uint8 *) VARDATA_ANY(id),
								VARSIZE_ANY_EXHDR(id), buf, AWSID_MAX_LENGTH);

	if (len < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid vpcflow.awsid value")));
	buf[len] = '\0';
	return len;
}

PG_FUNCTION_INFO_V1(awsid_in);
Datum
awsid_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);

	PG_RETURN_DATUM(awsid_from_cstring_len(s, strlen(s)));
}

PG_FUNCTION_INFO_V1(awsid_out);
Datum
awsid_out(PG_FUNCTION_ARGS)
{
	struct varlena *id = PG_GETARG_VARLENA_PP(0);
	char		buf[AWSID_MAX_LENGTH + 1];

	awsid_decode(id, buf);
	PG_RETURN_CSTRING(pstrdup(buf));
}

/* Binary form is the text form: loaders need not know the encoding. */
PG_FUNCTION_INFO_V1(awsid_recv);
Datum
awsid_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	int			nbytes;
	char	   *s = pq_getmsgtext(msg, msg->len - msg->cursor, &nbytes);

	PG_RETURN_DATUM(awsid_from_cstring_len(s, nbytes));
}

PG_FUNCTION_INFO_V1(awsid_send);
Datum
awsid_send(PG_FUNCTION_ARGS)
{
	struct varlena *id = PG_GETARG_VARLENA_PP(0);
	char		buf[AWSID_MAX_LENGTH + 1];
	long		len = awsid_decode(id, buf);
	StringInfoData out;

	pq_begintypsend(&out);
	pq_sendtext(&out, buf, len);
	PG_RETURN_BYTEA_P(pq_endtypsend(&out));
}

PG_FUNCTION_INFO_V1(awsid_to_text);
Datum
awsid_to_text(PG_FUNCTION_ARGS)
{
	struct varlena *id = PG_GETARG_VARLENA_PP(0);
	char		buf[AWSID_MAX_LENGTH + 1];
	long		len = awsid_decode(id, buf);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf, len));
}

PG_FUNCTION_INFO_V1(awsid_from_text);
Datum
awsid_from_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_DATUM(awsid_from_cstring_len(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}

/* Text order (C collation) of the decoded ids. */
static int
awsid_compare(struct varlena *a, struct varlena *b)
{
	const uint8 *ea = (const uint8 *) VARDATA_ANY(a);
	const uint8 *eb = (const uint8 *) VARDATA_ANY(b);
	size_t		la = VARSIZE_ANY_EXHDR(a);
	size_t		lb = VARSIZE_ANY_EXHDR(b);
	char		da[AWSID_MAX_LENGTH + 1];
	char		db[AWSID_MAX_LENGTH + 1];
	long		na,
				nb;
	int			c;

	/* same prefix and digit count: nibble order is text order */
	if (la == lb && la >= 2 && ea[0] == eb[0] && ea[0] != ID_TAG_RAW && ea[1] == eb[1])
		return memcmp(ea + 2, eb + 2, la - 2);

	na = awsid_decode(a, da);
	nb = awsid_decode(b, db);
	c = memcmp(da, db, Min(na, nb));
	if (c != 0)
		return c;
	return (na > nb) - (na < nb);
}

/* Canonical encoding: equal ids have equal bytes. */
static bool
awsid_equal(struct varlena *a, struct varlena *b)
{
	size_t		la = VARSIZE_ANY_EXHDR(a);

	return la == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), la) == 0;
}

#define AWSID_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	struct varlena *a = PG_GETARG_VARLENA_PP(0); \
	struct varlena *b = PG_GETARG_VARLENA_PP(1); \
	PG_RETURN_BOOL(expr); \
}

AWSID_CMP_FN(awsid_eq, awsid_equal(a, b))
AWSID_CMP_FN(awsid_ne, !awsid_equal(a, b))
AWSID_CMP_FN(awsid_lt, awsid_compare(a, b) < 0)
AWSID_CMP_FN(awsid_le, awsid_compare(a, b) <= 0)
AWSID_CMP_FN(awsid_gt, awsid_compare(a, b) > 0)
AWSID_CMP_FN(awsid_ge, awsid_compare(a, b) >= 0)

PG_FUNCTION_INFO_V1(awsid_cmp);
Datum
awsid_cmp(PG_FUNCTION_ARGS)
{
	struct varlena *a = PG_GETARG_VARLENA_PP(0);
	struct varlena *b = PG_GETARG_VARLENA_PP(1);
	int			c = awsid_compare(a, b);

	PG_RETURN_INT32((c > 0) - (c < 0));
}

PG_FUNCTION_INFO_V1(awsid_hash);
Datum
awsid_hash(PG_FUNCTION_ARGS)
{
	struct varlena *a = PG_GETARG_VARLENA_PP(0);

	return hash_any((const unsigned char *) VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a));
}

PG_FUNCTION_INFO_V1(awsid_hash_extended);
Datum
awsid_hash_extended(PG_FUNCTION_ARGS)
{
	struct varlena *a = PG_GETARG_VARLENA_PP(0);

	return hash_any_extended((const unsigned char *) VARDATA_ANY(a),
							 VARSIZE_ANY_EXHDR(a), PG_GETARG_INT64(1));
}
