/*
 * check_session.c - the pure parts of server/session.h: the per-connection
 * token bucket of PROTOCOL.md 4 (20 messages per second, bursts of 40 by
 * default; every message takes a token) and the subscriber handle packing.
 */
#include <check.h>
#include <stdlib.h>

#include "session.h"
#include "testutil.h"

/* One step of a bucket script: at time t, try n takes; expect ok of them
 * to succeed (the first ok ones). */
struct step {
	uint64_t t;
	unsigned n;
	unsigned ok;
};

struct bucket_vec {
	const char *name;
	uint64_t rate, burst;
	struct step steps[8];
	size_t nsteps;
};

static const struct bucket_vec bucket_vecs[] = {
	{ "defaults: a burst of 40, then 20 per second", 20, 40,
	  { { 0, 41, 40 }, { 49, 1, 0 }, { 50, 2, 1 }, { 100, 1, 1 },
	    { 1100, 25, 20 }, { 100000, 50, 40 } }, 6 },
	{ "a steady 20 per second is never refused", 20, 40,
	  { { 0, 40, 40 }, { 50, 1, 1 }, { 100, 1, 1 }, { 150, 1, 1 },
	    { 200, 1, 1 }, { 250, 2, 1 } }, 6 },
	{ "a clock going back adds nothing", 20, 40,
	  { { 5000, 40, 40 }, { 1000, 1, 0 }, { 5049, 1, 0 },
	    { 5050, 1, 1 } }, 4 },
	{ "burst 1", 1, 1,
	  { { 0, 2, 1 }, { 999, 1, 0 }, { 1000, 1, 1 }, { 5000, 3, 1 } }, 4 },
	{ "fractions accumulate", 3, 5,
	  { { 0, 5, 5 }, { 333, 1, 0 }, { 334, 1, 1 }, { 667, 1, 1 } }, 4 },
	{ "huge rate and burst do not overflow", 1000000000, 1000000000,
	  { { 0, 3, 3 }, { UINT64_MAX / 2, 3, 3 }, { UINT64_MAX, 3, 3 } }, 3 },
};

START_TEST(test_bucket)
{
	const struct bucket_vec *v = &bucket_vecs[_i];
	struct srv_bucket b;
	size_t i;
	unsigned k, got;

	srv_bucket_init(&b, v->burst, v->steps[0].t);
	for (i = 0; i < v->nsteps; i++) {
		got = 0;
		for (k = 0; k < v->steps[i].n; k++) {
			bool ok = srv_bucket_take(&b, v->rate, v->burst,
						  v->steps[i].t);
			/* once refused, refused for the rest of the instant */
			if (k >= v->steps[i].ok)
				ck_assert_msg(!ok, "%s: step %zu take %u passed",
					      v->name, i, k);
			got += ok;
		}
		ck_assert_msg(got == v->steps[i].ok, "%s: step %zu: %u of %u",
			      v->name, i, got, v->steps[i].ok);
	}
}
END_TEST

START_TEST(test_bucket_never_above_burst)
{
	struct srv_bucket b;
	unsigned k, got = 0;

	srv_bucket_init(&b, 40, 0);
	/* a long quiet time refills to the burst, not beyond */
	for (k = 0; k < 100; k++)
		got += srv_bucket_take(&b, 20, 40, 3600000);
	ck_assert_uint_eq(got, 40);
	/* a lowered burst (tenant reloaded) clamps what is there */
	srv_bucket_init(&b, 40, 0);
	got = 0;
	for (k = 0; k < 100; k++)
		got += srv_bucket_take(&b, 20, 5, 0);
	ck_assert_uint_eq(got, 5);
}
END_TEST

struct pack_vec {
	uint32_t slot, gen;
};

static const struct pack_vec pack_vecs[] = {
	{ 0, 1 }, { 1, 1 }, { 12345, 678 }, { UINT32_MAX, UINT32_MAX },
	{ 0, UINT32_MAX }, { UINT32_MAX, 1 },
};

START_TEST(test_pack)
{
	struct collab_wsconn_handle h = { pack_vecs[_i].slot, pack_vecs[_i].gen };
	struct collab_wsconn_handle back = srv_session_unpack(srv_session_pack(h));

	ck_assert_uint_eq(back.slot, h.slot);
	ck_assert_uint_eq(back.gen, h.gen);
}
END_TEST

START_TEST(test_pack_distinct)
{
	struct collab_wsconn_handle a = { 1, 2 }, b = { 2, 1 };

	ck_assert(srv_session_pack(a) != srv_session_pack(b));
}
END_TEST

static Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("bucket");

	tcase_add_loop_test(tc, test_bucket, 0, (int)ARRAY_LEN(bucket_vecs));
	tcase_add_test(tc, test_bucket_never_above_burst);
	suite_add_tcase(s, tc);
	tc = tcase_create("handles");
	tcase_add_loop_test(tc, test_pack, 0, (int)ARRAY_LEN(pack_vecs));
	tcase_add_test(tc, test_pack_distinct);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(session_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
