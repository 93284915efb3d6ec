/*
 * tls_cert.c - the server's TLS material: its certificate chain and
 * private key from PEM, copied into storage the configuration owns, the
 * key checked against the certificate, and the session cache allocated.
 * PEM walking and file reading are in tls_pem.c.
 */
#include "collab/tls.h"

#include <errno.h>
#include <string.h>

#include "tls_int.h"

/* BearSSL's RSA implementations stop at 4096-bit moduli. */
#define RSA_MAX_BITS 4096

struct chain_ctx {
	struct collab_buf *der;
	struct collab_buf *arr;
	size_t n, max;
};

static int on_chain_obj(void *ctx, enum collab_tls_pem_kind kind,
			const uint8_t *der, size_t len, const char **why)
{
	struct chain_ctx *cc = ctx;
	br_x509_certificate cert;
	int rc;

	if (kind != COLLAB_TLS_PEM_CERT)
		return 0;
	if (len == 0) {
		*why = "certificate file: malformed certificate";
		return COLLAB_ESYNTAX;
	}
	if (cc->n == cc->max) {
		*why = "certificate file: more certificates than max_chain_certs";
		return COLLAB_ELIMIT;
	}
	/* data is fixed up once the DER buffer stops moving. */
	cert.data = NULL;
	cert.data_len = len;
	rc = collab_buf_append(cc->der, der, len);
	if (rc == 0)
		rc = collab_buf_append(cc->arr, &cert, sizeof cert);
	if (rc != 0) {
		*why = rc == COLLAB_ENOMEM ? "out of memory"
			: "certificate file: larger than max_file_bytes";
		return rc;
	}
	cc->n++;
	return 0;
}

struct key_ctx {
	struct collab_buf *der;
	size_t n;
};

static int on_key_obj(void *ctx, enum collab_tls_pem_kind kind,
		      const uint8_t *der, size_t len, const char **why)
{
	struct key_ctx *kc = ctx;
	int rc;

	if (kind == COLLAB_TLS_PEM_ENCKEY) {
		*why = "key file: encrypted private keys are not supported";
		return COLLAB_ETYPE;
	}
	if (kind != COLLAB_TLS_PEM_KEY)
		return 0;
	if (++kc->n > 1) {
		*why = "key file: more than one private key";
		return COLLAB_EINVAL;
	}
	rc = collab_buf_append(kc->der, der, len);
	if (rc != 0)
		*why = "out of memory";
	return rc;
}

/* Strips leading zero bytes from a big-endian integer. */
static const uint8_t *strip0(const uint8_t *p, size_t *len)
{
	while (*len > 0 && *p == 0) {
		p++;
		(*len)--;
	}
	return p;
}

