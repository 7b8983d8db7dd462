#!/usr/bin/env bash
# Runs every fuzz target of the repository for the given time each
# (default 30s): `make fuzz FUZZTIME=2m`. The seed corpora also run in
# `make test`, as every test does.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}

grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg=./$(dirname "${file#./}")
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
		echo "== $pkg $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
	done
done
