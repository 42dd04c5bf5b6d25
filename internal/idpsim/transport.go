package idpsim

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
)

// Client returns an HTTP client that serves every request with the
// simulator in memory, whatever the URL's host: no sockets, so it works
// inside testing/synctest bubbles. ConnReset faults become transport
// errors. Redirects (authorize) are not followed: the caller sees the 302.
func (s *Server) Client() *http.Client {
	return &http.Client{
		Transport: memTransport{s},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

type memTransport struct{ s *Server }

// RoundTrip runs the handler synchronously and returns its buffered response.
func (t memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sr := req.Clone(req.Context())
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	if sr.Host == "" {
		sr.Host = req.URL.Host
	}
	sr.RequestURI = req.URL.RequestURI()
	sr.RemoteAddr = "127.0.0.1:49152"
	sr.Proto, sr.ProtoMajor, sr.ProtoMinor = "HTTP/1.1", 1, 1
	w := &memWriter{header: http.Header{}}
	t.s.ServeHTTP(w, sr)
	if req.Body != nil {
		_ = req.Body.Close()
	}
	if w.wasReset {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.sent
	if h == nil {
		h = w.header.Clone()
	}
	body := w.buf.Bytes()
	if req.Method == http.MethodHead {
		body = nil
	}
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(w.buf.Len()),
		Request:       req,
	}, nil
}

// memWriter buffers a response in memory.
type memWriter struct {
	header   http.Header
	sent     http.Header // header snapshot at WriteHeader
	status   int
	buf      bytes.Buffer
	wasReset bool
}

func (w *memWriter) Header() http.Header { return w.header }

func (w *memWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	w.sent = w.header.Clone()
}

func (w *memWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.buf.Write(b)
}

func (w *memWriter) reset() { w.wasReset = true }
