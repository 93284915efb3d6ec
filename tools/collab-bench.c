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
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "collab/client.h"
#include "collab/json.h"
#include "collab/jwt.h"
#include "collab/loop.h"
#include "collab/proto.h"
#include "collab/rand.h"
#include "collab/tls.h"
#include "collab/wsconn.h"
#include "tenant.h"

/* ---- defaults and limits ------------------------------------------------ */

#define DEF_URL             "ws://127.0.0.1:8080"
#define DEF_CONNECTIONS     100u
#define DEF_ROOMS           10u
#define DEF_RATE            100u       /* operations per second, in total */
#define DEF_DURATION_S      10u
#define DEF_WARMUP_S        2u
#define DEF_SIZE            100u       /* comment text bytes */
#define DEF_MAX_CONNECTING  500u
#define DEF_CONNECT_TIMEOUT 60u
#define DEF_DRAIN_TIMEOUT   10u
#define DEF_PROGRESS_S      1u
#define DEF_PER_CHAT        500u       /* --op add: comments per chat */
#define MAX_CONNECTIONS     1000000u
#define MAX_THREADS         64u
#define MAX_SOURCES         65536u
#define MIN_SIZE            64u        /* the longest stamp fits */
#define MAX_SIZE            4096u      /* PROTOCOL.md 4: text limit */
#define TOKEN_TTL_S         3600u
#define TICK_MS             10u        /* a worker's housekeeping period */
#define DRAIN_CHECK_MS      100u
#define CLOSE_WAIT_MS       5000u      /* closing handshakes at the end */
#define FD_RESERVE          64u        /* descriptors besides connections */
#define MAX_CATCH_UP_NS     1000000000u /* a publisher this late skips ahead */
#define PAYLOAD_CAP         512u       /* token claims */
#define STAMP               "cb1 "
#define NCLOSE_KINDS        32u
#define NS                  1000000000u

/* Histogram: values below 2^SUB_BITS exact, then 2^(SUB_BITS-1) buckets per
 * power of two (relative error below 1/512); values up to 2^MAX_BITS ns
 * (73 minutes), larger ones are clamped. */
#define SUB_BITS  10u
#define SUB       (1u << SUB_BITS)
#define HALF      (SUB / 2)
#define MAX_BITS  42u
#define HIST_LEN  (SUB + (MAX_BITS - SUB_BITS) * HALF)

enum phase { PH_CONNECT, PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_DONE };
static const char *const phase_names[] = { "connect", "warmup", "measure",
					    "drain", "done" };
enum op_kind { OP_EDIT, OP_ADD };

static const char usage[] =
	"usage: collab-bench [--url ws://HOST:PORT] --tenant ID\n"
	"                    (--tenants FILE | --token JWT) [options]\n"
	"\n"
	"Load generator on the C client: N connections over M rooms, P of them\n"
	"publishing; reports deliveries per second, delivery latency percentiles\n"
	"(p50 p90 p99 p99.9 max), events lost or out of order (must be 0),\n"
	"reconnects and rejections. Each flag is --flag VALUE or --flag=VALUE.\n"
	"\n"
	"Server and identity:\n"
	"  --url URL            base URL ws[s]://HOST:PORT[/path]; rooms are\n"
	"                       /ws?tenantId=..&urlId=.. under it (default " DEF_URL ")\n"
	"  --tenant ID          the tenant (default: the only tenant of --tenants)\n"
	"  --tenants FILE       tenants.json: sign one token per connection with the\n"
	"                       tenant's secret (user bench-<i>, one user each)\n"
	"  --token JWT          one token for every connection (one user, many tabs)\n"
	"                       Neither: anonymous, only with --publishers 0.\n"
	"  --origin O           Origin header (default: none)\n"
	"  --ca PEM             trust anchors for wss:// (default: the system's)\n"
	"  --room-prefix P      urlId of room r is P<r> (default bench/<random>/room-,\n"
	"                       fresh rooms for every run)\n"
	"\n"
	"Load:\n"
	"  --connections N      connections (default 100)\n"
	"  --rooms M            rooms; connection i joins room i mod M (default 10)\n"
	"  --publishers P       connections 0..P-1 publish (default: M, one per\n"
	"                       room; 0 watches only)\n"
	"  --rate R             operations per second IN TOTAL, spread over the\n"
	"                       publishers: each sends R/P per second, which the\n"
	"                       tenant's opsPerSecond must allow (default 100)\n"
	"  --op edit|add        edit one comment over and over (default), or add\n"
	"                       comments (a new chat every --comments-per-chat)\n"
	"  --comments-per-chat K  (default 500; at most the tenant's maxCommentsPerChat)\n"
	"  --size BYTES         comment text size, 64-4096 (default 100: events of\n"
	"                       about 370 bytes)\n"
	"  --duration S         measured seconds (default 10)\n"
	"  --warmup S           seconds of load before measuring (default 2)\n"
	"  --connect-timeout S  longest connect phase (default 60)\n"
	"  --drain-timeout S    longest wait for the last events (default 10)\n"
	"  --max-connecting K   connections between start and first synced at\n"
	"                       once (default 500)\n"
	"\n"
	"Client side:\n"
	"  --threads T          loops (threads); rooms are dealt to them (default 1)\n"
	"  --sources A,B,...    bind connections to these local addresses in turn\n"
	"                       (each 127.0.0.0/8 address has its own ~28,000\n"
	"                       ephemeral ports per server address)\n"
	"  --source-range A-B   the same for every IPv4 address from A to B\n"
	"  --clock monotonic|realtime  stamp clock: monotonic within one machine\n"
	"                       (default), realtime across machines\n"
	"\n"
	"Output:\n"
	"  --progress S         a progress line on stderr every S seconds (default 1;\n"
	"                       0: none)\n"
	"  --json               the final report as one JSON object on stdout\n"
	"  --help               this text\n"
	"\n"
	"Exit status: 0 nothing lost or out of order, every operation answered,\n"
	"every connection live at the end; 1 events lost or out of order, or\n"
	"operations unanswered; 3 connections never live, closed for good (auth,\n"
	"refusals) or not live at the end; 2 bad usage or set-up failure.\n";

/* ---- histogram ------------------------------------------------------------- */

struct hist {
	uint64_t *counts;   /* HIST_LEN */
	uint64_t n, min, max, sum;
};

static size_t hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < SUB)
		return (size_t)v;
	if (v >= ((uint64_t)1 << MAX_BITS))
		v = ((uint64_t)1 << MAX_BITS) - 1;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - (SUB_BITS - 1);
	return SUB + (size_t)(shift - 1) * HALF + (size_t)((v >> shift) - HALF);
}

/* The highest value that falls in bucket i. */
static uint64_t hist_high(size_t i)
{
	size_t k;
	unsigned shift;

	if (i < SUB)
		return i;
	k = i - SUB;
	shift = (unsigned)(k / HALF) + 1;
	return (((uint64_t)(k % HALF + HALF)) << shift) + ((uint64_t)1 << shift) - 1;
}

static int hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->counts = calloc(HIST_LEN, sizeof(*h->counts));
	h->min = UINT64_MAX;
	return h->counts ? 0 : -1;
}

