/*
 * collab/client.h - the collab client (PROTOCOL.md from the client's side):
 * one room over one WebSocket, kept live across drops.
 *
 * What it does:
 *
 *   - Connects to a ws:// or wss:// URL (collab_client_build_url() makes one
 *     from a base URL, a tenantId and a urlId), offering the subprotocol
 *     "collab.v1", and says hello: with the token when one is set
 *     (collab_client_set_token(), refreshed by on_token before every
 *     attempt), and, once it has been synced before, with since/epoch = the
 *     last seq it applied and that seq's epoch (PROTOCOL.md 3).
 *   - Reports its state through on_state: CONNECTING (first attempt),
 *     SYNCING (open, hello sent, until `synced`), LIVE, RECONNECTING (from a
 *     drop until the next connection is open), AUTH_FAILED and CLOSED.
 *   - Reconnects by itself: exponential backoff with full jitter (a delay
 *     drawn uniformly from [0, min(cap, base * 2^attempt)]; base 0.5 s, cap
 *     30 s by default), the attempt counter reset once a connection has been
 *     live for stable_ms (10 s); at once (no delay) after a 1001 close
 *     (server going away), once until the next live connection; never after
 *     4401/4403 or an HTTP 401/403 refusal (state AUTH_FAILED: the caller
 *     sets a new token and calls collab_client_reconnect()); not after a
 *     4400 or another 4xx refusal (state CLOSED: retrying cannot help).
 *   - Resyncs from (epoch, seq): only events with seq > last are applied;
 *     older ones (a retry's answer, a duplicate) are skipped; a gap (an
 *     event past last + 1) or a malformed server message ends the
 *     connection (close 1002) and the next one resyncs from the last seq.
 *   - Operations (create a chat, add/edit/delete a comment, resolve, delete
 *     a chat) get a fresh v4 broadcastId (and chat/comment ids where they
 *     create something); the call returns them at once and the operation is
 *     sent when the connection is live, else queued (at most max_pending
 *     operations in all, COLLAB_EQUEUE past it). The echo of an operation
 *     is its acknowledgement (on_ack), an `error` carrying its broadcastId
 *     its rejection (on_reject). Own echoes never reach on_event; other
 *     tabs of the same user are other connections and do. An operation not
 *     answered when its connection drops is sent again, same broadcastId
 *     and bytes, after the next `synced`; the server answers such a retry
 *     with the original event (seq <= ours), taken as the acknowledgement
 *     (PROTOCOL.md 4 Retries). So every operation is applied at most once,
 *     and at least once as long as the client runs.
 *   - Optionally (cfg.keep_room) a local copy of the room: chats in
 *     creation order with their comments, kept in step with snapshots and
 *     events, operations not yet acknowledged shown with pending flags.
 *
 * SNAPSHOTS ARE ATOMIC. The chats of a snapshot resync (one message with
 * "reset":true and any "reset":false ones after it) are gathered aside and
 * replace the local copy in one step when `synced` arrives; until then the
 * copy shows the state before the resync. on_reset then says the copy was
 * replaced. Replayed events are applied one by one as they come.
 *
 * PENDING OPERATIONS IN THE LOCAL COPY. The copy shows the server's state
 * (as of the last applied seq) with the pending operations applied on top,
 * in the order they were made: a chat or comment made here is listed at
 * once with COLLAB_CLIENT_PENDING_CREATE (its author is the connection's
 * user as the last welcome named it, its createdAt 0); an edit or resolve
 * shows the new value with COLLAB_CLIENT_PENDING_UPDATE; a deleted chat or
 * comment stays listed with COLLAB_CLIENT_PENDING_DELETE. The echo replaces
 * the local values with the server's. A rejection takes the operation back
 * (the remaining pending operations are applied again on the server's
 * state). An operation on a chat or comment the copy does not hold is sent
 * all the same (the server decides) and shows nothing.
 *
 * RUNTIME. Everything runs on the loop of the collab_wsctx given at init,
 * without blocking (except getaddrinfo for a host that is not a numeric
 * address or "localhost", see collab/wsconn.h); many clients may share one
 * loop and one wsctx. The caller owns struct collab_client; it MUST stay at
 * its address from collab_client_init() to collab_client_free(). Every
 * allocation goes through cfg.alloc; every limit is a field of
 * struct collab_client_config.
 *
 * CALLBACKS run on the loop thread, from inside collab_loop_run() or
 * collab_loop_run_once(); a few also from inside a call of this header:
 * on_state from start, reconnect and close (the state they set) and from
 * an operation whose send fails at once (RECONNECTING), on_room_error
 * from an operation the local copy cannot show (memory, limits), and
 * everything from collab_client_test_feed(). Every pointer a callback
 * receives is valid during the call only. A
 * callback may call every function of this header on its own client
 * (operations, close, reconnect, accessors) except collab_client_free().
 * When a callback ends the connection (close, reconnect), the rest of the
 * message being handled is discarded.
 *
 * Thread rules: a client belongs to its loop's thread.
 */
