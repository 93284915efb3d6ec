/*
 * check_room.c - collab-server's rooms (server/room.c, chat.c,
 * room_htab.c): SipHash vectors, the hash table, the registry with growth,
 * freeing and tombstones (PROTOCOL.md 8), distinct-user counts
 * (PROTOCOL.md 5), the ring and resync decisions (PROTOCOL.md 3), state
 * records, and allocator failures.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/proto.h"
#include "ops.h"
#include "room.h"
#include "room_htab.h"
#include "testutil.h"
#include "talloc.h"

#define NOW UINT64_C(1764151200000)

/* ---- counting allocator (checks sizes, fails on demand) ------------------ */

static struct talloc TA;
static struct collab_alloc A = { ta_alloc, ta_free, &TA };

static void arm(long k)
{
	TA.fail_at = TA.n + k;
}

static void disarm(void)
{
	TA.fail_at = -1;
}

static struct srv_room_registry REG;
static struct srv_ops_limits LIM;

static void setup_ring(size_t ring)
{
	struct collab_rng rng;
	struct srv_room_config cfg;

	memset(&TA, 0, sizeof(TA));
	TA.fail_at = -1;
	ck_assert_int_eq(collab_rng_init_seed(&rng, "room", 4), 0);
	srv_room_config_init(&cfg);
	cfg.ring_size = ring;
	ck_assert_int_eq(srv_room_registry_init(&REG, &A, &cfg, &rng), 0);
	srv_ops_limits_init(&LIM);
}

static void setup(void)
{
	setup_ring(SRV_ROOM_DEFAULT_RING_SIZE);
}

static void setup_ring5(void)
{
	setup_ring(5);
}

static void teardown(void)
{
	srv_room_registry_free(&REG);
	ck_assert_uint_eq(TA.blocks, 0);
}

static struct srv_room *room(const char *tenant, const char *url)
{
	struct srv_room *r;

	ck_assert_int_eq(srv_room_get(&REG, tenant, strlen(tenant),
				      (const uint8_t *)url, strlen(url), &r), 0);
	return r;
}

static struct srv_room *find(const char *tenant, const char *url)
{
	return srv_room_find(&REG, tenant, strlen(tenant), (const uint8_t *)url,
			     strlen(url));
}

static const char *ID(unsigned n)
{
	static char b[16][40];
	static unsigned k;
	char *p = b[k++ % 16];

	snprintf(p, 40, "00000000-0000-4000-8000-%012x", n);
	return p;
}

static const struct srv_ops_user ANN = { { "u1", 2 }, { "Ann", 3 }, false, false };

static struct collab_json_node NODES[4096];
static uint8_t SCRATCH[16384];

/* Applies a new chat (id chat, comment chat + 1) or, when the chat
 * exists, a resolve; either way one event. */
static void event(struct srv_room *r, unsigned chat)
{
	static unsigned bid = 0x100000;
	struct collab_proto_mem mem = { NODES, ARRAY_LEN(NODES), SCRATCH,
					sizeof(SCRATCH) };
	struct collab_proto_op op;
	struct srv_ops_result res;
	char msg[512];
	int n;

	if (srv_chat_find(&r->chats, ID(chat)) == NULL)
		n = snprintf(msg, sizeof(msg), "{\"type\":\"new-text-chat\","
			     "\"broadcastId\":\"%s\",\"chat\":{\"id\":\"%s\","
			     "\"anchor\":{\"s\":\"p > q\"},\"comment\":{\"id\":"
			     "\"%s\",\"text\":\"hi \\u2028 \\\"there\\\"\"}}}",
			     ID(bid++), ID(chat), ID(chat + 1));
	else
		n = snprintf(msg, sizeof(msg), "{\"type\":\"updated-text-chat\","
			     "\"broadcastId\":\"%s\",\"chatId\":\"%s\",\"action\":"
			     "\"resolve\",\"resolved\":true}", ID(bid++), ID(chat));
	ck_assert_int_eq(collab_proto_parse_op(NULL, &mem, (const uint8_t *)msg,
					       (size_t)n, &op), 0);
	ck_assert_int_eq(srv_ops_apply(NULL, r, &LIM, &ANN, &op, NOW, &res), 0);
	ck_assert_int_eq(res.outcome, SRV_OPS_APPLIED);
	srv_ops_result_release(&res);
}

/* ---- SipHash-2-4 ------------------------------------------------------------ */

/* The reference implementation's vectors: key 00..0f, input 00..(n-1). */
static const uint8_t sip_vectors[12][8] = {
	{ 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 },
	{ 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 },
	{ 0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d },
	{ 0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85 },
	{ 0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf },
	{ 0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18 },
	{ 0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb },
	{ 0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab },
	{ 0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93 },
	{ 0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e },
	{ 0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a },
	{ 0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4 },
};

START_TEST(test_siphash_vectors)
{
	struct srv_room_sipkey k = { UINT64_C(0x0706050403020100),
				     UINT64_C(0x0f0e0d0c0b0a0908) };
	uint8_t in[16];
	size_t n = (size_t)_i;
	uint64_t want = 0, got;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	for (unsigned i = 0; i < 8; i++)
		want |= (uint64_t)sip_vectors[n][i] << (8 * i);
	ck_assert_uint_eq(srv_room_siphash(&k, in, n), want);
	/* every split of the input gives the same hash */
	for (size_t cut = 0; cut <= n; cut++) {
		struct srv_room_siphash s;
		srv_room_siphash_init(&s, &k);
		srv_room_siphash_update(&s, in, cut);
		srv_room_siphash_update(&s, in + cut, n - cut);
		got = srv_room_siphash_final(&s);
		ck_assert_uint_eq(got, want);
	}
}
END_TEST

START_TEST(test_siphash_keyed)
{
	struct srv_room_sipkey k1 = { 1, 2 }, k2 = { 1, 3 };

	/* the key matters: the same input hashes differently */
	ck_assert_uint_ne(srv_room_siphash(&k1, "abc", 3),
			  srv_room_siphash(&k2, "abc", 3));
}
END_TEST

