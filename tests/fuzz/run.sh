#!/bin/sh
# Runs each libFuzzer target given on the command line for FUZZ_SECONDS,
# starting from a scratch copy of its seed corpus (tests/fuzz/corpus/NAME)
# so that the committed seeds never change under a run. Exits non-zero on
# the first crash, leak or sanitizer report.
set -eu
secs=${FUZZ_SECONDS:-60}
here=$(dirname "$0")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for bin in "$@"; do
	name=$(basename "$bin"); name=${name#fuzz_}
	mkdir -p "$work/$name"
	if [ -d "$here/corpus/$name" ]; then cp -r "$here/corpus/$name/." "$work/$name/"; fi
	echo "== fuzz $name for ${secs}s"
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/" -print_final_stats=0 "$work/$name" \
		>"$work/$name.log" 2>&1 || { tail -n 60 "$work/$name.log"; exit 1; }
	grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs)' "$work/$name.log" | tail -n 1 || true
done
echo "fuzz: $# targets clean"
