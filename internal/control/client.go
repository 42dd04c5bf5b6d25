package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// Client talks to a running tokentray over its control socket. It opens one
// connection per request, so it holds no resources and needs no Close; it
// is safe for concurrent use.
type Client struct {
	path string
}

// Dial returns a client for the server on path after checking with a ping
// that it answers. Nobody listening yields an error wrapping ErrNotRunning;
// a server that accepts but does not answer yields another error.
func Dial(path string) (*Client, error) {
	c := &Client{path: path}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	if _, err := c.Ping(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// clientSlack is how much longer the client waits than the handler's budget:
// the server's read and write phases.
const clientSlack = 2 * DefaultTimeout

// Do sends req and returns the server's response. A Response with OK false
// is not an error here (see Response.Err); errors are about the transport:
// nobody listening (wrapping ErrNotRunning), an invalid req, ctx ending, a
// broken or silent connection. When req.Timeout is 0 and ctx has a deadline,
// the remaining time (at most MaxTimeout) becomes req.Timeout, so the
// server's handler gives up when the caller does.
func (c *Client) Do(ctx context.Context, req Request) (Response, error) {
	if req.Timeout == 0 {
		if d, ok := ctx.Deadline(); ok {
			req.Timeout = min(max(time.Until(d), time.Millisecond), MaxTimeout)
		}
	}
	if err := req.Validate(); err != nil {
		return Response{}, fmt.Errorf("control: %w", err)
	}
	line, err := encodeLine(req)
	if err != nil {
		return Response{}, fmt.Errorf("control: encode request: %w", err)
	}

	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		if isRefused(err) {
			return Response{}, fmt.Errorf("control: %s: %w (%w)", c.path, ErrNotRunning, err)
		}
		return Response{}, fmt.Errorf("control: dial %s: %w", c.path, err)
	}
	defer conn.Close()

	budget := req.Timeout
	if budget == 0 {
		budget = DefaultTimeout
	}
	conn.SetDeadline(time.Now().Add(budget + clientSlack))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	_, werr := conn.Write(line)
	// Even after a failed write the server may have answered (a refusal).
	b, rerr := readLine(conn, MaxResponseSize)
	if rerr != nil {
		if err := ctx.Err(); err != nil {
			return Response{}, fmt.Errorf("control: %s: %w", req.Op, err)
		}
		return Response{}, fmt.Errorf("control: %s: no response: %w", req.Op, errors.Join(werr, rerr))
	}
	var resp Response
	if err := json.Unmarshal(b, &resp); err != nil {
		return Response{}, fmt.Errorf("control: %s: malformed response: %s", req.Op, jsonProblem(err))
	}
	if !resp.OK && resp.Code == CodeOK {
		resp.Code = CodeFailure
	}
	return resp, nil
}

// call runs req and turns a failed Response into its *ResponseError.
func (c *Client) call(ctx context.Context, req Request) (json.RawMessage, error) {
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := resp.Err(); err != nil {
		return nil, fmt.Errorf("control: %s: %w", req.Op, err)
	}
	return resp.Data, nil
}

// Ping checks that the server answers and returns its PingInfo.
func (c *Client) Ping(ctx context.Context) (PingInfo, error) {
	data, err := c.call(ctx, Request{Op: OpPing})
	if err != nil {
		return PingInfo{}, err
	}
	var info PingInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return PingInfo{}, fmt.Errorf("control: ping: malformed data: %s", jsonProblem(err))
	}
	return info, nil
}

// Status returns the running instance's status document (the handler's
// JSON, decoded by the caller). account "" means every account.
func (c *Client) Status(ctx context.Context, account string) (json.RawMessage, error) {
	return c.call(ctx, Request{Op: OpStatus, Account: account})
}

// Refresh asks the running instance for a forced refresh of account, or of
// every account when all is true, and returns the handler's result. Without
// a ctx deadline the server gets MaxTimeout.
func (c *Client) Refresh(ctx context.Context, account string, all bool) (json.RawMessage, error) {
	req := Request{Op: OpRefresh, Account: account, All: all}
	if _, ok := ctx.Deadline(); !ok {
		req.Timeout = MaxTimeout
	}
	return c.call(ctx, req)
}

// Show asks the running instance to bring its window forward.
func (c *Client) Show(ctx context.Context) error {
	_, err := c.call(ctx, Request{Op: OpShow})
	return err
}

// Quit asks the running instance to stop.
func (c *Client) Quit(ctx context.Context) error {
	_, err := c.call(ctx, Request{Op: OpQuit})
	return err
}
