package keeper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/logfile"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/vault"
	"github.com/tokentray/tokentray/internal/wire"
)

// Store is what the service needs of a vault backend.
type Store interface {
	Load(ctx context.Context, account string) (vault.Envelope, error)
	Save(ctx context.Context, account string, e vault.Envelope) error
	Delete(ctx context.Context, account string) error
	List(ctx context.Context) ([]string, error)
	Probe(ctx context.Context) vault.ProbeResult
	Kind() string
}

// Options are how a Backend is built; the zero value builds the
// configured one for a command run in-process.
type Options struct {
	Store    Store            // override (the demo: memory)
	Client   *oauth.Client    // override
	Accounts []engine.Account // override the configured accounts (the demo)
	StateDir string           // override the state directory (the demo: temp)
	LogTo    io.Writer        // extra log sink (stderr when headless)
	Probe    bool             // probe the keychain at start

	// Keeper: this Backend serves the control socket (the access log is
	// kept in memory and records the socket's peers). Otherwise it serves
	// one command of this process.
	Keeper   bool
	Demo     bool   // the demo: no settings or account changes
	TrayHost bool   // an icon is shown (Info)
	Version  string // tokentray release (Info, access log)
	// OpenBrowser opens a sign-in URL (nil: the system browser).
	OpenBrowser func(url string) error
}

// Backend is the service over one engine, vault and OAuth client built
// from settings read once. It implements control.Service.
type Backend struct {
	settings config.Settings
	path     string // settings file
	stateDir string
	store    Store
	probe    vault.ProbeResult
	engine   *engine.Engine
	log      *slog.Logger
	o        Options
	access   *accesslog.Log // keeper only
	loadOnce sync.Once      // in-process: envelopes read for status

	mu      sync.Mutex
	windows map[*window]struct{} // subscribers that are windows
	azure   *azureSDK            // the Azure SDK endpoints, while served
}

var _ control.Service = (*Backend)(nil)

// StateDir is where state.json, tokentray.log and the access log live:
// TOKENTRAY_STATE_DIR, else the user's state directory.
func StateDir() (string, error) {
	if d := os.Getenv("TOKENTRAY_STATE_DIR"); d != "" {
		return d, nil
	}
	return config.StateDir()
}

// AccessLogPath is the access log's file in state directory dir.
func AccessLogPath(dir string) string { return filepath.Join(dir, "access.jsonl") }

// LogPath is tokentray.log in state directory dir.
func LogPath(dir string) string { return filepath.Join(dir, "tokentray.log") }

// newLogger writes text records to the state dir's tokentray.log (and w, if
// set), rotated by size (logfile.MaxSize, logfile.KeptLog old files).
// Tokens never reach it: every type that holds one logs redacted.
func newLogger(dir string, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	switch level {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	f := logfile.Writer{Path: LogPath(dir), Policy: logfile.Policy{MaxSize: logfile.MaxSize, Keep: logfile.KeptLog}}
	if _, err := f.Write(nil); err != nil { // the file can be written
		return nil, fmt.Errorf("open log: %w", err)
	}
	var out io.Writer = f
	if w != nil {
		out = io.MultiWriter(f, w)
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: lv})), nil
}

// OpenStore returns the configured secret store. It never falls back to the
// file store by itself.
func OpenStore(s config.Settings, dir, lockDir string) Store {
	switch s.Storage.Backend {
	case "file":
		return vault.NewFile(filepath.Join(dir, "tokens.json"), vault.FileLockTimeout(max(s.Storage.KeychainTimeout, vault.DefaultFileLockTimeout)))
	default:
		return vault.NewKeychain(vault.KeychainOptions{Timeout: s.Storage.KeychainTimeout, LockDir: filepath.Join(lockDir, "vault")})
	}
}

