/* check_loop.c - the epoll loop: timers, hooks, fd watchers, signals,
 * wake-up and stop. Timers are driven by a fake clock. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "collab/loop.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

struct fake_clock {
	uint64_t ms;
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->ms;
}

/* Counts bytes and blocks, checks that free gets the size alloc got, and
 * fails every allocation once budget reaches 0 (budget < 0: unlimited). */
struct test_alloc {
	long budget;
	size_t live_bytes;
	size_t live_blocks;
	size_t fails;
};

static void *ta_alloc(void *ctx, size_t n)
{
	struct test_alloc *t = ctx;
	if (t->budget == 0) {
		t->fails++;
		return NULL;
	}
	if (t->budget > 0)
		t->budget--;
	t->live_bytes += n;
	t->live_blocks++;
	return malloc(n);
}

static void ta_free(void *ctx, void *p, size_t n)
{
	struct test_alloc *t = ctx;
	if (p == NULL)
		return;
	ck_assert_uint_ge(t->live_bytes, n);
	t->live_bytes -= n;
	t->live_blocks--;
	free(p);
}

/* A loop on a fake clock (and optionally a test allocator). */
struct fixture {
	struct collab_loop loop;
	struct fake_clock clock;
	struct test_alloc ta;
	struct collab_alloc alloc;
};

static void fx_init(struct fixture *fx, size_t max_events)
{
	struct collab_loop_config cfg;

	memset(fx, 0, sizeof(*fx));
	fx->clock.ms = 1000;
	fx->ta.budget = -1;
	fx->alloc.alloc = ta_alloc;
	fx->alloc.free = ta_free;
	fx->alloc.ctx = &fx->ta;
	collab_loop_config_init(&cfg);
	cfg.alloc = &fx->alloc;
	cfg.now_ms = fake_now;
	cfg.clock_ctx = &fx->clock;
	if (max_events)
		cfg.max_events = max_events;
	ck_assert_int_eq(collab_loop_init(&fx->loop, &cfg), 0);
}

static void fx_free(struct fixture *fx)
{
	collab_loop_free(&fx->loop);
	ck_assert_uint_eq(fx->ta.live_bytes, 0);
	ck_assert_uint_eq(fx->ta.live_blocks, 0);
}

/* xorshift64*: tests MUST be reproducible and rand() is banned. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Verifies the heap: parent before child, every idx right, every entry
 * armed. Plain comparisons, one ck_abort on failure: every ck_assert is a
 * write to Check's pipe, too slow for millions of checks. */
static void heap_check(const struct collab_loop *loop)
{
	size_t i;

	if (loop->heap_len > loop->heap_cap)
		ck_abort_msg("heap_len %zu > heap_cap %zu", loop->heap_len,
			     loop->heap_cap);
	for (i = 0; i < loop->heap_len; i++) {
		const struct collab_timer *t = loop->heap[i], *p;

		if (t->idx != i + 1)
			ck_abort_msg("heap[%zu]->idx is %zu", i, t->idx);
		if (i == 0)
			continue;
		p = loop->heap[(i - 1) / 2];
		if (!(p->deadline < t->deadline ||
		      (p->deadline == t->deadline && p->seq < t->seq)))
			ck_abort_msg("heap[%zu] before its parent", i);
	}
}

/* Lowest free fd number: equal before and after means nothing leaked. */
static int lowest_fd(void)
{
	int fd = dup(0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	return fd;
}

static uint64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* An event log shared by timers, watchers and hooks. */
struct log {
	int ev[256];
	size_t n;
};

static void log_add(struct log *l, int v)
{
	ck_assert_uint_lt(l->n, ARRAY_LEN(l->ev));
	l->ev[l->n++] = v;
}

/* ---- config and init ------------------------------------------------------ */

START_TEST(test_config_defaults)
{
	struct collab_loop_config cfg;
	struct collab_loop loop;
	int fd0 = lowest_fd();

	collab_loop_config_init(&cfg);
	ck_assert_uint_eq(cfg.max_events, COLLAB_LOOP_DEFAULT_MAX_EVENTS);
	ck_assert_ptr_null(cfg.alloc);
	ck_assert(cfg.now_ms == NULL);
	ck_assert(cfg.on_wake == NULL);
	ck_assert_int_eq(collab_loop_init(&loop, NULL), 0);
	ck_assert_uint_eq(loop.cfg.max_events, COLLAB_LOOP_DEFAULT_MAX_EVENTS);
	ck_assert_int_eq(collab_loop_run_once(&loop, 0), 0);
	collab_loop_free(&loop);
	collab_loop_free(&loop); /* twice is harmless */
	ck_assert_int_eq(lowest_fd(), fd0);

	cfg.max_events = 0;
	ck_assert_int_eq(collab_loop_init(&loop, &cfg), COLLAB_EINVAL);
	cfg.max_events = COLLAB_LOOP_MAX_EVENTS_LIMIT + 1;
	ck_assert_int_eq(collab_loop_init(&loop, &cfg), COLLAB_EINVAL);
	cfg.max_events = COLLAB_LOOP_MAX_EVENTS_LIMIT;
	ck_assert_int_eq(collab_loop_init(&loop, &cfg), 0);
	collab_loop_free(&loop);
	ck_assert_int_eq(lowest_fd(), fd0);
}
END_TEST

START_TEST(test_sizes)
{
	/* The server's whole idle connection must fit in 256 bytes. */
	ck_assert_uint_le(sizeof(struct collab_io), 32);
	ck_assert_uint_le(sizeof(struct collab_timer), 40);
}
END_TEST

START_TEST(test_init_enomem)
{
	struct fixture fx;
	struct collab_loop_config cfg;
	struct collab_loop loop;
	int fd0 = lowest_fd();

	memset(&fx, 0, sizeof(fx));
	fx.ta.budget = 0;
	fx.alloc.alloc = ta_alloc;
	fx.alloc.free = ta_free;
	fx.alloc.ctx = &fx.ta;
	collab_loop_config_init(&cfg);
	cfg.alloc = &fx.alloc;
	ck_assert_int_eq(collab_loop_init(&loop, &cfg), COLLAB_ENOMEM);
	ck_assert_uint_eq(fx.ta.fails, 1);
	ck_assert_uint_eq(fx.ta.live_blocks, 0);
	ck_assert_int_eq(lowest_fd(), fd0);
	collab_loop_free(&loop); /* after a failed init: harmless */
}
END_TEST

/* ---- timers ------------------------------------------------------------- */

struct tm_rec {
	struct collab_timer t;
	int id;
	struct log *log;
	struct collab_loop *loop;
};

static void on_tm_log(struct collab_loop *loop, struct collab_timer *t)
{
	struct tm_rec *r = t->ctx;
	ck_assert_ptr_eq(loop, r->loop);
	ck_assert(!collab_loop_timer_armed(t));
	ck_assert_uint_ge(collab_loop_now(loop), t->deadline);
	log_add(r->log, r->id);
}

/* Arm timers with these delays in this order; they must fire in order[]. */
struct order_case {
	const char *name;
	size_t n;
	uint64_t delay[8];
	int order[8];
};

static const struct order_case order_cases[] = {
	{ "sorted", 3, { 10, 20, 30 }, { 0, 1, 2 } },
	{ "reversed", 3, { 30, 20, 10 }, { 2, 1, 0 } },
	{ "ties", 4, { 5, 5, 5, 5 }, { 0, 1, 2, 3 } },
	{ "ties mixed", 6, { 10, 0, 10, 0, 5, 10 }, { 1, 3, 4, 0, 2, 5 } },
	{ "zero", 2, { 0, 0 }, { 0, 1 } },
	{ "one", 1, { 7 }, { 0 } },
	{ "interleaved", 8, { 3, 1, 4, 1, 5, 9, 2, 6 },
	  { 1, 3, 6, 0, 2, 4, 7, 5 } },
};

START_TEST(test_timer_order)
{
	const struct order_case *c = &order_cases[_i];
	struct fixture fx;
	struct tm_rec r[8];
	struct log log = { .n = 0 };
	size_t i;
	int ms;

	fx_init(&fx, 0);
	for (i = 0; i < c->n; i++) {
		r[i].id = (int)i;
		r[i].log = &log;
		r[i].loop = &fx.loop;
		collab_loop_timer_init(&r[i].t, on_tm_log, &r[i]);
		ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[i].t,
						       c->delay[i]), 0);
		ck_assert_uint_eq(r[i].t.deadline, 1000 + c->delay[i]);
	}
	heap_check(&fx.loop);
	/* All due at once: one turn fires them all, in order. */
	fx.clock.ms += 100;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_msg(log.n == c->n, "%s: fired %zu", c->name, log.n);
	for (i = 0; i < c->n; i++)
		ck_assert_msg(log.ev[i] == c->order[i], "%s: #%zu is %d",
			      c->name, i, log.ev[i]);
	ck_assert_uint_eq(fx.loop.heap_len, 0);

	/* Again, one ms per turn: same order, each fires on its own ms. */
	log.n = 0;
	for (i = 0; i < c->n; i++)
		ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[i].t,
						       c->delay[i]), 0);
	for (ms = 0; ms <= 31; ms++) {
		ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
		for (i = 0; i < c->n; i++)
			ck_assert_int_eq(collab_loop_timer_armed(&r[i].t),
					 r[i].t.deadline > fx.loop.now);
		fx.clock.ms++;
	}
	ck_assert_uint_eq(log.n, c->n);
	for (i = 0; i < c->n; i++)
		ck_assert_int_eq(log.ev[i], c->order[i]);
	fx_free(&fx);
}
END_TEST

