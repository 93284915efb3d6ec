/*
 * fanout.h - collab-server's end-of-turn flush (DESIGN.md "The server",
 * module fanout): the events a room accepted in one loop turn go out as ONE
 * pre-framed shared buffer (a bare event, or a `batch` split at 64 KiB,
 * PROTOCOL.md 5), sent by reference to every connection of the room, the
 * sender included; `user-count` updates are throttled to one per room per
 * presence interval and always end on the true value; `--batch-delay-ms`
 * may hold a busy room's events a little to batch more of them.
 *
 * Per room, the fanout keeps a small block (struct srv_fanout_room) in
 * room->ext, from the room's first subscriber to its last: the events
 * waiting for the flush, the presence throttle, two timers and a cache of
 * the room's snapshot messages (framed), shared by every newcomer that
 * joins at the same seq. A room without subscribers has no block, so the
 * room registry may free it without knowing about the fanout.
 *
 * Delivery goes through the caller's callbacks (the session module): they
 * decide per connection whether the frame goes to the socket's queue or
 * behind a resync still in progress, count the usage metrics, and close
 * slow consumers. A callback may make a subscriber leave the room (a slow
 * consumer is closed at once): subscribers are walked from the last to the
 * first, so the swap-with-last removal of srv_room_leave() never skips or
 * repeats one, and a room block released meanwhile is freed only at the
 * end of the flush.
 *
 * The pieces without I/O (the throttle, the framing of events into bare or
 * batch messages) are exported for the unit tests.
 *
 * Thread rules: the loop thread.
 */
#ifndef SRV_FANOUT_H
#define SRV_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/buf.h"
#include "collab/common.h"
#include "collab/loop.h"
#include "collab/proto.h"
#include "room.h"

/* Pending events of one room before the array first grows. */
#define SRV_FANOUT_EVENTS_MIN_CAP ((size_t)8)

/* ---- the throttle: "at most once per interval" ------------------------- */

/*
 * One action per interval, leading edge: the first action after a quiet
 * interval happens at once, later ones wait until interval ms after the
 * previous one. Used for user-count updates (presence interval) and for
 * batch delays.
 */
struct srv_fanout_throttle {
	uint64_t last_ms;   /* loop time of the last action */
	bool ever;          /* an action happened */
};

/* true when an action may happen at now; else false with *deadline set to
 * the first instant it may. interval 0 is always ready. */
bool srv_fanout_throttle_ready(const struct srv_fanout_throttle *t,
			       uint64_t interval, uint64_t now,
			       uint64_t *deadline);

/* Records an action at now. */
void srv_fanout_throttle_mark(struct srv_fanout_throttle *t, uint64_t now);

/* ---- framing ------------------------------------------------------------ */

/*
 * A shared buffer holding one unmasked text frame (RFC 6455 5.2, FIN set,
 * minimal length encoding) with payload p[0..len), one reference. NULL
 * when the allocation fails. a NULL: collab_alloc_default().
 */
struct collab_shbuf *srv_fanout_frame_text(const struct collab_alloc *a,
					   const uint8_t *p, size_t len);

/*
 * Frames the events ev[0..n) (each an event message as collab_proto_encode_
 * event() wrote it, in seq order) into as few messages as PROTOCOL.md 5
 * allows: a single event bare, several as one `batch` of at most
 * pcfg->max_batch bytes, split when they pass it. Each frame is handed to
 * emit (which takes its own reference if it keeps it; the frame is
 * released after emit returns); a non-zero return from emit stops and is
 * returned. pcfg NULL: the defaults. Returns 0, emit's return,
 * COLLAB_ENOMEM, or the encoder's error.
 */
int srv_fanout_frames(const struct collab_proto_config *pcfg,
		      const struct collab_alloc *a,
		      const struct collab_str *ev, size_t n,
		      int (*emit)(void *ctx, struct collab_shbuf *frame),
		      void *ctx);

/* ---- the fanout ----------------------------------------------------------- */

struct srv_fanout;

/* What the fanout keeps per room with subscribers (room->ext). Private. */
struct srv_fanout_room {
	struct srv_fanout *fo;
	struct srv_room *room;
	struct srv_fanout_room *prev, *next;   /* on list `list` */
	uint8_t list;                          /* 0 none, 1 dirty, 2 waiting */
	bool detached;                         /* waiting to be freed */
	struct srv_fanout_room *next_free;
	/* events committed, not yet sent: payload references, seq order */
	struct collab_shbuf **ev;
	size_t n_ev, cap_ev;
	struct srv_fanout_throttle batch;      /* batch delay */
	struct collab_timer batch_timer;
	/* presence */
	bool presence_dirty;
	uint64_t last_count;                   /* last user-count sent */
	struct srv_fanout_throttle presence;
	struct collab_timer presence_timer;
	/* the snapshot of snap_seq, framed; valid while snap_ok */
	struct collab_shbuf **snap;
	size_t n_snap, cap_snap;
	uint64_t snap_seq;
	bool snap_ok;
};

