/*
 * check_tls.c - TLS configuration loading and the engine pump (collab/tls.h).
 *
 * main() makes a throwaway PKI with the openssl command in a mkdtemp
 * directory (removed at exit): a root CA, an intermediate, server
 * certificates for DNS:localhost and IP:127.0.0.1 with RSA-2048 and P-256
 * keys, a certificate from an untrusted CA, and a collection of broken
 * files. Connections run in one thread over socketpair(AF_UNIX,
 * SOCK_STREAM|SOCK_NONBLOCK), each side pumped exactly as tls.h tells the
 * connection layer to, and after every pump the epoll interest is checked
 * against BearSSL's engine state.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "collab/buf.h"
#include "collab/common.h"
#include "collab/tls.h"
#include "testutil.h"

static char dir[64];

static const char *path(const char *name)
{
	static char bufs[4][256];
	static int next;
	char *b = bufs[next++ & 3];

	snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
	return b;
}

/* The whole PKI, built once before the tests fork. */
static const char pki_script[] =
	"set -e\n"
	"cd \"$1\"\n"
	"q() { \"$@\" >/dev/null 2>&1; }\n"
	"printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n"
	"basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature,keyEncipherment\\n"
	"extendedKeyUsage=serverAuth\\n' > leaf.ext\n"
	"sed 's/IP:127.0.0.1/IP:127.0.0.1,IP:::1/' leaf.ext > leaf6.ext\n"
	"printf 'basicConstraints=critical,CA:TRUE,pathlen:0\\n"
	"keyUsage=critical,keyCertSign,cRLSign\\n' > int.ext\n"
	"CA='-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign'\n"
	"q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=collab test root' $CA\n"
	"q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil.key -out evil.pem -days 2 -subj '/CN=untrusted root' $CA\n"
	/* RSA leaf straight from the root */
	"q openssl req -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj '/CN=localhost'\n"
	"q openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out rsa.pem -days 2 -extfile leaf.ext\n"
	/* EC leaf under an EC intermediate: the chain file holds both */
	"q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key -out int.csr -subj '/CN=collab test intermediate'\n"
	"q openssl x509 -req -in int.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out int.pem -days 2 -extfile int.ext\n"
	"q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.csr -subj '/CN=localhost'\n"
	"q openssl x509 -req -in ec.csr -CA int.pem -CAkey int.key -CAcreateserial -out ec_leaf.pem -days 2 -extfile leaf.ext\n"
	"cat ec_leaf.pem int.pem > ec.pem\n"
	/* EC leaf straight from the root */
	"q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec1.key -out ec1.csr -subj '/CN=localhost'\n"
	"q openssl x509 -req -in ec1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ec1.pem -days 2 -extfile leaf6.ext\n"
	/* a localhost certificate from a root the client does not trust */
	"q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evilsrv.key -out evilsrv.csr -subj '/CN=localhost'\n"
	"q openssl x509 -req -in evilsrv.csr -CA evil.pem -CAkey evil.key -CAcreateserial -out evilsrv.pem -days 2 -extfile leaf.ext\n"
	/* other encodings of the same keys */
	"q openssl rsa -in rsa.key -traditional -out rsa_pkcs1.key\n"
	"q openssl ec -in ec1.key -out ec1_sec1.key\n"
	"q openssl pkey -in ec1.key -aes256 -passout pass:secret -out enc.key\n"
	"q openssl rsa -in rsa.key -aes256 -traditional -passout pass:secret -out legacy_enc.key\n"
	"cat rsa.pem rsa.key > combined.pem\n"
	"cat rsa.key ec1.key > twokeys.key\n"
	"cat ca.pem evil.pem > two_cas.pem\n"
	/* keys BearSSL cannot use */
	"q openssl req -x509 -newkey ed25519 -nodes -keyout ed.key -out ed.pem -days 2 -subj '/CN=localhost'\n"
	"q openssl ecparam -name secp256k1 -genkey -noout -out k1.key\n"
	"q openssl req -x509 -key k1.key -out k1.pem -days 2 -subj '/CN=localhost'\n"
	/* broken files */
	": > empty.pem\n"
	"head -c 3000 /dev/urandom > garbage.bin\n"
	"printf 'hello\\nthis is not PEM\\n' > text.pem\n"
	"head -n 5 rsa.pem > truncated.pem\n"
	"printf -- '-----BEGIN CERTIFICATE-----\\nMII*not base64*\\n-----END CERTIFICATE-----\\n' > badb64.pem\n"
	"printf -- '-----BEGIN CERTIFICATE-----\\nAAECAwQFBgcICQ==\\n-----END CERTIFICATE-----\\n' > badder.pem\n"
	"printf -- '-----BEGIN PRIVATE KEY-----\\nAAECAwQFBgcICQ==\\n-----END PRIVATE KEY-----\\n' > badkey.key\n"
	"cat ec_leaf.pem badder.pem > badchain.pem\n"
	"printf -- '-----BEGIN CERTIFICATE-----\\n-----END CERTIFICATE-----\\n' > emptyobj.pem\n"
	"mkdir adir\n"
	"q openssl x509 -in rsa.pem -outform DER -out rsa.der\n"
	"q openssl x509 -in ec1.pem -outform DER -out ec1.der\n"
	"q openssl x509 -in ca.pem -outform DER -out ca.der\n";

static int make_pki(void)
{
	char script[300];
	char cmd[400];
	FILE *f;
	int rc;

	snprintf(script, sizeof script, "%s/pki.sh", dir);
	f = fopen(script, "w");
	if (f == NULL)
		return -1;
	fputs(pki_script, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "sh '%s' '%s'", script, dir);
	rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

static void remove_pki(void)
{
	char cmd[128];

	if (dir[0] == '\0')
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "check_tls: could not remove %s\n", dir);
}

/* Reads a fixture into a growable buffer (freed by the caller). */
static struct collab_buf slurp(const char *name)
{
	struct collab_buf b;
	FILE *f = fopen(path(name), "rb");
	uint8_t chunk[4096];
	size_t n;

	collab_buf_init(&b, NULL, 0);
	ck_assert_ptr_nonnull(f);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		ck_assert_int_eq(collab_buf_append(&b, chunk, n), 0);
	fclose(f);
	return b;
}

/* ---- an allocator that fails on demand and counts what is live -------- */

struct fail_alloc {
	long countdown;   /* fail when it reaches 0; negative: never */
	size_t live;
	size_t calls;
};

static void *fa_alloc(void *ctx, size_t n)
{
	struct fail_alloc *fa = ctx;

	fa->calls++;
	if (fa->countdown == 0)
		return NULL;
	if (fa->countdown > 0)
		fa->countdown--;
	fa->live += n;
	return malloc(n);
}

static void fa_free(void *ctx, void *p, size_t n)
{
	struct fail_alloc *fa = ctx;

	if (p == NULL)
		return;
	ck_assert_uint_ge(fa->live, n);
	fa->live -= n;
	free(p);
}

/* ---- loading: table of good and bad files ------------------------------ */

struct load_case {
	const char *name;
	const char *cert, *key;
	int rc;
	const char *why;      /* expected collab_tls_server_why(), or NULL */
	int key_type;
	size_t chain_len;
	int sys_errno;        /* expected errno for COLLAB_EIO */
};

static const struct load_case load_cases[] = {
	{ "rsa pkcs8", "rsa.pem", "rsa.key", 0, "", BR_KEYTYPE_RSA, 1, 0 },
	{ "rsa pkcs1", "rsa.pem", "rsa_pkcs1.key", 0, "", BR_KEYTYPE_RSA, 1, 0 },
	{ "ec chain pkcs8", "ec.pem", "ec.key", 0, "", BR_KEYTYPE_EC, 2, 0 },
	{ "ec sec1", "ec1.pem", "ec1_sec1.key", 0, "", BR_KEYTYPE_EC, 1, 0 },
	{ "cert and key in one file", "combined.pem", "combined.pem", 0, "",
	  BR_KEYTYPE_RSA, 1, 0 },
	{ "missing cert", "nonexistent.pem", "rsa.key", COLLAB_EIO,
	  "certificate file: cannot open", 0, 0, ENOENT },
	{ "missing key", "rsa.pem", "nonexistent.key", COLLAB_EIO,
	  "key file: cannot open", 0, 0, ENOENT },
	{ "cert is a directory", "adir", "rsa.key", COLLAB_EIO,
	  "certificate file: read failed", 0, 0, EISDIR },
	{ "empty cert", "empty.pem", "rsa.key", COLLAB_ENOTFOUND,
	  "certificate file: no CERTIFICATE object", 0, 0, 0 },
	{ "binary garbage cert", "garbage.bin", "rsa.key", COLLAB_ENOTFOUND,
	  "certificate file: no CERTIFICATE object", 0, 0, 0 },
	{ "text cert", "text.pem", "rsa.key", COLLAB_ENOTFOUND,
	  "certificate file: no CERTIFICATE object", 0, 0, 0 },
	{ "truncated PEM", "truncated.pem", "rsa.key", COLLAB_ESYNTAX,
	  "certificate file: malformed PEM", 0, 0, 0 },
	{ "bad base64", "badb64.pem", "rsa.key", COLLAB_ESYNTAX,
	  "certificate file: malformed PEM", 0, 0, 0 },
	{ "bad DER", "badder.pem", "rsa.key", COLLAB_ESYNTAX,
	  "certificate file: malformed certificate", 0, 0, 0 },
	{ "empty object", "emptyobj.pem", "rsa.key", COLLAB_ESYNTAX,
	  "certificate file: malformed certificate", 0, 0, 0 },
	{ "bad chain DER", "badchain.pem", "ec.key", COLLAB_ESYNTAX,
	  "certificate file: malformed chain certificate", 0, 0, 0 },
	{ "key file holds a cert", "rsa.pem", "rsa.pem", COLLAB_ENOTFOUND,
	  "key file: no PRIVATE KEY object", 0, 0, 0 },
	{ "empty key", "rsa.pem", "empty.pem", COLLAB_ENOTFOUND,
	  "key file: no PRIVATE KEY object", 0, 0, 0 },
	{ "bad key DER", "rsa.pem", "badkey.key", COLLAB_ESYNTAX,
	  "key file: malformed private key", 0, 0, 0 },
	{ "rsa key of another cert", "rsa.pem", "ca.key", COLLAB_EINVAL,
	  "key file: private key does not match the certificate", 0, 0, 0 },
	{ "ec key for rsa cert", "rsa.pem", "ec.key", COLLAB_EINVAL,
	  "key file: private key does not match the certificate", 0, 0, 0 },
	{ "ec key of another cert", "ec.pem", "evilsrv.key", COLLAB_EINVAL,
	  "key file: private key does not match the certificate", 0, 0, 0 },
	{ "rsa key for ec cert", "ec.pem", "rsa.key", COLLAB_EINVAL,
	  "key file: private key does not match the certificate", 0, 0, 0 },
	{ "encrypted key", "ec1.pem", "enc.key", COLLAB_ETYPE,
	  "key file: encrypted private keys are not supported", 0, 0, 0 },
	{ "legacy encrypted key", "rsa.pem", "legacy_enc.key", COLLAB_ESYNTAX,
	  "key file: malformed PEM", 0, 0, 0 },
	{ "two keys", "rsa.pem", "twokeys.key", COLLAB_EINVAL,
	  "key file: more than one private key", 0, 0, 0 },
	{ "ed25519", "ed.pem", "ed.key", COLLAB_ETYPE, NULL, 0, 0, 0 },
	{ "secp256k1", "k1.pem", "k1.key", COLLAB_ETYPE, NULL, 0, 0, 0 },
};

