/*
 * bench_loop.c - the loop's costs: arming, re-arming, cancelling and firing
 * 100,000 timers, and the overhead of one turn (idle, with hooks, with one
 * fd event, with 100,000 idle timers armed). Prints "bench <name> <value>
 * <unit>" lines; integers only (no locale-dependent formatting). Each
 * figure is the best of a few rounds.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "collab/loop.h"

#define NTIMERS 100000
#define ROUNDS 5
#define TURNS 200000

static uint64_t ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t fake_ms;

static uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return fake_ms;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static uint64_t fired;

static void on_timer(struct collab_loop *loop, struct collab_timer *t)
{
	(void)loop;
	(void)t;
	fired++;
}

static void on_hook(struct collab_loop *loop, struct collab_hook *h)
{
	(void)loop;
	(*(uint64_t *)h->ctx)++;
}

static void on_pipe(struct collab_loop *loop, struct collab_io *io,
		    unsigned events)
{
	char c;

	(void)loop;
	(void)events;
	if (read(io->fd, &c, 1) == 1 && write(*(int *)io->ctx, &c, 1) != 1)
		exit(1);
}

static void report(const char *name, uint64_t value, const char *unit)
{
	printf("bench %s %" PRIu64 " %s\n", name, value, unit);
}

static uint64_t per_sec(uint64_t n, uint64_t ns)
{
	return ns ? n * 1000000000u / ns : 0;
}

static int init_loop(struct collab_loop *loop)
{
	struct collab_loop_config cfg;

	collab_loop_config_init(&cfg);
	cfg.now_ms = fake_now;
	if (collab_loop_init(loop, &cfg) != 0) {
		fprintf(stderr, "bench_loop: collab_loop_init failed\n");
		return -1;
	}
	return 0;
}

static int bench_timers(struct collab_timer *t, uint64_t *order)
{
	uint64_t best_arm = UINT64_MAX, best_rearm = UINT64_MAX;
	uint64_t best_cancel = UINT64_MAX, best_fire = UINT64_MAX;
	uint64_t seed = 42, t0, el;
	struct collab_loop loop;
	size_t i;
	int r;

	if (init_loop(&loop) != 0)
		return -1;
	for (i = 0; i < NTIMERS; i++) {
		collab_loop_timer_init(&t[i], on_timer, NULL);
		order[i] = i;
	}
	/* A random cancellation order (Fisher-Yates). */
	for (i = NTIMERS - 1; i > 0; i--) {
		size_t j = (size_t)(rng_next(&seed) % (i + 1));
		uint64_t x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (r = 0; r < ROUNDS; r++) {
		/* The fake clock only moves forward, like the real one. */
		fake_ms += 1000;
		collab_loop_update_now(&loop);

		t0 = ns_now();
		for (i = 0; i < NTIMERS; i++)
			if (collab_loop_timer_arm(&loop, &t[i],
					rng_next(&seed) % 60000) != 0)
				return -1;
		el = ns_now() - t0;
		best_arm = el < best_arm ? el : best_arm;

		t0 = ns_now();
		for (i = 0; i < NTIMERS; i++)
			collab_loop_timer_arm(&loop, &t[i],
					      rng_next(&seed) % 60000);
		el = ns_now() - t0;
		best_rearm = el < best_rearm ? el : best_rearm;

		t0 = ns_now();
		for (i = 0; i < NTIMERS; i++)
			collab_loop_timer_cancel(&loop, &t[order[i]]);
		el = ns_now() - t0;
		best_cancel = el < best_cancel ? el : best_cancel;

		for (i = 0; i < NTIMERS; i++)
			collab_loop_timer_arm(&loop, &t[i],
					      rng_next(&seed) % 60000);
		fired = 0;
		fake_ms += 60000;
		t0 = ns_now();
		collab_loop_run_once(&loop, 0);
		el = ns_now() - t0;
		if (fired != NTIMERS) {
			fprintf(stderr, "bench_loop: fired %" PRIu64 "\n",
				fired);
			return -1;
		}
		best_fire = el < best_fire ? el : best_fire;
	}
	report("loop_timer_arm_100k", per_sec(NTIMERS, best_arm), "ops/s");
	report("loop_timer_rearm_100k", per_sec(NTIMERS, best_rearm), "ops/s");
	report("loop_timer_cancel_100k", per_sec(NTIMERS, best_cancel),
	       "ops/s");
	report("loop_timer_fire_100k", per_sec(NTIMERS, best_fire), "ops/s");
	collab_loop_free(&loop);
	return 0;
}

/* ns per turn of run_once(loop, 0) as set up by the caller. */
static uint64_t turn_ns(struct collab_loop *loop)
{
	uint64_t best = UINT64_MAX, t0, el;
	int r, i;

	for (r = 0; r < ROUNDS; r++) {
		t0 = ns_now();
		for (i = 0; i < TURNS; i++)
			collab_loop_run_once(loop, 0);
		el = ns_now() - t0;
		best = el < best ? el : best;
	}
	return best / TURNS;
}

static int bench_turns(struct collab_timer *t)
{
	struct collab_loop loop;
	struct collab_hook hooks[4];
	struct collab_io io;
	uint64_t hook_runs = 0, seed = 7;
	int p[2];
	size_t i;

	if (init_loop(&loop) != 0)
		return -1;
	report("loop_turn_idle", turn_ns(&loop), "ns/turn");

	for (i = 0; i < 4; i++) {
		collab_loop_hook_init(&hooks[i], on_hook, &hook_runs);
		collab_loop_hook_add(&loop, &hooks[i]);
	}
	report("loop_turn_4_hooks", turn_ns(&loop), "ns/turn");

	/* One readable fd per turn: the callback reads the byte and writes
	 * it back, so the pipe stays readable. */
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0 || write(p[1], "x", 1) != 1)
		return -1;
	collab_loop_io_init(&io, p[0], on_pipe, &p[1]);
	if (collab_loop_io_add(&loop, &io, COLLAB_LOOP_READ) != 0)
		return -1;
	report("loop_turn_1_fd_event", turn_ns(&loop), "ns/turn");
	collab_loop_io_remove(&loop, &io);
	close(p[0]);
	close(p[1]);

	/* 100k idle timers armed far out: a turn only peeks at the top. */
	fake_ms += 1000;
	collab_loop_update_now(&loop);
	for (i = 0; i < NTIMERS; i++) {
		collab_loop_timer_init(&t[i], on_timer, NULL);
		if (collab_loop_timer_arm(&loop, &t[i], 3600000 +
					  rng_next(&seed) % 60000) != 0)
			return -1;
	}
	report("loop_turn_100k_idle_timers", turn_ns(&loop), "ns/turn");
	collab_loop_free(&loop);
	return 0;
}

int main(void)
{
	struct collab_timer *t = calloc(NTIMERS, sizeof(*t));
	uint64_t *order = calloc(NTIMERS, sizeof(*order));
	int rc = 1;

	if (t && order && bench_timers(t, order) == 0 && bench_turns(t) == 0)
		rc = 0;
	else
		fprintf(stderr, "bench_loop: failed\n");
	free(order);
	free(t);
	return rc;
}