/* ---- the hash table ---------------------------------------------------------- */

START_TEST(test_htab)
{
	struct srv_room_htab t;
	static uint64_t items[20000];
	size_t n = ARRAY_LEN(items), it, count;
	uint64_t *p;

	srv_room_htab_init(&t);
	ck_assert_ptr_null(srv_room_htab_probe(&t, 1, &(size_t){ SIZE_MAX }));
	ck_assert(!srv_room_htab_del(&t, 1, &items[0]));
	for (size_t i = 0; i < n; i++) {
		/* few distinct hashes: long runs, many equal hashes */
		items[i] = i % 3000;
		ck_assert_int_eq(srv_room_htab_reserve(&t, &A, 1), 0);
		srv_room_htab_put(&t, items[i] * 2654435761u, &items[i]);
		ck_assert_uint_le(t.n * 4, t.cap * 3);
	}
	ck_assert_uint_eq(t.n, n);
	/* delete every other one (by identity, hashes repeat) */
	for (size_t i = 0; i < n; i += 2)
		ck_assert(srv_room_htab_del(&t, items[i] * 2654435761u,
					    &items[i]));
	ck_assert(!srv_room_htab_del(&t, items[0] * 2654435761u, &items[0]));
	ck_assert_uint_eq(t.n, n / 2);
	/* each remaining item is found by probing its hash */
	for (size_t i = 1; i < n; i += 2) {
		bool seen = false;
		it = SIZE_MAX;
		while ((p = srv_room_htab_probe(&t, items[i] * 2654435761u,
						&it)) != NULL)
			seen = seen || p == &items[i];
		ck_assert(seen);
	}
	for (size_t i = 0; i < n; i += 2) {
		it = SIZE_MAX;
		while ((p = srv_room_htab_probe(&t, items[i] * 2654435761u,
						&it)) != NULL)
			ck_assert_ptr_ne(p, &items[i]);
	}
	count = 0;
	it = 0;
	while (srv_room_htab_next(&t, &it) != NULL)
		count++;
	ck_assert_uint_eq(count, n / 2);
	/* reserve without need allocates nothing */
	arm(0);
	ck_assert_int_eq(srv_room_htab_reserve(&t, &A, 1), 0);
	ck_assert_int_eq(srv_room_htab_reserve(&t, &A, t.cap), COLLAB_ENOMEM);
	disarm();
	ck_assert_int_eq(srv_room_htab_reserve(&t, &A, SIZE_MAX), COLLAB_ENOMEM);
	ck_assert_uint_eq(t.n, n / 2);
	srv_room_htab_free(&t, &A);
	ck_assert_uint_eq(t.cap, 0);
}
END_TEST

/* ---- the registry ---------------------------------------------------------------- */

START_TEST(test_registry_rooms)
{
	struct srv_room *a = room("t1", "page"), *b, *c;

	ck_assert_uint_eq(srv_room_registry_count(&REG), 1);
	ck_assert_ptr_eq(room("t1", "page"), a);
	ck_assert_uint_eq(a->seq, 0);
	ck_assert_uint_eq(srv_room_count(a), 0);
	/* (tenant, url) pairs that concatenate alike are distinct rooms */
	b = room("t", "1page");
	c = room("t2", "page");
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_ne(a, c);
	ck_assert_uint_eq(srv_room_registry_count(&REG), 3);
	ck_assert_ptr_eq(find("t1", "page"), a);
	ck_assert_ptr_null(find("t1", "pag"));
	ck_assert_ptr_null(find("t3", "page"));
	ck_assert(collab_str_eq(srv_room_tenant(b), "t", 1));
	ck_assert(collab_str_eq(srv_room_url(b), "1page", 5));
	/* urlIds are bytes: any UTF-8, NUL included */
	{
		struct srv_room *d;
		ck_assert_int_eq(srv_room_get(&REG, "t1", 2,
					      (const uint8_t *)"a\0b", 3, &d), 0);
		ck_assert_ptr_ne(d, a);
		ck_assert_ptr_eq(srv_room_find(&REG, "t1", 2,
					       (const uint8_t *)"a\0b", 3), d);
		ck_assert_ptr_null(srv_room_find(&REG, "t1", 2,
						 (const uint8_t *)"a\0c", 3));
	}
	ck_assert_int_eq(srv_room_get(&REG, "t", 0, (const uint8_t *)"x", 1, &b),
			 COLLAB_EINVAL);
	ck_assert_int_eq(srv_room_get(&REG, "t", 1, (const uint8_t *)"x", 0, &b),
			 COLLAB_EINVAL);
}
END_TEST

START_TEST(test_registry_growth)
{
	char url[32];
	size_t n = 5000, it = 0, seen = 0;

	for (size_t i = 0; i < n; i++) {
		snprintf(url, sizeof(url), "https://x/%zu", i);
		room(i % 2 ? "a" : "b", url);
	}
	ck_assert_uint_eq(srv_room_registry_count(&REG), n);
	for (size_t i = 0; i < n; i++) {
		snprintf(url, sizeof(url), "https://x/%zu", i);
		ck_assert_ptr_nonnull(find(i % 2 ? "a" : "b", url));
		ck_assert_ptr_null(find(i % 2 ? "b" : "a", url));
	}
	while (srv_room_next(&REG, &it) != NULL)
		seen++;
	ck_assert_uint_eq(seen, n);
	/* all idle once they have been joined and left: collected */
	for (size_t i = 0; i < n; i++) {
		size_t idx;
		struct srv_room *r;
		snprintf(url, sizeof(url), "https://x/%zu", i);
		r = find(i % 2 ? "a" : "b", url);
		ck_assert_int_eq(srv_room_join(r, i, NULL, &idx), 0);
		ck_assert(!srv_room_leave(r, idx, NULL));
	}
	ck_assert_uint_eq(srv_room_registry_collect(&REG), n);
	ck_assert_uint_eq(srv_room_registry_count(&REG), 0);
	ck_assert_uint_eq(srv_room_registry_tombstones(&REG), 0);
}
END_TEST

