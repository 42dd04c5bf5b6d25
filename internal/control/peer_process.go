package control

import (
	"context"
	"sync"
	"unicode/utf8"
)

// Peer is the process on the other end of a request, as the operating
// system reports it for the connection (never what the client says): its
// pid (0 where the OS does not tell) and executable path ("" when it
// cannot be read; cut at MaxExeLen bytes), and the same of its parent —
// for a `tokentray token` client, the program that ran it. When that
// parent is an interpreter, ParentScript is what it runs (ProcessScript:
// the script's path, or "-c" for an inline command).
type Peer struct {
	PID          int    `json:"pid,omitempty"`
	Exe          string `json:"exe,omitempty"`
	ParentPID    int    `json:"parent_pid,omitempty"`
	ParentExe    string `json:"parent_exe,omitempty"`
	ParentScript string `json:"parent_script,omitempty"`
}

// MaxExeLen bounds the executable and script paths of a Peer (they reach
// the access log, whose lines are bounded); a longer one is cut and ends
// in "…".
const MaxExeLen = 1024

// boundExe cuts exe to at most MaxExeLen bytes on a rune boundary.
func boundExe(exe string) string {
	const mark = "…"
	if len(exe) <= MaxExeLen {
		return exe
	}
	cut := MaxExeLen - len(mark)
	for cut > 0 && !utf8.RuneStart(exe[cut]) {
		cut--
	}
	return exe[:cut] + mark
}

// peerOf returns the Peer of process pid (0: none).
func peerOf(pid int) Peer {
	if pid <= 0 {
		return Peer{}
	}
	p := Peer{PID: pid, Exe: boundExe(ProcessExe(pid))}
	if pp := ParentPID(pid); pp > 0 {
		exe := ProcessExe(pp)
		p.ParentPID, p.ParentExe, p.ParentScript = pp, boundExe(exe), ProcessScript(pp, exe)
	}
	return p
}

type peerKey struct{}

// peerLookup resolves the peer once, on the first PeerFrom: most requests
// never ask, and a token request should not wait for /proc reads it may
// not need.
type peerLookup func() Peer

// PeerFrom returns the peer of the request whose handler got ctx; ok is
// false when the server did not learn it. Call it while the handler runs
// (the client is still connected and waiting, so its process is there to
// be read).
func PeerFrom(ctx context.Context) (p Peer, ok bool) {
	f, ok := ctx.Value(peerKey{}).(peerLookup)
	if !ok {
		return Peer{}, false
	}
	p = f()
	return p, p.PID > 0
}

// withPeer returns ctx carrying p.
func withPeer(ctx context.Context, p Peer) context.Context {
	return withPeerLookup(ctx, func() Peer { return p })
}

// withPeerLookup returns ctx whose PeerFrom calls lookup, once.
func withPeerLookup(ctx context.Context, lookup func() Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, peerLookup(sync.OnceValue(lookup)))
}
