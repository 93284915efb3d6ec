/*
 * check_metrics.c - counters and the /usage and /metrics bodies
 * (server/metrics.h).
 *
 * Golden texts for a fixed state; /usage re-parsed by the strict JSON
 * reader; Prometheus label escaping through a hand-built registry whose
 * ids hold the characters a real tenants file refuses; the exposition
 * format's line grammar; buffer limits and allocation failures leaving the
 * output as it was.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "collab/buf.h"
#include "collab/json.h"
#include "metrics.h"
#include "tenant.h"
#include "testutil.h"

#define SECRET "0123456789abcdef0123456789abcdef"

static const char tenants_json[] =
	"{\"tenants\":["
	"{\"id\":\"demo\",\"secret\":\"" SECRET "\",\"maxConnections\":5},"
	"{\"id\":\"acme\",\"secret\":\"" SECRET "\"},"
	"{\"id\":\"b-2_x\",\"secret\":\"" SECRET "\"}]}";

static struct srv_tenant_registry reg;
static struct srv_metrics m;

static void setup(void)
{
	char msg[SRV_TENANT_MSG_CAP];

	ck_assert_int_eq(srv_tenant_registry_parse(&reg, NULL,
		(const uint8_t *)tenants_json, sizeof tenants_json - 1, NULL,
		msg, sizeof msg), 0);
	ck_assert_int_eq(srv_metrics_init(&m, NULL, &reg), 0);
}

static void teardown(void)
{
	srv_metrics_free(&m);
	srv_tenant_registry_free(&reg);
}

/* The fixed state of the golden texts. */
static void fill_state(void)
{
	struct srv_tenant *demo = srv_tenant_find(&reg, "demo", 4);
	struct srv_tenant *acme = srv_tenant_find(&reg, "acme", 4);
	struct srv_metrics_tenant *d = srv_metrics_tenant(&m, demo);
	struct srv_metrics_tenant *a = srv_metrics_tenant(&m, acme);

	/* demo: a welcome of 120 bytes framed as 122, then one event of
	 * 300 bytes (4-byte header) broadcast to 3 connections */
	srv_metrics_on_queued(d, 122);
	srv_metrics_on_queued_n(d, 3, 304);
	srv_metrics_on_op(d, SRV_METRICS_ACCEPTED);
	srv_metrics_on_op(d, SRV_METRICS_ACCEPTED);
	srv_metrics_on_op(d, SRV_METRICS_FORBIDDEN);
	srv_metrics_on_op(a, SRV_METRICS_RATE_LIMITED);
	srv_metrics_on_op(a, SRV_METRICS_UNAVAILABLE);
	srv_metrics_on_op(a, SRV_METRICS_INVALID);
	srv_metrics_on_op(a, SRV_METRICS_NOT_FOUND);
	srv_metrics_on_op(a, SRV_METRICS_CONFLICT);
	srv_metrics_on_op(a, SRV_METRICS_TOO_LARGE);
	ck_assert_int_eq(srv_tenant_conn_acquire(demo), 0);
	ck_assert_int_eq(srv_tenant_conn_acquire(demo), 0);
	ck_assert_int_eq(srv_tenant_conn_acquire(demo), 0);
	ck_assert_int_eq(srv_tenant_conn_acquire(acme), 0);
	m.rooms = 2;
	m.journal.bytes = 1048576;
	m.journal.records = 42;
	m.journal.fsyncs = 17;
	m.journal.fsync_failures = 1;
	m.journal.last_fsync_ns = 1234567;
}

static const char usage_golden[] =
	"[{\"tenantId\":\"demo\",\"pubSubMessageCount\":4,\"pubSubBandwidth\":1034},"
	"{\"tenantId\":\"acme\",\"pubSubMessageCount\":0,\"pubSubBandwidth\":0},"
	"{\"tenantId\":\"b-2_x\",\"pubSubMessageCount\":0,\"pubSubBandwidth\":0}]";

