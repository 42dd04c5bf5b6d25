//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/wire"
)

// busyOnceKeeper plays a keeper that refuses its first connection as busy
// (every slot taken) and then answers ping and token like a keeper.
func busyOnceKeeper(t *testing.T, path string) (ops func() []string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			line, _ := bufio.NewReader(c).ReadBytes('\n')
			var req wire.Request
			json.Unmarshal(line, &req)
			mu.Lock()
			seen = append(seen, req.Op)
			mu.Unlock()
			var resp wire.Response
			switch {
			case n == 0:
				resp = wire.Response{Error: "the keeper is busy: 1088 connections are open or waiting (limit); try again", Code: wire.CodeFailure, Busy: true}
			case req.Op == wire.OpPing:
				resp = wire.Result(wire.PingInfo{PID: 1, Proto: wire.ProtocolVersion, Version: control.Version})
			case req.Op == wire.OpToken:
				resp = wire.Result(wire.Token{AccessToken: "tok-after-busy", Type: "Bearer", Expiry: time.Now().Add(time.Hour), Lifetime: time.Hour})
			default:
				resp = wire.Failure(wire.CodeUsage, nil)
			}
			b, _ := json.Marshal(resp)
			c.Write(append(b, '\n'))
			c.Close()
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestFrontHandsBusyToTheFullProgram: a keeper too busy to take the
// front's connection does not make `tokentray token` fail: the full
// program takes over and gets the token.
func TestFrontHandsBusyToTheFullProgram(t *testing.T) {
	base, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	path := filepath.Join(base, "control.sock")
	ops := busyOnceKeeper(t, path)
	h := newHome(t)
	r := h.run(t, front, []string{"TOKENTRAY_CONTROL_SOCKET=" + path}, "token", "work", "--min-valid", "1m")
	if r.code != 0 || r.stdout != "tok-after-busy\n" {
		t.Errorf("front token with a busy keeper = %+v; want the token from the full program", r)
	}
	if got := strings.Join(ops(), " "); !strings.HasPrefix(got, "token ") || !strings.HasSuffix(got, " token") {
		t.Errorf("keeper saw ops %q; want the front's token, then the full program's", got)
	}
}
