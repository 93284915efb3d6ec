/*
 * check_proto.c - the messages of PROTOCOL.md: client messages parsed
 * (hello, section 3; operations, section 4), server messages encoded
 * (sections 3 and 5), batch and snapshot splitting.
 *
 * Tables write JSON with ' for " (q() swaps them) so they stay readable.
 * Every parser input is copied so that it ends on an unreadable guard page
 * and is made read-only, so an overread or a write to the input crashes.
 * The parsers are one-shot (they get whole WebSocket messages), so instead
 * of split points every proper prefix of every accepted message is parsed
 * too: it must be rejected as not JSON. Every encoder is run at every
 * buffer size below what it needs (COLLAB_ESPACE, nothing written past the
 * buffer) and at exactly that size.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/json.h"
#include "collab/proto.h"
#include "testutil.h"

/* ids: broadcast, chat, comment; the U forms are the same in uppercase */
#define B "0f8fad5b-d9cb-469f-a165-70867728950e"
#define BU "0F8FAD5B-D9CB-469F-A165-70867728950E"
#define C "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define CU "7c9e6679-7425-40DE-944b-e07fc1f90ae7"
#define M "550e8400-e29b-41d4-a716-446655440000"
#define MU "550E8400-e29b-41d4-a716-446655440000"

/* ' -> " ; the result is malloc'd, NUL-terminated */
static char *q(const char *s, size_t len)
{
	char *r = malloc(len + 1);

	ck_assert_ptr_nonnull(r);
	for (size_t i = 0; i < len; i++)
		r[i] = s[i] == '\'' ? '"' : s[i];
	r[len] = '\0';
	return r;
}

static bool str_is(struct collab_str s, const char *lit, size_t len)
{
	return s.len == len && (len == 0 || memcmp(s.p, lit, len) == 0);
}

/* true when s holds nothing but JSON whitespace: a prefix that leaves
 * only that out is the whole message */
static bool only_space(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

/* ---- parsing harness -------------------------------------------------- */

struct parsed {
	struct guard_buf g;
	struct collab_json_node *nodes;
	uint8_t *scratch;
	struct collab_proto_mem mem;
	struct collab_proto_op op;
	struct collab_proto_hello hello;
	int rc;
};

/* Parses in[0..len) as hello or op from a read-only buffer ending on a
 * guard page, with exactly the memory proto.h says is needed. */
static void parse_cfg(struct parsed *r, const struct collab_proto_config *cfg,
		      const void *in, size_t len, bool hello)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t nn = COLLAB_JSON_NODES_FOR(len);
	size_t sn = collab_proto_scratch_size(cfg, len);

	memset(r, 0, sizeof *r);
	r->g = guard_copy(in, len);
	ck_assert_ptr_nonnull(r->g.map);
	ck_assert_int_eq(mprotect(r->g.map, r->g.maplen - page, PROT_READ), 0);
	r->nodes = calloc(nn, sizeof *r->nodes);
	r->scratch = malloc(sn);
	ck_assert_ptr_nonnull(r->nodes);
	ck_assert_ptr_nonnull(r->scratch);
	r->mem.nodes = r->nodes;
	r->mem.max_nodes = nn;
	r->mem.scratch = r->scratch;
	r->mem.scratch_cap = sn;
	if (hello)
		r->rc = collab_proto_parse_hello(cfg, &r->mem, r->g.p, len,
						 &r->hello);
	else
		r->rc = collab_proto_parse_op(cfg, &r->mem, r->g.p, len, &r->op);
}

static void parsed_free(struct parsed *r)
{
	guard_free(&r->g);
	free(r->nodes);
	free(r->scratch);
}

/* The message names a fault; it is NUL-terminated, fits its buffer. */
static void check_message(const char *msg, size_t len, const char *want)
{
	ck_assert_uint_lt(len, COLLAB_PROTO_MESSAGE_CAP);
	ck_assert_uint_eq(strlen(msg), len);
	ck_assert_uint_gt(len, 0);
	if (want != NULL)
		ck_assert_msg(strstr(msg, want) != NULL, "message '%s' lacks '%s'",
			      msg, want);
}

/* ---- valid operations --------------------------------------------------- */

#define NEW_PRE "{'type':'new-text-chat','broadcastId':'" B "',"
#define UPD_PRE "{'type':'updated-text-chat','broadcastId':'" B "','chatId':'" C "',"
#define NEW_OK NEW_PRE "'chat':{'id':'" C "','anchor':{},'comment':{'id':'" M "','text':'first comment'}}}"

struct op_case {
	const char *name;
	const char *json;
	enum collab_proto_type type;
	enum collab_proto_action action;
	const char *chat_id;    /* NULL: unset */
	const char *comment_id; /* NULL: unset */
	const char *text;       /* NULL: unset */
	size_t text_len;
	const char *anchor;     /* NULL: unset */
	bool resolved;
	bool text_in_scratch;   /* escaped text is decoded into the scratch */
};

#define T(s) s, sizeof(s) - 1
/* a view of a literal, for static initializers */
#define SV(lit) { (lit), sizeof(lit) - 1 }

static const struct op_case op_cases[] = {
	{ "new-text-chat", NEW_OK, COLLAB_PROTO_TYPE_NEW_TEXT_CHAT,
	  COLLAB_PROTO_ACTION_NONE, C, M, T("first comment"), "{}", false, false },
	{ "new-text-chat, anchor re-encoded compactly",
	  NEW_PRE "'chat':{'id':'" C "','anchor': { 'quote' : 'hello',\n"
	  "'offsets':[ 1, 2.50, -3e2 ], 'sel':{'a':null,'b':true,'c':'\\u00e9\\/'} },"
	  "'comment':{'id':'" M "','text':'x'}}}",
	  COLLAB_PROTO_TYPE_NEW_TEXT_CHAT, COLLAB_PROTO_ACTION_NONE, C, M, T("x"),
	  "{\"quote\":\"hello\",\"offsets\":[1,2.50,-3e2],\"sel\":{\"a\":null,"
	  "\"b\":true,\"c\":\"\xc3\xa9/\"}}", false, false },
	{ "new-text-chat, members in another order, extra members ignored",
	  "{'chat':{'comment':{'text':'t','userId':'evil','id':'" M "'},"
	  "'anchor':{'k':[]},'extra':null,'id':'" C "'},'seq':5,"
	  "'broadcastId':'" B "','userId':'evil','type':'new-text-chat','x':{}}",
	  COLLAB_PROTO_TYPE_NEW_TEXT_CHAT, COLLAB_PROTO_ACTION_NONE, C, M, T("t"),
	  "{\"k\":[]}", false, false },
	{ "new-text-chat, whitespace everywhere",
	  " \t\r\n{ 'type' : 'new-text-chat' , 'broadcastId' : '" B "' , 'chat' :"
	  " { 'id' : '" C "' , 'anchor' : { } , 'comment' : { 'id' : '" M "' ,"
	  " 'text' : ' spaced ' } } } \n",
	  COLLAB_PROTO_TYPE_NEW_TEXT_CHAT, COLLAB_PROTO_ACTION_NONE, C, M,
	  T(" spaced "), "{}", false, false },
	{ "add-comment", UPD_PRE "'action':'add-comment','comment':{'id':'" M "','text':'...'}}",
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT, COLLAB_PROTO_ACTION_ADD_COMMENT, C, M,
	  T("..."), NULL, false, false },
	{ "edit-comment", UPD_PRE "'action':'edit-comment','commentId':'" M "','text':'new'}",
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT, COLLAB_PROTO_ACTION_EDIT_COMMENT, C, M,
	  T("new"), NULL, false, false },
	{ "delete-comment", UPD_PRE "'action':'delete-comment','commentId':'" M "'}",
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT, COLLAB_PROTO_ACTION_DELETE_COMMENT, C, M,
	  NULL, 0, NULL, false, false },
	{ "delete-comment ignores a text", UPD_PRE "'action':'delete-comment','commentId':'" M "','text':5}",
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT, COLLAB_PROTO_ACTION_DELETE_COMMENT, C, M,
	  NULL, 0, NULL, false, false },
	{ "resolve true", UPD_PRE "'action':'resolve','resolved':true}",
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT, COLLAB_PROTO_ACTION_RESOLVE, C, NULL,
	  NULL, 0, NULL, true, false },
	{ "resolve false", UPD_PRE "'action':'resolve','resolved':false}",
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT, COLLAB_PROTO_ACTION_RESOLVE, C, NULL,
	  NULL, 0, NULL, false, false },
	{ "deleted-text-chat", "{'type':'deleted-text-chat','broadcastId':'" B "','chatId':'" C "'}",
	  COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT, COLLAB_PROTO_ACTION_NONE, C, NULL,
	  NULL, 0, NULL, false, false },
	{ "text with escapes is decoded",
	  UPD_PRE "'action':'edit-comment','commentId':'" M "','text':'a\\nb\\u00e9\\ud83d\\ude00\\\\'}",
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT, COLLAB_PROTO_ACTION_EDIT_COMMENT, C, M,
	  T("a\nb\xc3\xa9\xf0\x9f\x98\x80\\"), NULL, false, true },
	{ "text of one NUL character",
	  UPD_PRE "'action':'edit-comment','commentId':'" M "','text':'\\u0000'}",
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT, COLLAB_PROTO_ACTION_EDIT_COMMENT, C, M,
	  "\0", 1, NULL, false, true },
	{ "text in raw UTF-8",
	  UPD_PRE "'action':'edit-comment','commentId':'" M "','text':'\xe2\x82\xac\xf0\x9f\x98\x80'}",
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT, COLLAB_PROTO_ACTION_EDIT_COMMENT, C, M,
	  T("\xe2\x82\xac\xf0\x9f\x98\x80"), NULL, false, false },
	{ "ids spelled with escapes decode to the canonical form",
	  "{'type':'deleted-text-chat','broadcastId':'\\u0030f8fad5b-d9cb-469f-a165-70867728950e',"
	  "'chatId':'7c9e6679\\u002d7425-40de-944b-e07fc1f90ae7'}",
	  COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT, COLLAB_PROTO_ACTION_NONE, C, NULL,
	  NULL, 0, NULL, false, false },
	{ "escaped type and action",
	  "{'type':'updated-text-chat','broadcastId':'" B "','chatId':'" C "',"
	  "'action':'resolv\\u0065','resolved':true}",
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT, COLLAB_PROTO_ACTION_RESOLVE, C, NULL,
	  NULL, 0, NULL, true, false },
	{ "nil and max UUIDs, any version",
	  "{'type':'updated-text-chat','broadcastId':'00000000-0000-0000-0000-000000000000',"
	  "'chatId':'ffffffff-ffff-ffff-ffff-ffffffffffff','action':'resolve','resolved':false}",
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT, COLLAB_PROTO_ACTION_RESOLVE,
	  "ffffffff-ffff-ffff-ffff-ffffffffffff", NULL, NULL, 0, NULL, false, false },
};

static void check_id(const struct collab_proto_id *id, const char *want)
{
	struct collab_uuid u;
	char text[COLLAB_UUID_STR_LEN + 1];

	if (want == NULL) {
		ck_assert_str_eq(id->text, "");
		return;
	}
	ck_assert_str_eq(id->text, want);
	ck_assert_int_eq(collab_uuid_parse(want, strlen(want), &u), 0);
	ck_assert(memcmp(&u, &id->uuid, sizeof u) == 0);
	ck_assert_int_eq(collab_uuid_format(&id->uuid, text, sizeof text), 0);
	ck_assert_str_eq(text, want);
	ck_assert(str_is(collab_proto_id_str(id), want, strlen(want)));
}

static void check_op(const struct parsed *r, const struct op_case *tc)
{
	const struct collab_proto_op *op = &r->op;
	const uint8_t *sb = r->scratch, *se = r->scratch + r->mem.scratch_cap;

	ck_assert_msg(r->rc == 0, "%s: rc %d: %s", tc->name, r->rc, op->message);
	ck_assert_int_eq(op->err, COLLAB_PROTO_ERR_NONE);
	ck_assert_str_eq(op->message, "");
	ck_assert_uint_eq(op->message_len, 0);
	ck_assert_int_eq(op->type, tc->type);
	ck_assert_int_eq(op->action, tc->action);
	ck_assert(op->has_broadcast_id);
	if (tc->type == COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT &&
	    strncmp(tc->chat_id, "ffff", 4) == 0)
		check_id(&op->broadcast_id, "00000000-0000-0000-0000-000000000000");
	else
		check_id(&op->broadcast_id, B);
	check_id(&op->chat_id, tc->chat_id);
	check_id(&op->comment_id, tc->comment_id);
	if (tc->text == NULL) {
		ck_assert_ptr_null(op->text.p);
		ck_assert_uint_eq(op->text.len, 0);
	} else {
		const uint8_t *tp = (const uint8_t *)op->text.p;
		ck_assert_msg(str_is(op->text, tc->text, tc->text_len), "%s: text",
			      tc->name);
		/* zero-copy when it can be, the scratch when decoded */
		if (tc->text_in_scratch)
			ck_assert(tp >= sb && tp < se);
		else
			ck_assert(tp >= r->g.p && tp < r->g.p + r->g.len);
	}
	if (tc->anchor == NULL) {
		ck_assert_ptr_null(op->anchor.p);
		ck_assert_uint_eq(op->anchor.len, 0);
	} else {
		ck_assert_msg(str_is(op->anchor, tc->anchor, strlen(tc->anchor)),
			      "%s: anchor %.*s", tc->name, (int)op->anchor.len,
			      op->anchor.p);
	}
	ck_assert(op->resolved == tc->resolved);
}

