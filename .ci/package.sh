#!/usr/bin/env bash
# make package: .deb and .rpm (nfpm, a Go tool dependency), a Linux .tar.xz
# (the fyne tool) and the Windows .exe (mingw-w64). With --deb-only, just the
# .deb (what CI installs).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${VERSION:-$(git describe --tags --always 2>/dev/null | sed 's/^v//' || echo 0.0.0)}
case "$VERSION" in [0-9]*) ;; *) VERSION="0.0.0+$VERSION" ;; esac
export VERSION ARCH=${ARCH:-amd64}
mkdir -p dist
go build -o bin/tokentray ./cmd/tokentray
go tool nfpm package --config packaging/nfpm.yaml --packager deb --target dist/
if [ "${1:-}" = "--deb-only" ]; then ls -l dist/*.deb; exit 0; fi
go tool nfpm package --config packaging/nfpm.yaml --packager rpm --target dist/
# The fyne tool reads FyneApp.toml from --src and builds with -trimpath (a
# cold cgo build); it deletes the plain binary it makes in the source dir.
cp FyneApp.toml cmd/tokentray/FyneApp.toml
sed -i 's#assets/icon.png#../../assets/icon.png#' cmd/tokentray/FyneApp.toml
go run fyne.io/tools/cmd/fyne@v1.7.4 package --os linux --src cmd/tokentray --icon ../../assets/icon.png --release
mv cmd/tokentray/*.tar.xz dist/ 2>/dev/null || mv ./*.tar.xz dist/ 2>/dev/null || true
rm -f cmd/tokentray/FyneApp.toml
bash .ci/cross.sh
cp dist/tokentray-windows-amd64.exe dist/tokentray.exe
ls -l dist/
