/*
 * collab/rand.h - a caller-owned CSPRNG: HMAC-DRBG (NIST SP 800-90A,
 * SHA-256) from BearSSL, seeded and periodically reseeded from the kernel.
 *
 * Used for UUIDs (collab/uuid.h), WebSocket masking keys (RFC 6455 10.3:
 * masking keys MUST be unpredictable, so they come from a strong source)
 * and reconnect jitter. Asking the kernel once and stretching with a DRBG
 * keeps the system call off the hot path; the periodic reseed bounds how
 * much output depends on one seed.
 *
 * Thread rules: a struct collab_rng belongs to one thread at a time; give
 * each loop thread its own. After fork(2) the child reseeds from the
 * kernel before its next output (the pid is checked on every call), so
 * parent and child never share a stream.
 */
#ifndef COLLAB_RAND_H
#define COLLAB_RAND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bearssl.h>

#include "collab/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes asked of getrandom(2) for the first seed and every reseed: 256
 * bits of entropy plus a 128-bit nonce, SP 800-90A's amount for SHA-256. */
#define COLLAB_RNG_SEED_LEN 48

/* Default of struct collab_rng.reseed_interval: output bytes between two
 * reseeds from the kernel. */
#define COLLAB_RNG_RESEED_INTERVAL ((uint64_t)1 << 20)

/* Largest single DRBG request; longer requests are split. SP 800-90A
 * table 2 caps one HMAC_DRBG request at 2^19 bits. */
#define COLLAB_RNG_MAX_REQUEST ((size_t)1 << 16)

/* Caller-owned generator state. Only reseed_interval is for the caller to
 * set (after init); the rest is private. */
struct collab_rng {
	br_hmac_drbg_context drbg;
	/* Output bytes after which the next request first reseeds from the
	 * kernel; 0 means only on fork. collab_rng_init() sets
	 * COLLAB_RNG_RESEED_INTERVAL. Ignored by a test-seeded generator. */
	uint64_t reseed_interval;
	uint64_t since_seed;   /* output bytes since the last (re)seed */
	pid_t pid;             /* process that last seeded it */
	uint8_t from_kernel;   /* 1: collab_rng_init; 0: collab_rng_init_seed */
	uint8_t ready;         /* set by either init, cleared by wipe */
};

/*
 * Seeds r with COLLAB_RNG_SEED_LEN bytes from getrandom(2) (blocking only
 * until the kernel's pool is first initialised at boot; EINTR and short
 * reads are retried) and sets reseed_interval to its default. Returns 0, or
 * COLLAB_ERANDOM when the kernel refuses (errno says why); r is then not
 * usable. r MUST NOT be NULL.
 */
int collab_rng_init(struct collab_rng *r);

/*
 * TEST ONLY. Seeds r from seed[0..len) alone, so its output is a fixed
 * function of the seed (it is exactly SP 800-90A HMAC_DRBG instantiated
 * with seed as entropy input || nonce || personalization) and it never
 * reseeds, not even after fork. Never use it for anything an attacker may
 * see: ids, masking keys and jitter come from collab_rng_init(). seed may
 * be NULL only when len is 0. Returns 0, or COLLAB_EINVAL.
 */
int collab_rng_init_seed(struct collab_rng *r, const void *seed, size_t len);

/*
 * Writes n random bytes to out (which may be NULL only when n is 0),
 * reseeding from the kernel first when reseed_interval bytes have been
 * produced since the last seed or the process has forked. Returns 0,
 * COLLAB_ESTATE if r was never initialised (or was wiped), or
 * COLLAB_ERANDOM when a due reseed fails: then nothing is written and the
 * reseed is tried again by the next call.
 */
int collab_rng_bytes(struct collab_rng *r, void *out, size_t n);

/* One uniformly distributed 32-bit value in *out. Returns as
 * collab_rng_bytes(); *out is untouched on failure. */
int collab_rng_u32(struct collab_rng *r, uint32_t *out);

/*
 * A uniformly distributed value in [0, bound) in *out, without modulo bias:
 * draws below 2^32 mod bound are rejected and redrawn (fewer than one draw
 * in two is rejected, for any bound). Returns as collab_rng_bytes(), or
 * COLLAB_EINVAL when bound is 0; *out is untouched on failure.
 */
int collab_rng_below(struct collab_rng *r, uint32_t bound, uint32_t *out);

/* Erases r's secret state; r must be initialised again before use. */
void collab_rng_wipe(struct collab_rng *r);

#ifdef __cplusplus
}
#endif
#endif
