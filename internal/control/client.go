package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/tokentray/tokentray/internal/control/sockpath"
	"github.com/tokentray/tokentray/internal/wire"
)

// Client talks to a running keeper over its control socket (a named pipe on
// Windows). It opens one connection per request (the first request after
// Dial goes on the handshake's connection), so it needs no Close; it is safe
// for concurrent use.
type Client struct {
	path   string
	Keeper wire.PingInfo // the keeper's handshake answer at Dial

	mu   sync.Mutex
	held net.Conn    // the handshake's connection, for the first request
	drop *time.Timer // closes held when no request comes soon enough
}

// heldFor is how long the handshake's connection waits for the first
// request; the keeper gives it wire.DefaultTimeout.
const heldFor = wire.DefaultTimeout / 2

// Dial returns a client for the keeper on path after the handshake: a ping
// that must answer with this ProtocolVersion. Nobody listening yields an
// error wrapping ErrNotRunning; a keeper of another protocol version an
// error wrapping ErrVersionMismatch that names both versions; a server that
// accepts but does not answer another error. The handshake's connection
// carries the first request (a keeper that says PingInfo.Reuse), so Dial
// and one call make one connection.
func Dial(path string) (*Client, error) {
	c := &Client{path: path}
	ctx, cancel := context.WithTimeout(context.Background(), wire.DefaultTimeout)
	defer cancel()
	req := wire.Request{Op: wire.OpPing, Proto: wire.ProtocolVersion, Client: Version}
	line, err := encodeLine(req)
	if err != nil {
		return nil, fmt.Errorf("control: encode request: %w", err)
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := exchange(ctx, conn, req, line, wire.DefaultTimeout, nil)
	if err == nil {
		err = resp.Err()
	}
	var info wire.PingInfo
	if err == nil {
		if jerr := json.Unmarshal(resp.Data, &info); jerr != nil {
			err = fmt.Errorf("control: ping: malformed data: %s", jsonProblem(jerr))
		} else if info.Proto != wire.ProtocolVersion {
			err = wire.ClientMismatch(info, Version)
		}
	}
	if err != nil || !info.Reuse {
		conn.Close()
		if err != nil {
			return nil, err
		}
	} else {
		conn.SetDeadline(time.Time{})
		c.held = conn
		c.drop = time.AfterFunc(heldFor, func() {
			if conn := c.take(); conn != nil {
				conn.Close()
			}
		})
	}
	c.Keeper = info
	return c, nil
}

// take returns the handshake's connection if it is still unused.
func (c *Client) take() net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn := c.held
	c.held = nil
	if c.drop != nil {
		c.drop.Stop()
	}
	return conn
}

// NewClient returns a client for path without the handshake. Only OpQuit
// makes sense this way: it lets a client stop a keeper of another protocol
// version (an older keeper accepts a quit without a version).
func NewClient(path string) *Client { return &Client{path: path} }

// Do sends req and returns the server's response. A Response with OK false
// is not an error here (see Response.Err); errors are about the transport:
// nobody listening (wrapping ErrNotRunning), an invalid req, ctx ending, a
// broken or silent connection. When req.Timeout is 0 and ctx has a deadline,
// the remaining time (at most the op's maximum) becomes req.Timeout, so the
// server's handler gives up when the caller does.
func (c *Client) Do(ctx context.Context, req wire.Request) (wire.Response, error) {
	return c.Stream(ctx, req, nil)
}

// Stream sends req and calls onEvent for each event line the server sends
// before its final Response, which it returns. A Busy refusal (the keeper
// has no connection slot free) is retried with backoff within the
// request's budget (Timeout, DefaultTimeout if 0); the last one is returned
// when the budget runs out. onEvent returning an error
// ends the stream (the connection is closed) with that error. For a
// subscription there is no deadline: it lasts until ctx ends or the keeper
// closes it (quit, restart, crash: an error).
func (c *Client) Stream(ctx context.Context, req wire.Request, onEvent func(event string, data json.RawMessage) error) (wire.Response, error) {
	req.Proto, req.Client = wire.ProtocolVersion, Version
	if req.Timeout == 0 && req.Op != wire.OpSubscribe {
		if d, ok := ctx.Deadline(); ok {
			req.Timeout = min(max(time.Until(d), time.Millisecond), wire.MaxTimeoutOf(req.Op))
		}
	}
	if err := validate(req); err != nil {
		return wire.Response{}, fmt.Errorf("control: %w", err)
	}
	line, err := encodeLine(req)
	if err != nil {
		return wire.Response{}, fmt.Errorf("control: encode request: %w", err)
	}

	// A busy keeper (every connection slot and its queue taken) did not
	// read the request: send it again, with backoff, within the budget.
	budget := req.Timeout
	if budget == 0 {
		budget = wire.DefaultTimeout
	}
	retryUntil := time.Now().Add(budget)
	wait := busyBackoff
	for {
		resp, err := c.attempt(ctx, req, line, budget, onEvent)
		if err != nil || !resp.Busy || time.Now().Add(wait).After(retryUntil) {
			return resp, err
		}
		t := time.NewTimer(wait + rand.N(wait/2))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return wire.Response{}, fmt.Errorf("control: %s: %w", req.Op, ctx.Err())
		}
		wait = min(2*wait, maxBusyBackoff)
	}
}

