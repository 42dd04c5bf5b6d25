#!/usr/bin/env bash
# The core builds with CGO_ENABLED=0 for every OS. The keeper and CLI
# (cmd/tokentray, which links no GUI toolkit) build with CGO_ENABLED=0 for
# Linux and Windows; on macOS its menu-bar icon needs cgo (fyne.io/systray),
# so it is built on a Mac. The window program (Fyne) cross-builds for
# windows/amd64 with mingw-w64.
set -euo pipefail
cd "$(dirname "$0")/.."
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64; do
  echo "--- CGO_ENABLED=0 $target ./internal/..."
  CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build ./internal/...
done
mkdir -p dist
for target in linux/amd64 linux/arm64 windows/amd64; do
  os=${target%/*} arch=${target#*/} ext=
  [ "$os" = windows ] && ext=.exe
  echo "--- CGO_ENABLED=0 $target ./cmd/tokentray"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -ldflags "-s -w" -o "dist/tokentray-$os-$arch$ext" ./cmd/tokentray
done
# The small front installed as bin/tokentray on Linux and macOS (the full
# program goes to lib/tokentray/); Windows installs the full program as
# tokentray.exe.
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64; do
  echo "--- CGO_ENABLED=0 $target ./cmd/tokentray-front"
  CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build -ldflags "-s -w" -o "dist/tokentray-front-${target%/*}-${target#*/}" ./cmd/tokentray-front
done
echo "--- windows/amd64 window program (mingw-w64)"
CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
  go build -ldflags "-H=windowsgui -s -w" -o dist/tokentray-window-windows-amd64.exe ./cmd/tokentray-window
ls -l dist/tokentray-*
