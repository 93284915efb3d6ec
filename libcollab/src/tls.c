/*
 * tls.c - TLS connections over BearSSL's engine: set-up in both roles
 * and the non-blocking pump (records to and from a socket, plaintext to and
 * from the caller), with epoll interest derived from the engine state.
 * Loading certificates and keys is in tls_pem.c.
 */
#include "collab/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "tls_int.h"

/* Server suites, one list per key type. Every one is ECDHE (forward
 * secrecy) with an AEAD cipher; TLS 1.2 (RFC 5289, RFC 7905). */
static const uint16_t SUITES_RSA[] = {
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};
static const uint16_t SUITES_EC[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
};
/* The client offers both key types, in the same cipher order. */
static const uint16_t SUITES_CLIENT[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};

#define N_SUITES(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the session cache wrapper ---------------------------------------- */

/* The engine context is the first member of the server's block. */
static struct collab_tls_srvblk *srvblk_of(br_ssl_server_context *sc)
{
	return (struct collab_tls_srvblk *)(void *)sc;
}

static struct collab_tls_cache *cache_of(const br_ssl_session_cache_class **v)
{
	return (struct collab_tls_cache *)(void *)v;
}

/* BearSSL calls save() only after a full handshake and load() when the
 * ClientHello offers a 32-byte session id; a hit may still end in a full
 * handshake (the session's suite was not offered again), which save()
 * then reveals. So "resumed" = hit and not saved. */
static void cache_save(const br_ssl_session_cache_class **ctx,
		       br_ssl_server_context *sc,
		       const br_ssl_session_parameters *params)
{
	struct collab_tls_cache *c = cache_of(ctx);

	c->lru.vtable->save(&c->lru.vtable, sc, params);
	srvblk_of(sc)->cache_saved = 1;
}

static int cache_load(const br_ssl_session_cache_class **ctx,
		      br_ssl_server_context *sc,
		      br_ssl_session_parameters *params)
{
	struct collab_tls_cache *c = cache_of(ctx);
	int found = c->lru.vtable->load(&c->lru.vtable, sc, params);

	if (found)
		srvblk_of(sc)->cache_hit = 1;
	return found;
}

const br_ssl_session_cache_class collab_tls_cache_vtable = {
	sizeof(struct collab_tls_cache), cache_save, cache_load
};

/* ---- set-up ----------------------------------------------------------- */

/* Allocates the block: an engine-side header of hdr bytes, then the input
 * and output halves of the I/O buffer. */
static int conn_alloc(struct collab_tls_conn *c, const struct collab_alloc *a,
		      size_t hdr, size_t out_len, size_t max_syscalls)
{
	memset(c, 0, sizeof *c);
	c->a = a ? a : collab_alloc_default();
	c->blk_len = hdr + BR_SSL_BUFSIZE_INPUT + out_len;
	c->blk = c->a->alloc(c->a->ctx, c->blk_len);
	if (c->blk == NULL) {
		c->blk_len = 0;
		return COLLAB_ENOMEM;
	}
	memset(c->blk, 0, hdr);
	c->max_syscalls = max_syscalls;
	return 0;
}

static void engine_common(br_ssl_engine_context *eng, uint8_t *buf,
			  size_t out_len, const uint16_t *suites, size_t n)
{
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(eng, suites, n);
	/* RFC 5746 renegotiation buys nothing here and has a history of
	 * attacks; BearSSL refuses it with a no_renegotiation warning. */
	br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_buffers_bidi(eng, buf, BR_SSL_BUFSIZE_INPUT,
				       buf + BR_SSL_BUFSIZE_INPUT, out_len);
}

/* After a failed reset: the engine's error as ours, then free. */
static int reset_failed(struct collab_tls_conn *c, br_ssl_engine_context *eng)
{
	int e = br_ssl_engine_last_error(eng);

	collab_tls_conn_free(c);
	return e == BR_ERR_NO_RANDOM ? COLLAB_ERANDOM : COLLAB_ETLS;
}

