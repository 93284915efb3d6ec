/*
 * collab/wsconn.h - WebSocket connections (RFC 6455) over plain TCP or TLS,
 * in both roles, on one collab_loop.
 *
 * Three objects:
 *
 *   struct collab_wsctx            per loop (per thread): the allocator, the
 *                                  CSPRNG for masking and client keys, one
 *                                  scratch read buffer and one scratch frame
 *                                  parser that EVERY connection of the loop
 *                                  uses, the configuration (every limit and
 *                                  timeout), and the table of connection
 *                                  slots behind the handles. Caller-owned.
 *   struct collab_wsconn_listener  a listening socket; accepted connections
 *                                  get its handlers. Caller-owned.
 *   struct collab_wsconn           one connection, allocated by the context.
 *                                  Callbacks receive a pointer to it that is
 *                                  valid during the callback only; between
 *                                  turns a connection is named by its handle.
 *
 * Handles. A struct collab_wsconn_handle is a slot number plus the slot's
 * generation. When a connection ends its slot's generation changes, so a
 * stale handle is refused (COLLAB_ECLOSED) instead of writing to another
 * connection: keep handles, never pointers, across turns.
 *
 * Memory. An idle plain connection costs one allocation of at most
 * COLLAB_WSCONN_IDLE_BYTES (128; 120 on x86-64) bytes, plus cfg.user_size
 * (after rounding up to 16), plus its slot (16 bytes) and its timer's
 * place in the loop's heap (8), both in arrays that double as they grow.
 * Measured (tests/bench/idle_memory.py, collab-echo, 10,000 idle
 * connections): about 150 bytes of server RSS per connection. Nothing else
 * is kept per idle connection: reads go into the context's scratch buffer
 * and are parsed by the context's scratch parser; only when a read ends
 * inside a frame or a message is a receive block (parser state, about 250
 * bytes, plus the partial message, grown up to the message limit)
 * allocated, and it is freed once the message is delivered. A send block
 * (about 350 bytes, plus the queued data in refcounted chunks) exists only
 * while something waits to be sent. A server connection's request head is
 * parsed straight from the scratch buffer; a head block (up to
 * max_head_bytes + 1) is allocated only when a head arrives in several
 * reads, and freed at the upgrade. Kernel socket memory is not counted.
 * A TLS connection adds its engine for its whole life:
 * collab_tls_conn_mem() bytes (37,314 for a server, 40,402 for a client,
 * see collab/tls.h) plus sizeof(struct collab_tls_conn) (96); of these an
 * idle server connection was measured to keep about 13 KiB resident (the
 * untouched part of the I/O buffer is never paged in).
 *
 * The pump. One function drives a connection, plain or TLS, in the order
 * STYLE.md gives: send pending bytes, hand received plaintext to the frame
 * parser, move queued frames into the engine, read from the socket; then
 * the epoll interest is derived from the state (TLS: from the engine). It
 * writes directly first and asks for EPOLLOUT only after EAGAIN. At most
 * cfg.max_read_per_wakeup bytes are read per connection per wake-up. Sends
 * made outside the connection's own callbacks are flushed in a batch: at the
 * timer phase of the current turn (or at the next turn, when sent from an
 * end-of-turn hook) or at once by collab_wsctx_flush().
 *
 * Callbacks (struct collab_wsconn_handlers) run on the loop thread, one per
 * event. A callback may call any function of this header on any
 * connection, its own included (send, close, abort, drop), except
 * collab_wsctx_free(). Dropping a connection from inside one of its own
 * callbacks is safe: it is torn down when the callback returns.
 *
 * on_close is called exactly once for every connection whose on_open ran,
 * and for every client connection (open or not, so a failed connect is
 * reported), when the WebSocket is closed from the application's point of
 * view: when the peer's close frame arrives, when the library fails the
 * connection (protocol error, idle, timeout, I/O error, handshake refused),
 * or when the TCP connection ends. From then on the handle refuses sends;
 * the library finishes the close handshake and the TCP shutdown by itself.
 *
 * Thread rules: a context, its listeners and connections belong to the
 * loop's thread.
 */
