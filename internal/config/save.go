package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/viper"
)

// Marshal renders settings as the YAML file tokentray writes.
func Marshal(s Settings) ([]byte, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	for _, k := range keys {
		v.Set(k.name, k.format(s))
	}
	if len(s.Accounts) > 0 {
		list := make([]map[string]any, 0, len(s.Accounts))
		for _, a := range s.Accounts {
			m := map[string]any{"name": a.Name, "provider": a.Provider, "client_id": a.ClientID}
			if a.Tenant != "" {
				m["tenant"] = a.Tenant
			}
			if a.Cloud != "" {
				m["cloud"] = a.Cloud
			}
			if a.Issuer != "" {
				m["issuer"] = a.Issuer
			}
			if len(a.Scopes) > 0 {
				m["scopes"] = a.Scopes
			}
			if a.RedirectURI != "" {
				m["redirect_uri"] = a.RedirectURI
			}
			if len(a.Headers) > 0 {
				m["headers"] = a.Headers
			}
			if len(a.ClientCapabilities) > 0 {
				m["client_capabilities"] = a.ClientCapabilities
			}
			if a.NarrowerScopes {
				m["narrower_scopes"] = true
			}
			if a.AzureSDK {
				m["azure_sdk"] = true
			}
			list = append(list, m)
		}
		v.Set("accounts", list)
	}
	if g := marshalGit(s.Git); g != nil {
		v.Set("git", g)
	}
	var buf bytes.Buffer
	buf.WriteString("# tokentray settings. Changes apply when tokentray restarts.\n# `tokentray config show` lists every key with its allowed range.\n")
	if err := v.WriteConfigTo(&buf); err != nil {
		return nil, fmt.Errorf("encode settings: %w", err)
	}
	return buf.Bytes(), nil
}

// Save validates s and writes it to path atomically: a 0600 temp file in the
// same 0700 directory, fsynced, then renamed over the old file.
func Save(path string, s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	data, err := Marshal(s)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data)
}

// WriteFileAtomic replaces path with data so that a crash leaves either the
// old or the new content, never a mix. The file is 0600 in a 0700 directory.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Validate checks every value of s against its allowed range.
func (s Settings) Validate() error {
	var ps []Problem
	for _, k := range keys {
		if _, err := k.parse(k.format(s)); err != nil {
			ps = append(ps, Problem{Key: k.name, Value: k.format(s), Allowed: k.allowed(), Reason: err.Error()})
		}
	}
	seen := map[string]bool{}
	for i, a := range s.Accounts {
		if err := a.Validate(); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				for _, p := range ve.Problems {
					p.Key = fmt.Sprintf("accounts[%d].%s", i, p.Key)
					ps = append(ps, p)
				}
			}
		}
		if seen[a.Name] {
			ps = append(ps, Problem{Key: fmt.Sprintf("accounts[%d].name", i), Value: a.Name, Reason: "duplicate account name"})
		}
		seen[a.Name] = true
	}
	ps = append(ps, s.Git.problems()...)
	ps = append(ps, crossCheck(s, nil)...)
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// ReadFile reads and validates the settings stored in path alone (no env or
// flags): what the next start will see before overrides. A missing file gives
// the defaults.
func ReadFile(path string) (Settings, error) {
	data, err := readLimited(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Defaults(), nil
	}
	if err != nil {
		return Settings{}, err
	}
	l := &Loaded{Sources: map[string]Source{}, EnvVars: map[string]string{}}
	s, problems := parse(data, path, func(string) (string, bool) { return "", false }, nil, l)
	if len(problems) > 0 {
		return Settings{}, &ValidationError{Problems: problems}
	}
	return s, nil
}

// Set changes one key in the file at path (under Update's lock), refusing
// an invalid value with the key, the value and the allowed range. Nothing is
// written on error.
func Set(path, name, value string) (Settings, error) {
	k, ok := lookupKey(name)
	if !ok {
		p := Problem{Key: name, Reason: "unknown key"}
		if near := nearestKey(name); near != "" {
			p.Reason = fmt.Sprintf("unknown key (did you mean %s?)", near)
		}
		return Settings{}, &ValidationError{Problems: []Problem{p}}
	}
	var out Settings
	err := Update(path, func(s *Settings) error {
		if err := k.apply(s, value); err != nil {
			return &ValidationError{Problems: []Problem{{Key: name, Value: value, Allowed: k.allowed(), Origin: "command line", Reason: err.Error()}}}
		}
		out = *s
		return nil
	})
	if err != nil {
		return Settings{}, err
	}
	return out, nil
}

// Value returns the text form of key name in s.
func Value(s Settings, name string) (string, bool) {
	k, ok := lookupKey(name)
	if !ok {
		return "", false
	}
	return k.format(s), true
}

// SetValue parses value for key name and stores it in s, refusing invalid
// values exactly as Load does.
func SetValue(s *Settings, name, value string) error {
	k, ok := lookupKey(name)
	if !ok {
		return &ValidationError{Problems: []Problem{{Key: name, Reason: "unknown key"}}}
	}
	if err := k.apply(s, value); err != nil {
		return &ValidationError{Problems: []Problem{{Key: name, Value: value, Allowed: k.allowed(), Reason: err.Error()}}}
	}
	return nil
}

// Change is one difference between the running settings and the file.
type Change struct {
	Key    string `json:"key"`
	Active string `json:"active"`
	OnDisk string `json:"on_disk"`
}

func (c Change) String() string {
	return fmt.Sprintf("%s: %s → %s", c.Key, c.Active, c.OnDisk)
}

// Diff lists what would change if the process restarted with onDisk.
func Diff(active, onDisk Settings) []Change {
	var out []Change
	for _, k := range keys {
		a, d := k.format(active), k.format(onDisk)
		if a != d {
			out = append(out, Change{Key: k.name, Active: a, OnDisk: d})
		}
	}
	an, dn := accountSummary(active.Accounts), accountSummary(onDisk.Accounts)
	if an != dn {
		out = append(out, Change{Key: "accounts", Active: an, OnDisk: dn})
	}
	out = append(out, diffGit(active.Git, onDisk.Git)...)
	return out
}

func accountSummary(as []Account) string {
	if len(as) == 0 {
		return "(none)"
	}
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = fmt.Sprintf("%s(%s,%s,%s%s,%v,%s,%v)", a.Name, a.Provider, a.ClientID, a.Tenant, a.Issuer, a.Scopes, a.RedirectURI, a.Headers)
		if len(a.ClientCapabilities) > 0 {
			names[i] += fmt.Sprintf("+capabilities%v", a.ClientCapabilities)
		}
		if a.NarrowerScopes {
			names[i] += "+narrower_scopes"
		}
		if a.AzureSDK {
			names[i] += "+azure_sdk"
		}
	}
	return strings.Join(names, " ")
}
