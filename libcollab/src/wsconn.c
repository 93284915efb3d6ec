/*
 * wsconn.c - the per-loop context of WebSocket connections: the slot table
 * behind the handles, the one timer per connection, closing and teardown,
 * and the functions that act on a connection by handle.
 *
 * A connection's life: wsc_new() (accept or connect) -> HANDSHAKE ->
 * OPEN (wsc_open) -> CLOSING (a close frame queued or received) -> LINGER
 * (our side of TCP shut down, input drained to EOF) -> DEAD (finalize:
 * socket closed, memory freed, slot generation bumped). Any state may go
 * straight to DEAD (wsc_teardown). A connection whose pump is running (its
 * callbacks included) is never freed under it: teardown then only marks
 * it, and the pump frees it when it unwinds.
 */
#include "wsconn_int.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The idle-connection budget (wsconn.h): keep the struct within it. */
_Static_assert(sizeof(struct collab_wsconn) <= COLLAB_WSCONN_IDLE_BYTES,
	       "struct collab_wsconn outgrew COLLAB_WSCONN_IDLE_BYTES");

struct wsc_slot {
	struct collab_wsconn *c;  /* NULL while free */
	uint32_t gen;
	uint32_t next_free;
};

#define NO_SLOT UINT32_MAX
#define SLOT_MIN_CAP 64u
#define USER_ALIGN 16u
#define IOV_LIMIT 1024u /* Linux IOV_MAX */

/* ---- allocation helpers -------------------------------------------------- */

void *wsc_alloc(struct collab_wsctx *ctx, size_t n)
{
	return ctx->a->alloc(ctx->a->ctx, n);
}

void wsc_free(struct collab_wsctx *ctx, void *p, size_t n)
{
	if (p)
		ctx->a->free(ctx->a->ctx, p, n);
}

size_t wsc_user_off(void)
{
	return (sizeof(struct collab_wsconn) + USER_ALIGN - 1) & ~(size_t)(USER_ALIGN - 1);
}

size_t wsc_conn_size(const struct collab_wsctx *ctx)
{
	return ctx->cfg.user_size ? wsc_user_off() + ctx->cfg.user_size
				  : sizeof(struct collab_wsconn);
}

/* RFC 6455 10.3: masking keys come from a strong source. One DRBG call
 * yields 64 of them. */
int wsc_mask_key(struct collab_wsctx *ctx, uint8_t key[4])
{
	if (ctx->maskpos + 4 > sizeof(ctx->maskpool)) {
		if (collab_rng_bytes(ctx->rng, ctx->maskpool,
				     sizeof(ctx->maskpool)) != 0)
			return COLLAB_ERANDOM;
		ctx->maskpos = 0;
	}
	memcpy(key, ctx->maskpool + ctx->maskpos, 4);
	/* Used key bytes are not kept around. */
	memset(ctx->maskpool + ctx->maskpos, 0, 4);
	ctx->maskpos += 4;
	return 0;
}

/* ---- configuration and context ------------------------------------------- */

void collab_wsctx_config_init(struct collab_wsctx_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->scratch_bytes = COLLAB_WSCONN_SCRATCH_BYTES;
	cfg->handshake_timeout_ms = COLLAB_WSCONN_HANDSHAKE_MS;
	cfg->max_head_bytes = COLLAB_HTTP_DEFAULT_MAX_HEAD_BYTES;
	cfg->max_headers = COLLAB_HTTP_DEFAULT_MAX_HEADERS;
	cfg->server_max_message = COLLAB_WSCONN_SERVER_MAX_MESSAGE;
	cfg->client_max_message = COLLAB_WSCONN_CLIENT_MAX_MESSAGE;
	cfg->queue_limit = COLLAB_WSCONN_QUEUE_LIMIT;
	cfg->low_water = COLLAB_WSCONN_LOW_WATER;
	cfg->ping_interval_ms = COLLAB_WSCONN_PING_MS;
	cfg->idle_timeout_ms = COLLAB_WSCONN_IDLE_MS;
	cfg->close_timeout_ms = COLLAB_WSCONN_CLOSE_MS;
	cfg->max_read_per_wakeup = COLLAB_WSCONN_READ_PER_WAKEUP;
	cfg->max_iov = COLLAB_WSCONN_MAX_IOV;
	cfg->max_accept_per_wakeup = COLLAB_WSCONN_ACCEPT_PER_WAKEUP;
	cfg->accept_retry_ms = COLLAB_WSCONN_ACCEPT_RETRY_MS;
	cfg->tx_pool_max = COLLAB_WSCONN_TX_POOL_MAX;
}

