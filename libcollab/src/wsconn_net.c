/*
 * wsconn_net.c - sockets: "ADDR:PORT" parsing, listeners and accept4,
 * non-blocking client connects (bound to cfg.client_bind addresses in turn).
 */
#include "wsconn_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTEN_BACKLOG 4096

/* ---- addresses ----------------------------------------------------------------- */

static int parse_port(const char *s, size_t len, uint16_t *port)
{
	uint32_t v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return COLLAB_ESYNTAX;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return COLLAB_ESYNTAX;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > 65535)
		return COLLAB_ESYNTAX;
	*port = (uint16_t)v;
	return 0;
}

/* A numeric host (or "localhost"/"*") into ss with port. */
static int host_addr(const char *h, size_t hlen, int ipv6, uint16_t port,
		     struct sockaddr_storage *ss, socklen_t *sslen)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (hlen == 0 || hlen >= sizeof(buf) || memchr(h, 0, hlen))
		return COLLAB_ESYNTAX;
	memcpy(buf, h, hlen);
	buf[hlen] = 0;
	if (ipv6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, buf, &s6->sin6_addr) != 1)
			return COLLAB_ESYNTAX;
		*sslen = sizeof(*s6);
		return 0;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*sslen = sizeof(*s4);
	if (collab_str_eq((struct collab_str){ h, hlen }, "localhost", 9)) {
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return 0;
	}
	if (collab_str_eq((struct collab_str){ h, hlen }, "*", 1)) {
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		return 0;
	}
	return inet_pton(AF_INET, buf, &s4->sin_addr) == 1 ? 0 : COLLAB_ESYNTAX;
}

int collab_wsconn_parse_addr(const char *s, size_t len,
			     struct sockaddr_storage *ss, socklen_t *sslen)
{
	size_t colon;
	uint16_t port;
	int ipv6 = 0;

	if (s == NULL || len == 0)
		return COLLAB_ESYNTAX;
	for (colon = len; colon > 0 && s[colon - 1] != ':'; colon--)
		;
	if (colon == 0 || parse_port(s + colon, len - colon, &port) != 0)
		return COLLAB_ESYNTAX;
	colon--; /* the host is s[0..colon) */
	if (colon >= 2 && s[0] == '[' && s[colon - 1] == ']') {
		ipv6 = 1;
		s++;
		colon -= 2;
	}
	return host_addr(s, colon, ipv6, port, ss, sslen);
}

/* ---- listeners ------------------------------------------------------------------- */

