/*
 * collab/jwt.h - HS256 JSON Web Tokens (RFC 7519 over RFC 7515's compact
 * serialization), as PROTOCOL.md section 7 uses them: sign, verify the
 * signature, check the claims. HMAC-SHA256 comes from BearSSL. Nothing
 * here allocates or does I/O; the caller supplies every buffer.
 *
 * A token is   BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(sig)
 * and verification is strict and only strict; each failure has its code:
 *
 *   COLLAB_ELIMIT   token longer than cfg->max_token; header or payload
 *                   JSON nested deeper than cfg->max_depth or needing
 *                   more nodes than the caller's arena holds
 *   COLLAB_ESYNTAX  not exactly two '.'; an empty header or payload part;
 *                   any part not strict base64url (RFC 7515 2: no '=',
 *                   no '+' or '/', no whitespace, canonical final bits);
 *                   header not a JSON object (RFC 7515 5.2 step 4), or
 *                   payload not a JSON object (RFC 7519 7.2 step 10):
 *                   invalid JSON, invalid UTF-8 and duplicate member
 *                   names (RFC 7515 4 / RFC 7519 4 allow refusing them)
 *                   included
 *   COLLAB_EPROTO   a header whose "alg" is missing or not exactly the
 *                   string "HS256" ("none", "HS384", "hs256" ...), whose
 *                   "typ" or "kid" is not a string, or which has any
 *                   other member ("crit", "jku", ...): PROTOCOL.md 7.
 *                   Names and values are compared once JSON escapes are
 *                   decoded, so "HS\u0032\u0035\u0036" is HS256.
 *   COLLAB_ESIG     the signature is not HMAC-SHA256(key, header_b64 '.'
 *                   payload_b64), compared in constant time; a signature
 *                   that does not decode to exactly 32 bytes (empty
 *                   included) fails the same way, after the same work
 *   COLLAB_ECLAIM   (collab_jwt_verify) a claim of the table below
 *                   missing, of the wrong type (null included) or size
 *   COLLAB_EEXPIRED (collab_jwt_verify) now > exp + cfg->leeway
 *   COLLAB_ESPACE   the caller's scratch buffer is too small
 *   COLLAB_EINVAL   a caller bug (a NULL pointer with a non-zero length)
 *
 * The server closes with 4401 for every one of these (PROTOCOL.md 3);
 * the distinct codes are for its logs and for tests.
 *
 * The checks run in this order: length; the split; base64url of payload,
 * header and signature; the header's JSON and its members; the signature;
 * then (collab_jwt_verify) the payload's JSON, the claims, the expiry.
 * The header is read before the signature is checked because its "alg"
 * says how to check it (RFC 7515 5.2 steps 2-4, 8); the payload's JSON is
 * read only once the signature holds, so unauthenticated bytes reach the
 * JSON reader only as a header.
 *
 * Claims (PROTOCOL.md 7). Claims outside the table are ignored ("iat",
 * "nbf", "iss", "aud" included: the protocol gives them no meaning).
 *
 *   sub        string, required, 1..cfg->max_sub bytes (default 128)
 *   name       string, optional, 0..cfg->max_name bytes (default 128)
 *   tenantId   string, required, any length: comparing it with the
 *              connection's tenant is the server's job (a mismatch is
 *              close 4403, not an invalid token)
 *   exp        required; an integer (the grammar -?(0|[1-9][0-9]*): no
 *              fraction, no exponent, although RFC 7519 2 NumericDate
 *              would allow them), 0 <= exp <= INT64_MAX ("-0" is 0)
 *   moderator  boolean, optional (false when absent)
 *   urlIds     array of strings, optional; whether it names the page is
 *              the server's check (close 4403), done with
 *              collab_jwt_claims_allows_url()
 *
 * Lengths of strings are counted in bytes after JSON escapes are decoded.
 * String values may hold any valid UTF-8, U+0000 included.
 *
 * Thread rules: no state outside the arguments; a key may be shared by
 * threads, buffers may not.
 */
#ifndef COLLAB_JWT_H
#define COLLAB_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"
#include "collab/json.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of struct collab_jwt_config. */
#define COLLAB_JWT_DEFAULT_MAX_TOKEN ((size_t)8 * 1024)
#define COLLAB_JWT_DEFAULT_LEEWAY 30            /* seconds */
#define COLLAB_JWT_DEFAULT_MAX_SUB 128          /* bytes, PROTOCOL.md 7 */
#define COLLAB_JWT_DEFAULT_MAX_NAME 128         /* bytes, PROTOCOL.md 7 */

