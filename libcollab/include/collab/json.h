/*
 * collab/json.h - a strict RFC 8259 JSON reader and a writer that can only
 * produce valid JSON. Neither allocates nor does I/O.
 *
 * READER. collab_json_parse() reads one complete JSON text (it is one-shot,
 * not incremental: the WebSocket layer hands it whole messages) into an
 * array of nodes the caller supplies. It accepts exactly the RFC 8259
 * grammar and nothing else: no comments, trailing commas, single quotes,
 * leading zeros, '+', '.5', '1.', NaN/Infinity, hex, byte order mark,
 * unescaped control characters, invalid escapes, lone or misordered
 * surrogate escapes, invalid UTF-8 anywhere, duplicate member names in one
 * object (names compared after decoding escapes), anything but whitespace
 * after the value, or empty input. The top-level value may be any value
 * (RFC 8259 section 2); the protocol layer decides it must be an object.
 *
 * Errors name their code and the byte offset where the input went wrong:
 *   COLLAB_ESYNTAX  the grammar; truncated input fails at offset len
 *   COLLAB_EUTF8    invalid UTF-8 (at the first offending byte, as utf8.h),
 *                   or a \u escape naming a lone or misordered surrogate
 *                   (at the backslash of the escape that is wrong, or where
 *                   the low surrogate escape should begin)
 *   COLLAB_EDUPKEY  a member name repeated in one object: at the opening
 *                   quote of the first name, in input order, that repeats
 *                   an earlier one. Checked when the object's '}' is read.
 *   COLLAB_ELIMIT   input longer than max_input (offset max_input), nesting
 *                   deeper than max_depth (at the bracket), nodes exhausted
 *                   (at the value that needed one)
 *   COLLAB_EINVAL   a caller bug (NULL pointers, a config above its cap)
 *
 * Nodes are laid out in document (pre-)order: the root is node 0, the first
 * child of a container is the node right after it, and each node carries
 * the index of its next sibling, so every traversal step is O(1). An
 * object's members are a name node (a string flagged COLLAB_JSON_F_KEY)
 * immediately followed by its value's node.
 *
 * Cost: O(len) time, except duplicate detection, which sorts each object's
 * names once at its '}' (a linked-list merge sort over the node array, no
 * extra memory): O(m log m) name comparisons for an object of m members,
 * each comparison O(name length). No input-controlled recursion at all:
 * open containers are chained through the nodes themselves.
 *
 * WRITER. struct collab_json_writer writes compact JSON into a fixed buffer
 * of the caller's. Every call checks the grammar with the writer's own
 * nesting stack (a name only where an object expects one, a value after
 * each name, one top-level value; commas and colons are automatic), escapes
 * every string, and refuses invalid UTF-8. The first error is sticky: every
 * later call returns it and writes nothing, and collab_json_writer_finish()
 * reports it, so a sequence of writes can be checked once at the end. The
 * writer never writes at or past out + cap. It does not detect a member
 * name written twice in one object (that would need memory per object):
 * callers write fixed, distinct names, and collab_json_write_node() cannot
 * repeat one because the reader refused such documents.
 *
 * One call trusts its caller: collab_json_write_raw() copies bytes encoded
 * earlier as one value, checking only their outer shape, so the "only
 * valid JSON" promise holds for its output as long as its MUST does.
 *
 * Canonical string escaping (so re-encoding is byte-stable): '"' and '\'
 * as \" and \\; U+0008, U+0009, U+000A, U+000C, U+000D as \b \t \n \f \r;
 * other code points below U+0020 as \u00XX (lowercase hex); U+2028 and
 * U+2029 as \u2028 and \u2029 (JavaScript line terminators); every other
 * character, '/' and U+007F included, as its UTF-8 bytes.
 *
 * Thread rules: none of these functions keeps state outside its arguments.
 * A parsed document is read-only and may be read by several threads.
 */
#ifndef COLLAB_JSON_H
#define COLLAB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "No node": an absent member, the end of a sibling chain. */
#define COLLAB_JSON_NONE UINT32_MAX

/*
 * Default input limit: the server's default message limit (64 KiB, which
 * the WebSocket layer enforces first) plus 16 KiB, so that this backstop
 * never fires before the transport's limit does for a message the transport
 * accepted. Programs that read larger documents (a client accepting 8 MiB
 * server messages, tools reading files) set max_input themselves.
 */
