/*
 * http.c - bounded HTTP/1.1 head parser (RFC 9112), header lookup and
 * list iteration.
 *
 * The parser keeps no state between calls: like picohttpparser it is run
 * over the whole buffer received so far. It scans left to right and every
 * decision depends only on the bytes already scanned, so a prefix either
 * runs out of bytes (need more) or reaches the very result the full buffer
 * reaches. The only look at the buffer's length is in take(): the view is
 * cut at max_head_bytes, and running out of bytes there is COLLAB_ELIMIT
 * when the buffer goes on past the cut, "need more" otherwise.
 */
#include "collab/http.h"
#include "collab/common.h"
#include "http_priv.h"

#include <string.h>

void collab_http_config_init(struct collab_http_config *cfg)
{
	cfg->max_head_bytes = COLLAB_HTTP_DEFAULT_MAX_HEAD_BYTES;
	cfg->max_headers = COLLAB_HTTP_DEFAULT_MAX_HEADERS;
}

void collab_http_request_init(struct collab_http_request *req,
			      struct collab_http_header *headers, size_t cap)
{
	memset(req, 0, sizeof(*req));
	req->headers = headers;
	req->headers_cap = cap;
}

void collab_http_response_init(struct collab_http_response *res,
			       struct collab_http_header *headers, size_t cap)
{
	memset(res, 0, sizeof(*res));
	res->headers = headers;
	res->headers_cap = cap;
}

struct scan {
	const uint8_t *p;
	size_t end;   /* bytes that may be looked at: min(len, max_head_bytes) */
	size_t i;     /* next byte */
	int over;     /* the buffer holds more than max_head_bytes */
};

static void scan_init(struct scan *s, const uint8_t *p, size_t len, size_t max)
{
	s->p = p;
	s->i = 0;
	s->over = len > max;
	s->end = s->over ? max : len;
}

/* The one bounds idiom: every byte is read through here. */
static int peek(const struct scan *s, uint8_t *c)
{
	if (s->i >= s->end)
		return s->over ? COLLAB_ELIMIT : COLLAB_HTTP_NEED_MORE;
	*c = s->p[s->i];
	return 0;
}

static struct collab_str view(const struct scan *s, size_t from, size_t to)
{
	struct collab_str v = { (const char *)s->p + from, to - from };
	return v;
}

/* Consumes exactly the n bytes of lit. */
static int expect(struct scan *s, const char *lit, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		uint8_t c;
		int r = peek(s, &c);
		if (r)
			return r;
		if (c != (uint8_t)lit[k])
			return COLLAB_ESYNTAX;
		s->i++;
	}
	return 0;
}

#define EXPECT(s, lit) expect((s), (lit), sizeof(lit) - 1)

/* RFC 9110 5.6.2: token = 1*tchar. Stops before the first other byte. */
static int token(struct scan *s, struct collab_str *out)
{
	size_t start = s->i;
	for (;;) {
		uint8_t c;
		int r = peek(s, &c);
		if (r)
			return r;
		if (!http_is_tchar(c))
			break;
		s->i++;
	}
	if (s->i == start)
		return COLLAB_ESYNTAX;
	*out = view(s, start, s->i);
	return 0;
}

/*
 * Field value through its CRLF. RFC 9112 5.1: OWS around the value is not
 * part of it. RFC 9110 5.5: no CTL but HTAB; a bare CR or LF is therefore
 * refused here too (RFC 9112 2.2 lets a recipient treat them as errors).
 */
static int field_value(struct scan *s, struct collab_str *out)
{
	size_t start, last;
	uint8_t c;
	int r;

	for (;;) {
		if ((r = peek(s, &c)))
			return r;
		if (!http_is_ows(c))
			break;
		s->i++;
	}
	start = last = s->i;
	for (;;) {
		if ((r = peek(s, &c)))
			return r;
		if (c == '\r')
			break;
		if (!http_is_field_char(c))
			return COLLAB_ESYNTAX;
		s->i++;
		if (!http_is_ows(c))
			last = s->i;
	}
	*out = view(s, start, last);
	return EXPECT(s, "\r\n");
}

