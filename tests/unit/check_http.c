/*
 * check_http.c - the HTTP head parser, query strings, URLs, the RFC 6455
 * handshake on both sides, and the writers.
 *
 * Every parser input goes through parse_req_all()/parse_res_all(), which
 * parses every prefix (each copied to end on a guard page) and demands
 * that a prefix answers either "need more" or exactly the full input's
 * answer, with identical outputs, and never "need more" again after that.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/http.h"
#include "collab/common.h"
#include "testutil.h"

#define NEED COLLAB_HTTP_NEED_MORE
#define S(lit) lit, sizeof(lit) - 1
#define MAXH 128

/* --- split-invariance harness ------------------------------------------- */

static void same_view(struct collab_str a, const uint8_t *abase,
		      struct collab_str b, const uint8_t *bbase)
{
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_uint_eq((size_t)((const uint8_t *)a.p - abase),
			  (size_t)((const uint8_t *)b.p - bbase));
}

static void same_headers(const struct collab_http_header *a, const uint8_t *abase,
			 const struct collab_http_header *b, const uint8_t *bbase,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		same_view(a[i].name, abase, b[i].name, bbase);
		same_view(a[i].value, abase, b[i].value, bbase);
	}
}

/* The parse of the whole input, kept for the caller to inspect. */
struct req_result {
	int rc;
	struct guard_buf g;
	struct collab_http_request req;
	struct collab_http_header h[MAXH];
};

struct res_result {
	int rc;
	struct guard_buf g;
	struct collab_http_response res;
	struct collab_http_header h[MAXH];
};

static void parse_req_all(const struct collab_http_config *cfg, const char *s,
			  size_t n, struct req_result *out)
{
	int seen = 0;

	out->g = guard_copy(s, n);
	ck_assert_ptr_nonnull(out->g.map);
	collab_http_request_init(&out->req, out->h, MAXH);
	out->rc = collab_http_parse_request(cfg, out->g.p, n, &out->req);
	for (size_t k = 0; k < n; k++) {
		struct collab_http_header h[MAXH];
		struct collab_http_request r;
		struct guard_buf g = guard_copy(s, k);
		int rc;

		ck_assert_ptr_nonnull(g.map);
		collab_http_request_init(&r, h, MAXH);
		rc = collab_http_parse_request(cfg, g.p, k, &r);
		if (rc == NEED) {
			ck_assert_msg(!seen, "need-more after a final answer at %zu", k);
		} else {
			seen = 1;
			ck_assert_msg(rc == out->rc, "prefix %zu gave %d, whole %d",
				      k, rc, out->rc);
			if (rc == 0) {
				ck_assert_uint_eq(r.head_len, out->req.head_len);
				ck_assert_uint_eq(r.num_headers, out->req.num_headers);
				same_view(r.method, g.p, out->req.method, out->g.p);
				same_view(r.target, g.p, out->req.target, out->g.p);
				same_view(r.path, g.p, out->req.path, out->g.p);
				same_view(r.query, g.p, out->req.query, out->g.p);
				same_view(r.version, g.p, out->req.version, out->g.p);
				same_headers(r.headers, g.p, out->req.headers,
					     out->g.p, r.num_headers);
			}
		}
		guard_free(&g);
	}
}

static void parse_res_all(const struct collab_http_config *cfg, const char *s,
			  size_t n, struct res_result *out)
{
	int seen = 0;

	out->g = guard_copy(s, n);
	ck_assert_ptr_nonnull(out->g.map);
	collab_http_response_init(&out->res, out->h, MAXH);
	out->rc = collab_http_parse_response(cfg, out->g.p, n, &out->res);
	for (size_t k = 0; k < n; k++) {
		struct collab_http_header h[MAXH];
		struct collab_http_response r;
		struct guard_buf g = guard_copy(s, k);
		int rc;

		ck_assert_ptr_nonnull(g.map);
		collab_http_response_init(&r, h, MAXH);
		rc = collab_http_parse_response(cfg, g.p, k, &r);
		if (rc == NEED) {
			ck_assert_msg(!seen, "need-more after a final answer at %zu", k);
		} else {
			seen = 1;
			ck_assert_int_eq(rc, out->rc);
			if (rc == 0) {
				ck_assert_uint_eq(r.head_len, out->res.head_len);
				ck_assert_uint_eq(r.status, out->res.status);
				ck_assert_uint_eq(r.num_headers, out->res.num_headers);
				same_view(r.reason, g.p, out->res.reason, out->g.p);
				same_headers(r.headers, g.p, out->res.headers,
					     out->g.p, r.num_headers);
			}
		}
		guard_free(&g);
	}
}

static int view_is(struct collab_str v, const char *lit)
{
	return collab_str_eq(v, lit, strlen(lit));
}

/* --- RFC 6455 vectors --------------------------------------------------- */

#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

START_TEST(rfc6455_accept)
{
	char out[COLLAB_HTTP_ACCEPT_LEN];
	char key[COLLAB_HTTP_KEY_LEN];

	/* RFC 6455 1.3, verbatim. */
	collab_http_accept_key(S(RFC_KEY), out);
	ck_assert(memcmp(out, RFC_ACCEPT, COLLAB_HTTP_ACCEPT_LEN) == 0);
	/* The RFC's key is base64 of the 16 bytes "the sample nonce". */
	collab_http_make_key((const uint8_t *)"the sample nonce", key);
	ck_assert(memcmp(key, RFC_KEY, COLLAB_HTTP_KEY_LEN) == 0);
}
END_TEST

static const char rfc_request[] =
	"GET /chat HTTP/1.1\r\n"
	"Host: server.example.com\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Origin: http://example.com\r\n"
	"Sec-WebSocket-Protocol: chat, superchat\r\n"
	"Sec-WebSocket-Version: 13\r\n"
	"\r\n";

static const char rfc_response[] =
	"HTTP/1.1 101 Switching Protocols\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	"Sec-WebSocket-Protocol: chat\r\n"
	"\r\n";

START_TEST(rfc6455_handshake)
{
	struct req_result rr;
	struct res_result sr;
	struct collab_http_upgrade up;
	struct collab_str sel;
	const char *why = NULL;
	char out[512];
	size_t w = 0;

	parse_req_all(NULL, S(rfc_request), &rr);
	ck_assert_int_eq(rr.rc, 0);
	ck_assert_uint_eq(rr.req.head_len, sizeof(rfc_request) - 1);
	ck_assert(view_is(rr.req.method, "GET"));
	ck_assert(view_is(rr.req.target, "/chat"));
	ck_assert(view_is(rr.req.path, "/chat"));
	ck_assert_uint_eq(rr.req.query.len, 0);
	ck_assert(view_is(rr.req.version, "HTTP/1.1"));
	ck_assert_uint_eq(rr.req.num_headers, 7);
	ck_assert(view_is(rr.req.headers[0].name, "Host"));
	ck_assert(view_is(rr.req.headers[0].value, "server.example.com"));
	ck_assert(view_is(rr.req.headers[5].value, "chat, superchat"));

	ck_assert_int_eq(collab_http_check_upgrade_request(&rr.req, &up), 0);
	ck_assert_uint_eq(up.status, 0);
	ck_assert_str_eq(up.why, "");
	ck_assert(view_is(up.key, RFC_KEY));
	ck_assert(view_is(up.host, "server.example.com"));
	ck_assert_int_eq(up.has_origin, 1);
	ck_assert(view_is(up.origin, "http://example.com"));
	ck_assert_int_eq(collab_http_offers_protocol(&rr.req, "chat"), 1);
	ck_assert_int_eq(collab_http_offers_protocol(&rr.req, "superchat"), 1);
	ck_assert_int_eq(collab_http_offers_protocol(&rr.req, "collab.v1"), 0);
	ck_assert_int_eq(collab_http_offers_protocol(&rr.req, "Chat"), 0);

	/* Our 101 for it is the RFC's, byte for byte. */
	ck_assert_int_eq(collab_http_write_upgrade_response(out, sizeof(out), up.key,
							     COLLAB_STR("chat"), &w), 0);
	ck_assert_uint_eq(w, sizeof(rfc_response) - 1);
	ck_assert(memcmp(out, rfc_response, w) == 0);

	parse_res_all(NULL, S(rfc_response), &sr);
	ck_assert_int_eq(sr.rc, 0);
	ck_assert_uint_eq(sr.res.status, 101);
	ck_assert(view_is(sr.res.reason, "Switching Protocols"));
	ck_assert(view_is(sr.res.version, "HTTP/1.1"));
	ck_assert_int_eq(collab_http_check_upgrade_response(&sr.res, COLLAB_STR(RFC_KEY),
			 COLLAB_STR("chat, superchat"), &sel, &why), 0);
	ck_assert(view_is(sel, "chat"));
	ck_assert_str_eq(why, "");
	guard_free(&rr.g);
	guard_free(&sr.g);
}
END_TEST