START_TEST(test_timer_due_exactly)
{
	struct fixture fx;
	struct tm_rec r = { .id = 1 };
	struct log log = { .n = 0 };

	fx_init(&fx, 0);
	r.log = &log;
	r.loop = &fx.loop;
	collab_loop_timer_init(&r.t, on_tm_log, &r);
	ck_assert(!collab_loop_timer_armed(&r.t));
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r.t, 100), 0);
	ck_assert(collab_loop_timer_armed(&r.t));
	fx.clock.ms += 99;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 0);
	ck_assert_uint_eq(collab_loop_now(&fx.loop), 1099);
	fx.clock.ms += 1;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 1);
	ck_assert(!collab_loop_timer_armed(&r.t));
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 1);

	/* No callback: refused. */
	{
		struct collab_timer z;
		collab_loop_timer_init(&z, NULL, NULL);
		ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &z, 1),
				 COLLAB_EINVAL);
		ck_assert(!collab_loop_timer_armed(&z));
	}
	/* arm_at in the past: fires on the next turn. */
	ck_assert_int_eq(collab_loop_timer_arm_at(&fx.loop, &r.t, 5), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 2);

	/* The deadline saturates; such a timer never fires. */
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r.t, UINT64_MAX), 0);
	ck_assert_uint_eq(r.t.deadline, UINT64_MAX);
	fx.clock.ms = UINT64_MAX - 1;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 2);
	fx_free(&fx);
	ck_assert(!collab_loop_timer_armed(&r.t)); /* free disarms */
}
END_TEST

START_TEST(test_timer_now_cached)
{
	struct fixture fx;

	fx_init(&fx, 0);
	ck_assert_uint_eq(collab_loop_now(&fx.loop), 1000);
	fx.clock.ms = 1500;
	ck_assert_uint_eq(collab_loop_now(&fx.loop), 1000);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(collab_loop_now(&fx.loop), 1500);
	fx.clock.ms = 1600;
	ck_assert_uint_eq(collab_loop_update_now(&fx.loop), 1600);
	ck_assert_uint_eq(collab_loop_now(&fx.loop), 1600);
	fx.clock.ms = 1200; /* a clock that steps back is ignored */
	ck_assert_uint_eq(collab_loop_update_now(&fx.loop), 1600);
	fx_free(&fx);
}
END_TEST

/* A periodic timer: re-arms itself from its callback. */
struct periodic {
	struct collab_timer t;
	uint64_t period;
	uint64_t fired_at[8];
	size_t n, max;
};

static void on_periodic(struct collab_loop *loop, struct collab_timer *t)
{
	struct periodic *p = t->ctx;
	ck_assert_uint_lt(p->n, ARRAY_LEN(p->fired_at));
	p->fired_at[p->n++] = collab_loop_now(loop);
	if (p->n < p->max)
		ck_assert_int_eq(collab_loop_timer_arm(loop, t, p->period), 0);
}

START_TEST(test_timer_rearm_from_callback)
{
	struct fixture fx;
	struct periodic p = { .period = 10, .max = 3 };
	int i;

	fx_init(&fx, 0);
	collab_loop_timer_init(&p.t, on_periodic, &p);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &p.t, 10), 0);
	for (i = 0; i < 10; i++) {
		fx.clock.ms += 5;
		ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	}
	ck_assert_uint_eq(p.n, 3);
	ck_assert_uint_eq(p.fired_at[0], 1010);
	ck_assert_uint_eq(p.fired_at[1], 1020);
	ck_assert_uint_eq(p.fired_at[2], 1030);
	ck_assert(!collab_loop_timer_armed(&p.t));
	fx_free(&fx);
}
END_TEST

START_TEST(test_timer_rearm_zero_waits_a_turn)
{
	struct fixture fx;
	struct periodic p = { .period = 0, .max = 5 };

	fx_init(&fx, 0);
	collab_loop_timer_init(&p.t, on_periodic, &p);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &p.t, 0), 0);
	/* Without the guard this turn would never end. */
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(p.n, 1);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(p.n, 2);
	fx_free(&fx);
}
END_TEST

/* Timer 0 of an array cancels timers 1 and 2 of the same array. */
static void on_tm_cancel_others(struct collab_loop *loop,
				struct collab_timer *t)
{
	struct tm_rec *me = t->ctx;

	on_tm_log(loop, t);
	collab_loop_timer_cancel(loop, &me[1].t);  /* same deadline, later */
	collab_loop_timer_cancel(loop, &me[2].t);  /* later deadline */
	collab_loop_timer_cancel(loop, &me[2].t);  /* twice: no-op */
	collab_loop_timer_cancel(loop, t);         /* itself, unarmed: no-op */
	heap_check(loop);
}

START_TEST(test_timer_cancel_from_callback)
{
	struct fixture fx;
	struct tm_rec r[4];
	struct log log = { .n = 0 };
	int i;

	fx_init(&fx, 0);
	for (i = 0; i < 4; i++) {
		r[i].id = i;
		r[i].log = &log;
		r[i].loop = &fx.loop;
		collab_loop_timer_init(&r[i].t,
				       i == 0 ? on_tm_cancel_others : on_tm_log,
				       &r[i]);
	}
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[0].t, 10), 0);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[1].t, 10), 0);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[2].t, 20), 0);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[3].t, 20), 0);
	fx.clock.ms += 50;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 2);
	ck_assert_int_eq(log.ev[0], 0);
	ck_assert_int_eq(log.ev[1], 3);
	ck_assert_uint_eq(fx.loop.heap_len, 0);
	fx_free(&fx);
}
END_TEST

