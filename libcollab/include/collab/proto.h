/*
 * collab/proto.h - the application messages of PROTOCOL.md (collab sync
 * protocol, version 1): client messages parsed and validated into structs
 * (sections 3 and 4), server messages encoded to their exact bytes
 * (sections 3 and 5). Neither direction allocates or does I/O; every
 * struct and buffer is the caller's, every limit a field of
 * struct collab_proto_config.
 *
 * PARSING. A client message is one whole WebSocket text message (the ws
 * layer has already checked its size and UTF-8). It is read with the
 * strict JSON reader (collab/json.h) into the caller's node array, and its
 * fields are checked against PROTOCOL.md to the letter:
 *
 *   - The first message goes through collab_proto_parse_hello(): anything
 *     but a well-formed hello is answered with close 4400
 *     (COLLAB_WS_CLOSE_BAD_HELLO), whatever else it is.
 *   - Every later message goes through collab_proto_parse_op(), which
 *     accepts the three operations of section 4 and rejects everything else
 *     (a second hello included, see there) with an error code for the
 *     `error` reply.
 *   - A field of the wrong type is malformed, null included; fields the
 *     text does not show are ignored and never relayed.
 *
 * UUID SPELLING (broadcastId, chat and comment ids). Only the canonical
 * lowercase 36-character form (8-4-4-4-12 hex digits, RFC 9562 section 4)
 * is accepted; the same id in uppercase is a bad UUID (`invalid`). Why:
 * the server relays ids as text and a client recognises the echo of its own
 * operation by the exact broadcastId string (PROTOCOL.md 5), and duplicate
 * and retry detection (section 4) must not see one id under two spellings.
 * Accepting uppercase would force the server either to relay the original
 * spelling (then "the same id" is two strings) or to rewrite it (then the
 * sender misses its echo). Browsers' crypto.randomUUID() and
 * collab_uuid_format() write lowercase, so no real client is refused.
 *
 * SIZE LIMITS ARE `too-large`. `text` longer than max_text bytes (4096) and
 * an `anchor` whose compact re-encoding is longer than max_anchor bytes
 * (2 KiB) are rejected with `too-large`; empty text is `invalid`. Section 4
 * names `invalid` for "not JSON, unknown type, missing or ill-typed field,
 * bad UUID" only, and spells out "empty text is `invalid`" as the exception
 * among the length rules, so an over-long field is not an `invalid` one:
 * it is well-formed and too large, like the per-room limits. When a message
 * has both kinds of fault, `invalid` wins: a rejected message is reported
 * `too-large` only when it is otherwise well-formed.
 *
 * ENCODING. Every server message is produced with the JSON writer, so the
 * output is valid, canonically escaped JSON, with its members in exactly
 * the order of PROTOCOL.md's examples. Strings given as views MUST be valid
 * UTF-8 (COLLAB_EUTF8 otherwise). Messages that embed bytes encoded
 * earlier (an anchor, chats in a snapshot, events in a batch) copy them
 * unchanged: those bytes MUST be what this module produced (an anchor from
 * collab_proto_parse_op(), a chat from collab_proto_encode_chat(), an event
 * from collab_proto_encode_event()); they are checked only for their
 * outer shape.
 *
 * CLIENT SIDE. The section of that name at the end of this header does
 * the reverse, for clients: encodes hello and the operations, parses and
 * iterates server messages.
 *
 * Thread rules: no function keeps state outside its arguments.
 */
#ifndef COLLAB_PROTO_H
#define COLLAB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"
#include "collab/json.h"
#include "collab/uuid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PROTOCOL.md 4: `text` is 1 to 4096 bytes of UTF-8. */
#define COLLAB_PROTO_DEFAULT_MAX_TEXT ((size_t)4096)
/* PROTOCOL.md 4: an anchor is at most 2 KiB as the server re-encodes it. */
#define COLLAB_PROTO_DEFAULT_MAX_ANCHOR ((size_t)2048)
/* PROTOCOL.md 5: a batch is split when it passes 64 KiB of payload. */
#define COLLAB_PROTO_DEFAULT_MAX_BATCH ((size_t)64 * 1024)
/* PROTOCOL.md 3: a snapshot message holds at most 64 KiB of chats. */
#define COLLAB_PROTO_DEFAULT_MAX_SNAPSHOT ((size_t)64 * 1024)
/* Room for a rejection's human-readable message, NUL included. */
#define COLLAB_PROTO_MESSAGE_CAP 96

/* Limits. Fill with collab_proto_config_init(), then adjust. */
struct collab_proto_config {
	size_t max_text;     /* decoded bytes of a `text`; >= 1 */
	size_t max_anchor;   /* bytes of an anchor's compact re-encoding; >= 2 */
	/* Payload bytes of one `batch` message, whole message counted. A
	 * single event goes out bare, however large. */
	size_t max_batch;
	/* Payload bytes of one `snapshot` message, whole message counted
	 * (so it also holds at most that many bytes of chats). A chat too
	 * large for that goes alone in one message. */
	size_t max_snapshot;
	/* The JSON reader's limits for client messages. */
	struct collab_json_config json;
};