START_TEST(test_op_valid)
{
	const struct op_case *tc = &op_cases[_i];
	char *in = q(tc->json, strlen(tc->json));
	struct parsed r;

	parse_cfg(&r, NULL, in, strlen(in), false);
	check_op(&r, tc);
	parsed_free(&r);
	free(in);
}
END_TEST

/* Every proper prefix of a valid message is not JSON; and each valid
 * message is still valid from a buffer of any alignment. */
START_TEST(test_op_prefixes)
{
	const struct op_case *tc = &op_cases[_i];
	char *in = q(tc->json, strlen(tc->json));
	size_t len = strlen(in);

	for (size_t n = 0; n < len && !only_space(in + n); n++) {
		struct parsed r;
		parse_cfg(&r, NULL, in, n, false);
		ck_assert_int_eq(r.rc, COLLAB_EPROTO);
		ck_assert_int_eq(r.op.err, COLLAB_PROTO_ERR_INVALID);
		ck_assert(!r.op.has_broadcast_id);
		check_message(r.op.message, r.op.message_len, "JSON");
		parsed_free(&r);
	}
	free(in);
}
END_TEST

/* ---- rejected operations ------------------------------------------------ */

struct bad_case {
	const char *json;
	enum collab_proto_err err;
	bool has_bid;          /* the reply echoes B */
	const char *msg;       /* a substring of the message */
};

#define I COLLAB_PROTO_ERR_INVALID
#define NEWC(chat) NEW_PRE "'chat':" chat "}"
#define CHAT(id, anchor, comment) "{" id anchor comment "}"
#define CID "'id':'" C "',"
#define ANC "'anchor':{},"
#define COM "'comment':{'id':'" M "','text':'t'}"

static const struct bad_case bad_cases[] = {
	/* not JSON */
	{ "", I, false, "not valid JSON" },
	{ "{", I, false, "not valid JSON" },
	{ "nope", I, false, "not valid JSON" },
	{ "{'type':'deleted-text-chat','broadcastId':'" B "','chatId':'" C "',}", I, false, "JSON" },
	{ "{'type':'deleted-text-chat','broadcastId':'" B "','chatId':'" C "'} x", I, false, "JSON" },
	{ "{'type':'deleted-text-chat','broadcastId':'" B "','chatId':'" C "','chatId':'" C "'}", I, false, "JSON" },
	{ "{'type':'deleted-text-chat','broadcastId':'" B "','chatId':'" C "','x':'\xff'}", I, false, "JSON" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'id':'" M "','text':'\xc3'}")), I, false, "JSON" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'id':'" M "','text':'\\ud800'}")), I, false, "JSON" },
	{ "\xef\xbb\xbf{'type':'deleted-text-chat','broadcastId':'" B "','chatId':'" C "'}", I, false, "JSON" },
	/* not an object */
	{ "[]", I, false, "not a JSON object" },
	{ "['type','new-text-chat']", I, false, "not a JSON object" },
	{ "'new-text-chat'", I, false, "not a JSON object" },
	{ "42", I, false, "not a JSON object" },
	{ "null", I, false, "not a JSON object" },
	{ "true", I, false, "not a JSON object" },
	/* type */
	{ "{}", I, false, "missing field: type" },
	{ "{'broadcastId':'" B "','chatId':'" C "'}", I, true, "missing field: type" },
	{ "{'type':null,'broadcastId':'" B "','chatId':'" C "'}", I, true, "type" },
	{ "{'type':1,'broadcastId':'" B "'}", I, true, "type" },
	{ "{'type':['deleted-text-chat'],'broadcastId':'" B "'}", I, true, "type" },
	{ "{'type':{},'broadcastId':'" B "'}", I, true, "type" },
	{ "{'type':'welcome','broadcastId':'" B "'}", I, true, "unknown type" },
	{ "{'type':'','broadcastId':'" B "'}", I, true, "unknown type" },
	{ "{'type':'Deleted-Text-Chat','broadcastId':'" B "','chatId':'" C "'}", I, true, "unknown type" },
	{ "{'type':'deleted-text-chat ','broadcastId':'" B "','chatId':'" C "'}", I, true, "unknown type" },
	{ "{'type':'deleted-text-chat\\u0000','broadcastId':'" B "','chatId':'" C "'}", I, true, "unknown type" },
	{ "{'type':'batch','events':[]}", I, false, "unknown type" },
	{ "{'type':'error','broadcastId':null}", I, false, "unknown type" },
	/* hello after the session started */
	{ "{'type':'hello'}", I, false, "hello" },
	{ "{'type':'hello','token':'x','since':1,'epoch':'e'}", I, false, "hello" },
	{ "{'type':'hello','broadcastId':'" B "'}", I, true, "hello" },
	/* broadcastId */
	{ "{'type':'deleted-text-chat','chatId':'" C "'}", I, false, "missing field: broadcastId" },
	{ "{'type':'deleted-text-chat','broadcastId':null,'chatId':'" C "'}", I, false, "broadcastId" },
	{ "{'type':'deleted-text-chat','broadcastId':1,'chatId':'" C "'}", I, false, "broadcastId" },
	{ "{'type':'deleted-text-chat','broadcastId':['" B "'],'chatId':'" C "'}", I, false, "broadcastId" },
	{ "{'type':'deleted-text-chat','broadcastId':'" BU "','chatId':'" C "'}", I, false, "bad UUID" },
	{ "{'type':'deleted-text-chat','broadcastId':'0f8fad5b-d9cb-469f-a165-70867728950','chatId':'" C "'}", I, false, "bad UUID: broadcastId (want" },
	{ "{'type':'deleted-text-chat','broadcastId':'0f8fad5b-d9cb-469f-a165-70867728950ee','chatId':'" C "'}", I, false, "broadcastId" },
	{ "{'type':'deleted-text-chat','broadcastId':'{" B "}','chatId':'" C "'}", I, false, "broadcastId" },
	{ "{'type':'deleted-text-chat','broadcastId':'urn:uuid:" B "','chatId':'" C "'}", I, false, "broadcastId" },
	{ "{'type':'deleted-text-chat','broadcastId':'0f8fad5bd9cb469fa16570867728950e','chatId':'" C "'}", I, false, "broadcastId" },
	{ "{'type':'deleted-text-chat','broadcastId':'0f8fad5b-d9cb-469f-a165-70867728950g','chatId':'" C "'}", I, false, "broadcastId" },
	{ "{'type':'deleted-text-chat','broadcastId':' " B "','chatId':'" C "'}", I, false, "broadcastId" },
	{ "{'type':'deleted-text-chat','broadcastId':'0f8fad5b-d9cb-469f-a165-70867728950\\u0045','chatId':'" C "'}", I, false, "broadcastId" },
	{ "{'type':'deleted-text-chat','broadcastId':'','chatId':'" C "'}", I, false, "broadcastId" },
	/* deleted-text-chat */
	{ "{'type':'deleted-text-chat','broadcastId':'" B "'}", I, true, "missing field: chatId" },
	{ "{'type':'deleted-text-chat','broadcastId':'" B "','chatId':null}", I, true, "chatId" },
	{ "{'type':'deleted-text-chat','broadcastId':'" B "','chatId':7}", I, true, "chatId" },
	{ "{'type':'deleted-text-chat','broadcastId':'" B "','chatId':'" CU "'}", I, true, "bad UUID: chatId (want" },
	{ "{'type':'deleted-text-chat','broadcastId':'" B "','chat':{'id':'" C "'}}", I, true, "chatId" },
	/* new-text-chat: chat */
	{ NEW_PRE "'chatId':'" C "'}", I, true, "missing field: chat" },
	{ NEWC("null"), I, true, "chat" },
	{ NEWC("[]"), I, true, "must be an object: chat" },
	{ NEWC("'x'"), I, true, "chat" },
	{ NEWC("true"), I, true, "chat" },
	/* chat.id */
	{ NEWC(CHAT("", ANC, COM)), I, true, "missing field: chat.id" },
	{ NEWC(CHAT("'id':null,", ANC, COM)), I, true, "chat.id" },
	{ NEWC(CHAT("'id':1,", ANC, COM)), I, true, "chat.id" },
	{ NEWC(CHAT("'id':'" CU "',", ANC, COM)), I, true, "bad UUID: chat.id (want" },
	{ NEWC(CHAT("'id':'not-a-uuid',", ANC, COM)), I, true, "chat.id" },
	/* chat.anchor */
	{ NEWC(CHAT(CID, "", COM)), I, true, "missing field: chat.anchor" },
	{ NEWC(CHAT(CID, "'anchor':null,", COM)), I, true, "chat.anchor" },
	{ NEWC(CHAT(CID, "'anchor':[],", COM)), I, true, "must be an object: chat.anchor" },
	{ NEWC(CHAT(CID, "'anchor':'{}',", COM)), I, true, "chat.anchor" },
	{ NEWC(CHAT(CID, "'anchor':1,", COM)), I, true, "chat.anchor" },
	{ NEWC(CHAT(CID, "'anchor':true,", COM)), I, true, "chat.anchor" },
	{ NEWC(CHAT(CID, "'anchor':false,", COM)), I, true, "chat.anchor" },
	/* chat.comment */
	{ NEWC("{" CID "'anchor':{}}"), I, true, "missing field: chat.comment" },
	{ NEWC(CHAT(CID, ANC, "'comment':null")), I, true, "chat.comment" },
	{ NEWC(CHAT(CID, ANC, "'comment':[]")), I, true, "chat.comment" },
	{ NEWC(CHAT(CID, ANC, "'comment':'t'")), I, true, "chat.comment" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'text':'t'}")), I, true, "missing field: chat.comment.id" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'id':null,'text':'t'}")), I, true, "chat.comment.id" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'id':'" MU "','text':'t'}")), I, true, "bad UUID: chat.comment.id (want" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'id':'" M "'}")), I, true, "missing field: chat.comment.text" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'id':'" M "','text':null}")), I, true, "chat.comment.text" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'id':'" M "','text':1}")), I, true, "chat.comment.text" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'id':'" M "','text':['t']}")), I, true, "chat.comment.text" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'id':'" M "','text':{}}")), I, true, "chat.comment.text" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'id':'" M "','text':true}")), I, true, "chat.comment.text" },
	{ NEWC(CHAT(CID, ANC, "'comment':{'id':'" M "','text':''}")), I, true, "empty text: chat.comment.text" },
	{ NEW_PRE "'chat':{" CID ANC "'comment':{'id':'" M "'},'text':'t'}}", I, true, "chat.comment.text" },
	/* updated-text-chat: chatId, action */
	{ "{'type':'updated-text-chat','broadcastId':'" B "','action':'resolve','resolved':true}", I, true, "missing field: chatId" },
	{ "{'type':'updated-text-chat','broadcastId':'" B "','chatId':null,'action':'resolve','resolved':true}", I, true, "chatId" },
	{ "{'type':'updated-text-chat','broadcastId':'" B "','chatId':'" CU "','action':'resolve','resolved':true}", I, true, "bad UUID: chatId (want" },
	{ UPD_PRE "'resolved':true}", I, true, "missing field: action" },
	{ UPD_PRE "'action':null,'resolved':true}", I, true, "action" },
	{ UPD_PRE "'action':1,'resolved':true}", I, true, "action" },
	{ UPD_PRE "'action':['resolve'],'resolved':true}", I, true, "action" },
	{ UPD_PRE "'action':'unresolve','resolved':true}", I, true, "unknown action" },
	{ UPD_PRE "'action':'Resolve','resolved':true}", I, true, "unknown action" },
	{ UPD_PRE "'action':'','resolved':true}", I, true, "unknown action" },
	{ UPD_PRE "'action':'new-text-chat','resolved':true}", I, true, "unknown action" },
	/* add-comment */
	{ UPD_PRE "'action':'add-comment'}", I, true, "missing field: comment" },
	{ UPD_PRE "'action':'add-comment','comment':null}", I, true, "comment" },
	{ UPD_PRE "'action':'add-comment','commentId':'" M "','text':'t'}", I, true, "missing field: comment" },
	{ UPD_PRE "'action':'add-comment','comment':{'text':'t'}}", I, true, "missing field: comment.id" },
	{ UPD_PRE "'action':'add-comment','comment':{'id':'" MU "','text':'t'}}", I, true, "bad UUID: comment.id (want" },
	{ UPD_PRE "'action':'add-comment','comment':{'id':'" M "'}}", I, true, "missing field: comment.text" },
	{ UPD_PRE "'action':'add-comment','comment':{'id':'" M "','text':''}}", I, true, "empty text: comment.text" },
	{ UPD_PRE "'action':'add-comment','comment':{'id':'" M "','text':null}}", I, true, "comment.text" },
	/* edit-comment */
	{ UPD_PRE "'action':'edit-comment','text':'t'}", I, true, "missing field: commentId" },
	{ UPD_PRE "'action':'edit-comment','commentId':null,'text':'t'}", I, true, "commentId" },
	{ UPD_PRE "'action':'edit-comment','commentId':'" MU "','text':'t'}", I, true, "bad UUID: commentId (want" },
	{ UPD_PRE "'action':'edit-comment','commentId':'" M "'}", I, true, "missing field: text" },
	{ UPD_PRE "'action':'edit-comment','commentId':'" M "','text':null}", I, true, "text" },
	{ UPD_PRE "'action':'edit-comment','commentId':'" M "','text':42}", I, true, "text" },
	{ UPD_PRE "'action':'edit-comment','commentId':'" M "','text':''}", I, true, "empty text: text" },
	{ UPD_PRE "'action':'edit-comment','comment':{'id':'" M "','text':'t'}}", I, true, "commentId" },
	/* delete-comment */
	{ UPD_PRE "'action':'delete-comment'}", I, true, "missing field: commentId" },
	{ UPD_PRE "'action':'delete-comment','commentId':null}", I, true, "commentId" },
	{ UPD_PRE "'action':'delete-comment','commentId':{}}", I, true, "commentId" },
	{ UPD_PRE "'action':'delete-comment','commentId':'" MU "'}", I, true, "bad UUID: commentId (want" },
	/* resolve */
	{ UPD_PRE "'action':'resolve'}", I, true, "missing field: resolved" },
	{ UPD_PRE "'action':'resolve','resolved':null}", I, true, "must be a boolean: resolved" },
	{ UPD_PRE "'action':'resolve','resolved':'true'}", I, true, "resolved" },
	{ UPD_PRE "'action':'resolve','resolved':1}", I, true, "resolved" },
	{ UPD_PRE "'action':'resolve','resolved':0}", I, true, "resolved" },
	{ UPD_PRE "'action':'resolve','resolved':[true]}", I, true, "resolved" },
};

