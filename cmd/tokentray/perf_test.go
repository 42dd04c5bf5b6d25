//go:build linux

package main

// Process-level performance measurements for make bench (.ci/bench.sh).
// They run only with TOKENTRAY_PERF=1 and print one grep-able line per
// figure, "PERF <what> key=value ...", on stdout (run go test with -v). A
// missed target is reported (met=no), not a failure: the tests fail only
// when a measurement could not be taken.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/tokentray/tokentray/internal/idpsim"
)

func requirePerf(t *testing.T) {
	t.Helper()
	if os.Getenv("TOKENTRAY_PERF") != "1" {
		t.Skip("performance measurement: set TOKENTRAY_PERF=1 (make bench)")
	}
}

// perfRuns is how many times each process-time case runs (≥ 30).
func perfRuns() int {
	if n, err := strconv.Atoi(os.Getenv("TOKENTRAY_PERF_RUNS")); err == nil && n >= 30 {
		return n
	}
	return 40
}

// perfIdle is the length of the idle window (60 s unless overridden).
func perfIdle() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("TOKENTRAY_PERF_IDLE")); err == nil && d > 0 {
		return d
	}
	return 60 * time.Second
}

func perf(what string, kv ...any) {
	var b strings.Builder
	b.WriteString("PERF ")
	b.WriteString(what)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	fmt.Println(b.String())
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

func metStr(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func medianOf(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func p90Of(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*9/10]
}

// timed is one process run: wall time from exec to exit as seen by the
// parent, and the child's own CPU time (user + system).
type timed struct {
	wall, cpu time.Duration
	minflt    int64 // minor page faults of the child
}

func runTimed(t *testing.T, env []string, name string, args ...string) (timed, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr: %s", name, strings.Join(args, " "), err, errb.String())
	}
	st := cmd.ProcessState
	var flt int64
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		flt = ru.Minflt
	}
	return timed{wall, st.UserTime() + st.SystemTime(), flt}, out.String()
}

type series struct {
	name       string
	wall, cpus []time.Duration
	minflt     []int64
}

func (s *series) add(x timed) {
	s.wall = append(s.wall, x.wall)
	s.cpus = append(s.cpus, x.cpu)
	s.minflt = append(s.minflt, x.minflt)
}

func (s *series) medianMinflt() int64 {
	m := slices.Clone(s.minflt)
	slices.Sort(m)
	return m[len(m)/2]
}

