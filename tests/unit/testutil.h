/*
 * testutil.h - helpers shared by the Check suites.
 *
 * guard_copy(): copies bytes so that they end exactly where an unreadable
 * page begins, so any read at or past p + len faults at once under every
 * build. Use it for every parser input; free with guard_free().
 */
#ifndef COLLAB_TESTUTIL_H
#define COLLAB_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guard_buf {
	uint8_t *p;     /* the copy; p + len is the first unreadable byte */
	size_t len;
	void *map;
	size_t maplen;
};

static inline struct guard_buf guard_copy(const void *src, size_t len)
{
	struct guard_buf g = { NULL, len, NULL, 0 };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data_pages = (len + page - 1) / page;
	if (data_pages == 0)
		data_pages = 1;
	g.maplen = (data_pages + 1) * page;
	g.map = mmap(NULL, g.maplen, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g.map == MAP_FAILED) {
		g.map = NULL;
		return g;
	}
	uint8_t *guard = (uint8_t *)g.map + data_pages * page;
	mprotect(guard, page, PROT_NONE);
	g.p = guard - len;
	if (len)
		memcpy(g.p, src, len);
	return g;
}

static inline void guard_free(struct guard_buf *g)
{
	if (g->map)
		munmap(g->map, g->maplen);
	g->map = NULL;
	g->p = NULL;
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
