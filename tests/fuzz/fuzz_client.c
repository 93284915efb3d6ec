/*
 * fuzz_client.c - libFuzzer target for the collab client's handling of
 * server messages (client_msg.c) and its local copy of the room with
 * pending overlays (client_state.c, client_ops.c): any sequence of server
 * messages, mixed with operations of the client's own, must neither crash
 * nor leak, and the local copy must stay walkable.
 *
 * Input: lines. A line starting with '!' is a command of the client's:
 *   !c create a chat   !a add a comment to the last chat
 *   !e edit / !d delete the last comment   !r resolve / !x delete the
 *   last chat   !R reconnect   !F forget   !S walk the local copy
 * Any other line is one server message, fed through
 * collab_client_test_feed(), after "$B", "$C" and "$M" are replaced by the
 * broadcastId, chat id and comment id of the client's last operation (so
 * echoes and rejections of its own operations are reachable). The rng is
 * seeded, so a crash replays exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/client.h"
#include "collab/loop.h"
#include "collab/wsconn.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define LINE_MAX_BYTES 65536

static struct {
	int ready;
	struct collab_loop loop;
	struct collab_wsctx ws;
} S;

static struct collab_client_ids last;
static uint8_t line[LINE_MAX_BYTES + 64];

static void walk(const struct collab_client *c)
{
	const struct collab_client_chat *ch;
	const struct collab_client_comment *cm;
	struct collab_client_chat_info ci;
	struct collab_client_comment_info mi;
	size_t n = 0, k;
	volatile size_t sum = 0;

	for (ch = collab_client_chat_first(c); ch; ch = collab_client_chat_next(ch), n++) {
		collab_client_chat_get(ch, &ci);
		CHECK(collab_client_chat_find(c, ci.id.p, ci.id.len) == ch);
		sum += ci.anchor.len + ci.user_id.len + ci.user_name.len;
		k = 0;
		for (cm = collab_client_comment_first(ch); cm; cm = collab_client_comment_next(cm), k++) {
			collab_client_comment_get(cm, &mi);
			CHECK(collab_client_comment_find(ch, mi.id.p, mi.id.len) != NULL);
			sum += mi.text.len;
		}
		CHECK(k == ci.n_comments);
	}
	CHECK(n == collab_client_chat_count(c));
	(void)sum;
}

static void command(struct collab_client *c, uint8_t cmd)
{
	struct collab_str chat = { last.chat_id, strlen(last.chat_id) };
	struct collab_str cm = { last.comment_id, strlen(last.comment_id) };
	struct collab_client_ids ids;
	int rc = -1;

	switch (cmd) {
	case 'c':
		rc = collab_client_create_chat(c, "{\"q\":[1,{}]}", 12, "text", 4, &ids);
		break;
	case 'a':
		rc = collab_client_add_comment(c, chat, "reply", 5, &ids);
		break;
	case 'e':
		rc = collab_client_edit_comment(c, chat, cm, "edit", 4, &ids);
		break;
	case 'd':
		rc = collab_client_delete_comment(c, chat, cm, &ids);
		break;
	case 'r':
		rc = collab_client_resolve(c, chat, true, &ids);
		break;
	case 'x':
		rc = collab_client_delete_chat(c, chat, &ids);
		break;
	case 'R':
		(void)collab_client_reconnect(c);
		break;
	case 'F':
		collab_client_forget(c);
		break;
	case 'S':
		walk(c);
		break;
	default:
		break;
	}
	if (rc == 0)
		last = ids;
}

/* Copies p[0..n) into line with $B/$C/$M replaced; returns the length. */
static size_t substitute(const uint8_t *p, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o < LINE_MAX_BYTES; i++) {
		const char *rep = NULL;

		if (p[i] == '$' && i + 1 < n) {
			if (p[i + 1] == 'B')
				rep = last.broadcast_id;
			else if (p[i + 1] == 'C')
				rep = last.chat_id;
			else if (p[i + 1] == 'M')
				rep = last.comment_id;
		}
		if (rep) {
			size_t r = strlen(rep);

			memcpy(line + o, rep, r);
			o += r;
			i++;
		} else {
			line[o++] = p[i];
		}
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[32] = { 1, 2, 3 };
	struct collab_client_config cfg;
	struct collab_client c;
	struct collab_rng rng;
	size_t i = 0;

	if (!S.ready) {
		CHECK(collab_loop_init(&S.loop, NULL) == 0);
		CHECK(collab_wsctx_init(&S.ws, &S.loop, NULL) == 0);
		S.ready = 1;
	}
	CHECK(collab_rng_init_seed(&rng, seed, sizeof(seed)) == 0);
	memset(&last, 0, sizeof(last));
	collab_client_config_init(&cfg);
	cfg.keep_room = true;
	cfg.rng = &rng;
	cfg.max_pending = 64;
	cfg.max_chats = 64;
	cfg.max_comments = 16;
	cfg.max_own_ids = 8;
	CHECK(collab_client_init(&c, &S.ws, &cfg, NULL) == 0);
	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (data + i)) : size - i;

		if (n >= 2 && data[i] == '!')
			command(&c, data[i + 1]);
		else if (n)
			(void)collab_client_test_feed(&c, line, substitute(data + i, n));
		i += n + 1;
	}
	walk(&c);
	collab_client_free(&c);
	return 0;
}