START_TEST(test_op_invalid)
{
	const struct bad_case *tc = &bad_cases[_i];
	char *in = q(tc->json, strlen(tc->json));
	struct parsed r;

	parse_cfg(&r, NULL, in, strlen(in), false);
	ck_assert_msg(r.rc == COLLAB_EPROTO, "%s: rc %d", in, r.rc);
	ck_assert_msg(r.op.err == tc->err, "%s: err %d", in, r.op.err);
	check_message(r.op.message, r.op.message_len, tc->msg);
	ck_assert_msg(r.op.has_broadcast_id == tc->has_bid, "%s: bid", in);
	if (tc->has_bid)
		ck_assert_str_eq(r.op.broadcast_id.text, B);
	/* a rejected op carries no payload views */
	ck_assert_ptr_null(r.op.text.p);
	ck_assert_ptr_null(r.op.anchor.p);
	parsed_free(&r);
	free(in);
}
END_TEST

/* ---- limits: text and anchor ---------------------------------------------- */

/* An edit-comment whose text is n copies of unit (raw JSON). */
static char *edit_with_text(const char *unit, size_t n, size_t *len)
{
	static const char pre[] = "{\"type\":\"updated-text-chat\",\"broadcastId\":\"" B
		"\",\"chatId\":\"" C "\",\"action\":\"edit-comment\",\"commentId\":\"" M
		"\",\"text\":\"";
	size_t ul = strlen(unit), o = 0;
	char *s = malloc(sizeof pre + n * ul + 4);

	ck_assert_ptr_nonnull(s);
	memcpy(s, pre, sizeof pre - 1);
	o = sizeof pre - 1;
	for (size_t i = 0; i < n; i++, o += ul)
		memcpy(s + o, unit, ul);
	memcpy(s + o, "\"}", 2);
	*len = o + 2;
	return s;
}

struct text_case {
	const char *unit;      /* raw JSON of one repetition */
	size_t n;
	size_t unit_bytes;     /* decoded bytes per repetition */
	enum collab_proto_err err;
};

static const struct text_case text_cases[] = {
	{ "a", 4096, 1, COLLAB_PROTO_ERR_NONE },
	{ "a", 4097, 1, COLLAB_PROTO_ERR_TOO_LARGE },
	{ "a", 1, 1, COLLAB_PROTO_ERR_NONE },
	{ "a", 40000, 1, COLLAB_PROTO_ERR_TOO_LARGE },
	{ "\\u0041", 4096, 1, COLLAB_PROTO_ERR_NONE },    /* raw 24576 bytes */
	{ "\\u0041", 4097, 1, COLLAB_PROTO_ERR_TOO_LARGE },
	{ "\xe2\x82\xac", 1365, 3, COLLAB_PROTO_ERR_NONE }, /* 4095 bytes */
	{ "\xe2\x82\xac", 1366, 3, COLLAB_PROTO_ERR_TOO_LARGE }, /* 4098: bytes, not characters */
	{ "\xf0\x9f\x98\x80", 1024, 4, COLLAB_PROTO_ERR_NONE },
	{ "\\ud83d\\ude00", 1025, 4, COLLAB_PROTO_ERR_TOO_LARGE },
};

START_TEST(test_text_limit)
{
	const struct text_case *tc = &text_cases[_i];
	size_t len;
	char *in = edit_with_text(tc->unit, tc->n, &len);
	struct parsed r;

	parse_cfg(&r, NULL, in, len, false);
	ck_assert_int_eq(r.op.err, tc->err);
	if (tc->err == COLLAB_PROTO_ERR_NONE) {
		ck_assert_int_eq(r.rc, 0);
		ck_assert_uint_eq(r.op.text.len, tc->n * tc->unit_bytes);
	} else {
		ck_assert_int_eq(r.rc, COLLAB_EPROTO);
		check_message(r.op.message, r.op.message_len, "text too long: text");
		ck_assert(r.op.has_broadcast_id);
		ck_assert_ptr_null(r.op.text.p);
	}
	parsed_free(&r);
	free(in);
}
END_TEST

/* A new-text-chat whose anchor is {"k":"<n x unit>"} plus pad bytes of
 * whitespace (which the re-encoding drops). */
static char *new_with_anchor(const char *unit, size_t n, size_t pad,
			     const char *text, size_t *len)
{
	static const char pre[] = "{\"type\":\"new-text-chat\",\"broadcastId\":\"" B
		"\",\"chat\":{\"id\":\"" C "\",\"anchor\":{\"k\":\"";
	size_t ul = strlen(unit), tl = strlen(text), o;
	char *s = malloc(sizeof pre + n * ul + pad + tl + 128);

	ck_assert_ptr_nonnull(s);
	memcpy(s, pre, sizeof pre - 1);
	o = sizeof pre - 1;
	for (size_t i = 0; i < n; i++, o += ul)
		memcpy(s + o, unit, ul);
	s[o++] = '"';
	memset(s + o, ' ', pad);
	o += pad;
	o += (size_t)snprintf(s + o, 128 + tl, "},\"comment\":{\"id\":\"" M
			      "\",\"text\":\"%s\"}}}", text);
	*len = o;
	return s;
}

struct anchor_case {
	const char *unit;
	size_t n, pad;
	const char *text;
	enum collab_proto_err err;
	size_t anchor_len;      /* re-encoded, when accepted */
	const char *msg;
};

/* {"k":""} is 8 bytes, so 2040 units of one re-encoded byte make 2048 */
static const struct anchor_case anchor_cases[] = {
	{ "a", 2040, 0, "t", COLLAB_PROTO_ERR_NONE, 2048, NULL },
	{ "a", 2041, 0, "t", COLLAB_PROTO_ERR_TOO_LARGE, 0, "anchor too large: chat.anchor" },
	{ "a", 2040, 5000, "t", COLLAB_PROTO_ERR_NONE, 2048, NULL },  /* raw 7048 bytes */
	{ "\\u0061", 2040, 0, "t", COLLAB_PROTO_ERR_NONE, 2048, NULL },
	/* U+2028 is 3 raw bytes but 6 re-encoded (\u2028) */
	{ "\xe2\x80\xa8", 340, 0, "t", COLLAB_PROTO_ERR_NONE, 2048, NULL },
	{ "\xe2\x80\xa8", 341, 0, "t", COLLAB_PROTO_ERR_TOO_LARGE, 0, "chat.anchor" },
	{ "\\n", 1020, 0, "t", COLLAB_PROTO_ERR_NONE, 2048, NULL },
	{ "a", 70000, 0, "t", COLLAB_PROTO_ERR_TOO_LARGE, 0, "chat.anchor" },
	/* too-large with a later fault: invalid wins */
	{ "a", 2041, 0, "", COLLAB_PROTO_ERR_INVALID, 0, "empty text: chat.comment.text" },
};

START_TEST(test_anchor_limit)
{
	const struct anchor_case *tc = &anchor_cases[_i];
	size_t len;
	char *in = new_with_anchor(tc->unit, tc->n, tc->pad, tc->text, &len);
	struct parsed r;

	parse_cfg(&r, NULL, in, len, false);
	ck_assert_int_eq(r.op.err, tc->err);
	if (tc->err == COLLAB_PROTO_ERR_NONE) {
		ck_assert_int_eq(r.rc, 0);
		ck_assert_uint_eq(r.op.anchor.len, tc->anchor_len);
		ck_assert(memcmp(r.op.anchor.p, "{\"k\":\"", 6) == 0);
		ck_assert(memcmp(r.op.anchor.p + r.op.anchor.len - 2, "\"}", 2) == 0);
	} else {
		ck_assert_int_eq(r.rc, COLLAB_EPROTO);
		check_message(r.op.message, r.op.message_len, tc->msg);
		ck_assert(r.op.has_broadcast_id);
	}
	parsed_free(&r);
	free(in);
}
END_TEST

/* Both too large: anchor is found first and named; text oversize as well. */
START_TEST(test_too_large_order)
{
	char *text = malloc(5000), *in;
	size_t len;
	struct parsed r;

	ck_assert_ptr_nonnull(text);
	memset(text, 'x', 4999);
	text[4999] = '\0';
	in = new_with_anchor("a", 3000, 0, text, &len);
	parse_cfg(&r, NULL, in, len, false);
	ck_assert_int_eq(r.rc, COLLAB_EPROTO);
	ck_assert_int_eq(r.op.err, COLLAB_PROTO_ERR_TOO_LARGE);
	check_message(r.op.message, r.op.message_len, "chat.anchor");
	parsed_free(&r);
	free(in);
	/* text alone */
	in = new_with_anchor("a", 3, 0, text, &len);
	parse_cfg(&r, NULL, in, len, false);
	ck_assert_int_eq(r.op.err, COLLAB_PROTO_ERR_TOO_LARGE);
	check_message(r.op.message, r.op.message_len, "text too long: chat.comment.text");
	parsed_free(&r);
	free(in);
	free(text);
}
END_TEST

/* Configured limits apply instead of the defaults. */
START_TEST(test_config_limits)
{
	struct collab_proto_config cfg;
	size_t len;
	char *in;
	struct parsed r;

	collab_proto_config_init(&cfg);
	ck_assert_uint_eq(cfg.max_text, 4096);
	ck_assert_uint_eq(cfg.max_anchor, 2048);
	ck_assert_uint_eq(cfg.max_batch, 65536);
	ck_assert_uint_eq(cfg.max_snapshot, 65536);
	ck_assert_uint_eq(cfg.json.max_input, COLLAB_JSON_DEFAULT_MAX_INPUT);
	ck_assert_uint_eq(cfg.json.max_depth, COLLAB_JSON_DEFAULT_MAX_DEPTH);
	cfg.max_text = 10;
	cfg.max_anchor = 12;
	in = new_with_anchor("a", 4, 0, "0123456789", &len);
	parse_cfg(&r, &cfg, in, len, false);
	ck_assert_int_eq(r.rc, 0);
	ck_assert(str_is(r.op.anchor, "{\"k\":\"aaaa\"}", 12));
	ck_assert(str_is(r.op.text, "0123456789", 10));
	parsed_free(&r);
	free(in);
	in = new_with_anchor("a", 5, 0, "0123456789", &len);
	parse_cfg(&r, &cfg, in, len, false);
	ck_assert_int_eq(r.op.err, COLLAB_PROTO_ERR_TOO_LARGE);
	parsed_free(&r);
	free(in);
	in = new_with_anchor("a", 4, 0, "0123456789A", &len);
	parse_cfg(&r, &cfg, in, len, false);
	ck_assert_int_eq(r.op.err, COLLAB_PROTO_ERR_TOO_LARGE);
	parsed_free(&r);
	free(in);
	/* the JSON reader's own limits are part of the config */
	cfg.json.max_input = 50;
	in = new_with_anchor("a", 4, 0, "0123456789", &len);
	parse_cfg(&r, &cfg, in, len, false);
	ck_assert_int_eq(r.op.err, COLLAB_PROTO_ERR_INVALID);
	parsed_free(&r);
	free(in);
}
END_TEST

/* An anchor nested past the reader's depth is not accepted JSON; up to it,
 * any depth is stored. */
