package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

func addCommands(root *cobra.Command, g *globals) {
	root.AddCommand(
		newTokenCmd(g),
		newEnvCmd(g),
		newRefreshCmd(g),
		newStatusCmd(g),
		newLoginCmd(g),
		newLogoutCmd(g),
		newImportCmd(g),
		newAccountCmd(g),
		newRunCmd(g),
		newQuitCmd(),
		newRestartCmd(),
		newDemoCmd(g),
		newIdpSimCmd(),
		newDoctorCmd(g),
		newAutostartCmd(g),
		newKubectlCredentialCmd(g), // adapters_kubectl.go
		newGitCredentialCmd(g),     // adapters_git.go
		newLogCmd(),
		newHooksHelp(),
	)
}

// withCore loads settings, builds the core and runs fn with it.
func withCore(cmd *cobra.Command, g *globals, o coreOptions, fn func(ctx context.Context, c *core) error) error {
	l, err := loadSettings(g, false)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	// A command a user types may raise a keychain unlock prompt; token
	// and env (scripts), the adapters (tools) and status (a look) never do:
	// they fail with "keychain locked" instead.
	if n := cmd.Name(); n != "token" && n != "env" && n != "status" && n != "list" && !adapterCommands[n] {
		ctx = vault.Interactive(ctx)
	}
	c, err := newCore(ctx, l, o)
	if err != nil {
		return err
	}
	defer c.Close()
	err = fn(ctx, c)
	return errors.Join(err, flushBeforeExit(c))
}

// flushTimeout bounds how long a command about to exit keeps trying to save
// a pair the provider rotated.
const flushTimeout = 15 * time.Second

// flushBeforeExit saves what the engine holds only in memory before the
// process exits. A rotated refresh token that still cannot be saved is a
// failure (exit 1) naming the account and what to do: the process is about
// to drop the only copy. It runs on a context of its own, so Ctrl-C of the
// command does not cut it short.
func flushBeforeExit(c *core) error {
	ctx, cancel := context.WithTimeout(vault.Interactive(context.Background()), flushTimeout)
	defer cancel()
	err := c.engine.Flush(ctx)
	if err == nil {
		return nil
	}
	if errors.Is(err, engine.ErrUnsaved) {
		return &exitError{code: exitFailure, err: err}
	}
	c.log.Warn("saving before exit", "error", err)
	return nil
}

// pickAccount returns the account named by args, or the only account.
func pickAccount(s config.Settings, args []string) (string, error) {
	if len(args) == 1 {
		if _, ok := s.Account(args[0]); !ok {
			return "", usageErr("no account named %q; configured accounts: %s", args[0], accountNames(s))
		}
		return args[0], nil
	}
	switch len(s.Accounts) {
	case 0:
		return "", usageErr("no account is configured; add one with: tokentray account add NAME --provider microsoft --client-id ID")
	case 1:
		return s.Accounts[0].Name, nil
	}
	return "", usageErr("several accounts are configured (%s); name one", accountNames(s))
}

// signInError gives an engine failure of an account that needs sign-in
// exit code 3 and the command that fixes it.
func signInError(name string, err error) error {
	if err == nil || !errors.Is(err, engine.ErrNeedsSignIn) {
		return err
	}
	msg := err.Error()
	if errors.Is(err, engine.ErrSignedOut) {
		msg = fmt.Sprintf("account %q is not signed in", name)
	}
	return &exitError{code: exitNeedsSignIn, err: fmt.Errorf("%s; run: tokentray login %s", msg, name)}
}

