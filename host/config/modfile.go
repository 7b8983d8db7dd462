package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Read reads the module file f, at most limit bytes, and checks its
// sha256 pin; it returns the content and its SHA-256 (lowercase hex).
//
// Whatever is at the path is refused unless it is a regular file, which
// is checked on the opened file: the file is opened without blocking
// (a FIFO with no writer, or a device, would otherwise hold the open or
// the read forever), then fstat says what it is. A file larger than
// limit is refused by its size before a byte is read, and the read is
// capped at limit+1 bytes, so that a file that grows meanwhile (or a
// sparse one) costs at most that much memory. The digest is computed in
// the same pass as the read.
func (f ModuleFile) Read(limit Size) (data []byte, digest string, err error) {
	fh, size, err := f.open(limit)
	if err != nil {
		return nil, "", err
	}
	defer fh.Close()
	h := sha256.New()
	buf := bytes.NewBuffer(make([]byte, 0, size))
	n, err := io.Copy(io.MultiWriter(buf, h), io.LimitReader(fh, int64(limit)+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", f.Path, err)
	}
	if n > int64(limit) {
		return nil, "", tooLarge(f.Path, 0, limit)
	}
	digest = hex.EncodeToString(h.Sum(nil))
	if err := f.VerifyDigest(digest); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), digest, nil
}

// open opens the module file for Read and returns its size.
func (f ModuleFile) open(limit Size) (*os.File, int64, error) {
	// Refuse what is plainly not a regular file without opening it (an
	// open of a device has effects of its own); the check that counts
	// is the fstat below, on what was opened.
	if st, err := os.Stat(f.Path); err == nil && !st.Mode().IsRegular() {
		return nil, 0, notRegular(f.Path, st.Mode())
	}
	fh, err := os.OpenFile(f.Path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, err
	}
	st, err := fh.Stat()
	switch {
	case err != nil:
	case !st.Mode().IsRegular():
		err = notRegular(f.Path, st.Mode())
	case st.Size() > int64(limit):
		err = tooLarge(f.Path, st.Size(), limit)
	}
	if err != nil {
		fh.Close()
		return nil, 0, err
	}
	return fh, st.Size(), nil
}

func notRegular(path string, mode os.FileMode) error {
	return fmt.Errorf("%s is not a regular file (it is %s); a module must be a regular file", path, fileKind(mode))
}

// tooLarge refuses a file of size bytes, or of more than limit when
// size is 0 (a file that grew while it was read).
func tooLarge(path string, size int64, limit Size) error {
	if size == 0 {
		return fmt.Errorf("%s is more than max_module_size %s", path, limit)
	}
	return fmt.Errorf("%s is %s, more than max_module_size %s", path, Size(size), limit)
}

// fileKind names the type of a file mode.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}
