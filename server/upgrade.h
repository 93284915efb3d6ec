/*
 * upgrade.h - what the main listener does with a request head
 * (PROTOCOL.md 1): `/ws` is a WebSocket upgrade, checked in this order:
 * not a valid upgrade (400), a bad query (400: tenantId 1-64 bytes of
 * [A-Za-z0-9_-], urlId 1-512 bytes of UTF-8, neither repeated, no
 * malformed escape; other parameters ignored), the version (426), an
 * unknown tenant or an Origin the tenant does not allow (403, one body for
 * both), the server's or the tenant's connection limit (503 with
 * Retry-After); then it is accepted, selecting collab.v1 when offered, and
 * handed to the session (session.h) through srv_server.upg. Every
 * rejected upgrade is logged with its reason (at most SRV_SERVER_LOG_BURST
 * lines a second; never a token). `/demo-token` goes to demo.h in demo
 * mode; any other path to static.h with --www, else 404.
 *
 * Thread rules: the loop thread.
 */
#ifndef SRV_UPGRADE_H
#define SRV_UPGRADE_H

#include "collab/wsconn.h"

/* The main listener's on_request (its context is the server). */
void srv_upgrade_on_request(struct collab_wsconn *c,
			    const struct collab_wsconn_request *req);

#endif
