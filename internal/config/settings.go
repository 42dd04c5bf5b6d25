// Package config owns tokentray's settings: their typed form, defaults and
// allowed ranges, loading them from file, environment and flags with strict
// validation, saving them atomically, and listing what differs between the
// settings a process runs with and the ones on disk (applied on restart). It
// also adds and removes accounts in the file under a lock (AddAccount,
// RemoveAccount) and names the per-user state and lock directories
// (StateDir, LockDir).
package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Settings is the typed configuration. A process reads it once at start and
// keeps it; a saved change applies on the next start.
type Settings struct {
	Refresh   Refresh   `json:"refresh"`
	Backoff   Backoff   `json:"backoff"`
	Budget    Budget    `json:"budget"`
	Storage   Storage   `json:"storage"`
	Log       Log       `json:"log"`
	UI        UI        `json:"ui"`
	Autostart bool      `json:"autostart"`
	Accounts  []Account `json:"accounts"`
	Git       Git       `json:"git"`   // git-credential mappings (git.go)
	Radar     Radar     `json:"radar"` // the expiry radar (radar.go)
	Hooks     Hooks     `json:"hooks"` // commands run on account events (hooks.go)
}

// Refresh holds the scheduling knobs.
type Refresh struct {
	Enabled       bool          `json:"enabled"`
	IntervalHours int           `json:"interval_hours"`
	Lookahead     time.Duration `json:"lookahead"`
	Cooldown      time.Duration `json:"cooldown"`
	JitterMax     time.Duration `json:"jitter_max"`
}

// Backoff holds the retry policy for transient failures.
type Backoff struct {
	Base        time.Duration `json:"base"`
	Max         time.Duration `json:"max"`
	MaxFailures int           `json:"max_failures"`
}

// Budget is the global sliding-window cap on refresh requests.
type Budget struct {
	Requests int           `json:"requests"`
	Window   time.Duration `json:"window"`
}

// Storage selects where secrets live.
type Storage struct {
	Backend         string        `json:"backend"`
	KeychainTimeout time.Duration `json:"keychain_timeout"`
}

// Log holds logging settings.
type Log struct {
	Level string `json:"level"`
}

// UI holds window settings.
type UI struct {
	StartMinimized bool `json:"start_minimized"`
}

// Account describes one signed-in identity. It never holds a secret: refresh
// tokens and client secrets live in the vault.
type Account struct {
	Name        string            `json:"name" yaml:"name"`
	Provider    string            `json:"provider" yaml:"provider"`
	Tenant      string            `json:"tenant,omitempty" yaml:"tenant,omitempty"`
	Cloud       string            `json:"cloud,omitempty" yaml:"cloud,omitempty"` // microsoft: public ("" too), usgov or china
	Issuer      string            `json:"issuer,omitempty" yaml:"issuer,omitempty"`
	ClientID    string            `json:"client_id" yaml:"client_id"`
	Scopes      []string          `json:"scopes,omitempty" yaml:"scopes,omitempty"`
	RedirectURI string            `json:"redirect_uri,omitempty" yaml:"redirect_uri,omitempty"`
	Headers     map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// ClientCapabilities opts the account in to client capabilities sent
	// with every refresh (capabilities.go): cp1 for Continuous Access
	// Evaluation (Microsoft only).
	ClientCapabilities []string `json:"client_capabilities,omitempty" yaml:"client_capabilities,omitempty"`
	// NarrowerScopes lets a non-Microsoft account redeem its refresh token
	// for a narrower scope set (token --scope, RFC 6749 §6). Off by
	// default: some providers narrow the sign-in itself on such a refresh
	// (capabilities.go).
	NarrowerScopes bool `json:"narrower_scopes,omitempty" yaml:"narrower_scopes,omitempty"`
	// AzureSDK serves the account's tokens to the Azure SDKs on a local
	// managed-identity endpoint while the keeper runs (tokentray env
	// --azure-sdk). Microsoft accounts only.
	AzureSDK bool `json:"azure_sdk,omitempty" yaml:"azure_sdk,omitempty"`
}

// Interval is the refresh interval as a duration.
func (s Settings) Interval() time.Duration {
	return time.Duration(s.Refresh.IntervalHours) * time.Hour
}

// Account returns the account named name.
func (s Settings) Account(name string) (Account, bool) {
	for _, a := range s.Accounts {
		if a.Name == name {
			return a, true
		}
	}
	return Account{}, false
}

