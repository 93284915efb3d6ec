/*
 * fuzz_static.c - srv_static_clean_path() (server/static.h) on any bytes:
 * whatever it accepts must be a relative path that cannot leave the
 * folder: no leading '/', no empty segment, no segment starting with '.',
 * no '\', NUL or control byte, within the length and segment limits.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[SRV_STATIC_MAX_PATH];
	size_t n = 0, i, segs = 1;
	bool dir = false;
	int rc;

	rc = srv_static_clean_path((const char *)data, size, out, sizeof(out),
				   &n, &dir);
	if (rc != 0) {
		if (rc != COLLAB_ESYNTAX && rc != COLLAB_ENOTFOUND &&
		    rc != COLLAB_ESPACE)
			abort();
		return 0;
	}
	if (n > SRV_STATIC_MAX_PATH || size == 0 || data[0] != '/')
		abort();
	if (n == 0)
		return 0;
	if (out[0] == '/' || out[n - 1] == '/' || out[0] == '.')
		abort();
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)out[i];
		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			abort();
		if (ch == '/') {
			segs++;
			if (out[i + 1] == '/' || out[i + 1] == '.')
				abort();
		}
	}
	if (segs > SRV_STATIC_MAX_SEGMENTS)
		abort();
	return 0;
}
