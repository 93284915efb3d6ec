#!/bin/sh
# What `make run` calls: starts collab-server with a demo tenant on
# 127.0.0.1:8080 (admin on 8081), serving the demo page of server/www.
#
# On first run it writes local/tenants.json (git-ignored) with a fresh
# random 48-byte secret for tenant "demo"; later runs keep it (the file is
# never overwritten, so tokens stay valid across restarts). The journal
# lives in local/data. Stop with Ctrl-C (SIGINT): the server closes every
# connection with 1001 and exits.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bin=build/bin/collab-server
if [ ! -x "$bin" ]; then
	echo "run-demo: $bin is missing; run 'make' first" >&2
	exit 1
fi

mkdir -p local
chmod 700 local
tenants=local/tenants.json
if [ ! -e "$tenants" ]; then
	# 48 random bytes as 64 base64url characters: the HMAC key, used as
	# written (PROTOCOL.md 10).
	secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_')
	if [ "${#secret}" -ne 64 ]; then
		echo "run-demo: cannot draw a secret from /dev/urandom" >&2
		exit 1
	fi
	umask 077
	tmp="$tenants.tmp.$$"
	cat > "$tmp" <<EOF
{"tenants":[{"id":"demo","secret":"$secret","origins":["http://127.0.0.1:8080","http://localhost:8080"],"anonymous":"read"}]}
EOF
	# never overwrite: a file that appeared meanwhile wins
	if ln "$tmp" "$tenants" 2>/dev/null; then
		echo "run-demo: wrote $tenants (tenant \"demo\", a fresh secret)"
	fi
	rm -f "$tmp"
fi
mkdir -p local/data

cat <<EOF
run-demo: open http://127.0.0.1:8080/ in two browser tabs (or two browsers)
          and annotate the article: both tabs stay in sync, with a live
          count of the people on the page.
          Admin: http://127.0.0.1:8081/health, /usage, /metrics
          Watch a room from a terminal (python3-websockets):
            python3 -m websockets 'ws://127.0.0.1:8080/ws?tenantId=demo&urlId=/'
            then type {"type":"hello"}
          Stop with Ctrl-C.
EOF
exec "$bin" --listen 127.0.0.1:8080 --admin 127.0.0.1:8081 \
	--tenants "$tenants" --data local/data --www server/www --demo
