/*
 * check_rand.c - the HMAC-DRBG wrapper (collab/rand.h).
 *
 * getrandom(2) is replaced in this program by a scripted fake (a
 * definition in the executable takes precedence over libc's), so the
 * tests can inject EINTR, short reads and failures, count the calls, and
 * know exactly which seed bytes the kernel "gave". The fake passes through
 * to the real system call when no script is active.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collab/common.h"
#include "collab/rand.h"
#include "testutil.h"

/* ---- the fake getrandom ------------------------------------------------ */

enum fake_kind { F_FULL = 0, F_SHORT, F_EINTR, F_ERR, F_ZERO };

struct fake_step {
	enum fake_kind kind;
	size_t n;               /* F_SHORT: bytes to give */
	int err;                /* F_ERR: errno */
};

static struct {
	int active;
	const struct fake_step *script;
	size_t nscript, pos;
	size_t calls;           /* every call, real or fake */
	unsigned flags_seen;    /* OR of all flags passed */
	uint8_t next;           /* next byte of the pattern 0, 1, 2, ... */
	int fail_all;           /* every call fails with ENOSYS */
} fake;

static void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
}

static void fake_script(const struct fake_step *s, size_t n)
{
	fake_reset();
	fake.active = 1;
	fake.script = s;
	fake.nscript = n;
}

static size_t fake_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = fake.next++;
	return n;
}

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	struct fake_step st = { F_FULL, 0, 0 };

	fake.calls++;
	fake.flags_seen |= flags;
	if (fake.fail_all) {
		errno = ENOSYS;
		return -1;
	}
	if (!fake.active)
		return (ssize_t)syscall(SYS_getrandom, buf, len, flags);
	if (fake.pos < fake.nscript)
		st = fake.script[fake.pos++];
	switch (st.kind) {
	case F_SHORT:
		return (ssize_t)fake_fill(buf, st.n < len ? st.n : len);
	case F_EINTR:
		errno = EINTR;
		return -1;
	case F_ERR:
		errno = st.err;
		return -1;
	case F_ZERO:
		return 0;
	case F_FULL:
	default:
		return (ssize_t)fake_fill(buf, len);
	}
}

/* ---- helpers ---------------------------------------------------------- */

static unsigned nib(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	ck_assert(c >= 'a' && c <= 'f');
	return (unsigned)(c - 'a' + 10);
}

static void unhex(const char *h, uint8_t *out, size_t n)
{
	ck_assert_uint_eq(strlen(h), 2 * n);
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(nib(h[2 * i]) << 4 | nib(h[2 * i + 1]));
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	br_sha256_context c;

	br_sha256_init(&c);
	br_sha256_update(&c, p, n);
	br_sha256_out(&c, out);
}

static const uint8_t pattern48[48] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
	32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47
};

/* ---- known answers ------------------------------------------------------ */

/*
 * NIST CAVP HMAC_DRBG (SP 800-90A), [SHA-256], PredictionResistance =
 * False, no reseed, no personalization or additional input, COUNT = 0:
 * instantiate with EntropyInput || Nonce, generate 1024 bits twice, the
 * second output is ReturnedBits. collab_rng_init_seed() documents that its
 * seed is exactly that seed material.
 */
START_TEST(test_nist_cavp_hmac_drbg_sha256)
{
	static const char entropy[] =
		"ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488";
	static const char nonce[] = "659ba96c601dc69fc902940805ec0ca8";
	static const char returned[] =
		"e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89"
		"d54fbb978a15b5c443c9ec21036d2460b6f73ebad0dc2aba6e624abf07745bc1"
		"07694bb7547bb0995f70de25d6b29e2d3011bb19d27676c07162c8b5ccde0668"
		"961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8";
	uint8_t seed[48], want[128], got[128];
	struct collab_rng r;

	unhex(entropy, seed, 32);
	unhex(nonce, seed + 32, 16);
	unhex(returned, want, 128);
	ck_assert_int_eq(collab_rng_init_seed(&r, seed, sizeof(seed)), 0);
	ck_assert_int_eq(collab_rng_bytes(&r, got, sizeof(got)), 0);
	ck_assert_int_eq(collab_rng_bytes(&r, got, sizeof(got)), 0);
	ck_assert_mem_eq(got, want, sizeof(want));
	collab_rng_wipe(&r);
}
END_TEST

