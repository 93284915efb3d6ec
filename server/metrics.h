/*
 * metrics.h - collab-server's counters and their two renderings for the
 * admin listener: GET /usage (JSON) and GET /metrics (Prometheus text
 * format 0.0.4). PROTOCOL.md section 9.
 *
 * Per tenant, counted since start:
 *   messages   pubSubMessageCount: data messages (text or binary; never
 *              ping, pong or close) queued for sending to a connection of
 *              the tenant. A batch counts once per connection it is queued
 *              for; a slow consumer's discarded messages still count,
 *              because they were queued.
 *   bytes      pubSubBandwidth: those messages' bytes as framed, WebSocket
 *              frame headers included, before TLS.
 *   ops[]      operations by result: accepted, or rejected with one of the
 *              error codes of PROTOCOL.md 4.
 * The open-connection count of a tenant is not kept here: it is the
 * registry's srv_tenant.connections (one counter, also used for the
 * tenant's limit), which the renderers read.
 *
 * Global: rooms in memory, and journal figures the journal fills in.
 *
 * The server calls srv_metrics_on_queued() for every data message it
 * queues to a connection (or srv_metrics_on_queued_n() once for a frame
 * queued to n connections of one tenant, e.g. a room broadcast) and
 * srv_metrics_on_op() for every operation it answers. Counters are plain
 * uint64_t: they belong to the loop thread, and 2^64 messages or bytes are
 * not reached in any server's lifetime.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "collab/buf.h"
#include "collab/common.h"
#include "tenant.h"

/* Content-Type of the /metrics response. */
#define SRV_METRICS_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Content-Type of the /usage response. */
#define SRV_METRICS_USAGE_CONTENT_TYPE "application/json"

/* Results of an operation: accepted, or the error codes of PROTOCOL.md 4.
 * SRV_METRICS_RESULTS is their count. */
enum srv_metrics_result {
	SRV_METRICS_ACCEPTED = 0,
	SRV_METRICS_INVALID,
	SRV_METRICS_FORBIDDEN,
	SRV_METRICS_NOT_FOUND,
	SRV_METRICS_CONFLICT,
	SRV_METRICS_TOO_LARGE,
	SRV_METRICS_RATE_LIMITED,
	SRV_METRICS_UNAVAILABLE,
	SRV_METRICS_RESULTS
};

struct srv_metrics_tenant {
	uint64_t messages;                   /* pubSubMessageCount */
	uint64_t bytes;                      /* pubSubBandwidth */
	uint64_t ops[SRV_METRICS_RESULTS];   /* by enum srv_metrics_result */
};

/* Journal figures, copied from srv_journal_stats (journal.h) before each
 * rendering: bytes = size, records = records_written, fsyncs = syncs,
 * fsync_failures = sync_failures, last_fsync_ns = sync_ns_last. */
struct srv_metrics_journal {
	uint64_t bytes;            /* gauge: current size of the journal */
	uint64_t records;          /* counter: records appended since start */
	uint64_t fsyncs;           /* counter: successful fdatasync calls */
	uint64_t fsync_failures;   /* counter: failed fdatasync calls */
	uint64_t last_fsync_ns;    /* gauge: duration of the last fdatasync,
				    * nanoseconds (ms would round most SSD
				    * syncs to 0; srv_journal_stats has ns) */
};

struct srv_metrics {
	const struct srv_tenant_registry *reg; /* tenants, file order */
	struct srv_metrics_tenant *tenants;    /* reg->n entries, same order */
	size_t n;
	uint64_t rooms;                        /* gauge: rooms in memory */
	struct srv_metrics_journal journal;
	const struct collab_alloc *a;
};

/*
 * Binds m to reg (which MUST outlive m and keep its tenants: the registry
 * is fixed for the server's life) and allocates one zeroed counter set per
 * tenant through a (NULL: collab_alloc_default()). Returns 0,
 * COLLAB_ENOMEM, or COLLAB_EINVAL (NULL m or reg). On failure m is empty
 * and may be freed.
 */
