/*
 * fuzz_ipprefix.c
 *		libFuzzer harness for the IP prefix text form (vpcflow.ipprefix input
 *		and output).
 *
 * The input is used twice:
 *
 *	- as text for ipprefix_parse, from a buffer of exactly its size so that
 *	  ASan sees any read past it.  A result must be one of the enum values
 *	  with a message.  An accepted prefix must be canonical (family 4 or 6,
 *	  mask length in range, host bits and unused bytes zero), must format
 *	  to text that parses back to the same 18 bytes and formats to the same
 *	  text again, and must parse the same with blanks around it.
 *
 *	- its first 18 bytes as an IpPrefix (made valid: family, mask length,
 *	  host bits), which must format and parse back to the same bytes: this
 *	  reaches output forms (IPv4-mapped, "::", long zero runs) that random
 *	  text rarely parses to.
 *
 * Build with -DFUZZ_STRICT_NUL to also require that text with a NUL byte
 * inside is rejected ("junk around it" in lpmtrie.h).  It is off by default
 * as the SQL callers pass NUL-terminated strings, so a NUL cannot reach the
 * parser from SQL; see the report for what the default build tolerates.
 *
 * fuzz sources: src/lpmtrie.c
 */
#include "fuzz_common.h"
#include "lpmtrie.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
is_blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
check_canonical(const IpPrefix *p)
{
	int			max;
	uint8_t		a[16];

	FUZZ_CHECK(p->family == 4 || p->family == 6);
	max = ipprefix_maxbits(p);
	FUZZ_CHECK(p->bits <= max);
	memcpy(a, p->addr, 16);
	ip_clear_host_bits(a, p->bits, 16);
	FUZZ_CHECK(memcmp(a, p->addr, 16) == 0);
	if (p->family == 4)
		for (int i = 4; i < 16; i++)
			FUZZ_CHECK(p->addr[i] == 0);
	FUZZ_CHECK(ipprefix_cmp(p, p) == 0);
	FUZZ_CHECK(ipprefix_contains(p, p) && ipprefix_overlaps(p, p));
	FUZZ_CHECK(ipprefix_hash64(p, 0) == ipprefix_hash64(p, 0));
}

/* Parse text from a buffer of exactly len bytes. */
static IpPrefixParseResult
parse_exact(const char *text, size_t len, IpPrefix *out)
{
	char	   *buf = malloc(len > 0 ? len : 1);
	IpPrefixParseResult r;

	FUZZ_CHECK(buf != NULL);
	if (len > 0)
		memcpy(buf, text, len);
	r = ipprefix_parse(buf, len, out);
	free(buf);
	return r;
}

/* Format p into an exactly IPPREFIX_MAXSTR-byte buffer; returns the length. */
static size_t
format_exact(const IpPrefix *p, char *copy)
{
	char	   *buf = malloc(IPPREFIX_MAXSTR);
	size_t		n;

	FUZZ_CHECK(buf != NULL);
	n = ipprefix_format(p, buf);
	FUZZ_CHECK(n > 0 && n < IPPREFIX_MAXSTR);
	FUZZ_CHECK(strlen(buf) == n);
	memcpy(copy, buf, n + 1);
	free(buf);
	return n;
}

/* An accepted prefix prints, and what it prints reads back the same. */
static void
check_round_trip(const IpPrefix *p)
{
	char		text[IPPREFIX_MAXSTR];
	char		again[IPPREFIX_MAXSTR];
	char		padded[IPPREFIX_MAXSTR + 8];
	IpPrefix	back;
	size_t		n;

	check_canonical(p);
	n = format_exact(p, text);
	/* "addr/len", the address a valid one of its family */
	{
		const char *slash = strrchr(text, '/');

		FUZZ_CHECK(slash != NULL && slash > text);
		FUZZ_CHECK((strchr(text, ':') != NULL) == (p->family == 6));
	}
	FUZZ_CHECK(parse_exact(text, n, &back) == IPP_OK);
	FUZZ_CHECK(memcmp(&back, p, IPPREFIX_SIZE) == 0);
	FUZZ_CHECK(format_exact(&back, again) == n && memcmp(again, text, n) == 0);

	/* blanks around are allowed and change nothing */
	padded[0] = ' ';
	padded[1] = '\t';
	memcpy(padded + 2, text, n);
	padded[n + 2] = '\r';
	padded[n + 3] = '\n';
	FUZZ_CHECK(parse_exact(padded, n + 4, &back) == IPP_OK);
	FUZZ_CHECK(memcmp(&back, p, IPPREFIX_SIZE) == 0);

	/* without "/len" the prefix is a host route */
	{
		size_t		alen = (size_t) (strrchr(text, '/') - text);
		IpPrefixParseResult r = parse_exact(text, alen, &back);

		if (p->bits == ipprefix_maxbits(p))
		{
			FUZZ_CHECK(r == IPP_OK);
			FUZZ_CHECK(memcmp(&back, p, IPPREFIX_SIZE) == 0);
		}
		else
		{
			/* the address alone is a host: fine unless... it always is */
			FUZZ_CHECK(r == IPP_OK);
			FUZZ_CHECK(back.family == p->family && back.bits == ipprefix_maxbits(p));
			FUZZ_CHECK(memcmp(back.addr, p->addr, 16) == 0);
			FUZZ_CHECK(ipprefix_contains(p, &back) && !ipprefix_contains(&back, p));
		}
	}
}

static void
as_text(const uint8_t *data, size_t size)
{
	IpPrefix	p;
	IpPrefixParseResult r;
	const char *msg;

	memset(&p, 0xa5, sizeof(p));
	r = parse_exact((const char *) data, size, &p);
	FUZZ_CHECK(r == IPP_OK || r == IPP_ERR_SYNTAX || r == IPP_ERR_MASKLEN ||
			   r == IPP_ERR_HOSTBITS);
	msg = ipprefix_parse_error(r);
	FUZZ_CHECK(msg != NULL);
	fuzz_touch_cstr(msg, 256);
	if (r != IPP_OK)
		return;

	check_round_trip(&p);

	/* what was accepted is an address, maybe "/digits", inside blanks */
	{
		size_t		b = 0,
					e = size;

		while (b < e && is_blank(data[b]))
			b++;
		while (e > b && is_blank(data[e - 1]))
			e--;
		FUZZ_CHECK(e > b);
		for (size_t i = b; i < e; i++)
		{
			uint8_t		c = data[i];

#ifdef FUZZ_STRICT_NUL
			FUZZ_CHECK(c != '\0');
#else
			if (c == '\0')
				break;
#endif
			FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
					   (c >= 'A' && c <= 'F') || c == '.' || c == ':' || c == '/');
		}
	}
}

/* The first 18 bytes as a prefix, made valid. */
static void
as_struct(const uint8_t *data, size_t size)
{
	IpPrefix	p;

	if (size < IPPREFIX_SIZE)
		return;
	memset(&p, 0, sizeof(p));
	p.family = (data[0] & 1) ? 6 : 4;
	p.bits = (uint8_t) (data[1] % (ipprefix_maxbits(&p) + 1));
	memcpy(p.addr, data + 2, p.family == 4 ? 4 : 16);
	ip_clear_host_bits(p.addr, p.bits, 16);
	check_round_trip(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_text(data, size);
	as_struct(data, size);
	return 0;
}