START_TEST(test_anchor_depth)
{
	struct collab_proto_config cfg;
	char buf[512];

	collab_proto_config_init(&cfg);
	for (size_t depth = 25; depth <= 90; depth++) {
		/* message, chat and anchor take 3 levels */
		size_t o = (size_t)snprintf(buf, sizeof buf, "%s",
			"{\"type\":\"new-text-chat\",\"broadcastId\":\"" B
			"\",\"chat\":{\"id\":\"" C "\",\"anchor\":{\"a\":");
		struct parsed r;
		for (size_t i = 0; i < depth - 3; i++)
			buf[o++] = '[';
		for (size_t i = 0; i < depth - 3; i++)
			buf[o++] = ']';
		o += (size_t)snprintf(buf + o, sizeof buf - o,
			"},\"comment\":{\"id\":\"" M "\",\"text\":\"t\"}}}");
		parse_cfg(&r, NULL, buf, o, false);
		if (depth <= COLLAB_JSON_DEFAULT_MAX_DEPTH) {
			ck_assert_int_eq(r.rc, 0);
			ck_assert_uint_eq(r.op.anchor.len, 6 + 2 * (depth - 3));
		} else {
			ck_assert_int_eq(r.op.err, COLLAB_PROTO_ERR_INVALID);
			check_message(r.op.message, r.op.message_len, "JSON");
		}
		parsed_free(&r);
		/* a reader allowed deeper: the anchor (depth - 2 levels) must
		 * still fit the writer's stack to be re-encoded */
		cfg.json.max_depth = 1000;
		parse_cfg(&r, &cfg, buf, o, false);
		if (depth - 2 <= COLLAB_JSON_WRITER_STACK) {
			ck_assert_int_eq(r.rc, 0);
		} else {
			ck_assert_int_eq(r.op.err, COLLAB_PROTO_ERR_INVALID);
			check_message(r.op.message, r.op.message_len,
				      "anchor nested too deeply: chat.anchor");
		}
		parsed_free(&r);
	}
}
END_TEST

