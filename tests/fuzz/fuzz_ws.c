/*
 * fuzz_ws.c - libFuzzer target for the RFC 6455 frame parser and encoder.
 *
 * Input: byte 0 picks the role and the limits, byte 1 the number of cuts
 * (0-7), then two bytes per cut position; the rest is the stream. The
 * stream is parsed in one go and again cut into pieces (each piece in its
 * own exact-size heap copy, so ASan sees any overread); the events (data
 * joined) and the result MUST be identical, and every event MUST agree
 * with what came before it. Then the same bytes are used as payloads for
 * frames built with the encoder, which the parser of the other role MUST
 * read back exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/ws.h"
#include "collab/utf8.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

struct trace {
	uint8_t *log;           /* structural events */
	size_t log_len, log_cap;
	uint8_t *data;          /* every DATA byte, in order */
	size_t data_len, data_cap;
	size_t msg_start;       /* where the open message's data begins */
	uint64_t frame_off, frame_len, msg_off;
	unsigned msg_op;
	int rc;
};

static void put(uint8_t **b, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (n > *cap - *len) {
		size_t c = *cap ? *cap : 256;
		while (n > c - *len)
			c *= 2;
		*b = realloc(*b, c);
		CHECK(*b != NULL);
		*cap = c;
	}
	if (n)
		memcpy(*b + *len, p, n);
	*len += n;
}

static void rec(struct trace *t, const void *p, size_t n)
{
	put(&t->log, &t->log_len, &t->log_cap, p, n);
}

/* Records a structural event with the data position it happened at. */
static void rec_event(struct trace *t, const struct collab_ws_event *ev)
{
	uint64_t v[4] = { (uint64_t)ev->type << 16 | (uint64_t)ev->opcode << 8 | ev->fin,
			  ev->frame_len, ev->msg_offset, t->data_len };
	rec(t, v, sizeof(v));
}

static void feed(struct collab_ws_parser *ps, struct trace *t, uint8_t *p,
		 const uint8_t *orig, size_t len)
{
	size_t off = 0;

	while (t->rc == 0) {
		struct collab_ws_event ev;
		size_t used = 0;
		uint8_t *q = p ? p + off : NULL;
		int rc = collab_ws_parse(ps, q, len - off, &used, &ev);

		CHECK(used <= len - off);
		if (len - off - used)
			CHECK(memcmp(q + used, orig + off + used, len - off - used) == 0);
		if (rc < 0) {
			uint16_t code = collab_ws_parser_close_code(ps);
			t->rc = rc;
			CHECK(ev.type == COLLAB_WS_EV_NEED_MORE);
			CHECK((rc == COLLAB_EPROTO && code == 1002) ||
			      (rc == COLLAB_EUTF8 && code == 1007) ||
			      (rc == COLLAB_ELIMIT && code == 1009) ||
			      (rc == COLLAB_ECLOSED && code == 0));
			rec(t, &rc, sizeof(rc));
			CHECK(collab_ws_parse(ps, NULL, 0, &used, &ev) == rc && used == 0);
			return;
		}
		CHECK(rc == 0);
		switch (ev.type) {
		case COLLAB_WS_EV_NEED_MORE:
			CHECK(used == len - off);
			return;
		case COLLAB_WS_EV_FRAME_HEADER:
			CHECK(!collab_ws_opcode_is_control(ev.opcode));
			if (ev.opcode != COLLAB_WS_OP_CONT) {
				CHECK(t->msg_op == 0);
				t->msg_op = ev.opcode;
				t->msg_off = 0;
				t->msg_start = t->data_len;
			}
			CHECK(t->msg_op != 0 && ev.msg_opcode == t->msg_op);
			CHECK(ev.msg_offset == t->msg_off);
			CHECK(ev.frame_len <= ps->cfg.max_frame_payload);
			CHECK(ev.frame_len <= ps->cfg.max_message_size - t->msg_off);
			t->frame_off = 0;
			t->frame_len = ev.frame_len;
			rec_event(t, &ev);
			break;
		case COLLAB_WS_EV_DATA:
			CHECK(ev.data == q && ev.len == used && ev.len > 0);
			CHECK(ev.frame_offset == t->frame_off && ev.msg_offset == t->msg_off);
			CHECK(ev.len <= t->frame_len - t->frame_off);
			put(&t->data, &t->data_len, &t->data_cap, ev.data, ev.len);
			t->frame_off += ev.len;
			t->msg_off += ev.len;
			break;
		case COLLAB_WS_EV_FRAME_END:
			CHECK(used == 0 && t->frame_off == t->frame_len);
			rec_event(t, &ev);
			break;
		case COLLAB_WS_EV_MESSAGE_END:
			CHECK(used == 0 && ev.msg_offset == t->msg_off);
			/* a text message is reported only when it is all UTF-8 */
			if (t->msg_op == COLLAB_WS_OP_TEXT && t->data_len > t->msg_start)
				CHECK(collab_utf8_check(t->data + t->msg_start,
							t->data_len - t->msg_start) == 0);
			t->msg_op = 0;
			rec_event(t, &ev);
			break;
		case COLLAB_WS_EV_CONTROL:
			CHECK(collab_ws_opcode_is_control(ev.opcode) && ev.len <= 125);
			CHECK(ev.msg_opcode == t->msg_op);
			rec_event(t, &ev);
			rec(t, ev.data ? ev.data : (const uint8_t *)"", ev.len);
			if (ev.opcode == COLLAB_WS_OP_CLOSE)
				CHECK(ev.close_code == 1005 ||
				      collab_ws_close_code_valid(ev.close_code));
			break;
		default:
			CHECK(0);
		}
		off += used;
	}
}

