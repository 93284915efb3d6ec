/*
 * ws.c - RFC 6455 frame parser and encoder.
 *
 * The parser is a small state machine (header, payload, control payload,
 * frame end, message end) that emits one event per call. A header is
 * gathered into the parser (at most 14 bytes) and validated in two steps,
 * each as soon as its bytes are there, so a bad frame fails as early as
 * the bytes allow, and always at the same byte whatever the split: the
 * first two bytes (reserved bits, opcode, fragmentation and masking
 * rules), then the length field (minimal encoding, limits). Data payload
 * is never copied: it is unmasked where it lies and handed back as a
 * view. Control payload (at most 125 bytes) is copied into the parser so
 * the caller gets it whole however it was split.
 *
 * Lengths stay uint64_t from the wire until compared with what is left in
 * the caller's buffer (a size_t); only the smaller of the two is narrowed.
 */
#include "collab/ws.h"
#include "collab/common.h"
#include "collab/utf8.h"

#include <string.h>

#define B0_FIN 0x80u
#define B0_RSV 0x70u
#define B0_OPCODE 0x0Fu
#define B1_MASK 0x80u
#define B1_LEN 0x7Fu
#define LEN7_16BIT 126u
#define LEN7_64BIT 127u
#define HIGH_BITS 0x8080808080808080ull

void collab_ws_config_init(struct collab_ws_config *cfg, enum collab_ws_role role)
{
	uint64_t max = role == COLLAB_WS_CLIENT ? COLLAB_WS_CLIENT_MAX_MESSAGE
						: COLLAB_WS_SERVER_MAX_MESSAGE;
	cfg->role = role;
	cfg->max_frame_payload = max;
	cfg->max_message_size = max;
}

int collab_ws_parser_init(struct collab_ws_parser *ps,
			  const struct collab_ws_config *cfg)
{
	struct collab_ws_config def;

	if (cfg == NULL) {
		collab_ws_config_init(&def, COLLAB_WS_SERVER);
		cfg = &def;
	}
	if ((cfg->role != COLLAB_WS_SERVER && cfg->role != COLLAB_WS_CLIENT) ||
	    cfg->max_frame_payload == 0 || cfg->max_message_size == 0)
		return COLLAB_EINVAL;
	ps->cfg = *cfg;
	collab_ws_parser_reset(ps);
	return 0;
}

void collab_ws_parser_reset(struct collab_ws_parser *ps)
{
	struct collab_ws_config cfg = ps->cfg;

	memset(ps, 0, sizeof(*ps));
	ps->cfg = cfg;
	ps->state = COLLAB_WS_ST_HEADER;
	collab_utf8_init(&ps->utf8);
}

uint16_t collab_ws_parser_close_code(const struct collab_ws_parser *ps)
{
	return ps->err_close;
}

bool collab_ws_parser_idle(const struct collab_ws_parser *ps)
{
	return ps->err == 0 && ps->state == COLLAB_WS_ST_HEADER &&
		ps->hdr_len == 0 && ps->msg_opcode == 0;
}

bool collab_ws_opcode_is_control(unsigned opcode)
{
	return opcode <= 0xF && (opcode & 0x8) != 0;
}

bool collab_ws_close_code_valid(unsigned code)
{
	/* RFC 6455 7.4.1/7.4.2: 1004 is reserved, 1005, 1006 and 1015 must
	 * never be sent; 1012-1014 were registered with IANA since. 0-999
	 * are unused, 1016-2999 reserved for future RFCs, 3000-4999 belong to
	 * libraries and applications. */
	if (code >= 1000 && code <= 1003)
		return true;
	if (code >= 1007 && code <= 1014)
		return true;
	return code >= 3000 && code <= 4999;
}

/* Records the sticky error. */
static int fail(struct collab_ws_parser *ps, int err)
{
	ps->err = err;
	switch (err) {
	case COLLAB_EUTF8:
		ps->err_close = COLLAB_WS_CLOSE_INVALID_DATA;
		break;
	case COLLAB_ELIMIT:
		ps->err_close = COLLAB_WS_CLOSE_TOO_BIG;
		break;
	default:
		ps->err_close = COLLAB_WS_CLOSE_PROTOCOL_ERROR;
		break;
	}
	return err;
}

