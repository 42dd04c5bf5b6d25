package oauth

import (
	"bytes"
	"io"
	"net/http"
)

// recorder is a minimal in-memory ResponseWriter for handlerTransport.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

func (r *recorder) result(req *http.Request) *http.Response {
	r.WriteHeader(http.StatusOK)
	return &http.Response{StatusCode: r.status, Header: r.header, Body: io.NopCloser(&r.body), Request: req,
		ContentLength: int64(r.body.Len())}
}