static int same_int(const uint8_t *a, size_t alen, const uint8_t *b,
		    size_t blen)
{
	a = strip0(a, &alen);
	b = strip0(b, &blen);
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Copies the decoded key into srv->key_data and checks it against the
 * end-entity certificate's public key: an RSA key must give the same
 * modulus (recomputed as p*q), an EC key the same public point. */
static int take_key(struct collab_tls_server *srv,
		    const br_skey_decoder_context *kd, const br_x509_pkey *pk)
{
	int type = br_skey_decoder_key_type(kd);

	if (type == BR_KEYTYPE_RSA) {
		const br_rsa_private_key *sk = br_skey_decoder_get_rsa(kd);
		br_rsa_compute_modulus modulus =
			br_rsa_compute_modulus_get_default();
		uint8_t n[RSA_MAX_BITS / 8], *d;
		size_t nlen, total;
		int rc;

		if (sk->n_bitlen > RSA_MAX_BITS) {
			srv->why = "key file: RSA key larger than 4096 bits";
			return COLLAB_ETYPE;
		}
		if (pk->key_type != BR_KEYTYPE_RSA) {
			srv->why = "key file: private key does not match the certificate";
			return COLLAB_EINVAL;
		}
		nlen = modulus(NULL, sk);
		if (nlen == 0 || nlen > sizeof n || modulus(n, sk) != nlen) {
			srv->why = "key file: malformed RSA private key";
			return COLLAB_ESYNTAX;
		}
		if (!same_int(n, nlen, pk->key.rsa.n, pk->key.rsa.nlen)) {
			srv->why = "key file: private key does not match the certificate";
			return COLLAB_EINVAL;
		}
		total = sk->plen + sk->qlen + sk->dplen + sk->dqlen
			+ sk->iqlen;
		rc = collab_buf_reserve(&srv->key_data, total);
		if (rc != 0) {
			srv->why = "out of memory";
			return rc;
		}
		d = srv->key_data.p;
		srv->rsa.n_bitlen = sk->n_bitlen;
		srv->rsa.p = d;
		memcpy(d, sk->p, sk->plen);
		srv->rsa.plen = sk->plen;
		d += sk->plen;
		srv->rsa.q = d;
		memcpy(d, sk->q, sk->qlen);
		srv->rsa.qlen = sk->qlen;
		d += sk->qlen;
		srv->rsa.dp = d;
		memcpy(d, sk->dp, sk->dplen);
		srv->rsa.dplen = sk->dplen;
		d += sk->dplen;
		srv->rsa.dq = d;
		memcpy(d, sk->dq, sk->dqlen);
		srv->rsa.dqlen = sk->dqlen;
		d += sk->dqlen;
		srv->rsa.iq = d;
		memcpy(d, sk->iq, sk->iqlen);
		srv->rsa.iqlen = sk->iqlen;
		srv->key_data.len = total;
		srv->key_type = BR_KEYTYPE_RSA;
		return 0;
	}
	if (type == BR_KEYTYPE_EC) {
		const br_ec_private_key *sk = br_skey_decoder_get_ec(kd);
		uint8_t q[BR_EC_KBUF_PUB_MAX_SIZE];
		size_t qlen;
		int rc;

		/* ECDSA in TLS 1.2 (RFC 8422 5.1.1): the NIST curves that
		 * BearSSL implements. */
		if (sk->curve != BR_EC_secp256r1 && sk->curve != BR_EC_secp384r1
		    && sk->curve != BR_EC_secp521r1) {
			srv->why = "key file: EC curve not supported (P-256, P-384, P-521 only)";
			return COLLAB_ETYPE;
		}
		if (pk->key_type != BR_KEYTYPE_EC
		    || pk->key.ec.curve != sk->curve) {
			srv->why = "key file: private key does not match the certificate";
			return COLLAB_EINVAL;
		}
		qlen = br_ec_compute_pub(br_ec_get_default(), NULL, q, sk);
		if (qlen == 0) {
			srv->why = "key file: malformed EC private key";
			return COLLAB_ESYNTAX;
		}
		if (qlen != pk->key.ec.qlen
		    || memcmp(q, pk->key.ec.q, qlen) != 0) {
			srv->why = "key file: private key does not match the certificate";
			return COLLAB_EINVAL;
		}
		rc = collab_buf_append(&srv->key_data, sk->x, sk->xlen);
		if (rc != 0) {
			srv->why = "out of memory";
			return rc;
		}
		srv->ec.curve = sk->curve;
		srv->ec.x = srv->key_data.p;
		srv->ec.xlen = sk->xlen;
		srv->key_type = BR_KEYTYPE_EC;
		return 0;
	}
	srv->why = "key file: key algorithm not supported (RSA or EC only)";
	return COLLAB_ETYPE;
}

/* Decodes every certificate of the chain (so a corrupt intermediate fails
 * at load, not at the first handshake) and returns the EE's key. */
static int check_chain(struct collab_tls_server *srv,
		       br_x509_decoder_context *ee)
{
	br_x509_decoder_context dc;
	br_x509_certificate *chain = (br_x509_certificate *)srv->chain_arr.p;
	size_t i;
	int err;

	for (i = 0; i < srv->chain_len; i++) {
		err = collab_tls_decode_cert(i == 0 ? ee : &dc, chain[i].data,
				  chain[i].data_len, NULL, NULL);
		if (err == 0)
			continue;
		if (i == 0 && err == BR_ERR_X509_UNSUPPORTED) {
			srv->why = "certificate file: public key algorithm not supported";
			return COLLAB_ETYPE;
		}
		srv->why = i == 0 ? "certificate file: malformed certificate"
			: "certificate file: malformed chain certificate";
		return COLLAB_ESYNTAX;
	}
	srv->issuer_key_type =
		(unsigned)br_x509_decoder_get_signer_key_type(ee);
	return 0;
}

static int load_key(struct collab_tls_server *srv, const uint8_t *key,
		    size_t key_len, size_t max, const br_x509_pkey *pk)
{
	struct collab_buf der;
	struct key_ctx kc;
	br_skey_decoder_context kd;
	int rc, err;

	collab_buf_init(&der, srv->a, max);
	kc.der = &der;
	kc.n = 0;
	rc = collab_tls_pem_each(key, key_len, max, srv->a, on_key_obj, &kc,
				 "key file: malformed PEM", &srv->why);
	if (rc == 0 && kc.n == 0) {
		srv->why = "key file: no PRIVATE KEY object";
		rc = COLLAB_ENOTFOUND;
	}
	if (rc == 0) {
		br_skey_decoder_init(&kd);
		br_skey_decoder_push(&kd, der.p, der.len);
		err = br_skey_decoder_last_error(&kd);
		if (err == BR_ERR_X509_UNSUPPORTED) {
			srv->why = "key file: key algorithm not supported (RSA or EC only)";
			rc = COLLAB_ETYPE;
		} else if (err != 0) {
			srv->why = "key file: malformed private key";
			rc = COLLAB_ESYNTAX;
		} else {
			rc = take_key(srv, &kd, pk);
		}
		explicit_bzero(&kd, sizeof kd);
	}
	collab_tls_wipe_free(&der);
	return rc;
}

static int server_load(struct collab_tls_server *srv,
		       const struct collab_tls_config *cfg,
		       const uint8_t *cert, size_t cert_len,
		       const uint8_t *key, size_t key_len)
{
	struct chain_ctx cc;
	br_x509_decoder_context ee;
	br_x509_certificate *chain;
	size_t i, off;
	int rc;

	collab_buf_init(&srv->chain_der, srv->a, cfg->max_file_bytes);
	collab_buf_init(&srv->chain_arr, srv->a, 0);
	collab_buf_init(&srv->key_data, srv->a, 0);
	cc.der = &srv->chain_der;
	cc.arr = &srv->chain_arr;
	cc.n = 0;
	cc.max = cfg->max_chain_certs;
	rc = collab_tls_pem_each(cert, cert_len, cfg->max_file_bytes, srv->a,
				 on_chain_obj, &cc,
				 "certificate file: malformed PEM", &srv->why);
	if (rc != 0)
		return rc;
	if (cc.n == 0) {
		srv->why = "certificate file: no CERTIFICATE object";
		return COLLAB_ENOTFOUND;
	}
	srv->chain_len = cc.n;
	chain = (br_x509_certificate *)srv->chain_arr.p;
	for (i = 0, off = 0; i < cc.n; i++) {
		chain[i].data = srv->chain_der.p + off;
		off += chain[i].data_len;
	}
	rc = check_chain(srv, &ee);
	if (rc != 0)
		return rc;
	rc = load_key(srv, key, key_len, cfg->max_file_bytes,
		      br_x509_decoder_get_pkey(&ee));
	if (rc != 0)
		return rc;
	if (srv->issuer_key_type == 0)
		srv->issuer_key_type = (unsigned)srv->key_type;
	if (cfg->session_cache_entries > 0) {
		srv->cache_bytes = cfg->session_cache_entries
			* COLLAB_TLS_CACHE_ENTRY_BYTES;
		srv->cache_store = srv->a->alloc(srv->a->ctx,
						 srv->cache_bytes);
		if (srv->cache_store == NULL) {
			srv->cache_bytes = 0;
			srv->why = "out of memory";
			return COLLAB_ENOMEM;
		}
		srv->cache.vtable = &collab_tls_cache_vtable;
		br_ssl_session_cache_lru_init(&srv->cache.lru,
					      srv->cache_store,
					      srv->cache_bytes);
	}
	srv->out_buf_bytes = cfg->out_buf_bytes;
	srv->max_syscalls = cfg->max_syscalls;
	return 0;
}

static void server_reset(struct collab_tls_server *srv,
			 const struct collab_alloc *a)
{
	memset(srv, 0, sizeof *srv);
	srv->a = a ? a : collab_alloc_default();
	srv->why = "";
}

int collab_tls_server_load_mem(struct collab_tls_server *srv,
			       const struct collab_tls_config *cfg,
			       const uint8_t *cert, size_t cert_len,
			       const uint8_t *key, size_t key_len,
			       const struct collab_alloc *a)
{
	struct collab_tls_config defaults;
	const char *why;
	int rc;

	server_reset(srv, a);
	if (cfg == NULL) {
		collab_tls_config_init(&defaults);
		cfg = &defaults;
	}
	if (!collab_tls_config_ok(cfg) || (cert == NULL && cert_len != 0)
	    || (key == NULL && key_len != 0)) {
		srv->why = "invalid argument";
		return COLLAB_EINVAL;
	}
	rc = server_load(srv, cfg, cert, cert_len, key, key_len);
	if (rc != 0) {
		why = srv->why;
		a = srv->a;
		collab_tls_server_free(srv);
		srv->a = a;
		srv->why = why;
	}
	return rc;
}

int collab_tls_server_load(struct collab_tls_server *srv,
			   const struct collab_tls_config *cfg,
			   const char *cert_path, const char *key_path,
			   const struct collab_alloc *a)
{
	struct collab_tls_config defaults;
	struct collab_buf cert, key;
	const char *why = "";
	int rc, saved;

	server_reset(srv, a);
	a = srv->a;
	if (cfg == NULL) {
		collab_tls_config_init(&defaults);
		cfg = &defaults;
	}
	if (!collab_tls_config_ok(cfg) || cert_path == NULL
	    || key_path == NULL) {
		srv->why = "invalid argument";
		return COLLAB_EINVAL;
	}
	collab_buf_init(&cert, a, cfg->max_file_bytes);
	collab_buf_init(&key, a, cfg->max_file_bytes);
	rc = collab_tls_read_file(cert_path, &cert, &collab_tls_cert_file,
				  &why);
	if (rc == 0)
		rc = collab_tls_read_file(key_path, &key, &collab_tls_key_file,
					  &why);
	if (rc == 0)
		rc = collab_tls_server_load_mem(srv, cfg, cert.p, cert.len,
						key.p, key.len, a);
	else
		srv->why = why;
	saved = errno;
	collab_tls_wipe_free(&cert);
	collab_tls_wipe_free(&key);
	errno = saved;
	return rc;
}

const char *collab_tls_server_why(const struct collab_tls_server *srv)
{
	return srv->why ? srv->why : "";
}

void collab_tls_server_free(struct collab_tls_server *srv)
{
	if (srv == NULL || srv->a == NULL)
		return;
	collab_buf_free(&srv->chain_der);
	collab_buf_free(&srv->chain_arr);
	collab_tls_wipe_free(&srv->key_data);
	if (srv->cache_store) {
		explicit_bzero(srv->cache_store, srv->cache_bytes);
		srv->a->free(srv->a->ctx, srv->cache_store, srv->cache_bytes);
	}
	explicit_bzero(srv, sizeof *srv);
}
