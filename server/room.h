/*
 * room.h - collab-server's rooms (DESIGN.md "The server", PROTOCOL.md 3,
 * 5 and 8): the registry of rooms keyed by (tenantId, urlId), and per
 * room its subscribers, distinct-user count, seq, the ring of recent
 * events and its live chats (chat.h). Pure logic: no sockets, no files,
 * no clock; every allocation through the registry's struct collab_alloc.
 *
 * REGISTRY. Rooms live in a hash table under a SipHash key drawn from the
 * caller's CSPRNG at init (room_htab.h says why), created on first use by
 * srv_room_get().
 *
 * FREEING AND TOMBSTONES. A room with neither subscribers nor live chats
 * is idle. Rooms that become idle are queued, and freed by the next
 * srv_room_registry_collect(), which the server calls once per loop turn
 * after its broadcasts: so a room pointer obtained in a turn stays valid
 * until that call, whatever happens in the turn (a room is never freed
 * while an open turn of ops.h has changed it, either). PROTOCOL.md 8: a
 * room's seq never goes back within an epoch, even when an idle room is
 * freed. So freeing a room whose seq is above 0 leaves a tombstone, the
 * room's key and its last seq, from which srv_room_get() restores the seq
 * when the room is created again (the tombstone is then dropped: the live
 * room carries the seq). MEMORY: a tombstone is one block of
 * sizeof(struct srv_room_tomb) (32 bytes on LP64) plus the tenant id and
 * urlId bytes, plus one 16-byte table slot at a load between 3/8 and 3/4
 * (21 to 43 bytes each): about 60 to 80 bytes plus the key (at most 64 +
 * 512 bytes by PROTOCOL.md 1) plus the allocator's overhead, per freed
 * room that ever had an event, for the life of the process (a million
 * freed rooms with 60-byte URLs: roughly 150 MB). Compaction can write
 * them out (srv_room_tomb_next) and recovery put them back
 * (srv_room_tomb_set), so the journal need not keep a freed room's events.
 * If the tombstone cannot be allocated the room is simply kept.
 *
 * RING. Each room retains its last cfg.ring_size events (PROTOCOL.md 8:
 * at least the last 1,000) as encoded once (struct collab_shbuf, shared by
 * the broadcast and by replays), indexed by broadcastId for retries
 * (PROTOCOL.md 4). Events in the ring always have consecutive seqs. The
 * ring's array grows on demand up to ring_size, so a quiet room costs
 * little.
 *
 * Thread rules: a registry and its rooms belong to the loop thread.
 */
#ifndef SRV_ROOM_H
#define SRV_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/buf.h"
#include "collab/common.h"
#include "collab/json.h"
#include "collab/proto.h"
#include "collab/rand.h"
#include "chat.h"
#include "room_htab.h"

/* PROTOCOL.md 8: at least the last 1,000 events of each room. */
#define SRV_ROOM_DEFAULT_RING_SIZE ((size_t)1000)
/* Events the ring array holds when first allocated. */
#define SRV_ROOM_RING_MIN_CAP ((size_t)16)
/* Subscriber slots when first allocated. */
#define SRV_ROOM_SUBS_MIN_CAP ((size_t)4)
/* Room for a message about a rejected record, NUL included. */
#define SRV_ROOM_MSG_CAP 128

struct srv_room_config {
	/* Events retained per room for replay and retry detection; >= 1. */
	size_t ring_size;
};

void srv_room_config_init(struct srv_room_config *cfg);

/* One retained event. Read-only outside room.c and ops.c. */
struct srv_room_event {
	struct collab_shbuf *msg;   /* the event message's bytes, as sent */
	uint64_t seq;
	uint64_t hash;              /* of broadcast_id */
	char broadcast_id[SRV_CHAT_ID_LEN];
	/* Set while the turn (ops.h) that made it is open: not yet durable,
	 * so not to be sent to anyone yet. */
	bool uncommitted;
	size_t user_id_len;
	char user_id[];             /* the userId of the event */
};

/* A distinct authenticated user of a room, with its connection count. */
struct srv_room_user {
	uint64_t hash;
	size_t conns;
	size_t id_len;
	char id[];
};

