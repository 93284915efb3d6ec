/*
 * collab-bench: the totals over all workers, the progress line, and the
 * final report as text or one JSON object.
 */
#ifndef COLLAB_BENCH_REPORT_H
#define COLLAB_BENCH_REPORT_H

#include "collab-bench/bench.h"

struct totals {
	uint64_t live, ever_live, dead, reconnects, connect_retries;
	uint64_t published, published_all, acked, rejected;
	uint64_t deliveries, deliveries_all, lost, ooo, foreign;
	uint64_t op_fail, errors, snapshot_resyncs, skipped;
	uint64_t unanswered, not_live_at_end;
	uint64_t iv_sum, iv_n, iv_max;
};

struct merged {
	struct hist lat, ack, conn_ms, lag;
	uint64_t rejections[8];
	struct close_kind closes[NCLOSE_KINDS * MAX_THREADS];
	size_t n_closes;
	uint64_t closes_other;
	int op_errs[16];
	uint64_t op_err_n[16];
	size_t n_op_errs;
};

/* Sums every worker's live counters into t; take_interval also takes
 * (and zeroes) the progress interval's latency. */
void bench_sum_totals(struct totals *t, bool take_interval);
/* One progress line on stderr for the interval since *prev_t. */
void bench_progress_line(uint64_t now, struct totals *prev, uint64_t *prev_t);
/* The workers' results merged (after join): 0, or -1 out of memory;
 * bench_merged_free either way. */
int bench_merge(struct merged *m);
void bench_merged_free(struct merged *m);
/* The report on stdout: 0, or -1 when it could not be written. */
int bench_report_json(const struct totals *t, const struct merged *m, uint64_t measured_ns,
		      uint64_t connect_ns, int status);
int bench_report_text(const struct totals *t, const struct merged *m, uint64_t measured_ns,
		      uint64_t connect_ns);

#endif
