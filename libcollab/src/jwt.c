/*
 * jwt.c - HS256 JWTs: compact serialization (RFC 7515 3.1, 7.1), the
 * header policy and claims of PROTOCOL.md section 7.
 *
 * Verification decodes every base64url part before it reads any JSON, so
 * a malformed token is ESYNTAX whatever its key; reads the header (the
 * only JSON read before authentication); computes the MAC and compares it
 * in constant time; and only then reads the payload. Secret-dependent
 * state (the HMAC key context, the expected MAC, which is a valid
 * signature for whatever the attacker sent) is wiped before returning.
 */
#include <string.h>

#include <bearssl.h>

#include "collab/base64.h"
#include "collab/common.h"
#include "collab/json.h"
#include "collab/jwt.h"

/* The one header we sign with (RFC 7515 A.1 shape, fixed member order). */
static const char sign_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
#define SIGN_HEADER_LEN (sizeof(sign_header) - 1)
/* base64url of 27 bytes: 9 whole quanta */
#define SIGN_HEADER_B64_LEN ((SIGN_HEADER_LEN / 3) * 4)

/* Bytes of input checked per step by b64url_valid(): a multiple of 4, so
 * each step is whole quanta and only the last step has a tail. */
#define B64_CHUNK 64

void collab_jwt_config_init(struct collab_jwt_config *cfg)
{
	cfg->max_token = COLLAB_JWT_DEFAULT_MAX_TOKEN;
	cfg->max_depth = COLLAB_JSON_DEFAULT_MAX_DEPTH;
	cfg->leeway = COLLAB_JWT_DEFAULT_LEEWAY;
	cfg->max_sub = COLLAB_JWT_DEFAULT_MAX_SUB;
	cfg->max_name = COLLAB_JWT_DEFAULT_MAX_NAME;
}

size_t collab_jwt_signed_len(size_t n)
{
	size_t enc = collab_b64_encoded_len(n, COLLAB_B64_URL);
	size_t fixed = SIGN_HEADER_B64_LEN + 1 + 1 + COLLAB_JWT_SIG_B64_LEN;

	if ((enc == 0 && n != 0) || enc > SIZE_MAX - fixed)
		return 0;
	return fixed + enc;
}

/* HMAC-SHA256(key, msg) into mac; wipes BearSSL's contexts, which hold
 * the key's inner and outer hash states. */
static void hs256(const uint8_t *key, size_t key_len, const void *msg,
		  size_t len, uint8_t mac[COLLAB_JWT_SIG_LEN])
{
	static const uint8_t no_key = 0;
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, key_len ? (const void *)key : &no_key,
			 key_len);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, msg, len);
	br_hmac_out(&hc, mac);
	explicit_bzero(&kc, sizeof(kc));
	explicit_bzero(&hc, sizeof(hc));
}

/* 1 when a[0..n) == b[0..n), else 0, in constant time (RFC 7518 3.2,
 * PROTOCOL.md 7): every byte is read and folded in, no branch depends on
 * the data, and the final test is arithmetic. */
static uint32_t ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint32_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (uint32_t)(a[i] ^ b[i]);
	/* d is 0..255: d - 1 has bit 8 set only when d was 0 */
	return ((d - 1u) >> 8) & 1u;
}

/* Strict base64url syntax of s[0..n) without keeping the bytes (RFC 7515
 * 2). Chunks of whole quanta decode exactly as the whole would, so only
 * the last chunk meets the tail rules. */
static int b64url_valid(const char *s, size_t n)
{
	uint8_t tmp[B64_CHUNK / 4 * 3];
	size_t i = 0, w;

	while (n - i > B64_CHUNK) {
		if (collab_b64_decode(s + i, B64_CHUNK, COLLAB_B64_URL, tmp,
				      sizeof(tmp), &w) != 0)
			return COLLAB_ESYNTAX;
		i += B64_CHUNK;
	}
	if (collab_b64_decode(s + i, n - i, COLLAB_B64_URL, tmp, sizeof(tmp),
			      &w) != 0)
		return COLLAB_ESYNTAX;
	return 0;
}

/* Decodes one part; any refusal of the text is ESYNTAX, a short buffer
 * ESPACE. */
