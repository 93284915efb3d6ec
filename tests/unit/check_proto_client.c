/*
 * check_proto_client.c - the client side of PROTOCOL.md: client messages
 * encoded (hello, operations) and server messages parsed (welcome,
 * snapshot, synced, events, user-count, error, batch), with iteration over
 * a snapshot's chats, a chat's comments and a batch's events.
 *
 * Round trips both ways: what the client encoders write parses back with
 * the server's collab_proto_parse_hello() / collab_proto_parse_op() to the
 * same values, and every server message the server encoders write parses
 * back to the values it was made from; re-encoding a parsed message with
 * the server encoders gives back the same bytes (for a canonical input) or
 * the canonical form (for a lenient one).
 *
 * Tables write JSON with ' for " (q() swaps them). Every parser input is
 * copied so that it ends on an unreadable guard page and is read-only; the
 * node array and the scratch end on guard pages too, sized exactly as
 * proto.h says, so any write past them crashes. The parser is one-shot, so
 * instead of split points every proper prefix of every accepted message is
 * parsed: it must be rejected.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/json.h"
#include "collab/proto.h"
#include "testutil.h"

#define B "0f8fad5b-d9cb-469f-a165-70867728950e"
#define C "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define M "550e8400-e29b-41d4-a716-446655440000"
#define M2 "a1b2c3d4-0000-4000-8000-000000000001"

#define SV(lit) { (lit), sizeof(lit) - 1 }
#define END COLLAB_PROTO_ITER_END

/* ' -> " ; the result is malloc'd, NUL-terminated */
static char *q(const char *s)
{
	size_t len = strlen(s);
	char *r = malloc(len + 1);

	ck_assert_ptr_nonnull(r);
	for (size_t i = 0; i < len; i++)
		r[i] = s[i] == '\'' ? '"' : s[i];
	r[len] = '\0';
	return r;
}

static bool str_is(struct collab_str s, const char *p, size_t len)
{
	return s.len == len && (len == 0 || memcmp(s.p, p, len) == 0);
}

static void eq_str(struct collab_str got, struct collab_str want,
		   const char *what)
{
	ck_assert_msg(str_is(got, want.p, want.len), "%s: got '%.*s' want '%.*s'",
		      what, (int)got.len, got.p ? got.p : "", (int)want.len,
		      want.p ? want.p : "");
}

/* n zeroed writable bytes ending exactly on an unreadable page */
static struct guard_buf guard_alloc(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data_pages = (n + page - 1) / page;
	struct guard_buf g = { NULL, n, NULL, 0 };

	if (data_pages == 0)
		data_pages = 1;
	g.maplen = (data_pages + 1) * page;
	g.map = mmap(NULL, g.maplen, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(g.map != MAP_FAILED);
	ck_assert_int_eq(mprotect((uint8_t *)g.map + data_pages * page, page,
				  PROT_NONE), 0);
	g.p = (uint8_t *)g.map + data_pages * page - n;
	return g;
}

/* ---- parsing harness ------------------------------------------------- */

struct pm {
	struct guard_buf in, nodes, scratch;
	struct collab_proto_mem mem;
	struct collab_proto_server_msg m;
	int rc;
};

/* Parses in[0..len) from a read-only buffer ending on a guard page, with
 * exactly the memory proto.h asks for, each part ending on one too. */
static void pm_parse_cfg(struct pm *r, const struct collab_proto_client_config *cfg,
			 const void *in, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t nn = COLLAB_JSON_NODES_FOR(len);
	size_t sn = collab_proto_client_scratch_size(len);

	memset(r, 0, sizeof *r);
	r->in = guard_copy(in, len);
	ck_assert_ptr_nonnull(r->in.map);
	ck_assert_int_eq(mprotect(r->in.map, r->in.maplen - page, PROT_READ), 0);
	r->nodes = guard_alloc(nn * sizeof(struct collab_json_node));
	r->scratch = guard_alloc(sn);
	r->mem.nodes = (struct collab_json_node *)(void *)r->nodes.p;
	r->mem.max_nodes = nn;
	r->mem.scratch = r->scratch.p;
	r->mem.scratch_cap = sn;
	r->rc = collab_proto_parse_server(cfg, &r->mem, r->in.p, len, &r->m);
}

static void pm_parse(struct pm *r, const void *in, size_t len)
{
	pm_parse_cfg(r, NULL, in, len);
}

static void pm_free(struct pm *r)
{
	guard_free(&r->in);
	guard_free(&r->nodes);
	guard_free(&r->scratch);
}

/* A rejected parse: EPROTO, a message, every other field zero. */
static void check_rejected(const struct pm *r, const char *want)
{
	const struct collab_proto_server_msg *m = &r->m;

	ck_assert_int_eq(r->rc, COLLAB_EPROTO);
	ck_assert_int_eq(m->type, COLLAB_PROTO_MSG_NONE);
	ck_assert_uint_lt(m->message_len, COLLAB_PROTO_MESSAGE_CAP);
	ck_assert_uint_eq(strlen(m->message), m->message_len);
	ck_assert_uint_gt(m->message_len, 0);
	if (want != NULL)
		ck_assert_msg(strstr(m->message, want) != NULL,
			      "message '%s' lacks '%s'", m->message, want);
	ck_assert_uint_eq(m->first, END);
	ck_assert_uint_eq(m->n_items, 0);
	ck_assert_uint_eq(m->seq, 0);
	ck_assert_uint_eq(m->doc.n_nodes, 0);
	ck_assert_ptr_null(m->scratch);
	ck_assert_ptr_null(m->welcome.connection_id.p);
	ck_assert_ptr_null(m->event.broadcast_id.p);
	ck_assert_uint_eq(m->event.chat.first_comment, END);
}

/* Every proper prefix of an accepted message is rejected (unless what it
 * leaves out is whitespace). */
static void check_prefixes(const char *in, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		struct pm r;
		if (in[k + strspn(in + k, " \t\r\n")] == '\0')
			break;
		pm_parse(&r, in, k);
		check_rejected(&r, NULL);
		pm_free(&r);
	}
}

/* ---- re-encoding a parsed message with the server encoders ---------- */

/* The comments of a chat view, in order, into a malloc'd array. */
static struct collab_proto_comment *comments_of(const struct collab_proto_server_msg *m,
						 const struct collab_proto_chat_view *ch)
{
	struct collab_proto_comment *cm = calloc(ch->n_comments + 1, sizeof *cm);
	size_t i = 0;

	ck_assert_ptr_nonnull(cm);
	for (uint32_t it = ch->first_comment; it != END;
	     it = collab_proto_msg_next(m, it), i++) {
		ck_assert_uint_lt(i, ch->n_comments);
		ck_assert_int_eq(collab_proto_msg_comment(m, it, &cm[i]), 0);
	}
	ck_assert_uint_eq(i, ch->n_comments);
	return cm;
}

static void chat_of(const struct collab_proto_chat_view *v,
		    const struct collab_proto_comment *cm,
		    struct collab_proto_chat *chat)
{
	memset(chat, 0, sizeof *chat);
	chat->id = v->id;
	chat->anchor = v->anchor;
	chat->user_id = v->user_id;
	chat->user_name = v->user_name;
	chat->created_at = v->created_at;
	chat->resolved = v->resolved;
	chat->comments = cm;
	chat->n_comments = v->n_comments;
}

/* Encodes an event view with collab_proto_encode_event() into out. */
static size_t reencode_event(const struct collab_proto_server_msg *m,
			     const struct collab_proto_event_view *v,
			     uint8_t *out, size_t cap)
{
	struct collab_proto_comment *cm = NULL;
	struct collab_proto_chat chat;
	struct collab_proto_event ev = {
		.type = v->type, .action = v->action, .seq = v->seq,
		.broadcast_id = v->broadcast_id, .ts = v->ts,
		.user_id = v->user_id, .chat_id = v->chat_id,
		.comment = &v->comment, .comment_id = v->comment_id,
		.text = v->text, .resolved = v->resolved,
	};
	size_t len = 0;

	if (v->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		cm = comments_of(m, &v->chat);
		chat_of(&v->chat, cm, &chat);
		ev.chat = &chat;
	}
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, cap, &len), 0);
	free(cm);
	return len;
}

/*
 * The message the server encoders make of a parsed message: malloc'd,
 * its length in *len. A batch of two or more goes through
 * collab_proto_encode_batch(); shorter ones (which that would send bare)
 * get the same envelope from the writer.
 */
static uint8_t *reencode(const struct collab_proto_server_msg *m, size_t *len)
{
	size_t cap = 4 * m->doc.in_len + 4096;
	uint8_t *out = malloc(cap);
	const struct collab_proto_welcome_view *wv = &m->welcome;
	struct collab_proto_welcome w = {
		wv->connection_id, wv->has_user ? &wv->user : NULL, wv->epoch,
		wv->seq, wv->count, wv->resync
	};

	ck_assert_ptr_nonnull(out);
	*len = 0;
	switch (m->type) {
	case COLLAB_PROTO_MSG_WELCOME:
		ck_assert_int_eq(collab_proto_encode_welcome(&w, out, cap, len), 0);
		break;
	case COLLAB_PROTO_MSG_SYNCED:
		ck_assert_int_eq(collab_proto_encode_synced(m->seq, out, cap, len), 0);
		break;
	case COLLAB_PROTO_MSG_USER_COUNT:
		ck_assert_int_eq(collab_proto_encode_user_count(m->count, out, cap, len), 0);
		break;
	case COLLAB_PROTO_MSG_ERROR:
		ck_assert_int_eq(collab_proto_encode_error(
			m->error.has_broadcast_id ? &m->error.broadcast_id : NULL,
			m->error.code, m->error.message, out, cap, len), 0);
		break;
	case COLLAB_PROTO_MSG_EVENT:
		*len = reencode_event(m, &m->event, out, cap);
		break;
	case COLLAB_PROTO_MSG_SNAPSHOT: {
		struct collab_proto_config cfg;
		struct collab_proto_snapshot s;
		collab_proto_config_init(&cfg);
		cfg.max_snapshot = SIZE_MAX;
		ck_assert_int_eq(collab_proto_snapshot_begin(&s, &cfg, m->seq, m->reset,
							     out, cap), 0);
		for (uint32_t it = m->first; it != END; it = collab_proto_msg_next(m, it)) {
			struct collab_proto_chat_view v;
			struct collab_proto_chat chat;
			struct collab_proto_comment *cm;
			ck_assert_int_eq(collab_proto_msg_chat(m, it, &v), 0);
			cm = comments_of(m, &v);
			chat_of(&v, cm, &chat);
			ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat), 0);
			free(cm);
		}
		ck_assert_uint_eq(s.n_chats, m->n_items);
		ck_assert_int_eq(collab_proto_snapshot_finish(&s, len), 0);
		break;
	}
	case COLLAB_PROTO_MSG_BATCH: {
		struct collab_str *ev = calloc(m->n_items + 1, sizeof *ev);
		uint8_t *buf = malloc(cap);
		size_t used = 0, n = 0;
		ck_assert_ptr_nonnull(ev);
		ck_assert_ptr_nonnull(buf);
		for (uint32_t it = m->first; it != END; it = collab_proto_msg_next(m, it)) {
			struct collab_proto_event_view v;
			ck_assert_int_eq(collab_proto_msg_event(m, it, &v), 0);
			ev[n].p = (const char *)buf + used;
			ev[n].len = reencode_event(m, &v, buf + used, cap - used);
			used += ev[n++].len;
		}
		ck_assert_uint_eq(n, m->n_items);
		if (n >= 2) {
			ck_assert_int_eq(collab_proto_encode_batch(ev, n, out, cap, len), 0);
		} else {
			struct collab_json_writer w2;
			collab_json_writer_init(&w2, out, cap);
			collab_json_write_obj_begin(&w2);
			collab_json_write_key(&w2, COLLAB_JSON_LIT("type"));
			collab_json_write_str(&w2, COLLAB_JSON_LIT("batch"));
			collab_json_write_key(&w2, COLLAB_JSON_LIT("events"));
			collab_json_write_arr_begin(&w2);
			if (n == 1)
				collab_json_write_raw(&w2, ev[0].p, ev[0].len);
			collab_json_write_arr_end(&w2);
			collab_json_write_obj_end(&w2);
			ck_assert_int_eq(collab_json_writer_finish(&w2, len), 0);
		}
		free(ev);
		free(buf);
		break;
	}
	case COLLAB_PROTO_MSG_NONE:
	case COLLAB_PROTO_MSG_UNKNOWN:
		ck_abort_msg("nothing to re-encode");
	}
	return out;
}

