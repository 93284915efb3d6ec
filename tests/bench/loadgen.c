/*
 * loadgen - a small load generator for collab-server (make bench, driven
 * by tests/bench/bench_server.py). Not collab-bench: one process, one
 * thread, one collab_loop, libcollab's own WebSocket client role
 * (collab/wsconn.h) and client encoders (collab/proto.h). One thread is
 * enough: on the 2-core bench machine the server has CPU 0 and all the
 * load runs on CPU 1, and 10,001 sockets fit the 20,000 open files a
 * process may have (the limit is raised to its hard value at start).
 *
 *   loadgen --url ws://127.0.0.1:PORT --tenant T [--token JWT --user SUB]
 *           [--rooms M] [--subs N] [--pubs P] [--inflight W | --rate R |
 *           --wait-all 1 --events E] [--warmup-ms X] [--duration-ms D]
 *           [--size BYTES] [--server-pid PID] [--room-prefix S]
 *           [--connect-inflight K] [--timeout-ms T]
 *
 * M rooms (urlId PREFIX-0 .. PREFIX-(M-1)), each with N anonymous
 * subscribers and P publishers (hello with --token; a publisher receives
 * the room's events too). Every connection waits for `synced`; then each
 * publisher creates one chat (new-text-chat) and, once every chat exists,
 * publishes add-comment operations whose event is about --size bytes. The
 * comment text is
 *
 *     "T" <16 hex: send time, CLOCK_MONOTONIC ns> <4 hex: pad> <pad 'x'>
 *
 * and the broadcastId carries the publisher's index, so a receiver finds
 * the seq, publisher and timestamp of each event without parsing the JSON
 * (a JSON parse of 4 million events a second would need more than the
 * load's one CPU): memmem() for `"seq":` (which can only be a key, since
 * quotes inside strings are escaped), the broadcastId right after it
 * (PROTOCOL.md 5 fixes the member order), then the text, found by a few
 * memcmp()s when the event has exactly the layout of our add-comment
 * events, else by memmem(). Three ways to publish:
 *
 *   --inflight W   closed loop: each publisher keeps W operations in
 *                  flight, sending the next when the echo of its own comes;
 *   --rate R       open loop: R operations per second per publisher,
 *                  spread evenly over the publishers (a 1 ms timer);
 *   --wait-all 1   one event per room at a time: the next is sent when
 *                  EVERY connection of the room has the previous one; the
 *                  time from send to the last arrival is the completion
 *                  time, over --events events per room.
 *
 * Counted in the measuring window (after --warmup-ms, for --duration-ms):
 * event deliveries (every event every connection received), latencies
 * from send to each delivery (a log-linear histogram), echoes, server CPU
 * (/proc/PID/stat utime+stime) and RSS (/proc/PID/status), our own CPU,
 * and the /proc/stat jiffies of CPUs 0 and 1 (the loopback receive path
 * runs in softirq, in neither process's time; other work on a shared
 * machine shows there too).
 * Checked for the whole run: every connection sees its room's seq rise by
 * exactly one (gaps and repeats are counted), and after publishing stops
 * and the queues drain, every connection holds its room's last seq.
 *
 * Output: one JSON object on stdout (integers only: no floating point
 * formatting), progress and problems on stderr. Exit status 0 when the run
 * completed (the figures say whether anything was lost), 1 on a failure
 * to run, 2 for a bad command line.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "collab/loop.h"
#include "collab/proto.h"
#include "collab/rand.h"
#include "collab/wsconn.h"

#define LG_TICK_MS 1u             /* publishing and phase timer */
#define LG_SETTLE_MS 300u         /* after setup: user-counts calm down */
#define LG_DRAIN_MS 15000u        /* at most this long for queues to drain */
#define LG_HIST_LINEAR 128u       /* histogram: 1 us buckets below this */
#define LG_HIST_SUB 64u           /* then 64 buckets per power of two */
#define LG_HIST_N (LG_HIST_LINEAR + 40u * LG_HIST_SUB)
#define LG_MARK_HEX 20u           /* 16 hex time + 4 hex pad */
#define LG_MAX_PAD 0xffffu
#define LG_OP_CAP 8192u
#define LG_URL_CAP 1024u
#define LG_MAX_CONNS 100000u
#define LG_NCPU 2                 /* CPUs whose load is reported */
#define LG_STAT_FIELDS 8

enum lg_phase { PH_CONNECT, PH_SETUP, PH_SETTLE, PH_RUN, PH_DRAIN, PH_DONE };
enum lg_cstate { CS_IDLE, CS_CONNECTING, CS_OPEN, CS_SYNCED, CS_CLOSED };

struct lg_opts {
	const char *url, *tenant, *token, *user, *prefix;
	uint64_t rooms, subs, pubs, inflight, rate, wait_all, events;
	uint64_t warmup_ms, duration_ms, size, server_pid, connect_inflight;
	uint64_t timeout_ms;
};

struct lg_conn {
	struct collab_wsconn_handle h;
	uint32_t room;
	uint32_t pub;          /* publisher index + 1; 0: a subscriber */
	uint8_t state;
	bool counted;          /* counted as synced */
	uint64_t last_seq;
	uint64_t recv;
};

struct lg_pub {
	uint32_t conn, room;
	uint64_t inflight;
	uint64_t sent, acked;
	uint64_t n;            /* ids made */
	uint64_t last_stamp;   /* send time written into the last text */
	char chat[COLLAB_UUID_STR_LEN + 1];
	bool chat_ok;
};

struct lg_room {
	uint64_t max_seq;
	uint32_t nconn;
	/* --wait-all: the one event in flight */
	uint64_t cur_sent_ns, cur_last_ns;
	uint32_t cur_got;
	uint64_t done;         /* events completed */
	bool cur_open;
};

struct lg_hist {
	uint64_t b[LG_HIST_N];
	uint64_t n, max;
};

