/*
 * collab-cli - joins a room and shows its traffic (PROTOCOL.md section 10):
 *
 *   collab-cli URL [--token JWT] [--origin O] [--ca PEM] [--quiet]
 *
 * URL is the full ws://HOST:PORT/ws?tenantId=..&urlId=.. (or wss://). The
 * program runs the library's C client (collab/client.h) on one loop:
 *
 *   - every server message is printed to stdout as one line, the exact
 *     bytes received followed by a newline, flushed at once;
 *   - every line read from stdin (non-blocking, through the loop) is sent
 *     as one text message; blank lines are skipped, a trailing CR is
 *     dropped;
 *   - hello is the client's (token, and since/epoch after a reconnect): the
 *     user never types it; reconnects and resyncs are the client's too
 *     (backoff with jitter, at once after 1001, no message is missed);
 *   - state changes go to stderr (unless --quiet).
 *
 * LINES ARE SENT RAW. A line is what its user typed: it goes out unchanged
 * (so a test can send anything, malformed messages included). When the line
 * is a JSON object with a 36-byte string "broadcastId", the client tracks
 * it like an operation of its API: while the connection is down it waits
 * in the queue, it is sent again with the same bytes after a reconnect if
 * its answer never came (PROTOCOL.md 4 retries: at most once, at least
 * once), and its answer (echo or error) ends its tracking. Other lines are
 * sent once, when the connection is live, and forgotten. Lines are not
 * paced (the server's rate limit applies as typed) and the local copy of
 * the room is not kept: the output is the server's messages, nothing else.
 *
 * END OF INPUT. At EOF on stdin the program waits until it has been live at
 * least once and every line has been sent and every tracked line answered,
 * then closes with 1000 and exits 0 once the close handshake ends. So
 * `echo '{...op...}' | collab-cli URL` prints the session start, the echo
 * and exits; `collab-cli URL < /dev/null` prints the session start and
 * exits. SIGINT or SIGTERM close the same way at once (a second one exits
 * at once).
 *
 * Exit status: 0 after a clean close; 2 bad usage; 3 authentication refused
 * (close 4401 or 4403, HTTP 401 or 403); 4 the upgrade refused otherwise
 * (HTTP 400, 404, 426, ...) or the server closed for good (4400); 1 any
 * other failure (output error, out of memory). Each with one line on
 * stderr saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collab/client.h"
#include "collab/json.h"
#include "collab/loop.h"
#include "collab/tls.h"
#include "collab/wsconn.h"

/* Longest stdin line (PROTOCOL.md 2: the server's message limit is 64 KiB
 * by default; longer lines are refused here with a message). */
#define MAX_LINE ((size_t)1024 * 1024)
/* Bytes read from stdin per wake-up. */
#define READ_CHUNK ((size_t)64 * 1024)
/* Lines queued (unsent or unanswered) before stdin is paused. */
#define MAX_QUEUED 10000u

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_AUTH = 3, EXIT_REFUSED = 4 };

static const char usage[] =
	"usage: collab-cli URL [--token JWT] [--origin ORIGIN] [--ca PEM] [--quiet]\n"
	"\n"
	"Joins the room of URL (ws://HOST:PORT/ws?tenantId=..&urlId=.., or wss://),\n"
	"prints every server message as one JSON line on stdout, and sends each line\n"
	"read from stdin as one message. Says hello itself (with the token), and\n"
	"reconnects and resyncs by itself. Lines are sent raw; a line that carries a\n"
	"\"broadcastId\" is resent with the same bytes after a reconnect until it is\n"
	"answered. At the end of stdin it waits for every line to be answered, closes\n"
	"with 1000 and exits.\n"
	"\n"
	"  --token JWT     the token for hello (PROTOCOL.md 7); none: anonymous\n"
	"  --origin O      an Origin header for the upgrade\n"
	"  --ca PEM        trust anchors for wss:// (default: the system's)\n"
	"  --quiet         no state messages on stderr\n"
	"  --help          this text\n"
	"\n"
	"Exit status: 0 closed cleanly, 2 bad usage, 3 authentication refused\n"
	"(4401/4403, HTTP 401/403), 4 upgrade refused or closed for good, 1 other.\n";

