/*
 * check_demo.c - the demo token endpoint's pure parts (server/demo.h): the
 * user id derived from a name, the name rules, and the JSON answer whose
 * token verifies with the tenant's secret (PROTOCOL.md 7) and carries the
 * claims the demo page needs.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "collab/json.h"
#include "collab/jwt.h"
#include "demo.h"
#include "tenant.h"
#include "testutil.h"

struct id_vec {
	const char *name;
	int rc;
	const char *id;      /* exact, or a prefix when hashed */
	bool hashed;         /* "-" and 8 hex digits follow */
};

static const struct id_vec id_vecs[] = {
	{ "Ann", 0, "demo-ann", false },
	{ "ann", 0, "demo-ann", false },
	{ "bo-42", 0, "demo-bo-42", false },
	{ "Ann Lee", 0, "demo-ann-lee", true },
	{ "Zo\xc3\xab", 0, "demo-zo", true },
	{ "\xe6\x9d\x8e", 0, "demo-", true },      /* nothing foldable */
	{ "  x  ", 0, "demo-x", true },
	{ "a__b", 0, "demo-a-b", true },
	{ "", COLLAB_EINVAL, NULL, false },
	{ "a\nb", COLLAB_EINVAL, NULL, false },
	{ "a\x7f", COLLAB_EINVAL, NULL, false },
	{ "\xff", COLLAB_EINVAL, NULL, false },     /* not UTF-8 */
	{ "0123456789012345678901234567890123456789012345678901234567890123", 0,
	  "demo-0123456789012345678901234567890123456789012345678901234567890123",
	  false },
	{ "01234567890123456789012345678901234567890123456789012345678901234",
	  COLLAB_EINVAL, NULL, false },            /* 65 bytes */
};

static bool is_hex8(const char *p)
{
	size_t i;

	for (i = 0; i < 8; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

START_TEST(test_user_id)
{
	const struct id_vec *v = &id_vecs[_i];
	char out[SRV_DEMO_ID_MAX];
	size_t n = 0, pl;
	struct guard_buf g = guard_copy(v->name, strlen(v->name));
	int rc = srv_demo_user_id((const char *)g.p, strlen(v->name), out,
				  sizeof(out), &n);

	ck_assert_msg(rc == v->rc, "%s: rc %d", v->name, rc);
	if (rc == 0) {
		pl = strlen(v->id);
		ck_assert(n >= pl && memcmp(out, v->id, pl) == 0);
		if (v->hashed) {
			size_t sep = pl > 5 ? 1 : 0;
			ck_assert_uint_eq(n, pl + sep + 8);
			ck_assert(sep == 0 || out[pl] == '-');
			ck_assert(is_hex8(out + pl + sep));
		} else {
			ck_assert_uint_eq(n, pl);
		}
	}
	guard_free(&g);
}
END_TEST

START_TEST(test_user_id_distinct)
{
	char a[SRV_DEMO_ID_MAX], b[SRV_DEMO_ID_MAX];
	size_t na = 0, nb = 0;

	/* folding would make them equal; the hash keeps them apart */
	ck_assert_int_eq(srv_demo_user_id("Zo\xc3\xab", 4, a, sizeof(a), &na), 0);
	ck_assert_int_eq(srv_demo_user_id("Zoe", 3, b, sizeof(b), &nb), 0);
	ck_assert(na != nb || memcmp(a, b, na) != 0);
	ck_assert_int_eq(srv_demo_user_id("Zoe", 3, a, 10, &na), COLLAB_ESPACE);
}
END_TEST

START_TEST(test_body_verifies)
{
	static const char file[] =
		"{\"tenants\":[{\"id\":\"demo\",\"secret\":"
		"\"0123456789abcdef0123456789abcdef0123\",\"anonymous\":\"read\"}]}";
	struct srv_tenant_registry reg;
	struct srv_demo d;
	uint8_t body[SRV_DEMO_BODY_CAP], scratch[COLLAB_JWT_SCRATCH_FOR(2048)];
	struct collab_json_node nodes[COLLAB_JSON_NODES_FOR(SRV_DEMO_BODY_CAP)];
	static struct collab_json_node jn[COLLAB_JWT_NODES_FOR(2048)];
	struct collab_json_doc doc;
	struct collab_jwt_claims cl;
	struct collab_str tok;
	char msg[SRV_TENANT_MSG_CAP + 32];
	size_t blen = 0;
	uint32_t user;

	ck_assert_int_eq(srv_tenant_registry_parse(&reg, NULL, (const uint8_t *)file,
						   sizeof(file) - 1, NULL, msg,
						   sizeof(msg)), 0);
	srv_demo_init(&d, srv_tenant_find(&reg, "demo", 4));
	ck_assert_int_eq(srv_demo_body(&d, "Ann \"A\"", 7, 1764151200, body,
				       sizeof(body), &blen), 0);
	ck_assert_int_eq(collab_json_parse(NULL, body, blen, nodes, ARRAY_LEN(nodes),
					   &doc), 0);
	ck_assert(collab_json_str_eq(&doc, collab_json_obj_get(&doc, 0, "tenantId", 8),
				     "demo", 4));
	user = collab_json_obj_get(&doc, 0, "user", 4);
	ck_assert(collab_json_str_eq(&doc, collab_json_obj_get(&doc, user, "name", 4),
				     "Ann \"A\"", 7));
	ck_assert_int_eq(collab_json_str_view(&doc, collab_json_obj_get(&doc, 0,
							"token", 5), NULL, 0, &tok), 0);
	/* verifies with the tenant's secret, valid for 10 minutes */
	ck_assert_int_eq(collab_jwt_verify(NULL, reg.tenants[0].secret,
					   reg.tenants[0].secret_len,
					   (const uint8_t *)tok.p, tok.len,
					   1764151200 + 599, jn, ARRAY_LEN(jn),
					   scratch, sizeof(scratch), &cl), 0);
	ck_assert_int_eq(cl.exp, 1764151200 + SRV_DEMO_TTL_S);
	ck_assert(collab_str_eq(cl.tenant_id, "demo", 4));
	ck_assert(collab_str_eq(cl.name, "Ann \"A\"", 7));
	ck_assert(cl.sub.len > 9 && memcmp(cl.sub.p, "demo-ann-a-", 11) == 0);
	ck_assert(!cl.has_url_ids && !cl.moderator);
	ck_assert_int_eq(collab_jwt_verify(NULL, reg.tenants[0].secret,
					   reg.tenants[0].secret_len,
					   (const uint8_t *)tok.p, tok.len,
					   1764151200 + 600 + 31, jn, ARRAY_LEN(jn),
					   scratch, sizeof(scratch), &cl),
			 COLLAB_EEXPIRED);
	/* bad names and small buffers */
	ck_assert_int_eq(srv_demo_body(&d, "", 0, 0, body, sizeof(body), &blen),
			 COLLAB_EINVAL);
	ck_assert_int_eq(srv_demo_body(&d, "Ann", 3, 0, body, 20, &blen),
			 COLLAB_ESPACE);
	srv_tenant_registry_free(&reg);
}
END_TEST

static Suite *demo_suite(void)
{
	Suite *s = suite_create("demo");
	TCase *tc = tcase_create("demo");

	tcase_add_loop_test(tc, test_user_id, 0, (int)ARRAY_LEN(id_vecs));
	tcase_add_test(tc, test_user_id_distinct);
	tcase_add_test(tc, test_body_verifies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(demo_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