struct srv_fanout_config {
	/* Hold a busy room's events up to this many ms (0: never). */
	uint64_t batch_delay_ms;
	/* At most one user-count per room per this many ms (0: no limit). */
	uint64_t presence_interval_ms;
	/* Batch and snapshot sizes; NULL: the defaults. MUST outlive fo. */
	const struct collab_proto_config *proto;
	/* NULL: collab_alloc_default(). MUST outlive fo. */
	const struct collab_alloc *alloc;
	/*
	 * Queues a frame of events to the subscriber named handle (the value
	 * given to srv_room_join()). Returns 1 when queued, 0 when not (the
	 * connection is gone or was just closed as a slow consumer).
	 */
	int (*deliver)(void *ctx, struct srv_room *room, uint64_t handle,
		       struct collab_shbuf *frame);
	/*
	 * Queues the user-count frame (for count) to the subscriber unless it
	 * already knows count (its welcome said so, or it got it last).
	 * Returns 1 when queued, else 0.
	 */
	int (*deliver_count)(void *ctx, struct srv_room *room, uint64_t handle,
			     uint64_t count, struct collab_shbuf *frame);
	void *ctx;
};

/* Defaults: no batch delay, 500 ms presence, no callbacks. */
void srv_fanout_config_init(struct srv_fanout_config *cfg);

struct srv_fanout {
	struct srv_fanout_config cfg;
	struct collab_proto_config proto;
	const struct collab_alloc *a;
	struct collab_loop *loop;
	/* [1]: rooms to look at in the next flush; [2]: rooms waiting for
	 * one of their timers (a force flush takes them too) */
	struct srv_fanout_room *head[3], *tail[3];
	struct srv_fanout_room *garbage;       /* detached, to free */
	unsigned busy;                         /* flushes running */
	struct collab_buf buf;                 /* snapshot encoding */
	struct collab_str *views;              /* framing of pending events */
	size_t views_cap;
	uint64_t frames_sent;                  /* event frames built */
	uint64_t deliveries;                   /* event frames queued */
};

/* Prepares fo on loop (MUST outlive it) with cfg (copied; its callbacks
 * MUST be set). Returns 0 or COLLAB_EINVAL. Allocates nothing. */
int srv_fanout_init(struct srv_fanout *fo, struct collab_loop *loop,
		    const struct srv_fanout_config *cfg);

/* Frees every room block (rooms' ext set to NULL) and the working memory. */
void srv_fanout_free(struct srv_fanout *fo,
		     struct srv_room_registry *rooms);

/* Gives room its block (room->ext) if it has none, before its first
 * subscriber joins. Returns 0 or COLLAB_ENOMEM. */
int srv_fanout_attach(struct srv_fanout *fo, struct srv_room *room);

/* After a subscriber left: releases the room's block when the room has no
 * subscriber left (pending events are dropped: nobody is there to get
 * them; the ring and the journal hold them), else notes the presence
 * change. */
void srv_fanout_left(struct srv_fanout *fo, struct srv_room *room);

/* A subscriber joined: notes the presence change. */
void srv_fanout_joined(struct srv_fanout *fo, struct srv_room *room);

/*
 * A committed event (its payload, as the ring holds it) for the room's
 * subscribers at the next flush. Takes a reference. A room without a
 * block (no subscribers) ignores it. Invalidates the snapshot cache.
 * Returns 0 or COLLAB_ENOMEM (the event is then sent at once, alone).
 */
int srv_fanout_add_event(struct srv_fanout *fo, struct srv_room *room,
			 struct collab_shbuf *ev);

/*
 * Sends the room's pending events now, whatever the batch delay: before a
 * newcomer joins, so that events it gets in its snapshot or replay never
 * reach it a second time.
 */
void srv_fanout_flush_room(struct srv_fanout *fo, struct srv_room *room);

/*
 * The end-of-turn flush: every room with pending events or a presence
 * change whose throttle allows it sends now; the others arm their timers
 * (whose expiry brings them back to the next flush). force ignores the
 * batch delay and the presence interval (shutdown).
 */
void srv_fanout_flush(struct srv_fanout *fo, bool force);

/*
 * The room's snapshot at its current seq, as framed `snapshot` messages
 * (PROTOCOL.md 3), built once per seq and shared: sets *frames and *n to
 * the block's cache (valid until the room's next event or the block's
 * release; take references to keep them). The room MUST have a block.
 * Returns 0, COLLAB_ENOMEM, or the encoder's error.
 */
int srv_fanout_snapshot(struct srv_fanout *fo, struct srv_room *room,
			struct collab_shbuf *const **frames, size_t *n);

#endif