#ifndef COLLAB_WSCONN_H
#define COLLAB_WSCONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "collab/buf.h"
#include "collab/common.h"
#include "collab/http.h"
#include "collab/loop.h"
#include "collab/rand.h"
#include "collab/tls.h"
#include "collab/ws.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults filled in by collab_wsctx_config_init(). */
#define COLLAB_WSCONN_SCRATCH_BYTES      ((size_t)64 * 1024)
#define COLLAB_WSCONN_HANDSHAKE_MS       10000u   /* PROTOCOL.md 1 */
#define COLLAB_WSCONN_SERVER_MAX_MESSAGE ((uint64_t)64 * 1024)       /* PROTOCOL.md 2 */
#define COLLAB_WSCONN_CLIENT_MAX_MESSAGE ((uint64_t)16 * 1024 * 1024) /* >= 8 MiB, PROTOCOL.md 5 */
#define COLLAB_WSCONN_QUEUE_LIMIT        ((size_t)1024 * 1024)      /* PROTOCOL.md 6 (1013) */
#define COLLAB_WSCONN_LOW_WATER          ((size_t)64 * 1024)
#define COLLAB_WSCONN_PING_MS            30000u   /* PROTOCOL.md 2 */
#define COLLAB_WSCONN_IDLE_MS            75000u   /* PROTOCOL.md 2 */
#define COLLAB_WSCONN_CLOSE_MS           5000u    /* PROTOCOL.md 6 */
#define COLLAB_WSCONN_READ_PER_WAKEUP    ((size_t)256 * 1024)
#define COLLAB_WSCONN_MAX_IOV            64u
#define COLLAB_WSCONN_ACCEPT_PER_WAKEUP  64u
#define COLLAB_WSCONN_ACCEPT_RETRY_MS    100u
#define COLLAB_WSCONN_TX_POOL_MAX        1024u
/* Bytes of one idle plain connection's allocation before its user bytes
 * (checked at compile time in wsconn.c). */
#define COLLAB_WSCONN_IDLE_BYTES         128u

