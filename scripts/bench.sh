#!/usr/bin/env bash
# RPC over RabbitMQ, the figures of docs/BENCHMARKS.md: `wasmrpcd bench`
# against, in turn and each on a topic of its own,
#
#   wasmrpcd      the daemon serving modules/testkit/testkit.wasm (echo);
#   python        a Python oslo.messaging server (tests/python/rpc_server.py);
#   echo          tests/bench/echoserver, a bare amqp091-go request/reply
#                 echo without publisher confirms: the transport's ceiling;
#   echo-confirm  the same echo publishing its replies with confirms, one
#                 at a time per channel, as wasmrpcd does (8 channels);
#   echo-pipeline the same echo in confirm mode without waiting for each
#                 confirm (8 channels),
#
# at each concurrency of CONCURRENCY with the same payload and number of
# calls, REPEAT times, and prints a table of medians. Needs `make build
# modules broker` (make bench runs it after them).
#
#   scripts/bench.sh          # CALLS=5000 PAYLOAD=100 CONCURRENCY="1 32" REPEAT=5
#   CALLS=20000 REPEAT=3 SERVERS="wasmrpcd echo" scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

URL=${BENCH_URL:-rabbit://guest:guest@127.0.0.1:5672/}
CALLS=${CALLS:-5000}
PAYLOAD=${PAYLOAD:-100}
CONCURRENCY=${CONCURRENCY:-1 32}
REPEAT=${REPEAT:-5}
SERVERS=${SERVERS:-wasmrpcd python echo echo-confirm echo-pipeline}
PYTHON=/usr/bin/python3
SERVER=bench-host

id=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
tmp=$(mktemp -d)
# Reply queues of the bench clients expire a minute after they end.
client_url="$URL?rabbit_transient_queues_ttl=60"
[[ $URL == *\?* ]] && client_url="$URL&rabbit_transient_queues_ttl=60"
pid=""
topics=()

cleanup() {
	for p in $(jobs -p); do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	for t in "${topics[@]}"; do
		rabbitmqctl delete_queue "$t" >/dev/null 2>&1 || true
		rabbitmqctl delete_queue "$t.$SERVER" >/dev/null 2>&1 || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "building bin/wasmrpcd and bin/echoserver" >&2
go build -o bin/wasmrpcd ./cmd/wasmrpcd
go build -o bin/echoserver ./tests/bench/echoserver
[[ -f modules/testkit/testkit.wasm ]] || { echo "modules/testkit/testkit.wasm is missing: make modules" >&2; exit 1; }

# wait_ready TOPIC: until an echo call through TOPIC answers.
wait_ready() {
	for _ in $(seq 60); do
		if bin/wasmrpcd call --url "$client_url" --topic "$1" --timeout 2s echo '{"value": 1}' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.5
	done
	echo "the server on $1 never answered" >&2
	return 1
}

# wait_line FILE LINE: until FILE has LINE.
wait_line() {
	for _ in $(seq 120); do
		grep -qx "$2" "$1" 2>/dev/null && return 0
		sleep 0.5
	done
	echo "no \"$2\" in $1" >&2
	return 1
}

start_server() { # NAME TOPIC
	case $1 in
	wasmrpcd)
		cat >"$tmp/wasmrpcd.yaml" <<-EOF
			transport_url: $URL
			server: $SERVER
			admin_listen: ""
			cache_dir: $PWD/.cache/wasmrpcd
			cache_key_file: $PWD/.cache/wasmrpcd.key
			log: {level: warn}
			modules:
			  - name: testkit
			    path: $PWD/modules/testkit/testkit.wasm
			    topic: $2
		EOF
		bin/wasmrpcd run --config "$tmp/wasmrpcd.yaml" 2>"$tmp/wasmrpcd.log" &
		pid=$!
		;;
	python)
		mkfifo "$tmp/py.in.$2"
		"$PYTHON" tests/python/rpc_server.py "$URL" openstack "$2" "$SERVER" <"$tmp/py.in.$2" >"$tmp/py.out" 2>"$tmp/py.log" &
		pid=$!
		exec 3>"$tmp/py.in.$2"
		wait_line "$tmp/py.out" ready
		;;
	echo | echo-confirm | echo-pipeline)
		flags=()
		[[ $1 == echo-confirm ]] && flags=(-confirm -workers 8)
		[[ $1 == echo-pipeline ]] && flags=(-pipeline -workers 8)
		bin/echoserver -url "${URL/#rabbit:/amqp:}" -topic "$2" "${flags[@]}" >"$tmp/$1.out" 2>"$tmp/$1.log" &
		pid=$!
		wait_line "$tmp/$1.out" ready
		;;
	*)
		echo "unknown server $1" >&2
		return 1
		;;
	esac
	wait_ready "$2"
}

# All servers run at once, each on its own topic, and the runs interleave
# (every server at one concurrency, then again), REPEAT times: on a shared
# machine whose load drifts, each server meets the same drift. The table
# gives each server's median run by rate.
declare -A pids
for s in $SERVERS; do
	topic="bench_${s//-/_}_$id"
	topics+=("$topic")
	echo "starting $s on topic $topic" >&2
	start_server "$s" "$topic"
	pids[$s]=$pid
	pid=""
done

echo "load before: $(uptime)"
declare -A runs
for r in $(seq "$REPEAT"); do
	for c in $CONCURRENCY; do
		for s in $SERVERS; do
			line=$(bin/wasmrpcd bench --url "$client_url" --topic "bench_${s//-/_}_$id" --method echo \
				--payload-bytes "$PAYLOAD" --concurrency "$c" --calls "$CALLS" | tail -n 1)
			echo "run $r: $s c=$c: $line" >&2
			runs[$s,$c]+="$line"$'\n'
		done
	done
done
echo "load after: $(uptime)"
for s in $SERVERS; do
	kill "${pids[$s]}" 2>/dev/null || true
	wait "${pids[$s]}" 2>/dev/null || true
done
exec 3>&- 2>/dev/null || true

# median RUNS: the run of median rate.
median() {
	sed -E '/^$/d; s/.*rate=([0-9.]+).*/\1 &/' | sort -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }' | cut -d' ' -f2-
}
field() { sed -E "s/.*$1=([0-9.]+).*/\1/"; }

echo
echo "calls=$CALLS per run, payload_bytes=$PAYLOAD (echo of a string argument), median of $REPEAT runs by rate"
printf '%-14s %6s %10s %9s %9s\n' server callers calls/s p50_ms p99_ms
declare -A rate
for s in $SERVERS; do
	for c in $CONCURRENCY; do
		m=$(printf '%s' "${runs[$s,$c]}" | median)
		rate[$s,$c]=$(field rate <<<"$m")
		printf '%-14s %6s %10s %9s %9s\n' "$s" "$c" "${rate[$s,$c]}" "$(field p50_ms <<<"$m")" "$(field p99_ms <<<"$m")"
	done
done
if [[ " $SERVERS " == *" wasmrpcd "* ]]; then
	echo
	for c in $CONCURRENCY; do
		for other in echo python; do
			[[ " $SERVERS " == *" $other "* ]] || continue
			awk -v a="${rate[wasmrpcd,$c]}" -v b="${rate[$other,$c]}" -v o="$other" -v c="$c" \
				'BEGIN { printf "wasmrpcd / %s at %s callers: %.2f\n", o, c, a / b }'
		done
	done
fi