struct cli {
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_client c;
	struct collab_tls_client tls;
	bool has_tls;
	struct collab_io in_io;
	bool in_watched;     /* in_io is registered with the loop */
	bool in_eof;
	bool in_paused;
	struct collab_timer in_timer; /* stdin that epoll refuses (a file) */
	int in_flags;        /* fcntl flags to restore */
	char *line;          /* the line being gathered */
	size_t line_len;
	bool line_skip;      /* over MAX_LINE: dropped up to its newline */
	char *pending_line;  /* a complete line the queue had no room for */
	size_t pending_len;
	struct collab_hook hook;
	struct collab_signal sigint, sigterm;
	bool been_live;
	bool closing;
	bool quiet;
	int status;
	bool done;
};

static struct cli G;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	if (G.quiet)
		return;
	(void)fputs("collab-cli: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
}

static void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void die(int status, const char *fmt, ...)
{
	va_list ap;

	(void)fputs("collab-cli: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	if (!G.done) {
		G.status = status;
		G.done = true;
		collab_loop_stop(&G.loop);
	}
}

static void finish(int status)
{
	if (!G.done) {
		G.status = status;
		G.done = true;
		collab_loop_stop(&G.loop);
	}
}

/* ---- client callbacks -------------------------------------------------------- */

static void on_raw(struct collab_client *c, const uint8_t *p, size_t len)
{
	(void)c;
	if (fwrite(p, 1, len, stdout) != len || fputc('\n', stdout) == EOF ||
	    fflush(stdout) != 0)
		die(EXIT_FAIL, "cannot write to stdout: %s", strerror(errno));
}

static void describe_close(const struct collab_client_close_info *ci, char *out,
			   size_t cap)
{
	if (ci->http_status && ci->http_status != 101)
		(void)snprintf(out, cap, "HTTP %u", ci->http_status);
	else if (ci->code != 1006 || ci->err == 0)
		(void)snprintf(out, cap, "close %u%s%.*s%s", (unsigned)ci->code,
			 ci->reason.len ? " (" : "", (int)ci->reason.len,
			 ci->reason.p ? ci->reason.p : "", ci->reason.len ? ")" : "");
	else
		(void)snprintf(out, cap, "%s%s%.*s%s", collab_strerror(ci->err),
			 ci->reason.len ? " (" : "", (int)ci->reason.len,
			 ci->reason.p ? ci->reason.p : "", ci->reason.len ? ")" : "");
}

static void on_state(struct collab_client *c, enum collab_client_state st,
		     const struct collab_client_close_info *ci)
{
	char why[256] = "";

	if (ci)
		describe_close(ci, why, sizeof(why));
	switch (st) {
	case COLLAB_CLIENT_CONNECTING:
		say("connecting");
		break;
	case COLLAB_CLIENT_SYNCING:
		say("connected, syncing");
		break;
	case COLLAB_CLIENT_LIVE:
		G.been_live = true;
		say("live at seq %llu", (unsigned long long)collab_client_seq(c));
		break;
	case COLLAB_CLIENT_RECONNECTING:
		say("reconnecting in %llu ms%s%s", (unsigned long long)collab_client_retry_delay(c),
		    ci ? " after " : "", why);
		break;
	case COLLAB_CLIENT_AUTH_FAILED:
		if (ci && ci->http_status && ci->http_status != 101)
			die(EXIT_AUTH, "upgrade refused: %s (unknown tenant, origin not "
			    "allowed, or not authorized)", why);
		else
			die(EXIT_AUTH, "authentication refused: %s", why);
		break;
	case COLLAB_CLIENT_CLOSED:
		if (G.closing) {
			say("closed");
			finish(EXIT_OK);
		} else if (ci && ci->http_status && ci->http_status != 101) {
			die(EXIT_REFUSED, "upgrade refused: %s", why);
		} else {
			die(EXIT_REFUSED, "closed for good: %s", ci ? why : "no reason");
		}
		break;
	default:
		break;
	}
}

