/*
 * check_client_state.c - the client's local copy of the room and echo
 * suppression: snapshots (reset true, then reset false additions, applied
 * atomically at synced), every event type, batches, replay, own echoes vs
 * other tabs of the same user, pending flags of operations not yet
 * acknowledged (create, update, delete; rejection takes them back),
 * pending operations over a snapshot resync, the copy's limits. Driven by
 * the scripted fake server of client_fake.h.
 */
#include "client_fake.h"

#include "testutil.h"

static void snapshot_msg(char *out, size_t cap, uint64_t seq, int reset,
			 const char *const *ids, size_t n)
{
	size_t len;
	size_t i;
	int k;

	k = snprintf(out, cap, "{\"type\":\"snapshot\",\"seq\":%" PRIu64 ",\"reset\":%s,\"chats\":[",
		     seq, reset ? "true" : "false");
	ck_assert(k > 0);
	len = (size_t)k;
	for (i = 0; i < n; i++) {
		if (i)
			out[len++] = ',';
		k = chat_json(out + len, cap - len, ids[i], CM_1, "u2", "first", 0);
		ck_assert(k > 0 && (size_t)k < cap - len);
		len += (size_t)k;
	}
	ck_assert(len + 3 < cap);
	memcpy(out + len, "]}", 3);
}

/* Live on a room holding chat ID_A (comment CM_1 "first" by u2) at seq. */
static void live_with_a(uint64_t seq)
{
	static const char *const one[] = { ID_A };
	char snap[4096];

	ck_assert_int_eq(collab_client_start(&F.c, F.url, F.url_len), 0);
	WAIT_FOR(F.nrx == 1, 2000);
	srv_welcome(seq, "snapshot", "e1");
	snapshot_msg(snap, sizeof(snap), seq, 1, one, 1);
	srv_send(snap);
	srv_synced(seq);
	WAIT_FOR(F.synced == 1, 2000);
}

static struct collab_client_comment_info comment_info(const char *chat, const char *id)
{
	const struct collab_client_chat *ch = collab_client_chat_find(&F.c, chat, strlen(chat));
	const struct collab_client_comment *cm;
	struct collab_client_comment_info ci;

	ck_assert(ch != NULL);
	cm = collab_client_comment_find(ch, id, strlen(id));
	ck_assert_msg(cm != NULL, "comment %s not in chat %s", id, chat);
	collab_client_comment_get(cm, &ci);
	return ci;
}

/* ---- snapshots ---------------------------------------------------------------- */

START_TEST(test_snapshot_parts_atomic)
{
	static const char *const p1[] = { ID_A, ID_B }, *const p2[] = { ID_C };
	const struct collab_client_chat *ch;
	struct collab_client_chat_info ci;
	struct collab_client_comment_info mi;
	char snap[8192];
	const char *order[3] = { ID_A, ID_B, ID_C };
	size_t i = 0;

	fk_setup();
	ck_assert_int_eq(collab_client_start(&F.c, F.url, F.url_len), 0);
	WAIT_FOR(F.nrx == 1, 2000);
	srv_welcome(9, "snapshot", "e1");
	snapshot_msg(snap, sizeof(snap), 9, 1, p1, 2);
	srv_send(snap);
	snapshot_msg(snap, sizeof(snap), 9, 0, p2, 1);
	srv_send(snap);
	WAIT_FOR(F.snapshots == 2, 2000);
	/* Gathered aside until synced. */
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 0);
	ck_assert_int_eq(F.resets, 0);
	srv_synced(9);
	WAIT_FOR(F.synced == 1, 2000);
	ck_assert_int_eq(F.resets, 1);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 3);
	for (ch = collab_client_chat_first(&F.c); ch; ch = collab_client_chat_next(ch), i++) {
		collab_client_chat_get(ch, &ci);
		ck_assert(str_is(ci.id, order[i]));
		ck_assert(str_is(ci.anchor, "{\"quote\":\"q\"}"));
		ck_assert(str_is(ci.user_id, "u2"));
		ck_assert(str_is(ci.user_name, "Nu2"));
		ck_assert_uint_eq(ci.created_at, 100);
		ck_assert(!ci.resolved);
		ck_assert_uint_eq(ci.pending, 0);
		ck_assert_uint_eq(ci.n_comments, 1);
		collab_client_comment_get(collab_client_comment_first(ch), &mi);
		ck_assert(str_is(mi.id, CM_1));
		ck_assert(str_is(mi.text, "first"));
		ck_assert_uint_eq(mi.pending, 0);
		ck_assert(collab_client_comment_next(collab_client_comment_first(ch)) == NULL);
	}
	ck_assert_uint_eq(i, 3);
	ck_assert(collab_client_chat_find(&F.c, ID_C, 35) == NULL);
	ck_assert(collab_client_chat_find(&F.c, NULL, 0) == NULL);
	fk_teardown();
}
END_TEST

