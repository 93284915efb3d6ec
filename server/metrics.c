/*
 * metrics.c - per-tenant counters and the /usage and /metrics bodies.
 */
#include "metrics.h"

#include <string.h>

#include "collab/json.h"

static const char *const result_names[SRV_METRICS_RESULTS] = {
	"accepted", "invalid", "forbidden", "not-found", "conflict",
	"too-large", "rate-limited", "unavailable",
};

int srv_metrics_init(struct srv_metrics *m, const struct collab_alloc *a,
		     const struct srv_tenant_registry *reg)
{
	size_t bytes;

	if (m == NULL)
		return COLLAB_EINVAL;
	memset(m, 0, sizeof *m);
	if (reg == NULL)
		return COLLAB_EINVAL;
	m->a = a ? a : collab_alloc_default();
	m->reg = reg;
	if (reg->n == 0)
		return 0;
	if (reg->n > SIZE_MAX / sizeof *m->tenants)
		return COLLAB_ENOMEM;
	bytes = reg->n * sizeof *m->tenants;
	m->tenants = m->a->alloc(m->a->ctx, bytes);
	if (m->tenants == NULL) {
		memset(m, 0, sizeof *m);
		return COLLAB_ENOMEM;
	}
	memset(m->tenants, 0, bytes);
	m->n = reg->n;
	return 0;
}

void srv_metrics_free(struct srv_metrics *m)
{
	if (m == NULL)
		return;
	if (m->tenants)
		m->a->free(m->a->ctx, m->tenants, m->n * sizeof *m->tenants);
	memset(m, 0, sizeof *m);
}

struct srv_metrics_tenant *srv_metrics_tenant(struct srv_metrics *m,
					      const struct srv_tenant *t)
{
	if (m == NULL || t == NULL || t->index >= m->n ||
	    &m->reg->tenants[t->index] != t)
		return NULL;
	return &m->tenants[t->index];
}

const char *srv_metrics_result_name(enum srv_metrics_result r)
{
	if ((size_t)r >= SRV_METRICS_RESULTS)
		return NULL;
	return result_names[r];
}

int srv_metrics_result_from_name(const char *code, size_t len,
				 enum srv_metrics_result *r)
{
	size_t i;

	if (code == NULL || r == NULL)
		return COLLAB_ENOTFOUND;
	for (i = 0; i < SRV_METRICS_RESULTS; i++) {
		if (strlen(result_names[i]) == len &&
		    memcmp(result_names[i], code, len) == 0) {
			*r = (enum srv_metrics_result)i;
			return 0;
		}
	}
	return COLLAB_ENOTFOUND;
}

/* ---- /usage ------------------------------------------------------------- */

/* Bytes of one tenant's object beyond its id: the fixed names, punctuation
 * and two 20-digit numbers, rounded up. */
#define USAGE_FIXED_PER_TENANT 128u
/* An id byte escapes to at most 6 bytes (\u00XX). */
#define USAGE_ESCAPE_FACTOR 6u

int srv_metrics_render_usage(const struct srv_metrics *m,
			     struct collab_buf *out)
{
	struct collab_json_writer w;
	size_t bound = 2, i, len = 0;
	int rc;

	if (m == NULL || out == NULL)
		return COLLAB_EINVAL;
	/* ids are at most SRV_TENANT_ID_MAX bytes and tenants at most
	 * SRV_TENANT_COUNT_MAX, so this sum stays far below SIZE_MAX */
	for (i = 0; i < m->n; i++)
		bound += USAGE_FIXED_PER_TENANT +
			 USAGE_ESCAPE_FACTOR * m->reg->tenants[i].id_len;
	rc = collab_buf_reserve(out, bound);
	if (rc)
		return rc;
	collab_json_writer_init(&w, out->p + out->len, bound);
	collab_json_write_arr_begin(&w);
	for (i = 0; i < m->n; i++) {
		const struct srv_tenant *t = &m->reg->tenants[i];
		collab_json_write_obj_begin(&w);
		collab_json_write_key(&w, COLLAB_JSON_LIT("tenantId"));
		collab_json_write_str(&w, t->id, t->id_len);
		collab_json_write_key(&w, COLLAB_JSON_LIT("pubSubMessageCount"));
		collab_json_write_u64(&w, m->tenants[i].messages);
		collab_json_write_key(&w, COLLAB_JSON_LIT("pubSubBandwidth"));
		collab_json_write_u64(&w, m->tenants[i].bytes);
		collab_json_write_obj_end(&w);
	}
	collab_json_write_arr_end(&w);
	/* the writer's error is sticky: one check covers every call */
	rc = collab_json_writer_finish(&w, &len);
	if (rc)
		return rc;
	out->len += len;
	return 0;
}

