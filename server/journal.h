/*
 * journal.h - the server's durable journal: an append-only file of
 * CRC-framed records in the data directory, group commit, crash recovery
 * that cuts a torn tail and refuses silent corruption, and compaction by
 * atomic rewrite. The module knows nothing of what it stores: the server
 * chooses a type byte per record and hands opaque payloads (its events and
 * room snapshots, as JSON).
 *
 * DATA DIRECTORY (cfg.dir)
 *   LOCK                  flock(LOCK_EX|LOCK_NB) for as long as the journal
 *                         is open, holding the owner's pid as text; a second
 *                         open of the same directory, from this process or
 *                         another, fails with COLLAB_EEXIST.
 *   journal               the records (one file, no segments).
 *   journal.compact       a new journal being written (by compaction, or
 *                         when a journal is first created); renamed over
 *                         "journal" once complete and durable. One left over
 *                         by a crash is deleted at open: "journal" is then
 *                         the complete old version.
 *   journal.corrupt-<ms>  what repair moved aside (<ms>: unix time in ms;
 *                         "-<ms>.<n>" if that name is taken).
 * The directory is created (mode 0700, parents must exist) when missing;
 * files are created mode 0600.
 *
 * RECORD FRAMING (all integers little-endian)
 *   offset 0   u32 length   payload bytes, at most cfg.max_record
 *   offset 4   u32 crc      CRC-32C (crc32c.h) of the type byte and payload
 *   offset 8   u8  type     1 = HEADER; 2..255 the caller's; 0 never written
 *   offset 9   u32 hcrc     CRC-32C of bytes 0..8 of this frame
 *   offset 13  payload
 * The header checksum is a refinement of the plain "length | crc | type"
 * frame: without it, a bit flip in the length field of a record in the
 * middle of the file that made the record seem to run past the end could
 * not be told from a torn write, and recovery would silently drop every
 * later record. With it, a length is only ever trusted after its checksum.
 *
 * The first record (offset 0) is always the HEADER, and no other record is:
 *   {"format":1,"epoch":"<uuid v4>","createdAt":<unix ms>}
 * plus "compactedAt":<unix ms> once the file was rewritten by compaction.
 * Readers ignore other members; a "format" other than 1 is refused as
 * unsupported (COLLAB_EPROTO) and never "repaired". The epoch names one
 * history: a new one is drawn only when a journal is created (empty or new
 * data directory, or repair of a journal whose header record is damaged),
 * and compaction copies it.
 *
 * RECOVERY RULES. The file is read front to back; the first record that
 * fails a check ends the good prefix. What follows it is either a torn
 * tail (a crash interrupted appending; it is cut off with ftruncate+fsync
 * and reported) or corruption (anything else; open fails with
 * COLLAB_ECORRUPT naming the offset and reason, unless cfg.repair). With B
 * the bad record's offset, the tail is TORN when:
 *   T1  fewer than 13 bytes remain at B (the frame header is incomplete);
 *   T2  the header checks out but its length runs past the end of file
 *       (the write was cut short);
 *   T3  the header checks out, the payload checksum does not, and the
 *       record ends exactly at the end of file or only zero bytes follow it
 *       (payload pages never reached the disk);
 *   T4  the header checksum fails and only zero bytes (or none) follow the
 *       13 header bytes (a file extended but never written: some
 *       filesystems expose zero-filled blocks after a power loss; the
 *       header bytes themselves may be partly written).
 * REPLAY FAILURES. A well-framed record that the caller's on_record
 * rejects with COLLAB_ECORRUPT (say, an event whose seq does not follow)
 * ends the good prefix too: without cfg.repair open fails with
 * COLLAB_ECORRUPT at that record's offset; with it, that record and
 * everything after it are moved aside exactly like corruption (the caller
 * MUST then rebuild its state from the kept prefix, since on_record saw
 * the rejected record: srv_journal_report.replay_failed).
 *
 * Everything else is CORRUPT: a failed checksum with non-zero bytes after
 * the damaged record, type 0, a length above cfg.max_record, a HEADER
 * record anywhere but offset 0 or a first record that is not a HEADER, and
 * any damage at offset 0 at all (a journal is created whole, by rename, so
 * its first record is never torn) including an empty file.
 * Limits of the rules: a bit flip in the payload of the very last record
 * looks like T3 and that one record is cut as torn (reported as such); a
 * power loss on a filesystem that exposes unwritten blocks in the middle
 * of the last unsynced batch (zeros, then a complete later record) is
 * reported as corruption, and repair keeps everything before it.
 *
 * GROUP COMMIT. srv_journal_append() frames a record into the pending
 * batch in memory; srv_journal_commit() writes the whole batch with one
 * pwrite(2) at the end offset (more only after a short write) and then, by
 * cfg.durability:
 *   STRICT   fdatasync(2) before returning: the caller broadcasts the
 *            batch's operations only after commit returned 0.
 *   RELAXED  no sync in commit; srv_journal_tick() syncs once
 *            cfg.sync_interval_ms has passed since the last sync (or since
 *            the journal was last found fully synced) while data is
 *            unsynced. A crash of the machine loses at most about that
 *            interval plus the caller's tick period.
 *   NONE     commit, tick and close never sync (the kernel writes back
 *            when it likes); open (after recovery), compaction, the cut
 *            after a failure and srv_journal_sync() still do.
 *
 * FAILURES. A failed or short write (ENOSPC, EFBIG past RLIMIT_FSIZE with
 * SIGXFSZ ignored, EIO): the file is cut back to where the batch began
 * (ftruncate, then fsync so the cut itself is durable and no half-written
 * record can reappear after a crash), the batch is dropped and commit
 * returns COLLAB_EIO; later commits are accepted again (service resumes
 * when space returns). A failed fdatasync is never retried on the same
 * data, since the kernel may already have dropped the dirty pages and a
 * second fdatasync could succeed without them: the file is cut back to the
 * last durable offset and fsynced, the batch (and in RELAXED/NONE mode
 * whatever was written since the last good sync) is dropped, and the call
 * returns COLLAB_EIO. In RELAXED and NONE mode that cut may drop batches
 * whose commits had succeeded (and which the caller already broadcast and
 * keeps in memory): stats.dropped_committed counts those bytes, and the
 * caller MUST then rewrite the journal from its memory (a compaction) or
 * call srv_journal_set_failed(), else later records would follow a hole.
 * If the cut itself fails, the journal enters the
 * FAILED state: srv_journal_writable() is false and every later append,
 * commit and compaction fails with COLLAB_EIO until the process restarts.
 * Each failure leaves a one-line message for a loud log line in
 * srv_journal_message().
 * After COLLAB_EIO from commit the caller MUST treat the batch as never
 * written: reject its operations (`unavailable`) and undo what it applied
 * to memory for them (or rebuild that memory), or the next compaction
 * would resurrect them.
 *
 * COMPACTION. The caller writes its live state through
 * srv_journal_compact_begin/append/commit into journal.compact (HEADER with
 * the same epoch first); commit makes it durable (fdatasync), renames it
 * over journal, fsyncs the directory and continues appending to the new
 * file. A crash at any point leaves one complete journal, old or new. The
 * whole compaction happens between two commits (one loop turn); its pause
 * is about the time to write and fdatasync the live state.
 *
 * Thread rules: a struct srv_journal belongs to one thread. All functions
 * return 0 or a negative COLLAB_E* code unless stated otherwise.
 */
