//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/wire"
)

// The binaries under test, installed the way every package installs them:
// PREFIX/bin/tokentray is the front, PREFIX/lib/tokentray/tokentray the
// full program.
var front, core string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "tokentray-front-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		front = filepath.Join(dir, "bin", "tokentray")
		core = filepath.Join(dir, "lib", "tokentray", "tokentray")
		for _, b := range [][2]string{{front, "."}, {core, "../tokentray"}} {
			out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput()
			if err != nil {
				fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", b[1], err, out)
				return 1
			}
		}
		return m.Run()
	}())
}

// home is a private user environment: its own config, state and runtime
// dirs, so the control socket is this test's.
type home struct {
	env []string
	dir string
}

func newHome(t *testing.T) home {
	t.Helper()
	d := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + d, "LANG=C"}
	for _, kv := range [][2]string{{"XDG_CONFIG_HOME", "cfg"}, {"XDG_CACHE_HOME", "cache"}, {"XDG_STATE_HOME", "state"}, {"XDG_DATA_HOME", "data"}, {"XDG_RUNTIME_DIR", "run"}} {
		p := filepath.Join(d, kv[1])
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		env = append(env, kv[0]+"="+p)
	}
	return home{env: env, dir: d}
}

type result struct {
	stdout, stderr string
	code           int
}

func (h home) run(t *testing.T, bin string, extraEnv []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append([]string{}, h.env...), extraEnv...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return result{so.String(), se.String(), code}
}