#define COLLAB_JSON_DEFAULT_MAX_INPUT ((size_t)80 * 1024)
/* Node offsets and lengths are 32-bit, so no input may be longer. */
#define COLLAB_JSON_MAX_INPUT_CAP ((size_t)UINT32_MAX - 1)
/* Default nesting limit of the reader and the writer: containers open at
 * once, the outermost counting 1. Protocol messages need 4. */
#define COLLAB_JSON_DEFAULT_MAX_DEPTH 32
/* Size of the writer's nesting stack: the cap for its max_depth. */
#define COLLAB_JSON_WRITER_STACK 64
/* Nodes enough for any valid text of len bytes: every value but the last
 * needs a separator or closing bracket of its own, so a text has at most
 * len/2 + 1. (An invalid input such as "[[[" may need more, and then fails
 * with COLLAB_ELIMIT instead of its own error; len nodes, one per byte,
 * always give the input's own error.) */
#define COLLAB_JSON_NODES_FOR(len) ((len) / 2 + 1)
/* Convenience for literal names and strings: COLLAB_JSON_LIT("type"). */
#define COLLAB_JSON_LIT(lit) (lit), (sizeof(lit) - 1)

enum collab_json_type {
	COLLAB_JSON_ABSENT = 0,  /* what collab_json_type() says of NONE */
	COLLAB_JSON_NULL,
	COLLAB_JSON_FALSE,
	COLLAB_JSON_TRUE,
	COLLAB_JSON_NUMBER,
	COLLAB_JSON_STRING,
	COLLAB_JSON_ARRAY,
	COLLAB_JSON_OBJECT
};

/* Node flags. */
#define COLLAB_JSON_F_ESCAPED 0x01u /* string: holds at least one '\' escape */
#define COLLAB_JSON_F_KEY     0x02u /* string: an object member's name */
#define COLLAB_JSON_F_INTEGER 0x04u /* number: matches -?(0|[1-9][0-9]*) */

/*
 * One value. Filled by collab_json_parse(); callers only read it.
 *   off, len  the value's raw text in the input: for a string the bytes
 *             between the quotes, still escaped; for a number its text;
 *             for a container everything from its bracket to the matching
 *             one; for a literal its word.
 *   next      the next sibling in the parent array, or for a member's name
 *             and for its value alike the next member's name; NONE at the
 *             end (and for the root).
 *   count     arrays: elements; objects: members; 0 for the rest.
 *   dlen      strings: length in bytes once escapes are decoded (<= len).
 *   link      private to the parser.
 */
struct collab_json_node {
	uint8_t type;       /* enum collab_json_type */
	uint8_t flags;      /* COLLAB_JSON_F_* */
	uint16_t reserved;
	uint32_t off;
	uint32_t len;
	uint32_t next;
	union {
		uint32_t count; /* arrays and objects */
		uint32_t dlen;  /* strings */
	};
	uint32_t link;
};

/* Reader limits. Fill with collab_json_config_init(), then adjust. */
struct collab_json_config {
	size_t max_input;    /* bytes; default COLLAB_JSON_DEFAULT_MAX_INPUT,
			      * at most COLLAB_JSON_MAX_INPUT_CAP */
	uint32_t max_depth;  /* default COLLAB_JSON_DEFAULT_MAX_DEPTH; 0 allows
			      * only a scalar top-level value */
};

void collab_json_config_init(struct collab_json_config *cfg);

/*
 * A parsed document: views of the caller's input and node array, which
 * MUST both outlive every use of the document and stay unmodified.
 */
struct collab_json_doc {
	const uint8_t *in;
	size_t in_len;
	const struct collab_json_node *nodes;
	uint32_t n_nodes;   /* nodes used; 0 after a failed parse */
	int err;            /* 0, or the code collab_json_parse returned */
	size_t err_off;     /* byte offset of the error (0 on success) */
};

/*
 * Parses p[0..len) into nodes[0..max_nodes) and describes the result in
 * *doc. cfg NULL means the defaults. p may be NULL only when len is 0 (which
 * is rejected as empty input); nodes may be NULL only when max_nodes is 0.
 * COLLAB_JSON_NODES_FOR(len) nodes suffice for every valid text. Returns
 * 0, or a COLLAB_E* code (see the top of this file) which is also in
 * doc->err, with the byte offset in doc->err_off. The input is only read;
 * the nodes are overwritten. doc MUST NOT be NULL.
 */
int collab_json_parse(const struct collab_json_config *cfg,
		      const uint8_t *p, size_t len,
		      struct collab_json_node *nodes, size_t max_nodes,
		      struct collab_json_doc *doc);