/*
 * Requests longer than COLLAB_RNG_MAX_REQUEST are cut into 64 KiB
 * generate calls. Expected values from an independent HMAC_DRBG written
 * from SP 800-90A 10.1.2 (Python's hmac module), checked against the CAVP
 * vector above: 70000 bytes = generate(65536) + generate(4464).
 */
struct kat {
	const char *name;
	const uint8_t *seed;
	size_t seed_len;
	size_t first;           /* bytes asked in the first request */
	const char *sha256_hex; /* of the first request's output */
	size_t second;          /* bytes asked next (0: none) */
	const char *second_hex; /* that output */
};

static const struct kat kats[] = {
	{ "70000 bytes in two generates", pattern48, 48, 70000,
	  "a86f7dc8e915df43fc35084036ebdf2573a6ad693c4ad53a5f8d673267051dfd",
	  0, NULL },
	{ "exactly 64 KiB, then 1", pattern48, 48, 65536,
	  "1bd37178e33d4a054d4ec1a3c7409264b48b0877d8fbe38b013ba343527f1ccb",
	  1, "3b" },
	{ "empty seed", NULL, 0, 0, NULL,
	  32, "b44299907e4e42aa4fded5d6153e8bac3f35987bbe5fa08865c45339214784a2" },
	{ "one-byte seed", (const uint8_t *)"\x01", 1, 0, NULL,
	  16, "143f9aeedc80fd2590cc4269c8754d0e" },
};

START_TEST(test_kat_chunking)
{
	const struct kat *k = &kats[_i];
	struct collab_rng r;
	static uint8_t big[70000];
	uint8_t want[32], digest[32];

	ck_assert_int_eq(collab_rng_init_seed(&r, k->seed, k->seed_len), 0);
	if (k->first) {
		ck_assert_int_eq(collab_rng_bytes(&r, big, k->first), 0);
		sha256(big, k->first, digest);
		unhex(k->sha256_hex, want, 32);
		ck_assert_mem_eq(digest, want, 32);
	}
	if (k->second) {
		ck_assert_int_eq(collab_rng_bytes(&r, big, k->second), 0);
		unhex(k->second_hex, want, k->second);
		ck_assert_mem_eq(big, want, k->second);
	}
}
END_TEST

START_TEST(test_seeded_is_deterministic)
{
	struct collab_rng a, b, c;
	uint8_t x[64], y[64], z[64];

	ck_assert_int_eq(collab_rng_init_seed(&a, "seed", 4), 0);
	ck_assert_int_eq(collab_rng_init_seed(&b, "seed", 4), 0);
	ck_assert_int_eq(collab_rng_init_seed(&c, "seee", 4), 0);
	ck_assert_int_eq(collab_rng_bytes(&a, x, sizeof(x)), 0);
	ck_assert_int_eq(collab_rng_bytes(&b, y, sizeof(y)), 0);
	ck_assert_int_eq(collab_rng_bytes(&c, z, sizeof(z)), 0);
	ck_assert_mem_eq(x, y, sizeof(x));
	ck_assert_int_ne(memcmp(x, z, sizeof(x)), 0);
	/* a seeded generator never asks the kernel, however much it makes */
	fake_reset();
	a.reseed_interval = 1;
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(collab_rng_bytes(&a, x, sizeof(x)), 0);
	ck_assert_uint_eq(fake.calls, 0);
}
END_TEST

/* ---- seeding from the kernel ------------------------------------------- */

/* The 48 seed bytes, however the kernel delivers them, are exactly what
 * seeds the DRBG: the output equals that of a generator test-seeded with
 * the bytes the fake handed out (0, 1, ..., 47). */
struct seed_script {
	const char *name;
	struct fake_step steps[8];
	size_t nsteps;
	size_t calls;           /* getrandom calls init must make */
};

