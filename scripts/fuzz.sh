#!/usr/bin/env bash
# Runs every fuzz target of the repository for the given time each
# (default 30s): `make fuzz FUZZTIME=2m`. It goes through every target and
# fails at the end if any failed. The seed corpora also run in `make test`,
# as every test does.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}

failed=()
while read -r file; do
	pkg=./$(dirname "${file#./}")
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
		echo "== $pkg $target ($fuzztime)"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"; then
			failed+=("$pkg $target")
		fi
	done
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | sort)

if [ ${#failed[@]} -gt 0 ]; then
	printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
	exit 1
fi
