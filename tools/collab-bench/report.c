/* collab-bench: totals and reports (report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/proto.h"
#include "collab-bench/report.h"

static const char *const phase_names[] = { "connect", "warmup", "measure",
					    "drain", "done" };

void bench_sum_totals(struct totals *t, bool take_interval)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < bench.nw; i++) {
		struct live_stats *s = &bench.w[i].st;
		uint64_t m;

		t->live += get(&s->live);
		t->ever_live += get(&s->ever_live);
		t->dead += get(&s->dead);
		t->reconnects += get(&s->reconnects);
		t->connect_retries += get(&s->connect_retries);
		t->published += get(&s->published);
		t->published_all += get(&s->published_all);
		t->acked += get(&s->acked);
		t->rejected += get(&s->rejected);
		t->deliveries += get(&s->deliveries);
		t->deliveries_all += get(&s->deliveries_all);
		t->lost += get(&s->lost);
		t->ooo += get(&s->ooo);
		t->foreign += get(&s->foreign);
		t->op_fail += get(&s->op_fail);
		t->errors += get(&s->errors);
		t->snapshot_resyncs += get(&s->snapshot_resyncs);
		t->skipped += get(&s->skipped);
		t->unanswered += get(&s->unanswered);
		t->not_live_at_end += get(&s->not_live_at_end);
		if (take_interval) {
			t->iv_sum += atomic_exchange_explicit(&s->iv_sum, 0, memory_order_relaxed);
			t->iv_n += atomic_exchange_explicit(&s->iv_n, 0, memory_order_relaxed);
			m = atomic_exchange_explicit(&s->iv_max, 0, memory_order_relaxed);
			if (m > t->iv_max)
				t->iv_max = m;
		}
	}
}

/* "S.mmm" of a count of units (ns) scaled down by div, with 3 decimals. */
static const char *fixed3(char *buf, size_t cap, uint64_t v, uint64_t div)
{
	uint64_t milli = div >= 1000 ? v / (div / 1000) : v * (1000 / div);

	(void)snprintf(buf, cap, "%llu.%03llu", (unsigned long long)(milli / 1000),
		       (unsigned long long)(milli % 1000));
	return buf;
}

/* count per second over ns, with one decimal. */
static const char *per_sec(char *buf, size_t cap, uint64_t count, uint64_t ns)
{
	double r = ns ? (double)count * 1e9 / (double)ns : 0.0;
	uint64_t tenths = (uint64_t)(r * 10.0 + 0.5);

	(void)snprintf(buf, cap, "%llu.%llu", (unsigned long long)(tenths / 10),
		       (unsigned long long)(tenths % 10));
	return buf;
}

void bench_progress_line(uint64_t now, struct totals *prev, uint64_t *prev_t)
{
	struct totals t;
	uint64_t dt = now - *prev_t;
	char a[32], b[32], c[32], d[32], e[32];

	bench_sum_totals(&t, true);
	(void)fprintf(stderr,
		      "collab-bench: %ss %-7s live %llu/%llu pub %s/s deliv %s/s lat mean %s max %s ms"
		      " lost %llu ooo %llu reconn %llu rej %llu\n",
		      fixed3(a, sizeof(a), now - bench.t0, 1000000000u) ,
		      phase_names[phase()], (unsigned long long)t.live,
		      (unsigned long long)bench.o.conns,
		      per_sec(b, sizeof(b), t.published_all - prev->published_all, dt),
		      per_sec(c, sizeof(c), t.deliveries_all - prev->deliveries_all, dt),
		      fixed3(d, sizeof(d), t.iv_n ? t.iv_sum / t.iv_n : 0, 1000000u),
		      fixed3(e, sizeof(e), t.iv_max, 1000000u),
		      (unsigned long long)t.lost, (unsigned long long)t.ooo,
		      (unsigned long long)t.reconnects, (unsigned long long)t.rejected);
	*prev = t;
	*prev_t = now;
}

