/*
 * collab-bench - the load generator of PROTOCOL.md section 10, built on the
 * library's C client (collab/client.h): N connections over M rooms, P of
 * them publishing at a given rate, for a given time; it reports deliveries
 * per second, delivery latency percentiles, messages lost or out of order,
 * reconnects and rejections (collab-bench --help lists every flag).
 *
 * HOW IT RUNS. One collab_loop and one collab_wsctx per thread (--threads);
 * rooms are dealt to threads (room r to thread r mod T) and connections to
 * rooms round-robin (connection i joins room i mod M), so a room and all
 * its connections live on one thread and need no locks. The main thread
 * only coordinates, through one atomic phase:
 *
 *   connect  clients are started in index order, at most --max-connecting
 *            of them at a time between their start and their first `synced`
 *            (so the server never meets a thundering herd); it ends when
 *            every connection has been live, or at --connect-timeout
 *   warmup   publishers publish; nothing is recorded
 *   measure  --duration seconds: operations are marked as measured
 *   drain    publishing stops; waits until every operation is answered and
 *            every connection holds its room's last seq (--drain-timeout)
 *   done     every client closes (1000), the report is printed
 *
 * PUBLISHING. Connections 0..P-1 publish (the default, P = M, is one per
 * room), each at rate/P operations per second on its own loop timer, with
 * a random phase so the total is smooth. A publisher first creates a chat
 * (when it is first live); then each operation (--op) edits that chat's
 * comment (edit: the room's state does not grow, so the run can last) or
 * adds a comment to it (add: a new chat every --comments-per-chat). The
 * comment text (--size bytes) starts with a stamp "cb1 T M P N ": T the
 * send time in ns (CLOCK_MONOTONIC, the same for every process of one
 * machine; --clock realtime across machines), M 1 when sent during
 * measure, P the publisher, N its operation count; 'x' fill the rest.
 *
 * WHAT IS MEASURED. Every event delivered to a connection (on_event: other
 * connections' operations) with a measured stamp counts as one delivery,
 * its latency (receipt minus T) goes to a log-linear histogram (0.2 %
 * relative precision, exact min and max). The echo of an operation to its
 * sender (on_ack) goes to a second histogram (ack latency). Rates divide
 * the measured counts by --duration. Publish lag is how late the
 * publisher's timer ran against its schedule (the generator's own health).
 *
 * CONTINUITY (the reason for the exit status). Every connection tracks the
 * seq of every event it sees (events and its own acks) from its first
 * `synced` on: an event past last + 1 counts the missing ones as lost, an
 * event at or below last counts as out of order; a resync by snapshot
 * counts the events it skipped as lost; at the end each connection must
 * hold its room's highest seq, the shortfall counts as lost. The client
 * itself closes a connection on a seq gap and resyncs by replay, so a gap
 * the server causes shows up as a reconnect (closes: err EPROTO), and only
 * what no replay recovered as lost.
 *
 * Exit status: 0 the run completed with nothing lost or out of order,
 * every operation answered and every connection live at the end; 1 events
 * lost or out of order, or operations never answered; 3 connections that
 * never became live, closed for good (auth failure, refusals) or not live
 * at the end; 2 bad usage or set-up failure.
 *
 * THE FILES. main.c: set-up and the coordinator (this file); args.c: the
 * command line; worker.c: a worker thread and its loop; conn.c: a
 * connection's client callbacks and counts; publish.c: what publishers
 * send and the stamp; hist.c: the latency histogram; report.c: totals,
 * progress lines and the final report; bench.h: the run's shared state.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "collab-bench/args.h"
#include "collab-bench/bench.h"
#include "collab-bench/report.h"
#include "collab-bench/worker.h"

#define FD_RESERVE          64u        /* descriptors besides connections */

struct bench_run bench;