#ifndef COLLAB_CLIENT_H
#define COLLAB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"
#include "collab/loop.h"
#include "collab/proto.h"
#include "collab/rand.h"
#include "collab/tls.h"
#include "collab/uuid.h"
#include "collab/wsconn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The subprotocol offered (PROTOCOL.md 1). */
#define COLLAB_CLIENT_SUBPROTOCOL "collab.v1"

/* Defaults filled in by collab_client_config_init(). */
#define COLLAB_CLIENT_BACKOFF_BASE_MS   500u      /* first ceiling */
#define COLLAB_CLIENT_BACKOFF_CAP_MS    30000u    /* largest ceiling */
#define COLLAB_CLIENT_STABLE_MS         10000u    /* live this long: reset */
#define COLLAB_CLIENT_SYNC_TIMEOUT_MS   60000u    /* open -> synced */
#define COLLAB_CLIENT_MAX_PENDING       1000u     /* queued + unanswered ops */
#define COLLAB_CLIENT_MAX_OWN_IDS       256u      /* answered own broadcastIds kept */
#define COLLAB_CLIENT_OPS_PER_SECOND    20u       /* PROTOCOL.md 4 defaults */
#define COLLAB_CLIENT_OPS_BURST         40u
#define COLLAB_CLIENT_MAX_TOKEN         ((size_t)8 * 1024)
#define COLLAB_CLIENT_MAX_EPOCH         256u      /* bytes of an epoch kept */
#define COLLAB_CLIENT_MAX_URL           ((size_t)4096)
#define COLLAB_CLIENT_MAX_CHATS         100000u   /* local copy: 10x the room default */
#define COLLAB_CLIENT_MAX_COMMENTS      10000u    /* per chat in the local copy */
/* The backoff ceiling and cap are drawn with a 32-bit bound. */
#define COLLAB_CLIENT_BACKOFF_MAX_MS    ((uint64_t)UINT32_MAX - 1)

struct collab_client_config {
	/* Reconnect backoff (full jitter): the delay before attempt n (n = 0
	 * after the first drop) is uniform in [0, min(backoff_cap_ms,
	 * backoff_base_ms * 2^n)]. 1 <= base <= cap <= COLLAB_CLIENT_
	 * BACKOFF_MAX_MS. */
	uint64_t backoff_base_ms;
	uint64_t backoff_cap_ms;
	/* A connection live this long resets the attempt counter to 0. */
	uint64_t stable_ms;
	/* From open to `synced`; past it the connection is dropped and the
	 * client reconnects (backoff). 0: no limit. */
	uint64_t sync_timeout_ms;
	/* Operations queued or sent and not yet answered, in all (>= 1);
	 * one more is COLLAB_EQUEUE. */
	size_t max_pending;
	/* Own broadcastIds remembered after their answer, so that a late
	 * duplicate echo is never taken for a remote event (>= 1; the
	 * unanswered ones are always known). Lookups are linear in it. */
	size_t max_own_ids;
	/* Pacing of what the client sends after hello, as a token bucket
	 * matching the server's per-connection limit (PROTOCOL.md 4), so that
	 * a queue flushed after `synced` is not refused as rate-limited.
	 * ops_per_second 0: no pacing. ops_burst >= 1 when pacing. */
	uint32_t ops_per_second;
	uint32_t ops_burst;
	/* Largest token (collab_client_set_token) and URL, in bytes. */
	size_t max_token;
	size_t max_url;
	/* Largest epoch string kept from a welcome; a longer one is a
	 * malformed server message. */
	size_t max_epoch;
	/* Text and anchor limits checked before an operation is queued
	 * (PROTOCOL.md 4; the server's, by default). */
	size_t max_text;
	size_t max_anchor;
	/* Keep the local copy of the room (accessors below). Default false. */
	bool keep_room;
	/* Local copy limits; past them the copy is given up (on_room_error,
	 * collab_client_room_error()) while everything else goes on. */
	size_t max_chats;
	size_t max_comments;      /* per chat */
	/* Origin header to send; empty: none (a non-browser client). The
	 * bytes are copied at init. */
	struct collab_str origin;
	/* Parser limits for server messages (max_input defaults to 8 MiB,
	 * PROTOCOL.md 5). The wsctx's client_max_message bounds them too. */
	struct collab_proto_client_config proto;
	/* TLS client configuration with trust anchors, for wss:// (MUST
	 * outlive the client); NULL: wss:// URLs are refused. */
	struct collab_tls_client *tls;
	/* CSPRNG for ids and jitter (loop thread only, MUST outlive the
	 * client); NULL: the client seeds its own from the kernel. */
	struct collab_rng *rng;
	/* Allocator; NULL: collab_alloc_default(). MUST outlive the client. */
	const struct collab_alloc *alloc;
};

