/*
 * room.c - the room registry, tombstones, subscribers and user counts, and
 * the ring of recent events. See room.h (room_state.c reads records).
 */
#include "room.h"

#include <stdio.h>
#include <string.h>

void srv_room_config_init(struct srv_room_config *cfg)
{
	cfg->ring_size = SRV_ROOM_DEFAULT_RING_SIZE;
}

static int fail(char *msg, size_t msgcap, int rc, const char *what)
{
	if (msg != NULL && msgcap > 0)
		(void)snprintf(msg, msgcap, "%s", what);
	return rc;
}

/* ---- registry ----------------------------------------------------------- */

int srv_room_registry_init(struct srv_room_registry *reg,
			   const struct collab_alloc *a,
			   const struct srv_room_config *cfg,
			   struct collab_rng *rng)
{
	uint8_t k[16];
	int rc;

	if (reg == NULL || rng == NULL || (cfg != NULL && cfg->ring_size == 0))
		return COLLAB_EINVAL;
	memset(reg, 0, sizeof(*reg));
	rc = collab_rng_bytes(rng, k, sizeof(k));
	if (rc != 0)
		return rc;
	for (unsigned i = 0; i < 8; i++) {
		reg->key.k0 |= (uint64_t)k[i] << (8 * i);
		reg->key.k1 |= (uint64_t)k[8 + i] << (8 * i);
	}
	memset(k, 0, sizeof(k));
	reg->a = a ? a : collab_alloc_default();
	if (cfg != NULL)
		reg->cfg = *cfg;
	else
		srv_room_config_init(&reg->cfg);
	srv_room_htab_init(&reg->rooms);
	srv_room_htab_init(&reg->tombs);
	collab_buf_init(&reg->scratch, reg->a, 0);
	return 0;
}

static uint64_t key_hash(const struct srv_room_registry *reg,
			 const char *tenant, size_t tenant_len,
			 const uint8_t *url, size_t url_len)
{
	struct srv_room_siphash s;
	uint8_t lenb[8];

	/* the tenant's length first, so (t, u) never collides with a
	 * different split of the same bytes */
	for (unsigned i = 0; i < 8; i++)
		lenb[i] = (uint8_t)((uint64_t)tenant_len >> (8 * i));
	srv_room_siphash_init(&s, &reg->key);
	srv_room_siphash_update(&s, lenb, sizeof(lenb));
	srv_room_siphash_update(&s, tenant, tenant_len);
	srv_room_siphash_update(&s, url, url_len);
	return srv_room_siphash_final(&s);
}

static bool key_eq(const char *key, size_t klen_t, size_t klen_u,
		   const char *tenant, size_t tenant_len, const uint8_t *url,
		   size_t url_len)
{
	return klen_t == tenant_len && klen_u == url_len &&
	       memcmp(key, tenant, tenant_len) == 0 &&
	       (url_len == 0 || memcmp(key + tenant_len, url, url_len) == 0);
}

static size_t room_size(const struct srv_room *r)
{
	return sizeof(*r) + r->tenant_len + r->url_len;
}

static size_t tomb_size(const struct srv_room_tomb *t)
{
	return sizeof(*t) + t->tenant_len + t->url_len;
}

static struct srv_room_tomb *tomb_find(const struct srv_room_registry *reg,
				       uint64_t h, const char *tenant,
				       size_t tenant_len, const uint8_t *url,
				       size_t url_len)
{
	size_t it = SIZE_MAX;
	struct srv_room_tomb *t;

	while ((t = srv_room_htab_probe(&reg->tombs, h, &it)) != NULL)
		if (key_eq(t->key, t->tenant_len, t->url_len, tenant,
			   tenant_len, url, url_len))
			return t;
	return NULL;
}

static struct srv_room *room_find(const struct srv_room_registry *reg,
				  uint64_t h, const char *tenant,
				  size_t tenant_len, const uint8_t *url,
				  size_t url_len)
{
	size_t it = SIZE_MAX;
	struct srv_room *r;

	while ((r = srv_room_htab_probe(&reg->rooms, h, &it)) != NULL)
		if (key_eq(r->key, r->tenant_len, r->url_len, tenant,
			   tenant_len, url, url_len))
			return r;
	return NULL;
}

