/*
 * persist.c - the server's records in the journal (journal.h knows
 * nothing of them): one EVENT record per accepted operation, and at
 * compaction STATE, RING and TOMB records holding each room's live state,
 * retained events and freed rooms' seqs (server.h lists the shapes).
 * Recovery at start replays them into the room registry before the
 * listening lines are printed (PROTOCOL.md 8).
 *
 * The payloads are JSON objects so that `collab-journal dump` shows them
 * readably; the server writes them with the JSON writer in one fixed
 * layout, {"tenantId":"..","urlId":"..","<member>":<value>}, and reads
 * them back by that layout (the CRC already vouches for the bytes), so
 * recovery parses each event once, in ops.h, not twice.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "collab/json.h"
#include "server.h"

/* Bytes around the room key and value in a record. */
#define REC_SLACK 64u

/* ---- writing ---------------------------------------------------------------------- */

/* The record for (room key, member, raw JSON value) in srv->rec. */
static int rec_build(struct srv_server *srv, struct collab_str tenant,
		     struct collab_str url, const char *member,
		     const uint8_t *value, size_t vlen, size_t *out_len)
{
	struct collab_json_writer w;
	size_t cap;
	int rc;

	/* every url byte may be escaped to 6 */
	if (url.len > (SIZE_MAX - REC_SLACK - tenant.len) / 6 ||
	    vlen > SIZE_MAX - REC_SLACK - tenant.len - 6 * url.len)
		return COLLAB_ENOMEM;
	cap = REC_SLACK + tenant.len + 6 * url.len + strlen(member) + vlen;
	collab_buf_reset(&srv->rec);
	rc = collab_buf_reserve(&srv->rec, cap);
	if (rc != 0)
		return rc;
	collab_json_writer_init(&w, srv->rec.p, cap);
	collab_json_write_obj_begin(&w);
	collab_json_write_key(&w, "tenantId", 8);
	collab_json_write_str(&w, tenant.p, tenant.len);
	collab_json_write_key(&w, "urlId", 5);
	collab_json_write_str(&w, url.p, url.len);
	collab_json_write_key(&w, member, strlen(member));
	collab_json_write_raw(&w, (const char *)value, vlen);
	collab_json_write_obj_end(&w);
	return collab_json_writer_finish(&w, out_len);
}

int srv_persist_event(struct srv_server *srv, const struct srv_room *room,
		      const uint8_t *ev, size_t len)
{
	size_t n = 0;
	int rc = rec_build(srv, srv_room_tenant(room), srv_room_url(room),
			   "event", ev, len, &n);

	if (rc == 0)
		rc = srv_journal_append(&srv->journal, SRV_REC_EVENT,
					srv->rec.p, n);
	return rc;
}

/* ---- reading ------------------------------------------------------------------------ */

struct rec_view {
	struct collab_str tenant;
	struct collab_str url;
	const uint8_t *value;
	size_t vlen;
	char url_buf[SRV_SERVER_URL_MAX];
};

static bool take(const uint8_t *p, size_t len, size_t *pos, const char *lit)
{
	size_t n = strlen(lit);

	if (len - *pos < n || memcmp(p + *pos, lit, n) != 0)
		return false;
	*pos += n;
	return true;
}

/* Splits a record of the layout rec_build() writes. */
static int rec_split(const uint8_t *p, size_t len, const char *member,
		     struct rec_view *v, const char **why)
{
	struct collab_json_node nodes[2];
	struct collab_json_doc doc;
	size_t pos = 0, start, ulen = 0;
	bool esc = false;
	char lit[32];

