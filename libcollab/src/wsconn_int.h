/*
 * wsconn_int.h - what the wsconn*.c files share: the connection struct,
 * the lazily allocated blocks and the internal functions.
 *
 *   wsconn.c            context, slots and handles, timers, closing and
 *                       teardown, the by-handle API
 *   wsconn_queue.c      the send block: write queue, control frames, close
 *   wsconn_io.c         the pump (plain and TLS), frame input, closing
 *   wsconn_handshake.c  the opening handshake, both roles
 *   wsconn_net.c        addresses, listeners, accept, connect
 */
#ifndef COLLAB_WSCONN_INT_H
#define COLLAB_WSCONN_INT_H

#include "collab/wsconn.h"

/* Connection states. */
enum {
	WSC_CONNECTING = 1, /* client: TCP connect in progress */
	WSC_HANDSHAKE,      /* server: reading the request; client: the 101 */
	WSC_RESPONDING,     /* server: HTTP response queued, close after it */
	WSC_OPEN,
	WSC_CLOSING,        /* a close frame queued, sent or received */
	WSC_LINGER,         /* TCP (or TLS) shut down; draining to EOF */
	WSC_DEAD            /* torn down; freed when its pump unwinds */
};

/* Connection flags. */
#define WF_IN_PUMP       0x0001u /* its pump (or a callback of it) runs */
#define WF_DEAD_PENDING  0x0002u /* teardown asked while in the pump */
#define WF_CLOSE_QUEUED  0x0004u /* our close frame is in tx */
#define WF_CLOSE_SENT    0x0008u /* ... and fully written */
#define WF_CLOSE_RCVD    0x0010u /* the peer's close frame arrived */
#define WF_DISCARD       0x0020u /* input is read and thrown away */
#define WF_NO_WAIT       0x0040u /* after our close, do not await the peer's */
#define WF_REPORTED      0x0080u /* on_close ran */
#define WF_OPENED        0x0100u /* on_open ran */
#define WF_PENDING       0x0200u /* in ctx->pend */
#define WF_DRAIN_ARMED   0x0400u /* queue went above low_water */
#define WF_OUT_MSG       0x0800u /* our fragmented message is open */
#define WF_BLOCKED       0x1000u /* last write met EAGAIN: want EPOLLOUT */
#define WF_EOF           0x2000u /* the peer's EOF (or error) was seen */
#define WF_CLIENT        0x4000u /* client role */
#define WF_TLS_CLOSED    0x8000u /* collab_tls_close() called */
#define WF_AUX_HS        0x10000u /* aux is a struct wsc_hs */

struct collab_wsconn {
	struct collab_io io;      /* io.ctx: the collab_wsctx */
	struct collab_timer timer;/* timer.ctx: the collab_wsctx */
	const struct collab_wsconn_handlers *hd;
	void *aux;                /* struct wsc_hs before open, wsc_rx after */
	struct wsc_tx *tx;
	struct collab_tls_conn *tls;
	uint64_t last_rx;         /* loop ms of the last read (handshake:
				     of the accept or connect) */
	uint32_t slot, gen;
	uint32_t flags;
	uint16_t sent_code;
	uint8_t state;
	uint8_t pad_;
	/* user bytes follow (wsc_user_off) */
};

/* One queue entry: bytes [off, len) of sb. Every entry holds whole
 * frames, so an entry boundary is a frame boundary. */
struct wsc_ent {
	struct collab_shbuf *sb;
	size_t off, len;
	int own;                  /* our chunk: more frames may be appended */
};

#define WSC_CTL_FRAME (COLLAB_WS_MAX_HEADER + COLLAB_WS_MAX_CONTROL)
#define WSC_INLINE_ENTS 4

/* The send block: exists while anything waits to be sent. Output order:
 * control frames (pongs, pings) go ahead of queued data at the next entry
 * boundary, never inside a frame; the close frame goes after everything. */
struct wsc_tx {
	struct wsc_tx *next_free; /* in ctx->tx_pool */
	size_t bytes;             /* data bytes in entries (the queue limit) */
	struct wsc_ent *ent;      /* ring: inl or allocated */
	uint32_t head, n, cap;
	uint16_t close_len, close_off;
	struct collab_buf ctl;    /* control frames, in order */
	size_t ctl_off;           /* bytes of ctl already written */
	uint8_t close[WSC_CTL_FRAME];
	struct wsc_ent inl[WSC_INLINE_ENTS];
};

