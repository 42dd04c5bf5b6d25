package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/state"
)

// accessLogPath is the access log's file in the state directory.
func accessLogPath(stateDir string) string { return filepath.Join(stateDir, "access.jsonl") }

// openAccessLog opens the keeper's access log; a log that cannot be read
// back starts empty (and says so) rather than stopping the keeper.
func openAccessLog(c *core) *accesslog.Log {
	l, err := accesslog.Open(accessLogPath(c.stateDir))
	if err != nil {
		c.log.Warn("access log: earlier entries not read; starting an empty one", "error", err)
		l = accesslog.New(accessLogPath(c.stateDir))
	}
	return l
}

// recordToken notes that the keeper handed a token of account to the
// process on the other end of the request (from the socket's peer
// credentials; pid 0 where the OS does not tell).
// Token requests name no scopes yet: the entry's Scopes stay empty (the
// account's own).
func (k *keeper) recordToken(ctx context.Context, account string, req control.Request) {
	p, _ := control.PeerFrom(ctx)
	e := accesslog.Entry{Account: account, Scopes: askedScopes(req.Scopes), PID: p.PID, Exe: p.Exe, ParentPID: p.ParentPID, ParentExe: p.ParentExe, Client: req.Client, Via: accesslog.ViaKeeper}
	if err := k.access.Record(e); err != nil {
		k.c.log.Warn("access log: entry kept in memory only", "error", err)
	}
}

// recordInProcess notes a token `tokentray token` obtained without a
// keeper: the requester is this process, as a keeper would see it on its
// socket, and its parent the program that ran the command (this process
// only carries the token to it).
func recordInProcess(c *core, account string, scopes []string) {
	exe, _ := os.Executable()
	pp := os.Getppid()
	e := accesslog.Entry{Account: account, Scopes: askedScopes(scopes), PID: os.Getpid(), Exe: exe, ParentPID: pp, ParentExe: control.ProcessExe(pp), Client: version, Via: accesslog.ViaInProcess}
	if err := accesslog.Append(accessLogPath(c.stateDir), e); err != nil {
		c.log.Warn("access log: entry not written", "error", err)
	}
}

// accessLog answers OpAccessLog.
func (k *keeper) accessLog(req control.Request) control.Response {
	if req.Account != "" {
		if _, ok := k.c.engine.Snapshot().Account(req.Account); !ok {
			if len(k.access.Recent(req.Account, 1)) == 0 {
				return failure(unknownAccount(k.c.engine.Snapshot(), req.Account))
			}
		}
	}
	return control.Result(k.access.Recent(req.Account, req.Limit))
}

// askedScopes is the scope set a token request named, normalised (sorted,
// no duplicates); nil for the account's own scopes (and for a set the
// engine refused, which never reaches the log).
func askedScopes(scopes []string) []string {
	n, err := state.NormalizeScopes(scopes)
	if err != nil || len(n) == 0 {
		return nil
	}
	return n
}
