/*
 * check_utf8.c - the incremental UTF-8 validator (collab/utf8.h).
 *
 * Every table input is fed whole, split at every point, and one byte at a
 * time, each piece copied to end on a guard page, and must give the same
 * verdict and the same absolute index of the first bad byte. The validator
 * is also compared, over every 1-, 2- and 3-byte string and a large slice
 * of 4-byte ones, with a reference written differently: it tracks the
 * range of code points a prefix can still complete to.
 */
#include <check.h>
#include <stdlib.h>

#include "collab/common.h"
#include "collab/utf8.h"
#include "testutil.h"

enum verdict { VALID, TRUNCATED, BAD };

struct utf8_case {
	const char *name;
	const uint8_t *p;
	size_t len;
	enum verdict v;
	size_t bad_at;          /* absolute index, for BAD */
};

#define IN(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static const struct utf8_case cases[] = {
	/* well-formed */
	{ "empty", IN(""), VALID, 0 },
	{ "ascii", IN("hello, world"), VALID, 0 },
	{ "nul", IN("\x00"), VALID, 0 },
	{ "del", IN("\x7F"), VALID, 0 },
	{ "U+0080", IN("\xC2\x80"), VALID, 0 },
	{ "U+07FF", IN("\xDF\xBF"), VALID, 0 },
	{ "U+0800", IN("\xE0\xA0\x80"), VALID, 0 },
	{ "U+D7FF", IN("\xED\x9F\xBF"), VALID, 0 },
	{ "U+E000", IN("\xEE\x80\x80"), VALID, 0 },
	{ "U+FFFD", IN("\xEF\xBF\xBD"), VALID, 0 },
	{ "U+FFFF", IN("\xEF\xBF\xBF"), VALID, 0 },
	{ "U+10000", IN("\xF0\x90\x80\x80"), VALID, 0 },
	{ "U+10FFFF", IN("\xF4\x8F\xBF\xBF"), VALID, 0 },
	/* RFC 3629 section 7, the four examples verbatim */
	{ "rfc3629 A<NOT IDENTICAL TO><ALPHA>.", IN("\x41\xE2\x89\xA2\xCE\x91\x2E"), VALID, 0 },
	{ "rfc3629 Korean", IN("\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"), VALID, 0 },
	{ "rfc3629 Japanese", IN("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"), VALID, 0 },
	{ "rfc3629 BOM U+233B4", IN("\xEF\xBB\xBF\xF0\xA3\x8E\xB4"), VALID, 0 },
	{ "kosme", IN("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"), VALID, 0 },

	/* Unicode Standard ch. 3, Tables 3-8 to 3-12 (U+FFFD for ill-formed
	 * subsequences), inputs verbatim. */
	{ "unicode table 3-8", IN("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"), BAD, 4 },
	{ "unicode table 3-9 non-shortest", IN("\xC0\xAF\xE0\x80\xBF\xF0\x81\x82\x41"), BAD, 0 },
	{ "unicode table 3-10 surrogates", IN("\xED\xA0\x80\xED\xBF\xBF\xED\xAF\x41"), BAD, 1 },
	{ "unicode table 3-11 other", IN("\xF4\x91\x92\x93\xFF\x41\x80\xBF\x42"), BAD, 1 },
	{ "unicode table 3-12 truncated", IN("\xE1\x80\xE2\xF0\x91\x92\xF1\xBF\x41"), BAD, 2 },

	/* RFC 3629 section 3: overlong forms are invalid */
	{ "overlong C0 80", IN("\xC0\x80"), BAD, 0 },
	{ "overlong C1 BF", IN("\xC1\xBF"), BAD, 0 },
	{ "overlong C0 AF '/'", IN("\xC0\xAF"), BAD, 0 },
	{ "overlong E0 80 80", IN("\xE0\x80\x80"), BAD, 1 },
	{ "overlong E0 9F BF", IN("\xE0\x9F\xBF"), BAD, 1 },
	{ "overlong F0 80 80 80", IN("\xF0\x80\x80\x80"), BAD, 1 },
	{ "overlong F0 8F BF BF", IN("\xF0\x8F\xBF\xBF"), BAD, 1 },
	/* RFC 3629 section 3: surrogates U+D800..U+DFFF */
	{ "surrogate ED A0 80", IN("\xED\xA0\x80"), BAD, 1 },
	{ "surrogate ED BF BF", IN("\xED\xBF\xBF"), BAD, 1 },
	{ "surrogate pair", IN("\xED\xA0\xBD\xED\xB2\xA9"), BAD, 1 },
	/* above U+10FFFF */
	{ "F4 90 80 80", IN("\xF4\x90\x80\x80"), BAD, 1 },
	{ "F4 BF BF BF", IN("\xF4\xBF\xBF\xBF"), BAD, 1 },
	{ "F5 80 80 80", IN("\xF5\x80\x80\x80"), BAD, 0 },
	/* bytes that never appear (RFC 3629 section 1) */
	{ "F5", IN("\xF5"), BAD, 0 },
	{ "F6", IN("\xF6"), BAD, 0 },
	{ "F7", IN("\xF7"), BAD, 0 },
	{ "F8", IN("\xF8"), BAD, 0 },
	{ "F9", IN("\xF9"), BAD, 0 },
	{ "FA", IN("\xFA"), BAD, 0 },
	{ "FB", IN("\xFB"), BAD, 0 },
	{ "FC", IN("\xFC"), BAD, 0 },
	{ "FD", IN("\xFD"), BAD, 0 },
	{ "FE", IN("\xFE"), BAD, 0 },
	{ "FF", IN("\xFF"), BAD, 0 },
	{ "ascii then FF", IN("abc\xFF"), BAD, 3 },
	{ "old 5-byte form", IN("\xF8\x88\x80\x80\x80"), BAD, 0 },
	{ "old 6-byte form", IN("\xFC\x84\x80\x80\x80\x80"), BAD, 0 },
	/* continuation bytes out of place */
	{ "lone 80", IN("\x80"), BAD, 0 },
	{ "lone BF", IN("\xBF"), BAD, 0 },
	{ "ascii then 80", IN("a\x80"), BAD, 1 },
	{ "one continuation too many", IN("\xE2\x82\xAC\x80"), BAD, 3 },
	/* a sequence cut short by a byte that cannot continue it: the
	 * failure is at that byte, not at the lead */
	{ "C2 then ascii", IN("\xC2\x41"), BAD, 1 },
	{ "E2 82 then ascii", IN("\xE2\x82\x41"), BAD, 2 },
	{ "F0 90 80 then ascii", IN("\xF0\x90\x80\x41"), BAD, 3 },
	{ "C2 then lead", IN("\xC2\xC2\x80"), BAD, 1 },
	{ "E2 then E2", IN("\xE2\xE2\x82\xAC"), BAD, 1 },
	/* truncated at the end: every byte fine, the last sequence open */
	{ "truncated C2", IN("\xC2"), TRUNCATED, 0 },
	{ "truncated E2", IN("\xE2"), TRUNCATED, 0 },
	{ "truncated E2 82", IN("\xE2\x82"), TRUNCATED, 0 },
	{ "truncated E0 (viable)", IN("\xE0"), TRUNCATED, 0 },
	{ "truncated ED (viable)", IN("\xED"), TRUNCATED, 0 },
	{ "truncated F0 90 80", IN("\xF0\x90\x80"), TRUNCATED, 0 },
	{ "truncated F4 8F BF", IN("\xF4\x8F\xBF"), TRUNCATED, 0 },
	{ "ascii then truncated", IN("ok\xE2\x82"), TRUNCATED, 0 },
};

