#!/usr/bin/env bash
# The whole suite (make test): vet, unit tests, -race on internal/, keychain
# integration against a real gnome-keyring in a private D-Bus session
# (DISPLAY unset, so no unlock prompt can hang), GUI tests under Xvfb with the
# tray driven over D-Bus, a short fuzz pass on every fuzz target and the
# import-rule test. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=C.UTF-8 LC_ALL=C.UTF-8
GO=${GO:-go}
mkdir -p artifacts
step() { printf '\n=== %s\n' "$*"; }

step "go vet"
$GO vet ./...

step "unit tests (-race on internal/) with keychain integration against gnome-keyring in a private dbus-run-session"
env -u DISPLAY -u WAYLAND_DISPLAY dbus-run-session -- bash .ci/with-keyring.sh bash -c '
  set -e
  '"$GO"' test -race -skip "TestGUI|TestE2E" ./internal/...
  '"$GO"' test -skip "TestGUI|TestE2E" ./cmd/... ./ui/...
'

step "GUI + tray end-to-end under Xvfb and a private D-Bus session"
$GO build -o bin/tokentray ./cmd/tokentray
TOKENTRAY_GUI_TEST=1 TOKENTRAY_BIN="$PWD/bin/tokentray" TOKENTRAY_ARTIFACTS="$PWD/artifacts" \
  xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" dbus-run-session -- \
  $GO test -count=1 -run 'TestGUI|TestE2E' ./ui/... ./cmd/...

step "fuzz (short pass on every target)"
bash .ci/fuzz.sh "${FUZZTIME:-3s}"

echo
echo "make test: all steps passed"
