#!/usr/bin/env bash
# make package: .deb and .rpm (nfpm, a Go tool dependency), a Linux .tar.xz
# and the Windows .exe pair (mingw-w64), each with both programs: the keeper
# and CLI `tokentray` (on Linux: the small front bin/tokentray that answers
# `tokentray token`, and the full program in lib/tokentray/) and the window
# `tokentray-window`. With --deb-only,
# just the .deb (what CI installs).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${VERSION:-$(git describe --tags --always 2>/dev/null | sed 's/^v//' || echo 0.0.0)}
case "$VERSION" in [0-9]*) ;; *) VERSION="0.0.0+$VERSION" ;; esac
export VERSION ARCH=${ARCH:-amd64}
mkdir -p dist
go build -ldflags "-X main.version=$VERSION" -o bin/tokentray ./cmd/tokentray
go build -ldflags "-X main.version=$VERSION" -o bin/tokentray-front ./cmd/tokentray-front
go build -ldflags "-X main.version=$VERSION" -o bin/tokentray-window ./cmd/tokentray-window
go tool nfpm package --config packaging/nfpm.yaml --packager deb --target dist/
if [ "${1:-}" = "--deb-only" ]; then ls -l dist/*.deb; exit 0; fi
go tool nfpm package --config packaging/nfpm.yaml --packager rpm --target dist/
# .tar.xz: the same files under usr/local, unpacked with
# sudo tar -xJf tokentray-*.tar.xz -C /
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -Dm755 bin/tokentray-front "$stage/usr/local/bin/tokentray"
install -Dm755 bin/tokentray "$stage/usr/local/lib/tokentray/tokentray"
install -Dm755 bin/tokentray-window "$stage/usr/local/bin/tokentray-window"
install -Dm644 packaging/linux/tokentray.desktop "$stage/usr/local/share/applications/tokentray.desktop"
install -Dm644 assets/icon.png "$stage/usr/local/share/icons/hicolor/256x256/apps/tokentray.png"
install -Dm644 packaging/linux/tokentray.service "$stage/usr/local/lib/systemd/user/tokentray.service"
sed -i 's#/usr/bin/tokentray#/usr/local/bin/tokentray#' "$stage/usr/local/lib/systemd/user/tokentray.service"
tar -C "$stage" -cJf "dist/tokentray-$VERSION-linux-$ARCH.tar.xz" usr
bash .ci/cross.sh
cp dist/tokentray-windows-amd64.exe dist/tokentray.exe
cp dist/tokentray-window-windows-amd64.exe dist/tokentray-window.exe
ls -l dist/
