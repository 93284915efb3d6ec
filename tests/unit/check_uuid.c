/*
 * check_uuid.c - RFC 9562 UUIDs (collab/uuid.h).
 *
 * RFC 9562's example UUIDs verbatim, layout and version/variant bits of
 * generated ids, v7 timestamps and monotonic counters (10,000 ids in one
 * millisecond, the clock going back, counter rollover), format/parse round
 * trips and every rejection, each parse from a buffer ending on a guard
 * page. Generators are test-seeded (collab_rng_init_seed) so every run
 * sees the same ids.
 */
#include <check.h>
#include <stdlib.h>
#include <time.h>

#include "collab/common.h"
#include "collab/rand.h"
#include "collab/uuid.h"
#include "testutil.h"

static void seeded(struct collab_rng *r, const char *seed)
{
	ck_assert_int_eq(collab_rng_init_seed(r, seed, strlen(seed)), 0);
}

static int parse_guarded(const char *s, size_t len, struct collab_uuid *u)
{
	struct guard_buf g = guard_copy(s, len);
	int rc;

	ck_assert_ptr_nonnull(g.p);
	rc = collab_uuid_parse((const char *)g.p, len, u);
	guard_free(&g);
	return rc;
}

static uint64_t ts_of(const struct collab_uuid *u)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 6; i++)
		v = v << 8 | u->b[i];
	return v;
}

/* The 42-bit counter uuid.c keeps in rand_a and the top of rand_b. */
static uint64_t ctr_of(const struct collab_uuid *u)
{
	return (uint64_t)(u->b[6] & 0x0F) << 38 | (uint64_t)u->b[7] << 30 |
	       (uint64_t)(u->b[8] & 0x3F) << 24 | (uint64_t)u->b[9] << 16 |
	       (uint64_t)u->b[10] << 8 | u->b[11];
}

static int variant_ok(const struct collab_uuid *u)
{
	return (u->b[8] & 0xC0) == 0x80;        /* RFC 9562 4.1: 10xx */
}

/* ---- RFC 9562 examples ------------------------------------------------- */

struct example {
	const char *name;
	const char *text;       /* as the RFC prints it */
	const char *canonical;  /* what collab_uuid_format writes */
	uint8_t b[16];
	unsigned version;
};

