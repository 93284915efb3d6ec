/*
 * collab-bench: a log-linear latency histogram. Values below 2^SUB_BITS
 * are exact, then 2^(SUB_BITS-1) buckets per power of two (relative error
 * below 1/512); values up to 2^MAX_BITS ns (73 minutes), larger ones are
 * clamped. min and max are exact.
 */
#ifndef COLLAB_BENCH_HIST_H
#define COLLAB_BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define SUB_BITS  10u
#define SUB       (1u << SUB_BITS)
#define HALF      (SUB / 2)
#define MAX_BITS  42u
#define HIST_LEN  (SUB + (MAX_BITS - SUB_BITS) * HALF)

struct hist {
	uint64_t *counts;   /* HIST_LEN */
	uint64_t n, min, max, sum;
};

/* Allocates the buckets: 0, or -1 out of memory (h is then still safe to
 * hist_free). */
int hist_init(struct hist *h);
void hist_free(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
/* Adds every sample of h into into. */
void hist_merge(struct hist *into, const struct hist *h);
/* The value at percentile pm/1000 (p99.9 is 999): the bucket's highest
 * value, never above the exact max, so p50 <= p90 <= ... <= max; 0 when
 * empty. */
uint64_t hist_pct(const struct hist *h, unsigned pm);

#endif
