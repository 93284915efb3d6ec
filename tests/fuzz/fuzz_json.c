/*
 * fuzz_json.c - the JSON reader and writer.
 *
 * 1. Parse the input. If accepted: the tree is well formed, every member is
 *    found by its decoded name, the reader also accepts it with only
 *    COLLAB_JSON_NODES_FOR(len) nodes, and writing it back with
 *    collab_json_write_node() gives JSON that re-parses to the identical
 *    tree and re-encodes to the identical bytes.
 * 2. Drive the writer with the input as a script of calls. Whatever it
 *    accepts must re-parse, and it never writes past its buffer. Raw
 *    values (collab_json_write_raw) come from a table of valid ones, as
 *    its contract requires.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/json.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static struct collab_json_node *alloc_nodes(size_t n)
{
	struct collab_json_node *p = malloc((n ? n : 1) * sizeof *p);
	CHECK(p != NULL);
	return p;
}

/* Structural invariants of an accepted document. */
static void check_tree(const struct collab_json_doc *d)
{
	for (uint32_t i = 0; i < d->n_nodes; i++) {
		const struct collab_json_node *nd = &d->nodes[i];
		uint32_t seen = 0, k;
		if (nd->type == COLLAB_JSON_STRING) {
			size_t len = 0;
			uint8_t *buf = malloc(nd->dlen + 1);
			struct collab_str v;
			CHECK(nd->dlen <= nd->len);
			CHECK(collab_json_str(d, i, buf, nd->dlen, &len) == 0);
			CHECK(len == nd->dlen);
			CHECK(collab_json_str_eq(d, i, (const char *)buf, len));
			CHECK(collab_json_str_view(d, i, buf, len, &v) == 0);
			CHECK(v.len == len);
			free(buf);
		}
		if (nd->type == COLLAB_JSON_NUMBER) {
			int64_t a;
			uint64_t b;
			int r1 = collab_json_get_i64(d, i, &a);
			int r2 = collab_json_get_u64(d, i, &b);
			CHECK(r1 == 0 || r1 == COLLAB_ERANGE || r1 == COLLAB_ETYPE);
			CHECK(r2 == 0 || r2 == COLLAB_ERANGE || r2 == COLLAB_ETYPE);
			if (r1 == 0 && r2 == 0)
				CHECK((uint64_t)a == b);
		}
		if (nd->type != COLLAB_JSON_ARRAY && nd->type != COLLAB_JSON_OBJECT)
			continue;
		for (k = collab_json_first(d, i); k != COLLAB_JSON_NONE;
		     k = collab_json_next(d, k)) {
			CHECK(k > i && k < d->n_nodes);
			seen++;
			if (nd->type == COLLAB_JSON_OBJECT) {
				const struct collab_json_node *key = &d->nodes[k];
				uint8_t *name = malloc(key->dlen + 1);
				size_t len = 0;
				CHECK(key->type == COLLAB_JSON_STRING);
				CHECK(key->flags & COLLAB_JSON_F_KEY);
				CHECK(collab_json_value(d, k) == k + 1);
				CHECK(d->nodes[k + 1].next == key->next);
				CHECK(collab_json_str(d, k, name, key->dlen, &len) == 0);
				/* names are unique, so lookup finds this one */
				CHECK(collab_json_obj_get(d, i, (const char *)name,
							  len) == k + 1);
				free(name);
			}
		}
		CHECK(seen == nd->count);
	}
}

/* Same tree: types, member order, decoded strings, number text. */
static void check_same(const struct collab_json_doc *a,
		       const struct collab_json_doc *b)
{
	CHECK(a->n_nodes == b->n_nodes);
	for (uint32_t i = 0; i < a->n_nodes; i++) {
		const struct collab_json_node *x = &a->nodes[i], *y = &b->nodes[i];
		CHECK(x->type == y->type && x->next == y->next);
		CHECK((x->flags & ~COLLAB_JSON_F_ESCAPED) ==
		      (y->flags & ~COLLAB_JSON_F_ESCAPED));
		if (x->type == COLLAB_JSON_STRING) {
			uint8_t *sx = malloc(x->dlen + 1);
			size_t lx = 0;
			CHECK(collab_json_str(a, i, sx, x->dlen, &lx) == 0);
			CHECK(collab_json_str_eq(b, i, (const char *)sx, lx));
			free(sx);
		} else if (x->type == COLLAB_JSON_ARRAY ||
			   x->type == COLLAB_JSON_OBJECT) {
			CHECK(x->count == y->count);
		} else {
			CHECK(x->len == y->len);
			CHECK(memcmp(a->in + x->off, b->in + y->off, x->len) == 0);
		}
	}
}