/* Caller bugs are not the client's fault: they are return codes. */
START_TEST(test_parse_args)
{
	static const char msg[] = "{\"type\":\"deleted-text-chat\",\"broadcastId\":\""
		B "\",\"chatId\":\"" C "\"}";
	size_t len = sizeof msg - 1;
	struct collab_json_node *nodes = calloc(len, sizeof *nodes);
	uint8_t *scratch = malloc(8192);
	struct collab_proto_mem mem = { nodes, COLLAB_JSON_NODES_FOR(len),
					scratch, collab_proto_scratch_size(NULL, len) };
	struct collab_proto_mem small;
	struct collab_proto_config cfg;
	struct collab_proto_op op;
	struct collab_proto_hello h;
	const uint8_t *p = (const uint8_t *)msg;

	ck_assert_uint_eq(collab_proto_scratch_size(NULL, len), 4096 + 2048);
	ck_assert_uint_eq(collab_proto_scratch_size(NULL, 100000), 100000);
	ck_assert_int_eq(collab_proto_parse_op(NULL, &mem, p, len, &op), 0);
	ck_assert_int_eq(collab_proto_parse_op(NULL, &mem, p, len, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_parse_op(NULL, NULL, p, len, &op), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_parse_op(NULL, &mem, NULL, len, &op), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_parse_hello(NULL, &mem, p, len, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_parse_hello(NULL, NULL, p, len, &h), COLLAB_EINVAL);
	/* empty input is a rejected message, not a caller bug */
	ck_assert_int_eq(collab_proto_parse_op(NULL, &mem, NULL, 0, &op), COLLAB_EPROTO);
	ck_assert_int_eq(op.err, COLLAB_PROTO_ERR_INVALID);
	ck_assert_int_eq(collab_proto_parse_hello(NULL, &mem, NULL, 0, &h), COLLAB_EPROTO);
	small = mem;
	small.max_nodes--;
	ck_assert_int_eq(collab_proto_parse_op(NULL, &small, p, len, &op), COLLAB_ESPACE);
	ck_assert_int_eq(collab_proto_parse_hello(NULL, &small, p, len, &h), COLLAB_ESPACE);
	small = mem;
	small.scratch_cap--;
	ck_assert_int_eq(collab_proto_parse_op(NULL, &small, p, len, &op), COLLAB_ESPACE);
	small.scratch = NULL;
	ck_assert_int_eq(collab_proto_parse_op(NULL, &small, p, len, &op), COLLAB_EINVAL);
	small = mem;
	small.nodes = NULL;
	ck_assert_int_eq(collab_proto_parse_op(NULL, &small, p, len, &op), COLLAB_EINVAL);
	collab_proto_config_init(&cfg);
	cfg.max_text = 0;
	ck_assert_int_eq(collab_proto_parse_op(&cfg, &mem, p, len, &op), COLLAB_EINVAL);
	collab_proto_config_init(&cfg);
	cfg.max_anchor = 1;
	ck_assert_int_eq(collab_proto_parse_op(&cfg, &mem, p, len, &op), COLLAB_EINVAL);
	collab_proto_config_init(&cfg);
	cfg.max_text = SIZE_MAX;
	ck_assert_uint_eq(collab_proto_scratch_size(&cfg, 1), SIZE_MAX);
	ck_assert_int_eq(collab_proto_parse_op(&cfg, &mem, p, len, &op), COLLAB_EINVAL);
	collab_proto_config_init(&cfg);
	cfg.json.max_input = COLLAB_JSON_MAX_INPUT_CAP + 1;
	ck_assert_int_eq(collab_proto_parse_op(&cfg, &mem, p, len, &op), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_parse_hello(&cfg, &mem, p, len, &h), COLLAB_EINVAL);
	free(nodes);
	free(scratch);
}
END_TEST

/* ---- hello -------------------------------------------------------------- */

struct hello_case {
	const char *json;
	bool ok;
	bool has_token;
	const char *token;
	bool has_since;
	uint64_t since;
	const char *epoch;
	const char *msg;   /* for rejections: a substring of the message */
};

static const struct hello_case hello_cases[] = {
	{ "{'type':'hello'}", true, false, NULL, false, 0, NULL, NULL },
	{ "{'type':'hello','token':'a.b.c'}", true, true, "a.b.c", false, 0, NULL, NULL },
	{ "{'type':'hello','token':''}", true, true, "", false, 0, NULL, NULL },
	{ "{'type':'hello','token':'a.b.c','since':41,'epoch':'ep1'}", true, true, "a.b.c", true, 41, "ep1", NULL },
	{ "{'epoch':'ep1','since':0,'type':'hello'}", true, false, NULL, true, 0, "ep1", NULL },
	{ "{'type':'hello','since':-0,'epoch':''}", true, false, NULL, true, 0, "", NULL },
	{ "{'type':'hello','since':9007199254740992,'epoch':'e'}", true, false, NULL, true, 9007199254740992ull, "e", NULL },
	{ "{'type':'hello','since':9223372036854775807,'epoch':'e'}", true, false, NULL, true, 9223372036854775807ull, "e", NULL },
	{ "{'type':'hello','token':'\\u0061.b','epoch':'\\u00e9','since':1}", true, true, "a.b", true, 1, "\xc3\xa9", NULL },
	{ "{'type':'hello','x':null,'user':{},'seq':'no','broadcastId':5}", true, false, NULL, false, 0, NULL, NULL },
	{ " {'type' : 'hello' , 'token' : 't' } ", true, true, "t", false, 0, NULL, NULL },
	{ "{'type':'hell\\u006f'}", true, false, NULL, false, 0, NULL, NULL },
	/* rejections: close 4400 */
	{ "", false, false, NULL, false, 0, NULL, "JSON" },
	{ "{'type':'hello'", false, false, NULL, false, 0, NULL, "JSON" },
	{ "{'type':'hello',}", false, false, NULL, false, 0, NULL, "JSON" },
	{ "{'type':'hello','type':'hello'}", false, false, NULL, false, 0, NULL, "JSON" },
	{ "[{'type':'hello'}]", false, false, NULL, false, 0, NULL, "object" },
	{ "'hello'", false, false, NULL, false, 0, NULL, "object" },
	{ "null", false, false, NULL, false, 0, NULL, "object" },
	{ "{}", false, false, NULL, false, 0, NULL, "type" },
	{ "{'token':'t'}", false, false, NULL, false, 0, NULL, "type" },
	{ "{'type':null}", false, false, NULL, false, 0, NULL, "hello" },
	{ "{'type':'Hello'}", false, false, NULL, false, 0, NULL, "hello" },
	{ "{'type':'hello '}", false, false, NULL, false, 0, NULL, "hello" },
	{ "{'type':['hello']}", false, false, NULL, false, 0, NULL, "hello" },
	{ "{'type':'deleted-text-chat','broadcastId':'" B "','chatId':'" C "'}", false, false, NULL, false, 0, NULL, "hello" },
	{ "{'type':'hello','token':null}", false, false, NULL, false, 0, NULL, "token" },
	{ "{'type':'hello','token':1}", false, false, NULL, false, 0, NULL, "token" },
	{ "{'type':'hello','token':{}}", false, false, NULL, false, 0, NULL, "token" },
	{ "{'type':'hello','token':['t']}", false, false, NULL, false, 0, NULL, "token" },
	{ "{'type':'hello','token':false}", false, false, NULL, false, 0, NULL, "token" },
	{ "{'type':'hello','since':-1,'epoch':'e'}", false, false, NULL, false, 0, NULL, "since" },
	{ "{'type':'hello','since':1.5,'epoch':'e'}", false, false, NULL, false, 0, NULL, "since" },
	{ "{'type':'hello','since':41.0,'epoch':'e'}", false, false, NULL, false, 0, NULL, "since" },
	{ "{'type':'hello','since':1e3,'epoch':'e'}", false, false, NULL, false, 0, NULL, "since" },
	{ "{'type':'hello','since':'41','epoch':'e'}", false, false, NULL, false, 0, NULL, "since" },
	{ "{'type':'hello','since':null,'epoch':'e'}", false, false, NULL, false, 0, NULL, "since" },
	{ "{'type':'hello','since':true,'epoch':'e'}", false, false, NULL, false, 0, NULL, "since" },
	{ "{'type':'hello','since':9223372036854775808,'epoch':'e'}", false, false, NULL, false, 0, NULL, "since" },
	{ "{'type':'hello','since':-9223372036854775808,'epoch':'e'}", false, false, NULL, false, 0, NULL, "since" },
	{ "{'type':'hello','since':41}", false, false, NULL, false, 0, NULL, "together" },
	{ "{'type':'hello','epoch':'e'}", false, false, NULL, false, 0, NULL, "together" },
	{ "{'type':'hello','token':'t','since':41}", false, false, NULL, false, 0, NULL, "together" },
	{ "{'type':'hello','epoch':null,'since':4}", false, false, NULL, false, 0, NULL, "epoch" },
	{ "{'type':'hello','epoch':7,'since':4}", false, false, NULL, false, 0, NULL, "epoch" },
	{ "{'type':'hello','epoch':null}", false, false, NULL, false, 0, NULL, "epoch" },
};

START_TEST(test_hello)
{
	const struct hello_case *tc = &hello_cases[_i];
	char *in = q(tc->json, strlen(tc->json));
	struct parsed r;
	const struct collab_proto_hello *h = &r.hello;

	parse_cfg(&r, NULL, in, strlen(in), true);
	if (!tc->ok) {
		ck_assert_msg(r.rc == COLLAB_EPROTO, "%s: rc %d", in, r.rc);
		check_message(h->message, h->message_len, tc->msg);
		parsed_free(&r);
		free(in);
		return;
	}
	ck_assert_msg(r.rc == 0, "%s: rc %d %s", in, r.rc, h->message);
	ck_assert_str_eq(h->message, "");
	ck_assert(h->has_token == tc->has_token);
	if (tc->has_token)
		ck_assert(str_is(h->token, tc->token, strlen(tc->token)));
	else
		ck_assert_uint_eq(h->token.len, 0);
	ck_assert(h->has_since == tc->has_since);
	ck_assert_uint_eq(h->since, tc->since);
	if (tc->epoch != NULL) {
		ck_assert(str_is(h->epoch, tc->epoch, strlen(tc->epoch)));
		ck_assert_ptr_nonnull(h->epoch.p);
	} else {
		ck_assert_ptr_null(h->epoch.p);
	}
	parsed_free(&r);

	/* every proper prefix is a bad hello */
	for (size_t n = 0; n < strlen(in) && !only_space(in + n); n++) {
		parse_cfg(&r, NULL, in, n, true);
		ck_assert_int_eq(r.rc, COLLAB_EPROTO);
		parsed_free(&r);
	}
	free(in);
}
END_TEST

/* A hello with escapes in both token and epoch decodes both into the
 * scratch without overlap, from the minimum scratch. */
START_TEST(test_hello_scratch)
{
	static const char in[] = "{\"type\":\"hello\",\"token\":\"\\u0041\\u0042\","
		"\"since\":3,\"epoch\":\"\\u0043\\u0044\"}";
	struct collab_proto_config cfg;
	struct parsed r;

	collab_proto_config_init(&cfg);
	cfg.max_text = 1;
	cfg.max_anchor = 2;
	ck_assert_uint_eq(collab_proto_scratch_size(&cfg, sizeof in - 1), sizeof in - 1);
	parse_cfg(&r, &cfg, in, sizeof in - 1, true);
	ck_assert_int_eq(r.rc, 0);
	ck_assert(str_is(r.hello.token, "AB", 2));
	ck_assert(str_is(r.hello.epoch, "CD", 2));
	parsed_free(&r);
}
END_TEST

/* ---- encoders ----------------------------------------------------------- */

static const struct collab_proto_comment first_comment = {
	SV(M), SV("u1"), SV("Ann"),
	SV("first comment"), 1764151200000ull
};

static const struct collab_proto_chat chat1 = {
	.id = SV(C), .anchor = SV("{}"),
	.user_id = SV("u1"), .user_name = SV("Ann"),
	.created_at = 1764151200000ull, .resolved = false,
	.comments = &first_comment, .n_comments = 1,
};

static const struct collab_proto_comment two_comments[] = {
	{ SV(M), SV("u1"), SV("Ann"),
	  SV("a \"quoted\"\n\\ line"), 1 },
	{ SV("a1b2c3d4-0000-4000-8000-000000000001"), SV("u2"),
	  SV("B\xc3\xb6"), SV("\xe2\x80\xa8\x01"), 18446744073709551615ull },
};

static const struct collab_proto_chat chat2 = {
	.id = SV(C), .anchor = SV("{\"quote\":\"x\",\"o\":[1,2]}"),
	.user_id = SV("u1"), .user_name = SV("Ann"),
	.created_at = 5, .resolved = true,
	.comments = two_comments, .n_comments = 2,
};

static void comment_cb(const void *ctx, size_t i, struct collab_proto_comment *c)
{
	const struct collab_proto_comment *arr = ctx;
	*c = arr[i];
}

static const struct collab_proto_chat chat2_cb = {
	.id = SV(C), .anchor = SV("{\"quote\":\"x\",\"o\":[1,2]}"),
	.user_id = SV("u1"), .user_name = SV("Ann"),
	.created_at = 5, .resolved = true,
	.comments = NULL, .n_comments = 2,
	.get_comment = comment_cb, .get_comment_ctx = two_comments,
};

static const struct collab_proto_chat chat_empty = {
	.id = SV(C), .anchor = SV("{\"a\":{}}"),
	.user_id = SV(""), .user_name = SV(""),
	.created_at = 0, .resolved = false,
};

static const char chat2_json[] =
	"{'id':'" C "','anchor':{'quote':'x','o':[1,2]},'userId':'u1',"
	"'userName':'Ann','createdAt':5,'resolved':true,'comments':["
	"{'id':'" M "','userId':'u1','userName':'Ann','text':'a \\'quoted\\'\\n\\\\ line',"
	"'createdAt':1},{'id':'a1b2c3d4-0000-4000-8000-000000000001','userId':'u2',"
	"'userName':'B\xc3\xb6','text':'\\u2028\\u0001','createdAt':18446744073709551615}]}";

static const struct collab_proto_user ann = { SV("u1"), SV("Ann"), false };
static const struct collab_proto_user mod = { SV("sub-7"), SV("O'\"Neil\""), true };

enum enc_kind { E_WELCOME, E_SYNCED, E_COUNT, E_ERROR, E_EVENT, E_CHAT };

struct enc_case {
	const char *name;
	enum enc_kind kind;
	struct collab_proto_welcome welcome;
	struct collab_proto_event event;
	const struct collab_proto_chat *chat;
	uint64_t n;
	const struct collab_str *bid;
	enum collab_proto_err code;
	struct collab_str message;
	const char *want;      /* ' for " unless raw */
	bool raw;
};

static const struct collab_str bid_b = SV(B);

static const struct enc_case enc_cases[] = {
	{ .name = "welcome", .kind = E_WELCOME,
	  .welcome = { SV("9b2e7c1a-1f2e-4c3d-8e9f-0a1b2c3d4e5f"), &ann,
		       SV("ep-1"), 57, 3, COLLAB_PROTO_RESYNC_REPLAY },
	  .want = "{'type':'welcome','connectionId':'9b2e7c1a-1f2e-4c3d-8e9f-0a1b2c3d4e5f',"
		  "'user':{'id':'u1','name':'Ann','moderator':false},'epoch':'ep-1',"
		  "'seq':57,'count':3,'resync':'replay'}" },
	{ .name = "welcome anonymous snapshot", .kind = E_WELCOME,
	  .welcome = { SV("c"), NULL, SV("e"), 0, 1,
		       COLLAB_PROTO_RESYNC_SNAPSHOT },
	  .want = "{'type':'welcome','connectionId':'c','user':null,'epoch':'e',"
		  "'seq':0,'count':1,'resync':'snapshot'}" },
	{ .name = "welcome moderator, escaped name", .kind = E_WELCOME,
	  .welcome = { SV("c"), &mod, SV("e"), 18446744073709551615ull, 2,
		       COLLAB_PROTO_RESYNC_REPLAY },
	  .want = "{\"type\":\"welcome\",\"connectionId\":\"c\",\"user\":{\"id\":\"sub-7\","
		  "\"name\":\"O'\\\"Neil\\\"\",\"moderator\":true},\"epoch\":\"e\","
		  "\"seq\":18446744073709551615,\"count\":2,\"resync\":\"replay\"}", .raw = true },
	{ .name = "synced", .kind = E_SYNCED, .n = 57,
	  .want = "{'type':'synced','seq':57}" },
	{ .name = "synced 0", .kind = E_SYNCED, .n = 0,
	  .want = "{'type':'synced','seq':0}" },
	{ .name = "user-count", .kind = E_COUNT, .n = 4,
	  .want = "{'type':'user-count','count':4}" },
	{ .name = "error with broadcastId", .kind = E_ERROR, .bid = &bid_b,
	  .code = COLLAB_PROTO_ERR_FORBIDDEN,
	  .message = SV("only the author or a moderator may delete"),
	  .want = "{'type':'error','broadcastId':'" B "','code':'forbidden',"
		  "'message':'only the author or a moderator may delete'}" },
	{ .name = "error without broadcastId", .kind = E_ERROR, .bid = NULL,
	  .code = COLLAB_PROTO_ERR_INVALID, .message = SV("message is not valid JSON"),
	  .want = "{'type':'error','broadcastId':null,'code':'invalid',"
		  "'message':'message is not valid JSON'}" },
	{ .name = "error not-found", .kind = E_ERROR, .bid = &bid_b,
	  .code = COLLAB_PROTO_ERR_NOT_FOUND, .message = SV(""),
	  .want = "{'type':'error','broadcastId':'" B "','code':'not-found','message':''}" },
	{ .name = "error rate-limited", .kind = E_ERROR, .bid = &bid_b,
	  .code = COLLAB_PROTO_ERR_RATE_LIMITED, .message = SV("slow down"),
	  .want = "{'type':'error','broadcastId':'" B "','code':'rate-limited','message':'slow down'}" },
	{ .name = "error conflict", .kind = E_ERROR, .bid = &bid_b,
	  .code = COLLAB_PROTO_ERR_CONFLICT, .message = SV("x"),
	  .want = "{'type':'error','broadcastId':'" B "','code':'conflict','message':'x'}" },
	{ .name = "error too-large", .kind = E_ERROR, .bid = &bid_b,
	  .code = COLLAB_PROTO_ERR_TOO_LARGE, .message = SV("x"),
	  .want = "{'type':'error','broadcastId':'" B "','code':'too-large','message':'x'}" },
	{ .name = "error unavailable", .kind = E_ERROR, .bid = &bid_b,
	  .code = COLLAB_PROTO_ERR_UNAVAILABLE, .message = SV("x"),
	  .want = "{'type':'error','broadcastId':'" B "','code':'unavailable','message':'x'}" },
	{ .name = "new-text-chat event", .kind = E_EVENT,
	  .event = { .type = COLLAB_PROTO_TYPE_NEW_TEXT_CHAT, .seq = 58,
		     .broadcast_id = SV(B), .ts = 1764151200000ull,
		     .user_id = SV("u1"), .chat = &chat1 },
	  .want = "{'type':'new-text-chat','seq':58,'broadcastId':'" B "','ts':1764151200000,'userId':'u1',"
		  "'chat':{'id':'" C "','anchor':{},'userId':'u1','userName':'Ann','createdAt':1764151200000,'resolved':false,"
		  "'comments':[{'id':'" M "','userId':'u1','userName':'Ann','text':'first comment','createdAt':1764151200000}]}}" },
	{ .name = "new-text-chat event, anchor and two comments", .kind = E_EVENT,
	  .event = { .type = COLLAB_PROTO_TYPE_NEW_TEXT_CHAT, .seq = 1,
		     .broadcast_id = SV(B), .ts = 2,
		     .user_id = SV("u1"), .chat = &chat2 },
	  .want = NULL /* checked by test_event_chat */ },
	{ .name = "add-comment event", .kind = E_EVENT,
	  .event = { .type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
		     .action = COLLAB_PROTO_ACTION_ADD_COMMENT, .seq = 59,
		     .broadcast_id = SV(B), .ts = 1764151200001ull,
		     .user_id = SV("u2"), .chat_id = SV(C),
		     .comment = &(const struct collab_proto_comment){
			     SV(M), SV("u2"), SV("Bo"),
			     SV("..."), 1764151200001ull } },
	  .want = "{'type':'updated-text-chat','seq':59,'broadcastId':'" B "','ts':1764151200001,'userId':'u2',"
		  "'chatId':'" C "','action':'add-comment',"
		  "'comment':{'id':'" M "','userId':'u2','userName':'Bo','text':'...','createdAt':1764151200001}}" },
	{ .name = "edit-comment event", .kind = E_EVENT,
	  .event = { .type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
		     .action = COLLAB_PROTO_ACTION_EDIT_COMMENT, .seq = 60,
		     .broadcast_id = SV(B), .ts = 7,
		     .user_id = SV("u2"), .chat_id = SV(C),
		     .comment_id = SV(M), .text = SV("new text") },
	  .want = "{'type':'updated-text-chat','seq':60,'broadcastId':'" B "','ts':7,'userId':'u2',"
		  "'chatId':'" C "','action':'edit-comment','commentId':'" M "','text':'new text'}" },
	{ .name = "delete-comment event", .kind = E_EVENT,
	  .event = { .type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
		     .action = COLLAB_PROTO_ACTION_DELETE_COMMENT, .seq = 61,
		     .broadcast_id = SV(B), .ts = 8,
		     .user_id = SV("u1"), .chat_id = SV(C),
		     .comment_id = SV(M), .text = SV("ignored") },
	  .want = "{'type':'updated-text-chat','seq':61,'broadcastId':'" B "','ts':8,'userId':'u1',"
		  "'chatId':'" C "','action':'delete-comment','commentId':'" M "'}" },
	{ .name = "resolve event", .kind = E_EVENT,
	  .event = { .type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
		     .action = COLLAB_PROTO_ACTION_RESOLVE, .seq = 62,
		     .broadcast_id = SV(B), .ts = 9,
		     .user_id = SV("u1"), .chat_id = SV(C),
		     .resolved = true },
	  .want = "{'type':'updated-text-chat','seq':62,'broadcastId':'" B "','ts':9,'userId':'u1',"
		  "'chatId':'" C "','action':'resolve','resolved':true}" },
	{ .name = "unresolve event", .kind = E_EVENT,
	  .event = { .type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
		     .action = COLLAB_PROTO_ACTION_RESOLVE, .seq = 62,
		     .broadcast_id = SV(B), .ts = 9,
		     .user_id = SV("u1"), .chat_id = SV(C),
		     .resolved = false },
	  .want = "{'type':'updated-text-chat','seq':62,'broadcastId':'" B "','ts':9,'userId':'u1',"
		  "'chatId':'" C "','action':'resolve','resolved':false}" },
	{ .name = "deleted-text-chat event", .kind = E_EVENT,
	  .event = { .type = COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT, .seq = 63,
		     .broadcast_id = SV(B), .ts = 10,
		     .user_id = SV("u1"), .chat_id = SV(C) },
	  .want = "{'type':'deleted-text-chat','seq':63,'broadcastId':'" B "','ts':10,'userId':'u1',"
		  "'chatId':'" C "'}" },
	{ .name = "chat", .kind = E_CHAT, .chat = &chat2, .want = chat2_json },
	{ .name = "chat via callback", .kind = E_CHAT, .chat = &chat2_cb, .want = chat2_json },
	{ .name = "chat without comments", .kind = E_CHAT, .chat = &chat_empty,
	  .want = "{'id':'" C "','anchor':{'a':{}},'userId':'','userName':'',"
		  "'createdAt':0,'resolved':false,'comments':[]}" },
};

static int run_enc(const struct enc_case *tc, uint8_t *out, size_t cap,
		   size_t *len)
{
	switch (tc->kind) {
	case E_WELCOME: return collab_proto_encode_welcome(&tc->welcome, out, cap, len);
	case E_SYNCED: return collab_proto_encode_synced(tc->n, out, cap, len);
	case E_COUNT: return collab_proto_encode_user_count(tc->n, out, cap, len);
	case E_ERROR:
		return collab_proto_encode_error(tc->bid, tc->code, tc->message,
						 out, cap, len);
	case E_EVENT: return collab_proto_encode_event(&tc->event, out, cap, len);
	case E_CHAT: return collab_proto_encode_chat(tc->chat, out, cap, len);
	}
	return -1000;
}

/* Parses out[0..len) strictly as a JSON object. */
static void reparse(const uint8_t *out, size_t len, struct collab_json_node *nodes,
		    size_t max, struct collab_json_doc *doc)
{
	struct collab_json_config cfg;

	collab_json_config_init(&cfg);
	cfg.max_input = len;
	ck_assert_int_eq(collab_json_parse(&cfg, out, len, nodes, max, doc), 0);
	ck_assert_int_eq(collab_json_type(doc, 0), COLLAB_JSON_OBJECT);
}

START_TEST(test_encode)
{
	const struct enc_case *tc = &enc_cases[_i];
	uint8_t buf[2048];
	size_t len = 0, want_len;
	char *want = NULL;
	struct collab_json_node nodes[512];
	struct collab_json_doc doc;

	ck_assert_int_eq(run_enc(tc, buf, sizeof buf, &len), 0);
	if (tc->want != NULL) {
		want = tc->raw ? strdup(tc->want) : q(tc->want, strlen(tc->want));
		ck_assert_msg(len == strlen(want) && memcmp(buf, want, len) == 0,
			      "%s:\n got %.*s\nwant %s", tc->name, (int)len, buf, want);
	}
	reparse(buf, len, nodes, ARRAY_LEN(nodes), &doc);
	want_len = len;

	/* every smaller buffer: COLLAB_ESPACE and nothing past it written;
	 * the exact size: the same bytes */
	for (size_t cap = 0; cap <= want_len; cap++) {
		uint8_t *out = malloc(cap + 1);
		size_t l2 = 12345;
		int rc;
		ck_assert_ptr_nonnull(out);
		out[cap] = 0xA5;
		rc = run_enc(tc, cap ? out : NULL, cap, &l2);
		ck_assert_uint_eq(out[cap], 0xA5);
		if (cap < want_len) {
			ck_assert_msg(rc == COLLAB_ESPACE, "%s cap %zu rc %d", tc->name, cap, rc);
			ck_assert_uint_eq(l2, 12345);
		} else {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(l2, want_len);
			ck_assert(memcmp(out, buf, want_len) == 0);
		}
		free(out);
	}
	free(want);
}
END_TEST

/* The event with a real anchor and two comments: exact bytes are the
 * event envelope around exactly collab_proto_encode_chat()'s output. */
START_TEST(test_event_chat)
{
	uint8_t ev[1024], ch[1024];
	size_t elen, clen;
	char *want = q(chat2_json, sizeof chat2_json - 1);
	char prefix[] = "{\"type\":\"new-text-chat\",\"seq\":1,\"broadcastId\":\"" B
		"\",\"ts\":2,\"userId\":\"u1\",\"chat\":";
	struct collab_proto_event e = {
		.type = COLLAB_PROTO_TYPE_NEW_TEXT_CHAT, .seq = 1,
		.broadcast_id = COLLAB_STR(B), .ts = 2,
		.user_id = COLLAB_STR("u1"), .chat = &chat2_cb,
	};

	ck_assert_int_eq(collab_proto_encode_chat(&chat2, ch, sizeof ch, &clen), 0);
	ck_assert_uint_eq(clen, strlen(want));
	ck_assert(memcmp(ch, want, clen) == 0);
	ck_assert_int_eq(collab_proto_encode_event(&e, ev, sizeof ev, &elen), 0);
	ck_assert_uint_eq(elen, sizeof prefix - 1 + clen + 1);
	ck_assert(memcmp(ev, prefix, sizeof prefix - 1) == 0);
	ck_assert(memcmp(ev + sizeof prefix - 1, ch, clen) == 0);
	ck_assert_uint_eq(ev[elen - 1], '}');
	free(want);
}
END_TEST

START_TEST(test_encode_errors)
{
	uint8_t out[1024];
	size_t len = 0;
	struct collab_proto_welcome w = { COLLAB_STR("c"), NULL, COLLAB_STR("e"),
					  0, 0, COLLAB_PROTO_RESYNC_REPLAY };
	struct collab_proto_event ev = {
		.type = COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT,
		.broadcast_id = COLLAB_STR(B), .chat_id = COLLAB_STR(C),
		.user_id = COLLAB_STR("u"),
	};
	struct collab_proto_chat bad = chat1;
	struct collab_str badutf = { "\xc3", 1 };

	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, &len), 0);
	ck_assert_int_eq(collab_proto_encode_event(NULL, out, sizeof out, &len), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_event(&ev, NULL, 5, &len), COLLAB_EINVAL);
	ev.action = COLLAB_PROTO_ACTION_RESOLVE;   /* deleted takes no action */
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, &len), COLLAB_EINVAL);
	ev.type = COLLAB_PROTO_TYPE_HELLO;
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, &len), COLLAB_EINVAL);
	ev.type = COLLAB_PROTO_TYPE_NONE;
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, &len), COLLAB_EINVAL);
	ev.type = (enum collab_proto_type)99;
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, &len), COLLAB_EINVAL);
	ev.type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT;
	ev.action = COLLAB_PROTO_ACTION_NONE;
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, &len), COLLAB_EINVAL);
	ev.action = (enum collab_proto_action)99;
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, &len), COLLAB_EINVAL);
	ev.action = COLLAB_PROTO_ACTION_ADD_COMMENT;  /* comment missing */
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, &len), COLLAB_EINVAL);
	ev.type = COLLAB_PROTO_TYPE_NEW_TEXT_CHAT;
	ev.action = COLLAB_PROTO_ACTION_NONE;          /* chat missing */
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, &len), COLLAB_EINVAL);
	ev.chat = &bad;
	bad.anchor = COLLAB_STR("[]");
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, &len), COLLAB_EINVAL);
	bad.anchor = COLLAB_STR("{");
	ck_assert_int_eq(collab_proto_encode_chat(&bad, out, sizeof out, &len), COLLAB_EINVAL);
	bad.anchor = (struct collab_str){ NULL, 0 };
	ck_assert_int_eq(collab_proto_encode_chat(&bad, out, sizeof out, &len), COLLAB_EINVAL);
	bad.anchor = COLLAB_STR("{}");
	bad.comments = NULL;     /* n_comments 1, no source */
	ck_assert_int_eq(collab_proto_encode_chat(&bad, out, sizeof out, &len), COLLAB_EINVAL);
	bad.n_comments = 0;
	ck_assert_int_eq(collab_proto_encode_chat(&bad, out, sizeof out, &len), 0);
	ck_assert_int_eq(collab_proto_encode_chat(NULL, out, sizeof out, &len), COLLAB_EINVAL);
	bad.user_name = badutf;
	ck_assert_int_eq(collab_proto_encode_chat(&bad, out, sizeof out, &len), COLLAB_EUTF8);

	ck_assert_int_eq(collab_proto_encode_welcome(&w, out, sizeof out, &len), 0);
	w.resync = (enum collab_proto_resync)2;
	ck_assert_int_eq(collab_proto_encode_welcome(&w, out, sizeof out, &len), COLLAB_EINVAL);
	w.resync = COLLAB_PROTO_RESYNC_SNAPSHOT;
	w.epoch = badutf;
	ck_assert_int_eq(collab_proto_encode_welcome(&w, out, sizeof out, &len), COLLAB_EUTF8);
	ck_assert_int_eq(collab_proto_encode_welcome(NULL, out, sizeof out, &len), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_error(NULL, COLLAB_PROTO_ERR_NONE,
						   COLLAB_STR("x"), out, sizeof out, &len),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_error(NULL, (enum collab_proto_err)42,
						   COLLAB_STR("x"), out, sizeof out, &len),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_error(NULL, COLLAB_PROTO_ERR_INVALID,
						   badutf, out, sizeof out, &len),
			 COLLAB_EUTF8);
	ck_assert_int_eq(collab_proto_encode_synced(1, out, sizeof out, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_user_count(1, NULL, 3, &len), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_op_error(NULL, out, sizeof out, &len), COLLAB_EINVAL);
}
END_TEST

