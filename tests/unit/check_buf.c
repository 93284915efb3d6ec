/*
 * check_buf.c - growable buffers and shared blocks (collab/buf.h).
 *
 * A counting allocator that can be told to fail at the k-th call checks
 * that every allocation is freed once with the size it was asked for, and
 * that a failed append leaves the buffer exactly as it was.
 */
#include <check.h>
#include <stdlib.h>

#include "collab/buf.h"
#include "collab/common.h"
#include "testutil.h"

/* ---- counting, failing allocator ------------------------------------ */

#define MAX_LIVE 64

struct counting {
	size_t allocs;          /* calls to alloc, failed ones included */
	size_t failed;          /* calls that returned NULL */
	size_t frees;           /* calls to free with a non-NULL pointer */
	size_t fail_at;         /* 1-based alloc call to fail; 0: none */
	int fail_all;           /* fail every call from fail_at on */
	size_t bad_free;        /* frees of unknown pointers or wrong sizes */
	void *live[MAX_LIVE];
	size_t live_n[MAX_LIVE];
};

static void *c_alloc(void *ctx, size_t n)
{
	struct counting *c = ctx;
	void *p;

	c->allocs++;
	if (c->fail_at && (c->allocs == c->fail_at ||
			   (c->fail_all && c->allocs > c->fail_at))) {
		c->failed++;
		return NULL;
	}
	/* Huge sizes fail like an exhausted heap (ASan would abort on a
	 * malloc this large rather than return NULL). */
	p = n > ((size_t)1 << 30) ? NULL : malloc(n ? n : 1);
	if (p == NULL) {
		c->failed++;
		return NULL;
	}
	for (size_t i = 0; i < MAX_LIVE; i++) {
		if (c->live[i] == NULL) {
			c->live[i] = p;
			c->live_n[i] = n;
			return p;
		}
	}
	free(p);                /* table full: a test bug, reported as failure */
	c->failed++;
	return NULL;
}

static void c_free(void *ctx, void *p, size_t n)
{
	struct counting *c = ctx;

	if (p == NULL)
		return;
	c->frees++;
	for (size_t i = 0; i < MAX_LIVE; i++) {
		if (c->live[i] == p) {
			if (c->live_n[i] != n)
				c->bad_free++;
			c->live[i] = NULL;
			free(p);
			return;
		}
	}
	c->bad_free++;
}

static size_t c_live(const struct counting *c)
{
	size_t k = 0;

	for (size_t i = 0; i < MAX_LIVE; i++)
		k += c->live[i] != NULL;
	return k;
}

static struct counting cnt;
static struct collab_alloc alloc_hook;

static const struct collab_alloc *counting_alloc(void)
{
	memset(&cnt, 0, sizeof(cnt));
	alloc_hook.alloc = c_alloc;
	alloc_hook.free = c_free;
	alloc_hook.ctx = &cnt;
	return &alloc_hook;
}

/* Everything allocated was freed, each once, with its size. */
static void assert_all_freed(void)
{
	ck_assert_uint_eq(c_live(&cnt), 0);
	ck_assert_uint_eq(cnt.bad_free, 0);
	ck_assert_uint_eq(cnt.frees, cnt.allocs - cnt.failed);
}

/* ---- growth table ------------------------------------------------------ */

enum op { END = 0, APPEND, RESERVE, CONSUME, APPEND_BYTE };

struct step {
	enum op op;
	size_t n;
	int rc;
	size_t len, cap;        /* after the step */
};

struct growth {
	const char *name;
	size_t max;
	struct step steps[8];
};

