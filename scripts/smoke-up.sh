#!/usr/bin/env bash
# Starts `npm run up` in a temp SLIPWAY_HOME on free ports, publishes the example site with the
# CLI, fetches it through the edge, and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
home=$(mktemp -d /tmp/slipway-smoke.XXXXXX)
port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
export SLIPWAY_HOME=$home SLIPWAY_API_PORT=$(port) SLIPWAY_HTTP_PORT=$(port) SLIPWAY_HTTPS_PORT=$(port)
# Stopping `up` takes the edge and the apps with it and cleans the host: the end of this script
# stops `up` alone and fails when anything of this home outlives it.
export SLIPWAY_UP_STOP_APPS=1
log=$home/up.out
# Its own session, so stopping it signals npm, up and every child together (npm itself does
# not pass SIGTERM on to its script).
setsid npm run up >"$log" 2>&1 &
pid=$!
cleanup() {
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -rf "$home"
}
trap cleanup EXIT
for _ in $(seq 1 240); do
  grep -q 'Slipway is up.' "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done
grep -q 'Slipway is up.' "$log" || { cat "$log"; echo "slipway up did not come up"; exit 1; }
npx slipway publish examples/hello --deployment smoke --wait
body=$(curl -fsS -H "Host: smoke.localhost" "http://127.0.0.1:$SLIPWAY_HTTP_PORT/")
echo "$body" | grep -q 'Hello from Slipway' || { echo "unexpected page: $body"; exit 1; }
# HTTPS with no setup: the local CA `up` printed is the only trusted root.
body=$(curl -fsS --cacert "$home/tls/local-ca.pem" --resolve "smoke.localhost:$SLIPWAY_HTTPS_PORT:127.0.0.1" "https://smoke.localhost:$SLIPWAY_HTTPS_PORT/")
echo "$body" | grep -q 'Hello from Slipway' || { echo "unexpected page over HTTPS: $body"; exit 1; }

# The leftover check. `up` alone gets the SIGTERM (as from `slipway down`), not its process
# group, which would reach the edge directly: its own stop must take the edge. Then nothing may
# still run with this SLIPWAY_HOME (npm, up, server, edge, agent all carry it) and the edge must
# have removed its edge.json. Only exec'd processes show an exported variable in
# /proc/<pid>/environ, so this shell and its subshells never match; the greps read other pids.
kill -TERM "$(cat "$home/up.lock")"
for _ in $(seq 1 240); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
leftovers() {
  local p
  for p in /proc/[0-9]*; do
    grep -qzxF "SLIPWAY_HOME=$home" "$p/environ" 2>/dev/null && echo "  pid ${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
  done
  return 0
}
left=$(leftovers)
if [ -n "$left" ] || [ -e "$home/edge/edge.json" ]; then
  echo "left running after slipway up stopped with SLIPWAY_UP_STOP_APPS=1:"
  echo "${left:-  (no process)}"
  [ -e "$home/edge/edge.json" ] && echo "  $home/edge/edge.json: $(cat "$home/edge/edge.json")"
  cat "$home/logs/edge.log" 2>/dev/null | tail -20
  exit 1
fi
echo "smoke: ok (nothing left running)"