START_TEST(test_names)
{
	static const char *const want[] = { NULL, "invalid", "forbidden", "not-found",
		"conflict", "too-large", "rate-limited", "unavailable" };
	for (int i = 0; i < (int)ARRAY_LEN(want); i++) {
		const char *n = collab_proto_err_name((enum collab_proto_err)i);
		if (want[i] == NULL)
			ck_assert_ptr_null(n);
		else
			ck_assert_str_eq(n, want[i]);
	}
	ck_assert_ptr_null(collab_proto_err_name((enum collab_proto_err)8));
	ck_assert_ptr_null(collab_proto_err_name((enum collab_proto_err)-1));
	ck_assert_ptr_null(collab_proto_type_name(COLLAB_PROTO_TYPE_NONE));
	ck_assert_str_eq(collab_proto_type_name(COLLAB_PROTO_TYPE_HELLO), "hello");
	ck_assert_str_eq(collab_proto_type_name(COLLAB_PROTO_TYPE_NEW_TEXT_CHAT), "new-text-chat");
	ck_assert_str_eq(collab_proto_type_name(COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT), "updated-text-chat");
	ck_assert_str_eq(collab_proto_type_name(COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT), "deleted-text-chat");
	ck_assert_ptr_null(collab_proto_type_name((enum collab_proto_type)9));
	ck_assert_ptr_null(collab_proto_action_name(COLLAB_PROTO_ACTION_NONE));
	ck_assert_str_eq(collab_proto_action_name(COLLAB_PROTO_ACTION_ADD_COMMENT), "add-comment");
	ck_assert_str_eq(collab_proto_action_name(COLLAB_PROTO_ACTION_EDIT_COMMENT), "edit-comment");
	ck_assert_str_eq(collab_proto_action_name(COLLAB_PROTO_ACTION_DELETE_COMMENT), "delete-comment");
	ck_assert_str_eq(collab_proto_action_name(COLLAB_PROTO_ACTION_RESOLVE), "resolve");
	ck_assert_ptr_null(collab_proto_action_name((enum collab_proto_action)9));
}
END_TEST

/* ---- round trips: client op -> event -> JSON ------------------------------ */

/* The event the server would broadcast for a parsed op. */
static void event_of(const struct collab_proto_op *op, struct collab_proto_event *ev,
		     struct collab_proto_chat *chat, struct collab_proto_comment *cm)
{
	memset(ev, 0, sizeof *ev);
	memset(chat, 0, sizeof *chat);
	memset(cm, 0, sizeof *cm);
	ev->type = op->type;
	ev->action = op->action;
	ev->seq = 58;
	ev->broadcast_id = collab_proto_id_str(&op->broadcast_id);
	ev->ts = 1764151200000ull;
	ev->user_id = COLLAB_STR("u1");
	ev->chat_id = collab_proto_id_str(&op->chat_id);
	ev->comment_id = collab_proto_id_str(&op->comment_id);
	ev->text = op->text;
	ev->resolved = op->resolved;
	cm->id = collab_proto_id_str(&op->comment_id);
	cm->user_id = COLLAB_STR("u1");
	cm->user_name = COLLAB_STR("Ann");
	cm->text = op->text;
	cm->created_at = ev->ts;
	ev->comment = cm;
	chat->id = collab_proto_id_str(&op->chat_id);
	chat->anchor = op->anchor;
	chat->user_id = COLLAB_STR("u1");
	chat->user_name = COLLAB_STR("Ann");
	chat->created_at = ev->ts;
	chat->comments = cm;
	chat->n_comments = 1;
	ev->chat = chat;
}

static void expect_str_member(const struct collab_json_doc *d, uint32_t obj,
			      const char *key, struct collab_str want)
{
	uint32_t v = collab_json_obj_get(d, obj, key, strlen(key));
	ck_assert_msg(collab_json_str_eq(d, v, want.p, want.len), "member %s", key);
}

