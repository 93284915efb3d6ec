/*
 * check_config.c - collab-server's command line (server/config.h).
 *
 * Every flag's default; every flag in both spellings; every numeric flag
 * at its bounds and one past them; every malformed argument with its exact
 * one-line message; the combination checks; ADDR:PORT and number grammar
 * from buffers ending on a guard page; --help listing every flag with its
 * default.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testutil.h"

#define MAXARGS 12

/* argv for srv_config_parse: program name first. */
static int make_argv(const char *const *args, char **argv)
{
	int n = 0;

	argv[n++] = (char *)"collab-server";
	while (args[n - 1] != NULL && n < MAXARGS)
		argv[n] = (char *)args[n - 1], n++;
	argv[n] = NULL;
	return n;
}

static int parse(const char *const *args, struct srv_config *cfg, char *msg,
		 size_t cap)
{
	char *argv[MAXARGS + 1];
	int argc = make_argv(args, argv);

	srv_config_init(cfg);
	return srv_config_parse(cfg, argc, argv, msg, cap);
}

/* ---- defaults ------------------------------------------------------------ */

START_TEST(test_defaults)
{
	static const char *const args[] = { "--tenants", "t.json", NULL };
	struct srv_config c;
	char msg[SRV_CONFIG_MSG_CAP], txt[64];

	ck_assert_int_eq(parse(args, &c, msg, sizeof msg), 0);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(srv_config_addr_format(&c.listen, c.listen.port, txt,
						sizeof txt), 14);
	ck_assert_str_eq(txt, "127.0.0.1:8080");
	ck_assert_int_eq(srv_config_addr_format(&c.admin, c.admin.port, txt,
						sizeof txt), 14);
	ck_assert_str_eq(txt, "127.0.0.1:8081");
	ck_assert_str_eq(c.tenants, "t.json");
	ck_assert_str_eq(c.data, "./data");
	ck_assert_ptr_null(c.tls_cert);
	ck_assert_ptr_null(c.tls_key);
	ck_assert_ptr_null(c.www);
	ck_assert_int_eq(c.durability, SRV_CONFIG_DURABILITY_STRICT);
	ck_assert_uint_eq(c.batch_delay_ms, 0);
	ck_assert_uint_eq(c.presence_interval_ms, 500);
	ck_assert_uint_eq(c.hello_timeout_ms, 10000);
	ck_assert_uint_eq(c.handshake_timeout_ms, 10000);
	ck_assert_uint_eq(c.ping_interval_ms, 30000);
	ck_assert_uint_eq(c.idle_timeout_ms, 75000);
	ck_assert_uint_eq(c.max_message, 65536);
	ck_assert_uint_eq(c.queue_limit, 1048576);
	ck_assert_uint_eq(c.ring_size, 1000);
	ck_assert_uint_eq(c.compact_threshold, 64u * 1024 * 1024);
	ck_assert(!c.repair);
	ck_assert(!c.demo);
	ck_assert_int_eq(c.log_level, SRV_CONFIG_LOG_INFO);
	ck_assert(!c.help);
	ck_assert(!c.version);
}
END_TEST

/* ---- numeric flags --------------------------------------------------------- */

struct num_flag {
	const char *name;
	size_t off;
	uint64_t def, min, max;
};

#define NF(n, f, d, lo, hi) { n, offsetof(struct srv_config, f), d, lo, hi }

static const struct num_flag num_flags[] = {
	NF("batch-delay-ms", batch_delay_ms, 0, 0, 60000),
	NF("presence-interval-ms", presence_interval_ms, 500, 0, 60000),
	NF("hello-timeout-ms", hello_timeout_ms, 10000, 1, 3600000),
	NF("handshake-timeout-ms", handshake_timeout_ms, 10000, 1, 3600000),
	NF("ping-interval-ms", ping_interval_ms, 30000, 1, 3600000),
	NF("idle-timeout-ms", idle_timeout_ms, 75000, 1, 3600000),
	NF("max-message", max_message, 65536, 256, 67108864),
	NF("queue-limit", queue_limit, 1048576, 1024, 1073741824),
	NF("ring-size", ring_size, 1000, 1, 1000000),
	NF("compact-threshold", compact_threshold, 67108864, 1024,
	   1099511627776ull),
};

static uint64_t field_u64(const struct srv_config *c, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)c + off, sizeof v);
	return v;
}

/* Parses "--tenants x --NAME VALUE" (separate = 0) or "--NAME=VALUE". */
static int parse_one(const char *name, const char *value, int joined,
		     struct srv_config *c, char *msg, size_t cap)
{
	char flag[96];
	const char *args[5] = { "--tenants", "x", flag, NULL, NULL };

	if (joined) {
		snprintf(flag, sizeof flag, "--%s=%s", name, value);
	} else {
		snprintf(flag, sizeof flag, "--%s", name);
		args[3] = value;
	}
	return parse(args, c, msg, cap);
}

