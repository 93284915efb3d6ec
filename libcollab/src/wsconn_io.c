/*
 * wsconn_io.c - the pump that drives one connection, plain or TLS: writing
 * the queue (writev, or into the TLS engine), reading into the context's
 * scratch buffer, and the frame input (parser, zero-copy or reassembled
 * delivery, control frames), with the closing transitions.
 */
#include "wsconn_int.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* writev calls per flush, rounds of the TLS pump, per wake-up. */
#define WSC_FLUSH_ROUNDS 16
#define WSC_TLS_ROUNDS 8

static struct collab_wsctx *ctx_of(const struct collab_wsconn *c)
{
	return c->io.ctx;
}

/* ---- frame input --------------------------------------------------------------- */

void wsc_rx_free(struct collab_wsconn *c)
{
	struct wsc_rx *rx = c->aux;

	if (rx == NULL)
		return;
	collab_buf_free(&rx->msg);
	wsc_free(ctx_of(c), rx, sizeof(*rx));
	c->aux = NULL;
}

/* Moves the parser state into the connection's own receive block. */
static struct wsc_rx *rx_get(struct collab_wsconn *c,
			     struct collab_ws_parser **ps)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct wsc_rx *rx = c->aux;

	if (rx)
		return rx;
	rx = wsc_alloc(ctx, sizeof(*rx));
	if (rx == NULL)
		return NULL;
	rx->ps = **ps;
	collab_buf_init(&rx->msg, ctx->a, 0);
	c->aux = rx;
	*ps = &rx->ps;
	return rx;
}

static void deliver(struct collab_wsconn *c, enum collab_ws_opcode op,
		    const uint8_t *p, size_t len)
{
	static const uint8_t empty[1] = { 0 };

	if (c->state != WSC_OPEN || (c->flags & WF_CLOSE_QUEUED))
		return;
	if (c->hd && c->hd->on_message)
		c->hd->on_message(c, op, p ? p : empty, len);
}

static void on_peer_close(struct collab_wsconn *c,
			  const struct collab_ws_event *ev)
{
	c->flags |= WF_CLOSE_RCVD | WF_DISCARD;
	/* RFC 6455 5.5.1: answer a close with a close, echoing the code,
	 * after the data already queued. */
	if (!(c->flags & WF_CLOSE_QUEUED) &&
	    wsc_queue_close(c, ev->close_code, NULL, 0) != 0) {
		wsc_report_close(c, ev->close_code, ev->close_reason, 0, 0);
		wsc_teardown(c, COLLAB_ENOMEM);
		return;
	}
	wsc_set_closing(c);
	wsc_report_close(c, ev->close_code, ev->close_reason, 0, 0);
}

/* True while frames read should still be parsed. */
static int parsing(const struct collab_wsconn *c)
{
	return (c->state == WSC_OPEN || c->state == WSC_CLOSING) &&
		!(c->flags & (WF_DISCARD | WF_DEAD_PENDING));
}

/*
 * Parses p[0..n) (unmasked in place). The connection's own parser state is
 * used when it has one; otherwise the context's scratch parser, whose state
 * is copied into a receive block only if the bytes end inside a frame or a
 * message. A message whose frame is entirely in p is delivered in place;
 * otherwise it is gathered in the receive block.
 */