/* HMAC-SHA256 output, and its base64url length (no padding). */
#define COLLAB_JWT_SIG_LEN 32
#define COLLAB_JWT_SIG_B64_LEN 43

/*
 * Buffer sizes that always suffice for a token of len bytes:
 *   COLLAB_JWT_DECODED_MAX(len)  bytes any one part decodes to
 *   COLLAB_JWT_PAYLOAD_CAP(len)  the payload buffer of verify_sig
 *   COLLAB_JWT_SCRATCH_FOR(len)  the scratch buffer of verify (the
 *                                payload, then its decoded strings)
 *   COLLAB_JWT_NODES_FOR(len)    the node arena of verify_sig and verify
 * With the default max_token (8 KiB) these are 6147 bytes, 12294 bytes
 * and 3074 nodes (about 74 KiB). Smaller buffers work for smaller tokens;
 * tokens that do not fit are refused with ESPACE (buffers) or ELIMIT
 * (nodes).
 */
#define COLLAB_JWT_DECODED_MAX(len) ((len) / 4 * 3 + 3)
#define COLLAB_JWT_PAYLOAD_CAP(len) COLLAB_JWT_DECODED_MAX(len)
#define COLLAB_JWT_SCRATCH_FOR(len) (2 * COLLAB_JWT_DECODED_MAX(len))
#define COLLAB_JWT_NODES_FOR(len) COLLAB_JSON_NODES_FOR(COLLAB_JWT_DECODED_MAX(len))

/* Limits. Fill with collab_jwt_config_init(), then adjust. */
struct collab_jwt_config {
	/* Bytes of the whole compact token. Default 8 KiB. Also the most
	 * collab_jwt_sign() produces. */
	size_t max_token;
	/* Nesting of the header and payload JSON (the payload's root object
	 * counting 1, urlIds 2). Default COLLAB_JSON_DEFAULT_MAX_DEPTH. */
	uint32_t max_depth;
	/* Seconds a token stays valid past its exp (clock skew). Default 30
	 * (PROTOCOL.md 7). */
	uint64_t leeway;
	/* Largest sub and name, decoded bytes. Default 128 each. */
	size_t max_sub;
	size_t max_name;
};

/* Fills the defaults above. cfg MUST NOT be NULL. */
void collab_jwt_config_init(struct collab_jwt_config *cfg);

/* The exact length collab_jwt_sign() produces for a payload of n bytes,
 * or 0 if it would overflow size_t. */
size_t collab_jwt_signed_len(size_t n);

/*
 * Signs payload[0..payload_len), a JSON object the caller built (with the
 * JSON writer, say), as an HS256 token with the header
 * {"alg":"HS256","typ":"JWT"}, written into out[0..cap) (no NUL).
 *
 *   cfg       NULL for the defaults; max_token and max_depth apply
 *   key       the HMAC key, bytes as given, any length (the tenant
 *             secret; refusing short ones is the caller's policy); NULL
 *             only when key_len is 0. As HMAC defines it (RFC 2104 2),
 *             keys that differ only by trailing zero bytes are the same
 *             key when at most 64 bytes long.
 *   payload   checked with the JSON reader into nodes[0..max_nodes)
 *             (COLLAB_JSON_NODES_FOR(payload_len) always suffice); it is
 *             encoded as given, not re-serialized
 *
 * Returns 0 and sets *written to collab_jwt_signed_len(payload_len);
 * the JSON reader's code (ESYNTAX, EUTF8, EDUPKEY, ELIMIT) when payload is
 * not valid JSON; COLLAB_ETYPE when it is valid but not an object;
 * COLLAB_ELIMIT when the token would exceed cfg->max_token; COLLAB_ESPACE
 * when cap is too small; COLLAB_EINVAL for NULL pointers. out and
 * *written are untouched on failure; nodes are overwritten.
 */
int collab_jwt_sign(const struct collab_jwt_config *cfg,
		    const uint8_t *key, size_t key_len,
		    const uint8_t *payload, size_t payload_len,
		    struct collab_json_node *nodes, size_t max_nodes,
		    char *out, size_t cap, size_t *written);