/* Everything a room holds, then the room. */
static void room_free(struct srv_room_registry *reg, struct srv_room *r)
{
	const struct collab_alloc *a = reg->a;
	struct srv_room_user *u;
	size_t it = 0;

	srv_chat_store_free(&r->chats);
	for (size_t i = 0; i < r->ring_n; i++)
		srv_room_event_free(r, r->ring[(r->ring_start + i) %
					      r->ring_cap]);
	if (r->ring != NULL)
		a->free(a->ctx, r->ring, r->ring_cap * sizeof(struct srv_room_event *));
	srv_room_htab_free(&r->bids, a);
	while ((u = srv_room_htab_next(&r->users, &it)) != NULL)
		a->free(a->ctx, u, sizeof(*u) + u->id_len);
	srv_room_htab_free(&r->users, a);
	if (r->subs != NULL)
		a->free(a->ctx, r->subs, r->cap_subs * sizeof(*r->subs));
	a->free(a->ctx, r, room_size(r));
}

void srv_room_registry_free(struct srv_room_registry *reg)
{
	struct srv_room *r;
	struct srv_room_tomb *t;
	size_t it = 0;

	while ((r = srv_room_htab_next(&reg->rooms, &it)) != NULL)
		room_free(reg, r);
	srv_room_htab_free(&reg->rooms, reg->a);
	it = 0;
	while ((t = srv_room_htab_next(&reg->tombs, &it)) != NULL)
		reg->a->free(reg->a->ctx, t, tomb_size(t));
	srv_room_htab_free(&reg->tombs, reg->a);
	reg->idle = NULL;
	srv_room_registry_trim(reg);
}

void srv_room_registry_trim(struct srv_room_registry *reg)
{
	collab_buf_free(&reg->scratch);
	if (reg->nodes != NULL)
		reg->a->free(reg->a->ctx, reg->nodes,
			     reg->nodes_cap * sizeof(*reg->nodes));
	reg->nodes = NULL;
	reg->nodes_cap = 0;
}

size_t srv_room_registry_count(const struct srv_room_registry *reg)
{
	return reg->rooms.n;
}

size_t srv_room_registry_tombstones(const struct srv_room_registry *reg)
{
	return reg->tombs.n;
}

/* Records (or raises) the tombstone of a key. 0 or COLLAB_ENOMEM. */
static int tomb_put(struct srv_room_registry *reg, uint64_t h,
		    const char *tenant, size_t tenant_len, const uint8_t *url,
		    size_t url_len, uint64_t seq)
{
	struct srv_room_tomb *t = tomb_find(reg, h, tenant, tenant_len, url,
					    url_len);
	size_t size;

	if (t != NULL) {
		if (seq > t->seq)
			t->seq = seq;
		return 0;
	}
	if (tenant_len > SIZE_MAX - sizeof(*t) ||
	    url_len > SIZE_MAX - sizeof(*t) - tenant_len)
		return COLLAB_ENOMEM;
	size = sizeof(*t) + tenant_len + url_len;
	if (srv_room_htab_reserve(&reg->tombs, reg->a, 1) != 0)
		return COLLAB_ENOMEM;
	t = reg->a->alloc(reg->a->ctx, size);
	if (t == NULL)
		return COLLAB_ENOMEM;
	t->hash = h;
	t->seq = seq;
	t->tenant_len = tenant_len;
	t->url_len = url_len;
	memcpy(t->key, tenant, tenant_len);
	if (url_len)
		memcpy(t->key + tenant_len, url, url_len);
	srv_room_htab_put(&reg->tombs, h, t);
	return 0;
}

/* Frees an idle, unpinned room, leaving its tombstone. false (room kept)
 * when the tombstone cannot be allocated. */
static bool room_retire(struct srv_room_registry *reg, struct srv_room *r)
{
	/* PROTOCOL.md 8: seq never goes back, even for a freed room */
	if (r->seq > 0 &&
	    tomb_put(reg, r->hash, r->key, r->tenant_len,
		     (const uint8_t *)r->key + r->tenant_len, r->url_len,
		     r->seq) != 0)
		return false;
	srv_room_htab_del(&reg->rooms, r->hash, r);
	room_free(reg, r);
	return true;
}

