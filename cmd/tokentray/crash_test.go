package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
)

// Crash safety: kill -9 the headless instance at random moments while it
// refreshes, restart it, and check that the stored token still works.
// TOKENTRAY_SOAK=1 runs 200 cycles per policy instead of 20.

const (
	soakEnv        = "TOKENTRAY_SOAK"
	keyringTestEnv = "TOKENTRAY_KEYRING_TEST"
)

func crashCycles() int {
	if os.Getenv(soakEnv) == "1" {
		return 200
	}
	return 20
}

// requireKeyring skips unless a real Secret Service is there (see
// .ci/with-keyring.sh); under CI=true its absence fails the test.
func requireKeyring(t *testing.T) {
	t.Helper()
	if os.Getenv(keyringTestEnv) == "1" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is not 1: CI must run the keychain tests against a real Secret Service", keyringTestEnv)
	}
	t.Skipf("set %s=1 inside dbus-run-session with an unlocked gnome-keyring (.ci/with-keyring.sh) to run against the real Secret Service", keyringTestEnv)
}

// process is one tokentray process under test, its output kept.
type process struct {
	cmd    *exec.Cmd
	logs   syncBuffer
	exited chan struct{} // closed when the process has exited
}

// headless is one `tokentray run --headless` process.
type headless = process

// startHeadless starts the instance and waits until it answers status. The
// test's cleanup kills it if it still runs.
func startHeadless(t *testing.T, c *cli) *headless {
	t.Helper()
	h := startHeadlessNoWait(t, c)
	waitFor(t, 15*time.Second, "the headless instance to answer status", func() bool {
		select {
		case <-h.exited:
			t.Fatalf("the headless instance exited early:\n%s", h.logs.String())
		default:
		}
		r := c.run("", "status")
		return r.code == 0 && strings.Contains(r.stdout, "from running tokentray")
	})
	return h
}

// startHeadlessNoWait starts the instance; the test's cleanup kills it if it
// still runs. It is safe to call from any goroutine.
func startHeadlessNoWait(t *testing.T, c *cli) *headless {
	return startProcess(t, c.env, "run", "--headless")
}

// startProcess starts tokentray with env and args; the test's cleanup kills
// it if it still runs and, when the test failed, logs its output.
func startProcess(t *testing.T, env []string, args ...string) *process {
	p := &process{cmd: exec.Command(binPath, args...), exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.WaitDelay = 2 * time.Second
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Errorf("start tokentray %v: %v", args, err)
		close(p.exited)
		return p
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("tokentray %v output:\n%s", args, p.logs.String())
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}

// waitExit waits up to d for the process to exit and reports whether it
// exited with status 0.
func (p *process) waitExit(d time.Duration) (exited, ok bool) {
	select {
	case <-p.exited:
		return true, p.cmd.ProcessState != nil && p.cmd.ProcessState.Success()
	case <-time.After(d):
		return false, false
	}
}

// tokenTrigger signals, without blocking, every token request the simulator
// receives: the moment the provider is about to answer.
type tokenTrigger struct{ c chan struct{} }

func newTokenTrigger(sim *idpsim.Server) *tokenTrigger {
	tr := &tokenTrigger{c: make(chan struct{}, 1)}
	sim.SetFaults(func(*http.Request) *idpsim.Fault {
		select {
		case tr.c <- struct{}{}:
		default:
		}
		return nil
	})
	return tr
}

func (tr *tokenTrigger) drain() {
	select {
	case <-tr.c:
	default:
	}
}

type crashFigures struct {
	cycles, lost, lostInWindow, refreshes, noRequest, staleTmp int
	keyringCrashes                                             int           // gnome-keyring-daemon died and was revived
	saveMedian                                                 time.Duration // one vault save: the answer-to-save window
}

// keyringPID is the pid of this session's gnome-keyring-daemon, 0 if none.
func keyringPID() int {
	out, err := exec.Command("pgrep", "-n", "-u", fmt.Sprint(os.Getuid()), "-x", "gnome-keyring-d").Output()
	if err != nil {
		return 0
	}
	var pid int
	fmt.Sscan(string(out), &pid)
	return pid
}

// maxKeyringRevivals bounds how often one run replaces a crashed daemon.
const maxKeyringRevivals = 3

// reviveKeyring replaces a gnome-keyring-daemon that died under the kill -9
// load (seen here: "trap int3 … in libglib", an abort inside the daemon) and
// unlocks the new one with the session's password. D-Bus activation had
// started a locked daemon in its place, so every keychain call said
// "keychain is locked". The keyring file on disk is intact; only the
// daemon process is gone. It reports whether the new daemon is unlocked.
func reviveKeyring(t *testing.T) bool {
	t.Helper()
	pw := os.Getenv("TOKENTRAY_KEYRING_PASSWORD")
	if pw == "" {
		return false
	}
	cmd := exec.Command("gnome-keyring-daemon", "--replace", "--unlock", "--components=secrets")
	cmd.Stdin = strings.NewReader(pw)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("revive gnome-keyring-daemon: %v %s", err, out)
		return false
	}
	ok := false
	waitFor(t, 10*time.Second, "the revived daemon on the bus", func() bool {
		out, err := exec.Command("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
			"org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets").CombinedOutput()
		ok = err == nil && strings.Contains(string(out), "true")
		return ok
	})
	return ok
}