void wsc_ws_input(struct collab_wsconn *c, uint8_t *p, size_t n)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct wsc_rx *rx = c->aux;
	struct collab_ws_parser *ps;
	struct collab_ws_event ev;
	const uint8_t *zc = NULL;
	size_t off = 0, used, zlen = 0;
	int rc;

	if (rx) {
		ps = &rx->ps;
	} else {
		ps = &ctx->sps;
		(void)collab_ws_parser_init(ps, &ctx->pcfg[(c->flags & WF_CLIENT) ?
			COLLAB_WS_CLIENT : COLLAB_WS_SERVER]);
	}
	while (parsing(c)) {
		rc = collab_ws_parse(ps, p + off, n - off, &used, &ev);
		off += used;
		if (rc != 0) {
			if (rc == COLLAB_ECLOSED)
				break;
			if (c->flags & WF_CLOSE_QUEUED) {
				/* Already closing: stop reading, stop waiting. */
				c->flags |= WF_DISCARD | WF_NO_WAIT;
				wsc_report_close(c, COLLAB_WS_CLOSE_ABNORMAL,
						 (struct collab_str){ NULL, 0 }, rc, 0);
			} else {
				wsc_fail(c, collab_ws_parser_close_code(ps), rc);
			}
			break;
		}
		if (ev.type == COLLAB_WS_EV_NEED_MORE)
			break;
		switch (ev.type) {
		case COLLAB_WS_EV_DATA:
			if (ev.opcode != COLLAB_WS_OP_CONT && ev.fin &&
			    ev.len == ev.frame_len) {
				zc = ev.data; /* the whole message, in place */
				zlen = ev.len;
				break;
			}
			rx = rx_get(c, &ps);
			if (rx == NULL || collab_buf_append(&rx->msg, ev.data, ev.len)) {
				wsc_fail(c, COLLAB_WS_CLOSE_INTERNAL_ERROR, COLLAB_ENOMEM);
				goto out;
			}
			break;
		case COLLAB_WS_EV_MESSAGE_END:
			if (zc || !rx) {
				deliver(c, ev.msg_opcode, zc, zlen);
			} else {
				deliver(c, ev.msg_opcode, rx->msg.p, rx->msg.len);
				collab_buf_reset(&rx->msg);
			}
			zc = NULL;
			zlen = 0;
			break;
		case COLLAB_WS_EV_CONTROL:
			if (ev.opcode == COLLAB_WS_OP_PING) {
				/* RFC 6455 5.5.2: answer with the same payload,
				 * unless our close is already queued. */
				if (c->state == WSC_OPEN && !(c->flags & WF_CLOSE_QUEUED))
					(void)wsc_queue_control(c, COLLAB_WS_OP_PONG,
								ev.data, ev.len);
			} else if (ev.opcode == COLLAB_WS_OP_CLOSE) {
				on_peer_close(c, &ev);
			}
			/* A pong only proves the peer alive: last_rx. */
			break;
		default:
			break;
		}
	}
out:
	if (c->state == WSC_DEAD)
		return;
	rx = c->aux;
	if (rx == NULL && !collab_ws_parser_idle(ps) && parsing(c) &&
	    rx_get(c, &ps) == NULL)
		wsc_fail(c, COLLAB_WS_CLOSE_INTERNAL_ERROR, COLLAB_ENOMEM);
	rx = c->aux;
	if (rx && rx->msg.len == 0 && (collab_ws_parser_idle(&rx->ps) || !parsing(c)))
		wsc_rx_free(c);
}

static void process_input(struct collab_wsconn *c, uint8_t *p, size_t n)
{
	if (c->state == WSC_HANDSHAKE)
		wsc_hs_input(c, p, n);
	else if (parsing(c))
		wsc_ws_input(c, p, n);
	/* else: discarded (after an error, a response, in linger) */
}

/* ---- closing transitions --------------------------------------------------------- */

/* Our side of TCP is done: plain shuts down writing, TLS sends
 * close_notify; then input is drained to EOF (or the close timer). */
static void enter_linger(struct collab_wsconn *c)
{
	c->state = WSC_LINGER;
	c->flags |= WF_DISCARD;
	wsc_rx_free(c);
	if (c->tls) {
		c->flags |= WF_TLS_CLOSED;
		(void)collab_tls_close(c->tls);
	} else {
		(void)shutdown(c->io.fd, SHUT_WR);
	}
	if (c->flags & WF_EOF)
		wsc_teardown(c, 0);
}

/* TCP is shut down once nothing more is to be said: the close handshake
 * is done (ours sent, and the peer's received or not awaited), or the
 * HTTP response of a refused handshake is fully written. */
static void transitions(struct collab_wsconn *c)
{
	int close_done = c->state == WSC_CLOSING &&
		(c->flags & WF_CLOSE_SENT) &&
		(c->flags & (WF_CLOSE_RCVD | WF_NO_WAIT));
	int response_done = c->state == WSC_RESPONDING && c->tx == NULL;

	if (close_done || response_done)
		enter_linger(c);
}

static int flush_plain(struct collab_wsconn *c);

/* The peer's EOF (or a read error, err != 0). */
static void on_eof(struct collab_wsconn *c, int err)
{
	c->flags |= WF_EOF;
	if (c->state == WSC_LINGER) {
		wsc_teardown(c, 0);
		return;
	}
	if (c->state == WSC_CLOSING && (c->flags & WF_CLOSE_RCVD)) {
		/* Our reply may still be queued: one last try. */
		if (!c->tls)
			(void)flush_plain(c);
		wsc_teardown(c, 0);
		return;
	}
	wsc_teardown(c, err ? err : COLLAB_EIO);
}

/* ---- plain pump ---------------------------------------------------------------- */

/* Writes the queue with writev until it is empty or the socket is full.
 * Returns 0, or COLLAB_EIO. */
