/*
 * check_json.c - the JSON reader and writer.
 *
 * Every parser input is copied so that it ends on an unreadable guard page
 * and its pages are made read-only before the parse, so an overread or a
 * write to the input crashes the test. The reader is one-shot, so instead
 * of split points every prefix of every accepted document is parsed too: it
 * must fail at exactly its end unless it is itself a valid document.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/json.h"
#include "testutil.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* ---- helpers ---------------------------------------------------------- */

struct parsed {
	struct guard_buf g;
	struct collab_json_node *nodes;
	struct collab_json_doc doc;
	int rc;
};

/* Parses in[0..len) from a read-only buffer that ends on a guard page. */
static void parse_cfg(struct parsed *r, const struct collab_json_config *cfg,
		      const void *in, size_t len, size_t max_nodes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	r->g = guard_copy(in, len);
	ck_assert_ptr_nonnull(r->g.map);
	ck_assert_int_eq(mprotect(r->g.map, r->g.maplen - page, PROT_READ), 0);
	r->nodes = calloc(max_nodes ? max_nodes : 1, sizeof *r->nodes);
	ck_assert_ptr_nonnull(r->nodes);
	r->rc = collab_json_parse(cfg, r->g.p, len, r->nodes, max_nodes,
				  &r->doc);
	ck_assert_int_eq(r->rc, r->doc.err);
}

/* With a node per byte, as many as any input can need, so that every
 * error is the input's own and never COLLAB_ELIMIT. */
static void parse_in(struct parsed *r, const void *in, size_t len)
{
	parse_cfg(r, NULL, in, len, len);
}

static void parsed_free(struct parsed *r)
{
	guard_free(&r->g);
	free(r->nodes);
}

/* Compact re-encoding of doc's node into a fresh malloc'd buffer. */
static char *reencode(const struct collab_json_doc *doc, uint32_t node,
		      size_t *len)
{
	size_t cap = 2 * doc->in_len + 16;
	uint8_t *out = malloc(cap);
	struct collab_json_writer w;

	ck_assert_ptr_nonnull(out);
	collab_json_writer_init(&w, out, cap);
	ck_assert_int_eq(collab_json_write_node(&w, doc, node), 0);
	ck_assert_int_eq(collab_json_writer_finish(&w, len), 0);
	return (char *)out;
}

/* Asserts that two documents hold the same tree: types, member order,
 * decoded strings, number text. Both are in document order, so comparing
 * node by node compares the trees. */
static void same_tree(const struct collab_json_doc *a,
		      const struct collab_json_doc *b)
{
	ck_assert_uint_eq(a->n_nodes, b->n_nodes);
	for (uint32_t i = 0; i < a->n_nodes; i++) {
		const struct collab_json_node *x = &a->nodes[i], *y = &b->nodes[i];
		ck_assert_uint_eq(x->type, y->type);
		ck_assert_uint_eq(x->next, y->next);
		ck_assert_uint_eq(x->flags & ~COLLAB_JSON_F_ESCAPED,
				  y->flags & ~COLLAB_JSON_F_ESCAPED);
		if (x->type == COLLAB_JSON_STRING) {
			uint8_t *sx = malloc(x->dlen + 1), *sy = malloc(y->dlen + 1);
			size_t lx, ly;
			ck_assert_int_eq(collab_json_str(a, i, sx, x->dlen, &lx), 0);
			ck_assert_int_eq(collab_json_str(b, i, sy, y->dlen, &ly), 0);
			ck_assert_uint_eq(lx, ly);
			ck_assert(memcmp(sx, sy, lx) == 0);
			free(sx);
			free(sy);
		} else if (x->type == COLLAB_JSON_ARRAY ||
			   x->type == COLLAB_JSON_OBJECT) {
			ck_assert_uint_eq(x->count, y->count);
		} else {
			ck_assert_uint_eq(x->len, y->len);
			ck_assert(memcmp(a->in + x->off, b->in + y->off, x->len) == 0);
		}
	}
}

/* ---- accepted documents ------------------------------------------------ */

/* RFC 8259 section 13, verbatim. */
static const char rfc_image[] =
	"{\n"
	"        \"Image\": {\n"
	"            \"Width\":  800,\n"
	"            \"Height\": 600,\n"
	"            \"Title\":  \"View from 15th Floor\",\n"
	"            \"Thumbnail\": {\n"
	"                \"Url\":    \"http://www.example.com/image/481989943\",\n"
	"                \"Height\": 125,\n"
	"                \"Width\":  100\n"
	"            },\n"
	"            \"Animated\" : false,\n"
	"            \"IDs\": [116, 943, 234, 38793]\n"
	"          }\n"
	"      }";
static const char rfc_image_canon[] =
	"{\"Image\":{\"Width\":800,\"Height\":600,\"Title\":\"View from 15th "
	"Floor\",\"Thumbnail\":{\"Url\":\"http://www.example.com/image/"
	"481989943\",\"Height\":125,\"Width\":100},\"Animated\":false,"
	"\"IDs\":[116,943,234,38793]}}";
static const char rfc_geo[] =
	"[\n"
	"        {\n"
	"           \"precision\": \"zip\",\n"
	"           \"Latitude\":  37.7668,\n"
	"           \"Longitude\": -122.3959,\n"
	"           \"Address\":   \"\",\n"
	"           \"City\":      \"SAN FRANCISCO\",\n"
	"           \"State\":     \"CA\",\n"
	"           \"Zip\":       \"94107\",\n"
	"           \"Country\":   \"US\"\n"
	"        },\n"
	"        {\n"
	"           \"precision\": \"zip\",\n"
	"           \"Latitude\":  37.371991,\n"
	"           \"Longitude\": -122.026020,\n"
	"           \"Address\":   \"\",\n"
	"           \"City\":      \"SUNNYVALE\",\n"
	"           \"State\":     \"CA\",\n"
	"           \"Zip\":       \"94085\",\n"
	"           \"Country\":   \"US\"\n"
	"        }\n"
	"      ]";
static const char rfc_geo_canon[] =
	"[{\"precision\":\"zip\",\"Latitude\":37.7668,\"Longitude\":-122.3959,"
	"\"Address\":\"\",\"City\":\"SAN FRANCISCO\",\"State\":\"CA\","
	"\"Zip\":\"94107\",\"Country\":\"US\"},{\"precision\":\"zip\","
	"\"Latitude\":37.371991,\"Longitude\":-122.026020,\"Address\":\"\","
	"\"City\":\"SUNNYVALE\",\"State\":\"CA\",\"Zip\":\"94085\","
	"\"Country\":\"US\"}]";

struct accept_case {
	const char *in;
	size_t len;
	enum collab_json_type root;
	uint32_t nodes;
	const char *canon;      /* expected collab_json_write_node() output */
};

#define ACC(in, type, nodes, canon) { in, sizeof(in) - 1, type, nodes, canon }

static const struct accept_case accept_cases[] = {
	{ rfc_image, sizeof rfc_image - 1, COLLAB_JSON_OBJECT, 25, rfc_image_canon },
	{ rfc_geo, sizeof rfc_geo - 1, COLLAB_JSON_ARRAY, 35, rfc_geo_canon },
	ACC("\"Hello world!\"", COLLAB_JSON_STRING, 1, "\"Hello world!\""),
	ACC("42", COLLAB_JSON_NUMBER, 1, "42"),
	ACC("true", COLLAB_JSON_TRUE, 1, "true"),
	ACC("false", COLLAB_JSON_FALSE, 1, "false"),
	ACC("null", COLLAB_JSON_NULL, 1, "null"),
	ACC(" [ ] ", COLLAB_JSON_ARRAY, 1, "[]"),
	ACC("{}", COLLAB_JSON_OBJECT, 1, "{}"),
	ACC("{ }", COLLAB_JSON_OBJECT, 1, "{}"),
	ACC("\t\n\r 1 \t\n\r", COLLAB_JSON_NUMBER, 1, "1"),
	ACC("0", COLLAB_JSON_NUMBER, 1, "0"),
	ACC("-0", COLLAB_JSON_NUMBER, 1, "-0"),
	ACC("-0.0e-0", COLLAB_JSON_NUMBER, 1, "-0.0e-0"),
	ACC("1E+2", COLLAB_JSON_NUMBER, 1, "1E+2"),
	ACC("10.250e12", COLLAB_JSON_NUMBER, 1, "10.250e12"),
	ACC("123456789012345678901234567890", COLLAB_JSON_NUMBER, 1,
	    "123456789012345678901234567890"),
	ACC("[[[]]]", COLLAB_JSON_ARRAY, 3, "[[[]]]"),
	ACC("[1, [2, [3]], {}]", COLLAB_JSON_ARRAY, 7, "[1,[2,[3]],{}]"),
	ACC("\"\"", COLLAB_JSON_STRING, 1, "\"\""),
	ACC("\"\\u0000\"", COLLAB_JSON_STRING, 1, "\"\\u0000\""),
	ACC("\"\\/\"", COLLAB_JSON_STRING, 1, "\"/\""),
	ACC("\"\\u0061\\u0041\"", COLLAB_JSON_STRING, 1, "\"aA\""),
	ACC("\"\\u00e9\\u00C9\"", COLLAB_JSON_STRING, 1, "\"\xc3\xa9\xc3\x89\""),
	ACC("\"\\ud83d\\ude00\"", COLLAB_JSON_STRING, 1, "\"\xf0\x9f\x98\x80\""),
	ACC("\"\\uDBFF\\uDFFF\"", COLLAB_JSON_STRING, 1, "\"\xf4\x8f\xbf\xbf\""),
	ACC("\"\\uFFFF\\u0800\\u07ff\"", COLLAB_JSON_STRING, 1,
	    "\"\xef\xbf\xbf\xe0\xa0\x80\xdf\xbf\""),
	ACC("\"\x7f\"", COLLAB_JSON_STRING, 1, "\"\x7f\""),
	ACC("\"\\u007f\"", COLLAB_JSON_STRING, 1, "\"\x7f\""),
	ACC("\"\\u2028\\u2029\"", COLLAB_JSON_STRING, 1, "\"\\u2028\\u2029\""),
	ACC("\"a\xe2\x80\xa8z\xe2\x80\xa9\"", COLLAB_JSON_STRING, 1,
	    "\"a\\u2028z\\u2029\""),
	ACC("\"\xe2\x80\xa7\xe2\x80\xaa\"", COLLAB_JSON_STRING, 1,
	    "\"\xe2\x80\xa7\xe2\x80\xaa\""),
	ACC("\"\\b\\f\\n\\r\\t\\\"\\\\\"", COLLAB_JSON_STRING, 1,
	    "\"\\b\\f\\n\\r\\t\\\"\\\\\""),
	ACC("\"\\u0008\\u000A\\u001F\\u0022\\u005c\"", COLLAB_JSON_STRING, 1,
	    "\"\\b\\n\\u001f\\\"\\\\\""),
	ACC("\"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"",
	    COLLAB_JSON_STRING, 1,
	    "\"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\""),
	ACC("\"a long string, longer than eight bytes, with \\\"quotes\\\"\"",
	    COLLAB_JSON_STRING, 1,
	    "\"a long string, longer than eight bytes, with \\\"quotes\\\"\""),
	ACC("{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", COLLAB_JSON_OBJECT, 9,
	    "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}"),
	ACC("{\"\":0}", COLLAB_JSON_OBJECT, 3, "{\"\":0}"),
	ACC("{\"a\":1,\"A\":2,\"b\":3,\"ab\":4}", COLLAB_JSON_OBJECT, 9,
	    "{\"a\":1,\"A\":2,\"b\":3,\"ab\":4}"),
	ACC("{\"a\":{\"a\":{\"a\":1}}}", COLLAB_JSON_OBJECT, 7,
	    "{\"a\":{\"a\":{\"a\":1}}}"),
	ACC("[{\"a\":1},{\"a\":1}]", COLLAB_JSON_ARRAY, 7,
	    "[{\"a\":1},{\"a\":1}]"),
	ACC("{\"ab\":1,\"a\\u0062\\u0000\":2,\"\\u0000\":3,\"\\u0001\":4}",
	    COLLAB_JSON_OBJECT, 9,
	    "{\"ab\":1,\"ab\\u0000\":2,\"\\u0000\":3,\"\\u0001\":4}"),
	ACC("{ \"k\" : [ true , false , null ] }", COLLAB_JSON_OBJECT, 6,
	    "{\"k\":[true,false,null]}"),
};

