/*
 * collab-bench: the run's shared state. One struct bench_run (main.c
 * defines it) holds the options and the workers; each worker owns its
 * rooms and connections (see main.c for how a run goes). The small
 * helpers every file uses are static inline here.
 */
#ifndef COLLAB_BENCH_BENCH_H
#define COLLAB_BENCH_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "collab/client.h"
#include "collab/json.h"
#include "collab/loop.h"
#include "collab/rand.h"
#include "collab/tls.h"
#include "collab/wsconn.h"
#include "collab-bench/hist.h"
#include "tenant.h"

#define MAX_THREADS         64u
#define MAX_SIZE            4096u      /* PROTOCOL.md 4: text limit */
#define PAYLOAD_CAP         512u       /* token claims */
#define NCLOSE_KINDS        32u
#define NS                  1000000000u

enum phase { PH_CONNECT, PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_DONE };
enum op_kind { OP_EDIT, OP_ADD };

struct opts {
	const char *url, *tenant, *tenants, *token, *origin, *ca, *prefix;
	const char *sources, *range;
	uint64_t conns, rooms, pubs, rate, size, duration, warmup, per_chat;
	uint64_t connect_timeout, drain_timeout, max_connecting, threads;
	uint64_t progress;
	bool has_pubs, json;
	enum op_kind op;
	clockid_t clock;
};

struct worker;

struct room {
	uint64_t max_seq;   /* highest seq any of its connections saw */
	uint32_t id;        /* global room number */
	bool seen;          /* some connection synced */
};

struct conn {
	struct collab_client c;
	struct worker *w;
	struct room *rm;
	uint32_t idx;
	bool inited, ever_live, live, synced_once, dead, publisher;
	uint64_t start_ns;
	uint64_t last_seq;
	/* publishing */
	struct collab_timer pub;
	uint64_t due_ns, n_ops;
	uint32_t in_chat;
	char chat_id[COLLAB_UUID_STR_LEN + 1];
	char comment_id[COLLAB_UUID_STR_LEN + 1];
};

/* Counters the main thread reads while the run goes on (progress, phase
 * changes): relaxed atomics written by the worker alone, except iv_*,
 * which the main thread takes and zeroes for each progress line. */
struct live_stats {
	_Atomic uint64_t live, ever_live, dead, reconnects, connect_retries;
	_Atomic uint64_t published, published_all, acked, rejected;
	_Atomic uint64_t deliveries, deliveries_all, lost, ooo, foreign;
	_Atomic uint64_t op_fail, errors, snapshot_resyncs, skipped;
	_Atomic uint64_t unanswered, not_live_at_end;
	_Atomic uint64_t last_live_ns;          /* mono ns of the last first live */
	_Atomic uint64_t iv_sum, iv_n, iv_max;  /* progress interval latency */
	_Atomic int drained, finished;
};

struct close_kind {
	unsigned code, http;
	int err;
	uint64_t n;
};

struct worker {
	uint32_t id;
	pthread_t th;
	bool th_started;
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_rng rng;
	struct collab_tls_client tls;
	bool has_tls, loop_ok, ws_ok;
	struct collab_timer tick;
	struct conn **conns;        /* this worker's, in index order */
	size_t n_conns, next_start, connecting, max_connecting;
	struct room *rooms;
	size_t n_rooms;
	int phase_seen;
	uint64_t last_drain_check, close_started;
	bool stopping;
	/* token signing */
	uint8_t payload[PAYLOAD_CAP];
	struct collab_json_node *nodes;
	size_t n_nodes;
	char *tok;
	size_t tok_cap;
	/* results (read after join) */
	struct hist lat, ack, conn_ms, lag;
	uint64_t rejections[8];
	struct close_kind closes[NCLOSE_KINDS];
	uint64_t closes_other;
	int op_errs[16];
	uint64_t op_err_n[16];
	struct live_stats st;
};

/* The run: written by main.c before the threads start (except phase and
 * the times), read by everyone. */
struct bench_run {
	struct opts o;
	struct srv_tenant_registry reg;
	const struct srv_tenant *tenant;
	const char *tenant_id;
	char prefix[96];
	struct sockaddr_storage *sources;
	size_t n_sources;
	struct worker *w;
	size_t nw;
	struct conn *conns;
	_Atomic int phase;
	uint64_t interval_ns;       /* per publisher */
	uint64_t t0, t_measure, t_measure_end;
};

extern struct bench_run bench;

void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	(void)clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static inline void inc(_Atomic uint64_t *a, uint64_t d)
{
	atomic_fetch_add_explicit(a, d, memory_order_relaxed);
}

static inline uint64_t get(_Atomic uint64_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

static inline int phase(void)
{
	return atomic_load_explicit(&bench.phase, memory_order_acquire);
}

#endif
