/*
 * check_tenant.c - the tenant registry and tenants.json (server/tenant.h).
 *
 * Good files with every field and default; every field wrong in every way,
 * each with its exact message naming file, tenant and field; duplicate
 * ids; the 31/32-byte secret boundary; not JSON; file too big; missing
 * file; lookups; origin checks; connection counting; allocation failures;
 * and, through a spying allocator, that no freed block still holds a
 * secret and nothing leaks. Every input is parsed from a buffer that ends
 * on a guard page.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collab/json.h"
#include "tenant.h"
#include "testutil.h"

/* A marker secret: the spy looks for it in every freed block. */
#define SECRET31 "S3cr3t-S3cr3t-S3cr3t-S3cr3t-S3c"  /* 31 bytes */
#define SECRET "S3cr3t-S3cr3t-S3cr3t-S3cr3t-S3cr"   /* 32 bytes */
#define MARK "S3cr3t-S3cr3t"

/* ---- a spying, failing allocator ------------------------------------------ */

struct spy {
	size_t live_bytes;
	size_t live_blocks;
	size_t allocs;
	size_t fail_at;       /* 1-based allocation to fail; 0: never */
	size_t leaked_secret; /* freed blocks that still held MARK */
	size_t size_mismatch;
};

struct hdr {
	size_t n;
	size_t pad;
};

static void *spy_alloc(void *ctx, size_t n)
{
	struct spy *s = ctx;
	struct hdr *h;

	s->allocs++;
	if (s->fail_at && s->allocs == s->fail_at)
		return NULL;
	h = malloc(sizeof *h + (n ? n : 1));
	if (h == NULL)
		return NULL;
	h->n = n;
	/* garbage, so code that forgets to initialise shows */
	memset(h + 1, 0xA5, n);
	s->live_bytes += n;
	s->live_blocks++;
	return h + 1;
}

static void spy_free(void *ctx, void *p, size_t n)
{
	struct spy *s = ctx;
	struct hdr *h;

	if (p == NULL)
		return;
	h = (struct hdr *)p - 1;
	if (h->n != n)
		s->size_mismatch++;
	if (memmem(p, h->n, MARK, strlen(MARK)) != NULL)
		s->leaked_secret++;
	s->live_bytes -= h->n;
	s->live_blocks--;
	free(h);
}

static struct spy spy;
static struct collab_alloc spy_a = { spy_alloc, spy_free, &spy };

static void spy_reset(size_t fail_at)
{
	memset(&spy, 0, sizeof spy);
	spy.fail_at = fail_at;
}

static void spy_check_clean(void)
{
	ck_assert_uint_eq(spy.live_bytes, 0);
	ck_assert_uint_eq(spy.live_blocks, 0);
	ck_assert_uint_eq(spy.leaked_secret, 0);
	ck_assert_uint_eq(spy.size_mismatch, 0);
}

/* Parses text from a guard-page buffer with the spy allocator. */
static int parse_text(struct srv_tenant_registry *reg, const char *text,
		      size_t len, const char *name, char *msg, size_t cap)
{
	struct guard_buf g = guard_copy(text, len);
	int rc;

	ck_assert_ptr_nonnull(g.p);
	rc = srv_tenant_registry_parse(reg, &spy_a, g.p, len, name, msg, cap);
	guard_free(&g);
	return rc;
}

/* ---- good files ------------------------------------------------------------ */

struct good {
	const char *json;
	size_t n;                /* tenants */
	/* tenants[0]: */
	const char *id;
	const char *secret;      /* decoded bytes */
	size_t secret_len;
	size_t n_origins;
	const char *origin0;     /* NULL when none */
	enum srv_tenant_anonymous anon;
	uint64_t max_conn, ops, burst, chats, comments;
};

#define D_LIMITS 10000, 20, 40, 10000, 1000
#define T(rest) "{\"tenants\":[{\"id\":\"demo\",\"secret\":\"" SECRET "\"" rest "}]}"

