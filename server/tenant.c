/*
 * tenant.c - tenants.json into one wiped-on-free block, and lookups.
 *
 * Parsing runs the same per-tenant code twice: a first pass validates
 * everything and measures the bytes the strings need, then one block is
 * allocated and a second pass decodes the strings into it. Validation
 * cannot fail in the second pass (same input, same code), so a registry is
 * either complete or absent, and there is exactly one allocation to wipe.
 */
#include "tenant.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collab/json.h"

#define DEFAULT_NAME "tenants.json"

/* The optional numeric limits, their JSON names and defaults. */
struct limit_field {
	const char *name;
	size_t off;        /* offsetof(struct srv_tenant, field) */
	uint64_t def;
};

static const struct limit_field limit_fields[] = {
	{ "maxConnections", offsetof(struct srv_tenant, max_connections),
	  SRV_TENANT_DEFAULT_MAX_CONNECTIONS },
	{ "opsPerSecond", offsetof(struct srv_tenant, ops_per_second),
	  SRV_TENANT_DEFAULT_OPS_PER_SECOND },
	{ "opsBurst", offsetof(struct srv_tenant, ops_burst),
	  SRV_TENANT_DEFAULT_OPS_BURST },
	{ "maxChatsPerRoom", offsetof(struct srv_tenant, max_chats_per_room),
	  SRV_TENANT_DEFAULT_MAX_CHATS_PER_ROOM },
	{ "maxCommentsPerChat",
	  offsetof(struct srv_tenant, max_comments_per_chat),
	  SRV_TENANT_DEFAULT_MAX_COMMENTS_PER_CHAT },
};

/* The block holds, in this order: tenants, the by-id index, origin views,
 * string bytes. Each part's alignment is at most the previous one's, and
 * each part's size is a multiple of its element's, so every part is
 * aligned. */
_Static_assert(_Alignof(struct srv_tenant *) <= _Alignof(struct srv_tenant),
	       "block layout");
_Static_assert(_Alignof(struct collab_str) <= _Alignof(struct srv_tenant *),
	       "block layout");

struct ctx {
	const struct collab_json_doc *doc;
	const char *name;     /* file name for messages */
	char *msg;
	size_t cap;
	char who[SRV_TENANT_ID_MAX + 16]; /* tenant "id" or tenants[i] */
};

/* Where the second pass copies strings; NULL cursors in the first pass. */
struct fill {
	struct collab_str *views;
	uint8_t *bytes;
};

/* What the first pass measures. */
struct need {
	size_t views;
	size_t bytes;
};

