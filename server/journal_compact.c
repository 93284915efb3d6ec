/*
 * journal_compact.c - writing a whole new journal beside the old one and
 * renaming it into place: compaction, and the creation of a journal.
 *
 * The order is what makes a crash at any instant harmless: the new file is
 * complete and fdatasynced before rename(2) replaces the old name in one
 * step, and the directory is fsynced after, so the name is durable before
 * anything is appended to the new file. Until the rename the old journal
 * is untouched; a journal.compact left behind is deleted at the next open.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "collab/rand.h"
#include "collab/uuid.h"
#include "journal_int.h"

/* Result of finish(): done, failed before the rename (old journal in
 * place), or renamed but the directory fsync failed. */
enum finish_result { FINISH_OK = 0, FINISH_FAILED, FINISH_NOT_DURABLE };

static void drop(struct srv_journal_compact *c)
{
	if (c->fd >= 0) {
		(void)close(c->fd);
		(void)unlinkat(c->j->dirfd, SRV_JOURNAL_COMPACT_FILE, 0);
	}
	c->fd = -1;
	collab_buf_free(&c->buf);
}

/* Creates journal.compact and frames its HEADER into c->buf: j's epoch,
 * or (fresh) a new one drawn here. */
static int start(struct srv_journal *j, struct srv_journal_compact *c,
		 uint64_t compacted_at_ms, bool fresh)
{
	uint8_t json[SRV_JOURNAL_HEADER_JSON_MAX];
	struct collab_rng r;
	struct collab_uuid u;
	size_t len;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->j = j;
	c->fd = -1;
	c->start_ns = srv_journal_int_mono_ns();
	collab_buf_init(&c->buf, j->cfg.alloc, 0);
	memcpy(c->epoch, j->epoch, sizeof(c->epoch));
	c->created_at_ms = j->created_at_ms;
	if (fresh) {
		rc = collab_rng_init(&r);
		if (rc == 0)
			rc = collab_uuid_v4(&r, &u);
		collab_rng_wipe(&r);
		if (rc != 0) {
			srv_journal_int_msg(j, "cannot draw a new epoch: %s",
					    collab_strerror(rc));
			return rc;
		}
		collab_uuid_format(&u, c->epoch, sizeof(c->epoch));
		c->created_at_ms = srv_journal_int_real_ms();
	}
	rc = srv_journal_int_header_json(c->epoch, c->created_at_ms,
					 compacted_at_ms, json, sizeof(json),
					 &len);
	if (rc == 0)
		rc = srv_journal_int_frame_buf(&c->buf, SRV_JOURNAL_TYPE_HEADER,
					       json, len);
	if (rc != 0) {
		drop(c);
		return rc;
	}
	c->fd = openat(j->dirfd, SRV_JOURNAL_COMPACT_FILE,
		       O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		       0600);
	if (c->fd < 0) {
		srv_journal_int_msg(j, "cannot create %s/%s: %s", j->cfg.dir,
				    SRV_JOURNAL_COMPACT_FILE, strerror(errno));
		drop(c);
		return COLLAB_EIO;
	}
	c->records = 1;
	return 0;
}

static int flush(struct srv_journal_compact *c)
{
	struct srv_journal *j = c->j;

	if (c->buf.len == 0)
		return 0;
	if (srv_journal_int_write_all(&j->cfg.io, c->fd, c->buf.p, c->buf.len,
				      c->flushed) != 0) {
		srv_journal_int_msg(j, "writing %s/%s failed (%s)", j->cfg.dir,
				    SRV_JOURNAL_COMPACT_FILE, strerror(errno));
		return COLLAB_EIO;
	}
	c->flushed += c->buf.len;
	collab_buf_reset(&c->buf);
	return 0;
}

/* Writes the rest, syncs, renames, syncs the directory. */
static enum finish_result finish(struct srv_journal_compact *c)
{
	struct srv_journal *j = c->j;

	if (flush(c) != 0)
		return FINISH_FAILED;
	if (j->cfg.io.fdatasync(j->cfg.io.ctx, c->fd) != 0) {
		srv_journal_int_msg(j, "fdatasync of %s/%s failed (%s)",
				    j->cfg.dir, SRV_JOURNAL_COMPACT_FILE,
				    strerror(errno));
		return FINISH_FAILED;
	}
	if (renameat(j->dirfd, SRV_JOURNAL_COMPACT_FILE, j->dirfd,
		     SRV_JOURNAL_FILE) != 0) {
		srv_journal_int_msg(j, "renaming %s/%s failed (%s)", j->cfg.dir,
				    SRV_JOURNAL_COMPACT_FILE, strerror(errno));
		return FINISH_FAILED;
	}
	if (j->cfg.io.fsync(j->cfg.io.ctx, j->dirfd) != 0) {
		srv_journal_int_msg(j,
				    "fsync of data directory %s after renaming "
				    "the new journal failed (%s)",
				    j->cfg.dir, strerror(errno));
		return FINISH_NOT_DURABLE;
	}
	return FINISH_OK;
}