START_TEST(test_server_load)
{
	const struct load_case *lc = &load_cases[_i];
	struct fail_alloc fa = { -1, 0, 0 };
	struct collab_alloc a = { fa_alloc, fa_free, &fa };
	struct collab_tls_server srv;
	int rc;

	errno = 0;
	rc = collab_tls_server_load(&srv, NULL, path(lc->cert), path(lc->key),
				    &a);
	ck_assert_msg(rc == lc->rc, "%s: rc %d (%s), want %d", lc->name, rc,
		      collab_tls_server_why(&srv), lc->rc);
	if (lc->why)
		ck_assert_str_eq(collab_tls_server_why(&srv), lc->why);
	else
		ck_assert_str_ne(collab_tls_server_why(&srv), "");
	if (lc->rc == COLLAB_EIO)
		ck_assert_int_eq(errno, lc->sys_errno);
	if (rc == 0) {
		ck_assert_int_eq(srv.key_type, lc->key_type);
		ck_assert_uint_eq(srv.chain_len, lc->chain_len);
		/* default cache: 1024 entries of 100 bytes */
		ck_assert_uint_eq(srv.cache_bytes, 102400);
	}
	collab_tls_server_free(&srv);
	collab_tls_server_free(&srv);
	ck_assert_uint_eq(fa.live, 0);
}
END_TEST