/* ---- expected values ------------------------------------------------- */

static void want_comment_at(const struct collab_proto_chat *c, size_t i,
			    struct collab_proto_comment *cm)
{
	if (c->comments != NULL)
		*cm = c->comments[i];
	else
		c->get_comment(c->get_comment_ctx, i, cm);
}

static void check_comment(const struct collab_proto_comment *got,
			  const struct collab_proto_comment *want)
{
	eq_str(got->id, want->id, "comment id");
	eq_str(got->user_id, want->user_id, "comment userId");
	eq_str(got->user_name, want->user_name, "comment userName");
	eq_str(got->text, want->text, "comment text");
	ck_assert_uint_eq(got->created_at, want->created_at);
}

static void check_chat(const struct collab_proto_server_msg *m,
		       const struct collab_proto_chat_view *got,
		       const struct collab_proto_chat *want)
{
	size_t i = 0;

	eq_str(got->id, want->id, "chat id");
	eq_str(got->anchor, want->anchor, "chat anchor");
	eq_str(got->user_id, want->user_id, "chat userId");
	eq_str(got->user_name, want->user_name, "chat userName");
	ck_assert_uint_eq(got->created_at, want->created_at);
	ck_assert(got->resolved == want->resolved);
	ck_assert_uint_eq(got->n_comments, want->n_comments);
	if (want->n_comments == 0)
		ck_assert_uint_eq(got->first_comment, END);
	for (uint32_t it = got->first_comment; it != END;
	     it = collab_proto_msg_next(m, it), i++) {
		struct collab_proto_comment g, w;
		ck_assert_uint_lt(i, want->n_comments);
		ck_assert_int_eq(collab_proto_msg_comment(m, it, &g), 0);
		want_comment_at(want, i, &w);
		check_comment(&g, &w);
	}
	ck_assert_uint_eq(i, want->n_comments);
}

static void check_event(const struct collab_proto_server_msg *m,
			const struct collab_proto_event_view *got,
			const struct collab_proto_event *want)
{
	static const struct collab_str none = { NULL, 0 };

	ck_assert_int_eq(got->type, want->type);
	ck_assert_int_eq(got->action, want->action);
	ck_assert_uint_eq(got->seq, want->seq);
	eq_str(got->broadcast_id, want->broadcast_id, "broadcastId");
	ck_assert_uint_eq(got->ts, want->ts);
	eq_str(got->user_id, want->user_id, "userId");
	if (want->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		check_chat(m, &got->chat, want->chat);
		eq_str(got->chat_id, want->chat->id, "chatId");
	} else {
		eq_str(got->chat_id, want->chat_id, "chatId");
		ck_assert_ptr_null(got->chat.id.p);
		ck_assert_uint_eq(got->chat.first_comment, END);
	}
	switch (want->action) {
	case COLLAB_PROTO_ACTION_ADD_COMMENT:
		check_comment(&got->comment, want->comment);
		eq_str(got->comment_id, want->comment->id, "commentId");
		eq_str(got->text, none, "text");
		break;
	case COLLAB_PROTO_ACTION_EDIT_COMMENT:
		eq_str(got->comment_id, want->comment_id, "commentId");
		eq_str(got->text, want->text, "text");
		break;
	case COLLAB_PROTO_ACTION_DELETE_COMMENT:
		eq_str(got->comment_id, want->comment_id, "commentId");
		eq_str(got->text, none, "text");
		break;
	case COLLAB_PROTO_ACTION_RESOLVE:
		ck_assert(got->resolved == want->resolved);
		eq_str(got->comment_id, none, "commentId");
		break;
	case COLLAB_PROTO_ACTION_NONE:
		eq_str(got->comment_id, none, "commentId");
		eq_str(got->text, none, "text");
		ck_assert(!got->resolved);
		break;
	}
}

/* ---- server messages made by the server encoders --------------------- */

static const struct collab_proto_comment first_comment = {
	SV(M), SV("u1"), SV("Ann"), SV("first comment"), 1764151200000ull
};

static const struct collab_proto_comment two_comments[] = {
	{ SV(M), SV("u1"), SV("Ann"), SV("a \"quoted\"\n\\ line /"), 1 },
	{ SV(M2), SV("u2"), SV("B\xc3\xb6"), SV("\xe2\x80\xa8\x01\x7f"),
	  18446744073709551615ull },
};

static void comment_cb(const void *ctx, size_t i, struct collab_proto_comment *c)
{
	const struct collab_proto_comment *arr = ctx;
	*c = arr[i];
}

#define CHAT1_INIT { \
	.id = SV(C), .anchor = SV("{}"), \
	.user_id = SV("u1"), .user_name = SV("Ann"), \
	.created_at = 1764151200000ull, .resolved = false, \
	.comments = &first_comment, .n_comments = 1, \
}
static const struct collab_proto_chat chat1 = CHAT1_INIT;

#define CHAT2_INIT { \
	.id = SV(C), .anchor = SV("{\"quote\":\"x\",\"o\":[1,2.50,-3e2]}"), \
	.user_id = SV("u1"), .user_name = SV("Ann"), \
	.created_at = 5, .resolved = true, \
	.comments = NULL, .n_comments = 2, \
	.get_comment = comment_cb, .get_comment_ctx = two_comments, \
}
static const struct collab_proto_chat chat2 = CHAT2_INIT;

#define CHAT_EMPTY_INIT { \
	.id = SV(M2), .anchor = SV("{\"a\":{}}"), \
	.user_id = SV(""), .user_name = SV(""), \
	.created_at = 0, .resolved = false, \
}

/* an anchor as the server stores it: canonical, escapes included */
#define CHAT_ESC_INIT { \
	.id = SV("not-a-uuid"), \
	.anchor = SV("{\"q\":\"a\\\"b\\\\c\\u2028\\u0001\xc3\xa9\",\"n\":[null,true,false,{}]}"), \
	.user_id = SV("u\"3"), .user_name = SV("\xe2\x82\xac"), \
	.created_at = 18446744073709551615ull, .resolved = true, \
	.comments = two_comments, .n_comments = 2, \
}
static const struct collab_proto_chat chat_esc = CHAT_ESC_INIT;

static const struct collab_proto_chat snap_chats[] = {
	CHAT1_INIT, CHAT2_INIT, CHAT_EMPTY_INIT, CHAT_ESC_INIT,
};

static const struct collab_proto_comment add_comment = {
	SV(M2), SV("u2"), SV("Bo"), SV("..."), 1764151200001ull
};

static const struct collab_proto_event ev_new1 = {
	.type = COLLAB_PROTO_TYPE_NEW_TEXT_CHAT, .seq = 58, .broadcast_id = SV(B),
	.ts = 1764151200000ull, .user_id = SV("u1"), .chat = &chat1,
};
static const struct collab_proto_event ev_new2 = {
	.type = COLLAB_PROTO_TYPE_NEW_TEXT_CHAT, .seq = 1, .broadcast_id = SV(B),
	.ts = 2, .user_id = SV("u1"), .chat = &chat2,
};
static const struct collab_proto_event ev_new_esc = {
	.type = COLLAB_PROTO_TYPE_NEW_TEXT_CHAT, .seq = 0, .broadcast_id = SV("b\\"),
	.ts = 0, .user_id = SV(""), .chat = &chat_esc,
};
static const struct collab_proto_event ev_add = {
	.type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
	.action = COLLAB_PROTO_ACTION_ADD_COMMENT, .seq = 59, .broadcast_id = SV(B),
	.ts = 1764151200001ull, .user_id = SV("u2"), .chat_id = SV(C),
	.comment = &add_comment,
};
static const struct collab_proto_event ev_edit = {
	.type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
	.action = COLLAB_PROTO_ACTION_EDIT_COMMENT, .seq = 60, .broadcast_id = SV(B),
	.ts = 7, .user_id = SV("u2"), .chat_id = SV(C), .comment_id = SV(M),
	.text = SV("new \"text\"\t\xe2\x80\xa9"),
};
static const struct collab_proto_event ev_delete = {
	.type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
	.action = COLLAB_PROTO_ACTION_DELETE_COMMENT, .seq = 61, .broadcast_id = SV(B),
	.ts = 8, .user_id = SV("u1"), .chat_id = SV(C), .comment_id = SV(M),
};
static const struct collab_proto_event ev_resolve = {
	.type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
	.action = COLLAB_PROTO_ACTION_RESOLVE, .seq = 62, .broadcast_id = SV(B),
	.ts = 9, .user_id = SV("u1"), .chat_id = SV(C), .resolved = true,
};
static const struct collab_proto_event ev_unresolve = {
	.type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
	.action = COLLAB_PROTO_ACTION_RESOLVE, .seq = 18446744073709551615ull,
	.broadcast_id = SV(B), .ts = 18446744073709551615ull, .user_id = SV("u1"),
	.chat_id = SV(C), .resolved = false,
};
static const struct collab_proto_event ev_deleted = {
	.type = COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT, .seq = 63, .broadcast_id = SV(B),
	.ts = 10, .user_id = SV("u1"), .chat_id = SV(C),
};

static const struct collab_proto_event *const batch4[] = {
	&ev_new2, &ev_add, &ev_edit, &ev_deleted,
};
static const struct collab_proto_event *const batch_all[] = {
	&ev_new1, &ev_new2, &ev_new_esc, &ev_add, &ev_edit, &ev_delete,
	&ev_resolve, &ev_unresolve, &ev_deleted,
};
static const struct collab_proto_event *const batch2[] = { &ev_resolve, &ev_delete };

static const struct collab_proto_user ann = { SV("u1"), SV("Ann"), false };
static const struct collab_proto_user mod = { SV("sub-7"), SV("O'\"Neil\"\n"), true };
static const struct collab_str bid_b = SV(B);
static const struct collab_str bid_odd = SV("not \"a\" uuid");

enum srv_kind { S_WELCOME, S_SYNCED, S_COUNT, S_ERROR, S_EVENT, S_SNAPSHOT, S_BATCH };

struct srv_case {
	const char *name;
	enum srv_kind kind;
	struct collab_proto_welcome welcome;
	uint64_t n;                         /* synced seq, user-count, snapshot seq */
	const struct collab_str *bid;       /* error */
	enum collab_proto_err code;
	struct collab_str message;
	const struct collab_proto_event *event;
	const struct collab_proto_event *const *events; /* batch */
	const struct collab_proto_chat *chats;          /* snapshot */
	size_t count;                       /* events or chats */
	bool reset;
};

#define WELCOME(u, r, s, c) { SV("9b2e7c1a-1f2e-4c3d-8e9f-0a1b2c3d4e5f"), (u), SV("ep-1"), (s), (c), (r) }

