/*
 * check_base64.c - strict base64 / base64url (collab/base64.h).
 *
 * RFC 4648 section 10's test vectors and section 9's illustrations
 * verbatim in both alphabets; every strictness rule; an exhaustive proof,
 * over all one- and two-byte inputs, that each byte string has exactly one
 * accepted encoding; round trips; and every input decoded from a buffer
 * that ends on a guard page.
 */
#include <check.h>
#include <stdlib.h>

#include "collab/base64.h"
#include "collab/common.h"
#include "testutil.h"

#define STD COLLAB_B64_STD
#define URL COLLAB_B64_URL

struct vec {
	const char *raw;        /* decoded bytes */
	size_t raw_len;
	const char *std;        /* RFC 4648 section 4 */
	const char *url;        /* section 5, unpadded (as JWT, RFC 7515 2) */
};

#define RAW(lit) (lit), sizeof(lit) - 1

static const struct vec vecs[] = {
	/* RFC 4648 section 10 */
	{ RAW(""), "", "" },
	{ RAW("f"), "Zg==", "Zg" },
	{ RAW("fo"), "Zm8=", "Zm8" },
	{ RAW("foo"), "Zm9v", "Zm9v" },
	{ RAW("foob"), "Zm9vYg==", "Zm9vYg" },
	{ RAW("fooba"), "Zm9vYmE=", "Zm9vYmE" },
	{ RAW("foobar"), "Zm9vYmFy", "Zm9vYmFy" },
	/* RFC 4648 section 9 illustrations; the first shows where the two
	 * alphabets differ */
	{ RAW("\x14\xfb\x9c\x03\xd9\x7e"), "FPucA9l+", "FPucA9l-" },
	{ RAW("\x14\xfb\x9c\x03\xd9"), "FPucA9k=", "FPucA9k" },
	{ RAW("\x14\xfb\x9c\x03"), "FPucAw==", "FPucAw" },
	/* characters 62 and 63 of each alphabet */
	{ RAW("\xfb\xff"), "+/8=", "-_8" },
	{ RAW("\xff\xff\xff"), "////", "____" },
	{ RAW("\xfb\xef\xbe"), "++++", "----" },
	{ RAW("\x00"), "AA==", "AA" },
	{ RAW("\x00\x00\x00"), "AAAA", "AAAA" },
};

static const char *text_of(const struct vec *v, enum collab_b64_alphabet a)
{
	return a == STD ? v->std : v->url;
}

/* _i runs over vecs twice: first half std, second half url. */
#define NVEC ((int)ARRAY_LEN(vecs))
#define VEC_OF(i) (&vecs[(size_t)(i) % ARRAY_LEN(vecs)])
#define ALPHA_OF(i) ((i) < NVEC ? STD : URL)

START_TEST(test_encode_vectors)
{
	const struct vec *v = VEC_OF(_i);
	enum collab_b64_alphabet a = ALPHA_OF(_i);
	const char *want = text_of(v, a);
	size_t want_len = strlen(want);
	struct guard_buf in = guard_copy(v->raw, v->raw_len);
	char out[64];
	size_t w = 999;

	ck_assert_uint_eq(collab_b64_encoded_len(v->raw_len, a), want_len);
	/* exact capacity suffices, and nothing past it is written */
	memset(out, '#', sizeof(out));
	ck_assert_int_eq(collab_b64_encode(in.p, v->raw_len, a, out, want_len, &w), 0);
	ck_assert_uint_eq(w, want_len);
	ck_assert_mem_eq(out, want, want_len);
	ck_assert_int_eq(out[want_len], '#');
	/* one byte short: COLLAB_ESPACE, out and *written untouched */
	if (want_len > 0) {
		memset(out, '#', sizeof(out));
		w = 999;
		ck_assert_int_eq(collab_b64_encode(in.p, v->raw_len, a, out,
						   want_len - 1, &w), COLLAB_ESPACE);
		ck_assert_uint_eq(w, 999);
		for (size_t k = 0; k < sizeof(out); k++)
			ck_assert_int_eq(out[k], '#');
	}
	guard_free(&in);
}
END_TEST

