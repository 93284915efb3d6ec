/*
 * admin.c - the admin listener: /health, /usage, /metrics. See admin.h.
 */
#include "admin.h"

#include <string.h>

#include "metrics.h"
#include "server.h"

/* ---- HTTP answers ----------------------------------------------------------------- */

bool srv_http_is_head(const struct collab_http_request *req)
{
	return collab_str_eq(req->method, "HEAD", 4);
}

bool srv_http_is_get_or_head(const struct collab_http_request *req)
{
	return collab_str_eq(req->method, "GET", 3) || srv_http_is_head(req);
}

int srv_http_reply(struct collab_wsconn *c, bool head_only, unsigned status,
		   const char *ctype, const struct collab_http_header *extra,
		   size_t nextra, const void *body, size_t len)
{
	struct collab_str ct = { ctype, ctype ? strlen(ctype) : 0 };

	if (head_only)
		return collab_wsconn_respond_head(c, status, ct, extra, nextra,
						  len);
	return collab_wsconn_respond(c, status, ct, extra, nextra, body, len);
}

int srv_http_method_not_allowed(struct collab_wsconn *c, bool head_only)
{
	static const char body[] = "405 Method Not Allowed\n";
	struct collab_http_header h[1];

	/* RFC 9110 15.5.6: a 405 lists the methods the resource allows */
	h[0].name = COLLAB_STR("Allow");
	h[0].value = COLLAB_STR("GET, HEAD");
	return srv_http_reply(c, head_only, 405, "text/plain; charset=utf-8", h,
			      1, body, sizeof(body) - 1);
}

/* ---- the endpoints ------------------------------------------------------------------ */

static void copy_journal(struct srv_server *srv)
{
	struct srv_journal_stats st;

	srv->metrics.rooms = srv_room_registry_count(&srv->rooms);
	if (!srv->journal_ok)
		return;
	srv_journal_stats(&srv->journal, &st);
	srv->metrics.journal.bytes = st.size;
	srv->metrics.journal.records = st.records_written;
	srv->metrics.journal.fsyncs = st.syncs;
	srv->metrics.journal.fsync_failures = st.sync_failures;
	srv->metrics.journal.last_fsync_ns = st.sync_ns_last;
}

static void on_request(struct collab_wsconn *c,
		       const struct collab_wsconn_request *req)
{
	static const char nf[] = "404 Not Found\n";
	struct srv_server *srv = collab_wsconn_app(c);
	const struct collab_http_request *http = req->http;
	bool head = srv_http_is_head(http);
	struct collab_http_header h[1];
	struct collab_buf out;
	const char *ctype = NULL;
	int rc;

	h[0].name = COLLAB_STR("Cache-Control");
	h[0].value = COLLAB_STR("no-store");
	if (!srv_http_is_get_or_head(http)) {
		rc = srv_http_method_not_allowed(c, head);
		goto done;
	}
	if (collab_str_eq(http->path, "/health", 7)) {
		bool ok = !srv->stopping && (!srv->journal_ok ||
					     srv_journal_writable(&srv->journal));
		rc = ok ? srv_http_reply(c, head, 200, "text/plain; charset=utf-8",
					 h, 1, "ok\n", 3)
			: srv_http_reply(c, head, 503, "text/plain; charset=utf-8",
					 h, 1, "unavailable\n", 12);
		goto done;
	}
	collab_buf_init(&out, srv->a, 0);
	if (collab_str_eq(http->path, "/usage", 6)) {
		rc = srv_metrics_render_usage(&srv->metrics, &out);
		ctype = SRV_METRICS_USAGE_CONTENT_TYPE;
	} else if (collab_str_eq(http->path, "/metrics", 8)) {
		copy_journal(srv);
		rc = srv_metrics_render_prometheus(&srv->metrics, &out);
		ctype = SRV_METRICS_PROM_CONTENT_TYPE;
	} else {
		rc = srv_http_reply(c, head, 404, "text/plain; charset=utf-8",
				    NULL, 0, nf, sizeof(nf) - 1);
		collab_buf_free(&out);
		goto done;
	}
	if (rc == 0)
		rc = srv_http_reply(c, head, 200, ctype, h, 1, out.p, out.len);
	else
		rc = srv_http_reply(c, head, 500, "text/plain; charset=utf-8",
				    NULL, 0, "500 Internal Server Error\n", 26);
	collab_buf_free(&out);
done:
	if (rc != 0)
		collab_wsconn_drop(&srv->ws, collab_wsconn_handle(c));
}

void srv_admin_handlers(struct srv_server *srv,
			struct collab_wsconn_handlers *hd)
{
	memset(hd, 0, sizeof(*hd));
	hd->on_request = on_request;
	hd->ctx = srv;
}
