// Decoding the accounts list of the settings file into Accounts: field by
// field, refusing secrets and unknown fields, then each account validated.

package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

var secretFields = map[string]bool{"client_secret": true, "refresh_token": true, "access_token": true, "password": true, "secret": true, "token": true}

// accountFields lists the fields an account may have in the file: the yaml
// names of Account's fields, in their order.
var accountFields = func() []string {
	t := reflect.TypeFor[Account]()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		names = append(names, name)
	}
	return names
}()

func parseAccounts(raw any, origin string) ([]Account, []Problem) {
	if raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, []Problem{{Key: "accounts", Origin: origin, Reason: "must be a list of accounts"}}
	}
	var out []Account
	var problems []Problem
	seen := map[string]bool{}
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			problems = append(problems, Problem{Key: fmt.Sprintf("accounts[%d]", i), Origin: origin, Reason: "must be a mapping with name, provider, client_id, ..."})
			continue
		}
		var a Account
		var ps []Problem
		at := func(field string) string { return fmt.Sprintf("accounts[%d].%s", i, field) }
		for f, v := range m {
			f = strings.ToLower(f)
			if secretFields[f] {
				ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: "secrets never belong in the config file; remove it and use `tokentray account add --client-secret-stdin` or `tokentray login`"})
				continue
			}
			if !slices.Contains(accountFields, f) {
				ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: "unknown account field; allowed: " + strings.Join(accountFields, ", ")})
				continue
			}
			switch f {
			case "scopes":
				sc, err := stringList(v)
				if err != nil {
					ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: err.Error()})
				}
				a.Scopes = sc
			case "client_capabilities":
				cc, err := stringList(v)
				if err != nil {
					ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: err.Error()})
				}
				a.ClientCapabilities = cc
			case "narrower_scopes":
				b, ok := v.(bool)
				if !ok {
					ps = append(ps, Problem{Key: at(f), Value: fmt.Sprint(v), Origin: origin, Allowed: "true or false", Reason: "not a boolean"})
				}
				a.NarrowerScopes = b
			case "azure_sdk":
				b, ok := v.(bool)
				if !ok {
					ps = append(ps, Problem{Key: at(f), Value: fmt.Sprint(v), Origin: origin, Allowed: "true or false", Reason: "not a boolean"})
				}
				a.AzureSDK = b
			case "headers":
				h, err := stringMap(v)
				if err != nil {
					ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: err.Error()})
				}
				a.Headers = h
			default:
				sv, ok := scalarString(v)
				if !ok {
					ps = append(ps, Problem{Key: at(f), Origin: origin, Reason: "must be a single value"})
					continue
				}
				switch f {
				case "name":
					a.Name = sv
				case "provider":
					a.Provider = sv
				case "tenant":
					a.Tenant = sv
				case "cloud":
					a.Cloud = sv
				case "issuer":
					a.Issuer = sv
				case "client_id":
					a.ClientID = sv
				case "redirect_uri":
					a.RedirectURI = sv
				}
			}
		}
		if err := a.Validate(); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				for _, p := range ve.Problems {
					p.Key = fmt.Sprintf("accounts[%d].%s", i, p.Key)
					p.Origin = origin
					ps = append(ps, p)
				}
			}
		}
		if a.Name != "" {
			if seen[a.Name] {
				ps = append(ps, Problem{Key: at("name"), Value: a.Name, Origin: origin, Reason: "duplicate account name"})
			}
			seen[a.Name] = true
		}
		problems = append(problems, ps...)
		if len(ps) == 0 {
			out = append(out, a)
		}
	}
	return out, problems
}

func stringList(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return strings.Fields(t), nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := scalarString(e)
			if !ok {
				return nil, fmt.Errorf("must be a list of words")
			}
			out = append(out, s)
		}
		return out, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("must be a list of words")
}

func stringMap(v any) (map[string]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("must be a mapping of header name to value")
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := scalarString(e)
		if !ok {
			return nil, fmt.Errorf("header %s must have a single value", k)
		}
		// viper lower-cases map keys; HTTP header names are case-insensitive.
		out[k] = s
	}
	return out, nil
}