int srv_journal_int_create_file(struct srv_journal *j, int *fd_out,
				uint64_t *size_out)
{
	struct srv_journal_compact c;
	enum finish_result r;
	int rc = start(j, &c, 0, false);

	if (rc != 0)
		return rc;
	r = finish(&c);
	if (r == FINISH_FAILED) {
		drop(&c);
		return COLLAB_EIO;
	}
	if (r == FINISH_NOT_DURABLE) {
		/* renamed: nothing to unlink, but do not start on it */
		(void)close(c.fd);
		collab_buf_free(&c.buf);
		return COLLAB_EIO;
	}
	collab_buf_free(&c.buf);
	*fd_out = c.fd;
	*size_out = c.flushed;
	return 0;
}

static int begin(struct srv_journal *j, struct srv_journal_compact *c,
		 bool fresh)
{
	int rc;

	if (j == NULL || c == NULL || !j->is_open)
		return COLLAB_EINVAL;
	if (j->failed)
		return COLLAB_EIO;
	if (j->compacting || j->pending.len > 0)
		return COLLAB_ESTATE;
	rc = start(j, c, srv_journal_int_real_ms(), fresh);
	if (rc != 0) {
		c->j = NULL;
		return rc;
	}
	j->compacting = true;
	return 0;
}

int srv_journal_compact_begin(struct srv_journal *j,
			      struct srv_journal_compact *c)
{
	return begin(j, c, false);
}

int srv_journal_compact_begin_new_epoch(struct srv_journal *j,
					struct srv_journal_compact *c)
{
	return begin(j, c, true);
}

int srv_journal_compact_append(struct srv_journal_compact *c, uint8_t type,
			       const void *payload, size_t len)
{
	int rc;

	if (c == NULL || c->j == NULL || type < SRV_JOURNAL_TYPE_MIN_APP ||
	    (payload == NULL && len > 0))
		return COLLAB_EINVAL;
	if (c->err != 0)
		return c->err;
	if (len > c->j->cfg.max_record)
		rc = COLLAB_ELIMIT;
	else
		rc = srv_journal_int_frame_buf(&c->buf, type, payload, len);
	if (rc == 0) {
		c->records++;
		if (c->buf.len >= c->j->cfg.compact_buffer)
			rc = flush(c);
	}
	c->err = rc;
	return rc;
}

int srv_journal_compact_commit(struct srv_journal_compact *c)
{
	struct srv_journal *j;
	enum finish_result r;
	int rc;

	if (c == NULL || c->j == NULL)
		return COLLAB_EINVAL;
	j = c->j;
	if (c->err != 0) {
		rc = c->err;
		srv_journal_compact_abort(c);
		return rc;
	}
	r = finish(c);
	if (r == FINISH_FAILED) {
		srv_journal_compact_abort(c);
		return COLLAB_EIO;
	}
	/* journal.compact is now the journal: switch to it */
	(void)close(j->fd);
	j->fd = c->fd;
	c->fd = -1;
	j->end = j->durable = c->flushed;
	j->records = j->records_durable = c->records;
	memcpy(j->epoch, c->epoch, sizeof(j->epoch));
	j->created_at_ms = c->created_at_ms;
	j->compacting = false;
	collab_buf_free(&c->buf);
	c->j = NULL;
	if (r == FINISH_NOT_DURABLE) {
		char why[SRV_JOURNAL_MSG_MAX];
		memcpy(why, j->msg, sizeof(why));
		srv_journal_int_fail(
			j,
			"JOURNAL FAILED, refusing all writes until "
			"restart: compaction: %s",
			why);
		return COLLAB_EIO;
	}
	j->st.compactions++;
	j->st.compact_ns_last = srv_journal_int_mono_ns() - c->start_ns;
	j->st.compact_bytes_last = j->end;
	return 0;
}

void srv_journal_compact_abort(struct srv_journal_compact *c)
{
	if (c == NULL || c->j == NULL)
		return;
	drop(c);
	c->j->compacting = false;
	c->j = NULL;
}
