/*
 * fuzz_room.c - the server's room state under arbitrary input: journal
 * records (events, snapshot records, retained events) and client
 * operations from several users in turns that are committed or rolled
 * back. The input is lines; the first byte of each says what the rest is:
 *
 *   E<event JSON>     srv_ops_apply_event (after committing the open turn)
 *   S<snapshot JSON>  srv_room_load_state (idem)
 *   R<event JSON>     srv_room_ring_restore (idem)
 *   O|P|M|A<op JSON>  a client op from u1, u2, a moderator, anonymous,
 *                     applied in the open turn
 *   C / B             commit / roll back the open turn
 *   J / L             a connection joins (user u<next byte>) / leaves
 *
 * Checked after every line: the store's indexes agree with its lists, the
 * ring's seqs are consecutive and end at the room's seq, and a rolled-back
 * turn leaves the room's encoded state exactly as before the turn.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/proto.h"
#include "ops.h"
#include "room.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

struct cap {
	uint8_t *p;
	size_t len;
};

static int cap_emit(void *ctx, const uint8_t *p, size_t len)
{
	struct cap *c = ctx;
	uint8_t *n = realloc(c->p, c->len + len + 1);

	CHECK(n != NULL);
	memcpy(n + c->len, p, len);
	c->p = n;
	c->len += len;
	c->p[c->len++] = '\n';
	return 0;
}

static struct cap capture(const struct srv_room *r, struct collab_buf *b)
{
	struct cap c = { NULL, 0 };

	CHECK(srv_room_encode_state(r, NULL, b, cap_emit, &c) == 0);
	for (size_t i = 0; i < r->ring_n; i++) {
		const struct srv_room_event *ev =
			r->ring[(r->ring_start + i) % r->ring_cap];
		cap_emit(&c, ev->msg->data, ev->msg->len);
	}
	cap_emit(&c, (const uint8_t *)&r->seq, sizeof(r->seq));
	return c;
}

static void invariants(const struct srv_room *r)
{
	const struct srv_chat_store *st = &r->chats;
	size_t chats = 0, comments = 0;

	for (const struct srv_chat *c = st->head; c != NULL; c = c->next) {
		CHECK(c->next == NULL || c->next->prev == c);
		CHECK(srv_chat_find(st, c->id) == c);
		for (size_t i = 0; i < c->n_comments; i++) {
			CHECK(c->comments[i]->chat == c);
			CHECK(srv_chat_comment_find(st, c, c->comments[i]->id) ==
			      c->comments[i]);
		}
		comments += c->n_comments;
		chats++;
	}
	CHECK(chats == st->n_chats && chats == st->chats.n);
	CHECK(comments == st->comments.n);
	CHECK(r->bids.n == r->ring_n);
	for (size_t i = 0; i < r->ring_n; i++) {
		const struct srv_room_event *ev =
			r->ring[(r->ring_start + i) % r->ring_cap];
		CHECK(srv_room_event_at(r, ev->seq) == ev);
		CHECK(ev->seq <= r->seq);
	}
}

static const struct srv_ops_user users[] = {
	{ { "u1", 2 }, { "Ann", 3 }, false, false },
	{ { "u2", 2 }, { "Bo", 2 }, false, false },
	{ { "m1", 2 }, { "Mo", 2 }, true, false },
	{ { NULL, 0 }, { NULL, 0 }, false, true },
};

static struct collab_json_node nodes[COLLAB_JSON_NODES_FOR(80 * 1024)];
static uint8_t scratch[80 * 1024];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct collab_proto_mem mem = { nodes, sizeof(nodes) / sizeof(nodes[0]),
					scratch, sizeof(scratch) };
	struct srv_room_registry reg;
	struct srv_room_config cfg;
	struct srv_ops_limits lim;
	struct srv_ops_turn turn;
	struct collab_rng rng;
	struct collab_buf b;
	struct srv_room *r;
	struct cap before = { NULL, 0 };
	bool gapped = false;
	size_t idx[16], n_idx = 0;
	uint64_t now = 1000;

	CHECK(collab_rng_init_seed(&rng, "fuzz", 4) == 0);
	srv_room_config_init(&cfg);
	cfg.ring_size = 8;
	CHECK(srv_room_registry_init(&reg, NULL, &cfg, &rng) == 0);
	srv_ops_limits_init(&lim);
	lim.max_chats_per_room = 6;
	lim.max_comments_per_chat = 4;
	srv_ops_turn_init(&turn, NULL);
	collab_buf_init(&b, NULL, 0);
	CHECK(srv_room_get(&reg, "t", 1, (const uint8_t *)"p", 1, &r) == 0);
	/* keep the room alive: one subscriber throughout */
	CHECK(srv_room_join(r, 0, NULL, &idx[n_idx++]) == 0);

	while (size > 0) {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t len = nl ? (size_t)(nl - data) : size;
		const uint8_t *body = data + 1;
		size_t blen = len ? len - 1 : 0;
		struct srv_ops_result res;
		struct collab_proto_op op;
		char m[SRV_ROOM_MSG_CAP];
		uint64_t moved;

		if (len > 0) {
			uint8_t c = data[0];
			if (c == 'E' || c == 'S' || c == 'R') {
				srv_ops_turn_commit(&turn);
				if (c == 'E')
					(void)srv_ops_apply_event(NULL, r, body,
								  blen, &res);
				else if (c == 'S')
					(void)srv_room_load_state(r, body, blen, m,
								  sizeof(m));
				else
					(void)srv_room_ring_restore(r, body, blen,
								    m, sizeof(m));
			} else if (c == 'O' || c == 'P' || c == 'M' || c == 'A') {
				const struct srv_ops_user *u =
					&users[c == 'O' ? 0 : c == 'P' ? 1 :
					       c == 'M' ? 2 : 3];
				if (srv_ops_turn_size(&turn) == 0) {
					free(before.p);
					before = capture(r, &b);
					/* a ring left short by ring_restore is
					 * dropped by the next event, for good */
					gapped = r->ring_n > 0 &&
						 r->ring[(r->ring_start + r->ring_n - 1) %
							 r->ring_cap]->seq != r->seq;
				}
				if (collab_proto_parse_op(NULL, &mem, body, blen,
							  &op) == 0) {
					CHECK(srv_ops_apply(&turn, r, &lim, u, &op,
							    now++, &res) == 0);
					CHECK(res.outcome != SRV_OPS_APPLIED ||
					      res.seq == r->seq);
					srv_ops_result_release(&res);
				}
			} else if (c == 'C') {
				srv_ops_turn_commit(&turn);
			} else if (c == 'B') {
				if (srv_ops_turn_size(&turn) > 0) {
					struct cap after;
					srv_ops_turn_rollback(&turn);
					after = capture(r, &b);
					CHECK(gapped || (after.len == before.len &&
					      memcmp(after.p, before.p,
						     after.len) == 0));
					free(after.p);
				}
			} else if (c == 'J' && n_idx < 16) {
				struct collab_str u = { (const char *)body,
							blen > 4 ? 4 : blen };
				if (srv_room_join(r, n_idx, u.len ? &u : NULL,
						  &idx[n_idx]) == 0)
					n_idx++;
			} else if (c == 'L' && n_idx > 1) {
				/* leave the newest: no index moves */
				CHECK(!srv_room_leave(r, idx[--n_idx], &moved));
			}
			invariants(r);
			CHECK(srv_room_count(r) <= r->n_subs);
		}
		if (nl == NULL)
			break;
		size -= len + 1;
		data += len + 1;
	}
	srv_ops_turn_rollback(&turn);
	invariants(r);
	srv_ops_turn_free(&turn);
	(void)srv_room_registry_collect(&reg);
	free(before.p);
	collab_buf_free(&b);
	srv_room_registry_free(&reg);
	return 0;
}
