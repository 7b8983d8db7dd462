#!/usr/bin/env bash
# Where the CPU of an RPC call goes: for each server, the CPU time the
# broker (the local RabbitMQ's beam.smp) and the server process spend per
# call, and the client's, while `wasmrpcd bench` runs CALLS calls from
# CONCURRENCY callers; REPEAT interleaved rounds, medians. Servers:
#
#   wasmrpcd       the daemon serving modules/testkit/testkit.wasm
#   rpcecho-8      rpc.Server on the AMQP transport with a Go echo handler,
#                  8 publishing channels (the transport's default)
#   rpcecho-64     the same with 64 publishing channels
#   echo           tests/bench/echoserver, replies without confirms
#   echo-confirm   the same waiting for each reply's confirm (8 channels)
#   echo-pipeline  the same in confirm mode without waiting (8 channels)
#
# Needs `make build modules broker` and to run as a user who can read the
# broker's /proc/PID/stat (root, or rabbitmq). docs/BENCHMARKS.md records
# its figures.
#
#   tests/bench/cpu.sh        # CALLS=20000 CONCURRENCY=32 REPEAT=3
set -euo pipefail
cd "$(dirname "$0")/../.."

URL=${BENCH_URL:-rabbit://guest:guest@127.0.0.1:5672/}
CALLS=${CALLS:-20000}
CONCURRENCY=${CONCURRENCY:-32}
REPEAT=${REPEAT:-3}
SERVERS=${SERVERS:-wasmrpcd rpcecho-8 rpcecho-64 echo echo-confirm echo-pipeline}
SERVER=bench-host

go build -o bin/wasmrpcd ./cmd/wasmrpcd
go build -o bin/echoserver ./tests/bench/echoserver
go build -o bin/rpcecho ./tests/bench/rpcecho

broker=$(ss -ltnp | grep -E '[:.]5672 ' | head -n 1 | sed -E 's/.*pid=([0-9]+).*/\1/')
[[ -r /proc/$broker/stat ]] || { echo "cannot read the broker's /proc/$broker/stat" >&2; exit 1; }
ticks=$(getconf CLK_TCK)
cputicks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

id=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
tmp=$(mktemp -d)
client_url="$URL?rabbit_transient_queues_ttl=60"
declare -A pid
cleanup() {
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for s in $SERVERS; do
		t="cpu_${s//-/_}_$id"
		rabbitmqctl delete_queue "$t" >/dev/null 2>&1 || true
		rabbitmqctl delete_queue "$t.$SERVER" >/dev/null 2>&1 || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

for s in $SERVERS; do
	t="cpu_${s//-/_}_$id"
	case $s in
	wasmrpcd)
		printf 'transport_url: %s\nserver: %s\nadmin_listen: ""\ncache_dir: %s\ncache_key_file: %s\nlog: {level: warn}\nmodules:\n  - {name: testkit, path: %s, topic: %s}\n' \
			"$URL" "$SERVER" "$PWD/.cache/wasmrpcd" "$PWD/.cache/wasmrpcd.key" "$PWD/modules/testkit/testkit.wasm" "$t" >"$tmp/wasmrpcd.yaml"
		bin/wasmrpcd run --config "$tmp/wasmrpcd.yaml" >/dev/null 2>"$tmp/wasmrpcd.log" &
		;;
	rpcecho-*) bin/rpcecho -url "$URL" -topic "$t" -server "$SERVER" -publish-channels "${s#rpcecho-}" >/dev/null 2>&1 & ;;
	echo) bin/echoserver -url "${URL/#rabbit:/amqp:}" -topic "$t" >/dev/null 2>&1 & ;;
	echo-confirm) bin/echoserver -url "${URL/#rabbit:/amqp:}" -topic "$t" -confirm -workers 8 >/dev/null 2>&1 & ;;
	echo-pipeline) bin/echoserver -url "${URL/#rabbit:/amqp:}" -topic "$t" -pipeline -workers 8 >/dev/null 2>&1 & ;;
	*) echo "unknown server $s" >&2; exit 1 ;;
	esac
	pid[$s]=$!
done
for s in $SERVERS; do
	t="cpu_${s//-/_}_$id"
	for _ in $(seq 60); do
		bin/wasmrpcd call --url "$client_url" --topic "$t" --timeout 2s echo '{"value": 1}' >/dev/null 2>&1 && break
		sleep 0.5
	done
	bin/wasmrpcd bench --url "$client_url" --topic "$t" --concurrency "$CONCURRENCY" --calls 2000 >/dev/null # warm-up
done

echo "load before: $(uptime)"
declare -A runs
for r in $(seq "$REPEAT"); do
	for s in $SERVERS; do
		t="cpu_${s//-/_}_$id"
		b0=$(cputicks "$broker") s0=$(cputicks "${pid[$s]}")
		c0=$(date +%s%N)
		line=$( { /usr/bin/time -f "client=%U+%S" bin/wasmrpcd bench --url "$client_url" --topic "$t" \
			--concurrency "$CONCURRENCY" --calls "$CALLS" --warmup 0 | tail -n 1; } 2>&1 | tr '\n' ' ')
		b1=$(cputicks "$broker") s1=$(cputicks "${pid[$s]}")
		client=$(sed -E 's/.*client=([0-9.]+)\+([0-9.]+).*/\1 \2/' <<<"$line" | awk '{ print $1 + $2 }')
		rate=$(sed -E 's/.*rate=([0-9.]+).*/\1/' <<<"$line")
		res=$(awk -v b=$((b1 - b0)) -v s=$((s1 - s0)) -v c="$client" -v n="$CALLS" -v hz="$ticks" -v r="$rate" \
			'BEGIN { printf "%.1f %d %d %d", r, b / hz * 1e6 / n, s / hz * 1e6 / n, c * 1e6 / n }')
		echo "run $r $s: rate broker_us server_us client_us = $res" >&2
		runs[$s]+="$res"$'\n'
	done
done
echo "load after: $(uptime)"

echo
echo "CPU per call, µs (median of $REPEAT rounds by rate; $CALLS calls from $CONCURRENCY callers)"
printf '%-14s %9s %9s %9s %9s %9s\n' server calls/s broker server client total
for s in $SERVERS; do
	printf '%s' "${runs[$s]}" | sed '/^$/d' | sort -n | awk -v s="$s" '{ l[NR] = $0 } END {
		split(l[int((NR + 1) / 2)], f, " ")
		printf "%-14s %9s %9s %9s %9s %9d\n", s, f[1], f[2], f[3], f[4], f[2] + f[3] + f[4] }'
done
