/*
 * http_ws.c - the WebSocket opening handshake over a parsed head (RFC 6455
 * section 4): validation on both sides, Sec-WebSocket-Accept, and the
 * writers for every head the project sends.
 *
 * Writers check every argument before writing a byte, so COLLAB_EINVAL
 * (a value that could inject a header line or break the head) wins over
 * COLLAB_ESPACE whatever the capacity, and a caller never sends half a
 * head built from a value it should not have trusted.
 */
#include "collab/http.h"
#include "collab/base64.h"
#include "collab/common.h"
#include "http_priv.h"

#include <bearssl.h>
#include <string.h>

/* RFC 6455 1.3 / 4.2.2 item 5.4. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* The accepted Sec-WebSocket-Key: base64 of exactly 16 bytes (RFC 6455
 * 4.1 item 7, 4.2.1 item 5), in the strict, canonical form. */
#define KEY_NONCE_LEN 16

static int key_ok(struct collab_str k)
{
	uint8_t nonce[KEY_NONCE_LEN];
	size_t n = 0;
	if (k.len != COLLAB_HTTP_KEY_LEN || !k.p)
		return 0;
	return collab_b64_decode(k.p, k.len, COLLAB_B64_STD, nonce,
				 sizeof(nonce), &n) == 0 && n == KEY_NONCE_LEN;
}

void collab_http_accept_key(const char *key, size_t key_len,
			    char out[COLLAB_HTTP_ACCEPT_LEN])
{
	br_sha1_context c;
	uint8_t digest[br_sha1_SIZE];
	size_t w;

	br_sha1_init(&c);
	if (key_len)
		br_sha1_update(&c, key, key_len);
	br_sha1_update(&c, ws_guid, sizeof(ws_guid) - 1);
	br_sha1_out(&c, digest);
	/* 20 bytes always encode to exactly 28 characters. */
	(void)collab_b64_encode(digest, sizeof(digest), COLLAB_B64_STD, out,
				COLLAB_HTTP_ACCEPT_LEN, &w);
}

void collab_http_make_key(const uint8_t nonce[16], char out[COLLAB_HTTP_KEY_LEN])
{
	size_t w;
	(void)collab_b64_encode(nonce, KEY_NONCE_LEN, COLLAB_B64_STD, out,
				COLLAB_HTTP_KEY_LEN, &w);
}

/* --- server side -------------------------------------------------------- */

static int refuse(struct collab_http_upgrade *up, unsigned status, const char *why)
{
	up->status = status;
	up->why = why;
	return COLLAB_EHANDSHAKE;
}

int collab_http_check_upgrade_request(const struct collab_http_request *req,
				      struct collab_http_upgrade *up)
{
	const struct collab_http_header *h = req->headers;
	size_t n = req->num_headers, i;
	struct collab_http_list it;
	struct collab_str v;
	int r;

