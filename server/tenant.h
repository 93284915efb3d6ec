/*
 * tenant.h - collab-server's tenant registry, loaded from tenants.json
 * (PROTOCOL.md section 10):
 *
 *   {"tenants":[{"id":"demo","secret":"<at least 32 bytes>",
 *                "origins":["http://127.0.0.1:8080"],"anonymous":"read",
 *                "maxConnections":10000,"opsPerSecond":20,"opsBurst":40,
 *                "maxChatsPerRoom":10000,"maxCommentsPerChat":1000}]}
 *
 * The file is read whole (at most SRV_TENANT_FILE_MAX bytes) and parsed by
 * the strict JSON reader (collab/json.h: no comments, no trailing commas,
 * no duplicate member names, valid UTF-8). Then, per tenant:
 *   id          required; 1-64 bytes of [A-Za-z0-9_-]; unique in the file.
 *   secret      required; a string of SRV_TENANT_SECRET_MIN to
 *               SRV_TENANT_SECRET_MAX bytes. Its bytes as written (after
 *               JSON escapes are decoded; never base64-decoded) are the
 *               HS256 key. It is never logged nor quoted in a message,
 *               and its memory is wiped when the registry is freed.
 *   origins     optional; an array of at most SRV_TENANT_ORIGINS_MAX
 *               non-empty strings of at most SRV_TENANT_ORIGIN_MAX bytes.
 *               Absent means empty: no browser origin is allowed (clients
 *               without an Origin header still are). "*" is not special.
 *   anonymous   optional; "read" (anonymous connections may watch) or
 *               "none". Absent means "none": the safe choice, so that
 *               forgetting the field never opens a tenant to the public.
 *   maxConnections, opsPerSecond, opsBurst, maxChatsPerRoom,
 *   maxCommentsPerChat
 *               optional; each a JSON integer (grammar -?(0|[1-9][0-9]*):
 *               20.0 and 2e1 are refused) from 1 to SRV_TENANT_LIMIT_MAX.
 *               Defaults: 10000, 20, 40, 10000, 1000 (PROTOCOL.md 4, 10).
 * Members not named here, in a tenant or at the top level, are ignored so
 * that later versions can add fields (their values must still be valid
 * JSON). The "tenants" array must hold 1 to SRV_TENANT_COUNT_MAX objects.
 *
 * Every refusal is one line naming the file, the tenant (by id once its id
 * is known, else by position "tenants[2]") and the field:
 *   tenants.json: tenant "demo": maxConnections must be a positive integer
 *
 * Memory: everything of a registry (tenants, index, ids, secrets, origin
 * strings) lives in one block from the caller's allocator, wiped and freed
 * by srv_tenant_registry_free(). The file's bytes and the reader's scratch
 * are wiped before they are freed too, since they held the secrets.
 *
 * Thread rules: a registry belongs to the loop thread (the connection
 * counters are plain integers).
 */
#ifndef SRV_TENANT_H
#define SRV_TENANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"

/* ---- limits ------------------------------------------------------------ */
#define SRV_TENANT_FILE_MAX ((size_t)1 << 20)  /* bytes of tenants.json */
#define SRV_TENANT_COUNT_MAX 10000u            /* tenants in one file */
#define SRV_TENANT_ID_MAX 64u                  /* PROTOCOL 1: tenantId */
#define SRV_TENANT_SECRET_MIN 32u              /* PROTOCOL 10 */
#define SRV_TENANT_SECRET_MAX 1024u
#define SRV_TENANT_ORIGINS_MAX 256u            /* origins of one tenant */
#define SRV_TENANT_ORIGIN_MAX 1024u            /* bytes of one origin */
#define SRV_TENANT_LIMIT_MAX 1000000000u       /* any numeric limit */
/* JSON nesting accepted in the file (ignored members may nest). */
#define SRV_TENANT_JSON_DEPTH 32u
/* A message buffer this large plus the file name's length never truncates
 * a message. */
#define SRV_TENANT_MSG_CAP 512u

/* ---- defaults (PROTOCOL.md 4 and 10) ----------------------------------- */
#define SRV_TENANT_DEFAULT_MAX_CONNECTIONS 10000u
#define SRV_TENANT_DEFAULT_OPS_PER_SECOND 20u
#define SRV_TENANT_DEFAULT_OPS_BURST 40u
#define SRV_TENANT_DEFAULT_MAX_CHATS_PER_ROOM 10000u
#define SRV_TENANT_DEFAULT_MAX_COMMENTS_PER_CHAT 1000u

enum srv_tenant_anonymous {
	SRV_TENANT_ANON_NONE = 0, /* a token is required */
	SRV_TENANT_ANON_READ      /* anonymous connections may watch */
};

/* One tenant. Read-only for the caller except `connections`, which only
 * srv_tenant_conn_acquire()/release() should change. */
