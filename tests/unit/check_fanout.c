/*
 * check_fanout.c - the end-of-turn fanout (server/fanout.h): the throttle,
 * framing events as one bare frame or `batch` frames split at 64 KiB
 * (PROTOCOL.md 5), one shared frame per room per flush, user-count
 * throttling that ends on the true value, the batch delay, subscribers
 * leaving (and the room's block going) in the middle of a delivery, and
 * the snapshot cache. The loop runs on a fake clock.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/json.h"
#include "collab/loop.h"
#include "collab/proto.h"
#include "collab/rand.h"
#include "collab/ws.h"
#include "fanout.h"
#include "room.h"
#include "testutil.h"

/* ---- the throttle ---------------------------------------------------------- */

struct thr_vec {
	uint64_t interval;
	bool ever;
	uint64_t last, now;
	bool ready;
	uint64_t deadline;  /* when not ready */
};

static const struct thr_vec thr_vecs[] = {
	{ 500, false, 0, 0, true, 0 },          /* never acted: at once */
	{ 500, true, 1000, 1000, false, 1500 },
	{ 500, true, 1000, 1499, false, 1500 },
	{ 500, true, 1000, 1500, true, 0 },
	{ 500, true, 1000, 9000, true, 0 },
	{ 0, true, 1000, 1000, true, 0 },       /* no interval: always */
	{ 10, true, UINT64_MAX - 5, UINT64_MAX - 1, false, UINT64_MAX },
};

START_TEST(test_throttle)
{
	const struct thr_vec *v = &thr_vecs[_i];
	struct srv_fanout_throttle t = { v->last, v->ever };
	uint64_t d = 7;
	bool r = srv_fanout_throttle_ready(&t, v->interval, v->now, &d);

	ck_assert_int_eq(r, v->ready);
	if (!r)
		ck_assert_uint_eq(d, v->deadline);
	srv_fanout_throttle_mark(&t, 42);
	ck_assert(t.ever && t.last_ms == 42);
}
END_TEST

/* ---- framing ---------------------------------------------------------------- */

/* A deleted-text-chat event with this seq, its bytes in out. */
static size_t make_event(uint64_t seq, size_t pad, uint8_t *out, size_t cap)
{
	struct collab_proto_event ev;
	char bid[40], uidbuf[600];
	size_t len = 0;

	snprintf(bid, sizeof(bid), "00000000-0000-4000-8000-%012llx",
		 (unsigned long long)seq);
	memset(uidbuf, 'u', pad);
	memset(&ev, 0, sizeof(ev));
	ev.type = COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT;
	ev.seq = seq;
	ev.broadcast_id = (struct collab_str){ bid, 36 };
	ev.ts = 1764151200000ull;
	ev.user_id = (struct collab_str){ uidbuf, pad ? pad : 1 };
	if (!pad)
		uidbuf[0] = 'u';
	ev.chat_id = (struct collab_str){ bid, 36 };
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, cap, &len), 0);
	return len;
}

/* Splits a frame into its payload; checks FIN, text, no mask, minimal
 * length encoding (RFC 6455 5.2). */
static void frame_payload(const struct collab_shbuf *sb, const uint8_t **p,
			  size_t *len)
{
	size_t hl, n;

	ck_assert(sb->len >= 2);
	ck_assert_uint_eq(sb->data[0], 0x81);
	ck_assert_uint_eq(sb->data[1] & 0x80, 0);
	n = sb->data[1] & 0x7f;
	hl = 2;
	if (n == 126) {
		n = (size_t)sb->data[2] << 8 | sb->data[3];
		ck_assert(n >= 126);
		hl = 4;
	} else if (n == 127) {
		size_t i;
		n = 0;
		for (i = 0; i < 8; i++)
			n = n << 8 | sb->data[2 + i];
		ck_assert(n > 0xffff);
		hl = 10;
	}
	ck_assert_uint_eq(sb->len, hl + n);
	*p = sb->data + hl;
	*len = n;
}

struct collect {
	struct collab_shbuf *f[64];
	size_t n;
	int fail_at;   /* emit returns -99 at this frame (or -1: never) */
};

static int collect_emit(void *ctx, struct collab_shbuf *frame)
{
	struct collect *c = ctx;

	if ((int)c->n == c->fail_at)
		return -99;
	ck_assert(c->n < ARRAY_LEN(c->f));
	c->f[c->n++] = collab_shbuf_ref(frame);
	return 0;
}

