/*
 * server.h - collab-server's process-wide state and the path of a loop
 * turn (DESIGN.md "The server"): everything a turn receives is parsed,
 * validated and applied to memory (session.c), its accepted operations are
 * appended to the journal and made durable with one commit at the end of
 * the turn, and only then broadcast (fanout.c). A failed commit rolls the
 * turn back (ops.h's undo log) and answers `unavailable`.
 *
 * main.c only parses the command line, calls srv_server_init(), prints the
 * listening lines, runs the loop and frees.
 *
 * Thread rules: one thread, the loop's.
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/buf.h"
#include "collab/jwt.h"
#include "collab/loop.h"
#include "collab/proto.h"
#include "collab/rand.h"
#include "collab/tls.h"
#include "collab/uuid.h"
#include "collab/wsconn.h"
#include "config.h"
#include "demo.h"
#include "fanout.h"
#include "journal.h"
#include "metrics.h"
#include "ops.h"
#include "room.h"
#include "static.h"
#include "tenant.h"

/* SIGTERM/SIGINT: connections get this long to answer their 1001 before
 * they are dropped (PROTOCOL.md asks for an exit within 5 s). */
#define SRV_SERVER_GRACE_MS 3000u
/* 503 answers say when to come back (seconds). */
#define SRV_SERVER_RETRY_AFTER "5"
/* File descriptors kept for listeners, the journal, static files. */
#define SRV_SERVER_FD_RESERVE 64u
/* Period of the journal tick (relaxed syncs, compaction checks). */
#define SRV_SERVER_TICK_MS 200u
/* epoll events taken per loop turn: one group commit (one fdatasync)
 * covers every connection read in a turn (the loop's default is 256). */
#define SRV_LOOP_MAX_EVENTS 4096u
/* Compaction is considered at most this often. */
#define SRV_SERVER_COMPACT_CHECK_MS 10000u
/* Socket queue hard limit on top of the live limit: room for the largest
 * single snapshot message (one chat alone can pass 64 KiB by far). */
#define SRV_SERVER_QUEUE_HEADROOM ((size_t)64 << 20)
/* PROTOCOL.md 1: urlId is 1-512 bytes of UTF-8. */
#define SRV_SERVER_URL_MAX 512u
/* PROTOCOL.md 1: offered and selected when offered. */
#define SRV_SERVER_SUBPROTOCOL "collab.v1"
/* At most this many rejected-upgrade log lines per second. */
#define SRV_SERVER_LOG_BURST 20u

/* Journal record types (journal.h: the caller's are 2..255). Payloads are
 * JSON objects, exactly as persist.c writes them:
 *   EVENT  {"tenantId":T,"urlId":U,"event":{..}}      an accepted event
 *   STATE  {"tenantId":T,"urlId":U,"snapshot":{..}}   compaction: live chats
 *   RING   {"tenantId":T,"urlId":U,"event":{..}}      compaction: ring
 *   TOMB   {"tenantId":T,"urlId":U,"seq":N}           compaction: freed room */
#define SRV_REC_EVENT 2u
#define SRV_REC_STATE 3u
#define SRV_REC_RING 4u
#define SRV_REC_TOMB 5u

/* An operation of the open turn waiting for the commit. */
struct srv_pending {
	struct collab_wsconn_handle h;
	struct srv_room *room;
	struct srv_tenant *tenant;
	enum srv_ops_outcome outcome;      /* APPLIED or DUPLICATE */
	bool pending;                      /* DUPLICATE of this turn's op */
	struct collab_shbuf *event;        /* payload reference */
	char bid[SRV_CHAT_ID_LEN];
};

/* The upgrade decided in on_request, picked up by on_open in the same
 * call (wsconn calls them back to back). */
struct srv_upgrade {
	struct collab_wsconn *c;
	struct srv_tenant *tenant;
	size_t url_len;
	char url[SRV_SERVER_URL_MAX];
};

