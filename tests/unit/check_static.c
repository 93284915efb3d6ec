/*
 * check_static.c - the static file module (server/static.h): the path
 * safety table (traversal attempts plain and percent-encoded, encoded
 * separators, control bytes, dot-files), opening below the folder without
 * following any link (escaping or not), directories and their index, the
 * size cap, and content types.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "static.h"
#include "testutil.h"

/* ---- srv_static_clean_path ------------------------------------------------ */

struct path_vec {
	const char *raw;
	int rc;
	const char *out;   /* when rc == 0 */
	bool dir;
};

static const struct path_vec path_vecs[] = {
	{ "/", 0, "", true },
	{ "/index.html", 0, "index.html", false },
	{ "/a/b.js", 0, "a/b.js", false },
	{ "/a/", 0, "a", true },
	{ "/a/b/", 0, "a/b", true },
	{ "/a%20b.txt", 0, "a b.txt", false },
	{ "/caf%C3%A9.html", 0, "caf\xc3\xa9.html", false },
	{ "/a+b", 0, "a+b", false },            /* '+' is no space in a path */
	{ "/a.b.c", 0, "a.b.c", false },
	{ "/x..y", 0, "x..y", false },          /* dots inside a name are fine */
	/* traversal, plain and encoded */
	{ "/..", COLLAB_ENOTFOUND, NULL, false },
	{ "/../etc/passwd", COLLAB_ENOTFOUND, NULL, false },
	{ "/a/../b", COLLAB_ENOTFOUND, NULL, false },
	{ "/a/..", COLLAB_ENOTFOUND, NULL, false },
	{ "/%2e%2e/etc/passwd", COLLAB_ENOTFOUND, NULL, false },
	{ "/%2E%2E/etc/passwd", COLLAB_ENOTFOUND, NULL, false },
	{ "/.%2e/x", COLLAB_ENOTFOUND, NULL, false },
	{ "/%2e./x", COLLAB_ENOTFOUND, NULL, false },
	{ "/a/%2e%2e%2f%2e%2e/etc", COLLAB_ENOTFOUND, NULL, false },
	{ "/.", COLLAB_ENOTFOUND, NULL, false },
	{ "/./a", COLLAB_ENOTFOUND, NULL, false },
	{ "/.git/config", COLLAB_ENOTFOUND, NULL, false },
	{ "/a/.hidden", COLLAB_ENOTFOUND, NULL, false },
	/* encoded separators and backslashes */
	{ "/a%2fb", COLLAB_ENOTFOUND, NULL, false },
	{ "/a%2Fb", COLLAB_ENOTFOUND, NULL, false },
	{ "/..%2f..%2fetc", COLLAB_ENOTFOUND, NULL, false },
	{ "/a%5cb", COLLAB_ENOTFOUND, NULL, false },
	{ "/a%5C..%5Cb", COLLAB_ENOTFOUND, NULL, false },
	{ "/a\\b", COLLAB_ENOTFOUND, NULL, false },
	{ "/..\\..\\x", COLLAB_ENOTFOUND, NULL, false },
	/* empty segments, control bytes, NUL */
	{ "/a//b", COLLAB_ENOTFOUND, NULL, false },
	{ "//etc/passwd", COLLAB_ENOTFOUND, NULL, false },
	{ "/a%00.html", COLLAB_ENOTFOUND, NULL, false },
	{ "/a%0a", COLLAB_ENOTFOUND, NULL, false },
	{ "/a%7f", COLLAB_ENOTFOUND, NULL, false },
	{ "/a\tb", COLLAB_ENOTFOUND, NULL, false },
	/* not a path */
	{ "", COLLAB_ENOTFOUND, NULL, false },
	{ "index.html", COLLAB_ENOTFOUND, NULL, false },
	/* malformed escapes: 400 */
	{ "/%zz", COLLAB_ESYNTAX, NULL, false },
	{ "/a%2", COLLAB_ESYNTAX, NULL, false },
	{ "/a%", COLLAB_ESYNTAX, NULL, false },
	{ "/a%g0/..", COLLAB_ESYNTAX, NULL, false },
	{ "/../%", COLLAB_ESYNTAX, NULL, false },
};

