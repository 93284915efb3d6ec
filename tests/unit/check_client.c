/*
 * check_client.c - the client module: backoff (bounds, full jitter, cap,
 * reset after a stable connection), URL building, the session start,
 * reconnect rules (1001 at once, never after 4401/4403, HTTP refusals),
 * retries with the same broadcastId after a reconnect, the offline queue
 * and its bound, pacing, rejections, raw messages, closing, malformed
 * server messages. The client runs against a scripted fake server on the
 * same loop (client_fake.h); check_client_state.c covers the local copy.
 */
#include "client_fake.h"

#include "testutil.h"

/* ---- backoff ---------------------------------------------------------------- */

static struct collab_rng seeded(uint8_t s)
{
	struct collab_rng r;
	uint8_t seed[32];

	memset(seed, s, sizeof(seed));
	ck_assert_int_eq(collab_rng_init_seed(&r, seed, sizeof(seed)), 0);
	return r;
}

static const struct {
	uint32_t attempt;
	uint64_t ceiling; /* min(30000, 500 * 2^attempt) */
} backoff_table[] = {
	{ 0, 500 }, { 1, 1000 }, { 2, 2000 }, { 3, 4000 }, { 4, 8000 },
	{ 5, 16000 }, { 6, 30000 }, { 7, 30000 }, { 31, 30000 },
	{ 62, 30000 }, { 63, 30000 }, { 64, 30000 }, { UINT32_MAX, 30000 },
};

START_TEST(test_backoff_bounds)
{
	struct collab_rng r = seeded(1);
	uint64_t ceil = backoff_table[_i].ceiling, d, lo = UINT64_MAX, hi = 0;
	int i;

	for (i = 0; i < 2000; i++) {
		ck_assert_int_eq(collab_client_backoff(NULL, &r, backoff_table[_i].attempt, &d), 0);
		ck_assert_uint_le(d, ceil);
		if (d < lo)
			lo = d;
		if (d > hi)
			hi = d;
	}
	/* Full jitter: the whole range [0, ceiling] is used. */
	ck_assert_uint_le(lo, ceil / 50);
	ck_assert_uint_ge(hi, ceil - ceil / 50);
}
END_TEST

START_TEST(test_backoff_distribution)
{
	struct collab_rng r = seeded(7), r2 = seeded(7);
	uint64_t d, d2, sum = 0;
	size_t bucket[10] = { 0 };
	const int n = 20000;
	int i;

	/* attempt 2: uniform over [0, 2000], 2001 values. */
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(collab_client_backoff(NULL, &r, 2, &d), 0);
		if (i < 100) {
			ck_assert_int_eq(collab_client_backoff(NULL, &r2, 2, &d2), 0);
			ck_assert_uint_eq(d, d2); /* a fixed function of the seed */
		}
		ck_assert_uint_le(d, 2000);
		sum += d;
		bucket[d * 10 / 2001]++;
	}
	/* mean 1000 (sigma about 4); each tenth 2000 +- 8 % (about 4 sigma) */
	ck_assert_uint_ge(sum / (uint64_t)n, 980);
	ck_assert_uint_le(sum / (uint64_t)n, 1020);
	for (i = 0; i < 10; i++) {
		ck_assert_uint_ge(bucket[i], 1840);
		ck_assert_uint_le(bucket[i], 2160);
	}
}
END_TEST

START_TEST(test_backoff_inclusive_and_config)
{
	struct collab_client_config cfg;
	struct collab_rng r = seeded(3);
	uint64_t d;
	int seen[2] = { 0, 0 }, i;

	collab_client_config_init(&cfg);
	ck_assert_uint_eq(cfg.backoff_base_ms, 500);
	ck_assert_uint_eq(cfg.backoff_cap_ms, 30000);
	ck_assert_uint_eq(cfg.stable_ms, 10000);
	cfg.backoff_base_ms = 1;
	cfg.backoff_cap_ms = 1;
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(collab_client_backoff(&cfg, &r, 5, &d), 0);
		ck_assert_uint_le(d, 1);
		seen[d]++;
	}
	ck_assert(seen[0] > 0 && seen[1] > 0);
	cfg.backoff_base_ms = 0;
	ck_assert_int_eq(collab_client_backoff(&cfg, &r, 0, &d), COLLAB_EINVAL);
	cfg.backoff_base_ms = 10;
	cfg.backoff_cap_ms = 5;
	ck_assert_int_eq(collab_client_backoff(&cfg, &r, 0, &d), COLLAB_EINVAL);
	cfg.backoff_cap_ms = COLLAB_CLIENT_BACKOFF_MAX_MS + 1;
	ck_assert_int_eq(collab_client_backoff(&cfg, &r, 0, &d), COLLAB_EINVAL);
	cfg.backoff_cap_ms = COLLAB_CLIENT_BACKOFF_MAX_MS;
	ck_assert_int_eq(collab_client_backoff(&cfg, &r, 40, &d), 0);
	ck_assert_int_eq(collab_client_backoff(&cfg, NULL, 0, &d), COLLAB_EINVAL);
	ck_assert_int_eq(collab_client_backoff(&cfg, &r, 0, NULL), COLLAB_EINVAL);
}
END_TEST

/* ---- URLs ---------------------------------------------------------------------- */

