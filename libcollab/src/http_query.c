/*
 * http_query.c - percent-decoding, query strings and ws:// URLs.
 *
 * Query strings are read the way the WHATWG URL standard's
 * application/x-www-form-urlencoded parser reads them (what a browser's
 * URLSearchParams writes), with one deliberate difference: that parser
 * passes a malformed escape through as literal text, and we refuse it
 * (PROTOCOL.md section 1: a 400), so that no two peers can disagree on
 * what a parameter says.
 */
#include "collab/http.h"
#include "collab/common.h"
#include "http_priv.h"

#include <arpa/inet.h>
#include <string.h>

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes the byte at s[*i] (moving *i past it). RFC 3986 2.1:
 * pct-encoded = "%" HEXDIG HEXDIG. */
static int decode_one(const char *s, size_t n, size_t *i, int plus, uint8_t *out)
{
	uint8_t c = (uint8_t)s[*i];
	if (c == '%') {
		int hi, lo;
		if (n - *i < 3)
			return COLLAB_ESYNTAX;
		hi = hexval((uint8_t)s[*i + 1]);
		lo = hexval((uint8_t)s[*i + 2]);
		if (hi < 0 || lo < 0)
			return COLLAB_ESYNTAX;
		*out = (uint8_t)(hi << 4 | lo);
		*i += 3;
		return 0;
	}
	*out = (plus && c == '+') ? (uint8_t)' ' : c;
	*i += 1;
	return 0;
}

int collab_http_pct_decode(struct collab_str in, int plus_is_space,
			   char *out, size_t cap, size_t *written)
{
	size_t i = 0, o = 0;
	int full = 0;
	if ((!in.p && in.len) || (!out && cap))
		return COLLAB_EINVAL;
	/* Runs to the end even once out is full, so that a malformed escape
	 * is reported as such whatever cap is. */
	while (i < in.len) {
		uint8_t b;
		int r = decode_one(in.p, in.len, &i, plus_is_space, &b);
		if (r)
			return r;
		if (o == cap)
			full = 1;
		else
			out[o++] = (char)b;
	}
	if (full)
		return COLLAB_ESPACE;
	*written = o;
	return 0;
}

/* Checks every escape of in; with name not NULL, also says whether in
 * decodes to exactly name[0..nlen). Returns 1 (match), 0, or ESYNTAX. */
static int decode_match(struct collab_str in, const char *name, size_t nlen)
{
	size_t i = 0, o = 0;
	int match = name != NULL;
	while (i < in.len) {
		uint8_t b;
		int r = decode_one(in.p, in.len, &i, 1, &b);
		if (r)
			return r;
		if (match && (o >= nlen || (uint8_t)name[o] != b))
			match = 0;
		o++;
	}
	return match && o == nlen;
}

void collab_http_query_init(struct collab_http_query *q, struct collab_str query)
{
	q->p = query.p;
	q->len = query.len;
	q->pos = 0;
}

/* The next non-empty pair as raw views; 0 or ENOTFOUND. */
static int next_raw(struct collab_http_query *q, struct collab_str *k,
		    struct collab_str *v)
{
	while (q->pos < q->len) {
		size_t a = q->pos, b = a, eq;
		while (b < q->len && q->p[b] != '&')
			b++;
		q->pos = b < q->len ? b + 1 : b;
		if (a == b)
			continue; /* "a&&b": empty sequences are skipped */
		eq = a;
		while (eq < b && q->p[eq] != '=')
			eq++;
		k->p = q->p + a;
		k->len = eq - a;
		v->p = q->p + (eq < b ? eq + 1 : b);
		v->len = eq < b ? b - eq - 1 : 0;
		return 0;
	}
	return COLLAB_ENOTFOUND;
}

int collab_http_query_next(struct collab_http_query *q,
			   char *key, size_t kcap, size_t *klen,
			   char *val, size_t vcap, size_t *vlen)
{
	struct collab_str k, v;
	int r, rv;

	if ((r = next_raw(q, &k, &v)))
		return r;
	r = collab_http_pct_decode(k, 1, key, kcap, klen);
	rv = collab_http_pct_decode(v, 1, val, vcap, vlen);
	/* A malformed escape outranks a small buffer, whichever side. */
	if (r == COLLAB_ESYNTAX || rv == COLLAB_ESYNTAX)
		return COLLAB_ESYNTAX;
	return r ? r : rv;
}