static int flush_plain(struct collab_wsconn *c)
{
	struct msghdr m;
	size_t cnt;
	ssize_t w;
	int round;

	for (round = 0; round < WSC_FLUSH_ROUNDS; round++) {
		if (c->tx == NULL || c->state == WSC_DEAD ||
		    c->state == WSC_CONNECTING)
			return 0;
		cnt = wsc_tx_segs(c);
		if (cnt == 0) {
			wsc_tx_release(c);
			c->flags &= ~WF_BLOCKED;
			return 0;
		}
		memset(&m, 0, sizeof(m));
		m.msg_iov = ctx_of(c)->iov;
		m.msg_iovlen = cnt;
		w = sendmsg(c->io.fd, &m, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->flags |= WF_BLOCKED;
				return 0;
			}
			return COLLAB_EIO;
		}
		c->flags &= ~WF_BLOCKED;
		wsc_tx_advance(c, cnt, (size_t)w);
		wsc_after_write(c);
		transitions(c);
	}
	/* Capped with the socket still taking bytes: come back via EPOLLOUT. */
	if (c->tx && c->state != WSC_DEAD)
		c->flags |= WF_BLOCKED;
	return 0;
}

static int wants_read(const struct collab_wsconn *c)
{
	return c->state != WSC_CONNECTING && c->state != WSC_DEAD &&
		!(c->flags & (WF_EOF | WF_DEAD_PENDING));
}

static void pump_plain(struct collab_wsconn *c, unsigned events)
{
	struct collab_wsctx *ctx = ctx_of(c);
	size_t budget = ctx->cfg.max_read_per_wakeup, want;
	ssize_t n;

	if (c->state == WSC_CONNECTING) {
		if (!events)
			return;
		wsc_connect_done(c);
		if (c->state != WSC_HANDSHAKE)
			return;
		events |= COLLAB_LOOP_READ;
	}
	if (flush_plain(c) != 0) {
		wsc_teardown(c, COLLAB_EIO);
		return;
	}
	transitions(c);
	while ((events & COLLAB_LOOP_READ) && budget > 0 && wants_read(c)) {
		want = budget < ctx->cfg.scratch_bytes ? budget : ctx->cfg.scratch_bytes;
		n = recv(c->io.fd, ctx->scratch, want, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				on_eof(c, COLLAB_EIO);
			break;
		}
		if (n == 0) {
			on_eof(c, 0);
			break;
		}
		budget -= (size_t)n;
		c->last_rx = collab_loop_now(ctx->loop);
		process_input(c, ctx->scratch, (size_t)n);
		if (flush_plain(c) != 0) {
			wsc_teardown(c, COLLAB_EIO);
			return;
		}
		transitions(c);
	}
}

/* ---- TLS pump -------------------------------------------------------------------- */

/* Moves queued bytes into the engine. Returns the bytes taken. */
static size_t feed_tls(struct collab_wsconn *c)
{
	size_t cnt, i, taken, total = 0;
	const struct iovec *iov;
	int rc;

	if (c->tx == NULL || (c->flags & WF_TLS_CLOSED))
		return 0;
	cnt = wsc_tx_segs(c);
	iov = ctx_of(c)->iov;
	for (i = 0; i < cnt; i++) {
		rc = collab_tls_send_app(c->tls, iov[i].iov_base, iov[i].iov_len,
					 &taken);
		if (rc != 0 || taken == 0)
			break;
		wsc_tx_advance_one(c, ctx_of(c)->iokind[i], taken);
		total += taken;
		if (taken < iov[i].iov_len)
			break;
	}
	if (total) {
		(void)collab_tls_flush_app(c->tls);
		wsc_after_write(c);
	}
	return total;
}

static int tls_plaintext(struct collab_wsconn *c)
{
	const uint8_t *p;
	size_t len;

	return collab_tls_recv_app(c->tls, &p, &len) == 0 && len > 0;
}

/* Returns 1 when work is left that epoll will not announce (plaintext
 * waiting in the engine, queue not yet moved in). */
