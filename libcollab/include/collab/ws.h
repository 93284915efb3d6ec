/*
 * collab/ws.h - RFC 6455 frame parser and encoder, both roles.
 *
 * The parser is incremental and never allocates: the caller hands it the
 * bytes it has read, in pieces of any size (one byte at a time included),
 * and gets back one event per call: a data frame's header, a chunk of its
 * payload, the end of the frame, the end of the message, or a whole
 * control frame. Splitting the input anywhere gives the same events (only
 * the cut of payload into DATA chunks differs) and the same result.
 *
 *     !!! THE PARSER UNMASKS PAYLOAD IN PLACE, IN THE CALLER'S BUFFER. !!!
 *
 * That is why collab_ws_parse() takes a non-const uint8_t *: a masked data
 * frame's payload bytes are XORed with the masking key where they lie, and
 * a DATA event is a view of them. This is what makes zero-copy delivery
 * possible: when a whole frame is in the buffer, its payload arrives as one
 * DATA event pointing into the buffer, ready to use.
 *
 * Typical use (error handling shortened):
 *
 *     size_t off = 0, used;
 *     for (;;) {
 *             if (collab_ws_parse(&ps, buf + off, len - off, &used, &ev) < 0)
 *                     -> close with collab_ws_parser_close_code(&ps)
 *             off += used;
 *             switch (ev.type) {
 *             case COLLAB_WS_EV_NEED_MORE: -> read into buf again, off = 0
 *             case COLLAB_WS_EV_DATA:
 *                     if (ev.opcode != COLLAB_WS_OP_CONT && ev.fin &&
 *                         ev.len == ev.frame_len)
 *                             -> the whole message is ev.data[0..ev.len):
 *                                use it in place, no copy
 *                     else -> append ev.data[0..ev.len) to the message
 *             case COLLAB_WS_EV_MESSAGE_END: -> deliver the message
 *             case COLLAB_WS_EV_CONTROL: -> answer a ping, handle a close
 *             (FRAME_HEADER and FRAME_END are there for callers that want
 *             them, e.g. to reserve room for a frame: frame_len.)
 *             }
 *     }
 *
 * The parser keeps a partial header or control payload itself, so after
 * NEED_MORE nothing in buf is needed any more except what the caller kept
 * views of: the whole read buffer may be reused.
 *
 * Everything the parser rejects fails the connection with a close code
 * (enum collab_ws_close): RFC 6455 framing errors with 1002, invalid UTF-8
 * in a text message or close reason with 1007, a frame or message over
 * the configured limits with 1009. Errors are sticky. A binary message is
 * parsed and reported like a text one (without the UTF-8 check): refusing
 * it (1003, PROTOCOL.md section 2) is the connection layer's call.
 *
 * The encoder writes frame headers (with or without a masking key, which
 * the caller draws from a CSPRNG: RFC 6455 10.3), masks payload in place,
 * and builds close payloads and small complete frames (control frames).
 *
 * Thread rules: a parser belongs to one thread; the functions keep no
 * global state, so different parsers may be used in different threads.
 */
#ifndef COLLAB_WS_H
#define COLLAB_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"
#include "collab/utf8.h"

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 6455 5.2 opcodes. Values 3-7 and 0xB-0xF are reserved (rejected). */
enum collab_ws_opcode {
	COLLAB_WS_OP_CONT = 0x0,
	COLLAB_WS_OP_TEXT = 0x1,
	COLLAB_WS_OP_BINARY = 0x2,
	COLLAB_WS_OP_CLOSE = 0x8,
	COLLAB_WS_OP_PING = 0x9,
	COLLAB_WS_OP_PONG = 0xA
};

/* Close status codes (RFC 6455 7.4.1 and the IANA registry) and the
 * application's own (PROTOCOL.md section 6). */
