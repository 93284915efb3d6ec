/*
 * wsconn_handshake.c - the opening handshake (RFC 6455 4) in both roles.
 *
 * A head is parsed straight from the scratch buffer the bytes were read
 * into; only when it arrives in several reads is a head block allocated
 * to gather it (up to max_head_bytes + 1 bytes: one more than the limit
 * is enough for the parser to answer 431). Bytes after the head are the
 * first frames and go to the frame parser from where they lie.
 */
#include "wsconn_int.h"

#include <string.h>

/* Room for the fixed parts of the heads we write (status or request line,
 * fixed headers, Content-Length, CRLFs): generous, checked by the writers
 * anyway (COLLAB_ESPACE). */
#define HEAD_SLACK 512u
/* Extra headers an application may pass to respond/reject. */
#define MAX_EXTRA 32u

static struct collab_wsctx *ctx_of(const struct collab_wsconn *c)
{
	return c->io.ctx;
}

static struct wsc_hs *hs_get(struct collab_wsconn *c)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct wsc_hs *hs;

	if (c->flags & WF_AUX_HS)
		return c->aux;
	hs = wsc_alloc(ctx, sizeof(*hs));
	if (hs == NULL)
		return NULL;
	memset(hs, 0, sizeof(*hs));
	collab_buf_init(&hs->head, ctx->a, ctx->cfg.max_head_bytes + 1);
	c->aux = hs;
	c->flags |= WF_AUX_HS;
	return hs;
}

void wsc_hs_free(struct collab_wsconn *c)
{
	struct wsc_hs *hs = c->aux;

	if (!(c->flags & WF_AUX_HS) || hs == NULL)
		return;
	collab_buf_free(&hs->head);
	explicit_bzero(hs, sizeof(*hs));
	wsc_free(ctx_of(c), hs, sizeof(*hs));
	c->aux = NULL;
	c->flags &= ~WF_AUX_HS;
}

static void http_cfg(const struct collab_wsctx *ctx, struct collab_http_config *hc)
{
	collab_http_config_init(hc);
	hc->max_head_bytes = ctx->cfg.max_head_bytes;
	hc->max_headers = ctx->cfg.max_headers;
}

static size_t headers_bytes(const struct collab_http_header *h, size_t n)
{
	size_t i, t = 0;

	for (i = 0; i < n; i++)
		t += h[i].name.len + h[i].value.len + 4;
	return t;
}

/* ---- the server side ------------------------------------------------------------ */

static int do_reject(struct collab_wsconn *c, unsigned status,
		     const struct collab_http_header *extra, size_t nextra,
		     struct collab_str body)
{
	struct collab_http_header h[MAX_EXTRA + 1];
	struct collab_shbuf *sb;
	size_t cap, w, i;
	int rc, has_version = 0;

	if (nextra > MAX_EXTRA || (extra == NULL && nextra > 0))
		return COLLAB_EINVAL;
	for (i = 0; i < nextra; i++) {
		h[i] = extra[i];
		if (collab_str_eq(extra[i].name, "Sec-WebSocket-Version", 21))
			has_version = 1;
	}
	/* RFC 6455 4.4: a 426 names the versions we speak. */
	if (status == 426 && !has_version) {
		h[nextra].name = COLLAB_STR("Sec-WebSocket-Version");
		h[nextra].value = COLLAB_STR("13");
		nextra++;
	}
	cap = HEAD_SLACK + body.len + headers_bytes(h, nextra);
	sb = collab_shbuf_new(ctx_of(c)->a, cap);
	if (sb == NULL)
		return COLLAB_ENOMEM;
	rc = collab_http_write_reject((char *)sb->data, cap, status, h, nextra,
				      body, &w);
	if (rc == 0)
		rc = wsc_tx_push(c, sb, 0, w, 0);
	if (rc != 0)
		collab_shbuf_unref(sb);
	return rc;
}

/* The response is queued: read nothing more, close once it is out. */
static void become_responding(struct collab_wsconn *c)
{
	wsc_hs_free(c);
	c->state = WSC_RESPONDING;
	c->flags |= WF_DISCARD;
	if (wsc_arm(c) != 0)
		wsc_teardown(c, COLLAB_ENOMEM);
}

static void respond_error(struct collab_wsconn *c, unsigned status)
{
	int rc = do_reject(c, status, NULL, 0, (struct collab_str){ NULL, 0 });

	if (rc != 0) {
		wsc_teardown(c, rc);
		return;
	}
	become_responding(c);
}

