package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

// recordingHandler answers every op with the request it saw as Data and
// remembers the requests; quit calls onQuit.
type recordingHandler struct {
	mu     sync.Mutex
	seen   []wire.Request
	onQuit func()
	typed  bool // answer refresh as a keeper does, not with the request
}

func (h *recordingHandler) Handle(ctx context.Context, req wire.Request) wire.Response {
	h.mu.Lock()
	h.seen = append(h.seen, req)
	h.mu.Unlock()
	if req.Op == wire.OpQuit && h.onQuit != nil {
		h.onQuit()
	}
	if req.Op == wire.OpRefresh && h.typed { // the typed client decodes results
		return wire.Result([]state.Result{{Account: req.Account}})
	}
	return wire.Result(req)
}

func (h *recordingHandler) requests() []wire.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]wire.Request(nil), h.seen...)
}

// blockingHandler signals entered and waits until its ctx ends or release is
// closed, then reports why it stopped.
type blockingHandler struct {
	entered chan struct{}
	release chan struct{}
}

func newBlockingHandler() *blockingHandler {
	return &blockingHandler{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (h *blockingHandler) Handle(ctx context.Context, req wire.Request) wire.Response {
	h.entered <- struct{}{}
	select {
	case <-ctx.Done():
		return wire.Failure(wire.CodeFailure, ctx.Err())
	case <-h.release:
		return wire.Result("released")
	}
}

// panickingHandler panics on every request.
type panickingHandler struct{}

func (panickingHandler) Handle(context.Context, wire.Request) wire.Response {
	panic("boom secret-value")
}

// sockPath returns a short socket path in a fresh directory (t.TempDir
// names can exceed the 104/108-byte socket address limit).
func sockPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "tokentray", "control.sock")
}

// serving is a Server running Serve in a goroutine owned by the test.
type serving struct {
	*Server
	cancel context.CancelFunc
	errc   chan error
}

// wait cancels Serve and returns its result.
func (sv *serving) wait(t *testing.T) error {
	t.Helper()
	sv.cancel()
	select {
	case err := <-sv.errc:
		sv.errc <- err // keep it for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s after cancel")
		return nil
	}
}

// start listens on path with h, applies tune, and serves until the test ends.
func start(t *testing.T, path string, h Handler, tune func(*Server)) *serving {
	t.Helper()
	s, err := Listen(path, h)
	if err != nil {
		t.Fatalf("Listen(%q) = %v", path, err)
	}
	s.logger = slog.New(slog.DiscardHandler)
	if tune != nil {
		tune(s)
	}
	ctx, cancel := context.WithCancel(t.Context())
	sv := &serving{Server: s, cancel: cancel, errc: make(chan error, 1)}
	go func() { sv.errc <- s.Serve(ctx) }()
	t.Cleanup(func() {
		if err := sv.wait(t); err != nil {
			t.Errorf("Serve() = %v; want nil", err)
		}
	})
	return sv
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(path)
	if err != nil {
		t.Fatalf("Dial(%q) = %v", path, err)
	}
	return c
}

// rawExchange writes b on a fresh connection and returns everything the
// server sends before closing it.
func rawExchange(t *testing.T, path string, b []byte) []byte {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write(b) // may fail when the server refuses early; the answer counts
	if !bytes.HasSuffix(b, []byte("\n")) {
		conn.(*net.UnixConn).CloseWrite() // EOF ends the request
	}
	out, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("read: %v", err)
	}
	return out
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

