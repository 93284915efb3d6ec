/*
 * static.h - collab-server's static files (`--www DIR`, DESIGN.md module
 * static): the demo page and the browser client, served on the main
 * listener with GET and HEAD, never leaving the folder.
 *
 * SAFETY. A request path is percent-decoded first (RFC 3986 2.1; a
 * malformed escape is a 400), then split on '/' into segments, and
 * refused (404, without touching the file system) when a segment is empty
 * in the middle ("a//b"), starts with '.' ("..", ".", ".git", whether it
 * was written plainly or as %2e), or holds a byte that was an escaped '/'
 * or '\' ("%2F", "%5C"), a '\', a NUL or another control byte. The
 * remaining segments are opened one by one below the folder's descriptor
 * with openat(2) and O_NOFOLLOW, so a symbolic link anywhere on the path
 * (to a file inside the folder or outside it) is never followed; the last
 * one must be a regular file no larger than max_file bytes. A directory
 * (the root "/" included) serves its index.html when it has one, else
 * 404: there are no listings.
 *
 * Responses carry Content-Type from the extension (content_type below),
 * X-Content-Type-Options: nosniff and Cache-Control: no-cache.
 *
 * Thread rules: the loop thread (the files are read with blocking reads:
 * small local files).
 */
#ifndef SRV_STATIC_H
#define SRV_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"
#include "collab/http.h"
#include "collab/wsconn.h"

/* Largest file served. */
#define SRV_STATIC_DEFAULT_MAX_FILE ((size_t)8 << 20)
/* Longest decoded path, and most segments. */
#define SRV_STATIC_MAX_PATH 1024u
#define SRV_STATIC_MAX_SEGMENTS 32u
/* What a directory serves. */
#define SRV_STATIC_INDEX "index.html"

struct srv_static {
	int dirfd;          /* the folder, O_DIRECTORY; -1 when closed */
	size_t max_file;
	const struct collab_alloc *a;
};

/* Opens the folder dir (NUL-terminated). a NULL: the default allocator.
 * Returns 0, or COLLAB_EIO (errno says why). */
int srv_static_open(struct srv_static *st, const char *dir,
		    const struct collab_alloc *a);

/* Closes it; safe twice. */
void srv_static_close(struct srv_static *st);

/*
 * The pure half: checks and decodes the raw request path raw[0..len)
 * (the request target before '?', starting with '/') into out[0..cap) as
 * a relative path of segments joined by '/' (no leading '/'; "" for the
 * root; a trailing '/' is dropped and reported by *dir as true). Returns
 * 0; COLLAB_ESYNTAX for a malformed escape (400); COLLAB_ENOTFOUND for a
 * path that may never name a file here (see SAFETY; 404); COLLAB_ESPACE
 * when the decoded path is over cap or SRV_STATIC_MAX_PATH bytes (404).
 */
int srv_static_clean_path(const char *raw, size_t len, char *out, size_t cap,
			  size_t *out_len, bool *dir);

/*
 * Opens rel[0..len) (as srv_static_clean_path() wrote it) below the
 * folder (see SAFETY). On 0, *fd is a regular file of *size bytes opened
 * for reading (the caller closes it) and *name / *name_len view its last
 * segment ("index.html" for a directory), for content_type. Returns 0;
 * COLLAB_ENOTFOUND (absent, a link, not a regular file, a directory
 * without index.html); COLLAB_ELIMIT (larger than max_file); COLLAB_EIO.
 */
int srv_static_open_file(const struct srv_static *st, const char *rel,
			 size_t len, int *fd, uint64_t *size,
			 const char **name, size_t *name_len);

/* The Content-Type for a file name by its extension (case-insensitive):
 * html/htm, js/mjs (text/javascript), css, svg, png, jpg/jpeg, gif, ico,
 * webp, json, map, txt, wasm, woff2; application/octet-stream otherwise.
 * Text types carry "; charset=utf-8". Static string. */
const char *srv_static_content_type(const char *name, size_t len);

/*
 * Answers req on c (from on_request): 405 for a method other than GET and
 * HEAD, 400 for a malformed escape, 404 for anything it cannot serve, else
 * 200 with the file (HEAD: the head alone). Returns the status sent, or 0
 * when no response could be queued (the connection is then dropped).
 */
unsigned srv_static_serve(const struct srv_static *st, struct collab_wsconn *c,
			  const struct collab_http_request *req);

#endif