/* Sets the defaults above and collab_json_config_init()'s. */
void collab_proto_config_init(struct collab_proto_config *cfg);

/* Error codes of PROTOCOL.md 4, for the `error` reply. */
enum collab_proto_err {
	COLLAB_PROTO_ERR_NONE = 0,     /* not an error: the message is valid */
	COLLAB_PROTO_ERR_INVALID,      /* "invalid" */
	COLLAB_PROTO_ERR_FORBIDDEN,    /* "forbidden" */
	COLLAB_PROTO_ERR_NOT_FOUND,    /* "not-found" */
	COLLAB_PROTO_ERR_CONFLICT,     /* "conflict" */
	COLLAB_PROTO_ERR_TOO_LARGE,    /* "too-large" */
	COLLAB_PROTO_ERR_RATE_LIMITED, /* "rate-limited" */
	COLLAB_PROTO_ERR_UNAVAILABLE   /* "unavailable" */
};

/* The exact wire string of a code ("not-found", ...), static; NULL for
 * COLLAB_PROTO_ERR_NONE and for values outside the enum. */
const char *collab_proto_err_name(enum collab_proto_err e);

enum collab_proto_type {
	COLLAB_PROTO_TYPE_NONE = 0,
	COLLAB_PROTO_TYPE_HELLO,
	COLLAB_PROTO_TYPE_NEW_TEXT_CHAT,
	COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
	COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT
};

enum collab_proto_action {
	COLLAB_PROTO_ACTION_NONE = 0,
	COLLAB_PROTO_ACTION_ADD_COMMENT,
	COLLAB_PROTO_ACTION_EDIT_COMMENT,
	COLLAB_PROTO_ACTION_DELETE_COMMENT,
	COLLAB_PROTO_ACTION_RESOLVE
};

/* Wire names ("new-text-chat", "add-comment", ...), static; NULL for NONE
 * and out-of-range values. */
const char *collab_proto_type_name(enum collab_proto_type t);
const char *collab_proto_action_name(enum collab_proto_action a);

/* ---- parsing client messages ---------------------------------------- */

/*
 * The caller's working memory for one parse. nodes: the JSON reader's
 * node array; it MUST hold COLLAB_JSON_NODES_FOR(len) nodes for a message
 * of len bytes. scratch: where decoded strings (those with escapes) and
 * the re-encoded anchor go; it MUST hold collab_proto_scratch_size(cfg,
 * len) bytes. Both are overwritten by every parse, so the views a parse
 * returns last until the next parse with the same memory.
 */
struct collab_proto_mem {
	struct collab_json_node *nodes;
	size_t max_nodes;
	uint8_t *scratch;
	size_t scratch_cap;
};

/* Scratch bytes a parse of a len-byte message needs under cfg (NULL: the
 * defaults): the larger of len (hello: token and epoch decoded) and
 * max_text + max_anchor (operations). SIZE_MAX if that overflows. */
size_t collab_proto_scratch_size(const struct collab_proto_config *cfg,
				 size_t len);

/* An id as parsed: its 128 bits and its text, which is always the
 * canonical lowercase form and NUL-terminated (see UUID SPELLING). */
struct collab_proto_id {
	struct collab_uuid uuid;
	char text[COLLAB_UUID_STR_LEN + 1];
};

/* The id's text as a view into *id. */
static inline struct collab_str collab_proto_id_str(const struct collab_proto_id *id)
{
	struct collab_str s = { id->text, COLLAB_UUID_STR_LEN };
	return s;
}

/*
 * A parsed `hello` (PROTOCOL.md 3). token and epoch are views of their
 * decoded strings: into the message when the string had no escapes,
 * otherwise into mem's scratch (so valid while both are); either may be
 * empty (""), which is a string like any other. has_since implies epoch is
 * present (both or neither). message names the fault after a rejection.
 */
struct collab_proto_hello {
	bool has_token;
	struct collab_str token;
	bool has_since;          /* since and epoch were both given */
	uint64_t since;          /* 0 .. INT64_MAX */
	struct collab_str epoch;
	char message[COLLAB_PROTO_MESSAGE_CAP]; /* "" on success */
	size_t message_len;
};

