/*
 * fuzz_utf8.c - libFuzzer target for collab/utf8.h.
 *
 * The first two input bytes choose a split point; the rest is the text.
 * The incremental validator, fed the text in two pieces split there (each
 * piece its own exact-size heap block, so ASan sees any overread), fed one
 * byte at a time, and run one-shot, must agree with a reference decoder
 * written here from RFC 3629 section 3: the verdict (valid, truncated,
 * invalid) and the index of the first byte that no valid text could have.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/common.h"
#include "collab/utf8.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

enum verdict { VALID, TRUNCATED, BAD };

/*
 * Reference. Decodes each sequence into its code point, and after every
 * byte asks whether the prefix can still become a scalar value that needs
 * exactly this many bytes (RFC 3629 section 3: shortest form only, no
 * U+D800..U+DFFF, nothing past U+10FFFF). The completions of a prefix with
 * r bytes to go are the code points cp * 64^r .. cp * 64^r + 64^r - 1.
 */
static int can_finish(uint32_t cp, unsigned r, unsigned len)
{
	static const uint32_t shortest[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t span = (uint32_t)1 << (6 * r);
	uint32_t lo = cp * span, hi = lo + span - 1;

	if (hi < shortest[len] || lo > 0x10FFFF)
		return 0;
	return !(lo >= 0xD800 && hi <= 0xDFFF);
}

static enum verdict reference(const uint8_t *p, size_t n, size_t *bad)
{
	for (size_t i = 0; i < n;) {
		unsigned len, r;
		uint32_t cp;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xC0 && p[i] < 0xE0)
			len = 2, cp = p[i] - 0xC0u;
		else if (p[i] >= 0xE0 && p[i] < 0xF0)
			len = 3, cp = p[i] - 0xE0u;
		else if (p[i] >= 0xF0 && p[i] < 0xF8)
			len = 4, cp = p[i] - 0xF0u;
		else {
			*bad = i;       /* 80..BF alone, F8..FF */
			return BAD;
		}
		for (r = len - 1;; r--) {
			if (!can_finish(cp, r, len)) {
				*bad = i;
				return BAD;
			}
			i++;
			if (r == 0)
				break;
			if (i == n)
				return TRUNCATED;
			if (p[i] < 0x80 || p[i] > 0xBF) {
				*bad = i;
				return BAD;
			}
			cp = cp * 64 + (p[i] - 0x80u);
		}
	}
	return VALID;
}

/* Feeds p[off..off+n) from its own heap block; returns the call's code,
 * with *abs_bad the absolute index when it failed. */
static int feed_piece(struct collab_utf8 *v, const uint8_t *p, size_t off,
		      size_t n, size_t *abs_bad)
{
	uint8_t *piece = malloc(n ? n : 1);
	size_t bad = SIZE_MAX;
	int rc;

	CHECK(piece != NULL);
	if (n)
		memcpy(piece, p + off, n);
	rc = collab_utf8_feed(v, n ? piece : NULL, n, &bad);
	free(piece);
	CHECK(rc == 0 || rc == COLLAB_EUTF8);
	if (rc != 0) {
		CHECK(bad < n || (bad == 0 && n == 0));
		*abs_bad = off + bad;
	} else {
		CHECK(bad == SIZE_MAX);
	}
	return rc;
}

/* Runs the validator over the pieces cut at cut[0..ncut) and compares. */
static void run(const uint8_t *p, size_t n, const size_t *cut, size_t ncut,
		enum verdict want, size_t want_bad)
{
	struct collab_utf8 v;
	int failed = 0;

	collab_utf8_init(&v);
	for (size_t i = 0; i + 1 < ncut; i++) {
		size_t bad = 0, len = cut[i + 1] - cut[i];
		int rc = feed_piece(&v, p, cut[i], len, &bad);
		if (failed) {
			/* sticky: later pieces fail at 0 */
			CHECK(rc == COLLAB_EUTF8 && bad == cut[i]);
		} else if (rc != 0) {
			CHECK(want == BAD && bad == want_bad);
			failed = 1;
		}
	}
	CHECK(failed == (want == BAD));
	CHECK(collab_utf8_finish(&v) == (want == VALID ? 0 : COLLAB_EUTF8));
	(void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p;
	size_t n, split, want_bad = 0;
	enum verdict want;

	if (size < 2)
		return 0;
	p = data + 2;
	n = size - 2;
	split = ((size_t)data[0] << 8 | data[1]) % (n + 1);
	want = reference(p, n, &want_bad);

	{
		size_t cut[3] = { 0, split, n };
		run(p, n, cut, 3, want, want_bad);
	}
	{
		size_t cut[2] = { 0, n };
		run(p, n, cut, 2, want, want_bad);
	}
	if (n <= 4096) {
		size_t *cut = malloc((n + 1) * sizeof(*cut));
		CHECK(cut != NULL);
		for (size_t k = 0; k <= n; k++)
			cut[k] = k;
		run(p, n, cut, n + 1, want, want_bad);
		free(cut);
	}
	CHECK(collab_utf8_check(p, n) == (want == VALID ? 0 : COLLAB_EUTF8));
	return 0;
}