struct collab_wsctx_config {
	/* The per-loop read buffer every connection reads into (>= 4096). */
	size_t scratch_bytes;
	/* From accept (or connect) to the complete upgrade; past it the
	 * connection is closed (a client reports 1006, COLLAB_ETIMEDOUT). */
	uint64_t handshake_timeout_ms;
	/* Request (or 101 response) head: bytes and field lines. Over them a
	 * server answers 431 (PROTOCOL.md 1). */
	size_t max_head_bytes;
	size_t max_headers;
	/* Largest message (and frame) accepted, per role; over it: close 1009
	 * (RFC 6455 7.4.1). */
	uint64_t server_max_message;
	uint64_t client_max_message;
	/* Bytes of data frames that may wait in one connection's write queue;
	 * a send that would pass it fails with COLLAB_EQUEUE and queues
	 * nothing (the caller decides: the server closes 1013). */
	size_t queue_limit;
	/* on_drain runs when the queue, having been above low_water, falls
	 * to low_water or below. */
	size_t low_water;
	/* A ping is sent when nothing was received for ping_interval_ms (and
	 * again every ping_interval_ms while that lasts); 0: never. */
	uint64_t ping_interval_ms;
	/* Nothing received (no frame, no pong) for idle_timeout_ms: close
	 * 1000 if the socket takes it, then TCP. 0: never. */
	uint64_t idle_timeout_ms;
	/* From our close frame (or the peer's) to the end of TCP: past it the
	 * socket is closed whatever the peer does. */
	uint64_t close_timeout_ms;
	/* Fairness caps per connection per wake-up. */
	size_t max_read_per_wakeup;
	size_t max_iov;               /* 1..1024 iovecs per writev */
	size_t max_accept_per_wakeup; /* per listener */
	/* After accept4 fails for lack of fds or memory, the listener pauses
	 * this long. */
	uint64_t accept_retry_ms;
	/* Bytes reserved for the application in every connection's own
	 * allocation (collab_wsconn_user(); 16-byte aligned, zeroed). */
	size_t user_size;
	/* Emptied send blocks (about 350 bytes each, only those whose queue
	 * never grew) kept on the context for reuse, at most this many, so a
	 * fan-out does not allocate and free one block per connection per
	 * turn. Idle connections still hold none. 0: none kept. */
	size_t tx_pool_max;
	/* Allocator for everything; NULL: the loop's. MUST outlive the ctx. */
	const struct collab_alloc *alloc;
	/* CSPRNG for masking keys and client keys (RFC 6455 10.3); NULL: the
	 * context seeds its own from the kernel. Loop thread only. */
	struct collab_rng *rng;
	/* Client role: local addresses that the sockets of outgoing
	 * connections are bound to before connect(), taken in turn (entry
	 * 0, 1, ..., n_client_bind - 1, 0, ...), one per connect call. A
	 * load generator spreads its connections over several source
	 * addresses (127.0.0.2, 127.0.0.3, ...) when the ephemeral ports of
	 * one address (about 28,000 per destination) run short. Each entry
	 * is a struct sockaddr_in or sockaddr_in6 (AF_INET or AF_INET6, else
	 * collab_wsctx_init() refuses it); with port 0 the kernel picks the
	 * port at connect() time (IP_BIND_ADDRESS_NO_PORT), so ports are
	 * shared across destinations as without a bind. NULL / 0 (default):
	 * no bind, the kernel picks the source address. The array MUST
	 * outlive the context. */
	const struct sockaddr_storage *client_bind;
	size_t n_client_bind;
};

/* Fills cfg with the defaults above. */
void collab_wsctx_config_init(struct collab_wsctx_config *cfg);

struct collab_wsconn;  /* opaque: allocated and owned by the context */

struct collab_wsconn_handle {
	uint32_t slot;
	uint32_t gen;  /* 0 never names a connection */
};

/* What on_request sees. Every view lives until on_request returns. */
struct collab_wsconn_request {
	/* Method, target, path, query, headers (collab_http_header_get...).
	 * Offered subprotocols: collab_http_offers_protocol(http, "x"). */
	const struct collab_http_request *http;
	/* RFC 6455 4.2.1 checks: upgrade->status is 0 for a valid version-13
	 * upgrade (key, host, origin set), else 400 or 426 with why. A
	 * request that is no upgrade at all (a browser asking for a file)
	 * arrives here too, with status 400. */
	const struct collab_http_upgrade *upgrade;
};

/* Why and how a connection closed (on_close). */
struct collab_wsconn_close_info {
	/* The peer's close code: as sent, COLLAB_WS_CLOSE_NO_STATUS (1005)
	 * for a close frame without one, COLLAB_WS_CLOSE_ABNORMAL (1006) when
	 * no close frame came. */
	uint16_t code;
	/* The peer's reason (UTF-8, checked); a view valid during on_close. */
	struct collab_str reason;
	/* The close code we sent (or queued), 0 if none. */
	uint16_t sent_code;
	/* What ended it without the peer's close frame, else 0:
	 * COLLAB_EPROTO / COLLAB_EUTF8 / COLLAB_ELIMIT (we failed the
	 * connection: sent_code says 1002/1007/1009), COLLAB_ETIMEDOUT
	 * (handshake, idle or close timeout), COLLAB_EIO (socket error or
	 * EOF; errno gone), COLLAB_ETLS (TLS failure or truncation),
	 * COLLAB_EHANDSHAKE (client: the server refused the upgrade),
	 * COLLAB_ENOMEM, COLLAB_ECLOSED (dropped by the application or at
	 * collab_wsctx_free()). */
	int err;
	/* Client role: the HTTP status of the server's answer (101 once
	 * open, 403/503/... when refused), 0 if none came. */
	unsigned http_status;
};