int bench_merge(struct merged *m)
{
	size_t i, k, j;

	memset(m, 0, sizeof(*m));
	if (hist_init(&m->lat) || hist_init(&m->ack) || hist_init(&m->conn_ms) ||
	    hist_init(&m->lag))
		return -1;
	for (i = 0; i < bench.nw; i++) {
		struct worker *w = &bench.w[i];

		hist_merge(&m->lat, &w->lat);
		hist_merge(&m->ack, &w->ack);
		hist_merge(&m->conn_ms, &w->conn_ms);
		hist_merge(&m->lag, &w->lag);
		for (k = 0; k < 8; k++)
			m->rejections[k] += w->rejections[k];
		m->closes_other += w->closes_other;
		for (k = 0; k < NCLOSE_KINDS && w->closes[k].n; k++) {
			for (j = 0; j < m->n_closes; j++)
				if (m->closes[j].code == w->closes[k].code &&
				    m->closes[j].http == w->closes[k].http &&
				    m->closes[j].err == w->closes[k].err)
					break;
			if (j == m->n_closes)
				m->closes[m->n_closes++] = w->closes[k];
			else
				m->closes[j].n += w->closes[k].n;
		}
		for (k = 0; k < 16 && w->op_err_n[k]; k++) {
			for (j = 0; j < m->n_op_errs; j++)
				if (m->op_errs[j] == w->op_errs[k])
					break;
			if (j == 16)
				continue;
			if (j == m->n_op_errs) {
				m->op_errs[j] = w->op_errs[k];
				m->n_op_errs++;
			}
			m->op_err_n[j] += w->op_err_n[k];
		}
	}
	return 0;
}

void bench_merged_free(struct merged *m)
{
	hist_free(&m->lat);
	hist_free(&m->ack);
	hist_free(&m->conn_ms);
	hist_free(&m->lag);
}

/* JSON: {"count":..,"min":..,"mean":..,"p50":..,...,"max":..} in units of
 * div ns (1000: microseconds; 1000000: milliseconds), 3 decimals. */
static void json_hist(struct collab_json_writer *jw, const char *key,
		      const struct hist *h, uint64_t div)
{
	static const struct { const char *name; unsigned pm; } pcts[] = {
		{ "p50", 500 }, { "p90", 900 }, { "p99", 990 }, { "p999", 999 }
	};
	char b[32];
	size_t i;

	collab_json_write_key(jw, key, strlen(key));
	collab_json_write_obj_begin(jw);
	collab_json_write_key(jw, COLLAB_JSON_LIT("count"));
	collab_json_write_u64(jw, h->n);
	collab_json_write_key(jw, COLLAB_JSON_LIT("min"));
	fixed3(b, sizeof(b), h->n ? h->min : 0, div);
	collab_json_write_number(jw, b, strlen(b));
	collab_json_write_key(jw, COLLAB_JSON_LIT("mean"));
	fixed3(b, sizeof(b), h->n ? h->sum / h->n : 0, div);
	collab_json_write_number(jw, b, strlen(b));
	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		collab_json_write_key(jw, pcts[i].name, strlen(pcts[i].name));
		fixed3(b, sizeof(b), hist_pct(h, pcts[i].pm), div);
		collab_json_write_number(jw, b, strlen(b));
	}
	collab_json_write_key(jw, COLLAB_JSON_LIT("max"));
	fixed3(b, sizeof(b), h->max, div);
	collab_json_write_number(jw, b, strlen(b));
	collab_json_write_obj_end(jw);
}

static void jk_u64(struct collab_json_writer *jw, const char *key, uint64_t v)
{
	collab_json_write_key(jw, key, strlen(key));
	collab_json_write_u64(jw, v);
}

static void jk_num(struct collab_json_writer *jw, const char *key, const char *num)
{
	collab_json_write_key(jw, key, strlen(key));
	collab_json_write_number(jw, num, strlen(num));
}

static void jk_str(struct collab_json_writer *jw, const char *key, const char *s)
{
	collab_json_write_key(jw, key, strlen(key));
	collab_json_write_str(jw, s, strlen(s));
}

