package sockpath

import "golang.org/x/sys/unix"

// PeerCredentials is true where PeerUID works.
const PeerCredentials = true

// PeerUID returns the uid of the process on the other end of the unix
// socket fd, as the kernel recorded it at connect (LOCAL_PEERCRED, what
// getpeereid(3) reads).
func PeerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}