#ifndef SRV_JOURNAL_H
#define SRV_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "collab/buf.h"
#include "collab/common.h"

/* ---- format ---------------------------------------------------------- */
#define SRV_JOURNAL_FORMAT 1
#define SRV_JOURNAL_FRAME_HDR 13u         /* bytes before the payload */
#define SRV_JOURNAL_TYPE_HEADER 1u        /* the first record, ours */
#define SRV_JOURNAL_TYPE_MIN_APP 2u       /* lowest type a caller may use */
#define SRV_JOURNAL_EPOCH_LEN 36u         /* canonical UUID text */

/* File names inside the data directory. */
#define SRV_JOURNAL_FILE "journal"
#define SRV_JOURNAL_COMPACT_FILE "journal.compact"
#define SRV_JOURNAL_CORRUPT_PREFIX "journal.corrupt-"
#define SRV_JOURNAL_LOCK_FILE "LOCK"

/* ---- defaults of struct srv_journal_config ---------------------------- */
#define SRV_JOURNAL_DEFAULT_MAX_RECORD ((size_t)16 << 20)
#define SRV_JOURNAL_MAX_RECORD_CAP ((size_t)1 << 30)     /* cap of max_record */
#define SRV_JOURNAL_DEFAULT_MAX_BATCH ((size_t)256 << 20)
#define SRV_JOURNAL_DEFAULT_READ_BUFFER ((size_t)1 << 20)
#define SRV_JOURNAL_DEFAULT_COMPACT_BUFFER ((size_t)1 << 20)
#define SRV_JOURNAL_DEFAULT_SYNC_INTERVAL_MS 1000u
#define SRV_JOURNAL_DEFAULT_COMPACT_THRESHOLD ((uint64_t)64 << 20)
#define SRV_JOURNAL_DEFAULT_COMPACT_RATIO 2u