/* One subscriber: the server's opaque connection handle. */
struct srv_room_sub {
	uint64_t handle;
	struct srv_room_user *user;  /* NULL: anonymous */
};

struct srv_room_registry;

/*
 * A room. Fields are read-only for the caller, except ext. The server reads
 * seq, subs[0..n_subs) (to fan out), chats.head/->next (creation order).
 */
struct srv_room {
	struct srv_room_registry *reg;
	uint64_t hash;
	size_t tenant_len;
	size_t url_len;
	uint64_t seq;                 /* 0: never had an event */
	struct srv_chat_store chats;
	/* the ring: ring_n events from ring[ring_start], circular */
	struct srv_room_event **ring;
	size_t ring_cap, ring_start, ring_n;
	struct srv_room_htab bids;    /* retained events by broadcastId */
	/* subscribers, dense; a connection keeps its index */
	struct srv_room_sub *subs;
	size_t n_subs, cap_subs;
	struct srv_room_htab users;   /* struct srv_room_user by id */
	size_t n_anon;
	/* ops.h turns holding undo entries for this room: never freed while
	 * this is above 0 */
	size_t pins;
	bool queued;                  /* on the registry's idle queue */
	struct srv_room *next_idle;
	void *ext;                    /* the server's; never touched here */
	char key[];                   /* tenant id bytes, then urlId bytes */
};

/* A freed room's last seq. */
struct srv_room_tomb {
	uint64_t hash;
	uint64_t seq;
	size_t tenant_len;
	size_t url_len;
	char key[];                   /* tenant id bytes, then urlId bytes */
};

struct srv_room_registry {
	const struct collab_alloc *a;
	struct srv_room_config cfg;
	struct srv_room_sipkey key;
	struct srv_room_htab rooms;
	struct srv_room_htab tombs;
	struct srv_room *idle;        /* queue of rooms that became idle */
	/* Reused working memory: event encoding (ops.c) and the JSON
	 * reader's nodes for records. srv_room_registry_trim() frees it. */
	struct collab_buf scratch;
	struct collab_json_node *nodes;
	size_t nodes_cap;
};

/* ---- registry ----------------------------------------------------------- */

/*
 * Initialises reg: no rooms. a NULL: collab_alloc_default(); cfg NULL: the
 * defaults. The hashing key is drawn from rng (collab_rng_init() in the
 * server; a test may seed one). Returns 0, COLLAB_EINVAL (ring_size 0, NULL
 * reg or rng) or collab_rng_bytes()'s error. Allocates nothing.
 */
int srv_room_registry_init(struct srv_room_registry *reg,
			   const struct collab_alloc *a,
			   const struct srv_room_config *cfg,
			   struct collab_rng *rng);

/* Frees every room (whatever its state: every turn of ops.h MUST have been
 * committed or rolled back), every tombstone and the working memory. */
void srv_room_registry_free(struct srv_room_registry *reg);

/* Frees the working memory (after recovery, say); it regrows on demand. */
void srv_room_registry_trim(struct srv_room_registry *reg);

/* Live rooms (for the collab_rooms metric) and tombstones. */
size_t srv_room_registry_count(const struct srv_room_registry *reg);
size_t srv_room_registry_tombstones(const struct srv_room_registry *reg);

/*
 * Frees the queued rooms that are still idle and not pinned by an open
 * turn, leaving a tombstone for each whose seq is above 0 (a room whose
 * tombstone cannot be allocated stays queued for the next call). Call once
 * per loop turn, after the turn's broadcasts; room pointers of freed rooms
 * are invalid afterwards. Returns the number of rooms freed.
 */
size_t srv_room_registry_collect(struct srv_room_registry *reg);

/*
 * The room (tenant[0..tenant_len), url[0..url_len)), created when absent
 * (its seq restored from a tombstone, or 0). The bytes are taken as given:
 * the caller has validated them (PROTOCOL.md 1). Returns 0 with *out set;
 * COLLAB_ENOMEM (nothing changed); COLLAB_EINVAL (an empty id).
 */
int srv_room_get(struct srv_room_registry *reg, const char *tenant,
		 size_t tenant_len, const uint8_t *url, size_t url_len,
		 struct srv_room **out);