START_TEST(test_decode_vectors)
{
	const struct vec *v = VEC_OF(_i);
	enum collab_b64_alphabet a = ALPHA_OF(_i);
	const char *text = text_of(v, a);
	size_t n = strlen(text);
	struct guard_buf in = guard_copy(text, n);
	uint8_t out[64];
	size_t w = 999;

	ck_assert_uint_ge(collab_b64_decoded_max(n), v->raw_len);
	/* exact capacity, from a buffer that ends on a guard page */
	memset(out, 0xEE, sizeof(out));
	ck_assert_int_eq(collab_b64_decode((const char *)in.p, n, a, out,
					   v->raw_len, &w), 0);
	ck_assert_uint_eq(w, v->raw_len);
	ck_assert_mem_eq(out, v->raw, v->raw_len);
	ck_assert_uint_eq(out[v->raw_len], 0xEE);
	/* decoded_max(n) as capacity: never ESPACE */
	ck_assert_int_eq(collab_b64_decode((const char *)in.p, n, a, out,
					   collab_b64_decoded_max(n), &w), 0);
	ck_assert_uint_eq(w, v->raw_len);
	/* one byte short */
	if (v->raw_len > 0) {
		memset(out, 0xEE, sizeof(out));
		w = 999;
		ck_assert_int_eq(collab_b64_decode((const char *)in.p, n, a, out,
						   v->raw_len - 1, &w), COLLAB_ESPACE);
		ck_assert_uint_eq(w, 999);
		ck_assert_uint_eq(out[0], 0xEE);
	}
	/* the other alphabet refuses every padded or 62/63-bearing form */
	{
		enum collab_b64_alphabet b = a == STD ? URL : STD;
		int rc = collab_b64_decode((const char *)in.p, n, b, out, sizeof(out), &w);
		int differs = strcmp(v->std, v->url) != 0;
		ck_assert_int_eq(rc, differs ? COLLAB_ESYNTAX : 0);
	}
	guard_free(&in);
}
END_TEST

struct bad {
	const char *name;
	enum collab_b64_alphabet a;
	const char *in;
	size_t len;
};

#define TXT(lit) (lit), sizeof(lit) - 1

