package engine

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
)

// TestConfidentialClientSecretFromVault: a client secret stored with
// SetClientSecret before any sign-in leaves the account signed out, is sent
// with the device sign-in and every refresh, and survives them in the vault.
func TestConfidentialClientSecretFromVault(t *testing.T) {
	synctest.Test(t, testConfidentialClientSecretFromVault)
}

func testConfidentialClientSecretFromVault(t *testing.T) {
	w := newWorld(t, worldOpts{noRun: true, sim: idpsim.Options{ClientSecrets: map[string]string{testClient: "s3cret-value"}, AutoApproveDevice: 1}})
	name := w.names[0]
	if err := w.mem.Delete(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	if err := w.eng.SetClientSecret(t.Context(), name, "s3cret-value"); err != nil {
		t.Fatalf("SetClientSecret() = %v", err)
	}
	w.eng.Load(t.Context())
	if st := w.status(name); st.State != state.SignedOut {
		t.Fatalf("state with only a client secret stored = %s; want signed_out", st.State)
	}
	if _, err := w.eng.Token(t.Context(), name, 0); !errors.Is(err, ErrSignedOut) {
		t.Errorf("Token() before sign-in = %v; want ErrSignedOut", err)
	}
	if _, err := w.eng.SignIn(t.Context(), name, SignInMethod{Device: true, Show: func(oauth.DeviceCode) {}}); err != nil {
		t.Fatalf("SignIn(device) with the stored secret = %v", err)
	}
	if _, err := w.eng.RefreshNow(t.Context(), name); err != nil {
		t.Fatalf("RefreshNow() = %v; want the secret sent", err)
	}
	env, err := w.mem.Load(t.Context(), name)
	if err != nil || env.ClientSecret != "s3cret-value" || env.RefreshToken == "" {
		t.Errorf("vault after sign-in and refresh: secret kept=%v, have refresh token=%v, err=%v", env.ClientSecret == "s3cret-value", env.RefreshToken != "", err)
	}
}
