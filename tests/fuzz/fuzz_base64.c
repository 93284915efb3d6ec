/*
 * fuzz_base64.c - libFuzzer target for collab/base64.h.
 *
 * For the input as text, in both alphabets: if decoding accepts it,
 * encoding the result must give back the same text byte for byte (one
 * accepted encoding per byte string), and the two alphabets must agree
 * with each other once '+/' and '-_' are swapped and padding is dropped.
 * For the input as bytes: encode -> decode is the identity in both
 * alphabets, and the text uses only its alphabet. Every buffer is a heap
 * block of exactly the size the API is told, so ASan sees any overrun.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base64.h"
#include "collab/common.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* Decodes text in alphabet a into an exact-size heap buffer; returns the
 * code and fills *out (malloc'ed, caller frees) and *w on success. */
static int decode(const char *text, size_t n, enum collab_b64_alphabet a,
		  uint8_t **out, size_t *w)
{
	size_t cap = collab_b64_decoded_max(n);
	uint8_t *buf = malloc(cap ? cap : 1);
	int rc;

	CHECK(buf != NULL);
	*w = SIZE_MAX;
	rc = collab_b64_decode(text, n, a, buf, cap, w);
	CHECK(rc == 0 || rc == COLLAB_ESYNTAX);
	if (rc != 0) {
		CHECK(*w == SIZE_MAX);
		free(buf);
		*out = NULL;
		return rc;
	}
	CHECK(*w <= cap && cap - *w < 3);
	/* Exactly the decoded length suffices, one byte less does not. */
	{
		uint8_t *exact = malloc(*w ? *w : 1);
		size_t w2 = 0;
		CHECK(exact != NULL);
		CHECK(collab_b64_decode(text, n, a, exact, *w, &w2) == 0);
		CHECK(w2 == *w && memcmp(exact, buf, *w) == 0);
		if (*w > 0)
			CHECK(collab_b64_decode(text, n, a, exact, *w - 1, &w2) ==
			      COLLAB_ESPACE);
		free(exact);
	}
	*out = buf;
	return 0;
}

static void encode_check(const uint8_t *raw, size_t n, enum collab_b64_alphabet a,
			 const char *want, size_t want_len)
{
	size_t len = collab_b64_encoded_len(n, a), w = SIZE_MAX;
	char *txt = malloc(len ? len : 1);

	CHECK(txt != NULL);
	CHECK(collab_b64_encode(raw, n, a, txt, len, &w) == 0);
	CHECK(w == len);
	if (want != NULL)
		CHECK(w == want_len && memcmp(txt, want, w) == 0);
	if (len > 0)
		CHECK(collab_b64_encode(raw, n, a, txt, len - 1, &w) == COLLAB_ESPACE);
	free(txt);
}

/* Text in one alphabet -> the other: swap 62/63, add or drop padding. */
static char *translate(const char *s, size_t n, enum collab_b64_alphabet to,
		       size_t *out_n)
{
	char *t = malloc(n + 3);
	size_t k = 0;

	CHECK(t != NULL);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (to == COLLAB_B64_URL) {
			if (c == '=')
				continue;
			c = c == '+' ? '-' : c == '/' ? '_' : c;
		} else {
			c = c == '-' ? '+' : c == '_' ? '/' : c;
		}
		t[k++] = c;
	}
	if (to == COLLAB_B64_STD)
		while (k % 4 != 0)
			t[k++] = '=';
	*out_n = k;
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum collab_b64_alphabet both[2] = { COLLAB_B64_STD, COLLAB_B64_URL };
	/* A private copy with nothing after it, read as text. */
	char *text = malloc(size ? size : 1);

	CHECK(text != NULL);
	if (size)
		memcpy(text, data, size);

	for (int i = 0; i < 2; i++) {
		enum collab_b64_alphabet a = both[i], b = both[1 - i];
		uint8_t *raw, *raw2;
		size_t w, w2, tn;
		char *t;

		if (decode(text, size, a, &raw, &w) != 0)
			continue;
		/* canonical: re-encoding gives back the very same text */
		encode_check(raw, w, a, text, size);
		/* the other alphabet accepts the translation, same bytes */
		t = translate(text, size, b, &tn);
		CHECK(decode(t, tn, b, &raw2, &w2) == 0);
		CHECK(w2 == w && memcmp(raw, raw2, w) == 0);
		free(raw2);
		free(t);
		free(raw);
	}

	/* bytes -> text -> bytes */
	for (int i = 0; i < 2; i++) {
		enum collab_b64_alphabet a = both[i];
		size_t len = collab_b64_encoded_len(size, a), w = 0, w2 = 0;
		char *txt = malloc(len ? len : 1);
		uint8_t *back;

		CHECK(txt != NULL);
		CHECK(collab_b64_encode(data, size, a, txt, len, &w) == 0 && w == len);
		for (size_t k = 0; k < w; k++) {
			char c = txt[k];
			int common = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				     (c >= '0' && c <= '9');
			if (a == COLLAB_B64_STD)
				CHECK(common || c == '+' || c == '/' ||
				      (c == '=' && k + 2 >= w));
			else
				CHECK(common || c == '-' || c == '_');
		}
		CHECK(decode(txt, w, a, &back, &w2) == 0);
		CHECK(w2 == size && (size == 0 || memcmp(back, data, size) == 0));
		free(back);
		free(txt);
	}
	free(text);
	return 0;
}