/* Validates the first two header bytes, which are known before anything
 * else about the frame, and derives the header's full size. */
static int check_first(struct collab_ws_parser *ps)
{
	uint8_t b0 = ps->hdr[0], b1 = ps->hdr[1];
	unsigned op = b0 & B0_OPCODE, len7 = b1 & B1_LEN;
	bool fin = (b0 & B0_FIN) != 0, masked = (b1 & B1_MASK) != 0;
	uint8_t need = 2;

	/* RFC 6455 5.2: RSV1-3 MUST be 0 unless an extension says otherwise;
	 * this library negotiates none. */
	if (b0 & B0_RSV)
		return COLLAB_EPROTO;
	switch (op) {
	case COLLAB_WS_OP_CONT:
		/* RFC 6455 5.4: a continuation only continues an open message. */
		if (ps->msg_opcode == 0)
			return COLLAB_EPROTO;
		break;
	case COLLAB_WS_OP_TEXT:
	case COLLAB_WS_OP_BINARY:
		/* RFC 6455 5.4: fragments of one message are not interleaved
		 * with another message's frames. */
		if (ps->msg_opcode != 0)
			return COLLAB_EPROTO;
		break;
	case COLLAB_WS_OP_CLOSE:
	case COLLAB_WS_OP_PING:
	case COLLAB_WS_OP_PONG:
		/* RFC 6455 5.5: control frames are never fragmented and carry
		 * at most 125 bytes (so never an extended length). */
		if (!fin || len7 > COLLAB_WS_MAX_CONTROL)
			return COLLAB_EPROTO;
		break;
	default:
		/* RFC 6455 5.2: opcodes 3-7 and 0xB-0xF are reserved. */
		return COLLAB_EPROTO;
	}
	/* RFC 6455 5.1: a server MUST fail an unmasked client frame, a client
	 * a masked server frame. */
	if (masked != (ps->cfg.role == COLLAB_WS_SERVER))
		return COLLAB_EPROTO;
	ps->opcode = (uint8_t)op;
	ps->fin = fin;
	ps->masked = masked;
	if (len7 == LEN7_16BIT)
		need += 2;
	else if (len7 == LEN7_64BIT)
		need += 8;
	if (masked)
		need += 4;
	ps->hdr_need = need;
	return 0;
}

/* Header bytes up to the end of the length field. */
static size_t length_end(const struct collab_ws_parser *ps)
{
	unsigned len7 = ps->hdr[1] & B1_LEN;

	if (len7 == LEN7_16BIT)
		return 4;
	if (len7 == LEN7_64BIT)
		return 10;
	return 2;
}

/* Decodes and validates the payload length, as soon as it is complete. */
static int check_length(struct collab_ws_parser *ps)
{
	unsigned len7 = ps->hdr[1] & B1_LEN;
	uint64_t n, used;

	if (len7 == LEN7_16BIT) {
		n = (uint64_t)ps->hdr[2] << 8 | ps->hdr[3];
		/* RFC 6455 5.2: "the minimal number of bytes MUST be used" */
		if (n < LEN7_16BIT)
			return COLLAB_EPROTO;
	} else if (len7 == LEN7_64BIT) {
		n = 0;
		for (size_t i = 2; i < 10; i++)
			n = n << 8 | ps->hdr[i];
		/* RFC 6455 5.2: the most significant bit MUST be 0 ... */
		if (n >> 63)
			return COLLAB_EPROTO;
		/* ... and the length minimal. */
		if (n <= 0xFFFF)
			return COLLAB_EPROTO;
	} else {
		n = len7;
	}
	if (!collab_ws_opcode_is_control(ps->opcode)) {
		/* RFC 6455 10.4: limits on frame and message size, 1009
		 * (7.4.1). msg_len never exceeds max_message_size, so the
		 * subtraction cannot wrap. */
		used = ps->opcode == COLLAB_WS_OP_CONT ? ps->msg_len : 0;
		if (n > ps->cfg.max_frame_payload)
			return COLLAB_ELIMIT;
		if (n > ps->cfg.max_message_size - used)
			return COLLAB_ELIMIT;
	}
	ps->frame_len = n;
	ps->len_checked = 1;
	return 0;
}