static void on_tm_free_self(struct collab_loop *loop, struct collab_timer *t)
{
	int *count = t->ctx;
	(*count)++;
	collab_loop_timer_cancel(loop, t); /* a no-op, then gone */
	free(t);
}

static void on_tm_free_other(struct collab_loop *loop, struct collab_timer *t)
{
	struct collab_timer *other = t->ctx;
	collab_loop_timer_cancel(loop, other);
	free(other);
	free(t);
}

START_TEST(test_timer_free_from_callback)
{
	struct fixture fx;
	struct collab_timer *a = malloc(sizeof(*a));
	struct collab_timer *b = malloc(sizeof(*b));
	struct collab_timer *c = malloc(sizeof(*c));
	int count = 0;

	fx_init(&fx, 0);
	collab_loop_timer_init(a, on_tm_free_self, &count);
	collab_loop_timer_init(b, on_tm_free_other, c);
	collab_loop_timer_init(c, on_tm_free_self, &count);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, a, 1), 0);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, b, 2), 0);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, c, 2), 0);
	fx.clock.ms += 2;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(count, 1); /* a ran; c was cancelled and freed by b */
	ck_assert_uint_eq(fx.loop.heap_len, 0);
	fx_free(&fx);
}
END_TEST

START_TEST(test_timer_rearm_moves)
{
	struct fixture fx;
	struct tm_rec r[3];
	struct log log = { .n = 0 };
	int i;

	fx_init(&fx, 0);
	for (i = 0; i < 3; i++) {
		r[i].id = i;
		r[i].log = &log;
		r[i].loop = &fx.loop;
		collab_loop_timer_init(&r[i].t, on_tm_log, &r[i]);
		ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[i].t,
						       (uint64_t)(10 * (i + 1))),
				 0);
	}
	/* Move 2 to the front, 0 to the back: no new entries. */
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[2].t, 5), 0);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[0].t, 40), 0);
	/* Re-arming to an equal deadline moves behind its ties. */
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[1].t, 40), 0);
	ck_assert_uint_eq(fx.loop.heap_len, 3);
	heap_check(&fx.loop);
	fx.clock.ms += 100;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 3);
	ck_assert_int_eq(log.ev[0], 2);
	ck_assert_int_eq(log.ev[1], 0);
	ck_assert_int_eq(log.ev[2], 1);
	fx_free(&fx);
}
END_TEST

/* 10,000 random timers, clock advancing in random steps: every firing is
 * in (deadline, arming order) order and never early. */
struct fire_rec {
	uint64_t deadline, seq, at;
};

struct fire_log {
	struct fire_rec *rec;
	size_t n;
};

static void on_tm_record(struct collab_loop *loop, struct collab_timer *t)
{
	struct fire_log *fl = t->ctx;
	fl->rec[fl->n].deadline = t->deadline;
	fl->rec[fl->n].seq = t->seq;
	fl->rec[fl->n].at = collab_loop_now(loop);
	fl->n++;
}

START_TEST(test_timer_random_10k)
{
	enum { N = 10000 };
	struct fixture fx;
	struct collab_timer *t = calloc(N, sizeof(*t));
	struct fire_log fl = { calloc(N, sizeof(struct fire_rec)), 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t i, cancelled = 0;

	fx_init(&fx, 0);
	for (i = 0; i < N; i++) {
		collab_loop_timer_init(&t[i], on_tm_record, &fl);
		/* Few distinct deadlines: lots of ties. */
		ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &t[i],
						       rng_next(&seed) % 500), 0);
	}
	heap_check(&fx.loop);
	/* Re-arm a tenth, cancel a tenth. */
	for (i = 0; i < N; i += 10)
		ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &t[i],
						       rng_next(&seed) % 500), 0);
	for (i = 5; i < N; i += 10) {
		collab_loop_timer_cancel(&fx.loop, &t[i]);
		cancelled++;
	}
	heap_check(&fx.loop);
	while (fx.loop.heap_len) {
		fx.clock.ms += rng_next(&seed) % 7;
		ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	}
	ck_assert_uint_eq(fl.n, N - cancelled);
	for (i = 0; i < fl.n; i++) {
		if (fl.rec[i].at < fl.rec[i].deadline)
			ck_abort_msg("#%zu fired early", i);
		if (i > 0 &&
		    !(fl.rec[i - 1].deadline < fl.rec[i].deadline ||
		      (fl.rec[i - 1].deadline == fl.rec[i].deadline &&
		       fl.rec[i - 1].seq < fl.rec[i].seq)))
			ck_abort_msg("#%zu fired out of order", i);
	}
	fx_free(&fx);
	free(fl.rec);
	free(t);
}
END_TEST

/* Random arm / re-arm / cancel / fire with the checker after every step. */
START_TEST(test_timer_heap_integrity)
{
	enum { N = 300, STEPS = 20000 };
	struct fixture fx;
	struct collab_timer *t = calloc(N, sizeof(*t));
	struct fire_log fl = { calloc(STEPS, sizeof(struct fire_rec)), 0 };
	uint64_t seed = (uint64_t)_i * 7919 + 1;
	size_t step, armed = 0, i;

	fx_init(&fx, 0);
	for (i = 0; i < N; i++)
		collab_loop_timer_init(&t[i], on_tm_record, &fl);
	for (step = 0; step < STEPS; step++) {
		struct collab_timer *x = &t[rng_next(&seed) % N];
		uint64_t op = rng_next(&seed) % 10;

		if (op < 5) {
			int was = collab_loop_timer_armed(x);
			ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, x,
					 rng_next(&seed) % 100), 0);
			armed += !was;
		} else if (op < 9) {
			armed -= (size_t)collab_loop_timer_armed(x);
			collab_loop_timer_cancel(&fx.loop, x);
		} else {
			size_t before_n;

			fx.clock.ms += rng_next(&seed) % 20;
			if (fl.n > STEPS - N) /* recycle the log */
				fl.n = 0;
			before_n = fl.n;
			ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
			armed -= fl.n - before_n;
		}
		if (fx.loop.heap_len != armed)
			ck_abort_msg("step %zu: heap_len %zu, armed %zu", step,
				     fx.loop.heap_len, armed);
		heap_check(&fx.loop);
	}
	fx_free(&fx);
	for (i = 0; i < N; i++)
		ck_assert(!collab_loop_timer_armed(&t[i]));
	free(fl.rec);
	free(t);
}
END_TEST

START_TEST(test_timer_enomem)
{
	struct fixture fx;
	struct tm_rec r[20];
	struct log log = { .n = 0 };
	int i;

	fx_init(&fx, 0);
	for (i = 0; i < 20; i++) {
		r[i].id = i;
		r[i].log = &log;
		r[i].loop = &fx.loop;
		collab_loop_timer_init(&r[i].t, on_tm_log, &r[i]);
	}
	/* Fill the heap to its first capacity, then refuse growth. */
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[0].t, 1), 0);
	for (i = 1; (size_t)i < fx.loop.heap_cap; i++)
		ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[i].t,
						       (uint64_t)i + 1), 0);
	ck_assert_int_lt(i, 19);
	fx.ta.budget = 0;
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[i].t, 0),
			 COLLAB_ENOMEM);
	ck_assert_uint_eq(fx.ta.fails, 1);
	ck_assert(!collab_loop_timer_armed(&r[i].t));
	ck_assert_uint_eq(fx.loop.heap_len, (size_t)i);
	heap_check(&fx.loop);
	/* Re-arming an armed timer never allocates. */
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[0].t, 0), 0);
	heap_check(&fx.loop);
	/* The loop still works: everything armed fires. */
	fx.clock.ms += 100;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, (size_t)i);
	ck_assert_int_eq(log.ev[0], 0);
	/* And once memory is back, growth works. */
	fx.ta.budget = -1;
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &r[i].t, 1), 0);
	heap_check(&fx.loop);
	fx_free(&fx);
}
END_TEST

