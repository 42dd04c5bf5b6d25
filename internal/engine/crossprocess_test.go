package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/vault"
)

const helperEnv = "TOKENTRAY_ENGINE_HELPER"

// TestCrossProcessOneRefresh re-executes the test binary as 20 processes
// that share a vault file and a lock dir. All ask Token(minValid) at the
// moment the stored access token expires: the simulator must see exactly one
// refresh and every process must print the same token (compared by hash).
func TestCrossProcessOneRefresh(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		t.Skip("in a helper process")
	}
	if testing.Short() {
		t.Skip("starts 20 processes")
	}
	const procs = 20
	sim := idpsim.New(idpsim.Options{Rotation: idpsim.Strict})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	dir := t.TempDir()
	vaultPath := filepath.Join(dir, "vault", "tokens.json")
	lockDir := filepath.Join(dir, "locks")
	st := vault.NewFile(vaultPath)
	expiry := time.Now().Add(3 * time.Second).Round(0)
	env := vault.Envelope{
		RefreshToken: sim.Grant(testClient, "shared@idpsim.test", testScopes),
		AccessToken:  "expiring-access-token", Expiry: expiry, TokenType: "Bearer",
		ObtainedAt: expiry.Add(-time.Hour),
	}
	if err := st.Save(t.Context(), "shared", env); err != nil {
		t.Fatalf("Save() = %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	outs := make([]*bytes.Buffer, procs)
	cmds := make([]*exec.Cmd, procs)
	for i := range procs {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			helperEnv+"=1",
			"TT_VAULT="+vaultPath, "TT_LOCKS="+lockDir, "TT_BASE="+srv.URL,
			"TT_AT="+strconv.FormatInt(expiry.UnixNano(), 10))
		outs[i] = &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatalf("start helper %d: %v", i, err)
		}
		cmds[i] = cmd
	}
	hashes := map[string]int{}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, outs[i])
		}
		h := ""
		sc := bufio.NewScanner(outs[i])
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "TOKEN_SHA256="); ok {
				h = v
			}
		}
		if h == "" {
			t.Fatalf("helper %d printed no token:\n%s", i, outs[i])
		}
		hashes[h]++
	}
	if len(hashes) != 1 {
		t.Errorf("the %d processes got %d different tokens; want 1: %v", procs, len(hashes), hashes)
	}
	if n := sim.Refreshes("shared@idpsim.test"); n != 1 {
		t.Errorf("simulator refreshes = %d; want exactly 1", n)
	}
	got, err := st.Load(t.Context(), "shared")
	if err != nil || !sim.Valid(got.RefreshToken) {
		t.Errorf("after the race the vault's refresh token is not valid (err %v)", err)
	}
	sum := sha256.Sum256([]byte(got.AccessToken))
	if hashes[hex.EncodeToString(sum[:])] != procs {
		t.Errorf("the processes' token is not the one in the vault")
	}
}

// TestHelperProcess is one of the processes of TestCrossProcessOneRefresh.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("only run by TestCrossProcessOneRefresh")
	}
	at, err := strconv.ParseInt(os.Getenv("TT_AT"), 10, 64)
	if err != nil {
		t.Fatalf("TT_AT: %v", err)
	}
	ep := idpsim.EndpointsFor(os.Getenv("TT_BASE"), "common")
	prof := testProfile()
	prof.Endpoints = oauth.Endpoints{Token: ep.Token, Auth: ep.Auth}
	eng, err := New(Options{
		Settings:  config.Defaults(),
		Store:     vault.NewFile(os.Getenv("TT_VAULT")),
		Refresher: &oauth.Client{HTTP: &http.Client{}},
		Accounts:  []Account{{Name: "shared", Profile: prof}},
		LockDir:   os.Getenv("TT_LOCKS"),
	})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	time.Sleep(time.Until(time.Unix(0, at)))
	tok, err := eng.Token(context.Background(), "shared", time.Minute)
	if err != nil {
		t.Fatalf("Token() = %v", err)
	}
	sum := sha256.Sum256([]byte(tok.Token))
	fmt.Printf("TOKEN_SHA256=%s\n", hex.EncodeToString(sum[:]))
}