/* Whether in[0..k) is itself a valid document, given that in[0..len) is. */
static bool prefix_valid(const char *in, size_t len, size_t k,
			 enum collab_json_type root)
{
	size_t start = 0, end = len;

	while (start < len && strchr(" \t\n\r", in[start]))
		start++;
	while (end > start && strchr(" \t\n\r", in[end - 1]))
		end--;
	if (k >= end)
		return true;
	/* a number cut after any digit is still a number */
	return root == COLLAB_JSON_NUMBER && k > start &&
	       in[k - 1] >= '0' && in[k - 1] <= '9';
}

START_TEST(test_accept)
{
	const struct accept_case *c = &accept_cases[_i];
	struct parsed r, r2;
	size_t olen, olen2;
	char *out, *out2;

	/* COLLAB_JSON_NODES_FOR suffices for valid documents */
	parse_cfg(&r, NULL, c->in, c->len, COLLAB_JSON_NODES_FOR(c->len));
	ck_assert_msg(r.rc == 0, "case %d: rc %d at %zu", _i, r.rc,
		      r.doc.err_off);
	ck_assert_uint_eq(collab_json_root(&r.doc), 0);
	ck_assert_int_eq(collab_json_type(&r.doc, 0), c->root);
	ck_assert_uint_eq(r.doc.n_nodes, c->nodes);
	ck_assert_uint_eq(r.doc.err_off, 0);

	/* write(read(x)) is the canonical form, and a fixed point */
	out = reencode(&r.doc, 0, &olen);
	ck_assert_uint_eq(olen, strlen(c->canon));
	ck_assert_msg(memcmp(out, c->canon, olen) == 0, "case %d: %.*s", _i,
		      (int)olen, out);
	parse_in(&r2, out, olen);
	ck_assert_int_eq(r2.rc, 0);
	same_tree(&r.doc, &r2.doc);
	out2 = reencode(&r2.doc, 0, &olen2);
	ck_assert_uint_eq(olen, olen2);
	ck_assert(memcmp(out, out2, olen) == 0);
	free(out);
	free(out2);
	parsed_free(&r2);
	parsed_free(&r);
}
END_TEST

START_TEST(test_accept_prefixes)
{
	const struct accept_case *c = &accept_cases[_i];

	for (size_t k = 0; k < c->len; k++) {
		struct parsed r;
		parse_in(&r, c->in, k);
		if (prefix_valid(c->in, c->len, k, c->root)) {
			ck_assert_msg(r.rc == 0, "case %d prefix %zu: %d", _i, k,
				      r.rc);
		} else {
			/* truncated input fails where it ends */
			ck_assert_msg(r.rc == COLLAB_ESYNTAX || r.rc == COLLAB_EUTF8,
				      "case %d prefix %zu: %d", _i, k, r.rc);
			ck_assert_msg(r.doc.err_off == k, "case %d prefix %zu: off %zu",
				      _i, k, r.doc.err_off);
			ck_assert_uint_eq(r.doc.n_nodes, 0);
			ck_assert_uint_eq(collab_json_root(&r.doc), COLLAB_JSON_NONE);
		}
		parsed_free(&r);
	}
}
END_TEST

/* ---- rejected documents ----------------------------------------------- */

struct reject_case {
	const char *in;
	size_t len;
	int err;
	size_t off;
};

#define REJ(in, err, off) { in, sizeof(in) - 1, err, off }