/* One callback per event. Every pointer argument is valid during the call
 * only. NULL callbacks are skipped. */
struct collab_wsconn_handlers {
	/* Server role: a complete request head arrived. Decide with
	 * collab_wsconn_accept() or collab_wsconn_respond()/_reject() (at most
	 * once). Undecided (or NULL): a valid upgrade is accepted without
	 * subprotocol, anything else answered with upgrade->status (426 with
	 * Sec-WebSocket-Version: 13). */
	void (*on_request)(struct collab_wsconn *c,
			   const struct collab_wsconn_request *req);
	/* The WebSocket is open (server: 101 queued; client: 101 checked).
	 * subprotocol: the selected one, empty when none. */
	void (*on_open)(struct collab_wsconn *c, struct collab_str subprotocol);
	/* One whole message, opcode COLLAB_WS_OP_TEXT (checked UTF-8) or
	 * COLLAB_WS_OP_BINARY (the application decides: the server closes
	 * 1003). p (non-NULL, also for len 0) is valid during the call only:
	 * it may point into the scratch buffer (zero-copy). */
	void (*on_message)(struct collab_wsconn *c, enum collab_ws_opcode op,
			   const uint8_t *p, size_t len);
	/* The connection is closed (see the file comment); called once. */
	void (*on_close)(struct collab_wsconn *c,
			 const struct collab_wsconn_close_info *ci);
	/* The write queue fell to low_water or below after being above. */
	void (*on_drain)(struct collab_wsconn *c);
	/* The caller's; collab_wsconn_app() returns it. */
	void *ctx;
};

/* The per-loop context. Fields are private to wsconn*.c. */
struct collab_wsctx {
	struct collab_wsctx_config cfg;
	struct collab_loop *loop;
	const struct collab_alloc *a;
	struct collab_rng *rng;
	struct collab_rng own_rng;
	uint8_t *scratch;
	struct collab_http_header *hdrs;   /* max_headers entries */
	struct collab_ws_parser sps;       /* the scratch parser */
	struct collab_ws_config pcfg[2];   /* parser config per role */
	void *slots;                       /* slot table */
	uint32_t nslots, slot_cap, free_slot;
	size_t count;                      /* live connections */
	struct collab_wsconn_handle *pend; /* connections to flush */
	size_t pend_len, pend_cap;
	struct collab_timer pend_timer;
	void *cur_req;                     /* the request being decided */
	void *iov;                         /* struct iovec[max_iov] */
	uint8_t *iokind;                   /* what each iovec holds */
	uint8_t maskpool[256];             /* CSPRNG output for masks */
	size_t maskpos;
	int pumping;                       /* a connection's pump runs */
	int ready;
	size_t bind_next;                  /* next cfg.client_bind entry */
	void *tx_pool;                     /* free send blocks, a list */
	size_t tx_pool_len;                /* <= cfg.tx_pool_max */
};

/*
 * Prepares ctx on loop (which MUST outlive it) with cfg (copied; NULL:
 * defaults): allocates the scratch buffer and header array, seeds the
 * CSPRNG when cfg->rng is NULL. Returns 0, COLLAB_EINVAL (a limit out of
 * range), COLLAB_ENOMEM or COLLAB_ERANDOM; nothing to free on failure.
 */
int collab_wsctx_init(struct collab_wsctx *ctx, struct collab_loop *loop,
		      const struct collab_wsctx_config *cfg);

/*
 * Drops every connection (on_close runs for those it is due to, with
 * COLLAB_ECLOSED and 1006) and frees the context. Listeners MUST have been
 * closed first. Not from a callback. NULL or never initialised: no-op.
 */
void collab_wsctx_free(struct collab_wsctx *ctx);

/* Live connections (every state, from accept or connect to the end of
 * TCP). */