static int decode_part(const uint8_t *s, size_t n, uint8_t *out, size_t cap,
		       size_t *w)
{
	int rc = collab_b64_decode((const char *)s, n, COLLAB_B64_URL, out,
				   cap, w);

	return rc == COLLAB_ESPACE ? COLLAB_ESPACE : rc != 0 ? COLLAB_ESYNTAX : 0;
}

/* Reads a header or payload as one JSON object. Whatever the reader
 * refuses is a malformed token (ESYNTAX), except its limits. */
static int parse_object(const struct collab_jwt_config *cfg,
			const uint8_t *p, size_t len,
			struct collab_json_node *nodes, size_t max_nodes,
			struct collab_json_doc *doc)
{
	struct collab_json_config jc;
	int rc;

	collab_json_config_init(&jc);
	if (len > COLLAB_JSON_MAX_INPUT_CAP)
		return COLLAB_ELIMIT;
	jc.max_input = len;
	jc.max_depth = cfg->max_depth;
	rc = collab_json_parse(&jc, p, len, nodes, max_nodes, doc);
	if (rc == COLLAB_ELIMIT || rc == COLLAB_EINVAL)
		return rc;
	if (rc != 0)
		return COLLAB_ESYNTAX;
	/* RFC 7515 5.2 step 4, RFC 7519 7.2 step 10: a JSON object */
	if (collab_json_type(doc, collab_json_root(doc)) != COLLAB_JSON_OBJECT)
		return COLLAB_ESYNTAX;
	return 0;
}

static bool name_is(const struct collab_json_doc *doc, uint32_t key,
		    const char *s, size_t n)
{
	return collab_json_str_eq(doc, key, s, n);
}

/* PROTOCOL.md 7: alg exactly "HS256"; typ and kid optional strings,
 * otherwise ignored; nothing else (which also refuses "crit", RFC 7515
 * 4.1.11, and every key-fetching member such as "jku" or "jwk"). The
 * reader already refused duplicate names (RFC 7515 4). */
static int check_header(const struct collab_json_doc *doc)
{
	uint32_t root = collab_json_root(doc);
	bool have_alg = false;

	for (uint32_t k = collab_json_first(doc, root); k != COLLAB_JSON_NONE;
	     k = collab_json_next(doc, k)) {
		uint32_t v = collab_json_value(doc, k);

		if (name_is(doc, k, COLLAB_JSON_LIT("alg"))) {
			/* RFC 7518 3.1 names are case-sensitive: "hs256" is
			 * not HS256, and "none" (RFC 7518 3.6) never is */
			if (!collab_json_str_eq(doc, v, COLLAB_JSON_LIT("HS256")))
				return COLLAB_EPROTO;
			have_alg = true;
		} else if (name_is(doc, k, COLLAB_JSON_LIT("typ")) ||
			   name_is(doc, k, COLLAB_JSON_LIT("kid"))) {
			/* RFC 7515 4.1.4, 4.1.9: strings */
			if (collab_json_type(doc, v) != COLLAB_JSON_STRING)
				return COLLAB_EPROTO;
		} else {
			return COLLAB_EPROTO;
		}
	}
	/* RFC 7515 4.1.1: alg MUST be present */
	return have_alg ? 0 : COLLAB_EPROTO;
}

