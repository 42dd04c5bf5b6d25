package control

import (
	"path/filepath"
	"strings"
)

// An interpreter's command line says what it runs: a script's path, or
// code given on the command line itself. scriptArg reads that from the
// arguments, so that the access log can name `bash nightly-report` by its
// script instead of /usr/bin/bash. It never returns inline code (it may
// hold a secret): only the option that gave it ("-c").

// interpreter is how one family of interpreters takes its options.
type interpreter struct {
	// inline are the short option letters that run code given on the
	// command line (sh -c, node -e and -p).
	inline string
	// module is the letter that runs a module by name (python -m).
	module byte
	// argLetters take an argument: the rest of the option group, or the
	// next argument when the group ends there (-o pipefail, -W ignore).
	argLetters string
	// restLetters take the rest of the group only (perl -i.bak, ruby -W2);
	// digitLetters take the digits that follow (perl -l0 -lne).
	restLetters, digitLetters string
	// stdin are the letters that read the program from standard input.
	stdin string
	// longInline, longArg: long options (with "--") that give inline code,
	// or take the next argument when not written as --opt=value.
	longInline, longArg []string
}

var (
	shell = interpreter{inline: "c", argLetters: "oO", stdin: "s",
		longArg: []string{"--rcfile", "--init-file"}}
	fish = interpreter{inline: "c", argLetters: "Cdfo",
		longInline: []string{"--command"}, longArg: []string{"--init-command", "--debug", "--debug-output", "--features"}}
	python = interpreter{inline: "c", module: 'm', argLetters: "WX",
		longArg: []string{"--check-hash-based-pycs"}}
	node = interpreter{inline: "ep", argLetters: "rC",
		longInline: []string{"--eval", "--print"}, longArg: []string{"--require", "--import", "--loader", "--experimental-loader", "--conditions", "--input-type"}}
	perl = interpreter{inline: "eE", argLetters: "IMm", restLetters: "idDxCV", digitLetters: "l0"}
	ruby = interpreter{inline: "e", argLetters: "IrCE", restLetters: "FKWx", digitLetters: "T0"}
)

// interpreterOf recognises an interpreter by its executable's base name
// (bash, python3.11, perl5.36, node.exe, ...); ok is false for any other
// program.
func interpreterOf(exe string) (in interpreter, pwsh bool, ok bool) {
	base := filepath.Base(strings.ReplaceAll(exe, `\`, "/"))
	if ext := filepath.Ext(base); strings.EqualFold(ext, ".exe") {
		base = base[:len(base)-len(ext)]
	}
	base = strings.ToLower(base)
	versioned := func(name string) bool { // python, python3, python3.11
		v, found := strings.CutPrefix(base, name)
		return found && strings.Trim(v, "0123456789.") == ""
	}
	switch {
	case base == "bash", base == "sh", base == "dash", base == "zsh", base == "ksh", base == "mksh", base == "ash":
		return shell, false, true
	case base == "fish":
		return fish, false, true
	case versioned("python"):
		return python, false, true
	case base == "node", base == "nodejs":
		return node, false, true
	case versioned("perl"):
		return perl, false, true
	case versioned("ruby"):
		return ruby, false, true
	case base == "pwsh", base == "powershell":
		return interpreter{}, true, true
	}
	return interpreter{}, false, false
}

// scriptArg returns what the interpreter exe runs, from its arguments args
// (args[0] is its name): the script's path as given; for code on the
// command line the option that gave it ("-c", "-e", "--eval", "-Command");
// "-m NAME" for a Python module; "" when exe is no known interpreter or
// reads its program from standard input.
func scriptArg(exe string, args []string) string {
	in, pwsh, ok := interpreterOf(exe)
	if !ok || len(args) < 2 {
		return ""
	}
	if pwsh {
		return pwshScript(args[1:])
	}
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			if i+1 < len(rest) {
				return rest[i+1]
			}
			return ""
		case a == "-":
			return "" // the program comes from standard input
		case strings.HasPrefix(a, "--"):
			name, _, hasValue := strings.Cut(a, "=")
			for _, l := range in.longInline {
				if name == l {
					return name
				}
			}
			for _, l := range in.longArg {
				if name == l && !hasValue {
					i++ // its value
				}
			}
		case len(a) > 1 && (a[0] == '-' || a[0] == '+'):
			group := a[1:]
			for j := 0; j < len(group); j++ {
				c := group[j]
				switch {
				case a[0] == '-' && strings.IndexByte(in.inline, c) >= 0:
					return "-" + string(c)
				case a[0] == '-' && in.module != 0 && c == in.module:
					m := group[j+1:]
					if m == "" && i+1 < len(rest) {
						m = rest[i+1]
					}
					return "-" + string(in.module) + " " + m
				case strings.IndexByte(in.stdin, c) >= 0:
					return ""
				case strings.IndexByte(in.argLetters, c) >= 0:
					if j == len(group)-1 {
						i++ // the next argument is its value
					}
					j = len(group)
				case strings.IndexByte(in.restLetters, c) >= 0:
					j = len(group)
				case strings.IndexByte(in.digitLetters, c) >= 0:
					for j+1 < len(group) && '0' <= group[j+1] && group[j+1] <= '9' {
						j++
					}
				}
			}
		default:
			return a
		}
	}
	return ""
}

// pwshScript reads PowerShell's arguments (case-insensitive, one dash):
// -File PATH or the first positional argument is the script;
// -Command/-EncodedCommand is inline code.
func pwshScript(args []string) string {
	takesArg := map[string]bool{"-executionpolicy": true, "-ex": true, "-ep": true, "-workingdirectory": true, "-wd": true,
		"-configurationname": true, "-config": true, "-outputformat": true, "-o": true, "-of": true, "-inputformat": true,
		"-inp": true, "-if": true, "-settingsfile": true, "-settings": true, "-custompipename": true, "-windowstyle": true, "-w": true}
	for i := 0; i < len(args); i++ {
		a := strings.ToLower(args[i])
		switch {
		case a == "-file" || a == "-f":
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		case a == "-command" || a == "-c" || a == "-encodedcommand" || a == "-e" || a == "-ec":
			return "-Command"
		case takesArg[a]:
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return args[i]
		}
	}
	return ""
}

// isScriptPath reports whether s, a scriptArg result, is a path (not an
// inline-code option).
func isScriptPath(s string) bool { return s != "" && !strings.HasPrefix(s, "-") }
