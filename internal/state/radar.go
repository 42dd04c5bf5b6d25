package state

import "time"

// Radar sources (Radar.Source).
const (
	// RadarRefreshTokenExpiresIn: Microsoft's refresh_token_expires_in
	// (single-page-app redemptions). Taken afresh from every response.
	RadarRefreshTokenExpiresIn = "refresh_token_expires_in"
	// RadarRefreshExpiresIn: Keycloak's refresh_expires_in. It slides: every
	// refresh moves it.
	RadarRefreshExpiresIn = "refresh_expires_in"
	// RadarSPA24h: the account's refresh tokens are a single-page app's
	// (learned from AADSTS700084), which live a fixed 24 h from the sign-in
	// through tokentray.
	RadarSPA24h = "spa_24h"
	// RadarSignInFrequency: a Conditional Access sign-in frequency limit
	// (learned from AADSTS70043/70044) counted from the sign-in's auth_time.
	// It does not slide.
	RadarSignInFrequency = "sign_in_frequency"
)

// Radar says by when the account needs an interactive sign-in.
type Radar struct {
	SignInBy time.Time `json:"sign_in_by"`
	Source   string    `json:"source"` // RadarRefreshTokenExpiresIn | RadarRefreshExpiresIn | RadarSPA24h | RadarSignInFrequency
	// Since is what SignInBy counts from: the response that gave the
	// refresh token's lifetime, or the sign-in a limit applies to.
	Since time.Time `json:"since"`
}

// RadarSameDate is how far a radar's sign-in date may move and still count
// as the one the user was reminded of: a single-page app's date wobbles by
// a second with each refresh (whole seconds left, counted from the
// request), and a sliding session's moves a little.
const RadarSameDate = time.Hour
