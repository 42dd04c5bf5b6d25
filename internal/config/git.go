package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Git holds the settings of `tokentray git-credential`.
type Git struct {
	Credentials []GitCredential `json:"credentials,omitempty"`
}

// GitCredential maps git remotes on one host (and, optionally, under one
// path) to the account whose access token git sends as the HTTP password.
// It never holds a secret.
type GitCredential struct {
	Host     string   `json:"host"`               // dev.azure.com, or host:port as git sends it
	Protocol string   `json:"protocol,omitempty"` // https (the default); http only for loopback hosts
	Path     string   `json:"path,omitempty"`     // repository path prefix, e.g. org/; needs credential.useHttpPath
	Account  string   `json:"account"`
	Scopes   []string `json:"scope,omitempty"`    // per-resource scope(s); empty: the account's own
	Username string   `json:"username,omitempty"` // user name git sends (default "tokentray")
}

// DefaultGitUsername is the user name sent when a mapping names none: Azure
// DevOps accepts any user name with an Entra access token as the password.
const DefaultGitUsername = "tokentray"

// EffectiveProtocol is Protocol, or https when unset.
func (g GitCredential) EffectiveProtocol() string {
	if g.Protocol == "" {
		return "https"
	}
	return g.Protocol
}

// EffectiveUsername is Username, or DefaultGitUsername when unset.
func (g GitCredential) EffectiveUsername() string {
	if g.Username == "" {
		return DefaultGitUsername
	}
	return g.Username
}

// MatchGit returns the mapping for a remote git asks about: same protocol,
// same host (case-insensitive, port included) and, for mappings with a path,
// a request path equal to it or below it. The mapping with the longest path
// wins. pathMissing reports that a mapping with a path exists for the host
// but git sent no path (credential.useHttpPath is off).
//
// A path with a "." or ".." segment, an empty segment (a//b) or a backslash
// matches no mapping, not even a host-wide one: git decodes %2e%2e in a
// remote URL into "..", and a server or proxy that normalises the path reads
// org/../other as other. The same holds for a segment that decodes once
// more into one of those, or into a slash or backslash.
func (s Settings) MatchGit(protocol, host, path string) (m GitCredential, ok, pathMissing bool) {
	path = strings.Trim(path, "/")
	if !plainGitPath(path) {
		return GitCredential{}, false, false
	}
	best := -1
	for _, g := range s.Git.Credentials {
		if g.EffectiveProtocol() != protocol || !strings.EqualFold(g.Host, host) {
			continue
		}
		p := strings.Trim(g.Path, "/")
		if p != "" {
			if path == "" {
				pathMissing = true
				continue
			}
			if path != p && !strings.HasPrefix(path, p+"/") {
				continue
			}
		}
		if len(p) > best {
			m, best = g, len(p)
		}
	}
	return m, best >= 0, pathMissing && best < 0
}