START_TEST(test_timer_real_clock_never_early)
{
	struct collab_loop loop;
	struct periodic p = { .period = 0, .max = 1 };
	uint64_t armed_at, deadline;
	int turns = 0;

	ck_assert_int_eq(collab_loop_init(&loop, NULL), 0);
	collab_loop_timer_init(&p.t, on_periodic, &p);
	armed_at = collab_loop_update_now(&loop);
	ck_assert_int_eq(collab_loop_timer_arm(&loop, &p.t, 30), 0);
	deadline = p.t.deadline;
	ck_assert_uint_eq(deadline, armed_at + 30);
	while (p.n == 0 && turns++ < 100)
		ck_assert_int_eq(collab_loop_run_once(&loop, -1), 0);
	ck_assert_uint_eq(p.n, 1);
	ck_assert_uint_ge(p.fired_at[0], deadline);
	ck_assert_uint_ge(real_ms(), deadline);
	/* epoll_wait slept until the deadline instead of spinning. */
	ck_assert_int_le(turns, 3);
	collab_loop_free(&loop);
}
END_TEST

START_TEST(test_timer_wait_uses_deadline)
{
	struct fixture fx;
	struct collab_timer t;
	uint64_t t0, el;

	/* Fake clock frozen at 1000, timer at 1040: run_once(-1) must sleep
	 * about 40 real ms (the fake clock does not move, so nothing fires). */
	fx_init(&fx, 0);
	collab_loop_timer_init(&t, on_tm_free_self, NULL);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &t, 40), 0);
	t0 = real_ms();
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, -1), 0);
	el = real_ms() - t0;
	ck_assert_uint_ge(el, 39);
	ck_assert_uint_lt(el, 2000);
	/* A shorter caller timeout wins (bounds generous: no timing
	 * assertions that a loaded machine could break). */
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &t, 100000), 0);
	t0 = real_ms();
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 5), 0);
	el = real_ms() - t0;
	ck_assert_uint_ge(el, 4);
	ck_assert_uint_lt(el, 50000);
	collab_loop_timer_cancel(&fx.loop, &t);
	/* No timers: the caller's timeout alone. */
	t0 = real_ms();
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 10), 0);
	ck_assert_uint_ge(real_ms() - t0, 9);
	fx_free(&fx);
}
END_TEST

/* ---- end-of-turn hooks ---------------------------------------------------- */

struct hook_rec {
	struct collab_hook h;
	int id;
	struct log *log;
	struct hook_rec *others; /* the array this one lives in */
	int action;              /* see on_hook */
};

enum { HA_NONE, HA_REMOVE_SELF_AND_NEXT, HA_ADD_LAST, HA_STOP };

static void on_hook(struct collab_loop *loop, struct collab_hook *h)
{
	struct hook_rec *r = h->ctx;

	log_add(r->log, 100 + r->id);
	switch (r->action) {
	case HA_REMOVE_SELF_AND_NEXT:
		collab_loop_hook_remove(loop, h);
		collab_loop_hook_remove(loop, &r->others[r->id + 1].h);
		collab_loop_hook_remove(loop, h); /* twice: no-op */
		break;
	case HA_ADD_LAST:
		r->action = HA_NONE;
		ck_assert_int_eq(collab_loop_hook_add(loop, &r->others[3].h),
				 0);
		break;
	case HA_STOP:
		collab_loop_stop(loop);
		break;
	default:
		break;
	}
}

static void hooks_setup(struct hook_rec *r, size_t n, struct log *log)
{
	size_t i;

	memset(r, 0, n * sizeof(*r));
	for (i = 0; i < n; i++) {
		r[i].id = (int)i;
		r[i].log = log;
		r[i].others = r;
		collab_loop_hook_init(&r[i].h, on_hook, &r[i]);
	}
}

START_TEST(test_hook_once_per_turn_in_order)
{
	struct fixture fx;
	struct hook_rec r[4];
	struct log log = { .n = 0 };
	int turn, i;

	fx_init(&fx, 0);
	hooks_setup(r, 4, &log);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(collab_loop_hook_add(&fx.loop, &r[i].h), 0);
	ck_assert_int_eq(collab_loop_hook_add(&fx.loop, &r[1].h),
			 COLLAB_EEXIST);
	collab_loop_hook_init(&r[3].h, NULL, NULL);
	ck_assert_int_eq(collab_loop_hook_add(&fx.loop, &r[3].h),
			 COLLAB_EINVAL);
	for (turn = 0; turn < 5; turn++)
		ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 15);
	for (i = 0; i < 15; i++)
		ck_assert_int_eq(log.ev[i], 100 + i % 3);
	/* Removing the middle one keeps the order of the rest. */
	collab_loop_hook_remove(&fx.loop, &r[1].h);
	collab_loop_hook_remove(&fx.loop, &r[1].h);
	log.n = 0;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 2);
	ck_assert_int_eq(log.ev[0], 100);
	ck_assert_int_eq(log.ev[1], 102);
	/* Re-added: runs last. */
	ck_assert_int_eq(collab_loop_hook_add(&fx.loop, &r[1].h), 0);
	log.n = 0;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 3);
	ck_assert_int_eq(log.ev[2], 101);
	fx_free(&fx);
	ck_assert(!r[0].h.linked);
}
END_TEST

START_TEST(test_hook_remove_inside)
{
	struct fixture fx;
	struct hook_rec r[4];
	struct log log = { .n = 0 };
	int i;

	fx_init(&fx, 0);
	hooks_setup(r, 4, &log);
	r[1].action = HA_REMOVE_SELF_AND_NEXT; /* removes 1 and 2 */
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(collab_loop_hook_add(&fx.loop, &r[i].h), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 3);
	ck_assert_int_eq(log.ev[0], 100);
	ck_assert_int_eq(log.ev[1], 101);
	ck_assert_int_eq(log.ev[2], 103);
	log.n = 0;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 2);
	ck_assert_int_eq(log.ev[0], 100);
	ck_assert_int_eq(log.ev[1], 103);
	fx_free(&fx);
}
END_TEST

START_TEST(test_hook_remove_last_inside)
{
	struct fixture fx;
	struct hook_rec r[4];
	struct log log = { .n = 0 };

	/* The last hook removes itself (the cursor is NULL then). */
	fx_init(&fx, 0);
	hooks_setup(r, 4, &log);
	r[2].action = HA_REMOVE_SELF_AND_NEXT; /* next: r[3] - not linked */
	ck_assert_int_eq(collab_loop_hook_add(&fx.loop, &r[0].h), 0);
	ck_assert_int_eq(collab_loop_hook_add(&fx.loop, &r[2].h), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 3);
	ck_assert_int_eq(log.ev[2], 100);
	ck_assert_ptr_eq(fx.loop.hook_head, &r[0].h);
	ck_assert_ptr_eq(fx.loop.hook_tail, &r[0].h);
	fx_free(&fx);
}
END_TEST

