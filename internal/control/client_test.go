package control

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tokentray/tokentray/internal/wire"
)

// scriptedServer accepts connections on a raw socket and answers each with
// reply (after reading the request line), closing without a word when
// reply is empty. It is not a control.Server: it plays a broken peer.
func scriptedServer(t *testing.T, reply string) string {
	t.Helper()
	path := sockPath(t)
	os.MkdirAll(filepath.Dir(path), 0o700)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			readLine(c, wire.MaxRequestSize)
			c.Write([]byte(reply))
			c.Close()
		}
	})
	return path
}

func TestClientBrokenServers(t *testing.T) {
	tests := []struct {
		name, reply, wantErr string
	}{
		{"garbage", "garbage\n", "malformed response: invalid JSON"},
		{"wrong type", `{"ok":"yes"}` + "\n", `malformed response: field "ok" must be bool`},
		{"hangs up", "", "no response"},
		{"ping data not an object", `{"ok":true,"data":[1]}` + "\n", "ping: malformed data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := scriptedServer(t, tt.reply)
			_, err := Dial(path)
			if err == nil || errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Dial to a server that answers %q = %v; want an error containing %q, not ErrNotRunning", tt.reply, err, tt.wantErr)
			}
		})
	}
}

func TestHandOverToRunningInstance(t *testing.T) {
	path := sockPath(t)
	h := &recordingHandler{}
	sv := start(t, path, h, nil)
	if sv.Path() != path {
		t.Errorf("Path() = %q; want %q", sv.Path(), path)
	}

	// What a second launch does.
	_, err := Listen(path, &recordingHandler{})
	if !errors.Is(err, ErrRunning) {
		t.Fatalf("Listen = %v; want ErrRunning", err)
	}
	if err := dial(t, path).Show(t.Context(), "", ""); err != nil {
		t.Fatalf("Show() = %v", err)
	}
	if got := h.requests(); len(got) != 1 || got[0].Op != wire.OpShow {
		t.Errorf("running instance saw %+v; want one show", got)
	}
}
