package control

import (
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokentray/tokentray/internal/wire"
)

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestDialAndRequestIsOneConnection: the handshake's connection carries the
// first request, so `tokentray token` through a keeper makes one
// connection; later requests make one each.
func TestDialAndRequestIsOneConnection(t *testing.T) {
	path := sockPath(t)
	var n atomic.Int64
	h := &recordingHandler{}
	start(t, path, h, func(s *Server) { s.ln = countingListener{s.ln, &n} })
	c := dial(t, path)
	if !c.Keeper.Reuse {
		t.Fatalf("handshake answer %+v; want Reuse", c.Keeper)
	}
	if _, err := c.Do(t.Context(), wire.Request{Op: wire.OpToken, Account: "work"}); err != nil {
		t.Fatalf("Do(token) = %v", err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("Dial and one token request made %d connections; want 1", got)
	}
	if _, err := c.Do(t.Context(), wire.Request{Op: wire.OpStatus}); err != nil {
		t.Fatalf("Do(status) = %v", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("after a second request: %d connections; want 2", got)
	}
	if got := h.requests(); len(got) != 2 || got[0].Op != wire.OpToken || got[1].Op != wire.OpStatus {
		t.Errorf("handler saw %+v; want token, status (the ping is the server's)", got)
	}
}

// TestRequestRefusedForOtherProtocol: without a handshake the request
// itself carries the version; a keeper of another version refuses it and
// the client's error names both versions and wraps ErrVersionMismatch.
func TestRequestRefusedForOtherProtocol(t *testing.T) {
	refusal := `{"ok":false,"code":2,"error":"control protocol version mismatch: this client is tokentray dev (control protocol 2), the running keeper is tokentray v9.0 (control protocol 3); quit the keeper (tokentray quit) and start the version you want, or use the matching client"}` + "\n"
	path := scriptedServer(t, refusal)
	_, err := NewClient(path).Token(t.Context(), "work", TokenOptions{MinValid: wire.DefaultMinValid})
	var re *wire.ResponseError
	if !errors.Is(err, wire.ErrVersionMismatch) || !errors.As(err, &re) || re.Code != wire.CodeUsage ||
		!strings.Contains(err.Error(), "this client is tokentray dev (control protocol 2), the running keeper is tokentray v9.0 (control protocol 3)") {
		t.Errorf("Token from a keeper of protocol 3 = %v; want ErrVersionMismatch (code 2) naming both versions", err)
	}
}