START_TEST(test_roundtrip)
{
	const struct op_case *tc = &op_cases[_i];
	char *in = q(tc->json, strlen(tc->json));
	struct parsed r;
	struct collab_proto_event ev;
	struct collab_proto_chat chat;
	struct collab_proto_comment cm;
	uint8_t out[4096], anc[4096];
	size_t len = 0, alen = 0;
	struct collab_json_node nodes[512];
	struct collab_json_doc d;
	struct collab_json_writer w;
	uint32_t root, v;
	uint64_t u;
	bool b;

	parse_cfg(&r, NULL, in, strlen(in), false);
	ck_assert_int_eq(r.rc, 0);
	event_of(&r.op, &ev, &chat, &cm);
	ck_assert_int_eq(collab_proto_encode_event(&ev, out, sizeof out, &len), 0);
	reparse(out, len, nodes, ARRAY_LEN(nodes), &d);
	root = 0;
	/* the type and the members PROTOCOL.md 5 says this event has */
	expect_str_member(&d, root, "type", (struct collab_str){
		collab_proto_type_name(tc->type), strlen(collab_proto_type_name(tc->type)) });
	ck_assert_int_eq(collab_json_get_u64(&d, collab_json_obj_get(&d, root, "seq", 3), &u), 0);
	ck_assert_uint_eq(u, 58);
	expect_str_member(&d, root, "broadcastId", ev.broadcast_id);
	expect_str_member(&d, root, "userId", COLLAB_STR("u1"));
	if (tc->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		uint32_t ch = collab_json_obj_get(&d, root, "chat", 4), cms, c0;
		ck_assert_uint_eq(collab_json_count(&d, root), 6);
		expect_str_member(&d, ch, "id", COLLAB_STR(C));
		/* the anchor is relayed byte for byte as parse stored it */
		v = collab_json_obj_get(&d, ch, "anchor", 6);
		ck_assert(str_is(collab_json_raw(&d, v), r.op.anchor.p, r.op.anchor.len));
		collab_json_writer_init(&w, anc, sizeof anc);
		ck_assert_int_eq(collab_json_write_node(&w, &d, v), 0);
		ck_assert_int_eq(collab_json_writer_finish(&w, &alen), 0);
		ck_assert(str_is(r.op.anchor, (const char *)anc, alen));
		cms = collab_json_obj_get(&d, ch, "comments", 8);
		ck_assert_uint_eq(collab_json_count(&d, cms), 1);
		c0 = collab_json_first(&d, cms);
		expect_str_member(&d, c0, "id", COLLAB_STR(M));
		expect_str_member(&d, c0, "text", r.op.text);
	} else {
		expect_str_member(&d, root, "chatId", collab_proto_id_str(&r.op.chat_id));
	}
	switch (tc->action) {
	case COLLAB_PROTO_ACTION_ADD_COMMENT:
		v = collab_json_obj_get(&d, root, "comment", 7);
		expect_str_member(&d, v, "text", r.op.text);
		expect_str_member(&d, v, "id", COLLAB_STR(M));
		ck_assert_uint_eq(collab_json_count(&d, v), 5);
		break;
	case COLLAB_PROTO_ACTION_EDIT_COMMENT:
		expect_str_member(&d, root, "text", r.op.text);
		expect_str_member(&d, root, "commentId", COLLAB_STR(M));
		break;
	case COLLAB_PROTO_ACTION_DELETE_COMMENT:
		expect_str_member(&d, root, "commentId", COLLAB_STR(M));
		ck_assert_uint_eq(collab_json_count(&d, root), 8);
		break;
	case COLLAB_PROTO_ACTION_RESOLVE:
		ck_assert_int_eq(collab_json_get_bool(&d, collab_json_obj_get(&d, root, "resolved", 8), &b), 0);
		ck_assert(b == tc->resolved);
		break;
	case COLLAB_PROTO_ACTION_NONE:
		break;
	}
	parsed_free(&r);
	free(in);
}
END_TEST

/* A rejected op's error reply: broadcastId echoed or null, code, message. */
START_TEST(test_op_error_reply)
{
	const struct bad_case *tc = &bad_cases[_i];
	char *in = q(tc->json, strlen(tc->json));
	struct parsed r;
	uint8_t out[512];
	size_t len = 0;
	struct collab_json_node nodes[64];
	struct collab_json_doc d;
	uint32_t v;

	parse_cfg(&r, NULL, in, strlen(in), false);
	ck_assert_int_eq(collab_proto_encode_op_error(&r.op, out, sizeof out, &len), 0);
	reparse(out, len, nodes, ARRAY_LEN(nodes), &d);
	ck_assert_uint_eq(collab_json_count(&d, 0), 4);
	expect_str_member(&d, 0, "type", COLLAB_STR("error"));
	v = collab_json_obj_get(&d, 0, "broadcastId", 11);
	if (tc->has_bid)
		ck_assert(collab_json_str_eq(&d, v, B, 36));
	else
		ck_assert_int_eq(collab_json_type(&d, v), COLLAB_JSON_NULL);
	expect_str_member(&d, 0, "code", COLLAB_STR("invalid"));
	expect_str_member(&d, 0, "message",
			  (struct collab_str){ r.op.message, r.op.message_len });
	parsed_free(&r);
	free(in);
}
END_TEST

/* ---- batch ---------------------------------------------------------------- */

/* An event-shaped object of exactly n >= 10 bytes: {"k":"xxx"}. */
static struct collab_str fake_event(size_t n)
{
	char *p = malloc(n);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(n, 8);
	memcpy(p, "{\"k\":\"", 6);
	memset(p + 6, 'x', n - 8);
	memcpy(p + n - 2, "\"}", 2);
	return (struct collab_str){ p, n };
}

/* Encodes the next batch of ev[0..n), checks it against batch_next's
 * promise and returns how many events it took. */
static size_t next_batch(const struct collab_proto_config *cfg,
			 const struct collab_str *ev, size_t n)
{
	size_t mlen = 0, len = 0;
	size_t k = collab_proto_batch_next(cfg, ev, n, &mlen);
	uint8_t *out = malloc(mlen + 1);
	struct collab_json_node *nodes = calloc(mlen, sizeof *nodes);
	struct collab_json_doc d;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(nodes);
	ck_assert_uint_ge(k, 1);
	ck_assert_uint_le(k, n);
	ck_assert_int_eq(collab_proto_encode_batch(ev, k, out, mlen, &len), 0);
	ck_assert_uint_eq(len, mlen);
	if (k == 1) {
		/* a single event goes out bare */
		ck_assert(str_is(ev[0], (const char *)out, len));
	} else {
		uint32_t arr, e;
		size_t i = 0;
		ck_assert_uint_le(len, cfg ? cfg->max_batch : COLLAB_PROTO_DEFAULT_MAX_BATCH);
		reparse(out, len, nodes, mlen, &d);
		ck_assert_uint_eq(collab_json_count(&d, 0), 2);
		ck_assert(collab_json_str_eq(&d, collab_json_obj_get(&d, 0, "type", 4),
					     "batch", 5));
		arr = collab_json_obj_get(&d, 0, "events", 6);
		ck_assert_uint_eq(collab_json_count(&d, arr), k);
		for (e = collab_json_first(&d, arr); e != COLLAB_JSON_NONE;
		     e = collab_json_next(&d, e), i++)
			ck_assert(str_is(collab_json_raw(&d, e), ev[i].p, ev[i].len));
	}
	free(out);
	free(nodes);
	return k;
}

START_TEST(test_batch_exact_limit)
{
	/* two events: 26 + a + 1 + b + 2 == 65536 */
	struct collab_str ev[3];
	size_t mlen = 0;

	ev[0] = fake_event(30000);
	ev[1] = fake_event(65536 - 29 - 30000);
	ev[2] = fake_event(10);
	ck_assert_uint_eq(collab_proto_batch_next(NULL, ev, 2, &mlen), 2);
	ck_assert_uint_eq(mlen, 65536);
	ck_assert_uint_eq(next_batch(NULL, ev, 2), 2);
	/* the third would pass the limit */
	ck_assert_uint_eq(collab_proto_batch_next(NULL, ev, 3, &mlen), 2);
	ck_assert_uint_eq(next_batch(NULL, ev + 2, 1), 1);
	free((void *)ev[1].p);
	/* one byte more: the first goes out bare, then the second bare */
	ev[1] = fake_event(65536 - 29 - 30000 + 1);
	ck_assert_uint_eq(collab_proto_batch_next(NULL, ev, 3, &mlen), 1);
	ck_assert_uint_eq(mlen, 30000);
	ck_assert_uint_eq(collab_proto_batch_next(NULL, ev + 1, 1, &mlen), 1);
	ck_assert_uint_eq(mlen, 35508);
	ck_assert_uint_eq(collab_proto_batch_next(NULL, ev + 1, 2, &mlen), 2);
	ck_assert_uint_eq(mlen, 28 + 35508 + 1 + 10);
	for (size_t i = 0; i < 3; i++)
		free((void *)ev[i].p);
}
END_TEST

START_TEST(test_batch_edges)
{
	struct collab_proto_config cfg;
	struct collab_str ev[4];
	size_t mlen = 7;
	uint8_t out[256];
	size_t len;

	collab_proto_config_init(&cfg);
	ck_assert_uint_eq(collab_proto_batch_next(NULL, NULL, 0, &mlen), 0);
	ck_assert_uint_eq(mlen, 0);
	ck_assert_uint_eq(collab_proto_batch_next(NULL, ev, 0, NULL), 0);
	/* an event larger than any batch goes out bare */
	ev[0] = fake_event(70000);
	ev[1] = fake_event(10);
	ck_assert_uint_eq(collab_proto_batch_next(NULL, ev, 2, &mlen), 1);
	ck_assert_uint_eq(mlen, 70000);
	ck_assert_uint_eq(collab_proto_batch_next(NULL, ev + 1, 1, &mlen), 1);
	ck_assert_uint_eq(mlen, 10);
	free((void *)ev[0].p);
	/* a small limit: 28 bytes of envelope + 10 + 1 + 10 = 49 */
	ev[0] = fake_event(10);
	ev[2] = fake_event(10);
	ev[3] = fake_event(10);
	cfg.max_batch = 49;
	ck_assert_uint_eq(collab_proto_batch_next(&cfg, ev, 4, &mlen), 2);
	ck_assert_uint_eq(mlen, 49);
	ck_assert_uint_eq(next_batch(&cfg, ev, 4), 2);
	cfg.max_batch = 48;
	ck_assert_uint_eq(collab_proto_batch_next(&cfg, ev, 4, &mlen), 1);
	cfg.max_batch = 60;  /* 49 + 11 = 60: three */
	ck_assert_uint_eq(collab_proto_batch_next(&cfg, ev, 4, &mlen), 3);
	ck_assert_uint_eq(mlen, 60);
	cfg.max_batch = 0;
	ck_assert_uint_eq(collab_proto_batch_next(&cfg, ev, 4, &mlen), 1);
	cfg.max_batch = SIZE_MAX;
	ck_assert_uint_eq(collab_proto_batch_next(&cfg, ev, 4, &mlen), 4);
	ck_assert_uint_eq(mlen, 28 + 40 + 3);
	/* exact output for a two-event batch */
	ck_assert_int_eq(collab_proto_encode_batch(ev, 2, out, sizeof out, &len), 0);
	ck_assert_uint_eq(len, 49);
	ck_assert(memcmp(out, "{\"type\":\"batch\",\"events\":[{\"k\":\"xx\"},"
			 "{\"k\":\"xx\"}]}", 49) == 0);
	for (size_t cap = 0; cap < 49; cap++)
		ck_assert_int_eq(collab_proto_encode_batch(ev, 2, out, cap, &len), COLLAB_ESPACE);
	ck_assert_int_eq(collab_proto_encode_batch(ev, 1, out, 9, &len), COLLAB_ESPACE);
	ck_assert_int_eq(collab_proto_encode_batch(ev, 0, out, sizeof out, &len), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_batch(NULL, 2, out, sizeof out, &len), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_batch(ev, 2, NULL, 10, &len), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_encode_batch(ev, 2, out, sizeof out, NULL), COLLAB_EINVAL);
	for (size_t i = 0; i < 4; i++)
		free((void *)ev[i].p);
}
END_TEST

/* batch never nests, user-count is never batched, events are objects */
START_TEST(test_batch_refuses)
{
	static const struct collab_str bad[] = {
		SV("{\"type\":\"batch\",\"events\":[]}"),
		SV("{\"type\":\"user-count\",\"count\":4}"),
		SV("[]"),
		SV("{"),
		SV(""),
		SV("x"),
	};
	struct collab_str ev[2] = { SV("{\"type\":\"synced\",\"seq\":1}") };
	uint8_t out[256];
	size_t len;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		ev[1] = bad[i];
		ck_assert_int_eq(collab_proto_encode_batch(ev, 2, out, sizeof out, &len),
				 COLLAB_EINVAL);
		ck_assert_int_eq(collab_proto_encode_batch(&bad[i], 1, out, sizeof out, &len),
				 COLLAB_EINVAL);
	}
}
END_TEST

/* Many real events under the default limit: every message within it,
 * and each one full (the next event would have passed it). */
START_TEST(test_batch_many)
{
	enum { N = 300 };
	struct collab_str ev[N];
	size_t i = 0;

	for (size_t j = 0; j < N; j++)
		ev[j] = fake_event(10 + (j * 7919) % 3000);
	while (i < N) {
		size_t mlen, k = collab_proto_batch_next(NULL, ev + i, N - i, &mlen);
		ck_assert_uint_eq(next_batch(NULL, ev + i, N - i), k);
		if (i + k < N) {
			size_t would = (k == 1 ? 28 + ev[i].len : mlen) + 1 + ev[i + k].len;
			ck_assert_uint_gt(would, COLLAB_PROTO_DEFAULT_MAX_BATCH);
		}
		i += k;
	}
	for (size_t j = 0; j < N; j++)
		free((void *)ev[j].p);
}
END_TEST

/* ---- snapshot ------------------------------------------------------------- */

