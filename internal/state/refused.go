package state

import (
	"fmt"
	"time"
)

// Refusal reasons.
const (
	RefusedRetryAfter = "retry_after"
	RefusedBudget     = "budget"
)

// Refused is returned when a requested refresh is not sent: the provider's
// Retry-After is still running, or the global refresh budget is spent.
type Refused struct {
	Reason string    // RefusedRetryAfter | RefusedBudget
	Until  time.Time // earliest time a refresh will be allowed
}

func (r *Refused) Error() string {
	at := r.Until.Local().Format("15:04:05")
	switch r.Reason {
	case RefusedRetryAfter:
		return fmt.Sprintf("refresh refused: the provider asked to wait (Retry-After); try again after %s", at)
	case RefusedBudget:
		return fmt.Sprintf("refresh refused: the refresh budget for all accounts is used up; try again after %s", at)
	}
	return fmt.Sprintf("refresh refused (%s) until %s", r.Reason, at)
}