/* Every client_bind entry names an IPv4 or IPv6 address. */
static int bind_list_ok(const struct collab_wsctx_config *c)
{
	size_t i;

	if (c->n_client_bind && c->client_bind == NULL)
		return 0;
	for (i = 0; i < c->n_client_bind; i++)
		if (c->client_bind[i].ss_family != AF_INET &&
		    c->client_bind[i].ss_family != AF_INET6)
			return 0;
	return 1;
}

static int config_ok(const struct collab_wsctx_config *c)
{
	return bind_list_ok(c) &&
		c->scratch_bytes >= 4096 && c->handshake_timeout_ms > 0 &&
		c->max_head_bytes >= 64 && c->max_headers >= 1 &&
		c->max_headers <= 4096 && c->server_max_message > 0 &&
		c->client_max_message > 0 && c->queue_limit > 0 &&
		c->low_water < c->queue_limit && c->close_timeout_ms > 0 &&
		c->max_read_per_wakeup > 0 && c->max_iov >= 1 &&
		c->max_iov <= IOV_LIMIT && c->max_accept_per_wakeup > 0 &&
		c->user_size <= ((size_t)1 << 20);
}

static void on_pend_timer(struct collab_loop *loop, struct collab_timer *t)
{
	(void)loop;
	collab_wsctx_flush(t->ctx);
}

int collab_wsctx_init(struct collab_wsctx *ctx, struct collab_loop *loop,
		      const struct collab_wsctx_config *cfg)
{
	int rc;

	memset(ctx, 0, sizeof(*ctx));
	if (cfg)
		ctx->cfg = *cfg;
	else
		collab_wsctx_config_init(&ctx->cfg);
	if (!config_ok(&ctx->cfg))
		return COLLAB_EINVAL;
	ctx->loop = loop;
	ctx->a = ctx->cfg.alloc ? ctx->cfg.alloc : loop->cfg.alloc;
	if (ctx->a == NULL)
		ctx->a = collab_alloc_default();
	ctx->free_slot = NO_SLOT;
	ctx->pcfg[COLLAB_WS_SERVER].role = COLLAB_WS_SERVER;
	ctx->pcfg[COLLAB_WS_SERVER].max_frame_payload = ctx->cfg.server_max_message;
	ctx->pcfg[COLLAB_WS_SERVER].max_message_size = ctx->cfg.server_max_message;
	ctx->pcfg[COLLAB_WS_CLIENT].role = COLLAB_WS_CLIENT;
	ctx->pcfg[COLLAB_WS_CLIENT].max_frame_payload = ctx->cfg.client_max_message;
	ctx->pcfg[COLLAB_WS_CLIENT].max_message_size = ctx->cfg.client_max_message;
	collab_loop_timer_init(&ctx->pend_timer, on_pend_timer, ctx);
	ctx->maskpos = sizeof(ctx->maskpool);

	rc = COLLAB_ENOMEM;
	ctx->scratch = wsc_alloc(ctx, ctx->cfg.scratch_bytes);
	ctx->hdrs = wsc_alloc(ctx, ctx->cfg.max_headers * sizeof(*ctx->hdrs));
	ctx->iov = wsc_alloc(ctx, ctx->cfg.max_iov * sizeof(struct iovec));
	ctx->iokind = wsc_alloc(ctx, ctx->cfg.max_iov);
	if (!ctx->scratch || !ctx->hdrs || !ctx->iov || !ctx->iokind)
		goto fail;
	if (ctx->cfg.rng) {
		ctx->rng = ctx->cfg.rng;
	} else {
		rc = collab_rng_init(&ctx->own_rng);
		if (rc != 0)
			goto fail;
		ctx->rng = &ctx->own_rng;
	}
	ctx->ready = 1;
	return 0;
fail:
	wsc_free(ctx, ctx->scratch, ctx->cfg.scratch_bytes);
	wsc_free(ctx, ctx->hdrs, ctx->cfg.max_headers * sizeof(*ctx->hdrs));
	wsc_free(ctx, ctx->iov, ctx->cfg.max_iov * sizeof(struct iovec));
	wsc_free(ctx, ctx->iokind, ctx->cfg.max_iov);
	memset(ctx, 0, sizeof(*ctx));
	return rc;
}