static const struct {
	const char *base, *tenant, *url_id;
	int rc;
	const char *want;
} url_table[] = {
	{ "ws://127.0.0.1:8080", "demo", "https://a.example/p?x=1#f", 0,
	  "ws://127.0.0.1:8080/ws?tenantId=demo&urlId=https%3A%2F%2Fa.example%2Fp%3Fx%3D1%23f" },
	{ "ws://h:1/", "t_1-x", "a b+c~", 0, "ws://h:1/ws?tenantId=t_1-x&urlId=a+b%2Bc%7E" },
	{ "wss://h/custom/ws", "t", "*-._AZaz09", 0, "wss://h/custom/ws?tenantId=t&urlId=*-._AZaz09" },
	{ "ws://h", "t", "\xc3\xa9\x01&=%", 0, "ws://h/ws?tenantId=t&urlId=%C3%A9%01%26%3D%25" },
	{ "ws://h/ws?tenantId=x", "t", "u", COLLAB_ESYNTAX, NULL },
	{ "ws://h/ws?", "t", "u", COLLAB_ESYNTAX, NULL },
	{ "http://h", "t", "u", COLLAB_ESYNTAX, NULL },
	{ "ws://h#x", "t", "u", COLLAB_ESYNTAX, NULL },
	{ "ws://h", "", "u", COLLAB_EINVAL, NULL },
	{ "ws://h", "t", "", COLLAB_EINVAL, NULL },
};

START_TEST(test_build_url)
{
	char out[512];
	size_t len = 0, i;
	struct collab_str b = { url_table[_i].base, strlen(url_table[_i].base) };
	struct collab_str t = { url_table[_i].tenant, strlen(url_table[_i].tenant) };
	struct collab_str u = { url_table[_i].url_id, strlen(url_table[_i].url_id) };
	int rc = collab_client_build_url(b, t, u, out, sizeof(out), &len);

	ck_assert_int_eq(rc, url_table[_i].rc);
	if (rc != 0)
		return;
	ck_assert_uint_eq(len, strlen(url_table[_i].want));
	ck_assert(memcmp(out, url_table[_i].want, len) == 0);
	/* Every smaller buffer: ESPACE. */
	for (i = 0; i < len; i++)
		ck_assert_int_eq(collab_client_build_url(b, t, u, out, i, &len),
				 COLLAB_ESPACE);
}
END_TEST

/* ---- init and start -------------------------------------------------------------- */

START_TEST(test_init_errors)
{
	struct collab_client_config cfg;
	struct collab_client c;

	fk_setup();
	ck_assert_int_eq(collab_client_init(&c, NULL, NULL, NULL), COLLAB_EINVAL);
	collab_client_free(&c); /* a no-op after a failed init */
	collab_client_config_init(&cfg);
	cfg.max_pending = 0;
	ck_assert_int_eq(collab_client_init(&c, &F.ws, &cfg, NULL), COLLAB_EINVAL);
	collab_client_config_init(&cfg);
	cfg.backoff_cap_ms = 1;
	ck_assert_int_eq(collab_client_init(&c, &F.ws, &cfg, NULL), COLLAB_EINVAL);
	collab_client_config_init(&cfg);
	ck_assert_int_eq(collab_client_init(&c, &F.ws, &cfg, NULL), 0);
	ck_assert_int_eq(collab_client_start(&c, "http://x", 8), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_client_start(&c, "wss://x/ws", 10), COLLAB_EINVAL);
	ck_assert_int_eq(collab_client_reconnect(&c), COLLAB_ESTATE);
	ck_assert_int_eq(collab_client_state(&c), COLLAB_CLIENT_IDLE);
	ck_assert_str_eq(collab_client_state_name(COLLAB_CLIENT_AUTH_FAILED), "auth-failed");
	ck_assert_str_eq(collab_client_state_name((enum collab_client_state)99), "unknown");
	collab_client_free(&c);
	collab_client_free(&c);
	fk_teardown();
}
END_TEST

START_TEST(test_session_start)
{
	const struct collab_proto_hello *h;

	fk_setup();
	ck_assert_int_eq(collab_client_start(&F.c, F.url, F.url_len), 0);
	ck_assert_int_eq(collab_client_start(&F.c, F.url, F.url_len), COLLAB_ESTATE);
	ck_assert_uint_eq(F.nstates, 1);
	ck_assert_int_eq(F.states[0], COLLAB_CLIENT_CONNECTING);
	WAIT_FOR(F.nrx == 1, 2000);
	ck_assert_str_eq(F.offered_proto, "collab.v1");
	ck_assert_int_eq(collab_client_state(&F.c), COLLAB_CLIENT_SYNCING);
	h = srv_hello(0);
	ck_assert(!h->has_token);
	ck_assert(!h->has_since);
	ck_assert_int_eq(F.tokens, 1);
	srv_welcome(7, "snapshot", "e1");
	srv_send("{\"type\":\"snapshot\",\"seq\":7,\"reset\":true,\"chats\":[]}");
	srv_send("{\"type\":\"user-count\",\"count\":5}");
	srv_synced(7);
	WAIT_FOR(F.synced == 1, 2000);
	ck_assert_uint_eq(F.nstates, 3);
	ck_assert_int_eq(F.states[1], COLLAB_CLIENT_SYNCING);
	ck_assert_int_eq(F.states[2], COLLAB_CLIENT_LIVE);
	ck_assert_uint_eq(collab_client_seq(&F.c), 7);
	ck_assert(str_is(collab_client_epoch(&F.c), "e1"));
	ck_assert(str_is(collab_client_user_id(&F.c), "u1"));
	ck_assert(str_is(collab_client_user_name(&F.c), "Ann"));
	ck_assert_uint_eq(collab_client_count(&F.c), 5);
	ck_assert_uint_eq(F.count, 5);
	ck_assert_int_eq(F.welcomes, 1);
	ck_assert_int_eq(F.snapshots, 1);
	ck_assert_int_eq(F.resets, 1);
	ck_assert_int_eq(F.raw, 4);
	fk_teardown();
}
END_TEST

