/*
 * uuid.c - RFC 9562 v4 and v7 UUIDs, canonical text form.
 *
 * v7 layout (RFC 9562 5.7), octet by octet, with this file's counter:
 *
 *   0-5   unix_ts_ms, 48 bits big-endian
 *   6     ver (0111) | counter bits 41..38
 *   7     counter bits 37..30                 (6-7 low 12 bits: rand_a)
 *   8     var (10)   | counter bits 29..24
 *   9-11  counter bits 23..0                  (8-15 low 62 bits: rand_b)
 *   12-15 32 random bits
 *
 * so memcmp() order is (timestamp, counter, random) order.
 */
#include "collab/uuid.h"

#include <string.h>
#include <time.h>

/* RFC 9562 6.2 method 1: counter length, 12 bits of rand_a plus the top
 * 30 of rand_b (the RFC allows 12 to 42). */
#define UUID_CTR_BITS 42
#define UUID_CTR_MAX ((((uint64_t)1) << UUID_CTR_BITS) - 1)
/* A fresh counter has its top bit clear (RFC 9562 6.2, "counter rollover
 * guards"), leaving at least 2^41 increments before rollover. */
#define UUID_CTR_SEED_MASK (UUID_CTR_MAX >> 1)

void collab_uuid_v7_init(struct collab_uuid_v7gen *g)
{
	g->last_ms = 0;
	g->counter = 0;
	g->started = 0;
}

/* RFC 9562 4.1 and 4.2: variant 10 in the top bits of octet 8, version in
 * the high nibble of octet 6. */
static void collab_uuid_set_bits(struct collab_uuid *u, unsigned version)
{
	u->b[6] = (uint8_t)((u->b[6] & 0x0F) | (version << 4));
	u->b[8] = (uint8_t)((u->b[8] & 0x3F) | 0x80);
}

int collab_uuid_v4(struct collab_rng *r, struct collab_uuid *out)
{
	struct collab_uuid u;
	int rc = collab_rng_bytes(r, u.b, sizeof(u.b));

	if (rc != 0)
		return rc;
	collab_uuid_set_bits(&u, 4);
	*out = u;
	return 0;
}

static uint64_t collab_uuid_ctr_seed(const uint8_t *p)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 6; i++)
		v = v << 8 | p[i];
	return v & UUID_CTR_SEED_MASK;
}

int collab_uuid_v7_at(struct collab_uuid_v7gen *g, struct collab_rng *r,
		      uint64_t now_ms, struct collab_uuid *out)
{
	uint8_t rnd[10];        /* 6 to seed a counter, 4 for octets 12-15 */
	uint64_t ms = now_ms, ctr;
	int rc;

	/* RFC 9562 5.7: unix_ts_ms is 48 bits. */
	if (now_ms > COLLAB_UUID_V7_MAX_MS)
		return COLLAB_ERANGE;
	rc = collab_rng_bytes(r, rnd, sizeof(rnd));
	if (rc != 0)
		return rc;
	if (g->started && ms <= g->last_ms) {
		/* Same millisecond, or the clock went back: RFC 9562 6.2
		 * lets us keep the last timestamp and count on. */
		ms = g->last_ms;
		ctr = g->counter + 1;
		if (ctr > UUID_CTR_MAX) {
			/* RFC 9562 6.2: on rollover, advance the timestamp. */
			if (ms == COLLAB_UUID_V7_MAX_MS)
				return COLLAB_ERANGE;
			ms++;
			ctr = collab_uuid_ctr_seed(rnd);
		}
	} else {
		ctr = collab_uuid_ctr_seed(rnd);
	}

	for (size_t i = 0; i < 6; i++)
		out->b[i] = (uint8_t)(ms >> (40 - 8 * i));
	out->b[6] = (uint8_t)(0x70 | ((ctr >> 38) & 0x0F));
	out->b[7] = (uint8_t)(ctr >> 30);
	out->b[8] = (uint8_t)(0x80 | ((ctr >> 24) & 0x3F));
	out->b[9] = (uint8_t)(ctr >> 16);
	out->b[10] = (uint8_t)(ctr >> 8);
	out->b[11] = (uint8_t)ctr;
	memcpy(out->b + 12, rnd + 6, 4);
	g->last_ms = ms;
	g->counter = ctr;
	g->started = 1;
	return 0;
}

int collab_uuid_v7(struct collab_uuid_v7gen *g, struct collab_rng *r,
		   struct collab_uuid *out)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return COLLAB_EIO;
	if (ts.tv_sec < 0)
		return COLLAB_ERANGE;
	/* Checked before multiplying, so no clock value can overflow. */
	if ((uint64_t)ts.tv_sec > COLLAB_UUID_V7_MAX_MS / 1000)
		return COLLAB_ERANGE;
	return collab_uuid_v7_at(g, r, (uint64_t)ts.tv_sec * 1000u +
				 (uint64_t)ts.tv_nsec / 1000000u, out);
}

int collab_uuid_format(const struct collab_uuid *u, char *out, size_t cap)
{
	static const char hex[16] = "0123456789abcdef";
	size_t o = 0;

	if (cap < COLLAB_UUID_STR_LEN)
		return COLLAB_ESPACE;
	for (size_t i = 0; i < 16; i++) {
		/* RFC 9562 section 4: 8-4-4-4-12 groups. */
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u->b[i] >> 4];
		out[o++] = hex[u->b[i] & 0x0F];
	}
	if (cap > COLLAB_UUID_STR_LEN)
		out[o] = '\0';
	return 0;
}

/* Value of a hex digit, either case, or -1. */
static int collab_uuid_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int collab_uuid_parse(const char *s, size_t len, struct collab_uuid *out)
{
	const uint8_t *p = (const uint8_t *)s;
	struct collab_uuid u;
	size_t i = 0;

	/* RFC 9562 section 4: the string form is exactly 36 characters. */
	if (len != COLLAB_UUID_STR_LEN)
		return COLLAB_ESYNTAX;
	for (size_t k = 0; k < 16; k++) {
		int hi, lo;
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (p[i] != '-')
				return COLLAB_ESYNTAX;
			i++;
		}
		hi = collab_uuid_hexval(p[i]);
		lo = collab_uuid_hexval(p[i + 1]);
		if (hi < 0 || lo < 0)
			return COLLAB_ESYNTAX;
		u.b[k] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	*out = u;
	return 0;
}

unsigned collab_uuid_version(const struct collab_uuid *u)
{
	return (unsigned)(u->b[6] >> 4);
}