START_TEST(test_clean_path)
{
	const struct path_vec *v = &path_vecs[_i];
	size_t n = strlen(v->raw), olen = 12345;
	struct guard_buf g = guard_copy(v->raw, n);
	char out[SRV_STATIC_MAX_PATH];
	bool dir = false;
	int rc;

	ck_assert_ptr_nonnull(g.p);
	rc = srv_static_clean_path((const char *)g.p, n, out, sizeof(out), &olen,
				   &dir);
	ck_assert_msg(rc == v->rc, "%s: rc %d, want %d", v->raw, rc, v->rc);
	if (rc == 0) {
		ck_assert_msg(olen == strlen(v->out) &&
			      memcmp(out, v->out, olen) == 0,
			      "%s: got %.*s", v->raw, (int)olen, out);
		ck_assert_msg(dir == v->dir, "%s: dir %d", v->raw, dir);
	}
	guard_free(&g);
}
END_TEST

START_TEST(test_clean_path_limits)
{
	char raw[4 * SRV_STATIC_MAX_PATH], out[SRV_STATIC_MAX_PATH];
	size_t i, olen = 0;
	bool dir;

	/* a decoded path over the limit */
	raw[0] = '/';
	for (i = 1; i <= SRV_STATIC_MAX_PATH + 1; i++)
		raw[i] = 'a';
	ck_assert_int_eq(srv_static_clean_path(raw, SRV_STATIC_MAX_PATH + 2, out,
					       sizeof(out), &olen, &dir),
			 COLLAB_ESPACE);
	/* exactly the limit fits */
	ck_assert_int_eq(srv_static_clean_path(raw, SRV_STATIC_MAX_PATH + 1, out,
					       sizeof(out), &olen, &dir), 0);
	ck_assert_uint_eq(olen, SRV_STATIC_MAX_PATH);
	/* a small output buffer */
	ck_assert_int_eq(srv_static_clean_path("/abcdef", 7, out, 3, &olen, &dir),
			 COLLAB_ESPACE);
	/* too many segments */
	for (i = 0; i < 2 * (SRV_STATIC_MAX_SEGMENTS + 1); i += 2) {
		raw[i] = '/';
		raw[i + 1] = 'a';
	}
	ck_assert_int_eq(srv_static_clean_path(raw, 2 * (SRV_STATIC_MAX_SEGMENTS + 1),
					       out, sizeof(out), &olen, &dir),
			 COLLAB_ENOTFOUND);
	ck_assert_int_eq(srv_static_clean_path(raw, 2 * SRV_STATIC_MAX_SEGMENTS,
					       out, sizeof(out), &olen, &dir), 0);
}
END_TEST

/* ---- opening files below the folder ---------------------------------------- */

static char root[256], www[300];

static void put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_int_eq(mkdir(p, 0700), 0);
}

static void ln(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_int_eq(symlink(target, p), 0);
}

