/*
 * test_idcodec.c
 *		Unit tests of the resource-id codec (src/idcodec.c).
 *
 * unit.sh sources: src/idcodec.c
 */
#include "idcodec.h"
#include "unit.h"

/*
 * Encode id, check the size and tag, and decode it back into buffers of
 * exactly the needed size (ASan sees any write or read past them).
 */
static void
round_trip(const char *id, size_t want_size, int want_tag, int line)
{
	size_t		len = strlen(id);
	char	   *in = unit_exact_copy(id, len);
	uint8_t    *enc = malloc(ID_ENCODED_MAX(len));
	uint8_t    *exact;
	char	   *dec = malloc(len > 0 ? len : 1);
	size_t		n = id_encode(in, len, enc);
	long		got;

	unit_checks++;
	if (n != want_size || n > ID_ENCODED_MAX(len) || enc[0] != want_tag)
	{
		unit_failures++;
		fprintf(stderr, "test_idcodec.c:%d: \"%s\" encoded to %zu bytes, tag 0x%02x; expected %zu, 0x%02x\n",
				line, id, n, enc[0], want_size, want_tag);
	}
	exact = malloc(n);
	memcpy(exact, enc, n);
	CHECK_INT(id_decoded_length(exact, n), (long) len);
	got = id_decode(exact, n, dec, len);
	unit_checks++;
	if (got != (long) len || memcmp(dec, id, len) != 0)
	{
		unit_failures++;
		fprintf(stderr, "test_idcodec.c:%d: \"%s\" decoded to %ld \"%.*s\"\n",
				line, id, got, got > 0 ? (int) got : 0, dec);
	}
	/* one byte short of room is refused, not truncated */
	if (len > 0)
		CHECK_INT(id_decode(exact, n, dec, len - 1), -1);
	/* a truncated encoding is never valid, nor one with a byte more,
	 * except for raw ids, where any length is an id */
	if (n > 1 && want_tag != ID_TAG_RAW)
	{
		CHECK_INT(id_decoded_length(exact, n - 1), -1);
		CHECK_INT(id_decode(exact, n - 1, dec, len), -1);
	}
	free(exact);
	free(dec);
	free(enc);
	free(in);
}

#define ROUND_TRIP(id, size, tag) round_trip(id, size, tag, __LINE__)

static void
test_packed(void)
{
	/* 17 hex digits: 2 bytes of header and 9 of nibbles */
	ROUND_TRIP("eni-0a1b2c3d4e5f60718", 11, ID_TAG_PACKED | 1);
	ROUND_TRIP("eni-1235b8ca123456789", 11, ID_TAG_PACKED | 1);
	ROUND_TRIP("eni-12345678", 6, ID_TAG_PACKED | 1);
	ROUND_TRIP("vpc-0a1b2c3d", 6, ID_TAG_PACKED | 2);
	ROUND_TRIP("vpc-abcdefab012345678", 11, ID_TAG_PACKED | 2);
	ROUND_TRIP("subnet-aaaaaaaa012345678", 11, ID_TAG_PACKED | 3);
	ROUND_TRIP("i-01234567890123456", 11, ID_TAG_PACKED | 4);
	ROUND_TRIP("tgw-0abc12345def67890", 11, ID_TAG_PACKED | 5);
	/* the longest matching prefix wins */
	ROUND_TRIP("tgw-attach-0abc12345def67890", 11, ID_TAG_PACKED | 6);
	ROUND_TRIP("tgw-rtb-0abc12345def67890", 11, ID_TAG_PACKED | 22);
	/* account ids: bare digits */
	ROUND_TRIP("123456789010", 8, ID_TAG_PACKED | 0);
	ROUND_TRIP("000000000000", 8, ID_TAG_PACKED | 0);
	ROUND_TRIP("64111117617", 8, ID_TAG_PACKED | 0);
	/* odd and even digit counts, 1 and the maximum */
	ROUND_TRIP("eni-1", 3, ID_TAG_PACKED | 1);
	ROUND_TRIP("eni-12", 3, ID_TAG_PACKED | 1);
	ROUND_TRIP("eni-0000000000000000000000000000000000000000000000000000000000000000", 34,
			   ID_TAG_PACKED | 1);
	/* 63 digits: odd, the spare nibble is zero */
	ROUND_TRIP("eni-fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 34,
			   ID_TAG_PACKED | 1);
}