static const struct example examples[] = {
	/* RFC 9562 A.3, example of a UUIDv4 */
	{ "rfc9562 A.3 v4", "919108f7-52d1-4320-9bac-f847db4148a8",
	  "919108f7-52d1-4320-9bac-f847db4148a8",
	  { 0x91, 0x91, 0x08, 0xf7, 0x52, 0xd1, 0x43, 0x20,
	    0x9b, 0xac, 0xf8, 0x47, 0xdb, 0x41, 0x48, 0xa8 }, 4 },
	/* RFC 9562 A.6, example of a UUIDv7 (printed uppercase there):
	 * unix_ts_ms 0x017F22E279B0 (2022-02-22 19:22:22 UTC), rand_a
	 * 0xCC3, rand_b 0x18C4DC0C0C07398F */
	{ "rfc9562 A.6 v7", "017F22E2-79B0-7CC3-98C4-DC0C0C07398F",
	  "017f22e2-79b0-7cc3-98c4-dc0c0c07398f",
	  { 0x01, 0x7f, 0x22, 0xe2, 0x79, 0xb0, 0x7c, 0xc3,
	    0x98, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f }, 7 },
	/* RFC 9562 5.9 Nil UUID and 5.10 Max UUID */
	{ "rfc9562 5.9 nil", "00000000-0000-0000-0000-000000000000",
	  "00000000-0000-0000-0000-000000000000", { 0 }, 0 },
	{ "rfc9562 5.10 max", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
	  "ffffffff-ffff-ffff-ffff-ffffffffffff",
	  { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 15 },
	/* mixed case is still case-insensitive input */
	{ "mixed case", "aBcDeF01-2345-6789-AbCd-Ef0123456789",
	  "abcdef01-2345-6789-abcd-ef0123456789",
	  { 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89,
	    0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89 }, 6 },
};

START_TEST(test_examples)
{
	const struct example *e = &examples[_i];
	struct collab_uuid u;
	char out[40];

	memset(&u, 0x5A, sizeof(u));
	ck_assert_int_eq(parse_guarded(e->text, strlen(e->text), &u), 0);
	ck_assert_mem_eq(u.b, e->b, 16);
	ck_assert_uint_eq(collab_uuid_version(&u), e->version);
	memset(out, '#', sizeof(out));
	ck_assert_int_eq(collab_uuid_format(&u, out, sizeof(out)), 0);
	ck_assert_str_eq(out, e->canonical);
	ck_assert_int_eq(out[37], '#');
}
END_TEST

START_TEST(test_rfc_v7_example_fields)
{
	struct collab_uuid u;

	ck_assert_int_eq(parse_guarded(examples[1].text, 36, &u), 0);
	ck_assert_uint_eq(ts_of(&u), 0x017F22E279B0u);
	ck_assert_uint_eq(ts_of(&u), 1645557742000u);
	ck_assert_uint_eq((u.b[6] & 0x0Fu) << 8 | u.b[7], 0xCC3);      /* rand_a */
	ck_assert(variant_ok(&u));
	ck_assert_uint_eq((uint64_t)(u.b[8] & 0x3F) << 56 | (uint64_t)u.b[9] << 48 |
			  (uint64_t)u.b[10] << 40 | (uint64_t)u.b[11] << 32 |
			  (uint64_t)u.b[12] << 24 | (uint64_t)u.b[13] << 16 |
			  (uint64_t)u.b[14] << 8 | u.b[15], 0x18C4DC0C0C07398Full);
}
END_TEST

/* ---- v4 --------------------------------------------------------------- */

/* RFC 9562 5.4: 122 random bits, version 0100, variant 10. Every random
 * bit takes both values across 1000 ids; the fixed ones never change; and
 * the id is the rng's next 16 bytes with those six bits set. */
START_TEST(test_v4_layout)
{
	struct collab_rng r, m;
	uint8_t and_[16], or_[16];

	seeded(&r, "v4");
	seeded(&m, "v4");
	memset(and_, 0xFF, sizeof(and_));
	memset(or_, 0, sizeof(or_));
	for (int i = 0; i < 1000; i++) {
		struct collab_uuid u;
		uint8_t x[16];

		ck_assert_int_eq(collab_uuid_v4(&r, &u), 0);
		ck_assert_int_eq(collab_rng_bytes(&m, x, 16), 0);
		x[6] = (uint8_t)((x[6] & 0x0F) | 0x40);
		x[8] = (uint8_t)((x[8] & 0x3F) | 0x80);
		if (memcmp(u.b, x, 16) != 0)
			ck_abort_msg("id %d is not the rng's bytes", i);
		for (size_t k = 0; k < 16; k++) {
			and_[k] &= u.b[k];
			or_[k] |= u.b[k];
		}
	}
	for (size_t k = 0; k < 16; k++) {
		uint8_t fixed = k == 6 ? 0xF0 : k == 8 ? 0xC0 : 0x00;
		ck_assert_uint_eq(and_[k] & ~fixed & 0xFF, 0);
		ck_assert_uint_eq(or_[k] | fixed, 0xFF);
	}
	ck_assert_uint_eq(and_[6] & 0xF0, 0x40);
	ck_assert_uint_eq(or_[6] & 0xF0, 0x40);
	ck_assert_uint_eq(and_[8] & 0xC0, 0x80);
	ck_assert_uint_eq(or_[8] & 0xC0, 0x80);
}
END_TEST

START_TEST(test_v4_rng_failure)
{
	struct collab_rng r;
	struct collab_uuid u, before;

	memset(&r, 0, sizeof(r));               /* never initialised */
	memset(&u, 0x33, sizeof(u));
	before = u;
	ck_assert_int_eq(collab_uuid_v4(&r, &u), COLLAB_ESTATE);
	ck_assert_mem_eq(u.b, before.b, 16);
}
END_TEST

START_TEST(test_v4_kernel_seeded)
{
	struct collab_rng r;
	struct collab_uuid a, b;

	ck_assert_int_eq(collab_rng_init(&r), 0);
	ck_assert_int_eq(collab_uuid_v4(&r, &a), 0);
	ck_assert_int_eq(collab_uuid_v4(&r, &b), 0);
	ck_assert_uint_eq(collab_uuid_version(&a), 4);
	ck_assert(variant_ok(&a));
	ck_assert_int_ne(memcmp(a.b, b.b, 16), 0);
	collab_rng_wipe(&r);
}
END_TEST

/* ---- v7 --------------------------------------------------------------- */

/* RFC 9562 5.7: unix_ts_ms in octets 0-5, big-endian. */
static const uint64_t v7_times[] = {
	0, 1, 255, 256, 0x017F22E279B0u, 1764151200000u, 0x0000FFFFFFFFFFFFu - 1,
	COLLAB_UUID_V7_MAX_MS
};

START_TEST(test_v7_timestamp_bits)
{
	uint64_t ms = v7_times[_i];
	struct collab_uuid_v7gen g;
	struct collab_rng r;
	struct collab_uuid u;

	seeded(&r, "v7ts");
	collab_uuid_v7_init(&g);
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, ms, &u), 0);
	ck_assert_uint_eq(ts_of(&u), ms);
	ck_assert_uint_eq(collab_uuid_version(&u), 7);
	ck_assert_uint_eq(u.b[6] >> 4, 7);
	ck_assert(variant_ok(&u));
	/* a fresh counter has its guard bit (bit 41) clear */
	ck_assert_uint_lt(ctr_of(&u), (uint64_t)1 << 41);
}
END_TEST

