/*
 * tls_x509.c - server identity for IP-address hosts. BearSSL 0.6 matches
 * only dNSName subjectAltNames, so when a client connects to a literal
 * address the chain goes through BearSSL's minimal engine without a name
 * and this file then looks for an iPAddress subjectAltName equal to the
 * address in the end-entity certificate (RFC 6125 6.2.1: an IP reference
 * identity matches only an iPAddress SAN, never the Common Name).
 *
 * The certificate has already passed BearSSL's DER decoder when it is
 * searched; the reader below still checks every length against what
 * remains, so it is safe on any input (it is fuzzed as such).
 */
#include "collab/tls.h"

#include <string.h>

#include "tls_int.h"

/* DER identifiers used here (X.690 8.1.2; RFC 5280 4.1, 4.2.1.6). */
#define TAG_BOOLEAN      0x01
#define TAG_OCTET_STRING 0x04
#define TAG_OID          0x06
#define TAG_SEQUENCE     0x30
#define TAG_VERSION      0xA0 /* [0] EXPLICIT, constructed */
#define TAG_EXTENSIONS   0xA3 /* [3] EXPLICIT, constructed */
#define TAG_SAN_IP       0x87 /* GeneralName iPAddress [7] IMPLICIT */

/* id-ce-subjectAltName, 2.5.29.17, content octets of the OID. */
static const uint8_t OID_SAN[] = { 0x55, 0x1D, 0x11 };

/* Length octets we accept: X.509 objects fit in 2^32 - 1 bytes. */
#define DER_MAX_LEN_OCTETS 4

struct der {
	const uint8_t *p;
	size_t len;
};

/* Takes one element from the front of in: its identifier octet into *tag
 * and its contents into *val. Low-tag-number form and definite lengths
 * only (X.690 10.1: DER forbids the indefinite form). 0, or -1 when the
 * element is malformed or runs past the end of in. */
static int der_take(struct der *in, uint8_t *tag, struct der *val)
{
	size_t n, hdr = 2, k, i;

	if (in->len < 2)
		return -1;
	*tag = in->p[0];
	if ((*tag & 0x1F) == 0x1F)
		return -1;
	n = in->p[1];
	if (n & 0x80) {
		k = n & 0x7F;
		if (k == 0 || k > DER_MAX_LEN_OCTETS || k > in->len - 2)
			return -1;
		n = 0;
		for (i = 0; i < k; i++)
			n = (n << 8) | in->p[2 + i];
		hdr += k;
	}
	if (n > in->len - hdr)
		return -1;
	val->p = in->p + hdr;
	val->len = n;
	in->p += hdr + n;
	in->len -= hdr + n;
	return 0;
}

/* GeneralNames ::= SEQUENCE OF GeneralName (RFC 5280 4.2.1.6), inside
 * the extension's OCTET STRING. */
static int names_have_ip(struct der val, const uint8_t *addr, size_t len)
{
	struct der names, gn;
	uint8_t tag;

	if (der_take(&val, &tag, &names) != 0 || tag != TAG_SEQUENCE
	    || val.len != 0)
		return COLLAB_ESYNTAX;
	while (names.len > 0) {
		if (der_take(&names, &tag, &gn) != 0)
			return COLLAB_ESYNTAX;
		/* 4 octets for IPv4, 16 for IPv6, network byte order. */
		if (tag == TAG_SAN_IP && gn.len == len
		    && memcmp(gn.p, addr, len) == 0)
			return 1;
	}
	return 0;
}

