/*
 * tls_pem.c - reading TLS material: configuration defaults, files read
 * with a size limit, the walk over PEM objects, and the client's trust
 * anchors. BearSSL decodes (PEM, X.509); this file copies what it decoded
 * into storage the configuration owns and names what failed. The server's
 * chain and key are in tls_cert.c.
 */
#include "collab/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "tls_int.h"

/* Bytes asked of read() at a time. */
#define READ_CHUNK 16384

void collab_tls_config_init(struct collab_tls_config *cfg)
{
	cfg->max_file_bytes = (size_t)4 << 20;
	cfg->max_chain_certs = 8;
	cfg->max_trust_anchors = 1024;
	cfg->session_cache_entries = 1024;
	cfg->out_buf_bytes = BR_SSL_BUFSIZE_OUTPUT;
	cfg->max_syscalls = 32;
	cfg->ip_cert_max_bytes = 8192;
}

int collab_tls_config_ok(const struct collab_tls_config *cfg)
{
	/* The LRU cache indexes its store with 32-bit offsets. */
	return cfg->max_file_bytes > 0 && cfg->max_syscalls > 0
		&& cfg->ip_cert_max_bytes > 0
		&& cfg->ip_cert_max_bytes <= COLLAB_TLS_CERT_MAX
		&& cfg->out_buf_bytes >= COLLAB_TLS_OUT_BUF_MIN
		&& cfg->out_buf_bytes <= BR_SSL_BUFSIZE_OUTPUT
		&& cfg->session_cache_entries
			<= UINT32_MAX / COLLAB_TLS_CACHE_ENTRY_BYTES;
}

void collab_tls_wipe_free(struct collab_buf *b)
{
	if (b->p)
		explicit_bzero(b->p, b->cap);
	collab_buf_free(b);
}

/* ---- files ------------------------------------------------------------ */

const struct collab_tls_file_msgs collab_tls_cert_file = {
	"certificate file: cannot open",
	"certificate file: read failed",
	"certificate file: larger than max_file_bytes",
};
const struct collab_tls_file_msgs collab_tls_key_file = {
	"key file: cannot open",
	"key file: read failed",
	"key file: larger than max_file_bytes",
};
static const struct collab_tls_file_msgs collab_tls_ca_file = {
	"CA file: cannot open",
	"CA file: read failed",
	"CA file: larger than max_file_bytes",
};

/* Appends the whole file to b, whose max is the size limit. A file of
 * exactly the limit is accepted: one probe byte past it tells. errno is
 * left as the failing call set it. */
int collab_tls_read_file(const char *path, struct collab_buf *b,
			 const struct collab_tls_file_msgs *m,
			 const char **why)
{
	int fd, rc, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*why = m->open;
		return COLLAB_EIO;
	}
	for (;;) {
		size_t room = b->max - b->len, want;
		uint8_t probe, *dst;
		ssize_t n;

		if (room == 0) {
			dst = &probe;
			want = 1;
		} else {
			want = room < READ_CHUNK ? room : READ_CHUNK;
			rc = collab_buf_reserve(b, want);
			if (rc != 0) {
				close(fd);
				*why = "out of memory";
				return rc;
			}
			dst = b->p + b->len;
		}
		n = read(fd, dst, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			errno = saved;
			*why = m->read;
			return COLLAB_EIO;
		}
		if (n == 0)
			break;
		if (room == 0) {
			close(fd);
			*why = m->big;
			return COLLAB_ELIMIT;
		}
		b->len += (size_t)n;
	}
	close(fd);
	return 0;
}

/* ---- PEM objects ------------------------------------------------------ */