/* ---- subscribers and distinct users ------------------------------------------------ */

/*
 * A script of joins (user id or "" for anonymous) and leaves (of the k-th
 * live connection), with the count after each step: several tabs of one
 * user count once, each anonymous connection once.
 */
static const struct {
	char op;            /* 'j' join, 'l' leave */
	const char *user;   /* join: "" anonymous */
	unsigned conn;      /* leave: the connection number (join order) */
	size_t count;
} script[] = {
	{ 'j', "u1", 0, 1 }, { 'j', "u1", 1, 1 }, { 'j', "u2", 2, 2 },
	{ 'j', "", 3, 3 },   { 'j', "", 4, 4 },   { 'j', "u1", 5, 4 },
	{ 'l', NULL, 0, 4 }, { 'l', NULL, 3, 3 }, { 'l', NULL, 1, 3 },
	{ 'l', NULL, 5, 2 }, { 'j', "u1", 6, 3 }, { 'l', NULL, 2, 2 },
	{ 'l', NULL, 4, 1 }, { 'j', "", 7, 2 },   { 'l', NULL, 6, 1 },
	{ 'l', NULL, 7, 0 },
};

START_TEST(test_user_count)
{
	struct srv_room *r = room("t", "p");
	size_t idx_of[8];   /* connection -> its index in the room */
	bool live[8] = { false };
	uint64_t moved;

	for (size_t s = 0; s < ARRAY_LEN(script); s++) {
		if (script[s].op == 'j') {
			struct collab_str u = { script[s].user,
						strlen(script[s].user) };
			ck_assert_int_eq(srv_room_join(r, 100 + script[s].conn,
						       u.len ? &u : NULL,
						       &idx_of[script[s].conn]), 0);
			live[script[s].conn] = true;
		} else {
			unsigned c = script[s].conn;
			ck_assert(live[c]);
			if (srv_room_leave(r, idx_of[c], &moved)) {
				/* the handle that moved takes the hole */
				ck_assert_uint_ge(moved, 100);
				ck_assert(live[moved - 100]);
				idx_of[moved - 100] = idx_of[c];
			}
			live[c] = false;
		}
		ck_assert_msg(srv_room_count(r) == script[s].count,
			      "step %zu: count %zu", s, srv_room_count(r));
		/* the subscriber array holds exactly the live handles */
		for (unsigned c = 0; c < 8; c++)
			if (live[c])
				ck_assert_uint_eq(r->subs[idx_of[c]].handle, 100 + c);
	}
	ck_assert_uint_eq(r->n_subs, 0);
	ck_assert_uint_eq(r->users.n, 0);
	ck_assert(!srv_room_leave(r, 0, &moved));
}
END_TEST

START_TEST(test_many_subscribers)
{
	struct srv_room *r = room("t", "p");
	static size_t idx[3000];
	char uid[16];
	uint64_t moved;

	for (unsigned i = 0; i < 3000; i++) {
		struct collab_str u = { uid, (size_t)snprintf(uid, sizeof(uid),
							      "u%u", i % 1000) };
		ck_assert_int_eq(srv_room_join(r, i, i % 4 == 3 ? NULL : &u,
					       &idx[i]), 0);
	}
	/* i and i + 1000 share i % 4: users u<j> for j % 4 != 3 (750 of
	 * them, three tabs each), and 750 anonymous connections */
	ck_assert_uint_eq(srv_room_count(r), 750 + 750);
	for (unsigned i = 0; i < 3000; i += 2) {
		if (srv_room_leave(r, idx[i], &moved))
			idx[moved] = idx[i];
	}
	for (unsigned i = 1; i < 3000; i += 2)
		ck_assert_uint_eq(r->subs[idx[i]].handle, i);
	/* odd i left: i % 4 == 3 anonymous (750), i % 4 == 1 users (250) */
	ck_assert_uint_eq(srv_room_count(r), 750 + 250);
}
END_TEST

START_TEST(test_join_alloc_failure)
{
	struct srv_room *r = room("t", "p");
	struct collab_str u = { "u1", 2 }, v = { "u2", 2 };
	size_t idx;
	unsigned failures = 0;

	for (long k = 0;; k++) {
		arm(k);
		int rc = srv_room_join(r, 1, &u, &idx);
		disarm();
		if (rc == 0)
			break;
		failures++;
		ck_assert_int_eq(rc, COLLAB_ENOMEM);
		ck_assert_uint_eq(srv_room_count(r), 0);
		ck_assert_uint_eq(r->n_subs, 0);
	}
	ck_assert_uint_gt(failures, 1);
	ck_assert_int_eq(srv_room_join(r, 2, &u, &idx), 0);
	ck_assert_uint_eq(srv_room_count(r), 1);
	ck_assert_uint_eq(r->users.n, 1);
	arm(0);
	ck_assert_int_eq(srv_room_join(r, 3, &v, &idx), COLLAB_ENOMEM);
	disarm();
	ck_assert_uint_eq(srv_room_count(r), 1);
	ck_assert_uint_eq(r->n_subs, 2);
}
END_TEST

/* ---- freeing and tombstones ----------------------------------------------------------- */