/*
 * Parses the first client message, which MUST be a hello (PROTOCOL.md 3):
 * a JSON object whose `type` is "hello", `token` absent or a string,
 * `since` absent or an integer 0 .. 2^63-1 (integer grammar only: 41.0 and
 * 4.1e1 are not), `epoch` absent or a string, `since` and `epoch` both
 * present or both absent. Other members are ignored.
 *
 * cfg NULL means the defaults. p may be NULL only when len is 0. Returns 0
 * with *h filled; COLLAB_EPROTO when the message is not a well-formed
 * hello (the server closes with 4400), with h->message saying why;
 * COLLAB_ESPACE when mem is smaller than it MUST be; COLLAB_EINVAL for
 * NULL h or mem, or a config out of range. The input is only read.
 */
int collab_proto_parse_hello(const struct collab_proto_config *cfg,
			     const struct collab_proto_mem *mem,
			     const uint8_t *p, size_t len,
			     struct collab_proto_hello *h);

/*
 * A parsed operation (PROTOCOL.md 4). Which fields are set:
 *
 *   type                 action          chat_id   comment_id  text  anchor  resolved
 *   NEW_TEXT_CHAT        NONE            chat.id   chat.comment.id  x   x
 *   UPDATED_TEXT_CHAT    ADD_COMMENT     chatId    comment.id   x
 *   UPDATED_TEXT_CHAT    EDIT_COMMENT    chatId    commentId    x
 *   UPDATED_TEXT_CHAT    DELETE_COMMENT  chatId    commentId
 *   UPDATED_TEXT_CHAT    RESOLVE         chatId                               x
 *   DELETED_TEXT_CHAT    NONE            chatId
 *
 * broadcast_id is set for every valid operation. text is a view of the
 * decoded text: into the message when it had no escapes, else into the
 * scratch. anchor is the anchor object re-encoded compactly
 * (collab_json_write_node()) into the scratch: the bytes the server
 * stores and relays. Views last while both the message and mem's scratch
 * do, and until the next parse with the same mem. Unset fields are zero.
 *
 * After a rejection: err and message say why; has_broadcast_id says
 * whether the message had a `broadcastId` that is a valid id (then it is in
 * broadcast_id, for the error reply to echo; else the reply says null);
 * type is the recognised type, or NONE. Other fields are unspecified.
 */
struct collab_proto_op {
	enum collab_proto_type type;
	enum collab_proto_action action;
	bool has_broadcast_id;
	struct collab_proto_id broadcast_id;
	struct collab_proto_id chat_id;
	struct collab_proto_id comment_id;
	struct collab_str text;
	struct collab_str anchor;
	bool resolved;
	enum collab_proto_err err;              /* NONE on success */
	char message[COLLAB_PROTO_MESSAGE_CAP]; /* NUL-terminated; "" on success */
	size_t message_len;
};

/*
 * Parses a client message after the session started. Accepts exactly the
 * operations of PROTOCOL.md 4 and rejects, with err INVALID: input that is
 * not JSON (the reader's limits included), a non-object, a missing or
 * non-string `type`, an unknown `type` or `action`, a missing or ill-typed
 * field (null included), a bad UUID (uppercase included), an empty text,
 * an anchor nested deeper than the writer can re-encode; and a `hello`,
 * since one is allowed only as the first message (PROTOCOL.md 3) and the
 * session has started. With err TOO_LARGE: a text over max_text bytes or an
 * anchor over max_anchor bytes (see SIZE LIMITS). The other codes are the
 * server's to give: they depend on the room and the user.
 *
 * cfg NULL means the defaults. p may be NULL only when len is 0. Returns 0
 * with *op filled (err NONE); COLLAB_EPROTO when the message is rejected
 * (err, message, has_broadcast_id set); COLLAB_ESPACE when mem is smaller
 * than it MUST be; COLLAB_EINVAL for NULL op or mem, or a config out of
 * range. The input is only read.
 */
int collab_proto_parse_op(const struct collab_proto_config *cfg,
			  const struct collab_proto_mem *mem,
			  const uint8_t *p, size_t len,
			  struct collab_proto_op *op);

/* ---- encoding server messages --------------------------------------- */

/*
 * Every encoder writes one complete message into out[0..cap) and sets *len
 * to its length (no NUL). Returns 0; COLLAB_ESPACE when cap is too small
 * (out then holds garbage, *len untouched); COLLAB_EUTF8 for a string view
 * that is not valid UTF-8; COLLAB_EINVAL for NULL pointers (out may be NULL
 * only when cap is 0), an enum out of range, a missing part, or embedded
 * bytes of the wrong outer shape. Nothing is written at or past out + cap.
 * Views given as input MUST NOT overlap out.
 */

/* The connection's user in `welcome`. */
struct collab_proto_user {
	struct collab_str id;      /* the token's sub */
	struct collab_str name;    /* its name, or its sub when it has none */
	bool moderator;
};

enum collab_proto_resync {
	COLLAB_PROTO_RESYNC_REPLAY = 0,
	COLLAB_PROTO_RESYNC_SNAPSHOT
};

