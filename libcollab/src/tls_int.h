/* tls_int.h - what tls.c and tls_pem.c share; private to the tls module. */
#ifndef COLLAB_TLS_INT_H
#define COLLAB_TLS_INT_H

#include "collab/tls.h"

/* A server connection's allocation: the engine context, the resumption
 * flags the session-cache wrapper sets during a handshake, then the I/O
 * buffer. The wrapper finds the flags from the br_ssl_server_context it is
 * handed, which is why they live beside it rather than in the caller's
 * struct collab_tls_conn. */
struct collab_tls_srvblk {
	br_ssl_server_context sc;
	uint8_t cache_hit;   /* load() found the offered session */
	uint8_t cache_saved; /* save() ran: the handshake was a full one */
};

/* Wraps BearSSL's minimal X.509 engine when the client connects to an IP
 * address: the chain is validated without a name, the end-entity
 * certificate is copied aside, and end_chain() then requires an iPAddress
 * subjectAltName equal to the address (RFC 6125 6.2.1; RFC 5280 4.2.1.6). */
struct collab_tls_ipcheck {
	const br_x509_class *vtable;
	const br_x509_class **inner;
	uint8_t addr[16];
	size_t addr_len;
	uint8_t *ee;          /* the end-entity certificate's DER */
	size_t ee_cap, ee_len;
	uint32_t certs;       /* certificates ended so far in this chain */
	uint8_t overflow;     /* the EE certificate exceeded ee_cap */
};

extern const br_x509_class collab_tls_ipcheck_vtable;

/* A client connection's allocation: engine, X.509 validator, the IP
 * check and the host name, then the I/O buffer, then (IP hosts only)
 * room for the end-entity certificate. */
struct collab_tls_cliblk {
	br_ssl_client_context cc;
	br_x509_minimal_context xc;
	struct collab_tls_ipcheck ip;
	size_t host_len;
	char host[256];       /* as given, NUL-terminated */
};

/* The LRU cache behind a vtable that records hits and saves. */
extern const br_ssl_session_cache_class collab_tls_cache_vtable;

/* ---- loading helpers shared by tls_pem.c and tls_cert.c ---- */

/* Does cfg hold values the module can use? */
int collab_tls_config_ok(const struct collab_tls_config *cfg);

/* Wipes a buffer that may hold secrets, then frees it. */
void collab_tls_wipe_free(struct collab_buf *b);

/* Static messages naming what failed while reading one kind of file. */
struct collab_tls_file_msgs {
	const char *open, *read, *big;
};

extern const struct collab_tls_file_msgs collab_tls_cert_file;
extern const struct collab_tls_file_msgs collab_tls_key_file;

/* Appends the whole file at path to b, whose max is the size limit: 0,
 * COLLAB_EIO (errno kept), COLLAB_ELIMIT or COLLAB_ENOMEM, with *why set
 * from m on failure. */
int collab_tls_read_file(const char *path, struct collab_buf *b,
			 const struct collab_tls_file_msgs *m,
			 const char **why);

/* What a PEM object's banner says it holds. */
enum collab_tls_pem_kind {
	COLLAB_TLS_PEM_OTHER,
	COLLAB_TLS_PEM_CERT,   /* CERTIFICATE, X509 CERTIFICATE */
	COLLAB_TLS_PEM_KEY,    /* RSA / EC / PKCS#8 PRIVATE KEY */
	COLLAB_TLS_PEM_ENCKEY  /* ENCRYPTED PRIVATE KEY */
};

/* Called once per complete object with its decoded bytes (a CERT or KEY
 * object's; none for the others). Non-zero stops the walk. */
typedef int (*collab_tls_pem_fn)(void *ctx, enum collab_tls_pem_kind kind,
				 const uint8_t *der, size_t len,
				 const char **why);

/* Calls fn for each PEM object of p[0..len); objects are decoded into a
 * buffer of at most max bytes. bad_pem is the message for malformed PEM.
 * 0, COLLAB_ESYNTAX, COLLAB_ELIMIT, COLLAB_ENOMEM or fn's error. */
int collab_tls_pem_each(const uint8_t *p, size_t len, size_t max,
			const struct collab_alloc *a, collab_tls_pem_fn fn,
			void *ctx, const char *bad_pem, const char **why);

/* Decodes one DER certificate into dc (dn receives the subject DN, may be
 * NULL); 0 or BearSSL's X.509 error code. */
int collab_tls_decode_cert(br_x509_decoder_context *dc, const uint8_t *der,
			   size_t len, void (*dn)(void *, const void *, size_t),
			   void *dn_ctx);

#endif