static int tenant_fail(struct ctx *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "<file>: <who>: <what>" (who omitted when empty). */
static int tenant_fail(struct ctx *c, int code, const char *fmt, ...)
{
	char what[SRV_TENANT_MSG_CAP];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (c->cap == 0)
		return code;
	if (c->who[0])
		(void)snprintf(c->msg, c->cap, "%s: %s: %s", c->name, c->who,
			       what);
	else
		(void)snprintf(c->msg, c->cap, "%s: %s", c->name, what);
	return code;
}

static bool id_char(uint8_t ch)
{
	/* PROTOCOL.md 1: tenantId is [A-Za-z0-9_-] */
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

static int read_id(struct ctx *c, uint32_t obj, size_t idx,
		   struct srv_tenant *t)
{
	uint32_t v = collab_json_obj_get(c->doc, obj, COLLAB_JSON_LIT("id"));
	size_t len = 0, i;

	(void)snprintf(c->who, sizeof c->who, "tenants[%zu]", idx);
	if (v == COLLAB_JSON_NONE)
		return tenant_fail(c, COLLAB_ETYPE, "id is missing");
	if (collab_json_str(c->doc, v, (uint8_t *)t->id, SRV_TENANT_ID_MAX,
			    &len) != 0 || len == 0)
		goto bad;
	for (i = 0; i < len; i++)
		if (!id_char((uint8_t)t->id[i]))
			goto bad;
	t->id[len] = '\0';
	t->id_len = len;
	(void)snprintf(c->who, sizeof c->who, "tenant \"%s\"", t->id);
	return 0;
bad:
	return tenant_fail(c, COLLAB_ETYPE,
		    "id must be a string of 1-%u bytes of [A-Za-z0-9_-]",
		    SRV_TENANT_ID_MAX);
}

static int read_secret(struct ctx *c, uint32_t obj, struct srv_tenant *t,
		       struct need *nd, struct fill *f)
{
	uint32_t v = collab_json_obj_get(c->doc, obj,
					 COLLAB_JSON_LIT("secret"));
	size_t dlen, len = 0;

	if (v == COLLAB_JSON_NONE)
		return tenant_fail(c, COLLAB_ETYPE, "secret is missing");
	if (collab_json_type(c->doc, v) != COLLAB_JSON_STRING)
		return tenant_fail(c, COLLAB_ETYPE, "secret must be a string");
	dlen = c->doc->nodes[v].dlen;
	/* PROTOCOL.md 10: shorter secrets are refused at start. The message
	 * gives the length only, never the bytes. */
	if (dlen < SRV_TENANT_SECRET_MIN)
		return tenant_fail(c, COLLAB_ETYPE,
			    "secret must be at least %u bytes (it has %zu)",
			    SRV_TENANT_SECRET_MIN, dlen);
	if (dlen > SRV_TENANT_SECRET_MAX)
		return tenant_fail(c, COLLAB_ETYPE, "secret must be at most %u bytes",
			    SRV_TENANT_SECRET_MAX);
	nd->bytes += dlen;
	if (f->bytes) {
		/* sized above, so this cannot fail */
		(void)collab_json_str(c->doc, v, f->bytes, dlen, &len);
		t->secret = f->bytes;
		t->secret_len = len;
		f->bytes += len;
	}
	return 0;
}

static int read_origins(struct ctx *c, uint32_t obj, struct srv_tenant *t,
			struct need *nd, struct fill *f)
{
	uint32_t v = collab_json_obj_get(c->doc, obj,
					 COLLAB_JSON_LIT("origins"));
	uint32_t e;
	size_t i = 0;

	t->origins = NULL;
	t->n_origins = 0;
	if (v == COLLAB_JSON_NONE)
		return 0; /* absent: no browser origin allowed */
	if (collab_json_type(c->doc, v) != COLLAB_JSON_ARRAY)
		return tenant_fail(c, COLLAB_ETYPE,
			    "origins must be an array of strings");
	if (collab_json_count(c->doc, v) > SRV_TENANT_ORIGINS_MAX)
		return tenant_fail(c, COLLAB_ELIMIT,
			    "origins has more than %u entries",
			    SRV_TENANT_ORIGINS_MAX);
	if (f->views)
		t->origins = f->views;
	for (e = collab_json_first(c->doc, v); e != COLLAB_JSON_NONE;
	     e = collab_json_next(c->doc, e), i++) {
		size_t dlen, len = 0;
		if (collab_json_type(c->doc, e) != COLLAB_JSON_STRING ||
		    c->doc->nodes[e].dlen == 0)
			return tenant_fail(c, COLLAB_ETYPE,
				    "origins[%zu] must be a non-empty string",
				    i);
		dlen = c->doc->nodes[e].dlen;
		if (dlen > SRV_TENANT_ORIGIN_MAX)
			return tenant_fail(c, COLLAB_ETYPE,
				    "origins[%zu] is longer than %u bytes", i,
				    SRV_TENANT_ORIGIN_MAX);
		nd->views++;
		nd->bytes += dlen;
		if (f->views) {
			(void)collab_json_str(c->doc, e, f->bytes, dlen, &len);
			f->views->p = (const char *)f->bytes;
			f->views->len = len;
			f->views++;
			f->bytes += len;
		}
	}
	t->n_origins = i;
	if (i == 0)
		t->origins = NULL;
	return 0;
}

static int read_anonymous(struct ctx *c, uint32_t obj, struct srv_tenant *t)
{
	uint32_t v = collab_json_obj_get(c->doc, obj,
					 COLLAB_JSON_LIT("anonymous"));

	t->anonymous = SRV_TENANT_ANON_NONE; /* absent: the safe choice */
	if (v == COLLAB_JSON_NONE)
		return 0;
	if (collab_json_str_eq(c->doc, v, COLLAB_JSON_LIT("read")))
		t->anonymous = SRV_TENANT_ANON_READ;
	else if (!collab_json_str_eq(c->doc, v, COLLAB_JSON_LIT("none")))
		return tenant_fail(c, COLLAB_ETYPE,
			    "anonymous must be \"read\" or \"none\"");
	return 0;
}

static int read_limits(struct ctx *c, uint32_t obj, struct srv_tenant *t)
{
	size_t i;

	for (i = 0; i < sizeof(limit_fields) / sizeof(limit_fields[0]); i++) {
		const struct limit_field *lf = &limit_fields[i];
		uint32_t v = collab_json_obj_get(c->doc, obj, lf->name,
						 strlen(lf->name));
		uint64_t n = lf->def;
		int rc;

		if (v != COLLAB_JSON_NONE) {
			/* PROTOCOL.md 10: each must be a positive integer.
			 * Only the integer grammar counts (not 20.0 or
			 * 2e1); a negative value is ERANGE for u64. */
			rc = collab_json_get_u64(c->doc, v, &n);
			if (rc == COLLAB_ETYPE ||
			    (rc == COLLAB_ERANGE &&
			     collab_json_raw(c->doc, v).p[0] == '-') ||
			    (rc == 0 && n == 0))
				return tenant_fail(c, COLLAB_ETYPE,
					    "%s must be a positive integer",
					    lf->name);
			if (rc != 0 || n > SRV_TENANT_LIMIT_MAX)
				return tenant_fail(c, COLLAB_ETYPE,
					    "%s must be at most %u", lf->name,
					    SRV_TENANT_LIMIT_MAX);
		}
		*(uint64_t *)(void *)((char *)t + lf->off) = n;
	}
	return 0;
}

/* One tenant object: validates it, adds what it needs to *nd, and (second
 * pass) copies its strings through *f. */
static int read_tenant(struct ctx *c, uint32_t obj, size_t idx,
		       struct srv_tenant *t, struct need *nd, struct fill *f)
{
	int rc;

	memset(t, 0, sizeof *t);
	t->index = idx;
	if (collab_json_type(c->doc, obj) != COLLAB_JSON_OBJECT) {
		(void)snprintf(c->who, sizeof c->who, "tenants[%zu]", idx);
		return tenant_fail(c, COLLAB_ETYPE, "must be an object");
	}
	rc = read_id(c, obj, idx, t);
	if (rc == 0)
		rc = read_secret(c, obj, t, nd, f);
	if (rc == 0)
		rc = read_origins(c, obj, t, nd, f);
	if (rc == 0)
		rc = read_anonymous(c, obj, t);
	if (rc == 0)
		rc = read_limits(c, obj, t);
	return rc;
}

static int cmp_id(const void *pa, const void *pb)
{
	const struct srv_tenant *a = *(const struct srv_tenant *const *)pa;
	const struct srv_tenant *b = *(const struct srv_tenant *const *)pb;
	size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
	int r = memcmp(a->id, b->id, n);

	if (r)
		return r;
	return (a->id_len > b->id_len) - (a->id_len < b->id_len);
}

/* Parse failures of the reader, with line and column for the operator. */
static int json_fail(struct ctx *c, const uint8_t *p, size_t len,
		     const struct collab_json_doc *doc)
{
	size_t i, line = 1, col = 1, off = doc->err_off;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		if (p[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (doc->err == COLLAB_ELIMIT)
		return tenant_fail(c, COLLAB_ESYNTAX,
			    "not valid JSON at line %zu, column %zu (byte %zu):"
			    " nested deeper than %u levels", line, col, off,
			    SRV_TENANT_JSON_DEPTH);
	return tenant_fail(c, COLLAB_ESYNTAX,
		    "not valid JSON at line %zu, column %zu (byte %zu): %s",
		    line, col, off, collab_strerror(doc->err));
}

/* The top level: {"tenants":[...]} with 1..SRV_TENANT_COUNT_MAX entries.
 * Returns the array's node in *arr. */
static int read_top(struct ctx *c, uint32_t *arr)
{
	uint32_t root = collab_json_root(c->doc), v;
	uint32_t n;

	if (collab_json_type(c->doc, root) != COLLAB_JSON_OBJECT)
		return tenant_fail(c, COLLAB_ETYPE,
			    "the top level must be an object "
			    "{\"tenants\":[...]}");
	v = collab_json_obj_get(c->doc, root, COLLAB_JSON_LIT("tenants"));
	if (v == COLLAB_JSON_NONE)
		return tenant_fail(c, COLLAB_ETYPE,
			    "\"tenants\" is missing (an array of tenant "
			    "objects)");
	if (collab_json_type(c->doc, v) != COLLAB_JSON_ARRAY)
		return tenant_fail(c, COLLAB_ETYPE,
			    "\"tenants\" must be an array of tenant objects");
	n = collab_json_count(c->doc, v);
	if (n == 0)
		return tenant_fail(c, COLLAB_ETYPE,
			    "\"tenants\" is empty: configure at least one "
			    "tenant");
	if (n > SRV_TENANT_COUNT_MAX)
		return tenant_fail(c, COLLAB_ELIMIT, "more than %u tenants",
			    SRV_TENANT_COUNT_MAX);
	*arr = v;
	return 0;
}

/* Both passes over a validated document, and the index. */
static int build(struct ctx *c, struct srv_tenant_registry *reg,
		 const struct collab_alloc *a, uint32_t arr)
{
	struct need nd = { 0, 0 };
	struct fill f = { NULL, NULL };
	struct srv_tenant tmp;
	size_t n = collab_json_count(c->doc, arr), i, off_idx, off_views,
	       off_bytes, total;
	uint32_t e;
	uint8_t *block;
	int rc;

	for (e = collab_json_first(c->doc, arr), i = 0; e != COLLAB_JSON_NONE;
	     e = collab_json_next(c->doc, e), i++) {
		rc = read_tenant(c, e, i, &tmp, &nd, &f);
		if (rc)
			return rc;
	}
	/* Bounded by the input: n <= SRV_TENANT_COUNT_MAX, views and bytes
	 * <= SRV_TENANT_FILE_MAX, so none of this can overflow. */
	off_idx = n * sizeof(struct srv_tenant);
	off_views = off_idx + n * sizeof(struct srv_tenant *);
	off_bytes = off_views + nd.views * sizeof(struct collab_str);
	total = off_bytes + nd.bytes;
	block = a->alloc(a->ctx, total);
	if (block == NULL) {
		c->who[0] = '\0';
		return tenant_fail(c, COLLAB_ENOMEM, "out of memory (%zu bytes)",
			    total);
	}
	memset(block, 0, total);
	reg->block = block;
	reg->block_len = total;
	reg->a = a;
	reg->tenants = (struct srv_tenant *)(void *)block;
	reg->by_id = (struct srv_tenant **)(void *)(block + off_idx);
	reg->n = n;
	f.views = (struct collab_str *)(void *)(block + off_views);
	f.bytes = block + off_bytes;
	nd.views = nd.bytes = 0;
	for (e = collab_json_first(c->doc, arr), i = 0; e != COLLAB_JSON_NONE;
	     e = collab_json_next(c->doc, e), i++) {
		/* the same input as the first pass: cannot fail */
		(void)read_tenant(c, e, i, &reg->tenants[i], &nd, &f);
		reg->by_id[i] = &reg->tenants[i];
	}
	qsort(reg->by_id, n, sizeof(struct srv_tenant *), cmp_id);
	for (i = 1; i < n; i++) {
		const struct srv_tenant *x = reg->by_id[i - 1],
					*y = reg->by_id[i];
		if (cmp_id(&reg->by_id[i - 1], &reg->by_id[i]) == 0) {
			size_t lo = x->index < y->index ? x->index : y->index;
			size_t hi = x->index < y->index ? y->index : x->index;
			(void)snprintf(c->who, sizeof c->who, "tenant \"%s\"",
				       x->id);
			return tenant_fail(c, COLLAB_EEXIST,
				    "defined twice (tenants[%zu] and "
				    "tenants[%zu])", lo, hi);
		}
	}
	return 0;
}

int srv_tenant_registry_parse(struct srv_tenant_registry *reg,
			      const struct collab_alloc *a,
			      const uint8_t *p, size_t len, const char *name,
			      char *msg, size_t msgcap)
{
	struct ctx c;
	struct collab_json_config jc;
	struct collab_json_doc doc;
	struct collab_json_node *nodes;
	size_t n_nodes, nodes_bytes;
	uint32_t arr = 0;
	int rc;

	c.doc = &doc;
	c.name = name ? name : DEFAULT_NAME;
	c.msg = msg;
	c.cap = msg ? msgcap : 0;
	c.who[0] = '\0';
	if (c.cap)
		msg[0] = '\0';
	if (reg == NULL || (p == NULL && len))
		return tenant_fail(&c, COLLAB_EINVAL, "invalid arguments");
	memset(reg, 0, sizeof *reg);
	if (a == NULL)
		a = collab_alloc_default();
	if (len > SRV_TENANT_FILE_MAX)
		return tenant_fail(&c, COLLAB_ELIMIT,
			    "larger than %zu bytes", SRV_TENANT_FILE_MAX);

	/* enough nodes for any valid text of len bytes (json.h) */
	n_nodes = COLLAB_JSON_NODES_FOR(len);
	nodes_bytes = n_nodes * sizeof *nodes;
	nodes = a->alloc(a->ctx, nodes_bytes);
	if (nodes == NULL)
		return tenant_fail(&c, COLLAB_ENOMEM, "out of memory (%zu bytes)",
			    nodes_bytes);
	collab_json_config_init(&jc);
	jc.max_input = SRV_TENANT_FILE_MAX;
	jc.max_depth = SRV_TENANT_JSON_DEPTH;
	rc = collab_json_parse(&jc, p, len, nodes, n_nodes, &doc);
	if (rc)
		rc = json_fail(&c, p, len, &doc);
	if (rc == 0)
		rc = read_top(&c, &arr);
	if (rc == 0)
		rc = build(&c, reg, a, arr);
	/* the nodes hold offsets and lengths only, no secret bytes */
	a->free(a->ctx, nodes, nodes_bytes);
	if (rc)
		srv_tenant_registry_free(reg);
	return rc;
}

/* Reads at most SRV_TENANT_FILE_MAX bytes of fd into a new block of *cap
 * bytes; one byte more than the limit proves the file too large even if it
 * grew after fstat. */
static int read_all(struct ctx *c, int fd, size_t hint,
		    const struct collab_alloc *a, uint8_t **out, size_t *cap,
		    size_t *len)
{
	size_t size = (hint < SRV_TENANT_FILE_MAX ? hint : SRV_TENANT_FILE_MAX)
		      + 1, got = 0;
	uint8_t *buf = a->alloc(a->ctx, size);

	if (buf == NULL) {
		(void)tenant_fail(c, COLLAB_ENOMEM, "out of memory (%zu bytes)",
			   size);
		return COLLAB_ENOMEM;
	}
	for (;;) {
		ssize_t r;
		if (got == size) {
			/* grown since fstat: double, up to the limit + 1 */
			size_t nsize = size > SRV_TENANT_FILE_MAX / 2
				       ? SRV_TENANT_FILE_MAX + 1 : size * 2;
			uint8_t *nb;
			if (got > SRV_TENANT_FILE_MAX)
				break;
			nb = a->alloc(a->ctx, nsize);
			if (nb == NULL) {
				explicit_bzero(buf, size);
				a->free(a->ctx, buf, size);
				(void)tenant_fail(c, COLLAB_ENOMEM,
					   "out of memory (%zu bytes)", nsize);
				return COLLAB_ENOMEM;
			}
			memcpy(nb, buf, got);
			explicit_bzero(buf, size);
			a->free(a->ctx, buf, size);
			buf = nb;
			size = nsize;
		}
		r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			char eb[128];
			int err = errno;
			explicit_bzero(buf, size);
			a->free(a->ctx, buf, size);
			(void)tenant_fail(c, COLLAB_EIO, "cannot read: %s",
				   strerror_r(err, eb, sizeof eb));
			return COLLAB_EIO;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > SRV_TENANT_FILE_MAX) {
		explicit_bzero(buf, size);
		a->free(a->ctx, buf, size);
		(void)tenant_fail(c, COLLAB_ELIMIT, "larger than %zu bytes",
			   SRV_TENANT_FILE_MAX);
		return COLLAB_ELIMIT;
	}
	*out = buf;
	*cap = size;
	*len = got;
	return 0;
}

int srv_tenant_registry_load(struct srv_tenant_registry *reg,
			     const struct collab_alloc *a, const char *path,
			     char *msg, size_t msgcap)
{
	struct ctx c;
	struct stat st;
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0;
	char eb[128];
	int fd, rc;

	c.doc = NULL;
	c.name = path ? path : DEFAULT_NAME;
	c.msg = msg;
	c.cap = msg ? msgcap : 0;
	c.who[0] = '\0';
	if (c.cap)
		msg[0] = '\0';
	if (reg == NULL || path == NULL)
		return tenant_fail(&c, COLLAB_EINVAL, "invalid arguments");
	memset(reg, 0, sizeof *reg);
	if (a == NULL)
		a = collab_alloc_default();
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return tenant_fail(&c, COLLAB_EIO, "cannot open: %s",
			    strerror_r(errno, eb, sizeof eb));
	if (fstat(fd, &st) != 0) {
		rc = tenant_fail(&c, COLLAB_EIO, "cannot stat: %s",
			  strerror_r(errno, eb, sizeof eb));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = tenant_fail(&c, COLLAB_ETYPE, "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > SRV_TENANT_FILE_MAX) {
		rc = tenant_fail(&c, COLLAB_ELIMIT, "larger than %zu bytes",
			  SRV_TENANT_FILE_MAX);
		goto out;
	}
	rc = read_all(&c, fd, (size_t)st.st_size, a, &buf, &cap, &len);
	if (rc == 0) {
		rc = srv_tenant_registry_parse(reg, a, buf, len, path, msg,
					       msgcap);
		/* the file's bytes include every secret */
		explicit_bzero(buf, cap);
		a->free(a->ctx, buf, cap);
	}
out:
	close(fd);
	return rc;
}

void srv_tenant_registry_free(struct srv_tenant_registry *reg)
{
	if (reg == NULL)
		return;
	if (reg->block) {
		explicit_bzero(reg->block, reg->block_len);
		reg->a->free(reg->a->ctx, reg->block, reg->block_len);
	}
	memset(reg, 0, sizeof *reg);
}

struct srv_tenant *srv_tenant_find(const struct srv_tenant_registry *reg,
				   const char *id, size_t len)
{
	size_t lo = 0, hi;

	if (reg == NULL || (id == NULL && len) || len > SRV_TENANT_ID_MAX)
		return NULL;
	hi = reg->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct srv_tenant *t = reg->by_id[mid];
		size_t n = t->id_len < len ? t->id_len : len;
		int r = n ? memcmp(t->id, id, n) : 0;
		if (r == 0)
			r = (t->id_len > len) - (t->id_len < len);
		if (r == 0)
			return t;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool srv_tenant_origin_allowed(const struct srv_tenant *t, const char *origin,
			       size_t len)
{
	size_t i;

	/* PROTOCOL.md 10: no Origin header (a non-browser client) */
	if (origin == NULL)
		return true;
	if (t == NULL)
		return false;
	for (i = 0; i < t->n_origins; i++)
		if (t->origins[i].len == len &&
		    memcmp(t->origins[i].p, origin, len) == 0)
			return true;
	return false;
}

int srv_tenant_conn_acquire(struct srv_tenant *t)
{
	/* PROTOCOL.md 1: at its connection limit, 503 */
	if (t->connections >= t->max_connections)
		return COLLAB_ELIMIT;
	t->connections++;
	return 0;
}

void srv_tenant_conn_release(struct srv_tenant *t)
{
	/* a release without acquire is a caller bug; never wrap */
	if (t->connections > 0)
		t->connections--;
}

const char *srv_tenant_anonymous_name(enum srv_tenant_anonymous a)
{
	return a == SRV_TENANT_ANON_READ ? "read" : "none";
}
