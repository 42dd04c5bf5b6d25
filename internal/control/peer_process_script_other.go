//go:build !linux && !darwin

package control

// ProcessScript is not read here (Windows keeps another process's command
// line in its memory only): the access log names the interpreter alone.
func ProcessScript(pid int, exe string) string { return "" }