START_TEST(test_snapshot_empty)
{
	uint8_t out[128];
	struct collab_proto_snapshot s;
	size_t len = 0;
	static const char want[] = "{\"type\":\"snapshot\",\"seq\":57,\"reset\":true,\"chats\":[]}";

	ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, 57, true, out, sizeof out), 0);
	ck_assert_int_eq(collab_proto_snapshot_finish(&s, &len), 0);
	ck_assert_uint_eq(len, sizeof want - 1);
	ck_assert(memcmp(out, want, len) == 0);
	/* exactly the room of the empty message, and one byte less */
	ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, 57, true, out, sizeof want - 1), 0);
	ck_assert_int_eq(collab_proto_snapshot_add_raw(&s, (const uint8_t *)"{}", 2), COLLAB_ESPACE);
	ck_assert_int_eq(collab_proto_snapshot_finish(&s, &len), 0);
	ck_assert(memcmp(out, want, len) == 0);
	ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, 57, true, out, sizeof want - 2),
			 COLLAB_ESPACE);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat1), COLLAB_ESPACE);
	ck_assert_int_eq(collab_proto_snapshot_finish(&s, &len), COLLAB_ESPACE);
	ck_assert_int_eq(collab_proto_snapshot_begin(NULL, NULL, 1, true, out, 10), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, 1, true, NULL, 10), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat1), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_snapshot_add(NULL, &chat1), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_snapshot_add_raw(NULL, out, 2), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_snapshot_finish(NULL, &len), COLLAB_EINVAL);
}
END_TEST

START_TEST(test_snapshot_exact)
{
	uint8_t out[2048], c1[1024], c2[1024];
	size_t len = 0, l1, l2;
	struct collab_proto_snapshot s;
	char *want;

	ck_assert_int_eq(collab_proto_encode_chat(&chat1, c1, sizeof c1, &l1), 0);
	ck_assert_int_eq(collab_proto_encode_chat(&chat2, c2, sizeof c2, &l2), 0);
	ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, 9, false, out, sizeof out), 0);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat1), 0);
	ck_assert_int_eq(collab_proto_snapshot_add_raw(&s, c2, l2), 0);
	ck_assert_uint_eq(s.n_chats, 2);
	ck_assert_int_eq(collab_proto_snapshot_finish(&s, &len), 0);
	want = malloc(l1 + l2 + 128);
	ck_assert_ptr_nonnull(want);
	snprintf(want, l1 + l2 + 128,
		 "{\"type\":\"snapshot\",\"seq\":9,\"reset\":false,\"chats\":[%.*s,%.*s]}",
		 (int)l1, c1, (int)l2, c2);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert(memcmp(out, want, len) == 0);
	free(want);
	/* and it is a chat of new-text-chat's shape, byte for byte */
	ck_assert(memcmp(c1, "{\"id\":\"" C "\",\"anchor\":{},\"userId\":\"u1\",\"userName\":\"Ann\","
			 "\"createdAt\":1764151200000,\"resolved\":false,\"comments\":[{\"id\":\""
			 M "\",\"userId\":\"u1\",\"userName\":\"Ann\",\"text\":\"first comment\","
			 "\"createdAt\":1764151200000}]}", l1) == 0);
}
END_TEST

/* The limit counts the whole message: at exactly the limit both chats go
 * in one message, one byte less splits them. */
START_TEST(test_snapshot_limit)
{
	struct collab_proto_config cfg;
	struct collab_proto_snapshot s;
	uint8_t out[4096];
	size_t len = 0, two;

	ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, 1, true, out, sizeof out), 0);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat1), 0);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat2), 0);
	ck_assert_int_eq(collab_proto_snapshot_finish(&s, &two), 0);

	collab_proto_config_init(&cfg);
	cfg.max_snapshot = two;
	ck_assert_int_eq(collab_proto_snapshot_begin(&s, &cfg, 1, true, out, sizeof out), 0);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat1), 0);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat2), 0);
	ck_assert_int_eq(collab_proto_snapshot_finish(&s, &len), 0);
	ck_assert_uint_eq(len, two);

	cfg.max_snapshot = two - 1;
	for (int raw = 0; raw < 2; raw++) {
		uint8_t c2[1024];
		size_t l2;
		ck_assert_int_eq(collab_proto_encode_chat(&chat2, c2, sizeof c2, &l2), 0);
		ck_assert_int_eq(collab_proto_snapshot_begin(&s, &cfg, 1, true, out, sizeof out), 0);
		ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat1), 0);
		if (raw)
			ck_assert_int_eq(collab_proto_snapshot_add_raw(&s, c2, l2), COLLAB_ELIMIT);
		else
			ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat2), COLLAB_ELIMIT);
		ck_assert_uint_eq(s.n_chats, 1);
		ck_assert_int_eq(collab_proto_snapshot_finish(&s, &len), 0);
		ck_assert_uint_eq(len, two - l2 - 1);
		/* a chat larger than the limit still goes alone */
		cfg.max_snapshot = 10;
		ck_assert_int_eq(collab_proto_snapshot_begin(&s, &cfg, 1, false, out, sizeof out), 0);
		ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat2), 0);
		ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat1), COLLAB_ELIMIT);
		ck_assert_int_eq(collab_proto_snapshot_finish(&s, &len), 0);
		cfg.max_snapshot = two - 1;
	}
}
END_TEST

static const struct collab_proto_comment *big_comments(size_t n, char **text)
{
	struct collab_proto_comment *c = calloc(n, sizeof *c);
	*text = malloc(4096);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(*text);
	memset(*text, 'w', 4096);
	for (size_t i = 0; i < n; i++) {
		c[i].id = COLLAB_STR(M);
		c[i].user_id = COLLAB_STR("u");
		c[i].user_name = COLLAB_STR("U");
		c[i].text = (struct collab_str){ *text, 4096 };
		c[i].created_at = i;
	}
	return c;
}

/* Room-sized data: many small chats and one of over 64 KiB, default
 * limit. Every message but the big chat's is within 64 KiB; the first
 * has reset true and the rest false; all chats arrive once, in order
 * (each chat's createdAt is its index). */
struct split_state {
	uint8_t *out;
	size_t cap;
	struct collab_json_node *nodes;
	size_t msgs, seen, big_msgs;
};

static void split_flush(struct split_state *st, struct collab_proto_snapshot *s)
{
	struct collab_json_doc d;
	uint32_t chats, c;
	size_t len = 0;
	bool b;
	uint64_t at;

	ck_assert_int_eq(collab_proto_snapshot_finish(s, &len), 0);
	reparse(st->out, len, st->nodes, st->cap / 2 + 1, &d);
	ck_assert_uint_eq(collab_json_count(&d, 0), 4);
	ck_assert_int_eq(collab_json_get_bool(&d, collab_json_obj_get(&d, 0, "reset", 5), &b), 0);
	ck_assert(b == (st->msgs == 0));
	ck_assert_int_eq(collab_json_get_u64(&d, collab_json_obj_get(&d, 0, "seq", 3), &at), 0);
	ck_assert_uint_eq(at, 77);
	chats = collab_json_obj_get(&d, 0, "chats", 5);
	ck_assert_uint_eq(collab_json_count(&d, chats), s->n_chats);
	ck_assert_uint_ge(s->n_chats, 1);
	if (len > COLLAB_PROTO_DEFAULT_MAX_SNAPSHOT) {
		ck_assert_uint_eq(s->n_chats, 1);
		st->big_msgs++;
	}
	for (c = collab_json_first(&d, chats); c != COLLAB_JSON_NONE;
	     c = collab_json_next(&d, c)) {
		ck_assert_int_eq(collab_json_get_u64(&d, collab_json_obj_get(&d, c, "createdAt", 9), &at), 0);
		ck_assert_uint_eq(at, st->seen);
		st->seen++;
	}
	st->msgs++;
}

START_TEST(test_snapshot_split)
{
	enum { N = 400, BIG_AT = 150 };
	char *text;
	const struct collab_proto_comment *bc = big_comments(20, &text);
	struct collab_proto_chat *chats = calloc(N, sizeof *chats);
	struct split_state st = { NULL, 256 * 1024, NULL, 0, 0, 0 };
	struct collab_proto_snapshot s;

	ck_assert_ptr_nonnull(chats);
	st.out = malloc(st.cap);
	st.nodes = calloc(st.cap / 2 + 1, sizeof *st.nodes);
	ck_assert_ptr_nonnull(st.out);
	ck_assert_ptr_nonnull(st.nodes);
	for (size_t i = 0; i < N; i++) {
		chats[i] = chat2;
		if (i == BIG_AT) {
			chats[i].comments = bc;
			chats[i].n_comments = 20;
		}
		chats[i].created_at = i;
	}
	ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, 77, true, st.out, st.cap), 0);
	for (size_t i = 0; i < N;) {
		int rc = collab_proto_snapshot_add(&s, &chats[i]);
		if (rc == 0) {
			i++;
			continue;
		}
		ck_assert_int_eq(rc, COLLAB_ELIMIT);
		split_flush(&st, &s);
		ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, 77, false, st.out, st.cap), 0);
	}
	split_flush(&st, &s);
	ck_assert_uint_eq(st.big_msgs, 1);
	ck_assert_uint_eq(st.seen, N);
	ck_assert_uint_ge(st.msgs, 4);
	free(st.out);
	free(st.nodes);
	free(chats);
	free((void *)bc);
	free(text);
}
END_TEST

/* Out of buffer: nothing added, the message so far intact. */
START_TEST(test_snapshot_espace)
{
	struct collab_proto_snapshot s;
	size_t len = 0, l1;
	uint8_t c1[512], *out;
	char *text;
	const struct collab_proto_comment *bc = big_comments(1, &text);
	struct collab_proto_chat big = chat1;

	big.comments = bc;
	ck_assert_int_eq(collab_proto_encode_chat(&chat1, c1, sizeof c1, &l1), 0);
	/* one byte short of two chats: 49 + l1 + 1 + l1 + 2 */
	out = malloc(51 + 2 * l1);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, 1, true, out, 51 + 2 * l1), 0);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &big), COLLAB_ESPACE);
	ck_assert_uint_eq(s.n_chats, 0);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat1), 0);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &big), COLLAB_ESPACE);
	ck_assert_int_eq(collab_proto_snapshot_add_raw(&s, c1, l1), COLLAB_ESPACE);
	ck_assert_int_eq(collab_proto_snapshot_add_raw(&s, c1, l1 - 1), COLLAB_EINVAL);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, NULL), COLLAB_EINVAL);
	ck_assert_uint_eq(s.n_chats, 1);
	ck_assert_int_eq(collab_proto_snapshot_finish(&s, &len), 0);
	ck_assert_uint_eq(len, 51 + l1);
	ck_assert(memcmp(out + 49, c1, l1) == 0);
	ck_assert(memcmp(out + len - 2, "]}", 2) == 0);
	/* with the one byte more, the second chat fits */
	ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, 1, true, out, 51 + 2 * l1), 0);
	free(out);
	out = malloc(52 + 2 * l1);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(collab_proto_snapshot_begin(&s, NULL, 1, true, out, 52 + 2 * l1), 0);
	ck_assert_int_eq(collab_proto_snapshot_add_raw(&s, c1, l1), 0);
	ck_assert_int_eq(collab_proto_snapshot_add(&s, &chat1), 0);
	ck_assert_int_eq(collab_proto_snapshot_finish(&s, &len), 0);
	ck_assert_uint_eq(len, 52 + 2 * l1);
	free(out);
	free((void *)bc);
	free(text);
}
END_TEST

/* ---- suite ------------------------------------------------------------------ */

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("parse_op");

	tcase_add_loop_test(tc, test_op_valid, 0, (int)ARRAY_LEN(op_cases));
	tcase_add_loop_test(tc, test_op_prefixes, 0, (int)ARRAY_LEN(op_cases));
	tcase_add_loop_test(tc, test_op_invalid, 0, (int)ARRAY_LEN(bad_cases));
	tcase_add_loop_test(tc, test_text_limit, 0, (int)ARRAY_LEN(text_cases));
	tcase_add_loop_test(tc, test_anchor_limit, 0, (int)ARRAY_LEN(anchor_cases));
	tcase_add_test(tc, test_too_large_order);
	tcase_add_test(tc, test_config_limits);
	tcase_add_test(tc, test_anchor_depth);
	tcase_add_test(tc, test_parse_args);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("hello");
	tcase_add_loop_test(tc, test_hello, 0, (int)ARRAY_LEN(hello_cases));
	tcase_add_test(tc, test_hello_scratch);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_loop_test(tc, test_encode, 0, (int)ARRAY_LEN(enc_cases));
	tcase_add_test(tc, test_event_chat);
	tcase_add_test(tc, test_encode_errors);
	tcase_add_test(tc, test_names);
	tcase_add_loop_test(tc, test_roundtrip, 0, (int)ARRAY_LEN(op_cases));
	tcase_add_loop_test(tc, test_op_error_reply, 0, (int)ARRAY_LEN(bad_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("split");
	tcase_add_test(tc, test_batch_exact_limit);
	tcase_add_test(tc, test_batch_edges);
	tcase_add_test(tc, test_batch_refuses);
	tcase_add_test(tc, test_batch_many);
	tcase_add_test(tc, test_snapshot_empty);
	tcase_add_test(tc, test_snapshot_exact);
	tcase_add_test(tc, test_snapshot_limit);
	tcase_add_test(tc, test_snapshot_split);
	tcase_add_test(tc, test_snapshot_espace);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