START_TEST(test_free_and_tombstone)
{
	struct srv_room *r = room("t", "p");
	size_t idx;

	/* a room with subscribers stays */
	ck_assert_int_eq(srv_room_join(r, 1, NULL, &idx), 0);
	event(r, 1);
	event(r, 1);
	event(r, 10);
	ck_assert_uint_eq(r->seq, 3);
	ck_assert_uint_eq(srv_room_registry_collect(&REG), 0);
	/* no subscribers but live chats: stays */
	srv_room_leave(r, idx, NULL);
	ck_assert_uint_eq(srv_room_registry_collect(&REG), 0);
	ck_assert_ptr_eq(find("t", "p"), r);
	/* neither: freed at the next collect, leaving its seq behind */
	{
		struct srv_ops_result res;
		struct collab_proto_mem mem = { NODES, ARRAY_LEN(NODES),
						SCRATCH, sizeof(SCRATCH) };
		struct collab_proto_op op;
		char msg[256];
		for (unsigned c = 1; c <= 10; c += 9) {
			int n = snprintf(msg, sizeof(msg), "{\"type\":"
				"\"deleted-text-chat\",\"broadcastId\":\"%s\","
				"\"chatId\":\"%s\"}", ID(0x200000 + c), ID(c));
			ck_assert_int_eq(collab_proto_parse_op(NULL, &mem,
				(const uint8_t *)msg, (size_t)n, &op), 0);
			ck_assert_int_eq(srv_ops_apply(NULL, r, &LIM, &ANN, &op,
						       NOW, &res), 0);
			ck_assert_int_eq(res.outcome, SRV_OPS_APPLIED);
			srv_ops_result_release(&res);
		}
	}
	ck_assert_uint_eq(r->seq, 5);
	ck_assert(srv_room_is_idle(r));
	ck_assert_uint_eq(srv_room_registry_count(&REG), 1);
	ck_assert_uint_eq(srv_room_registry_collect(&REG), 1);
	ck_assert_uint_eq(srv_room_registry_count(&REG), 0);
	ck_assert_uint_eq(srv_room_registry_tombstones(&REG), 1);
	ck_assert_ptr_null(find("t", "p"));
	{
		size_t it = 0;
		const struct srv_room_tomb *t = srv_room_tomb_next(&REG, &it);
		ck_assert_ptr_nonnull(t);
		ck_assert_uint_eq(t->seq, 5);
		ck_assert_uint_eq(t->tenant_len, 1);
		ck_assert_int_eq(memcmp(t->key, "tp", 2), 0);
		ck_assert_ptr_null(srv_room_tomb_next(&REG, &it));
	}
	/* PROTOCOL.md 8: re-created, the seq continues; the tombstone goes */
	r = room("t", "p");
	ck_assert_uint_eq(r->seq, 5);
	ck_assert_uint_eq(srv_room_registry_tombstones(&REG), 0);
	event(r, 20);
	ck_assert_uint_eq(r->seq, 6);
	/* resync: nothing retained from before, so older clients get a
	 * snapshot; a client at 5 has seen the empty state: replay */
	{
		uint64_t n;
		ck_assert_int_eq(srv_room_events_since(r, 4, &n),
				 SRV_ROOM_SNAPSHOT);
		ck_assert_int_eq(srv_room_events_since(r, 5, &n),
				 SRV_ROOM_REPLAY);
		ck_assert_uint_eq(n, 1);
	}
	/* a room that never had an event leaves no tombstone */
	{
		struct srv_room *q = room("t", "quiet");
		ck_assert_int_eq(srv_room_join(q, 1, NULL, &idx), 0);
		srv_room_leave(q, idx, NULL);
		ck_assert_uint_eq(srv_room_registry_collect(&REG), 1);
		ck_assert_uint_eq(srv_room_registry_tombstones(&REG), 0);
	}
	/* rejoined before the collect: not freed */
	{
		struct srv_room *q = room("t", "back");
		ck_assert_int_eq(srv_room_join(q, 1, NULL, &idx), 0);
		srv_room_leave(q, idx, NULL);
		ck_assert_int_eq(srv_room_join(q, 2, NULL, &idx), 0);
		ck_assert_uint_eq(srv_room_registry_collect(&REG), 0);
		ck_assert_ptr_eq(find("t", "back"), q);
	}
}
END_TEST

START_TEST(test_tombstone_alloc_failure)
{
	struct srv_room *r = room("t", "p");
	size_t idx;

	ck_assert_int_eq(srv_room_join(r, 1, NULL, &idx), 0);
	event(r, 1);
	srv_chat_store_free(&r->chats);   /* drop the chat behind ops' back */
	srv_room_leave(r, idx, NULL);
	/* no memory for the tombstone: the room is kept, seq intact */
	arm(0);
	ck_assert_uint_eq(srv_room_registry_collect(&REG), 0);
	disarm();
	ck_assert_ptr_eq(find("t", "p"), r);
	ck_assert_uint_eq(srv_room_registry_collect(&REG), 1);
	ck_assert_uint_eq(room("t", "p")->seq, 1);
}
END_TEST

START_TEST(test_tomb_set)
{
	struct srv_room *r;

	ck_assert_int_eq(srv_room_tomb_set(&REG, "t", 1, (const uint8_t *)"p", 1,
					   7), 0);
	ck_assert_int_eq(srv_room_tomb_set(&REG, "t", 1, (const uint8_t *)"p", 1,
					   4), 0);   /* the larger stays */
	ck_assert_uint_eq(srv_room_registry_tombstones(&REG), 1);
	r = room("t", "p");
	ck_assert_uint_eq(r->seq, 7);
	ck_assert_int_eq(srv_room_tomb_set(&REG, "t", 1, (const uint8_t *)"p", 1,
					   9), COLLAB_EEXIST);
	ck_assert_int_eq(srv_room_tomb_set(&REG, "t", 0, (const uint8_t *)"p", 1,
					   9), COLLAB_EINVAL);
	arm(0);
	ck_assert_int_eq(srv_room_tomb_set(&REG, "t", 1, (const uint8_t *)"q", 1,
					   9), COLLAB_ENOMEM);
	disarm();
	ck_assert_uint_eq(srv_room_registry_tombstones(&REG), 0);
}
END_TEST

