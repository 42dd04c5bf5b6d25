// Loading settings: the file, then the environment, then flags, each value
// checked against its key (keys in settings.go), the accounts and git
// sections decoded (accountdecode.go, git.go), every problem collected.

package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/spf13/viper"
)

// maxFileSize bounds what Load reads; a settings file is a few KiB.
const maxFileSize = 1 << 20

// Source says where an effective value came from.
type Source string

// Sources, from weakest to strongest.
const (
	FromDefault Source = "default"
	FromFile    Source = "file"
	FromEnv     Source = "env"
	FromFlag    Source = "flag"
)

// LoadOptions says where to read settings from. Zero values mean: the default
// file path, the process environment and no flags.
type LoadOptions struct {
	Path   string                      // config file; "" means DefaultPath()
	Env    func(string) (string, bool) // nil means os.LookupEnv
	Flags  map[string]string           // key → value set on the command line
	Create bool                        // write a default file when none exists
}

// Loaded is the result of Load: the effective settings and where each value
// came from.
type Loaded struct {
	Settings Settings
	Path     string
	Exists   bool              // the file existed
	Sources  map[string]Source // key → source
	EnvVars  map[string]string // key → env variable that set it
}

// Load reads the file (if any), the environment and flags, in that order of
// increasing precedence, and validates everything. On any invalid value it
// returns a *ValidationError naming each key, value, allowed range and origin.
func Load(o LoadOptions) (*Loaded, error) {
	path := o.Path
	if path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	env := o.Env
	if env == nil {
		env = os.LookupEnv
	}
	l := &Loaded{Path: path, Sources: map[string]Source{}, EnvVars: map[string]string{}}

	data, err := readLimited(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if o.Create {
			if err := Save(path, Defaults()); err != nil {
				return nil, fmt.Errorf("create default config: %w", err)
			}
			l.Exists = true
		}
	case err != nil:
		return nil, err
	default:
		l.Exists = true
	}

	s, problems := parse(data, path, env, o.Flags, l)
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	l.Settings = s
	return l, nil
}

// Parse validates the content of a settings file alone (no env, no flags).
// It never panics, whatever the input.
func Parse(data []byte) (Settings, error) {
	l := &Loaded{Sources: map[string]Source{}, EnvVars: map[string]string{}}
	s, problems := parse(data, "config", func(string) (string, bool) { return "", false }, nil, l)
	if len(problems) > 0 {
		return Settings{}, &ValidationError{Problems: problems}
	}
	return s, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("read config %s: file is larger than %d bytes; is it the right file?", path, maxFileSize)
	}
	return data, nil
}

func parse(data []byte, path string, env func(string) (string, bool), flags map[string]string, l *Loaded) (s Settings, problems []Problem) {
	defer func() {
		// viper and its decoders are third-party code; a panic on hostile
		// input must become an error, not a crash.
		if r := recover(); r != nil {
			problems = append(problems, Problem{Key: "(file)", Origin: "file " + path, Reason: fmt.Sprintf("cannot parse: %v", r)})
		}
	}()
	s = Defaults()
	for _, k := range keys {
		l.Sources[k.name] = FromDefault
	}

	fileVals := map[string]any{}
	var rawAccounts, rawGit any
	if len(bytes.TrimSpace(data)) > 0 {
		v := viper.New()
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return s, []Problem{{Key: "(file)", Origin: "file " + path, Reason: "not valid YAML: " + oneLine(err.Error())}}
		}
		all := v.AllSettings()
		flatten("", all, fileVals)
		rawAccounts = all["accounts"]
		rawGit = all["git"]
	}

	origin := "file " + path
	for name, raw := range fileVals {
		if name == "accounts" || strings.HasPrefix(name, "accounts.") || name == "git" || strings.HasPrefix(name, "git.") {
			continue // lists, parsed below
		}
		k, ok := lookupKey(name)
		if !ok {
			p := Problem{Key: name, Origin: origin, Reason: "unknown key"}
			if near := nearestKey(name); near != "" {
				p.Reason = fmt.Sprintf("unknown key (did you mean %s?)", near)
			}
			problems = append(problems, p)
			continue
		}
		if err := k.apply(&s, raw); err != nil {
			val, _ := scalarString(raw)
			problems = append(problems, Problem{Key: name, Value: val, Allowed: k.allowed(), Origin: origin, Reason: err.Error()})
			continue
		}
		l.Sources[name] = FromFile
	}

	for _, k := range keys {
		ev := EnvName(k.name)
		raw, ok := env(ev)
		if !ok {
			continue
		}
		if err := k.apply(&s, raw); err != nil {
			problems = append(problems, Problem{Key: k.name, Value: raw, Allowed: k.allowed(), Origin: "env " + ev, Reason: err.Error()})
			continue
		}
		l.Sources[k.name] = FromEnv
		l.EnvVars[k.name] = ev
	}

	flagNames := make([]string, 0, len(flags))
	for n := range flags {
		flagNames = append(flagNames, n)
	}
	sort.Strings(flagNames)
	for _, name := range flagNames {
		raw := flags[name]
		k, ok := lookupKey(name)
		if !ok {
			p := Problem{Key: name, Origin: "flag", Reason: "unknown key"}
			if near := nearestKey(name); near != "" {
				p.Reason = fmt.Sprintf("unknown key (did you mean %s?)", near)
			}
			problems = append(problems, p)
			continue
		}
		if err := k.apply(&s, raw); err != nil {
			problems = append(problems, Problem{Key: name, Value: raw, Allowed: k.allowed(), Origin: "flag", Reason: err.Error()})
			continue
		}
		l.Sources[name] = FromFlag
	}

	accts, aprobs := parseAccounts(rawAccounts, origin)
	s.Accounts = accts
	problems = append(problems, aprobs...)
	gitSection, gprobs := parseGit(rawGit, origin)
	s.Git = gitSection
	problems = append(problems, gprobs...)
	problems = append(problems, crossCheck(s, l.Sources)...)
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Key < problems[j].Key })
	return s, problems
}

// oneLine joins a multi-line parser message into one line.
func oneLine(s string) string {
	s = strings.TrimPrefix(s, "While parsing config: ")
	return strings.Join(strings.Fields(s), " ")
}

// flatten turns nested maps into dotted keys (lower-case, as viper returns).
func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if name == "accounts" {
			out[name] = v
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			if len(sub) == 0 {
				out[name] = nil
			}
			flatten(name, sub, out)
			continue
		}
		out[name] = v
	}
}

// crossCheck finds combinations that are each in range but make no sense.
func crossCheck(s Settings, src map[string]Source) []Problem {
	var p []Problem
	if s.Backoff.Base > s.Backoff.Max {
		p = append(p, Problem{Key: "backoff.base", Value: fmtDur(s.Backoff.Base), Allowed: "at most backoff.max (" + fmtDur(s.Backoff.Max) + ")", Origin: string(src["backoff.base"]), Reason: "larger than backoff.max"})
	}
	return p
}