static void tune(int fd)
{
	int one = 1;

	/* Frames are written whole; Nagle would only add latency. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * The close timeout ran out (PROTOCOL.md 6, 1013: "TCP is dropped within
 * 5 s"): with linger 0 the close() that follows sends RST and frees the
 * send buffer at once, where a normal close would leave the kernel trying
 * to deliver it, for minutes, to a peer that does not read. Only on that
 * forced path: RST is TCP's ABORT (RFC 9293 3.10.5), which discards what
 * is still on its way to the peer, so a clean close never does it.
 */
void wsc_reset_on_close(struct collab_wsconn *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (c->io.fd >= 0)
		(void)setsockopt(c->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* Sets up one accepted socket. Closes fd on failure. */
static void take(struct collab_wsconn_listener *l, int fd)
{
	struct collab_wsctx *ctx = l->ctx;
	struct collab_wsconn *c;

	tune(fd);
	c = wsc_new(ctx, fd, l->hd, 0);
	if (c == NULL) {
		close(fd);
		return;
	}
	if (l->tls) {
		c->tls = wsc_alloc(ctx, sizeof(*c->tls));
		if (c->tls == NULL ||
		    collab_tls_conn_init_server(c->tls, l->tls, ctx->a) != 0) {
			wsc_free(ctx, c->tls, sizeof(*c->tls));
			c->tls = NULL;
			wsc_teardown(c, COLLAB_ENOMEM);
			return;
		}
	}
	if (collab_loop_io_add(ctx->loop, &c->io, COLLAB_LOOP_READ) != 0 ||
	    wsc_arm(c) != 0)
		wsc_teardown(c, COLLAB_ENOMEM);
}

static void on_accept(struct collab_loop *loop, struct collab_io *io,
		      unsigned events)
{
	struct collab_wsconn_listener *l = io->ctx;
	size_t i;
	int fd;

	(void)events;
	for (i = 0; i < l->ctx->cfg.max_accept_per_wakeup; i++) {
		fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			take(l, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* Level-triggered epoll would call back at once
			 * forever: pause the listener instead. */
			if (collab_loop_io_modify(loop, io, 0) == 0)
				(void)collab_loop_timer_arm(loop, &l->retry,
							    l->ctx->cfg.accept_retry_ms);
		}
		break; /* EAGAIN, or paused */
	}
}

static void on_retry(struct collab_loop *loop, struct collab_timer *t)
{
	struct collab_wsconn_listener *l = t->ctx;

	if (l->open)
		(void)collab_loop_io_modify(loop, &l->io, COLLAB_LOOP_READ);
}

int collab_wsconn_listen(struct collab_wsconn_listener *l,
			 struct collab_wsctx *ctx, const char *addr, size_t len,
			 const struct collab_wsconn_handlers *hd,
			 struct collab_tls_server *tls)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, rc, saved;

	memset(l, 0, sizeof(*l));
	rc = collab_wsconn_parse_addr(addr, len, &ss, &sl);
	if (rc != 0)
		return rc;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return COLLAB_EIO;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0)
		goto fail;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		goto fail;
	l->port = ntohs(ss.ss_family == AF_INET6 ?
			((struct sockaddr_in6 *)(void *)&ss)->sin6_port :
			((struct sockaddr_in *)(void *)&ss)->sin_port);
	l->ctx = ctx;
	l->hd = hd;
	l->tls = tls;
	collab_loop_timer_init(&l->retry, on_retry, l);
	collab_loop_io_init(&l->io, fd, on_accept, l);
	if (collab_loop_io_add(ctx->loop, &l->io, COLLAB_LOOP_READ) != 0)
		goto fail;
	l->open = 1;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return COLLAB_EIO;
}

void collab_wsconn_unlisten(struct collab_wsconn_listener *l)
{
	if (!l->open)
		return;
	collab_loop_timer_cancel(l->ctx->loop, &l->retry);
	collab_loop_io_remove(l->ctx->loop, &l->io);
	close(l->io.fd);
	l->open = 0;
}

/* ---- connecting -------------------------------------------------------------------- */

/* Resolves the URL's host: numeric forms and "localhost" without any
 * lookup, anything else through getaddrinfo (blocking). */
static int resolve(const struct collab_http_url *u, struct sockaddr_storage *ss,
		   socklen_t *sl)
{
	struct addrinfo hints, *res = NULL, *ai;
	char name[COLLAB_HTTP_MAX_HOST + 1];
	int rc = host_addr(u->host.p, u->host.len, u->ipv6, u->port, ss, sl);

	if (rc == 0 || u->ipv6)
		return rc;
	if (u->host.len >= sizeof(name))
		return COLLAB_ESYNTAX;
	memcpy(name, u->host.p, u->host.len);
	name[u->host.len] = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0 || res == NULL)
		return COLLAB_ENOTFOUND;
	rc = COLLAB_ENOTFOUND;
	for (ai = res; ai; ai = ai->ai_next) {
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    ai->ai_addrlen <= sizeof(*ss)) {
			memset(ss, 0, sizeof(*ss));
			memcpy(ss, ai->ai_addr, ai->ai_addrlen);
			*sl = ai->ai_addrlen;
			if (ai->ai_family == AF_INET)
				((struct sockaddr_in *)(void *)ss)->sin_port = htons(u->port);
			else
				((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons(u->port);
			rc = 0;
			break;
		}
	}
	freeaddrinfo(res);
	return rc;
}

/* Linux 4.2: bind() leaves the port to connect(), which then picks one
 * unique for the 4-tuple instead of one unique for the address alone. */
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* Binds fd (of the given family) to the context's next client_bind
 * entry, when it has any. */
static int bind_source(struct collab_wsctx *ctx, int fd, sa_family_t family)
{
	const struct sockaddr_storage *b;
	socklen_t bl;
	uint16_t port;
	int one = 1;

	if (ctx->cfg.n_client_bind == 0)
		return 0;
	b = &ctx->cfg.client_bind[ctx->bind_next];
	ctx->bind_next = (ctx->bind_next + 1) % ctx->cfg.n_client_bind;
	if (b->ss_family != family)
		return COLLAB_EINVAL;
	if (family == AF_INET6) {
		bl = sizeof(struct sockaddr_in6);
		port = ((const struct sockaddr_in6 *)(const void *)b)->sin6_port;
	} else {
		bl = sizeof(struct sockaddr_in);
		port = ((const struct sockaddr_in *)(const void *)b)->sin_port;
	}
	/* Best effort: without it bind() takes a port per address, which
	 * only lowers the ceiling. */
	if (port == 0)
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
				 sizeof(one));
	return bind(fd, (const struct sockaddr *)b, bl) == 0 ? 0 : COLLAB_EIO;
}