static void collect_free(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		collab_shbuf_unref(c->f[i]);
	c->n = 0;
}

START_TEST(test_frame_text_lengths)
{
	static const size_t lens[] = { 0, 1, 125, 126, 65535, 65536, 70000 };
	static uint8_t data[70000];
	const uint8_t *p;
	size_t i, n;

	memset(data, 'x', sizeof(data));
	for (i = 0; i < ARRAY_LEN(lens); i++) {
		struct collab_shbuf *sb = srv_fanout_frame_text(NULL, data, lens[i]);
		ck_assert_ptr_nonnull(sb);
		frame_payload(sb, &p, &n);
		ck_assert_uint_eq(n, lens[i]);
		ck_assert(n == 0 || memcmp(p, data, n) == 0);
		collab_shbuf_unref(sb);
	}
}
END_TEST

START_TEST(test_frames_single_and_batch)
{
	uint8_t e[3][512];
	struct collab_str ev[3];
	struct collect c = { .fail_at = -1 };
	const uint8_t *p;
	size_t i, n;
	char want[2048];
	int wl;

	for (i = 0; i < 3; i++) {
		ev[i].len = make_event(i + 1, 0, e[i], sizeof(e[i]));
		ev[i].p = (const char *)e[i];
	}
	/* PROTOCOL.md 5: a single event goes out bare */
	ck_assert_int_eq(srv_fanout_frames(NULL, NULL, ev, 1, collect_emit, &c), 0);
	ck_assert_uint_eq(c.n, 1);
	frame_payload(c.f[0], &p, &n);
	ck_assert(n == ev[0].len && memcmp(p, ev[0].p, n) == 0);
	collect_free(&c);
	/* several: one batch */
	ck_assert_int_eq(srv_fanout_frames(NULL, NULL, ev, 3, collect_emit, &c), 0);
	ck_assert_uint_eq(c.n, 1);
	frame_payload(c.f[0], &p, &n);
	wl = snprintf(want, sizeof(want), "{\"type\":\"batch\",\"events\":[%.*s,%.*s,%.*s]}",
		      (int)ev[0].len, ev[0].p, (int)ev[1].len, ev[1].p,
		      (int)ev[2].len, ev[2].p);
	ck_assert(n == (size_t)wl && memcmp(p, want, n) == 0);
	collect_free(&c);
	/* none: nothing */
	ck_assert_int_eq(srv_fanout_frames(NULL, NULL, ev, 0, collect_emit, &c), 0);
	ck_assert_uint_eq(c.n, 0);
	/* emit's error stops the framing */
	c.fail_at = 0;
	ck_assert_int_eq(srv_fanout_frames(NULL, NULL, ev, 3, collect_emit, &c), -99);
	ck_assert_uint_eq(c.n, 0);
}
END_TEST

START_TEST(test_frames_split)
{
	enum { N = 600 };
	static uint8_t store[N][700];
	static struct collab_str ev[N];
	static struct collab_json_node nodes[COLLAB_JSON_NODES_FOR(70000)];
	struct collab_json_config jc;
	struct collab_json_doc doc;
	struct collect c = { .fail_at = -1 };
	const uint8_t *p;
	size_t i, n, seen = 0;
	uint32_t arr, it;
	uint64_t seq;

	for (i = 0; i < N; i++) {
		ev[i].len = make_event(i + 1, 300, store[i], sizeof(store[i]));
		ev[i].p = (const char *)store[i];
	}
	ck_assert_int_eq(srv_fanout_frames(NULL, NULL, ev, N, collect_emit, &c), 0);
	ck_assert(c.n >= 3);
	collab_json_config_init(&jc);
	jc.max_input = 70000;
	for (i = 0; i < c.n; i++) {
		frame_payload(c.f[i], &p, &n);
		/* PROTOCOL.md 5: split when they pass 64 KiB */
		ck_assert_uint_le(n, COLLAB_PROTO_DEFAULT_MAX_BATCH);
		ck_assert_int_eq(collab_json_parse(&jc, p, n, nodes, ARRAY_LEN(nodes),
						   &doc), 0);
		ck_assert(collab_json_str_eq(&doc, collab_json_obj_get(&doc, 0, "type", 4),
					     "batch", 5));
		arr = collab_json_obj_get(&doc, 0, "events", 6);
		for (it = collab_json_first(&doc, arr); it != COLLAB_JSON_NONE;
		     it = collab_json_next(&doc, it)) {
			ck_assert_int_eq(collab_json_get_u64(&doc,
				collab_json_obj_get(&doc, it, "seq", 3), &seq), 0);
			/* in order, none lost, none twice */
			ck_assert_uint_eq(seq, ++seen);
		}
		/* a full batch could not have taken the next event */
		if (i + 1 < c.n)
			ck_assert_uint_gt(n + ev[seen].len + 1,
					  COLLAB_PROTO_DEFAULT_MAX_BATCH);
	}
	ck_assert_uint_eq(seen, N);
	collect_free(&c);
}
END_TEST

