/* collab-bench: the command line (args.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab-bench/args.h"
#include "collab-bench/bench.h"

#define DEF_URL             "ws://127.0.0.1:8080"
#define DEF_CONNECTIONS     100u
#define DEF_ROOMS           10u
#define DEF_RATE            100u       /* operations per second, in total */
#define DEF_DURATION_S      10u
#define DEF_WARMUP_S        2u
#define DEF_SIZE            100u       /* comment text bytes */
#define DEF_MAX_CONNECTING  500u
#define DEF_CONNECT_TIMEOUT 60u
#define DEF_DRAIN_TIMEOUT   10u
#define DEF_PROGRESS_S      1u
#define DEF_PER_CHAT        500u       /* --op add: comments per chat */
#define MAX_CONNECTIONS     1000000u
#define MAX_SOURCES         65536u
#define MIN_SIZE            64u        /* the longest stamp fits */

static const char usage[] =
	"usage: collab-bench [--url ws://HOST:PORT] --tenant ID\n"
	"                    (--tenants FILE | --token JWT) [options]\n"
	"\n"
	"Load generator on the C client: N connections over M rooms, P of them\n"
	"publishing; reports deliveries per second, delivery latency percentiles\n"
	"(p50 p90 p99 p99.9 max), events lost or out of order (must be 0),\n"
	"reconnects and rejections. Each flag is --flag VALUE or --flag=VALUE.\n"
	"\n"
	"Server and identity:\n"
	"  --url URL            base URL ws[s]://HOST:PORT[/path]; rooms are\n"
	"                       /ws?tenantId=..&urlId=.. under it (default " DEF_URL ")\n"
	"  --tenant ID          the tenant (default: the only tenant of --tenants)\n"
	"  --tenants FILE       tenants.json: sign one token per connection with the\n"
	"                       tenant's secret (user bench-<i>, one user each)\n"
	"  --token JWT          one token for every connection (one user, many tabs)\n"
	"                       Neither: anonymous, only with --publishers 0.\n"
	"  --origin O           Origin header (default: none)\n"
	"  --ca PEM             trust anchors for wss:// (default: the system's)\n"
	"  --room-prefix P      urlId of room r is P<r> (default bench/<random>/room-,\n"
	"                       fresh rooms for every run)\n"
	"\n"
	"Load:\n"
	"  --connections N      connections (default 100)\n"
	"  --rooms M            rooms; connection i joins room i mod M (default 10)\n"
	"  --publishers P       connections 0..P-1 publish (default: M, one per\n"
	"                       room; 0 watches only)\n"
	"  --rate R             operations per second IN TOTAL, spread over the\n"
	"                       publishers: each sends R/P per second, which the\n"
	"                       tenant's opsPerSecond must allow (default 100)\n"
	"  --op edit|add        edit one comment over and over (default), or add\n"
	"                       comments (a new chat every --comments-per-chat)\n"
	"  --comments-per-chat K  (default 500; at most the tenant's maxCommentsPerChat)\n"
	"  --size BYTES         comment text size, 64-4096 (default 100: events of\n"
	"                       about 370 bytes)\n"
	"  --duration S         measured seconds (default 10)\n"
	"  --warmup S           seconds of load before measuring (default 2)\n"
	"  --connect-timeout S  longest connect phase (default 60)\n"
	"  --drain-timeout S    longest wait for the last events (default 10)\n"
	"  --max-connecting K   connections between start and first synced at\n"
	"                       once (default 500)\n"
	"\n"
	"Client side:\n"
	"  --threads T          loops (threads); rooms are dealt to them (default 1)\n"
	"  --sources A,B,...    bind connections to these local addresses in turn\n"
	"                       (each 127.0.0.0/8 address has its own ~28,000\n"
	"                       ephemeral ports per server address)\n"
	"  --source-range A-B   the same for every IPv4 address from A to B\n"
	"  --clock monotonic|realtime  stamp clock: monotonic within one machine\n"
	"                       (default), realtime across machines\n"
	"\n"
	"Output:\n"
	"  --progress S         a progress line on stderr every S seconds (default 1;\n"
	"                       0: none)\n"
	"  --json               the final report as one JSON object on stdout\n"
	"  --help               this text\n"
	"\n"
	"Exit status: 0 nothing lost or out of order, every operation answered,\n"
	"every connection live at the end; 1 events lost or out of order, or\n"
	"operations unanswered; 3 connections never live, closed for good (auth,\n"
	"refusals) or not live at the end; 2 bad usage or set-up failure.\n";

/* Decimal digits only, into *out within [min, max]. */
static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 19)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

enum okind { K_STR, K_NUM, K_FLAG, K_OP, K_CLOCK };

struct optdef {
	const char *name;
	enum okind kind;
	void *dst;
	uint64_t min, max;
};

