/*
 * collab-journal - checks a collab-server data directory's journal and
 * prints its records, without ever modifying the directory.
 *
 *   collab-journal verify DIR   one line: the verdict; exit status below
 *   collab-journal dump DIR     one JSON line per good record, then the
 *                               verdict on stderr if the journal is not
 *                               sound
 *
 * The journal is opened read-only and scanned with the same code and the
 * same rules (server/journal.h) the server recovers with, and verify also
 * replays every record into rooms in memory with the server's own replay
 * (persist.c: parseable records, each room's seq rising by one), so a
 * journal it calls sound is one the server starts on; no lock is
 * taken, so it may run beside a live server (whose last batch may then
 * still be in flight and show as a torn tail).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collab/base64.h"
#include "collab/json.h"
#include "journal.h"
#include "server.h"

/* Exit statuses (also in the --help text). */
#define EXIT_SOUND 0
#define EXIT_CORRUPT 1       /* corrupt or unsupported: the server refuses */
#define EXIT_USAGE 2         /* bad command line, or the journal unreadable */
#define EXIT_TORN 3          /* a torn tail the server cuts at start */

/* Bytes around a payload in one dump line: the member names and three
 * 20-digit numbers. */
#define DUMP_LINE_OVERHEAD 128u
/* The JSON writer escapes one input byte into at most 6 ("\u001f"). */
#define DUMP_ESCAPE_FACTOR 6u

static const char usage[] =
"usage: collab-journal verify DIR\n"
"       collab-journal dump DIR\n"
"       collab-journal --help\n"
"\n"
"Reads DIR/journal, the journal of a collab-server data directory, with the\n"
"server's own recovery rules. Never writes to DIR and takes no lock.\n"
"\n"
"verify  prints one line and exits with:\n"
"          0  sound: \"sound: N records, B bytes, epoch E, createdAt MS\"\n"
"             (N counts the HEADER record)\n"
"          3  torn tail: \"torn: offset N: REASON; B bytes after it (R good\n"
"             records before it)\"; the server cuts those bytes at its\n"
"             next start (a crash in the middle of an append, or a batch\n"
"             still being written)\n"
"          1  corrupt or unsupported: \"corrupt: offset N: REASON\"; also\n"
"             a well-framed record the server cannot replay (not one of\n"
"             its records, or an event whose seq does not follow its\n"
"             room's): \"corrupt: offset N: journal offset N: record type\n"
"             T: REASON\". The server refuses to start unless --repair,\n"
"             which keeps the N bytes before the damage, moves the rest\n"
"             to DIR/journal.corrupt-<ms> and starts a new epoch\n"
"          2  usage error, or the journal cannot be read\n"
"dump    prints each good record as one JSON line,\n"
"          {\"offset\":N,\"type\":T,\"length\":L,\"payload\":JSON}\n"
"        where the payload is re-encoded compactly when it is valid JSON,\n"
"        and otherwise given as \"payloadBase64\":\"...\" (RFC 4648 base64).\n"
"        Type 1 is the HEADER record. If the journal is not sound, the\n"
"        verify line follows on stderr, with the same exit status.\n";

struct dump {
	uint8_t *out;
	size_t out_cap;
	struct collab_json_node *nodes;
	size_t nodes_cap;
	int err;
};

/* Grows *p (of *cap elements of size sz) to at least want elements. */
static int grow(void **p, size_t *cap, size_t want, size_t sz)
{
	void *np;

	if (want <= *cap)
		return 0;
	if (want > SIZE_MAX / sz)
		return -1;
	np = realloc(*p, want * sz);
	if (np == NULL)
		return -1;
	*p = np;
	*cap = want;
	return 0;
}