static const struct seed_script seed_scripts[] = {
	{ "one full read", { { F_FULL, 0, 0 } }, 1, 1 },
	{ "EINTR then full", { { F_EINTR, 0, 0 }, { F_FULL, 0, 0 } }, 2, 2 },
	{ "EINTR x3", { { F_EINTR, 0, 0 }, { F_EINTR, 0, 0 }, { F_EINTR, 0, 0 } }, 3, 4 },
	{ "short reads 1+5+40+2", { { F_SHORT, 1, 0 }, { F_SHORT, 5, 0 },
				    { F_SHORT, 40, 0 }, { F_SHORT, 2, 0 } }, 4, 4 },
	{ "short, EINTR, short, rest", { { F_SHORT, 10, 0 }, { F_EINTR, 0, 0 },
					 { F_SHORT, 37, 0 } }, 3, 4 },
	{ "47 then 1", { { F_SHORT, 47, 0 }, { F_SHORT, 1, 0 } }, 2, 2 },
};

START_TEST(test_init_short_reads_and_eintr)
{
	const struct seed_script *s = &seed_scripts[_i];
	struct collab_rng r, m;
	uint8_t x[100], y[100];

	fake_script(s->steps, s->nsteps);
	ck_assert_int_eq(collab_rng_init(&r), 0);
	ck_assert_uint_eq(fake.calls, s->calls);
	ck_assert_uint_eq(fake.next, 48);
	ck_assert_uint_eq(fake.flags_seen, 0);  /* blocking, no GRND_* flag */
	ck_assert_uint_eq(r.reseed_interval, COLLAB_RNG_RESEED_INTERVAL);
	ck_assert_int_eq(collab_rng_init_seed(&m, pattern48, 48), 0);
	ck_assert_int_eq(collab_rng_bytes(&r, x, sizeof(x)), 0);
	ck_assert_int_eq(collab_rng_bytes(&m, y, sizeof(y)), 0);
	ck_assert_mem_eq(x, y, sizeof(x));
	ck_assert_uint_eq(fake.calls, s->calls);        /* no reseed yet */
}
END_TEST

struct fail_script {
	const char *name;
	struct fake_step steps[4];
	size_t nsteps;
	int err;                /* errno expected afterwards */
};

static const struct fail_script fail_scripts[] = {
	{ "ENOSYS", { { F_ERR, 0, ENOSYS } }, 1, ENOSYS },
	{ "EFAULT after a short read", { { F_SHORT, 20, 0 }, { F_ERR, 0, EFAULT } }, 2, EFAULT },
	{ "EAGAIN", { { F_ERR, 0, EAGAIN } }, 1, EAGAIN },
	{ "zero-length answer", { { F_ZERO, 0, 0 } }, 1, EIO },
	{ "EINTR then EPERM", { { F_EINTR, 0, 0 }, { F_ERR, 0, EPERM } }, 2, EPERM },
};

START_TEST(test_init_failures)
{
	const struct fail_script *s = &fail_scripts[_i];
	struct collab_rng r;
	uint8_t x[8] = { 0 };

	fake_script(s->steps, s->nsteps);
	errno = 0;
	ck_assert_int_eq(collab_rng_init(&r), COLLAB_ERANDOM);
	ck_assert_int_eq(errno, s->err);
	/* not usable afterwards */
	ck_assert_int_eq(collab_rng_bytes(&r, x, sizeof(x)), COLLAB_ESTATE);
}
END_TEST

START_TEST(test_real_kernel)
{
	struct collab_rng a, b;
	uint8_t x[32], y[32], z[32];

	fake_reset();
	ck_assert_int_eq(collab_rng_init(&a), 0);
	ck_assert_int_eq(collab_rng_init(&b), 0);
	ck_assert_uint_eq(fake.calls, 2);
	ck_assert_int_eq(collab_rng_bytes(&a, x, sizeof(x)), 0);
	ck_assert_int_eq(collab_rng_bytes(&a, y, sizeof(y)), 0);
	ck_assert_int_eq(collab_rng_bytes(&b, z, sizeof(z)), 0);
	/* 2^-256 chances of a false failure */
	ck_assert_int_ne(memcmp(x, y, sizeof(x)), 0);
	ck_assert_int_ne(memcmp(x, z, sizeof(x)), 0);
	collab_rng_wipe(&a);
	collab_rng_wipe(&b);
}
END_TEST