START_TEST(test_snapshot_resync_replaces)
{
	static const char *const bc[] = { ID_B, ID_C };
	char snap[8192];

	fk_setup();
	live_with_a(3);
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(F.nrx == 2, 2000);
	ck_assert_uint_eq(srv_hello(1)->since, 3);
	/* Another epoch: a snapshot with B and C. */
	srv_welcome(2, "snapshot", "e2");
	snapshot_msg(snap, sizeof(snap), 2, 1, bc, 2);
	srv_send(snap);
	WAIT_FOR(F.snapshots == 2, 2000);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 1); /* still A */
	ck_assert(collab_client_chat_find(&F.c, ID_A, 36) != NULL);
	srv_synced(2);
	WAIT_FOR(F.synced == 2, 2000);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 2);
	ck_assert(collab_client_chat_find(&F.c, ID_A, 36) == NULL);
	ck_assert(collab_client_chat_find(&F.c, ID_B, 36) != NULL);
	ck_assert_uint_eq(collab_client_seq(&F.c), 2);
	ck_assert(str_is(collab_client_epoch(&F.c), "e2"));
	ck_assert_int_eq(F.resets, 2);
	fk_teardown();
}
END_TEST

/* ---- every event type ------------------------------------------------------------ */

enum ev_kind { EV_NEW, EV_ADD, EV_EDIT, EV_DELC, EV_RESOLVE, EV_DELCHAT, EV_UNKNOWN_CHAT };

static const enum ev_kind ev_kinds[] = {
	EV_NEW, EV_ADD, EV_EDIT, EV_DELC, EV_RESOLVE, EV_DELCHAT, EV_UNKNOWN_CHAT
};

static void make_event(enum ev_kind k, uint64_t seq, const char *bid, char *ev, size_t cap)
{
	switch (k) {
	case EV_NEW:
		ev_new(ev, cap, seq, bid, ID_B, CM_2, "u3", "new chat");
		break;
	case EV_ADD:
		ev_update(ev, cap, seq, bid, ID_A, "\"action\":\"add-comment\",\"comment\":{\"id\":\""
			  CM_2 "\",\"userId\":\"u2\",\"userName\":\"Bo\",\"text\":\"two\",\"createdAt\":7}");
		break;
	case EV_EDIT:
		ev_update(ev, cap, seq, bid, ID_A, "\"action\":\"edit-comment\",\"commentId\":\""
			  CM_1 "\",\"text\":\"edited \\u00e9\"");
		break;
	case EV_DELC:
		ev_update(ev, cap, seq, bid, ID_A, "\"action\":\"delete-comment\",\"commentId\":\""
			  CM_1 "\"");
		break;
	case EV_RESOLVE:
		ev_update(ev, cap, seq, bid, ID_A, "\"action\":\"resolve\",\"resolved\":true");
		break;
	case EV_DELCHAT:
		ev_delete(ev, cap, seq, bid, ID_A);
		break;
	case EV_UNKNOWN_CHAT:
		ev_update(ev, cap, seq, bid, ID_C, "\"action\":\"resolve\",\"resolved\":true");
		break;
	}
}

static void check_after(enum ev_kind k)
{
	struct collab_client_chat_info a;
	struct collab_client_comment_info m;

	switch (k) {
	case EV_NEW:
		ck_assert_uint_eq(collab_client_chat_count(&F.c), 2);
		collab_client_chat_get(collab_client_chat_next(collab_client_chat_first(&F.c)), &a);
		ck_assert(str_is(a.id, ID_B));
		ck_assert(str_is(a.user_id, "u3"));
		m = comment_info(ID_B, CM_2);
		ck_assert(str_is(m.text, "new chat"));
		break;
	case EV_ADD:
		a = chat_info(ID_A);
		ck_assert_uint_eq(a.n_comments, 2);
		m = comment_info(ID_A, CM_2);
		ck_assert(str_is(m.text, "two"));
		ck_assert(str_is(m.user_name, "Bo"));
		ck_assert_uint_eq(m.created_at, 7);
		collab_client_comment_get(collab_client_comment_next(collab_client_comment_first(
			collab_client_chat_first(&F.c))), &m);
		ck_assert(str_is(m.id, CM_2)); /* after CM_1 */
		break;
	case EV_EDIT:
		m = comment_info(ID_A, CM_1);
		ck_assert(str_is(m.text, "edited \xc3\xa9"));
		break;
	case EV_DELC:
		a = chat_info(ID_A);
		ck_assert_uint_eq(a.n_comments, 0);
		ck_assert(collab_client_comment_first(collab_client_chat_first(&F.c)) == NULL);
		break;
	case EV_RESOLVE:
		ck_assert(chat_info(ID_A).resolved);
		break;
	case EV_DELCHAT:
		ck_assert_uint_eq(collab_client_chat_count(&F.c), 0);
		ck_assert(collab_client_chat_first(&F.c) == NULL);
		break;
	case EV_UNKNOWN_CHAT:
		ck_assert_uint_eq(collab_client_chat_count(&F.c), 1);
		ck_assert(!chat_info(ID_A).resolved);
		break;
	}
}

