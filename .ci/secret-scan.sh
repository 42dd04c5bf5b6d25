#!/usr/bin/env bash
# Fails when a token the simulator issued shows up in what the test suite
# logged or left behind. Every simulator token carries a recognisable prefix
# (simAT-, simRT-, simAC-, simDC-) and ID tokens are JWTs, so no list of
# issued tokens is needed. Usage: secret-scan.sh FILE|DIR...
set -euo pipefail
pattern='sim(AT|RT|AC|DC)-[A-Za-z0-9_-]{8,}|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}'
hits=$(grep -rEno --binary-files=without-match "$pattern" "$@" 2>/dev/null | sed -E 's/(sim..-[A-Za-z0-9_-]{4})[A-Za-z0-9_-]+/\1…/; s/(eyJ[A-Za-z0-9_-]{4})[^ ]+/\1…/' || true)
if [ -n "$hits" ]; then
  echo "secret scan: issued tokens found in test output or files (shown truncated):" >&2
  echo "$hits" | head -50 >&2
  exit 1
fi
echo "secret scan: no issued token in $(find "$@" -type f | wc -l) files"
