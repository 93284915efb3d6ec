/*
 * fuzz_tenants.c - the tenants.json parser (server/tenant.h), and the
 * metrics renderers over whatever registry it accepts.
 *
 * Accepted: every tenant satisfies every rule of tenant.h (id grammar and
 * uniqueness, secret and origin lengths, limits in range), is found by its
 * id, allows each of its own origins, and /usage re-parses as JSON with
 * one entry per tenant. Refused: one line naming the file, a documented
 * code, and an empty registry.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/buf.h"
#include "collab/json.h"
#include "metrics.h"
#include "tenant.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void check_tenant(const struct srv_tenant_registry *reg,
			 const struct srv_tenant *t, size_t i)
{
	size_t k;

	CHECK(t->index == i);
	CHECK(t->id_len >= 1 && t->id_len <= SRV_TENANT_ID_MAX);
	CHECK(t->id[t->id_len] == '\0');
	for (k = 0; k < t->id_len; k++) {
		char c = t->id[k];
		CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-');
	}
	CHECK(srv_tenant_find(reg, t->id, t->id_len) == t);
	CHECK(t->secret_len >= SRV_TENANT_SECRET_MIN &&
	      t->secret_len <= SRV_TENANT_SECRET_MAX);
	CHECK(t->n_origins <= SRV_TENANT_ORIGINS_MAX);
	CHECK((t->n_origins == 0) == (t->origins == NULL));
	for (k = 0; k < t->n_origins; k++) {
		CHECK(t->origins[k].len >= 1 &&
		      t->origins[k].len <= SRV_TENANT_ORIGIN_MAX);
		CHECK(srv_tenant_origin_allowed(t, t->origins[k].p,
						t->origins[k].len));
	}
	CHECK(srv_tenant_origin_allowed(t, NULL, 0));
	CHECK(t->anonymous == SRV_TENANT_ANON_NONE ||
	      t->anonymous == SRV_TENANT_ANON_READ);
	CHECK(t->max_connections >= 1 &&
	      t->max_connections <= SRV_TENANT_LIMIT_MAX);
	CHECK(t->ops_per_second >= 1 &&
	      t->ops_per_second <= SRV_TENANT_LIMIT_MAX);
	CHECK(t->ops_burst >= 1 && t->ops_burst <= SRV_TENANT_LIMIT_MAX);
	CHECK(t->max_chats_per_room >= 1 &&
	      t->max_chats_per_room <= SRV_TENANT_LIMIT_MAX);
	CHECK(t->max_comments_per_chat >= 1 &&
	      t->max_comments_per_chat <= SRV_TENANT_LIMIT_MAX);
	CHECK(t->connections == 0);
}

static void check_metrics(const struct srv_tenant_registry *reg)
{
	struct srv_metrics m;
	struct collab_buf b;
	struct collab_json_node *nodes;
	struct collab_json_doc doc;
	struct collab_json_config jc;
	size_t i;

	CHECK(srv_metrics_init(&m, NULL, reg) == 0);
	for (i = 0; i < reg->n; i++)
		srv_metrics_on_queued(srv_metrics_tenant(&m, &reg->tenants[i]),
				      i);
	collab_buf_init(&b, NULL, 0);
	CHECK(srv_metrics_render_usage(&m, &b) == 0);
	nodes = malloc(COLLAB_JSON_NODES_FOR(b.len) * sizeof *nodes);
	CHECK(nodes != NULL);
	collab_json_config_init(&jc);
	jc.max_input = b.len;
	CHECK(collab_json_parse(&jc, b.p, b.len, nodes,
				COLLAB_JSON_NODES_FOR(b.len), &doc) == 0);
	CHECK(collab_json_count(&doc, 0) == reg->n);
	free(nodes);
	collab_buf_reset(&b);
	CHECK(srv_metrics_render_prometheus(&m, &b) == 0);
	CHECK(b.len > 0 && b.p[b.len - 1] == '\n');
	collab_buf_free(&b);
	srv_metrics_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srv_tenant_registry reg;
	char msg[SRV_TENANT_MSG_CAP];
	size_t i;
	int rc;

	rc = srv_tenant_registry_parse(&reg, NULL, data, size, NULL, msg,
				       sizeof msg);
	if (rc != 0) {
		CHECK(rc == COLLAB_ESYNTAX || rc == COLLAB_ETYPE ||
		      rc == COLLAB_ELIMIT || rc == COLLAB_EEXIST);
		CHECK(strncmp(msg, "tenants.json: ", 14) == 0);
		CHECK(strlen(msg) > 14 && strchr(msg, '\n') == NULL);
		CHECK(reg.n == 0 && reg.block == NULL);
		srv_tenant_registry_free(&reg);
		return 0;
	}
	CHECK(msg[0] == '\0');
	CHECK(reg.n >= 1 && reg.n <= SRV_TENANT_COUNT_MAX);
	for (i = 0; i < reg.n; i++)
		check_tenant(&reg, &reg.tenants[i], i);
	/* the index is strictly sorted: ids are unique */
	for (i = 1; i < reg.n; i++) {
		const struct srv_tenant *a = reg.by_id[i - 1], *b = reg.by_id[i];
		size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
		int r = memcmp(a->id, b->id, n);
		CHECK(r < 0 || (r == 0 && a->id_len < b->id_len));
	}
	check_metrics(&reg);
	srv_tenant_registry_free(&reg);
	return 0;
}