static const struct bad bads[] = {
	/* RFC 4648 4: standard alphabet is padded to whole quanta */
	{ "std unpadded 2", STD, TXT("Zg") },
	{ "std unpadded 3", STD, TXT("Zm8") },
	{ "std short pad", STD, TXT("Zg=") },
	{ "std long pad", STD, TXT("Zg===") },
	{ "std three pads", STD, TXT("Z===") },
	{ "std only pads", STD, TXT("====") },
	{ "std one pad", STD, TXT("=") },
	{ "std two pads", STD, TXT("==") },
	{ "std pad after full quantum", STD, TXT("Zm9v=") },
	{ "std pad after full quantum x4", STD, TXT("Zm9v====") },
	{ "std = in middle", STD, TXT("Zm=v") },
	{ "std = first", STD, TXT("=Zg=") },
	{ "std = before last char", STD, TXT("AB=C") },
	{ "std padded quantum in middle", STD, TXT("Zg==Zg==") },
	{ "std n%4==1", STD, TXT("Zm9vY") },
	/* RFC 4648 3.5: non-zero unused bits (non-canonical) */
	{ "std Zh==", STD, TXT("Zh==") },
	{ "std Zv==", STD, TXT("Zv==") },
	{ "std Zm9=", STD, TXT("Zm9=") },
	{ "std Zm+=", STD, TXT("Zm+=") },
	{ "std //==", STD, TXT("//==") },
	/* RFC 4648 3.3: characters outside the alphabet */
	{ "std trailing LF", STD, TXT("Zm9v\n") },
	{ "std CRLF", STD, TXT("Zm9v\r\n") },
	{ "std inner space", STD, TXT("Zm9 v") },
	{ "std leading space", STD, TXT(" Zm9v") },
	{ "std tab", STD, TXT("Zm\t9") },
	{ "std line break after 4", STD, TXT("Zm9v\nYmFy") },
	{ "std url chars -_", STD, TXT("-_8=") },
	{ "std url char in quantum", STD, TXT("Zm9-") },
	{ "std NUL", STD, TXT("Zm\0v") },
	{ "std high byte", STD, TXT("Zm9\xC3") },
	{ "std dot", STD, TXT("Zm9.") },
	/* RFC 4648 5 as JWT uses it (RFC 7515 2): url alphabet, no padding */
	{ "url padded 2", URL, TXT("Zg==") },
	{ "url padded 1", URL, TXT("Zm8=") },
	{ "url lone pad", URL, TXT("=") },
	{ "url pad after full quantum", URL, TXT("Zm9v=") },
	{ "url std char +", URL, TXT("+/8") },
	{ "url std char /", URL, TXT("Zm9/") },
	{ "url std char + in body", URL, TXT("Zm+vYg") },
	{ "url n%4==1", URL, TXT("Zm9vY") },
	{ "url single char", URL, TXT("Z") },
	{ "url Zh", URL, TXT("Zh") },
	{ "url Zm9", URL, TXT("Zm9") },
	{ "url -_9", URL, TXT("-_9") },
	{ "url trailing LF", URL, TXT("Zm9v\n") },
	{ "url space", URL, TXT("Zm 9") },
	{ "url NUL", URL, TXT("Zm9\0") },
	{ "url high byte", URL, TXT("\xFF\xFF") },
};

START_TEST(test_decode_rejects)
{
	const struct bad *b = &bads[_i];
	struct guard_buf in = guard_copy(b->in, b->len);
	uint8_t out[64];
	size_t w = 999;
	int rc = collab_b64_decode((const char *)in.p, b->len, b->a, out,
				   sizeof(out), &w);

	ck_assert_msg(rc == COLLAB_ESYNTAX, "%s: rc %d", b->name, rc);
	ck_assert_uint_eq(w, 999);
	guard_free(&in);
}
END_TEST

/* base64.h's documented order: impossible length, then capacity, then
 * the characters. */
START_TEST(test_error_order)
{
	uint8_t out[4];
	size_t w = 999;

	ck_assert_int_eq(collab_b64_decode("Zg", 2, STD, out, 0, &w), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_b64_decode("Zm9vY", 5, URL, out, 0, &w), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_b64_decode("Zh==", 4, STD, out, 0, &w), COLLAB_ESPACE);
	ck_assert_int_eq(collab_b64_decode("Zh==", 4, STD, out, 1, &w), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_b64_decode("Z!!!", 4, STD, out, 2, &w), COLLAB_ESPACE);
	ck_assert_int_eq(collab_b64_decode("Z!!!", 4, STD, out, 3, &w), COLLAB_ESYNTAX);
	ck_assert_uint_eq(w, 999);
}
END_TEST

