/*
 * config.h - collab-server's command line: flags into struct srv_config,
 * every default in one place, and the --help text generated from the same
 * table the parser uses (so a flag cannot exist without being documented).
 *
 * Grammar. Every flag is a long option: "--flag VALUE" or "--flag=VALUE"
 * for flags that take a value, bare "--flag" for switches. The parser is
 * strict and says what is wrong in one line naming the flag:
 *   - an unknown flag, a positional argument, a flag given twice, a switch
 *     given "=VALUE", and a value-taking flag without a value (at the end
 *     of argv, or followed by an argument that starts with "--": write
 *     "--tenants=--odd-name" for such a value) are refused;
 *   - an empty value is refused (a path "" would silently mean the current
 *     directory to open(2));
 *   - numbers are plain decimal digits (no sign, no spaces, no leading
 *     zeros, no suffixes), and each has a named minimum and maximum;
 *   - ADDR:PORT is an IPv4 dotted quad (four decimal octets 0-255 without
 *     leading zeros), "[IPv6]" (no zone id) or "localhost" (which is
 *     127.0.0.1: the server never resolves names), then ':' and a port
 *     0-65535 (0: the kernel picks one; main prints what was bound).
 * After the last flag the combination is checked: --tenants is required
 * unless --demo; --tls-cert and --tls-key come together; --listen and
 * --admin must not name the same non-zero port on overlapping addresses.
 *
 * Ownership: the path fields of struct srv_config point into argv, which
 * lives as long as the program; nothing here allocates or does I/O.
 * Error messages never echo more than SRV_CONFIG_ECHO_MAX bytes of an
 * argument, and replace bytes outside printable ASCII with '?', so a hostile
 * or mistyped argument cannot garble the terminal.
 */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "collab/common.h"

#define SRV_CONFIG_PROGRAM "collab-server"
#define SRV_CONFIG_VERSION "0.1.0"

/* ---- defaults (each printed by --help) -------------------------------- */
#define SRV_CONFIG_DEFAULT_LISTEN "127.0.0.1:8080"
#define SRV_CONFIG_DEFAULT_ADMIN "127.0.0.1:8081"
#define SRV_CONFIG_DEFAULT_DATA "./data"
#define SRV_CONFIG_DEFAULT_BATCH_DELAY_MS 0u
#define SRV_CONFIG_DEFAULT_PRESENCE_INTERVAL_MS 500u
#define SRV_CONFIG_DEFAULT_HELLO_TIMEOUT_MS 10000u       /* PROTOCOL 3 */
#define SRV_CONFIG_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000u   /* PROTOCOL 1 */
#define SRV_CONFIG_DEFAULT_PING_INTERVAL_MS 30000u       /* PROTOCOL 2 */
#define SRV_CONFIG_DEFAULT_IDLE_TIMEOUT_MS 75000u        /* PROTOCOL 2 */
#define SRV_CONFIG_DEFAULT_MAX_MESSAGE 65536u            /* PROTOCOL 2 */
#define SRV_CONFIG_DEFAULT_QUEUE_LIMIT 1048576u          /* PROTOCOL 6, 1013 */
#define SRV_CONFIG_DEFAULT_RING_SIZE 1000u               /* PROTOCOL 8 */
#define SRV_CONFIG_DEFAULT_COMPACT_THRESHOLD ((uint64_t)64 << 20)

/* ---- ranges of the numeric flags (inclusive) -------------------------- */
#define SRV_CONFIG_MAX_DELAY_MS 60000u          /* batch delay, presence */
#define SRV_CONFIG_MIN_TIMEOUT_MS 1u            /* timeouts and ping */
#define SRV_CONFIG_MAX_TIMEOUT_MS 3600000u      /* one hour */
#define SRV_CONFIG_MIN_MAX_MESSAGE 256u         /* room for a hello + token */
#define SRV_CONFIG_MAX_MAX_MESSAGE ((uint64_t)64 << 20)
#define SRV_CONFIG_MIN_QUEUE_LIMIT 1024u
#define SRV_CONFIG_MAX_QUEUE_LIMIT ((uint64_t)1 << 30)
#define SRV_CONFIG_MIN_RING_SIZE 1u
#define SRV_CONFIG_MAX_RING_SIZE 1000000u
#define SRV_CONFIG_MIN_COMPACT_THRESHOLD 1024u
#define SRV_CONFIG_MAX_COMPACT_THRESHOLD ((uint64_t)1 << 40)

/* ---- other limits ----------------------------------------------------- */
/* Longest path value accepted (PATH_MAX on Linux, NUL included). */
#define SRV_CONFIG_PATH_MAX 4095u
/* Longest ADDR:PORT accepted: "[" + 45-byte IPv6 text + "]:65535". */
#define SRV_CONFIG_ADDR_TEXT_MAX 53u
/* Bytes of an offending argument quoted in an error message. */
#define SRV_CONFIG_ECHO_MAX 64u
/* A message buffer this large never truncates a message. */
#define SRV_CONFIG_MSG_CAP 256u
/* A buffer this large always holds the --help text. */
#define SRV_CONFIG_HELP_CAP 8192u

enum srv_config_durability {
	SRV_CONFIG_DURABILITY_STRICT = 0, /* fdatasync before every broadcast */
	SRV_CONFIG_DURABILITY_RELAXED,    /* fdatasync once a second */
	SRV_CONFIG_DURABILITY_NONE        /* left to the kernel */
};