/* Feeds the pieces [cut[i], cut[i+1]) of c, each from its own guard
 * copy, and checks the verdict and the absolute index of the first bad
 * byte. Pieces after the failing one must report COLLAB_EUTF8 at 0. */
static void run_pieces(const struct utf8_case *c, const size_t *cut, size_t ncut)
{
	struct collab_utf8 v;
	int failed = 0;

	collab_utf8_init(&v);
	for (size_t i = 0; i + 1 < ncut; i++) {
		size_t off = cut[i], n = cut[i + 1] - cut[i];
		struct guard_buf g = guard_copy(c->p + off, n);
		size_t bad = 12345;
		int rc;

		ck_assert_ptr_nonnull(g.p);
		rc = collab_utf8_feed(&v, g.p, n, &bad);
		guard_free(&g);
		if (failed) {
			ck_assert_int_eq(rc, COLLAB_EUTF8);
			ck_assert_uint_eq(bad, 0);
			continue;
		}
		if (rc != 0) {
			ck_assert_msg(c->v == BAD, "%s: failed at %zu, expected no failure",
				      c->name, off + bad);
			ck_assert_int_eq(rc, COLLAB_EUTF8);
			ck_assert_msg(off + bad == c->bad_at, "%s: bad at %zu, want %zu",
				      c->name, off + bad, c->bad_at);
			ck_assert_uint_lt(bad, n);
			failed = 1;
		} else {
			/* The bad byte must not be inside an accepted piece. */
			ck_assert_msg(c->v != BAD || c->bad_at >= off + n,
				      "%s: accepted piece [%zu,%zu) holding bad byte %zu",
				      c->name, off, off + n, c->bad_at);
			ck_assert_uint_eq(bad, 12345);  /* untouched on success */
		}
	}
	ck_assert_int_eq(failed, c->v == BAD);
	ck_assert_int_eq(collab_utf8_finish(&v), c->v == VALID ? 0 : COLLAB_EUTF8);
	/* finish does not change the state */
	ck_assert_int_eq(collab_utf8_finish(&v), c->v == VALID ? 0 : COLLAB_EUTF8);
}

