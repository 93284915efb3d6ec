/*
 * fuzz_http.c - libFuzzer target for the HTTP head parsers, the upgrade
 * checks, query strings and URLs.
 *
 * Input: two bytes choosing a split point, then the bytes. The rest is
 * read as a request head, as a response head and as a URL. Invariants
 * checked (any violation aborts):
 *  - split invariance: parsing a prefix answers need-more or exactly what
 *    the whole input answers, with the same outputs;
 *  - accepted heads have in-bounds views, token names, CR/LF-free values;
 *  - a request accepted as an upgrade yields a 101 (our writer) that our
 *    response parser and client check accept;
 *  - a URL accepted by the URL parser yields an upgrade request (our
 *    writer) that our request parser and upgrade check accept.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/http.h"
#include "collab/common.h"

#define NH COLLAB_HTTP_DEFAULT_MAX_HEADERS

static void check(int cond)
{
	if (!cond)
		abort();
}

static size_t off(struct collab_str v, const uint8_t *base)
{
	return (size_t)((const uint8_t *)v.p - base);
}

static void view_in(struct collab_str v, const uint8_t *base, size_t len)
{
	check(v.len == 0 || (v.p && off(v, base) <= len && v.len <= len - off(v, base)));
}

static void headers_sane(const struct collab_http_header *h, size_t n,
			 const uint8_t *base, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		view_in(h[i].name, base, len);
		view_in(h[i].value, base, len);
		check(h[i].name.len > 0);
		for (size_t k = 0; k < h[i].name.len; k++)
			check(h[i].name.p[k] != ':' && h[i].name.p[k] != ' ');
		for (size_t k = 0; k < h[i].value.len; k++)
			check(h[i].value.p[k] != '\r' && h[i].value.p[k] != '\n' &&
			      h[i].value.p[k] != '\0');
		if (h[i].value.len)
			check(h[i].value.p[0] != ' ' && h[i].value.p[h[i].value.len - 1] != ' ');
	}
}

static void same_headers(const struct collab_http_header *a, const uint8_t *ab,
			 const struct collab_http_header *b, const uint8_t *bb, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		check(a[i].name.len == b[i].name.len && off(a[i].name, ab) == off(b[i].name, bb));
		check(a[i].value.len == b[i].value.len && off(a[i].value, ab) == off(b[i].value, bb));
	}
}

static void respond(const struct collab_http_request *req,
		    const struct collab_http_upgrade *up)
{
	char out[512];
	size_t w;
	struct collab_http_header h[NH];
	struct collab_http_response res;
	struct collab_str proto = { NULL, 0 }, sel;
	int offered = collab_http_offers_protocol(req, "collab.v1");

	if (offered)
		proto = COLLAB_STR("collab.v1");
	check(collab_http_write_upgrade_response(out, sizeof(out), up->key, proto, &w) == 0);
	collab_http_response_init(&res, h, NH);
	check(collab_http_parse_response(NULL, (const uint8_t *)out, w, &res) == 0);
	check(res.head_len == w);
	check(collab_http_check_upgrade_response(&res, up->key,
		offered ? COLLAB_STR("x, collab.v1") : (struct collab_str){ NULL, 0 },
		&sel, NULL) == 0);
	check(sel.len == proto.len);
}

static void request(const uint8_t *data, size_t size, size_t split)
{
	struct collab_http_header h[NH], h2[NH];
	struct collab_http_request req, req2;
	struct collab_http_upgrade up;
	uint8_t *prefix = malloc(split ? split : 1);
	int rc, rp;

	check(prefix != NULL);
	memcpy(prefix, data, split);
	collab_http_request_init(&req, h, NH);
	collab_http_request_init(&req2, h2, NH);
	rc = collab_http_parse_request(NULL, data, size, &req);
	rp = collab_http_parse_request(NULL, prefix, split, &req2);
	check(rc == 0 || rc == COLLAB_HTTP_NEED_MORE || rc == COLLAB_ESYNTAX ||
	      rc == COLLAB_ELIMIT);
	check(rp == COLLAB_HTTP_NEED_MORE || rp == rc);
	if (rp == 0) {
		check(req2.head_len == req.head_len && req2.num_headers == req.num_headers);
		check(off(req2.target, prefix) == off(req.target, data));
		check(off(req2.query, prefix) == off(req.query, data) &&
		      req2.query.len == req.query.len);
		same_headers(h2, prefix, h, data, req.num_headers);
	}
	free(prefix);
	if (rc != 0)
		return;
	check(req.head_len <= size && req.head_len <= COLLAB_HTTP_DEFAULT_MAX_HEAD_BYTES);
	view_in(req.method, data, size);
	view_in(req.target, data, size);
	view_in(req.path, data, size);
	view_in(req.query, data, size);
	check(req.path.len > 0 && req.path.p[0] == '/');
	headers_sane(h, req.num_headers, data, size);

	{
		char val[600], key[64];
		size_t vl, kl;
		struct collab_http_query q;
		int r = collab_http_query_get(req.query, "tenantId", val, sizeof(val), &vl);
		check(r == 0 || r == COLLAB_ENOTFOUND || r == COLLAB_EDUPKEY ||
		      r == COLLAB_ESYNTAX || r == COLLAB_ESPACE);
		(void)collab_http_query_get(req.query, "urlId", val, sizeof(val), &vl);
		collab_http_query_init(&q, req.query);
		for (int i = 0; i < 64; i++) {
			r = collab_http_query_next(&q, key, sizeof(key), &kl, val, sizeof(val), &vl);
			if (r == COLLAB_ENOTFOUND)
				break;
			if (r == 0)
				check(kl <= sizeof(key) && vl <= sizeof(val));
		}
		(void)collab_http_pct_decode(req.path, 0, val, sizeof(val), &vl);
	}

	if (collab_http_check_upgrade_request(&req, &up) == 0) {
		check(up.status == 0 && up.key.len == COLLAB_HTTP_KEY_LEN);
		respond(&req, &up);
	} else {
		char out[512];
		size_t w;
		check(up.status == 400 || up.status == 426);
		check(up.why && up.why[0]);
		check(collab_http_write_reject(out, sizeof(out), up.status, NULL, 0,
					       (struct collab_str){ up.why, strlen(up.why) },
					       &w) == 0);
	}
}

static void response(const uint8_t *data, size_t size, size_t split)
{
	struct collab_http_header h[NH], h2[NH];
	struct collab_http_response res, res2;
	struct collab_str sel;
	const char *why;
	uint8_t *prefix = malloc(split ? split : 1);
	int rc, rp;

	check(prefix != NULL);
	memcpy(prefix, data, split);
	collab_http_response_init(&res, h, NH);
	collab_http_response_init(&res2, h2, NH);
	rc = collab_http_parse_response(NULL, data, size, &res);
	rp = collab_http_parse_response(NULL, prefix, split, &res2);
	check(rp == COLLAB_HTTP_NEED_MORE || rp == rc);
	if (rp == 0) {
		check(res2.head_len == res.head_len && res2.status == res.status &&
		      res2.num_headers == res.num_headers);
		same_headers(h2, prefix, h, data, res.num_headers);
	}
	free(prefix);
	if (rc != 0)
		return;
	check(res.status >= 100 && res.status <= 599);
	view_in(res.reason, data, size);
	headers_sane(h, res.num_headers, data, size);
	if (collab_http_check_upgrade_response(&res, COLLAB_STR("dGhlIHNhbXBsZSBub25jZQ=="),
					       COLLAB_STR("chat, collab.v1"), &sel, &why) == 0)
		check(sel.len == 0 || collab_str_eq(sel, "chat", 4) ||
		      collab_str_eq(sel, "collab.v1", 9));
	else
		check(why && why[0]);
}

static void url(const uint8_t *data, size_t size)
{
	struct collab_http_url u;
	struct collab_http_handshake hs;
	struct collab_http_header h[NH];
	struct collab_http_request req;
	struct collab_http_upgrade up;
	char *copy = malloc(size ? size : 1);
	char out[COLLAB_HTTP_DEFAULT_MAX_HEAD_BYTES];
	size_t w;

	check(copy != NULL);
	memcpy(copy, data, size);
	if (collab_http_parse_url(copy, size, &u) == 0) {
		check(u.port > 0 && u.host.len > 0 && u.path.len > 0 && u.path.p[0] == '/');
		hs.path = u.path;
		hs.query = u.query;
		hs.host = u.authority;
		hs.key = COLLAB_STR("dGhlIHNhbXBsZSBub25jZQ==");
		hs.origin = COLLAB_STR("http://o");
		hs.protocols = COLLAB_STR("collab.v1");
		if (collab_http_write_upgrade_request(out, sizeof(out), &hs, &w) == 0) {
			collab_http_request_init(&req, h, NH);
			check(collab_http_parse_request(NULL, (const uint8_t *)out, w, &req) == 0);
			check(req.head_len == w);
			check(collab_http_check_upgrade_request(&req, &up) == 0);
			check(collab_str_eq(up.host, u.authority.p, u.authority.len));
			check(collab_http_offers_protocol(&req, "collab.v1"));
		}
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t split;

	if (size < 2)
		return 0;
	split = (size_t)(data[0] | (unsigned)data[1] << 8);
	data += 2;
	size -= 2;
	split %= size + 1;
	request(data, size, split);
	response(data, size, split);
	url(data, size);
	return 0;
}