/* Gathers header bytes from p[*off..len), validating each part as soon as
 * it is complete. Returns 0 (the header may still be incomplete) or an
 * error. */
static int gather_header(struct collab_ws_parser *ps, const uint8_t *p,
			 size_t len, size_t *off)
{
	size_t o = *off, take;
	int rc;

	if (ps->hdr_len < 2) {
		take = 2u - ps->hdr_len;
		if (take > len - o)
			take = len - o;
		if (take) {
			memcpy(ps->hdr + ps->hdr_len, p + o, take);
			ps->hdr_len = (uint8_t)(ps->hdr_len + take);
			o += take;
		}
		*off = o;
		if (ps->hdr_len < 2)
			return 0;
		rc = check_first(ps);
		if (rc)
			return rc;
	}
	take = (size_t)ps->hdr_need - ps->hdr_len;
	if (take > len - o)
		take = len - o;
	if (take) {
		memcpy(ps->hdr + ps->hdr_len, p + o, take);
		ps->hdr_len = (uint8_t)(ps->hdr_len + take);
		o += take;
	}
	*off = o;
	if (!ps->len_checked && ps->hdr_len >= length_end(ps))
		return check_length(ps);
	return 0;
}

/* The fields every event of the current frame shares. */
static void fill(const struct collab_ws_parser *ps, struct collab_ws_event *ev,
		 enum collab_ws_event_type type)
{
	ev->type = type;
	ev->opcode = (enum collab_ws_opcode)ps->opcode;
	ev->msg_opcode = (enum collab_ws_opcode)ps->msg_opcode;
	ev->fin = ps->fin != 0;
	ev->frame_len = ps->frame_len;
	ev->msg_offset = ps->msg_len;
}

/* The header is complete: set up the frame. Returns 1 when the event in
 * ev is to be returned, 0 to go on (a control frame). */
static int begin_frame(struct collab_ws_parser *ps, struct collab_ws_event *ev)
{
	if (ps->masked)
		memcpy(ps->mask, ps->hdr + ps->hdr_need - 4, 4);
	ps->hdr_len = 0;
	ps->hdr_need = 0;
	ps->len_checked = 0;
	ps->frame_done = 0;
	if (collab_ws_opcode_is_control(ps->opcode)) {
		ps->ctl_len = 0;
		ps->state = COLLAB_WS_ST_CONTROL;
		return 0;
	}
	if (ps->opcode != COLLAB_WS_OP_CONT) {
		ps->msg_opcode = ps->opcode;
		ps->msg_len = 0;
		collab_utf8_init(&ps->utf8);
	}
	fill(ps, ev, COLLAB_WS_EV_FRAME_HEADER);
	ps->state = ps->frame_len ? COLLAB_WS_ST_PAYLOAD : COLLAB_WS_ST_FRAME_END;
	return 1;
}

/*
 * Checks a chunk of text as UTF-8. Most text is ASCII, which the
 * validator would walk byte by byte, so runs of whole ASCII words are
 * skipped: the first byte of a run goes through the validator, and its
 * acceptance proves no multi-byte sequence is open (utf8.h fails an ASCII
 * byte inside one), so the rest of the run is valid whatever came before.
 * The bytes between runs go through the validator 8 at a time. Returns 0,
 * or COLLAB_EUTF8 with the index of the first bad byte in *bad_at.
 */
static int check_text(struct collab_ws_parser *ps, const uint8_t *d, size_t n,
		      size_t *bad_at)
{
	size_t i = 0, run, end, bad = 0;
	uint64_t w;

	while (i < n) {
		run = i;
		while (n - run >= 8) {
			memcpy(&w, d + run, 8);
			if (w & HIGH_BITS)
				break;
			run += 8;
		}
		if (run > i) {
			if (collab_utf8_feed(&ps->utf8, d + i, 1, &bad) != 0) {
				*bad_at = i;
				return COLLAB_EUTF8;
			}
			i = run;
		}
		end = n - i > 8 ? i + 8 : n;
		if (collab_utf8_feed(&ps->utf8, d + i, end - i, &bad) != 0) {
			*bad_at = i + bad;
			return COLLAB_EUTF8;
		}
		i = end;
	}
	return 0;
}

