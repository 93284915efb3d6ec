/*
 * http_priv.h - character classes and comparisons shared by http.c,
 * http_query.c and http_ws.c. Private: not installed, not part of the API.
 * Written as ranges and lists rather than tables so an auditor can check
 * each class against its RFC at a glance.
 */
#ifndef COLLAB_HTTP_PRIV_H
#define COLLAB_HTTP_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collab/common.h"

/* RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
 * "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
static inline int http_is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z'))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '.': case '^': case '_':
	case '`': case '|': case '~':
		return 1;
	default:
		return 0;
	}
}

/* RFC 9110 5.5: field-value bytes are SP, HTAB, VCHAR and obs-text; every
 * other control (NUL, CR, LF, DEL included) is refused. */
static inline int http_is_field_char(uint8_t c)
{
	return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7F);
}

/* Bytes allowed in a request-target (and a URL's path and query): the
 * printable ASCII of RFC 3986, minus '#' which never goes on the wire
 * (RFC 9112 3.2). Browsers send some characters RFC 3986 reserves ('{',
 * '|', '^' ...) unescaped in queries, so no narrower set is enforced. */
static inline int http_is_target_char(uint8_t c)
{
	return c >= 0x21 && c <= 0x7E && c != '#';
}

static inline int http_is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static inline uint8_t http_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Does view a equal the C string b, ignoring ASCII case? */
static inline int http_eq_ci(struct collab_str a, const char *b)
{
	size_t n = strlen(b);
	if (a.len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (http_lower((uint8_t)a.p[i]) != http_lower((uint8_t)b[i]))
			return 0;
	return 1;
}

/* Is the view a non-empty run of tchar? */
static inline int http_is_token(struct collab_str s)
{
	if (s.len == 0)
		return 0;
	for (size_t i = 0; i < s.len; i++)
		if (!http_is_tchar((uint8_t)s.p[i]))
			return 0;
	return 1;
}

#endif
