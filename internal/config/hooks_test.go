package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHooksFromFileEnvAndFlag(t *testing.T) {
	path := writeFile(t, "hooks:\n  refreshed: [notify-send, tokentray, \"refreshed $ACCOUNT\"]\n  needs_sign_in: logger\n  timeout: 2m\n")
	l, err := Load(LoadOptions{Path: path, Env: envOf(map[string]string{"TOKENTRAY_HOOKS_FAILING": `["sh", "-c", "echo failing >> /tmp/x"]`}),
		Flags: map[string]string{"hooks.recovered": `["/usr/bin/true"]`}})
	if err != nil {
		t.Fatalf("Load() = %v; want nil", err)
	}
	want := Hooks{
		Refreshed:   []string{"notify-send", "tokentray", "refreshed $ACCOUNT"},
		NeedsSignIn: []string{"logger"},
		Failing:     []string{"sh", "-c", "echo failing >> /tmp/x"},
		Recovered:   []string{"/usr/bin/true"},
		Timeout:     2 * time.Minute,
	}
	if diff := cmp.Diff(want, l.Settings.Hooks); diff != "" {
		t.Errorf("Load() hooks mismatch (-want +got):\n%s", diff)
	}
}

func TestHooksRoundTripThroughSave(t *testing.T) {
	path := writeFile(t, "")
	s := Defaults()
	s.Hooks.Refreshed = []string{"sh", "-c", `echo "it's $TOKENTRAY_ACCOUNT" > out`}
	if err := Save(path, s); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile() = %v", err)
	}
	if diff := cmp.Diff(s.Hooks, got.Hooks); diff != "" {
		t.Errorf("hooks after Save and ReadFile (-want +got):\n%s", diff)
	}
	if _, err := Set(path, "hooks.failing", `["notify-send", "failing"]`); err != nil {
		t.Fatalf(`Set(hooks.failing) = %v`, err)
	}
	got, _ = ReadFile(path)
	if diff := cmp.Diff([]string{"notify-send", "failing"}, got.Hooks.Failing); diff != "" {
		t.Errorf("hooks.failing after Set (-want +got):\n%s", diff)
	}
}

func TestHooksInvalidNameKeyAndFix(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		want       []string
	}{
		{"string with spaces", "hooks:\n  refreshed: notify-send hello\n", nil, []string{"hooks.refreshed", "must be a list", "no shell", "[sh, -c"}},
		{"bad json in env", "", map[string]string{"TOKENTRAY_HOOKS_FAILING": `["a", 1`}, []string{"hooks.failing", "env TOKENTRAY_HOOKS_FAILING", "not a JSON list"}},
		{"map", "hooks:\n  recovered: {a: b}\n", nil, []string{"hooks.recovered"}},
		{"empty program", "hooks:\n  needs_sign_in: [\"\", x]\n", nil, []string{"hooks.needs_sign_in", "program (first word) is empty"}},
		{"nested list", "hooks:\n  refreshed: [[a]]\n", nil, []string{"hooks.refreshed", "element 1 is not a word"}},
		{"timeout too short", "hooks:\n  timeout: 500ms\n", nil, []string{"hooks.timeout", "1s–10m"}},
		{"timeout too long", "hooks:\n  timeout: 11m\n", nil, []string{"hooks.timeout", "1s–10m"}},
		{"typo", "hooks:\n  refresh: [x]\n", nil, []string{"hooks.refresh", "did you mean hooks.refreshed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := noEnv
			if tt.env != nil {
				env = envOf(tt.env)
			}
			_, err := Load(LoadOptions{Path: writeFile(t, tt.file), Env: env})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load() = %v; want *ValidationError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load() error %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

func FuzzParseArgv(f *testing.F) {
	for _, s := range []string{"", "prog", `["sh","-c","x"]`, "a b", "[", `[""]`, `["a\u0000"]`, `[1,2]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv, err := parseArgv(s)
		if err != nil {
			return
		}
		if len(argv) > 0 && argv[0] == "" {
			t.Fatalf("parseArgv(%q) = %q with an empty program", s, argv)
		}
		back, err := parseArgv(formatArgv(argv))
		if err != nil || !cmp.Equal(argv, back) {
			t.Fatalf("parseArgv(formatArgv(%q)) = %q, %v; want the same list", argv, back, err)
		}
	})
}