// TestPerfTokenCommand times `tokentray token` end to end (exec to exit),
// with no keeper running (the command refreshes in-process): with a valid
// stored token, and with a refresh forced by --min-valid 1h on 2-minute
// access tokens whose stored obtained-at the test moves back by an hour
// before each run (outside the timing), against a loopback simulator, the
// save included.
// /bin/true runs interleaved with both as the exec baseline. Backends: the
// file vault, and the keychain when TOKENTRAY_KEYRING_TEST=1 (inside the
// keyring session).
func TestPerfTokenCommand(t *testing.T) {
	requirePerf(t)
	backends := []string{"file"}
	if os.Getenv("TOKENTRAY_KEYRING_TEST") == "1" {
		backends = append(backends, "keychain")
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	n := perfRuns()
	nop := buildHelper(t, "nopgo", "package main\n\n// Exits at once: the floor of a Go process's exec time.\nfunc main() {}\n")
	perfInitTrace(t)
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			sim, x, base := startSim(t, idpsim.Options{})
			extra := []string{"TOKENTRAY_MICROSOFT_LOGIN_BASE=" + base}
			if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
				extra = append(extra, "DBUS_SESSION_BUS_ADDRESS="+a)
			}
			c := newCLI(t, extra...)
			c.must("", "config", "set", "storage.backend", backend)
			for _, name := range []string{"work", "short"} {
				c.must("", "account", "add", name, "--provider", "microsoft", "--client-id", testClientID)
			}
			c.must(sim.Grant(testClientID, "valid@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
			x.short.Store(true) // from here on every access token lives 2 minutes
			c.must(sim.Grant(testClientID, "forced@contoso.test", nil)+"\n", "import", "short", "--refresh-token-stdin")
			t.Cleanup(func() {
				for _, name := range []string{"work", "short"} {
					c.run("", "logout", name)
				}
			})
			bin := series{name: "/bin/true"}
			ver := series{name: "version"}
			gonop := series{name: "go-nop"}
			valid := series{name: "valid"}
			forced := series{name: "forced"}
			v0, f0 := sim.Refreshes("valid@contoso.test"), sim.Refreshes("forced@contoso.test")
			// Warm the page cache and the keychain session once.
			runTimed(t, c.env, binPath, "token", "work")
			for range n {
				r, _ := runTimed(t, c.env, truePath)
				bin.add(r)
				r, _ = runTimed(t, c.env, binPath, "version")
				ver.add(r)
				r, _ = runTimed(t, c.env, nop)
				gonop.add(r)
				r, out := runTimed(t, c.env, binPath, "token", "work")
				if !strings.HasPrefix(out, "simAT-") {
					t.Fatalf("token work printed no token")
				}
				valid.add(r)
				// Age the stored token outside the timing: a fresh short-lived
				// token is served for half its lifetime (the engine refreshes
				// at most once per half lifetime), an old one about to expire
				// is not.
				ageAccessToken(t, c, backend, "short", time.Hour)
				r, _ = runTimed(t, c.env, binPath, "token", "short", "--min-valid", "1h")
				forced.add(r)
			}
			vr := sim.Refreshes("valid@contoso.test") - v0
			fr := sim.Refreshes("forced@contoso.test") - f0
			if vr != 0 || fr != n {
				t.Errorf("refreshes during the runs: valid %d (want 0), forced %d (want %d)", vr, fr, n)
			}
			bm, vm := medianOf(bin.wall), medianOf(ver.wall)
			perf("exec-baseline", "backend", backend, "cmd", "/bin/true", "runs", n,
				"median_ms", ms(bm), "p90_ms", ms(p90Of(bin.wall)))
			perf("exec-baseline", "backend", backend, "cmd", "empty-go-program", "runs", n,
				"median_ms", ms(medianOf(gonop.wall)), "p90_ms", ms(p90Of(gonop.wall)), "cpu_median_ms", ms(medianOf(gonop.cpus)))
			perf("exec-baseline", "backend", backend, "cmd", "tokentray-version", "runs", n,
				"median_ms", ms(vm), "p90_ms", ms(p90Of(ver.wall)), "cpu_median_ms", ms(medianOf(ver.cpus)))
			for _, s := range []struct {
				ser    series
				target time.Duration
				refr   int
			}{{valid, 5 * time.Millisecond, vr}, {forced, 20 * time.Millisecond, fr}} {
				m := medianOf(s.ser.wall)
				perf("token", "backend", backend, "case", s.ser.name, "runs", n,
					"median_ms", ms(m), "p90_ms", ms(p90Of(s.ser.wall)),
					"cpu_median_ms", ms(medianOf(s.ser.cpus)),
					"minus_true_ms", ms(m-bm), "ratio_vs_true", fmt.Sprintf("%.1f", float64(m)/float64(bm)),
					"minus_version_ms", ms(m-vm),
					"refreshes", s.refr, "target_ms", ms(s.target), "met", metStr(m <= s.target))
			}
		})
	}
}