/*
 * The field lines and the empty line ending the head (RFC 9112 2.1).
 * limit is the most field lines accepted; the first byte of one more is
 * COLLAB_ELIMIT.
 */
static int fields(struct scan *s, struct collab_http_header *h, size_t limit,
		  size_t *count)
{
	size_t n = 0;
	for (;;) {
		uint8_t c;
		int r = peek(s, &c);
		if (r)
			return r;
		if (c == '\r') {
			if ((r = EXPECT(s, "\r\n")))
				return r;
			*count = n;
			return 0;
		}
		/* RFC 9112 5.2: obs-fold is rejected; RFC 9112 2.2: so is
		 * whitespace between the start line and the first field. */
		if (http_is_ows(c))
			return COLLAB_ESYNTAX;
		if (n == limit)
			return COLLAB_ELIMIT;
		if ((r = token(s, &h[n].name)))
			return r;
		/* RFC 9112 5.1: no whitespace between name and colon. */
		if ((r = EXPECT(s, ":")))
			return r;
		if ((r = field_value(s, &h[n].value)))
			return r;
		n++;
	}
}

/*
 * RFC 9112 3: request-line = method SP request-target SP HTTP-version CRLF.
 * Only origin-form targets (RFC 9112 3.2.1) and only HTTP/1.1 (the
 * upgrade needs 1.1, RFC 6455 4.1; the name is case-sensitive, RFC 9112
 * 2.3). No empty lines are skipped before it.
 */
static int request_line(struct scan *s, struct collab_http_request *req)
{
	size_t start, qmark = 0;
	int has_q = 0, r;
	uint8_t c;

	if ((r = token(s, &req->method)))
		return r;
	if ((r = EXPECT(s, " ")))
		return r;
	start = s->i;
	if ((r = peek(s, &c)))
		return r;
	if (c != '/')
		return COLLAB_ESYNTAX;
	for (;;) {
		if ((r = peek(s, &c)))
			return r;
		if (c == ' ')
			break;
		if (!http_is_target_char(c))
			return COLLAB_ESYNTAX;
		if (c == '?' && !has_q) {
			has_q = 1;
			qmark = s->i;
		}
		s->i++;
	}
	req->target = view(s, start, s->i);
	if (has_q) {
		req->path = view(s, start, qmark);
		req->query = view(s, qmark + 1, s->i);
	} else {
		req->path = req->target;
		req->query = view(s, s->i, s->i);
	}
	s->i++; /* the SP peeked above */
	start = s->i;
	if ((r = EXPECT(s, "HTTP/1.1")))
		return r;
	req->version = view(s, start, s->i);
	return EXPECT(s, "\r\n");
}

/* RFC 9112 4: status-line = HTTP-version SP status-code SP [reason-phrase]
 * CRLF; the second SP is required even before an empty reason. */
static int status_line(struct scan *s, struct collab_http_response *res)
{
	size_t start;
	unsigned status = 0;
	uint8_t c;
	int r;

	if ((r = EXPECT(s, "HTTP/1.1")))
		return r;
	res->version = view(s, 0, s->i);
	if ((r = EXPECT(s, " ")))
		return r;
	for (int k = 0; k < 3; k++) {
		if ((r = peek(s, &c)))
			return r;
		/* RFC 9110 15: three digits, 100..599. */
		if (c < (k == 0 ? '1' : '0') || c > (k == 0 ? '5' : '9'))
			return COLLAB_ESYNTAX;
		status = status * 10 + (unsigned)(c - '0');
		s->i++;
	}
	res->status = status;
	if ((r = EXPECT(s, " ")))
		return r;
	start = s->i;
	for (;;) {
		if ((r = peek(s, &c)))
			return r;
		if (c == '\r')
			break;
		/* reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ) */
		if (!http_is_field_char(c))
			return COLLAB_ESYNTAX;
		s->i++;
	}
	res->reason = view(s, start, s->i);
	return EXPECT(s, "\r\n");
}

static int check_args(const struct collab_http_config *cfg, const uint8_t *p,
		      size_t len, const struct collab_http_header *h, size_t cap)
{
	if (!p && len)
		return COLLAB_EINVAL;
	if (cap < cfg->max_headers || (!h && cap))
		return COLLAB_EINVAL;
	return 0;
}

