/*
 * talloc.h - a counting allocator for the Check suites: it checks that
 * every free names the size that was allocated, counts live blocks, and
 * fails the k-th allocation on demand, so every allocation-failure path
 * can be driven. Include after <check.h>; one instance per suite:
 *
 *     static struct talloc TA;
 *     static struct collab_alloc A = { ta_alloc, ta_free, &TA };
 */
#ifndef COLLAB_TALLOC_H
#define COLLAB_TALLOC_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/common.h"

struct talloc {
	size_t blocks;  /* live blocks */
	long n;         /* allocations so far */
	long fail_at;   /* the allocation (by n) that fails; -1 none */
};

/* Bytes in front of each block that remember its size. */
#define TALLOC_HDR 16

static void *ta_alloc(void *ctx, size_t n)
{
	struct talloc *t = ctx;
	uint8_t *p;

	if (t->fail_at >= 0 && t->n == t->fail_at) {
		t->n++;
		return NULL;
	}
	t->n++;
	p = malloc(n + TALLOC_HDR);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	t->blocks++;
	return p + TALLOC_HDR;
}

static void ta_free(void *ctx, void *q, size_t n)
{
	struct talloc *t = ctx;
	uint8_t *p = q;
	size_t was;

	if (p == NULL)
		return;
	p -= TALLOC_HDR;
	memcpy(&was, p, sizeof(was));
	ck_assert_msg(was == n, "free of %zu bytes for a block of %zu", n, was);
	t->blocks--;
	free(p);
}

#endif