int collab_tls_conn_init_server(struct collab_tls_conn *c,
				struct collab_tls_server *srv,
				const struct collab_alloc *a)
{
	const size_t hdr = sizeof(struct collab_tls_srvblk);
	struct collab_tls_srvblk *sb;
	br_ssl_server_context *sc;
	int rc;

	memset(c, 0, sizeof *c);
	if (srv == NULL || srv->chain_len == 0)
		return COLLAB_EINVAL;
	rc = conn_alloc(c, a, hdr, srv->out_buf_bytes, srv->max_syscalls);
	if (rc != 0)
		return rc;
	sb = c->blk;
	sc = &sb->sc;
	if (srv->key_type == BR_KEYTYPE_RSA) {
		br_ssl_server_init_full_rsa(sc,
			(const br_x509_certificate *)srv->chain_arr.p,
			srv->chain_len, &srv->rsa);
		engine_common(&sc->eng, (uint8_t *)c->blk + hdr,
			      srv->out_buf_bytes, SUITES_RSA,
			      N_SUITES(SUITES_RSA));
	} else {
		br_ssl_server_init_full_ec(sc,
			(const br_x509_certificate *)srv->chain_arr.p,
			srv->chain_len, srv->issuer_key_type, &srv->ec);
		engine_common(&sc->eng, (uint8_t *)c->blk + hdr,
			      srv->out_buf_bytes, SUITES_EC,
			      N_SUITES(SUITES_EC));
	}
	if (srv->cache_bytes > 0)
		br_ssl_server_set_cache(sc, &srv->cache.vtable);
	if (!br_ssl_server_reset(sc))
		return reset_failed(c, &sc->eng);
	c->eng = &sc->eng;
	c->role = COLLAB_TLS_SERVER;
	return 0;
}

/* Letters, digits, '-', '.' and '_' (RFC 1123 2.1 host names, plus the
 * underscore real names carry): what a DNS name in a URL's host may hold
 * once internationalised names are in their ASCII form (RFC 5890). */
static int dns_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
		|| (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'
		|| ch == '_';
}

/* Sorts the host the caller connects to. A literal address (IPv4, or
 * IPv6 with or without brackets) fills addr; anything else must be a DNS
 * name (so "host:port", a zone-scoped address or stray brackets are caller
 * bugs). name receives the NUL-terminated text BearSSL needs. 0 when
 * invalid, else the address length (4 or 16) or 1 for a DNS name. */
static size_t parse_host(const char *host, size_t len, char *name,
			 uint8_t *addr)
{
	size_t i;

	/* A NUL would cut the copy inet_pton() reads short. */
	if (host == NULL || len == 0 || len > 255
	    || memchr(host, '\0', len) != NULL)
		return 0;
	if (len > 2 && host[0] == '[' && host[len - 1] == ']') {
		memcpy(name, host + 1, len - 2);
		name[len - 2] = '\0';
		return inet_pton(AF_INET6, name, addr) == 1 ? 16 : 0;
	}
	memcpy(name, host, len);
	name[len] = '\0';
	if (inet_pton(AF_INET, name, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, name, addr) == 1)
		return 16;
	for (i = 0; i < len; i++)
		if (!dns_char((unsigned char)host[i]))
			return 0;
	return 1;
}