/* ---- reseeding ----------------------------------------------------------- */

/*
 * With reseed_interval = 100, asking for 250 bytes gives exactly: 100
 * bytes, reseed, 100 bytes, reseed, 50 bytes. The model replays that
 * schedule on a bare BearSSL HMAC-DRBG fed the same fake kernel bytes
 * (seed 0..47, first reseed 48..95, second 96..143).
 */
START_TEST(test_reseed_schedule)
{
	struct collab_rng r;
	br_hmac_drbg_context m;
	uint8_t x[250], y[250], seed[48];

	fake_script(NULL, 0);
	ck_assert_int_eq(collab_rng_init(&r), 0);
	r.reseed_interval = 100;
	ck_assert_int_eq(collab_rng_bytes(&r, x, 250), 0);
	ck_assert_uint_eq(fake.calls, 3);

	for (size_t i = 0; i < 48; i++)
		seed[i] = (uint8_t)i;
	br_hmac_drbg_init(&m, &br_sha256_vtable, seed, 48);
	br_hmac_drbg_generate(&m, y, 100);
	for (size_t i = 0; i < 48; i++)
		seed[i] = (uint8_t)(48 + i);
	br_hmac_drbg_update(&m, seed, 48);
	br_hmac_drbg_generate(&m, y + 100, 100);
	for (size_t i = 0; i < 48; i++)
		seed[i] = (uint8_t)(96 + i);
	br_hmac_drbg_update(&m, seed, 48);
	br_hmac_drbg_generate(&m, y + 200, 50);
	ck_assert_mem_eq(x, y, 250);

	/* 50 more reach the interval exactly: no reseed; one more does */
	ck_assert_int_eq(collab_rng_bytes(&r, x, 50), 0);
	ck_assert_uint_eq(fake.calls, 3);
	ck_assert_int_eq(collab_rng_bytes(&r, x, 1), 0);
	ck_assert_uint_eq(fake.calls, 4);
	/* 0 disables the byte count */
	r.reseed_interval = 0;
	ck_assert_int_eq(collab_rng_bytes(&r, x, 250), 0);
	ck_assert_int_eq(collab_rng_bytes(&r, x, 250), 0);
	ck_assert_uint_eq(fake.calls, 4);
}
END_TEST

/* The default interval: COLLAB_RNG_RESEED_INTERVAL bytes from one seed,
 * the next byte after a reseed. */
START_TEST(test_reseed_default_interval)
{
	struct collab_rng r;
	static uint8_t big[COLLAB_RNG_MAX_REQUEST];
	uint64_t made = 0;

	fake_reset();
	ck_assert_int_eq(collab_rng_init(&r), 0);
	while (made < COLLAB_RNG_RESEED_INTERVAL) {
		ck_assert_int_eq(collab_rng_bytes(&r, big, sizeof(big)), 0);
		made += sizeof(big);
	}
	ck_assert_uint_eq(made, COLLAB_RNG_RESEED_INTERVAL);
	ck_assert_uint_eq(fake.calls, 1);
	ck_assert_int_eq(collab_rng_bytes(&r, big, 1), 0);
	ck_assert_uint_eq(fake.calls, 2);
}
END_TEST

/* A failed reseed returns COLLAB_ERANDOM, writes nothing, and is retried
 * by the next call. */
START_TEST(test_reseed_failure)
{
	static const struct fake_step steps[] = {
		{ F_FULL, 0, 0 },               /* init */
		{ F_ERR, 0, EIO },              /* first reseed */
		{ F_EINTR, 0, 0 },              /* second try: EINTR, then ok */
	};
	struct collab_rng r;
	uint8_t x[16];
	uint32_t u = 0xDEADBEEF;

	fake_script(steps, ARRAY_LEN(steps));
	ck_assert_int_eq(collab_rng_init(&r), 0);
	r.reseed_interval = 16;
	ck_assert_int_eq(collab_rng_bytes(&r, x, 16), 0);
	memset(x, 0xAA, sizeof(x));
	ck_assert_int_eq(collab_rng_bytes(&r, x, 16), COLLAB_ERANDOM);
	for (size_t i = 0; i < sizeof(x); i++)
		ck_assert_uint_eq(x[i], 0xAA);
	ck_assert_uint_eq(fake.calls, 2);
	ck_assert_int_eq(collab_rng_bytes(&r, x, 16), 0);
	ck_assert_uint_eq(fake.calls, 4);
	/* u32 and below pass the error on and leave *out alone */
	fake.fail_all = 1;
	ck_assert_int_eq(collab_rng_u32(&r, &u), COLLAB_ERANDOM);
	ck_assert_uint_eq(u, 0xDEADBEEF);
	ck_assert_int_eq(collab_rng_below(&r, 10, &u), COLLAB_ERANDOM);
	ck_assert_uint_eq(u, 0xDEADBEEF);
}
END_TEST

