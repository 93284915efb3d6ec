/*
 * json_read.c - the strict RFC 8259 reader and the accessors of its tree.
 *
 * One loop with three entry states (a value is expected, a member name is
 * expected, a value just ended) replaces recursion. The open containers
 * form a stack threaded through the node array itself: while a container
 * is open its `next` field holds its parent's index and its `link` field
 * its last child's, so that the next child can be chained to it. At the
 * closing bracket `next` becomes NONE again, to be set when a sibling
 * follows. The parse therefore needs no memory but the nodes, and nesting
 * is bounded only by max_depth.
 *
 * Strings are scanned eight bytes at a time while no byte needs a closer
 * look (see collab_json_swar_stop). Non-ASCII runs are validated as UTF-8:
 * the plainly valid 2- and 3-byte forms inline, everything else by
 * collab_utf8, which alone decides what is invalid and where.
 */
#include "collab/json.h"
#include "collab/common.h"
#include "collab/utf8.h"
#include "json_internal.h"

#include <string.h>

#define NONE COLLAB_JSON_NONE

struct parser {
	const uint8_t *p;
	size_t n;
	struct collab_json_node *nodes;
	uint32_t max_nodes;
	uint32_t used;
	uint32_t max_depth;
	int err;
	size_t err_off;
};

/* RFC 8259 section 2: ws = space, horizontal tab, line feed, return. */
static const uint8_t ws_tab[256] = {
	['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1,
};

static int fail(struct parser *ps, int err, size_t off)
{
	ps->err = err;
	ps->err_off = off;
	return err;
}

/*
 * An unexpected byte at off (or the end of input). RFC 8259 section 8.1:
 * the text is UTF-8, so a non-ASCII byte that does not begin a valid
 * sequence is reported as invalid UTF-8 rather than as a grammar error.
 */
static int fail_at(struct parser *ps, size_t off)
{
	struct collab_utf8 v;

	if (off >= ps->n || ps->p[off] < 0x80)
		return fail(ps, COLLAB_ESYNTAX, off);
	collab_utf8_init(&v);
	for (size_t k = off; k < ps->n; k++) {
		if (collab_utf8_feed(&v, ps->p + k, 1, NULL) != 0)
			return fail(ps, COLLAB_EUTF8, k);
		if (collab_utf8_finish(&v) == 0) /* valid, but not JSON here */
			return fail(ps, COLLAB_ESYNTAX, off);
	}
	return fail(ps, COLLAB_EUTF8, ps->n);   /* cut short by the end */
}

static size_t skip_ws(const uint8_t *p, size_t n, size_t i)
{
	while (i < n && ws_tab[p[i]])
		i++;
	return i;
}

/*
 * Validates the non-ASCII run starting at p[i]; returns its end or 0.
 * Two- and three-byte characters whose bytes are all plainly in range (the
 * commonest: Latin, Greek, Cyrillic, CJK; RFC 3629 section 4: C2..DF
 * tail, E1..EC or EE..EF tail tail) are stepped over here; at anything
 * else the rest of the run goes to collab_utf8, which decides validity
 * and the failing offset.
 */
static size_t utf8_run(struct parser *ps, size_t i)
{
	const uint8_t *p = ps->p;
	size_t n = ps->n, j, bad = 0;
	struct collab_utf8 v;

	for (;;) {
		uint8_t c = p[i];
		if (c >= 0xC2 && c <= 0xDF && n - i >= 2 &&
		    (p[i + 1] & 0xC0) == 0x80)
			i += 2;
		else if (c >= 0xE1 && c <= 0xEF && c != 0xED && n - i >= 3 &&
			 (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80)
			i += 3;
		else
			break;
		if (i >= n || p[i] < 0x80)
			return i;
	}
	j = i;
	while (j < n && p[j] >= 0x80)
		j++;
	collab_utf8_init(&v);
	if (collab_utf8_feed(&v, ps->p + i, j - i, &bad) != 0) {
		fail(ps, COLLAB_EUTF8, i + bad);
		return 0;
	}
	/* A sequence cut short by an ASCII byte (or the end) fails there. */
	if (collab_utf8_finish(&v) != 0) {
		fail(ps, COLLAB_EUTF8, j);
		return 0;
	}
	return j;
}

/* Reads 4 hex digits at p[i]; returns the value or fails. */
static int hex4_at(struct parser *ps, size_t i, uint32_t *cp)
{
	uint32_t v = 0;
	for (size_t k = 0; k < 4; k++) {
		int d;
		if (i + k >= ps->n)
			return fail(ps, COLLAB_ESYNTAX, ps->n);
		d = collab_json_hexval(ps->p[i + k]);
		if (d < 0)
			return fail_at(ps, i + k);
		v = v << 4 | (uint32_t)d;
	}
	*cp = v;
	return 0;
}

/*
 * Checks the escape at p[i] (a backslash; RFC 8259 section 7) and returns
 * its length in the input, adding to *shrink how much shorter its decoded
 * form is. 0 on failure.
 */
static size_t escape(struct parser *ps, size_t i, uint32_t *shrink)
{
	uint32_t cp = 0, lo = 0;
	uint8_t tmp[4];
	size_t j;

	if (i + 1 >= ps->n) {
		fail(ps, COLLAB_ESYNTAX, ps->n);
		return 0;
	}
	switch (ps->p[i + 1]) {
	case '"': case '\\': case '/':
	case 'b': case 'f': case 'n': case 'r': case 't':
		*shrink += 1;
		return 2;
	case 'u':
		break;
	default:
		fail_at(ps, i + 1);
		return 0;
	}
	if (hex4_at(ps, i + 2, &cp) != 0)
		return 0;
	if (cp >= 0xDC00 && cp <= 0xDFFF) {
		/* a low surrogate with no high one before it */
		fail(ps, COLLAB_EUTF8, i);
		return 0;
	}
	if (cp < 0xD800 || cp > 0xDBFF) {
		*shrink += (uint32_t)(6 - collab_json_utf8_put(cp, tmp));
		return 6;
	}
	/* RFC 8259 section 7: a high surrogate needs a \u low one next. */
	j = i + 6;
	if (j >= ps->n || (ps->p[j] == '\\' && j + 1 >= ps->n)) {
		fail(ps, COLLAB_ESYNTAX, ps->n);
		return 0;
	}
	if (ps->p[j] != '\\' || ps->p[j + 1] != 'u') {
		fail(ps, COLLAB_EUTF8, j);
		return 0;
	}
	if (hex4_at(ps, j + 2, &lo) != 0)
		return 0;
	if (lo < 0xDC00 || lo > 0xDFFF) {
		fail(ps, COLLAB_EUTF8, j);
		return 0;
	}
	*shrink += 12 - 4;
	return 12;
}

/*
 * Scans the string whose opening quote is at p[i] into node nd; returns
 * the offset just past the closing quote, or 0 on failure.
 */
static size_t string(struct parser *ps, size_t i, struct collab_json_node *nd)
{
	const uint8_t *p = ps->p;
	size_t n = ps->n, start = i + 1;
	uint32_t shrink = 0;
	uint8_t flags = 0;

	i = start;
	for (;;) {
		i = collab_json_plain_end(p, n, i);
		if (i >= n) {
			fail(ps, COLLAB_ESYNTAX, n);
			return 0;
		}
		if (p[i] == '"')
			break;
		if (p[i] == '\\') {
			size_t k = escape(ps, i, &shrink);
			if (k == 0)
				return 0;
			flags = COLLAB_JSON_F_ESCAPED;
			i += k;
		} else if (p[i] >= 0x80) {
			i = utf8_run(ps, i);
			if (i == 0)
				return 0;
		} else {
			/* RFC 8259 section 7: control characters are escaped */
			fail(ps, COLLAB_ESYNTAX, i);
			return 0;
		}
	}
	nd->type = COLLAB_JSON_STRING;
	nd->flags |= flags;
	nd->off = (uint32_t)start;
	nd->len = (uint32_t)(i - start);
	nd->dlen = nd->len - shrink;
	return i + 1;
}

/* Orders two member names by decoded length, then decoded bytes. */
static int key_cmp(const struct parser *ps, uint32_t a, uint32_t b)
{
	const struct collab_json_node *na = &ps->nodes[a], *nb = &ps->nodes[b];
	struct collab_json_dec da, db;

	if (na->dlen != nb->dlen)
		return na->dlen < nb->dlen ? -1 : 1;
	if (!((na->flags | nb->flags) & COLLAB_JSON_F_ESCAPED))
		return memcmp(ps->p + na->off, ps->p + nb->off, na->dlen);
	collab_json_dec_init(&da, ps->p + na->off, na->len);
	collab_json_dec_init(&db, ps->p + nb->off, nb->len);
	for (;;) {
		int ca = collab_json_dec_byte(&da), cb = collab_json_dec_byte(&db);
		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (ca < 0)
			return 0;
	}
}

/*
 * Sorts the list of names chained by `link` (bottom-up merge sort of a
 * linked list: O(m log m) comparisons, no memory). Stable, so equal names
 * stay in input order. Returns the new head.
 */
static uint32_t sort_keys(const struct parser *ps, uint32_t head)
{
	struct collab_json_node *N = ps->nodes;

	for (size_t run = 1;; run *= 2) {
		uint32_t a = head, tail = NONE;
		size_t merges = 0;
		head = NONE;
		while (a != NONE) {
			uint32_t b = a;
			size_t asize = 0, bsize = run;
			merges++;
			while (asize < run && b != NONE) {
				asize++;
				b = N[b].link;
			}
			while (asize > 0 || (bsize > 0 && b != NONE)) {
				uint32_t e;
				if (asize > 0 && (bsize == 0 || b == NONE ||
						  key_cmp(ps, a, b) <= 0)) {
					e = a;
					a = N[a].link;
					asize--;
				} else {
					e = b;
					b = N[b].link;
					bsize--;
				}
				if (tail == NONE)
					head = e;
				else
					N[tail].link = e;
				tail = e;
			}
			a = b;
		}
		N[tail].link = NONE;
		if (merges <= 1)
			return head;
	}
}

/*
 * RFC 8259 section 4 lets names repeat; we do not ("a field of the wrong
 * type is invalid" has no meaning if a field may have two values). Sorts
 * the object's names; equal ones end up adjacent, the original first.
 */
static int check_dups(struct parser *ps, uint32_t obj)
{
	struct collab_json_node *N = ps->nodes;
	uint32_t head = obj + 1, a, b;
	size_t first_dup = SIZE_MAX;

	for (a = head; a != NONE; a = N[a].next)
		N[a].link = N[a].next;
	head = sort_keys(ps, head);
	for (a = head; (b = N[a].link) != NONE; a = b)
		if (N[b].off < first_dup && key_cmp(ps, a, b) == 0)
			first_dup = N[b].off;
	if (first_dup != SIZE_MAX)
		return fail(ps, COLLAB_EDUPKEY, first_dup - 1);
	return 0;
}

static uint32_t new_node(struct parser *ps, size_t off)
{
	struct collab_json_node *nd;

	if (ps->used == ps->max_nodes) {
		fail(ps, COLLAB_ELIMIT, off);
		return NONE;
	}
	nd = &ps->nodes[ps->used];
	nd->type = COLLAB_JSON_ABSENT;
	nd->flags = 0;
	nd->reserved = 0;
	nd->off = (uint32_t)off;
	nd->len = 0;
	nd->next = NONE;
	nd->count = 0;
	nd->link = NONE;
	return ps->used++;
}

/* Matches the literal lit (len bytes) at p[i]; returns its end or 0. */
static size_t literal(struct parser *ps, size_t i, const char *lit,
		      size_t len)
{
	for (size_t k = 0; k < len; k++)
		if (i + k >= ps->n || ps->p[i + k] != (uint8_t)lit[k]) {
			fail_at(ps, i + k);
			return 0;
		}
	return i + len;
}

static int parse(struct parser *ps)
{
	const uint8_t *p = ps->p;
	size_t n = ps->n, i, end;
	struct collab_json_node *N = ps->nodes, *nd;
	uint32_t cur = NONE, depth = 0, idx;
	int is_int;

	i = skip_ws(p, n, 0);
value:
	if (i >= n)
		return fail(ps, COLLAB_ESYNTAX, n);
	idx = new_node(ps, i);
	if (idx == NONE)
		return ps->err;
	nd = &N[idx];
	if (cur != NONE && N[cur].type == COLLAB_JSON_ARRAY) {
		if (N[cur].link != NONE)
			N[N[cur].link].next = idx;
		N[cur].link = idx;
		N[cur].count++;
	}
	switch (p[i]) {
	case '{':
	case '[':
		if (depth == ps->max_depth)
			return fail(ps, COLLAB_ELIMIT, i);
		depth++;
		nd->type = p[i] == '{' ? COLLAB_JSON_OBJECT : COLLAB_JSON_ARRAY;
		nd->next = cur;         /* the parent, while open */
		cur = idx;
		i = skip_ws(p, n, i + 1);
		if (i < n && p[i] == (nd->type == COLLAB_JSON_OBJECT ? '}' : ']'))
			goto close;
		if (nd->type == COLLAB_JSON_OBJECT)
			goto key;
		goto value;
	case '"':
		i = string(ps, i, nd);
		if (i == 0)
			return ps->err;
		goto after;
	case 't':
		nd->type = COLLAB_JSON_TRUE;
		i = literal(ps, i, "true", 4);
		break;
	case 'f':
		nd->type = COLLAB_JSON_FALSE;
		i = literal(ps, i, "false", 5);
		break;
	case 'n':
		nd->type = COLLAB_JSON_NULL;
		i = literal(ps, i, "null", 4);
		break;
	default:
		if (p[i] != '-' && !collab_json_isdigit(p[i]))
			return fail_at(ps, i);
		if (collab_json_num_scan(p, n, i, &end, &is_int) != 0)
			return fail_at(ps, end);
		nd->type = COLLAB_JSON_NUMBER;
		if (is_int)
			nd->flags = COLLAB_JSON_F_INTEGER;
		i = end;
		break;
	}
	if (i == 0)
		return ps->err;
	nd->len = (uint32_t)i - nd->off;
	goto after;

key:
	if (i >= n)
		return fail(ps, COLLAB_ESYNTAX, n);
	if (p[i] != '"')
		return fail_at(ps, i);
	idx = new_node(ps, i);
	if (idx == NONE)
		return ps->err;
	if (N[cur].link != NONE) {
		N[N[cur].link].next = idx;       /* previous name */
		N[N[cur].link + 1].next = idx;   /* and its value */
	}
	N[cur].link = idx;
	N[cur].count++;
	N[idx].flags = COLLAB_JSON_F_KEY;
	i = string(ps, i, &N[idx]);
	if (i == 0)
		return ps->err;
	i = skip_ws(p, n, i);
	if (i >= n)
		return fail(ps, COLLAB_ESYNTAX, n);
	if (p[i] != ':')
		return fail_at(ps, i);
	i = skip_ws(p, n, i + 1);
	goto value;

after:
	if (cur == NONE) {
		i = skip_ws(p, n, i);
		if (i != n)
			return fail_at(ps, i);  /* RFC 8259 section 2: one value */
		return 0;
	}
	i = skip_ws(p, n, i);
	if (i >= n)
		return fail(ps, COLLAB_ESYNTAX, n);
	if (p[i] == ',') {
		/* RFC 8259 sections 4 and 5: a value must follow a comma */
		i = skip_ws(p, n, i + 1);
		if (N[cur].type == COLLAB_JSON_OBJECT)
			goto key;
		goto value;
	}
	if (p[i] != (N[cur].type == COLLAB_JSON_OBJECT ? '}' : ']'))
		return fail_at(ps, i);
close:
	/* p[i] is cur's closing bracket */
	nd = &N[cur];
	nd->len = (uint32_t)(i + 1) - nd->off;
	if (nd->type == COLLAB_JSON_OBJECT && nd->count > 1 &&
	    check_dups(ps, cur) != 0)
		return ps->err;
	idx = nd->next;
	nd->next = NONE;
	cur = idx;
	depth--;
	i++;
	goto after;
}

void collab_json_config_init(struct collab_json_config *cfg)
{
	cfg->max_input = COLLAB_JSON_DEFAULT_MAX_INPUT;
	cfg->max_depth = COLLAB_JSON_DEFAULT_MAX_DEPTH;
}

int collab_json_parse(const struct collab_json_config *cfg,
		      const uint8_t *p, size_t len,
		      struct collab_json_node *nodes, size_t max_nodes,
		      struct collab_json_doc *doc)
{
	struct collab_json_config def;
	struct parser ps;
	int rc;

	if (doc == NULL)
		return COLLAB_EINVAL;
	doc->in = p;
	doc->in_len = len;
	doc->nodes = nodes;
	doc->n_nodes = 0;
	doc->err = COLLAB_EINVAL;
	doc->err_off = 0;
	if (cfg == NULL) {
		collab_json_config_init(&def);
		cfg = &def;
	}
	if ((p == NULL && len != 0) || (nodes == NULL && max_nodes != 0) ||
	    cfg->max_input > COLLAB_JSON_MAX_INPUT_CAP)
		return COLLAB_EINVAL;
	if (len > cfg->max_input) {
		doc->err = COLLAB_ELIMIT;
		doc->err_off = cfg->max_input;
		return COLLAB_ELIMIT;
	}
	ps.p = p;
	ps.n = len;
	ps.nodes = nodes;
	/* NONE is never a valid index */
	ps.max_nodes = max_nodes >= NONE ? NONE - 1 : (uint32_t)max_nodes;
	ps.used = 0;
	ps.max_depth = cfg->max_depth;
	ps.err = 0;
	ps.err_off = 0;
	rc = parse(&ps);
	doc->err = rc;
	doc->err_off = ps.err_off;
	if (rc == 0)
		doc->n_nodes = ps.used;
	return rc;
}

/* ---- accessors ------------------------------------------------------- */

static const struct collab_json_node *node_at(const struct collab_json_doc *doc,
					      uint32_t node)
{
	if (doc == NULL || node >= doc->n_nodes)
		return NULL;
	return &doc->nodes[node];
}

uint32_t collab_json_root(const struct collab_json_doc *doc)
{
	return node_at(doc, 0) ? 0 : NONE;
}

enum collab_json_type collab_json_type(const struct collab_json_doc *doc,
				       uint32_t node)
{
	const struct collab_json_node *nd = node_at(doc, node);
	return nd ? (enum collab_json_type)nd->type : COLLAB_JSON_ABSENT;
}

int collab_json_expect(const struct collab_json_doc *doc, uint32_t node,
		       enum collab_json_type t)
{
	const struct collab_json_node *nd = node_at(doc, node);
	if (nd == NULL)
		return COLLAB_ENOTFOUND;
	return nd->type == t ? 0 : COLLAB_ETYPE;
}

uint32_t collab_json_count(const struct collab_json_doc *doc, uint32_t node)
{
	const struct collab_json_node *nd = node_at(doc, node);
	if (nd == NULL || (nd->type != COLLAB_JSON_ARRAY &&
			   nd->type != COLLAB_JSON_OBJECT))
		return 0;
	return nd->count;
}

struct collab_str collab_json_raw(const struct collab_json_doc *doc,
				  uint32_t node)
{
	const struct collab_json_node *nd = node_at(doc, node);
	struct collab_str s = { NULL, 0 };
	if (nd) {
		s.p = (const char *)doc->in + nd->off;
		s.len = nd->len;
	}
	return s;
}

uint32_t collab_json_first(const struct collab_json_doc *doc, uint32_t node)
{
	return collab_json_count(doc, node) ? node + 1 : NONE;
}

uint32_t collab_json_next(const struct collab_json_doc *doc, uint32_t node)
{
	const struct collab_json_node *nd = node_at(doc, node);
	return nd ? nd->next : NONE;
}

uint32_t collab_json_value(const struct collab_json_doc *doc, uint32_t key)
{
	const struct collab_json_node *nd = node_at(doc, key);
	if (nd == NULL || !(nd->flags & COLLAB_JSON_F_KEY))
		return NONE;
	return key + 1;
}

/* Whether string node nd decodes to s[0..slen). */
static bool str_eq(const struct collab_json_doc *doc,
		   const struct collab_json_node *nd, const char *s, size_t slen)
{
	struct collab_json_dec d;

	if (nd->dlen != slen)
		return false;
	if (!(nd->flags & COLLAB_JSON_F_ESCAPED))
		return slen == 0 || memcmp(doc->in + nd->off, s, slen) == 0;
	collab_json_dec_init(&d, doc->in + nd->off, nd->len);
	for (size_t k = 0; k < slen; k++)
		if (collab_json_dec_byte(&d) != (uint8_t)s[k])
			return false;
	return true;
}

uint32_t collab_json_obj_get(const struct collab_json_doc *doc, uint32_t obj,
			     const char *key, size_t keylen)
{
	const struct collab_json_node *nd = node_at(doc, obj);
	uint32_t k;

	if (nd == NULL || nd->type != COLLAB_JSON_OBJECT || nd->count == 0)
		return NONE;
	for (k = obj + 1; k != NONE; k = doc->nodes[k].next)
		if (str_eq(doc, &doc->nodes[k], key, keylen))
			return k + 1;
	return NONE;
}

bool collab_json_str_eq(const struct collab_json_doc *doc, uint32_t node,
			const char *s, size_t slen)
{
	const struct collab_json_node *nd = node_at(doc, node);
	return nd && nd->type == COLLAB_JSON_STRING && str_eq(doc, nd, s, slen);
}

static int string_node(const struct collab_json_doc *doc, uint32_t node,
		       const struct collab_json_node **out)
{
	const struct collab_json_node *nd = node_at(doc, node);
	if (nd == NULL)
		return COLLAB_ENOTFOUND;
	if (nd->type != COLLAB_JSON_STRING)
		return COLLAB_ETYPE;
	*out = nd;
	return 0;
}

int collab_json_str(const struct collab_json_doc *doc, uint32_t node,
		    uint8_t *out, size_t cap, size_t *len)
{
	const struct collab_json_node *nd = NULL;
	const uint8_t *s, *end;
	size_t o = 0;
	int rc = string_node(doc, node, &nd);

	*len = 0;
	if (rc != 0)
		return rc;
	*len = nd->dlen;
	if (cap < nd->dlen)
		return COLLAB_ESPACE;
	s = doc->in + nd->off;
	end = s + nd->len;
	while (s < end) {
		const uint8_t *bs = memchr(s, '\\', (size_t)(end - s));
		size_t run = bs ? (size_t)(bs - s) : (size_t)(end - s), olen;
		if (run) {
			memcpy(out + o, s, run);
			o += run;
			s += run;
		}
		if (bs == NULL)
			break;
		s += collab_json_unescape(s, out + o, &olen);
		o += olen;
	}
	return 0;
}

int collab_json_str_view(const struct collab_json_doc *doc, uint32_t node,
			 uint8_t *scratch, size_t cap, struct collab_str *view)
{
	const struct collab_json_node *nd = NULL;
	size_t len;
	int rc = string_node(doc, node, &nd);

	view->p = NULL;
	view->len = 0;
	if (rc != 0)
		return rc;
	if (!(nd->flags & COLLAB_JSON_F_ESCAPED)) {
		view->p = (const char *)doc->in + nd->off;
		view->len = nd->len;
		return 0;
	}
	rc = collab_json_str(doc, node, scratch, cap, &len);
	if (rc != 0)
		return rc;
	view->p = (const char *)scratch;
	view->len = len;
	return 0;
}

/* Magnitude and sign of an integer node, exactly; ERANGE past 2^64 - 1. */
static int int_parts(const struct collab_json_doc *doc, uint32_t node,
		     uint64_t *mag, bool *neg)
{
	const struct collab_json_node *nd = node_at(doc, node);
	const uint8_t *s, *end;
	uint64_t v = 0;

	if (nd == NULL)
		return COLLAB_ENOTFOUND;
	if (nd->type != COLLAB_JSON_NUMBER || !(nd->flags & COLLAB_JSON_F_INTEGER))
		return COLLAB_ETYPE;
	s = doc->in + nd->off;
	end = s + nd->len;
	*neg = *s == '-';
	if (*neg)
		s++;
	for (; s < end; s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return COLLAB_ERANGE;
		v = v * 10 + d;
	}
	*mag = v;
	return 0;
}

int collab_json_get_i64(const struct collab_json_doc *doc, uint32_t node,
			int64_t *v)
{
	uint64_t mag = 0;
	bool neg = false;
	int rc = int_parts(doc, node, &mag, &neg);

	if (rc != 0)
		return rc;
	if (neg) {
		if (mag > (uint64_t)INT64_MAX + 1)
			return COLLAB_ERANGE;
		/* -(mag) without signed overflow at INT64_MIN */
		*v = mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
	} else {
		if (mag > (uint64_t)INT64_MAX)
			return COLLAB_ERANGE;
		*v = (int64_t)mag;
	}
	return 0;
}

int collab_json_get_u64(const struct collab_json_doc *doc, uint32_t node,
			uint64_t *v)
{
	uint64_t mag = 0;
	bool neg = false;
	int rc = int_parts(doc, node, &mag, &neg);

	if (rc != 0)
		return rc;
	if (neg && mag != 0)
		return COLLAB_ERANGE;
	*v = mag;
	return 0;
}

int collab_json_get_bool(const struct collab_json_doc *doc, uint32_t node,
			 bool *v)
{
	const struct collab_json_node *nd = node_at(doc, node);
	if (nd == NULL)
		return COLLAB_ENOTFOUND;
	if (nd->type != COLLAB_JSON_TRUE && nd->type != COLLAB_JSON_FALSE)
		return COLLAB_ETYPE;
	*v = nd->type == COLLAB_JSON_TRUE;
	return 0;
}
