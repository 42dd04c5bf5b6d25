#!/usr/bin/env bash
# make soak: the long reliability run. With TOKENTRAY_SOAK=1 the suites run
# their long versions: the fault matrix over 90 days of fake time, 200
# kill -9 cycles per rotation policy on the file backend and on a real
# gnome-keyring (in a private D-Bus session, DISPLAY unset), 10 rounds of
# the 20-process concurrency check; then every fuzz target for
# SOAK_FUZZTIME (default 10m; 0 skips fuzzing). The RELIABILITY figures are
# collected in artifacts/soak-figures.txt. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=C.UTF-8 LC_ALL=C.UTF-8 TOKENTRAY_SOAK=1
GO=${GO:-go}
FUZZTIME=${SOAK_FUZZTIME:-10m}
mkdir -p artifacts
step() { printf '\n=== %s\n' "$*"; }
started=$(date +%s)

step "fault matrix: 20 accounts, every simulator fault, 3 rotation policies, 90 days of fake time"
$GO test -count=1 -timeout 60m -v -run '^TestSoakFaultMatrix$' ./internal/engine/ 2>&1 | tee artifacts/soak-faultmatrix.txt

step "crash safety (kill -9, 200 cycles per policy) and concurrency (10 rounds), file backend"
$GO test -count=1 -timeout 60m -v -run '^(TestCrashKill9FileBackend|TestConcurrencyHeadlessAnd20TokenProcessesOneRefresh)$' \
  ./cmd/tokentray/ 2>&1 | tee artifacts/soak-file.txt

step "crash safety and concurrency against gnome-keyring in a private dbus-run-session"
env -u DISPLAY -u WAYLAND_DISPLAY dbus-run-session -- bash .ci/with-keyring.sh \
  $GO test -count=1 -timeout 60m -v -run '^(TestIntegrationCrashKill9Keychain|TestIntegrationConcurrencyKeychainOneRefresh)$' \
  ./cmd/tokentray/ 2>&1 | tee artifacts/soak-keychain.txt

step "figures"
grep -h 'RELIABILITY' artifacts/soak-faultmatrix.txt artifacts/soak-file.txt artifacts/soak-keychain.txt \
  | sed -E 's/^ *[a-z_]+\.go:[0-9]+: //' | tee artifacts/soak-figures.txt
echo "suites wall time: $(( $(date +%s) - started )) s" | tee -a artifacts/soak-figures.txt

if [ "$FUZZTIME" != "0" ]; then
  step "fuzz every target for $FUZZTIME"
  bash .ci/fuzz.sh "$FUZZTIME"
fi

echo
echo "make soak: all steps passed"