/* The live room, or NULL. */
struct srv_room *srv_room_find(const struct srv_room_registry *reg,
			       const char *tenant, size_t tenant_len,
			       const uint8_t *url, size_t url_len);

/* Views of a room's key. */
struct collab_str srv_room_tenant(const struct srv_room *room);
struct collab_str srv_room_url(const struct srv_room *room);

/* Iterates live rooms (compaction, shutdown): *it = 0 first, NULL at the
 * end; the registry MUST NOT change during the walk. */
struct srv_room *srv_room_next(const struct srv_room_registry *reg,
			       size_t *it);

/* Iterates tombstones the same way (compaction writes them out). */
const struct srv_room_tomb *srv_room_tomb_next(
	const struct srv_room_registry *reg, size_t *it);

/*
 * Recovery from a compaction record: remembers that the freed room (tenant,
 * url) had reached seq (keeping the larger if a tombstone exists). Returns
 * 0; COLLAB_EEXIST when the room is live (recovery order is wrong);
 * COLLAB_ENOMEM; COLLAB_EINVAL (an empty id).
 */
int srv_room_tomb_set(struct srv_room_registry *reg, const char *tenant,
		      size_t tenant_len, const uint8_t *url, size_t url_len,
		      uint64_t seq);

/* ---- subscribers and user count (PROTOCOL.md 5, user-count) ------------ */

/*
 * Adds the connection handle to the room. user_id NULL: an anonymous
 * connection (counts once); otherwise the token's sub, which counts once
 * however many connections it has. *idx receives the subscriber's index:
 * the connection keeps it for srv_room_leave(). Returns 0, or
 * COLLAB_ENOMEM with nothing changed.
 */
int srv_room_join(struct srv_room *room, uint64_t handle,
		  const struct collab_str *user_id, size_t *idx);

/*
 * Removes the subscriber at idx in O(1). The last subscriber moves into
 * the hole: when that happens (return true), *moved is its handle and the
 * caller MUST set that connection's stored index to idx. A room left idle
 * is queued for srv_room_registry_collect(). idx out of range: false,
 * nothing done.
 */
bool srv_room_leave(struct srv_room *room, size_t idx, uint64_t *moved);

/* Distinct users viewing the room: authenticated users once each, plus
 * one per anonymous connection. */
size_t srv_room_count(const struct srv_room *room);

/* Neither subscribers nor live chats. */
bool srv_room_is_idle(const struct srv_room *room);

/* Queues the room for srv_room_registry_collect() when idle (ops.c calls
 * it after changes; harmless to call at any time). */
void srv_room_check_idle(struct srv_room *room);

/* ---- the ring of recent events (PROTOCOL.md 4 retries, 8 replay) ------- */

/*
 * A new event block (not in the ring): bytes msg[0..len) copied into a
 * fresh shared buffer, bid the 36-character broadcastId, user_id the
 * event's userId. Returns 0 or COLLAB_ENOMEM.
 */
int srv_room_event_new(struct srv_room *room, uint64_t seq, const char *bid,
		       struct collab_str user_id, const uint8_t *msg,
		       size_t len, struct srv_room_event **out);

/* Drops the block's reference to its bytes and frees it (NULL: no-op). */
void srv_room_event_free(struct srv_room *room, struct srv_room_event *ev);

/* Makes sure one srv_room_ring_push() needs no memory. 0 or
 * COLLAB_ENOMEM. Also empties a ring whose newest event is not the
 * room's seq (only a srv_room_ring_restore() sequence that stopped short
 * leaves one): such events can never be replayed, and keeping them would
 * break the ring's run of consecutive seqs. */
int srv_room_ring_reserve(struct srv_room *room);

/*
 * Appends ev (its seq MUST follow the newest retained one) after
 * srv_room_ring_reserve(). When the ring is full the oldest event leaves
 * it and is handed back in *evicted (else NULL): still allocated, for the
 * caller to free or to put back with srv_room_ring_unpush(). Does not
 * touch room->seq.
 */
void srv_room_ring_push(struct srv_room *room, struct srv_room_event *ev,
			struct srv_room_event **evicted);

