/*
 * config.c - collab-server's flags. One table drives the parser, the
 * duplicate check and the --help text, so they cannot disagree.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum opt_kind {
	OPT_ADDR,       /* struct srv_config_addr */
	OPT_PATH,       /* const char * into argv */
	OPT_U64,        /* uint64_t within [min, max] */
	OPT_DURABILITY, /* enum srv_config_durability */
	OPT_LOG_LEVEL,  /* enum srv_config_log_level */
	OPT_SWITCH,     /* bool, takes no value */
	OPT_HELP,       /* bool, stops parsing */
};

struct opt {
	const char *name;     /* without the leading "--" */
	const char *metavar;  /* NULL for switches */
	enum opt_kind kind;
	size_t off;           /* offsetof(struct srv_config, field) */
	uint64_t min, max;    /* OPT_U64 */
	const char *def;      /* default as --help prints it (non-numbers) */
	const char *help;
};

#define OFF(f) offsetof(struct srv_config, f)

static const struct opt opts[] = {
	{ "listen", "ADDR:PORT", OPT_ADDR, OFF(listen), 0, 0,
	  SRV_CONFIG_DEFAULT_LISTEN,
	  "WebSocket listener (ws://, or wss:// with --tls-cert); also\n"
	  "serves --www. Port 0 picks a free port; the first line on\n"
	  "stdout then says which: \"listening ws://ADDR:PORT\"." },
	{ "admin", "ADDR:PORT", OPT_ADDR, OFF(admin), 0, 0,
	  SRV_CONFIG_DEFAULT_ADMIN,
	  "Admin listener: GET /health, /usage, /metrics. Keep it on a\n"
	  "loopback or private address. Port 0 as for --listen\n"
	  "(\"admin http://ADDR:PORT\")." },
	{ "tenants", "FILE", OPT_PATH, OFF(tenants), 0, 0,
	  "none; required unless --demo",
	  "tenants.json: ids, secrets, allowed origins, anonymous policy,\n"
	  "limits (at most 1 MiB)." },
	{ "data", "DIR", OPT_PATH, OFF(data), 0, 0, SRV_CONFIG_DEFAULT_DATA,
	  "Data directory: the journal. Locked by one server at a time." },
	{ "tls-cert", "PEM", OPT_PATH, OFF(tls_cert), 0, 0, "none",
	  "Certificate chain (PEM); serve wss:// on --listen. Needs\n"
	  "--tls-key." },
	{ "tls-key", "PEM", OPT_PATH, OFF(tls_key), 0, 0, "none",
	  "Private key (PEM) of --tls-cert. Needs --tls-cert." },
	{ "www", "DIR", OPT_PATH, OFF(www), 0, 0, "none",
	  "Serve this folder's files (GET and HEAD) on --listen." },
	{ "durability", "MODE", OPT_DURABILITY, OFF(durability), 0, 0,
	  "strict",
	  "strict: fdatasync before any event is broadcast; relaxed:\n"
	  "fdatasync once a second; none: leave it to the kernel." },
	{ "batch-delay-ms", "N", OPT_U64, OFF(batch_delay_ms),
	  0, SRV_CONFIG_MAX_DELAY_MS, NULL,
	  "Hold a busy room's events up to N ms to batch more of them." },
	{ "presence-interval-ms", "N", OPT_U64, OFF(presence_interval_ms),
	  0, SRV_CONFIG_MAX_DELAY_MS, NULL,
	  "At most one user-count message per room per N ms." },
	{ "hello-timeout-ms", "N", OPT_U64, OFF(hello_timeout_ms),
	  SRV_CONFIG_MIN_TIMEOUT_MS, SRV_CONFIG_MAX_TIMEOUT_MS, NULL,
	  "Close 4408 when no hello arrives within N ms of the upgrade." },
	{ "handshake-timeout-ms", "N", OPT_U64, OFF(handshake_timeout_ms),
	  SRV_CONFIG_MIN_TIMEOUT_MS, SRV_CONFIG_MAX_TIMEOUT_MS, NULL,
	  "Close a connection without a complete request head (and TLS\n"
	  "handshake) within N ms." },
	{ "ping-interval-ms", "N", OPT_U64, OFF(ping_interval_ms),
	  SRV_CONFIG_MIN_TIMEOUT_MS, SRV_CONFIG_MAX_TIMEOUT_MS, NULL,
	  "Send a ping every N ms." },
	{ "idle-timeout-ms", "N", OPT_U64, OFF(idle_timeout_ms),
	  SRV_CONFIG_MIN_TIMEOUT_MS, SRV_CONFIG_MAX_TIMEOUT_MS, NULL,
	  "Close a connection that sent nothing (no frame, no pong) for\n"
	  "N ms. Keep it above --ping-interval-ms." },
	{ "max-message", "BYTES", OPT_U64, OFF(max_message),
	  SRV_CONFIG_MIN_MAX_MESSAGE, SRV_CONFIG_MAX_MAX_MESSAGE, NULL,
	  "Largest client message; a larger one gets close 1009." },
	{ "queue-limit", "BYTES", OPT_U64, OFF(queue_limit),
	  SRV_CONFIG_MIN_QUEUE_LIMIT, SRV_CONFIG_MAX_QUEUE_LIMIT, NULL,
	  "Live bytes queued to one connection before it is closed as a\n"
	  "slow consumer (1013)." },
	{ "ring-size", "N", OPT_U64, OFF(ring_size),
	  SRV_CONFIG_MIN_RING_SIZE, SRV_CONFIG_MAX_RING_SIZE, NULL,
	  "Recent events kept per room for replay on reconnect." },
	{ "compact-threshold", "BYTES", OPT_U64, OFF(compact_threshold),
	  SRV_CONFIG_MIN_COMPACT_THRESHOLD, SRV_CONFIG_MAX_COMPACT_THRESHOLD,
	  NULL,
	  "Compact the journal (rewrite it as its live state) once it is\n"
	  "over BYTES and over twice the size of that live state." },
	{ "repair", NULL, OPT_SWITCH, OFF(repair), 0, 0, "off",
	  "On journal damage before its tail, keep the good prefix and\n"
	  "move the rest aside instead of refusing to start." },
	{ "demo", NULL, OPT_SWITCH, OFF(demo), 0, 0, "off",
	  "Demo mode, for trying the server on one machine: the main\n"
	  "listener also hands out signed tokens for tenant \"demo\" to\n"
	  "anyone who asks. Without --tenants, \"demo\" is the only tenant,\n"
	  "with a random secret per start. Never use it in production." },
	{ "log-level", "LEVEL", OPT_LOG_LEVEL, OFF(log_level), 0, 0, "info",
	  "quiet (errors only), info (start, listen addresses, rejected\n"
	  "upgrades, slow consumers) or debug. Tokens and secrets are\n"
	  "never logged." },
	{ "version", NULL, OPT_HELP, OFF(version), 0, 0, NULL,
	  "Print the version and exit." },
	{ "help", NULL, OPT_HELP, OFF(help), 0, 0, NULL,
	  "Print this text and exit." },
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

/* One bit per option for the "given twice" check. */
_Static_assert(N_OPTS <= 32, "the seen mask is 32 bits");

static const char *const durability_names[] = { "strict", "relaxed", "none" };
static const char *const log_level_names[] = { "quiet", "info", "debug" };

/* ---- numbers and addresses -------------------------------------------- */

int srv_config_parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if ((s == NULL && len) || out == NULL)
		return COLLAB_EINVAL;
	if (len == 0)
		return COLLAB_ESYNTAX;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return COLLAB_ESYNTAX;
	/* "007" could be read as octal by other tools: one spelling only */
	if (len > 1 && s[0] == '0')
		return COLLAB_ESYNTAX;
	for (i = 0; i < len; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return COLLAB_ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Four decimal octets 0-255 without leading zeros ("010" is octal to
 * inet_aton), separated by single dots. */
static int parse_ipv4(const char *s, size_t len, uint8_t ip[4])
{
	size_t i = 0, part;

	for (part = 0; part < 4; part++) {
		size_t start = i;
		uint64_t v;
		while (i < len && s[i] != '.')
			i++;
		if (i - start > 3 || srv_config_parse_u64(s + start, i - start, &v)
		    || v > 255)
			return COLLAB_ESYNTAX;
		ip[part] = (uint8_t)v;
		if (part < 3) {
			if (i == len)
				return COLLAB_ESYNTAX;
			i++; /* the dot */
		}
	}
	return i == len ? 0 : COLLAB_ESYNTAX;
}

int srv_config_parse_addr(const char *s, size_t len,
			  struct srv_config_addr *out)
{
	struct srv_config_addr a;
	const char *last;
	size_t colon;
	uint64_t port;
	int rc;

	if ((s == NULL && len) || out == NULL)
		return COLLAB_EINVAL;
	if (len == 0 || len > SRV_CONFIG_ADDR_TEXT_MAX)
		return COLLAB_ESYNTAX;
	memset(&a, 0, sizeof a);
	/* the port follows the last colon; IPv6 colons sit inside brackets */
	last = memrchr(s, ':', len);
	if (last == NULL)
		return COLLAB_ESYNTAX;
	colon = (size_t)(last - s);
	rc = srv_config_parse_u64(s + colon + 1, len - colon - 1, &port);
	if (rc == COLLAB_ERANGE || (rc == 0 && port > 65535))
		return COLLAB_ERANGE;
	if (rc)
		return rc;
	a.port = (uint16_t)port;

	if (colon >= 2 && s[0] == '[' && s[colon - 1] == ']') {
		/* inet_pton wants a NUL-terminated copy; 45 bytes is the
		 * longest IPv6 text (INET6_ADDRSTRLEN - 1) */
		char host[INET6_ADDRSTRLEN];
		size_t hl = colon - 2;
		if (hl == 0 || hl >= sizeof host || memchr(s + 1, 0, hl))
			return COLLAB_ESYNTAX;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET6, host, a.ip) != 1)
			return COLLAB_ESYNTAX;
		a.family = AF_INET6;
	} else if (colon == 9 && memcmp(s, "localhost", 9) == 0) {
		/* not resolved: "localhost" is the IPv4 loopback here */
		a.family = AF_INET;
		a.ip[0] = 127;
		a.ip[3] = 1;
	} else {
		if (parse_ipv4(s, colon, a.ip))
			return COLLAB_ESYNTAX;
		a.family = AF_INET;
	}
	*out = a;
	return 0;
}

