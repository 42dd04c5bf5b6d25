package control

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/internal/wire"
)

// envPeerClient makes the test binary a client that asks OpStatus of the
// socket it names and prints the answer's data (TestPeerHelperClient).
const envPeerClient = "TOKENTRAY_TEST_PEER_CLIENT"

func TestPeerHelperClient(t *testing.T) {
	path := os.Getenv(envPeerClient)
	if path == "" {
		t.Skip("the client half of TestServerReportsPeerProcess")
	}
	data, err := NewClient(path).call(context.Background(), wire.Request{Op: wire.OpStatus})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s\n", data)
	os.Exit(0)
}

// TestServerReportsPeerProcess: the handler learns the pid and executable
// of the client process from the socket, not from the request.
func TestServerReportsPeerProcess(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		t.Skip("no peer process here")
	}
	path := sockPath(t)
	if runtime.GOOS == "windows" {
		path = `\\.\pipe\tokentray-test-peer-` + fmt.Sprint(os.Getpid())
	}
	start(t, path, HandlerFunc(func(ctx context.Context, req wire.Request) wire.Response {
		p, ok := PeerFrom(ctx)
		if !ok {
			return wire.Failure(wire.CodeFailure, fmt.Errorf("no peer"))
		}
		return wire.Result(p)
	}), nil)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestPeerHelperClient$")
	cmd.Env = append(os.Environ(), envPeerClient+"="+path)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("client process: %v\n%s", err, out.String())
	}
	var p Peer
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &p); err != nil {
		t.Fatalf("client printed %q: %v", out.String(), err)
	}
	if p.PID != cmd.Process.Pid {
		t.Errorf("peer pid = %d; want the client process %d", p.PID, cmd.Process.Pid)
	}
	if p.PID == os.Getpid() {
		t.Errorf("peer pid is the server's own")
	}
	if p.Exe != exe {
		t.Errorf("peer exe = %q; want %q", p.Exe, exe)
	}
	if p.ParentPID != os.Getpid() || p.ParentExe != exe {
		t.Errorf("peer's parent = %d %q; want this test process %d %q", p.ParentPID, p.ParentExe, os.Getpid(), exe)
	}
}

func TestPeerFromWithoutPeer(t *testing.T) {
	if p, ok := PeerFrom(context.Background()); ok {
		t.Errorf("PeerFrom(no peer) = %v, true; want false", p)
	}
	if _, ok := PeerFrom(withPeer(context.Background(), Peer{})); ok {
		t.Error("PeerFrom(pid 0) is ok; want false")
	}
}
