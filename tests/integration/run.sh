#!/bin/sh
# Runs every integration test in this folder against the built programs:
#   test_*.py  with Debian's /usr/bin/python3 (it sees python3-websockets)
#   test_*.js  with node (peers from tests/node/node_modules)
#   test_*.sh  with sh
# Each test starts its own servers on 127.0.0.1 port 0 and stops them by PID.
# ASAN_BIN / BIN name the sanitized and release program folders.
# ONLY=substring runs a subset.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export ASAN_BIN="${ASAN_BIN:-build/asan/bin}" BIN="${BIN:-build/bin}"
case $ASAN_BIN in /*) ;; *) ASAN_BIN="$top/$ASAN_BIN" ;; esac
case $BIN in /*) ;; *) BIN="$top/$BIN" ;; esac
export NODE_PATH="$top/tests/node/node_modules"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
pass=0 fail=0 failed=""
for t in "$here"/test_*; do
	[ -f "$t" ] || continue
	name=$(basename "$t")
	case "$name" in *"${ONLY:-}"*) ;; *) continue ;; esac
	case "$name" in
	*.py) cmd="/usr/bin/python3 $t" ;;
	*.js) cmd="node $t" ;;
	*.sh) cmd="sh $t" ;;
	*) continue ;;
	esac
	start=$(date +%s)
	if (cd "$top" && timeout 600 $cmd) > "/tmp/collab-it-$name.log" 2>&1; then
		pass=$((pass + 1)); echo "ok   $name ($(( $(date +%s) - start ))s)"
	else
		fail=$((fail + 1)); failed="$failed $name"
		echo "FAIL $name"; tail -n 40 "/tmp/collab-it-$name.log"
	fi
done
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