static void hist_free(struct hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->counts[hist_index(v)]++;
	h->n++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

static void hist_merge(struct hist *into, const struct hist *h)
{
	size_t i;

	for (i = 0; i < HIST_LEN; i++)
		into->counts[i] += h->counts[i];
	into->n += h->n;
	into->sum += h->sum;
	if (h->min < into->min)
		into->min = h->min;
	if (h->max > into->max)
		into->max = h->max;
}

/* The value at percentile pm/1000 (p99.9 is 999): the bucket's highest
 * value, never above the exact max, so p50 <= p90 <= ... <= max. */
static uint64_t hist_pct(const struct hist *h, unsigned pm)
{
	uint64_t rank, seen = 0;
	size_t i;

	if (h->n == 0)
		return 0;
	rank = (h->n * pm + 999) / 1000;
	if (rank == 0)
		rank = 1;
	for (i = 0; i < HIST_LEN; i++) {
		seen += h->counts[i];
		if (seen >= rank)
			return hist_high(i) < h->max ? hist_high(i) : h->max;
	}
	return h->max;
}

/* ---- options ---------------------------------------------------------------- */

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

/* ---- the run's shared state ------------------------------------------------ */

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

static struct {
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
} G;

/* ---- small helpers ---------------------------------------------------------- */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	(void)fputs("collab-bench: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	(void)clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static void inc(_Atomic uint64_t *a, uint64_t d)
{
	atomic_fetch_add_explicit(a, d, memory_order_relaxed);
}

static uint64_t get(_Atomic uint64_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

static int phase(void)
{
	return atomic_load_explicit(&G.phase, memory_order_acquire);
}

/* Decimal digits only, into *out within [min, max]. */
static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 19)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Parses digits at *p up to a space: the stamp's fields. */
static bool stamp_field(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	size_t n = 0;

	while (s < end && *s >= '0' && *s <= '9' && n < 20) {
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
		n++;
	}
	if (n == 0 || s >= end || *s != ' ')
		return false;
	*p = s + 1;
	*out = v;
	return true;
}

/* The stamp of a text: send time and measured flag. */
static bool parse_stamp(struct collab_str t, uint64_t *sent, bool *measured)
{
	const char *p = t.p, *end = t.p + t.len;
	uint64_t m, pub, n;

	if (t.len < sizeof(STAMP) - 1 || memcmp(p, STAMP, sizeof(STAMP) - 1) != 0)
		return false;
	p += sizeof(STAMP) - 1;
	if (!stamp_field(&p, end, sent) || !stamp_field(&p, end, &m) ||
	    !stamp_field(&p, end, &pub) || !stamp_field(&p, end, &n) || m > 1)
		return false;
	*measured = m == 1;
	return true;
}

/* The comment text an event carries (empty when none). */
static struct collab_str event_text(const struct collab_proto_server_msg *m,
				    const struct collab_proto_event_view *ev)
{
	struct collab_proto_comment cm;
	struct collab_str none = { "", 0 };

	if (ev->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		if (m && ev->chat.first_comment != COLLAB_PROTO_ITER_END &&
		    collab_proto_msg_comment(m, ev->chat.first_comment, &cm) == 0)
			return cm.text;
	} else if (ev->type == COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT) {
		if (ev->action == COLLAB_PROTO_ACTION_ADD_COMMENT)
			return ev->comment.text;
		if (ev->action == COLLAB_PROTO_ACTION_EDIT_COMMENT)
			return ev->text;
	}
	return none;
}

/* ---- per-connection bookkeeping ---------------------------------------------- */

static void note_close(struct worker *w, const struct collab_client_close_info *ci)
{
	size_t i;

	if (ci == NULL)
		return;
	for (i = 0; i < NCLOSE_KINDS; i++) {
		struct close_kind *k = &w->closes[i];

		if (k->n == 0) {
			k->code = ci->code;
			k->http = ci->http_status;
			k->err = ci->err;
		}
		if (k->code == ci->code && k->http == ci->http_status &&
		    k->err == ci->err) {
			k->n++;
			return;
		}
	}
	w->closes_other++;
}

static void note_op_err(struct worker *w, int rc)
{
	size_t i;

	inc(&w->st.op_fail, 1);
	for (i = 0; i < sizeof(w->op_errs) / sizeof(w->op_errs[0]); i++) {
		if (w->op_err_n[i] == 0)
			w->op_errs[i] = rc;
		if (w->op_errs[i] == rc) {
			w->op_err_n[i]++;
			return;
		}
	}
}

/* A seq seen by x (an event or its own ack): continuity per connection. */
static void see_seq(struct conn *x, uint64_t seq)
{
	struct worker *w = x->w;

	if (!x->synced_once)
		return;
	if (seq <= x->last_seq) {
		inc(&w->st.ooo, 1);
		return;
	}
	if (seq != x->last_seq + 1)
		inc(&w->st.lost, seq - x->last_seq - 1);
	x->last_seq = seq;
	if (seq > x->rm->max_seq)
		x->rm->max_seq = seq;
}

/* Latency of an event sent at sent: into h when measured (h may be NULL),
 * and into the progress interval. */
static void record_latency(struct worker *w, struct hist *h, uint64_t sent, bool measured)
{
	uint64_t now = clock_ns(G.o.clock), d = now > sent ? now - sent : 0;
	uint64_t cur;

	if (measured && h)
		hist_add(h, d);
	if (h != &w->lat)
		return;
	inc(&w->st.iv_sum, d);
	inc(&w->st.iv_n, 1);
	cur = atomic_load_explicit(&w->st.iv_max, memory_order_relaxed);
	while (d > cur && !atomic_compare_exchange_weak_explicit(
				  &w->st.iv_max, &cur, d, memory_order_relaxed,
				  memory_order_relaxed))
		;
}

/* Writes the stamped text of x's next operation into buf (G.o.size). */
static void make_text(struct conn *x, char *buf, bool measured)
{
	int n = snprintf(buf, G.o.size + 1, STAMP "%llu %d %u %llu ",
			 (unsigned long long)clock_ns(G.o.clock), measured ? 1 : 0,
			 x->idx, (unsigned long long)x->n_ops);
	size_t len = n > 0 ? (size_t)n : 0;

	if (len < G.o.size)
		memset(buf + len, 'x', G.o.size - len);
}

/* A new chat; its ids become the target of the next operations. Never
 * measured: an ack carries no message to read a new chat's text from, so
 * only edits and adds are, and every measured operation has one ack and
 * one delivery per other connection of its room. */
static int publish_create(struct conn *x)
{
	struct collab_client_ids ids;
	char text[MAX_SIZE + 1];
	int rc;

	make_text(x, text, false);
	rc = collab_client_create_chat(&x->c, "{}", 2, text, G.o.size, &ids);
	if (rc != 0)
		return rc;
	memcpy(x->chat_id, ids.chat_id, sizeof(x->chat_id));
	memcpy(x->comment_id, ids.comment_id, sizeof(x->comment_id));
	x->in_chat = 1;
	return 0;
}

static void publish(struct conn *x, bool measured)
{
	struct worker *w = x->w;
	struct collab_str chat = { x->chat_id, COLLAB_UUID_STR_LEN };
	struct collab_str cm = { x->comment_id, COLLAB_UUID_STR_LEN };
	char text[MAX_SIZE + 1];
	int rc;

	x->n_ops++;
	if (x->chat_id[0] == 0 ||
	    (G.o.op == OP_ADD && x->in_chat >= G.o.per_chat)) {
		rc = publish_create(x);
		measured = false;
	} else {
		make_text(x, text, measured);
		if (G.o.op == OP_EDIT) {
			rc = collab_client_edit_comment(&x->c, chat, cm, text, G.o.size, NULL);
		} else {
			rc = collab_client_add_comment(&x->c, chat, text, G.o.size, NULL);
			x->in_chat++;
		}
	}
	if (rc != 0) {
		note_op_err(w, rc);
		return;
	}
	inc(&w->st.published_all, 1);
	if (measured)
		inc(&w->st.published, 1);
}

/* A publisher's timer: every operation due (catching up at most
 * MAX_CATCH_UP_NS), then the next deadline. */
static void on_pub(struct collab_loop *loop, struct collab_timer *t)
{
	struct conn *x = t->ctx;
	struct worker *w = x->w;
	uint64_t now = mono_ns(), ms;
	int ph = phase();

	if (ph != PH_WARMUP && ph != PH_MEASURE)
		return;
	if (x->dead)
		return;
	if (now > x->due_ns + MAX_CATCH_UP_NS) {
		inc(&w->st.skipped, (now - x->due_ns) / G.interval_ns);
		x->due_ns = now;
	}
	while (x->due_ns <= now) {
		if (ph == PH_MEASURE)
			hist_add(&w->lag, now - x->due_ns);
		publish(x, ph == PH_MEASURE);
		x->due_ns += G.interval_ns;
	}
	ms = (x->due_ns - now + 999999) / 1000000;
	(void)collab_loop_timer_arm(loop, t, ms);
}

/* ---- client callbacks ------------------------------------------------------------ */

static void on_state(struct collab_client *c, enum collab_client_state st,
		     const struct collab_client_close_info *ci)
{
	struct conn *x = collab_client_ctx(c);
	struct worker *w = x->w;
	uint64_t now;

	switch (st) {
	case COLLAB_CLIENT_LIVE:
		if (!x->live) {
			x->live = true;
			inc(&w->st.live, 1);
		}
		if (!x->ever_live) {
			x->ever_live = true;
			inc(&w->st.ever_live, 1);
			w->connecting--;
			now = mono_ns();
			hist_add(&w->conn_ms, now - x->start_ns);
			atomic_store_explicit(&w->st.last_live_ns, now, memory_order_relaxed);
			if (x->publisher && !w->stopping) {
				int rc = publish_create(x);

				if (rc != 0)
					note_op_err(w, rc);
			}
		}
		break;
	case COLLAB_CLIENT_RECONNECTING:
		if (w->stopping)
			break;
		note_close(w, ci);
		if (x->live) {
			x->live = false;
			atomic_fetch_sub_explicit(&w->st.live, 1, memory_order_relaxed);
			inc(&w->st.reconnects, 1);
		} else if (!x->ever_live) {
			inc(&w->st.connect_retries, 1);
		}
		break;
	case COLLAB_CLIENT_AUTH_FAILED:
	case COLLAB_CLIENT_CLOSED:
		if (x->live) {
			x->live = false;
			atomic_fetch_sub_explicit(&w->st.live, 1, memory_order_relaxed);
		}
		if (w->stopping)
			break;
		note_close(w, ci);
		if (!x->dead) {
			x->dead = true;
			inc(&w->st.dead, 1);
			if (!x->ever_live)
				w->connecting--;
		}
		break;
	default:
		break;
	}
}

static void on_token(struct collab_client *c)
{
	struct conn *x = collab_client_ctx(c);
	struct worker *w = x->w;
	struct collab_json_writer jw;
	char sub[32];
	size_t plen = 0, tlen = 0;
	int n, rc;

	if (G.tenant == NULL)
		return;
	n = snprintf(sub, sizeof(sub), "bench-%u", x->idx);
	collab_json_writer_init(&jw, w->payload, sizeof(w->payload));
	collab_json_write_obj_begin(&jw);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("sub"));
	collab_json_write_str(&jw, sub, (size_t)n);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("tenantId"));
	collab_json_write_str(&jw, G.tenant->id, G.tenant->id_len);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("exp"));
	collab_json_write_u64(&jw, collab_loop_wall_ms() / 1000 + TOKEN_TTL_S);
	collab_json_write_obj_end(&jw);
	rc = collab_json_writer_finish(&jw, &plen);
	if (rc == 0)
		rc = collab_jwt_sign(NULL, G.tenant->secret, G.tenant->secret_len,
				     w->payload, plen, w->nodes, w->n_nodes,
				     w->tok, w->tok_cap, &tlen);
	if (rc == 0)
		rc = collab_client_set_token(c, w->tok, tlen);
	if (rc != 0)
		note_op_err(w, rc);
}