int srv_config_addr_format(const struct srv_config_addr *addr, uint16_t port,
			   char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	int n;

	if (addr == NULL || (out == NULL && cap))
		return COLLAB_EINVAL;
	if ((addr->family != AF_INET && addr->family != AF_INET6) ||
	    inet_ntop(addr->family, addr->ip, host, sizeof host) == NULL)
		return COLLAB_EINVAL;
	n = snprintf(out, cap, addr->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		     host, (unsigned)port);
	if (n < 0)
		return COLLAB_EINVAL;
	if ((size_t)n >= cap)
		return COLLAB_ESPACE;
	return n;
}

int srv_config_sockaddr(const struct srv_config_addr *addr,
			struct sockaddr_storage *ss, socklen_t *sslen)
{
	if (addr == NULL || ss == NULL || sslen == NULL)
		return COLLAB_EINVAL;
	memset(ss, 0, sizeof *ss);
	if (addr->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(addr->port);
		memcpy(&in->sin_addr, addr->ip, 4);
		*sslen = (socklen_t)sizeof *in;
		return 0;
	}
	if (addr->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(addr->port);
		memcpy(&in6->sin6_addr, addr->ip, 16);
		*sslen = (socklen_t)sizeof *in6;
		return 0;
	}
	return COLLAB_EINVAL;
}

