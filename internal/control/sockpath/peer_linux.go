package sockpath

import "syscall"

// PeerCredentials is true where PeerUID works.
const PeerCredentials = true

// PeerUID returns the uid of the process on the other end of the unix
// socket fd, as the kernel recorded it at connect (SO_PEERCRED).
func PeerUID(fd int) (int, error) {
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}