/* ---- stdin --------------------------------------------------------------------- */

/* The broadcastId of a line that is a JSON object with one (36 bytes), or
 * an empty view. */
static struct collab_str line_bid(const char *p, size_t len, char out[36])
{
	struct collab_str none = { NULL, 0 };
	struct collab_json_config jc;
	struct collab_json_doc doc;
	struct collab_json_node *nodes;
	size_t nn = COLLAB_JSON_NODES_FOR(len), dlen = 0;
	uint32_t n;

	collab_json_config_init(&jc);
	jc.max_input = len;
	nodes = malloc(nn * sizeof(*nodes));
	if (nodes == NULL)
		return none;
	if (collab_json_parse(&jc, (const uint8_t *)p, len, nodes, nn, &doc) != 0 ||
	    collab_json_type(&doc, collab_json_root(&doc)) != COLLAB_JSON_OBJECT) {
		free(nodes);
		return none;
	}
	n = collab_json_obj_get(&doc, collab_json_root(&doc), COLLAB_JSON_LIT("broadcastId"));
	if (collab_json_str(&doc, n, (uint8_t *)out, 36, &dlen) != 0 || dlen != 36) {
		free(nodes);
		return none;
	}
	free(nodes);
	return (struct collab_str){ out, 36 };
}

static bool blank(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* Queues one line; false when the queue is full (the line is kept for
 * later and stdin paused). */
static bool send_line(const char *p, size_t len)
{
	char bid[36];
	struct collab_str b;
	int rc;

	if (len && p[len - 1] == '\r')
		len--;
	if (blank(p, len))
		return true;
	b = line_bid(p, len, bid);
	rc = collab_client_send_raw(&G.c, (const uint8_t *)p, len, b);
	if (rc == COLLAB_EQUEUE)
		return false;
	if (rc == COLLAB_EUTF8)
		say("line skipped: not UTF-8");
	else if (rc != 0)
		say("line skipped: %s", collab_strerror(rc));
	return true;
}

static void pause_stdin(bool on)
{
	G.in_paused = on;
	if (G.in_watched)
		(void)collab_loop_io_modify(&G.loop, &G.in_io, on ? 0u : COLLAB_LOOP_READ);
}

/* Splits what was read into lines. */
static void take_bytes(const char *p, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (G.line_skip) {
			G.line_skip = false;
		} else if (G.line_len + (i - start) > MAX_LINE) {
			say("line skipped: longer than %zu bytes", MAX_LINE);
		} else {
			memcpy(G.line + G.line_len, p + start, i - start);
			G.line_len += i - start;
			if (!send_line(G.line, G.line_len)) {
				/* Kept; the rest of this chunk too. */
				G.pending_line = malloc(G.line_len + 1);
				if (G.pending_line == NULL) {
					die(EXIT_FAIL, "out of memory");
					return;
				}
				memcpy(G.pending_line, G.line, G.line_len);
				G.pending_len = G.line_len;
				G.line_len = 0;
				/* Unsplit bytes after it wait in G.line. */
				memcpy(G.line, p + i + 1, n - i - 1);
				G.line_len = n - i - 1;
				pause_stdin(true);
				return;
			}
		}
		G.line_len = 0;
		start = i + 1;
	}
	if (G.line_skip)
		return;
	if (G.line_len + (n - start) > MAX_LINE) {
		say("line skipped: longer than %zu bytes", MAX_LINE);
		G.line_skip = true;
		G.line_len = 0;
		return;
	}
	memcpy(G.line + G.line_len, p + start, n - start);
	G.line_len += n - start;
}

static void maybe_finish_input(void);

static void read_stdin(void)
{
	char buf[READ_CHUNK];
	ssize_t n;

	if (G.in_eof || G.in_paused || G.closing)
		return;
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		say("stdin: %s; treated as its end", strerror(errno));
		n = 0;
	}
	if (n == 0) {
		G.in_eof = true;
		if (G.in_watched) {
			collab_loop_io_remove(&G.loop, &G.in_io);
			G.in_watched = false;
		}
		if (G.line_len && !G.line_skip && send_line(G.line, G.line_len))
			G.line_len = 0; /* a last line without its newline */
		maybe_finish_input();
		return;
	}
	take_bytes(buf, (size_t)n);
}

