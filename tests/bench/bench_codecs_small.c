/*
 * bench_codecs_small.c - throughput of the small codecs.
 *
 * base64 encode/decode (both alphabets) and UTF-8 validation over fixed
 * 1 MiB inputs, best of ROUNDS passes; UUID v4 and v7 generation rates,
 * best of ROUNDS batches. Prints one line per case:
 *
 *     bench <name> <value> <unit>
 *
 * MB is 10^6 bytes of input (raw bytes for encode, text for decode and
 * UTF-8). Inputs are fixed pseudo-random data, so runs are comparable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collab/base64.h"
#include "collab/common.h"
#include "collab/rand.h"
#include "collab/utf8.h"
#include "collab/uuid.h"

#define INPUT_BYTES ((size_t)1 << 20)
#define ROUNDS 15
#define UUID_BATCH 100000

static volatile uint64_t sink;  /* keeps results observable */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* value printed with one decimal, without locale-dependent formatting */
static void report(const char *name, double value, const char *unit)
{
	uint64_t tenths = (uint64_t)(value * 10.0 + 0.5);

	printf("bench %s %llu.%llu %s\n", name, (unsigned long long)(tenths / 10),
	       (unsigned long long)(tenths % 10), unit);
}

static uint32_t xs = 2463534242u;

static uint32_t xorshift(void)
{
	xs ^= xs << 13;
	xs ^= xs >> 17;
	xs ^= xs << 5;
	return xs;
}

/* Valid UTF-8: a mix of 1-, 2-, 3- and 4-byte characters (about 70%
 * ASCII, as in annotation text with some accents, CJK and emoji). */
static size_t fill_utf8(uint8_t *p, size_t cap)
{
	size_t n = 0;

	while (n + 4 <= cap) {
		uint32_t r = xorshift(), k = r % 100;
		if (k < 70) {
			p[n++] = (uint8_t)(0x20 + (r >> 8) % 95);
		} else if (k < 85) {
			uint32_t cp = 0x80 + (r >> 8) % (0x800 - 0x80);
			p[n++] = (uint8_t)(0xC0 | cp >> 6);
			p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
		} else if (k < 95) {
			uint32_t cp = 0x4E00 + (r >> 8) % 0x5000;       /* CJK */
			p[n++] = (uint8_t)(0xE0 | cp >> 12);
			p[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
			p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
		} else {
			uint32_t cp = 0x1F300 + (r >> 8) % 0x300;        /* emoji */
			p[n++] = (uint8_t)(0xF0 | cp >> 18);
			p[n++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
			p[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
			p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
		}
	}
	while (n < cap)
		p[n++] = 'a';
	return n;
}

static void bench_b64(const uint8_t *raw, enum collab_b64_alphabet a,
		      const char *enc_name, const char *dec_name)
{
	size_t tlen = collab_b64_encoded_len(INPUT_BYTES, a), w = 0;
	char *txt = malloc(tlen);
	uint8_t *back = malloc(INPUT_BYTES);
	double best_e = 1e9, best_d = 1e9;

	if (txt == NULL || back == NULL)
		exit(1);
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_s(), t1, t2;
		if (collab_b64_encode(raw, INPUT_BYTES, a, txt, tlen, &w) != 0)
			exit(1);
		t1 = now_s();
		if (collab_b64_decode(txt, w, a, back, INPUT_BYTES, &w) != 0)
			exit(1);
		t2 = now_s();
		sink += back[w - 1];
		if (t1 - t0 < best_e)
			best_e = t1 - t0;
		if (t2 - t1 < best_d)
			best_d = t2 - t1;
	}
	if (memcmp(raw, back, INPUT_BYTES) != 0)
		exit(1);
	report(enc_name, (double)INPUT_BYTES / best_e / 1e6, "MB/s");
	report(dec_name, (double)tlen / best_d / 1e6, "MB/s");
	free(txt);
	free(back);
}

static void bench_utf8(const uint8_t *p, size_t n, const char *name)
{
	double best = 1e9;

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_s(), t1;
		int rc = collab_utf8_check(p, n);
		t1 = now_s();
		if (rc != 0)
			exit(1);
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	report(name, (double)n / best / 1e6, "MB/s");
}

static void bench_uuid(struct collab_rng *rng, int v7, const char *name)
{
	struct collab_uuid_v7gen g;
	struct collab_uuid u;
	double best = 1e9;

	collab_uuid_v7_init(&g);
	for (int r = 0; r < ROUNDS / 3; r++) {
		double t0 = now_s(), t1;
		for (int i = 0; i < UUID_BATCH; i++) {
			int rc = v7 ? collab_uuid_v7(&g, rng, &u) : collab_uuid_v4(rng, &u);
			if (rc != 0)
				exit(1);
			sink += u.b[15];
		}
		t1 = now_s();
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	report(name, UUID_BATCH / best, "ids/s");
}

int main(void)
{
	uint8_t *raw = malloc(INPUT_BYTES), *text = malloc(INPUT_BYTES);
	struct collab_rng rng;

	if (raw == NULL || text == NULL)
		return 1;
	for (size_t i = 0; i < INPUT_BYTES; i++)
		raw[i] = (uint8_t)xorshift();

	bench_b64(raw, COLLAB_B64_STD, "base64_std_encode_1MiB", "base64_std_decode_1MiB");
	bench_b64(raw, COLLAB_B64_URL, "base64_url_encode_1MiB", "base64_url_decode_1MiB");

	for (size_t i = 0; i < INPUT_BYTES; i++)
		text[i] = (uint8_t)(0x20 + i % 95);
	bench_utf8(text, INPUT_BYTES, "utf8_validate_ascii_1MiB");
	bench_utf8(text, fill_utf8(text, INPUT_BYTES), "utf8_validate_mixed_1MiB");

	if (collab_rng_init(&rng) != 0)
		return 1;
	bench_uuid(&rng, 0, "uuid_v4");
	bench_uuid(&rng, 1, "uuid_v7");
	collab_rng_wipe(&rng);

	free(raw);
	free(text);
	return 0;
}