START_TEST(test_every_event_type)
{
	char ev[4096];

	fk_setup();
	live_with_a(4);
	make_event(ev_kinds[_i], 5, BID_1, ev, sizeof(ev));
	srv_send(ev);
	WAIT_FOR(F.nev == 1, 2000);
	ck_assert_uint_eq(F.ev_seq[0], 5);
	ck_assert_str_eq(F.ev_bid[0], BID_1);
	ck_assert_uint_eq(collab_client_seq(&F.c), 5);
	check_after(ev_kinds[_i]);
	ck_assert_int_eq(F.room_errors, 0);
	fk_teardown();
}
END_TEST

START_TEST(test_batch)
{
	char e1[4096], e2[4096], e3[4096], b[16384];

	fk_setup();
	live_with_a(0);
	make_event(EV_NEW, 1, BID_1, e1, sizeof(e1));
	make_event(EV_ADD, 2, BID_2, e2, sizeof(e2));
	make_event(EV_RESOLVE, 3, BID_3, e3, sizeof(e3));
	snprintf(b, sizeof(b), "{\"type\":\"batch\",\"events\":[%s,%s,%s]}", e1, e2, e3);
	srv_send(b);
	WAIT_FOR(F.nev == 3, 2000);
	ck_assert_uint_eq(F.ev_seq[0], 1);
	ck_assert_uint_eq(F.ev_seq[1], 2);
	ck_assert_uint_eq(F.ev_seq[2], 3);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 2);
	ck_assert_uint_eq(chat_info(ID_A).n_comments, 2);
	ck_assert(chat_info(ID_A).resolved);
	/* The same batch again: every seq is old, nothing applied. */
	srv_send(b);
	srv_send("{\"type\":\"user-count\",\"count\":9}");
	WAIT_FOR(F.count == 9, 2000);
	ck_assert_int_eq(F.nev, 3);
	ck_assert_uint_eq(collab_client_seq(&F.c), 3);
	fk_teardown();
}
END_TEST

START_TEST(test_replay_resync)
{
	char e2[4096], e3[4096], e4[4096];

	fk_setup();
	live_with_a(1);
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(F.nrx == 2, 2000);
	ck_assert_uint_eq(srv_hello(1)->since, 1);
	srv_welcome(4, "replay", "e1");
	make_event(EV_ADD, 2, BID_2, e2, sizeof(e2));
	make_event(EV_EDIT, 3, BID_3, e3, sizeof(e3));
	make_event(EV_RESOLVE, 4, BID_4, e4, sizeof(e4));
	srv_send(e2);
	srv_sendf("{\"type\":\"batch\",\"events\":[%s,%s]}", e3, e4);
	srv_synced(4);
	WAIT_FOR(F.synced == 2, 2000);
	ck_assert_int_eq(F.nev, 3);
	ck_assert_int_eq(F.resets, 1); /* replay: no reset */
	ck_assert_uint_eq(chat_info(ID_A).n_comments, 2);
	ck_assert(str_is(comment_info(ID_A, CM_1).text, "edited \xc3\xa9"));
	ck_assert(chat_info(ID_A).resolved);
	ck_assert_uint_eq(collab_client_seq(&F.c), 4);
	fk_teardown();
}
END_TEST

START_TEST(test_replay_short_of_synced_is_a_gap)
{
	fk_setup();
	live_with_a(1);
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(F.nrx == 2, 2000);
	srv_welcome(3, "replay", "e1");
	srv_synced(3); /* events 2 and 3 never came */
	WAIT_FOR(F.nrx == 3, 2000);
	ck_assert_uint_eq(srv_hello(2)->since, 1);
	ck_assert_int_eq(F.synced, 1);
	fk_teardown();
}
END_TEST

/* ---- echo suppression -------------------------------------------------------------- */

