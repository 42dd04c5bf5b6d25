package control

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// maxCmdline bounds how much of a command line is read (the script comes
// first; the arguments after it are never used).
const maxCmdline = 64 << 10

// maxFDs bounds how many open files are looked at to resolve a relative
// script path.
const maxFDs = 256

// ProcessScript returns what process pid runs when its executable exe is
// an interpreter (bash, sh, python3, node, perl, ruby, pwsh, ...): the
// script's absolute path, or the option that gave code on the command
// line ("-c"), from /proc/PID/cmdline; cut at MaxExeLen. "" for any other
// program, or when it cannot be read.
func ProcessScript(pid int, exe string) string {
	if _, _, ok := interpreterOf(exe); !ok || pid <= 0 {
		return ""
	}
	dir := "/proc/" + strconv.Itoa(pid)
	f, err := os.Open(dir + "/cmdline")
	if err != nil {
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCmdline))
	if err != nil {
		return ""
	}
	s := scriptArg(exe, strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"))
	if isScriptPath(s) {
		s = absScript(dir, s)
	}
	return boundExe(s)
}

// absScript makes script, as the interpreter under /proc dir was given it,
// absolute: the file the interpreter holds open under that name (bash keeps
// its script open, so this holds after the script changed directory), else
// the path against its working directory if a file is there; else script
// as given.
func absScript(dir, script string) string {
	if filepath.IsAbs(script) {
		return filepath.Clean(script)
	}
	rel := filepath.Clean(script)
	if !strings.HasPrefix(rel, "..") {
		if fds, err := os.ReadDir(dir + "/fd"); err == nil {
			for i, fd := range fds {
				if i == maxFDs {
					break
				}
				t, err := os.Readlink(dir + "/fd/" + fd.Name())
				if err == nil && filepath.IsAbs(t) && strings.HasSuffix(t, "/"+rel) {
					return t
				}
			}
		}
	}
	if cwd, err := os.Readlink(dir + "/cwd"); err == nil {
		p := filepath.Join(cwd, rel)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return script
}