START_TEST(test_hello_token_and_since)
{
	const struct collab_proto_hello *h;

	fk_setup();
	ck_assert_int_eq(collab_client_set_token(&F.c, "tok.en.1", 8), 0);
	fk_go_live(5);
	h = srv_hello(0);
	ck_assert(h->has_token);
	ck_assert(str_is(h->token, "tok.en.1"));
	ck_assert(!h->has_since);
	/* A refreshed token from on_token, and the position. */
	F.set_token_on_connect = "tok.en.2";
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(F.nrx == 2, 2000);
	h = srv_hello(1);
	ck_assert(str_is(h->token, "tok.en.2"));
	ck_assert(h->has_since);
	ck_assert_uint_eq(h->since, 5);
	ck_assert(str_is(h->epoch, "e1"));
	/* forget(): the next hello has no since. */
	collab_client_forget(&F.c);
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(F.nrx == 3, 2000);
	h = srv_hello(2);
	ck_assert(!h->has_since);
	/* Anonymous again. */
	ck_assert_int_eq(collab_client_set_token(&F.c, NULL, 0), 0);
	F.set_token_on_connect = NULL;
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(F.nrx == 4, 2000);
	ck_assert(!srv_hello(3)->has_token);
	ck_assert_int_eq(collab_client_set_token(&F.c, "\xff", 1), COLLAB_EUTF8);
	fk_teardown();
}
END_TEST

/* ---- reconnect ------------------------------------------------------------------ */

START_TEST(test_drop_reconnects_and_stable_reset)
{
	struct collab_client_config cfg;
	int i;

	fk_config(&cfg);
	cfg.stable_ms = 1000;
	fk_setup_with(&cfg);
	fk_go_live(0);
	for (i = 1; i <= 3; i++) {
		/* Dropped before it was live long: the counter grows. */
		collab_wsconn_drop(&F.ws, F.cur);
		WAIT_FOR(collab_client_state(&F.c) == COLLAB_CLIENT_RECONNECTING, 2000);
		ck_assert_uint_eq(F.last_ci.code, 1006);
		ck_assert_uint_eq(collab_client_attempts(&F.c), (uint32_t)(2 * i - 1));
		ck_assert_uint_le(collab_client_retry_delay(&F.c), 20);
		fk_go_live(0);
		/* and once more before it is stable */
		collab_wsconn_drop(&F.ws, F.cur);
		WAIT_FOR(collab_client_state(&F.c) == COLLAB_CLIENT_RECONNECTING, 2000);
		fk_go_live(0);
	}
	ck_assert_uint_eq(collab_client_attempts(&F.c), 6);
	/* Live for stable_ms: reset. */
	fk_run_for(1200);
	ck_assert_uint_eq(collab_client_attempts(&F.c), 0);
	fk_teardown();
}
END_TEST

START_TEST(test_1001_immediate_once)
{
	struct collab_client_config cfg;
	struct collab_rng r = seeded(9), twin = seeded(9);
	uint64_t want;
	uint64_t t0;

	fk_config(&cfg);
	cfg.backoff_base_ms = 60000;
	cfg.backoff_cap_ms = 60000;
	cfg.rng = &r;
	fk_setup_with(&cfg);
	fk_go_live(0);
	t0 = fk_ms();
	ck_assert_int_eq(collab_wsconn_close(&F.ws, F.cur, 1001, NULL, 0), 0);
	WAIT_FOR(F.opened == 2, 3000);
	ck_assert_uint_lt(fk_ms() - t0, 1000); /* not the 60 s backoff */
	ck_assert_uint_eq(F.last_ci.code, 1001);
	ck_assert_uint_eq(collab_client_attempts(&F.c), 0);
	/* A second 1001 before the client was live again: backoff, with
	 * the jitter the twin rng predicts. */
	WAIT_FOR(F.nrx == 2, 2000);
	ck_assert_int_eq(collab_wsconn_close(&F.ws, F.cur, 1001, NULL, 0), 0);
	WAIT_FOR(collab_client_state(&F.c) == COLLAB_CLIENT_RECONNECTING, 2000);
	ck_assert_int_eq(collab_client_backoff(&cfg, &twin, 0, &want), 0);
	ck_assert_uint_eq(collab_client_retry_delay(&F.c), want);
	ck_assert_uint_eq(collab_client_attempts(&F.c), 1);
	if (want > 300) {
		fk_run_for(200);
		ck_assert_uint_eq(F.opened, 2);
	}
	fk_teardown();
}
END_TEST