int collab_wsconn_connect(struct collab_wsctx *ctx, const char *url, size_t len,
			  const struct collab_wsconn_connect_opts *opts,
			  const struct collab_wsconn_handlers *hd,
			  struct collab_tls_client *tls,
			  struct collab_wsconn_handle *h)
{
	struct collab_http_url u;
	struct sockaddr_storage ss;
	struct collab_wsconn *c;
	socklen_t sl;
	int fd, rc;

	rc = collab_http_parse_url(url, len, &u);
	if (rc != 0)
		return rc;
	if (u.tls && tls == NULL)
		return COLLAB_EINVAL;
	rc = resolve(&u, &ss, &sl);
	if (rc != 0)
		return rc;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return COLLAB_EIO;
	rc = bind_source(ctx, fd, ss.ss_family);
	if (rc != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return rc;
	}
	tune(fd);
	c = wsc_new(ctx, fd, hd, 1);
	if (c == NULL) {
		close(fd);
		return COLLAB_ENOMEM;
	}
	/* Until connect() is under way, failures are returned, not
	 * reported: mark it reported so on_close cannot run. */
	c->flags |= WF_REPORTED;
	rc = wsc_hs_client_start(c, &u, opts);
	if (rc == 0 && u.tls) {
		c->tls = wsc_alloc(ctx, sizeof(*c->tls));
		rc = c->tls == NULL ? COLLAB_ENOMEM :
			collab_tls_conn_init_client(c->tls, tls, u.host.p,
						    u.host.len, NULL, ctx->a);
		if (rc != 0) {
			wsc_free(ctx, c->tls, sizeof(*c->tls));
			c->tls = NULL;
		}
	}
	if (rc == 0 && connect(fd, (struct sockaddr *)&ss, sl) != 0 &&
	    errno != EINPROGRESS)
		rc = COLLAB_EIO;
	if (rc == 0)
		rc = collab_loop_io_add(ctx->loop, &c->io, COLLAB_LOOP_WRITE);
	if (rc == 0)
		rc = wsc_arm(c);
	if (rc != 0) {
		int saved = errno;

		wsc_teardown(c, rc);
		errno = saved;
		return rc;
	}
	c->flags &= ~WF_REPORTED;
	*h = collab_wsconn_handle(c);
	return 0;
}

void wsc_connect_done(struct collab_wsconn *c)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err) {
		errno = err;
		wsc_teardown(c, COLLAB_EIO);
		return;
	}
	c->state = WSC_HANDSHAKE;
}