static void on_welcome(struct collab_client *c, const struct collab_proto_welcome_view *wv)
{
	struct conn *x = collab_client_ctx(c);

	if (x->synced_once && wv->resync == COLLAB_PROTO_RESYNC_SNAPSHOT)
		inc(&x->w->st.snapshot_resyncs, 1);
}

static void on_synced(struct collab_client *c, uint64_t seq)
{
	struct conn *x = collab_client_ctx(c);
	struct worker *w = x->w;

	if (!x->synced_once) {
		x->synced_once = true;
	} else if (seq < x->last_seq) {
		inc(&w->st.ooo, 1);  /* the room's history went back */
	} else if (seq > x->last_seq) {
		inc(&w->st.lost, seq - x->last_seq);  /* skipped by a snapshot */
	}
	x->last_seq = seq;
	if (!x->rm->seen || seq > x->rm->max_seq)
		x->rm->max_seq = seq;
	x->rm->seen = true;
}

static void on_event(struct collab_client *c, const struct collab_proto_server_msg *m,
		     const struct collab_proto_event_view *ev)
{
	struct conn *x = collab_client_ctx(c);
	struct worker *w = x->w;
	uint64_t sent;
	bool measured;

	see_seq(x, ev->seq);
	inc(&w->st.deliveries_all, 1);
	if (!parse_stamp(event_text(m, ev), &sent, &measured)) {
		inc(&w->st.foreign, 1);  /* not one of ours */
		return;
	}
	record_latency(w, &w->lat, sent, measured);
	if (measured)
		inc(&w->st.deliveries, 1);
}

static void on_ack(struct collab_client *c, struct collab_str bid,
		   const struct collab_proto_event_view *ev)
{
	struct conn *x = collab_client_ctx(c);
	struct worker *w = x->w;
	uint64_t sent;
	bool measured;

	(void)bid;
	if (ev->seq > x->last_seq)
		see_seq(x, ev->seq);
	if (parse_stamp(event_text(NULL, ev), &sent, &measured) && measured) {
		record_latency(w, &w->ack, sent, true);
		inc(&w->st.acked, 1);
	}
}

static void on_reject(struct collab_client *c, struct collab_str bid,
		      enum collab_proto_err code, struct collab_str message)
{
	struct conn *x = collab_client_ctx(c);

	(void)bid;
	(void)message;
	inc(&x->w->st.rejected, 1);
	x->w->rejections[(unsigned)code < 8 ? (unsigned)code : 0]++;
}

static void on_error(struct collab_client *c, const struct collab_proto_error_view *e)
{
	struct conn *x = collab_client_ctx(c);

	(void)e;
	inc(&x->w->st.errors, 1);
}

/* ---- the worker --------------------------------------------------------------------- */

static void start_conn(struct worker *w, struct conn *x)
{
	struct collab_client_config cfg;
	struct collab_client_handlers hd;
	char url_id[160], url[COLLAB_CLIENT_MAX_URL];
	size_t ulen = 0;
	int n, rc;

	collab_client_config_init(&cfg);
	cfg.keep_room = false;          /* the local copy costs; nothing reads it */
	cfg.ops_per_second = 0;         /* our own schedule paces */
	cfg.max_own_ids = x->publisher ? 64 : 1;
	cfg.rng = &w->rng;
	cfg.tls = w->has_tls ? &w->tls : NULL;
	if (G.o.origin)
		cfg.origin = (struct collab_str){ G.o.origin, strlen(G.o.origin) };
	memset(&hd, 0, sizeof(hd));
	hd.on_state = on_state;
	hd.on_token = on_token;
	hd.on_welcome = on_welcome;
	hd.on_synced = on_synced;
	hd.on_event = on_event;
	hd.on_ack = on_ack;
	hd.on_reject = on_reject;
	hd.on_error = on_error;
	hd.ctx = x;
	n = snprintf(url_id, sizeof(url_id), "%s%u", G.prefix, x->rm->id);
	rc = n > 0 && (size_t)n < sizeof(url_id) ? 0 : COLLAB_ELIMIT;
	if (rc == 0)
		rc = collab_client_build_url((struct collab_str){ G.o.url, strlen(G.o.url) },
					     (struct collab_str){ G.tenant_id, strlen(G.tenant_id) },
					     (struct collab_str){ url_id, (size_t)n },
					     url, sizeof(url), &ulen);
	if (rc == 0)
		rc = collab_client_init(&x->c, &w->ws, &cfg, &hd);
	if (rc == 0) {
		x->inited = true;
		if (G.o.token)
			rc = collab_client_set_token(&x->c, G.o.token, strlen(G.o.token));
	}
	x->start_ns = mono_ns();
	w->connecting++;
	if (rc == 0)
		rc = collab_client_start(&x->c, url, ulen);
	if (rc != 0) {
		note_op_err(w, rc);
		x->dead = true;
		inc(&w->st.dead, 1);
		w->connecting--;
	}
}

/* Operations still unanswered, and whether every live connection holds
 * its room's highest seq. */
static bool drained(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->n_conns; i++) {
		struct conn *x = w->conns[i];

		if (!x->inited || x->dead)
			continue;
		if (collab_client_pending(&x->c) != 0 || !x->live ||
		    x->last_seq < x->rm->max_seq)
			return false;
	}
	return true;
}

/* At the end: each connection's shortfall against its room, operations
 * never answered, connections not live. */
static void finish_counts(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->n_conns; i++) {
		struct conn *x = w->conns[i];

		if (x->synced_once && x->last_seq < x->rm->max_seq)
			inc(&w->st.lost, x->rm->max_seq - x->last_seq);
		if (x->inited)
			inc(&w->st.unanswered, collab_client_pending(&x->c));
		if (!x->live)
			inc(&w->st.not_live_at_end, 1);
	}
}

static bool all_closed(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->n_conns; i++) {
		struct conn *x = w->conns[i];
		enum collab_client_state s;

		if (!x->inited)
			continue;
		s = collab_client_state(&x->c);
		if (s != COLLAB_CLIENT_CLOSED && s != COLLAB_CLIENT_AUTH_FAILED &&
		    s != COLLAB_CLIENT_IDLE)
			return false;
	}
	return true;
}