/* ---- the fanout on a fake clock -------------------------------------------- */

static uint64_t fake_now;
static uint64_t clock_fn(void *ctx)
{
	(void)ctx;
	return fake_now;
}

#define MAX_SUBS 16
struct sub {
	uint64_t handle;
	uint64_t knows;              /* the count it last heard */
	size_t frames, counts;
	struct collab_shbuf *last;   /* the last event frame it got */
};

struct env {
	struct collab_loop loop;
	struct collab_rng rng;
	struct srv_room_registry reg;
	struct srv_fanout fo;
	struct srv_room *room;
	struct sub subs[MAX_SUBS];
	size_t n;
	uint64_t leave_on;           /* a handle that leaves when served */
	bool leave_all;              /* every served handle leaves */
};

static struct env E;

static struct sub *sub_of(uint64_t h)
{
	ck_assert(h >= 1 && h <= E.n);
	return &E.subs[h - 1];
}

static void leave(struct srv_room *room, uint64_t handle)
{
	size_t i;
	uint64_t moved;

	for (i = 0; i < room->n_subs; i++)
		if (room->subs[i].handle == handle)
			break;
	ck_assert(i < room->n_subs);
	(void)srv_room_leave(room, i, &moved);
	srv_fanout_left(&E.fo, room);
}

static int fake_deliver(void *ctx, struct srv_room *room, uint64_t handle,
			struct collab_shbuf *frame)
{
	struct sub *s = sub_of(handle);

	ck_assert_ptr_eq(ctx, &E);
	s->frames++;
	if (s->last)
		collab_shbuf_unref(s->last);
	s->last = collab_shbuf_ref(frame);
	if (E.leave_all || handle == E.leave_on)
		leave(room, handle);
	return 1;
}

static int fake_count(void *ctx, struct srv_room *room, uint64_t handle,
		      uint64_t count, struct collab_shbuf *frame)
{
	struct sub *s = sub_of(handle);
	const uint8_t *p;
	size_t n;
	char want[64];

	(void)ctx;
	(void)room;
	frame_payload(frame, &p, &n);
	snprintf(want, sizeof(want), "{\"type\":\"user-count\",\"count\":%llu}",
		 (unsigned long long)count);
	ck_assert(n == strlen(want) && memcmp(p, want, n) == 0);
	if (s->knows == count)
		return 0;
	s->knows = count;
	s->counts++;
	return 1;
}

static void env_up(uint64_t batch_delay, uint64_t presence)
{
	struct collab_loop_config lc;
	struct srv_fanout_config fc;

	memset(&E, 0, sizeof(E));
	fake_now = 1000;
	collab_loop_config_init(&lc);
	lc.now_ms = clock_fn;
	ck_assert_int_eq(collab_loop_init(&E.loop, &lc), 0);
	ck_assert_int_eq(collab_rng_init_seed(&E.rng, "fanout", 6), 0);
	ck_assert_int_eq(srv_room_registry_init(&E.reg, NULL, NULL, &E.rng), 0);
	srv_fanout_config_init(&fc);
	fc.batch_delay_ms = batch_delay;
	fc.presence_interval_ms = presence;
	fc.deliver = fake_deliver;
	fc.deliver_count = fake_count;
	fc.ctx = &E;
	ck_assert_int_eq(srv_fanout_init(&E.fo, &E.loop, &fc), 0);
	ck_assert_int_eq(srv_room_get(&E.reg, "t", 1, (const uint8_t *)"/p", 2,
				      &E.room), 0);
	collab_loop_update_now(&E.loop);
}

static void env_down(void)
{
	size_t i;

	for (i = 0; i < E.n; i++)
		if (E.subs[i].last)
			collab_shbuf_unref(E.subs[i].last);
	srv_fanout_free(&E.fo, &E.reg);
	srv_room_registry_free(&E.reg);
	collab_loop_free(&E.loop);
}

