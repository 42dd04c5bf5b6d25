package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/tokentray/tokentray/internal/wire"
)

// Handler answers the requests of a Server. The server itself answers
// OpPing and refuses unknown ops, malformed requests and requests of another
// protocol version, so Handle sees only validated requests of this version.
//
// ctx ends at the request's Timeout (DefaultTimeout if none), when the
// client hangs up, or when the server stops. Handle may be called
// concurrently. A Response with OK false and Code 0 is sent with Code
// CodeFailure. For OpQuit, Handle should start the shutdown (e.g. cancel the
// context given to Serve) and return: the response is still written.
type Handler interface {
	Handle(ctx context.Context, req wire.Request) wire.Response
}

// StreamHandler is implemented by handlers that answer the streaming ops
// (OpSubscribe, OpLogin): they send events on s, then return the final
// Response. A handler without it refuses those ops.
type StreamHandler interface {
	HandleStream(ctx context.Context, req wire.Request, s *Stream) wire.Response
}

// Stream sends events to one client. Send is safe for concurrent use.
type Stream struct {
	mu      sync.Mutex
	c       net.Conn
	timeout time.Duration
	failed  error
}

// Send writes one event line with data v (JSON). It fails when the client
// does not take the line within the write timeout (a slow client is dropped,
// never waited for) or has gone; the handler should then return.
func (s *Stream) Send(event string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("control: encode %s event: %w", event, err)
	}
	line, err := encodeLine(wire.Response{OK: true, Event: event, Data: b})
	if err != nil {
		return err
	}
	if len(line) > wire.MaxResponseSize {
		return fmt.Errorf("control: %s event of %d bytes exceeds the limit %d", event, len(line), wire.MaxResponseSize)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return s.failed
	}
	s.c.SetWriteDeadline(time.Now().Add(s.timeout))
	if _, err := s.c.Write(line); err != nil {
		s.failed = fmt.Errorf("control: client stopped reading: %w", err)
		return s.failed
	}
	return nil
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req wire.Request) wire.Response

// Handle calls f(ctx, req).
func (f HandlerFunc) Handle(ctx context.Context, req wire.Request) wire.Response { return f(ctx, req) }

// Server is a listening control socket (a named pipe on Windows). Create it
// with Listen, run it with Serve, stop it by cancelling Serve's context or
// with Close.
type Server struct {
	path    string
	ln      net.Listener
	release func() error // gives path back once ln is closed (per OS)
	h       Handler

	// Tunables; tests shorten them. Set before Serve.
	readTimeout  time.Duration // accept → full request received
	writeTimeout time.Duration // handler done → response written
	wantUID      int           // peer uid required on Linux and macOS; <0 disables the check
	logger       *slog.Logger
	halfClosed   func() // called when a client half-closes after its request (tests)

	conns     chan struct{} // a token per connection being served; cap wire.MaxConns
	queue     chan struct{} // a token per connection waiting for a slot; cap wire.MaxQueued
	streams   chan struct{} // a token per stream; cap wire.MaxStreams
	queueWait time.Duration // how long a queued connection waits for a slot

	mu      sync.Mutex
	serving bool
	closing bool
	closed  chan struct{} // closed by Close
	done    chan struct{} // closed when the socket is gone
	doneErr error
}

// Listen takes over path for a new control server answering with h. If a
// live server answers there, it returns an error wrapping ErrRunning.
//
// On Unix path is a socket file: a socket file that nobody answers on is
// treated as left by a crashed instance and replaced, anything else at path
// is refused and left alone; the directory is created 0700 when missing, an
// existing one must be the user's and writable by nobody else (its mode is
// never changed); the socket is 0600; a lock file path+".lock" serializes concurrent starters and
// stoppers, so exactly one of them wins. On Windows path is a named pipe
// (\\.\pipe\NAME) whose security descriptor admits only this user's SID;
// creating its first instance is atomic, so exactly one starter wins, and a
// crashed keeper leaves nothing behind.
func Listen(path string, h Handler) (*Server, error) {
	if h == nil {
		return nil, errors.New("control: listen: nil handler")
	}
	ln, release, err := listenEndpoint(path)
	if err != nil {
		return nil, fmt.Errorf("control: listen %s: %w", path, err)
	}
	wantUID := -1
	if peerCheck {
		wantUID = os.Getuid()
	}
	return &Server{
		path:         path,
		ln:           ln,
		release:      release,
		h:            h,
		readTimeout:  wire.DefaultTimeout,
		writeTimeout: wire.DefaultTimeout,
		wantUID:      wantUID,
		logger:       slog.Default(),
		conns:        make(chan struct{}, wire.MaxConns),
		queue:        make(chan struct{}, wire.MaxQueued),
		queueWait:    wire.MaxTimeout,
		streams:      make(chan struct{}, wire.MaxStreams),
		closed:       make(chan struct{}),
		done:         make(chan struct{}),
	}, nil
}

// Path returns the socket path (the pipe name on Windows) the server
// listens on.
func (s *Server) Path() string { return s.path }

