package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// entryPath is the path of wasm's sealed entry in the cache dir.
func entryPath(dir string, wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return filepath.Join(versionDir(dir), hex.EncodeToString(sum[:]))
}

// patchMachineCode flips one byte of the machine code in a sealed entry
// and fixes the CRC32C that wazero checks, as an attacker would: only
// the entry's MAC can tell.
func patchMachineCode(t *testing.T, entry []byte) []byte {
	t.Helper()
	b := bytes.Clone(entry)
	p := b[sealHeaderSize:] // wazero's form: "WAZEVO", version, functions, code, CRC
	if !bytes.HasPrefix(p, []byte("WAZEVO")) {
		t.Fatalf("the entry's payload starts with %q, not wazero's magic", p[:6])
	}
	off := 6 + 1 + int(p[6])
	n := int(binary.LittleEndian.Uint32(p[off:]))
	off += 4 + 8*n
	codeLen := int(binary.LittleEndian.Uint64(p[off:]))
	off += 8
	code := p[off : off+codeLen]
	code[len(code)/2] ^= 0xff
	binary.LittleEndian.PutUint32(p[off+codeLen:], crc32.Checksum(code, crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func TestCacheRefusesTamperedEntries(t *testing.T) {
	echo, cadder := readWasm(t, "echo"), readWasm(t, "cadder")
	otherKey := bytes.Repeat([]byte{7}, CacheKeySize)
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
	}{
		{"machine code patched, CRC fixed", func(t *testing.T, dir string) {
			b, err := os.ReadFile(entryPath(dir, echo))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, entryPath(dir, echo), patchMachineCode(t, b))
		}},
		{"sealed with another key", func(t *testing.T, dir string) {
			os.Remove(entryPath(dir, echo))
			if err := Precompile(context.Background(), dir, otherKey, echo); err != nil {
				t.Fatal(err)
			}
		}},
		{"another module's entry", func(t *testing.T, dir string) {
			if err := Precompile(context.Background(), dir, testKey, cadder); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(entryPath(dir, cadder))
			writeFile(t, entryPath(dir, echo), b)
		}},
		{"truncated", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(entryPath(dir, echo))
			writeFile(t, entryPath(dir, echo), b[:len(b)/2])
		}},
		{"header only", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(entryPath(dir, echo))
			writeFile(t, entryPath(dir, echo), b[:sealHeaderSize])
		}},
		{"a FIFO", func(t *testing.T, dir string) {
			os.Remove(entryPath(dir, echo))
			if err := syscall.Mkfifo(entryPath(dir, echo), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"a symbolic link to another module's entry", func(t *testing.T, dir string) {
			if err := Precompile(context.Background(), dir, testKey, cadder); err != nil {
				t.Fatal(err)
			}
			os.Remove(entryPath(dir, echo))
			if err := os.Symlink(entryPath(dir, cadder), entryPath(dir, echo)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Precompile(context.Background(), dir, testKey, echo); err != nil {
				t.Fatal(err)
			}
			tt.tamper(t, dir)
			if isSealed(dir, echo) {
				t.Fatal("the tampered entry passes its check")
			}
			var compiles atomic.Int32
			r, rec := newRuntime(t, Config{CacheDir: dir, Compiler: func(ctx context.Context, wasm []byte) error {
				compiles.Add(1)
				return Precompile(ctx, dir, testKey, wasm)
			}})
			m := load(t, r, "echo", Limits{})
			if n := compiles.Load(); n != 1 {
				t.Errorf("the module compiled %d times, want once", n)
			}
			if _, err := m.Call(context.Background(), "rpc.echo", nil, enc(t, map[string]any{"value": 1})); err != nil {
				t.Errorf("call: %v", err)
			}
			var warned int
			for _, r := range rec.all() {
				if strings.Contains(r.Msg, "compiled module in the cache refused") {
					warned++
				}
			}
			if warned != 1 {
				t.Errorf("%d warnings of a refused entry, want 1: %v", warned, rec.all())
			}
			if !isSealed(dir, echo) {
				t.Error("the module's entry was not written again")
			}
		})
	}
}

// TestCacheIgnoresWazeroEntries: an entry planted in wazero's own format
// where wazero would look in the cache dir is never read.
func TestCacheIgnoresWazeroEntries(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "wazero-"+wazeroVersion()+"-x"), 0o700); err != nil {
		t.Fatal(err)
	}
	r, _ := newRuntime(t, Config{CacheDir: dir})
	load(t, r, "echo", Limits{})
	matches, _ := filepath.Glob(filepath.Join(dir, "wazero-*", "*"))
	if len(matches) != 0 {
		t.Errorf("wazero wrote to the cache dir itself: %v", matches)
	}
}

