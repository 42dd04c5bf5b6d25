package control

import (
	"context"

	"github.com/tokentray/tokentray/internal/accesslog"
)

// AccessLog returns up to limit tokens the keeper handed out (0: all it
// keeps), newest first, of account ("" for every account).
func (c *Client) AccessLog(ctx context.Context, account string, limit int) ([]accesslog.Entry, error) {
	var es []accesslog.Entry
	return es, c.decode(ctx, Request{Op: OpAccessLog, Account: account, Limit: limit}, &es)
}