START_TEST(test_v7_range)
{
	struct collab_uuid_v7gen g, g0;
	struct collab_rng r;
	struct collab_uuid u, before;

	seeded(&r, "range");
	collab_uuid_v7_init(&g);
	memset(&u, 0x44, sizeof(u));
	before = u;
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, COLLAB_UUID_V7_MAX_MS + 1, &u),
			 COLLAB_ERANGE);
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, UINT64_MAX, &u), COLLAB_ERANGE);
	ck_assert_mem_eq(u.b, before.b, 16);
	ck_assert_uint_eq(g.started, 0);
	/* started generator: still refused, state kept */
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, 5, &u), 0);
	g0 = g;
	before = u;
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, COLLAB_UUID_V7_MAX_MS + 1, &u),
			 COLLAB_ERANGE);
	ck_assert_mem_eq(u.b, before.b, 16);
	ck_assert_mem_eq(&g, &g0, sizeof(g));
}
END_TEST

/* 10,000 ids in one millisecond: strictly increasing, all carrying that
 * millisecond, the counter rising by exactly one each time (RFC 9562 6.2
 * method 1), the low 32 bits random. */
START_TEST(test_v7_monotonic_same_ms)
{
	const uint64_t ms = 1764151200123u;
	struct collab_uuid_v7gen g;
	struct collab_rng r;
	struct collab_uuid prev, u;
	size_t bad_order = 0, bad_ts = 0, bad_ctr = 0, bad_bits = 0;
	uint32_t tail_or = 0, tail_and = 0xFFFFFFFF;

	seeded(&r, "mono");
	collab_uuid_v7_init(&g);
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, ms, &prev), 0);
	for (int i = 1; i < 10000; i++) {
		uint32_t tail;
		ck_assert_int_eq(collab_uuid_v7_at(&g, &r, ms, &u), 0);
		bad_order += memcmp(prev.b, u.b, 16) >= 0;
		bad_ts += ts_of(&u) != ms;
		bad_ctr += ctr_of(&u) != ctr_of(&prev) + 1;
		bad_bits += collab_uuid_version(&u) != 7 || !variant_ok(&u);
		tail = (uint32_t)u.b[12] << 24 | (uint32_t)u.b[13] << 16 |
		       (uint32_t)u.b[14] << 8 | u.b[15];
		tail_or |= tail;
		tail_and &= tail;
		prev = u;
	}
	ck_assert_uint_eq(bad_order, 0);
	ck_assert_uint_eq(bad_ts, 0);
	ck_assert_uint_eq(bad_ctr, 0);
	ck_assert_uint_eq(bad_bits, 0);
	ck_assert_uint_eq(tail_or, 0xFFFFFFFF);
	ck_assert_uint_eq(tail_and, 0);
}
END_TEST

