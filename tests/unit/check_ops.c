/*
 * check_ops.c - collab-server's operations (server/ops.c): every operation
 * and rejection of PROTOCOL.md 4 with exact codes and event bytes
 * (PROTOCOL.md 5), the rights matrix, limits, retries, per-turn rollback,
 * replay of journaled events, and allocator failures.
 */
#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/proto.h"
#include "ops.h"
#include "room.h"
#include "testutil.h"
#include "talloc.h"

#define NOW UINT64_C(1764151200000)
#define NOW_S "1764151200000"

/* ---- a counting allocator that checks sizes and fails on demand -------- */

static struct talloc TA;
static struct collab_alloc A = { ta_alloc, ta_free, &TA };

/* Makes the k-th allocation from now fail (once). */
static void arm(long k)
{
	TA.fail_at = TA.n + k;
}

static void disarm(void)
{
	TA.fail_at = -1;
}

/* ---- fixture ----------------------------------------------------------- */

static struct srv_room_registry REG;
static struct srv_ops_limits LIM;
static struct srv_room *ROOM;

static void setup_ring(size_t ring)
{
	struct collab_rng rng;
	struct srv_room_config cfg;

	memset(&TA, 0, sizeof(TA));
	TA.fail_at = -1;
	ck_assert_int_eq(collab_rng_init_seed(&rng, "ops", 3), 0);
	srv_room_config_init(&cfg);
	cfg.ring_size = ring;
	ck_assert_int_eq(srv_room_registry_init(&REG, &A, &cfg, &rng), 0);
	srv_ops_limits_init(&LIM);
	ck_assert_int_eq(srv_room_get(&REG, "t", 1, (const uint8_t *)"page",
				      4, &ROOM), 0);
}

static void setup(void)
{
	setup_ring(SRV_ROOM_DEFAULT_RING_SIZE);
}

static void setup_small(void)
{
	setup_ring(4);
}

static void teardown(void)
{
	srv_room_registry_free(&REG);
	ck_assert_uint_eq(TA.blocks, 0);
}

static struct srv_room *other_room(const char *url)
{
	struct srv_room *r;

	ck_assert_int_eq(srv_room_get(&REG, "t", 1, (const uint8_t *)url,
				      strlen(url), &r), 0);
	return r;
}

/* ---- users and ids --------------------------------------------------------- */

static const struct srv_ops_user ANN = { { "u1", 2 }, { "Ann", 3 }, false, false };
static const struct srv_ops_user BO = { { "u2", 2 }, { "Bo", 2 }, false, false };
static const struct srv_ops_user MOD = { { "m1", 2 }, { "Mo", 2 }, true, false };
static const struct srv_ops_user ANON = { { NULL, 0 }, { NULL, 0 }, false, true };

/* A canonical UUID for n, from a rotating set of buffers. */
static const char *ID(unsigned n)
{
	static char b[32][40];
	static unsigned k;
	char *p = b[k++ % 32];

	snprintf(p, 40, "00000000-0000-4000-8000-%012x", n);
	return p;
}

/* Broadcast ids never collide with chat and comment ids. */
static unsigned fresh_bid(void)
{
	static unsigned n = 0x100000;
	return n++;
}

/* ---- running operations ----------------------------------------------------- */

static char MSG[64 * 1024];
static struct collab_json_node NODES[40000];
static uint8_t SCRATCH[80 * 1024];
static struct collab_proto_op OP;

static int run(struct srv_ops_turn *turn, struct srv_room *room,
	       const struct srv_ops_user *u, struct srv_ops_result *res,
	       const char *fmt, ...)
{
	struct collab_proto_mem mem = { NODES, ARRAY_LEN(NODES), SCRATCH,
					 sizeof(SCRATCH) };
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(MSG, sizeof(MSG), fmt, ap);
	va_end(ap);
	ck_assert(n > 0 && (size_t)n < sizeof(MSG));
	rc = collab_proto_parse_op(NULL, &mem, (const uint8_t *)MSG, (size_t)n,
				   &OP);
	ck_assert_msg(rc == 0, "parse: %d %s (%.300s)", rc, OP.message, MSG);
	return srv_ops_apply(turn, room, &LIM, u, &OP, NOW, res);
}

#define J_NEW "{\"type\":\"new-text-chat\",\"broadcastId\":\"%s\",\"chat\":" \
	"{\"id\":\"%s\",\"anchor\":{\"q\":\"x\",\"o\":[1,2]},\"comment\":" \
	"{\"id\":\"%s\",\"text\":\"%s\"}}}"
#define J_ADD "{\"type\":\"updated-text-chat\",\"broadcastId\":\"%s\"," \
	"\"chatId\":\"%s\",\"action\":\"add-comment\",\"comment\":" \
	"{\"id\":\"%s\",\"text\":\"%s\"}}"
#define J_EDIT "{\"type\":\"updated-text-chat\",\"broadcastId\":\"%s\"," \
	"\"chatId\":\"%s\",\"action\":\"edit-comment\",\"commentId\":\"%s\"," \
	"\"text\":\"%s\"}"
#define J_DELC "{\"type\":\"updated-text-chat\",\"broadcastId\":\"%s\"," \
	"\"chatId\":\"%s\",\"action\":\"delete-comment\",\"commentId\":\"%s\"}"
#define J_RES "{\"type\":\"updated-text-chat\",\"broadcastId\":\"%s\"," \
	"\"chatId\":\"%s\",\"action\":\"resolve\",\"resolved\":%s}"
#define J_DEL "{\"type\":\"deleted-text-chat\",\"broadcastId\":\"%s\"," \
	"\"chatId\":\"%s\"}"

/* Operations with fresh broadcast ids; they return srv_ops_apply's rc. */
static int op_new(struct srv_ops_turn *t, struct srv_room *r,
		  const struct srv_ops_user *u, unsigned chat, unsigned cm,
		  const char *text, struct srv_ops_result *res)
{
	return run(t, r, u, res, J_NEW, ID(fresh_bid()), ID(chat), ID(cm),
		   text);
}

static int op_add(struct srv_ops_turn *t, struct srv_room *r,
		  const struct srv_ops_user *u, unsigned chat, unsigned cm,
		  const char *text, struct srv_ops_result *res)
{
	return run(t, r, u, res, J_ADD, ID(fresh_bid()), ID(chat), ID(cm),
		   text);
}

static int op_edit(struct srv_ops_turn *t, struct srv_room *r,
		   const struct srv_ops_user *u, unsigned chat, unsigned cm,
		   const char *text, struct srv_ops_result *res)
{
	return run(t, r, u, res, J_EDIT, ID(fresh_bid()), ID(chat), ID(cm),
		   text);
}

static int op_delc(struct srv_ops_turn *t, struct srv_room *r,
		   const struct srv_ops_user *u, unsigned chat, unsigned cm,
		   struct srv_ops_result *res)
{
	return run(t, r, u, res, J_DELC, ID(fresh_bid()), ID(chat), ID(cm));
}

static int op_resolve(struct srv_ops_turn *t, struct srv_room *r,
		      const struct srv_ops_user *u, unsigned chat, bool v,
		      struct srv_ops_result *res)
{
	return run(t, r, u, res, J_RES, ID(fresh_bid()), ID(chat),
		   v ? "true" : "false");
}

static int op_del(struct srv_ops_turn *t, struct srv_room *r,
		  const struct srv_ops_user *u, unsigned chat,
		  struct srv_ops_result *res)
{
	return run(t, r, u, res, J_DEL, ID(fresh_bid()), ID(chat));
}

/* Convenience: the op with a local result, must be APPLIED. */
static void must(int rc, struct srv_ops_result *res)
{
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(res->outcome == SRV_OPS_APPLIED, "not applied: %s",
		      res->message);
	srv_ops_result_release(res);
}

/* ---- state capture ---------------------------------------------------------- */

struct cap {
	char *p;
	size_t len;
};