static void parse_and_rewrite(const uint8_t *data, size_t size)
{
	struct collab_json_node *nodes = alloc_nodes(size);
	struct collab_json_node *few = alloc_nodes(COLLAB_JSON_NODES_FOR(size));
	struct collab_json_doc doc, doc2, doc3;
	struct collab_json_config cfg;
	struct collab_json_writer w;
	size_t cap = 2 * size + 16, len = 0, len2 = 0;
	uint8_t *out, *out2;
	struct collab_json_node *nodes2;
	int rc, rc2;

	rc = collab_json_parse(NULL, data, size, nodes, size, &doc);
	CHECK(rc == doc.err && doc.err_off <= size);
	rc2 = collab_json_parse(NULL, data, size, few,
				COLLAB_JSON_NODES_FOR(size), &doc2);
	if (rc == 0)
		CHECK(rc2 == 0 && doc2.n_nodes == doc.n_nodes);
	else
		CHECK(rc2 == rc || rc2 == COLLAB_ELIMIT);
	free(few);
	if (rc != 0) {
		CHECK(rc == COLLAB_ESYNTAX || rc == COLLAB_EUTF8 ||
		      rc == COLLAB_EDUPKEY || rc == COLLAB_ELIMIT);
		CHECK(collab_json_root(&doc) == COLLAB_JSON_NONE);
		free(nodes);
		return;
	}
	check_tree(&doc);

	/* write it back: escaping at most doubles a string (raw U+2028) */
	out = malloc(cap);
	CHECK(out != NULL);
	collab_json_writer_init(&w, out, cap);
	CHECK(collab_json_write_node(&w, &doc, 0) == 0);
	CHECK(collab_json_writer_finish(&w, &len) == 0);
	CHECK(len <= cap);

	nodes2 = alloc_nodes(len);
	collab_json_config_init(&cfg);
	cfg.max_input = cap;
	CHECK(collab_json_parse(&cfg, out, len, nodes2, len, &doc3) == 0);
	check_same(&doc, &doc3);

	/* byte-stable */
	out2 = malloc(len ? len : 1);
	CHECK(out2 != NULL);
	collab_json_writer_init(&w, out2, len);
	CHECK(collab_json_write_node(&w, &doc3, 0) == 0);
	CHECK(collab_json_writer_finish(&w, &len2) == 0);
	CHECK(len2 == len && memcmp(out, out2, len) == 0);

	free(out2);
	free(nodes2);
	free(out);
	free(nodes);
}

/* The script's bytes, consumed from the front. */
struct script {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct script *s)
{
	uint8_t c = 0;
	if (s->n) {
		c = *s->p++;
		s->n--;
	}
	return c;
}

/* Up to 15 raw bytes of the script, taken as string content. */
static size_t take_bytes(struct script *s, char *buf)
{
	size_t n = take(s) & 15u;
	if (n > s->n)
		n = s->n;
	memcpy(buf, s->p, n);
	s->p += n;
	s->n -= n;
	return n;
}

/* Valid values for collab_json_write_raw(), whose MUST the script keeps. */
static const char *const raw_values[] = {
	"{}", "[]", "{\"k\":[1,{\"a\":null}]}", "[[[[]]]]", "\"\"",
	"\"x\\u2028\"", "-0", "1.5e-3", "true", "false", "null",
};

static void write_script(const uint8_t *data, size_t size)
{
	struct script s = { data, size };
	size_t cap = take(&s) == 0xFF ? 4096 : (size_t)take(&s) * 4;
	/* one spare byte after cap that must stay untouched */
	uint8_t *out = malloc(cap + 1);
	struct collab_json_writer w;
	unsigned names = 0;
	size_t len = 0;

	CHECK(out != NULL);
	out[cap] = 0xA5;
	collab_json_writer_init(&w, out, cap);
	while (s.n) {
		char buf[32];
		size_t n;
		uint64_t v = 0;
		switch (take(&s) % 12) {
		case 0: collab_json_write_obj_begin(&w); break;
		case 1: collab_json_write_obj_end(&w); break;
		case 2: collab_json_write_arr_begin(&w); break;
		case 3: collab_json_write_arr_end(&w); break;
		case 4:
			/* names made distinct by a counter suffix */
			n = take_bytes(&s, buf);
			buf[n++] = '#';
			buf[n++] = (char)('A' + names % 26);
			buf[n++] = (char)('A' + names / 26 % 26);
			buf[n++] = (char)('A' + names / 676 % 26);
			names++;
			collab_json_write_key(&w, buf, n);
			break;
		case 5:
			n = take_bytes(&s, buf);
			collab_json_write_str(&w, buf, n);
			break;
		case 6:
		case 7:
			for (int k = 0; k < 8; k++)
				v = v << 8 | take(&s);
			if (s.n % 2)
				collab_json_write_i64(&w, (int64_t)v);
			else
				collab_json_write_u64(&w, v);
			break;
		case 8: collab_json_write_bool(&w, take(&s) & 1); break;
		case 9: collab_json_write_null(&w); break;
		case 10: {
			const char *r = raw_values[take(&s) %
				(sizeof raw_values / sizeof raw_values[0])];
			collab_json_write_raw(&w, r, strlen(r));
			break;
		}
		default:
			n = take_bytes(&s, buf);
			collab_json_write_number(&w, buf, n);
			break;
		}
		CHECK(w.len <= cap);
	}
	CHECK(out[cap] == 0xA5);
	if (collab_json_writer_finish(&w, &len) == 0) {
		struct collab_json_node *nodes = alloc_nodes(len);
		struct collab_json_config cfg;
		struct collab_json_doc doc;
		collab_json_config_init(&cfg);
		/* raw values nest up to 4 below the writer's own limit */
		cfg.max_depth = COLLAB_JSON_WRITER_STACK + 4;
		cfg.max_input = len;
		CHECK(collab_json_parse(&cfg, out, len, nodes, len, &doc) == 0);
		free(nodes);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_and_rewrite(data, size);
	write_script(data, size);
	return 0;
}