// perfInitTrace reports what Go package initialisation costs in
// `tokentray version` (GODEBUG=inittrace=1), the median over 7 runs: the
// sum of the init clocks, when the last init ended, and the costliest
// package (of the median run).
func perfInitTrace(t *testing.T) {
	t.Helper()
	type trace struct {
		sum, last, top float64
		topPkg         string
		pkgs           int
	}
	var runs []trace
	for range 7 {
		cmd := exec.Command(binPath, "version")
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("tokentray version: %v", err)
		}
		var tr trace
		for _, line := range strings.Split(errb.String(), "\n") {
			// init PKG @T ms, C ms clock, B bytes, A allocs
			f := strings.Fields(line)
			if len(f) < 6 || f[0] != "init" {
				continue
			}
			at, _ := strconv.ParseFloat(strings.TrimPrefix(f[2], "@"), 64)
			clock, _ := strconv.ParseFloat(f[4], 64)
			tr.sum += clock
			tr.last = max(tr.last, at+clock)
			if clock > tr.top {
				tr.top, tr.topPkg = clock, f[1]
			}
			tr.pkgs++
		}
		runs = append(runs, tr)
	}
	slices.SortFunc(runs, func(a, b trace) int { return cmpFloat(a.sum, b.sum) })
	m := runs[len(runs)/2]
	lasts := make([]float64, len(runs))
	for i, r := range runs {
		lasts[i] = r.last
	}
	slices.Sort(lasts)
	perf("init-trace", "cmd", "tokentray-version", "runs", len(runs), "packages", m.pkgs, "init_clock_sum_ms", fmt.Sprintf("%.2f", m.sum),
		"init_clock_sum_min_ms", fmt.Sprintf("%.2f", runs[0].sum), "last_init_done_at_ms", fmt.Sprintf("%.2f", lasts[len(lasts)/2]),
		"costliest", m.topPkg, "costliest_ms", fmt.Sprintf("%.2f", m.top))
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// procSample is what /proc says about a process at one moment.
type procSample struct {
	ticks                    int64 // utime + stime, in clock ticks
	cpuNS                    int64 // time on a CPU, ns: the first field of /proc/PID/task/*/schedstat, summed
	rssKB, hwm, anonKB, file int64 // VmRSS, VmHWM, RssAnon, RssFile
}

func sampleProc(pid int) (procSample, error) {
	var s procSample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 utime
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15 stime
	s.ticks = ut + st
	// schedstat counts in nanoseconds, where utime/stime count 10 ms ticks.
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name())); err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				s.cpuNS += n
			}
		}
	}
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		for key, dst := range map[string]*int64{"VmRSS:": &s.rssKB, "VmHWM:": &s.hwm, "RssAnon:": &s.anonKB, "RssFile:": &s.file} {
			if v, ok := strings.CutPrefix(line, key); ok {
				*dst, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			}
		}
	}
	return s, sc.Err()
}

func clockTicks() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 100
}

// proc is a long-running process under measurement; stop ends it.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

func startProc(t *testing.T, name string, env []string, path string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.WaitDelay = 2 * time.Second
	p := &proc{name: name, cmd: cmd, out: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.stop)
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM, then SIGKILL after 5 s, and waits for the exit; then
// it waits for the children the process started (a keeper's window) to
// exit too, killing them after 5 s, so no one writes into a test's
// temporary directory while it is removed.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	kids := procTree(p.pid())
	delete(kids, p.pid())
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	deadline := time.Now().Add(5 * time.Second)
	for pid := range kids {
		for processAlive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if processAlive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// buildHelper builds a tiny Go program (a baseline) in a scratch module that
// uses this repository's go.mod requirements, so nothing is downloaded and
// the Fyne build cache is reused.
func buildHelper(t *testing.T, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(gomod), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "module ") {
			lines[i] = "module perfbaseline/" + name
		}
	}
	gosum, _ := os.ReadFile(filepath.Join("..", "..", "go.sum"))
	for f, b := range map[string][]byte{"go.mod": []byte(strings.Join(lines, "\n")), "go.sum": gosum, "main.go": []byte(src)} {
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-mod=mod", "-o", out, ".")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	return out
}

const idleGoSrc = `package main

import (
	"os"
	"os/signal"
	"syscall"
)

// An idle Go program: the floor for a Go process's RSS and idle CPU.
func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	<-c
}
`

const bareFyneSrc = `package main

import (
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

// A bare Fyne window: one label, nothing else.
func main() {
	a := app.New()
	w := a.NewWindow("bare fyne")
	w.SetContent(widget.NewLabel("bare Fyne window"))
	w.ShowAndRun()
}
`

// fakeWatcher is a minimal org.kde.StatusNotifierWatcher: it owns the name
// (so tokentray sees a tray host and keeps its window closed with
// ui.start_minimized) and accepts registrations.
type fakeWatcher struct{}

func (fakeWatcher) RegisterStatusNotifierItem(string) *dbus.Error { return nil }

func (fakeWatcher) RegisterStatusNotifierHost(string) *dbus.Error { return nil }

func startWatcher(t *testing.T) {
	t.Helper()
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Export(fakeWatcher{}, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.kde.StatusNotifierWatcher", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.kde.StatusNotifierWatcher: %v (reply %d)", err, reply)
	}
}