int collab_jwt_sign(const struct collab_jwt_config *cfg,
		    const uint8_t *key, size_t key_len,
		    const uint8_t *payload, size_t payload_len,
		    struct collab_json_node *nodes, size_t max_nodes,
		    char *out, size_t cap, size_t *written)
{
	struct collab_jwt_config def;
	struct collab_json_config jc;
	struct collab_json_doc doc;
	uint8_t mac[COLLAB_JWT_SIG_LEN];
	size_t need, o, w = 0;
	int rc;

	if (cfg == NULL) {
		collab_jwt_config_init(&def);
		cfg = &def;
	}
	if ((key == NULL && key_len != 0) || (payload == NULL && payload_len != 0) ||
	    (nodes == NULL && max_nodes != 0) || (out == NULL && cap != 0) ||
	    written == NULL)
		return COLLAB_EINVAL;
	need = collab_jwt_signed_len(payload_len);
	if (need == 0 || need > cfg->max_token)
		return COLLAB_ELIMIT;

	/* The payload must be a JSON object (RFC 7519 7.1 step 1); checked
	 * with the reader rather than trusted, so we never sign a token that
	 * collab_jwt_verify() must refuse as malformed. */
	collab_json_config_init(&jc);
	jc.max_input = payload_len;
	jc.max_depth = cfg->max_depth;
	rc = collab_json_parse(&jc, payload, payload_len, nodes, max_nodes, &doc);
	if (rc != 0)
		return rc;
	if (collab_json_type(&doc, collab_json_root(&doc)) != COLLAB_JSON_OBJECT)
		return COLLAB_ETYPE;
	if (need > cap)
		return COLLAB_ESPACE;

	/* RFC 7515 7.1: BASE64URL(header) '.' BASE64URL(payload), then the
	 * MAC of exactly those ASCII bytes (RFC 7515 5.1 step 5-6). The
	 * lengths were all accounted for in need, so no encode can fail. */
	o = 0;
	rc = collab_b64_encode((const uint8_t *)sign_header, SIGN_HEADER_LEN,
			       COLLAB_B64_URL, out, cap, &w);
	o += w;
	out[o++] = '.';
	if (rc == 0)
		rc = collab_b64_encode(payload, payload_len, COLLAB_B64_URL,
				       out + o, cap - o, &w);
	o += w;
	hs256(key, key_len, out, o, mac);
	out[o++] = '.';
	if (rc == 0)
		rc = collab_b64_encode(mac, sizeof(mac), COLLAB_B64_URL,
				       out + o, cap - o, &w);
	o += w;
	explicit_bzero(mac, sizeof(mac));
	if (rc != 0 || o != need)
		return COLLAB_EINVAL;   /* unreachable: need was exact */
	*written = o;
	return 0;
}

int collab_jwt_verify_sig(const struct collab_jwt_config *cfg,
			  const uint8_t *key, size_t key_len,
			  const uint8_t *token, size_t len,
			  struct collab_json_node *nodes, size_t max_nodes,
			  uint8_t *payload, size_t cap, size_t *payload_len)
{
	struct collab_jwt_config def;
	struct collab_json_doc doc;
	const uint8_t *d1, *d2, *hp, *pp, *sp;
	size_t hn, pn, sn, plen = 0, hlen = 0, w;
	uint8_t mac[COLLAB_JWT_SIG_LEN], sig[COLLAB_JWT_SIG_LEN];
	uint32_t ok;
	int rc;

	if (payload_len == NULL)
		return COLLAB_EINVAL;
	*payload_len = 0;
	if (cfg == NULL) {
		collab_jwt_config_init(&def);
		cfg = &def;
	}
	if ((key == NULL && key_len != 0) || (token == NULL && len != 0) ||
	    (nodes == NULL && max_nodes != 0) || (payload == NULL && cap != 0))
		return COLLAB_EINVAL;
	if (len > cfg->max_token)
		return COLLAB_ELIMIT;

	/* RFC 7515 7.1 / 5.2 step 1: exactly three parts, two '.' */
	d1 = len ? memchr(token, '.', len) : NULL;
	if (d1 == NULL)
		return COLLAB_ESYNTAX;
	d2 = memchr(d1 + 1, '.', (size_t)(token + len - (d1 + 1)));
	if (d2 == NULL || memchr(d2 + 1, '.', (size_t)(token + len - (d2 + 1))) != NULL)
		return COLLAB_ESYNTAX;
	hp = token;
	hn = (size_t)(d1 - token);
	pp = d1 + 1;
	pn = (size_t)(d2 - pp);
	sp = d2 + 1;
	sn = (size_t)(token + len - sp);
	/* PROTOCOL.md 7: the header and the claims are JSON objects, so
	 * neither part can be empty (RFC 7515 allows an empty payload for
	 * detached content, which tokens never use). */
	if (hn == 0 || pn == 0)
		return COLLAB_ESYNTAX;

	/* RFC 7515 5.2 steps 2-3, 6-7: strict base64url of every part. The
	 * payload goes first in the buffer, the header right after it. */
	rc = decode_part(pp, pn, payload, cap, &plen);
	if (rc != 0)
		return rc;
	rc = decode_part(hp, hn, payload + plen, cap - plen, &hlen);
	if (rc != 0)
		return rc;
	/* The signature: only a 43-character part can be 32 bytes. Any
	 * other length still has its syntax checked (ESYNTAX), and is then
	 * compared as 32 zero bytes and refused after the same work. */
	memset(sig, 0, sizeof(sig));
	if (sn == COLLAB_JWT_SIG_B64_LEN) {
		rc = decode_part(sp, sn, sig, sizeof(sig), &w);
		ok = 1;
	} else {
		rc = b64url_valid((const char *)sp, sn);
		ok = 0;
	}
	if (rc != 0)
		return rc;

	/* RFC 7515 5.2 steps 3-5, 8: the header decides the algorithm */
	rc = parse_object(cfg, payload + plen, hlen, nodes, max_nodes, &doc);
	if (rc != 0)
		return rc;
	rc = check_header(&doc);
	if (rc != 0)
		return rc;

	/* RFC 7515 5.2 step 8, RFC 7518 3.2: MAC over the ASCII of
	 * header_b64 '.' payload_b64, compared in constant time */
	hs256(key, key_len, token, (size_t)(d2 - token), mac);
	ok &= ct_equal(mac, sig, sizeof(mac));
	explicit_bzero(mac, sizeof(mac));
	if (ok != 1)
		return COLLAB_ESIG;
	*payload_len = plen;
	return 0;
}