/* ---- names -------------------------------------------------------------- */

const char *srv_config_durability_name(enum srv_config_durability d)
{
	if ((size_t)d < sizeof(durability_names) / sizeof(durability_names[0]))
		return durability_names[d];
	return "unknown";
}

const char *srv_config_log_level_name(enum srv_config_log_level l)
{
	if ((size_t)l < sizeof(log_level_names) / sizeof(log_level_names[0]))
		return log_level_names[l];
	return "unknown";
}

const char *srv_config_version(void)
{
	return SRV_CONFIG_PROGRAM " " SRV_CONFIG_VERSION " (protocol 1)";
}

/* ---- defaults ------------------------------------------------------------ */

/* The defaults are literals of config.h: they always parse (the suite
 * checks the result). */
#define DEFAULT_ADDR(a, lit) \
	((void)srv_config_parse_addr((lit), sizeof(lit) - 1, (a)))

void srv_config_init(struct srv_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	DEFAULT_ADDR(&cfg->listen, SRV_CONFIG_DEFAULT_LISTEN);
	DEFAULT_ADDR(&cfg->admin, SRV_CONFIG_DEFAULT_ADMIN);
	cfg->data = SRV_CONFIG_DEFAULT_DATA;
	cfg->durability = SRV_CONFIG_DURABILITY_STRICT;
	cfg->log_level = SRV_CONFIG_LOG_INFO;
	cfg->batch_delay_ms = SRV_CONFIG_DEFAULT_BATCH_DELAY_MS;
	cfg->presence_interval_ms = SRV_CONFIG_DEFAULT_PRESENCE_INTERVAL_MS;
	cfg->hello_timeout_ms = SRV_CONFIG_DEFAULT_HELLO_TIMEOUT_MS;
	cfg->handshake_timeout_ms = SRV_CONFIG_DEFAULT_HANDSHAKE_TIMEOUT_MS;
	cfg->ping_interval_ms = SRV_CONFIG_DEFAULT_PING_INTERVAL_MS;
	cfg->idle_timeout_ms = SRV_CONFIG_DEFAULT_IDLE_TIMEOUT_MS;
	cfg->max_message = SRV_CONFIG_DEFAULT_MAX_MESSAGE;
	cfg->queue_limit = SRV_CONFIG_DEFAULT_QUEUE_LIMIT;
	cfg->ring_size = SRV_CONFIG_DEFAULT_RING_SIZE;
	cfg->compact_threshold = SRV_CONFIG_DEFAULT_COMPACT_THRESHOLD;
}