START_TEST(test_hook_add_inside_waits)
{
	struct fixture fx;
	struct hook_rec r[4];
	struct log log = { .n = 0 };

	fx_init(&fx, 0);
	hooks_setup(r, 4, &log);
	/* 0 adds 3 while 1 is still to run: 3 lands behind 1 but must wait
	 * for the next turn. */
	r[0].action = HA_ADD_LAST;
	ck_assert_int_eq(collab_loop_hook_add(&fx.loop, &r[0].h), 0);
	ck_assert_int_eq(collab_loop_hook_add(&fx.loop, &r[1].h), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 2);
	ck_assert_int_eq(log.ev[0], 100);
	ck_assert_int_eq(log.ev[1], 101);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 5);
	ck_assert_int_eq(log.ev[2], 100);
	ck_assert_int_eq(log.ev[3], 101);
	ck_assert_int_eq(log.ev[4], 103);
	fx_free(&fx);
}
END_TEST

/* ---- fd watchers ---------------------------------------------------------- */

struct io_rec {
	struct collab_io io;
	int id;
	unsigned last;
	int calls;
	struct log *log;
	struct io_rec **all;  /* malloc'd peers, for the removal tests */
	size_t nall;
	int action;
};

enum { IA_NONE, IA_DRAIN, IA_REMOVE_FREE_OTHERS, IA_REMOVE_FREE_ALL,
       IA_MUTE_OTHERS, IA_READD_OTHERS, IA_STOP, IA_NEST };

static void on_io_rec(struct collab_loop *loop, struct collab_io *io,
		      unsigned events)
{
	struct io_rec *r = io->ctx;
	size_t i;
	char buf[64];

	r->calls++;
	r->last = events;
	if (r->log)
		log_add(r->log, r->id);
	switch (r->action) {
	case IA_DRAIN:
		while (read(io->fd, buf, sizeof(buf)) > 0)
			;
		break;
	case IA_REMOVE_FREE_OTHERS:
	case IA_REMOVE_FREE_ALL:
		for (i = 0; i < r->nall; i++) {
			struct io_rec *o = r->all[i];
			if (o == NULL || o == r)
				continue;
			ck_assert_int_eq(collab_loop_io_remove(loop, &o->io), 0);
			close(o->io.fd);
			free(o);
			r->all[i] = NULL;
		}
		if (r->action == IA_REMOVE_FREE_ALL) {
			for (i = 0; i < r->nall; i++)
				if (r->all[i] == r)
					r->all[i] = NULL;
			ck_assert_int_eq(collab_loop_io_remove(loop, io), 0);
			close(io->fd);
			free(r);
		}
		break;
	case IA_MUTE_OTHERS:
		for (i = 0; i < r->nall; i++)
			if (r->all[i] != r)
				ck_assert_int_eq(collab_loop_io_modify(loop,
						 &r->all[i]->io, 0), 0);
		break;
	case IA_READD_OTHERS:
		for (i = 0; i < r->nall; i++) {
			if (r->all[i] == r)
				continue;
			ck_assert_int_eq(collab_loop_io_remove(loop,
						 &r->all[i]->io), 0);
			ck_assert_int_eq(collab_loop_io_add(loop,
						 &r->all[i]->io,
						 COLLAB_LOOP_READ), 0);
		}
		break;
	case IA_STOP:
		collab_loop_stop(loop);
		break;
	case IA_NEST:
		ck_assert_int_eq(collab_loop_run_once(loop, 0), COLLAB_ESTATE);
		ck_assert_int_eq(collab_loop_run(loop), COLLAB_ESTATE);
		break;
	default:
		break;
	}
}

static void must_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

START_TEST(test_io_read_ready)
{
	struct fixture fx;
	struct io_rec r = { .id = 1 };
	int p[2];

	fx_init(&fx, 0);
	must_pipe(p);
	collab_loop_io_init(&r.io, p[0], on_io_rec, &r);
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r.io, COLLAB_LOOP_READ),
			 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(r.calls, 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	/* Level-triggered: reported on every turn until drained. */
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(r.calls, 2);
	ck_assert_uint_eq(r.last, COLLAB_LOOP_READ);
	r.action = IA_DRAIN;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, -1), 0);
	ck_assert_int_eq(r.calls, 3);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(r.calls, 3);
	ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &r.io), 0);
	ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &r.io), 0);
	close(p[0]);
	close(p[1]);
	fx_free(&fx);
}
END_TEST

START_TEST(test_io_write_ready_and_modify)
{
	struct fixture fx;
	struct io_rec r = { .id = 1 };
	int sv[2];

	fx_init(&fx, 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	collab_loop_io_init(&r.io, sv[0], on_io_rec, &r);
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r.io,
					    COLLAB_LOOP_WRITE), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_uint_eq(r.last, COLLAB_LOOP_WRITE);
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	ck_assert_int_eq(collab_loop_io_modify(&fx.loop, &r.io,
			 COLLAB_LOOP_READ | COLLAB_LOOP_WRITE), 0);
	ck_assert_uint_eq(r.io.mask, COLLAB_LOOP_READ | COLLAB_LOOP_WRITE);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(r.last, COLLAB_LOOP_READ | COLLAB_LOOP_WRITE);
	ck_assert_int_eq(collab_loop_io_modify(&fx.loop, &r.io,
					       COLLAB_LOOP_READ), 0);
	ck_assert_int_eq(collab_loop_io_modify(&fx.loop, &r.io,
					       COLLAB_LOOP_READ), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(r.calls, 3);
	ck_assert_uint_eq(r.last, COLLAB_LOOP_READ);
	ck_assert_int_eq(collab_loop_io_modify(&fx.loop, &r.io, 0), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(r.calls, 3);
	ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &r.io), 0);
	close(sv[0]);
	close(sv[1]);
	fx_free(&fx);
}
END_TEST

/* Hang-ups and errors reach the callback as READ|WRITE whatever the
 * interest. */
enum { HUP_PIPE_READER, HUP_PIPE_READER_NO_INTEREST, ERR_PIPE_WRITER,
       HUP_SOCKET_PEER_CLOSED, HUP_SOCKET_SHUTDOWN_BOTH };

static const struct {
	const char *name;
	int kind;
	unsigned mask;
} hup_cases[] = {
	{ "pipe reader, writer closed", HUP_PIPE_READER, COLLAB_LOOP_READ },
	{ "pipe reader, no interest", HUP_PIPE_READER_NO_INTEREST, 0 },
	{ "pipe writer, reader closed", ERR_PIPE_WRITER, 0 },
	{ "socket, peer closed", HUP_SOCKET_PEER_CLOSED, COLLAB_LOOP_WRITE },
	{ "socket, shut down", HUP_SOCKET_SHUTDOWN_BOTH, COLLAB_LOOP_READ },
};

START_TEST(test_io_hup_is_read_write)
{
	struct fixture fx;
	struct io_rec r = { .id = 1 };
	int p[2], keep = -1, watch = -1;

	fx_init(&fx, 0);
	switch (hup_cases[_i].kind) {
	case HUP_PIPE_READER:
	case HUP_PIPE_READER_NO_INTEREST:
		must_pipe(p);
		watch = p[0];
		close(p[1]);
		break;
	case ERR_PIPE_WRITER:
		must_pipe(p);
		watch = p[1];
		close(p[0]);
		break;
	case HUP_SOCKET_PEER_CLOSED:
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
		watch = p[0];
		close(p[1]);
		break;
	default:
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
		watch = p[0];
		keep = p[1];
		ck_assert_int_eq(shutdown(p[0], SHUT_RDWR), 0);
		break;
	}
	collab_loop_io_init(&r.io, watch, on_io_rec, &r);
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r.io,
					    hup_cases[_i].mask), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_msg(r.calls == 1, "%s: %d calls", hup_cases[_i].name,
		      r.calls);
	ck_assert_msg(r.last == (COLLAB_LOOP_READ | COLLAB_LOOP_WRITE),
		      "%s: events %u", hup_cases[_i].name, r.last);
	ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &r.io), 0);
	close(watch);
	if (keep >= 0)
		close(keep);
	fx_free(&fx);
}
END_TEST