void collab_wsctx_free(struct collab_wsctx *ctx)
{
	if (ctx == NULL || !ctx->ready)
		return;
	collab_wsctx_drop_all(ctx);
	collab_loop_timer_cancel(ctx->loop, &ctx->pend_timer);
	wsc_tx_pool_free(ctx);
	wsc_free(ctx, ctx->slots, (size_t)ctx->slot_cap * sizeof(struct wsc_slot));
	wsc_free(ctx, ctx->pend, ctx->pend_cap * sizeof(*ctx->pend));
	wsc_free(ctx, ctx->scratch, ctx->cfg.scratch_bytes);
	wsc_free(ctx, ctx->hdrs, ctx->cfg.max_headers * sizeof(*ctx->hdrs));
	wsc_free(ctx, ctx->iov, ctx->cfg.max_iov * sizeof(struct iovec));
	wsc_free(ctx, ctx->iokind, ctx->cfg.max_iov);
	explicit_bzero(ctx->maskpool, sizeof(ctx->maskpool));
	if (ctx->rng == &ctx->own_rng)
		collab_rng_wipe(&ctx->own_rng);
	memset(ctx, 0, sizeof(*ctx));
}

size_t collab_wsctx_count(const struct collab_wsctx *ctx)
{
	return ctx->count;
}

/* ---- slots ----------------------------------------------------------------- */

static int slot_take(struct collab_wsctx *ctx, uint32_t *out)
{
	struct wsc_slot *s = ctx->slots, *ns;
	uint32_t i, cap;

	if (ctx->free_slot != NO_SLOT) {
		i = ctx->free_slot;
		ctx->free_slot = s[i].next_free;
		*out = i;
		return 0;
	}
	if (ctx->nslots == ctx->slot_cap) {
		if (ctx->slot_cap > (NO_SLOT - 1) / 2)
			return COLLAB_ENOMEM;
		cap = ctx->slot_cap ? ctx->slot_cap * 2 : SLOT_MIN_CAP;
		ns = wsc_alloc(ctx, (size_t)cap * sizeof(*ns));
		if (ns == NULL)
			return COLLAB_ENOMEM;
		if (ctx->nslots)
			memcpy(ns, s, (size_t)ctx->nslots * sizeof(*ns));
		wsc_free(ctx, s, (size_t)ctx->slot_cap * sizeof(*ns));
		ctx->slots = s = ns;
		ctx->slot_cap = cap;
	}
	i = ctx->nslots++;
	s[i].c = NULL;
	s[i].gen = 1;
	s[i].next_free = NO_SLOT;
	*out = i;
	return 0;
}

static void slot_release(struct collab_wsctx *ctx, uint32_t i)
{
	struct wsc_slot *s = ctx->slots;

	s[i].c = NULL;
	/* A new generation: every handle of the old connection is stale. */
	if (++s[i].gen == 0)
		s[i].gen = 1;
	s[i].next_free = ctx->free_slot;
	ctx->free_slot = i;
}

struct collab_wsconn *collab_wsconn_get(struct collab_wsctx *ctx,
					struct collab_wsconn_handle h)
{
	struct wsc_slot *s;

	if (ctx == NULL || h.slot >= ctx->nslots || h.gen == 0)
		return NULL;
	s = (struct wsc_slot *)ctx->slots + h.slot;
	if (s->gen != h.gen || s->c == NULL || s->c->state == WSC_DEAD)
		return NULL;
	return s->c;
}