int collab_tls_conn_init_client(struct collab_tls_conn *c,
				const struct collab_tls_client *cli,
				const char *host, size_t host_len,
				const struct collab_tls_session *resume,
				const struct collab_alloc *a)
{
	const size_t hdr = sizeof(struct collab_tls_cliblk);
	struct collab_tls_cliblk *cb;
	char name[256];
	uint8_t addr[16];
	size_t kind, ee;
	int rc, offer = 0;

	memset(c, 0, sizeof *c);
	if (cli == NULL || cli->anchors_len == 0)
		return COLLAB_EINVAL;
	kind = parse_host(host, host_len, name, addr);
	if (kind == 0)
		return COLLAB_EINVAL;
	ee = kind == 1 ? 0 : cli->ip_cert_max_bytes;
	rc = conn_alloc(c, a, hdr, cli->out_buf_bytes + ee, cli->max_syscalls);
	if (rc != 0)
		return rc;
	cb = c->blk;
	memcpy(cb->host, host, host_len);
	cb->host_len = host_len;
	br_ssl_client_init_full(&cb->cc, &cb->xc,
				(const br_x509_trust_anchor *)cli->anchors.p,
				cli->anchors_len);
	engine_common(&cb->cc.eng, (uint8_t *)c->blk + hdr,
		      cli->out_buf_bytes, SUITES_CLIENT,
		      N_SUITES(SUITES_CLIENT));
	if (kind != 1) {
		/* RFC 6066 3: no SNI for an address; the IP check takes
		 * over the name match. */
		cb->ip.vtable = &collab_tls_ipcheck_vtable;
		cb->ip.inner = &cb->xc.vtable;
		memcpy(cb->ip.addr, addr, kind);
		cb->ip.addr_len = kind;
		cb->ip.ee = (uint8_t *)c->blk + c->blk_len - ee;
		cb->ip.ee_cap = ee;
		br_ssl_engine_set_x509(&cb->cc.eng, &cb->ip.vtable);
	}
	/* Resuming skips the certificate check, so a session is offered
	 * only to the host it was validated for. */
	if (resume != NULL && resume->valid && resume->host_len == host_len
	    && memcmp(resume->host, host, host_len) == 0
	    && resume->params.session_id_len > 0
	    && resume->params.session_id_len <= sizeof c->offered_id) {
		br_ssl_engine_set_session_parameters(&cb->cc.eng,
						     &resume->params);
		c->offered_len = resume->params.session_id_len;
		memcpy(c->offered_id, resume->params.session_id,
		       c->offered_len);
		offer = 1;
	}
	if (!br_ssl_client_reset(&cb->cc, kind == 1 ? name : NULL, offer))
		return reset_failed(c, &cb->cc.eng);
	c->eng = &cb->cc.eng;
	c->role = COLLAB_TLS_CLIENT;
	return 0;
}

void collab_tls_conn_free(struct collab_tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->blk != NULL) {
		explicit_bzero(c->blk, c->blk_len);
		c->a->free(c->a->ctx, c->blk, c->blk_len);
	}
	memset(c, 0, sizeof *c);
}

size_t collab_tls_conn_mem(const struct collab_tls_conn *c)
{
	return c->blk ? c->blk_len : 0;
}

/* ---- state ------------------------------------------------------------ */

static int fail(struct collab_tls_conn *c, int err)
{
	if (c->err == 0)
		c->err = err;
	return c->err;
}

static int compute_resumed(const struct collab_tls_conn *c)
{
	br_ssl_session_parameters sp;
	int same;

	if (c->role == COLLAB_TLS_SERVER) {
		const struct collab_tls_srvblk *sb = c->blk;

		return sb->cache_hit && !sb->cache_saved;
	}
	if (c->offered_len == 0)
		return 0;
	/* RFC 5246 7.4.1.3: the server echoes the offered session id
	 * exactly when it resumes that session. */
	br_ssl_engine_get_session_parameters(c->eng, &sp);
	same = sp.session_id_len == c->offered_len
		&& memcmp(sp.session_id, c->offered_id, c->offered_len) == 0;
	explicit_bzero(&sp, sizeof sp);
	return same;
}

/* Brings our flags up to date with the engine after anything that may
 * have moved it: the handshake-done edge, and a failure made sticky. */
static int sync_engine(struct collab_tls_conn *c)
{
	unsigned st;
	int e;

	if (c->err != 0)
		return c->err;
	st = br_ssl_engine_current_state(c->eng);
	if (st & BR_SSL_CLOSED) {
		e = br_ssl_engine_last_error(c->eng);
		if (e == BR_ERR_OK)
			return 0;
		c->br_err = e;
		return fail(c, e == BR_ERR_NO_RANDOM ? COLLAB_ERANDOM
			    : COLLAB_ETLS);
	}
	/* BearSSL: the initial handshake is complete when the engine
	 * first accepts (or yields) application data. */
	if (!c->hs_done && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
		c->hs_done = 1;
		c->resumed = (uint8_t)compute_resumed(c);
	}
	return 0;
}

