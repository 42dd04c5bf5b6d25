//go:build unix

package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
)

// hookFIFO makes a named pipe the test reads a hook's report from: the
// hook's write blocks until the test reads, and the read ends when the hook
// closes it, so nothing is polled. next starts one read and returns where
// its report arrives; the read runs in a goroutine of its own but reports
// only through the channel, so the test goroutine decides what fails. A
// read still waiting for a hook when the test ends is released (it sees
// end of file) before the directory is removed.
func hookFIFO(t *testing.T, dir, name string) (path string, next func() <-chan hookReport) {
	t.Helper()
	path = filepath.Join(dir, name)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Opening the write end without blocking succeeds only while a
		// reader waits; closing it gives that reader end of file.
		for {
			w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				return // no reader left
			}
			w.Close()
		}
	})
	return path, func() <-chan hookReport {
		ch := make(chan hookReport, 1)
		go func() {
			f, err := os.Open(path) // blocks until a hook opens it for writing
			if err != nil {
				ch <- hookReport{err: err}
				return
			}
			defer f.Close()
			b, err := io.ReadAll(f)
			ch <- hookReport{text: string(b), err: err}
		}()
		return ch
	}
}

// hookReport is what a hook wrote to its FIFO.
type hookReport struct {
	text string
	err  error
}

