/*
 * check_ws.c - the RFC 6455 frame parser and encoder.
 *
 * Parser tests are written as (input, expected event log) pairs. Inputs
 * use a small notation: hex pairs, 'text' for ASCII bytes, {N*XX} for N
 * copies of byte XX, and <KKKKKKKK: ...> which emits the masking key
 * KKKKKKKK and then masks everything up to '>' with it. The log is one
 * token per event:
 *
 *   H<op>,<fin>,<len>;  data frame header     F;            frame end
 *   D<bytes>;           the frame's DATA      M<op>,<len>;  message end
 *   C<op>,<bytes>;      ping/pong             C8,<code>,<reason>;  close
 *   .                   ended needing more    !<close code>  error
 *   !closed             input after a close frame
 *
 * where <bytes> is 'text' (printable ASCII), hex, or {N*XX}. DATA chunks
 * are joined per frame, so every way of splitting the input must give the
 * same log: each input is fed whole, one byte at a time, at every split
 * point, and (when short) at every pair of split points, each piece copied
 * to end on a guard page. The runner also checks every event's fields
 * against what came before, that unconsumed bytes are never modified, and
 * that errors are sticky.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/ws.h"
#include "testutil.h"

/* Check's ck_assert_* record every passing assertion (a write to a temp
 * file each); the runner makes millions, so its hot paths use these,
 * which only call into Check on failure. */
#define REQ(c) do { \
	if (!(c)) \
		ck_abort_msg("line %d: %s", __LINE__, #c); \
} while (0)
#define REQ_EQ(a, b) do { \
	unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
	if (a_ != b_) \
		ck_abort_msg("line %d: %s == %s (%llu != %llu)", __LINE__, #a, #b, a_, b_); \
} while (0)