/* Fills cfg with the defaults above. */
void collab_client_config_init(struct collab_client_config *cfg);

enum collab_client_state {
	COLLAB_CLIENT_IDLE = 0,      /* initialised, not started */
	COLLAB_CLIENT_CONNECTING,    /* first connection attempt */
	COLLAB_CLIENT_SYNCING,       /* open, hello sent, before `synced` */
	COLLAB_CLIENT_LIVE,          /* synced: events arrive as they happen */
	COLLAB_CLIENT_RECONNECTING,  /* dropped: waiting or connecting again */
	COLLAB_CLIENT_AUTH_FAILED,   /* 4401/4403 or HTTP 401/403: stopped */
	COLLAB_CLIENT_CLOSED         /* closed by the caller, or stopped for good */
};

/* "idle", "connecting", "syncing", "live", "reconnecting", "auth-failed",
 * "closed"; static; "unknown" outside the enum. */
const char *collab_client_state_name(enum collab_client_state s);

/* How the last connection ended (on_state, collab_client_last_close()). */
struct collab_client_close_info {
	/* The server's close code; 1006 when no close frame came. */
	uint16_t code;
	/* The close code the client sent, 0 if none. */
	uint16_t sent_code;
	/* The HTTP status of the upgrade answer: 101 once open, the
	 * refusal's status (403, 503, ...), 0 when none came. */
	unsigned http_status;
	/* What ended it without the server's close frame (wsconn's err:
	 * COLLAB_EIO, COLLAB_ETIMEDOUT, COLLAB_EHANDSHAKE, ...), or the
	 * client's own reason (COLLAB_EPROTO: a malformed server message or
	 * a seq gap; COLLAB_ETIMEDOUT: no `synced` in time); 0 otherwise. */
	int err;
	/* The close reason (valid during the callback only). */
	struct collab_str reason;
};

struct collab_client;

/* Pending flags of the local copy. */
#define COLLAB_CLIENT_PENDING_CREATE 1u  /* made here, not yet acknowledged */
#define COLLAB_CLIENT_PENDING_UPDATE 2u  /* shows a value not yet acknowledged */
#define COLLAB_CLIENT_PENDING_DELETE 4u  /* deleted here, not yet acknowledged */

