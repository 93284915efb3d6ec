/*
 * collab/http.h - the bounded HTTP/1.1 of a WebSocket opening handshake.
 *
 * Four jobs, all without allocation or I/O:
 *
 *  - A request/response head parser (RFC 9112) in the picohttpparser
 *    style: the caller accumulates received bytes and calls the parser on
 *    the whole buffer so far; it answers COLLAB_HTTP_NEED_MORE, done (with
 *    the head's length: bytes after it belong to the WebSocket layer), or
 *    an error. The answer depends only on the bytes, never on how they
 *    arrived: once a prefix yields done or an error, every longer buffer
 *    yields the same. Outputs are views into the caller's buffer.
 *  - Query strings as a browser's URLSearchParams writes them, strictly
 *    percent-decoded into caller buffers.
 *  - RFC 6455 section 4 on both sides: validating an upgrade request
 *    (mapped to the HTTP status PROTOCOL.md section 1 asks for), the
 *    Sec-WebSocket-Accept value, validating the server's 101 response.
 *  - Writers for the few heads the project sends, into fixed buffers, that
 *    refuse any value able to inject a header line.
 *
 * The parser is strict and only strict. It accepts exactly:
 *   request-line = method SP origin-form SP "HTTP/1.1" CRLF
 *   status-line  = "HTTP/1.1" SP 3DIGIT SP reason-phrase CRLF
 *   field-line   = token ":" OWS field-value OWS CRLF
 * followed by an empty line (CRLF). Everything else is COLLAB_ESYNTAX
 * (answer 400): a bare LF or CR, an empty line before the request line,
 * obs-fold or whitespace at the start of any field line, whitespace before
 * the colon, a control character other than HTAB in a field value or
 * reason phrase, a request-target that is not origin-form (absolute-,
 * authority- and asterisk-form are not needed for a WebSocket server) or
 * that holds a control, space, '#' or non-ASCII byte, and any version
 * other than HTTP/1.1 (HTTP/1.0 included: RFC 6455 4.1 requires 1.1 for
 * the upgrade). Field values may carry obs-text (bytes 80..FF) as RFC 9110
 * 5.5 permits; whether they are UTF-8 is the consumer's business.
 *
 * A head longer than max_head_bytes, or with more than max_headers field
 * lines, is COLLAB_ELIMIT (answer 431, RFC 6585 section 5).
 */
#ifndef COLLAB_HTTP_H
#define COLLAB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returned by the head parsers when the buffer holds a valid but
 * incomplete head. Positive, so it can never be mistaken for an error. */
#define COLLAB_HTTP_NEED_MORE 1

#define COLLAB_HTTP_DEFAULT_MAX_HEAD_BYTES 8192
#define COLLAB_HTTP_DEFAULT_MAX_HEADERS 64

/* Length of a Sec-WebSocket-Key (base64 of 16 bytes, RFC 6455 4.1). */
#define COLLAB_HTTP_KEY_LEN 24
/* Length of a Sec-WebSocket-Accept (base64 of a SHA-1, RFC 6455 4.2.2). */
#define COLLAB_HTTP_ACCEPT_LEN 28

struct collab_http_config {
	/* Bytes of the head, request/status line through the final empty
	 * line included. Default 8 KiB (PROTOCOL.md section 1). */
	size_t max_head_bytes;
	/* Field lines. Default 64. */
	size_t max_headers;
};

/* Fills the defaults above. */
void collab_http_config_init(struct collab_http_config *cfg);

/* One field line. Both views point into the parsed buffer; value has its
 * surrounding OWS (SP/HTAB) removed and may be empty. */
struct collab_http_header {
	struct collab_str name;
	struct collab_str value;
};

/*
 * A parsed request head. The caller sets headers/headers_cap (see
 * collab_http_request_init); a successful parse sets every other field.
 * All views point into the buffer given to the parser and live as long as
 * it does, unchanged.
 */
struct collab_http_request {
	struct collab_http_header *headers; /* caller's array */
	size_t headers_cap;                 /* its capacity in entries */

	struct collab_str method;  /* a token, e.g. "GET" (case-sensitive) */
	struct collab_str target;  /* the whole origin-form, e.g. "/ws?a=b" */
	struct collab_str path;    /* target before the first '?' (raw) */
	struct collab_str query;   /* target after the first '?' (raw);
				      empty when there is none */
	struct collab_str version; /* always "HTTP/1.1" */
	size_t num_headers;
	size_t head_len;           /* bytes of the head, final CRLF included */
};

/* A parsed response head; same conventions as the request. */
struct collab_http_response {
	struct collab_http_header *headers;
	size_t headers_cap;