/*
 * Layer 1: checks token[0..len)'s form, header and signature (see the top
 * of this file for every rule and code) and decodes its payload into
 * payload[0..cap), WITHOUT looking at the payload's content.
 *
 *   cfg       NULL for the defaults
 *   key       as collab_jwt_sign(); NULL only when key_len is 0
 *   token     NULL only when len is 0; nothing at or past token + len is
 *             read
 *   nodes     arena for the header's JSON; COLLAB_JWT_NODES_FOR(len)
 *             always suffice (a valid header needs at most 7)
 *   payload   receives the decoded payload at payload[0..*payload_len)
 *             and the decoded header right after it (so cap must hold
 *             both; COLLAB_JWT_PAYLOAD_CAP(len) always does). Contents
 *             unspecified on failure.
 *
 * Returns 0 and sets *payload_len, or a negative code (then
 * *payload_len is 0). payload_len MUST NOT be NULL.
 */
int collab_jwt_verify_sig(const struct collab_jwt_config *cfg,
			  const uint8_t *key, size_t key_len,
			  const uint8_t *token, size_t len,
			  struct collab_json_node *nodes, size_t max_nodes,
			  uint8_t *payload, size_t cap, size_t *payload_len);

/*
 * Verified claims. Every view points into the scratch buffer given to
 * collab_jwt_verify() (decoded payload and decoded strings), and the
 * urlIds iteration reads its node arena too: the claims are valid while
 * both stay unmodified and alive. Fields ending in '_' are private.
 */
struct collab_jwt_claims {
	struct collab_str sub;       /* 1..max_sub bytes */
	struct collab_str name;      /* { NULL, 0 } when absent */
	struct collab_str tenant_id; /* any length, possibly empty */
	int64_t exp;                 /* >= 0 */
	bool has_name;
	bool moderator;              /* false when absent */
	bool has_url_ids;            /* the urlIds claim is present */
	uint32_t url_id_count;       /* its elements (0 when absent) */
	struct collab_json_doc doc_;
	uint32_t url_ids_;           /* the array node, or NONE */
	const uint8_t *url_buf_;     /* the decoded elements, back to back */
};

/*
 * Layer 2: collab_jwt_verify_sig(), then the claims of the table at the
 * top of this file, then the expiry: the token is expired when
 * now > exp + cfg->leeway (computed without overflow), so it is still
 * valid at exactly exp + leeway.
 *
 *   now       the caller's clock, seconds since the Unix epoch
 *   nodes     arena for the header's, then the payload's JSON;
 *             COLLAB_JWT_NODES_FOR(len) always suffice
 *   scratch   the decoded payload followed by the decoded claim strings;
 *             COLLAB_JWT_SCRATCH_FOR(len) always suffices
 *   claims    filled on success; zeroed (url_ids_ NONE) on any failure,
 *             so a caller that forgets the code still sees no user
 *
 * Returns 0 or a code of the list at the top of this file. A claim error
 * is reported before an expiry. claims MUST NOT be NULL.
 */
int collab_jwt_verify(const struct collab_jwt_config *cfg,
		      const uint8_t *key, size_t key_len,
		      const uint8_t *token, size_t len, int64_t now,
		      struct collab_json_node *nodes, size_t max_nodes,
		      uint8_t *scratch, size_t cap,
		      struct collab_jwt_claims *claims);

/* true when the urlIds claim is present and one of its elements equals
 * url[0..len) byte for byte (decoded; no normalization of any kind). url
 * may be NULL only when len is 0. */
bool collab_jwt_claims_has_url(const struct collab_jwt_claims *claims,
			       const char *url, size_t len);

/* The server's page check (PROTOCOL.md 7): true when urlIds is absent or
 * names url[0..len). A false here is close 4403. */
bool collab_jwt_claims_allows_url(const struct collab_jwt_claims *claims,
				  const char *url, size_t len);

/* Iteration over urlIds in token order:
 *     struct collab_jwt_url_iter it;
 *     struct collab_str u;
 *     collab_jwt_url_iter_init(&claims, &it);
 *     while (collab_jwt_url_iter_next(&claims, &it, &u)) ...
 * Each view is decoded bytes with the claims' lifetime. */
struct collab_jwt_url_iter {
	uint32_t node;  /* private: the next element, or NONE */
	size_t off;     /* private: its offset in url_buf_ */
};

void collab_jwt_url_iter_init(const struct collab_jwt_claims *claims,
			      struct collab_jwt_url_iter *it);

/* Sets *url to the next element and returns true; false (and *url
 * { NULL, 0 }) after the last one or when urlIds is absent. */
bool collab_jwt_url_iter_next(const struct collab_jwt_claims *claims,
			      struct collab_jwt_url_iter *it,
			      struct collab_str *url);

#ifdef __cplusplus
}
#endif
#endif