START_TEST(test_numeric_flag)
{
	const struct num_flag *f = &num_flags[_i];
	struct srv_config c;
	char msg[SRV_CONFIG_MSG_CAP], want[SRV_CONFIG_MSG_CAP], v[32];
	static const char *const bad_numbers[] = {
		"abc", "+5", "-5", "05", " 5", "5 ", "1e3", "0x10", "5ms",
		"1.5", "1,000", "\t7",
	};
	size_t k;
	int joined;

	srv_config_init(&c);
	ck_assert_uint_eq(field_u64(&c, f->off), f->def);
	for (joined = 0; joined < 2; joined++) {
		/* min and max are accepted, in both spellings */
		snprintf(v, sizeof v, "%llu", (unsigned long long)f->min);
		ck_assert_int_eq(parse_one(f->name, v, joined, &c, msg,
					   sizeof msg), 0);
		ck_assert_uint_eq(field_u64(&c, f->off), f->min);
		snprintf(v, sizeof v, "%llu", (unsigned long long)f->max);
		ck_assert_int_eq(parse_one(f->name, v, joined, &c, msg,
					   sizeof msg), 0);
		ck_assert_uint_eq(field_u64(&c, f->off), f->max);
		/* one past either end is refused, naming flag and range */
		snprintf(v, sizeof v, "%llu", (unsigned long long)f->max + 1);
		ck_assert_int_eq(parse_one(f->name, v, joined, &c, msg,
					   sizeof msg), COLLAB_ERANGE);
		snprintf(want, sizeof want, "--%s: %s is out of range (%llu-%llu)",
			 f->name, v, (unsigned long long)f->min,
			 (unsigned long long)f->max);
		ck_assert_str_eq(msg, want);
		if (f->min > 0) {
			snprintf(v, sizeof v, "%llu",
				 (unsigned long long)f->min - 1);
			ck_assert_int_eq(parse_one(f->name, v, joined, &c, msg,
						   sizeof msg), COLLAB_ERANGE);
			snprintf(want, sizeof want,
				 "--%s: %s is out of range (%llu-%llu)",
				 f->name, v, (unsigned long long)f->min,
				 (unsigned long long)f->max);
			ck_assert_str_eq(msg, want);
		}
		/* beyond 64 bits */
		ck_assert_int_eq(parse_one(f->name, "18446744073709551616",
					   joined, &c, msg, sizeof msg),
				 COLLAB_ERANGE);
		snprintf(want, sizeof want,
			 "--%s: 18446744073709551616 is out of range (%llu-%llu)",
			 f->name, (unsigned long long)f->min,
			 (unsigned long long)f->max);
		ck_assert_str_eq(msg, want);
		for (k = 0; k < ARRAY_LEN(bad_numbers); k++) {
			const char *b = bad_numbers[k];
			char shown[32];
			size_t j;
			ck_assert_int_eq(parse_one(f->name, b, joined, &c, msg,
						   sizeof msg), COLLAB_ESYNTAX);
			for (j = 0; b[j]; j++)
				shown[j] = b[j] == '\t' ? '?' : b[j];
			shown[j] = '\0';
			snprintf(want, sizeof want,
				 "--%s: \"%s\" is not a decimal number", f->name,
				 shown);
			ck_assert_str_eq(msg, want);
		}
	}
}
END_TEST

/* ---- every other flag: good values -------------------------------------------- */

struct good {
	const char *args[8];
	void (*check)(const struct srv_config *c);
};

