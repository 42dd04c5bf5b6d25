//go:build windows

package hooks

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

var sizeofExtended = unsafe.Sizeof(windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{})

func unsafePointer(p *windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION) unsafe.Pointer {
	return unsafe.Pointer(p)
}

// accounting returns the job's basic accounting information.
func accounting(job windows.Handle) (jobAccounting, error) {
	var info jobAccounting
	err := windows.QueryInformationJobObject(job, windows.JobObjectBasicAccountingInformation, uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil)
	return info, err
}