static const char prom_golden[] =
	"# HELP collab_pubsub_messages_total Data messages queued to the tenant's connections (pubSubMessageCount).\n"
	"# TYPE collab_pubsub_messages_total counter\n"
	"collab_pubsub_messages_total{tenant=\"demo\"} 4\n"
	"collab_pubsub_messages_total{tenant=\"acme\"} 0\n"
	"collab_pubsub_messages_total{tenant=\"b-2_x\"} 0\n"
	"# HELP collab_pubsub_bytes_total Bytes of those messages, frame headers included, before TLS (pubSubBandwidth).\n"
	"# TYPE collab_pubsub_bytes_total counter\n"
	"collab_pubsub_bytes_total{tenant=\"demo\"} 1034\n"
	"collab_pubsub_bytes_total{tenant=\"acme\"} 0\n"
	"collab_pubsub_bytes_total{tenant=\"b-2_x\"} 0\n"
	"# HELP collab_connections Open WebSockets, from the upgrade on.\n"
	"# TYPE collab_connections gauge\n"
	"collab_connections{tenant=\"demo\"} 3\n"
	"collab_connections{tenant=\"acme\"} 1\n"
	"collab_connections{tenant=\"b-2_x\"} 0\n"
	"# HELP collab_operations_total Operations by result: accepted or the error code.\n"
	"# TYPE collab_operations_total counter\n"
	"collab_operations_total{tenant=\"demo\",result=\"accepted\"} 2\n"
	"collab_operations_total{tenant=\"demo\",result=\"invalid\"} 0\n"
	"collab_operations_total{tenant=\"demo\",result=\"forbidden\"} 1\n"
	"collab_operations_total{tenant=\"demo\",result=\"not-found\"} 0\n"
	"collab_operations_total{tenant=\"demo\",result=\"conflict\"} 0\n"
	"collab_operations_total{tenant=\"demo\",result=\"too-large\"} 0\n"
	"collab_operations_total{tenant=\"demo\",result=\"rate-limited\"} 0\n"
	"collab_operations_total{tenant=\"demo\",result=\"unavailable\"} 0\n"
	"collab_operations_total{tenant=\"acme\",result=\"accepted\"} 0\n"
	"collab_operations_total{tenant=\"acme\",result=\"invalid\"} 1\n"
	"collab_operations_total{tenant=\"acme\",result=\"forbidden\"} 0\n"
	"collab_operations_total{tenant=\"acme\",result=\"not-found\"} 1\n"
	"collab_operations_total{tenant=\"acme\",result=\"conflict\"} 1\n"
	"collab_operations_total{tenant=\"acme\",result=\"too-large\"} 1\n"
	"collab_operations_total{tenant=\"acme\",result=\"rate-limited\"} 1\n"
	"collab_operations_total{tenant=\"acme\",result=\"unavailable\"} 1\n"
	"collab_operations_total{tenant=\"b-2_x\",result=\"accepted\"} 0\n"
	"collab_operations_total{tenant=\"b-2_x\",result=\"invalid\"} 0\n"
	"collab_operations_total{tenant=\"b-2_x\",result=\"forbidden\"} 0\n"
	"collab_operations_total{tenant=\"b-2_x\",result=\"not-found\"} 0\n"
	"collab_operations_total{tenant=\"b-2_x\",result=\"conflict\"} 0\n"
	"collab_operations_total{tenant=\"b-2_x\",result=\"too-large\"} 0\n"
	"collab_operations_total{tenant=\"b-2_x\",result=\"rate-limited\"} 0\n"
	"collab_operations_total{tenant=\"b-2_x\",result=\"unavailable\"} 0\n"
	"# HELP collab_rooms Rooms in memory.\n"
	"# TYPE collab_rooms gauge\n"
	"collab_rooms 2\n"
	"# HELP collab_journal_bytes Size of the journal.\n"
	"# TYPE collab_journal_bytes gauge\n"
	"collab_journal_bytes 1048576\n"
	"# HELP collab_journal_records_total Journal records appended.\n"
	"# TYPE collab_journal_records_total counter\n"
	"collab_journal_records_total 42\n"
	"# HELP collab_journal_fsyncs_total Successful journal fdatasync calls.\n"
	"# TYPE collab_journal_fsyncs_total counter\n"
	"collab_journal_fsyncs_total 17\n"
	"# HELP collab_journal_fsync_failures_total Failed journal fdatasync calls.\n"
	"# TYPE collab_journal_fsync_failures_total counter\n"
	"collab_journal_fsync_failures_total 1\n"
	"# HELP collab_journal_last_fsync_seconds Duration of the last journal fdatasync.\n"
	"# TYPE collab_journal_last_fsync_seconds gauge\n"
	"collab_journal_last_fsync_seconds 0.001234567\n";

