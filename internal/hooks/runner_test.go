package hooks

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/state"
)

func requireSh(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the hook scripts of these tests are POSIX sh")
	}
}

// startRunner runs a Runner with o until the test ends, fed from the
// returned channel.
func startRunner(t *testing.T, o Options) (*recorder, chan state.Snapshot, *Runner) {
	t.Helper()
	rec := newRecorder()
	o.Log = slogLogger(rec)
	r := New(o)
	snaps := make(chan state.Snapshot)
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.Run(ctx, snaps); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	snaps <- state.Snapshot{} // the baseline; Run is ready once it is taken
	return rec, snaps, r
}

var expiry = time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)

func okAccount(name string, at time.Time) state.AccountStatus {
	return state.AccountStatus{Name: name, State: state.OK, LastSuccess: at, AccessExpiry: expiry,
		History: []state.Event{{At: at, Kind: state.EventOK, Fresh: true, Expiry: expiry}}}
}

// TestRunnerRefreshedEnv: a refresh in the snapshot stream runs the
// refreshed hook once with the documented environment and no more.
func TestRunnerRefreshedEnv(t *testing.T) {
	requireSh(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	t0 := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	rec, snaps, _ := startRunner(t, Options{
		Commands: map[Event][]string{Refreshed: {"sh", "-c", `env > "$OUT"`}},
		Socket:   "/run/user/1000/tokentray/control.sock",
		Env:      []string{"PATH=" + os.Getenv("PATH"), "OUT=" + out, "TOKENTRAY_EVENT=stale"},
	})
	snaps <- state.Snapshot{Accounts: []state.AccountStatus{okAccount("work", t0)}} // first sight
	t1 := t0.Add(time.Hour)
	refreshed := okAccount("work", t1)
	refreshed.Radar = &state.Radar{SignInBy: time.Date(2026, 12, 14, 9, 0, 0, 0, time.UTC), Source: state.RadarSignInFrequency}
	snaps <- state.Snapshot{Accounts: []state.AccountStatus{refreshed}}
	rec.wait(t, 1, msgIs("hook ran"))
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	want := map[string]string{
		"TOKENTRAY_EVENT":          "refreshed",
		"TOKENTRAY_ACCOUNT":        "work",
		"TOKENTRAY_STATE":          "ok",
		"TOKENTRAY_EXPIRES_AT":     "2026-12-06T22:00:00Z",
		"TOKENTRAY_LAST_REFRESH":   "2026-12-06T21:00:00Z",
		"TOKENTRAY_ERROR":          "",
		"TOKENTRAY_SIGN_IN_BY":     "2026-12-14T09:00:00Z",
		"TOKENTRAY_SOCKET":         "/run/user/1000/tokentray/control.sock",
		"TOKENTRAY_CONTROL_SOCKET": "/run/user/1000/tokentray/control.sock",
	}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("hook env %s = %q (set %v); want %q", k, got, ok, v)
		}
	}
	if n := rec.count(msgIs("hook ran")); n != 1 {
		t.Errorf("%d hook runs for one refresh after the baseline; want 1", n)
	}
}

// TestRunnerTruncatesOutput: a hook writing 1 MiB gets the output limit in
// the log, line by line, and the rest is counted as dropped.
func TestRunnerTruncatesOutput(t *testing.T) {
	requireSh(t)
	rec, _, r := startRunner(t, Options{
		Commands:    map[Event][]string{Refreshed: {"sh", "-c", `yes 0123456789abcde | head -c 1048576`}},
		OutputLimit: 64 << 10,
	})
	r.Fire(Fired{Event: Refreshed, Account: okAccount("work", expiry)})
	rec.wait(t, 1, msgIs("hook ran"))
	var logged int
	for _, l := range rec.records() {
		if l.msg == "hook output" {
			if l.attrs["line"] != "0123456789abcde" {
				t.Fatalf("hook output line %q; want the line the hook wrote", l.attrs["line"])
			}
			logged += len(l.attrs["line"]) + 1
		}
	}
	if logged > 64<<10 || logged < 60<<10 {
		t.Errorf("%d bytes of output logged; want just under the 64 KiB limit", logged)
	}
	tr := rec.wait(t, 1, msgIs("hook output truncated"))
	if got, want := tr[0].attrs["dropped_bytes"], strconv.Itoa(1048576-logged); got != want {
		t.Errorf("dropped_bytes = %s; want %s", got, want)
	}
}