static const uint16_t auth_codes[] = { 4401, 4403 };

START_TEST(test_auth_failed_stops)
{
	fk_setup();
	ck_assert_int_eq(collab_client_start(&F.c, F.url, F.url_len), 0);
	WAIT_FOR(F.nrx == 1, 2000);
	ck_assert_int_eq(collab_wsconn_close(&F.ws, F.cur, auth_codes[_i], "no", 2), 0);
	WAIT_FOR(collab_client_state(&F.c) == COLLAB_CLIENT_AUTH_FAILED, 2000);
	ck_assert_uint_eq(F.last_ci.code, auth_codes[_i]);
	ck_assert(str_is(collab_client_last_close(&F.c)->reason, "no"));
	ck_assert_uint_eq(collab_client_retry_delay(&F.c), 0);
	/* Never again by itself (the backoff would be at most 20 ms). */
	fk_run_for(200);
	ck_assert_uint_eq(F.accepted, 1);
	ck_assert_int_eq(collab_client_state(&F.c), COLLAB_CLIENT_AUTH_FAILED);
	/* Operations still queue meanwhile. */
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "x", 1, NULL), 0);
	/* A new token and an explicit reconnect. */
	ck_assert_int_eq(collab_client_set_token(&F.c, "new", 3), 0);
	ck_assert_int_eq(collab_client_reconnect(&F.c), 0);
	ck_assert_int_eq(collab_client_state(&F.c), COLLAB_CLIENT_RECONNECTING);
	WAIT_FOR(F.nrx == 2, 2000);
	ck_assert(str_is(srv_hello(1)->token, "new"));
	fk_teardown();
}
END_TEST

static const struct {
	unsigned status;
	enum collab_client_state want;
} refusals[] = {
	{ 401, COLLAB_CLIENT_AUTH_FAILED },
	{ 403, COLLAB_CLIENT_AUTH_FAILED },
	{ 400, COLLAB_CLIENT_CLOSED },
	{ 404, COLLAB_CLIENT_CLOSED },
	{ 503, COLLAB_CLIENT_RECONNECTING },
};

START_TEST(test_http_refusal)
{
	fk_setup();
	F.reject_status = refusals[_i].status;
	ck_assert_int_eq(collab_client_start(&F.c, F.url, F.url_len), 0);
	WAIT_FOR(F.nstates >= 2, 2000);
	ck_assert_int_eq(F.states[1], refusals[_i].want);
	ck_assert_uint_eq(F.last_ci.http_status, refusals[_i].status);
	ck_assert_int_eq(F.last_ci.err, COLLAB_EHANDSHAKE);
	if (refusals[_i].want == COLLAB_CLIENT_RECONNECTING) {
		F.reject_status = 0;
		WAIT_FOR(F.nrx == 1, 2000); /* it tried again */
	} else {
		fk_run_for(100);
		ck_assert_uint_eq(F.accepted, 1);
	}
	fk_teardown();
}
END_TEST

START_TEST(test_bad_hello_close_stops)
{
	fk_setup();
	ck_assert_int_eq(collab_client_start(&F.c, F.url, F.url_len), 0);
	WAIT_FOR(F.nrx == 1, 2000);
	ck_assert_int_eq(collab_wsconn_close(&F.ws, F.cur, 4400, NULL, 0), 0);
	WAIT_FOR(collab_client_state(&F.c) == COLLAB_CLIENT_CLOSED, 2000);
	fk_teardown();
}
END_TEST

START_TEST(test_connect_refused_retries)
{
	struct collab_client_config cfg;
	char url[64];
	int n;

	fk_config(&cfg);
	fk_setup_with(&cfg);
	/* A port nobody listens on: refused, again and again. */
	collab_wsconn_unlisten(&F.l);
	n = snprintf(url, sizeof(url), "ws://127.0.0.1:%u/ws?tenantId=t&urlId=u",
		     (unsigned)F.l.port);
	ck_assert_int_eq(collab_client_start(&F.c, url, (size_t)n), 0);
	WAIT_FOR(collab_client_attempts(&F.c) >= 3, 3000);
	ck_assert_int_eq(collab_client_state(&F.c), COLLAB_CLIENT_RECONNECTING);
	ck_assert_int_eq(F.last_ci.err, COLLAB_EIO);
	fk_teardown();
}
END_TEST

START_TEST(test_sync_timeout)
{
	struct collab_client_config cfg;

	fk_config(&cfg);
	cfg.sync_timeout_ms = 80;
	fk_setup_with(&cfg);
	ck_assert_int_eq(collab_client_start(&F.c, F.url, F.url_len), 0);
	WAIT_FOR(F.nrx == 1, 2000);
	/* No answer to hello: dropped, then tried again. */
	WAIT_FOR(F.nrx == 2, 2000);
	ck_assert_int_eq(collab_client_last_close(&F.c)->err, COLLAB_ETIMEDOUT);
	ck_assert_uint_eq(collab_client_last_close(&F.c)->sent_code, 1000);
	fk_teardown();
}
END_TEST

/* ---- retries and the queue ---------------------------------------------------------- */