/* A mix of same, later and earlier milliseconds: ids from one generator
 * always increase, the timestamp never goes back, and a later millisecond
 * starts a fresh random counter below the guard bit. */
START_TEST(test_v7_clock_sequence)
{
	static const uint64_t clock[] = {
		1000, 1000, 1001, 1001, 1001, 999, 998, 1001, 1005, 1005, 3, 1006
	};
	static const uint64_t want_ts[] = {
		1000, 1000, 1001, 1001, 1001, 1001, 1001, 1001, 1005, 1005, 1005, 1006
	};
	struct collab_uuid_v7gen g;
	struct collab_rng r;
	struct collab_uuid prev, u;

	seeded(&r, "clock");
	memset(&g, 0, sizeof(g));               /* a zeroed generator works too */
	for (size_t i = 0; i < ARRAY_LEN(clock); i++) {
		ck_assert_int_eq(collab_uuid_v7_at(&g, &r, clock[i], &u), 0);
		ck_assert_uint_eq(ts_of(&u), want_ts[i]);
		if (i > 0) {
			ck_assert_int_lt(memcmp(prev.b, u.b, 16), 0);
			if (want_ts[i] == want_ts[i - 1])
				ck_assert_uint_eq(ctr_of(&u), ctr_of(&prev) + 1);
			else
				ck_assert_uint_lt(ctr_of(&u), (uint64_t)1 << 41);
		}
		prev = u;
	}
	/* init resets: the next id takes the clock as given */
	collab_uuid_v7_init(&g);
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, 3, &u), 0);
	ck_assert_uint_eq(ts_of(&u), 3);
}
END_TEST

/* Counter rollover (RFC 9562 6.2): the timestamp is advanced by one
 * millisecond ahead of the clock and a fresh counter starts; at the last
 * representable millisecond that is COLLAB_ERANGE, state untouched. */
START_TEST(test_v7_counter_rollover)
{
	const uint64_t ctr_max = ((uint64_t)1 << 42) - 1;
	struct collab_uuid_v7gen g, g0;
	struct collab_rng r;
	struct collab_uuid a, b, c, before;

	seeded(&r, "roll");
	collab_uuid_v7_init(&g);
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, 500, &a), 0);
	g.counter = ctr_max - 1;                /* as if 2^41 ids came before */
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, 500, &a), 0);
	ck_assert_uint_eq(ctr_of(&a), ctr_max);
	ck_assert_uint_eq(ts_of(&a), 500);
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, 500, &b), 0);
	ck_assert_uint_eq(ts_of(&b), 501);
	ck_assert_uint_lt(ctr_of(&b), (uint64_t)1 << 41);
	ck_assert_int_lt(memcmp(a.b, b.b, 16), 0);
	/* the clock still says 500: the generator stays at 501 */
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, 500, &c), 0);
	ck_assert_uint_eq(ts_of(&c), 501);
	ck_assert_int_lt(memcmp(b.b, c.b, 16), 0);

	/* no millisecond left after the last one */
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, COLLAB_UUID_V7_MAX_MS, &a), 0);
	g.counter = ctr_max;
	g0 = g;
	memset(&c, 0x11, sizeof(c));
	before = c;
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, COLLAB_UUID_V7_MAX_MS, &c),
			 COLLAB_ERANGE);
	ck_assert_mem_eq(c.b, before.b, 16);
	ck_assert_mem_eq(&g, &g0, sizeof(g));
}
END_TEST