static bool has(const struct collab_buf *b, const char *s)
{
	return memmem(b->p, b->len, s, strlen(s)) != NULL;
}

static void assert_buf_eq(const struct collab_buf *b, const char *want)
{
	size_t n = strlen(want);
	if (b->len != n || memcmp(b->p, want, n) != 0)
		ck_abort_msg("got:\n%.*s\nwant:\n%s", (int)b->len,
			     (const char *)b->p, want);
}

START_TEST(test_counters)
{
	struct srv_tenant *demo = srv_tenant_find(&reg, "demo", 4);
	struct srv_metrics_tenant *d = srv_metrics_tenant(&m, demo);
	struct srv_tenant other;
	size_t i, r;

	ck_assert_uint_eq(m.n, 3);
	ck_assert_ptr_eq(m.reg, &reg);
	ck_assert_ptr_eq(d, &m.tenants[0]);
	ck_assert_ptr_eq(srv_metrics_tenant(&m, &reg.tenants[2]), &m.tenants[2]);
	for (i = 0; i < m.n; i++) {
		ck_assert_uint_eq(m.tenants[i].messages, 0);
		ck_assert_uint_eq(m.tenants[i].bytes, 0);
		for (r = 0; r < SRV_METRICS_RESULTS; r++)
			ck_assert_uint_eq(m.tenants[i].ops[r], 0);
	}
	/* a tenant of no registry, or of another one */
	memcpy(&other, demo, sizeof other);
	ck_assert_ptr_null(srv_metrics_tenant(&m, &other));
	other.index = 99;
	ck_assert_ptr_null(srv_metrics_tenant(&m, &other));
	ck_assert_ptr_null(srv_metrics_tenant(&m, NULL));
	ck_assert_ptr_null(srv_metrics_tenant(NULL, demo));

	srv_metrics_on_queued(d, 10);
	srv_metrics_on_queued(d, 0);
	srv_metrics_on_queued_n(d, 1000, 8 * 1024 * 1024);
	srv_metrics_on_queued_n(d, 0, 99);
	ck_assert_uint_eq(d->messages, 1002);
	ck_assert_uint_eq(d->bytes, 10 + 1000ull * 8 * 1024 * 1024);
	for (r = 0; r < SRV_METRICS_RESULTS; r++)
		for (i = 0; i <= r; i++)
			srv_metrics_on_op(d, (enum srv_metrics_result)r);
	for (r = 0; r < SRV_METRICS_RESULTS; r++)
		ck_assert_uint_eq(d->ops[r], r + 1);
	/* other tenants untouched */
	ck_assert_uint_eq(m.tenants[1].messages, 0);
	ck_assert_uint_eq(m.tenants[1].ops[0], 0);
}
END_TEST

START_TEST(test_usage_golden)
{
	struct collab_buf b;

	collab_buf_init(&b, NULL, 0);
	/* zeros for every tenant before anything happens */
	ck_assert_int_eq(srv_metrics_render_usage(&m, &b), 0);
	assert_buf_eq(&b,
		"[{\"tenantId\":\"demo\",\"pubSubMessageCount\":0,\"pubSubBandwidth\":0},"
		"{\"tenantId\":\"acme\",\"pubSubMessageCount\":0,\"pubSubBandwidth\":0},"
		"{\"tenantId\":\"b-2_x\",\"pubSubMessageCount\":0,\"pubSubBandwidth\":0}]");
	fill_state();
	collab_buf_reset(&b);
	ck_assert_int_eq(srv_metrics_render_usage(&m, &b), 0);
	assert_buf_eq(&b, usage_golden);
	collab_buf_free(&b);
}
END_TEST