static const struct optdef optdefs[] = {
	{ "--url", K_STR, &bench.o.url, 0, 0 },
	{ "--tenant", K_STR, &bench.o.tenant, 0, 0 },
	{ "--tenants", K_STR, &bench.o.tenants, 0, 0 },
	{ "--token", K_STR, &bench.o.token, 0, 0 },
	{ "--origin", K_STR, &bench.o.origin, 0, 0 },
	{ "--ca", K_STR, &bench.o.ca, 0, 0 },
	{ "--room-prefix", K_STR, &bench.o.prefix, 0, 0 },
	{ "--sources", K_STR, &bench.o.sources, 0, 0 },
	{ "--source-range", K_STR, &bench.o.range, 0, 0 },
	{ "--connections", K_NUM, &bench.o.conns, 1, MAX_CONNECTIONS },
	{ "--rooms", K_NUM, &bench.o.rooms, 1, MAX_CONNECTIONS },
	{ "--publishers", K_NUM, &bench.o.pubs, 0, MAX_CONNECTIONS },
	{ "--rate", K_NUM, &bench.o.rate, 0, 100000000 },
	{ "--size", K_NUM, &bench.o.size, MIN_SIZE, MAX_SIZE },
	{ "--duration", K_NUM, &bench.o.duration, 1, 86400 },
	{ "--warmup", K_NUM, &bench.o.warmup, 0, 86400 },
	{ "--comments-per-chat", K_NUM, &bench.o.per_chat, 1, 1000000000 },
	{ "--connect-timeout", K_NUM, &bench.o.connect_timeout, 1, 86400 },
	{ "--drain-timeout", K_NUM, &bench.o.drain_timeout, 1, 86400 },
	{ "--max-connecting", K_NUM, &bench.o.max_connecting, 1, MAX_CONNECTIONS },
	{ "--threads", K_NUM, &bench.o.threads, 1, MAX_THREADS },
	{ "--progress", K_NUM, &bench.o.progress, 0, 86400 },
	{ "--op", K_OP, &bench.o.op, 0, 0 },
	{ "--clock", K_CLOCK, &bench.o.clock, 0, 0 },
	{ "--json", K_FLAG, &bench.o.json, 0, 0 },
};
#define N_OPTS (sizeof(optdefs) / sizeof(optdefs[0]))

/* Returns 0, 1 (--help printed) or 2 (bad usage, said on stderr). */
int bench_parse_args(int argc, char **argv)
{
	bool seen[N_OPTS];
	int i;

	memset(seen, 0, sizeof(seen));
	bench.o.url = DEF_URL;
	bench.o.conns = DEF_CONNECTIONS;
	bench.o.rooms = DEF_ROOMS;
	bench.o.rate = DEF_RATE;
	bench.o.size = DEF_SIZE;
	bench.o.duration = DEF_DURATION_S;
	bench.o.warmup = DEF_WARMUP_S;
	bench.o.per_chat = DEF_PER_CHAT;
	bench.o.connect_timeout = DEF_CONNECT_TIMEOUT;
	bench.o.drain_timeout = DEF_DRAIN_TIMEOUT;
	bench.o.max_connecting = DEF_MAX_CONNECTING;
	bench.o.threads = 1;
	bench.o.progress = DEF_PROGRESS_S;
	bench.o.op = OP_EDIT;
	bench.o.clock = CLOCK_MONOTONIC;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *eq;
		size_t k, nlen;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			(void)fputs(usage, stdout);
			return 1;
		}
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (k = 0; k < N_OPTS; k++)
			if (strlen(optdefs[k].name) == nlen &&
			    memcmp(optdefs[k].name, a, nlen) == 0)
				break;
		if (k == N_OPTS) {
			bench_fail("unknown argument \"%s\" (see --help)", a);
			return 2;
		}
		if (seen[k]) {
			bench_fail("%s given twice", optdefs[k].name);
			return 2;
		}
		seen[k] = true;
		if (optdefs[k].kind == K_FLAG) {
			if (eq) {
				bench_fail("%s takes no value", optdefs[k].name);
				return 2;
			}
			*(bool *)optdefs[k].dst = true;
			continue;
		}
		if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		if (v == NULL) {
			bench_fail("%s needs a value", optdefs[k].name);
			return 2;
		}
		switch (optdefs[k].kind) {
		case K_STR:
			if (*v == 0) {
				bench_fail("%s needs a value", optdefs[k].name);
				return 2;
			}
			*(const char **)optdefs[k].dst = v;
			break;
		case K_NUM:
			if (!parse_u64(v, optdefs[k].min, optdefs[k].max,
				       (uint64_t *)optdefs[k].dst)) {
				bench_fail("%s must be a whole number from %llu to %llu, not \"%s\"",
				     optdefs[k].name, (unsigned long long)optdefs[k].min,
				     (unsigned long long)optdefs[k].max, v);
				return 2;
			}
			if (optdefs[k].dst == &bench.o.pubs)
				bench.o.has_pubs = true;
			break;
		case K_OP:
			if (strcmp(v, "edit") == 0) {
				bench.o.op = OP_EDIT;
			} else if (strcmp(v, "add") == 0) {
				bench.o.op = OP_ADD;
			} else {
				bench_fail("--op is edit or add, not \"%s\"", v);
				return 2;
			}
			break;
		case K_CLOCK:
			if (strcmp(v, "monotonic") == 0) {
				bench.o.clock = CLOCK_MONOTONIC;
			} else if (strcmp(v, "realtime") == 0) {
				bench.o.clock = CLOCK_REALTIME;
			} else {
				bench_fail("--clock is monotonic or realtime, not \"%s\"", v);
				return 2;
			}
			break;
		default:
			break;
		}
	}
	if (!bench.o.has_pubs)
		bench.o.pubs = bench.o.rooms < bench.o.conns ? bench.o.rooms : bench.o.conns;
	if (bench.o.rooms > bench.o.conns) {
		bench_fail("--rooms (%llu) cannot exceed --connections (%llu)",
		     (unsigned long long)bench.o.rooms, (unsigned long long)bench.o.conns);
		return 2;
	}
	if (bench.o.pubs > bench.o.conns) {
		bench_fail("--publishers (%llu) cannot exceed --connections (%llu)",
		     (unsigned long long)bench.o.pubs, (unsigned long long)bench.o.conns);
		return 2;
	}
	if (bench.o.tenants && bench.o.token) {
		bench_fail("--tenants and --token exclude each other");
		return 2;
	}
	if (bench.o.pubs && bench.o.tenants == NULL && bench.o.token == NULL) {
		bench_fail("publishing needs a token: --tenants FILE or --token JWT (or --publishers 0)");
		return 2;
	}
	return 0;
}