/* Entry check for the pump functions. */
static int usable(struct collab_tls_conn *c)
{
	if (c->eng == NULL)
		return COLLAB_EINVAL;
	return sync_engine(c);
}

static int engine_closed(const struct collab_tls_conn *c)
{
	return c->eof_closed
		|| (br_ssl_engine_current_state(c->eng) & BR_SSL_CLOSED);
}

unsigned collab_tls_want(const struct collab_tls_conn *c)
{
	unsigned st, w = 0;

	if (c->eng == NULL || c->err != 0 || c->eof_closed)
		return 0;
	st = br_ssl_engine_current_state(c->eng);
	if (st & BR_SSL_CLOSED)
		return 0;
	if (st & BR_SSL_RECVREC)
		w |= COLLAB_TLS_WANT_READ;
	if (st & BR_SSL_SENDREC)
		w |= COLLAB_TLS_WANT_WRITE;
	return w;
}

enum collab_tls_state collab_tls_state(const struct collab_tls_conn *c)
{
	unsigned st;

	if (c->eng == NULL || c->err != 0)
		return COLLAB_TLS_FAILED;
	if (c->eof_closed)
		return COLLAB_TLS_CLOSED;
	st = br_ssl_engine_current_state(c->eng);
	if (st & BR_SSL_CLOSED)
		return br_ssl_engine_last_error(c->eng) == BR_ERR_OK
			? COLLAB_TLS_CLOSED : COLLAB_TLS_FAILED;
	if (c->close_called)
		return COLLAB_TLS_CLOSING;
	if (c->hs_done || (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)))
		return COLLAB_TLS_OPEN;
	return COLLAB_TLS_HANDSHAKE;
}

int collab_tls_handshake_done(const struct collab_tls_conn *c)
{
	return c->hs_done;
}

int collab_tls_resumed(const struct collab_tls_conn *c)
{
	return c->hs_done && c->resumed;
}

int collab_tls_error(const struct collab_tls_conn *c)
{
	return c->err;
}

int collab_tls_br_error(const struct collab_tls_conn *c)
{
	return c->br_err;
}

int collab_tls_sys_errno(const struct collab_tls_conn *c)
{
	return c->sys_errno;
}

/* ---- the pump --------------------------------------------------------- */

int collab_tls_flush_socket(struct collab_tls_conn *c, int fd)
{
	size_t calls, len;
	unsigned char *buf;
	ssize_t n;
	int rc = usable(c);

	if (rc != 0 || c->eof_closed)
		return rc;
	for (calls = 0; calls < c->max_syscalls; calls++) {
		buf = br_ssl_engine_sendrec_buf(c->eng, &len);
		if (buf == NULL)
			return 0;
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			c->sys_errno = errno;
			return fail(c, COLLAB_EIO);
		}
		if (n == 0)
			return 0;
		br_ssl_engine_sendrec_ack(c->eng, (size_t)n);
		rc = sync_engine(c);
		if (rc != 0)
			return rc;
	}
	return br_ssl_engine_sendrec_buf(c->eng, &len) ? COLLAB_TLS_MORE : 0;
}

int collab_tls_fill_socket(struct collab_tls_conn *c, int fd)
{
	size_t calls, len;
	unsigned char *buf;
	ssize_t n;
	int rc = usable(c);

	if (rc != 0 || c->eof_closed)
		return rc;
	for (calls = 0; calls < c->max_syscalls; calls++) {
		buf = br_ssl_engine_recvrec_buf(c->eng, &len);
		if (buf == NULL)
			return 0;
		n = recv(fd, buf, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			c->sys_errno = errno;
			return fail(c, COLLAB_EIO);
		}
		if (n == 0) {
			/* RFC 5246 7.2.1: after our close_notify we need not
			 * wait for the reply; otherwise the stream was cut
			 * short and may have been truncated. */
			if (c->close_called) {
				c->eof_closed = 1;
				return 0;
			}
			return fail(c, COLLAB_ECLOSED);
		}
		br_ssl_engine_recvrec_ack(c->eng, (size_t)n);
		rc = sync_engine(c);
		if (rc != 0)
			return rc;
	}
	return br_ssl_engine_recvrec_buf(c->eng, &len) ? COLLAB_TLS_MORE : 0;
}

