/* common.c - error names, the default allocator, string view helpers. */
#include "collab/common.h"

#include <stdlib.h>
#include <string.h>

const char *collab_strerror(int err)
{
	switch (err) {
	case COLLAB_OK: return "success";
	case COLLAB_ENOMEM: return "out of memory";
	case COLLAB_EINVAL: return "invalid argument";
	case COLLAB_ESYNTAX: return "malformed input";
	case COLLAB_ELIMIT: return "input exceeds a configured limit";
	case COLLAB_EUTF8: return "invalid UTF-8";
	case COLLAB_ERANGE: return "number out of range";
	case COLLAB_EDUPKEY: return "duplicate object key";
	case COLLAB_EPROTO: return "protocol violation";
	case COLLAB_ESPACE: return "output buffer too small";
	case COLLAB_ENOTFOUND: return "not found";
	case COLLAB_ETYPE: return "wrong type";
	case COLLAB_ESIG: return "bad signature";
	case COLLAB_EEXPIRED: return "expired";
	case COLLAB_ECLAIM: return "missing or invalid claim";
	case COLLAB_EIO: return "I/O error";
	case COLLAB_ECLOSED: return "connection closed";
	case COLLAB_EQUEUE: return "outbound queue full";
	case COLLAB_ETIMEDOUT: return "timed out";
	case COLLAB_ETLS: return "TLS failure";
	case COLLAB_ERANDOM: return "random source failed";
	case COLLAB_ESTATE: return "invalid state for this call";
	case COLLAB_EHANDSHAKE: return "handshake refused";
	case COLLAB_ECORRUPT: return "corrupt data";
	case COLLAB_EEXIST: return "already exists";
	case COLLAB_EAUTH: return "authentication refused";
	default: return "unknown error";
	}
}

static void *default_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n ? n : 1);
}

static void default_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	(void)n;
	free(p);
}

static const struct collab_alloc default_allocator = {
	default_alloc, default_free, NULL
};

const struct collab_alloc *collab_alloc_default(void)
{
	return &default_allocator;
}

int collab_str_eq(struct collab_str a, const char *b, size_t blen)
{
	if (a.len != blen)
		return 0;
	return blen == 0 || memcmp(a.p, b, blen) == 0;
}