/* /usage re-parses, field by field, with the strict reader. */
START_TEST(test_usage_reparse)
{
	struct collab_buf b;
	struct collab_json_node nodes[64];
	struct collab_json_doc doc;
	uint32_t root, e;
	size_t i = 0;

	fill_state();
	m.tenants[2].messages = UINT64_MAX;
	m.tenants[2].bytes = UINT64_MAX - 1;
	collab_buf_init(&b, NULL, 0);
	ck_assert_int_eq(srv_metrics_render_usage(&m, &b), 0);
	ck_assert_int_eq(collab_json_parse(NULL, b.p, b.len, nodes, 64, &doc), 0);
	root = collab_json_root(&doc);
	ck_assert_int_eq(collab_json_type(&doc, root), COLLAB_JSON_ARRAY);
	ck_assert_uint_eq(collab_json_count(&doc, root), reg.n);
	for (e = collab_json_first(&doc, root); e != COLLAB_JSON_NONE;
	     e = collab_json_next(&doc, e), i++) {
		uint64_t v;
		ck_assert_uint_eq(collab_json_count(&doc, e), 3);
		ck_assert(collab_json_str_eq(&doc,
			collab_json_obj_get(&doc, e, COLLAB_JSON_LIT("tenantId")),
			reg.tenants[i].id, reg.tenants[i].id_len));
		ck_assert_int_eq(collab_json_get_u64(&doc,
			collab_json_obj_get(&doc, e,
				COLLAB_JSON_LIT("pubSubMessageCount")), &v), 0);
		ck_assert_uint_eq(v, m.tenants[i].messages);
		ck_assert_int_eq(collab_json_get_u64(&doc,
			collab_json_obj_get(&doc, e,
				COLLAB_JSON_LIT("pubSubBandwidth")), &v), 0);
		ck_assert_uint_eq(v, m.tenants[i].bytes);
	}
	ck_assert_uint_eq(i, 3);
	collab_buf_free(&b);
}
END_TEST

START_TEST(test_prometheus_golden)
{
	struct collab_buf b;

	fill_state();
	collab_buf_init(&b, NULL, 0);
	ck_assert_int_eq(srv_metrics_render_prometheus(&m, &b), 0);
	assert_buf_eq(&b, prom_golden);
	collab_buf_free(&b);
}
END_TEST

/* The exposition format's line grammar, checked independently of the
 * golden text: comments are HELP or TYPE, TYPE precedes its samples and
 * appears once per family, samples are name[{labels}] value. */
static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == ':' || (!first && c >= '0' && c <= '9');
}

static void check_exposition(const char *p, size_t len)
{
	char family[128] = "";
	size_t i = 0, types = 0, samples = 0;

	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(p[len - 1], '\n');
	while (i < len) {
		const char *line = p + i, *nl = memchr(line, '\n', len - i);
		size_t n = (size_t)(nl - line), k = 0;
		ck_assert_ptr_nonnull(nl);
		if (n >= 7 && memcmp(line, "# TYPE ", 7) == 0) {
			const char *sp = memchr(line + 7, ' ', n - 7);
			size_t fl;
			ck_assert_ptr_nonnull(sp);
			fl = (size_t)(sp - line - 7);
			ck_assert(memcmp(sp + 1, "counter", 7) == 0 ||
				  memcmp(sp + 1, "gauge", 5) == 0);
			ck_assert_uint_lt(fl, sizeof family);
			/* one TYPE per family */
			ck_assert(strlen(family) != fl ||
				  memcmp(family, line + 7, fl) != 0);
			memcpy(family, line + 7, fl);
			family[fl] = '\0';
			types++;
		} else if (n >= 7 && memcmp(line, "# HELP ", 7) == 0) {
			/* HELP text: no raw backslash escapes needed here */
		} else {
			ck_assert(line[0] != '#');
			while (k < n && name_char(line[k], k == 0))
				k++;
			/* the sample belongs to the current family */
			ck_assert_uint_eq(k, strlen(family));
			ck_assert(memcmp(line, family, k) == 0);
			if (line[k] == '{') {
				bool in_str = false;
				for (k++; k < n; k++) {
					if (in_str && line[k] == '\\') {
						k++;
						continue;
					}
					if (line[k] == '"')
						in_str = !in_str;
					else if (!in_str && line[k] == '}')
						break;
				}
				ck_assert_int_eq(line[k], '}');
				k++;
			}
			ck_assert_int_eq(line[k], ' ');
			for (k++; k < n; k++)
				ck_assert((line[k] >= '0' && line[k] <= '9') ||
					  line[k] == '.');
			samples++;
		}
		i += n + 1;
	}
	ck_assert_uint_eq(types, 10);
	ck_assert_uint_gt(samples, 0);
}