START_TEST(test_echo_suppression)
{
	struct collab_client_ids ids;
	char ev[4096];

	fk_setup();
	live_with_a(0);
	ck_assert_int_eq(collab_client_add_comment(&F.c, (struct collab_str){ ID_A, 36 },
						   "mine", 4, &ids), 0);
	WAIT_FOR(F.nrx == 2, 2000);
	/* The echo: an acknowledgement, not an event. */
	ev_update(ev, sizeof(ev), 1, ids.broadcast_id, ID_A,
		  "\"action\":\"add-comment\",\"comment\":{\"id\":\"" CM_2 "\",\"userId\":\"u1\","
		  "\"userName\":\"Ann\",\"text\":\"mine\",\"createdAt\":50}");
	/* (the comment id of the echo is ours: patch it in) */
	memcpy(strstr(ev, CM_2), ids.comment_id, 36);
	srv_send(ev);
	WAIT_FOR(F.acks == 1, 2000);
	ck_assert_str_eq(F.ack_bid[0], ids.broadcast_id);
	ck_assert_int_eq(F.nev, 0);
	ck_assert_uint_eq(comment_info(ID_A, ids.comment_id).pending, 0);
	ck_assert_uint_eq(comment_info(ID_A, ids.comment_id).created_at, 50);
	/* Another tab of the same user (u1): its own broadcastId, delivered. */
	ev_update(ev, sizeof(ev), 2, BID_5, ID_A, "\"action\":\"resolve\",\"resolved\":true");
	srv_send(ev);
	WAIT_FOR(F.nev == 1, 2000);
	ck_assert_str_eq(F.ev_bid[0], BID_5);
	/* A late duplicate of our echo under a newer seq (a misbehaving
	 * relay): applied in order, never delivered as a remote event. */
	ev_update(ev, sizeof(ev), 3, ids.broadcast_id, ID_A, "\"action\":\"resolve\",\"resolved\":false");
	srv_send(ev);
	ev_update(ev, sizeof(ev), 4, BID_6, ID_A, "\"action\":\"resolve\",\"resolved\":true");
	srv_send(ev);
	WAIT_FOR(F.nev == 2, 2000);
	ck_assert_str_eq(F.ev_bid[1], BID_6);
	ck_assert_int_eq(F.acks, 1);
	ck_assert_uint_eq(collab_client_seq(&F.c), 4);
	fk_teardown();
}
END_TEST

/* ---- pending operations in the copy --------------------------------------------------- */

START_TEST(test_pending_create_then_ack)
{
	struct collab_client_ids ids;
	struct collab_client_chat_info ci;
	struct collab_client_comment_info mi;
	char ev[4096];

	fk_setup();
	live_with_a(0);
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{\"p\":[1]}", 9, "hello", 5, &ids), 0);
	ci = chat_info(ids.chat_id);
	ck_assert_uint_eq(ci.pending, COLLAB_CLIENT_PENDING_CREATE);
	ck_assert(str_is(ci.user_id, "u1")); /* from welcome */
	ck_assert(str_is(ci.user_name, "Ann"));
	ck_assert_uint_eq(ci.created_at, 0);
	ck_assert(str_is(ci.anchor, "{\"p\":[1]}"));
	mi = comment_info(ids.chat_id, ids.comment_id);
	ck_assert_uint_eq(mi.pending, COLLAB_CLIENT_PENDING_CREATE);
	ck_assert(str_is(mi.text, "hello"));
	/* Listed after A, in creation order. */
	collab_client_chat_get(collab_client_chat_next(collab_client_chat_first(&F.c)), &ci);
	ck_assert(str_is(ci.id, ids.chat_id));
	/* A remote chat arrives first, then our echo. */
	ev_new(ev, sizeof(ev), 1, BID_1, ID_B, CM_3, "u2", "theirs");
	srv_send(ev);
	ev_new(ev, sizeof(ev), 2, ids.broadcast_id, ids.chat_id, ids.comment_id, "u1", "hello");
	srv_send(ev);
	WAIT_FOR(F.acks == 1, 2000);
	ci = chat_info(ids.chat_id);
	ck_assert_uint_eq(ci.pending, 0);
	ck_assert_uint_eq(ci.created_at, 100);
	ck_assert_uint_eq(comment_info(ids.chat_id, ids.comment_id).pending, 0);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 3);
	ck_assert_int_eq(F.nev, 1);
	fk_teardown();
}
END_TEST

/* The server orders an operation after everything it applied before it:
 * remote chats and comments arriving while ours are pending go before
 * them, and an acknowledged one takes its place after the server's. */
static void expect_order(const char *const *ids, size_t n)
{
	const struct collab_client_chat *ch = collab_client_chat_first(&F.c);
	struct collab_client_chat_info ci;
	size_t i;

	for (i = 0; i < n; i++, ch = collab_client_chat_next(ch)) {
		ck_assert_msg(ch != NULL, "chat %zu missing", i);
		collab_client_chat_get(ch, &ci);
		ck_assert_msg(str_is(ci.id, ids[i]), "chat %zu is not %s", i, ids[i]);
	}
	ck_assert(ch == NULL);
}

