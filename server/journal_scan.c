/*
 * journal_scan.c - reading journals: record framing, the HEADER record,
 * and the scanner that finds the good prefix and classifies what follows
 * it as a torn tail or corruption (rules T1-T4 in journal.h).
 *
 * One scanner serves recovery, collab-journal and the fuzz target. It
 * reads through a window: over a file descriptor the window is a buffer
 * refilled with large pread(2)s (cfg.read_buffer, or a whole record when
 * one is larger); over memory it is the caller's bytes themselves, so the
 * fuzzer sees every read the recovery code makes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collab/json.h"
#include "collab/uuid.h"
#include "crc32c.h"
#include "journal_int.h"

/* JSON nodes for parsing a HEADER payload: ours needs 9; a bigger header
 * (of a later writer adding members) up to this many still parses. */
#define SCAN_HEADER_NODES 64
/* Nesting allowed in a HEADER payload: an object of scalars needs 1. */
#define SCAN_HEADER_DEPTH 8

struct scan_src {
	const uint8_t *mem;     /* memory mode: the bytes (NULL: fd mode) */
	int fd;
	uint64_t size;
	size_t chunk;           /* fd mode: preferred read size */
	uint8_t *buf;           /* fd mode: the window */
	size_t cap;
	uint64_t buf_off;
	size_t buf_len;
	const struct collab_alloc *a;
};

const char *srv_journal_verdict_name(enum srv_journal_verdict v)
{
	switch (v) {
	case SRV_JOURNAL_SOUND: return "sound";
	case SRV_JOURNAL_TORN: return "torn";
	case SRV_JOURNAL_CORRUPT: return "corrupt";
	case SRV_JOURNAL_UNSUPPORTED: return "unsupported";
	}
	return "unknown";
}

/* ---- framing ---------------------------------------------------------- */

/* Fills the 13-byte frame header h for a payload already in place. */
static void frame_header(uint8_t *h, uint8_t type, const uint8_t *payload,
			 size_t len)
{
	uint32_t crc = srv_crc32c(0, &type, 1);

	crc = srv_crc32c(crc, payload, len);
	srv_journal_put_le32(h, (uint32_t)len);
	srv_journal_put_le32(h + 4, crc);
	h[8] = type;
	srv_journal_put_le32(h + 9, srv_crc32c(0, h, 9));
}

int srv_journal_frame(uint8_t type, const void *payload, size_t len,
		      uint8_t *out, size_t cap, size_t *written)
{
	if (type == 0 || (payload == NULL && len > 0) || written == NULL ||
	    (out == NULL && cap > 0))
		return COLLAB_EINVAL;
	if (len > SRV_JOURNAL_MAX_RECORD_CAP)
		return COLLAB_ELIMIT;
	if (cap < SRV_JOURNAL_FRAME_HDR || len > cap - SRV_JOURNAL_FRAME_HDR)
		return COLLAB_ESPACE;
	if (len)
		memcpy(out + SRV_JOURNAL_FRAME_HDR, payload, len);
	frame_header(out, type, out + SRV_JOURNAL_FRAME_HDR, len);
	*written = SRV_JOURNAL_FRAME_HDR + len;
	return 0;
}

int srv_journal_int_frame_buf(struct collab_buf *b, uint8_t type,
			      const void *payload, size_t len)
{
	uint8_t *rec;
	int rc;

	if (len > SRV_JOURNAL_MAX_RECORD_CAP)
		return COLLAB_ELIMIT;
	rc = collab_buf_reserve(b, SRV_JOURNAL_FRAME_HDR + len);
	if (rc != 0)
		return rc;
	rec = b->p + b->len;
	if (len)
		memcpy(rec + SRV_JOURNAL_FRAME_HDR, payload, len);
	/* the checksum is taken over our copy: exactly what gets written */
	frame_header(rec, type, rec + SRV_JOURNAL_FRAME_HDR, len);
	b->len += SRV_JOURNAL_FRAME_HDR + len;
	return 0;
}

int srv_journal_int_header_json(const char *epoch, uint64_t created_at_ms,
				uint64_t compacted_at_ms, uint8_t *out,
				size_t cap, size_t *len)
{
	struct collab_json_writer w;

	collab_json_writer_init(&w, out, cap);
	collab_json_write_obj_begin(&w);
	collab_json_write_key(&w, COLLAB_JSON_LIT("format"));
	collab_json_write_u64(&w, SRV_JOURNAL_FORMAT);
	collab_json_write_key(&w, COLLAB_JSON_LIT("epoch"));
	collab_json_write_str(&w, epoch, SRV_JOURNAL_EPOCH_LEN);
	collab_json_write_key(&w, COLLAB_JSON_LIT("createdAt"));
	collab_json_write_u64(&w, created_at_ms);
	if (compacted_at_ms) {
		collab_json_write_key(&w, COLLAB_JSON_LIT("compactedAt"));
		collab_json_write_u64(&w, compacted_at_ms);
	}
	collab_json_write_obj_end(&w);
	return collab_json_writer_finish(&w, len);
}