enum collab_ws_close {
	COLLAB_WS_CLOSE_NORMAL = 1000,
	COLLAB_WS_CLOSE_GOING_AWAY = 1001,       /* server shutting down */
	COLLAB_WS_CLOSE_PROTOCOL_ERROR = 1002,   /* any framing error */
	COLLAB_WS_CLOSE_UNSUPPORTED_DATA = 1003, /* a binary message */
	COLLAB_WS_CLOSE_NO_STATUS = 1005,        /* NEVER sent: close frame without a code */
	COLLAB_WS_CLOSE_ABNORMAL = 1006,         /* NEVER sent: no close frame at all */
	COLLAB_WS_CLOSE_INVALID_DATA = 1007,     /* invalid UTF-8 */
	COLLAB_WS_CLOSE_POLICY = 1008,           /* too many rejected operations */
	COLLAB_WS_CLOSE_TOO_BIG = 1009,          /* frame or message over the limit */
	COLLAB_WS_CLOSE_INTERNAL_ERROR = 1011,
	COLLAB_WS_CLOSE_TRY_AGAIN_LATER = 1013,  /* slow consumer */
	COLLAB_WS_CLOSE_BAD_HELLO = 4400,        /* first message not a good hello */
	COLLAB_WS_CLOSE_UNAUTHORIZED = 4401,     /* no valid token where one is needed */
	COLLAB_WS_CLOSE_FORBIDDEN = 4403,        /* token not for this tenant or page */
	COLLAB_WS_CLOSE_HELLO_TIMEOUT = 4408     /* no hello in time */
};

enum collab_ws_role {
	COLLAB_WS_SERVER = 0, /* parses client frames: they MUST be masked */
	COLLAB_WS_CLIENT = 1  /* parses server frames: they MUST NOT be masked */
};

/* Largest frame header: 2 + 8 (64-bit length) + 4 (masking key). */
#define COLLAB_WS_MAX_HEADER 14
/* RFC 6455 5.5: control frame payloads are at most 125 bytes. */
#define COLLAB_WS_MAX_CONTROL 125
/* RFC 6455 5.5.1: a close reason fits beside the 2-byte code. */
#define COLLAB_WS_MAX_CLOSE_REASON 123

/* Defaults filled in by collab_ws_config_init(). */
#define COLLAB_WS_SERVER_MAX_MESSAGE ((uint64_t)64 * 1024)        /* PROTOCOL.md 2 */
#define COLLAB_WS_CLIENT_MAX_MESSAGE ((uint64_t)16 * 1024 * 1024) /* >= 8 MiB, PROTOCOL.md 5 */

struct collab_ws_config {
	enum collab_ws_role role;
	/* Largest data frame payload accepted; a bigger one fails with 1009
	 * as soon as its length is read. Control frames are bounded by 125
	 * bytes (RFC 6455 5.5) whatever this says. */
	uint64_t max_frame_payload;
	/* Largest message (the payloads of all its frames) accepted; checked
	 * at each frame header against what the message already holds, so a
	 * message over it fails with 1009 before its excess is read. */
	uint64_t max_message_size;
};

/* Fills cfg with the defaults for role: both limits 64 KiB for a server,
 * 16 MiB for a client. */
void collab_ws_config_init(struct collab_ws_config *cfg, enum collab_ws_role role);

enum collab_ws_event_type {
	/* Every input byte was consumed and no event is complete: read more. */
	COLLAB_WS_EV_NEED_MORE = 0,
	/* A data frame's header: opcode, fin, frame_len, msg_opcode. */
	COLLAB_WS_EV_FRAME_HEADER,
	/* data/len: the next chunk (len >= 1) of the data frame's payload, a
	 * view into the caller's buffer, already unmasked (and, in a text
	 * message, already checked as UTF-8 so far). A frame whose payload
	 * is entirely in the buffer comes as ONE chunk: len == frame_len. */
	COLLAB_WS_EV_DATA,
	/* The data frame's payload is complete (also for a 0-length frame). */
	COLLAB_WS_EV_FRAME_END,
	/* The message is complete: follows the FRAME_END of the frame with
	 * FIN set. msg_offset is the message's total length; a text message
	 * has been checked as complete UTF-8. */
	COLLAB_WS_EV_MESSAGE_END,
	/* A whole ping, pong or close frame (opcode), payload in data/len,
	 * unmasked, in the parser's own buffer. Control frames may come
	 * between the frames of a fragmented message (RFC 6455 5.4): they do
	 * not disturb it, and msg_opcode says whether one is open. After a
	 * CLOSE event the parser is finished (see collab_ws_parse). */
	COLLAB_WS_EV_CONTROL
};