/* --- request heads: parse result and upgrade status --------------------- */

#define RL "GET /ws?tenantId=demo&urlId=x HTTP/1.1\r\n"
#define HOST "Host: example.com\r\n"
#define UPG "Upgrade: websocket\r\n"
#define CONN "Connection: Upgrade\r\n"
#define KEY "Sec-WebSocket-Key: " RFC_KEY "\r\n"
#define VER "Sec-WebSocket-Version: 13\r\n"
#define END "\r\n"
#define NOUP -1 /* parse result only */

struct req_case {
	const char *name;
	const char *s;
	size_t n;
	int rc;          /* parser result */
	int status;      /* upgrade status when rc == 0 (0 = valid) */
};

static const struct req_case req_cases[] = {
	/* valid upgrades */
	{ "minimal", S(RL HOST UPG CONN KEY VER END), 0, 0 },
	{ "keep-alive list", S(RL HOST UPG "Connection: keep-alive, Upgrade\r\n" KEY VER END), 0, 0 },
	{ "case of tokens", S(RL HOST "Upgrade: WebSocket\r\nConnection: upgrade\r\n" KEY VER END), 0, 0 },
	{ "Connection on two lines", S(RL HOST UPG "Connection: keep-alive\r\nConnection: Upgrade\r\n" KEY VER END), 0, 0 },
	{ "Upgrade list", S(RL HOST "Upgrade: h2c, websocket\r\n" CONN KEY VER END), 0, 0 },
	{ "OWS around values", S(RL "Host:example.com \t\r\n" UPG CONN "Sec-WebSocket-Key: \t " RFC_KEY " \t\r\n" "Sec-WebSocket-Version:13\r\n" END), 0, 0 },
	{ "header names any case", S(RL "host: a\r\nUPGRADE: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: " RFC_KEY "\r\nSEC-WEBSOCKET-VERSION: 13\r\n" END), 0, 0 },
	{ "Content-Length 0", S(RL HOST UPG CONN KEY VER "Content-Length: 0\r\n" END), 0, 0 },
	{ "protocol list with empty elements", S(RL HOST UPG CONN KEY VER "Sec-WebSocket-Protocol: chat, , superchat,\r\n" END), 0, 0 },
	{ "Origin once", S(RL HOST UPG CONN KEY VER "Origin: http://example.com\r\n" END), 0, 0 },
	{ "empty Host", S(RL "Host:\r\n" UPG CONN KEY VER END), 0, 0 },
	{ "obs-text in a value", S(RL HOST UPG CONN KEY VER "X-Name: caf\xc3\xa9\x80\xff\r\n" END), 0, 0 },
	{ "HTAB inside a value", S(RL HOST UPG CONN KEY VER "X-T: a\tb\r\n" END), 0, 0 },
	{ "plain path", S("GET / HTTP/1.1\r\n" HOST UPG CONN KEY VER END), 0, 0 },
	/* parsed, refused as upgrades */
	{ "POST", S("POST /ws HTTP/1.1\r\n" HOST UPG CONN KEY VER END), 0, 400 },
	{ "lowercase get", S("get /ws HTTP/1.1\r\n" HOST UPG CONN KEY VER END), 0, 400 },
	{ "no headers", S("GET / HTTP/1.1\r\n\r\n"), 0, 400 },
	{ "no Host", S(RL UPG CONN KEY VER END), 0, 400 },
	{ "two Hosts", S(RL HOST HOST UPG CONN KEY VER END), 0, 400 },
	{ "Transfer-Encoding", S(RL HOST UPG CONN KEY VER "Transfer-Encoding: chunked\r\n" END), 0, 400 },
	{ "Content-Length 5", S(RL HOST UPG CONN KEY VER "Content-Length: 5\r\n" END), 0, 400 },
	{ "no Upgrade", S(RL HOST CONN KEY VER END), 0, 400 },
	{ "Upgrade websocket2", S(RL HOST "Upgrade: websocket2\r\n" CONN KEY VER END), 0, 400 },
	{ "Upgrade websocket/13", S(RL HOST "Upgrade: websocket/13\r\n" CONN KEY VER END), 0, 400 },
	{ "Upgrade h2c", S(RL HOST "Upgrade: h2c\r\n" CONN KEY VER END), 0, 400 },
	{ "no Connection", S(RL HOST UPG KEY VER END), 0, 400 },
	{ "Connection keep-alive", S(RL HOST UPG "Connection: keep-alive\r\n" KEY VER END), 0, 400 },
	{ "Connection Upgraded", S(RL HOST UPG "Connection: Upgraded\r\n" KEY VER END), 0, 400 },
	{ "no key", S(RL HOST UPG CONN VER END), 0, 400 },
	{ "two keys", S(RL HOST UPG CONN KEY KEY VER END), 0, 400 },
	{ "key 23 chars", S(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n" VER END), 0, 400 },
	{ "key of 15 bytes", S(RL HOST UPG CONN "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n" VER END), 0, 400 },
	{ "key of 17 bytes", S(RL HOST UPG CONN "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n" VER END), 0, 400 },
	{ "key non-canonical", S(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n" VER END), 0, 400 },
	{ "key bad char", S(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ!==\r\n" VER END), 0, 400 },
	{ "key empty", S(RL HOST UPG CONN "Sec-WebSocket-Key:\r\n" VER END), 0, 400 },
	{ "two Origins", S(RL HOST UPG CONN KEY VER "Origin: http://a\r\nOrigin: http://b\r\n" END), 0, 400 },
	{ "protocol not a token", S(RL HOST UPG CONN KEY VER "Sec-WebSocket-Protocol: a b\r\n" END), 0, 400 },
	{ "protocol with separator", S(RL HOST UPG CONN KEY VER "Sec-WebSocket-Protocol: chat;x\r\n" END), 0, 400 },
	{ "version 12", S(RL HOST UPG CONN KEY "Sec-WebSocket-Version: 12\r\n" END), 0, 426 },
	{ "version missing", S(RL HOST UPG CONN KEY END), 0, 426 },
	{ "version list", S(RL HOST UPG CONN KEY "Sec-WebSocket-Version: 13, 8\r\n" END), 0, 426 },
	{ "version 013", S(RL HOST UPG CONN KEY "Sec-WebSocket-Version: 013\r\n" END), 0, 426 },
	{ "version twice", S(RL HOST UPG CONN KEY VER VER END), 0, 400 },
	{ "400 outranks 426", S(RL HOST UPG CONN "Sec-WebSocket-Version: 8\r\n" END), 0, 400 },
	/* incomplete */
	{ "empty", S(""), NEED, NOUP },
	{ "method only", S("GET"), NEED, NOUP },
	{ "no final CRLF", S(RL HOST), NEED, NOUP },
	{ "final CR only", S(RL HOST "\r"), NEED, NOUP },
	/* malformed: 400 */
	{ "bare LF ends request line", S("GET / HTTP/1.1\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "bare LF ends field", S("GET / HTTP/1.1\r\nHost: a\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "bare LF ends head", S("GET / HTTP/1.1\r\nHost: a\r\n\n"), COLLAB_ESYNTAX, NOUP },
	{ "bare CR after request line", S("GET / HTTP/1.1\r\rHost: a\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "bare CR in value", S("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "bare CR ends head", S("GET / HTTP/1.1\r\nHost: a\r\n\rx"), COLLAB_ESYNTAX, NOUP },
	{ "obs-fold SP", S("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "obs-fold HTAB", S("GET / HTTP/1.1\r\nHost: a\r\n\tb\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "space before first field", S("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "space before colon", S("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "HTAB before colon", S("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "empty name", S("GET / HTTP/1.1\r\n: a\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "no colon", S("GET / HTTP/1.1\r\nHost a\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "name with (", S("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "name with non-ASCII", S("GET / HTTP/1.1\r\nH\xc3\xb6st: a\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "NUL in value", S("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "SOH in value", S("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "DEL in value", S("GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
	{ "HTTP/1.0", S("GET / HTTP/1.0\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "HTTP/2", S("GET / HTTP/2\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "HTTP/1.10", S("GET / HTTP/1.10\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "lowercase version", S("GET / http/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "space after version", S("GET / HTTP/1.1 \r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "no version", S("GET /\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "two spaces after method", S("GET  / HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "two spaces after target", S("GET /  HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "HTAB after method", S("GET\t/ HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "absolute-form", S("GET http://a/ HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "asterisk-form", S("OPTIONS * HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "authority-form", S("CONNECT a:443 HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "no target", S("GET HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "CTL in target", S("GET /a\x01 HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "DEL in target", S("GET /a\x7f HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "HTAB in target", S("GET /a\tb HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "non-ASCII in target", S("GET /\xc3\xa9 HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "fragment in target", S("GET /a#f HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "method not a token", S("G(T / HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "empty method", S(" / HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "CRLF before request line", S("\r\nGET / HTTP/1.1\r\n" HOST END), COLLAB_ESYNTAX, NOUP },
	{ "response given to request parser", S("HTTP/1.1 200 OK\r\n\r\n"), COLLAB_ESYNTAX, NOUP },
};

START_TEST(request_table)
{
	const struct req_case *c = &req_cases[_i];
	struct req_result rr;
	struct collab_http_upgrade up;

	parse_req_all(NULL, c->s, c->n, &rr);
	ck_assert_msg(rr.rc == c->rc, "%s: got %d want %d", c->name, rr.rc, c->rc);
	if (rr.rc == 0) {
		int r = collab_http_check_upgrade_request(&rr.req, &up);
		ck_assert_uint_eq(rr.req.head_len, c->n);
		ck_assert_msg((int)up.status == c->status, "%s: status %u want %d (%s)",
			      c->name, up.status, c->status, up.why);
		ck_assert_int_eq(r, c->status ? COLLAB_EHANDSHAKE : 0);
		ck_assert(c->status ? up.why[0] != '\0' : up.why[0] == '\0');
	}
	if (c->rc < 0)
		ck_assert_uint_eq(collab_http_error_status(c->rc), 400);
	guard_free(&rr.g);
}
END_TEST

/* Bytes after the head are left alone: they belong to the frame layer. */
START_TEST(request_trailing_bytes)
{
	const char *head = req_cases[_i].s;
	size_t n = req_cases[_i].n;
	char buf[1024];
	struct collab_http_header h[MAXH];
	struct collab_http_request req;

	if (req_cases[_i].rc != 0)
		return;
	ck_assert_uint_lt(n + 6, sizeof(buf));
	memcpy(buf, head, n);
	memcpy(buf + n, "\x81\x85\r\n\r\n", 6);
	struct guard_buf g = guard_copy(buf, n + 6);
	collab_http_request_init(&req, h, MAXH);
	ck_assert_int_eq(collab_http_parse_request(NULL, g.p, n + 6, &req), 0);
	ck_assert_uint_eq(req.head_len, n);
	guard_free(&g);
}
END_TEST

struct target_case {
	const char *line;
	const char *target, *path, *query;
};

static const struct target_case target_cases[] = {
	{ "GET /ws?a=b HTTP/1.1\r\n\r\n", "/ws?a=b", "/ws", "a=b" },
	{ "GET /ws? HTTP/1.1\r\n\r\n", "/ws?", "/ws", "" },
	{ "GET /a?b?c HTTP/1.1\r\n\r\n", "/a?b?c", "/a", "b?c" },
	{ "GET / HTTP/1.1\r\n\r\n", "/", "/", "" },
	{ "GET //x/%41?%zz HTTP/1.1\r\n\r\n", "//x/%41?%zz", "//x/%41", "%zz" },
	{ "M-SEARCH /{|}^`\"<>\\ HTTP/1.1\r\n\r\n", "/{|}^`\"<>\\", "/{|}^`\"<>\\", "" },
};

START_TEST(request_target)
{
	const struct target_case *c = &target_cases[_i];
	struct req_result rr;

	parse_req_all(NULL, c->line, strlen(c->line), &rr);
	ck_assert_int_eq(rr.rc, 0);
	ck_assert(view_is(rr.req.target, c->target));
	ck_assert(view_is(rr.req.path, c->path));
	ck_assert(view_is(rr.req.query, c->query));
	ck_assert_uint_eq(rr.req.num_headers, 0);
	guard_free(&rr.g);
}
END_TEST

START_TEST(request_values_trimmed)
{
	static const char s[] =
		"GET / HTTP/1.1\r\n"
		"A: \t v a l \t \r\n"
		"B:\r\n"
		"C:   \t\r\n"
		"D:x\r\n"
		"E: \x80\xff \r\n"
		"\r\n";
	struct req_result rr;

	parse_req_all(NULL, S(s), &rr);
	ck_assert_int_eq(rr.rc, 0);
	ck_assert_uint_eq(rr.req.num_headers, 5);
	ck_assert(view_is(rr.req.headers[0].value, "v a l"));
	ck_assert(view_is(rr.req.headers[1].value, ""));
	ck_assert(view_is(rr.req.headers[2].value, ""));
	ck_assert(view_is(rr.req.headers[3].value, "x"));
	ck_assert(view_is(rr.req.headers[4].value, "\x80\xff"));
	ck_assert(view_is(rr.req.headers[4].name, "E"));
	guard_free(&rr.g);
}
END_TEST

/* --- limits --------------------------------------------------------------- */

/* A request head of exactly n bytes: one padding header fills it. */
static char *head_of(size_t n)
{
	static const char pre[] = "GET / HTTP/1.1\r\nX-Pad: ";
	static const char post[] = "\r\n\r\n";
	char *s = malloc(n);
	size_t pad = n - (sizeof(pre) - 1) - (sizeof(post) - 1);
	ck_assert_ptr_nonnull(s);
	memcpy(s, pre, sizeof(pre) - 1);
	memset(s + sizeof(pre) - 1, 'a', pad);
	memcpy(s + n - (sizeof(post) - 1), post, sizeof(post) - 1);
	return s;
}

START_TEST(limit_head_bytes)
{
	struct req_result rr;
	char *s = head_of(8192);

	parse_req_all(NULL, s, 8192, &rr);
	ck_assert_int_eq(rr.rc, 0);
	ck_assert_uint_eq(rr.req.head_len, 8192);
	guard_free(&rr.g);
	free(s);

	s = head_of(8193);
	parse_req_all(NULL, s, 8193, &rr);
	ck_assert_int_eq(rr.rc, COLLAB_ELIMIT);
	ck_assert_uint_eq(collab_http_error_status(rr.rc), 431);
	guard_free(&rr.g);
	free(s);
}
END_TEST

START_TEST(limit_head_bytes_details)
{
	struct collab_http_header h[MAXH];
	struct collab_http_request req;
	char *a = head_of(8192);
	char *b = malloc(8200);
	struct guard_buf g;

	ck_assert_ptr_nonnull(b);
	/* A complete 8 KiB head followed by frame bytes is fine. */
	memcpy(b, a, 8192);
	memset(b + 8192, 'z', 8);
	g = guard_copy(b, 8200);
	collab_http_request_init(&req, h, MAXH);
	ck_assert_int_eq(collab_http_parse_request(NULL, g.p, 8200, &req), 0);
	ck_assert_uint_eq(req.head_len, 8192);
	guard_free(&g);
	/* The first 8192 bytes of an unfinished head: need more; one byte
	 * more without an end: 431. */
	memset(b + 8188, 'a', 4);
	g = guard_copy(b, 8192);
	ck_assert_int_eq(collab_http_parse_request(NULL, g.p, 8192, &req), NEED);
	guard_free(&g);
	g = guard_copy(b, 8193);
	ck_assert_int_eq(collab_http_parse_request(NULL, g.p, 8193, &req),
			 COLLAB_ELIMIT);
	guard_free(&g);
	/* A syntax error inside the limit is reported as such. */
	b[3] = '\n';
	g = guard_copy(b, 8200);
	ck_assert_int_eq(collab_http_parse_request(NULL, g.p, 8200, &req),
			 COLLAB_ESYNTAX);
	guard_free(&g);
	free(a);
	free(b);
}
END_TEST

static char *many_headers(size_t count, size_t *len)
{
	size_t cap = 64 + count * 16, n = 0;
	char *s = malloc(cap);
	ck_assert_ptr_nonnull(s);
	n += (size_t)snprintf(s + n, cap - n, "GET / HTTP/1.1\r\n");
	for (size_t i = 0; i < count; i++)
		n += (size_t)snprintf(s + n, cap - n, "H%zu: v\r\n", i);
	n += (size_t)snprintf(s + n, cap - n, "\r\n");
	*len = n;
	return s;
}

START_TEST(limit_header_count)
{
	struct req_result rr;
	size_t n;
	char *s = many_headers(64, &n);

	parse_req_all(NULL, s, n, &rr);
	ck_assert_int_eq(rr.rc, 0);
	ck_assert_uint_eq(rr.req.num_headers, 64);
	ck_assert(view_is(rr.req.headers[63].name, "H63"));
	guard_free(&rr.g);
	free(s);

	s = many_headers(65, &n);
	parse_req_all(NULL, s, n, &rr);
	ck_assert_int_eq(rr.rc, COLLAB_ELIMIT);
	guard_free(&rr.g);
	free(s);
}
END_TEST

START_TEST(limit_config_and_args)
{
	struct collab_http_config cfg;
	struct collab_http_header h[MAXH];
	struct collab_http_request req;
	struct collab_http_response res;
	struct req_result rr;
	static const char two[] = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
	static const char three[] = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";

	collab_http_config_init(&cfg);
	ck_assert_uint_eq(cfg.max_head_bytes, 8192);
	ck_assert_uint_eq(cfg.max_headers, 64);

	cfg.max_headers = 2;
	parse_req_all(&cfg, S(two), &rr);
	ck_assert_int_eq(rr.rc, 0);
	guard_free(&rr.g);
	parse_req_all(&cfg, S(three), &rr);
	ck_assert_int_eq(rr.rc, COLLAB_ELIMIT);
	guard_free(&rr.g);

	cfg.max_headers = 64;
	cfg.max_head_bytes = sizeof(two) - 1;
	parse_req_all(&cfg, S(two), &rr);
	ck_assert_int_eq(rr.rc, 0);
	guard_free(&rr.g);
	cfg.max_head_bytes = sizeof(two) - 2;
	parse_req_all(&cfg, S(two), &rr);
	ck_assert_int_eq(rr.rc, COLLAB_ELIMIT);
	guard_free(&rr.g);

	/* The array must hold the configured limit. */
	collab_http_request_init(&req, h, 63);
	ck_assert_int_eq(collab_http_parse_request(NULL, (const uint8_t *)two,
						   sizeof(two) - 1, &req), COLLAB_EINVAL);
	collab_http_response_init(&res, h, 63);
	ck_assert_int_eq(collab_http_parse_response(NULL, (const uint8_t *)"HTTP", 4,
						    &res), COLLAB_EINVAL);
	collab_http_request_init(&req, NULL, 64);
	ck_assert_int_eq(collab_http_parse_request(NULL, (const uint8_t *)two,
						   sizeof(two) - 1, &req), COLLAB_EINVAL);
	collab_http_request_init(&req, h, 64);
	ck_assert_int_eq(collab_http_parse_request(NULL, NULL, 3, &req), COLLAB_EINVAL);
	ck_assert_int_eq(collab_http_parse_request(NULL, NULL, 0, &req), NEED);
	ck_assert_int_eq(collab_http_parse_request(NULL, (const uint8_t *)two,
						   sizeof(two) - 1, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_http_parse_response(NULL, (const uint8_t *)two,
						    sizeof(two) - 1, NULL), COLLAB_EINVAL);
	/* No headers allowed at all. */
	cfg.max_headers = 0;
	cfg.max_head_bytes = 8192;
	collab_http_request_init(&req, NULL, 0);
	ck_assert_int_eq(collab_http_parse_request(&cfg, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n",
						   18, &req), 0);
	ck_assert_int_eq(collab_http_parse_request(&cfg, (const uint8_t *)two,
						   sizeof(two) - 1, &req), COLLAB_ELIMIT);
}
END_TEST

START_TEST(limit_response)
{
	struct res_result sr;
	static const char pre[] = "HTTP/1.1 101 Switching Protocols\r\nX: ";
	char *s = malloc(8193);

	ck_assert_ptr_nonnull(s);
	memcpy(s, pre, sizeof(pre) - 1);
	memset(s + sizeof(pre) - 1, 'b', 8192 - (sizeof(pre) - 1) - 4);
	memcpy(s + 8188, "\r\n\r\n", 4);
	parse_res_all(NULL, s, 8192, &sr);
	ck_assert_int_eq(sr.rc, 0);
	ck_assert_uint_eq(sr.res.head_len, 8192);
	guard_free(&sr.g);
	memset(s + 8188, 'b', 1);
	memcpy(s + 8189, "\r\n\r\n", 4);
	parse_res_all(NULL, s, 8193, &sr);
	ck_assert_int_eq(sr.rc, COLLAB_ELIMIT);
	guard_free(&sr.g);
	free(s);
}
END_TEST

/* --- responses ------------------------------------------------------------ */

#define R101 "HTTP/1.1 101 Switching Protocols\r\n"
#define RUPG "Upgrade: websocket\r\n"
#define RCONN "Connection: Upgrade\r\n"
#define RACC "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"

struct res_case {
	const char *name;
	const char *s;
	size_t n;
	int rc;            /* parser result */
	unsigned status;
	const char *offered;
	int check;         /* check_upgrade_response result when rc == 0 */
	const char *selected;
};

static const struct res_case res_cases[] = {
	{ "RFC response", S(rfc_response), 0, 101, "chat, superchat", 0, "chat" },
	{ "no protocol", S(R101 RUPG RCONN RACC END), 0, 101, "", 0, "" },
	{ "no protocol selected of offered", S(R101 RUPG RCONN RACC END), 0, 101, "collab.v1", 0, "" },
	{ "empty reason", S("HTTP/1.1 101 \r\n" RUPG RCONN RACC END), 0, 101, "", 0, "" },
	{ "token case", S(R101 "upgrade: WEBSOCKET\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept: " RFC_ACCEPT "\r\n" END), 0, 101, "", 0, "" },
	{ "collab.v1 selected", S(R101 RUPG RCONN RACC "Sec-WebSocket-Protocol: collab.v1\r\n" END), 0, 101, "collab.v1", 0, "collab.v1" },
	{ "status 200", S("HTTP/1.1 200 OK\r\n" RUPG RCONN RACC END), 0, 200, "", COLLAB_EHANDSHAKE, "" },
	{ "status 426", S("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n" END), 0, 426, "", COLLAB_EHANDSHAKE, "" },
	{ "no Upgrade", S(R101 RCONN RACC END), 0, 101, "", COLLAB_EHANDSHAKE, "" },
	{ "no Connection", S(R101 RUPG RACC END), 0, 101, "", COLLAB_EHANDSHAKE, "" },
	{ "no Accept", S(R101 RUPG RCONN END), 0, 101, "", COLLAB_EHANDSHAKE, "" },
	{ "wrong Accept", S(R101 RUPG RCONN "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp=\r\n" END), 0, 101, "", COLLAB_EHANDSHAKE, "" },
	{ "Accept twice", S(R101 RUPG RCONN RACC RACC END), 0, 101, "", COLLAB_EHANDSHAKE, "" },
	{ "extension", S(R101 RUPG RCONN RACC "Sec-WebSocket-Extensions: permessage-deflate\r\n" END), 0, 101, "", COLLAB_EHANDSHAKE, "" },
	{ "protocol not offered", S(R101 RUPG RCONN RACC "Sec-WebSocket-Protocol: superchat2\r\n" END), 0, 101, "chat, superchat", COLLAB_EHANDSHAKE, "" },
	{ "protocol of other case", S(R101 RUPG RCONN RACC "Sec-WebSocket-Protocol: Chat\r\n" END), 0, 101, "chat", COLLAB_EHANDSHAKE, "" },
	{ "protocol when none offered", S(R101 RUPG RCONN RACC "Sec-WebSocket-Protocol: chat\r\n" END), 0, 101, "", COLLAB_EHANDSHAKE, "" },
	{ "protocol list selected", S(R101 RUPG RCONN RACC "Sec-WebSocket-Protocol: chat, superchat\r\n" END), 0, 101, "chat, superchat", COLLAB_EHANDSHAKE, "" },
	{ "protocol twice", S(R101 RUPG RCONN RACC "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n" END), 0, 101, "chat", COLLAB_EHANDSHAKE, "" },
	{ "incomplete", S(R101 RUPG), NEED, 0, "", 0, "" },
	{ "HTTP/1.0", S("HTTP/1.0 101 Switching Protocols\r\n" END), COLLAB_ESYNTAX, 0, "", 0, "" },
	{ "no SP after status", S("HTTP/1.1 101\r\n" END), COLLAB_ESYNTAX, 0, "", 0, "" },
	{ "two-digit status", S("HTTP/1.1 99 x\r\n" END), COLLAB_ESYNTAX, 0, "", 0, "" },
	{ "four-digit status", S("HTTP/1.1 1010 x\r\n" END), COLLAB_ESYNTAX, 0, "", 0, "" },
	{ "status 600", S("HTTP/1.1 600 x\r\n" END), COLLAB_ESYNTAX, 0, "", 0, "" },
	{ "status 099", S("HTTP/1.1 099 x\r\n" END), COLLAB_ESYNTAX, 0, "", 0, "" },
	{ "two spaces", S("HTTP/1.1  101 x\r\n" END), COLLAB_ESYNTAX, 0, "", 0, "" },
	{ "CTL in reason", S("HTTP/1.1 101 a\x01\r\n" END), COLLAB_ESYNTAX, 0, "", 0, "" },
	{ "bare LF", S("HTTP/1.1 101 x\n" END), COLLAB_ESYNTAX, 0, "", 0, "" },
	{ "obs-fold", S(R101 RUPG " x\r\n" END), COLLAB_ESYNTAX, 0, "", 0, "" },
	{ "request given", S("GET / HTTP/1.1\r\n\r\n"), COLLAB_ESYNTAX, 0, "", 0, "" },
};

START_TEST(response_table)
{
	const struct res_case *c = &res_cases[_i];
	struct res_result sr;
	struct collab_str sel;
	const char *why = NULL;

	parse_res_all(NULL, c->s, c->n, &sr);
	ck_assert_msg(sr.rc == c->rc, "%s: got %d want %d", c->name, sr.rc, c->rc);
	if (sr.rc == 0) {
		int r;
		ck_assert_uint_eq(sr.res.head_len, c->n);
		ck_assert_uint_eq(sr.res.status, c->status);
		r = collab_http_check_upgrade_response(&sr.res, COLLAB_STR(RFC_KEY),
			(struct collab_str){ c->offered, strlen(c->offered) }, &sel, &why);
		ck_assert_msg(r == c->check, "%s: check %d want %d", c->name, r, c->check);
		ck_assert_ptr_nonnull(why);
		ck_assert(r ? why[0] != '\0' : why[0] == '\0');
		ck_assert(view_is(sel, r ? "" : c->selected));
		/* NULL out-parameters are allowed. */
		ck_assert_int_eq(collab_http_check_upgrade_response(&sr.res,
			COLLAB_STR(RFC_KEY),
			(struct collab_str){ c->offered, strlen(c->offered) },
			NULL, NULL), c->check);
	}
	guard_free(&sr.g);
}
END_TEST

/* --- header helpers ------------------------------------------------------- */

START_TEST(header_helpers)
{
	static const char s[] =
		"GET / HTTP/1.1\r\n"
		"Accept: a\r\n"
		"X-List: one, two ,,\r\n"
		"accept: b\r\n"
		"x-list: , three\r\n"
		"Solo: s\r\n"
		"\r\n";
	struct req_result rr;
	const struct collab_http_header *h;
	struct collab_http_list it;
	struct collab_str v;
	size_t n;

	parse_req_all(NULL, S(s), &rr);
	ck_assert_int_eq(rr.rc, 0);
	h = rr.req.headers;
	n = rr.req.num_headers;
	ck_assert_uint_eq(collab_http_header_find(h, n, "ACCEPT", 0), 0);
	ck_assert_uint_eq(collab_http_header_find(h, n, "accept", 1), 2);
	ck_assert_uint_eq(collab_http_header_find(h, n, "Accept", 3), n);
	ck_assert_uint_eq(collab_http_header_find(h, n, "Accep", 0), n);
	ck_assert_uint_eq(collab_http_header_find(NULL, 0, "Accept", 0), 0);
	ck_assert_int_eq(collab_http_header_get(h, n, "solo", &v), 0);
	ck_assert(view_is(v, "s"));
	ck_assert_int_eq(collab_http_header_get(h, n, "Accept", &v), COLLAB_EDUPKEY);
	ck_assert(view_is(v, "a"));
	ck_assert_int_eq(collab_http_header_get(h, n, "Missing", &v), COLLAB_ENOTFOUND);

	collab_http_list_init(&it, h, n, "X-LIST");
	ck_assert_int_eq(collab_http_list_next(&it, &v), 0);
	ck_assert(view_is(v, "one"));
	ck_assert_int_eq(collab_http_list_next(&it, &v), 0);
	ck_assert(view_is(v, "two"));
	ck_assert_int_eq(collab_http_list_next(&it, &v), 0);
	ck_assert(view_is(v, "three"));
	ck_assert_int_eq(collab_http_list_next(&it, &v), COLLAB_ENOTFOUND);
	ck_assert_int_eq(collab_http_list_next(&it, &v), COLLAB_ENOTFOUND);
	collab_http_list_init(&it, h, n, "Nothing");
	ck_assert_int_eq(collab_http_list_next(&it, &v), COLLAB_ENOTFOUND);

	ck_assert_int_eq(collab_http_list_has(h, n, "x-list", "TWO"), 1);
	ck_assert_int_eq(collab_http_list_has(h, n, "x-list", "tw"), 0);
	ck_assert_int_eq(collab_http_list_has(h, n, "Solo", "s"), 1);
	guard_free(&rr.g);
}
END_TEST

START_TEST(status_and_reason)
{
	ck_assert_uint_eq(collab_http_error_status(COLLAB_ELIMIT), 431);
	ck_assert_uint_eq(collab_http_error_status(COLLAB_ESYNTAX), 400);
	ck_assert_str_eq(collab_http_reason(404), "Not Found");
	ck_assert_str_eq(collab_http_reason(431), "Request Header Fields Too Large");
	ck_assert_str_eq(collab_http_reason(503), "Service Unavailable");
	ck_assert_str_eq(collab_http_reason(426), "Upgrade Required");
	ck_assert_str_eq(collab_http_reason(599), "");
	ck_assert_str_eq(collab_http_reason(0), "");
}
END_TEST

/* --- query strings -------------------------------------------------------- */

struct query_case {
	const char *query;
	const char *name;
	int rc;
	const char *value; /* decoded, when rc == 0 */
	size_t vlen;
};

#define QV(lit) lit, sizeof(lit) - 1

static const struct query_case query_cases[] = {
	{ "tenantId=demo&urlId=x", "tenantId", 0, QV("demo") },
	{ "tenantId=demo&urlId=x", "urlId", 0, QV("x") },
	{ "urlId=a%20b+c", "urlId", 0, QV("a b c") },
	{ "urlId=%C3%A9t%C3%A9", "urlId", 0, QV("\xc3\xa9t\xc3\xa9") },
	{ "urlId=%c3%a9", "urlId", 0, QV("\xc3\xa9") },
	{ "urlId=%2B%26%3D%25", "urlId", 0, QV("+&=%") },
	{ "urlId=https%3A%2F%2Fexample.com%2Fa%3Fb%3Dc", "urlId", 0, QV("https://example.com/a?b=c") },
	{ "urlId=%00", "urlId", 0, QV("\0") },
	{ "tenant%49d=x", "tenantId", 0, QV("x") },
	{ "tenant+Id=x", "tenant Id", 0, QV("x") },
	{ "tenantId", "tenantId", 0, QV("") },
	{ "tenantId=", "tenantId", 0, QV("") },
	{ "a=1&&tenantId=x&", "tenantId", 0, QV("x") },
	{ "tenantId=a=b", "tenantId", 0, QV("a=b") },
	{ "=v&tenantId=t", "", 0, QV("v") },
	{ "tenantId=a&tenantId=b", "tenantId", COLLAB_EDUPKEY, QV("") },
	{ "tenantId=a&tenant%49d=a", "tenantId", COLLAB_EDUPKEY, QV("") },
	{ "tenantId&tenantId", "tenantId", COLLAB_EDUPKEY, QV("") },
	{ "tenantid=x", "tenantId", COLLAB_ENOTFOUND, QV("") },
	{ "", "tenantId", COLLAB_ENOTFOUND, QV("") },
	{ "&&&", "tenantId", COLLAB_ENOTFOUND, QV("") },
	{ "tenantIdx=1", "tenantId", COLLAB_ENOTFOUND, QV("") },
	{ "tenantId=%zz", "tenantId", COLLAB_ESYNTAX, QV("") },
	{ "tenantId=%4", "tenantId", COLLAB_ESYNTAX, QV("") },
	{ "tenantId=%", "tenantId", COLLAB_ESYNTAX, QV("") },
	{ "tenantId=%4g", "tenantId", COLLAB_ESYNTAX, QV("") },
	{ "tenantId=%g4", "tenantId", COLLAB_ESYNTAX, QV("") },
	{ "tenantId=a&other=%zz", "tenantId", COLLAB_ESYNTAX, QV("") },
	{ "%zz=1&tenantId=a", "tenantId", COLLAB_ESYNTAX, QV("") },
	{ "tenantId=a&tenantId=b&x=%", "tenantId", COLLAB_ESYNTAX, QV("") },
	{ "tenantId=0123456789abcdef0123456789abcdefX", "tenantId", COLLAB_ESPACE, QV("") },
	{ "tenantId=0123456789abcdef0123456789abcdef", "tenantId", 0, QV("0123456789abcdef0123456789abcdef") },
	{ "tenantId=%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41",
	  "tenantId", 0, QV("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") },
	{ "tenantId=%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41+",
	  "tenantId", COLLAB_ESPACE, QV("") },
};

START_TEST(query_table)
{
	const struct query_case *c = &query_cases[_i];
	struct collab_str q = { c->query, strlen(c->query) };
	char out[32];
	size_t len = 99;
	int rc;

	/* From a guard page, so a read past the query would fault. */
	struct guard_buf g = guard_copy(c->query, q.len);
	q.p = (const char *)g.p;
	rc = collab_http_query_get(q, c->name, out, sizeof(out), &len);
	ck_assert_msg(rc == c->rc, "%s [%s]: got %d want %d", c->query, c->name, rc, c->rc);
	if (rc == 0) {
		ck_assert_uint_eq(len, c->vlen);
		ck_assert(memcmp(out, c->value, len) == 0);
	} else {
		ck_assert_uint_eq(len, 99);
	}
	guard_free(&g);
}
END_TEST

START_TEST(query_iterate)
{
	static const char s[] = "a=1&b&=c&&d=%41+&e=%zz&f=toolongvalue&g=%4";
	struct collab_http_query q;
	char k[8], v[8];
	size_t kl, vl;

	collab_http_query_init(&q, COLLAB_STR(s));
	ck_assert_int_eq(collab_http_query_next(&q, k, 8, &kl, v, 8, &vl), 0);
	ck_assert(kl == 1 && k[0] == 'a' && vl == 1 && v[0] == '1');
	ck_assert_int_eq(collab_http_query_next(&q, k, 8, &kl, v, 8, &vl), 0);
	ck_assert(kl == 1 && k[0] == 'b' && vl == 0);
	ck_assert_int_eq(collab_http_query_next(&q, k, 8, &kl, v, 8, &vl), 0);
	ck_assert(kl == 0 && vl == 1 && v[0] == 'c');
	ck_assert_int_eq(collab_http_query_next(&q, k, 8, &kl, v, 8, &vl), 0);
	ck_assert(kl == 1 && k[0] == 'd' && vl == 2 && memcmp(v, "A ", 2) == 0);
	ck_assert_int_eq(collab_http_query_next(&q, k, 8, &kl, v, 8, &vl), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_http_query_next(&q, k, 8, &kl, v, 8, &vl), COLLAB_ESPACE);
	/* A small key buffer does not hide a malformed value. */
	ck_assert_int_eq(collab_http_query_next(&q, k, 0, &kl, v, 8, &vl), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_http_query_next(&q, k, 8, &kl, v, 8, &vl), COLLAB_ENOTFOUND);
	ck_assert_int_eq(collab_http_query_next(&q, k, 8, &kl, v, 8, &vl), COLLAB_ENOTFOUND);
}
END_TEST

START_TEST(pct_decode)
{
	char out[16];
	size_t w = 0;

	ck_assert_int_eq(collab_http_pct_decode(COLLAB_STR("/a%2Fb+c"), 0, out, sizeof(out), &w), 0);
	ck_assert(w == 6 && memcmp(out, "/a/b+c", 6) == 0);
	ck_assert_int_eq(collab_http_pct_decode(COLLAB_STR("a+b"), 1, out, sizeof(out), &w), 0);
	ck_assert(w == 3 && memcmp(out, "a b", 3) == 0);
	ck_assert_int_eq(collab_http_pct_decode(COLLAB_STR("abc"), 0, out, 2, &w), COLLAB_ESPACE);
	/* The malformed escape wins even when the buffer is full first. */
	ck_assert_int_eq(collab_http_pct_decode(COLLAB_STR("abc%z"), 0, out, 2, &w), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_http_pct_decode(COLLAB_STR(""), 0, NULL, 0, &w), 0);
	ck_assert_uint_eq(w, 0);
	ck_assert_int_eq(collab_http_pct_decode((struct collab_str){ NULL, 2 }, 0, out, 2, &w),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_http_query_get(COLLAB_STR("a=1"), NULL, out, 2, &w), COLLAB_EINVAL);
}
END_TEST

/* --- URLs ------------------------------------------------------------------ */

struct url_case {
	const char *url;
	int rc;
	int tls, ipv6;
	const char *host;
	unsigned port;
	const char *authority, *path, *query;
};

static const struct url_case url_cases[] = {
	{ "ws://example.com/ws?tenantId=a", 0, 0, 0, "example.com", 80, "example.com", "/ws", "tenantId=a" },
	{ "wss://example.com", 0, 1, 0, "example.com", 443, "example.com", "/", "" },
	{ "ws://127.0.0.1:8080/ws", 0, 0, 0, "127.0.0.1", 8080, "127.0.0.1:8080", "/ws", "" },
	{ "ws://[::1]:9000/x", 0, 0, 1, "::1", 9000, "[::1]:9000", "/x", "" },
	{ "wss://[2001:db8::7]/", 0, 1, 1, "2001:db8::7", 443, "[2001:db8::7]", "/", "" },
	{ "ws://[::ffff:1.2.3.4]/", 0, 0, 1, "::ffff:1.2.3.4", 80, "[::ffff:1.2.3.4]", "/", "" },
	{ "WSS://Host.Example:65535/a/b?c=d?e", 0, 1, 0, "Host.Example", 65535, "Host.Example:65535", "/a/b", "c=d?e" },
	{ "ws://h?x=1", 0, 0, 0, "h", 80, "h", "/", "x=1" },
	{ "ws://h:1", 0, 0, 0, "h", 1, "h:1", "/", "" },
	{ "ws://h:00080/", 0, 0, 0, "h", 80, "h:00080", "/", "" },
	{ "ws://a-b_c~d.e/", 0, 0, 0, "a-b_c~d.e", 80, "a-b_c~d.e", "/", "" },
	{ "ws://h/?", 0, 0, 0, "h", 80, "h", "/", "" },
	{ "http://h/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "wsx://h/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws:/h", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws:", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws:///x", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://:80/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h:/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h:0/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h:65536/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h:123456/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h:8a/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h:-1/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://u@h/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://u:p@h/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h/#f", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h#f", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h/a b", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h/a\x01", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h\xc3\xa9/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h%41/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://h:80:80/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://[::1/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://[]/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://[zz]/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://[1:2]/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://[::1]x/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://[::1]:/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://[fe80::1%25eth0]/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
	{ "ws://1.2.3.4]/", COLLAB_ESYNTAX, 0, 0, "", 0, "", "", "" },
};

START_TEST(url_table)
{
	const struct url_case *c = &url_cases[_i];
	struct collab_http_url u;
	size_t n = strlen(c->url);
	struct guard_buf g = guard_copy(c->url, n);
	int rc = collab_http_parse_url((const char *)g.p, n, &u);

	ck_assert_msg(rc == c->rc, "%s: got %d want %d", c->url, rc, c->rc);
	if (rc == 0) {
		ck_assert_int_eq(u.tls, c->tls);
		ck_assert_int_eq(u.ipv6, c->ipv6);
		ck_assert(view_is(u.host, c->host));
		ck_assert_uint_eq(u.port, c->port);
		ck_assert(view_is(u.authority, c->authority));
		ck_assert(view_is(u.path, c->path));
		ck_assert(view_is(u.query, c->query));
		ck_assert(view_is(u.scheme, c->tls ? "wss" : "ws") ||
			  view_is(u.scheme, c->tls ? "WSS" : "WS"));
	}
	guard_free(&g);
}
END_TEST

START_TEST(url_limits)
{
	char url[300];
	struct collab_http_url u;

	memcpy(url, "ws://", 5);
	memset(url + 5, 'a', 255);
	ck_assert_int_eq(collab_http_parse_url(url, 5 + 255, &u), 0);
	ck_assert_uint_eq(u.host.len, 255);
	memset(url + 5, 'a', 256);
	ck_assert_int_eq(collab_http_parse_url(url, 5 + 256, &u), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_http_parse_url(NULL, 3, &u), COLLAB_EINVAL);
	ck_assert_int_eq(collab_http_parse_url("ws://h", 6, NULL), COLLAB_EINVAL);
	/* The longest IPv6 literal, and one byte longer. */
	ck_assert_int_eq(collab_http_parse_url(S("ws://[0000:0000:0000:0000:0000:ffff:255.255.255.255]/"), &u), 0);
	ck_assert_uint_eq(u.host.len, 45);
	ck_assert_int_eq(collab_http_parse_url(S("ws://[0000:0000:0000:0000:0000:ffff:255.255.255.2555]/"), &u),
			 COLLAB_ESYNTAX);
}
END_TEST

/* --- writers ---------------------------------------------------------------- */

enum writer_kind { W_101, W_REJECT, W_HEAD, W_REQUEST };

struct writer_case {
	const char *name;
	enum writer_kind kind;
	unsigned status;
	struct collab_str a, b;          /* 101: key, protocol; head: ctype */
	uint64_t clen;
	struct collab_http_header extra[2];
	size_t nextra;
	struct collab_http_handshake hs;
	int rc;                          /* 0 or COLLAB_EINVAL */
	const char *expect;
	size_t expect_len;
};

#define CS(lit) { lit, sizeof(lit) - 1 }
#define NOSTR { NULL, 0 }
#define NOHS { NOSTR, NOSTR, NOSTR, NOSTR, NOSTR, NOSTR }
#define NOX { { NOSTR, NOSTR }, { NOSTR, NOSTR } }
#define HS_OK .hs = { CS("/ws"), CS("tenantId=demo&urlId=x"), CS("example.com:8080"), CS(RFC_KEY), CS("http://example.com"), CS("collab.v1") }

static const struct writer_case writer_cases[] = {
	{ "101 with protocol", W_101, 0, CS(RFC_KEY), CS("chat"), 0, NOX, 0, NOHS, 0, S(rfc_response) },
	{ "101 without protocol", W_101, 0, CS(RFC_KEY), NOSTR, 0, NOX, 0, NOHS, 0,
	  S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n") },
	{ "426 default body", W_REJECT, 426, NOSTR, NOSTR, 0,
	  {{CS("Sec-WebSocket-Version"), CS("13")}}, 1, NOHS, 0,
	  S("HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 21\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n\r\n"
	    "426 Upgrade Required\n") },
	{ "503 with body", W_REJECT, 503, CS("server full\n"), NOSTR, 0,
	  {{CS("Retry-After"), CS("5")}}, 1, NOHS, 0,
	  S("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 12\r\nConnection: close\r\nRetry-After: 5\r\n\r\nserver full\n") },
	{ "400 no extras", W_REJECT, 400, NOSTR, NOSTR, 0, NOX, 0, NOHS, 0,
	  S("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 16\r\nConnection: close\r\n\r\n400 Bad Request\n") },
	{ "599 unknown reason", W_REJECT, 599, NOSTR, NOSTR, 0, NOX, 0, NOHS, 0,
	  S("HTTP/1.1 599 \r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 4\r\nConnection: close\r\n\r\n599\n") },
	{ "200 head", W_HEAD, 200, CS("text/html; charset=utf-8"), NOSTR, 1234,
	  {{CS("Cache-Control"), CS("no-cache")}, {CS("Connection"), CS("close")}}, 2, NOHS, 0,
	  S("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 1234\r\n"
	    "Cache-Control: no-cache\r\nConnection: close\r\n\r\n") },
	{ "204 head", W_HEAD, 204, NOSTR, NOSTR, 99, NOX, 0, NOHS, 0,
	  S("HTTP/1.1 204 No Content\r\n\r\n") },
	{ "404 head, zero and huge length", W_HEAD, 404, CS("text/plain"), NOSTR, UINT64_MAX, NOX, 0, NOHS, 0,
	  S("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 18446744073709551615\r\n\r\n") },
	{ "200 empty", W_HEAD, 200, NOSTR, NOSTR, 0, NOX, 0, NOHS, 0,
	  S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
	{ "client request", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0, HS_OK, 0,
	  S("GET /ws?tenantId=demo&urlId=x HTTP/1.1\r\nHost: example.com:8080\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n"
	    "Sec-WebSocket-Protocol: collab.v1\r\n\r\n") },
	{ "client request minimal", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/"), NOSTR, CS("[::1]"), CS(RFC_KEY), NOSTR, NOSTR }, 0,
	  S("GET / HTTP/1.1\r\nHost: [::1]\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n") },
	{ "client request two protocols", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/a"), NOSTR, CS("h"), CS(RFC_KEY), NOSTR, CS("chat, superchat") }, 0,
	  S("GET /a HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " RFC_KEY "\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n") },

	/* refused arguments: header injection and friends */
	{ "101 key with CRLF", W_101, 0, CS("dGhlIHNhbXBsZSBub25j\r\nX:"), NOSTR, 0, NOX, 0, NOHS, COLLAB_EINVAL, S("") },
	{ "101 bad key", W_101, 0, CS("dGhlIHNhbXBsZSBub25jZQ="), NOSTR, 0, NOX, 0, NOHS, COLLAB_EINVAL, S("") },
	{ "101 protocol with LF", W_101, 0, CS(RFC_KEY), CS("chat\nX: y"), 0, NOX, 0, NOHS, COLLAB_EINVAL, S("") },
	{ "101 protocol list", W_101, 0, CS(RFC_KEY), CS("a, b"), 0, NOX, 0, NOHS, COLLAB_EINVAL, S("") },
	{ "reject value CR", W_REJECT, 503, NOSTR, NOSTR, 0, {{CS("Retry-After"), CS("5\rX: y")}}, 1, NOHS, COLLAB_EINVAL, S("") },
	{ "reject value LF", W_REJECT, 503, NOSTR, NOSTR, 0, {{CS("Retry-After"), CS("5\nX: y")}}, 1, NOHS, COLLAB_EINVAL, S("") },
	{ "reject value NUL", W_REJECT, 503, NOSTR, NOSTR, 0, {{CS("Retry-After"), CS("5\0")}}, 1, NOHS, COLLAB_EINVAL, S("") },
	{ "reject name with colon", W_REJECT, 503, NOSTR, NOSTR, 0, {{CS("X: y\r\nZ"), CS("1")}}, 1, NOHS, COLLAB_EINVAL, S("") },
	{ "reject empty name", W_REJECT, 503, NOSTR, NOSTR, 0, {{NOSTR, CS("1")}}, 1, NOHS, COLLAB_EINVAL, S("") },
	{ "reject status 200", W_REJECT, 200, NOSTR, NOSTR, 0, NOX, 0, NOHS, COLLAB_EINVAL, S("") },
	{ "reject status 600", W_REJECT, 600, NOSTR, NOSTR, 0, NOX, 0, NOHS, COLLAB_EINVAL, S("") },
	{ "head ctype CRLF", W_HEAD, 200, CS("text/html\r\nX: y"), NOSTR, 0, NOX, 0, NOHS, COLLAB_EINVAL, S("") },
	{ "head second extra bad", W_HEAD, 200, NOSTR, NOSTR, 0, {{CS("A"), CS("1")}, {CS("B"), CS("\x7f")}}, 2, NOHS, COLLAB_EINVAL, S("") },
	{ "head status 99", W_HEAD, 99, NOSTR, NOSTR, 0, NOX, 0, NOHS, COLLAB_EINVAL, S("") },
	{ "request path CRLF", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/ws HTTP/1.1\r\nX:"), NOSTR, CS("h"), CS(RFC_KEY), NOSTR, NOSTR }, COLLAB_EINVAL, S("") },
	{ "request path relative", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("ws"), NOSTR, CS("h"), CS(RFC_KEY), NOSTR, NOSTR }, COLLAB_EINVAL, S("") },
	{ "request path with ?", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/a?b"), NOSTR, CS("h"), CS(RFC_KEY), NOSTR, NOSTR }, COLLAB_EINVAL, S("") },
	{ "request empty path", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { NOSTR, NOSTR, CS("h"), CS(RFC_KEY), NOSTR, NOSTR }, COLLAB_EINVAL, S("") },
	{ "request query space", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/"), CS("a b"), CS("h"), CS(RFC_KEY), NOSTR, NOSTR }, COLLAB_EINVAL, S("") },
	{ "request host LF", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/"), NOSTR, CS("h\nX: y"), CS(RFC_KEY), NOSTR, NOSTR }, COLLAB_EINVAL, S("") },
	{ "request empty host", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/"), NOSTR, NOSTR, CS(RFC_KEY), NOSTR, NOSTR }, COLLAB_EINVAL, S("") },
	{ "request bad key", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/"), NOSTR, CS("h"), CS("short"), NOSTR, NOSTR }, COLLAB_EINVAL, S("") },
	{ "request origin NUL", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/"), NOSTR, CS("h"), CS(RFC_KEY), CS("http://a\0"), NOSTR }, COLLAB_EINVAL, S("") },
	{ "request origin CRLF", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/"), NOSTR, CS("h"), CS(RFC_KEY), CS("http://a\r\nX: y"), NOSTR }, COLLAB_EINVAL, S("") },
	{ "request protocols CRLF", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/"), NOSTR, CS("h"), CS(RFC_KEY), NOSTR, CS("a\r\nX: y") }, COLLAB_EINVAL, S("") },
	{ "request protocols empty element", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/"), NOSTR, CS("h"), CS(RFC_KEY), NOSTR, CS("a,,b") }, COLLAB_EINVAL, S("") },
	{ "request protocols space inside", W_REQUEST, 0, NOSTR, NOSTR, 0, NOX, 0,
	  .hs = { CS("/"), NOSTR, CS("h"), CS(RFC_KEY), NOSTR, CS("a b") }, COLLAB_EINVAL, S("") },
};

static int run_writer(const struct writer_case *c, char *out, size_t cap, size_t *w)
{
	switch (c->kind) {
	case W_101:
		return collab_http_write_upgrade_response(out, cap, c->a, c->b, w);
	case W_REJECT:
		return collab_http_write_reject(out, cap, c->status, c->extra,
						c->nextra, c->a, w);
	case W_HEAD:
		return collab_http_write_head(out, cap, c->status, c->a, c->clen,
					      c->extra, c->nextra, w);
	case W_REQUEST:
		return collab_http_write_upgrade_request(out, cap, &c->hs, w);
	}
	return -100;
}

START_TEST(writer_table)
{
	const struct writer_case *c = &writer_cases[_i];
	char out[512];
	size_t w = 7777;

	if (c->rc) {
		/* Refused before any capacity question. */
		ck_assert_int_eq(run_writer(c, out, sizeof(out), &w), c->rc);
		ck_assert_int_eq(run_writer(c, out, 0, &w), c->rc);
		ck_assert_int_eq(run_writer(c, NULL, 0, &w), c->rc);
		ck_assert_uint_eq(w, 7777);
		return;
	}
	ck_assert_int_eq(run_writer(c, out, sizeof(out), &w), 0);
	ck_assert_msg(w == c->expect_len && memcmp(out, c->expect, w) == 0,
		      "%s: wrote [%.*s]", c->name, (int)w, out);
	/* Exactly the right capacity, from the end of a guard page. */
	{
		struct guard_buf g = guard_copy(c->expect, c->expect_len);
		size_t w2 = 0;
		memset(g.p, 0, c->expect_len);
		ck_assert_int_eq(run_writer(c, (char *)g.p, c->expect_len, &w2), 0);
		ck_assert_uint_eq(w2, c->expect_len);
		ck_assert(memcmp(g.p, c->expect, w2) == 0);
		/* Every smaller capacity: ESPACE, *written untouched, no write
		 * past cap (the guard page follows). */
		for (size_t cap = 0; cap < c->expect_len; cap++) {
			size_t w3 = 4242;
			char *end = (char *)g.p + c->expect_len;
			ck_assert_int_eq(run_writer(c, end - cap, cap, &w3),
					 COLLAB_ESPACE);
			ck_assert_uint_eq(w3, 4242);
		}
		guard_free(&g);
	}
}
END_TEST

START_TEST(writer_args)
{
	char out[256];
	size_t w;
	struct collab_http_handshake hs = { CS("/"), NOSTR, CS("h"), CS(RFC_KEY), NOSTR, NOSTR };

	ck_assert_int_eq(collab_http_write_upgrade_response(NULL, 5, COLLAB_STR(RFC_KEY),
							     (struct collab_str)NOSTR, &w), COLLAB_EINVAL);
	ck_assert_int_eq(collab_http_write_upgrade_response(out, 5, COLLAB_STR(RFC_KEY),
							     (struct collab_str)NOSTR, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_http_write_upgrade_request(out, sizeof(out), NULL, &w), COLLAB_EINVAL);
	ck_assert_int_eq(collab_http_write_upgrade_request(out, sizeof(out), &hs, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_http_write_reject(out, sizeof(out), 400, NULL, 1,
						  (struct collab_str)NOSTR, &w), COLLAB_EINVAL);
	ck_assert_int_eq(collab_http_write_reject(out, sizeof(out), 400, NULL, 0,
						  (struct collab_str){ NULL, 3 }, &w), COLLAB_EINVAL);
	ck_assert_int_eq(collab_http_write_head(out, sizeof(out), 200, (struct collab_str){ NULL, 3 },
						0, NULL, 0, &w), COLLAB_EINVAL);
	ck_assert_int_eq(collab_http_write_head(NULL, 3, 200, (struct collab_str)NOSTR,
						0, NULL, 0, &w), COLLAB_EINVAL);
	hs.protocols = (struct collab_str){ NULL, 3 };
	ck_assert_int_eq(collab_http_write_upgrade_request(out, sizeof(out), &hs, &w), COLLAB_EINVAL);
	hs.protocols = (struct collab_str)NOSTR;
	hs.path = (struct collab_str){ NULL, 3 };
	ck_assert_int_eq(collab_http_write_upgrade_request(out, sizeof(out), &hs, &w), COLLAB_EINVAL);
	/* Every reason phrase fits the default body. */
	for (unsigned s = 400; s <= 599; s++) {
		ck_assert_int_eq(collab_http_write_reject(out, sizeof(out), s, NULL, 0,
							  (struct collab_str)NOSTR, &w), 0);
	}
}
END_TEST

/* Our writers' output, read back by our parser and checks. */
START_TEST(roundtrip)
{
	struct collab_http_url u;
	struct collab_http_handshake hs;
	struct collab_http_upgrade up;
	struct req_result rr;
	struct res_result sr;
	struct collab_str sel;
	char key[COLLAB_HTTP_KEY_LEN], req[512], res[512];
	size_t rl, sl;
	static const char url[] = "wss://collab.example:8443/ws?tenantId=demo&urlId=https%3A%2F%2Fa.b%2F";
	uint8_t nonce[16];
	char id[16];
	size_t idl;

	for (int i = 0; i < 16; i++)
		nonce[i] = (uint8_t)(i * 37 + 11);
	collab_http_make_key(nonce, key);
	ck_assert_int_eq(collab_http_parse_url(S(url), &u), 0);
	hs.path = u.path;
	hs.query = u.query;
	hs.host = u.authority;
	hs.key = (struct collab_str){ key, sizeof(key) };
	hs.origin = COLLAB_STR("https://a.b");
	hs.protocols = COLLAB_STR("x.y, collab.v1");
	ck_assert_int_eq(collab_http_write_upgrade_request(req, sizeof(req), &hs, &rl), 0);

	parse_req_all(NULL, req, rl, &rr);
	ck_assert_int_eq(rr.rc, 0);
	ck_assert_int_eq(collab_http_check_upgrade_request(&rr.req, &up), 0);
	ck_assert(view_is(rr.req.path, "/ws"));
	ck_assert(view_is(up.host, "collab.example:8443"));
	ck_assert(view_is(up.origin, "https://a.b"));
	ck_assert_int_eq(collab_http_offers_protocol(&rr.req, "collab.v1"), 1);
	ck_assert_int_eq(collab_http_query_get(rr.req.query, "urlId", id, sizeof(id), &idl), 0);
	ck_assert(idl == 12 && memcmp(id, "https://a.b/", 12) == 0);

	ck_assert_int_eq(collab_http_write_upgrade_response(res, sizeof(res), up.key,
							     COLLAB_STR("collab.v1"), &sl), 0);
	parse_res_all(NULL, res, sl, &sr);
	ck_assert_int_eq(sr.rc, 0);
	ck_assert_int_eq(collab_http_check_upgrade_response(&sr.res, hs.key, hs.protocols,
							     &sel, NULL), 0);
	ck_assert(view_is(sel, "collab.v1"));
	/* Another key does not match. */
	ck_assert_int_eq(collab_http_check_upgrade_response(&sr.res, COLLAB_STR(RFC_KEY),
							     hs.protocols, &sel, NULL),
			 COLLAB_EHANDSHAKE);
	guard_free(&rr.g);
	guard_free(&sr.g);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = tcase_create("rfc6455");
	tcase_add_test(tc, rfc6455_accept);
	tcase_add_test(tc, rfc6455_handshake);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_loop_test(tc, request_table, 0, (int)ARRAY_LEN(req_cases));
	tcase_add_loop_test(tc, request_trailing_bytes, 0, (int)ARRAY_LEN(req_cases));
	tcase_add_loop_test(tc, request_target, 0, (int)ARRAY_LEN(target_cases));
	tcase_add_test(tc, request_values_trimmed);
	tcase_add_test(tc, header_helpers);
	tcase_add_test(tc, status_and_reason);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, limit_head_bytes);
	tcase_add_test(tc, limit_head_bytes_details);
	tcase_add_test(tc, limit_header_count);
	tcase_add_test(tc, limit_config_and_args);
	tcase_add_test(tc, limit_response);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_loop_test(tc, response_table, 0, (int)ARRAY_LEN(res_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("query");
	tcase_add_loop_test(tc, query_table, 0, (int)ARRAY_LEN(query_cases));
	tcase_add_test(tc, query_iterate);
	tcase_add_test(tc, pct_decode);
	suite_add_tcase(s, tc);

	tc = tcase_create("url");
	tcase_add_loop_test(tc, url_table, 0, (int)ARRAY_LEN(url_cases));
	tcase_add_test(tc, url_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("writers");
	tcase_add_loop_test(tc, writer_table, 0, (int)ARRAY_LEN(writer_cases));
	tcase_add_test(tc, writer_args);
	tcase_add_test(tc, roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
