#!/usr/bin/env bash
# gotest.sh LOG ARGS...: go test -v ARGS into artifacts/LOG (kept for the
# secret scan and for reading failures), printing go test's per-package
# summary lines and, on failure, the failing tests' output.
set -uo pipefail
ART=${ART:-$PWD/artifacts}
log="$ART/$1"; shift
rc=0
"${GO:-go}" test -v "$@" > "$log" 2>&1 || rc=$?
grep -E '^(ok|FAIL|panic:|--- FAIL|\?)|^\s+--- FAIL' "$log" || true
if [ $rc -ne 0 ]; then
  echo "--- failures (full log: $log):"
  grep -nE -B2 -A25 -- '--- FAIL|^panic:|\[build failed\]|^# ' "$log" | head -300 || true
fi
exit $rc
