/* collab-bench: the latency histogram (hist.h). */
#include <stdlib.h>
#include <string.h>

#include "collab-bench/hist.h"

static size_t hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < SUB)
		return (size_t)v;
	if (v >= ((uint64_t)1 << MAX_BITS))
		v = ((uint64_t)1 << MAX_BITS) - 1;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - (SUB_BITS - 1);
	return SUB + (size_t)(shift - 1) * HALF + (size_t)((v >> shift) - HALF);
}

/* The highest value that falls in bucket i. */
static uint64_t hist_high(size_t i)
{
	size_t k;
	unsigned shift;

	if (i < SUB)
		return i;
	k = i - SUB;
	shift = (unsigned)(k / HALF) + 1;
	return (((uint64_t)(k % HALF + HALF)) << shift) + ((uint64_t)1 << shift) - 1;
}

int hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->counts = calloc(HIST_LEN, sizeof(*h->counts));
	h->min = UINT64_MAX;
	return h->counts ? 0 : -1;
}

void hist_free(struct hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

void hist_add(struct hist *h, uint64_t v)
{
	h->counts[hist_index(v)]++;
	h->n++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void hist_merge(struct hist *into, const struct hist *h)
{
	size_t i;

	for (i = 0; i < HIST_LEN; i++)
		into->counts[i] += h->counts[i];
	into->n += h->n;
	into->sum += h->sum;
	if (h->min < into->min)
		into->min = h->min;
	if (h->max > into->max)
		into->max = h->max;
}

uint64_t hist_pct(const struct hist *h, unsigned pm)
{
	uint64_t rank, seen = 0;
	size_t i;

	if (h->n == 0)
		return 0;
	rank = (h->n * pm + 999) / 1000;
	if (rank == 0)
		rank = 1;
	for (i = 0; i < HIST_LEN; i++) {
		seen += h->counts[i];
		if (seen >= rank)
			return hist_high(i) < h->max ? hist_high(i) : h->max;
	}
	return h->max;
}
