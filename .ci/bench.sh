#!/usr/bin/env bash
# make bench: the performance figures of docs/PERFORMANCE.md.
#   1. Go benchmarks, -count 6 each, medians over the runs: oauth paired
#      ratio, engine refresh overhead (paired, vs bare x/oauth2), scheduler
#      at 10 000 accounts, vault Save+Load (real gnome-keyring vs memory).
#   2. Process-level measurements (cmd/tokentray/perf*_test.go, TOKENTRAY_PERF=1):
#      - `tokentray token` without a keeper (in-process; file vault and
#        keychain) against /bin/true, an empty Go program and `tokentray
#        version` in the same run; the package-init trace of `version`;
#      - `tokentray token` with a keeper running, and without, against
#        oidc-agent's `oidc-token` on the same OpenID Provider (the zitadel
#        example OP on loopback), with hyperfine and an interleaved loop;
#      - tokens through the keeper's Azure SDK endpoint (Go azidentity in
#        process, JavaScript @azure/identity in Node): first (the keeper
#        refreshes), keeper-cached and process-cached, beside `tokentray
#        token` in the same run (cmd/tokentray/perf_azure_test.go);
#      - under Xvfb and a private D-Bus session with a fake tray host:
#        start-up, "Open tokentray" -> window mapped, and 60 s idle CPU and
#        RSS of the keeper with its tray icon and no window next to the
#        headless keeper, the keeper with its window open, an idle Go
#        program and a bare Fyne window.
# Installs what it needs and lacks (oidc-agent-cli, hyperfine: apt as root,
# through .ci/deps.sh; @azure/identity from npm through .ci/azure-js.sh). Every figure is one line on stdout starting with
# "BENCH " or "PERF ", and a summary of the targets ("TARGET ... met=yes|no")
# comes last. Raw outputs go to artifacts/bench/. Missed targets are
# reported, not failures: the script exits 0 when every measurement ran, 1
# when one could not be taken. Runs in about 5 minutes (the idle window is
# 60 s).
set -uo pipefail
cd "$(dirname "$0")/.."
export LANG=C.UTF-8 LC_ALL=C.UTF-8
GO=${GO:-go}
COUNT=${BENCH_COUNT:-6}

OUT=artifacts/bench
mkdir -p "$OUT"
failed=0
t_start=$(date +%s)
step() { printf '\n=== %s\n' "$*" >&2; }

# median FILE BENCH UNIT: median over the lines of benchmark BENCH (exact
# name, any -N suffix) of the value reported with UNIT.
median() {
  awk -v b="$2" -v u="$3" '
    { n = $1; sub(/-[0-9]+$/, "", n) }
    n == b { for (i = 3; i < NF; i += 2) if ($(i+1) == u) print $i }' "$1" |
    sort -g | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "NA"; exit }
      if (NR % 2) print v[(NR+1)/2]; else printf "%.6g\n", (v[NR/2] + v[NR/2+1]) / 2 }'
}
runs() { awk -v b="$2" '{ n = $1; sub(/-[0-9]+$/, "", n) } n == b' "$1" | wc -l; }
# met VALUE OP LIMIT → yes|no|NA
met() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
  if (v == "NA" || v == "") { print "NA"; exit }
  ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "yes" : "no" }'; }
gobench() { # name file args...: go test -bench, raw output to file
  local name=$1 file=$2; shift 2
  step "go benchmark: $name"
  if ! $GO test -run '^$' -count "$COUNT" "$@" >"$file" 2>&1; then
    echo "BENCH $name error=go-test-failed (see $file)"; tail -20 "$file" >&2; failed=1
  fi
}

step "machine"
echo "BENCH machine cores=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\" go=$($GO env GOVERSION) kernel=$(uname -r) load_before=\"$(cut -d' ' -f1-3 /proc/loadavg)\""

# 1. Go benchmarks.
gobench oauth "$OUT/oauth.txt" -bench '^BenchmarkRefreshPaired$' ./internal/oauth/
f=$OUT/oauth.txt; b=BenchmarkRefreshPaired
echo "BENCH oauth-paired runs=$(runs $f $b) ours_ns=$(median $f $b ours-ns/refresh) bare_ns=$(median $f $b bare-ns/refresh) ratio_median=$(median $f $b ratio)"