/* Parses stream[0..n) cut at cuts[0..ncuts) (sorted). */
static void run(const struct collab_ws_config *cfg, const uint8_t *stream,
		size_t n, const size_t *cuts, size_t ncuts, struct trace *t)
{
	struct collab_ws_parser ps;
	size_t start = 0;

	memset(t, 0, sizeof(*t));
	CHECK(collab_ws_parser_init(&ps, cfg) == 0);
	for (size_t i = 0; i <= ncuts && t->rc == 0; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		uint8_t *piece = malloc(end - start + 1);
		CHECK(piece != NULL);
		memcpy(piece, stream + start, end - start);
		feed(&ps, t, piece, stream + start, end - start);
		free(piece);
		start = end;
	}
	if (t->rc == 0)
		feed(&ps, t, NULL, NULL, 0);
}

static void trace_free(struct trace *t)
{
	free(t->log);
	free(t->data);
}

/* Encodes payload[0..n) as a message in up to 4 frames with control frames
 * between, and checks the reading role gets it back. */
static void round_trip(const uint8_t *payload, size_t n, uint8_t sel)
{
	enum collab_ws_role reader = sel & 1 ? COLLAB_WS_CLIENT : COLLAB_WS_SERVER;
	bool masked = reader == COLLAB_WS_SERVER;
	bool text = collab_utf8_check(payload, n) == 0 && (sel & 2);
	uint8_t key[4] = { sel, (uint8_t)n, 0x5a, (uint8_t)(sel * 7) };
	uint8_t *buf = malloc(n + 4 * COLLAB_WS_MAX_HEADER + 4 * 127 + 200);
	size_t len = 0, off = 0, nfrag = 1 + (sel >> 2) % 4;
	struct collab_ws_config cfg;
	struct collab_ws_parser ps;
	struct collab_ws_event ev;
	uint8_t closep[125];
	unsigned code;
	size_t rlen;
	int cl;

	CHECK(buf != NULL);
	for (size_t f = 0; f < nfrag; f++) {
		bool last = f + 1 == nfrag;
		size_t k = last ? n - off : (n - off) / 2;
		enum collab_ws_opcode op = f ? COLLAB_WS_OP_CONT :
			(text ? COLLAB_WS_OP_TEXT : COLLAB_WS_OP_BINARY);
		size_t h = collab_ws_header_encode(buf + len, last, op, k, masked ? key : NULL);
		CHECK(h == collab_ws_header_len(k, masked));
		len += h;
		if (k)
			memcpy(buf + len, payload + off, k);
		if (masked) {
			collab_ws_mask(buf + len, k / 3, key, 0);
			collab_ws_mask(buf + len + k / 3, k - k / 3, key, k / 3);
		}
		len += k;
		off += k;
		if (!last) {
			size_t w, pl = k < 125 ? k : 125;
			CHECK(collab_ws_frame_encode(buf + len, 200, true, COLLAB_WS_OP_PING,
						     payload, pl, masked ? key : NULL, &w) == 0);
			len += w;
		}
	}
	/* a close with a code and reason taken from the input */
	code = (unsigned)sel << 4 | (n & 0xF) | 1000u;
	rlen = n < 40 ? n : 40;
	cl = collab_ws_close_payload_encode(closep, sizeof(closep), code, payload, rlen);
	if (code == COLLAB_WS_CLOSE_NO_STATUS && rlen == 0)
		CHECK(cl == 0);
	else if (!collab_ws_close_code_valid(code))
		CHECK(cl == COLLAB_EINVAL);
	else if (collab_utf8_check(payload, rlen) != 0)
		CHECK(cl == COLLAB_EUTF8);
	else
		CHECK(cl == (int)rlen + 2);
	if (cl >= 0) {
		size_t w;
		CHECK(collab_ws_frame_encode(buf + len, 140, true, COLLAB_WS_OP_CLOSE,
					     closep, (size_t)cl, masked ? key : NULL, &w) == 0);
		len += w;
	}

	collab_ws_config_init(&cfg, reader);
	cfg.max_frame_payload = UINT64_MAX;
	cfg.max_message_size = UINT64_MAX;
	CHECK(collab_ws_parser_init(&ps, &cfg) == 0);
	off = 0;
	size_t got = 0, pos = 0;
	for (;;) {
		size_t used;
		int rc = collab_ws_parse(&ps, buf + pos, len - pos, &used, &ev);
		if (rc == COLLAB_ECLOSED)
			break;
		CHECK(rc == 0);
		pos += used;
		if (ev.type == COLLAB_WS_EV_NEED_MORE)
			break;
		if (ev.type == COLLAB_WS_EV_DATA) {
			CHECK(got + ev.len <= n && memcmp(ev.data, payload + got, ev.len) == 0);
			got += ev.len;
		} else if (ev.type == COLLAB_WS_EV_MESSAGE_END) {
			CHECK(ev.msg_offset == n && ev.msg_opcode ==
			      (text ? COLLAB_WS_OP_TEXT : COLLAB_WS_OP_BINARY));
		} else if (ev.type == COLLAB_WS_EV_CONTROL && ev.opcode == COLLAB_WS_OP_CLOSE) {
			CHECK(cl >= 0);
			CHECK(cl == 0 ? ev.close_code == 1005 :
			      ev.close_code == ((unsigned)closep[0] << 8 | closep[1]));
			CHECK(ev.close_reason.len == (cl ? (size_t)cl - 2 : 0));
		}
	}
	CHECK(got == n && pos == len);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct collab_ws_config cfg;
	struct trace whole, cut;
	size_t cuts[8], ncuts, n;
	const uint8_t *stream;

	if (size < 2)
		return 0;
	collab_ws_config_init(&cfg, data[0] & 1 ? COLLAB_WS_CLIENT : COLLAB_WS_SERVER);
	switch ((data[0] >> 1) & 3) {
	case 1:
		cfg.max_frame_payload = 1 + (data[0] >> 3);
		cfg.max_message_size = 3 + (data[0] >> 3) * 2;
		break;
	case 2:
		cfg.max_frame_payload = UINT64_MAX;
		cfg.max_message_size = UINT64_MAX;
		break;
	default:
		break;
	}
	ncuts = data[1] & 7;
	if (size < 2 + 2 * ncuts)
		return 0;
	stream = data + 2 + 2 * ncuts;
	n = size - 2 - 2 * ncuts;
	for (size_t i = 0; i < ncuts; i++)
		cuts[i] = ((size_t)data[2 + 2 * i] << 8 | data[3 + 2 * i]) % (n + 1);
	for (size_t i = 1; i < ncuts; i++)
		for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			size_t x = cuts[j];
			cuts[j] = cuts[j - 1];
			cuts[j - 1] = x;
		}

	run(&cfg, stream, n, NULL, 0, &whole);
	run(&cfg, stream, n, cuts, ncuts, &cut);
	CHECK(whole.rc == cut.rc);
	CHECK(whole.log_len == cut.log_len);
	CHECK(whole.log_len == 0 || memcmp(whole.log, cut.log, whole.log_len) == 0);
	CHECK(whole.data_len == cut.data_len);
	CHECK(whole.data_len == 0 || memcmp(whole.data, cut.data, whole.data_len) == 0);
	trace_free(&whole);
	trace_free(&cut);

	round_trip(stream, n, data[0]);
	return 0;
}
