//go:build !linux && !darwin

package sockpath

import "errors"

// PeerCredentials is false here: the kernel does not tell the uid of a
// socket's peer in a way this package reads; the directory checks (CheckDir
// and the keeper's own) protect the socket.
const PeerCredentials = false

// PeerUID is not available here.
func PeerUID(int) (int, error) {
	return -1, errors.New("peer credentials are not available on this system")
}
