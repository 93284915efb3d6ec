/*
 * json_internal.h - helpers shared by json_read.c and json_write.c: the
 * number grammar, the set of bytes a string cannot hold raw, and decoding
 * of escapes that the reader has already validated. All static inline, so
 * no symbols leave this module.
 */
#ifndef COLLAB_JSON_INTERNAL_H
#define COLLAB_JSON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Bytes a plain run of string content stops at: below 0x20 (RFC 8259
 * section 7: must be escaped), '"', '\\', and 0x80 and above (UTF-8 to
 * validate; U+2028/U+2029 for the writer to escape).
 */
static const uint8_t collab_json_stop[256] = {
	[0x00] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x10] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
	[0x80] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x90] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0xA0] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0xB0] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0xC0] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0xD0] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0xE0] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0xF0] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/*
 * The same set, eight bytes at a time. x holds p[0..8) with p[k] in bits
 * 8k..8k+7. Returns a mask with bit 8k+7 set for stop bytes; above the
 * lowest stop byte the mask may hold false positives (a borrow carries
 * upward) but never below it, so its lowest set bit finds the first one.
 */
static inline uint64_t collab_json_swar_stop(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u;
	const uint64_t high = 0x8080808080808080u;
	uint64_t q = x ^ (ones * '"');
	uint64_t b = x ^ (ones * '\\');

	return ((x - ones * 0x20) & ~x & high) |     /* a byte < 0x20 */
	       ((q - ones) & ~q & high) |             /* a '"' */
	       ((b - ones) & ~b & high) |             /* a '\\' */
	       (x & high);                            /* a byte >= 0x80 */
}

/* p[0..8) as a little-endian word, whatever the host's byte order
 * (compilers turn this into one load where they can). */
static inline uint64_t collab_json_load8(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	       (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

/* Index of the first stop byte in p[i..n), or n. Never reads p[n]. */
static inline size_t collab_json_plain_end(const uint8_t *p, size_t n,
					   size_t i)
{
	while (n - i >= 8) {
		uint64_t m = collab_json_swar_stop(collab_json_load8(p + i));
		if (m)
			return i + ((size_t)__builtin_ctzll(m) >> 3);
		i += 8;
	}
	while (i < n && !collab_json_stop[p[i]])
		i++;
	return i;
}

/* Value of a hex digit, or -1. */
static inline int collab_json_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static inline int collab_json_isdigit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/*
 * RFC 8259 section 6: number = [ minus ] int [ frac ] [ exp ], with
 * int = zero / ( digit1-9 *DIGIT ), frac = "." 1*DIGIT,
 * exp = ("e" / "E") [ "-" / "+" ] 1*DIGIT.
 * Scans the longest number starting at p[i] (i < n). Returns 0 with *end
 * just past it, or -1 with *end at the byte where the grammar failed (n if
 * the input ran out). *integer says whether it has neither frac nor exp.
 * A leading zero stops the number after the zero ("01" scans as "0"): the
 * caller finds '1' where a delimiter must be.
 */
static inline int collab_json_num_scan(const uint8_t *p, size_t n, size_t i,
				       size_t *end, int *integer)
{
	int is_int = 1;

	if (p[i] == '-')
		i++;
	if (i >= n)
		goto bad;
	if (p[i] == '0') {
		i++;
	} else if (p[i] >= '1' && p[i] <= '9') {
		i++;
		while (i < n && collab_json_isdigit(p[i]))
			i++;
	} else {
		goto bad;
	}
	if (i < n && p[i] == '.') {
		is_int = 0;
		i++;
		if (i >= n || !collab_json_isdigit(p[i]))
			goto bad;
		while (i < n && collab_json_isdigit(p[i]))
			i++;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		is_int = 0;
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= n || !collab_json_isdigit(p[i]))
			goto bad;
		while (i < n && collab_json_isdigit(p[i]))
			i++;
	}
	*end = i;
	*integer = is_int;
	return 0;
bad:
	*end = i;
	return -1;
}

/* Encodes scalar value cp (never a surrogate) as UTF-8; returns 1..4. */
static inline size_t collab_json_utf8_put(uint32_t cp, uint8_t out[4])
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xC0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xE0 | (cp >> 12));
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | (cp >> 18));
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

static inline uint32_t collab_json_hex4(const uint8_t *p)
{
	return (uint32_t)collab_json_hexval(p[0]) << 12 |
	       (uint32_t)collab_json_hexval(p[1]) << 8 |
	       (uint32_t)collab_json_hexval(p[2]) << 4 |
	       (uint32_t)collab_json_hexval(p[3]);
}

/*
 * Decodes the escape at p (p[0] == '\\') of a string the reader accepted,
 * so the escape is complete and well formed. Writes its UTF-8 bytes to out,
 * sets *olen, returns the number of input bytes it spans (2, 6 or 12).
 */
static inline size_t collab_json_unescape(const uint8_t *p, uint8_t out[4],
					  size_t *olen)
{
	uint32_t cp;

	switch (p[1]) {
	case 'b': out[0] = '\b'; break;
	case 'f': out[0] = '\f'; break;
	case 'n': out[0] = '\n'; break;
	case 'r': out[0] = '\r'; break;
	case 't': out[0] = '\t'; break;
	case 'u':
		cp = collab_json_hex4(p + 2);
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			/* RFC 8259 section 7: a UTF-16 surrogate pair */
			uint32_t lo = collab_json_hex4(p + 8);
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			*olen = collab_json_utf8_put(cp, out);
			return 12;
		}
		*olen = collab_json_utf8_put(cp, out);
		return 6;
	default: out[0] = p[1]; break;     /* '"', '\\', '/' */
	}
	*olen = 1;
	return 2;
}

/* Byte-at-a-time view of a validated string's decoded value. */
struct collab_json_dec {
	const uint8_t *p, *end;
	uint8_t buf[4];
	size_t nbuf, ibuf;
};

static inline void collab_json_dec_init(struct collab_json_dec *d,
					const uint8_t *p, size_t len)
{
	d->p = p;
	d->end = p + len;
	d->nbuf = d->ibuf = 0;
}

/* The next decoded byte, or -1 at the end. */
static inline int collab_json_dec_byte(struct collab_json_dec *d)
{
	if (d->ibuf < d->nbuf)
		return d->buf[d->ibuf++];
	if (d->p == d->end)
		return -1;
	if (*d->p != '\\')
		return *d->p++;
	d->p += collab_json_unescape(d->p, d->buf, &d->nbuf);
	d->ibuf = 1;
	return d->buf[0];
}

#endif