static const struct reject_case reject_cases[] = {
	/* RFC 8259 section 2: one value, surrounded by whitespace only */
	REJ("", COLLAB_ESYNTAX, 0),
	REJ("   ", COLLAB_ESYNTAX, 3),
	REJ("1 2", COLLAB_ESYNTAX, 2),
	REJ("null null", COLLAB_ESYNTAX, 5),
	REJ("[1]]", COLLAB_ESYNTAX, 3),
	REJ("{}}", COLLAB_ESYNTAX, 2),
	REJ("{} x", COLLAB_ESYNTAX, 3),
	REJ("1\x00", COLLAB_ESYNTAX, 1),
	REJ("\v1", COLLAB_ESYNTAX, 0),
	REJ("\f1", COLLAB_ESYNTAX, 0),
	REJ("\xc2\xa0" "1", COLLAB_ESYNTAX, 0),   /* U+00A0 is not ws */
	REJ("\xef\xbb\xbf{}", COLLAB_ESYNTAX, 0), /* byte order mark */
	/* comments */
	REJ("// c\n1", COLLAB_ESYNTAX, 0),
	REJ("/* c */ 1", COLLAB_ESYNTAX, 0),
	REJ("1 // c", COLLAB_ESYNTAX, 2),
	REJ("[1]/**/", COLLAB_ESYNTAX, 3),
	REJ("[1 /* c */]", COLLAB_ESYNTAX, 3),
	REJ("# c\n1", COLLAB_ESYNTAX, 0),
	/* RFC 8259 sections 4, 5: separators */
	REJ("[1,]", COLLAB_ESYNTAX, 3),
	REJ("{\"a\":1,}", COLLAB_ESYNTAX, 7),
	REJ("[,1]", COLLAB_ESYNTAX, 1),
	REJ("[1,,2]", COLLAB_ESYNTAX, 3),
	REJ("[,]", COLLAB_ESYNTAX, 1),
	REJ("{,}", COLLAB_ESYNTAX, 1),
	REJ("[1 2]", COLLAB_ESYNTAX, 3),
	REJ("[\"a\"\"b\"]", COLLAB_ESYNTAX, 4),
	REJ("{\"a\" 1}", COLLAB_ESYNTAX, 5),
	REJ("{\"a\"::1}", COLLAB_ESYNTAX, 5),
	REJ("{\"a\":}", COLLAB_ESYNTAX, 5),
	REJ("{\"a\":1 \"b\":2}", COLLAB_ESYNTAX, 7),
	REJ("{\"a\",1}", COLLAB_ESYNTAX, 4),
	REJ("{a:1}", COLLAB_ESYNTAX, 1),
	REJ("{1:1}", COLLAB_ESYNTAX, 1),
	REJ("{null:1}", COLLAB_ESYNTAX, 1),
	REJ("{'a':1}", COLLAB_ESYNTAX, 1),
	REJ("['a']", COLLAB_ESYNTAX, 1),
	REJ("[}", COLLAB_ESYNTAX, 1),
	REJ("{]", COLLAB_ESYNTAX, 1),
	REJ("[1}", COLLAB_ESYNTAX, 2),
	REJ("{\"a\":1]", COLLAB_ESYNTAX, 6),
	REJ("]", COLLAB_ESYNTAX, 0),
	REJ("}", COLLAB_ESYNTAX, 0),
	REJ(":", COLLAB_ESYNTAX, 0),
	REJ(",", COLLAB_ESYNTAX, 0),
	/* unclosed */
	REJ("[", COLLAB_ESYNTAX, 1),
	REJ("[1", COLLAB_ESYNTAX, 2),
	REJ("[1,", COLLAB_ESYNTAX, 3),
	REJ("{", COLLAB_ESYNTAX, 1),
	REJ("{\"a\"", COLLAB_ESYNTAX, 4),
	REJ("{\"a\":", COLLAB_ESYNTAX, 5),
	REJ("{\"a\":1", COLLAB_ESYNTAX, 6),
	REJ("\"abc", COLLAB_ESYNTAX, 4),
	/* RFC 8259 section 6: numbers */
	REJ("01", COLLAB_ESYNTAX, 1),
	REJ("00", COLLAB_ESYNTAX, 1),
	REJ("-01", COLLAB_ESYNTAX, 2),
	REJ("[012]", COLLAB_ESYNTAX, 2),
	REJ("+1", COLLAB_ESYNTAX, 0),
	REJ(".5", COLLAB_ESYNTAX, 0),
	REJ("-.5", COLLAB_ESYNTAX, 1),
	REJ("1.", COLLAB_ESYNTAX, 2),
	REJ("1.e5", COLLAB_ESYNTAX, 2),
	REJ("[1.]", COLLAB_ESYNTAX, 3),
	REJ("-", COLLAB_ESYNTAX, 1),
	REJ("-a", COLLAB_ESYNTAX, 1),
	REJ("--1", COLLAB_ESYNTAX, 1),
	REJ("1e", COLLAB_ESYNTAX, 2),
	REJ("1e+", COLLAB_ESYNTAX, 3),
	REJ("1E-x", COLLAB_ESYNTAX, 3),
	REJ("1e5.5", COLLAB_ESYNTAX, 3),
	REJ("1.5.5", COLLAB_ESYNTAX, 3),
	REJ("0x1F", COLLAB_ESYNTAX, 1),
	REJ("1_000", COLLAB_ESYNTAX, 1),
	REJ("NaN", COLLAB_ESYNTAX, 0),
	REJ("nan", COLLAB_ESYNTAX, 1),
	REJ("Infinity", COLLAB_ESYNTAX, 0),
	REJ("-Infinity", COLLAB_ESYNTAX, 1),
	REJ("[-]", COLLAB_ESYNTAX, 2),
	/* RFC 8259 section 3: literals, lowercase only */
	REJ("tru", COLLAB_ESYNTAX, 3),
	REJ("trUe", COLLAB_ESYNTAX, 2),
	REJ("True", COLLAB_ESYNTAX, 0),
	REJ("nul", COLLAB_ESYNTAX, 3),
	REJ("NULL", COLLAB_ESYNTAX, 0),
	REJ("falsey", COLLAB_ESYNTAX, 5),
	REJ("[truefalse]", COLLAB_ESYNTAX, 5),
	REJ("undefined", COLLAB_ESYNTAX, 0),
	/* RFC 8259 section 7: strings */
	REJ("\"a\x01" "b\"", COLLAB_ESYNTAX, 2),
	REJ("\"\x1f\"", COLLAB_ESYNTAX, 1),
	REJ("\"\t\"", COLLAB_ESYNTAX, 1),
	REJ("\"\n\"", COLLAB_ESYNTAX, 1),
	REJ("\"\x00\"", COLLAB_ESYNTAX, 1),
	REJ("\"0123456789abcdef\x02\"", COLLAB_ESYNTAX, 17),
	REJ("\"\\x41\"", COLLAB_ESYNTAX, 2),
	REJ("\"\\'\"", COLLAB_ESYNTAX, 2),
	REJ("\"\\U0041\"", COLLAB_ESYNTAX, 2),
	REJ("\"\\a\"", COLLAB_ESYNTAX, 2),
	REJ("\"\\0\"", COLLAB_ESYNTAX, 2),
	REJ("\"\\\n\"", COLLAB_ESYNTAX, 2),
	REJ("\"\\u00G1\"", COLLAB_ESYNTAX, 5),
	REJ("\"\\u12\"", COLLAB_ESYNTAX, 5),
	REJ("\"\\u-123\"", COLLAB_ESYNTAX, 3),
	REJ("\"\\u", COLLAB_ESYNTAX, 3),
	REJ("\"\\", COLLAB_ESYNTAX, 2),
	REJ("'a'", COLLAB_ESYNTAX, 0),
	/* surrogate escapes: pairs only, high then low */
	REJ("\"\\uDC00\"", COLLAB_EUTF8, 1),
	REJ("\"\\uDFFF\"", COLLAB_EUTF8, 1),
	REJ("\"\\uD800\"", COLLAB_EUTF8, 7),
	REJ("\"\\uDBFFx\"", COLLAB_EUTF8, 7),
	REJ("\"\\uD800\\n\"", COLLAB_EUTF8, 7),
	REJ("\"\\uD800\\u0041\"", COLLAB_EUTF8, 7),
	REJ("\"\\uD800\\uD800\"", COLLAB_EUTF8, 7),
	REJ("\"\\uD800\\uE000\"", COLLAB_EUTF8, 7),
	REJ("\"\\uDC00\\uD800\"", COLLAB_EUTF8, 1),
	REJ("\"a\\uD83D \\uDE00\"", COLLAB_EUTF8, 8),
	REJ("\"\\uD800\\uDC0", COLLAB_ESYNTAX, 12),
	REJ("\"\\uD800\\uDCxx\"", COLLAB_ESYNTAX, 11),
	REJ("\"\\uD800\\", COLLAB_ESYNTAX, 8),
	REJ("\"\\uD800", COLLAB_ESYNTAX, 7),
	/* RFC 8259 section 8.1, RFC 3629: UTF-8 everywhere */
	REJ("\"\xff\"", COLLAB_EUTF8, 1),
	REJ("\"\x80\"", COLLAB_EUTF8, 1),
	REJ("\"\xc0\x80\"", COLLAB_EUTF8, 1),           /* overlong NUL */
	REJ("\"\xc1\xbf\"", COLLAB_EUTF8, 1),
	REJ("\"\xe0\x80\xaf\"", COLLAB_EUTF8, 2),       /* overlong '/' */
	REJ("\"\xed\xa0\x80\"", COLLAB_EUTF8, 2),       /* U+D800 */
	REJ("\"\xed\xbf\xbf\"", COLLAB_EUTF8, 2),       /* U+DFFF */
	REJ("\"\xf4\x90\x80\x80\"", COLLAB_EUTF8, 2),   /* U+110000 */
	REJ("\"\xf5\x80\x80\x80\"", COLLAB_EUTF8, 1),
	REJ("\"\xe2\x82\"", COLLAB_EUTF8, 3),           /* cut by '"' */
	REJ("\"abcdefgh\xc3x\"", COLLAB_EUTF8, 10),
	REJ("\"\xc3\xa9\xc3\"", COLLAB_EUTF8, 4),
	REJ("\"\xc3", COLLAB_EUTF8, 2),                 /* cut by the end */
	REJ("{\"\xff\":1}", COLLAB_EUTF8, 2),
	REJ("\xff", COLLAB_EUTF8, 0),
	REJ("[1]\xff", COLLAB_EUTF8, 3),
	REJ("[\xc3]", COLLAB_EUTF8, 2),
	REJ("\xc3", COLLAB_EUTF8, 1),
	REJ("\xc3\xa9", COLLAB_ESYNTAX, 0),             /* valid, not JSON */
	REJ("[1,\xe2\x80\xa8]", COLLAB_ESYNTAX, 3),
	/* RFC 8259 section 4 allows repeated names; we do not */
	REJ("{\"a\":1,\"a\":2}", COLLAB_EDUPKEY, 7),
	REJ("{\"a\":1,\"\\u0061\":2}", COLLAB_EDUPKEY, 7),
	REJ("{\"\\u0061\":1,\"a\":2}", COLLAB_EDUPKEY, 12),
	REJ("{\"\\u00e9\":1,\"\xc3\xa9\":2}", COLLAB_EDUPKEY, 12),
	REJ("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", COLLAB_EDUPKEY, 18),
	REJ("{\"\\/\":1,\"/\":2}", COLLAB_EDUPKEY, 8),
	REJ("{\"\":1,\"\":2}", COLLAB_EDUPKEY, 6),
	REJ("{\"b\":1,\"a\":2,\"b\":3,\"a\":4}", COLLAB_EDUPKEY, 13),
	REJ("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"c\":6}", COLLAB_EDUPKEY, 31),
	REJ("{\"a\":{\"b\":1,\"b\":2},\"a\":1}", COLLAB_EDUPKEY, 12),
	REJ("{\"a\":{\"b\":1},\"a\":1}", COLLAB_EDUPKEY, 13),
	REJ("[{\"x\":[],\"x\":{}}]", COLLAB_EDUPKEY, 9),
	REJ("{\"a\":1,\"a\":2", COLLAB_ESYNTAX, 12),    /* checked at '}' */
};

START_TEST(test_reject)
{
	const struct reject_case *c = &reject_cases[_i];
	struct parsed r;

	parse_in(&r, c->in, c->len);
	ck_assert_msg(r.rc == c->err && r.doc.err_off == c->off,
		      "case %d: want %d at %zu, got %d at %zu", _i, c->err,
		      c->off, r.rc, r.doc.err_off);
	ck_assert_uint_eq(r.doc.n_nodes, 0);
	ck_assert_uint_eq(collab_json_root(&r.doc), COLLAB_JSON_NONE);
	parsed_free(&r);
}
END_TEST

/* ---- limits ------------------------------------------------------------ */

static char *nested(size_t depth, size_t *len)
{
	char *s = malloc(2 * depth + 1);
	for (size_t i = 0; i < depth; i++) {
		s[i] = '[';
		s[2 * depth - 1 - i] = ']';
	}
	*len = 2 * depth;
	return s;
}