func newTokenCmd(g *globals) *cobra.Command {
	var f tokenFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "token [NAME]",
		Short: "Print a valid access token (refreshing first when it would expire within --min-valid)",
		Long: `Print a valid access token of the account and nothing else, for scripts:

  curl -H "Authorization: Bearer $(tokentray token work)" https://graph.microsoft.com/v1.0/me

The token is refreshed first when it would expire within --min-valid. With a
keeper running (tokentray, or tokentray run --headless) it answers from its
memory and is the only process that refreshes; without one, across all your
processes only one refreshes and the others wait and print the same token.
When the provider's tokens live shorter than --min-valid, a fresh token is
printed and at most one refresh happens per half lifetime (stderr says so).

Tokens for other resources come from the same sign-in:

  tokentray token work --resource https://vault.azure.net     # scope https://vault.azure.net/.default
  tokentray token work --scope api://my-api/access_as_user --scope api://my-api/Read

A Microsoft refresh token redeems tokens for every resource the user
consented to; another provider is asked for the narrower scope (RFC 6749 §6)
and its refusal is shown. The keeper caches up to 16 scope sets per account
in memory (never on disk; status lists them). A refusal for the resource
(no consent, unknown resource, bad scope) exits 1 and leaves the account as
it is. A provider that narrows the sign-in itself to the requested scope
(RFC 6749 §6 forbids it) is noticed at once: the account then asks for a new
sign-in and per-resource tokens stay off for it until tokentray restarts.

After a 401 with a claims challenge (Continuous Access Evaluation):

  tokentray token work --claims "$CLAIMS"    # the base64 claims="..." value

refreshes at once with those claims and prints the new token.

--json prints {"access_token", "token_type", "expires_on" (unix seconds),
"expires_at" (RFC 3339), "expires_in", "scope"}.

` + exitCodesHelp,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			tok, err := fetchToken(cmd, g, args, o)
			if err != nil {
				return err
			}
			if tok.ShorterThanAsked {
				fmt.Fprintf(cmd.ErrOrStderr(), "tokentray: the provider's access tokens last %s, less than --min-valid %s; this one is fresh (refreshed at most once per half lifetime)\n",
					tok.Lifetime.Round(time.Second), o.MinValid)
			}
			if jsonOut {
				return writeJSON(cmd, tokenJSON(tok))
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok.AccessToken)
			return err
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON with access_token, token_type, expires_on, expires_at, expires_in and scope")
	return cmd
}

