package vault

import (
	"errors"
	"fmt"
	"strings"
)

// Backend kinds, as returned by Kind.
const (
	KindKeychain = "keychain"
	KindFile     = "file"
	KindMemory   = "memory"
)

// ProbeStatus is the outcome of a storage probe.
type ProbeStatus string

// Probe outcomes.
const (
	ProbeOK          ProbeStatus = "ok"
	ProbeLocked      ProbeStatus = "locked"
	ProbeUnavailable ProbeStatus = "unavailable"
	ProbeTimeout     ProbeStatus = "timeout"
)

// ProbeResult says whether a backend can store secrets right now. Err is nil
// exactly when Status is ProbeOK.
type ProbeResult struct {
	Kind   string
	Status ProbeStatus
	Err    error
}

// probeResult classifies err into a ProbeResult for kind.
func probeResult(kind string, err error) ProbeResult {
	r := ProbeResult{Kind: kind, Status: ProbeOK, Err: err}
	switch {
	case err == nil:
	case errors.Is(err, ErrLocked):
		r.Status = ProbeLocked
	case errors.Is(err, ErrTimeout):
		r.Status = ProbeTimeout
	default:
		r.Status = ProbeUnavailable
	}
	return r
}

// Reserved item names inside a backend; account names may not collide.
const (
	reservedPrefix = "tokentray:"
	indexItem      = reservedPrefix + "index"
	probeItem      = reservedPrefix + "probe"
)

// checkAccount rejects account names a backend cannot store safely.
func checkAccount(account string) error {
	switch {
	case account == "":
		return errors.New("account name is empty")
	case strings.HasPrefix(account, reservedPrefix):
		return fmt.Errorf("account name %q is reserved", account)
	case strings.Contains(account, "#"):
		return fmt.Errorf("account name %q contains '#'", account)
	case len(account) > 200:
		return fmt.Errorf("account name %.20q... is longer than 200 bytes", account)
	}
	return nil
}