/* ---- messages ------------------------------------------------------------ */

static int config_fail(char *msg, size_t cap, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int config_fail(char *msg, size_t cap, int code, const char *fmt, ...)
{
	va_list ap;

	if (cap) {
		va_start(ap, fmt);
		(void)vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* A printable, bounded copy of an argument for an error message. */
static void echo(char out[SRV_CONFIG_ECHO_MAX + 4], const char *s, size_t len)
{
	size_t i, n = len > SRV_CONFIG_ECHO_MAX ? SRV_CONFIG_ECHO_MAX : len;

	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (n < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* ---- the parser ------------------------------------------------------------ */

static const struct opt *find_opt(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < N_OPTS; i++)
		if (strlen(opts[i].name) == len &&
		    memcmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static int keyword(const char *const *names, size_t n, const char *v,
		   size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], v, len) == 0)
			return (int)i;
	return -1;
}

/* Stores value v[0..len) (NUL-terminated in argv) for option o. */
static int set_value(struct srv_config *cfg, const struct opt *o,
		     const char *v, size_t len, char *msg, size_t cap)
{
	char *field = (char *)cfg + o->off;
	char shown[SRV_CONFIG_ECHO_MAX + 4];
	uint64_t n;
	int rc, k;

	echo(shown, v, len);
	if (len == 0)
		return config_fail(msg, cap, COLLAB_ESYNTAX, "--%s: empty value",
			    o->name);
	switch (o->kind) {
	case OPT_ADDR:
		rc = srv_config_parse_addr(v, len,
					   (struct srv_config_addr *)field);
		if (rc == COLLAB_ERANGE)
			return config_fail(msg, cap, rc,
				    "--%s: \"%s\": port must be 0-65535",
				    o->name, shown);
		if (rc)
			return config_fail(msg, cap, COLLAB_ESYNTAX,
				    "--%s: \"%s\" is not ADDR:PORT (IPv4, "
				    "[IPv6] or localhost, then :PORT)",
				    o->name, shown);
		return 0;
	case OPT_PATH:
		if (len > SRV_CONFIG_PATH_MAX)
			return config_fail(msg, cap, COLLAB_ESYNTAX,
				    "--%s: path longer than %u bytes", o->name,
				    SRV_CONFIG_PATH_MAX);
		*(const char **)(void *)field = v;
		return 0;
	case OPT_U64:
		rc = srv_config_parse_u64(v, len, &n);
		if (rc == COLLAB_ESYNTAX)
			return config_fail(msg, cap, rc,
				    "--%s: \"%s\" is not a decimal number",
				    o->name, shown);
		if (rc == COLLAB_ERANGE || n < o->min || n > o->max)
			return config_fail(msg, cap, COLLAB_ERANGE,
				    "--%s: %s is out of range (%llu-%llu)",
				    o->name, shown,
				    (unsigned long long)o->min,
				    (unsigned long long)o->max);
		*(uint64_t *)(void *)field = n;
		return 0;
	case OPT_DURABILITY:
		k = keyword(durability_names, 3, v, len);
		if (k < 0)
			return config_fail(msg, cap, COLLAB_ESYNTAX,
				    "--%s: \"%s\": expected strict, relaxed "
				    "or none", o->name, shown);
		*(enum srv_config_durability *)(void *)field =
			(enum srv_config_durability)k;
		return 0;
	case OPT_LOG_LEVEL:
		k = keyword(log_level_names, 3, v, len);
		if (k < 0)
			return config_fail(msg, cap, COLLAB_ESYNTAX,
				    "--%s: \"%s\": expected quiet, info or "
				    "debug", o->name, shown);
		*(enum srv_config_log_level *)(void *)field =
			(enum srv_config_log_level)k;
		return 0;
	case OPT_SWITCH:
	case OPT_HELP:
		break;
	}
	return COLLAB_EINVAL;
}

static bool addr_unspecified(const struct srv_config_addr *a)
{
	static const uint8_t zero[16];
	return memcmp(a->ip, zero, a->family == AF_INET ? 4 : 16) == 0;
}

/* bind(2) would fail on the second listener; say so before it does. */
static bool addrs_clash(const struct srv_config_addr *a,
			const struct srv_config_addr *b)
{
	if (a->port == 0 || a->port != b->port)
		return false;
	if (a->family != b->family)
		return false;
	return addr_unspecified(a) || addr_unspecified(b) ||
	       memcmp(a->ip, b->ip, 16) == 0;
}

static int check_combination(const struct srv_config *cfg, char *msg,
			     size_t cap)
{
	if (cfg->tenants == NULL && !cfg->demo)
		return config_fail(msg, cap, COLLAB_ESTATE,
			    "--tenants FILE is required (or --demo)");
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
		return config_fail(msg, cap, COLLAB_ESTATE,
			    "--tls-cert and --tls-key must be given together");
	if (addrs_clash(&cfg->listen, &cfg->admin))
		return config_fail(msg, cap, COLLAB_ESTATE,
			    "--listen and --admin use the same port %u",
			    (unsigned)cfg->listen.port);
	return 0;
}

int srv_config_parse(struct srv_config *cfg, int argc, char *const argv[],
		     char *msg, size_t msgcap)
{
	uint32_t seen = 0;
	int i;

	if (msg == NULL)
		msgcap = 0;
	if (msgcap)
		msg[0] = '\0';
	if (cfg == NULL || argc < 0 || (argv == NULL && argc > 0))
		return config_fail(msg, msgcap, COLLAB_EINVAL, "invalid arguments");

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *eq, *val = NULL;
		char shown[SRV_CONFIG_ECHO_MAX + 4];
		size_t alen, nlen, vlen = 0, idx;
		const struct opt *o;
		int rc;

		if (arg == NULL)
			return config_fail(msg, msgcap, COLLAB_EINVAL,
				    "invalid arguments");
		alen = strlen(arg);
		echo(shown, arg, alen);
		if (alen < 3 || arg[0] != '-' || arg[1] != '-')
			return config_fail(msg, msgcap, COLLAB_ESYNTAX,
				    "unexpected argument \"%s\" (flags are "
				    "--name VALUE or --name=VALUE)", shown);
		name = arg + 2;
		eq = memchr(name, '=', alen - 2);
		nlen = eq ? (size_t)(eq - name) : alen - 2;
		o = find_opt(name, nlen);
		if (o == NULL) {
			echo(shown, arg, nlen + 2);
			return config_fail(msg, msgcap, COLLAB_ESYNTAX,
				    "unknown flag \"%s\" (see --help)", shown);
		}
		idx = (size_t)(o - opts);
		if (seen & (UINT32_C(1) << idx))
			return config_fail(msg, msgcap, COLLAB_ESYNTAX,
				    "--%s given twice", o->name);
		seen |= UINT32_C(1) << idx;

		if (o->kind == OPT_SWITCH || o->kind == OPT_HELP) {
			if (eq)
				return config_fail(msg, msgcap, COLLAB_ESYNTAX,
					    "--%s takes no value", o->name);
			*(bool *)(void *)((char *)cfg + o->off) = true;
			if (o->kind == OPT_HELP)
				return 0;
			continue;
		}
		if (eq) {
			val = eq + 1;
			vlen = alen - 2 - nlen - 1;
		} else if (i + 1 < argc && argv[i + 1] != NULL &&
			   strncmp(argv[i + 1], "--", 2) != 0) {
			val = argv[++i];
			vlen = strlen(val);
		} else {
			return config_fail(msg, msgcap, COLLAB_ESYNTAX,
				    "--%s needs a value (%s)", o->name,
				    o->metavar);
		}
		rc = set_value(cfg, o, val, vlen, msg, msgcap);
		if (rc)
			return rc;
	}
	return check_combination(cfg, msg, msgcap);
}

/* ---- --help ------------------------------------------------------------- */

struct out {
	char *p;
	size_t cap, len;
	bool full;
};

static void help_put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void help_put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)n;
}

