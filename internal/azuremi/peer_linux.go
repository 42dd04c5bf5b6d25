package azuremi

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// procRoot is where /proc is (tests point it elsewhere).
var procRoot = "/proc"

// tcpPeerPID returns the pid of the process holding the client end of the
// loopback TCP connection from remote to local: the socket whose local
// address is remote and remote address is local in /proc/net/tcp{,6}, found
// by its inode among /proc/PID/fd. 0 when it cannot be told (the process is
// another user's, or gone).
func tcpPeerPID(local, remote netip.AddrPort) int {
	inode := tcpInode(remote, local)
	if inode == "" {
		return 0
	}
	return socketOwner(inode)
}

// tcpInode returns the inode of the TCP socket whose local address is
// from and remote address is to ("" when none is listed).
func tcpInode(from, to netip.AddrPort) string {
	for _, table := range []string{"net/tcp", "net/tcp6"} {
		f, err := os.Open(filepath.Join(procRoot, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 {
				continue
			}
			l, ok1 := parseProcAddr(fs[1])
			r, ok2 := parseProcAddr(fs[2])
			if ok1 && ok2 && sameEnd(l, from) && sameEnd(r, to) && fs[9] != "0" {
				f.Close()
				return fs[9]
			}
		}
		f.Close()
	}
	return ""
}

// sameEnd compares addresses, taking an IPv4-mapped IPv6 address (a tcp6
// socket reached over IPv4) as its IPv4 address.
func sameEnd(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

// parseProcAddr parses "0100007F:1F90": the address as the kernel's
// native-endian 32-bit words in hex, the port in hex.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr, uint16(port)), true
}

// socketOwner returns the pid of a process with an open file
// "socket:[inode]", 0 when none can be read. Newest pids first: the
// sender is most often a program just started (a script, an SDK's
// process), and reading every process's open files costs milliseconds.
func socketOwner(inode string) int {
	want := "socket:[" + inode + "]"
	procs, err := os.ReadDir(procRoot)
	if err != nil {
		return 0
	}
	var pids []int
	for _, p := range procs {
		if pid, err := strconv.Atoi(p.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	slices.SortFunc(pids, func(a, b int) int { return b - a })
	for _, pid := range pids {
		dir := filepath.Join(procRoot, strconv.Itoa(pid), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && l == want {
				return pid
			}
		}
	}
	return 0
}