struct srv_server {
	const struct srv_config *cfg;
	const struct collab_alloc *a;
	struct collab_rng rng;
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_wsconn_listener lst, admin;
	struct collab_wsconn_handlers hd_main, hd_admin;
	struct collab_tls_server tls;
	struct srv_tenant_registry tenants;
	struct srv_metrics metrics;
	struct srv_room_registry rooms;
	struct srv_ops_turn turn;
	struct srv_pending *pend;
	size_t n_pend, cap_pend;
	bool doomed;                       /* an append failed this turn */
	/* connections whose 1008 waits for the end of the turn (session.c) */
	struct collab_wsconn_handle *policy;
	size_t n_policy, cap_policy;
	struct srv_journal journal;
	struct collab_buf rec;             /* record encoding */
	char recover_msg[SRV_JOURNAL_MSG_MAX]; /* why recovery stopped */
	uint64_t recovered[4];             /* records by type, at start */
	struct srv_fanout fanout;
	struct collab_proto_config pcfg;
	struct collab_hook hook;
	struct collab_timer tick;
	struct collab_timer grace;
	struct collab_signal sig_int, sig_term;
	char epoch[SRV_JOURNAL_EPOCH_LEN + 1];
	struct srv_upgrade upg;
	/* parse memory for client messages, grown to the largest seen */
	struct collab_json_node *nodes;
	size_t nodes_cap;
	uint8_t *scratch;
	size_t scratch_cap;
	/* token verification memory, sized for jcfg.max_token */
	struct collab_jwt_config jcfg;
	struct collab_json_node *jnodes;
	size_t jnodes_cap;
	uint8_t *jscratch;
	size_t jscratch_cap;
	struct srv_static www;
	struct srv_demo demo;
	bool has_tls, has_www, has_demo;
	bool loop_ok, ws_ok, rooms_ok, metrics_ok, fanout_ok, journal_ok;
	bool stopping;
	bool compact_due;
	uint64_t last_compact_check;
	uint64_t dropped_seen;             /* journal stats.dropped_committed
					    * already rewritten (persist.c) */
	bool final_sync_failed;            /* the journal's sync at close */
	uint64_t n_ws;                     /* open WebSockets */
	uint64_t max_ws;                   /* server-wide limit */
	uint64_t log_window;               /* rejected-upgrade log throttle */
	unsigned log_lines;
	unsigned log_dropped;
	uint64_t slow_consumers;
};

/*
 * Everything before the listening lines: tenants (or the built-in demo
 * tenant), the journal and recovery, rooms, the loop, both listeners, the
 * signals. cfg MUST outlive srv. On failure a message has been logged and
 * srv_server_free() MUST still be called. Returns 0 or an error code.
 */
int srv_server_init(struct srv_server *srv, const struct srv_config *cfg);

/* Runs until a signal asks to stop and the connections are gone. Returns
 * 0 for a clean stop. */
int srv_server_run(struct srv_server *srv);

/* Frees everything (connections dropped first). Safe after a failed
 * init. */
void srv_server_free(struct srv_server *srv);

/* Logs one line on stderr ("<time> <level> <text>") when the configured
 * level allows it. Never give it a token or a secret. */
void srv_log(const struct srv_server *srv, enum srv_config_log_level lvl,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The rejected-upgrade throttle: true when this line may be logged. */
bool srv_log_allow(struct srv_server *srv);

/* Writes s[0..len) into out[0..cap) (NUL-terminated) with every byte
 * outside printable ASCII, '"' and '\\' replaced by '?', truncated to fit:
 * for logging strings that came from the network. Returns out. */
const char *srv_log_clean(const char *s, size_t len, char *out, size_t cap);

/* Queues an APPLIED or DUPLICATE result until the turn's commit; takes
 * res->event's reference. Returns 0 or COLLAB_ENOMEM. */
int srv_server_pend(struct srv_server *srv, struct collab_wsconn_handle h,
		    struct srv_room *room, struct srv_tenant *tenant,
		    const struct srv_ops_result *res, const char *bid);

/* Appends the event (its payload) of room to the journal's batch. On
 * failure the whole turn will be answered `unavailable`. */
void srv_server_journal_event(struct srv_server *srv, struct srv_room *room,
			      const struct collab_shbuf *ev);

/*
 * Ends the group now: makes the turn's operations durable (one journal
 * commit), commits or rolls back the undo log, hands the events to the
 * fanout, answers retries and failures. Called at the end of every turn,
 * and before a newcomer joins a room (so that it syncs from committed
 * state).
 */
void srv_server_commit(struct srv_server *srv);

/* Per-tenant limits for ops.h. */
void srv_server_limits(const struct srv_tenant *t, struct srv_ops_limits *lim);

/* Parse memory for a message of len bytes (grown as needed). Returns 0
 * or COLLAB_ENOMEM. */
int srv_server_parse_mem(struct srv_server *srv, size_t len,
			 struct collab_proto_mem *mem);

/* Journal glue (persist.c). */
int srv_persist_recover(struct srv_server *srv);
int srv_persist_event(struct srv_server *srv, const struct srv_room *room,
		      const uint8_t *ev, size_t len);
/* Compaction when due, and at once when a failed sync dropped committed
 * events from the file (journal.h FAILURES): the journal is rewritten
 * from memory, or enters the FAILED state if that fails. Call between
 * turns (no pending batch, the turn resolved). */
void srv_persist_maybe_compact(struct srv_server *srv);
/* Rewrites the journal from memory (live state, each room's retained
 * events, tombstones); with new_epoch under a fresh epoch. 0 or error. */
int srv_persist_rewrite(struct srv_server *srv, bool new_epoch);
/* Replays one journal record into rooms, as recovery does (also used by
 * collab-journal verify). 0, COLLAB_ECORRUPT (why in out[0..cap), naming
 * offset) or COLLAB_ENOMEM. */
int srv_persist_replay(struct srv_room_registry *rooms, uint8_t type,
		       const uint8_t *payload, size_t len, uint64_t offset,
		       char *out, size_t cap);
/* Closes the journal; sets final_sync_failed if its last sync failed. */
void srv_persist_free(struct srv_server *srv);

#endif