/* One address "A" (IPv4 or IPv6) appended to bench.sources. */
static int add_source(const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct sockaddr_storage *ss;

	if (bench.n_sources >= MAX_SOURCES) {
		bench_fail("more than %u source addresses", MAX_SOURCES);
		return -1;
	}
	if (len == 0 || len >= sizeof(buf)) {
		bench_fail("bad source address \"%.*s\"", (int)len, s);
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = 0;
	ss = &bench.sources[bench.n_sources];
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, buf, &((struct sockaddr_in *)(void *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
	} else if (inet_pton(AF_INET6, buf,
			     &((struct sockaddr_in6 *)(void *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
	} else {
		bench_fail("bad source address \"%s\"", buf);
		return -1;
	}
	bench.n_sources++;
	return 0;
}

int bench_parse_sources(void)
{
	const char *p, *q;

	if (bench.o.sources == NULL && bench.o.range == NULL)
		return 0;
	bench.sources = calloc(MAX_SOURCES, sizeof(*bench.sources));
	if (bench.sources == NULL) {
		bench_fail("out of memory");
		return -1;
	}
	for (p = bench.o.sources; p && *p; p = *q ? q + 1 : q) {
		q = strchr(p, ',');
		if (q == NULL)
			q = p + strlen(p);
		if (add_source(p, (size_t)(q - p)) != 0)
			return -1;
	}
	if (bench.o.range) {
		char a[INET_ADDRSTRLEN + 1], b[INET_ADDRSTRLEN + 1];
		const char *dash = strchr(bench.o.range, '-');
		struct in_addr ia, ib;
		uint32_t lo, hi, v;
		size_t la;

		la = dash ? (size_t)(dash - bench.o.range) : 0;
		if (dash == NULL || la >= sizeof(a) || strlen(dash + 1) >= sizeof(b)) {
			bench_fail("--source-range is A-B (IPv4), not \"%s\"", bench.o.range);
			return -1;
		}
		memcpy(a, bench.o.range, la);
		a[la] = 0;
		memcpy(b, dash + 1, strlen(dash + 1) + 1);
		if (inet_pton(AF_INET, a, &ia) != 1 || inet_pton(AF_INET, b, &ib) != 1 ||
		    ntohl(ia.s_addr) > ntohl(ib.s_addr)) {
			bench_fail("--source-range is A-B with IPv4 addresses A <= B, not \"%s\"",
			     bench.o.range);
			return -1;
		}
		lo = ntohl(ia.s_addr);
		hi = ntohl(ib.s_addr);
		for (v = lo;; v++) {
			struct sockaddr_in *s4;

			if (bench.n_sources >= MAX_SOURCES) {
				bench_fail("more than %u source addresses", MAX_SOURCES);
				return -1;
			}
			s4 = (struct sockaddr_in *)(void *)&bench.sources[bench.n_sources++];
			s4->sin_family = AF_INET;
			s4->sin_addr.s_addr = htonl(v);
			if (v == hi)
				break;
		}
	}
	return 0;
}
