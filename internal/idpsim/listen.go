package idpsim

import (
	"errors"
	"net"
	"net/http"
	"time"
)

// Listening is a simulator served over HTTP on a loopback address.
type Listening struct {
	Base string // http://host:port, the URL the simulator answers on
	srv  *http.Server
}

// ServeLoopback serves s over HTTP on addr (host:port; port 0 picks one),
// in the background until Close. The simulator approves every sign-in, so
// addr must be a loopback address: any other is refused.
func (s *Server) ServeLoopback(addr string) (*Listening, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, errors.New("the simulator listens on loopback addresses only")
	}
	l := &Listening{Base: "http://" + ln.Addr().String(), srv: &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = l.srv.Serve(ln) }() // ends with ErrServerClosed on Close
	return l, nil
}

// Close stops serving and closes every open connection.
func (l *Listening) Close() error { return l.srv.Close() }