static void on_stdin(struct collab_loop *loop, struct collab_io *io, unsigned ev)
{
	(void)loop;
	(void)io;
	(void)ev;
	read_stdin();
}

/* stdin that epoll cannot watch (a regular file, /dev/null) never blocks:
 * it is read one chunk per turn from a timer. */
static void on_stdin_timer(struct collab_loop *loop, struct collab_timer *t)
{
	read_stdin();
	if (!G.in_eof && !G.closing)
		(void)collab_loop_timer_arm(loop, t, 0);
}

/* Every turn: resume stdin once the queue has room again, and close at
 * the end of input once everything is answered. */
static void on_turn(struct collab_loop *loop, struct collab_hook *h)
{
	(void)loop;
	(void)h;
	if (G.pending_line && collab_client_pending(&G.c) < MAX_QUEUED) {
		char *l = G.pending_line;
		size_t n = G.pending_len, rest = G.line_len;

		G.pending_line = NULL;
		G.line_len = 0;
		if (!send_line(l, n)) {
			G.pending_line = l;
			G.line_len = rest;
			return;
		}
		free(l);
		/* Bytes read after it: split them as new input. */
		if (rest) {
			char *tmp = malloc(rest);

			if (tmp == NULL) {
				die(EXIT_FAIL, "out of memory");
				return;
			}
			memcpy(tmp, G.line, rest);
			take_bytes(tmp, rest);
			free(tmp);
		}
		if (G.pending_line == NULL) {
			pause_stdin(false);
			if (!G.in_watched && !G.in_eof &&
			    !collab_loop_timer_armed(&G.in_timer))
				(void)collab_loop_timer_arm(&G.loop, &G.in_timer, 0);
		}
	}
	maybe_finish_input();
}

static void start_close(void)
{
	if (G.closing)
		return;
	G.closing = true;
	collab_client_close(&G.c);
}

static void maybe_finish_input(void)
{
	if (G.in_eof && !G.pending_line && G.been_live &&
	    collab_client_pending(&G.c) == 0 &&
	    collab_client_state(&G.c) == COLLAB_CLIENT_LIVE)
		start_close();
}

static void on_signal(struct collab_loop *loop, struct collab_signal *s)
{
	(void)loop;
	(void)s;
	if (G.closing) {
		die(EXIT_FAIL, "interrupted");
		return;
	}
	say("closing");
	start_close();
}

static int watch_stdin(void)
{
	int fl = fcntl(STDIN_FILENO, F_GETFL);

	G.in_flags = fl;
	if (fl >= 0 && !(fl & O_NONBLOCK))
		(void)fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
	collab_loop_io_init(&G.in_io, STDIN_FILENO, on_stdin, NULL);
	if (collab_loop_io_add(&G.loop, &G.in_io, COLLAB_LOOP_READ) == 0) {
		G.in_watched = true;
		return 0;
	}
	/* EPERM: a regular file or /dev/null, which never blocks. */
	collab_loop_timer_init(&G.in_timer, on_stdin_timer, NULL);
	return collab_loop_timer_arm(&G.loop, &G.in_timer, 0);
}