/* Messages (reasons, log lines) fit in this many bytes, NUL included;
 * longer ones are truncated. */
#define SRV_JOURNAL_MSG_MAX 256u

enum srv_journal_durability {
	SRV_JOURNAL_STRICT = 0,   /* fdatasync in every commit */
	SRV_JOURNAL_RELAXED,      /* fdatasync from tick, once an interval */
	SRV_JOURNAL_NONE          /* never from commit or tick */
};

/*
 * The system calls that change the disk, behind a table so the tests can
 * fail any one of them at an exact call. Each behaves as its system call:
 * returns -1 with errno set on failure. The defaults (filled by
 * srv_journal_config_init) call pwrite(2), fdatasync(2), fsync(2) and
 * ftruncate(2). fsync is also used on the directory. ctx is passed back.
 */
struct srv_journal_io {
	ssize_t (*pwrite)(void *ctx, int fd, const void *p, size_t n,
			  uint64_t off);
	int (*fdatasync)(void *ctx, int fd);
	int (*fsync)(void *ctx, int fd);
	int (*ftruncate)(void *ctx, int fd, uint64_t len);
	void *ctx;
};

struct srv_journal_config {
	const char *dir;        /* data directory, NUL-terminated; MUST be set
				 * and outlive the journal */
	enum srv_journal_durability durability;   /* default STRICT */
	bool repair;            /* on corruption keep the good prefix and move
				 * the rest aside instead of failing */
	uint64_t sync_interval_ms;  /* RELAXED: default 1000 */
	size_t max_record;      /* payload bytes of one record, both when
				 * appending and when reading (a longer record
				 * read back is corruption); default 16 MiB, at
				 * most SRV_JOURNAL_MAX_RECORD_CAP */
	size_t max_batch;       /* framed bytes pending before a commit;
				 * default 256 MiB */
	size_t read_buffer;     /* recovery read size; default 1 MiB */
	size_t compact_buffer;  /* compaction write size; default 1 MiB */
	uint64_t compact_threshold; /* see srv_journal_should_compact() */
	uint64_t compact_ratio;     /* idem; default 2 */
	const struct collab_alloc *alloc;   /* NULL: collab_alloc_default() */
	struct srv_journal_io io;
};

/* Fills every field with its default (dir NULL: the caller sets it). */
void srv_journal_config_init(struct srv_journal_config *cfg);

/*
 * Called for each good record in file order. payload[0..len) is valid only
 * during the call (payload is non-NULL even when len is 0); offset is the
 * record's offset in the file. A non-zero return stops the scan and is
 * returned by the function that called it.
 */
typedef int (*srv_journal_record_fn)(void *ctx, uint8_t type,
				     const uint8_t *payload, size_t len,
				     uint64_t offset);

/* ---- scanning (read-only: collab-journal, tests, fuzzing) -------------- */

enum srv_journal_verdict {
	SRV_JOURNAL_SOUND = 0,     /* every byte belongs to a good record */
	SRV_JOURNAL_TORN,          /* good prefix, then a torn tail */
	SRV_JOURNAL_CORRUPT,       /* good prefix, then corruption */
	SRV_JOURNAL_UNSUPPORTED    /* a well-framed header of another format */
};

struct srv_journal_scan {
	enum srv_journal_verdict verdict;
	uint64_t size;          /* bytes examined: the file size at the start */
	uint64_t good_end;      /* end of the good prefix = offset of the bad
				 * record (size when SOUND) */
	uint64_t records;       /* good records, the HEADER included */
	bool header_ok;         /* the HEADER record was read: epoch valid */
	char epoch[SRV_JOURNAL_EPOCH_LEN + 1];  /* lowercase, NUL-terminated */
	uint64_t created_at_ms;
	char reason[SRV_JOURNAL_MSG_MAX];  /* why the prefix ends ("" SOUND) */
};