void bench_fail(const char *fmt, ...)
{
	va_list ap;

	(void)fputs("collab-bench: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
}

/* Raises the soft descriptor limit to the hard one, and checks that the
 * connections fit. */
static int raise_fd_limit(void)
{
	struct rlimit rl;
	uint64_t need = bench.o.conns + FD_RESERVE + 4 * bench.o.threads;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		bench_fail("getrlimit: %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && (uint64_t)rl.rlim_cur < need) {
		bench_fail("%llu connections need %llu descriptors; the limit is %llu "
		     "(ulimit -n; run several processes for more)",
		     (unsigned long long)bench.o.conns, (unsigned long long)need,
		     (unsigned long long)rl.rlim_cur);
		return -1;
	}
	return 0;
}

/* Warns when one source address's ephemeral ports cannot hold the run. */
static void check_ports(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	unsigned lo = 0, hi = 0;
	uint64_t per, srcs = bench.n_sources ? bench.n_sources : 1;

	if (f == NULL)
		return;
	if (fscanf(f, "%u %u", &lo, &hi) == 2 && hi >= lo) {
		per = (uint64_t)hi - lo + 1;
		if (bench.o.conns > per * srcs)
			bench_fail("warning: %llu connections but %llu ephemeral ports per source "
			     "address and %llu source(s): add --sources or --source-range",
			     (unsigned long long)bench.o.conns, (unsigned long long)per,
			     (unsigned long long)srcs);
	}
	(void)fclose(f);
}

static int load_identity(void)
{
	char msg[SRV_TENANT_MSG_CAP + 4096];
	int rc;

	if (bench.o.tenants) {
		rc = srv_tenant_registry_load(&bench.reg, NULL, bench.o.tenants, msg, sizeof(msg));
		if (rc != 0) {
			bench_fail("%s", msg);
			return -1;
		}
		if (bench.o.tenant == NULL && bench.reg.n == 1)
			bench.o.tenant = bench.reg.tenants[0].id;
		if (bench.o.tenant == NULL) {
			bench_fail("--tenant is required: %s has %zu tenants", bench.o.tenants, bench.reg.n);
			return -1;
		}
		bench.tenant = srv_tenant_find(&bench.reg, bench.o.tenant, strlen(bench.o.tenant));
		if (bench.tenant == NULL) {
			bench_fail("unknown tenant \"%s\" in %s", bench.o.tenant, bench.o.tenants);
			return -1;
		}
		if (bench.o.pubs && bench.o.rate &&
		    (bench.o.rate + bench.o.pubs - 1) / bench.o.pubs > bench.tenant->ops_per_second)
			bench_fail("warning: each publisher sends up to %llu ops/s but tenant \"%s\" "
			     "allows %llu (opsPerSecond): expect rate-limited rejections",
			     (unsigned long long)((bench.o.rate + bench.o.pubs - 1) / bench.o.pubs),
			     bench.o.tenant, (unsigned long long)bench.tenant->ops_per_second);
	}
	if (bench.o.tenant == NULL) {
		bench_fail("--tenant is required (see --help)");
		return -1;
	}
	bench.tenant_id = bench.o.tenant;
	return 0;
}

/* ---- set-up ------------------------------------------------------------------------ */

static int setup_workers(void)
{
	const size_t rooms = bench.o.rooms;
	size_t i, nw = bench.o.threads < rooms ? bench.o.threads : rooms;
	struct collab_rng seed;
	uint32_t run = 0;

	if (nw == 0 || rooms == 0)
		return -1;  /* bench_parse_args() keeps both >= 1 */

	if (bench.o.prefix) {
		if (strlen(bench.o.prefix) >= sizeof(bench.prefix)) {
			bench_fail("--room-prefix is longer than %zu bytes", sizeof(bench.prefix) - 1);
			return -1;
		}
		memcpy(bench.prefix, bench.o.prefix, strlen(bench.o.prefix) + 1);
	} else {
		if (collab_rng_init(&seed) != 0 || collab_rng_u32(&seed, &run) != 0) {
			bench_fail("no randomness from the kernel");
			return -1;
		}
		collab_rng_wipe(&seed);
		(void)snprintf(bench.prefix, sizeof(bench.prefix), "bench/%08x/room-", run);
	}
	bench.nw = nw;
	bench.w = calloc(nw, sizeof(*bench.w));
	bench.conns = calloc(bench.o.conns, sizeof(*bench.conns));
	if (bench.w == NULL || bench.conns == NULL) {
		bench_fail("out of memory");
		return -1;
	}
	for (i = 0; i < nw; i++) {
		struct worker *w = &bench.w[i];
		size_t nrooms = (bench.o.rooms - i + nw - 1) / nw;
		size_t nconns = 0, r;
		int rc;

		rc = bench_worker_setup(w, (uint32_t)i);
		if (rc != 0) {
			bench_fail("cannot set up thread %zu: %s", i, collab_strerror(rc));
			return -1;
		}
		/* rooms i, i + nw, i + 2nw, ...; their connections */
		for (r = i; r < bench.o.rooms; r += nw)
			nconns += (bench.o.conns - r + bench.o.rooms - 1) / bench.o.rooms;
		w->rooms = calloc(nrooms, sizeof(*w->rooms));
		w->conns = calloc(nconns ? nconns : 1, sizeof(struct conn *));
		if (w->rooms == NULL || w->conns == NULL) {
			bench_fail("out of memory");
			return -1;
		}
		w->n_rooms = nrooms;
		for (r = 0; r < nrooms; r++)
			w->rooms[r].id = (uint32_t)(i + r * nw);
		w->max_connecting = (bench.o.max_connecting + nw - 1) / nw;
	}
	for (i = 0; i < bench.o.conns; i++) {
		struct conn *x = &bench.conns[i];
		size_t room = i % rooms;
		struct worker *w = &bench.w[room % nw];

		x->w = w;
		x->idx = (uint32_t)i;
		x->rm = &w->rooms[room / nw];
		x->publisher = i < bench.o.pubs;
		w->conns[w->n_conns++] = x;
	}
	if (bench.o.pubs && bench.o.rate)
		bench.interval_ns = (uint64_t)((double)NS * (double)bench.o.pubs / (double)bench.o.rate);
	if (bench.interval_ns == 0)
		bench.interval_ns = 1;
	return 0;
}

/* ---- main: the coordinator ---------------------------------------------------------- */

static void set_phase(int ph)
{
	atomic_store_explicit(&bench.phase, ph, memory_order_release);
}

static bool all_flag(bool finished)
{
	size_t i;

	for (i = 0; i < bench.nw; i++)
		if (!atomic_load_explicit(finished ? &bench.w[i].st.finished : &bench.w[i].st.drained,
					  memory_order_acquire))
			return false;
	return true;
}

/* Moves the phases on until the workers are done. */
static void coordinate(const sigset_t *sigs)
{
	struct totals t, prev;
	uint64_t now, phase_t, prev_t, next_progress;
	struct timespec tick = { 0, 50L * 1000 * 1000 };
	int interrupts = 0, sig;

	memset(&prev, 0, sizeof(prev));
	bench.t0 = phase_t = prev_t = mono_ns();
	next_progress = bench.t0 + bench.o.progress * NS;
	while (!all_flag(true)) {
		sig = sigtimedwait(sigs, NULL, &tick);
		now = mono_ns();
		if (sig == SIGINT || sig == SIGTERM) {
			interrupts++;
			bench_fail("%s: %s", sig == SIGINT ? "SIGINT" : "SIGTERM",
			     interrupts == 1 ? "draining, then the report (again: stop now)"
					     : "stopping");
			if (phase() == PH_MEASURE)
				bench.t_measure_end = now;
			set_phase(interrupts == 1 && phase() < PH_DRAIN ? PH_DRAIN : PH_DONE);
			phase_t = now;
		}
		bench_sum_totals(&t, false);
		switch (phase()) {
		case PH_CONNECT:
			if (t.ever_live + t.dead >= bench.o.conns ||
			    now - phase_t >= bench.o.connect_timeout * NS) {
				phase_t = now;
				if (bench.o.warmup) {
					set_phase(PH_WARMUP);
				} else {
					bench.t_measure = now;
					set_phase(PH_MEASURE);
				}
			}
			break;
		case PH_WARMUP:
			if (now - phase_t >= bench.o.warmup * NS) {
				bench.t_measure = phase_t = now;
				set_phase(PH_MEASURE);
			}
			break;
		case PH_MEASURE:
			if (now - bench.t_measure >= bench.o.duration * NS) {
				bench.t_measure_end = phase_t = now;
				set_phase(PH_DRAIN);
			}
			break;
		case PH_DRAIN:
			if (all_flag(false) || now - phase_t >= bench.o.drain_timeout * NS)
				set_phase(PH_DONE);
			break;
		default:
			break;
		}
		if (bench.o.progress && now >= next_progress && phase() != PH_DONE) {
			bench_progress_line(now, &prev, &prev_t);
			next_progress = now + bench.o.progress * NS;
		}
	}
}

int main(int argc, char **argv)
{
	struct totals t;
	struct merged m;
	sigset_t sigs;
	uint64_t measured_ns, connect_ns;
	size_t i;
	int rc, status;

	rc = bench_parse_args(argc, argv);
	if (rc != 0)
		return rc == 1 ? 0 : 2;
	if (bench_parse_sources() != 0 || raise_fd_limit() != 0 || load_identity() != 0)
		return 2;
	check_ports();
	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	/* the threads inherit the mask: the signals wait for sigtimedwait */
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0) {
		bench_fail("cannot block signals");
		return 2;
	}
	status = 2;
	if (setup_workers() != 0)
		goto out;
	set_phase(PH_CONNECT);
	for (i = 0; i < bench.nw; i++) {
		if (pthread_create(&bench.w[i].th, NULL, bench_worker_main, &bench.w[i]) != 0) {
			bench_fail("cannot start thread %zu", i);
			set_phase(PH_DONE);
			break;
		}
		bench.w[i].th_started = true;
	}
	for (i = 0; i < bench.nw; i++)
		if (!bench.w[i].th_started)
			atomic_store(&bench.w[i].st.finished, 1);
	coordinate(&sigs);
	for (i = 0; i < bench.nw; i++)
		if (bench.w[i].th_started)
			(void)pthread_join(bench.w[i].th, NULL);
	bench_sum_totals(&t, false);
	if (bench.t_measure_end == 0)
		bench.t_measure_end = bench.t_measure ? mono_ns() : 0;
	measured_ns = bench.t_measure ? bench.t_measure_end - bench.t_measure : 0;
	/* from the start to the last connection's first synced */
	connect_ns = 0;
	for (i = 0; i < bench.nw; i++) {
		uint64_t l = get(&bench.w[i].st.last_live_ns);

		if (l > bench.t0 && l - bench.t0 > connect_ns)
			connect_ns = l - bench.t0;
	}
	if (bench_merge(&m) != 0) {
		bench_merged_free(&m);
		bench_fail("out of memory");
		goto out;
	}
	status = t.lost || t.ooo || t.unanswered ? 1 :
		 (t.ever_live < bench.o.conns || t.dead || t.not_live_at_end) ? 3 : 0;
	rc = bench.o.json ? bench_report_json(&t, &m, measured_ns, connect_ns, status)
		      : bench_report_text(&t, &m, measured_ns, connect_ns);
	bench_merged_free(&m);
	if (rc != 0) {
		bench_fail("cannot write the report");
		status = 2;
	}
out:
	for (i = 0; bench.w && i < bench.nw; i++)
		bench_worker_free(&bench.w[i]);
	free(bench.w);
	free(bench.conns);
	free(bench.sources);
	srv_tenant_registry_free(&bench.reg);
	return status;
}
