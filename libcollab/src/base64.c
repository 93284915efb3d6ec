/*
 * base64.c - strict RFC 4648 base64 and base64url.
 *
 * Decoding works on whole quanta of four characters; the final, partial
 * quantum is where every strictness rule lives: padding (std) or its
 * absence (url), the impossible length n % 4 == 1, and the unused low bits
 * of the last character, which must be zero (RFC 4648 3.5) so that each
 * byte string has exactly one accepted encoding.
 */
#include "collab/base64.h"
#include "collab/common.h"

static const char std_chars[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_chars[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t collab_b64_encoded_len(size_t n, enum collab_b64_alphabet a)
{
	size_t full = n / 3, rest = n % 3;
	if (full > (SIZE_MAX - 4) / 4)
		return 0;
	if (rest == 0)
		return full * 4;
	return full * 4 + (a == COLLAB_B64_STD ? 4 : rest + 1);
}

size_t collab_b64_decoded_max(size_t n)
{
	return n / 4 * 3 + (n % 4 ? 3 : 0);
}

int collab_b64_encode(const uint8_t *src, size_t n, enum collab_b64_alphabet a,
		      char *out, size_t cap, size_t *written)
{
	const char *chars = a == COLLAB_B64_URL ? url_chars : std_chars;
	size_t need = collab_b64_encoded_len(n, a);
	size_t i = 0, o = 0;

	if (a != COLLAB_B64_STD && a != COLLAB_B64_URL)
		return COLLAB_EINVAL;
	if ((need == 0 && n != 0) || need > cap)
		return COLLAB_ESPACE;
	for (; n - i >= 3; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
		out[o++] = chars[v >> 18];
		out[o++] = chars[(v >> 12) & 63];
		out[o++] = chars[(v >> 6) & 63];
		out[o++] = chars[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)src[i] << 16;
		out[o++] = chars[v >> 18];
		out[o++] = chars[(v >> 12) & 63];
		if (a == COLLAB_B64_STD) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
		out[o++] = chars[v >> 18];
		out[o++] = chars[(v >> 12) & 63];
		out[o++] = chars[(v >> 6) & 63];
		if (a == COLLAB_B64_STD)
			out[o++] = '=';
	}
	*written = o;
	return 0;
}

/* All ones when lo <= c <= hi, else 0, without a branch on c: for values
 * below 2^8, lo - 1 - c and c - hi - 1 both wrap (top bit set) exactly
 * when c is in the range. */
static uint32_t in_range(uint32_t c, uint32_t lo, uint32_t hi)
{
	return 0u - (((lo - 1u - c) & (c - hi - 1u)) >> 31);
}

/* Value of one alphabet character, or -1. Written as ranges rather than a
 * 256-entry table so an auditor can check it at a glance, and without
 * branches or lookups indexed by the character, so decoding secret
 * material (keys, tokens) takes the same time whatever its bytes are. */
static int value(uint8_t ch, enum collab_b64_alphabet a)
{
	uint32_t c = ch, v;
	uint32_t c62 = a == COLLAB_B64_STD ? '+' : '-';
	uint32_t c63 = a == COLLAB_B64_STD ? '/' : '_';

	/* each term is the value plus one, so 0 means "no range matched" */
	v = (in_range(c, 'A', 'Z') & (c - 'A' + 1)) |
	    (in_range(c, 'a', 'z') & (c - 'a' + 27)) |
	    (in_range(c, '0', '9') & (c - '0' + 53)) |
	    (in_range(c, c62, c62) & 63u) |
	    (in_range(c, c63, c63) & 64u);
	return (int)v - 1;
}

int collab_b64_decode(const char *src, size_t n, enum collab_b64_alphabet a,
		      uint8_t *out, size_t cap, size_t *written)
{
	const uint8_t *s = (const uint8_t *)src;
	size_t tail, body, o = 0, need;

	if (a != COLLAB_B64_STD && a != COLLAB_B64_URL)
		return COLLAB_EINVAL;
	if (a == COLLAB_B64_STD) {
		/* RFC 4648 4: whole quanta of four; '=' may only be the last
		 * character, or the last two. A second '=' counts only when
		 * the last one is '=' too ("AB=C" keeps its '=' and fails as
		 * a bad character below). Once stripped, the rest is judged
		 * like unpadded input; any other '=' is outside the alphabet
		 * and fails below, so "====", "A===" and "=AAA" are refused. */
		if (n % 4 != 0)
			return COLLAB_ESYNTAX;
		if (n > 0 && s[n - 1] == '=') {
			n--;
			if (s[n - 1] == '=')    /* n >= 3 here */
				n--;
		}
	}
	/* RFC 4648 4/5: 1 leftover character carries only 6 bits, less
	 * than a byte: no encoder produces it. */
	tail = n % 4;
	if (tail == 1)
		return COLLAB_ESYNTAX;
	body = n - tail;
	need = body / 4 * 3 + (tail ? tail - 1 : 0);
	if (need > cap)
		return COLLAB_ESPACE;

	for (size_t i = 0; i < body; i += 4) {
		int v0 = value(s[i], a), v1 = value(s[i + 1], a);
		int v2 = value(s[i + 2], a), v3 = value(s[i + 3], a);
		if ((v0 | v1 | v2 | v3) < 0)
			return COLLAB_ESYNTAX;
		uint32_t v = (uint32_t)v0 << 18 | (uint32_t)v1 << 12 |
			     (uint32_t)v2 << 6 | (uint32_t)v3;
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	if (tail) {
		int v0 = value(s[body], a), v1 = value(s[body + 1], a);
		int v2 = tail == 3 ? value(s[body + 2], a) : 0;
		if ((v0 | v1 | v2) < 0)
			return COLLAB_ESYNTAX;
		uint32_t v = (uint32_t)v0 << 18 | (uint32_t)v1 << 12 | (uint32_t)v2 << 6;
		/* RFC 4648 3.5: the bits past the last whole byte must be 0. */
		if (tail == 2 ? (v & 0xFFFF) != 0 : (v & 0xFF) != 0)
			return COLLAB_ESYNTAX;
		out[o++] = (uint8_t)(v >> 16);
		if (tail == 3)
			out[o++] = (uint8_t)(v >> 8);
	}
	*written = o;
	return 0;
}
