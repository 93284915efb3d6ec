/*
 * ops.h - validating a client operation against its room and user and
 * applying it (PROTOCOL.md 4 and 5), with a per-turn undo log so that a
 * turn whose journal commit fails can be taken back exactly; and
 * re-applying already accepted events from the journal (PROTOCOL.md 8).
 *
 * THE PATH OF A TURN (DESIGN.md "The server"):
 *
 *     srv_ops_turn_init(&turn, alloc);                 // once
 *     for each parsed op of the loop turn:
 *             srv_ops_apply(&turn, room, &limits, &user, &op, now, &res);
 *             APPLIED:   append res.event's bytes to the journal, keep res
 *             DUPLICATE: keep res (the original event, for the sender alone)
 *             REJECTED:  answer the sender with res.err / res.message
 *     if the journal commit (one fdatasync) succeeds:
 *             srv_ops_turn_commit(&turn);  then broadcast the APPLIED
 *             events and send the DUPLICATE answers
 *     else:
 *             srv_ops_turn_rollback(&turn);  every APPLIED and DUPLICATE
 *             op of the turn is answered `unavailable`
 *     release every res (srv_ops_result_release)
 *     srv_room_registry_collect(&rooms);   // after the broadcasts
 *
 * Rollback undoes the turn's operations in reverse order, each exactly:
 * chats and comments return to their places in creation order, edited text
 * and resolved flags to their old values, seq to its old value, the ring
 * to its old contents (events evicted by the turn come back). Nothing of
 * it allocates, so it cannot fail: every allocation an operation needs is
 * made before it changes anything (so a failed allocation changes
 * nothing), and memory the turn freed logically (a deleted chat, an old
 * text, an evicted event) is only released by commit.
 *
 * A DUPLICATE may refer to an event of the same turn (a retry that arrives
 * right after its original): res.pending says so; like every answer it
 * goes out only after the commit.
 *
 * Thread rules: the loop thread. One turn open at a time per registry.
 */
#ifndef SRV_OPS_H
#define SRV_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/buf.h"
#include "collab/common.h"
#include "collab/proto.h"
#include "room.h"

/* PROTOCOL.md 4: defaults per room. */
#define SRV_OPS_DEFAULT_MAX_CHATS_PER_ROOM ((uint64_t)10000)
#define SRV_OPS_DEFAULT_MAX_COMMENTS_PER_CHAT ((uint64_t)1000)

/* Per-tenant limits (tenants.json maxChatsPerRoom, maxCommentsPerChat). */
struct srv_ops_limits {
	uint64_t max_chats_per_room;     /* live chats in a room */
	uint64_t max_comments_per_chat;  /* live comments, the first included */
};

void srv_ops_limits_init(struct srv_ops_limits *lim);

/* The connection's user. For an anonymous connection set anonymous (id
 * and name are then ignored). id is the token's sub, name its name or
 * sub; both MUST be valid UTF-8. */
struct srv_ops_user {
	struct collab_str id;
	struct collab_str name;
	bool moderator;
	bool anonymous;
};

enum srv_ops_outcome {
	SRV_OPS_APPLIED = 0,  /* a new event: broadcast it after the commit */
	SRV_OPS_DUPLICATE,    /* a retry: the original event, to the sender */
	SRV_OPS_REJECTED      /* answer the sender with err and message */
};

struct srv_ops_result {
	enum srv_ops_outcome outcome;
	enum collab_proto_err err;    /* REJECTED: the code; else NONE */
	char message[COLLAB_PROTO_MESSAGE_CAP];  /* NUL-terminated; "" if none */
	size_t message_len;
	/* APPLIED, DUPLICATE: the event message (encoded once, the ring's
	 * bytes), a reference the caller owns; NULL otherwise. */
	struct collab_shbuf *event;
	uint64_t seq;                 /* the event's seq; 0 when rejected */
	bool pending;                 /* DUPLICATE of an uncommitted event */
};

/* Drops res->event's reference (if any) and clears it. */
void srv_ops_result_release(struct srv_ops_result *res);