int collab_tls_recv_app(struct collab_tls_conn *c, const uint8_t **p,
			size_t *len)
{
	unsigned char *buf;
	size_t n;
	int rc;

	*p = NULL;
	*len = 0;
	rc = usable(c);
	if (rc != 0 || c->eof_closed)
		return rc;
	buf = br_ssl_engine_recvapp_buf(c->eng, &n);
	if (buf != NULL) {
		*p = buf;
		*len = n;
	}
	return 0;
}

void collab_tls_recv_ack(struct collab_tls_conn *c, size_t n)
{
	size_t avail;

	if (n == 0 || c->eng == NULL || c->err != 0 || c->eof_closed)
		return;
	/* BearSSL's invariant (n <= what recvapp_buf gave) is a MUST for
	 * the caller; clamping keeps a caller bug from corrupting the
	 * engine's indices. */
	if (br_ssl_engine_recvapp_buf(c->eng, &avail) == NULL)
		return;
	br_ssl_engine_recvapp_ack(c->eng, n < avail ? n : avail);
	(void)sync_engine(c);
}

int collab_tls_send_app(struct collab_tls_conn *c, const void *p, size_t len,
			size_t *taken)
{
	unsigned char *buf;
	size_t room, n;
	int rc;

	*taken = 0;
	rc = usable(c);
	if (rc != 0)
		return rc;
	if (c->close_called || engine_closed(c))
		return COLLAB_ECLOSED;
	if (len == 0)
		return 0;
	buf = br_ssl_engine_sendapp_buf(c->eng, &room);
	if (buf == NULL)
		return 0;
	n = len < room ? len : room;
	memcpy(buf, p, n);
	br_ssl_engine_sendapp_ack(c->eng, n);
	*taken = n;
	return sync_engine(c);
}

int collab_tls_flush_app(struct collab_tls_conn *c)
{
	int rc = usable(c);

	if (rc != 0 || engine_closed(c))
		return rc;
	br_ssl_engine_flush(c->eng, 0);
	return sync_engine(c);
}

int collab_tls_close(struct collab_tls_conn *c)
{
	int rc = usable(c);

	if (rc != 0 || c->close_called)
		return rc;
	c->close_called = 1;
	if (engine_closed(c))
		return 0;
	/* Seal buffered data first so it precedes the close_notify. */
	br_ssl_engine_flush(c->eng, 0);
	br_ssl_engine_close(c->eng);
	return sync_engine(c);
}

/* ---- information ------------------------------------------------------ */

unsigned collab_tls_version(const struct collab_tls_conn *c)
{
	if (c->eng == NULL || !c->hs_done)
		return 0;
	return br_ssl_engine_get_version(c->eng);
}

unsigned collab_tls_cipher_suite(const struct collab_tls_conn *c)
{
	br_ssl_session_parameters sp;
	unsigned suite;

	if (c->eng == NULL || !c->hs_done)
		return 0;
	br_ssl_engine_get_session_parameters(c->eng, &sp);
	suite = sp.cipher_suite;
	explicit_bzero(&sp, sizeof sp);
	return suite;
}

struct collab_str collab_tls_server_name(const struct collab_tls_conn *c)
{
	struct collab_str s = { "", 0 };
	const char *name, *end;

	if (c->eng == NULL)
		return s;
	if (c->role == COLLAB_TLS_CLIENT) {
		const struct collab_tls_cliblk *cb = c->blk;

		s.p = cb->host;
		s.len = cb->host_len;
		return s;
	}
	/* The SNI name, NUL-terminated inside the engine (at most 255
	 * bytes: BearSSL skips longer ones). */
	name = br_ssl_engine_get_server_name(c->eng);
	end = memchr(name, '\0', sizeof c->eng->server_name);
	s.p = name;
	s.len = end ? (size_t)(end - name) : 0;
	return s;
}

