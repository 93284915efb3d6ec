/*
 * fuzz_jwt.c - libFuzzer target for collab/jwt.h.
 *
 * The first byte picks a mode, the rest is its input:
 *   0  arbitrary token bytes, verified with a fixed key. Never crashes;
 *      an accepted token's signature is HMAC-SHA256 of its first two
 *      parts (computed here with BearSSL directly).
 *   1  arbitrary "header.payload" text; the harness appends the right
 *      signature, so the header and payload checks are reached. A
 *      correctly signed token is never ESIG, and when the header is the
 *      signer's own, collab_jwt_sign() of the payload gives back the
 *      very same token, or refuses it exactly when verify found the
 *      payload malformed or too deep.
 *   2  header JSON, a NUL, payload JSON: both encoded and signed here.
 *   3  payload JSON signed with collab_jwt_sign(): verify_sig accepts it
 *      and returns the payload unchanged.
 *   4  a claims object built with the JSON writer from the bytes (each
 *      claim absent, well-typed, null or of another type; random sizes,
 *      escapes, exp values): verify's code and claims must be exactly
 *      the ones predicted from PROTOCOL.md 7.
 * Every buffer is a heap block of exactly the size the API is told, so
 * ASan sees any overrun.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "collab/base64.h"
#include "collab/common.h"
#include "collab/json.h"
#include "collab/jwt.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static const uint8_t KEY[] = "fuzz-key-0123456789abcdef0123456789";
#define KEYLEN (sizeof(KEY) - 1)
#define NOW ((int64_t)1900000000)
static const char SIGN_HDR_B64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

static void mac_of(const void *msg, size_t n, uint8_t mac[32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, KEY, KEYLEN);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, msg, n);
	br_hmac_out(&hc, mac);
}

static bool code_ok(int rc)
{
	return rc == 0 || rc == COLLAB_ESYNTAX || rc == COLLAB_ELIMIT ||
	       rc == COLLAB_EPROTO || rc == COLLAB_ESIG || rc == COLLAB_ECLAIM ||
	       rc == COLLAB_EEXPIRED;
}

/* Runs both layers on token[0..n) with exactly sized heap buffers and
 * checks what holds for any input. Returns verify's code; *sig_rc gets
 * verify_sig's. */
static int run(const char *token, size_t n, int *sig_rc)
{
	size_t max_nodes = COLLAB_JWT_NODES_FOR(n);
	size_t pcap = COLLAB_JWT_PAYLOAD_CAP(n), scap = COLLAB_JWT_SCRATCH_FOR(n);
	uint8_t *tok = malloc(n ? n : 1), *pay = malloc(pcap), *scr = malloc(scap);
	struct collab_json_node *nodes = malloc(max_nodes * sizeof(*nodes));
	struct collab_jwt_claims c;
	size_t plen = 1;
	int rc;

	CHECK(tok && pay && scr && nodes);
	if (n)
		memcpy(tok, token, n);
	*sig_rc = collab_jwt_verify_sig(NULL, KEY, KEYLEN, tok, n, nodes, max_nodes, pay,
					pcap, &plen);
	CHECK(code_ok(*sig_rc) && *sig_rc != COLLAB_ECLAIM && *sig_rc != COLLAB_EEXPIRED);
	if (*sig_rc == 0) {
		/* accepted: the signature really is the MAC of the first two
		 * parts, and the payload is the second part decoded */
		const char *d1 = memchr(token, '.', n);
		const char *d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - token));
		uint8_t mac[32], sig[32], *dec = malloc(pcap);
		size_t w = 0;
		CHECK(dec != NULL);
		mac_of(token, (size_t)(d2 - token), mac);
		CHECK(collab_b64_decode(d2 + 1, n - (size_t)(d2 + 1 - token), COLLAB_B64_URL,
					sig, sizeof(sig), &w) == 0 && w == 32);
		CHECK(memcmp(mac, sig, 32) == 0);
		CHECK(collab_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), COLLAB_B64_URL, dec,
					pcap, &w) == 0);
		CHECK(w == plen && memcmp(dec, pay, w) == 0);
		free(dec);
	} else {
		CHECK(plen == 0);
	}
	rc = collab_jwt_verify(NULL, KEY, KEYLEN, tok, n, NOW, nodes, max_nodes, scr, scap, &c);
	CHECK(code_ok(rc));
	if (*sig_rc != 0)
		CHECK(rc == *sig_rc);
	if (rc == 0) {
		struct collab_jwt_url_iter it;
		struct collab_str u;
		uint32_t k = 0;
		CHECK(c.sub.len >= 1 && c.sub.len <= COLLAB_JWT_DEFAULT_MAX_SUB);
		CHECK(c.has_name ? c.name.len <= COLLAB_JWT_DEFAULT_MAX_NAME : c.name.p == NULL);
		CHECK(c.exp >= NOW - COLLAB_JWT_DEFAULT_LEEWAY);
		collab_jwt_url_iter_init(&c, &it);
		while (collab_jwt_url_iter_next(&c, &it, &u)) {
			CHECK(collab_jwt_claims_has_url(&c, u.p, u.len));
			k++;
		}
		CHECK(k == c.url_id_count && (c.has_url_ids || k == 0));
	} else {
		CHECK(c.sub.p == NULL && !c.has_url_ids);
	}
	free(nodes);
	free(scr);
	free(pay);
	free(tok);
	return rc;
}