/* Bump allocator over the tail of the scratch buffer, for claim strings
 * that hold escapes (unescaped ones are views of the payload). */
struct strbuf {
	uint8_t *p;
	size_t left;
};

/* A claim that must be a string; absent -> ENOTFOUND for the caller to
 * judge, wrong type -> ECLAIM. */
static int claim_str(const struct collab_json_doc *doc, uint32_t obj,
		     const char *name, size_t name_len, struct strbuf *sb,
		     struct collab_str *out)
{
	uint32_t v = collab_json_obj_get(doc, obj, name, name_len);
	int rc;

	if (v == COLLAB_JSON_NONE)
		return COLLAB_ENOTFOUND;
	rc = collab_json_str_view(doc, v, sb->p, sb->left, out);
	if (rc == COLLAB_ESPACE)
		return rc;
	if (rc != 0)
		return COLLAB_ECLAIM;   /* ETYPE: null, number, ... */
	if (out->p == (const char *)sb->p) {    /* decoded into sb */
		sb->p += out->len;
		sb->left -= out->len;
	}
	return 0;
}

/* PROTOCOL.md 7's table, into c; see jwt.h for each rule. */
static int read_claims(const struct collab_jwt_config *cfg,
		       const struct collab_json_doc *doc, struct strbuf *sb,
		       struct collab_jwt_claims *c)
{
	uint32_t root = collab_json_root(doc), v;
	int rc;

	rc = claim_str(doc, root, COLLAB_JSON_LIT("sub"), sb, &c->sub);
	if (rc == COLLAB_ENOTFOUND)
		return COLLAB_ECLAIM;
	if (rc != 0)
		return rc;
	if (c->sub.len == 0 || c->sub.len > cfg->max_sub)
		return COLLAB_ECLAIM;

	rc = claim_str(doc, root, COLLAB_JSON_LIT("name"), sb, &c->name);
	if (rc == 0 && c->name.len > cfg->max_name)
		return COLLAB_ECLAIM;
	if (rc != 0 && rc != COLLAB_ENOTFOUND)
		return rc;
	c->has_name = rc == 0;

	rc = claim_str(doc, root, COLLAB_JSON_LIT("tenantId"), sb, &c->tenant_id);
	if (rc == COLLAB_ENOTFOUND)
		return COLLAB_ECLAIM;
	if (rc != 0)
		return rc;

	/* exp: integers only (a stricter NumericDate than RFC 7519 2),
	 * never negative, within int64 */
	rc = collab_json_get_i64(doc, collab_json_obj_get(doc, root,
			COLLAB_JSON_LIT("exp")), &c->exp);
	if (rc != 0 || c->exp < 0)
		return COLLAB_ECLAIM;

	v = collab_json_obj_get(doc, root, COLLAB_JSON_LIT("moderator"));
	if (v != COLLAB_JSON_NONE && collab_json_get_bool(doc, v, &c->moderator) != 0)
		return COLLAB_ECLAIM;