gobench engine "$OUT/engine.txt" -bench '^(BenchmarkRefreshOverhead|BenchmarkSchedule10k)$' -benchtime 3000x ./internal/engine/
f=$OUT/engine.txt; b=BenchmarkRefreshOverhead
eng_ratio=$(median $f $b ratio)
echo "BENCH engine-refresh-paired runs=$(runs $f $b) engine_ns=$(median $f $b engine-median-ns) engine_nolock_ns=$(median $f $b nolock-median-ns) bare_x_oauth2_ns=$(median $f $b bare-median-ns) internal_oauth_ns=$(median $f $b oauthpkg-median-ns) ratio_median=$eng_ratio ratio_nolock_median=$(median $f $b ratio-nolock) ratio_vs_internal_oauth_median=$(median $f $b ratio-vs-oauthpkg)"
echo "BENCH engine-refresh-before-after runs=$(runs $f $b) before_json_vault_ns=$(median $f $b before-median-ns) after_ns=$(median $f $b engine-median-ns) ratio_before_vs_bare_median=$(median $f $b ratio-before) after_vs_before_median=$(median $f $b after-vs-before)"
b=BenchmarkSchedule10k
sched_ns=$(median $f $b ns/op); sched_bpa=$(median $f $b B/account)
echo "BENCH engine-schedule-10k runs=$(runs $f $b) reschedule_ns=$sched_ns bytes_per_account=$sched_bpa heap_entry_bytes_per_account=$(median $f $b heap-B/account) allocs_per_op=$(median $f $b allocs/op)"

step "go benchmark: vault Save+Load, gnome-keyring in a private D-Bus session vs memory"
if env -u DISPLAY -u WAYLAND_DISPLAY dbus-run-session -- bash .ci/with-keyring.sh \
    $GO test -run '^$' -count "$COUNT" -bench '^(BenchmarkKeychainSaveLoad|BenchmarkMemorySaveLoad)$' ./internal/vault/ >"$OUT/vault.txt" 2>&1; then :; else
  echo "BENCH vault error=go-test-failed (see $OUT/vault.txt)"; tail -20 "$OUT/vault.txt" >&2; failed=1
fi
f=$OUT/vault.txt
mem_ns=$(median $f BenchmarkMemorySaveLoad ns/op)
for sub in inline-4KiB windows-chunks-16KiB; do
  k=$(median $f BenchmarkKeychainSaveLoad/$sub ns/op)
  echo "BENCH vault-save-load backend=keychain case=$sub runs=$(runs $f BenchmarkKeychainSaveLoad/$sub) ns=$k ratio_vs_memory=$(awk -v a="$k" -v b="$mem_ns" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.0f", a / b }')"
done
echo "BENCH vault-save-load backend=memory case=4KiB runs=$(runs $f BenchmarkMemorySaveLoad) ns=$mem_ns"

# 2. Process-level measurements.
step "install the peers when missing: oidc-agent-cli, hyperfine"
bash .ci/deps.sh oidc-agent-cli hyperfine >&2 || echo "BENCH deps error=install-failed (oidc-agent-cli hyperfine)"
step "build bin/tokentray and bin/tokentray-window"
if ! $GO build -o bin/tokentray ./cmd/tokentray || ! $GO build -o bin/tokentray-window ./cmd/tokentray-window; then
  echo "BENCH build error=go-build-failed"; exit 1
fi
export TOKENTRAY_BIN="$PWD/bin/tokentray" TOKENTRAY_WINDOW_BIN="$PWD/bin/tokentray-window" TOKENTRAY_PERF=1
echo "BENCH binaries tokentray_bytes=$(stat -c %s bin/tokentray) tokentray_window_bytes=$(stat -c %s bin/tokentray-window)"

step "tokentray token without a keeper: file vault and keychain (private D-Bus session, gnome-keyring)"
env -u DISPLAY -u WAYLAND_DISPLAY dbus-run-session -- bash .ci/with-keyring.sh \
  $GO test -count=1 -timeout 5m -v -run '^TestPerfTokenCommand$' ./cmd/tokentray >"$OUT/token.txt" 2>&1 ||
  { echo "BENCH token error=go-test-failed (see $OUT/token.txt)"; grep -E -- '--- FAIL|perf_test' "$OUT/token.txt" >&2; failed=1; }
grep '^PERF' "$OUT/token.txt"

step "tokentray token (keeper / no keeper) vs oidc-agent's oidc-token, same provider"
env -u DISPLAY -u WAYLAND_DISPLAY -u DBUS_SESSION_BUS_ADDRESS \
  $GO test -count=1 -timeout 5m -v -run '^TestPerfTokenVsOIDCAgent$' ./cmd/tokentray >"$OUT/peer.txt" 2>&1 ||
  { echo "BENCH peer error=go-test-failed (see $OUT/peer.txt)"; grep -E -A12 -- '--- FAIL|perf_oidcagent_test' "$OUT/peer.txt" >&2; failed=1; }
grep '^PERF' "$OUT/peer.txt"

step "Azure SDK endpoint: the Go and JavaScript SDKs' first and cached token time beside tokentray token"
if TOKENTRAY_AZURE_JS=$(bash .ci/azure-js.sh); then
  export TOKENTRAY_AZURE_JS
  env -u DISPLAY -u WAYLAND_DISPLAY -u DBUS_SESSION_BUS_ADDRESS \
    $GO test -count=1 -timeout 5m -v -run '^TestPerfAzureSDK$' ./cmd/tokentray >"$OUT/azure.txt" 2>&1 ||
    { echo "BENCH azure-sdk error=go-test-failed (see $OUT/azure.txt)"; grep -E -A12 -- '--- FAIL|perf_azure_test' "$OUT/azure.txt" >&2; failed=1; }
  grep '^PERF' "$OUT/azure.txt"
