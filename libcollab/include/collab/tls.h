/*
 * collab/tls.h - TLS 1.2 over BearSSL: certificate, key and trust-anchor
 * loading from PEM, and a non-blocking engine pump for one epoll loop.
 *
 * Three objects, all owned by the caller:
 *
 *   struct collab_tls_server  shared server configuration: certificate
 *                             chain, private key (RSA or EC), the LRU
 *                             session cache. Loaded once, used by every
 *                             accepted connection.
 *   struct collab_tls_client  shared client configuration: trust anchors
 *                             from a PEM CA file (the system bundle by
 *                             default).
 *   struct collab_tls_conn    one connection in either role, created from
 *                             one of the above.
 *
 * Policy (not configurable): TLS 1.2 only (BearSSL's ceiling; minimum =
 * maximum), renegotiation refused (BR_OPT_NO_RENEGOTIATION), cipher suites
 * ECDHE with AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305 (the client's
 * preference order among those decides: every one is AEAD with forward
 * secrecy, and a client without AES hardware prefers ChaCha20). The client
 * checks the chain with BearSSL's "minimal" X.509 engine against the trust
 * anchors. A DNS host name is sent as SNI (RFC 6066 3) and matched by
 * BearSSL against the certificate's dNSName subjectAltNames (or its CN
 * when it has none). A literal IPv4 or IPv6 address is not sent as SNI
 * (RFC 6066 3 forbids it) and must equal one of the certificate's
 * iPAddress subjectAltNames (RFC 6125 6.2.1; BearSSL 0.6 cannot match
 * those, so this module does, in tls_x509.c).
 *
 * Threads: a server or client configuration, and every connection made
 * from it, belong to one thread (the session cache is mutated by
 * handshakes without locking). A program with several loop threads loads
 * one configuration per thread. Configurations MUST outlive every
 * connection made from them and MUST NOT move in memory meanwhile
 * (connections point into them).
 *
 * Memory per connection (measured on x86-64 Linux, BearSSL 0.6), all of
 * it one allocation through the caller's allocator:
 *
 *   server: sizeof(br_ssl_server_context) 4128 + bookkeeping 8
 *           + I/O buffer BR_SSL_BUFSIZE_BIDI 33178 = 37314 bytes
 *   client: sizeof(br_ssl_client_context) 3720
 *           + sizeof(br_x509_minimal_context) 3168
 *           + IP check and host name 336
 *           + I/O buffer 33178 = 40402 bytes
 *           (+ ip_cert_max_bytes, 8192, when the host is an IP address)
 *
 * plus sizeof(struct collab_tls_conn) (96 bytes) wherever the caller
 * keeps it. collab_tls_conn_mem() returns the exact figure at run time.
 * The buffer is bidirectional: a WebSocket is full duplex (a peer may be
 * sending while we are blocked writing), and BearSSL's half-duplex "mono"
 * buffer cannot receive while unsent output is buffered, so it could stall
 * both peers; it is therefore not offered. What may be shrunk is the
 * outgoing half (collab_tls_config.out_buf_bytes, down to
 * COLLAB_TLS_OUT_BUF_MIN): BearSSL then sends smaller records (a 4181-byte
 * half gives 4096-byte records and saves 12288 bytes per connection). The
 * incoming half is always BR_SSL_BUFSIZE_INPUT because peers (browsers)
 * send full 16 KiB records.
 *
 * THE PUMP. Every function below is non-blocking and bounded: at most
 * cfg.max_syscalls send()/recv() calls per call, never a loop without
 * progress. The connection layer's single pump drives a connection like
 * this, each turn (level-triggered epoll assumed):
 *
 *     for (round = 0; round < ROUNDS; round++) {
 *         collab_tls_flush_socket(t, fd);             1 send pending records
 *         while (collab_tls_recv_app(t, &p, &n) == 0 && n > 0) {
 *             used = parser_feed(p, n);               2 plaintext to parser
 *             collab_tls_recv_ack(t, used);
 *             if (used < n) break;                      (parser is full)
 *         }
 *         while (queue not empty) {                   3 queued data in
 *             collab_tls_send_app(t, q, qlen, &taken);
 *             if (taken == 0) break;
 *             dequeue(taken);
 *         }
 *         collab_tls_flush_app(t);                      (close the record)
 *         collab_tls_flush_socket(t, fd);               (write before EPOLLOUT)
 *         collab_tls_fill_socket(t, fd);              4 read from socket
 *         if (collab_tls_error(t) || nothing moved this round) break;
 *     }
 *     w = collab_tls_want(t);
 *     interest = (w & WANT_READ ? EPOLLIN : 0)
 *              | (w & WANT_WRITE ? EPOLLOUT : 0);
 *
 * ("Moved" = the parser took bytes, the queue shrank, or want() changed.
 * The WANT bits have the values of COLLAB_LOOP_READ and COLLAB_LOOP_WRITE,
 * so w can be handed to the loop as its interest mask unchanged.)
 *
 * Every function returns the connection's sticky error once it has one;
 * check collab_tls_error() (or any return value) after the pump and close
 * the socket when it is non-zero or collab_tls_state() is CLOSED and
 * collab_tls_want() is 0.
 *
 * collab_tls_want() is BR_SSL_RECVREC -> WANT_READ and BR_SSL_SENDREC ->
 * WANT_WRITE, recomputed from the engine on every call, so interest must
 * be re-derived after every pump or a level-triggered loop spins (or
 * stalls). BearSSL never asks for records while decrypted plaintext waits
 * to be read (RECVAPP and RECVREC are exclusive): this is the
 * backpressure, and it means plaintext left unread is NOT announced by
 * epoll. The pump MUST offer plaintext to the parser after every fill
 * (step 2 after step 4, hence the loop), and when a full parser later
 * drains, the connection layer MUST run the pump again itself.
 *
 * Closing: collab_tls_close() queues close_notify (RFC 5246 7.2.1); keep
 * pumping until collab_tls_want() is 0. Then the state is CLOSED once the
 * peer's close_notify arrived, or once the peer closed TCP after ours (an
 * initiator need not wait for the reply, RFC 5246 7.2.1). A peer's
 * close_notify is answered automatically; the state becomes CLOSED when
 * the answer has been flushed. A TCP EOF without close_notify, before we
 * sent ours, is a truncation: the connection fails with COLLAB_ECLOSED
 * (the data received so far was delivered, but the stream may have been
 * cut by an attacker, so it is not a clean close; a WebSocket reports it
 * as 1006). Waiting for the peer's close_notify is bounded only by the
 * connection layer's close timeout; and once collab_tls_close() was
 * called, an error (a peer that resets instead of answering gives
 * COLLAB_EIO, ECONNRESET) just means the end: close the socket.
 * collab_tls_close() during the handshake is best effort (BearSSL ends
 * it cleanly from the client; from a server that has not yet read the
 * ClientHello the client sees a bad record): a server shutting down may
 * as well close such sockets outright.
 *
 * Handshake failures: the side that detects the problem fails with
 * COLLAB_ETLS and BearSSL's code (collab_tls_br_error(), e.g.
 * BR_ERR_X509_NOT_TRUSTED or BR_ERR_X509_BAD_SERVER_NAME on a client). A
 * BearSSL client that rejects the certificate sends no alert, so the
 * server then sees only the TCP EOF: COLLAB_ECLOSED.
 */