static struct wsc_req *current(struct collab_wsconn *c)
{
	struct wsc_req *r = ctx_of(c)->cur_req;

	if (r == NULL || r->c != c || r->decided)
		return NULL;
	return r;
}

int collab_wsconn_reject(struct collab_wsconn *c, unsigned status,
			 const struct collab_http_header *extra, size_t nextra,
			 struct collab_str body)
{
	struct wsc_req *r = current(c);
	int rc;

	if (r == NULL)
		return COLLAB_ESTATE;
	rc = do_reject(c, status, extra, nextra, body);
	if (rc == 0)
		r->decided = 2;
	return rc;
}

int collab_wsconn_respond(struct collab_wsconn *c, unsigned status,
			  struct collab_str content_type,
			  const struct collab_http_header *extra, size_t nextra,
			  const void *body, size_t body_len)
{
	struct wsc_req *r = current(c);
	struct collab_http_header h[MAX_EXTRA + 1];
	struct collab_shbuf *sb;
	size_t cap, w;
	int rc;

	if (r == NULL)
		return COLLAB_ESTATE;
	if (status == 101 || nextra > MAX_EXTRA ||
	    (extra == NULL && nextra > 0) || (body == NULL && body_len > 0))
		return COLLAB_EINVAL;
	if (nextra)
		memcpy(h, extra, nextra * sizeof(*h));
	/* One request per connection: say so (RFC 9112 9.6). */
	h[nextra].name = COLLAB_STR("Connection");
	h[nextra].value = COLLAB_STR("close");
	cap = HEAD_SLACK + content_type.len + headers_bytes(h, nextra + 1);
	if (body_len > SIZE_MAX - cap)
		return COLLAB_ENOMEM;
	sb = collab_shbuf_new(ctx_of(c)->a, cap + body_len);
	if (sb == NULL)
		return COLLAB_ENOMEM;
	rc = collab_http_write_head((char *)sb->data, cap, status, content_type,
				    body_len, h, nextra + 1, &w);
	if (rc == 0) {
		if (body_len)
			memcpy(sb->data + w, body, body_len);
		rc = wsc_tx_push(c, sb, 0, w + body_len, 0);
	}
	if (rc != 0) {
		collab_shbuf_unref(sb);
		return rc;
	}
	r->decided = 2;
	return 0;
}

/* As collab_wsconn_respond(), for a HEAD request (RFC 9110 9.3.2): the
 * head alone, with the Content-Length a GET would carry. */
int collab_wsconn_respond_head(struct collab_wsconn *c, unsigned status,
			       struct collab_str content_type,
			       const struct collab_http_header *extra,
			       size_t nextra, uint64_t content_length)
{
	struct wsc_req *r = current(c);
	struct collab_http_header h[MAX_EXTRA + 1];
	struct collab_shbuf *sb;
	size_t cap, w;
	int rc;

	if (r == NULL)
		return COLLAB_ESTATE;
	if (status == 101 || nextra > MAX_EXTRA || (extra == NULL && nextra > 0))
		return COLLAB_EINVAL;
	if (nextra)
		memcpy(h, extra, nextra * sizeof(*h));
	h[nextra].name = COLLAB_STR("Connection");
	h[nextra].value = COLLAB_STR("close");
	cap = HEAD_SLACK + content_type.len + headers_bytes(h, nextra + 1);
	sb = collab_shbuf_new(ctx_of(c)->a, cap);
	if (sb == NULL)
		return COLLAB_ENOMEM;
	rc = collab_http_write_head((char *)sb->data, cap, status, content_type,
				    content_length, h, nextra + 1, &w);
	if (rc == 0)
		rc = wsc_tx_push(c, sb, 0, w, 0);
	if (rc != 0) {
		collab_shbuf_unref(sb);
		return rc;
	}
	r->decided = 2;
	return 0;
}