struct collab_proto_welcome {
	struct collab_str connection_id;
	const struct collab_proto_user *user; /* NULL: anonymous, "user":null */
	struct collab_str epoch;
	uint64_t seq;
	uint64_t count;
	enum collab_proto_resync resync;
};

/* {"type":"welcome","connectionId":..,"user":{"id":..,"name":..,
 *  "moderator":..}|null,"epoch":..,"seq":..,"count":..,"resync":..} */
int collab_proto_encode_welcome(const struct collab_proto_welcome *m,
				uint8_t *out, size_t cap, size_t *len);

/* {"type":"synced","seq":..} */
int collab_proto_encode_synced(uint64_t seq, uint8_t *out, size_t cap,
			       size_t *len);

/* {"type":"user-count","count":..} */
int collab_proto_encode_user_count(uint64_t count, uint8_t *out, size_t cap,
				   size_t *len);

/* {"type":"error","broadcastId":..|null,"code":..,"message":..}.
 * broadcast_id NULL writes null; code MUST NOT be NONE. */
int collab_proto_encode_error(const struct collab_str *broadcast_id,
			      enum collab_proto_err code,
			      struct collab_str message,
			      uint8_t *out, size_t cap, size_t *len);

/* The error reply to a rejected op: collab_proto_encode_error() with the
 * op's broadcast id (when it had a valid one), err and message. */
int collab_proto_encode_op_error(const struct collab_proto_op *op,
				 uint8_t *out, size_t cap, size_t *len);

/* A comment as events and snapshots show it. */
struct collab_proto_comment {
	struct collab_str id;
	struct collab_str user_id;
	struct collab_str user_name;
	struct collab_str text;
	uint64_t created_at;    /* ms since the Unix epoch */
};

/*
 * A chat as events and snapshots show it. Its comments, in order, come
 * either from the array comments[0..n_comments) or, when comments is NULL,
 * from get_comment(get_comment_ctx, i, &c) for i = 0 .. n_comments-1,
 * which fills the views of c (they need to last only until the next call).
 * The callback lets a server that keeps comments in its own structures
 * encode them without building an array; it MUST fill c and cannot fail.
 * anchor: the compact JSON object collab_proto_parse_op() produced (it MUST
 * be one; only its braces are checked), copied unchanged.
 */
struct collab_proto_chat {
	struct collab_str id;
	struct collab_str anchor;
	struct collab_str user_id;
	struct collab_str user_name;
	uint64_t created_at;
	bool resolved;
	const struct collab_proto_comment *comments;
	size_t n_comments;
	void (*get_comment)(const void *ctx, size_t i,
			    struct collab_proto_comment *c);
	const void *get_comment_ctx;
};

/* The chat object alone: {"id":..,"anchor":{..},"userId":..,"userName":..,
 * "createdAt":..,"resolved":..,"comments":[{"id":..,"userId":..,
 * "userName":..,"text":..,"createdAt":..},..]} */
int collab_proto_encode_chat(const struct collab_proto_chat *chat,
			     uint8_t *out, size_t cap, size_t *len);

/*
 * An event (PROTOCOL.md 5). Every event has type, seq, broadcast_id, ts,
 * user_id; then by type and action:
 *   NEW_TEXT_CHAT                      chat
 *   UPDATED_TEXT_CHAT ADD_COMMENT      chat_id, comment
 *   UPDATED_TEXT_CHAT EDIT_COMMENT     chat_id, comment_id, text
 *   UPDATED_TEXT_CHAT DELETE_COMMENT   chat_id, comment_id
 *   UPDATED_TEXT_CHAT RESOLVE          chat_id, resolved
 *   DELETED_TEXT_CHAT                  chat_id
 * Other fields are ignored.
 */
struct collab_proto_event {
	enum collab_proto_type type;
	enum collab_proto_action action;
	uint64_t seq;
	struct collab_str broadcast_id;
	uint64_t ts;                 /* ms since the Unix epoch */
	struct collab_str user_id;
	const struct collab_proto_chat *chat;
	struct collab_str chat_id;
	const struct collab_proto_comment *comment;
	struct collab_str comment_id;
	struct collab_str text;
	bool resolved;
};

/* {"type":..,"seq":..,"broadcastId":..,"ts":..,"userId":.., ...} with the
 * members of PROTOCOL.md 5 in its order. COLLAB_EINVAL for type HELLO or
 * NONE, an action given to a type without one or missing from
 * updated-text-chat, or a NULL chat / comment where one is needed. */
int collab_proto_encode_event(const struct collab_proto_event *ev,
			      uint8_t *out, size_t cap, size_t *len);