// busyBackoff and maxBusyBackoff bound the pause before a busy request is
// sent again (doubling, plus up to half again of jitter).
const (
	busyBackoff    = 10 * time.Millisecond
	maxBusyBackoff = time.Second
)

// attempt sends the encoded request line on one connection (the
// handshake's, if still unused) and reads the answer (see Stream).
func (c *Client) attempt(ctx context.Context, req wire.Request, line []byte, budget time.Duration, onEvent func(event string, data json.RawMessage) error) (wire.Response, error) {
	conn := c.take()
	if conn == nil {
		var err error
		if conn, err = c.dial(ctx); err != nil {
			return wire.Response{}, err
		}
	}
	defer conn.Close()
	return exchange(ctx, conn, req, line, budget, onEvent)
}

// dial connects to the keeper (see dialEndpoint for the checks).
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	conn, err := dialEndpoint(ctx, c.path)
	if err == nil {
		return conn, nil
	}
	if isRefused(err) {
		return nil, fmt.Errorf("control: %s: %w (%w)", c.path, ErrNotRunning, err)
	}
	if errors.Is(err, sockpath.ErrForeign) { // the message names the path
		return nil, fmt.Errorf("control: %w", err)
	}
	return nil, fmt.Errorf("control: dial %s: %w", c.path, err)
}

// exchange writes line on conn and reads events (to onEvent) up to the
// final Response; conn stays open. A refusal of another protocol version
// becomes an error wrapping ErrVersionMismatch.
func exchange(ctx context.Context, conn net.Conn, req wire.Request, line []byte, budget time.Duration, onEvent func(event string, data json.RawMessage) error) (wire.Response, error) {
	deadline := func() {
		if req.Op != wire.OpSubscribe {
			conn.SetDeadline(time.Now().Add(budget + wire.ClientSlack))
		}
	}
	deadline()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	_, werr := conn.Write(line)
	r := newLineReader(conn, wire.MaxResponseSize)
	for {
		// Even after a failed write the server may have answered (a refusal).
		b, rerr := r.next()
		if rerr != nil {
			if err := ctx.Err(); err != nil {
				return wire.Response{}, fmt.Errorf("control: %s: %w", req.Op, err)
			}
			return wire.Response{}, fmt.Errorf("control: %s: no response: %w", req.Op, errors.Join(werr, rerr))
		}
		var resp wire.Response
		if err := json.Unmarshal(b, &resp); err != nil {
			return wire.Response{}, fmt.Errorf("control: %s: malformed response: %s", req.Op, jsonProblem(err))
		}
		if resp.Event == "" {
			if !resp.OK && resp.Code == wire.CodeOK {
				resp.Code = wire.CodeFailure
			}
			return resp, nil
		}
		if onEvent == nil {
			continue
		}
		if err := onEvent(resp.Event, resp.Data); err != nil {
			return wire.Response{}, err
		}
		deadline() // each event shows the keeper is working on it
	}
}

// call runs req and turns a failed Response into its *ResponseError.
func (c *Client) call(ctx context.Context, req wire.Request) (json.RawMessage, error) {
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := resp.Err(); err != nil {
		return resp.Data, err
	}
	return resp.Data, nil
}

// Ping checks that the server answers and returns its PingInfo.
func (c *Client) Ping(ctx context.Context) (wire.PingInfo, error) {
	data, err := c.call(ctx, wire.Request{Op: wire.OpPing})
	if err != nil {
		return wire.PingInfo{}, err
	}
	var info wire.PingInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return wire.PingInfo{}, fmt.Errorf("control: ping: malformed data: %s", jsonProblem(err))
	}
	return info, nil
}

// Show asks the keeper to open its window (or bring it forward) on tab;
// account names the account of TabSignIn.
func (c *Client) Show(ctx context.Context, tab, account string) error {
	_, err := c.call(ctx, wire.Request{Op: wire.OpShow, Tab: tab, Account: account})
	return err
}

// Quit asks the keeper to stop.
func (c *Client) Quit(ctx context.Context) error {
	_, err := c.call(ctx, wire.Request{Op: wire.OpQuit})
	return err
}
