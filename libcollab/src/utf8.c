/*
 * utf8.c - incremental UTF-8 validator.
 *
 * The lead byte fixes how many continuation bytes follow and the range the
 * first of them may take (RFC 3629 section 4's table); later continuation
 * bytes are always 80..BF. Keeping that range in the state is what lets the
 * check resume at any split and fail at exactly the first bad byte.
 */
#include "collab/utf8.h"
#include "collab/common.h"

void collab_utf8_init(struct collab_utf8 *v)
{
	v->need = 0;
	v->lo = 0x80;
	v->hi = 0xBF;
	v->failed = 0;
}

/* Sets the state for lead byte c; returns 0, or -1 if c cannot lead. */
static int lead(struct collab_utf8 *v, uint8_t c)
{
	v->lo = 0x80;
	v->hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		v->need = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		v->need = 2;
		if (c == 0xE0)
			v->lo = 0xA0;   /* no overlong 3-byte forms */
		else if (c == 0xED)
			v->hi = 0x9F;   /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		v->need = 3;
		if (c == 0xF0)
			v->lo = 0x90;   /* no overlong 4-byte forms */
		else if (c == 0xF4)
			v->hi = 0x8F;   /* nothing above U+10FFFF */
	} else {
		return -1;              /* 80..C1 and F5..FF never lead */
	}
	return 0;
}

int collab_utf8_feed(struct collab_utf8 *v, const uint8_t *p, size_t len,
		     size_t *bad_at)
{
	if (v->failed) {
		if (bad_at)
			*bad_at = 0;
		return COLLAB_EUTF8;
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		if (v->need == 0) {
			if (c < 0x80)
				continue;
			if (lead(v, c) == 0)
				continue;
		} else if (c >= v->lo && c <= v->hi) {
			v->need--;
			v->lo = 0x80;
			v->hi = 0xBF;
			continue;
		}
		v->failed = 1;
		if (bad_at)
			*bad_at = i;
		return COLLAB_EUTF8;
	}
	return 0;
}

int collab_utf8_finish(const struct collab_utf8 *v)
{
	return (v->failed || v->need) ? COLLAB_EUTF8 : 0;
}

int collab_utf8_check(const uint8_t *p, size_t len)
{
	struct collab_utf8 v;
	collab_utf8_init(&v);
	if (collab_utf8_feed(&v, p, len, NULL) != 0)
		return COLLAB_EUTF8;
	return collab_utf8_finish(&v);
}