/* After fork the child reseeds before its first output, so it never
 * repeats its parent's stream; a test-seeded generator does not. */
START_TEST(test_fork_reseeds)
{
	for (int seeded = 0; seeded <= 1; seeded++) {
		struct collab_rng r;
		uint8_t mine[32], childs[32];
		size_t child_calls = 0;
		int fds[2], status;
		pid_t pid;

		fake_reset();
		if (seeded)
			ck_assert_int_eq(collab_rng_init_seed(&r, "s", 1), 0);
		else
			ck_assert_int_eq(collab_rng_init(&r), 0);
		ck_assert_int_eq(pipe(fds), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			size_t before = fake.calls;
			int ok = collab_rng_bytes(&r, childs, sizeof(childs)) == 0;
			size_t calls = fake.calls - before;
			ok = ok && write(fds[1], childs, sizeof(childs)) == (ssize_t)sizeof(childs);
			ok = ok && write(fds[1], &calls, sizeof(calls)) == (ssize_t)sizeof(calls);
			_exit(ok ? 0 : 1);
		}
		ck_assert_int_eq(collab_rng_bytes(&r, mine, sizeof(mine)), 0);
		ck_assert_int_eq(read(fds[0], childs, sizeof(childs)), (ssize_t)sizeof(childs));
		ck_assert_int_eq(read(fds[0], &child_calls, sizeof(child_calls)),
				 (ssize_t)sizeof(child_calls));
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(fds[0]);
		close(fds[1]);
		if (seeded) {
			ck_assert_mem_eq(mine, childs, sizeof(mine));
			ck_assert_uint_eq(child_calls, 0);
		} else {
			ck_assert_int_ne(memcmp(mine, childs, sizeof(mine)), 0);
			ck_assert_uint_eq(child_calls, 1);
		}
	}
}
END_TEST

/* ---- API edges -------------------------------------------------------------- */

START_TEST(test_state_errors)
{
	struct collab_rng r;
	uint8_t x[4];
	uint32_t u = 7;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(collab_rng_bytes(&r, x, sizeof(x)), COLLAB_ESTATE);
	ck_assert_int_eq(collab_rng_u32(&r, &u), COLLAB_ESTATE);
	ck_assert_int_eq(collab_rng_below(&r, 5, &u), COLLAB_ESTATE);
	ck_assert_uint_eq(u, 7);
	ck_assert_int_eq(collab_rng_init_seed(&r, NULL, 1), COLLAB_EINVAL);
	ck_assert_int_eq(collab_rng_init_seed(&r, NULL, 0), 0);
	ck_assert_int_eq(collab_rng_bytes(&r, NULL, 0), 0);
	ck_assert_int_eq(collab_rng_bytes(&r, x, sizeof(x)), 0);
	collab_rng_wipe(&r);
	ck_assert_int_eq(collab_rng_bytes(&r, x, sizeof(x)), COLLAB_ESTATE);
	for (size_t i = 0; i < sizeof(r); i++)
		ck_assert_uint_eq(((const uint8_t *)&r)[i], 0);
}
END_TEST

/* u32 is the next four output bytes, big-endian. */
START_TEST(test_u32_layout)
{
	struct collab_rng a, b;
	uint8_t x[4];
	uint32_t u;

	ck_assert_int_eq(collab_rng_init_seed(&a, "k", 1), 0);
	ck_assert_int_eq(collab_rng_init_seed(&b, "k", 1), 0);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(collab_rng_u32(&a, &u), 0);
		ck_assert_int_eq(collab_rng_bytes(&b, x, 4), 0);
		ck_assert_uint_eq(u, (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 |
				     (uint32_t)x[2] << 8 | x[3]);
	}
}
END_TEST

