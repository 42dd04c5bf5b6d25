package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
)

// TestWine runs the Windows build of tokentray (CGO-free tokentray.exe)
// under Wine against the simulator on 127.0.0.1: the CLI on the Windows
// Credential Manager (chunked envelopes included), %AppData% paths, the
// HKCU Run autostart value, and a headless keeper whose control channel is
// the per-user named pipe. .ci/wine.sh builds the exe and the test-only
// bcryptprimitives.dll, creates a throwaway prefix and runs this with
// TOKENTRAY_WINE=1, TOKENTRAY_WINE_EXE, WINEPREFIX and TMPDIR set.
//
// Steps run in order on one prefix; the first failure stops the test.
func TestWine(t *testing.T) {
	if os.Getenv("TOKENTRAY_WINE") != "1" {
		t.Skip("set TOKENTRAY_WINE=1 (run by .ci/wine.sh): runs tokentray.exe under Wine")
	}
	w := newWine(t)

	// The simulator rotates strictly: a used refresh token is refused, so a
	// second refresh succeeds only if the first one's new token was saved.
	sim := idpsim.New(idpsim.Options{Rotation: idpsim.Strict})
	hook := &simHook{h: sim}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	w.env = append(w.env, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+srv.URL)
	const user = "wine@contoso.test"
	t.Cleanup(func() { w.assertNoSecrets(t, sim) })

	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	step("version", func(t *testing.T) {
		if r := w.must(t, "", "version"); !strings.HasPrefix(r.stdout, "tokentray ") {
			t.Errorf("version printed %q", r.stdout)
		}
	})

	step("config set out of range exits 2", func(t *testing.T) {
		r := w.run(t, "", "config", "set", "refresh.interval_hours", "25")
		if r.code != 2 {
			t.Fatalf("config set refresh.interval_hours 25: exit %d; want 2 (stderr %q)", r.code, r.stderr)
		}
		for _, s := range []string{"refresh.interval_hours", "25", "1–24"} {
			if !strings.Contains(r.stderr, s) {
				t.Errorf("stderr %q lacks %q", r.stderr, s)
			}
		}
	})

	step("account add, import, token", func(t *testing.T) {
		w.must(t, "", "account", "add", "work", "--provider", "microsoft", "--tenant", "organizations", "--client-id", testClientID, "--scope", "User.Read")
		rt := sim.Grant(testClientID, user, []string{"offline_access", "openid", "profile", "User.Read"})
		if r := w.must(t, rt+"\n", "import", "work", "--refresh-token-stdin"); !strings.Contains(r.stdout, "imported") {
			t.Errorf("import printed %q", r.stdout)
		}
		tok := strings.TrimSpace(w.must(t, "", "token", "work").stdout)
		if !strings.HasPrefix(tok, "simAT-") || strings.Contains(tok, "\n") {
			t.Errorf("token printed %d bytes, not one simulator access token", len(tok))
		}
		if got := sim.Refreshes(user); got != 1 {
			t.Errorf("the simulator saw %d refreshes after import and token; want 1 (the import's proof)", got)
		}
	})

	step("refresh twice under strict rotation", func(t *testing.T) {
		for i := range 2 {
			before := sim.Refreshes(user)
			if r := w.must(t, "", "refresh", "work"); !strings.Contains(r.stdout, "new access token from provider") {
				t.Errorf("refresh %d printed %q", i+1, r.stdout)
			}
			if got := sim.Refreshes(user) - before; got != 1 {
				t.Errorf("refresh %d made %d provider requests; want 1", i+1, got)
			}
		}
	})

	step("envelope over 2560 bytes is chunked, read back whole, old chunks removed", func(t *testing.T) {
		args := []string{"account", "add", "big", "--provider", "microsoft", "--tenant", "organizations", "--client-id", testClientID}
		scopes := []string{"offline_access", "openid", "profile"}
		for i := range 40 {
			// One resource (a token request may name only one), many scopes.
			s := fmt.Sprintf("api://tokentray-wine-test-resource/Scope-%02d.With.A.Rather.Long.Name.ReadWrite.All", i)
			args = append(args, "--scope", s)
			scopes = append(scopes, s)
		}
		w.must(t, "", args...)
		w.must(t, sim.Grant(testClientID, "big@contoso.test", scopes)+"\n", "import", "big", "--refresh-token-stdin")
		gen1 := w.chunkGens(t, "big")
		if len(gen1) != 1 {
			t.Fatalf("Credential Manager holds chunk generations %v of big; want one (the envelope is > 2560 bytes)", gen1)
		}
		for g, n := range gen1 {
			if n < 2 {
				t.Errorf("generation %s has %d chunk(s); want at least 2", g, n)
			}
		}
		if tok := strings.TrimSpace(w.must(t, "", "token", "big").stdout); !strings.HasPrefix(tok, "simAT-") {
			t.Errorf("token of the chunked account: %d bytes, not an access token", len(tok))
		}
		w.must(t, "", "refresh", "big")
		w.must(t, "", "refresh", "big") // strict: the chunked rotated token was saved
		gen2 := w.chunkGens(t, "big")
		if len(gen2) != 1 {
			t.Errorf("after two refreshes Credential Manager holds chunk generations %v; want only the current one", gen2)
		}
		for g := range gen1 {
			if _, ok := gen2[g]; ok {
				t.Errorf("generation %s of the first save is still stored after two refreshes", g)
			}
		}
	})

	step("status --json", func(t *testing.T) {
		var st struct {
			Accounts []struct {
				Name  string `json:"name"`
				State string `json:"state"`
			} `json:"accounts"`
		}
		if err := json.Unmarshal([]byte(w.must(t, "", "status", "--json").stdout), &st); err != nil {
			t.Fatalf("status --json: %v", err)
		}
		states := map[string]string{}
		for _, a := range st.Accounts {
			states[a.Name] = a.State
		}
		if states["work"] != "ok" || states["big"] != "ok" || len(states) != 2 {
			t.Errorf("status accounts %v; want work and big ok", states)
		}
	})

	step("autostart enable, status, disable (HKCU Run)", func(t *testing.T) {
		const runKey = `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`
		w.must(t, "", "autostart", "enable")
		var st struct {
			Enabled bool   `json:"enabled"`
			Where   string `json:"where"`
		}
		json.Unmarshal([]byte(w.must(t, "", "autostart", "status", "--json").stdout), &st)
		if !st.Enabled || !strings.HasPrefix(st.Where, runKey) {
			t.Errorf("autostart status after enable = %+v; want enabled under %s", st, runKey)
		}
		if out := w.reg(t, "query", runKey); !strings.Contains(strings.ToLower(out), "tokentray") {
			t.Errorf("reg query %s shows no tokentray value:\n%s", runKey, out)
		}
		w.must(t, "", "autostart", "disable")
		st.Enabled = true
		json.Unmarshal([]byte(w.must(t, "", "autostart", "status", "--json").stdout), &st)
		if st.Enabled {
			t.Error("autostart status after disable: still enabled")
		}
		if out := w.reg(t, "query", runKey); strings.Contains(strings.ToLower(out), "tokentray") {
			t.Errorf("reg query %s still shows tokentray after disable:\n%s", runKey, out)
		}
	})

	// What Explorer and the login entry start: the GUI-subsystem window
	// program with --start-keeper, which starts tokentray.exe with no
	// console window (CREATE_NO_WINDOW) and exits. Wine shows no consoles
	// either way; what is checked is that the entry names it and it starts
	// a keeper that answers over the pipe.
	step("login entry: tokentray-window.exe --start-keeper starts the keeper", func(t *testing.T) {
		win := os.Getenv("TOKENTRAY_WINE_WINDOW_EXE")
		if win == "" {
			t.Fatal("TOKENTRAY_WINE_WINDOW_EXE must name tokentray-window.exe beside tokentray.exe (.ci/wine.sh builds it)")
		}
		const runKey = `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`
		w.must(t, "", "autostart", "enable")
		out := strings.ToLower(w.reg(t, "query", runKey))
		if !strings.Contains(out, "tokentray-window.exe") || !strings.Contains(out, "--start-keeper") {
			t.Errorf("the HKCU Run value does not start the keeper through tokentray-window.exe --start-keeper:\n%s", out)
		}
		w.must(t, "", "autostart", "disable")
		// No pipes: the keeper it starts would hold them open (Wine's
		// processes share the loader's descriptors).
		cmd := exec.Command(w.loader, win, "--start-keeper")
		cmd.Env = w.env
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Run(); err != nil {
			t.Fatalf("tokentray-window.exe --start-keeper: %v", err)
		}
		waitFor(t, 60*time.Second, "the keeper it started to answer over the pipe", func() bool {
			r := w.run(t, "", "status")
			return r.code == 0 && strings.Contains(r.stdout, "from running tokentray")
		})
		w.must(t, "", "quit")
		waitFor(t, 30*time.Second, "the keeper to stop", func() bool {
			return !strings.Contains(w.run(t, "", "status").stdout, "from running tokentray")
		})
		// And its process ends: with no notification area (Wine has none)
		// the tray's message loop never ends by itself; the keeper exits
		// without it after trayLoopGrace.
		waitFor(t, 30*time.Second, "the quit keeper's process to exit", func() bool {
			return len(w.processes(t)) == 0
		})
	})

	step("run --headless: token and refresh through the named pipe", func(t *testing.T) {
		k := w.start(t, "run", "--headless")
		waitFor(t, 60*time.Second, "the keeper to answer status over the pipe", func() bool {
			select {
			case <-k.exited:
				t.Fatalf("the keeper exited early:\n%s", k.logs.String())
			default:
			}
			r := w.run(t, "", "status")
			return r.code == 0 && strings.Contains(r.stdout, "from running tokentray")
		})
		refreshes := func() int { return strings.Count(k.logs.String(), "msg=refresh") }

		// --min-valid 1h with 1 h tokens: always a refresh, done by the keeper.
		before, logged := sim.Refreshes(user), refreshes()
		tok := strings.TrimSpace(w.must(t, "", "token", "work", "--min-valid", "1h").stdout)
		if !strings.HasPrefix(tok, "simAT-") {
			t.Errorf("token through the keeper: %d bytes, not an access token", len(tok))
		}
		if got := sim.Refreshes(user) - before; got != 1 {
			t.Errorf("token --min-valid 1h through the keeper made %d provider requests; want 1", got)
		}
		if got := refreshes() - logged; got != 1 {
			t.Errorf("the keeper logged %d refreshes for the token call; want 1 (did the CLI work in-process?)\n%s", got, k.logs.String())
		}

		// The access log names the requester from the pipe's client process
		// (GetNamedPipeClientProcessId + QueryFullProcessImageNameW).
		var es []struct {
			Account string `json:"account"`
			PID     int    `json:"pid"`
			Exe     string `json:"exe"`
			Via     string `json:"via"`
		}
		if err := json.Unmarshal([]byte(w.must(t, "", "log", "--json", "-n", "1").stdout), &es); err != nil {
			t.Fatalf("log --json: %v", err)
		}
		if len(es) != 1 || es[0].Account != "work" || es[0].Via != "keeper" || es[0].PID <= 0 || !strings.HasSuffix(strings.ToLower(es[0].Exe), `\tokentray.exe`) {
			t.Errorf("access log through the named pipe = %+v; want the token call: via keeper, its pid and its tokentray.exe path", es)
		}

		before, logged = sim.Refreshes(user), refreshes()
		if r := w.must(t, "", "refresh", "work"); !strings.Contains(r.stdout, "work: refreshed") {
			t.Errorf("refresh through the keeper printed %q", r.stdout)
		}
		if got := sim.Refreshes(user) - before; got != 1 {
			t.Errorf("refresh through the keeper made %d provider requests; want 1", got)
		}
		if got := refreshes() - logged; got != 1 {
			t.Errorf("the keeper logged %d refreshes for the refresh call; want 1\n%s", got, k.logs.String())
		}

		second := w.run(t, "", "run", "--headless")
		if second.code != 0 || !strings.Contains(second.stderr, "already running") {
			t.Errorf("second run --headless: exit %d, stderr %q; want 0 and a hand-over (the live pipe is ErrRunning)", second.code, second.stderr)
		}

		k.cmd.Process.Signal(os.Interrupt) // Ctrl-C
		select {
		case <-k.exited:
			if !k.cmd.ProcessState.Success() {
				t.Errorf("the keeper exited with %v after Ctrl-C; want 0\n%s", k.cmd.ProcessState, k.logs.String())
			}
		case <-time.After(20 * time.Second):
			t.Errorf("the keeper still runs 20 s after Ctrl-C")
		}
		if r := w.run(t, "", "status"); strings.Contains(r.stdout, "from running tokentray") {
			t.Error("status still reaches a keeper after it stopped")
		}
	})

	// interrupt starts `refresh work`, sends Ctrl-C once the simulator holds
	// its request (before or after answering it), and returns the next
	// refresh's result.
	interrupt := func(t *testing.T, afterAnswer bool) result {
		hook.arm(5*time.Second, afterAnswer)
		p := w.start(t, "refresh", "work")
		select {
		case <-hook.held:
		case <-p.exited:
			t.Fatalf("refresh exited before the provider held its request:\n%s", p.logs.String())
		case <-time.After(60 * time.Second):
			t.Fatal("the refresh request did not reach the simulator in 60 s")
		}
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			t.Fatal("refresh still runs 30 s after Ctrl-C")
		}
		t.Logf("interrupted refresh: %v\n%s", p.cmd.ProcessState, p.logs.String())
		return w.run(t, "", "refresh", "work")
	}

	step("Ctrl-C during a refresh loses nothing", func(t *testing.T) {
		before := sim.Refreshes(user)
		if r := interrupt(t, false); r.code != 0 || !strings.Contains(r.stdout, "new access token from provider") {
			t.Errorf("refresh after the interrupted one: exit %d, stdout %q, stderr %q; want success with the saved token", r.code, r.stdout, r.stderr)
		}
		// The request was on its way when Ctrl-C came: the engine finishes
		// and saves it, so the provider sees it too (2), or it had not left
		// yet (1). Either way the next refresh worked.
		if got := sim.Refreshes(user) - before; got < 1 || got > 2 {
			t.Errorf("the interrupted and the next refresh made %d completed provider exchanges; want 1 or 2", got)
		}
	})

	// Last: when it fails the account's grant is gone. The engine reads and
	// saves an answer already on its way, whatever the caller does.
	step("Ctrl-C after the provider rotated the refresh token", func(t *testing.T) {
		r := interrupt(t, true)
		if r.code != 0 {
			t.Errorf("refresh after the interrupted one: exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// wine runs tokentray.exe under Wine in the prefix .ci/wine.sh made.
type wine struct {
	loader, exe string
	env         []string
	mu          sync.Mutex
	output      bytes.Buffer // every command's output except token's stdout
}

func newWine(t *testing.T) *wine {
	t.Helper()
	w := &wine{loader: os.Getenv("TOKENTRAY_WINE_LOADER"), exe: os.Getenv("TOKENTRAY_WINE_EXE")}
	if w.loader == "" {
		w.loader = "/usr/lib/wine/wine64"
	}
	if w.exe == "" || os.Getenv("WINEPREFIX") == "" {
		t.Fatal("TOKENTRAY_WINE_EXE and WINEPREFIX must be set (run .ci/wine.sh)")
	}
	for _, k := range []string{"WINEPREFIX", "WINEDEBUG", "WINEDLLOVERRIDES", "WINEARCH", "TMPDIR", "HOME", "PATH", "USER", "LANG", "LC_ALL"} {
		if v, ok := os.LookupEnv(k); ok {
			w.env = append(w.env, k+"="+v)
		}
	}
	return w
}

func (w *wine) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, w.loader, append([]string{w.exe}, args...)...)
	cmd.Env = w.env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs tokentray.exe ARGS with stdin and returns what it printed.
func (w *wine) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := w.command(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("wine tokentray.exe %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("wine tokentray.exe %v: killed after %s", args, time.Since(start).Round(time.Second))
	}
	w.record(args, out.Bytes(), errb.Bytes())
	return result{strings.ReplaceAll(out.String(), "\r\n", "\n"), strings.ReplaceAll(errb.String(), "\r\n", "\n"), code}
}

func (w *wine) record(args []string, stdout, stderr []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(args) == 0 || args[0] != "token" {
		w.output.Write(stdout)
	}
	w.output.Write(stderr)
}

func (w *wine) must(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := w.run(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("tokentray.exe %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// start starts tokentray.exe ARGS; the test's cleanup kills it if it runs.
func (w *wine) start(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: w.command(context.Background(), args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start wine tokentray.exe %v: %v", args, err)
	}
	go func() {
		p.cmd.Wait()
		w.record(nil, nil, []byte(p.logs.String()))
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.exited
		}
	})
	return p
}

// reg runs Wine's reg.exe (HKCU lives in the prefix's wineserver).
func (w *wine) reg(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.loader, append([]string{"reg"}, args...)...)
	cmd.Env = w.env
	out, _ := cmd.CombinedOutput() // a missing key is exit 1: the output tells
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

// chunkGens returns the chunk generations of account stored in Wine's
// Credential Manager (registry HKCU\Software\Wine\Credential Manager, one
// key per credential named after its target "tokentray:ACCOUNT#GEN.I")
// with their chunk counts.
func (w *wine) chunkGens(t *testing.T, account string) map[string]int {
	t.Helper()
	out := w.reg(t, "query", `HKCU\Software\Wine\Credential Manager`)
	re := regexp.MustCompile(`(?m)tokentray:` + regexp.QuoteMeta(account) + `#(\d+)\.(\d+)\s*$`)
	gens := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		gens[m[1]]++
	}
	if len(gens) == 0 && !strings.Contains(out, "tokentray:"+account) {
		t.Logf("no credential of %s in:\n%s", account, out)
	}
	return gens
}

// assertNoSecrets fails if a token the simulator issued appears in what the
// commands printed (token's stdout excepted).
func (w *wine) assertNoSecrets(t *testing.T, sim *idpsim.Server) {
	w.mu.Lock()
	defer w.mu.Unlock()
	text := w.output.String()
	for _, tok := range sim.Issued() {
		if tok != "" && strings.Contains(text, tok) {
			t.Errorf("a token the simulator issued (%s…) appears in tokentray.exe's output", tok[:min(8, len(tok))])
		}
	}
}

// simHook passes requests to the simulator. Once armed, it holds the next
// token request for up to hold, with held closed once it holds it: before
// the simulator sees it (dropped if the client goes away meanwhile), or
// after the simulator answered it (the refresh token is rotated, the answer
// is on its way): a window for Ctrl-C.
type simHook struct {
	h           http.Handler
	armed       atomic.Int64 // hold in nanoseconds; 0: not armed
	afterAnswer bool
	held        chan struct{}
}

func (s *simHook) arm(hold time.Duration, afterAnswer bool) {
	s.held, s.afterAnswer = make(chan struct{}), afterAnswer
	s.armed.Store(int64(hold))
}

func (s *simHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hold := time.Duration(0)
	if strings.HasSuffix(r.URL.Path, "/token") {
		hold = time.Duration(s.armed.Swap(0))
	}
	if hold == 0 {
		s.h.ServeHTTP(w, r)
		return
	}
	wait := func() {
		close(s.held)
		select {
		case <-time.After(hold):
		case <-r.Context().Done():
		}
	}
	if !s.afterAnswer {
		wait()
		if r.Context().Err() != nil {
			return // the client has gone: the provider never saw it
		}
		s.h.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	wait()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// processes lists the pids of this prefix's tokentray.exe processes (Wine
// runs them as Linux processes whose environment names the prefix).
func (w *wine) processes(t *testing.T) []int {
	t.Helper()
	prefix := "WINEPREFIX=" + os.Getenv("WINEPREFIX")
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err1 := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		environ, err2 := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err1 != nil || err2 != nil || !strings.Contains(strings.ToLower(string(cmdline)), "tokentray.exe") {
			continue
		}
		if slices.Contains(strings.Split(string(environ), "\x00"), prefix) {
			pids = append(pids, pid)
		}
	}
	return pids
}