/*
 * Batching (PROTOCOL.md 5) from events encoded once each:
 *
 *     size_t k, mlen;
 *     while (n > 0) {
 *             k = collab_proto_batch_next(cfg, ev, n, &mlen);
 *             if (k == 1) send ev[0] as is;   // a single event goes bare
 *             else collab_proto_encode_batch(ev, k, buf, mlen, &mlen), send;
 *             ev += k; n -= k;
 *     }
 *
 * collab_proto_batch_next() returns how many of ev[0..n) go in the next
 * message: as many as fit in one batch of at most cfg->max_batch bytes
 * (whole message), at least 1 (an event too large for any batch goes out
 * bare); 0 only when n is 0. *msg_len (may be NULL) is the exact length
 * of that message. cfg NULL means the defaults. ev may be NULL only when
 * n is 0.
 */
size_t collab_proto_batch_next(const struct collab_proto_config *cfg,
			       const struct collab_str *ev, size_t n,
			       size_t *msg_len);

/*
 * {"type":"batch","events":[e1,e2,..]} from n >= 2 encoded events, copied
 * unchanged; for n == 1 the event itself (so the result is always "the
 * message for these events"). Each event MUST be an event this module
 * encoded: one that is not an object, or is itself a batch or a
 * user-count (which never go in a batch), gives COLLAB_EINVAL. The limit
 * is not checked here (collab_proto_batch_next() applies it).
 */
int collab_proto_encode_batch(const struct collab_str *ev, size_t n,
			      uint8_t *out, size_t cap, size_t *len);

/*
 * Snapshot messages (PROTOCOL.md 3), built chat by chat in the caller's
 * buffer:
 *
 *     collab_proto_snapshot_begin(&s, cfg, seq, true, buf, cap);
 *     for each live chat, in creation order:
 *             rc = collab_proto_snapshot_add(&s, &chat);
 *             if (rc == COLLAB_ELIMIT) {          // message full
 *                     collab_proto_snapshot_finish(&s, &len), send;
 *                     collab_proto_snapshot_begin(&s, cfg, seq, false, ...);
 *                     rc = collab_proto_snapshot_add(&s, &chat);
 *             }
 *     collab_proto_snapshot_finish(&s, &len), send;  // also for 0 chats
 *
 * The first message of a snapshot has reset true, the later ones false. A
 * message holds as many chats as fit in cfg->max_snapshot bytes (whole
 * message); a chat that does not fit even alone goes alone in one. Fields
 * are the builder's; callers read only n_chats and len.
 */
struct collab_proto_snapshot {
	uint8_t *out;
	size_t cap;
	size_t len;        /* bytes written so far, "]}" not yet */
	size_t limit;      /* cfg->max_snapshot */
	size_t n_chats;    /* chats in this message */
	int err;           /* sticky error of begin / finish, or 0 */
};

/* Starts {"type":"snapshot","seq":..,"reset":..,"chats":[ in out[0..cap).
 * Returns 0, COLLAB_ESPACE (cap below the empty message), COLLAB_EINVAL
 * (NULL s; out NULL with cap > 0; config out of range). cfg NULL means the
 * defaults. */
int collab_proto_snapshot_begin(struct collab_proto_snapshot *s,
				const struct collab_proto_config *cfg,
				uint64_t seq, bool reset,
				uint8_t *out, size_t cap);

/*
 * Encodes chat into the message. Returns 0 when it was added;
 * COLLAB_ELIMIT when the message already holds a chat and this one would
 * take it past the limit; COLLAB_ESPACE when the buffer cannot hold it;
 * COLLAB_EUTF8 / COLLAB_EINVAL as collab_proto_encode_chat(). On every
 * error nothing was added and the message so far is intact. After ELIMIT,
 * and after ESPACE when n_chats > 0, finish the message and add the chat
 * to the next one; ESPACE with n_chats == 0 means the chat alone needs a
 * larger buffer (begin again with one).
 */
int collab_proto_snapshot_add(struct collab_proto_snapshot *s,
			      const struct collab_proto_chat *chat);

/* As collab_proto_snapshot_add(), for a chat encoded earlier with
 * collab_proto_encode_chat() (copied unchanged; COLLAB_EINVAL when it is not
 * an object). p MUST NOT overlap the builder's buffer. */
int collab_proto_snapshot_add_raw(struct collab_proto_snapshot *s,
				  const uint8_t *p, size_t len);

/* Closes the message ("]}") and sets *len (may be NULL) to its length.
 * Returns 0, or the builder's sticky error. Space for "]}" is reserved by
 * begin, so this cannot fail for want of it. */
int collab_proto_snapshot_finish(struct collab_proto_snapshot *s,
				 size_t *len);