func TestRoundTripEveryOp(t *testing.T) {
	path := sockPath(t)
	h := &recordingHandler{}
	start(t, path, h, nil)
	c := dial(t, path)

	tests := []struct {
		name string
		req  wire.Request
		seen bool // the handler sees it (ping is answered by the server)
	}{
		{"ping", wire.Request{Op: wire.OpPing}, false},
		{"status", wire.Request{Op: wire.OpStatus}, true},
		{"status one account", wire.Request{Op: wire.OpStatus, Account: "work"}, true},
		{"refresh account", wire.Request{Op: wire.OpRefresh, Account: "work", Timeout: time.Minute}, true},
		{"refresh all", wire.Request{Op: wire.OpRefresh, All: true, Timeout: wire.MaxTimeout}, true},
		{"show", wire.Request{Op: wire.OpShow}, true},
		{"quit", wire.Request{Op: wire.OpQuit}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.requests())
			resp, err := c.Do(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("Do(%+v) = %v", tt.req, err)
			}
			if !resp.OK || resp.Code != wire.CodeOK || resp.Error != "" {
				t.Fatalf("Do(%+v) = %+v; want OK", tt.req, resp)
			}
			if !tt.seen {
				var info wire.PingInfo
				if err := json.Unmarshal(resp.Data, &info); err != nil || info.PID != os.Getpid() {
					t.Errorf("ping data = %s (%v); want pid %d", resp.Data, err, os.Getpid())
				}
				if got := len(h.requests()); got != before {
					t.Errorf("handler saw %d requests for ping; want none", got-before)
				}
				return
			}
			var echoed wire.Request
			if err := json.Unmarshal(resp.Data, &echoed); err != nil {
				t.Fatalf("data %s: %v", resp.Data, err)
			}
			if echoed.Proto != wire.ProtocolVersion || echoed.Client != Version {
				t.Errorf("handshake fields seen = %d, %q; want %d, %q", echoed.Proto, echoed.Client, wire.ProtocolVersion, Version)
			}
			echoed.Proto, echoed.Client = 0, ""
			if diff := cmp.Diff(tt.req, echoed); diff != "" {
				t.Errorf("request as the handler saw it (-sent +seen):\n%s", diff)
			}
		})
	}
}

