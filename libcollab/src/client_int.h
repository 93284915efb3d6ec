/*
 * client_int.h - private parts of the client module, shared by
 *
 *   client.c        life cycle, the connection, reconnect and backoff
 *   client_msg.c    server messages: welcome, snapshot, synced, events,
 *                   errors, counts; acknowledgement and echo suppression
 *   client_ops.c    operations, the pending/offline queue, pacing, the
 *                   ring of answered own broadcastIds
 *   client_state.c  the local copy of the room and its pending overlays
 *   client_url.c    collab_client_build_url()
 */
#ifndef COLLAB_CLIENT_INT_H
#define COLLAB_CLIENT_INT_H

#include "collab/client.h"

/* An owned string: len bytes at p (NULL when len is 0), allocated with
 * exactly len bytes through the client's allocator. */
struct cl_str {
	char *p;
	size_t len;
};

/*
 * A queued operation. One allocation: the struct, then the message bytes,
 * the text and the anchor (views below point there). Ops are kept in
 * creation order; those before c->op_unsent have been sent on the current
 * connection.
 */
struct collab_client_op {
	struct collab_client_op *prev, *next;
	uint64_t id;                 /* local order number, >= 1 */
	uint64_t bid_hash;           /* cl_hash(bid), when tracked */
	size_t size;                 /* bytes allocated */
	bool tracked;                /* has a broadcastId to answer it */
	bool raw;                    /* from collab_client_send_raw() */
	enum collab_proto_type type;
	enum collab_proto_action action;
	bool resolved;
	char bid[COLLAB_UUID_STR_LEN];
	char chat_id[COLLAB_UUID_STR_LEN];
	char comment_id[COLLAB_UUID_STR_LEN];
	const char *text;
	size_t text_len;
	const char *anchor;
	size_t anchor_len;
	const uint8_t *msg;
	size_t msg_len;
};

/* The local copy's nodes. An owner field holds the id of the pending
 * operation whose value is shown (0: none). */
struct collab_client_comment {
	struct collab_client_comment *prev, *next;
	struct cl_str id, user_id, user_name, text;
	struct cl_str local_text;    /* shown while text_owner != 0 */
	uint64_t created_at;
	uint64_t create_owner, text_owner, del_owner;
};

struct collab_client_chat {
	struct collab_client_chat *prev, *next;  /* creation order */
	struct collab_client_chat *hnext;        /* hash chain */
	uint64_t hash;
	struct cl_str id, anchor, user_id, user_name;
	uint64_t created_at;
	bool resolved, local_resolved;
	uint64_t create_owner, resolve_owner, del_owner;
	struct collab_client_comment *c_head, *c_tail;
	size_t n_comments;
};

/* ---- client.c ---------------------------------------------------------- */

void *cl_alloc(struct collab_client *c, size_t n);
void cl_free(struct collab_client *c, void *p, size_t n);
int cl_str_set(struct collab_client *c, struct cl_str *s, const char *p,
	       size_t len);
void cl_str_free(struct collab_client *c, struct cl_str *s);
uint64_t cl_hash(const char *p, size_t len);

/* Whether the current connection is open (SYNCING or LIVE). */
bool cl_open(const struct collab_client *c);

/* Ends the current connection because of the client's own finding (err
 * COLLAB_EPROTO or COLLAB_ETIMEDOUT; close code sent when it can be, reason
 * a static string) and schedules a reconnect with backoff. */
void cl_fail(struct collab_client *c, uint16_t code, int err,
	     const char *reason);

/* Changes state and reports it. */
void cl_set_state(struct collab_client *c, enum collab_client_state st,
		  const struct collab_client_close_info *ci);

/* ---- client_msg.c ---------------------------------------------------------- */

/* One whole server message of the current connection (gen = c->conn_gen
 * at the call). */
void cl_msg_handle(struct collab_client *c, const uint8_t *p, size_t len);

/* Forgets what the connection learned (welcome, snapshot in progress). */
void cl_msg_reset_session(struct collab_client *c);

/* ---- client_ops.c ------------------------------------------------------------ */

/* Sends the unsent ops in order while the connection is live, the pacing
 * allows and the socket's queue takes them. */
void cl_ops_flush(struct collab_client *c);
/* A new connection is live: every pending op is unsent again; the token
 * bucket is full. */
void cl_ops_restart(struct collab_client *c);
/* The tracked pending op with that broadcastId, or NULL. */
struct collab_client_op *cl_ops_find(struct collab_client *c, const char *bid,
				     size_t len);
/* Removes op (answered): remembers its broadcastId and frees it. */
void cl_ops_remove(struct collab_client *c, struct collab_client_op *op);
/* Whether bid is the broadcastId of an answered own op (the ring). */
bool cl_own_has(const struct collab_client *c, const char *bid, size_t len);
void cl_ops_free_all(struct collab_client *c);
void cl_ops_on_pace(struct collab_loop *loop, struct collab_timer *t);

/* ---- client_state.c ---------------------------------------------------------- */

void cl_room_clear(struct collab_client *c, struct collab_client_room *r);
/* Applies a server event to r's server state (see client.h). */
int cl_room_apply_event(struct collab_client *c, struct collab_client_room *r,
			const struct collab_proto_server_msg *m,
			const struct collab_proto_event_view *ev);
/* Adds a snapshot chat to r (a chat already there is replaced). */
int cl_room_add_chat(struct collab_client *c, struct collab_client_room *r,
		     const struct collab_proto_server_msg *m,
		     const struct collab_proto_chat_view *ch);
/* Shows op (a pending operation) on top of r. */
int cl_room_overlay(struct collab_client *c, struct collab_client_room *r,
		    const struct collab_client_op *op);
/* Takes back what op showed (answered: acknowledged or rejected). */
void cl_room_unoverlay(struct collab_client *c, struct collab_client_room *r,
		       const struct collab_client_op *op);
/* Takes back every overlay, then shows every pending op again, in order. */
int cl_room_reoverlay(struct collab_client *c, struct collab_client_room *r);
/* Gives the copy up after err (ELIMIT/ENOMEM): both rooms emptied,
 * on_room_error. */
void cl_room_fail(struct collab_client *c, int err);

#endif