static void on_tick(struct collab_loop *loop, struct collab_timer *t)
{
	struct worker *w = t->ctx;
	int ph = phase();
	uint64_t now = collab_loop_now(loop);
	size_t i;

	while (w->next_start < w->n_conns && w->connecting < w->max_connecting &&
	       ph < PH_DRAIN)
		start_conn(w, w->conns[w->next_start++]);
	if (ph != w->phase_seen) {
		if ((ph == PH_WARMUP || ph == PH_MEASURE) && w->phase_seen < PH_WARMUP &&
		    G.o.rate) {
			uint64_t t0 = mono_ns();

			for (i = 0; i < w->n_conns; i++) {
				struct conn *x = w->conns[i];
				uint32_t r = 0;

				if (!x->publisher)
					continue;
				(void)collab_rng_below(&w->rng, UINT32_MAX, &r);
				/* a random phase within one interval */
				x->due_ns = t0 + (uint64_t)((double)G.interval_ns *
							     ((double)r / (double)UINT32_MAX));
				collab_loop_timer_init(&x->pub, on_pub, x);
				(void)collab_loop_timer_arm(loop, &x->pub,
							    (x->due_ns - t0) / 1000000);
			}
		}
		if (ph == PH_DONE) {
			finish_counts(w);
			w->stopping = true;
			w->close_started = now;
			for (i = 0; i < w->n_conns; i++) {
				if (w->conns[i]->inited)
					collab_client_close(&w->conns[i]->c);
				collab_loop_timer_cancel(loop, &w->conns[i]->pub);
			}
		}
		w->phase_seen = ph;
	}
	if (ph == PH_DRAIN && now - w->last_drain_check >= DRAIN_CHECK_MS) {
		w->last_drain_check = now;
		atomic_store_explicit(&w->st.drained, drained(w), memory_order_relaxed);
	}
	if (ph == PH_DONE && (all_closed(w) || now - w->close_started > CLOSE_WAIT_MS)) {
		collab_loop_stop(loop);
		return;
	}
	(void)collab_loop_timer_arm(loop, t, TICK_MS);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	size_t i;

	w->phase_seen = PH_CONNECT;
	collab_loop_timer_init(&w->tick, on_tick, w);
	if (collab_loop_timer_arm(&w->loop, &w->tick, 0) == 0 &&
	    collab_loop_run(&w->loop) != 0)
		fail("worker %u: the event loop failed", w->id);
	for (i = 0; i < w->n_conns; i++) {
		collab_loop_timer_cancel(&w->loop, &w->conns[i]->pub);
		if (w->conns[i]->inited)
			collab_client_free(&w->conns[i]->c);
	}
	collab_loop_timer_cancel(&w->loop, &w->tick);
	atomic_store_explicit(&w->st.finished, 1, memory_order_release);
	return NULL;
}

static int worker_setup(struct worker *w, uint32_t id)
{
	struct collab_wsctx_config wc;
	int rc;

	w->id = id;
	if (hist_init(&w->lat) || hist_init(&w->ack) || hist_init(&w->conn_ms) ||
	    hist_init(&w->lag))
		return COLLAB_ENOMEM;
	w->n_nodes = COLLAB_JSON_NODES_FOR(PAYLOAD_CAP);
	w->nodes = calloc(w->n_nodes, sizeof(*w->nodes));
	w->tok_cap = collab_jwt_signed_len(PAYLOAD_CAP);
	w->tok = malloc(w->tok_cap);
	if (w->nodes == NULL || w->tok == NULL)
		return COLLAB_ENOMEM;
	rc = collab_rng_init(&w->rng);
	if (rc != 0)
		return rc;
	rc = collab_loop_init(&w->loop, NULL);
	if (rc != 0)
		return rc;
	w->loop_ok = true;
	collab_wsctx_config_init(&wc);
	wc.client_bind = G.sources;
	wc.n_client_bind = G.n_sources;
	wc.rng = &w->rng;
	rc = collab_wsctx_init(&w->ws, &w->loop, &wc);
	if (rc != 0)
		return rc;
	w->ws_ok = true;
	if (strncmp(G.o.url, "wss://", 6) == 0) {
		rc = collab_tls_client_load(&w->tls, NULL, G.o.ca, NULL);
		if (rc != 0) {
			fail("trust anchors: %s", collab_tls_client_why(&w->tls));
			return rc;
		}
		w->has_tls = true;
	}
	return 0;
}

static void worker_free(struct worker *w)
{
	if (w->ws_ok)
		collab_wsctx_free(&w->ws);
	if (w->loop_ok)
		collab_loop_free(&w->loop);
	if (w->has_tls)
		collab_tls_client_free(&w->tls);
	collab_rng_wipe(&w->rng);
	hist_free(&w->lat);
	hist_free(&w->ack);
	hist_free(&w->conn_ms);
	hist_free(&w->lag);
	free(w->nodes);
	free(w->tok);
	free(w->conns);
	free(w->rooms);
}

/* ---- command line ------------------------------------------------------------------ */

enum okind { K_STR, K_NUM, K_FLAG, K_OP, K_CLOCK };

struct optdef {
	const char *name;
	enum okind kind;
	void *dst;
	uint64_t min, max;
};

static const struct optdef optdefs[] = {
	{ "--url", K_STR, &G.o.url, 0, 0 },
	{ "--tenant", K_STR, &G.o.tenant, 0, 0 },
	{ "--tenants", K_STR, &G.o.tenants, 0, 0 },
	{ "--token", K_STR, &G.o.token, 0, 0 },
	{ "--origin", K_STR, &G.o.origin, 0, 0 },
	{ "--ca", K_STR, &G.o.ca, 0, 0 },
	{ "--room-prefix", K_STR, &G.o.prefix, 0, 0 },
	{ "--sources", K_STR, &G.o.sources, 0, 0 },
	{ "--source-range", K_STR, &G.o.range, 0, 0 },
	{ "--connections", K_NUM, &G.o.conns, 1, MAX_CONNECTIONS },
	{ "--rooms", K_NUM, &G.o.rooms, 1, MAX_CONNECTIONS },
	{ "--publishers", K_NUM, &G.o.pubs, 0, MAX_CONNECTIONS },
	{ "--rate", K_NUM, &G.o.rate, 0, 100000000 },
	{ "--size", K_NUM, &G.o.size, MIN_SIZE, MAX_SIZE },
	{ "--duration", K_NUM, &G.o.duration, 1, 86400 },
	{ "--warmup", K_NUM, &G.o.warmup, 0, 86400 },
	{ "--comments-per-chat", K_NUM, &G.o.per_chat, 1, 1000000000 },
	{ "--connect-timeout", K_NUM, &G.o.connect_timeout, 1, 86400 },
	{ "--drain-timeout", K_NUM, &G.o.drain_timeout, 1, 86400 },
	{ "--max-connecting", K_NUM, &G.o.max_connecting, 1, MAX_CONNECTIONS },
	{ "--threads", K_NUM, &G.o.threads, 1, MAX_THREADS },
	{ "--progress", K_NUM, &G.o.progress, 0, 86400 },
	{ "--op", K_OP, &G.o.op, 0, 0 },
	{ "--clock", K_CLOCK, &G.o.clock, 0, 0 },
	{ "--json", K_FLAG, &G.o.json, 0, 0 },
};
#define N_OPTS (sizeof(optdefs) / sizeof(optdefs[0]))