/* ---- life cycle -------------------------------------------------------------- */

struct collab_wsconn *wsc_new(struct collab_wsctx *ctx, int fd,
			      const struct collab_wsconn_handlers *hd,
			      int client)
{
	struct collab_wsconn *c;
	uint32_t slot;

	if (slot_take(ctx, &slot) != 0)
		return NULL;
	c = wsc_alloc(ctx, wsc_conn_size(ctx));
	if (c == NULL) {
		slot_release(ctx, slot);
		return NULL;
	}
	memset(c, 0, wsc_conn_size(ctx));
	collab_loop_io_init(&c->io, fd, wsc_on_io, ctx);
	collab_loop_timer_init(&c->timer, wsc_on_timer, ctx);
	c->hd = hd;
	c->slot = slot;
	c->gen = ((struct wsc_slot *)ctx->slots)[slot].gen;
	((struct wsc_slot *)ctx->slots)[slot].c = c;
	c->flags = client ? WF_CLIENT : 0;
	c->state = client ? WSC_CONNECTING : WSC_HANDSHAKE;
	c->last_rx = collab_loop_now(ctx->loop);
	ctx->count++;
	return c;
}

static struct collab_wsctx *ctx_of(const struct collab_wsconn *c)
{
	return c->io.ctx;
}

void wsc_free_aux(struct collab_wsconn *c)
{
	if (c->aux == NULL)
		return;
	if (c->flags & WF_AUX_HS)
		wsc_hs_free(c);
	else
		wsc_rx_free(c);
}

static void finalize(struct collab_wsconn *c)
{
	struct collab_wsctx *ctx = ctx_of(c);

	if (c->io.fd >= 0) {
		collab_loop_io_remove(ctx->loop, &c->io);
		close(c->io.fd);
		c->io.fd = -1;
	}
	collab_loop_timer_cancel(ctx->loop, &c->timer);
	wsc_tx_free(c);
	wsc_free_aux(c);
	if (c->tls) {
		collab_tls_conn_free(c->tls);
		wsc_free(ctx, c->tls, sizeof(*c->tls));
		c->tls = NULL;
	}
	slot_release(ctx, c->slot);
	ctx->count--;
	wsc_free(ctx, c, wsc_conn_size(ctx));
}

void wsc_report_close(struct collab_wsconn *c, uint16_t code,
		      struct collab_str reason, int err, unsigned http_status)
{
	struct collab_wsconn_close_info ci;

	if (c->flags & WF_REPORTED)
		return;
	if (!(c->flags & (WF_OPENED | WF_CLIENT)))
		return;
	c->flags |= WF_REPORTED;
	if (c->hd == NULL || c->hd->on_close == NULL)
		return;
	ci.code = code;
	ci.reason = reason;
	ci.sent_code = c->sent_code;
	ci.err = err;
	ci.http_status = (c->flags & WF_OPENED) ? 101 : http_status;
	c->hd->on_close(c, &ci);
}

void wsc_teardown(struct collab_wsconn *c, int err)
{
	if (c->state != WSC_DEAD) {
		c->state = WSC_DEAD;
		wsc_report_close(c, COLLAB_WS_CLOSE_ABNORMAL,
				 (struct collab_str){ NULL, 0 }, err, 0);
	}
	if (c->flags & WF_IN_PUMP) {
		c->flags |= WF_DEAD_PENDING;
		return;
	}
	finalize(c);
}

void wsc_open(struct collab_wsconn *c, struct collab_str proto)
{
	c->state = WSC_OPEN;
	c->last_rx = collab_loop_now(ctx_of(c)->loop);
	if (wsc_arm(c) != 0) {
		wsc_teardown(c, COLLAB_ENOMEM);
		return;
	}
	c->flags |= WF_OPENED;
	if (c->hd && c->hd->on_open)
		c->hd->on_open(c, proto);
}

/* ---- timers ------------------------------------------------------------------ */

