//go:build unix

package wasm

import (
	"io/fs"
	"os/user"
	"strconv"
	"syscall"
)

// fileOwner returns the user ID of a file's owner.
func fileOwner(st fs.FileInfo) (int, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(s.Uid), true
}

// userName names a user ID in messages: "uid 65534 (nobody)".
func userName(uid int) string {
	id := strconv.Itoa(uid)
	if u, err := user.LookupId(id); err == nil {
		return "uid " + id + " (" + u.Username + ")"
	}
	return "uid " + id
}
