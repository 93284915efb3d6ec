/*
 * bench_jwt.c - HS256 token throughput.
 *
 * A typical hello token (sub, name, tenantId, exp, moderator, two
 * urlIds; about 300 bytes) signed and verified with a 40-byte key, best
 * of ROUNDS batches of BATCH operations. verify_sig is the signature layer
 * alone, verify adds the payload's JSON and the claims. A token with a
 * wrong signature measures the refusal path (it must cost the same as an
 * acceptance up to the compare). Prints one line per case:
 *
 *     bench <name> <value> <unit>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collab/common.h"
#include "collab/json.h"
#include "collab/jwt.h"

#define ROUNDS 7
#define BATCH 20000

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

static const uint8_t key[] = "bench-secret-0123456789abcdef0123456789";
static const char payload[] =
	"{\"sub\":\"user-12345\",\"name\":\"Ann Example\",\"tenantId\":\"demo\","
	"\"exp\":4102444800,\"moderator\":false,"
	"\"urlIds\":[\"https://example.com/docs/page-1\",\"https://example.com/docs/page-2\"]}";

static struct collab_json_node nodes[COLLAB_JWT_NODES_FOR(1024)];
static uint8_t scratch[COLLAB_JWT_SCRATCH_FOR(1024)];

enum op { SIGN, VERIFY_SIG, VERIFY, VERIFY_BAD };

static double run(enum op op, char *tok, size_t n)
{
	double best = 0;

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_s(), dt;
		for (int i = 0; i < BATCH; i++) {
			struct collab_jwt_claims c;
			size_t w = 0;
			int rc = 0;

			switch (op) {
			case SIGN:
				rc = collab_jwt_sign(NULL, key, sizeof(key) - 1,
						     (const uint8_t *)payload, sizeof(payload) - 1,
						     nodes, COLLAB_JWT_NODES_FOR(1024), tok, 1024, &w);
				break;
			case VERIFY_SIG:
				rc = collab_jwt_verify_sig(NULL, key, sizeof(key) - 1,
							   (const uint8_t *)tok, n, nodes,
							   COLLAB_JWT_NODES_FOR(1024), scratch,
							   sizeof(scratch), &w);
				break;
			case VERIFY:
			case VERIFY_BAD:
				rc = collab_jwt_verify(NULL, key, sizeof(key) - 1,
						       (const uint8_t *)tok, n, 1764151200, nodes,
						       COLLAB_JWT_NODES_FOR(1024), scratch,
						       sizeof(scratch), &c);
				w = c.sub.len;
				break;
			}
			if (rc != (op == VERIFY_BAD ? COLLAB_ESIG : 0)) {
				fprintf(stderr, "bench_jwt: unexpected %s\n", collab_strerror(rc));
				exit(1);
			}
			sink += w;
		}
		dt = now_s() - t0;
		if (BATCH / dt > best)
			best = BATCH / dt;
	}
	return best;
}

int main(void)
{
	char tok[1024], bad[1024];
	size_t n = 0;

	if (collab_jwt_sign(NULL, key, sizeof(key) - 1, (const uint8_t *)payload,
			    sizeof(payload) - 1, nodes, COLLAB_JWT_NODES_FOR(1024), tok,
			    sizeof(tok), &n) != 0)
		return 1;
	memcpy(bad, tok, n);
	bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';   /* same length, wrong MAC */

	report("jwt_sign", run(SIGN, tok, n), "op/s");
	report("jwt_verify_sig", run(VERIFY_SIG, tok, n), "op/s");
	report("jwt_verify", run(VERIFY, tok, n), "op/s");
	report("jwt_verify_bad_sig", run(VERIFY_BAD, bad, n), "op/s");
	return 0;
}
