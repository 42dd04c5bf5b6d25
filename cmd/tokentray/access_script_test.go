package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/idpsim"
)

// TestE2EAccessLogScriptNames: when `tokentray token` is run by a bash or
// python3 script, or by `sh -c`, the access log's RUN BY names the script
// by its absolute path (or -c), without a keeper and through one, in
// `log --json` and in the table.
func TestE2EAccessLogScriptNames(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, "kai@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")

	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		// cd first: the script's path is still found (bash holds it open).
		"nightly-report": "cd /\n\"$TOKENTRAY_BIN\" token work >/dev/null\necho done\n",
		"sync.py":        "import os, subprocess\nsubprocess.run([os.environ['TOKENTRAY_BIN'], 'token', 'work'], check=True, stdout=subprocess.DEVNULL)\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bash, _ := filepath.EvalSymlinks("/usr/bin/bash")
	python, _ := filepath.EvalSymlinks("/usr/bin/python3")
	sh, _ := filepath.EvalSymlinks("/bin/sh")
	runs := []struct {
		argv             []string
		wantExe, wantRun string
	}{
		{[]string{"/usr/bin/bash", "nightly-report"}, bash, filepath.Join(dir, "nightly-report")},
		{[]string{"/usr/bin/python3", "sync.py"}, python, filepath.Join(dir, "sync.py")},
		{[]string{"/bin/sh", "-c", `"$TOKENTRAY_BIN" token work >/dev/null; echo done`}, sh, "-c"},
	}
	run := func() {
		t.Helper()
		for _, r := range runs {
			cmd := exec.Command(r.argv[0], r.argv[1:]...)
			cmd.Dir = dir
			cmd.Env = append(append([]string{}, c.env...), "TOKENTRAY_BIN="+binPath)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%q: %v\n%s", r.argv, err, out)
			}
		}
	}
	check := func(via string, es []accesslog.Entry) {
		t.Helper()
		if len(es) < len(runs) {
			t.Fatalf("log = %+v; want at least %d entries", es, len(runs))
		}
		for i, r := range runs {
			e := es[len(runs)-1-i] // newest first
			if e.Via != via || e.ParentExe != r.wantExe || e.ParentScript != r.wantRun {
				t.Errorf("entry of %q = via %s, run by %q %q; want via %s, run by %q %q", r.argv, e.Via, e.ParentExe, e.ParentScript, via, r.wantExe, r.wantRun)
			}
		}
	}

	run() // in-process: no keeper
	check(accesslog.ViaInProcess, accessEntries(t, c, "-n", "3"))

	startHeadless(t, c)
	run()
	check(accesslog.ViaKeeper, accessEntries(t, c, "-n", "3"))
	table := c.must("", "log", "-n", "3").stdout
	for _, r := range runs {
		if w := r.wantExe + " " + r.wantRun + " ("; !strings.Contains(table, w) {
			t.Errorf("log table lacks RUN BY %q:\n%s", w, table)
		}
	}
	c.assertNoSecrets(sim, "tokens.json")
}