static void expect_comments(const char *chat, const char *const *ids, size_t n)
{
	const struct collab_client_chat *ch = collab_client_chat_find(&F.c, chat, 36);
	const struct collab_client_comment *cm;
	struct collab_client_comment_info mi;
	size_t i;

	ck_assert(ch != NULL);
	cm = collab_client_comment_first(ch);
	for (i = 0; i < n; i++, cm = collab_client_comment_next(cm)) {
		ck_assert_msg(cm != NULL, "comment %zu missing", i);
		collab_client_comment_get(cm, &mi);
		ck_assert_msg(str_is(mi.id, ids[i]), "comment %zu is not %s", i, ids[i]);
	}
	ck_assert(cm == NULL);
}

START_TEST(test_pending_order)
{
	struct collab_client_ids y1, y2, k;
	char ev[4096];

	fk_setup();
	live_with_a(0);
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "y1", 2, &y1), 0);
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "y2", 2, &y2), 0);
	ck_assert_int_eq(collab_client_add_comment(&F.c, (struct collab_str){ ID_A, 36 },
						   "k", 1, &k), 0);
	{
		const char *o[] = { ID_A, y1.chat_id, y2.chat_id };
		const char *m[] = { CM_1, k.comment_id };

		expect_order(o, 3);
		expect_comments(ID_A, m, 2);
	}
	/* Remote chat B and remote comment CM_2 arrive first. */
	ev_new(ev, sizeof(ev), 1, BID_1, ID_B, CM_3, "u2", "b");
	srv_send(ev);
	ev_update(ev, sizeof(ev), 2, BID_2, ID_A, "\"action\":\"add-comment\",\"comment\":{\"id\":\""
		  CM_2 "\",\"userId\":\"u2\",\"userName\":\"Bo\",\"text\":\"two\",\"createdAt\":7}");
	srv_send(ev);
	WAIT_FOR(F.nev == 2, 2000);
	{
		const char *o[] = { ID_A, ID_B, y1.chat_id, y2.chat_id };
		const char *m[] = { CM_1, CM_2, k.comment_id };

		expect_order(o, 4);
		expect_comments(ID_A, m, 3);
	}
	/* y2 is acknowledged before y1 (retries can do that): it moves
	 * after the server's chats, before y1 which is still pending. */
	ev_new(ev, sizeof(ev), 3, y2.broadcast_id, y2.chat_id, y2.comment_id, "u1", "y2");
	srv_send(ev);
	ev_update(ev, sizeof(ev), 4, k.broadcast_id, ID_A, "\"action\":\"add-comment\",\"comment\":{\"id\":\""
		  CM_3 "\",\"userId\":\"u1\",\"userName\":\"Ann\",\"text\":\"k\",\"createdAt\":9}");
	memcpy(strstr(ev, CM_3), k.comment_id, 36);
	srv_send(ev);
	WAIT_FOR(F.acks == 2, 2000);
	{
		const char *o[] = { ID_A, ID_B, y2.chat_id, y1.chat_id };
		const char *m[] = { CM_1, CM_2, k.comment_id };

		expect_order(o, 4);
		expect_comments(ID_A, m, 3);
	}
	ck_assert_uint_eq(chat_info(y1.chat_id).pending, COLLAB_CLIENT_PENDING_CREATE);
	ck_assert_uint_eq(chat_info(y2.chat_id).pending, 0);
	fk_teardown();
}
END_TEST