START_TEST(test_depth)
{
	struct collab_json_config cfg;
	struct parsed r;
	size_t len;
	char *s = nested(COLLAB_JSON_DEFAULT_MAX_DEPTH, &len);

	parse_in(&r, s, len);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.doc.n_nodes, COLLAB_JSON_DEFAULT_MAX_DEPTH);
	parsed_free(&r);
	free(s);

	s = nested(COLLAB_JSON_DEFAULT_MAX_DEPTH + 1, &len);
	parse_in(&r, s, len);
	ck_assert_int_eq(r.rc, COLLAB_ELIMIT);
	ck_assert_uint_eq(r.doc.err_off, COLLAB_JSON_DEFAULT_MAX_DEPTH);
	parsed_free(&r);
	free(s);

	/* deep nesting costs no stack: 100000 levels when allowed */
	collab_json_config_init(&cfg);
	cfg.max_depth = 100000;
	cfg.max_input = 200000;
	s = nested(100000, &len);
	parse_cfg(&r, &cfg, s, len, 100000);
	ck_assert_int_eq(r.rc, 0);
	parsed_free(&r);
	free(s);

	/* max_depth 0: scalars only */
	cfg.max_depth = 0;
	parse_cfg(&r, &cfg, S("7"), 4);
	ck_assert_int_eq(r.rc, 0);
	parsed_free(&r);
	parse_cfg(&r, &cfg, S(" {}"), 4);
	ck_assert_int_eq(r.rc, COLLAB_ELIMIT);
	ck_assert_uint_eq(r.doc.err_off, 1);
	parsed_free(&r);
	cfg.max_depth = 2;
	parse_cfg(&r, &cfg, S("{\"a\":[{}]}"), 8);
	ck_assert_int_eq(r.rc, COLLAB_ELIMIT);
	ck_assert_uint_eq(r.doc.err_off, 6);
	parsed_free(&r);
}
END_TEST