/* A newcomer joins with user id (NULL: anonymous) and learns the count
 * from its welcome. */
static uint64_t join(const char *user)
{
	struct collab_str u = { user, user ? strlen(user) : 0 };
	size_t idx;
	uint64_t h = ++E.n;

	ck_assert(E.n <= MAX_SUBS);
	ck_assert_int_eq(srv_fanout_attach(&E.fo, E.room), 0);
	srv_fanout_flush_room(&E.fo, E.room);
	ck_assert_int_eq(srv_room_join(E.room, h, user ? &u : NULL, &idx), 0);
	E.subs[h - 1].handle = h;
	E.subs[h - 1].knows = srv_room_count(E.room);
	srv_fanout_joined(&E.fo, E.room);
	return h;
}

static void advance(uint64_t ms)
{
	fake_now += ms;
	ck_assert_int_eq(collab_loop_run_once(&E.loop, 0), 0);
}

static struct collab_shbuf *event_buf(uint64_t seq)
{
	uint8_t tmp[512];
	size_t n = make_event(seq, 0, tmp, sizeof(tmp));
	struct collab_shbuf *sb = collab_shbuf_new(NULL, n);

	ck_assert_ptr_nonnull(sb);
	memcpy(sb->data, tmp, n);
	return sb;
}

static void add_event(uint64_t seq)
{
	struct collab_shbuf *sb = event_buf(seq);

	ck_assert_int_eq(srv_fanout_add_event(&E.fo, E.room, sb), 0);
	collab_shbuf_unref(sb);
}

START_TEST(test_one_shared_frame_per_room)
{
	size_t i;

	env_up(0, 500);
	join("a");
	join("b");
	join(NULL);
	add_event(1);
	add_event(2);
	srv_fanout_flush(&E.fo, false);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(E.subs[i].frames, 1);
		/* encoded once, the same buffer for everyone */
		ck_assert_ptr_eq(E.subs[i].last, E.subs[0].last);
	}
	ck_assert_uint_eq(E.fo.frames_sent, 1);
	ck_assert_uint_eq(E.fo.deliveries, 3);
	/* nothing pending: a flush sends nothing */
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(E.subs[0].frames, 1);
	env_down();
}
END_TEST

START_TEST(test_presence_throttle)
{
	uint64_t a, b, c;

	env_up(0, 500);
	a = join("a");
	srv_fanout_flush(&E.fo, false);
	/* the only subscriber knew the count from its welcome */
	ck_assert_uint_eq(sub_of(a)->counts, 0);
	b = join("b");
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(sub_of(a)->counts, 1);
	ck_assert_uint_eq(sub_of(a)->knows, 2);
	ck_assert_uint_eq(sub_of(b)->counts, 0);
	/* within the interval: held */
	advance(100);
	c = join("c");
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(sub_of(a)->knows, 2);
	join("a");      /* a second tab of a: still 3 users */
	srv_fanout_flush(&E.fo, false);
	advance(399);
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(sub_of(a)->knows, 2);
	/* the timer brings it back at last + 500, with the true value */
	advance(1);
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(sub_of(a)->knows, 3);
	ck_assert_uint_eq(sub_of(b)->knows, 3);
	ck_assert_uint_eq(sub_of(c)->counts, 0);
	ck_assert_uint_eq(sub_of(a)->counts, 2);
	/* a leave and a join within the interval: no change, nothing sent */
	advance(100);
	leave(E.room, c);
	join("c2");
	srv_fanout_flush(&E.fo, false);
	advance(1000);
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(sub_of(a)->counts, 2);
	env_down();
}
END_TEST

START_TEST(test_presence_force)
{
	uint64_t a;

	env_up(0, 500);
	a = join("a");
	join("b");
	srv_fanout_flush(&E.fo, false);
	join("c");
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(sub_of(a)->knows, 2);
	/* shutdown flush ignores the interval */
	srv_fanout_flush(&E.fo, true);
	ck_assert_uint_eq(sub_of(a)->knows, 3);
	env_down();
}
END_TEST

