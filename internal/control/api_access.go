package control

import (
	"context"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/wire"
)

// AccessLog returns up to limit tokens the keeper handed out (0: all it
// keeps), newest first, of account ("" for every account).
func (c *Client) AccessLog(ctx context.Context, account string, limit int) ([]accesslog.Entry, error) {
	var es []accesslog.Entry
	return es, c.decode(ctx, wire.Request{Op: wire.OpAccessLog, Account: account, Limit: limit}, &es)
}

// AzureSDKEnv is the answer to OpAzureSDKEnv: the App Service
// managed-identity variables of an account's endpoint. Header is a secret.
type AzureSDKEnv struct {
	Endpoint string `json:"identity_endpoint"`
	Header   string `json:"identity_header"`
}

// String never prints the secret.
func (e AzureSDKEnv) String() string {
	return "AzureSDKEnv{endpoint=" + e.Endpoint + " header=[redacted]}"
}

// GoString never prints the secret.
func (e AzureSDKEnv) GoString() string { return e.String() }

// AzureSDKEnv returns the exports of account's Azure SDK endpoint ("": the
// only account) from the keeper that serves it.
func (c *Client) AzureSDKEnv(ctx context.Context, account string) (AzureSDKEnv, error) {
	var e AzureSDKEnv
	return e, c.decode(ctx, wire.Request{Op: wire.OpAzureSDKEnv, Account: account}, &e)
}
