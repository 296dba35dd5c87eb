/*
 * idcodec.c
 *		Compact, exact encoding of cloud resource ids (see idcodec.h).
 *
 * AWS ids are a type prefix and 8 or 17 lowercase hex digits; account ids
 * are 12 decimal digits.  Packing the digits as nibbles halves them: an
 * interface id takes 11 bytes instead of 21, an account id 8 instead of 12.
 */
#include "idcodec.h"

#include <string.h>

/* Append-only: the index is stored on disk. */
static const char *const id_prefixes[] = {
	"",							/* 0: bare digits (account ids) */
	"eni-",
	"vpc-",
	"subnet-",
	"i-",
	"tgw-",
	"tgw-attach-",
	"nat-",
	"vpce-",
	"igw-",
	"eigw-",
	"pcx-",
	"vgw-",
	"lgw-",
	"cgw-",
	"rtb-",
	"sg-",
	"acl-",
	"elb-",
	"fl-",
	"vpn-",
	"dxgw-",
	"tgw-rtb-",
	"eipalloc-",
};

#define NUM_PREFIXES ((int) (sizeof(id_prefixes) / sizeof(id_prefixes[0])))

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * The longest known prefix after which only lowercase hex digits follow.
 * Ingest calls this for every id, so reject most prefixes by their first
 * byte before comparing.
 */
static int
packable_prefix(const char *s, size_t len)
{
	int			best = -1;
	size_t		bestlen = 0;
	size_t		k;

	if (len == 0)
		return -1;
	for (int i = 0; i < NUM_PREFIXES; i++)
	{
		const char *prefix = id_prefixes[i];
		size_t		plen;

		if (prefix[0] != '\0' && prefix[0] != s[0])
			continue;
		plen = strlen(prefix);
		if (plen > len || (best >= 0 && plen <= bestlen) ||
			memcmp(s, prefix, plen) != 0 ||
			len - plen > ID_MAX_DIGITS || len == plen)
			continue;
		best = i;
		bestlen = plen;
	}
	if (best < 0)
		return -1;
	for (k = bestlen; k < len && hexdigit(s[k]) >= 0; k++)
		;
	if (k == len)
		return best;
	/* "tgw-attach-xyz": the longer prefix failed, a shorter one cannot pass */
	return -1;
}

size_t
id_encode(const char *s, size_t len, uint8_t *out)
{
	int			prefix = packable_prefix(s, len);

	if (prefix >= 0)
	{
		size_t		plen = strlen(id_prefixes[prefix]);
		size_t		ndig = len - plen;
		size_t		packed = 2 + (ndig + 1) / 2;

		if (packed < len + 1)
		{
			out[0] = ID_TAG_PACKED | (uint8_t) prefix;
			out[1] = (uint8_t) ndig;
			memset(out + 2, 0, packed - 2);
			for (size_t k = 0; k < ndig; k++)
			{
				int			d = hexdigit(s[plen + k]);

				out[2 + k / 2] |= (k & 1) ? d : d << 4;
			}
			return packed;
		}
	}
	out[0] = ID_TAG_RAW;
	memcpy(out + 1, s, len);
	return len + 1;
}

/*
 * Validate an encoding, canonical form included (so byte equality is id
 * equality even for bytes that did not come from id_encode); on success
 * return the decoded length and, for a packed id, the prefix and digit count.
 */
static long
check_encoding(const uint8_t *in, size_t inlen, int *prefix, size_t *ndig)
{
	if (inlen < 1)
		return -1;
	if (in[0] == ID_TAG_RAW)
	{
		/* canonical form: raw only when packing would not be shorter */
		int			p = packable_prefix((const char *) in + 1, inlen - 1);

		if (p >= 0 && 2 + (inlen - 1 - strlen(id_prefixes[p]) + 1) / 2 < inlen)
			return -1;
		*prefix = -1;
		return (long) (inlen - 1);
	}
	if ((in[0] & ID_TAG_PACKED) == 0 || (in[0] & 0x7f) >= NUM_PREFIXES || inlen < 2)
		return -1;
	*prefix = in[0] & 0x7f;
	*ndig = in[1];
	if (*ndig < 1 || *ndig > ID_MAX_DIGITS || inlen != 2 + (*ndig + 1) / 2)
		return -1;
	/* canonical form: an odd digit count leaves the spare nibble zero */
	if ((*ndig & 1) && (in[inlen - 1] & 0x0f) != 0)
		return -1;
	/* canonical form: packed only when shorter than raw */
	if (inlen >= 1 + strlen(id_prefixes[*prefix]) + *ndig)
		return -1;
	return (long) (strlen(id_prefixes[*prefix]) + *ndig);
}

long
id_decoded_length(const uint8_t *in, size_t inlen)
{
	int			prefix;
	size_t		ndig;

	return check_encoding(in, inlen, &prefix, &ndig);
}

long
id_decode(const uint8_t *in, size_t inlen, char *out, size_t outcap)
{
	static const char hex[] = "0123456789abcdef";
	int			prefix;
	size_t		ndig = 0;
	long		total = check_encoding(in, inlen, &prefix, &ndig);
	size_t		plen;

	if (total < 0 || (size_t) total > outcap)
		return -1;
	if (prefix < 0)
	{
		memcpy(out, in + 1, (size_t) total);
		return total;
	}
	plen = strlen(id_prefixes[prefix]);
	memcpy(out, id_prefixes[prefix], plen);
	for (size_t k = 0; k < ndig; k++)
	{
		uint8_t		b = in[2 + k / 2];

		out[plen + k] = hex[(k & 1) ? (b & 0x0f) : (b >> 4)];
	}
	return total;
}