/* ------------------------------------------------------------------ */
/* growable bytes and text for the test harness                        */

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void b_put(struct bytes *b, const void *src, size_t n)
{
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 64;
		while (n > cap - b->len)
			cap *= 2;
		b->p = realloc(b->p, cap);
		REQ(b->p != NULL);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void b_byte(struct bytes *b, uint8_t c)
{
	b_put(b, &c, 1);
}

static void log_add(struct bytes *l, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	REQ(n >= 0 && (size_t)n < sizeof(tmp));
	b_put(l, tmp, (size_t)n);
}

/* Returns the log as a C string (owned by l). */
static const char *log_str(struct bytes *l)
{
	b_byte(l, 0);
	l->len--;
	return (const char *)l->p;
}

static void log_repr(struct bytes *l, const uint8_t *p, size_t n)
{
	size_t i;
	bool printable = true, same = n > 0;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '\'')
			printable = false;
		if (p[i] != p[0])
			same = false;
	}
	if (n > 48 && same) {
		log_add(l, "{%zu*%02x}", n, p[0]);
	} else if (n > 48) {
		uint64_t h = 14695981039346656037ull;   /* FNV-1a */
		for (i = 0; i < n; i++)
			h = (h ^ p[i]) * 1099511628211ull;
		log_add(l, "#%zu:%016llx", n, (unsigned long long)h);
	} else if (printable) {
		b_byte(l, '\'');
		b_put(l, p, n);
		b_byte(l, '\'');
	} else {
		for (i = 0; i < n; i++)
			log_add(l, "%02x", p[i]);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static uint8_t hexbyte(const char *s)
{
	int hi = hexval(s[0]), lo = hexval(s[1]);
	if (hi < 0 || lo < 0)
		ck_abort_msg("bad hex at \"%.8s\"", s);
	return (uint8_t)(hi << 4 | lo);
}

/* Builds bytes from the notation described at the top. */
static struct bytes build(const char *s)
{
	struct bytes b = { NULL, 0, 0 };
	uint8_t key[4] = { 0, 0, 0, 0 }, c;
	bool masking = false;
	size_t moff = 0;

#define EMIT(x) do { c = (uint8_t)(x); if (masking) c ^= key[moff++ & 3]; b_byte(&b, c); } while (0)
	while (*s) {
		if (*s == ' ' || *s == '\n') {
			s++;
		} else if (*s == '\'') {
			for (s++; *s != '\''; s++) {
				REQ(*s != 0);
				EMIT(*s);
			}
			s++;
		} else if (*s == '{') {
			char *end;
			unsigned long n = strtoul(s + 1, &end, 10);
			REQ(*end == '*');
			c = hexbyte(end + 1);
			REQ(end[3] == '}');
			uint8_t v = c;
			for (unsigned long i = 0; i < n; i++)
				EMIT(v);
			s = end + 4;
		} else if (*s == '<') {
			for (int i = 0; i < 4; i++) {
				key[i] = hexbyte(s + 1 + 2 * i);
				b_byte(&b, key[i]);
			}
			REQ(s[9] == ':');
			masking = true;
			moff = 0;
			s += 10;
		} else if (*s == '>') {
			masking = false;
			s++;
		} else {
			EMIT(hexbyte(s));
			s += 2;
		}
	}
#undef EMIT
	return b;
}

/* ------------------------------------------------------------------ */
/* the runner                                                          */

struct run {
	struct collab_ws_parser ps;
	struct bytes log;
	struct bytes data;      /* DATA bytes of the current frame */
	uint64_t frame_off;     /* expected next frame_offset */
	uint64_t msg_off;       /* expected next msg_offset */
	unsigned msg_op;        /* open message, as the events told us */
	uint64_t frame_len;
	int rc;
};

static void run_init(struct run *r, const struct collab_ws_config *cfg)
{
	memset(r, 0, sizeof(*r));
	REQ_EQ(collab_ws_parser_init(&r->ps, cfg), 0);
}

static void run_free(struct run *r)
{
	free(r->log.p);
	free(r->data.p);
}

static void flush_data(struct run *r)
{
	if (r->data.len) {
		b_byte(&r->log, 'D');
		log_repr(&r->log, r->data.p, r->data.len);
		b_byte(&r->log, ';');
		r->data.len = 0;
	}
}

static unsigned close_for(int rc)
{
	switch (rc) {
	case COLLAB_EPROTO: return 1002;
	case COLLAB_EUTF8: return 1007;
	case COLLAB_ELIMIT: return 1009;
	default: return 0;
	}
}

static void on_error(struct run *r, int rc)
{
	struct collab_ws_event ev;
	uint8_t junk[3] = { 0x81, 0x80, 0 };
	size_t used = 99;

	flush_data(r);
	r->rc = rc;
	REQ(rc == COLLAB_EPROTO || rc == COLLAB_EUTF8 ||
	    rc == COLLAB_ELIMIT || rc == COLLAB_ECLOSED);
	REQ_EQ(collab_ws_parser_close_code(&r->ps), close_for(rc));
	if (rc == COLLAB_ECLOSED)
		log_add(&r->log, "!closed");
	else
		log_add(&r->log, "!%u", close_for(rc));
	/* sticky: same code, nothing consumed, no event */
	REQ_EQ(collab_ws_parse(&r->ps, junk, sizeof(junk), &used, &ev), rc);
	REQ_EQ(used, 0);
	REQ_EQ(ev.type, COLLAB_WS_EV_NEED_MORE);
	REQ_EQ(junk[0], 0x81);
}

/* Feeds one piece (p: a guard copy of orig[0..len)) until the parser needs
 * more or fails. */
static void run_feed(struct run *r, uint8_t *p, const uint8_t *orig, size_t len)
{
	size_t off = 0;

	while (r->rc == 0) {
		struct collab_ws_event ev;
		size_t used = 12345;
		uint8_t *q = p ? p + off : NULL;
		int rc = collab_ws_parse(&r->ps, q, len - off, &used, &ev);

		REQ(used <= len - off);
		/* bytes past what was consumed are never touched */
		if (len - off - used)
			REQ(memcmp(q + used, orig + off + used, len - off - used) == 0);
		if (rc < 0) {
			REQ_EQ(ev.type, COLLAB_WS_EV_NEED_MORE);
			on_error(r, rc);
			return;
		}
		REQ_EQ(rc, 0);
		/* only DATA modifies the bytes it consumed */
		if (ev.type != COLLAB_WS_EV_DATA && used)
			REQ(memcmp(q, orig + off, used) == 0);
		switch (ev.type) {
		case COLLAB_WS_EV_NEED_MORE:
			REQ_EQ(used, len - off);
			return;
		case COLLAB_WS_EV_FRAME_HEADER:
			REQ_EQ(r->data.len, 0);
			REQ(!collab_ws_opcode_is_control(ev.opcode));
			if (ev.opcode != COLLAB_WS_OP_CONT) {
				REQ_EQ(r->msg_op, 0);
				r->msg_op = ev.opcode;
				r->msg_off = 0;
			} else {
				REQ(r->msg_op != 0);
			}
			REQ_EQ(ev.msg_opcode, r->msg_op);
			REQ_EQ(ev.msg_offset, r->msg_off);
			REQ(ev.data == NULL && ev.len == 0);
			r->frame_off = 0;
			r->frame_len = ev.frame_len;
			log_add(&r->log, "H%X,%d,%llu;", ev.opcode, ev.fin,
				(unsigned long long)ev.frame_len);
			break;
		case COLLAB_WS_EV_DATA:
			REQ(ev.data == q);        /* zero-copy view */
			REQ_EQ(ev.len, used);
			REQ(ev.len > 0);
			REQ_EQ(ev.frame_offset, r->frame_off);
			REQ_EQ(ev.msg_offset, r->msg_off);
			REQ_EQ(ev.frame_len, r->frame_len);
			REQ_EQ(ev.msg_opcode, r->msg_op);
			REQ(ev.len <= r->frame_len - r->frame_off);
			b_put(&r->data, ev.data, ev.len);
			r->frame_off += ev.len;
			r->msg_off += ev.len;
			break;
		case COLLAB_WS_EV_FRAME_END:
			REQ_EQ(used, 0);
			REQ_EQ(r->frame_off, ev.frame_len);
			REQ_EQ(ev.msg_offset, r->msg_off);
			REQ_EQ(ev.msg_opcode, r->msg_op);
			flush_data(r);
			log_add(&r->log, "F;");
			break;
		case COLLAB_WS_EV_MESSAGE_END:
			REQ_EQ(used, 0);
			REQ(ev.fin);
			REQ_EQ(ev.msg_opcode, r->msg_op);
			REQ_EQ(ev.msg_offset, r->msg_off);
			log_add(&r->log, "M%X,%llu;", ev.msg_opcode,
				(unsigned long long)ev.msg_offset);
			r->msg_op = 0;
			r->msg_off = 0;
			break;
		case COLLAB_WS_EV_CONTROL:
			REQ(collab_ws_opcode_is_control(ev.opcode));
			REQ(ev.fin);
			REQ_EQ(ev.msg_opcode, r->msg_op);
			REQ_EQ(ev.frame_len, ev.len);
			REQ(ev.len <= 125);
			REQ((ev.data == NULL) == (ev.len == 0));
			if (ev.opcode == COLLAB_WS_OP_CLOSE) {
				log_add(&r->log, "C8,%u,", ev.close_code);
				log_repr(&r->log, (const uint8_t *)ev.close_reason.p,
					 ev.close_reason.len);
				if (ev.len)
					REQ(ev.close_reason.p == (const char *)ev.data + 2);
				REQ_EQ(ev.close_reason.len, ev.len ? ev.len - 2 : 0);
			} else {
				REQ_EQ(ev.close_code, 0);
				log_add(&r->log, "C%X,", ev.opcode);
				log_repr(&r->log, ev.data, ev.len);
			}
			b_byte(&r->log, ';');
			break;
		default:
			ck_abort_msg("event type %d", ev.type);
		}
		off += used;
	}
}

/* Parses in[0..n) cut at cuts[0..ncuts) (ascending, repeats allowed: an
 * empty piece) and returns the log (caller frees). */
static char *run_cuts(const struct collab_ws_config *cfg, const uint8_t *in,
		      size_t n, const size_t *cuts, size_t ncuts)
{
	struct run r;
	size_t start = 0;
	char *out;

	run_init(&r, cfg);
	for (size_t i = 0; i <= ncuts && r.rc == 0; i++) {
		size_t end = cuts && i < ncuts ? cuts[i] : n;
		struct guard_buf g = guard_copy(in + start, end - start);
		REQ(g.p != NULL);
		run_feed(&r, g.p, in + start, end - start);
		guard_free(&g);
		start = end;
	}
	if (r.rc == 0)
		run_feed(&r, NULL, NULL, 0);    /* NULL with 0 bytes is fine */
	if (r.rc == 0) {
		flush_data(&r);
		log_add(&r.log, ".");
	}
	out = strdup(log_str(&r.log));
	REQ(out != NULL);
	run_free(&r);
	return out;
}

static void expect_log(const char *what, const char *name, char *got,
		       const char *want)
{
	if (strcmp(got, want) != 0)
		ck_abort_msg("%s, %s:\n got  %s\n want %s", name, what, got, want);
	free(got);
}

/* Feeds an input every way the file comment lists; every log MUST be
 * `want`. Inputs over 2 KiB are cut at the first and last 64 points and
 * every 509th between (each cut costs two copies of the input). */
static void check_all_splits(const struct collab_ws_config *cfg,
			     const uint8_t *in, size_t n, const char *want,
			     const char *name)
{
	size_t *cuts = malloc((n ? n : 1) * sizeof(*cuts));
	size_t k[2];

	REQ(cuts != NULL);
	expect_log("whole", name, run_cuts(cfg, in, n, NULL, 0), want);
	for (size_t i = 1; i < n; i++)
		cuts[i - 1] = i;
	expect_log("byte at a time", name,
		   run_cuts(cfg, in, n, cuts, n ? n - 1 : 0), want);
	for (size_t i = 0; i <= n; i++) {
		if (n > 2048 && i > 64 && n - i > 64 && i % 509)
			continue;
		k[0] = i;
		expect_log("one split", name, run_cuts(cfg, in, n, k, 1), want);
	}
	if (n <= 48) {
		for (size_t i = 0; i <= n; i++)
			for (size_t j = i; j <= n; j++) {
				k[0] = i;
				k[1] = j;
				expect_log("two splits", name,
					   run_cuts(cfg, in, n, k, 2), want);
			}
	}
	free(cuts);
}

/* ------------------------------------------------------------------ */
/* the parser table                                                    */

#define KEY "00000000"  /* a zero key leaves the payload readable */

struct pcase {
	const char *name;
	enum collab_ws_role role;
	uint64_t max_frame, max_msg;    /* 0: the role's default */
	const char *in;
	const char *log;
};

#define S COLLAB_WS_SERVER
#define C COLLAB_WS_CLIENT

static const struct pcase pcases[] = {
	/* RFC 6455 5.7, verbatim */
	{ "rfc 5.7 single-frame unmasked text", C, 0, 0,
	  "81 05 48 65 6c 6c 6f", "H1,1,5;D'Hello';F;M1,5;." },
	{ "rfc 5.7 single-frame masked text", S, 0, 0,
	  "81 85 37 fa 21 3d 7f 9f 4d 51 58", "H1,1,5;D'Hello';F;M1,5;." },
	{ "rfc 5.7 fragmented unmasked text", C, 0, 0,
	  "01 03 48 65 6c 80 02 6c 6f",
	  "H1,0,3;D'Hel';F;H0,1,2;D'lo';F;M1,5;." },
	{ "rfc 5.7 unmasked ping", C, 0, 0,
	  "89 05 48 65 6c 6c 6f", "C9,'Hello';." },
	{ "rfc 5.7 masked pong", S, 0, 0,
	  "8a 85 37 fa 21 3d 7f 9f 4d 51 58", "CA,'Hello';." },
	{ "rfc 5.7 256 bytes binary, 16-bit length", C, 0, 0,
	  "82 7E 0100 {256*a5}", "H2,1,256;D{256*a5};F;M2,256;." },
	{ "rfc 5.7 64 KiB binary, 64-bit length", C, 0, 0,
	  "82 7F 0000000000010000 {65536*5a}",
	  "H2,1,65536;D{65536*5a};F;M2,65536;." },

	/* accepted */
	{ "masked binary, key not zero", S, 0, 0,
	  "82 88 <01020304: 0102030405060708 >", "H2,1,8;D0102030405060708;F;M2,8;." },
	{ "masked text, 16-bit length", S, 0, 0,
	  "81 fe 007e <a1b2c3d4: {126*61}>", "H1,1,126;D{126*61};F;M1,126;." },
	{ "masked 64 KiB binary at the server limit", S, 0, 0,
	  "82 ff 0000000000010000 <deadbeef: {65536*00}>",
	  "H2,1,65536;D{65536*00};F;M2,65536;." },
	{ "two messages back to back", S, 0, 0,
	  "81 82" KEY "'ab' 82 81" KEY "ff",
	  "H1,1,2;D'ab';F;M1,2;H2,1,1;Dff;F;M2,1;." },
	{ "empty text message", S, 0, 0,
	  "81 80" KEY, "H1,1,0;F;M1,0;." },
	{ "empty binary message in two empty frames", S, 0, 0,
	  "02 80" KEY "80 80" KEY, "H2,0,0;F;H0,1,0;F;M2,0;." },
	{ "empty ping and pong", S, 0, 0,
	  "89 80" KEY "8a 80" KEY, "C9,'';CA,'';." },
	{ "ping of 125 bytes", S, 0, 0,
	  "89 fd <0badf00d: {125*77}>", "C9,{125*77};." },
	{ "binary message reported as binary", S, 0, 0,
	  "82 82" KEY "fffe", "H2,1,2;Dfffe;F;M2,2;." },
	{ "unmasked server text in the client role", C, 0, 0,
	  "81 02 'hi'", "H1,1,2;D'hi';F;M1,2;." },
	{ "frame incomplete: need more", S, 0, 0,
	  "81 85" KEY "'Hel'", "H1,1,5;D'Hel';." },
	{ "header incomplete: need more", S, 0, 0,
	  "81 fe 00", "." },
	{ "ping inside a fragmented text message", S, 0, 0,
	  "01 83" KEY "'Hel' 89 82" KEY "'hi' 80 82" KEY "'lo'",
	  "H1,0,3;D'Hel';F;C9,'hi';H0,1,2;D'lo';F;M1,5;." },
	{ "pong and ping between three fragments", S, 0, 0,
	  "02 81" KEY "01 8a 80" KEY "00 81" KEY "02 89 81" KEY "'x' 80 81" KEY "03",
	  "H2,0,1;D01;F;CA,'';H0,0,1;D02;F;C9,'x';H0,1,1;D03;F;M2,3;." },
	{ "close inside a fragmented message", S, 0, 0,
	  "01 83" KEY "'Hel' 88 82" KEY "03e8",
	  "H1,0,3;D'Hel';F;C8,1000,'';!closed" },
	{ "close with reason", S, 0, 0,
	  "88 85 <5a5a5a5a: 03e8 'bye'>", "C8,1000,'bye';!closed" },
	{ "close without payload", S, 0, 0,
	  "88 80" KEY, "C8,1005,'';!closed" },
	{ "close with code 4400 and UTF-8 reason", C, 0, 0,
	  "88 06 1130 'h' c3a9 'l'", "C8,4400,68c3a96c;!closed" },
	{ "frames after a close", S, 0, 0,
	  "88 82" KEY "03e8 81 80" KEY, "C8,1000,'';!closed" },
	{ "4-byte UTF-8 split across 3 frames", S, 0, 0,
	  "01 81" KEY "f0 00 82" KEY "9f98 80 81" KEY "80",
	  "H1,0,1;Df0;F;H0,0,2;D9f98;F;H0,1,1;D80;F;M1,4;." },
	{ "UTF-8 across fragments with a ping between", S, 0, 0,
	  "01 82" KEY "'a' e2 89 80" KEY "80 82" KEY "82ac",
	  "H1,0,2;D61e2;F;C9,'';H0,1,2;D82ac;F;M1,4;." },
	{ "valid UTF-8 mixed with long ASCII runs", S, 0, 0,
	  "81 a3 <13572468: 'abcdefghijklmnop' c3a9 'qrstuvw' e282ac 'xyz' f09f9880 >",
	  "H1,1,35;D6162636465666768696a6b6c6d6e6f70c3a971727374757677e282ac78797af09f9880;F;M1,35;." },

	/* RFC 6455 5.2: reserved bits */
	{ "RSV1 set", S, 0, 0, "c1 80" KEY, "!1002" },
	{ "RSV2 set", S, 0, 0, "a1 80" KEY, "!1002" },
	{ "RSV3 set", S, 0, 0, "91 80" KEY, "!1002" },
	{ "RSV on a continuation", S, 0, 0,
	  "01 81" KEY "'a' c0 81" KEY "'b'", "H1,0,1;D'a';F;!1002" },
	{ "RSV on a ping", S, 0, 0, "c9 80" KEY, "!1002" },

	/* RFC 6455 5.5: control frames */
	{ "ping with 126-byte payload", S, 0, 0,
	  "89 fe 007e" KEY "{126*00}", "!1002" },
	{ "pong with 64-bit length", S, 0, 0,
	  "8a ff 0000000000010000", "!1002" },
	{ "close with 126-byte payload", C, 0, 0, "88 7e 007e", "!1002" },
	{ "fragmented ping", S, 0, 0, "09 80" KEY, "!1002" },
	{ "fragmented close", S, 0, 0, "08 80" KEY, "!1002" },
	{ "fragmented pong", C, 0, 0, "0a 00", "!1002" },

	/* RFC 6455 5.2: minimal length encoding, 64-bit MSB */
	{ "16-bit length of 125", S, 0, 0, "82 fe 007d" KEY, "!1002" },
	{ "16-bit length of 0", S, 0, 0, "82 fe 0000", "!1002" },
	{ "64-bit length of 65535", S, 0, 0,
	  "82 ff 000000000000ffff" KEY, "!1002" },
	{ "64-bit length of 126", C, 0, 0, "82 7f 000000000000007e", "!1002" },
	{ "64-bit length of 0", C, 0, 0, "82 7f 0000000000000000", "!1002" },
	{ "64-bit length with the top bit set", C, 0, 0,
	  "82 7f 8000000000010000", "!1002" },
	{ "64-bit length all ones", S, 0, 0, "82 ff ffffffffffffffff", "!1002" },
	{ "non-minimal length fails before the key", S, 0, 0,
	  "82 fe 0005", "!1002" },

	/* RFC 6455 5.4: fragmentation */
	{ "continuation without a message", S, 0, 0, "80 80" KEY, "!1002" },
	{ "non-final continuation without a message", C, 0, 0, "00 00", "!1002" },
	{ "continuation after a complete message", S, 0, 0,
	  "81 81" KEY "'a' 80 81" KEY "'b'", "H1,1,1;D'a';F;M1,1;!1002" },
	{ "text inside a fragmented message", S, 0, 0,
	  "01 81" KEY "'a' 81 81" KEY "'b'", "H1,0,1;D'a';F;!1002" },
	{ "binary inside a fragmented message", S, 0, 0,
	  "01 81" KEY "'a' 02 81" KEY "'b'", "H1,0,1;D'a';F;!1002" },

	/* RFC 6455 5.1: masking by role */
	{ "unmasked client frame", S, 0, 0, "81 05 'Hello'", "!1002" },
	{ "unmasked client ping", S, 0, 0, "89 00", "!1002" },
	{ "masked server frame", C, 0, 0,
	  "81 85 37 fa 21 3d 7f 9f 4d 51 58", "!1002" },

	/* RFC 6455 5.5.1 and 7.4: close payload */
	{ "close payload of 1 byte", S, 0, 0, "88 81" KEY "03", "!1002" },
	{ "close payload of 1 byte after a ping of 2", S, 0, 0,
	  "89 82" KEY "03e8 88 81" KEY "03", "C9,03e8;!1002" },
	{ "close code 1005 on the wire", S, 0, 0, "88 82" KEY "03ed", "!1002" },
	{ "close code 999", C, 0, 0, "88 02 03e7", "!1002" },
	{ "close code 5000", C, 0, 0, "88 02 1388", "!1002" },
	{ "close code valid, reason bad UTF-8", S, 0, 0,
	  "88 84" KEY "03e8 'a' ff", "!1007" },
	{ "close reason truncated UTF-8", C, 0, 0, "88 04 03e8 'a' e2", "!1007" },
	{ "close code invalid and reason bad", C, 0, 0, "88 03 0000 ff", "!1002" },

	/* RFC 6455 8.1: UTF-8 in text messages */
	{ "invalid byte mid-frame: valid prefix, then 1007", S, 0, 0,
	  "81 85" KEY "'ab' ff 'cd'", "H1,1,5;D'ab';!1007" },
	{ "invalid byte, masked, at once", S, 0, 0,
	  "81 85 <11223344: 'ab' ff 'cd'>", "H1,1,5;D'ab';!1007" },
	{ "fails before the frame is complete", S, 0, 0,
	  "81 8a" KEY "'ab' ff", "H1,1,10;D'ab';!1007" },
	{ "invalid first byte", S, 0, 0, "81 81" KEY "80", "H1,1,1;!1007" },
	{ "4-byte UTF-8 across 3 frames, bad last byte", S, 0, 0,
	  "01 81" KEY "f0 00 82" KEY "9f98 80 81" KEY "41",
	  "H1,0,1;Df0;F;H0,0,2;D9f98;F;H0,1,1;!1007" },
	{ "UTF-8 bad in the second fragment's middle", S, 0, 0,
	  "01 82" KEY "'a' e2 80 82" KEY "82 c0",
	  "H1,0,2;D61e2;F;H0,1,2;D82;!1007" },
	{ "text message ends mid-sequence", S, 0, 0,
	  "81 82" KEY "'a' e2", "H1,1,2;D61e2;!1007" },
	{ "text message ends mid-sequence over fragments", S, 0, 0,
	  "01 81" KEY "e2 80 81" KEY "82", "H1,0,1;De2;F;H0,1,1;D82;!1007" },
	{ "surrogate", S, 0, 0, "81 83" KEY "eda080", "H1,1,3;Ded;!1007" },
	{ "overlong", S, 0, 0, "81 82" KEY "c0 af", "H1,1,2;!1007" },
	{ "above U+10FFFF", S, 0, 0, "81 84" KEY "f4908080", "H1,1,4;Df4;!1007" },
	{ "bad byte after a long ASCII run", S, 0, 0,
	  "81 94" KEY "'0123456789abcdef' 'xy' ff 'z'",
	  "H1,1,20;D'0123456789abcdefxy';!1007" },
	{ "ASCII inside an open sequence", S, 0, 0,
	  "81 92" KEY "e2 'abcdefghijklmnopq'", "H1,1,18;De2;!1007" },
	{ "ASCII word after an open sequence over fragments", S, 0, 0,
	  "01 81" KEY "e2 80 91" KEY "'abcdefghijklmnopq'", "H1,0,1;De2;F;H0,1,17;!1007" },

	/* limits: exactly at, and one past */
	{ "message at the limit", S, 10, 10,
	  "81 8a" KEY "{10*61}", "H1,1,10;D'aaaaaaaaaa';F;M1,10;." },
	{ "message one past the limit", S, 10, 10, "81 8b" KEY, "!1009" },
	{ "fragments at the limit", S, 10, 10,
	  "01 85" KEY "{5*61} 80 85" KEY "{5*62}",
	  "H1,0,5;D'aaaaa';F;H0,1,5;D'bbbbb';F;M1,10;." },
	{ "fragments one past the limit", S, 10, 10,
	  "01 85" KEY "{5*61} 80 86" KEY "{6*62}", "H1,0,5;D'aaaaa';F;!1009" },
	{ "frame at the frame limit", S, 4, 10,
	  "01 84" KEY "'abcd' 00 84" KEY "'efgh' 80 82" KEY "'ij'",
	  "H1,0,4;D'abcd';F;H0,0,4;D'efgh';F;H0,1,2;D'ij';F;M1,10;." },
	{ "frame one past the frame limit", S, 4, 10, "81 85" KEY, "!1009" },
	{ "message one past over frames at the frame limit", S, 4, 10,
	  "01 84" KEY "'abcd' 00 84" KEY "'efgh' 80 83" KEY "'ijk'",
	  "H1,0,4;D'abcd';F;H0,0,4;D'efgh';F;!1009" },
	{ "default server limit one past", S, 0, 0,
	  "82 ff 0000000000010001", "!1009" },
	{ "largest legal length over the limit", S, 0, 0,
	  "82 ff 7fffffffffffffff", "!1009" },
	{ "continuation of 2^63-1 after 5 bytes", C, 0, 0,
	  "02 05 'abcde' 80 7f 7fffffffffffffff", "H2,0,5;D'abcde';F;!1009" },
	{ "no limit: 2^63-1 after 5 bytes", C, UINT64_MAX, UINT64_MAX,
	  "02 05 'abcde' 80 7f 7fffffffffffffff 'xy'",
	  "H2,0,5;D'abcde';F;H0,1,9223372036854775807;D'xy';." },
	{ "control frames are not counted", S, 4, 4,
	  "01 84" KEY "'abcd' 89 85" KEY "'12345' 80 80" KEY,
	  "H1,0,4;D'abcd';F;C9,'12345';H0,1,0;F;M1,4;." },
};

static struct collab_ws_config pcase_cfg(const struct pcase *t)
{
	struct collab_ws_config cfg;

	collab_ws_config_init(&cfg, t->role);
	if (t->max_frame)
		cfg.max_frame_payload = t->max_frame;
	if (t->max_msg)
		cfg.max_message_size = t->max_msg;
	return cfg;
}

START_TEST(test_parse_table)
{
	const struct pcase *t = &pcases[_i];
	struct collab_ws_config cfg = pcase_cfg(t);
	struct bytes in = build(t->in);

	check_all_splits(&cfg, in.p, in.len, t->log, t->name);
	free(in.p);
}
END_TEST

/* Every opcode, as a masked empty frame to a server. */
START_TEST(test_parse_opcodes)
{
	static const char *const want[16] = {
		"!1002", "H1,1,0;F;M1,0;.", "H2,1,0;F;M2,0;.", "!1002",
		"!1002", "!1002", "!1002", "!1002",
		"C8,1005,'';!closed", "C9,'';.", "CA,'';.", "!1002",
		"!1002", "!1002", "!1002", "!1002",
	};
	struct collab_ws_config cfg;
	uint8_t in[6] = { (uint8_t)(0x80 | _i), 0x80, 0, 0, 0, 0 };
	char name[32];

	collab_ws_config_init(&cfg, COLLAB_WS_SERVER);
	snprintf(name, sizeof(name), "opcode %d", _i);
	check_all_splits(&cfg, in, sizeof(in), want[_i], name);
}
END_TEST

/* Close codes through the parser: the valid ones are reported, the rest
 * fail with 1002. */
START_TEST(test_parse_close_codes)
{
	static const unsigned codes[] = {
		0, 1, 999, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007,
		1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015, 1016, 1100,
		2000, 2999, 3000, 3999, 4000, 4400, 4401, 4403, 4408, 4999,
		5000, 65535,
	};
	struct collab_ws_config cfg;

	collab_ws_config_init(&cfg, COLLAB_WS_CLIENT);
	for (size_t i = 0; i < ARRAY_LEN(codes); i++) {
		uint8_t in[4] = { 0x88, 0x02, (uint8_t)(codes[i] >> 8), (uint8_t)codes[i] };
		char want[48], name[32];
		if (collab_ws_close_code_valid(codes[i]))
			snprintf(want, sizeof(want), "C8,%u,'';!closed", codes[i]);
		else
			snprintf(want, sizeof(want), "!1002");
		snprintf(name, sizeof(name), "close code %u", codes[i]);
		check_all_splits(&cfg, in, sizeof(in), want, name);
	}
}
END_TEST

/* A whole frame in the buffer is delivered as one view, unmasked in place
 * right after its header: zero copy. */
START_TEST(test_zero_copy)
{
	uint8_t buf[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d,
			  0x51, 0x58, 0x89, 0x80, 1, 2, 3, 4 };
	struct collab_ws_parser ps;
	struct collab_ws_event ev;
	size_t used, off = 0;

	ck_assert_int_eq(collab_ws_parser_init(&ps, NULL), 0);
	ck_assert_int_eq(collab_ws_parse(&ps, buf, sizeof(buf), &used, &ev), 0);
	ck_assert_int_eq(ev.type, COLLAB_WS_EV_FRAME_HEADER);
	ck_assert_uint_eq(used, 6);
	ck_assert_int_eq(ev.opcode, COLLAB_WS_OP_TEXT);
	ck_assert(ev.fin);
	ck_assert_uint_eq(ev.frame_len, 5);
	off += used;
	ck_assert_int_eq(collab_ws_parse(&ps, buf + off, sizeof(buf) - off, &used, &ev), 0);
	ck_assert_int_eq(ev.type, COLLAB_WS_EV_DATA);
	ck_assert(ev.data == buf + 6);
	ck_assert_uint_eq(ev.len, 5);
	ck_assert(memcmp(buf + 6, "Hello", 5) == 0);   /* unmasked in place */
	off += used;
	ck_assert_int_eq(collab_ws_parse(&ps, buf + off, sizeof(buf) - off, &used, &ev), 0);
	ck_assert_int_eq(ev.type, COLLAB_WS_EV_FRAME_END);
	ck_assert_int_eq(collab_ws_parse(&ps, buf + off, sizeof(buf) - off, &used, &ev), 0);
	ck_assert_int_eq(ev.type, COLLAB_WS_EV_MESSAGE_END);
	ck_assert_uint_eq(ev.msg_offset, 5);
	ck_assert_int_eq(collab_ws_parse(&ps, buf + off, sizeof(buf) - off, &used, &ev), 0);
	ck_assert_int_eq(ev.type, COLLAB_WS_EV_CONTROL);
	ck_assert_int_eq(ev.opcode, COLLAB_WS_OP_PING);
	ck_assert_int_eq(ev.msg_opcode, COLLAB_WS_OP_CONT);
	ck_assert_uint_eq(used, 6);
	off += used;
	ck_assert_int_eq(collab_ws_parse(&ps, buf + off, sizeof(buf) - off, &used, &ev), 0);
	ck_assert_int_eq(ev.type, COLLAB_WS_EV_NEED_MORE);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(collab_ws_parser_close_code(&ps), 0);
}
END_TEST

/* A control payload split over reads arrives whole, and the masked bytes
 * in the caller's buffer are left as they were. */
START_TEST(test_control_split)
{
	uint8_t a[] = { 0x89, 0x85, 0x37, 0xfa, 0x21 };
	uint8_t b[] = { 0x3d, 0x7f, 0x9f };
	uint8_t c[] = { 0x4d, 0x51, 0x58 };
	struct collab_ws_parser ps;
	struct collab_ws_event ev;
	size_t used;

	ck_assert_int_eq(collab_ws_parser_init(&ps, NULL), 0);
	ck_assert_int_eq(collab_ws_parse(&ps, a, sizeof(a), &used, &ev), 0);
	ck_assert_int_eq(ev.type, COLLAB_WS_EV_NEED_MORE);
	ck_assert_int_eq(collab_ws_parse(&ps, b, sizeof(b), &used, &ev), 0);
	ck_assert_int_eq(ev.type, COLLAB_WS_EV_NEED_MORE);
	ck_assert_int_eq(collab_ws_parse(&ps, c, sizeof(c), &used, &ev), 0);
	ck_assert_int_eq(ev.type, COLLAB_WS_EV_CONTROL);
	ck_assert_uint_eq(used, 3);
	ck_assert_uint_eq(ev.len, 5);
	ck_assert(memcmp(ev.data, "Hello", 5) == 0);
	ck_assert_uint_eq(b[0], 0x3d);
	ck_assert_uint_eq(c[2], 0x58);
}
END_TEST

START_TEST(test_sticky_and_reset)
{
	uint8_t bad[] = { 0xc1, 0x80, 0, 0, 0, 0 };
	uint8_t good[] = { 0x89, 0x80, 0, 0, 0, 0 };
	struct collab_ws_parser ps;
	struct collab_ws_event ev;
	size_t used;

	ck_assert_int_eq(collab_ws_parser_init(&ps, NULL), 0);
	ck_assert_int_eq(collab_ws_parse(&ps, bad, sizeof(bad), &used, &ev), COLLAB_EPROTO);
	ck_assert_uint_eq(collab_ws_parser_close_code(&ps), 1002);
	ck_assert_int_eq(collab_ws_parse(&ps, good, sizeof(good), &used, &ev), COLLAB_EPROTO);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(collab_ws_parse(&ps, NULL, 0, &used, &ev), COLLAB_EPROTO);
	collab_ws_parser_reset(&ps);
	ck_assert_uint_eq(collab_ws_parser_close_code(&ps), 0);
	ck_assert_int_eq(collab_ws_parse(&ps, good, sizeof(good), &used, &ev), 0);
	ck_assert_int_eq(ev.type, COLLAB_WS_EV_CONTROL);
	ck_assert_uint_eq(used, 6);
	ck_assert_int_eq(ps.cfg.role, COLLAB_WS_SERVER);
}
END_TEST

START_TEST(test_config)
{
	struct collab_ws_config cfg;
	struct collab_ws_parser ps;

	collab_ws_config_init(&cfg, COLLAB_WS_SERVER);
	ck_assert_int_eq(cfg.role, COLLAB_WS_SERVER);
	ck_assert_uint_eq(cfg.max_message_size, 65536);
	ck_assert_uint_eq(cfg.max_frame_payload, 65536);
	collab_ws_config_init(&cfg, COLLAB_WS_CLIENT);
	ck_assert_int_eq(cfg.role, COLLAB_WS_CLIENT);
	ck_assert_uint_ge(cfg.max_message_size, 8u * 1024 * 1024);
	ck_assert_uint_ge(cfg.max_frame_payload, 8u * 1024 * 1024);
	ck_assert_int_eq(collab_ws_parser_init(&ps, &cfg), 0);
	ck_assert_int_eq(ps.cfg.role, COLLAB_WS_CLIENT);
	cfg.max_message_size = 0;
	ck_assert_int_eq(collab_ws_parser_init(&ps, &cfg), COLLAB_EINVAL);
	collab_ws_config_init(&cfg, COLLAB_WS_CLIENT);
	cfg.max_frame_payload = 0;
	ck_assert_int_eq(collab_ws_parser_init(&ps, &cfg), COLLAB_EINVAL);
	collab_ws_config_init(&cfg, COLLAB_WS_CLIENT);
	cfg.role = (enum collab_ws_role)7;
	ck_assert_int_eq(collab_ws_parser_init(&ps, &cfg), COLLAB_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* RFC 6455 7.4.1/7.4.2 and the IANA registry, as a table of ranges. */
static const struct {
	unsigned lo, hi;
	bool valid;
} close_ranges[] = {
	{ 0, 999, false },      /* 7.4.2: not used */
	{ 1000, 1003, true },   /* normal, going away, protocol, data */
	{ 1004, 1004, false },  /* reserved */
	{ 1005, 1006, false },  /* MUST NOT be sent */
	{ 1007, 1011, true },   /* invalid data, policy, too big, ext, internal */
	{ 1012, 1014, true },   /* IANA: restart, try again later, bad gateway */
	{ 1015, 1015, false },  /* TLS failure: MUST NOT be sent */
	{ 1016, 2999, false },  /* reserved for the protocol */
	{ 3000, 4999, true },   /* registered libraries / private use */
	{ 5000, 65535, false },
};

START_TEST(test_close_code_valid)
{
	for (unsigned code = 0; code <= 65535; code++) {
		bool want = false, found = false;
		for (size_t i = 0; i < ARRAY_LEN(close_ranges); i++)
			if (code >= close_ranges[i].lo && code <= close_ranges[i].hi) {
				REQ(!found);
				found = true;
				want = close_ranges[i].valid;
			}
		REQ(found);
		ck_assert_msg(collab_ws_close_code_valid(code) == want, "code %u", code);
	}
	REQ(!collab_ws_close_code_valid(70000));
	REQ(collab_ws_close_code_valid(COLLAB_WS_CLOSE_TRY_AGAIN_LATER));
	REQ(collab_ws_close_code_valid(COLLAB_WS_CLOSE_HELLO_TIMEOUT));
	REQ(!collab_ws_close_code_valid(COLLAB_WS_CLOSE_NO_STATUS));
	REQ(!collab_ws_close_code_valid(COLLAB_WS_CLOSE_ABNORMAL));
}
END_TEST

START_TEST(test_close_enum_values)
{
	ck_assert_int_eq(COLLAB_WS_CLOSE_NORMAL, 1000);
	ck_assert_int_eq(COLLAB_WS_CLOSE_GOING_AWAY, 1001);
	ck_assert_int_eq(COLLAB_WS_CLOSE_PROTOCOL_ERROR, 1002);
	ck_assert_int_eq(COLLAB_WS_CLOSE_UNSUPPORTED_DATA, 1003);
	ck_assert_int_eq(COLLAB_WS_CLOSE_INVALID_DATA, 1007);
	ck_assert_int_eq(COLLAB_WS_CLOSE_POLICY, 1008);
	ck_assert_int_eq(COLLAB_WS_CLOSE_TOO_BIG, 1009);
	ck_assert_int_eq(COLLAB_WS_CLOSE_INTERNAL_ERROR, 1011);
	ck_assert_int_eq(COLLAB_WS_CLOSE_TRY_AGAIN_LATER, 1013);
	ck_assert_int_eq(COLLAB_WS_CLOSE_BAD_HELLO, 4400);
	ck_assert_int_eq(COLLAB_WS_CLOSE_UNAUTHORIZED, 4401);
	ck_assert_int_eq(COLLAB_WS_CLOSE_FORBIDDEN, 4403);
	ck_assert_int_eq(COLLAB_WS_CLOSE_HELLO_TIMEOUT, 4408);
}
END_TEST

START_TEST(test_opcode_is_control)
{
	for (unsigned op = 0; op < 16; op++)
		ck_assert(collab_ws_opcode_is_control(op) == (op >= 8));
	ck_assert(!collab_ws_opcode_is_control(0x18));
	ck_assert(!collab_ws_opcode_is_control(0x100));
}
END_TEST

/* ------------------------------------------------------------------ */
/* encoder                                                             */

struct hcase {
	bool fin;
	unsigned op;
	uint64_t len;
	const char *key;        /* 8 hex digits or NULL */
	const char *want;       /* hex, "" when refused */
};

static const struct hcase hcases[] = {
	{ true, COLLAB_WS_OP_TEXT, 5, NULL, "8105" },                   /* RFC 5.7 */
	{ true, COLLAB_WS_OP_TEXT, 5, "37fa213d", "818537fa213d" },     /* RFC 5.7 */
	{ false, COLLAB_WS_OP_TEXT, 3, NULL, "0103" },                  /* RFC 5.7 */
	{ true, COLLAB_WS_OP_CONT, 2, NULL, "8002" },                   /* RFC 5.7 */
	{ true, COLLAB_WS_OP_PING, 5, NULL, "8905" },                   /* RFC 5.7 */
	{ true, COLLAB_WS_OP_PONG, 5, "37fa213d", "8a8537fa213d" },     /* RFC 5.7 */
	{ true, COLLAB_WS_OP_BINARY, 256, NULL, "827e0100" },           /* RFC 5.7 */
	{ true, COLLAB_WS_OP_BINARY, 65536, NULL, "827f0000000000010000" }, /* RFC 5.7 */
	{ true, COLLAB_WS_OP_BINARY, 0, NULL, "8200" },
	{ true, COLLAB_WS_OP_BINARY, 125, NULL, "827d" },
	{ true, COLLAB_WS_OP_BINARY, 126, NULL, "827e007e" },
	{ true, COLLAB_WS_OP_BINARY, 65535, NULL, "827effff" },
	{ false, COLLAB_WS_OP_CONT, 65535, "01020304", "00feffff01020304" },
	{ true, COLLAB_WS_OP_BINARY, 0x7fffffffffffffffull, "a0b0c0d0",
	  "82ff7fffffffffffffffa0b0c0d0" },
	{ true, COLLAB_WS_OP_CLOSE, 125, NULL, "887d" },
	{ true, COLLAB_WS_OP_CLOSE, 0, "00000000", "888000000000" },
	{ true, COLLAB_WS_OP_BINARY, 0x8000000000000000ull, NULL, "" },
	{ true, COLLAB_WS_OP_PING, 126, NULL, "" },
	{ false, COLLAB_WS_OP_PING, 1, NULL, "" },
	{ false, COLLAB_WS_OP_CLOSE, 0, NULL, "" },
	{ true, 3, 1, NULL, "" },
	{ true, 7, 1, NULL, "" },
	{ true, 0xB, 1, NULL, "" },
	{ true, 0xF, 1, NULL, "" },
	{ true, 0x11, 1, NULL, "" },
};

START_TEST(test_header_encode)
{
	const struct hcase *t = &hcases[_i];
	uint8_t out[COLLAB_WS_MAX_HEADER + 2], key[4];
	struct bytes want = build(t->want);
	size_t n;

	if (t->key)
		for (int i = 0; i < 4; i++)
			key[i] = hexbyte(t->key + 2 * i);
	memset(out, 0xee, sizeof(out));
	n = collab_ws_header_encode(out, t->fin, (enum collab_ws_opcode)t->op,
				    t->len, t->key ? key : NULL);
	ck_assert_uint_eq(n, want.len);
	if (n) {
		ck_assert(memcmp(out, want.p, n) == 0);
		ck_assert_uint_eq(n, collab_ws_header_len(t->len, t->key != NULL));
	}
	ck_assert_uint_eq(out[n], 0xee);
	free(want.p);
}
END_TEST

static void mask_ref(uint8_t *p, size_t len, const uint8_t key[4], uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		p[i] ^= key[(off + i) % 4];
}

/* Word-wise masking equals the byte-wise definition (RFC 6455 5.3) at
 * every length, key offset and alignment, and in any pieces. */
START_TEST(test_mask)
{
	const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	uint8_t a[160], b[160], c[160];

	for (size_t align = 0; align < 8; align++)
		for (size_t len = 0; len <= 140; len++)
			for (uint64_t off = 0; off < 9; off++) {
				for (size_t i = 0; i < sizeof(a); i++)
					a[i] = b[i] = (uint8_t)(i * 7 + len);
				collab_ws_mask(a + align, len, key, off);
				mask_ref(b + align, len, key, off);
				REQ(memcmp(a, b, sizeof(a)) == 0);
			}
	for (size_t len = 0; len <= 140; len++)
		for (size_t cut = 0; cut <= len; cut++) {
			for (size_t i = 0; i < len; i++)
				a[i] = c[i] = (uint8_t)(i * 13);
			collab_ws_mask(a, cut, key, 0);
			collab_ws_mask(a + cut, len - cut, key, cut);
			collab_ws_mask(c, len, key, 0);
			REQ(memcmp(a, c, len) == 0);
			collab_ws_mask(a, len, key, 0);         /* involution */
			for (size_t i = 0; i < len; i++)
				REQ_EQ(a[i], (uint8_t)(i * 13));
		}
	collab_ws_mask(NULL, 0, key, 0);
	/* RFC 5.7: "Hello" with key 37fa213d */
	memcpy(a, "Hello", 5);
	collab_ws_mask(a, 5, key, 0);
	REQ(memcmp(a, "\x7f\x9f\x4d\x51\x58", 5) == 0);
	/* a large offset keeps only its low bits */
	memcpy(a, "Hello", 5);
	collab_ws_mask(a, 5, key, 0x100000000ull);
	REQ(memcmp(a, "\x7f\x9f\x4d\x51\x58", 5) == 0);
}
END_TEST

START_TEST(test_close_payload_encode)
{
	uint8_t out[130], reason[130];

	memset(reason, 'r', sizeof(reason));
	ck_assert_int_eq(collab_ws_close_payload_encode(out, sizeof(out), 1000,
							(const uint8_t *)"bye", 3), 5);
	ck_assert(memcmp(out, "\x03\xe8" "bye", 5) == 0);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, 2, 4408, NULL, 0), 2);
	ck_assert(memcmp(out, "\x11\x38", 2) == 0);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, sizeof(out), 1013,
							(const uint8_t *)"\xc3\xa9", 2), 4);
	ck_assert(memcmp(out, "\x03\xf5\xc3\xa9", 4) == 0);
	/* 1005: the empty payload */
	ck_assert_int_eq(collab_ws_close_payload_encode(NULL, 0, 1005, NULL, 0), 0);
	/* reason of 123 bytes fits, 124 does not */
	ck_assert_int_eq(collab_ws_close_payload_encode(out, 125, 4999, reason, 123), 125);
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(collab_ws_close_payload_encode(out, sizeof(out), 4999, reason, 124),
			 COLLAB_ELIMIT);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, sizeof(out), 1005,
							(const uint8_t *)"x", 1), COLLAB_EINVAL);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, sizeof(out), 1004, NULL, 0),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, sizeof(out), 1006, NULL, 0),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, sizeof(out), 999, NULL, 0),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, sizeof(out), 5000, NULL, 0),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, sizeof(out), 66536, NULL, 0),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, sizeof(out), 1000,
							(const uint8_t *)"a\xff", 2), COLLAB_EUTF8);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, sizeof(out), 1000,
							(const uint8_t *)"a\xe2\x82", 3), COLLAB_EUTF8);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, 4, 1000,
							(const uint8_t *)"bye", 3), COLLAB_ESPACE);
	ck_assert_int_eq(collab_ws_close_payload_encode(out, 1, 1000, NULL, 0), COLLAB_ESPACE);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_uint_eq(out[i], 0xee);
}
END_TEST