// plainGitPath reports whether p (without leading or trailing slashes) is
// empty or names one location however a server or proxy normalises it: no
// ".", ".." or empty segment and no backslash, also after one more round of
// percent-decoding.
func plainGitPath(p string) bool {
	if p == "" {
		return true
	}
	if strings.Contains(p, `\`) {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		if strings.Contains(seg, "%") {
			d, err := url.PathUnescape(seg)
			if err != nil || d == "." || d == ".." || strings.ContainsAny(d, `/\`) {
				return false
			}
		}
	}
	return true
}

var gitHostRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)

var gitFields = map[string]bool{"host": true, "protocol": true, "path": true, "account": true, "scope": true, "username": true}

const gitFieldList = "host, protocol, path, account, scope, username"

// validate checks one mapping; keys in the problems are relative (host, ...).
func (g GitCredential) validate() []Problem {
	var ps []Problem
	if g.Host == "" {
		ps = append(ps, Problem{Key: "host", Allowed: "a host name as git sends it, e.g. dev.azure.com or 127.0.0.1:8080", Reason: "missing"})
	} else if len(g.Host) > 260 || !gitHostRE.MatchString(g.Host) {
		ps = append(ps, Problem{Key: "host", Value: g.Host, Allowed: "a host name with an optional :port, no scheme or path (e.g. dev.azure.com)", Reason: "not a host name"})
	}
	switch g.Protocol {
	case "", "https":
	case "http":
		if g.Host != "" && !IsLoopback(hostOnly(g.Host)) {
			ps = append(ps, Problem{Key: "protocol", Value: g.Protocol, Allowed: "https (http only for loopback hosts)", Reason: "a token is never sent over plain http to another machine"})
		}
	default:
		ps = append(ps, Problem{Key: "protocol", Value: g.Protocol, Allowed: "https or http (loopback hosts only)", Reason: "unknown protocol"})
	}
	if len(g.Path) > 1024 || strings.ContainsAny(g.Path, " \t\r\n\x00?#") {
		ps = append(ps, Problem{Key: "path", Value: g.Path, Allowed: "a repository path prefix such as org/ or org/project/_git/repo", Reason: "not a path prefix"})
	} else if !plainGitPath(strings.Trim(g.Path, "/")) {
		ps = append(ps, Problem{Key: "path", Value: g.Path, Allowed: "a repository path prefix such as org/ or org/project/_git/repo", Reason: "a path prefix has no . or .. or empty segments and no backslash"})
	}
	if err := ValidName(g.Account); err != nil {
		ps = append(ps, Problem{Key: "account", Value: g.Account, Allowed: "the name of a configured account (1–64 of A-Z a-z 0-9 . - _)", Reason: "invalid account name"})
	}
	for _, sc := range g.Scopes {
		if sc == "" || len(sc) > 512 || strings.ContainsAny(sc, " \t\r\n\"\x00") {
			ps = append(ps, Problem{Key: "scope", Value: sc, Reason: "each scope is one word without spaces or quotes"})
		}
	}
	if len(g.Username) > 256 || strings.ContainsAny(g.Username, "\r\n\x00") {
		ps = append(ps, Problem{Key: "username", Value: g.Username, Reason: "a user name is one line of at most 256 characters"})
	}
	return ps
}

func hostOnly(hostport string) string {
	if strings.HasPrefix(hostport, "[") {
		if i := strings.Index(hostport, "]"); i > 0 {
			return hostport[:i+1]
		}
	}
	if i := strings.LastIndex(hostport, ":"); i >= 0 {
		return hostport[:i]
	}
	return hostport
}

// problems checks every mapping and that no two claim the same remote.
func (g Git) problems() []Problem {
	var ps []Problem
	seen := map[string]bool{}
	for i, c := range g.Credentials {
		for _, p := range c.validate() {
			p.Key = fmt.Sprintf("git.credentials[%d].%s", i, p.Key)
			ps = append(ps, p)
		}
		id := c.EffectiveProtocol() + "://" + strings.ToLower(c.Host) + "/" + strings.Trim(c.Path, "/")
		if seen[id] {
			ps = append(ps, Problem{Key: fmt.Sprintf("git.credentials[%d]", i), Value: id, Reason: "another mapping has the same protocol, host and path"})
		}
		seen[id] = true
	}
	return ps
}

// parseGit reads the git: section of the file.
func parseGit(raw any, origin string) (Git, []Problem) {
	if raw == nil {
		return Git{}, nil
	}
	sec, ok := raw.(map[string]any)
	if !ok {
		return Git{}, []Problem{{Key: "git", Origin: origin, Reason: "must be a mapping with credentials: [...]"}}
	}
	var ps []Problem
	var g Git
	for k, v := range sec {
		if strings.ToLower(k) != "credentials" {
			ps = append(ps, Problem{Key: "git." + k, Origin: origin, Reason: "unknown key; allowed: git.credentials"})
			continue
		}
		if v == nil {
			continue
		}
		list, ok := v.([]any)
		if !ok {
			ps = append(ps, Problem{Key: "git.credentials", Origin: origin, Reason: "must be a list of {host, account, ...} mappings"})
			continue
		}
		for i, item := range list {
			at := func(f string) string { return fmt.Sprintf("git.credentials[%d].%s", i, f) }
			m, ok := item.(map[string]any)
			if !ok {
				ps = append(ps, Problem{Key: fmt.Sprintf("git.credentials[%d]", i), Origin: origin, Reason: "must be a mapping with host, account and optionally " + gitFieldList})
				continue
			}
			var c GitCredential
			bad := false
			for f, fv := range m {
				f = strings.ToLower(f)
				if secretFields[f] {
					ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: "secrets never belong in the config file; tokentray gives git the account's access token"})
					bad = true
					continue
				}
				if !gitFields[f] {
					ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: "unknown field; allowed: " + gitFieldList})
					bad = true
					continue
				}
				if f == "scope" {
					sc, err := stringList(fv)
					if err != nil {
						ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: err.Error()})
						bad = true
					}
					c.Scopes = sc
					continue
				}
				sv, ok := scalarString(fv)
				if !ok {
					ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: "must be a single value"})
					bad = true
					continue
				}
				switch f {
				case "host":
					c.Host = sv
				case "protocol":
					c.Protocol = sv
				case "path":
					c.Path = sv
				case "account":
					c.Account = sv
				case "username":
					c.Username = sv
				}
			}
			for _, p := range c.validate() {
				p.Key = fmt.Sprintf("git.credentials[%d].%s", i, p.Key)
				p.Origin = origin
				ps = append(ps, p)
				bad = true
			}
			if !bad {
				g.Credentials = append(g.Credentials, c)
			}
		}
	}
	if len(ps) == 0 {
		for _, p := range g.problems() { // duplicates
			p.Origin = origin
			ps = append(ps, p)
		}
	}
	return g, ps
}

// marshalGit is the git: section as Marshal writes it; nil when empty.
func marshalGit(g Git) map[string]any {
	if len(g.Credentials) == 0 {
		return nil
	}
	list := make([]map[string]any, 0, len(g.Credentials))
	for _, c := range g.Credentials {
		m := map[string]any{"host": c.Host, "account": c.Account}
		if c.Protocol != "" {
			m["protocol"] = c.Protocol
		}
		if c.Path != "" {
			m["path"] = c.Path
		}
		if len(c.Scopes) > 0 {
			m["scope"] = c.Scopes
		}
		if c.Username != "" {
			m["username"] = c.Username
		}
		list = append(list, m)
	}
	return map[string]any{"credentials": list}
}

// diffGit is the Change for the git mappings, if they differ.
func diffGit(active, onDisk Git) []Change {
	a, d := gitSummary(active), gitSummary(onDisk)
	if a == d {
		return nil
	}
	return []Change{{Key: "git.credentials", Active: a, OnDisk: d}}
}

func gitSummary(g Git) string {
	if len(g.Credentials) == 0 {
		return "(none)"
	}
	parts := make([]string, len(g.Credentials))
	for i, c := range g.Credentials {
		parts[i] = fmt.Sprintf("%s://%s/%s→%s%v", c.EffectiveProtocol(), c.Host, c.Path, c.Account, c.Scopes)
	}
	return strings.Join(parts, " ")
}