START_TEST(test_batch_delay)
{
	uint64_t a;
	const uint8_t *p;
	size_t n;

	env_up(50, 0);
	a = join("a");
	/* a quiet room sends at once */
	add_event(1);
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(sub_of(a)->frames, 1);
	/* a busy one waits for the delay, batching what comes meanwhile */
	advance(10);
	add_event(2);
	srv_fanout_flush(&E.fo, false);
	advance(10);
	add_event(3);
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(sub_of(a)->frames, 1);
	advance(29);
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(sub_of(a)->frames, 1);
	advance(1);
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(sub_of(a)->frames, 2);
	frame_payload(sub_of(a)->last, &p, &n);
	ck_assert(n > 25 && memcmp(p, "{\"type\":\"batch\"", 15) == 0);
	/* a newcomer: held events are sent first (flush_room) */
	advance(10);
	add_event(4);
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(sub_of(a)->frames, 2);
	join("b");
	ck_assert_uint_eq(sub_of(a)->frames, 3);
	ck_assert_uint_eq(E.subs[1].frames, 0);
	env_down();
}
END_TEST

START_TEST(test_leave_during_delivery)
{
	size_t i;

	env_up(0, 0);
	for (i = 0; i < 6; i++)
		join(NULL);
	srv_fanout_flush(&E.fo, false);
	E.leave_on = 3;
	add_event(1);
	srv_fanout_flush(&E.fo, false);
	/* everyone got it once, the one that left included */
	for (i = 0; i < 6; i++)
		ck_assert_uint_eq(E.subs[i].frames, 1);
	ck_assert_uint_eq(E.room->n_subs, 5);
	E.leave_on = 0;
	add_event(2);
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(E.subs[2].frames, 1);
	for (i = 0; i < 6; i++)
		if (i != 2)
			ck_assert_uint_eq(E.subs[i].frames, 2);
	/* everyone leaves while served: the block goes in the middle of
	 * the delivery (ASan watches) */
	E.leave_all = true;
	add_event(3);
	add_event(4);
	srv_fanout_flush(&E.fo, false);
	ck_assert_uint_eq(E.room->n_subs, 0);
	ck_assert_ptr_null(E.room->ext);
	/* events for a room without subscribers are ignored */
	add_event(5);
	srv_fanout_flush(&E.fo, false);
	env_down();
}
END_TEST

START_TEST(test_snapshot_cache)
{
	struct collab_shbuf *const *f1, *const *f2;
	struct collab_shbuf *first;
	size_t n1 = 0, n2 = 0;
	const uint8_t *p;
	size_t n;
	static const char want[] =
		"{\"type\":\"snapshot\",\"seq\":0,\"reset\":true,\"chats\":[]}";

	env_up(0, 500);
	ck_assert_int_eq(srv_fanout_snapshot(&E.fo, E.room, &f1, &n1),
			 COLLAB_EINVAL);       /* no block yet */
	join("a");
	ck_assert_int_eq(srv_fanout_snapshot(&E.fo, E.room, &f1, &n1), 0);
	ck_assert_uint_eq(n1, 1);
	frame_payload(f1[0], &p, &n);
	ck_assert(n == sizeof(want) - 1 && memcmp(p, want, n) == 0);
	first = f1[0];
	/* the same seq: the same frames, shared */
	ck_assert_int_eq(srv_fanout_snapshot(&E.fo, E.room, &f2, &n2), 0);
	ck_assert_ptr_eq(f2[0], first);
	/* an event invalidates the cache */
	add_event(1);
	ck_assert_int_eq(srv_fanout_snapshot(&E.fo, E.room, &f2, &n2), 0);
	ck_assert_uint_eq(n2, 1);
	srv_fanout_flush(&E.fo, false);
	env_down();
}
END_TEST

static Suite *fanout_suite(void)
{
	Suite *s = suite_create("fanout");
	TCase *tc = tcase_create("pure");

	tcase_add_loop_test(tc, test_throttle, 0, (int)ARRAY_LEN(thr_vecs));
	tcase_add_test(tc, test_frame_text_lengths);
	tcase_add_test(tc, test_frames_single_and_batch);
	tcase_add_test(tc, test_frames_split);
	suite_add_tcase(s, tc);
	tc = tcase_create("fanout");
	tcase_add_test(tc, test_one_shared_frame_per_room);
	tcase_add_test(tc, test_presence_throttle);
	tcase_add_test(tc, test_presence_force);
	tcase_add_test(tc, test_batch_delay);
	tcase_add_test(tc, test_leave_during_delivery);
	tcase_add_test(tc, test_snapshot_cache);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fanout_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