// TestRunnerFailingHookIsLoggedAndRunsAgain: a hook exiting 1 is logged
// with its status, and the next event runs it again.
func TestRunnerFailingHookIsLoggedAndRunsAgain(t *testing.T) {
	requireSh(t)
	rec, _, r := startRunner(t, Options{Commands: map[Event][]string{Refreshed: {"sh", "-c", "echo no network >&2; exit 1"}}})
	r.Fire(Fired{Event: Refreshed, Account: okAccount("work", expiry)})
	r.Fire(Fired{Event: Refreshed, Account: okAccount("work", expiry.Add(time.Hour))})
	got := rec.wait(t, 2, msgIs("hook failed"))
	for _, l := range got {
		if l.attrs["exit"] != "1" || l.attrs["hook"] != "refreshed" || l.attrs["account"] != "work" {
			t.Errorf("hook failed record %v; want exit 1, hook refreshed, account work", l.attrs)
		}
	}
	if n := rec.count(func(l logged) bool { return l.msg == "hook output" && l.attrs["line"] == "no network" }); n != 2 {
		t.Errorf("stderr line logged %d times; want 2", n)
	}
	r.Fire(Fired{Event: Refreshed, Account: okAccount("work", expiry)})
	rec.wait(t, 3, msgIs("hook failed"))
}

// TestRunnerHookInheritsNoSockets: the hook process holds none of this
// process's sockets (such as the keeper's control connections).
func TestRunnerHookInheritsNoSockets(t *testing.T) {
	requireSh(t)
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rec, _, r := startRunner(t, Options{Commands: map[Event][]string{Recovered: {"sh", "-c", `for f in /proc/$$/fd/*; do echo "$f $(readlink "$f")"; done`}}})
	r.Fire(Fired{Event: Recovered, Account: okAccount("work", expiry)})
	rec.wait(t, 1, msgIs("hook ran"))
	lines := 0
	for _, l := range rec.records() {
		if l.msg != "hook output" {
			continue
		}
		lines++
		if strings.Contains(l.attrs["line"], "socket:") {
			t.Errorf("the hook holds a socket: %s", l.attrs["line"])
		}
	}
	if lines < 3 {
		t.Errorf("the hook listed %d descriptors; want at least stdin, stdout and stderr", lines)
	}
}

// TestRunnerMissingProgramIsLogged: a hook whose program does not exist is
// logged and nothing else happens.
func TestRunnerMissingProgramIsLogged(t *testing.T) {
	rec, _, r := startRunner(t, Options{Commands: map[Event][]string{Refreshed: {filepath.Join(t.TempDir(), "no-such-program")}}})
	r.Fire(Fired{Event: Refreshed, Account: okAccount("work", expiry)})
	got := rec.wait(t, 1, msgIs("hook not started"))
	if !strings.Contains(got[0].attrs["program"], "no-such-program") {
		t.Errorf("hook not started record %v; want the program named", got[0].attrs)
	}
}

// TestRunnerRedactsOutput: each line a hook prints passes through Redact
// before it is logged, whole (a long line is not split before a token).
func TestRunnerRedactsOutput(t *testing.T) {
	requireSh(t)
	secret := "simAT-" + strings.Repeat("s3cr3t", 1000) // 6 KB, longer than a pipe read
	rec, _, r := startRunner(t, Options{
		Commands: map[Event][]string{Refreshed: {"sh", "-c", `printf 'got %s from tokentray\n' "$SECRET"`}},
		Env:      []string{"PATH=" + os.Getenv("PATH"), "SECRET=" + secret},
		Redact:   secrets{secret},
	})
	r.Fire(Fired{Event: Refreshed, Account: okAccount("work", expiry)})
	rec.wait(t, 1, msgIs("hook ran"))
	var lines []string
	for _, l := range rec.records() {
		if l.msg == "hook output" {
			lines = append(lines, l.attrs["line"])
		}
	}
	if len(lines) != 1 || lines[0] != "got [redacted token] from tokentray" {
		t.Errorf("logged hook output %.200q; want one line with the token redacted", lines)
	}
}