/* One callback per event; every one may be NULL. */
struct collab_client_handlers {
	/* The state changed. ci says how the connection ended when the
	 * change is due to that (RECONNECTING, AUTH_FAILED, CLOSED after a
	 * close), else NULL. */
	void (*on_state)(struct collab_client *c, enum collab_client_state st,
			 const struct collab_client_close_info *ci);
	/* Called before every connection attempt, the first included, so the
	 * caller can set a fresh token (collab_client_set_token()). */
	void (*on_token)(struct collab_client *c);
	/* Every server message, exact bytes as received, before the client
	 * handles it (collab-cli prints them). */
	void (*on_raw)(struct collab_client *c, const uint8_t *p, size_t len);
	/* welcome (PROTOCOL.md 3). */
	void (*on_welcome)(struct collab_client *c,
			   const struct collab_proto_welcome_view *w);
	/* A snapshot message (reset true for the first of a resync); iterate
	 * its chats with collab/proto.h (m->first, collab_proto_msg_chat ...). */
	void (*on_snapshot)(struct collab_client *c,
			    const struct collab_proto_server_msg *m);
	/* `synced`: the client is live at seq. */
	void (*on_synced)(struct collab_client *c, uint64_t seq);
	/* The local copy was replaced by a snapshot (keep_room only). */
	void (*on_reset)(struct collab_client *c);
	/* An event of another connection (another user or another tab),
	 * replayed or live, with seq > the last applied, already applied to
	 * the local copy. m is its message (for collab_proto_msg_comment()
	 * over ev->chat's comments). */
	void (*on_event)(struct collab_client *c,
			 const struct collab_proto_server_msg *m,
			 const struct collab_proto_event_view *ev);
	/* The user count (welcome's count, then every user-count). */
	void (*on_count)(struct collab_client *c, uint64_t count);
	/* An operation of ours was acknowledged: its echo (or the original
	 * event answering a retry) arrived. ev is that event. */
	void (*on_ack)(struct collab_client *c, struct collab_str broadcast_id,
		       const struct collab_proto_event_view *ev);
	/* An operation of ours was rejected (PROTOCOL.md 4 codes). */
	void (*on_reject)(struct collab_client *c, struct collab_str broadcast_id,
			  enum collab_proto_err code, struct collab_str message);
	/* An `error` that answers no operation of ours (broadcastId null, or
	 * unknown: e.g. a raw message sent untracked). */
	void (*on_error)(struct collab_client *c,
			 const struct collab_proto_error_view *e);
	/* The local copy was given up (COLLAB_ELIMIT or COLLAB_ENOMEM); the
	 * accessors then show an empty room until the next snapshot resync
	 * (collab_client_reconnect() with collab_client_forget()). */
	void (*on_room_error)(struct collab_client *c, int err);
	/* The caller's; collab_client_ctx() returns it. */
	void *ctx;
};

/* ---- private parts (in the header so the caller can own the struct) --- */

struct collab_client_chat;     /* opaque; see the accessors */
struct collab_client_comment;  /* opaque */
struct collab_client_op;       /* private: a pending operation */

/* A local copy of a room (private). */
struct collab_client_room {
	struct collab_client_chat *head, *tail;  /* creation order */
	struct collab_client_chat **buckets;     /* hash by id */
	size_t nbuckets;
	size_t n;
};

struct collab_client {
	struct collab_client_config cfg;
	struct collab_client_handlers hd;
	struct collab_wsconn_handlers wsh;
	struct collab_wsctx *ws;
	struct collab_loop *loop;
	const struct collab_alloc *a;
	struct collab_rng *rng;
	struct collab_rng own_rng;
	enum collab_client_state state;
	/* the connection */
	struct collab_wsconn_handle conn;   /* gen 0: none */
	uint64_t conn_gen;                  /* connections made so far */
	struct collab_wsconn_handle killing;
	int kill_reported;
	int stopping;                       /* collab_client_close() called */
	int freeing;
	int welcomed;                       /* welcome seen on this connection */
	int snapshot_mode;                  /* this sync is a snapshot */
	int snapshot_begun;                 /* its reset:true message came */
	int staging_err;                    /* gathering it failed */
	char *url;
	size_t url_len;
	char *token;                        /* NULL: anonymous */
	size_t token_len;
	char *origin;
	size_t origin_len;
	/* sync position */
	int have_sync;                      /* synced at least once */
	int want_snapshot;                  /* collab_client_forget() */
	uint64_t seq;                       /* last applied */
	char *epoch;                        /* max_epoch bytes */
	size_t epoch_len;
	char *new_epoch;                    /* the welcome's, until synced
					       (max_epoch bytes) */
	size_t new_epoch_len;
	uint64_t welcome_seq;
	/* the user the last welcome named */
	char *user_id, *user_name;          /* copies of the welcome's */
	size_t user_id_len, user_name_len;
	uint64_t count;
	/* reconnecting */
	uint32_t attempts;
	int immediate_used;
	uint64_t retry_delay_ms;
	struct collab_timer retry_timer, stable_timer, sync_timer, pace_timer;
	struct collab_client_close_info last_close;
	char last_reason[COLLAB_WS_MAX_CLOSE_REASON + 1];
	/* operations */
	struct collab_client_op *op_head, *op_tail, *op_unsent;
	size_t n_ops;
	uint64_t next_op_id;
	uint64_t pace_milli;                /* token bucket, 1/1000 tokens */
	uint64_t pace_at;                   /* loop ms of the last refill */
	/* answered own broadcastIds: a ring */
	uint64_t *own_hash;
	char (*own_ids)[COLLAB_UUID_STR_LEN];
	size_t own_len, own_pos;
	/* the local copy, and the snapshot being gathered */
	struct collab_client_room room, staging;
	int room_err;
};