static const struct good goods[] = {
	/* PROTOCOL.md section 10's example, with a 32-byte secret */
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":\"" SECRET "\","
	  "\"origins\":[\"http://127.0.0.1:8080\"],\"anonymous\":\"read\","
	  "\"maxConnections\":10000}]}",
	  1, "demo", SECRET, 32, 1, "http://127.0.0.1:8080",
	  SRV_TENANT_ANON_READ, D_LIMITS },
	/* the minimum: defaults everywhere, anonymous "none", no origins */
	{ T(""), 1, "demo", SECRET, 32, 0, NULL, SRV_TENANT_ANON_NONE, D_LIMITS },
	{ T(",\"anonymous\":\"none\",\"origins\":[]"), 1, "demo", SECRET, 32,
	  0, NULL, SRV_TENANT_ANON_NONE, D_LIMITS },
	/* every limit set, 1 and the maximum included */
	{ T(",\"maxConnections\":1,\"opsPerSecond\":1000000000,\"opsBurst\":7,"
	    "\"maxChatsPerRoom\":3,\"maxCommentsPerChat\":1"),
	  1, "demo", SECRET, 32, 0, NULL, SRV_TENANT_ANON_NONE,
	  1, 1000000000, 7, 3, 1 },
	/* -0 is not an issue here: 1 with an exponent-free grammar only */
	{ T(",\"opsPerSecond\":5000,\"opsBurst\":10000"), 1, "demo", SECRET,
	  32, 0, NULL, SRV_TENANT_ANON_NONE, 10000, 5000, 10000, 10000, 1000 },
	/* unknown members ignored, at the top level and in a tenant, with
	 * any JSON value, nested ones included */
	{ "{\"version\":2,\"comment\":{\"a\":[1,{\"b\":null}]},\"tenants\":[{"
	  "\"note\":\"x\",\"id\":\"demo\",\"extra\":[[],{}],\"secret\":\""
	  SECRET "\",\"limits\":{\"maxConnections\":0}}],\"z\":true}",
	  1, "demo", SECRET, 32, 0, NULL, SRV_TENANT_ANON_NONE, D_LIMITS },
	/* whitespace and member order do not matter */
	{ "\n{ \"tenants\" : [ { \"anonymous\" : \"read\" ,\r\n\t\"secret\" : \""
	  SECRET "\" , \"id\" : \"demo\" } ] }\n",
	  1, "demo", SECRET, 32, 0, NULL, SRV_TENANT_ANON_READ, D_LIMITS },
	/* the secret is its bytes as written, JSON escapes decoded (and
	 * never base64-decoded): \u0041 is one byte, \u00e9 two */
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":"
	  "\"\\u0041\\u00e9\\n\\\"012345678901234567890123456\"}]}",
	  1, "demo", "A\xc3\xa9\n\"012345678901234567890123456", 32, 0,
	  NULL, SRV_TENANT_ANON_NONE, D_LIMITS },
	/* a secret with a NUL byte is still 32 bytes of key */
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":"
	  "\"\\u00000123456789012345678901234567890\"}]}",
	  1, "demo", "\0" "0123456789012345678901234567890", 32, 0, NULL,
	  SRV_TENANT_ANON_NONE, D_LIMITS },
	/* ids: every allowed character, 1 and 64 bytes, escapes decoded */
	{ "{\"tenants\":[{\"id\":\"AZaz09_-\",\"secret\":\"" SECRET "\"}]}",
	  1, "AZaz09_-", SECRET, 32, 0, NULL, SRV_TENANT_ANON_NONE, D_LIMITS },
	{ "{\"tenants\":[{\"id\":\"x\",\"secret\":\"" SECRET "\"}]}",
	  1, "x", SECRET, 32, 0, NULL, SRV_TENANT_ANON_NONE, D_LIMITS },
	{ "{\"tenants\":[{\"id\":\"0123456789012345678901234567890123456789"
	  "012345678901234567890123\",\"secret\":\"" SECRET "\"}]}",
	  1, "0123456789012345678901234567890123456789012345678901234567890123",
	  SECRET, 32, 0, NULL, SRV_TENANT_ANON_NONE, D_LIMITS },
	{ "{\"tenants\":[{\"id\":\"d\\u0065mo\",\"secret\":\"" SECRET "\"}]}",
	  1, "demo", SECRET, 32, 0, NULL, SRV_TENANT_ANON_NONE, D_LIMITS },
	/* origins: several, escapes decoded, duplicates harmless, "*" and
	 * "null" are plain strings */
	{ T(",\"origins\":[\"https:\\/\\/a.example\",\"*\",\"null\","
	    "\"https://a.example\"]"),
	  1, "demo", SECRET, 32, 4, "https://a.example", SRV_TENANT_ANON_NONE,
	  D_LIMITS },
	/* several tenants: the first is checked here, the rest below */
	{ "{\"tenants\":[{\"id\":\"b\",\"secret\":\"" SECRET "\"},"
	  "{\"id\":\"a\",\"secret\":\"" SECRET "x\",\"anonymous\":\"read\"}]}",
	  2, "b", SECRET, 32, 0, NULL, SRV_TENANT_ANON_NONE, D_LIMITS },
};

START_TEST(test_good)
{
	const struct good *g = &goods[_i];
	struct srv_tenant_registry reg;
	const struct srv_tenant *t;
	char msg[SRV_TENANT_MSG_CAP];
	size_t i;

	spy_reset(0);
	memset(msg, 'x', sizeof msg);
	ck_assert_msg(parse_text(&reg, g->json, strlen(g->json), NULL, msg,
				 sizeof msg) == 0, "row %d: %s", _i, msg);
	ck_assert_str_eq(msg, "");
	ck_assert_uint_eq(reg.n, g->n);
	t = &reg.tenants[0];
	ck_assert_str_eq(t->id, g->id);
	ck_assert_uint_eq(t->id_len, strlen(g->id));
	ck_assert_uint_eq(t->index, 0);
	ck_assert_uint_eq(t->secret_len, g->secret_len);
	ck_assert_mem_eq(t->secret, g->secret, g->secret_len);
	ck_assert_uint_eq(t->n_origins, g->n_origins);
	if (g->origin0) {
		ck_assert_uint_eq(t->origins[0].len, strlen(g->origin0));
		ck_assert_mem_eq(t->origins[0].p, g->origin0,
				 t->origins[0].len);
	} else {
		ck_assert_ptr_null(t->origins);
	}
	ck_assert_int_eq(t->anonymous, g->anon);
	ck_assert_uint_eq(t->max_connections, g->max_conn);
	ck_assert_uint_eq(t->ops_per_second, g->ops);
	ck_assert_uint_eq(t->ops_burst, g->burst);
	ck_assert_uint_eq(t->max_chats_per_room, g->chats);
	ck_assert_uint_eq(t->max_comments_per_chat, g->comments);
	ck_assert_uint_eq(t->connections, 0);
	/* every tenant is found by its id, in file order by index */
	for (i = 0; i < reg.n; i++) {
		ck_assert_uint_eq(reg.tenants[i].index, i);
		ck_assert_ptr_eq(srv_tenant_find(&reg, reg.tenants[i].id,
						 reg.tenants[i].id_len),
				 &reg.tenants[i]);
	}
	/* one allocation while it lives */
	ck_assert_uint_eq(spy.live_blocks, 1);
	srv_tenant_registry_free(&reg);
	ck_assert_uint_eq(reg.n, 0);
	ck_assert_ptr_null(reg.block);
	srv_tenant_registry_free(&reg);  /* twice is harmless */
	spy_check_clean();
}
END_TEST

START_TEST(test_two_tenants)
{
	static const char json[] =
		"{\"tenants\":[{\"id\":\"b\",\"secret\":\"" SECRET "\","
		"\"origins\":[\"http://b\"]},{\"id\":\"a\",\"secret\":\""
		SECRET "xy\",\"anonymous\":\"read\",\"origins\":[\"http://a1\","
		"\"http://a2\"],\"opsBurst\":99}]}";
	struct srv_tenant_registry reg;
	char msg[SRV_TENANT_MSG_CAP];
	const struct srv_tenant *a, *b;

	spy_reset(0);
	ck_assert_int_eq(parse_text(&reg, json, sizeof json - 1, NULL, msg,
				    sizeof msg), 0);
	b = &reg.tenants[0];
	a = &reg.tenants[1];
	ck_assert_str_eq(b->id, "b");
	ck_assert_str_eq(a->id, "a");
	ck_assert_uint_eq(a->index, 1);
	ck_assert_uint_eq(a->secret_len, 34);
	ck_assert_mem_eq(a->secret, SECRET "xy", 34);
	ck_assert_int_eq(a->anonymous, SRV_TENANT_ANON_READ);
	ck_assert_uint_eq(a->ops_burst, 99);
	ck_assert_uint_eq(b->ops_burst, 40);
	ck_assert_uint_eq(a->n_origins, 2);
	ck_assert_uint_eq(b->n_origins, 1);
	ck_assert(srv_tenant_origin_allowed(a, "http://a2", 9));
	ck_assert(!srv_tenant_origin_allowed(a, "http://b", 8));
	ck_assert(srv_tenant_origin_allowed(b, "http://b", 8));
	/* sorted index */
	ck_assert_ptr_eq(reg.by_id[0], a);
	ck_assert_ptr_eq(reg.by_id[1], b);
	srv_tenant_registry_free(&reg);
	spy_check_clean();
}
END_TEST

