/*
 * collab-bench: per-connection bookkeeping. The client callbacks count
 * what each connection sees (deliveries and their latency, acks,
 * rejections, closes) and track its continuity: the seq of every event
 * from its first `synced` on (main.c says what counts as lost).
 */
#ifndef COLLAB_BENCH_CONN_H
#define COLLAB_BENCH_CONN_H

#include "collab-bench/bench.h"

/* Starts connection x on worker w (its client, URL and token); on
 * failure x is dead and the error counted. */
void bench_start_conn(struct worker *w, struct conn *x);
/* Counts a failed client call (rc a COLLAB_E* code) for the report. */
void bench_note_op_err(struct worker *w, int rc);

#endif