struct collab_ws_event {
	enum collab_ws_event_type type;
	/* The frame's opcode as sent (COLLAB_WS_OP_CONT for a continuation). */
	enum collab_ws_opcode opcode;
	/* The open data message's opcode (TEXT or BINARY) for the data-frame
	 * events; for CONTROL, the message open around it, or
	 * COLLAB_WS_OP_CONT when none is. */
	enum collab_ws_opcode msg_opcode;
	bool fin;
	uint64_t frame_len;    /* the frame's payload length */
	uint64_t frame_offset; /* DATA: position of data[0] in the frame's payload */
	/* Message bytes before this event's data: DATA the position of
	 * data[0] in the message, FRAME_HEADER the bytes of earlier frames,
	 * FRAME_END and MESSAGE_END all bytes so far. */
	uint64_t msg_offset;
	/* DATA: into the caller's buffer, valid while the caller keeps those
	 * bytes. CONTROL: into the parser, valid until the next call on it.
	 * NULL when len is 0. */
	uint8_t *data;
	size_t len;
	/* CONTROL with opcode CLOSE: the code (already checked valid by RFC
	 * 6455 7.4), or COLLAB_WS_CLOSE_NO_STATUS for an empty payload; the
	 * reason (checked UTF-8) is a view into data. 0 and empty otherwise. */
	uint16_t close_code;
	struct collab_str close_reason;
};

enum collab_ws_state {
	COLLAB_WS_ST_HEADER = 0,
	COLLAB_WS_ST_PAYLOAD,
	COLLAB_WS_ST_CONTROL,
	COLLAB_WS_ST_FRAME_END,
	COLLAB_WS_ST_MESSAGE_END
};

/* Caller-owned parser state. All fields are private: use the functions. */
struct collab_ws_parser {
	struct collab_ws_config cfg;
	enum collab_ws_state state;
	int err;                  /* sticky error, 0 while healthy */
	uint16_t err_close;       /* close code for err */
	uint8_t hdr[COLLAB_WS_MAX_HEADER];
	uint8_t hdr_len;          /* header bytes gathered */
	uint8_t hdr_need;         /* full header size, 0 until 2 bytes seen */
	uint8_t len_checked;      /* the length field has been validated */
	uint8_t opcode, fin, masked;
	uint8_t mask[4];
	uint64_t frame_len;       /* current frame's payload length */
	uint64_t frame_done;      /* payload bytes of it consumed */
	uint8_t msg_opcode;       /* open message: TEXT, BINARY, or 0 */
	uint64_t msg_len;         /* payload bytes of the open message */
	struct collab_utf8 utf8;  /* text message validator */
	uint8_t ctl_len;
	uint8_t ctl[COLLAB_WS_MAX_CONTROL];
};

/*
 * Initialises ps for cfg (copied; NULL: collab_ws_config_init defaults for
 * a server). Returns 0, or COLLAB_EINVAL for an unknown role or a zero
 * limit (ps then unusable).
 */
int collab_ws_parser_init(struct collab_ws_parser *ps,
			  const struct collab_ws_config *cfg);

/* Back to the state right after init (same config), errors cleared. */
void collab_ws_parser_reset(struct collab_ws_parser *ps);

/*
 * Parses from p[0..len): consumes what it needs to produce at most one
 * event, stores it in *ev and the bytes consumed in *consumed. The caller
 * then calls again with the rest of its bytes (p + *consumed), or with new
 * bytes once the answer is COLLAB_WS_EV_NEED_MORE, which comes only when
 * every byte was consumed. Some events consume nothing (FRAME_END,
 * MESSAGE_END) and may come with len 0, so the caller MUST loop until
 * NEED_MORE (or an error), not until its bytes run out.
 *
 * p: the caller's bytes, MODIFIED: payload of masked data frames within
 * the consumed range is unmasked in place (control frame payload is copied
 * out and unmasked in the parser, and left as it was in p). Bytes past
 * *consumed are never modified; the next call must see them again.
 * p may be NULL only when len is 0.
 *
 * Returns 0 with ev filled, or a negative code; the connection must then
 * be closed with collab_ws_parser_close_code(ps):
 *   COLLAB_EPROTO  framing error (1002): RFC 6455 5.2 reserved bits or
 *                  opcode, non-minimal or 64-bit-top-bit length, masking
 *                  against the role (5.1), control frame fragmented or over
 *                  125 bytes (5.5), continuation with no message open or a
 *                  new message inside an open one (5.4), close payload of 1
 *                  byte or with an invalid code (5.5.1, 7.4).
 *   COLLAB_EUTF8   invalid UTF-8 in a text message or close reason (1007,
 *                  RFC 6455 8.1). In a text message it fails at the first
 *                  bad byte, without waiting for the end of the frame: the
 *                  valid bytes before it come first as a DATA event, and
 *                  the next call returns the error.
 *   COLLAB_ELIMIT  frame or message over the configured limits (1009).
 *   COLLAB_ECLOSED after a CLOSE event: the peer may send nothing more
 *                  (RFC 6455 5.5.1), so the parser reads nothing more
 *                  (close code 0: the close was already reported).
 * Errors are sticky: every later call returns the same code and consumes
 * nothing. *consumed then holds the bytes read before the error was found.
 */
