/*
 * collab/uuid.h - RFC 9562 UUIDs: random (v4) and time-ordered (v7)
 * generation, canonical formatting and strict parsing.
 *
 * Randomness comes from a caller-owned struct collab_rng (collab/rand.h);
 * v7 ordering state lives in a caller-owned struct collab_uuid_v7gen. No
 * globals, no allocation. A generator and its rng belong to one thread.
 *
 * Text form (RFC 9562 section 4): 36 characters, 8-4-4-4-12 hex digits
 * separated by '-'. collab_uuid_format() always writes lowercase, as
 * RFC 9562 section 4 asks and as browsers' crypto.randomUUID() does.
 * collab_uuid_parse() accepts lowercase and uppercase hex digits (RFC 9562
 * section 4: input is case-insensitive), so the same id may arrive in two
 * spellings: compare parsed struct collab_uuid values, never the text.
 */
#ifndef COLLAB_UUID_H
#define COLLAB_UUID_H

#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"
#include "collab/rand.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Length of the canonical text form, without any NUL. */
#define COLLAB_UUID_STR_LEN 36

/* Largest unix_ts_ms a v7 UUID can carry (48 bits, RFC 9562 5.7). */
#define COLLAB_UUID_V7_MAX_MS ((((uint64_t)1) << 48) - 1)

/* The 128 bits in network byte order (RFC 9562 section 4: octet 0 first).
 * Two values are equal iff memcmp() says so, and memcmp() order is v7's
 * time order. */
struct collab_uuid {
	uint8_t b[16];
};

/*
 * v7 generator state (RFC 9562 6.2 method 1, "fixed bit-length dedicated
 * counter"): a 42-bit counter fills rand_a (12 bits) and the top 30 bits
 * of rand_b; the last 32 bits of rand_b are fresh random bits in every
 * UUID. In a new millisecond the counter starts at a random value with its
 * top bit clear (a guard bit, so at least 2^41 more ids fit in that
 * millisecond); within the same millisecond it is incremented, so ids from
 * one generator strictly increase. If the clock goes backwards the last
 * timestamp is kept and the counter keeps counting; if the counter would
 * overflow, the timestamp is advanced by one millisecond ahead of the clock
 * (both as RFC 9562 6.2 allows). Private fields; zero it or call
 * collab_uuid_v7_init().
 */
struct collab_uuid_v7gen {
	uint64_t last_ms;   /* unix_ts_ms of the last id */
	uint64_t counter;   /* its 42-bit counter */
	uint8_t started;    /* 0 until the first id */
};

/* Resets g: the next v7 id starts a fresh counter. g MUST NOT be NULL. */
void collab_uuid_v7_init(struct collab_uuid_v7gen *g);

/*
 * A random UUID (RFC 9562 5.4): 122 bits from r, version 4, variant 10.
 * Returns 0, or an error of collab_rng_bytes() (COLLAB_ERANDOM,
 * COLLAB_ESTATE) with *out untouched.
 */
int collab_uuid_v4(struct collab_rng *r, struct collab_uuid *out);

/*
 * A time-ordered UUID (RFC 9562 5.7) for unix time now_ms (milliseconds
 * since 1970-01-01 UTC, as the caller's clock says), strictly greater (by
 * memcmp) than every id g made before. Returns 0; COLLAB_ERANGE when now_ms
 * (or the timestamp g must advance to) exceeds COLLAB_UUID_V7_MAX_MS; or an
 * error of collab_rng_bytes(). On failure *out and g are untouched.
 *
 * v7 ids reveal their creation time and, within a millisecond, their
 * order; use v4 where an id must not be guessable from its neighbours.
 */
int collab_uuid_v7_at(struct collab_uuid_v7gen *g, struct collab_rng *r,
		      uint64_t now_ms, struct collab_uuid *out);

/* collab_uuid_v7_at() with now_ms from clock_gettime(CLOCK_REALTIME).
 * Also returns COLLAB_EIO if the clock cannot be read, COLLAB_ERANGE if it
 * says a time before 1970. */
int collab_uuid_v7(struct collab_uuid_v7gen *g, struct collab_rng *r,
		   struct collab_uuid *out);

/*
 * Writes the 36-character canonical lowercase form of u to out, plus a
 * terminating NUL when cap > 36. Returns 0, or COLLAB_ESPACE when cap < 36
 * (out untouched).
 */
int collab_uuid_format(const struct collab_uuid *u, char *out, size_t cap);

/*
 * Parses s[0..len) strictly: exactly 36 characters, '-' at offsets 8, 13,
 * 18 and 23, hex digits (0-9, a-f, A-F) everywhere else. No braces, no
 * "urn:uuid:" prefix, no whitespace, no NUL. Any version and variant is
 * accepted (a client may use any; check collab_uuid_version() if it
 * matters). Returns 0, or COLLAB_ESYNTAX with *out untouched. s may be
 * NULL only when len is 0. Reads nothing at or past s + len.
 */
int collab_uuid_parse(const char *s, size_t len, struct collab_uuid *out);

/* The version field (RFC 9562 4.2): the high nibble of octet 6, 0..15.
 * Meaningful only when the variant (octet 8's top bits) is 10. */
unsigned collab_uuid_version(const struct collab_uuid *u);

#ifdef __cplusplus
}
#endif
#endif
