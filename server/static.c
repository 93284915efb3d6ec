/*
 * static.c - files of `--www DIR`, never outside it. See static.h.
 */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"

int srv_static_open(struct srv_static *st, const char *dir,
		    const struct collab_alloc *a)
{
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	st->max_file = SRV_STATIC_DEFAULT_MAX_FILE;
	st->a = a ? a : collab_alloc_default();
	return st->dirfd < 0 ? COLLAB_EIO : 0;
}

void srv_static_close(struct srv_static *st)
{
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->dirfd = -1;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int srv_static_clean_path(const char *raw, size_t len, char *out, size_t cap,
			  size_t *out_len, bool *dir)
{
	size_t i = 0, n = 0, seg_start = 0, segs = 0;
	int hi, lo;
	bool seen_bad = false;
	unsigned char ch;

	*dir = false;
	if (len == 0 || raw[0] != '/')
		return COLLAB_ENOTFOUND;
	if (cap > SRV_STATIC_MAX_PATH)
		cap = SRV_STATIC_MAX_PATH;
	/* RFC 3986 2.1: every escape is checked first, so a malformed one
	 * is a 400 wherever it is. */
	for (i = 0; i < len; i++) {
		if (raw[i] != '%')
			continue;
		if (len - i < 3 || hexval(raw[i + 1]) < 0 || hexval(raw[i + 2]) < 0)
			return COLLAB_ESYNTAX;
		i += 2;
	}
	for (i = 1; i < len; i++) {
		ch = (unsigned char)raw[i];
		if (ch == '/') {
			/* "a//b": an empty segment names nothing */
			if (n == seg_start)
				return COLLAB_ENOTFOUND;
			if (n >= cap)
				return COLLAB_ESPACE;
			out[n++] = '/';
			seg_start = n;
			continue;
		}
		if (ch == '%') {
			hi = hexval(raw[i + 1]);
			lo = hexval(raw[i + 2]);
			ch = (unsigned char)(hi << 4 | lo);
			i += 2;
			/* an escaped separator would smuggle a '/' or '\'
			 * into one segment */
			if (ch == '/' || ch == '\\')
				seen_bad = true;
		}
		/* no '\', NUL or control bytes in a name; no segment that
		 * starts with '.' ("..", ".", dot-files) */
		if (ch == '\\' || ch < 0x20 || ch == 0x7f ||
		    (ch == '.' && n == seg_start))
			seen_bad = true;
		if (seen_bad)
			return COLLAB_ENOTFOUND;
		if (n >= cap)
			return COLLAB_ESPACE;
		out[n++] = (char)ch;
	}
	if (n > 0 && n == seg_start) {
		/* a trailing '/': a directory */
		n--;
		*dir = true;
	} else if (len == 1) {
		*dir = true;
	}
	for (i = 0; i < n; i++)
		if (out[i] == '/')
			segs++;
	if (segs + 1 > SRV_STATIC_MAX_SEGMENTS)
		return COLLAB_ENOTFOUND;
	*out_len = n;
	return 0;
}

/* Opens name (a NUL-terminated segment) below at, never through a link. */
static int open_below(int at, const char *name, int flags)
{
	return openat(at, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
}

int srv_static_open_file(const struct srv_static *st, const char *rel,
			 size_t len, int *fd, uint64_t *size,
			 const char **name, size_t *name_len)
{
	char seg[SRV_STATIC_MAX_PATH + 1];
	size_t i = 0, j;
	int cur = -1, next;
	struct stat sb;

	if (st->dirfd < 0)
		return COLLAB_ENOTFOUND;
	*name = rel;
	*name_len = len;
	cur = dup(st->dirfd);
	if (cur < 0)
		return COLLAB_EIO;
	while (i < len) {
		for (j = i; j < len && rel[j] != '/'; j++)
			;
		if (j - i > SRV_STATIC_MAX_PATH)
			goto notfound;
		memcpy(seg, rel + i, j - i);
		seg[j - i] = 0;
		*name = rel + i;
		*name_len = j - i;
		/* O_NOFOLLOW: a link at this component fails (ELOOP) */
		next = open_below(cur, seg, O_RDONLY | O_NONBLOCK);
		close(cur);
		cur = next;
		if (cur < 0)
			return errno == ENOENT || errno == ELOOP ||
			       errno == ENOTDIR || errno == EACCES
				       ? COLLAB_ENOTFOUND : COLLAB_EIO;
		i = j + 1;
	}
	if (fstat(cur, &sb) != 0)
		goto notfound;
	if (S_ISDIR(sb.st_mode)) {
		/* no listings: index.html or nothing */
		next = open_below(cur, SRV_STATIC_INDEX, O_RDONLY | O_NONBLOCK);
		close(cur);
		cur = next;
		if (cur < 0 || fstat(cur, &sb) != 0)
			goto notfound;
		*name = SRV_STATIC_INDEX;
		*name_len = sizeof(SRV_STATIC_INDEX) - 1;
	}
	if (!S_ISREG(sb.st_mode))
		goto notfound;
	if ((uint64_t)sb.st_size > st->max_file) {
		close(cur);
		return COLLAB_ELIMIT;
	}
	*fd = cur;
	*size = (uint64_t)sb.st_size;
	return 0;
notfound:
	if (cur >= 0)
		close(cur);
	return COLLAB_ENOTFOUND;
}

static bool ext_is(const char *ext, size_t n, const char *want)
{
	size_t i, wl = strlen(want);

	if (n != wl)
		return false;
	for (i = 0; i < n; i++) {
		char ch = ext[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch != want[i])
			return false;
	}
	return true;
}

const char *srv_static_content_type(const char *name, size_t len)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "ico", "image/x-icon" },
		{ "webp", "image/webp" },
		{ "json", "application/json" },
		{ "map", "application/json" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "wasm", "application/wasm" },
		{ "woff2", "font/woff2" },
	};
	size_t i, dot = len;

	for (i = len; i > 0; i--)
		if (name[i - 1] == '.') {
			dot = i - 1;
			break;
		}
	if (dot < len)
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (ext_is(name + dot + 1, len - dot - 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return COLLAB_EIO;
		got += (size_t)r;
	}
	return 0;
}