static const struct srv_case srv_cases[] = {
	{ .name = "welcome", .kind = S_WELCOME,
	  .welcome = WELCOME(&ann, COLLAB_PROTO_RESYNC_REPLAY, 57, 3) },
	{ .name = "welcome anonymous snapshot", .kind = S_WELCOME,
	  .welcome = WELCOME(NULL, COLLAB_PROTO_RESYNC_SNAPSHOT, 0, 1) },
	{ .name = "welcome moderator, escapes, maxima", .kind = S_WELCOME,
	  .welcome = { SV("c\\"), &mod, SV(""), 18446744073709551615ull,
		       18446744073709551615ull, COLLAB_PROTO_RESYNC_REPLAY } },
	{ .name = "synced", .kind = S_SYNCED, .n = 57 },
	{ .name = "synced 0", .kind = S_SYNCED, .n = 0 },
	{ .name = "synced max", .kind = S_SYNCED, .n = 18446744073709551615ull },
	{ .name = "user-count", .kind = S_COUNT, .n = 4 },
	{ .name = "user-count 0", .kind = S_COUNT, .n = 0 },
	{ .name = "error forbidden", .kind = S_ERROR, .bid = &bid_b,
	  .code = COLLAB_PROTO_ERR_FORBIDDEN,
	  .message = SV("only the author or a moderator may delete") },
	{ .name = "error null broadcastId", .kind = S_ERROR,
	  .code = COLLAB_PROTO_ERR_INVALID, .message = SV("not \"JSON\"\n") },
	{ .name = "error not-found", .kind = S_ERROR, .bid = &bid_odd,
	  .code = COLLAB_PROTO_ERR_NOT_FOUND, .message = SV("") },
	{ .name = "error conflict", .kind = S_ERROR, .bid = &bid_b,
	  .code = COLLAB_PROTO_ERR_CONFLICT, .message = SV("x") },
	{ .name = "error too-large", .kind = S_ERROR, .bid = &bid_b,
	  .code = COLLAB_PROTO_ERR_TOO_LARGE, .message = SV("x") },
	{ .name = "error rate-limited", .kind = S_ERROR, .bid = &bid_b,
	  .code = COLLAB_PROTO_ERR_RATE_LIMITED, .message = SV("slow down") },
	{ .name = "error unavailable", .kind = S_ERROR, .bid = &bid_b,
	  .code = COLLAB_PROTO_ERR_UNAVAILABLE, .message = SV("x") },
	{ .name = "new-text-chat", .kind = S_EVENT, .event = &ev_new1 },
	{ .name = "new-text-chat, two comments via callback", .kind = S_EVENT,
	  .event = &ev_new2 },
	{ .name = "new-text-chat, escapes everywhere", .kind = S_EVENT,
	  .event = &ev_new_esc },
	{ .name = "add-comment", .kind = S_EVENT, .event = &ev_add },
	{ .name = "edit-comment", .kind = S_EVENT, .event = &ev_edit },
	{ .name = "delete-comment", .kind = S_EVENT, .event = &ev_delete },
	{ .name = "resolve", .kind = S_EVENT, .event = &ev_resolve },
	{ .name = "unresolve, maxima", .kind = S_EVENT, .event = &ev_unresolve },
	{ .name = "deleted-text-chat", .kind = S_EVENT, .event = &ev_deleted },
	{ .name = "snapshot reset", .kind = S_SNAPSHOT, .n = 57, .reset = true,
	  .chats = snap_chats, .count = ARRAY_LEN(snap_chats) },
	{ .name = "snapshot continued", .kind = S_SNAPSHOT, .n = 57, .reset = false,
	  .chats = &chat2, .count = 1 },
	{ .name = "snapshot empty", .kind = S_SNAPSHOT, .n = 0, .reset = true,
	  .chats = NULL, .count = 0 },
	{ .name = "batch of four", .kind = S_BATCH, .events = batch4,
	  .count = ARRAY_LEN(batch4) },
	{ .name = "batch of every event", .kind = S_BATCH, .events = batch_all,
	  .count = ARRAY_LEN(batch_all) },
	{ .name = "batch of two", .kind = S_BATCH, .events = batch2,
	  .count = ARRAY_LEN(batch2) },
};

/* The case's message, from the server encoders; malloc'd. */
static uint8_t *srv_encode(const struct srv_case *tc, size_t *len)
{
	size_t cap = 16384;
	uint8_t *out = malloc(cap);

	ck_assert_ptr_nonnull(out);
	switch (tc->kind) {
	case S_WELCOME:
		ck_assert_int_eq(collab_proto_encode_welcome(&tc->welcome, out, cap, len), 0);
		break;
	case S_SYNCED:
		ck_assert_int_eq(collab_proto_encode_synced(tc->n, out, cap, len), 0);
		break;
	case S_COUNT:
		ck_assert_int_eq(collab_proto_encode_user_count(tc->n, out, cap, len), 0);
		break;
	case S_ERROR:
		ck_assert_int_eq(collab_proto_encode_error(tc->bid, tc->code, tc->message,
							   out, cap, len), 0);
		break;
	case S_EVENT:
		ck_assert_int_eq(collab_proto_encode_event(tc->event, out, cap, len), 0);
		break;
	case S_SNAPSHOT: {
		struct collab_proto_snapshot s;
		ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, tc->n, tc->reset,
							     out, cap), 0);
		for (size_t i = 0; i < tc->count; i++)
			ck_assert_int_eq(collab_proto_snapshot_add(&s, &tc->chats[i]), 0);
		ck_assert_int_eq(collab_proto_snapshot_finish(&s, len), 0);
		break;
	}
	case S_BATCH: {
		struct collab_str ev[16];
		uint8_t *buf = malloc(cap);
		size_t used = 0;
		ck_assert_ptr_nonnull(buf);
		ck_assert_uint_le(tc->count, ARRAY_LEN(ev));
		for (size_t i = 0; i < tc->count; i++) {
			size_t l = 0;
			ck_assert_int_eq(collab_proto_encode_event(tc->events[i], buf + used,
								   cap - used, &l), 0);
			ev[i].p = (const char *)buf + used;
			ev[i].len = l;
			used += l;
		}
		ck_assert_int_eq(collab_proto_encode_batch(ev, tc->count, out, cap, len), 0);
		free(buf);
		break;
	}
	}
	return out;
}

static void check_srv_values(const struct srv_case *tc,
			     const struct collab_proto_server_msg *m)
{
	const struct collab_proto_welcome_view *w = &m->welcome;
	size_t i = 0;

	switch (tc->kind) {
	case S_WELCOME:
		ck_assert_int_eq(m->type, COLLAB_PROTO_MSG_WELCOME);
		eq_str(w->connection_id, tc->welcome.connection_id, "connectionId");
		ck_assert(w->has_user == (tc->welcome.user != NULL));
		if (tc->welcome.user != NULL) {
			eq_str(w->user.id, tc->welcome.user->id, "user.id");
			eq_str(w->user.name, tc->welcome.user->name, "user.name");
			ck_assert(w->user.moderator == tc->welcome.user->moderator);
		} else {
			ck_assert_ptr_null(w->user.id.p);
		}
		eq_str(w->epoch, tc->welcome.epoch, "epoch");
		ck_assert_uint_eq(w->seq, tc->welcome.seq);
		ck_assert_uint_eq(w->count, tc->welcome.count);
		ck_assert_int_eq(w->resync, tc->welcome.resync);
		break;
	case S_SYNCED:
		ck_assert_int_eq(m->type, COLLAB_PROTO_MSG_SYNCED);
		ck_assert_uint_eq(m->seq, tc->n);
		break;
	case S_COUNT:
		ck_assert_int_eq(m->type, COLLAB_PROTO_MSG_USER_COUNT);
		ck_assert_uint_eq(m->count, tc->n);
		break;
	case S_ERROR:
		ck_assert_int_eq(m->type, COLLAB_PROTO_MSG_ERROR);
		ck_assert(m->error.has_broadcast_id == (tc->bid != NULL));
		if (tc->bid != NULL)
			eq_str(m->error.broadcast_id, *tc->bid, "broadcastId");
		ck_assert_int_eq(m->error.code, tc->code);
		eq_str(m->error.message, tc->message, "message");
		break;
	case S_EVENT:
		ck_assert_int_eq(m->type, COLLAB_PROTO_MSG_EVENT);
		check_event(m, &m->event, tc->event);
		break;
	case S_SNAPSHOT:
		ck_assert_int_eq(m->type, COLLAB_PROTO_MSG_SNAPSHOT);
		ck_assert_uint_eq(m->seq, tc->n);
		ck_assert(m->reset == tc->reset);
		ck_assert_uint_eq(m->n_items, tc->count);
		for (uint32_t it = m->first; it != END; it = collab_proto_msg_next(m, it), i++) {
			struct collab_proto_chat_view v;
			ck_assert_uint_lt(i, tc->count);
			ck_assert_int_eq(collab_proto_msg_chat(m, it, &v), 0);
			check_chat(m, &v, &tc->chats[i]);
		}
		ck_assert_uint_eq(i, tc->count);
		break;
	case S_BATCH:
		ck_assert_int_eq(m->type, COLLAB_PROTO_MSG_BATCH);
		ck_assert_uint_eq(m->n_items, tc->count);
		for (uint32_t it = m->first; it != END; it = collab_proto_msg_next(m, it), i++) {
			struct collab_proto_event_view v;
			ck_assert_uint_lt(i, tc->count);
			ck_assert_int_eq(collab_proto_msg_event(m, it, &v), 0);
			check_event(m, &v, tc->events[i]);
		}
		ck_assert_uint_eq(i, tc->count);
		break;
	}
	if (tc->kind != S_SNAPSHOT && tc->kind != S_BATCH) {
		ck_assert_uint_eq(m->first, END);
		ck_assert_uint_eq(m->n_items, 0);
	}
}

/* Server encoder -> client parser: the same values; the server encoders
 * make the same bytes again from what was parsed. */
START_TEST(test_server_roundtrip)
{
	const struct srv_case *tc = &srv_cases[_i];
	size_t len = 0, len2 = 0;
	uint8_t *msg = srv_encode(tc, &len), *again;
	struct pm r;

	pm_parse(&r, msg, len);
	ck_assert_msg(r.rc == 0, "%s: rc %d (%s) on %.*s", tc->name, r.rc,
		      r.m.message, (int)len, msg);
	ck_assert_uint_eq(r.m.message_len, 0);
	ck_assert_str_eq(r.m.message, "");
	check_srv_values(tc, &r.m);
	/* iterating again gives the same values: nothing was moved */
	check_srv_values(tc, &r.m);
	again = reencode(&r.m, &len2);
	ck_assert_msg(len2 == len && memcmp(again, msg, len) == 0,
		      "%s:\n got %.*s\nwant %.*s", tc->name, (int)len2, again,
		      (int)len, msg);
	free(again);
	pm_free(&r);
	free(msg);
}
END_TEST

START_TEST(test_server_prefixes)
{
	const struct srv_case *tc = &srv_cases[_i];
	size_t len = 0;
	uint8_t *msg = srv_encode(tc, &len);

	check_prefixes((const char *)msg, len);
	free(msg);
}
END_TEST

/* ---- lenient inputs: their canonical re-encoding --------------------- */

struct lenient_case {
	const char *name;
	const char *json;
	enum collab_proto_msg_type type;
	const char *canon;     /* the server encoders' form of what was parsed */
};

#define EV_HEAD "'seq':58,'broadcastId':'" B "','ts':1,'userId':'u1'"

