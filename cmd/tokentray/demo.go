package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/keeper"
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
				var d *keeper.Demo
				defer func() {
					if d != nil {
						d.Close()
					}
				}()
				return serveHeadless(cmd, func(ctx context.Context) (b *keeper.Backend, err error) {
					if d, err = startDemo(ctx, g, cmd.ErrOrStderr(), false); err != nil {
						return nil, err
					}
					return d.Backend(), nil
				})
			}
			return runTray(cmd, g, trayOptions{demo: true})
		},
	}
	cmd.Flags().BoolVar(&headless, "headless", false, "run the demo without a GUI")
	return cmd
}

// startDemo starts the demo (keeper.StartDemo) over the settings read the
// way every command reads them.
func startDemo(ctx context.Context, g *globals, logTo io.Writer, trayHost bool) (*keeper.Demo, error) {
	l, err := loadSettings(g, false)
	if err != nil {
		return nil, err
	}
	return keeper.StartDemo(ctx, l, keeper.DemoOptions{LogTo: logTo, TrayHost: trayHost, Version: version})
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
			sim := idpsim.New(idpsim.Options{AccessTTL: accessTTL, SignInFrequency: signInFrequency, SPAClients: spaClients})
			srv, err := sim.ServeLoopback(addr)
			if err != nil {
				return control.Usagef("--addr %q: %v", addr, err)
			}
			defer srv.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "idp-sim listening on %s\nissuer (oidc): %s\nmicrosoft-style: %s/common/oauth2/v2.0/token\n", srv.Base, sim.Issuer(srv.Base), srv.Base)
			<-ctx.Done()
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
