/*
 * journal.c - the journal's life: open (lock, create or recover, repair),
 * group commit, RELAXED syncing, failure handling, close. Framing and the
 * recovery scanner are in journal_scan.c, compaction in journal_compact.c.
 *
 * Offsets kept: end (where the next batch goes) and durable (synced up to
 * here). STRICT keeps them equal between commits. Every failure path ends
 * with the file cut back to an offset whose bytes are known good and that
 * cut made durable, or in the FAILED state; nothing ever retries an
 * fdatasync over data whose previous fdatasync failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collab/rand.h"
#include "collab/uuid.h"
#include "journal_int.h"

/* ---- default system calls -------------------------------------------- */

static ssize_t io_pwrite(void *ctx, int fd, const void *p, size_t n,
			 uint64_t off)
{
	(void)ctx;
	if (off > (uint64_t)INT64_MAX) {
		errno = EFBIG;
		return -1;
	}
	return pwrite(fd, p, n, (off_t)off);
}

static int io_fdatasync(void *ctx, int fd)
{
	(void)ctx;
	return fdatasync(fd);
}

static int io_fsync(void *ctx, int fd)
{
	(void)ctx;
	return fsync(fd);
}

static int io_ftruncate(void *ctx, int fd, uint64_t len)
{
	(void)ctx;
	if (len > (uint64_t)INT64_MAX) {
		errno = EFBIG;
		return -1;
	}
	return ftruncate(fd, (off_t)len);
}

void srv_journal_config_init(struct srv_journal_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dir = NULL;
	cfg->durability = SRV_JOURNAL_STRICT;
	cfg->repair = false;
	cfg->sync_interval_ms = SRV_JOURNAL_DEFAULT_SYNC_INTERVAL_MS;
	cfg->max_record = SRV_JOURNAL_DEFAULT_MAX_RECORD;
	cfg->max_batch = SRV_JOURNAL_DEFAULT_MAX_BATCH;
	cfg->read_buffer = SRV_JOURNAL_DEFAULT_READ_BUFFER;
	cfg->compact_buffer = SRV_JOURNAL_DEFAULT_COMPACT_BUFFER;
	cfg->compact_threshold = SRV_JOURNAL_DEFAULT_COMPACT_THRESHOLD;
	cfg->compact_ratio = SRV_JOURNAL_DEFAULT_COMPACT_RATIO;
	cfg->alloc = NULL;
	cfg->io.pwrite = io_pwrite;
	cfg->io.fdatasync = io_fdatasync;
	cfg->io.fsync = io_fsync;
	cfg->io.ftruncate = io_ftruncate;
	cfg->io.ctx = NULL;
}

/* ---- helpers shared with the other files ------------------------------- */