int collab_tls_cert_has_ip(const uint8_t *der, size_t der_len,
			   const uint8_t *addr, size_t addr_len)
{
	struct der in, cert, tbs, v, exts, ext, oid, val;
	uint8_t tag;
	int i;

	if ((der == NULL && der_len != 0) || addr == NULL
	    || (addr_len != 4 && addr_len != 16))
		return COLLAB_EINVAL;
	in.p = der;
	in.len = der_len;
	/* RFC 5280 4.1: Certificate ::= SEQUENCE { tbsCertificate, ... } */
	if (der_take(&in, &tag, &cert) != 0 || tag != TAG_SEQUENCE
	    || der_take(&cert, &tag, &tbs) != 0 || tag != TAG_SEQUENCE)
		return COLLAB_ESYNTAX;
	/* version [0] (optional), serialNumber, then signature, issuer,
	 * validity, subject, subjectPublicKeyInfo: five SEQUENCEs. */
	if (der_take(&tbs, &tag, &v) != 0)
		return COLLAB_ESYNTAX;
	if (tag == TAG_VERSION && der_take(&tbs, &tag, &v) != 0)
		return COLLAB_ESYNTAX;
	for (i = 0; i < 5; i++)
		if (der_take(&tbs, &tag, &v) != 0 || tag != TAG_SEQUENCE)
			return COLLAB_ESYNTAX;
	/* issuerUniqueID [1], subjectUniqueID [2], extensions [3] */
	while (tbs.len > 0) {
		if (der_take(&tbs, &tag, &v) != 0)
			return COLLAB_ESYNTAX;
		if (tag != TAG_EXTENSIONS)
			continue;
		if (der_take(&v, &tag, &exts) != 0 || tag != TAG_SEQUENCE)
			return COLLAB_ESYNTAX;
		/* Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT
		 * FALSE, extnValue OCTET STRING }; at most one SAN (4.2). */
		while (exts.len > 0) {
			if (der_take(&exts, &tag, &ext) != 0
			    || tag != TAG_SEQUENCE
			    || der_take(&ext, &tag, &oid) != 0
			    || tag != TAG_OID
			    || der_take(&ext, &tag, &val) != 0)
				return COLLAB_ESYNTAX;
			if (tag == TAG_BOOLEAN
			    && der_take(&ext, &tag, &val) != 0)
				return COLLAB_ESYNTAX;
			if (tag != TAG_OCTET_STRING)
				return COLLAB_ESYNTAX;
			if (oid.len == sizeof OID_SAN
			    && memcmp(oid.p, OID_SAN, sizeof OID_SAN) == 0)
				return names_have_ip(val, addr, addr_len);
		}
		return 0;
	}
	return 0;
}

/* ---- the X.509 class wrapper ------------------------------------------ */

static struct collab_tls_ipcheck *ipc(const br_x509_class **ctx)
{
	return (struct collab_tls_ipcheck *)(void *)ctx;
}

static void ip_start_chain(const br_x509_class **ctx, const char *name)
{
	struct collab_tls_ipcheck *x = ipc(ctx);

	(void)name;
	x->certs = 0;
	x->ee_len = 0;
	x->overflow = 0;
	/* No name: the minimal engine then skips its dNSName match. */
	(*x->inner)->start_chain(x->inner, NULL);
}

static void ip_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct collab_tls_ipcheck *x = ipc(ctx);

	if (x->certs == 0 && length > x->ee_cap)
		x->overflow = 1;
	(*x->inner)->start_cert(x->inner, length);
}

static void ip_append(const br_x509_class **ctx, const unsigned char *buf,
		      size_t len)
{
	struct collab_tls_ipcheck *x = ipc(ctx);

	if (x->certs == 0 && !x->overflow) {
		if (len > x->ee_cap - x->ee_len) {
			x->overflow = 1;
		} else {
			memcpy(x->ee + x->ee_len, buf, len);
			x->ee_len += len;
		}
	}
	(*x->inner)->append(x->inner, buf, len);
}

static void ip_end_cert(const br_x509_class **ctx)
{
	struct collab_tls_ipcheck *x = ipc(ctx);

	(*x->inner)->end_cert(x->inner);
	x->certs++;
}

static unsigned ip_end_chain(const br_x509_class **ctx)
{
	struct collab_tls_ipcheck *x = ipc(ctx);
	unsigned r = (*x->inner)->end_chain(x->inner);

	if (r != 0)
		return r;
	if (x->certs == 0)
		return BR_ERR_X509_EMPTY_CHAIN;
	if (x->overflow)
		return BR_ERR_X509_LIMIT_EXCEEDED;
	if (collab_tls_cert_has_ip(x->ee, x->ee_len, x->addr, x->addr_len)
	    != 1)
		return BR_ERR_X509_BAD_SERVER_NAME;
	return 0;
}

static const br_x509_pkey *ip_get_pkey(const br_x509_class *const *ctx,
				       unsigned *usages)
{
	const struct collab_tls_ipcheck *x =
		(const struct collab_tls_ipcheck *)(const void *)ctx;

	return (*x->inner)->get_pkey(x->inner, usages);
}

const br_x509_class collab_tls_ipcheck_vtable = {
	sizeof(struct collab_tls_ipcheck),
	ip_start_chain,
	ip_start_cert,
	ip_append,
	ip_end_cert,
	ip_end_chain,
	ip_get_pkey,
};