START_TEST(test_v7_rng_failure)
{
	struct collab_uuid_v7gen g, g0;
	struct collab_rng r, bad;
	struct collab_uuid u, before;

	seeded(&r, "fail");
	collab_uuid_v7_init(&g);
	ck_assert_int_eq(collab_uuid_v7_at(&g, &r, 77, &u), 0);
	g0 = g;
	before = u;
	memset(&bad, 0, sizeof(bad));
	ck_assert_int_eq(collab_uuid_v7_at(&g, &bad, 77, &u), COLLAB_ESTATE);
	ck_assert_int_eq(collab_uuid_v7(&g, &bad, &u), COLLAB_ESTATE);
	ck_assert_mem_eq(u.b, before.b, 16);
	ck_assert_mem_eq(&g, &g0, sizeof(g));
}
END_TEST

static uint64_t now_ms(void)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

START_TEST(test_v7_wall_clock)
{
	struct collab_uuid_v7gen g;
	struct collab_rng r;
	struct collab_uuid u, prev;
	uint64_t t0, t1;

	seeded(&r, "wall");
	collab_uuid_v7_init(&g);
	t0 = now_ms();
	ck_assert_int_eq(collab_uuid_v7(&g, &r, &prev), 0);
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(collab_uuid_v7(&g, &r, &u), 0);
		ck_assert_int_lt(memcmp(prev.b, u.b, 16), 0);
		prev = u;
	}
	t1 = now_ms();
	ck_assert_uint_ge(ts_of(&u), t0);
	ck_assert_uint_le(ts_of(&u), t1);
	ck_assert_uint_eq(collab_uuid_version(&u), 7);
}
END_TEST

/* ---- format ------------------------------------------------------------- */

START_TEST(test_format_capacity)
{
	struct collab_uuid u;
	char out[40];

	memset(u.b, 0xAB, 16);
	/* 36: the characters, no NUL */
	memset(out, '#', sizeof(out));
	ck_assert_int_eq(collab_uuid_format(&u, out, 36), 0);
	ck_assert_mem_eq(out, "abababab-abab-abab-abab-abababababab", 36);
	ck_assert_int_eq(out[36], '#');
	/* 37: and a NUL */
	memset(out, '#', sizeof(out));
	ck_assert_int_eq(collab_uuid_format(&u, out, 37), 0);
	ck_assert_int_eq(out[36], '\0');
	ck_assert_int_eq(out[37], '#');
	/* 35 or less: COLLAB_ESPACE, untouched */
	memset(out, '#', sizeof(out));
	ck_assert_int_eq(collab_uuid_format(&u, out, 35), COLLAB_ESPACE);
	ck_assert_int_eq(collab_uuid_format(&u, out, 0), COLLAB_ESPACE);
	ck_assert_int_eq(collab_uuid_format(&u, NULL, 0), COLLAB_ESPACE);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_int_eq(out[i], '#');
}
END_TEST

/* Each nibble value in each position formats as its lowercase digit. */
START_TEST(test_format_every_nibble)
{
	static const char hex[] = "0123456789abcdef";
	static const size_t pos[32] = {
		0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17,
		19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35
	};
	size_t wrong = 0;

	for (size_t k = 0; k < 32; k++) {
		for (unsigned v = 0; v < 16; v++) {
			struct collab_uuid u;
			char out[37];
			memset(u.b, 0, 16);
			u.b[k / 2] = (uint8_t)(k % 2 ? v : v << 4);
			ck_assert_int_eq(collab_uuid_format(&u, out, sizeof(out)), 0);
			for (size_t i = 0; i < 36; i++) {
				char want = (i == 8 || i == 13 || i == 18 || i == 23) ? '-'
					    : i == pos[k] ? hex[v] : '0';
				wrong += out[i] != want;
			}
		}
	}
	ck_assert_uint_eq(wrong, 0);
}
END_TEST

/* ---- parse ---------------------------------------------------------------- */

struct bad {
	const char *name;
	const char *in;
	size_t len;
};

#define TXT(lit) (lit), sizeof(lit) - 1