#ifndef COLLAB_TLS_H
#define COLLAB_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "collab/buf.h"
#include "collab/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The CA bundle collab_tls_client_load() reads when given NULL. */
#define COLLAB_TLS_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

/* Smallest outgoing buffer half BearSSL accepts: 512-byte records plus
 * its 85-byte worst-case record overhead. */
#define COLLAB_TLS_OUT_BUF_MIN (512 + 85)

/* Largest ip_cert_max_bytes: a TLS Certificate message's 24-bit length. */
#define COLLAB_TLS_CERT_MAX 0xFFFFFF

/* Bytes the LRU session cache spends per entry (fixed by BearSSL). */
#define COLLAB_TLS_CACHE_ENTRY_BYTES 100

/* Loading limits and per-connection sizing. Fill with
 * collab_tls_config_init(), then change what you need. */
struct collab_tls_config {
	size_t max_file_bytes;        /* largest PEM file read (4 MiB) */
	size_t max_chain_certs;       /* certificates in the server chain (8) */
	size_t max_trust_anchors;     /* certificates in the CA file (1024) */
	size_t session_cache_entries; /* server LRU entries, 100 bytes each;
				       * 0 disables resumption (1024) */
	size_t out_buf_bytes;         /* outgoing half of each connection's
				       * buffer, >= COLLAB_TLS_OUT_BUF_MIN
				       * (BR_SSL_BUFSIZE_OUTPUT, 16469) */
	size_t max_syscalls;          /* send()/recv() calls per flush/fill
				       * call, >= 1 (32) */
	size_t ip_cert_max_bytes;     /* client, IP-address hosts only: the
				       * largest server certificate whose
				       * subjectAltName can be checked
				       * (8192; 1..COLLAB_TLS_CERT_MAX) */
};