	/* urlIds: an array of strings, each decoded back to back into sb
	 * so iteration needs no buffer of its own */
	v = collab_json_obj_get(doc, root, COLLAB_JSON_LIT("urlIds"));
	c->url_ids_ = v;
	c->url_buf_ = sb->p;
	if (v != COLLAB_JSON_NONE) {
		if (collab_json_type(doc, v) != COLLAB_JSON_ARRAY)
			return COLLAB_ECLAIM;
		for (uint32_t e = collab_json_first(doc, v); e != COLLAB_JSON_NONE;
		     e = collab_json_next(doc, e)) {
			size_t n;
			rc = collab_json_str(doc, e, sb->p, sb->left, &n);
			if (rc == COLLAB_ESPACE)
				return rc;
			if (rc != 0)
				return COLLAB_ECLAIM;
			sb->p += n;
			sb->left -= n;
		}
		c->has_url_ids = true;
		c->url_id_count = collab_json_count(doc, v);
	}
	return 0;
}

static void claims_clear(struct collab_jwt_claims *c)
{
	memset(c, 0, sizeof(*c));
	c->url_ids_ = COLLAB_JSON_NONE;
}

int collab_jwt_verify(const struct collab_jwt_config *cfg,
		      const uint8_t *key, size_t key_len,
		      const uint8_t *token, size_t len, int64_t now,
		      struct collab_json_node *nodes, size_t max_nodes,
		      uint8_t *scratch, size_t cap,
		      struct collab_jwt_claims *claims)
{
	struct collab_jwt_config def;
	struct collab_jwt_claims c;
	struct collab_json_doc doc;
	struct strbuf sb;
	size_t plen;
	int rc;

	if (claims == NULL)
		return COLLAB_EINVAL;
	claims_clear(claims);
	if (cfg == NULL) {
		collab_jwt_config_init(&def);
		cfg = &def;
	}
	rc = collab_jwt_verify_sig(cfg, key, key_len, token, len, nodes,
				   max_nodes, scratch, cap, &plen);
	if (rc != 0)
		return rc;
	/* authenticated from here on */
	rc = parse_object(cfg, scratch, plen, nodes, max_nodes, &doc);
	if (rc != 0)
		return rc;
	claims_clear(&c);
	sb.p = scratch + plen;
	sb.left = cap - plen;
	rc = read_claims(cfg, &doc, &sb, &c);
	if (rc != 0)
		return rc;
	/* RFC 7519 4.1.4, PROTOCOL.md 7: refused once now > exp + leeway,
	 * written so nothing overflows (exp >= 0, so now - exp fits) */
	if (now > c.exp && (uint64_t)(now - c.exp) > cfg->leeway)
		return COLLAB_EEXPIRED;
	c.doc_ = doc;
	*claims = c;
	return 0;
}

void collab_jwt_url_iter_init(const struct collab_jwt_claims *claims,
			      struct collab_jwt_url_iter *it)
{
	it->node = collab_json_first(&claims->doc_, claims->url_ids_);
	it->off = 0;
}

bool collab_jwt_url_iter_next(const struct collab_jwt_claims *claims,
			      struct collab_jwt_url_iter *it,
			      struct collab_str *url)
{
	const struct collab_json_doc *doc = &claims->doc_;

	url->p = NULL;
	url->len = 0;
	if (it->node == COLLAB_JSON_NONE || it->node >= doc->n_nodes ||
	    claims->url_buf_ == NULL)
		return false;
	url->p = (const char *)claims->url_buf_ + it->off;
	url->len = doc->nodes[it->node].dlen;
	it->off += url->len;
	it->node = collab_json_next(doc, it->node);
	return true;
}

bool collab_jwt_claims_has_url(const struct collab_jwt_claims *claims,
			       const char *url, size_t len)
{
	struct collab_jwt_url_iter it;
	struct collab_str u;

	collab_jwt_url_iter_init(claims, &it);
	while (collab_jwt_url_iter_next(claims, &it, &u))
		if (u.len == len && (len == 0 || memcmp(u.p, url, len) == 0))
			return true;
	return false;
}

bool collab_jwt_claims_allows_url(const struct collab_jwt_claims *claims,
				  const char *url, size_t len)
{
	return !claims->has_url_ids || collab_jwt_claims_has_url(claims, url, len);
}