START_TEST(test_frame_encode)
{
	const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	uint8_t out[200], payload[126];
	size_t w = 0;

	/* RFC 6455 5.7, both directions */
	ck_assert_int_eq(collab_ws_frame_encode(out, sizeof(out), true, COLLAB_WS_OP_TEXT,
						(const uint8_t *)"Hello", 5, key, &w), 0);
	ck_assert_uint_eq(w, 11);
	ck_assert(memcmp(out, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11) == 0);
	ck_assert_int_eq(collab_ws_frame_encode(out, 7, true, COLLAB_WS_OP_PING,
						(const uint8_t *)"Hello", 5, NULL, &w), 0);
	ck_assert_uint_eq(w, 7);
	ck_assert(memcmp(out, "\x89\x05Hello", 7) == 0);
	ck_assert_int_eq(collab_ws_frame_encode(out, sizeof(out), true, COLLAB_WS_OP_PONG,
						NULL, 0, NULL, &w), 0);
	ck_assert_uint_eq(w, 2);
	ck_assert(memcmp(out, "\x8a\x00", 2) == 0);
	memset(payload, 'p', sizeof(payload));
	ck_assert_int_eq(collab_ws_frame_encode(out, sizeof(out), true, COLLAB_WS_OP_BINARY,
						payload, 126, NULL, &w), 0);
	ck_assert_uint_eq(w, 130);
	ck_assert(memcmp(out, "\x82\x7e\x00\x7e", 4) == 0);
	ck_assert_uint_eq(payload[0], 'p');     /* the source is not masked */
	/* refused */
	w = 77;
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(collab_ws_frame_encode(out, 10, true, COLLAB_WS_OP_TEXT,
						(const uint8_t *)"Hello", 5, key, &w), COLLAB_ESPACE);
	ck_assert_int_eq(collab_ws_frame_encode(out, 1, true, COLLAB_WS_OP_PONG,
						NULL, 0, NULL, &w), COLLAB_ESPACE);
	ck_assert_int_eq(collab_ws_frame_encode(out, sizeof(out), true, COLLAB_WS_OP_PING,
						payload, 126, NULL, &w), COLLAB_EINVAL);
	ck_assert_int_eq(collab_ws_frame_encode(out, sizeof(out), false, COLLAB_WS_OP_CLOSE,
						NULL, 0, NULL, &w), COLLAB_EINVAL);
	ck_assert_int_eq(collab_ws_frame_encode(out, sizeof(out), true,
						(enum collab_ws_opcode)4, NULL, 0, NULL, &w),
			 COLLAB_EINVAL);
	ck_assert_uint_eq(w, 77);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_uint_eq(out[i], 0xee);
}
END_TEST