int srv_metrics_init(struct srv_metrics *m, const struct collab_alloc *a,
		     const struct srv_tenant_registry *reg);

/* Frees the counters; m is empty after. NULL is a no-op. */
void srv_metrics_free(struct srv_metrics *m);

/* The counters of tenant t (by t->index), or NULL when t is not one of
 * the registry's tenants. Valid until srv_metrics_free(). */
struct srv_metrics_tenant *srv_metrics_tenant(struct srv_metrics *m,
					      const struct srv_tenant *t);

/* One data message of frame_bytes bytes (frame header included) queued to
 * one connection of the tenant. */
static inline void srv_metrics_on_queued(struct srv_metrics_tenant *mt,
					 size_t frame_bytes)
{
	mt->messages++;
	mt->bytes += frame_bytes;
}

/* The same frame queued to n connections of the tenant. */
static inline void srv_metrics_on_queued_n(struct srv_metrics_tenant *mt,
					   uint64_t n, size_t frame_bytes)
{
	mt->messages += n;
	mt->bytes += n * (uint64_t)frame_bytes;
}

/* One operation answered with result r (r MUST be < SRV_METRICS_RESULTS).
 * An answered retry (PROTOCOL.md 4) is neither and is not counted. */
static inline void srv_metrics_on_op(struct srv_metrics_tenant *mt,
				     enum srv_metrics_result r)
{
	mt->ops[r]++;
}

/* "accepted", "invalid", "forbidden", "not-found", "conflict",
 * "too-large", "rate-limited", "unavailable" (static); NULL for an
 * out-of-range value. The error codes are PROTOCOL.md 4's exact strings. */
const char *srv_metrics_result_name(enum srv_metrics_result r);

/*
 * The result named code[0..len) (an error code of PROTOCOL.md 4, or
 * "accepted") into *r. Returns 0 or COLLAB_ENOTFOUND.
 */
int srv_metrics_result_from_name(const char *code, size_t len,
				 enum srv_metrics_result *r);

/*
 * Appends the GET /usage body to out: a JSON array with one object per
 * configured tenant, in the order of the tenants file, zeros included:
 *   [{"tenantId":"demo","pubSubMessageCount":12,"pubSubBandwidth":3456}]
 * Written by the JSON writer, so it is always valid JSON. The worst-case
 * size (2 + per tenant 128 + 6 * id length) is reserved first, so out's
 * max must allow that much. Returns 0, COLLAB_ELIMIT (out's max reached),
 * COLLAB_ENOMEM or COLLAB_EINVAL (NULL m or out); on failure out's length
 * and contents are as they were.
 */
int srv_metrics_render_usage(const struct srv_metrics *m,
			     struct collab_buf *out);

/*
 * Appends the GET /metrics body to out, in the Prometheus text exposition
 * format 0.0.4: for each family a "# HELP" and a "# TYPE" line, then its
 * samples, one per line, each line ending with '\n':
 *   collab_pubsub_messages_total{tenant="T"}          counter
 *   collab_pubsub_bytes_total{tenant="T"}             counter
 *   collab_connections{tenant="T"}                    gauge
 *   collab_operations_total{tenant="T",result="R"}    counter, R is
 *                      "accepted" or each error code, always all eight
 *   collab_rooms                                      gauge
 *   collab_journal_bytes                              gauge
 *   collab_journal_records_total                      counter
 *   collab_journal_fsyncs_total                       counter
 *   collab_journal_fsync_failures_total               counter
 *   collab_journal_last_fsync_seconds                 gauge, 9 decimals
 * Tenants in file order; label values escaped as the format requires
 * (backslash, double quote, newline). Returns as render_usage (the
 * buffer grows as needed).
 */
int srv_metrics_render_prometheus(const struct srv_metrics *m,
				  struct collab_buf *out);

#endif