/* text + '.' + base64url(HMAC(text)) into a new heap block */
static char *append_sig(const char *text, size_t n, size_t *out_n)
{
	char *t = malloc(n + 1 + COLLAB_JWT_SIG_B64_LEN);
	uint8_t mac[32];
	size_t w = 0;

	CHECK(t != NULL);
	memcpy(t, text, n);
	mac_of(text, n, mac);
	t[n] = '.';
	CHECK(collab_b64_encode(mac, 32, COLLAB_B64_URL, t + n + 1,
				COLLAB_JWT_SIG_B64_LEN, &w) == 0);
	*out_n = n + 1 + w;
	return t;
}

/* A properly signed token, unless its first two parts are malformed, is
 * never ESIG; when its header is the signer's own, the signer agrees. */
static void signed_text(const char *text, size_t n)
{
	size_t tn, w = 0;
	char *tok = append_sig(text, n, &tn);
	int sig_rc, sign_rc, rc = run(tok, tn, &sig_rc);

	CHECK(sig_rc != COLLAB_ESIG);
	if (sig_rc == 0 && n > sizeof(SIGN_HDR_B64) &&
	    memcmp(text, SIGN_HDR_B64, sizeof(SIGN_HDR_B64) - 1) == 0 &&
	    text[sizeof(SIGN_HDR_B64) - 1] == '.') {
		const char *p = text + sizeof(SIGN_HDR_B64);
		size_t pn = n - sizeof(SIGN_HDR_B64), plen = 0;
		uint8_t *pay = malloc(COLLAB_JWT_DECODED_MAX(pn));
		struct collab_json_node *nodes = malloc(COLLAB_JSON_NODES_FOR(pn) *
							 sizeof(*nodes));
		char *out = malloc(tn);
		CHECK(pay && nodes && out);
		CHECK(collab_b64_decode(p, pn, COLLAB_B64_URL, pay, COLLAB_JWT_DECODED_MAX(pn),
					&plen) == 0);
		/* the signer refuses exactly the payloads verify calls
		 * malformed (not a JSON object) or too deep; for the rest
		 * it agrees */
		sign_rc = collab_jwt_sign(NULL, KEY, KEYLEN, pay, plen, nodes,
					  COLLAB_JSON_NODES_FOR(pn), out, tn, &w);
		CHECK((sign_rc == 0) == (rc != COLLAB_ESYNTAX && rc != COLLAB_ELIMIT));
		CHECK(rc != COLLAB_ELIMIT || sign_rc == COLLAB_ELIMIT);
		if (sign_rc == 0)
			CHECK(w == tn && memcmp(out, tok, tn) == 0);
		free(out);
		free(nodes);
		free(pay);
	}
	free(tok);
}

static void mode_header_payload(const uint8_t *d, size_t n)
{
	const uint8_t *nul = memchr(d, 0, n);
	size_t hn = nul ? (size_t)(nul - d) : n, pn = nul ? n - hn - 1 : 0;
	size_t cap = collab_b64_encoded_len(hn, COLLAB_B64_URL) + 1 +
		     collab_b64_encoded_len(pn, COLLAB_B64_URL);
	char *t = malloc(cap ? cap : 1);
	size_t o = 0, w = 0;

	CHECK(t != NULL);
	CHECK(collab_b64_encode(d, hn, COLLAB_B64_URL, t, cap, &w) == 0);
	o = w;
	t[o++] = '.';
	CHECK(collab_b64_encode(nul ? nul + 1 : d, pn, COLLAB_B64_URL, t + o, cap - o,
				&w) == 0);
	o += w;
	signed_text(t, o);
	free(t);
}