/* ---- bad files --------------------------------------------------------------- */

struct bad {
	const char *json;
	int rc;
	const char *msg;
};

#define P "tenants.json: "
#define TD P "tenant \"demo\": "
#define STR65 "01234567890123456789012345678901234567890123456789012345678901234"

static const struct bad bads[] = {
	/* not JSON, with line and column */
	{ "", COLLAB_ESYNTAX,
	  P "not valid JSON at line 1, column 1 (byte 0): malformed input" },
	{ "hello", COLLAB_ESYNTAX,
	  P "not valid JSON at line 1, column 1 (byte 0): malformed input" },
	{ "{\"tenants\":[\n  {\"id\":\"demo\",},\n]}", COLLAB_ESYNTAX,
	  P "not valid JSON at line 2, column 16 (byte 28): malformed input" },
	{ "{\"tenants\":[]} // comment", COLLAB_ESYNTAX,
	  P "not valid JSON at line 1, column 16 (byte 15): malformed input" },
	{ "{\"tenants\":[],\"tenants\":[]}", COLLAB_ESYNTAX,
	  P "not valid JSON at line 1, column 15 (byte 14): duplicate object key" },
	{ "{\"tenants\":[{\"id\":\"d\xff\"}]}", COLLAB_ESYNTAX,
	  P "not valid JSON at line 1, column 21 (byte 20): invalid UTF-8" },
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":\"" SECRET "\"}]", COLLAB_ESYNTAX,
	  P "not valid JSON at line 1, column 71 (byte 70): malformed input" },
	{ "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"
	  "\"tenants\":[]}", COLLAB_ESYNTAX,
	  P "not valid JSON at line 1, column 37 (byte 36): nested deeper than 32 levels" },
	/* the top level */
	{ "[]", COLLAB_ETYPE, P "the top level must be an object {\"tenants\":[...]}" },
	{ "\"tenants\"", COLLAB_ETYPE, P "the top level must be an object {\"tenants\":[...]}" },
	{ "{}", COLLAB_ETYPE, P "\"tenants\" is missing (an array of tenant objects)" },
	{ "{\"Tenants\":[]}", COLLAB_ETYPE, P "\"tenants\" is missing (an array of tenant objects)" },
	{ "{\"tenants\":{}}", COLLAB_ETYPE, P "\"tenants\" must be an array of tenant objects" },
	{ "{\"tenants\":null}", COLLAB_ETYPE, P "\"tenants\" must be an array of tenant objects" },
	{ "{\"tenants\":[]}", COLLAB_ETYPE, P "\"tenants\" is empty: configure at least one tenant" },
	{ "{\"tenants\":[null]}", COLLAB_ETYPE, P "tenants[0]: must be an object" },
	{ "{\"tenants\":[\"demo\"]}", COLLAB_ETYPE, P "tenants[0]: must be an object" },
	{ "{\"tenants\":[{\"id\":\"a\",\"secret\":\"" SECRET "\"},[]]}", COLLAB_ETYPE,
	  P "tenants[1]: must be an object" },
	/* id */
	{ "{\"tenants\":[{\"secret\":\"" SECRET "\"}]}", COLLAB_ETYPE, P "tenants[0]: id is missing" },
	{ "{\"tenants\":[{\"id\":null}]}", COLLAB_ETYPE,
	  P "tenants[0]: id must be a string of 1-64 bytes of [A-Za-z0-9_-]" },
	{ "{\"tenants\":[{\"id\":7}]}", COLLAB_ETYPE,
	  P "tenants[0]: id must be a string of 1-64 bytes of [A-Za-z0-9_-]" },
	{ "{\"tenants\":[{\"id\":[\"demo\"]}]}", COLLAB_ETYPE,
	  P "tenants[0]: id must be a string of 1-64 bytes of [A-Za-z0-9_-]" },
	{ "{\"tenants\":[{\"id\":\"\"}]}", COLLAB_ETYPE,
	  P "tenants[0]: id must be a string of 1-64 bytes of [A-Za-z0-9_-]" },
	{ "{\"tenants\":[{\"id\":\"" STR65 "\"}]}", COLLAB_ETYPE,
	  P "tenants[0]: id must be a string of 1-64 bytes of [A-Za-z0-9_-]" },
	{ "{\"tenants\":[{\"id\":\"de mo\"}]}", COLLAB_ETYPE,
	  P "tenants[0]: id must be a string of 1-64 bytes of [A-Za-z0-9_-]" },
	{ "{\"tenants\":[{\"id\":\"d\xc3\xa9mo\"}]}", COLLAB_ETYPE,
	  P "tenants[0]: id must be a string of 1-64 bytes of [A-Za-z0-9_-]" },
	{ "{\"tenants\":[{\"id\":\"a/b\"}]}", COLLAB_ETYPE,
	  P "tenants[0]: id must be a string of 1-64 bytes of [A-Za-z0-9_-]" },
	{ "{\"tenants\":[{\"id\":\"a.b\"}]}", COLLAB_ETYPE,
	  P "tenants[0]: id must be a string of 1-64 bytes of [A-Za-z0-9_-]" },
	{ "{\"tenants\":[{\"id\":\"a\\u0000\"}]}", COLLAB_ETYPE,
	  P "tenants[0]: id must be a string of 1-64 bytes of [A-Za-z0-9_-]" },
	{ "{\"tenants\":[{\"id\":\"a\\\"b\"}]}", COLLAB_ETYPE,
	  P "tenants[0]: id must be a string of 1-64 bytes of [A-Za-z0-9_-]" },
	/* secret */
	{ "{\"tenants\":[{\"id\":\"demo\"}]}", COLLAB_ETYPE, TD "secret is missing" },
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":null}]}", COLLAB_ETYPE,
	  TD "secret must be a string" },
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":12345678901234567890123456789012345}]}",
	  COLLAB_ETYPE, TD "secret must be a string" },
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":[\"" SECRET "\"]}]}", COLLAB_ETYPE,
	  TD "secret must be a string" },
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":\"\"}]}", COLLAB_ETYPE,
	  TD "secret must be at least 32 bytes (it has 0)" },
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":\"" SECRET31 "\"}]}", COLLAB_ETYPE,
	  TD "secret must be at least 32 bytes (it has 31)" },
	/* 33 bytes as escaped text, 28 decoded: the decoded length counts */
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":\"\\u0041S3cr3t-S3cr3t-S3cr3t-S3cr3t\"}]}",
	  COLLAB_ETYPE, TD "secret must be at least 32 bytes (it has 28)" },
	/* secret too long: built below (test_long_fields) */
	/* origins */
	{ T(",\"origins\":\"http://a\""), COLLAB_ETYPE, TD "origins must be an array of strings" },
	{ T(",\"origins\":null"), COLLAB_ETYPE, TD "origins must be an array of strings" },
	{ T(",\"origins\":{}"), COLLAB_ETYPE, TD "origins must be an array of strings" },
	{ T(",\"origins\":[1]"), COLLAB_ETYPE, TD "origins[0] must be a non-empty string" },
	{ T(",\"origins\":[\"http://a\",null]"), COLLAB_ETYPE,
	  TD "origins[1] must be a non-empty string" },
	{ T(",\"origins\":[\"http://a\",\"http://b\",\"\"]"), COLLAB_ETYPE,
	  TD "origins[2] must be a non-empty string" },
	{ T(",\"origins\":[[\"http://a\"]]"), COLLAB_ETYPE,
	  TD "origins[0] must be a non-empty string" },
	/* anonymous */
	{ T(",\"anonymous\":\"write\""), COLLAB_ETYPE, TD "anonymous must be \"read\" or \"none\"" },
	{ T(",\"anonymous\":\"READ\""), COLLAB_ETYPE, TD "anonymous must be \"read\" or \"none\"" },
	{ T(",\"anonymous\":\"\""), COLLAB_ETYPE, TD "anonymous must be \"read\" or \"none\"" },
	{ T(",\"anonymous\":null"), COLLAB_ETYPE, TD "anonymous must be \"read\" or \"none\"" },
	{ T(",\"anonymous\":true"), COLLAB_ETYPE, TD "anonymous must be \"read\" or \"none\"" },
	{ T(",\"anonymous\":[\"read\"]"), COLLAB_ETYPE, TD "anonymous must be \"read\" or \"none\"" },
	/* the first error in file order is the one reported */
	{ "{\"tenants\":[{\"id\":\"ok\",\"secret\":\"" SECRET "\"},{\"id\":\"demo\","
	  "\"secret\":\"" SECRET "\",\"opsBurst\":0,\"anonymous\":1}]}", COLLAB_ETYPE,
	  TD "anonymous must be \"read\" or \"none\"" },
	/* duplicate ids, reported with both positions */
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":\"" SECRET "\"},{\"id\":\"x\","
	  "\"secret\":\"" SECRET "\"},{\"id\":\"demo\",\"secret\":\"" SECRET "\"}]}",
	  COLLAB_EEXIST, TD "defined twice (tenants[0] and tenants[2])" },
	{ "{\"tenants\":[{\"id\":\"demo\",\"secret\":\"" SECRET "\"},{\"id\":\"d\\u0065mo\","
	  "\"secret\":\"" SECRET "\"}]}",
	  COLLAB_EEXIST, TD "defined twice (tenants[0] and tenants[1])" },
};