size_t collab_wsctx_count(const struct collab_wsctx *ctx);

/* Sends what sends from outside a connection's own callbacks queued,
 * now (otherwise done at the timer phase of the turn). */
void collab_wsctx_flush(struct collab_wsctx *ctx);

/*
 * For a clean stop: closes every open WebSocket with code (e.g. 1001) and
 * drops every connection not yet open. Connections then end by themselves
 * (close handshake, then TCP, bounded by close_timeout_ms); wait until
 * collab_wsctx_count() is 0, or call collab_wsctx_drop_all().
 */
void collab_wsctx_close_all(struct collab_wsctx *ctx, uint16_t code);

/* Drops every connection at once (on_close with COLLAB_ECLOSED). */
void collab_wsctx_drop_all(struct collab_wsctx *ctx);

/* ---- addresses and listeners --------------------------------------------- */

/*
 * Parses "ADDR:PORT": a dotted IPv4 address, "[IPv6]", "localhost"
 * (127.0.0.1) or "*" (0.0.0.0), then ':' and a port 0..65535. s: len
 * bytes, not NUL-terminated. Returns 0 and fills *ss / *sslen, or
 * COLLAB_ESYNTAX. Never resolves names.
 */
int collab_wsconn_parse_addr(const char *s, size_t len,
			     struct sockaddr_storage *ss, socklen_t *sslen);

struct collab_wsconn_listener {
	struct collab_io io;          /* private */
	struct collab_timer retry;    /* private: accept back-off */
	struct collab_wsctx *ctx;
	const struct collab_wsconn_handlers *hd;
	struct collab_tls_server *tls;
	uint16_t port;                /* the bound port (read-only) */
	int open;
};

/*
 * Listens on addr ("ADDR:PORT" as collab_wsconn_parse_addr; len bytes;
 * port 0 picks a free port, then l->port says which) with SO_REUSEADDR.
 * Accepted connections use hd (MUST outlive them) and, when tls is not
 * NULL, TLS with that loaded server configuration (MUST outlive them).
 * l MUST stay at its address until collab_wsconn_unlisten(). Returns 0,
 * COLLAB_ESYNTAX (addr), COLLAB_EIO (socket/bind/listen; errno says why).
 */
int collab_wsconn_listen(struct collab_wsconn_listener *l,
			 struct collab_wsctx *ctx, const char *addr, size_t len,
			 const struct collab_wsconn_handlers *hd,
			 struct collab_tls_server *tls);

/* Closes the listening socket; accepted connections live on. No-op when
 * not open. */
void collab_wsconn_unlisten(struct collab_wsconn_listener *l);

/* ---- the client role ------------------------------------------------------ */

struct collab_wsconn_connect_opts {
	struct collab_str origin;     /* Origin header; empty: none */
	struct collab_str protocols;  /* Sec-WebSocket-Protocol offer, tokens
					 separated by commas; empty: none */
};

/*
 * Opens a client connection to url (ws:// or wss://, len bytes, as
 * collab_http_parse_url accepts). The host is a numeric IPv4/IPv6 address
 * or "localhost" (127.0.0.1), resolved without blocking; any other name
 * is resolved with getaddrinfo(3), WHICH BLOCKS the loop thread while it
 * runs. The TCP connect is non-blocking; the upgrade request carries a
 * fresh random key (RFC 6455 4.1), opts (may be NULL) and a Host of the
 * URL's authority. wss:// needs tls (a loaded client configuration with
 * the trust anchors; the host is sent as SNI and checked against the
 * certificate; MUST outlive the connection). hd MUST outlive it too.
 * When the context has cfg.client_bind entries, the socket is bound to
 * the next one first. On 0, *h names the connection and every outcome
 * is reported by the callbacks (on_open, or on_close with 1006 and err).
 * Returns 0, COLLAB_ESYNTAX (url), COLLAB_EINVAL (wss:// without tls,
 * bad opts, a client_bind entry of another address family than the
 * server's), COLLAB_ENOTFOUND (name not resolved), COLLAB_EIO (socket,
 * bind or connect refused at once; errno says why, e.g. EADDRNOTAVAIL
 * for a bind address that is not local, EADDRNOTAVAIL from connect()
 * when the source address has no free port left), COLLAB_ENOMEM,
 * COLLAB_ERANDOM, COLLAB_ETLS.
 */
