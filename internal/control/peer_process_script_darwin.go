package control

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// ProcessScript returns what process pid runs when its executable exe is
// an interpreter (bash, sh, python3, node, perl, ruby, pwsh, ...): the
// script's path, or the option that gave code on the command line ("-c"),
// from the kern.procargs2 sysctl; cut at MaxExeLen. A relative path stays
// as given (macOS tells another process's working directory only through
// libproc). "" for any other program, or when it cannot be read.
func ProcessScript(pid int, exe string) string {
	if _, _, ok := interpreterOf(exe); !ok || pid <= 0 {
		return ""
	}
	b, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil || len(b) < 5 {
		return ""
	}
	argc := int(b[0]) | int(b[1])<<8 | int(b[2])<<16 | int(b[3])<<24
	b = b[4:]
	i := bytes.IndexByte(b, 0) // the executable path, then NUL padding
	if i < 0 {
		return ""
	}
	b = bytes.TrimLeft(b[i:], "\x00")
	args := make([]string, 0, min(argc, 64))
	for len(args) < argc && len(b) > 0 {
		j := bytes.IndexByte(b, 0)
		if j < 0 {
			j = len(b)
		}
		args = append(args, string(b[:j]))
		b = b[min(j+1, len(b)):]
	}
	return boundExe(scriptArg(exe, args))
}