int collab_wsconn_accept(struct collab_wsconn *c, struct collab_str subprotocol)
{
	struct wsc_req *r = current(c);
	struct collab_http_list it;
	struct collab_str elem, sel = { NULL, 0 };
	struct collab_shbuf *sb;
	char name[256];
	size_t cap, w;
	int rc;

	if (r == NULL)
		return COLLAB_ESTATE;
	if (r->up->status != 0)
		return COLLAB_EHANDSHAKE;
	if (subprotocol.len) {
		/* RFC 6455 4.2.2: only a subprotocol the client offered. The
		 * selection is taken from the request itself. */
		if (subprotocol.len >= sizeof(name) ||
		    memchr(subprotocol.p, 0, subprotocol.len))
			return COLLAB_EINVAL;
		memcpy(name, subprotocol.p, subprotocol.len);
		name[subprotocol.len] = 0;
		if (!collab_http_offers_protocol(r->req, name))
			return COLLAB_EINVAL;
		collab_http_list_init(&it, r->req->headers, r->req->num_headers,
				      "Sec-WebSocket-Protocol");
		while (collab_http_list_next(&it, &elem) == 0)
			if (collab_str_eq(elem, subprotocol.p, subprotocol.len)) {
				sel = elem;
				break;
			}
		if (sel.len == 0)
			return COLLAB_EINVAL;
	}
	cap = HEAD_SLACK + sel.len;
	sb = collab_shbuf_new(ctx_of(c)->a, cap);
	if (sb == NULL)
		return COLLAB_ENOMEM;
	rc = collab_http_write_upgrade_response((char *)sb->data, cap,
						r->up->key, sel, &w);
	if (rc == 0)
		rc = wsc_tx_push(c, sb, 0, w, 0);
	if (rc != 0) {
		collab_shbuf_unref(sb);
		return rc;
	}
	r->proto = sel;
	r->decided = 1;
	return 0;
}

static void server_request(struct collab_wsconn *c,
			   const struct collab_http_request *req,
			   uint8_t *rest, size_t rest_len)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct collab_http_upgrade up;
	struct collab_wsconn_request wr;
	struct wsc_req r;
	char proto[256];
	int rc;

	memset(&up, 0, sizeof(up));
	(void)collab_http_check_upgrade_request(req, &up);
	memset(&r, 0, sizeof(r));
	r.c = c;
	r.req = req;
	r.up = &up;
	ctx->cur_req = &r;
	if (c->hd && c->hd->on_request) {
		wr.http = req;
		wr.upgrade = &up;
		c->hd->on_request(c, &wr);
	}
	if (c->state == WSC_DEAD) {
		ctx->cur_req = NULL;
		return;
	}
	if (!r.decided) {
		if (up.status != 0) {
			ctx->cur_req = NULL;
			respond_error(c, up.status);
			return;
		}
		rc = collab_wsconn_accept(c, (struct collab_str){ NULL, 0 });
		if (rc != 0) {
			ctx->cur_req = NULL;
			wsc_teardown(c, rc);
			return;
		}
	}
	ctx->cur_req = NULL;
	if (r.decided == 2) {
		become_responding(c);
		return;
	}
	/* The selection is a view into the head, which is about to go. */
	memcpy(proto, r.proto.p ? r.proto.p : "", r.proto.len);
	wsc_hs_free(c);
	wsc_open(c, (struct collab_str){ proto, r.proto.len });
	if (rest_len && c->state == WSC_OPEN)
		wsc_ws_input(c, rest, rest_len);
}

/* ---- the client side ------------------------------------------------------------- */

int wsc_hs_client_start(struct collab_wsconn *c, const struct collab_http_url *u,
			const struct collab_wsconn_connect_opts *o)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct collab_http_handshake hh;
	struct collab_shbuf *sb;
	uint8_t nonce[16];
	size_t cap, w;
	int rc;
	struct wsc_hs *hs = hs_get(c);

	if (hs == NULL)
		return COLLAB_ENOMEM;
	/* RFC 6455 4.1 item 7: a nonce randomly selected for this
	 * connection. */
	if (collab_rng_bytes(ctx->rng, nonce, sizeof(nonce)) != 0)
		return COLLAB_ERANDOM;
	collab_http_make_key(nonce, hs->key);
	explicit_bzero(nonce, sizeof(nonce));
	memset(&hh, 0, sizeof(hh));
	if (o) {
		if (o->protocols.len >= sizeof(hs->proto) ||
		    (o->protocols.p == NULL && o->protocols.len) ||
		    (o->origin.p == NULL && o->origin.len))
			return COLLAB_EINVAL;
		if (o->protocols.len)
			memcpy(hs->proto, o->protocols.p, o->protocols.len);
		hs->proto_len = o->protocols.len;
		hh.origin = o->origin;
	}
	hh.path = u->path;
	hh.query = u->query;
	hh.host = u->authority;
	hh.key.p = hs->key;
	hh.key.len = COLLAB_HTTP_KEY_LEN;
	hh.protocols.p = hs->proto;
	hh.protocols.len = hs->proto_len;
	cap = HEAD_SLACK + u->path.len + u->query.len + u->authority.len +
		hh.origin.len + hs->proto_len;
	sb = collab_shbuf_new(ctx->a, cap);
	if (sb == NULL)
		return COLLAB_ENOMEM;
	rc = collab_http_write_upgrade_request((char *)sb->data, cap, &hh, &w);
	if (rc == 0)
		rc = wsc_tx_push(c, sb, 0, w, 0);
	if (rc != 0)
		collab_shbuf_unref(sb);
	return rc;
}

