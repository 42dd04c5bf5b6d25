package credential

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The ExecCredential API versions tokentray prints. kubectl 1.22+ reads v1;
// v1beta1 is what kubectl 1.11–1.21 (Debian 12's 1.20 among them) know.
const (
	ExecV1      = "client.authentication.k8s.io/v1"
	ExecV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// MaxExecInfo bounds KUBERNETES_EXEC_INFO: kubectl sends the ExecCredential
// spec, and with provideClusterInfo the cluster's CA bundle, a few KiB.
const MaxExecInfo = 1 << 20

// ExecAPIVersion turns v1, v1beta1 or a full client.authentication.k8s.io
// name into the full name, and refuses anything else naming what is allowed.
func ExecAPIVersion(v string) (string, error) {
	switch strings.TrimSpace(v) {
	case "v1", ExecV1:
		return ExecV1, nil
	case "v1beta1", ExecV1beta1:
		return ExecV1beta1, nil
	}
	return "", fmt.Errorf("ExecCredential apiVersion %q is not supported; allowed: v1 (%s, kubectl 1.22+) or v1beta1 (%s)", v, ExecV1, ExecV1beta1)
}

// ExecInfo is the part of KUBERNETES_EXEC_INFO tokentray reads.
type ExecInfo struct {
	APIVersion  string // full name, checked by ExecAPIVersion
	Interactive bool   // spec.interactive: kubectl may let the plugin prompt
}

// ParseExecInfo reads the ExecCredential kubectl passes to an exec plugin
// in KUBERNETES_EXEC_INFO. It must be a JSON object of kind ExecCredential
// with a supported apiVersion; the error says which part is wrong.
func ParseExecInfo(data string) (ExecInfo, error) {
	if len(data) > MaxExecInfo {
		return ExecInfo{}, fmt.Errorf("KUBERNETES_EXEC_INFO is larger than %d KiB", MaxExecInfo>>10)
	}
	var raw struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			Interactive bool `json:"interactive"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(data), &raw); err != nil {
		return ExecInfo{}, fmt.Errorf("KUBERNETES_EXEC_INFO is not an ExecCredential JSON object: %v", jsonProblem(err))
	}
	if raw.Kind != "ExecCredential" {
		return ExecInfo{}, fmt.Errorf("KUBERNETES_EXEC_INFO has kind %q; want ExecCredential", raw.Kind)
	}
	v, err := ExecAPIVersion(raw.APIVersion)
	if err != nil {
		return ExecInfo{}, fmt.Errorf("KUBERNETES_EXEC_INFO: %w", err)
	}
	return ExecInfo{APIVersion: v, Interactive: raw.Spec.Interactive}, nil
}

// jsonProblem describes a JSON error without quoting the input.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("field %q has the wrong type (%s)", e.Field, e.Value)
	}
	return "malformed JSON"
}

// ExecExpirySkew is how much earlier than the token's expiry kubectl is told
// the credential expires: kubectl reuses it until expirationTimestamp, and a
// request sent in the last seconds would reach the API server expired.
const ExecExpirySkew = time.Minute

// ExecExpiry is the expirationTimestamp for a token that expires at expiry:
// ExecExpirySkew earlier, unless that is not after now (then expiry itself).
func ExecExpiry(expiry, now time.Time) time.Time {
	if early := expiry.Add(-ExecExpirySkew); early.After(now) {
		return early
	}
	return expiry
}

// ExecCredential renders the ExecCredential kubectl reads from an exec
// plugin's stdout: the bearer token and, so kubectl caches it no longer,
// its expiry as RFC 3339 in UTC (whole seconds, rounded down).
func ExecCredential(apiVersion, token string, expiry time.Time) ([]byte, error) {
	v, err := ExecAPIVersion(apiVersion)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, fmt.Errorf("no token to put into the ExecCredential")
	}
	type status struct {
		Token               string `json:"token"`
		ExpirationTimestamp string `json:"expirationTimestamp,omitempty"`
	}
	out := struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Status     status `json:"status"`
	}{APIVersion: v, Kind: "ExecCredential", Status: status{Token: token}}
	if !expiry.IsZero() {
		out.Status.ExpirationTimestamp = expiry.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode ExecCredential: %w", err)
	}
	return append(b, '\n'), nil
}
