package config

import (
	"slices"
	"strings"
)

// ClientCapabilities are the values an account's client_capabilities may
// hold: cp1 declares that the client handles claims challenges, which makes
// the Microsoft identity platform issue Continuous Access Evaluation tokens.
var ClientCapabilities = []string{"cp1"}

// capabilityProblems checks client_capabilities (known values, no
// duplicates, Microsoft accounts only) and the provider-specific switches
// narrower_scopes (oidc only) and azure_sdk (microsoft only).
func (a Account) capabilityProblems() []Problem {
	var ps []Problem
	allowed := strings.Join(ClientCapabilities, ", ")
	for i, c := range a.ClientCapabilities {
		switch {
		case !slices.Contains(ClientCapabilities, c):
			ps = append(ps, Problem{Key: "client_capabilities", Value: c, Allowed: allowed, Reason: "unknown client capability"})
		case slices.Index(a.ClientCapabilities, c) != i:
			ps = append(ps, Problem{Key: "client_capabilities", Value: c, Allowed: allowed, Reason: "listed twice"})
		}
	}
	if len(a.ClientCapabilities) > 0 && a.Provider != "microsoft" {
		ps = append(ps, Problem{Key: "client_capabilities", Value: strings.Join(a.ClientCapabilities, ","), Allowed: "microsoft accounts only", Reason: "client capabilities (xms_cc) are a Microsoft identity platform feature"})
	}
	if a.NarrowerScopes && a.Provider == "microsoft" {
		ps = append(ps, Problem{Key: "narrower_scopes", Value: "true", Allowed: "oidc accounts only", Reason: "a Microsoft refresh token serves every consented resource without narrowing; the setting is for other providers"})
	}
	if a.AzureSDK && a.Provider != "microsoft" {
		ps = append(ps, Problem{Key: "azure_sdk", Value: "true", Allowed: "microsoft accounts only", Reason: "the Azure SDKs take Microsoft identity platform tokens only"})
	}
	return ps
}