static const struct lenient_case lenient_cases[] = {
	{ "welcome, members reordered, unknown members, whitespace",
	  " {\n 'seq' : 5 , 'x' : { 'y' : [ 1 , null ] } , 'resync':'snapshot',"
	  "'type':'welcome','count':2,'epoch':'e','user':null,'connectionId':'c',"
	  "'z':null } \r\n",
	  COLLAB_PROTO_MSG_WELCOME,
	  "{'type':'welcome','connectionId':'c','user':null,'epoch':'e','seq':5,"
	  "'count':2,'resync':'snapshot'}" },
	{ "welcome, escaped strings, user with extras",
	  "{'type':'w\\u0065lcome','connectionId':'\\u0063\\/','user':{'avatar':1,"
	  "'moderator':true,'name':'\\u00c9mile','id':'u\\t1'},'epoch':'\\ud83d\\ude00',"
	  "'seq':-0,'count':0,'resync':'repl\\u0061y'}",
	  COLLAB_PROTO_MSG_WELCOME,
	  "{'type':'welcome','connectionId':'c/','user':{'id':'u\\t1','name':"
	  "'\xc3\x89mile','moderator':true},'epoch':'\xf0\x9f\x98\x80','seq':0,"
	  "'count':0,'resync':'replay'}" },
	{ "synced, extra member",
	  "{'type':'synced','seq':18446744073709551615,'epoch':'new'}",
	  COLLAB_PROTO_MSG_SYNCED, "{'type':'synced','seq':18446744073709551615}" },
	{ "user-count, extra member",
	  "{'count':7,'type':'user-count','users':['a']}",
	  COLLAB_PROTO_MSG_USER_COUNT, "{'type':'user-count','count':7}" },
	{ "error, extras, raw U+2028 in the message",
	  "{'type':'error','retryAfter':3,'message':'a\xe2\x80\xa8 b','code':'rate-limited',"
	  "'broadcastId':null}",
	  COLLAB_PROTO_MSG_ERROR,
	  "{'type':'error','broadcastId':null,'code':'rate-limited','message':'a\\u2028 b'}" },
	{ "error, escaped code",
	  "{'type':'error','broadcastId':'x','code':'not\\u002dfound','message':''}",
	  COLLAB_PROTO_MSG_ERROR,
	  "{'type':'error','broadcastId':'x','code':'not-found','message':''}" },
	{ "new-text-chat, anchor spaced and escaped, extras in chat and comment",
	  "{'type':'new-text-chat'," EV_HEAD ",'chat':{'extra':[1],'id':'" C "',"
	  "'anchor': { 'b' : [ 1 , 2.50 , -0 ] , 'c' : '\\u00e9\\/\\u0041', 'd':{ } },"
	  "'userId':'u1','userName':'Ann','createdAt':3,'resolved':false,"
	  "'comments':[{'id':'" M "','x':null,'userId':'u1','userName':'Ann',"
	  "'text':'t','createdAt':3}]},'comment':'ignored'}",
	  COLLAB_PROTO_MSG_EVENT,
	  "{'type':'new-text-chat'," EV_HEAD ",'chat':{'id':'" C "',"
	  "'anchor':{'b':[1,2.50,-0],'c':'\xc3\xa9/A','d':{}},'userId':'u1',"
	  "'userName':'Ann','createdAt':3,'resolved':false,'comments':[{'id':'" M "',"
	  "'userId':'u1','userName':'Ann','text':'t','createdAt':3}]}}" },
	{ "new-text-chat, anchor of raw U+2028 doubles in the scratch, last member",
	  "{'type':'new-text-chat'," EV_HEAD ",'chat':{'id':'" C "','userId':'u1',"
	  "'userName':'Ann','createdAt':3,'resolved':true,'comments':[],'anchor':{'\xe2\x80\xa8':"
	  "'\xe2\x80\xa8\xe2\x80\xa8\xe2\x80\xa8\xe2\x80\xa8\xe2\x80\xa8\xe2\x80\xa8'}}}",
	  COLLAB_PROTO_MSG_EVENT,
	  "{'type':'new-text-chat'," EV_HEAD ",'chat':{'id':'" C "',"
	  "'anchor':{'\\u2028':'\\u2028\\u2028\\u2028\\u2028\\u2028\\u2028'},"
	  "'userId':'u1','userName':'Ann','createdAt':3,'resolved':true,'comments':[]}}" },
	{ "add-comment, comment with extras, text and id escaped",
	  "{'type':'updated-text-chat','action':'add-comment','chatId':'" C "',"
	  EV_HEAD ",'comment':{'createdAt':9,'text':'a\\nb','userName':'Bo','userId':'u2',"
	  "'id':'\\u0035" "50e8400-e29b-41d4-a716-446655440000','edited':false}}",
	  COLLAB_PROTO_MSG_EVENT,
	  "{'type':'updated-text-chat'," EV_HEAD ",'chatId':'" C "','action':'add-comment',"
	  "'comment':{'id':'" M "','userId':'u2','userName':'Bo','text':'a\\nb','createdAt':9}}" },
	{ "edit-comment, text of escapes only",
	  "{'type':'updated-text-chat'," EV_HEAD ",'chatId':'" C "','action':'edit-comment',"
	  "'commentId':'" M "','text':'\\u0000\\u001f\\\"','comment':7}",
	  COLLAB_PROTO_MSG_EVENT,
	  "{'type':'updated-text-chat'," EV_HEAD ",'chatId':'" C "','action':'edit-comment',"
	  "'commentId':'" M "','text':'\\u0000\\u001f\\''}" },
	{ "delete-comment, a stray text is ignored",
	  "{'type':'updated-text-chat'," EV_HEAD ",'chatId':'" C "','action':'delete-comment',"
	  "'commentId':'" M "','text':5}",
	  COLLAB_PROTO_MSG_EVENT,
	  "{'type':'updated-text-chat'," EV_HEAD ",'chatId':'" C "','action':'delete-comment',"
	  "'commentId':'" M "'}" },
	{ "resolve false",
	  "{'type':'updated-text-chat'," EV_HEAD ",'chatId':'" C "','action':'resolve',"
	  "'resolved':false}",
	  COLLAB_PROTO_MSG_EVENT,
	  "{'type':'updated-text-chat'," EV_HEAD ",'chatId':'" C "','action':'resolve',"
	  "'resolved':false}" },
	{ "deleted-text-chat, extras",
	  "{'type':'deleted-text-chat'," EV_HEAD ",'chatId':'" C "','chat':null,'action':7}",
	  COLLAB_PROTO_MSG_EVENT,
	  "{'type':'deleted-text-chat'," EV_HEAD ",'chatId':'" C "'}" },
	{ "snapshot, extras, anchors spaced",
	  "{'type':'snapshot','seq':57,'reset':false,'total':2,'chats':["
	  "{'id':'a','anchor':{ 'k' : 'v' },'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':true,'comments':[],'x':1},"
	  "{'id':'b','anchor':{},'userId':'u','userName':'U','createdAt':2,"
	  "'resolved':false,'comments':[{'id':'c','userId':'u','userName':'U',"
	  "'text':'t','createdAt':2,'y':[]},{'id':'d','userId':'u','userName':'U',"
	  "'text':'\\u00e9','createdAt':3}]}]}",
	  COLLAB_PROTO_MSG_SNAPSHOT,
	  "{'type':'snapshot','seq':57,'reset':false,'chats':["
	  "{'id':'a','anchor':{'k':'v'},'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':true,'comments':[]},"
	  "{'id':'b','anchor':{},'userId':'u','userName':'U','createdAt':2,"
	  "'resolved':false,'comments':[{'id':'c','userId':'u','userName':'U',"
	  "'text':'t','createdAt':2},{'id':'d','userId':'u','userName':'U',"
	  "'text':'\xc3\xa9','createdAt':3}]}]}" },
	{ "batch of one event, with extras",
	  "{'events':[{'type':'deleted-text-chat'," EV_HEAD ",'chatId':'" C "','z':{}}],"
	  "'type':'batch','n':1}",
	  COLLAB_PROTO_MSG_BATCH,
	  "{'type':'batch','events':[{'type':'deleted-text-chat'," EV_HEAD ",'chatId':'" C "'}]}" },
	{ "batch of none",
	  "{'type':'batch','events':[]}",
	  COLLAB_PROTO_MSG_BATCH, "{'type':'batch','events':[]}" },
	{ "batch, event with a spaced anchor",
	  "{'type':'batch','events':[{'type':'new-text-chat'," EV_HEAD ",'chat':{'id':'" C "',"
	  "'anchor':{ 'q' : [ ] },'userId':'u1','userName':'Ann','createdAt':3,'resolved':false,"
	  "'comments':[]}},{'type':'updated-text-chat'," EV_HEAD ",'chatId':'" C "',"
	  "'action':'resolve','resolved':true}]}",
	  COLLAB_PROTO_MSG_BATCH,
	  "{'type':'batch','events':[{'type':'new-text-chat'," EV_HEAD ",'chat':{'id':'" C "',"
	  "'anchor':{'q':[]},'userId':'u1','userName':'Ann','createdAt':3,'resolved':false,"
	  "'comments':[]}},{'type':'updated-text-chat'," EV_HEAD ",'chatId':'" C "',"
	  "'action':'resolve','resolved':true}]}" },
};

START_TEST(test_lenient)
{
	const struct lenient_case *tc = &lenient_cases[_i];
	char *in = q(tc->json), *canon = q(tc->canon);
	size_t len = 0, len2 = 0;
	uint8_t *out, *out2;
	struct pm r, r2;

	pm_parse(&r, in, strlen(in));
	ck_assert_msg(r.rc == 0, "%s: rc %d (%s)", tc->name, r.rc, r.m.message);
	ck_assert_int_eq(r.m.type, tc->type);
	out = reencode(&r.m, &len);
	ck_assert_msg(len == strlen(canon) && memcmp(out, canon, len) == 0,
		      "%s:\n got %.*s\nwant %s", tc->name, (int)len, out, canon);
	/* the canonical form parses to the same and is a fixed point */
	pm_parse(&r2, out, len);
	ck_assert_int_eq(r2.rc, 0);
	out2 = reencode(&r2.m, &len2);
	ck_assert_uint_eq(len2, len);
	ck_assert(memcmp(out, out2, len) == 0);
	check_prefixes(in, strlen(in));
	free(out2);
	free(out);
	pm_free(&r2);
	pm_free(&r);
	free(in);
	free(canon);
}
END_TEST

/* Views into the input where a string had no escapes, into the scratch
 * where it had; the anchor always in the scratch. */
START_TEST(test_views)
{
	char *in = q("{'type':'new-text-chat','seq':1,'broadcastId':'plain','ts':2,"
		     "'userId':'u\\u0031','chat':{'id':'c','anchor':{'a':1},'userId':'u',"
		     "'userName':'\\u00c9','createdAt':3,'resolved':false,'comments':[]}}");
	struct pm r;
	const struct collab_proto_event_view *ev;
	const uint8_t *s;
	size_t sn;

	pm_parse(&r, in, strlen(in));
	ck_assert_int_eq(r.rc, 0);
	ev = &r.m.event;
	s = r.mem.scratch;
	sn = r.mem.scratch_cap;
	ck_assert(str_is(ev->broadcast_id, "plain", 5));
	ck_assert((const uint8_t *)ev->broadcast_id.p >= r.in.p &&
		  (const uint8_t *)ev->broadcast_id.p < r.in.p + strlen(in));
	ck_assert(str_is(ev->user_id, "u1", 2));
	ck_assert((const uint8_t *)ev->user_id.p >= s &&
		  (const uint8_t *)ev->user_id.p + 2 <= s + sn);
	ck_assert(str_is(ev->chat.user_name, "\xc3\x89", 2));
	ck_assert((const uint8_t *)ev->chat.user_name.p >= s);
	ck_assert(str_is(ev->chat.anchor, "{\"a\":1}", 7));
	ck_assert((const uint8_t *)ev->chat.anchor.p >= s &&
		  (const uint8_t *)ev->chat.anchor.p + 7 <= s + sn);
	ck_assert(str_is(ev->chat_id, "c", 1));
	ck_assert_ptr_eq(ev->chat_id.p, ev->chat.id.p);
	pm_free(&r);
	free(in);
}
END_TEST

/* Unknown types are accepted for the client to skip. */
START_TEST(test_unknown_type)
{
	static const struct { const char *json, *name; } cases[] = {
		{ "{'type':'presence','users':[1,2]}", "presence" },
		{ "{'type':''}", "" },
		{ "{'type':'x\\u0079','seq':'not a number'}", "xy" },
		{ "{'type':'Welcome'}", "Welcome" },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *in = q(cases[i].json);
		struct pm r;
		pm_parse(&r, in, strlen(in));
		ck_assert_int_eq(r.rc, 0);
		ck_assert_int_eq(r.m.type, COLLAB_PROTO_MSG_UNKNOWN);
		ck_assert(str_is(r.m.type_name, cases[i].name, strlen(cases[i].name)));
		ck_assert_uint_eq(r.m.first, END);
		ck_assert_uint_eq(r.m.event.chat.first_comment, END);
		pm_free(&r);
		free(in);
	}
}
END_TEST

/* ---- rejections -------------------------------------------------------- */

struct bad_case {
	const char *name;
	const char *json;
	const char *want;      /* in the message */
};

#define WEL_PRE "{'type':'welcome','connectionId':'c',"
#define WEL_USER "'user':{'id':'u','name':'n','moderator':false},"
#define WEL_TAIL "'epoch':'e','seq':1,'count':1,'resync':'replay'}"
#define CHAT_OK "{'id':'c','anchor':{},'userId':'u','userName':'U','createdAt':1,'resolved':false,'comments':[]}"
#define CM_OK "{'id':'m','userId':'u','userName':'U','text':'t','createdAt':1}"
#define SNAP_PRE "{'type':'snapshot','seq':1,'reset':true,"
#define NEW_PRE "{'type':'new-text-chat'," EV_HEAD ","
#define UPD_PRE "{'type':'updated-text-chat'," EV_HEAD ",'chatId':'c',"
#define DEL_OK "{'type':'deleted-text-chat'," EV_HEAD ",'chatId':'c'}"