static const struct growth growths[] = {
	{ "unlimited doubling", 0, {
		{ APPEND, 1, 0, 1, 64 },
		{ APPEND, 63, 0, 64, 64 },
		{ APPEND_BYTE, 1, 0, 65, 128 },
		{ APPEND, 1000, 0, 1065, 2048 },
		{ APPEND, 0, 0, 1065, 2048 },
		{ END, 0, 0, 0, 0 } } },
	{ "limit 100 clamps the last doubling", 100, {
		{ APPEND, 64, 0, 64, 64 },
		{ APPEND, 30, 0, 94, 100 },
		{ APPEND, 6, 0, 100, 100 },
		{ APPEND, 1, COLLAB_ELIMIT, 100, 100 },
		{ APPEND_BYTE, 1, COLLAB_ELIMIT, 100, 100 },
		{ APPEND, 0, 0, 100, 100 },
		{ CONSUME, 1, 0, 99, 100 },
		{ APPEND, 1, 0, 100, 100 } } },
	{ "limit below the minimum allocation", 10, {
		{ APPEND, 1, 0, 1, 10 },
		{ APPEND, 9, 0, 10, 10 },
		{ APPEND, 1, COLLAB_ELIMIT, 10, 10 },
		{ END, 0, 0, 0, 0 } } },
	{ "reserve to the limit", 200, {
		{ RESERVE, 200, 0, 0, 200 },
		{ RESERVE, 201, COLLAB_ELIMIT, 0, 200 },
		{ APPEND, 200, 0, 200, 200 },
		{ RESERVE, 0, 0, 200, 200 },
		{ RESERVE, 1, COLLAB_ELIMIT, 200, 200 },
		{ END, 0, 0, 0, 0 } } },
	{ "first append over the limit allocates nothing", 64, {
		{ APPEND, 65, COLLAB_ELIMIT, 0, 0 },
		{ RESERVE, SIZE_MAX, COLLAB_ELIMIT, 0, 0 },
		{ APPEND, 64, 0, 64, 64 },
		{ END, 0, 0, 0, 0 } } },
	{ "reserve within capacity does not allocate", 0, {
		{ APPEND, 10, 0, 10, 64 },
		{ RESERVE, 54, 0, 10, 64 },
		{ RESERVE, 55, 0, 10, 128 },
		{ CONSUME, 10, 0, 0, 128 },
		{ RESERVE, 128, 0, 0, 128 },
		{ END, 0, 0, 0, 0 } } },
	{ "limit overflow-safe near SIZE_MAX", 0, {
		{ APPEND, 3, 0, 3, 64 },
		{ RESERVE, SIZE_MAX - 2, COLLAB_ELIMIT, 3, 64 },
		{ RESERVE, SIZE_MAX, COLLAB_ELIMIT, 3, 64 },
		/* exactly up to SIZE_MAX: within the limit, but no heap has it */
		{ RESERVE, SIZE_MAX - 3, COLLAB_ENOMEM, 3, 64 },
		{ APPEND, 1, 0, 4, 64 },
		{ END, 0, 0, 0, 0 } } },
};

/* The model of the contents: byte i of all ever appended is (uint8_t)i;
 * consumed counts the bytes dropped from the front. */
static void check_contents(const struct collab_buf *b, size_t consumed)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->p[i] != (uint8_t)(consumed + i))
			ck_abort_msg("byte %zu is %u, want %u", i, b->p[i],
				     (uint8_t)(consumed + i));
}