START_TEST(test_prometheus_grammar)
{
	struct collab_buf b;

	fill_state();
	collab_buf_init(&b, NULL, 0);
	ck_assert_int_eq(srv_metrics_render_prometheus(&m, &b), 0);
	check_exposition((const char *)b.p, b.len);
	collab_buf_free(&b);
}
END_TEST

/* Escaping, through a registry built by hand with ids a tenants file would
 * refuse. */
START_TEST(test_escaping)
{
	struct srv_tenant t[2];
	struct srv_tenant *by_id[2] = { &t[0], &t[1] };
	struct srv_tenant_registry r2;
	struct srv_metrics m2;
	struct collab_buf b;
	struct collab_json_node nodes[32];
	struct collab_json_doc doc;
	static const char weird[] = "a\"b\\c\nd";
	const char *want_prom = "collab_pubsub_messages_total{tenant=\"a\\\"b\\\\c\\nd\"} 1\n";
	const char *want_ops = "collab_operations_total{tenant=\"a\\\"b\\\\c\\nd\",result=\"accepted\"} 0\n";
	struct collab_str s;
	uint8_t scratch[16];

	memset(t, 0, sizeof t);
	memcpy(t[0].id, weird, sizeof weird);
	t[0].id_len = sizeof weird - 1;
	t[0].index = 0;
	memcpy(t[1].id, "\\\\", 3);
	t[1].id_len = 2;
	t[1].index = 1;
	memset(&r2, 0, sizeof r2);
	r2.tenants = t;
	r2.by_id = by_id;
	r2.n = 2;
	ck_assert_int_eq(srv_metrics_init(&m2, NULL, &r2), 0);
	srv_metrics_on_queued(srv_metrics_tenant(&m2, &t[0]), 5);

	collab_buf_init(&b, NULL, 0);
	ck_assert_int_eq(srv_metrics_render_prometheus(&m2, &b), 0);
	ck_assert(has(&b, want_prom));
	ck_assert(has(&b, want_ops));
	ck_assert(has(&b, "collab_connections{tenant=\"\\\\\\\\\"} 0\n"));
	check_exposition((const char *)b.p, b.len);

	/* /usage escapes the JSON way and round-trips */
	collab_buf_reset(&b);
	ck_assert_int_eq(srv_metrics_render_usage(&m2, &b), 0);
	assert_buf_eq(&b,
		"[{\"tenantId\":\"a\\\"b\\\\c\\nd\",\"pubSubMessageCount\":1,\"pubSubBandwidth\":5},"
		"{\"tenantId\":\"\\\\\\\\\",\"pubSubMessageCount\":0,\"pubSubBandwidth\":0}]");
	ck_assert_int_eq(collab_json_parse(NULL, b.p, b.len, nodes, 32, &doc), 0);
	ck_assert_int_eq(collab_json_str_view(&doc,
		collab_json_obj_get(&doc, collab_json_first(&doc, 0),
				    COLLAB_JSON_LIT("tenantId")),
		scratch, sizeof scratch, &s), 0);
	ck_assert_uint_eq(s.len, sizeof weird - 1);
	ck_assert_mem_eq(s.p, weird, s.len);

	/* the worst case of escaping still fits the usage bound: 64 quotes */
	memset(t[0].id, '"', SRV_TENANT_ID_MAX);
	t[0].id_len = SRV_TENANT_ID_MAX;
	collab_buf_reset(&b);
	ck_assert_int_eq(srv_metrics_render_usage(&m2, &b), 0);
	memset(t[0].id, 0x01, SRV_TENANT_ID_MAX);
	collab_buf_reset(&b);
	ck_assert_int_eq(srv_metrics_render_usage(&m2, &b), 0);
	ck_assert_int_eq(collab_json_parse(NULL, b.p, b.len, nodes, 32, &doc), 0);
	collab_buf_free(&b);
	srv_metrics_free(&m2);
}
END_TEST