START_TEST(test_api_edges)
{
	uint8_t out[8];
	char txt[8];
	size_t w = 999;

	/* empty input, NULL pointers with length 0 */
	ck_assert_int_eq(collab_b64_decode(NULL, 0, STD, NULL, 0, &w), 0);
	ck_assert_uint_eq(w, 0);
	w = 999;
	ck_assert_int_eq(collab_b64_decode(NULL, 0, URL, NULL, 0, &w), 0);
	ck_assert_uint_eq(w, 0);
	w = 999;
	ck_assert_int_eq(collab_b64_encode(NULL, 0, STD, NULL, 0, &w), 0);
	ck_assert_uint_eq(w, 0);
	/* an alphabet that is neither */
	w = 999;
	ck_assert_int_eq(collab_b64_encode((const uint8_t *)"f", 1,
					   (enum collab_b64_alphabet)2, txt,
					   sizeof(txt), &w), COLLAB_EINVAL);
	ck_assert_int_eq(collab_b64_decode("Zg==", 4, (enum collab_b64_alphabet)2,
					   out, sizeof(out), &w), COLLAB_EINVAL);
	ck_assert_uint_eq(w, 999);
	/* lengths */
	ck_assert_uint_eq(collab_b64_encoded_len(0, STD), 0);
	ck_assert_uint_eq(collab_b64_encoded_len(1, STD), 4);
	ck_assert_uint_eq(collab_b64_encoded_len(1, URL), 2);
	ck_assert_uint_eq(collab_b64_encoded_len(2, URL), 3);
	ck_assert_uint_eq(collab_b64_encoded_len(3, URL), 4);
	ck_assert_uint_eq(collab_b64_decoded_max(0), 0);
	ck_assert_uint_eq(collab_b64_decoded_max(1), 3);
	ck_assert_uint_eq(collab_b64_decoded_max(4), 3);
	ck_assert_uint_eq(collab_b64_decoded_max(6), 6);
	ck_assert_uint_eq(collab_b64_decoded_max(SIZE_MAX), SIZE_MAX / 4 * 3 + 3);
	/* overflow: the largest encodable length, and one quantum more */
	{
		size_t q = (SIZE_MAX - 4) / 4;
		ck_assert_uint_eq(collab_b64_encoded_len(q * 3, STD), q * 4);
		ck_assert_uint_eq(collab_b64_encoded_len(q * 3 + 2, STD), q * 4 + 4);
		ck_assert_uint_eq(collab_b64_encoded_len((q + 1) * 3, STD), 0);
		ck_assert_uint_eq(collab_b64_encoded_len(SIZE_MAX, URL), 0);
	}
	/* an overflowing length is refused before src is read */
	ck_assert_int_eq(collab_b64_encode(out, SIZE_MAX, STD, txt, sizeof(txt), &w),
			 COLLAB_ESPACE);
	ck_assert_uint_eq(w, 999);
}
END_TEST

/*
 * Canonical encodings, exhaustively: of all 64^2 two-character and 64^3
 * three-character strings over each alphabet (padded to four with '=' for
 * std), exactly 256 resp. 65536 decode, each to a different value, and
 * each re-encodes to itself. So every one- and two-byte string has exactly
 * one accepted encoding.
 */