func TestCacheDirIsPrivate(t *testing.T) {
	root := os.Geteuid() == 0
	tests := []struct {
		name    string
		setup   func(t *testing.T, parent string) string // returns the cache dir
		asRoot  bool                                     // needs root (chown)
		wantErr string                                   // "" accepted
	}{
		{"created 0700", func(t *testing.T, p string) string { return filepath.Join(p, "a", "cache") }, false, ""},
		{"existing 0700", func(t *testing.T, p string) string { return mkdir(t, p, "cache", 0o700) }, false, ""},
		{"existing 0755", func(t *testing.T, p string) string { return mkdir(t, p, "cache", 0o755) }, false, ""},
		{"writable by others", func(t *testing.T, p string) string { return mkdir(t, p, "cache", 0o777) }, false, "has mode 0777: group or others may write it"},
		{"writable by its group", func(t *testing.T, p string) string { return mkdir(t, p, "cache", 0o770) }, false, "has mode 0770"},
		{"under a directory others may write", func(t *testing.T, p string) string {
			return mkdir(t, mkdir(t, p, "shared", 0o777), "cache", 0o700)
		}, false, "parent directory"},
		{"under a sticky directory others may write", func(t *testing.T, p string) string {
			d := mkdir(t, p, "tmp", 0o777)
			if err := os.Chmod(d, 0o777|fs.ModeSticky); err != nil {
				t.Fatal(err)
			}
			return mkdir(t, d, "cache", 0o700)
		}, false, ""},
		{"a symbolic link to a private directory", func(t *testing.T, p string) string {
			d := mkdir(t, p, "real", 0o700)
			l := filepath.Join(p, "link")
			if err := os.Symlink(d, l); err != nil {
				t.Fatal(err)
			}
			return l
		}, false, ""},
		{"a file", func(t *testing.T, p string) string {
			f := filepath.Join(p, "file")
			writeFile(t, f, nil)
			return f
		}, false, "not a directory"},
		{"owned by another user", func(t *testing.T, p string) string {
			d := mkdir(t, p, "cache", 0o700)
			if err := os.Chown(d, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return d
		}, true, "is owned by uid 65534"},
		{"entries' directory writable by others", func(t *testing.T, p string) string {
			d := mkdir(t, p, "cache", 0o700)
			mkdir(t, d, filepath.Base(versionDir(d)), 0o777)
			return d
		}, false, "has mode 0777"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.asRoot && !root {
				t.Skip("needs root to chown")
			}
			dir := tt.setup(t, t.TempDir())
			r, err := NewRuntime(context.Background(), Config{CacheDir: dir, CacheKeyFile: testKeyFile})
			if err == nil {
				defer r.Close(context.Background())
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewRuntime: %v", err)
				}
				st, err := os.Stat(versionDir(dir))
				if err != nil || st.Mode().Perm() != 0o700 {
					t.Errorf("the entries' directory: %v, %v; want mode 0700", st.Mode(), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewRuntime: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
	t.Run("created 0700", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new")
		r, err := NewRuntime(context.Background(), Config{CacheDir: dir, CacheKeyFile: testKeyFile})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(context.Background())
		if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("new cache dir: %v %v, want mode 0700", st.Mode(), err)
		}
	})
	t.Run("precompile checks it too", func(t *testing.T) {
		dir := mkdir(t, t.TempDir(), "cache", 0o777)
		err := Precompile(context.Background(), dir, testKey, readWasm(t, "echo"))
		if err == nil || !strings.Contains(err.Error(), "has mode 0777") {
			t.Fatalf("Precompile: %v, want the cache dir refused", err)
		}
	})
}

func TestLoadCacheKey(t *testing.T) {
	t.Run("created once, 0600", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state", "cache.key")
		k1, err := LoadCacheKey(path)
		if err != nil {
			t.Fatal(err)
		}
		k2, err := LoadCacheKey(path)
		if err != nil || !bytes.Equal(k1, k2) || len(k1) != CacheKeySize {
			t.Fatalf("second load: %x %v, want %x", k2, err, k1)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("key file: %v %v, want mode 0600", st.Mode(), err)
		}
		if st, err := os.Stat(filepath.Dir(path)); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("key file's directory: %v %v, want mode 0700", st.Mode(), err)
		}
	})
	good := strings.Repeat("ab", CacheKeySize) + "\n"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		owner   int // -1: ours
		wantErr string
	}{
		{"read only by us", good, 0o400, -1, ""},
		{"readable by others", good, 0o644, -1, "has mode 0644"},
		{"readable by the group", good, 0o640, -1, "has mode 0640"},
		{"short", "abcd\n", 0o600, -1, "does not hold 64 hex digits"},
		{"not hex", strings.Repeat("zz", CacheKeySize), 0o600, -1, "does not hold 64 hex digits"},
		{"owned by another user", good, 0o600, 65534, "is owned by uid 65534"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.owner >= 0 && os.Geteuid() != 0 {
				t.Skip("needs root to chown")
			}
			path := filepath.Join(t.TempDir(), "cache.key")
			writeFile(t, path, []byte(tt.content))
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			if tt.owner >= 0 {
				if err := os.Chown(path, tt.owner, tt.owner); err != nil {
					t.Fatal(err)
				}
			}
			key, err := LoadCacheKey(path)
			if tt.wantErr == "" {
				if err != nil || len(key) != CacheKeySize {
					t.Fatalf("LoadCacheKey: %x %v", key, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadCacheKey: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
	t.Run("a FIFO", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "cache.key")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCacheKey(path); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("LoadCacheKey: %v, want a FIFO refused", err)
		}
	})
	t.Run("needed with a cache dir", func(t *testing.T) {
		if _, err := NewRuntime(context.Background(), Config{CacheDir: t.TempDir()}); err == nil {
			t.Fatal("NewRuntime took a CacheDir without a key")
		}
	})
}

// FuzzReadSealed: whatever bytes an entry holds, reading it never panics
// and passes only for what writeSealed wrote with the key.
func FuzzReadSealed(f *testing.F) {
	dir := f.TempDir()
	digest := sha256.Sum256([]byte("module"))
	var wk [sha256.Size]byte
	if err := writeSealed(dir, testKey, digest, wk, []byte("WAZEVO payload")); err != nil {
		f.Fatal(err)
	}
	sealed, err := os.ReadFile(filepath.Join(dir, hex.EncodeToString(digest[:])))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(sealed[:sealHeaderSize])
	f.Add([]byte{})
	f.Add([]byte("WRPCSEA\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, hex.EncodeToString(digest[:]))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		_, err := readSealed(dir, testKey, digest, &out)
		payload := out.Bytes()
		switch {
		case err == nil && !bytes.Equal(b, sealed):
			t.Fatalf("an entry that is not the sealed one passes its check: %q", b)
		case err == nil && string(payload) != "WAZEVO payload":
			t.Fatalf("payload %q", payload)
		case err != nil && bytes.Equal(b, sealed):
			t.Fatalf("the sealed entry fails: %v", err)
		case err != nil && len(b) > 0 && !errors.Is(err, errTampered):
			t.Fatalf("error %v does not wrap errTampered", err)
		}
	})
}

func mkdir(t *testing.T, parent, name string, mode os.FileMode) string {
	t.Helper()
	d := filepath.Join(parent, name)
	if err := os.Mkdir(d, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return d
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// all returns every record kept.
func (h *logRecorder) all() []logRecord {
	root := h.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	return append([]logRecord(nil), root.records...)
}

// BenchmarkCacheStage measures what the sealed cache adds to a cached
// Load: reading a module's entry, checking its MAC, and staging wazero's
// bytes for it (then removing them).
func BenchmarkCacheStage(b *testing.B) {
	for _, name := range []string{"testkit", "echo"} {
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			wasm := readWasm(b, name)
			if err := Precompile(context.Background(), dir, testKey, wasm); err != nil {
				b.Fatal(err)
			}
			disk, cache, err := openDiskCache(dir, testKeyFile)
			if err != nil {
				b.Fatal(err)
			}
			defer cache.Close(context.Background())
			defer disk.close()
			digest := sha256.Sum256(wasm)
			log := slog.New(slog.DiscardHandler)
			for b.Loop() {
				release, err := disk.stage(context.Background(), name, digest, wasm, nil, log)
				if err != nil {
					b.Fatal(err)
				}
				release()
			}
		})
	}
}

// TestCacheStagingOfAnotherRuntime: a runtime starting on a cache dir
// removes the staging directories of runtimes gone, never those of
// runtimes alive (a daemon and a `wasmrpcd check` beside it), whatever
// their age.
func TestCacheStagingOfAnotherRuntime(t *testing.T) {
	dir := t.TempDir()
	vdir, err := ensureVersionDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	dead := mkdir(t, vdir, ".stage-dead", 0o700)
	writeFile(t, filepath.Join(dead, stageLock), nil) // nobody holds it
	first, _ := newRuntime(t, Config{CacheDir: dir})
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(first.disk.staged.dir, old, old); err != nil {
		t.Fatal(err)
	}
	second, _ := newRuntime(t, Config{CacheDir: dir})
	if _, err := os.Stat(dead); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the staging directory of a runtime gone is still there: %v", err)
	}
	for i, r := range []*Runtime{first, second} {
		m := load(t, r, "echo", Limits{})
		if _, err := m.Call(context.Background(), "rpc.echo", nil, enc(t, map[string]any{"value": i})); err != nil {
			t.Errorf("runtime %d: %v", i, err)
		}
	}
}