int collab_http_parse_request(const struct collab_http_config *cfg,
			      const uint8_t *p, size_t len,
			      struct collab_http_request *req)
{
	struct collab_http_config def;
	struct scan s;
	size_t n = 0;
	int r;

	if (!cfg) {
		collab_http_config_init(&def);
		cfg = &def;
	}
	if (!req)
		return COLLAB_EINVAL;
	if ((r = check_args(cfg, p, len, req->headers, req->headers_cap)))
		return r;
	scan_init(&s, p, len, cfg->max_head_bytes);
	if ((r = request_line(&s, req)))
		return r;
	if ((r = fields(&s, req->headers, cfg->max_headers, &n)))
		return r;
	req->num_headers = n;
	req->head_len = s.i;
	return 0;
}

int collab_http_parse_response(const struct collab_http_config *cfg,
			       const uint8_t *p, size_t len,
			       struct collab_http_response *res)
{
	struct collab_http_config def;
	struct scan s;
	size_t n = 0;
	int r;

	if (!cfg) {
		collab_http_config_init(&def);
		cfg = &def;
	}
	if (!res)
		return COLLAB_EINVAL;
	if ((r = check_args(cfg, p, len, res->headers, res->headers_cap)))
		return r;
	scan_init(&s, p, len, cfg->max_head_bytes);
	if ((r = status_line(&s, res)))
		return r;
	if ((r = fields(&s, res->headers, cfg->max_headers, &n)))
		return r;
	res->num_headers = n;
	res->head_len = s.i;
	return 0;
}

unsigned collab_http_error_status(int err)
{
	return err == COLLAB_ELIMIT ? 431 : 400;
}

const char *collab_http_reason(unsigned status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "";
	}
}

size_t collab_http_header_find(const struct collab_http_header *h, size_t n,
			       const char *name, size_t from)
{
	for (size_t i = from; i < n; i++)
		if (http_eq_ci(h[i].name, name))
			return i;
	return n;
}

int collab_http_header_get(const struct collab_http_header *h, size_t n,
			   const char *name, struct collab_str *value)
{
	size_t i = collab_http_header_find(h, n, name, 0);
	if (i == n)
		return COLLAB_ENOTFOUND;
	*value = h[i].value;
	if (collab_http_header_find(h, n, name, i + 1) < n)
		return COLLAB_EDUPKEY;
	return 0;
}

void collab_http_list_init(struct collab_http_list *it,
			   const struct collab_http_header *h, size_t n,
			   const char *name)
{
	it->h = h;
	it->n = n;
	it->name = name;
	it->idx = collab_http_header_find(h, n, name, 0);
	it->pos = 0;
}

/* RFC 9110 5.6.1: #element = [ element ] *( OWS "," OWS [ element ] ). */
int collab_http_list_next(struct collab_http_list *it, struct collab_str *elem)
{
	while (it->idx < it->n) {
		struct collab_str v = it->h[it->idx].value;
		while (it->pos < v.len) {
			size_t a = it->pos, b = a;
			while (b < v.len && v.p[b] != ',')
				b++;
			it->pos = b < v.len ? b + 1 : b;
			while (a < b && http_is_ows((uint8_t)v.p[a]))
				a++;
			while (b > a && http_is_ows((uint8_t)v.p[b - 1]))
				b--;
			if (a == b)
				continue; /* empty elements are ignored */
			elem->p = v.p + a;
			elem->len = b - a;
			return 0;
		}
		it->idx = collab_http_header_find(it->h, it->n, it->name,
						  it->idx + 1);
		it->pos = 0;
	}
	return COLLAB_ENOTFOUND;
}

int collab_http_list_has(const struct collab_http_header *h, size_t n,
			 const char *name, const char *tok)
{
	struct collab_http_list it;
	struct collab_str e;

	collab_http_list_init(&it, h, n, name);
	while (collab_http_list_next(&it, &e) == 0)
		if (http_eq_ci(e, tok))
			return 1;
	return 0;
}
