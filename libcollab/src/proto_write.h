/*
 * proto_write.h - private to the proto module: the small JSON-writer
 * helpers that both directions' encoders (proto_encode.c for server
 * messages, proto_client.c for client messages) write members with. Static
 * inline, so the header defines no symbols.
 */
#ifndef COLLAB_PROTO_WRITE_H
#define COLLAB_PROTO_WRITE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "collab/common.h"
#include "collab/json.h"

/* A string literal as (pointer, length) arguments. */
#define NAME(lit) (lit), (sizeof(lit) - 1)

/* A key and a string value. */
static inline void put_str(struct collab_json_writer *w, const char *key,
			   size_t klen, struct collab_str v)
{
	collab_json_write_key(w, key, klen);
	collab_json_write_str(w, v.p, v.len);
}

static inline void put_u64(struct collab_json_writer *w, const char *key,
			   size_t klen, uint64_t v)
{
	collab_json_write_key(w, key, klen);
	collab_json_write_u64(w, v);
}

static inline void put_bool(struct collab_json_writer *w, const char *key,
			    size_t klen, bool v)
{
	collab_json_write_key(w, key, klen);
	collab_json_write_bool(w, v);
}

/* "type":<name> as every message's first member. */
static inline void put_type(struct collab_json_writer *w, const char *name)
{
	collab_json_write_obj_begin(w);
	collab_json_write_key(w, NAME("type"));
	collab_json_write_str(w, name, strlen(name));
}

/* Completes a message: the writer's verdict, and its length in *len. */
static inline int put_finish(const struct collab_json_writer *w, size_t *len)
{
	size_t n = 0;
	int rc = collab_json_writer_finish(w, &n);

	if (rc == 0)
		*len = n;
	return rc;
}

#endif