/* ---- the window ------------------------------------------------------- */

/* Points *out at bytes [off, off + n) of the source. The caller has
 * checked n <= size - off. Returns 0, COLLAB_ENOMEM or COLLAB_EIO. */
static int src_get(struct scan_src *s, uint64_t off, size_t n,
		   const uint8_t **out)
{
	size_t want, got = 0;

	if (s->mem != NULL) {
		*out = s->mem + off;
		return 0;
	}
	if (off >= s->buf_off && off - s->buf_off <= s->buf_len &&
	    n <= s->buf_len - (size_t)(off - s->buf_off)) {
		*out = s->buf + (off - s->buf_off);
		return 0;
	}
	want = n > s->chunk ? n : s->chunk;
	if (want > s->size - off)
		want = (size_t)(s->size - off);
	if (want > s->cap) {
		uint8_t *nb = s->a->alloc(s->a->ctx, want);
		if (nb == NULL)
			return COLLAB_ENOMEM;
		if (s->buf != NULL)
			s->a->free(s->a->ctx, s->buf, s->cap);
		s->buf = nb;
		s->cap = want;
	}
	s->buf_len = 0;
	while (got < want) {
		ssize_t r = pread(s->fd, s->buf + got, want - got,
				  (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return COLLAB_EIO;
		if (r == 0) {
			/* the file shrank under us: not a journal at rest */
			errno = ESTALE;
			return COLLAB_EIO;
		}
		got += (size_t)r;
	}
	s->buf_off = off;
	s->buf_len = want;
	*out = s->buf;
	return 0;
}

/* Sets *zero to whether every byte in [from, size) is zero (true for an
 * empty range). */
static int src_zero_from(struct scan_src *s, uint64_t from, bool *zero)
{
	uint64_t off = from;

	*zero = true;
	while (off < s->size) {
		uint64_t left = s->size - off;
		size_t k = s->mem != NULL || left < s->chunk ? (size_t)left
							     : s->chunk;
		const uint8_t *p;
		int rc = src_get(s, off, k, &p);
		if (rc != 0)
			return rc;
		for (size_t i = 0; i < k; i++) {
			if (p[i] != 0) {
				*zero = false;
				return 0;
			}
		}
		off += k;
	}
	return 0;
}

/* ---- the scanner ------------------------------------------------------ */

static void set_reason(struct srv_journal_scan *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_reason(struct srv_journal_scan *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* The prefix ends at off. Damage at offset 0 is never a torn tail: a
 * journal comes into being whole, by rename. */
static void verdict_at(struct srv_journal_scan *out, uint64_t off,
		       enum srv_journal_verdict v)
{
	out->good_end = off;
	if (off == 0 && v == SRV_JOURNAL_TORN) {
		char why[SRV_JOURNAL_MSG_MAX];
		memcpy(why, out->reason, sizeof(why));
		set_reason(out, "HEADER record damaged: %s", why);
		v = SRV_JOURNAL_CORRUPT;
	}
	out->verdict = v;
}

/* Checks the HEADER payload; returns the verdict it implies and fills the
 * epoch fields when sound. */
static enum srv_journal_verdict parse_header(const uint8_t *p, size_t len,
					     struct srv_journal_scan *out)
{
	struct collab_json_node nodes[SCAN_HEADER_NODES];
	struct collab_json_config jc;
	struct collab_json_doc doc;
	struct collab_uuid u;
	char text[SRV_JOURNAL_EPOCH_LEN];
	size_t tlen;
	uint32_t root;
	int64_t format;
	int rc;

	collab_json_config_init(&jc);
	if (len > COLLAB_JSON_MAX_INPUT_CAP) {
		set_reason(out, "HEADER payload of %zu bytes is too long", len);
		return SRV_JOURNAL_CORRUPT;
	}
	jc.max_input = len;
	jc.max_depth = SCAN_HEADER_DEPTH;
	rc = collab_json_parse(&jc, p, len, nodes, SCAN_HEADER_NODES, &doc);
	if (rc != 0) {
		set_reason(out, "HEADER payload is not JSON (%s at byte %zu)",
			   collab_strerror(rc), doc.err_off);
		return SRV_JOURNAL_CORRUPT;
	}
	root = collab_json_root(&doc);
	if (collab_json_type(&doc, root) != COLLAB_JSON_OBJECT) {
		set_reason(out, "HEADER payload is not a JSON object");
		return SRV_JOURNAL_CORRUPT;
	}
	rc = collab_json_get_i64(&doc, collab_json_obj_get(&doc, root,
			COLLAB_JSON_LIT("format")), &format);
	if (rc == 0 && format != SRV_JOURNAL_FORMAT) {
		set_reason(out, "journal format %" PRId64 " is not supported "
			   "(this build reads format %d)", format,
			   SRV_JOURNAL_FORMAT);
		return SRV_JOURNAL_UNSUPPORTED;
	}
	if (rc == COLLAB_ERANGE) {
		set_reason(out, "journal format out of range (this build reads "
			   "format %d)", SRV_JOURNAL_FORMAT);
		return SRV_JOURNAL_UNSUPPORTED;
	}
	if (rc != 0) {
		set_reason(out, "HEADER has no integer \"format\"");
		return SRV_JOURNAL_CORRUPT;
	}
	rc = collab_json_str(
		&doc, collab_json_obj_get(&doc, root, COLLAB_JSON_LIT("epoch")),
		(uint8_t *)text, sizeof(text), &tlen);
	if (rc != 0 || collab_uuid_parse(text, tlen, &u) != 0) {
		set_reason(out, "HEADER has no UUID \"epoch\"");
		return SRV_JOURNAL_CORRUPT;
	}
	if (collab_json_get_u64(
		    &doc,
		    collab_json_obj_get(&doc, root,
					COLLAB_JSON_LIT("createdAt")),
		    &out->created_at_ms) != 0) {
		set_reason(out, "HEADER has no integer \"createdAt\"");
		return SRV_JOURNAL_CORRUPT;
	}
	collab_uuid_format(&u, out->epoch, sizeof(out->epoch));
	out->header_ok = true;
	return SRV_JOURNAL_SOUND;
}

/*
 * The loop. Each record is checked in the order its fields can be
 * trusted: the frame header's own checksum first (so no length is used
 * before it is verified), then type and length limits, then whether the
 * record fits in the file, then the payload checksum.
 */
static int scan_core(struct scan_src *s, size_t max_record,
		     srv_journal_record_fn fn, void *ctx,
		     struct srv_journal_scan *out)
{
	uint64_t off = 0;
	int rc;

	out->size = s->size;
	if (s->size == 0) {
		set_reason(out, "empty file: no HEADER record");
		verdict_at(out, 0, SRV_JOURNAL_CORRUPT);
		return 0;
	}
	while (off < s->size) {
		uint64_t rem = s->size - off;
		const uint8_t *h, *rec;
		uint32_t len, crc;
		uint8_t type;
		bool zero;

		if (rem < SRV_JOURNAL_FRAME_HDR) {          /* rule T1 */
			set_reason(out,
				   "file ends inside a record frame header "
				   "(%" PRIu64 " of %u bytes)",
				   rem, SRV_JOURNAL_FRAME_HDR);
			verdict_at(out, off, SRV_JOURNAL_TORN);
			return 0;
		}
		rc = src_get(s, off, SRV_JOURNAL_FRAME_HDR, &h);
		if (rc != 0)
			return rc;
		len = srv_journal_get_le32(h);
		crc = srv_journal_get_le32(h + 4);
		type = h[8];
		if (srv_crc32c(0, h, 9) != srv_journal_get_le32(h + 9)) {
			rc = src_zero_from(s, off + SRV_JOURNAL_FRAME_HDR,
					   &zero);
			if (rc != 0)
				return rc;
			if (zero) {                          /* rule T4 */
				set_reason(
					out,
					"record frame header checksum "
					"mismatch, only zero bytes after it");
				verdict_at(out, off, SRV_JOURNAL_TORN);
			} else {
				set_reason(out, "record frame header checksum "
					   "mismatch");
				verdict_at(out, off, SRV_JOURNAL_CORRUPT);
			}
			return 0;
		}
		if (type == 0) {
			set_reason(out, "record type 0 is reserved");
			verdict_at(out, off, SRV_JOURNAL_CORRUPT);
			return 0;
		}
		if (len > max_record) {
			set_reason(out, "record length %" PRIu32 " exceeds "
				   "max_record %zu", len, max_record);
			verdict_at(out, off, SRV_JOURNAL_CORRUPT);
			return 0;
		}
		if (off == 0 && type != SRV_JOURNAL_TYPE_HEADER) {
			set_reason(out,
				   "first record has type %u, not HEADER (%u)",
				   type, SRV_JOURNAL_TYPE_HEADER);
			verdict_at(out, off, SRV_JOURNAL_CORRUPT);
			return 0;
		}
		if (off != 0 && type == SRV_JOURNAL_TYPE_HEADER) {
			set_reason(out,
				   "HEADER record (type %u) after offset 0",
				   SRV_JOURNAL_TYPE_HEADER);
			verdict_at(out, off, SRV_JOURNAL_CORRUPT);
			return 0;
		}
		if (len > rem - SRV_JOURNAL_FRAME_HDR) {   /* rule T2 */
			set_reason(out,
				   "record of %" PRIu32 " payload bytes runs "
				   "past the end of the file (%" PRIu64
				   " present)",
				   len, rem - SRV_JOURNAL_FRAME_HDR);
			verdict_at(out, off, SRV_JOURNAL_TORN);
			return 0;
		}
		rc = src_get(s, off, SRV_JOURNAL_FRAME_HDR + (size_t)len, &rec);
		if (rc != 0)
			return rc;
		if (srv_crc32c(srv_crc32c(0, rec + 8, 1),
			       rec + SRV_JOURNAL_FRAME_HDR, len) != crc) {
			uint64_t e = off + SRV_JOURNAL_FRAME_HDR + len;
			rc = src_zero_from(s, e, &zero);
			if (rc != 0)
				return rc;
			if (zero) {                          /* rule T3 */
				set_reason(out,
					   "payload checksum mismatch in the "
					   "last record%s",
					   e == s->size ? ""
							: " (only zero bytes "
							  "after it)");
				verdict_at(out, off, SRV_JOURNAL_TORN);
			} else {
				set_reason(out, "payload checksum mismatch");
				verdict_at(out, off, SRV_JOURNAL_CORRUPT);
			}
			return 0;
		}
		if (off == 0) {
			enum srv_journal_verdict v = parse_header(
				rec + SRV_JOURNAL_FRAME_HDR, len, out);
			if (v != SRV_JOURNAL_SOUND) {
				verdict_at(out, 0, v);
				return 0;
			}
		}
		if (fn != NULL) {
			out->good_end = off;
			rc = fn(ctx, type, rec + SRV_JOURNAL_FRAME_HDR, len,
				off);
			if (rc != 0)
				return rc;
		}
		out->records++;
		off += SRV_JOURNAL_FRAME_HDR + (uint64_t)len;
	}
	out->good_end = off;
	out->verdict = SRV_JOURNAL_SOUND;
	return 0;
}

static void scan_reset(struct srv_journal_scan *out)
{
	memset(out, 0, sizeof(*out));
	out->verdict = SRV_JOURNAL_SOUND;
}

static size_t cfg_max_record(const struct srv_journal_config *cfg)
{
	return cfg != NULL ? cfg->max_record : SRV_JOURNAL_DEFAULT_MAX_RECORD;
}

int srv_journal_scan_mem(const uint8_t *p, size_t len,
			 const struct srv_journal_config *cfg,
			 srv_journal_record_fn fn, void *ctx,
			 struct srv_journal_scan *out)
{
	struct scan_src s;
	static const uint8_t none[1] = { 0 };

	if (out == NULL || (p == NULL && len > 0) ||
	    (cfg != NULL && cfg->max_record > SRV_JOURNAL_MAX_RECORD_CAP))
		return COLLAB_EINVAL;
	scan_reset(out);
	memset(&s, 0, sizeof(s));
	s.mem = p != NULL ? p : none;
	s.fd = -1;
	s.size = len;
	return scan_core(&s, cfg_max_record(cfg), fn, ctx, out);
}

int srv_journal_scan_fd(int fd, const struct srv_journal_config *cfg,
			srv_journal_record_fn fn, void *ctx,
			struct srv_journal_scan *out)
{
	struct scan_src s;
	struct stat st;
	int rc;

	if (fd < 0 || out == NULL ||
	    (cfg != NULL && (cfg->max_record > SRV_JOURNAL_MAX_RECORD_CAP ||
			     cfg->read_buffer == 0)))
		return COLLAB_EINVAL;
	scan_reset(out);
	memset(&s, 0, sizeof(s));
	s.fd = fd;
	s.a = cfg != NULL && cfg->alloc != NULL ? cfg->alloc
						: collab_alloc_default();
	s.chunk = cfg != NULL ? cfg->read_buffer
			      : SRV_JOURNAL_DEFAULT_READ_BUFFER;
	if (fstat(fd, &st) != 0)
		return COLLAB_EIO;
	s.size = (uint64_t)st.st_size;
	rc = scan_core(&s, cfg_max_record(cfg), fn, ctx, out);
	if (s.buf != NULL)
		s.a->free(s.a->ctx, s.buf, s.cap);
	return rc;
}