/*
 * Scans the journal open on fd (read from offset 0 with pread(2); never
 * written) and calls fn (may be NULL) for every good record, the HEADER
 * included, then fills *out. cfg may be NULL (defaults); its max_record,
 * read_buffer and alloc are used. Returns 0 when the scan ran to its
 * verdict (which may be TORN, CORRUPT or UNSUPPORTED: see out->verdict),
 * COLLAB_EIO when reading fails or the file shrinks under the scan,
 * COLLAB_ENOMEM, COLLAB_EINVAL (fd < 0, out NULL, cfg above caps) or fn's
 * non-zero return (out then describes the records before it).
 */
int srv_journal_scan_fd(int fd, const struct srv_journal_config *cfg,
			srv_journal_record_fn fn, void *ctx,
			struct srv_journal_scan *out);

/* The same scan over the bytes p[0..len) (p may be NULL only when len is
 * 0); reads nothing at or past p + len and allocates nothing. */
int srv_journal_scan_mem(const uint8_t *p, size_t len,
			 const struct srv_journal_config *cfg,
			 srv_journal_record_fn fn, void *ctx,
			 struct srv_journal_scan *out);

/* "sound", "torn", "corrupt", "unsupported" (static). */
const char *srv_journal_verdict_name(enum srv_journal_verdict v);

/*
 * Frames one record (any type but 0, the HEADER included: tests build
 * files with it) into out[0..cap) and sets *written to
 * SRV_JOURNAL_FRAME_HDR + len. Returns 0, COLLAB_ESPACE (out untouched),
 * COLLAB_ELIMIT when len exceeds SRV_JOURNAL_MAX_RECORD_CAP, or
 * COLLAB_EINVAL (type 0, NULL pointers). payload may be NULL only when
 * len is 0.
 */
int srv_journal_frame(uint8_t type, const void *payload, size_t len,
		      uint8_t *out, size_t cap, size_t *written);

/* ---- the journal ------------------------------------------------------ */

struct srv_journal_stats {
	uint64_t size;             /* end of the journal: next append offset */
	uint64_t durable;          /* bytes known to be on stable storage */
	uint64_t records;          /* records in the file, HEADER included */
	uint64_t pending_bytes;    /* framed, not yet committed */
	uint64_t pending_records;
	uint64_t commits;          /* commits that wrote a batch */
	uint64_t commit_failures;  /* commits that returned COLLAB_EIO */
	uint64_t records_written;  /* by commits since open */
	uint64_t bytes_written;
	uint64_t syncs;            /* successful fdatasyncs of the journal
				    * (commits, ticks, open, close) */
	uint64_t sync_failures;    /* failed ones */
	uint64_t sync_ns_last;     /* latency of the last fdatasync, ns */
	uint64_t sync_ns_max;
	uint64_t sync_ns_total;
	uint64_t compactions;      /* successful compactions */
	uint64_t compact_ns_last;  /* begin to commit, last compaction */
	uint64_t compact_bytes_last;  /* size of the file it produced */
	uint64_t dropped_committed;   /* bytes of earlier successful commits
				       * dropped by a cut after a failed
				       * fdatasync (RELAXED/NONE; see
				       * FAILURES) */
	bool writable;             /* false in the FAILED state */
};

/* The journal; caller-owned, fields private. */
struct srv_journal {
	struct srv_journal_config cfg;
	int dirfd;
	int lockfd;
	int fd;
	uint64_t end;              /* next append offset */
	uint64_t durable;          /* synced up to here */
	uint64_t records;          /* records in [0, end) */
	uint64_t records_durable;  /* records in [0, durable) */
	struct collab_buf pending; /* the framed batch */
	uint64_t pending_records;
	uint64_t last_sync_ms;     /* RELAXED: tick clock of the last sync */
	bool tick_started;
	bool failed;               /* FAILED state: no more writes */
	bool compacting;
	bool is_open;
	char epoch[SRV_JOURNAL_EPOCH_LEN + 1];
	uint64_t created_at_ms;
	struct srv_journal_stats st;
	char msg[SRV_JOURNAL_MSG_MAX];
};