struct srv_tenant {
	char id[SRV_TENANT_ID_MAX + 1]; /* NUL-terminated; [A-Za-z0-9_-] only */
	size_t id_len;
	size_t index;                   /* position in the file, from 0 */
	const uint8_t *secret;          /* HS256 key; never log it */
	size_t secret_len;
	const struct collab_str *origins; /* n_origins views, file order */
	size_t n_origins;
	enum srv_tenant_anonymous anonymous;
	uint64_t max_connections;
	uint64_t ops_per_second;
	uint64_t ops_burst;
	uint64_t max_chats_per_room;
	uint64_t max_comments_per_chat;
	uint64_t connections;           /* open WebSockets, from the upgrade on */
};

/* The registry: tenants in file order, plus an index sorted by id. The
 * caller owns the struct; srv_tenant_registry_parse/load fill it. */
struct srv_tenant_registry {
	struct srv_tenant *tenants;     /* n entries, file order */
	struct srv_tenant **by_id;      /* n entries, sorted by id bytes */
	size_t n;
	void *block;                    /* the one allocation */
	size_t block_len;
	const struct collab_alloc *a;
};

/*
 * Parses a tenants file's contents p[0..len) into *reg, which is
 * overwritten (free a previous registry first). name is the file name used
 * in messages (NULL: "tenants.json"). a NULL means collab_alloc_default().
 * p may be NULL only when len is 0.
 *
 * Returns 0, or fills msg with one line (NUL-terminated when msgcap > 0,
 * truncated to fit; SRV_TENANT_MSG_CAP bytes plus the length of name always
 * suffice) and returns:
 *   COLLAB_ESYNTAX  not valid JSON, or nested deeper than
 *                   SRV_TENANT_JSON_DEPTH (the message has the reader's
 *                   reason, and the line, column and byte offset)
 *   COLLAB_ETYPE    a field of the wrong type or value, a missing field,
 *                   an empty "tenants" array
 *   COLLAB_ELIMIT   len above SRV_TENANT_FILE_MAX, more than
 *                   SRV_TENANT_COUNT_MAX tenants, or more than
 *                   SRV_TENANT_ORIGINS_MAX origins in one tenant
 *   COLLAB_EEXIST   two tenants with the same id
 *   COLLAB_ENOMEM   the allocator failed
 *   COLLAB_EINVAL   reg NULL, or p NULL with len > 0
 * On failure *reg is empty (n 0, nothing allocated) and may be freed.
 */
int srv_tenant_registry_parse(struct srv_tenant_registry *reg,
			      const struct collab_alloc *a,
			      const uint8_t *p, size_t len, const char *name,
			      char *msg, size_t msgcap);

/*
 * Reads the file at path (a regular file of at most SRV_TENANT_FILE_MAX
 * bytes, read with explicit lengths) and parses it as above, naming it
 * path in messages. Additional returns: COLLAB_EIO (cannot open or read;
 * the message has strerror's text), COLLAB_ELIMIT (too large),
 * COLLAB_ETYPE (not a regular file). path MUST be NUL-terminated.
 */
int srv_tenant_registry_load(struct srv_tenant_registry *reg,
			     const struct collab_alloc *a, const char *path,
			     char *msg, size_t msgcap);

/* Wipes (secrets included) and frees everything; *reg is empty after and
 * may be freed again. NULL is a no-op. */
void srv_tenant_registry_free(struct srv_tenant_registry *reg);

/*
 * The tenant whose id is exactly id[0..len) (bytes from the URL, not
 * NUL-terminated, not validated: anything else is simply not found), or
 * NULL. O(log n). The pointer stays valid until the registry is freed.
 */
struct srv_tenant *srv_tenant_find(const struct srv_tenant_registry *reg,
				   const char *id, size_t len);

/*
 * Whether a WebSocket upgrade carrying this Origin header may proceed
 * (PROTOCOL.md 1 and 10). origin NULL means the request had no Origin
 * header (a non-browser client): allowed. Otherwise allowed iff
 * origin[0..len) equals one of t's origins byte for byte (no case folding,
 * no normalisation, no wildcards). O(n_origins).
 */
bool srv_tenant_origin_allowed(const struct srv_tenant *t, const char *origin,
			       size_t len);

/*
 * Counts one more open WebSocket for t: 0, or COLLAB_ELIMIT (counter
 * unchanged) when t already has max_connections (the caller answers 503
 * with Retry-After, PROTOCOL.md 1). Call at the upgrade; release exactly
 * once when the connection is gone.
 */
int srv_tenant_conn_acquire(struct srv_tenant *t);
void srv_tenant_conn_release(struct srv_tenant *t);

/* "read" or "none" (static). */
const char *srv_tenant_anonymous_name(enum srv_tenant_anonymous a);

#endif
