/*
 * chat.h - a room's live chats and their comments (PROTOCOL.md 4 and 5):
 * the store behind srv_room, kept separate so that its invariants can be
 * read in one place.
 *
 * SHAPE. Chats form a doubly linked list in creation order (a snapshot
 * lists them so, PROTOCOL.md 3) and are indexed by id in a keyed hash
 * table. Each chat keeps its live comments in an array of pointers in
 * creation order (so the encoder reads comment i in O(1)); all comments of
 * all chats of the store are indexed together by (chat id, comment id).
 * Ids are the canonical 36-character lowercase UUID text that
 * collab_proto_parse_op() produces, compared as bytes.
 *
 * MEMORY. A chat is one block (struct, anchor, userId, userName) plus its
 * comment-pointer array; a comment is one block (struct, userId, userName)
 * plus its text in a block of its own, so that an edit can swap the text
 * and keep the old one for the undo log. Sizes are recomputed from the
 * stored lengths when freeing, as struct collab_alloc wants them.
 *
 * TWO-PHASE CHANGES. Every change that can fail for want of memory is
 * split: build or reserve first (srv_chat_new, srv_chat_comment_new,
 * srv_chat_store_reserve, srv_chat_comment_reserve), then link or unlink
 * (which cannot fail). The ops module does all the first halves before it
 * touches the store, so a failed allocation changes nothing, and its undo
 * log replays the second halves backwards, which need no memory.
 *
 * Thread rules: a store belongs to the loop thread.
 */
#ifndef SRV_CHAT_H
#define SRV_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/buf.h"
#include "collab/common.h"
#include "collab/json.h"
#include "collab/proto.h"
#include "collab/uuid.h"
#include "room_htab.h"

#define SRV_CHAT_ID_LEN COLLAB_UUID_STR_LEN

struct srv_chat;

/* One live comment. Read-only outside chat.c and ops.c. */
struct srv_comment {
	struct srv_chat *chat;          /* the chat it belongs to */
	uint64_t hash;                  /* of (chat id, comment id) */
	char id[SRV_CHAT_ID_LEN];
	uint64_t created_at;            /* ms since the Unix epoch */
	char *text;                     /* its own block of text_len bytes */
	size_t text_len;
	size_t user_id_len;
	size_t user_name_len;
	char strs[];                    /* userId, then userName */
};

/* One live chat. Read-only outside chat.c and ops.c. */
struct srv_chat {
	struct srv_chat *prev, *next;   /* creation order */
	uint64_t hash;                  /* of its id */
	char id[SRV_CHAT_ID_LEN];
	uint64_t created_at;
	bool resolved;
	struct srv_comment **comments;  /* n_comments live, creation order */
	size_t n_comments;
	size_t cap_comments;
	size_t anchor_len;
	size_t user_id_len;
	size_t user_name_len;
	char strs[];                    /* anchor, userId, userName */
};

/* Views of a chat's and a comment's strings (valid while they live). */
struct collab_str srv_chat_anchor(const struct srv_chat *c);
struct collab_str srv_chat_user_id(const struct srv_chat *c);
struct collab_str srv_chat_user_name(const struct srv_chat *c);
struct collab_str srv_chat_comment_user_id(const struct srv_comment *m);
struct collab_str srv_chat_comment_user_name(const struct srv_comment *m);

struct srv_chat_store {
	const struct collab_alloc *a;
	const struct srv_room_sipkey *key;  /* hashing key; MUST outlive st */
	struct srv_chat *head, *tail;
	size_t n_chats;
	struct srv_room_htab chats;         /* by id */
	struct srv_room_htab comments;      /* by (chat id, comment id) */
};

/* Empty store. a and key MUST NOT be NULL and MUST outlive it. */
void srv_chat_store_init(struct srv_chat_store *st,
			 const struct collab_alloc *a,
			 const struct srv_room_sipkey *key);

/* Frees every chat and comment and the indexes; st is empty afterwards. */
void srv_chat_store_free(struct srv_chat_store *st);

/* Lookups; NULL when absent. id MUST point to SRV_CHAT_ID_LEN bytes. */
struct srv_chat *srv_chat_find(const struct srv_chat_store *st,
			       const char *id);
struct srv_comment *srv_chat_comment_find(const struct srv_chat_store *st,
					  const struct srv_chat *chat,
					  const char *id);
/* Index of m in its chat's comment array. O(n_comments). */
size_t srv_chat_comment_pos(const struct srv_comment *m);

/* Whether p[0..len) is an id as the protocol spells it: canonical
 * lowercase 8-4-4-4-12 UUID text (proto.h, UUID SPELLING). */
bool srv_chat_id_ok(const char *p, size_t len);

/* ---- phase one: build and reserve (may fail, change nothing) ---------- */

/*
 * A new unlinked chat block with room for cap_comments comment pointers
 * (0 allowed) and no comments yet. id MUST be SRV_CHAT_ID_LEN bytes;
 * anchor MUST be compact JSON of an object. Returns 0 or COLLAB_ENOMEM.
 */