int bench_report_json(const struct totals *t, const struct merged *m, uint64_t measured_ns,
		      uint64_t connect_ns, int status)
{
	size_t cap = (size_t)64 * 1024 + m->n_closes * 128, len = 0, i;
	uint8_t *buf = malloc(cap);
	struct collab_json_writer jw;
	char b[32];
	int rc;

	if (buf == NULL)
		return -1;
	collab_json_writer_init(&jw, buf, cap);
	collab_json_write_obj_begin(&jw);
	jk_str(&jw, "url", bench.o.url);
	jk_str(&jw, "tenant", bench.tenant_id);
	jk_str(&jw, "roomPrefix", bench.prefix);
	jk_u64(&jw, "connections", bench.o.conns);
	jk_u64(&jw, "rooms", bench.o.rooms);
	jk_u64(&jw, "publishers", bench.o.pubs);
	jk_u64(&jw, "rate", bench.o.rate);
	jk_str(&jw, "op", bench.o.op == OP_EDIT ? "edit" : "add");
	jk_u64(&jw, "size", bench.o.size);
	jk_u64(&jw, "threads", bench.nw);
	jk_u64(&jw, "sources", bench.n_sources);
	jk_u64(&jw, "warmup_s", bench.o.warmup);
	jk_u64(&jw, "duration_s", bench.o.duration);
	jk_num(&jw, "measured_s", fixed3(b, sizeof(b), measured_ns, NS));
	jk_num(&jw, "connect_s", fixed3(b, sizeof(b), connect_ns, NS));
	jk_u64(&jw, "connected", t->ever_live);
	jk_u64(&jw, "not_live_at_end", t->not_live_at_end);
	jk_u64(&jw, "never_live", bench.o.conns - t->ever_live);
	jk_u64(&jw, "closed_for_good", t->dead);
	jk_u64(&jw, "connect_retries", t->connect_retries);
	json_hist(&jw, "connect_ms", &m->conn_ms, 1000000u);
	jk_u64(&jw, "published", t->published);
	jk_num(&jw, "published_per_second", per_sec(b, sizeof(b), t->published, measured_ns));
	jk_u64(&jw, "published_total", t->published_all);
	jk_u64(&jw, "acked", t->acked);
	jk_u64(&jw, "rejected", t->rejected);
	jk_u64(&jw, "unanswered", t->unanswered);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("rejections"));
	collab_json_write_obj_begin(&jw);
	for (i = 1; i < 8; i++) {
		if (m->rejections[i] == 0)
			continue;
		jk_u64(&jw, collab_proto_err_name((enum collab_proto_err)i), m->rejections[i]);
	}
	if (m->rejections[0])
		jk_u64(&jw, "other", m->rejections[0]);
	collab_json_write_obj_end(&jw);
	jk_u64(&jw, "deliveries", t->deliveries);
	jk_num(&jw, "deliveries_per_second", per_sec(b, sizeof(b), t->deliveries, measured_ns));
	jk_u64(&jw, "deliveries_total", t->deliveries_all);
	json_hist(&jw, "latency_us", &m->lat, 1000u);
	json_hist(&jw, "ack_latency_us", &m->ack, 1000u);
	json_hist(&jw, "publish_lag_us", &m->lag, 1000u);
	jk_u64(&jw, "publish_skipped", t->skipped);
	jk_u64(&jw, "lost", t->lost);
	jk_u64(&jw, "out_of_order", t->ooo);
	jk_u64(&jw, "reconnects", t->reconnects);
	jk_u64(&jw, "snapshot_resyncs", t->snapshot_resyncs);
	jk_u64(&jw, "errors", t->errors);
	jk_u64(&jw, "foreign_events", t->foreign);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("op_errors"));
	collab_json_write_obj_begin(&jw);
	for (i = 0; i < m->n_op_errs; i++)
		jk_u64(&jw, collab_strerror(m->op_errs[i]), m->op_err_n[i]);
	collab_json_write_obj_end(&jw);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("closes"));
	collab_json_write_arr_begin(&jw);
	for (i = 0; i < m->n_closes; i++) {
		collab_json_write_obj_begin(&jw);
		jk_u64(&jw, "code", m->closes[i].code);
		jk_u64(&jw, "http_status", m->closes[i].http);
		jk_str(&jw, "error", m->closes[i].err ? collab_strerror(m->closes[i].err) : "");
		jk_u64(&jw, "count", m->closes[i].n);
		collab_json_write_obj_end(&jw);
	}
	collab_json_write_arr_end(&jw);
	jk_u64(&jw, "exit_status", (uint64_t)status);
	collab_json_write_obj_end(&jw);
	rc = collab_json_writer_finish(&jw, &len);
	if (rc == 0 && (fwrite(buf, 1, len, stdout) != len || fputc('\n', stdout) == EOF ||
			fflush(stdout) != 0))
		rc = -1;
	free(buf);
	return rc;
}