size_t srv_room_registry_collect(struct srv_room_registry *reg)
{
	struct srv_room *r = reg->idle, *next, *keep = NULL;
	size_t freed = 0;

	reg->idle = NULL;
	for (; r != NULL; r = next) {
		next = r->next_idle;
		r->next_idle = NULL;
		r->queued = false;
		if (!srv_room_is_idle(r))
			continue;
		if (r->pins == 0 && room_retire(reg, r)) {
			freed++;
			continue;
		}
		/* pinned, or no memory for its tombstone: try next time */
		r->queued = true;
		r->next_idle = keep;
		keep = r;
	}
	reg->idle = keep;
	return freed;
}

int srv_room_get(struct srv_room_registry *reg, const char *tenant,
		 size_t tenant_len, const uint8_t *url, size_t url_len,
		 struct srv_room **out)
{
	uint64_t h;
	struct srv_room *r;
	struct srv_room_tomb *t;
	size_t size;

	if (tenant == NULL || tenant_len == 0 || url == NULL || url_len == 0)
		return COLLAB_EINVAL;
	h = key_hash(reg, tenant, tenant_len, url, url_len);
	r = room_find(reg, h, tenant, tenant_len, url, url_len);
	if (r != NULL) {
		*out = r;
		return 0;
	}
	if (tenant_len > SIZE_MAX - sizeof(*r) ||
	    url_len > SIZE_MAX - sizeof(*r) - tenant_len)
		return COLLAB_ENOMEM;
	size = sizeof(*r) + tenant_len + url_len;
	if (srv_room_htab_reserve(&reg->rooms, reg->a, 1) != 0)
		return COLLAB_ENOMEM;
	r = reg->a->alloc(reg->a->ctx, size);
	if (r == NULL)
		return COLLAB_ENOMEM;
	memset(r, 0, sizeof(*r));
	r->reg = reg;
	r->hash = h;
	r->tenant_len = tenant_len;
	r->url_len = url_len;
	memcpy(r->key, tenant, tenant_len);
	memcpy(r->key + tenant_len, url, url_len);
	srv_chat_store_init(&r->chats, reg->a, &reg->key);
	srv_room_htab_init(&r->bids);
	srv_room_htab_init(&r->users);
	t = tomb_find(reg, h, tenant, tenant_len, url, url_len);
	if (t != NULL) {
		/* the live room carries the seq from now on */
		r->seq = t->seq;
		srv_room_htab_del(&reg->tombs, t->hash, t);
		reg->a->free(reg->a->ctx, t, tomb_size(t));
	}
	srv_room_htab_put(&reg->rooms, h, r);
	*out = r;
	return 0;
}

struct srv_room *srv_room_find(const struct srv_room_registry *reg,
			       const char *tenant, size_t tenant_len,
			       const uint8_t *url, size_t url_len)
{
	if (tenant == NULL || url == NULL)
		return NULL;
	return room_find(reg, key_hash(reg, tenant, tenant_len, url, url_len),
			 tenant, tenant_len, url, url_len);
}

struct collab_str srv_room_tenant(const struct srv_room *room)
{
	struct collab_str s = { room->key, room->tenant_len };
	return s;
}

struct collab_str srv_room_url(const struct srv_room *room)
{
	struct collab_str s = { room->key + room->tenant_len, room->url_len };
	return s;
}

struct srv_room *srv_room_next(const struct srv_room_registry *reg,
			       size_t *it)
{
	return srv_room_htab_next(&reg->rooms, it);
}

const struct srv_room_tomb *srv_room_tomb_next(
	const struct srv_room_registry *reg, size_t *it)
{
	return srv_room_htab_next(&reg->tombs, it);
}

int srv_room_tomb_set(struct srv_room_registry *reg, const char *tenant,
		      size_t tenant_len, const uint8_t *url, size_t url_len,
		      uint64_t seq)
{
	uint64_t h;

	if (tenant == NULL || tenant_len == 0 || url == NULL || url_len == 0)
		return COLLAB_EINVAL;
	h = key_hash(reg, tenant, tenant_len, url, url_len);
	if (room_find(reg, h, tenant, tenant_len, url, url_len) != NULL)
		return COLLAB_EEXIST;
	return tomb_put(reg, h, tenant, tenant_len, url, url_len, seq);
}

/* ---- subscribers and user count ----------------------------------------- */

static struct srv_room_user *user_find(const struct srv_room *room,
				       uint64_t h, struct collab_str id)
{
	size_t it = SIZE_MAX;
	struct srv_room_user *u;

	while ((u = srv_room_htab_probe(&room->users, h, &it)) != NULL)
		if (u->id_len == id.len && memcmp(u->id, id.p, id.len) == 0)
			return u;
	return NULL;
}