static void mode_sign(const uint8_t *d, size_t n)
{
	size_t cap = collab_jwt_signed_len(n), w = 0, mn = COLLAB_JSON_NODES_FOR(n);
	char *out = malloc(cap);
	struct collab_json_node *nodes = malloc(mn * sizeof(*nodes));
	int rc, sig_rc;

	CHECK(out && nodes);
	rc = collab_jwt_sign(NULL, KEY, KEYLEN, d, n, nodes, mn, out, cap, &w);
	CHECK(rc == 0 || rc == COLLAB_ESYNTAX || rc == COLLAB_EUTF8 ||
	      rc == COLLAB_EDUPKEY || rc == COLLAB_ELIMIT || rc == COLLAB_ETYPE);
	if (rc == 0) {
		CHECK(w == cap);
		rc = run(out, w, &sig_rc);
		CHECK(sig_rc == 0);
		CHECK(rc == 0 || rc == COLLAB_ECLAIM || rc == COLLAB_EEXPIRED ||
		      rc == COLLAB_ELIMIT);
	}
	free(nodes);
	free(out);
}

/* ---- mode 4: predicted claims ------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t byte(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

/* A string of len characters from the input, valid UTF-8: printable
 * ASCII, quotes, backslashes, controls (escaped by the writer) and a
 * 2-byte character now and then. Returns its byte length. */
static size_t gen_str(struct rd *r, size_t units, char *s)
{
	static const char pool[] = "aZ09 \"\\/\n\t\x01\x1f-_.~";
	size_t o = 0;

	for (size_t i = 0; i < units; i++) {
		uint8_t b = byte(r);
		if (b == 0xff) {
			s[o++] = (char)0xc3;
			s[o++] = (char)0xa9;
		} else {
			s[o++] = pool[b % (sizeof(pool) - 1)];
		}
	}
	return o;
}

/* A value of another type than the claim's (kind 2: null; 3: a number,
 * a fractional one for exp, moderator and urlIds; 4: an array for
 * string claims, a string for the others). */
static void wrong(struct collab_json_writer *w, int kind, bool string_claim)
{
	if (kind == 2)
		collab_json_write_null(w);
	else if (kind == 3 && string_claim)
		collab_json_write_i64(w, 7);
	else if (kind == 3)
		collab_json_write_number(w, "7.5", 3);
	else if (string_claim) {
		collab_json_write_arr_begin(w);
		collab_json_write_arr_end(w);
	} else {
		collab_json_write_str(w, "1", 1);
	}
}