static void
test_raw(void)
{
	/* not hex after the prefix */
	ROUND_TRIP("eni-069xxxxxb7a490", 19, ID_TAG_RAW);
	ROUND_TRIP("vpc-09676f97xxxxxb8a7", 22, ID_TAG_RAW);
	ROUND_TRIP("unknown", 8, ID_TAG_RAW);
	ROUND_TRIP("-", 2, ID_TAG_RAW);
	ROUND_TRIP("", 1, ID_TAG_RAW);
	/* uppercase hex is kept as written */
	ROUND_TRIP("eni-0A1B2C3D4E5F60718", 22, ID_TAG_RAW);
	ROUND_TRIP("ENI-0a1b2c3d4e5f60718", 22, ID_TAG_RAW);
	/* a prefix without digits, an unknown prefix */
	ROUND_TRIP("eni-", 5, ID_TAG_RAW);
	ROUND_TRIP("xyz-0a1b2c3d", 13, ID_TAG_RAW);
	ROUND_TRIP("eni-0a1b-2c3d", 14, ID_TAG_RAW);
	/* packing must be strictly shorter */
	ROUND_TRIP("5", 2, ID_TAG_RAW);
	ROUND_TRIP("12", 3, ID_TAG_RAW);
	ROUND_TRIP("123", 4, ID_TAG_RAW);
	ROUND_TRIP("1234", 4, ID_TAG_PACKED | 0);
	/* more digits than a packed id holds */
	ROUND_TRIP("eni-00000000000000000000000000000000000000000000000000000000000000000", 70,
			   ID_TAG_RAW);
	/* arbitrary bytes survive */
	ROUND_TRIP("arn:aws:ecs:us-east-1:000000000000:task/x \xc3\xa9", 45, ID_TAG_RAW);
}

/* inlen bytes of in must be rejected by both functions. */
static void
reject(const uint8_t *bytes, size_t inlen, int line)
{
	uint8_t    *in = malloc(inlen > 0 ? inlen : 1);
	char		out[256];
	long		a,
				b;

	if (inlen > 0)
		memcpy(in, bytes, inlen);
	a = id_decoded_length(in, inlen);
	b = id_decode(in, inlen, out, sizeof(out));
	unit_checks++;
	if (a != -1 || b != -1)
	{
		unit_failures++;
		fprintf(stderr, "test_idcodec.c:%d: corrupt encoding accepted (%ld, %ld)\n", line, a, b);
	}
	free(in);
}

#define REJECT(...) \
	do { \
		static const uint8_t b_[] = {__VA_ARGS__}; \
		reject(b_, sizeof(b_), __LINE__); \
	} while (0)

static void
test_corrupt(void)
{
	reject(NULL, 0, __LINE__);
	/* a packed tag with nothing after it */
	REJECT(0x81);
	/* no digits, too many digits */
	REJECT(0x81, 0x00);
	REJECT(0x81, 65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		   0, 0, 0, 0, 0, 0, 0, 0, 0);
	/* digit count and length disagree */
	REJECT(0x81, 0x04, 0x12);
	REJECT(0x81, 0x04, 0x12, 0x34, 0x56);
	REJECT(0x81, 0xff, 0x12, 0x34);
	/* odd count with a non-zero spare nibble */
	REJECT(0x81, 0x03, 0x12, 0x34);
	/* prefix index past the table */
	REJECT(0xff, 0x02, 0x12);
	REJECT(0x80 | 100, 0x02, 0x12);
	/* tags that are neither raw nor packed */
	REJECT(0x01, 'a');
	REJECT(0x7f, 'a');

	/* for contrast: the nearest valid ones decode */
	{
		static const uint8_t ok[] = {0x81, 0x03, 0x12, 0x30};
		char		out[16];

		CHECK_INT(id_decode(ok, sizeof(ok), out, sizeof(out)), 7);
		CHECK_MEM(out, 7, "eni-123");
	}
}

int
main(void)
{
	test_packed();
	test_raw();
	test_corrupt();
	UNIT_DONE();
}