/*
 * Accessors. Each takes a node index from the document or COLLAB_JSON_NONE
 * (then it says "absent"), so lookups chain without checks in between:
 * collab_json_get_i64(d, collab_json_obj_get(d, root, ...), &v). An index
 * out of range counts as absent.
 */

/* The root's index (0), or NONE for a failed or empty document. */
uint32_t collab_json_root(const struct collab_json_doc *doc);

/* The node's type; COLLAB_JSON_ABSENT for NONE. */
enum collab_json_type collab_json_type(const struct collab_json_doc *doc,
				       uint32_t node);

/* 0 when the node has type t, COLLAB_ENOTFOUND when it is NONE,
 * COLLAB_ETYPE otherwise. */
int collab_json_expect(const struct collab_json_doc *doc, uint32_t node,
		       enum collab_json_type t);

/* Elements of an array, members of an object; 0 for anything else. */
uint32_t collab_json_count(const struct collab_json_doc *doc, uint32_t node);

/* The node's raw text (see struct collab_json_node), valid as long as the
 * input; { NULL, 0 } for NONE. */
struct collab_str collab_json_raw(const struct collab_json_doc *doc,
				  uint32_t node);

/* An array's first element or an object's first member name; NONE when
 * empty or not a container. */
uint32_t collab_json_first(const struct collab_json_doc *doc, uint32_t node);

/* The next element, or (from a member's name or value) the next member's
 * name; NONE at the end. */
uint32_t collab_json_next(const struct collab_json_doc *doc, uint32_t node);

/* The value of the member whose name node is key; NONE if key is not a
 * member name. */
uint32_t collab_json_value(const struct collab_json_doc *doc, uint32_t key);

/* The value of obj's member named key[0..keylen) (compared with the decoded
 * name, byte for byte), or NONE when obj is not an object or has no such
 * member. O(members). key may be NULL only when keylen is 0. */
uint32_t collab_json_obj_get(const struct collab_json_doc *doc, uint32_t obj,
			     const char *key, size_t keylen);

/*
 * Decodes string node into out[0..cap) (no NUL added) and sets *len. The
 * result is valid UTF-8 and may contain U+0000. cap >= the node's dlen (and
 * so cap >= its raw len) always suffices. Returns 0; COLLAB_ENOTFOUND for
 * NONE; COLLAB_ETYPE for a non-string; COLLAB_ESPACE when cap is smaller
 * than dlen (then *len is dlen and out is untouched). out may be NULL only
 * when cap is 0; len MUST NOT be NULL.
 */
int collab_json_str(const struct collab_json_doc *doc, uint32_t node,
		    uint8_t *out, size_t cap, size_t *len);

/*
 * The decoded string as a view: zero-copy into the input (valid as long as
 * the input) when the string has no escapes; otherwise decoded into
 * scratch[0..cap) and pointing there. scratch may be NULL (cap 0) when the
 * caller only wants zero-copy views. Returns as collab_json_str(); on
 * failure *view is { NULL, 0 }.
 */
int collab_json_str_view(const struct collab_json_doc *doc, uint32_t node,
			 uint8_t *scratch, size_t cap, struct collab_str *view);

/* true when node is a string whose decoded value is s[0..slen). */
bool collab_json_str_eq(const struct collab_json_doc *doc, uint32_t node,
			const char *s, size_t slen);

/*
 * Integers. Only the integer grammar -?(0|[1-9][0-9]*) is an integer:
 * 1.0, 1e2 and 1E0 are numbers but not integers and give COLLAB_ETYPE.
 * "-0" is 0. Returns 0 and sets *v; COLLAB_ENOTFOUND for NONE;
 * COLLAB_ETYPE for anything but an integer (null included);
 * COLLAB_ERANGE when the value does not fit (a negative one for u64).
 * Computed exactly from the digits, without floating point.
 */
int collab_json_get_i64(const struct collab_json_doc *doc, uint32_t node,
			int64_t *v);
int collab_json_get_u64(const struct collab_json_doc *doc, uint32_t node,
			uint64_t *v);

/* true/false into *v; COLLAB_ENOTFOUND for NONE; COLLAB_ETYPE otherwise. */
int collab_json_get_bool(const struct collab_json_doc *doc, uint32_t node,
			 bool *v);

/* ---- writer ---------------------------------------------------------- */

/* Caller-owned writer. Set it up with collab_json_writer_init(); the
 * fields are read-only for the caller except max_depth. */
