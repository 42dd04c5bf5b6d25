package keeper

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/internal/logfile"
)

// TestLoggerRotates: the keeper's log, tokentray.log, is rotated by size
// like access.jsonl: written past the limit it moves to numbered old files
// (0600), and every record newer than the oldest kept one is kept.
func TestLoggerRotates(t *testing.T) {
	dir := t.TempDir()
	log, err := newLogger(dir, "info", nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000 // about 1 KiB each: past the kept files' size
	pad := strings.Repeat("x", 1000)
	for i := range n {
		log.Info("filler", "seq", i, "pad", pad)
	}
	path := filepath.Join(dir, "tokentray.log")
	var seqs []int
	for i := logfile.KeptLog; i >= 0; i-- {
		p := path
		if i > 0 {
			p = fmt.Sprintf("%s.%d", path, i)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("after %d records of 1 KiB: %v", n, err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v; want 0600", p, fi.Mode().Perm())
		}
		if fi.Size() > logfile.MaxSize+2048 {
			t.Errorf("%s holds %d bytes; want at most the limit (%d) and a record", p, fi.Size(), logfile.MaxSize)
		}
		if i > 0 && fi.Size() <= logfile.MaxSize {
			t.Errorf("%s holds %d bytes; want more than the limit (%d): a file is rotated only past it", p, fi.Size(), logfile.MaxSize)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			_, rest, ok := strings.Cut(sc.Text(), " seq=")
			seq, err := strconv.Atoi(strings.Fields(rest + " ")[0])
			if !ok || err != nil {
				t.Fatalf("%s: a line that is not a record: %.100q", p, sc.Text())
			}
			seqs = append(seqs, seq)
		}
		f.Close()
	}
	if _, err := os.Stat(fmt.Sprintf("%s.%d", path, logfile.KeptLog+1)); err == nil {
		t.Errorf("%s.%d exists; want %d old files", path, logfile.KeptLog+1, logfile.KeptLog)
	}
	if len(seqs) == 0 || seqs[len(seqs)-1] != n-1 {
		t.Fatalf("the newest record kept is not the last written (%d records kept)", len(seqs))
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("record %d follows record %d: records between them were lost", seqs[i], seqs[i-1])
		}
	}
}
