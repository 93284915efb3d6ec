/*
 * json_write.c - the JSON writer: grammar enforced by a nesting stack,
 * canonical escaping, exact integers, and re-encoding of parsed subtrees.
 *
 * Every byte goes through put(), the one place that checks the space left
 * (written so it cannot overflow: n > cap - len), so nothing is written at
 * or past out + cap. The first error is kept in w->err and every later call
 * returns it at once.
 */
#include "collab/json.h"
#include "collab/common.h"
#include "collab/utf8.h"
#include "json_internal.h"

#include <string.h>

/* Bits of one nesting stack entry. */
#define W_OBJ     0x01u  /* an object (else an array) */
#define W_HAS     0x02u  /* holds an element or member: a comma comes next */
#define W_PENDING 0x04u  /* object: a name was written, its value is due */

/* RFC 8259 section 7: the two-character escapes; 0 means \u00XX. */
static const char short_esc[0x80] = {
	['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
	['"'] = '"', ['\\'] = '\\',
};

static const char hexdig[16] = "0123456789abcdef";

static int wfail(struct collab_json_writer *w, int err)
{
	if (w->err == 0)
		w->err = err;
	return w->err;
}

static int put(struct collab_json_writer *w, const void *s, size_t n)
{
	if (w->err)
		return w->err;
	if (n == 0)
		return 0;
	if (n > w->cap - w->len)
		return wfail(w, COLLAB_ESPACE);
	memcpy(w->out + w->len, s, n);
	w->len += n;
	return 0;
}

static int put1(struct collab_json_writer *w, uint8_t c)
{
	return put(w, &c, 1);
}

void collab_json_writer_init(struct collab_json_writer *w, uint8_t *out,
			     size_t cap)
{
	memset(w, 0, sizeof *w);
	w->out = out;
	w->cap = out ? cap : 0;
	w->max_depth = COLLAB_JSON_DEFAULT_MAX_DEPTH;
}

/* A value is about to start: check the grammar allows one here and write
 * the comma before it if one is due. */
static int before_value(struct collab_json_writer *w)
{
	uint8_t *top;

	if (w->err)
		return w->err;
	if (w->depth == 0)   /* RFC 8259 section 2: exactly one value */
		return w->done ? wfail(w, COLLAB_ESTATE) : 0;
	top = &w->stack[w->depth - 1];
	if (*top & W_OBJ) {
		/* RFC 8259 section 4: a member value follows its name */
		if (!(*top & W_PENDING))
			return wfail(w, COLLAB_ESTATE);
		*top = (uint8_t)(*top & ~W_PENDING);
		return 0;
	}
	if (*top & W_HAS)
		put1(w, ',');
	*top |= W_HAS;
	return w->err;
}

static void after_value(struct collab_json_writer *w)
{
	if (w->depth == 0)
		w->done = 1;
}

/*
 * Writes string content s[0..n) escaped canonically (see json.h), without
 * quotes. validate: check UTF-8 (the reader's strings are already valid).
 */
static int put_body(struct collab_json_writer *w, const uint8_t *s, size_t n,
		    bool validate)
{
	size_t i = 0, run = 0;

	if (n == 0)
		return w->err;
	while (i < n) {
		uint8_t c, esc[6];
		i = collab_json_plain_end(s, n, i);
		if (i >= n)
			break;
		c = s[i];
		if (c >= 0x80) {
			size_t j = i, k = i;
			while (j < n && s[j] >= 0x80)
				j++;
			if (validate && collab_utf8_check(s + i, j - i) != 0)
				return wfail(w, COLLAB_EUTF8);
			/* U+2028 is E2 80 A8 and U+2029 E2 80 A9 in UTF-8:
			 * legal in JSON, line terminators in JavaScript. */
			while (j - k >= 3) {
				if (s[k] == 0xE2 && s[k + 1] == 0x80 &&
				    (s[k + 2] & 0xFE) == 0xA8) {
					put(w, s + run, k - run);
					put(w, s[k + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
					k += 3;
					run = k;
				} else {
					k++;
				}
			}
			i = j;
			continue;
		}
		/* RFC 8259 section 7: '"', '\\' and controls are escaped */
		put(w, s + run, i - run);
		esc[0] = '\\';
		if (short_esc[c]) {
			esc[1] = (uint8_t)short_esc[c];
			put(w, esc, 2);
		} else {
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = (uint8_t)hexdig[c >> 4];
			esc[5] = (uint8_t)hexdig[c & 15];
			put(w, esc, 6);
		}
		run = ++i;
	}
	put(w, s + run, n - run);
	return w->err;
}

static int put_string(struct collab_json_writer *w, const char *s, size_t n)
{
	if (s == NULL && n != 0)
		return wfail(w, COLLAB_EINVAL);
	put1(w, '"');
	put_body(w, (const uint8_t *)s, n, true);
	return put1(w, '"');
}

/* Writes a parsed string node by its decoded value, escaped canonically. */
static int put_node_string(struct collab_json_writer *w,
			   const struct collab_json_doc *doc,
			   const struct collab_json_node *nd)
{
	const uint8_t *s = doc->in + nd->off, *end = s + nd->len;

	put1(w, '"');
	if (!(nd->flags & COLLAB_JSON_F_ESCAPED)) {
		put_body(w, s, nd->len, false);
	} else {
		while (s < end && w->err == 0) {
			const uint8_t *bs = memchr(s, '\\', (size_t)(end - s));
			uint8_t tmp[4];
			size_t olen;
			if (bs == NULL) {
				put_body(w, s, (size_t)(end - s), false);
				break;
			}
			put_body(w, s, (size_t)(bs - s), false);
			s = bs + collab_json_unescape(bs, tmp, &olen);
			put_body(w, tmp, olen, false);
		}
	}
	return put1(w, '"');
}

static int begin(struct collab_json_writer *w, bool obj)
{
	if (before_value(w) != 0)
		return w->err;
	if (w->max_depth > COLLAB_JSON_WRITER_STACK)
		return wfail(w, COLLAB_EINVAL);
	if (w->depth >= w->max_depth)
		return wfail(w, COLLAB_ELIMIT);
	if (put1(w, obj ? '{' : '[') != 0)
		return w->err;
	w->stack[w->depth++] = obj ? W_OBJ : 0;
	return 0;
}

static int end(struct collab_json_writer *w, bool obj)
{
	uint8_t top;

	if (w->err)
		return w->err;
	if (w->depth == 0)
		return wfail(w, COLLAB_ESTATE);
	top = w->stack[w->depth - 1];
	/* the other kind of container, or a name still waiting for its value */
	if (!(top & W_OBJ) != !obj || (top & W_PENDING))
		return wfail(w, COLLAB_ESTATE);
	if (put1(w, obj ? '}' : ']') != 0)
		return w->err;
	w->depth--;
	after_value(w);
	return 0;
}

int collab_json_write_obj_begin(struct collab_json_writer *w)
{
	return begin(w, true);
}

int collab_json_write_obj_end(struct collab_json_writer *w)
{
	return end(w, true);
}

int collab_json_write_arr_begin(struct collab_json_writer *w)
{
	return begin(w, false);
}

int collab_json_write_arr_end(struct collab_json_writer *w)
{
	return end(w, false);
}

/* A name may come: innermost container is an object not awaiting a value.
 * Writes the comma when one is due. */
static int before_key(struct collab_json_writer *w)
{
	uint8_t *top;

	if (w->err)
		return w->err;
	if (w->depth == 0)
		return wfail(w, COLLAB_ESTATE);
	top = &w->stack[w->depth - 1];
	if (!(*top & W_OBJ) || (*top & W_PENDING))
		return wfail(w, COLLAB_ESTATE);
	if (*top & W_HAS)
		put1(w, ',');
	*top |= W_HAS | W_PENDING;
	return w->err;
}

int collab_json_write_key(struct collab_json_writer *w, const char *s,
			  size_t len)
{
	if (before_key(w) != 0)
		return w->err;
	put_string(w, s, len);
	return put1(w, ':');
}

int collab_json_write_str(struct collab_json_writer *w, const char *s,
			  size_t len)
{
	if (before_value(w) != 0 || put_string(w, s, len) != 0)
		return w->err;
	after_value(w);
	return 0;
}

static int put_value(struct collab_json_writer *w, const void *s, size_t n)
{
	if (before_value(w) != 0 || put(w, s, n) != 0)
		return w->err;
	after_value(w);
	return 0;
}

/* Decimal digits of v, with a '-' before them when neg. */
static int put_int(struct collab_json_writer *w, uint64_t v, bool neg)
{
	char buf[21];           /* 20 digits of UINT64_MAX and a sign */
	size_t i = sizeof buf;

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		buf[--i] = '-';
	return put_value(w, buf + i, sizeof buf - i);
}

int collab_json_write_i64(struct collab_json_writer *w, int64_t v)
{
	/* magnitude in unsigned arithmetic: exact for INT64_MIN too */
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	return put_int(w, mag, v < 0);
}

int collab_json_write_u64(struct collab_json_writer *w, uint64_t v)
{
	return put_int(w, v, false);
}

int collab_json_write_bool(struct collab_json_writer *w, bool v)
{
	return v ? put_value(w, "true", 4) : put_value(w, "false", 5);
}

int collab_json_write_null(struct collab_json_writer *w)
{
	return put_value(w, "null", 4);
}

int collab_json_write_number(struct collab_json_writer *w, const char *s,
			     size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t end = 0;
	int is_int;

	if (w->err)
		return w->err;
	if (s == NULL && len != 0)
		return wfail(w, COLLAB_EINVAL);
	/* RFC 8259 section 6, the whole text and nothing else */
	if (len == 0 || collab_json_num_scan(p, len, 0, &end, &is_int) != 0 ||
	    end != len)
		return wfail(w, COLLAB_ESYNTAX);
	return put_value(w, s, len);
}

/* The outer shape of one JSON value (see json.h): the most that can be
 * checked without a node array. */
static bool raw_shape_ok(const uint8_t *p, size_t len)
{
	size_t end = 0;
	int is_int;

	switch (p[0]) {
	case '{':
		return len >= 2 && p[len - 1] == '}';
	case '[':
		return len >= 2 && p[len - 1] == ']';
	case '"':
		return len >= 2 && p[len - 1] == '"';
	case 't':
		return len == 4 && memcmp(p, "true", 4) == 0;
	case 'f':
		return len == 5 && memcmp(p, "false", 5) == 0;
	case 'n':
		return len == 4 && memcmp(p, "null", 4) == 0;
	default:
		/* RFC 8259 section 6, the whole text and nothing else */
		return collab_json_num_scan(p, len, 0, &end, &is_int) == 0 &&
		       end == len;
	}
}

int collab_json_write_raw(struct collab_json_writer *w, const char *s,
			  size_t len)
{
	if (w->err)
		return w->err;
	if (s == NULL && len != 0)
		return wfail(w, COLLAB_EINVAL);
	if (len == 0 || !raw_shape_ok((const uint8_t *)s, len))
		return wfail(w, COLLAB_ESYNTAX);
	return put_value(w, s, len);
}

/*
 * Walks the subtree in document order, which is node index order, so the
 * next node to write is always the next index; a small stack counts the
 * members still to come in each open container. Its depth is bounded by
 * the writer's own nesting limit, checked by begin().
 */
int collab_json_write_node(struct collab_json_writer *w,
			   const struct collab_json_doc *doc, uint32_t node)
{
	uint32_t left[COLLAB_JSON_WRITER_STACK];
	bool is_obj[COLLAB_JSON_WRITER_STACK];
	size_t sp = 0;
	uint32_t i = node;

	if (w->err)
		return w->err;
	if (doc == NULL || node >= doc->n_nodes)
		return wfail(w, COLLAB_EINVAL);
	for (;;) {
		const struct collab_json_node *nd;
		if (sp > 0 && is_obj[sp - 1]) {
			/* a member: its name, then its value at the next index */
			if (before_key(w) != 0 ||
			    put_node_string(w, doc, &doc->nodes[i]) != 0 ||
			    put1(w, ':') != 0)
				return w->err;
			i++;
		}
		if (i >= doc->n_nodes)
			return wfail(w, COLLAB_EINVAL);
		nd = &doc->nodes[i];
		switch (nd->type) {
		case COLLAB_JSON_OBJECT:
		case COLLAB_JSON_ARRAY:
			if (begin(w, nd->type == COLLAB_JSON_OBJECT) != 0)
				return w->err;
			if (nd->count > 0) {
				/* begin() bounds depth by the stack's size */
				left[sp] = nd->count;
				is_obj[sp] = nd->type == COLLAB_JSON_OBJECT;
				sp++;
				i++;
				continue;
			}
			end(w, nd->type == COLLAB_JSON_OBJECT);
			break;
		case COLLAB_JSON_STRING:
			if (before_value(w) == 0 &&
			    put_node_string(w, doc, nd) == 0)
				after_value(w);
			break;
		case COLLAB_JSON_NUMBER:
		case COLLAB_JSON_TRUE:
		case COLLAB_JSON_FALSE:
		case COLLAB_JSON_NULL:
			put_value(w, doc->in + nd->off, nd->len);
			break;
		default:
			return wfail(w, COLLAB_EINVAL);
		}
		if (w->err)
			return w->err;
		i++;
		/* a value ended: close every container it completes */
		while (sp > 0 && --left[sp - 1] == 0) {
			if (end(w, is_obj[sp - 1]) != 0)
				return w->err;
			sp--;
		}
		if (sp == 0)
			return 0;
	}
}

int collab_json_writer_finish(const struct collab_json_writer *w,
			      size_t *len)
{
	if (w->err)
		return w->err;
	if (!w->done || w->depth != 0)
		return COLLAB_ESTATE;
	if (len)
		*len = w->len;
	return 0;
}
