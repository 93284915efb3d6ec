/*
 * bench_ws.c - frame parsing throughput, libcollab's parser beside wslay's
 * (wslay_frame_recv), both doing the same job on the same bytes: read
 * masked client frames, validate the header, unmask the payload, hand each
 * chunk to the caller (who touches it).
 *
 * wslay pulls bytes through its recv callback into its own 4 KiB buffer
 * and unmasks there; ours unmasks in the caller's buffer, fed here in
 * 16 KiB reads as a socket would deliver them. Each figure is the best of
 * several runs over a buffer of many frames, in MB/s of wire bytes.
 *
 * Output: "bench <name> <value> <unit>" lines. The ratio lines are
 * collab / wslay (above 1: ours is faster).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wslay/wslay.h>

#include "collab/ws.h"

#define STREAM_BYTES (8u * 1024 * 1024)
#define READ_SIZE (16u * 1024)
#define RUNS 7

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift: the payload and keys only need to look random */
static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint8_t rnd8(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint8_t)(rng_state >> 24);
}

/* A buffer of masked client frames of `payload` bytes each. Text frames
 * carry ASCII (JSON-like) so they stay valid UTF-8; binary, any byte. */
static uint8_t *make_stream(size_t payload, bool text, size_t *len)
{
	size_t per = collab_ws_header_len(payload, true) + payload;
	size_t count = STREAM_BYTES / per;
	uint8_t *buf = malloc(count * per), *p = buf;
	static const char json[] = "{\"type\":\"new-text-chat\",\"broadcastId\":"
				   "\"3f1c2b7e-9a4d-4e2b-8c1a-0d9e8f7a6b5c\"}";

	if (buf == NULL)
		return NULL;
	for (size_t f = 0; f < count; f++) {
		uint8_t key[4] = { rnd8(), rnd8(), rnd8(), rnd8() };
		size_t h = collab_ws_header_encode(p, true, text ? COLLAB_WS_OP_TEXT
							 : COLLAB_WS_OP_BINARY,
						   payload, key);
		for (size_t i = 0; i < payload; i++)
			p[h + i] = text ? (uint8_t)json[i % (sizeof(json) - 1)] : rnd8();
		collab_ws_mask(p + h, payload, key, 0);
		p += h + payload;
	}
	*len = count * per;
	return buf;
}

/* ---- ours -------------------------------------------------------------- */

static uint64_t sink;

static int run_collab(uint8_t *buf, size_t len, const struct collab_ws_config *cfg)
{
	struct collab_ws_parser ps;
	struct collab_ws_event ev;
	uint64_t sum = 0;

	if (collab_ws_parser_init(&ps, cfg) != 0)
		return -1;
	for (size_t start = 0; start < len; start += READ_SIZE) {
		size_t n = len - start < READ_SIZE ? len - start : READ_SIZE;
		size_t off = 0, used;
		for (;;) {
			if (collab_ws_parse(&ps, buf + start + off, n - off, &used, &ev) != 0)
				return -1;
			off += used;
			if (ev.type == COLLAB_WS_EV_NEED_MORE)
				break;
			if (ev.type == COLLAB_WS_EV_DATA)
				sum += ev.data[ev.len - 1] + ev.len;
		}
	}
	sink += sum;
	return 0;
}

/* Masking is its own inverse, so after an odd number of runs over the
 * same buffer the text would be masked garbage: text runs get a fresh
 * copy each time, outside the timed part. */
static double bench_collab(const uint8_t *stream, size_t len, bool text)
{
	struct collab_ws_config cfg;
	uint8_t *work = malloc(len);
	double best = 1e30;

	if (work == NULL)
		return 0;
	collab_ws_config_init(&cfg, COLLAB_WS_SERVER);
	memcpy(work, stream, len);
	for (int r = 0; r < RUNS; r++) {
		double t0, t;
		if (text)
			memcpy(work, stream, len);
		t0 = now();
		if (run_collab(work, len, &cfg) != 0) {
			fprintf(stderr, "collab parse failed\n");
			free(work);
			return 0;
		}
		t = now() - t0;
		if (t < best)
			best = t;
	}
	free(work);
	return (double)len / best / 1e6;
}

/* ---- wslay ------------------------------------------------------------- */

struct src {
	const uint8_t *p;
	size_t len, off;
};

static ssize_t wslay_recv_cb(uint8_t *buf, size_t len, int flags, void *user)
{
	struct src *s = user;
	size_t n = s->len - s->off;

	(void)flags;
	if (n == 0)
		return -1;      /* wslay: "want read" */
	if (n > len)
		n = len;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static ssize_t wslay_send_cb(const uint8_t *d, size_t l, int f, void *u)
{
	(void)d; (void)l; (void)f; (void)u;
	return -1;
}

static int wslay_genmask_cb(uint8_t *b, size_t l, void *u)
{
	(void)b; (void)l; (void)u;
	return -1;
}

static int run_wslay(const uint8_t *buf, size_t len)
{
	struct wslay_frame_callbacks cb = { wslay_send_cb, wslay_recv_cb, wslay_genmask_cb };
	struct src s = { buf, len, 0 };
	struct wslay_frame_iocb iocb;
	wslay_frame_context_ptr ctx;
	uint64_t sum = 0;

	if (wslay_frame_context_init(&ctx, &cb, &s) != 0)
		return -1;
	for (;;) {
		ssize_t r = wslay_frame_recv(ctx, &iocb);
		if (r == WSLAY_ERR_WANT_READ) {
			if (s.off == s.len)
				break;
			continue;
		}
		if (r < 0) {
			wslay_frame_context_free(ctx);
			return -1;
		}
		if (iocb.data_length)
			sum += iocb.data[iocb.data_length - 1] + iocb.data_length;
	}
	wslay_frame_context_free(ctx);
	sink += sum;
	return 0;
}

static double bench_wslay(const uint8_t *stream, size_t len)
{
	double best = 1e30;

	for (int r = 0; r < RUNS; r++) {
		double t0 = now(), t;
		if (run_wslay(stream, len) != 0) {
			fprintf(stderr, "wslay parse failed\n");
			return 0;
		}
		t = now() - t0;
		if (t < best)
			best = t;
	}
	return (double)len / best / 1e6;
}

/* ---- main -------------------------------------------------------------- */

int main(void)
{
	static const struct {
		const char *name;
		size_t payload;
	} sizes[] = { { "300b", 300 }, { "64k", 65536 } };
	int lost = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len;
		uint8_t *bin = make_stream(sizes[i].payload, false, &len);
		double ours, theirs, text;
		uint8_t *txt;

		if (bin == NULL)
			return 1;
		ours = bench_collab(bin, len, false);
		theirs = bench_wslay(bin, len);
		free(bin);
		txt = make_stream(sizes[i].payload, true, &len);
		if (txt == NULL)
			return 1;
		text = bench_collab(txt, len, true);
		free(txt);
		if (ours == 0 || theirs == 0 || text == 0)
			return 1;
		printf("bench ws_parse_%s_collab %.1f MB/s\n", sizes[i].name, ours);
		printf("bench ws_parse_%s_wslay %.1f MB/s\n", sizes[i].name, theirs);
		printf("bench ws_parse_%s_ratio %.2f x\n", sizes[i].name, ours / theirs);
		printf("bench ws_parse_%s_text_utf8_collab %.1f MB/s\n", sizes[i].name, text);
		if (ours < theirs)
			lost = 1;
	}
	if (sink == 42)
		printf("\n");   /* keeps the sums alive */
	if (lost)
		fprintf(stderr, "bench_ws: slower than wslay\n");
	return 0;
}