static const struct bad_case bad_cases[] = {
	/* not a message at all */
	{ "empty", "", "not valid JSON" },
	{ "whitespace", "  ", "not valid JSON" },
	{ "not JSON", "{type:'synced'}", "not valid JSON" },
	{ "trailing garbage", "{'type':'synced','seq':1}x", "not valid JSON" },
	{ "duplicate member", "{'type':'synced','seq':1,'seq':2}", "not valid JSON" },
	{ "invalid UTF-8", "{'type':'synced','seq':1,'x':'\xc3'}", "not valid JSON" },
	{ "array", "[{'type':'synced','seq':1}]", "not a JSON object" },
	{ "string", "'synced'", "not a JSON object" },
	{ "number", "57", "not a JSON object" },
	{ "missing type", "{'seq':1}", "missing field: type" },
	{ "type null", "{'type':null,'seq':1}", "must be a string: type" },
	{ "type number", "{'type':5}", "must be a string: type" },
	{ "hello is a client message", "{'type':'hello'}", "not a server message: hello" },
	/* welcome */
	{ "welcome without connectionId",
	  "{'type':'welcome'," WEL_USER WEL_TAIL, "missing field: connectionId" },
	{ "welcome connectionId null",
	  "{'type':'welcome','connectionId':null," WEL_USER WEL_TAIL, "string: connectionId" },
	{ "welcome without user", WEL_PRE WEL_TAIL, "missing field: user" },
	{ "welcome user a string", WEL_PRE "'user':'u'," WEL_TAIL, "object or null: user" },
	{ "welcome user false", WEL_PRE "'user':false," WEL_TAIL, "object or null: user" },
	{ "welcome user without id",
	  WEL_PRE "'user':{'name':'n','moderator':false}," WEL_TAIL, "missing field: user.id" },
	{ "welcome user without name",
	  WEL_PRE "'user':{'id':'u','moderator':false}," WEL_TAIL, "missing field: user.name" },
	{ "welcome user name null",
	  WEL_PRE "'user':{'id':'u','name':null,'moderator':false}," WEL_TAIL, "string: user.name" },
	{ "welcome user without moderator",
	  WEL_PRE "'user':{'id':'u','name':'n'}," WEL_TAIL, "missing field: user.moderator" },
	{ "welcome moderator a string",
	  WEL_PRE "'user':{'id':'u','name':'n','moderator':'false'}," WEL_TAIL,
	  "boolean: user.moderator" },
	{ "welcome moderator 0",
	  WEL_PRE "'user':{'id':'u','name':'n','moderator':0}," WEL_TAIL, "boolean: user.moderator" },
	{ "welcome without epoch",
	  WEL_PRE WEL_USER "'seq':1,'count':1,'resync':'replay'}", "missing field: epoch" },
	{ "welcome epoch a number",
	  WEL_PRE WEL_USER "'epoch':1,'seq':1,'count':1,'resync':'replay'}", "string: epoch" },
	{ "welcome without seq",
	  WEL_PRE WEL_USER "'epoch':'e','count':1,'resync':'replay'}", "missing field: seq" },
	{ "welcome seq negative",
	  WEL_PRE WEL_USER "'epoch':'e','seq':-1,'count':1,'resync':'replay'}", "integer: seq" },
	{ "welcome seq 1.0",
	  WEL_PRE WEL_USER "'epoch':'e','seq':1.0,'count':1,'resync':'replay'}", "integer: seq" },
	{ "welcome seq 1e2",
	  WEL_PRE WEL_USER "'epoch':'e','seq':1e2,'count':1,'resync':'replay'}", "integer: seq" },
	{ "welcome seq a string",
	  WEL_PRE WEL_USER "'epoch':'e','seq':'1','count':1,'resync':'replay'}", "integer: seq" },
	{ "welcome seq past 2^64-1",
	  WEL_PRE WEL_USER "'epoch':'e','seq':18446744073709551616,'count':1,'resync':'replay'}",
	  "integer: seq" },
	{ "welcome without count",
	  WEL_PRE WEL_USER "'epoch':'e','seq':1,'resync':'replay'}", "missing field: count" },
	{ "welcome count null",
	  WEL_PRE WEL_USER "'epoch':'e','seq':1,'count':null,'resync':'replay'}", "integer: count" },
	{ "welcome without resync",
	  WEL_PRE WEL_USER "'epoch':'e','seq':1,'count':1}", "missing field: resync" },
	{ "welcome resync unknown",
	  WEL_PRE WEL_USER "'epoch':'e','seq':1,'count':1,'resync':'full'}", "unknown resync" },
	{ "welcome resync uppercase",
	  WEL_PRE WEL_USER "'epoch':'e','seq':1,'count':1,'resync':'REPLAY'}", "unknown resync" },
	{ "welcome resync true",
	  WEL_PRE WEL_USER "'epoch':'e','seq':1,'count':1,'resync':true}", "string: resync" },
	/* synced, user-count */
	{ "synced without seq", "{'type':'synced'}", "missing field: seq" },
	{ "synced seq a string", "{'type':'synced','seq':'57'}", "integer: seq" },
	{ "synced seq negative", "{'type':'synced','seq':-57}", "integer: seq" },
	{ "user-count without count", "{'type':'user-count'}", "missing field: count" },
	{ "user-count fractional", "{'type':'user-count','count':1.5}", "integer: count" },
	{ "user-count negative", "{'type':'user-count','count':-1}", "integer: count" },
	/* error */
	{ "error without broadcastId",
	  "{'type':'error','code':'invalid','message':'m'}", "missing field: broadcastId" },
	{ "error broadcastId a number",
	  "{'type':'error','broadcastId':1,'code':'invalid','message':'m'}",
	  "string or null: broadcastId" },
	{ "error without code",
	  "{'type':'error','broadcastId':null,'message':'m'}", "missing field: code" },
	{ "error code null",
	  "{'type':'error','broadcastId':null,'code':null,'message':'m'}", "string: code" },
	{ "error code unknown",
	  "{'type':'error','broadcastId':null,'code':'teapot','message':'m'}", "unknown error code" },
	{ "error code uppercase",
	  "{'type':'error','broadcastId':null,'code':'INVALID','message':'m'}", "unknown error code" },
	{ "error code empty",
	  "{'type':'error','broadcastId':null,'code':'','message':'m'}", "unknown error code" },
	{ "error without message",
	  "{'type':'error','broadcastId':null,'code':'invalid'}", "missing field: message" },
	{ "error message null",
	  "{'type':'error','broadcastId':null,'code':'invalid','message':null}", "string: message" },
	/* snapshot */
	{ "snapshot without seq", "{'type':'snapshot','reset':true,'chats':[]}", "missing field: seq" },
	{ "snapshot without reset", "{'type':'snapshot','seq':1,'chats':[]}", "missing field: reset" },
	{ "snapshot reset a string", "{'type':'snapshot','seq':1,'reset':'true','chats':[]}",
	  "boolean: reset" },
	{ "snapshot without chats", "{'type':'snapshot','seq':1,'reset':true}", "missing field: chats" },
	{ "snapshot chats an object", SNAP_PRE "'chats':{}}", "array: chats" },
	{ "snapshot chats null", SNAP_PRE "'chats':null}", "array: chats" },
	{ "snapshot chat not an object", SNAP_PRE "'chats':[" CHAT_OK ",[]]}", "chat must be an object" },
	{ "snapshot chat without id",
	  SNAP_PRE "'chats':[{'anchor':{},'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':false,'comments':[]}]}", "missing field: chats[].id" },
	{ "snapshot second chat without anchor",
	  SNAP_PRE "'chats':[" CHAT_OK ",{'id':'c','userId':'u','userName':'U','createdAt':1,"
	  "'resolved':false,'comments':[]}]}", "missing field: chats[].anchor" },
	{ "snapshot anchor an array",
	  SNAP_PRE "'chats':[{'id':'c','anchor':[],'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':false,'comments':[]}]}", "object: chats[].anchor" },
	{ "snapshot anchor a string",
	  SNAP_PRE "'chats':[{'id':'c','anchor':'{}','userId':'u','userName':'U','createdAt':1,"
	  "'resolved':false,'comments':[]}]}", "object: chats[].anchor" },
	{ "snapshot chat userId number",
	  SNAP_PRE "'chats':[{'id':'c','anchor':{},'userId':1,'userName':'U','createdAt':1,"
	  "'resolved':false,'comments':[]}]}", "string: chats[].userId" },
	{ "snapshot chat without userName",
	  SNAP_PRE "'chats':[{'id':'c','anchor':{},'userId':'u','createdAt':1,"
	  "'resolved':false,'comments':[]}]}", "missing field: chats[].userName" },
	{ "snapshot chat createdAt negative",
	  SNAP_PRE "'chats':[{'id':'c','anchor':{},'userId':'u','userName':'U','createdAt':-1,"
	  "'resolved':false,'comments':[]}]}", "integer: chats[].createdAt" },
	{ "snapshot chat resolved null",
	  SNAP_PRE "'chats':[{'id':'c','anchor':{},'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':null,'comments':[]}]}", "boolean: chats[].resolved" },
	{ "snapshot chat without comments",
	  SNAP_PRE "'chats':[{'id':'c','anchor':{},'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':false}]}", "missing field: chats[].comments" },
	{ "snapshot chat comments an object",
	  SNAP_PRE "'chats':[{'id':'c','anchor':{},'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':false,'comments':{}}]}", "array: chats[].comments" },
	{ "snapshot comment not an object",
	  SNAP_PRE "'chats':[{'id':'c','anchor':{},'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':false,'comments':[" CM_OK ",'t']}]}", "comment must be an object" },
	{ "snapshot comment text a number, in the last chat",
	  SNAP_PRE "'chats':[" CHAT_OK "," CHAT_OK ",{'id':'c','anchor':{},'userId':'u',"
	  "'userName':'U','createdAt':1,'resolved':false,'comments':[" CM_OK ","
	  "{'id':'m','userId':'u','userName':'U','text':5,'createdAt':1}]}]}",
	  "string: chats[].comments[].text" },
	{ "snapshot comment without createdAt",
	  SNAP_PRE "'chats':[{'id':'c','anchor':{},'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':false,'comments':[{'id':'m','userId':'u','userName':'U','text':'t'}]}]}",
	  "missing field: chats[].comments[].createdAt" },
	{ "snapshot comment without id",
	  SNAP_PRE "'chats':[{'id':'c','anchor':{},'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':false,'comments':[{'userId':'u','userName':'U','text':'t','createdAt':1}]}]}",
	  "missing field: chats[].comments[].id" },
	/* events */
	{ "event without seq",
	  "{'type':'deleted-text-chat','broadcastId':'b','ts':1,'userId':'u','chatId':'c'}",
	  "missing field: seq" },
	{ "event seq a string",
	  "{'type':'deleted-text-chat','seq':'1','broadcastId':'b','ts':1,'userId':'u','chatId':'c'}",
	  "integer: seq" },
	{ "event without broadcastId",
	  "{'type':'deleted-text-chat','seq':1,'ts':1,'userId':'u','chatId':'c'}",
	  "missing field: broadcastId" },
	{ "event broadcastId null",
	  "{'type':'deleted-text-chat','seq':1,'broadcastId':null,'ts':1,'userId':'u','chatId':'c'}",
	  "string: broadcastId" },
	{ "event without ts",
	  "{'type':'deleted-text-chat','seq':1,'broadcastId':'b','userId':'u','chatId':'c'}",
	  "missing field: ts" },
	{ "event ts negative",
	  "{'type':'deleted-text-chat','seq':1,'broadcastId':'b','ts':-5,'userId':'u','chatId':'c'}",
	  "integer: ts" },
	{ "event without userId",
	  "{'type':'deleted-text-chat','seq':1,'broadcastId':'b','ts':1,'chatId':'c'}",
	  "missing field: userId" },
	{ "deleted-text-chat without chatId",
	  "{'type':'deleted-text-chat'," EV_HEAD "}", "missing field: chatId" },
	{ "deleted-text-chat chatId a number",
	  "{'type':'deleted-text-chat'," EV_HEAD ",'chatId':1}", "string: chatId" },
	{ "new-text-chat without chat", NEW_PRE "'chatId':'c'}", "missing field: chat" },
	{ "new-text-chat chat an array", NEW_PRE "'chat':[]}", "object: chat" },
	{ "new-text-chat chat without resolved",
	  NEW_PRE "'chat':{'id':'c','anchor':{},'userId':'u','userName':'U','createdAt':1,"
	  "'comments':[]}}", "missing field: chat.resolved" },
	{ "new-text-chat anchor null",
	  NEW_PRE "'chat':{'id':'c','anchor':null,'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':false,'comments':[]}}", "object: chat.anchor" },
	{ "new-text-chat comment bad",
	  NEW_PRE "'chat':{'id':'c','anchor':{},'userId':'u','userName':'U','createdAt':1,"
	  "'resolved':false,'comments':[{'id':'m','userId':'u','userName':null,'text':'t',"
	  "'createdAt':1}]}}", "string: chat.comments[].userName" },
	{ "updated-text-chat without chatId",
	  "{'type':'updated-text-chat'," EV_HEAD ",'action':'resolve','resolved':true}",
	  "missing field: chatId" },
	{ "updated-text-chat without action", UPD_PRE "'resolved':true}", "missing field: action" },
	{ "updated-text-chat action null", UPD_PRE "'action':null,'resolved':true}", "string: action" },
	{ "updated-text-chat action unknown", UPD_PRE "'action':'pin'}", "unknown action" },
	{ "updated-text-chat action a type", UPD_PRE "'action':'new-text-chat'}", "unknown action" },
	{ "add-comment without comment", UPD_PRE "'action':'add-comment'}", "missing field: comment" },
	{ "add-comment comment a string", UPD_PRE "'action':'add-comment','comment':'c'}",
	  "object: comment" },
	{ "add-comment comment without createdAt",
	  UPD_PRE "'action':'add-comment','comment':{'id':'m','userId':'u','userName':'U','text':'t'}}",
	  "missing field: comment.createdAt" },
	{ "add-comment comment without userId (the op's shape)",
	  UPD_PRE "'action':'add-comment','comment':{'id':'m','text':'t'}}",
	  "missing field: comment.userId" },
	{ "edit-comment without commentId", UPD_PRE "'action':'edit-comment','text':'t'}",
	  "missing field: commentId" },
	{ "edit-comment without text", UPD_PRE "'action':'edit-comment','commentId':'m'}",
	  "missing field: text" },
	{ "edit-comment text null", UPD_PRE "'action':'edit-comment','commentId':'m','text':null}",
	  "string: text" },
	{ "delete-comment without commentId", UPD_PRE "'action':'delete-comment'}",
	  "missing field: commentId" },
	{ "delete-comment commentId a number", UPD_PRE "'action':'delete-comment','commentId':1}",
	  "string: commentId" },
	{ "resolve without resolved", UPD_PRE "'action':'resolve'}", "missing field: resolved" },
	{ "resolve resolved 'yes'", UPD_PRE "'action':'resolve','resolved':'yes'}",
	  "boolean: resolved" },
	{ "resolve resolved 1", UPD_PRE "'action':'resolve','resolved':1}", "boolean: resolved" },
	/* batch */
	{ "batch without events", "{'type':'batch'}", "missing field: events" },
	{ "batch events an object", "{'type':'batch','events':{}}", "array: events" },
	{ "batch events null", "{'type':'batch','events':null}", "array: events" },
	{ "batch of a string", "{'type':'batch','events':['x']}", "event must be an object" },
	{ "batch of an array", "{'type':'batch','events':[" DEL_OK ",[]]}", "event must be an object" },
	{ "batch element without type",
	  "{'type':'batch','events':[{'seq':1}]}", "missing field: events[].type" },
	{ "batch element type null",
	  "{'type':'batch','events':[{'type':null}]}", "string: events[].type" },
	{ "batch nested",
	  "{'type':'batch','events':[" DEL_OK ",{'type':'batch','events':[" DEL_OK "]}]}",
	  "batch inside a batch" },
	{ "batch nested, empty",
	  "{'type':'batch','events':[{'type':'batch','events':[]}]}", "batch inside a batch" },
	{ "batch holding user-count",
	  "{'type':'batch','events':[" DEL_OK ",{'type':'user-count','count':3}]}",
	  "user-count inside a batch" },
	{ "batch holding welcome",
	  "{'type':'batch','events':[" WEL_PRE WEL_USER WEL_TAIL "]}", "not an event" },
	{ "batch holding synced", "{'type':'batch','events':[{'type':'synced','seq':1}]}",
	  "not an event" },
	{ "batch holding an error",
	  "{'type':'batch','events':[{'type':'error','broadcastId':null,'code':'invalid',"
	  "'message':'m'}]}", "not an event" },
	{ "batch holding a hello", "{'type':'batch','events':[{'type':'hello'}]}", "not an event" },
	{ "batch holding an unknown type", "{'type':'batch','events':[{'type':'presence'}]}",
	  "not an event" },
	{ "batch, second event without seq",
	  "{'type':'batch','events':[" DEL_OK ",{'type':'deleted-text-chat','broadcastId':'b',"
	  "'ts':1,'userId':'u','chatId':'c'}]}", "missing field: events[].seq" },
	{ "batch, event's chat with a bad comment",
	  "{'type':'batch','events':[" NEW_PRE "'chat':{'id':'c','anchor':{},'userId':'u',"
	  "'userName':'U','createdAt':1,'resolved':false,'comments':[" CM_OK ",{}]}}]}",
	  "missing field: events[].chat.comments[].id" },
	{ "batch, add-comment with a bad comment",
	  "{'type':'batch','events':[" UPD_PRE "'action':'add-comment','comment':{'id':'m',"
	  "'userId':'u','userName':'U','text':'t','createdAt':'1'}}]}",
	  "integer: events[].comment.createdAt" },
};