/* BearSSL hands us the banner name upper-cased and NUL-terminated. */
static enum collab_tls_pem_kind pem_classify(const char *name)
{
	if (strcmp(name, "CERTIFICATE") == 0
	    || strcmp(name, "X509 CERTIFICATE") == 0)
		return COLLAB_TLS_PEM_CERT;
	if (strcmp(name, "RSA PRIVATE KEY") == 0
	    || strcmp(name, "EC PRIVATE KEY") == 0
	    || strcmp(name, "PRIVATE KEY") == 0)
		return COLLAB_TLS_PEM_KEY;
	if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0)
		return COLLAB_TLS_PEM_ENCKEY;
	return COLLAB_TLS_PEM_OTHER;
}

struct pem_walk {
	br_pem_decoder_context pc;
	struct collab_buf der; /* the current object's bytes */
	int der_rc;            /* first append failure in this object */
	int in_obj;
	enum collab_tls_pem_kind kind;
	collab_tls_pem_fn fn;
	void *ctx;
	const char *bad_pem;   /* message for malformed PEM */
};

static void pem_dest(void *ctx, const void *p, size_t n)
{
	struct pem_walk *w = ctx;
	int rc;

	if (w->der_rc != 0)
		return;
	rc = collab_buf_append(&w->der, p, n);
	if (rc != 0)
		w->der_rc = rc;
}

static void pem_discard(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
}

static int pem_push(struct pem_walk *w, const uint8_t *p, size_t len,
		    const char **why)
{
	int rc;

	while (len > 0) {
		size_t n = br_pem_decoder_push(&w->pc, p, len);

		p += n;
		len -= n;
		switch (br_pem_decoder_event(&w->pc)) {
		case BR_PEM_BEGIN_OBJ:
			w->kind = pem_classify(br_pem_decoder_name(&w->pc));
			collab_buf_reset(&w->der);
			w->der_rc = 0;
			w->in_obj = 1;
			br_pem_decoder_setdest(&w->pc,
				w->kind == COLLAB_TLS_PEM_CERT
				|| w->kind == COLLAB_TLS_PEM_KEY
				? pem_dest : pem_discard, w);
			break;
		case BR_PEM_END_OBJ:
			w->in_obj = 0;
			if (w->der_rc != 0) {
				*why = w->der_rc == COLLAB_ENOMEM
					? "out of memory"
					: "PEM object larger than max_file_bytes";
				return w->der_rc;
			}
			rc = w->fn(w->ctx, w->kind, w->der.p, w->der.len, why);
			if (rc != 0)
				return rc;
			break;
		case BR_PEM_ERROR:
			*why = w->bad_pem;
			return COLLAB_ESYNTAX;
		default:
			/* No event means the decoder took everything; a
			 * decoder that takes nothing would loop forever. */
			if (n == 0) {
				*why = w->bad_pem;
				return COLLAB_ESYNTAX;
			}
			break;
		}
	}
	return 0;
}

/* Calls fn for each PEM object of p[0..len). Bytes between objects are
 * ignored (BearSSL's rule), so a file without any object is not an error
 * here: the callers report "no certificate". */
int collab_tls_pem_each(const uint8_t *p, size_t len, size_t max,
			const struct collab_alloc *a, collab_tls_pem_fn fn,
			void *ctx, const char *bad_pem, const char **why)
{
	static const uint8_t nl = '\n';
	struct pem_walk w;
	int rc;

	memset(&w, 0, sizeof w);
	collab_buf_init(&w.der, a, max);
	w.fn = fn;
	w.ctx = ctx;
	w.bad_pem = bad_pem;
	br_pem_decoder_init(&w.pc);
	rc = pem_push(&w, p, len, why);
	/* The last END banner counts only once its line ends. */
	if (rc == 0)
		rc = pem_push(&w, &nl, 1, why);
	if (rc == 0 && w.in_obj) {
		*why = bad_pem;
		rc = COLLAB_ESYNTAX;
	}
	collab_tls_wipe_free(&w.der);
	explicit_bzero(&w.pc, sizeof w.pc);
	return rc;
}