START_TEST(test_bad)
{
	const struct bad *b = &bads[_i];
	struct srv_tenant_registry reg;
	char msg[SRV_TENANT_MSG_CAP];

	spy_reset(0);
	memset(&reg, 0x5a, sizeof reg);
	ck_assert_int_eq(parse_text(&reg, b->json, strlen(b->json), NULL, msg,
				    sizeof msg), b->rc);
	ck_assert_str_eq(msg, b->msg);
	ck_assert_ptr_null(strstr(msg, MARK));
	/* empty after a failure, freeing it is harmless */
	ck_assert_uint_eq(reg.n, 0);
	ck_assert_ptr_null(reg.block);
	ck_assert_ptr_null(reg.tenants);
	srv_tenant_registry_free(&reg);
	spy_check_clean();
}
END_TEST

/* Each numeric limit, wrong in each way. */
static const char *const limit_names[] = {
	"maxConnections", "opsPerSecond", "opsBurst", "maxChatsPerRoom",
	"maxCommentsPerChat",
};

struct bad_limit {
	const char *value;
	const char *why;  /* message tail after the field name */
};

static const struct bad_limit bad_limits[] = {
	{ "0", "must be a positive integer" },
	{ "-0", "must be a positive integer" },
	{ "-1", "must be a positive integer" },
	{ "-99999999999999999999999", "must be a positive integer" },
	{ "1.5", "must be a positive integer" },
	{ "20.0", "must be a positive integer" },
	{ "2e1", "must be a positive integer" },
	{ "1E0", "must be a positive integer" },
	{ "\"20\"", "must be a positive integer" },
	{ "null", "must be a positive integer" },
	{ "true", "must be a positive integer" },
	{ "[20]", "must be a positive integer" },
	{ "{}", "must be a positive integer" },
	{ "1000000001", "must be at most 1000000000" },
	{ "18446744073709551615", "must be at most 1000000000" },
	{ "99999999999999999999999", "must be at most 1000000000" },
};

#define N_BAD_LIMITS (ARRAY_LEN(limit_names) * ARRAY_LEN(bad_limits))

START_TEST(test_bad_limit)
{
	const char *field = limit_names[(size_t)_i / ARRAY_LEN(bad_limits)];
	const struct bad_limit *bl = &bad_limits[(size_t)_i % ARRAY_LEN(bad_limits)];
	struct srv_tenant_registry reg;
	char json[256], want[160], msg[SRV_TENANT_MSG_CAP];
	int n;

	n = snprintf(json, sizeof json,
		     "{\"tenants\":[{\"id\":\"demo\",\"secret\":\"" SECRET
		     "\",\"%s\":%s}]}", field, bl->value);
	snprintf(want, sizeof want,
		 "tenants.json: tenant \"demo\": %s %s", field, bl->why);
	spy_reset(0);
	ck_assert_int_eq(parse_text(&reg, json, (size_t)n, NULL, msg,
				    sizeof msg), COLLAB_ETYPE);
	ck_assert_str_eq(msg, want);
	spy_check_clean();
}
END_TEST

