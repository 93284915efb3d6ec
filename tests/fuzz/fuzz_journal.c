/*
 * fuzz_journal.c - libFuzzer target for the journal's recovery
 * (server/journal.h): the input is a journal file's bytes.
 *
 * 1. srv_journal_scan_mem() over the input: every record it reports lies
 *    inside the input, follows the previous one exactly, and framing its
 *    type and payload again gives back the very bytes it was read from;
 *    the verdict agrees with the good prefix (SOUND iff the prefix is the
 *    whole non-empty input); scanning the good prefix alone is SOUND with
 *    the same records.
 * 2. The same bytes as DIR/journal through srv_journal_open(): SOUND and
 *    TORN open (a torn tail cut to the prefix), CORRUPT and UNSUPPORTED
 *    are refused, with the codes journal.h documents; CORRUPT with repair
 *    opens on the prefix (or a new journal when the prefix is empty) and
 *    moves exactly the rest aside. Every journal that opened takes one
 *    more record and scans SOUND afterwards with it at the end.
 * Inputs starting with 'J' are recipes for valid journals with one
 * damage each (see run_recipe), so the checks above also see files whose
 * checksums hold. (f)syncs are no-ops: the target checks logic, not the
 * disk.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collab/common.h"
#include "journal.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* Small, so the fuzzer reaches the limit. */
#define FUZZ_MAX_RECORD 4096

static char dir[64];

static int nosync(void *ctx, int fd)
{
	(void)ctx;
	(void)fd;
	return 0;
}

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int dfd;

	if (d == NULL)
		return;
	dfd = dirfd(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			(void)unlinkat(dfd, e->d_name, 0);
	closedir(d);
	(void)rmdir(dir);
}

static void config(struct srv_journal_config *cfg, bool repair)
{
	srv_journal_config_init(cfg);
	cfg->dir = dir;
	cfg->max_record = FUZZ_MAX_RECORD;
	cfg->read_buffer = 512;     /* many window refills */
	cfg->repair = repair;
	cfg->io.fdatasync = nosync;
	cfg->io.fsync = nosync;
}

struct walk {
	const uint8_t *data;
	size_t size;
	uint64_t next;      /* where the next record must start */
	uint64_t n;
	uint8_t frame[SRV_JOURNAL_FRAME_HDR + FUZZ_MAX_RECORD];
};

static int walk_record(void *ctx, uint8_t type, const uint8_t *payload,
		       size_t len, uint64_t offset)
{
	struct walk *w = ctx;
	size_t fl;

	CHECK(offset == w->next);
	CHECK(len <= FUZZ_MAX_RECORD);
	CHECK(offset + SRV_JOURNAL_FRAME_HDR + len <= w->size);
	CHECK(type != 0);
	CHECK((type == SRV_JOURNAL_TYPE_HEADER) == (offset == 0));
	CHECK(srv_journal_frame(type, payload, len, w->frame, sizeof(w->frame),
				&fl) == 0);
	CHECK(fl == SRV_JOURNAL_FRAME_HDR + len);
	CHECK(memcmp(w->frame, w->data + offset, fl) == 0);
	w->next = offset + fl;
	w->n++;
	return 0;
}

static int count_record(void *ctx, uint8_t type, const uint8_t *payload,
			size_t len, uint64_t offset)
{
	(void)type;
	(void)payload;
	(void)len;
	(void)offset;
	(*(uint64_t *)ctx)++;
	return 0;
}

static void write_journal(const uint8_t *data, size_t size)
{
	char path[128];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, SRV_JOURNAL_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	(void)close(fd);
}

static off_t size_of(const char *name)
{
	char path[192];
	struct stat st;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(stat(path, &st) == 0);
	return st.st_size;
}

/* After a successful open with `before` caller records: one more record,
 * then the file must scan SOUND with before + 2 records (HEADER too). */
static void append_and_rescan(struct srv_journal *j, uint64_t before)
{
	struct srv_journal_config cfg;
	struct srv_journal_scan sc;
	char path[128];
	uint64_t n = 0;
	int fd;

	CHECK(srv_journal_append(j, SRV_JOURNAL_TYPE_MIN_APP, "{}", 2) == 0);
	CHECK(srv_journal_commit(j) == 0);
	CHECK(srv_journal_close(j) == 0);
	config(&cfg, false);
	(void)snprintf(path, sizeof(path), "%s/%s", dir, SRV_JOURNAL_FILE);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(srv_journal_scan_fd(fd, &cfg, count_record, &n, &sc) == 0);
	(void)close(fd);
	CHECK(sc.verdict == SRV_JOURNAL_SOUND);
	CHECK(sc.records == before + 2 && n == sc.records);
}