/* The receive block: a read ended inside a frame or message. */
struct wsc_rx {
	struct collab_ws_parser ps;
	struct collab_buf msg;    /* the message so far */
};

/* The handshake block (before open). */
struct wsc_hs {
	struct collab_buf head;   /* head bytes gathered over several reads */
	size_t proto_len;         /* client: the offered subprotocols */
	char key[COLLAB_HTTP_KEY_LEN];
	char proto[256];
};

/* The request being decided in on_request. */
struct wsc_req {
	struct collab_wsconn *c;
	const struct collab_http_request *req;
	const struct collab_http_upgrade *up;
	int decided;              /* 0, 1 accept, 2 respond */
	struct collab_str proto;
};

/* wsconn.c */
size_t wsc_user_off(void);
size_t wsc_conn_size(const struct collab_wsctx *ctx);
struct collab_wsconn *wsc_new(struct collab_wsctx *ctx, int fd,
			      const struct collab_wsconn_handlers *hd,
			      int client);
void wsc_teardown(struct collab_wsconn *c, int err);
void wsc_report_close(struct collab_wsconn *c, uint16_t code,
		      struct collab_str reason, int err, unsigned http_status);
void wsc_fail(struct collab_wsconn *c, uint16_t code, int err);
int wsc_arm(struct collab_wsconn *c);
void wsc_set_closing(struct collab_wsconn *c);
void wsc_schedule(struct collab_wsconn *c);
void wsc_on_timer(struct collab_loop *loop, struct collab_timer *t);
void *wsc_alloc(struct collab_wsctx *ctx, size_t n);
void wsc_free(struct collab_wsctx *ctx, void *p, size_t n);
int wsc_mask_key(struct collab_wsctx *ctx, uint8_t key[4]);
void wsc_open(struct collab_wsconn *c, struct collab_str proto);
void wsc_free_aux(struct collab_wsconn *c);

/* Kinds of the segments wsc_tx_segs() lists (ctx->iokind). */
enum { K_CTL = 1, K_ENT, K_CLOSE };

/* wsconn_io.c */
void wsc_on_io(struct collab_loop *loop, struct collab_io *io, unsigned ev);
void wsc_pump(struct collab_wsconn *c, unsigned events);
void wsc_ws_input(struct collab_wsconn *c, uint8_t *p, size_t n);
void wsc_rx_free(struct collab_wsconn *c);

/* wsconn_queue.c */
int wsc_tx_get(struct collab_wsconn *c);
void wsc_tx_free(struct collab_wsconn *c);
void wsc_tx_discard(struct collab_wsconn *c);
int wsc_tx_push(struct collab_wsconn *c, struct collab_shbuf *sb, size_t off,
		size_t len, int own);
int wsc_queue_close(struct collab_wsconn *c, uint16_t code,
		    const uint8_t *reason, size_t reason_len);
int wsc_queue_frame(struct collab_wsconn *c, enum collab_ws_opcode op, int fin,
		    const uint8_t *p, size_t len);
int wsc_queue_control(struct collab_wsconn *c, enum collab_ws_opcode op,
		      const uint8_t *p, size_t len);
size_t wsc_tx_segs(struct collab_wsconn *c);
void wsc_tx_advance_one(struct collab_wsconn *c, uint8_t k, size_t n);
void wsc_tx_advance(struct collab_wsconn *c, size_t cnt, size_t n);
void wsc_after_write(struct collab_wsconn *c);
void wsc_tx_release(struct collab_wsconn *c);
void wsc_tx_pool_free(struct collab_wsctx *ctx);

/* wsconn_handshake.c */
void wsc_hs_input(struct collab_wsconn *c, uint8_t *p, size_t n);
int wsc_hs_client_start(struct collab_wsconn *c, const struct collab_http_url *u,
			const struct collab_wsconn_connect_opts *o);
void wsc_hs_free(struct collab_wsconn *c);

/* wsconn_net.c */
void wsc_connect_done(struct collab_wsconn *c);
void wsc_reset_on_close(struct collab_wsconn *c);

#endif