struct fsync_vec {
	uint64_t ns;
	const char *text;
};

static const struct fsync_vec fsync_vecs[] = {
	{ 0, "collab_journal_last_fsync_seconds 0.000000000\n" },
	{ 1, "collab_journal_last_fsync_seconds 0.000000001\n" },
	{ 999, "collab_journal_last_fsync_seconds 0.000000999\n" },
	{ 1000000000, "collab_journal_last_fsync_seconds 1.000000000\n" },
	{ 12345678901, "collab_journal_last_fsync_seconds 12.345678901\n" },
	{ UINT64_MAX, "collab_journal_last_fsync_seconds 18446744073.709551615\n" },
};

START_TEST(test_fsync_seconds)
{
	const struct fsync_vec *v = &fsync_vecs[_i];
	struct collab_buf b;
	size_t n = strlen(v->text);

	m.journal.last_fsync_ns = v->ns;
	collab_buf_init(&b, NULL, 0);
	ck_assert_int_eq(srv_metrics_render_prometheus(&m, &b), 0);
	/* it is the last line */
	ck_assert_uint_ge(b.len, n);
	ck_assert_mem_eq(b.p + b.len - n, v->text, n);
	collab_buf_free(&b);
}
END_TEST

START_TEST(test_big_values)
{
	struct collab_buf b;

	m.tenants[0].messages = UINT64_MAX;
	m.tenants[0].ops[SRV_METRICS_UNAVAILABLE] = UINT64_MAX;
	m.rooms = UINT64_MAX;
	collab_buf_init(&b, NULL, 0);
	ck_assert_int_eq(srv_metrics_render_prometheus(&m, &b), 0);
	ck_assert(has(&b, "collab_pubsub_messages_total{tenant=\"demo\"} 18446744073709551615\n"));
	ck_assert(has(&b, "collab_operations_total{tenant=\"demo\",result=\"unavailable\"} 18446744073709551615\n"));
	ck_assert(has(&b, "\ncollab_rooms 18446744073709551615\n"));
	collab_buf_free(&b);
}
END_TEST