static void run(const uint8_t *data, size_t size)
{
	struct srv_journal_config cfg;
	struct srv_journal_scan sc, pre;
	struct srv_journal_report rep;
	struct srv_journal j;
	struct walk *w;
	int rc;

	if (dir[0] == '\0') {
		(void)snprintf(dir, sizeof(dir), "%s/fuzz_journal.XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		CHECK(mkdtemp(dir) != NULL);
		CHECK(atexit(cleanup) == 0);
	}
	w = calloc(1, sizeof(*w));
	CHECK(w != NULL);
	w->data = data;
	w->size = size;

	/* 1. the scanner over memory */
	config(&cfg, false);
	CHECK(srv_journal_scan_mem(data, size, &cfg, walk_record, w, &sc) == 0);
	CHECK(sc.size == size && sc.good_end <= size);
	CHECK(sc.records == w->n && w->next == sc.good_end);
	if (sc.verdict == SRV_JOURNAL_SOUND)
		CHECK(size > 0 && sc.good_end == size && sc.header_ok &&
		      sc.reason[0] == '\0');
	else
		CHECK(sc.good_end < size || size == 0);
	CHECK(sc.header_ok == (sc.records > 0));
	if (sc.verdict != SRV_JOURNAL_SOUND)
		CHECK(sc.reason[0] != '\0');
	if (sc.verdict == SRV_JOURNAL_TORN ||
	    sc.verdict == SRV_JOURNAL_UNSUPPORTED)
		CHECK(sc.verdict == SRV_JOURNAL_UNSUPPORTED || sc.good_end > 0);
	if (sc.good_end > 0) {
		CHECK(srv_journal_scan_mem(data, (size_t)sc.good_end, &cfg,
					   NULL, NULL, &pre) == 0);
		CHECK(pre.verdict == SRV_JOURNAL_SOUND);
		CHECK(pre.records == sc.records);
		CHECK(strcmp(pre.epoch, sc.epoch) == 0);
	}
	free(w);

	/* 2. recovery of the same bytes as a file */
	write_journal(data, size);
	rc = srv_journal_open(&j, &cfg, NULL, NULL, &rep);
	switch (sc.verdict) {
	case SRV_JOURNAL_SOUND:
	case SRV_JOURNAL_TORN:
		CHECK(rc == 0);
		CHECK(rep.records + 1 == sc.records);
		CHECK(rep.torn_bytes == sc.size - sc.good_end);
		CHECK((uint64_t)size_of(SRV_JOURNAL_FILE) == sc.good_end);
		CHECK(strcmp(srv_journal_epoch(&j), sc.epoch) == 0);
		append_and_rescan(&j, rep.records);
		break;
	case SRV_JOURNAL_UNSUPPORTED:
		CHECK(rc == COLLAB_EPROTO);
		config(&cfg, true);
		CHECK(srv_journal_open(&j, &cfg, NULL, NULL, &rep) ==
		      COLLAB_EPROTO);
		CHECK((uint64_t)size_of(SRV_JOURNAL_FILE) == size);
		break;
	case SRV_JOURNAL_CORRUPT:
		CHECK(rc == COLLAB_ECORRUPT);
		CHECK((uint64_t)size_of(SRV_JOURNAL_FILE) == size);
		config(&cfg, true);
		CHECK(srv_journal_open(&j, &cfg, NULL, NULL, &rep) == 0);
		CHECK(rep.repaired && rep.corrupt_offset == sc.good_end);
		CHECK(rep.moved_bytes == size - sc.good_end);
		CHECK((uint64_t)size_of(rep.moved_to) == rep.moved_bytes);
		{
			char path[192];
			(void)snprintf(path, sizeof(path), "%s/%s", dir,
				       rep.moved_to);
			CHECK(unlink(path) == 0);
		}
		if (sc.good_end == 0) {
			CHECK(rep.created && rep.records == 0);
		} else {
			CHECK(!rep.created && rep.records + 1 == sc.records);
			CHECK((uint64_t)size_of(SRV_JOURNAL_FILE) ==
			      sc.good_end);
		}
		append_and_rescan(&j, rep.records);
		break;
	}
}

/*
 * Random bytes rarely get past a CRC, so inputs starting with 'J' are a
 * recipe instead: records [type][len][len bytes of payload]... framed with
 * valid checksums after a good HEADER, then one damage taken from the
 * recipe's first bytes: none, a flipped bit, a cut, or appended zeros
 * (with an optional non-zero byte after them).
 */
#define RECIPE_HEADER "{\"format\":1,\"epoch\":\"919108f7-52d1-4320-9bac-" \
	"f847db4148a8\",\"createdAt\":1}"

static void run_recipe(const uint8_t *data, size_t size)
{
	size_t cap = 64 + size * 14 + 70000, n = 0, w, i = 6;
	uint8_t *buf;
	unsigned op, pos;

	if (size < 6)
		return;
	op = data[1] % 5;
	pos = (unsigned)data[2] << 16 | (unsigned)data[3] << 8 | data[4];
	buf = calloc(1, cap);
	CHECK(buf != NULL);
	CHECK(srv_journal_frame(SRV_JOURNAL_TYPE_HEADER, RECIPE_HEADER,
				sizeof(RECIPE_HEADER) - 1, buf, cap, &w) == 0);
	n = w;
	while (i + 2 <= size) {
		uint8_t type = data[i];
		size_t len = data[i + 1];
		i += 2;
		if (len > size - i)
			len = size - i;
		CHECK(srv_journal_frame(type ? type : 2, data + i, len, buf + n,
					cap - n, &w) == 0);
		n += w;
		i += len;
	}
	switch (op) {
	case 1:
		buf[pos % n] ^= (uint8_t)(1u << (data[5] & 7));
		break;
	case 2:
		n = pos % (n + 1);
		break;
	case 3:
	case 4:
		n += pos % 65536;          /* calloc'ed: zeros */
		if (op == 4)
			buf[n++] = (uint8_t)(data[5] | 1);
		break;
	default:
		break;
	}
	run(buf, n);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == 'J')
		run_recipe(data, size);
	else
		run(data, size);
	return 0;
}