static int dump_record(void *ctx, uint8_t type, const uint8_t *payload,
		       size_t len, uint64_t offset)
{
	struct dump *d = ctx;
	struct collab_json_config jc;
	struct collab_json_doc doc;
	struct collab_json_writer w;
	size_t wcap, nodes, b64, n = 0;
	char *text;
	bool is_json = false;
	int rc;

	if (len <= COLLAB_JSON_MAX_INPUT_CAP && len > 0) {
		nodes = COLLAB_JSON_NODES_FOR(len);
		if (grow((void **)&d->nodes, &d->nodes_cap, nodes,
			 sizeof(*d->nodes)) != 0)
			return COLLAB_ENOMEM;
		collab_json_config_init(&jc);
		jc.max_input = len;
		jc.max_depth = COLLAB_JSON_WRITER_STACK - 1;
		is_json = collab_json_parse(&jc, payload, len, d->nodes, nodes,
					    &doc) == 0;
	}
	/* a base64 payload is encoded into the upper half of the buffer,
	 * then copied in by the writer below it */
	b64 = collab_b64_encoded_len(len, COLLAB_B64_STD);
	if (len > (SIZE_MAX - DUMP_LINE_OVERHEAD) / DUMP_ESCAPE_FACTOR ||
	    (b64 == 0 && len > 0))
		return COLLAB_ENOMEM;
	wcap = DUMP_LINE_OVERHEAD + (is_json ? len * DUMP_ESCAPE_FACTOR : b64);
	if (grow((void **)&d->out, &d->out_cap, wcap + (is_json ? 0 : b64),
		 1) != 0)
		return COLLAB_ENOMEM;
	text = (char *)d->out + wcap;
	if (!is_json && collab_b64_encode(payload, len, COLLAB_B64_STD, text,
					  b64, &n) != 0)
		return COLLAB_EINVAL;

	collab_json_writer_init(&w, d->out, wcap);
	collab_json_write_obj_begin(&w);
	collab_json_write_key(&w, COLLAB_JSON_LIT("offset"));
	collab_json_write_u64(&w, offset);
	collab_json_write_key(&w, COLLAB_JSON_LIT("type"));
	collab_json_write_u64(&w, type);
	collab_json_write_key(&w, COLLAB_JSON_LIT("length"));
	collab_json_write_u64(&w, len);
	if (is_json) {
		collab_json_write_key(&w, COLLAB_JSON_LIT("payload"));
		collab_json_write_node(&w, &doc, collab_json_root(&doc));
	} else {
		collab_json_write_key(&w, COLLAB_JSON_LIT("payloadBase64"));
		collab_json_write_str(&w, text, n);
	}
	collab_json_write_obj_end(&w);
	rc = collab_json_writer_finish(&w, &n);
	if (rc != 0)
		return rc;
	if (fwrite(d->out, 1, n, stdout) != n || putchar('\n') == EOF) {
		d->err = errno;
		return COLLAB_EIO;
	}
	return 0;
}

/* verify: every record replayed as the server does at start. */
struct check {
	struct srv_room_registry rooms;
	char msg[SRV_JOURNAL_MSG_MAX];
};

static int check_record(void *ctx, uint8_t type, const uint8_t *payload,
			size_t len, uint64_t offset)
{
	struct check *k = ctx;

	if (type == SRV_JOURNAL_TYPE_HEADER)
		return 0;
	return srv_persist_replay(&k->rooms, type, payload, len, offset,
				  k->msg, sizeof(k->msg));
}

/* The verdict line, to f. Returns the exit status it implies. */
static int report(FILE *f, const struct srv_journal_scan *sc)
{
	switch (sc->verdict) {
	case SRV_JOURNAL_SOUND:
		(void)fprintf(f, "sound: %" PRIu64 " record%s, %" PRIu64
			      " bytes, epoch %s, createdAt %" PRIu64 "\n",
			      sc->records, sc->records == 1 ? "" : "s",
			      sc->size, sc->epoch, sc->created_at_ms);
		return EXIT_SOUND;
	case SRV_JOURNAL_TORN:
		(void)fprintf(f, "torn: offset %" PRIu64 ": %s; %" PRIu64
			      " bytes after it (%" PRIu64 " good records "
			      "before it)\n", sc->good_end, sc->reason,
			      sc->size - sc->good_end, sc->records);
		return EXIT_TORN;
	case SRV_JOURNAL_CORRUPT:
	case SRV_JOURNAL_UNSUPPORTED:
		break;
	}
	(void)fprintf(f, "%s: offset %" PRIu64 ": %s\n",
		      srv_journal_verdict_name(sc->verdict), sc->good_end,
		      sc->reason);
	return EXIT_CORRUPT;
}