	*why = "not a record of this server";
	if (!take(p, len, &pos, "{\"tenantId\":\""))
		return COLLAB_ECORRUPT;
	start = pos;
	while (pos < len && p[pos] != '"' && p[pos] != '\\')
		pos++;
	if (pos == len || p[pos] != '"' || pos == start ||
	    pos - start > SRV_TENANT_ID_MAX)
		return COLLAB_ECORRUPT;
	v->tenant = (struct collab_str){ (const char *)p + start, pos - start };
	pos++;
	if (!take(p, len, &pos, ",\"urlId\":\""))
		return COLLAB_ECORRUPT;
	start = pos - 1;   /* the opening quote */
	while (pos < len && p[pos] != '"') {
		if (p[pos] == '\\') {
			esc = true;
			pos++;
		}
		pos++;
	}
	if (pos >= len)
		return COLLAB_ECORRUPT;
	pos++;             /* past the closing quote */
	if (!esc) {
		v->url = (struct collab_str){ (const char *)p + start + 1,
					      pos - start - 2 };
	} else {
		/* an escaped urlId: the JSON reader decodes that string */
		if (collab_json_parse(NULL, p + start, pos - start, nodes, 2,
				      &doc) != 0 ||
		    collab_json_str(&doc, 0, (uint8_t *)v->url_buf,
				    sizeof(v->url_buf), &ulen) != 0) {
			*why = "bad urlId";
			return COLLAB_ECORRUPT;
		}
		v->url = (struct collab_str){ v->url_buf, ulen };
	}
	if (v->url.len == 0 || v->url.len > SRV_SERVER_URL_MAX) {
		*why = "bad urlId";
		return COLLAB_ECORRUPT;
	}
	(void)snprintf(lit, sizeof(lit), ",\"%s\":", member);
	if (!take(p, len, &pos, lit) || pos >= len || p[len - 1] != '}') {
		*why = "record member missing";
		return COLLAB_ECORRUPT;
	}
	v->value = p + pos;
	v->vlen = len - 1 - pos;
	return 0;
}

static int parse_seq(const uint8_t *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20 || (len > 1 && p[0] == '0'))
		return COLLAB_ECORRUPT;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return COLLAB_ECORRUPT;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

static const char *member_of(uint8_t type)
{
	switch (type) {
	case SRV_REC_EVENT: return "event";
	case SRV_REC_STATE: return "snapshot";
	case SRV_REC_RING: return "event";
	case SRV_REC_TOMB: return "seq";
	default: return NULL;
	}
}

int srv_persist_replay(struct srv_room_registry *rooms, uint8_t type,
		       const uint8_t *payload, size_t len, uint64_t offset,
		       char *out, size_t cap)
{
	const char *member = member_of(type), *why = "";
	struct srv_ops_result res;
	struct srv_room *room;
	struct rec_view v;
	char msg[SRV_ROOM_MSG_CAP];
	uint64_t seq;
	int rc;

	msg[0] = 0;
	if (member == NULL) {
		(void)snprintf(out, cap,
			 "journal offset %llu: unknown record type %u (a newer "
			 "server's journal?)", (unsigned long long)offset,
			 (unsigned)type);
		return COLLAB_ECORRUPT;
	}
	rc = rec_split(payload, len, member, &v, &why);
	if (rc != 0)
		goto bad;
	if (type == SRV_REC_TOMB) {
		rc = parse_seq(v.value, v.vlen, &seq);
		if (rc == 0)
			rc = srv_room_tomb_set(rooms, v.tenant.p,
					       v.tenant.len,
					       (const uint8_t *)v.url.p,
					       v.url.len, seq);
		why = "bad tombstone";
		goto done;
	}
	rc = srv_room_get(rooms, v.tenant.p, v.tenant.len,
			  (const uint8_t *)v.url.p, v.url.len, &room);
	if (rc != 0)
		goto done;
	switch (type) {
	case SRV_REC_EVENT:
		memset(&res, 0, sizeof(res));
		rc = srv_ops_apply_event(NULL, room, v.value, v.vlen, &res);
		if (rc != 0)
			(void)snprintf(msg, sizeof(msg), "%s", res.message);
		srv_ops_result_release(&res);
		break;
	case SRV_REC_STATE:
		rc = srv_room_load_state(room, v.value, v.vlen, msg, sizeof(msg));
		break;
	default:
		rc = srv_room_ring_restore(room, v.value, v.vlen, msg,
					   sizeof(msg));
		break;
	}
	why = msg;
done:
	if (rc == 0)
		return 0;
bad:
	(void)snprintf(out, cap, "journal offset %llu: record type %u: %s (%s)",
		       (unsigned long long)offset, (unsigned)type,
		       why[0] ? why : "rejected", collab_strerror(rc));
	return rc == COLLAB_ENOMEM ? rc : COLLAB_ECORRUPT;
}