/* Fills cfg with the defaults above. */
void collab_tls_config_init(struct collab_tls_config *cfg);

/* BearSSL's session-cache interface wrapped so that a connection learns
 * whether its handshake resumed. Private. */
struct collab_tls_cache {
	const br_ssl_session_cache_class *vtable;
	br_ssl_session_cache_lru lru;
};

/* Shared server configuration. All fields are private; read them through
 * the functions below. Zero-initialised or freed, it holds nothing. */
struct collab_tls_server {
	const struct collab_alloc *a;
	struct collab_buf chain_der;  /* every certificate's DER */
	struct collab_buf chain_arr;  /* br_x509_certificate[], EE first */
	size_t chain_len;
	int key_type;                 /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
	unsigned issuer_key_type;     /* key type that signed the EE cert */
	br_rsa_private_key rsa;       /* when key_type is RSA */
	br_ec_private_key ec;         /* when key_type is EC */
	struct collab_buf key_data;   /* the key's bytes (wiped on free) */
	struct collab_tls_cache cache;
	uint8_t *cache_store;
	size_t cache_bytes;           /* 0: no cache */
	size_t out_buf_bytes;
	size_t max_syscalls;
	const char *why;              /* see collab_tls_server_why() */
};

/* Loads the certificate chain (every CERTIFICATE object of cert_path, in
 * order, end-entity first, then intermediates; it is sent as is) and the
 * private key (the one RSA PRIVATE KEY, EC PRIVATE KEY or unencrypted
 * PKCS#8 PRIVATE KEY object of key_path; other objects, such as EC
 * PARAMETERS or certificates, are ignored, so both paths may name one
 * combined file) and checks that the key belongs to the first certificate
 * (same RSA modulus, or same EC point). Validity dates and trust are the
 * client's business, not checked here. cfg NULL means defaults; a NULL
 * means collab_alloc_default(); the paths are C strings and MUST NOT be
 * NULL. srv needs no prior initialisation and is overwritten.
 *
 * Returns 0, or on failure (srv then holds nothing, and
 * collab_tls_server_why() names what failed):
 *   COLLAB_EIO       a file cannot be opened or read (errno says why)
 *   COLLAB_ELIMIT    a file exceeds max_file_bytes, or the chain exceeds
 *                    max_chain_certs
 *   COLLAB_ESYNTAX   malformed PEM (legacy encrypted keys with
 *                    "Proc-Type:" headers land here), certificate DER or
 *                    key DER
 *   COLLAB_ENOTFOUND no certificate, or no private key, in its file
 *   COLLAB_ETYPE     unsupported key: encrypted, another algorithm, an
 *                    RSA key over 4096 bits or an unsupported curve
 *   COLLAB_EINVAL    the key does not match the certificate, the key file
 *                    holds several keys, or cfg is out of range
 *   COLLAB_ENOMEM    the allocator failed */
int collab_tls_server_load(struct collab_tls_server *srv,
			   const struct collab_tls_config *cfg,
			   const char *cert_path, const char *key_path,
			   const struct collab_alloc *a);

/* The same from PEM text in memory (cert/key may be NULL only with length
 * 0). Nothing is kept pointing into the inputs. */
int collab_tls_server_load_mem(struct collab_tls_server *srv,
			       const struct collab_tls_config *cfg,
			       const uint8_t *cert, size_t cert_len,
			       const uint8_t *key, size_t key_len,
			       const struct collab_alloc *a);

/* After a failed load, a static phrase naming what failed (e.g. "key file:
 * private key does not match the certificate"); "" after success. Never
 * NULL. */
