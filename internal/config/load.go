package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"github.com/spf13/viper"
	"github.com/tokentray/tokentray/internal/wire"
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

// Problem is one invalid value.
type Problem struct {
	Key     string // setting name, e.g. refresh.interval_hours
	Value   string // what was given, as text
	Allowed string // what is allowed
	Origin  string // "file /path", "env TOKENTRAY_...", "flag --set"
	Reason  string
}

func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", p.Key)
	if p.Value != "" || (!strings.HasPrefix(p.Reason, "unknown") && !strings.HasPrefix(p.Key, "(")) {
		fmt.Fprintf(&b, " = %q", p.Value)
	}
	if p.Origin != "" {
		fmt.Fprintf(&b, " (from %s)", p.Origin)
	}
	fmt.Fprintf(&b, ": %s", p.Reason)
	if p.Allowed != "" {
		fmt.Fprintf(&b, "; allowed: %s", p.Allowed)
	}
	return b.String()
}

// ValidationError lists every problem found; nothing was applied.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid setting: " + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid settings:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// DefaultPath is config.yaml under the user's config directory
// (XDG_CONFIG_HOME on Linux).
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory: %w", err)
	}
	return filepath.Join(dir, "tokentray", "config.yaml"), nil
}

// StateDir is where non-secret runtime state and logs live. On Linux and
// the BSDs it is $XDG_STATE_HOME/tokentray when XDG_STATE_HOME is an absolute
// path, else ~/.local/state/tokentray; on macOS ~/Library/Caches/tokentray;
// on Windows %LocalAppData%\tokentray. No other variable (XDG_CACHE_HOME in
// particular) moves it. It follows the environment; cross-process locks do
// not, see LockDir.
func StateDir() (string, error) {
	return stateDir(runtime.GOOS, os.Getenv, os.UserHomeDir, os.UserCacheDir)
}

func stateDir(goos string, getenv func(string) string, home, cache func() (string, error)) (string, error) {
	if goos != "windows" && goos != "darwin" {
		if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
			return filepath.Join(d, "tokentray"), nil
		}
		h, err := home()
		if err != nil {
			return "", fmt.Errorf("find state directory: %w", err)
		}
		return filepath.Join(h, ".local", "state", "tokentray"), nil
	}
	dir, err := cache()
	if err != nil {
		return "", fmt.Errorf("find state directory: %w", err)
	}
	return filepath.Join(dir, "tokentray"), nil
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

// ValidName reports whether name can name an account (the rule, shared
// with every client, is wire.CheckAccountName).
func ValidName(name string) error { return wire.CheckAccountName(name) }

var secretFields = map[string]bool{"client_secret": true, "refresh_token": true, "access_token": true, "password": true, "secret": true, "token": true}

var accountFields = map[string]bool{"name": true, "provider": true, "tenant": true, "issuer": true, "client_id": true, "scopes": true, "redirect_uri": true, "headers": true, "client_capabilities": true, "narrower_scopes": true}

func parseAccounts(raw any, origin string) ([]Account, []Problem) {
	if raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, []Problem{{Key: "accounts", Origin: origin, Reason: "must be a list of accounts"}}
	}
	var out []Account
	var problems []Problem
	seen := map[string]bool{}
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			problems = append(problems, Problem{Key: fmt.Sprintf("accounts[%d]", i), Origin: origin, Reason: "must be a mapping with name, provider, client_id, ..."})
			continue
		}
		var a Account
		var ps []Problem
		at := func(field string) string { return fmt.Sprintf("accounts[%d].%s", i, field) }
		for f, v := range m {
			f = strings.ToLower(f)
			if secretFields[f] {
				ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: "secrets never belong in the config file; remove it and use `tokentray account add --client-secret-stdin` or `tokentray login`"})
				continue
			}
			if !accountFields[f] {
				ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: "unknown account field; allowed: name, provider, tenant, issuer, client_id, scopes, redirect_uri, headers, client_capabilities, narrower_scopes"})
				continue
			}
			switch f {
			case "scopes":
				sc, err := stringList(v)
				if err != nil {
					ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: err.Error()})
				}
				a.Scopes = sc
			case "client_capabilities":
				cc, err := stringList(v)
				if err != nil {
					ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: err.Error()})
				}
				a.ClientCapabilities = cc
			case "narrower_scopes":
				b, ok := v.(bool)
				if !ok {
					ps = append(ps, Problem{Key: at(f), Value: fmt.Sprint(v), Origin: origin, Allowed: "true or false", Reason: "not a boolean"})
				}
				a.NarrowerScopes = b
			case "headers":
				h, err := stringMap(v)
				if err != nil {
					ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: err.Error()})
				}
				a.Headers = h
			default:
				sv, ok := scalarString(v)
				if !ok {
					ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: "must be a single value"})
					continue
				}
				switch f {
				case "name":
					a.Name = sv
				case "provider":
					a.Provider = sv
				case "tenant":
					a.Tenant = sv
				case "issuer":
					a.Issuer = sv
				case "client_id":
					a.ClientID = sv
				case "redirect_uri":
					a.RedirectURI = sv
				}
			}
		}
		if err := a.Validate(); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				for _, p := range ve.Problems {
					p.Key = fmt.Sprintf("accounts[%d].%s", i, p.Key)
					p.Origin = origin
					ps = append(ps, p)
				}
			}
		}
		if a.Name != "" {
			if seen[a.Name] {
				ps = append(ps, Problem{Key: at("name"), Value: a.Name, Origin: origin, Reason: "duplicate account name"})
			}
			seen[a.Name] = true
		}
		problems = append(problems, ps...)
		if len(ps) == 0 {
			out = append(out, a)
		}
	}
	return out, problems
}

