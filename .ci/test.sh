#!/usr/bin/env bash
# The whole suite (make test): vet, unit tests, -race on internal/, keychain
# integration against a real gnome-keyring in a private D-Bus session
# (DISPLAY unset, so no unlock prompt can hang), GUI tests under Xvfb with the
# tray driven over D-Bus, the Windows build of the keeper and CLI under Wine
# (.ci/wine.sh), a short fuzz pass on every fuzz target, the
# import-rule test, and a scan of everything the suite logged for the tokens
# the simulator issued. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=C.UTF-8 LC_ALL=C.UTF-8
GO=${GO:-go}
ART=$PWD/artifacts
mkdir -p "$ART"
rm -f "$ART"/test-*.log
step() { printf '\n=== %s\n' "$*"; }

export GO ART

step "no built program or file over 5 MB tracked in git (.ci/no-binaries.sh, tested by .ci/no-binaries_test.sh)"; bash .ci/no-binaries_test.sh; bash .ci/no-binaries.sh

step "Debian's kubectl for the kubectl adapter test (.ci/kubectl.sh, outside dpkg)"
TOKENTRAY_KUBECTL=$(bash .ci/kubectl.sh)
export TOKENTRAY_KUBECTL

step "Node's Azure SDK (@azure/identity, npm) in a cache directory for the Azure SDK endpoint test (.ci/azure-js.sh)"
TOKENTRAY_AZURE_JS=$(bash .ci/azure-js.sh)
export TOKENTRAY_AZURE_JS

step "go vet"
$GO vet ./...

step "unit tests (-race on internal/) with keychain integration against gnome-keyring in a private dbus-run-session"
env -u DISPLAY -u WAYLAND_DISPLAY dbus-run-session -- bash .ci/with-keyring.sh bash -c '
  set -e
  bash .ci/gotest.sh test-internal.log -race -skip "TestGUI|TestE2E" ./internal/...
  bash .ci/gotest.sh test-cmd-ui.log -skip "TestGUI|TestE2E" ./cmd/... ./ui/... ./assets/...
'

step "GUI + tray end-to-end under Xvfb and a private D-Bus session"
$GO build -o bin/tokentray ./cmd/tokentray
$GO build -o bin/tokentray-window ./cmd/tokentray-window
export TOKENTRAY_GUI_TEST=1 TOKENTRAY_BIN="$PWD/bin/tokentray" TOKENTRAY_WINDOW_BIN="$PWD/bin/tokentray-window" TOKENTRAY_ARTIFACTS="$ART"
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp -noreset" dbus-run-session -- \
  bash -c 'bash .ci/gotest.sh test-gui.log -count=1 -run "TestGUI|TestE2E" ./ui/... ./cmd/...'
unset TOKENTRAY_GUI_TEST

step "trust tests of docs/RELIABILITY.md: none skipped, none missing from the logs (.ci/trust-skips.sh)"
bash .ci/trust-skips.sh --self-test && bash .ci/trust-skips.sh docs/RELIABILITY.md "$ART"/test-*.log

step "Windows: tokentray.exe (keeper and CLI) under Wine against the simulator"
bash .ci/wine.sh

step "fuzz (short pass on every target)"
bash .ci/fuzz.sh "${FUZZTIME:-1000x}" 2>&1 | tee "$ART/test-fuzz.log" | grep -E '^(---|ok|FAIL|fuzz:.*targets|PASS)' 

step "secret scan of everything the suite logged"
bash .ci/secret-scan.sh "$ART"

echo
echo "make test: all steps passed"