static void print_hist_line(const char *what, const struct hist *h, uint64_t div,
			    const char *unit)
{
	char a[32], b[32], c[32], d[32], e[32], f[32];

	(void)printf("%-14s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s %s (mean %s, %llu samples)\n",
		     what, fixed3(a, sizeof(a), hist_pct(h, 500), div),
		     fixed3(b, sizeof(b), hist_pct(h, 900), div),
		     fixed3(c, sizeof(c), hist_pct(h, 990), div),
		     fixed3(d, sizeof(d), hist_pct(h, 999), div),
		     fixed3(e, sizeof(e), h->max, div), unit,
		     fixed3(f, sizeof(f), h->n ? h->sum / h->n : 0, div),
		     (unsigned long long)h->n);
}

int bench_report_text(const struct totals *t, const struct merged *m, uint64_t measured_ns,
		      uint64_t connect_ns)
{
	char a[32], b[32];
	size_t i;

	(void)printf("collab-bench: %llu connections over %llu rooms (%s, tenant %s), "
		     "%llu publishers, %llu ops/s (%s, %llu-byte text), %zu thread(s), "
		     "%zu source address(es)\n",
		     (unsigned long long)bench.o.conns, (unsigned long long)bench.o.rooms, bench.o.url,
		     bench.tenant_id, (unsigned long long)bench.o.pubs, (unsigned long long)bench.o.rate,
		     bench.o.op == OP_EDIT ? "edit" : "add", (unsigned long long)bench.o.size, bench.nw,
		     bench.n_sources);
	(void)printf("connect:       %llu/%llu live in %s s, %llu closed for good, "
		     "%llu retries\n", (unsigned long long)t->ever_live,
		     (unsigned long long)bench.o.conns, fixed3(a, sizeof(a), connect_ns, NS),
		     (unsigned long long)t->dead, (unsigned long long)t->connect_retries);
	print_hist_line("connect time", &m->conn_ms, 1000000u, "ms");
	(void)printf("published:     %llu in %s s (%s/s), acked %llu, rejected %llu\n",
		     (unsigned long long)t->published, fixed3(a, sizeof(a), measured_ns, NS),
		     per_sec(b, sizeof(b), t->published, measured_ns),
		     (unsigned long long)t->acked, (unsigned long long)t->rejected);
	for (i = 1; i < 8; i++)
		if (m->rejections[i])
			(void)printf("  rejected %-14s %llu\n",
				     collab_proto_err_name((enum collab_proto_err)i),
				     (unsigned long long)m->rejections[i]);
	(void)printf("deliveries:    %llu (%s/s)\n", (unsigned long long)t->deliveries,
		     per_sec(a, sizeof(a), t->deliveries, measured_ns));
	print_hist_line("latency", &m->lat, 1000000u, "ms");
	print_hist_line("ack latency", &m->ack, 1000000u, "ms");
	print_hist_line("publish lag", &m->lag, 1000000u, "ms");
	(void)printf("lost %llu, out of order %llu, unanswered %llu, not live at the end %llu\n",
		     (unsigned long long)t->lost, (unsigned long long)t->ooo,
		     (unsigned long long)t->unanswered, (unsigned long long)t->not_live_at_end);
	(void)printf("reconnects %llu, snapshot resyncs %llu, "
		     "errors %llu, foreign events %llu, skipped publishes %llu\n",
		     (unsigned long long)t->reconnects, (unsigned long long)t->snapshot_resyncs,
		     (unsigned long long)t->errors, (unsigned long long)t->foreign,
		     (unsigned long long)t->skipped);
	for (i = 0; i < m->n_op_errs; i++)
		(void)printf("  operation calls failed (%s): %llu\n",
			     collab_strerror(m->op_errs[i]), (unsigned long long)m->op_err_n[i]);
	for (i = 0; i < m->n_closes; i++)
		(void)printf("  connection ends: close %u, http %u, %s: %llu\n",
			     m->closes[i].code, m->closes[i].http,
			     m->closes[i].err ? collab_strerror(m->closes[i].err) : "-",
			     (unsigned long long)m->closes[i].n);
	return fflush(stdout) == 0 ? 0 : -1;
}

