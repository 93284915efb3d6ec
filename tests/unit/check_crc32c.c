/*
 * check_crc32c.c - CRC-32C (server/crc32c.h).
 *
 * RFC 3720 B.4's vectors verbatim plus the classic "123456789" check
 * value, for the dispatching function and the portable one; every entry
 * of the slicing-by-8 tables exercised against a bit-at-a-time reference;
 * incremental use at every split point; the hardware and software paths
 * against each other at every alignment and many lengths; and every input
 * read from a buffer that ends on a guard page.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "testutil.h"

/* Bit-at-a-time reference straight from the definition (reflected
 * polynomial 0x82F63B78, init and final XOR all ones). */
static uint32_t crc_ref(const uint8_t *p, size_t len)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ ((c & 1u) ? 0x82F63B78u : 0u);
	}
	return ~c;
}

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);
static const crc_fn impls[2] = { srv_crc32c, srv_crc32c_sw };

struct vec {
	const char *name;
	uint8_t data[32];
	size_t len;
	uint32_t crc;
};

static struct vec vecs[6];
static void fill_vectors(void)
{
	/* RFC 3720 B.4 "CRC Examples" (the RFC prints the CRC's bytes as
	 * they go on the wire, little-endian: "aa 36 91 8a" is 0x8A9136AA) */
	vecs[0] = (struct vec){ "32 bytes of zeros", { 0 }, 32, 0x8A9136AAu };
	vecs[1].name = "32 bytes of ones";
	memset(vecs[1].data, 0xFF, 32);
	vecs[1].len = 32;
	vecs[1].crc = 0x62A8AB43u;
	vecs[2].name = "32 bytes incrementing 00..1f";
	for (int i = 0; i < 32; i++)
		vecs[2].data[i] = (uint8_t)i;
	vecs[2].len = 32;
	vecs[2].crc = 0x46DD794Eu;
	vecs[3].name = "32 bytes decrementing 1f..00";
	for (int i = 0; i < 32; i++)
		vecs[3].data[i] = (uint8_t)(31 - i);
	vecs[3].len = 32;
	vecs[3].crc = 0x113FDB5Cu;
	/* The catalogue check value of CRC-32/ISCSI */
	vecs[4].name = "123456789";
	memcpy(vecs[4].data, "123456789", 9);
	vecs[4].len = 9;
	vecs[4].crc = 0xE3069283u;
	vecs[5] = (struct vec){ "empty", { 0 }, 0, 0u };
}

#define NVEC 6

START_TEST(test_vectors)
{
	const struct vec *v;
	crc_fn f = impls[_i % 2];
	struct guard_buf g;

	fill_vectors();
	v = &vecs[_i / 2];
	g = guard_copy(v->data, v->len);
	ck_assert_ptr_nonnull(g.p);
	ck_assert_msg(f(0, g.p, v->len) == v->crc, "%s (impl %d): got %08x",
		      v->name, _i % 2, f(0, g.p, v->len));
	ck_assert_uint_eq(crc_ref(g.p, v->len), v->crc);
	guard_free(&g);
}
END_TEST

/* Every split point, one byte at a time included, gives the one-shot CRC. */
START_TEST(test_every_split)
{
	crc_fn f = impls[_i];
	uint8_t buf[97];
	uint32_t whole;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37u + 11u);
	whole = f(0, buf, sizeof(buf));
	ck_assert_uint_eq(whole, crc_ref(buf, sizeof(buf)));
	for (size_t s = 0; s <= sizeof(buf); s++)
		ck_assert_uint_eq(f(f(0, buf, s), buf + s, sizeof(buf) - s),
				  whole);
	{
		uint32_t c = 0;
		for (size_t i = 0; i < sizeof(buf); i++)
			c = f(c, buf + i, 1);
		ck_assert_uint_eq(c, whole);
	}
	/* NULL with length 0 is the identity */
	ck_assert_uint_eq(f(whole, NULL, 0), whole);
}
END_TEST

/* For each byte position i of the 8-byte step and each value n, an input
 * whose step word has n at position i and zeros elsewhere indexes entry
 * n of table 7-i: all 2048 entries, each checked against the reference. */
START_TEST(test_every_table_entry)
{
	uint8_t b[8];
	unsigned bad = 0;

	for (int i = 0; i < 8; i++) {
		for (unsigned n = 0; n < 256; n++) {
			memset(b, 0, sizeof(b));
			/* the running CRC (~0) xors into the first 4 bytes */
			b[i] = (uint8_t)(n ^ (i < 4 ? 0xFFu : 0u));
			if (srv_crc32c_sw(0, b, 8) != crc_ref(b, 8))
				bad++;
		}
	}
	ck_assert_uint_eq(bad, 0);
}
END_TEST

/* Hardware (when present), software and reference agree on every length
 * 0..300 at every alignment 0..15, reading up to a guard page. */
START_TEST(test_paths_agree)
{
	uint8_t src[316];
	unsigned bad = 0;
	uint32_t x = 0x12345678u;

	for (size_t i = 0; i < sizeof(src); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		src[i] = (uint8_t)x;
	}
	for (size_t align = 0; align < 16; align++) {
		for (size_t len = 0; len <= 300; len++) {
			struct guard_buf g = guard_copy(src + align, len);
			uint32_t r = crc_ref(g.p, len);
			ck_assert_ptr_nonnull(g.p);
			if (srv_crc32c(0, g.p, len) != r ||
			    srv_crc32c_sw(0, g.p, len) != r)
				bad++;
			guard_free(&g);
		}
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_ge(srv_crc32c_hw_available(), 0);
	ck_assert_int_le(srv_crc32c_hw_available(), 1);
}
END_TEST

/* A larger buffer through both paths, fed in uneven pieces. */
START_TEST(test_large_incremental)
{
	size_t n = (size_t)1 << 20;
	uint8_t *b = malloc(n);
	uint32_t one, pieces = 0, sw = 0;
	size_t off = 0, step = 1;

	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i ^ (i >> 8) ^ (i >> 16));
	one = srv_crc32c(0, b, n);
	ck_assert_uint_eq(one, srv_crc32c_sw(0, b, n));
	ck_assert_uint_eq(one, crc_ref(b, n));
	while (off < n) {
		size_t k = step < n - off ? step : n - off;
		pieces = srv_crc32c(pieces, b + off, k);
		sw = srv_crc32c_sw(sw, b + off, k);
		off += k;
		step = step * 3 + 1;
		if (step > 70000)
			step = 5;
	}
	ck_assert_uint_eq(pieces, one);
	ck_assert_uint_eq(sw, one);
	free(b);
}
END_TEST

static Suite *crc32c_suite(void)
{
	Suite *s = suite_create("crc32c");
	TCase *t = tcase_create("crc32c");

	tcase_add_loop_test(t, test_vectors, 0, 2 * NVEC);
	tcase_add_loop_test(t, test_every_split, 0, 2);
	tcase_add_test(t, test_every_table_entry);
	tcase_add_test(t, test_paths_agree);
	tcase_add_test(t, test_large_incremental);
	tcase_set_timeout(t, 60);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crc32c_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
