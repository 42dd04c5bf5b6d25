// Package accesslog records who was handed a token: when, which account and
// scopes, and the requesting program as the operating system names it. It
// keeps the newest entries in memory and appends every entry to a JSON-lines
// file (0600) in the state directory, rotated at MaxFileSize with one old
// file kept. An entry never holds a token.
package accesslog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tokentray/tokentray/internal/logfile"
)

// Sizes.
const (
	// RingSize is how many entries a Log keeps in memory (and Recent and
	// Read return at most).
	RingSize = 500
	// MaxFileSize is the size past which the file is rotated to path+".1"
	// (replacing the older one) before the next entry is appended.
	MaxFileSize = logfile.MaxSize
	maxLine     = 16 << 10 // longer lines in the file are skipped
)

// How a token was handed out.
const (
	ViaKeeper    = "keeper"     // the running keeper answered a client on its socket
	ViaInProcess = "in-process" // `tokentray token` ran the engine itself (no keeper)
)

// Entry is one token handed out. It holds no secret.
type Entry struct {
	At      time.Time `json:"at"`
	Account string    `json:"account"`
	Scopes  []string  `json:"scopes,omitempty"` // the scopes asked for; empty: the account's own
	PID     int       `json:"pid,omitempty"`    // the requesting process; 0: unknown
	Exe     string    `json:"exe,omitempty"`    // its executable; "": unknown
	// ParentPID and ParentExe are the requesting process's parent: for a
	// `tokentray token` process, the program that ran it.
	ParentPID int    `json:"parent_pid,omitempty"`
	ParentExe string `json:"parent_exe,omitempty"`
	// ParentScript is what the parent runs when it is an interpreter: the
	// script's absolute path (bash nightly-report), or the option that gave
	// it code on its command line ("-c"); never that code.
	ParentScript string `json:"parent_script,omitempty"`
	Client       string `json:"client,omitempty"` // the tokentray version of the client
	Via          string `json:"via"`              // ViaKeeper or ViaInProcess
}

// Log is an access log backed by a file. It is safe for concurrent use.
type Log struct {
	path string

	mu   sync.Mutex
	ring []Entry // oldest first, at most RingSize
}

// Open returns the log kept in path, its newest entries read back into
// memory (from path+".1" too). A missing file is an empty log.
func Open(path string) (*Log, error) {
	es, err := Read(path, "", RingSize)
	if err != nil {
		return nil, err
	}
	slices.Reverse(es)
	return &Log{path: path, ring: es}, nil
}

// New returns an empty log that appends to path (what Open returns when
// path cannot be read back).
func New(path string) *Log { return &Log{path: path} }

// Path returns the file the log appends to.
func (l *Log) Path() string { return l.path }

// Record adds e to memory and appends it to the file. A file error is
// returned, but e is kept in memory all the same.
func (l *Log) Record(e Entry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring = append(l.ring, e)
	if over := len(l.ring) - RingSize; over > 0 {
		l.ring = slices.Delete(l.ring, 0, over)
	}
	return Append(l.path, e)
}

// Recent returns up to n entries (n <= 0 or more than RingSize: RingSize),
// newest first, of account (all accounts when "").
func (l *Log) Recent(account string, n int) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return pick(l.ring, account, n)
}

// pick returns up to n entries of account from es (oldest first), newest first.
func pick(es []Entry, account string, n int) []Entry {
	if n <= 0 || n > RingSize {
		n = RingSize
	}
	out := []Entry{}
	for i := len(es) - 1; i >= 0 && len(out) < n; i-- {
		if account == "" || es[i].Account == account {
			out = append(out, es[i])
		}
	}
	return out
}

// Append appends e (At zero: now) as one line to the file at path (created
// 0600, its directory 0700), first rotating a file larger than MaxFileSize
// (logfile.Append: processes appending at once do not mix their lines, and
// rotate a full file once).
func Append(path string, e Entry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	b, err := encodeLine(e)
	if err != nil {
		return fmt.Errorf("access log: encode: %w", err)
	}
	if err := logfile.Append(path, append(b, '\n'), logfile.Policy{MaxSize: MaxFileSize, Keep: 1}); err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	return nil
}

// Read returns up to n entries (see Recent for n) of account ("" for all)
// from the file at path and its rotated predecessor, newest first. Lines
// that are not entries are skipped. Missing files are empty.
func Read(path, account string, n int) ([]Entry, error) {
	var all []Entry
	for _, p := range []string{path + ".1", path} {
		es, err := readFile(p)
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
	}
	return pick(all, account, n), nil
}

func readFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	defer f.Close()
	es, err := Parse(io.LimitReader(f, 2*MaxFileSize))
	if err != nil {
		return nil, fmt.Errorf("access log %s: %w", path, err)
	}
	return es, nil
}

// Parse reads JSON-lines entries from r, oldest first, skipping lines that
// are not entries (a torn last line, an over-long line, other text) and
// keeping the newest RingSize.
func Parse(r io.Reader) ([]Entry, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []Entry
	for {
		line, err := br.ReadSlice('\n')
		long := false
		for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of a long line
			long = true
			_, err = br.ReadSlice('\n')
		}
		if !long && len(line) <= maxLine {
			if e, ok := parseLine(line); ok {
				out = append(out, e)
				if len(out) > 2*RingSize {
					out = slices.Delete(out, 0, len(out)-RingSize)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(out) > RingSize {
		out = out[len(out)-RingSize:]
	}
	return out, nil
}

func parseLine(line []byte) (Entry, bool) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return Entry{}, false
	}
	var e Entry
	if err := json.Unmarshal(line, &e); err != nil || e.Account == "" || e.At.IsZero() {
		return Entry{}, false
	}
	return e, true
}

// encodeLine encodes e as one line of at most maxLine bytes (longer lines
// are skipped when read): scopes that do not fit are dropped from the end
// and named by count ("… and N more scopes"), so the entry is never lost.
func encodeLine(e Entry) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil || len(b) < maxLine {
		return b, err
	}
	all := e.Scopes
	for n := len(all) - 1; n >= 0; n-- {
		e.Scopes = append(slices.Clip(all[:n]), fmt.Sprintf("… and %d more scopes", len(all)-n))
		if b, err = json.Marshal(e); err != nil || len(b) < maxLine {
			return b, err
		}
	}
	return b, nil
}
