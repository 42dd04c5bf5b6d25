// Package credential speaks the credential protocols of the tools tokentray
// hands tokens to: git's credential-helper protocol (key=value lines) and
// Kubernetes' ExecCredential (client.authentication.k8s.io). It parses what
// those tools send and formats what they read, and reads and writes git's
// helper list for the remotes git.credentials maps; it holds no token
// itself.
package credential

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// MaxGitRequest bounds what ParseGitRequest reads: git sends a few hundred
// bytes (a long wwwauth[] header at most a few KiB).
const MaxGitRequest = 64 << 10

// GitRequest is what git tells a credential helper about the credential it
// needs (https://git-scm.com/docs/git-credential, "INPUT/OUTPUT FORMAT").
// A password git sends (on store and erase) is read and dropped: tokentray
// never keeps or repeats what git hands it.
type GitRequest struct {
	Protocol     string   // https, http, ...
	Host         string   // host name, with ":port" when the URL has one
	Path         string   // only when credential.useHttpPath is set
	Username     string   // the URL's or the configured user name
	Capabilities []string // capability[] (git 2.46+: authtype, state)
	WWWAuth      []string // wwwauth[]: the server's WWW-Authenticate headers
}

// ParseGitRequest reads one credential description: key=value lines up to
// a blank line or the end of input. Unknown keys are ignored, as git does;
// a later value of a key replaces an earlier one, and url= sets protocol,
// host, path and username from its parts. Input larger than MaxGitRequest,
// a line without '=', an empty key or a NUL byte is an error naming what
// was wrong.
func ParseGitRequest(r io.Reader) (GitRequest, error) {
	var req GitRequest
	br := bufio.NewReader(io.LimitReader(r, MaxGitRequest+1))
	read := 0
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		read += len(line)
		if read > MaxGitRequest {
			return GitRequest{}, fmt.Errorf("credential request is larger than %d KiB; git sends a few lines of key=value", MaxGitRequest>>10)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return GitRequest{}, fmt.Errorf("read credential request: %w", err)
		}
		eof := err != nil
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			return req, nil // a blank line (or the end) ends the description
		}
		if strings.IndexByte(line, 0) >= 0 {
			return GitRequest{}, fmt.Errorf("credential request line %d contains a NUL byte; want key=value text", n)
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || key == "" {
			// The line is not echoed: it may be a pasted secret.
			return GitRequest{}, fmt.Errorf("credential request line %d is not key=value; git's helper protocol sends lines like host=example.com", n)
		}
		if err := req.set(key, value); err != nil {
			return GitRequest{}, fmt.Errorf("credential request line %d: %w", n, err)
		}
		if eof {
			return req, nil
		}
	}
}

func (req *GitRequest) set(key, value string) error {
	switch key {
	case "protocol":
		req.Protocol = value
	case "host":
		req.Host = value
	case "path":
		req.Path = value
	case "username":
		req.Username = value
	case "capability[]":
		if value == "" {
			req.Capabilities = nil // an empty value clears the list, as for every [] key
		} else {
			req.Capabilities = append(req.Capabilities, value)
		}
	case "wwwauth[]":
		if value == "" {
			req.WWWAuth = nil
		} else {
			req.WWWAuth = append(req.WWWAuth, value)
		}
	case "url":
		u, err := url.Parse(value)
		if err != nil || u.Scheme == "" {
			return errors.New("url is not an absolute URL (scheme://host/path)") // not echoed: it may hold a password
		}
		req.Protocol, req.Host = u.Scheme, u.Host
		req.Path = strings.TrimPrefix(u.Path, "/")
		if u.User != nil {
			req.Username = u.User.Username()
		}
	}
	return nil
}

// HasCapability reports whether git announced capability c.
func (req GitRequest) HasCapability(c string) bool {
	for _, x := range req.Capabilities {
		if x == c {
			return true
		}
	}
	return false
}

// GitAnswer is what a helper prints for get: the user name and password
// git puts into HTTP Basic authentication, and when the password expires
// (password_expiry_utc, git 2.41+; older git ignores it).
type GitAnswer struct {
	Username       string
	Password       string
	PasswordExpiry time.Time
}

// WriteGitAnswer prints a as key=value lines. A value with a newline or NUL
// would end or corrupt the description, so it is refused, naming the key
// (never the value: it may be a token).
func WriteGitAnswer(w io.Writer, a GitAnswer) error {
	for _, f := range []struct{ k, v string }{{"username", a.Username}, {"password", a.Password}} {
		if f.v == "" || strings.ContainsAny(f.v, "\r\n\x00") {
			return fmt.Errorf("git credential %s is empty or contains a line break or NUL; refusing to print it", f.k)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "username=%s\npassword=%s\n", a.Username, a.Password)
	if !a.PasswordExpiry.IsZero() {
		fmt.Fprintf(&b, "password_expiry_utc=%d\n", a.PasswordExpiry.Unix())
	}
	_, err := io.WriteString(w, b.String())
	return err
}