/* ------------------------------------------------------------------ */
/* round trips: random valid streams encoded, then parsed in the role   */
/* that reads them                                                      */

static uint64_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

/* Appends one frame, masked when `masked`, the mask applied in two pieces
 * to exercise the offset. */
static void put_frame(struct bytes *out, uint64_t *seed, bool masked, bool fin,
		      enum collab_ws_opcode op, const uint8_t *p, size_t n)
{
	uint8_t hdr[COLLAB_WS_MAX_HEADER], key[4];
	size_t h, start, cut;

	for (int i = 0; i < 4; i++)
		key[i] = (uint8_t)rnd(seed);
	h = collab_ws_header_encode(hdr, fin, op, n, masked ? key : NULL);
	ck_assert_uint_gt(h, 0);
	ck_assert_uint_eq(h, collab_ws_header_len(n, masked));
	b_put(out, hdr, h);
	start = out->len;
	b_put(out, p, n);
	if (masked) {
		cut = n ? rnd(seed) % (n + 1) : 0;
		collab_ws_mask(out->p + start, cut, key, 0);
		collab_ws_mask(out->p + start + cut, n - cut, key, cut);
	}
}

static void put_control(struct bytes *out, struct bytes *log, uint64_t *seed,
			bool masked)
{
	uint8_t p[125], frame[140];
	size_t n = rnd(seed) % 126, w;
	enum collab_ws_opcode op = rnd(seed) % 2 ? COLLAB_WS_OP_PING : COLLAB_WS_OP_PONG;
	uint8_t key[4] = { (uint8_t)rnd(seed), 1, 2, (uint8_t)rnd(seed) };

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd(seed);
	ck_assert_int_eq(collab_ws_frame_encode(frame, sizeof(frame), true, op, p, n,
						masked ? key : NULL, &w), 0);
	b_put(out, frame, w);
	log_add(log, "C%X,", op);
	log_repr(log, p, n);
	b_byte(log, ';');
}

