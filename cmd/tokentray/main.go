// Command tokentray keeps OAuth sign-ins (Microsoft 365 / Teams / Graph and
// any OpenID Connect provider) alive from the desktop tray, and gives scripts
// a fresh access token with `tokentray token`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	_ "github.com/tokentray/tokentray/internal/quietlocale" // before Fyne initialises
	"github.com/tokentray/tokentray/internal/wire"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, documented in --help and README.md.
const (
	exitOK          = wire.CodeOK
	exitFailure     = wire.CodeFailure
	exitUsage       = wire.CodeUsage // bad flags, bad arguments or invalid configuration
	exitNeedsSignIn = wire.CodeNeedsSignIn
)

const exitCodesHelp = `Exit codes:
  0  ok
  1  failure (network, keychain, provider trouble)
  2  usage error or invalid configuration
  3  the account needs sign-in (run: tokentray login NAME)`

// maxArgs accepts at most n positional arguments; more is a usage error
// (exit 2) naming the command.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= n {
			return nil
		}
		if !cmd.HasParent() && len(cmd.Commands()) > 0 {
			return control.Usagef("unknown command %q; see tokentray --help", args[0])
		}
		if n == 0 {
			return control.Usagef("%s takes no arguments (got %q)", cmd.CommandPath(), args)
		}
		return control.Usagef("%s takes at most %d argument(s) (got %d)", cmd.CommandPath(), n, len(args))
	}
}

// codeOf maps an error to the process exit code: the code it carries (a
// usage error, a keeper's answer, an account that needs sign-in), 2 for
// invalid settings, else 1.
func codeOf(err error) int {
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		return exitUsage
	}
	return control.CodeOf(err)
}

// globals are the persistent flags every command shares.
type globals struct {
	configPath string
	set        []string // --set key=value overrides
}

func main() {
	control.Version = version
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the CLI with args and returns the exit code. SIGINT and
// SIGTERM cancel the command's context: a refresh already sent is still
// read and saved (the engine bounds that), then the command ends; a second
// signal ends the process at once.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // restore the default: a second signal kills
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "tokentray: "+err.Error())
	}
	return codeOf(err)
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "tokentray",
		Short: "Keep Microsoft / OpenID Connect sign-ins alive from the tray",
		Long: `tokentray keeps each account's OAuth tokens in the OS keychain and refreshes
them on a fixed interval (1–24 h) with a forced refresh_token grant, earlier
when an access token is about to expire. Run without a command to start the
keeper: the tray icon and the one process that refreshes; the other commands
ask it when it runs.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTray(cmd, g, trayOptions{})
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &control.CodedError{Code: exitUsage, Err: err}
	})
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "settings file (default: "+defaultConfigHint()+")")
	root.PersistentFlags().StringArrayVar(&g.set, "set", nil, "override a setting for this run, KEY=VALUE (repeatable)")
	root.Version = version
	root.SetVersionTemplate("tokentray {{.Version}}\n")

	root.AddCommand(
		newVersionCmd(),
		newConfigCmd(g),
	)
	addCommands(root, g)
	return root
}

func defaultConfigHint() string {
	p, err := config.DefaultPath()
	if err != nil {
		return "config.yaml in the user config dir"
	}
	return p
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "tokentray %s\n", version)
			return nil
		},
	}
}

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
		newLogCmd(g),
		newHooksHelp(),
	)
}