const char *collab_tls_server_why(const struct collab_tls_server *srv);

/* Frees the chain, the key (wiped first) and the cache. Every connection
 * made from srv MUST have been freed. NULL or already freed: no-op. */
void collab_tls_server_free(struct collab_tls_server *srv);

/* Shared client configuration. All fields are private. */
struct collab_tls_client {
	const struct collab_alloc *a;
	struct collab_buf anchors;    /* br_x509_trust_anchor[] */
	size_t anchors_len;
	size_t skipped;               /* CA certs with unsupported keys */
	size_t out_buf_bytes;
	size_t max_syscalls;
	size_t ip_cert_max_bytes;
	const char *why;
};

/* Loads trust anchors from every CERTIFICATE object of ca_path (NULL:
 * COLLAB_TLS_SYSTEM_CA_FILE). A certificate whose key BearSSL cannot use
 * (neither RSA nor EC) is skipped and counted (collab_tls_client_skipped);
 * any other malformed certificate fails the load. CA certificates (basic
 * constraints cA) anchor chains; others are trusted directly (BR_X509_TA_CA
 * unset). Returns 0, or COLLAB_EIO, COLLAB_ELIMIT (file size or
 * max_trust_anchors), COLLAB_ESYNTAX, COLLAB_ENOTFOUND (no usable
 * certificate), COLLAB_EINVAL (cfg), COLLAB_ENOMEM, with
 * collab_tls_client_why() naming what failed and cli holding nothing. */
int collab_tls_client_load(struct collab_tls_client *cli,
			   const struct collab_tls_config *cfg,
			   const char *ca_path, const struct collab_alloc *a);

/* The same from PEM text in memory (ca may be NULL only with length 0). */
int collab_tls_client_load_mem(struct collab_tls_client *cli,
			       const struct collab_tls_config *cfg,
			       const uint8_t *ca, size_t ca_len,
			       const struct collab_alloc *a);

/* Number of trust anchors loaded, and of certificates skipped. */
size_t collab_tls_client_anchors(const struct collab_tls_client *cli);
size_t collab_tls_client_skipped(const struct collab_tls_client *cli);

/* As collab_tls_server_why(). */
const char *collab_tls_client_why(const struct collab_tls_client *cli);

/* Frees the anchors. Every connection made from cli MUST have been freed.
 * NULL or already freed: no-op. */
void collab_tls_client_free(struct collab_tls_client *cli);

/* Saved session parameters for client-side resumption. Holds a master
 * secret: keep it in memory only, and collab_tls_session_clear() it when
 * done. */
struct collab_tls_session {
	br_ssl_session_parameters params;
	char host[256];               /* the name it was validated for */
	size_t host_len;
	int valid;
};

/* Wipes s (it is then invalid). */
void collab_tls_session_clear(struct collab_tls_session *s);

enum collab_tls_role {
	COLLAB_TLS_SERVER = 1,
	COLLAB_TLS_CLIENT = 2
};

enum collab_tls_state {
	COLLAB_TLS_HANDSHAKE = 1, /* before the handshake completed */
	COLLAB_TLS_OPEN,          /* application data flows both ways */
	COLLAB_TLS_CLOSING,       /* collab_tls_close() called; flushing or
				   * awaiting the peer's close_notify */
	COLLAB_TLS_CLOSED,        /* closed cleanly; want() is 0 */
	COLLAB_TLS_FAILED         /* collab_tls_error() says why */
};

/* Interest bits from collab_tls_want(). */
#define COLLAB_TLS_WANT_READ  1u  /* engine accepts records: EPOLLIN */
#define COLLAB_TLS_WANT_WRITE 2u  /* engine has records to send: EPOLLOUT */

/* Return value of collab_tls_flush_socket()/collab_tls_fill_socket() when
 * they stopped at max_syscalls with more possibly left to do. */
#define COLLAB_TLS_MORE 1