static const struct bad bads[] = {
	{ "empty", TXT("") },
	{ "35 chars", TXT("919108f7-52d1-4320-9bac-f847db4148a") },
	{ "37 chars", TXT("919108f7-52d1-4320-9bac-f847db4148a8a") },
	{ "trailing NUL counted", TXT("919108f7-52d1-4320-9bac-f847db4148a8\0") },
	{ "trailing LF", TXT("919108f7-52d1-4320-9bac-f847db4148a8\n") },
	{ "leading space", TXT(" 919108f7-52d1-4320-9bac-f847db4148a8") },
	{ "no hyphens (32 hex)", TXT("919108f752d143209bacf847db4148a8") },
	{ "braces", TXT("{919108f7-52d1-4320-9bac-f847db4148a8}") },
	{ "urn prefix", TXT("urn:uuid:919108f7-52d1-4320-9bac-f847db4148a8") },
	{ "hyphen shifted right", TXT("919108f75-2d1-4320-9bac-f847db4148a8") },
	{ "hyphen shifted left", TXT("919108f-752d1-4320-9bac-f847db4148a8") },
	{ "hyphens 8-4-4-4-12 moved to 4-4", TXT("919108f7-52d14-320-9bac-f847db4148a8") },
	{ "underscore for hyphen", TXT("919108f7_52d1-4320-9bac-f847db4148a8") },
	{ "space for hyphen", TXT("919108f7 52d1 4320 9bac f847db4148a8") },
	{ "g", TXT("919108g7-52d1-4320-9bac-f847db4148a8") },
	{ "G", TXT("919108f7-52d1-4320-9bac-f847db4148aG") },
	{ "x", TXT("x19108f7-52d1-4320-9bac-f847db4148a8") },
	{ "0x prefix in a group", TXT("0x9108f7-52d1-4320-9bac-f847db4148a8") },
	{ "plus sign", TXT("+19108f7-52d1-4320-9bac-f847db4148a8") },
	{ "inner NUL", TXT("919108f7-52d1-4320-9bac-f847\0b4148a8") },
	{ "high byte", TXT("919108f7-52d1-4320-9bac-f847db4148a\xC3") },
	{ "fullwidth digit (UTF-8)", TXT("919108f7-52d1-4320-9bac-f847db41\xEF\xBC\x91") },
	{ "all hyphens", TXT("------------------------------------") },
};

START_TEST(test_parse_rejects)
{
	const struct bad *b = &bads[_i];
	struct collab_uuid u, before;

	memset(&u, 0x77, sizeof(u));
	before = u;
	ck_assert_msg(parse_guarded(b->in, b->len, &u) == COLLAB_ESYNTAX, "%s", b->name);
	ck_assert_mem_eq(u.b, before.b, 16);
}
END_TEST

START_TEST(test_parse_null_empty)
{
	struct collab_uuid u;

	ck_assert_int_eq(collab_uuid_parse(NULL, 0, &u), COLLAB_ESYNTAX);
}
END_TEST

/* Every byte value at every one of the 36 positions of a valid id: it
 * parses iff the byte is '-' at 8, 13, 18, 23 or a hex digit elsewhere,
 * and then to the right nibble. */
static int hexval(unsigned c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (int)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (int)(c - 'A' + 10);
	return -1;
}

START_TEST(test_parse_every_byte_everywhere)
{
	static const char base[] = "00000000-0000-0000-0000-000000000000";
	size_t wrong = 0;

	for (size_t pos = 0; pos < 36; pos++) {
		int hyphen = pos == 8 || pos == 13 || pos == 18 || pos == 23;
		/* octet/nibble of this position, for hex positions */
		size_t digit = pos - (pos > 8) - (pos > 13) - (pos > 18) - (pos > 23);
		for (unsigned c = 0; c < 256; c++) {
			char s[36];
			struct collab_uuid u;
			int ok = hyphen ? c == '-' : hexval(c) >= 0;
			int rc;

			memcpy(s, base, 36);
			s[pos] = (char)c;
			rc = collab_uuid_parse(s, 36, &u);
			if ((rc == 0) != ok || (rc != 0 && rc != COLLAB_ESYNTAX)) {
				wrong++;
				continue;
			}
			if (rc == 0 && !hyphen) {
				uint8_t want[16] = { 0 };
				want[digit / 2] = (uint8_t)(digit % 2 ? hexval(c)
								   : hexval(c) << 4);
				wrong += memcmp(u.b, want, 16) != 0;
			}
		}
	}
	ck_assert_uint_eq(wrong, 0);
}
END_TEST