	struct collab_str version; /* always "HTTP/1.1" */
	unsigned status;           /* 100..599 */
	struct collab_str reason;  /* may be empty */
	size_t num_headers;
	size_t head_len;
};

/* Sets headers/headers_cap and clears the rest. */
void collab_http_request_init(struct collab_http_request *req,
			      struct collab_http_header *headers, size_t cap);
void collab_http_response_init(struct collab_http_response *res,
			       struct collab_http_header *headers, size_t cap);

/*
 * Parses the request head at the start of p[0..len). cfg NULL means the
 * defaults. req->headers_cap MUST be at least cfg->max_headers (else
 * COLLAB_EINVAL): the array is never the limit, the config is. p may be
 * NULL only when len is 0. Never reads p[len] or beyond, nor past the
 * first max_head_bytes bytes.
 *
 * Returns 0 when the head is complete (req filled; req->head_len <= len,
 * and p[head_len..len) is not looked at), COLLAB_HTTP_NEED_MORE when more
 * bytes are needed, COLLAB_ESYNTAX for a malformed head (400),
 * COLLAB_ELIMIT when the head is over max_head_bytes or holds more than
 * max_headers field lines (431), COLLAB_EINVAL for bad arguments. On any
 * result but 0, req's output fields are unspecified.
 */
int collab_http_parse_request(const struct collab_http_config *cfg,
			      const uint8_t *p, size_t len,
			      struct collab_http_request *req);

/* The same for a response head ("HTTP/1.1 NNN reason"); the status must be
 * 100..599 (RFC 9110 15). */
int collab_http_parse_response(const struct collab_http_config *cfg,
			       const uint8_t *p, size_t len,
			       struct collab_http_response *res);

/* The HTTP status a server answers for a parser error: 431 for
 * COLLAB_ELIMIT, 400 for anything else. */
unsigned collab_http_error_status(int err);

/* The standard reason phrase of status ("Not Found"), or "" for a code
 * this module does not know. Never NULL. */
const char *collab_http_reason(unsigned status);

/* --- header lookup (names compare case-insensitively, RFC 9110 5.1) ------ */

/* Index of the first header at or after from whose name is name (a C
 * string), or n when there is none. h may be NULL only when n is 0.
 * Iterate: for (i = find(h, n, X, 0); i < n; i = find(h, n, X, i + 1)). */
size_t collab_http_header_find(const struct collab_http_header *h, size_t n,
			       const char *name, size_t from);

/* The value of the header name when it appears exactly once: returns 0
 * and sets *value, COLLAB_ENOTFOUND when absent, COLLAB_EDUPKEY when it
 * appears more than once (*value then names the first). */
int collab_http_header_get(const struct collab_http_header *h, size_t n,
			   const char *name, struct collab_str *value);

/*
 * Iterates over the elements of a comma-separated list header (RFC 9110
 * 5.6.1) across every field line with that name, in order. Elements are
 * OWS-trimmed; empty elements are skipped, as the RFC requires. Quoted
 * strings are not understood: the headers this module reads (Connection,
 * Upgrade, Sec-WebSocket-Protocol) hold tokens only.
 */
struct collab_http_list {
	const struct collab_http_header *h;
	size_t n;
	const char *name;
	size_t idx;   /* current header */
	size_t pos;   /* offset in its value */
};

void collab_http_list_init(struct collab_http_list *it,
			   const struct collab_http_header *h, size_t n,
			   const char *name);

/* Returns 0 and sets *elem (a view into the header value), or
 * COLLAB_ENOTFOUND when the list is exhausted. */
int collab_http_list_next(struct collab_http_list *it, struct collab_str *elem);

/* 1 when some element of list header name equals token ignoring ASCII
 * case (as Connection and Upgrade compare), else 0. */
int collab_http_list_has(const struct collab_http_header *h, size_t n,
			 const char *name, const char *token);

/* --- query strings and percent-decoding ----------------------------------- */

/*
 * Percent-decodes in into out (capacity cap; no NUL written). "%XX" with
 * two hex digits of either case is the byte XX; when plus_is_space is
 * non-zero (query strings, application/x-www-form-urlencoded) '+' is a
 * space. A '%' not followed by two hex digits ("%zz", "%4", "%") is
 * COLLAB_ESYNTAX. COLLAB_ESPACE when out is too small. Sets *written on
 * success. The decoded bytes may be anything (NUL, invalid UTF-8): the
 * consumer validates what it needs.
 */
int collab_http_pct_decode(struct collab_str in, int plus_is_space,
			   char *out, size_t cap, size_t *written);

/*
 * Iterator over "k=v&k2=v2". Empty pairs ("a&&b") are skipped; a pair
 * without '=' has an empty value; the first '=' splits a pair. The query
 * view MUST outlive the iterator.
 */
struct collab_http_query {
	const char *p;
	size_t len;
	size_t pos;
};

