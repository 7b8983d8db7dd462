package wasm

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
)

// The persistent compilation cache is ours, not wazero's: wazero reads
// its file cache without authenticating it, so it is never given the
// cache directory. Each compiled module is one sealed entry,
//
//	<cache_dir>/wasmrpcd-<wazero version>-<arch>-<os>/<SHA-256 of the wasm>
//
// holding wazero's serialized form of the module, the name wazero files
// it under, and an HMAC-SHA256 over both and the module's digest, with
// the key of cache_key_file. A compile (Precompile) writes it from a
// private directory of its own; a load checks it and copies wazero's
// bytes into the runtime's staging directory (a private directory made
// at start), where wazero finds them. An entry that fails its check is
// removed, logged, and the module compiled again: its code never runs.

// sealMagic starts every sealed entry; its last byte is the format's
// version.
var sealMagic = []byte("WRPCSEA\x01")

// sealContext starts what each entry's MAC covers, so that the key
// authenticates nothing else.
const sealContext = "wasmrpcd compiled module v1\x00"

const (
	sealHeaderSize = 8 + sha256.Size + sha256.Size // magic, MAC, wazero's key
	// maxSealedSize caps an entry read back: a module's machine code is
	// a few times its size, and max_module_size is 256 MiB by default.
	maxSealedSize = 4 << 30
)

// errNotCached says the cache holds no entry for a module.
var errNotCached = errors.New("not in the cache")

// errTampered says an entry fails its check.
var errTampered = errors.New("compiled module fails its authentication check")

// versionDir is the directory of the sealed entries in the cache dir:
// one per wazero version and platform, as wazero names its own.
func versionDir(cacheDir string) string {
	return filepath.Join(cacheDir, "wasmrpcd-"+wazeroVersion()+"-"+runtime.GOARCH+"-"+runtime.GOOS)
}

// ensureVersionDir creates the cache's version directory and checks it
// as the cache dir itself.
func ensureVersionDir(cacheDir string) (string, error) {
	dir := versionDir(cacheDir)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("wasm: compilation cache: %w", err)
	}
	return dir, checkPrivateDir(dir)
}

// newSealMAC returns the MAC of an entry, to which its payload is then
// written.
func newSealMAC(key []byte, digest [sha256.Size]byte, wazeroKey [sha256.Size]byte) hash.Hash {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sealContext))
	m.Write(digest[:])
	m.Write(wazeroKey[:])
	return m
}

// sealMAC is the MAC of an entry.
func sealMAC(key []byte, digest [sha256.Size]byte, wazeroKey [sha256.Size]byte, payload []byte) []byte {
	m := newSealMAC(key, digest, wazeroKey)
	m.Write(payload)
	return m.Sum(nil)
}

// writeSealed stores wazero's serialized module payload, filed by wazero
// under wazeroKey, as the entry of the module whose SHA-256 is digest.
func writeSealed(dir string, key []byte, digest, wazeroKey [sha256.Size]byte, payload []byte) error {
	tmp, err := os.CreateTemp(dir, ".entry-*")
	if err != nil {
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	var head bytes.Buffer
	head.Write(sealMagic)
	head.Write(sealMAC(key, digest, wazeroKey, payload))
	head.Write(wazeroKey[:])
	_, err = tmp.Write(head.Bytes())
	if err == nil {
		_, err = tmp.Write(payload)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, hex.EncodeToString(digest[:])))
	}
	if err != nil {
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	return nil
}