START_TEST(test_reject)
{
	const struct bad_case *tc = &bad_cases[_i];
	char *in = q(tc->json);
	struct pm r;

	pm_parse(&r, in, strlen(in));
	ck_assert_msg(r.rc == COLLAB_EPROTO, "%s: rc %d", tc->name, r.rc);
	check_rejected(&r, tc->want);
	pm_free(&r);
	free(in);
}
END_TEST

/* ---- limits, memory and arguments ------------------------------------ */

/* {"type":"snapshot",...,"chats":[{..,"anchor":<depth nested objects>,..}]} */
static char *deep_anchor_snapshot(size_t depth, size_t *len)
{
	static const char head[] = "{\"type\":\"snapshot\",\"seq\":1,\"reset\":true,"
		"\"chats\":[{\"id\":\"c\",\"anchor\":";
	static const char tail[] = ",\"userId\":\"u\",\"userName\":\"U\",\"createdAt\":1,"
		"\"resolved\":false,\"comments\":[]}]}";
	size_t n = sizeof head - 1 + 6 * depth + sizeof tail - 1;
	char *s = malloc(n + 1), *p = s;

	ck_assert_ptr_nonnull(s);
	memcpy(p, head, sizeof head - 1);
	p += sizeof head - 1;
	for (size_t i = 0; i < depth; i++) {
		memcpy(p, i + 1 < depth ? "{\"a\":" : "{}", i + 1 < depth ? 5 : 2);
		p += i + 1 < depth ? 5 : 2;
	}
	for (size_t i = 1; i < depth; i++)
		*p++ = '}';
	memcpy(p, tail, sizeof tail - 1);
	p += sizeof tail - 1;
	*p = '\0';
	*len = (size_t)(p - s);
	return s;
}

START_TEST(test_depth)
{
	struct collab_proto_client_config cfg;
	size_t len;
	char *s;
	struct pm r;

	collab_proto_client_config_init(&cfg);
	ck_assert_uint_eq(cfg.json.max_depth, COLLAB_PROTO_CLIENT_DEFAULT_MAX_DEPTH);
	ck_assert_uint_eq(cfg.json.max_input, COLLAB_PROTO_CLIENT_DEFAULT_MAX_MESSAGE);
	ck_assert_uint_eq(COLLAB_PROTO_CLIENT_DEFAULT_MAX_MESSAGE, 8u * 1024 * 1024);

	/* an anchor as deep as the writer re-encodes: accepted */
	s = deep_anchor_snapshot(COLLAB_JSON_WRITER_STACK, &len);
	pm_parse(&r, s, len);
	ck_assert_int_eq(r.rc, 0);
	{
		struct collab_proto_chat_view v;
		ck_assert_int_eq(collab_proto_msg_chat(&r.m, r.m.first, &v), 0);
		ck_assert_uint_eq(v.anchor.len, 5 * (COLLAB_JSON_WRITER_STACK - 1) + 2 +
				  COLLAB_JSON_WRITER_STACK - 1);
	}
	pm_free(&r);
	free(s);

	/* one deeper: within the reader's limit, refused as an anchor */
	s = deep_anchor_snapshot(COLLAB_JSON_WRITER_STACK + 1, &len);
	pm_parse(&r, s, len);
	check_rejected(&r, "anchor nested too deeply: chats[].anchor");
	pm_free(&r);
	/* with the reader's depth lowered: over the reader's limits */
	cfg.json.max_depth = 10;
	pm_parse_cfg(&r, &cfg, s, len);
	check_rejected(&r, "over the reader's limits");
	pm_free(&r);
	free(s);

	/* the nesting a batched event's anchor needs fits the default */
	s = q("{'type':'batch','events':[{'type':'new-text-chat','seq':1,'broadcastId':'b',"
	      "'ts':1,'userId':'u','chat':{'id':'c','anchor':{'a':{'b':[[{}]]}},'userId':'u',"
	      "'userName':'U','createdAt':1,'resolved':false,'comments':[]}}]}");
	cfg.json.max_depth = 9;
	pm_parse_cfg(&r, &cfg, s, strlen(s));
	ck_assert_int_eq(r.rc, 0);
	pm_free(&r);
	cfg.json.max_depth = 8;
	pm_parse_cfg(&r, &cfg, s, strlen(s));
	check_rejected(&r, "over the reader's limits");
	pm_free(&r);
	free(s);
}
END_TEST

