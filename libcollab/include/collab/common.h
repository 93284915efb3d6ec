/*
 * collab/common.h - what every libcollab module shares: the error
 * convention, string views and the allocator hook.
 *
 * Error convention: a function that can fail returns 0 (or a non-negative
 * count where its header says so) on success and a negative COLLAB_E* code
 * on failure; collab_strerror() names the code. No function in the library
 * calls abort() or exit(), keeps global mutable state, or allocates except
 * through a caller-supplied struct collab_alloc.
 */
#ifndef COLLAB_COMMON_H
#define COLLAB_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One enum for every module. New codes go at the end; values never change
 * because embedding programs may log or persist them. */
enum collab_err {
	COLLAB_OK = 0,
	COLLAB_ENOMEM = -1,     /* the allocator returned NULL */
	COLLAB_EINVAL = -2,     /* bad argument: a caller bug, not bad input */
	COLLAB_ESYNTAX = -3,    /* malformed input */
	COLLAB_ELIMIT = -4,     /* input exceeds a configured limit */
	COLLAB_EUTF8 = -5,      /* invalid UTF-8 */
	COLLAB_ERANGE = -6,     /* number out of the representable range */
	COLLAB_EDUPKEY = -7,    /* duplicate key in one JSON object */
	COLLAB_EPROTO = -8,     /* protocol violation (see the module's detail) */
	COLLAB_ESPACE = -9,     /* caller's output buffer too small */
	COLLAB_ENOTFOUND = -10, /* lookup found nothing */
	COLLAB_ETYPE = -11,     /* value has another type than asked for */
	COLLAB_ESIG = -12,      /* signature does not verify */
	COLLAB_EEXPIRED = -13,  /* token past its expiry (with leeway) */
	COLLAB_ECLAIM = -14,    /* token claim missing, ill-typed or refused */
	COLLAB_EIO = -15,       /* system call failed; errno says which */
	COLLAB_ECLOSED = -16,   /* connection closed */
	COLLAB_EQUEUE = -17,    /* outbound queue over its limit */
	COLLAB_ETIMEDOUT = -18, /* a deadline passed */
	COLLAB_ETLS = -19,      /* TLS engine failure */
	COLLAB_ERANDOM = -20,   /* the kernel's random source failed */
	COLLAB_ESTATE = -21,    /* call not valid in the object's state */
	COLLAB_EHANDSHAKE = -22,/* WebSocket opening handshake refused */
	COLLAB_ECORRUPT = -23,  /* stored data fails its checksum or framing */
	COLLAB_EEXIST = -24,    /* already exists / already in use */
	COLLAB_EAUTH = -25      /* authentication refused */
};

/* Returns a static, human-readable name for a COLLAB_E* code (or "unknown
 * error" for anything else). Never NULL. */
const char *collab_strerror(int err);

/* A view of bytes owned by someone else; not NUL-terminated. Each function
 * returning one states how long the bytes stay valid. p may be NULL only
 * when len is 0. */
struct collab_str {
	const char *p;
	size_t len;
};

/* The allocator hook. free receives the size that was asked of alloc, so
 * arena and pool allocators need no headers. alloc returns NULL on failure;
 * free(ctx, NULL, 0) is a no-op. */
struct collab_alloc {
	void *(*alloc)(void *ctx, size_t n);
	void (*free)(void *ctx, void *p, size_t n);
	void *ctx;
};

/* malloc/free behind the hook. The returned struct is constant. */
const struct collab_alloc *collab_alloc_default(void);

/* Equality of two views (bytes, not C strings). */
int collab_str_eq(struct collab_str a, const char *b, size_t blen);

/* Convenience for string literals: COLLAB_STR("abc"). */
#define COLLAB_STR(lit) ((struct collab_str){ (lit), sizeof(lit) - 1 })

#ifdef __cplusplus
}
#endif
#endif
