#!/usr/bin/env bash
# Puts Debian's kubectl (package kubernetes-client) into a private directory
# for the adapter tests, without dpkg: Google's kubectl (google-cloud-sdk)
# may own /usr/bin/kubectl, which makes `apt-get install kubernetes-client`
# fail on a file conflict. Prints the binary's path. Root or sudo, like
# deps.sh. Usage: kubectl.sh [DIR] (default /opt/tokentray-ci/kubernetes-client).
set -euo pipefail
dir=${1:-/opt/tokentray-ci/kubernetes-client}
bin="$dir/usr/bin/kubectl"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "kubectl.sh: not a Debian/Ubuntu system; install kubectl 1.20+ and set TOKENTRAY_KUBECTL to its path" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && $SUDO apt-get download -qq kubernetes-client >&2); then
  $SUDO apt-get update -qq >&2
  (cd "$tmp" && $SUDO apt-get download -qq kubernetes-client >&2)
fi
$SUDO mkdir -p "$dir"
$SUDO dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$dir"
"$bin" version --client >&2
echo "$bin"