int srv_journal_int_write_all(const struct srv_journal_io *io, int fd,
			      const void *p, size_t n, uint64_t off)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t r = io->pwrite(io->ctx, fd, b, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		b += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

uint64_t srv_journal_int_mono_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t srv_journal_int_real_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void srv_journal_int_msg(struct srv_journal *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(j->msg, sizeof(j->msg), fmt, ap);
	va_end(ap);
}

void srv_journal_int_fail(struct srv_journal *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(j->msg, sizeof(j->msg), fmt, ap);
	va_end(ap);
	j->failed = true;
	j->st.writable = false;
}

/* fdatasync of the journal with its latency recorded; errno preserved. */
static int timed_sync(struct srv_journal *j)
{
	uint64_t t0 = srv_journal_int_mono_ns(), dt;
	int r = j->cfg.io.fdatasync(j->cfg.io.ctx, j->fd);
	int e = errno;

	dt = srv_journal_int_mono_ns() - t0;
	j->st.sync_ns_last = dt;
	j->st.sync_ns_total += dt;
	if (dt > j->st.sync_ns_max)
		j->st.sync_ns_max = dt;
	if (r != 0)
		j->st.sync_failures++;
	else
		j->st.syncs++;
	errno = e;
	return r;
}

/*
 * Cuts the journal back to offset `to` (holding `records` records) and
 * makes the cut durable with fsync, so that no byte past it can come back
 * after a crash. If either call fails the journal enters the FAILED state.
 * why describes the failure that led here, for the message.
 */
static int cut_back(struct srv_journal *j, uint64_t to, uint64_t records,
		    const char *why)
{
	const char *call = "ftruncate";
	int e;

	if (j->cfg.io.ftruncate(j->cfg.io.ctx, j->fd, to) == 0) {
		call = "fsync after ftruncate";
		if (j->cfg.io.fsync(j->cfg.io.ctx, j->fd) == 0) {
			j->end = to;
			j->durable = to;
			j->records = records;
			j->records_durable = records;
			return 0;
		}
	}
	e = errno;
	srv_journal_int_fail(j, "JOURNAL FAILED, refusing all writes until "
		"restart: %s; then %s to offset %" PRIu64 " failed (%s)", why,
		call, to, strerror(e));
	return COLLAB_EIO;
}

/* Syncs [durable, end); on failure cuts back to durable (never retrying
 * the fdatasync over the same pages) and returns COLLAB_EIO. batch and
 * batch_bytes: the records and bytes of a commit that this failure
 * rejects (0: none); whatever else the cut drops had been committed. */
static int sync_unsynced(struct srv_journal *j, uint64_t batch,
			 uint64_t batch_bytes)
{
	char why[SRV_JOURNAL_MSG_MAX];
	uint64_t lost, to = j->durable;
	int e;

	if (j->end == j->durable)
		return 0;
	if (timed_sync(j) == 0) {
		j->durable = j->end;
		j->records_durable = j->records;
		return 0;
	}
	e = errno;
	lost = j->end - j->durable;
	(void)snprintf(why, sizeof(why), "fdatasync failed (%s)", strerror(e));
	if (cut_back(j, to, j->records_durable, why) == 0) {
		j->st.dropped_committed += lost - batch_bytes;
		if (batch > 0)
			srv_journal_int_msg(
				j,
				"journal fdatasync failed (%s): batch "
				"of %" PRIu64
				" records rejected, file cut back to "
				"the last durable offset %" PRIu64 " (%" PRIu64
				" bytes dropped)",
				strerror(e), batch, to, lost);
		else
			srv_journal_int_msg(
				j,
				"journal fdatasync failed (%s): file "
				"cut back to the last durable offset %" PRIu64
				", dropping %" PRIu64 " unsynced bytes",
				strerror(e), to, lost);
	}
	return COLLAB_EIO;
}

/* ---- open: directory, lock, creation --------------------------------- */

static int check_config(const struct srv_journal_config *cfg)
{
	if (cfg->dir == NULL || cfg->dir[0] == '\0')
		return COLLAB_EINVAL;
	if (cfg->durability != SRV_JOURNAL_STRICT &&
	    cfg->durability != SRV_JOURNAL_RELAXED &&
	    cfg->durability != SRV_JOURNAL_NONE)
		return COLLAB_EINVAL;
	if (cfg->max_record == 0 ||
	    cfg->max_record > SRV_JOURNAL_MAX_RECORD_CAP ||
	    cfg->max_batch < SRV_JOURNAL_FRAME_HDR || cfg->read_buffer == 0 ||
	    cfg->compact_buffer == 0)
		return COLLAB_EINVAL;
	return 0;
}

static int lock_dir(struct srv_journal *j)
{
	char text[32];
	int fd, n;

	fd = openat(j->dirfd, SRV_JOURNAL_LOCK_FILE,
		    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		srv_journal_int_msg(j, "cannot open %s/%s: %s", j->cfg.dir,
				    SRV_JOURNAL_LOCK_FILE, strerror(errno));
		return COLLAB_EIO;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		ssize_t r = e == EWOULDBLOCK
				    ? pread(fd, text, sizeof(text) - 1, 0)
				    : -1;
		size_t k = 0;
		/* quote the owner's pid: digits only, it is a file's content */
		while (r > 0 && k < (size_t)r && text[k] >= '0' &&
		       text[k] <= '9')
			k++;
		text[k] = '\0';
		(void)close(fd);
		if (e == EWOULDBLOCK) {
			srv_journal_int_msg(
				j,
				"data directory %s is in use by "
				"another server (%s/%s is locked%s%s)",
				j->cfg.dir, j->cfg.dir, SRV_JOURNAL_LOCK_FILE,
				k ? " by pid " : "", text);
			return COLLAB_EEXIST;
		}
		srv_journal_int_msg(j, "cannot lock %s/%s: %s", j->cfg.dir,
				    SRV_JOURNAL_LOCK_FILE, strerror(e));
		return COLLAB_EIO;
	}
	/* the pid is only for that message: failing to write it is harmless */
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (n > 0 && ftruncate(fd, 0) == 0 &&
	    pwrite(fd, text, (size_t)n, 0) != n) {
		/* ignored */
	}
	j->lockfd = fd;
	return 0;
}

static int new_epoch(struct srv_journal *j)
{
	struct collab_rng r;
	struct collab_uuid u;
	int rc = collab_rng_init(&r);

	if (rc == 0)
		rc = collab_uuid_v4(&r, &u);
	collab_rng_wipe(&r);
	if (rc != 0) {
		srv_journal_int_msg(j, "cannot draw a new epoch: %s",
				    collab_strerror(rc));
		return rc;
	}
	collab_uuid_format(&u, j->epoch, sizeof(j->epoch));
	j->created_at_ms = srv_journal_int_real_ms();
	return 0;
}

/* A fresh journal with a new epoch, as j->fd. */
static int create_journal(struct srv_journal *j)
{
	uint64_t size;
	int fd, rc = new_epoch(j);

	if (rc != 0)
		return rc;
	rc = srv_journal_int_create_file(j, &fd, &size);
	if (rc != 0)
		return rc;
	if (j->fd >= 0)
		(void)close(j->fd);
	j->fd = fd;
	j->end = j->durable = size;
	j->records = j->records_durable = 1;
	return 0;
}

/* ---- open: recovery --------------------------------------------------- */

struct replay {
	srv_journal_record_fn fn;
	void *ctx;
	uint64_t n;
};

static int replay_record(void *ctx, uint8_t type, const uint8_t *payload,
			 size_t len, uint64_t offset)
{
	struct replay *r = ctx;

	if (type == SRV_JOURNAL_TYPE_HEADER)
		return 0;
	r->n++;
	return r->fn != NULL ? r->fn(r->ctx, type, payload, len, offset) : 0;
}

/* Copies [from, size) of the journal into a new journal.corrupt-<ms>,
 * made durable (file and directory) before the journal is touched. */
static int move_aside(struct srv_journal *j, uint64_t from, uint64_t size,
		      struct srv_journal_report *rep)
{
	const struct collab_alloc *a = j->cfg.alloc;
	uint64_t ms = srv_journal_int_real_ms(), off = from;
	size_t cap = j->cfg.read_buffer;
	uint8_t *buf;
	int fd = -1, e = 0;

	for (unsigned n = 0; n < 100 && fd < 0; n++) {
		if (n == 0)
			(void)snprintf(rep->moved_to, sizeof(rep->moved_to),
				       "%s%" PRIu64, SRV_JOURNAL_CORRUPT_PREFIX,
				       ms);
		else
			(void)snprintf(rep->moved_to, sizeof(rep->moved_to),
				       "%s%" PRIu64 ".%u",
				       SRV_JOURNAL_CORRUPT_PREFIX, ms, n);
		fd = openat(j->dirfd, rep->moved_to, O_WRONLY | O_CREAT |
			    O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		srv_journal_int_msg(j, "repair: cannot create %s/%s: %s",
				    j->cfg.dir, rep->moved_to, strerror(errno));
		return COLLAB_EIO;
	}
	buf = a->alloc(a->ctx, cap);
	if (buf == NULL) {
		(void)close(fd);
		(void)unlinkat(j->dirfd, rep->moved_to, 0);
		return COLLAB_ENOMEM;
	}
	while (off < size && e == 0) {
		size_t k = size - off < cap ? (size_t)(size - off) : cap;
		ssize_t r = pread(j->fd, buf, k, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			e = r < 0 ? errno : ESTALE;
		else if (srv_journal_int_write_all(&j->cfg.io, fd, buf,
						   (size_t)r, off - from) != 0)
			e = errno;
		else
			off += (uint64_t)r;
	}
	a->free(a->ctx, buf, cap);
	if (e == 0 && j->cfg.io.fsync(j->cfg.io.ctx, fd) != 0)
		e = errno;
	(void)close(fd);
	if (e == 0 && j->cfg.io.fsync(j->cfg.io.ctx, j->dirfd) != 0)
		e = errno;
	if (e != 0) {
		srv_journal_int_msg(j,
				    "repair: copying the damaged tail to %s/%s "
				    "failed: %s",
				    j->cfg.dir, rep->moved_to, strerror(e));
		return COLLAB_EIO;
	}
	rep->moved_bytes = size - from;
	return 0;
}

static int recover(struct srv_journal *j, srv_journal_record_fn fn, void *ctx,
		   struct srv_journal_report *rep)
{
	struct srv_journal_scan scan;
	struct replay r = { fn, ctx, 0 };
	int rc;

	rc = srv_journal_scan_fd(j->fd, &j->cfg, replay_record, &r, &scan);
	rep->records = r.n;
	if (rc == COLLAB_EIO) {
		srv_journal_int_msg(j, "reading %s/%s failed: %s", j->cfg.dir,
				    SRV_JOURNAL_FILE, strerror(errno));
		return rc;
	}
	if (rc == COLLAB_ECORRUPT && scan.good_end > 0) {
		/* REPLAY FAILURES (journal.h): the record at good_end was
		 * rejected by the caller; repaired like corruption */
		rep->replay_failed = true;
		rep->records = r.n - 1;   /* not the rejected one */
		scan.verdict = SRV_JOURNAL_CORRUPT;
		(void)snprintf(scan.reason, sizeof(scan.reason),
			       "record %" PRIu64 " could not be replayed",
			       scan.records);
	} else if (rc != 0) {
		srv_journal_int_msg(j,
				    "replay stopped at offset %" PRIu64 ": %s",
				    scan.good_end, collab_strerror(rc));
		return rc;
	}
	j->end = j->durable = scan.good_end;
	j->records = j->records_durable = scan.records;
	if (scan.header_ok) {
		memcpy(j->epoch, scan.epoch, sizeof(j->epoch));
		j->created_at_ms = scan.created_at_ms;
	}
	switch (scan.verdict) {
	case SRV_JOURNAL_SOUND:
		return 0;
	case SRV_JOURNAL_UNSUPPORTED:
		srv_journal_int_msg(j, "%s/%s: %s; refusing to start",
				    j->cfg.dir, SRV_JOURNAL_FILE, scan.reason);
		return COLLAB_EPROTO;
	case SRV_JOURNAL_TORN:
		rep->torn_offset = scan.good_end;
		rep->torn_bytes = scan.size - scan.good_end;
		rc = cut_back(j, scan.good_end, scan.records,
			      "cutting a torn tail at open");
		if (rc != 0)
			return rc;
		srv_journal_int_msg(j, "cut a torn tail of %" PRIu64
			" bytes at offset %" PRIu64 " (%s)", rep->torn_bytes,
			rep->torn_offset, scan.reason);
		return 0;
	case SRV_JOURNAL_CORRUPT:
		break;
	}
	rep->corrupt_offset = scan.good_end;
	if (!j->cfg.repair) {
		srv_journal_int_msg(
			j,
			"%s/%s is corrupt at offset %" PRIu64 ": %s; "
			"refusing to start (repair would keep the %" PRIu64
			" bytes before it and move the rest aside)",
			j->cfg.dir, SRV_JOURNAL_FILE, scan.good_end,
			scan.reason, scan.good_end);
		return COLLAB_ECORRUPT;
	}
	rc = move_aside(j, scan.good_end, scan.size, rep);
	if (rc != 0)
		return rc;
	if (scan.good_end == 0)
		rc = create_journal(j);     /* nothing to keep: a new epoch */
	else
		rc = cut_back(j, scan.good_end, scan.records,
			      "repair at open");
	if (rc != 0)
		return rc;
	rep->repaired = true;
	rep->created = scan.good_end == 0;
	srv_journal_int_msg(j,
			    "REPAIRED %s at offset %" PRIu64
			    " (%s): kept %" PRIu64 " bytes, moved %" PRIu64
			    " bytes to %s/%s%s",
			    rep->replay_failed ? "a record that cannot be "
			    "replayed" : "corruption",
			    scan.good_end, scan.reason, scan.good_end,
			    rep->moved_bytes, j->cfg.dir, rep->moved_to,
			    rep->created ? "; new epoch" : "");
	return 0;
}

static void close_fds(struct srv_journal *j)
{
	if (j->fd >= 0)
		(void)close(j->fd);
	if (j->lockfd >= 0)
		(void)close(j->lockfd);       /* releases the flock */
	if (j->dirfd >= 0)
		(void)close(j->dirfd);
	j->fd = j->lockfd = j->dirfd = -1;
	collab_buf_free(&j->pending);
	j->pending_records = 0;
	j->is_open = false;
}

static int open_steps(struct srv_journal *j, srv_journal_record_fn fn,
		      void *ctx, struct srv_journal_report *rep)
{
	int rc;

	if (mkdir(j->cfg.dir, 0700) != 0 && errno != EEXIST) {
		srv_journal_int_msg(j, "cannot create data directory %s: %s",
				    j->cfg.dir, strerror(errno));
		return COLLAB_EIO;
	}
	j->dirfd = open(j->cfg.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0) {
		srv_journal_int_msg(j, "cannot open data directory %s: %s",
				    j->cfg.dir, strerror(errno));
		return COLLAB_EIO;
	}
	rc = lock_dir(j);
	if (rc != 0)
		return rc;
	/* an interrupted compaction (or creation): the journal beside it, if
	 * any, is the complete previous version */
	if (unlinkat(j->dirfd, SRV_JOURNAL_COMPACT_FILE, 0) == 0)
		rep->leftover_removed = true;
	else if (errno != ENOENT) {
		srv_journal_int_msg(j, "cannot remove %s/%s: %s", j->cfg.dir,
				    SRV_JOURNAL_COMPACT_FILE, strerror(errno));
		return COLLAB_EIO;
	}
	j->fd = openat(j->dirfd, SRV_JOURNAL_FILE,
		       O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (j->fd < 0 && errno == ENOENT) {
		rep->created = true;
		return create_journal(j);
	}
	if (j->fd < 0) {
		srv_journal_int_msg(j, "cannot open %s/%s: %s", j->cfg.dir,
				    SRV_JOURNAL_FILE, strerror(errno));
		return COLLAB_EIO;
	}
	rc = recover(j, fn, ctx, rep);
	if (rc != 0)
		return rc;
	/* what the caller rebuilt must not rest on pages a previous process
	 * wrote but never synced */
	if (timed_sync(j) != 0) {
		srv_journal_int_msg(
			j, "fdatasync of the recovered %s/%s failed: %s",
			j->cfg.dir, SRV_JOURNAL_FILE, strerror(errno));
		return COLLAB_EIO;
	}
	return 0;
}

int srv_journal_open(struct srv_journal *j,
		     const struct srv_journal_config *cfg,
		     srv_journal_record_fn on_record, void *ctx,
		     struct srv_journal_report *report)
{
	struct srv_journal_report dummy;
	struct srv_journal_report *rep = &dummy;
	uint64_t t0 = srv_journal_int_mono_ns();
	int rc;

	if (report != NULL)
		rep = report;
	memset(rep, 0, sizeof(*rep));
	if (j == NULL)
		return COLLAB_EINVAL;
	memset(j, 0, sizeof(*j));
	j->fd = j->lockfd = j->dirfd = -1;
	if (cfg == NULL || check_config(cfg) != 0) {
		(void)snprintf(rep->msg, sizeof(rep->msg),
			       "invalid journal config");
		return COLLAB_EINVAL;
	}
	j->cfg = *cfg;
	if (j->cfg.alloc == NULL)
		j->cfg.alloc = collab_alloc_default();
	if (j->cfg.io.pwrite == NULL)
		j->cfg.io.pwrite = io_pwrite;
	if (j->cfg.io.fdatasync == NULL)
		j->cfg.io.fdatasync = io_fdatasync;
	if (j->cfg.io.fsync == NULL)
		j->cfg.io.fsync = io_fsync;
	if (j->cfg.io.ftruncate == NULL)
		j->cfg.io.ftruncate = io_ftruncate;
	collab_buf_init(&j->pending, j->cfg.alloc, j->cfg.max_batch);
	j->st.writable = true;

	rc = open_steps(j, on_record, ctx, rep);
	memcpy(rep->msg, j->msg, sizeof(rep->msg));
	if (rc != 0) {
		close_fds(j);
		j->failed = false;
		return rc;
	}
	j->msg[0] = '\0';
	j->is_open = true;
	rep->bytes = j->end;
	rep->recover_ns = srv_journal_int_mono_ns() - t0;
	return 0;
}

/* ---- group commit ----------------------------------------------------- */

int srv_journal_append(struct srv_journal *j, uint8_t type,
		       const void *payload, size_t len)
{
	int rc;

	if (j == NULL || !j->is_open || type < SRV_JOURNAL_TYPE_MIN_APP ||
	    (payload == NULL && len > 0))
		return COLLAB_EINVAL;
	if (j->failed)
		return COLLAB_EIO;
	if (j->compacting)
		return COLLAB_ESTATE;
	if (len > j->cfg.max_record)
		return COLLAB_ELIMIT;
	rc = srv_journal_int_frame_buf(&j->pending, type, payload, len);
	if (rc != 0)
		return rc;
	j->pending_records++;
	return 0;
}

void srv_journal_discard(struct srv_journal *j)
{
	if (j == NULL || !j->is_open)
		return;
	collab_buf_reset(&j->pending);
	j->pending_records = 0;
}

int srv_journal_commit(struct srv_journal *j)
{
	size_t n;
	uint64_t nrec, at;
	int e;

	if (j == NULL || !j->is_open)
		return COLLAB_EINVAL;
	if (j->compacting)
		return COLLAB_ESTATE;
	n = j->pending.len;
	nrec = j->pending_records;
	if (n == 0)
		return j->failed ? COLLAB_EIO : 0;
	srv_journal_discard(j);        /* the bytes stay in place until reuse */
	if (j->failed) {
		j->st.commit_failures++;
		return COLLAB_EIO;
	}
	at = j->end;
	if (srv_journal_int_write_all(&j->cfg.io, j->fd, j->pending.p, n, at)
	    != 0) {
		char why[SRV_JOURNAL_MSG_MAX];
		e = errno;
		j->st.commit_failures++;
		(void)snprintf(why, sizeof(why),
			       "journal write at offset %" PRIu64
			       " failed (%s)",
			       at, strerror(e));
		if (cut_back(j, at, j->records, why) == 0)
			srv_journal_int_msg(
				j,
				"journal write of %zu bytes (%" PRIu64
				" records) at offset %" PRIu64
				" failed (%s): batch "
				"rejected, file cut back",
				n, nrec, at, strerror(e));
		return COLLAB_EIO;
	}
	j->end = at + n;
	j->records += nrec;
	if (j->cfg.durability == SRV_JOURNAL_STRICT &&
	    sync_unsynced(j, nrec, n) != 0) {
		j->st.commit_failures++;
		return COLLAB_EIO;
	}
	j->st.commits++;
	j->st.records_written += nrec;
	j->st.bytes_written += n;
	return 0;
}

int srv_journal_tick(struct srv_journal *j, uint64_t now_ms)
{
	if (j == NULL || !j->is_open || j->failed || j->compacting ||
	    j->cfg.durability != SRV_JOURNAL_RELAXED)
		return 0;
	if (!j->tick_started || j->end == j->durable) {
		j->tick_started = true;
		j->last_sync_ms = now_ms;
		return 0;
	}
	if (now_ms < j->last_sync_ms ||
	    now_ms - j->last_sync_ms < j->cfg.sync_interval_ms)
		return 0;
	j->last_sync_ms = now_ms;
	return sync_unsynced(j, 0, 0);
}

int srv_journal_sync(struct srv_journal *j)
{
	if (j == NULL || !j->is_open)
		return COLLAB_EINVAL;
	if (j->failed)
		return COLLAB_EIO;
	return sync_unsynced(j, 0, 0);
}

void srv_journal_set_failed(struct srv_journal *j, const char *why)
{
	if (j == NULL || !j->is_open)
		return;
	srv_journal_int_fail(j, "JOURNAL FAILED, refusing all writes until "
			     "restart: %s", why != NULL ? why : "by the caller");
}

/* ---- queries ---------------------------------------------------------- */

bool srv_journal_should_compact(const struct srv_journal *j,
				uint64_t live_bytes)
{
	uint64_t k;

	if (j == NULL || !j->is_open || j->failed || j->compacting)
		return false;
	if (j->end <= j->cfg.compact_threshold)
		return false;
	k = j->cfg.compact_ratio;
	/* end > k * live, without overflow */
	return k == 0 || live_bytes <= (j->end - 1) / k;
}

bool srv_journal_writable(const struct srv_journal *j)
{
	return j != NULL && j->is_open && !j->failed;
}

const char *srv_journal_epoch(const struct srv_journal *j)
{
	return j != NULL && j->is_open ? j->epoch : "";
}

uint64_t srv_journal_created_at_ms(const struct srv_journal *j)
{
	return j != NULL && j->is_open ? j->created_at_ms : 0;
}

const char *srv_journal_message(const struct srv_journal *j)
{
	return j != NULL ? j->msg : "";
}

void srv_journal_stats(const struct srv_journal *j,
		       struct srv_journal_stats *st)
{
	*st = j->st;
	st->size = j->end;
	st->durable = j->durable;
	st->records = j->records;
	st->pending_bytes = j->pending.len;
	st->pending_records = j->pending_records;
	st->writable = srv_journal_writable(j);
}

int srv_journal_close(struct srv_journal *j)
{
	int rc = 0;

	if (j == NULL)
		return 0;
	if (j->is_open && !j->failed && j->cfg.durability != SRV_JOURNAL_NONE &&
	    j->end > j->durable && timed_sync(j) != 0) {
		srv_journal_int_msg(j, "journal fdatasync at close failed: %s",
				    strerror(errno));
		rc = COLLAB_EIO;
	}
	close_fds(j);
	return rc;
}
