/*
 * demo.h - `--demo` mode's token endpoint on the main listener, for the
 * browser demo page (server/www):
 *
 *   GET /demo-token?name=NAME
 *   200 {"token":"<jwt>","tenantId":"demo","user":{"id":"demo-ann","name":"Ann"}}
 *
 * The token is an HS256 JWT (PROTOCOL.md 7) signed with the demo tenant's
 * secret: sub = the user id, name = NAME, tenantId "demo", exp = now + 10
 * minutes, no urlIds (every page of the tenant). NAME is the query
 * parameter decoded as URLSearchParams writes it: 1 to 64 bytes of UTF-8
 * without control characters; anything else is a 400. The user id is
 * "demo-" followed by the name folded to [a-z0-9-] (letters lowercased,
 * runs of other bytes one '-'), plus "-" and 8 hex digits of a hash of the
 * exact name whenever folding changed something other than letter case,
 * so "Ann" and "ann" are one user while "Zoë" and "Zoe" are two. Only in
 * demo mode: whoever reaches the port may act as any demo user.
 *
 * Responses carry Cache-Control: no-store. Thread rules: the loop thread.
 */
#ifndef SRV_DEMO_H
#define SRV_DEMO_H

#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"
#include "collab/http.h"
#include "collab/jwt.h"
#include "collab/wsconn.h"
#include "tenant.h"

#define SRV_DEMO_TENANT "demo"
#define SRV_DEMO_PATH "/demo-token"
#define SRV_DEMO_TTL_S 600u
#define SRV_DEMO_NAME_MAX 64u
/* "demo-" + folded name + "-" + 8 hex digits. */
#define SRV_DEMO_ID_MAX (5u + SRV_DEMO_NAME_MAX + 9u)
/* The JSON answer always fits in this many bytes. */
#define SRV_DEMO_BODY_CAP 2048u

struct srv_demo {
	const struct srv_tenant *tenant;   /* the "demo" tenant */
	struct collab_jwt_config jcfg;
	uint64_t ttl_s;
};

/* Binds d to tenant t (MUST outlive d). */
void srv_demo_init(struct srv_demo *d, const struct srv_tenant *t);

/*
 * The user id for name[0..len) (see above) into out[0..cap), no NUL.
 * Returns 0 with *out_len set, COLLAB_EINVAL when the name is not 1 to
 * SRV_DEMO_NAME_MAX bytes of UTF-8 without control characters,
 * COLLAB_ESPACE when cap is below SRV_DEMO_ID_MAX.
 */
int srv_demo_user_id(const char *name, size_t len, char *out, size_t cap,
		     size_t *out_len);

/*
 * The JSON answer for name at unix time now_s into out[0..cap) (no NUL).
 * Returns 0 with *out_len set; COLLAB_EINVAL for a bad name; COLLAB_ESPACE
 * when cap is too small (SRV_DEMO_BODY_CAP suffices); the signer's error.
 */
int srv_demo_body(const struct srv_demo *d, const char *name, size_t len,
		  uint64_t now_s, uint8_t *out, size_t cap, size_t *out_len);

/* Answers req on c (from on_request): 405 unless GET or HEAD, 400 for a
 * missing, repeated or bad name, else 200 with the body. Returns the
 * status sent, or 0 when nothing could be queued. */
unsigned srv_demo_serve(const struct srv_demo *d, struct collab_wsconn *c,
			const struct collab_http_request *req);

#endif
