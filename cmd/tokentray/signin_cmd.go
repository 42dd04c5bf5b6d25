package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
)

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
			return withService(cmd, g, func(ctx context.Context, svc control.Service) error {
				if !device && !noBrowser {
					fmt.Fprintln(errw, "Opening the browser to sign in (use --no-browser to print the URL instead)…")
				}
				res, err := svc.Login(ctx, args[0], control.LoginOptions{Device: device, NoBrowser: noBrowser, ClientSecret: secret,
					OnDevice: func(dc control.DeviceCode) { showDeviceCode(errw, dc) },
					OnPrint:  func(s string) { fmt.Fprintln(errw, s) }})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: signed in; access token valid until %s\n", args[0], res.Expiry.Local().Format("15:04:05"))
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
func showDeviceCode(w io.Writer, dc control.DeviceCode) {
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
			return withService(cmd, g, func(ctx context.Context, svc control.Service) error {
				if err := svc.Logout(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: signed out; its tokens are deleted\n", args[0])
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
		return "", control.Usagef("no %s on standard input; pipe it in, for example: tokentray import work --refresh-token-stdin < token.txt", what)
	}
	if strings.ContainsAny(line, " \t") {
		return "", control.Usagef("the %s on standard input contains spaces; give the token alone", what)
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
				return control.Usagef("import needs --refresh-token-stdin (tokens are never taken as arguments: they would show in the process list)")
			}
			rt, err := readSecretLine(cmd.InOrStdin(), "refresh token")
			if err != nil {
				return err
			}
			return withService(cmd, g, func(ctx context.Context, svc control.Service) error {
				res, err := svc.Import(ctx, args[0], rt)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: imported; the provider accepted the token (access token valid until %s)\n", args[0], res.Expiry.Local().Format("15:04:05"))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&fromStdin, "refresh-token-stdin", false, "read the refresh token from standard input")
	return cmd
}
