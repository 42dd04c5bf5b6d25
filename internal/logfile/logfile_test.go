package logfile

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// kept returns the lines of path's files, oldest first, and checks each
// file's mode and size against p.
func kept(t *testing.T, path string, p Policy) []string {
	t.Helper()
	var lines []string
	for i := p.Keep; i >= 0; i-- {
		name := path
		if i > 0 {
			name = old(path, i)
		}
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v; want 0600", name, fi.Mode().Perm())
		}
		if i > 0 && fi.Size() <= p.MaxSize {
			t.Errorf("%s holds %d bytes; want more than the limit %d (a file is rotated only past it)", name, fi.Size(), p.MaxSize)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
	}
	if _, err := os.Stat(old(path, p.Keep+1)); err == nil {
		t.Errorf("%s exists; want %d old files", old(path, p.Keep+1), p.Keep)
	}
	return lines
}

// TestAppendRotates: past the limit a file moves to path.1, older ones
// shift, the oldest beyond Keep goes; every line newer than the oldest kept
// one is kept, in order; files are 0600 in a 0700 directory.
func TestAppendRotates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "app.log")
	p := Policy{MaxSize: 4096, Keep: 3}
	const n = 1000
	for i := range n {
		if err := Append(path, fmt.Appendf(nil, "line %d %s\n", i, strings.Repeat("x", 40)), p); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(dir); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700) {
		t.Errorf("directory: %v, %v; want mode 0700", fi.Mode().Perm(), err)
	}
	lines := kept(t, path, p)
	first, err := strconv.Atoi(strings.Fields(lines[0])[1])
	if err != nil {
		t.Fatalf("first kept line %q", lines[0])
	}
	for i, l := range lines {
		if want := fmt.Sprintf("line %d ", first+i); !strings.HasPrefix(l, want) {
			t.Fatalf("kept line %d is %.20q; want %q…: lines were lost or reordered", i, l, want)
		}
	}
	if last := first + len(lines) - 1; last != n-1 {
		t.Errorf("the newest kept line is %d; want %d", last, n-1)
	}
}

// TestAppendConcurrentRotatesOnce: writers appending at once, each as a
// process would (its own opens and locks), lose nothing newer than the
// oldest kept line: a file is rotated once, not once per writer that saw
// it past the limit (a second rename would replace the file just rotated).
func TestAppendConcurrentRotatesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.jsonl")
	p := Policy{MaxSize: 8192, Keep: 1}
	const writers, each = 8, 400
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := Append(path, fmt.Appendf(nil, "w%d %d %s\n", w, i, strings.Repeat("y", 30)), p); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Per writer, the kept lines are the last ones it wrote, none missing.
	next := map[string]int{}
	for _, l := range kept(t, path, p) {
		f := strings.Fields(l)
		i, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("kept line %q", l)
		}
		if want, seen := next[f[0]]; seen && i != want {
			t.Fatalf("writer %s: line %d follows line %d; lines between were lost", f[0], i, want-1)
		}
		next[f[0]] = i + 1
	}
	if len(next) == 0 {
		t.Fatal("no line kept")
	}
	for w, got := range next { // a writer done early may have none left
		if got != each {
			t.Errorf("writer %s: newest kept line %d; want %d", w, got-1, each-1)
		}
	}
}

// TestWriter: Writer appends each Write whole and reports its length.
func TestWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokentray.log")
	w := Writer{Path: path, Policy: Policy{MaxSize: MaxSize, Keep: KeptLog}}
	for _, s := range []string{"one\n", "two\n"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
		}
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "one\ntwo\n" {
		t.Errorf("file holds %q, %v; want both writes", b, err)
	}
	if _, err := (Writer{Path: filepath.Join(path, "not-a-dir", "x.log")}).Write([]byte("x\n")); err == nil || !strings.Contains(err.Error(), "not-a-dir") {
		t.Errorf("Write under a file = %v; want an error naming the path", err)
	}
}