static int on_record(void *ctx, uint8_t type, const uint8_t *payload,
		     size_t len, uint64_t offset)
{
	struct srv_server *srv = ctx;
	int rc = srv_persist_replay(&srv->rooms, type, payload, len, offset,
				    srv->recover_msg,
				    sizeof(srv->recover_msg));

	if (rc == 0)
		srv->recovered[type - SRV_REC_EVENT]++;
	return rc;
}

/* After a repair whose replay saw the rejected record: the rooms are
 * rebuilt from the kept prefix alone (that record may have been applied
 * in part), by opening the now-consistent journal again. */
static int rebuild_after_repair(struct srv_server *srv,
				const struct srv_journal_config *jc,
				struct srv_journal_report *rep)
{
	struct srv_journal_config again = *jc;
	struct srv_room_config rcfg = srv->rooms.cfg;
	int rc;

	(void)srv_journal_close(&srv->journal);
	srv_room_registry_free(&srv->rooms);
	srv->rooms_ok = false;
	rc = srv_room_registry_init(&srv->rooms, srv->a, &rcfg, &srv->rng);
	if (rc != 0)
		return rc;
	srv->rooms_ok = true;
	memset(srv->recovered, 0, sizeof(srv->recovered));
	srv->recover_msg[0] = 0;
	again.repair = false;
	rc = srv_journal_open(&srv->journal, &again, on_record, srv, rep);
	if (rc != 0)
		srv_log(srv, SRV_CONFIG_LOG_QUIET,
			"cannot open the journal in %s after repairing it: %s",
			srv->cfg->data, srv->recover_msg[0] ? srv->recover_msg
					: rep->msg[0] ? rep->msg
					: collab_strerror(rc));
	return rc;
}

int srv_persist_recover(struct srv_server *srv)
{
	const struct srv_config *cfg = srv->cfg;
	struct srv_journal_config jc;
	struct srv_journal_report rep;
	struct srv_room *room;
	char old[SRV_JOURNAL_EPOCH_LEN + 1];
	bool repaired = false, keep = false;
	size_t it = 0;
	int rc;

	srv_journal_config_init(&jc);
	jc.dir = cfg->data;
	jc.durability = cfg->durability == SRV_CONFIG_DURABILITY_RELAXED
				? SRV_JOURNAL_RELAXED
			: cfg->durability == SRV_CONFIG_DURABILITY_NONE
				? SRV_JOURNAL_NONE
				: SRV_JOURNAL_STRICT;
	jc.repair = cfg->repair;
	jc.compact_threshold = cfg->compact_threshold;
	jc.alloc = srv->a;
	memset(&rep, 0, sizeof(rep));
	rc = srv_journal_open(&srv->journal, &jc, on_record, srv, &rep);
	if (rc == 0 && rep.repaired) {
		srv_log(srv, SRV_CONFIG_LOG_QUIET, "journal: %s%s%s", rep.msg,
			rep.replay_failed ? ": " : "",
			rep.replay_failed ? srv->recover_msg : "");
		repaired = true;
		keep = !rep.created;
		if (rep.replay_failed) {
			rc = rebuild_after_repair(srv, &jc, &rep);
			if (rc != 0)
				return rc;
		}
	}
	if (rc != 0) {
		srv_log(srv, SRV_CONFIG_LOG_QUIET,
			"cannot open the journal in %s: %s%s%s", cfg->data,
			srv->recover_msg[0] ? srv->recover_msg
			: rep.msg[0]	    ? rep.msg
					    : collab_strerror(rc),
			rc == COLLAB_ECORRUPT && !cfg->repair
				? "; start with --repair to keep the good part "
				  "and move the rest aside" : "",
			"");
		return rc;
	}
	srv->journal_ok = true;
	if (rep.msg[0] && !repaired)
		srv_log(srv, SRV_CONFIG_LOG_INFO, "journal: %s", rep.msg);
	/* PROTOCOL.md 8: a repair that kept a prefix dropped history that
	 * clients may have seen, so seq could go back: a new epoch, and
	 * every client gets a snapshot */
	if (keep) {
		(void)snprintf(old, sizeof(old), "%s",
			       srv_journal_epoch(&srv->journal));
		rc = srv_persist_rewrite(srv, true);
		if (rc != 0) {
			srv_log(srv, SRV_CONFIG_LOG_QUIET,
				"journal: cannot start a new epoch after the "
				"repair (%s: %s); refusing to start",
				collab_strerror(rc),
				srv_journal_message(&srv->journal));
			return rc;
		}
		srv_log(srv, SRV_CONFIG_LOG_QUIET,
			"journal: NEW EPOCH %s after the repair (was %s): "
			"every client gets a snapshot",
			srv_journal_epoch(&srv->journal), old);
	}
	memcpy(srv->epoch, srv_journal_epoch(&srv->journal),
	       SRV_JOURNAL_EPOCH_LEN);
	srv->epoch[SRV_JOURNAL_EPOCH_LEN] = 0;
	srv_log(srv, SRV_CONFIG_LOG_INFO,
		"journal %s/%s: %s epoch %s, %llu records replayed (%llu "
		"events), %llu bytes, %.1f ms",
		cfg->data, SRV_JOURNAL_FILE, rep.created ? "new" : "recovered",
		srv->epoch, (unsigned long long)rep.records,
		(unsigned long long)srv->recovered[0],
		(unsigned long long)srv->journal.end,
		(double)rep.recover_ns / 1e6);
	/* Rooms left without chats after the replay are freed (their seq
	 * stays in a tombstone). */
	while ((room = srv_room_next(&srv->rooms, &it)) != NULL)
		srv_room_check_idle(room);
	(void)srv_room_registry_collect(&srv->rooms);
	srv_room_registry_trim(&srv->rooms);
	return 0;
}

