//go:build windows

package control

import (
	"context"
	"net"
	"time"
)

// awaitHangup returns when the client on c has gone (or its read fails
// because the server stops). A pipe client cannot half-close: any read
// returning means it is gone.
func awaitHangup(_ context.Context, c net.Conn, _ func()) {
	var b [1]byte
	c.SetReadDeadline(time.Time{})
	c.Read(b[:])
}