/* Output appended after what the buffer holds; on a limit, as it was. */
START_TEST(test_buffer_limits)
{
	struct collab_buf b;
	size_t full_usage, full_prom, max;
	static const char head[] = "HTTP/1.1 200 OK\r\n\r\n";

	fill_state();
	collab_buf_init(&b, NULL, 0);
	ck_assert_int_eq(srv_metrics_render_prometheus(&m, &b), 0);
	full_prom = b.len;
	collab_buf_free(&b);
	collab_buf_init(&b, NULL, 0);
	ck_assert_int_eq(srv_metrics_render_usage(&m, &b), 0);
	full_usage = b.len;
	collab_buf_free(&b);

	/* appended after a response head */
	collab_buf_init(&b, NULL, 0);
	ck_assert_int_eq(collab_buf_append(&b, head, sizeof head - 1), 0);
	ck_assert_int_eq(srv_metrics_render_prometheus(&m, &b), 0);
	ck_assert_uint_eq(b.len, sizeof head - 1 + full_prom);
	ck_assert_mem_eq(b.p, head, sizeof head - 1);
	ck_assert_mem_eq(b.p + sizeof head - 1, prom_golden, full_prom);
	collab_buf_free(&b);

	/* every too-small limit fails with ELIMIT and leaves the head */
	for (max = sizeof head - 1; max < sizeof head - 1 + full_prom; max += 97) {
		collab_buf_init(&b, NULL, max);
		ck_assert_int_eq(collab_buf_append(&b, head, sizeof head - 1), 0);
		ck_assert_int_eq(srv_metrics_render_prometheus(&m, &b), COLLAB_ELIMIT);
		ck_assert_uint_eq(b.len, sizeof head - 1);
		ck_assert_mem_eq(b.p, head, sizeof head - 1);
		collab_buf_free(&b);
	}
	/* /usage reserves its bound first: a limit below it fails whole */
	collab_buf_init(&b, NULL, full_usage);
	ck_assert_int_eq(srv_metrics_render_usage(&m, &b), COLLAB_ELIMIT);
	ck_assert_uint_eq(b.len, 0);
	collab_buf_free(&b);
	collab_buf_init(&b, NULL, 2 + 3 * 128 + 6 * 13);
	ck_assert_int_eq(srv_metrics_render_usage(&m, &b), 0);
	assert_buf_eq(&b, usage_golden);
	collab_buf_free(&b);
}
END_TEST

/* An allocator that fails from the nth call on. */
static size_t fail_from;
static size_t calls;

static void *failing_alloc(void *ctx, size_t n)
{
	(void)ctx;
	if (++calls >= fail_from)
		return NULL;
	return malloc(n ? n : 1);
}

static void failing_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	(void)n;
	free(p);
}

static const struct collab_alloc failing = { failing_alloc, failing_free, NULL };

START_TEST(test_alloc_failure)
{
	struct srv_metrics m2;
	struct collab_buf b;

	calls = 0;
	fail_from = 1;
	ck_assert_int_eq(srv_metrics_init(&m2, &failing, &reg), COLLAB_ENOMEM);
	ck_assert_ptr_null(m2.tenants);
	ck_assert_uint_eq(m2.n, 0);
	srv_metrics_free(&m2);

	fill_state();
	calls = 0;
	collab_buf_init(&b, &failing, 0);
	ck_assert_int_eq(srv_metrics_render_usage(&m, &b), COLLAB_ENOMEM);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(srv_metrics_render_prometheus(&m, &b), COLLAB_ENOMEM);
	ck_assert_uint_eq(b.len, 0);
	collab_buf_free(&b);
	/* the prometheus body grows the buffer: fail at each growth */
	calls = 0;
	fail_from = SIZE_MAX;
	collab_buf_init(&b, &failing, 0);
	ck_assert_int_eq(srv_metrics_render_prometheus(&m, &b), 0);
	collab_buf_free(&b);
	ck_assert_uint_ge(calls, 3);
	for (size_t total = calls, k = 1; k <= total; k++) {
		fail_from = k;
		calls = 0;
		collab_buf_init(&b, &failing, 0);
		ck_assert_int_eq(srv_metrics_render_prometheus(&m, &b),
				 COLLAB_ENOMEM);
		ck_assert_uint_eq(b.len, 0);
		collab_buf_free(&b);
	}
}
END_TEST

