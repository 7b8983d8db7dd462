#!/usr/bin/env bash
# Hostile tenants, budgets (docs/BENCHMARKS.md): one daemon serves
# modules/testkit (tenant default) and host/wasm/testdata/flood.wasm
# (tenant hostile, default budgets). `wasmrpcd bench` calls testkit's echo
# with nobody else, then while a loop calls flood's log_flood,
# stdout_flood and notify_flood one after the other (each tries 157 MiB
# of log, or 20,000 notifications), ROUNDS times, and prints the p99 of
# each run and the log bytes the daemon wrote per hostile call. Needs
# `make build modules broker`.
#
#   scripts/bench-budgets.sh          # CALLS=3000 CONCURRENCY=4 ROUNDS=3
set -euo pipefail
cd "$(dirname "$0")/.."

URL=${BENCH_URL:-rabbit://guest:guest@127.0.0.1:5672/}
CALLS=${CALLS:-3000}
CONCURRENCY=${CONCURRENCY:-4}
ROUNDS=${ROUNDS:-3}
SERVER=bench-host

id=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
good=bb_${id}_good flood=bb_${id}_flood notes=bb_${id}_notes
tmp=$(mktemp -d)
client_url="$URL?rabbit_transient_queues_ttl=60"
[[ $URL == *\?* ]] && client_url="$URL&rabbit_transient_queues_ttl=60"
daemon=""

cleanup() {
	[[ -n $daemon ]] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
	for t in "$good" "$flood"; do
		rabbitmqctl delete_queue "$t" >/dev/null 2>&1 || true
		rabbitmqctl delete_queue "$t.$SERVER" >/dev/null 2>&1 || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

for f in bin/wasmrpcd modules/testkit/testkit.wasm host/wasm/testdata/flood.wasm; do
	[[ -f $f ]] || { echo "$f is missing: make build modules" >&2; exit 1; }
done
cat >"$tmp/wasmrpcd.yaml" <<EOF
transport_url: $URL
server: $SERVER
admin_listen: ""
cache_dir: $PWD/.cache/wasmrpcd
log: {level: info, format: json}
tenants:
  hostile: {memory_limit: 16MiB, call_timeout: 10s, max_instances: 2, notification_topics: [$notes]}
modules:
  - {name: testkit, path: $PWD/modules/testkit/testkit.wasm, topic: $good}
  - {name: flood, path: $PWD/host/wasm/testdata/flood.wasm, topic: $flood, tenant: hostile}
EOF
bin/wasmrpcd run --config "$tmp/wasmrpcd.yaml" 2>"$tmp/wasmrpcd.log" &
daemon=$!
for _ in $(seq 60); do
	bin/wasmrpcd call --url "$client_url" --topic "$good" --timeout 2s echo '{"value": 1}' >/dev/null 2>&1 && break
	sleep 0.5
done

bench() {
	bin/wasmrpcd bench --url "$client_url" --topic "$good" --method echo --payload-bytes 100 \
		--concurrency "$CONCURRENCY" --calls "$CALLS" 2>/dev/null | tail -1
}
note="{\"topic\": \"$notes\", \"priority\": \"info\", \"publisher_id\": \"flood\", \"event_type\": \"flood.x\", \"payload\": \"x\"}"
attack() { # until $tmp/stop exists; counts hostile calls in $tmp/attacks
	local n=0
	while [[ ! -e $tmp/stop ]]; do
		bin/wasmrpcd call --url "$client_url" --topic "$flood" --timeout 60s log_flood >/dev/null 2>&1 || true
		bin/wasmrpcd call --url "$client_url" --topic "$flood" --timeout 60s stdout_flood >/dev/null 2>&1 || true
		bin/wasmrpcd call --url "$client_url" --topic "$flood" --timeout 60s notify_flood "$note" >/dev/null 2>&1 || true
		n=$((n + 3))
		echo "$n" >"$tmp/attacks"
	done
}

for r in $(seq "$ROUNDS"); do
	echo "round $r steady:      $(bench)"
	rm -f "$tmp/stop"
	echo 0 >"$tmp/attacks"
	before=$(stat -c %s "$tmp/wasmrpcd.log")
	attack &
	attacker=$!
	line=$(bench)
	touch "$tmp/stop"
	wait "$attacker"
	after=$(stat -c %s "$tmp/wasmrpcd.log")
	calls=$(cat "$tmp/attacks")
	echo "round $r under attack: $line hostile_calls=$calls log_bytes=$((after - before)) log_bytes_per_hostile_call=$(((after - before) / (calls > 0 ? calls : 1)))"
done