START_TEST(test_get_alloc_failure)
{
	unsigned failures = 0;
	struct srv_room *r;

	for (long k = 0;; k++) {
		arm(k);
		int rc = srv_room_get(&REG, "t", 1, (const uint8_t *)"p", 1, &r);
		disarm();
		if (rc == 0)
			break;
		failures++;
		ck_assert_int_eq(rc, COLLAB_ENOMEM);
		ck_assert_uint_eq(srv_room_registry_count(&REG), 0);
	}
	ck_assert_uint_gt(failures, 1);
	ck_assert_uint_eq(srv_room_registry_count(&REG), 1);
}
END_TEST

START_TEST(test_registry_init_errors)
{
	struct srv_room_registry reg;
	struct srv_room_config cfg;
	struct collab_rng rng;

	srv_room_config_init(&cfg);
	ck_assert_uint_eq(cfg.ring_size, 1000);
	ck_assert_int_eq(srv_room_registry_init(&reg, NULL, NULL, NULL),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_rng_init_seed(&rng, "x", 1), 0);
	cfg.ring_size = 0;
	ck_assert_int_eq(srv_room_registry_init(&reg, NULL, &cfg, &rng),
			 COLLAB_EINVAL);
	collab_rng_wipe(&rng);
	ck_assert_int_eq(srv_room_registry_init(&reg, NULL, NULL, &rng),
			 COLLAB_ESTATE);
	/* two registries draw two keys */
	{
		struct srv_room_registry r1, r2;
		ck_assert_int_eq(collab_rng_init(&rng), 0);
		ck_assert_int_eq(srv_room_registry_init(&r1, NULL, NULL, &rng), 0);
		ck_assert_int_eq(srv_room_registry_init(&r2, NULL, NULL, &rng), 0);
		ck_assert(r1.key.k0 != r2.key.k0 || r1.key.k1 != r2.key.k1);
		srv_room_registry_free(&r1);
		srv_room_registry_free(&r2);
	}
}
END_TEST

/* ---- the ring and resync ----------------------------------------------------------------- */

/* Ring of 5 (setup_ring5), 12 events: seqs 8..12 retained. */
static const struct {
	uint64_t since;
	enum srv_room_resync want;
	uint64_t n;
} since_cases[] = {
	{ 12, SRV_ROOM_REPLAY, 0 },   /* up to date */
	{ 11, SRV_ROOM_REPLAY, 1 },
	{ 7, SRV_ROOM_REPLAY, 5 },    /* every later event retained */
	{ 6, SRV_ROOM_SNAPSHOT, 0 },  /* 7 is gone */
	{ 0, SRV_ROOM_SNAPSHOT, 0 },
	{ 13, SRV_ROOM_SNAPSHOT, 0 }, /* since > seq */
	{ UINT64_MAX, SRV_ROOM_SNAPSHOT, 0 },
};

START_TEST(test_events_since)
{
	struct srv_room *r = room("t", "p");
	uint64_t n = 99;

	for (unsigned i = 0; i < 12; i++)
		event(r, 1);
	ck_assert_uint_eq(r->seq, 12);
	ck_assert_uint_eq(r->ring_n, 5);
	ck_assert_uint_eq(r->ring_cap, 5);
	ck_assert_int_eq(srv_room_events_since(r, since_cases[_i].since, &n),
			 since_cases[_i].want);
	ck_assert_uint_eq(n, since_cases[_i].n);
	for (uint64_t s = since_cases[_i].since + 1;
	     since_cases[_i].want == SRV_ROOM_REPLAY && s <= r->seq; s++) {
		const struct srv_room_event *ev = srv_room_event_at(r, s);
		char want[32];
		int k = snprintf(want, sizeof(want), "\"seq\":%" PRIu64 ",", s);
		ck_assert_ptr_nonnull(ev);
		ck_assert_uint_eq(ev->seq, s);
		ck_assert_ptr_nonnull(memmem(ev->msg->data, ev->msg->len, want,
					     (size_t)k));
	}
	ck_assert_ptr_null(srv_room_event_at(r, 7));
	ck_assert_ptr_null(srv_room_event_at(r, 13));
	ck_assert_ptr_null(srv_room_event_at(r, 0));
}
END_TEST

START_TEST(test_events_since_young_room)
{
	struct srv_room *r = room("t", "p");
	uint64_t n;

	/* a fresh room: seq 0, nothing to replay */
	ck_assert_int_eq(srv_room_events_since(r, 0, &n), SRV_ROOM_REPLAY);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(srv_room_events_since(r, 1, &n), SRV_ROOM_SNAPSHOT);
	for (unsigned i = 0; i < 3; i++)
		event(r, 1);
	/* all of 1..3 retained: replay from the very beginning */
	ck_assert_int_eq(srv_room_events_since(r, 0, &n), SRV_ROOM_REPLAY);
	ck_assert_uint_eq(n, 3);
	/* the ring grows on demand: 5 slots at most here */
	for (unsigned i = 0; i < 3; i++)
		event(r, 1);
	ck_assert_int_eq(srv_room_events_since(r, 0, &n), SRV_ROOM_SNAPSHOT);
	ck_assert_int_eq(srv_room_events_since(r, 1, &n), SRV_ROOM_REPLAY);
	ck_assert_uint_eq(n, 5);
}
END_TEST

START_TEST(test_ring_default_size)
{
	struct srv_room *r = room("t", "p");
	uint64_t n;

	/* PROTOCOL.md 8: at least the last 1,000 events */
	for (unsigned i = 0; i < 1500; i++)
		event(r, 1);
	ck_assert_uint_eq(r->ring_n, 1000);
	ck_assert_int_eq(srv_room_events_since(r, 500, &n), SRV_ROOM_REPLAY);
	ck_assert_uint_eq(n, 1000);
	ck_assert_int_eq(srv_room_events_since(r, 499, &n), SRV_ROOM_SNAPSHOT);
	ck_assert_uint_eq(r->bids.n, 1000);
}
END_TEST