/* Delivers the next chunk of a data frame's payload from p[*off..len).
 * Returns 1 with a DATA event, 0 when there is no byte to deliver, or an
 * error. */
static int payload(struct collab_ws_parser *ps, uint8_t *p, size_t len,
		   size_t *off, struct collab_ws_event *ev)
{
	size_t avail = len - *off, n, bad;
	uint64_t left = ps->frame_len - ps->frame_done;
	uint8_t *d;

	if (avail == 0)
		return 0;
	n = left < avail ? (size_t)left : avail;
	d = p + *off;
	if (ps->masked)
		collab_ws_mask(d, n, ps->mask, ps->frame_done);
	if (ps->msg_opcode == COLLAB_WS_OP_TEXT && check_text(ps, d, n, &bad)) {
		/* RFC 6455 8.1: fail at once on invalid UTF-8 (1007). The
		 * bytes past the bad one stay unconsumed: mask them back. */
		if (ps->masked)
			collab_ws_mask(d + bad, n - bad, ps->mask, ps->frame_done + bad);
		fail(ps, COLLAB_EUTF8);
		if (bad == 0)
			return COLLAB_EUTF8;
		n = bad;        /* the valid bytes first; the error next call */
	}
	fill(ps, ev, COLLAB_WS_EV_DATA);
	ev->frame_offset = ps->frame_done;
	ev->data = d;
	ev->len = n;
	ps->frame_done += n;
	ps->msg_len += n;
	*off += n;
	if (ps->frame_done == ps->frame_len)
		ps->state = COLLAB_WS_ST_FRAME_END;
	return 1;
}

/* RFC 6455 5.5.1: an empty close payload, or a 2-byte code and a UTF-8
 * reason. */
static int check_close(struct collab_ws_parser *ps, struct collab_ws_event *ev)
{
	unsigned code;

	if (ps->ctl_len == 0) {
		ev->close_code = COLLAB_WS_CLOSE_NO_STATUS;
		return 0;
	}
	if (ps->ctl_len == 1)
		return COLLAB_EPROTO;
	code = (unsigned)ps->ctl[0] << 8 | ps->ctl[1];
	/* RFC 6455 7.4: codes that may not appear on the wire are a
	 * protocol error. */
	if (!collab_ws_close_code_valid(code))
		return COLLAB_EPROTO;
	/* RFC 6455 8.1: invalid UTF-8 in the reason fails with 1007. */
	if (collab_utf8_check(ps->ctl + 2, ps->ctl_len - 2u) != 0)
		return COLLAB_EUTF8;
	ev->close_code = (uint16_t)code;
	ev->close_reason.p = (const char *)ps->ctl + 2;
	ev->close_reason.len = ps->ctl_len - 2u;
	return 0;
}

/* Gathers a control frame's payload. Returns 1 with a CONTROL event, 0
 * when more bytes are needed (all consumed), or an error. */
static int control(struct collab_ws_parser *ps, const uint8_t *p, size_t len,
		   size_t *off, struct collab_ws_event *ev)
{
	size_t take = (size_t)ps->frame_len - ps->ctl_len;
	int rc;

	if (take > len - *off)
		take = len - *off;
	if (take) {
		memcpy(ps->ctl + ps->ctl_len, p + *off, take);
		if (ps->masked)
			collab_ws_mask(ps->ctl + ps->ctl_len, take, ps->mask, ps->ctl_len);
		ps->ctl_len = (uint8_t)(ps->ctl_len + take);
		*off += take;
	}
	if (ps->ctl_len < ps->frame_len)
		return 0;
	fill(ps, ev, COLLAB_WS_EV_CONTROL);
	ev->data = ps->ctl_len ? ps->ctl : NULL;
	ev->len = ps->ctl_len;
	ps->state = COLLAB_WS_ST_HEADER;
	if (ps->opcode == COLLAB_WS_OP_CLOSE) {
		rc = check_close(ps, ev);
		if (rc)
			return rc;
		/* RFC 6455 5.5.1: nothing may follow a close frame. The
		 * event goes out now; later calls get COLLAB_ECLOSED. */
		ps->err = COLLAB_ECLOSED;
		ps->err_close = 0;
	}
	return 1;
}