START_TEST(test_args)
{
	static const char in[] = "{\"type\":\"synced\",\"seq\":1}";
	const size_t len = sizeof in - 1;
	struct collab_json_node nodes[64];
	uint8_t scratch[128];
	struct collab_proto_mem mem = { nodes, COLLAB_JSON_NODES_FOR(len),
					scratch, 2 * len };
	struct collab_proto_client_config cfg;
	struct collab_proto_server_msg m;
	const uint8_t *p = (const uint8_t *)in;

	ck_assert_uint_eq(collab_proto_client_scratch_size(0), 0);
	ck_assert_uint_eq(collab_proto_client_scratch_size(10), 20);
	ck_assert_uint_eq(collab_proto_client_scratch_size(SIZE_MAX / 2), SIZE_MAX - 1);
	ck_assert_uint_eq(collab_proto_client_scratch_size(SIZE_MAX / 2 + 1), SIZE_MAX);
	ck_assert_uint_eq(collab_proto_client_scratch_size(SIZE_MAX), SIZE_MAX);

	ck_assert_int_eq(collab_proto_parse_server(NULL, &mem, p, len, &m), 0);
	ck_assert_int_eq(m.type, COLLAB_PROTO_MSG_SYNCED);
	ck_assert_int_eq(collab_proto_parse_server(NULL, &mem, p, len, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_parse_server(NULL, NULL, p, len, &m), COLLAB_EINVAL);
	ck_assert_int_eq(m.type, COLLAB_PROTO_MSG_NONE);
	ck_assert_int_eq(collab_proto_parse_server(NULL, &mem, NULL, len, &m), COLLAB_EINVAL);
	/* one node or one scratch byte short: the caller's fault */
	mem.max_nodes--;
	ck_assert_int_eq(collab_proto_parse_server(NULL, &mem, p, len, &m), COLLAB_ESPACE);
	mem.max_nodes++;
	mem.scratch_cap--;
	ck_assert_int_eq(collab_proto_parse_server(NULL, &mem, p, len, &m), COLLAB_ESPACE);
	mem.scratch_cap++;
	mem.nodes = NULL;
	ck_assert_int_eq(collab_proto_parse_server(NULL, &mem, p, len, &m), COLLAB_EINVAL);
	mem.nodes = nodes;
	mem.scratch = NULL;
	ck_assert_int_eq(collab_proto_parse_server(NULL, &mem, p, len, &m), COLLAB_EINVAL);
	mem.scratch = scratch;
	/* p NULL with len 0: empty input, not JSON */
	ck_assert_int_eq(collab_proto_parse_server(NULL, &mem, NULL, 0, &m), COLLAB_EPROTO);
	ck_assert(strstr(m.message, "not valid JSON") != NULL);
	/* config */
	collab_proto_client_config_init(&cfg);
	cfg.json.max_input = COLLAB_JSON_MAX_INPUT_CAP + 1;
	ck_assert_int_eq(collab_proto_parse_server(&cfg, &mem, p, len, &m), COLLAB_EINVAL);
	cfg.json.max_input = len;
	ck_assert_int_eq(collab_proto_parse_server(&cfg, &mem, p, len, &m), 0);
	cfg.json.max_input = len - 1;
	ck_assert_int_eq(collab_proto_parse_server(&cfg, &mem, p, len, &m), COLLAB_EPROTO);
	ck_assert(strstr(m.message, "over the reader's limits") != NULL);
	cfg.json.max_depth = 0;
	cfg.json.max_input = len;
	ck_assert_int_eq(collab_proto_parse_server(&cfg, &mem, p, len, &m), COLLAB_EPROTO);
	ck_assert(strstr(m.message, "over the reader's limits") != NULL);
	cfg.json.max_depth = 1;
	ck_assert_int_eq(collab_proto_parse_server(&cfg, &mem, p, len, &m), 0);
	/* more memory than needed is fine */
	mem.max_nodes = ARRAY_LEN(nodes);
	mem.scratch_cap = sizeof scratch;
	ck_assert_int_eq(collab_proto_parse_server(NULL, &mem, p, len, &m), 0);
	ck_assert_uint_eq(m.seq, 1);
}
END_TEST

/* Positions that do not hold what is asked for; NULL arguments; a
 * rejected message. */
START_TEST(test_iter_misuse)
{
	char *in = q("{'type':'snapshot','seq':1,'reset':true,'chats':[" CHAT_OK ","
		     "{'id':'c2','anchor':{'x':1},'userId':'u','userName':'U','createdAt':1,"
		     "'resolved':false,'comments':[" CM_OK "]}]}");
	struct pm r, bad;
	struct collab_proto_chat_view ch, ch2;
	struct collab_proto_comment cm;
	struct collab_proto_event_view ev;
	uint32_t second;

	pm_parse(&r, in, strlen(in));
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.m.n_items, 2);
	second = collab_proto_msg_next(&r.m, r.m.first);
	ck_assert_uint_ne(second, END);
	ck_assert_uint_eq(collab_proto_msg_next(&r.m, second), END);
	ck_assert_uint_eq(collab_proto_msg_next(&r.m, END), END);
	ck_assert_uint_eq(collab_proto_msg_next(NULL, r.m.first), END);
	ck_assert_int_eq(collab_proto_msg_chat(&r.m, second, &ch), 0);
	ck_assert(str_is(ch.id, "c2", 2));
	ck_assert(str_is(ch.anchor, "{\"x\":1}", 7));
	ck_assert_uint_eq(ch.n_comments, 1);
	/* the first chat again: its views and the second's coexist */
	ck_assert_int_eq(collab_proto_msg_chat(&r.m, r.m.first, &ch2), 0);
	ck_assert(str_is(ch2.anchor, "{}", 2));
	ck_assert(str_is(ch.anchor, "{\"x\":1}", 7));
	ck_assert_uint_eq(ch2.first_comment, END);

	/* wrong kinds of positions */
	ck_assert_int_eq(collab_proto_msg_chat(&r.m, 0, &ch2), COLLAB_EINVAL);
	ck_assert_ptr_null(ch2.id.p);
	ck_assert_uint_eq(ch2.first_comment, END);
	ck_assert_int_eq(collab_proto_msg_chat(&r.m, END, &ch2), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_msg_chat(&r.m, r.m.doc.n_nodes, &ch2), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_msg_chat(&r.m, ch.first_comment, &ch2), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_msg_comment(&r.m, r.m.first, &cm), COLLAB_EINVAL);
	ck_assert_ptr_null(cm.id.p);
	ck_assert_int_eq(collab_proto_msg_comment(&r.m, ch.first_comment, &cm), 0);
	ck_assert(str_is(cm.text, "t", 1));
	ck_assert_int_eq(collab_proto_msg_event(&r.m, r.m.first, &ev), COLLAB_EINVAL);
	ck_assert_uint_eq(ev.chat.first_comment, END);
	ck_assert_int_eq(collab_proto_msg_event(&r.m, 0, &ev), COLLAB_EINVAL);
	/* NULLs */
	ck_assert_int_eq(collab_proto_msg_chat(NULL, r.m.first, &ch2), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_msg_chat(&r.m, r.m.first, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_msg_event(NULL, r.m.first, &ev), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_msg_event(&r.m, r.m.first, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_msg_comment(NULL, ch.first_comment, &cm), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_msg_comment(&r.m, ch.first_comment, NULL), COLLAB_EINVAL);

	/* a rejected message has nothing to iterate */
	pm_parse(&bad, "{\"type\":\"snapshot\"}", 19);
	ck_assert_int_eq(bad.rc, COLLAB_EPROTO);
	ck_assert_int_eq(collab_proto_msg_chat(&bad.m, 0, &ch2), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_msg_chat(&bad.m, bad.m.first, &ch2), COLLAB_EINVAL);
	pm_free(&bad);
	pm_free(&r);
	free(in);
}
END_TEST

/*
 * PROTOCOL.md 5: clients accept server messages of at least 8 MiB. A
 * snapshot of exactly 8 MiB (made by the server's snapshot builder, with
 * its limit raised) parses with the defaults and the memory proto.h names;
 * one byte more is over the default limit and parses once it is raised.
 */
static uint8_t *big_snapshot(size_t want, size_t *len, size_t *n_chats)
{
	static const size_t per_text = 3000;
	struct collab_proto_config cfg;
	struct collab_proto_snapshot s;
	uint8_t *out = malloc(want + 1);
	char *text = malloc(per_text + want);
	struct collab_proto_comment cm[2] = {
		{ SV(M), SV("u1"), SV("Ann"), { NULL, 0 }, 1 },
		{ SV(M2), SV("u2"), SV("B\xc3\xb6"), { NULL, 0 }, 2 },
	};
	struct collab_proto_chat chat = {
		.id = SV(C), .anchor = SV("{\"quote\":\"x\"}"),
		.user_id = SV("u1"), .user_name = SV("Ann"),
		.created_at = 5, .comments = cm, .n_comments = 2,
	};
	size_t one = 0, empty = 0, n, last;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(text);
	memset(text, 'x', per_text + want);
	cm[0].text.p = text;
	cm[0].text.len = per_text;
	cm[1].text.p = text;
	cm[1].text.len = 1;
	collab_proto_config_init(&cfg);
	cfg.max_snapshot = SIZE_MAX;
	/* sizes: the empty message, one chat */
	ck_assert_int_eq(collab_proto_snapshot_begin(&s, &cfg, 9, true, out, want), 0);
	ck_assert_int_eq(collab_proto_snapshot_finish(&s, &empty), 0);
	ck_assert_int_eq(collab_proto_encode_chat(&chat, out, want, &one), 0);
	/* n chats and commas, the last one's text padded to fill exactly */
	n = (want - empty) / (one + 1);
	last = want - empty - n * (one + 1) + 1;   /* +1: no comma before the first */
	ck_assert_int_eq(collab_proto_snapshot_begin(&s, &cfg, 9, true, out, want), 0);
	for (size_t i = 0; i + 1 < n; i++)
		ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat), 0);
	cm[1].text.len = 1 + last;
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat), 0);
	ck_assert_int_eq(collab_proto_snapshot_finish(&s, len), 0);
	ck_assert_uint_eq(*len, want);
	*n_chats = n;
	free(text);
	return out;
}

START_TEST(test_large)
{
	const size_t big = COLLAB_PROTO_CLIENT_DEFAULT_MAX_MESSAGE;
	struct collab_proto_client_config cfg;
	size_t len = 0, n = 0, i = 0, bytes = 0;
	uint8_t *msg = big_snapshot(big, &len, &n);
	struct pm r;

	pm_parse(&r, msg, len);
	ck_assert_msg(r.rc == 0, "rc %d %s", r.rc, r.m.message);
	ck_assert_int_eq(r.m.type, COLLAB_PROTO_MSG_SNAPSHOT);
	ck_assert_uint_eq(r.m.n_items, n);
	for (uint32_t it = r.m.first; it != END; it = collab_proto_msg_next(&r.m, it), i++) {
		struct collab_proto_chat_view v;
		ck_assert_int_eq(collab_proto_msg_chat(&r.m, it, &v), 0);
		ck_assert_uint_eq(v.n_comments, 2);
		for (uint32_t c = v.first_comment; c != END; c = collab_proto_msg_next(&r.m, c)) {
			struct collab_proto_comment cm;
			ck_assert_int_eq(collab_proto_msg_comment(&r.m, c, &cm), 0);
			bytes += cm.text.len;
		}
	}
	ck_assert_uint_eq(i, n);
	ck_assert_uint_gt(bytes, big / 2);
	pm_free(&r);
	free(msg);

	/* one byte more: over the default limit, fine with it raised */
	msg = big_snapshot(big + 1, &len, &n);
	pm_parse(&r, msg, len);
	check_rejected(&r, "over the reader's limits");
	pm_free(&r);
	collab_proto_client_config_init(&cfg);
	cfg.json.max_input = 2 * big;
	pm_parse_cfg(&r, &cfg, msg, len);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.m.n_items, n);
	pm_free(&r);
	free(msg);
}
END_TEST

/* ---- client encoders --------------------------------------------------- */

struct hello_case {
	const char *name;
	struct collab_proto_hello h;
	const char *want;      /* ' for " */
};

static const struct hello_case hello_cases[] = {
	{ "anonymous", { .has_token = false }, "{'type':'hello'}" },
	{ "token", { .has_token = true, .token = SV("a.b.c") },
	  "{'type':'hello','token':'a.b.c'}" },
	{ "empty token", { .has_token = true, .token = SV("") },
	  "{'type':'hello','token':''}" },
	{ "resume", { .has_token = true, .token = SV("t"), .has_since = true,
		      .since = 41, .epoch = SV("ep-1") },
	  "{'type':'hello','token':'t','since':41,'epoch':'ep-1'}" },
	{ "resume anonymous from 0", { .has_since = true, .since = 0, .epoch = SV("") },
	  "{'type':'hello','since':0,'epoch':''}" },
	{ "largest since, escapes",
	  { .has_token = true, .token = SV("q\"\\\n"), .has_since = true,
	    .since = 9223372036854775807ull, .epoch = SV("\xe2\x80\xa8\xc3\xa9") },
	  "{'type':'hello','token':'q\\'\\\\\\n','since':9223372036854775807,"
	  "'epoch':'\\u2028\xc3\xa9'}" },
	{ "epoch without since is not written",
	  { .has_token = false, .has_since = false, .since = 5, .epoch = SV("e") },
	  "{'type':'hello'}" },
};

/* Every buffer size below what the encoder needs: COLLAB_ESPACE, nothing
 * written past the buffer; the exact size: the same bytes. */
static void check_sizes(int (*enc)(const void *, uint8_t *, size_t, size_t *),
			const void *arg, const uint8_t *want, size_t want_len)
{
	for (size_t cap = 0; cap <= want_len; cap++) {
		struct guard_buf g = guard_alloc(cap);
		size_t l2 = 12345;
		int rc = enc(arg, cap ? g.p : NULL, cap, &l2);
		if (cap < want_len) {
			ck_assert_int_eq(rc, COLLAB_ESPACE);
			ck_assert_uint_eq(l2, 12345);
		} else {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(l2, want_len);
			ck_assert(memcmp(g.p, want, want_len) == 0);
		}
		guard_free(&g);
	}
}

static int enc_hello(const void *a, uint8_t *out, size_t cap, size_t *len)
{
	return collab_proto_encode_hello(a, out, cap, len);
}

static int enc_op(const void *a, uint8_t *out, size_t cap, size_t *len)
{
	return collab_proto_encode_op(a, out, cap, len);
}

/* Parses in[0..len) with the server's parser (the memory it names). */
struct sp {
	struct collab_json_node *nodes;
	uint8_t *scratch;
	struct collab_proto_mem mem;
};

static void sp_init(struct sp *s, size_t len)
{
	size_t nn = COLLAB_JSON_NODES_FOR(len), sn = collab_proto_scratch_size(NULL, len);

	s->nodes = calloc(nn, sizeof *s->nodes);
	s->scratch = malloc(sn);
	ck_assert_ptr_nonnull(s->nodes);
	ck_assert_ptr_nonnull(s->scratch);
	s->mem = (struct collab_proto_mem){ s->nodes, nn, s->scratch, sn };
}

static void sp_free(struct sp *s)
{
	free(s->nodes);
	free(s->scratch);
}

START_TEST(test_encode_hello)
{
	const struct hello_case *tc = &hello_cases[_i];
	char *want = q(tc->want);
	uint8_t out[512];
	size_t len = 0;
	struct collab_proto_hello h;
	struct sp s;

	ck_assert_int_eq(collab_proto_encode_hello(&tc->h, out, sizeof out, &len), 0);
	ck_assert_msg(len == strlen(want) && memcmp(out, want, len) == 0,
		      "%s:\n got %.*s\nwant %s", tc->name, (int)len, out, want);
	check_sizes(enc_hello, &tc->h, out, len);
	/* the server reads back what was meant */
	sp_init(&s, len);
	ck_assert_int_eq(collab_proto_parse_hello(NULL, &s.mem, out, len, &h), 0);
	ck_assert(h.has_token == tc->h.has_token);
	if (tc->h.has_token)
		eq_str(h.token, tc->h.token, "token");
	ck_assert(h.has_since == tc->h.has_since);
	if (tc->h.has_since) {
		ck_assert_uint_eq(h.since, tc->h.since);
		eq_str(h.epoch, tc->h.epoch, "epoch");
	}
	/* and the client writes the same again from that */
	{
		uint8_t out2[512];
		size_t len2 = 0;
		ck_assert_int_eq(collab_proto_encode_hello(&h, out2, sizeof out2, &len2), 0);
		ck_assert_uint_eq(len2, len);
		ck_assert(memcmp(out, out2, len) == 0);
	}
	sp_free(&s);
	free(want);
}
END_TEST