/* ---- state records ------------------------------------------------------------------------ */

struct msgs {
	char *p[64];
	size_t len[64];
	size_t n;
};

static int keep(void *ctx, const uint8_t *p, size_t len)
{
	struct msgs *m = ctx;

	ck_assert_uint_lt(m->n, 64);
	m->p[m->n] = malloc(len + 1);
	memcpy(m->p[m->n], p, len);
	m->p[m->n][len] = 0;
	m->len[m->n++] = len;
	return 0;
}

static void drop(struct msgs *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->p[i]);
	m->n = 0;
}

static void encode(const struct srv_room *r, size_t limit, struct msgs *m)
{
	struct collab_proto_config cfg;
	struct collab_buf b;

	collab_proto_config_init(&cfg);
	if (limit)
		cfg.max_snapshot = limit;
	collab_buf_init(&b, NULL, 0);
	m->n = 0;
	ck_assert_int_eq(srv_room_encode_state(r, &cfg, &b, keep, m), 0);
	collab_buf_free(&b);
}

START_TEST(test_state_round_trip)
{
	struct srv_room *r = room("t", "p"), *q = room("t", "copy");
	struct msgs a, b;
	char m[SRV_ROOM_MSG_CAP];

	for (unsigned i = 0; i < 40; i++)
		event(r, 100 + 2 * (i % 20));
	ck_assert_uint_eq(r->chats.n_chats, 20);
	/* small messages: several, the first with reset true */
	encode(r, 600, &a);
	ck_assert_uint_gt(a.n, 3);
	ck_assert_ptr_nonnull(strstr(a.p[0], "\"reset\":true"));
	for (size_t i = 1; i < a.n; i++) {
		ck_assert_ptr_nonnull(strstr(a.p[i], "\"reset\":false"));
		ck_assert_uint_le(a.len[i], 600);
	}
	for (size_t i = 0; i < a.n; i++)
		ck_assert_int_eq(srv_room_load_state(q, (const uint8_t *)a.p[i],
						     a.len[i], m, sizeof(m)), 0);
	ck_assert_uint_eq(q->seq, 40);
	encode(q, 600, &b);
	ck_assert_uint_eq(a.n, b.n);
	for (size_t i = 0; i < a.n; i++)
		ck_assert_str_eq(a.p[i], b.p[i]);
	drop(&b);
	/* a continuation with the same seq adds nothing twice */
	ck_assert_int_eq(srv_room_load_state(q, (const uint8_t *)a.p[1],
					     a.len[1], m, sizeof(m)),
			 COLLAB_ECORRUPT);
	ck_assert_str_eq(m, "two chats with one id");
	drop(&a);
	/* an empty room is one message with no chats */
	encode(room("t", "empty"), 0, &a);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_str_eq(a.p[0], "{\"type\":\"snapshot\",\"seq\":0,\"reset\":true,"
			 "\"chats\":[]}");
	drop(&a);
}
END_TEST

START_TEST(test_state_big_chat)
{
	struct srv_room *r = room("t", "p"), *q = room("t", "q");
	struct srv_chat *c;
	struct msgs a, b;

	/* a chat larger than a message goes alone in one */
	event(r, 1);
	c = r->chats.head;
	for (unsigned i = 0; i < 300; i++) {
		struct srv_comment *m;
		struct collab_str u = { "u9", 2 }, t = { "0123456789", 10 };
		ck_assert_int_eq(srv_chat_comment_reserve(&r->chats, c), 0);
		ck_assert_int_eq(srv_chat_store_reserve(&r->chats, 0, 1), 0);
		ck_assert_int_eq(srv_chat_comment_new(&r->chats, c, ID(5000 + i),
						      u, u, t, 1, &m), 0);
		srv_chat_comment_insert(&r->chats, m, c->n_comments);
	}
	event(r, 3);
	encode(r, 1000, &a);
	ck_assert_uint_eq(a.n, 2);
	ck_assert_uint_gt(a.len[0], 1000);
	for (size_t i = 0; i < a.n; i++)
		ck_assert_int_eq(srv_room_load_state(q, (const uint8_t *)a.p[i],
						     a.len[i], NULL, 0), 0);
	encode(q, 1000, &b);
	ck_assert_str_eq(a.p[0], b.p[0]);
	ck_assert_str_eq(a.p[1], b.p[1]);
	drop(&a);
	drop(&b);
}
END_TEST

