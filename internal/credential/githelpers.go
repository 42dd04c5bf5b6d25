package credential

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// GitHelper is one credential helper git consults for a URL: every helper
// in that list gets the password on "store" after a successful request.
type GitHelper struct {
	Value  string // as configured: "store", "!tokentray git-credential", ...
	Key    string // credential.helper or credential.<url>.helper
	Origin string // where git read it: file:/home/u/.gitconfig, command line:
}

func (h GitHelper) String() string {
	return fmt.Sprintf("%q (%s in %s)", h.Value, h.Key, h.Origin)
}

// GitConfig runs git to read its configuration. The zero value runs the git
// on PATH in this process's environment and working directory — as a
// credential helper, git's own (GIT_CONFIG_PARAMETERS, GIT_DIR, ...).
type GitConfig struct {
	Path string   // git binary; "git" when empty
	Env  []string // nil: this process's environment
	Dir  string   // "": this process's working directory
}

// gitTimeout bounds each git config run.
const gitTimeout = 10 * time.Second

func (g GitConfig) run(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	path := g.Path
	if path == "" {
		path = "git"
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env, cmd.Dir = g.Env, g.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			return out, errNotFound
		}
		return nil, fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// errNotFound is git config's exit status 1: the key is not set.
var errNotFound = errors.New("not set")

// Helpers returns the credential helpers git consults for a request to
// protocol://[username@]host[/path], in git's order, as git computes the
// list (git 2.39, credential.c): every credential.helper and
// credential.<url>.helper entry whose <url> matches, in the order git reads
// its configuration, an empty value clearing the entries before it. git
// decides which <url> patterns match (git config --get-urlmatch); a pattern
// without a scheme (git's partial-URL fallback) is compared by host. When
// pathKnown is false (credential.useHttpPath off: git matched the full URL
// but hands the helper no path) a pattern's path is ignored, so the list
// may name more helpers than git uses, never fewer.
func (g GitConfig) Helpers(ctx context.Context, protocol, host, username, path string, pathKnown bool) ([]GitHelper, error) {
	if protocol == "" || host == "" {
		return nil, errors.New("a git remote needs a protocol and a host")
	}
	out, err := g.run(ctx, "config", "--null", "--list", "--show-origin")
	if err != nil && !errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("read git configuration: %w", err)
	}
	url := protocol + "://"
	if username != "" {
		url += username + "@"
	}
	url += host + "/" + strings.TrimPrefix(path, "/")
	matched := map[string]bool{}
	var list []GitHelper
	for _, e := range parseConfigList(out) {
		pattern, ok := helperPattern(e.key)
		if !ok || !e.hasValue {
			continue
		}
		m, seen := matched[pattern]
		if !seen {
			m, err = g.matches(ctx, pattern, url, host, pathKnown)
			if err != nil {
				return nil, err
			}
			matched[pattern] = m
		}
		if !m {
			continue
		}
		if e.value == "" {
			list = nil // "an empty value resets the list"
			continue
		}
		list = append(list, GitHelper{Value: e.value, Key: e.key, Origin: e.origin})
	}
	return list, nil
}

func (g GitConfig) matches(ctx context.Context, pattern, url, host string, pathKnown bool) (bool, error) {
	if pattern == "" {
		return true, nil
	}
	scheme, rest, full := strings.Cut(pattern, "://")
	if !full || strings.ContainsAny(pattern, "=\n") {
		// git's partial-URL fallback (credential.example.com.helper), or a
		// pattern git config -c cannot carry: compare the host, and count
		// anything unclear as a match.
		h, _, _ := strings.Cut(pattern, "/")
		if full {
			h, _, _ = strings.Cut(rest, "/")
		}
		if i := strings.LastIndexByte(h, '@'); i >= 0 {
			h = h[i+1:]
		}
		return h == "" || strings.Contains(h, "*") || strings.EqualFold(h, host), nil
	}
	h, _, _ := strings.Cut(rest, "/")
	if !pathKnown {
		pattern = scheme + "://" + h
	}
	if i := strings.LastIndexByte(h, '@'); i >= 0 {
		h = h[i+1:]
	}
	if !strings.Contains(h, "*") && !strings.EqualFold(hostName(h), hostName(host)) {
		return false, nil // git matches host names exactly (or by wildcard): no need to ask it
	}
	const probe = "tokentraymatchprobe"
	_, err := g.run(ctx, "-c", "credential."+pattern+"."+probe+"=1", "config", "--get-urlmatch", "credential."+probe, url)
	if errors.Is(err, errNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("match credential.%s against %s: %w", pattern, url, err)
	}
	return true, nil
}

