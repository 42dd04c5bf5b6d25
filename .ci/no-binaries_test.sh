#!/usr/bin/env bash
# Tests .ci/no-binaries.sh on throwaway git repositories: a clean one passes;
# one tracking an ELF, a PE, a Mach-O program or a file over 5 MB fails and
# names the file; a text file that merely starts with "MZ" passes.
set -euo pipefail
script=$(cd "$(dirname "$0")" && pwd)/no-binaries.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

repo() { # repo NAME: a fresh repository with one text file
  local r=$tmp/$1
  git init -q "$r"
  printf 'package main\n' > "$r/main.go"
}
commit() { git -C "$tmp/$1" add -A && git -C "$tmp/$1" -c user.name=t -c user.email=t@t commit -qm t; }

expect_pass() { # expect_pass NAME
  local out
  if ! out=$(bash "$script" "$tmp/$1" 2>&1); then
    echo "FAIL $1: no-binaries.sh failed on a clean repository: $out"; fail=1
  else
    echo "ok   $1"
  fi
}
expect_fail() { # expect_fail NAME FILE WORD
  local out rc=0
  out=$(bash "$script" "$tmp/$1" 2>&1) || rc=$?
  if [ $rc -eq 0 ]; then
    echo "FAIL $1: no-binaries.sh passed; want a failure naming $2"; fail=1
  elif ! grep -q -- "$2 is tracked and .*$3" <<<"$out"; then
    echo "FAIL $1: output does not name $2 as $3: $out"; fail=1
  else
    echo "ok   $1: $(head -1 <<<"$out")"
  fi
}

repo clean; printf 'MZ is just text here\n' > "$tmp/clean/notes.txt"; commit clean
expect_pass clean

repo elf; cp "$(type -P true)" "$tmp/elf/tool"; commit elf
expect_fail elf tool "ELF"

# A minimal PE header: "MZ", e_lfanew = 0x40 at 0x3c, "PE\0\0" at 0x40.
repo pe
{ printf 'MZ'; head -c 58 /dev/zero; printf '\x40\x00\x00\x00'; printf 'PE\x00\x00'; head -c 16 /dev/zero; } > "$tmp/pe/prog.exe.bin"
commit pe
expect_fail pe prog.exe.bin "PE"

repo macho; mkdir -p "$tmp/macho/cmd/x"; { printf '\xcf\xfa\xed\xfe'; head -c 28 /dev/zero; } > "$tmp/macho/cmd/x/tokentray"; commit macho
expect_fail macho cmd/x/tokentray "Mach-O"

repo big; head -c $((5 * 1024 * 1024 + 1)) /dev/zero > "$tmp/big/blob.dat"; commit big
expect_fail big blob.dat "over the 5 MB limit"

# Untracked build output is not the check's business.
repo untracked; commit untracked; cp "$(type -P true)" "$tmp/untracked/tool"
expect_pass untracked

exit $fail