static const struct {
	const char *name;
	int action;
} batch_cases[] = {
	{ "remove+free others", IA_REMOVE_FREE_OTHERS },
	{ "remove+free others and self", IA_REMOVE_FREE_ALL },
};

/* Eight readable pipes in one batch; whichever callback runs first
 * removes, closes and frees all the others (and maybe itself). No other
 * callback may run, and ASan sees no use after free. */
START_TEST(test_io_remove_mid_batch)
{
	enum { N = 8 };
	struct fixture fx;
	struct io_rec *all[N];
	int p[N][2], calls_seen = 0;
	size_t i;

	fx_init(&fx, 0);
	for (i = 0; i < N; i++) {
		all[i] = calloc(1, sizeof(*all[i]));
		must_pipe(p[i]);
		ck_assert_int_eq(write(p[i][1], "x", 1), 1);
		all[i]->id = (int)i;
		all[i]->all = all;
		all[i]->nall = N;
		all[i]->action = batch_cases[_i].action;
		collab_loop_io_init(&all[i]->io, p[i][0], on_io_rec, all[i]);
		ck_assert_int_eq(collab_loop_io_add(&fx.loop, &all[i]->io,
						    COLLAB_LOOP_READ), 0);
	}
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	for (i = 0; i < N; i++) {
		if (all[i] == NULL)
			continue;
		calls_seen += all[i]->calls;
		ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &all[i]->io),
				 0);
		close(all[i]->io.fd);
		free(all[i]);
	}
	if (batch_cases[_i].action == IA_REMOVE_FREE_OTHERS)
		ck_assert_int_eq(calls_seen, 1); /* the survivor ran once */
	for (i = 0; i < N; i++)
		close(p[i][1]);
	fx_free(&fx);
}
END_TEST

/* A callback that mutes (or removes and re-adds) every other watcher:
 * their events of this batch are not delivered. */
static const struct {
	const char *name;
	int action;
	int later_calls; /* on the next turn, per watcher */
} mute_cases[] = {
	{ "modify to 0", IA_MUTE_OTHERS, 0 },
	{ "remove and re-add", IA_READD_OTHERS, 1 },
};

START_TEST(test_io_change_mid_batch)
{
	enum { N = 4 };
	struct fixture fx;
	struct io_rec r[N];
	struct io_rec *all[N];
	int p[N][2], total = 0;
	size_t i;

	fx_init(&fx, 0);
	memset(r, 0, sizeof(r));
	for (i = 0; i < N; i++) {
		all[i] = &r[i];
		must_pipe(p[i]);
		ck_assert_int_eq(write(p[i][1], "x", 1), 1);
		r[i].all = all;
		r[i].nall = N;
		collab_loop_io_init(&r[i].io, p[i][0], on_io_rec, &r[i]);
		ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r[i].io,
						    COLLAB_LOOP_READ), 0);
	}
	for (i = 0; i < N; i++)
		r[i].action = mute_cases[_i].action;
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	for (i = 0; i < N; i++) {
		total += r[i].calls;
		r[i].action = IA_NONE;
		r[i].calls = 0;
	}
	ck_assert_int_eq(total, 1);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	total = 0;
	for (i = 0; i < N; i++)
		total += r[i].calls;
	/* The first one's interest is unchanged: it runs again. */
	ck_assert_int_eq(total, 1 + (N - 1) * mute_cases[_i].later_calls);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &r[i].io), 0);
		close(p[i][0]);
		close(p[i][1]);
	}
	fx_free(&fx);
}
END_TEST

START_TEST(test_io_small_batches)
{
	enum { N = 5 };
	struct fixture fx;
	struct io_rec r[N];
	int p[N][2], t, total = 0;
	size_t i;

	/* max_events 2: five ready fds take three turns, each served once. */
	fx_init(&fx, 2);
	memset(r, 0, sizeof(r));
	for (i = 0; i < N; i++) {
		must_pipe(p[i]);
		ck_assert_int_eq(write(p[i][1], "x", 1), 1);
		r[i].action = IA_DRAIN;
		collab_loop_io_init(&r[i].io, p[i][0], on_io_rec, &r[i]);
		ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r[i].io,
						    COLLAB_LOOP_READ), 0);
	}
	for (t = 0; t < 3; t++) {
		int before_total = total;
		ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
		total = 0;
		for (i = 0; i < N; i++)
			total += r[i].calls;
		ck_assert_int_le(total - before_total, 2);
	}
	ck_assert_int_eq(total, N);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(r[i].calls, 1);
		ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &r[i].io), 0);
		close(p[i][0]);
		close(p[i][1]);
	}
	fx_free(&fx);
}
END_TEST

START_TEST(test_io_errors)
{
	struct fixture fx;
	struct io_rec r = { .id = 1 }, r2 = { .id = 2 };
	FILE *f;
	int p[2];

	fx_init(&fx, 0);
	must_pipe(p);
	collab_loop_io_init(&r.io, p[0], on_io_rec, &r);
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r.io, 4), COLLAB_EINVAL);
	ck_assert_int_eq(collab_loop_io_modify(&fx.loop, &r.io,
					       COLLAB_LOOP_READ), COLLAB_ESTATE);
	ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &r.io), 0);
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r.io, COLLAB_LOOP_READ),
			 0);
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r.io, COLLAB_LOOP_READ),
			 COLLAB_EEXIST);
	ck_assert_int_eq(collab_loop_io_modify(&fx.loop, &r.io, 8),
			 COLLAB_EINVAL);
	/* A second watcher on the same fd: epoll says EEXIST. */
	collab_loop_io_init(&r2.io, p[0], on_io_rec, &r2);
	errno = 0;
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r2.io, COLLAB_LOOP_READ),
			 COLLAB_EIO);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_uint_eq(r2.io.state, 0);
	/* Bad fd; regular file (epoll refuses it with EPERM). */
	collab_loop_io_init(&r2.io, -1, on_io_rec, &r2);
	errno = 0;
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r2.io, COLLAB_LOOP_READ),
			 COLLAB_EIO);
	ck_assert_int_eq(errno, EBADF);
	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	collab_loop_io_init(&r2.io, fileno(f), on_io_rec, &r2);
	errno = 0;
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r2.io, COLLAB_LOOP_READ),
			 COLLAB_EIO);
	ck_assert_int_eq(errno, EPERM);
	fclose(f);
	collab_loop_io_init(&r2.io, p[1], NULL, &r2);
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r2.io, COLLAB_LOOP_READ),
			 COLLAB_EINVAL);
	/* Removal after the fd was closed (a MUST broken): still
	 * unregistered, reported as COLLAB_EIO. */
	close(p[0]);
	ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &r.io), COLLAB_EIO);
	ck_assert_uint_eq(r.io.state, 0);
	close(p[1]);
	fx_free(&fx);
}
END_TEST

/* ---- turn order, stop, nesting ------------------------------------------------ */