void collab_http_query_init(struct collab_http_query *q, struct collab_str query);

/*
 * Decodes the next pair (plus as space) into key (cap kcap) and val (cap
 * vcap), setting *klen and *vlen. Returns 0, COLLAB_ENOTFOUND when no pair
 * is left, COLLAB_ESYNTAX for a malformed escape, COLLAB_ESPACE when a
 * buffer is too small. The iterator moves past the pair whatever the
 * result, so a caller may skip a pair too long for its buffers.
 */
int collab_http_query_next(struct collab_http_query *q,
			   char *key, size_t kcap, size_t *klen,
			   char *val, size_t vcap, size_t *vlen);

/*
 * Looks up parameter name (a C string, compared with each decoded key
 * byte for byte) in query and decodes its value into out. Every pair of
 * the query is checked, so a malformed escape anywhere is reported.
 * Returns, in this order of precedence: COLLAB_ESYNTAX for a malformed
 * escape anywhere, COLLAB_ENOTFOUND when name is absent, COLLAB_EDUPKEY
 * when it appears more than once (PROTOCOL.md 1: a 400), COLLAB_ESPACE
 * when the decoded value exceeds cap (a server treats it as too long),
 * else 0 with *out_len set.
 */
int collab_http_query_get(struct collab_str query, const char *name,
			  char *out, size_t cap, size_t *out_len);

/* --- the server side of the upgrade (RFC 6455 4.2.1) --------------------- */

/* What collab_http_check_upgrade_request learned. Views point into the
 * request's buffer. */
struct collab_http_upgrade {
	unsigned status;          /* 0 when valid, else 400 or 426 */
	const char *why;          /* static, human-readable; "" when valid */
	struct collab_str key;    /* Sec-WebSocket-Key as sent */
	struct collab_str host;   /* Host as sent (may be empty) */
	struct collab_str origin; /* Origin as sent; meaningful if has_origin */
	int has_origin;
};

/*
 * Checks that req is a valid RFC 6455 version-13 opening handshake. The
 * checks, in order, each failing with status 400 unless noted:
 *   method is GET (RFC 6455 4.1; methods are case-sensitive, RFC 9110 9.1);
 *   Host appears exactly once (RFC 9112 3.2);
 *   no Transfer-Encoding and no Content-Length other than 0 (the bytes
 *     after the head are WebSocket frames, never a body);
 *   Upgrade lists "websocket" and Connection lists "Upgrade", ignoring
 *     case, across all their lines (RFC 6455 4.2.1 items 3, 4);
 *   Sec-WebSocket-Key appears exactly once and is strict base64 of exactly
 *     16 bytes (item 5);
 *   Origin appears at most once (RFC 6454 7.3);
 *   every Sec-WebSocket-Protocol element is a token (RFC 6455 4.1);
 *   Sec-WebSocket-Version appears at most once (400 when repeated) and is
 *     exactly "13"; missing or another value is 426 (RFC 6455 4.4), whose
 *     response MUST carry "Sec-WebSocket-Version: 13".
 * So a request wrong in several ways gets 400 before 426.
 * Returns 0 (up->status 0, key/host/origin set) or COLLAB_EHANDSHAKE with
 * up->status and up->why set. Path (404) and tenant (403/503) decisions
 * are the server's.
 */
int collab_http_check_upgrade_request(const struct collab_http_request *req,
				      struct collab_http_upgrade *up);

/* 1 when one of the request's Sec-WebSocket-Protocol elements (across all
 * its lines) is exactly proto (a C string; subprotocol names are
 * case-sensitive), else 0. */
int collab_http_offers_protocol(const struct collab_http_request *req,
				const char *proto);

/* Writes base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) into
 * out[0..28) (no NUL), RFC 6455 4.2.2 item 5.4. key may be NULL only when
 * key_len is 0. */
void collab_http_accept_key(const char *key, size_t key_len,
			    char out[COLLAB_HTTP_ACCEPT_LEN]);

/* Writes the Sec-WebSocket-Key for 16 random bytes the caller drew (RFC
 * 6455 4.1 item 7) into out[0..24) (no NUL). */
void collab_http_make_key(const uint8_t nonce[16], char out[COLLAB_HTTP_KEY_LEN]);

/* --- the client side ------------------------------------------------------ */

/*
 * Checks the server's answer to our upgrade request (RFC 6455 4.1, the
 * client's requirements on the response): status 101; Upgrade lists
 * "websocket" and Connection lists "Upgrade" (ignoring case);
 * Sec-WebSocket-Accept appears once and equals collab_http_accept_key(key);
 * no Sec-WebSocket-Extensions (we never offer any); Sec-WebSocket-Protocol
 * absent, or one line holding one token that is an element of offered
 * (the comma-separated list we sent; empty when we offered none).
 * key is the Sec-WebSocket-Key we sent. Returns 0 and sets *selected (may
 * be NULL) to the selected subprotocol (empty when none), or
 * COLLAB_EHANDSHAKE with *why (may be NULL) set to a static reason.
 */