int collab_tls_decode_cert(br_x509_decoder_context *dc, const uint8_t *der,
			   size_t len, void (*dn)(void *, const void *, size_t),
			   void *dn_ctx)
{
	br_x509_decoder_init(dc, dn, dn_ctx);
	br_x509_decoder_push(dc, der, len);
	return br_x509_decoder_last_error(dc);
}

/* ---- client: trust anchors -------------------------------------------- */

struct ta_ctx {
	struct collab_tls_client *cli;
	struct collab_buf dn;
	int dn_rc;
	size_t max;
};

static void ta_dn(void *ctx, const void *p, size_t n)
{
	struct ta_ctx *tc = ctx;
	int rc;

	if (tc->dn_rc != 0)
		return;
	rc = collab_buf_append(&tc->dn, p, n);
	if (rc != 0)
		tc->dn_rc = rc;
}

/* An anchor's DN and key bytes live in one allocation starting at
 * dn.data; its size follows from the lengths, so free needs no header. */
static size_t anchor_bytes(const br_x509_trust_anchor *ta)
{
	size_t n = ta->dn.len;

	if (ta->pkey.key_type == BR_KEYTYPE_RSA)
		n += ta->pkey.key.rsa.nlen + ta->pkey.key.rsa.elen;
	else
		n += ta->pkey.key.ec.qlen;
	return n;
}

static int on_ca_obj(void *ctx, enum collab_tls_pem_kind kind,
		     const uint8_t *der, size_t len, const char **why)
{
	struct ta_ctx *tc = ctx;
	struct collab_tls_client *cli = tc->cli;
	br_x509_decoder_context dc;
	const br_x509_pkey *pk;
	br_x509_trust_anchor ta;
	uint8_t *blob, *d;
	int err, rc;

	if (kind != COLLAB_TLS_PEM_CERT)
		return 0;
	collab_buf_reset(&tc->dn);
	tc->dn_rc = 0;
	err = collab_tls_decode_cert(&dc, der, len, ta_dn, tc);
	if (err == BR_ERR_X509_UNSUPPORTED) {
		cli->skipped++;
		return 0;
	}
	if (err != 0) {
		*why = "CA file: malformed certificate";
		return COLLAB_ESYNTAX;
	}
	if (tc->dn_rc != 0) {
		*why = "out of memory";
		return tc->dn_rc;
	}
	if (cli->anchors_len == tc->max) {
		*why = "CA file: more certificates than max_trust_anchors";
		return COLLAB_ELIMIT;
	}
	pk = br_x509_decoder_get_pkey(&dc);
	memset(&ta, 0, sizeof ta);
	ta.flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	ta.dn.len = tc->dn.len;
	ta.pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		ta.pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta.pkey.key.rsa.elen = pk->key.rsa.elen;
	} else {
		ta.pkey.key.ec.curve = pk->key.ec.curve;
		ta.pkey.key.ec.qlen = pk->key.ec.qlen;
	}
	blob = cli->a->alloc(cli->a->ctx, anchor_bytes(&ta));
	if (blob == NULL) {
		*why = "out of memory";
		return COLLAB_ENOMEM;
	}
	d = blob;
	ta.dn.data = d;
	if (ta.dn.len)
		memcpy(d, tc->dn.p, ta.dn.len);
	d += ta.dn.len;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		ta.pkey.key.rsa.n = d;
		memcpy(d, pk->key.rsa.n, pk->key.rsa.nlen);
		d += pk->key.rsa.nlen;
		ta.pkey.key.rsa.e = d;
		memcpy(d, pk->key.rsa.e, pk->key.rsa.elen);
	} else {
		ta.pkey.key.ec.q = d;
		memcpy(d, pk->key.ec.q, pk->key.ec.qlen);
	}
	rc = collab_buf_append(&cli->anchors, &ta, sizeof ta);
	if (rc != 0) {
		cli->a->free(cli->a->ctx, blob, anchor_bytes(&ta));
		*why = "out of memory";
		return rc;
	}
	cli->anchors_len++;
	return 0;
}