START_TEST(test_retry_same_bytes_old_event_acks)
{
	struct collab_client_ids ids;
	char first[FK_MSG_CAP], ev[4096], chat[2048], snap[4096];
	size_t first_len;
	const struct collab_proto_op *op;

	fk_setup();
	fk_go_live(3);
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{\"q\":1}", 7, "hi", 2, &ids), 0);
	WAIT_FOR(F.nrx == 2, 2000);
	op = srv_op(1);
	ck_assert_str_eq(op->broadcast_id.text, ids.broadcast_id);
	ck_assert_str_eq(op->chat_id.text, ids.chat_id);
	ck_assert_str_eq(op->comment_id.text, ids.comment_id);
	memcpy(first, F.rx[1].p, F.rx[1].len);
	first_len = F.rx[1].len;
	/* The server applied it (seq 4) but the socket died before the
	 * echo went out. */
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(F.nrx == 3, 2000);
	ck_assert(srv_hello(2)->has_since);
	ck_assert_uint_eq(srv_hello(2)->since, 3);
	ck_assert_uint_eq(collab_client_pending(&F.c), 1);
	/* A snapshot resync that already holds the chat. */
	srv_welcome(4, "snapshot", "e1");
	chat_json(chat, sizeof(chat), ids.chat_id, ids.comment_id, "u1", "hi", 0);
	snprintf(snap, sizeof(snap), "{\"type\":\"snapshot\",\"seq\":4,\"reset\":true,\"chats\":[%s]}", chat);
	srv_send(snap);
	fk_run_for(50);
	ck_assert_uint_eq(F.nrx, 3); /* nothing resent before synced */
	srv_synced(4);
	WAIT_FOR(F.nrx == 4, 2000);
	/* Sent again: the same bytes, so the same broadcastId. */
	ck_assert_uint_eq(F.rx[3].len, first_len);
	ck_assert(memcmp(F.rx[3].p, first, first_len) == 0);
	/* The server answers the retry with the original event (seq 4). */
	ev_new(ev, sizeof(ev), 4, ids.broadcast_id, ids.chat_id, ids.comment_id, "u1", "hi");
	srv_send(ev);
	WAIT_FOR(F.acks == 1, 2000);
	ck_assert_str_eq(F.ack_bid[0], ids.broadcast_id);
	ck_assert_int_eq(F.nev, 0);
	ck_assert_uint_eq(collab_client_pending(&F.c), 0);
	ck_assert_uint_eq(collab_client_seq(&F.c), 4);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 1);
	ck_assert_uint_eq(chat_info(ids.chat_id).pending, 0);
	fk_teardown();
}
END_TEST

START_TEST(test_retry_answered_by_replay)
{
	struct collab_client_ids ids;
	char ev[4096];

	fk_setup();
	fk_go_live(3);
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "hi", 2, &ids), 0);
	WAIT_FOR(F.nrx == 2, 2000);
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(F.nrx == 3, 2000);
	srv_welcome(4, "replay", "e1");
	ev_new(ev, sizeof(ev), 4, ids.broadcast_id, ids.chat_id, ids.comment_id, "u1", "hi");
	srv_send(ev);
	srv_synced(4);
	WAIT_FOR(F.synced == 2, 2000);
	ck_assert_int_eq(F.acks, 1);
	ck_assert_int_eq(F.nev, 0);
	fk_run_for(50);
	ck_assert_uint_eq(F.nrx, 3); /* answered by the replay: not resent */
	ck_assert_uint_eq(collab_client_pending(&F.c), 0);
	fk_teardown();
}
END_TEST

START_TEST(test_offline_queue_bound_and_order)
{
	struct collab_client_config cfg;
	struct collab_client_ids ids[3];
	size_t i;

	fk_config(&cfg);
	cfg.max_pending = 3;
	fk_setup_with(&cfg);
	/* Before the first connection. */
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "one", 3, &ids[0]), 0);
	ck_assert_int_eq(collab_client_add_comment(&F.c, (struct collab_str){ ids[0].chat_id, 36 },
						   "two", 3, &ids[1]), 0);
	ck_assert_int_eq(collab_client_resolve(&F.c, (struct collab_str){ ids[0].chat_id, 36 },
					       true, &ids[2]), 0);
	ck_assert_int_eq(collab_client_delete_chat(&F.c, (struct collab_str){ ids[0].chat_id, 36 },
						   NULL), COLLAB_EQUEUE);
	ck_assert_int_eq(collab_client_send_raw(&F.c, (const uint8_t *)"{}", 2,
						(struct collab_str){ NULL, 0 }), COLLAB_EQUEUE);
	ck_assert_uint_eq(collab_client_pending(&F.c), 3);
	/* Shown as pending in the local copy. */
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 1);
	ck_assert_uint_eq(chat_info(ids[0].chat_id).pending,
			  COLLAB_CLIENT_PENDING_CREATE | COLLAB_CLIENT_PENDING_UPDATE);
	ck_assert_uint_eq(chat_info(ids[0].chat_id).n_comments, 2);
	fk_go_live(0);
	WAIT_FOR(F.nrx == 4, 2000);
	for (i = 0; i < 3; i++)
		ck_assert_str_eq(srv_op(1 + i)->broadcast_id.text, ids[i].broadcast_id);
	ck_assert_int_eq(srv_op(1)->type, COLLAB_PROTO_TYPE_NEW_TEXT_CHAT);
	ck_assert_int_eq(srv_op(2)->action, COLLAB_PROTO_ACTION_ADD_COMMENT);
	ck_assert_str_eq(srv_op(2)->comment_id.text, ids[1].comment_id);
	ck_assert_int_eq(srv_op(3)->action, COLLAB_PROTO_ACTION_RESOLVE);
	ck_assert(srv_op(3)->resolved);
	ck_assert_uint_eq(collab_client_pending(&F.c), 3); /* sent, unanswered */
	fk_teardown();
}
END_TEST