START_TEST(test_pending_update_delete_and_reject)
{
	struct collab_client_ids e1, e2, rs, dc, dchat;
	struct collab_str a = { ID_A, 36 }, c1 = { CM_1, 36 };
	char ev[4096];

	fk_setup();
	live_with_a(0);
	/* Two edits of one comment, a resolve, a comment deletion. */
	ck_assert_int_eq(collab_client_edit_comment(&F.c, a, c1, "edit one", 8, &e1), 0);
	ck_assert_int_eq(collab_client_edit_comment(&F.c, a, c1, "edit two", 8, &e2), 0);
	ck_assert(str_is(comment_info(ID_A, CM_1).text, "edit two"));
	ck_assert_uint_eq(comment_info(ID_A, CM_1).pending, COLLAB_CLIENT_PENDING_UPDATE);
	ck_assert_int_eq(collab_client_resolve(&F.c, a, true, &rs), 0);
	ck_assert(chat_info(ID_A).resolved);
	ck_assert_uint_eq(chat_info(ID_A).pending, COLLAB_CLIENT_PENDING_UPDATE);
	WAIT_FOR(F.nrx == 4, 2000);
	/* A remote edit lands under our pending one: ours is still shown. */
	ev_update(ev, sizeof(ev), 1, BID_1, ID_A, "\"action\":\"edit-comment\",\"commentId\":\""
		  CM_1 "\",\"text\":\"remote\"");
	srv_send(ev);
	WAIT_FOR(F.nev == 1, 2000);
	ck_assert(str_is(comment_info(ID_A, CM_1).text, "edit two"));
	/* The second edit is rejected: the first, still pending, shows. */
	srv_sendf("{\"type\":\"error\",\"broadcastId\":\"%s\",\"code\":\"conflict\",\"message\":\"x\"}",
		  e2.broadcast_id);
	WAIT_FOR(F.rejects == 1, 2000);
	ck_assert_int_eq(F.rej_code[0], COLLAB_PROTO_ERR_CONFLICT);
	ck_assert(str_is(comment_info(ID_A, CM_1).text, "edit one"));
	ck_assert_uint_eq(comment_info(ID_A, CM_1).pending, COLLAB_CLIENT_PENDING_UPDATE);
	ck_assert(chat_info(ID_A).resolved); /* the resolve is still pending */
	/* The first edit's echo: the server's text, nothing pending. */
	ev_update(ev, sizeof(ev), 2, e1.broadcast_id, ID_A, "\"action\":\"edit-comment\",\"commentId\":\""
		  CM_1 "\",\"text\":\"edit one\"");
	srv_send(ev);
	WAIT_FOR(F.acks == 1, 2000);
	ck_assert(str_is(comment_info(ID_A, CM_1).text, "edit one"));
	ck_assert_uint_eq(comment_info(ID_A, CM_1).pending, 0);
	/* The resolve is rejected: back to the server's value. */
	srv_sendf("{\"type\":\"error\",\"broadcastId\":\"%s\",\"code\":\"forbidden\",\"message\":\"x\"}",
		  rs.broadcast_id);
	WAIT_FOR(F.rejects == 2, 2000);
	ck_assert(!chat_info(ID_A).resolved);
	ck_assert_uint_eq(chat_info(ID_A).pending, 0);
	/* Deletions stay listed until acknowledged. */
	ck_assert_int_eq(collab_client_delete_comment(&F.c, a, c1, &dc), 0);
	ck_assert_uint_eq(comment_info(ID_A, CM_1).pending, COLLAB_CLIENT_PENDING_DELETE);
	ck_assert_int_eq(collab_client_delete_chat(&F.c, a, &dchat), 0);
	ck_assert_uint_eq(chat_info(ID_A).pending, COLLAB_CLIENT_PENDING_DELETE);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 1);
	ev_update(ev, sizeof(ev), 3, dc.broadcast_id, ID_A, "\"action\":\"delete-comment\",\"commentId\":\""
		  CM_1 "\"");
	srv_send(ev);
	WAIT_FOR(F.acks == 2, 2000);
	ck_assert_uint_eq(chat_info(ID_A).n_comments, 0);
	ev_delete(ev, sizeof(ev), 4, dchat.broadcast_id, ID_A);
	srv_send(ev);
	WAIT_FOR(F.acks == 3, 2000);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 0);
	ck_assert_uint_eq(collab_client_pending(&F.c), 0);
	ck_assert_int_eq(F.nev, 1);
	fk_teardown();
}
END_TEST

START_TEST(test_reject_create_removes_dependents)
{
	struct collab_client_ids c, add;

	fk_setup();
	live_with_a(0);
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "x", 1, &c), 0);
	ck_assert_int_eq(collab_client_add_comment(&F.c, (struct collab_str){ c.chat_id, 36 },
						   "y", 1, &add), 0);
	ck_assert_uint_eq(chat_info(c.chat_id).n_comments, 2);
	ck_assert_uint_eq(comment_info(c.chat_id, add.comment_id).pending,
			  COLLAB_CLIENT_PENDING_CREATE);
	WAIT_FOR(F.nrx == 3, 2000);
	srv_sendf("{\"type\":\"error\",\"broadcastId\":\"%s\",\"code\":\"too-large\",\"message\":\"x\"}",
		  c.broadcast_id);
	WAIT_FOR(F.rejects == 1, 2000);
	ck_assert(collab_client_chat_find(&F.c, c.chat_id, 36) == NULL);
	srv_sendf("{\"type\":\"error\",\"broadcastId\":\"%s\",\"code\":\"not-found\",\"message\":\"x\"}",
		  add.broadcast_id);
	WAIT_FOR(F.rejects == 2, 2000);
	ck_assert_int_eq(F.rej_code[1], COLLAB_PROTO_ERR_NOT_FOUND);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 1);
	fk_teardown();
}
END_TEST