/* Lengths and counts at and past their limits. */
START_TEST(test_long_fields)
{
	struct srv_tenant_registry reg;
	char msg[SRV_TENANT_MSG_CAP];
	char *json = malloc(64 * 1024);
	size_t i, n;

	ck_assert_ptr_nonnull(json);
	/* secret of SRV_TENANT_SECRET_MAX bytes: fine; one more: refused */
	for (int extra = 0; extra < 2; extra++) {
		n = (size_t)snprintf(json, 64, "{\"tenants\":[{\"id\":\"demo\",\"secret\":\"");
		memset(json + n, 's', SRV_TENANT_SECRET_MAX + (size_t)extra);
		n += SRV_TENANT_SECRET_MAX + (size_t)extra;
		n += (size_t)snprintf(json + n, 16, "\"}]}");
		spy_reset(0);
		if (extra == 0) {
			ck_assert_int_eq(parse_text(&reg, json, n, NULL, msg,
						    sizeof msg), 0);
			ck_assert_uint_eq(reg.tenants[0].secret_len,
					  SRV_TENANT_SECRET_MAX);
			srv_tenant_registry_free(&reg);
		} else {
			ck_assert_int_eq(parse_text(&reg, json, n, NULL, msg,
						    sizeof msg), COLLAB_ETYPE);
			ck_assert_str_eq(msg, TD "secret must be at most 1024 bytes");
		}
		spy_check_clean();
	}
	/* one origin of SRV_TENANT_ORIGIN_MAX bytes; one more: refused */
	for (int extra = 0; extra < 2; extra++) {
		n = (size_t)snprintf(json, 128, "{\"tenants\":[{\"id\":\"demo\","
				     "\"secret\":\"" SECRET "\",\"origins\":[\"x\",\"");
		memset(json + n, 'o', SRV_TENANT_ORIGIN_MAX + (size_t)extra);
		n += SRV_TENANT_ORIGIN_MAX + (size_t)extra;
		n += (size_t)snprintf(json + n, 16, "\"]}]}");
		spy_reset(0);
		if (extra == 0) {
			ck_assert_int_eq(parse_text(&reg, json, n, NULL, msg,
						    sizeof msg), 0);
			ck_assert_uint_eq(reg.tenants[0].n_origins, 2);
			ck_assert_uint_eq(reg.tenants[0].origins[1].len,
					  SRV_TENANT_ORIGIN_MAX);
			srv_tenant_registry_free(&reg);
		} else {
			ck_assert_int_eq(parse_text(&reg, json, n, NULL, msg,
						    sizeof msg), COLLAB_ETYPE);
			ck_assert_str_eq(msg, TD "origins[1] is longer than 1024 bytes");
		}
		spy_check_clean();
	}
	/* SRV_TENANT_ORIGINS_MAX origins; one more: refused */
	for (int extra = 0; extra < 2; extra++) {
		n = (size_t)snprintf(json, 128, "{\"tenants\":[{\"id\":\"demo\",\"secret\":\""
				     SECRET "\",\"origins\":[");
		for (i = 0; i < SRV_TENANT_ORIGINS_MAX + (size_t)extra; i++)
			n += (size_t)snprintf(json + n, 32, "%s\"http://h%zu\"",
					      i ? "," : "", i);
		n += (size_t)snprintf(json + n, 16, "]}]}");
		spy_reset(0);
		if (extra == 0) {
			ck_assert_int_eq(parse_text(&reg, json, n, NULL, msg,
						    sizeof msg), 0);
			ck_assert_uint_eq(reg.tenants[0].n_origins,
					  SRV_TENANT_ORIGINS_MAX);
			ck_assert(srv_tenant_origin_allowed(&reg.tenants[0],
							    "http://h255", 11));
			srv_tenant_registry_free(&reg);
		} else {
			ck_assert_int_eq(parse_text(&reg, json, n, NULL, msg,
						    sizeof msg), COLLAB_ELIMIT);
			ck_assert_str_eq(msg, TD "origins has more than 256 entries");
		}
		spy_check_clean();
	}
	free(json);
}
END_TEST

/* SRV_TENANT_COUNT_MAX tenants, each found in O(log n); one more refused. */
START_TEST(test_many_tenants)
{
	size_t cap = 80 * (SRV_TENANT_COUNT_MAX + 2), n, i;
	char *json = malloc(cap), msg[SRV_TENANT_MSG_CAP], id[16];
	struct srv_tenant_registry reg;

	ck_assert_ptr_nonnull(json);
	for (int extra = 0; extra < 2; extra++) {
		size_t count = SRV_TENANT_COUNT_MAX + (size_t)extra;
		n = (size_t)snprintf(json, cap, "{\"tenants\":[");
		for (i = 0; i < count; i++)
			n += (size_t)snprintf(json + n, cap - n,
					      "%s{\"id\":\"t%zu\",\"secret\":\"" SECRET "\"}",
					      i ? "," : "", (i * 7919) % count);
		n += (size_t)snprintf(json + n, cap - n, "]}");
		ck_assert_uint_le(n, SRV_TENANT_FILE_MAX);
		spy_reset(0);
		if (extra) {
			ck_assert_int_eq(parse_text(&reg, json, n, NULL, msg,
						    sizeof msg), COLLAB_ELIMIT);
			ck_assert_str_eq(msg, P "more than 10000 tenants");
			spy_check_clean();
			continue;
		}
		ck_assert_msg(parse_text(&reg, json, n, NULL, msg, sizeof msg) == 0,
			      "%s", msg);
		ck_assert_uint_eq(reg.n, count);
		for (i = 0; i < count; i++) {
			int l = snprintf(id, sizeof id, "t%zu", i);
			const struct srv_tenant *t = srv_tenant_find(&reg, id, (size_t)l);
			ck_assert_ptr_nonnull(t);
			ck_assert_str_eq(t->id, id);
			ck_assert_uint_eq((t->index * 7919) % count, i);
		}
		ck_assert_ptr_null(srv_tenant_find(&reg, "t10000", 6));
		ck_assert_ptr_null(srv_tenant_find(&reg, "t", 1));
		for (i = 1; i < reg.n; i++)
			ck_assert_int_lt(strcmp(reg.by_id[i - 1]->id, reg.by_id[i]->id), 0);
		srv_tenant_registry_free(&reg);
		spy_check_clean();
	}
	free(json);
}
END_TEST