static const struct {
	const char *json;
	const char *message;
} bad_states[] = {
	{ "nope", "not JSON" },
	{ "{\"type\":\"snapshot\",\"seq\":1,\"reset\":true}",
	  "snapshot chats is not an array" },
	{ "{\"type\":\"batch\",\"seq\":1,\"reset\":true,\"chats\":[]}",
	  "not a snapshot record" },
	{ "{\"type\":\"snapshot\",\"seq\":-1,\"reset\":true,\"chats\":[]}",
	  "not a snapshot record" },
	{ "{\"type\":\"snapshot\",\"seq\":2,\"reset\":false,\"chats\":[]}",
	  "snapshot continuation with another seq" },
	{ "{\"type\":\"snapshot\",\"seq\":9,\"reset\":true,\"chats\":[1]}",
	  "chat is not an object" },
	{ "{\"type\":\"snapshot\",\"seq\":9,\"reset\":true,\"chats\":[{\"id\":"
	  "\"00000000-0000-4000-8000-00000000000A\"}]}",
	  "chat id is not a canonical UUID" },
	{ "{\"type\":\"snapshot\",\"seq\":9,\"reset\":true,\"chats\":[{\"id\":"
	  "\"00000000-0000-4000-8000-00000000000a\",\"anchor\":[]}]}",
	  "chat anchor is not an object" },
	{ "{\"type\":\"snapshot\",\"seq\":9,\"reset\":true,\"chats\":[{\"id\":"
	  "\"00000000-0000-4000-8000-00000000000a\",\"anchor\":{},\"userId\":\"\""
	  "}]}", "chat userId missing or empty" },
	{ "{\"type\":\"snapshot\",\"seq\":9,\"reset\":true,\"chats\":[{\"id\":"
	  "\"00000000-0000-4000-8000-00000000000a\",\"anchor\":{},\"userId\":\"u\""
	  ",\"userName\":\"\",\"createdAt\":1.0}]}",
	  "chat createdAt is not an integer" },
	{ "{\"type\":\"snapshot\",\"seq\":9,\"reset\":true,\"chats\":[{\"id\":"
	  "\"00000000-0000-4000-8000-00000000000a\",\"anchor\":{},\"userId\":\"u\""
	  ",\"userName\":\"\",\"createdAt\":1,\"resolved\":true,\"comments\":{}}]}",
	  "chat comments is not an array" },
	{ "{\"type\":\"snapshot\",\"seq\":9,\"reset\":true,\"chats\":[{\"id\":"
	  "\"00000000-0000-4000-8000-00000000000a\",\"anchor\":{},\"userId\":\"u\""
	  ",\"userName\":\"\",\"createdAt\":1,\"resolved\":true,\"comments\":"
	  "[{\"id\":\"00000000-0000-4000-8000-00000000000b\",\"userId\":\"u\","
	  "\"userName\":\"n\",\"text\":\"x\",\"createdAt\":null}]}]}",
	  "comment createdAt is not an integer" },
	{ "{\"type\":\"snapshot\",\"seq\":9,\"reset\":true,\"chats\":[{\"id\":"
	  "\"00000000-0000-4000-8000-00000000000a\",\"anchor\":{},\"userId\":\"u\""
	  ",\"userName\":\"\",\"createdAt\":1,\"resolved\":true,\"comments\":[]},"
	  "{\"id\":\"00000000-0000-4000-8000-00000000000a\",\"anchor\":{},"
	  "\"userId\":\"u\",\"userName\":\"\",\"createdAt\":1,\"resolved\":true,"
	  "\"comments\":[]}]}", "two chats with one id" },
	{ "{\"type\":\"snapshot\",\"seq\":9,\"reset\":true,\"chats\":[{\"id\":"
	  "\"00000000-0000-4000-8000-00000000000a\",\"anchor\":{\"a\":1.50},"
	  "\"userId\":\"u\",\"userName\":\"\",\"createdAt\":1,\"resolved\":true,"
	  "\"comments\":[{\"id\":\"00000000-0000-4000-8000-00000000000b\","
	  "\"userId\":\"u\",\"userName\":\"n\",\"text\":\"x\",\"createdAt\":1}],"
	  "\"extra\":[]}]}", NULL },  /* valid: numbers as written, extra ignored */
};

START_TEST(test_state_bad)
{
	struct srv_room *r = room("t", "p");
	char m[SRV_ROOM_MSG_CAP] = "";
	size_t blocks;
	int rc;

	/* the room already at seq 1 with chat 1; reset records must be
	 * loaded into an empty room, so use another room for those */
	struct srv_room *e = room("t", "e");
	event(r, 1);
	blocks = TA.blocks;
	rc = srv_room_load_state(strstr(bad_states[_i].json, "\"reset\":false") ?
				 r : e, (const uint8_t *)bad_states[_i].json,
				 strlen(bad_states[_i].json), m, sizeof(m));
	if (bad_states[_i].message == NULL) {
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_eq(e->chats.n_chats, 1);
		ck_assert_uint_eq(e->seq, 9);
		return;
	}
	ck_assert_int_eq(rc, COLLAB_ECORRUPT);
	ck_assert_msg(strncmp(m, bad_states[_i].message,
			      strlen(bad_states[_i].message)) == 0, "%s", m);
	ck_assert_uint_eq(e->chats.n_chats, 0);
	ck_assert_uint_eq(e->seq, 0);
	ck_assert_uint_eq(r->seq, 1);
	/* nothing of a failed load stays allocated (but the node array) */
	ck_assert_uint_le(TA.blocks, blocks + 1);
}
END_TEST

START_TEST(test_state_reset_into_busy_room)
{
	struct srv_room *r = room("t", "p");
	static const char rec[] = "{\"type\":\"snapshot\",\"seq\":9,\"reset\":true,"
				  "\"chats\":[]}";
	char m[SRV_ROOM_MSG_CAP];

	event(r, 1);
	ck_assert_int_eq(srv_room_load_state(r, (const uint8_t *)rec,
					     sizeof(rec) - 1, m, sizeof(m)),
			 COLLAB_ECORRUPT);
	ck_assert_str_eq(m, "snapshot reset into a room that has state");
}
END_TEST

START_TEST(test_state_alloc_failure)
{
	struct srv_room *r = room("t", "p"), *q = room("t", "q");
	struct msgs a;
	unsigned failures = 0;

	for (unsigned i = 0; i < 6; i++)
		event(r, 100 + 2 * i);
	encode(r, 0, &a);
	ck_assert_uint_eq(a.n, 1);
	srv_room_registry_trim(&REG);
	for (long k = 0;; k++) {
		arm(k);
		int rc = srv_room_load_state(q, (const uint8_t *)a.p[0],
					     a.len[0], NULL, 0);
		disarm();
		if (rc == 0)
			break;
		failures++;
		ck_assert_int_eq(rc, COLLAB_ENOMEM);
		ck_assert_uint_eq(q->chats.n_chats, 0);
		ck_assert_uint_eq(q->seq, 0);
	}
	ck_assert_uint_gt(failures, 10);
	ck_assert_uint_eq(q->chats.n_chats, 6);
	drop(&a);
}
END_TEST