int collab_wsconn_connect(struct collab_wsctx *ctx, const char *url, size_t len,
			  const struct collab_wsconn_connect_opts *opts,
			  const struct collab_wsconn_handlers *hd,
			  struct collab_tls_client *tls,
			  struct collab_wsconn_handle *h);

/* ---- inside callbacks ------------------------------------------------------ */

/* The connection's handle, context, application context (hd->ctx), user
 * bytes (cfg.user_size of them, NULL when 0; same address for the
 * connection's whole life) and socket. */
struct collab_wsconn_handle collab_wsconn_handle(const struct collab_wsconn *c);
struct collab_wsctx *collab_wsconn_ctx(const struct collab_wsconn *c);
void *collab_wsconn_app(const struct collab_wsconn *c);
void *collab_wsconn_user(struct collab_wsconn *c);
int collab_wsconn_fd(const struct collab_wsconn *c);
/* 1 when the connection runs over TLS. */
int collab_wsconn_is_tls(const struct collab_wsconn *c);

/*
 * From on_request only: accept the upgrade, selecting subprotocol (empty:
 * none; else it MUST be one the client offered, RFC 6455 4.2.2). Returns
 * 0, COLLAB_ESTATE (not in on_request, or already decided),
 * COLLAB_EHANDSHAKE (the request is no valid upgrade) or COLLAB_EINVAL
 * (subprotocol not offered).
 */
int collab_wsconn_accept(struct collab_wsconn *c, struct collab_str subprotocol);

/*
 * From on_request only: answer with an HTTP response instead, then close
 * once it is flushed. respond: status (100..599 but not 101), optional
 * Content-Type, the extra headers (a "Connection: close" is added),
 * Content-Length and body (may be NULL only with len 0; copied). reject:
 * the short text/plain form of collab_http_write_reject() (body empty:
 * "NNN Reason\n"); 426 gets Sec-WebSocket-Version: 13 unless extra has it.
 * Returns 0, COLLAB_ESTATE, COLLAB_EINVAL (bad status or header),
 * COLLAB_ENOMEM.
 */
int collab_wsconn_respond(struct collab_wsconn *c, unsigned status,
			  struct collab_str content_type,
			  const struct collab_http_header *extra, size_t nextra,
			  const void *body, size_t body_len);
int collab_wsconn_reject(struct collab_wsconn *c, unsigned status,
			 const struct collab_http_header *extra, size_t nextra,
			 struct collab_str body);

/* From on_request only: the answer to a HEAD request (RFC 9110 9.3.2), as
 * collab_wsconn_respond() but without a body: the head carries
 * Content-Length content_length, what the GET answer's body would be.
 * Returns as collab_wsconn_respond(). */
int collab_wsconn_respond_head(struct collab_wsconn *c, unsigned status,
			       struct collab_str content_type,
			       const struct collab_http_header *extra,
			       size_t nextra, uint64_t content_length);

/* ---- by handle --------------------------------------------------------------- */

/* The connection h names, or NULL when it is stale. The pointer is valid
 * until the connection's next event; do not keep it. */
struct collab_wsconn *collab_wsconn_get(struct collab_wsctx *ctx,
					struct collab_wsconn_handle h);