/* ---- /metrics ------------------------------------------------------------ */

/* Static text (NUL-terminated literals of this file). */
static int put(struct collab_buf *b, const char *s)
{
	return collab_buf_append(b, s, strlen(s));
}

/* Exact decimal, no printf: no locale, nothing to get wrong. */
static int put_u64(struct collab_buf *b, uint64_t v)
{
	char digits[20];
	size_t n = sizeof digits;

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return collab_buf_append(b, digits + n, sizeof digits - n);
}

/* A label value: the exposition format escapes backslash, double quote
 * and line feed, and nothing else. */
static int put_label_value(struct collab_buf *b, const char *s, size_t len)
{
	size_t i, start = 0;
	int rc = 0;

	for (i = 0; i < len && rc == 0; i++) {
		const char *esc = s[i] == '\\' ? "\\\\" : s[i] == '"' ? "\\\""
				  : s[i] == '\n' ? "\\n" : NULL;
		if (esc == NULL)
			continue;
		rc = collab_buf_append(b, s + start, i - start);
		if (rc == 0)
			rc = collab_buf_append(b, esc, 2);
		start = i + 1;
	}
	if (rc == 0)
		rc = collab_buf_append(b, s + start, len - start);
	return rc;
}

/* "# HELP name help\n# TYPE name type\n" */
static int put_family(struct collab_buf *b, const char *name,
		      const char *type, const char *help)
{
	int rc = put(b, "# HELP ");

	if (rc == 0)
		rc = put(b, name);
	if (rc == 0)
		rc = put(b, " ");
	if (rc == 0)
		rc = put(b, help);
	if (rc == 0)
		rc = put(b, "\n# TYPE ");
	if (rc == 0)
		rc = put(b, name);
	if (rc == 0)
		rc = put(b, " ");
	if (rc == 0)
		rc = put(b, type);
	if (rc == 0)
		rc = put(b, "\n");
	return rc;
}

/* "name value\n" */
static int put_sample(struct collab_buf *b, const char *name, uint64_t v)
{
	int rc = put(b, name);

	if (rc == 0)
		rc = put(b, " ");
	if (rc == 0)
		rc = put_u64(b, v);
	if (rc == 0)
		rc = put(b, "\n");
	return rc;
}

/* name{tenant="T"[,result="R"]} value */
static int put_tenant_sample(struct collab_buf *b, const char *name,
			     const struct srv_tenant *t, const char *result,
			     uint64_t v)
{
	int rc = put(b, name);

	if (rc == 0)
		rc = put(b, "{tenant=\"");
	if (rc == 0)
		rc = put_label_value(b, t->id, t->id_len);
	if (rc == 0 && result) {
		rc = put(b, "\",result=\"");
		if (rc == 0)
			rc = put(b, result);
	}
	if (rc == 0)
		rc = put(b, "\"} ");
	if (rc == 0)
		rc = put_u64(b, v);
	if (rc == 0)
		rc = put(b, "\n");
	return rc;
}

#define NS_PER_S UINT64_C(1000000000)

enum tenant_figure { FIG_MESSAGES, FIG_BYTES, FIG_CONNECTIONS };

