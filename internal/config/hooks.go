package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Hooks name the commands the keeper runs on account events (see
// internal/hooks). A nil command means no hook for that event.
type Hooks struct {
	Refreshed   []string      `json:"refreshed,omitempty"`     // after each successful refresh
	NeedsSignIn []string      `json:"needs_sign_in,omitempty"` // once when an account comes to need sign-in
	Failing     []string      `json:"failing,omitempty"`       // once when an account starts failing
	Recovered   []string      `json:"recovered,omitempty"`     // back to OK after needing sign-in or failing
	Timeout     time.Duration `json:"timeout"`                 // longest a hook may run; it is then killed
}

// Limits of a hook command.
const (
	maxHookArgs   = 64
	maxHookArgLen = 4096
)

const argvAllowed = `a list [program, arg, ...] (no shell; for one: [sh, -c, "..."]), a program name alone, or empty for none`

func init() {
	keys = append(keys,
		key{name: "hooks.refreshed", kind: kindArgv, doc: "command run after each successful refresh",
			set: func(s *Settings, v any) { s.Hooks.Refreshed = v.([]string) }, get: func(s Settings) any { return s.Hooks.Refreshed }},
		key{name: "hooks.needs_sign_in", kind: kindArgv, doc: "command run once when an account comes to need sign-in",
			set: func(s *Settings, v any) { s.Hooks.NeedsSignIn = v.([]string) }, get: func(s Settings) any { return s.Hooks.NeedsSignIn }},
		key{name: "hooks.failing", kind: kindArgv, doc: "command run once when an account starts failing to refresh",
			set: func(s *Settings, v any) { s.Hooks.Failing = v.([]string) }, get: func(s Settings) any { return s.Hooks.Failing }},
		key{name: "hooks.recovered", kind: kindArgv, doc: "command run when an account is OK again after needing sign-in or failing",
			set: func(s *Settings, v any) { s.Hooks.Recovered = v.([]string) }, get: func(s Settings) any { return s.Hooks.Recovered }},
		key{name: "hooks.timeout", kind: kindDuration, def: "30s", min: int64(time.Second), max: int64(10 * time.Minute), doc: "longest a hook may run before it is killed",
			set: func(s *Settings, v any) { s.Hooks.Timeout = v.(time.Duration) }, get: func(s Settings) any { return s.Hooks.Timeout }},
	)
}

// parseArgv reads a hook command: a YAML list of words, a JSON list in a
// string (how environment variables and flags write it), a single program
// name, or empty (no hook). It never splits a string on spaces: there is no
// shell.
func parseArgv(raw any) ([]string, error) {
	var argv []string
	switch v := raw.(type) {
	case nil:
		return nil, nil
	case []string:
		argv = v
	case []any:
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				if s, ok = scalarString(e); !ok || e == nil {
					return nil, fmt.Errorf("element %d is not a word", i+1)
				}
			}
			argv = append(argv, s)
		}
	default:
		s, ok := scalarString(raw)
		if !ok {
			return nil, fmt.Errorf("not a command")
		}
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return nil, nil
		case strings.HasPrefix(s, "["):
			if err := json.Unmarshal([]byte(s), &argv); err != nil {
				return nil, fmt.Errorf(`not a JSON list of strings (write it like ["notify-send", "tokentray"])`)
			}
		case strings.IndexFunc(s, unicode.IsSpace) >= 0:
			return nil, fmt.Errorf("a command with arguments must be a list, not one string: there is no shell")
		default:
			argv = []string{s}
		}
	}
	if len(argv) == 0 {
		return nil, nil
	}
	if len(argv) > maxHookArgs {
		return nil, fmt.Errorf("%d arguments; at most %d", len(argv), maxHookArgs)
	}
	if strings.TrimSpace(argv[0]) == "" {
		return nil, fmt.Errorf("the program (first word) is empty")
	}
	for i, a := range argv {
		if len(a) > maxHookArgLen {
			return nil, fmt.Errorf("word %d is %d bytes long; at most %d", i+1, len(a), maxHookArgLen)
		}
		if strings.ContainsRune(a, 0) {
			return nil, fmt.Errorf("word %d holds a NUL byte", i+1)
		}
		if !utf8.ValidString(a) {
			return nil, fmt.Errorf("word %d is not valid UTF-8", i+1)
		}
	}
	return argv, nil
}

// formatArgv writes a command the way parseArgv reads it back: a JSON list,
// or "" for none.
func formatArgv(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	b, _ := json.Marshal(argv)
	return string(b)
}