void srv_persist_free(struct srv_server *srv)
{
	int rc;

	if (!srv->journal_ok)
		return;
	rc = srv_journal_close(&srv->journal);
	if (rc != 0) {
		srv->final_sync_failed = true;
		srv_log(srv, SRV_CONFIG_LOG_QUIET, "journal: final sync failed: %s",
			srv_journal_message(&srv->journal));
	}
	srv->journal_ok = false;
}

/* ---- compaction ---------------------------------------------------------------------- */

/* What a compaction would write, roughly. */
static uint64_t live_estimate(const struct srv_server *srv)
{
	const struct srv_room *room;
	const struct srv_chat *c;
	const struct srv_room_tomb *tb;
	const struct srv_room_event *ev;
	uint64_t total = 0, s;
	size_t it = 0;

	while ((room = srv_room_next(&srv->rooms, &it)) != NULL) {
		total += REC_SLACK + room->tenant_len + room->url_len;
		for (c = room->chats.head; c != NULL; c = c->next)
			total += srv_chat_encoded_bound(c);
		for (s = room->seq - room->ring_n + 1; s <= room->seq &&
		     room->ring_n > 0; s++) {
			ev = srv_room_event_at(room, s);
			if (ev != NULL)
				total += REC_SLACK + ev->msg->len;
		}
	}
	it = 0;
	while ((tb = srv_room_tomb_next(&srv->rooms, &it)) != NULL)
		total += REC_SLACK + tb->tenant_len + tb->url_len;
	return total;
}

struct compact_ctx {
	struct srv_server *srv;
	struct srv_journal_compact *c;
	const struct srv_room *room;
};

static int compact_put(struct compact_ctx *cc, uint8_t type,
		       const char *member, const uint8_t *p, size_t len)
{
	size_t n = 0;
	int rc = rec_build(cc->srv, srv_room_tenant(cc->room),
			   srv_room_url(cc->room), member, p, len, &n);

	if (rc == 0)
		rc = srv_journal_compact_append(cc->c, type, cc->srv->rec.p, n);
	return rc;
}

static int state_emit(void *ctx, const uint8_t *p, size_t len)
{
	return compact_put(ctx, SRV_REC_STATE, "snapshot", p, len);
}