	memset(up, 0, sizeof(*up));
	up->why = "";
	/* RFC 6455 4.1 item 2; RFC 9110 9.1: methods are case-sensitive. */
	if (!collab_str_eq(req->method, "GET", 3))
		return refuse(up, 400, "method must be GET");
	/* RFC 9112 3.2: 400 for a missing or repeated Host. */
	if (collab_http_header_get(h, n, "Host", &up->host))
		return refuse(up, 400, "need exactly one Host header");
	/* The bytes after the head are frames: a body would be read as one. */
	if (collab_http_header_find(h, n, "Transfer-Encoding", 0) < n)
		return refuse(up, 400, "a request body is not allowed");
	for (i = collab_http_header_find(h, n, "Content-Length", 0); i < n;
	     i = collab_http_header_find(h, n, "Content-Length", i + 1))
		if (!collab_str_eq(h[i].value, "0", 1))
			return refuse(up, 400, "a request body is not allowed");
	/* RFC 6455 4.2.1 items 3 and 4. */
	if (!collab_http_list_has(h, n, "Upgrade", "websocket"))
		return refuse(up, 400, "Upgrade must list websocket");
	if (!collab_http_list_has(h, n, "Connection", "Upgrade"))
		return refuse(up, 400, "Connection must list Upgrade");
	/* RFC 6455 4.2.1 item 5. */
	if (collab_http_header_get(h, n, "Sec-WebSocket-Key", &up->key) ||
	    !key_ok(up->key))
		return refuse(up, 400, "need one Sec-WebSocket-Key of 16 bytes");
	/* RFC 6454 7.3: at most one Origin; two would let the tenant check
	 * and the client disagree on which counts. */
	r = collab_http_header_get(h, n, "Origin", &up->origin);
	if (r == COLLAB_EDUPKEY)
		return refuse(up, 400, "more than one Origin header");
	up->has_origin = r == 0;
	/* RFC 6455 4.1 item 10: subprotocol names are tokens. */
	collab_http_list_init(&it, h, n, "Sec-WebSocket-Protocol");
	while (collab_http_list_next(&it, &v) == 0)
		if (!http_is_token(v))
			return refuse(up, 400, "Sec-WebSocket-Protocol must list tokens");
	/* RFC 6455 4.2.1 item 6, 4.4: version 13 only; otherwise 426 with
	 * the version we speak. A repeated header is malformed, not another
	 * version. */
	r = collab_http_header_get(h, n, "Sec-WebSocket-Version", &v);
	if (r == COLLAB_EDUPKEY)
		return refuse(up, 400, "more than one Sec-WebSocket-Version header");
	if (r || !collab_str_eq(v, "13", 2))
		return refuse(up, 426, "Sec-WebSocket-Version must be 13");
	return 0;
}

int collab_http_offers_protocol(const struct collab_http_request *req,
				const char *proto)
{
	struct collab_http_list it;
	struct collab_str e;
	size_t plen = strlen(proto);

	collab_http_list_init(&it, req->headers, req->num_headers,
			      "Sec-WebSocket-Protocol");
	while (collab_http_list_next(&it, &e) == 0)
		if (collab_str_eq(e, proto, plen))
			return 1;
	return 0;
}

/* --- client side -------------------------------------------------------- */

/* Is e an element of the comma-separated list (compared exactly)? */
static int list_contains(struct collab_str list, struct collab_str e)
{
	struct collab_http_header fake = { COLLAB_STR("l"), list };
	struct collab_http_list it;
	struct collab_str x;

	collab_http_list_init(&it, &fake, 1, "l");
	while (collab_http_list_next(&it, &x) == 0)
		if (collab_str_eq(x, e.p, e.len))
			return 1;
	return 0;
}

static int fail(const char **why, const char *text)
{
	if (why)
		*why = text;
	return COLLAB_EHANDSHAKE;
}

int collab_http_check_upgrade_response(const struct collab_http_response *res,
				       struct collab_str key,
				       struct collab_str offered,
				       struct collab_str *selected,
				       const char **why)
{
	const struct collab_http_header *h = res->headers;
	size_t n = res->num_headers;
	char expect[COLLAB_HTTP_ACCEPT_LEN];
	struct collab_str v;
	int r;

	if (selected) {
		selected->p = NULL;
		selected->len = 0;
	}
	if (why)
		*why = "";
	/* RFC 6455 4.1, the client's checks of the response, items 1-6. */
	if (res->status != 101)
		return fail(why, "status is not 101");
	if (!collab_http_list_has(h, n, "Upgrade", "websocket"))
		return fail(why, "Upgrade does not list websocket");
	if (!collab_http_list_has(h, n, "Connection", "Upgrade"))
		return fail(why, "Connection does not list Upgrade");
	collab_http_accept_key(key.p, key.len, expect);
	if (collab_http_header_get(h, n, "Sec-WebSocket-Accept", &v) ||
	    !collab_str_eq(v, expect, sizeof(expect)))
		return fail(why, "wrong or missing Sec-WebSocket-Accept");
	if (collab_http_header_find(h, n, "Sec-WebSocket-Extensions", 0) < n)
		return fail(why, "extension selected that was not offered");
	r = collab_http_header_get(h, n, "Sec-WebSocket-Protocol", &v);
	if (r == COLLAB_ENOTFOUND)
		return 0;
	if (r || !http_is_token(v) || !list_contains(offered, v))
		return fail(why, "subprotocol selected that was not offered");
	if (selected)
		*selected = v;
	return 0;
}