int collab_ws_parse(struct collab_ws_parser *ps, uint8_t *p, size_t len,
		    size_t *consumed, struct collab_ws_event *ev)
{
	size_t off = 0;
	int rc = 0;

	memset(ev, 0, sizeof(*ev));
	ev->type = COLLAB_WS_EV_NEED_MORE;
	*consumed = 0;
	if (ps->err)
		return ps->err;
	for (;;) {
		switch (ps->state) {
		case COLLAB_WS_ST_HEADER:
			rc = gather_header(ps, p, len, &off);
			if (rc)
				goto failed;
			if (ps->hdr_need == 0 || ps->hdr_len < ps->hdr_need)
				goto done;      /* off == len */
			if (begin_frame(ps, ev))
				goto done;
			break;
		case COLLAB_WS_ST_CONTROL:
			rc = control(ps, p, len, &off, ev);
			if (rc < 0)
				goto failed;
			goto done;
		case COLLAB_WS_ST_PAYLOAD:
			rc = payload(ps, p, len, &off, ev);
			if (rc < 0)
				goto failed;
			goto done;
		case COLLAB_WS_ST_FRAME_END:
			/* RFC 6455 8.1: a text message must end on a character
			 * boundary. */
			if (ps->fin && ps->msg_opcode == COLLAB_WS_OP_TEXT &&
			    collab_utf8_finish(&ps->utf8) != 0) {
				rc = COLLAB_EUTF8;
				goto failed;
			}
			fill(ps, ev, COLLAB_WS_EV_FRAME_END);
			ps->state = ps->fin ? COLLAB_WS_ST_MESSAGE_END : COLLAB_WS_ST_HEADER;
			goto done;
		case COLLAB_WS_ST_MESSAGE_END:
			fill(ps, ev, COLLAB_WS_EV_MESSAGE_END);
			ps->msg_opcode = 0;
			ps->msg_len = 0;
			ps->state = COLLAB_WS_ST_HEADER;
			goto done;
		default:
			rc = COLLAB_EINVAL;     /* a corrupted parser */
			goto failed;
		}
	}
done:
	*consumed = off;
	return 0;
failed:
	*consumed = off;
	memset(ev, 0, sizeof(*ev));
	return fail(ps, rc);
}

size_t collab_ws_header_len(uint64_t payload_len, bool masked)
{
	size_t n = 2;

	if (payload_len > 0xFFFF)
		n += 8;
	else if (payload_len > COLLAB_WS_MAX_CONTROL)
		n += 2;
	return masked ? n + 4 : n;
}

