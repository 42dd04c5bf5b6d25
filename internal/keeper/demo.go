package keeper

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/vault"
)

// The demo's account, its client ID at the simulator and its user.
const (
	demoAccount = "demo"
	demoClient  = "d3300000-0000-4000-8000-000000000001" // a GUID, as a real Microsoft client ID is
	demoSubject = "demo.user@idpsim.test"
)

// DemoOptions are how the demo's service is built.
type DemoOptions struct {
	LogTo    io.Writer // extra log sink (stderr)
	TrayHost bool      // an icon is shown (Info)
	Version  string    // tokentray release (Info, access log)
}

// Demo is a running simulator plus a service wired to it.
type Demo struct {
	backend *Backend
	sim     *idpsim.Server
	srv     *idpsim.Listening
	tmp     string
	once    sync.Once
	stopScn context.CancelFunc
}

// Backend is the demo's service.
func (d *Demo) Backend() *Backend { return d.backend }

// Close stops the scenario, the simulator and the service, and removes the
// demo's state directory. It may be called more than once.
func (d *Demo) Close() {
	d.once.Do(func() {
		d.stopScn()
		d.srv.Close()
		d.backend.Close()
		os.RemoveAll(d.tmp)
	})
}

// demoSettings make things happen within minutes: 3-minute access tokens
// refreshed 1 minute before expiry, at most every 2 minutes. The cooldown is
// below the 5-minute floor users may set: these settings never reach a
// file, they only drive the demo's engine.
func demoSettings(s config.Settings) config.Settings {
	s.Refresh.Enabled = true
	s.Refresh.IntervalHours = 1
	s.Refresh.Lookahead = time.Minute
	s.Refresh.Cooldown = 2 * time.Minute
	s.Refresh.JitterMax = 5 * time.Second
	s.Backoff.Base = 30 * time.Second
	s.Backoff.Max = 10 * time.Minute
	s.Accounts = nil
	return s
}

// StartDemo starts the simulator on 127.0.0.1 and a service over an
// in-memory vault and a temporary state directory, with the settings of l
// made to act within minutes. It signs the demo account in (a grant adopted
// with one refresh) and runs the demo scenario until ctx ends or Close:
// after the third refresh the next one is throttled (429, Retry-After 60 s),
// after the fourth the provider ends the grant, so the account needs
// sign-in (about 9 minutes in); "Sign in again" recovers it.
func StartDemo(ctx context.Context, l *config.Loaded, o DemoOptions) (*Demo, error) {
	demo := *l
	demo.Settings = demoSettings(l.Settings)
	sim := idpsim.New(idpsim.Options{AccessTTL: 3 * time.Minute, Clients: []string{demoClient}, DefaultSubject: demoSubject})
	srv, err := sim.ServeLoopback("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the demo simulator: %w", err)
	}
	prof, err := oauth.MicrosoftProfileAt(srv.Base, "common", demoClient, []string{"User.Read"})
	if err != nil {
		srv.Close()
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "tokentray-demo-")
	if err != nil {
		srv.Close()
		return nil, err
	}
	b, err := Open(ctx, &demo, Options{
		Store:       vault.NewMemory(),
		Client:      &oauth.Client{HTTP: &http.Client{}, Timeout: 15 * time.Second},
		Accounts:    []engine.Account{{Name: demoAccount, Profile: prof}},
		StateDir:    tmp,
		LogTo:       o.LogTo,
		Keeper:      true,
		Demo:        true,
		TrayHost:    o.TrayHost,
		Version:     o.Version,
		OpenBrowser: demoBrowser,
	})
	if err != nil {
		srv.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	d := &Demo{backend: b, sim: sim, srv: srv, tmp: tmp, stopScn: cancel}
	rt := sim.Grant(demoClient, demoSubject, prof.Scopes)
	if _, err := b.Engine().Import(ctx, demoAccount, rt); err != nil {
		d.Close()
		return nil, fmt.Errorf("demo sign-in: %w", err)
	}
	go d.scenario(sctx, b.Log())
	return d, nil
}

// scenario injects the demo's throttle and revocation as refreshes happen.
func (d *Demo) scenario(ctx context.Context, log *slog.Logger) {
	snaps := d.backend.Engine().Subscribe(ctx)
	throttled, revoked := false, false
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-snaps:
			if !ok {
				return
			}
			n := s.Counters.RefreshSuccessTotal
			if n >= 3 && !throttled {
				throttled = true
				d.sim.Inject(idpsim.Fault{Kind: idpsim.Throttle429, RetryAfter: time.Minute})
				log.Info("demo: the next refresh will be throttled (429, Retry-After 60s)")
			}
			if n >= 4 && throttled && !revoked {
				revoked = true
				d.sim.RevokeGrant(demoSubject)
				log.Info("demo: the provider ended the grant; the next refresh needs sign-in")
			}
		}
	}
}

// demoBrowser "opens" a sign-in URL of the simulator, whose authorize page
// approves at once, by following its redirect to the loopback callback.
func demoBrowser(u string) error {
	go func() {
		resp, err := http.Get(u)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	return nil
}
