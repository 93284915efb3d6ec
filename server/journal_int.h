/*
 * journal_int.h - what journal.c, journal_scan.c and journal_compact.c
 * share. Private to the journal module.
 */
#ifndef SRV_JOURNAL_INT_H
#define SRV_JOURNAL_INT_H

#include "journal.h"

/* Longest HEADER payload we write: the JSON of journal.h with three
 * 20-digit numbers. */
#define SRV_JOURNAL_HEADER_JSON_MAX 160u

static inline void srv_journal_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t srv_journal_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Frames a record into b (which grows; unchanged on failure). */
int srv_journal_int_frame_buf(struct collab_buf *b, uint8_t type,
			      const void *payload, size_t len);

/* The HEADER payload for epoch (36 chars) and the times (compacted_at 0:
 * member left out) into out[0..SRV_JOURNAL_HEADER_JSON_MAX). */
int srv_journal_int_header_json(const char *epoch, uint64_t created_at_ms,
				uint64_t compacted_at_ms, uint8_t *out,
				size_t cap, size_t *len);

/* Writes all of p[0..n) at off through io, retrying EINTR and short
 * writes. 0, or -1 with errno set (a zero-byte write counts as EIO). */
int srv_journal_int_write_all(const struct srv_journal_io *io, int fd,
			      const void *p, size_t n, uint64_t off);

/* Clocks: CLOCK_MONOTONIC in ns (latencies), CLOCK_REALTIME in ms. */
uint64_t srv_journal_int_mono_ns(void);
uint64_t srv_journal_int_real_ms(void);

/* snprintf into j->msg (and nothing else). */
void srv_journal_int_msg(struct srv_journal *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Enters the FAILED state with a message. */
void srv_journal_int_fail(struct srv_journal *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Writes a complete new journal (HEADER with j->epoch and created_at, plus
 * compacted_at when non-zero) to journal.compact, fdatasyncs it, renames it
 * over journal and fsyncs the directory. On success *fd_out is the new
 * file, open read-write, and *size_out its size. Used when creating a
 * journal; compaction goes through the public calls.
 */
int srv_journal_int_create_file(struct srv_journal *j, int *fd_out,
				uint64_t *size_out);

#endif
