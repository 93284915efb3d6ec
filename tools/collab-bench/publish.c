/* collab-bench: publishing and the stamp (publish.h). */
#include <stdio.h>
#include <string.h>

#include "collab-bench/conn.h"
#include "collab-bench/publish.h"

#define MAX_CATCH_UP_NS     1000000000u /* a publisher this late skips ahead */
#define STAMP               "cb1 "

/* Parses digits at *p up to a space: the stamp's fields. */
static bool stamp_field(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	size_t n = 0;

	while (s < end && *s >= '0' && *s <= '9' && n < 20) {
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
		n++;
	}
	if (n == 0 || s >= end || *s != ' ')
		return false;
	*p = s + 1;
	*out = v;
	return true;
}

/* The stamp of a text: send time and measured flag. */
bool bench_parse_stamp(struct collab_str t, uint64_t *sent, bool *measured)
{
	const char *p = t.p, *end = t.p + t.len;
	uint64_t m, pub, n;

	if (t.len < sizeof(STAMP) - 1 || memcmp(p, STAMP, sizeof(STAMP) - 1) != 0)
		return false;
	p += sizeof(STAMP) - 1;
	if (!stamp_field(&p, end, sent) || !stamp_field(&p, end, &m) ||
	    !stamp_field(&p, end, &pub) || !stamp_field(&p, end, &n) || m > 1)
		return false;
	*measured = m == 1;
	return true;
}

/* The comment text an event carries (empty when none). */
struct collab_str bench_event_text(const struct collab_proto_server_msg *m,
				   const struct collab_proto_event_view *ev)
{
	struct collab_proto_comment cm;
	struct collab_str none = { "", 0 };

	if (ev->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		if (m && ev->chat.first_comment != COLLAB_PROTO_ITER_END &&
		    collab_proto_msg_comment(m, ev->chat.first_comment, &cm) == 0)
			return cm.text;
	} else if (ev->type == COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT) {
		if (ev->action == COLLAB_PROTO_ACTION_ADD_COMMENT)
			return ev->comment.text;
		if (ev->action == COLLAB_PROTO_ACTION_EDIT_COMMENT)
			return ev->text;
	}
	return none;
}

/* Writes the stamped text of x's next operation into buf (bench.o.size). */
static void make_text(struct conn *x, char *buf, bool measured)
{
	int n = snprintf(buf, bench.o.size + 1, STAMP "%llu %d %u %llu ",
			 (unsigned long long)clock_ns(bench.o.clock), measured ? 1 : 0,
			 x->idx, (unsigned long long)x->n_ops);
	size_t len = n > 0 ? (size_t)n : 0;

	if (len < bench.o.size)
		memset(buf + len, 'x', bench.o.size - len);
}

/* A new chat; its ids become the target of the next operations. Never
 * measured: an ack carries no message to read a new chat's text from, so
 * only edits and adds are, and every measured operation has one ack and
 * one delivery per other connection of its room. */
int bench_publish_create(struct conn *x)
{
	struct collab_client_ids ids;
	char text[MAX_SIZE + 1];
	int rc;

	make_text(x, text, false);
	rc = collab_client_create_chat(&x->c, "{}", 2, text, bench.o.size, &ids);
	if (rc != 0)
		return rc;
	memcpy(x->chat_id, ids.chat_id, sizeof(x->chat_id));
	memcpy(x->comment_id, ids.comment_id, sizeof(x->comment_id));
	x->in_chat = 1;
	return 0;
}

static void publish(struct conn *x, bool measured)
{
	struct worker *w = x->w;
	struct collab_str chat = { x->chat_id, COLLAB_UUID_STR_LEN };
	struct collab_str cm = { x->comment_id, COLLAB_UUID_STR_LEN };
	char text[MAX_SIZE + 1];
	int rc;

	x->n_ops++;
	if (x->chat_id[0] == 0 ||
	    (bench.o.op == OP_ADD && x->in_chat >= bench.o.per_chat)) {
		rc = bench_publish_create(x);
		measured = false;
	} else {
		make_text(x, text, measured);
		if (bench.o.op == OP_EDIT) {
			rc = collab_client_edit_comment(&x->c, chat, cm, text, bench.o.size, NULL);
		} else {
			rc = collab_client_add_comment(&x->c, chat, text, bench.o.size, NULL);
			x->in_chat++;
		}
	}
	if (rc != 0) {
		bench_note_op_err(w, rc);
		return;
	}
	inc(&w->st.published_all, 1);
	if (measured)
		inc(&w->st.published, 1);
}

/* A publisher's timer: every operation due (catching up at most
 * MAX_CATCH_UP_NS), then the next deadline. */
void bench_on_pub(struct collab_loop *loop, struct collab_timer *t)
{
	struct conn *x = t->ctx;
	struct worker *w = x->w;
	uint64_t now = mono_ns(), ms;
	int ph = phase();

	if (ph != PH_WARMUP && ph != PH_MEASURE)
		return;
	if (x->dead)
		return;
	if (now > x->due_ns + MAX_CATCH_UP_NS) {
		inc(&w->st.skipped, (now - x->due_ns) / bench.interval_ns);
		x->due_ns = now;
	}
	while (x->due_ns <= now) {
		if (ph == PH_MEASURE)
			hist_add(&w->lag, now - x->due_ns);
		publish(x, ph == PH_MEASURE);
		x->due_ns += bench.interval_ns;
	}
	ms = (x->due_ns - now + 999999) / 1000000;
	(void)collab_loop_timer_arm(loop, t, ms);
}