// hostName is host without its :port (git treats a default port as none).
func hostName(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			return host[:i+1]
		}
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		return host[:i]
	}
	return host
}

// helperPattern returns the <url> of a credential.<url>.helper key ("" for
// credential.helper); ok is false for any other key. git prints section and
// key names in lower case and the <url> as written.
func helperPattern(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "credential.")
	if !ok {
		return "", false
	}
	if rest == "helper" {
		return "", true
	}
	pattern, ok := strings.CutSuffix(rest, ".helper")
	return pattern, ok && pattern != ""
}

type configEntry struct {
	origin, key, value string
	hasValue           bool // false for a bare "key" (a boolean true)
}

// parseConfigList reads `git config --null --list --show-origin`: for each
// entry "origin\x00key\nvalue\x00", or "origin\x00key\x00" for a key
// without a value.
func parseConfigList(out []byte) []configEntry {
	var es []configEntry
	fields := strings.Split(string(out), "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		e := configEntry{origin: fields[i]}
		e.key, e.value, e.hasValue = strings.Cut(fields[i+1], "\n")
		es = append(es, e)
	}
	return es
}

// IsTokentrayHelper reports whether a credential.helper value runs
// `tokentray git-credential` ("!tokentray git-credential", or an absolute
// path to tokentray with git-credential as its first argument).
func IsTokentrayHelper(value string) bool {
	cmd := strings.TrimSpace(value)
	if c, ok := strings.CutPrefix(cmd, "!"); ok {
		cmd = c
	} else if !filepath.IsAbs(cmd) && !strings.HasPrefix(cmd, "/") {
		return false // git runs "git credential-<value>"
	}
	words := shellWords(cmd)
	if len(words) < 2 || words[1] != "git-credential" {
		return false
	}
	base := strings.ToLower(words[0][strings.LastIndexAny(words[0], `/\`)+1:])
	base = strings.TrimSuffix(base, ".exe")
	return base == "tokentray"
}

// shellWords splits s into words the way a POSIX shell would for plain
// words and single- or double-quoted ones; it is enough to find a
// command's name and first argument.
func shellWords(s string) []string {
	var words []string
	var b strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, b.String())
	}
	return words
}

// ForeignGitHelpers returns the helpers of list that are not tokentray's:
// each would receive tokentray's token from git on "store" (and, placed
// before tokentray's, answer "get" in its place).
func ForeignGitHelpers(list []GitHelper) []GitHelper {
	var out []GitHelper
	for _, h := range list {
		if !IsTokentrayHelper(h.Value) {
			out = append(out, h)
		}
	}
	return out
}

// SetupGitHelper makes helper the only credential helper git consults for
// remote (scheme://host) in the global configuration (~/.gitconfig or
// $GIT_CONFIG_GLOBAL): it removes the remote's [credential "remote"]
// sections and writes one at the end of the file with an empty helper (which
// drops every helper read before it: system, XDG and the file's earlier
// lines), then helper, then useHttpPath when asked. The section's other
// keys (username, ...) are kept. A helper added to the file later still
// comes after it; git-credential refuses to give a token then, and doctor
// says so.
func (g GitConfig) SetupGitHelper(ctx context.Context, remote, helper string, useHTTPPath bool) error {
	if !strings.Contains(remote, "://") || strings.ContainsAny(remote, "\n\x00") {
		return fmt.Errorf("git remote %q is not scheme://host", remote)
	}
	section := "credential." + remote
	out, err := g.run(ctx, "config", "--global", "--null", "--get-regexp", `^credential\.`)
	if err != nil && !errors.Is(err, errNotFound) {
		return fmt.Errorf("read the global git configuration: %w", err)
	}
	type kv struct{ key, value string }
	var keep []kv
	found := false
	for _, f := range strings.Split(string(out), "\x00") {
		key, value, hasValue := strings.Cut(f, "\n")
		name, ok := strings.CutPrefix(key, section+".")
		if !ok || strings.Contains(name, ".") {
			continue
		}
		found = true
		if name == "helper" || name == "usehttppath" || !hasValue {
			continue
		}
		keep = append(keep, kv{section + "." + name, value})
	}
	if found {
		if _, err := g.run(ctx, "config", "--global", "--remove-section", section); err != nil {
			return fmt.Errorf("remove the old [credential %q] section: %w", remote, err)
		}
	}
	add := []kv{{section + ".helper", ""}, {section + ".helper", helper}}
	if useHTTPPath {
		add = append(add, kv{section + ".useHttpPath", "true"})
	}
	for _, e := range append(add, keep...) {
		if _, err := g.run(ctx, "config", "--global", "--add", e.key, e.value); err != nil {
			return fmt.Errorf("write %s: %w", e.key, err)
		}
	}
	return nil
}