/*
 * collab_rng_below against a model of rejection sampling over the same
 * u32 stream, for bounds where rejection is never, rarely and often
 * (2^31 + 1 rejects almost half of all draws) needed.
 */
static const uint32_t bounds[] = {
	1, 2, 3, 7, 10, 1000, 30000, 65536, 0x80000000u, 0x80000001u,
	0xC0000000u, 0xFFFFFFFEu, 0xFFFFFFFFu
};

START_TEST(test_below_model)
{
	uint32_t bound = bounds[_i];
	uint32_t lim = (uint32_t)(((uint64_t)1 << 32) % bound);
	struct collab_rng a, b;
	size_t rejected = 0;

	ck_assert_int_eq(collab_rng_init_seed(&a, "below", 5), 0);
	ck_assert_int_eq(collab_rng_init_seed(&b, "below", 5), 0);
	for (int i = 0; i < 2000; i++) {
		uint32_t got = 0xFFFFFFFF, x;
		ck_assert_int_eq(collab_rng_below(&a, bound, &got), 0);
		for (;;) {
			ck_assert_int_eq(collab_rng_u32(&b, &x), 0);
			if (x >= lim)
				break;
			rejected++;
		}
		ck_assert_uint_lt(got, bound);
		ck_assert_uint_eq(got, x % bound);
	}
	if (bound == 0x80000001u)
		ck_assert_uint_gt(rejected, 500);       /* ~2000 expected */
	if ((bound & (bound - 1)) == 0)
		ck_assert_uint_eq(rejected, 0);         /* powers of two never */
}
END_TEST

/* A fixed-seed chi-square check that below(10) is uniform (deterministic,
 * so it cannot flake). 9 degrees of freedom: 27.88 is the 0.999 point. */
START_TEST(test_below_uniform)
{
	struct collab_rng r;
	uint32_t hist[10] = { 0 }, v;
	const double n = 100000, e = n / 10;
	double chi = 0;

	ck_assert_int_eq(collab_rng_init_seed(&r, "uniform", 7), 0);
	for (int i = 0; i < (int)n; i++) {
		ck_assert_int_eq(collab_rng_below(&r, 10, &v), 0);
		hist[v]++;
	}
	for (int i = 0; i < 10; i++)
		chi += (hist[i] - e) * (hist[i] - e) / e;
	ck_assert_msg(chi < 27.88, "chi-square %f", chi);
	ck_assert_int_eq(collab_rng_below(&r, 0, &v), COLLAB_EINVAL);
}
END_TEST

static Suite *rand_suite(void)
{
	Suite *s = suite_create("rand");
	TCase *k = tcase_create("kat");
	TCase *t = tcase_create("kernel");
	TCase *u = tcase_create("values");

	tcase_add_test(k, test_nist_cavp_hmac_drbg_sha256);
	tcase_add_loop_test(k, test_kat_chunking, 0, (int)ARRAY_LEN(kats));
	tcase_add_test(k, test_seeded_is_deterministic);
	suite_add_tcase(s, k);
	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, test_init_short_reads_and_eintr, 0, (int)ARRAY_LEN(seed_scripts));
	tcase_add_loop_test(t, test_init_failures, 0, (int)ARRAY_LEN(fail_scripts));
	tcase_add_test(t, test_real_kernel);
	tcase_add_test(t, test_reseed_schedule);
	tcase_add_test(t, test_reseed_default_interval);
	tcase_add_test(t, test_reseed_failure);
	tcase_add_test(t, test_fork_reseeds);
	tcase_add_test(t, test_state_errors);
	suite_add_tcase(s, t);
	tcase_set_timeout(u, 60);
	tcase_add_test(u, test_u32_layout);
	tcase_add_loop_test(u, test_below_model, 0, (int)ARRAY_LEN(bounds));
	tcase_add_test(u, test_below_uniform);
	suite_add_tcase(s, u);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rand_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