// Validate checks one account's fields; field names in the problems are
// relative (name, provider, ...).
func (a Account) Validate() error {
	var ps []Problem
	if err := ValidName(a.Name); err != nil {
		ps = append(ps, Problem{Key: "name", Value: a.Name, Allowed: "1–64 of A-Z a-z 0-9 . - _", Reason: "invalid account name"})
	}
	switch a.Provider {
	case "microsoft":
		if a.Tenant != "" && !validTenant(a.Tenant) {
			ps = append(ps, Problem{Key: "tenant", Value: a.Tenant, Allowed: "common, organizations, consumers, a tenant GUID or a domain like contoso.onmicrosoft.com", Reason: "invalid tenant"})
		}
		if a.Issuer != "" {
			ps = append(ps, Problem{Key: "issuer", Value: a.Issuer, Reason: "issuer is for provider oidc; microsoft accounts take a tenant"})
		}
	case "oidc":
		if err := checkURL(a.Issuer, false); err != nil {
			ps = append(ps, Problem{Key: "issuer", Value: a.Issuer, Allowed: "an https URL (http only for loopback hosts)", Reason: err.Error()})
		}
	default:
		ps = append(ps, Problem{Key: "provider", Value: a.Provider, Allowed: "microsoft or oidc", Reason: "unknown provider"})
	}
	if strings.TrimSpace(a.ClientID) == "" {
		ps = append(ps, Problem{Key: "client_id", Allowed: "the application (client) ID of your app registration", Reason: "missing"})
	} else if len(a.ClientID) > 256 || strings.ContainsAny(a.ClientID, " \t\r\n") {
		ps = append(ps, Problem{Key: "client_id", Value: a.ClientID, Reason: "must be a single word of at most 256 characters"})
	}
	for _, sc := range a.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n\"") {
			ps = append(ps, Problem{Key: "scopes", Value: sc, Reason: "each scope is one word without spaces or quotes"})
		}
	}
	if a.RedirectURI != "" {
		if err := checkRedirect(a.RedirectURI); err != nil {
			ps = append(ps, Problem{Key: "redirect_uri", Value: a.RedirectURI, Allowed: "http://127.0.0.1[:port]/path, http://localhost[:port]/path or http://[::1][:port]/path", Reason: err.Error()})
		}
	}
	for h, v := range a.Headers {
		if h == "" || strings.ContainsAny(h, " :\r\n") || strings.ContainsAny(v, "\r\n") {
			ps = append(ps, Problem{Key: "headers", Value: h, Reason: "header names are single words; values are one line"})
		}
		if strings.EqualFold(h, "Authorization") || strings.EqualFold(h, "Cookie") {
			ps = append(ps, Problem{Key: "headers", Value: h, Reason: "credential headers never belong in the config file"})
		}
	}
	ps = append(ps, a.capabilityProblems()...)
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
var domainRE = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)

func validTenant(t string) bool {
	switch t {
	case "common", "organizations", "consumers":
		return true
	}
	return guidRE.MatchString(t) || (len(t) <= 253 && domainRE.MatchString(t))
}

// IsLoopback reports whether host names this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func checkURL(raw string, allowPath bool) error {
	if raw == "" {
		return fmt.Errorf("missing")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not an absolute URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return fmt.Errorf("must use https (plain http is allowed only for loopback hosts)")
		}
	default:
		return fmt.Errorf("scheme %q is not allowed", u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("must not contain credentials")
	}
	return nil
}

func checkRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not an absolute URL")
	}
	if u.Scheme != "http" || !IsLoopback(u.Hostname()) {
		return fmt.Errorf("must be a plain-http loopback address")
	}
	return nil
}

func stringList(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return strings.Fields(t), nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := scalarString(e)
			if !ok {
				return nil, fmt.Errorf("must be a list of words")
			}
			out = append(out, s)
		}
		return out, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("must be a list of words")
}

func stringMap(v any) (map[string]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("must be a mapping of header name to value")
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := scalarString(e)
		if !ok {
			return nil, fmt.Errorf("header %s must have a single value", k)
		}
		// viper lower-cases map keys; HTTP header names are case-insensitive.
		out[k] = s
	}
	return out, nil
}

// nearestKey suggests the known key closest to a mistyped one.
func nearestKey(name string) string {
	best, bestD := "", 4
	for _, k := range keys {
		if d := levenshtein(name, k.name); d < bestD {
			best, bestD = k.name, d
		}
		// refresh.interval → refresh.interval_hours
		if strings.HasPrefix(k.name, name) && len(name) >= 5 && best == "" {
			best = k.name
		}
	}
	return best
}

func levenshtein(a, b string) int {
	if len(a) > 100 || len(b) > 100 {
		return 100
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
