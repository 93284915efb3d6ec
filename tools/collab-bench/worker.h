/*
 * collab-bench: one worker thread, its loop and its connections. A
 * housekeeping timer starts connections (at most max_connecting between
 * start and first synced), follows the phase main.c sets, checks the
 * drain, closes everything at the end and stops the loop.
 */
#ifndef COLLAB_BENCH_WORKER_H
#define COLLAB_BENCH_WORKER_H

#include "collab-bench/bench.h"

/* Sets up w (histograms, token buffers, loop, wsctx, TLS trust anchors):
 * 0 or a COLLAB_E* code; bench_worker_free either way. */
int bench_worker_setup(struct worker *w, uint32_t id);
/* The thread: runs the loop until the run is done, then frees the
 * clients and sets w->st.finished. */
void *bench_worker_main(void *arg);
void bench_worker_free(struct worker *w);

#endif
