/*
 * room_htab.c - SipHash-2-4 and the open-addressing table of room_htab.h.
 */
#include "room_htab.h"

#include <string.h>

/* ---- SipHash-2-4 ------------------------------------------------------ */

static uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64u - b));
}

static void sipround(struct srv_room_siphash *s)
{
	s->v0 += s->v1; s->v1 = rotl(s->v1, 13); s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3; s->v3 = rotl(s->v3, 16); s->v3 ^= s->v2;
	s->v0 += s->v3; s->v3 = rotl(s->v3, 21); s->v3 ^= s->v0;
	s->v2 += s->v1; s->v1 = rotl(s->v1, 17); s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static void compress(struct srv_room_siphash *s, uint64_t m)
{
	s->v3 ^= m;
	sipround(s);
	sipround(s);
	s->v0 ^= m;
}

void srv_room_siphash_init(struct srv_room_siphash *s,
			   const struct srv_room_sipkey *k)
{
	/* The initialisation constants of the SipHash paper. */
	s->v0 = k->k0 ^ UINT64_C(0x736f6d6570736575);
	s->v1 = k->k1 ^ UINT64_C(0x646f72616e646f6d);
	s->v2 = k->k0 ^ UINT64_C(0x6c7967656e657261);
	s->v3 = k->k1 ^ UINT64_C(0x7465646279746573);
	s->tail = 0;
	s->ntail = 0;
	s->total = 0;
}

void srv_room_siphash_update(struct srv_room_siphash *s, const void *p,
			     size_t len)
{
	const uint8_t *b = p;

	s->total += (uint64_t)len;
	for (size_t i = 0; i < len; i++) {
		s->tail |= (uint64_t)b[i] << (8u * s->ntail);
		if (++s->ntail == 8) {
			compress(s, s->tail);
			s->tail = 0;
			s->ntail = 0;
		}
	}
}

uint64_t srv_room_siphash_final(const struct srv_room_siphash *st)
{
	struct srv_room_siphash s = *st;

	compress(&s, s.tail | (s.total << 56));
	s.v2 ^= 0xff;
	sipround(&s);
	sipround(&s);
	sipround(&s);
	sipround(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t srv_room_siphash(const struct srv_room_sipkey *k, const void *p,
			  size_t len)
{
	struct srv_room_siphash s;

	srv_room_siphash_init(&s, k);
	srv_room_siphash_update(&s, p, len);
	return srv_room_siphash_final(&s);
}

/* ---- table ------------------------------------------------------------ */

void srv_room_htab_init(struct srv_room_htab *t)
{
	t->slots = NULL;
	t->cap = 0;
	t->n = 0;
}

/* Whether n items fit in cap slots at the 3/4 load limit. */
static bool fits(size_t n, size_t cap)
{
	return n <= cap / 4 * 3;
}

static void put_slot(struct srv_room_hslot *slots, size_t cap, uint64_t h,
		     void *p)
{
	size_t mask = cap - 1, i = (size_t)h & mask;

	while (slots[i].p != NULL)
		i = (i + 1) & mask;
	slots[i].h = h;
	slots[i].p = p;
}

int srv_room_htab_reserve(struct srv_room_htab *t, const struct collab_alloc *a,
			  size_t extra)
{
	struct srv_room_hslot *ns;
	size_t want, cap;

	if (extra > SIZE_MAX - t->n)
		return COLLAB_ENOMEM;
	want = t->n + extra;
	if (t->cap != 0 && fits(want, t->cap))
		return 0;
	cap = t->cap ? t->cap : SRV_ROOM_HTAB_MIN_CAP;
	while (!fits(want, cap)) {
		if (cap > SIZE_MAX / 2 / sizeof(*ns))
			return COLLAB_ENOMEM;
		cap *= 2;
	}
	ns = a->alloc(a->ctx, cap * sizeof(*ns));
	if (ns == NULL)
		return COLLAB_ENOMEM;
	memset(ns, 0, cap * sizeof(*ns));
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].p != NULL)
			put_slot(ns, cap, t->slots[i].h, t->slots[i].p);
	if (t->slots != NULL)
		a->free(a->ctx, t->slots, t->cap * sizeof(*ns));
	t->slots = ns;
	t->cap = cap;
	return 0;
}

void srv_room_htab_put(struct srv_room_htab *t, uint64_t h, void *p)
{
	/* reserve() guaranteed n < cap: a free slot exists, so this ends */
	put_slot(t->slots, t->cap, h, p);
	t->n++;
}

bool srv_room_htab_del(struct srv_room_htab *t, uint64_t h, const void *p)
{
	size_t mask, i, j, k;

	if (t->cap == 0)
		return false;
	mask = t->cap - 1;
	for (i = (size_t)h & mask; t->slots[i].p != p; i = (i + 1) & mask)
		if (t->slots[i].p == NULL)
			return false;
	/*
	 * Backward shift: pull later members of the probe run into the hole
	 * unless their home slot lies cyclically in (i, j], where they must
	 * stay to remain reachable from it.
	 */
	for (j = i;;) {
		j = (j + 1) & mask;
		if (t->slots[j].p == NULL)
			break;
		k = (size_t)t->slots[j].h & mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	t->slots[i].p = NULL;
	t->slots[i].h = 0;
	t->n--;
	return true;
}

void *srv_room_htab_probe(const struct srv_room_htab *t, uint64_t h,
			  size_t *it)
{
	size_t mask, i;

	if (t->cap == 0)
		return NULL;
	mask = t->cap - 1;
	i = *it == SIZE_MAX ? (size_t)h & mask : (*it + 1) & mask;
	for (; t->slots[i].p != NULL; i = (i + 1) & mask) {
		if (t->slots[i].h == h) {
			*it = i;
			return t->slots[i].p;
		}
	}
	return NULL;
}

void *srv_room_htab_next(const struct srv_room_htab *t, size_t *it)
{
	while (*it < t->cap) {
		void *p = t->slots[(*it)++].p;
		if (p != NULL)
			return p;
	}
	return NULL;
}

void srv_room_htab_free(struct srv_room_htab *t, const struct collab_alloc *a)
{
	if (t->slots != NULL)
		a->free(a->ctx, t->slots, t->cap * sizeof(*t->slots));
	srv_room_htab_init(t);
}
