/*
 * collab-bench: what a publisher sends and when. Each operation's comment
 * text starts with a stamp "cb1 T M P N " (T the send time in ns on
 * --clock, M 1 when sent during measure, P the publisher, N its operation
 * count), 'x' fill the rest; receivers read T and M back.
 */
#ifndef COLLAB_BENCH_PUBLISH_H
#define COLLAB_BENCH_PUBLISH_H

#include "collab-bench/bench.h"

/* A new chat for x; its ids become the target of x's next operations.
 * Returns 0 or the client's COLLAB_E* code. */
int bench_publish_create(struct conn *x);
/* A publisher's loop timer (ctx: its struct conn). */
void bench_on_pub(struct collab_loop *loop, struct collab_timer *t);
/* The stamp of a text: send time and measured flag; false when the text
 * is not one of ours. */
bool bench_parse_stamp(struct collab_str t, uint64_t *sent, bool *measured);
/* The comment text an event carries (empty when none); m may be NULL
 * (then a new chat's text is not found). */
struct collab_str bench_event_text(const struct collab_proto_server_msg *m,
				   const struct collab_proto_event_view *ev);

#endif