static int compact_write(struct srv_server *srv, struct srv_journal_compact *c)
{
	struct compact_ctx cc = { srv, c, NULL };
	const struct srv_room_tomb *tb;
	const struct srv_room_event *ev;
	struct collab_buf buf;
	char num[24];
	uint64_t s;
	size_t it = 0, n = 0;
	int rc = 0, k;

	/* Tombstones first: a room restored later takes its seq from one. */
	while (rc == 0 && (tb = srv_room_tomb_next(&srv->rooms, &it)) != NULL) {
		k = snprintf(num, sizeof(num), "%llu", (unsigned long long)tb->seq);
		rc = rec_build(srv, (struct collab_str){ tb->key, tb->tenant_len },
			       (struct collab_str){ tb->key + tb->tenant_len,
						    tb->url_len },
			       "seq", (const uint8_t *)num, (size_t)k, &n);
		if (rc == 0)
			rc = srv_journal_compact_append(c, SRV_REC_TOMB,
							srv->rec.p, n);
	}
	collab_buf_init(&buf, srv->a, 0);
	it = 0;
	while (rc == 0 && (cc.room = srv_room_next(&srv->rooms, &it)) != NULL) {
		rc = srv_room_encode_state(cc.room, &srv->pcfg, &buf, state_emit,
					   &cc);
		for (s = cc.room->seq - cc.room->ring_n + 1;
		     rc == 0 && cc.room->ring_n > 0 && s <= cc.room->seq; s++) {
			ev = srv_room_event_at(cc.room, s);
			if (ev == NULL)
				continue;
			rc = compact_put(&cc, SRV_REC_RING, "event",
					 ev->msg->data, ev->msg->len);
		}
	}
	collab_buf_free(&buf);
	return rc;
}

int srv_persist_rewrite(struct srv_server *srv, bool new_epoch)
{
	struct srv_journal_stats st;
	struct srv_journal_compact c;
	struct timespec t0, t1;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = new_epoch ? srv_journal_compact_begin_new_epoch(&srv->journal, &c)
		       : srv_journal_compact_begin(&srv->journal, &c);
	if (rc != 0)
		return rc;
	rc = compact_write(srv, &c);
	if (rc != 0) {
		srv_journal_compact_abort(&c);
		return rc;
	}
	rc = srv_journal_compact_commit(&c);
	if (rc != 0)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	srv_journal_stats(&srv->journal, &st);
	srv_log(srv, SRV_CONFIG_LOG_INFO,
		"journal compacted to %llu bytes in %.1f ms",
		(unsigned long long)st.size,
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}

/* journal.h FAILURES: a failed sync in RELAXED/NONE mode cut committed
 * (and broadcast) events from the file while memory keeps them; later
 * events would follow a hole and the next start would refuse the journal.
 * The file is rewritten from memory at once; if that fails too, the
 * journal stops taking writes. */
static void realign(struct srv_server *srv, uint64_t dropped)
{
	char why[SRV_JOURNAL_MSG_MAX];
	int rc;

	srv->dropped_seen = dropped;
	if (!srv_journal_writable(&srv->journal))
		return;
	rc = srv_persist_rewrite(srv, false);
	if (rc == 0) {
		srv_log(srv, SRV_CONFIG_LOG_QUIET,
			"journal: rewritten from memory after a failed sync "
			"dropped committed events from the file");
		return;
	}
	(void)snprintf(why, sizeof(why), "a failed sync dropped committed "
		       "events and rewriting the journal from memory failed "
		       "(%s: %s)", collab_strerror(rc),
		       srv_journal_message(&srv->journal));
	srv_journal_set_failed(&srv->journal, why);
	srv_log(srv, SRV_CONFIG_LOG_QUIET, "journal: %s; every write is "
		"refused with unavailable until a restart",
		srv_journal_message(&srv->journal));
}

void srv_persist_maybe_compact(struct srv_server *srv)
{
	struct srv_journal_stats st;
	uint64_t live;
	int rc;

	if (!srv->journal_ok)
		return;
	srv_journal_stats(&srv->journal, &st);
	if (st.dropped_committed != srv->dropped_seen) {
		realign(srv, st.dropped_committed);
		return;
	}
	if (st.size <= srv->cfg->compact_threshold)
		return;
	live = live_estimate(srv);
	if (!srv_journal_should_compact(&srv->journal, live))
		return;
	rc = srv_persist_rewrite(srv, false);
	if (rc != 0)
		srv_log(srv, SRV_CONFIG_LOG_QUIET, "journal: compaction failed: "
			"%s: %s", collab_strerror(rc),
			srv_journal_message(&srv->journal));
}