int collab_http_check_upgrade_response(const struct collab_http_response *res,
				       struct collab_str key,
				       struct collab_str offered,
				       struct collab_str *selected,
				       const char **why);

/*
 * A ws:// or wss:// URL (RFC 6455 3), split into views of the caller's
 * string (except path, which may be the static "/"). Strict: the scheme is
 * "ws" or "wss" in any case; no userinfo; the host is a name of ALPHA,
 * DIGIT, '-', '.', '_', '~' (at most 255 bytes; no percent-escapes), or an
 * IPv6 literal in brackets (no zone id); the port, if present, is 1..65535
 * in at most 5 digits; no fragment; path and query hold only printable
 * ASCII (no space, no control).
 */
struct collab_http_url {
	struct collab_str scheme;    /* as written */
	int tls;                     /* 1 for wss */
	struct collab_str host;      /* IPv6 literals without the brackets */
	int ipv6;                    /* 1 for a bracketed literal */
	uint16_t port;               /* as written, else 80 (ws) / 443 (wss) */
	struct collab_str authority; /* host[:port] as written: the Host value */
	struct collab_str path;      /* "/" when the URL has none */
	struct collab_str query;     /* after '?', raw; empty when none */
};

#define COLLAB_HTTP_MAX_HOST 255

/* Returns 0, COLLAB_ESYNTAX, or COLLAB_EINVAL (url NULL with len > 0). */
int collab_http_parse_url(const char *url, size_t len, struct collab_http_url *u);

/* --- writers ----------------------------------------------------------------
 *
 * Each writes one complete head (and body, for the rejection) into
 * out[0..cap) without a NUL and sets *written. Returns 0, COLLAB_EINVAL
 * when an argument could not be written safely (checked first, whatever
 * cap is), or COLLAB_ESPACE when cap is too small (out's contents then
 * unspecified, *written untouched). out may be NULL only when cap is 0.
 * Header names MUST be tokens; values MUST NOT hold CR, LF, NUL or any
 * other control byte but HTAB (header injection, RFC 9110 5.5).
 * Optional views are absent when their len is 0.
 */

/* "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection, the
 * Sec-WebSocket-Accept computed from key (the request's
 * Sec-WebSocket-Key, which MUST be valid as collab_http_check_upgrade_
 * request demands, else COLLAB_EINVAL), and Sec-WebSocket-Protocol when
 * protocol (a token) is given. */
int collab_http_write_upgrade_response(char *out, size_t cap,
				       struct collab_str key,
				       struct collab_str protocol,
				       size_t *written);

/*
 * A rejection: status (400..599) with its reason phrase,
 * "Content-Type: text/plain; charset=utf-8", Content-Length,
 * "Connection: close", the nextra extra headers (e.g. Retry-After,
 * Sec-WebSocket-Version) and the body; an empty body becomes
 * "NNN Reason\n". The body may hold any bytes.
 */
int collab_http_write_reject(char *out, size_t cap, unsigned status,
			     const struct collab_http_header *extra, size_t nextra,
			     struct collab_str body, size_t *written);

/*
 * A response head for static files and admin endpoints: the status line
 * (100..599), Content-Type when content_type is given, Content-Length
 * (except for 1xx and 204, which MUST NOT carry it, RFC 9110 8.6), the
 * extra headers, the empty line. The caller sends the body.
 */
int collab_http_write_head(char *out, size_t cap, unsigned status,
			   struct collab_str content_type, uint64_t content_length,
			   const struct collab_http_header *extra, size_t nextra,
			   size_t *written);

/* The client's opening handshake (RFC 6455 4.1). */
struct collab_http_handshake {
	struct collab_str path;      /* MUST start with '/'; printable ASCII,
					no '?' or '#' */
	struct collab_str query;     /* optional, without '?'; no '#' */
	struct collab_str host;      /* Host value, e.g. url.authority */
	struct collab_str key;       /* a valid Sec-WebSocket-Key */
	struct collab_str origin;    /* optional */
	struct collab_str protocols; /* optional: tokens separated by commas */
};

/* "GET path[?query] HTTP/1.1", Host, Upgrade: websocket, Connection:
 * Upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version: 13, then Origin and
 * Sec-WebSocket-Protocol when given. */
int collab_http_write_upgrade_request(char *out, size_t cap,
				      const struct collab_http_handshake *hs,
				      size_t *written);

#ifdef __cplusplus
}
#endif
#endif