// startDemoKeeper runs the full program's demo keeper (the built-in
// simulator, one account "demo", 3 min access tokens) in h and waits until
// it answers.
func startDemoKeeper(t *testing.T, h home) {
	t.Helper()
	cmd := exec.Command(core, "demo", "--headless")
	cmd.Env = h.env
	var logBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		h.run(t, core, nil, "quit")
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if r := h.run(t, core, nil, "status"); r.code == 0 && strings.Contains(r.stdout, "from running tokentray") {
			if r := h.run(t, core, nil, "token", "demo", "--min-valid", "1m"); r.code == 0 {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("demo keeper exited: %v\n%s", err, logBuf.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo keeper did not answer within 30 s\n%s", logBuf.String())
		}
	}
}

// same runs args with the front and with the full program and wants the
// same stdout, stderr and exit code.
func same(t *testing.T, h home, extraEnv []string, args ...string) result {
	t.Helper()
	want := h.run(t, core, extraEnv, args...)
	got := h.run(t, front, extraEnv, args...)
	if got != want {
		t.Errorf("tokentray %s:\n front: code %d, stdout %q, stderr %q\n  full: code %d, stdout %q, stderr %q",
			strings.Join(args, " "), got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
	}
	return got
}

// TestFrontAnswersLikeTheFullProgram: for every answer a keeper gives to a
// fast-shaped call — a token, a token shorter-lived than asked (the stderr
// note), an unknown account (the error and its exit code), the only
// account picked — the front prints exactly what the full program prints.
func TestFrontAnswersLikeTheFullProgram(t *testing.T) {
	h := newHome(t)
	startDemoKeeper(t, h)
	for _, args := range [][]string{
		{"token", "demo", "--min-valid", "1m"},
		{"token", "--min-valid=2m", "demo"},
		{"token", "demo"}, // 3 min tokens < the default 5 min: the note on stderr
		{"token"},         // the only account
		{"token", "nosuch"},
		{"token", "demo", "--min-valid", "0s"},
	} {
		same(t, h, nil, args...)
	}
	if r := h.run(t, front, nil, "token", "demo", "--min-valid", "1m"); r.code != 0 || !strings.HasPrefix(r.stdout, "simAT-") || r.stderr != "" {
		t.Errorf("front token demo = %+v; want a simulator token and nothing on stderr", r)
	}
	if r := h.run(t, front, nil, "token", "nosuch"); r.code != 2 || !strings.Contains(r.stderr, `no account named "nosuch"`) {
		t.Errorf("front token nosuch = %+v; want exit 2 naming the account", r)
	}
}

// TestFrontAnswersWithoutTheFullProgram proves the fast path: with the
// full program unreachable, a token still comes from the keeper, while any
// other call fails with a message naming where the full program was looked
// for.
func TestFrontAnswersWithoutTheFullProgram(t *testing.T) {
	h := newHome(t)
	startDemoKeeper(t, h)
	gone := []string{CoreEnv + "=" + filepath.Join(h.dir, "no-such-program")}
	if r := h.run(t, front, gone, "token", "demo", "--min-valid", "1m"); r.code != 0 || !strings.HasPrefix(r.stdout, "simAT-") {
		t.Fatalf("front token with the full program gone = %+v; want the keeper's token", r)
	}
	r := h.run(t, front, gone, "version")
	if r.code != 1 || !strings.Contains(r.stderr, "no-such-program") {
		t.Errorf("front version with the full program gone = %+v; want exit 1 naming the path", r)
	}
	// A TOKENTRAY_CORE naming the front itself is refused, not exec'ed in a loop.
	if r := h.run(t, front, []string{CoreEnv + "=" + front}, "version"); r.code != 1 || !strings.Contains(r.stderr, "names this front itself") {
		t.Errorf("front version with %s naming the front = %+v; want exit 1 saying so", CoreEnv, r)
	}
}

// TestFrontHandsEverythingElseToTheFullProgram: other commands, other
// flags, bad values and no keeper at all end in the full program, with
// its output and exit code.
func TestFrontHandsEverythingElseToTheFullProgram(t *testing.T) {
	h := newHome(t)
	// No keeper: the full program works in-process (here: no account).
	same(t, h, nil, "token", "demo")
	same(t, h, nil, "token")
	startDemoKeeper(t, h)
	for _, args := range [][]string{
		{"version"},
		{"token", "--help"},
		{"token", "demo", "--min-valid", "2h"},  // out of range: the full program explains
		{"token", "demo", "--min-valid", "abc"}, // not a duration
		{"token", "demo", "extra"},              // too many arguments
		{"token", "bad name"},
		{"token", "demo", "--json"}, // not handled by the front
		{"no-such-command"},
	} {
		same(t, h, nil, args...)
	}
}

// TestFrontMatchesTheFullProgramsRules: the full program's --min-valid
// flag says the rule the front takes from wire (the full program's own
// copy of the flag text is cmd/tokentray's).
func TestFrontMatchesTheFullProgramsRules(t *testing.T) {
	h := newHome(t)
	help := h.run(t, core, nil, "token", "--help").stdout
	m := regexp.MustCompile(`--min-valid duration .*\(0s–(\w+)\) \(default (\w+)\)`).FindStringSubmatch(help)
	if m == nil {
		t.Fatalf("token --help of the full program has no --min-valid line with range and default:\n%s", help)
	}
	if d, err := time.ParseDuration(m[1]); err != nil || d != wire.MaxMinValid {
		t.Errorf("--min-valid limit: full program %s, wire %s", m[1], wire.MaxMinValid)
	}
	if d, err := time.ParseDuration(m[2]); err != nil || d != wire.DefaultMinValid {
		t.Errorf("--min-valid default: full program %s, wire %s", m[2], wire.DefaultMinValid)
	}
}

func TestParseFast(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		ok       bool
		account  string
		minValid time.Duration
	}{
		{[]string{"token"}, true, "", 5 * time.Minute},
		{[]string{"token", "work"}, true, "work", 5 * time.Minute},
		{[]string{"token", "work", "--min-valid", "10m"}, true, "work", 10 * time.Minute},
		{[]string{"token", "--min-valid=0s", "a.b-c_d"}, true, "a.b-c_d", 0},
		{[]string{"token", "--min-valid", "1h"}, true, "", time.Hour},
		{[]string{}, false, "", 0},
		{[]string{"status"}, false, "", 0},
		{[]string{"token", "--json"}, false, "", 0},
		{[]string{"token", "-h"}, false, "", 0},
		{[]string{"token", "--"}, false, "", 0},
		{[]string{"token", "a", "b"}, false, "", 0},
		{[]string{"token", "--min-valid"}, false, "", 0},
		{[]string{"token", "--min-valid", "61m"}, false, "", 0},
		{[]string{"token", "--min-valid", "-1s"}, false, "", 0},
		{[]string{"token", "--min-valid", "1m", "--min-valid", "2m"}, false, "", 0},
		{[]string{"token", "-work"}, false, "", 0},
		{[]string{"token", ".work"}, false, "", 0},
		{[]string{"token", "wörk"}, false, "", 0},
		{[]string{"token", strings.Repeat("a", 65)}, false, "", 0},
		{[]string{"token", "--config", "x"}, false, "", 0},
		{[]string{"token", "--set", "a=b"}, false, "", 0},
	} {
		a, mv, ok := parseFast(tt.args)
		if ok != tt.ok || (ok && (a != tt.account || mv != tt.minValid)) {
			t.Errorf("parseFast(%q) = %q, %s, %v; want %q, %s, %v", tt.args, a, mv, ok, tt.account, tt.minValid, tt.ok)
		}
	}
}

// FuzzParseFast: a fast shape is always `token`, a valid name or none,
// and a --min-valid within range.
func FuzzParseFast(f *testing.F) {
	f.Add("token work --min-valid 5m")
	f.Add("token --min-valid=0s")
	f.Add("token -- work")
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		a, mv, ok := parseFast(args)
		if !ok {
			return
		}
		if args[0] != "token" || (a != "" && !wire.ValidAccountName(a)) || wire.CheckMinValid(mv) != nil {
			t.Errorf("parseFast(%q) = %q, %s, true", args, a, mv)
		}
		for _, x := range args[1:] {
			if strings.HasPrefix(x, "-") && !strings.HasPrefix(x, "--min-valid") {
				t.Errorf("parseFast(%q) accepted flag %q", args, x)
			}
		}
	})
}

// FuzzAnswer: no keeper answer, however malformed, makes the front panic;
// a line it cannot use leaves the call to the full program.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte(`{"ok":true,"code":0,"data":{"access_token":"x","token_type":"Bearer"}}`))
	f.Add([]byte(`{"ok":false,"error":"no","code":3}`))
	f.Add([]byte(`{"ok":true,"code":0}`))
	f.Add([]byte(`{"ok":true,"event":"snapshot","data":{}}`))
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { devnull.Close() })
	f.Fuzz(func(t *testing.T, line []byte) {
		so, se := os.Stdout, os.Stderr
		os.Stdout, os.Stderr = devnull, devnull
		defer func() { os.Stdout, os.Stderr = so, se }()
		code, ok := answer(line, time.Minute)
		if ok && code < 0 {
			t.Errorf("answer(%q) = %d", line, code)
		}
	})
}
