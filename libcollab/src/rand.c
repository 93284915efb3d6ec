/*
 * rand.c - HMAC-DRBG (SHA-256) seeded from getrandom(2).
 *
 * BearSSL's br_hmac_drbg_* is SP 800-90A HMAC_DRBG without reseed counter
 * or request limits; this file adds them: requests are cut into pieces of
 * at most COLLAB_RNG_MAX_REQUEST bytes (each piece ends with the DRBG's
 * state update, so earlier output cannot be recomputed from a later state),
 * and fresh kernel entropy is mixed in (the SP 800-90A reseed: an update
 * with the new entropy as input) every reseed_interval bytes and after a
 * fork.
 */
#include "collab/rand.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* Fills out[0..len) from the kernel. getrandom(2) may return fewer bytes
 * than asked or fail with EINTR when a signal arrives; both are retried.
 * A zero return (never seen for len > 0) is treated as failure rather than
 * looped on forever. */
static int collab_rng_kernel(uint8_t *out, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t k = getrandom(out + got, len - got, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return COLLAB_ERANDOM;
		}
		if (k == 0) {
			errno = EIO;
			return COLLAB_ERANDOM;
		}
		got += (size_t)k;
	}
	return 0;
}

int collab_rng_init(struct collab_rng *r)
{
	uint8_t seed[COLLAB_RNG_SEED_LEN];
	int rc;

	memset(r, 0, sizeof(*r));
	rc = collab_rng_kernel(seed, sizeof(seed));
	if (rc != 0) {
		explicit_bzero(seed, sizeof(seed));
		return rc;
	}
	br_hmac_drbg_init(&r->drbg, &br_sha256_vtable, seed, sizeof(seed));
	explicit_bzero(seed, sizeof(seed));
	r->reseed_interval = COLLAB_RNG_RESEED_INTERVAL;
	r->since_seed = 0;
	r->pid = getpid();
	r->from_kernel = 1;
	r->ready = 1;
	return 0;
}

int collab_rng_init_seed(struct collab_rng *r, const void *seed, size_t len)
{
	if (seed == NULL && len != 0)
		return COLLAB_EINVAL;
	memset(r, 0, sizeof(*r));
	br_hmac_drbg_init(&r->drbg, &br_sha256_vtable, seed, len);
	r->reseed_interval = 0;
	r->from_kernel = 0;
	r->ready = 1;
	return 0;
}

/* Mixes fresh kernel bytes into the state. On failure the state is left as
 * it was, still counted as due, so the next request tries again. */
static int collab_rng_reseed(struct collab_rng *r, pid_t pid)
{
	uint8_t seed[COLLAB_RNG_SEED_LEN];
	int rc = collab_rng_kernel(seed, sizeof(seed));

	if (rc == 0) {
		br_hmac_drbg_update(&r->drbg, seed, sizeof(seed));
		r->since_seed = 0;
		r->pid = pid;
	}
	explicit_bzero(seed, sizeof(seed));
	return rc;
}

int collab_rng_bytes(struct collab_rng *r, void *out, size_t n)
{
	uint8_t *o = out;

	if (!r->ready)
		return COLLAB_ESTATE;
	if (r->from_kernel) {
		/* A forked child holds its parent's state: reseed before it
		 * can repeat the parent's output. */
		pid_t pid = getpid();
		if (pid != r->pid) {
			int rc = collab_rng_reseed(r, pid);
			if (rc != 0)
				return rc;
		}
	}
	while (n > 0) {
		size_t chunk = n < COLLAB_RNG_MAX_REQUEST ? n : COLLAB_RNG_MAX_REQUEST;
		if (r->from_kernel && r->reseed_interval != 0) {
			if (r->since_seed >= r->reseed_interval) {
				int rc = collab_rng_reseed(r, r->pid);
				if (rc != 0)
					return rc;
			}
			/* Never hand out more than reseed_interval bytes
			 * from one seed. */
			if (chunk > r->reseed_interval - r->since_seed)
				chunk = (size_t)(r->reseed_interval - r->since_seed);
		}
		br_hmac_drbg_generate(&r->drbg, o, chunk);
		o += chunk;
		n -= chunk;
		if (r->since_seed < UINT64_MAX - chunk)
			r->since_seed += chunk;
		else
			r->since_seed = UINT64_MAX;
	}
	return 0;
}

int collab_rng_u32(struct collab_rng *r, uint32_t *out)
{
	uint8_t b[4];
	int rc = collab_rng_bytes(r, b, sizeof(b));

	if (rc != 0)
		return rc;
	*out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | (uint32_t)b[3];
	return 0;
}

/* Rejection sampling: of the 2^32 equally likely draws, the lowest
 * (2^32 mod bound) are refused, which leaves a multiple of bound values,
 * each residue equally often. (0u - bound) % bound is 2^32 mod bound in
 * 32-bit arithmetic. */
int collab_rng_below(struct collab_rng *r, uint32_t bound, uint32_t *out)
{
	uint32_t lim, x;

	if (bound == 0)
		return COLLAB_EINVAL;
	lim = (0u - bound) % bound;
	do {
		int rc = collab_rng_u32(r, &x);
		if (rc != 0)
			return rc;
	} while (x < lim);
	*out = x % bound;
	return 0;
}

void collab_rng_wipe(struct collab_rng *r)
{
	explicit_bzero(r, sizeof(*r));
}
