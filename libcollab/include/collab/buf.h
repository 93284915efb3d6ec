/*
 * collab/buf.h - growable byte buffers and refcounted shared buffers.
 *
 * struct collab_buf grows through the caller's allocator up to a hard
 * limit, and stays intact on every failure: a failed append leaves its
 * contents, length and capacity exactly as they were.
 *
 * struct collab_shbuf is an immutable, refcounted block: a broadcast frame
 * is encoded once into one and every subscriber's write queue holds a
 * reference. Refcounts are plain integers: a shared buffer belongs to one
 * loop thread.
 */
#ifndef COLLAB_BUF_H
#define COLLAB_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct collab_buf {
	uint8_t *p;       /* contents; NULL until the first growth */
	size_t len;       /* bytes in use */
	size_t cap;       /* bytes allocated */
	size_t max;       /* hard limit on cap (0 means SIZE_MAX) */
	const struct collab_alloc *a;
};

/* Empties b and binds it to allocator a (NULL: collab_alloc_default())
 * with a capacity limit of max bytes (0: no limit). Allocates nothing. */
void collab_buf_init(struct collab_buf *b, const struct collab_alloc *a,
		     size_t max);

/* Makes room for n more bytes. 0, COLLAB_ELIMIT past max, or
 * COLLAB_ENOMEM; b unchanged on failure. Growth doubles. */
int collab_buf_reserve(struct collab_buf *b, size_t n);

/* Appends n bytes from p (p may be NULL only when n is 0). Same returns as
 * collab_buf_reserve; b unchanged on failure. */
int collab_buf_append(struct collab_buf *b, const void *p, size_t n);

/* Appends one byte. */
int collab_buf_append_byte(struct collab_buf *b, uint8_t c);

/* Drops the first n bytes (n MUST be <= b->len); keeps the allocation. */
void collab_buf_consume(struct collab_buf *b, size_t n);

/* Sets len to 0; keeps the allocation. */
void collab_buf_reset(struct collab_buf *b);

/* Frees the allocation; b is empty (and reusable) afterwards. */
void collab_buf_free(struct collab_buf *b);

/* An immutable shared block. Write data[] only before the first share. */
struct collab_shbuf {
	size_t refs;      /* size_t: cannot wrap while each ref is held somewhere */
	size_t len;
	const struct collab_alloc *a;
	uint8_t data[];
};

/* Allocates a block of len bytes with one reference. NULL on failure or
 * when len is too large to allocate. a NULL: collab_alloc_default(). */
struct collab_shbuf *collab_shbuf_new(const struct collab_alloc *a, size_t len);

/* Adds a reference; returns s. */
struct collab_shbuf *collab_shbuf_ref(struct collab_shbuf *s);

/* Drops a reference; frees the block with the last one. NULL is a no-op. */
void collab_shbuf_unref(struct collab_shbuf *s);

#ifdef __cplusplus
}
#endif
#endif
