package s2n

import (
	"syscall"
	"unsafe"
)

func ioctlInt(fd int, req uintptr) (int, error) {
	var v int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(&v)))
	if errno != 0 {
		return 0, errno
	}
	return int(v), nil
}
