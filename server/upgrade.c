/*
 * upgrade.c - the main listener's request decision (PROTOCOL.md 1). See
 * upgrade.h.
 */
#include "upgrade.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "admin.h"
#include "collab/http.h"
#include "collab/utf8.h"
#include "server.h"


static void peer_text(struct collab_wsconn *c, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN];
	unsigned port = 0;

	memset(&ss, 0, sizeof(ss));
	(void)snprintf(out, cap, "?");
	if (getpeername(collab_wsconn_fd(c), (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
		if (inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)) == NULL)
			return;
		port = ntohs(a->sin_port);
		(void)snprintf(out, cap, "%s:%u", ip, port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
		if (inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip)) == NULL)
			return;
		port = ntohs(a->sin6_port);
		(void)snprintf(out, cap, "[%s]:%u", ip, port);
	}
}

/* Answers an upgrade with a rejection (PROTOCOL.md 1) and logs why. The
 * 403 body is the same for every reason. */
static void refuse(struct srv_server *srv, struct collab_wsconn *c,
		   unsigned status, const char *why, const char *detail,
		   size_t detail_len)
{
	struct collab_http_header h[1] = { { { NULL, 0 }, { NULL, 0 } } };
	size_t nh = 0;
	char peer[64], clean[80];

	if (status == 503) {
		h[0].name = COLLAB_STR("Retry-After");
		h[0].value = COLLAB_STR(SRV_SERVER_RETRY_AFTER);
		nh = 1;
	}
	if (collab_wsconn_reject(c, status, nh ? h : NULL, nh,
				 (struct collab_str){ NULL, 0 }) != 0)
		collab_wsconn_drop(&srv->ws, collab_wsconn_handle(c));
	if (srv->cfg->log_level < SRV_CONFIG_LOG_INFO || !srv_log_allow(srv))
		return;
	peer_text(c, peer, sizeof(peer));
	if (detail != NULL)
		srv_log(srv, SRV_CONFIG_LOG_INFO,
			"upgrade rejected: %u %s \"%s\" (peer %s)", status, why,
			srv_log_clean(detail, detail_len, clean, sizeof(clean)),
			peer);
	else
		srv_log(srv, SRV_CONFIG_LOG_INFO,
			"upgrade rejected: %u %s (peer %s)", status, why, peer);
}

static bool tenant_id_ok(const char *p, size_t len)
{
	size_t i;

	/* PROTOCOL.md 1: 1-64 bytes of [A-Za-z0-9_-] */
	if (len < 1 || len > SRV_TENANT_ID_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char ch = p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static const char *query_why(int rc, const char *name)
{
	switch (rc) {
	case COLLAB_ESYNTAX: return "malformed percent-escape in the query";
	case COLLAB_ENOTFOUND:
		return name[0] == 't' ? "missing tenantId" : "missing urlId";
	case COLLAB_EDUPKEY:
		return name[0] == 't' ? "repeated tenantId" : "repeated urlId";
	case COLLAB_ESPACE:
		return name[0] == 't' ? "tenantId too long" : "urlId too long";
	default: return "bad query";
	}
}

static void ws_request(struct srv_server *srv, struct collab_wsconn *c,
		       const struct collab_wsconn_request *req)
{
	const struct collab_http_upgrade *up = req->upgrade;
	struct collab_str query = req->http->query, proto = { NULL, 0 };
	char tid[SRV_TENANT_ID_MAX + 1];
	size_t tlen = 0, ulen = 0;
	struct srv_tenant *t;
	int rc;

	/* PROTOCOL.md 1, in order: not an upgrade (400), a bad query (400),
	 * the version (426), the tenant and origin (403), the limits (503). */
	if (up->status == 400) {
		refuse(srv, c, 400, up->why, NULL, 0);
		return;
	}
	rc = collab_http_query_get(query, "tenantId", tid, SRV_TENANT_ID_MAX,
				   &tlen);
	if (rc != 0) {
		refuse(srv, c, 400, query_why(rc, "tenantId"), NULL, 0);
		return;
	}
	if (!tenant_id_ok(tid, tlen)) {
		refuse(srv, c, 400, "bad tenantId", NULL, 0);
		return;
	}
	rc = collab_http_query_get(query, "urlId", srv->upg.url,
				   SRV_SERVER_URL_MAX, &ulen);
	if (rc != 0) {
		refuse(srv, c, 400, query_why(rc, "urlId"), NULL, 0);
		return;
	}
	if (ulen == 0 || collab_utf8_check((const uint8_t *)srv->upg.url,
					   ulen) != 0) {
		refuse(srv, c, 400, "bad urlId", NULL, 0);
		return;
	}
	if (up->status != 0) {
		refuse(srv, c, up->status, up->why, NULL, 0);
		return;
	}
	t = srv_tenant_find(&srv->tenants, tid, tlen);
	if (t == NULL) {
		refuse(srv, c, 403, "unknown tenant", tid, tlen);
		return;
	}
	if (up->has_origin &&
	    !srv_tenant_origin_allowed(t, up->origin.p, up->origin.len)) {
		refuse(srv, c, 403, "origin not allowed", up->origin.p,
		       up->origin.len);
		return;
	}
	if (srv->n_ws >= srv->max_ws) {
		refuse(srv, c, 503, "server at its connection limit", NULL, 0);
		return;
	}
	if (t->connections >= t->max_connections) {
		refuse(srv, c, 503, "tenant at its connection limit", t->id,
		       t->id_len);
		return;
	}
	/* PROTOCOL.md 1: collab.v1 is selected when offered, nothing else */
	if (collab_http_offers_protocol(req->http, SRV_SERVER_SUBPROTOCOL))
		proto = COLLAB_STR(SRV_SERVER_SUBPROTOCOL);
	srv->upg.c = c;
	srv->upg.tenant = t;
	srv->upg.url_len = ulen;
	rc = collab_wsconn_accept(c, proto);
	if (rc != 0) {
		srv->upg.c = NULL;
		refuse(srv, c, 503, "cannot accept the upgrade", NULL, 0);
	}
}

void srv_upgrade_on_request(struct collab_wsconn *c,
			    const struct collab_wsconn_request *req)
{
	struct srv_server *srv = collab_wsconn_app(c);
	const struct collab_http_request *http = req->http;
	bool head = srv_http_is_head(http);

	if (collab_str_eq(http->path, "/ws", 3)) {
		if (srv->stopping) {
			refuse(srv, c, 503, "shutting down", NULL, 0);
			return;
		}
		ws_request(srv, c, req);
		return;
	}
	if (srv->has_demo && collab_str_eq(http->path, SRV_DEMO_PATH,
					   sizeof(SRV_DEMO_PATH) - 1)) {
		if (srv_demo_serve(&srv->demo, c, http) == 0)
			collab_wsconn_drop(&srv->ws, collab_wsconn_handle(c));
		return;
	}
	if (srv->has_www) {
		if (srv_static_serve(&srv->www, c, http) == 0)
			collab_wsconn_drop(&srv->ws, collab_wsconn_handle(c));
		return;
	}
	/* PROTOCOL.md 1: a path other than /ws is a 404; an upgrade to it is
	 * worth a log line, a browser's favicon is not. */
	if (req->upgrade->status == 0)
		refuse(srv, c, 404, "path other than /ws", NULL, 0);
	else if (srv_http_reply(c, head, 404, "text/plain; charset=utf-8",
				NULL, 0, "404 Not Found\n", 14) != 0)
		collab_wsconn_drop(&srv->ws, collab_wsconn_handle(c));
}