static void cap_add(struct cap *c, const void *p, size_t n)
{
	c->p = realloc(c->p, c->len + n + 1);
	ck_assert_ptr_nonnull(c->p);
	memcpy(c->p + c->len, p, n);
	c->len += n;
	c->p[c->len] = 0;
}

static int cap_emit(void *ctx, const uint8_t *p, size_t len)
{
	cap_add(ctx, p, len);
	cap_add(ctx, "\n", 1);
	return 0;
}

/* Everything observable of a room: snapshot messages (chats, seq), the
 * retained events with their bytes, the user count. malloc'd. */
static char *state(const struct srv_room *room)
{
	struct cap c = { NULL, 0 };
	struct collab_buf b;
	char line[128];

	collab_buf_init(&b, NULL, 0);
	ck_assert_int_eq(srv_room_encode_state(room, NULL, &b, cap_emit, &c), 0);
	collab_buf_free(&b);
	snprintf(line, sizeof(line), "seq=%" PRIu64 " chats=%zu ring=%zu\n",
		 room->seq, room->chats.n_chats, room->ring_n);
	cap_add(&c, line, strlen(line));
	for (size_t i = 0; i < room->ring_n; i++) {
		const struct srv_room_event *ev =
			room->ring[(room->ring_start + i) % room->ring_cap];
		snprintf(line, sizeof(line), "%" PRIu64 "%s:", ev->seq,
			 ev->uncommitted ? "*" : "");
		cap_add(&c, line, strlen(line));
		cap_add(&c, ev->user_id, ev->user_id_len);
		cap_add(&c, ":", 1);
		cap_add(&c, ev->msg->data, ev->msg->len);
		cap_add(&c, "\n", 1);
	}
	return c.p;
}

static void assert_state(const struct srv_room *room, const char *want)
{
	char *got = state(room);

	ck_assert_str_eq(got, want);
	free(got);
}

static void assert_event(const struct srv_ops_result *res, const char *want)
{
	ck_assert_ptr_nonnull(res->event);
	ck_assert_uint_eq(res->event->len, strlen(want));
	ck_assert_msg(memcmp(res->event->data, want, strlen(want)) == 0,
		      "event %.*s", (int)res->event->len,
		      (const char *)res->event->data);
}

/* ---- every operation, exact events ------------------------------------------ */

START_TEST(test_new_chat)
{
	struct srv_ops_result res;
	char want[1024];
	const char *b = ID(0x42);

	ck_assert_int_eq(run(NULL, ROOM, &ANN, &res, J_NEW, b, ID(1), ID(2),
			     "first comment"), 0);
	ck_assert_int_eq(res.outcome, SRV_OPS_APPLIED);
	ck_assert_int_eq(res.err, COLLAB_PROTO_ERR_NONE);
	ck_assert_uint_eq(res.seq, 1);
	ck_assert_str_eq(res.message, "");
	snprintf(want, sizeof(want),
		 "{\"type\":\"new-text-chat\",\"seq\":1,\"broadcastId\":\"%s\","
		 "\"ts\":" NOW_S ",\"userId\":\"u1\",\"chat\":{\"id\":\"%s\","
		 "\"anchor\":{\"q\":\"x\",\"o\":[1,2]},\"userId\":\"u1\","
		 "\"userName\":\"Ann\",\"createdAt\":" NOW_S ",\"resolved\":false,"
		 "\"comments\":[{\"id\":\"%s\",\"userId\":\"u1\",\"userName\":"
		 "\"Ann\",\"text\":\"first comment\",\"createdAt\":" NOW_S "}]}}",
		 ID(0x42), ID(1), ID(2));
	assert_event(&res, want);
	/* the ring holds the same buffer the caller got */
	ck_assert_ptr_eq(srv_room_event_at(ROOM, 1)->msg, res.event);
	ck_assert_ptr_eq(srv_room_event_find(ROOM, b)->msg, res.event);
	ck_assert_uint_eq(res.event->refs, 2);
	srv_ops_result_release(&res);
	ck_assert_ptr_null(res.event);
	ck_assert_uint_eq(ROOM->seq, 1);
	ck_assert_uint_eq(ROOM->chats.n_chats, 1);
	ck_assert_uint_eq(ROOM->chats.head->n_comments, 1);
}
END_TEST

/* One operation on a room holding chat 1 (Ann) with comment 2 (Ann). */
struct op_case {
	const char *name;
	int kind;               /* 0 add, 1 edit, 2 delc, 3 resolve, 4 del */
	const struct srv_ops_user *user;
	const char *event_tail; /* after ,"userId":"..", */
	const char *state;      /* the snapshot line after it */
};

static const struct op_case op_cases[] = {
	{ "add", 0, &BO,
	  "\"chatId\":\"C\",\"action\":\"add-comment\",\"comment\":{\"id\":\"N\","
	  "\"userId\":\"u2\",\"userName\":\"Bo\",\"text\":\"t\\\"x\\u0001\","
	  "\"createdAt\":" NOW_S "}}",
	  "\"comments\":[{\"id\":\"M\",\"userId\":\"u1\",\"userName\":\"Ann\","
	  "\"text\":\"one\",\"createdAt\":" NOW_S "},{\"id\":\"N\",\"userId\":"
	  "\"u2\",\"userName\":\"Bo\",\"text\":\"t\\\"x\\u0001\",\"createdAt\":"
	  NOW_S "}]}]}" },
	{ "edit", 1, &ANN,
	  "\"chatId\":\"C\",\"action\":\"edit-comment\",\"commentId\":\"M\","
	  "\"text\":\"t\\\"x\\u0001\"}",
	  "\"comments\":[{\"id\":\"M\",\"userId\":\"u1\",\"userName\":\"Ann\","
	  "\"text\":\"t\\\"x\\u0001\",\"createdAt\":" NOW_S "}]}]}" },
	{ "delete-comment", 2, &MOD,
	  "\"chatId\":\"C\",\"action\":\"delete-comment\",\"commentId\":\"M\"}",
	  "\"comments\":[]}]}" },
	{ "resolve", 3, &ANN,
	  "\"chatId\":\"C\",\"action\":\"resolve\",\"resolved\":true}",
	  "RESOLVED" },
	{ "delete-chat", 4, &MOD, "\"chatId\":\"C\"}", "EMPTY" },
};

/* Replaces the placeholders C, M, N ("C" etc. in quotes) with ids. */
static void subst(char *out, size_t cap, const char *in)
{
	size_t o = 0;

	for (const char *p = in; *p && o + 40 < cap; p++) {
		if (p[0] == '"' && (p[1] == 'C' || p[1] == 'M' || p[1] == 'N') &&
		    p[2] == '"') {
			unsigned n = p[1] == 'C' ? 1 : p[1] == 'M' ? 2 : 3;
			o += (size_t)snprintf(out + o, cap - o, "\"%s\"", ID(n));
			p += 2;
			continue;
		}
		out[o++] = *p;
	}
	out[o] = 0;
}