enum srv_config_log_level {
	SRV_CONFIG_LOG_QUIET = 0, /* errors only */
	SRV_CONFIG_LOG_INFO,      /* start, listen, rejected upgrades, ... */
	SRV_CONFIG_LOG_DEBUG
};

/* A parsed ADDR:PORT, ready for bind(2) via srv_config_sockaddr(). */
struct srv_config_addr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t ip[16];    /* network byte order; IPv4 uses the first 4 */
	uint16_t port;     /* host byte order; 0: any free port */
};

struct srv_config {
	struct srv_config_addr listen;   /* --listen */
	struct srv_config_addr admin;    /* --admin */
	const char *tenants;   /* --tenants; NULL when not given */
	const char *data;      /* --data; SRV_CONFIG_DEFAULT_DATA */
	const char *tls_cert;  /* --tls-cert; NULL: plain ws:// */
	const char *tls_key;   /* --tls-key; non-NULL iff tls_cert is */
	const char *www;       /* --www; NULL: no static files */
	enum srv_config_durability durability;
	uint64_t batch_delay_ms;
	uint64_t presence_interval_ms;
	uint64_t hello_timeout_ms;
	uint64_t handshake_timeout_ms;
	uint64_t ping_interval_ms;
	uint64_t idle_timeout_ms;
	uint64_t max_message;          /* bytes of one client message */
	uint64_t queue_limit;          /* live bytes queued per connection */
	uint64_t ring_size;            /* events retained per room */
	uint64_t compact_threshold;    /* journal bytes that trigger compaction */
	bool repair;                   /* --repair */
	bool demo;                     /* --demo */
	enum srv_config_log_level log_level;
	bool help;                     /* --help seen: print help, exit 0 */
	bool version;                  /* --version seen: print it, exit 0 */
};

/* Fills every field with its default (tenants, TLS and www NULL). */
void srv_config_init(struct srv_config *cfg);

/*
 * Parses argv[1..argc) into cfg, which MUST have been filled by
 * srv_config_init() (fields not named on the command line keep their
 * value). Flags are read left to right; at "--help" or "--version" parsing
 * stops at once and returns 0 with cfg->help or cfg->version set (the
 * combination checks are skipped: main prints and exits 0), but an error
 * in an earlier argument is still reported.
 *
 * Returns 0, or on failure writes one line (no trailing newline, always
 * NUL-terminated when msgcap > 0, truncated to fit) into msg and returns:
 *   COLLAB_ESYNTAX  unknown flag, positional argument, missing or empty
 *                   value, value on a switch, malformed number, address
 *                   or keyword, flag given twice, path too long
 *   COLLAB_ERANGE   a number or port outside its range
 *   COLLAB_ESTATE   a bad combination (see the top of this file)
 *   COLLAB_EINVAL   cfg or argv NULL, argc < 0
 * On failure cfg may be partly updated. msg may be NULL only when msgcap
 * is 0; SRV_CONFIG_MSG_CAP bytes always suffice. main prints the message
 * and exits with status 2.
 */
int srv_config_parse(struct srv_config *cfg, int argc, char *const argv[],
		     char *msg, size_t msgcap);

/*
 * Writes the --help text (usage, every flag with its value, meaning,
 * default and range, ending with a newline) into out[0..cap), NUL-
 * terminated, and sets *len (may be NULL) to its length without the NUL.
 * Returns 0, COLLAB_ESPACE when cap is too small (SRV_CONFIG_HELP_CAP
 * always suffices; out then holds a truncated, NUL-terminated prefix when
 * cap > 0), COLLAB_EINVAL when out is NULL with cap > 0.
 */
int srv_config_help(char *out, size_t cap, size_t *len);

/* The --version line, "collab-server 0.1.0 (protocol 1)", static. */
const char *srv_config_version(void);

/*
 * Parses s[0..len) as ADDR:PORT (grammar at the top of this file) into
 * *out. Returns 0, COLLAB_ESYNTAX (malformed), COLLAB_ERANGE (port above
 * 65535) or COLLAB_EINVAL (NULL pointers). *out is set only on success.
 */
int srv_config_parse_addr(const char *s, size_t len,
			  struct srv_config_addr *out);

/*
 * Parses s[0..len) as a plain decimal number (digits only, "0" or no
 * leading zero, at least one digit) into *out, exactly, without floating
 * point. Returns 0, COLLAB_ESYNTAX, COLLAB_ERANGE (does not fit 64 bits)
 * or COLLAB_EINVAL (NULL pointers). *out is set only on success.
 */
int srv_config_parse_u64(const char *s, size_t len, uint64_t *out);

/*
 * Formats addr as text with the given port ("127.0.0.1:8080",
 * "[::1]:8080") into out[0..cap), NUL-terminated; main uses it with the
 * port getsockname(2) reports when --listen asked for port 0. Returns the
 * length without the NUL, or COLLAB_ESPACE / COLLAB_EINVAL.
 * SRV_CONFIG_ADDR_TEXT_MAX + 1 bytes always suffice.
 */
int srv_config_addr_format(const struct srv_config_addr *addr, uint16_t port,
			   char *out, size_t cap);

/*
 * Fills *ss and *sslen for bind(2) from addr. Returns 0, or COLLAB_EINVAL
 * for NULL pointers or an unknown family.
 */
int srv_config_sockaddr(const struct srv_config_addr *addr,
			struct sockaddr_storage *ss, socklen_t *sslen);

/* "strict", "relaxed", "none"; "quiet", "info", "debug" (static). */
const char *srv_config_durability_name(enum srv_config_durability d);
const char *srv_config_log_level_name(enum srv_config_log_level l);

#endif
