/*
 * bench_json.c - JSON parse and write throughput, ours beside cJSON.
 *
 * The input is built in code, deterministically: about 1 MiB of protocol
 * events (new chats with anchors and comments, added and edited comments,
 * user counts) with UUIDs, text holding some escapes and non-ASCII UTF-8,
 * and integers. Both libraries do the same jobs on it:
 *   parse  collab_json_parse        vs cJSON_ParseWithLength
 *          (cJSON_Delete is left out of cJSON's time)
 *   write  collab_json_write_node   vs cJSON_PrintUnformatted
 *          of the parsed tree          (free() of its result left out)
 * Throughput is in MB/s (10^6 bytes) of the input document, for both.
 * Ours does more work than cJSON: it validates UTF-8, checks duplicate
 * names and keeps numbers exact.
 *
 * Prints "bench <name> <value> <unit>" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "collab/json.h"

#define DOC_TARGET ((size_t)1 << 20)
#define MIN_SECONDS 0.5
#define MIN_ITERS 5

/* CPU time of this (single-threaded) process: steadier than wall time on
 * a machine that is busy with other work. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift32: a fixed sequence, so every run benches the same document. */
static uint32_t seq_state = 0x9E3779B9u;
static uint32_t next_u32(void)
{
	uint32_t x = seq_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return seq_state = x;
}

static void uuid(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0, k = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			out[i] = '-';
			continue;
		}
		out[i] = hex[(next_u32() >> (k++ % 7)) & 15];
	}
	out[14] = '4';
	out[36] = 0;
}

static const char *const words[] = {
	"the", "annotation", "quick", "review", "needs", "a", "source", "here",
	"caf\xc3\xa9", "na\xc3\xafve", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	"\xf0\x9f\x98\x80", "\"quoted\"", "line\nbreak", "tab\there", "C:\\path",
	"see", "section", "paragraph", "ok", "Stra\xc3\x9f" "e", "\xe2\x82\xac" "5",
};

static size_t text(char *out, size_t target)
{
	size_t n = 0;
	while (n < target) {
		const char *w = words[next_u32() % (sizeof words / sizeof *words)];
		size_t wl = strlen(w);
		if (n)
			out[n++] = ' ';
		memcpy(out + n, w, wl);
		n += wl;
	}
	return n;
}

static void kv_str(struct collab_json_writer *w, const char *k, const char *v,
		   size_t vlen)
{
	collab_json_write_key(w, k, strlen(k));
	collab_json_write_str(w, v, vlen);
}

static void kv_u64(struct collab_json_writer *w, const char *k, uint64_t v)
{
	collab_json_write_key(w, k, strlen(k));
	collab_json_write_u64(w, v);
}

static void comment(struct collab_json_writer *w, const char *user,
		    uint64_t ts)
{
	char id[37], t[400];
	size_t tl = text(t, 40 + next_u32() % 160);
	uuid(id);
	collab_json_write_obj_begin(w);
	kv_str(w, "id", id, 36);
	kv_str(w, "userId", user, strlen(user));
	kv_str(w, "userName", "Ann \xc5\x81ukasz", 11);
	kv_str(w, "text", t, tl);
	kv_u64(w, "createdAt", ts);
	collab_json_write_obj_end(w);
}

/* One event, as the server sends them (PROTOCOL.md section 5). */
static void event(struct collab_json_writer *w, uint64_t seq)
{
	char id[37], chat[37], user[16], t[400];
	uint64_t ts = 1764151200000u + seq * 137;
	uint32_t kind = next_u32() % 8;

	snprintf(user, sizeof user, "u%u", (unsigned)(next_u32() % 50));
	uuid(id);
	uuid(chat);
	collab_json_write_obj_begin(w);
	if (kind == 7) {
		kv_str(w, "type", "user-count", 10);
		kv_u64(w, "count", next_u32() % 1000);
		collab_json_write_obj_end(w);
		return;
	}
	kv_str(w, "type", kind < 3 ? "new-text-chat" : "updated-text-chat",
	       kind < 3 ? 13 : 17);
	kv_u64(w, "seq", seq);
	kv_str(w, "broadcastId", id, 36);
	kv_u64(w, "ts", ts);
	kv_str(w, "userId", user, strlen(user));
	if (kind < 3) {
		size_t tl = text(t, 20 + next_u32() % 60);
		collab_json_write_key(w, COLLAB_JSON_LIT("chat"));
		collab_json_write_obj_begin(w);
		kv_str(w, "id", chat, 36);
		collab_json_write_key(w, COLLAB_JSON_LIT("anchor"));
		collab_json_write_obj_begin(w);
		kv_str(w, "quote", t, tl);
		kv_str(w, "selector", "#p12 > span:nth-child(3)", 24);
		kv_u64(w, "start", next_u32() % 5000);
		kv_u64(w, "end", 5000 + next_u32() % 5000);
		collab_json_write_obj_end(w);
		kv_str(w, "userId", user, strlen(user));
		kv_str(w, "userName", "Ann \xc5\x81ukasz", 11);
		kv_u64(w, "createdAt", ts);
		collab_json_write_key(w, COLLAB_JSON_LIT("resolved"));
		collab_json_write_bool(w, false);
		collab_json_write_key(w, COLLAB_JSON_LIT("comments"));
		collab_json_write_arr_begin(w);
		comment(w, user, ts);
		collab_json_write_arr_end(w);
		collab_json_write_obj_end(w);
	} else {
		kv_str(w, "chatId", chat, 36);
		if (kind < 5) {
			kv_str(w, "action", "add-comment", 11);
			collab_json_write_key(w, COLLAB_JSON_LIT("comment"));
			comment(w, user, ts);
		} else {
			size_t tl = text(t, 40 + next_u32() % 160);
			kv_str(w, "action", "edit-comment", 12);
			kv_str(w, "commentId", id, 36);
			kv_str(w, "text", t, tl);
		}
	}
	collab_json_write_obj_end(w);
}