/* Arms the one timer for the state's next deadline. OPEN: the next ping
 * (every ping interval counted from the last read) or the idle deadline,
 * whichever is first; reads only store last_rx, so a busy connection
 * never touches the heap. */
int wsc_arm(struct collab_wsconn *c)
{
	struct collab_wsctx *ctx = ctx_of(c);
	const struct collab_wsctx_config *cfg = &ctx->cfg;
	uint64_t now = collab_loop_now(ctx->loop), d = UINT64_MAX, since, k;

	switch (c->state) {
	case WSC_OPEN:
		since = now > c->last_rx ? now - c->last_rx : 0;
		if (cfg->ping_interval_ms) {
			k = since / cfg->ping_interval_ms + 1;
			if (k <= (UINT64_MAX - c->last_rx) / cfg->ping_interval_ms)
				d = c->last_rx + k * cfg->ping_interval_ms;
		}
		if (cfg->idle_timeout_ms &&
		    cfg->idle_timeout_ms <= UINT64_MAX - c->last_rx &&
		    c->last_rx + cfg->idle_timeout_ms < d)
			d = c->last_rx + cfg->idle_timeout_ms;
		break;
	case WSC_CONNECTING:
	case WSC_HANDSHAKE:
		d = cfg->handshake_timeout_ms <= UINT64_MAX - now ?
			now + cfg->handshake_timeout_ms : UINT64_MAX;
		break;
	default:
		d = cfg->close_timeout_ms <= UINT64_MAX - now ?
			now + cfg->close_timeout_ms : UINT64_MAX;
		break;
	}
	if (d == UINT64_MAX) {
		collab_loop_timer_cancel(ctx->loop, &c->timer);
		return 0;
	}
	/* Re-arming an armed timer never allocates; arming an unarmed one
	 * after it fired reuses the heap entry it left. */
	return collab_loop_timer_arm_at(ctx->loop, &c->timer, d);
}

void wsc_set_closing(struct collab_wsconn *c)
{
	if (c->state == WSC_CLOSING || c->state == WSC_LINGER ||
	    c->state == WSC_DEAD)
		return;
	c->state = WSC_CLOSING;
	/* The timer is armed in every earlier state but an OPEN one without
	 * ping or idle deadlines; if its heap slot cannot be had then, the
	 * close handshake is bounded by the peer alone. */
	(void)wsc_arm(c);
}

void wsc_on_timer(struct collab_loop *loop, struct collab_timer *t)
{
	struct collab_wsconn *c = (struct collab_wsconn *)(void *)
		((char *)t - offsetof(struct collab_wsconn, timer));
	const struct collab_wsctx_config *cfg = &((struct collab_wsctx *)t->ctx)->cfg;
	uint64_t now = collab_loop_now(loop);
	uint64_t since = now > c->last_rx ? now - c->last_rx : 0;

	switch (c->state) {
	case WSC_OPEN:
		if (cfg->idle_timeout_ms && since >= cfg->idle_timeout_ms) {
			/* PROTOCOL.md 2: nothing received for the idle time:
			 * close 1000 if the socket takes it, then TCP. */
			c->flags |= WF_IN_PUMP;
			wsc_fail(c, COLLAB_WS_CLOSE_NORMAL, COLLAB_ETIMEDOUT);
			c->flags &= ~WF_IN_PUMP;
			if (c->flags & WF_DEAD_PENDING) {
				finalize(c);
				return;
			}
			wsc_pump(c, 0);
			return;
		}
		if (cfg->ping_interval_ms && since >= cfg->ping_interval_ms)
			(void)wsc_queue_control(c, COLLAB_WS_OP_PING, NULL, 0);
		/* The timer just left the heap: re-arming cannot allocate. */
		(void)wsc_arm(c);
		wsc_pump(c, 0);
		return;
	case WSC_DEAD:
		return;
	default:
		/* Handshake, response, close handshake or linger ran out;
		 * past the close timeout, what is unsent is dropped (RST). */
		if (c->state != WSC_CONNECTING && c->state != WSC_HANDSHAKE)
			wsc_reset_on_close(c);
		wsc_teardown(c, COLLAB_ETIMEDOUT);
		return;
	}
}

