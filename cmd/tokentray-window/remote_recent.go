package main

import (
	"context"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/ui/window"
)

// RecentUse asks the keeper for the tokens it handed out (its access log).
func (r *remote) RecentUse(ctx context.Context, limit int) ([]window.Use, error) {
	var us []window.Use
	err := r.do(func(c *control.Client) error {
		es, err := c.AccessLog(ctx, "", limit)
		for _, e := range es {
			us = append(us, window.Use{At: e.At, Account: e.Account, Scopes: e.Scopes, PID: e.PID, Exe: e.Exe, ParentPID: e.ParentPID, ParentExe: e.ParentExe, ParentScript: e.ParentScript})
		}
		return err
	})
	return us, err
}
