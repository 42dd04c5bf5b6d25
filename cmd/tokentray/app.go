package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/logfile"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/vault"
)

// core is what every command that touches tokens builds: the vault, the
// OAuth client and the engine, from settings read once.
type core struct {
	settings config.Settings
	path     string // config file
	stateDir string
	store    vaultStore
	probe    vault.ProbeResult
	client   *oauth.Client
	engine   *engine.Engine
	log      *slog.Logger
	closeLog func()
}

// vaultStore is what the CLI needs of a vault backend.
type vaultStore interface {
	Load(ctx context.Context, account string) (vault.Envelope, error)
	Save(ctx context.Context, account string, e vault.Envelope) error
	Delete(ctx context.Context, account string) error
	List(ctx context.Context) ([]string, error)
	Probe(ctx context.Context) vault.ProbeResult
	Kind() string
}

type coreOptions struct {
	store    vaultStore       // override (demo: memory)
	client   *oauth.Client    // override
	accounts []engine.Account // override the configured accounts (demo)
	stateDir string           // override the state directory (demo: temp)
	logTo    io.Writer        // extra log sink (stderr for headless)
	probe    bool             // probe the keychain at start
}

func stateDir() (string, error) {
	if d := os.Getenv("TOKENTRAY_STATE_DIR"); d != "" {
		return d, nil
	}
	return config.StateDir()
}

// newLogger writes text records to the state dir's tokentray.log (and w, if
// set), rotated by size (logfile.MaxSize, logfile.KeptLog old files).
// Tokens never reach it: every type that holds one logs redacted.
func newLogger(dir string, level string, w io.Writer) (*slog.Logger, func(), error) {
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
		return nil, nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	f := logfile.Writer{Path: filepath.Join(dir, "tokentray.log"), Policy: logfile.Policy{MaxSize: logfile.MaxSize, Keep: logfile.KeptLog}}
	if _, err := f.Write(nil); err != nil { // the file can be written
		return nil, nil, fmt.Errorf("open log: %w", err)
	}
	var out io.Writer = f
	if w != nil {
		out = io.MultiWriter(f, w)
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: lv})), func() {}, nil
}

// openStore returns the configured secret store. It never falls back to the
// file store by itself.
func openStore(s config.Settings, dir, lockDir string) vaultStore {
	switch s.Storage.Backend {
	case "file":
		return vault.NewFile(filepath.Join(dir, "tokens.json"), vault.FileLockTimeout(max(s.Storage.KeychainTimeout, vault.DefaultFileLockTimeout)))
	default:
		return vault.NewKeychain(vault.KeychainOptions{Timeout: s.Storage.KeychainTimeout, LockDir: filepath.Join(lockDir, "vault")})
	}
}

// newCore builds the vault, client and engine for settings l.
func newCore(ctx context.Context, l *config.Loaded, o coreOptions) (*core, error) {
	dir := o.stateDir
	if dir == "" {
		d, err := stateDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	log, closeLog, err := newLogger(dir, l.Settings.Log.Level, o.logTo)
	if err != nil {
		return nil, err
	}
	// Locks are per OS user, not per environment: the keychain items they
	// guard are the same whatever XDG_* or TOKENTRAY_STATE_DIR say. Only
	// a private state dir (the demo's) has private locks.
	lockDir := filepath.Join(dir, "locks")
	if o.stateDir == "" {
		if lockDir, err = config.LockDir(); err != nil {
			closeLog()
			return nil, err
		}
	}
	c := &core{settings: l.Settings, path: l.Path, stateDir: dir, log: log, closeLog: closeLog}
	c.store = o.store
	if c.store == nil {
		c.store = openStore(l.Settings, dir, lockDir)
	}
	if o.probe {
		pctx, cancel := context.WithTimeout(ctx, l.Settings.Storage.KeychainTimeout+time.Second)
		c.probe = c.store.Probe(pctx)
		cancel()
		if c.probe.Err != nil {
			log.Warn("secret storage unusable", "kind", c.probe.Kind, "status", c.probe.Status, "err", c.probe.Err)
		}
	}
	c.client = o.client
	if c.client == nil {
		c.client = &oauth.Client{HTTP: &http.Client{}, Timeout: 30 * time.Second}
	}
	accts := o.accounts
	if accts == nil {
		for _, a := range l.Settings.Accounts {
			p, err := profileFor(a)
			if err != nil {
				closeLog()
				return nil, fmt.Errorf("account %q: %w", a.Name, err)
			}
			accts = append(accts, engine.Account{Name: a.Name, Profile: p})
		}
	}
	e, err := engine.New(engine.Options{
		Settings:  l.Settings,
		Store:     c.store,
		Refresher: c.client, // resolves OIDC endpoints on first use (cached)
		Accounts:  accts,
		StatePath: filepath.Join(dir, "state.json"),
		LockDir:   lockDir,
		Logger:    log,
	})
	if err != nil {
		closeLog()
		return nil, err
	}
	c.engine = e
	return c, nil
}

// Close waits (briefly) for keychain writes that timed out to return and be
// repaired, then closes the log.
func (c *core) Close() {
	if k, ok := c.store.(interface{ Wait(context.Context) error }); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := k.Wait(ctx); err != nil {
			c.log.Warn("a keychain write that timed out has not returned yet; the next save repairs it", "error", err)
		}
		cancel()
	}
	if c.closeLog != nil {
		c.closeLog()
	}
}

// profileFor turns a configured account into an OAuth profile. OIDC
// endpoints are discovered on first use (by oauth.Client), so a start
// without network still works.
func profileFor(a config.Account) (oauth.Profile, error) {
	var p oauth.Profile
	switch a.Provider {
	case "microsoft":
		base := os.Getenv("TOKENTRAY_MICROSOFT_LOGIN_BASE") // tests and sovereign clouds
		mp, err := oauth.MicrosoftProfileAt(base, a.Tenant, a.ClientID, a.Scopes)
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

// engineExitCode maps engine errors to exit codes: 3 when the user must sign
// in, 2 for an unknown account.
func engineExitCode(err error) int {
	if errors.Is(err, engine.ErrUnknownAccount) {
		return exitUsage
	}
	if errors.Is(err, engine.ErrNeedsSignIn) {
		return exitNeedsSignIn
	}
	var oe *oauth.Error
	if errors.As(err, &oe) && oe.Class == oauth.Permanent {
		return exitNeedsSignIn
	}
	return 0
}

func accountNames(s config.Settings) string {
	var n []string
	for _, a := range s.Accounts {
		n = append(n, a.Name)
	}
	if len(n) == 0 {
		return "(none configured)"
	}
	return strings.Join(n, ", ")
}
