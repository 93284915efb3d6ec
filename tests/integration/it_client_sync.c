/*
 * it_client_sync - the library's C client (collab/client.h, with its local
 * copy of the room) as a scriptable peer for test_client_c.py.
 *
 *   it_client_sync URL [--token JWT] [--base-ms N] [--cap-ms N]
 *                      [--stable-ms N] [--max-pending N]
 *
 * Commands, one per stdin line (fields separated by one space; TEXT is the
 * rest of the line):
 *   create TEXT                      new chat, anchor {"quote":TEXT}
 *   add CHAT TEXT | edit CHAT COMMENT TEXT | delc CHAT COMMENT
 *   resolve CHAT 0|1 | delete CHAT
 *   dump                             the local copy, see below
 *   reconnect | close
 * Output, one JSON object per stdout line (flushed):
 *   {"op":"create","rc":0,"bid":..,"chat":..,"comment":..}  per command
 *   {"state":"live","seq":N,"epoch":E,"attempts":N,"code":C,"http":H}
 *   {"welcome":"replay"|"snapshot","seq":N}  {"synced":N}  {"reset":1}
 *   {"ack":BID,"seq":N}  {"reject":BID,"code":CODE}  {"error":CODE}
 *   {"event":TYPE,"action":A,"seq":N,"bid":BID,"userId":U}  {"count":N}
 *   {"dump":{"seq":N,"epoch":E,"pending":N,"roomError":N,"chats":[
 *      {"id","anchor"(object),"userId","userName","createdAt","resolved",
 *       "pending","comments":[{"id","userId","userName","text",
 *       "createdAt","pending"}]}]}}
 *   {"closed":1} when closed after `close` (then it exits 0).
 * EOF on stdin exits at once (status 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collab/client.h"
#include "collab/json.h"
#include "collab/loop.h"
#include "collab/wsconn.h"

#define OUT_CAP ((size_t)16 * 1024 * 1024)
#define LINE_CAP ((size_t)64 * 1024)

static struct {
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_client c;
	struct collab_io in;
	char line[LINE_CAP];
	size_t line_len;
	uint8_t *out;
	int closing;
	int status;
} G;

/* ---- output --------------------------------------------------------------- */

static struct collab_json_writer W;

static void w_begin(void)
{
	collab_json_writer_init(&W, G.out, OUT_CAP);
	W.max_depth = COLLAB_JSON_WRITER_STACK;
	collab_json_write_obj_begin(&W);
}

static void w_key(const char *k)
{
	collab_json_write_key(&W, k, strlen(k));
}

static void w_str(const char *k, const char *p, size_t n)
{
	w_key(k);
	collab_json_write_str(&W, p ? p : "", n);
}

static void w_cstr(const char *k, const char *z)
{
	w_str(k, z, strlen(z));
}

static void w_u64(const char *k, uint64_t v)
{
	w_key(k);
	collab_json_write_u64(&W, v);
}

static void w_end(void)
{
	size_t len = 0;

	collab_json_write_obj_end(&W);
	if (collab_json_writer_finish(&W, &len) != 0) {
		(void)fprintf(stderr, "it_client_sync: output JSON error %d\n", W.err);
		exit(1);
	}
	G.out[len] = '\n';
	if (fwrite(G.out, 1, len + 1, stdout) != len + 1 || fflush(stdout) != 0)
		exit(1);
}

/* ---- client callbacks ------------------------------------------------------ */

static void on_state(struct collab_client *c, enum collab_client_state st,
		     const struct collab_client_close_info *ci)
{
	struct collab_str e = collab_client_epoch(c);

	w_begin();
	w_cstr("state", collab_client_state_name(st));
	w_u64("seq", collab_client_seq(c));
	w_str("epoch", e.p, e.len);
	w_u64("attempts", collab_client_attempts(c));
	w_u64("code", ci ? ci->code : 0);
	w_u64("http", ci ? ci->http_status : 0);
	w_end();
	if (st == COLLAB_CLIENT_CLOSED && G.closing) {
		w_begin();
		w_u64("closed", 1);
		w_end();
		collab_loop_stop(&G.loop);
	}
}

static void on_welcome(struct collab_client *c, const struct collab_proto_welcome_view *w)
{
	(void)c;
	w_begin();
	w_cstr("welcome", w->resync == COLLAB_PROTO_RESYNC_REPLAY ? "replay" : "snapshot");
	w_u64("seq", w->seq);
	w_end();
}

static void on_synced(struct collab_client *c, uint64_t seq)
{
	(void)c;
	w_begin();
	w_u64("synced", seq);
	w_end();
}

static void on_reset(struct collab_client *c)
{
	(void)c;
	w_begin();
	w_u64("reset", 1);
	w_end();
}

static void on_event(struct collab_client *c, const struct collab_proto_server_msg *m,
		     const struct collab_proto_event_view *ev)
{
	const char *a = collab_proto_action_name(ev->action);

	(void)c;
	(void)m;
	w_begin();
	w_cstr("event", collab_proto_type_name(ev->type));
	w_cstr("action", a ? a : "");
	w_u64("seq", ev->seq);
	w_str("bid", ev->broadcast_id.p, ev->broadcast_id.len);
	w_str("userId", ev->user_id.p, ev->user_id.len);
	w_end();
}