size_t collab_ws_header_encode(uint8_t out[COLLAB_WS_MAX_HEADER], bool fin,
			       enum collab_ws_opcode opcode, uint64_t payload_len,
			       const uint8_t *mask_key)
{
	size_t n = 2;
	unsigned op = (unsigned)opcode;

	switch (op) {
	case COLLAB_WS_OP_CONT:
	case COLLAB_WS_OP_TEXT:
	case COLLAB_WS_OP_BINARY:
		break;
	case COLLAB_WS_OP_CLOSE:
	case COLLAB_WS_OP_PING:
	case COLLAB_WS_OP_PONG:
		/* RFC 6455 5.5 */
		if (!fin || payload_len > COLLAB_WS_MAX_CONTROL)
			return 0;
		break;
	default:
		return 0;
	}
	/* RFC 6455 5.2: the 64-bit length's most significant bit is 0. */
	if (payload_len >> 63)
		return 0;
	out[0] = (uint8_t)((fin ? B0_FIN : 0) | op);
	out[1] = mask_key ? B1_MASK : 0;
	if (payload_len <= COLLAB_WS_MAX_CONTROL) {
		out[1] |= (uint8_t)payload_len;
	} else if (payload_len <= 0xFFFF) {
		out[1] |= LEN7_16BIT;
		out[2] = (uint8_t)(payload_len >> 8);
		out[3] = (uint8_t)payload_len;
		n = 4;
	} else {
		out[1] |= LEN7_64BIT;
		for (size_t i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
		n = 10;
	}
	if (mask_key) {
		memcpy(out + n, mask_key, 4);
		n += 4;
	}
	return n;
}

/*
 * The key repeats every 4 bytes, so an 8-byte word of it (rotated to
 * where p[0] sits in the payload) masks 8 bytes with one XOR. The main
 * loop does 32 bytes per turn; memcpy keeps the loads legal at any
 * alignment and compiles to plain moves.
 */
void collab_ws_mask(uint8_t *p, size_t len, const uint8_t key[4], uint64_t offset)
{
	uint8_t k[8];
	uint64_t kw, w0, w1, w2, w3;
	size_t i = 0;
	unsigned r = (unsigned)(offset & 3);

	for (unsigned j = 0; j < 8; j++)
		k[j] = key[(r + j) & 3];
	memcpy(&kw, k, 8);
	for (; len - i >= 32; i += 32) {
		memcpy(&w0, p + i, 8);
		memcpy(&w1, p + i + 8, 8);
		memcpy(&w2, p + i + 16, 8);
		memcpy(&w3, p + i + 24, 8);
		w0 ^= kw;
		w1 ^= kw;
		w2 ^= kw;
		w3 ^= kw;
		memcpy(p + i, &w0, 8);
		memcpy(p + i + 8, &w1, 8);
		memcpy(p + i + 16, &w2, 8);
		memcpy(p + i + 24, &w3, 8);
	}
	for (; len - i >= 8; i += 8) {
		memcpy(&w0, p + i, 8);
		w0 ^= kw;
		memcpy(p + i, &w0, 8);
	}
	/* i is a multiple of 8 here, so k[i & 3] lines up with payload
	 * position offset + i. */
	for (; i < len; i++)
		p[i] ^= k[i & 3];
}

int collab_ws_close_payload_encode(uint8_t *out, size_t cap, unsigned code,
				   const uint8_t *reason, size_t reason_len)
{
	if (code == COLLAB_WS_CLOSE_NO_STATUS && reason_len == 0)
		return 0;       /* RFC 6455 5.5.1: a close with no body */
	/* RFC 6455 7.4: only codes valid on the wire. */
	if (!collab_ws_close_code_valid(code))
		return COLLAB_EINVAL;
	/* RFC 6455 5.5: 125 bytes of payload, 2 of them the code. */
	if (reason_len > COLLAB_WS_MAX_CLOSE_REASON)
		return COLLAB_ELIMIT;
	/* RFC 6455 5.5.1: the reason is UTF-8. */
	if (collab_utf8_check(reason, reason_len) != 0)
		return COLLAB_EUTF8;
	if (cap < 2 || reason_len > cap - 2)
		return COLLAB_ESPACE;
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (reason_len)
		memcpy(out + 2, reason, reason_len);
	return (int)(reason_len + 2);
}

int collab_ws_frame_encode(uint8_t *out, size_t cap, bool fin,
			   enum collab_ws_opcode opcode, const uint8_t *payload,
			   size_t len, const uint8_t *mask_key, size_t *written)
{
	uint8_t hdr[COLLAB_WS_MAX_HEADER];
	size_t h = collab_ws_header_encode(hdr, fin, opcode, len, mask_key);

	if (h == 0)
		return COLLAB_EINVAL;
	if (h > cap || len > cap - h)
		return COLLAB_ESPACE;
	memcpy(out, hdr, h);
	if (len) {
		memcpy(out + h, payload, len);
		if (mask_key)
			collab_ws_mask(out + h, len, mask_key, 0);
	}
	*written = h + len;
	return 0;
}