START_TEST(test_args_and_empty)
{
	struct srv_tenant_registry empty;
	struct srv_metrics m2;
	struct collab_buf b;

	ck_assert_int_eq(srv_metrics_init(NULL, NULL, &reg), COLLAB_EINVAL);
	ck_assert_int_eq(srv_metrics_init(&m2, NULL, NULL), COLLAB_EINVAL);
	srv_metrics_free(NULL);
	ck_assert_int_eq(srv_metrics_render_usage(NULL, &b), COLLAB_EINVAL);
	ck_assert_int_eq(srv_metrics_render_usage(&m, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(srv_metrics_render_prometheus(NULL, &b), COLLAB_EINVAL);
	ck_assert_int_eq(srv_metrics_render_prometheus(&m, NULL), COLLAB_EINVAL);

	/* no tenants: an empty array, families without tenant samples */
	memset(&empty, 0, sizeof empty);
	ck_assert_int_eq(srv_metrics_init(&m2, NULL, &empty), 0);
	collab_buf_init(&b, NULL, 0);
	ck_assert_int_eq(srv_metrics_render_usage(&m2, &b), 0);
	assert_buf_eq(&b, "[]");
	collab_buf_reset(&b);
	ck_assert_int_eq(srv_metrics_render_prometheus(&m2, &b), 0);
	ck_assert(has(&b, "# TYPE collab_pubsub_messages_total counter\n# HELP collab_pubsub_bytes_total"));
	ck_assert(has(&b, "# TYPE collab_operations_total counter\n# HELP collab_rooms"));
	ck_assert(!has(&b, "tenant="));
	check_exposition((const char *)b.p, b.len);
	collab_buf_free(&b);
	srv_metrics_free(&m2);
	srv_metrics_free(&m2);
}
END_TEST

struct name_vec {
	const char *name;
	int rc;
	enum srv_metrics_result r;
};

static const struct name_vec name_vecs[] = {
	{ "accepted", 0, SRV_METRICS_ACCEPTED },
	{ "invalid", 0, SRV_METRICS_INVALID },
	{ "forbidden", 0, SRV_METRICS_FORBIDDEN },
	{ "not-found", 0, SRV_METRICS_NOT_FOUND },
	{ "conflict", 0, SRV_METRICS_CONFLICT },
	{ "too-large", 0, SRV_METRICS_TOO_LARGE },
	{ "rate-limited", 0, SRV_METRICS_RATE_LIMITED },
	{ "unavailable", 0, SRV_METRICS_UNAVAILABLE },
	{ "", COLLAB_ENOTFOUND, 0 },
	{ "Invalid", COLLAB_ENOTFOUND, 0 },
	{ "not_found", COLLAB_ENOTFOUND, 0 },
	{ "rate-limite", COLLAB_ENOTFOUND, 0 },
	{ "unavailable ", COLLAB_ENOTFOUND, 0 },
	{ "error", COLLAB_ENOTFOUND, 0 },
};

START_TEST(test_result_names)
{
	const struct name_vec *v = &name_vecs[_i];
	size_t len = strlen(v->name);
	struct guard_buf g = guard_copy(v->name, len);
	enum srv_metrics_result r = (enum srv_metrics_result)99;

	ck_assert_int_eq(srv_metrics_result_from_name((const char *)g.p, len,
						      &r), v->rc);
	if (v->rc == 0) {
		ck_assert_int_eq(r, v->r);
		ck_assert_str_eq(srv_metrics_result_name(r), v->name);
	} else {
		ck_assert_int_eq(r, 99);
	}
	guard_free(&g);
	ck_assert_ptr_null(srv_metrics_result_name(SRV_METRICS_RESULTS));
	ck_assert_int_eq(srv_metrics_result_from_name(NULL, 0, &r),
			 COLLAB_ENOTFOUND);
	ck_assert_int_eq(srv_metrics_result_from_name("invalid", 7, NULL),
			 COLLAB_ENOTFOUND);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_usage_golden);
	tcase_add_test(tc, test_usage_reparse);
	tcase_add_test(tc, test_prometheus_golden);
	tcase_add_test(tc, test_prometheus_grammar);
	tcase_add_test(tc, test_escaping);
	tcase_add_loop_test(tc, test_fsync_seconds, 0, (int)ARRAY_LEN(fsync_vecs));
	tcase_add_test(tc, test_big_values);
	tcase_add_test(tc, test_buffer_limits);
	tcase_add_test(tc, test_alloc_failure);
	tcase_add_test(tc, test_args_and_empty);
	tcase_add_loop_test(tc, test_result_names, 0, (int)ARRAY_LEN(name_vecs));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