// runCrashCycles kills the headless instance cycles times at a random moment
// 0–30 ms after a refresh request reached the simulator, restarts it, and
// checks that a refresh with the stored token succeeds. Under Strict a lost
// grant (exit 3) is counted and the account re-imported; under the other
// policies it fails the test.
func runCrashCycles(t *testing.T, rot idpsim.Rotation, backend, account string, extraEnv ...string) crashFigures {
	sim, _, base := startSim(t, idpsim.Options{Rotation: rot})
	c := newCLI(t, append([]string{"TOKENTRAY_MICROSOFT_LOGIN_BASE=" + base}, extraEnv...)...)
	c.must("", "config", "set", "storage.backend", backend)
	c.must("", "account", "add", account, "--provider", "microsoft", "--client-id", crashClientID)
	subject := account + "@contoso.test"
	importGrant := func() {
		c.must(sim.Grant(crashClientID, subject, nil)+"\n", "import", account, "--refresh-token-stdin")
	}
	importGrant()
	t.Cleanup(func() { c.run("", "logout", account) }) // removes the keychain items
	tr := newTokenTrigger(sim)
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))

	fig := crashFigures{cycles: crashCycles()}
	daemon := 0
	if backend == "keychain" {
		daemon = keyringPID()
	}
	h := startHeadless(t, c)
	waitFor(t, 10*time.Second, "the headless instance to log storage="+backend, func() bool {
		return strings.Contains(h.logs.String(), "storage="+backend)
	})
	for cycle := 0; cycle <= fig.cycles; cycle++ {
		if r := c.run("", "refresh", account); r.code != 0 {
			// "keychain is locked" after a kill -9 is the daemon's crash only
			// when the daemon this test started is really gone (D-Bus then
			// activated a locked one in its place); otherwise it is a
			// failure like any other.
			if backend == "keychain" && strings.Contains(r.stderr, "keychain is locked") && daemon != 0 && !processAlive(daemon) &&
				fig.keyringCrashes < maxKeyringRevivals && reviveKeyring(t) {
				// The daemon crashed, not tokentray: revive it and repeat
				// the check of this cycle.
				fig.keyringCrashes++
				daemon = keyringPID()
				t.Logf("cycle %d (%s): gnome-keyring-daemon had died and was revived", cycle, rot)
				h.kill()
				h = startHeadless(t, c)
				cycle--
				continue
			}
			if rot == idpsim.Strict && r.code == 3 {
				fig.lost++
				h.kill()
				// Why: the vault still holds a token the provider had already
				// exchanged, and the newer one it issued never reached the vault.
				if env, err := vaultOf(c, backend).Load(t.Context(), account); err == nil &&
					!sim.Valid(env.RefreshToken) && env.RefreshToken != newestRefreshToken(sim) {
					fig.lostInWindow++
				}
				importGrant()
				h = startHeadless(t, c)
			} else {
				t.Fatalf("cycle %d (%s, %s): refresh after a kill -9: exit %d, stderr %q; want the stored token to work", cycle, rot, backend, r.code, r.stderr)
			}
		}
		if cycle == fig.cycles {
			break
		}
		// Drive refreshes through the control socket; kill at a random
		// moment after one of them reaches the provider.
		tr.drain()
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					c.run("", "refresh", account)
				}
			}()
		}
		select {
		case <-tr.c:
			time.Sleep(time.Duration(rnd.IntN(31)) * time.Millisecond) // the random kill moment
		case <-time.After(10 * time.Second):
			fig.noRequest++
		}
		stop.Store(true) // the loops end after the command they are running
		h.kill()
		wg.Wait()
		h = startHeadless(t, c)
	}
	h.kill()
	fig.refreshes = sim.Refreshes(subject)
	fig.saveMedian = medianSave(t, vaultOf(c, backend), account)
	if fig.noRequest > 0 {
		t.Errorf("%d cycles saw no refresh request within 10 s; the kill did not hit a refresh", fig.noRequest)
	}
	// A kill during a file save can leave the vault's temporary file behind;
	// it holds the pair like tokens.json does, so it must be 0600 too.
	vaultFiles := []string{"tokens.json"}
	tmps, _ := filepath.Glob(filepath.Join(c.dir, "state", "tokentray", ".tokens.json.*.tmp"))
	for _, p := range tmps {
		if info, err := os.Stat(p); err == nil && info.Mode().Perm() != 0o600 {
			t.Errorf("leftover vault temp file %s has mode %v; want 0600", filepath.Base(p), info.Mode().Perm())
		}
		vaultFiles = append(vaultFiles, filepath.Base(p))
	}
	fig.staleTmp = len(tmps)
	c.assertNoSecrets(sim, vaultFiles...)
	return fig
}