static int subs_reserve(struct srv_room *room)
{
	const struct collab_alloc *a = room->reg->a;
	struct srv_room_sub *ns;
	size_t cap;

	if (room->n_subs < room->cap_subs)
		return 0;
	cap = room->cap_subs ? room->cap_subs : SRV_ROOM_SUBS_MIN_CAP / 2;
	if (cap > SIZE_MAX / 2 / sizeof(*ns))
		return COLLAB_ENOMEM;
	cap *= 2;
	ns = a->alloc(a->ctx, cap * sizeof(*ns));
	if (ns == NULL)
		return COLLAB_ENOMEM;
	if (room->n_subs)
		memcpy(ns, room->subs, room->n_subs * sizeof(*ns));
	if (room->subs != NULL)
		a->free(a->ctx, room->subs, room->cap_subs * sizeof(*ns));
	room->subs = ns;
	room->cap_subs = cap;
	return 0;
}

int srv_room_join(struct srv_room *room, uint64_t handle,
		  const struct collab_str *user_id, size_t *idx)
{
	const struct collab_alloc *a = room->reg->a;
	struct srv_room_user *u = NULL;
	uint64_t h = 0;
	int rc = subs_reserve(room);

	if (rc != 0)
		return rc;
	if (user_id != NULL) {
		h = srv_room_siphash(&room->reg->key, user_id->p, user_id->len);
		u = user_find(room, h, *user_id);
		if (u == NULL) {
			if (user_id->len > SIZE_MAX - sizeof(*u) ||
			    srv_room_htab_reserve(&room->users, a, 1) != 0)
				return COLLAB_ENOMEM;
			u = a->alloc(a->ctx, sizeof(*u) + user_id->len);
			if (u == NULL)
				return COLLAB_ENOMEM;
			u->hash = h;
			u->conns = 0;
			u->id_len = user_id->len;
			if (user_id->len)
				memcpy(u->id, user_id->p, user_id->len);
			srv_room_htab_put(&room->users, h, u);
		}
		u->conns++;
	} else {
		room->n_anon++;
	}
	room->subs[room->n_subs].handle = handle;
	room->subs[room->n_subs].user = u;
	*idx = room->n_subs++;
	return 0;
}

bool srv_room_leave(struct srv_room *room, size_t idx, uint64_t *moved)
{
	struct srv_room_user *u;
	size_t last;

	if (idx >= room->n_subs)
		return false;
	u = room->subs[idx].user;
	if (u == NULL) {
		room->n_anon--;
	} else if (--u->conns == 0) {
		srv_room_htab_del(&room->users, u->hash, u);
		room->reg->a->free(room->reg->a->ctx, u,
				   sizeof(*u) + u->id_len);
	}
	last = --room->n_subs;
	srv_room_check_idle(room);
	if (idx == last)
		return false;
	room->subs[idx] = room->subs[last];
	if (moved != NULL)
		*moved = room->subs[idx].handle;
	return true;
}

size_t srv_room_count(const struct srv_room *room)
{
	/* PROTOCOL.md 5: a user counts once however many tabs it has; each
	 * anonymous connection counts once */
	return room->users.n + room->n_anon;
}

bool srv_room_is_idle(const struct srv_room *room)
{
	return room->n_subs == 0 && room->chats.n_chats == 0;
}

void srv_room_check_idle(struct srv_room *room)
{
	if (room->queued || !srv_room_is_idle(room))
		return;
	room->queued = true;
	room->next_idle = room->reg->idle;
	room->reg->idle = room;
}

/* ---- the ring ------------------------------------------------------------ */

/* An event block with room for a user id of ulen bytes (left for the
 * caller to fill) and a copy of msg[0..len) in a new shared buffer. */
static int event_block(struct srv_room *room, uint64_t seq, const char *bid,
		       size_t ulen, const uint8_t *msg, size_t len,
		       struct srv_room_event **out)
{
	const struct collab_alloc *a = room->reg->a;
	struct srv_room_event *ev;