func TestConvenienceMethods(t *testing.T) {
	path := sockPath(t)
	h := &recordingHandler{typed: true}
	start(t, path, h, nil)
	c := dial(t, path)
	ctx := t.Context() // no deadline: Refresh asks for MaxTimeout

	info, err := c.Ping(ctx)
	if err != nil || info.PID != os.Getpid() {
		t.Errorf("Ping() = %+v, %v; want pid %d", info, err, os.Getpid())
	}
	if _, err := c.Status(ctx, ""); err != nil {
		t.Errorf("Status() = %v", err)
	}
	if _, err := c.Refresh(ctx, "work", false); err != nil {
		t.Errorf("Refresh(work) = %v", err)
	}
	if _, err := c.Refresh(ctx, "", true); err != nil {
		t.Errorf("Refresh(all) = %v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := c.Refresh(dctx, "home", false); err != nil {
		t.Errorf("Refresh(home) = %v", err)
	}
	if err := c.Show(ctx, "", ""); err != nil {
		t.Errorf("Show() = %v", err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Errorf("Quit() = %v", err)
	}

	got := h.requests()
	for i := range got {
		got[i].Proto, got[i].Client = 0, "" // checked in TestRoundTripEveryOp
	}
	want := []wire.Request{
		{Op: wire.OpStatus},
		{Op: wire.OpRefresh, Account: "work", Timeout: wire.MaxTimeout},
		{Op: wire.OpRefresh, All: true, Timeout: wire.MaxTimeout},
		{Op: wire.OpRefresh, Account: "home", Timeout: time.Minute},
		{Op: wire.OpShow},
		{Op: wire.OpQuit},
	}
	if len(got) == 6 && got[3].Timeout > 0 && got[3].Timeout <= time.Minute {
		got[3].Timeout = time.Minute // derived from the ctx deadline: only its bound is known
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests the handler saw (-want +got):\n%s", diff)
	}
}

func TestFailedResponses(t *testing.T) {
	path := sockPath(t)
	h := HandlerFunc(func(ctx context.Context, req wire.Request) wire.Response {
		switch req.Account {
		case "signin":
			return wire.Failure(wire.CodeNeedsSignIn, errors.New(`account "signin" needs sign-in: run tokentray login signin`))
		case "nocode":
			return wire.Response{Error: "plain failure"}
		case "baddata":
			return wire.Response{OK: true, Data: json.RawMessage("{")}
		}
		return wire.Result(nil)
	})
	start(t, path, h, nil)
	c := dial(t, path)

	tests := []struct {
		account string
		want    wire.Response
	}{
		{"signin", wire.Response{Error: `account "signin" needs sign-in: run tokentray login signin`, Code: wire.CodeNeedsSignIn}},
		{"nocode", wire.Response{Error: "plain failure", Code: wire.CodeFailure}},
		{"baddata", wire.Response{Error: "internal error: invalid response data", Code: wire.CodeFailure}},
		{"ok", wire.Response{OK: true}},
	}
	for _, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			resp, err := c.Do(t.Context(), wire.Request{Op: wire.OpRefresh, Account: tt.account})
			if err != nil {
				t.Fatalf("Do = %v", err)
			}
			if diff := cmp.Diff(tt.want, resp); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}

	_, err := c.Refresh(t.Context(), "signin", false)
	var re *wire.ResponseError
	if !errors.As(err, &re) || re.Code != wire.CodeNeedsSignIn {
		t.Errorf("Refresh(signin) = %v; want a *ResponseError with code %d", err, wire.CodeNeedsSignIn)
	}
}

func TestHandlerPanicIsContained(t *testing.T) {
	path := sockPath(t)
	var logs bytes.Buffer
	start(t, path, panickingHandler{}, func(s *Server) {
		s.logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	c := dial(t, path)
	resp, err := c.Do(t.Context(), wire.Request{Op: wire.OpStatus})
	if err != nil {
		t.Fatalf("Do = %v", err)
	}
	want := wire.Response{Error: "internal error in the running instance", Code: wire.CodeFailure}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if _, err := c.Ping(t.Context()); err != nil {
		t.Errorf("Ping after a panic = %v; want the server alive", err)
	}
	if strings.Contains(logs.String(), "secret-value") {
		t.Errorf("log holds the panic value: %s", logs.String())
	}
}

func TestLogsHoldNoBodies(t *testing.T) {
	path := sockPath(t)
	var logs bytes.Buffer
	start(t, path, &recordingHandler{typed: true}, func(s *Server) {
		s.logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	c := dial(t, path)
	if _, err := c.Refresh(t.Context(), "account-name-xyzzy", false); err != nil {
		t.Fatal(err)
	}
	rawExchange(t, path, []byte(`{"op":"status","account":"bad\u0000-plugh",`+"\n"))
	if !strings.Contains(logs.String(), "op=refresh") {
		t.Errorf("log = %q; want the op of the request", logs.String())
	}
	for _, body := range []string{"xyzzy", "plugh"} {
		if strings.Contains(logs.String(), body) {
			t.Errorf("log holds request body %q: %s", body, logs.String())
		}
	}
}

func TestMalformedRequests(t *testing.T) {
	path := sockPath(t)
	h := &recordingHandler{}
	start(t, path, h, nil)

	tests := []struct {
		name, in, want string
	}{
		{"not json", "hello\n", "malformed request: not a JSON object"},
		{"truncated", "{\"op\":\n", "malformed request: invalid JSON"},
		{"array", "[1]\n", "malformed request: not a JSON object"},
		{"empty line", "\n", "malformed request: empty"},
		{"wrong type", `{"op":"refresh","all":"yes"}` + "\n", `field "all" must be bool, not string`},
		{"trailing garbage", `{"op":"ping"} {"op":"quit"}` + "\n", "malformed request: invalid JSON"},
		{"missing op", "{}\n", "missing op (allowed: ping, info, status, subscribe, token, refresh, login, logout, import, account_add, account_remove, settings_save, restart, show, quit, access_log, azure_sdk_env)"},
		{"unknown op", `{"op":"tokens"}` + "\n", `unknown op "tokens" (allowed: ping, info, status`},
		{"unknown tab", `{"op":"show","tab":"x"}` + "\n", `unknown tab "x" (allowed: accounts, settings, signin)`},
		{"min_valid too long", `{"op":"token","min_valid":7200000000000}` + "\n", "min_valid 2h0m0s is out of range; allowed: 0s–1h"},
		{"older client", `{"op":"status"}` + "\n", "this client is tokentray an older release (control protocol 0), the running keeper is tokentray dev (control protocol 2)"},
		{"newer client", `{"op":"status","proto":3,"client":"v9"}` + "\n", "this client is tokentray v9 (control protocol 3)"},
		{"negative timeout", `{"op":"refresh","timeout":-1}` + "\n", "timeout -1ns is negative"},
		{"timeout too long", `{"op":"refresh","timeout":180000000000}` + "\n", "timeout 3m0s exceeds the maximum 2m0s"},
		{"account and all", `{"op":"refresh","account":"a","all":true}` + "\n", "account and all are mutually exclusive"},
		{"no newline at eof", `{"op":"bogus"}`, `unknown op "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := rawExchange(t, path, []byte(tt.in))
			var resp wire.Response
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("response %q: %v", out, err)
			}
			if resp.OK || resp.Code != wire.CodeUsage || !strings.Contains(resp.Error, tt.want) {
				t.Errorf("response to %q = %+v; want code %d and error containing %q", tt.in, resp, wire.CodeUsage, tt.want)
			}
			if !bytes.HasSuffix(out, []byte("\n")) {
				t.Errorf("response %q is not newline-terminated", out)
			}
		})
	}
	if got := h.requests(); len(got) != 0 {
		t.Errorf("handler saw %+v; want no malformed request to reach it", got)
	}
	if _, err := dial(t, path).Ping(t.Context()); err != nil {
		t.Errorf("Ping after malformed requests = %v", err)
	}
}

func TestRequestSizeLimit(t *testing.T) {
	path := sockPath(t)
	start(t, path, &recordingHandler{}, nil)

	// Exactly at the limit, newline included: accepted.
	exact := []byte(`{"op":"status","proto":2}`)
	exact = append(exact, bytes.Repeat([]byte(" "), wire.MaxRequestSize-len(exact)-1)...)
	exact = append(exact, '\n')
	var resp wire.Response
	if out := rawExchange(t, path, exact); json.Unmarshal(out, &resp) != nil || !resp.OK {
		t.Errorf("request of exactly %d bytes: response %q; want OK", len(exact), out)
	}

	over := append(bytes.Repeat([]byte(" "), wire.MaxRequestSize), []byte(`{"op":"status"}`+"\n")...)
	out := rawExchange(t, path, over)
	resp = wire.Response{}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
	want := wire.Response{Error: "request too large: limit 65536 bytes", Code: wire.CodeUsage}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response to a %d-byte request (-want +got):\n%s", len(over), diff)
	}
}

func TestSilentClientIsDropped(t *testing.T) {
	path := sockPath(t)
	start(t, path, &recordingHandler{}, func(s *Server) { s.readTimeout = 50 * time.Millisecond })
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // the test's own bound
	out, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("read = %v; want the server to close the connection", err)
	}
	if len(out) != 0 {
		t.Errorf("server sent %q to a silent client; want nothing", out)
	}
}

func TestHandlerTimeout(t *testing.T) {
	path := sockPath(t)
	h := HandlerFunc(func(ctx context.Context, req wire.Request) wire.Response {
		<-ctx.Done()
		return wire.Failure(wire.CodeFailure, ctx.Err())
	})
	start(t, path, h, nil)
	c := dial(t, path)
	resp, err := c.Do(t.Context(), wire.Request{Op: wire.OpRefresh, All: true, Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("Do = %v", err)
	}
	want := wire.Response{Error: context.DeadlineExceeded.Error(), Code: wire.CodeFailure}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

func TestClientContextCancel(t *testing.T) {
	path := sockPath(t)
	h := newBlockingHandler()
	start(t, path, h, nil)
	defer close(h.release)
	c := dial(t, path)

	ctx, cancel := context.WithCancel(t.Context())
	go func() { // owned: ends once the handler is entered
		<-h.entered
		cancel()
	}()
	_, err := c.Do(ctx, wire.Request{Op: wire.OpStatus})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do with a cancelled ctx = %v; want context.Canceled", err)
	}
	cancel()
}

func TestClientValidatesBeforeDialing(t *testing.T) {
	c := &Client{path: filepath.Join(t.TempDir(), "none.sock")}
	_, err := c.Do(t.Context(), wire.Request{Op: "tokens"})
	if err == nil || errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), `unknown op "tokens"`) {
		t.Errorf("Do(op tokens) = %v; want a validation error", err)
	}
}

func TestDialNotRunning(t *testing.T) {
	t.Run("no socket", func(t *testing.T) {
		path := sockPath(t)
		if _, err := Dial(path); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Dial(%q) = %v; want ErrNotRunning", path, err)
		}
	})
	t.Run("stale socket", func(t *testing.T) {
		path := sockPath(t)
		staleSocket(t, path)
		if _, err := Dial(path); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Dial(stale %q) = %v; want ErrNotRunning", path, err)
		}
	})
}

func TestSecondListenIsErrRunning(t *testing.T) {
	path := sockPath(t)
	start(t, path, &recordingHandler{}, nil)
	s, err := Listen(path, &recordingHandler{})
	if !errors.Is(err, ErrRunning) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("second Listen(%q) = %v; want ErrRunning", path, err)
	}
	// The first server is untouched.
	if _, err := dial(t, path).Ping(t.Context()); err != nil {
		t.Errorf("Ping of the first server = %v", err)
	}
}

// staleSocket leaves a socket file at path with nobody listening, as a
// crashed instance does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
}

func TestListenReplacesStale(t *testing.T) {
	tests := []struct {
		name  string
		leave func(t *testing.T, path string)
	}{
		{"socket without listener", staleSocket},
		// Anything else at the path is left alone: TestListenNeverDeletesANonSocket.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := sockPath(t)
			tt.leave(t, path)
			start(t, path, &recordingHandler{}, nil)
			if _, err := dial(t, path).Ping(t.Context()); err != nil {
				t.Errorf("Ping after replacing a stale %s = %v", tt.name, err)
			}
		})
	}
}

func TestListenRefusesDirectoryAtPath(t *testing.T) {
	path := sockPath(t)
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Listen(path, &recordingHandler{})
	if err == nil {
		s.Close()
		t.Fatalf("Listen on a directory = nil error; want a refusal")
	}
	if errors.Is(err, ErrRunning) || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Listen on a directory = %v; want an is-a-directory error", err)
	}
}

func TestListenRaceHasOneWinner(t *testing.T) {
	path := sockPath(t)
	staleSocket(t, path)
	const starters = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []*Server
		others  []error
	)
	for range starters {
		wg.Go(func() {
			s, err := Listen(path, &recordingHandler{})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				winners = append(winners, s)
			} else {
				others = append(others, err)
			}
		})
	}
	wg.Wait()
	for _, s := range winners {
		defer s.Close()
	}
	if len(winners) != 1 {
		t.Fatalf("%d of %d racing Listen calls won; want exactly 1", len(winners), starters)
	}
	for _, err := range others {
		if !errors.Is(err, ErrRunning) {
			t.Errorf("losing Listen = %v; want ErrRunning", err)
		}
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix modes do not apply on Windows")
	}
	path := sockPath(t)
	dir := filepath.Dir(path) // created by Listen (an existing one keeps its mode: TestListenChangesNoModeOfADirectoryItDidNotCreate)
	start(t, path, &recordingHandler{}, nil)
	for _, tt := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700},
		{path, 0o600},
		{path + ".lock", 0o600},
	} {
		fi, err := os.Lstat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tt.want {
			t.Errorf("mode of %s = %v; want %v", tt.path, got, tt.want)
		}
	}
	if fi, _ := os.Lstat(path); fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("%s is %v; want a socket", path, fi.Mode())
	}
}

func TestListenRefusesForeignDirectory(t *testing.T) {
	if runtime.GOOS == "windows" || os.Getuid() != 0 {
		t.Skip("needs root to create a directory owned by someone else")
	}
	path := sockPath(t)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Skip(err)
	}
	s, err := Listen(path, &recordingHandler{})
	if err == nil {
		s.Close()
		t.Fatal("Listen in a directory owned by uid 65534 = nil error; want a refusal")
	}
	if !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("Listen in a foreign directory = %v; want the owner named", err)
	}
}

func TestPeerUID(t *testing.T) {
	if !peerCheck {
		t.Skip("no peer credentials on " + runtime.GOOS + ": directory permissions protect the socket")
	}
	path := sockPath(t)
	os.MkdirAll(filepath.Dir(path), 0o700)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if uid, err := peerUID(conn); err != nil || uid != os.Getuid() {
		t.Errorf("peerUID() = %d, %v; want %d", uid, err, os.Getuid())
	}
}

func TestRefusesOtherUID(t *testing.T) {
	if !peerCheck {
		t.Skip("no peer credentials on " + runtime.GOOS)
	}
	path := sockPath(t)
	h := &recordingHandler{}
	sv := start(t, path, h, func(s *Server) { s.wantUID = os.Getuid() + 1 })
	if sv.wantUID < 0 {
		t.Fatal("peer check disabled")
	}
	c := &Client{path: path}
	resp, err := c.Do(t.Context(), wire.Request{Op: wire.OpStatus})
	if err != nil {
		t.Fatalf("Do = %v", err)
	}
	want := wire.Response{Error: "permission denied", Code: wire.CodeFailure}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response to another uid (-want +got):\n%s", diff)
	}
	if got := h.requests(); len(got) != 0 {
		t.Errorf("handler saw %+v from another uid; want nothing", got)
	}
}

func TestCancelStopsServer(t *testing.T) {
	path := sockPath(t)
	h := newBlockingHandler()
	sv := start(t, path, h, nil)
	c := dial(t, path)

	type result struct {
		resp wire.Response
		err  error
	}
	inflight := make(chan result, 1)
	go func() { // owned: Do ends when the server cancels the handler
		resp, err := c.Do(context.Background(), wire.Request{Op: wire.OpRefresh, All: true, Timeout: wire.MaxTimeout})
		inflight <- result{resp, err}
	}()
	<-h.entered

	if err := sv.wait(t); err != nil {
		t.Errorf("Serve() = %v; want nil", err)
	}
	r := <-inflight
	if r.err != nil || r.resp.OK || r.resp.Error != context.Canceled.Error() {
		t.Errorf("in-flight request at shutdown = %+v, %v; want a context-canceled failure", r.resp, r.err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after shutdown: Lstat = %v; want it removed", err)
	}
	if _, err := Dial(path); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial after shutdown = %v; want ErrNotRunning", err)
	}
	// A new instance can take over.
	start(t, path, &recordingHandler{}, nil)
}

func TestCancelEndsPendingRead(t *testing.T) {
	path := sockPath(t)
	sv := start(t, path, &recordingHandler{}, nil) // read deadline stays 5s
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Make sure the server has accepted and is reading: a full exchange on
	// a second connection is answered after this one was queued.
	if _, err := dial(t, path).Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	sv.cancel()
	select {
	case err := <-sv.errc:
		sv.errc <- err // for the cleanup
	case <-time.After(4 * time.Second):
		t.Fatal("Serve waited for a silent client's read deadline instead of stopping")
	}
}

func TestQuitStopsServer(t *testing.T) {
	path := sockPath(t)
	h := &recordingHandler{}
	var sv *serving
	h.onQuit = func() { sv.cancel() }
	sv = start(t, path, h, nil)
	if err := dial(t, path).Quit(t.Context()); err != nil {
		t.Fatalf("Quit() = %v", err)
	}
	if err := sv.wait(t); err != nil {
		t.Errorf("Serve() = %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after quit: Lstat = %v; want it removed", err)
	}
}

func TestCloseWithoutServe(t *testing.T) {
	path := sockPath(t)
	s, err := Listen(path, &recordingHandler{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after Close: Lstat = %v; want it removed", err)
	}
	if err := s.Serve(t.Context()); err != nil {
		t.Errorf("Serve after Close = %v; want nil (nothing to serve)", err)
	}
}

func TestCloseWhileServing(t *testing.T) {
	path := sockPath(t)
	sv := start(t, path, &recordingHandler{}, nil)
	if _, err := dial(t, path).Ping(t.Context()); err != nil { // Serve is running
		t.Fatal(err)
	}
	if err := sv.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after Close: Lstat = %v; want it removed", err)
	}
	if err := sv.Serve(t.Context()); err == nil {
		t.Error("second Serve = nil; want an error")
	}
}

func TestStopLeavesNewerSocketAlone(t *testing.T) {
	path := sockPath(t)
	s, err := Listen(path, &recordingHandler{})
	if err != nil {
		t.Fatal(err)
	}
	// Someone replaced the socket file (e.g. moved it away, then a new
	// instance started): stopping the old server must not delete it. The
	// old file is kept so that the new one cannot reuse its inode.
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	staleSocket(t, path)
	if err := s.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("newer socket after Close of the old server: Lstat = %v; want it kept", err)
	}
}

func TestListenValidatesArguments(t *testing.T) {
	if _, err := Listen(sockPath(t), nil); err == nil {
		t.Error("Listen with a nil handler = nil error")
	}
	long := filepath.Join(os.TempDir(), strings.Repeat("d", 120), "control.sock")
	if _, err := Listen(long, &recordingHandler{}); !errors.Is(err, errPathTooLong) {
		t.Errorf("Listen(%d-byte path) = %v; want errPathTooLong", len(long), err)
	}
}