/* Random valid UTF-8 (ASCII runs and 2-, 3- and 4-byte characters). */
static void gen_text(struct bytes *b, uint64_t *seed, size_t want)
{
	static const char *const chars[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
					     "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf", "\xc2\x80" };
	while (b->len < want) {
		if (rnd(seed) % 4) {
			b_byte(b, (uint8_t)(0x20 + rnd(seed) % 0x5f));
		} else {
			const char *c = chars[rnd(seed) % ARRAY_LEN(chars)];
			b_put(b, c, strlen(c));
		}
	}
}

static void gen_stream(enum collab_ws_role parser_role, uint64_t seed,
		       uint64_t max_msg, struct bytes *out, struct bytes *log)
{
	bool masked = parser_role == COLLAB_WS_SERVER;
	size_t nmsg = 1 + rnd(&seed) % 4;
	static const size_t sizes[] = { 0, 1, 7, 125, 126, 300, 4096, 65535, 65536, 70000 };

	for (size_t m = 0; m < nmsg; m++) {
		struct bytes msg = { NULL, 0, 0 };
		bool text = rnd(&seed) % 2;
		size_t want = sizes[rnd(&seed) % ARRAY_LEN(sizes)], off = 0;
		size_t nfrag = 1 + rnd(&seed) % 4;

		if (want > max_msg)
			want = (size_t)max_msg;
		if (text) {
			gen_text(&msg, &seed, want);
			while (msg.len > max_msg)       /* trim to a boundary */
				msg.len--;
			while (msg.len && (msg.p[msg.len - 1] & 0x80) &&
			       collab_utf8_check(msg.p, msg.len) != 0)
				msg.len--;
		} else {
			for (size_t i = 0; i < want; i++)
				b_byte(&msg, (uint8_t)rnd(&seed));
		}
		for (size_t f = 0; f < nfrag; f++) {
			bool last = f + 1 == nfrag;
			size_t n = last ? msg.len - off : rnd(&seed) % (msg.len - off + 1);
			enum collab_ws_opcode op = f ? COLLAB_WS_OP_CONT :
				(text ? COLLAB_WS_OP_TEXT : COLLAB_WS_OP_BINARY);
			put_frame(out, &seed, masked, last, op, msg.p ? msg.p + off : NULL, n);
			log_add(log, "H%X,%d,%zu;", op, last, n);
			if (n) {
				b_byte(log, 'D');
				log_repr(log, msg.p + off, n);
				b_byte(log, ';');
			}
			log_add(log, "F;");
			off += n;
			if (!last && rnd(&seed) % 3 == 0)
				put_control(out, log, &seed, masked);
		}
		log_add(log, "M%X,%zu;", text ? 1 : 2, msg.len);
		free(msg.p);
		if (rnd(&seed) % 4 == 0)
			put_control(out, log, &seed, masked);
	}
	if (rnd(&seed) % 3 == 0) {
		uint8_t payload[125], frame[140];
		unsigned code = 3000 + (unsigned)(rnd(&seed) % 2000);
		size_t w;
		int n = collab_ws_close_payload_encode(payload, sizeof(payload), code,
						       (const uint8_t *)"gone \xe2\x82\xac", 8);
		ck_assert_int_eq(n, 10);
		uint8_t key[4] = { 9, 8, 7, 6 };
		ck_assert_int_eq(collab_ws_frame_encode(frame, sizeof(frame), true,
							COLLAB_WS_OP_CLOSE, payload, (size_t)n,
							masked ? key : NULL, &w), 0);
		b_put(out, frame, w);
		log_add(log, "C8,%u,", code);
		log_repr(log, (const uint8_t *)"gone \xe2\x82\xac", 8);
		log_add(log, ";!closed");
	} else {
		log_add(log, ".");
	}
}

