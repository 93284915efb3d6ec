/*
 * wsconn_queue.c - a connection's send block: the write queue and what
 * goes out ahead of it or after it.
 *
 * The write queue is a ring of entries, each a range of a refcounted
 * buffer holding whole frames: shared broadcast frames (one reference per
 * queue), or our own chunks into which small copied frames are packed.
 * Control frames wait in their own buffer and go out ahead of the queued
 * data at the next entry boundary, so a pong never splits a frame; the
 * close frame goes after everything. wsc_tx_segs() lists the bytes in that
 * order for one writev (or for the TLS engine), wsc_tx_advance() consumes
 * what was written.
 */
#include "wsconn_int.h"

#include <string.h>
#include <sys/uio.h>

/* Smallest chunk for copied frames: small sends share one allocation. */
#define WSC_CHUNK 2048u
/* Control bytes allowed to wait (a peer that pings without reading our
 * pongs): past it, further pongs are dropped (RFC 6455 5.5.3 lets an
 * endpoint answer only the latest ping). */
#define WSC_CTL_LIMIT 16384u

static struct collab_wsctx *ctx_of(const struct collab_wsconn *c)
{
	return c->io.ctx;
}

/* ---- the send block ---------------------------------------------------------- */

int wsc_tx_get(struct collab_wsconn *c)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct wsc_tx *tx;

	if (c->tx)
		return 0;
	/* A pooled block first: a fan-out reuses what the last one freed
	 * instead of growing and trimming the heap every turn. */
	tx = ctx->tx_pool;
	if (tx != NULL) {
		ctx->tx_pool = tx->next_free;
		ctx->tx_pool_len--;
	} else {
		tx = wsc_alloc(ctx, sizeof(*tx));
		if (tx == NULL)
			return COLLAB_ENOMEM;
	}
	memset(tx, 0, sizeof(*tx));
	collab_buf_init(&tx->ctl, ctx->a, 0);
	tx->ent = tx->inl;
	tx->cap = WSC_INLINE_ENTS;
	c->tx = tx;
	return 0;
}

void wsc_tx_free(struct collab_wsconn *c)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct wsc_tx *tx = c->tx;
	uint32_t i;

	if (tx == NULL)
		return;
	for (i = 0; i < tx->n; i++)
		collab_shbuf_unref(tx->ent[(tx->head + i) % tx->cap].sb);
	collab_buf_free(&tx->ctl);
	c->tx = NULL;
	/* Only blocks in their initial shape are kept: one whose ring grew
	 * goes back to the allocator, so the pool never holds big ones. */
	if (tx->ent == tx->inl && ctx->tx_pool_len < ctx->cfg.tx_pool_max) {
		tx->next_free = ctx->tx_pool;
		ctx->tx_pool = tx;
		ctx->tx_pool_len++;
		return;
	}
	if (tx->ent != tx->inl)
		wsc_free(ctx, tx->ent, (size_t)tx->cap * sizeof(*tx->ent));
	wsc_free(ctx, tx, sizeof(*tx));
}

/* Frees every pooled send block (collab_wsctx_free). */
void wsc_tx_pool_free(struct collab_wsctx *ctx)
{
	struct wsc_tx *tx;

	while ((tx = ctx->tx_pool) != NULL) {
		ctx->tx_pool = tx->next_free;
		wsc_free(ctx, tx, sizeof(*tx));
	}
	ctx->tx_pool_len = 0;
}

static int tx_idle(const struct collab_wsconn *c)
{
	const struct wsc_tx *tx = c->tx;

	return tx->n == 0 && tx->ctl.len == 0 &&
		(!(c->flags & WF_CLOSE_QUEUED) || (c->flags & WF_CLOSE_SENT));
}

/* Back to idle: an empty send block is freed. */
void wsc_tx_release(struct collab_wsconn *c)
{
	if (c->tx && tx_idle(c))
		wsc_tx_free(c);
}

