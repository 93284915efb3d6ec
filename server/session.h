/*
 * session.h - one WebSocket connection's life in collab-server
 * (PROTOCOL.md 2 to 6), from the upgrade upgrade.h accepted: the
 * hello and its timeout, the token and the anonymous policy, welcome then
 * replay or snapshot then synced, operations with their per-connection
 * rate limit, rejections and the 1008 policy, and everything the server
 * queues to the connection.
 *
 * STATE. A session lives in the connection's user bytes (wsconn.h
 * cfg.user_size), zeroed at accept; between turns it is found again
 * through its handle. NEW (upgrade accepted) -> HELLO (open, waiting for
 * hello; the hello timer runs) -> LIVE (in its room) -> CLOSING (we sent a
 * close: out of the room, input ignored) -> gone (on_close).
 *
 * RESYNC WITHOUT GAPS (PROTOCOL.md 3). At hello, when the open turn has
 * changed the room, the server first commits the turn (ending the group
 * early), and it sends the room's held events, so the room's state is
 * exactly its committed state and nothing the newcomer syncs from can
 * reach it a second time as a live event; then the connection
 * joins the room and its welcome, replay or snapshot (built from that
 * state, the snapshot shared by every newcomer at the same seq) and
 * synced are queued behind each other as the connection's BACKLOG. Events
 * of later turns reach the connection through the fanout after them: while
 * the backlog is not empty they are appended to it, in order.
 *
 * SLOW CONSUMERS (PROTOCOL.md 6). Backlog messages are handed to the
 * socket's queue as it drains (on_drain: whenever the queue is at or below
 * its low-water mark), so a large snapshot never counts as live data. Live
 * messages (events, user-count, errors, retry answers) count against
 * cfg->queue_limit: those waiting in the backlog, or those in the socket's
 * queue, which is FIFO behind the last backlog message, so the live bytes
 * in it are min(queued, live bytes handed over since the backlog
 * emptied). Past the limit the connection is aborted with 1013 and the
 * close logged. The socket's own hard limit (wsconn's queue_limit) is set
 * high enough for the largest single message.
 *
 * RATE LIMIT (PROTOCOL.md 4). A token bucket per connection: every message
 * after hello takes a token; tokens come back at the tenant's
 * opsPerSecond up to opsBurst; a message without a token is rejected
 * `rate-limited`, which counts as a rejection for the 1008 policy.
 *
 * Thread rules: the loop thread.
 */
#ifndef SRV_SESSION_H
#define SRV_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/buf.h"
#include "collab/proto.h"
#include "collab/wsconn.h"

struct srv_server;
struct srv_room;
struct srv_tenant;

/* PROTOCOL.md 4: a connection that sends this many rejected operations in
 * a row is closed with 1008. */
#define SRV_SESSION_MAX_REJECTS 100u
/* Backlog entries allocated at first. */
#define SRV_SESSION_BACKLOG_MIN_CAP ((size_t)8)
/* Millitokens per token in the bucket. */
#define SRV_SESSION_MILLI 1000u

/* ---- the token bucket (pure) --------------------------------------------- */

struct srv_bucket {
	uint64_t milli;    /* tokens * SRV_SESSION_MILLI */
	uint64_t last_ms;  /* loop time of the last refill */
};

/* A full bucket of burst tokens at now. */
void srv_bucket_init(struct srv_bucket *b, uint64_t burst, uint64_t now);

/*
 * Refills at rate tokens per second (up to burst) for the time since the
 * last call, then takes one token: true, or false when none is left (the
 * bucket is then unchanged but for the refill). A clock that goes back is
 * treated as no time passing. rate and burst MUST be >= 1.
 */
bool srv_bucket_take(struct srv_bucket *b, uint64_t rate, uint64_t burst,
		     uint64_t now);

/* ---- sessions -------------------------------------------------------------- */

enum srv_session_state {
	SRV_SESSION_NEW = 0,
	SRV_SESSION_HELLO,
	SRV_SESSION_LIVE,
	SRV_SESSION_CLOSING
};

/* Messages waiting behind a resync (see BACKLOG). Private. */
struct srv_backlog_ent {
	struct collab_shbuf *sb;
	bool live;
};

struct srv_backlog {
	struct srv_backlog_ent *ent;
	size_t head, n, cap;
	uint64_t live_bytes;
};

/* What the session knows of its user and page; one block. */
struct srv_session_info {
	size_t size;           /* of the block */
	size_t url_len;
	size_t id_len;         /* 0: anonymous */
	size_t name_len;
	bool moderator;
	char strs[];           /* urlId, user id, user name */
};

/* One connection's state, in its user bytes. Private to session.c. */
struct srv_session {
	struct srv_server *srv;
	struct collab_wsconn_handle h;
	struct srv_tenant *tenant;
	struct srv_room *room;          /* while LIVE */
	size_t sub_idx;                 /* its index among room->subs */
	struct srv_session_info *info;
	struct srv_backlog *backlog;    /* while a resync is in progress */
	struct collab_timer hello_timer;
	struct srv_bucket bucket;
	uint64_t last_count;            /* user count it last heard */
	uint64_t live_pushed;           /* live bytes handed to the socket */
	uint32_t rejects;               /* rejected operations in a row */
	uint8_t state;                  /* enum srv_session_state */
};

/* The handlers of the main listener (context srv). */
void srv_session_handlers(struct srv_server *srv,
			  struct collab_wsconn_handlers *hd);

/* A room subscriber's handle (srv_room_sub.handle) from a connection
 * handle, and back. */
uint64_t srv_session_pack(struct collab_wsconn_handle h);
struct collab_wsconn_handle srv_session_unpack(uint64_t v);

/* The fanout's delivery callbacks (fanout.h); ctx is the server. */
int srv_session_deliver(void *ctx, struct srv_room *room, uint64_t handle,
			struct collab_shbuf *frame);
int srv_session_deliver_count(void *ctx, struct srv_room *room,
			      uint64_t handle, uint64_t count,
			      struct collab_shbuf *frame);

/* After the turn's commit: the original event (payload) for a retried
 * operation, to its sender alone (PROTOCOL.md 4). */
void srv_session_send_event(struct srv_server *srv,
			    struct collab_wsconn_handle h,
			    struct collab_shbuf *ev);

/*
 * After the turn's broadcast (the end-of-turn hook): closes with 1008 the
 * connections whose 100th rejection in a row came during the turn
 * (PROTOCOL.md 4), so that the echoes of the operations the turn accepted
 * from them, their acknowledgements, reach them before the close. Returns
 * how many it closed.
 */
size_t srv_session_close_policy(struct srv_server *srv);

/* An `error` reply to the sender alone; bid NULL: "broadcastId":null. */
void srv_session_send_error(struct srv_server *srv,
			    struct collab_wsconn_handle h, const char *bid,
			    enum collab_proto_err code, const char *message);

#endif