/* One connection. Fields are private. */
struct collab_tls_conn {
	br_ssl_engine_context *eng;   /* inside blk; NULL when not set up */
	void *blk;                    /* engine context + I/O buffer */
	size_t blk_len;
	const struct collab_alloc *a;
	size_t max_syscalls;
	int err;                      /* sticky COLLAB_E*, or 0 */
	int br_err;                   /* BearSSL code behind COLLAB_ETLS */
	int sys_errno;                /* errno behind COLLAB_EIO */
	uint8_t role;
	uint8_t hs_done;
	uint8_t resumed;
	uint8_t close_called;
	uint8_t eof_closed;           /* EOF after our close: clean */
	uint8_t offered_len;          /* client: session id offered */
	uint8_t offered_id[32];
};

/* Sets up c as the server side of a freshly accepted connection, with an
 * engine and I/O buffer allocated through a (NULL: default allocator).
 * srv MUST be loaded and outlive c. Returns 0, COLLAB_ENOMEM, COLLAB_EINVAL
 * (srv not loaded) or COLLAB_ERANDOM (no entropy); c holds nothing on
 * failure. */
int collab_tls_conn_init_server(struct collab_tls_conn *c,
				struct collab_tls_server *srv,
				const struct collab_alloc *a);

/* Sets up c as a client connecting to host: host_len bytes (1..255, not
 * NUL-terminated), the host part of the URL: a DNS name of letters,
 * digits, '-', '.' and '_' (IDNs in their ASCII form; sent as SNI; the
 * certificate MUST name it), or an IPv4 or IPv6 literal, brackets
 * optional (no SNI; the certificate MUST carry it as an iPAddress
 * subjectAltName). Anything else ("host:port", a zone-scoped address, a
 * NUL byte) is COLLAB_EINVAL. resume, if not NULL, valid and
 * saved for the same host bytes, offers that session for resumption (the
 * server may decline: a full handshake follows). cli MUST be loaded and
 * outlive c. Returns 0, COLLAB_EINVAL, COLLAB_ENOMEM or COLLAB_ERANDOM; c
 * holds nothing on failure. A certificate that fails the name or address
 * check fails the handshake with COLLAB_ETLS and
 * BR_ERR_X509_BAD_SERVER_NAME (BR_ERR_X509_LIMIT_EXCEEDED for an IP host
 * whose certificate exceeds ip_cert_max_bytes). */
int collab_tls_conn_init_client(struct collab_tls_conn *c,
				const struct collab_tls_client *cli,
				const char *host, size_t host_len,
				const struct collab_tls_session *resume,
				const struct collab_alloc *a);

/* Frees the engine and buffer (wiped first: they hold keys). Does no I/O:
 * a clean shutdown is collab_tls_close() plus pumping. NULL or already
 * freed: no-op. */
void collab_tls_conn_free(struct collab_tls_conn *c);

/* Bytes allocated for c (the figure in the memory table above), 0 when not
 * set up. */
size_t collab_tls_conn_mem(const struct collab_tls_conn *c);

/* Interest: COLLAB_TLS_WANT_READ iff the engine accepts records
 * (BR_SSL_RECVREC), COLLAB_TLS_WANT_WRITE iff it holds records to send
 * (BR_SSL_SENDREC); 0 once closed or failed. */
unsigned collab_tls_want(const struct collab_tls_conn *c);

/* Sends pending records with send(MSG_NOSIGNAL) until the engine has none,
 * the socket returns EAGAIN, or max_syscalls calls were made. Returns 0,
 * COLLAB_TLS_MORE (stopped at the cap: call again), or the sticky error:
 * COLLAB_EIO (errno in collab_tls_sys_errno()) when send() fails. */
int collab_tls_flush_socket(struct collab_tls_conn *c, int fd);

/* Reads from fd into the engine until it takes no more (plaintext is
 * waiting, or the peer's close_notify came), recv() returns EAGAIN, or
 * max_syscalls calls were made. Never reads when the engine cannot take
 * bytes. Returns 0, COLLAB_TLS_MORE, or the sticky error: COLLAB_ETLS
 * (bad records; collab_tls_br_error()), COLLAB_EIO (recv() failed),
 * COLLAB_ECLOSED (EOF without close_notify: truncation). An EOF after
 * collab_tls_close() ends the connection cleanly (state CLOSED). */
int collab_tls_fill_socket(struct collab_tls_conn *c, int fd);

/* Decrypted plaintext, zero-copy: *p and *len describe bytes inside the
 * engine, valid until the next call on c other than the getters. *len is 0
 * when there is none right now (handshake running, nothing received,
 * closed). Returns 0 or the sticky error (then *p is NULL and *len 0). */