START_TEST(test_limits)
{
	struct collab_json_config cfg;
	struct collab_json_node nodes[4];
	struct collab_json_doc doc;
	struct parsed r;
	char big[1001];

	/* max_input */
	collab_json_config_init(&cfg);
	ck_assert_uint_eq(cfg.max_input, COLLAB_JSON_DEFAULT_MAX_INPUT);
	ck_assert_uint_eq(cfg.max_depth, COLLAB_JSON_DEFAULT_MAX_DEPTH);
	cfg.max_input = 4;
	parse_cfg(&r, &cfg, S("1234"), 4);
	ck_assert_int_eq(r.rc, 0);
	parsed_free(&r);
	parse_cfg(&r, &cfg, S("12345"), 4);
	ck_assert_int_eq(r.rc, COLLAB_ELIMIT);
	ck_assert_uint_eq(r.doc.err_off, 4);
	parsed_free(&r);
	{
		/* the default, to the byte */
		size_t n = COLLAB_JSON_DEFAULT_MAX_INPUT + 1;
		char *m = malloc(n);
		memset(m, ' ', n);
		m[0] = '1';
		parse_cfg(&r, NULL, m, n - 1, 1);
		ck_assert_int_eq(r.rc, 0);
		parsed_free(&r);
		parse_cfg(&r, NULL, m, n, 1);
		ck_assert_int_eq(r.rc, COLLAB_ELIMIT);
		ck_assert_uint_eq(r.doc.err_off, COLLAB_JSON_DEFAULT_MAX_INPUT);
		parsed_free(&r);
		free(m);
	}

	/* nodes */
	parse_cfg(&r, NULL, S("[1,2,3]"), 3);
	ck_assert_int_eq(r.rc, COLLAB_ELIMIT);
	ck_assert_uint_eq(r.doc.err_off, 5);
	parsed_free(&r);
	parse_cfg(&r, NULL, S("[1,2,3]"), 4);
	ck_assert_int_eq(r.rc, 0);
	parsed_free(&r);
	parse_cfg(&r, NULL, S("{\"a\":1}"), 2);
	ck_assert_int_eq(r.rc, COLLAB_ELIMIT);
	ck_assert_uint_eq(r.doc.err_off, 5);
	parsed_free(&r);
	parse_cfg(&r, NULL, S("1"), 0);
	ck_assert_int_eq(r.rc, COLLAB_ELIMIT);
	ck_assert_uint_eq(r.doc.err_off, 0);
	parsed_free(&r);

	/* COLLAB_JSON_NODES_FOR is enough for the densest texts */
	for (size_t n = 1; n <= 500; n++) {
		size_t len = 0;
		big[len++] = '[';
		for (size_t k = 0; k < n; k++) {
			if (k)
				big[len++] = ',';
			big[len++] = '0';
		}
		big[len++] = ']';
		parse_cfg(&r, NULL, big, len, COLLAB_JSON_NODES_FOR(len));
		ck_assert_int_eq(r.rc, 0);
		ck_assert_uint_eq(r.doc.n_nodes, n + 1);
		parsed_free(&r);
	}

	/* caller bugs */
	ck_assert_int_eq(collab_json_parse(NULL, (const uint8_t *)"1", 1, nodes,
					   4, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_json_parse(NULL, NULL, 1, nodes, 4, &doc),
			 COLLAB_EINVAL);
	ck_assert_int_eq(doc.err, COLLAB_EINVAL);
	ck_assert_uint_eq(collab_json_root(&doc), COLLAB_JSON_NONE);
	ck_assert_int_eq(collab_json_parse(NULL, (const uint8_t *)"1", 1, NULL,
					   4, &doc), COLLAB_EINVAL);
	cfg.max_input = COLLAB_JSON_MAX_INPUT_CAP + 1;
	ck_assert_int_eq(collab_json_parse(&cfg, (const uint8_t *)"1", 1, nodes,
					   4, &doc), COLLAB_EINVAL);
	/* empty input with NULL is allowed, and rejected as empty */
	ck_assert_int_eq(collab_json_parse(NULL, NULL, 0, nodes, 4, &doc),
			 COLLAB_ESYNTAX);
	ck_assert_uint_eq(doc.err_off, 0);
}
END_TEST

/* Many members: the duplicate check sorts instead of comparing all pairs. */
START_TEST(test_many_members)
{
	struct collab_json_config cfg;
	struct parsed r;
	size_t cap = 40 * 20000, len = 0;
	char *s = malloc(cap);
	const size_t members = 20000;
	size_t dup_off = 0;

	collab_json_config_init(&cfg);
	cfg.max_input = cap;
	s[len++] = '{';
	for (size_t k = 0; k < members; k++) {
		/* "k0" and 6 digits: same length and first bytes for all,
		 * a third of them spelt with an escape */
		len += (size_t)snprintf(s + len, cap - len, "%s\"k%s%06zu\":%zu",
					k ? "," : "", k % 3 ? "0" : "\\u0030", k, k);
	}
	s[len++] = '}';
	parse_cfg(&r, &cfg, s, len, COLLAB_JSON_NODES_FOR(len));
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(collab_json_count(&r.doc, 0), members);
	{
		uint64_t v = 0;
		ck_assert_int_eq(collab_json_get_u64(&r.doc, collab_json_obj_get(
				&r.doc, 0, S("k0019999")), &v), 0);
		ck_assert_uint_eq(v, 19999);
		ck_assert_int_eq(collab_json_get_u64(&r.doc, collab_json_obj_get(
				&r.doc, 0, S("k0000999")), &v), 0);
		ck_assert_uint_eq(v, 999);
	}
	parsed_free(&r);

	/* the same with one name repeated near the end */
	len--;
	dup_off = len + 1;
	len += (size_t)snprintf(s + len, cap - len, ",\"k0\\u003012345\":1}");
	parse_cfg(&r, &cfg, s, len, COLLAB_JSON_NODES_FOR(len));
	ck_assert_int_eq(r.rc, COLLAB_EDUPKEY);
	ck_assert_uint_eq(r.doc.err_off, dup_off);
	parsed_free(&r);
	free(s);
}
END_TEST

/* ---- accessors ---------------------------------------------------------- */

static const char access_doc[] =
	"{\"type\":\"hello\",\"since\":41,\"epoch\":\"e\\u0031\",\"n\":null,"
	"\"t\":true,\"f\":false,\"arr\":[1,\"two\",[3]],\"o\":{},"
	"\"\\u0061b\":\"x\\ny\",\"neg\":-7,\"fl\":1.5}";

START_TEST(test_access)
{
	struct parsed r;
	const struct collab_json_doc *d;
	uint32_t root, k, v, arr;
	struct collab_str s;
	uint8_t buf[16];
	size_t len;
	int64_t i64;
	uint64_t u64;
	bool b;
	const char *want_keys[] = { "type", "since", "epoch", "n", "t", "f",
				    "arr", "o", "ab", "neg", "fl" };
	size_t nk = 0;

	parse_in(&r, S(access_doc));
	ck_assert_int_eq(r.rc, 0);
	d = &r.doc;
	root = collab_json_root(d);
	ck_assert_int_eq(collab_json_expect(d, root, COLLAB_JSON_OBJECT), 0);
	ck_assert_int_eq(collab_json_expect(d, root, COLLAB_JSON_ARRAY),
			 COLLAB_ETYPE);
	ck_assert_int_eq(collab_json_expect(d, COLLAB_JSON_NONE,
					    COLLAB_JSON_ARRAY), COLLAB_ENOTFOUND);
	ck_assert_uint_eq(collab_json_count(d, root), 11);

	/* members in order; a value's next is the next member's name */
	for (k = collab_json_first(d, root); k != COLLAB_JSON_NONE;
	     k = collab_json_next(d, k)) {
		ck_assert_uint_lt(nk, ARRAY_LEN(want_keys));
		ck_assert(collab_json_str_eq(d, k, want_keys[nk],
					     strlen(want_keys[nk])));
		v = collab_json_value(d, k);
		ck_assert_uint_eq(v, k + 1);
		ck_assert_uint_eq(collab_json_next(d, v), collab_json_next(d, k));
		ck_assert_uint_eq(collab_json_obj_get(d, root, want_keys[nk],
						      strlen(want_keys[nk])), v);
		nk++;
	}
	ck_assert_uint_eq(nk, ARRAY_LEN(want_keys));
	ck_assert_uint_eq(collab_json_value(d, root), COLLAB_JSON_NONE);
	ck_assert_uint_eq(collab_json_value(d, 2), COLLAB_JSON_NONE);

	/* lookups: absent vs wrong type */
	ck_assert_uint_eq(collab_json_obj_get(d, root, S("missing")),
			  COLLAB_JSON_NONE);
	ck_assert_uint_eq(collab_json_obj_get(d, root, S("typ")),
			  COLLAB_JSON_NONE);
	ck_assert_uint_eq(collab_json_obj_get(d, root, S("Type")),
			  COLLAB_JSON_NONE);
	ck_assert_uint_eq(collab_json_obj_get(d, collab_json_obj_get(d, root,
				S("since")), S("a")), COLLAB_JSON_NONE);
	ck_assert_uint_eq(collab_json_obj_get(d, COLLAB_JSON_NONE, S("a")),
			  COLLAB_JSON_NONE);
	ck_assert_uint_eq(collab_json_obj_get(d, collab_json_obj_get(d, root,
				S("o")), S("a")), COLLAB_JSON_NONE);
	ck_assert_int_eq(collab_json_get_i64(d, collab_json_obj_get(d, root,
				S("missing")), &i64), COLLAB_ENOTFOUND);
	ck_assert_int_eq(collab_json_get_i64(d, collab_json_obj_get(d, root,
				S("n")), &i64), COLLAB_ETYPE);
	ck_assert_int_eq(collab_json_get_i64(d, collab_json_obj_get(d, root,
				S("type")), &i64), COLLAB_ETYPE);
	ck_assert_int_eq(collab_json_get_i64(d, collab_json_obj_get(d, root,
				S("fl")), &i64), COLLAB_ETYPE);
	ck_assert_int_eq(collab_json_get_i64(d, collab_json_obj_get(d, root,
				S("since")), &i64), 0);
	ck_assert_int_eq(i64, 41);
	ck_assert_int_eq(collab_json_get_u64(d, collab_json_obj_get(d, root,
				S("neg")), &u64), COLLAB_ERANGE);
	ck_assert_int_eq(collab_json_get_i64(d, collab_json_obj_get(d, root,
				S("neg")), &i64), 0);
	ck_assert_int_eq(i64, -7);
	ck_assert_int_eq(collab_json_get_bool(d, collab_json_obj_get(d, root,
				S("t")), &b), 0);
	ck_assert(b);
	ck_assert_int_eq(collab_json_get_bool(d, collab_json_obj_get(d, root,
				S("f")), &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(collab_json_get_bool(d, collab_json_obj_get(d, root,
				S("n")), &b), COLLAB_ETYPE);
	ck_assert_int_eq(collab_json_get_bool(d, COLLAB_JSON_NONE, &b),
			 COLLAB_ENOTFOUND);
	ck_assert_int_eq(collab_json_type(d, COLLAB_JSON_NONE),
			 COLLAB_JSON_ABSENT);
	ck_assert_int_eq(collab_json_type(d, 999), COLLAB_JSON_ABSENT);
	ck_assert_int_eq(collab_json_type(d, collab_json_obj_get(d, root,
				S("n"))), COLLAB_JSON_NULL);

	/* escaped name found by its decoded value */
	v = collab_json_obj_get(d, root, S("ab"));
	ck_assert_int_eq(collab_json_type(d, v), COLLAB_JSON_STRING);

	/* strings: zero-copy when unescaped, decoded otherwise */
	v = collab_json_obj_get(d, root, S("type"));
	ck_assert_int_eq(collab_json_str_view(d, v, NULL, 0, &s), 0);
	ck_assert_ptr_eq(s.p, (const char *)r.g.p + 9);
	ck_assert(collab_str_eq(s, S("hello")));
	v = collab_json_obj_get(d, root, S("epoch"));
	ck_assert(collab_json_str_eq(d, v, S("e1")));
	ck_assert(!collab_json_str_eq(d, v, S("e\\u0031")));
	ck_assert(!collab_json_str_eq(d, v, S("e2")));
	ck_assert(!collab_json_str_eq(d, v, S("e")));
	ck_assert_int_eq(collab_json_str_view(d, v, NULL, 0, &s), COLLAB_ESPACE);
	ck_assert_ptr_null(s.p);
	ck_assert_int_eq(collab_json_str_view(d, v, buf, sizeof buf, &s), 0);
	ck_assert_ptr_eq(s.p, (const char *)buf);
	ck_assert(collab_str_eq(s, S("e1")));
	s = collab_json_raw(d, v);
	ck_assert(collab_str_eq(s, S("e\\u0031")));
	v = collab_json_obj_get(d, root, S("ab"));
	memset(buf, 0xAA, sizeof buf);
	ck_assert_int_eq(collab_json_str(d, v, buf, 2, &len), COLLAB_ESPACE);
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_eq(buf[0], 0xAA);
	ck_assert_int_eq(collab_json_str(d, v, buf, 3, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(buf, "x\ny", 3) == 0);
	ck_assert_int_eq(collab_json_str(d, root, buf, sizeof buf, &len),
			 COLLAB_ETYPE);
	ck_assert_int_eq(collab_json_str(d, COLLAB_JSON_NONE, buf, sizeof buf,
					 &len), COLLAB_ENOTFOUND);
	ck_assert_int_eq(collab_json_str_view(d, root, buf, sizeof buf, &s),
			 COLLAB_ETYPE);
	ck_assert(!collab_json_str_eq(d, root, S("")));

	/* arrays */
	arr = collab_json_obj_get(d, root, S("arr"));
	ck_assert_uint_eq(collab_json_count(d, arr), 3);
	k = collab_json_first(d, arr);
	ck_assert_int_eq(collab_json_get_u64(d, k, &u64), 0);
	ck_assert_uint_eq(u64, 1);
	k = collab_json_next(d, k);
	ck_assert(collab_json_str_eq(d, k, S("two")));
	k = collab_json_next(d, k);
	ck_assert_int_eq(collab_json_type(d, k), COLLAB_JSON_ARRAY);
	ck_assert_uint_eq(collab_json_count(d, k), 1);
	ck_assert_uint_eq(collab_json_next(d, k), COLLAB_JSON_NONE);
	s = collab_json_raw(d, k);
	ck_assert(collab_str_eq(s, S("[3]")));
	s = collab_json_raw(d, arr);
	ck_assert(collab_str_eq(s, S("[1,\"two\",[3]]")));
	ck_assert_uint_eq(collab_json_first(d, collab_json_obj_get(d, root,
				S("o"))), COLLAB_JSON_NONE);
	ck_assert_uint_eq(collab_json_count(d, v), 0);
	ck_assert_uint_eq(collab_json_first(d, v), COLLAB_JSON_NONE);
	s = collab_json_raw(d, collab_json_obj_get(d, root, S("fl")));
	ck_assert(collab_str_eq(s, S("1.5")));
	s = collab_json_raw(d, COLLAB_JSON_NONE);
	ck_assert_ptr_null(s.p);
	ck_assert_uint_eq(collab_json_next(d, root), COLLAB_JSON_NONE);
	parsed_free(&r);
}
END_TEST

struct int_case {
	const char *in;
	int i64_rc;
	int64_t i64;
	int u64_rc;
	uint64_t u64;
};

static const struct int_case int_cases[] = {
	{ "0", 0, 0, 0, 0 },
	{ "-0", 0, 0, 0, 0 },
	{ "7", 0, 7, 0, 7 },
	{ "-1", 0, -1, COLLAB_ERANGE, 0 },
	{ "9223372036854775807", 0, INT64_MAX, 0, 9223372036854775807u },
	{ "9223372036854775808", COLLAB_ERANGE, 0, 0, 9223372036854775808u },
	{ "-9223372036854775808", 0, INT64_MIN, COLLAB_ERANGE, 0 },
	{ "-9223372036854775809", COLLAB_ERANGE, 0, COLLAB_ERANGE, 0 },
	{ "18446744073709551615", COLLAB_ERANGE, 0, 0, UINT64_MAX },
	{ "18446744073709551616", COLLAB_ERANGE, 0, COLLAB_ERANGE, 0 },
	{ "18446744073709551620", COLLAB_ERANGE, 0, COLLAB_ERANGE, 0 },
	{ "99999999999999999999999", COLLAB_ERANGE, 0, COLLAB_ERANGE, 0 },
	{ "-99999999999999999999999", COLLAB_ERANGE, 0, COLLAB_ERANGE, 0 },
	{ "1.0", COLLAB_ETYPE, 0, COLLAB_ETYPE, 0 },
	{ "1e2", COLLAB_ETYPE, 0, COLLAB_ETYPE, 0 },
	{ "1E0", COLLAB_ETYPE, 0, COLLAB_ETYPE, 0 },
	{ "-0.0", COLLAB_ETYPE, 0, COLLAB_ETYPE, 0 },
	{ "\"1\"", COLLAB_ETYPE, 0, COLLAB_ETYPE, 0 },
	{ "null", COLLAB_ETYPE, 0, COLLAB_ETYPE, 0 },
	{ "true", COLLAB_ETYPE, 0, COLLAB_ETYPE, 0 },
	{ "[1]", COLLAB_ETYPE, 0, COLLAB_ETYPE, 0 },
	{ "{}", COLLAB_ETYPE, 0, COLLAB_ETYPE, 0 },
};

START_TEST(test_ints)
{
	const struct int_case *c = &int_cases[_i];
	struct parsed r;
	int64_t i64 = 12345;
	uint64_t u64 = 12345;

	parse_in(&r, c->in, strlen(c->in));
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(collab_json_get_i64(&r.doc, 0, &i64), c->i64_rc);
	if (c->i64_rc == 0)
		ck_assert(i64 == c->i64);
	else
		ck_assert(i64 == 12345);
	ck_assert_int_eq(collab_json_get_u64(&r.doc, 0, &u64), c->u64_rc);
	if (c->u64_rc == 0)
		ck_assert(u64 == c->u64);
	else
		ck_assert(u64 == 12345);
	ck_assert_int_eq(collab_json_get_i64(&r.doc, COLLAB_JSON_NONE, &i64),
			 COLLAB_ENOTFOUND);
	ck_assert_int_eq(collab_json_get_u64(&r.doc, COLLAB_JSON_NONE, &u64),
			 COLLAB_ENOTFOUND);
	parsed_free(&r);
}
END_TEST

/* ---- writer ------------------------------------------------------------- */

/* Writes one string value and checks the exact output. */
static void check_str_out(const char *in, size_t n, const char *want,
			  size_t wn)
{
	uint8_t out[256];
	struct collab_json_writer w;
	size_t len = 0;

	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_str(&w, in, n), 0);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len), 0);
	ck_assert_msg(len == wn && memcmp(out, want, wn) == 0, "got %.*s",
		      (int)len, out);
}

START_TEST(test_write_controls)
{
	/* every code point below U+0020, alone and inside text */
	static const char *const short_form[32] = {
		['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n",
		['\f'] = "\\f", ['\r'] = "\\r",
	};
	char in[3] = { 'a', (char)_i, 'z' }, want[16];
	int n;

	if (short_form[_i])
		n = snprintf(want, sizeof want, "\"a%sz\"", short_form[_i]);
	else
		n = snprintf(want, sizeof want, "\"a\\u00%02xz\"", (unsigned)_i);
	check_str_out(in, 3, want, (size_t)n);
}
END_TEST

struct esc_case {
	const char *in;
	size_t len;
	const char *want;
	size_t wlen;
};

#define ESC(in, want) { in, sizeof(in) - 1, want, sizeof(want) - 1 }

static const struct esc_case esc_cases[] = {
	ESC("", "\"\""),
	ESC("plain", "\"plain\""),
	ESC("\"", "\"\\\"\""),
	ESC("\\", "\"\\\\\""),
	ESC("/", "\"/\""),
	ESC("\x7f", "\"\x7f\""),
	ESC("a\"b\\c", "\"a\\\"b\\\\c\""),
	ESC("\xe2\x80\xa8", "\"\\u2028\""),
	ESC("\xe2\x80\xa9", "\"\\u2029\""),
	ESC("x\xe2\x80\xa8\xe2\x80\xa9y", "\"x\\u2028\\u2029y\""),
	ESC("\xe2\x80\xa7\xe2\x80\xaa\xe2\x81\xa8", "\"\xe2\x80\xa7\xe2\x80\xaa\xe2\x81\xa8\""),
	ESC("\xc3\xa9\xe2\x80\xa8", "\"\xc3\xa9\\u2028\""),
	ESC("caf\xc3\xa9", "\"caf\xc3\xa9\""),
	ESC("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""),
	ESC("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""),
	ESC("\x00", "\"\\u0000\""),
	ESC("0123456789abcdef\"0123456789abcdef", "\"0123456789abcdef\\\"0123456789abcdef\""),
	ESC("long run of plain text, over eight bytes\n",
	    "\"long run of plain text, over eight bytes\\n\""),
};

START_TEST(test_write_escapes)
{
	const struct esc_case *c = &esc_cases[_i];
	check_str_out(c->in, c->len, c->want, c->wlen);
}
END_TEST

struct bad_utf8 {
	const char *in;
	size_t len;
};

#define BAD(in) { in, sizeof(in) - 1 }

static const struct bad_utf8 bad_utf8_cases[] = {
	BAD("\xff"), BAD("\x80"), BAD("\xc0\x80"), BAD("\xc1\xbf"),
	BAD("\xe0\x80\xaf"), BAD("\xed\xa0\x80"), BAD("\xed\xbf\xbf"),
	BAD("\xf4\x90\x80\x80"), BAD("\xf5\x80\x80\x80"), BAD("\xe2\x82"),
	BAD("abc\xc3"), BAD("\xc3x"), BAD("ok \xe2\x80\xa8 then \xfe"),
	BAD("0123456789abcdef\xe2\x80"),
};

START_TEST(test_write_bad_utf8)
{
	const struct bad_utf8 *c = &bad_utf8_cases[_i];
	uint8_t out[64];
	struct collab_json_writer w;
	size_t len = 0, before;

	/* as a value */
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_arr_begin(&w), 0);
	ck_assert_int_eq(collab_json_write_str(&w, c->in, c->len), COLLAB_EUTF8);
	before = w.len;
	/* sticky: nothing more is written, finish reports it */
	ck_assert_int_eq(collab_json_write_arr_end(&w), COLLAB_EUTF8);
	ck_assert_int_eq(collab_json_write_null(&w), COLLAB_EUTF8);
	ck_assert_uint_eq(w.len, before);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len), COLLAB_EUTF8);
	ck_assert_uint_eq(len, 0);

	/* as a name */
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_obj_begin(&w), 0);
	ck_assert_int_eq(collab_json_write_key(&w, c->in, c->len), COLLAB_EUTF8);
	ck_assert_int_eq(collab_json_write_null(&w), COLLAB_EUTF8);
	ck_assert_int_eq(collab_json_writer_finish(&w, NULL), COLLAB_EUTF8);
}
END_TEST