static void mode_claims(const uint8_t *d, size_t n)
{
	struct rd r = { d, n };
	static char sub[600], name[600], ten[600], urls[8][64];
	size_t sub_n = 0, name_n = 0, ten_n = 0, url_n[8], w = 0;
	int k_sub, k_name, k_ten, k_exp, k_mod, k_url, want = 0;
	int64_t exp = 0;
	bool mod = false;
	int n_urls = 0;
	uint8_t out[8192];
	struct collab_json_writer jw;
	char *tok;
	size_t tn, mn;
	struct collab_json_node *nodes;

	/* draw every claim */
	k_sub = byte(&r) % 5;
	k_name = byte(&r) % 5;
	k_ten = byte(&r) % 5;
	k_exp = byte(&r) % 6;
	k_mod = byte(&r) % 5;
	k_url = byte(&r) % 6;
	if (k_sub == 1)
		sub_n = gen_str(&r, byte(&r) % 140, sub);
	if (k_name == 1)
		name_n = gen_str(&r, byte(&r) % 140, name);
	if (k_ten == 1)
		ten_n = gen_str(&r, byte(&r) % 80, ten);
	if (k_exp == 1) {
		uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v = v << 8 | byte(&r);
		exp = (int64_t)v;
	} else if (k_exp == 5) {
		exp = NOW - 40 + byte(&r) % 20;   /* around now - leeway */
	}
	if (k_mod == 1)
		mod = byte(&r) & 1;
	if (k_url == 1 || k_url == 5) {
		n_urls = byte(&r) % 9;
		for (int i = 0; i < n_urls; i++)
			url_n[i] = gen_str(&r, byte(&r) % 30, urls[i]);
	}

	/* predict (PROTOCOL.md 7) */
	if (k_sub != 1 || sub_n == 0 || sub_n > COLLAB_JWT_DEFAULT_MAX_SUB)
		want = COLLAB_ECLAIM;
	if (k_name >= 2 || name_n > COLLAB_JWT_DEFAULT_MAX_NAME)
		want = COLLAB_ECLAIM;
	if (k_ten != 1)
		want = COLLAB_ECLAIM;
	if ((k_exp != 1 && k_exp != 5) || exp < 0)
		want = COLLAB_ECLAIM;
	if (k_mod >= 2)
		want = COLLAB_ECLAIM;
	if (k_url >= 2 && k_url != 5)
		want = COLLAB_ECLAIM;
	if (want == 0 && NOW > exp && (uint64_t)(NOW - exp) > COLLAB_JWT_DEFAULT_LEEWAY)
		want = COLLAB_EEXPIRED;

	/* write, with an ignored claim first */
	collab_json_writer_init(&jw, out, sizeof(out));
	collab_json_write_obj_begin(&jw);
	collab_json_write_key(&jw, "iat", 3);
	collab_json_write_i64(&jw, 5);
	if (k_sub) {
		collab_json_write_key(&jw, "sub", 3);
		if (k_sub == 1)
			collab_json_write_str(&jw, sub, sub_n);
		else
			wrong(&jw, k_sub, true);
	}
	if (k_name) {
		collab_json_write_key(&jw, "name", 4);
		if (k_name == 1)
			collab_json_write_str(&jw, name, name_n);
		else
			wrong(&jw, k_name, true);
	}
	if (k_ten) {
		collab_json_write_key(&jw, "tenantId", 8);
		if (k_ten == 1)
			collab_json_write_str(&jw, ten, ten_n);
		else
			wrong(&jw, k_ten, true);
	}
	if (k_exp) {
		collab_json_write_key(&jw, "exp", 3);
		if (k_exp == 1 || k_exp == 5)
			collab_json_write_i64(&jw, exp);
		else
			wrong(&jw, k_exp, false);
	}
	if (k_mod) {
		collab_json_write_key(&jw, "moderator", 9);
		if (k_mod == 1)
			collab_json_write_bool(&jw, mod);
		else
			wrong(&jw, k_mod, false);
	}
	if (k_url) {
		collab_json_write_key(&jw, "urlIds", 6);
		if (k_url == 1 || k_url == 5 || k_url == 4) {
			collab_json_write_arr_begin(&jw);
			for (int i = 0; i < n_urls; i++)
				collab_json_write_str(&jw, urls[i], url_n[i]);
			if (k_url == 4)     /* a non-string element */
				collab_json_write_i64(&jw, 1);
			collab_json_write_arr_end(&jw);
		} else {
			wrong(&jw, k_url, false);
		}
	}
	collab_json_write_obj_end(&jw);
	CHECK(collab_json_writer_finish(&jw, &w) == 0);

	tn = collab_jwt_signed_len(w);
	tok = malloc(tn);
	mn = COLLAB_JSON_NODES_FOR(w);
	nodes = malloc(mn * sizeof(*nodes));
	CHECK(tok && nodes);
	CHECK(collab_jwt_sign(NULL, KEY, KEYLEN, out, w, nodes, mn, tok, tn, &tn) == 0);
	free(nodes);
	CHECK(tn <= COLLAB_JWT_DEFAULT_MAX_TOKEN);   /* the sizes above ensure it */

	{
		size_t max_nodes = COLLAB_JWT_NODES_FOR(tn), scap = COLLAB_JWT_SCRATCH_FOR(tn);
		struct collab_json_node *vn = malloc(max_nodes * sizeof(*vn));
		uint8_t *scr = malloc(scap);
		struct collab_jwt_claims c;
		struct collab_jwt_url_iter it;
		struct collab_str u;
		int rc;

		CHECK(vn && scr);
		rc = collab_jwt_verify(NULL, KEY, KEYLEN, (const uint8_t *)tok, tn, NOW, vn,
				       max_nodes, scr, scap, &c);
		CHECK(rc == want);
		if (rc == 0) {
			CHECK(c.sub.len == sub_n && memcmp(c.sub.p, sub, sub_n) == 0);
			CHECK(c.has_name == (k_name == 1));
			CHECK(c.name.len == name_n && (name_n == 0 ||
						       memcmp(c.name.p, name, name_n) == 0));
			CHECK(c.tenant_id.len == ten_n &&
			      (ten_n == 0 || memcmp(c.tenant_id.p, ten, ten_n) == 0));
			CHECK(c.exp == exp && c.moderator == mod);
			CHECK(c.has_url_ids == (k_url == 1 || k_url == 5));
			CHECK(c.url_id_count == (uint32_t)n_urls);
			collab_jwt_url_iter_init(&c, &it);
			for (int i = 0; i < n_urls; i++) {
				CHECK(collab_jwt_url_iter_next(&c, &it, &u));
				CHECK(u.len == url_n[i] &&
				      (u.len == 0 || memcmp(u.p, urls[i], u.len) == 0));
				CHECK(collab_jwt_claims_has_url(&c, urls[i], url_n[i]));
			}
			CHECK(!collab_jwt_url_iter_next(&c, &it, &u));
		}
		free(scr);
		free(vn);
	}
	free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sig_rc;

	if (size == 0)
		return 0;
	switch (data[0] % 5) {
	case 0:
		run((const char *)data + 1, size - 1, &sig_rc);
		break;
	case 1:
		signed_text((const char *)data + 1, size - 1);
		break;
	case 2:
		mode_header_payload(data + 1, size - 1);
		break;
	case 3:
		mode_sign(data + 1, size - 1);
		break;
	default:
		mode_claims(data + 1, size - 1);
		break;
	}
	return 0;
}