/* Exactly undoes the last push of ev, which evicted `evicted` (may be
 * NULL). ev is handed back to the caller, still allocated. */
void srv_room_ring_unpush(struct srv_room *room, struct srv_room_event *ev,
			  struct srv_room_event *evicted);

/* The retained event with this broadcastId (36 bytes), or NULL. */
const struct srv_room_event *srv_room_event_find(const struct srv_room *room,
						 const char *bid);

/* The retained event with this seq, or NULL. */
const struct srv_room_event *srv_room_event_at(const struct srv_room *room,
					       uint64_t seq);

enum srv_room_resync {
	SRV_ROOM_REPLAY = 0,   /* every event in (since, seq] is retained */
	SRV_ROOM_SNAPSHOT      /* some is not, or since > seq */
};

/*
 * PROTOCOL.md 3 resync for a client at `since` of this room's epoch (the
 * caller compares epochs first: another epoch is a snapshot). REPLAY with
 * *n = seq - since when the events since+1 .. seq are all retained (then
 * srv_room_event_at() gives each; *n is 0 when since == seq), else
 * SNAPSHOT (*n = 0).
 */
enum srv_room_resync srv_room_events_since(const struct srv_room *room,
					   uint64_t since, uint64_t *n);

/* ---- state: snapshots and compaction records ---------------------------- */

/*
 * The room's live chats as snapshot messages (PROTOCOL.md 3), through
 * srv_chat_store_snapshot() with the room's seq: the messages a client
 * gets with resync "snapshot", and the records compaction writes. buf is
 * the caller's working buffer (grown as needed). cfg NULL: defaults.
 */
int srv_room_encode_state(const struct srv_room *room,
			  const struct collab_proto_config *cfg,
			  struct collab_buf *buf,
			  int (*emit)(void *ctx, const uint8_t *p, size_t len),
			  void *ctx);

/*
 * Loads one snapshot message p[0..len) (as srv_room_encode_state() wrote
 * it) into the room, for recovery from compaction records. "reset":true
 * MUST come first, into a room with no chats and no retained events whose
 * seq is at most the message's; it sets the seq. "reset":false messages
 * MUST carry the same seq and add their chats after the others. Chat ids
 * already live are corruption. Returns 0; COLLAB_ECORRUPT with msg (may be
 * NULL) saying why; COLLAB_ENOMEM. On any failure the room is unchanged.
 */
int srv_room_load_state(struct srv_room *room, const uint8_t *p, size_t len,
			char *msg, size_t msgcap);

/*
 * Recovery from compaction records: puts an event back into the ring
 * without applying it (the loaded state already includes it). Its seq MUST
 * be at most the room's, and follow the newest retained event if any.
 * Returns 0; COLLAB_ECORRUPT (msg says why); COLLAB_ENOMEM.
 */
int srv_room_ring_restore(struct srv_room *room, const uint8_t *p, size_t len,
			  char *msg, size_t msgcap);

/* ---- shared with ops.c ---------------------------------------------------- */

/* Parses a stored record p[0..len) with the registry's reusable node
 * array. 0, COLLAB_ENOMEM, or COLLAB_ECORRUPT (not JSON; msg says where). */
int srv_room_parse_record(struct srv_room_registry *reg, const uint8_t *p,
			  size_t len, struct collab_json_doc *doc, char *msg,
			  size_t msgcap);

/* The members every event starts with (PROTOCOL.md 5). */
struct srv_room_event_head {
	enum collab_proto_type type;
	uint64_t seq;
	uint64_t ts;
	char broadcast_id[SRV_CHAT_ID_LEN];
	uint32_t user_id;   /* the userId string's node */
};

/* Reads them from a parsed event; 0 or COLLAB_ECORRUPT (msg says why). */
int srv_room_event_head(const struct collab_json_doc *doc,
			struct srv_room_event_head *h, char *msg,
			size_t msgcap);

/* An event block for the parsed event doc (whose bytes are doc->in),
 * with the head h read from it. 0 or COLLAB_ENOMEM. */
int srv_room_event_from_doc(struct srv_room *room,
			    const struct collab_json_doc *doc,
			    const struct srv_room_event_head *h,
			    struct srv_room_event **out);

#endif
