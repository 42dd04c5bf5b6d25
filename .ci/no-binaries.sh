#!/usr/bin/env bash
# no-binaries.sh [DIR]: fails when a file tracked in the git repository at DIR
# (default: this repository) is a built program — ELF, PE (MZ header with a
# PE signature) or Mach-O (thin or universal) by its magic bytes — or is over
# 5 MB, naming each such file. Build output belongs in bin/ (ignored), never
# in git.
set -euo pipefail
dir=${1:-"$(dirname "$0")/.."}
cd "$dir"
limit=$((5 * 1024 * 1024))
bad=0

# hexbytes FILE SKIP COUNT: COUNT bytes from offset SKIP as lower-case hex.
hexbytes() { od -An -v -tx1 -j "$2" -N "$3" -- "$1" | tr -d ' \n'; }

kind() {
  local f=$1 head off
  head=$(hexbytes "$f" 0 4)
  case $head in
    7f454c46) echo "an ELF program"; return ;;
    feedface | feedfacf | cefaedfe | cffaedfe) echo "a Mach-O program"; return ;;
    cafebabe | bebafeca) echo "a Mach-O universal program"; return ;;
    4d5a*)
      # MZ: a PE file when the 32-bit little-endian offset at 0x3c points at "PE\0\0".
      off=$(hexbytes "$f" 60 4)
      if [ ${#off} -eq 8 ]; then
        off=$((16#${off:6:2}${off:4:2}${off:2:2}${off:0:2}))
        if [ "$(hexbytes "$f" "$off" 4)" = 50450000 ]; then
          echo "a PE (Windows) program"; return
        fi
      fi
      ;;
  esac
}

while IFS= read -r -d '' f; do
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  size=$(wc -c < "$f")
  if [ "$size" -gt "$limit" ]; then
    echo "no-binaries: $f is tracked and $size bytes, over the 5 MB limit (5242880 bytes); untrack it (git rm --cached) and keep it out of git" >&2
    bad=1
  fi
  k=$(kind "$f")
  if [ -n "$k" ]; then
    echo "no-binaries: $f is tracked and is $k; untrack it (git rm --cached) and ignore it in .gitignore" >&2
    bad=1
  fi
done < <(git ls-files -z)

if [ $bad -ne 0 ]; then exit 1; fi
echo "no-binaries: $(git ls-files | wc -l) tracked files, none a built program or over 5 MB"