START_TEST(test_ring_restore)
{
	struct srv_room *r = room("t", "p"), *q = room("t", "q");
	struct msgs a;
	char m[SRV_ROOM_MSG_CAP];
	uint64_t n;

	/* ring of 5: compaction writes the state and the retained events */
	for (unsigned i = 0; i < 9; i++)
		event(r, 100 + 2 * (i % 3));
	encode(r, 0, &a);
	ck_assert_int_eq(srv_room_load_state(q, (const uint8_t *)a.p[0],
					     a.len[0], m, sizeof(m)), 0);
	drop(&a);
	ck_assert_int_eq(srv_room_events_since(q, 8, &n), SRV_ROOM_SNAPSHOT);
	/* out of order: after the newest, not beyond the room's seq */
	ck_assert_int_eq(srv_room_ring_restore(q, r->ring[r->ring_start]->msg->data,
			 0, m, sizeof(m)), COLLAB_ECORRUPT);
	for (uint64_t s = 5; s <= 9; s++) {
		const struct srv_room_event *ev = srv_room_event_at(r, s);
		ck_assert_int_eq(srv_room_ring_restore(q, ev->msg->data,
						       ev->msg->len, m,
						       sizeof(m)), 0);
		if (s == 5) {
			const struct srv_room_event *e7 = srv_room_event_at(r, 7);
			ck_assert_int_eq(srv_room_ring_restore(q,
				e7->msg->data, e7->msg->len, m, sizeof(m)),
				COLLAB_ECORRUPT);
			ck_assert_str_eq(m, "retained event out of sequence");
		}
	}
	ck_assert_int_eq(srv_room_events_since(q, 4, &n), SRV_ROOM_REPLAY);
	ck_assert_uint_eq(n, 5);
	for (uint64_t s = 5; s <= 9; s++) {
		ck_assert_uint_eq(srv_room_event_at(q, s)->msg->len,
				  srv_room_event_at(r, s)->msg->len);
		ck_assert_int_eq(memcmp(srv_room_event_at(q, s)->msg->data,
					srv_room_event_at(r, s)->msg->data,
					srv_room_event_at(r, s)->msg->len), 0);
		ck_assert_ptr_eq(srv_room_event_find(q, srv_room_event_at(r, s)->broadcast_id),
				 srv_room_event_at(q, s));
	}
	/* ops continue from it: the next event is 10 */
	event(q, 100);
	ck_assert_uint_eq(q->seq, 10);
	/* beyond the room's seq */
	{
		const struct srv_room_event *ev = srv_room_event_at(r, 9);
		struct srv_room *z = room("t", "z");
		ck_assert_int_eq(srv_room_ring_restore(z, ev->msg->data,
						       ev->msg->len, m,
						       sizeof(m)), COLLAB_ECORRUPT);
	}
}
END_TEST

START_TEST(test_ring_restore_stopped_short)
{
	struct srv_room *r = room("t", "p"), *q = room("t", "q");
	struct msgs a;
	uint64_t n;

	for (unsigned i = 0; i < 9; i++)
		event(r, 100 + 2 * (i % 3));
	encode(r, 0, &a);
	ck_assert_int_eq(srv_room_load_state(q, (const uint8_t *)a.p[0],
					     a.len[0], NULL, 0), 0);
	drop(&a);
	/* only 5 and 6 of 5..9 restored: nothing can be replayed */
	for (uint64_t s = 5; s <= 6; s++)
		ck_assert_int_eq(srv_room_ring_restore(q,
			srv_room_event_at(r, s)->msg->data,
			srv_room_event_at(r, s)->msg->len, NULL, 0), 0);
	ck_assert_int_eq(srv_room_events_since(q, 4, &n), SRV_ROOM_SNAPSHOT);
	ck_assert_int_eq(srv_room_events_since(q, 9, &n), SRV_ROOM_REPLAY);
	ck_assert_uint_eq(n, 0);
	/* the next event drops them: the ring's seqs stay consecutive */
	event(q, 100);
	ck_assert_uint_eq(q->seq, 10);
	ck_assert_uint_eq(q->ring_n, 1);
	ck_assert_uint_eq(q->bids.n, 1);
	ck_assert_ptr_null(srv_room_event_at(q, 6));
	ck_assert_int_eq(srv_room_events_since(q, 9, &n), SRV_ROOM_REPLAY);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(srv_room_events_since(q, 8, &n), SRV_ROOM_SNAPSHOT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("room");
	TCase *tc;

	tc = tcase_create("siphash");
	tcase_add_loop_test(tc, test_siphash_vectors, 0,
			    (int)ARRAY_LEN(sip_vectors));
	tcase_add_test(tc, test_siphash_keyed);
	suite_add_tcase(s, tc);

	tc = tcase_create("room");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_htab);
	tcase_add_test(tc, test_registry_rooms);
	tcase_add_test(tc, test_registry_growth);
	tcase_add_test(tc, test_user_count);
	tcase_add_test(tc, test_many_subscribers);
	tcase_add_test(tc, test_join_alloc_failure);
	tcase_add_test(tc, test_free_and_tombstone);
	tcase_add_test(tc, test_tombstone_alloc_failure);
	tcase_add_test(tc, test_tomb_set);
	tcase_add_test(tc, test_get_alloc_failure);
	tcase_add_test(tc, test_registry_init_errors);
	tcase_add_test(tc, test_ring_default_size);
	tcase_add_test(tc, test_state_round_trip);
	tcase_add_test(tc, test_state_big_chat);
	tcase_add_loop_test(tc, test_state_bad, 0, (int)ARRAY_LEN(bad_states));
	tcase_add_test(tc, test_state_reset_into_busy_room);
	tcase_add_test(tc, test_state_alloc_failure);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("ring of 5");
	tcase_add_checked_fixture(tc, setup_ring5, teardown);
	tcase_add_loop_test(tc, test_events_since, 0, (int)ARRAY_LEN(since_cases));
	tcase_add_test(tc, test_events_since_young_room);
	tcase_add_test(tc, test_ring_restore);
	tcase_add_test(tc, test_ring_restore_stopped_short);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
