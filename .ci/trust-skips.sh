#!/usr/bin/env bash
# trust-skips.sh [--self-test] [TABLE.md [LOG...]]: fails when a test named in
# the trust table of docs/RELIABILITY.md was skipped, or never ran at all, in
# the go test logs the suite wrote (artifacts/test-*.log, `go test -v` text or
# `go test -json`). A trust test that skips (for want of root, a tool, a
# keychain) proves nothing, so make test must not pass with one.
#
# Names are the backquoted TestXxx words of the table's "Test" column; the
# table's shorthands are expanded against the test functions in the source:
# `TestLockDir*` is every test whose name starts with TestLockDir, and
# `…HoldsOtherProcesses` after `TestKeychainLateWriteCannotRollBack` is the
# test named by a leading part of the previous name plus that tail
# (TestKeychainLateWriteHoldsOtherProcesses). A shorthand that names no test
# is an error too.
#
# --self-test checks this script on a table and logs of its own: one where
# every test ran, one where a trust test (or one of its subtests) skipped,
# one where a test never ran, one with a shorthand naming nothing.
set -uo pipefail
cd "$(dirname "$0")/.."

# table_names TABLE SRCDIR: the full test names of TABLE's trust table, one
# a line; exits 1 naming any shorthand that expands to nothing.
table_names() {
  local table=$1 src=$2
  local defined
  defined=$(grep -rhoE '^func Test[A-Za-z0-9_]+\(' --include='*_test.go' "$src" | sed 's/^func //; s/($//' | sort -u)
  awk '
    /^## / { intrust = ($0 ~ /^## Trust paths/) ; col = 0; next }
    !intrust || !/^\|/ { next }
    {
      n = split($0, cell, "|")
      if (col == 0) {
        for (i = 2; i < n; i++) { c = cell[i]; gsub(/^ +| +$/, "", c); if (c == "Test") col = i }
        next
      }
      if (col == 0 || cell[2] !~ /^ *[0-9]+ *$/) next
      s = cell[col]
      while (match(s, /`[^`]+`/)) {
        print substr(s, RSTART + 1, RLENGTH - 2)
        s = substr(s, RSTART + RLENGTH)
      }
    }' "$table" | {
    local prev="" bad=0 w p i found
    while IFS= read -r w; do
      w=${w//.../…}
      case $w in
        Test*\*)
          p=${w%\*}
          found=$(grep -E "^${p}[A-Za-z0-9_]*$" <<<"$defined" || true)
          if [ -z "$found" ]; then echo "trust table: \`$w\` matches no test function in the source" >&2; bad=1; continue; fi
          printf '%s\n' "$found"
          ;;
        Test*)
          [[ $w =~ ^Test[A-Za-z0-9_]*$ ]] || continue
          printf '%s\n' "$w"; prev=$w
          ;;
        …*)
          local tail=${w#…} hit=""
          [[ $tail =~ ^[A-Z][A-Za-z0-9_]*$ ]] || continue
          for ((i = ${#prev} - 1; i > 4; i--)); do
            [[ ${prev:i:1} =~ [A-Z] ]] || continue
            if grep -qxF "${prev:0:i}$tail" <<<"$defined"; then hit=${prev:0:i}$tail; break; fi
          done
          if [ -z "$hit" ]; then echo "trust table: \`$w\` (after \`$prev\`) names no test function in the source" >&2; bad=1; continue; fi
          printf '%s\n' "$hit"
          ;;
      esac
    done
    exit $bad
  }
}

# check TABLE SRCDIR LOG...: 0 when every trust test ran and none skipped.
check() {
  local table=$1 src=$2; shift 2
  local names rc=0 n=0 name skipped ran
  names=$(table_names "$table" "$src") || rc=1
  if [ -z "$names" ]; then echo "trust table: no test names found in $table" >&2; return 1; fi
  if [ $# -eq 0 ]; then echo "no go test logs given" >&2; return 1; fi
  while IFS= read -r name; do
    n=$((n + 1))
    # -v text: "--- SKIP: Name (0.00s)", subtests indented as "--- SKIP: Name/sub";
    # -json: {"Action":"skip",...,"Test":"Name"}.
    skipped=$(grep -hE -e "^ *--- SKIP: ${name}(/[^ ]*)? \(" -e "\"Action\":\"skip\"[^}]*\"Test\":\"${name}(/[^\"]*)?\"" "$@" 2>/dev/null | head -3)
    ran=$(grep -lE -e "^--- (PASS|FAIL|SKIP): ${name} \(" -e "\"Action\":\"(pass|fail|skip)\"[^}]*\"Test\":\"${name}\"" "$@" 2>/dev/null | head -1)
    if [ -n "$skipped" ]; then
      echo "trust test skipped: $name: $(head -1 <<<"$skipped" | sed "s/^ *//")" >&2
      # go test -v prints the reason (t.Skip's message) just before the line.
      grep -hE -B4 -e "^ *--- SKIP: ${name}(/[^ ]*)? \(" "$@" 2>/dev/null | grep -E '^ +[^ ]+\.go:[0-9]+: ' | head -3 | sed 's/^ */    /' >&2
      rc=1
    elif [ -z "$ran" ]; then
      echo "trust test never ran: $name (not in $*)" >&2
      rc=1
    fi
  done <<<"$(sort -u <<<"$names")"
  if [ $rc -eq 0 ]; then
    echo "trust tests: all $n named in $table ran, none skipped"
  fi
  return $rc
}

self_test() {
  local d
  d=$(mktemp -d)
  trap 'rm -rf "$d"' RETURN
  mkdir -p "$d/src/a"
  cat >"$d/src/a/a_test.go" <<'EOF'
package a
func TestAlphaKeeps(t *testing.T) {}
func TestAlphaHoldsOthers(t *testing.T) {}
func TestLockDirOne(t *testing.T) {}
func TestLockDirTwo(t *testing.T) {}
func TestBeta(t *testing.T) {}
EOF
  cat >"$d/table.md" <<'EOF'
## Trust paths

| # | Path | Fix | Test | Before |
|---|---|---|---|---|
| 1 | p | `engine.Flush` | `a` `TestAlphaKeeps`, `…HoldsOthers`; `TestLockDir*` | x `TestNotInTestColumn` |
| 2 | p | f | `a` `TestBeta` (20 runs) | y |

## Other

| # | Test |
|---|---|
| 1 | `TestOutsideTheTable` |
EOF
  local all="TestAlphaKeeps TestAlphaHoldsOthers TestLockDirOne TestLockDirTwo TestBeta"
  local t
  : >"$d/ok.log"
  for t in $all; do printf '=== RUN   %s\n--- PASS: %s (0.01s)\n' "$t" "$t" >>"$d/ok.log"; done
  echo "ok  	example/a	0.1s" >>"$d/ok.log"
  sed 's/^--- PASS: TestLockDirTwo (0.01s)$/    a_test.go:9: chattr +i: operation not permitted\n--- SKIP: TestLockDirTwo (0.00s)/' "$d/ok.log" >"$d/skip.log"
  sed 's/^--- PASS: TestBeta (0.01s)$/    --- SKIP: TestBeta\/sub (0.00s)\n--- PASS: TestBeta (0.01s)/' "$d/ok.log" >"$d/subskip.log"
  grep -v 'TestAlphaHoldsOthers' "$d/ok.log" >"$d/missing.log"
  printf '{"Time":"t","Action":"run","Package":"a","Test":"%s"}\n{"Time":"t","Action":"pass","Package":"a","Test":"%s","Elapsed":0}\n' \
    TestAlphaKeeps TestAlphaKeeps TestAlphaHoldsOthers TestAlphaHoldsOthers TestLockDirOne TestLockDirOne TestBeta TestBeta >"$d/json.log"
  printf '{"Time":"t","Action":"skip","Package":"a","Test":"TestLockDirTwo","Elapsed":0}\n' >>"$d/json.log"
  local fail=0 out
  expect() { # expect WANTRC WANTTEXT LOG...
    local want=$1 text=$2; shift 2
    out=$(check "$d/table.md" "$d/src" "$@" 2>&1); local got=$?
    if [ $got -ne "$want" ] || ! grep -qF -- "$text" <<<"$out"; then
      echo "self-test: check $* = $got, output:"$'\n'"$out"$'\n'"want exit $want and \"$text\"" >&2
      fail=1
    fi
  }
  expect 0 "all 5 named" "$d/ok.log"
  expect 1 "trust test skipped: TestLockDirTwo" "$d/skip.log"
  expect 1 "chattr +i: operation not permitted" "$d/skip.log"
  expect 1 "trust test skipped: TestBeta: --- SKIP: TestBeta/sub" "$d/subskip.log"
  expect 1 "trust test never ran: TestAlphaHoldsOthers" "$d/missing.log"
  expect 1 "trust test skipped: TestLockDirTwo" "$d/json.log"
  expect 0 "all 5 named" "$d/missing.log" "$d/ok.log"
  sed -i 's/`…HoldsOthers`/`…HoldsNobody`/' "$d/table.md"
  expect 1 '`…HoldsNobody` (after `TestAlphaKeeps`) names no test function' "$d/ok.log"
  sed -i 's/`TestLockDir\*`/`TestLockFile*`/' "$d/table.md"
  expect 1 '`TestLockFile*` matches no test function' "$d/ok.log"
  if [ $fail -ne 0 ]; then return 1; fi
  echo "trust-skips.sh self-test: passed (a skipped, a subtest-skipped and a missing trust test each fail, naming it)"
}

if [ "${1:-}" = "--self-test" ]; then
  self_test
  exit
fi
table=${1:-docs/RELIABILITY.md}
[ $# -gt 0 ] && shift
if [ $# -eq 0 ]; then
  set -- artifacts/test-*.log
fi
check "$table" . "$@"
