//go:build !unix

package wasm

import (
	"io/fs"
	"strconv"
)

// fileOwner cannot tell a file's owner on this system.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }

func userName(uid int) string { return "uid " + strconv.Itoa(uid) }