/*
 * The library fails the connection (RFC 6455 7.1.7): reports it, queues a
 * close frame with code after what is queued, stops reading frames, and
 * does not wait for the peer's close: once the frame is out, TCP is shut.
 */
void wsc_fail(struct collab_wsconn *c, uint16_t code, int err)
{
	if (c->state == WSC_DEAD)
		return;
	c->flags |= WF_DISCARD | WF_NO_WAIT;
	if (!(c->flags & WF_CLOSE_QUEUED) &&
	    wsc_queue_close(c, code, NULL, 0) != 0) {
		wsc_teardown(c, err);
		return;
	}
	wsc_set_closing(c);
	wsc_report_close(c, COLLAB_WS_CLOSE_ABNORMAL, (struct collab_str){ NULL, 0 },
			 err, 0);
}

/* ---- batching sends made outside a pump ----------------------------------------- */

void wsc_schedule(struct collab_wsconn *c)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct collab_wsconn_handle *np;
	size_t cap;

	if (c->flags & (WF_IN_PUMP | WF_PENDING) || c->state == WSC_DEAD)
		return;
	if (ctx->pend_len == ctx->pend_cap) {
		cap = ctx->pend_cap ? ctx->pend_cap * 2 : 64;
		np = cap <= SIZE_MAX / sizeof(*np) ? wsc_alloc(ctx, cap * sizeof(*np)) : NULL;
		if (np == NULL) {
			/* Cannot list it: let epoll call back as soon as the
			 * socket is writable, which it is, unless full. */
			c->flags |= WF_BLOCKED;
			if (collab_loop_io_modify(ctx->loop, &c->io,
						  c->io.mask | COLLAB_LOOP_WRITE) != 0)
				wsc_teardown(c, COLLAB_EIO);
			return;
		}
		if (ctx->pend_len)
			memcpy(np, ctx->pend, ctx->pend_len * sizeof(*np));
		wsc_free(ctx, ctx->pend, ctx->pend_cap * sizeof(*np));
		ctx->pend = np;
		ctx->pend_cap = cap;
	}
	ctx->pend[ctx->pend_len].slot = c->slot;
	ctx->pend[ctx->pend_len].gen = c->gen;
	ctx->pend_len++;
	c->flags |= WF_PENDING;
	/* Fires in this turn's timer phase (or the next turn's, without
	 * waiting in epoll). The timer's heap slot: if it cannot be had, the
	 * flush happens at the connection's next event or collab_wsctx_flush. */
	if (!collab_loop_timer_armed(&ctx->pend_timer))
		(void)collab_loop_timer_arm(ctx->loop, &ctx->pend_timer, 0);
}

void collab_wsctx_flush(struct collab_wsctx *ctx)
{
	size_t i, n = ctx->pend_len;

	/* From a callback inside a pump: the scratch buffer and parser are
	 * in use; the pending timer flushes later in this turn. */
	if (ctx->pumping)
		return;
	/* Only what was pending on entry: a connection that asks again
	 * (TLS plaintext left at its read cap) waits for the next round, so
	 * one busy peer cannot hold the loop here. Pumps may append: the
	 * array may grow and move, so walk it by index. */
	for (i = 0; i < n; i++) {
		struct collab_wsconn *c = collab_wsconn_get(ctx, ctx->pend[i]);

		if (c == NULL)
			continue;
		c->flags &= ~WF_PENDING;
		wsc_pump(c, 0);
	}
	if (ctx->pend_len > n)
		memmove(ctx->pend, ctx->pend + n,
			(ctx->pend_len - n) * sizeof(*ctx->pend));
	ctx->pend_len -= n;
	if (ctx->pend_len == 0)
		collab_loop_timer_cancel(ctx->loop, &ctx->pend_timer);
	else if (!collab_loop_timer_armed(&ctx->pend_timer))
		(void)collab_loop_timer_arm(ctx->loop, &ctx->pend_timer, 0);
}

/* ---- accessors ---------------------------------------------------------------- */