START_TEST(test_encode_hello_errors)
{
	uint8_t out[256];
	size_t len = 0;
	struct collab_proto_hello h = { .has_since = true, .since = 9223372036854775808ull,
					.epoch = SV("e") };

	ck_assert_int_eq(collab_proto_encode_hello(&h, out, sizeof out, &len), COLLAB_EINVAL);
	h.since = 18446744073709551615ull;
	ck_assert_int_eq(collab_proto_encode_hello(&h, out, sizeof out, &len), COLLAB_EINVAL);
	h.since = 1;
	ck_assert_int_eq(collab_proto_encode_hello(&h, out, sizeof out, &len), 0);
	ck_assert_int_eq(collab_proto_encode_hello(NULL, out, sizeof out, &len), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_hello(&h, out, sizeof out, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_hello(&h, NULL, 4, &len), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_hello(&h, NULL, 0, &len), COLLAB_ESPACE);
	h.epoch = (struct collab_str){ "\xff", 1 };
	ck_assert_int_eq(collab_proto_encode_hello(&h, out, sizeof out, &len), COLLAB_EUTF8);
	h.has_since = false;
	h.has_token = true;
	h.token = (struct collab_str){ "\xc3", 1 };
	ck_assert_int_eq(collab_proto_encode_hello(&h, out, sizeof out, &len), COLLAB_EUTF8);
	h.token = (struct collab_str){ NULL, 3 };
	ck_assert_int_eq(collab_proto_encode_hello(&h, out, sizeof out, &len), COLLAB_EINVAL);
}
END_TEST

struct op_enc_case {
	const char *name;
	struct collab_proto_client_op op;
	const char *want;       /* ' for " */
	const char *anchor;     /* what the server stores, NULL: no anchor */
};

#define NTC COLLAB_PROTO_TYPE_NEW_TEXT_CHAT
#define UTC COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT
#define DTC COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT

static const struct op_enc_case op_enc_cases[] = {
	{ "new-text-chat",
	  { NTC, COLLAB_PROTO_ACTION_NONE, SV(B), SV(C), SV(M), SV("first comment"),
	    SV("{}"), false },
	  "{'type':'new-text-chat','broadcastId':'" B "','chat':{'id':'" C "','anchor':{},"
	  "'comment':{'id':'" M "','text':'first comment'}}}", "{}" },
	{ "new-text-chat, anchor and escapes",
	  { NTC, COLLAB_PROTO_ACTION_NONE, SV(B), SV(C), SV(M), SV("l\xc3\xa9n\"\n\x01"),
	    SV("{\"quote\":\"x\\u2028\",\"o\":[1,2.50]}"), false },
	  "{'type':'new-text-chat','broadcastId':'" B "','chat':{'id':'" C "',"
	  "'anchor':{'quote':'x\\u2028','o':[1,2.50]},'comment':{'id':'" M "',"
	  "'text':'l\xc3\xa9n\\'\\n\\u0001'}}}",
	  "{\"quote\":\"x\\u2028\",\"o\":[1,2.50]}" },
	{ "new-text-chat, anchor not canonical: copied, the server canonicalises",
	  { NTC, COLLAB_PROTO_ACTION_NONE, SV(B), SV(C), SV(M), SV("t"),
	    SV("{ \"a\" : \"\\u0041\" }"), false },
	  "{'type':'new-text-chat','broadcastId':'" B "','chat':{'id':'" C "',"
	  "'anchor':{ 'a' : '\\u0041' },'comment':{'id':'" M "','text':'t'}}}",
	  "{\"a\":\"A\"}" },
	{ "add-comment",
	  { UTC, COLLAB_PROTO_ACTION_ADD_COMMENT, SV(B), SV(C), SV(M2), SV("..."),
	    SV("ignored"), true },
	  "{'type':'updated-text-chat','broadcastId':'" B "','chatId':'" C "',"
	  "'action':'add-comment','comment':{'id':'" M2 "','text':'...'}}", NULL },
	{ "edit-comment",
	  { UTC, COLLAB_PROTO_ACTION_EDIT_COMMENT, SV(B), SV(C), SV(M), SV("new \\ text"),
	    { NULL, 0 }, false },
	  "{'type':'updated-text-chat','broadcastId':'" B "','chatId':'" C "',"
	  "'action':'edit-comment','commentId':'" M "','text':'new \\\\ text'}", NULL },
	{ "delete-comment",
	  { UTC, COLLAB_PROTO_ACTION_DELETE_COMMENT, SV(B), SV(C), SV(M), { NULL, 0 },
	    { NULL, 0 }, false },
	  "{'type':'updated-text-chat','broadcastId':'" B "','chatId':'" C "',"
	  "'action':'delete-comment','commentId':'" M "'}", NULL },
	{ "resolve",
	  { UTC, COLLAB_PROTO_ACTION_RESOLVE, SV(B), SV(C), { NULL, 0 }, { NULL, 0 },
	    { NULL, 0 }, true },
	  "{'type':'updated-text-chat','broadcastId':'" B "','chatId':'" C "',"
	  "'action':'resolve','resolved':true}", NULL },
	{ "unresolve",
	  { UTC, COLLAB_PROTO_ACTION_RESOLVE, SV(B), SV(C), SV("junk"), SV("junk"),
	    { NULL, 0 }, false },
	  "{'type':'updated-text-chat','broadcastId':'" B "','chatId':'" C "',"
	  "'action':'resolve','resolved':false}", NULL },
	{ "deleted-text-chat",
	  { DTC, COLLAB_PROTO_ACTION_NONE, SV(B), SV(C), SV("junk"), SV(""),
	    { NULL, 0 }, true },
	  "{'type':'deleted-text-chat','broadcastId':'" B "','chatId':'" C "'}", NULL },
};

START_TEST(test_encode_op)
{
	const struct op_enc_case *tc = &op_enc_cases[_i];
	const struct collab_proto_client_op *o = &tc->op;
	char *want = q(tc->want);
	uint8_t out[1024];
	size_t len = 0;
	struct collab_proto_op op;
	struct sp s;

	ck_assert_int_eq(collab_proto_encode_op(o, out, sizeof out, &len), 0);
	ck_assert_msg(len == strlen(want) && memcmp(out, want, len) == 0,
		      "%s:\n got %.*s\nwant %s", tc->name, (int)len, out, want);
	check_sizes(enc_op, o, out, len);
	/* the server reads back what was meant */
	sp_init(&s, len);
	ck_assert_int_eq(collab_proto_parse_op(NULL, &s.mem, out, len, &op), 0);
	ck_assert_int_eq(op.type, o->type);
	ck_assert_int_eq(op.action, o->action);
	ck_assert(op.has_broadcast_id);
	eq_str(collab_proto_id_str(&op.broadcast_id), o->broadcast_id, "broadcastId");
	eq_str(collab_proto_id_str(&op.chat_id), o->chat_id, "chatId");
	switch (o->type == NTC ? COLLAB_PROTO_ACTION_ADD_COMMENT : o->action) {
	case COLLAB_PROTO_ACTION_ADD_COMMENT:
	case COLLAB_PROTO_ACTION_EDIT_COMMENT:
		eq_str(collab_proto_id_str(&op.comment_id), o->comment_id, "commentId");
		eq_str(op.text, o->text, "text");
		break;
	case COLLAB_PROTO_ACTION_DELETE_COMMENT:
		eq_str(collab_proto_id_str(&op.comment_id), o->comment_id, "commentId");
		break;
	case COLLAB_PROTO_ACTION_RESOLVE:
		ck_assert(op.resolved == o->resolved);
		break;
	case COLLAB_PROTO_ACTION_NONE:
		ck_assert_ptr_null(op.text.p);
		break;
	}
	if (tc->anchor != NULL)
		ck_assert(str_is(op.anchor, tc->anchor, strlen(tc->anchor)));
	else
		ck_assert_ptr_null(op.anchor.p);
	sp_free(&s);
	free(want);
}
END_TEST

START_TEST(test_encode_op_errors)
{
	const struct collab_proto_client_op good[] = {
		op_enc_cases[0].op, op_enc_cases[3].op, op_enc_cases[4].op,
		op_enc_cases[5].op, op_enc_cases[6].op, op_enc_cases[8].op,
	};
	static const struct collab_str bad_ids[] = {
		SV("0F8FAD5B-D9CB-469F-A165-70867728950E"),
		SV("0f8fad5b-d9cb-469f-a165-70867728950E"),
		SV("0f8fad5b-d9cb-469f-a165-70867728950"),
		SV("0f8fad5b-d9cb-469f-a165-70867728950e0"),
		SV("0f8fad5bd9cb-469f-a165-70867728950e0"),
		SV("{0f8fad5b-d9cb-469f-a165-70867728950}"),
		SV("0f8fad5b-d9cb-469f-a165-70867728950g"),
		SV(""),
		{ NULL, 0 },
	};
	uint8_t out[1024];
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		struct collab_proto_client_op o = good[i];
		bool has_comment = o.type == NTC ||
			(o.type == UTC && o.action != COLLAB_PROTO_ACTION_RESOLVE);
		bool has_text = o.type == NTC || o.action == COLLAB_PROTO_ACTION_ADD_COMMENT ||
			o.action == COLLAB_PROTO_ACTION_EDIT_COMMENT;
		ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len), 0);
		for (size_t k = 0; k < ARRAY_LEN(bad_ids); k++) {
			o = good[i];
			o.broadcast_id = bad_ids[k];
			ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len),
					 COLLAB_EINVAL);
			o = good[i];
			o.chat_id = bad_ids[k];
			ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len),
					 COLLAB_EINVAL);
			o = good[i];
			o.comment_id = bad_ids[k];
			ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len),
					 has_comment ? COLLAB_EINVAL : 0);
		}
		o = good[i];
		o.text = (struct collab_str){ "", 0 };
		ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len),
				 has_text ? COLLAB_EINVAL : 0);
		o.text = (struct collab_str){ "\xed\xa0\x80", 3 };   /* a surrogate */
		ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len),
				 has_text ? COLLAB_EUTF8 : 0);
		o = good[i];
		o.type = COLLAB_PROTO_TYPE_HELLO;
		ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len), COLLAB_EINVAL);
		o.type = COLLAB_PROTO_TYPE_NONE;
		ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len), COLLAB_EINVAL);
		o.type = (enum collab_proto_type)42;
		ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len), COLLAB_EINVAL);
		o = good[i];
		o.action = o.type == UTC ? COLLAB_PROTO_ACTION_NONE : COLLAB_PROTO_ACTION_RESOLVE;
		ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len), COLLAB_EINVAL);
		o.action = (enum collab_proto_action)42;
		ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len), COLLAB_EINVAL);
		o = good[i];
		ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, NULL), COLLAB_EINVAL);
		ck_assert_int_eq(collab_proto_encode_op(&o, NULL, 8, &len), COLLAB_EINVAL);
		ck_assert_int_eq(collab_proto_encode_op(&o, NULL, 0, &len), COLLAB_ESPACE);
	}
	ck_assert_int_eq(collab_proto_encode_op(NULL, out, sizeof out, &len), COLLAB_EINVAL);

	/* anchors: only an object's outer shape is checked */
	{
		static const struct collab_str bad_anchors[] = {
			SV("[]"), SV("{"), SV("}"), SV("{]"), SV("\"{}\""), SV("null"),
			SV(" {}"), SV("{} "), SV(""), { NULL, 0 }, { NULL, 2 },
		};
		struct collab_proto_client_op o = good[0];
		for (size_t k = 0; k < ARRAY_LEN(bad_anchors); k++) {
			o.anchor = bad_anchors[k];
			ck_assert_int_eq(collab_proto_encode_op(&o, out, sizeof out, &len),
					 COLLAB_EINVAL);
		}
	}
}
END_TEST

/* ---- suite ----------------------------------------------------------- */

static Suite *proto_client_suite(void)
{
	Suite *s = suite_create("proto_client");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_server_roundtrip, 0, (int)ARRAY_LEN(srv_cases));
	tcase_add_loop_test(tc, test_server_prefixes, 0, (int)ARRAY_LEN(srv_cases));
	tcase_add_loop_test(tc, test_lenient, 0, (int)ARRAY_LEN(lenient_cases));
	tcase_add_test(tc, test_views);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_loop_test(tc, test_reject, 0, (int)ARRAY_LEN(bad_cases));
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_args);
	tcase_add_test(tc, test_iter_misuse);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("large");
	tcase_add_test(tc, test_large);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_loop_test(tc, test_encode_hello, 0, (int)ARRAY_LEN(hello_cases));
	tcase_add_test(tc, test_encode_hello_errors);
	tcase_add_loop_test(tc, test_encode_op, 0, (int)ARRAY_LEN(op_enc_cases));
	tcase_add_test(tc, test_encode_op_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
