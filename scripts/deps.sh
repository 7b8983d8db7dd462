#!/usr/bin/env bash
# Installs the Debian packages wasmrpcd's build and tests need, when they are
# missing: RabbitMQ, Python oslo.messaging (the interop peer), clang and lld
# (the C module), wabt (hand-written test modules), and Python's brotli and
# zstandard modules with the brotli, zstd and xz tools (kombu's compression
# codecs, checked against wasmrpcd's). Needs root or sudo; without
# either it prints the command to run and fails.
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_cmd rabbitmq-server || [ -x /usr/sbin/rabbitmq-server ] || need+=(rabbitmq-server)
/usr/bin/python3 -c 'import oslo_messaging' >/dev/null 2>&1 || need+=(python3-oslo.messaging)
have_cmd clang || need+=(clang)
have_cmd wasm-ld || need+=(lld)
have_cmd wat2wasm || need+=(wabt)
/usr/bin/python3 -c 'import brotli' >/dev/null 2>&1 || need+=(python3-brotli)
/usr/bin/python3 -c 'import zstandard' >/dev/null 2>&1 || need+=(python3-zstandard)
have_cmd brotli || need+=(brotli)
have_cmd zstd || need+=(zstd)
have_cmd xz || need+=(xz-utils)

if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi

echo "deps: installing ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif sudo -n true 2>/dev/null; then
	sudo=(sudo -n)
else
	echo "deps: missing Debian packages; run:" >&2
	echo "  sudo apt-get install -y ${need[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# Debian starts RabbitMQ through systemd where there is one;
# scripts/broker.sh starts it where there is not.
"${sudo[@]}" apt-get install -y -qq "${need[@]}"
