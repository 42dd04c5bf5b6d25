package idpsim

import (
	"fmt"
	"time"
)

// signInFrequencyOver reports whether g's sign-in is at least
// Options.SignInFrequency old at now. Like Entra's Conditional Access, the
// limit counts from the sign-in (auth_time), not from the refresh token's
// issue: redeeming tokens does not extend it.
func (s *Server) signInFrequencyOver(g *grant, now time.Time) bool {
	return s.opts.SignInFrequency > 0 && !now.Before(g.created.Add(s.opts.SignInFrequency))
}

// signInFrequencyError is Entra's answer to a refresh past the sign-in
// frequency limit: invalid_grant AADSTS70043, "... The token was issued on
// 2022-07-30T19:55:21.1057795Z and the maximum allowed lifetime for this
// request is 1209600." (whole seconds).
func (s *Server) signInFrequencyError(g *grant) *msError {
	secs := int64(s.opts.SignInFrequency / time.Second)
	return newErr(400, "invalid_grant", 70043, fmt.Sprintf("The token was issued on %s and the maximum allowed lifetime for this request is %d.",
		g.created.UTC().Format("2006-01-02T15:04:05.0000000Z"), secs))
}