int main(int argc, char **argv)
{
	struct srv_journal_config cfg;
	struct srv_journal_scan sc;
	struct collab_rng rng;
	struct check *k = NULL;
	struct dump d;
	struct stat st;
	bool dump;
	int dirfd, fd, rc, status;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		(void)fputs(usage, stdout);
		return EXIT_SOUND;
	}
	if (argc != 3 || (strcmp(argv[1], "verify") != 0 &&
			  strcmp(argv[1], "dump") != 0)) {
		(void)fputs(usage, stderr);
		return EXIT_USAGE;
	}
	dump = strcmp(argv[1], "dump") == 0;
	dirfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		(void)fprintf(stderr, "collab-journal: %s: %s\n", argv[2],
			      strerror(errno));
		return EXIT_USAGE;
	}
	fd = openat(dirfd, SRV_JOURNAL_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		(void)fprintf(stderr, "collab-journal: %s/%s: %s\n", argv[2],
			SRV_JOURNAL_FILE, strerror(errno));
		(void)close(dirfd);
		return EXIT_USAGE;
	}
	if (fstatat(dirfd, SRV_JOURNAL_COMPACT_FILE, &st,
		    AT_SYMLINK_NOFOLLOW) == 0)
		(void)fprintf(stderr,
			      "collab-journal: note: %s/%s is left from an "
			      "interrupted compaction; the server deletes it "
			      "at start\n",
			      argv[2], SRV_JOURNAL_COMPACT_FILE);
	(void)close(dirfd);

	srv_journal_config_init(&cfg);
	memset(&d, 0, sizeof(d));
	memset(&rng, 0, sizeof(rng));
	if (dump) {
		rc = srv_journal_scan_fd(fd, &cfg, dump_record, &d, &sc);
	} else {
		k = calloc(1, sizeof(*k));
		rc = k == NULL ? COLLAB_ENOMEM : collab_rng_init(&rng);
		if (rc == 0)
			rc = srv_room_registry_init(&k->rooms, NULL, NULL, &rng);
		if (rc == 0) {
			rc = srv_journal_scan_fd(fd, &cfg, check_record, k, &sc);
			srv_room_registry_free(&k->rooms);
		}
		collab_rng_wipe(&rng);
		if (rc == COLLAB_ECORRUPT) {
			/* scan stopped at the record replay rejected */
			sc.verdict = SRV_JOURNAL_CORRUPT;
			(void)snprintf(sc.reason, sizeof(sc.reason), "%s",
				       k->msg);
			rc = 0;
		}
		free(k);
	}
	(void)close(fd);
	free(d.out);
	free(d.nodes);
	if (rc != 0) {
		if (d.err != 0)
			(void)fprintf(stderr, "collab-journal: writing: %s\n",
				strerror(d.err));
		else if (rc == COLLAB_EIO)
			(void)fprintf(
				stderr, "collab-journal: reading %s/%s: %s\n",
				argv[2], SRV_JOURNAL_FILE, strerror(errno));
		else
			(void)fprintf(stderr, "collab-journal: %s/%s: %s\n",
				      argv[2], SRV_JOURNAL_FILE,
				      collab_strerror(rc));
		return EXIT_USAGE;
	}
	if (dump) {
		if (fflush(stdout) != 0) {
			(void)fprintf(stderr, "collab-journal: writing: %s\n",
				strerror(errno));
			return EXIT_USAGE;
		}
		return sc.verdict == SRV_JOURNAL_SOUND ? EXIT_SOUND
						       : report(stderr, &sc);
	}
	status = report(stdout, &sc);
	if (fflush(stdout) != 0)
		return EXIT_USAGE;
	return status;
}