// readSealed checks the entry of the module whose SHA-256 is digest
// while it copies wazero's bytes of it to w: errNotCached when there is
// none (or only the empty marker of an older wasmrpcd), an error wrapping
// errTampered when it fails its check. What was written to w is to be
// used only when readSealed returns nil.
func readSealed(dir string, key []byte, digest [sha256.Size]byte, w io.Writer) (wazeroKey [sha256.Size]byte, err error) {
	path := filepath.Join(dir, hex.EncodeToString(digest[:]))
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return wazeroKey, errNotCached
	}
	if err != nil {
		return wazeroKey, fmt.Errorf("%w: %v", errTampered, err)
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		return wazeroKey, fmt.Errorf("wasm: compilation cache: %w", err)
	case !st.Mode().IsRegular():
		return wazeroKey, fmt.Errorf("%w: %s is not a regular file", errTampered, path)
	case st.Size() == 0:
		return wazeroKey, errNotCached
	case st.Size() < sealHeaderSize || st.Size() > maxSealedSize:
		return wazeroKey, fmt.Errorf("%w: %s has %d bytes", errTampered, path, st.Size())
	}
	if uid, ok := fileOwner(st); ok && uid != os.Geteuid() {
		return wazeroKey, fmt.Errorf("%w: %s is owned by %s", errTampered, path, userName(uid))
	}
	var head [sealHeaderSize]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return wazeroKey, fmt.Errorf("%w: reading %s: %v", errTampered, path, err)
	}
	if !bytes.Equal(head[:len(sealMagic)], sealMagic) {
		return wazeroKey, fmt.Errorf("%w: %s is not an entry of this wasmrpcd", errTampered, path)
	}
	copy(wazeroKey[:], head[len(sealMagic)+sha256.Size:])
	m := newSealMAC(key, digest, wazeroKey)
	n, err := io.CopyBuffer(io.MultiWriter(w, m), io.LimitReader(f, st.Size()-sealHeaderSize), make([]byte, 1<<20))
	if err != nil {
		return wazeroKey, fmt.Errorf("%w: reading %s: %v", errTampered, path, err)
	}
	if n != st.Size()-sealHeaderSize || !hmac.Equal(head[len(sealMagic):len(sealMagic)+sha256.Size], m.Sum(nil)) {
		return wazeroKey, fmt.Errorf("%w: %s (changed, or sealed with another cache key)", errTampered, path)
	}
	return wazeroKey, nil
}

// staleAfter is the age after which the private directory of a compile,
// or a partial entry, in the cache is taken for the leftover of a process
// that died.
const staleAfter = time.Hour

// stageLock is the file in a staging directory that its runtime holds
// locked for as long as it uses the directory.
const stageLock = ".lock"

// removeStale removes the leftovers of processes that died in dir: the
// staging directories that no runtime holds locked (whatever their age:
// a daemon may run for months, and `wasmrpcd check` may run beside it),
// and the compile directories and partial entries older than staleAfter.
func removeStale(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		switch {
		case strings.HasPrefix(e.Name(), ".stage-"):
			if unlock, ok := tryLock(filepath.Join(path, stageLock)); ok {
				_ = os.RemoveAll(path)
				unlock()
			}
		case strings.HasPrefix(e.Name(), "."):
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleAfter {
				_ = os.RemoveAll(path)
			}
		}
	}
}

// staging is a runtime's private directory of wazero's file cache: a
// checked entry's payload is written there for the time of a compile,
// so that wazero reads only bytes that passed the check.
type staging struct {
	dir       string // the private directory
	wazeroDir string // wazero's own directory in it
	unlock    func() // releases the lock of stageLock

	mu     sync.Mutex
	staged map[[sha256.Size]byte]int // wazero key → loads using it
}

// newStaging makes a staging directory in the cache's version directory
// vdir; wazeroDir is found once wazero made its directory in it.
func newStaging(vdir string) (*staging, error) {
	dir, err := os.MkdirTemp(vdir, ".stage-")
	if err != nil {
		return nil, fmt.Errorf("wasm: compilation cache: %w", err)
	}
	unlock, ok := tryLock(filepath.Join(dir, stageLock))
	if !ok {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("wasm: compilation cache: cannot lock %s", filepath.Join(dir, stageLock))
	}
	return &staging{dir: dir, unlock: unlock, staged: map[[sha256.Size]byte]int{}}, nil
}

// findWazeroDir records the directory wazero made in the staging
// directory for its entries.
func (s *staging) findWazeroDir() error {
	dirs, _ := filepath.Glob(filepath.Join(s.dir, "wazero-*"))
	if len(dirs) != 1 {
		return fmt.Errorf("wasm: compilation cache: wazero made %d directories in %s, want 1", len(dirs), s.dir)
	}
	s.wazeroDir = dirs[0]
	return nil
}

