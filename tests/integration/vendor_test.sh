#!/bin/sh
# Proves libcollab/libcollab.mk lets another project vendor the folder: copy
# libcollab/ into a scratch project as third_party/libcollab, write a
# three-line Makefile that includes it, build with the project's strict
# flags, run the program. Also checks `make install` output with pkg-config.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/app/third_party"
cp -r "$top/libcollab" "$work/app/third_party/libcollab"
cat > "$work/app/main.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "collab/collab.h"
int main(void)
{
	char out[16];
	size_t n = 0;
	if (collab_b64_encode((const uint8_t *)"hi!", 3, COLLAB_B64_STD, out, sizeof out, &n) != 0)
		return 1;
	if (collab_utf8_check((const uint8_t *)"caf\xc3\xa9", 5) != 0)
		return 1;
	printf("vendored: %.*s %s\n", (int)n, out, collab_strerror(COLLAB_EUTF8));
	return 0;
}
C
cat > "$work/app/Makefile" <<'MK'
CFLAGS := -Wall -Wextra -Werror
include third_party/libcollab/libcollab.mk
app: main.c $(COLLAB_LIB)
	$(CC) $(COLLAB_CFLAGS) $(CFLAGS) -o $@ main.c $(COLLAB_LIB) $(COLLAB_LDLIBS)
MK
make -s -C "$work/app" app >/dev/null
out=$("$work/app/app")
[ "$out" = "vendored: aGkh invalid UTF-8" ] || { echo "vendor-test: unexpected output: $out"; exit 1; }

make -s -C "$top" install PREFIX=/usr DESTDIR="$work/root" >/dev/null
[ -f "$work/root/usr/lib/libcollab.a" ] && [ -f "$work/root/usr/include/collab/collab.h" ] || { echo "vendor-test: install layout wrong"; exit 1; }
PKG_CONFIG_SYSROOT_DIR="$work/root" PKG_CONFIG_LIBDIR="$work/root/usr/lib/pkgconfig" \
	pkg-config --cflags --libs --static collab > "$work/pc.txt"
cc $(cat "$work/pc.txt") -std=c11 -o "$work/app2" "$work/app/main.c" $(cat "$work/pc.txt") 
"$work/app2" >/dev/null
echo "vendor-test: 2 passed, 0 failed"