START_TEST(test_whole)
{
	const struct utf8_case *c = &cases[_i];
	size_t cut[2] = { 0, c->len };
	struct guard_buf g = guard_copy(c->p, c->len);

	run_pieces(c, cut, 2);
	ck_assert_int_eq(collab_utf8_check(g.p, c->len), c->v == VALID ? 0 : COLLAB_EUTF8);
	guard_free(&g);
}
END_TEST

START_TEST(test_every_split)
{
	const struct utf8_case *c = &cases[_i];

	for (size_t k = 0; k <= c->len; k++) {
		size_t cut[3] = { 0, k, c->len };
		run_pieces(c, cut, 3);
	}
	/* and every pair of split points (three pieces) */
	for (size_t j = 0; j <= c->len; j++) {
		for (size_t k = j; k <= c->len; k++) {
			size_t cut[4] = { 0, j, k, c->len };
			run_pieces(c, cut, 4);
		}
	}
}
END_TEST

START_TEST(test_byte_by_byte)
{
	const struct utf8_case *c = &cases[_i];
	size_t cut[32];

	ck_assert_uint_lt(c->len + 1, ARRAY_LEN(cut));
	for (size_t k = 0; k <= c->len; k++)
		cut[k] = k;
	run_pieces(c, cut, c->len + 1);
}
END_TEST

/* A zeroed struct is a valid initial state (utf8.h says so). */
START_TEST(test_zeroed_state)
{
	const struct utf8_case *c = &cases[_i];
	struct collab_utf8 v;
	size_t bad = 0;
	int rc;

	memset(&v, 0, sizeof(v));
	rc = collab_utf8_feed(&v, c->p, c->len, &bad);
	if (c->v == BAD) {
		ck_assert_int_eq(rc, COLLAB_EUTF8);
		ck_assert_uint_eq(bad, c->bad_at);
	} else {
		ck_assert_int_eq(rc, 0);
	}
	ck_assert_int_eq(collab_utf8_finish(&v), c->v == VALID ? 0 : COLLAB_EUTF8);
}
END_TEST