START_TEST(test_turn_order_events_timers_hooks)
{
	struct fixture fx;
	struct log log = { .n = 0 };
	struct io_rec r = { .id = 1 };
	struct tm_rec tr = { .id = 2 };
	struct hook_rec hr[1];
	int p[2];

	fx_init(&fx, 0);
	must_pipe(p);
	hooks_setup(hr, 1, &log);
	r.log = &log;
	r.action = IA_DRAIN;
	tr.log = &log;
	tr.loop = &fx.loop;
	collab_loop_io_init(&r.io, p[0], on_io_rec, &r);
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r.io, COLLAB_LOOP_READ),
			 0);
	collab_loop_timer_init(&tr.t, on_tm_log, &tr);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &tr.t, 0), 0);
	ck_assert_int_eq(collab_loop_hook_add(&fx.loop, &hr[0].h), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 3);
	ck_assert_int_eq(log.ev[0], 1);   /* fd event */
	ck_assert_int_eq(log.ev[1], 2);   /* timer */
	ck_assert_int_eq(log.ev[2], 100); /* hook */
	/* An idle turn runs the hook alone. */
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_uint_eq(log.n, 4);
	ck_assert_int_eq(log.ev[3], 100);
	ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &r.io), 0);
	close(p[0]);
	close(p[1]);
	fx_free(&fx);
}
END_TEST

/* stop() from an fd callback: the rest of the turn (other events, due
 * timers, hooks) still runs, then collab_loop_run() returns. */
START_TEST(test_stop_from_callback)
{
	struct fixture fx;
	struct log log = { .n = 0 };
	struct io_rec r[2];
	struct tm_rec tr = { .id = 7 };
	struct hook_rec hr[1];
	int p[2][2], i;
	uint64_t turn0;

	fx_init(&fx, 0);
	hooks_setup(hr, 1, &log);
	memset(r, 0, sizeof(r));
	for (i = 0; i < 2; i++) {
		must_pipe(p[i]);
		ck_assert_int_eq(write(p[i][1], "x", 1), 1);
		r[i].id = i;
		r[i].action = IA_STOP;
		collab_loop_io_init(&r[i].io, p[i][0], on_io_rec, &r[i]);
		ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r[i].io,
						    COLLAB_LOOP_READ), 0);
	}
	tr.log = &log;
	tr.loop = &fx.loop;
	collab_loop_timer_init(&tr.t, on_tm_log, &tr);
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &tr.t, 0), 0);
	ck_assert_int_eq(collab_loop_hook_add(&fx.loop, &hr[0].h), 0);
	turn0 = fx.loop.turn;
	ck_assert_int_eq(collab_loop_run(&fx.loop), 0);
	ck_assert_uint_eq(fx.loop.turn, turn0 + 1);
	ck_assert_int_eq(r[0].calls, 1);
	ck_assert_int_eq(r[1].calls, 1);
	ck_assert_uint_eq(log.n, 2);
	ck_assert_int_eq(log.ev[0], 7);
	ck_assert_int_eq(log.ev[1], 100);
	ck_assert_int_eq(fx.loop.stop, 0); /* consumed */

	/* stop() from a hook, and before run(). */
	hr[0].action = HA_STOP;
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &r[i].io), 0);
	/* Due timer: the turn does not block. */
	ck_assert_int_eq(collab_loop_timer_arm(&fx.loop, &tr.t, 0), 0);
	ck_assert_int_eq(collab_loop_run(&fx.loop), 0);
	ck_assert_uint_eq(fx.loop.turn, turn0 + 2);
	ck_assert_uint_eq(log.n, 4);
	collab_loop_stop(&fx.loop);
	ck_assert_int_eq(collab_loop_run(&fx.loop), 0);
	ck_assert_uint_eq(fx.loop.turn, turn0 + 2);
	for (i = 0; i < 2; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	fx_free(&fx);
}
END_TEST

