//go:build windows

package control

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// pipeListener accepts connections on a named pipe. It creates the pipe
// instances itself (CreateNamedPipe, ConnectNamedPipe) and hands connected
// ones to go-winio for the I/O with deadlines. go-winio's own ListenPipe is
// not used: it keeps a first instance opened without read or write access,
// which Windows keeps disconnected but Wine lets clients connect to, so
// under Wine every client hung on an instance nobody served.
//
// An instance waits for the next client at all times (the next one is
// created before a connected one is handed out), so the pipe name never
// vanishes while the listener is open.
type pipeListener struct {
	path    string
	sd      *windows.SECURITY_DESCRIPTOR
	closeEv windows.Handle // set by Close: ends a pending ConnectNamedPipe

	acceptMu sync.Mutex // one Accept at a time; Close waits for it

	mu      sync.Mutex
	pending windows.Handle // the instance waiting for a client; 0 if none
	closed  bool
}

// listenPipe creates the first instance of the pipe path with the security
// descriptor sddl. It fails (ERROR_ACCESS_DENIED) when the pipe exists.
func listenPipe(path, sddl string) (*pipeListener, error) {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, fmt.Errorf("security descriptor %s: %w", sddl, err)
	}
	l := &pipeListener{path: path, sd: sd}
	h, err := l.newInstance(true)
	if err != nil {
		return nil, err
	}
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		windows.CloseHandle(h)
		return nil, fmt.Errorf("create event: %w", err)
	}
	l.pending, l.closeEv = h, ev
	return l, nil
}

// newInstance creates one server instance of the pipe: byte mode,
// overlapped, remote clients rejected; the first one must be the first
// instance of the name at all (FILE_FLAG_FIRST_PIPE_INSTANCE).
func (l *pipeListener) newInstance(first bool) (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString(l.path)
	if err != nil {
		return 0, err
	}
	flags := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		flags |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: l.sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	h, err := windows.CreateNamedPipe(name, flags,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		windows.PIPE_UNLIMITED_INSTANCES, pipeBuffer, pipeBuffer, 0, sa)
	runtime.KeepAlive(l.sd)
	if err != nil {
		return 0, &net.OpError{Op: "listen", Net: "pipe", Addr: pipeAddr(l.path), Err: err}
	}
	return h, nil
}

// Accept waits for a client and returns its connection.
func (l *pipeListener) Accept() (net.Conn, error) {
	l.acceptMu.Lock()
	defer l.acceptMu.Unlock()
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, net.ErrClosed
		}
		if l.pending == 0 { // creating it after the last accept failed
			h, err := l.newInstance(false)
			if err != nil {
				l.mu.Unlock()
				return nil, err
			}
			l.pending = h
		}
		h := l.pending
		l.mu.Unlock()

		err := l.connect(h)
		if errors.Is(err, windows.ERROR_NO_DATA) { // the client came and went
			windows.DisconnectNamedPipe(h)
			continue
		}
		l.mu.Lock()
		if err != nil {
			if l.closed {
				err = net.ErrClosed
			}
			l.pending = 0
			l.mu.Unlock()
			windows.CloseHandle(h)
			return nil, err
		}
		// The next instance first, so that the name never vanishes.
		next, nerr := l.newInstance(false)
		if nerr != nil {
			next = 0 // retried by the next Accept
		}
		l.pending = next
		l.mu.Unlock()

		f, err := winio.NewOpenFile(h)
		if err != nil {
			windows.CloseHandle(h)
			return nil, &net.OpError{Op: "accept", Net: "pipe", Addr: pipeAddr(l.path), Err: err}
		}
		return &pipeConn{ReadWriteCloser: f, f: f.(pipeFile), path: l.path}, nil
	}
}

// connect waits until a client connects to instance h or Close is called.
func (l *pipeListener) connect(h windows.Handle) error {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return fmt.Errorf("create event: %w", err)
	}
	defer windows.CloseHandle(ev)
	ov := &windows.Overlapped{HEvent: ev}
	defer runtime.KeepAlive(ov)
	switch err := windows.ConnectNamedPipe(h, ov); {
	case err == nil, errors.Is(err, windows.ERROR_PIPE_CONNECTED):
		return nil
	case !errors.Is(err, windows.ERROR_IO_PENDING):
		return &net.OpError{Op: "accept", Net: "pipe", Addr: pipeAddr(l.path), Err: err}
	}
	which, err := windows.WaitForMultipleObjects([]windows.Handle{ev, l.closeEv}, false, windows.INFINITE)
	if err != nil {
		windows.CancelIoEx(h, ov)
	} else if which == windows.WAIT_OBJECT_0+1 {
		windows.CancelIoEx(h, ov)
	}
	var n uint32
	if err := windows.GetOverlappedResult(h, ov, &n, true); err != nil {
		return &net.OpError{Op: "accept", Net: "pipe", Addr: pipeAddr(l.path), Err: err}
	}
	return nil
}

// Close stops the listener: a pending Accept returns net.ErrClosed, the
// waiting instance is closed (connections already accepted stay open).
func (l *pipeListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	windows.SetEvent(l.closeEv)
	l.mu.Unlock()

	l.acceptMu.Lock() // Accept has returned
	defer l.acceptMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending != 0 {
		windows.CloseHandle(l.pending)
		l.pending = 0
	}
	windows.CloseHandle(l.closeEv)
	return nil
}

// Addr returns the pipe name.
func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.path) }

// pipeAddr is a pipe name as a net.Addr.
type pipeAddr string

func (pipeAddr) Network() string  { return "pipe" }
func (a pipeAddr) String() string { return string(a) }

// pipeFile is what go-winio's open file offers beyond io.ReadWriteCloser.
type pipeFile interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	Fd() uintptr
}

// pipeConn is the server side of one connected pipe instance.
type pipeConn struct {
	io.ReadWriteCloser
	f    pipeFile
	path string
}

func (c *pipeConn) LocalAddr() net.Addr                { return pipeAddr(c.path) }
func (c *pipeConn) RemoteAddr() net.Addr               { return pipeAddr(c.path) }
func (c *pipeConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }
func (c *pipeConn) Fd() uintptr                        { return c.f.Fd() }

func (c *pipeConn) SetDeadline(t time.Time) error {
	return errors.Join(c.f.SetReadDeadline(t), c.f.SetWriteDeadline(t))
}