/* The help paragraph, each of its lines indented. */
static void put_indented(struct out *o, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		help_put(o, "      %.*s\n", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

static uint64_t u64_default(const struct opt *o)
{
	struct srv_config d;

	srv_config_init(&d);
	return *(const uint64_t *)(const void *)((const char *)&d + o->off);
}

int srv_config_help(char *outp, size_t cap, size_t *len)
{
	struct out o = { outp, cap, 0, false };
	size_t i;

	if (outp == NULL && cap)
		return COLLAB_EINVAL;
	if (cap == 0)
		return COLLAB_ESPACE;
	outp[0] = '\0';
	help_put(&o,
	    "Usage: " SRV_CONFIG_PROGRAM " --tenants FILE [FLAGS]\n"
	    "       " SRV_CONFIG_PROGRAM " --demo [FLAGS]\n"
	    "\n"
	    "The reference server of the collab sync protocol, version 1.\n"
	    "Each flag is written --flag VALUE or --flag=VALUE.\n"
	    "\n");
	for (i = 0; i < N_OPTS; i++) {
		const struct opt *op = &opts[i];
		if (op->metavar)
			help_put(&o, "  --%s %s\n", op->name, op->metavar);
		else
			help_put(&o, "  --%s\n", op->name);
		put_indented(&o, op->help);
		if (op->kind == OPT_U64)
			help_put(&o, "      Default: %llu (range %llu-%llu).\n",
			    (unsigned long long)u64_default(op),
			    (unsigned long long)op->min,
			    (unsigned long long)op->max);
		else if (op->def)
			help_put(&o, "      Default: %s.\n", op->def);
	}
	help_put(&o,
	    "\n"
	    "ADDR is an IPv4 address (127.0.0.1), an IPv6 address in brackets\n"
	    "([::1]) or localhost (127.0.0.1; names are not resolved). PORT is\n"
	    "0-65535. Numbers are plain decimal: no sign, suffix or leading\n"
	    "zero. Exit status: 0 after a clean stop (SIGTERM, SIGINT), 1 on a\n"
	    "start or run-time failure, 2 for a bad command line.\n");
	if (len)
		*len = o.len;
	return o.full ? COLLAB_ESPACE : 0;
}
