/*
 * client_fake.h - the harness of check_client.c and check_client_state.c:
 * one loop, one wsctx, a collab client and a scripted fake server (wsconn's
 * server role on 127.0.0.1, same loop) that records what the client sends
 * and sends what the test tells it to. Tests run turns of the loop until a
 * condition holds (real clock; the client's delays are configured small).
 *
 * Everything lives in the static F (Check forks every test).
 */
#ifndef COLLAB_CLIENT_FAKE_H
#define COLLAB_CLIENT_FAKE_H

#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collab/client.h"
#include "collab/http.h"
#include "collab/loop.h"
#include "collab/proto.h"
#include "collab/wsconn.h"

#define FK_MAX_RX 256
#define FK_MSG_CAP 16384
#define FK_MAX_EV 256

/* Ids the "other users" use in scripted events. */
#define ID_A  "00000000-0000-4000-8000-00000000000a"
#define ID_B  "00000000-0000-4000-8000-00000000000b"
#define ID_C  "00000000-0000-4000-8000-00000000000c"
#define CM_1  "00000000-0000-4000-8000-000000000101"
#define CM_2  "00000000-0000-4000-8000-000000000102"
#define CM_3  "00000000-0000-4000-8000-000000000103"
#define BID_1 "00000000-0000-4000-8000-0000000b0001"
#define BID_2 "00000000-0000-4000-8000-0000000b0002"
#define BID_3 "00000000-0000-4000-8000-0000000b0003"
#define BID_4 "00000000-0000-4000-8000-0000000b0004"
#define BID_5 "00000000-0000-4000-8000-0000000b0005"
#define BID_6 "00000000-0000-4000-8000-0000000b0006"

struct fk_msg {
	uint64_t conn;          /* which accepted connection (1, 2, ...) */
	struct collab_wsconn_handle h;
	uint64_t at;            /* fk_ms() when it arrived */
	size_t len;
	char p[FK_MSG_CAP];
};

struct fake {
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_wsconn_listener l;
	struct collab_wsconn_handlers shd;
	struct collab_client c;
	struct collab_client_config cfg;
	struct collab_client_handlers chd;
	char url[256];
	size_t url_len;
	/* server side */
	struct collab_wsconn_handle cur;  /* the latest accepted connection */
	uint64_t accepted, opened, closed;
	uint64_t live_conn;               /* the last one fk_go_live() answered */
	uint16_t close_code;              /* the client's close code seen */
	unsigned reject_status;           /* answer upgrades with this */
	char offered_proto[64];
	struct fk_msg rx[FK_MAX_RX];
	size_t nrx;
	/* client side, as the callbacks saw it */
	enum collab_client_state states[64];
	size_t nstates;
	struct collab_client_close_info last_ci;
	int acks, rejects, errors, resets, synced, welcomes, snapshots, tokens;
	int room_errors;
	char ack_bid[FK_MAX_EV][37];
	char rej_bid[FK_MAX_EV][37];
	enum collab_proto_err rej_code[FK_MAX_EV];
	char rej_msg[128];
	uint64_t ev_seq[FK_MAX_EV];
	char ev_bid[FK_MAX_EV][37];
	int nev;
	uint64_t count;
	int raw;
	const char *set_token_on_connect;
};

static struct fake F;

/* ---- server side ---------------------------------------------------------- */

static inline uint64_t fk_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}


static inline void fk_on_request(struct collab_wsconn *wc,
			  const struct collab_wsconn_request *req)
{
	struct collab_str v;

	F.accepted++;
	F.offered_proto[0] = '\0';
	if (collab_http_header_get(req->http->headers, req->http->num_headers,
				   "Sec-WebSocket-Protocol", &v) == 0 &&
	    v.len < sizeof(F.offered_proto)) {
		memcpy(F.offered_proto, v.p, v.len);
		F.offered_proto[v.len] = '\0';
	}
	if (F.reject_status) {
		collab_wsconn_reject(wc, F.reject_status, NULL, 0,
				     (struct collab_str){ NULL, 0 });
		return;
	}
	collab_wsconn_accept(wc, collab_http_offers_protocol(req->http, "collab.v1") ?
			     COLLAB_STR("collab.v1") : (struct collab_str){ NULL, 0 });
}

static inline void fk_on_open(struct collab_wsconn *wc, struct collab_str proto)
{
	(void)proto;
	F.cur = collab_wsconn_handle(wc);
	F.opened++;
}