/* ---- life cycle --------------------------------------------------------- */

/*
 * Prepares c on ws's loop (ws MUST outlive c) with cfg (copied; NULL:
 * defaults) and hd (copied; NULL: no callbacks). Nothing is sent yet.
 * Returns 0, COLLAB_EINVAL (a limit out of range, NULL c or ws),
 * COLLAB_ENOMEM or COLLAB_ERANDOM (seeding the own rng); on failure
 * nothing is left to free (collab_client_free() is a no-op then).
 */
int collab_client_init(struct collab_client *c, struct collab_wsctx *ws,
		       const struct collab_client_config *cfg,
		       const struct collab_client_handlers *hd);

/*
 * Drops the connection (no callback runs), cancels the timers and frees
 * everything, pending operations included (they are lost). Not from a
 * callback of c. NULL, never initialised or already freed: no-op.
 */
void collab_client_free(struct collab_client *c);

/* The caller's hd->ctx. */
void *collab_client_ctx(const struct collab_client *c);

/*
 * Writes base?tenantId=..&urlId=.. into out[0..cap) (no NUL) and sets
 * *len. base is "ws[s]://host[:port]" with an optional path: no path or
 * "/" gives "/ws"; any other path is kept. A base with a query or a
 * fragment is refused. The values are encoded as URLSearchParams does
 * (application/x-www-form-urlencoded: ALPHA DIGIT * - . _ unchanged,
 * space as '+', every other byte %XX in uppercase). tenant_id and url_id
 * MUST be non-empty (their content is the server's to judge). Views may
 * be NULL only with length 0. Returns 0, COLLAB_ESYNTAX (base),
 * COLLAB_EINVAL (empty values), COLLAB_ESPACE (cap).
 */
int collab_client_build_url(struct collab_str base, struct collab_str tenant_id,
			    struct collab_str url_id, char *out, size_t cap,
			    size_t *len);

/*
 * Sets the token sent in every later hello (copied); len 0 (tok may then
 * be NULL): anonymous. Takes effect at the next connection. Returns 0,
 * COLLAB_ELIMIT (over max_token), COLLAB_EUTF8, COLLAB_ENOMEM (the old
 * token stays).
 */
int collab_client_set_token(struct collab_client *c, const char *tok, size_t len);

/*
 * Starts the client on url (a full ws:// or wss:// URL with its query,
 * e.g. from collab_client_build_url(); len bytes, copied): state
 * CONNECTING, reported through on_state before this returns; the first
 * attempt (on_token, then the TCP connect) comes at the loop's next
 * timer phase. Only from
 * IDLE. Returns 0 (every later outcome goes through the callbacks),
 * COLLAB_ESTATE, COLLAB_ESYNTAX (url), COLLAB_ELIMIT (over max_url),
 * COLLAB_EINVAL (wss:// without cfg.tls), COLLAB_ENOMEM.
 */
int collab_client_start(struct collab_client *c, const char *url, size_t len);

/*
 * Connects again now, whatever the state but IDLE: a live connection is
 * dropped (close 1000 sent when it can be), a backoff wait is cut short,
 * and AUTH_FAILED or CLOSED are left (call it after setting a new token).
 * The attempt counter is kept (reset after a stable connection). State
 * RECONNECTING is reported before this returns; the attempt itself (and
 * on_token) comes at the loop's next timer phase. Returns 0, COLLAB_ESTATE
 * (never started), or COLLAB_ENOMEM.
 */
int collab_client_reconnect(struct collab_client *c);

/*
 * Makes the next hello go without since/epoch, so the server answers with
 * a snapshot, which replaces the local copy (and clears a room error).
 * Pending operations are kept. Takes effect at the next connection
 * (collab_client_reconnect() to have it now).
 */
void collab_client_forget(struct collab_client *c);