// stage checks the entry of the module whose SHA-256 is digest in the
// cache's version directory vdir (see readSealed) as it copies it to a
// temporary file of the staging directory, and then puts the file where
// wazero looks for it, until the returned function is called.
func (s *staging) stage(vdir string, key []byte, digest [sha256.Size]byte) (release func(), err error) {
	tmp, err := os.CreateTemp(s.wazeroDir, ".stage-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("wasm: compilation cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // once renamed, a no-op
	wazeroKey, err := readSealed(vdir, key, digest, tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("wasm: compilation cache: %w", cerr)
	}
	if err != nil {
		return nil, err
	}
	path := filepath.Join(s.wazeroDir, hex.EncodeToString(wazeroKey[:]))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.staged[wazeroKey] == 0 {
		if err := os.Rename(tmp.Name(), path); err != nil {
			return nil, fmt.Errorf("wasm: compilation cache: %w", err)
		}
	}
	s.staged[wazeroKey]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.staged[wazeroKey]--; s.staged[wazeroKey] == 0 {
			delete(s.staged, wazeroKey)
			_ = os.Remove(path)
		}
		s.sweep()
	}, nil
}

// sweep removes what wazero wrote to the staging directory itself (the
// module it compiled when the staged entry did not fit, as on another
// CPU): the persistent cache holds only sealed entries. The caller holds
// s.mu.
func (s *staging) sweep() {
	entries, err := os.ReadDir(s.wazeroDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			continue // being written by wazero
		}
		var k [sha256.Size]byte
		if b, err := hex.DecodeString(e.Name()); err == nil && len(b) == len(k) {
			copy(k[:], b)
			if s.staged[k] > 0 {
				continue
			}
		}
		_ = os.Remove(filepath.Join(s.wazeroDir, e.Name()))
	}
}

// close removes the staging directory.
func (s *staging) close() error {
	err := os.RemoveAll(s.dir)
	s.unlock()
	return err
}

// diskCache is a runtime's side of the persistent cache.
type diskCache struct {
	vdir   string // the version directory of the sealed entries
	key    []byte
	staged *staging
}

// openDiskCache checks the cache dir, loads the key, and returns the
// disk cache and the wazero cache on its staging directory.
func openDiskCache(cacheDir, keyFile string) (*diskCache, wazero.CompilationCache, error) {
	if keyFile == "" {
		return nil, nil, errors.New("wasm: a CacheDir needs a CacheKeyFile")
	}
	if err := checkCacheDir(cacheDir); err != nil {
		return nil, nil, err
	}
	key, err := LoadCacheKey(keyFile)
	if err != nil {
		return nil, nil, err
	}
	vdir, err := ensureVersionDir(cacheDir)
	if err != nil {
		return nil, nil, err
	}
	removeStale(vdir)
	st, err := newStaging(vdir)
	if err != nil {
		return nil, nil, err
	}
	cache, err := wazero.NewCompilationCacheWithDir(st.dir)
	if err == nil {
		err = st.findWazeroDir()
	}
	if err != nil {
		_ = st.close()
		return nil, nil, fmt.Errorf("wasm: compilation cache: %w", err)
	}
	return &diskCache{vdir: vdir, key: key, staged: st}, cache, nil
}

// stage makes the checked compiled form of wasm (whose SHA-256 is
// digest) available to wazero until release is called. An entry that
// fails its check is logged and removed, and the module is compiled
// again, by compiler when not nil (out of process), else here.
func (c *diskCache) stage(ctx context.Context, name string, digest [sha256.Size]byte, wasm []byte, compiler Compiler, log *slog.Logger) (release func(), err error) {
	release, err = c.staged.stage(c.vdir, c.key, digest)
	if err == nil || (!errors.Is(err, errNotCached) && !errors.Is(err, errTampered)) {
		return release, err
	}
	if errors.Is(err, errTampered) {
		log.Warn("compiled module in the cache refused; compiling it again", "module", name, "err", err)
		if rerr := os.Remove(filepath.Join(c.vdir, hex.EncodeToString(digest[:]))); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return nil, fmt.Errorf("wasm: compilation cache: cannot remove a refused entry: %w", rerr)
		}
	}
	began := time.Now()
	if compiler != nil {
		if err := compiler(ctx, wasm); err != nil {
			return nil, err
		}
		log.Info("module compiled out of process", "module", name, "took", time.Since(began))
	} else if err := compileSealed(ctx, c.vdir, c.key, digest, wasm); err != nil {
		return nil, err
	}
	release, err = c.staged.stage(c.vdir, c.key, digest)
	if errors.Is(err, errNotCached) || errors.Is(err, errTampered) {
		return nil, fmt.Errorf("%w: the compiled module it stored cannot be read back: %v", ErrCompiler, err)
	}
	return release, err
}

func (c *diskCache) close() error { return c.staged.close() }