/*
 * Writer scripts: one character per call. { } [ ] begin/end, k K L names,
 * s string "s", n null, t true, 1 i64 1. want_rc is the result of the
 * first failing call (and of finish); at is its index in the script, or
 * the script's length when only finish fails.
 */
struct script_case {
	const char *ops;
	int want_rc;
	size_t at;
	const char *out;       /* the output when want_rc is 0 */
};

static const struct script_case script_cases[] = {
	{ "n", 0, 0, "null" },
	{ "{}", 0, 0, "{}" },
	{ "[]", 0, 0, "[]" },
	{ "{kn}", 0, 0, "{\"k\":null}" },
	{ "{kn,Kt,L1}", 0, 0, "{\"k\":null,\"K\":true,\"L\":1}" },
	{ "[nn[]{}s1]", 0, 0, "[null,null,[],{},\"s\",1]" },
	{ "{k[{k{}}]}", 0, 0, "{\"k\":[{\"k\":{}}]}" },
	{ "[[[[]]]]", 0, 0, "[[[[]]]]" },
	{ "", COLLAB_ESTATE, 0, NULL },            /* nothing written */
	{ "}", COLLAB_ESTATE, 0, NULL },           /* end without begin */
	{ "]", COLLAB_ESTATE, 0, NULL },
	{ "[]]", COLLAB_ESTATE, 2, NULL },
	{ "{}}", COLLAB_ESTATE, 2, NULL },
	{ "[}", COLLAB_ESTATE, 1, NULL },          /* other kind */
	{ "{]", COLLAB_ESTATE, 1, NULL },
	{ "{k[}", COLLAB_ESTATE, 3, NULL },
	{ "{s", COLLAB_ESTATE, 1, NULL },          /* value where name due */
	{ "{n", COLLAB_ESTATE, 1, NULL },
	{ "{1", COLLAB_ESTATE, 1, NULL },
	{ "{[", COLLAB_ESTATE, 1, NULL },
	{ "{{", COLLAB_ESTATE, 1, NULL },
	{ "{knn", COLLAB_ESTATE, 3, NULL },
	{ "{k}", COLLAB_ESTATE, 2, NULL },         /* name without value */
	{ "{kk", COLLAB_ESTATE, 2, NULL },
	{ "k", COLLAB_ESTATE, 0, NULL },           /* name outside object */
	{ "[k", COLLAB_ESTATE, 1, NULL },
	{ "{k[k", COLLAB_ESTATE, 3, NULL },
	{ "nn", COLLAB_ESTATE, 1, NULL },          /* two top-level values */
	{ "{}{}", COLLAB_ESTATE, 2, NULL },
	{ "[]n", COLLAB_ESTATE, 2, NULL },
	{ "1k", COLLAB_ESTATE, 1, NULL },
	{ "{", COLLAB_ESTATE, 1, NULL },           /* unclosed at finish */
	{ "[", COLLAB_ESTATE, 1, NULL },
	{ "{k", COLLAB_ESTATE, 2, NULL },
	{ "[[[]]", COLLAB_ESTATE, 5, NULL },
	{ "{kn", COLLAB_ESTATE, 3, NULL },
};

static int script_op(struct collab_json_writer *w, char op)
{
	switch (op) {
	case '{': return collab_json_write_obj_begin(w);
	case '}': return collab_json_write_obj_end(w);
	case '[': return collab_json_write_arr_begin(w);
	case ']': return collab_json_write_arr_end(w);
	case 'k': return collab_json_write_key(w, S("k"));
	case 'K': return collab_json_write_key(w, S("K"));
	case 'L': return collab_json_write_key(w, S("L"));
	case 's': return collab_json_write_str(w, S("s"));
	case 'n': return collab_json_write_null(w);
	case 't': return collab_json_write_bool(w, true);
	case '1': return collab_json_write_i64(w, 1);
	default: return 0;      /* ',' is only for readability */
	}
}

START_TEST(test_write_script)
{
	const struct script_case *c = &script_cases[_i];
	uint8_t out[128];
	struct collab_json_writer w;
	size_t n = strlen(c->ops), len = 0, i, len_at_err = 0;
	int rc = 0;

	collab_json_writer_init(&w, out, sizeof out);
	for (i = 0; i < n; i++) {
		int r = script_op(&w, c->ops[i]);
		if (rc == 0 && r != 0) {
			rc = r;
			ck_assert_msg(i == c->at, "case %d failed at %zu", _i, i);
			len_at_err = w.len;
		} else if (rc != 0) {
			ck_assert_int_eq(r, rc);         /* sticky */
			ck_assert_uint_eq(w.len, len_at_err);
		}
	}
	if (rc == 0 && c->want_rc != 0)
		ck_assert_uint_eq(c->at, n);        /* only finish fails */
	else
		ck_assert_int_eq(rc, c->want_rc);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len), c->want_rc);
	if (c->want_rc == 0) {
		struct parsed r;
		ck_assert_uint_eq(len, strlen(c->out));
		ck_assert(memcmp(out, c->out, len) == 0);
		parse_in(&r, out, len);
		ck_assert_int_eq(r.rc, 0);
		parsed_free(&r);
	}
}
END_TEST