START_TEST(test_offline_while_reconnecting)
{
	struct collab_client_config cfg;
	struct collab_client_ids ids;

	fk_config(&cfg);
	cfg.backoff_base_ms = 150;
	cfg.backoff_cap_ms = 150;
	fk_setup_with(&cfg);
	fk_go_live(0);
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(collab_client_state(&F.c) == COLLAB_CLIENT_RECONNECTING, 2000);
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "offline", 7, &ids), 0);
	ck_assert_uint_eq(chat_info(ids.chat_id).pending, COLLAB_CLIENT_PENDING_CREATE);
	fk_run_for(20);
	ck_assert_int_ne(collab_client_state(&F.c), COLLAB_CLIENT_LIVE);
	fk_go_live(0);
	WAIT_FOR(F.nrx == 3, 2000);
	ck_assert_uint_eq(F.rx[1].conn, 2); /* the second hello, then the op */
	srv_hello(1);
	ck_assert_str_eq(srv_op(2)->broadcast_id.text, ids.broadcast_id);
	fk_teardown();
}
END_TEST

START_TEST(test_reject)
{
	struct collab_client_ids ids;

	fk_setup();
	fk_go_live(0);
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "x", 1, &ids), 0);
	WAIT_FOR(F.nrx == 2, 2000);
	srv_sendf("{\"type\":\"error\",\"broadcastId\":\"%s\",\"code\":\"forbidden\","
		  "\"message\":\"not yours\"}", ids.broadcast_id);
	WAIT_FOR(F.rejects == 1, 2000);
	ck_assert_str_eq(F.rej_bid[0], ids.broadcast_id);
	ck_assert_int_eq(F.rej_code[0], COLLAB_PROTO_ERR_FORBIDDEN);
	ck_assert_str_eq(F.rej_msg, "not yours");
	ck_assert_uint_eq(collab_client_pending(&F.c), 0);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 0); /* taken back */
	/* An error answering nothing of ours. */
	srv_send("{\"type\":\"error\",\"broadcastId\":null,\"code\":\"invalid\",\"message\":\"m\"}");
	srv_sendf("{\"type\":\"error\",\"broadcastId\":\"%s\",\"code\":\"invalid\","
		  "\"message\":\"again\"}", ids.broadcast_id);
	WAIT_FOR(F.errors == 2, 2000);
	ck_assert_int_eq(F.rejects, 1);
	ck_assert_int_eq(collab_client_state(&F.c), COLLAB_CLIENT_LIVE);
	fk_teardown();
}
END_TEST

START_TEST(test_pacing)
{
	struct collab_client_config cfg;
	uint64_t t0;
	int i;

	fk_config(&cfg);
	cfg.ops_per_second = 20;
	cfg.ops_burst = 2;
	fk_setup_with(&cfg);
	fk_go_live(0);
	t0 = fk_ms();
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "x", 1, NULL), 0);
	WAIT_FOR(F.nrx == 6, 2000);
	/* hello, the burst of 2 at once, then one every 50 ms: never
	 * sooner (a loaded machine may make them later) */
	ck_assert_uint_ge(F.rx[3].at - t0, 45);
	ck_assert_uint_ge(F.rx[4].at - t0, 95);
	ck_assert_uint_ge(F.rx[5].at - t0, 145);
	fk_run_for(100);
	ck_assert_uint_eq(F.nrx, 6);
	fk_teardown();
}
END_TEST

START_TEST(test_raw_messages)
{
	const char *bid = "11111111-2222-4333-8444-555555555555";
	char line[256], ev[4096];
	int n;

	fk_setup();
	/* Untracked: sent once, forgotten. */
	ck_assert_int_eq(collab_client_send_raw(&F.c, (const uint8_t *)"{\"type\":\"x\"}", 12,
						(struct collab_str){ NULL, 0 }), 0);
	ck_assert_uint_eq(collab_client_pending(&F.c), 1);
	fk_go_live(0);
	WAIT_FOR(F.nrx == 2, 2000);
	ck_assert_str_eq(F.rx[1].p, "{\"type\":\"x\"}");
	ck_assert_uint_eq(collab_client_pending(&F.c), 0);
	/* Tracked: resent after a reconnect, acknowledged by its echo. */
	n = snprintf(line, sizeof(line), "{\"type\":\"deleted-text-chat\",\"broadcastId\":\"%s\","
		     "\"chatId\":\"%s\"}", bid, ID_A);
	ck_assert_int_eq(collab_client_send_raw(&F.c, (const uint8_t *)line, (size_t)n,
						(struct collab_str){ bid, 36 }), 0);
	WAIT_FOR(F.nrx == 3, 2000);
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(F.nrx == 4, 2000);
	srv_welcome(0, "replay", "e1");
	srv_synced(0);
	WAIT_FOR(F.nrx == 5, 2000);
	ck_assert_str_eq(F.rx[4].p, line);
	ev_delete(ev, sizeof(ev), 1, bid, ID_A);
	srv_send(ev);
	WAIT_FOR(F.acks == 1, 2000);
	ck_assert_int_eq(F.nev, 0);
	ck_assert_int_eq(collab_client_send_raw(&F.c, (const uint8_t *)"\xff", 1,
						(struct collab_str){ NULL, 0 }), COLLAB_EUTF8);
	ck_assert_int_eq(collab_client_send_raw(&F.c, (const uint8_t *)"{}", 2,
						(struct collab_str){ "abc", 3 }), COLLAB_EINVAL);
	fk_teardown();
}
END_TEST