static unsigned reply_status(struct collab_wsconn *c, bool head,
			     unsigned status, const char *body)
{
	if (srv_http_reply(c, head, status, "text/plain; charset=utf-8", NULL,
			   0, body, strlen(body)) != 0)
		return 0;
	return status;
}

unsigned srv_static_serve(const struct srv_static *st, struct collab_wsconn *c,
			  const struct collab_http_request *req)
{
	struct collab_http_header h[2];
	char rel[SRV_STATIC_MAX_PATH];
	const char *name;
	size_t rlen = 0, nlen = 0;
	uint64_t size = 0;
	uint8_t *body = NULL;
	bool head = srv_http_is_head(req), dir;
	int rc, fd = -1;

	if (!srv_http_is_get_or_head(req))
		return srv_http_method_not_allowed(c, head) == 0 ? 405 : 0;
	rc = srv_static_clean_path(req->path.p, req->path.len, rel, sizeof(rel),
				   &rlen, &dir);
	if (rc == COLLAB_ESYNTAX)
		return reply_status(c, head, 400, "400 Bad Request\n");
	if (rc != 0)
		return reply_status(c, head, 404, "404 Not Found\n");
	rc = srv_static_open_file(st, rel, rlen, &fd, &size, &name, &nlen);
	if (rc != 0)
		return reply_status(c, head, 404, "404 Not Found\n");
	h[0].name = COLLAB_STR("X-Content-Type-Options");
	h[0].value = COLLAB_STR("nosniff");
	h[1].name = COLLAB_STR("Cache-Control");
	h[1].value = COLLAB_STR("no-cache");
	if (!head && size > 0) {
		body = st->a->alloc(st->a->ctx, (size_t)size);
		if (body == NULL || read_all(fd, body, (size_t)size) != 0) {
			close(fd);
			if (body)
				st->a->free(st->a->ctx, body, (size_t)size);
			return reply_status(c, head, 500,
					    "500 Internal Server Error\n");
		}
	}
	close(fd);
	rc = srv_http_reply(c, head, 200, srv_static_content_type(name, nlen),
			    h, 2, body, (size_t)size);
	if (body)
		st->a->free(st->a->ctx, body, (size_t)size);
	return rc == 0 ? 200 : 0;
}
