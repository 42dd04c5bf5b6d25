package credential

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tokentray/tokentray/internal/config"
)

// GitRequestError is ServeGit's error for a request git's protocol does not
// allow (a usage error of the helper).
type GitRequestError struct {
	Op  string
	Err error
}

func (e *GitRequestError) Error() string { return "git-credential " + e.Op + ": " + e.Err.Error() }
func (e *GitRequestError) Unwrap() error { return e.Err }

// GitToken gets an access token of account for scopes (the account's own
// when empty), valid for as long as the caller asks.
type GitToken func(ctx context.Context, account string, scopes []string) (token string, expiry time.Time, err error)

// ServeGit answers one operation of git's credential protocol, read from
// in: get prints the mapped account's token as the password, store does
// nothing (tokentray owns its tokens), erase only tells errOut that the
// server refused the token, and any other operation is ignored as the
// protocol asks. A remote that settings (read only when needed) do not map
// gets no answer, so git asks its next helper. When git would also hand
// the password to another helper of the remote, get answers quit=1 and
// names that helper instead.
func ServeGit(ctx context.Context, op string, in io.Reader, out, errOut io.Writer, settings func() (config.Settings, error), token GitToken) error {
	switch op {
	case "get", "store", "erase":
	default:
		return nil // "If a helper receives any other operation, it should silently ignore the request."
	}
	req, err := ParseGitRequest(in)
	if err != nil {
		return &GitRequestError{Op: op, Err: err}
	}
	if op == "store" {
		return nil
	}
	s, err := settings()
	if err != nil {
		return err
	}
	m, ok, pathMissing := s.MatchGit(req.Protocol, req.Host, req.Path)
	if !ok {
		if pathMissing && op == "get" {
			fmt.Fprintf(errOut, "tokentray: git.credentials maps only some paths on %s, and git sent no path; run: git config --global credential.%s://%s.useHttpPath true\n", req.Host, req.Protocol, req.Host)
		}
		return nil // not ours: git asks its next helper
	}
	if op == "erase" {
		fmt.Fprintf(errOut, "tokentray: %s://%s refused the access token of account %q; tokentray keeps the account signed in (check its access, or run: tokentray refresh %s)\n", req.Protocol, req.Host, m.Account, m.Account)
		return nil
	}
	// git hands a password to every helper in its list on store: with
	// another helper configured for this remote, the token would land in
	// it (~/.git-credentials for store). quit=1 makes git stop instead of
	// asking that helper.
	if err := (GitConfig{}).OnlyOurs(ctx, req, m.Account); err != nil {
		fmt.Fprintln(out, "quit=1")
		return err
	}
	tok, expiry, err := token(ctx, m.Account, m.Scopes)
	if err != nil {
		return err
	}
	return WriteGitAnswer(out, GitAnswer{Username: GitUsername(m, req), Password: tok, PasswordExpiry: expiry})
}
