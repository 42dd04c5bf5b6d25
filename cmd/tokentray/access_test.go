package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/idpsim"
)

func accessEntries(t *testing.T, c *cli, args ...string) []accesslog.Entry {
	t.Helper()
	r := c.must("", append([]string{"log", "--json"}, args...)...)
	var es []accesslog.Entry
	if err := json.Unmarshal([]byte(r.stdout), &es); err != nil {
		t.Fatalf("log --json printed %q: %v", r.stdout, err)
	}
	return es
}

// TestE2EAccessLog: `tokentray token` through a keeper is recorded with the
// requesting process's pid and executable as the socket reports them;
// without a keeper the program that ran the command is recorded; `tokentray
// log` prints both, also after the keeper is gone; neither the output nor
// the file holds a token.
func TestE2EAccessLog(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, "ivy@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")

	if r := c.run("", "token", "work"); r.code != 0 { // in-process: no keeper
		t.Fatalf("token without a keeper: exit %d: %s", r.code, r.stderr)
	}
	es := accessEntries(t, c)
	wantExe, _ := filepath.EvalSymlinks(binPath)
	testExe, _ := os.Executable()
	if len(es) != 1 || es[0].Account != "work" || es[0].Via != accesslog.ViaInProcess || es[0].ParentPID != os.Getpid() || es[0].ParentExe != testExe || es[0].Exe != wantExe {
		t.Fatalf("log after an in-process token = %+v; want one in-process entry of work by %s, run by this test (pid %d, %s)", es, wantExe, os.Getpid(), testExe)
	}

	h := startHeadless(t, c)
	tc := exec.Command(binPath, "token", "work")
	tc.Env = c.env
	if out, err := tc.Output(); err != nil || len(strings.TrimSpace(string(out))) == 0 {
		t.Fatalf("token through the keeper: %v", err)
	}
	es = accessEntries(t, c, "--account", "work", "-n", "5")
	if len(es) != 2 || es[1].Via != accesslog.ViaInProcess {
		t.Fatalf("log through the keeper = %+v; want the token it handed out, then the in-process one it read back from the file", es)
	}
	gotExe, _ := filepath.EvalSymlinks(es[0].Exe)
	if e := es[0]; e.PID != tc.Process.Pid || gotExe != wantExe || e.ParentPID != os.Getpid() || e.Via != accesslog.ViaKeeper || e.Client == "" || time.Since(e.At) > time.Hour {
		t.Errorf("keeper's entry = %+v; want pid %d, exe %s, run by this test, via keeper, the client's version and a time of now", e, tc.Process.Pid, wantExe)
	}
	table := c.must("", "log").stdout
	for _, w := range []string{"TIME", "PROGRAM (PID)", "RUN BY (PID)", "work", "default", wantExe + " (", fmt.Sprintf("(%d)", os.Getpid()), "keeper"} {
		if !strings.Contains(table, w) {
			t.Errorf("log table lacks %q:\n%s", w, table)
		}
	}
	if r := c.run("", "log", "--account", "nobody"); r.code != 2 || !strings.Contains(r.stderr, "nobody") {
		t.Errorf("log --account nobody: exit %d, stderr %q; want 2 naming the account", r.code, r.stderr)
	}
	if r := c.run("", "log", "-n", "0"); r.code != 2 || !strings.Contains(r.stderr, "-n") {
		t.Errorf("log -n 0: exit %d, stderr %q; want 2 naming -n", r.code, r.stderr)
	}

	h.cmd.Process.Signal(syscall.SIGTERM)
	if exited, _ := h.waitExit(10 * time.Second); !exited {
		t.Fatal("keeper still runs 10 s after SIGTERM")
	}
	es = accessEntries(t, c) // from the file now
	if len(es) != 2 || es[0].PID != tc.Process.Pid || es[1].Via != accesslog.ViaInProcess {
		t.Errorf("log after the keeper stopped = %+v; want its entry, then the in-process one", es)
	}
	files, _ := filepath.Glob(filepath.Join(c.dir, "state", "*", "access.jsonl"))
	if len(files) != 1 {
		t.Fatalf("access log files %v; want one in the state directory", files)
	}
	c.assertNoSecrets(sim, "tokens.json") // scans the command output and access.jsonl
}

// TestCLIHelpHooksAndLog: --help describes hooks and the access log.
func TestCLIHelpHooksAndLog(t *testing.T) {
	c := newCLI(t)
	if r := c.must("", "--help"); !strings.Contains(r.stdout, "hooks") || !strings.Contains(r.stdout, "log ") {
		t.Errorf("--help lacks the hooks topic or the log command:\n%s", r.stdout)
	}
	r := c.must("", "help", "hooks")
	for _, w := range []string{"hooks.refreshed", "hooks.needs_sign_in", "hooks.failing", "hooks.recovered", "hooks.timeout",
		"TOKENTRAY_EVENT", "TOKENTRAY_ACCOUNT", "TOKENTRAY_STATE", "TOKENTRAY_EXPIRES_AT", "TOKENTRAY_LAST_REFRESH", "TOKENTRAY_ERROR", "TOKENTRAY_SIGN_IN_BY", "TOKENTRAY_SOCKET",
		"without a shell", "Never\na token"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("help hooks lacks %q", w)
		}
	}
	r = c.must("", "log", "--help")
	for _, w := range []string{"--json", "--account", "-n", "never recorded"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("log --help lacks %q", w)
		}
	}
	if r := c.must("", "config", "set", "--help"); !strings.Contains(r.stdout, "hooks.refreshed") {
		t.Error("config set --help does not list the hooks settings")
	}
}

// TestCLIAccessLogScopes: the log names the scope set a per-resource token
// was asked for (normalised), for the in-process path and through a
// keeper, and the account's own scopes as none.
func TestCLIAccessLogScopes(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	const user = "jo@contoso.test"
	sim.Consent(user, "api://reports")
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, user, nil)+"\n", "import", "work", "--refresh-token-stdin")

	c.must("", "token", "work", "--resource", "api://reports") // in-process
	startHeadless(t, c)
	c.must("", "token", "work", "--scope", "api://reports/.default", "--scope", "api://reports/.default")
	c.must("", "token", "work")
	es := accessEntries(t, c, "-n", "3")
	if len(es) != 3 {
		t.Fatalf("log = %+v; want 3 entries", es)
	}
	want := []struct {
		via    string
		scopes []string
	}{
		{accesslog.ViaKeeper, nil},
		{accesslog.ViaKeeper, []string{"api://reports/.default"}},
		{accesslog.ViaInProcess, []string{"api://reports/.default"}},
	}
	for i, w := range want {
		if es[i].Via != w.via || !slices.Equal(es[i].Scopes, w.scopes) {
			t.Errorf("entry %d = via %s, scopes %q; want via %s, scopes %q", i, es[i].Via, es[i].Scopes, w.via, w.scopes)
		}
	}
	if table := c.must("", "log", "-n", "3").stdout; !strings.Contains(table, "api://reports/.default") {
		t.Errorf("log table lacks the scope:\n%s", table)
	}
	c.assertNoSecrets(sim, "tokens.json")
}
