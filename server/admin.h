/*
 * admin.h - collab-server's admin listener (DESIGN.md module admin;
 * PROTOCOL.md 9), 127.0.0.1 by default:
 *
 *   GET /health    200 "ok\n" while the server accepts work; 503 while it
 *                  shuts down or its journal cannot take writes
 *   GET /usage     the per-tenant usage array (application/json)
 *   GET /metrics   the Prometheus text exposition (format 0.0.4)
 *   other paths    404; methods other than GET and HEAD: 405 (Allow)
 *
 * Every answer is a plain HTTP/1.1 response on its own connection
 * ("Connection: close"), never an upgrade. HEAD gets the head GET would
 * get. Bodies carry Cache-Control: no-store.
 *
 * Also the one helper every HTTP answer of the server goes through.
 *
 * Thread rules: the loop thread.
 */
#ifndef SRV_ADMIN_H
#define SRV_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "collab/common.h"
#include "collab/http.h"
#include "collab/wsconn.h"

struct srv_server;

/* The handlers of the admin listener (context srv). */
void srv_admin_handlers(struct srv_server *srv,
			struct collab_wsconn_handlers *hd);

/*
 * Queues one HTTP response on c (from on_request): status, Content-Type
 * ctype (empty: none), the extra headers, and body[0..len) (for a HEAD
 * request, head_only, the head alone, with the Content-Length the body
 * would have). Returns 0 or the error of collab_wsconn_respond().
 */
int srv_http_reply(struct collab_wsconn *c, bool head_only, unsigned status,
		   const char *ctype, const struct collab_http_header *extra,
		   size_t nextra, const void *body, size_t len);

/* true for "HEAD", false for anything else. */
bool srv_http_is_head(const struct collab_http_request *req);

/* true for "GET" or "HEAD". */
bool srv_http_is_get_or_head(const struct collab_http_request *req);

/* 405 with "Allow: GET, HEAD". */
int srv_http_method_not_allowed(struct collab_wsconn *c, bool head_only);

#endif
