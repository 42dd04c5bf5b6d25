// Command tokentray-front is the program installed as `tokentray`. It
// answers the one call scripts make in a loop, `tokentray token [NAME]
// [--min-valid D]`, straight from a running keeper over the control socket,
// before any of the full program is loaded; everything else — every other
// command, any other flag, no keeper running, a keeper that does not answer
// — it hands to the full program (cmd/tokentray, installed as
// lib/tokentray/tokentray) with the same arguments, by exec on Unix, so the
// pid, the stdio and the exit code are the full program's own.
//
// Why a second program: `tokentray token` through a keeper is a socket round
// trip of ~0.1 ms, but starting the full program (an 18 MB binary, 112
// package initialisers) costs ~3–4 ms before it gets there. This front links
// the standard library's syscall, encoding/json and little else besides the
// wire format (internal/wire) and the socket path (sockpath), both leaves,
// so it starts about as fast as an empty Go program. docs/PERFORMANCE.md §2 has
// the figures; docs/DESIGN.md "The front" the rules.
//
// What the front prints is what the full program prints for the same
// answer (front_test.go compares them byte for byte).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tokentray/tokentray/internal/wire"
)

// version is set with -ldflags "-X main.version=..." like the full
// program's; it is named in a protocol-mismatch message.
var version = "dev"

// CoreEnv names the full program explicitly (tests, unusual installs).
const CoreEnv = "TOKENTRAY_CORE"

func main() {
	if code, ok := fastToken(os.Args[1:]); ok {
		os.Exit(code)
	}
	core, err := corePath()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokentray: "+err.Error())
		os.Exit(1)
	}
	err = runCore(core, os.Args)
	var ee exitCode
	if errors.As(err, &ee) {
		os.Exit(int(ee))
	}
	fmt.Fprintf(os.Stderr, "tokentray: cannot start %s: %v\n", core, err)
	os.Exit(1)
}

// exitCode is the full program's exit status (non-Unix, where runCore
// waits for it).
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// corePath finds the full program: $TOKENTRAY_CORE, else
// ../lib/tokentray/tokentray from this executable's directory (how every
// package installs it: /usr/bin/tokentray → /usr/lib/tokentray/tokentray,
// /usr/local/bin → /usr/local/lib/tokentray).
func corePath() (string, error) {
	if p := os.Getenv(CoreEnv); p != "" {
		if isSelf(p) {
			return "", fmt.Errorf("%s=%s names this front itself, not the full tokentray program (lib/tokentray/tokentray)", CoreEnv, p)
		}
		return p, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find the full tokentray program: %v (set %s to its path)", err, CoreEnv)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	name := "tokentray" + exeSuffix
	p := filepath.Join(filepath.Dir(exe), "..", "lib", "tokentray", name)
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return "", fmt.Errorf("the full tokentray program is not installed at %s: reinstall tokentray (or set %s to its path)", filepath.Clean(p), CoreEnv)
	}
	return filepath.Clean(p), nil
}

// parseFast reports the account and --min-valid of args when they are
// exactly the shape the front answers itself: `token [NAME] [--min-valid D]`
// in any order, D a valid duration wire.CheckMinValid allows, NAME a valid
// account name. Anything else (other flags, -- , a bad value the full
// program has to explain) is not fast.
func parseFast(args []string) (account string, minValid time.Duration, ok bool) {
	if len(args) == 0 || args[0] != "token" {
		return "", 0, false
	}
	minValid = wire.DefaultMinValid
	seenMV, seenName := false, false
	for i := 1; i < len(args); i++ {
		a := args[i]
		var v string
		switch {
		case a == "--min-valid":
			if i+1 >= len(args) {
				return "", 0, false
			}
			i++
			v = args[i]
		case len(a) > len("--min-valid=") && a[:len("--min-valid=")] == "--min-valid=":
			v = a[len("--min-valid="):]
		case len(a) > 0 && a[0] == '-':
			return "", 0, false
		default:
			if seenName || !wire.ValidAccountName(a) {
				return "", 0, false
			}
			seenName, account = true, a
			continue
		}
		if seenMV {
			return "", 0, false
		}
		d, err := time.ParseDuration(v)
		if err != nil || wire.CheckMinValid(d) != nil {
			return "", 0, false
		}
		seenMV, minValid = true, d
	}
	return account, minValid, true
}

// tokenRequest is the request line of a fast-shaped call.
func tokenRequest(account string, minValid time.Duration) ([]byte, error) {
	b, err := json.Marshal(wire.Request{Proto: wire.ProtocolVersion, Client: version, Op: wire.OpToken, Account: account, Timeout: wire.MaxTimeout, MinValid: minValid})
	return append(b, '\n'), err
}

// answer prints the keeper's answer the way the full program does and
// returns the exit code; ok false means the line is not a usable answer
// (or a busy refusal, which the full program retries) and the full program
// must handle the call instead.
func answer(line []byte, minValid time.Duration) (code int, ok bool) {
	var r wire.Response
	if err := json.Unmarshal(line, &r); err != nil || r.Event != "" {
		return 0, false
	}
	if !r.OK {
		if r.Error == "" || r.Busy { // busy: the full program retries
			return 0, false
		}
		c := r.Code
		if c == 0 {
			c = 1
		}
		fmt.Fprintln(os.Stderr, "tokentray: "+r.Error)
		return c, true
	}
	var tok wire.Token
	if len(r.Data) == 0 || json.Unmarshal(r.Data, &tok) != nil || tok.AccessToken == "" {
		return 0, false
	}
	if tok.ShorterThanAsked {
		fmt.Fprintln(os.Stderr, wire.ShorterThanAsked(tok.Lifetime, minValid))
	}
	if _, err := os.Stdout.WriteString(tok.AccessToken + "\n"); err != nil {
		fmt.Fprintln(os.Stderr, "tokentray: "+err.Error())
		return 1, true
	}
	return 0, true
}

// isSelf reports whether path is this very executable (exec'ing it would
// loop).
func isSelf(path string) bool {
	exe, err := os.Executable()
	if err != nil {
		return false
	}
	a, err1 := os.Stat(exe)
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}