/*
 * Closes for good: the WebSocket is closed with 1000 and the state goes
 * to CLOSED when the close handshake ends (at once when no connection is
 * open; on_state reports it). Operations still pending stay pending (they
 * are neither sent nor rejected); collab_client_pending() says how many.
 * Then only collab_client_reconnect() or collab_client_free() make sense.
 * No-op when already closed or closing.
 */
void collab_client_close(struct collab_client *c);

/* ---- status ---------------------------------------------------------------- */

enum collab_client_state collab_client_state(const struct collab_client *c);

/* The last seq applied and its epoch (empty before the first sync); the
 * epoch view lives until the next resync. */
uint64_t collab_client_seq(const struct collab_client *c);
struct collab_str collab_client_epoch(const struct collab_client *c);

/* The last user count, 0 before the first welcome. */
uint64_t collab_client_count(const struct collab_client *c);

/* The connection's user as the last welcome named it; empty when
 * anonymous or before any welcome. Views live until the next welcome. */
struct collab_str collab_client_user_id(const struct collab_client *c);
struct collab_str collab_client_user_name(const struct collab_client *c);

/* How the last connection ended (zeroed before the first end; the reason
 * view lives until the next end). */
const struct collab_client_close_info *collab_client_last_close(const struct collab_client *c);

/* Consecutive failed attempts since the last stable connection, and the
 * delay of the reconnect being waited for (0 when none). */
uint32_t collab_client_attempts(const struct collab_client *c);
uint64_t collab_client_retry_delay(const struct collab_client *c);

/* Operations queued or sent and not yet answered (raw tracked ones
 * included). */
size_t collab_client_pending(const struct collab_client *c);

/*
 * The backoff delay before attempt `attempt` (0 for the first retry):
 * uniform in [0, min(cap, base * 2^attempt)] (full jitter), drawn from r.
 * The formula the client uses, exposed for tests and for callers with
 * their own reconnect loops. cfg NULL: defaults. Returns 0, COLLAB_EINVAL
 * (cfg out of range, r or delay_ms NULL) or an error of collab_rng_below().
 */
int collab_client_backoff(const struct collab_client_config *cfg,
			  struct collab_rng *r, uint32_t attempt,
			  uint64_t *delay_ms);

/* ---- operations (PROTOCOL.md 4) ------------------------------------------- */

/* What an operation call made: its broadcastId, and the chat and comment
 * ids it names (fresh for what it creates, copies of the given ones
 * otherwise; "" when it names none). NUL-terminated, lowercase. */
struct collab_client_ids {
	char broadcast_id[COLLAB_UUID_STR_LEN + 1];
	char chat_id[COLLAB_UUID_STR_LEN + 1];
	char comment_id[COLLAB_UUID_STR_LEN + 1];
};

/*
 * Every operation may be made in any state but CLOSED (or closing): before
 * the first `synced` and while disconnected it waits in the queue. chat_id and
 * comment_id MUST be canonical lowercase UUIDs (36 bytes), text 1 to
 * max_text bytes of UTF-8, anchor one JSON object of at most max_anchor
 * bytes once re-encoded compactly (that re-encoding is what is sent and
 * what the local copy shows). ids may be NULL.
 *
 * Returns 0 with the operation queued (and sent at once when live and
 * the pacing allows); COLLAB_EINVAL (a bad id, empty text, anchor not an
 * object), COLLAB_ESYNTAX / COLLAB_EUTF8 (anchor not JSON, text not
 * UTF-8), COLLAB_ELIMIT (text or anchor too large), COLLAB_EQUEUE
 * (max_pending reached), COLLAB_ESTATE (closed), COLLAB_ENOMEM,
 * COLLAB_ERANDOM. Nothing is queued on failure.
 */
int collab_client_create_chat(struct collab_client *c,
			      const char *anchor, size_t anchor_len,
			      const char *text, size_t text_len,
			      struct collab_client_ids *ids);
int collab_client_add_comment(struct collab_client *c, struct collab_str chat_id,
			      const char *text, size_t text_len,
			      struct collab_client_ids *ids);
int collab_client_edit_comment(struct collab_client *c, struct collab_str chat_id,
			       struct collab_str comment_id,
			       const char *text, size_t text_len,
			       struct collab_client_ids *ids);
int collab_client_delete_comment(struct collab_client *c,
				 struct collab_str chat_id,
				 struct collab_str comment_id,
				 struct collab_client_ids *ids);