else
  echo "BENCH azure-sdk error=install-failed (.ci/azure-js.sh)"; failed=1
fi

step "start-up, Open tokentray -> window, 60 s idle under Xvfb and a private D-Bus session"
# A random first display number: xvfb-run -a alone starts at :99, and two
# runs starting at once on a shared machine can end up on one server.
# -noreset: Xvfb otherwise resets when its last client disconnects (a closed
# window with nothing else on the display, unlike a desktop), and the next
# window started during the reset dies with "X11: Failed to open display".
xvfb-run -a -n $((200 + RANDOM % 600)) -s "-screen 0 1280x800x24 -nolisten tcp -noreset" dbus-run-session -- \
  $GO test -count=1 -timeout 8m -v -run '^(TestPerfStartup|TestPerfWindowOpen|TestPerfIdle)$' ./cmd/tokentray >"$OUT/gui.txt" 2>&1 ||
  { echo "BENCH gui error=go-test-failed (see $OUT/gui.txt)"; grep -E -A12 -- '--- FAIL|perf_test' "$OUT/gui.txt" >&2; failed=1; }
grep '^PERF' "$OUT/gui.txt"

step "targets"
field() { grep -h "$1" "$OUT"/token.txt "$OUT"/peer.txt "$OUT"/gui.txt 2>/dev/null | head -1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }
echo "TARGET engine-refresh-ratio value=$eng_ratio limit=1.10 met=$(met "$eng_ratio" '<=' 1.10)"
echo "TARGET schedule-10k-reschedule-us value=$(awk -v v="$sched_ns" 'BEGIN { if (v == "NA") print "NA"; else printf "%.2f", v / 1000 }') limit=5 met=$(met "$(awk -v v="$sched_ns" 'BEGIN { print (v == "NA") ? "NA" : v / 1000 }')" '<=' 5)"
echo "TARGET schedule-10k-bytes-per-account value=$sched_bpa limit=2048 met=$(met "$sched_bpa" '<=' 2048)"
# The keeper with its tray icon and no window (this issue).
k="PERF idle keeper-tray-no-window "
c=$(field "$k" cpu_pct_core); r=$(field "$k" rss_mb); ks=$(field "$k" sched_cpu_ms); hs=$(field "$k" headless_sched_cpu_ms)
echo "TARGET keeper-tray-idle-cpu-pct value=${c:-NA} limit=0.05 met=$(met "${c:-NA}" '<=' 0.05)"
# On schedstat nanoseconds: over 60 s both keepers use a 10 ms tick or none.
echo "TARGET keeper-tray-idle-cpu-vs-headless value=$(field "$k" cpu_vs_headless) (${ks:-NA}/${hs:-NA} ms) limit=1.0 met=$(met "${ks:-NA}" '<=' "${hs:-0}")"
echo "TARGET keeper-tray-idle-rss-mb value=${r:-NA} limit=25 met=$(met "${r:-NA}" '<=' 25)"
nw=$(field "$k" no_window); echo "TARGET keeper-tray-no-window-process value=${nw:-NA} limit=yes met=${nw:-NA}"
for m in hyperfine interleaved-loop; do
  v=$(field "PERF token-vs-oidc-token method=$m " ratio)
  echo "TARGET token-keeper-vs-oidc-token-$m value=${v:-NA} limit=1.0 met=$(met "${v:-NA}" '<=' 1.0)"
done
v=$(field "PERF window-open " median_ms); echo "TARGET window-open-to-mapped-ms value=${v:-NA} limit=500 met=$(met "${v:-NA}" '<=' 500)"
# Earlier targets, still measured.
for be in file keychain; do
  v=$(field "PERF token backend=$be case=valid" median_ms); echo "TARGET token-valid-$be-ms value=${v:-NA} limit=5 met=$(met "${v:-NA}" '<=' 5)"
  v=$(field "PERF token backend=$be case=forced" median_ms); echo "TARGET token-forced-refresh-$be-ms value=${v:-NA} limit=20 met=$(met "${v:-NA}" '<=' 20)"
done
c=$(field "PERF idle headless " cpu_pct_core); r=$(field "PERF idle headless " rss_mb)
echo "TARGET idle-headless-cpu-pct value=${c:-NA} limit=0.1 met=$(met "${c:-NA}" '<=' 0.1)"
echo "TARGET idle-headless-rss-mb value=${r:-NA} limit=15 met=$(met "${r:-NA}" '<=' 15)"
echo "BENCH done seconds=$(( $(date +%s) - t_start )) load_after=\"$(cut -d' ' -f1-3 /proc/loadavg)\" failed=$failed"
exit $failed