static void drain_check(struct collab_wsconn *c)
{
	const struct collab_wsctx *ctx = ctx_of(c);

	if (c->tx && c->tx->bytes > ctx->cfg.low_water)
		c->flags |= WF_DRAIN_ARMED;
}

int wsc_tx_push(struct collab_wsconn *c, struct collab_shbuf *sb, size_t off,
		size_t len, int own)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct wsc_tx *tx;
	struct wsc_ent *ne;
	uint32_t i, ncap;
	int rc = wsc_tx_get(c);

	if (rc != 0)
		return rc;
	tx = c->tx;
	if (tx->n == tx->cap) {
		if (tx->cap > UINT32_MAX / 2)
			return COLLAB_ENOMEM;
		ncap = tx->cap * 2;
		ne = wsc_alloc(ctx, (size_t)ncap * sizeof(*ne));
		if (ne == NULL)
			return COLLAB_ENOMEM;
		for (i = 0; i < tx->n; i++)
			ne[i] = tx->ent[(tx->head + i) % tx->cap];
		if (tx->ent != tx->inl)
			wsc_free(ctx, tx->ent, (size_t)tx->cap * sizeof(*ne));
		tx->ent = ne;
		tx->cap = ncap;
		tx->head = 0;
	}
	ne = &tx->ent[(tx->head + tx->n) % tx->cap];
	ne->sb = sb;
	ne->off = off;
	ne->len = len;
	ne->own = own;
	tx->n++;
	tx->bytes += len - off;
	drain_check(c);
	return 0;
}

void wsc_tx_discard(struct collab_wsconn *c)
{
	struct wsc_tx *tx = c->tx;
	uint32_t i, keep;

	if (tx == NULL)
		return;
	/* A partly written entry is finished so the stream stays a sequence
	 * of whole frames. */
	keep = tx->n > 0 && tx->ent[tx->head].off > 0;
	for (i = keep; i < tx->n; i++)
		collab_shbuf_unref(tx->ent[(tx->head + i) % tx->cap].sb);
	tx->n = keep;
	tx->bytes = 0;
	if (keep) {
		tx->ent[tx->head].own = 0;
		tx->bytes = tx->ent[tx->head].len - tx->ent[tx->head].off;
	}
	c->flags &= ~(WF_OUT_MSG | WF_DRAIN_ARMED);
	wsc_tx_release(c);
}

int wsc_queue_frame(struct collab_wsconn *c, enum collab_ws_opcode op, int fin,
		    const uint8_t *p, size_t len)
{
	struct collab_wsctx *ctx = ctx_of(c);
	int client = (c->flags & WF_CLIENT) != 0, rc;
	uint8_t key[4], *dst;
	size_t total, used, h;
	struct wsc_tx *tx;
	struct wsc_ent *tail;
	struct collab_shbuf *sb;

	/* RFC 6455 5.4: continuations continue our open message only, and
	 * no new message starts inside it. */
	if (op == COLLAB_WS_OP_CONT ? !(c->flags & WF_OUT_MSG)
				    : (c->flags & WF_OUT_MSG) != 0)
		return COLLAB_ESTATE;
	if (len > SIZE_MAX - COLLAB_WS_MAX_HEADER)
		return COLLAB_EINVAL;
	total = collab_ws_header_len(len, client) + len;
	used = c->tx ? c->tx->bytes : 0;
	if (used > ctx->cfg.queue_limit || total > ctx->cfg.queue_limit - used)
		return COLLAB_EQUEUE;
	/* RFC 6455 5.3: a fresh, unpredictable key for every client frame. */
	if (client && (rc = wsc_mask_key(ctx, key)) != 0)
		return rc;
	rc = wsc_tx_get(c);
	if (rc != 0)
		return rc;
	tx = c->tx;
	/* Appended to our last chunk when it has room and no other queue
	 * shares it; otherwise a new chunk. */
	tail = NULL;
	if (tx->n > 0) {
		struct wsc_ent *last = &tx->ent[(tx->head + tx->n - 1) % tx->cap];

		if (last->own && last->sb->refs == 1 &&
		    last->sb->len - last->len >= total)
			tail = last;
	}
	if (tail) {
		dst = tail->sb->data + tail->len;
		tail->len += total;
		tx->bytes += total;
		drain_check(c);
	} else {
		sb = collab_shbuf_new(ctx->a, total < WSC_CHUNK ? WSC_CHUNK : total);
		rc = sb == NULL ? COLLAB_ENOMEM : wsc_tx_push(c, sb, 0, total, 1);
		if (rc != 0) {
			collab_shbuf_unref(sb);
			wsc_tx_release(c);
			return rc;
		}
		dst = sb->data;
	}
	h = collab_ws_header_encode(dst, fin != 0, op, len, client ? key : NULL);
	if (len) {
		memcpy(dst + h, p, len);
		if (client)
			collab_ws_mask(dst + h, len, key, 0);
	}
	if (fin)
		c->flags &= ~WF_OUT_MSG;
	else
		c->flags |= WF_OUT_MSG;
	return 0;
}