static inline void fk_on_message(struct collab_wsconn *wc, enum collab_ws_opcode op,
			  const uint8_t *p, size_t len)
{
	(void)op;
	ck_assert_uint_lt(F.nrx, FK_MAX_RX);
	ck_assert_uint_lt(len, FK_MSG_CAP);
	F.rx[F.nrx].conn = F.opened;
	F.rx[F.nrx].h = collab_wsconn_handle(wc);
	F.rx[F.nrx].at = fk_ms();
	F.rx[F.nrx].len = len;
	memcpy(F.rx[F.nrx].p, p, len);
	F.rx[F.nrx].p[len] = '\0';
	F.nrx++;
}

static inline void fk_on_close(struct collab_wsconn *wc,
			const struct collab_wsconn_close_info *ci)
{
	(void)wc;
	F.closed++;
	F.close_code = ci->code;
}

/* ---- client side ---------------------------------------------------------------- */

static void fc_on_state(struct collab_client *c, enum collab_client_state st,
			const struct collab_client_close_info *ci)
{
	(void)c;
	if (F.nstates < 64)
		F.states[F.nstates++] = st;
	if (ci)
		F.last_ci = *ci;
}

static void fc_on_token(struct collab_client *c)
{
	F.tokens++;
	if (F.set_token_on_connect)
		ck_assert_int_eq(collab_client_set_token(c, F.set_token_on_connect,
							 strlen(F.set_token_on_connect)), 0);
}

static void fc_on_raw(struct collab_client *c, const uint8_t *p, size_t len)
{
	(void)c;
	(void)p;
	(void)len;
	F.raw++;
}

static void fc_on_welcome(struct collab_client *c,
			  const struct collab_proto_welcome_view *w)
{
	(void)c;
	(void)w;
	F.welcomes++;
}

static void fc_on_snapshot(struct collab_client *c,
			   const struct collab_proto_server_msg *m)
{
	(void)c;
	(void)m;
	F.snapshots++;
}

static void fc_on_synced(struct collab_client *c, uint64_t seq)
{
	(void)c;
	(void)seq;
	F.synced++;
}

static void fc_on_reset(struct collab_client *c)
{
	(void)c;
	F.resets++;
}

static void fc_on_event(struct collab_client *c,
			const struct collab_proto_server_msg *m,
			const struct collab_proto_event_view *ev)
{
	(void)c;
	(void)m;
	ck_assert_int_lt(F.nev, FK_MAX_EV);
	F.ev_seq[F.nev] = ev->seq;
	ck_assert_uint_le(ev->broadcast_id.len, 36);
	memcpy(F.ev_bid[F.nev], ev->broadcast_id.p, ev->broadcast_id.len);
	F.ev_bid[F.nev][ev->broadcast_id.len] = '\0';
	F.nev++;
}

static void fc_on_count(struct collab_client *c, uint64_t n)
{
	(void)c;
	F.count = n;
}

static void fc_on_ack(struct collab_client *c, struct collab_str bid,
		      const struct collab_proto_event_view *ev)
{
	(void)c;
	(void)ev;
	ck_assert_int_lt(F.acks, FK_MAX_EV);
	ck_assert_uint_eq(bid.len, 36);
	memcpy(F.ack_bid[F.acks], bid.p, 36);
	F.ack_bid[F.acks][36] = '\0';
	F.acks++;
}

static void fc_on_reject(struct collab_client *c, struct collab_str bid,
			 enum collab_proto_err code, struct collab_str msg)
{
	(void)c;
	ck_assert_int_lt(F.rejects, FK_MAX_EV);
	memcpy(F.rej_bid[F.rejects], bid.p, 36);
	F.rej_bid[F.rejects][36] = '\0';
	F.rej_code[F.rejects] = code;
	snprintf(F.rej_msg, sizeof(F.rej_msg), "%.*s", (int)msg.len, msg.p);
	F.rejects++;
}

static void fc_on_error(struct collab_client *c,
			const struct collab_proto_error_view *e)
{
	(void)c;
	(void)e;
	F.errors++;
}

static void fc_on_room_error(struct collab_client *c, int err)
{
	(void)c;
	(void)err;
	F.room_errors++;
}

/* ---- set-up ------------------------------------------------------------------------ */

/* Defaults for tests: short delays, the local copy on. */
static inline void fk_config(struct collab_client_config *cfg)
{
	collab_client_config_init(cfg);
	cfg->backoff_base_ms = 5;
	cfg->backoff_cap_ms = 20;
	cfg->stable_ms = 10000;
	cfg->keep_room = true;
	cfg->ops_per_second = 0;
}

