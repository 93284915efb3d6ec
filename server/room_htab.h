/*
 * room_htab.h - the keyed hash and the hash table behind the server's room
 * registry and room state (rooms, tombstones, chats, comments, retained
 * events' broadcastIds, per-room user counts).
 *
 * HASH. SipHash-2-4 (Aumasson and Bernstein, 2012) under a 128-bit key
 * drawn once per registry from the process's CSPRNG (collab/rand.h). Every
 * key hashed here comes from clients (tenant and page ids, chat, comment
 * and broadcast ids, user ids), so an unkeyed hash would let a client
 * choose ids that all land in one bucket and turn each lookup into a scan
 * of the room; a secret key makes collisions unpredictable.
 *
 * TABLE. Open addressing with linear probing over a power-of-two array of
 * (hash, pointer) slots, at most 3/4 full, with backward-shift deletion (no
 * tombstone slots, so lookups never slow down with churn). The table stores
 * pointers to the caller's items and the items' full 64-bit hashes; it
 * never compares keys itself: a lookup walks the slots whose hash is equal
 * and the caller compares the item's key (see srv_room_htab_probe).
 * Removal is by pointer identity, so two items with equal keys may coexist
 * and each is removed exactly.
 *
 * ALLOCATION DISCIPLINE. Only srv_room_htab_reserve() allocates; put and
 * del never do and cannot fail once room was reserved. The table never
 * shrinks. This is what makes the per-turn undo log safe: re-inserting an
 * item removed earlier in the turn brings the count back to a value the
 * table already held, so it needs no allocation and cannot fail.
 *
 * Thread rules: none; a table belongs to one thread.
 */
#ifndef SRV_ROOM_HTAB_H
#define SRV_ROOM_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"

/* ---- SipHash-2-4 ------------------------------------------------------ */

struct srv_room_sipkey {
	uint64_t k0, k1;
};

/* Incremental state: feed any split of the input, same result. */
struct srv_room_siphash {
	uint64_t v0, v1, v2, v3;
	uint64_t tail;      /* up to 7 pending bytes, little-endian */
	size_t ntail;
	uint64_t total;     /* bytes fed, mod 2^64 (only the low 8 bits count) */
};

void srv_room_siphash_init(struct srv_room_siphash *s,
			   const struct srv_room_sipkey *k);
/* p may be NULL only when len is 0. */
void srv_room_siphash_update(struct srv_room_siphash *s, const void *p,
			     size_t len);
uint64_t srv_room_siphash_final(const struct srv_room_siphash *s);

/* One-shot SipHash-2-4 of p[0..len). */
uint64_t srv_room_siphash(const struct srv_room_sipkey *k, const void *p,
			  size_t len);

/* ---- table ------------------------------------------------------------ */

struct srv_room_hslot {
	uint64_t h;
	void *p;            /* NULL: empty slot */
};

/* Zero-initialised (or srv_room_htab_init) means empty, nothing
 * allocated. */
struct srv_room_htab {
	struct srv_room_hslot *slots;
	size_t cap;         /* 0 or a power of two */
	size_t n;           /* items stored */
};

/* Smallest array allocated. */
#define SRV_ROOM_HTAB_MIN_CAP ((size_t)8)

void srv_room_htab_init(struct srv_room_htab *t);

/* Makes sure extra more items can be put without growing (at most 3/4
 * full). Returns 0, or COLLAB_ENOMEM (also for sizes that would overflow)
 * with t unchanged. */
int srv_room_htab_reserve(struct srv_room_htab *t, const struct collab_alloc *a,
			  size_t extra);

/* Stores item p (non-NULL) with hash h. Room for it MUST have been
 * reserved (n < cap is what is relied on); cannot fail. */
void srv_room_htab_put(struct srv_room_htab *t, uint64_t h, void *p);

/* Removes the slot holding exactly p (stored with hash h). Returns true
 * when it was found. Never allocates. */
bool srv_room_htab_del(struct srv_room_htab *t, uint64_t h, const void *p);

/*
 * Walks the items stored with hash h: start with *it = SIZE_MAX, call
 * until NULL; the caller compares each candidate's key. The table MUST
 * NOT change during the walk.
 *
 *     size_t it = SIZE_MAX;
 *     for (x = srv_room_htab_probe(t, h, &it); x; x = srv_room_htab_probe(t, h, &it))
 *             if (key_of(x) == key) return x;
 */
void *srv_room_htab_probe(const struct srv_room_htab *t, uint64_t h,
			  size_t *it);

/* Iterates every item, in no particular order: start with *it = 0; NULL
 * at the end. The table MUST NOT change during the walk. */
void *srv_room_htab_next(const struct srv_room_htab *t, size_t *it);

/* Frees the slot array (not the items); t is empty and reusable. */
void srv_room_htab_free(struct srv_room_htab *t, const struct collab_alloc *a);

#endif
