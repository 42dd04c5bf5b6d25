package keeper

// The Azure SDK endpoint: for each account with azure_sdk, the keeper
// serves the App Service managed-identity protocol (internal/azuremi) on
// a loopback port of its own, guarded by a secret kept in the vault. The
// port and the secret stay the same across restarts, so a shell that ran
// `eval "$(tokentray env NAME --azure-sdk)"` keeps working.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/azuremi"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
	"github.com/tokentray/tokentray/internal/wire"
)

// ViaAzureSDK is the access log's "via" of a token handed out on the
// Azure SDK endpoint; LoopbackTCP names its requester where the OS does
// not tell which process it is.
const (
	ViaAzureSDK = "azure-sdk endpoint"
	LoopbackTCP = "loopback TCP"
)

// azureItem is the vault item that holds account's endpoint secret (in the
// envelope's ClientSecret): beside the account's own item, under a name no
// account can have (account names hold no ':').
func azureItem(account string) string { return "azure-sdk:" + account }

// AzureStatePath is the file, in state directory dir, where the keeper
// keeps each account's endpoint port and whether it listens. It holds no
// secret.
func AzureStatePath(dir string) string { return filepath.Join(dir, "azure-sdk.json") }

// AzureEndpoint is what the keeper tells of one account's endpoint.
type AzureEndpoint struct {
	Port      int    `json:"port"`
	Listening bool   `json:"listening"`
	Problem   string `json:"problem,omitempty"` // why it does not listen
}

type azureStateFile struct {
	V        int                      `json:"v"`
	Accounts map[string]AzureEndpoint `json:"accounts"`
}

// AzureEndpoints returns what the keeper last recorded of each account's
// endpoint in state directory dir.
func AzureEndpoints(dir string) (map[string]AzureEndpoint, error) { return readAzureState(dir) }

// readAzureState reads the endpoints' file; a missing file has none.
func readAzureState(dir string) (map[string]AzureEndpoint, error) {
	b, err := os.ReadFile(AzureStatePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]AzureEndpoint{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f azureStateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read %s: %w", AzureStatePath(dir), err)
	}
	if f.Accounts == nil {
		f.Accounts = map[string]AzureEndpoint{}
	}
	return f.Accounts, nil
}

// azureSDK runs the endpoints of one keeper.
type azureSDK struct {
	b    *Backend
	root context.Context // the keeper's: endpoints started later live as long
	wg   sync.WaitGroup

	mu      sync.Mutex // guards the fields below and the state file
	running map[string]*served
}

// served is one account's endpoint goroutine: cancel stops it, done is
// closed when it has.
type served struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// minBackoff and maxBackoff bound the wait before an endpoint that could
// not start (port taken, keychain locked) tries again.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// StartAzureSDK serves the endpoint of every account whose settings enable
// it (azure_sdk), and of accounts added later with it, until ctx ends or
// stop is called; stop returns once every endpoint is closed.
func (b *Backend) StartAzureSDK(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	z := &azureSDK{b: b, root: ctx, running: map[string]*served{}}
	b.mu.Lock()
	b.azure = z
	b.mu.Unlock()
	for _, a := range b.settings.Accounts {
		if a.AzureSDK {
			z.start(a.Name)
		}
	}
	z.markDisabled()
	return func() {
		cancel()
		z.wg.Wait()
		b.mu.Lock()
		b.azure = nil
		b.mu.Unlock()
	}
}

// azureAccountAdded starts the endpoint of an account just added with
// azure_sdk, when the keeper serves endpoints.
func (b *Backend) azureAccountAdded(a config.Account) {
	b.mu.Lock()
	z := b.azure
	b.mu.Unlock()
	if z != nil && a.AzureSDK {
		z.start(a.Name)
	}
}

// azureAccountRemoved stops the endpoint of a removed account and deletes
// its secret and port.
func (b *Backend) azureAccountRemoved(ctx context.Context, name string) {
	b.mu.Lock()
	z := b.azure
	b.mu.Unlock()
	if z != nil {
		z.stop(name)
	}
	if err := b.store.Delete(ctx, azureItem(name)); err != nil && !errors.Is(err, vault.ErrNotFound) {
		b.log.Warn("azure sdk endpoint: secret of a removed account not deleted", "account", name, "error", err)
	}
	if z != nil {
		z.update(name, nil)
	}
}