START_TEST(test_round_trip)
{
	enum collab_ws_role role = _i % 2 ? COLLAB_WS_CLIENT : COLLAB_WS_SERVER;
	struct collab_ws_config cfg;
	struct bytes in = { NULL, 0, 0 }, log = { NULL, 0, 0 };
	uint64_t seed = (uint64_t)(unsigned)_i;
	size_t cuts[8];
	char name[48];

	seed = seed * 0x9e3779b97f4a7c15ull + 1;
	collab_ws_config_init(&cfg, role);
	gen_stream(role, seed, role == COLLAB_WS_SERVER ? cfg.max_message_size : 200000,
		   &in, &log);
	snprintf(name, sizeof(name), "round trip %d (%s)", _i,
		 role == COLLAB_WS_SERVER ? "server" : "client");
	expect_log("whole", name, run_cuts(&cfg, in.p, in.len, NULL, 0), log_str(&log));
	for (int k = 0; k < 6; k++) {
		for (size_t i = 0; i < ARRAY_LEN(cuts); i++)
			cuts[i] = in.len ? rnd(&seed) % (in.len + 1) : 0;
		for (size_t i = 1; i < ARRAY_LEN(cuts); i++)    /* sort */
			for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
				size_t t = cuts[j];
				cuts[j] = cuts[j - 1];
				cuts[j - 1] = t;
			}
		expect_log("random cuts", name,
			   run_cuts(&cfg, in.p, in.len, cuts, ARRAY_LEN(cuts)), log_str(&log));
	}
	if (in.len <= 20000) {
		size_t *all = malloc(in.len * sizeof(*all) + 1);
		ck_assert_ptr_nonnull(all);
		for (size_t i = 1; i < in.len; i++)
			all[i - 1] = i;
		expect_log("byte at a time", name,
			   run_cuts(&cfg, in.p, in.len, all, in.len ? in.len - 1 : 0),
			   log_str(&log));
		free(all);
	}
	free(in.p);
	free(log.p);
}
END_TEST

static Suite *ws_suite(void)
{
	Suite *s = suite_create("ws");
	TCase *tc = tcase_create("parser");

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_parse_table, 0, (int)ARRAY_LEN(pcases));
	tcase_add_loop_test(tc, test_parse_opcodes, 0, 16);
	tcase_add_test(tc, test_parse_close_codes);
	tcase_add_test(tc, test_zero_copy);
	tcase_add_test(tc, test_control_split);
	tcase_add_test(tc, test_sticky_and_reset);
	tcase_add_test(tc, test_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, test_close_code_valid);
	tcase_add_test(tc, test_close_enum_values);
	tcase_add_test(tc, test_opcode_is_control);
	suite_add_tcase(s, tc);

	tc = tcase_create("encoder");
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_header_encode, 0, (int)ARRAY_LEN(hcases));
	tcase_add_test(tc, test_mask);
	tcase_add_test(tc, test_close_payload_encode);
	tcase_add_test(tc, test_frame_encode);
	tcase_add_loop_test(tc, test_round_trip, 0, 40);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ws_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