int collab_http_query_get(struct collab_str query, const char *name,
			  char *out, size_t cap, size_t *out_len)
{
	struct collab_http_query q;
	struct collab_str k, v, found = { NULL, 0 };
	size_t nlen, count = 0;

	if (!name || (!query.p && query.len))
		return COLLAB_EINVAL;
	nlen = strlen(name);
	collab_http_query_init(&q, query);
	while (next_raw(&q, &k, &v) == 0) {
		int m = decode_match(k, name, nlen);
		int r = decode_match(v, NULL, 0);
		if (m < 0)
			return m;
		if (r < 0)
			return r;
		if (m) {
			if (count == 0)
				found = v;
			count++;
		}
	}
	if (count == 0)
		return COLLAB_ENOTFOUND;
	if (count > 1)
		return COLLAB_EDUPKEY;
	return collab_http_pct_decode(found, 1, out, cap, out_len);
}

/* --- ws:// URLs --------------------------------------------------------- */

static const char slash[] = "/";

/* RFC 3986 3.2.2 reg-name, narrowed to what DNS names use. */
static int is_host_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* RFC 3986 3.2.2 IP-literal without IPvFuture or zone: inet_pton decides
 * (it reads a NUL-terminated copy; it is locale-independent). */
static int ipv6_ok(const char *p, size_t n)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a;
	if (n == 0 || n >= sizeof(tmp))
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)p[i];
		if (hexval(c) < 0 && c != ':' && c != '.')
			return 0;
	}
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* The host and optional port of authority a[0..n). */
static int parse_authority(const char *a, size_t n, struct collab_http_url *u)
{
	size_t i = 0;
	if (n > 0 && a[0] == '[') {
		while (i < n && a[i] != ']')
			i++;
		if (i == n || !ipv6_ok(a + 1, i - 1))
			return COLLAB_ESYNTAX;
		u->host.p = a + 1;
		u->host.len = i - 1;
		u->ipv6 = 1;
		i++;
	} else {
		while (i < n && a[i] != ':') {
			if (!is_host_char((uint8_t)a[i]))
				return COLLAB_ESYNTAX; /* '@' (userinfo) too */
			i++;
		}
		if (i == 0 || i > COLLAB_HTTP_MAX_HOST)
			return COLLAB_ESYNTAX;
		u->host.p = a;
		u->host.len = i;
	}
	if (i == n)
		return 0;
	if (a[i] != ':')
		return COLLAB_ESYNTAX;
	i++;
	/* RFC 3986 3.2.3 allows an empty or long port; we take 1..65535 in
	 * at most five digits, so the arithmetic cannot overflow. */
	if (n - i == 0 || n - i > 5)
		return COLLAB_ESYNTAX;
	uint32_t port = 0;
	for (; i < n; i++) {
		uint8_t c = (uint8_t)a[i];
		if (c < '0' || c > '9')
			return COLLAB_ESYNTAX;
		port = port * 10 + (uint32_t)(c - '0');
	}
	if (port == 0 || port > 65535)
		return COLLAB_ESYNTAX;
	u->port = (uint16_t)port;
	return 0;
}

int collab_http_parse_url(const char *url, size_t len, struct collab_http_url *u)
{
	size_t i, a, q;

	if ((!url && len) || !u)
		return COLLAB_EINVAL;
	memset(u, 0, sizeof(*u));
	/* RFC 6455 3: ws-URI / wss-URI; schemes compare ignoring case
	 * (RFC 3986 3.1). */
	for (i = 0; i < len && url[i] != ':'; i++)
		;
	u->scheme.p = url;
	u->scheme.len = i;
	if (http_eq_ci(u->scheme, "ws")) {
		u->port = 80;
	} else if (http_eq_ci(u->scheme, "wss")) {
		u->port = 443;
		u->tls = 1;
	} else {
		return COLLAB_ESYNTAX;
	}
	if (len - i < 3 || memcmp(url + i, "://", 3) != 0)
		return COLLAB_ESYNTAX;
	i += 3;
	/* RFC 6455 3: no fragment. Checked over the rest of the URL, along
	 * with the bytes no part of it may hold. */
	for (size_t k = i; k < len; k++)
		if (!http_is_target_char((uint8_t)url[k]))
			return COLLAB_ESYNTAX;
	a = i;
	while (i < len && url[i] != '/' && url[i] != '?')
		i++;
	if (parse_authority(url + a, i - a, u))
		return COLLAB_ESYNTAX;
	u->authority.p = url + a;
	u->authority.len = i - a;
	q = i;
	while (q < len && url[q] != '?')
		q++;
	if (q == i) {
		u->path.p = slash; /* RFC 6455 3: an empty path is "/" */
		u->path.len = 1;
	} else {
		u->path.p = url + i;
		u->path.len = q - i;
	}
	if (q < len) {
		u->query.p = url + q + 1;
		u->query.len = len - q - 1;
	} else {
		u->query.p = url + len;
		u->query.len = 0;
	}
	return 0;
}