/* Builds the document into buf (capacity cap); returns its length. */
static size_t build(uint8_t *buf, size_t cap)
{
	struct collab_json_writer w;
	size_t len = 0;
	uint64_t seq = 1;

	seq_state = 0x9E3779B9u;
	collab_json_writer_init(&w, buf, cap);
	collab_json_write_arr_begin(&w);
	while (w.len < DOC_TARGET)
		event(&w, seq++);
	collab_json_write_arr_end(&w);
	if (collab_json_writer_finish(&w, &len) != 0) {
		fprintf(stderr, "bench_json: build failed: %s\n",
			collab_strerror(w.err));
		exit(1);
	}
	return len;
}

static void report(const char *name, double mbps)
{
	printf("bench %s %.1f MB/s\n", name, mbps);
}

int main(void)
{
	size_t cap = 2 * DOC_TARGET, len, out_len = 0;
	uint8_t *doc = malloc(cap), *out = malloc(2 * cap);
	struct collab_json_node *nodes;
	struct collab_json_config cfg;
	struct collab_json_doc d;
	struct collab_json_writer w;
	double t0, spent, ours_parse, cj_parse, ours_write, cj_write, build_mbps;
	size_t iters;
	cJSON *tree;

	if (doc == NULL || out == NULL)
		return 1;
	t0 = now();
	iters = 0;
	do {
		len = build(doc, cap);
		iters++;
	} while (iters < MIN_ITERS || now() - t0 < MIN_SECONDS);
	build_mbps = (double)len * (double)iters / (now() - t0) / 1e6;

	nodes = malloc(COLLAB_JSON_NODES_FOR(len) * sizeof *nodes);
	if (nodes == NULL)
		return 1;
	collab_json_config_init(&cfg);
	cfg.max_input = len;

	/* parse */
	t0 = now();
	iters = 0;
	do {
		if (collab_json_parse(&cfg, doc, len, nodes,
				      COLLAB_JSON_NODES_FOR(len), &d) != 0) {
			fprintf(stderr, "bench_json: parse failed: %s at %zu\n",
				collab_strerror(d.err), d.err_off);
			return 1;
		}
		iters++;
	} while (iters < MIN_ITERS || now() - t0 < MIN_SECONDS);
	ours_parse = (double)len * (double)iters / (now() - t0) / 1e6;

	spent = 0;
	iters = 0;
	do {
		double t = now();
		tree = cJSON_ParseWithLength((const char *)doc, len);
		spent += now() - t;
		if (tree == NULL) {
			fprintf(stderr, "bench_json: cJSON parse failed\n");
			return 1;
		}
		cJSON_Delete(tree);
		iters++;
	} while (iters < MIN_ITERS || spent < MIN_SECONDS);
	cj_parse = (double)len * (double)iters / spent / 1e6;

	/* write the parsed tree back */
	t0 = now();
	iters = 0;
	do {
		collab_json_writer_init(&w, out, 2 * cap);
		if (collab_json_write_node(&w, &d, 0) != 0 ||
		    collab_json_writer_finish(&w, &out_len) != 0) {
			fprintf(stderr, "bench_json: write failed\n");
			return 1;
		}
		iters++;
	} while (iters < MIN_ITERS || now() - t0 < MIN_SECONDS);
	ours_write = (double)len * (double)iters / (now() - t0) / 1e6;
	if (out_len != len || memcmp(out, doc, len) != 0) {
		/* the document is our own canonical output: byte-stable */
		fprintf(stderr, "bench_json: write_node not byte-stable\n");
		return 1;
	}

	tree = cJSON_ParseWithLength((const char *)doc, len);
	spent = 0;
	iters = 0;
	do {
		double t = now();
		char *s = cJSON_PrintUnformatted(tree);
		spent += now() - t;
		if (s == NULL) {
			fprintf(stderr, "bench_json: cJSON print failed\n");
			return 1;
		}
		free(s);
		iters++;
	} while (iters < MIN_ITERS || spent < MIN_SECONDS);
	cj_write = (double)len * (double)iters / spent / 1e6;
	cJSON_Delete(tree);

	printf("bench json_doc_bytes %zu bytes\n", len);
	printf("bench json_doc_nodes %u nodes\n", (unsigned)d.n_nodes);
	report("json_build_collab", build_mbps);
	report("json_parse_collab", ours_parse);
	report("json_parse_cjson", cj_parse);
	printf("bench json_parse_ratio %.2f x\n", ours_parse / cj_parse);
	report("json_write_collab", ours_write);
	report("json_write_cjson", cj_write);
	printf("bench json_write_ratio %.2f x\n", ours_write / cj_write);
	free(nodes);
	free(doc);
	free(out);
	return 0;
}