	if (ulen > SIZE_MAX - sizeof(*ev))
		return COLLAB_ENOMEM;
	ev = a->alloc(a->ctx, sizeof(*ev) + ulen);
	if (ev == NULL)
		return COLLAB_ENOMEM;
	ev->msg = collab_shbuf_new(a, len);
	if (ev->msg == NULL) {
		a->free(a->ctx, ev, sizeof(*ev) + ulen);
		return COLLAB_ENOMEM;
	}
	if (len)
		memcpy(ev->msg->data, msg, len);
	ev->seq = seq;
	memcpy(ev->broadcast_id, bid, SRV_CHAT_ID_LEN);
	ev->hash = srv_room_siphash(&room->reg->key, bid, SRV_CHAT_ID_LEN);
	ev->uncommitted = false;
	ev->user_id_len = ulen;
	*out = ev;
	return 0;
}

int srv_room_event_new(struct srv_room *room, uint64_t seq, const char *bid,
		       struct collab_str user_id, const uint8_t *msg,
		       size_t len, struct srv_room_event **out)
{
	int rc = event_block(room, seq, bid, user_id.len, msg, len, out);

	if (rc == 0 && user_id.len)
		memcpy((*out)->user_id, user_id.p, user_id.len);
	return rc;
}

void srv_room_event_free(struct srv_room *room, struct srv_room_event *ev)
{
	if (ev == NULL)
		return;
	collab_shbuf_unref(ev->msg);
	room->reg->a->free(room->reg->a->ctx, ev,
			   sizeof(*ev) + ev->user_id_len);
}

static const struct srv_room_event *ring_at(const struct srv_room *room,
					    size_t i)
{
	return room->ring[(room->ring_start + i) % room->ring_cap];
}

/* Slots for one more push (capacity only). */
static int ring_room(struct srv_room *room)
{
	const struct collab_alloc *a = room->reg->a;
	size_t max = room->reg->cfg.ring_size, cap;
	struct srv_room_event **nr;

	if (srv_room_htab_reserve(&room->bids, a, 1) != 0)
		return COLLAB_ENOMEM;
	if (room->ring_n < room->ring_cap || room->ring_cap >= max)
		return 0;
	/* grow towards ring_size, so a quiet room stays small */
	cap = room->ring_cap ? room->ring_cap : SRV_ROOM_RING_MIN_CAP / 2;
	cap = cap > max / 2 ? max : cap * 2;
	if (cap > SIZE_MAX / sizeof(struct srv_room_event *))
		return COLLAB_ENOMEM;
	nr = a->alloc(a->ctx, cap * sizeof(struct srv_room_event *));
	if (nr == NULL)
		return COLLAB_ENOMEM;
	if (room->ring != NULL) {
		/* the old ring is full (ring_n == ring_cap): unroll it,
		 * oldest first */
		size_t head = room->ring_cap - room->ring_start;
		memcpy(nr, room->ring + room->ring_start,
		       head * sizeof(struct srv_room_event *));
		memcpy(nr + head, room->ring,
		       room->ring_start * sizeof(struct srv_room_event *));
		a->free(a->ctx, room->ring,
			room->ring_cap * sizeof(struct srv_room_event *));
	}
	room->ring = nr;
	room->ring_cap = cap;
	room->ring_start = 0;
	return 0;
}

int srv_room_ring_reserve(struct srv_room *room)
{
	/* Retained events that do not end at the room's seq (left by a
	 * recovery whose ring_restore stopped short) could never be replayed,
	 * and the next event would break the ring's run of seqs: drop them. */
	if (room->ring_n > 0 &&
	    ring_at(room, room->ring_n - 1)->seq != room->seq) {
		while (room->ring_n > 0) {
			struct srv_room_event *ev = room->ring[room->ring_start];
			srv_room_htab_del(&room->bids, ev->hash, ev);
			srv_room_event_free(room, ev);
			room->ring[room->ring_start] = NULL;
			room->ring_start = (room->ring_start + 1) %
					   room->ring_cap;
			room->ring_n--;
		}
		room->ring_start = 0;
	}
	return ring_room(room);
}

void srv_room_ring_push(struct srv_room *room, struct srv_room_event *ev,
			struct srv_room_event **evicted)
{
	struct srv_room_event *old = NULL;

