/*
 * fuzz_tls.c - the tls module's input parsing: the iPAddress
 * subjectAltName search (this module's own DER reader) and the PEM loaders
 * (this module's object walk, key copy and key/certificate match around
 * BearSSL's decoders).
 *
 * The first byte picks the target:
 *   0: collab_tls_cert_has_ip, next 4 bytes the IPv4 address, rest the DER
 *   1: the same with a 16-byte IPv6 address
 *   2: collab_tls_server_load_mem, next 2 bytes (big-endian) the length of
 *      the certificate PEM, rest the key PEM
 *   3: collab_tls_client_load_mem on the rest
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/tls.h"

/* Inputs are copied to exactly-sized heap blocks so ASan sees overreads. */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d != NULL && n)
		memcpy(d, p, n);
	return d;
}

static void one_ip(const uint8_t *data, size_t size, size_t alen)
{
	uint8_t *der;
	int rc;

	if (size < alen)
		return;
	der = dup_exact(data + alen, size - alen);
	if (der == NULL)
		return;
	rc = collab_tls_cert_has_ip(der, size - alen, data, alen);
	if (rc != 0 && rc != 1 && rc != COLLAB_ESYNTAX)
		abort();
	free(der);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct collab_tls_config cfg;

	if (size < 1)
		return 0;
	collab_tls_config_init(&cfg);
	/* keep each run small and fast */
	cfg.max_file_bytes = 1 << 16;
	cfg.session_cache_entries = 1;
	switch (data[0] & 3) {
	case 0:
		one_ip(data + 1, size - 1, 4);
		break;
	case 1:
		one_ip(data + 1, size - 1, 16);
		break;
	case 2: {
		struct collab_tls_server srv;
		size_t split;
		uint8_t *cert, *key;

		if (size < 3)
			return 0;
		split = (size_t)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (split > size)
			split = size;
		cert = dup_exact(data, split);
		key = dup_exact(data + split, size - split);
		if (cert && key
		    && collab_tls_server_load_mem(&srv, &cfg, cert, split, key,
						  size - split, NULL) == 0) {
			struct collab_tls_conn c;

			/* a loaded configuration must make connections */
			if (collab_tls_conn_init_server(&c, &srv, NULL) != 0)
				abort();
			collab_tls_conn_free(&c);
		}
		collab_tls_server_free(&srv);
		free(cert);
		free(key);
		break;
	}
	default: {
		struct collab_tls_client cli;
		uint8_t *ca = dup_exact(data + 1, size - 1);

		if (ca && collab_tls_client_load_mem(&cli, &cfg, ca, size - 1,
						     NULL) == 0) {
			struct collab_tls_conn c;

			if (collab_tls_conn_init_client(&c, &cli, "localhost",
							9, NULL, NULL) != 0)
				abort();
			collab_tls_conn_free(&c);
		}
		collab_tls_client_free(&cli);
		free(ca);
		break;
	}
	}
	return 0;
}