static int put_tenant_family(struct collab_buf *b, const struct srv_metrics *m,
			     const char *name, const char *type,
			     const char *help, enum tenant_figure fig)
{
	int rc = put_family(b, name, type, help);
	size_t i;

	for (i = 0; i < m->n && rc == 0; i++) {
		const struct srv_tenant *t = &m->reg->tenants[i];
		uint64_t v = fig == FIG_MESSAGES ? m->tenants[i].messages
			     : fig == FIG_BYTES ? m->tenants[i].bytes
			     : t->connections;
		rc = put_tenant_sample(b, name, t, NULL, v);
	}
	return rc;
}

/* A global figure: family header and its one sample. */
static int put_global(struct collab_buf *b, const char *name,
		      const char *type, const char *help, uint64_t v)
{
	int rc = put_family(b, name, type, help);

	if (rc == 0)
		rc = put_sample(b, name, v);
	return rc;
}

static int render_prometheus(const struct srv_metrics *m, struct collab_buf *b)
{
	const struct srv_metrics_journal *j = &m->journal;
	static const char fsync_name[] = "collab_journal_last_fsync_seconds";
	char frac[11];   /* ".123456789\n" */
	uint64_t ns;
	size_t i, r, k;
	int rc;

	rc = put_tenant_family(b, m, "collab_pubsub_messages_total", "counter",
			       "Data messages queued to the tenant's "
			       "connections (pubSubMessageCount).",
			       FIG_MESSAGES);
	if (rc == 0)
		rc = put_tenant_family(b, m, "collab_pubsub_bytes_total",
				       "counter",
				       "Bytes of those messages, frame headers "
				       "included, before TLS (pubSubBandwidth).",
				       FIG_BYTES);
	if (rc == 0)
		rc = put_tenant_family(b, m, "collab_connections", "gauge",
				       "Open WebSockets, from the upgrade on.",
				       FIG_CONNECTIONS);
	if (rc == 0)
		rc = put_family(b, "collab_operations_total", "counter",
				"Operations by result: accepted or the error "
				"code.");
	for (i = 0; i < m->n && rc == 0; i++)
		for (r = 0; r < SRV_METRICS_RESULTS && rc == 0; r++)
			rc = put_tenant_sample(b, "collab_operations_total",
					       &m->reg->tenants[i],
					       result_names[r],
					       m->tenants[i].ops[r]);
	if (rc == 0)
		rc = put_global(b, "collab_rooms", "gauge", "Rooms in memory.",
				m->rooms);
	if (rc == 0)
		rc = put_global(b, "collab_journal_bytes", "gauge",
				"Size of the journal.", j->bytes);
	if (rc == 0)
		rc = put_global(b, "collab_journal_records_total", "counter",
				"Journal records appended.", j->records);
	if (rc == 0)
		rc = put_global(b, "collab_journal_fsyncs_total", "counter",
				"Successful journal fdatasync calls.",
				j->fsyncs);
	if (rc == 0)
		rc = put_global(b, "collab_journal_fsync_failures_total",
				"counter", "Failed journal fdatasync calls.",
				j->fsync_failures);
	/* seconds as exact decimal text from integer nanoseconds: no
	 * floating point, no locale */
	if (rc == 0)
		rc = put_family(b, fsync_name, "gauge",
				"Duration of the last journal fdatasync.");
	if (rc == 0)
		rc = put(b, fsync_name);
	if (rc == 0)
		rc = put(b, " ");
	if (rc == 0)
		rc = put_u64(b, j->last_fsync_ns / NS_PER_S);
	ns = j->last_fsync_ns % NS_PER_S;
	frac[0] = '.';
	for (k = 9; k >= 1; k--) {
		frac[k] = (char)('0' + ns % 10);
		ns /= 10;
	}
	frac[10] = '\n';
	if (rc == 0)
		rc = collab_buf_append(b, frac, sizeof frac);
	return rc;
}

int srv_metrics_render_prometheus(const struct srv_metrics *m,
				  struct collab_buf *out)
{
	size_t start;
	int rc;

	if (m == NULL || out == NULL)
		return COLLAB_EINVAL;
	start = out->len;
	rc = render_prometheus(m, out);
	if (rc)
		out->len = start; /* as it was: nothing half-written */
	return rc;
}