static inline void fk_setup_with(const struct collab_client_config *cfg)
{
	struct collab_wsctx_config wc;
	int n;

	memset(&F, 0, sizeof(F));
	ck_assert_int_eq(collab_loop_init(&F.loop, NULL), 0);
	collab_wsctx_config_init(&wc);
	ck_assert_int_eq(collab_wsctx_init(&F.ws, &F.loop, &wc), 0);
	F.shd.on_request = fk_on_request;
	F.shd.on_open = fk_on_open;
	F.shd.on_message = fk_on_message;
	F.shd.on_close = fk_on_close;
	ck_assert_int_eq(collab_wsconn_listen(&F.l, &F.ws, "127.0.0.1:0", 11,
					      &F.shd, NULL), 0);
	n = snprintf(F.url, sizeof(F.url),
		     "ws://127.0.0.1:%u/ws?tenantId=t&urlId=u", (unsigned)F.l.port);
	F.url_len = (size_t)n;
	F.chd.on_state = fc_on_state;
	F.chd.on_token = fc_on_token;
	F.chd.on_raw = fc_on_raw;
	F.chd.on_welcome = fc_on_welcome;
	F.chd.on_snapshot = fc_on_snapshot;
	F.chd.on_synced = fc_on_synced;
	F.chd.on_reset = fc_on_reset;
	F.chd.on_event = fc_on_event;
	F.chd.on_count = fc_on_count;
	F.chd.on_ack = fc_on_ack;
	F.chd.on_reject = fc_on_reject;
	F.chd.on_error = fc_on_error;
	F.chd.on_room_error = fc_on_room_error;
	F.cfg = *cfg;
	ck_assert_int_eq(collab_client_init(&F.c, &F.ws, &F.cfg, &F.chd), 0);
}

static inline void fk_setup(void)
{
	struct collab_client_config cfg;

	fk_config(&cfg);
	fk_setup_with(&cfg);
}

static inline void fk_teardown(void)
{
	collab_client_free(&F.c);
	collab_wsconn_unlisten(&F.l);
	collab_wsctx_free(&F.ws);
	collab_loop_free(&F.loop);
}

/* Runs turns for ms milliseconds. */
static inline int fk_run_for(uint64_t ms)
{
	uint64_t end = fk_ms() + ms;

	while (fk_ms() < end)
		ck_assert_int_eq(collab_loop_run_once(&F.loop, 5), 0);
	return 1;
}