START_TEST(test_write_numbers)
{
	uint8_t out[256];
	struct collab_json_writer w;
	size_t len;
	static const char want[] =
		"[-9223372036854775808,9223372036854775807,0,-1,"
		"18446744073709551615,0,10,1.5,-0,1e10,-1.5E-3,0.0e+0]";
	static const char *const bad[] = {
		"", "01", "+1", ".5", "1.", "1e", "1e+", "-", "NaN", "Infinity",
		" 1", "1 ", "0x1", "1,2", "--1", "1.5.5", "\"1\"", "true",
	};

	collab_json_writer_init(&w, out, sizeof out);
	collab_json_write_arr_begin(&w);
	collab_json_write_i64(&w, INT64_MIN);
	collab_json_write_i64(&w, INT64_MAX);
	collab_json_write_i64(&w, 0);
	collab_json_write_i64(&w, -1);
	collab_json_write_u64(&w, UINT64_MAX);
	collab_json_write_u64(&w, 0);
	collab_json_write_u64(&w, 10);
	collab_json_write_number(&w, S("1.5"));
	collab_json_write_number(&w, S("-0"));
	collab_json_write_number(&w, S("1e10"));
	collab_json_write_number(&w, S("-1.5E-3"));
	collab_json_write_number(&w, S("0.0e+0"));
	collab_json_write_arr_end(&w);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len), 0);
	ck_assert_uint_eq(len, sizeof want - 1);
	ck_assert(memcmp(out, want, len) == 0);

	/* the getters read back exactly what the writer wrote */
	{
		struct parsed r;
		int64_t i64;
		uint64_t u64;
		parse_in(&r, out, len);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_int_eq(collab_json_get_i64(&r.doc, 1, &i64), 0);
		ck_assert(i64 == INT64_MIN);
		ck_assert_int_eq(collab_json_get_i64(&r.doc, 2, &i64), 0);
		ck_assert(i64 == INT64_MAX);
		ck_assert_int_eq(collab_json_get_u64(&r.doc, 5, &u64), 0);
		ck_assert(u64 == UINT64_MAX);
		parsed_free(&r);
	}

	for (size_t k = 0; k < ARRAY_LEN(bad); k++) {
		collab_json_writer_init(&w, out, sizeof out);
		ck_assert_int_eq(collab_json_write_number(&w, bad[k], strlen(bad[k])),
				 COLLAB_ESYNTAX);
		ck_assert_uint_eq(w.len, 0);
		ck_assert_int_eq(collab_json_write_null(&w), COLLAB_ESYNTAX);
		ck_assert_int_eq(collab_json_writer_finish(&w, NULL), COLLAB_ESYNTAX);
	}
}
END_TEST

START_TEST(test_write_depth)
{
	uint8_t out[256];
	struct collab_json_writer w;
	size_t len;

	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_uint_eq(w.max_depth, COLLAB_JSON_DEFAULT_MAX_DEPTH);
	for (int i = 0; i < COLLAB_JSON_DEFAULT_MAX_DEPTH; i++)
		ck_assert_int_eq(collab_json_write_arr_begin(&w), 0);
	ck_assert_int_eq(collab_json_write_obj_begin(&w), COLLAB_ELIMIT);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len), COLLAB_ELIMIT);

	collab_json_writer_init(&w, out, sizeof out);
	for (int i = 0; i < COLLAB_JSON_DEFAULT_MAX_DEPTH; i++)
		ck_assert_int_eq(collab_json_write_arr_begin(&w), 0);
	for (int i = 0; i < COLLAB_JSON_DEFAULT_MAX_DEPTH; i++)
		ck_assert_int_eq(collab_json_write_arr_end(&w), 0);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len), 0);
	ck_assert_uint_eq(len, 2 * COLLAB_JSON_DEFAULT_MAX_DEPTH);

	/* the stack's size caps max_depth */
	collab_json_writer_init(&w, out, sizeof out);
	w.max_depth = COLLAB_JSON_WRITER_STACK;
	for (int i = 0; i < COLLAB_JSON_WRITER_STACK; i++)
		ck_assert_int_eq(collab_json_write_arr_begin(&w), 0);
	ck_assert_int_eq(collab_json_write_arr_begin(&w), COLLAB_ELIMIT);
	collab_json_writer_init(&w, out, sizeof out);
	w.max_depth = COLLAB_JSON_WRITER_STACK + 1;
	ck_assert_int_eq(collab_json_write_arr_begin(&w), COLLAB_EINVAL);

	/* NULL with a length */
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_str(&w, NULL, 1), COLLAB_EINVAL);
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_number(&w, NULL, 1), COLLAB_EINVAL);
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_str(&w, NULL, 0), 0);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len), 0);
	ck_assert_uint_eq(len, 2);
}
END_TEST

/* Writes a sample document touching every kind of output. */
static int write_sample(struct collab_json_writer *w)
{
	collab_json_write_obj_begin(w);
	collab_json_write_key(w, S("type"));
	collab_json_write_str(w, S("new-text-chat"));
	collab_json_write_key(w, S("seq"));
	collab_json_write_u64(w, 18446744073709551615u);
	collab_json_write_key(w, S("neg"));
	collab_json_write_i64(w, INT64_MIN);
	collab_json_write_key(w, S("n\"q"));
	collab_json_write_arr_begin(w);
	collab_json_write_null(w);
	collab_json_write_bool(w, true);
	collab_json_write_bool(w, false);
	collab_json_write_number(w, S("-1.25e+3"));
	collab_json_write_str(w, S("tab\there \xe2\x80\xa8 caf\xc3\xa9 \x01"));
	collab_json_write_obj_begin(w);
	collab_json_write_obj_end(w);
	collab_json_write_arr_end(w);
	return collab_json_write_obj_end(w);
}

START_TEST(test_write_espace)
{
	static const char want[] =
		"{\"type\":\"new-text-chat\",\"seq\":18446744073709551615,"
		"\"neg\":-9223372036854775808,\"n\\\"q\":[null,true,false,"
		"-1.25e+3,\"tab\\there \\u2028 caf\xc3\xa9 \\u0001\",{}]}";
	const size_t need = sizeof want - 1;
	struct collab_json_writer w;
	size_t len;

	for (size_t cap = 0; cap <= need; cap++) {
		/* a zeroed buffer of cap bytes ending on the guard page */
		struct guard_buf g = guard_copy(want, cap);
		ck_assert_ptr_nonnull(g.map);
		memset(g.p, 0, cap);
		collab_json_writer_init(&w, cap ? g.p : NULL, cap);
		if (cap < need) {
			ck_assert_int_eq(write_sample(&w), COLLAB_ESPACE);
			ck_assert_int_eq(w.err, COLLAB_ESPACE);
			ck_assert_uint_le(w.len, cap);
			/* what was written is a prefix of the document */
			ck_assert(memcmp(g.p, want, w.len) == 0);
			ck_assert_int_eq(collab_json_write_null(&w), COLLAB_ESPACE);
			ck_assert_int_eq(collab_json_writer_finish(&w, &len),
					 COLLAB_ESPACE);
		} else {
			ck_assert_int_eq(write_sample(&w), 0);
			ck_assert_int_eq(collab_json_writer_finish(&w, &len), 0);
			ck_assert_uint_eq(len, need);
			ck_assert(memcmp(g.p, want, need) == 0);
		}
		guard_free(&g);
	}
}
END_TEST

START_TEST(test_write_node)
{
	static const char msg[] =
		"{ \"type\": \"new-text-chat\", \"chat\": { \"id\": \"x\","
		" \"anchor\": { \"quote\": \"a\\u0062c\\u2028\", \"start\": 1.50,"
		" \"path\": [ 1, [ ], { } ], \"n\": null } } }";
	static const char anchor[] =
		"{\"quote\":\"abc\\u2028\",\"start\":1.50,\"path\":[1,[],{}],"
		"\"n\":null}";
	struct parsed r, r2;
	uint32_t chat, a;
	uint8_t out[256];
	struct collab_json_writer w;
	size_t len;

	parse_in(&r, S(msg));
	ck_assert_int_eq(r.rc, 0);
	chat = collab_json_obj_get(&r.doc, 0, S("chat"));
	a = collab_json_obj_get(&r.doc, chat, S("anchor"));

	/* a subtree alone */
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_node(&w, &r.doc, a), 0);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len), 0);
	ck_assert_uint_eq(len, sizeof anchor - 1);
	ck_assert(memcmp(out, anchor, len) == 0);

	/* byte-stable: re-reading the output and writing it again */
	parse_in(&r2, out, len);
	ck_assert_int_eq(r2.rc, 0);
	collab_json_writer_init(&w, out + 128, 128);
	ck_assert_int_eq(collab_json_write_node(&w, &r2.doc, 0), 0);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len), 0);
	ck_assert_uint_eq(len, sizeof anchor - 1);
	ck_assert(memcmp(out + 128, anchor, len) == 0);
	parsed_free(&r2);

	/* as a member value and as array elements, mixed with other calls */
	collab_json_writer_init(&w, out, sizeof out);
	collab_json_write_obj_begin(&w);
	collab_json_write_key(&w, S("anchor"));
	collab_json_write_node(&w, &r.doc, a);
	collab_json_write_key(&w, S("l"));
	collab_json_write_arr_begin(&w);
	collab_json_write_node(&w, &r.doc, collab_json_obj_get(&r.doc, chat,
							       S("id")));
	collab_json_write_node(&w, &r.doc, collab_json_obj_get(&r.doc, a,
							       S("n")));
	collab_json_write_arr_end(&w);
	collab_json_write_obj_end(&w);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len), 0);
	{
		static const char want[] =
			"{\"anchor\":{\"quote\":\"abc\\u2028\",\"start\":1.50,"
			"\"path\":[1,[],{}],\"n\":null},\"l\":[\"x\",null]}";
		ck_assert_uint_eq(len, sizeof want - 1);
		ck_assert(memcmp(out, want, len) == 0);
	}

	/* a node where a name is due, a node that is not in the document */
	collab_json_writer_init(&w, out, sizeof out);
	collab_json_write_obj_begin(&w);
	ck_assert_int_eq(collab_json_write_node(&w, &r.doc, a), COLLAB_ESTATE);
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_node(&w, &r.doc, COLLAB_JSON_NONE),
			 COLLAB_EINVAL);
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_node(&w, NULL, 0), COLLAB_EINVAL);

	/* nesting beyond the writer's limit */
	collab_json_writer_init(&w, out, sizeof out);
	w.max_depth = 4;
	ck_assert_int_eq(collab_json_write_node(&w, &r.doc, 0), COLLAB_ELIMIT);
	collab_json_writer_init(&w, out, sizeof out);
	w.max_depth = 5;
	ck_assert_int_eq(collab_json_write_node(&w, &r.doc, 0), 0);

	/* too little space, at every size */
	for (size_t cap = 0; cap < sizeof anchor - 1; cap++) {
		struct guard_buf g = guard_copy(anchor, cap);
		collab_json_writer_init(&w, cap ? g.p : NULL, cap);
		ck_assert_int_eq(collab_json_write_node(&w, &r.doc, a),
				 COLLAB_ESPACE);
		ck_assert(memcmp(g.p, anchor, w.len) == 0);
		guard_free(&g);
	}
	parsed_free(&r);
}
END_TEST

