package config

import (
	"strings"
	"testing"
)

// TestRadarNotifyDays: radar.notify_days defaults to 3, takes 0–30 from
// file, environment or flag, and a bad value is refused naming the key, the
// value and the range.
func TestRadarNotifyDays(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		env        map[string]string
		flags      map[string]string
		want       int
		wantErr    []string
	}{
		{"default", "", nil, nil, 3, nil},
		{"off", "radar:\n  notify_days: 0\n", nil, nil, 0, nil},
		{"max", "", map[string]string{"TOKENTRAY_RADAR_NOTIFY_DAYS": "30"}, nil, 30, nil},
		{"flag", "", nil, map[string]string{"radar.notify_days": "7"}, 7, nil},
		{"too many", "radar:\n  notify_days: 31\n", nil, nil, 0, []string{"radar.notify_days", `"31"`, "0–30"}},
		{"negative", "", nil, map[string]string{"radar.notify_days": "-1"}, 0, []string{"radar.notify_days", `"-1"`, "0–30"}},
		{"not a number", "radar:\n  notify_days: soon\n", nil, nil, 0, []string{"radar.notify_days", "soon", "not a whole number"}},
		{"typo", "radar:\n  notify_day: 3\n", nil, nil, 0, []string{"radar.notify_day", "did you mean radar.notify_days"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := noEnv
			if tt.env != nil {
				env = envOf(tt.env)
			}
			l, err := Load(LoadOptions{Path: writeFile(t, tt.file), Env: env, Flags: tt.flags})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Load() = %v; want nil", err)
				}
				if got := l.Settings.Radar.NotifyDays; got != tt.want {
					t.Errorf("Radar.NotifyDays = %d; want %d", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load() = nil error; want one naming %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load() error %q lacks %q", err, w)
				}
			}
		})
	}
}