// sniNames lists the StatusNotifierItem names on the bus.
func sniNames(conn *dbus.Conn) []string {
	var names, out []string
	conn.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names)
	for _, n := range names {
		if strings.HasPrefix(n, "org.kde.StatusNotifierItem-") {
			out = append(out, n)
		}
	}
	return out
}

// sniUp reports whether pid has its StatusNotifierItem on the bus.
func sniUp(conn *dbus.Conn, pid int) bool {
	var names []string
	if err := conn.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names); err != nil {
		return false
	}
	prefix := fmt.Sprintf("org.kde.StatusNotifierItem-%d-", pid)
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// headlessCLI is an isolated tokentray with one signed-in account (file
// vault, 1 h access tokens, so nothing is due during a minute of idling).
func headlessCLI(t *testing.T, extraEnv ...string) *cli {
	t.Helper()
	sim, _, base := startSim(t, idpsim.Options{})
	c := newCLI(t, append([]string{"TOKENTRAY_MICROSOFT_LOGIN_BASE=" + base}, extraEnv...)...)
	c.must("", "config", "set", "storage.backend", "file")
	c.must("", "account", "add", "work", "--provider", "microsoft", "--client-id", testClientID)
	c.must(sim.Grant(testClientID, "idle@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
	return c
}

func guiEnv() []string {
	return []string{"DISPLAY=" + os.Getenv("DISPLAY"), "XAUTHORITY=" + os.Getenv("XAUTHORITY"),
		"DBUS_SESSION_BUS_ADDRESS=" + os.Getenv("DBUS_SESSION_BUS_ADDRESS")}
}

func needGUI(t *testing.T) {
	t.Helper()
	if os.Getenv("DISPLAY") == "" || os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("needs DISPLAY and a private session bus (xvfb-run + dbus-run-session; make bench)")
	}
}

// TestPerfStartup measures exec → first snapshot answered by a running
// headless instance (`tokentray status` saying "from running tokentray",
// polled back to back, so it includes one status process), exec → the
// "running headless" log line, and exec → the keeper's StatusNotifierItem
// on D-Bus (with a tray host present, ui.start_minimized and a signed-in
// account, so no window opens).
func TestPerfStartup(t *testing.T) {
	requirePerf(t)
	const reps = 7
	var toStatus, toLog []time.Duration
	for range reps {
		c := headlessCLI(t)
		t0 := time.Now()
		p := startProc(t, "headless", c.env, binPath, "run", "--headless")
		logC := make(chan time.Duration, 1) // the log watcher's answer; it stops on its own after 20 s
		go func() {
			for time.Since(t0) < 20*time.Second {
				if strings.Contains(p.out.String(), "running headless") {
					logC <- time.Since(t0)
					return
				}
				time.Sleep(time.Millisecond)
			}
			logC <- 0
		}()
		for {
			r := c.run("", "status")
			if r.code == 0 && strings.Contains(r.stdout, "from running tokentray") {
				break
			}
			if time.Since(t0) > 20*time.Second {
				t.Fatalf("headless instance did not answer status within 20 s:\n%s", p.out.String())
			}
		}
		toStatus = append(toStatus, time.Since(t0))
		toLog = append(toLog, <-logC)
		p.stop()
	}
	st, _ := runTimed(t, os.Environ(), binPath, "version")
	perf("startup-headless", "to", "status-answered", "runs", reps, "median_ms", ms(medianOf(toStatus)),
		"min_ms", ms(slices.Min(toStatus)), "max_ms", ms(slices.Max(toStatus)), "one_cli_exec_ms", ms(st.wall))
	perf("startup-headless", "to", "log-running-headless", "runs", reps, "median_ms", ms(medianOf(toLog)),
		"min_ms", ms(slices.Min(toLog)), "max_ms", ms(slices.Max(toLog)))

	needGUI(t)
	startWatcher(t)
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var toSNI []time.Duration
	for range reps {
		c := headlessCLI(t, guiEnv()...)
		c.must("", "config", "set", "ui.start_minimized", "true")
		t0 := time.Now()
		p := startProc(t, "tray", c.env, binPath)
		for !sniUp(conn, p.pid()) {
			if time.Since(t0) > 20*time.Second {
				t.Fatalf("no StatusNotifierItem within 20 s:\n%s", p.out.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
		toSNI = append(toSNI, time.Since(t0))
		p.stop()
	}
	perf("startup-keeper-tray", "to", "StatusNotifierItem-on-bus", "runs", reps, "median_ms", ms(medianOf(toSNI)),
		"min_ms", ms(slices.Min(toSNI)), "max_ms", ms(slices.Max(toSNI)))
}

// windowVisible reports whether pid has a mapped (viewable) X window.
func windowVisible(pid int) bool {
	out, _ := exec.Command("xdotool", "search", "--onlyvisible", "--pid", strconv.Itoa(pid)).Output()
	return strings.TrimSpace(string(out)) != ""
}

// procTree lists root and all its descendants (from /proc/*/stat), with
// each one's command name.
func procTree(root int) map[int]string {
	parent := map[int]int{}
	comm := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[pid], comm[pid] = pp, string(b[open+1:end])
	}
	tree := map[int]string{root: comm[root]}
	for changed := true; changed; {
		changed = false
		for pid, pp := range parent {
			if _, in := tree[pid]; !in {
				if _, pin := tree[pp]; pin {
					tree[pid] = comm[pid]
					changed = true
				}
			}
		}
	}
	return tree
}

// treeSample is a process tree at one moment: the /proc figures summed
// over root and its descendants (RSS summed, so pages two processes share
// count twice), and the tree itself.
type treeSample struct {
	procSample
	pids map[int]string
}

func sampleTree(root int) (treeSample, error) {
	ts := treeSample{pids: procTree(root)}
	for pid := range ts.pids {
		s, err := sampleProc(pid)
		if err != nil {
			if pid == root {
				return ts, err
			}
			continue // a child that just exited
		}
		ts.ticks += s.ticks
		ts.cpuNS += s.cpuNS
		ts.rssKB += s.rssKB
		ts.hwm += s.hwm
		ts.anonKB += s.anonKB
		ts.file += s.file
	}
	return ts, nil
}

// hasWindowProcess reports whether a tokentray-window process is in the
// tree (its comm is cut to 15 characters: "tokentray-windo").
func (ts treeSample) hasWindowProcess() bool {
	for _, c := range ts.pids {
		if strings.HasPrefix(c, "tokentray-wind") {
			return true
		}
	}
	return false
}

func (ts treeSample) visible() bool {
	for pid := range ts.pids {
		if windowVisible(pid) {
			return true
		}
	}
	return false
}

func windowBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("TOKENTRAY_WINDOW_BIN")
	if p == "" {
		t.Fatal("TOKENTRAY_WINDOW_BIN must name the built tokentray-window (bash .ci/bench.sh sets it)")
	}
	return p
}

// TestPerfIdle runs, side by side for one idle window (60 s): the keeper
// with its tray icon and no window (a fake tray host present,
// ui.start_minimized, one signed-in account, so it opens no window), the
// same keeper with its window open (it started tokentray-window), the
// headless keeper, and two baselines: an idle Go program and a bare Fyne
// window. For each it reports CPU time from /proc/PID/stat (utime+stime
// delta) as % of one core, and VmRSS/VmHWM from /proc/PID/status at the
// end, summed over the process tree. Without a display only the headless
// keeper and the Go baseline run.
func TestPerfIdle(t *testing.T) {
	requirePerf(t)
	gui := os.Getenv("DISPLAY") != "" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") != ""
	var procs []*proc

	idleGo := buildHelper(t, "idlego", idleGoSrc)
	procs = append(procs, startProc(t, "baseline-idle-go", os.Environ(), idleGo))

	hc := headlessCLI(t)
	h := startProc(t, "headless", hc.env, binPath, "run", "--headless")
	procs = append(procs, h)
	waitFor(t, 20*time.Second, "the headless instance to answer status", func() bool {
		r := hc.run("", "status")
		return r.code == 0 && strings.Contains(r.stdout, "from running tokentray")
	})

	if gui {
		win := windowBin(t)
		bareFyne := buildHelper(t, "barefyne", bareFyneSrc)
		procs = append(procs, startProc(t, "baseline-bare-fyne-window", append(os.Environ(), "LANG=C.UTF-8"), bareFyne))
		startWatcher(t)
		conn, err := dbus.ConnectSessionBus()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, v := range []struct {
			name      string
			minimized bool
		}{{"keeper-tray-no-window", true}, {"keeper-tray-window-open", false}} {
			c := headlessCLI(t, append(guiEnv(), "TOKENTRAY_WINDOW_BIN="+win)...)
			c.must("", "config", "set", "ui.start_minimized", strconv.FormatBool(v.minimized))
			p := startProc(t, v.name, c.env, binPath)
			procs = append(procs, p)
			waitFor(t, 20*time.Second, v.name+" StatusNotifierItem", func() bool { return sniUp(conn, p.pid()) })
			if !v.minimized {
				waitFor(t, 30*time.Second, "the keeper's window to map", func() bool {
					ts, err := sampleTree(p.pid())
					return err == nil && ts.hasWindowProcess() && ts.visible()
				})
			}
		}
	}

	time.Sleep(3 * time.Second) // let every start-up (first frame, first snapshot) finish
	hz := clockTicks()
	idle := perfIdle()
	start := map[string]treeSample{}
	for _, p := range procs {
		s, err := sampleTree(p.pid())
		if err != nil {
			t.Fatalf("%s: %v\n%s", p.name, err, p.out.String())
		}
		start[p.name] = s
	}
	t0 := time.Now()
	time.Sleep(idle)
	elapsed := time.Since(t0)
	results := map[string]treeSample{}
	for _, p := range procs {
		s, err := sampleTree(p.pid())
		if err != nil {
			t.Fatalf("%s exited during the idle window: %v\n%s", p.name, err, p.out.String())
		}
		results[p.name] = s
	}
	pct := func(name string) (float64, int64) {
		d := results[name].ticks - start[name].ticks
		cpu := time.Duration(d) * time.Second / time.Duration(hz)
		return 100 * float64(cpu) / float64(elapsed), d
	}
	sched := func(name string) time.Duration { return time.Duration(results[name].cpuNS - start[name].cpuNS) }
	for _, p := range procs {
		s1 := results[p.name]
		pc, ticks := pct(p.name)
		cpu := time.Duration(ticks) * time.Second / time.Duration(hz)
		rssMB := float64(s1.rssKB) / 1024
		sc := sched(p.name)
		kv := []any{"idle_s", fmt.Sprintf("%.1f", elapsed.Seconds()), "cpu_ticks", ticks, "cpu_ms", ms(cpu),
			"cpu_pct_core", fmt.Sprintf("%.3f", pc), "sched_cpu_ms", ms(sc),
			"sched_cpu_pct_core", fmt.Sprintf("%.4f", 100*float64(sc)/float64(elapsed)), "rss_mb", fmt.Sprintf("%.1f", rssMB),
			"hwm_mb", fmt.Sprintf("%.1f", float64(s1.hwm)/1024), "rss_anon_mb", fmt.Sprintf("%.1f", float64(s1.anonKB)/1024),
			"rss_file_mb", fmt.Sprintf("%.1f", float64(s1.file)/1024), "procs", len(s1.pids), "tick_ms", ms(time.Second / time.Duration(hz))}
		if gui && p.name != "headless" && p.name != "baseline-idle-go" {
			kv = append(kv, "window_visible", metStr(s1.visible()))
		}
		if strings.HasPrefix(p.name, "keeper-") {
			kv = append(kv, "window_process", metStr(start[p.name].hasWindowProcess() || s1.hasWindowProcess()))
		}
		switch p.name {
		case "headless": // the earlier headless targets, kept for comparison
			kv = append(kv, "target_cpu_pct", 0.1, "target_rss_mb", 15, "met", metStr(pc <= 0.1 && rssMB <= 15))
		case "keeper-tray-no-window":
			hpc, hticks := pct("headless")
			hsc := sched("headless")
			noWin := !start[p.name].hasWindowProcess() && !s1.hasWindowProcess() && !s1.visible()
			// The ratio to the headless keeper is taken on schedstat's
			// nanoseconds: over 60 s both use a tick or none.
			kv = append(kv, "headless_cpu_ticks", hticks, "headless_cpu_pct", fmt.Sprintf("%.3f", hpc),
				"headless_sched_cpu_ms", ms(hsc), "cpu_vs_headless", ratioStr(float64(sc), float64(hsc)),
				"cpu_ticks_vs_headless", ratioStr(float64(ticks), float64(hticks)),
				"target_cpu_pct", 0.05, "target_cpu_vs_headless", "1.0", "target_rss_mb", 25,
				"no_window", metStr(noWin),
				"met", metStr(noWin && pc <= 0.05 && sc <= hsc && rssMB <= 25))
		}
		perf("idle "+p.name, kv...)
	}
	for _, pair := range [][2]string{{"headless", "baseline-idle-go"}, {"keeper-tray-no-window", "headless"},
		{"keeper-tray-no-window", "baseline-bare-fyne-window"}, {"keeper-tray-window-open", "baseline-bare-fyne-window"}} {
		a, okA := results[pair[0]]
		b, okB := results[pair[1]]
		if okA && okB && b.rssKB > 0 {
			perf("idle-ratio", "proc", pair[0], "baseline", pair[1], "rss_ratio", fmt.Sprintf("%.2f", float64(a.rssKB)/float64(b.rssKB)),
				"rss_minus_baseline_mb", fmt.Sprintf("%.1f", float64(a.rssKB-b.rssKB)/1024),
				"sched_cpu_ratio", ratioStr(float64(sched(pair[0])), float64(sched(pair[1]))))
		}
	}
}

// ratioStr is a/b with two decimals; "0/0" when both are zero (an idle
// process that used no tick in the window) and "inf" when only b is.
func ratioStr(a, b float64) string {
	switch {
	case b == 0 && a == 0:
		return "0/0"
	case b == 0:
		return "inf"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// visibleTokentrayWindow returns the id and owner pid of a mapped X window
// titled exactly "tokentray", or "" when there is none.
func visibleTokentrayWindow() (string, int) {
	out, _ := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^tokentray$").Output()
	for _, id := range strings.Fields(string(out)) {
		pidOut, err := exec.Command("xdotool", "getwindowpid", id).Output()
		if err != nil {
			return id, 0
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(pidOut)))
		return id, pid
	}
	return "", 0
}

// TestPerfWindowOpen measures "Open tokentray" → window mapped: the keeper
// runs with its tray icon and no window (fake tray host, ui.start_minimized,
// one signed-in account); the test clicks "Open tokentray" over
// com.canonical.dbusmenu and polls `xdotool search --onlyvisible --name
// '^tokentray$'` back to back (each poll is one xdotool process, ~2-5 ms;
// `--sync` itself polls only every 0.5 s) until a window owned by a
// process other than the keeper is mapped. The window is closed as a window
// manager would (WM_DELETE_WINDOW) and its process waited for between runs.
// The first run starts tokentray-window with a cold page cache for it
// (unless an earlier test ran it); each run is reported. Run Xvfb with
// -noreset (bench.sh does): with no other X client, closing the window
// resets the server, and a window started during the reset dies with "X11:
// Failed to open display" (seen 2 times in 7 runs without it, 0 in 5 with).
func TestPerfWindowOpen(t *testing.T) {
	requirePerf(t)
	needGUI(t)
	win := windowBin(t)
	closeWindow := wmClose(t)
	startWatcher(t)
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if id, _ := visibleTokentrayWindow(); id != "" {
		t.Fatalf("a tokentray window (%s) is already mapped before the keeper starts", id)
	}
	c := headlessCLI(t, append(guiEnv(), "TOKENTRAY_WINDOW_BIN="+win)...)
	c.must("", "config", "set", "ui.start_minimized", "true")
	p := startProc(t, "keeper", c.env, binPath)
	menu := findTray(t, conn, p.pid())
	waitFor(t, 20*time.Second, "Open tokentray in the tray menu", func() bool {
		_, root := menu.layout(t)
		_, ok := root.find("Open tokentray")
		return ok
	})
	time.Sleep(2 * time.Second) // the keeper's start-up settles
	if ts, _ := sampleTree(p.pid()); ts.hasWindowProcess() {
		t.Fatalf("the keeper started a window at start-up despite ui.start_minimized; cannot measure Open")
	}
	const reps = 7
	var toMapped, toProcess []time.Duration
	for i := range reps {
		var rev uint32
		var raw []any
		if err := menu.obj.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{"label"}).Store(&rev, &raw); err != nil {
			ts, _ := sampleTree(p.pid())
			t.Logf("run %d: GetLayout: %v; keeper alive %v, tree %v; bus names now: %v\nkeeper output:\n%s", i+1, err, processAlive(p.pid()), ts.pids, sniNames(conn), p.out.String())
			menu = findTray(t, conn, p.pid()) // a re-registered item has a new name
			if err := menu.obj.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{"label"}).Store(&rev, &raw); err != nil {
				t.Fatalf("run %d: GetLayout again: %v", i+1, err)
			}
		}
		root := parseLayout(raw) // ids change when the menu is rebuilt
		open, _ := root.find("Open tokentray")
		t0 := time.Now()
		menu.click(t, open.ID)
		var spawned time.Duration
		var id string
		var pid int
		for {
			if spawned == 0 {
				if ts, err := sampleTree(p.pid()); err == nil && ts.hasWindowProcess() {
					spawned = time.Since(t0)
				}
			}
			if id, pid = visibleTokentrayWindow(); id != "" && pid != p.pid() {
				break
			}
			if time.Since(t0) > 30*time.Second {
				t.Fatalf("run %d: no tokentray window 30 s after Open tokentray\n%s", i+1, p.out.String())
			}
		}
		d := time.Since(t0)
		toMapped = append(toMapped, d)
		toProcess = append(toProcess, spawned)
		perf("window-open-run", "run", i+1, "to_mapped_ms", ms(d), "to_window_process_ms", ms(spawned), "at", time.Now().Format("15:04:05.000"))
		closeWindow(id)
		if pid > 0 {
			waitFor(t, 10*time.Second, "the window process to exit after WM_DELETE_WINDOW", func() bool { return !processAlive(pid) })
		}
		waitFor(t, 10*time.Second, "the window to unmap", func() bool { id, _ := visibleTokentrayWindow(); return id == "" })
		time.Sleep(time.Second)
	}
	// Baseline in the same run: a bare Fyne window, exec → mapped, polled
	// the same way (`xdotool search --onlyvisible --pid`).
	bare := buildHelper(t, "barefyne", bareFyneSrc)
	var bareMapped []time.Duration
	for range reps {
		t0 := time.Now()
		bp := startProc(t, "bare-fyne", append(os.Environ(), "LANG=C.UTF-8"), bare)
		for {
			if windowVisible(bp.pid()) {
				break
			}
			if time.Since(t0) > 30*time.Second {
				t.Fatalf("no bare Fyne window 30 s after exec\n%s", bp.out.String())
			}
		}
		bareMapped = append(bareMapped, time.Since(t0))
		bp.stop()
		time.Sleep(500 * time.Millisecond)
	}
	bm := medianOf(bareMapped)
	perf("window-open-baseline", "from", "bare-fyne-exec", "to", "window-mapped", "runs", reps, "median_ms", ms(bm),
		"min_ms", ms(slices.Min(bareMapped)), "max_ms", ms(slices.Max(bareMapped)))
	m := medianOf(toMapped)
	perf("window-open", "from", "Open-tokentray-click", "to", "window-mapped", "runs", reps, "median_ms", ms(m),
		"min_ms", ms(slices.Min(toMapped)), "max_ms", ms(slices.Max(toMapped)), "first_ms", ms(toMapped[0]),
		"to_window_process_median_ms", ms(medianOf(toProcess)), "bare_fyne_exec_to_mapped_ms", ms(bm),
		"ratio_vs_bare_fyne", fmt.Sprintf("%.2f", float64(m)/float64(bm)), "target_ms", 500, "met", metStr(m <= 500*time.Millisecond))
}