// medianSave is the median time of 9 saves of account's envelope: the
// window between the provider's answer and the saved pair that a kill -9
// can hit under strict rotation.
func medianSave(t *testing.T, v testVault, account string) time.Duration {
	env, err := v.Load(t.Context(), account)
	if err != nil {
		t.Errorf("load %s to time saves: %v", account, err)
		return 0
	}
	var ds []time.Duration
	for range 9 {
		start := time.Now()
		if err := v.Save(t.Context(), account, env); err != nil {
			t.Errorf("timed save: %v", err)
			return 0
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// processAlive reports whether pid runs (a zombie does not).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// newestRefreshToken is the last refresh token sim issued (one grant per test).
func newestRefreshToken(sim *idpsim.Server) string {
	var last string
	for _, v := range sim.Issued() {
		if strings.HasPrefix(v, idpsim.RefreshPrefix) {
			last = v
		}
	}
	return last
}

func reportCrash(t *testing.T, backend string, rot idpsim.Rotation, fig crashFigures, wall time.Duration) {
	t.Logf("RELIABILITY crash backend=%s rotation=%s cycles=%d lost=%d/%d refreshes=%d stale_tmp_files=%d keyring_daemon_crashes=%d wall=%v",
		backend, rot, fig.cycles, fig.lost, fig.cycles, fig.refreshes, fig.staleTmp, fig.keyringCrashes, wall.Round(time.Millisecond))
	if rot == idpsim.Strict {
		t.Logf("RELIABILITY %s strict lost=%d/%d explained_by_answer_to_save_window=%d/%d window_loss_rate=%.3f save_median=%v (kill -9 after the provider rotated the refresh token and before the new pair was saved; strict rotation rejects the old one)",
			backend, fig.lost, fig.cycles, fig.lostInWindow, fig.lost, float64(fig.lostInWindow)/float64(max(fig.cycles, 1)), fig.saveMedian.Round(10*time.Microsecond))
	}
	if n := fig.lost - fig.lostInWindow; n > 0 {
		t.Errorf("%s %s: %d of %d lost grants are not explained by the answer-to-save window (the vault held a refresh token the provider still accepts, or the newest one): tokentray lost a token", backend, rot, n, fig.lost)
	}
}

func crashRotations() []idpsim.Rotation {
	return []idpsim.Rotation{idpsim.MicrosoftLike, idpsim.GraceWindow, idpsim.Strict}
}

func TestCrashKill9FileBackend(t *testing.T) {
	for _, rot := range crashRotations() {
		t.Run(rot.String(), func(t *testing.T) {
			start := time.Now()
			fig := runCrashCycles(t, rot, "file", "work")
			reportCrash(t, "file", rot, fig, time.Since(start))
		})
	}
}

func TestIntegrationCrashKill9Keychain(t *testing.T) {
	requireKeyring(t)
	env := []string{}
	for _, k := range []string{"DBUS_SESSION_BUS_ADDRESS", "TOKENTRAY_KEYRING_PASSWORD"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for _, rot := range crashRotations() {
		t.Run(rot.String(), func(t *testing.T) {
			start := time.Now()
			// Unique per run: the keyring is shared by every test of the session.
			account := fmt.Sprintf("crash-%s-%d", rot, time.Now().UnixNano()%1e9)
			fig := runCrashCycles(t, rot, "keychain", account, env...)
			reportCrash(t, "keychain", rot, fig, time.Since(start))
		})
	}
}
