package wasm

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// The compilation cache holds machine code the daemon runs: whoever can
// write it can run code as the daemon. So the cache directory must be
// the daemon's user's and writable by it alone (as must be the
// directories above it, unless sticky like /tmp), and every entry is
// authenticated with a key kept outside it (see cacheentry.go and
// docs/RATIONALE.md).

// CacheKeySize is the size of a compilation cache's key, in bytes.
const CacheKeySize = 32

// checkCacheDir creates dir (0700) when it is missing and refuses it
// unless it is a directory that this process's user owns and that
// neither group nor others may write, below directories that no other
// user may replace it in.
func checkCacheDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	if err := checkPrivateDir(real); err != nil {
		return err
	}
	for p := filepath.Dir(real); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("wasm: compilation cache: %w", err)
		}
		if uid, ok := fileOwner(st); ok && uid != 0 && uid != os.Geteuid() {
			return fmt.Errorf("wasm: compilation cache %s: its parent directory %s is owned by %s, who could replace the cache (and so run code as the daemon); choose a cache_dir under directories of root or %s",
				dir, p, userName(uid), userName(os.Geteuid()))
		}
		if st.Mode().Perm()&0o022 != 0 && st.Mode()&fs.ModeSticky == 0 {
			return fmt.Errorf("wasm: compilation cache %s: its parent directory %s has mode %04o, so other users could replace the cache (and so run code as the daemon); chmod go-w %s or choose another cache_dir",
				dir, p, st.Mode().Perm(), p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// checkPrivateDir refuses dir unless it is a directory of this
// process's user that neither group nor others may write.
func checkPrivateDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("wasm: compilation cache %s is not a directory", dir)
	}
	if uid, ok := fileOwner(st); ok && uid != os.Geteuid() {
		return fmt.Errorf("wasm: compilation cache %s is owned by %s, not by %s that the daemon runs as: its owner could make the daemon run any machine code; chown %s it or choose another cache_dir",
			dir, userName(uid), userName(os.Geteuid()), userName(os.Geteuid()))
	}
	if m := st.Mode().Perm(); m&0o022 != 0 {
		return fmt.Errorf("wasm: compilation cache %s has mode %04o: group or others may write it, and so make the daemon run any machine code; chmod 700 it or choose another cache_dir",
			dir, m)
	}
	return nil
}

// LoadCacheKey returns the key in the file path, creating the file (and
// its directory, 0700) with a new random key when it does not exist.
// The file holds the key in hex, must be a regular file of this
// process's user and readable by it alone (mode 0600 or 0400).
func LoadCacheKey(path string) ([]byte, error) {
	key, err := readCacheKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createCacheKey(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("wasm: cache key: %w", err)
	}
	return readCacheKey(path) // ours, or another process's that came first
}

func readCacheKey(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("wasm: cache key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("wasm: cache key: %w", err)
	}
	switch uid, ok := fileOwner(st); {
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("wasm: cache key %s is not a regular file", path)
	case ok && uid != os.Geteuid():
		return nil, fmt.Errorf("wasm: cache key %s is owned by %s, not by %s that the daemon runs as; chown it, or remove it to have a new key made (the cache is then compiled again)",
			path, userName(uid), userName(os.Geteuid()))
	case st.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("wasm: cache key %s has mode %04o: group or others may read or write it; chmod 600 it",
			path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 2*CacheKeySize+2))
	if err != nil {
		return nil, fmt.Errorf("wasm: cache key: %w", err)
	}
	key, err := hex.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(key) != CacheKeySize {
		return nil, fmt.Errorf("wasm: cache key %s does not hold %d hex digits; remove it to have a new key made (the cache is then compiled again)",
			path, 2*CacheKeySize)
	}
	return key, nil
}

// createCacheKey writes a new random key to path, unless it exists: the
// key is written to a temporary file that is then linked to path, so
// that no process ever reads a partial key.
func createCacheKey(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	key := make([]byte, CacheKeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}
