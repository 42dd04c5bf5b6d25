package main

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// TestRecentUseFromTheKeeper: a token a CLI process gets from the keeper
// shows in the window's Recent use with that process's pid.
func TestRecentUseFromTheKeeper(t *testing.T) {
	socket, env := demoKeeper(t)
	tc := exec.Command(keeperBin, "token")
	tc.Env = env
	if out, err := tc.CombinedOutput(); err != nil {
		t.Fatalf("tokentray token from the demo keeper: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	us, err := (&remote{socket: socket}).RecentUse(ctx, 10)
	if err != nil {
		t.Fatalf("RecentUse() = %v", err)
	}
	if len(us) == 0 || us[0].PID != tc.Process.Pid || us[0].Account == "" || us[0].Exe == "" {
		t.Errorf("RecentUse() = %+v; want the token handed to pid %d first, with its account and program", us, tc.Process.Pid)
	}
}