START_TEST(test_each_op)
{
	const struct op_case *c = &op_cases[_i];
	struct srv_ops_result res;
	char want[2048], tail[1024], st[2048];
	const char *type = c->kind == 4 ? "deleted-text-chat" :
			   "updated-text-chat";
	const char *bid = ID(0x77);
	char *got;
	int rc = 0;

	must(op_new(NULL, ROOM, &ANN, 1, 2, "one", &res), &res);
	switch (c->kind) {
	case 0:
		rc = run(NULL, ROOM, c->user, &res, J_ADD, bid, ID(1), ID(3),
			 "t\\\"x\\u0001");
		break;
	case 1:
		rc = run(NULL, ROOM, c->user, &res, J_EDIT, bid, ID(1), ID(2),
			 "t\\\"x\\u0001");
		break;
	case 2:
		rc = run(NULL, ROOM, c->user, &res, J_DELC, bid, ID(1), ID(2));
		break;
	case 3:
		rc = run(NULL, ROOM, c->user, &res, J_RES, bid, ID(1), "true");
		break;
	case 4:
		rc = run(NULL, ROOM, c->user, &res, J_DEL, bid, ID(1));
		break;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(res.outcome == SRV_OPS_APPLIED, "%s: %s", c->name,
		      res.message);
	ck_assert_uint_eq(res.seq, 2);
	subst(tail, sizeof(tail), c->event_tail);
	snprintf(want, sizeof(want), "{\"type\":\"%s\",\"seq\":2,\"broadcastId\":"
		 "\"%s\",\"ts\":" NOW_S ",\"userId\":\"%.*s\",%s", type, ID(0x77),
		 (int)c->user->id.len, c->user->id.p, tail);
	assert_event(&res, want);
	srv_ops_result_release(&res);
	ck_assert_uint_eq(ROOM->seq, 2);
	/* the snapshot shows exactly what the events set */
	got = state(ROOM);
	if (strcmp(c->state, "EMPTY") == 0) {
		static const char empty[] = "{\"type\":\"snapshot\",\"seq\":2,"
			"\"reset\":true,\"chats\":[]}\nseq=2 chats=0 ring=2\n";
		ck_assert_msg(strncmp(got, empty, sizeof(empty) - 1) == 0, "%s",
			      got);
	} else if (strcmp(c->state, "RESOLVED") == 0) {
		ck_assert_ptr_nonnull(strstr(got, "\"resolved\":true"));
	} else {
		subst(st, sizeof(st), c->state);
		ck_assert_msg(strstr(got, st) != NULL, "%s\nwant %s", got, st);
	}
	free(got);
}
END_TEST

/* ---- rejections ---------------------------------------------------------------- */

/*
 * Base state: chat 1 by Ann with comments 2 (Ann) and 3 (Bo); chat 4 by Bo
 * with comment 5 (Bo). Each case runs one op and expects a code.
 */
enum { K_NEW, K_ADD, K_EDIT, K_DELC, K_RES, K_DEL };

struct rej_case {
	const char *name;
	const struct srv_ops_user *user;
	int kind;
	unsigned a, b;           /* chat, comment ids */
	const char *text;        /* text or "true" */
	enum collab_proto_err err;
	const char *message;
};

static const struct rej_case rej_cases[] = {
	{ "anon new", &ANON, K_NEW, 9, 10, "x", COLLAB_PROTO_ERR_FORBIDDEN,
	  "anonymous users cannot write" },
	{ "anon add", &ANON, K_ADD, 1, 10, "x", COLLAB_PROTO_ERR_FORBIDDEN, NULL },
	{ "anon moderator flag", &ANON, K_DEL, 1, 0, NULL,
	  COLLAB_PROTO_ERR_FORBIDDEN, NULL },
	{ "add unknown chat", &ANN, K_ADD, 99, 10, "x",
	  COLLAB_PROTO_ERR_NOT_FOUND, "no such chat" },
	{ "edit unknown chat", &ANN, K_EDIT, 99, 2, "x",
	  COLLAB_PROTO_ERR_NOT_FOUND, NULL },
	{ "delc unknown chat", &ANN, K_DELC, 99, 2, NULL,
	  COLLAB_PROTO_ERR_NOT_FOUND, NULL },
	{ "resolve unknown chat", &ANN, K_RES, 99, 0, "true",
	  COLLAB_PROTO_ERR_NOT_FOUND, NULL },
	{ "delete unknown chat", &ANN, K_DEL, 99, 0, NULL,
	  COLLAB_PROTO_ERR_NOT_FOUND, NULL },
	{ "edit unknown comment", &ANN, K_EDIT, 1, 99, "x",
	  COLLAB_PROTO_ERR_NOT_FOUND, "no such comment" },
	{ "delc unknown comment", &ANN, K_DELC, 1, 99, NULL,
	  COLLAB_PROTO_ERR_NOT_FOUND, NULL },
	{ "edit comment of another chat", &BO, K_EDIT, 4, 3, "x",
	  COLLAB_PROTO_ERR_NOT_FOUND, NULL },
	{ "delete comment of another chat", &BO, K_DELC, 4, 3, NULL,
	  COLLAB_PROTO_ERR_NOT_FOUND, NULL },
	{ "new with live chat id", &BO, K_NEW, 1, 10, "x",
	  COLLAB_PROTO_ERR_CONFLICT, "a chat with this id already exists" },
	{ "add with live comment id", &BO, K_ADD, 1, 3, "x",
	  COLLAB_PROTO_ERR_CONFLICT, "a comment with this id already exists" },
	{ "add with the first comment's id", &BO,
	  K_ADD, 1, 2, "x", COLLAB_PROTO_ERR_CONFLICT, NULL },
	{ "chat author edits another's comment", &ANN, K_EDIT, 1, 3, "x",
	  COLLAB_PROTO_ERR_FORBIDDEN, "only the author may edit a comment" },
	{ "chat author deletes another's comment", &ANN, K_DELC, 1, 3, NULL,
	  COLLAB_PROTO_ERR_FORBIDDEN,
	  "only the author or a moderator may delete a comment" },
	{ "moderator edits", &MOD, K_EDIT, 1, 2, "x",
	  COLLAB_PROTO_ERR_FORBIDDEN, NULL },
	{ "other resolves", &BO, K_RES, 1, 0, "true",
	  COLLAB_PROTO_ERR_FORBIDDEN,
	  "only the author or a moderator may resolve a chat" },
	{ "other deletes chat", &BO, K_DEL, 1, 0, NULL,
	  COLLAB_PROTO_ERR_FORBIDDEN,
	  "only the author or a moderator may delete a chat" },
	{ "comment author deletes chat", &BO, K_DEL, 1, 0, NULL,
	  COLLAB_PROTO_ERR_FORBIDDEN, NULL },
};

static void base_state(void)
{
	struct srv_ops_result r;

	must(op_new(NULL, ROOM, &ANN, 1, 2, "a", &r), &r);
	must(op_add(NULL, ROOM, &BO, 1, 3, "b", &r), &r);
	must(op_new(NULL, ROOM, &BO, 4, 5, "c", &r), &r);
}

START_TEST(test_rejections)
{
	const struct rej_case *c = &rej_cases[_i];
	struct srv_ops_result res;
	char *before, *after;
	int rc;

	base_state();
	before = state(ROOM);
	switch (c->kind) {
	case K_NEW:
		rc = op_new(NULL, ROOM, c->user, c->a, c->b, c->text, &res);
		break;
	case K_ADD:
		rc = op_add(NULL, ROOM, c->user, c->a, c->b, c->text, &res);
		break;
	case K_EDIT:
		rc = op_edit(NULL, ROOM, c->user, c->a, c->b, c->text, &res);
		break;
	case K_DELC:
		rc = op_delc(NULL, ROOM, c->user, c->a, c->b, &res);
		break;
	case K_RES:
		rc = op_resolve(NULL, ROOM, c->user, c->a, true, &res);
		break;
	default:
		rc = op_del(NULL, ROOM, c->user, c->a, &res);
		break;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(res.outcome == SRV_OPS_REJECTED, "%s", c->name);
	ck_assert_msg(res.err == c->err, "%s: got %s", c->name,
		      collab_proto_err_name(res.err));
	ck_assert_ptr_null(res.event);
	ck_assert_uint_eq(res.seq, 0);
	ck_assert_uint_gt(res.message_len, 0);
	ck_assert_uint_eq(res.message_len, strlen(res.message));
	if (c->message != NULL)
		ck_assert_str_eq(res.message, c->message);
	/* a rejected operation changes nothing */
	after = state(ROOM);
	ck_assert_str_eq(after, before);
	free(before);
	free(after);
}
END_TEST

/* ---- the rights matrix ------------------------------------------------------------ */

/* PROTOCOL.md 4: who may do what to a chat (by Ann) and its comment (by
 * Ann): the author, another user, a moderator, an anonymous user. */
static const struct {
	int action;     /* 0 edit, 1 delete-comment, 2 resolve, 3 delete-chat */
	int actor;      /* 0 author, 1 other, 2 moderator, 3 anonymous */
	bool allowed;
} rights[] = {
	{ 0, 0, true }, { 0, 1, false }, { 0, 2, false }, { 0, 3, false },
	{ 1, 0, true }, { 1, 1, false }, { 1, 2, true }, { 1, 3, false },
	{ 2, 0, true }, { 2, 1, false }, { 2, 2, true }, { 2, 3, false },
	{ 3, 0, true }, { 3, 1, false }, { 3, 2, true }, { 3, 3, false },
};

START_TEST(test_rights)
{
	static const struct srv_ops_user *actors[] = { &ANN, &BO, &MOD, &ANON };
	const struct srv_ops_user *u = actors[rights[_i].actor];
	struct srv_ops_result res;
	int rc = 0;

	must(op_new(NULL, ROOM, &ANN, 1, 2, "a", &res), &res);
	switch (rights[_i].action) {
	case 0: rc = op_edit(NULL, ROOM, u, 1, 2, "b", &res); break;
	case 1: rc = op_delc(NULL, ROOM, u, 1, 2, &res); break;
	case 2: rc = op_resolve(NULL, ROOM, u, 1, true, &res); break;
	case 3: rc = op_del(NULL, ROOM, u, 1, &res); break;
	}
	ck_assert_int_eq(rc, 0);
	if (rights[_i].allowed) {
		ck_assert_int_eq(res.outcome, SRV_OPS_APPLIED);
		ck_assert_uint_eq(ROOM->seq, 2);
	} else {
		ck_assert_int_eq(res.outcome, SRV_OPS_REJECTED);
		ck_assert_int_eq(res.err, COLLAB_PROTO_ERR_FORBIDDEN);
		ck_assert_uint_eq(ROOM->seq, 1);
	}
	srv_ops_result_release(&res);
}
END_TEST

/* ---- limits ------------------------------------------------------------------------- */

START_TEST(test_limit_chats)
{
	struct srv_ops_result res;

	LIM.max_chats_per_room = 3;
	for (unsigned i = 0; i < 3; i++)
		must(op_new(NULL, ROOM, &ANN, 10 + i, 20 + i, "x", &res), &res);
	ck_assert_int_eq(op_new(NULL, ROOM, &ANN, 13, 23, "x", &res), 0);
	ck_assert_int_eq(res.outcome, SRV_OPS_REJECTED);
	ck_assert_int_eq(res.err, COLLAB_PROTO_ERR_TOO_LARGE);
	ck_assert_str_eq(res.message, "the room has reached its limit of chats");
	/* a conflict is reported as such even at the limit */
	ck_assert_int_eq(op_new(NULL, ROOM, &ANN, 10, 23, "x", &res), 0);
	ck_assert_int_eq(res.err, COLLAB_PROTO_ERR_CONFLICT);
	/* live chats count: after a delete there is room again */
	must(op_del(NULL, ROOM, &ANN, 11, &res), &res);
	must(op_new(NULL, ROOM, &ANN, 13, 23, "x", &res), &res);
	ck_assert_uint_eq(ROOM->chats.n_chats, 3);
	ck_assert_uint_eq(ROOM->seq, 5);
}
END_TEST

START_TEST(test_limit_comments)
{
	struct srv_ops_result res;

	LIM.max_comments_per_chat = 3;   /* the first comment included */
	must(op_new(NULL, ROOM, &ANN, 1, 100, "x", &res), &res);
	must(op_add(NULL, ROOM, &BO, 1, 101, "x", &res), &res);
	must(op_add(NULL, ROOM, &BO, 1, 102, "x", &res), &res);
	ck_assert_int_eq(op_add(NULL, ROOM, &BO, 1, 103, "x", &res), 0);
	ck_assert_int_eq(res.err, COLLAB_PROTO_ERR_TOO_LARGE);
	ck_assert_str_eq(res.message, "the chat has reached its limit of comments");
	must(op_delc(NULL, ROOM, &BO, 1, 101, &res), &res);
	must(op_add(NULL, ROOM, &BO, 1, 103, "x", &res), &res);
	ck_assert_uint_eq(ROOM->chats.head->n_comments, 3);
	/* limit 1: a chat holds its first comment only */
	LIM.max_comments_per_chat = 1;
	must(op_new(NULL, ROOM, &ANN, 2, 200, "x", &res), &res);
	ck_assert_int_eq(op_add(NULL, ROOM, &ANN, 2, 201, "x", &res), 0);
	ck_assert_int_eq(res.err, COLLAB_PROTO_ERR_TOO_LARGE);
}
END_TEST

START_TEST(test_ids_reusable_after_delete)
{
	struct srv_ops_result res;

	/* uniqueness is among live chats and comments only */
	must(op_new(NULL, ROOM, &ANN, 1, 2, "x", &res), &res);
	must(op_add(NULL, ROOM, &ANN, 1, 3, "y", &res), &res);
	must(op_delc(NULL, ROOM, &ANN, 1, 3, &res), &res);
	must(op_add(NULL, ROOM, &ANN, 1, 3, "again", &res), &res);
	must(op_del(NULL, ROOM, &ANN, 1, &res), &res);
	must(op_new(NULL, ROOM, &BO, 1, 2, "new", &res), &res);
	/* a comment id may repeat across chats */
	must(op_new(NULL, ROOM, &BO, 7, 2, "same comment id", &res), &res);
	ck_assert_uint_eq(ROOM->chats.n_chats, 2);
}
END_TEST

/* ---- retries ----------------------------------------------------------------------- */

START_TEST(test_retry)
{
	struct srv_ops_result first, again, other;
	const char *bid = ID(0x55);
	char *before;

	ck_assert_int_eq(run(NULL, ROOM, &ANN, &first, J_NEW, bid, ID(1), ID(2),
			     "x"), 0);
	ck_assert_int_eq(first.outcome, SRV_OPS_APPLIED);
	must(op_add(NULL, ROOM, &BO, 1, 3, "y", &other), &other);
	before = state(ROOM);
	/* same user: the original event, same seq and bytes, nothing new */
	ck_assert_int_eq(run(NULL, ROOM, &ANN, &again, J_NEW, ID(0x55), ID(1),
			     ID(2), "x"), 0);
	ck_assert_int_eq(again.outcome, SRV_OPS_DUPLICATE);
	ck_assert_int_eq(again.err, COLLAB_PROTO_ERR_NONE);
	ck_assert_uint_eq(again.seq, 1);
	ck_assert_ptr_eq(again.event, first.event);
	ck_assert(!again.pending);
	srv_ops_result_release(&again);
	/* even when the retried op differs (another text), it is the id */
	ck_assert_int_eq(run(NULL, ROOM, &ANN, &again, J_RES, ID(0x55), ID(1),
			     "true"), 0);
	ck_assert_int_eq(again.outcome, SRV_OPS_DUPLICATE);
	ck_assert_uint_eq(again.seq, 1);
	srv_ops_result_release(&again);
	/* another user: conflict */
	ck_assert_int_eq(run(NULL, ROOM, &BO, &other, J_NEW, ID(0x55), ID(8),
			     ID(9), "x"), 0);
	ck_assert_int_eq(other.outcome, SRV_OPS_REJECTED);
	ck_assert_int_eq(other.err, COLLAB_PROTO_ERR_CONFLICT);
	/* a moderator is another user too */
	ck_assert_int_eq(run(NULL, ROOM, &MOD, &other, J_DEL, ID(0x55), ID(1)), 0);
	ck_assert_int_eq(other.err, COLLAB_PROTO_ERR_CONFLICT);
	/* anonymous: forbidden comes first */
	ck_assert_int_eq(run(NULL, ROOM, &ANON, &other, J_DEL, ID(0x55), ID(1)), 0);
	ck_assert_int_eq(other.err, COLLAB_PROTO_ERR_FORBIDDEN);
	assert_state(ROOM, before);
	free(before);
	srv_ops_result_release(&first);
}
END_TEST

START_TEST(test_retry_after_eviction)
{
	struct srv_ops_result res;
	const char *bid = ID(0x66);

	/* ring of 4 (setup_small) */
	must(op_new(NULL, ROOM, &ANN, 1, 2, "x", &res), &res);
	ck_assert_int_eq(run(NULL, ROOM, &ANN, &res, J_RES, bid, ID(1),
			     "true"), 0);
	ck_assert_uint_eq(res.seq, 2);
	srv_ops_result_release(&res);
	for (unsigned i = 0; i < 3; i++)
		must(op_add(NULL, ROOM, &ANN, 1, 10 + i, "y", &res), &res);
	/* seq 2 is still retained (ring holds 2..5) */
	ck_assert_int_eq(run(NULL, ROOM, &ANN, &res, J_RES, ID(0x66), ID(1),
			     "true"), 0);
	ck_assert_int_eq(res.outcome, SRV_OPS_DUPLICATE);
	srv_ops_result_release(&res);
	must(op_add(NULL, ROOM, &ANN, 1, 20, "y", &res), &res);
	/* now evicted: no longer remembered, so applied as new */
	ck_assert_ptr_null(srv_room_event_find(ROOM, ID(0x66)));
	ck_assert_int_eq(run(NULL, ROOM, &ANN, &res, J_RES, ID(0x66), ID(1),
			     "true"), 0);
	ck_assert_int_eq(res.outcome, SRV_OPS_APPLIED);
	ck_assert_uint_eq(res.seq, 7);
	srv_ops_result_release(&res);
}
END_TEST

START_TEST(test_retry_in_same_turn)
{
	struct srv_ops_turn turn;
	struct srv_ops_result a, b;
	const char *bid = ID(0x99);

	srv_ops_turn_init(&turn, &A);
	ck_assert_int_eq(run(&turn, ROOM, &ANN, &a, J_NEW, bid, ID(1), ID(2),
			     "x"), 0);
	ck_assert_int_eq(run(&turn, ROOM, &ANN, &b, J_NEW, ID(0x99), ID(1),
			     ID(2), "x"), 0);
	ck_assert_int_eq(b.outcome, SRV_OPS_DUPLICATE);
	ck_assert(b.pending);
	ck_assert_ptr_eq(a.event, b.event);
	srv_ops_turn_commit(&turn);
	srv_ops_result_release(&b);
	ck_assert_int_eq(run(&turn, ROOM, &ANN, &b, J_NEW, ID(0x99), ID(1),
			     ID(2), "x"), 0);
	ck_assert_int_eq(b.outcome, SRV_OPS_DUPLICATE);
	ck_assert(!b.pending);
	srv_ops_result_release(&a);
	srv_ops_result_release(&b);
	srv_ops_turn_free(&turn);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct srv_ops_result res;
	struct collab_proto_op op;

	memset(&op, 0, sizeof(op));
	op.type = COLLAB_PROTO_TYPE_HELLO;
	ck_assert_int_eq(srv_ops_apply(NULL, ROOM, &LIM, &ANN, &op, NOW, &res),
			 COLLAB_EINVAL);
	ck_assert_int_eq(res.outcome, SRV_OPS_REJECTED);
	ck_assert_int_eq(res.err, COLLAB_PROTO_ERR_UNAVAILABLE);
	op.type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT;
	ck_assert_int_eq(srv_ops_apply(NULL, ROOM, &LIM, &ANN, &op, NOW, &res),
			 COLLAB_EINVAL);
	op.type = COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT;
	op.err = COLLAB_PROTO_ERR_INVALID;
	ck_assert_int_eq(srv_ops_apply(NULL, ROOM, &LIM, &ANN, &op, NOW, &res),
			 COLLAB_EINVAL);
	op.err = COLLAB_PROTO_ERR_NONE;
	ck_assert_int_eq(srv_ops_apply(NULL, ROOM, &LIM, NULL, &op, NOW, &res),
			 COLLAB_EINVAL);
	ck_assert_int_eq(srv_ops_apply(NULL, ROOM, &LIM, &ANN, &op, NOW, NULL),
			 COLLAB_EINVAL);
	LIM.max_chats_per_room = 0;
	ck_assert_int_eq(srv_ops_apply(NULL, ROOM, &LIM, &ANN, &op, NOW, &res),
			 COLLAB_EINVAL);
	ck_assert_uint_eq(ROOM->seq, 0);
}
END_TEST

START_TEST(test_invalid_utf8_user)
{
	static const struct srv_ops_user bad = { { "u\xff", 2 }, { "X", 1 },
						 false, false };
	struct srv_ops_result res;

	ck_assert_int_eq(op_new(NULL, ROOM, &bad, 1, 2, "x", &res),
			 COLLAB_EUTF8);
	ck_assert_int_eq(res.err, COLLAB_PROTO_ERR_UNAVAILABLE);
	ck_assert_uint_eq(ROOM->seq, 0);
	ck_assert_uint_eq(ROOM->chats.n_chats, 0);
}
END_TEST

/* The largest event: text of 4096 control characters (6 bytes each once
 * escaped), names of 128, a 2 KiB anchor: the encoding bound holds. */
START_TEST(test_largest_event)
{
	static char text[4096 * 6 + 1], name[129], uid[129];
	static char anchor[2100];
	struct srv_ops_user u = { { uid, 128 }, { name, 128 }, false, false };
	struct srv_ops_result res;
	size_t o = 0;

	for (size_t i = 0; i < 4096; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "\\u0001");
	memset(name, 1, 128);
	memset(uid, 2, 128);
	o = (size_t)snprintf(anchor, sizeof(anchor), "{\"k\":\"");
	while (o < 2046)
		anchor[o++] = 'a';
	memcpy(anchor + o, "\"}", 3);
	ck_assert_int_eq(run(NULL, ROOM, &u, &res,
			     "{\"type\":\"new-text-chat\",\"broadcastId\":\"%s\","
			     "\"chat\":{\"id\":\"%s\",\"anchor\":%s,\"comment\":"
			     "{\"id\":\"%s\",\"text\":\"%s\"}}}", ID(fresh_bid()),
			     ID(1), anchor, ID(2), text), 0);
	ck_assert_int_eq(res.outcome, SRV_OPS_APPLIED);
	ck_assert_uint_gt(res.event->len, 4096 * 6 + 128 * 6 * 4 + 2048);
	srv_ops_result_release(&res);
	ck_assert_int_eq(run(NULL, ROOM, &u, &res, J_EDIT, ID(fresh_bid()),
			     ID(1), ID(2), text), 0);
	ck_assert_int_eq(res.outcome, SRV_OPS_APPLIED);
	srv_ops_result_release(&res);
	ck_assert_int_eq(run(NULL, ROOM, &u, &res, J_ADD, ID(fresh_bid()),
			     ID(1), ID(3), text), 0);
	ck_assert_int_eq(res.outcome, SRV_OPS_APPLIED);
	srv_ops_result_release(&res);
}
END_TEST

/* ---- turns: commit and rollback ---------------------------------------------------- */

/* A committed base: chats 1 (Ann: 2 Ann, 3 Bo, 4 Ann), 5 (Bo: 6), 7 (Ann:
 * 8). */
static void rich_base(struct srv_room *r)
{
	struct srv_ops_result x;

	/* fixed broadcast ids, so two rooms built so are byte-identical */
	must(run(NULL, r, &ANN, &x, J_NEW, ID(0x8001), ID(1), ID(2), "one"), &x);
	must(run(NULL, r, &BO, &x, J_ADD, ID(0x8002), ID(1), ID(3), "two"), &x);
	must(run(NULL, r, &ANN, &x, J_ADD, ID(0x8003), ID(1), ID(4), "three"), &x);
	must(run(NULL, r, &BO, &x, J_NEW, ID(0x8004), ID(5), ID(6), "four"), &x);
	must(run(NULL, r, &ANN, &x, J_NEW, ID(0x8005), ID(7), ID(8), "five"), &x);
}

/* A turn touching every kind of change, some twice, with a retry. Applied
 * with turn (may be NULL). Broadcast ids are fixed so two rooms match. */
static void mixed_ops(struct srv_ops_turn *t, struct srv_room *r)
{
	struct srv_ops_result x;

	must(run(t, r, &ANN, &x, J_NEW, ID(0x9001), ID(20), ID(21), "n"), &x);
	must(run(t, r, &ANN, &x, J_ADD, ID(0x9002), ID(5), ID(22), "m"), &x);
	must(run(t, r, &ANN, &x, J_EDIT, ID(0x9003), ID(1), ID(2), "e1"), &x);
	must(run(t, r, &MOD, &x, J_DELC, ID(0x9004), ID(1), ID(3)), &x);
	must(run(t, r, &ANN, &x, J_RES, ID(0x9005), ID(7), "true"), &x);
	must(run(t, r, &BO, &x, J_DEL, ID(0x9006), ID(5)), &x);
	must(run(t, r, &ANN, &x, J_NEW, ID(0x9007), ID(5), ID(23), "same id"), &x);
	must(run(t, r, &ANN, &x, J_EDIT, ID(0x9008), ID(1), ID(2), "e2"), &x);
	must(run(t, r, &MOD, &x, J_DEL, ID(0x9009), ID(1)), &x);
	must(run(t, r, &ANN, &x, J_ADD, ID(0x900a), ID(20), ID(24), "k"), &x);
	must(run(t, r, &ANN, &x, J_RES, ID(0x900b), ID(7), "false"), &x);
	must(run(t, r, &ANN, &x, J_DELC, ID(0x900c), ID(20), ID(21)), &x);
	ck_assert_int_eq(run(t, r, &ANN, &x, J_NEW, ID(0x9001), ID(20), ID(21),
			     "n"), 0);
	ck_assert_int_eq(x.outcome, SRV_OPS_DUPLICATE);
	srv_ops_result_release(&x);
}

START_TEST(test_rollback_mixed)
{
	struct srv_ops_turn turn;
	struct srv_room *ref = other_room("ref");
	char *before, *mid, *ref_state;
	size_t blocks;

	srv_ops_turn_init(&turn, &A);
	rich_base(ROOM);
	before = state(ROOM);
	blocks = TA.blocks;
	mixed_ops(&turn, ROOM);
	ck_assert_uint_eq(srv_ops_turn_size(&turn), 12);
	ck_assert_uint_eq(ROOM->seq, 17);
	ck_assert_uint_eq(ROOM->pins, 12);
	mid = state(ROOM);
	ck_assert_str_ne(mid, before);
	srv_ops_turn_rollback(&turn);
	ck_assert_uint_eq(srv_ops_turn_size(&turn), 0);
	ck_assert_uint_eq(ROOM->pins, 0);
	/* byte-identical: chats, order, comments, texts, flags, seq, ring */
	assert_state(ROOM, before);
	/* nothing of the turn is left behind but grown capacity (the log) */
	ck_assert_uint_le(TA.blocks, blocks + 1);
	/* it can be applied again and committed, seq continuing from 5 */
	mixed_ops(&turn, ROOM);
	srv_ops_turn_commit(&turn);
	ck_assert_uint_eq(ROOM->pins, 0);
	/* same as applying the ops without any turn */
	rich_base(ref);
	mixed_ops(NULL, ref);
	ref_state = state(ref);
	assert_state(ROOM, ref_state);
	free(ref_state);
	free(before);
	free(mid);
	srv_ops_turn_free(&turn);
}
END_TEST

START_TEST(test_rollback_ring_eviction)
{
	struct srv_ops_turn turn;
	struct srv_ops_result x;
	char *before;

	/* ring of 4: the turn evicts every retained event, and more */
	srv_ops_turn_init(&turn, &A);
	rich_base(ROOM);
	before = state(ROOM);
	for (unsigned i = 0; i < 9; i++)
		must(op_add(&turn, ROOM, &BO, 7, 100 + i, "z", &x), &x);
	ck_assert_uint_eq(ROOM->ring_n, 4);
	ck_assert_uint_eq(srv_room_event_at(ROOM, 11)->seq, 11);
	ck_assert_ptr_null(srv_room_event_at(ROOM, 10));
	srv_ops_turn_rollback(&turn);
	assert_state(ROOM, before);
	ck_assert_uint_eq(srv_room_event_at(ROOM, 2)->seq, 2);
	/* and once more, committed this time: evicted events are freed */
	for (unsigned i = 0; i < 9; i++)
		must(op_add(&turn, ROOM, &BO, 7, 100 + i, "z", &x), &x);
	srv_ops_turn_commit(&turn);
	ck_assert_uint_eq(ROOM->seq, 14);
	ck_assert_uint_eq(ROOM->ring_n, 4);
	free(before);
	srv_ops_turn_free(&turn);
}
END_TEST

START_TEST(test_rollback_several_rooms)
{
	struct srv_ops_turn turn;
	struct srv_room *r2 = other_room("two");
	struct srv_ops_result x;
	char *b1, *b2;

	srv_ops_turn_init(&turn, &A);
	rich_base(ROOM);
	b1 = state(ROOM);
	b2 = state(r2);
	must(op_new(&turn, r2, &ANN, 1, 2, "a", &x), &x);
	must(op_del(&turn, ROOM, &ANN, 7, &x), &x);
	must(op_add(&turn, r2, &BO, 1, 3, "b", &x), &x);
	must(op_edit(&turn, ROOM, &ANN, 1, 4, "c", &x), &x);
	must(op_del(&turn, r2, &ANN, 1, &x), &x);
	ck_assert_uint_eq(r2->pins, 3);
	srv_ops_turn_rollback(&turn);
	assert_state(ROOM, b1);
	assert_state(r2, b2);
	ck_assert_uint_eq(r2->seq, 0);
	free(b1);
	free(b2);
	srv_ops_turn_free(&turn);
}
END_TEST

START_TEST(test_pinned_room_not_freed)
{
	struct srv_ops_turn turn;
	struct srv_room *r2 = other_room("idle");
	struct srv_ops_result x;

	/* the sender left during the turn: the room is idle but pinned */
	srv_ops_turn_init(&turn, &A);
	must(op_new(&turn, r2, &ANN, 1, 2, "a", &x), &x);
	must(op_del(&turn, r2, &ANN, 1, &x), &x);
	ck_assert(srv_room_is_idle(r2));
	ck_assert_uint_eq(srv_room_registry_collect(&REG), 0);
	ck_assert_ptr_eq(srv_room_find(&REG, "t", 1, (const uint8_t *)"idle", 4),
			 r2);
	srv_ops_turn_rollback(&turn);
	ck_assert_uint_eq(r2->seq, 0);
	ck_assert_uint_eq(srv_room_registry_collect(&REG), 1);
	/* seq 0: no tombstone */
	ck_assert_uint_eq(srv_room_registry_tombstones(&REG), 0);
	ck_assert_ptr_null(srv_room_find(&REG, "t", 1, (const uint8_t *)"idle", 4));
	/* committed: freed too, with its tombstone */
	r2 = other_room("idle");
	must(op_new(&turn, r2, &ANN, 1, 2, "a", &x), &x);
	must(op_del(&turn, r2, &ANN, 1, &x), &x);
	srv_ops_turn_commit(&turn);
	ck_assert_uint_eq(srv_room_registry_collect(&REG), 1);
	ck_assert_uint_eq(srv_room_registry_tombstones(&REG), 1);
	r2 = other_room("idle");
	ck_assert_uint_eq(r2->seq, 2);
	srv_ops_turn_free(&turn);
}
END_TEST

/* ---- replay of journaled events --------------------------------------------------- */

/* A deterministic mix of operations on room r, n attempts. */
static void random_ops(struct srv_room *r, unsigned n, uint32_t seed)
{
	static const struct srv_ops_user *users[] = { &ANN, &BO, &MOD };
	struct srv_ops_result x;
	uint32_t s = seed;
	unsigned next_id = 1000;

	for (unsigned i = 0; i < n; i++) {
		const struct srv_ops_user *u;
		struct srv_chat *c = r->chats.head;
		struct srv_comment *m = NULL;
		unsigned k, chat_n, cm_n;
		char t[32];

		s = s * 1103515245u + 12345u;
		u = users[(s >> 8) % 3];
		k = (s >> 12) % 8;
		/* pick a live chat and comment by position */
		if (r->chats.n_chats > 0) {
			unsigned skip = (s >> 16) % (unsigned)r->chats.n_chats;
			while (skip--)
				c = c->next;
			if (c->n_comments > 0)
				m = c->comments[(s >> 20) % c->n_comments];
		}
		snprintf(t, sizeof(t), "t%u \\\"%u\\n", i, s % 97);
		if (c == NULL || k == 0) {
			(void)op_new(NULL, r, u, next_id, next_id + 1, t, &x);
			next_id += 2;
			srv_ops_result_release(&x);
			continue;
		}
		sscanf(c->id + 24, "%x", &chat_n);
		cm_n = 0;
		if (m != NULL)
			sscanf(m->id + 24, "%x", &cm_n);
		switch (k) {
		case 1: case 2:
			(void)op_add(NULL, r, u, chat_n, next_id++, t, &x);
			break;
		case 3:
			(void)op_edit(NULL, r, u, chat_n, cm_n, t, &x);
			break;
		case 4:
			(void)op_delc(NULL, r, u, chat_n, cm_n, &x);
			break;
		case 5:
			(void)op_resolve(NULL, r, u, chat_n, (s >> 24) & 1, &x);
			break;
		case 6:
			(void)op_del(NULL, r, u, chat_n, &x);
			break;
		default:
			(void)op_new(NULL, r, u, next_id, next_id + 1, t, &x);
			next_id += 2;
			break;
		}
		srv_ops_result_release(&x);
	}
}

START_TEST(test_replay_equivalence)
{
	struct srv_room *copy = other_room("copy");
	struct srv_ops_result res;
	char *a, *b;

	random_ops(ROOM, 600, 7);
	ck_assert_uint_gt(ROOM->seq, 300);
	ck_assert_uint_eq(ROOM->ring_n, ROOM->seq);  /* all retained */
	for (uint64_t s = 1; s <= ROOM->seq; s++) {
		const struct srv_room_event *ev = srv_room_event_at(ROOM, s);
		ck_assert_int_eq(srv_ops_apply_event(NULL, copy, ev->msg->data,
						     ev->msg->len, &res), 0);
		ck_assert_int_eq(res.outcome, SRV_OPS_APPLIED);
		ck_assert_uint_eq(res.seq, s);
		ck_assert_ptr_null(res.event);
	}
	/* same chats, comments, texts, flags, seq, and ring bytes */
	a = state(ROOM);
	b = state(copy);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_replay_rollback)
{
	struct srv_room *copy = other_room("copy");
	struct srv_ops_turn turn;
	struct srv_ops_result res;
	char *before;
	uint64_t half;

	srv_ops_turn_init(&turn, &A);
	random_ops(ROOM, 200, 11);
	half = ROOM->seq / 2;
	for (uint64_t s = 1; s <= half; s++) {
		const struct srv_room_event *ev = srv_room_event_at(ROOM, s);
		ck_assert_int_eq(srv_ops_apply_event(NULL, copy, ev->msg->data,
						     ev->msg->len, &res), 0);
	}
	before = state(copy);
	for (uint64_t s = half + 1; s <= ROOM->seq; s++) {
		const struct srv_room_event *ev = srv_room_event_at(ROOM, s);
		ck_assert_int_eq(srv_ops_apply_event(&turn, copy, ev->msg->data,
						     ev->msg->len, &res), 0);
	}
	srv_ops_turn_rollback(&turn);
	assert_state(copy, before);
	free(before);
	srv_ops_turn_free(&turn);
}
END_TEST

/* Events that are not a continuation of the room: corruption. The room
 * holds chat 1 (Ann) with comment 2, seq 1. */
static const struct {
	const char *name;
	const char *json;   /* %s: chat 1, %s: comment 2 */
	const char *message;
} corrupt_cases[] = {
	{ "not json", "{\"type\":", "not JSON" },
	{ "not an object", "[1]", "record is not a JSON object" },
	{ "no type", "{\"seq\":2}", "event type missing or unknown" },
	{ "hello", "{\"type\":\"hello\",\"seq\":2}", "event type missing or unknown" },
	{ "seq repeats", "{\"type\":\"deleted-text-chat\",\"seq\":1,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chatId\":\"%s\"}",
	  "event seq 1 does not follow room seq 1" },
	{ "seq gap", "{\"type\":\"deleted-text-chat\",\"seq\":3,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chatId\":\"%s\"}",
	  "event seq 3 does not follow room seq 1" },
	{ "seq zero", "{\"type\":\"deleted-text-chat\",\"seq\":0,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chatId\":\"%s\"}",
	  "event seq is not a positive integer" },
	{ "uppercase bid", "{\"type\":\"deleted-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000FFFF\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chatId\":\"%s\"}",
	  "event broadcastId is not a canonical UUID" },
	{ "no ts", "{\"type\":\"deleted-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\","
	  "\"userId\":\"u1\",\"chatId\":\"%s\"}", "event ts is not an integer" },
	{ "empty user", "{\"type\":\"deleted-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"\",\"chatId\":\"%s\"}", "event userId missing or empty" },
	{ "unknown chat", "{\"type\":\"deleted-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chatId\":\"00000000-0000-4000-8000-000000000099\"}",
	  "event names no live chat" },
	{ "new chat id live", "{\"type\":\"new-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chat\":{\"id\":\"%s\",\"anchor\":{},\"userId\":"
	  "\"u1\",\"userName\":\"A\",\"createdAt\":1,\"resolved\":false,"
	  "\"comments\":[]}}", "event creates a chat id already live" },
	{ "new chat anchor not compact", "{\"type\":\"new-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chat\":{\"id\":\"00000000-0000-4000-8000-00000000"
	  "0077\",\"anchor\":{ },\"userId\":\"u1\",\"userName\":\"A\","
	  "\"createdAt\":1,\"resolved\":false,\"comments\":[]}}",
	  "chat anchor is not compact JSON" },
	{ "new chat duplicate comments", "{\"type\":\"new-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chat\":{\"id\":\"00000000-0000-4000-8000-00000000"
	  "0077\",\"anchor\":{},\"userId\":\"u1\",\"userName\":\"A\","
	  "\"createdAt\":1,\"resolved\":false,\"comments\":[{\"id\":"
	  "\"00000000-0000-4000-8000-000000000055\","
	  "\"userId\":\"u\",\"userName\":\"\",\"text\":\"x\",\"createdAt\":1},"
	  "{\"id\":\"00000000-0000-4000-8000-000000000055\",\"userId\":\"u\",\"userName\":\"\",\"text\":\"x\","
	  "\"createdAt\":1}]}}", "two comments with one id" },
	{ "new chat no resolved", "{\"type\":\"new-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chat\":{\"id\":\"00000000-0000-4000-8000-00000000"
	  "0077\",\"anchor\":{},\"userId\":\"u1\",\"userName\":\"A\","
	  "\"createdAt\":1,\"comments\":[]}}", "chat resolved is not a boolean" },
	{ "add existing comment", "{\"type\":\"updated-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chatId\":\"%s\",\"action\":\"add-comment\","
	  "\"comment\":{\"id\":\"%s\",\"userId\":\"u1\",\"userName\":\"A\","
	  "\"text\":\"x\",\"createdAt\":1}}",
	  "event adds a comment id already live" },
	{ "add empty text", "{\"type\":\"updated-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chatId\":\"%s\",\"action\":\"add-comment\","
	  "\"comment\":{\"id\":\"00000000-0000-4000-8000-000000000077\","
	  "\"userId\":\"u1\",\"userName\":\"A\",\"text\":\"\",\"createdAt\":1}}",
	  "comment text missing or empty" },
	{ "edit unknown comment", "{\"type\":\"updated-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chatId\":\"%s\",\"action\":\"edit-comment\","
	  "\"commentId\":\"00000000-0000-4000-8000-000000000077\",\"text\":\"x\"}",
	  "event names no live comment" },
	{ "edit empty", "{\"type\":\"updated-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chatId\":\"%s\",\"action\":\"edit-comment\","
	  "\"commentId\":\"%s\",\"text\":\"\"}", "event text missing or empty" },
	{ "resolve string", "{\"type\":\"updated-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chatId\":\"%s\",\"action\":\"resolve\","
	  "\"resolved\":\"yes\"}", "event resolved is not a boolean" },
	{ "unknown action", "{\"type\":\"updated-text-chat\",\"seq\":2,"
	  "\"broadcastId\":\"00000000-0000-4000-8000-00000000ffff\",\"ts\":1,"
	  "\"userId\":\"u1\",\"chatId\":\"%s\",\"action\":\"pin\"}",
	  "event action missing or unknown" },
};

START_TEST(test_replay_corrupt)
{
	struct srv_ops_result res;
	char json[2048], *before;
	int n;

	must(op_new(NULL, ROOM, &ANN, 1, 2, "x", &res), &res);
	before = state(ROOM);
	n = snprintf(json, sizeof(json), corrupt_cases[_i].json, ID(1), ID(2));
	ck_assert_int_eq(srv_ops_apply_event(NULL, ROOM, (const uint8_t *)json,
					     (size_t)n, &res), COLLAB_ECORRUPT);
	ck_assert_int_eq(res.outcome, SRV_OPS_REJECTED);
	ck_assert_msg(strncmp(res.message, corrupt_cases[_i].message,
			      strlen(corrupt_cases[_i].message)) == 0,
		      "%s: %s", corrupt_cases[_i].name, res.message);
	assert_state(ROOM, before);
	free(before);
}
END_TEST

/* ---- allocator failures ------------------------------------------------------------- */

/* Each op kind, failing each allocation in turn: state unchanged and
 * `unavailable`, until it goes through. */
START_TEST(test_alloc_failures)
{
	struct srv_ops_turn turn;
	struct srv_ops_result res;
	char *before;
	unsigned k, failures = 0;
	int rc = 0;

	srv_ops_turn_init(&turn, &A);
	rich_base(ROOM);
	for (k = 0;; k++) {
		srv_ops_turn_free(&turn);     /* so the log must grow again */
		srv_ops_turn_init(&turn, &A);
		before = state(ROOM);
		arm((long)k);
		switch (_i) {
		case 0: rc = op_new(&turn, ROOM, &ANN, 50, 51, "n", &res); break;
		case 1: rc = op_add(&turn, ROOM, &ANN, 7, 52, "a", &res); break;
		case 2: rc = op_edit(&turn, ROOM, &ANN, 1, 2, "e", &res); break;
		case 3: rc = op_delc(&turn, ROOM, &ANN, 1, 4, &res); break;
		case 4: rc = op_resolve(&turn, ROOM, &ANN, 1, true, &res); break;
		case 5: rc = op_del(&turn, ROOM, &BO, 5, &res); break;
		}
		disarm();
		if (rc == 0) {
			ck_assert_int_eq(res.outcome, SRV_OPS_APPLIED);
			srv_ops_result_release(&res);
			free(before);
			break;
		}
		failures++;
		ck_assert_int_eq(rc, COLLAB_ENOMEM);
		ck_assert_int_eq(res.outcome, SRV_OPS_REJECTED);
		ck_assert_int_eq(res.err, COLLAB_PROTO_ERR_UNAVAILABLE);
		ck_assert_str_eq(res.message, "the server is out of memory");
		ck_assert_ptr_null(res.event);
		ck_assert_uint_eq(srv_ops_turn_size(&turn), 0);
		assert_state(ROOM, before);
		free(before);
	}
	ck_assert_uint_gt(failures, 0);
	srv_ops_turn_rollback(&turn);
	srv_ops_turn_free(&turn);
}
END_TEST

START_TEST(test_replay_alloc_failures)
{
	struct srv_room *copy = other_room("copy");
	struct srv_ops_result res;
	char *before;
	unsigned failures = 0;

	rich_base(ROOM);
	mixed_ops(NULL, ROOM);
	srv_room_registry_trim(&REG);   /* node array must grow again */
	for (uint64_t s = 1; s <= ROOM->seq; s++) {
		const struct srv_room_event *ev = srv_room_event_at(ROOM, s);
		for (long k = 0;; k++) {
			int rc;
			before = state(copy);
			arm(k);
			rc = srv_ops_apply_event(NULL, copy, ev->msg->data,
						 ev->msg->len, &res);
			disarm();
			if (rc == 0) {
				free(before);
				break;
			}
			failures++;
			ck_assert_int_eq(rc, COLLAB_ENOMEM);
			assert_state(copy, before);
			free(before);
		}
	}
	ck_assert_uint_gt(failures, ROOM->seq);
	{
		char *a = state(ROOM), *b = state(copy);
		ck_assert_str_eq(a, b);
		free(a);
		free(b);
	}
}
END_TEST

/* ---- scale ------------------------------------------------------------------------------ */

START_TEST(test_many_chats)
{
	struct srv_ops_result res;
	unsigned n = 3000;

	LIM.max_chats_per_room = n;
	LIM.max_comments_per_chat = 1000;
	for (unsigned i = 0; i < n; i++)
		must(op_new(NULL, ROOM, i % 2 ? &ANN : &BO, 10000 + i, 20000 + i,
			    "x", &res), &res);
	for (unsigned i = 0; i < 999; i++)
		must(op_add(NULL, ROOM, &ANN, 10000, 40000 + i, "c", &res), &res);
	ck_assert_int_eq(op_add(NULL, ROOM, &ANN, 10000, 50000, "c", &res), 0);
	ck_assert_int_eq(res.err, COLLAB_PROTO_ERR_TOO_LARGE);
	ck_assert_uint_eq(ROOM->chats.n_chats, n);
	ck_assert_uint_eq(ROOM->chats.comments.n, n + 999);
	/* every chat findable; delete every other one and find the rest */
	for (unsigned i = 0; i < n; i += 2)
		must(op_del(NULL, ROOM, &MOD, 10000 + i, &res), &res);
	for (unsigned i = 0; i < n; i++) {
		const struct srv_chat *c = srv_chat_find(&ROOM->chats,
							 ID(10000 + i));
		if (i % 2)
			ck_assert_ptr_nonnull(c);
		else
			ck_assert_ptr_null(c);
	}
	ck_assert_uint_eq(ROOM->chats.comments.n, n / 2);
	ck_assert_uint_eq(ROOM->ring_n, 1000);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ops");
	TCase *tc;

	tc = tcase_create("ops");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_chat);
	tcase_add_loop_test(tc, test_each_op, 0, (int)ARRAY_LEN(op_cases));
	tcase_add_loop_test(tc, test_rejections, 0, (int)ARRAY_LEN(rej_cases));
	tcase_add_loop_test(tc, test_rights, 0, (int)ARRAY_LEN(rights));
	tcase_add_test(tc, test_limit_chats);
	tcase_add_test(tc, test_limit_comments);
	tcase_add_test(tc, test_ids_reusable_after_delete);
	tcase_add_test(tc, test_retry);
	tcase_add_test(tc, test_retry_in_same_turn);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_invalid_utf8_user);
	tcase_add_test(tc, test_largest_event);
	tcase_add_test(tc, test_rollback_mixed);
	tcase_add_test(tc, test_rollback_several_rooms);
	tcase_add_test(tc, test_pinned_room_not_freed);
	tcase_add_test(tc, test_replay_equivalence);
	tcase_add_test(tc, test_replay_rollback);
	tcase_add_loop_test(tc, test_replay_corrupt, 0,
			    (int)ARRAY_LEN(corrupt_cases));
	tcase_add_loop_test(tc, test_alloc_failures, 0, 6);
	tcase_add_test(tc, test_replay_alloc_failures);
	tcase_add_test(tc, test_many_chats);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("small ring");
	tcase_add_checked_fixture(tc, setup_small, teardown);
	tcase_add_test(tc, test_retry_after_eviction);
	tcase_add_test(tc, test_rollback_ring_eviction);
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