// Defaults returns the built-in settings.
func Defaults() Settings {
	var s Settings
	for _, k := range keys {
		if err := k.apply(&s, k.def); err != nil {
			panic("config: bad default for " + k.name + ": " + err.Error())
		}
	}
	return s
}

type kind int

const (
	kindBool kind = iota
	kindInt
	kindDuration
	kindEnum
	kindArgv // a command as an argument list (hooks.go)
)

// key describes one scalar setting: its name, type, default and range.
type key struct {
	name     string
	kind     kind
	def      string
	min, max int64 // ints, or durations in nanoseconds
	enum     []string
	doc      string
	set      func(*Settings, any)
	get      func(Settings) any
}

// keys lists every scalar setting. Ranges come from ARCHITECTURE.md.
var keys = []key{
	{name: "refresh.enabled", kind: kindBool, def: "true", doc: "refresh automatically on the interval",
		set: func(s *Settings, v any) { s.Refresh.Enabled = v.(bool) }, get: func(s Settings) any { return s.Refresh.Enabled }},
	{name: "refresh.interval_hours", kind: kindInt, def: "1", min: 1, max: 24, doc: "hours between forced refreshes",
		set: func(s *Settings, v any) { s.Refresh.IntervalHours = int(v.(int64)) }, get: func(s Settings) any { return s.Refresh.IntervalHours }},
	{name: "refresh.lookahead", kind: kindDuration, def: "5m", min: int64(time.Minute), max: int64(10 * time.Minute), doc: "refresh this long before an access token expires",
		set: func(s *Settings, v any) { s.Refresh.Lookahead = v.(time.Duration) }, get: func(s Settings) any { return s.Refresh.Lookahead }},
	{name: "refresh.cooldown", kind: kindDuration, def: "10m", min: int64(5 * time.Minute), max: int64(30 * time.Minute), doc: "least time between automatic refreshes of one account",
		set: func(s *Settings, v any) { s.Refresh.Cooldown = v.(time.Duration) }, get: func(s Settings) any { return s.Refresh.Cooldown }},
	{name: "refresh.jitter_max", kind: kindDuration, def: "20s", min: 0, max: int64(time.Minute), doc: "random delay added to each automatic refresh",
		set: func(s *Settings, v any) { s.Refresh.JitterMax = v.(time.Duration) }, get: func(s Settings) any { return s.Refresh.JitterMax }},
	{name: "backoff.base", kind: kindDuration, def: "60s", min: int64(30 * time.Second), max: int64(5 * time.Minute), doc: "first retry delay after a transient failure",
		set: func(s *Settings, v any) { s.Backoff.Base = v.(time.Duration) }, get: func(s Settings) any { return s.Backoff.Base }},
	{name: "backoff.max", kind: kindDuration, def: "1h", min: int64(10 * time.Minute), max: int64(2 * time.Hour), doc: "longest retry delay",
		set: func(s *Settings, v any) { s.Backoff.Max = v.(time.Duration) }, get: func(s Settings) any { return s.Backoff.Max }},
	{name: "backoff.max_failures", kind: kindInt, def: "10", min: 5, max: 20, doc: "failures in a row before an account is marked failing",
		set: func(s *Settings, v any) { s.Backoff.MaxFailures = int(v.(int64)) }, get: func(s Settings) any { return s.Backoff.MaxFailures }},
	{name: "budget.requests", kind: kindInt, def: "100", min: 50, max: 200, doc: "refresh requests allowed per budget window, all accounts together",
		set: func(s *Settings, v any) { s.Budget.Requests = int(v.(int64)) }, get: func(s Settings) any { return s.Budget.Requests }},
	{name: "budget.window", kind: kindDuration, def: "10m", min: int64(5 * time.Minute), max: int64(20 * time.Minute), doc: "length of the sliding budget window",
		set: func(s *Settings, v any) { s.Budget.Window = v.(time.Duration) }, get: func(s Settings) any { return s.Budget.Window }},
	{name: "storage.backend", kind: kindEnum, def: "keychain", enum: []string{"keychain", "file"}, doc: "where refresh tokens are kept",
		set: func(s *Settings, v any) { s.Storage.Backend = v.(string) }, get: func(s Settings) any { return s.Storage.Backend }},
	{name: "storage.keychain_timeout", kind: kindDuration, def: "5s", min: int64(time.Second), max: int64(time.Minute), doc: "how long to wait for the OS keychain",
		set: func(s *Settings, v any) { s.Storage.KeychainTimeout = v.(time.Duration) }, get: func(s Settings) any { return s.Storage.KeychainTimeout }},
	{name: "log.level", kind: kindEnum, def: "info", enum: []string{"debug", "info", "warn", "error"}, doc: "log verbosity",
		set: func(s *Settings, v any) { s.Log.Level = v.(string) }, get: func(s Settings) any { return s.Log.Level }},
	{name: "ui.start_minimized", kind: kindBool, def: "false", doc: "start with the window closed (tray only)",
		set: func(s *Settings, v any) { s.UI.StartMinimized = v.(bool) }, get: func(s Settings) any { return s.UI.StartMinimized }},
	{name: "autostart", kind: kindBool, def: "false", doc: "start tokentray at login",
		set: func(s *Settings, v any) { s.Autostart = v.(bool) }, get: func(s Settings) any { return s.Autostart }},
}

