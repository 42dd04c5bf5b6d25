#!/usr/bin/env bash
# Installs the Azure SDK for JavaScript (@azure/identity, pinned) from npm
# into a cache directory for the Azure SDK endpoint test, and Node and npm
# (Debian's nodejs, npm) when they are missing. Idempotent: a cached
# install is reused. Prints the directory whose node_modules holds the
# package. Root or sudo for the Debian packages, like deps.sh.
# Usage: azure-js.sh [DIR]
#   (default ${XDG_CACHE_HOME:-~/.cache}/tokentray-ci/azure-identity-VERSION)
set -euo pipefail
ver=4.14.1
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/tokentray-ci/azure-identity-$ver}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if ! command -v apt-get >/dev/null; then
    echo "azure-js.sh: install Node.js 18+ with npm, then run this again" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >&2
fi
pkg="$dir/node_modules/@azure/identity/package.json"
if [ ! -f "$pkg" ] || ! grep -q "\"version\": \"$ver\"" "$pkg"; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@azure/identity@$ver" >&2
fi
# The package loads with this Node.
(cd "$dir" && node -e 'require("@azure/identity")') >&2
echo "$dir"