/* --- writers ------------------------------------------------------------ */

struct out {
	char *p;
	size_t cap, len;
	int err;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err || n == 0)
		return;
	if (n > o->cap - o->len) {
		o->err = COLLAB_ESPACE;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

#define PUT(o, lit) put((o), (lit), sizeof(lit) - 1)

static void put_str(struct out *o, struct collab_str s)
{
	put(o, s.p, s.len);
}

static void put_dec(struct out *o, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, d + i, sizeof(d) - i);
}

static void put_header(struct out *o, const char *name, struct collab_str value)
{
	put(o, name, strlen(name));
	PUT(o, ": ");
	put_str(o, value);
	PUT(o, "\r\n");
}

static void put_status(struct out *o, unsigned status)
{
	const char *reason = collab_http_reason(status);
	PUT(o, "HTTP/1.1 ");
	put_dec(o, status);
	PUT(o, " ");
	put(o, reason, strlen(reason));
	PUT(o, "\r\n");
}

static void put_extra(struct out *o, const struct collab_http_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		put_str(o, h[i].name);
		PUT(o, ": ");
		put_str(o, h[i].value);
		PUT(o, "\r\n");
	}
}

static int finish(struct out *o, size_t *written)
{
	if (o->err)
		return o->err;
	*written = o->len;
	return 0;
}

/* RFC 9110 5.5: no CTL but HTAB in a value, so no CR, LF or NUL. */
static int value_ok(struct collab_str v)
{
	if (!v.p && v.len)
		return 0;
	for (size_t i = 0; i < v.len; i++)
		if (!http_is_field_char((uint8_t)v.p[i]))
			return 0;
	return 1;
}

static int extra_ok(const struct collab_http_header *h, size_t n)
{
	if (!h && n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!http_is_token(h[i].name) || !value_ok(h[i].value))
			return 0;
	return 1;
}

/* A non-empty list of tokens separated by commas and OWS, no empty
 * elements (what we send must be what RFC 6455 4.1 item 10 asks). */
static int token_list_ok(struct collab_str l)
{
	size_t i = 0;
	if (!l.p || l.len == 0)
		return 0;
	for (;;) {
		size_t a, b;
		while (i < l.len && http_is_ows((uint8_t)l.p[i]))
			i++;
		a = i;
		while (i < l.len && http_is_tchar((uint8_t)l.p[i]))
			i++;
		b = i;
		while (i < l.len && http_is_ows((uint8_t)l.p[i]))
			i++;
		if (a == b)
			return 0;
		if (i == l.len)
			return 1;
		if (l.p[i] != ',')
			return 0;
		i++;
	}
}

static int target_ok(struct collab_str s, int is_path)
{
	if (!s.p && s.len)
		return 0;
	if (is_path && (s.len == 0 || s.p[0] != '/'))
		return 0;
	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = (uint8_t)s.p[i];
		if (!http_is_target_char(c) || (is_path && c == '?'))
			return 0;
	}
	return 1;
}

static void out_init(struct out *o, char *p, size_t cap)
{
	o->p = p;
	o->cap = cap;
	o->len = 0;
	o->err = 0;
}

