/*
 * fuzz_idcodec.c
 *		libFuzzer harness for the resource-id codec.
 *
 * The input is used twice: as an encoding (decoding arbitrary bytes must
 * never over-read, and must agree with id_decoded_length) and as an id
 * (encode then decode must give it back exactly).  Buffers have exactly
 * the size the API promises, so ASan sees any access past them.
 *
 * Every accepted encoding must be the one id_encode produces (idcodec.h
 * calls the encoding canonical, and equality and hashing rely on it).
 *
 * fuzz sources: src/idcodec.c
 */
#include "fuzz_common.h"
#include "idcodec.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
as_encoding(const uint8_t *data, size_t size)
{
	long		n = id_decoded_length(data, size);
	char		small[8];

	if (n < 0)
	{
		FUZZ_CHECK(n == -1);
		FUZZ_CHECK(id_decode(data, size, small, sizeof(small)) == -1);
		return;
	}
	{
		char	   *out = malloc(n > 0 ? (size_t) n : 1);
		uint8_t    *re = malloc(ID_ENCODED_MAX((size_t) n));
		uint8_t    *exact;
		char	   *back = malloc(n > 0 ? (size_t) n : 1);
		size_t		m;

		FUZZ_CHECK(out && re && back);
		FUZZ_CHECK(id_decode(data, size, out, (size_t) n) == n);
		if (n > 0)
			FUZZ_CHECK(id_decode(data, size, out, (size_t) n - 1) == -1);
		fuzz_touch(out, (size_t) n);

		/* whatever decodes is an id, and encodes to something that decodes back */
		m = id_encode(out, (size_t) n, re);
		FUZZ_CHECK(m >= 1 && m <= ID_ENCODED_MAX((size_t) n));
		exact = malloc(m);
		FUZZ_CHECK(exact != NULL);
		memcpy(exact, re, m);
		FUZZ_CHECK(id_decode(exact, m, back, (size_t) n) == n);
		FUZZ_CHECK(n == 0 || memcmp(back, out, (size_t) n) == 0);
		FUZZ_CHECK(m == size && memcmp(exact, data, size) == 0);
		free(exact);
		free(back);
		free(re);
		free(out);
	}
}

static void
as_id(const uint8_t *data, size_t size)
{
	const char *id = (const char *) data;
	uint8_t    *enc = malloc(ID_ENCODED_MAX(size));
	uint8_t    *exact;
	char	   *dec = malloc(size > 0 ? size : 1);
	size_t		m;

	FUZZ_CHECK(enc && dec);
	m = id_encode(id, size, enc);
	FUZZ_CHECK(m >= 1 && m <= ID_ENCODED_MAX(size));
	/* packed only when strictly shorter, as the header says */
	FUZZ_CHECK(enc[0] == ID_TAG_RAW ? m == size + 1 : (m < size + 1 && (enc[0] & ID_TAG_PACKED)));
	exact = malloc(m);
	FUZZ_CHECK(exact != NULL);
	memcpy(exact, enc, m);
	FUZZ_CHECK(id_decoded_length(exact, m) == (long) size);
	FUZZ_CHECK(id_decode(exact, m, dec, size) == (long) size);
	FUZZ_CHECK(size == 0 || memcmp(dec, id, size) == 0);
	if (size > 0)
		FUZZ_CHECK(id_decode(exact, m, dec, size - 1) == -1);
	/* deterministic: the same id, the same bytes */
	FUZZ_CHECK(id_encode(id, size, enc) == m && memcmp(enc, exact, m) == 0);
	free(exact);
	free(dec);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_encoding(data, size);
	as_id(data, size);
	return 0;
}
