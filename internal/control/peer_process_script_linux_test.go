package control

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runUntilReady starts name args in dir with a pipe on stdin; the program
// prints "ready" and then waits for its stdin to close. It returns the
// running command; the cleanup closes stdin and waits.
func runUntilReady(t *testing.T, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("%s %q printed %q (%v); want ready", name, args, line, err)
	}
	return cmd
}

// TestProcessScriptRealInterpreters: for real bash, sh and python3
// processes, ProcessScript names the script by its absolute path (also
// after a bash script changed directory), an inline command by -c, and
// nothing for a program that is no interpreter.
func TestProcessScriptRealInterpreters(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write("nightly-report", "cd /\necho ready\nread x\n")
	write("sync.py", "import sys\nprint('ready', flush=True)\nsys.stdin.readline()\n")
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o700); err != nil {
		t.Fatal(err)
	}
	write("bin/job", "#!/bin/bash -e\necho ready\nread x\n")

	tests := []struct {
		name string
		cmd  []string
		want string
	}{
		{"bash, relative, cd /", []string{"/usr/bin/bash", "-u", "nightly-report"}, filepath.Join(dir, "nightly-report")},
		{"python3, relative", []string{"/usr/bin/python3", "-u", "sync.py"}, filepath.Join(dir, "sync.py")},
		{"python3, ./ path", []string{"/usr/bin/python3", "./sync.py", "--all"}, filepath.Join(dir, "sync.py")},
		{"shebang", []string{"./bin/job"}, filepath.Join(dir, "bin/job")},
		{"sh -c", []string{"/bin/sh", "-c", "echo ready; read x"}, "-c"},
		{"no interpreter", []string{"/usr/bin/tail", "-n", "+1", "-f", "/dev/null", "--pid", "1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cmd *exec.Cmd
			if tt.want == "" {
				// tail prints nothing: check it without waiting for "ready".
				cmd = exec.Command(tt.cmd[0], tt.cmd[1:]...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			} else {
				cmd = runUntilReady(t, dir, tt.cmd[0], tt.cmd[1:]...)
			}
			exe := ProcessExe(cmd.Process.Pid)
			if exe == "" {
				t.Fatalf("ProcessExe(%d) is empty", cmd.Process.Pid)
			}
			if got := ProcessScript(cmd.Process.Pid, exe); got != tt.want {
				t.Errorf("ProcessScript(%s %q) = %q; want %q", exe, tt.cmd, got, tt.want)
			}
		})
	}
}

// TestProcessScriptBounded: a script path longer than MaxExeLen is cut
// like an executable path.
func TestProcessScriptBounded(t *testing.T) {
	dir := t.TempDir()
	long := dir
	for len(long) < MaxExeLen+200 {
		long = filepath.Join(long, strings.Repeat("d", 200))
	}
	if err := os.MkdirAll(long, 0o700); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(long, "job.sh")
	if err := os.WriteFile(script, []byte("echo ready\nread x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := runUntilReady(t, dir, "/usr/bin/bash", script)
	got := ProcessScript(cmd.Process.Pid, ProcessExe(cmd.Process.Pid))
	if len(got) > MaxExeLen || !strings.HasSuffix(got, "…") || !strings.HasPrefix(script, strings.TrimSuffix(got, "…")) {
		t.Errorf("ProcessScript(long path) = %q (%d bytes); want %s cut to at most %d bytes ending in …", got, len(got), script, MaxExeLen)
	}
}