/* ---- lookups, origins, connections ------------------------------------------- */

static const char lookup_json[] =
	"{\"tenants\":["
	"{\"id\":\"ab\",\"secret\":\"" SECRET "\"},"
	"{\"id\":\"a\",\"secret\":\"" SECRET "\"},"
	"{\"id\":\"abc\",\"secret\":\"" SECRET "\"},"
	"{\"id\":\"B\",\"secret\":\"" SECRET "\"},"
	"{\"id\":\"-\",\"secret\":\"" SECRET "\"},"
	"{\"id\":\"_\",\"secret\":\"" SECRET "\"},"
	"{\"id\":\"b\",\"secret\":\"" SECRET "\",\"maxConnections\":2,"
	"\"origins\":[\"https://app.example.com\",\"http://127.0.0.1:8080\"]}"
	"]}";

struct lookup {
	const char *id;
	size_t len;
	int want;   /* index in the file, -1 for not found */
};

static const struct lookup lookups[] = {
	{ "ab", 2, 0 }, { "a", 1, 1 }, { "abc", 3, 2 }, { "B", 1, 3 },
	{ "-", 1, 4 }, { "_", 1, 5 }, { "b", 1, 6 },
	{ "abcd", 3, 2 },            /* only len bytes count */
	{ "abcd", 4, -1 }, { "", 0, -1 }, { "A", 1, -1 }, { "AB", 2, -1 },
	{ "c", 1, -1 }, { "0", 1, -1 }, { "a\0", 2, -1 }, { "ab ", 3, -1 },
	{ "aa", 2, -1 }, { "~", 1, -1 },
	{ STR65, 65, -1 },
};

START_TEST(test_find)
{
	const struct lookup *l = &lookups[_i];
	struct srv_tenant_registry reg;
	char msg[SRV_TENANT_MSG_CAP];
	struct guard_buf g;
	const struct srv_tenant *t;

	ck_assert_int_eq(srv_tenant_registry_parse(&reg, NULL,
		(const uint8_t *)lookup_json, sizeof lookup_json - 1, NULL,
		msg, sizeof msg), 0);
	g = guard_copy(l->id, l->len);
	t = srv_tenant_find(&reg, (const char *)g.p, l->len);
	if (l->want < 0)
		ck_assert_ptr_null(t);
	else
		ck_assert_ptr_eq(t, &reg.tenants[l->want]);
	guard_free(&g);
	srv_tenant_registry_free(&reg);
}
END_TEST

START_TEST(test_find_args)
{
	struct srv_tenant_registry reg;

	memset(&reg, 0, sizeof reg);
	ck_assert_ptr_null(srv_tenant_find(NULL, "a", 1));
	ck_assert_ptr_null(srv_tenant_find(&reg, "a", 1));  /* empty */
	ck_assert_ptr_null(srv_tenant_find(&reg, NULL, 0));
	ck_assert_ptr_null(srv_tenant_find(&reg, NULL, 3));
}
END_TEST

struct origin_case {
	const char *origin;   /* NULL: no Origin header */
	size_t len;
	bool allowed;
};

static const struct origin_case origin_cases[] = {
	{ NULL, 0, true },
	{ "https://app.example.com", 23, true },
	{ "http://127.0.0.1:8080", 21, true },
	{ "", 0, false },
	{ "https://app.example.com/", 24, false },
	{ "https://app.example.co", 22, false },
	{ "https://APP.example.com", 23, false },
	{ "HTTPS://app.example.com", 23, false },
	{ "http://app.example.com", 22, false },
	{ "https://app.example.com:443", 27, false },
	{ "https://evil.app.example.com", 28, false },
	{ "https://app.example.com.evil", 28, false },
	{ "http://127.0.0.1:808", 20, false },
	{ "http://127.0.0.1:80800", 22, false },
	{ "http://localhost:8080", 21, false },
	{ "null", 4, false },
	{ "*", 1, false },
	{ "https://app.example.com\0", 24, false },
};

START_TEST(test_origin)
{
	const struct origin_case *oc = &origin_cases[_i];
	struct srv_tenant_registry reg;
	char msg[SRV_TENANT_MSG_CAP];
	const struct srv_tenant *b, *a;
	struct guard_buf g;

	ck_assert_int_eq(srv_tenant_registry_parse(&reg, NULL,
		(const uint8_t *)lookup_json, sizeof lookup_json - 1, NULL,
		msg, sizeof msg), 0);
	b = srv_tenant_find(&reg, "b", 1);
	a = srv_tenant_find(&reg, "a", 1);
	ck_assert_ptr_nonnull(b);
	if (oc->origin == NULL) {
		ck_assert(srv_tenant_origin_allowed(b, NULL, 0));
		/* no Origin header: allowed even with no origins listed */
		ck_assert(srv_tenant_origin_allowed(a, NULL, 0));
		ck_assert(srv_tenant_origin_allowed(NULL, NULL, 0));
	} else {
		g = guard_copy(oc->origin, oc->len);
		ck_assert_int_eq(srv_tenant_origin_allowed(b, (const char *)g.p,
							   oc->len), oc->allowed);
		/* a tenant without origins allows no browser */
		ck_assert(!srv_tenant_origin_allowed(a, (const char *)g.p, oc->len));
		ck_assert(!srv_tenant_origin_allowed(NULL, (const char *)g.p, oc->len));
		guard_free(&g);
	}
	srv_tenant_registry_free(&reg);
}
END_TEST

