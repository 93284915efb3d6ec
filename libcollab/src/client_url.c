/*
 * client_url.c - the room's URL as the collab client builds it
 * (collab_client_build_url): base URL, then /ws when it has no path, then
 * the query PROTOCOL.md 1 reads, encoded as a browser's URLSearchParams
 * writes it (the WHATWG application/x-www-form-urlencoded serializer), so
 * that the server decodes exactly the tenantId and urlId given.
 */
#include "client_int.h"

#include <string.h>

#include "collab/http.h"

/* application/x-www-form-urlencoded as URLSearchParams serializes it. */
static bool form_plain(uint8_t b)
{
	return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') ||
	       (b >= 'a' && b <= 'z') || b == '*' || b == '-' || b == '.' ||
	       b == '_';
}

static int put(char *out, size_t cap, size_t *n, const char *p, size_t len)
{
	if (len > cap - *n)
		return COLLAB_ESPACE;
	if (len)
		memcpy(out + *n, p, len);
	*n += len;
	return 0;
}

static int put_form(char *out, size_t cap, size_t *n, struct collab_str v)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < v.len; i++) {
		uint8_t b = (uint8_t)v.p[i];
		char e[3];
		int rc;

		if (form_plain(b)) {
			rc = put(out, cap, n, (const char *)&v.p[i], 1);
		} else if (b == ' ') {
			rc = put(out, cap, n, "+", 1);
		} else {
			e[0] = '%';
			e[1] = hex[b >> 4];
			e[2] = hex[b & 15];
			rc = put(out, cap, n, e, 3);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

int collab_client_build_url(struct collab_str base, struct collab_str tenant_id,
			    struct collab_str url_id, char *out, size_t cap,
			    size_t *len)
{
	struct collab_http_url u;
	size_t n = 0, keep = base.len;
	bool add_ws;
	int rc;

	if ((base.p == NULL && base.len) || tenant_id.len == 0 ||
	    url_id.len == 0 || tenant_id.p == NULL || url_id.p == NULL ||
	    len == NULL || (out == NULL && cap))
		return COLLAB_EINVAL;
	if (base.len == 0 || collab_http_parse_url(base.p, base.len, &u) != 0 ||
	    memchr(base.p, '?', base.len) != NULL)
		return COLLAB_ESYNTAX;
	/* No path, or just "/": the server's endpoint is /ws. */
	add_ws = u.path.len == 1;
	if (add_ws && base.len && base.p[base.len - 1] == '/')
		keep--;
	rc = put(out, cap, &n, base.p, keep);
	if (rc == 0 && add_ws)
		rc = put(out, cap, &n, "/ws", 3);
	if (rc == 0)
		rc = put(out, cap, &n, "?tenantId=", 10);
	if (rc == 0)
		rc = put_form(out, cap, &n, tenant_id);
	if (rc == 0)
		rc = put(out, cap, &n, "&urlId=", 7);
	if (rc == 0)
		rc = put_form(out, cap, &n, url_id);
	if (rc != 0)
		return rc;
	*len = n;
	return 0;
}