START_TEST(test_api_edges)
{
	struct collab_utf8 v;
	size_t bad = 7;

	collab_utf8_init(&v);
	/* NULL with length 0, and bad_at NULL */
	ck_assert_int_eq(collab_utf8_feed(&v, NULL, 0, &bad), 0);
	ck_assert_uint_eq(bad, 7);
	ck_assert_int_eq(collab_utf8_feed(&v, (const uint8_t *)"\xE2", 1, NULL), 0);
	ck_assert_int_eq(collab_utf8_feed(&v, NULL, 0, NULL), 0);
	ck_assert_int_eq(collab_utf8_finish(&v), COLLAB_EUTF8);
	ck_assert_int_eq(collab_utf8_feed(&v, (const uint8_t *)"\x82\xAC", 2, NULL), 0);
	ck_assert_int_eq(collab_utf8_finish(&v), 0);
	ck_assert_int_eq(collab_utf8_feed(&v, (const uint8_t *)"\xFF", 1, NULL), COLLAB_EUTF8);
	/* sticky, with or without bad_at, even for valid input or none */
	ck_assert_int_eq(collab_utf8_feed(&v, (const uint8_t *)"a", 1, &bad), COLLAB_EUTF8);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(collab_utf8_feed(&v, NULL, 0, NULL), COLLAB_EUTF8);
	ck_assert_int_eq(collab_utf8_finish(&v), COLLAB_EUTF8);
	/* init makes it usable again */
	collab_utf8_init(&v);
	ck_assert_int_eq(collab_utf8_feed(&v, (const uint8_t *)"a", 1, &bad), 0);
	ck_assert_int_eq(collab_utf8_finish(&v), 0);
	ck_assert_int_eq(collab_utf8_check(NULL, 0), 0);
}
END_TEST

/*
 * Reference: a prefix is acceptable iff some valid UTF-8 string starts
 * with it. After a lead byte and k continuation bytes, the code points the
 * sequence can still become form the range [cp << 6r, (cp << 6r) | (2^6r
 * - 1)] (r bytes remaining); the prefix is viable iff that range meets the
 * scalar values the sequence length may encode (no overlong, no surrogate,
 * nothing past U+10FFFF). Returns VALID/TRUNCATED/BAD and the bad index.
 */
static int ref_viable(uint32_t cp, unsigned rem, uint32_t min)
{
	uint32_t lo = cp << (6 * rem), hi = lo | ((1u << (6 * rem)) - 1);

	if (hi < min || lo > 0x10FFFF)
		return 0;
	if (lo >= 0xD800 && hi <= 0xDFFF)
		return 0;
	return 1;
}

static enum verdict ref_utf8(const uint8_t *p, size_t n, size_t *bad)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		unsigned rem;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			rem = 1, cp = c & 0x1Fu, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			rem = 2, cp = c & 0x0Fu, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			rem = 3, cp = c & 0x07u, min = 0x10000;
		} else {
			*bad = i;
			return BAD;
		}
		if (!ref_viable(cp, rem, min)) {
			*bad = i;
			return BAD;
		}
		i++;
		while (rem > 0) {
			if (i == n)
				return TRUNCATED;
			if ((p[i] & 0xC0) != 0x80) {
				*bad = i;
				return BAD;
			}
			cp = cp << 6 | (p[i] & 0x3Fu);
			rem--;
			if (!ref_viable(cp, rem, min)) {
				*bad = i;
				return BAD;
			}
			i++;
		}
	}
	return VALID;
}

/* Returns 1 when the validator agrees with the reference on p[0..n).
 * Plain ifs, not ck_assert: Check records every assertion through a pipe,
 * far too slow for millions of inputs. */
static int agrees(const uint8_t *p, size_t n)
{
	struct collab_utf8 v;
	size_t bad = 0, rbad = 0;
	enum verdict want = ref_utf8(p, n, &rbad);
	int rc;

	collab_utf8_init(&v);
	rc = collab_utf8_feed(&v, p, n, &bad);
	if (want == BAD)
		return rc == COLLAB_EUTF8 && bad == rbad;
	return rc == 0 && collab_utf8_finish(&v) == (want == VALID ? 0 : COLLAB_EUTF8);
}

/* Counts disagreements, and reports the first one. */
struct tally {
	size_t tried, wrong;
	uint8_t first[4];
	size_t first_len;
};

static void tally_one(struct tally *t, const uint8_t *p, size_t n)
{
	t->tried++;
	if (agrees(p, n))
		return;
	if (t->wrong++ == 0) {
		memcpy(t->first, p, n);
		t->first_len = n;
	}
}

static void tally_check(const struct tally *t)
{
	ck_assert_msg(t->wrong == 0,
		      "%zu of %zu disagree with the reference; first: %02x %02x %02x %02x (len %zu)",
		      t->wrong, t->tried, t->first[0], t->first[1], t->first[2],
		      t->first[3], t->first_len);
}