struct collab_json_writer {
	uint8_t *out;       /* the caller's buffer */
	size_t cap;
	size_t len;         /* bytes written so far */
	int err;            /* sticky: the first error, or 0 */
	uint32_t max_depth; /* default COLLAB_JSON_DEFAULT_MAX_DEPTH; may be
			     * changed before the first write, up to
			     * COLLAB_JSON_WRITER_STACK */
	uint32_t depth;     /* containers open now */
	uint8_t done;       /* a complete top-level value was written */
	uint8_t stack[COLLAB_JSON_WRITER_STACK]; /* per open container */
};

/* Binds w to out[0..cap) and resets it. out may be NULL only when cap is 0
 * (every write then fails with COLLAB_ESPACE). The buffer MUST outlive w's
 * use. */
void collab_json_writer_init(struct collab_json_writer *w, uint8_t *out,
			     size_t cap);

/*
 * Every write function returns 0, or the writer's sticky error:
 *   COLLAB_ESPACE  the buffer is full
 *   COLLAB_ESTATE  the call breaks the grammar (a value where a name is
 *                  expected, a name outside an object or twice in a row,
 *                  an end without its begin or of the other kind, a second
 *                  top-level value)
 *   COLLAB_ELIMIT  nesting deeper than max_depth
 *   COLLAB_EUTF8   a string or name that is not valid UTF-8
 *   COLLAB_ESYNTAX collab_json_write_number() text outside the grammar,
 *                  collab_json_write_raw() bytes of the wrong outer shape
 *   COLLAB_EINVAL  a caller bug (max_depth above its cap, NULL pointers,
 *                  a node not in doc)
 */
int collab_json_write_obj_begin(struct collab_json_writer *w);
int collab_json_write_obj_end(struct collab_json_writer *w);
int collab_json_write_arr_begin(struct collab_json_writer *w);
int collab_json_write_arr_end(struct collab_json_writer *w);

/* A member name; only where an object expects one. s may be NULL only when
 * len is 0. */
int collab_json_write_key(struct collab_json_writer *w, const char *s,
			  size_t len);

/* A string value, escaped canonically (see above). */
int collab_json_write_str(struct collab_json_writer *w, const char *s,
			  size_t len);

/* Exact decimal integers. */
int collab_json_write_i64(struct collab_json_writer *w, int64_t v);
int collab_json_write_u64(struct collab_json_writer *w, uint64_t v);

int collab_json_write_bool(struct collab_json_writer *w, bool v);
int collab_json_write_null(struct collab_json_writer *w);

/* A number given as text, written as is once it matches RFC 8259 section
 * 6 exactly (no surrounding whitespace). */
int collab_json_write_number(struct collab_json_writer *w, const char *s,
			     size_t len);

/*
 * Writes s[0..len) unchanged as one value (a member's value, an array
 * element or the top-level value; commas and the grammar as for every
 * other value). For embedding bytes encoded earlier, such as a stored
 * anchor or a pre-encoded event, without parsing them again.
 *
 * The bytes MUST be exactly one complete, valid JSON value with no
 * whitespace around it: output of this writer or of
 * collab_json_write_node() is. They are not parsed (that would need a node
 * array); only their outer shape is checked, and a value of the wrong
 * shape gives COLLAB_ESYNTAX with nothing written: not empty, and an object
 * '{'..'}', an array '['..']' or a string '"'..'"' of at least two bytes,
 * or exactly a number (RFC 8259 section 6), true, false or null. The
 * nesting inside the bytes does not count toward max_depth. Canonical
 * escaping holds for the output only if it holds for the bytes. s may be
 * NULL only when len is 0; s MUST NOT overlap the writer's buffer.
 */
int collab_json_write_raw(struct collab_json_writer *w, const char *s,
			  size_t len);

/*
 * Re-encodes the subtree at node of a parsed document as one value,
 * compactly: no whitespace, members in their order, numbers as their raw
 * text, strings by their decoded value escaped canonically. The result
 * re-parses to an identical tree, and write_node(parse(x)) is byte-for-byte
 * x whenever x is itself such an output. No recursion: the nesting is
 * bounded by the writer's max_depth (COLLAB_ELIMIT beyond it).
 */
int collab_json_write_node(struct collab_json_writer *w,
			   const struct collab_json_doc *doc, uint32_t node);

/*
 * Returns 0 and sets *len (may be NULL) to the output length when exactly
 * one complete top-level value was written and no error occurred; the
 * sticky error otherwise, or COLLAB_ESTATE when no value was written or a
 * container is still open. Leaves the writer as it was.
 */
int collab_json_writer_finish(const struct collab_json_writer *w,
			      size_t *len);

#ifdef __cplusplus
}
#endif
#endif
