#!/usr/bin/env bash
# Runs every fuzz target for the given time (default 3s): go test -fuzz takes
# one target of one package at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-3s}
found=0
while IFS=: read -r file _ line; do
  name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"$line")
  pkg=./$(dirname "$file")
  echo "--- fuzz $pkg $name ($t)"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "$pkg"
  found=$((found+1))
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' internal cmd ui 2>/dev/null | sort)
echo "fuzz: $found targets passed"