int srv_chat_new(const struct srv_chat_store *st, const char *id,
		 struct collab_str anchor, struct collab_str user_id,
		 struct collab_str user_name, uint64_t created_at,
		 bool resolved, size_t cap_comments, struct srv_chat **out);

/* A new comment block for chat (not yet placed in it). text_len MUST be
 * > 0. Returns 0 or COLLAB_ENOMEM. */
int srv_chat_comment_new(const struct srv_chat_store *st,
			 struct srv_chat *chat, const char *id,
			 struct collab_str user_id, struct collab_str user_name,
			 struct collab_str text, uint64_t created_at,
			 struct srv_comment **out);

/* A copy of text (len > 0) in a block of its own, for edits. */
int srv_chat_text_dup(const struct srv_chat_store *st, struct collab_str text,
		      char **out);
void srv_chat_text_free(const struct srv_chat_store *st, char *p, size_t len);

/* Frees an unlinked comment (and its text). */
void srv_chat_comment_free(const struct srv_chat_store *st,
			   struct srv_comment *m);

/* Frees an unlinked chat with every comment in its array. */
void srv_chat_free(const struct srv_chat_store *st, struct srv_chat *c);

/* Room in the indexes for chats more chats and comments more comments. */
int srv_chat_store_reserve(struct srv_chat_store *st, size_t chats,
			   size_t comments);

/* Room in chat's comment array for one more comment. */
int srv_chat_comment_reserve(const struct srv_chat_store *st,
			     struct srv_chat *chat);

/* ---- phase two: link and unlink (never fail, never allocate) ---------- */

/*
 * Links c after prev (NULL: first), indexing c and every comment in its
 * array. Index room MUST have been reserved (1 chat, c->n_comments).
 */
void srv_chat_link(struct srv_chat_store *st, struct srv_chat *c,
		   struct srv_chat *prev);

/* Unlinks c and removes it and its comments from the indexes; returns the
 * chat that preceded it (NULL if first), for relinking it in place. c and
 * its comments stay allocated. */
struct srv_chat *srv_chat_unlink(struct srv_chat_store *st, struct srv_chat *c);

/* Inserts m at position pos (<= n_comments) of its chat and indexes it.
 * Array and index room MUST have been reserved. */
void srv_chat_comment_insert(struct srv_chat_store *st, struct srv_comment *m,
			     size_t pos);

/* Removes the comment at pos from its chat and the index; returns it,
 * still allocated. */
struct srv_comment *srv_chat_comment_remove(struct srv_chat_store *st,
					    struct srv_chat *chat, size_t pos);

/* ---- encoding --------------------------------------------------------- */

/* Fills *pc with views of c (comments read from c through the callback);
 * valid while c is unchanged. */
void srv_chat_proto(const struct srv_chat *c, struct collab_proto_chat *pc);
void srv_chat_comment_proto(const struct srv_comment *m,
			    struct collab_proto_comment *pc);

/* An upper bound of collab_proto_encode_chat()'s output for c (every
 * string byte escaped to at most 6). */
size_t srv_chat_encoded_bound(const struct srv_chat *c);

/*
 * Encodes every chat in creation order as snapshot messages
 * (PROTOCOL.md 3): {"type":"snapshot","seq":seq,"reset":true,"chats":[..]}
 * then as many {"reset":false} messages as the cfg->max_snapshot split
 * needs (one message, with no chats, for an empty store). Each message is
 * built in buf (grown as needed, left allocated for reuse; its len is
 * clobbered) and handed to emit, whose bytes are valid only during the
 * call; a non-zero return from emit stops and is returned. cfg NULL: the
 * defaults. Returns 0, emit's return, COLLAB_ENOMEM / COLLAB_ELIMIT (buf
 * cannot grow), or the encoder's error.
 */
int srv_chat_store_snapshot(const struct srv_chat_store *st, uint64_t seq,
			    const struct collab_proto_config *cfg,
			    struct collab_buf *buf,
			    int (*emit)(void *ctx, const uint8_t *p, size_t len),
			    void *ctx);

/* ---- decoding (replay and compaction records) ------------------------- */

/*
 * Builds an unlinked chat block, with its comments, from the chat object
 * at node of doc (the shape collab_proto_encode_chat() writes: id, anchor,
 * userId, userName, createdAt, resolved, comments; other members
 * ignored). Ids MUST be canonical and comment ids distinct, texts
 * non-empty. Returns 0; COLLAB_ECORRUPT when the object is not such a
 * chat (msg, which may be NULL, then says which field, NUL-terminated,
 * truncated to msgcap); COLLAB_ENOMEM.
 */
int srv_chat_from_json(const struct srv_chat_store *st,
		       const struct collab_json_doc *doc, uint32_t node,
		       struct srv_chat **out, char *msg, size_t msgcap);

/* As srv_chat_from_json() for one comment object {id, userId, userName,
 * text, createdAt} of chat. */
int srv_chat_comment_from_json(const struct srv_chat_store *st,
			       struct srv_chat *chat,
			       const struct collab_json_doc *doc, uint32_t node,
			       struct srv_comment **out, char *msg,
			       size_t msgcap);

#endif