/*
 * Queues one whole message (a single frame), copying p (NULL only with len
 * 0). op is COLLAB_WS_OP_TEXT (p MUST be valid UTF-8) or
 * COLLAB_WS_OP_BINARY. A server's frame is unmasked, a client's masked with
 * a fresh key from the CSPRNG (RFC 6455 5.3). Returns 0, COLLAB_ECLOSED
 * (stale handle, or closing), COLLAB_ESTATE (not open yet, or a fragmented
 * message of ours is open), COLLAB_EQUEUE (queue limit; nothing queued),
 * COLLAB_EINVAL, COLLAB_ENOMEM.
 */
int collab_wsconn_send(struct collab_wsctx *ctx, struct collab_wsconn_handle h,
		       enum collab_ws_opcode op, const void *p, size_t len);

/*
 * Queues one frame of a fragmented message (RFC 6455 5.4): op TEXT or
 * BINARY starts it, COLLAB_WS_OP_CONT continues it, fin ends it. Returns as
 * collab_wsconn_send(); COLLAB_ESTATE for a CONT with no message open or a
 * new message inside an open one.
 */
int collab_wsconn_send_frame(struct collab_wsctx *ctx,
			     struct collab_wsconn_handle h,
			     enum collab_ws_opcode op, int fin,
			     const void *p, size_t len);

/*
 * Server role only: queues a reference to sb, which MUST hold exactly one
 * or more complete unmasked frames (sb->len bytes), encoded once and shared
 * by every subscriber's queue. The queue takes its own reference (released
 * when sent, discarded or the connection ends); the caller keeps its own.
 * Returns as collab_wsconn_send(); COLLAB_EINVAL for a client connection.
 */
int collab_wsconn_send_shared(struct collab_wsctx *ctx,
			      struct collab_wsconn_handle h,
			      struct collab_shbuf *sb);

/* Queues a ping with payload (0..125 bytes; NULL only with len 0). It
 * goes ahead of queued data at the next frame boundary. Returns 0,
 * COLLAB_ECLOSED, COLLAB_ESTATE, COLLAB_EINVAL, COLLAB_ENOMEM. */
int collab_wsconn_ping(struct collab_wsctx *ctx, struct collab_wsconn_handle h,
		       const void *p, size_t len);

/* Bytes of data frames waiting in the queue (0 for a stale handle). */
size_t collab_wsconn_queued(struct collab_wsctx *ctx,
			    struct collab_wsconn_handle h);

/*
 * Starts the close handshake (RFC 6455 7.1.2): the queued data is sent,
 * then a close frame with code (collab_ws_close_code_valid) and reason
 * (UTF-8, at most 123 bytes; NULL only with len 0); the peer's close is
 * awaited up to close_timeout_ms, then TCP is closed. Nothing may be sent
 * after. A handle that is already closing: 0, nothing changes. Returns 0,
 * COLLAB_ECLOSED (stale), COLLAB_ESTATE (not open: use drop),
 * COLLAB_EINVAL (code), COLLAB_ELIMIT / COLLAB_EUTF8 (reason),
 * COLLAB_ENOMEM (the connection is then dropped).
 */
int collab_wsconn_close(struct collab_wsctx *ctx, struct collab_wsconn_handle h,
			uint16_t code, const void *reason, size_t reason_len);

/*
 * Like close, but discards the queued data first (a frame already partly
 * sent is finished, so the stream stays well-formed), reads nothing more
 * and does not await the peer's close: TCP is shut as soon as the close
 * frame is out, or at close_timeout_ms. For a slow consumer (1013,
 * PROTOCOL.md 6). on_close runs at once (1006, sent_code code,
 * COLLAB_ECLOSED). On a connection already closing it only discards.
 */
int collab_wsconn_abort(struct collab_wsctx *ctx, struct collab_wsconn_handle h,
			uint16_t code);

/* Closes the socket now: no close frame, queue discarded. on_close runs
 * (COLLAB_ECLOSED, 1006) if it is due. Stale handle: no-op. */
void collab_wsconn_drop(struct collab_wsctx *ctx, struct collab_wsconn_handle h);

#ifdef __cplusplus
}
#endif
#endif