START_TEST(test_exhaustive_short)
{
	struct tally t = { 0, 0, { 0 }, 0 };
	uint8_t b[3];

	for (unsigned x = 0; x < 256; x++) {
		b[0] = (uint8_t)x;
		tally_one(&t, b, 1);
		for (unsigned y = 0; y < 256; y++) {
			b[1] = (uint8_t)y;
			tally_one(&t, b, 2);
			for (unsigned z = 0; z < 256; z++) {
				b[2] = (uint8_t)z;
				tally_one(&t, b, 3);
			}
		}
	}
	ck_assert_uint_eq(t.tried, 256u + 65536u + 16777216u);
	tally_check(&t);
}
END_TEST

START_TEST(test_four_byte_slice)
{
	static const uint8_t some[] = {
		0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
		0xC2, 0xDF, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF
	};
	struct tally t = { 0, 0, { 0 }, 0 };
	uint8_t b[4];

	for (unsigned x = 0xE0; x < 256; x++) {
		b[0] = (uint8_t)x;
		for (unsigned y = 0; y < 256; y++) {
			b[1] = (uint8_t)y;
			for (size_t j = 0; j < ARRAY_LEN(some); j++) {
				b[2] = some[j];
				for (size_t k = 0; k < ARRAY_LEN(some); k++) {
					b[3] = some[k];
					tally_one(&t, b, 4);
				}
			}
		}
	}
	tally_check(&t);
}
END_TEST

/* Every scalar value, encoded by a plain encoder, is accepted; every
 * surrogate and every overlong form (each value in each longer length) is
 * refused at the byte the tables above predict. */
static size_t enc(uint32_t cp, size_t len, uint8_t *o)
{
	static const uint8_t leads[5] = { 0, 0x00, 0xC0, 0xE0, 0xF0 };

	for (size_t i = len - 1; i > 0; i--) {
		o[i] = (uint8_t)(0x80 | (cp & 0x3F));
		cp >>= 6;
	}
	o[0] = (uint8_t)(leads[len] | cp);
	return len;
}

START_TEST(test_every_code_point)
{
	uint8_t b[4];
	size_t wrong = 0;
	uint32_t first = 0;

	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		int surrogate = cp >= 0xD800 && cp <= 0xDFFF;
		int ok;
		struct collab_utf8 v;
		size_t bad = 99;

		enc(cp, len, b);
		collab_utf8_init(&v);
		if (surrogate)
			ok = collab_utf8_feed(&v, b, len, &bad) == COLLAB_EUTF8 && bad == 1;
		else
			ok = collab_utf8_check(b, len) == 0;
		/* overlong: the same value in each longer form; C0/C1 fail at
		 * the lead, E0 and F0 at the byte after it */
		for (size_t l = len + 1; l <= 4; l++) {
			collab_utf8_init(&v);
			enc(cp, l, b);
			ok &= collab_utf8_feed(&v, b, l, &bad) == COLLAB_EUTF8 &&
			      bad == (l == 2 ? 0u : 1u);
		}
		if (!ok && wrong++ == 0)
			first = cp;
	}
	ck_assert_msg(wrong == 0, "%zu code points wrong, first U+%04X", wrong,
		      (unsigned)first);
}
END_TEST

static Suite *utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *t = tcase_create("table");
	TCase *x = tcase_create("exhaustive");

	tcase_add_loop_test(t, test_whole, 0, (int)ARRAY_LEN(cases));
	tcase_add_loop_test(t, test_every_split, 0, (int)ARRAY_LEN(cases));
	tcase_add_loop_test(t, test_byte_by_byte, 0, (int)ARRAY_LEN(cases));
	tcase_add_loop_test(t, test_zeroed_state, 0, (int)ARRAY_LEN(cases));
	tcase_add_test(t, test_api_edges);
	suite_add_tcase(s, t);
	tcase_set_timeout(x, 120);
	tcase_add_test(x, test_exhaustive_short);
	tcase_add_test(x, test_four_byte_slice);
	tcase_add_test(x, test_every_code_point);
	suite_add_tcase(s, x);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(utf8_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