static void client_refused(struct collab_wsconn *c, const char *why,
			   unsigned status)
{
	/* Dead first, so that on_close finds the handle closed. */
	c->state = WSC_DEAD;
	wsc_report_close(c, COLLAB_WS_CLOSE_ABNORMAL,
			 (struct collab_str){ why, strlen(why) },
			 COLLAB_EHANDSHAKE, status);
	wsc_teardown(c, COLLAB_EHANDSHAKE);
}

static void client_response(struct collab_wsconn *c, const struct wsc_hs *hs,
			    const struct collab_http_response *res,
			    uint8_t *rest, size_t rest_len)
{
	struct collab_str sel = { NULL, 0 };
	const char *why = "";
	char proto[sizeof(hs->proto)];

	if (collab_http_check_upgrade_response(res,
			(struct collab_str){ hs->key, COLLAB_HTTP_KEY_LEN },
			(struct collab_str){ hs->proto, hs->proto_len },
			&sel, &why) != 0) {
		client_refused(c, why, res->status);
		return;
	}
	/* RFC 6455 4.1: the selection is one we offered, so it fits. */
	if (sel.len >= sizeof(proto)) {
		client_refused(c, "subprotocol too long", res->status);
		return;
	}
	memcpy(proto, sel.p ? sel.p : "", sel.len);
	wsc_hs_free(c);
	wsc_open(c, (struct collab_str){ proto, sel.len });
	if (rest_len && c->state == WSC_OPEN)
		wsc_ws_input(c, rest, rest_len);
}

/* ---- input ------------------------------------------------------------------------ */

void wsc_hs_input(struct collab_wsconn *c, uint8_t *p, size_t n)
{
	struct collab_wsctx *ctx = ctx_of(c);
	struct wsc_hs *hs = (c->flags & WF_AUX_HS) ? c->aux : NULL;
	struct collab_http_config hc;
	struct collab_http_request req;
	struct collab_http_response res;
	const uint8_t *buf = p;
	size_t len = n, prev = 0, room, k, head_len, off;
	int client = (c->flags & WF_CLIENT) != 0, rc;

	/* A client's handshake block holds the key and the offered
	 * subprotocols, made by wsc_hs_client_start() before connect():
	 * without it the response cannot be checked (RFC 6455 4.1). */
	if (client && hs == NULL) {
		client_refused(c, "no handshake state", 0);
		return;
	}
	http_cfg(ctx, &hc);
	if (hs && hs->head.len) {
		prev = hs->head.len;
		room = hc.max_head_bytes + 1 - prev;
		k = n < room ? n : room;
		if (collab_buf_append(&hs->head, p, k) != 0) {
			wsc_teardown(c, COLLAB_ENOMEM);
			return;
		}
		buf = hs->head.p;
		len = hs->head.len;
	}
	if (client) {
		collab_http_response_init(&res, ctx->hdrs, ctx->cfg.max_headers);
		rc = collab_http_parse_response(&hc, buf, len, &res);
		head_len = res.head_len;
	} else {
		collab_http_request_init(&req, ctx->hdrs, ctx->cfg.max_headers);
		rc = collab_http_parse_request(&hc, buf, len, &req);
		head_len = req.head_len;
	}
	if (rc == COLLAB_HTTP_NEED_MORE) {
		if (buf == p) {
			/* The head continues in a later read: keep it. */
			hs = hs_get(c);
			k = n < hc.max_head_bytes + 1 ? n : hc.max_head_bytes + 1;
			if (hs == NULL || collab_buf_append(&hs->head, p, k) != 0)
				wsc_teardown(c, COLLAB_ENOMEM);
		}
		return;
	}
	if (rc != 0) {
		if (client)
			client_refused(c, "malformed response head", 0);
		else
			/* PROTOCOL.md 1: 400, or 431 for a head over 8 KiB */
			respond_error(c, collab_http_error_status(rc));
		return;
	}
	/* The head was incomplete at prev bytes, so it ends in this read. */
	off = buf == p ? head_len : head_len - prev;
	if (client)
		client_response(c, hs, &res, p + off, n - off);
	else
		server_request(c, &req, p + off, n - off);
}