func newRefreshCmd(g *globals) *cobra.Command {
	var all, jsonOut bool
	cmd := &cobra.Command{
		Use:   "refresh [NAME|--all]",
		Short: "Force a refresh now (through the running tokentray when there is one)",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all && len(args) > 0 {
				return usageErr("give an account NAME or --all, not both")
			}
			if kc, err := keeperClient(); kc != nil || err != nil {
				if err != nil {
					return err
				}
				account := ""
				if len(args) == 1 {
					account = args[0]
				}
				results, err := kc.RefreshAccounts(cmd.Context(), account, all || account == "")
				if jsonOut {
					if jerr := writeJSON(cmd, results); jerr != nil {
						return jerr
					}
				} else {
					for _, r := range results {
						fmt.Fprintln(cmd.OutOrStdout(), describeResult(r))
					}
				}
				return keeperErr(err)
			}
			return withCore(cmd, g, coreOptions{}, func(ctx context.Context, c *core) error {
				var names []string
				if !all {
					n, err := pickAccount(c.settings, args)
					if err != nil {
						return err
					}
					names = []string{n}
				}
				results, err := refreshMany(ctx, c, names, func(n string, res state.Result, err error) {
					switch {
					case jsonOut:
					case err != nil:
						fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", n, err)
					default:
						fmt.Fprintln(cmd.OutOrStdout(), describeResult(res))
					}
				})
				if jsonOut {
					if jerr := writeJSON(cmd, results); jerr != nil {
						return jerr
					}
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "refresh every account")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

// firstCoded returns nil for no errors, else an error whose exit code is the
// most specific among them.
func firstCoded(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, e := range errs {
		if codeOf(e) == exitNeedsSignIn {
			return &exitError{code: exitNeedsSignIn, err: errors.Join(errs...)}
		}
	}
	return errors.Join(errs...)
}

func describeResult(r state.Result) string {
	what := "provider returned the same access token"
	if r.Fresh {
		what = "new access token from provider"
	}
	if r.Skipped {
		what = "already fresh (refreshed by another process)"
	}
	s := fmt.Sprintf("%s: refreshed — %s, valid until %s", r.Account, what, r.Expiry.Local().Format("15:04:05"))
	if !r.Saved {
		s += " (NOT saved: storage failed; kept in memory and retrying)"
	}
	return s
}

func newStatusCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each account's state, last and next refresh, and the engine counters",
		Args:  maxArgs(0),
		Long:  statusLong,
		RunE: func(cmd *cobra.Command, args []string) error {
			if kc, err := keeperClient(); kc != nil || err != nil {
				if err != nil {
					return err
				}
				snap, err := kc.Snapshot(cmd.Context())
				if err != nil {
					return keeperErr(err)
				}
				return printStatus(cmd, snap, jsonOut, "running tokentray")
			}
			return withCore(cmd, g, coreOptions{}, func(ctx context.Context, c *core) error {
				c.engine.Load(ctx) // envelopes from the vault: expiry and identity
				return printStatus(cmd, c.engine.Snapshot(), jsonOut, "on disk (tokentray is not running)")
			})
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func printStatus(cmd *cobra.Command, s state.Snapshot, jsonOut bool, from string) error {
	if jsonOut {
		return writeJSON(cmd, s)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "# from %s\n", from)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tSTATE\tLAST REFRESH\tNEW TOKEN\tNEXT\tEXPIRES\tLAST ERROR")
	for _, a := range s.Accounts {
		errMsg := ""
		if a.LastError != nil {
			errMsg = a.LastError.Message
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, stateText(a), clock(a.LastSuccess), yesNo(a.Fresh, a.LastSuccess), clock(a.NextDue), clock(a.AccessExpiry), errMsg)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printRadar(out, s)
	printScoped(out, s)
	fails := []string{}
	for k, v := range s.Counters.RefreshFailedTotal {
		fails = append(fails, fmt.Sprintf("%s=%d", k, v))
	}
	fmt.Fprintf(out, "refresh_success_total=%d refresh_failed_total{%s} refresh_skipped_total=%d\n",
		s.Counters.RefreshSuccessTotal, strings.Join(fails, ","), s.Counters.RefreshSkippedTotal)
	return nil
}

func stateText(a state.AccountStatus) string {
	s := string(a.State)
	if a.State == state.BackingOff && !a.BackoffUntil.IsZero() {
		s += " until " + a.BackoffUntil.Local().Format("15:04:05")
	}
	if a.Storage.Degraded {
		s += " (not saved)"
	}
	return s
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	l := t.Local()
	if time.Since(l) < 20*time.Hour && time.Until(l) < 20*time.Hour {
		return l.Format("15:04:05")
	}
	return l.Format("2006-01-02 15:04")
}

func yesNo(b bool, when time.Time) string {
	if when.IsZero() {
		return "-"
	}
	if b {
		return "yes"
	}
	return "no"
}

func newLoginCmd(g *globals) *cobra.Command {
	var device, noBrowser, secretStdin bool
	cmd := &cobra.Command{
		Use:   "login NAME",
		Short: "Sign an account in (browser with PKCE, or --device code)",
		Args:  nameArg("login"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var secret string
			if secretStdin {
				s, err := readSecretLine(cmd.InOrStdin(), "client secret")
				if err != nil {
					return err
				}
				secret = s
			}
			errw := cmd.ErrOrStderr()
			if kc, err := keeperClient(); kc != nil || err != nil {
				if err != nil {
					return err
				}
				if !device && !noBrowser {
					fmt.Fprintln(errw, "Opening the browser to sign in (use --no-browser to print the URL instead)…")
				}
				res, err := kc.Login(cmd.Context(), args[0], control.LoginOptions{Device: device, NoBrowser: noBrowser, ClientSecret: secret,
					OnDevice: func(dc control.DeviceCode) {
						showDeviceCode(errw, oauth.DeviceCode{UserCode: dc.UserCode, VerificationURI: dc.VerificationURI, Message: dc.Message})
					},
					OnPrint: func(s string) { fmt.Fprintln(errw, s) }})
				if err != nil {
					return keeperErr(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: signed in; access token valid until %s\n", args[0], res.Expiry.Local().Format("15:04:05"))
				return nil
			}
			return withCore(cmd, g, coreOptions{}, func(ctx context.Context, c *core) error {
				name, err := pickAccount(c.settings, args)
				if err != nil {
					return err
				}
				if secret != "" {
					if err := c.engine.SetClientSecret(ctx, name, secret); err != nil {
						return err
					}
				}
				m := engine.SignInMethod{
					Device:  device,
					Browser: oauth.BrowserOptions{NoBrowser: noBrowser, Out: errw},
					Show:    func(dc oauth.DeviceCode) { showDeviceCode(errw, dc) },
				}
				if !device && !noBrowser {
					fmt.Fprintln(errw, "Opening the browser to sign in (use --no-browser to print the URL instead)…")
				}
				res, err := c.engine.SignIn(ctx, name, m)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: signed in; access token valid until %s\n", name, res.Expiry.Local().Format("15:04:05"))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&device, "device", false, "use the device code flow (sign in on another device)")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser")
	cmd.Flags().BoolVar(&secretStdin, "client-secret-stdin", false, "confidential client: read the client secret from standard input first")
	return cmd
}

// showDeviceCode tells the user where to enter the device code.
func showDeviceCode(w io.Writer, dc oauth.DeviceCode) {
	if dc.Message != "" {
		fmt.Fprintln(w, dc.Message)
		return
	}
	fmt.Fprintf(w, "To sign in, open %s and enter the code %s\n", dc.VerificationURI, dc.UserCode)
}

func newLogoutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logout NAME",
		Short: "Sign an account out: revoke where the provider allows, then delete its secrets",
		Args:  nameArg("logout"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kc, err := keeperClient(); kc != nil || err != nil {
				if err != nil {
					return err
				}
				if err := kc.Logout(cmd.Context(), args[0]); err != nil {
					return keeperErr(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: signed out; its tokens are deleted\n", args[0])
				return nil
			}
			return withCore(cmd, g, coreOptions{}, func(ctx context.Context, c *core) error {
				name, err := pickAccount(c.settings, args)
				if err != nil {
					return err
				}
				if err := c.engine.SignOut(ctx, name); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: signed out; its tokens are deleted\n", name)
				return nil
			})
		},
	}
}

// readSecretLine reads one secret from r: the first line, trimmed. It
// refuses an empty value and one with inner whitespace (a pasted sentence).
func readSecretLine(r io.Reader, what string) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, 64<<10), 64<<10)
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s from standard input: %w", what, err)
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return "", usageErr("no %s on standard input; pipe it in, for example: tokentray import work --refresh-token-stdin < token.txt", what)
	}
	if strings.ContainsAny(line, " \t") {
		return "", usageErr("the %s on standard input contains spaces; give the token alone", what)
	}
	return line, nil
}

func newImportCmd(g *globals) *cobra.Command {
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "import NAME --refresh-token-stdin",
		Short: "Adopt an existing refresh token (refreshes once to prove it works)",
		Args:  nameArg("import"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !fromStdin {
				return usageErr("import needs --refresh-token-stdin (tokens are never taken as arguments: they would show in the process list)")
			}
			rt, err := readSecretLine(cmd.InOrStdin(), "refresh token")
			if err != nil {
				return err
			}
			if kc, err := keeperClient(); kc != nil || err != nil {
				if err != nil {
					return err
				}
				res, err := kc.Import(cmd.Context(), args[0], rt)
				if err != nil {
					return keeperErr(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: imported; the provider accepted the token (access token valid until %s)\n", args[0], res.Expiry.Local().Format("15:04:05"))
				return nil
			}
			return withCore(cmd, g, coreOptions{}, func(ctx context.Context, c *core) error {
				name, err := pickAccount(c.settings, args)
				if err != nil {
					return err
				}
				res, err := c.engine.Import(ctx, name, rt)
				if err != nil {
					return importError(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: imported; the provider accepted the token (access token valid until %s)\n", name, res.Expiry.Local().Format("15:04:05"))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&fromStdin, "refresh-token-stdin", false, "read the refresh token from standard input")
	return cmd
}

func newQuitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "quit",
		Short: "Stop the running tokentray keeper (and its window)",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := controlPath()
			if err != nil {
				return err
			}
			c, err := control.Dial(path)
			if errors.Is(err, control.ErrNotRunning) {
				fmt.Fprintln(cmd.ErrOrStderr(), "tokentray is not running")
				return nil
			}
			if err != nil && !errors.Is(err, control.ErrVersionMismatch) {
				return err
			}
			if c == nil { // another version: quit is the way out, so ask anyway
				c = control.NewClient(path)
			}
			if err := c.Quit(cmd.Context()); err != nil {
				return keeperErr(err)
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "tokentray stopped")
			return nil
		},
	}
}

func newRestartCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "restart",
		Short: "Restart the running keeper, so saved settings apply (an open window reconnects)",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			kc, err := keeperClient()
			if err != nil {
				return err
			}
			if kc == nil {
				return &exitError{code: exitFailure, err: errors.New("tokentray is not running; start it with: tokentray")}
			}
			if err := kc.Restart(cmd.Context(), false); err != nil {
				return keeperErr(err)
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "tokentray is restarting")
			return nil
		},
	}
}

func newRunCmd(g *globals) *cobra.Command {
	var headless bool
	cmd := &cobra.Command{
		Use:   "run [--headless]",
		Short: "Run the keeper: with its tray icon, or with --headless without one (servers, WSL, SSH)",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !headless {
				return runTray(cmd, g, trayOptions{})
			}
			return runHeadless(cmd, g)
		},
	}
	cmd.Flags().BoolVar(&headless, "headless", false, "no GUI: keep tokens fresh until SIGINT/SIGTERM")
	return cmd
}

// runHeadless runs the engine until SIGINT or SIGTERM.
func runHeadless(cmd *cobra.Command, g *globals) error {
	return serveHeadless(cmd, false, func(ctx context.Context) (*core, func(), error) {
		l, err := loadSettings(g, true)
		if err != nil {
			return nil, nil, err
		}
		c, err := newCore(ctx, l, coreOptions{logTo: cmd.ErrOrStderr(), probe: true})
		if err != nil {
			return nil, nil, err
		}
		c.log.Info("tokentray running headless", "accounts", len(c.settings.Accounts), "storage", c.store.Kind())
		return c, c.Close, nil
	})
}

// serveHeadless claims the single instance, builds the core and serves it
// until SIGINT or SIGTERM (or a quit request on the control socket).
func serveHeadless(cmd *cobra.Command, demo bool, build func(ctx context.Context) (*core, func(), error)) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ignoreSIGPIPE()
	k := newKeeper(keeperHooks{quit: stop}, demo, false)
	srv, err := claimInstance(k, false)
	if errors.Is(err, errHandedOver) {
		fmt.Fprintln(cmd.ErrOrStderr(), "tokentray is already running")
		return nil
	}
	if err != nil {
		return err
	}
	c, cleanup, err := build(ctx)
	if err != nil {
		srv.Close()
		return err
	}
	defer cleanup()
	return serveCore(ctx, c, srv, k)
}
