// Package control owns tokentray's local control channel: the socket through
// which the window and CLI commands reach the running keeper (a unix socket;
// on Windows a per-user named pipe), the versioned protocol spoken over it,
// and single-instance detection (a live socket or pipe means "already
// running"; a socket left by a crashed keeper is replaced, a pipe vanishes
// with its keeper).
//
// Protocol (version wire.ProtocolVersion; the format, limits and timeouts
// live in internal/wire): one request per connection. The client sends one
// JSON Request terminated by a newline (at most wire.MaxRequestSize bytes)
// carrying its protocol version; the server refuses another version with a
// message naming both (a client error wrapping ErrVersionMismatch), and
// answers OpPing (the handshake, Dial) with its own, so an older or newer
// client can say which side to update. After a ping the same connection
// takes the request the handshake was for (PingInfo.Reuse), so Dial and one
// call make one connection. The server then sends one JSON Response line and
// closes the connection; for the streaming ops (OpSubscribe, OpLogin) event
// lines (Response with Event set: snapshots, show requests, device codes)
// come first. The request must arrive within DefaultTimeout of accepting;
// the handler then has Request.Timeout (DefaultTimeout if 0, at most
// MaxTimeout, MaxLoginTimeout for a login), a subscription lasts until
// either side closes, and every line must be taken by the client within
// DefaultTimeout, so a slow or silent client is dropped instead of waited
// for. At most wire.MaxConns connections and wire.MaxStreams streams are
// served at once; up to wire.MaxQueued more connections wait for a slot (a
// burst of token requests during a refresh), beyond that they are refused
// with a Busy response that the client retries with backoff; a stream over
// its limit is refused. A client that hangs up cancels its handler's
// context; one that only shuts its write side after the request (`nc -N`)
// is answered.
//
// Trust boundary: tokens cross this socket (OpToken answers with an access
// token; OpImport and OpLogin carry a refresh token or client secret), so
// only processes of the same user may connect, the same boundary as
// ssh-agent and oidc-agent: the socket directory is created 0700 and must be
// owned by the user and writable by nobody else, the socket is 0600, and the
// server also checks the peer's uid (SO_PEERCRED on Linux, LOCAL_PEERCRED
// on macOS). Every client (Client, and the front's fast path) checks the
// other way before it sends a byte: the socket's directory is a real directory owned by the user and
// writable by nobody else, and the server runs as the user
// (sockpath.CheckDir, sockpath.CheckServer); a mismatch is an error wrapping
// sockpath.ErrForeign naming the path and the owner. On the BSDs both sides
// rely on the directory permissions. On Windows the channel is the named
// pipe \\.\pipe\tokentray-<SID> (DefaultPath) with a protected DACL
// admitting only the user's SID (SDDL D:P(A;;GA;;;<SID>)) and remote
// clients rejected; the server checks that the client process runs as the
// user, and the client that the server process does (so a pipe name taken
// first by another user's process gets nothing). The server and client
// work on net.Listener and net.Conn; the per-OS files endpoint_unix.go and
// endpoint_windows.go listen and dial.
// Neither side ever logs a request or response body: Request and Token
// format redacted, and the server logs only op, outcome and duration.
//
// Typical use (cmd/):
//
//	path, _ := control.DefaultPath()
//	srv, err := control.Listen(path, control.NewHandler(service, front))
//	if errors.Is(err, control.ErrRunning) { // second launch: hand over
//		c, err := control.Dial(path)
//		... c.Show(ctx, control.TabAccounts, ""); exit 0
//	}
//	go srv.Serve(ctx) // returns after ctx is cancelled; socket removed
//
// and in a client:
//
//	c, err := control.Dial(path)
//	if errors.Is(err, control.ErrNotRunning) { ... work in-process ... }
//	tok, err := c.Token(ctx, "work", control.TokenOptions{MinValid: wire.DefaultMinValid})
//
// Every client talks to the same interface, Service: *Client over the
// socket, the keeper's own implementation (internal/keeper) in-process.
package control