static void on_count(struct collab_client *c, uint64_t n)
{
	(void)c;
	w_begin();
	w_u64("count", n);
	w_end();
}

static void on_ack(struct collab_client *c, struct collab_str bid,
		   const struct collab_proto_event_view *ev)
{
	(void)c;
	w_begin();
	w_str("ack", bid.p, bid.len);
	w_u64("seq", ev->seq);
	w_end();
}

static void on_reject(struct collab_client *c, struct collab_str bid,
		      enum collab_proto_err code, struct collab_str msg)
{
	(void)c;
	(void)msg;
	w_begin();
	w_str("reject", bid.p, bid.len);
	w_cstr("code", collab_proto_err_name(code));
	w_end();
}

static void on_error(struct collab_client *c, const struct collab_proto_error_view *e)
{
	(void)c;
	w_begin();
	w_cstr("error", collab_proto_err_name(e->code));
	w_end();
}

/* ---- commands ---------------------------------------------------------------- */

static void dump(void)
{
	const struct collab_client_chat *ch;
	const struct collab_client_comment *cm;
	struct collab_client_chat_info ci;
	struct collab_client_comment_info mi;
	struct collab_str e = collab_client_epoch(&G.c);

	w_begin();
	w_key("dump");
	collab_json_write_obj_begin(&W);
	w_u64("seq", collab_client_seq(&G.c));
	w_str("epoch", e.p, e.len);
	w_u64("pending", collab_client_pending(&G.c));
	w_u64("roomError", (uint64_t)-collab_client_room_error(&G.c));
	w_key("chats");
	collab_json_write_arr_begin(&W);
	for (ch = collab_client_chat_first(&G.c); ch; ch = collab_client_chat_next(ch)) {
		collab_client_chat_get(ch, &ci);
		collab_json_write_obj_begin(&W);
		w_str("id", ci.id.p, ci.id.len);
		w_key("anchor");
		collab_json_write_raw(&W, ci.anchor.p, ci.anchor.len);
		w_str("userId", ci.user_id.p, ci.user_id.len);
		w_str("userName", ci.user_name.p, ci.user_name.len);
		w_u64("createdAt", ci.created_at);
		w_key("resolved");
		collab_json_write_bool(&W, ci.resolved);
		w_u64("pending", ci.pending);
		w_key("comments");
		collab_json_write_arr_begin(&W);
		for (cm = collab_client_comment_first(ch); cm; cm = collab_client_comment_next(cm)) {
			collab_client_comment_get(cm, &mi);
			collab_json_write_obj_begin(&W);
			w_str("id", mi.id.p, mi.id.len);
			w_str("userId", mi.user_id.p, mi.user_id.len);
			w_str("userName", mi.user_name.p, mi.user_name.len);
			w_str("text", mi.text.p, mi.text.len);
			w_u64("createdAt", mi.created_at);
			w_u64("pending", mi.pending);
			collab_json_write_obj_end(&W);
		}
		collab_json_write_arr_end(&W);
		collab_json_write_obj_end(&W);
	}
	collab_json_write_arr_end(&W);
	collab_json_write_obj_end(&W);
	w_end();
}

/* Splits off the next space-separated field of *p. */
static struct collab_str field(char **p)
{
	struct collab_str s;
	char *sp = strchr(*p, ' ');

	s.p = *p;
	s.len = sp ? (size_t)(sp - *p) : strlen(*p);
	*p += s.len + (sp ? 1 : 0);
	return s;
}

static void report_op(const char *name, int rc, const struct collab_client_ids *ids)
{
	w_begin();
	w_cstr("op", name);
	w_u64("rc", (uint64_t)-rc);
	w_cstr("bid", rc == 0 ? ids->broadcast_id : "");
	w_cstr("chat", rc == 0 ? ids->chat_id : "");
	w_cstr("comment", rc == 0 ? ids->comment_id : "");
	w_end();
}