func envMap(dump string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(dump, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestE2EHooksThroughKeeper: a keeper with hooks; `tokentray refresh` runs
// the refreshed hook with the account, state and expiry in its environment
// and no token; the hook asks `tokentray token` of the keeper, which causes
// no second refresh, and the token it prints reaches the keeper's log
// redacted; the hook exits 1 and the next refresh still works and
// runs it again. A revoked grant runs needs_sign_in once with the
// provider's error; signing in again runs recovered and refreshed. Every
// hook run the test causes is awaited before the keeper stops.
func TestE2EHooksThroughKeeper(t *testing.T) {
	if os.Getenv("OS") == "Windows_NT" {
		t.Skip("POSIX hooks")
	}
	sim, _, base := startSim(t, idpsim.Options{})
	hookDir := t.TempDir()
	refreshedFIFO, nextRefreshed := hookFIFO(t, hookDir, "refreshed")
	needsFIFO, nextNeeds := hookFIFO(t, hookDir, "needs")
	recoveredFIFO, nextRecovered := hookFIFO(t, hookDir, "recovered")
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base,
		"PATH="+filepath.Dir(binPath)+string(os.PathListSeparator)+os.Getenv("PATH"))
	c.must("", "config", "set", "storage.backend", "file")
	c.must("", "account", "add", "work", "--provider", "microsoft", "--client-id", testClientID)
	set := func(key string, argv ...string) {
		b, _ := json.Marshal(argv)
		c.must("", "config", "set", key, string(b))
	}
	// The refreshed hook also prints the token it got to its stdout, which
	// goes to the keeper's log: the keeper redacts it there.
	set("hooks.refreshed", "sh", "-c", `tokentray token | sed 's/^/hook saw /'; { tokentray token >/dev/null; echo "token_exit=$?"; env; } > "$1"; exit 1`, "hook", refreshedFIFO)
	set("hooks.needs_sign_in", "sh", "-c", `env > "$1"`, "hook", needsFIFO)
	set("hooks.recovered", "sh", "-c", `env > "$1"`, "hook", recoveredFIFO)
	c.must("", "config", "set", "hooks.timeout", "1m")
	user := "hank@contoso.test"
	c.must(sim.Grant(testClientID, user, nil)+"\n", "import", "work", "--refresh-token-stdin")

	h := startHeadless(t, c)
	before := sim.Refreshes(user)
	// await returns the report a hook wrote; a hook that never runs fails
	// the test (the bound only turns a hang into a message).
	await := func(report <-chan hookReport, what string) string {
		t.Helper()
		select {
		case r := <-report:
			if r.err != nil {
				t.Fatalf("reading the %s hook's report: %v", what, r.err)
			}
			return r.text
		case <-h.exited:
			t.Fatalf("the keeper exited before the %s hook ran:\n%s", what, h.logs.String())
		case <-time.After(time.Minute):
			t.Fatalf("the %s hook did not run within a minute:\n%s", what, h.logs.String())
		}
		return ""
	}
	report := nextRefreshed()
	c.must("", "refresh", "work")
	env := envMap(await(report, "refreshed"))
	for k, want := range map[string]string{"TOKENTRAY_EVENT": "refreshed", "TOKENTRAY_ACCOUNT": "work", "TOKENTRAY_STATE": "ok", "TOKENTRAY_ERROR": "", "token_exit": "0"} {
		if got, ok := env[k]; !ok || got != want {
			t.Errorf("refreshed hook: %s = %q (set %v); want %q", k, got, ok, want)
		}
	}
	exp, err := time.Parse(time.RFC3339, env["TOKENTRAY_EXPIRES_AT"])
	if err != nil || !exp.After(time.Now()) {
		t.Errorf("refreshed hook: TOKENTRAY_EXPIRES_AT = %q; want a future RFC 3339 time", env["TOKENTRAY_EXPIRES_AT"])
	}
	if _, err := time.Parse(time.RFC3339, env["TOKENTRAY_LAST_REFRESH"]); err != nil {
		t.Errorf("refreshed hook: TOKENTRAY_LAST_REFRESH = %q; want an RFC 3339 time", env["TOKENTRAY_LAST_REFRESH"])
	}
	if env["TOKENTRAY_SOCKET"] == "" {
		t.Error("refreshed hook: TOKENTRAY_SOCKET is empty")
	}
	// A second refresh: the hook failed the first time, it runs again.
	report = nextRefreshed()
	c.must("", "refresh", "work")
	second := await(report, "second refreshed")
	if got := sim.Refreshes(user) - before; got != 2 {
		t.Errorf("two refreshes whose hooks each asked tokentray token made %d provider requests; want 2", got)
	}

	sim.RevokeGrant(user)
	report = nextNeeds()
	if r := c.run("", "refresh", "work"); r.code != 3 {
		t.Fatalf("refresh with a revoked grant: exit %d, stderr %q; want 3", r.code, r.stderr)
	}
	needs := await(report, "needs_sign_in")
	nenv := envMap(needs)
	if nenv["TOKENTRAY_EVENT"] != "needs_sign_in" || nenv["TOKENTRAY_STATE"] != "needs_signin" || !strings.Contains(nenv["TOKENTRAY_ERROR"], "invalid_grant") {
		t.Errorf("needs_sign_in hook: event %q, state %q, error %q; want needs_sign_in, needs_signin and the provider's invalid_grant",
			nenv["TOKENTRAY_EVENT"], nenv["TOKENTRAY_STATE"], nenv["TOKENTRAY_ERROR"])
	}
	if r := c.run("", "refresh", "work"); r.code != 3 { // the same episode: no second needs_sign_in
		t.Fatalf("second refresh with a revoked grant: exit %d; want 3", r.code)
	}
	// The new grant runs both recovered and refreshed (an import is a new
	// token too). Both are awaited: a refreshed hook left writing to its
	// FIFO while the test ends made the test fail one run in twenty, its
	// reader reporting after the test's directory was gone.
	report = nextRecovered()
	third := nextRefreshed()
	c.must(sim.Grant(testClientID, user, nil)+"\n", "import", "work", "--refresh-token-stdin")
	recovered := envMap(await(report, "recovered"))
	if renv := envMap(await(third, "refreshed after the new grant")); renv["TOKENTRAY_EVENT"] != "refreshed" || renv["TOKENTRAY_STATE"] != "ok" {
		t.Errorf("refreshed hook after the new grant: event %q, state %q; want refreshed, ok", renv["TOKENTRAY_EVENT"], renv["TOKENTRAY_STATE"])
	}
	if recovered["TOKENTRAY_EVENT"] != "recovered" || recovered["TOKENTRAY_STATE"] != "ok" {
		t.Errorf("recovered hook: event %q, state %q; want recovered, ok", recovered["TOKENTRAY_EVENT"], recovered["TOKENTRAY_STATE"])
	}

	h.cmd.Process.Signal(syscall.SIGTERM)
	if exited, _ := h.waitExit(10 * time.Second); !exited {
		t.Fatal("keeper still runs 10 s after SIGTERM")
	}
	logs := h.logs.String()
	if n := strings.Count(logs, "hook=needs_sign_in account=work exit="); n != 1 {
		t.Errorf("needs_sign_in ran %d times in one episode; want 1\n%s", n, logs)
	}
	if n := strings.Count(logs, `line="hook saw [redacted token]"`); n != 3 {
		t.Errorf("the keeper logged the token a hook printed redacted %d times; want 3 (one per refreshed hook)\n%s", n, logs)
	}
	if n := strings.Count(logs, `msg="hook failed" hook=refreshed account=work exit=1`); n < 2 {
		t.Errorf("the keeper logged %d failed refreshed hooks; want the exit status of both\n%s", n, logs)
	}
	// The hooks' environment dumps and the keeper's log hold no token.
	for where, text := range map[string]string{"refreshed hook env": second, "needs_sign_in hook env": needs, "keeper log": logs} {
		for _, tok := range sim.Issued() {
			if tok != "" && strings.Contains(text, tok) {
				t.Errorf("a token the simulator issued appears in the %s", where)
			}
		}
	}
	c.assertNoSecrets(sim, "tokens.json")
}
