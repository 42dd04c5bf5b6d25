package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// DefaultLoginTimeout bounds a browser sign-in when BrowserOptions.Timeout is 0.
const DefaultLoginTimeout = 5 * time.Minute

// DefaultRedirectURI is the loopback redirect used when Profile.RedirectURI
// is empty; port 0 means a free port chosen at sign-in.
const DefaultRedirectURI = "http://127.0.0.1:0/callback"

// BrowserOptions controls LoginBrowser.
type BrowserOptions struct {
	// Open shows url to the user. It must not wait for the page to load.
	// Default: the system browser (xdg-open, open, rundll32).
	Open func(url string) error
	// NoBrowser prints the URL instead of opening a browser.
	NoBrowser bool
	// Print receives the URL when it is printed (NoBrowser, or Open failed);
	// default: the URL alone on a line of Out.
	Print func(url string)
	// Out is where the URL is printed when Print is nil; default os.Stderr.
	Out io.Writer
	// Timeout bounds the whole sign-in; default DefaultLoginTimeout.
	Timeout time.Duration
}

// callback is one accepted redirect to the loopback listener.
type callback struct {
	code string
	err  error
	done chan error // the sign-in result, for the page shown in the browser
}

// LoginBrowser signs in with the authorization code flow, PKCE (S256) and a
// random state, receiving the code on a loopback listener at p.RedirectURI
// (DefaultRedirectURI when empty). A redirect with a wrong state ends the
// sign-in with an error. The result always has a refresh token, else the
// error wraps ErrNoRefreshToken.
func (c *Client) LoginBrowser(ctx context.Context, p Profile, o BrowserOptions) (Token, error) {
	p, err := c.resolveFor(ctx, "browser sign-in", p)
	if err != nil {
		return Token{}, err
	}
	if p.Endpoints.Auth == "" {
		return Token{}, errors.New("browser sign-in: the provider has no authorization endpoint")
	}
	if err := checkEndpoint(p.Endpoints.Auth); err != nil {
		return Token{}, fmt.Errorf("browser sign-in: %w", err)
	}
	if err := checkEndpoint(p.Endpoints.Token); err != nil {
		return Token{}, fmt.Errorf("browser sign-in: %w", err)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultLoginTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	ln, redirect, err := listenLoopback(p.RedirectURI)
	if err != nil {
		return Token{}, fmt.Errorf("browser sign-in: %w", err)
	}
	verifier := randomString(32)
	state := randomString(24)

	cbs := make(chan callback)
	stop := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc(redirect.Path, func(w http.ResponseWriter, r *http.Request) {
		serveCallback(w, r, state, cbs, stop)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	defer func() {
		close(stop)
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer scancel()
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close()
		}
		<-served
	}()

	authURL, err := authCodeURL(p, redirect.String(), state, verifier)
	if err != nil {
		return Token{}, fmt.Errorf("browser sign-in: %w", err)
	}
	showURL(o, authURL)

	var cb callback
	select {
	case cb = <-cbs:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Token{}, fmt.Errorf("browser sign-in: no answer from the browser within %s", timeout)
		}
		return Token{}, fmt.Errorf("browser sign-in: %w", ctx.Err())
	}
	tok, err := func() (Token, error) {
		if cb.err != nil {
			return Token{}, cb.err
		}
		form := url.Values{
			"grant_type":    {"authorization_code"},
			"code":          {cb.code},
			"redirect_uri":  {redirect.String()},
			"code_verifier": {verifier},
		}
		if err := setCapabilityClaims(form, p); err != nil {
			return Token{}, err
		}
		tr, sent, off, err := c.tokenRequest(ctx, p, form, cb.code, verifier)
		if err != nil {
			return Token{}, fmt.Errorf("redeem code: %w", err)
		}
		return signInToken(tr, p, sent, off)
	}()
	cb.done <- err
	if err != nil {
		return Token{}, fmt.Errorf("browser sign-in: %w", err)
	}
	return tok, nil
}

// signInToken converts a sign-in token response and insists on a refresh token.
func signInToken(tr tokenResponse, p Profile, sent time.Time, off time.Duration) (Token, error) {
	if tr.RefreshToken == "" {
		return Token{}, ErrNoRefreshToken
	}
	t := toToken(tr, p, sent, off, "")
	t.Rotated = true
	return t, nil
}

// serveCallback validates one redirect and hands it to the sign-in.
func serveCallback(w http.ResponseWriter, r *http.Request, state string, cbs chan<- callback, stop <-chan struct{}) {
	q := r.URL.Query()
	cb := callback{done: make(chan error, 1)}
	got := q.Get("state")
	switch {
	case subtle.ConstantTimeCompare([]byte(got), []byte(state)) != 1:
		cb.err = errors.New("the redirect carried a wrong state (possible cross-site request); try again")
	case q.Get("error") != "":
		e := &Error{Code: oneLine(q.Get("error")), Description: sanitize(q.Get("error_description"))}
		e.AADSTS = aadstsCodes(nil, e.Description)
		classify(e)
		cb.err = e
	case q.Get("code") == "":
		cb.err = errors.New("the redirect carried no authorization code")
	default:
		cb.code = q.Get("code")
	}
	select {
	case cbs <- cb:
	case <-stop:
		writePage(w, http.StatusConflict, "Sign-in already finished", "You can close this window.")
		return
	case <-r.Context().Done():
		return
	}
	if err := <-cb.done; err != nil {
		status := http.StatusBadRequest
		writePage(w, status, "Sign-in failed", err.Error())
		return
	}
	writePage(w, http.StatusOK, "Signed in", "tokentray has your sign-in. You can close this window.")
}

// writePage writes the small page shown in the browser.
func writePage(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>tokentray: %[1]s</title>
<style>body{font-family:sans-serif;max-width:32em;margin:4em auto;color:#222}</style></head>
<body><h1>%[1]s</h1><p>%[2]s</p></body></html>
`, html.EscapeString(title), html.EscapeString(msg))
}

// listenLoopback listens on the host and port of redirectURI (port 0 or none
// means a free port) and returns the redirect URI with the actual port.
func listenLoopback(redirectURI string) (net.Listener, *url.URL, error) {
	if redirectURI == "" {
		redirectURI = DefaultRedirectURI
	}
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, nil, fmt.Errorf("redirect uri %q: want http://127.0.0.1[:port]/path", redirectURI)
	}
	host := u.Hostname()
	if !isLoopback(host) {
		return nil, nil, fmt.Errorf("redirect uri %q: host must be loopback (127.0.0.1, ::1 or localhost)", redirectURI)
	}
	port := u.Port()
	if port == "" {
		port = "0"
	}
	listenHost := host
	if strings.EqualFold(host, "localhost") {
		listenHost = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(listenHost, port))
	if err != nil {
		return nil, nil, fmt.Errorf("listen for the redirect: %w", err)
	}
	actual := ln.Addr().(*net.TCPAddr).Port
	out := *u
	out.Host = net.JoinHostPort(host, fmt.Sprint(actual))
	if out.Path == "" {
		out.Path = "/"
	}
	out.RawQuery, out.Fragment = "", ""
	return ln, &out, nil
}

// authCodeURL builds the authorization request.
func authCodeURL(p Profile, redirect, state, verifier string) (string, error) {
	u, err := url.Parse(p.Endpoints.Auth)
	if err != nil {
		return "", fmt.Errorf("authorization endpoint: %w", err)
	}
	sum := sha256.Sum256([]byte(verifier))
	q := u.Query()
	q.Set("client_id", p.ClientID)
	q.Set("response_type", "code")
	q.Set("redirect_uri", redirect)
	q.Set("scope", strings.Join(p.Scopes, " "))
	q.Set("state", state)
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	q.Set("code_challenge_method", "S256")
	if p.Provider == ProviderMicrosoft {
		q.Set("response_mode", "query")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// showURL opens the browser, or prints the URL alone on a line when asked
// to or when the browser cannot be opened.
func showURL(o BrowserOptions, u string) {
	print := func() {
		switch {
		case o.Print != nil:
			o.Print(u)
		default:
			out := o.Out
			if out == nil {
				out = os.Stderr
			}
			fmt.Fprintln(out, u)
		}
	}
	if o.NoBrowser {
		print()
		return
	}
	open := o.Open
	if open == nil {
		open = openBrowser
	}
	if err := open(u); err != nil {
		print() // the user can still copy it
	}
}

// openBrowser starts the system browser without waiting for it.
func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open browser: %w", err)
	}
	// Reap the launcher; xdg-open/open/rundll32 hand the URL over and exit.
	go func() { _ = cmd.Wait() }()
	return nil
}

// randomString returns n random bytes, base64url without padding.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