static void command(char *l)
{
	struct collab_client_ids ids;
	struct collab_str verb = field(&l), a, b;
	char anchor[LINE_CAP + 64];
	struct collab_json_writer aw;
	size_t alen = 0;
	int rc;

	if (collab_str_eq(verb, "create", 6)) {
		collab_json_writer_init(&aw, (uint8_t *)anchor, sizeof(anchor));
		collab_json_write_obj_begin(&aw);
		collab_json_write_key(&aw, "quote", 5);
		collab_json_write_str(&aw, l, strlen(l));
		collab_json_write_obj_end(&aw);
		collab_json_writer_finish(&aw, &alen);
		rc = collab_client_create_chat(&G.c, anchor, alen, l, strlen(l), &ids);
		report_op("create", rc, &ids);
	} else if (collab_str_eq(verb, "add", 3)) {
		a = field(&l);
		rc = collab_client_add_comment(&G.c, a, l, strlen(l), &ids);
		report_op("add", rc, &ids);
	} else if (collab_str_eq(verb, "edit", 4)) {
		a = field(&l);
		b = field(&l);
		rc = collab_client_edit_comment(&G.c, a, b, l, strlen(l), &ids);
		report_op("edit", rc, &ids);
	} else if (collab_str_eq(verb, "delc", 4)) {
		a = field(&l);
		b = field(&l);
		rc = collab_client_delete_comment(&G.c, a, b, &ids);
		report_op("delc", rc, &ids);
	} else if (collab_str_eq(verb, "resolve", 7)) {
		a = field(&l);
		rc = collab_client_resolve(&G.c, a, l[0] == '1', &ids);
		report_op("resolve", rc, &ids);
	} else if (collab_str_eq(verb, "delete", 6)) {
		a = field(&l);
		rc = collab_client_delete_chat(&G.c, a, &ids);
		report_op("delete", rc, &ids);
	} else if (collab_str_eq(verb, "dump", 4)) {
		dump();
	} else if (collab_str_eq(verb, "reconnect", 9)) {
		rc = collab_client_reconnect(&G.c);
		report_op("reconnect", rc, &ids);
	} else if (collab_str_eq(verb, "close", 5)) {
		G.closing = 1;
		collab_client_close(&G.c);
	} else {
		(void)fprintf(stderr, "it_client_sync: unknown command %.*s\n", (int)verb.len, verb.p);
		exit(1);
	}
}

static void on_stdin(struct collab_loop *loop, struct collab_io *io, unsigned ev)
{
	char buf[4096];
	ssize_t n;
	size_t i;

	(void)io;
	(void)ev;
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		collab_loop_io_remove(loop, &G.in);
		collab_loop_stop(loop);
		return;
	}
	for (i = 0; i < (size_t)n; i++) {
		if (buf[i] == '\n') {
			G.line[G.line_len] = '\0';
			command(G.line);
			G.line_len = 0;
		} else if (G.line_len + 1 < LINE_CAP) {
			G.line[G.line_len++] = buf[i];
		}
	}
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*end) {
		(void)fprintf(stderr, "it_client_sync: bad number %s\n", s);
		exit(2);
	}
	return (uint64_t)v;
}

int main(int argc, char **argv)
{
	struct collab_client_config cfg;
	struct collab_client_handlers hd;
	const char *token = NULL;
	int i;

	if (argc < 2) {
		(void)fputs("usage: it_client_sync URL [--token JWT] [--base-ms N] [--cap-ms N] "
		      "[--stable-ms N] [--max-pending N]\n", stderr);
		return 2;
	}
	collab_client_config_init(&cfg);
	cfg.keep_room = true;
	cfg.ops_per_second = 0;
	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--token") == 0)
			token = argv[i + 1];
		else if (strcmp(argv[i], "--base-ms") == 0)
			cfg.backoff_base_ms = num(argv[i + 1]);
		else if (strcmp(argv[i], "--cap-ms") == 0)
			cfg.backoff_cap_ms = num(argv[i + 1]);
		else if (strcmp(argv[i], "--stable-ms") == 0)
			cfg.stable_ms = num(argv[i + 1]);
		else if (strcmp(argv[i], "--max-pending") == 0)
			cfg.max_pending = (size_t)num(argv[i + 1]);
		else {
			(void)fprintf(stderr, "it_client_sync: unknown flag %s\n", argv[i]);
			return 2;
		}
	}
	G.out = malloc(OUT_CAP + 1);
	memset(&hd, 0, sizeof(hd));
	hd.on_state = on_state;
	hd.on_welcome = on_welcome;
	hd.on_synced = on_synced;
	hd.on_reset = on_reset;
	hd.on_event = on_event;
	hd.on_count = on_count;
	hd.on_ack = on_ack;
	hd.on_reject = on_reject;
	hd.on_error = on_error;
	if (G.out == NULL || collab_loop_init(&G.loop, NULL) != 0 ||
	    collab_wsctx_init(&G.ws, &G.loop, NULL) != 0 ||
	    collab_client_init(&G.c, &G.ws, &cfg, &hd) != 0 ||
	    (token && collab_client_set_token(&G.c, token, strlen(token)) != 0) ||
	    collab_client_start(&G.c, argv[1], strlen(argv[1])) != 0) {
		(void)fputs("it_client_sync: set-up failed\n", stderr);
		return 1;
	}
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	collab_loop_io_init(&G.in, STDIN_FILENO, on_stdin, NULL);
	if (collab_loop_io_add(&G.loop, &G.in, COLLAB_LOOP_READ) != 0) {
		(void)fputs("it_client_sync: stdin must be a pipe\n", stderr);
		return 1;
	}
	collab_loop_run(&G.loop);
	collab_loop_io_remove(&G.loop, &G.in);
	collab_client_free(&G.c);
	collab_wsctx_free(&G.ws);
	collab_loop_free(&G.loop);
	free(G.out);
	return 0;
}