// Key is the public description of one setting, for `config show` and the UI.
type Key struct {
	Name    string
	Default string
	Allowed string
	Doc     string
}

// Keys lists every scalar setting with its default and allowed values.
func Keys() []Key {
	out := make([]Key, 0, len(keys))
	for _, k := range keys {
		out = append(out, Key{Name: k.name, Default: k.def, Allowed: k.allowed(), Doc: k.doc})
	}
	return out
}

func lookupKey(name string) (key, bool) {
	for _, k := range keys {
		if k.name == name {
			return k, true
		}
	}
	return key{}, false
}

// EnvName is the environment variable that sets a key:
// refresh.interval_hours → TOKENTRAY_REFRESH_INTERVAL_HOURS.
func EnvName(name string) string {
	return "TOKENTRAY_" + strings.ToUpper(strings.ReplaceAll(name, ".", "_"))
}

func (k key) allowed() string {
	switch k.kind {
	case kindBool:
		return "true or false"
	case kindInt:
		return fmt.Sprintf("%d–%d", k.min, k.max)
	case kindDuration:
		return fmt.Sprintf("%s–%s", fmtDur(time.Duration(k.min)), fmtDur(time.Duration(k.max)))
	case kindEnum:
		return strings.Join(k.enum, " or ")
	case kindArgv:
		return argvAllowed
	}
	return ""
}

// parse turns a raw value (string from env/flag, or a YAML scalar) into the
// key's type, enforcing the range. It never clamps.
func (k key) parse(raw any) (any, error) {
	if k.kind == kindArgv {
		return parseArgv(raw)
	}
	s, ok := scalarString(raw)
	if !ok {
		return nil, fmt.Errorf("must be a single value")
	}
	s = strings.TrimSpace(s)
	switch k.kind {
	case kindBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("not a boolean")
		}
		return b, nil
	case kindInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not a whole number")
		}
		if n < k.min || n > k.max {
			return nil, fmt.Errorf("out of range")
		}
		return n, nil
	case kindDuration:
		d, err := time.ParseDuration(s)
		if err != nil {
			// A bare integer means seconds, as people write in YAML.
			n, ierr := strconv.ParseInt(s, 10, 64)
			if ierr != nil || n > int64(24*time.Hour/time.Second) || n < 0 {
				return nil, fmt.Errorf("not a duration (write it like 90s, 5m or 1h)")
			}
			d = time.Duration(n) * time.Second
		}
		if int64(d) < k.min || int64(d) > k.max {
			return nil, fmt.Errorf("out of range")
		}
		return d, nil
	case kindEnum:
		for _, e := range k.enum {
			if s == e {
				return s, nil
			}
		}
		return nil, fmt.Errorf("not one of the allowed values")
	}
	return nil, fmt.Errorf("unknown kind")
}

func (k key) apply(s *Settings, raw any) error {
	v, err := k.parse(raw)
	if err != nil {
		return err
	}
	k.set(s, v)
	return nil
}

// format renders a key's current value the way it is written in the file.
func (k key) format(s Settings) string {
	switch v := k.get(s).(type) {
	case time.Duration:
		return fmtDur(v)
	case []string:
		return formatArgv(v)
	default:
		return fmt.Sprint(v)
	}
}

func scalarString(raw any) (string, bool) {
	switch v := raw.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case float64:
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10), true
		}
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case time.Duration:
		return v.String(), true
	case nil:
		return "", true
	}
	return "", false
}

// fmtDur prints 5m instead of 5m0s and 1h instead of 1h0m0s.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
