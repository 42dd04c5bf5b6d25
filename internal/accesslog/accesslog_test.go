package accesslog

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)

func entry(i int, account string) Entry {
	return Entry{At: t0.Add(time.Duration(i) * time.Second), Account: account, PID: 1000 + i, Exe: "/usr/bin/curl", Client: "1.2.3", Via: ViaKeeper}
}

func TestRecordRecentAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "access.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	if got := l.Recent("", 0); len(got) != 0 {
		t.Fatalf("Recent() of a new log = %v; want none", got)
	}
	for i := range 5 {
		acct := "work"
		if i%2 == 1 {
			acct = "home"
		}
		if err := l.Record(entry(i, acct)); err != nil {
			t.Fatalf("Record() = %v", err)
		}
	}
	want := []Entry{entry(4, "work"), entry(2, "work")}
	if diff := cmp.Diff(want, l.Recent("work", 2)); diff != "" {
		t.Errorf("Recent(work, 2) (-want +got):\n%s", diff)
	}
	if got := l.Recent("", 0); len(got) != 5 || got[0].PID != 1004 {
		t.Errorf("Recent(all) = %v; want 5 entries, newest first", got)
	}
	// After a restart the file gives the same answer.
	l2, err := Open(path)
	if err != nil {
		t.Fatalf("Open() again = %v", err)
	}
	if diff := cmp.Diff(l.Recent("", 0), l2.Recent("", 0)); diff != "" {
		t.Errorf("Recent after reopening (-before +after):\n%s", diff)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("access log mode %v; want 0600", fi.Mode().Perm())
		}
	}
}

func TestRingKeepsNewest(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "access.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range RingSize + 20 {
		l.Record(entry(i, "work"))
	}
	got := l.Recent("", 0)
	if len(got) != RingSize || got[0].PID != 1000+RingSize+19 || got[RingSize-1].PID != 1000+20 {
		t.Errorf("Recent() after %d records: %d entries, newest pid %d, oldest pid %d; want the newest %d",
			RingSize+20, len(got), got[0].PID, got[len(got)-1].PID, RingSize)
	}
}

func TestRotationKeepsOneOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.jsonl")
	e := entry(0, "work")
	e.Exe = "/opt/" + strings.Repeat("x", 900) // about 1 KiB a line
	n := 0
	for {
		if err := Append(path, e); err != nil {
			t.Fatal(err)
		}
		n++
		if _, err := os.Stat(path + ".1"); err == nil {
			break
		}
		if n > 5000 {
			t.Fatal("no rotation after 5 MB")
		}
	}
	for range 3000 { // past a second rotation: still one old file
		Append(path, e)
	}
	matches, _ := filepath.Glob(path + "*")
	matches = slices.DeleteFunc(matches, func(p string) bool { return p == path+".lock" }) // rotation's lock
	if len(matches) != 2 {
		t.Errorf("files %v; want the log and one rotated file", matches)
	}
	for _, p := range matches {
		fi, _ := os.Stat(p)
		if fi.Size() > MaxFileSize+2<<10 {
			t.Errorf("%s is %d bytes; want about %d at most", p, fi.Size(), MaxFileSize)
		}
	}
	got, err := Read(path, "", 0)
	if err != nil || len(got) != RingSize {
		t.Errorf("Read() = %d entries, %v; want %d", len(got), err, RingSize)
	}
}

func TestParseSkipsWhatIsNotAnEntry(t *testing.T) {
	good := `{"at":"2026-12-06T21:00:00Z","account":"work","pid":7,"via":"keeper"}`
	in := strings.Join([]string{
		good,
		"not json",
		`{"at":"2026-12-06T21:00:00Z"}`, // no account
		`{"account":"work"}`,            // no time
		`{"at":` + strings.Repeat(" ", 70<<10) + `"x"}`, // over-long
		good,
		`{"at":"2026-12-06T21:00:01Z","account":"to`, // torn last line
	}, "\n")
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	if len(got) != 2 || got[0].PID != 7 || got[1].Account != "work" {
		t.Errorf("Parse() = %v; want the two good entries", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"at":"2026-12-06T21:00:00Z","account":"work","pid":7,"via":"keeper"}` + "\n"))
	f.Add([]byte("x\n{\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			t.Fatalf("Parse() = %v; a reader that never fails gives no error", err)
		}
		if len(es) > RingSize {
			t.Fatalf("Parse() = %d entries; at most %d", len(es), RingSize)
		}
		for _, e := range es {
			if e.Account == "" || e.At.IsZero() {
				t.Fatalf("Parse() kept %v", e)
			}
		}
	})
}

func Example() {
	dir, _ := os.MkdirTemp("", "accesslog")
	defer os.RemoveAll(dir)
	l, _ := Open(filepath.Join(dir, "access.jsonl"))
	l.Record(Entry{At: t0, Account: "work", PID: 4242, Exe: "/usr/bin/curl", Via: ViaKeeper})
	for _, e := range l.Recent("work", 10) {
		fmt.Println(e.Account, e.PID, e.Exe)
	}
	// Output: work 4242 /usr/bin/curl
}

// TestLongScopesKeepTheEntry: an entry whose scopes encode past the line
// limit (32 scopes of 512 bytes, each character escaped by JSON) is
// written with the scopes that fit and a count of the rest, and read back;
// before, the line was skipped on read and the entry vanished from
// `tokentray log`.
func TestLongScopesKeepTheEntry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.jsonl")
	var scopes []string
	for i := range 32 {
		scopes = append(scopes, fmt.Sprintf("api://%02d/%s", i, strings.Repeat("<", 500)))
	}
	if err := Append(path, Entry{Account: "work", Scopes: scopes, Via: ViaKeeper}); err != nil {
		t.Fatal(err)
	}
	es, err := Read(path, "", 10)
	if err != nil || len(es) != 1 {
		t.Fatalf("Read = %d entries, %v; want the one entry", len(es), err)
	}
	got := es[0].Scopes
	if len(got) < 2 || got[0] != scopes[0] || !strings.HasPrefix(got[len(got)-1], "… and ") {
		t.Errorf("scopes read back: %d, first %.20q, last %.30q; want the first scopes and a count of the rest", len(got), got[0], got[len(got)-1])
	}
}