struct lg {
	struct lg_opts o;
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_wsconn_handlers hd;
	struct collab_timer tick;
	struct lg_conn *c;
	struct lg_pub *p;
	struct lg_room *r;
	uint32_t nconn, npub;
	enum lg_phase phase;
	uint64_t t_start, t_phase, t_run, t_w0, t_w1;   /* ms, loop clock */
	uint32_t next_connect, connecting, synced, closed, open_fail;
	uint32_t chats_ok;
	char prefix[9];        /* our ids' first group: 8 hex */
	uint8_t hello_anon[64], hello_tok[4096];
	size_t hello_anon_len, hello_tok_len;
	size_t pad;
	/* the fixed parts of our add-comment events (fast_text) */
	struct collab_str lay[5];
	char lay_buf[5][512];
	bool measuring;
	/* whole run */
	uint64_t gaps, dups, errors, evbytes, evmsgs, events_total;
	uint64_t close_codes[8];   /* first codes seen */
	uint32_t n_close_codes;
	/* window */
	uint64_t w_deliv, w_sub_deliv, w_acked, w_sent, w_batches;
	uint64_t open_sent, open_cursor;
	struct lg_hist lat, echo;
	uint64_t *complete;    /* --wait-all completion times, ns */
	size_t n_complete, cap_complete;
	/* server and self CPU at the window's ends */
	uint64_t srv_ticks0, srv_ticks1, self_us0, self_us1;
	uint64_t st0[LG_NCPU][LG_STAT_FIELDS], st1[LG_NCPU][LG_STAT_FIELDS];
	uint64_t rss_kb, hwm_kb;
	int failed;
};

static struct lg G;

/* ---- small helpers ---------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s == NULL || s[0] == '\0')
		return -1;
	for (i = 0; s[i]; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static const char HEX[] = "0123456789abcdef";

static void put_hex(char *out, uint64_t v, unsigned digits)
{
	while (digits-- > 0) {
		out[digits] = HEX[v & 15u];
		v >>= 4;
	}
}

static int get_hex(const uint8_t *p, unsigned digits, uint64_t *out)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < digits; i++) {
		uint8_t ch = p[i];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

static size_t hist_bucket(uint64_t us)
{
	unsigned e;

	if (us < LG_HIST_LINEAR)
		return (size_t)us;
	e = 63u - (unsigned)__builtin_clzll(us);   /* >= 7 */
	if (e - 7u >= 40u)
		return LG_HIST_N - 1;
	return LG_HIST_LINEAR + (e - 7u) * LG_HIST_SUB +
	       (size_t)((us >> (e - 6u)) & (LG_HIST_SUB - 1));
}

/* The upper edge of bucket i, in us (a percentile is never understated). */
static uint64_t hist_value(size_t i)
{
	size_t e, sub;

	if (i < LG_HIST_LINEAR)
		return i;
	e = (i - LG_HIST_LINEAR) / LG_HIST_SUB + 7;
	sub = (i - LG_HIST_LINEAR) % LG_HIST_SUB;
	return ((uint64_t)(LG_HIST_SUB + sub + 1) << (e - 6)) - 1;
}

static void hist_add(struct lg_hist *h, uint64_t ns)
{
	uint64_t us = ns / 1000;

	h->b[hist_bucket(us)]++;
	h->n++;
	if (us > h->max)
		h->max = us;
}

/* permille: 500 = p50, 990 = p99, 999 = p99.9 */
static uint64_t hist_pct(const struct lg_hist *h, unsigned permille)
{
	uint64_t want, run = 0;
	size_t i;

	if (h->n == 0)
		return 0;
	want = (h->n * permille + 999) / 1000;
	if (want == 0)
		want = 1;
	for (i = 0; i < LG_HIST_N; i++) {
		run += h->b[i];
		if (run >= want)
			return hist_value(i) < h->max ? hist_value(i) : h->max;
	}
	return h->max;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t sorted_pct(const uint64_t *v, size_t n, unsigned permille)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (n * permille + 999) / 1000;
	if (k == 0)
		k = 1;
	return v[k - 1];
}