/* What open found and did, for the server's log. */
struct srv_journal_report {
	bool created;              /* a new journal and a NEW epoch */
	bool leftover_removed;     /* deleted an interrupted journal.compact */
	uint64_t records;          /* caller records replayed (HEADER not
				    * counted) */
	uint64_t bytes;            /* journal size once open */
	uint64_t torn_offset;      /* where a torn tail was cut ... */
	uint64_t torn_bytes;       /* ... and its size; 0: none */
	bool repaired;             /* corruption moved aside (cfg.repair) */
	bool replay_failed;        /* ... because on_record rejected the
				    * record at corrupt_offset */
	uint64_t corrupt_offset;   /* where the corruption began */
	uint64_t moved_bytes;      /* bytes moved aside */
	char moved_to[64];         /* the file name in the directory */
	uint64_t recover_ns;       /* time spent in open */
	char msg[SRV_JOURNAL_MSG_MAX];  /* one log line: what recovery did
					 * beyond the ordinary, or why open
					 * failed; "" when nothing to say */
};

/*
 * Opens (creating when needed) the data directory cfg->dir, locks it, and
 * either creates a journal with a new epoch (written to journal.compact,
 * fdatasynced, renamed into place, directory fsynced) or recovers the
 * existing one: each good record of a caller type is passed to on_record
 * (may be NULL) in order, then a torn tail is cut, and corruption fails or
 * (cfg->repair) is moved aside to journal.corrupt-<ms> (the tail copied
 * there and fsynced, then the journal cut back; if the HEADER itself is
 * damaged, everything is moved and a new journal with a new epoch made).
 * The recovered journal is fdatasynced once before open returns, so what
 * the caller rebuilt from it is durable. cfg is copied; cfg->dir must
 * outlive j. report may be NULL.
 *
 * Returns 0, or (j is then closed, and whatever on_record built from the
 * records it saw MUST be discarded):
 *   COLLAB_EEXIST   the directory is locked by another open journal
 *   COLLAB_ECORRUPT corruption and no cfg->repair (offset and reason in
 *                   report->msg), or on_record returned COLLAB_ECORRUPT
 *                   and no cfg->repair (see REPLAY FAILURES)
 *   COLLAB_EPROTO   a journal of an unsupported format
 *   COLLAB_EIO      a system call failed (report->msg names it and errno)
 *   COLLAB_ENOMEM, COLLAB_ERANDOM (no epoch could be drawn)
 *   COLLAB_EINVAL   NULL j/cfg/dir, or a config value out of range
 *   on_record's non-zero return
 */
int srv_journal_open(struct srv_journal *j,
		     const struct srv_journal_config *cfg,
		     srv_journal_record_fn on_record, void *ctx,
		     struct srv_journal_report *report);

/*
 * Adds one record to the pending batch (no I/O). type MUST be at least
 * SRV_JOURNAL_TYPE_MIN_APP. payload may be NULL only when len is 0; it is
 * copied. Returns 0; COLLAB_EINVAL (bad type, NULL payload, j not open);
 * COLLAB_ELIMIT (len above max_record, or the batch would exceed
 * max_batch); COLLAB_ENOMEM; COLLAB_EIO in the FAILED state; COLLAB_ESTATE
 * during a compaction. On failure the batch is unchanged.
 */
int srv_journal_append(struct srv_journal *j, uint8_t type,
		       const void *payload, size_t len);

/* Drops the pending batch without writing it. */
void srv_journal_discard(struct srv_journal *j);

/*
 * Writes the pending batch at the end of the journal and, in STRICT mode,
 * fdatasyncs it (see GROUP COMMIT and FAILURES above). An empty batch is a
 * no-op returning 0. Returns 0 (the batch is written, and durable in
 * STRICT mode); COLLAB_EIO (batch dropped, journal cut back, message in
 * srv_journal_message(); in the FAILED state every call returns it);
 * COLLAB_ESTATE during a compaction; COLLAB_EINVAL if j is not open. The
 * batch is empty afterwards in every case but ESTATE/EINVAL.
 */
int srv_journal_commit(struct srv_journal *j);

/*
 * RELAXED mode's timer: call it periodically (say every 100-1000 ms) with
 * a monotonic clock in milliseconds. Syncs when data is unsynced and
 * cfg.sync_interval_ms have passed since the last sync (the first call
 * only starts the clock). A no-op in the other modes and in the FAILED
 * state. Returns 0 or COLLAB_EIO (a failed fdatasync, handled as above).
 */
int srv_journal_tick(struct srv_journal *j, uint64_t now_ms);

/* fdatasyncs now if anything is unsynced, in any mode (for shutdown, or a
 * caller that wants a durable point). Returns 0 or COLLAB_EIO. */
int srv_journal_sync(struct srv_journal *j);