// Open builds the vault, OAuth client and engine for settings l.
func Open(ctx context.Context, l *config.Loaded, o Options) (*Backend, error) {
	dir := o.StateDir
	if dir == "" {
		d, err := StateDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	log, err := newLogger(dir, l.Settings.Log.Level, o.LogTo)
	if err != nil {
		return nil, err
	}
	// Locks are per OS user, not per environment: the keychain items they
	// guard are the same whatever XDG_* or TOKENTRAY_STATE_DIR say. Only
	// a private state dir (the demo's) has private locks.
	lockDir := filepath.Join(dir, "locks")
	if o.StateDir == "" {
		if lockDir, err = config.LockDir(); err != nil {
			return nil, err
		}
	}
	b := &Backend{settings: l.Settings, path: l.Path, stateDir: dir, log: log, o: o, store: o.Store, windows: map[*window]struct{}{}}
	if b.store == nil {
		b.store = OpenStore(l.Settings, dir, lockDir)
	}
	if o.Probe {
		pctx, cancel := context.WithTimeout(ctx, l.Settings.Storage.KeychainTimeout+time.Second)
		b.probe = b.store.Probe(pctx)
		cancel()
		if b.probe.Err != nil {
			log.Warn("secret storage unusable", "kind", b.probe.Kind, "status", b.probe.Status, "err", b.probe.Err)
		}
	}
	client := o.Client
	if client == nil {
		client = &oauth.Client{HTTP: &http.Client{}, Timeout: 30 * time.Second}
	}
	accts := o.Accounts
	if accts == nil {
		for _, a := range l.Settings.Accounts {
			p, err := Profile(a)
			if err != nil {
				return nil, fmt.Errorf("account %q: %w", a.Name, err)
			}
			accts = append(accts, engine.Account{Name: a.Name, Profile: p})
		}
	}
	e, err := engine.New(engine.Options{
		Settings:  l.Settings,
		Store:     b.store,
		Refresher: client, // resolves OIDC endpoints on first use (cached)
		Accounts:  accts,
		StatePath: filepath.Join(dir, "state.json"),
		LockDir:   lockDir,
		Logger:    log,
	})
	if err != nil {
		return nil, err
	}
	b.engine = e
	if o.Keeper {
		b.access, err = accesslog.Open(AccessLogPath(dir))
		if err != nil {
			log.Warn("access log: earlier entries not read; starting an empty one", "error", err)
			b.access = accesslog.New(AccessLogPath(dir))
		}
	}
	return b, nil
}

// Engine is the engine the service runs on (the keeper's run loop, tray
// and hooks follow it).
func (b *Backend) Engine() *engine.Engine { return b.engine }

// Log is the service's logger (tokentray.log).
func (b *Backend) Log() *slog.Logger { return b.log }

// Settings are the settings the service was built with.
func (b *Backend) Settings() config.Settings { return b.settings }

// StorageKind names the secret store ("keychain", "file", "memory").
func (b *Backend) StorageKind() string { return b.store.Kind() }

// StateDir is the service's state directory.
func (b *Backend) StateDir() string { return b.stateDir }

// flushTimeout bounds how long a process about to exit keeps trying to save
// a pair the provider rotated.
const flushTimeout = 15 * time.Second

// Flush saves what the engine holds only in memory before the process
// exits. A rotated refresh token that still cannot be saved is a failure
// naming the account and what to do: the process is about to drop the only
// copy. It runs on a context of its own, so Ctrl-C of the command does not
// cut it short.
func (b *Backend) Flush() error {
	ctx, cancel := context.WithTimeout(vault.Interactive(context.Background()), flushTimeout)
	defer cancel()
	err := b.engine.Flush(ctx)
	if err == nil {
		return nil
	}
	if errors.Is(err, engine.ErrUnsaved) {
		return &control.CodedError{Code: wire.CodeFailure, Err: err}
	}
	b.log.Warn("saving before exit", "error", err)
	return nil
}

// Run runs the engine until ctx ends, then saves what it holds only in
// memory (or says it could not).
func (b *Backend) Run(ctx context.Context) error {
	err := b.engine.Run(ctx) // returns after the refreshes it sent are saved
	if ctx.Err() != nil {
		err = nil // a stop, not a failure
	}
	if ferr := b.Flush(); ferr != nil {
		b.log.Error("stopping with an unsaved refresh token", "error", ferr)
		err = errors.Join(err, ferr)
	}
	return err
}

// Close waits (briefly) for keychain writes that timed out to return and be
// repaired.
func (b *Backend) Close() {
	if k, ok := b.store.(interface{ Wait(context.Context) error }); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := k.Wait(ctx); err != nil {
			b.log.Warn("a keychain write that timed out has not returned yet; the next save repairs it", "error", err)
		}
		cancel()
	}
}

// Profile turns a configured account into an OAuth profile: a Microsoft
// account's endpoints are on its cloud's login host (or under
// TOKENTRAY_MICROSOFT_LOGIN_BASE, which tests set). OIDC endpoints are
// discovered on first use (by oauth.Client), so a start without network
// still works.
func Profile(a config.Account) (oauth.Profile, error) {
	var p oauth.Profile
	switch a.Provider {
	case "microsoft":
		// Tests only: the simulator's address replaces the cloud's login host.
		base := os.Getenv("TOKENTRAY_MICROSOFT_LOGIN_BASE")
		mp, err := oauth.MicrosoftCloudProfile(a.Cloud, base, a.Tenant, a.ClientID, a.Scopes)
		if err != nil {
			return p, err
		}
		p = mp
	case "oidc":
		p = oauth.Profile{Provider: oauth.ProviderOIDC, Issuer: a.Issuer, ClientID: a.ClientID, Scopes: a.Scopes}
	default:
		return p, fmt.Errorf("unknown provider %q (want microsoft or oidc)", a.Provider)
	}
	p.RedirectURI = a.RedirectURI
	p.Capabilities = append([]string(nil), a.ClientCapabilities...)
	p.NarrowerScopes = a.NarrowerScopes
	if len(a.Headers) > 0 {
		p.Headers = map[string]string{}
		for k, v := range a.Headers {
			p.Headers[k] = v
		}
	}
	return p, nil
}