int collab_tls_recv_app(struct collab_tls_conn *c, const uint8_t **p,
			size_t *len);

/* Consumes n bytes of the plaintext last returned by recv_app (n MUST NOT
 * exceed that *len; 0 is a no-op). Frees room so the engine reads again. */
void collab_tls_recv_ack(struct collab_tls_conn *c, size_t n);

/* Copies as much of p[0..len) as the engine takes now into its outgoing
 * record; *taken (never NULL) says how much: 0 during the handshake or
 * while a full record waits to be flushed to the socket. A full record is
 * sealed automatically; call collab_tls_flush_app() to seal a partial one.
 * p may be NULL only with len 0. Returns 0, COLLAB_ECLOSED after
 * collab_tls_close() or once the engine closed, or the sticky error. */
int collab_tls_send_app(struct collab_tls_conn *c, const void *p, size_t len,
			size_t *taken);

/* Seals buffered application data into a record so flush_socket sends it.
 * Returns 0 or the sticky error. */
int collab_tls_flush_app(struct collab_tls_conn *c);

/* Queues close_notify (RFC 5246 7.2.1), after any buffered application
 * data, and discards unread plaintext; then pump until want() is 0.
 * Idempotent. Returns 0 or the sticky error. */
int collab_tls_close(struct collab_tls_conn *c);

/* The state as described at enum collab_tls_state. */
enum collab_tls_state collab_tls_state(const struct collab_tls_conn *c);

/* Non-zero once the handshake completed (stays set after close). */
int collab_tls_handshake_done(const struct collab_tls_conn *c);

/* Non-zero if the completed handshake resumed a cached session (server:
 * found in the shared cache; client: the offered session was accepted). */
int collab_tls_resumed(const struct collab_tls_conn *c);

/* The sticky error (0 if none), BearSSL's error code behind COLLAB_ETLS
 * (0 otherwise; >= 256 means a fatal alert: BR_ERR_RECV_FATAL_ALERT +
 * alert received, BR_ERR_SEND_FATAL_ALERT + alert sent), and the errno
 * behind COLLAB_EIO. */
int collab_tls_error(const struct collab_tls_conn *c);
int collab_tls_br_error(const struct collab_tls_conn *c);
int collab_tls_sys_errno(const struct collab_tls_conn *c);

/* A static name for a BearSSL error code, for logs: "BR_ERR_BAD_MAC",
 * "BR_ERR_X509_NOT_TRUSTED", "received fatal alert", "sent fatal alert",
 * or "unknown BearSSL error". Never NULL. */
const char *collab_tls_br_strerror(int br_err);

/* The protocol version (BR_TLS12) and cipher suite (BR_TLS_*) negotiated;
 * 0 before the handshake completed. */
unsigned collab_tls_version(const struct collab_tls_conn *c);
unsigned collab_tls_cipher_suite(const struct collab_tls_conn *c);

/* Server role: the SNI name the client sent (empty if none or longer than
 * 255 bytes). Client role: the host as given to init. A view into c's
 * allocation, valid until c is freed. */
struct collab_str collab_tls_server_name(const struct collab_tls_conn *c);

/* Client role, after the handshake: saves the session for a later
 * collab_tls_conn_init_client(..., resume). Returns 0, COLLAB_ESTATE
 * (server role, handshake not done, or the server gave no session id) or
 * the sticky error. */
int collab_tls_session_save(const struct collab_tls_conn *c,
			    struct collab_tls_session *s);

/* Searches a DER certificate's subjectAltName extension for an iPAddress
 * entry equal to addr (4 bytes for IPv4, 16 for IPv6, network order;
 * RFC 5280 4.2.1.6). Reads nothing outside der[0..der_len). Returns 1 if
 * present, 0 if not (no SAN, or no such entry), COLLAB_ESYNTAX when the
 * certificate's structure is malformed, COLLAB_EINVAL for a bad addr_len.
 * The connection uses it after BearSSL validated the chain; it is public
 * for tests and fuzzing. */
int collab_tls_cert_has_ip(const uint8_t *der, size_t der_len,
			   const uint8_t *addr, size_t addr_len);

#ifdef __cplusplus
}
#endif
#endif
