/* buf.c - growable buffers that stay intact on failure; shared blocks. */
#include "collab/buf.h"

#include <string.h>

/* Smallest first allocation: small enough for idle connections, large
 * enough that a typical frame fits without regrowth. */
#define BUF_MIN_CAP 64

void collab_buf_init(struct collab_buf *b, const struct collab_alloc *a,
		     size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : SIZE_MAX;
	b->a = a ? a : collab_alloc_default();
}

int collab_buf_reserve(struct collab_buf *b, size_t n)
{
	size_t want, cap;
	uint8_t *np;

	if (n <= b->cap - b->len)
		return 0;
	if (n > b->max - b->len)
		return COLLAB_ELIMIT;
	want = b->len + n;
	cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	if (cap > b->max)
		cap = b->max;
	np = b->a->alloc(b->a->ctx, cap);
	if (np == NULL)
		return COLLAB_ENOMEM;
	if (b->len)
		memcpy(np, b->p, b->len);
	if (b->p)
		b->a->free(b->a->ctx, b->p, b->cap);
	b->p = np;
	b->cap = cap;
	return 0;
}

int collab_buf_append(struct collab_buf *b, const void *p, size_t n)
{
	int rc = collab_buf_reserve(b, n);
	if (rc != 0)
		return rc;
	if (n) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
	return 0;
}

int collab_buf_append_byte(struct collab_buf *b, uint8_t c)
{
	return collab_buf_append(b, &c, 1);
}

void collab_buf_consume(struct collab_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

void collab_buf_reset(struct collab_buf *b)
{
	b->len = 0;
}

void collab_buf_free(struct collab_buf *b)
{
	if (b->p)
		b->a->free(b->a->ctx, b->p, b->cap);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

struct collab_shbuf *collab_shbuf_new(const struct collab_alloc *a, size_t len)
{
	struct collab_shbuf *s;

	if (a == NULL)
		a = collab_alloc_default();
	if (len > SIZE_MAX - sizeof(*s))
		return NULL;
	s = a->alloc(a->ctx, sizeof(*s) + len);
	if (s == NULL)
		return NULL;
	s->refs = 1;
	s->len = len;
	s->a = a;
	return s;
}

struct collab_shbuf *collab_shbuf_ref(struct collab_shbuf *s)
{
	s->refs++;
	return s;
}

void collab_shbuf_unref(struct collab_shbuf *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	s->a->free(s->a->ctx, s, sizeof(*s) + s->len);
}