int wsc_queue_control(struct collab_wsconn *c, enum collab_ws_opcode op,
		      const uint8_t *p, size_t len)
{
	struct collab_wsctx *ctx = ctx_of(c);
	int client = (c->flags & WF_CLIENT) != 0, rc;
	uint8_t key[4];
	size_t w;
	struct wsc_tx *tx;

	if ((rc = wsc_tx_get(c)) != 0)
		return rc;
	tx = c->tx;
	if (tx->ctl.len - tx->ctl_off > WSC_CTL_LIMIT)
		return COLLAB_ELIMIT;
	if (client && (rc = wsc_mask_key(ctx, key)) != 0)
		return rc;
	rc = collab_buf_reserve(&tx->ctl, WSC_CTL_FRAME);
	if (rc == 0)
		rc = collab_ws_frame_encode(tx->ctl.p + tx->ctl.len, WSC_CTL_FRAME,
					    true, op, p, len,
					    client ? key : NULL, &w);
	if (rc != 0) {
		wsc_tx_release(c);
		return rc;
	}
	tx->ctl.len += w;
	return 0;
}

int wsc_queue_close(struct collab_wsconn *c, uint16_t code,
		    const uint8_t *reason, size_t reason_len)
{
	struct collab_wsctx *ctx = ctx_of(c);
	uint8_t pl[COLLAB_WS_MAX_CONTROL], key[4];
	int client = (c->flags & WF_CLIENT) != 0, n, rc;
	size_t w;

	/* RFC 6455 5.5.1: 1005 is never sent; a close without a code has an
	 * empty body. */
	n = collab_ws_close_payload_encode(pl, sizeof(pl), code, reason,
					   reason_len);
	if (n < 0)
		return n;
	if (client && (rc = wsc_mask_key(ctx, key)) != 0)
		return rc;
	if ((rc = wsc_tx_get(c)) != 0)
		return rc;
	rc = collab_ws_frame_encode(c->tx->close, sizeof(c->tx->close), true,
				    COLLAB_WS_OP_CLOSE, pl, (size_t)n,
				    client ? key : NULL, &w);
	if (rc != 0)
		return rc;
	c->tx->close_len = (uint16_t)w;
	c->tx->close_off = 0;
	c->flags |= WF_CLOSE_QUEUED;
	c->sent_code = code == COLLAB_WS_CLOSE_NO_STATUS ? 0 : code;
	return 0;
}

/* Lists what is to be written next, in order, into ctx->iov and
 * ctx->iokind; returns the count. */