START_TEST(test_server_load_limits)
{
	struct collab_tls_config cfg;
	struct collab_tls_server srv;

	collab_tls_config_init(&cfg);
	cfg.max_chain_certs = 1;
	ck_assert_int_eq(collab_tls_server_load(&srv, &cfg, path("ec.pem"),
		path("ec.key"), NULL), COLLAB_ELIMIT);
	ck_assert_str_eq(collab_tls_server_why(&srv),
		"certificate file: more certificates than max_chain_certs");
	cfg.max_chain_certs = 2;
	ck_assert_int_eq(collab_tls_server_load(&srv, &cfg, path("ec.pem"),
		path("ec.key"), NULL), 0);
	collab_tls_server_free(&srv);

	collab_tls_config_init(&cfg);
	cfg.max_file_bytes = 100;
	ck_assert_int_eq(collab_tls_server_load(&srv, &cfg, path("rsa.pem"),
		path("rsa.key"), NULL), COLLAB_ELIMIT);
	ck_assert_str_eq(collab_tls_server_why(&srv),
		"certificate file: larger than max_file_bytes");

	/* bad configurations */
	collab_tls_config_init(&cfg);
	cfg.out_buf_bytes = COLLAB_TLS_OUT_BUF_MIN - 1;
	ck_assert_int_eq(collab_tls_server_load(&srv, &cfg, path("rsa.pem"),
		path("rsa.key"), NULL), COLLAB_EINVAL);
	collab_tls_config_init(&cfg);
	cfg.out_buf_bytes = BR_SSL_BUFSIZE_OUTPUT + 1;
	ck_assert_int_eq(collab_tls_server_load(&srv, &cfg, path("rsa.pem"),
		path("rsa.key"), NULL), COLLAB_EINVAL);
	collab_tls_config_init(&cfg);
	cfg.max_syscalls = 0;
	ck_assert_int_eq(collab_tls_server_load(&srv, &cfg, path("rsa.pem"),
		path("rsa.key"), NULL), COLLAB_EINVAL);
	collab_tls_config_init(&cfg);
	cfg.session_cache_entries = SIZE_MAX / 50;
	ck_assert_int_eq(collab_tls_server_load(&srv, &cfg, path("rsa.pem"),
		path("rsa.key"), NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_tls_server_load(&srv, NULL, NULL,
		path("rsa.key"), NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_tls_server_load_mem(&srv, NULL, NULL, 1,
		NULL, 0, NULL), COLLAB_EINVAL);
	ck_assert_str_eq(collab_tls_server_why(&srv), "invalid argument");

	/* a file of exactly the limit is read, one byte more is refused */
	{
		struct collab_buf b = slurp("rsa.pem");

		collab_tls_config_init(&cfg);
		cfg.max_file_bytes = b.len;
		/* the key file is bigger than the cert: give it room via
		 * the combined file, which holds the key after the cert */
		ck_assert_int_eq(collab_tls_server_load(&srv, &cfg,
			path("rsa.pem"), path("rsa.pem"), NULL),
			COLLAB_ENOTFOUND);
		ck_assert_str_eq(collab_tls_server_why(&srv),
				 "key file: no PRIVATE KEY object");
		cfg.max_file_bytes = b.len - 1;
		ck_assert_int_eq(collab_tls_server_load(&srv, &cfg,
			path("rsa.pem"), path("rsa.pem"), NULL),
			COLLAB_ELIMIT);
		collab_buf_free(&b);
	}
}
END_TEST

/* Every allocation failure is reported as COLLAB_ENOMEM and leaks
 * nothing; the run that fails nothing loads. */
START_TEST(test_load_enomem)
{
	static const char *const files[][2] = {
		{ "rsa.pem", "rsa.key" }, { "ec.pem", "ec.key" },
	};
	long n;
	size_t f;

	for (f = 0; f < ARRAY_LEN(files); f++) {
		for (n = 0;; n++) {
			struct fail_alloc fa = { n, 0, 0 };
			struct collab_alloc a = { fa_alloc, fa_free, &fa };
			struct collab_tls_server srv;
			int rc = collab_tls_server_load(&srv, NULL,
				path(files[f][0]), path(files[f][1]), &a);

			if (rc == 0) {
				collab_tls_server_free(&srv);
				ck_assert_uint_eq(fa.live, 0);
				break;
			}
			ck_assert_int_eq(rc, COLLAB_ENOMEM);
			ck_assert_str_eq(collab_tls_server_why(&srv),
					 "out of memory");
			collab_tls_server_free(&srv);
			ck_assert_uint_eq(fa.live, 0);
		}
		ck_assert_int_gt(n, 2);
	}
	for (n = 0;; n++) {
		struct fail_alloc fa = { n, 0, 0 };
		struct collab_alloc a = { fa_alloc, fa_free, &fa };
		struct collab_tls_client cli;
		int rc = collab_tls_client_load(&cli, NULL, path("two_cas.pem"),
						&a);

		collab_tls_client_free(&cli);
		ck_assert_uint_eq(fa.live, 0);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, COLLAB_ENOMEM);
	}
	ck_assert_int_gt(n, 2);
}
END_TEST

struct ca_case {
	const char *name;
	const char *file;
	int rc;
	size_t anchors, skipped;
	const char *why;
};

static const struct ca_case ca_cases[] = {
	{ "one root", "ca.pem", 0, 1, 0, "" },
	{ "two roots", "two_cas.pem", 0, 2, 0, "" },
	{ "chain file", "ec.pem", 0, 2, 0, "" },
	{ "ed25519 skipped", "ed.pem", COLLAB_ENOTFOUND, 0, 0,
	  "CA file: no usable CERTIFICATE object" },
	{ "missing", "nonexistent.pem", COLLAB_EIO, 0, 0,
	  "CA file: cannot open" },
	{ "empty", "empty.pem", COLLAB_ENOTFOUND, 0, 0,
	  "CA file: no usable CERTIFICATE object" },
	{ "garbage", "garbage.bin", COLLAB_ENOTFOUND, 0, 0,
	  "CA file: no usable CERTIFICATE object" },
	{ "truncated", "truncated.pem", COLLAB_ESYNTAX, 0, 0,
	  "CA file: malformed PEM" },
	{ "bad DER", "badder.pem", COLLAB_ESYNTAX, 0, 0,
	  "CA file: malformed certificate" },
	{ "key only", "rsa.key", COLLAB_ENOTFOUND, 0, 0,
	  "CA file: no usable CERTIFICATE object" },
};

START_TEST(test_client_load)
{
	const struct ca_case *cc = &ca_cases[_i];
	struct fail_alloc fa = { -1, 0, 0 };
	struct collab_alloc a = { fa_alloc, fa_free, &fa };
	struct collab_tls_client cli;
	int rc;

	rc = collab_tls_client_load(&cli, NULL, path(cc->file), &a);
	ck_assert_msg(rc == cc->rc, "%s: rc %d (%s)", cc->name, rc,
		      collab_tls_client_why(&cli));
	ck_assert_str_eq(collab_tls_client_why(&cli), cc->why);
	ck_assert_uint_eq(collab_tls_client_anchors(&cli), cc->anchors);
	if (rc == 0)
		ck_assert_uint_eq(collab_tls_client_skipped(&cli), cc->skipped);
	collab_tls_client_free(&cli);
	collab_tls_client_free(&cli);
	ck_assert_uint_eq(fa.live, 0);
}
END_TEST

START_TEST(test_client_load_misc)
{
	struct collab_tls_config cfg;
	struct collab_tls_client cli;
	struct collab_buf ed = slurp("ed.pem"), ca = slurp("ca.pem");

	/* an unusable certificate beside a usable one is skipped */
	ck_assert_int_eq(collab_buf_append(&ed, ca.p, ca.len), 0);
	ck_assert_int_eq(collab_tls_client_load_mem(&cli, NULL, ed.p, ed.len,
						    NULL), 0);
	ck_assert_uint_eq(collab_tls_client_anchors(&cli), 1);
	ck_assert_uint_eq(collab_tls_client_skipped(&cli), 1);
	collab_tls_client_free(&cli);

	collab_tls_config_init(&cfg);
	cfg.max_trust_anchors = 1;
	ck_assert_int_eq(collab_tls_client_load(&cli, &cfg,
		path("two_cas.pem"), NULL), COLLAB_ELIMIT);
	ck_assert_str_eq(collab_tls_client_why(&cli),
		"CA file: more certificates than max_trust_anchors");
	cfg.max_syscalls = 0;
	ck_assert_int_eq(collab_tls_client_load(&cli, &cfg, path("ca.pem"),
						NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_tls_client_load_mem(&cli, NULL, NULL, 3,
						    NULL), COLLAB_EINVAL);

	/* the system bundle, where the machine has one */
	if (access(COLLAB_TLS_SYSTEM_CA_FILE, R_OK) == 0) {
		ck_assert_int_eq(collab_tls_client_load(&cli, NULL, NULL,
							NULL), 0);
		ck_assert_uint_gt(collab_tls_client_anchors(&cli), 50);
		collab_tls_client_free(&cli);
	}
	collab_buf_free(&ed);
	collab_buf_free(&ca);
}
END_TEST

/* Offset just past the first (or last) "-----END " in b: BearSSL ends an
 * object there once the line ends, and the loader ends the input with a
 * newline. */
static size_t end_banner(const struct collab_buf *b, int last)
{
	static const char end[] = "-----END ";
	size_t i, found = 0;

	for (i = 0; i + sizeof end - 1 <= b->len; i++) {
		if (memcmp(b->p + i, end, sizeof end - 1) == 0) {
			found = i + sizeof end - 1;
			if (!last)
				break;
		}
	}
	ck_assert_uint_gt(found, 0);
	return found;
}

/* The in-memory loaders read their inputs from buffers that end on a
 * guard page, whole and cut at every length: never past the end, and a
 * cut file loads only when the cut leaves complete objects (a cut after
 * the leaf leaves a valid one-certificate chain). */
START_TEST(test_load_mem_guard)
{
	struct collab_buf cert = slurp("ec.pem"), key = slurp("ec.key");
	struct collab_buf leaf = slurp("ec_leaf.pem");
	struct guard_buf gk = guard_copy(key.p, key.len);
	struct collab_tls_server srv;
	struct collab_tls_client cli;
	size_t len, end1 = end_banner(&cert, 0), end2 = end_banner(&cert, 1);
	size_t endk = end_banner(&key, 0);

	for (len = 0; len <= cert.len; len++) {
		struct guard_buf gc = guard_copy(cert.p, len);
		int rc = collab_tls_server_load_mem(&srv, NULL, gc.p, len,
						    gk.p, gk.len, NULL);

		if (len < end1) {
			ck_assert_msg(rc == COLLAB_ENOTFOUND
				      || rc == COLLAB_ESYNTAX,
				      "len %zu: rc %d", len, rc);
		} else if (len <= leaf.len) {
			ck_assert_msg(rc == 0, "len %zu: rc %d", len, rc);
			ck_assert_uint_eq(srv.chain_len, 1);
		} else if (len < end2) {
			ck_assert_msg(rc == COLLAB_ESYNTAX
				      || (rc == 0 && srv.chain_len == 1),
				      "len %zu: rc %d", len, rc);
		} else {
			ck_assert_msg(rc == 0, "len %zu: rc %d", len, rc);
			ck_assert_uint_eq(srv.chain_len, 2);
		}
		collab_tls_server_free(&srv);
		rc = collab_tls_client_load_mem(&cli, NULL, gc.p, len, NULL);
		if (len < end1)
			ck_assert(rc == COLLAB_ENOTFOUND
				  || rc == COLLAB_ESYNTAX);
		else if (len >= end2)
			ck_assert_uint_eq(collab_tls_client_anchors(&cli), 2);
		collab_tls_client_free(&cli);
		guard_free(&gc);
	}
	for (len = 0; len <= key.len; len++) {
		struct guard_buf gc = guard_copy(cert.p, cert.len);
		struct guard_buf gk2 = guard_copy(key.p, len);
		int rc = collab_tls_server_load_mem(&srv, NULL, gc.p, gc.len,
						    gk2.p, len, NULL);

		if (len < endk)
			ck_assert_msg(rc == COLLAB_ENOTFOUND
				      || rc == COLLAB_ESYNTAX,
				      "key len %zu: rc %d", len, rc);
		else
			ck_assert_msg(rc == 0, "key len %zu: rc %d", len, rc);
		collab_tls_server_free(&srv);
		guard_free(&gc);
		guard_free(&gk2);
	}
	guard_free(&gk);
	collab_buf_free(&cert);
	collab_buf_free(&key);
	collab_buf_free(&leaf);
}
END_TEST

/* ---- connections -------------------------------------------------------- */

/* One end of a test connection, pumped as tls.h prescribes. */
struct side {
	struct collab_tls_conn c;
	int fd;
	struct collab_buf in;     /* plaintext received */
	size_t in_limit;          /* the "parser" takes at most this much */
	const uint8_t *out;       /* plaintext to send */
	size_t out_len, out_off;
	size_t chunk;             /* largest send_app call */
	unsigned pumps;
};

/* The interest the engine's state implies (tls.h): read iff RECVREC,
 * write iff SENDREC, nothing once closed. */
static unsigned expected_want(const struct collab_tls_conn *c)
{
	unsigned st, w = 0;

	if (collab_tls_error(c) != 0
	    || collab_tls_state(c) == COLLAB_TLS_CLOSED)
		return 0;
	st = br_ssl_engine_current_state(c->eng);
	if (st & BR_SSL_CLOSED)
		return 0;
	if (st & BR_SSL_RECVREC)
		w |= COLLAB_TLS_WANT_READ;
	if (st & BR_SSL_SENDREC)
		w |= COLLAB_TLS_WANT_WRITE;
	return w;
}

static void check_want(const struct side *s)
{
	ck_assert_uint_eq(collab_tls_want(&s->c), expected_want(&s->c));
}

/* One pump turn; returns non-zero if anything moved. */
static int pump(struct side *s)
{
	size_t before_in = s->in.len, before_out = s->out_off;
	unsigned want_before = collab_tls_want(&s->c);
	const uint8_t *p;
	size_t n, taken;
	int rc;

	s->pumps++;
	rc = collab_tls_flush_socket(&s->c, s->fd);
	check_want(s);
	while (collab_tls_recv_app(&s->c, &p, &n) == 0 && n > 0) {
		size_t room = s->in_limit - s->in.len;
		size_t use = n < room ? n : room;

		if (use == 0)
			break;
		ck_assert_int_eq(collab_buf_append(&s->in, p, use), 0);
		collab_tls_recv_ack(&s->c, use);
		check_want(s);
		if (use < n)
			break;
	}
	while (s->out_off < s->out_len) {
		size_t want = s->out_len - s->out_off;

		if (want > s->chunk)
			want = s->chunk;
		rc = collab_tls_send_app(&s->c, s->out + s->out_off, want,
					 &taken);
		check_want(s);
		if (rc != 0 || taken == 0)
			break;
		ck_assert_uint_le(taken, want);
		s->out_off += taken;
	}
	collab_tls_flush_app(&s->c);
	check_want(s);
	collab_tls_flush_socket(&s->c, s->fd);
	check_want(s);
	collab_tls_fill_socket(&s->c, s->fd);
	check_want(s);
	(void)rc;
	return s->in.len != before_in || s->out_off != before_out
		|| collab_tls_want(&s->c) != want_before;
}

/* Pumps both sides until done(a, b) or nothing moves for a while. */
static int run(struct side *a, struct side *b,
	       int (*done)(const struct side *, const struct side *))
{
	unsigned i, idle = 0;

	for (i = 0; i < 200000; i++) {
		int moved;

		if (done(a, b))
			return 1;
		moved = pump(a);
		moved |= pump(b);
		idle = moved ? 0 : idle + 1;
		if (idle > 50)
			return done(a, b);
	}
	return 0;
}

static int both_handshaken(const struct side *a, const struct side *b)
{
	return (collab_tls_handshake_done(&a->c)
		&& collab_tls_handshake_done(&b->c)
		&& collab_tls_want(&a->c) != (COLLAB_TLS_WANT_READ
					       | COLLAB_TLS_WANT_WRITE))
		|| collab_tls_error(&a->c) || collab_tls_error(&b->c);
}

static int any_error(const struct side *a, const struct side *b)
{
	return collab_tls_error(&a->c) || collab_tls_error(&b->c);
}

static int all_data(const struct side *a, const struct side *b)
{
	return (a->out_off == a->out_len && b->out_off == b->out_len
		&& a->in.len == b->out_len && b->in.len == a->out_len)
		|| any_error(a, b);
}

static int both_closed(const struct side *a, const struct side *b)
{
	return (collab_tls_state(&a->c) == COLLAB_TLS_CLOSED
		&& collab_tls_state(&b->c) == COLLAB_TLS_CLOSED
		&& collab_tls_want(&a->c) == 0 && collab_tls_want(&b->c) == 0)
		|| any_error(a, b);
}

static void side_init(struct side *s, int fd)
{
	memset(s, 0, sizeof *s);
	s->fd = fd;
	collab_buf_init(&s->in, NULL, 0);
	s->in_limit = SIZE_MAX;
	s->chunk = SIZE_MAX;
}

static void side_free(struct side *s)
{
	collab_tls_conn_free(&s->c);
	collab_buf_free(&s->in);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* A connected pair: srv is the server side, cl the client. */
static void pair_open(struct side *srv, struct side *cl,
		      struct collab_tls_server *server,
		      struct collab_tls_client *client, const char *host,
		      const struct collab_tls_session *resume)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	side_init(srv, sv[0]);
	side_init(cl, sv[1]);
	ck_assert_int_eq(collab_tls_conn_init_server(&srv->c, server, NULL), 0);
	ck_assert_int_eq(collab_tls_conn_init_client(&cl->c, client, host,
						     strlen(host), resume,
						     NULL), 0);
	ck_assert_int_eq(collab_tls_state(&srv->c), COLLAB_TLS_HANDSHAKE);
	ck_assert_int_eq(collab_tls_state(&cl->c), COLLAB_TLS_HANDSHAKE);
	/* a fresh server waits for the ClientHello; a client has it to
	 * send, and (bidirectional buffer) could already receive */
	ck_assert_uint_eq(collab_tls_want(&srv->c), COLLAB_TLS_WANT_READ);
	ck_assert_uint_eq(collab_tls_want(&cl->c),
			  COLLAB_TLS_WANT_READ | COLLAB_TLS_WANT_WRITE);
}

static void pair_close(struct side *a, struct side *b)
{
	side_free(a);
	side_free(b);
}

static void load_server(struct collab_tls_server *srv, const char *cert,
			const char *key, const struct collab_tls_config *cfg)
{
	int rc = collab_tls_server_load(srv, cfg, path(cert), path(key), NULL);

	ck_assert_msg(rc == 0, "load %s: %s", cert, collab_tls_server_why(srv));
}

static void load_client(struct collab_tls_client *cli, const char *ca,
			const struct collab_tls_config *cfg)
{
	ck_assert_int_eq(collab_tls_client_load(cli, cfg, path(ca), NULL), 0);
}

static void handshake(struct side *srv, struct side *cl)
{
	ck_assert(run(srv, cl, both_handshaken));
	ck_assert_msg(!any_error(srv, cl), "server %d/%s client %d/%s",
		      collab_tls_error(&srv->c),
		      collab_tls_br_strerror(collab_tls_br_error(&srv->c)),
		      collab_tls_error(&cl->c),
		      collab_tls_br_strerror(collab_tls_br_error(&cl->c)));
	ck_assert_int_eq(collab_tls_state(&srv->c), COLLAB_TLS_OPEN);
	ck_assert_int_eq(collab_tls_state(&cl->c), COLLAB_TLS_OPEN);
	ck_assert_uint_eq(collab_tls_version(&srv->c), BR_TLS12);
	ck_assert_uint_eq(collab_tls_version(&cl->c), BR_TLS12);
	ck_assert_uint_eq(collab_tls_cipher_suite(&srv->c),
			  collab_tls_cipher_suite(&cl->c));
}

static uint8_t *pattern(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len ? len : 1);
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

struct conn_case {
	const char *name;
	const char *cert, *key;
	unsigned suite_rsa;       /* 1: expect ECDHE_RSA, 0: ECDHE_ECDSA */
	size_t out_buf;           /* 0: default */
	size_t chunk;
};

static const struct conn_case conn_cases[] = {
	{ "rsa", "rsa.pem", "rsa.key", 1, 0, SIZE_MAX },
	{ "ec chain", "ec.pem", "ec.key", 0, 0, SIZE_MAX },
	{ "ec", "ec1.pem", "ec1_sec1.key", 0, 0, 1000 },
	{ "rsa small out buffer", "rsa.pem", "rsa.key", 1, 4096 + 85, 7777 },
	{ "ec smallest out buffer", "ec.pem", "ec.key", 0,
	  COLLAB_TLS_OUT_BUF_MIN, SIZE_MAX },
};

static int is_suite(unsigned s, int rsa)
{
	if (rsa)
		return s == BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
			|| s == BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
			|| s == BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256;
	return s == BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
		|| s == BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
		|| s == BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256;
}

/* Handshake, small messages both ways, 1 MiB both ways at once in
 * chunks, then close_notify from the client. */
START_TEST(test_exchange)
{
	const struct conn_case *cc = &conn_cases[_i];
	struct collab_tls_config cfg;
	struct collab_tls_server server;
	struct collab_tls_client client;
	struct side s, c;
	const size_t big = (size_t)1 << 20;
	uint8_t *up = pattern(big, 1), *down = pattern(big, 2);
	struct collab_str sni;
	size_t taken;

	collab_tls_config_init(&cfg);
	if (cc->out_buf)
		cfg.out_buf_bytes = cc->out_buf;
	load_server(&server, cc->cert, cc->key, &cfg);
	load_client(&client, "ca.pem", &cfg);
	pair_open(&s, &c, &server, &client, "localhost", NULL);
	ck_assert_uint_eq(collab_tls_conn_mem(&s.c),
		(cc->out_buf ? BR_SSL_BUFSIZE_INPUT + cc->out_buf
		 : BR_SSL_BUFSIZE_BIDI) + sizeof(br_ssl_server_context) + 8);
	ck_assert_uint_eq(collab_tls_conn_mem(&c.c),
		(cc->out_buf ? BR_SSL_BUFSIZE_INPUT + cc->out_buf
		 : BR_SSL_BUFSIZE_BIDI) + sizeof(br_ssl_client_context)
		+ sizeof(br_x509_minimal_context) + 336);

	/* nothing can be sent before the handshake */
	ck_assert_int_eq(collab_tls_send_app(&c.c, "x", 1, &taken), 0);
	ck_assert_uint_eq(taken, 0);
	handshake(&s, &c);
	ck_assert(is_suite(collab_tls_cipher_suite(&s.c), (int)cc->suite_rsa));
	/* policy: TLS 1.2 only, and no renegotiation either way */
	ck_assert_uint_eq(s.c.eng->version_min, BR_TLS12);
	ck_assert_uint_eq(s.c.eng->version_max, BR_TLS12);
	ck_assert_uint_eq(c.c.eng->version_min, BR_TLS12);
	ck_assert_uint_eq(c.c.eng->version_max, BR_TLS12);
	ck_assert(br_ssl_engine_get_flags(s.c.eng) & BR_OPT_NO_RENEGOTIATION);
	ck_assert(br_ssl_engine_get_flags(c.c.eng) & BR_OPT_NO_RENEGOTIATION);
	ck_assert_int_eq(br_ssl_engine_renegotiate(s.c.eng), 0);
	ck_assert_int_eq(br_ssl_engine_renegotiate(c.c.eng), 0);
	ck_assert(!collab_tls_resumed(&s.c));
	ck_assert(!collab_tls_resumed(&c.c));
	sni = collab_tls_server_name(&s.c);
	ck_assert(collab_str_eq(sni, "localhost", 9));
	sni = collab_tls_server_name(&c.c);
	ck_assert(collab_str_eq(sni, "localhost", 9));

	/* small, both ways */
	s.out = (const uint8_t *)"hello from server";
	s.out_len = 17;
	c.out = (const uint8_t *)"hi";
	c.out_len = 2;
	ck_assert(run(&s, &c, all_data));
	ck_assert(!any_error(&s, &c));
	ck_assert_mem_eq(c.in.p, "hello from server", 17);
	ck_assert_mem_eq(s.in.p, "hi", 2);

	/* 1 MiB both ways at once */
	collab_buf_reset(&s.in);
	collab_buf_reset(&c.in);
	s.out = down;
	s.out_len = big;
	s.out_off = 0;
	s.chunk = cc->chunk;
	c.out = up;
	c.out_len = big;
	c.out_off = 0;
	c.chunk = cc->chunk;
	ck_assert(run(&s, &c, all_data));
	ck_assert(!any_error(&s, &c));
	ck_assert_uint_eq(c.in.len, big);
	ck_assert_uint_eq(s.in.len, big);
	ck_assert(memcmp(c.in.p, down, big) == 0);
	ck_assert(memcmp(s.in.p, up, big) == 0);

	/* close_notify from the client, answered by the server */
	s.out_len = s.out_off = c.out_len = c.out_off = 0;
	ck_assert_int_eq(collab_tls_close(&c.c), 0);
	ck_assert_int_eq(collab_tls_close(&c.c), 0);
	ck_assert_int_eq(collab_tls_state(&c.c), COLLAB_TLS_CLOSING);
	ck_assert_int_eq(collab_tls_send_app(&c.c, "x", 1, &taken),
			 COLLAB_ECLOSED);
	ck_assert(run(&s, &c, both_closed));
	ck_assert(!any_error(&s, &c));
	ck_assert_int_eq(collab_tls_br_error(&s.c), 0);
	ck_assert_int_eq(collab_tls_send_app(&s.c, "x", 1, &taken),
			 COLLAB_ECLOSED);
	ck_assert(collab_tls_handshake_done(&s.c));
	pair_close(&s, &c);
	collab_tls_client_free(&client);
	collab_tls_server_free(&server);
	free(up);
	free(down);
}
END_TEST

/* The server closes; data it queued before close_notify still arrives. */
START_TEST(test_server_close)
{
	struct collab_tls_server server;
	struct collab_tls_client client;
	struct side s, c;
	size_t taken;

	load_server(&server, "rsa.pem", "rsa.key", NULL);
	load_client(&client, "ca.pem", NULL);
	pair_open(&s, &c, &server, &client, "localhost", NULL);
	handshake(&s, &c);
	ck_assert_int_eq(collab_tls_send_app(&s.c, "bye", 3, &taken), 0);
	ck_assert_uint_eq(taken, 3);
	ck_assert_int_eq(collab_tls_close(&s.c), 0);
	ck_assert(run(&s, &c, both_closed));
	ck_assert(!any_error(&s, &c));
	ck_assert_uint_eq(c.in.len, 3);
	ck_assert_mem_eq(c.in.p, "bye", 3);
	pair_close(&s, &c);
	collab_tls_client_free(&client);
	collab_tls_server_free(&server);
}
END_TEST

/* A parser that takes one byte per pump: plaintext waits in the engine,
 * the engine stops asking for records (backpressure), nothing is lost. */
START_TEST(test_backpressure)
{
	struct collab_tls_server server;
	struct collab_tls_client client;
	struct side s, c;
	const size_t len = (size_t)4 << 20;
	uint8_t *data = pattern(len, 7);
	unsigned i;

	load_server(&server, "ec.pem", "ec.key", NULL);
	load_client(&client, "ca.pem", NULL);
	pair_open(&s, &c, &server, &client, "localhost", NULL);
	handshake(&s, &c);
	s.out = data;
	s.out_len = len;
	c.in_limit = 0;
	for (i = 0; i < 50; i++) {
		pump(&s);
		pump(&c);
	}
	/* the client holds a record of plaintext and reads no more */
	ck_assert_uint_eq(c.in.len, 0);
	ck_assert(!(collab_tls_want(&c.c) & COLLAB_TLS_WANT_READ));
	ck_assert_uint_lt(s.out_off, len);
	for (i = 0; c.in.len < len && i < 400000; i++) {
		c.in_limit = c.in.len + 1 + (i % 20000);
		pump(&s);
		pump(&c);
	}
	ck_assert(!any_error(&s, &c));
	ck_assert_uint_eq(c.in.len, len);
	ck_assert(memcmp(c.in.p, data, len) == 0);
	pair_close(&s, &c);
	collab_tls_client_free(&client);
	collab_tls_server_free(&server);
	free(data);
}
END_TEST

struct reject_case {
	const char *name;
	const char *cert, *key, *ca, *host;
	int client_br_err;
};

static const struct reject_case reject_cases[] = {
	{ "name mismatch", "rsa.pem", "rsa.key", "ca.pem", "example.com",
	  BR_ERR_X509_BAD_SERVER_NAME },
	{ "name mismatch ec", "ec.pem", "ec.key", "ca.pem", "localhost.evil",
	  BR_ERR_X509_BAD_SERVER_NAME },
	{ "untrusted root", "evilsrv.pem", "evilsrv.key", "ca.pem",
	  "localhost", BR_ERR_X509_NOT_TRUSTED },
	{ "intermediate missing from chain", "ec_leaf.pem", "ec.key", "ca.pem",
	  "localhost", BR_ERR_X509_NOT_TRUSTED },
};

START_TEST(test_reject)
{
	const struct reject_case *rc = &reject_cases[_i];
	struct collab_tls_server server;
	struct collab_tls_client client;
	struct side s, c;

	load_server(&server, rc->cert, rc->key, NULL);
	load_client(&client, rc->ca, NULL);
	pair_open(&s, &c, &server, &client, rc->host, NULL);
	ck_assert(run(&s, &c, any_error));
	ck_assert_int_eq(collab_tls_error(&c.c), COLLAB_ETLS);
	ck_assert_int_eq(collab_tls_br_error(&c.c), rc->client_br_err);
	ck_assert_int_eq(collab_tls_state(&c.c), COLLAB_TLS_FAILED);
	ck_assert_uint_eq(collab_tls_want(&c.c), 0);
	ck_assert(!collab_tls_handshake_done(&c.c));
	/* errors are sticky */
	ck_assert_int_eq(collab_tls_flush_socket(&c.c, c.fd), COLLAB_ETLS);
	ck_assert_int_eq(collab_tls_fill_socket(&c.c, c.fd), COLLAB_ETLS);
	ck_assert_int_eq(collab_tls_close(&c.c), COLLAB_ETLS);
	ck_assert_int_eq(collab_tls_flush_app(&c.c), COLLAB_ETLS);
	{
		const uint8_t *p;
		size_t n = 1, taken = 1;

		ck_assert_int_eq(collab_tls_recv_app(&c.c, &p, &n),
				 COLLAB_ETLS);
		ck_assert_ptr_null(p);
		ck_assert_uint_eq(n, 0);
		ck_assert_int_eq(collab_tls_send_app(&c.c, "x", 1, &taken),
				 COLLAB_ETLS);
		ck_assert_uint_eq(taken, 0);
	}
	/* the client's alert, or the closed socket, ends the server */
	close(c.fd);
	c.fd = -1;
	while (collab_tls_error(&s.c) == 0 && s.pumps < 100)
		pump(&s);
	ck_assert_int_ne(collab_tls_error(&s.c), 0);
	ck_assert_int_eq(collab_tls_state(&s.c), COLLAB_TLS_FAILED);
#ifdef PROBE
	fprintf(stderr, "%s: client %d %s; server %d %d %s\n", rc->name,
		collab_tls_br_error(&c.c),
		collab_tls_br_strerror(collab_tls_br_error(&c.c)),
		collab_tls_error(&s.c), collab_tls_br_error(&s.c),
		collab_tls_br_strerror(collab_tls_br_error(&s.c)));
#endif
	pair_close(&s, &c);
	collab_tls_client_free(&client);
	collab_tls_server_free(&server);
}
END_TEST

START_TEST(test_client_args)
{
	struct collab_tls_client client;
	struct collab_tls_server server;
	struct collab_tls_conn c;
	static const char *const bad[] = {
		"localhost:443", "", "fe80::1%eth0", "[localhost]", "[]",
		"[127.0.0.1]", "127.0.0.1:443", "[::1]:443", "local host",
		"h\xc3\xa9.example", "a/b", "[::1", "::1]",
	};
	char longname[300];
	size_t i;

	load_client(&client, "ca.pem", NULL);
	for (i = 0; i < ARRAY_LEN(bad); i++)
		ck_assert_int_eq(collab_tls_conn_init_client(&c, &client,
			bad[i], strlen(bad[i]), NULL, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_tls_conn_init_client(&c, &client, "a\0b", 3,
						     NULL, NULL),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_tls_conn_init_client(&c, &client,
			 "127.0.0.1\0x", 11, NULL, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_tls_conn_init_client(&c, &client,
			 "[::1\0]", 6, NULL, NULL), COLLAB_EINVAL);
	ck_assert_int_eq(collab_tls_conn_init_client(&c, &client, NULL, 0,
						     NULL, NULL),
			 COLLAB_EINVAL);
	memset(longname, 'a', sizeof longname);
	ck_assert_int_eq(collab_tls_conn_init_client(&c, &client, longname,
						     256, NULL, NULL),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_tls_conn_init_client(&c, &client, longname,
						     255, NULL, NULL), 0);
	ck_assert_uint_eq(collab_tls_server_name(&c).len, 255);
	collab_tls_conn_free(&c);
	collab_tls_conn_free(&c);
	ck_assert_uint_eq(collab_tls_conn_mem(&c), 0);
	ck_assert_int_eq(collab_tls_state(&c), COLLAB_TLS_FAILED);
	ck_assert_uint_eq(collab_tls_want(&c), 0);
	ck_assert_int_eq(collab_tls_flush_socket(&c, 0), COLLAB_EINVAL);
	collab_tls_client_free(&client);
	/* configurations not loaded */
	memset(&client, 0, sizeof client);
	ck_assert_int_eq(collab_tls_conn_init_client(&c, &client, "localhost",
						     9, NULL, NULL),
			 COLLAB_EINVAL);
	memset(&server, 0, sizeof server);
	ck_assert_int_eq(collab_tls_conn_init_server(&c, &server, NULL),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_tls_conn_init_server(&c, NULL, NULL),
			 COLLAB_EINVAL);
}
END_TEST

START_TEST(test_conn_enomem)
{
	struct collab_tls_server server;
	struct collab_tls_client client;
	struct fail_alloc fa = { 0, 0, 0 };
	struct collab_alloc a = { fa_alloc, fa_free, &fa };
	struct collab_tls_conn c;

	load_server(&server, "rsa.pem", "rsa.key", NULL);
	load_client(&client, "ca.pem", NULL);
	ck_assert_int_eq(collab_tls_conn_init_server(&c, &server, &a),
			 COLLAB_ENOMEM);
	ck_assert_int_eq(collab_tls_conn_init_client(&c, &client, "localhost",
						     9, NULL, &a),
			 COLLAB_ENOMEM);
	fa.countdown = -1;
	ck_assert_int_eq(collab_tls_conn_init_server(&c, &server, &a), 0);
	ck_assert_uint_eq(fa.live, collab_tls_conn_mem(&c));
	collab_tls_conn_free(&c);
	ck_assert_uint_eq(fa.live, 0);
	collab_tls_client_free(&client);
	collab_tls_server_free(&server);
}
END_TEST

/* Session resumption through the server's shared cache. */
START_TEST(test_resume)
{
	struct collab_tls_config cfg;
	struct collab_tls_server server, nocache;
	struct collab_tls_client client;
	struct collab_tls_session sess, again;
	struct side s, c;

	load_server(&server, "ec.pem", "ec.key", NULL);
	collab_tls_config_init(&cfg);
	cfg.session_cache_entries = 0;
	load_server(&nocache, "ec.pem", "ec.key", &cfg);
	load_client(&client, "ca.pem", NULL);
	memset(&sess, 0, sizeof sess);

	/* 1: full handshake; the client keeps the session */
	pair_open(&s, &c, &server, &client, "localhost", &sess);
	ck_assert_int_eq(collab_tls_session_save(&c.c, &sess), COLLAB_ESTATE);
	handshake(&s, &c);
	ck_assert(!collab_tls_resumed(&s.c));
	ck_assert(!collab_tls_resumed(&c.c));
	ck_assert_int_eq(collab_tls_session_save(&s.c, &sess), COLLAB_ESTATE);
	ck_assert_int_eq(collab_tls_session_save(&c.c, &sess), 0);
	ck_assert(sess.valid);
	ck_assert_uint_eq(sess.params.session_id_len, 32);
	pair_close(&s, &c);

	/* 2: the same host resumes: both ends say so, same session id */
	pair_open(&s, &c, &server, &client, "localhost", &sess);
	handshake(&s, &c);
	ck_assert(collab_tls_resumed(&s.c));
	ck_assert(collab_tls_resumed(&c.c));
	ck_assert_int_eq(collab_tls_session_save(&c.c, &again), 0);
	ck_assert_mem_eq(again.params.session_id, sess.params.session_id, 32);
	ck_assert_uint_eq(again.params.cipher_suite, sess.params.cipher_suite);
	/* and data still flows */
	s.out = (const uint8_t *)"resumed";
	s.out_len = 7;
	ck_assert(run(&s, &c, all_data));
	ck_assert_mem_eq(c.in.p, "resumed", 7);
	pair_close(&s, &c);

	/* 3: a session is never offered to another name */
	pair_open(&s, &c, &server, &client, "LOCALHOST", &sess);
	handshake(&s, &c);
	ck_assert(!collab_tls_resumed(&s.c));
	ck_assert(!collab_tls_resumed(&c.c));
	pair_close(&s, &c);

	/* 4: a server without a cache declines: full handshake */
	pair_open(&s, &c, &nocache, &client, "localhost", &sess);
	handshake(&s, &c);
	ck_assert(!collab_tls_resumed(&s.c));
	ck_assert(!collab_tls_resumed(&c.c));
	pair_close(&s, &c);

	collab_tls_session_clear(&sess);
	ck_assert(!sess.valid);
	collab_tls_session_clear(&again);
	collab_tls_client_free(&client);
	collab_tls_server_free(&server);
	collab_tls_server_free(&nocache);
}
END_TEST

/* TCP EOF: a truncation before our close_notify, clean after it. */
START_TEST(test_eof)
{
	struct collab_tls_server server;
	struct collab_tls_client client;
	struct side s, c;

	load_server(&server, "rsa.pem", "rsa.key", NULL);
	load_client(&client, "ca.pem", NULL);

	/* the client vanishes without close_notify */
	pair_open(&s, &c, &server, &client, "localhost", NULL);
	handshake(&s, &c);
	close(c.fd);
	c.fd = -1;
	ck_assert_uint_eq(collab_tls_want(&s.c), COLLAB_TLS_WANT_READ);
	ck_assert_int_eq(collab_tls_fill_socket(&s.c, s.fd), COLLAB_ECLOSED);
	ck_assert_int_eq(collab_tls_error(&s.c), COLLAB_ECLOSED);
	ck_assert_int_eq(collab_tls_state(&s.c), COLLAB_TLS_FAILED);
	ck_assert_uint_eq(collab_tls_want(&s.c), 0);
	pair_close(&s, &c);

	/* the server closes, the client drops TCP without answering */
	pair_open(&s, &c, &server, &client, "localhost", NULL);
	handshake(&s, &c);
	ck_assert_int_eq(collab_tls_close(&s.c), 0);
	ck_assert_uint_eq(collab_tls_want(&s.c),
			  COLLAB_TLS_WANT_READ | COLLAB_TLS_WANT_WRITE);
	ck_assert_int_eq(collab_tls_flush_socket(&s.c, s.fd), 0);
	ck_assert_uint_eq(collab_tls_want(&s.c), COLLAB_TLS_WANT_READ);
	{
		/* the peer reads the close_notify (closing with unread
		 * data would reset the connection instead) */
		uint8_t sink[256];

		ck_assert_int_gt(read(c.fd, sink, sizeof sink), 0);
	}
	close(c.fd);
	c.fd = -1;
	ck_assert_int_eq(collab_tls_fill_socket(&s.c, s.fd), 0);
	ck_assert_int_eq(collab_tls_error(&s.c), 0);
	ck_assert_int_eq(collab_tls_state(&s.c), COLLAB_TLS_CLOSED);
	ck_assert_uint_eq(collab_tls_want(&s.c), 0);
	pair_close(&s, &c);

	/* a client that gives up during the handshake: its ClientHello and
	 * close_notify go out, and BearSSL ends both sides cleanly */
	pair_open(&s, &c, &server, &client, "localhost", NULL);
	ck_assert_int_eq(collab_tls_close(&c.c), 0);
	ck_assert_int_eq(collab_tls_state(&c.c), COLLAB_TLS_CLOSING);
	ck_assert(run(&s, &c, both_closed));
	ck_assert(!any_error(&s, &c));
	ck_assert(!collab_tls_handshake_done(&s.c));
	ck_assert_uint_eq(collab_tls_version(&s.c), 0);
	ck_assert_uint_eq(collab_tls_cipher_suite(&s.c), 0);
	pair_close(&s, &c);

	/* EOF in the middle of the handshake */
	pair_open(&s, &c, &server, &client, "localhost", NULL);
	ck_assert_int_eq(collab_tls_flush_socket(&c.c, c.fd), 0);
	close(c.fd);
	c.fd = -1;
	ck_assert_int_eq(collab_tls_fill_socket(&s.c, s.fd), COLLAB_ECLOSED);
	pair_close(&s, &c);

	/* a peer that reset the connection: send() fails */
	pair_open(&s, &c, &server, &client, "localhost", NULL);
	close(s.fd);
	s.fd = -1;
	ck_assert_int_eq(collab_tls_flush_socket(&c.c, c.fd), COLLAB_EIO);
	ck_assert_int_eq(collab_tls_sys_errno(&c.c), EPIPE);
	ck_assert_int_eq(collab_tls_state(&c.c), COLLAB_TLS_FAILED);
	pair_close(&s, &c);

	collab_tls_client_free(&client);
	collab_tls_server_free(&server);
}
END_TEST

/* Bytes that are not TLS records fail the server with BearSSL's code. */
START_TEST(test_garbage)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct collab_tls_server server;
	struct collab_tls_conn c;
	int sv[2];

	load_server(&server, "rsa.pem", "rsa.key", NULL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	ck_assert_int_eq(collab_tls_conn_init_server(&c, &server, NULL), 0);
	ck_assert_int_eq(collab_tls_fill_socket(&c, sv[0]), 0);
	ck_assert_int_eq(collab_tls_state(&c), COLLAB_TLS_HANDSHAKE);
	ck_assert_int_eq(write(sv[1], http, sizeof http - 1),
			 (ssize_t)sizeof http - 1);
	ck_assert_int_eq(collab_tls_fill_socket(&c, sv[0]), COLLAB_ETLS);
	ck_assert_int_eq(collab_tls_br_error(&c), BR_ERR_UNSUPPORTED_VERSION);
	ck_assert_str_eq(collab_tls_br_strerror(collab_tls_br_error(&c)),
			 "BR_ERR_UNSUPPORTED_VERSION");
	ck_assert_uint_eq(collab_tls_want(&c), 0);
	collab_tls_conn_free(&c);
	close(sv[0]);
	close(sv[1]);
	collab_tls_server_free(&server);
}
END_TEST

/* max_syscalls bounds every call: with a cap of 1, a 1 MiB transfer
 * takes many calls and reports COLLAB_TLS_MORE, and still completes. */
START_TEST(test_syscall_cap)
{
	struct collab_tls_config cfg;
	struct collab_tls_server server;
	struct collab_tls_client client;
	struct side s, c;
	const size_t big = (size_t)1 << 20;
	uint8_t *data = pattern(big, 3);
	int saw_more = 0;
	unsigned i;

	collab_tls_config_init(&cfg);
	cfg.max_syscalls = 1;
	load_server(&server, "ec1.pem", "ec1.key", &cfg);
	load_client(&client, "ca.pem", &cfg);
	pair_open(&s, &c, &server, &client, "localhost", NULL);
	handshake(&s, &c);
	c.out = data;
	c.out_len = big;
	/* one small record on the wire, then a 1-syscall fill */
	for (i = 0; i < 5; i++)
		pump(&c);
	for (i = 0; i < 100; i++) {
		int rc = collab_tls_fill_socket(&s.c, s.fd);
		const uint8_t *p;
		size_t n;

		ck_assert(rc == 0 || rc == COLLAB_TLS_MORE);
		saw_more |= rc == COLLAB_TLS_MORE;
		while (collab_tls_recv_app(&s.c, &p, &n) == 0 && n > 0) {
			ck_assert_int_eq(collab_buf_append(&s.in, p, n), 0);
			collab_tls_recv_ack(&s.c, n);
		}
	}
	ck_assert(saw_more);
	ck_assert(run(&s, &c, all_data));
	ck_assert(memcmp(s.in.p, data, big) == 0);
	pair_close(&s, &c);
	collab_tls_client_free(&client);
	collab_tls_server_free(&server);
	free(data);
}
END_TEST

START_TEST(test_strerror)
{
	ck_assert_str_eq(collab_tls_br_strerror(0), "BR_ERR_OK");
	ck_assert_str_eq(collab_tls_br_strerror(BR_ERR_BAD_MAC),
			 "BR_ERR_BAD_MAC");
	ck_assert_str_eq(collab_tls_br_strerror(BR_ERR_X509_NOT_TRUSTED),
			 "BR_ERR_X509_NOT_TRUSTED");
	ck_assert_str_eq(collab_tls_br_strerror(BR_ERR_RECV_FATAL_ALERT + 42),
			 "received fatal alert");
	ck_assert_str_eq(collab_tls_br_strerror(BR_ERR_SEND_FATAL_ALERT + 40),
			 "sent fatal alert");
	ck_assert_str_eq(collab_tls_br_strerror(1000), "unknown BearSSL error");
	ck_assert_str_eq(collab_tls_br_strerror(11), "unknown BearSSL error");
	ck_assert_str_eq(collab_tls_br_strerror(-1), "unknown BearSSL error");
}
END_TEST

/* ---- IP-address hosts ------------------------------------------------- */

struct ip_case {
	const char *name;
	const char *cert, *key, *host;
	int client_br_err;        /* 0: connects */
	size_t ip_cert_max;       /* 0: default */
};

static const struct ip_case ip_cases[] = {
	{ "ipv4 in SAN", "rsa.pem", "rsa.key", "127.0.0.1", 0, 0 },
	{ "ipv4 in SAN, ec chain", "ec.pem", "ec.key", "127.0.0.1", 0, 0 },
	{ "ipv6 in SAN", "ec1.pem", "ec1.key", "::1", 0, 0 },
	{ "ipv6 bracketed", "ec1.pem", "ec1.key", "[::1]", 0, 0 },
	{ "ipv4 not in SAN", "rsa.pem", "rsa.key", "127.0.0.2",
	  BR_ERR_X509_BAD_SERVER_NAME, 0 },
	{ "ipv6 not in SAN", "rsa.pem", "rsa.key", "[::1]",
	  BR_ERR_X509_BAD_SERVER_NAME, 0 },
	{ "ipv4-mapped is another address", "rsa.pem", "rsa.key",
	  "::ffff:127.0.0.1", BR_ERR_X509_BAD_SERVER_NAME, 0 },
	{ "certificate over ip_cert_max_bytes", "rsa.pem", "rsa.key",
	  "127.0.0.1", BR_ERR_X509_LIMIT_EXCEEDED, 100 },
	{ "untrusted chain still checked", "evilsrv.pem", "evilsrv.key",
	  "127.0.0.1", BR_ERR_X509_NOT_TRUSTED, 0 },
};

START_TEST(test_ip_host)
{
	const struct ip_case *ic = &ip_cases[_i];
	struct collab_tls_config cfg;
	struct collab_tls_server server;
	struct collab_tls_client client;
	struct collab_tls_session sess;
	struct side s, c;

	collab_tls_config_init(&cfg);
	if (ic->ip_cert_max)
		cfg.ip_cert_max_bytes = ic->ip_cert_max;
	load_server(&server, ic->cert, ic->key, NULL);
	load_client(&client, "ca.pem", &cfg);
	pair_open(&s, &c, &server, &client, ic->host, NULL);
	ck_assert(collab_str_eq(collab_tls_server_name(&c.c), ic->host,
				strlen(ic->host)));
	ck_assert_uint_eq(collab_tls_conn_mem(&c.c),
		BR_SSL_BUFSIZE_BIDI + sizeof(br_ssl_client_context)
		+ sizeof(br_x509_minimal_context) + 336
		+ cfg.ip_cert_max_bytes);
	if (ic->client_br_err == 0) {
		handshake(&s, &c);
		/* RFC 6066 3: no SNI for an address */
		ck_assert_uint_eq(collab_tls_server_name(&s.c).len, 0);
		s.out = (const uint8_t *)"ok";
		s.out_len = 2;
		ck_assert(run(&s, &c, all_data));
		ck_assert_mem_eq(c.in.p, "ok", 2);
		/* the session resumes for the same address */
		ck_assert_int_eq(collab_tls_session_save(&c.c, &sess), 0);
		pair_close(&s, &c);
		pair_open(&s, &c, &server, &client, ic->host, &sess);
		handshake(&s, &c);
		ck_assert(collab_tls_resumed(&c.c));
		ck_assert(collab_tls_resumed(&s.c));
		collab_tls_session_clear(&sess);
	} else {
		ck_assert(run(&s, &c, any_error));
		ck_assert_int_eq(collab_tls_error(&c.c), COLLAB_ETLS);
		ck_assert_int_eq(collab_tls_br_error(&c.c), ic->client_br_err);
	}
	pair_close(&s, &c);
	collab_tls_client_free(&client);
	collab_tls_server_free(&server);
}
END_TEST

/* A tiny DER writer for crafted certificates. */
static void tlv(struct collab_buf *out, uint8_t tag, const void *p,
	       size_t len)
{
	uint8_t hdr[6];
	size_t n = 0;

	hdr[n++] = tag;
	if (len < 0x80) {
		hdr[n++] = (uint8_t)len;
	} else if (len < 0x100) {
		hdr[n++] = 0x81;
		hdr[n++] = (uint8_t)len;
	} else {
		hdr[n++] = 0x82;
		hdr[n++] = (uint8_t)(len >> 8);
		hdr[n++] = (uint8_t)len;
	}
	ck_assert_int_eq(collab_buf_append(out, hdr, n), 0);
	ck_assert_int_eq(collab_buf_append(out, p, len), 0);
}

enum cert_shape {
	SHAPE_PLAIN,        /* v3, SAN with DNS and IPv4 */
	SHAPE_CRITICAL,     /* SAN marked critical */
	SHAPE_NO_VERSION,   /* v1 layout (no [0]) but with extensions */
	SHAPE_UNIQUE_ID,    /* issuerUniqueID [1] before extensions */
	SHAPE_OTHER_EXT,    /* a basicConstraints before the SAN */
	SHAPE_NO_EXT,       /* no extensions at all */
	SHAPE_NO_SAN,       /* extensions, none a SAN */
	SHAPE_SAN_TRAILING, /* junk after GeneralNames in the OCTET STRING */
	SHAPE_EXT_NULL,     /* extnValue is a NULL, not an OCTET STRING */
	SHAPE_SHORT_TBS,    /* tbsCertificate missing its key info */
	SHAPE_EXT_NOT_SEQ,  /* [3] holds an OCTET STRING */
};

static struct collab_buf make_cert(enum cert_shape shape,
				   const uint8_t *ip, size_t ip_len)
{
	static const uint8_t version[] = { 0x02, 0x01, 0x02 };
	static const uint8_t serial[] = { 0x01 };
	static const uint8_t san_oid[] = { 0x55, 0x1D, 0x11 };
	static const uint8_t bc_oid[] = { 0x55, 0x1D, 0x13 };
	static const uint8_t yes[] = { 0xFF };
	static const uint8_t bits[] = { 0x00 };
	struct collab_buf names, sanval, ext, exts, extw, tbs, tbsw, cert, out;
	int i;

	collab_buf_init(&names, NULL, 0);
	collab_buf_init(&sanval, NULL, 0);
	collab_buf_init(&ext, NULL, 0);
	collab_buf_init(&exts, NULL, 0);
	collab_buf_init(&extw, NULL, 0);
	collab_buf_init(&tbs, NULL, 0);
	collab_buf_init(&tbsw, NULL, 0);
	collab_buf_init(&cert, NULL, 0);
	collab_buf_init(&out, NULL, 0);

	tlv(&names, 0x82, "localhost", 9);
	tlv(&names, 0x87, ip, ip_len);
	tlv(&sanval, 0x30, names.p, names.len);
	if (shape == SHAPE_SAN_TRAILING)
		tlv(&sanval, 0x05, "", 0);
	if (shape == SHAPE_OTHER_EXT || shape == SHAPE_NO_SAN) {
		struct collab_buf bc, bcv;

		collab_buf_init(&bc, NULL, 0);
		collab_buf_init(&bcv, NULL, 0);
		tlv(&bcv, 0x30, "", 0);
		tlv(&bc, 0x06, bc_oid, sizeof bc_oid);
		tlv(&bc, 0x04, bcv.p, bcv.len);
		tlv(&exts, 0x30, bc.p, bc.len);
		collab_buf_free(&bc);
		collab_buf_free(&bcv);
	}
	if (shape != SHAPE_NO_SAN) {
		tlv(&ext, 0x06, san_oid, sizeof san_oid);
		if (shape == SHAPE_CRITICAL)
			tlv(&ext, 0x01, yes, 1);
		if (shape == SHAPE_EXT_NULL)
			tlv(&ext, 0x05, "", 0);
		else
			tlv(&ext, 0x04, sanval.p, sanval.len);
		tlv(&exts, 0x30, ext.p, ext.len);
	}
	if (shape == SHAPE_EXT_NOT_SEQ)
		tlv(&extw, 0x04, exts.p, exts.len);
	else
		tlv(&extw, 0x30, exts.p, exts.len);

	if (shape != SHAPE_NO_VERSION)
		tlv(&tbs, 0xA0, version, sizeof version);
	tlv(&tbs, 0x02, serial, sizeof serial);
	for (i = 0; i < (shape == SHAPE_SHORT_TBS ? 4 : 5); i++)
		tlv(&tbs, 0x30, "", 0);
	if (shape == SHAPE_UNIQUE_ID)
		tlv(&tbs, 0x81, bits, 1);
	if (shape != SHAPE_NO_EXT)
		tlv(&tbs, 0xA3, extw.p, extw.len);
	tlv(&cert, 0x30, tbs.p, tbs.len);
	tlv(&cert, 0x30, "", 0);
	tlv(&cert, 0x03, bits, 1);
	tlv(&out, 0x30, cert.p, cert.len);

	collab_buf_free(&names);
	collab_buf_free(&sanval);
	collab_buf_free(&ext);
	collab_buf_free(&exts);
	collab_buf_free(&extw);
	collab_buf_free(&tbs);
	collab_buf_free(&tbsw);
	collab_buf_free(&cert);
	return out;
}

static const uint8_t IP4[] = { 127, 0, 0, 1 };
static const uint8_t IP4B[] = { 127, 0, 0, 2 };
static const uint8_t IP6[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

struct san_case {
	const char *name;
	enum cert_shape shape;
	const uint8_t *in_cert;   /* address written into the SAN */
	size_t in_len;
	const uint8_t *query;
	size_t query_len;
	int want;
};

static const struct san_case san_cases[] = {
	{ "ipv4 match", SHAPE_PLAIN, IP4, 4, IP4, 4, 1 },
	{ "ipv4 other", SHAPE_PLAIN, IP4, 4, IP4B, 4, 0 },
	{ "ipv6 match", SHAPE_PLAIN, IP6, 16, IP6, 16, 1 },
	{ "length differs", SHAPE_PLAIN, IP6, 16, IP4, 4, 0 },
	{ "critical SAN", SHAPE_CRITICAL, IP4, 4, IP4, 4, 1 },
	{ "no version", SHAPE_NO_VERSION, IP4, 4, IP4, 4, 1 },
	{ "unique id", SHAPE_UNIQUE_ID, IP4, 4, IP4, 4, 1 },
	{ "other extension first", SHAPE_OTHER_EXT, IP4, 4, IP4, 4, 1 },
	{ "no extensions", SHAPE_NO_EXT, IP4, 4, IP4, 4, 0 },
	{ "no SAN", SHAPE_NO_SAN, IP4, 4, IP4, 4, 0 },
	{ "junk after names", SHAPE_SAN_TRAILING, IP4, 4, IP4, 4,
	  COLLAB_ESYNTAX },
	{ "extnValue not OCTET STRING", SHAPE_EXT_NULL, IP4, 4, IP4, 4,
	  COLLAB_ESYNTAX },
	{ "tbs too short", SHAPE_SHORT_TBS, IP4, 4, IP4, 4, COLLAB_ESYNTAX },
	{ "extensions not a SEQUENCE", SHAPE_EXT_NOT_SEQ, IP4, 4, IP4, 4,
	  COLLAB_ESYNTAX },
};

/* Each crafted certificate from a guard page: the verdict, then every
 * proper prefix (all malformed: the outer length overruns). */
START_TEST(test_cert_has_ip)
{
	const struct san_case *sc = &san_cases[_i];
	struct collab_buf der = make_cert(sc->shape, sc->in_cert, sc->in_len);
	size_t len;

	for (len = 0; len <= der.len; len++) {
		struct guard_buf g = guard_copy(der.p, len);
		int rc = collab_tls_cert_has_ip(g.p, len, sc->query,
						sc->query_len);

		if (len == der.len)
			ck_assert_msg(rc == sc->want, "%s: %d", sc->name, rc);
		else
			ck_assert_int_eq(rc, COLLAB_ESYNTAX);
		guard_free(&g);
	}
	collab_buf_free(&der);
}
END_TEST

START_TEST(test_cert_has_ip_misc)
{
	static const uint8_t indefinite[] = { 0x30, 0x80, 0x00, 0x00 };
	static const uint8_t high_tag[] = { 0x1F, 0x01, 0x00 };
	static const uint8_t five_len[] = { 0x30, 0x85, 0, 0, 0, 0, 1, 0 };
	static const uint8_t not_seq[] = { 0x31, 0x00 };
	struct collab_buf rsa = slurp("rsa.der"), ec1 = slurp("ec1.der");
	struct collab_buf ca = slurp("ca.der");

	/* certificates made by openssl */
	ck_assert_int_eq(collab_tls_cert_has_ip(rsa.p, rsa.len, IP4, 4), 1);
	ck_assert_int_eq(collab_tls_cert_has_ip(rsa.p, rsa.len, IP4B, 4), 0);
	ck_assert_int_eq(collab_tls_cert_has_ip(rsa.p, rsa.len, IP6, 16), 0);
	ck_assert_int_eq(collab_tls_cert_has_ip(ec1.p, ec1.len, IP6, 16), 1);
	ck_assert_int_eq(collab_tls_cert_has_ip(ec1.p, ec1.len, IP4, 4), 1);
	ck_assert_int_eq(collab_tls_cert_has_ip(ca.p, ca.len, IP4, 4), 0);
	/* malformed encodings */
	ck_assert_int_eq(collab_tls_cert_has_ip(indefinite, sizeof indefinite,
						IP4, 4), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_tls_cert_has_ip(high_tag, sizeof high_tag,
						IP4, 4), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_tls_cert_has_ip(five_len, sizeof five_len,
						IP4, 4), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_tls_cert_has_ip(not_seq, sizeof not_seq,
						IP4, 4), COLLAB_ESYNTAX);
	ck_assert_int_eq(collab_tls_cert_has_ip(NULL, 0, IP4, 4),
			 COLLAB_ESYNTAX);
	/* bad arguments */
	ck_assert_int_eq(collab_tls_cert_has_ip(rsa.p, rsa.len, IP4, 5),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_tls_cert_has_ip(rsa.p, rsa.len, NULL, 4),
			 COLLAB_EINVAL);
	ck_assert_int_eq(collab_tls_cert_has_ip(NULL, 3, IP4, 4),
			 COLLAB_EINVAL);
	collab_buf_free(&rsa);
	collab_buf_free(&ec1);
	collab_buf_free(&ca);
}
END_TEST

/* ---- interop with the openssl command (skipped when it is missing) ---- */

/* Our server, a real openssl s_client: TLS 1.2 handshake with name and
 * chain verification, a line each way, close_notify. */
START_TEST(test_openssl_client)
{
	struct collab_tls_server server;
	struct collab_tls_conn c;
	struct sockaddr_in sa;
	socklen_t salen = sizeof sa;
	char port[16], got[256];
	int ls, fd = -1, in_pipe[2], out_fd, status;
	size_t got_len = 0, taken;
	pid_t pid;
	unsigned i;
	int sent = 0, closed = 0;
	unsigned w;

	load_server(&server, "ec.pem", "ec.key", NULL);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(ls, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(ls, 1), 0);
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sa, &salen), 0);
	snprintf(port, sizeof port, "127.0.0.1:%u", ntohs(sa.sin_port));
	ck_assert_int_eq(pipe(in_pipe), 0);
	out_fd = open(path("s_client.out"), O_WRONLY | O_CREAT | O_TRUNC,
		      0600);
	ck_assert_int_ge(out_fd, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(in_pipe[0], 0);
		dup2(out_fd, 1);
		dup2(out_fd, 2);
		close(in_pipe[1]);
		execlp("openssl", "openssl", "s_client", "-connect", port,
		       "-servername", "localhost", "-verify_hostname",
		       "localhost", "-CAfile", path("ca.pem"),
		       "-verify_return_error", "-tls1_2", "-quiet",
		       (char *)NULL);
		_exit(127);
	}
	close(in_pipe[0]);
	close(out_fd);
	if (write(in_pipe[1], "ping\n", 5) != 5)
		ck_abort_msg("write to s_client");
	for (i = 0; i < 1000 && !closed; i++) {
		struct pollfd pfd;
		const uint8_t *p;
		size_t n;

		if (fd < 0) {
			pfd.fd = ls;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 10) == 1) {
				fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
				ck_assert_int_ge(fd, 0);
				ck_assert_int_eq(collab_tls_conn_init_server(
					&c, &server, NULL), 0);
			}
			continue;
		}
		collab_tls_flush_socket(&c, fd);
		while (collab_tls_recv_app(&c, &p, &n) == 0 && n > 0) {
			if (n > sizeof got - got_len)
				n = sizeof got - got_len;
			memcpy(got + got_len, p, n);
			got_len += n;
			collab_tls_recv_ack(&c, n);
		}
		if (!sent && got_len >= 5) {
			ck_assert_int_eq(collab_tls_send_app(&c, "pong\n", 5,
							     &taken), 0);
			ck_assert_uint_eq(taken, 5);
			ck_assert_int_eq(collab_tls_close(&c), 0);
			sent = 1;
		}
		collab_tls_flush_socket(&c, fd);
		collab_tls_fill_socket(&c, fd);
		ck_assert_msg(collab_tls_error(&c) == 0, "server: %s",
			      collab_tls_br_strerror(collab_tls_br_error(&c)));
		closed = collab_tls_state(&c) == COLLAB_TLS_CLOSED;
		pfd.fd = fd;
		w = collab_tls_want(&c);
		pfd.events = (short)((w & COLLAB_TLS_WANT_READ ? POLLIN : 0)
				     | (w & COLLAB_TLS_WANT_WRITE ? POLLOUT : 0));
		if (pfd.events)
			poll(&pfd, 1, 10);
	}
	close(in_pipe[1]);
	for (i = 0; i < 500 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (i == 500) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	ck_assert_msg(closed, "no clean close");
	ck_assert_uint_eq(got_len, 5);
	ck_assert_mem_eq(got, "ping\n", 5);
	{
		struct collab_buf out = slurp("s_client.out");

		ck_assert_int_eq(collab_buf_append_byte(&out, 0), 0);
		ck_assert_msg(strstr((const char *)out.p, "pong") != NULL,
			      "s_client said: %s", out.p);
		collab_buf_free(&out);
	}
	collab_tls_conn_free(&c);
	close(fd);
	close(ls);
	collab_tls_server_free(&server);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *load = tcase_create("load");
	TCase *conn = tcase_create("conn");
	TCase *interop = tcase_create("interop");

	tcase_set_timeout(load, 120);
	tcase_add_loop_test(load, test_server_load, 0,
			    (int)ARRAY_LEN(load_cases));
	tcase_add_test(load, test_server_load_limits);
	tcase_add_test(load, test_load_enomem);
	tcase_add_loop_test(load, test_client_load, 0,
			    (int)ARRAY_LEN(ca_cases));
	tcase_add_test(load, test_client_load_misc);
	tcase_add_test(load, test_load_mem_guard);
	suite_add_tcase(s, load);

	tcase_set_timeout(conn, 120);
	tcase_add_loop_test(conn, test_exchange, 0, (int)ARRAY_LEN(conn_cases));
	tcase_add_test(conn, test_server_close);
	tcase_add_test(conn, test_backpressure);
	tcase_add_loop_test(conn, test_reject, 0, (int)ARRAY_LEN(reject_cases));
	tcase_add_test(conn, test_client_args);
	tcase_add_test(conn, test_conn_enomem);
	tcase_add_test(conn, test_resume);
	tcase_add_test(conn, test_eof);
	tcase_add_test(conn, test_garbage);
	tcase_add_test(conn, test_syscall_cap);
	tcase_add_test(conn, test_strerror);
	tcase_add_loop_test(conn, test_ip_host, 0, (int)ARRAY_LEN(ip_cases));
	tcase_add_loop_test(conn, test_cert_has_ip, 0,
			    (int)ARRAY_LEN(san_cases));
	tcase_add_test(conn, test_cert_has_ip_misc);
	suite_add_tcase(s, conn);

	tcase_set_timeout(interop, 60);
	if (system("openssl version >/dev/null 2>&1") == 0)
		tcase_add_test(interop, test_openssl_client);
	suite_add_tcase(s, interop);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	snprintf(dir, sizeof dir, "/tmp/check_tls.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (make_pki() != 0) {
		fprintf(stderr, "check_tls: making the test PKI with openssl failed\n");
		remove_pki();
		return 1;
	}
	sr = srunner_create(tls_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_pki();
	return failed == 0 ? 0 : 1;
}
