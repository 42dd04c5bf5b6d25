package keeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokentray/tokentray/internal/azuremi"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// AzureSDKEnv returns IDENTITY_ENDPOINT and IDENTITY_HEADER of the Azure
// SDK endpoint of account ("": the only account) that this keeper serves,
// after checking that the endpoint answers to that secret. The secret is
// read from the vault (the user asked: a keychain prompt may appear).
func (b *Backend) AzureSDKEnv(ctx context.Context, account string) (control.AzureSDKEnv, error) {
	if !b.o.Keeper {
		return control.AzureSDKEnv{}, errors.New("the Azure SDK endpoint is served by the running keeper, and none runs: start it (tokentray, or tokentray run --headless), then run this again")
	}
	a, err := azureAccount(b.settings, account)
	if err != nil {
		return control.AzureSDKEnv{}, err
	}
	ep, ok, err := b.azureEndpointSettled(ctx, a.Name)
	if err != nil {
		return control.AzureSDKEnv{}, err
	}
	if !ok || ep.Port == 0 {
		return control.AzureSDKEnv{}, fmt.Errorf("the running keeper does not serve the Azure SDK endpoint of account %q yet: %s", a.Name, problemOr(ep, "see tokentray.log"))
	}
	env, err := b.store.Load(vault.Interactive(ctx), azureItem(a.Name))
	if errors.Is(err, vault.ErrNotFound) || err == nil && env.ClientSecret == "" {
		return control.AzureSDKEnv{}, fmt.Errorf("the Azure SDK endpoint of account %q has no secret in the vault yet: %s (see tokentray.log)", a.Name, problemOr(ep, "the keeper is still setting it up"))
	}
	if err != nil {
		return control.AzureSDKEnv{}, fmt.Errorf("read the Azure SDK endpoint secret of account %q: %w", a.Name, err)
	}
	endpoint := "http://127.0.0.1:" + strconv.Itoa(ep.Port) + azuremi.Path
	if err := probeAzure(ctx, endpoint, env.ClientSecret); err != nil {
		return control.AzureSDKEnv{}, fmt.Errorf("the Azure SDK endpoint of account %q (%s) %w: %s", a.Name, endpoint, err, problemOr(ep, "see tokentray.log"))
	}
	return control.AzureSDKEnv{Endpoint: endpoint, Header: env.ClientSecret}, nil
}

// azureSettle bounds how long AzureSDKEnv waits for an endpoint the keeper
// is still starting (it reads its secret from the vault, then listens).
const azureSettle = 10 * time.Second

// azureEndpointSettled returns what the keeper recorded of name's endpoint
// once it listens or has a problem to tell, waiting up to azureSettle for
// an endpoint that is still starting (a keeper that just started).
func (b *Backend) azureEndpointSettled(ctx context.Context, name string) (AzureEndpoint, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, azureSettle)
	defer cancel()
	for {
		eps, err := readAzureState(b.stateDir)
		if err != nil {
			return AzureEndpoint{}, false, err
		}
		ep, ok := eps[name]
		if ok && ep.Port != 0 && (ep.Listening || ep.Problem != "") {
			return ep, true, nil
		}
		select {
		case <-ctx.Done():
			return ep, ok, nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func problemOr(ep AzureEndpoint, otherwise string) string {
	if ep.Problem != "" {
		return ep.Problem
	}
	return otherwise
}

// azureAccount returns the account named name (or the only one), refusing
// one without azure_sdk.
func azureAccount(s config.Settings, name string) (config.Account, error) {
	if name == "" {
		if len(s.Accounts) != 1 {
			var names []string
			for _, a := range s.Accounts {
				names = append(names, a.Name)
			}
			return config.Account{}, control.Usagef("name the account whose Azure SDK endpoint to use (configured: %s)", strings.Join(names, ", "))
		}
		name = s.Accounts[0].Name
	}
	a, ok := s.Account(name)
	if !ok {
		return config.Account{}, control.Usagef("no account named %q in the settings file", name)
	}
	if !a.AzureSDK {
		return config.Account{}, control.Usagef("account %q does not serve the Azure SDKs: set azure_sdk: true for it in the settings file (or add it with tokentray account add --azure-sdk), then restart the keeper (tokentray restart)", name)
	}
	return a, nil
}

// probeAzure asks the endpoint a request that names no resource: the
// endpoint that holds secret answers "invalid_request"; anything else
// says what is wrong.
func probeAzure(ctx context.Context, endpoint, secret string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?api-version="+azuremi.APIVersion, nil)
	if err != nil {
		return err
	}
	req.Header.Set(azuremi.HeaderName, secret)
	c := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("does not answer (%v)", err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	if resp.StatusCode != http.StatusBadRequest || body.Error != azuremi.CodeRequest {
		return fmt.Errorf("answers %d %q, not as tokentray's endpoint with this secret would", resp.StatusCode, body.Error)
	}
	return nil
}

// addAzureSDK adds to accounts the endpoint each has, as the keeper last
// recorded it.
func (b *Backend) addAzureSDK(accounts []state.AccountStatus) {
	eps, err := readAzureState(b.stateDir)
	if err != nil {
		return
	}
	for i := range accounts {
		ep, ok := eps[accounts[i].Name]
		if !ok || ep.Port == 0 || !ep.Listening && ep.Problem == "" {
			continue
		}
		accounts[i].AzureSDK = &state.AzureSDKStatus{URL: "http://127.0.0.1:" + strconv.Itoa(ep.Port) + azuremi.Path, Listening: ep.Listening, Problem: ep.Problem}
	}
}