static void setup_tree(void)
{
	char p[512];

	snprintf(root, sizeof(root), "/tmp/check_static.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(www, sizeof(www), "%s/www", root);
	put("secret.txt", "secret\n");
	mk("www");
	put("www/index.html", "<p>hi</p>\n");
	put("www/app.js", "export {};\n");
	put("www/big.bin", "0123456789abcdefghij");
	mk("www/sub");
	put("www/sub/index.html", "sub\n");
	put("www/sub/x.css", "p{}\n");
	mk("www/empty");
	ln("../secret.txt", "www/escape.txt");     /* a link out of the folder */
	ln("/etc/passwd", "www/passwd");           /* absolute, out */
	ln("index.html", "www/alias.html");        /* a link inside: refused too */
	ln("..", "www/up");                        /* a directory link out */
	ln("sub", "www/sublink");                  /* a directory link inside */
	ln("../secret.txt", "www/sub/deep.txt");
	snprintf(p, sizeof(p), "%s/www/fifo", root);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
}

static void rm_tree(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

struct open_vec {
	const char *path;   /* as requested */
	int rc;
	const char *body;   /* when rc == 0 */
	const char *name;   /* the last segment for the content type */
};

static const struct open_vec open_vecs[] = {
	{ "/", 0, "<p>hi</p>\n", "index.html" },
	{ "/index.html", 0, "<p>hi</p>\n", "index.html" },
	{ "/app.js", 0, "export {};\n", "app.js" },
	{ "/sub", 0, "sub\n", "index.html" },
	{ "/sub/", 0, "sub\n", "index.html" },
	{ "/sub/x.css", 0, "p{}\n", "x.css" },
	{ "/empty/", COLLAB_ENOTFOUND, NULL, NULL },      /* no listing */
	{ "/missing.html", COLLAB_ENOTFOUND, NULL, NULL },
	{ "/escape.txt", COLLAB_ENOTFOUND, NULL, NULL },  /* symlink escape */
	{ "/passwd", COLLAB_ENOTFOUND, NULL, NULL },
	{ "/alias.html", COLLAB_ENOTFOUND, NULL, NULL },
	{ "/up/secret.txt", COLLAB_ENOTFOUND, NULL, NULL },
	{ "/up/www/index.html", COLLAB_ENOTFOUND, NULL, NULL },
	{ "/sublink/x.css", COLLAB_ENOTFOUND, NULL, NULL },
	{ "/sub/deep.txt", COLLAB_ENOTFOUND, NULL, NULL },
	{ "/fifo", COLLAB_ENOTFOUND, NULL, NULL },        /* not a regular file */
	{ "/index.html/x", COLLAB_ENOTFOUND, NULL, NULL },
	{ "/big.bin", COLLAB_ELIMIT, NULL, NULL },        /* max_file is 16 below */
};

START_TEST(test_open_file)
{
	const struct open_vec *v = &open_vecs[_i];
	struct srv_static st;
	char rel[SRV_STATIC_MAX_PATH], buf[64];
	const char *name = NULL;
	size_t rlen = 0, nlen = 0;
	uint64_t size = 0;
	bool dir;
	int fd = -1, rc;
	ssize_t r;

	setup_tree();
	ck_assert_int_eq(srv_static_open(&st, www, NULL), 0);
	st.max_file = 16;
	ck_assert_int_eq(srv_static_clean_path(v->path, strlen(v->path), rel,
					       sizeof(rel), &rlen, &dir), 0);
	rc = srv_static_open_file(&st, rel, rlen, &fd, &size, &name, &nlen);
	ck_assert_msg(rc == v->rc, "%s: rc %d, want %d", v->path, rc, v->rc);
	if (rc == 0) {
		ck_assert_uint_eq(size, strlen(v->body));
		r = read(fd, buf, sizeof(buf));
		ck_assert_int_eq(r, (ssize_t)strlen(v->body));
		ck_assert(memcmp(buf, v->body, (size_t)r) == 0);
		ck_assert(nlen == strlen(v->name) && memcmp(name, v->name, nlen) == 0);
		close(fd);
	}
	srv_static_close(&st);
	srv_static_close(&st);   /* twice is safe */
	rm_tree();
}
END_TEST

START_TEST(test_open_missing_folder)
{
	struct srv_static st;

	ck_assert_int_eq(srv_static_open(&st, "/nonexistent/www.d", NULL),
			 COLLAB_EIO);
	srv_static_close(&st);
}
END_TEST

/* ---- content types ------------------------------------------------------------ */

struct type_vec {
	const char *name;
	const char *type;
};

static const struct type_vec type_vecs[] = {
	{ "index.html", "text/html; charset=utf-8" },
	{ "A.HTM", "text/html; charset=utf-8" },
	{ "collab.js", "text/javascript; charset=utf-8" },
	{ "m.mjs", "text/javascript; charset=utf-8" },
	{ "demo.css", "text/css; charset=utf-8" },
	{ "logo.svg", "image/svg+xml" },
	{ "p.PNG", "image/png" },
	{ "p.jpg", "image/jpeg" },
	{ "p.jpeg", "image/jpeg" },
	{ "a.gif", "image/gif" },
	{ "favicon.ico", "image/x-icon" },
	{ "a.webp", "image/webp" },
	{ "data.json", "application/json" },
	{ "a.js.map", "application/json" },
	{ "notes.txt", "text/plain; charset=utf-8" },
	{ "m.wasm", "application/wasm" },
	{ "f.woff2", "font/woff2" },
	{ "README", "application/octet-stream" },
	{ "archive.tar.gz", "application/octet-stream" },
	{ "trailing.", "application/octet-stream" },
	{ "", "application/octet-stream" },
};

START_TEST(test_content_type)
{
	const struct type_vec *v = &type_vecs[_i];

	ck_assert_str_eq(srv_static_content_type(v->name, strlen(v->name)),
			 v->type);
}
END_TEST

static Suite *static_suite(void)
{
	Suite *s = suite_create("static");
	TCase *tc = tcase_create("paths");

	tcase_add_loop_test(tc, test_clean_path, 0, (int)ARRAY_LEN(path_vecs));
	tcase_add_test(tc, test_clean_path_limits);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	tcase_add_loop_test(tc, test_open_file, 0, (int)ARRAY_LEN(open_vecs));
	tcase_add_test(tc, test_open_missing_folder);
	suite_add_tcase(s, tc);
	tc = tcase_create("types");
	tcase_add_loop_test(tc, test_content_type, 0, (int)ARRAY_LEN(type_vecs));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(static_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
