/*
 * collab/utf8.h - incremental UTF-8 validation (RFC 3629).
 *
 * The validator's state survives any split of the input, so a WebSocket
 * text message can be checked fragment by fragment, one byte at a time if
 * need be. It rejects overlong forms, UTF-16 surrogates (U+D800..U+DFFF),
 * code points above U+10FFFF and bytes that can never appear (C0, C1,
 * F5..FF), and it fails at the first byte that makes the input invalid
 * (Unicode's "maximal subpart" practice): a truncated sequence followed by
 * an ASCII byte fails at that ASCII byte.
 */
#ifndef COLLAB_UTF8_H
#define COLLAB_UTF8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Caller-owned validator state. Zero it, or call collab_utf8_init(). */
struct collab_utf8 {
	uint32_t need;   /* continuation bytes still expected */
	uint8_t lo, hi;  /* allowed range of the next continuation byte */
	uint8_t failed;  /* sticky: once invalid, always invalid */
};

void collab_utf8_init(struct collab_utf8 *v);

/*
 * Feeds len bytes. Returns 0 when every byte so far is valid (a sequence
 * may still be open), or COLLAB_EUTF8 when the input is invalid; then
 * *bad_at (if not NULL) is the index within this call's p of the first byte
 * that made it invalid (on success *bad_at is left untouched). Once failed,
 * every later call returns COLLAB_EUTF8 with *bad_at 0. p may be NULL only
 * when len is 0. Nothing at or past p + len is read.
 */
int collab_utf8_feed(struct collab_utf8 *v, const uint8_t *p, size_t len,
		     size_t *bad_at);

/* Returns 0 when the input fed so far ends on a character boundary and was
 * valid, COLLAB_EUTF8 otherwise (a truncated final sequence). */
int collab_utf8_finish(const struct collab_utf8 *v);

/* One-shot: 0 when p[0..len) is complete, valid UTF-8, else COLLAB_EUTF8. */
int collab_utf8_check(const uint8_t *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif
