/*
 * check_journal.c - the server's journal (server/journal.h).
 *
 * Framing round trips; the recovery rules of journal.h one by one: a torn
 * tail cut at every byte offset of the last record (and the reopened
 * journal appending fine), a flipped bit in each field of a middle record
 * refused with that record's offset and repaired into a moved-aside file,
 * zero-filled tails, a damaged or foreign HEADER; the data directory lock;
 * thousands of records through append/commit/reopen; group commit's one
 * fdatasync per commit; write, fdatasync, ftruncate and fsync failures at
 * exact calls through the io table (never retrying a failed fdatasync, the
 * FAILED state); RELAXED timing on a fake clock; NONE never syncing;
 * compaction equivalence, failures and leftovers; RLIMIT_FSIZE for real in
 * a child process. Scans run over memory from a guard-page buffer and over
 * files with read windows from 1 byte up.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collab/common.h"
#include "collab/uuid.h"
#include "crc32c.h"
#include "journal.h"
#include "testutil.h"

#define T_APP 7   /* the record type the tests write */

/* ---- temporary directories ------------------------------------------- */

static char base_dir[256];

static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[512];

	if (d == NULL) {
		(void)unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		(void)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_tree(sub);
	}
	closedir(d);
	(void)rmdir(path);
}

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	(void)snprintf(base_dir, sizeof(base_dir), "%s/check_journal.XXXXXX",
		 t != NULL && t[0] != '\0' ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(base_dir));
}

static void teardown(void)
{
	rm_tree(base_dir);
}

/* base_dir/name, in a static rotation of buffers */
static const char *path_in(const char *name)
{
	static char bufs[4][512];
	static int k;
	char *p = bufs[k++ % 4];
	(void)snprintf(p, 512, "%s/%s", base_dir, name);
	return p;
}

static const char *file_in(const char *dir, const char *name)
{
	static char bufs[4][600];
	static int k;
	char *p = bufs[k++ % 4];
	(void)snprintf(p, 600, "%s/%s", dir, name);
	return p;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	b = malloc(*len ? *len : 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq((int)pread(fd, b, *len, 0), (int)*len);
	(void)close(fd);
	return b;
}

static void write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq((int)write(fd, p, len), (int)len);
	(void)close(fd);
}

static off_t file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	return st.st_size;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* ---- fake io: counts every call, fails chosen ones ------------------- */

struct fault {
	long at;        /* 1-based call number that fails first; 0: never */
	long count;     /* consecutive failing calls */
	int err;
};

struct fake_io {
	long pwrites, fdatasyncs, fsyncs, ftruncates;
	struct fault f_pwrite, f_fdatasync, f_fsync, f_ftruncate;
	size_t short_bytes;     /* the first failing pwrite writes this much */
	bool short_done;
	bool skip_sync;         /* make (f)syncs no-ops: fast loops */
	uint64_t last_pwrite_off;
	uint64_t last_truncate;
};

static bool hit(const struct fault *f, long n)
{
	return f->at != 0 && n >= f->at && n - f->at < f->count;
}

static void arm(struct fault *f, long next_call, long count, int err)
{
	f->at = next_call;
	f->count = count;
	f->err = err;
}

static ssize_t fk_pwrite(void *ctx, int fd, const void *p, size_t n,
			 uint64_t off)
{
	struct fake_io *fk = ctx;

	fk->pwrites++;
	fk->last_pwrite_off = off;
	if (hit(&fk->f_pwrite, fk->pwrites)) {
		if (fk->short_bytes && !fk->short_done && n > fk->short_bytes) {
			fk->short_done = true;
			return pwrite(fd, p, fk->short_bytes, (off_t)off);
		}
		errno = fk->f_pwrite.err;
		return -1;
	}
	return pwrite(fd, p, n, (off_t)off);
}

static int fk_fdatasync(void *ctx, int fd)
{
	struct fake_io *fk = ctx;

	fk->fdatasyncs++;
	if (hit(&fk->f_fdatasync, fk->fdatasyncs)) {
		errno = fk->f_fdatasync.err;
		return -1;
	}
	return fk->skip_sync ? 0 : fdatasync(fd);
}

static int fk_fsync(void *ctx, int fd)
{
	struct fake_io *fk = ctx;

	fk->fsyncs++;
	if (hit(&fk->f_fsync, fk->fsyncs)) {
		errno = fk->f_fsync.err;
		return -1;
	}
	return fk->skip_sync ? 0 : fsync(fd);
}

static int fk_ftruncate(void *ctx, int fd, uint64_t len)
{
	struct fake_io *fk = ctx;

	fk->ftruncates++;
	fk->last_truncate = len;
	if (hit(&fk->f_ftruncate, fk->ftruncates)) {
		errno = fk->f_ftruncate.err;
		return -1;
	}
	return ftruncate(fd, (off_t)len);
}

static void cfg_for(struct srv_journal_config *cfg, const char *dir,
		    struct fake_io *fk)
{
	srv_journal_config_init(cfg);
	cfg->dir = dir;
	if (fk != NULL) {
		cfg->io.pwrite = fk_pwrite;
		cfg->io.fdatasync = fk_fdatasync;
		cfg->io.fsync = fk_fsync;
		cfg->io.ftruncate = fk_ftruncate;
		cfg->io.ctx = fk;
	}
}

/* ---- collecting records ---------------------------------------------- */

struct rec {
	uint8_t type;
	uint64_t off;
	size_t len;
	uint8_t *p;
};

struct recs {
	struct rec *v;
	size_t n, cap;
	size_t fail_at;   /* return COLLAB_ENOMEM at this record (1-based) */
	int fail_rc;      /* ... or this code when non-zero */
};

static int collect(void *ctx, uint8_t type, const uint8_t *payload, size_t len,
		   uint64_t off)
{
	struct recs *r = ctx;

	ck_assert_ptr_nonnull(payload);
	if (r->fail_at && r->n + 1 == r->fail_at)
		return r->fail_rc ? r->fail_rc : COLLAB_ENOMEM;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		ck_assert_ptr_nonnull(r->v);
	}
	r->v[r->n].type = type;
	r->v[r->n].off = off;
	r->v[r->n].len = len;
	r->v[r->n].p = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(r->v[r->n].p);
	if (len)
		memcpy(r->v[r->n].p, payload, len);
	r->n++;
	return 0;
}

static void recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].p);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* The deterministic payload of record i (length len_of(i)). */
static size_t len_of(size_t i)
{
	return (i * 7919u) % 601u;
}

static void payload_of(size_t i, uint8_t *out, size_t len)
{
	for (size_t k = 0; k < len; k++)
		out[k] = (uint8_t)(i * 31u + k * 7u + (k >> 3));
}

static void append_i(struct srv_journal *j, size_t i)
{
	uint8_t buf[601];
	size_t len = len_of(i);
	payload_of(i, buf, len);
	ck_assert_int_eq(srv_journal_append(j, T_APP, buf, len), 0);
}

static void check_rec_i(const struct recs *r, size_t k, size_t i)
{
	uint8_t buf[601];
	size_t len = len_of(i);

	ck_assert_uint_lt(k, r->n);
	payload_of(i, buf, len);
	ck_assert_uint_eq(r->v[k].type, T_APP);
	ck_assert_uint_eq(r->v[k].len, len);
	ck_assert(memcmp(r->v[k].p, buf, len) == 0);
}

/* A journal in dir holding records 0..n-1 of the sequence, committed in
 * batches of `batch`; returns the offsets of each record in offs (n+1
 * entries: the last one is the end). */
static void build(const char *dir, size_t n, size_t batch, uint64_t *offs)
{
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_stats st;

	cfg_for(&cfg, dir, NULL);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		srv_journal_stats(&j, &st);
		if (offs != NULL)
			offs[i] = st.size + st.pending_bytes;
		append_i(&j, i);
		if ((i + 1) % batch == 0 || i + 1 == n)
			ck_assert_int_eq(srv_journal_commit(&j), 0);
	}
	srv_journal_stats(&j, &st);
	if (offs != NULL)
		offs[n] = st.size;
	ck_assert_int_eq(srv_journal_close(&j), 0);
}

/* Opens dir (with fk, may be NULL) collecting into r; returns the code. */
static int reopen(struct srv_journal *j, const char *dir, struct fake_io *fk,
		  bool repair, struct recs *r, struct srv_journal_report *rep)
{
	struct srv_journal_config cfg;

	cfg_for(&cfg, dir, fk);
	cfg.repair = repair;
	return srv_journal_open(j, &cfg, collect, r, rep);
}

/* ---- framing ---------------------------------------------------------- */

START_TEST(test_frame_roundtrip)
{
	static const size_t lens[] = { 0, 1, 12, 13, 300, 4096, 70000 };
	uint8_t *buf = malloc(80000), *pl = malloc(70000);
	struct srv_journal_scan sc;
	struct recs r = { 0 };
	size_t w, total;
	char hdr[128];
	int hl;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(pl);
	hl = snprintf(hdr, sizeof(hdr), "{\"format\":1,\"epoch\":\"%s\","
		      "\"createdAt\":1700000000000}",
		      "919108F7-52D1-4320-9BAC-F847DB4148A8");
	ck_assert_int_eq(srv_journal_frame(SRV_JOURNAL_TYPE_HEADER, hdr,
					   (size_t)hl, buf, 80000, &w), 0);
	ck_assert_uint_eq(w, SRV_JOURNAL_FRAME_HDR + (size_t)hl);
	/* layout: length LE, then type at 8 */
	ck_assert_uint_eq(buf[0], (uint8_t)hl);
	ck_assert_uint_eq(buf[1], 0);
	ck_assert_uint_eq(buf[8], SRV_JOURNAL_TYPE_HEADER);
	for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
		struct guard_buf g;
		payload_of(i, pl, lens[i]);
		ck_assert_int_eq(srv_journal_frame(SRV_JOURNAL_TYPE_HEADER, hdr,
						   (size_t)hl, buf, 80000, &w), 0);
		total = w;
		ck_assert_int_eq(srv_journal_frame(T_APP, pl, lens[i], buf + total,
						   80000 - total, &w), 0);
		total += w;
		g = guard_copy(buf, total);
		ck_assert_ptr_nonnull(g.p);
		ck_assert_int_eq(srv_journal_scan_mem(g.p, total, NULL, collect, &r,
						      &sc), 0);
		guard_free(&g);
		ck_assert_int_eq(sc.verdict, SRV_JOURNAL_SOUND);
		ck_assert_uint_eq(sc.records, 2);
		ck_assert_uint_eq(sc.good_end, total);
		ck_assert(sc.header_ok);
		/* the epoch comes back canonical (lowercase) */
		ck_assert_str_eq(sc.epoch, "919108f7-52d1-4320-9bac-f847db4148a8");
		ck_assert_uint_eq(sc.created_at_ms, 1700000000000ull);
		ck_assert_uint_eq(r.n, 2);
		ck_assert_uint_eq(r.v[1].len, lens[i]);
		ck_assert_uint_eq(r.v[1].off, SRV_JOURNAL_FRAME_HDR + (size_t)hl);
		ck_assert(memcmp(r.v[1].p, pl, lens[i]) == 0);
		recs_free(&r);
	}
	/* errors */
	ck_assert_int_eq(srv_journal_frame(0, "x", 1, buf, 100, &w), COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_frame(T_APP, NULL, 1, buf, 100, &w),
			 COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_frame(T_APP, "x", 1, buf, 13, &w),
			 COLLAB_ESPACE);
	ck_assert_int_eq(srv_journal_frame(T_APP, NULL, 0, buf, 13, &w), 0);
	ck_assert_uint_eq(w, 13);
	ck_assert_int_eq(srv_journal_frame(T_APP, NULL, 0, NULL, 0, &w),
			 COLLAB_ESPACE);
	free(buf);
	free(pl);
}
END_TEST

/* ---- create, reopen, lock ---------------------------------------------- */

START_TEST(test_create_reopen)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_report rep;
	struct collab_uuid u;
	char epoch[SRV_JOURNAL_EPOCH_LEN + 1];
	struct recs r = { 0 };

	cfg_for(&cfg, dir, NULL);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, collect, &r, &rep), 0);
	ck_assert(rep.created);
	ck_assert_uint_eq(rep.records, 0);
	ck_assert_uint_eq(rep.torn_bytes, 0);
	ck_assert_str_eq(rep.msg, "");
	ck_assert(srv_journal_writable(&j));
	ck_assert_uint_eq(strlen(srv_journal_epoch(&j)), SRV_JOURNAL_EPOCH_LEN);
	ck_assert_int_eq(collab_uuid_parse(srv_journal_epoch(&j),
					   SRV_JOURNAL_EPOCH_LEN, &u), 0);
	ck_assert_uint_eq(collab_uuid_version(&u), 4);
	ck_assert_uint_gt(srv_journal_created_at_ms(&j), 1600000000000ull);
	memcpy(epoch, srv_journal_epoch(&j), sizeof(epoch));
	ck_assert(exists(file_in(dir, "LOCK")));
	ck_assert(exists(file_in(dir, "journal")));
	ck_assert(!exists(file_in(dir, "journal.compact")));
	ck_assert_uint_eq((uint64_t)file_size(file_in(dir, "journal")), rep.bytes);
	ck_assert_int_eq(srv_journal_close(&j), 0);
	ck_assert_int_eq(srv_journal_close(&j), 0);     /* twice is fine */
	ck_assert_str_eq(srv_journal_epoch(&j), "");

	ck_assert_int_eq(srv_journal_open(&j, &cfg, collect, &r, &rep), 0);
	ck_assert(!rep.created);
	ck_assert_str_eq(srv_journal_epoch(&j), epoch);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_int_eq(srv_journal_close(&j), 0);

	/* a different (fresh) directory is a different history */
	ck_assert_int_eq(srv_journal_open(&j, (cfg.dir = path_in("other"), &cfg),
					  NULL, NULL, &rep), 0);
	ck_assert(rep.created);
	ck_assert_str_ne(srv_journal_epoch(&j), epoch);
	srv_journal_close(&j);
}
END_TEST

START_TEST(test_lock)
{
	const char *dir = path_in("data");
	struct srv_journal a, b;
	struct srv_journal_config cfg;
	struct srv_journal_report rep;
	char pid[32];

	cfg_for(&cfg, dir, NULL);
	ck_assert_int_eq(srv_journal_open(&a, &cfg, NULL, NULL, NULL), 0);
	ck_assert_int_eq(srv_journal_open(&b, &cfg, NULL, NULL, &rep),
			 COLLAB_EEXIST);
	(void)snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
	ck_assert_ptr_nonnull(strstr(rep.msg, "in use"));
	ck_assert_ptr_nonnull(strstr(rep.msg, pid));
	ck_assert(!srv_journal_writable(&b));
	ck_assert_int_eq(srv_journal_close(&b), 0);    /* safe after failure */
	/* another process is refused just the same */
	{
		pid_t child = fork();
		int status;
		ck_assert_int_ge(child, 0);
		if (child == 0) {
			struct srv_journal c;
			_exit(srv_journal_open(&c, &cfg, NULL, NULL, NULL) ==
			      COLLAB_EEXIST ? 0 : 1);
		}
		ck_assert_int_eq(waitpid(child, &status, 0), child);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* the writer still works, and the lock goes with close */
	ck_assert_int_eq(srv_journal_append(&a, T_APP, "x", 1), 0);
	ck_assert_int_eq(srv_journal_commit(&a), 0);
	ck_assert_int_eq(srv_journal_close(&a), 0);
	ck_assert_int_eq(srv_journal_open(&b, &cfg, NULL, NULL, NULL), 0);
	srv_journal_close(&b);
}
END_TEST

START_TEST(test_roundtrip_thousands)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_report rep;
	struct srv_journal_stats st;
	struct recs r = { 0 };
	size_t n = 5000, i = 0, round = 0;
	uint64_t offs[5001];

	/* three sessions appending to the same journal */
	build(dir, 2000, 37, offs);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), 0);
	ck_assert_uint_eq(r.n, 2000);
	recs_free(&r);
	for (i = 2000; i < n; i++) {
		append_i(&j, i);
		if (i % (1 + round++ % 50) == 0)
			ck_assert_int_eq(srv_journal_commit(&j), 0);
	}
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	srv_journal_stats(&j, &st);
	ck_assert_uint_eq(st.records, n + 1);
	ck_assert_uint_eq(st.size, st.durable);
	ck_assert_uint_eq(st.records_written, n - 2000);
	ck_assert_uint_eq((uint64_t)file_size(file_in(dir, "journal")), st.size);
	ck_assert_int_eq(srv_journal_close(&j), 0);

	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), 0);
	ck_assert_uint_eq(r.n, n);
	ck_assert_uint_eq(rep.records, n);
	ck_assert_uint_eq(rep.torn_bytes, 0);
	for (i = 0; i < n; i++)
		check_rec_i(&r, i, i);
	for (i = 0; i < 2000; i++)
		ck_assert_uint_eq(r.v[i].off, offs[i]);
	recs_free(&r);
	srv_journal_close(&j);
}
END_TEST

/* A callback error stops recovery, is returned, and releases the lock. */
START_TEST(test_callback_error)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_report rep;
	struct recs r = { 0 };

	build(dir, 10, 3, NULL);
	r.fail_at = 4;
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), COLLAB_ENOMEM);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_ptr_nonnull(strstr(rep.msg, "replay stopped"));
	recs_free(&r);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), 0);
	ck_assert_uint_eq(r.n, 10);
	recs_free(&r);
	srv_journal_close(&j);
}
END_TEST

/* ---- torn tails ------------------------------------------------------- */

/* The last record's payload length in each run; the journal holds four
 * records committed in two batches. */
static const size_t torn_last_len[] = { 0, 1, 40, 300 };

static void scan_both_agree(const uint8_t *p, size_t len,
			    struct srv_journal_scan *out)
{
	struct guard_buf g = guard_copy(p, len);
	struct srv_journal_scan f;
	char path[600];
	int fd;

	ck_assert_ptr_nonnull(g.p);
	ck_assert_int_eq(srv_journal_scan_mem(g.p, len, NULL, NULL, NULL, out), 0);
	guard_free(&g);
	(void)snprintf(path, sizeof(path), "%s/scanfile", base_dir);
	write_file(path, p, len);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(srv_journal_scan_fd(fd, NULL, NULL, NULL, &f), 0);
	(void)close(fd);
	ck_assert_int_eq(f.verdict, out->verdict);
	ck_assert_uint_eq(f.good_end, out->good_end);
	ck_assert_uint_eq(f.records, out->records);
	ck_assert_str_eq(f.reason, out->reason);
}

/* A record the caller cannot replay (COLLAB_ECORRUPT from on_record):
 * refused at its offset without repair, and with repair that record and
 * everything after it are moved aside like corruption. */
START_TEST(test_replay_failure_repair)
{
	const char *dir = path_in("data");
	uint64_t offs[11];
	struct srv_journal j;
	struct srv_journal_report rep;
	struct recs r = { 0 };
	char want[64];

	build(dir, 10, 3, offs);
	r.fail_at = 4;
	r.fail_rc = COLLAB_ECORRUPT;
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), COLLAB_ECORRUPT);
	(void)snprintf(want, sizeof(want), "offset %llu",
		       (unsigned long long)offs[3]);
	ck_assert_msg(strstr(rep.msg, want) != NULL, "%s", rep.msg);
	ck_assert_uint_eq(rep.corrupt_offset, offs[3]);
	ck_assert(!rep.repaired);
	ck_assert_uint_eq((uint64_t)file_size(file_in(dir, "journal")), offs[10]);
	recs_free(&r);

	r.fail_at = 4;
	r.fail_rc = COLLAB_ECORRUPT;
	ck_assert_int_eq(reopen(&j, dir, NULL, true, &r, &rep), 0);
	ck_assert(rep.repaired);
	ck_assert(rep.replay_failed);
	ck_assert(!rep.created);
	ck_assert_uint_eq(rep.records, 3);
	ck_assert_uint_eq(rep.corrupt_offset, offs[3]);
	ck_assert_uint_eq(rep.moved_bytes, offs[10] - offs[3]);
	ck_assert_msg(strncmp(rep.msg, "REPAIRED a record that cannot be "
			      "replayed", 41) == 0, "%s", rep.msg);
	ck_assert_uint_eq((uint64_t)file_size(file_in(dir, "journal")), offs[3]);
	srv_journal_close(&j);
	recs_free(&r);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), 0);
	ck_assert_uint_eq(r.n, 3);
	check_rec_i(&r, 2, 2);
	srv_journal_close(&j);
	recs_free(&r);
}
END_TEST

START_TEST(test_torn_every_offset)
{
	const char *src = path_in("src");
	uint8_t pl[300], *full;
	size_t full_len, prev_end;
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_report rep;
	struct srv_journal_stats st;
	struct fake_io fk;
	size_t last = torn_last_len[_i];
	char epoch[SRV_JOURNAL_EPOCH_LEN + 1];

	cfg_for(&cfg, src, NULL);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	memcpy(epoch, srv_journal_epoch(&j), sizeof(epoch));
	append_i(&j, 0);
	append_i(&j, 1);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	append_i(&j, 2);
	payload_of(3, pl, last);
	ck_assert_int_eq(srv_journal_append(&j, T_APP, pl, last), 0);
	srv_journal_stats(&j, &st);
	prev_end = (size_t)(st.size + st.pending_bytes - SRV_JOURNAL_FRAME_HDR - last);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	ck_assert_int_eq(srv_journal_close(&j), 0);
	full = read_file(file_in(src, "journal"), &full_len);
	ck_assert_uint_eq(full_len, prev_end + SRV_JOURNAL_FRAME_HDR + last);

	memset(&fk, 0, sizeof(fk));
	fk.skip_sync = true;
	for (size_t cut = prev_end; cut <= full_len; cut++) {
		char name[32];
		const char *dir;
		struct recs r = { 0 };
		struct srv_journal_scan sc;
		bool torn = cut != prev_end && cut != full_len;
		size_t want = cut == full_len ? 4 : 3;

		(void)snprintf(name, sizeof(name), "cut%zu", cut);
		dir = path_in(name);
		ck_assert_int_eq(mkdir(dir, 0700), 0);
		write_file(file_in(dir, "journal"), full, cut);
		scan_both_agree(full, cut, &sc);
		ck_assert_int_eq(sc.verdict, torn ? SRV_JOURNAL_TORN
						  : SRV_JOURNAL_SOUND);
		ck_assert_uint_eq(sc.good_end, torn ? prev_end : cut);

		ck_assert_int_eq(reopen(&j, dir, &fk, false, &r, &rep), 0);
		ck_assert_uint_eq(r.n, want);
		for (size_t k = 0; k < 3; k++)
			check_rec_i(&r, k, k);
		ck_assert_uint_eq(rep.torn_bytes, torn ? cut - prev_end : 0);
		if (torn) {
			ck_assert_uint_eq(rep.torn_offset, prev_end);
			ck_assert_ptr_nonnull(strstr(rep.msg, "torn tail"));
			/* the server adds its own "journal: " prefix */
			ck_assert_int_eq(strncmp(rep.msg, "cut a torn tail", 15), 0);
		}
		ck_assert_uint_eq((size_t)file_size(file_in(dir, "journal")),
				  torn ? prev_end : cut);
		ck_assert_str_eq(srv_journal_epoch(&j), epoch);
		/* appending after the cut works and reads back */
		append_i(&j, 9);
		ck_assert_int_eq(srv_journal_commit(&j), 0);
		ck_assert_int_eq(srv_journal_close(&j), 0);
		recs_free(&r);
		ck_assert_int_eq(reopen(&j, dir, &fk, false, &r, &rep), 0);
		ck_assert_uint_eq(rep.torn_bytes, 0);
		ck_assert_uint_eq(r.n, want + 1);
		check_rec_i(&r, want, 9);
		srv_journal_close(&j);
		recs_free(&r);
		rm_tree(dir);
	}
	free(full);
}
END_TEST

/* Cutting inside the HEADER record is never a torn tail: corruption. */
START_TEST(test_header_cut_is_corrupt)
{
	const char *src = path_in("src");
	uint8_t *full;
	size_t full_len, hdr_len;
	struct srv_journal j;
	struct srv_journal_report rep;
	struct srv_journal_scan sc;
	struct recs r = { 0 };
	struct fake_io fk;

	build(src, 1, 1, NULL);
	full = read_file(file_in(src, "journal"), &full_len);
	hdr_len = full_len - SRV_JOURNAL_FRAME_HDR - len_of(0);
	memset(&fk, 0, sizeof(fk));
	fk.skip_sync = true;
	for (size_t cut = 0; cut < hdr_len; cut++) {
		const char *dir = path_in("cut");
		ck_assert_int_eq(mkdir(dir, 0700), 0);
		write_file(file_in(dir, "journal"), full, cut);
		scan_both_agree(full, cut, &sc);
		ck_assert_int_eq(sc.verdict, SRV_JOURNAL_CORRUPT);
		ck_assert_uint_eq(sc.good_end, 0);
		ck_assert_int_eq(reopen(&j, dir, &fk, false, &r, &rep),
				 COLLAB_ECORRUPT);
		ck_assert_ptr_nonnull(strstr(rep.msg, "offset 0"));
		ck_assert_uint_eq((size_t)file_size(file_in(dir, "journal")), cut);
		rm_tree(dir);
	}
	free(full);
}
END_TEST

/* ---- zero-filled tails ------------------------------------------------ */

static const size_t zero_lens[] = { 1, 12, 13, 14, 300, 4096, 10000 };

START_TEST(test_zero_tail)
{
	const char *src = path_in("src");
	const char *dir = path_in("z");
	size_t zl = zero_lens[_i], full_len;
	uint8_t *full, *buf;
	struct srv_journal j;
	struct srv_journal_report rep;
	struct srv_journal_scan sc;
	struct recs r = { 0 };
	uint64_t offs[4];

	build(src, 3, 3, offs);
	full = read_file(file_in(src, "journal"), &full_len);
	buf = calloc(1, full_len + zl + 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, full, full_len);

	/* sound journal + zeros: torn (T4, or T1 below 13 bytes) */
	scan_both_agree(buf, full_len + zl, &sc);
	ck_assert_int_eq(sc.verdict, SRV_JOURNAL_TORN);
	ck_assert_uint_eq(sc.good_end, full_len);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	write_file(file_in(dir, "journal"), buf, full_len + zl);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), 0);
	ck_assert_uint_eq(rep.torn_bytes, zl);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_uint_eq((size_t)file_size(file_in(dir, "journal")), full_len);
	srv_journal_close(&j);
	recs_free(&r);

	/* the last record's payload zeroed from its middle on, and zeros
	 * after it: torn (T3) at that record */
	if (len_of(2) > 1) {
		size_t mid = (size_t)offs[2] + SRV_JOURNAL_FRAME_HDR + len_of(2) / 2;
		memset(buf + mid, 0, full_len - mid);
		scan_both_agree(buf, full_len + zl, &sc);
		ck_assert_int_eq(sc.verdict, SRV_JOURNAL_TORN);
		ck_assert_uint_eq(sc.good_end, offs[2]);
		memcpy(buf, full, full_len);
	}
	/* the last record's frame header half zero, zeros after: torn (T4) */
	memset(buf + offs[2] + 5, 0, full_len - (size_t)offs[2] - 5);
	scan_both_agree(buf, full_len + zl, &sc);
	ck_assert_int_eq(sc.verdict, SRV_JOURNAL_TORN);
	ck_assert_uint_eq(sc.good_end, offs[2]);
	memcpy(buf, full, full_len);

	/* zeros and then one non-zero byte: corruption */
	buf[full_len + zl] = 1;
	scan_both_agree(buf, full_len + zl + 1, &sc);
	/* up to 13 bytes: an incomplete header (T1) or a bad one with
	 * nothing after it (T4) */
	ck_assert_int_eq(sc.verdict, zl + 1 <= SRV_JOURNAL_FRAME_HDR
				     ? SRV_JOURNAL_TORN : SRV_JOURNAL_CORRUPT);
	ck_assert_uint_eq(sc.good_end, full_len);
	free(buf);
	free(full);
}
END_TEST

/* ---- corruption ------------------------------------------------------- */

/* Byte offsets within a frame to damage: each field's first and last byte
 * and the payload's first, middle and last. */
struct field {
	const char *name;
	size_t at;       /* offset in the frame; SIZE_MAX-k: from the end */
};
static const struct field fields[] = {
	{ "length lsb", 0 }, { "length msb", 3 },
	{ "crc lsb", 4 }, { "crc msb", 7 },
	{ "type", 8 },
	{ "hcrc lsb", 9 }, { "hcrc msb", 12 },
	{ "payload first", 13 }, { "payload middle", 13 + 150 },
	{ "payload last", 13 + 299 },
};

START_TEST(test_corrupt_middle)
{
	const struct field *fd = &fields[_i / 2];
	uint8_t bit = _i % 2 ? 0x80 : 0x01;
	const char *src = path_in("src"), *dir = path_in("c");
	uint8_t pl[300], *full, *moved;
	size_t full_len, moved_len;
	uint64_t mid_off, at;
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_report rep;
	struct srv_journal_scan sc;
	struct recs r = { 0 };
	char want[64], moved_path[600];

	/* records: 0, 1, then the 300-byte middle one, then 3, 4 */
	cfg_for(&cfg, src, NULL);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	append_i(&j, 0);
	append_i(&j, 1);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	mid_off = j.end;
	payload_of(2, pl, sizeof(pl));
	ck_assert_int_eq(srv_journal_append(&j, T_APP, pl, sizeof(pl)), 0);
	append_i(&j, 3);
	append_i(&j, 4);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	srv_journal_close(&j);
	full = read_file(file_in(src, "journal"), &full_len);

	at = mid_off + fd->at;
	full[at] ^= bit;
	scan_both_agree(full, full_len, &sc);
	ck_assert_msg(sc.verdict == SRV_JOURNAL_CORRUPT, "%s: %s", fd->name,
		      srv_journal_verdict_name(sc.verdict));
	ck_assert_uint_eq(sc.good_end, mid_off);
	ck_assert_uint_eq(sc.records, 3);

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	write_file(file_in(dir, "journal"), full, full_len);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), COLLAB_ECORRUPT);
	(void)snprintf(want, sizeof(want), "corrupt at offset %llu",
		 (unsigned long long)mid_off);
	ck_assert_msg(strstr(rep.msg, want) != NULL, "%s", rep.msg);
	ck_assert_uint_eq(rep.corrupt_offset, mid_off);
	/* refused without touching the file */
	ck_assert_uint_eq((size_t)file_size(file_in(dir, "journal")), full_len);
	recs_free(&r);

	/* repair keeps the prefix and moves the rest aside */
	ck_assert_int_eq(reopen(&j, dir, NULL, true, &r, &rep), 0);
	ck_assert(rep.repaired);
	ck_assert(!rep.created);
	ck_assert_uint_eq(rep.corrupt_offset, mid_off);
	ck_assert_uint_eq(rep.moved_bytes, full_len - mid_off);
	ck_assert_ptr_nonnull(strstr(rep.msg, "REPAIRED"));
	ck_assert_int_eq(strncmp(rep.moved_to, "journal.corrupt-", 16), 0);
	ck_assert_uint_eq(r.n, 2);
	check_rec_i(&r, 0, 0);
	check_rec_i(&r, 1, 1);
	ck_assert_uint_eq((uint64_t)file_size(file_in(dir, "journal")), mid_off);
	(void)snprintf(moved_path, sizeof(moved_path), "%s/%s", dir, rep.moved_to);
	moved = read_file(moved_path, &moved_len);
	ck_assert_uint_eq(moved_len, full_len - mid_off);
	ck_assert(memcmp(moved, full + mid_off, moved_len) == 0);
	free(moved);
	append_i(&j, 5);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	srv_journal_close(&j);
	recs_free(&r);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), 0);
	ck_assert_uint_eq(r.n, 3);
	check_rec_i(&r, 2, 5);
	srv_journal_close(&j);
	recs_free(&r);
	free(full);
}
END_TEST

/* Damage in the HEADER: refused; repair moves everything aside and makes
 * a new journal with a new epoch. */
START_TEST(test_corrupt_header_repair)
{
	const char *dir = path_in("data");
	uint8_t *full;
	size_t full_len;
	struct srv_journal j;
	struct srv_journal_report rep;
	struct recs r = { 0 };
	char epoch[SRV_JOURNAL_EPOCH_LEN + 1];

	build(dir, 3, 3, NULL);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), 0);
	memcpy(epoch, srv_journal_epoch(&j), sizeof(epoch));
	srv_journal_close(&j);
	recs_free(&r);
	full = read_file(file_in(dir, "journal"), &full_len);
	full[20] ^= 0x04;         /* inside the HEADER's JSON */
	write_file(file_in(dir, "journal"), full, full_len);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), COLLAB_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(rep.msg, "offset 0"));
	ck_assert_int_eq(reopen(&j, dir, NULL, true, &r, &rep), 0);
	ck_assert(rep.repaired && rep.created);
	ck_assert_uint_eq(rep.moved_bytes, full_len);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_str_ne(srv_journal_epoch(&j), epoch);
	ck_assert_ptr_nonnull(strstr(rep.msg, "new epoch"));
	srv_journal_close(&j);
	free(full);
}
END_TEST

/* Hand-made files: an empty journal, a foreign format, type 0, a HEADER
 * in the middle, a first record that is not a HEADER, a record above
 * max_record. */
static size_t make_header(uint8_t *out, const char *json)
{
	size_t w;
	ck_assert_int_eq(srv_journal_frame(SRV_JOURNAL_TYPE_HEADER, json,
					   strlen(json), out, 400, &w), 0);
	return w;
}

#define GOOD_HDR "{\"format\":1,\"epoch\":\"919108f7-52d1-4320-9bac-f847db4148a8\",\"createdAt\":5}"

START_TEST(test_bad_files)
{
	const char *dir = path_in("data");
	uint8_t buf[1200];
	size_t n, w;
	struct srv_journal j;
	struct srv_journal_report rep;
	struct srv_journal_scan sc;
	struct srv_journal_config cfg;
	struct recs r = { 0 };

	ck_assert_int_eq(mkdir(dir, 0700), 0);

	/* empty file: corrupt; repair makes a new journal */
	write_file(file_in(dir, "journal"), buf, 0);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), COLLAB_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(rep.msg, "empty"));
	ck_assert_int_eq(reopen(&j, dir, NULL, true, &r, &rep), 0);
	ck_assert(rep.created && rep.repaired);
	srv_journal_close(&j);

	/* format 2: unsupported, never repaired */
	n = make_header(buf, "{\"format\":2,\"epoch\":\"x\"}");
	write_file(file_in(dir, "journal"), buf, n);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), COLLAB_EPROTO);
	ck_assert_ptr_nonnull(strstr(rep.msg, "format 2"));
	ck_assert_int_eq(reopen(&j, dir, NULL, true, &r, &rep), COLLAB_EPROTO);
	ck_assert_uint_eq((size_t)file_size(file_in(dir, "journal")), n);
	scan_both_agree(buf, n, &sc);
	ck_assert_int_eq(sc.verdict, SRV_JOURNAL_UNSUPPORTED);

	/* header payload problems: not JSON, no epoch, bad epoch, no
	 * createdAt, not an object, format not an integer */
	{
		static const char *bad[] = {
			"{\"format\":1,", "{\"format\":1,\"createdAt\":5}",
			"{\"format\":1,\"epoch\":\"nope\",\"createdAt\":5}",
			"{\"format\":1,\"epoch\":\"919108f7-52d1-4320-9bac-f847db4148a8\"}",
			"[1]", "{\"format\":\"1\"}",
		};
		for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
			n = make_header(buf, bad[i]);
			scan_both_agree(buf, n, &sc);
			ck_assert_msg(sc.verdict == SRV_JOURNAL_CORRUPT, "%s", bad[i]);
			ck_assert(!sc.header_ok);
		}
	}
	/* a good header with extra members is fine */
	n = make_header(buf, "{\"format\":1,\"epoch\":\"919108f7-52d1-4320-9bac-"
			"f847db4148a8\",\"createdAt\":5,\"compactedAt\":6,\"x\":[1]}");
	scan_both_agree(buf, n, &sc);
	ck_assert_int_eq(sc.verdict, SRV_JOURNAL_SOUND);

	/* type 0 with valid checksums */
	n = make_header(buf, GOOD_HDR);
	ck_assert_int_eq(srv_journal_frame(T_APP, "ab", 2, buf + n, 100, &w), 0);
	{
		/* the framer refuses type 0: patch the type and recompute
		 * both checksums by hand */
		uint8_t *f = buf + n;
		uint32_t c;
		f[8] = 0;
		c = srv_crc32c(0, f + 8, 3);
		f[4] = (uint8_t)c; f[5] = (uint8_t)(c >> 8);
		f[6] = (uint8_t)(c >> 16); f[7] = (uint8_t)(c >> 24);
		c = srv_crc32c(0, f, 9);
		f[9] = (uint8_t)c; f[10] = (uint8_t)(c >> 8);
		f[11] = (uint8_t)(c >> 16); f[12] = (uint8_t)(c >> 24);
	}
	scan_both_agree(buf, n + w, &sc);
	ck_assert_int_eq(sc.verdict, SRV_JOURNAL_CORRUPT);
	ck_assert_uint_eq(sc.good_end, n);
	ck_assert_ptr_nonnull(strstr(sc.reason, "type 0"));

	/* a second HEADER */
	n = make_header(buf, GOOD_HDR);
	n += make_header(buf + n, GOOD_HDR);
	scan_both_agree(buf, n, &sc);
	ck_assert_int_eq(sc.verdict, SRV_JOURNAL_CORRUPT);
	ck_assert_ptr_nonnull(strstr(sc.reason, "after offset 0"));

	/* first record not a HEADER */
	ck_assert_int_eq(srv_journal_frame(T_APP, GOOD_HDR, strlen(GOOD_HDR), buf,
					   400, &w), 0);
	scan_both_agree(buf, w, &sc);
	ck_assert_int_eq(sc.verdict, SRV_JOURNAL_CORRUPT);
	ck_assert_uint_eq(sc.good_end, 0);

	/* a record longer than max_record (as the reader is configured) */
	n = make_header(buf, GOOD_HDR);
	memset(buf + 600, 'a', 500);
	ck_assert_int_eq(srv_journal_frame(T_APP, buf + 600, 500, buf + n, 600,
					   &w), 0);
	srv_journal_config_init(&cfg);
	cfg.max_record = 499;
	ck_assert_int_eq(srv_journal_scan_mem(buf, n + w, &cfg, NULL, NULL, &sc), 0);
	ck_assert_int_eq(sc.verdict, SRV_JOURNAL_CORRUPT);
	ck_assert_ptr_nonnull(strstr(sc.reason, "max_record"));
	cfg.max_record = 500;
	ck_assert_int_eq(srv_journal_scan_mem(buf, n + w, &cfg, NULL, NULL, &sc), 0);
	ck_assert_int_eq(sc.verdict, SRV_JOURNAL_SOUND);
	ck_assert_uint_eq(sc.records, 2);
}
END_TEST

/* The scanner's window: every read size from 1 byte gives the same scan,
 * with a record far larger than the window. */
START_TEST(test_scan_windows)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_scan sc, ref;
	uint8_t *big = malloc(100000), *full;
	size_t full_len;
	int fd;

	ck_assert_ptr_nonnull(big);
	memset(big, 'b', 100000);
	cfg_for(&cfg, dir, NULL);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	append_i(&j, 1);
	ck_assert_int_eq(srv_journal_append(&j, T_APP, big, 100000), 0);
	append_i(&j, 2);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	srv_journal_close(&j);
	full = read_file(file_in(dir, "journal"), &full_len);
	full[full_len - 1] ^= 1;    /* a torn last record, to classify too */
	write_file(file_in(dir, "journal"), full, full_len);
	ck_assert_int_eq(srv_journal_scan_mem(full, full_len, NULL, NULL, NULL,
					      &ref), 0);
	ck_assert_int_eq(ref.verdict, SRV_JOURNAL_TORN);
	ck_assert_uint_eq(ref.records, 3);
	fd = open(file_in(dir, "journal"), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	for (size_t win = 1; win <= 64; win++) {
		srv_journal_config_init(&cfg);
		cfg.read_buffer = win;
		struct recs r = { 0 };
		ck_assert_int_eq(srv_journal_scan_fd(fd, &cfg, collect, &r, &sc), 0);
		ck_assert_int_eq(sc.verdict, ref.verdict);
		ck_assert_uint_eq(sc.good_end, ref.good_end);
		ck_assert_uint_eq(sc.records, ref.records);
		ck_assert_uint_eq(r.n, 3);
		ck_assert_uint_eq(r.v[2].len, 100000);
		ck_assert(memcmp(r.v[2].p, big, 100000) == 0);
		recs_free(&r);
	}
	(void)close(fd);
	ck_assert_int_eq(srv_journal_scan_fd(-1, NULL, NULL, NULL, &sc),
			 COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_scan_mem(NULL, 1, NULL, NULL, NULL, &sc),
			 COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_scan_mem(NULL, 0, NULL, NULL, NULL, &sc), 0);
	ck_assert_int_eq(sc.verdict, SRV_JOURNAL_CORRUPT);
	ck_assert_str_eq(srv_journal_verdict_name(SRV_JOURNAL_TORN), "torn");
	free(big);
	free(full);
}
END_TEST

/* ---- group commit and durability modes -------------------------------- */

START_TEST(test_group_commit_one_sync)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_stats st;
	struct fake_io fk;
	long w0, s0, f0;

	memset(&fk, 0, sizeof(fk));
	cfg_for(&cfg, dir, &fk);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	w0 = fk.pwrites;
	s0 = fk.fdatasyncs;
	f0 = fk.fsyncs;
	for (size_t c = 0; c < 10; c++) {
		for (size_t i = 0; i < 50; i++)
			append_i(&j, c * 50 + i);
		ck_assert_int_eq(srv_journal_commit(&j), 0);
		ck_assert_int_eq(fk.pwrites - w0, (long)c + 1);
		ck_assert_int_eq(fk.fdatasyncs - s0, (long)c + 1);
	}
	/* an empty commit does nothing */
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	ck_assert_int_eq(fk.pwrites - w0, 10);
	ck_assert_int_eq(fk.fdatasyncs - s0, 10);
	ck_assert_int_eq(fk.fsyncs - f0, 0);
	srv_journal_stats(&j, &st);
	ck_assert_uint_eq(st.commits, 10);
	ck_assert_uint_eq(st.records_written, 500);
	ck_assert_uint_ge(st.syncs, 10);
	ck_assert_uint_ge(st.sync_ns_max, st.sync_ns_last);
	ck_assert_uint_ge(st.sync_ns_total, st.sync_ns_max);
	ck_assert_uint_eq(st.durable, st.size);
	/* discard drops a pending batch */
	append_i(&j, 1);
	srv_journal_stats(&j, &st);
	ck_assert_uint_eq(st.pending_records, 1);
	srv_journal_discard(&j);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	ck_assert_int_eq(fk.pwrites - w0, 10);
	ck_assert_int_eq(srv_journal_close(&j), 0);
}
END_TEST

START_TEST(test_relaxed_timing)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_stats st;
	struct fake_io fk;
	long s0;

	memset(&fk, 0, sizeof(fk));
	cfg_for(&cfg, dir, &fk);
	cfg.durability = SRV_JOURNAL_RELAXED;
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	s0 = fk.fdatasyncs;
	ck_assert_int_eq(srv_journal_tick(&j, 10000), 0);    /* starts the clock */
	append_i(&j, 1);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	ck_assert_int_eq(fk.fdatasyncs, s0);                 /* not in commit */
	srv_journal_stats(&j, &st);
	ck_assert_uint_lt(st.durable, st.size);
	ck_assert_int_eq(srv_journal_tick(&j, 10500), 0);
	ck_assert_int_eq(srv_journal_tick(&j, 10999), 0);
	ck_assert_int_eq(fk.fdatasyncs, s0);
	ck_assert_int_eq(srv_journal_tick(&j, 11000), 0);    /* 1 s: sync */
	ck_assert_int_eq(fk.fdatasyncs, s0 + 1);
	srv_journal_stats(&j, &st);
	ck_assert_uint_eq(st.durable, st.size);
	/* nothing unsynced: no sync, and the clock restarts */
	ck_assert_int_eq(srv_journal_tick(&j, 13000), 0);
	ck_assert_int_eq(fk.fdatasyncs, s0 + 1);
	append_i(&j, 2);
	append_i(&j, 3);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	append_i(&j, 4);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	ck_assert_int_eq(srv_journal_tick(&j, 13999), 0);
	ck_assert_int_eq(fk.fdatasyncs, s0 + 1);
	ck_assert_int_eq(srv_journal_tick(&j, 12000), 0);    /* clock went back */
	ck_assert_int_eq(fk.fdatasyncs, s0 + 1);
	ck_assert_int_eq(srv_journal_tick(&j, 14000), 0);    /* one sync, two commits */
	ck_assert_int_eq(fk.fdatasyncs, s0 + 2);

	/* a failed sync drops what was unsynced: cut back, never retried */
	append_i(&j, 5);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	srv_journal_stats(&j, &st);
	arm(&fk.f_fdatasync, fk.fdatasyncs + 1, 1, EIO);
	ck_assert_int_eq(srv_journal_tick(&j, 15000), COLLAB_EIO);
	ck_assert_int_eq(fk.fdatasyncs, s0 + 3);
	ck_assert_uint_eq(fk.last_truncate, st.durable);
	ck_assert_uint_eq((uint64_t)file_size(file_in(dir, "journal")), st.durable);
	ck_assert_ptr_nonnull(strstr(srv_journal_message(&j), "fdatasync failed"));
	ck_assert(srv_journal_writable(&j));
	ck_assert_int_eq(srv_journal_tick(&j, 20000), 0);    /* nothing to sync */
	ck_assert_int_eq(fk.fdatasyncs, s0 + 3);

	/* close syncs what is pending in RELAXED mode */
	append_i(&j, 6);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	ck_assert_int_eq(srv_journal_close(&j), 0);
	ck_assert_int_eq(fk.fdatasyncs, s0 + 4);
	{
		struct recs r = { 0 };
		ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, NULL), 0);
		ck_assert_uint_eq(r.n, 5);
		check_rec_i(&r, 0, 1);
		check_rec_i(&r, 3, 4);
		check_rec_i(&r, 4, 6);
		recs_free(&r);
		srv_journal_close(&j);
	}
}
END_TEST

/* RELAXED: a failed timer sync that cuts committed batches counts their
 * bytes in dropped_committed (the caller must rewrite from memory); a
 * STRICT commit whose sync fails drops only its own batch. */
START_TEST(test_dropped_committed)
{
	const char *dir = path_in("data"), *dir2 = path_in("data2");
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_stats st, st2;
	struct fake_io fk;

	memset(&fk, 0, sizeof(fk));
	cfg_for(&cfg, dir, &fk);
	cfg.durability = SRV_JOURNAL_RELAXED;
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	ck_assert_int_eq(srv_journal_tick(&j, 1000), 0);
	append_i(&j, 1);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	append_i(&j, 2);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	srv_journal_stats(&j, &st);
	ck_assert_uint_eq(st.dropped_committed, 0);
	arm(&fk.f_fdatasync, fk.fdatasyncs + 1, 1, EIO);
	ck_assert_int_eq(srv_journal_tick(&j, 3000), COLLAB_EIO);
	srv_journal_stats(&j, &st2);
	ck_assert_uint_eq(st2.dropped_committed, st.size - st.durable);
	ck_assert_uint_eq(st2.size, st.durable);
	ck_assert(st2.writable);
	srv_journal_close(&j);

	memset(&fk, 0, sizeof(fk));
	cfg_for(&cfg, dir2, &fk);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	append_i(&j, 1);
	arm(&fk.f_fdatasync, fk.fdatasyncs + 1, 1, EIO);
	ck_assert_int_eq(srv_journal_commit(&j), COLLAB_EIO);
	srv_journal_stats(&j, &st);
	ck_assert_uint_eq(st.dropped_committed, 0);
	ck_assert(st.writable);
	/* the caller's verdict: FAILED */
	srv_journal_set_failed(&j, "test reason");
	ck_assert(!srv_journal_writable(&j));
	ck_assert_ptr_nonnull(strstr(srv_journal_message(&j), "JOURNAL FAILED"));
	ck_assert_ptr_nonnull(strstr(srv_journal_message(&j), "test reason"));
	ck_assert_int_eq(srv_journal_append(&j, T_APP, "x", 1), COLLAB_EIO);
	srv_journal_stats(&j, &st);
	ck_assert(!st.writable);
	srv_journal_close(&j);
	srv_journal_set_failed(&j, NULL);     /* not open: no-op */
}
END_TEST

START_TEST(test_none_never_syncs)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_stats st;
	struct fake_io fk;
	long s0, f0;

	memset(&fk, 0, sizeof(fk));
	cfg_for(&cfg, dir, &fk);
	cfg.durability = SRV_JOURNAL_NONE;
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	s0 = fk.fdatasyncs;
	f0 = fk.fsyncs;
	for (uint64_t t = 0; t < 100; t++) {
		append_i(&j, (size_t)t);
		ck_assert_int_eq(srv_journal_commit(&j), 0);
		ck_assert_int_eq(srv_journal_tick(&j, t * 1000), 0);
	}
	srv_journal_stats(&j, &st);
	ck_assert_uint_eq(st.commits, 100);
	ck_assert_int_eq(srv_journal_close(&j), 0);
	ck_assert_int_eq(fk.fdatasyncs, s0);
	ck_assert_int_eq(fk.fsyncs, f0);
	{
		struct recs r = { 0 };
		ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, NULL), 0);
		ck_assert_uint_eq(r.n, 100);
		recs_free(&r);
		/* an explicit sync works in any mode */
		append_i(&j, 1);
		ck_assert_int_eq(srv_journal_commit(&j), 0);
		ck_assert_int_eq(srv_journal_sync(&j), 0);
		srv_journal_close(&j);
	}
}
END_TEST

/* ---- failures ---------------------------------------------------------- */

/* _i: 0 ENOSPC, 1 EIO, 2 short write then ENOSPC, 3 EFBIG */
START_TEST(test_write_failure)
{
	static const int errs[] = { ENOSPC, EIO, ENOSPC, EFBIG };
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_stats st;
	struct fake_io fk;
	struct recs r = { 0 };
	uint64_t a_end;
	long s0;

	memset(&fk, 0, sizeof(fk));
	cfg_for(&cfg, dir, &fk);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	append_i(&j, 1);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	srv_journal_stats(&j, &st);
	a_end = st.size;
	s0 = fk.fdatasyncs;

	arm(&fk.f_pwrite, fk.pwrites + 1, 2, errs[_i]);
	fk.short_bytes = _i == 2 ? 20 : 0;
	for (size_t i = 0; i < 5; i++)
		append_i(&j, 100 + i);
	ck_assert_int_eq(srv_journal_commit(&j), COLLAB_EIO);
	ck_assert_str_ne(srv_journal_message(&j), "");
	ck_assert_ptr_nonnull(strstr(srv_journal_message(&j), strerror(errs[_i])));
	ck_assert_uint_eq(fk.last_truncate, a_end);
	ck_assert_uint_eq((uint64_t)file_size(file_in(dir, "journal")), a_end);
	ck_assert_int_eq(fk.fdatasyncs, s0);      /* nothing synced for it */
	srv_journal_stats(&j, &st);
	ck_assert_uint_eq(st.size, a_end);
	ck_assert_uint_eq(st.pending_bytes, 0);
	ck_assert_uint_eq(st.commit_failures, 1);
	ck_assert(st.writable);

	/* space returns: the next commit works, at the old end */
	fk.f_pwrite.at = 0;
	append_i(&j, 2);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	ck_assert_uint_eq(fk.last_pwrite_off, a_end);
	srv_journal_close(&j);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, NULL), 0);
	ck_assert_uint_eq(r.n, 2);
	check_rec_i(&r, 0, 1);
	check_rec_i(&r, 1, 2);
	recs_free(&r);
	srv_journal_close(&j);
}
END_TEST

START_TEST(test_fsync_failure_not_retried)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_stats st;
	struct fake_io fk;
	struct recs r = { 0 };
	uint64_t a_end, good_syncs;
	long s0, w0;

	memset(&fk, 0, sizeof(fk));
	cfg_for(&cfg, dir, &fk);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	append_i(&j, 1);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	a_end = j.end;
	s0 = fk.fdatasyncs;
	w0 = fk.pwrites;
	srv_journal_stats(&j, &st);
	good_syncs = st.syncs;

	arm(&fk.f_fdatasync, fk.fdatasyncs + 1, 1, EIO);
	append_i(&j, 50);
	append_i(&j, 51);
	ck_assert_int_eq(srv_journal_commit(&j), COLLAB_EIO);
	/* exactly one fdatasync: the failed one; then cut + fsync */
	ck_assert_int_eq(fk.fdatasyncs, s0 + 1);
	ck_assert_uint_eq(fk.last_truncate, a_end);
	ck_assert_uint_eq((uint64_t)file_size(file_in(dir, "journal")), a_end);
	ck_assert_ptr_nonnull(strstr(srv_journal_message(&j), "fdatasync failed"));
	ck_assert_ptr_nonnull(strstr(srv_journal_message(&j), "2 records rejected"));
	srv_journal_stats(&j, &st);
	ck_assert_uint_eq(st.sync_failures, 1);
	ck_assert_uint_eq(st.syncs, good_syncs);     /* successes only */
	ck_assert_uint_eq(st.size, a_end);
	ck_assert(st.writable);
	/* an empty commit syncs nothing (no blind retry) */
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	ck_assert_int_eq(srv_journal_sync(&j), 0);
	ck_assert_int_eq(fk.fdatasyncs, s0 + 1);
	/* the next batch is written again from the durable offset */
	append_i(&j, 2);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	ck_assert_int_eq(fk.pwrites, w0 + 2);
	ck_assert_uint_eq(fk.last_pwrite_off, a_end);
	ck_assert_int_eq(fk.fdatasyncs, s0 + 2);
	srv_journal_close(&j);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, NULL), 0);
	ck_assert_uint_eq(r.n, 2);
	check_rec_i(&r, 1, 2);
	recs_free(&r);
	srv_journal_close(&j);
}
END_TEST

/* The cut itself fails: FAILED state. _i: 0 fdatasync fails then
 * ftruncate fails; 1 fdatasync fails then fsync fails; 2 write fails then
 * ftruncate fails; 3 write fails then fsync fails. */
START_TEST(test_failed_state)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_compact c;
	struct srv_journal_config cfg;
	struct srv_journal_stats st;
	struct fake_io fk;

	memset(&fk, 0, sizeof(fk));
	cfg_for(&cfg, dir, &fk);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	append_i(&j, 1);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	if (_i < 2)
		arm(&fk.f_fdatasync, fk.fdatasyncs + 1, 1, EIO);
	else
		arm(&fk.f_pwrite, fk.pwrites + 1, 1, ENOSPC);
	if (_i % 2 == 0)
		arm(&fk.f_ftruncate, fk.ftruncates + 1, 1000, EIO);
	else
		arm(&fk.f_fsync, fk.fsyncs + 1, 1000, EIO);
	append_i(&j, 2);
	ck_assert_int_eq(srv_journal_commit(&j), COLLAB_EIO);
	ck_assert(!srv_journal_writable(&j));
	ck_assert_ptr_nonnull(strstr(srv_journal_message(&j), "JOURNAL FAILED"));
	srv_journal_stats(&j, &st);
	ck_assert(!st.writable);
	/* everything that writes now fails, quietly and without I/O */
	{
		long w = fk.pwrites, s = fk.fdatasyncs;
		ck_assert_int_eq(srv_journal_append(&j, T_APP, "x", 1), COLLAB_EIO);
		ck_assert_int_eq(srv_journal_commit(&j), COLLAB_EIO);
		ck_assert_int_eq(srv_journal_sync(&j), COLLAB_EIO);
		ck_assert_int_eq(srv_journal_tick(&j, 99999), 0);
		ck_assert_int_eq(srv_journal_compact_begin(&j, &c), COLLAB_EIO);
		ck_assert(!srv_journal_should_compact(&j, 0));
		ck_assert_int_eq(fk.pwrites, w);
		ck_assert_int_eq(fk.fdatasyncs, s);
	}
	srv_journal_close(&j);
	/* a restart recovers what was durable */
	{
		struct recs r = { 0 };
		ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, NULL), 0);
		ck_assert_uint_ge(r.n, 1);
		check_rec_i(&r, 0, 1);
		recs_free(&r);
		srv_journal_close(&j);
	}
}
END_TEST

/* A real RLIMIT_FSIZE in a child: the write fails with EFBIG (SIGXFSZ
 * ignored), the file is cut back, a later small commit succeeds. */
START_TEST(test_rlimit_fsize)
{
	const char *dir = path_in("data");
	pid_t child;
	int status;

	build(dir, 1, 1, NULL);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct srv_journal j;
		struct srv_journal_config cfg;
		struct rlimit rl;
		uint8_t big[8192];
		uint64_t end;

		cfg_for(&cfg, dir, NULL);
		if (srv_journal_open(&j, &cfg, NULL, NULL, NULL) != 0)
			_exit(10);
		end = j.end;
		if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR)
			_exit(17);
		rl.rlim_cur = rl.rlim_max = (rlim_t)(end + 1000);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(11);
		memset(big, 'z', sizeof(big));
		if (srv_journal_append(&j, T_APP, big, sizeof(big)) != 0)
			_exit(12);
		if (srv_journal_commit(&j) != COLLAB_EIO)
			_exit(13);
		if (strstr(srv_journal_message(&j), "File too large") == NULL)
			_exit(14);
		if ((uint64_t)file_size(file_in(dir, "journal")) != end ||
		    !srv_journal_writable(&j))
			_exit(15);
		append_i(&j, 2);          /* fits under the limit */
		if (srv_journal_commit(&j) != 0)
			_exit(16);
		srv_journal_close(&j);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status %d", status);
	{
		struct srv_journal j;
		struct recs r = { 0 };
		ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, NULL), 0);
		ck_assert_uint_eq(r.n, 2);
		check_rec_i(&r, 0, 0);
		check_rec_i(&r, 1, 2);
		recs_free(&r);
		srv_journal_close(&j);
	}
}
END_TEST

/* ---- compaction -------------------------------------------------------- */

START_TEST(test_compaction_equivalence)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_compact c;
	struct srv_journal_config cfg;
	struct srv_journal_stats st;
	struct srv_journal_scan sc;
	struct recs r = { 0 };
	char epoch[SRV_JOURNAL_EPOCH_LEN + 1];
	uint64_t before;
	int fd;

	cfg_for(&cfg, dir, NULL);
	cfg.compact_buffer = 4096;      /* several flushes */
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	memcpy(epoch, srv_journal_epoch(&j), sizeof(epoch));
	for (size_t i = 0; i < 1000; i++) {
		append_i(&j, i);
		if (i % 10 == 9)
			ck_assert_int_eq(srv_journal_commit(&j), 0);
	}
	srv_journal_stats(&j, &st);
	before = st.size;
	/* the "live state": every tenth record */
	ck_assert_int_eq(srv_journal_compact_begin(&j, &c), 0);
	ck_assert(exists(file_in(dir, "journal.compact")));
	ck_assert_int_eq(srv_journal_append(&j, T_APP, "x", 1), COLLAB_ESTATE);
	ck_assert_int_eq(srv_journal_commit(&j), COLLAB_ESTATE);
	ck_assert_int_eq(srv_journal_compact_begin(&j, &c), COLLAB_ESTATE);
	for (size_t i = 0; i < 1000; i += 10) {
		uint8_t buf[601];
		payload_of(i, buf, len_of(i));
		ck_assert_int_eq(srv_journal_compact_append(&c, T_APP, buf,
							    len_of(i)), 0);
	}
	ck_assert_int_eq(srv_journal_compact_append(&c, 1, "x", 1), COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_compact_commit(&c), 0);
	ck_assert(!exists(file_in(dir, "journal.compact")));
	srv_journal_stats(&j, &st);
	ck_assert_uint_eq(st.compactions, 1);
	ck_assert_uint_lt(st.size, before);
	ck_assert_uint_eq(st.size, st.durable);
	ck_assert_uint_eq(st.records, 101);
	ck_assert_uint_eq(st.compact_bytes_last, st.size);
	ck_assert_uint_gt(st.compact_ns_last, 0);
	ck_assert_str_eq(srv_journal_epoch(&j), epoch);
	/* appends continue on the new file */
	append_i(&j, 5000);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	ck_assert_uint_eq((uint64_t)file_size(file_in(dir, "journal")), j.end);
	srv_journal_close(&j);

	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, NULL), 0);
	ck_assert_str_eq(srv_journal_epoch(&j), epoch);
	ck_assert_uint_eq(r.n, 101);
	for (size_t k = 0; k < 100; k++)
		check_rec_i(&r, k, k * 10);
	check_rec_i(&r, 100, 5000);
	recs_free(&r);
	srv_journal_close(&j);
	/* the new HEADER keeps createdAt and adds compactedAt */
	fd = open(file_in(dir, "journal"), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(srv_journal_scan_fd(fd, NULL, collect, &r, &sc), 0);
	(void)close(fd);
	ck_assert_int_eq(sc.verdict, SRV_JOURNAL_SOUND);
	ck_assert_str_eq(sc.epoch, epoch);
	ck_assert_ptr_nonnull(memmem(r.v[0].p, r.v[0].len, "\"compactedAt\":", 14));
	recs_free(&r);
}
END_TEST

/* A compaction under a new epoch: the epoch and createdAt change only
 * once it commits, and stay after a reopen. */
START_TEST(test_compaction_new_epoch)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_compact c;
	struct srv_journal_config cfg;
	struct fake_io fk;
	struct recs r = { 0 };
	char epoch[SRV_JOURNAL_EPOCH_LEN + 1], e2[SRV_JOURNAL_EPOCH_LEN + 1];
	uint8_t buf[601];

	memset(&fk, 0, sizeof(fk));
	cfg_for(&cfg, dir, &fk);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	memcpy(epoch, srv_journal_epoch(&j), sizeof(epoch));
	append_i(&j, 1);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	/* a failed one keeps the old epoch */
	ck_assert_int_eq(srv_journal_compact_begin_new_epoch(&j, &c), 0);
	ck_assert_str_eq(srv_journal_epoch(&j), epoch);
	arm(&fk.f_fdatasync, fk.fdatasyncs + 1, 1, EIO);
	ck_assert_int_eq(srv_journal_compact_commit(&c), COLLAB_EIO);
	ck_assert_str_eq(srv_journal_epoch(&j), epoch);
	ck_assert(srv_journal_writable(&j));
	/* then one that commits */
	ck_assert_int_eq(srv_journal_compact_begin_new_epoch(&j, &c), 0);
	payload_of(1, buf, len_of(1));
	ck_assert_int_eq(srv_journal_compact_append(&c, T_APP, buf, len_of(1)), 0);
	ck_assert_int_eq(srv_journal_compact_commit(&c), 0);
	memcpy(e2, srv_journal_epoch(&j), sizeof(e2));
	ck_assert_uint_eq(strlen(e2), SRV_JOURNAL_EPOCH_LEN);
	ck_assert_str_ne(e2, epoch);
	append_i(&j, 2);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	srv_journal_close(&j);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, NULL), 0);
	ck_assert_str_eq(srv_journal_epoch(&j), e2);
	ck_assert_uint_eq(r.n, 2);
	check_rec_i(&r, 0, 1);
	check_rec_i(&r, 1, 2);
	recs_free(&r);
	srv_journal_close(&j);
}
END_TEST

/* _i: 0 abort; 1 pwrite fails; 2 fdatasync fails; 3 sticky append error;
 * 4 directory fsync fails after the rename (FAILED, new file in place). */
START_TEST(test_compaction_failures)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_compact c;
	struct srv_journal_config cfg;
	struct fake_io fk;
	struct recs r = { 0 };
	int rc;

	memset(&fk, 0, sizeof(fk));
	cfg_for(&cfg, dir, &fk);
	cfg.max_record = 1000;
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	for (size_t i = 0; i < 20; i++)
		append_i(&j, i);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	/* a pending batch refuses compaction */
	append_i(&j, 20);
	ck_assert_int_eq(srv_journal_compact_begin(&j, &c), COLLAB_ESTATE);
	ck_assert_int_eq(srv_journal_commit(&j), 0);

	ck_assert_int_eq(srv_journal_compact_begin(&j, &c), 0);
	ck_assert_int_eq(srv_journal_compact_append(&c, T_APP, "live", 4), 0);
	switch (_i) {
	case 0:
		srv_journal_compact_abort(&c);
		srv_journal_compact_abort(&c);     /* twice is a no-op */
		break;
	case 1:
		arm(&fk.f_pwrite, fk.pwrites + 1, 1, ENOSPC);
		rc = srv_journal_compact_commit(&c);
		ck_assert_int_eq(rc, COLLAB_EIO);
		break;
	case 2:
		arm(&fk.f_fdatasync, fk.fdatasyncs + 1, 1, EIO);
		rc = srv_journal_compact_commit(&c);
		ck_assert_int_eq(rc, COLLAB_EIO);
		break;
	case 3: {
		static uint8_t big[1001];
		ck_assert_int_eq(srv_journal_compact_append(&c, T_APP, big, 1001),
				 COLLAB_ELIMIT);
		ck_assert_int_eq(srv_journal_compact_append(&c, T_APP, "y", 1),
				 COLLAB_ELIMIT);   /* sticky */
		rc = srv_journal_compact_commit(&c);
		ck_assert_int_eq(rc, COLLAB_ELIMIT);
		break;
	}
	default:
		arm(&fk.f_fsync, fk.fsyncs + 1, 1, EIO);
		rc = srv_journal_compact_commit(&c);
		ck_assert_int_eq(rc, COLLAB_EIO);
		ck_assert(!srv_journal_writable(&j));
		ck_assert_ptr_nonnull(strstr(srv_journal_message(&j),
					     "JOURNAL FAILED"));
		break;
	}
	ck_assert(!exists(file_in(dir, "journal.compact")));
	srv_journal_compact_abort(&c);            /* no-op after commit */
	if (_i < 4) {
		/* the old journal goes on */
		ck_assert(srv_journal_writable(&j));
		append_i(&j, 21);
		ck_assert_int_eq(srv_journal_commit(&j), 0);
	}
	srv_journal_close(&j);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, NULL), 0);
	if (_i < 4) {
		ck_assert_uint_eq(r.n, 22);
		check_rec_i(&r, 21, 21);
	} else {
		ck_assert_uint_eq(r.n, 1);
		ck_assert_uint_eq(r.v[0].len, 4);
	}
	recs_free(&r);
	srv_journal_close(&j);
}
END_TEST

/* A crash during compaction leaves journal.compact (complete or not)
 * beside the old journal: open deletes it and uses the old one. */
START_TEST(test_compaction_leftover)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_report rep;
	struct recs r = { 0 };
	uint8_t *full;
	size_t full_len;

	build(dir, 5, 2, NULL);
	full = read_file(file_in(dir, "journal"), &full_len);
	/* a complete-looking one (the same journal, but only 2 records) */
	write_file(file_in(dir, "journal.compact"), full, full_len / 2);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), 0);
	ck_assert(rep.leftover_removed);
	ck_assert(!exists(file_in(dir, "journal.compact")));
	ck_assert_uint_eq(r.n, 5);
	srv_journal_close(&j);
	recs_free(&r);
	/* a crash while creating: journal.compact and no journal */
	(void)unlink(file_in(dir, "journal"));
	write_file(file_in(dir, "journal.compact"), full, 7);
	ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, &rep), 0);
	ck_assert(rep.leftover_removed && rep.created);
	ck_assert_uint_eq(r.n, 0);
	srv_journal_close(&j);
	free(full);
}
END_TEST

START_TEST(test_should_compact)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_config cfg;
	uint8_t buf[1000];

	memset(buf, 1, sizeof(buf));
	cfg_for(&cfg, dir, NULL);
	cfg.compact_threshold = 5000;
	cfg.compact_ratio = 2;
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	ck_assert(!srv_journal_should_compact(&j, 0));
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(srv_journal_append(&j, T_APP, buf, sizeof(buf)), 0);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	ck_assert_uint_gt(j.end, 5000);
	ck_assert(srv_journal_should_compact(&j, 0));
	ck_assert(srv_journal_should_compact(&j, (j.end - 1) / 2));
	ck_assert(!srv_journal_should_compact(&j, j.end / 2 + 1));
	ck_assert(!srv_journal_should_compact(&j, UINT64_MAX));
	srv_journal_close(&j);
	ck_assert(!srv_journal_should_compact(&j, 0));
}
END_TEST

/* ---- argument checks --------------------------------------------------- */

START_TEST(test_api_errors)
{
	const char *dir = path_in("data");
	struct srv_journal j;
	struct srv_journal_config cfg;
	struct srv_journal_report rep;
	struct srv_journal_stats st;
	uint8_t *big;

	cfg_for(&cfg, NULL, NULL);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, &rep), COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_open(NULL, &cfg, NULL, NULL, &rep),
			 COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_open(&j, NULL, NULL, NULL, NULL), COLLAB_EINVAL);
	cfg.dir = dir;
	cfg.durability = (enum srv_journal_durability)7;
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), COLLAB_EINVAL);
	cfg_for(&cfg, dir, NULL);
	cfg.max_record = SRV_JOURNAL_MAX_RECORD_CAP + 1;
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), COLLAB_EINVAL);
	cfg_for(&cfg, path_in("no/such/parent"), NULL);
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, &rep), COLLAB_EIO);
	ck_assert_ptr_nonnull(strstr(rep.msg, "cannot create data directory"));
	/* not open */
	ck_assert_int_eq(srv_journal_append(&j, T_APP, "x", 1), COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_commit(&j), COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_sync(&j), COLLAB_EINVAL);
	ck_assert(!srv_journal_writable(&j));

	cfg_for(&cfg, dir, NULL);
	cfg.max_record = 100;
	cfg.max_batch = 300;
	/* io entries left NULL mean the real calls */
	memset(&cfg.io, 0, sizeof(cfg.io));
	ck_assert_int_eq(srv_journal_open(&j, &cfg, NULL, NULL, NULL), 0);
	big = calloc(1, 101);
	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(srv_journal_append(&j, 0, "x", 1), COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_append(&j, SRV_JOURNAL_TYPE_HEADER, "x", 1),
			 COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_append(&j, T_APP, NULL, 1), COLLAB_EINVAL);
	ck_assert_int_eq(srv_journal_append(&j, T_APP, big, 101), COLLAB_ELIMIT);
	ck_assert_int_eq(srv_journal_append(&j, T_APP, big, 100), 0);  /* max */
	ck_assert_int_eq(srv_journal_append(&j, T_APP, NULL, 0), 0);   /* empty */
	ck_assert_int_eq(srv_journal_append(&j, 255, big, 100), 0);
	/* the batch limit: 113 + 13 + 113 = 239; one more 100-byte record
	 * would pass 300 and leaves the batch as it was */
	ck_assert_int_eq(srv_journal_append(&j, T_APP, big, 100), COLLAB_ELIMIT);
	srv_journal_stats(&j, &st);
	ck_assert_uint_eq(st.pending_bytes, 239);
	ck_assert_uint_eq(st.pending_records, 3);
	ck_assert_int_eq(srv_journal_commit(&j), 0);
	srv_journal_close(&j);
	{
		struct recs r = { 0 };
		ck_assert_int_eq(reopen(&j, dir, NULL, false, &r, NULL), 0);
		ck_assert_uint_eq(r.n, 3);
		ck_assert_uint_eq(r.v[0].len, 100);
		ck_assert_uint_eq(r.v[1].len, 0);
		ck_assert_uint_eq(r.v[2].type, 255);
		recs_free(&r);
		srv_journal_close(&j);
	}
	free(big);
	ck_assert_int_eq(srv_journal_close(NULL), 0);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *f = tcase_create("format");
	TCase *rec = tcase_create("recovery");
	TCase *w = tcase_create("writing");
	TCase *c = tcase_create("compaction");

	tcase_add_checked_fixture(f, setup, teardown);
	tcase_add_test(f, test_frame_roundtrip);
	tcase_add_test(f, test_create_reopen);
	tcase_add_test(f, test_lock);
	tcase_add_test(f, test_roundtrip_thousands);
	tcase_add_test(f, test_callback_error);
	tcase_add_test(f, test_replay_failure_repair);
	tcase_add_test(f, test_api_errors);
	tcase_set_timeout(f, 120);
	suite_add_tcase(s, f);

	tcase_add_checked_fixture(rec, setup, teardown);
	tcase_add_loop_test(rec, test_torn_every_offset, 0,
			    (int)ARRAY_LEN(torn_last_len));
	tcase_add_test(rec, test_header_cut_is_corrupt);
	tcase_add_loop_test(rec, test_zero_tail, 0, (int)ARRAY_LEN(zero_lens));
	tcase_add_loop_test(rec, test_corrupt_middle, 0, 2 * (int)ARRAY_LEN(fields));
	tcase_add_test(rec, test_corrupt_header_repair);
	tcase_add_test(rec, test_bad_files);
	tcase_add_test(rec, test_scan_windows);
	tcase_set_timeout(rec, 300);
	suite_add_tcase(s, rec);

	tcase_add_checked_fixture(w, setup, teardown);
	tcase_add_test(w, test_group_commit_one_sync);
	tcase_add_test(w, test_relaxed_timing);
	tcase_add_test(w, test_dropped_committed);
	tcase_add_test(w, test_none_never_syncs);
	tcase_add_loop_test(w, test_write_failure, 0, 4);
	tcase_add_test(w, test_fsync_failure_not_retried);
	tcase_add_loop_test(w, test_failed_state, 0, 4);
	tcase_add_test(w, test_rlimit_fsize);
	tcase_set_timeout(w, 120);
	suite_add_tcase(s, w);

	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, test_compaction_equivalence);
	tcase_add_test(c, test_compaction_new_epoch);
	tcase_add_loop_test(c, test_compaction_failures, 0, 5);
	tcase_add_test(c, test_compaction_leftover);
	tcase_add_test(c, test_should_compact);
	tcase_set_timeout(c, 120);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(journal_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