START_TEST(test_connections)
{
	struct srv_tenant_registry reg;
	char msg[SRV_TENANT_MSG_CAP];
	struct srv_tenant *b, *a;

	ck_assert_int_eq(srv_tenant_registry_parse(&reg, NULL,
		(const uint8_t *)lookup_json, sizeof lookup_json - 1, NULL,
		msg, sizeof msg), 0);
	b = srv_tenant_find(&reg, "b", 1);
	a = srv_tenant_find(&reg, "a", 1);
	ck_assert_uint_eq(a->max_connections, 10000);
	ck_assert_uint_eq(b->max_connections, 2);
	ck_assert_int_eq(srv_tenant_conn_acquire(b), 0);
	ck_assert_int_eq(srv_tenant_conn_acquire(b), 0);
	ck_assert_uint_eq(b->connections, 2);
	ck_assert_int_eq(srv_tenant_conn_acquire(b), COLLAB_ELIMIT);
	ck_assert_uint_eq(b->connections, 2);
	/* counters are per tenant */
	ck_assert_int_eq(srv_tenant_conn_acquire(a), 0);
	ck_assert_uint_eq(a->connections, 1);
	srv_tenant_conn_release(b);
	ck_assert_uint_eq(b->connections, 1);
	ck_assert_int_eq(srv_tenant_conn_acquire(b), 0);
	srv_tenant_conn_release(b);
	srv_tenant_conn_release(b);
	ck_assert_uint_eq(b->connections, 0);
	srv_tenant_conn_release(b);  /* never wraps */
	ck_assert_uint_eq(b->connections, 0);
	ck_assert_str_eq(srv_tenant_anonymous_name(SRV_TENANT_ANON_READ), "read");
	ck_assert_str_eq(srv_tenant_anonymous_name(SRV_TENANT_ANON_NONE), "none");
	srv_tenant_registry_free(&reg);
}
END_TEST

/* ---- arguments, allocation failures, messages ----------------------------------- */

START_TEST(test_args)
{
	struct srv_tenant_registry reg;
	char msg[SRV_TENANT_MSG_CAP], small[12];
	static const char json[] = "{\"tenants\":[]}";

	ck_assert_int_eq(srv_tenant_registry_parse(NULL, NULL,
		(const uint8_t *)json, sizeof json - 1, NULL, msg, sizeof msg),
		COLLAB_EINVAL);
	ck_assert_str_eq(msg, "tenants.json: invalid arguments");
	ck_assert_int_eq(srv_tenant_registry_parse(&reg, NULL, NULL, 5, NULL,
						   msg, sizeof msg), COLLAB_EINVAL);
	ck_assert_int_eq(srv_tenant_registry_load(NULL, NULL, "x", msg,
						  sizeof msg), COLLAB_EINVAL);
	ck_assert_int_eq(srv_tenant_registry_load(&reg, NULL, NULL, msg,
						  sizeof msg), COLLAB_EINVAL);
	/* NULL and 0 is the empty file */
	ck_assert_int_eq(srv_tenant_registry_parse(&reg, NULL, NULL, 0, NULL,
						   msg, sizeof msg), COLLAB_ESYNTAX);
	/* the file name appears as given */
	ck_assert_int_eq(srv_tenant_registry_parse(&reg, NULL,
		(const uint8_t *)json, sizeof json - 1, "/etc/c/t.json", msg,
		sizeof msg), COLLAB_ETYPE);
	ck_assert_str_eq(msg, "/etc/c/t.json: \"tenants\" is empty: configure at least one tenant");
	/* truncated message, no message */
	ck_assert_int_eq(srv_tenant_registry_parse(&reg, NULL,
		(const uint8_t *)json, sizeof json - 1, NULL, small,
		sizeof small), COLLAB_ETYPE);
	ck_assert_str_eq(small, "tenants.jso");
	ck_assert_int_eq(srv_tenant_registry_parse(&reg, NULL,
		(const uint8_t *)json, sizeof json - 1, NULL, NULL, 99),
		COLLAB_ETYPE);
	/* over the size limit, before any parsing */
	ck_assert_int_eq(srv_tenant_registry_parse(&reg, NULL,
		(const uint8_t *)json, SRV_TENANT_FILE_MAX + 1, NULL, msg,
		sizeof msg), COLLAB_ELIMIT);
	ck_assert_str_eq(msg, "tenants.json: larger than 1048576 bytes");
	srv_tenant_registry_free(NULL);
}
END_TEST

START_TEST(test_alloc_failure)
{
	static const char json[] = T(",\"origins\":[\"http://a\"]");
	struct srv_tenant_registry reg;
	char msg[SRV_TENANT_MSG_CAP], want[96];

	/* 1: the reader's nodes */
	spy_reset(1);
	ck_assert_int_eq(parse_text(&reg, json, sizeof json - 1, NULL, msg,
				    sizeof msg), COLLAB_ENOMEM);
	snprintf(want, sizeof want, "tenants.json: out of memory (%zu bytes)",
		 COLLAB_JSON_NODES_FOR(sizeof json - 1) *
		 sizeof(struct collab_json_node));
	ck_assert_str_eq(msg, want);
	ck_assert_uint_eq(reg.n, 0);
	spy_check_clean();
	/* 2: the registry's block */
	spy_reset(2);
	ck_assert_int_eq(parse_text(&reg, json, sizeof json - 1, NULL, msg,
				    sizeof msg), COLLAB_ENOMEM);
	ck_assert_ptr_nonnull(strstr(msg, "tenants.json: out of memory ("));
	ck_assert_ptr_null(reg.block);
	spy_check_clean();
	/* 3: nothing else is allocated */
	spy_reset(3);
	ck_assert_int_eq(parse_text(&reg, json, sizeof json - 1, NULL, msg,
				    sizeof msg), 0);
	ck_assert_uint_eq(spy.allocs, 2);
	srv_tenant_registry_free(&reg);
	spy_check_clean();
}
END_TEST

/* ---- files ------------------------------------------------------------------------ */

static char dir[64];

static void files_setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check_tenant.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void files_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_load_good)
{
	static const char json[] = T(",\"origins\":[\"http://a\"],\"anonymous\":\"read\"");
	struct srv_tenant_registry reg;
	char path[128], msg[SRV_TENANT_MSG_CAP];

	snprintf(path, sizeof path, "%s/tenants.json", dir);
	write_file(path, json, sizeof json - 1);
	spy_reset(0);
	ck_assert_int_eq(srv_tenant_registry_load(&reg, &spy_a, path, msg,
						  sizeof msg), 0);
	ck_assert_str_eq(msg, "");
	ck_assert_uint_eq(reg.n, 1);
	ck_assert_mem_eq(reg.tenants[0].secret, SECRET, 32);
	ck_assert_int_eq(reg.tenants[0].anonymous, SRV_TENANT_ANON_READ);
	/* the file's bytes were wiped before they were freed */
	ck_assert_uint_eq(spy.leaked_secret, 0);
	srv_tenant_registry_free(&reg);
	spy_check_clean();
}
END_TEST