/* ==== CLIENT SIDE ====================================================
 *
 * The other direction, for C clients (the `client` module, collab-cli,
 * collab-bench): client messages encoded (sections 3 and 4), server
 * messages parsed (sections 3, 4 and 5). Implemented in proto_client.c
 * (encoders) and proto_client_parse.c (parser). Like the server side,
 * nothing here allocates or does I/O.
 *
 * ENCODING. collab_proto_encode_hello() and collab_proto_encode_op() write
 * one complete message into out[0..cap) with the JSON writer, members in
 * the order of PROTOCOL.md's examples, and set *len. Same results as the
 * server encoders: 0; COLLAB_ESPACE (out holds garbage, *len untouched);
 * COLLAB_EUTF8 for a string view that is not valid UTF-8; COLLAB_EINVAL
 * for NULL pointers (out may be NULL only when cap is 0), an enum out of
 * range or a missing or ill-formed part (see each). Views MUST NOT overlap
 * out. What they write parses back with collab_proto_parse_hello() and
 * collab_proto_parse_op() to the same values.
 *
 * PARSING. collab_proto_parse_server() reads one whole server message
 * into struct collab_proto_server_msg. It is strict about what PROTOCOL.md
 * shows: every member the text shows is required with its type (null only
 * where the text allows it: welcome's `user`, error's `broadcastId`),
 * integers are the integer grammar 0 .. 2^64-1, enums (`resync`, `action`,
 * `code`) are one of their listed strings, a batch holds only events.
 * It is lenient where a client gains from it: members the text does not
 * show are ignored, so a newer server may add fields without breaking
 * older clients; a message whose `type` this version does not know is
 * accepted as COLLAB_PROTO_MSG_UNKNOWN, for the client to skip; string
 * values are not checked beyond JSON (ids need not be UUIDs, text may be
 * empty): enforcing the server's rules is the server's job.
 *
 * Views. Every string a parse returns is a view of its decoded value:
 * into the message when it had no escapes, else into the caller's
 * scratch. Anchors are re-encoded canonically (collab_json_write_node())
 * into the scratch, so a client sees the same bytes for the same anchor
 * however a server spaced or escaped it. Each string and anchor has its
 * own fixed place in the scratch (twice its byte offset in the message),
 * so views from the parse and from any number of later iteration calls
 * stay valid together: as long as the message, the node array and the
 * scratch stay unmodified, and until the next parse with the same memory.
 * The iteration functions write into the scratch (the same bytes at the
 * same places each time): one message MUST NOT be read from several
 * threads at once.
 */

/* PROTOCOL.md 5: clients accept server messages of at least 8 MiB. */
#define COLLAB_PROTO_CLIENT_DEFAULT_MAX_MESSAGE ((size_t)8 * 1024 * 1024)
/* Nesting: an anchor in a batch sits at depth 5 (message, events, event,
 * chat, anchor), and the writer re-encodes anchors up to its stack's depth,
 * so every anchor a conforming server can relay fits. */
#define COLLAB_PROTO_CLIENT_DEFAULT_MAX_DEPTH (4 + COLLAB_JSON_WRITER_STACK)

/* Limits of the server-message parser. Fill with
 * collab_proto_client_config_init(), then adjust. */
struct collab_proto_client_config {
	/* The JSON reader's limits: max_input defaults to
	 * COLLAB_PROTO_CLIENT_DEFAULT_MAX_MESSAGE, max_depth to
	 * COLLAB_PROTO_CLIENT_DEFAULT_MAX_DEPTH. */
	struct collab_json_config json;
};

void collab_proto_client_config_init(struct collab_proto_client_config *cfg);

/* ---- encoding client messages ----------------------------------------- */

/*
 * {"type":"hello","token":..,"since":..,"epoch":..} (PROTOCOL.md 3):
 * token only when h->has_token; since and epoch only when h->has_since
 * (both or neither). The fields are those collab_proto_parse_hello()
 * fills; message is ignored. COLLAB_EINVAL also for since > INT64_MAX,
 * which the server refuses.
 */
int collab_proto_encode_hello(const struct collab_proto_hello *h,
			      uint8_t *out, size_t cap, size_t *len);

/*
 * An operation as a client sends it (PROTOCOL.md 4). Fields used, by
 * type and action, besides broadcast_id which every one has:
 *
 *   NEW_TEXT_CHAT       NONE            chat_id, anchor, comment_id, text
 *   UPDATED_TEXT_CHAT   ADD_COMMENT     chat_id, comment_id, text
 *   UPDATED_TEXT_CHAT   EDIT_COMMENT    chat_id, comment_id, text
 *   UPDATED_TEXT_CHAT   DELETE_COMMENT  chat_id, comment_id
 *   UPDATED_TEXT_CHAT   RESOLVE         chat_id, resolved
 *   DELETED_TEXT_CHAT   NONE            chat_id
 *
 * Other fields are ignored. Ids are the canonical lowercase text of UUIDs
 * (collab_uuid_format(); see UUID SPELLING). anchor is a JSON object in
 * compact form, copied unchanged: it MUST be one valid JSON object (only
 * its braces are checked); the server relays its canonical re-encoding.
 */