/* One undo entry per applied operation. Private. */
struct srv_ops_undo {
	uint8_t kind;
	bool old_resolved;
	struct srv_room *room;
	struct srv_chat *chat;
	struct srv_comment *comment;
	struct srv_chat *prev;          /* deleted chat's predecessor */
	size_t pos;                     /* comment's position in its chat */
	char *old_text;                 /* edit: the text before */
	size_t old_len;
	struct srv_room_event *pushed;  /* the event the op added to the ring */
	struct srv_room_event *evicted; /* the event that push evicted */
	uint64_t old_seq;
};

/* The undo log of one loop turn. */
struct srv_ops_turn {
	const struct collab_alloc *a;
	struct srv_ops_undo *log;
	size_t n, cap;
};

/* Empty turn (a NULL: collab_alloc_default()). Allocates nothing. */
void srv_ops_turn_init(struct srv_ops_turn *turn,
		       const struct collab_alloc *a);

/* Operations applied in the turn and not yet committed or rolled back. */
size_t srv_ops_turn_size(const struct srv_ops_turn *turn);

/* The turn is durable: releases what its operations replaced or removed,
 * marks its events committed, and empties the log (kept allocated). */
void srv_ops_turn_commit(struct srv_ops_turn *turn);

/* Undoes every operation of the turn, newest first, leaving each room
 * exactly as before the turn; empties the log. Cannot fail. Rooms left
 * idle are queued for srv_room_registry_collect(). */
void srv_ops_turn_rollback(struct srv_ops_turn *turn);

/* Frees the log's memory. The turn MUST be empty (committed or rolled
 * back). */
void srv_ops_turn_free(struct srv_ops_turn *turn);

/*
 * Validates op (parsed by collab_proto_parse_op(), err NONE) from user
 * against room, in the order of PROTOCOL.md 4:
 *   anonymous user                                  -> forbidden
 *   broadcastId of a retained event: same user id   -> DUPLICATE
 *                                    other user     -> conflict
 *   chat (or comment) id unknown                    -> not-found
 *   new chat id already live in the room            -> conflict
 *   comment id already live in its chat             -> conflict
 *   room at max_chats_per_room / chat at
 *   max_comments_per_chat live                      -> too-large
 *   edit a comment of another user (moderators too) -> forbidden
 *   delete a comment, resolve or delete a chat, of
 *   another user, unless moderator                  -> forbidden
 * and applies it: seq + 1, the event (PROTOCOL.md 5: type, seq,
 * broadcastId, ts = now_ms, userId, and for a new chat or comment
 * createdAt = now_ms and userName = user->name) encoded once with
 * collab_proto_encode_event(), pushed into the ring, returned in res, and
 * an undo entry added to turn. turn NULL applies it committed at once.
 *
 * Returns 0 with res filled (APPLIED, DUPLICATE or REJECTED). A negative
 * return means the op could not be applied and nothing changed:
 * COLLAB_ENOMEM, COLLAB_EUTF8 (user strings not UTF-8), COLLAB_EINVAL
 * (NULL argument, op not a valid parsed operation, limits of 0); res is
 * then REJECTED with `unavailable` and a message, for the sender.
 */
int srv_ops_apply(struct srv_ops_turn *turn, struct srv_room *room,
		  const struct srv_ops_limits *lim,
		  const struct srv_ops_user *user,
		  const struct collab_proto_op *op, uint64_t now_ms,
		  struct srv_ops_result *res);

/*
 * Re-applies an already accepted event p[0..len) (as srv_ops_apply()
 * encoded it, from the journal): rebuilds the same state, pushes the same
 * bytes into the ring and sets the room's seq to the event's. Rights and
 * limits are not checked again (they were when it was accepted); the
 * structure is: the seq MUST be exactly the room's seq + 1, the chat or
 * comment it names MUST exist (or, when created, MUST NOT). turn NULL:
 * committed at once (recovery); with a turn it is undone by rollback like
 * an applied op. Returns 0 (res APPLIED with seq; res->event NULL);
 * COLLAB_ECORRUPT with res->message saying why; COLLAB_ENOMEM. On failure
 * nothing changed.
 */
int srv_ops_apply_event(struct srv_ops_turn *turn, struct srv_room *room,
			const uint8_t *p, size_t len,
			struct srv_ops_result *res);

#endif