int collab_client_resolve(struct collab_client *c, struct collab_str chat_id,
			  bool resolved, struct collab_client_ids *ids);
int collab_client_delete_chat(struct collab_client *c, struct collab_str chat_id,
			      struct collab_client_ids *ids);

/*
 * Sends p[0..len) (valid UTF-8; copied) as one text message, unchanged,
 * for programs that build their own messages (collab-cli sends the lines
 * a user types). It is queued like an operation and sent, in order with
 * the others, when the connection is live. With a broadcast_id (36
 * bytes; the caller found it in the message) it is tracked like an
 * operation: answered by on_ack / on_reject, sent again with the same
 * bytes after a reconnect; without one (broadcast_id.len 0) it is sent
 * once and forgotten, and an `error` answering it goes to on_error. The
 * local copy does not show raw messages until the server's event does.
 * Returns 0, COLLAB_EUTF8, COLLAB_EINVAL (broadcast_id of another length),
 * COLLAB_EQUEUE, COLLAB_ESTATE, COLLAB_ENOMEM.
 */
int collab_client_send_raw(struct collab_client *c, const uint8_t *p,
			   size_t len, struct collab_str broadcast_id);

/*
 * TEST ONLY (the fuzz target and unit tests): handles p[0..len) as one
 * server message. When no connection is open, the client first takes a
 * stand-in one that no wsctx slot can match (so nothing is ever sent: every
 * send and close on it fails quietly as on a closed connection) and enters
 * SYNCING, as after an upgrade; a message that ends the connection (a
 * malformed one, a gap) drops the stand-in and schedules a reconnect as
 * usual. Not for use next to a real connection of the same client.
 * Returns 0, COLLAB_ESTATE (c not initialised, or CLOSED), COLLAB_EINVAL.
 */
int collab_client_test_feed(struct collab_client *c, const uint8_t *p, size_t len);

/* ---- the local copy (cfg.keep_room) ------------------------------------- */

/*
 * Pointers and views from these accessors are valid until the copy next
 * changes: an event, a snapshot, an answer, an operation call. Use them
 * within one callback or between two calls on the loop thread; never keep
 * them across turns of the loop. Without keep_room the room is empty.
 */

/* 0, or the error that made the copy give up (see on_room_error). */
int collab_client_room_error(const struct collab_client *c);

/* Chats listed (pending creates and deletes included). */
size_t collab_client_chat_count(const struct collab_client *c);

/* The first chat in creation order, and the next; NULL at the end. */
const struct collab_client_chat *collab_client_chat_first(const struct collab_client *c);
const struct collab_client_chat *collab_client_chat_next(const struct collab_client_chat *ch);

/* The chat with that id (bytes, any length; id NULL only with len 0), or
 * NULL. O(1) on average. */
const struct collab_client_chat *collab_client_chat_find(const struct collab_client *c,
							  const char *id, size_t len);

struct collab_client_chat_info {
	struct collab_str id;
	struct collab_str anchor;     /* compact JSON object */
	struct collab_str user_id;
	struct collab_str user_name;
	uint64_t created_at;          /* 0 while PENDING_CREATE */
	bool resolved;                /* as shown (a pending resolve's value) */
	size_t n_comments;
	unsigned pending;             /* COLLAB_CLIENT_PENDING_* */
};

/* Fills *out for ch (both MUST NOT be NULL). */
void collab_client_chat_get(const struct collab_client_chat *ch,
			    struct collab_client_chat_info *out);

/* Comments of ch in creation order; find by id. NULL at the end / when
 * absent. */
const struct collab_client_comment *collab_client_comment_first(const struct collab_client_chat *ch);
const struct collab_client_comment *collab_client_comment_next(const struct collab_client_comment *cm);
const struct collab_client_comment *collab_client_comment_find(const struct collab_client_chat *ch,
								const char *id, size_t len);

struct collab_client_comment_info {
	struct collab_str id;
	struct collab_str user_id;
	struct collab_str user_name;
	struct collab_str text;       /* as shown (a pending edit's text) */
	uint64_t created_at;          /* 0 while PENDING_CREATE */
	unsigned pending;             /* COLLAB_CLIENT_PENDING_* */
};

void collab_client_comment_get(const struct collab_client_comment *cm,
			       struct collab_client_comment_info *out);

#ifdef __cplusplus
}
#endif
#endif
