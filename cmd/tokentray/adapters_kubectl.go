package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/credential"
)

func newKubectlCredentialCmd(g *globals) *cobra.Command {
	var apiVersion string
	var scopes []string
	var minValid time.Duration
	cmd := &cobra.Command{
		Use:   "kubectl-credential NAME [--scope S]",
		Short: "Print an ExecCredential with the account's access token, for a kubeconfig exec entry",
		Long: `Print a Kubernetes ExecCredential holding an access token of account NAME
and its expirationTimestamp, for a kubeconfig users[].user.exec entry:

  users:
  - name: work
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1   # v1beta1 for kubectl < 1.22
        command: tokentray
        args: [kubectl-credential, work]
        interactiveMode: Never

kubectl says which apiVersion it wants in KUBERNETES_EXEC_INFO; --api-version
(v1 or v1beta1) is for running the command by hand. kubectl reuses the
credential until expirationTimestamp, which is the token's expiry less one
minute; then it runs the command again. With a keeper running the token
comes from its memory; without one, one process refreshes at a time.

` + adapterHelp + `

` + exitCodesHelp,
		Args: nameArg("kubectl-credential"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkMinValid(minValid); err != nil {
				return err
			}
			version, err := execVersion(apiVersion, cmd.Flags().Changed("api-version"))
			if err != nil {
				return err
			}
			tok, err := adapterToken(cmd, g, args[0], scopes, minValid)
			if err != nil {
				return err
			}
			out, err := credential.ExecCredential(version, tok.AccessToken, credential.ExecExpiry(tok.Expiry, time.Now()))
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&apiVersion, "api-version", "v1", "ExecCredential version when kubectl does not say (KUBERNETES_EXEC_INFO): v1 or v1beta1")
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "a per-resource scope for the token (repeatable); default: the account's scopes")
	registerMinValid(cmd, &minValid)
	return cmd
}

// execVersion picks the ExecCredential apiVersion: the one kubectl asks for
// in KUBERNETES_EXEC_INFO, else --api-version. An explicit --api-version
// that disagrees with kubectl's is an error (kubectl would refuse the
// answer with a less helpful message).
func execVersion(flag string, flagSet bool) (string, error) {
	fromFlag, err := credential.ExecAPIVersion(flag)
	if err != nil {
		return "", control.Usagef("--api-version %q: want v1 or v1beta1", flag)
	}
	info, ok := os.LookupEnv("KUBERNETES_EXEC_INFO")
	if !ok || info == "" {
		return fromFlag, nil
	}
	ei, err := credential.ParseExecInfo(info)
	if err != nil {
		return "", control.Usagef("%v", err)
	}
	if flagSet && ei.APIVersion != fromFlag {
		return "", control.Usagef("--api-version %s, but kubectl asks for %s (KUBERNETES_EXEC_INFO); drop --api-version or make the kubeconfig's exec apiVersion match", flag, ei.APIVersion)
	}
	return ei.APIVersion, nil
}