START_TEST(test_no_nesting)
{
	struct fixture fx;
	struct io_rec r = { .id = 1, .action = IA_NEST };
	int p[2];

	fx_init(&fx, 0);
	must_pipe(p);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	collab_loop_io_init(&r.io, p[0], on_io_rec, &r);
	ck_assert_int_eq(collab_loop_io_add(&fx.loop, &r.io, COLLAB_LOOP_READ),
			 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(collab_loop_io_remove(&fx.loop, &r.io), 0);
	close(p[0]);
	close(p[1]);
	fx_free(&fx);
}
END_TEST

/* ---- signals --------------------------------------------------------------- */

struct sig_rec {
	struct collab_signal s;
	int calls;
	int signo;
	int remove_self;
};

static void on_sig(struct collab_loop *loop, struct collab_signal *s)
{
	struct sig_rec *r = s->ctx;
	r->calls++;
	r->signo = s->signo;
	if (r->remove_self)
		collab_loop_signal_remove(loop, s);
}

static int is_blocked(int signo)
{
	sigset_t cur;
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	return sigismember(&cur, signo) == 1;
}

START_TEST(test_signal_delivery)
{
	struct fixture fx;
	struct sig_rec a = { .calls = 0 }, b = { .calls = 0 };

	fx_init(&fx, 0);
	ck_assert(!is_blocked(SIGUSR1));
	ck_assert_int_eq(collab_loop_signal(&fx.loop, &a.s, SIGUSR1, on_sig,
					    &a), 0);
	ck_assert(is_blocked(SIGUSR1));
	ck_assert_int_eq(collab_loop_signal(&fx.loop, &b.s, SIGUSR2, on_sig,
					    &b), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.signo, SIGUSR1);
	ck_assert_int_eq(b.calls, 0);
	ck_assert_int_eq(raise(SIGUSR2), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(a.calls, 2);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_int_eq(b.signo, SIGUSR2);
	collab_loop_signal_remove(&fx.loop, &a.s);
	ck_assert(!is_blocked(SIGUSR1));
	collab_loop_signal_remove(&fx.loop, &a.s); /* no-op */
	ck_assert(is_blocked(SIGUSR2));
	fx_free(&fx); /* removes b: restores the mask */
	ck_assert(!is_blocked(SIGUSR2));
}
END_TEST

START_TEST(test_signal_remove_in_callback)
{
	struct fixture fx;
	struct sig_rec a = { .remove_self = 1 };

	fx_init(&fx, 0);
	ck_assert_int_eq(collab_loop_signal(&fx.loop, &a.s, SIGUSR1, on_sig,
					    &a), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(a.calls, 1);
	ck_assert(!is_blocked(SIGUSR1));
	ck_assert_ptr_null(fx.loop.signals);
	/* And again, reusing the signalfd. */
	a.remove_self = 0;
	ck_assert_int_eq(collab_loop_signal(&fx.loop, &a.s, SIGUSR1, on_sig,
					    &a), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(collab_loop_run_once(&fx.loop, 0), 0);
	ck_assert_int_eq(a.calls, 2);
	fx_free(&fx);
	ck_assert(!is_blocked(SIGUSR1));
}
END_TEST

START_TEST(test_signal_keeps_prior_mask)
{
	struct fixture fx;
	struct sig_rec a = { .calls = 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	fx_init(&fx, 0);
	ck_assert_int_eq(collab_loop_signal(&fx.loop, &a.s, SIGUSR2, on_sig,
					    &a), 0);
	collab_loop_signal_remove(&fx.loop, &a.s);
	ck_assert(is_blocked(SIGUSR2));
	fx_free(&fx);
	ck_assert_int_eq(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
}
END_TEST

static const struct {
	int signo;
	int expect;
} sig_err_cases[] = {
	{ 0, COLLAB_EINVAL },
	{ -1, COLLAB_EINVAL },
	{ SIGKILL, COLLAB_EINVAL },
	{ SIGSTOP, COLLAB_EINVAL },
	{ 100000, COLLAB_EINVAL },
	{ SIGUSR1, COLLAB_EEXIST }, /* registered below first */
};

START_TEST(test_signal_errors)
{
	struct fixture fx;
	struct sig_rec a = { .calls = 0 }, b = { .calls = 0 };
	int fd0;

	fx_init(&fx, 0);
	fd0 = lowest_fd();
	ck_assert_int_eq(collab_loop_signal(&fx.loop, &a.s, SIGUSR1, on_sig,
					    &a), 0);
	ck_assert_int_eq(collab_loop_signal(&fx.loop, &b.s,
					    sig_err_cases[_i].signo, on_sig,
					    &b), sig_err_cases[_i].expect);
	ck_assert_int_eq(collab_loop_signal(&fx.loop, &a.s, SIGUSR2, on_sig,
					    &a), COLLAB_EEXIST);
	ck_assert_int_eq(collab_loop_signal(&fx.loop, &b.s, SIGUSR2, NULL,
					    &b), COLLAB_EINVAL);
	ck_assert(!is_blocked(SIGUSR2));
	collab_loop_signal_remove(&fx.loop, &b.s); /* never registered */
	ck_assert(is_blocked(SIGUSR1));
	fx_free(&fx);
	ck_assert(!is_blocked(SIGUSR1));
	ck_assert_int_lt(lowest_fd(), fd0 + 1); /* signalfd closed */
}
END_TEST

/* ---- wake-up ------------------------------------------------------------------ */

struct waker {
	struct collab_loop *loop;
	int wakes;            /* how many times to wake */
	atomic_int done;
	int on_wake_calls;
};

static void on_wake_stop_when_done(struct collab_loop *loop)
{
	struct waker *w = loop->cfg.ctx;
	w->on_wake_calls++;
	if (atomic_load(&w->done))
		collab_loop_stop(loop);
}

static void *waker_thread(void *arg)
{
	struct waker *w = arg;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i;

	nanosleep(&ts, NULL);
	for (i = 0; i < w->wakes - 1; i++)
		ck_assert_int_eq(collab_loop_wake(w->loop), 0);
	atomic_store(&w->done, 1);
	ck_assert_int_eq(collab_loop_wake(w->loop), 0);
	return NULL;
}

static const int wake_counts[] = { 1, 1000 };

START_TEST(test_wake_from_thread)
{
	struct collab_loop loop;
	struct collab_loop_config cfg;
	struct waker w;
	pthread_t th;

	memset(&w, 0, sizeof(w));
	w.loop = &loop;
	w.wakes = wake_counts[_i];
	atomic_init(&w.done, 0);
	collab_loop_config_init(&cfg);
	cfg.on_wake = on_wake_stop_when_done;
	cfg.ctx = &w;
	ck_assert_int_eq(collab_loop_init(&loop, &cfg), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, waker_thread, &w), 0);
	/* Blocks in epoll_wait (no timers) until the thread wakes it. */
	ck_assert_int_eq(collab_loop_run(&loop), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_ge(w.on_wake_calls, 1);
	ck_assert_int_le(w.on_wake_calls, w.wakes);
	collab_loop_free(&loop);
}
END_TEST

static void on_wake_count(struct collab_loop *loop)
{
	(*(int *)loop->cfg.ctx)++;
}

START_TEST(test_wake_coalesces)
{
	struct collab_loop loop;
	struct collab_loop_config cfg;
	int calls = 0;

	collab_loop_config_init(&cfg);
	cfg.on_wake = on_wake_count;
	cfg.ctx = &calls;
	ck_assert_int_eq(collab_loop_init(&loop, &cfg), 0);
	ck_assert_int_eq(collab_loop_run_once(&loop, 0), 0);
	ck_assert_int_eq(calls, 0);
	ck_assert_int_eq(collab_loop_wake(&loop), 0);
	ck_assert_int_eq(collab_loop_wake(&loop), 0);
	ck_assert_int_eq(collab_loop_wake(&loop), 0);
	ck_assert_int_eq(collab_loop_run_once(&loop, -1), 0);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(collab_loop_run_once(&loop, 0), 0);
	ck_assert_int_eq(calls, 1);
	collab_loop_free(&loop);

	/* Without on_wake a wake still ends the wait. */
	ck_assert_int_eq(collab_loop_init(&loop, NULL), 0);
	ck_assert_int_eq(collab_loop_wake(&loop), 0);
	ck_assert_int_eq(collab_loop_run_once(&loop, -1), 0);
	collab_loop_free(&loop);
}
END_TEST

START_TEST(test_wall_ms)
{
	uint64_t w = collab_loop_wall_ms();
	uint64_t t = (uint64_t)time(NULL) * 1000u;

	ck_assert_uint_ge(w + 2000, t);
	ck_assert_uint_le(w, t + 2000);
}
END_TEST

static Suite *loop_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc;

	tc = tcase_create("init");
	tcase_add_test(tc, test_config_defaults);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_init_enomem);
	tcase_add_test(tc, test_wall_ms);
	suite_add_tcase(s, tc);

	tc = tcase_create("timers");
	tcase_add_loop_test(tc, test_timer_order, 0, ARRAY_LEN(order_cases));
	tcase_add_test(tc, test_timer_due_exactly);
	tcase_add_test(tc, test_timer_now_cached);
	tcase_add_test(tc, test_timer_rearm_from_callback);
	tcase_add_test(tc, test_timer_rearm_zero_waits_a_turn);
	tcase_add_test(tc, test_timer_cancel_from_callback);
	tcase_add_test(tc, test_timer_free_from_callback);
	tcase_add_test(tc, test_timer_rearm_moves);
	tcase_add_test(tc, test_timer_enomem);
	tcase_add_test(tc, test_timer_real_clock_never_early);
	tcase_add_test(tc, test_timer_wait_uses_deadline);
	suite_add_tcase(s, tc);

	/* The heavy ones, in a case of their own with a generous timeout
	 * (ASan, a loaded machine). */
	tc = tcase_create("timers_random");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_timer_random_10k);
	tcase_add_loop_test(tc, test_timer_heap_integrity, 0, 3);
	suite_add_tcase(s, tc);

	tc = tcase_create("hooks");
	tcase_add_test(tc, test_hook_once_per_turn_in_order);
	tcase_add_test(tc, test_hook_remove_inside);
	tcase_add_test(tc, test_hook_remove_last_inside);
	tcase_add_test(tc, test_hook_add_inside_waits);
	suite_add_tcase(s, tc);

	tc = tcase_create("io");
	tcase_add_test(tc, test_io_read_ready);
	tcase_add_test(tc, test_io_write_ready_and_modify);
	tcase_add_loop_test(tc, test_io_hup_is_read_write, 0,
			    ARRAY_LEN(hup_cases));
	tcase_add_loop_test(tc, test_io_remove_mid_batch, 0,
			    ARRAY_LEN(batch_cases));
	tcase_add_loop_test(tc, test_io_change_mid_batch, 0,
			    ARRAY_LEN(mute_cases));
	tcase_add_test(tc, test_io_small_batches);
	tcase_add_test(tc, test_io_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("turn");
	tcase_add_test(tc, test_turn_order_events_timers_hooks);
	tcase_add_test(tc, test_stop_from_callback);
	tcase_add_test(tc, test_no_nesting);
	suite_add_tcase(s, tc);

	tc = tcase_create("signals");
	tcase_add_test(tc, test_signal_delivery);
	tcase_add_test(tc, test_signal_remove_in_callback);
	tcase_add_test(tc, test_signal_keeps_prior_mask);
	tcase_add_loop_test(tc, test_signal_errors, 0,
			    ARRAY_LEN(sig_err_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("wake");
	tcase_add_loop_test(tc, test_wake_from_thread, 0,
			    ARRAY_LEN(wake_counts));
	tcase_add_test(tc, test_wake_coalesces);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(loop_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