size_t wsc_tx_segs(struct collab_wsconn *c)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct iovec *iov = ctx->iov;
	uint8_t *kind = ctx->iokind;
	struct wsc_tx *tx = c->tx;
	size_t k = 0, max = ctx->cfg.max_iov, ctl_left;
	uint32_t i = 0;
	int head_partial, ctl_in = 0;

	if (tx == NULL)
		return 0;
	ctl_left = tx->ctl.len - tx->ctl_off;
	head_partial = tx->n > 0 && tx->ent[tx->head].off > 0;
	if (head_partial && tx->ctl_off == 0) {
		struct wsc_ent *e = &tx->ent[tx->head];

		iov[k].iov_base = e->sb->data + e->off;
		iov[k].iov_len = e->len - e->off;
		kind[k++] = K_ENT;
		i = 1;
	}
	if (ctl_left && k < max) {
		iov[k].iov_base = tx->ctl.p + tx->ctl_off;
		iov[k].iov_len = ctl_left;
		kind[k++] = K_CTL;
		ctl_in = 1;
	}
	for (; i < tx->n && k < max; i++) {
		struct wsc_ent *e = &tx->ent[(tx->head + i) % tx->cap];

		if (e->len == e->off)
			continue;
		iov[k].iov_base = e->sb->data + e->off;
		iov[k].iov_len = e->len - e->off;
		kind[k++] = K_ENT;
	}
	if (i == tx->n && (ctl_in || ctl_left == 0) && k < max &&
	    (c->flags & WF_CLOSE_QUEUED) && tx->close_off < tx->close_len) {
		iov[k].iov_base = tx->close + tx->close_off;
		iov[k].iov_len = (size_t)(tx->close_len - tx->close_off);
		kind[k++] = K_CLOSE;
	}
	return k;
}

/* Consumes n written bytes of the segment kind k (the first one left). */
void wsc_tx_advance_one(struct collab_wsconn *c, uint8_t k, size_t n)
{
	struct wsc_tx *tx = c->tx;
	struct wsc_ent *e;

	switch (k) {
	case K_CTL:
		tx->ctl_off += n;
		if (tx->ctl_off == tx->ctl.len) {
			collab_buf_reset(&tx->ctl);
			tx->ctl_off = 0;
		}
		break;
	case K_ENT:
		/* Entries are written front to back: n belongs to the head
		 * (skipping any emptied one). */
		while (tx->n && tx->ent[tx->head].off == tx->ent[tx->head].len) {
			collab_shbuf_unref(tx->ent[tx->head].sb);
			tx->head = (tx->head + 1) % tx->cap;
			tx->n--;
		}
		if (tx->n == 0)
			break;
		e = &tx->ent[tx->head];
		e->off += n;
		tx->bytes -= n;
		if (e->off == e->len) {
			collab_shbuf_unref(e->sb);
			tx->head = (tx->head + 1) % tx->cap;
			tx->n--;
		}
		break;
	case K_CLOSE:
		tx->close_off = (uint16_t)(tx->close_off + n);
		if (tx->close_off == tx->close_len)
			c->flags |= WF_CLOSE_SENT;
		break;
	default:
		break;
	}
}

void wsc_tx_advance(struct collab_wsconn *c, size_t cnt, size_t n)
{
	struct collab_wsctx *ctx = ctx_of(c);
	const struct iovec *iov = ctx->iov;
	size_t i, take;

	for (i = 0; i < cnt && n > 0; i++) {
		take = iov[i].iov_len < n ? iov[i].iov_len : n;
		wsc_tx_advance_one(c, ctx->iokind[i], take);
		n -= take;
	}
}

/* After bytes left the queue: on_drain, and back to idle. */
void wsc_after_write(struct collab_wsconn *c)
{
	const struct collab_wsctx *ctx = ctx_of(c);

	if (c->tx && (c->flags & WF_DRAIN_ARMED) &&
	    c->tx->bytes <= ctx->cfg.low_water) {
		c->flags &= ~WF_DRAIN_ARMED;
		wsc_tx_release(c);
		if (c->state == WSC_OPEN && !(c->flags & WF_CLOSE_QUEUED) &&
		    c->hd && c->hd->on_drain)
			c->hd->on_drain(c);
	}
	wsc_tx_release(c);
}
