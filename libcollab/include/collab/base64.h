/*
 * collab/base64.h - RFC 4648 base64 (section 4) and base64url (section 5).
 *
 * Decoding is strict and only strict: the standard alphabet requires '='
 * padding to a multiple of 4; the URL-safe alphabet (as JWT uses it,
 * RFC 7515 section 2) forbids padding. Any byte outside the alphabet
 * (whitespace and line breaks included), a length that no encoding
 * produces, or non-zero bits in the last character's unused low bits
 * (a non-canonical encoding, RFC 4648 3.5) is rejected. Never allocates.
 */
#ifndef COLLAB_BASE64_H
#define COLLAB_BASE64_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum collab_b64_alphabet {
	COLLAB_B64_STD = 0,  /* A-Z a-z 0-9 + /, padded with '=' */
	COLLAB_B64_URL = 1   /* A-Z a-z 0-9 - _, never padded */
};

/* Exact encoded length of n bytes (0 if it would overflow size_t). */
size_t collab_b64_encoded_len(size_t n, enum collab_b64_alphabet a);

/* Upper bound of the decoded length of n characters. */
size_t collab_b64_decoded_max(size_t n);

/*
 * Encodes src[0..n) into out (capacity cap; no NUL is written). src may be
 * NULL only when n is 0. Returns 0 and sets *written to
 * collab_b64_encoded_len(n, a); COLLAB_ESPACE when cap is smaller than that
 * (or it overflows size_t); COLLAB_EINVAL when a is not one of the two
 * alphabets. out and *written are untouched on failure.
 */
int collab_b64_encode(const uint8_t *src, size_t n, enum collab_b64_alphabet a,
		      char *out, size_t cap, size_t *written);

/*
 * Decodes src[0..n) into out (capacity cap). src may be NULL only when n
 * is 0; nothing at or past src + n is read. Returns 0 and sets *written to
 * the decoded length; COLLAB_ESYNTAX for any non-canonical or malformed
 * input; COLLAB_ESPACE when cap is smaller than the decoded length;
 * COLLAB_EINVAL when a is not one of the two alphabets. The checks come in
 * this order: a length no encoding has (ESYNTAX), then cap against the
 * length the input would decode to (ESPACE, out untouched), then the
 * characters (ESYNTAX). A cap of collab_b64_decoded_max(n) never gives
 * ESPACE. On failure *written is untouched and out[0..cap) unspecified.
 */
int collab_b64_decode(const char *src, size_t n, enum collab_b64_alphabet a,
		      uint8_t *out, size_t cap, size_t *written);

#ifdef __cplusplus
}
#endif
#endif