/* Returns 0, 1 (--help printed) or 2 (bad usage, said on stderr). */
static int parse_args(int argc, char **argv)
{
	bool seen[N_OPTS];
	int i;

	memset(seen, 0, sizeof(seen));
	G.o.url = DEF_URL;
	G.o.conns = DEF_CONNECTIONS;
	G.o.rooms = DEF_ROOMS;
	G.o.rate = DEF_RATE;
	G.o.size = DEF_SIZE;
	G.o.duration = DEF_DURATION_S;
	G.o.warmup = DEF_WARMUP_S;
	G.o.per_chat = DEF_PER_CHAT;
	G.o.connect_timeout = DEF_CONNECT_TIMEOUT;
	G.o.drain_timeout = DEF_DRAIN_TIMEOUT;
	G.o.max_connecting = DEF_MAX_CONNECTING;
	G.o.threads = 1;
	G.o.progress = DEF_PROGRESS_S;
	G.o.op = OP_EDIT;
	G.o.clock = CLOCK_MONOTONIC;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *eq;
		size_t k, nlen;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			(void)fputs(usage, stdout);
			return 1;
		}
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (k = 0; k < N_OPTS; k++)
			if (strlen(optdefs[k].name) == nlen &&
			    memcmp(optdefs[k].name, a, nlen) == 0)
				break;
		if (k == N_OPTS) {
			fail("unknown argument \"%s\" (see --help)", a);
			return 2;
		}
		if (seen[k]) {
			fail("%s given twice", optdefs[k].name);
			return 2;
		}
		seen[k] = true;
		if (optdefs[k].kind == K_FLAG) {
			if (eq) {
				fail("%s takes no value", optdefs[k].name);
				return 2;
			}
			*(bool *)optdefs[k].dst = true;
			continue;
		}
		if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		if (v == NULL) {
			fail("%s needs a value", optdefs[k].name);
			return 2;
		}
		switch (optdefs[k].kind) {
		case K_STR:
			if (*v == 0) {
				fail("%s needs a value", optdefs[k].name);
				return 2;
			}
			*(const char **)optdefs[k].dst = v;
			break;
		case K_NUM:
			if (!parse_u64(v, optdefs[k].min, optdefs[k].max,
				       (uint64_t *)optdefs[k].dst)) {
				fail("%s must be a whole number from %llu to %llu, not \"%s\"",
				     optdefs[k].name, (unsigned long long)optdefs[k].min,
				     (unsigned long long)optdefs[k].max, v);
				return 2;
			}
			if (optdefs[k].dst == &G.o.pubs)
				G.o.has_pubs = true;
			break;
		case K_OP:
			if (strcmp(v, "edit") == 0) {
				G.o.op = OP_EDIT;
			} else if (strcmp(v, "add") == 0) {
				G.o.op = OP_ADD;
			} else {
				fail("--op is edit or add, not \"%s\"", v);
				return 2;
			}
			break;
		case K_CLOCK:
			if (strcmp(v, "monotonic") == 0) {
				G.o.clock = CLOCK_MONOTONIC;
			} else if (strcmp(v, "realtime") == 0) {
				G.o.clock = CLOCK_REALTIME;
			} else {
				fail("--clock is monotonic or realtime, not \"%s\"", v);
				return 2;
			}
			break;
		default:
			break;
		}
	}
	if (!G.o.has_pubs)
		G.o.pubs = G.o.rooms < G.o.conns ? G.o.rooms : G.o.conns;
	if (G.o.rooms > G.o.conns) {
		fail("--rooms (%llu) cannot exceed --connections (%llu)",
		     (unsigned long long)G.o.rooms, (unsigned long long)G.o.conns);
		return 2;
	}
	if (G.o.pubs > G.o.conns) {
		fail("--publishers (%llu) cannot exceed --connections (%llu)",
		     (unsigned long long)G.o.pubs, (unsigned long long)G.o.conns);
		return 2;
	}
	if (G.o.tenants && G.o.token) {
		fail("--tenants and --token exclude each other");
		return 2;
	}
	if (G.o.pubs && G.o.tenants == NULL && G.o.token == NULL) {
		fail("publishing needs a token: --tenants FILE or --token JWT (or --publishers 0)");
		return 2;
	}
	return 0;
}