/* utime + stime of pid, in clock ticks; 0 when unreadable. */
static uint64_t proc_ticks(uint64_t pid)
{
	char path[64], buf[2048], *p;
	uint64_t ut = 0, st = 0, v;
	FILE *f;
	size_t n;
	int field = 2;

	(void)snprintf(path, sizeof(path), "/proc/%llu/stat", (unsigned long long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	(void)fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	p++;
	/* fields after the command: 3 state, ... 14 utime, 15 stime */
	while (*p && field < 15) {
		while (*p == ' ')
			p++;
		field++;
		v = 0;
		while (*p >= '0' && *p <= '9')
			v = v * 10 + (uint64_t)(*p++ - '0');
		if (field == 14)
			ut = v;
		else if (field == 15)
			st = v;
		while (*p && *p != ' ')
			p++;
	}
	return ut + st;
}

/* VmRSS and VmHWM of pid in kB. */
static void proc_rss(uint64_t pid, uint64_t *rss, uint64_t *hwm)
{
	char path[64], line[256];
	FILE *f;

	(void)snprintf(path, sizeof(path), "/proc/%llu/status", (unsigned long long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		uint64_t *dst = NULL, v = 0;
		const char *q;

		if (strncmp(line, "VmRSS:", 6) == 0)
			dst = rss;
		else if (strncmp(line, "VmHWM:", 6) == 0)
			dst = hwm;
		if (dst == NULL)
			continue;
		for (q = line + 6; *q == ' ' || *q == '\t'; q++)
			;
		while (*q >= '0' && *q <= '9')
			v = v * 10 + (uint64_t)(*q++ - '0');
		*dst = v;
	}
	(void)fclose(f);
}

/* The first 8 fields of /proc/stat's "cpu0" and "cpu1" lines (user nice
 * system idle iowait irq softirq steal), in jiffies. The server's share of
 * the loopback receive path runs in softirq on its CPU (so it is not in
 * its utime+stime), and on a shared machine other work shows here. */
static void sys_ticks(uint64_t st[LG_NCPU][LG_STAT_FIELDS])
{
	char line[512];
	FILE *f = fopen("/proc/stat", "r");
	unsigned cpu;

	memset(st, 0, LG_NCPU * sizeof(st[0]));
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *q;
		size_t i;

		if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9')
			continue;
		cpu = (unsigned)(line[3] - '0');
		if (line[4] != ' ' || cpu >= LG_NCPU)
			continue;
		for (q = line + 4, i = 0; *q && i < LG_STAT_FIELDS; i++) {
			uint64_t v = 0;

			while (*q == ' ')
				q++;
			while (*q >= '0' && *q <= '9')
				v = v * 10 + (uint64_t)(*q++ - '0');
			st[cpu][i] = v;
		}
	}
	(void)fclose(f);
}

static uint64_t self_cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
	       (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

/* ---- ids and operations ------------------------------------------------- */

/*
 * Our ids: PPPPPPPP-IIII-4III-8KKK-NNNNNNNNNNNN, canonical lowercase v4
 * layout (RFC 9562 4): P this run's random prefix, I the publisher index
 * (28 bits), K the kind (0 broadcastId, 1 chat, 2 comment), N a counter.
 */
static void make_id(char out[COLLAB_UUID_STR_LEN + 1], uint32_t pub,
		    unsigned kind, uint64_t n)
{
	memcpy(out, G.prefix, 8);
	out[8] = '-';
	put_hex(out + 9, pub >> 12, 4);
	out[13] = '-';
	out[14] = '4';
	put_hex(out + 15, pub & 0xfffu, 3);
	out[18] = '-';
	out[19] = '8';
	put_hex(out + 20, kind, 3);
	out[23] = '-';
	put_hex(out + 24, n, 12);
	out[36] = '\0';
}

/* The publisher index of one of our ids, or -1. */
static int64_t id_pub(const uint8_t *id)
{
	uint64_t hi, lo;

	if (memcmp(id, G.prefix, 8) != 0 || id[8] != '-' || id[14] != '4')
		return -1;
	if (get_hex(id + 9, 4, &hi) != 0 || get_hex(id + 15, 3, &lo) != 0)
		return -1;
	return (int64_t)(hi << 12 | lo);
}

static void fail(const char *what)
{
	fprintf(stderr, "loadgen: %s\n", what);
	G.failed = 1;
	G.phase = PH_DONE;
	collab_loop_stop(&G.loop);
}

/* Sends one operation for publisher i: its chat first, then comments. */
static int publish(uint32_t i)
{
	struct lg_pub *pb = &G.p[i];
	struct collab_proto_client_op op;
	char bid[COLLAB_UUID_STR_LEN + 1], cid[COLLAB_UUID_STR_LEN + 1];
	char text[LG_MAX_PAD + 1 + LG_MARK_HEX];
	uint8_t out[LG_OP_CAP];
	size_t len = 0, tlen;
	int rc;

	memset(&op, 0, sizeof(op));
	make_id(bid, i, 0, pb->n);
	make_id(cid, i, 2, pb->n);
	pb->n++;
	op.broadcast_id.p = bid;
	op.broadcast_id.len = COLLAB_UUID_STR_LEN;
	op.comment_id.p = cid;
	op.comment_id.len = COLLAB_UUID_STR_LEN;
	text[0] = 'T';
	pb->last_stamp = mono_ns();
	put_hex(text + 1, pb->last_stamp, 16);
	put_hex(text + 17, G.pad, 4);
	memset(text + 1 + LG_MARK_HEX, 'x', G.pad);
	tlen = 1 + LG_MARK_HEX + G.pad;
	op.text.p = text;
	op.text.len = tlen;
	if (!pb->chat_ok && pb->sent == 0) {
		make_id(pb->chat, i, 1, 0);
		op.type = COLLAB_PROTO_TYPE_NEW_TEXT_CHAT;
		op.anchor = COLLAB_STR("{}");
	} else {
		op.type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT;
		op.action = COLLAB_PROTO_ACTION_ADD_COMMENT;
	}
	op.chat_id.p = pb->chat;
	op.chat_id.len = COLLAB_UUID_STR_LEN;
	rc = collab_proto_encode_op(&op, out, sizeof(out), &len);
	if (rc == 0)
		rc = collab_wsconn_send(&G.ws, G.c[pb->conn].h, COLLAB_WS_OP_TEXT,
					out, len);
	if (rc != 0)
		return rc;
	pb->sent++;
	pb->inflight++;
	if (G.measuring)
		G.w_sent++;
	return 0;
}

/* ---- receiving ----------------------------------------------------------- */

static void note_close_code(uint64_t code)
{
	uint32_t i;

	for (i = 0; i < G.n_close_codes; i++)
		if (G.close_codes[i] == code)
			return;
	if (G.n_close_codes < sizeof(G.close_codes) / sizeof(G.close_codes[0]))
		G.close_codes[G.n_close_codes++] = code;
}

static void wait_all_next(struct lg_room *rm, uint32_t ri);

/* One event for connection ci: seq, send time (0: none), publisher (-1:
 * not ours). */
static void on_event(uint32_t ci, uint64_t seq, uint64_t sent_ns, int64_t pub,
		     uint64_t now_ns)
{
	struct lg_conn *c = &G.c[ci];
	struct lg_room *rm = &G.r[c->room];

	if (seq == c->last_seq + 1) {
		c->last_seq = seq;
	} else if (seq > c->last_seq) {
		G.gaps += seq - c->last_seq - 1;
		c->last_seq = seq;
	} else {
		G.dups++;
	}
	c->recv++;
	G.events_total++;
	if (seq > rm->max_seq)
		rm->max_seq = seq;
	if (G.measuring) {
		G.w_deliv++;
		if (c->pub == 0)
			G.w_sub_deliv++;
		if (sent_ns && now_ns > sent_ns)
			hist_add(&G.lat, now_ns - sent_ns);
	}
	if (pub >= 0 && (uint64_t)pub < G.npub && G.p[pub].conn == ci) {
		struct lg_pub *pb = &G.p[pub];

		if (pb->inflight)
			pb->inflight--;
		pb->acked++;
		if (!pb->chat_ok) {
			pb->chat_ok = true;
			G.chats_ok++;
		}
		if (G.measuring) {
			G.w_acked++;
			if (sent_ns && now_ns > sent_ns)
				hist_add(&G.echo, now_ns - sent_ns);
		}
	}
	if (G.o.wait_all && G.phase == PH_RUN && rm->cur_open &&
	    sent_ns == rm->cur_sent_ns) {
		rm->cur_got++;
		if (now_ns > rm->cur_last_ns)
			rm->cur_last_ns = now_ns;
		if (rm->cur_got >= rm->nconn) {
			rm->cur_open = false;
			rm->done++;
			if (G.n_complete < G.cap_complete)
				G.complete[G.n_complete++] = rm->cur_last_ns - rm->cur_sent_ns;
			wait_all_next(rm, c->room);
		}
	}
}

static const uint8_t *find(const uint8_t *p, const uint8_t *end,
			   const char *needle, size_t n)
{
	if (p >= end)
		return NULL;
	return memmem(p, (size_t)(end - p), needle, n);
}

/* Every event of an event or batch message. */
/*
 * Where the text of an add-comment event of ours starts, from just after
 * its seq digits, when the event is laid out exactly as PROTOCOL.md 5
 * orders its members (our user id and name, our ids): a few memcmp()s
 * instead of a search. NULL when it is not: the caller searches.
 */
static const uint8_t *fast_text(const uint8_t *q, const uint8_t *end)
{
	size_t id = COLLAB_UUID_STR_LEN;

	/* ,"broadcastId":"<id>","ts":<digits> */
	if ((size_t)(end - q) < G.lay[0].len + id + G.lay[1].len ||
	    memcmp(q, G.lay[0].p, G.lay[0].len) != 0)
		return NULL;
	q += G.lay[0].len + id;
	if (memcmp(q, G.lay[1].p, G.lay[1].len) != 0)
		return NULL;
	q += G.lay[1].len;
	while (q < end && *q >= '0' && *q <= '9')
		q++;
	/* ,"userId":"U","chatId":"<id>","action":"add-comment","comment":
	 * {"id":"<id>","userId":"U","userName":"U","text":"T */
	if ((size_t)(end - q) < G.lay[2].len + id + G.lay[3].len + id + G.lay[4].len ||
	    memcmp(q, G.lay[2].p, G.lay[2].len) != 0)
		return NULL;
	q += G.lay[2].len + id;
	if (memcmp(q, G.lay[3].p, G.lay[3].len) != 0)
		return NULL;
	q += G.lay[3].len + id;
	if (memcmp(q, G.lay[4].p, G.lay[4].len) != 0)
		return NULL;
	return q + G.lay[4].len;
}

/* Every event of an event or batch message. */
/*
 * The next `"seq":` of a batch when q sits at the end of an add-comment
 * event's text, laid out as PROTOCOL.md 5 orders it:
 *     ","createdAt":<digits>}},{"type":"updated-text-chat","seq":
 * NULL when it is not: the caller searches.
 */
static const uint8_t *fast_next(const uint8_t *q, const uint8_t *end)
{
	static const char a[] = "\",\"createdAt\":";
	static const char b[] = "}},{\"type\":\"updated-text-chat\",\"seq\":";

	if ((size_t)(end - q) < sizeof(a) - 1 || memcmp(q, a, sizeof(a) - 1) != 0)
		return NULL;
	q += sizeof(a) - 1;
	while (q < end && *q >= '0' && *q <= '9')
		q++;
	if ((size_t)(end - q) < sizeof(b) - 1 || memcmp(q, b, sizeof(b) - 1) != 0)
		return NULL;
	return q + sizeof(b) - 1 - 6;
}

/* Every event of an event or batch message. */
static void scan_events(uint32_t ci, const uint8_t *p, size_t len,
			uint64_t now_ns)
{
	const uint8_t *q = p, *end = p + len, *t, *next = NULL;
	uint64_t n = 0;

	for (;;) {
		uint64_t seq = 0, sent = 0, pad = 0;
		int64_t pub = -1;

		q = next ? next : find(q, end, "\"seq\":", 6);
		if (q == NULL)
			break;
		next = NULL;
		q += 6;
		while (q < end && *q >= '0' && *q <= '9')
			seq = seq * 10 + (uint64_t)(*q++ - '0');
		if ((size_t)(end - q) >= G.lay[0].len + COLLAB_UUID_STR_LEN &&
		    memcmp(q, G.lay[0].p, G.lay[0].len) == 0)
			pub = id_pub(q + G.lay[0].len);
		/* t: the first hex digit of the mark */
		t = fast_text(q, end);
		if (t == NULL) {
			t = find(q, end, "\"text\":\"T", 9);
			if (t != NULL)
				t += 9;
		}
		if (t != NULL && (size_t)(end - t) >= LG_MARK_HEX &&
		    get_hex(t, 16, &sent) == 0 && get_hex(t + 16, 4, &pad) == 0 &&
		    (uint64_t)(end - t - LG_MARK_HEX) >= pad) {
			q = t + LG_MARK_HEX + pad;
			next = fast_next(q, end);
		}
		on_event(ci, seq, sent, pub, now_ns);
		n++;
	}
	G.evmsgs++;
	G.evbytes += len;
	if (n > 1 && G.measuring)
		G.w_batches++;
}

static uint64_t read_seq(const uint8_t *p, size_t len)
{
	const uint8_t *q = find(p, p + len, "\"seq\":", 6), *end = p + len;
	uint64_t v = 0;

	if (q == NULL)
		return 0;
	for (q += 6; q < end && *q >= '0' && *q <= '9'; q++)
		v = v * 10 + (uint64_t)(*q - '0');
	return v;
}

#define PFX(lit) (len >= sizeof(lit) - 1 && memcmp(p, lit, sizeof(lit) - 1) == 0)

static void on_message(struct collab_wsconn *wc, enum collab_ws_opcode op,
		       const uint8_t *p, size_t len)
{
	uint32_t ci = *(uint32_t *)collab_wsconn_user(wc);
	struct lg_conn *c = &G.c[ci];
	uint64_t now = mono_ns();

	(void)op;
	if (PFX("{\"type\":\"batch\"") || PFX("{\"type\":\"updated-text-chat\"") ||
	    PFX("{\"type\":\"new-text-chat\"") || PFX("{\"type\":\"deleted-text-chat\"")) {
		scan_events(ci, p, len, now);
	} else if (PFX("{\"type\":\"synced\"")) {
		c->last_seq = read_seq(p, len);
		if (c->last_seq > G.r[c->room].max_seq)
			G.r[c->room].max_seq = c->last_seq;
		c->state = CS_SYNCED;
		if (!c->counted) {
			c->counted = true;
			G.synced++;
			G.connecting--;
		}
	} else if (PFX("{\"type\":\"error\"")) {
		G.errors++;
		if (G.errors <= 5)
			fprintf(stderr, "loadgen: error: %.*s\n", (int)(len < 300 ? len : 300),
				(const char *)p);
		if (c->pub && G.p[c->pub - 1].inflight)
			G.p[c->pub - 1].inflight--;
	}
	/* welcome, snapshot, user-count: nothing to do */

	/* closed loop: refill this publisher's window */
	if (c->pub && G.o.inflight && G.phase == PH_RUN) {
		struct lg_pub *pb = &G.p[c->pub - 1];

		while (pb->inflight < G.o.inflight)
			if (publish(c->pub - 1) != 0) {
				fail("send failed");
				return;
			}
	}
}

static void on_open(struct collab_wsconn *wc, struct collab_str proto)
{
	uint32_t ci = *(uint32_t *)collab_wsconn_user(wc);
	struct lg_conn *c = &G.c[ci];
	int rc;

	(void)proto;
	c->state = CS_OPEN;
	if (c->pub)
		rc = collab_wsconn_send(&G.ws, c->h, COLLAB_WS_OP_TEXT,
					G.hello_tok, G.hello_tok_len);
	else
		rc = collab_wsconn_send(&G.ws, c->h, COLLAB_WS_OP_TEXT,
					G.hello_anon, G.hello_anon_len);
	if (rc != 0)
		fail("hello not sent");
}

static void on_close(struct collab_wsconn *wc,
		     const struct collab_wsconn_close_info *ci)
{
	uint32_t i = *(uint32_t *)collab_wsconn_user(wc);
	struct lg_conn *c = &G.c[i];

	if (c->state == CS_CLOSED || G.phase == PH_DONE)
		return;
	if (!c->counted) {
		c->counted = true;
		G.connecting--;
		G.open_fail++;
	}
	c->state = CS_CLOSED;
	G.closed++;
	/* it will not count toward --wait-all completions any more */
	if (G.r[c->room].nconn)
		G.r[c->room].nconn--;
	/* its operations in flight will never be answered */
	if (c->pub)
		G.p[c->pub - 1].inflight = 0;
	note_close_code(ci->code ? ci->code : ci->sent_code);
	if (G.closed <= 5)
		fprintf(stderr, "loadgen: connection %u closed: code %u sent %u err %s http %u\n",
			i, ci->code, ci->sent_code,
			ci->err ? collab_strerror(ci->err) : "none", ci->http_status);
}

/* ---- phases ------------------------------------------------------------- */

static void start_connects(void)
{
	char url[LG_URL_CAP];

	while (G.next_connect < G.nconn && G.connecting < G.o.connect_inflight) {
		uint32_t i = G.next_connect++;
		struct lg_conn *c = &G.c[i];
		int n, rc;

		n = snprintf(url, sizeof(url), "%s/ws?tenantId=%s&urlId=%s-%u",
			     G.o.url, G.o.tenant, G.o.prefix, c->room);
		if (n < 0 || (size_t)n >= sizeof(url)) {
			fail("url too long");
			return;
		}
		G.connecting++;
		c->state = CS_CONNECTING;
		rc = collab_wsconn_connect(&G.ws, url, (size_t)n, NULL, &G.hd, NULL,
					   &c->h);
		if (rc != 0) {
			fprintf(stderr, "loadgen: connect: %s\n", collab_strerror(rc));
			fail("connect failed");
			return;
		}
		{
			struct collab_wsconn *wc = collab_wsconn_get(&G.ws, c->h);

			if (wc)
				*(uint32_t *)collab_wsconn_user(wc) = i;
		}
	}
}

static void window_open(void)
{
	G.measuring = true;
	G.srv_ticks0 = G.o.server_pid ? proc_ticks(G.o.server_pid) : 0;
	G.self_us0 = self_cpu_us();
	sys_ticks(G.st0);
	G.t_w0 = collab_loop_now(&G.loop);
}

static void window_close(void)
{
	G.measuring = false;
	G.t_w1 = collab_loop_now(&G.loop);
	G.srv_ticks1 = G.o.server_pid ? proc_ticks(G.o.server_pid) : 0;
	G.self_us1 = self_cpu_us();
	sys_ticks(G.st1);
	if (G.o.server_pid)
		proc_rss(G.o.server_pid, &G.rss_kb, &G.hwm_kb);
}

static void wait_all_next(struct lg_room *rm, uint32_t ri)
{
	uint32_t i;

	if (rm->done >= G.o.events || G.phase != PH_RUN)
		return;
	/* the room's first publisher sends */
	for (i = 0; i < G.npub; i++)
		if (G.p[i].room == ri)
			break;
	if (i == G.npub)
		return;
	rm->cur_open = true;
	rm->cur_got = 0;
	rm->cur_last_ns = 0;
	if (publish(i) != 0) {
		fail("send failed");
		return;
	}
	/* receivers match the event by this stamp */
	rm->cur_sent_ns = G.p[i].last_stamp;
}

static void run_start(void)
{
	uint32_t i;

	G.phase = PH_RUN;
	G.t_run = collab_loop_now(&G.loop);
	G.open_sent = 0;
	if (G.o.wait_all) {
		window_open();
		for (i = 0; i < G.o.rooms; i++)
			wait_all_next(&G.r[i], i);
	} else if (G.o.inflight) {
		for (i = 0; i < G.npub; i++)
			while (G.p[i].inflight < G.o.inflight)
				if (publish(i) != 0) {
					fail("send failed");
					return;
				}
	}
	collab_wsctx_flush(&G.ws);
}

static bool drained(void)
{
	uint32_t i;

	for (i = 0; i < G.npub; i++)
		if (G.p[i].inflight)
			return false;
	for (i = 0; i < G.nconn; i++)
		if (G.c[i].state == CS_SYNCED && G.c[i].last_seq < G.r[G.c[i].room].max_seq)
			return false;
	return true;
}

static void on_tick(struct collab_loop *loop, struct collab_timer *t)
{
	uint64_t now = collab_loop_now(loop), i;

	switch (G.phase) {
	case PH_CONNECT:
		start_connects();
		if (G.synced + G.open_fail == G.nconn) {
			if (G.open_fail) {
				fail("some connections failed to open");
				return;
			}
			fprintf(stderr, "loadgen: %u connections synced in %llu ms\n",
				G.nconn, (unsigned long long)(now - G.t_start));
			G.phase = PH_SETUP;
			G.t_phase = now;
			for (i = 0; i < G.npub; i++)
				if (publish((uint32_t)i) != 0) {
					fail("send failed");
					return;
				}
		}
		break;
	case PH_SETUP:
		if (G.chats_ok == G.npub) {
			G.phase = PH_SETTLE;
			G.t_phase = now;
		} else if (now - G.t_phase > 30000) {
			fail("chats not created within 30 s");
			return;
		}
		break;
	case PH_SETTLE:
		if (now - G.t_phase >= LG_SETTLE_MS)
			run_start();
		break;
	case PH_RUN:
		if (G.o.rate) {
			/* open loop: rate per publisher, spread over them */
			uint64_t due = (now - G.t_run) * G.o.rate * G.npub / 1000;

			while (G.open_sent < due) {
				uint32_t k = (uint32_t)(G.open_cursor++ % G.npub);

				G.open_sent++;
				if (G.c[G.p[k].conn].state != CS_SYNCED)
					continue;
				if (publish(k) != 0) {
					fail("send failed");
					return;
				}
			}
			collab_wsctx_flush(&G.ws);
		}
		if (G.o.wait_all) {
			bool all = true;

			for (i = 0; i < G.o.rooms; i++)
				if (G.r[i].done < G.o.events)
					all = false;
			if (all || now - G.t_run > G.o.duration_ms) {
				window_close();
				G.phase = PH_DRAIN;
				G.t_phase = now;
			}
		} else {
			if (!G.measuring && G.t_w0 == 0 && now - G.t_run >= G.o.warmup_ms)
				window_open();
			if (G.measuring && now - G.t_w0 >= G.o.duration_ms) {
				window_close();
				G.phase = PH_DRAIN;
				G.t_phase = now;
			}
		}
		break;
	case PH_DRAIN:
		if (drained() || now - G.t_phase > LG_DRAIN_MS) {
			G.phase = PH_DONE;
			collab_loop_stop(loop);
			return;
		}
		break;
	default:
		return;
	}
	if (now - G.t_start > G.o.timeout_ms) {
		fail("timeout");
		return;
	}
	if (collab_loop_timer_arm(loop, t, LG_TICK_MS) != 0)
		fail("timer");
}

/* ---- report --------------------------------------------------------------- */

static void report(void)
{
	uint64_t missing = 0, behind = 0, i, synced_end = 0;
	uint64_t window_ms = G.t_w1 > G.t_w0 ? G.t_w1 - G.t_w0 : 0;
	bool ok = drained();

	for (i = 0; i < G.nconn; i++) {
		const struct lg_conn *c = &G.c[i];

		if (c->state != CS_SYNCED)
			continue;
		synced_end++;
		if (c->last_seq < G.r[c->room].max_seq) {
			missing += G.r[c->room].max_seq - c->last_seq;
			behind++;
		}
	}
	if (G.n_complete)
		qsort(G.complete, G.n_complete, sizeof(*G.complete), cmp_u64);
	printf("{\"conns\":%u,\"rooms\":%llu,\"subs\":%llu,\"pubs\":%llu,"
	       "\"window_ms\":%llu,\"deliveries\":%llu,\"sub_deliveries\":%llu,"
	       "\"acked\":%llu,\"sent\":%llu,\"batched_msgs\":%llu,"
	       "\"lat_p50_us\":%llu,\"lat_p99_us\":%llu,\"lat_p999_us\":%llu,\"lat_max_us\":%llu,"
	       "\"echo_p50_us\":%llu,\"echo_p99_us\":%llu,"
	       "\"complete_n\":%zu,\"complete_p50_us\":%llu,\"complete_p99_us\":%llu,"
	       "\"complete_max_us\":%llu,"
	       "\"gaps\":%llu,\"dups\":%llu,\"missing_end\":%llu,\"conns_behind\":%llu,"
	       "\"synced_end\":%llu,\"drained\":%d,\"closed\":%u,\"errors\":%llu,"
	       "\"events_total\":%llu,\"event_msg_bytes\":%llu,\"event_msgs\":%llu,"
	       "\"srv_cpu_ticks\":%llu,\"clk_tck\":%ld,\"srv_rss_kb\":%llu,\"srv_hwm_kb\":%llu,"
	       "\"self_cpu_us\":%llu,",
	       G.nconn, (unsigned long long)G.o.rooms, (unsigned long long)G.o.subs,
	       (unsigned long long)G.o.pubs, (unsigned long long)window_ms,
	       (unsigned long long)G.w_deliv, (unsigned long long)G.w_sub_deliv,
	       (unsigned long long)G.w_acked, (unsigned long long)G.w_sent,
	       (unsigned long long)G.w_batches,
	       (unsigned long long)hist_pct(&G.lat, 500), (unsigned long long)hist_pct(&G.lat, 990),
	       (unsigned long long)hist_pct(&G.lat, 999), (unsigned long long)G.lat.max,
	       (unsigned long long)hist_pct(&G.echo, 500), (unsigned long long)hist_pct(&G.echo, 990),
	       G.n_complete,
	       (unsigned long long)(sorted_pct(G.complete, G.n_complete, 500) / 1000),
	       (unsigned long long)(sorted_pct(G.complete, G.n_complete, 990) / 1000),
	       (unsigned long long)(G.n_complete ? G.complete[G.n_complete - 1] / 1000 : 0),
	       (unsigned long long)G.gaps, (unsigned long long)G.dups,
	       (unsigned long long)missing, (unsigned long long)behind,
	       (unsigned long long)synced_end, ok ? 1 : 0, G.closed,
	       (unsigned long long)G.errors, (unsigned long long)G.events_total,
	       (unsigned long long)G.evbytes, (unsigned long long)G.evmsgs,
	       (unsigned long long)(G.srv_ticks1 - G.srv_ticks0), sysconf(_SC_CLK_TCK),
	       (unsigned long long)G.rss_kb, (unsigned long long)G.hwm_kb,
	       (unsigned long long)(G.self_us1 - G.self_us0));
	for (i = 0; i < LG_NCPU; i++) {
		size_t j;

		printf("\"cpu%llu\":[", (unsigned long long)i);
		for (j = 0; j < LG_STAT_FIELDS; j++)
			printf("%s%llu", j ? "," : "",
			       (unsigned long long)(G.st1[i][j] - G.st0[i][j]));
		printf("],");
	}
	printf("\"close_codes\":[");
	for (i = 0; i < G.n_close_codes; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)G.close_codes[i]);
	printf("]}\n");
	(void)fflush(stdout);
}

/* ---- setup ----------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen --url ws://HOST:PORT --tenant T [--token JWT --user SUB]\n"
		"  [--rooms M] [--subs N] [--pubs P] [--room-prefix S]\n"
		"  [--inflight W | --rate R | --wait-all 1 --events E]\n"
		"  [--warmup-ms X] [--duration-ms D] [--size BYTES] [--server-pid PID]\n"
		"  [--connect-inflight K] [--timeout-ms T]\n");
}

static int parse_args(int argc, char **argv, struct lg_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->prefix = "lg";
	o->user = "bench";
	o->rooms = 1;
	o->subs = 0;
	o->pubs = 1;
	o->warmup_ms = 1000;
	o->duration_ms = 5000;
	o->size = 300;
	o->connect_inflight = 256;
	o->timeout_ms = 120000;
	o->events = 200;
	/* every option takes a value: --name VALUE */
	for (i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		struct { const char *name; uint64_t *dst; } nums[] = {
			{ "--rooms", &o->rooms }, { "--subs", &o->subs },
			{ "--pubs", &o->pubs }, { "--inflight", &o->inflight },
			{ "--rate", &o->rate }, { "--wait-all", &o->wait_all },
			{ "--events", &o->events }, { "--warmup-ms", &o->warmup_ms },
			{ "--duration-ms", &o->duration_ms }, { "--size", &o->size },
			{ "--server-pid", &o->server_pid },
			{ "--connect-inflight", &o->connect_inflight },
			{ "--timeout-ms", &o->timeout_ms },
		};
		size_t j;
		bool done = false;

		if (v == NULL)
			return -1;
		for (j = 0; j < sizeof(nums) / sizeof(nums[0]); j++)
			if (strcmp(k, nums[j].name) == 0) {
				if (parse_u64(v, nums[j].dst) != 0)
					return -1;
				done = true;
			}
		if (!done) {
			if (strcmp(k, "--url") == 0)
				o->url = v;
			else if (strcmp(k, "--tenant") == 0)
				o->tenant = v;
			else if (strcmp(k, "--token") == 0)
				o->token = v;
			else if (strcmp(k, "--user") == 0)
				o->user = v;
			else if (strcmp(k, "--room-prefix") == 0)
				o->prefix = v;
			else
				return -1;
		}
	}
	if (o->url == NULL || o->tenant == NULL || o->rooms == 0 ||
	    o->connect_inflight == 0 || o->pubs == 0 || o->token == NULL)
		return -1;
	if ((o->inflight != 0) + (o->rate != 0) + (o->wait_all != 0) != 1)
		return -1;
	if (o->rooms * (o->subs + o->pubs) > LG_MAX_CONNS)
		return -1;
	return 0;
}

/*
 * The comment padding that makes an add-comment event about o.size bytes:
 * the event as PROTOCOL.md 5 spells it, with a 6-digit seq and 13-digit
 * times, minus the text.
 */
static size_t pad_for(const struct lg_opts *o)
{
	size_t ulen = strlen(o->user), base;

	base = strlen("{\"type\":\"updated-text-chat\",\"seq\":123456,\"broadcastId\":\"\","
		      "\"ts\":1764151200000,\"userId\":\"\",\"chatId\":\"\",\"action\":\"add-comment\","
		      "\"comment\":{\"id\":\"\",\"userId\":\"\",\"userName\":\"\",\"text\":\"\","
		      "\"createdAt\":1764151200000}}") +
	       3 * COLLAB_UUID_STR_LEN + 3 * ulen + 1 + LG_MARK_HEX;
	if (o->size <= base)
		return 0;
	return o->size - base > LG_MAX_PAD ? LG_MAX_PAD : (size_t)(o->size - base);
}

int main(int argc, char **argv)
{
	struct collab_loop_config lc;
	struct collab_wsctx_config wc;
	struct collab_proto_hello hello;
	struct collab_rng rng;
	uint32_t rnd, i, k;
	uint64_t r;
	int rc;

	if (parse_args(argc, argv, &G.o) != 0) {
		usage();
		return 2;
	}
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (collab_rng_init(&rng) != 0 || collab_rng_u32(&rng, &rnd) != 0) {
		fprintf(stderr, "loadgen: no randomness\n");
		return 1;
	}
	collab_rng_wipe(&rng);
	put_hex(G.prefix, rnd, 8);
	G.prefix[8] = '\0';
	G.pad = pad_for(&G.o);
	{
		static const char *const fmt[5] = {
			",\"broadcastId\":\"", "\",\"ts\":",
			",\"userId\":\"%s\",\"chatId\":\"",
			"\",\"action\":\"add-comment\",\"comment\":{\"id\":\"",
			"\",\"userId\":\"%s\",\"userName\":\"%s\",\"text\":\"T",
		};

		for (i = 0; i < 5; i++) {
			int n = snprintf(G.lay_buf[i], sizeof(G.lay_buf[i]), fmt[i],
					 G.o.user, G.o.user);

			if (n < 0 || (size_t)n >= sizeof(G.lay_buf[i])) {
				fprintf(stderr, "loadgen: --user too long\n");
				return 2;
			}
			G.lay[i].p = G.lay_buf[i];
			G.lay[i].len = (size_t)n;
		}
	}

	memset(&hello, 0, sizeof(hello));
	rc = collab_proto_encode_hello(&hello, G.hello_anon, sizeof(G.hello_anon),
				       &G.hello_anon_len);
	hello.has_token = true;
	hello.token.p = G.o.token;
	hello.token.len = strlen(G.o.token);
	if (rc == 0)
		rc = collab_proto_encode_hello(&hello, G.hello_tok, sizeof(G.hello_tok),
					       &G.hello_tok_len);
	if (rc != 0) {
		fprintf(stderr, "loadgen: hello: %s\n", collab_strerror(rc));
		return 2;
	}

	G.nconn = (uint32_t)(G.o.rooms * (G.o.subs + G.o.pubs));
	G.npub = (uint32_t)(G.o.rooms * G.o.pubs);
	G.c = calloc(G.nconn, sizeof(*G.c));
	G.p = calloc(G.npub, sizeof(*G.p));
	G.r = calloc(G.o.rooms, sizeof(*G.r));
	G.cap_complete = G.o.wait_all ? (size_t)(G.o.rooms * G.o.events) : 0;
	G.complete = calloc(G.cap_complete ? G.cap_complete : 1, sizeof(*G.complete));
	if (!G.c || !G.p || !G.r || !G.complete) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	/* Connections room by room, the publishers last in each room, so
	 * that they join once the room is full. */
	k = 0;
	for (r = 0; r < G.o.rooms; r++) {
		G.r[r].nconn = (uint32_t)(G.o.subs + G.o.pubs);
		for (i = 0; i < G.o.subs + G.o.pubs; i++, k++) {
			G.c[k].room = (uint32_t)r;
			if (i >= G.o.subs) {
				uint32_t pi = (uint32_t)(r * G.o.pubs + (i - G.o.subs));

				G.c[k].pub = pi + 1;
				G.p[pi].conn = k;
				G.p[pi].room = (uint32_t)r;
			}
		}
	}

	collab_loop_config_init(&lc);
	lc.max_events = 4096;
	collab_wsctx_config_init(&wc);
	wc.user_size = sizeof(uint32_t);
	wc.ping_interval_ms = 0;
	wc.idle_timeout_ms = 0;
	wc.handshake_timeout_ms = 60000;
	wc.max_iov = 1024;
	wc.queue_limit = (size_t)64 << 20;
	if (collab_loop_init(&G.loop, &lc) != 0 ||
	    collab_wsctx_init(&G.ws, &G.loop, &wc) != 0) {
		fprintf(stderr, "loadgen: loop or context init failed\n");
		return 1;
	}
	G.hd.on_open = on_open;
	G.hd.on_message = on_message;
	G.hd.on_close = on_close;
	collab_loop_timer_init(&G.tick, on_tick, NULL);
	G.t_start = collab_loop_update_now(&G.loop);
	G.phase = PH_CONNECT;
	start_connects();
	if (!G.failed && collab_loop_timer_arm(&G.loop, &G.tick, LG_TICK_MS) == 0)
		(void)collab_loop_run(&G.loop);
	if (!G.failed)
		report();
	collab_loop_timer_cancel(&G.loop, &G.tick);
	collab_wsctx_drop_all(&G.ws);
	collab_wsctx_free(&G.ws);
	collab_loop_free(&G.loop);
	free(G.c);
	free(G.p);
	free(G.r);
	free(G.complete);
	return G.failed ? 1 : 0;
}