static void addr_is(const struct srv_config_addr *a, const char *text)
{
	char buf[SRV_CONFIG_ADDR_TEXT_MAX + 1];
	ck_assert_int_ge(srv_config_addr_format(a, a->port, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, text);
}

static void ck_listen(const struct srv_config *c) { addr_is(&c->listen, "0.0.0.0:9000"); }
static void ck_listen0(const struct srv_config *c) { addr_is(&c->listen, "127.0.0.1:0"); addr_is(&c->admin, "127.0.0.1:0"); }
static void ck_listen6(const struct srv_config *c) { addr_is(&c->listen, "[::1]:443"); }
static void ck_localhost(const struct srv_config *c) { addr_is(&c->listen, "127.0.0.1:7000"); }
static void ck_admin(const struct srv_config *c) { addr_is(&c->admin, "10.1.2.3:65535"); }
static void ck_tenants(const struct srv_config *c) { ck_assert_str_eq(c->tenants, "/etc/collab/tenants.json"); }
static void ck_tenants_dash(const struct srv_config *c) { ck_assert_str_eq(c->tenants, "--odd"); }
static void ck_data(const struct srv_config *c) { ck_assert_str_eq(c->data, "/var/lib/collab"); }
static void ck_tls(const struct srv_config *c)
{
	ck_assert_str_eq(c->tls_cert, "c.pem");
	ck_assert_str_eq(c->tls_key, "k.pem");
}
static void ck_www(const struct srv_config *c) { ck_assert_str_eq(c->www, "server/www"); }
static void ck_strict(const struct srv_config *c) { ck_assert_int_eq(c->durability, SRV_CONFIG_DURABILITY_STRICT); }
static void ck_relaxed(const struct srv_config *c) { ck_assert_int_eq(c->durability, SRV_CONFIG_DURABILITY_RELAXED); }
static void ck_none(const struct srv_config *c) { ck_assert_int_eq(c->durability, SRV_CONFIG_DURABILITY_NONE); }
static void ck_repair(const struct srv_config *c) { ck_assert(c->repair); ck_assert(!c->demo); }
static void ck_demo(const struct srv_config *c) { ck_assert(c->demo); ck_assert_ptr_null(c->tenants); }
static void ck_demo_tenants(const struct srv_config *c) { ck_assert(c->demo); ck_assert_str_eq(c->tenants, "t.json"); }
static void ck_quiet(const struct srv_config *c) { ck_assert_int_eq(c->log_level, SRV_CONFIG_LOG_QUIET); }
static void ck_info(const struct srv_config *c) { ck_assert_int_eq(c->log_level, SRV_CONFIG_LOG_INFO); }
static void ck_debug(const struct srv_config *c) { ck_assert_int_eq(c->log_level, SRV_CONFIG_LOG_DEBUG); }
static void ck_help(const struct srv_config *c) { ck_assert(c->help); ck_assert(!c->version); }
static void ck_version(const struct srv_config *c) { ck_assert(c->version); ck_assert(!c->help); }
static void ck_help_first(const struct srv_config *c) { ck_assert(c->help); ck_assert(!c->repair); }
static void ck_same_port_other_family(const struct srv_config *c) { addr_is(&c->listen, "127.0.0.1:9000"); addr_is(&c->admin, "[::1]:9000"); }
static void ck_all(const struct srv_config *c)
{
	addr_is(&c->listen, "[::]:8443");
	addr_is(&c->admin, "127.0.0.1:9100");
	ck_assert_str_eq(c->tenants, "a");
	ck_assert_str_eq(c->data, "b");
	ck_assert_int_eq(c->durability, SRV_CONFIG_DURABILITY_NONE);
	ck_assert_int_eq(c->log_level, SRV_CONFIG_LOG_DEBUG);
	ck_assert(c->repair);
}

static const struct good goods[] = {
	{ { "--tenants", "t", "--listen", "0.0.0.0:9000", NULL }, ck_listen },
	{ { "--tenants", "t", "--listen=0.0.0.0:9000", NULL }, ck_listen },
	{ { "--tenants", "t", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", NULL }, ck_listen0 },
	{ { "--tenants", "t", "--listen", "[::1]:443", NULL }, ck_listen6 },
	{ { "--tenants", "t", "--listen=localhost:7000", NULL }, ck_localhost },
	{ { "--tenants", "t", "--admin", "10.1.2.3:65535", NULL }, ck_admin },
	{ { "--tenants", "t", "--admin=10.1.2.3:65535", NULL }, ck_admin },
	{ { "--tenants", "/etc/collab/tenants.json", NULL }, ck_tenants },
	{ { "--tenants=/etc/collab/tenants.json", NULL }, ck_tenants },
	{ { "--tenants=--odd", NULL }, ck_tenants_dash },
	{ { "--tenants", "t", "--data", "/var/lib/collab", NULL }, ck_data },
	{ { "--tenants", "t", "--data=/var/lib/collab", NULL }, ck_data },
	{ { "--tenants", "t", "--tls-cert", "c.pem", "--tls-key", "k.pem", NULL }, ck_tls },
	{ { "--tenants", "t", "--tls-key=k.pem", "--tls-cert=c.pem", NULL }, ck_tls },
	{ { "--tenants", "t", "--www", "server/www", NULL }, ck_www },
	{ { "--tenants", "t", "--www=server/www", NULL }, ck_www },
	{ { "--tenants", "t", "--durability", "strict", NULL }, ck_strict },
	{ { "--tenants", "t", "--durability=relaxed", NULL }, ck_relaxed },
	{ { "--tenants", "t", "--durability", "none", NULL }, ck_none },
	{ { "--tenants", "t", "--repair", NULL }, ck_repair },
	{ { "--demo", NULL }, ck_demo },
	{ { "--demo", "--tenants", "t.json", NULL }, ck_demo_tenants },
	{ { "--tenants", "t", "--log-level", "quiet", NULL }, ck_quiet },
	{ { "--tenants", "t", "--log-level=info", NULL }, ck_info },
	{ { "--tenants", "t", "--log-level", "debug", NULL }, ck_debug },
	{ { "--help", NULL }, ck_help },
	{ { "--version", NULL }, ck_version },
	/* --help stops parsing: later errors and the checks are skipped */
	{ { "--help", "--bogus", "--repair", NULL }, ck_help_first },
	{ { "--tls-cert", "c.pem", "--help", NULL }, ck_help },
	{ { "--tenants", "t", "--listen", "127.0.0.1:9000", "--admin", "[::1]:9000", NULL }, ck_same_port_other_family },
	{ { "--listen", "[::]:8443", "--admin=127.0.0.1:9100", "--tenants=a",
	    "--data=b", "--durability=none", "--log-level=debug", "--repair" }, ck_all },
};

START_TEST(test_good)
{
	const struct good *g = &goods[_i];
	struct srv_config c;
	char msg[SRV_CONFIG_MSG_CAP];
	const char *args[9];

	memcpy(args, g->args, sizeof g->args);
	args[8] = NULL;
	ck_assert_msg(parse(args, &c, msg, sizeof msg) == 0, "row %d: %s", _i,
		      msg);
	ck_assert_str_eq(msg, "");
	if (g->check)
		g->check(&c);
}
END_TEST

/* ---- bad command lines, with their exact messages -------------------------- */

struct bad {
	const char *args[8];
	int rc;
	const char *msg;
};

static const struct bad bads[] = {
	/* grammar */
	{ { "--tenants", "t", "--bogus", NULL }, COLLAB_ESYNTAX,
	  "unknown flag \"--bogus\" (see --help)" },
	{ { "--tenants", "t", "--bogus=1", NULL }, COLLAB_ESYNTAX,
	  "unknown flag \"--bogus\" (see --help)" },
	{ { "--tenants", "t", "--Listen", "1.2.3.4:5", NULL }, COLLAB_ESYNTAX,
	  "unknown flag \"--Listen\" (see --help)" },
	{ { "--tenants", "t", "--=x", NULL }, COLLAB_ESYNTAX,
	  "unknown flag \"--\" (see --help)" },
	{ { "--tenants", "t", "-h", NULL }, COLLAB_ESYNTAX,
	  "unexpected argument \"-h\" (flags are --name VALUE or --name=VALUE)" },
	{ { "--tenants", "t", "--", NULL }, COLLAB_ESYNTAX,
	  "unexpected argument \"--\" (flags are --name VALUE or --name=VALUE)" },
	{ { "extra", NULL }, COLLAB_ESYNTAX,
	  "unexpected argument \"extra\" (flags are --name VALUE or --name=VALUE)" },
	{ { "--tenants", "t", "u", NULL }, COLLAB_ESYNTAX,
	  "unexpected argument \"u\" (flags are --name VALUE or --name=VALUE)" },
	{ { "--tenants", "t", "--bad\x1b[2J", NULL }, COLLAB_ESYNTAX,
	  "unknown flag \"--bad?[2J\" (see --help)" },
	{ { "--tenants", "t", "--tenants", "u", NULL }, COLLAB_ESYNTAX,
	  "--tenants given twice" },
	{ { "--tenants", "t", "--repair", "--repair", NULL }, COLLAB_ESYNTAX,
	  "--repair given twice" },
	{ { "--tenants", "t", "--ring-size=5", "--ring-size", "6", NULL },
	  COLLAB_ESYNTAX, "--ring-size given twice" },
	{ { "--tenants", "t", "--repair=yes", NULL }, COLLAB_ESYNTAX,
	  "--repair takes no value" },
	{ { "--tenants", "t", "--demo=", NULL }, COLLAB_ESYNTAX,
	  "--demo takes no value" },
	{ { "--help=1", NULL }, COLLAB_ESYNTAX, "--help takes no value" },
	{ { "--version=x", NULL }, COLLAB_ESYNTAX, "--version takes no value" },
	/* missing and empty values, for each kind of flag */
	{ { "--tenants", NULL }, COLLAB_ESYNTAX, "--tenants needs a value (FILE)" },
	{ { "--tenants", "--repair", NULL }, COLLAB_ESYNTAX,
	  "--tenants needs a value (FILE)" },
	{ { "--tenants", "t", "--listen", NULL }, COLLAB_ESYNTAX,
	  "--listen needs a value (ADDR:PORT)" },
	{ { "--tenants", "t", "--admin", "--demo", NULL }, COLLAB_ESYNTAX,
	  "--admin needs a value (ADDR:PORT)" },
	{ { "--tenants", "t", "--data", NULL }, COLLAB_ESYNTAX,
	  "--data needs a value (DIR)" },
	{ { "--tenants", "t", "--ring-size", NULL }, COLLAB_ESYNTAX,
	  "--ring-size needs a value (N)" },
	{ { "--tenants", "t", "--max-message", NULL }, COLLAB_ESYNTAX,
	  "--max-message needs a value (BYTES)" },
	{ { "--tenants", "t", "--durability", NULL }, COLLAB_ESYNTAX,
	  "--durability needs a value (MODE)" },
	{ { "--tenants", "t", "--log-level", NULL }, COLLAB_ESYNTAX,
	  "--log-level needs a value (LEVEL)" },
	{ { "--tenants", "t", "--tls-cert", NULL }, COLLAB_ESYNTAX,
	  "--tls-cert needs a value (PEM)" },
	{ { "--tenants", "t", "--tls-key", NULL }, COLLAB_ESYNTAX,
	  "--tls-key needs a value (PEM)" },
	{ { "--tenants", "t", "--www", NULL }, COLLAB_ESYNTAX,
	  "--www needs a value (DIR)" },
	{ { "--tenants=", NULL }, COLLAB_ESYNTAX, "--tenants: empty value" },
	{ { "--tenants", "", NULL }, COLLAB_ESYNTAX, "--tenants: empty value" },
	{ { "--tenants", "t", "--data=", NULL }, COLLAB_ESYNTAX,
	  "--data: empty value" },
	{ { "--tenants", "t", "--listen=", NULL }, COLLAB_ESYNTAX,
	  "--listen: empty value" },
	{ { "--tenants", "t", "--ring-size", "", NULL }, COLLAB_ESYNTAX,
	  "--ring-size: empty value" },
	{ { "--tenants", "t", "--durability=", NULL }, COLLAB_ESYNTAX,
	  "--durability: empty value" },
	/* keywords */
	{ { "--tenants", "t", "--durability", "fast", NULL }, COLLAB_ESYNTAX,
	  "--durability: \"fast\": expected strict, relaxed or none" },
	{ { "--tenants", "t", "--durability=Strict", NULL }, COLLAB_ESYNTAX,
	  "--durability: \"Strict\": expected strict, relaxed or none" },
	{ { "--tenants", "t", "--log-level", "warn", NULL }, COLLAB_ESYNTAX,
	  "--log-level: \"warn\": expected quiet, info or debug" },
	{ { "--tenants", "t", "--log-level=info ", NULL }, COLLAB_ESYNTAX,
	  "--log-level: \"info \": expected quiet, info or debug" },
	/* addresses */
	{ { "--tenants", "t", "--listen", "8080", NULL }, COLLAB_ESYNTAX,
	  "--listen: \"8080\" is not ADDR:PORT (IPv4, [IPv6] or localhost, then :PORT)" },
	{ { "--tenants", "t", "--listen", "example.com:80", NULL }, COLLAB_ESYNTAX,
	  "--listen: \"example.com:80\" is not ADDR:PORT (IPv4, [IPv6] or localhost, then :PORT)" },
	{ { "--tenants", "t", "--admin", "1.2.3.4:65536", NULL }, COLLAB_ERANGE,
	  "--admin: \"1.2.3.4:65536\": port must be 0-65535" },
	{ { "--tenants", "t", "--admin", "1.2.3.4:99999999999999999999", NULL },
	  COLLAB_ERANGE,
	  "--admin: \"1.2.3.4:99999999999999999999\": port must be 0-65535" },
	/* a long argument is cut in the message */
	{ { "--tenants", "t", "--listen",
	    "1234567890123456789012345678901234567890123456789012345678901234567890", NULL },
	  COLLAB_ESYNTAX,
	  "--listen: \"1234567890123456789012345678901234567890123456789012345678901234...\" is not ADDR:PORT (IPv4, [IPv6] or localhost, then :PORT)" },
	/* combinations */
	{ { NULL }, COLLAB_ESTATE, "--tenants FILE is required (or --demo)" },
	{ { "--repair", NULL }, COLLAB_ESTATE,
	  "--tenants FILE is required (or --demo)" },
	{ { "--tenants", "t", "--tls-cert", "c.pem", NULL }, COLLAB_ESTATE,
	  "--tls-cert and --tls-key must be given together" },
	{ { "--tenants", "t", "--tls-key", "k.pem", NULL }, COLLAB_ESTATE,
	  "--tls-cert and --tls-key must be given together" },
	{ { "--tenants", "t", "--listen", "127.0.0.1:9000", "--admin",
	    "127.0.0.1:9000", NULL }, COLLAB_ESTATE,
	  "--listen and --admin use the same port 9000" },
	{ { "--tenants", "t", "--listen", "localhost:8081", NULL }, COLLAB_ESTATE,
	  "--listen and --admin use the same port 8081" },
	{ { "--tenants", "t", "--listen", "0.0.0.0:9000", "--admin",
	    "127.0.0.1:9000", NULL }, COLLAB_ESTATE,
	  "--listen and --admin use the same port 9000" },
	{ { "--tenants", "t", "--listen", "[::1]:9000", "--admin",
	    "[::]:9000", NULL }, COLLAB_ESTATE,
	  "--listen and --admin use the same port 9000" },
	/* an error before --help is still reported */
	{ { "--bogus", "--help", NULL }, COLLAB_ESYNTAX,
	  "unknown flag \"--bogus\" (see --help)" },
};

START_TEST(test_bad)
{
	const struct bad *b = &bads[_i];
	struct srv_config c;
	char msg[SRV_CONFIG_MSG_CAP];
	const char *args[9];

	memcpy(args, b->args, sizeof b->args);
	args[8] = NULL;
	memset(msg, 'x', sizeof msg);
	ck_assert_int_eq(parse(args, &c, msg, sizeof msg), b->rc);
	ck_assert_str_eq(msg, b->msg);
	ck_assert_ptr_null(strchr(msg, '\n'));
}
END_TEST

START_TEST(test_message_buffer)
{
	static const char *const args[] = { "--bogus", NULL };
	static const char *const ok[] = { "--demo", NULL };
	struct srv_config c;
	char msg[8];

	/* truncated, still terminated */
	ck_assert_int_eq(parse(args, &c, msg, sizeof msg), COLLAB_ESYNTAX);
	ck_assert_str_eq(msg, "unknown");
	/* no buffer at all */
	ck_assert_int_eq(parse(args, &c, NULL, 0), COLLAB_ESYNTAX);
	ck_assert_int_eq(parse(args, &c, NULL, 99), COLLAB_ESYNTAX);
	/* success clears it */
	memset(msg, 'x', sizeof msg);
	ck_assert_int_eq(parse(ok, &c, msg, sizeof msg), 0);
	ck_assert_str_eq(msg, "");
	/* caller bugs */
	ck_assert_int_eq(srv_config_parse(NULL, 1, (char *[]){ "p", NULL },
					  msg, sizeof msg), COLLAB_EINVAL);
	srv_config_init(&c);
	ck_assert_int_eq(srv_config_parse(&c, -1, NULL, msg, sizeof msg),
			 COLLAB_EINVAL);
	ck_assert_int_eq(srv_config_parse(&c, 2, NULL, msg, sizeof msg),
			 COLLAB_EINVAL);
	ck_assert_int_eq(srv_config_parse(&c, 2, (char *[]){ "p", NULL, NULL },
					  msg, sizeof msg), COLLAB_EINVAL);
	/* argc 0 and 1: no flags, so only the combination check */
	ck_assert_int_eq(srv_config_parse(&c, 0, NULL, msg, sizeof msg),
			 COLLAB_ESTATE);
	c.demo = true;
	ck_assert_int_eq(srv_config_parse(&c, 1, (char *[]){ "p", NULL },
					  msg, sizeof msg), 0);
}
END_TEST

START_TEST(test_long_path)
{
	struct srv_config c;
	char msg[SRV_CONFIG_MSG_CAP];
	static char path[SRV_CONFIG_PATH_MAX + 2];
	const char *args[] = { "--tenants", path, NULL };

	memset(path, 'a', SRV_CONFIG_PATH_MAX);
	path[SRV_CONFIG_PATH_MAX] = '\0';
	ck_assert_int_eq(parse(args, &c, msg, sizeof msg), 0);
	ck_assert_uint_eq(strlen(c.tenants), SRV_CONFIG_PATH_MAX);
	path[SRV_CONFIG_PATH_MAX] = 'a';
	path[SRV_CONFIG_PATH_MAX + 1] = '\0';
	ck_assert_int_eq(parse(args, &c, msg, sizeof msg), COLLAB_ESYNTAX);
	ck_assert_str_eq(msg, "--tenants: path longer than 4095 bytes");
}
END_TEST

/* ---- ADDR:PORT ----------------------------------------------------------- */

struct addr_vec {
	const char *text;
	int rc;
	int family;
	const char *ip;      /* inet_pton text of the expected address */
	uint16_t port;
};

static const struct addr_vec addr_vecs[] = {
	{ "127.0.0.1:8080", 0, AF_INET, "127.0.0.1", 8080 },
	{ "0.0.0.0:0", 0, AF_INET, "0.0.0.0", 0 },
	{ "255.255.255.255:65535", 0, AF_INET, "255.255.255.255", 65535 },
	{ "10.0.0.1:1", 0, AF_INET, "10.0.0.1", 1 },
	{ "localhost:80", 0, AF_INET, "127.0.0.1", 80 },
	{ "[::1]:8080", 0, AF_INET6, "::1", 8080 },
	{ "[::]:0", 0, AF_INET6, "::", 0 },
	{ "[2001:db8::42]:443", 0, AF_INET6, "2001:db8::42", 443 },
	{ "[::ffff:1.2.3.4]:80", 0, AF_INET6, "::ffff:1.2.3.4", 80 },
	{ "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", 0, AF_INET6,
	  "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535 },
	{ "1.2.3.4:65536", COLLAB_ERANGE, 0, NULL, 0 },
	{ "[::1]:70000", COLLAB_ERANGE, 0, NULL, 0 },
	{ "1.2.3.4:184467440737095516160", COLLAB_ERANGE, 0, NULL, 0 },
	{ "", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ ":80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.4", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.4:", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.4:080", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.4:+80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.4:-1", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.4:8 0", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ " 1.2.3.4:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.4.5:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.256:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.04:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.0004:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1..3.4:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.4.:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ ".1.2.3.4:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "1.2.3.a:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "0x7f.0.0.1:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "2130706433:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "LOCALHOST:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "localhost.:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "example.com:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "::1:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "[::1]", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "[::1]:", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "[]:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "[::1:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "::1]:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "[1.2.3.4]:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "[fe80::1%eth0]:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "[::1]x:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "[:::1]:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "[1:2:3:4:5:6:7:8:9]:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	{ "*:80", COLLAB_ESYNTAX, 0, NULL, 0 },
	/* longer than SRV_CONFIG_ADDR_TEXT_MAX */
	{ "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:655350", COLLAB_ESYNTAX, 0, NULL, 0 },
};

START_TEST(test_addr)
{
	const struct addr_vec *v = &addr_vecs[_i];
	size_t len = strlen(v->text);
	struct guard_buf g = guard_copy(v->text, len);
	struct srv_config_addr a, sentinel;
	uint8_t want[16] = { 0 };
	int rc;

	memset(&a, 0x5a, sizeof a);
	sentinel = a;
	rc = srv_config_parse_addr((const char *)g.p, len, &a);
	ck_assert_msg(rc == v->rc, "%s: %d", v->text, rc);
	if (rc) {
		/* untouched on failure */
		ck_assert_mem_eq(&a, &sentinel, sizeof a);
	} else {
		char buf[SRV_CONFIG_ADDR_TEXT_MAX + 1];
		struct sockaddr_storage ss;
		socklen_t sl = 0;
		ck_assert_int_eq(a.family, v->family);
		ck_assert_int_eq(inet_pton(v->family, v->ip, want), 1);
		ck_assert_mem_eq(a.ip, want, 16);
		ck_assert_uint_eq(a.port, v->port);
		/* formatting gives text that parses to the same address */
		rc = srv_config_addr_format(&a, a.port, buf, sizeof buf);
		ck_assert_int_gt(rc, 0);
		ck_assert_uint_eq((size_t)rc, strlen(buf));
		{
			struct srv_config_addr b;
			ck_assert_int_eq(srv_config_parse_addr(buf, strlen(buf), &b), 0);
			ck_assert_mem_eq(&a, &b, sizeof a);
		}
		ck_assert_int_eq(srv_config_sockaddr(&a, &ss, &sl), 0);
		ck_assert_int_eq(ss.ss_family, v->family);
		if (v->family == AF_INET) {
			const struct sockaddr_in *in = (const void *)&ss;
			ck_assert_uint_eq(sl, sizeof *in);
			ck_assert_uint_eq(ntohs(in->sin_port), v->port);
			ck_assert_mem_eq(&in->sin_addr, want, 4);
		} else {
			const struct sockaddr_in6 *in6 = (const void *)&ss;
			ck_assert_uint_eq(sl, sizeof *in6);
			ck_assert_uint_eq(ntohs(in6->sin6_port), v->port);
			ck_assert_mem_eq(&in6->sin6_addr, want, 16);
		}
	}
	/* every strict prefix of a valid address but the shortest is no
	 * address of the same text (only checks that nothing reads past) */
	for (size_t k = 0; k < len; k++) {
		struct guard_buf h = guard_copy(v->text, k);
		(void)srv_config_parse_addr((const char *)h.p, k, &a);
		guard_free(&h);
	}
	guard_free(&g);
}
END_TEST

START_TEST(test_addr_format)
{
	struct srv_config_addr a;
	char buf[SRV_CONFIG_ADDR_TEXT_MAX + 1];
	struct sockaddr_storage ss;
	socklen_t sl;

	ck_assert_int_eq(srv_config_parse_addr("[::1]:0", 7, &a), 0);
	/* the bound port replaces 0 */
	ck_assert_int_eq(srv_config_addr_format(&a, 40123, buf, sizeof buf), 11);
	ck_assert_str_eq(buf, "[::1]:40123");
	/* exact fit and one short */
	ck_assert_int_eq(srv_config_addr_format(&a, 40123, buf, 12), 11);
	ck_assert_int_eq(srv_config_addr_format(&a, 40123, buf, 11),
			 COLLAB_ESPACE);
	ck_assert_int_eq(srv_config_addr_format(&a, 1, NULL, 0), COLLAB_ESPACE);
	ck_assert_int_eq(srv_config_addr_format(&a, 1, NULL, 5), COLLAB_EINVAL);
	ck_assert_int_eq(srv_config_addr_format(NULL, 1, buf, sizeof buf),
			 COLLAB_EINVAL);
	/* the longest text fits SRV_CONFIG_ADDR_TEXT_MAX */
	ck_assert_int_eq(srv_config_parse_addr(
		"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", 47, &a), 0);
	ck_assert_int_le(srv_config_addr_format(&a, 65535, buf, sizeof buf),
			 (int)SRV_CONFIG_ADDR_TEXT_MAX);
	a.family = AF_UNIX;
	ck_assert_int_eq(srv_config_addr_format(&a, 1, buf, sizeof buf),
			 COLLAB_EINVAL);
	ck_assert_int_eq(srv_config_sockaddr(&a, &ss, &sl), COLLAB_EINVAL);
	ck_assert_int_eq(srv_config_sockaddr(NULL, &ss, &sl), COLLAB_EINVAL);
	ck_assert_int_eq(srv_config_parse_addr(NULL, 3, &a), COLLAB_EINVAL);
	ck_assert_int_eq(srv_config_parse_addr("1.2.3.4:5", 9, NULL),
			 COLLAB_EINVAL);
}
END_TEST

/* ---- numbers ---------------------------------------------------------------- */

struct num_vec {
	const char *text;
	int rc;
	uint64_t v;
};

static const struct num_vec num_vecs[] = {
	{ "0", 0, 0 },
	{ "1", 0, 1 },
	{ "10", 0, 10 },
	{ "65536", 0, 65536 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", COLLAB_ERANGE, 0 },
	{ "18446744073709551620", COLLAB_ERANGE, 0 },
	{ "99999999999999999999999", COLLAB_ERANGE, 0 },
	{ "", COLLAB_ESYNTAX, 0 },
	{ "00", COLLAB_ESYNTAX, 0 },
	{ "01", COLLAB_ESYNTAX, 0 },
	{ "-1", COLLAB_ESYNTAX, 0 },
	{ "+1", COLLAB_ESYNTAX, 0 },
	{ "1 ", COLLAB_ESYNTAX, 0 },
	{ " 1", COLLAB_ESYNTAX, 0 },
	{ "1k", COLLAB_ESYNTAX, 0 },
	{ "1.0", COLLAB_ESYNTAX, 0 },
	{ "1e3", COLLAB_ESYNTAX, 0 },
	{ "0x1", COLLAB_ESYNTAX, 0 },
	{ "\xd9\xa1", COLLAB_ESYNTAX, 0 }, /* ARABIC-INDIC DIGIT ONE */
	/* syntax is checked before range */
	{ "184467440737095516160x", COLLAB_ESYNTAX, 0 },
};

START_TEST(test_u64)
{
	const struct num_vec *v = &num_vecs[_i];
	size_t len = strlen(v->text);
	struct guard_buf g = guard_copy(v->text, len);
	uint64_t out = 12345;

	ck_assert_int_eq(srv_config_parse_u64((const char *)g.p, len, &out),
			 v->rc);
	ck_assert_uint_eq(out, v->rc ? 12345 : v->v);
	guard_free(&g);
}
END_TEST

START_TEST(test_u64_args)
{
	uint64_t v;
	/* "12" inside a longer buffer: only len bytes are read */
	ck_assert_int_eq(srv_config_parse_u64("12345", 2, &v), 0);
	ck_assert_uint_eq(v, 12);
	ck_assert_int_eq(srv_config_parse_u64(NULL, 1, &v), COLLAB_EINVAL);
	ck_assert_int_eq(srv_config_parse_u64("1", 1, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(srv_config_parse_u64(NULL, 0, &v), COLLAB_ESYNTAX);
}
END_TEST

/* ---- --help and --version ---------------------------------------------------- */

struct help_row {
	const char *flag;     /* "--listen ADDR:PORT" as the help shows it */
	const char *def;      /* text after "Default: ", NULL for none */
};

static const struct help_row help_rows[] = {
	{ "--listen ADDR:PORT", "127.0.0.1:8080." },
	{ "--admin ADDR:PORT", "127.0.0.1:8081." },
	{ "--tenants FILE", "none; required unless --demo." },
	{ "--data DIR", "./data." },
	{ "--tls-cert PEM", "none." },
	{ "--tls-key PEM", "none." },
	{ "--www DIR", "none." },
	{ "--durability MODE", "strict." },
	{ "--batch-delay-ms N", "0 (range 0-60000)." },
	{ "--presence-interval-ms N", "500 (range 0-60000)." },
	{ "--hello-timeout-ms N", "10000 (range 1-3600000)." },
	{ "--handshake-timeout-ms N", "10000 (range 1-3600000)." },
	{ "--ping-interval-ms N", "30000 (range 1-3600000)." },
	{ "--idle-timeout-ms N", "75000 (range 1-3600000)." },
	{ "--max-message BYTES", "65536 (range 256-67108864)." },
	{ "--queue-limit BYTES", "1048576 (range 1024-1073741824)." },
	{ "--ring-size N", "1000 (range 1-1000000)." },
	{ "--compact-threshold BYTES", "67108864 (range 1024-1099511627776)." },
	{ "--repair", "off." },
	{ "--demo", "off." },
	{ "--log-level LEVEL", "info." },
	{ "--version", NULL },
	{ "--help", NULL },
};

static char help_text[SRV_CONFIG_HELP_CAP];

static void help_setup(void)
{
	size_t len = 0;
	ck_assert_int_eq(srv_config_help(help_text, sizeof help_text, &len), 0);
	ck_assert_uint_eq(len, strlen(help_text));
}

START_TEST(test_help_flag)
{
	const struct help_row *r = &help_rows[_i];
	char head[64];
	const char *at, *end;

	help_setup();
	snprintf(head, sizeof head, "\n  %s\n", r->flag);
	at = strstr(help_text, head);
	ck_assert_msg(at != NULL, "%s not in --help", r->flag);
	at += strlen(head);
	/* the flag's block runs to the next flag or the closing notes */
	end = strstr(at, "\n  --");
	if (end == NULL)
		end = strstr(at, "\n\n");
	ck_assert_ptr_nonnull(end);
	if (r->def) {
		char want[96];
		const char *d;
		snprintf(want, sizeof want, "Default: %s\n", r->def);
		d = strstr(at, want);
		ck_assert_msg(d != NULL && d < end, "%s: no \"%s\"", r->flag,
			      want);
	} else {
		const char *d = strstr(at, "Default:");
		ck_assert(d == NULL || d > end);
	}
}
END_TEST

START_TEST(test_help_whole)
{
	size_t len = 0, n, i, col = 0, flags = 0;
	char small[32];
	const char *p;

	help_setup();
	len = strlen(help_text);
	/* every line fits 80 columns; the text ends with a newline */
	for (i = 0; i < len; i++) {
		col = help_text[i] == '\n' ? 0 : col + 1;
		ck_assert_uint_le(col, 79);
	}
	ck_assert_int_eq(help_text[len - 1], '\n');
	/* exactly the flags of the table, nothing undocumented */
	for (p = help_text; (p = strstr(p, "\n  --")) != NULL; p++)
		flags++;
	ck_assert_uint_eq(flags, ARRAY_LEN(help_rows));
	ck_assert_ptr_nonnull(strstr(help_text, "Usage: collab-server"));
	/* the 1 MiB tenants file limit is mentioned */
	ck_assert_ptr_nonnull(strstr(help_text, "1 MiB"));
	/* sizes: exact fit, one short, tiny, none */
	ck_assert_int_eq(srv_config_help(help_text, len + 1, &n), 0);
	ck_assert_uint_eq(n, len);
	ck_assert_int_eq(srv_config_help(help_text, len, &n), COLLAB_ESPACE);
	ck_assert_uint_lt(strlen(help_text), len);
	ck_assert_int_eq(srv_config_help(small, sizeof small, NULL),
			 COLLAB_ESPACE);
	ck_assert_uint_lt(strlen(small), sizeof small);
	ck_assert_int_eq(srv_config_help(NULL, 0, &n), COLLAB_ESPACE);
	ck_assert_int_eq(srv_config_help(NULL, 10, &n), COLLAB_EINVAL);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(srv_config_version(), "collab-server 0.1.0 (protocol 1)");
	ck_assert_str_eq(srv_config_durability_name(SRV_CONFIG_DURABILITY_STRICT), "strict");
	ck_assert_str_eq(srv_config_durability_name(SRV_CONFIG_DURABILITY_RELAXED), "relaxed");
	ck_assert_str_eq(srv_config_durability_name(SRV_CONFIG_DURABILITY_NONE), "none");
	ck_assert_str_eq(srv_config_durability_name((enum srv_config_durability)7), "unknown");
	ck_assert_str_eq(srv_config_log_level_name(SRV_CONFIG_LOG_QUIET), "quiet");
	ck_assert_str_eq(srv_config_log_level_name(SRV_CONFIG_LOG_INFO), "info");
	ck_assert_str_eq(srv_config_log_level_name(SRV_CONFIG_LOG_DEBUG), "debug");
	ck_assert_str_eq(srv_config_log_level_name((enum srv_config_log_level)9), "unknown");
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_numeric_flag, 0, (int)ARRAY_LEN(num_flags));
	tcase_add_loop_test(tc, test_good, 0, (int)ARRAY_LEN(goods));
	tcase_add_loop_test(tc, test_bad, 0, (int)ARRAY_LEN(bads));
	tcase_add_test(tc, test_message_buffer);
	tcase_add_test(tc, test_long_path);
	tcase_add_loop_test(tc, test_addr, 0, (int)ARRAY_LEN(addr_vecs));
	tcase_add_test(tc, test_addr_format);
	tcase_add_loop_test(tc, test_u64, 0, (int)ARRAY_LEN(num_vecs));
	tcase_add_test(tc, test_u64_args);
	tcase_add_loop_test(tc, test_help_flag, 0, (int)ARRAY_LEN(help_rows));
	tcase_add_test(tc, test_help_whole);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