static void client_reset(struct collab_tls_client *cli,
			 const struct collab_alloc *a)
{
	memset(cli, 0, sizeof *cli);
	cli->a = a ? a : collab_alloc_default();
	collab_buf_init(&cli->anchors, cli->a, 0);
	cli->why = "";
}

int collab_tls_client_load_mem(struct collab_tls_client *cli,
			       const struct collab_tls_config *cfg,
			       const uint8_t *ca, size_t ca_len,
			       const struct collab_alloc *a)
{
	struct collab_tls_config defaults;
	struct ta_ctx tc;
	const char *why = "";
	int rc;

	client_reset(cli, a);
	if (cfg == NULL) {
		collab_tls_config_init(&defaults);
		cfg = &defaults;
	}
	if (!collab_tls_config_ok(cfg) || (ca == NULL && ca_len != 0)) {
		cli->why = "invalid argument";
		return COLLAB_EINVAL;
	}
	tc.cli = cli;
	tc.dn_rc = 0;
	tc.max = cfg->max_trust_anchors;
	collab_buf_init(&tc.dn, cli->a, cfg->max_file_bytes);
	rc = collab_tls_pem_each(ca, ca_len, cfg->max_file_bytes, cli->a,
				 on_ca_obj, &tc, "CA file: malformed PEM", &why);
	collab_buf_free(&tc.dn);
	if (rc == 0 && cli->anchors_len == 0) {
		why = "CA file: no usable CERTIFICATE object";
		rc = COLLAB_ENOTFOUND;
	}
	if (rc != 0) {
		a = cli->a;
		collab_tls_client_free(cli);
		client_reset(cli, a);
		cli->why = why;
		return rc;
	}
	cli->out_buf_bytes = cfg->out_buf_bytes;
	cli->max_syscalls = cfg->max_syscalls;
	cli->ip_cert_max_bytes = cfg->ip_cert_max_bytes;
	return 0;
}

int collab_tls_client_load(struct collab_tls_client *cli,
			   const struct collab_tls_config *cfg,
			   const char *ca_path, const struct collab_alloc *a)
{
	struct collab_tls_config defaults;
	struct collab_buf ca;
	const char *why = "";
	int rc, saved;

	client_reset(cli, a);
	a = cli->a;
	if (cfg == NULL) {
		collab_tls_config_init(&defaults);
		cfg = &defaults;
	}
	if (!collab_tls_config_ok(cfg)) {
		cli->why = "invalid argument";
		return COLLAB_EINVAL;
	}
	collab_buf_init(&ca, a, cfg->max_file_bytes);
	rc = collab_tls_read_file(ca_path ? ca_path : COLLAB_TLS_SYSTEM_CA_FILE,
				  &ca, &collab_tls_ca_file, &why);
	if (rc == 0)
		rc = collab_tls_client_load_mem(cli, cfg, ca.p, ca.len, a);
	else
		cli->why = why;
	saved = errno;
	collab_buf_free(&ca);
	errno = saved;
	return rc;
}

size_t collab_tls_client_anchors(const struct collab_tls_client *cli)
{
	return cli->anchors_len;
}

size_t collab_tls_client_skipped(const struct collab_tls_client *cli)
{
	return cli->skipped;
}

const char *collab_tls_client_why(const struct collab_tls_client *cli)
{
	return cli->why ? cli->why : "";
}

void collab_tls_client_free(struct collab_tls_client *cli)
{
	br_x509_trust_anchor *ta;
	size_t i;

	if (cli == NULL || cli->a == NULL)
		return;
	ta = (br_x509_trust_anchor *)cli->anchors.p;
	for (i = 0; i < cli->anchors_len; i++)
		cli->a->free(cli->a->ctx, ta[i].dn.data, anchor_bytes(&ta[i]));
	collab_buf_free(&cli->anchors);
	memset(cli, 0, sizeof *cli);
}
