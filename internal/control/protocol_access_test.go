package control

import (
	"strings"
	"testing"
)

func TestAccessLogRequestLimit(t *testing.T) {
	if _, err := decodeRequest([]byte(`{"proto":2,"op":"access_log","account":"work","limit":50}`)); err != nil {
		t.Errorf("access_log with limit 50: %v; want accepted", err)
	}
	for _, in := range []string{`{"op":"access_log","limit":501}`, `{"op":"access_log","limit":-1}`} {
		_, err := decodeRequest([]byte(in))
		if err == nil || !strings.Contains(err.Error(), "limit") || !strings.Contains(err.Error(), "0–500") {
			t.Errorf("decodeRequest(%s) = %v; want an error naming limit and 0–500", in, err)
		}
	}
}