// Serve accepts connections until ctx is cancelled or Close is called, then
// waits for the connections in flight (their handlers see ctx cancelled),
// removes the socket file (a pipe vanishes with its listener) and returns
// nil. It returns nil at once if Close
// came first, and an error if the listener fails or Serve was already
// called. Serve owns every goroutine it starts.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.serving:
		s.mu.Unlock()
		return errors.New("control: serve called twice")
	case s.closing: // Close came first: nothing to serve
		s.mu.Unlock()
		return nil
	}
	s.serving = true
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { // unblocks Accept on stop
		select {
		case <-ctx.Done():
		case <-s.closed:
		}
		s.ln.Close()
	})

	var serveErr error
	var backoff time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.stopping(ctx) {
				break
			}
			if isResourceExhausted(err) { // too many open files: pause, then retry
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-ctx.Done():
				case <-s.closed:
				}
				t.Stop()
				continue
			}
			serveErr = fmt.Errorf("control: accept: %w", err)
			break
		}
		backoff = 0
		select {
		case s.conns <- struct{}{}:
			wg.Go(func() {
				defer func() { <-s.conns }()
				s.serveConn(ctx, c)
			})
			continue
		default:
		}
		select {
		case s.queue <- struct{}{}: // every slot taken: wait for one (a burst)
			wg.Go(func() {
				defer func() { <-s.queue }()
				if !s.awaitSlot(ctx, c) {
					return
				}
				defer func() { <-s.conns }()
				s.serveConn(ctx, c)
			})
		default: // the queue is full too: refuse without reading, off the accept loop
			wg.Go(func() {
				defer c.Close()
				s.write(c, busy(wire.MaxConns+cap(s.queue)))
			})
		}
	}
	cancel()
	wg.Wait()

	err := s.removeSocket()
	s.mu.Lock()
	s.doneErr = err
	s.mu.Unlock()
	close(s.done)
	return errors.Join(serveErr, err)
}

// awaitSlot waits until c may be served (true), at most queueWait; then,
// or when the server stops, it closes c (false), after a busy answer
// when the wait ran out.
func (s *Server) awaitSlot(ctx context.Context, c net.Conn) bool {
	t := time.NewTimer(s.queueWait)
	defer t.Stop()
	select {
	case s.conns <- struct{}{}:
		return true
	case <-t.C:
		s.write(c, busy(wire.MaxConns+cap(s.queue)))
	case <-ctx.Done():
	case <-s.closed:
	}
	c.Close()
	return false
}

// busy is the refusal of a connection the server has no room for; the
// client may send the request again (Response.Busy).
func busy(open int) wire.Response {
	return wire.Response{Error: fmt.Sprintf("the keeper is busy: %d connections are open or waiting (limit); try again", open), Code: wire.CodeFailure, Busy: true}
}

func (s *Server) stopping(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	case <-s.closed:
		return true
	default:
		return false
	}
}

// Close stops the server: no new connections, in-flight handlers see their
// context cancelled, and the socket file is removed before Close returns.
// It is safe to call more than once and together with Serve.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-s.done
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.doneErr
	}
	s.closing = true
	serving := s.serving
	close(s.closed)
	s.mu.Unlock()

	if serving {
		<-s.done
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.doneErr
	}
	s.ln.Close()
	err := s.removeSocket()
	s.mu.Lock()
	s.doneErr = err
	s.mu.Unlock()
	close(s.done)
	return err
}

// removeSocket closes the listener and gives the path back (on Unix: the
// socket file is removed if it is still ours).
func (s *Server) removeSocket() error {
	s.ln.Close()
	return s.release()
}

// serveConn answers one request on c and closes it. A ping (the
// handshake) may be followed by the request it was for on the same
// connection (PingInfo.Reuse).
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	if !s.peerAllowed(c) {
		s.write(c, wire.Response{Error: "permission denied", Code: wire.CodeFailure})
		return
	}
	req, ok := s.readRequest(ctx, c)
	if !ok {
		return
	}
	if req.Op == wire.OpPing {
		s.write(c, wire.Result(wire.PingInfo{PID: os.Getpid(), Proto: wire.ProtocolVersion, Version: Version, Reuse: true}))
		if req, ok = s.readRequest(ctx, c); !ok { // EOF: a plain ping
			return
		}
	}
	// The handler learns who asks from the socket (PeerFrom), never from
	// the request.
	ctx = withPeerLookup(ctx, func() Peer { return peerProcess(c) })
	// A client that hangs up ends its handler's context; one that only
	// shut its write side (half-close) still gets its answer (awaitHangup).
	ctx, hangup := context.WithCancel(ctx)
	defer hangup()
	go func() {
		awaitHangup(ctx, c, s.halfClosed)
		hangup()
	}()
	if wire.Streaming(req.Op) {
		s.write(c, s.stream(ctx, c, req))
		return
	}
	s.write(c, s.answer(ctx, req))
}

