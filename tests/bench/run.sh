#!/bin/sh
# make bench: runs every benchmark and prints one table. Each C benchmark
# (build/bench/bench_*) prints lines "bench NAME VALUE UNIT"; comparisons
# with other libraries run in the same process, so their ratios are taken
# on the same machine state. Script benchmarks (echo_bench.py, server_bench)
# start their servers on 127.0.0.1 port 0 and stop them by PID.
# Figures vary with the load on this shared machine: quote the ratios.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BIN=${BIN:-$top/build/bin}
BENCH=${BENCH:-$top/build/bench}
# make passes them relative to the top folder, where it runs.
case $BIN in /*) ;; *) BIN="$PWD/$BIN" ;; esac
case $BENCH in /*) ;; *) BENCH="$PWD/$BENCH" ;; esac
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for b in "$BENCH"/bench_*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")" >&2
	"$b" | tee -a "$out" >&2
done
for s in "$here"/bench_*.py; do
	[ -f "$s" ] || continue
	echo "== $(basename "$s")" >&2
	BIN="$BIN" BENCH="$BENCH" NODE_PATH="$top/tests/node/node_modules" /usr/bin/python3 "$s" | tee -a "$out" >&2
done
if [ -f "$here/echo_bench.py" ] && [ -x "$BIN/collab-echo" ]; then
	echo "== echo_bench.py" >&2
	BIN="$BIN" NODE_PATH="$top/tests/node/node_modules" /usr/bin/python3 "$here/echo_bench.py" --bench-lines | tee -a "$out" >&2
fi

echo
printf '%-44s %14s  %s\n' benchmark value unit
grep '^bench ' "$out" | while read -r _ name value unit; do
	printf '%-44s %14s  %s\n' "$name" "$value" "$unit"
done