int collab_ws_parse(struct collab_ws_parser *ps, uint8_t *p, size_t len,
		    size_t *consumed, struct collab_ws_event *ev);

/* The close code for the parser's sticky error (1002, 1007 or 1009), or 0
 * when it has none (healthy, or only finished by a peer's close). */
uint16_t collab_ws_parser_close_code(const struct collab_ws_parser *ps);

/*
 * true when ps holds nothing of the stream: no partial frame header, no
 * control payload or data frame under way, no fragmented message open and
 * no error. An idle parser is interchangeable with a freshly initialised
 * one of the same config, so a connection layer may parse with a shared
 * scratch parser and keep a copy of the state (about 250 bytes) only for
 * connections whose last read ended inside a frame or message.
 */
bool collab_ws_parser_idle(const struct collab_ws_parser *ps);

/* true for close, ping and pong (RFC 6455 5.5: opcodes 0x8-0xF). */
bool collab_ws_opcode_is_control(unsigned opcode);

/*
 * true when code may appear in a close frame (RFC 6455 7.4): 1000-1003,
 * 1007-1014 (1012-1014 are IANA-registered; 1013 is ours for a slow
 * consumer) and 3000-4999. 1004-1006, 1015, 0-999, 1016-2999 and >= 5000
 * are not.
 */
bool collab_ws_close_code_valid(unsigned code);

/* Header size for a frame of payload_len bytes: 2, 4 or 10, plus 4 when
 * masked. */
size_t collab_ws_header_len(uint64_t payload_len, bool masked);

/*
 * Writes a frame header into out (room for COLLAB_WS_MAX_HEADER bytes)
 * with the minimal length encoding (RFC 6455 5.2). mask_key: 4 bytes, or
 * NULL for an unmasked frame (a server's); the caller masks the payload
 * itself with collab_ws_mask(). Returns the header length, or 0 (nothing
 * written) for what no valid frame has: an unknown opcode, a control
 * frame without fin or over 125 bytes, payload_len >= 2^63.
 */
size_t collab_ws_header_encode(uint8_t out[COLLAB_WS_MAX_HEADER], bool fin,
			       enum collab_ws_opcode opcode, uint64_t payload_len,
			       const uint8_t *mask_key);

/*
 * XORs p[0..len) in place with key (4 bytes), where p[0] is byte `offset`
 * of the frame's payload, so a payload masked piece by piece gets the same
 * result as in one go. Masking and unmasking are the same operation.
 * p may be NULL only when len is 0.
 */
void collab_ws_mask(uint8_t *p, size_t len, const uint8_t key[4], uint64_t offset);

/*
 * Writes a close frame payload (RFC 6455 5.5.1): the 2-byte code then the
 * reason. code MUST satisfy collab_ws_close_code_valid(), or be
 * COLLAB_WS_CLOSE_NO_STATUS with an empty reason, which gives an empty
 * payload. reason: UTF-8, at most 123 bytes; NULL only when reason_len
 * is 0. Returns the payload length (0..125), or COLLAB_EINVAL (bad code),
 * COLLAB_ELIMIT (reason too long), COLLAB_EUTF8 (reason not UTF-8),
 * COLLAB_ESPACE (cap too small; out untouched on every failure).
 */
int collab_ws_close_payload_encode(uint8_t *out, size_t cap, unsigned code,
				   const uint8_t *reason, size_t reason_len);

/*
 * Writes a whole frame (header, then payload masked with mask_key when it
 * is not NULL) into out (capacity cap), for control frames and other
 * small frames already in memory. payload is not modified; it may be NULL
 * only when len is 0 and MUST NOT overlap out. Returns 0 and sets
 * *written, COLLAB_EINVAL when collab_ws_header_encode() refuses the
 * frame, or COLLAB_ESPACE when cap is too small (out untouched).
 */
int collab_ws_frame_encode(uint8_t *out, size_t cap, bool fin,
			   enum collab_ws_opcode opcode, const uint8_t *payload,
			   size_t len, const uint8_t *mask_key, size_t *written);

#ifdef __cplusplus
}
#endif
#endif