/* ---- main ---------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct collab_client_config cfg;
	struct collab_client_handlers hd;
	const char *url = NULL, *token = NULL, *origin = NULL, *ca = NULL;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char **dst = NULL;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			(void)fputs(usage, stdout);
			return EXIT_OK;
		}
		if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
			G.quiet = true;
			continue;
		}
		if (strcmp(argv[i], "--token") == 0)
			dst = &token;
		else if (strcmp(argv[i], "--origin") == 0)
			dst = &origin;
		else if (strcmp(argv[i], "--ca") == 0)
			dst = &ca;
		if (dst) {
			if (i + 1 >= argc) {
				(void)fprintf(stderr, "collab-cli: %s needs a value\n", argv[i]);
				return EXIT_USAGE;
			}
			if (*dst) {
				(void)fprintf(stderr, "collab-cli: %s given twice\n", argv[i]);
				return EXIT_USAGE;
			}
			*dst = argv[++i];
			continue;
		}
		if (argv[i][0] == '-' || url) {
			(void)fprintf(stderr, "collab-cli: unexpected argument \"%s\" (see --help)\n",
				argv[i]);
			return EXIT_USAGE;
		}
		url = argv[i];
	}
	if (url == NULL) {
		(void)fputs("collab-cli: a URL is required (see --help)\n", stderr);
		return EXIT_USAGE;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	G.line = malloc(MAX_LINE + 1);
	if (G.line == NULL || collab_loop_init(&G.loop, NULL) != 0 ||
	    collab_wsctx_init(&G.ws, &G.loop, NULL) != 0) {
		(void)fputs("collab-cli: cannot set up the event loop\n", stderr);
		return EXIT_FAIL;
	}
	if (strncmp(url, "wss://", 6) == 0 || strncmp(url, "WSS://", 6) == 0) {
		rc = collab_tls_client_load(&G.tls, NULL, ca, NULL);
		if (rc != 0) {
			(void)fprintf(stderr, "collab-cli: trust anchors: %s\n",
				collab_tls_client_why(&G.tls));
			return EXIT_USAGE;
		}
		G.has_tls = true;
	}
	collab_client_config_init(&cfg);
	cfg.keep_room = false;
	cfg.ops_per_second = 0;
	cfg.max_pending = MAX_QUEUED;
	cfg.tls = G.has_tls ? &G.tls : NULL;
	if (origin)
		cfg.origin = (struct collab_str){ origin, strlen(origin) };
	memset(&hd, 0, sizeof(hd));
	hd.on_raw = on_raw;
	hd.on_state = on_state;
	rc = collab_client_init(&G.c, &G.ws, &cfg, &hd);
	if (rc == 0 && token)
		rc = collab_client_set_token(&G.c, token, strlen(token));
	if (rc != 0) {
		(void)fprintf(stderr, "collab-cli: %s\n", collab_strerror(rc));
		return EXIT_USAGE;
	}
	rc = collab_client_start(&G.c, url, strlen(url));
	if (rc != 0) {
		(void)fprintf(stderr, "collab-cli: bad URL \"%s\": %s\n", url,
			rc == COLLAB_EINVAL ? "wss:// needs trust anchors" : collab_strerror(rc));
		return EXIT_USAGE;
	}
	collab_loop_hook_init(&G.hook, on_turn, NULL);
	if (watch_stdin() != 0 || collab_loop_hook_add(&G.loop, &G.hook) != 0 ||
	    collab_loop_signal(&G.loop, &G.sigint, SIGINT, on_signal, NULL) != 0 ||
	    collab_loop_signal(&G.loop, &G.sigterm, SIGTERM, on_signal, NULL) != 0) {
		(void)fputs("collab-cli: cannot set up the event loop\n", stderr);
		return EXIT_FAIL;
	}
	while (!G.done)
		if (collab_loop_run(&G.loop) != 0) {
			(void)fputs("collab-cli: the event loop failed\n", stderr);
			G.status = EXIT_FAIL;
			break;
		}
	if (G.in_watched)
		collab_loop_io_remove(&G.loop, &G.in_io);
	if (G.in_flags >= 0)
		(void)fcntl(STDIN_FILENO, F_SETFL, G.in_flags);
	collab_loop_timer_cancel(&G.loop, &G.in_timer);
	collab_loop_hook_remove(&G.loop, &G.hook);
	collab_loop_signal_remove(&G.loop, &G.sigint);
	collab_loop_signal_remove(&G.loop, &G.sigterm);
	collab_client_free(&G.c);
	collab_wsctx_free(&G.ws);
	collab_loop_free(&G.loop);
	if (G.has_tls)
		collab_tls_client_free(&G.tls);
	free(G.line);
	free(G.pending_line);
	return G.status;
}
