#!/usr/bin/env bash
# The Windows step of make test: the CGO-free tokentray.exe (keeper and CLI)
# runs under Wine 8.0 against the simulator on 127.0.0.1 (TestWine in
# cmd/tokentray/wine_test.go): Credential Manager with chunked envelopes,
# %AppData%, the HKCU Run autostart value, a headless keeper reached over
# its named pipe, Ctrl-C during a refresh. Log: artifacts/test-wine.log.
#
# Go 1.24+ programs need bcryptprimitives.dll (ProcessPrng), which Wine 8.0
# lacks: a test-only stand-in built from testdata/wine/bcryptprimitives.c
# goes into the throwaway prefix's system32. It is never shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
ART=${ART:-$PWD/artifacts}
export GO ART
mkdir -p "$ART"
t0=$(date +%s)

WINE64=/usr/lib/wine/wine64
if [ ! -x "$WINE64" ] || ! command -v wineserver >/dev/null; then
  bash .ci/deps.sh wine64 wine
fi
command -v x86_64-w64-mingw32-gcc >/dev/null || bash .ci/deps.sh gcc-mingw-w64-x86-64

work=$(mktemp -d "${TMPDIR:-/tmp}/tokentray-wine.XXXXXX")
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
cleanup() {
  wineserver -k >/dev/null 2>&1 || true # only this prefix's processes
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/tmp"

CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $GO build -o "$work/tokentray.exe" ./cmd/tokentray
x86_64-w64-mingw32-gcc -shared -O2 -o "$work/bcryptprimitives.dll" \
  testdata/wine/bcryptprimitives.c testdata/wine/bcryptprimitives.def
TMPDIR="$work/tmp" wineboot --init >/dev/null 2>&1
wineserver -w
cp "$work/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
TMPDIR="$work/tmp" "$WINE64" "$work/tokentray.exe" version >/dev/null

# The window program beside it, for the login entry (--start-keeper). Same
# flags as make cross, so the cgo build is cached once for both.
CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
  $GO build -ldflags "-H=windowsgui -s -w" -o "$work/tokentray-window.exe" ./cmd/tokentray-window

rc=0
TMPDIR="$work/tmp" TOKENTRAY_WINE=1 TOKENTRAY_WINE_LOADER="$WINE64" TOKENTRAY_WINE_EXE="$work/tokentray.exe" \
  TOKENTRAY_WINE_WINDOW_EXE="$work/tokentray-window.exe" \
  TOKENTRAY_BIN="$work/tokentray.exe" \
  bash .ci/gotest.sh test-wine.log -count=1 -timeout 10m -run '^TestWine$' ./cmd/tokentray/ || rc=$?
echo "windows step (wine): $(( $(date +%s) - t0 )) s"
exit $rc