struct collab_wsconn_handle collab_wsconn_handle(const struct collab_wsconn *c)
{
	struct collab_wsconn_handle h = { c->slot, c->gen };

	return h;
}

struct collab_wsctx *collab_wsconn_ctx(const struct collab_wsconn *c)
{
	return ctx_of(c);
}

void *collab_wsconn_app(const struct collab_wsconn *c)
{
	return c->hd ? c->hd->ctx : NULL;
}

void *collab_wsconn_user(struct collab_wsconn *c)
{
	if (ctx_of(c)->cfg.user_size == 0)
		return NULL;
	return (char *)c + wsc_user_off();
}

int collab_wsconn_fd(const struct collab_wsconn *c)
{
	return c->io.fd;
}

int collab_wsconn_is_tls(const struct collab_wsconn *c)
{
	return c->tls != NULL;
}

/* ---- by handle ------------------------------------------------------------------ */

/* The connection if data may be sent on it, else NULL and *rc why. */
static struct collab_wsconn *sendable(struct collab_wsctx *ctx,
				      struct collab_wsconn_handle h, int *rc)
{
	struct collab_wsconn *c = collab_wsconn_get(ctx, h);

	*rc = 0;
	if (c == NULL) {
		*rc = COLLAB_ECLOSED;
		return NULL;
	}
	if (c->state < WSC_OPEN) {
		*rc = COLLAB_ESTATE;
		return NULL;
	}
	if (c->state != WSC_OPEN || (c->flags & WF_CLOSE_QUEUED)) {
		*rc = COLLAB_ECLOSED;
		return NULL;
	}
	return c;
}

int collab_wsconn_send_frame(struct collab_wsctx *ctx,
			     struct collab_wsconn_handle h,
			     enum collab_ws_opcode op, int fin,
			     const void *p, size_t len)
{
	int rc;
	struct collab_wsconn *c = sendable(ctx, h, &rc);

	if (c == NULL)
		return rc;
	if (op != COLLAB_WS_OP_TEXT && op != COLLAB_WS_OP_BINARY &&
	    op != COLLAB_WS_OP_CONT)
		return COLLAB_EINVAL;
	if (p == NULL && len > 0)
		return COLLAB_EINVAL;
	rc = wsc_queue_frame(c, op, fin, p, len);
	if (rc == 0)
		wsc_schedule(c);
	return rc;
}

int collab_wsconn_send(struct collab_wsctx *ctx, struct collab_wsconn_handle h,
		       enum collab_ws_opcode op, const void *p, size_t len)
{
	if (op == COLLAB_WS_OP_CONT)
		return COLLAB_EINVAL;
	return collab_wsconn_send_frame(ctx, h, op, 1, p, len);
}

int collab_wsconn_send_shared(struct collab_wsctx *ctx,
			      struct collab_wsconn_handle h,
			      struct collab_shbuf *sb)
{
	int rc;
	struct collab_wsconn *c = sendable(ctx, h, &rc);
	size_t used;

	if (c == NULL)
		return rc;
	/* RFC 6455 5.1: a client masks every frame, each with its own key,
	 * so a client's frames cannot be shared. */
	if ((c->flags & WF_CLIENT) || sb == NULL || sb->len == 0)
		return COLLAB_EINVAL;
	/* A shared frame MUST NOT land inside our open fragmented message. */
	if (c->flags & WF_OUT_MSG)
		return COLLAB_ESTATE;
	used = c->tx ? c->tx->bytes : 0;
	if (used > ctx->cfg.queue_limit || sb->len > ctx->cfg.queue_limit - used)
		return COLLAB_EQUEUE;
	rc = wsc_tx_push(c, sb, 0, sb->len, 0);
	if (rc != 0)
		return rc;
	collab_shbuf_ref(sb);
	wsc_schedule(c);
	return 0;
}

int collab_wsconn_ping(struct collab_wsctx *ctx, struct collab_wsconn_handle h,
		       const void *p, size_t len)
{
	int rc;
	struct collab_wsconn *c = sendable(ctx, h, &rc);

	if (c == NULL)
		return rc;
	if (len > COLLAB_WS_MAX_CONTROL || (p == NULL && len > 0))
		return COLLAB_EINVAL;
	rc = wsc_queue_control(c, COLLAB_WS_OP_PING, p, len);
	if (rc == 0)
		wsc_schedule(c);
	return rc;
}

