/*
 * demo.c - GET /demo-token in --demo mode. See demo.h.
 */
#include "demo.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "collab/json.h"
#include "collab/utf8.h"

/* Nodes the signer needs to check a payload of at most this many bytes. */
#define PAYLOAD_CAP 1024u

void srv_demo_init(struct srv_demo *d, const struct srv_tenant *t)
{
	d->tenant = t;
	collab_jwt_config_init(&d->jcfg);
	d->ttl_s = SRV_DEMO_TTL_S;
}

static bool name_ok(const char *name, size_t len)
{
	size_t i;

	if (len < 1 || len > SRV_DEMO_NAME_MAX ||
	    collab_utf8_check((const uint8_t *)name, len) != 0)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

int srv_demo_user_id(const char *name, size_t len, char *out, size_t cap,
		     size_t *out_len)
{
	static const char prefix[] = "demo-";
	const size_t pl = sizeof(prefix) - 1;
	size_t i, n = pl;
	uint32_t h = 2166136261u;   /* FNV-1a */
	bool changed = false, dash = false;
	char ch;

	if (!name_ok(name, len))
		return COLLAB_EINVAL;
	if (cap < SRV_DEMO_ID_MAX)
		return COLLAB_ESPACE;
	for (i = 0; i < n; i++)
		out[i] = prefix[i];
	for (i = 0; i < len; i++) {
		h = (h ^ (unsigned char)name[i]) * 16777619u;
		ch = name[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-') {
			out[n++] = ch;
			dash = ch == '-';
			continue;
		}
		changed = true;
		if (!dash && n > pl) {
			out[n++] = '-';
			dash = true;
		}
	}
	while (n > pl && out[n - 1] == '-')
		n--;
	if (changed || n == pl) {
		if (n > pl)
			out[n++] = '-';
		(void)snprintf(out + n, cap - n, "%08x", (unsigned)h);
		n += 8;
	}
	*out_len = n;
	return 0;
}

int srv_demo_body(const struct srv_demo *d, const char *name, size_t len,
		  uint64_t now_s, uint8_t *out, size_t cap, size_t *out_len)
{
	struct collab_json_node nodes[COLLAB_JSON_NODES_FOR(PAYLOAD_CAP)];
	struct collab_json_writer w;
	uint8_t payload[PAYLOAD_CAP];
	char id[SRV_DEMO_ID_MAX], token[COLLAB_JWT_DEFAULT_MAX_TOKEN];
	size_t idlen = 0, plen = 0, tlen = 0;
	const struct srv_tenant *t = d->tenant;
	int rc;

	rc = srv_demo_user_id(name, len, id, sizeof(id), &idlen);
	if (rc != 0)
		return rc;
	/* PROTOCOL.md 7: sub, name, tenantId, exp */
	collab_json_writer_init(&w, payload, sizeof(payload));
	collab_json_write_obj_begin(&w);
	collab_json_write_key(&w, "sub", 3);
	collab_json_write_str(&w, id, idlen);
	collab_json_write_key(&w, "name", 4);
	collab_json_write_str(&w, name, len);
	collab_json_write_key(&w, "tenantId", 8);
	collab_json_write_str(&w, t->id, t->id_len);
	collab_json_write_key(&w, "exp", 3);
	collab_json_write_u64(&w, now_s + d->ttl_s);
	collab_json_write_obj_end(&w);
	rc = collab_json_writer_finish(&w, &plen);
	if (rc != 0)
		return rc;
	rc = collab_jwt_sign(&d->jcfg, t->secret, t->secret_len, payload, plen,
			     nodes, sizeof(nodes) / sizeof(nodes[0]), token,
			     sizeof(token), &tlen);
	if (rc != 0)
		return rc;
	collab_json_writer_init(&w, out, cap);
	collab_json_write_obj_begin(&w);
	collab_json_write_key(&w, "token", 5);
	collab_json_write_str(&w, token, tlen);
	collab_json_write_key(&w, "tenantId", 8);
	collab_json_write_str(&w, t->id, t->id_len);
	collab_json_write_key(&w, "user", 4);
	collab_json_write_obj_begin(&w);
	collab_json_write_key(&w, "id", 2);
	collab_json_write_str(&w, id, idlen);
	collab_json_write_key(&w, "name", 4);
	collab_json_write_str(&w, name, len);
	collab_json_write_obj_end(&w);
	collab_json_write_obj_end(&w);
	return collab_json_writer_finish(&w, out_len);
}

unsigned srv_demo_serve(const struct srv_demo *d, struct collab_wsconn *c,
			const struct collab_http_request *req)
{
	struct collab_http_header h[1];
	uint8_t body[SRV_DEMO_BODY_CAP];
	char name[SRV_DEMO_NAME_MAX + 1];
	size_t nlen = 0, blen = 0;
	bool head = srv_http_is_head(req);
	unsigned status = 200;
	int rc;

	h[0].name = COLLAB_STR("Cache-Control");
	h[0].value = COLLAB_STR("no-store");
	if (!srv_http_is_get_or_head(req))
		return srv_http_method_not_allowed(c, head) == 0 ? 405 : 0;
	/* URLSearchParams encoding: %XX and '+' for a space */
	rc = collab_http_query_get(req->query, "name", name, sizeof(name), &nlen);
	if (rc == 0)
		rc = srv_demo_body(d, name, nlen, (uint64_t)time(NULL), body,
				   sizeof(body), &blen);
	if (rc == 0) {
		rc = srv_http_reply(c, head, 200, "application/json", h, 1, body,
				    blen);
	} else {
		static const char bad[] =
			"400 Bad Request: give ?name= 1 to 64 bytes\n";
		status = 400;
		rc = srv_http_reply(c, head, 400, "text/plain; charset=utf-8",
				    h, 1, bad, sizeof(bad) - 1);
	}
	return rc == 0 ? status : 0;
}
