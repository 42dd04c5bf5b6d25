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