/* One address "A" (IPv4 or IPv6) appended to G.sources. */
static int add_source(const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct sockaddr_storage *ss;

	if (G.n_sources >= MAX_SOURCES) {
		fail("more than %u source addresses", MAX_SOURCES);
		return -1;
	}
	if (len == 0 || len >= sizeof(buf)) {
		fail("bad source address \"%.*s\"", (int)len, s);
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = 0;
	ss = &G.sources[G.n_sources];
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, buf, &((struct sockaddr_in *)(void *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
	} else if (inet_pton(AF_INET6, buf,
			     &((struct sockaddr_in6 *)(void *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
	} else {
		fail("bad source address \"%s\"", buf);
		return -1;
	}
	G.n_sources++;
	return 0;
}

static int parse_sources(void)
{
	const char *p, *q;

	if (G.o.sources == NULL && G.o.range == NULL)
		return 0;
	G.sources = calloc(MAX_SOURCES, sizeof(*G.sources));
	if (G.sources == NULL) {
		fail("out of memory");
		return -1;
	}
	for (p = G.o.sources; p && *p; p = *q ? q + 1 : q) {
		q = strchr(p, ',');
		if (q == NULL)
			q = p + strlen(p);
		if (add_source(p, (size_t)(q - p)) != 0)
			return -1;
	}
	if (G.o.range) {
		char a[INET_ADDRSTRLEN + 1], b[INET_ADDRSTRLEN + 1];
		const char *dash = strchr(G.o.range, '-');
		struct in_addr ia, ib;
		uint32_t lo, hi, v;
		size_t la;

		la = dash ? (size_t)(dash - G.o.range) : 0;
		if (dash == NULL || la >= sizeof(a) || strlen(dash + 1) >= sizeof(b)) {
			fail("--source-range is A-B (IPv4), not \"%s\"", G.o.range);
			return -1;
		}
		memcpy(a, G.o.range, la);
		a[la] = 0;
		memcpy(b, dash + 1, strlen(dash + 1) + 1);
		if (inet_pton(AF_INET, a, &ia) != 1 || inet_pton(AF_INET, b, &ib) != 1 ||
		    ntohl(ia.s_addr) > ntohl(ib.s_addr)) {
			fail("--source-range is A-B with IPv4 addresses A <= B, not \"%s\"",
			     G.o.range);
			return -1;
		}
		lo = ntohl(ia.s_addr);
		hi = ntohl(ib.s_addr);
		for (v = lo;; v++) {
			struct sockaddr_in *s4;

			if (G.n_sources >= MAX_SOURCES) {
				fail("more than %u source addresses", MAX_SOURCES);
				return -1;
			}
			s4 = (struct sockaddr_in *)(void *)&G.sources[G.n_sources++];
			s4->sin_family = AF_INET;
			s4->sin_addr.s_addr = htonl(v);
			if (v == hi)
				break;
		}
	}
	return 0;
}

/* Raises the soft descriptor limit to the hard one, and checks that the
 * connections fit. */
static int raise_fd_limit(void)
{
	struct rlimit rl;
	uint64_t need = G.o.conns + FD_RESERVE + 4 * G.o.threads;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		fail("getrlimit: %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && (uint64_t)rl.rlim_cur < need) {
		fail("%llu connections need %llu descriptors; the limit is %llu "
		     "(ulimit -n; run several processes for more)",
		     (unsigned long long)G.o.conns, (unsigned long long)need,
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
	uint64_t per, srcs = G.n_sources ? G.n_sources : 1;

	if (f == NULL)
		return;
	if (fscanf(f, "%u %u", &lo, &hi) == 2 && hi >= lo) {
		per = (uint64_t)hi - lo + 1;
		if (G.o.conns > per * srcs)
			fail("warning: %llu connections but %llu ephemeral ports per source "
			     "address and %llu source(s): add --sources or --source-range",
			     (unsigned long long)G.o.conns, (unsigned long long)per,
			     (unsigned long long)srcs);
	}
	(void)fclose(f);
}

static int load_identity(void)
{
	char msg[SRV_TENANT_MSG_CAP + 4096];
	int rc;

	if (G.o.tenants) {
		rc = srv_tenant_registry_load(&G.reg, NULL, G.o.tenants, msg, sizeof(msg));
		if (rc != 0) {
			fail("%s", msg);
			return -1;
		}
		if (G.o.tenant == NULL && G.reg.n == 1)
			G.o.tenant = G.reg.tenants[0].id;
		if (G.o.tenant == NULL) {
			fail("--tenant is required: %s has %zu tenants", G.o.tenants, G.reg.n);
			return -1;
		}
		G.tenant = srv_tenant_find(&G.reg, G.o.tenant, strlen(G.o.tenant));
		if (G.tenant == NULL) {
			fail("unknown tenant \"%s\" in %s", G.o.tenant, G.o.tenants);
			return -1;
		}
		if (G.o.pubs && G.o.rate &&
		    (G.o.rate + G.o.pubs - 1) / G.o.pubs > G.tenant->ops_per_second)
			fail("warning: each publisher sends up to %llu ops/s but tenant \"%s\" "
			     "allows %llu (opsPerSecond): expect rate-limited rejections",
			     (unsigned long long)((G.o.rate + G.o.pubs - 1) / G.o.pubs),
			     G.o.tenant, (unsigned long long)G.tenant->ops_per_second);
	}
	if (G.o.tenant == NULL) {
		fail("--tenant is required (see --help)");
		return -1;
	}
	G.tenant_id = G.o.tenant;
	return 0;
}

/* ---- set-up ------------------------------------------------------------------------ */

static int setup_workers(void)
{
	const size_t rooms = G.o.rooms;
	size_t i, nw = G.o.threads < rooms ? G.o.threads : rooms;
	struct collab_rng seed;
	uint32_t run = 0;

	if (nw == 0 || rooms == 0)
		return -1;  /* parse_args() keeps both >= 1 */

	if (G.o.prefix) {
		if (strlen(G.o.prefix) >= sizeof(G.prefix)) {
			fail("--room-prefix is longer than %zu bytes", sizeof(G.prefix) - 1);
			return -1;
		}
		memcpy(G.prefix, G.o.prefix, strlen(G.o.prefix) + 1);
	} else {
		if (collab_rng_init(&seed) != 0 || collab_rng_u32(&seed, &run) != 0) {
			fail("no randomness from the kernel");
			return -1;
		}
		collab_rng_wipe(&seed);
		(void)snprintf(G.prefix, sizeof(G.prefix), "bench/%08x/room-", run);
	}
	G.nw = nw;
	G.w = calloc(nw, sizeof(*G.w));
	G.conns = calloc(G.o.conns, sizeof(*G.conns));
	if (G.w == NULL || G.conns == NULL) {
		fail("out of memory");
		return -1;
	}
	for (i = 0; i < nw; i++) {
		struct worker *w = &G.w[i];
		size_t nrooms = (G.o.rooms - i + nw - 1) / nw;
		size_t nconns = 0, r;
		int rc;

		rc = worker_setup(w, (uint32_t)i);
		if (rc != 0) {
			fail("cannot set up thread %zu: %s", i, collab_strerror(rc));
			return -1;
		}
		/* rooms i, i + nw, i + 2nw, ...; their connections */
		for (r = i; r < G.o.rooms; r += nw)
			nconns += (G.o.conns - r + G.o.rooms - 1) / G.o.rooms;
		w->rooms = calloc(nrooms, sizeof(*w->rooms));
		w->conns = calloc(nconns ? nconns : 1, sizeof(struct conn *));
		if (w->rooms == NULL || w->conns == NULL) {
			fail("out of memory");
			return -1;
		}
		w->n_rooms = nrooms;
		for (r = 0; r < nrooms; r++)
			w->rooms[r].id = (uint32_t)(i + r * nw);
		w->max_connecting = (G.o.max_connecting + nw - 1) / nw;
	}
	for (i = 0; i < G.o.conns; i++) {
		struct conn *x = &G.conns[i];
		size_t room = i % rooms;
		struct worker *w = &G.w[room % nw];

		x->w = w;
		x->idx = (uint32_t)i;
		x->rm = &w->rooms[room / nw];
		x->publisher = i < G.o.pubs;
		w->conns[w->n_conns++] = x;
	}
	if (G.o.pubs && G.o.rate)
		G.interval_ns = (uint64_t)((double)NS * (double)G.o.pubs / (double)G.o.rate);
	if (G.interval_ns == 0)
		G.interval_ns = 1;
	return 0;
}

/* ---- totals and reports ------------------------------------------------------------- */

struct totals {
	uint64_t live, ever_live, dead, reconnects, connect_retries;
	uint64_t published, published_all, acked, rejected;
	uint64_t deliveries, deliveries_all, lost, ooo, foreign;
	uint64_t op_fail, errors, snapshot_resyncs, skipped;
	uint64_t unanswered, not_live_at_end;
	uint64_t iv_sum, iv_n, iv_max;
};

static void sum_totals(struct totals *t, bool take_interval)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < G.nw; i++) {
		struct live_stats *s = &G.w[i].st;
		uint64_t m;

		t->live += get(&s->live);
		t->ever_live += get(&s->ever_live);
		t->dead += get(&s->dead);
		t->reconnects += get(&s->reconnects);
		t->connect_retries += get(&s->connect_retries);
		t->published += get(&s->published);
		t->published_all += get(&s->published_all);
		t->acked += get(&s->acked);
		t->rejected += get(&s->rejected);
		t->deliveries += get(&s->deliveries);
		t->deliveries_all += get(&s->deliveries_all);
		t->lost += get(&s->lost);
		t->ooo += get(&s->ooo);
		t->foreign += get(&s->foreign);
		t->op_fail += get(&s->op_fail);
		t->errors += get(&s->errors);
		t->snapshot_resyncs += get(&s->snapshot_resyncs);
		t->skipped += get(&s->skipped);
		t->unanswered += get(&s->unanswered);
		t->not_live_at_end += get(&s->not_live_at_end);
		if (take_interval) {
			t->iv_sum += atomic_exchange_explicit(&s->iv_sum, 0, memory_order_relaxed);
			t->iv_n += atomic_exchange_explicit(&s->iv_n, 0, memory_order_relaxed);
			m = atomic_exchange_explicit(&s->iv_max, 0, memory_order_relaxed);
			if (m > t->iv_max)
				t->iv_max = m;
		}
	}
}

/* "S.mmm" of a count of units (ns) scaled down by div, with 3 decimals. */
static const char *fixed3(char *buf, size_t cap, uint64_t v, uint64_t div)
{
	uint64_t milli = div >= 1000 ? v / (div / 1000) : v * (1000 / div);

	(void)snprintf(buf, cap, "%llu.%03llu", (unsigned long long)(milli / 1000),
		       (unsigned long long)(milli % 1000));
	return buf;
}

/* count per second over ns, with one decimal. */
static const char *per_sec(char *buf, size_t cap, uint64_t count, uint64_t ns)
{
	double r = ns ? (double)count * 1e9 / (double)ns : 0.0;
	uint64_t tenths = (uint64_t)(r * 10.0 + 0.5);

	(void)snprintf(buf, cap, "%llu.%llu", (unsigned long long)(tenths / 10),
		       (unsigned long long)(tenths % 10));
	return buf;
}

static void progress_line(uint64_t now, struct totals *prev, uint64_t *prev_t)
{
	struct totals t;
	uint64_t dt = now - *prev_t;
	char a[32], b[32], c[32], d[32], e[32];

	sum_totals(&t, true);
	(void)fprintf(stderr,
		      "collab-bench: %ss %-7s live %llu/%llu pub %s/s deliv %s/s lat mean %s max %s ms"
		      " lost %llu ooo %llu reconn %llu rej %llu\n",
		      fixed3(a, sizeof(a), now - G.t0, 1000000000u) ,
		      phase_names[phase()], (unsigned long long)t.live,
		      (unsigned long long)G.o.conns,
		      per_sec(b, sizeof(b), t.published_all - prev->published_all, dt),
		      per_sec(c, sizeof(c), t.deliveries_all - prev->deliveries_all, dt),
		      fixed3(d, sizeof(d), t.iv_n ? t.iv_sum / t.iv_n : 0, 1000000u),
		      fixed3(e, sizeof(e), t.iv_max, 1000000u),
		      (unsigned long long)t.lost, (unsigned long long)t.ooo,
		      (unsigned long long)t.reconnects, (unsigned long long)t.rejected);
	*prev = t;
	*prev_t = now;
}

struct merged {
	struct hist lat, ack, conn_ms, lag;
	uint64_t rejections[8];
	struct close_kind closes[NCLOSE_KINDS * MAX_THREADS];
	size_t n_closes;
	uint64_t closes_other;
	int op_errs[16];
	uint64_t op_err_n[16];
	size_t n_op_errs;
};

static int merge(struct merged *m)
{
	size_t i, k, j;

	memset(m, 0, sizeof(*m));
	if (hist_init(&m->lat) || hist_init(&m->ack) || hist_init(&m->conn_ms) ||
	    hist_init(&m->lag))
		return -1;
	for (i = 0; i < G.nw; i++) {
		struct worker *w = &G.w[i];

		hist_merge(&m->lat, &w->lat);
		hist_merge(&m->ack, &w->ack);
		hist_merge(&m->conn_ms, &w->conn_ms);
		hist_merge(&m->lag, &w->lag);
		for (k = 0; k < 8; k++)
			m->rejections[k] += w->rejections[k];
		m->closes_other += w->closes_other;
		for (k = 0; k < NCLOSE_KINDS && w->closes[k].n; k++) {
			for (j = 0; j < m->n_closes; j++)
				if (m->closes[j].code == w->closes[k].code &&
				    m->closes[j].http == w->closes[k].http &&
				    m->closes[j].err == w->closes[k].err)
					break;
			if (j == m->n_closes)
				m->closes[m->n_closes++] = w->closes[k];
			else
				m->closes[j].n += w->closes[k].n;
		}
		for (k = 0; k < 16 && w->op_err_n[k]; k++) {
			for (j = 0; j < m->n_op_errs; j++)
				if (m->op_errs[j] == w->op_errs[k])
					break;
			if (j == 16)
				continue;
			if (j == m->n_op_errs) {
				m->op_errs[j] = w->op_errs[k];
				m->n_op_errs++;
			}
			m->op_err_n[j] += w->op_err_n[k];
		}
	}
	return 0;
}

static void merged_free(struct merged *m)
{
	hist_free(&m->lat);
	hist_free(&m->ack);
	hist_free(&m->conn_ms);
	hist_free(&m->lag);
}

/* JSON: {"count":..,"min":..,"mean":..,"p50":..,...,"max":..} in units of
 * div ns (1000: microseconds; 1000000: milliseconds), 3 decimals. */
static void json_hist(struct collab_json_writer *jw, const char *key,
		      const struct hist *h, uint64_t div)
{
	static const struct { const char *name; unsigned pm; } pcts[] = {
		{ "p50", 500 }, { "p90", 900 }, { "p99", 990 }, { "p999", 999 }
	};
	char b[32];
	size_t i;

	collab_json_write_key(jw, key, strlen(key));
	collab_json_write_obj_begin(jw);
	collab_json_write_key(jw, COLLAB_JSON_LIT("count"));
	collab_json_write_u64(jw, h->n);
	collab_json_write_key(jw, COLLAB_JSON_LIT("min"));
	fixed3(b, sizeof(b), h->n ? h->min : 0, div);
	collab_json_write_number(jw, b, strlen(b));
	collab_json_write_key(jw, COLLAB_JSON_LIT("mean"));
	fixed3(b, sizeof(b), h->n ? h->sum / h->n : 0, div);
	collab_json_write_number(jw, b, strlen(b));
	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		collab_json_write_key(jw, pcts[i].name, strlen(pcts[i].name));
		fixed3(b, sizeof(b), hist_pct(h, pcts[i].pm), div);
		collab_json_write_number(jw, b, strlen(b));
	}
	collab_json_write_key(jw, COLLAB_JSON_LIT("max"));
	fixed3(b, sizeof(b), h->max, div);
	collab_json_write_number(jw, b, strlen(b));
	collab_json_write_obj_end(jw);
}

static void jk_u64(struct collab_json_writer *jw, const char *key, uint64_t v)
{
	collab_json_write_key(jw, key, strlen(key));
	collab_json_write_u64(jw, v);
}

static void jk_num(struct collab_json_writer *jw, const char *key, const char *num)
{
	collab_json_write_key(jw, key, strlen(key));
	collab_json_write_number(jw, num, strlen(num));
}

static void jk_str(struct collab_json_writer *jw, const char *key, const char *s)
{
	collab_json_write_key(jw, key, strlen(key));
	collab_json_write_str(jw, s, strlen(s));
}

static int report_json(const struct totals *t, const struct merged *m, uint64_t measured_ns,
		       uint64_t connect_ns, int status)
{
	size_t cap = (size_t)64 * 1024 + m->n_closes * 128, len = 0, i;
	uint8_t *buf = malloc(cap);
	struct collab_json_writer jw;
	char b[32];
	int rc;

	if (buf == NULL)
		return -1;
	collab_json_writer_init(&jw, buf, cap);
	collab_json_write_obj_begin(&jw);
	jk_str(&jw, "url", G.o.url);
	jk_str(&jw, "tenant", G.tenant_id);
	jk_str(&jw, "roomPrefix", G.prefix);
	jk_u64(&jw, "connections", G.o.conns);
	jk_u64(&jw, "rooms", G.o.rooms);
	jk_u64(&jw, "publishers", G.o.pubs);
	jk_u64(&jw, "rate", G.o.rate);
	jk_str(&jw, "op", G.o.op == OP_EDIT ? "edit" : "add");
	jk_u64(&jw, "size", G.o.size);
	jk_u64(&jw, "threads", G.nw);
	jk_u64(&jw, "sources", G.n_sources);
	jk_u64(&jw, "warmup_s", G.o.warmup);
	jk_u64(&jw, "duration_s", G.o.duration);
	jk_num(&jw, "measured_s", fixed3(b, sizeof(b), measured_ns, NS));
	jk_num(&jw, "connect_s", fixed3(b, sizeof(b), connect_ns, NS));
	jk_u64(&jw, "connected", t->ever_live);
	jk_u64(&jw, "not_live_at_end", t->not_live_at_end);
	jk_u64(&jw, "never_live", G.o.conns - t->ever_live);
	jk_u64(&jw, "closed_for_good", t->dead);
	jk_u64(&jw, "connect_retries", t->connect_retries);
	json_hist(&jw, "connect_ms", &m->conn_ms, 1000000u);
	jk_u64(&jw, "published", t->published);
	jk_num(&jw, "published_per_second", per_sec(b, sizeof(b), t->published, measured_ns));
	jk_u64(&jw, "published_total", t->published_all);
	jk_u64(&jw, "acked", t->acked);
	jk_u64(&jw, "rejected", t->rejected);
	jk_u64(&jw, "unanswered", t->unanswered);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("rejections"));
	collab_json_write_obj_begin(&jw);
	for (i = 1; i < 8; i++) {
		if (m->rejections[i] == 0)
			continue;
		jk_u64(&jw, collab_proto_err_name((enum collab_proto_err)i), m->rejections[i]);
	}
	if (m->rejections[0])
		jk_u64(&jw, "other", m->rejections[0]);
	collab_json_write_obj_end(&jw);
	jk_u64(&jw, "deliveries", t->deliveries);
	jk_num(&jw, "deliveries_per_second", per_sec(b, sizeof(b), t->deliveries, measured_ns));
	jk_u64(&jw, "deliveries_total", t->deliveries_all);
	json_hist(&jw, "latency_us", &m->lat, 1000u);
	json_hist(&jw, "ack_latency_us", &m->ack, 1000u);
	json_hist(&jw, "publish_lag_us", &m->lag, 1000u);
	jk_u64(&jw, "publish_skipped", t->skipped);
	jk_u64(&jw, "lost", t->lost);
	jk_u64(&jw, "out_of_order", t->ooo);
	jk_u64(&jw, "reconnects", t->reconnects);
	jk_u64(&jw, "snapshot_resyncs", t->snapshot_resyncs);
	jk_u64(&jw, "errors", t->errors);
	jk_u64(&jw, "foreign_events", t->foreign);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("op_errors"));
	collab_json_write_obj_begin(&jw);
	for (i = 0; i < m->n_op_errs; i++)
		jk_u64(&jw, collab_strerror(m->op_errs[i]), m->op_err_n[i]);
	collab_json_write_obj_end(&jw);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("closes"));
	collab_json_write_arr_begin(&jw);
	for (i = 0; i < m->n_closes; i++) {
		collab_json_write_obj_begin(&jw);
		jk_u64(&jw, "code", m->closes[i].code);
		jk_u64(&jw, "http_status", m->closes[i].http);
		jk_str(&jw, "error", m->closes[i].err ? collab_strerror(m->closes[i].err) : "");
		jk_u64(&jw, "count", m->closes[i].n);
		collab_json_write_obj_end(&jw);
	}
	collab_json_write_arr_end(&jw);
	jk_u64(&jw, "exit_status", (uint64_t)status);
	collab_json_write_obj_end(&jw);
	rc = collab_json_writer_finish(&jw, &len);
	if (rc == 0 && (fwrite(buf, 1, len, stdout) != len || fputc('\n', stdout) == EOF ||
			fflush(stdout) != 0))
		rc = -1;
	free(buf);
	return rc;
}

static void print_hist_line(const char *what, const struct hist *h, uint64_t div,
			    const char *unit)
{
	char a[32], b[32], c[32], d[32], e[32], f[32];

	(void)printf("%-14s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s %s (mean %s, %llu samples)\n",
		     what, fixed3(a, sizeof(a), hist_pct(h, 500), div),
		     fixed3(b, sizeof(b), hist_pct(h, 900), div),
		     fixed3(c, sizeof(c), hist_pct(h, 990), div),
		     fixed3(d, sizeof(d), hist_pct(h, 999), div),
		     fixed3(e, sizeof(e), h->max, div), unit,
		     fixed3(f, sizeof(f), h->n ? h->sum / h->n : 0, div),
		     (unsigned long long)h->n);
}

static int report_text(const struct totals *t, const struct merged *m, uint64_t measured_ns,
		       uint64_t connect_ns)
{
	char a[32], b[32];
	size_t i;

	(void)printf("collab-bench: %llu connections over %llu rooms (%s, tenant %s), "
		     "%llu publishers, %llu ops/s (%s, %llu-byte text), %zu thread(s), "
		     "%zu source address(es)\n",
		     (unsigned long long)G.o.conns, (unsigned long long)G.o.rooms, G.o.url,
		     G.tenant_id, (unsigned long long)G.o.pubs, (unsigned long long)G.o.rate,
		     G.o.op == OP_EDIT ? "edit" : "add", (unsigned long long)G.o.size, G.nw,
		     G.n_sources);
	(void)printf("connect:       %llu/%llu live in %s s, %llu closed for good, "
		     "%llu retries\n", (unsigned long long)t->ever_live,
		     (unsigned long long)G.o.conns, fixed3(a, sizeof(a), connect_ns, NS),
		     (unsigned long long)t->dead, (unsigned long long)t->connect_retries);
	print_hist_line("connect time", &m->conn_ms, 1000000u, "ms");
	(void)printf("published:     %llu in %s s (%s/s), acked %llu, rejected %llu\n",
		     (unsigned long long)t->published, fixed3(a, sizeof(a), measured_ns, NS),
		     per_sec(b, sizeof(b), t->published, measured_ns),
		     (unsigned long long)t->acked, (unsigned long long)t->rejected);
	for (i = 1; i < 8; i++)
		if (m->rejections[i])
			(void)printf("  rejected %-14s %llu\n",
				     collab_proto_err_name((enum collab_proto_err)i),
				     (unsigned long long)m->rejections[i]);
	(void)printf("deliveries:    %llu (%s/s)\n", (unsigned long long)t->deliveries,
		     per_sec(a, sizeof(a), t->deliveries, measured_ns));
	print_hist_line("latency", &m->lat, 1000000u, "ms");
	print_hist_line("ack latency", &m->ack, 1000000u, "ms");
	print_hist_line("publish lag", &m->lag, 1000000u, "ms");
	(void)printf("lost %llu, out of order %llu, unanswered %llu, not live at the end %llu\n",
		     (unsigned long long)t->lost, (unsigned long long)t->ooo,
		     (unsigned long long)t->unanswered, (unsigned long long)t->not_live_at_end);
	(void)printf("reconnects %llu, snapshot resyncs %llu, "
		     "errors %llu, foreign events %llu, skipped publishes %llu\n",
		     (unsigned long long)t->reconnects, (unsigned long long)t->snapshot_resyncs,
		     (unsigned long long)t->errors, (unsigned long long)t->foreign,
		     (unsigned long long)t->skipped);
	for (i = 0; i < m->n_op_errs; i++)
		(void)printf("  operation calls failed (%s): %llu\n",
			     collab_strerror(m->op_errs[i]), (unsigned long long)m->op_err_n[i]);
	for (i = 0; i < m->n_closes; i++)
		(void)printf("  connection ends: close %u, http %u, %s: %llu\n",
			     m->closes[i].code, m->closes[i].http,
			     m->closes[i].err ? collab_strerror(m->closes[i].err) : "-",
			     (unsigned long long)m->closes[i].n);
	return fflush(stdout) == 0 ? 0 : -1;
}

/* ---- main: the coordinator ---------------------------------------------------------- */

static void set_phase(int ph)
{
	atomic_store_explicit(&G.phase, ph, memory_order_release);
}

static bool all_flag(bool finished)
{
	size_t i;

	for (i = 0; i < G.nw; i++)
		if (!atomic_load_explicit(finished ? &G.w[i].st.finished : &G.w[i].st.drained,
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
	G.t0 = phase_t = prev_t = mono_ns();
	next_progress = G.t0 + G.o.progress * NS;
	while (!all_flag(true)) {
		sig = sigtimedwait(sigs, NULL, &tick);
		now = mono_ns();
		if (sig == SIGINT || sig == SIGTERM) {
			interrupts++;
			fail("%s: %s", sig == SIGINT ? "SIGINT" : "SIGTERM",
			     interrupts == 1 ? "draining, then the report (again: stop now)"
					     : "stopping");
			if (phase() == PH_MEASURE)
				G.t_measure_end = now;
			set_phase(interrupts == 1 && phase() < PH_DRAIN ? PH_DRAIN : PH_DONE);
			phase_t = now;
		}
		sum_totals(&t, false);
		switch (phase()) {
		case PH_CONNECT:
			if (t.ever_live + t.dead >= G.o.conns ||
			    now - phase_t >= G.o.connect_timeout * NS) {
				phase_t = now;
				if (G.o.warmup) {
					set_phase(PH_WARMUP);
				} else {
					G.t_measure = now;
					set_phase(PH_MEASURE);
				}
			}
			break;
		case PH_WARMUP:
			if (now - phase_t >= G.o.warmup * NS) {
				G.t_measure = phase_t = now;
				set_phase(PH_MEASURE);
			}
			break;
		case PH_MEASURE:
			if (now - G.t_measure >= G.o.duration * NS) {
				G.t_measure_end = phase_t = now;
				set_phase(PH_DRAIN);
			}
			break;
		case PH_DRAIN:
			if (all_flag(false) || now - phase_t >= G.o.drain_timeout * NS)
				set_phase(PH_DONE);
			break;
		default:
			break;
		}
		if (G.o.progress && now >= next_progress && phase() != PH_DONE) {
			progress_line(now, &prev, &prev_t);
			next_progress = now + G.o.progress * NS;
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

	rc = parse_args(argc, argv);
	if (rc != 0)
		return rc == 1 ? 0 : 2;
	if (parse_sources() != 0 || raise_fd_limit() != 0 || load_identity() != 0)
		return 2;
	check_ports();
	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	/* the threads inherit the mask: the signals wait for sigtimedwait */
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0) {
		fail("cannot block signals");
		return 2;
	}
	status = 2;
	if (setup_workers() != 0)
		goto out;
	set_phase(PH_CONNECT);
	for (i = 0; i < G.nw; i++) {
		if (pthread_create(&G.w[i].th, NULL, worker_main, &G.w[i]) != 0) {
			fail("cannot start thread %zu", i);
			set_phase(PH_DONE);
			break;
		}
		G.w[i].th_started = true;
	}
	for (i = 0; i < G.nw; i++)
		if (!G.w[i].th_started)
			atomic_store(&G.w[i].st.finished, 1);
	coordinate(&sigs);
	for (i = 0; i < G.nw; i++)
		if (G.w[i].th_started)
			(void)pthread_join(G.w[i].th, NULL);
	sum_totals(&t, false);
	if (G.t_measure_end == 0)
		G.t_measure_end = G.t_measure ? mono_ns() : 0;
	measured_ns = G.t_measure ? G.t_measure_end - G.t_measure : 0;
	/* from the start to the last connection's first synced */
	connect_ns = 0;
	for (i = 0; i < G.nw; i++) {
		uint64_t l = get(&G.w[i].st.last_live_ns);

		if (l > G.t0 && l - G.t0 > connect_ns)
			connect_ns = l - G.t0;
	}
	if (merge(&m) != 0) {
		merged_free(&m);
		fail("out of memory");
		goto out;
	}
	status = t.lost || t.ooo || t.unanswered ? 1 :
		 (t.ever_live < G.o.conns || t.dead || t.not_live_at_end) ? 3 : 0;
	rc = G.o.json ? report_json(&t, &m, measured_ns, connect_ns, status)
		      : report_text(&t, &m, measured_ns, connect_ns);
	merged_free(&m);
	if (rc != 0) {
		fail("cannot write the report");
		status = 2;
	}
out:
	for (i = 0; G.w && i < G.nw; i++)
		worker_free(&G.w[i]);
	free(G.w);
	free(G.conns);
	free(G.sources);
	srv_tenant_registry_free(&G.reg);
	return status;
}