struct collab_proto_client_op {
	enum collab_proto_type type;
	enum collab_proto_action action;
	struct collab_str broadcast_id;
	struct collab_str chat_id;
	struct collab_str comment_id;
	struct collab_str text;
	struct collab_str anchor;
	bool resolved;
};

/*
 * The operation's message, members in the order of PROTOCOL.md 4:
 *   {"type":"new-text-chat","broadcastId":..,"chat":{"id":..,"anchor":{..},
 *    "comment":{"id":..,"text":..}}}
 *   {"type":"updated-text-chat","broadcastId":..,"chatId":..,
 *    "action":"add-comment","comment":{"id":..,"text":..}}
 *   ... "action":"edit-comment","commentId":..,"text":..}
 *   ... "action":"delete-comment","commentId":..}
 *   ... "action":"resolve","resolved":..}
 *   {"type":"deleted-text-chat","broadcastId":..,"chatId":..}
 * COLLAB_EINVAL, besides the common cases: type HELLO or NONE, an action
 * given to a type without one or missing from updated-text-chat, an id
 * that is not a canonical lowercase UUID, an empty text (PROTOCOL.md 4:
 * the server would answer `invalid`), an anchor that is not "{..}". Text
 * and anchor sizes are not checked: the limits are the server's
 * (`too-large`).
 */
int collab_proto_encode_op(const struct collab_proto_client_op *op,
			   uint8_t *out, size_t cap, size_t *len);

/* ---- parsing server messages ------------------------------------------ */

/*
 * Scratch bytes a parse of a len-byte server message needs: 2 * len (a
 * re-encoded anchor can be twice its input, when it holds raw U+2028 or
 * U+2029, which are written escaped). SIZE_MAX if that overflows. The
 * node array needs COLLAB_JSON_NODES_FOR(len) nodes.
 */
size_t collab_proto_client_scratch_size(size_t len);

enum collab_proto_msg_type {
	COLLAB_PROTO_MSG_NONE = 0,   /* after a rejection */
	COLLAB_PROTO_MSG_UNKNOWN,    /* a type this version does not know */
	COLLAB_PROTO_MSG_WELCOME,
	COLLAB_PROTO_MSG_SNAPSHOT,
	COLLAB_PROTO_MSG_SYNCED,
	COLLAB_PROTO_MSG_EVENT,      /* new-, updated- or deleted-text-chat */
	COLLAB_PROTO_MSG_USER_COUNT,
	COLLAB_PROTO_MSG_ERROR,
	COLLAB_PROTO_MSG_BATCH
};

/* A position in a snapshot's chats, a batch's events or a chat's
 * comments, for the iteration functions; COLLAB_JSON_NONE past the end.
 * (It is the element's JSON node index in the parsed message.) */
#define COLLAB_PROTO_ITER_END COLLAB_JSON_NONE

/* A chat of a snapshot or a new-text-chat event (PROTOCOL.md 5). anchor is
 * the canonical compact re-encoding of its anchor object. Its comments,
 * n_comments of them in order, are read with collab_proto_msg_comment()
 * from first_comment on (COLLAB_PROTO_ITER_END when there are none). */
struct collab_proto_chat_view {
	struct collab_str id;
	struct collab_str anchor;
	struct collab_str user_id;
	struct collab_str user_name;
	uint64_t created_at;
	bool resolved;
	size_t n_comments;
	uint32_t first_comment;
};

/*
 * An event (PROTOCOL.md 5). Every event has type, seq, broadcast_id, ts,
 * user_id and chat_id (for NEW_TEXT_CHAT a copy of chat.id); then:
 *   NEW_TEXT_CHAT                      chat
 *   UPDATED_TEXT_CHAT ADD_COMMENT      comment, comment_id (= comment.id)
 *   UPDATED_TEXT_CHAT EDIT_COMMENT     comment_id, text
 *   UPDATED_TEXT_CHAT DELETE_COMMENT   comment_id
 *   UPDATED_TEXT_CHAT RESOLVE          resolved
 *   DELETED_TEXT_CHAT                  (nothing more)
 * Fields not listed for the event are zero (chat.first_comment
 * COLLAB_PROTO_ITER_END).
 */
struct collab_proto_event_view {
	enum collab_proto_type type;
	enum collab_proto_action action;
	uint64_t seq;
	struct collab_str broadcast_id;
	uint64_t ts;
	struct collab_str user_id;
	struct collab_str chat_id;
	struct collab_proto_chat_view chat;
	struct collab_proto_comment comment;
	struct collab_str comment_id;
	struct collab_str text;
	bool resolved;
};

/* welcome (PROTOCOL.md 3, answer 1). */
struct collab_proto_welcome_view {
	struct collab_str connection_id;
	bool has_user;                  /* false: "user":null (anonymous) */
	struct collab_proto_user user;  /* when has_user */
	struct collab_str epoch;
	uint64_t seq;
	uint64_t count;
	enum collab_proto_resync resync;
};