START_TEST(test_growth)
{
	const struct growth *g = &growths[_i];
	struct collab_buf b;
	size_t appended = 0, consumed = 0;
	static uint8_t src[4096];

	collab_buf_init(&b, counting_alloc(), g->max);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_uint_eq(cnt.allocs, 0);
	for (size_t s = 0; s < ARRAY_LEN(g->steps) && g->steps[s].op != END; s++) {
		const struct step *st = &g->steps[s];
		int rc = 0;

		for (size_t i = 0; i < sizeof(src) && i < st->n; i++)
			src[i] = (uint8_t)(appended + i);
		switch (st->op) {
		case APPEND:
			rc = collab_buf_append(&b, st->n ? src : NULL, st->n);
			break;
		case APPEND_BYTE:
			rc = collab_buf_append_byte(&b, src[0]);
			break;
		case RESERVE:
			rc = collab_buf_reserve(&b, st->n);
			break;
		case CONSUME:
			collab_buf_consume(&b, st->n);
			consumed += st->n;
			break;
		case END:
			break;
		}
		if (rc == 0 && (st->op == APPEND || st->op == APPEND_BYTE))
			appended += st->n;
		ck_assert_msg(rc == st->rc, "%s step %zu: rc %d want %d", g->name, s, rc, st->rc);
		ck_assert_msg(b.len == st->len && b.cap == st->cap,
			      "%s step %zu: len %zu cap %zu, want %zu %zu",
			      g->name, s, b.len, b.cap, st->len, st->cap);
		ck_assert_uint_eq(b.len, appended - consumed);
		check_contents(&b, consumed);
	}
	collab_buf_free(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	assert_all_freed();
}
END_TEST

/* Make the k-th allocation fail, for every k a run of appends makes:
 * the failing append returns COLLAB_ENOMEM and leaves p, len, cap and the
 * bytes exactly as they were; the next append succeeds. */
START_TEST(test_alloc_failure_leaves_buffer_intact)
{
	static const size_t sizes[] = { 1, 70, 5, 200, 1, 600, 3000 };
	size_t k;

	for (k = 1; k <= 8; k++) {
		struct collab_buf b;
		size_t appended = 0, nfail = 0;
		static uint8_t src[3000];

		collab_buf_init(&b, counting_alloc(), 0);
		cnt.fail_at = k;
		for (size_t s = 0; s < ARRAY_LEN(sizes); s++) {
			uint8_t *p0 = b.p;
			size_t len0 = b.len, cap0 = b.cap, allocs0 = cnt.allocs;
			int rc;

			for (size_t i = 0; i < sizes[s]; i++)
				src[i] = (uint8_t)(appended + i);
			rc = collab_buf_append(&b, src, sizes[s]);
			if (rc != 0) {
				ck_assert_int_eq(rc, COLLAB_ENOMEM);
				ck_assert_uint_eq(cnt.allocs, allocs0 + 1);
				ck_assert_ptr_eq(b.p, p0);
				ck_assert_uint_eq(b.len, len0);
				ck_assert_uint_eq(b.cap, cap0);
				check_contents(&b, 0);
				nfail++;
				/* the retry gets the next (working) call */
				rc = collab_buf_append(&b, src, sizes[s]);
				ck_assert_int_eq(rc, 0);
			}
			appended += sizes[s];
			ck_assert_uint_eq(b.len, appended);
			check_contents(&b, 0);
		}
		/* five allocations: 64, 128, 512, 1024, 4096 bytes */
		ck_assert_uint_eq(nfail, k <= cnt.allocs ? 1u : 0u);
		collab_buf_free(&b);
		assert_all_freed();
	}
}
END_TEST

/* With every allocation failing, nothing changes at all. */
START_TEST(test_alloc_always_fails)
{
	struct collab_buf b;

	collab_buf_init(&b, counting_alloc(), 0);
	cnt.fail_at = 1;
	cnt.fail_all = 1;
	ck_assert_int_eq(collab_buf_append(&b, "x", 1), COLLAB_ENOMEM);
	ck_assert_int_eq(collab_buf_append_byte(&b, 'x'), COLLAB_ENOMEM);
	ck_assert_int_eq(collab_buf_reserve(&b, 1), COLLAB_ENOMEM);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	/* nothing needed: no call */
	ck_assert_int_eq(collab_buf_append(&b, NULL, 0), 0);
	ck_assert_int_eq(collab_buf_reserve(&b, 0), 0);
	ck_assert_uint_eq(cnt.allocs, 3);
	collab_buf_free(&b);
	ck_assert_uint_eq(cnt.frees, 0);
	assert_all_freed();
}
END_TEST

START_TEST(test_consume_reset_free_reuse)
{
	struct collab_buf b;
	uint8_t *p0;

	collab_buf_init(&b, counting_alloc(), 0);
	ck_assert_int_eq(collab_buf_append(&b, "abcdef", 6), 0);
	p0 = b.p;
	collab_buf_consume(&b, 0);
	ck_assert_uint_eq(b.len, 6);
	ck_assert_mem_eq(b.p, "abcdef", 6);
	collab_buf_consume(&b, 2);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_mem_eq(b.p, "cdef", 4);
	ck_assert_ptr_eq(b.p, p0);              /* keeps the allocation */
	ck_assert_uint_eq(b.cap, 64);
	ck_assert_int_eq(collab_buf_append(&b, "gh", 2), 0);
	ck_assert_mem_eq(b.p, "cdefgh", 6);
	collab_buf_consume(&b, 5);
	ck_assert_mem_eq(b.p, "h", 1);
	collab_buf_consume(&b, 1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 64);
	ck_assert_int_eq(collab_buf_append(&b, "ij", 2), 0);
	collab_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_eq(b.p, p0);
	ck_assert_uint_eq(b.cap, 64);
	ck_assert_uint_eq(cnt.allocs, 1);
	collab_buf_free(&b);
	ck_assert_ptr_null(b.p);
	assert_all_freed();
	/* reusable after free, same allocator and limit */
	ck_assert_int_eq(collab_buf_append(&b, "k", 1), 0);
	ck_assert_uint_eq(cnt.allocs, 2);
	collab_buf_free(&b);
	collab_buf_free(&b);                    /* twice is harmless */
	assert_all_freed();
	/* consume on an empty, never-allocated buffer */
	collab_buf_init(&b, counting_alloc(), 0);
	collab_buf_consume(&b, 0);
	collab_buf_reset(&b);
	collab_buf_free(&b);
	ck_assert_uint_eq(cnt.allocs, 0);
}
END_TEST

START_TEST(test_default_allocator)
{
	struct collab_buf b;

	collab_buf_init(&b, NULL, 0);
	ck_assert_ptr_eq(b.a, collab_alloc_default());
	ck_assert_uint_eq(b.max, SIZE_MAX);
	for (size_t i = 0; i < 5000; i++)
		ck_assert_int_eq(collab_buf_append_byte(&b, (uint8_t)i), 0);
	check_contents(&b, 0);
	collab_buf_free(&b);
}
END_TEST

/* ---- shared buffers ------------------------------------------------------ */

START_TEST(test_shbuf_refcount)
{
	const struct collab_alloc *a = counting_alloc();
	struct collab_shbuf *s = collab_shbuf_new(a, 100);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(cnt.allocs, 1);
	ck_assert_uint_eq(cnt.live_n[0], sizeof(*s) + 100);
	ck_assert_uint_eq(s->refs, 1);
	ck_assert_uint_eq(s->len, 100);
	ck_assert_ptr_eq(s->a, a);
	memset(s->data, 0x5A, s->len);          /* all 100 bytes writable */
	ck_assert_ptr_eq(collab_shbuf_ref(s), s);
	ck_assert_ptr_eq(collab_shbuf_ref(s), s);
	ck_assert_ptr_eq(collab_shbuf_ref(s), s);
	ck_assert_uint_eq(s->refs, 4);
	for (int i = 0; i < 3; i++) {
		collab_shbuf_unref(s);
		ck_assert_uint_eq(cnt.frees, 0);
		ck_assert_uint_eq(s->refs, (size_t)(3 - i));
		ck_assert_uint_eq(s->data[99], 0x5A);
	}
	collab_shbuf_unref(s);                  /* the last one frees */
	ck_assert_uint_eq(cnt.frees, 1);
	assert_all_freed();
	collab_shbuf_unref(NULL);               /* no-op */
	ck_assert_uint_eq(cnt.frees, 1);
}
END_TEST

START_TEST(test_shbuf_edges)
{
	const struct collab_alloc *a = counting_alloc();
	struct collab_shbuf *s;

	/* empty block */
	s = collab_shbuf_new(a, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->len, 0);
	collab_shbuf_unref(s);
	assert_all_freed();
	/* too large to describe: refused before the allocator is asked */
	ck_assert_ptr_null(collab_shbuf_new(a, SIZE_MAX));
	ck_assert_ptr_null(collab_shbuf_new(a, SIZE_MAX - sizeof(*s) + 1));
	ck_assert_uint_eq(cnt.allocs, 1);
	/* allocator failure */
	cnt.fail_at = 2;
	ck_assert_ptr_null(collab_shbuf_new(a, 10));
	ck_assert_uint_eq(cnt.failed, 1);
	assert_all_freed();
	/* default allocator */
	s = collab_shbuf_new(NULL, 32);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_eq(s->a, collab_alloc_default());
	collab_shbuf_unref(collab_shbuf_ref(s));
	ck_assert_uint_eq(s->refs, 1);
	collab_shbuf_unref(s);
}
END_TEST

/* Many holders in any order: freed exactly once, by the last. */
START_TEST(test_shbuf_many_holders)
{
	const struct collab_alloc *a = counting_alloc();
	struct collab_shbuf *s = collab_shbuf_new(a, 16);
	struct collab_shbuf *held[1000];

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < ARRAY_LEN(held); i++)
		held[i] = collab_shbuf_ref(s);
	collab_shbuf_unref(s);                  /* the creator lets go first */
	for (size_t i = 0; i < ARRAY_LEN(held); i++) {
		ck_assert_uint_eq(cnt.frees, 0);
		collab_shbuf_unref(held[(i * 7) % ARRAY_LEN(held)]);
	}
	ck_assert_uint_eq(cnt.frees, 1);
	assert_all_freed();
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *t = tcase_create("buf");
	TCase *sh = tcase_create("shbuf");

	tcase_add_loop_test(t, test_growth, 0, (int)ARRAY_LEN(growths));
	tcase_add_test(t, test_alloc_failure_leaves_buffer_intact);
	tcase_add_test(t, test_alloc_always_fails);
	tcase_add_test(t, test_consume_reset_free_reuse);
	tcase_add_test(t, test_default_allocator);
	suite_add_tcase(s, t);
	tcase_add_test(sh, test_shbuf_refcount);
	tcase_add_test(sh, test_shbuf_edges);
	tcase_add_test(sh, test_shbuf_many_holders);
	suite_add_tcase(s, sh);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