func (z *azureSDK) start(name string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if _, ok := z.running[name]; ok || z.root.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(z.root)
	s := &served{cancel: cancel, done: make(chan struct{})}
	z.running[name] = s
	z.wg.Add(1)
	go func() {
		defer z.wg.Done()
		defer close(s.done)
		z.serve(ctx, name)
	}()
}

// stop closes name's endpoint and returns once it is closed.
func (z *azureSDK) stop(name string) {
	z.mu.Lock()
	s := z.running[name]
	delete(z.running, name)
	z.mu.Unlock()
	if s != nil {
		s.cancel()
		<-s.done
	}
}

// serve runs name's endpoint until ctx ends, starting it again after a
// failure to start (port taken, secret unreadable) with a growing wait.
func (z *azureSDK) serve(ctx context.Context, name string) {
	log := z.b.log.With("account", name)
	wait := minBackoff
	said := ""
	for {
		err := z.serveOnce(ctx, name, log)
		if ctx.Err() != nil {
			return
		}
		if err.Error() != said { // once per new problem, not per retry
			log.Warn("azure sdk endpoint not listening; retrying", "error", err)
			said = err.Error()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}

// serveOnce starts name's endpoint and serves it until ctx ends (nil), or
// returns why it could not start.
func (z *azureSDK) serveOnce(ctx context.Context, name string, log *slog.Logger) error {
	port := 0
	if e, ok := z.endpoint(name); ok {
		port = e.Port
	}
	secret, err := z.secret(ctx, name)
	if err != nil {
		z.update(name, &AzureEndpoint{Port: port, Problem: err.Error()})
		return err
	}
	ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		err = fmt.Errorf("port %d on 127.0.0.1 is taken (by another program, or a keeper still stopping): %w", port, err)
		z.update(name, &AzureEndpoint{Port: port, Problem: err.Error()})
		return err
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	h, err := azuremi.NewHandler(addr, secret, z.b.azureToken(name))
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ConnContext: azuremi.ConnContext, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(slog.NewTextHandler(io.Discard, nil), slog.LevelError)}
	z.update(name, &AzureEndpoint{Port: int(addr.Port()), Listening: true})
	log.Info("azure sdk endpoint listening", "endpoint", h.URL())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
		z.markStopped(name)
		return nil
	case err := <-done:
		z.markStopped(name)
		return fmt.Errorf("serving stopped: %w", err)
	}
}

// secret returns name's endpoint secret from the vault, making and saving
// one the first time.
func (z *azureSDK) secret(ctx context.Context, name string) (string, error) {
	env, err := z.b.store.Load(ctx, azureItem(name))
	if err == nil && env.ClientSecret != "" {
		return env.ClientSecret, nil
	}
	if err != nil && !errors.Is(err, vault.ErrNotFound) {
		return "", fmt.Errorf("read the endpoint secret: %w", err)
	}
	s, err := azuremi.NewSecret()
	if err != nil {
		return "", err
	}
	if err := z.b.store.Save(ctx, azureItem(name), vault.Envelope{ClientSecret: s}); err != nil {
		return "", fmt.Errorf("save the endpoint secret: %w", err)
	}
	return s, nil
}

func (z *azureSDK) endpoint(name string) (AzureEndpoint, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	m, err := readAzureState(z.b.stateDir)
	if err != nil {
		return AzureEndpoint{}, false
	}
	e, ok := m[name]
	return e, ok
}

// markDisabled records that the endpoints of accounts without azure_sdk
// do not listen (a keeper that stopped uncleanly may have left them
// "listening"); their ports are kept for when they are enabled again.
func (z *azureSDK) markDisabled() {
	z.mu.Lock()
	m, err := readAzureState(z.b.stateDir)
	z.mu.Unlock()
	if err != nil {
		return
	}
	for name, e := range m {
		if a, ok := z.b.settings.Account(name); !ok || !a.AzureSDK {
			e.Listening, e.Problem = false, "azure_sdk is not set for this account"
			z.update(name, &e)
		}
	}
}