static int pump_tls(struct collab_wsconn *c, unsigned events)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct collab_tls_conn *t = c->tls;
	size_t budget = ctx->cfg.max_read_per_wakeup, k, len;
	const uint8_t *p;
	int round, progress, rc;

	if (c->state == WSC_CONNECTING) {
		if (!events)
			return 0;
		wsc_connect_done(c);
		if (c->state != WSC_HANDSHAKE)
			return 0;
	}
	for (round = 0; round < WSC_TLS_ROUNDS; round++) {
		progress = 0;
		/* 1: send pending records */
		if (collab_tls_flush_socket(t, c->io.fd) < 0)
			goto failed;
		/* 2: received plaintext to the parser */
		while (budget > 0 && c->state != WSC_DEAD &&
		       !(c->flags & WF_DEAD_PENDING)) {
			if (collab_tls_recv_app(t, &p, &len) != 0)
				goto failed;
			if (len == 0)
				break;
			k = len < ctx->cfg.scratch_bytes ? len : ctx->cfg.scratch_bytes;
			if (k > budget)
				k = budget;
			memcpy(ctx->scratch, p, k);
			collab_tls_recv_ack(t, k);
			budget -= k;
			c->last_rx = collab_loop_now(ctx->loop);
			progress = 1;
			process_input(c, ctx->scratch, k);
		}
		if (c->state == WSC_DEAD || (c->flags & WF_DEAD_PENDING))
			return 0;
		/* 3: queued frames into the engine */
		if (feed_tls(c))
			progress = 1;
		transitions(c);
		if (c->state == WSC_DEAD || (c->flags & WF_DEAD_PENDING))
			return 0;
		if (collab_tls_flush_socket(t, c->io.fd) < 0)
			goto failed;
		/* 4: read from the socket */
		if (budget > 0) {
			rc = collab_tls_fill_socket(t, c->io.fd);
			if (rc < 0)
				goto failed;
		}
		if (collab_tls_state(t) == COLLAB_TLS_CLOSED) {
			/* close_notify exchanged (or EOF after ours). */
			(void)collab_tls_flush_socket(t, c->io.fd);
			on_eof(c, 0);
			return 0;
		}
		if (tls_plaintext(c))
			progress = 1;
		if (!progress)
			break;
	}
	return tls_plaintext(c) ||
		(c->tx && !(c->flags & WF_TLS_CLOSED) && wsc_tx_segs(c) &&
		 collab_tls_want(t) == COLLAB_TLS_WANT_READ &&
		 collab_tls_handshake_done(t));
failed:
	rc = collab_tls_error(t);
	if (c->state == WSC_LINGER ||
	    (c->state == WSC_CLOSING && (c->flags & WF_CLOSE_RCVD) &&
	     (c->flags & WF_CLOSE_SENT)))
		wsc_teardown(c, 0);
	else
		wsc_teardown(c, rc == COLLAB_EIO ? COLLAB_EIO : COLLAB_ETLS);
	return 0;
}

/* ---- the pump ---------------------------------------------------------------------- */

static void update_interest(struct collab_wsconn *c)
{
	struct collab_wsctx *ctx = ctx_of(c);
	unsigned mask, w;

	if (c->state == WSC_CONNECTING) {
		mask = COLLAB_LOOP_WRITE;
	} else if (c->tls) {
		/* From the engine, after every pump (tls.h). */
		w = collab_tls_want(c->tls);
		mask = (w & COLLAB_TLS_WANT_READ ? COLLAB_LOOP_READ : 0u) |
			(w & COLLAB_TLS_WANT_WRITE ? COLLAB_LOOP_WRITE : 0u);
	} else {
		mask = (c->flags & WF_EOF ? 0u : COLLAB_LOOP_READ) |
			(c->flags & WF_BLOCKED ? COLLAB_LOOP_WRITE : 0u);
	}
	if (collab_loop_io_modify(ctx->loop, &c->io, mask) != 0)
		wsc_teardown(c, COLLAB_EIO);
}

void wsc_pump(struct collab_wsconn *c, unsigned events)
{
	int again = 0;

	struct collab_wsctx *ctx = ctx_of(c);

	if (c->state == WSC_DEAD || (c->flags & WF_IN_PUMP))
		return;
	if (ctx->pumping) {
		/* Another connection's pump is running (this is one of its
		 * callbacks): the scratch buffer is in use. Later. */
		wsc_schedule(c);
		return;
	}
	ctx->pumping = 1;
	c->flags |= WF_IN_PUMP;
	if (c->tls)
		again = pump_tls(c, events);
	else
		pump_plain(c, events);
	c->flags &= ~WF_IN_PUMP;
	ctx->pumping = 0;
	if (c->flags & WF_DEAD_PENDING) {
		wsc_teardown(c, 0);
		return;
	}
	update_interest(c);
	if (again && c->state != WSC_DEAD)
		wsc_schedule(c);
}

void wsc_on_io(struct collab_loop *loop, struct collab_io *io, unsigned ev)
{
	(void)loop;
	wsc_pump((struct collab_wsconn *)(void *)io, ev);
}