// readRequest reads and checks one request on c within the read timeout;
// ok false when there is none to answer (a refusal has been written, or the
// client was silent or went away, or the server is stopping).
func (s *Server) readRequest(ctx context.Context, c net.Conn) (req wire.Request, ok bool) {
	c.SetReadDeadline(time.Now().Add(s.readTimeout))
	// Stopping the server ends a read in progress at once.
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	line, err := readLine(c, wire.MaxRequestSize)
	stop()
	if err != nil {
		if errors.Is(err, errTooLarge) {
			s.write(c, wire.Response{Error: fmt.Sprintf("request too large: limit %d bytes", wire.MaxRequestSize), Code: wire.CodeUsage})
		}
		return wire.Request{}, false
	}
	req, err = decodeRequest(line)
	if err != nil {
		s.write(c, wire.Response{Error: err.Error(), Code: wire.CodeUsage})
		return wire.Request{}, false
	}
	// Ping (the handshake) and quit (the way out of a mismatch) work
	// across versions; every other op needs this protocol version.
	if req.Op != wire.OpPing && req.Op != wire.OpQuit && req.Proto != wire.ProtocolVersion {
		s.write(c, wire.Failure(wire.CodeUsage, wire.ServerMismatch(req.Proto, req.Client, Version)))
		return wire.Request{}, false
	}
	return req, true
}

// answer runs one validated request. It never logs request or response
// bodies: only the op and the outcome.
func (s *Server) answer(ctx context.Context, req wire.Request) (resp wire.Response) {
	if req.Op == wire.OpPing { // after the handshake: no further request here
		return wire.Result(wire.PingInfo{PID: os.Getpid(), Proto: wire.ProtocolVersion, Version: Version})
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = wire.DefaultTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			// The panic value may hold anything: do not log it.
			s.logger.Error("control: handler panicked", "op", req.Op)
			resp = wire.Response{Error: "internal error in the running instance", Code: wire.CodeFailure}
		}
	}()
	start := time.Now()
	resp = s.h.Handle(hctx, req)
	if !resp.OK && resp.Code == wire.CodeOK {
		resp.Code = wire.CodeFailure
	}
	s.logger.Debug("control: request", "op", req.Op, "ok", resp.OK, "code", resp.Code, "took", time.Since(start))
	return resp
}

// stream runs one streaming request: events go out as the handler sends
// them; the returned Response ends the stream.
func (s *Server) stream(ctx context.Context, c net.Conn, req wire.Request) (resp wire.Response) {
	sh, ok := s.h.(StreamHandler)
	if !ok {
		return wire.Failure(wire.CodeUsage, fmt.Errorf("op %q is not supported by this keeper", req.Op))
	}
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		return wire.Failure(wire.CodeFailure, fmt.Errorf("the keeper is busy: %d subscriptions are open (limit); close a window or try again", wire.MaxStreams))
	}
	if req.Op != wire.OpSubscribe { // subscriptions last until either side closes
		timeout := req.Timeout
		if timeout == 0 {
			timeout = wire.DefaultTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	defer func() {
		if r := recover(); r != nil {
			s.logger.Error("control: handler panicked", "op", req.Op)
			resp = wire.Response{Error: "internal error in the running instance", Code: wire.CodeFailure}
		}
	}()
	st := &Stream{c: c, timeout: s.writeTimeout}
	start := time.Now()
	resp = sh.HandleStream(ctx, req, st)
	if !resp.OK && resp.Code == wire.CodeOK {
		resp.Code = wire.CodeFailure
	}
	s.logger.Debug("control: stream", "op", req.Op, "ok", resp.OK, "code", resp.Code, "took", time.Since(start))
	st.mu.Lock() // no event after the final line
	st.failed = errStreamEnded
	st.mu.Unlock()
	return resp
}

// write sends resp as one line within the write deadline.
func (s *Server) write(c net.Conn, resp wire.Response) {
	b, err := encodeLine(resp)
	if err != nil { // a handler's Data that is not valid JSON
		b, _ = encodeLine(wire.Response{Error: "internal error: invalid response data", Code: wire.CodeFailure})
	}
	c.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	c.Write(b)
}

var (
	errTooLarge    = errors.New("line too large")
	errStreamEnded = errors.New("control: the stream has ended")
)

// readLine reads one newline-terminated line of at most limit bytes
// (newline included). A final line without newline is accepted at EOF.
func readLine(r io.Reader, limit int) ([]byte, error) {
	// Reading stops one byte past the limit: a request is never buffered
	// beyond it, and a client sends nothing after its request.
	return (&lineReader{br: bufio.NewReaderSize(io.LimitReader(r, int64(limit)+1), 4096), limit: limit}).next()
}

// lineReader reads successive newline-terminated lines of at most limit
// bytes each from one connection (a stream's events).
type lineReader struct {
	br    *bufio.Reader
	limit int
}

func newLineReader(r io.Reader, limit int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), limit: limit}
}

// next returns the next line; a final line without newline is accepted at EOF.
func (l *lineReader) next() ([]byte, error) {
	var line []byte
	for {
		chunk, err := l.br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > l.limit {
			return nil, errTooLarge
		}
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		default:
			return nil, err
		}
	}
}