START_TEST(test_pending_survive_snapshot)
{
	static const char *const ab[] = { ID_A, ID_B };
	struct collab_client_ids mine, edit;
	char snap[8192];

	fk_setup();
	live_with_a(0);
	collab_wsconn_drop(&F.ws, F.cur);
	WAIT_FOR(collab_client_state(&F.c) == COLLAB_CLIENT_RECONNECTING, 2000);
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "offline", 7, &mine), 0);
	ck_assert_int_eq(collab_client_edit_comment(&F.c, (struct collab_str){ ID_B, 36 },
						    (struct collab_str){ CM_1, 36 }, "e", 1, &edit), 0);
	WAIT_FOR(F.nrx == 2, 2000);
	collab_client_forget(&F.c); /* has no effect on this connection */
	srv_welcome(5, "snapshot", "e1");
	snapshot_msg(snap, sizeof(snap), 5, 1, ab, 2);
	srv_send(snap);
	srv_synced(5);
	WAIT_FOR(F.synced == 2, 2000);
	/* The server's chats, then ours, pending; the edit of B shows. */
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 3);
	ck_assert_uint_eq(chat_info(mine.chat_id).pending, COLLAB_CLIENT_PENDING_CREATE);
	ck_assert(str_is(comment_info(ID_B, CM_1).text, "e"));
	ck_assert_uint_eq(comment_info(ID_B, CM_1).pending, COLLAB_CLIENT_PENDING_UPDATE);
	WAIT_FOR(F.nrx == 4, 2000); /* both sent after synced */
	fk_teardown();
}
END_TEST

/* ---- limits ---------------------------------------------------------------------------- */

START_TEST(test_room_limits)
{
	static const char *const abc[] = { ID_A, ID_B, ID_C }, *const ab[] = { ID_A, ID_B };
	struct collab_client_config cfg;
	char snap[8192], ev[4096];

	fk_config(&cfg);
	cfg.max_chats = 2;
	cfg.max_comments = 1;
	fk_setup_with(&cfg);
	ck_assert_int_eq(collab_client_start(&F.c, F.url, F.url_len), 0);
	WAIT_FOR(F.nrx == 1, 2000);
	srv_welcome(0, "snapshot", "e1");
	snapshot_msg(snap, sizeof(snap), 0, 1, abc, 3);
	srv_send(snap);
	srv_synced(0);
	WAIT_FOR(F.synced == 1, 2000);
	/* Given up, but the client is live all the same. */
	ck_assert_int_eq(F.room_errors, 1);
	ck_assert_int_eq(collab_client_room_error(&F.c), COLLAB_ELIMIT);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 0);
	ck_assert_int_eq(collab_client_state(&F.c), COLLAB_CLIENT_LIVE);
	/* The next snapshot that fits brings it back. */
	collab_client_forget(&F.c);
	ck_assert_int_eq(collab_client_reconnect(&F.c), 0);
	WAIT_FOR(F.nrx == 2, 2000);
	ck_assert(!srv_hello(1)->has_since);
	srv_welcome(0, "snapshot", "e1");
	snapshot_msg(snap, sizeof(snap), 0, 1, ab, 2);
	srv_send(snap);
	srv_synced(0);
	WAIT_FOR(F.synced == 2, 2000);
	ck_assert_int_eq(collab_client_room_error(&F.c), 0);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 2);
	/* A second comment in a chat: over max_comments. */
	make_event(EV_ADD, 1, BID_1, ev, sizeof(ev));
	srv_send(ev);
	WAIT_FOR(F.nev == 1, 2000);
	ck_assert_int_eq(F.room_errors, 2);
	ck_assert_uint_eq(collab_client_seq(&F.c), 1);
	fk_teardown();
}
END_TEST

START_TEST(test_no_room_kept)
{
	struct collab_client_config cfg;
	char ev[4096];

	fk_config(&cfg);
	cfg.keep_room = false;
	fk_setup_with(&cfg);
	live_with_a(0);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 0);
	ck_assert_int_eq(collab_client_create_chat(&F.c, "{}", 2, "x", 1, NULL), 0);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 0);
	make_event(EV_NEW, 1, BID_1, ev, sizeof(ev));
	srv_send(ev);
	WAIT_FOR(F.nev == 1, 2000);
	ck_assert_uint_eq(collab_client_chat_count(&F.c), 0);
	fk_teardown();
}
END_TEST

/* ---- allocation failures ------------------------------------------------------------ */

/* An allocator that fails once `left` allocations have been made, and
 * counts what is outstanding. */
static struct {
	size_t left, bytes, blocks;
} FA;

static void *fa_alloc(void *ctx, size_t n)
{
	void *p;

	(void)ctx;
	if (FA.left == 0)
		return NULL;
	FA.left--;
	p = malloc(n ? n : 1);
	if (p) {
		FA.bytes += n;
		FA.blocks++;
	}
	return p;
}