	if (room->ring_n == room->ring_cap) {
		/* full at ring_size: the oldest leaves */
		old = room->ring[room->ring_start];
		srv_room_htab_del(&room->bids, old->hash, old);
		room->ring[room->ring_start] = ev;
		room->ring_start = (room->ring_start + 1) % room->ring_cap;
	} else {
		room->ring[(room->ring_start + room->ring_n) % room->ring_cap] =
			ev;
		room->ring_n++;
	}
	srv_room_htab_put(&room->bids, ev->hash, ev);
	*evicted = old;
}

void srv_room_ring_unpush(struct srv_room *room, struct srv_room_event *ev,
			  struct srv_room_event *evicted)
{
	srv_room_htab_del(&room->bids, ev->hash, ev);
	if (evicted != NULL) {
		room->ring_start = (room->ring_start + room->ring_cap - 1) %
				   room->ring_cap;
		room->ring[room->ring_start] = evicted;
		srv_room_htab_put(&room->bids, evicted->hash, evicted);
	} else {
		room->ring_n--;
		room->ring[(room->ring_start + room->ring_n) % room->ring_cap] =
			NULL;
	}
}

const struct srv_room_event *srv_room_event_find(const struct srv_room *room,
						 const char *bid)
{
	uint64_t h = srv_room_siphash(&room->reg->key, bid, SRV_CHAT_ID_LEN);
	size_t it = SIZE_MAX;
	const struct srv_room_event *ev;

	while ((ev = srv_room_htab_probe(&room->bids, h, &it)) != NULL)
		if (memcmp(ev->broadcast_id, bid, SRV_CHAT_ID_LEN) == 0)
			return ev;
	return NULL;
}

const struct srv_room_event *srv_room_event_at(const struct srv_room *room,
					       uint64_t seq)
{
	uint64_t first;

	if (room->ring_n == 0)
		return NULL;
	first = ring_at(room, 0)->seq;
	if (seq < first || seq - first >= room->ring_n)
		return NULL;
	return ring_at(room, (size_t)(seq - first));
}

enum srv_room_resync srv_room_events_since(const struct srv_room *room,
					   uint64_t since, uint64_t *n)
{
	uint64_t first, last;

	*n = 0;
	/* PROTOCOL.md 3: a since greater than the room's seq: snapshot */
	if (since > room->seq)
		return SRV_ROOM_SNAPSHOT;
	if (since == room->seq)
		return SRV_ROOM_REPLAY;
	if (room->ring_n == 0)
		return SRV_ROOM_SNAPSHOT;
	first = ring_at(room, 0)->seq;
	last = ring_at(room, room->ring_n - 1)->seq;
	/* replay only when every event after since is still held */
	if (last != room->seq || since < first - 1)
		return SRV_ROOM_SNAPSHOT;
	*n = room->seq - since;
	return SRV_ROOM_REPLAY;
}

/* ---- stored records -------------------------------------------------------- */

int srv_room_event_from_doc(struct srv_room *room,
			    const struct collab_json_doc *d,
			    const struct srv_room_event_head *h,
			    struct srv_room_event **out)
{
	size_t ulen = d->nodes[h->user_id].dlen, got = 0;
	int rc = event_block(room, h->seq, h->broadcast_id, ulen, d->in,
			     d->in_len, out);

	if (rc == 0)
		collab_json_str(d, h->user_id, (uint8_t *)(*out)->user_id,
				ulen, &got);
	return rc;
}

int srv_room_ring_restore(struct srv_room *room, const uint8_t *p, size_t len,
			  char *msg, size_t msgcap)
{
	struct collab_json_doc d;
	struct srv_room_event_head h;
	struct srv_room_event *ev, *evicted;
	const struct srv_room_event *last;
	int rc;

	rc = srv_room_parse_record(room->reg, p, len, &d, msg, msgcap);
	if (rc == 0)
		rc = srv_room_event_head(&d, &h, msg, msgcap);
	if (rc != 0)
		return rc;
	last = room->ring_n ? ring_at(room, room->ring_n - 1) : NULL;
	/* the ring holds consecutive seqs, none beyond the room's */
	if (h.seq > room->seq || (last != NULL && h.seq != last->seq + 1))
		return fail(msg, msgcap, COLLAB_ECORRUPT,
			    "retained event out of sequence");
	rc = ring_room(room);
	if (rc == 0)
		rc = srv_room_event_from_doc(room, &d, &h, &ev);
	if (rc != 0)
		return rc;
	srv_room_ring_push(room, ev, &evicted);
	srv_room_event_free(room, evicted);
	return 0;
}