/* format(parse(x)) == lower(x) and parse(format(u)) == u, for generated
 * ids of both versions, in lowercase and uppercase. */
START_TEST(test_roundtrip)
{
	struct collab_uuid_v7gen g;
	struct collab_rng r;
	size_t wrong = 0;

	seeded(&r, "round");
	collab_uuid_v7_init(&g);
	for (int i = 0; i < 2000; i++) {
		struct collab_uuid u, p, q;
		char s[37], up[36];

		if (i % 2)
			ck_assert_int_eq(collab_uuid_v4(&r, &u), 0);
		else
			ck_assert_int_eq(collab_uuid_v7_at(&g, &r, (uint64_t)i * 7919u, &u), 0);
		ck_assert_int_eq(collab_uuid_format(&u, s, sizeof(s)), 0);
		for (size_t k = 0; k < 36; k++) {
			wrong += s[k] >= 'A' && s[k] <= 'Z';
			up[k] = s[k] >= 'a' && s[k] <= 'f' ? (char)(s[k] - 32) : s[k];
		}
		wrong += collab_uuid_parse(s, 36, &p) != 0 || memcmp(p.b, u.b, 16) != 0;
		wrong += collab_uuid_parse(up, 36, &q) != 0 || memcmp(q.b, u.b, 16) != 0;
		wrong += strlen(s) != 36;
	}
	ck_assert_uint_eq(wrong, 0);
}
END_TEST

START_TEST(test_version_field)
{
	for (unsigned v = 0; v < 16; v++) {
		struct collab_uuid u;
		memset(u.b, 0xFF, 16);
		u.b[6] = (uint8_t)(v << 4 | 0x0F);
		ck_assert_uint_eq(collab_uuid_version(&u), v);
		memset(u.b, 0, 16);
		u.b[6] = (uint8_t)(v << 4);
		ck_assert_uint_eq(collab_uuid_version(&u), v);
	}
}
END_TEST

static Suite *uuid_suite(void)
{
	Suite *s = suite_create("uuid");
	TCase *rfc = tcase_create("rfc9562");
	TCase *gen = tcase_create("generate");
	TCase *txt = tcase_create("text");

	tcase_add_loop_test(rfc, test_examples, 0, (int)ARRAY_LEN(examples));
	tcase_add_test(rfc, test_rfc_v7_example_fields);
	tcase_add_test(rfc, test_version_field);
	suite_add_tcase(s, rfc);
	tcase_set_timeout(gen, 60);
	tcase_add_test(gen, test_v4_layout);
	tcase_add_test(gen, test_v4_rng_failure);
	tcase_add_test(gen, test_v4_kernel_seeded);
	tcase_add_loop_test(gen, test_v7_timestamp_bits, 0, (int)ARRAY_LEN(v7_times));
	tcase_add_test(gen, test_v7_range);
	tcase_add_test(gen, test_v7_monotonic_same_ms);
	tcase_add_test(gen, test_v7_clock_sequence);
	tcase_add_test(gen, test_v7_counter_rollover);
	tcase_add_test(gen, test_v7_rng_failure);
	tcase_add_test(gen, test_v7_wall_clock);
	suite_add_tcase(s, gen);
	tcase_set_timeout(txt, 60);
	tcase_add_test(txt, test_format_capacity);
	tcase_add_test(txt, test_format_every_nibble);
	tcase_add_loop_test(txt, test_parse_rejects, 0, (int)ARRAY_LEN(bads));
	tcase_add_test(txt, test_parse_null_empty);
	tcase_add_test(txt, test_parse_every_byte_everywhere);
	tcase_add_test(txt, test_roundtrip);
	suite_add_tcase(s, txt);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(uuid_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
