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
 * Encodes src[0..n) into out (capacity cap; no NUL is written). Returns 0
 * and sets *written to collab_b64_encoded_len(n, a), or COLLAB_ESPACE when
 * cap is smaller than that (out untouched).
 */
int collab_b64_encode(const uint8_t *src, size_t n, enum collab_b64_alphabet a,
		      char *out, size_t cap, size_t *written);

/*
 * Decodes src[0..n) into out (capacity cap). Returns 0 and sets *written,
 * COLLAB_ESYNTAX for any non-canonical or malformed input, or COLLAB_ESPACE
 * when cap is smaller than the decoded length. out is left unspecified on
 * failure.
 */
int collab_b64_decode(const char *src, size_t n, enum collab_b64_alphabet a,
		      uint8_t *out, size_t cap, size_t *written);

#ifdef __cplusplus
}
#endif
#endif