static void fa_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	if (p == NULL)
		return;
	ck_assert_uint_ge(FA.bytes, n);
	FA.bytes -= n;
	FA.blocks--;
	free(p);
}

static void feed(struct collab_client *c, const char *m)
{
	ck_assert_int_eq(collab_client_test_feed(c, (const uint8_t *)m, strlen(m)), 0);
}

/* One scripted session through the test seam; every call may meet ENOMEM. */
static void alloc_scenario(struct collab_client *c)
{
	static const char *const ab[] = { ID_A, ID_B };
	struct collab_client_ids ids;
	char buf[8192];

	memset(&ids, 0, sizeof(ids));
	(void)collab_client_create_chat(c, "{\"a\":[1,2]}", 11, "offline", 7, &ids);
	feed(c, "{\"type\":\"welcome\",\"connectionId\":\"c\",\"user\":{\"id\":\"u1\","
		"\"name\":\"Ann\",\"moderator\":false},\"epoch\":\"e1\",\"seq\":2,\"count\":1,"
		"\"resync\":\"snapshot\"}");
	snapshot_msg(buf, sizeof(buf), 2, 1, ab, 2);
	feed(c, buf);
	feed(c, "{\"type\":\"synced\",\"seq\":2}");
	(void)collab_client_add_comment(c, (struct collab_str){ ID_A, 36 }, "r", 1, NULL);
	(void)collab_client_edit_comment(c, (struct collab_str){ ID_A, 36 },
					 (struct collab_str){ CM_1, 36 }, "e", 1, NULL);
	make_event(EV_NEW, 3, BID_1, buf, sizeof(buf));
	feed(c, buf);
	make_event(EV_ADD, 4, BID_2, buf, sizeof(buf));
	feed(c, buf);
	if (ids.broadcast_id[0]) {
		ev_new(buf, sizeof(buf), 5, ids.broadcast_id, ids.chat_id, ids.comment_id,
		       "u1", "offline");
		feed(c, buf);
	}
	snprintf(buf, sizeof(buf), "{\"type\":\"error\",\"broadcastId\":\"%s\","
		 "\"code\":\"invalid\",\"message\":\"m\"}", BID_3);
	feed(c, buf);
	(void)collab_client_resolve(c, (struct collab_str){ ID_B, 36 }, true, NULL);
	(void)collab_client_send_raw(c, (const uint8_t *)"{}", 2, (struct collab_str){ NULL, 0 });
	(void)collab_client_set_token(c, "tok", 3);
}

START_TEST(test_alloc_failures)
{
	static const struct collab_alloc fa = { fa_alloc, fa_free, NULL };
	struct collab_client_config cfg;
	struct collab_client c;
	size_t n;
	int rc, completed = 0;

	fk_setup();
	fk_config(&cfg);
	cfg.alloc = &fa;
	for (n = 0; n < 2000 && !completed; n++) {
		memset(&FA, 0, sizeof(FA));
		FA.left = n;
		rc = collab_client_init(&c, &F.ws, &cfg, NULL);
		if (rc != 0) {
			ck_assert_int_eq(rc, COLLAB_ENOMEM);
			ck_assert_uint_eq(FA.bytes, 0);
			continue;
		}
		alloc_scenario(&c);
		completed = FA.left > 0; /* no allocation failed */
		if (completed) {
			/* the whole scenario took effect */
			ck_assert_int_eq(collab_client_room_error(&c), 0);
			ck_assert_uint_eq(collab_client_chat_count(&c), 3); /* A, B, ours */
		}
		collab_client_free(&c);
		ck_assert_uint_eq(FA.bytes, 0);
		ck_assert_uint_eq(FA.blocks, 0);
	}
	ck_assert(completed);
	fk_teardown();
}
END_TEST

static Suite *client_state_suite(void)
{
	Suite *s = suite_create("client_state");
	TCase *tc;

	tc = tcase_create("snapshot");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_snapshot_parts_atomic);
	tcase_add_test(tc, test_snapshot_resync_replaces);
	suite_add_tcase(s, tc);

	tc = tcase_create("events");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_every_event_type, 0, (int)ARRAY_LEN(ev_kinds));
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_replay_resync);
	tcase_add_test(tc, test_replay_short_of_synced_is_a_gap);
	tcase_add_test(tc, test_echo_suppression);
	suite_add_tcase(s, tc);

	tc = tcase_create("pending");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_pending_create_then_ack);
	tcase_add_test(tc, test_pending_order);
	tcase_add_test(tc, test_pending_update_delete_and_reject);
	tcase_add_test(tc, test_reject_create_removes_dependents);
	tcase_add_test(tc, test_pending_survive_snapshot);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_room_limits);
	tcase_add_test(tc, test_no_room_kept);
	tcase_add_test(tc, test_alloc_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(client_state_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