static const char std_abc[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_abc[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

START_TEST(test_exactly_one_encoding)
{
	enum collab_b64_alphabet a = _i == 0 ? STD : URL;
	const char *abc = a == STD ? std_abc : url_abc;
	static uint8_t seen[65536];
	size_t accepted2 = 0, accepted3 = 0, bad_roundtrip = 0, dup = 0;
	char s[4], back[4];
	uint8_t out[3];
	size_t w, bw;

	memset(seen, 0, sizeof(seen));
	for (size_t x = 0; x < 64; x++) {
		for (size_t y = 0; y < 64; y++) {
			size_t n = a == STD ? 4 : 2;
			s[0] = abc[x], s[1] = abc[y], s[2] = '=', s[3] = '=';
			if (collab_b64_decode(s, n, a, out, sizeof(out), &w) != 0)
				continue;
			accepted2++;
			if (w != 1 || seen[out[0]]++)
				dup++;
			if (collab_b64_encode(out, w, a, back, sizeof(back), &bw) != 0 ||
			    bw != n || memcmp(back, s, n) != 0)
				bad_roundtrip++;
		}
	}
	memset(seen, 0, sizeof(seen));
	for (size_t x = 0; x < 64; x++) {
		for (size_t y = 0; y < 64; y++) {
			for (size_t z = 0; z < 64; z++) {
				size_t n = a == STD ? 4 : 3;
				s[0] = abc[x], s[1] = abc[y], s[2] = abc[z], s[3] = '=';
				if (collab_b64_decode(s, n, a, out, sizeof(out), &w) != 0)
					continue;
				accepted3++;
				if (w != 2 || seen[out[0] << 8 | out[1]]++)
					dup++;
				if (collab_b64_encode(out, w, a, back, sizeof(back), &bw) != 0 ||
				    bw != n || memcmp(back, s, n) != 0)
					bad_roundtrip++;
			}
		}
	}
	ck_assert_uint_eq(accepted2, 256);
	ck_assert_uint_eq(accepted3, 65536);
	ck_assert_uint_eq(dup, 0);
	ck_assert_uint_eq(bad_roundtrip, 0);
}
END_TEST

/* Every byte value in every position of the quantum "QUJD" ("ABC"),
 * both alphabets: accepted iff it is in the alphabet. '=' is refused
 * everywhere: at 0-2 it is padding in the middle, and "QUJ=" would leave
 * J's low bits (01) unused (RFC 4648 3.5). */
START_TEST(test_each_byte_in_each_position)
{
	enum collab_b64_alphabet a = _i == 0 ? STD : URL;
	const char *abc = a == STD ? std_abc : url_abc;
	size_t wrong = 0;

	for (unsigned c = 0; c < 256; c++) {
		int in_abc = c != 0 && memchr(abc, (int)c, 64) != NULL;
		for (size_t pos = 0; pos < 4; pos++) {
			char s[4] = { 'Q', 'U', 'J', 'D' };
			uint8_t out[3];
			size_t w;
			int rc;

			s[pos] = (char)c;
			rc = collab_b64_decode(s, 4, a, out, sizeof(out), &w);
			if ((rc == 0) != in_abc)
				wrong++;
		}
	}
	ck_assert_uint_eq(wrong, 0);
}
END_TEST

/* Round trips of pseudo-random bytes of every length 0..600. */
START_TEST(test_roundtrip)
{
	enum collab_b64_alphabet a = _i == 0 ? STD : URL;
	static uint8_t raw[600], back[600];
	static char txt[800];
	uint32_t x = 2463534242u;
	size_t bad = 0;

	for (size_t i = 0; i < sizeof(raw); i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;        /* xorshift32 */
		raw[i] = (uint8_t)x;
	}
	for (size_t n = 0; n <= sizeof(raw); n++) {
		size_t w = 0, bw = 0;
		if (collab_b64_encode(raw, n, a, txt, sizeof(txt), &w) != 0 ||
		    w != collab_b64_encoded_len(n, a) ||
		    collab_b64_decode(txt, w, a, back, n, &bw) != 0 ||
		    bw != n || memcmp(raw, back, n) != 0)
			bad++;
	}
	ck_assert_uint_eq(bad, 0);
}
END_TEST

static Suite *base64_suite(void)
{
	Suite *s = suite_create("base64");
	TCase *t = tcase_create("rfc4648");
	TCase *x = tcase_create("exhaustive");

	tcase_add_loop_test(t, test_encode_vectors, 0, 2 * NVEC);
	tcase_add_loop_test(t, test_decode_vectors, 0, 2 * NVEC);
	tcase_add_loop_test(t, test_decode_rejects, 0, (int)ARRAY_LEN(bads));
	tcase_add_test(t, test_error_order);
	tcase_add_test(t, test_api_edges);
	suite_add_tcase(s, t);
	tcase_set_timeout(x, 60);
	tcase_add_loop_test(x, test_exactly_one_encoding, 0, 2);
	tcase_add_loop_test(x, test_each_byte_in_each_position, 0, 2);
	tcase_add_loop_test(x, test_roundtrip, 0, 2);
	suite_add_tcase(s, x);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(base64_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