START_TEST(test_load_sizes)
{
	struct srv_tenant_registry reg;
	char path[128], msg[SRV_TENANT_MSG_CAP], want[256];
	static const char json[] = T("");
	char *big = malloc(SRV_TENANT_FILE_MAX + 1);

	ck_assert_ptr_nonnull(big);
	snprintf(path, sizeof path, "%s/big.json", dir);
	/* exactly the limit: valid JSON padded with spaces, accepted */
	memset(big, ' ', SRV_TENANT_FILE_MAX + 1);
	memcpy(big, json, sizeof json - 1);
	write_file(path, big, SRV_TENANT_FILE_MAX);
	spy_reset(0);
	ck_assert_msg(srv_tenant_registry_load(&reg, &spy_a, path, msg,
					       sizeof msg) == 0, "%s", msg);
	srv_tenant_registry_free(&reg);
	spy_check_clean();
	/* one byte more: refused, naming the file and the limit */
	write_file(path, big, SRV_TENANT_FILE_MAX + 1);
	spy_reset(0);
	ck_assert_int_eq(srv_tenant_registry_load(&reg, &spy_a, path, msg,
						  sizeof msg), COLLAB_ELIMIT);
	snprintf(want, sizeof want, "%s: larger than 1048576 bytes", path);
	ck_assert_str_eq(msg, want);
	ck_assert_uint_eq(spy.allocs, 0);  /* refused from fstat */
	spy_check_clean();
	/* empty file: not JSON */
	write_file(path, "", 0);
	spy_reset(0);
	ck_assert_int_eq(srv_tenant_registry_load(&reg, &spy_a, path, msg,
						  sizeof msg), COLLAB_ESYNTAX);
	snprintf(want, sizeof want,
		 "%s: not valid JSON at line 1, column 1 (byte 0): malformed input",
		 path);
	ck_assert_str_eq(msg, want);
	spy_check_clean();
	free(big);
}
END_TEST

START_TEST(test_load_errors)
{
	struct srv_tenant_registry reg;
	char path[128], msg[SRV_TENANT_MSG_CAP], want[256];
	static const char json[] = T(",\"opsBurst\":0");

	/* missing */
	snprintf(path, sizeof path, "%s/missing.json", dir);
	spy_reset(0);
	ck_assert_int_eq(srv_tenant_registry_load(&reg, &spy_a, path, msg,
						  sizeof msg), COLLAB_EIO);
	snprintf(want, sizeof want, "%s: cannot open: %s", path,
		 strerror(ENOENT));
	ck_assert_str_eq(msg, want);
	ck_assert_uint_eq(reg.n, 0);
	/* a directory */
	spy_reset(0);
	ck_assert_int_eq(srv_tenant_registry_load(&reg, &spy_a, dir, msg,
						  sizeof msg), COLLAB_ETYPE);
	snprintf(want, sizeof want, "%s: not a regular file", dir);
	ck_assert_str_eq(msg, want);
	/* a character device */
	ck_assert_int_eq(srv_tenant_registry_load(&reg, &spy_a, "/dev/null",
						  msg, sizeof msg), COLLAB_ETYPE);
	ck_assert_str_eq(msg, "/dev/null: not a regular file");
	/* a field error names the file as given */
	snprintf(path, sizeof path, "%s/t.json", dir);
	write_file(path, json, sizeof json - 1);
	spy_reset(0);
	ck_assert_int_eq(srv_tenant_registry_load(&reg, &spy_a, path, msg,
						  sizeof msg), COLLAB_ETYPE);
	snprintf(want, sizeof want,
		 "%s: tenant \"demo\": opsBurst must be a positive integer", path);
	ck_assert_str_eq(msg, want);
	spy_check_clean();
	/* the read buffer's allocation failing */
	spy_reset(1);
	ck_assert_int_eq(srv_tenant_registry_load(&reg, &spy_a, path, msg,
						  sizeof msg), COLLAB_ENOMEM);
	snprintf(want, sizeof want, "%s: out of memory (%zu bytes)", path,
		 sizeof json);
	ck_assert_str_eq(msg, want);
	spy_check_clean();
}
END_TEST

/* Files whose size fstat cannot tell (procfs says 0) are read to EOF. */
START_TEST(test_load_unsized)
{
	struct srv_tenant_registry reg;
	char msg[SRV_TENANT_MSG_CAP];

	spy_reset(0);
	/* /proc/self/status is a regular file of size 0 and not JSON */
	ck_assert_int_eq(srv_tenant_registry_load(&reg, &spy_a,
						  "/proc/self/status", msg,
						  sizeof msg), COLLAB_ESYNTAX);
	ck_assert_ptr_nonnull(strstr(msg, "/proc/self/status: not valid JSON at line 1, column 1 (byte 0)"));
	ck_assert_uint_ge(spy.allocs, 2); /* grew from 1 byte */
	spy_check_clean();
}
END_TEST

static Suite *tenant_suite(void)
{
	Suite *s = suite_create("tenant");
	TCase *tc = tcase_create("parse");
	TCase *tf = tcase_create("files");

	tcase_add_loop_test(tc, test_good, 0, (int)ARRAY_LEN(goods));
	tcase_add_test(tc, test_two_tenants);
	tcase_add_loop_test(tc, test_bad, 0, (int)ARRAY_LEN(bads));
	tcase_add_loop_test(tc, test_bad_limit, 0, (int)N_BAD_LIMITS);
	tcase_add_test(tc, test_long_fields);
	tcase_add_test(tc, test_many_tenants);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_find, 0, (int)ARRAY_LEN(lookups));
	tcase_add_test(tc, test_find_args);
	tcase_add_loop_test(tc, test_origin, 0, (int)ARRAY_LEN(origin_cases));
	tcase_add_test(tc, test_connections);
	tcase_add_test(tc, test_args);
	tcase_add_test(tc, test_alloc_failure);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tf, files_setup, files_teardown);
	tcase_add_test(tf, test_load_good);
	tcase_add_test(tf, test_load_sizes);
	tcase_add_test(tf, test_load_errors);
	tcase_add_test(tf, test_load_unsized);
	tcase_set_timeout(tf, 60);
	suite_add_tcase(s, tf);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tenant_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