size_t collab_wsconn_queued(struct collab_wsctx *ctx,
			    struct collab_wsconn_handle h)
{
	struct collab_wsconn *c = collab_wsconn_get(ctx, h);

	return c && c->tx ? c->tx->bytes : 0;
}

static int close_common(struct collab_wsctx *ctx, struct collab_wsconn_handle h,
			uint16_t code, const void *reason, size_t reason_len,
			int discard)
{
	struct collab_wsconn *c = collab_wsconn_get(ctx, h);
	uint8_t tmp[COLLAB_WS_MAX_CONTROL];
	int rc;

	if (c == NULL)
		return COLLAB_ECLOSED;
	if (c->state < WSC_OPEN)
		return COLLAB_ESTATE;
	/* Checks code and reason before anything changes. */
	rc = collab_ws_close_payload_encode(tmp, sizeof(tmp), code, reason,
					    reason_len);
	if (rc < 0)
		return rc;
	if (discard)
		wsc_tx_discard(c);
	if (c->state != WSC_OPEN || (c->flags & WF_CLOSE_QUEUED)) {
		if (discard)
			wsc_schedule(c);
		return 0;
	}
	rc = wsc_queue_close(c, code, reason, reason_len);
	if (rc != 0) {
		wsc_teardown(c, rc);
		return rc;
	}
	wsc_set_closing(c);
	if (discard) {
		/* A slow consumer (PROTOCOL.md 6): its input no longer
		 * matters and its reply is not awaited; TCP is shut once the
		 * close frame is out, or at the close timeout. */
		c->flags |= WF_DISCARD | WF_NO_WAIT;
		wsc_report_close(c, COLLAB_WS_CLOSE_ABNORMAL,
				 (struct collab_str){ NULL, 0 }, COLLAB_ECLOSED, 0);
	}
	wsc_schedule(c);
	return 0;
}

int collab_wsconn_close(struct collab_wsctx *ctx, struct collab_wsconn_handle h,
			uint16_t code, const void *reason, size_t reason_len)
{
	return close_common(ctx, h, code, reason, reason_len, 0);
}

int collab_wsconn_abort(struct collab_wsctx *ctx, struct collab_wsconn_handle h,
			uint16_t code)
{
	return close_common(ctx, h, code, NULL, 0, 1);
}

void collab_wsconn_drop(struct collab_wsctx *ctx, struct collab_wsconn_handle h)
{
	struct collab_wsconn *c = collab_wsconn_get(ctx, h);

	if (c)
		wsc_teardown(c, COLLAB_ECLOSED);
}

void collab_wsctx_close_all(struct collab_wsctx *ctx, uint16_t code)
{
	uint32_t i;

	for (i = 0; i < ctx->nslots; i++) {
		struct wsc_slot *s = (struct wsc_slot *)ctx->slots + i;
		struct collab_wsconn_handle h = { i, s->gen };
		struct collab_wsconn *c = collab_wsconn_get(ctx, h);

		if (c == NULL)
			continue;
		switch (c->state) {
		case WSC_CONNECTING:
		case WSC_HANDSHAKE:
		case WSC_RESPONDING:
			/* Not open yet: nothing to close politely. */
			wsc_teardown(c, COLLAB_ECLOSED);
			break;
		case WSC_OPEN:
			(void)collab_wsconn_close(ctx, h, code, NULL, 0);
			break;
		default:
			/* Closing or lingering: already on its way out. */
			break;
		}
	}
}

void collab_wsctx_drop_all(struct collab_wsctx *ctx)
{
	uint32_t i;

	for (i = 0; i < ctx->nslots; i++) {
		struct wsc_slot *s = (struct wsc_slot *)ctx->slots + i;
		struct collab_wsconn_handle h = { i, s->gen };

		collab_wsconn_drop(ctx, h);
	}
}