static const struct {
	const char *anchor, *text;
	int rc;
} op_checks[] = {
	{ "{}", "", COLLAB_EINVAL },
	{ "[]", "x", COLLAB_EINVAL },
	{ "{", "x", COLLAB_ESYNTAX },
	{ "", "x", COLLAB_ESYNTAX },
	{ "{}", "\xc3", COLLAB_EUTF8 },
	{ "{\"a\":1} x", "x", COLLAB_ESYNTAX },
	{ "{ \"a\" : [ 1 , 2 ] }", "x", 0 },
};

START_TEST(test_op_validation)
{
	struct collab_client_ids ids;
	char big[5000];
	struct collab_str good = { ID_A, 36 }, upper = { "00000000-0000-4000-8000-00000000000A", 36 };
	int rc;

	fk_setup();
	rc = collab_client_create_chat(&F.c, op_checks[_i].anchor, strlen(op_checks[_i].anchor),
				       op_checks[_i].text, strlen(op_checks[_i].text), &ids);
	ck_assert_int_eq(rc, op_checks[_i].rc);
	ck_assert_uint_eq(collab_client_pending(&F.c), rc == 0 ? 1u : 0u);
	if (rc == 0) {
		fk_go_live(0);
		WAIT_FOR(F.nrx == 2, 2000);
		ck_assert(str_is(srv_op(1)->anchor, "{\"a\":[1,2]}")); /* compact */
		ck_assert(str_is(chat_info(ids.chat_id).anchor, "{\"a\":[1,2]}"));
	}
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(collab_client_add_comment(&F.c, good, big, 4097, NULL), COLLAB_ELIMIT);
	ck_assert_int_eq(collab_client_add_comment(&F.c, upper, "x", 1, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_client_edit_comment(&F.c, good, (struct collab_str){ "x", 1 },
						    "x", 1, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_client_delete_comment(&F.c, (struct collab_str){ NULL, 0 },
						      good, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_client_resolve(&F.c, upper, true, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_client_delete_chat(&F.c, upper, NULL), COLLAB_EINVAL);
	big[0] = '{';
	big[1] = '"';
	big[2500] = '"';
	big[2501] = ':';
	big[2502] = '1';
	big[2503] = '}';
	ck_assert_int_eq(collab_client_create_chat(&F.c, big, 2504, "x", 1, NULL), COLLAB_ELIMIT);
	ck_assert_int_eq(collab_client_create_chat(&F.c, big, 5000, "x", 1, NULL), COLLAB_ESYNTAX);
	fk_teardown();
}
END_TEST

START_TEST(test_close)
{
	fk_setup();
	fk_go_live(0);
	collab_client_close(&F.c);
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "x", 1, NULL), COLLAB_ESTATE);
	WAIT_FOR(collab_client_state(&F.c) == COLLAB_CLIENT_CLOSED, 2000);
	WAIT_FOR(F.closed == 1, 2000);
	ck_assert_uint_eq(F.close_code, 1000);
	collab_client_close(&F.c); /* no-op */
	fk_run_for(60);
	ck_assert_uint_eq(F.accepted, 1);
	/* reconnect() starts over. */
	ck_assert_int_eq(collab_client_reconnect(&F.c), 0);
	WAIT_FOR(F.nrx == 2, 2000);
	/* close() while not open: CLOSED at once. */
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(collab_client_state(&F.c) == COLLAB_CLIENT_RECONNECTING, 2000);
	collab_client_close(&F.c);
	ck_assert_int_eq(collab_client_state(&F.c), COLLAB_CLIENT_CLOSED);
	fk_teardown();
}
END_TEST

static const char *const bad_msgs[] = {
	"not json",
	"{\"type\":\"welcome\"}",
	"{\"type\":\"synced\",\"seq\":3}",   /* synced twice, wrong seq */
	"{\"type\":\"new-text-chat\",\"seq\":2}",
	"{\"type\":\"snapshot\",\"seq\":0,\"reset\":true,\"chats\":[]}", /* while live */
	("{\"type\":\"welcome\",\"connectionId\":\"c\",\"user\":null,\"epoch\":\"e\",\"seq\":0,"
	 "\"count\":1,\"resync\":\"snapshot\"}"), /* a second welcome */
};

START_TEST(test_malformed_server_message)
{
	fk_setup();
	fk_go_live(0);
	srv_send(bad_msgs[_i]);
	WAIT_FOR(F.closed == 1, 2000);
	ck_assert_uint_eq(F.close_code, 1002);
	ck_assert_int_eq(collab_client_last_close(&F.c)->err, COLLAB_EPROTO);
	WAIT_FOR(F.nrx == 2, 2000); /* and back */
	fk_teardown();
}
END_TEST

START_TEST(test_seq_gap_resumes)
{
	char ev[4096];

	fk_setup();
	fk_go_live(0);
	ev_new(ev, sizeof(ev), 2, BID_1, ID_A, CM_1, "u2", "t");
	srv_send(ev);
	WAIT_FOR(F.nrx == 2, 2000);
	ck_assert_uint_eq(F.close_code, 1002);
	ck_assert(str_is(collab_client_last_close(&F.c)->reason, "seq gap"));
	ck_assert_uint_eq(srv_hello(1)->since, 0);
	ck_assert_int_eq(F.nev, 0);
	fk_teardown();
}
END_TEST

START_TEST(test_unknown_and_binary)
{
	fk_setup();
	fk_go_live(0);
	srv_send("{\"type\":\"future-thing\",\"x\":1}");
	fk_run_for(30);
	ck_assert_int_eq(collab_client_state(&F.c), COLLAB_CLIENT_LIVE);
	ck_assert_int_eq(collab_wsconn_send(&F.ws, F.cur, COLLAB_WS_OP_BINARY, "x", 1), 0);
	WAIT_FOR(F.closed == 1, 2000);
	ck_assert_uint_eq(F.close_code, 1003);
	fk_teardown();
}
END_TEST

/* Several clients on one loop and one wsctx. */
START_TEST(test_many_clients_one_loop)
{
	enum { N = 6 };
	static struct collab_client cs[N];
	struct collab_client_config cfg;
	size_t i, done = 0;

	fk_setup();
	fk_config(&cfg);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(collab_client_init(&cs[i], &F.ws, &cfg, NULL), 0);
		ck_assert_int_eq(collab_client_start(&cs[i], F.url, F.url_len), 0);
	}
	WAIT_FOR(F.nrx == N, 3000);
	for (i = 0; i < N; i++) {
		static const char *w = "{\"type\":\"welcome\",\"connectionId\":\"c\",\"user\":null,"
				       "\"epoch\":\"e\",\"seq\":0,\"count\":1,\"resync\":\"snapshot\"}";
		static const char *s = "{\"type\":\"snapshot\",\"seq\":0,\"reset\":true,\"chats\":[]}";
		static const char *y = "{\"type\":\"synced\",\"seq\":0}";

		collab_wsconn_send(&F.ws, F.rx[i].h, COLLAB_WS_OP_TEXT, w, strlen(w));
		collab_wsconn_send(&F.ws, F.rx[i].h, COLLAB_WS_OP_TEXT, s, strlen(s));
		collab_wsconn_send(&F.ws, F.rx[i].h, COLLAB_WS_OP_TEXT, y, strlen(y));
	}
	while (done < N) {
		done = 0;
		ck_assert_int_eq(collab_loop_run_once(&F.loop, 5), 0);
		for (i = 0; i < N; i++)
			done += collab_client_state(&cs[i]) == COLLAB_CLIENT_LIVE;
	}
	for (i = 0; i < N; i++)
		collab_client_free(&cs[i]);
	fk_teardown();
}
END_TEST

static Suite *client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc;

	tc = tcase_create("backoff");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_backoff_bounds, 0, (int)ARRAY_LEN(backoff_table));
	tcase_add_test(tc, test_backoff_distribution);
	tcase_add_test(tc, test_backoff_inclusive_and_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("url");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_build_url, 0, (int)ARRAY_LEN(url_table));
	suite_add_tcase(s, tc);

	tc = tcase_create("session");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_init_errors);
	tcase_add_test(tc, test_session_start);
	tcase_add_test(tc, test_hello_token_and_since);
	suite_add_tcase(s, tc);

	tc = tcase_create("reconnect");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_drop_reconnects_and_stable_reset);
	tcase_add_test(tc, test_1001_immediate_once);
	tcase_add_loop_test(tc, test_auth_failed_stops, 0, (int)ARRAY_LEN(auth_codes));
	tcase_add_loop_test(tc, test_http_refusal, 0, (int)ARRAY_LEN(refusals));
	tcase_add_test(tc, test_bad_hello_close_stops);
	tcase_add_test(tc, test_connect_refused_retries);
	tcase_add_test(tc, test_sync_timeout);
	tcase_add_loop_test(tc, test_malformed_server_message, 0, (int)ARRAY_LEN(bad_msgs));
	tcase_add_test(tc, test_seq_gap_resumes);
	tcase_add_test(tc, test_unknown_and_binary);
	tcase_add_test(tc, test_many_clients_one_loop);
	suite_add_tcase(s, tc);

	tc = tcase_create("ops");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_retry_same_bytes_old_event_acks);
	tcase_add_test(tc, test_retry_answered_by_replay);
	tcase_add_test(tc, test_offline_queue_bound_and_order);
	tcase_add_test(tc, test_offline_while_reconnecting);
	tcase_add_test(tc, test_reject);
	tcase_add_test(tc, test_pacing);
	tcase_add_test(tc, test_raw_messages);
	tcase_add_loop_test(tc, test_op_validation, 0, (int)ARRAY_LEN(op_checks));
	tcase_add_test(tc, test_close);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