/*
 * true when a compaction is due: the journal is over cfg.compact_threshold
 * bytes and over cfg.compact_ratio times live_bytes, the caller's estimate
 * of what a compaction would write. false while writes fail.
 */
bool srv_journal_should_compact(const struct srv_journal *j,
				uint64_t live_bytes);

/*
 * Enters the FAILED state (every later append, commit and compaction
 * fails with COLLAB_EIO until restart) with why as the message, for a
 * caller that cannot bring the file back in line with its memory (see
 * FAILURES). why may be NULL. No-op when j is not open.
 */
void srv_journal_set_failed(struct srv_journal *j, const char *why);

/* false in the FAILED state (and when j is not open). */
bool srv_journal_writable(const struct srv_journal *j);

/* The epoch, 36 lowercase characters NUL-terminated, valid while j is
 * open; "" when it is not. */
const char *srv_journal_epoch(const struct srv_journal *j);

/* unix ms when the epoch was created (from the HEADER). */
uint64_t srv_journal_created_at_ms(const struct srv_journal *j);

/* The last failure's one-line message ("" if none), valid until the next
 * call on j. */
const char *srv_journal_message(const struct srv_journal *j);

/* Fills *st. */
void srv_journal_stats(const struct srv_journal *j,
		       struct srv_journal_stats *st);

/*
 * Syncs unsynced data in STRICT and RELAXED mode (not NONE), drops any
 * pending batch, closes the files and releases the lock. A compaction in
 * progress MUST be aborted first (else its journal.compact stays until
 * the next open deletes it). Returns 0, or COLLAB_EIO when that last sync
 * failed (the journal is closed all the same). Safe on a journal whose
 * open failed, and twice; j MUST have been passed to srv_journal_open().
 */
int srv_journal_close(struct srv_journal *j);

/* ---- compaction ------------------------------------------------------- */

struct srv_journal_compact {
	struct srv_journal *j;
	int fd;                    /* journal.compact */
	uint64_t flushed;          /* bytes written to fd */
	uint64_t records;          /* records in the new file */
	struct collab_buf buf;     /* framed, not yet written */
	int err;                   /* sticky first error */
	uint64_t start_ns;
	char epoch[SRV_JOURNAL_EPOCH_LEN + 1];  /* of the new file */
	uint64_t created_at_ms;
};

/*
 * Starts writing a new journal to journal.compact with a HEADER of the same
 * epoch. No commit may happen until commit or abort: there MUST be no
 * pending batch (COLLAB_ESTATE otherwise) and append/commit on j return
 * COLLAB_ESTATE meanwhile. Returns 0, COLLAB_ESTATE (pending batch, or a
 * compaction already running), COLLAB_EIO (also in the FAILED state),
 * COLLAB_ENOMEM, COLLAB_EINVAL.
 */
int srv_journal_compact_begin(struct srv_journal *j,
			      struct srv_journal_compact *c);

/*
 * The same, but the new journal gets a NEW epoch (a fresh UUID v4 and
 * createdAt now), which becomes j's epoch once commit succeeds (j keeps
 * the old one if it fails). For a caller whose history went back (repair):
 * every client of the old epoch then gets a snapshot (PROTOCOL.md 8).
 * Returns what srv_journal_compact_begin() does, or COLLAB_ERANDOM.
 */
int srv_journal_compact_begin_new_epoch(struct srv_journal *j,
					struct srv_journal_compact *c);

/* Adds a record to the new journal (buffered; written in compact_buffer
 * pieces). Same arguments and checks as srv_journal_append(). Errors are
 * sticky: commit then fails with the first one. */
int srv_journal_compact_append(struct srv_journal_compact *c, uint8_t type,
			       const void *payload, size_t len);

/*
 * Finishes: writes the rest, fdatasyncs, renames over journal, fsyncs the
 * directory, and switches j to the new file (appends continue at its end).
 * On failure before the rename the compaction is aborted and j continues
 * on the old journal (COLLAB_EIO, or the sticky append error). If only the
 * directory fsync fails, j switches to the new file but enters the FAILED
 * state (the rename may not be durable, so later appends could vanish with
 * it). Returns 0 or the error; c is finished either way.
 */
int srv_journal_compact_commit(struct srv_journal_compact *c);

/* Abandons the compaction and deletes journal.compact. Safe after a
 * failed commit (then a no-op). */
void srv_journal_compact_abort(struct srv_journal_compact *c);

#endif