#define WAIT_FOR(cond, ms)                                                        \
	do {                                                                      \
		uint64_t wf_end_ = fk_ms() + (ms);                                \
		while (!(cond)) {                                                 \
			ck_assert_msg(fk_ms() < wf_end_, "timed out: %s", #cond); \
			ck_assert_int_eq(collab_loop_run_once(&F.loop, 5), 0);    \
		}                                                                 \
	} while (0)

/* ---- the fake server's scripted messages -------------------------------------------------- */

static inline void srv_send(const char *s)
{
	ck_assert_int_eq(collab_wsconn_send(&F.ws, F.cur, COLLAB_WS_OP_TEXT, s,
					    strlen(s)), 0);
}

static inline void srv_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void srv_sendf(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck_assert(n > 0 && (size_t)n < sizeof(buf));
	srv_send(buf);
}

static inline void srv_welcome(uint64_t seq, const char *resync, const char *epoch)
{
	srv_sendf("{\"type\":\"welcome\",\"connectionId\":\"00000000-0000-4000-8000-0000000000cc\","
		  "\"user\":{\"id\":\"u1\",\"name\":\"Ann\",\"moderator\":false},"
		  "\"epoch\":\"%s\",\"seq\":%" PRIu64 ",\"count\":2,\"resync\":\"%s\"}",
		  epoch, seq, resync);
}

static inline void srv_synced(uint64_t seq)
{
	srv_sendf("{\"type\":\"synced\",\"seq\":%" PRIu64 "}", seq);
}

/* A chat object as events and snapshots show it (one comment). */
static inline int chat_json(char *out, size_t cap, const char *id, const char *cm,
		     const char *user, const char *text, int resolved)
{
	return snprintf(out, cap,
			"{\"id\":\"%s\",\"anchor\":{\"quote\":\"q\"},\"userId\":\"%s\","
			"\"userName\":\"N%s\",\"createdAt\":100,\"resolved\":%s,"
			"\"comments\":[{\"id\":\"%s\",\"userId\":\"%s\",\"userName\":\"N%s\","
			"\"text\":\"%s\",\"createdAt\":100}]}",
			id, user, user, resolved ? "true" : "false", cm, user, user, text);
}

static inline void ev_new(char *out, size_t cap, uint64_t seq, const char *bid,
		   const char *id, const char *cm, const char *user, const char *text)
{
	char chat[2048];
	int n;

	chat_json(chat, sizeof(chat), id, cm, user, text, 0);
	n = snprintf(out, cap, "{\"type\":\"new-text-chat\",\"seq\":%" PRIu64
		     ",\"broadcastId\":\"%s\",\"ts\":100,\"userId\":\"%s\",\"chat\":%s}",
		     seq, bid, user, chat);
	ck_assert(n > 0 && (size_t)n < cap);
}

static inline void ev_update(char *out, size_t cap, uint64_t seq, const char *bid,
		      const char *chat, const char *rest)
{
	int n = snprintf(out, cap, "{\"type\":\"updated-text-chat\",\"seq\":%" PRIu64
			 ",\"broadcastId\":\"%s\",\"ts\":100,\"userId\":\"u2\","
			 "\"chatId\":\"%s\",%s}", seq, bid, chat, rest);
	ck_assert(n > 0 && (size_t)n < cap);
}

static inline void ev_delete(char *out, size_t cap, uint64_t seq, const char *bid,
		      const char *chat)
{
	int n = snprintf(out, cap, "{\"type\":\"deleted-text-chat\",\"seq\":%" PRIu64
			 ",\"broadcastId\":\"%s\",\"ts\":100,\"userId\":\"u2\","
			 "\"chatId\":\"%s\"}", seq, bid, chat);
	ck_assert(n > 0 && (size_t)n < cap);
}

/* The client's message number i, parsed as an operation (server side). */
static struct fk_op {
	struct collab_proto_op op;
	struct collab_json_node nodes[8192];
	uint8_t scratch[16384];
} FOP;

static inline const struct collab_proto_op *srv_op(size_t i)
{
	struct collab_proto_mem mem = { FOP.nodes, 8192, FOP.scratch, sizeof(FOP.scratch) };

	ck_assert_uint_lt(i, F.nrx);
	ck_assert_int_eq(collab_proto_parse_op(NULL, &mem, (const uint8_t *)F.rx[i].p,
					       F.rx[i].len, &FOP.op), 0);
	return &FOP.op;
}

static struct collab_proto_hello FHELLO;

static inline const struct collab_proto_hello *srv_hello(size_t i)
{
	struct collab_proto_mem mem = { FOP.nodes, 8192, FOP.scratch, sizeof(FOP.scratch) };

	ck_assert_uint_lt(i, F.nrx);
	ck_assert_int_eq(collab_proto_parse_hello(NULL, &mem, (const uint8_t *)F.rx[i].p,
						  F.rx[i].len, &FHELLO), 0);
	return &FHELLO;
}

/* Starts the client and brings it live on an empty room (epoch "e1",
 * seq 0, snapshot). */
static inline int fk_has_msg(uint64_t conn)
{
	size_t i;

	for (i = 0; i < F.nrx; i++)
		if (F.rx[i].conn == conn)
			return 1;
	return 0;
}

static inline void fk_go_live(uint64_t seq)
{
	int s0 = F.synced;

	if (collab_client_state(&F.c) == COLLAB_CLIENT_IDLE)
		ck_assert_int_eq(collab_client_start(&F.c, F.url, F.url_len), 0);
	/* The hello of a connection not brought live yet (whenever it came). */
	WAIT_FOR(F.opened > F.live_conn && fk_has_msg(F.opened), 2000);
	F.live_conn = F.opened;
	srv_welcome(seq, "snapshot", "e1");
	srv_sendf("{\"type\":\"snapshot\",\"seq\":%" PRIu64 ",\"reset\":true,\"chats\":[]}", seq);
	srv_synced(seq);
	WAIT_FOR(F.synced > s0, 2000);
	ck_assert_int_eq(collab_client_state(&F.c), COLLAB_CLIENT_LIVE);
}

/* The chat's info by id (must exist). */
static inline struct collab_client_chat_info chat_info(const char *id)
{
	struct collab_client_chat_info ci;
	const struct collab_client_chat *ch = collab_client_chat_find(&F.c, id, strlen(id));

	ck_assert_msg(ch != NULL, "chat %s not in the local copy", id);
	collab_client_chat_get(ch, &ci);
	return ci;
}

static inline int str_is(struct collab_str s, const char *z)
{
	return s.len == strlen(z) && memcmp(s.p, z, s.len) == 0;
}

#endif
