package main

import (
	"errors"
	"syscall"

	sdk "github.com/wasmrpcd/wasmrpcd/guest-sdk"
	"github.com/wasmrpcd/wasmrpcd/guest-sdk/py"
)

// oserror is how Python on Linux reports an errno: its number, its
// os.strerror text and the OSError subclass OSError(errno, …) becomes.
type oserror struct {
	errno int
	text  string
	class string
}

// oserrors maps the errnos a file read can fail with to Python's view of
// them. A wasip1 guest sees WASI's errno numbers; Python reports Linux's.
var oserrors = map[syscall.Errno]oserror{
	syscall.EPERM:   {1, "Operation not permitted", "PermissionError"},
	syscall.ENOENT:  {2, "No such file or directory", "FileNotFoundError"},
	syscall.EBADF:   {9, "Bad file descriptor", "OSError"},
	syscall.EACCES:  {13, "Permission denied", "PermissionError"},
	syscall.ENOTDIR: {20, "Not a directory", "NotADirectoryError"},
	syscall.EISDIR:  {21, "Is a directory", "IsADirectoryError"},
	syscall.ENOSYS:  {38, "Function not implemented", "OSError"},
}

// readHostFile tries to read path. Inside wasmrpcd it always fails: the
// guest has no preopened directory, so WASI answers EBADF, raised as
// Python raises OSError(errno, os.strerror(errno), path):
// OSError "[Errno 9] Bad file descriptor: '/etc/passwd'".
//
// It reads with package syscall, as os.ReadFile does underneath: package
// os would bring time's formatting and parsing into the module, a sixth
// of its code, for nothing.
func readHostFile(path string) (string, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY, 0)
	if err != nil {
		return "", osError(path, err)
	}
	defer syscall.Close(fd)
	var out []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := syscall.Read(fd, buf)
		if err != nil {
			return "", osError(path, err)
		}
		if n == 0 {
			return string(out), nil
		}
		out = append(out, buf[:n]...)
	}
}

// osError is the OSError Python raises for err, an errno.
func osError(path string, err error) error {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return sdk.NewError("OSError", err.Error())
	}
	oe, ok := oserrors[en]
	if !ok {
		oe = oserror{int(en), en.Error(), "OSError"}
	}
	return sdk.Errorf(oe.class, "[Errno %d] %s: %s", oe.errno, oe.text, py.Repr(path)).WithArgs(oe.errno, oe.text)
}
