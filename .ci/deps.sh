#!/usr/bin/env bash
# Installs the system packages tokentray needs, only those missing.
# Linux (Debian/Ubuntu): apt-get as root, sudo otherwise.
# macOS / Windows: prints what to install.
set -euo pipefail
case "$(uname -s)" in
  Darwin)
    echo "macOS: install Xcode command line tools (xcode-select --install) and Go 1.26+; nothing else is needed." ;
    exit 0 ;;
  MINGW*|MSYS*|CYGWIN*)
    echo "Windows: install Go 1.26+ and a gcc (for example MSYS2's mingw-w64-x86_64-gcc) for the GUI build." ;
    exit 0 ;;
esac
if ! command -v dpkg-query >/dev/null; then
  echo "not a Debian/Ubuntu system: install the equivalents of: $*" >&2
  exit 0
fi
missing=()
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing missing packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
