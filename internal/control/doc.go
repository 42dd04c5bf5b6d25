// Package control owns tokentray's local control channel: a unix socket
// (also on Windows 10+) through which CLI commands reach the running
// instance, the small request/response protocol spoken over it, and
// single-instance detection (a live socket means "already running"; a
// socket left by a crashed instance is replaced).
//
// Protocol: one request per connection. The client sends one JSON Request
// terminated by a newline (at most MaxRequestSize bytes); the server sends
// one JSON Response terminated by a newline and closes the connection. The
// server must receive the request within DefaultTimeout of accepting; the
// handler then has Request.Timeout (DefaultTimeout if 0, at most
// MaxTimeout), and the response must be written within DefaultTimeout.
// Unknown ops and malformed requests get a Response with Code CodeUsage.
// There are no token operations: tokens are read from the vault by the CLI
// process itself, so no secret ever crosses the socket, and the server never
// logs request or response bodies (only op, outcome and duration).
//
// Security: the socket directory is created 0700 and must be owned by the
// user, the socket is 0600. On Linux the server also checks the peer's uid
// with SO_PEERCRED and refuses other users. On macOS and the BSDs it relies
// on the directory permissions alone; on Windows on the per-user ACL of
// %LocalAppData% (Unix modes are not applied there).
//
// Typical use (cmd/):
//
//	path, _ := control.DefaultPath()
//	srv, err := control.Listen(path, handler)
//	if errors.Is(err, control.ErrRunning) { // second launch: hand over
//		c, err := control.Dial(path)
//		... c.Show(ctx); exit 0
//	}
//	go srv.Serve(ctx) // returns after ctx is cancelled; socket removed
//
// and in the CLI:
//
//	c, err := control.Dial(path)
//	if errors.Is(err, control.ErrNotRunning) { ... read from disk ... }
//	data, err := c.Status(ctx, "")
package control