func (z *azureSDK) markStopped(name string) {
	if e, ok := z.endpoint(name); ok {
		e.Listening = false
		z.update(name, &e)
	}
}

// update records name's endpoint (nil: forget it) in the state file, keeping
// a known port when e has none.
func (z *azureSDK) update(name string, e *AzureEndpoint) {
	z.mu.Lock()
	defer z.mu.Unlock()
	m, err := readAzureState(z.b.stateDir)
	if err != nil {
		z.b.log.Warn("azure sdk endpoint: state file unreadable; writing it anew", "error", err)
		m = map[string]AzureEndpoint{}
	}
	if e == nil {
		delete(m, name)
	} else {
		if e.Port == 0 {
			e.Port = m[name].Port
		}
		m[name] = *e
	}
	if err := writeAzureState(z.b.stateDir, m); err != nil {
		z.b.log.Warn("azure sdk endpoint: state not saved", "error", err)
	}
}

func writeAzureState(dir string, m map[string]AzureEndpoint) error {
	b, err := json.MarshalIndent(azureStateFile{V: 1, Accounts: m}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".azure-sdk-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), AzureStatePath(dir))
}

// azureToken serves name's token requests on the endpoint through the
// service's Token (the one path: the keeper's memory, refreshed by the
// usual rules, recorded in the access log).
func (b *Backend) azureToken(name string) azuremi.TokenFunc {
	return func(ctx context.Context, resource string) (azuremi.Token, error) {
		scope, err := state.ResourceScope(resource)
		if err != nil {
			return azuremi.Token{}, &azuremi.Error{Status: http.StatusBadRequest, Code: "invalid_resource", Message: err.Error()}
		}
		ctx = context.WithValue(ctx, azureRequestKey{}, true)
		t, err := b.Token(ctx, name, control.TokenOptions{Scopes: []string{scope}, MinValid: wire.DefaultMinValid})
		if err != nil {
			return azuremi.Token{}, azureError(err)
		}
		return azuremi.Token{AccessToken: t.AccessToken, Type: t.Type, Expiry: t.Expiry}, nil
	}
}

// azureError words a token failure for the SDK: the provider's error code
// where there is one, the message tokentray prints (what to do next), and a
// status the SDKs retry only for a transient failure.
func azureError(err error) *azuremi.Error {
	e := &azuremi.Error{Status: http.StatusBadRequest, Code: "tokentray_error", Message: err.Error()}
	var oe *oauth.Error
	if errors.As(err, &oe) && oe.Code != "" {
		e.Code = oe.Code
	}
	switch {
	case control.CodeOf(err) == wire.CodeNeedsSignIn:
		e.Status = http.StatusUnauthorized
		if e.Code == "tokentray_error" {
			e.Code = "needs_sign_in"
		}
	case control.CodeOf(err) == wire.CodeUsage, errors.Is(err, engine.ErrResource):
		// the request's or the resource's: asking again will not help
	default: // the provider or the keychain failed for now
		e.Status = http.StatusServiceUnavailable
	}
	return e
}

type azureRequestKey struct{}

// endpointPeer fills in, for a token handed out on the Azure SDK endpoint,
// the requesting process (from the TCP peer's socket where the OS tells,
// else LoopbackTCP) and ViaAzureSDK. Other entries are left as they are.
func endpointPeer(ctx context.Context, e *accesslog.Entry) {
	if ctx.Value(azureRequestKey{}) == nil {
		return
	}
	e.Via, e.Client = ViaAzureSDK, ""
	e.PID, e.Exe, e.ParentPID, e.ParentExe = 0, LoopbackTCP, 0, ""
	if pid := azuremi.PeerPID(ctx); pid > 0 {
		e.PID, e.Exe = pid, control.ProcessExe(pid)
		if pp := control.ParentPID(pid); pp > 0 {
			e.ParentPID, e.ParentExe = pp, control.ProcessExe(pp)
		}
	}
}