/* error (PROTOCOL.md 4). */
struct collab_proto_error_view {
	bool has_broadcast_id;          /* false: "broadcastId":null */
	struct collab_str broadcast_id;
	enum collab_proto_err code;     /* never NONE */
	struct collab_str message;
};

/*
 * A parsed server message. Which fields are set, by type:
 *   WELCOME     welcome
 *   SNAPSHOT    seq, reset, n_items chats from first (collab_proto_msg_chat)
 *   SYNCED      seq
 *   EVENT       event
 *   USER_COUNT  count
 *   ERROR       error
 *   BATCH       n_items events from first (collab_proto_msg_event)
 *   UNKNOWN     type_name (the message's `type`)
 * Other fields are zero, positions (first, event.chat.first_comment)
 * COLLAB_PROTO_ITER_END; so after a rejection, when type is NONE and
 * message says why. doc, scratch and scratch_cap are for the iteration
 * functions; callers leave them alone.
 */
struct collab_proto_server_msg {
	enum collab_proto_msg_type type;
	struct collab_proto_welcome_view welcome;
	uint64_t seq;
	bool reset;
	uint64_t count;
	struct collab_proto_event_view event;
	struct collab_proto_error_view error;
	size_t n_items;
	uint32_t first;
	struct collab_str type_name;
	char message[COLLAB_PROTO_MESSAGE_CAP]; /* NUL-terminated; "" on success */
	size_t message_len;
	struct collab_json_doc doc;
	uint8_t *scratch;
	size_t scratch_cap;
};

/*
 * Parses one whole server message p[0..len) (a WebSocket text message)
 * into *m, checking it as described under PARSING: the whole message,
 * every chat, comment and batched event included, so that the iteration
 * functions cannot fail on it afterwards. mem: the node array MUST hold
 * COLLAB_JSON_NODES_FOR(len) nodes and the scratch
 * collab_proto_client_scratch_size(len) bytes (see Views for how long
 * the results last). cfg NULL means the defaults.
 *
 * Returns 0 with *m filled (UNKNOWN included); COLLAB_EPROTO when the
 * message is not a well-formed server message (not JSON within the
 * reader's limits, not an object, a missing or ill-typed member, an
 * unknown action or error code, a batch holding anything but events (a
 * batch or a user-count included), an anchor nested too deeply to
 * re-encode), with m->message saying why; COLLAB_ESPACE when mem is
 * smaller than it MUST be; COLLAB_EINVAL for NULL m or mem, p NULL with
 * len > 0, or cfg->json.max_input above its cap. The input is only read.
 * Cost: O(len) plus the reader's.
 */
int collab_proto_parse_server(const struct collab_proto_client_config *cfg,
			      const struct collab_proto_mem *mem,
			      const uint8_t *p, size_t len,
			      struct collab_proto_server_msg *m);

/*
 * Iteration over a parsed message, each step O(1) plus the element's own
 * size; nothing is copied but decoded strings and anchors (see Views):
 *
 *     for (it = m.first; it != COLLAB_PROTO_ITER_END;
 *          it = collab_proto_msg_next(&m, it)) {
 *             collab_proto_msg_chat(&m, it, &chat);     // a snapshot
 *             for (c = chat.first_comment; c != COLLAB_PROTO_ITER_END;
 *                  c = collab_proto_msg_next(&m, c))
 *                     collab_proto_msg_comment(&m, c, &comment);
 *     }
 *
 * and alike with collab_proto_msg_event() over a batch (an event's chat
 * has comments to walk the same way).
 */

/* The position after it (in the same list), or COLLAB_PROTO_ITER_END. */
uint32_t collab_proto_msg_next(const struct collab_proto_server_msg *m,
			       uint32_t it);

/*
 * Fill *chat / *ev / *c from the element at it, which MUST come from
 * this message's iteration (m->first, first_comment, collab_proto_msg_next)
 * and the right list. Returns 0; COLLAB_EINVAL for NULL pointers or a
 * position that does not hold such an element (then the output is zero).
 * On a message collab_proto_parse_server() accepted, with the right
 * positions, they cannot fail.
 */
int collab_proto_msg_chat(const struct collab_proto_server_msg *m,
			  uint32_t it, struct collab_proto_chat_view *chat);
int collab_proto_msg_event(const struct collab_proto_server_msg *m,
			   uint32_t it, struct collab_proto_event_view *ev);
int collab_proto_msg_comment(const struct collab_proto_server_msg *m,
			     uint32_t it, struct collab_proto_comment *c);

/* ==== end of CLIENT SIDE ============================================== */

#ifdef __cplusplus
}
#endif
#endif