int collab_http_write_upgrade_response(char *out, size_t cap,
				       struct collab_str key,
				       struct collab_str protocol,
				       size_t *written)
{
	char accept[COLLAB_HTTP_ACCEPT_LEN];
	struct collab_str a = { accept, sizeof(accept) };
	struct out o;

	if ((!out && cap) || !written || !key_ok(key))
		return COLLAB_EINVAL;
	if (protocol.len && !http_is_token(protocol))
		return COLLAB_EINVAL;
	collab_http_accept_key(key.p, key.len, accept);
	out_init(&o, out, cap);
	put_status(&o, 101);
	PUT(&o, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
	put_header(&o, "Sec-WebSocket-Accept", a);
	if (protocol.len)
		put_header(&o, "Sec-WebSocket-Protocol", protocol);
	PUT(&o, "\r\n");
	return finish(&o, written);
}

static int write_head(struct out *o, unsigned status, struct collab_str ctype,
		      uint64_t clen, const struct collab_http_header *extra,
		      size_t nextra)
{
	if (status < 100 || status > 599 || !value_ok(ctype) ||
	    !extra_ok(extra, nextra))
		return COLLAB_EINVAL;
	put_status(o, status);
	if (ctype.len)
		put_header(o, "Content-Type", ctype);
	/* RFC 9110 8.6: never in a 1xx or 204. */
	if (status >= 200 && status != 204) {
		PUT(o, "Content-Length: ");
		put_dec(o, clen);
		PUT(o, "\r\n");
	}
	return 0;
}

int collab_http_write_head(char *out, size_t cap, unsigned status,
			   struct collab_str content_type, uint64_t content_length,
			   const struct collab_http_header *extra, size_t nextra,
			   size_t *written)
{
	struct out o;
	int r;

	if ((!out && cap) || !written)
		return COLLAB_EINVAL;
	out_init(&o, out, cap);
	if ((r = write_head(&o, status, content_type, content_length, extra,
			    nextra)))
		return r;
	put_extra(&o, extra, nextra);
	PUT(&o, "\r\n");
	return finish(&o, written);
}

int collab_http_write_reject(char *out, size_t cap, unsigned status,
			     const struct collab_http_header *extra, size_t nextra,
			     struct collab_str body, size_t *written)
{
	const struct collab_str ctype = COLLAB_STR("text/plain; charset=utf-8");
	char dflt[64];
	struct out o, b;
	int r;

	if ((!out && cap) || !written || (!body.p && body.len) ||
	    status < 400 || status > 599)
		return COLLAB_EINVAL;
	if (body.len == 0) {
		const char *reason = collab_http_reason(status);
		out_init(&b, dflt, sizeof(dflt));
		put_dec(&b, status);
		if (*reason) {
			PUT(&b, " ");
			put(&b, reason, strlen(reason));
		}
		PUT(&b, "\n");
		/* The longest reason phrase fits: b.err is never set. */
		body.p = dflt;
		body.len = b.len;
	}
	out_init(&o, out, cap);
	if ((r = write_head(&o, status, ctype, body.len, extra, nextra)))
		return r;
	PUT(&o, "Connection: close\r\n");
	put_extra(&o, extra, nextra);
	PUT(&o, "\r\n");
	put_str(&o, body);
	return finish(&o, written);
}

int collab_http_write_upgrade_request(char *out, size_t cap,
				      const struct collab_http_handshake *hs,
				      size_t *written)
{
	struct out o;

	if ((!out && cap) || !written || !hs)
		return COLLAB_EINVAL;
	if (!target_ok(hs->path, 1) || !target_ok(hs->query, 0) ||
	    hs->host.len == 0 || !target_ok(hs->host, 0) || !key_ok(hs->key) ||
	    !value_ok(hs->origin) ||
	    (hs->protocols.len && !token_list_ok(hs->protocols)))
		return COLLAB_EINVAL;
	out_init(&o, out, cap);
	PUT(&o, "GET ");
	put_str(&o, hs->path);
	if (hs->query.len) {
		PUT(&o, "?");
		put_str(&o, hs->query);
	}
	PUT(&o, " HTTP/1.1\r\n");
	put_header(&o, "Host", hs->host);
	PUT(&o, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
	put_header(&o, "Sec-WebSocket-Key", hs->key);
	PUT(&o, "Sec-WebSocket-Version: 13\r\n");
	if (hs->origin.len)
		put_header(&o, "Origin", hs->origin);
	if (hs->protocols.len)
		put_header(&o, "Sec-WebSocket-Protocol", hs->protocols);
	PUT(&o, "\r\n");
	return finish(&o, written);
}