int collab_tls_session_save(const struct collab_tls_conn *c,
			    struct collab_tls_session *s)
{
	struct collab_str host;

	if (c->eng == NULL)
		return COLLAB_EINVAL;
	if (c->err != 0)
		return c->err;
	if (c->role != COLLAB_TLS_CLIENT || !c->hs_done)
		return COLLAB_ESTATE;
	collab_tls_session_clear(s);
	br_ssl_engine_get_session_parameters(c->eng, &s->params);
	if (s->params.session_id_len == 0) {
		collab_tls_session_clear(s);
		return COLLAB_ESTATE;
	}
	host = collab_tls_server_name(c);
	memcpy(s->host, host.p, host.len);
	s->host_len = host.len;
	s->valid = 1;
	return 0;
}

void collab_tls_session_clear(struct collab_tls_session *s)
{
	explicit_bzero(s, sizeof *s);
}

const char *collab_tls_br_strerror(int br_err)
{
	if (br_err >= BR_ERR_SEND_FATAL_ALERT)
		return br_err < BR_ERR_SEND_FATAL_ALERT + 256
			? "sent fatal alert" : "unknown BearSSL error";
	if (br_err >= BR_ERR_RECV_FATAL_ALERT)
		return "received fatal alert";
	switch (br_err) {
	case BR_ERR_OK: return "BR_ERR_OK";
	case BR_ERR_BAD_PARAM: return "BR_ERR_BAD_PARAM";
	case BR_ERR_BAD_STATE: return "BR_ERR_BAD_STATE";
	case BR_ERR_UNSUPPORTED_VERSION: return "BR_ERR_UNSUPPORTED_VERSION";
	case BR_ERR_BAD_VERSION: return "BR_ERR_BAD_VERSION";
	case BR_ERR_BAD_LENGTH: return "BR_ERR_BAD_LENGTH";
	case BR_ERR_TOO_LARGE: return "BR_ERR_TOO_LARGE";
	case BR_ERR_BAD_MAC: return "BR_ERR_BAD_MAC";
	case BR_ERR_NO_RANDOM: return "BR_ERR_NO_RANDOM";
	case BR_ERR_UNKNOWN_TYPE: return "BR_ERR_UNKNOWN_TYPE";
	case BR_ERR_UNEXPECTED: return "BR_ERR_UNEXPECTED";
	case BR_ERR_BAD_CCS: return "BR_ERR_BAD_CCS";
	case BR_ERR_BAD_ALERT: return "BR_ERR_BAD_ALERT";
	case BR_ERR_BAD_HANDSHAKE: return "BR_ERR_BAD_HANDSHAKE";
	case BR_ERR_OVERSIZED_ID: return "BR_ERR_OVERSIZED_ID";
	case BR_ERR_BAD_CIPHER_SUITE: return "BR_ERR_BAD_CIPHER_SUITE";
	case BR_ERR_BAD_COMPRESSION: return "BR_ERR_BAD_COMPRESSION";
	case BR_ERR_BAD_FRAGLEN: return "BR_ERR_BAD_FRAGLEN";
	case BR_ERR_BAD_SECRENEG: return "BR_ERR_BAD_SECRENEG";
	case BR_ERR_EXTRA_EXTENSION: return "BR_ERR_EXTRA_EXTENSION";
	case BR_ERR_BAD_SNI: return "BR_ERR_BAD_SNI";
	case BR_ERR_BAD_HELLO_DONE: return "BR_ERR_BAD_HELLO_DONE";
	case BR_ERR_LIMIT_EXCEEDED: return "BR_ERR_LIMIT_EXCEEDED";
	case BR_ERR_BAD_FINISHED: return "BR_ERR_BAD_FINISHED";
	case BR_ERR_RESUME_MISMATCH: return "BR_ERR_RESUME_MISMATCH";
	case BR_ERR_INVALID_ALGORITHM: return "BR_ERR_INVALID_ALGORITHM";
	case BR_ERR_BAD_SIGNATURE: return "BR_ERR_BAD_SIGNATURE";
	case BR_ERR_WRONG_KEY_USAGE: return "BR_ERR_WRONG_KEY_USAGE";
	case BR_ERR_NO_CLIENT_AUTH: return "BR_ERR_NO_CLIENT_AUTH";
	case BR_ERR_IO: return "BR_ERR_IO";
	case BR_ERR_X509_INVALID_VALUE: return "BR_ERR_X509_INVALID_VALUE";
	case BR_ERR_X509_TRUNCATED: return "BR_ERR_X509_TRUNCATED";
	case BR_ERR_X509_EMPTY_CHAIN: return "BR_ERR_X509_EMPTY_CHAIN";
	case BR_ERR_X509_INNER_TRUNC: return "BR_ERR_X509_INNER_TRUNC";
	case BR_ERR_X509_BAD_TAG_CLASS: return "BR_ERR_X509_BAD_TAG_CLASS";
	case BR_ERR_X509_BAD_TAG_VALUE: return "BR_ERR_X509_BAD_TAG_VALUE";
	case BR_ERR_X509_INDEFINITE_LENGTH: return "BR_ERR_X509_INDEFINITE_LENGTH";
	case BR_ERR_X509_EXTRA_ELEMENT: return "BR_ERR_X509_EXTRA_ELEMENT";
	case BR_ERR_X509_UNEXPECTED: return "BR_ERR_X509_UNEXPECTED";
	case BR_ERR_X509_NOT_CONSTRUCTED: return "BR_ERR_X509_NOT_CONSTRUCTED";
	case BR_ERR_X509_NOT_PRIMITIVE: return "BR_ERR_X509_NOT_PRIMITIVE";
	case BR_ERR_X509_PARTIAL_BYTE: return "BR_ERR_X509_PARTIAL_BYTE";
	case BR_ERR_X509_BAD_BOOLEAN: return "BR_ERR_X509_BAD_BOOLEAN";
	case BR_ERR_X509_OVERFLOW: return "BR_ERR_X509_OVERFLOW";
	case BR_ERR_X509_BAD_DN: return "BR_ERR_X509_BAD_DN";
	case BR_ERR_X509_BAD_TIME: return "BR_ERR_X509_BAD_TIME";
	case BR_ERR_X509_UNSUPPORTED: return "BR_ERR_X509_UNSUPPORTED";
	case BR_ERR_X509_LIMIT_EXCEEDED: return "BR_ERR_X509_LIMIT_EXCEEDED";
	case BR_ERR_X509_WRONG_KEY_TYPE: return "BR_ERR_X509_WRONG_KEY_TYPE";
	case BR_ERR_X509_BAD_SIGNATURE: return "BR_ERR_X509_BAD_SIGNATURE";
	case BR_ERR_X509_TIME_UNKNOWN: return "BR_ERR_X509_TIME_UNKNOWN";
	case BR_ERR_X509_EXPIRED: return "BR_ERR_X509_EXPIRED";
	case BR_ERR_X509_DN_MISMATCH: return "BR_ERR_X509_DN_MISMATCH";
	case BR_ERR_X509_BAD_SERVER_NAME: return "BR_ERR_X509_BAD_SERVER_NAME";
	case BR_ERR_X509_CRITICAL_EXTENSION: return "BR_ERR_X509_CRITICAL_EXTENSION";
	case BR_ERR_X509_NOT_CA: return "BR_ERR_X509_NOT_CA";
	case BR_ERR_X509_FORBIDDEN_KEY_USAGE: return "BR_ERR_X509_FORBIDDEN_KEY_USAGE";
	case BR_ERR_X509_WEAK_PUBLIC_KEY: return "BR_ERR_X509_WEAK_PUBLIC_KEY";
	case BR_ERR_X509_NOT_TRUSTED: return "BR_ERR_X509_NOT_TRUSTED";
	default: return "unknown BearSSL error";
	}
}
