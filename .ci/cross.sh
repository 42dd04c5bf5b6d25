#!/usr/bin/env bash
# The core builds with CGO_ENABLED=0 for every OS; the full GUI for
# windows/amd64 with mingw-w64.
set -euo pipefail
cd "$(dirname "$0")/.."
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64; do
  echo "--- CGO_ENABLED=0 $target ./internal/..."
  CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build ./internal/...
done
echo "--- windows/amd64 GUI (mingw-w64)"
mkdir -p dist
CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
  go build -ldflags "-H=windowsgui -s -w" -o dist/tokentray-windows-amd64.exe ./cmd/tokentray
ls -l dist/tokentray-windows-amd64.exe