/* Deep documents re-encode with the writer's max_depth raised. */
START_TEST(test_write_node_deep)
{
	struct parsed r;
	size_t len, olen;
	char *s = nested(COLLAB_JSON_WRITER_STACK, &len);
	uint8_t *out = malloc(len);
	struct collab_json_config cfg;
	struct collab_json_writer w;

	collab_json_config_init(&cfg);
	cfg.max_depth = COLLAB_JSON_WRITER_STACK + 1;
	parse_cfg(&r, &cfg, s, len, COLLAB_JSON_NODES_FOR(len));
	ck_assert_int_eq(r.rc, 0);
	collab_json_writer_init(&w, out, len);
	w.max_depth = COLLAB_JSON_WRITER_STACK;
	ck_assert_int_eq(collab_json_write_node(&w, &r.doc, 0), 0);
	ck_assert_int_eq(collab_json_writer_finish(&w, &olen), 0);
	ck_assert_uint_eq(olen, len);
	ck_assert(memcmp(out, s, len) == 0);
	parsed_free(&r);
	free(s);
	free(out);
}
END_TEST

/* collab_json_write_raw(): the outer shapes it takes and refuses. */
struct raw_case {
	const char *in;
	size_t len;
	int want_rc;
};

#define RAW(lit, rc) { (lit), sizeof(lit) - 1, (rc) }

static const struct raw_case raw_cases[] = {
	RAW("{}", 0),
	RAW("{\"a\":[1,{\"b\":null}]}", 0),
	RAW("[]", 0),
	RAW("[1,\"x\",[]]", 0),
	RAW("\"\"", 0),
	RAW("\"caf\xc3\xa9 \\n\"", 0),
	RAW("true", 0),
	RAW("false", 0),
	RAW("null", 0),
	RAW("0", 0),
	RAW("-0", 0),
	RAW("18446744073709551615", 0),
	RAW("-1.25e+3", 0),
	RAW("", COLLAB_ESYNTAX),
	RAW("{", COLLAB_ESYNTAX),
	RAW("}", COLLAB_ESYNTAX),
	RAW("{]", COLLAB_ESYNTAX),
	RAW("[", COLLAB_ESYNTAX),
	RAW("[}", COLLAB_ESYNTAX),
	RAW("\"", COLLAB_ESYNTAX),
	RAW("\"abc", COLLAB_ESYNTAX),
	RAW(" {}", COLLAB_ESYNTAX),       /* whitespace around the value */
	RAW("{} ", COLLAB_ESYNTAX),
	RAW("1 ", COLLAB_ESYNTAX),
	RAW("tru", COLLAB_ESYNTAX),
	RAW("truex", COLLAB_ESYNTAX),
	RAW("fals", COLLAB_ESYNTAX),
	RAW("nul", COLLAB_ESYNTAX),
	RAW("nulll", COLLAB_ESYNTAX),
	RAW("01", COLLAB_ESYNTAX),
	RAW("+1", COLLAB_ESYNTAX),
	RAW("1.", COLLAB_ESYNTAX),
	RAW("-", COLLAB_ESYNTAX),
	RAW("1,2", COLLAB_ESYNTAX),
	RAW("NaN", COLLAB_ESYNTAX),
	RAW("x", COLLAB_ESYNTAX),
};

START_TEST(test_write_raw_shapes)
{
	const struct raw_case *c = &raw_cases[_i];
	struct guard_buf g = guard_copy(c->in, c->len);
	uint8_t out[64];
	struct collab_json_writer w;
	size_t len = 0;

	/* the bytes end on the guard page: nothing past them is read */
	ck_assert_ptr_nonnull(g.map);
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_raw(&w, c->len ? (const char *)g.p : NULL,
					       c->len), c->want_rc);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len),
			 c->want_rc ? c->want_rc : 0);
	if (c->want_rc == 0) {
		struct parsed r;
		ck_assert_uint_eq(len, c->len);
		ck_assert(memcmp(out, c->in, len) == 0);
		parse_in(&r, out, len);
		ck_assert_int_eq(r.rc, 0);
		parsed_free(&r);
	} else {
		/* refused: nothing written, and the error is sticky */
		ck_assert_uint_eq(w.len, 0);
		ck_assert_int_eq(collab_json_write_null(&w), c->want_rc);
	}
	guard_free(&g);
}
END_TEST

/* Raw values in every position, with commas and the grammar as for any
 * other value; their nesting does not count toward max_depth. */
START_TEST(test_write_raw)
{
	static const char want[] =
		"{\"a\":{\"q\":[1,2]},\"l\":[[[[]]],\"s\",1e3,null],"
		"\"b\":true}";
	const size_t need = sizeof want - 1;
	struct collab_json_writer w;
	uint8_t out[128];
	size_t len = 0;

	for (size_t cap = 0; cap <= need; cap++) {
		struct guard_buf g = guard_copy(want, cap);
		ck_assert_ptr_nonnull(g.map);
		memset(g.p, 0, cap);
		collab_json_writer_init(&w, cap ? g.p : NULL, cap);
		w.max_depth = 2;
		collab_json_write_obj_begin(&w);
		collab_json_write_key(&w, S("a"));
		collab_json_write_raw(&w, S("{\"q\":[1,2]}"));
		collab_json_write_key(&w, S("l"));
		collab_json_write_arr_begin(&w);
		collab_json_write_raw(&w, S("[[[]]]"));
		collab_json_write_raw(&w, S("\"s\""));
		collab_json_write_raw(&w, S("1e3"));
		collab_json_write_raw(&w, S("null"));
		collab_json_write_arr_end(&w);
		collab_json_write_key(&w, S("b"));
		collab_json_write_raw(&w, S("true"));
		collab_json_write_obj_end(&w);
		if (cap < need) {
			ck_assert_int_eq(collab_json_writer_finish(&w, &len),
					 COLLAB_ESPACE);
			ck_assert_uint_le(w.len, cap);
			ck_assert(memcmp(g.p, want, w.len) == 0);
		} else {
			ck_assert_int_eq(collab_json_writer_finish(&w, &len), 0);
			ck_assert_uint_eq(len, need);
			ck_assert(memcmp(g.p, want, need) == 0);
		}
		guard_free(&g);
	}

	/* the top-level value, once */
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_raw(&w, S("[1]")), 0);
	ck_assert_int_eq(collab_json_writer_finish(&w, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(collab_json_write_raw(&w, S("[1]")), COLLAB_ESTATE);
	/* not where a name is due */
	collab_json_writer_init(&w, out, sizeof out);
	collab_json_write_obj_begin(&w);
	ck_assert_int_eq(collab_json_write_raw(&w, S("\"k\"")), COLLAB_ESTATE);
	/* NULL with a length; NULL without one is an empty value */
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_raw(&w, NULL, 2), COLLAB_EINVAL);
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_raw(&w, NULL, 0), COLLAB_ESYNTAX);
	/* an earlier error is returned, nothing written */
	collab_json_writer_init(&w, out, sizeof out);
	ck_assert_int_eq(collab_json_write_number(&w, S("x")), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_json_write_raw(&w, S("{}")), COLLAB_ESYNTAX);
	ck_assert_uint_eq(w.len, 0);
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc;

	tc = tcase_create("reader");
	tcase_add_loop_test(tc, test_accept, 0, (int)ARRAY_LEN(accept_cases));
	tcase_add_loop_test(tc, test_accept_prefixes, 0,
			    (int)ARRAY_LEN(accept_cases));
	tcase_add_loop_test(tc, test_reject, 0, (int)ARRAY_LEN(reject_cases));
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_many_members);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("accessors");
	tcase_add_test(tc, test_access);
	tcase_add_loop_test(tc, test_ints, 0, (int)ARRAY_LEN(int_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_loop_test(tc, test_write_controls, 0, 32);
	tcase_add_loop_test(tc, test_write_escapes, 0, (int)ARRAY_LEN(esc_cases));
	tcase_add_loop_test(tc, test_write_bad_utf8, 0,
			    (int)ARRAY_LEN(bad_utf8_cases));
	tcase_add_loop_test(tc, test_write_script, 0,
			    (int)ARRAY_LEN(script_cases));
	tcase_add_test(tc, test_write_numbers);
	tcase_add_test(tc, test_write_depth);
	tcase_add_test(tc, test_write_espace);
	tcase_add_test(tc, test_write_node);
	tcase_add_test(tc, test_write_node_deep);
	tcase_add_loop_test(tc, test_write_raw_shapes, 0,
			    (int)ARRAY_LEN(raw_cases));
	tcase_add_test(tc, test_write_raw);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(json_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
