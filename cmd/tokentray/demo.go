package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/keeper"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/vault"
)

const (
	demoAccount = "demo"
	demoClient  = "d3300000-0000-4000-8000-000000000001" // a GUID, as a real Microsoft client ID is
	demoSubject = "demo.user@idpsim.test"
)

func newDemoCmd(g *globals) *cobra.Command {
	var headless bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try tokentray with a built-in demo account against a local simulator",
		Long: `Runs the embedded OAuth simulator on loopback with an in-memory vault and
short-lived access tokens, so you see refreshes, a throttled refresh and a
needs-sign-in recovery within minutes. Nothing touches your keychain or your
real accounts.`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if headless {
				var d *demo
				defer func() {
					if d != nil {
						d.Close()
					}
				}()
				return serveHeadless(cmd, func(ctx context.Context) (b *keeper.Backend, err error) {
					if d, err = startDemo(ctx, g, cmd.ErrOrStderr(), false); err != nil {
						return nil, err
					}
					return d.backend, nil
				})
			}
			return runTray(cmd, g, trayOptions{demo: true})
		},
	}
	cmd.Flags().BoolVar(&headless, "headless", false, "run the demo without a GUI")
	return cmd
}

// demo is a running simulator plus a service wired to it.
type demo struct {
	backend *keeper.Backend
	sim     *idpsim.Server
	srv     *http.Server
	base    string
	tmp     string
	once    sync.Once
	stopScn context.CancelFunc
}

func (d *demo) Close() {
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

// startDemo starts the simulator on 127.0.0.1, signs the demo account in
// (a grant adopted with one refresh) and runs the demo scenario: after the
// third refresh the next one is throttled (429, Retry-After 60 s), after the
// fourth the provider ends the grant, so the account needs sign-in (about
// 9 minutes in); "Sign in again" recovers it.
func startDemo(ctx context.Context, g *globals, logTo io.Writer, trayHost bool) (*demo, error) {
	l, err := loadSettings(g, false)
	if err != nil {
		return nil, err
	}
	l.Settings = demoSettings(l.Settings)
	sim := idpsim.New(idpsim.Options{AccessTTL: 3 * time.Minute, Clients: []string{demoClient}, DefaultSubject: demoSubject})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the demo simulator: %w", err)
	}
	base := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // ends with ErrServerClosed on Close

	prof, err := oauth.MicrosoftProfileAt(base, "common", demoClient, []string{"User.Read"})
	if err != nil {
		srv.Close()
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "tokentray-demo-")
	if err != nil {
		srv.Close()
		return nil, err
	}
	b, err := keeper.Open(ctx, l, keeper.Options{
		Store:       vault.NewMemory(),
		Client:      &oauth.Client{HTTP: &http.Client{}, Timeout: 15 * time.Second},
		Accounts:    []engine.Account{{Name: demoAccount, Profile: prof}},
		StateDir:    tmp,
		LogTo:       logTo,
		Keeper:      true,
		Demo:        true,
		TrayHost:    trayHost,
		Version:     version,
		OpenBrowser: demoBrowser,
	})
	if err != nil {
		srv.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	d := &demo{backend: b, sim: sim, srv: srv, base: base, tmp: tmp, stopScn: cancel}
	rt := sim.Grant(demoClient, demoSubject, prof.Scopes)
	if _, err := b.Engine().Import(ctx, demoAccount, rt); err != nil {
		d.Close()
		return nil, fmt.Errorf("demo sign-in: %w", err)
	}
	go d.scenario(sctx, b.Log())
	return d, nil
}

// scenario injects the demo's throttle and revocation as refreshes happen.
func (d *demo) scenario(ctx context.Context, log *slog.Logger) {
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

func newIdpSimCmd() *cobra.Command {
	var addr string
	var accessTTL, signInFrequency time.Duration
	var spaClients []string
	cmd := &cobra.Command{
		Use:    "idp-sim",
		Short:  "Run the OAuth simulator (Microsoft identity platform v2.0 look-alike) for testing",
		Args:   maxArgs(0),
		Hidden: false,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if accessTTL < time.Second || accessTTL > 24*time.Hour {
				return control.Usagef("--access-ttl %s: want 1s–24h", accessTTL)
			}
			if err := checkSignInFrequency(signInFrequency); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return control.Usagef("--addr %q: %v", addr, err)
			}
			if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
				ln.Close()
				return control.Usagef("--addr %q: the simulator listens on loopback addresses only", addr)
			}
			sim := idpsim.New(idpsim.Options{AccessTTL: accessTTL, SignInFrequency: signInFrequency, SPAClients: spaClients})
			srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
			base := "http://" + ln.Addr().String()
			fmt.Fprintf(cmd.OutOrStdout(), "idp-sim listening on %s\nissuer (oidc): %s\nmicrosoft-style: %s/common/oauth2/v2.0/token\n", base, sim.Issuer(base), base)
			go func() { <-ctx.Done(); srv.Close() }()
			if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "loopback address to listen on")
	cmd.Flags().DurationVar(&accessTTL, "access-ttl", time.Hour, "access token lifetime")
	cmd.Flags().DurationVar(&signInFrequency, "sign-in-frequency", 0, "a Conditional Access sign-in frequency policy: refreshes this long after the sign-in get AADSTS70043 (0: none; 1m–90 days, e.g. 8h)")
	cmd.Flags().StringArrayVar(&spaClients, "spa-client", nil, "a client ID registered as a single-page app (Origin header required, refresh tokens live 24 h); repeatable")
	return cmd
}

// checkSignInFrequency validates idp-sim's --sign-in-frequency.
func checkSignInFrequency(d time.Duration) error {
	if d != 0 && (d < time.Minute || d > 90*24*time.Hour) {
		return control.Usagef("--sign-in-frequency %s: want 0 (no policy) or 1m–2160h (90 days)", d)
	}
	return nil
}
