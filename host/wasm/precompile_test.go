package wasm

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestPrecompileFillsTheCache(t *testing.T) {
	dir := t.TempDir()
	wasm := readWasm(t, "echo")
	if isSealed(dir, wasm) {
		t.Fatal("an empty cache holds the module")
	}
	if err := Precompile(context.Background(), dir, testKey, wasm); err != nil {
		t.Fatal(err)
	}
	if !isSealed(dir, wasm) {
		t.Fatal("after Precompile the cache does not hold the module")
	}
	// A runtime on the same cache loads it without its Compiler.
	r, _ := newRuntime(t, Config{CacheDir: dir, Compiler: func(context.Context, []byte) error {
		t.Error("the Compiler was called for a module the cache holds")
		return nil
	}})
	load(t, r, "echo", Limits{})
}

func TestPrecompileRefusesInvalidModules(t *testing.T) {
	for name, wasm := range map[string][]byte{
		"not wasm":  []byte("hello"),
		"truncated": readWasm(t, "echo")[:20],
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			err := Precompile(context.Background(), dir, testKey, wasm)
			if !errors.Is(err, ErrInvalidModule) {
				t.Fatalf("Precompile: %v, want ErrInvalidModule", err)
			}
			if isSealed(dir, wasm) {
				t.Error("an invalid module is recorded as compiled")
			}
		})
	}
}

func TestRuntimeCompilesNewModulesWithItsCompiler(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	r, _ := newRuntime(t, Config{CacheDir: dir, Compiler: func(ctx context.Context, wasm []byte) error {
		calls.Add(1)
		return Precompile(ctx, dir, testKey, wasm)
	}})
	load(t, r, "echo", Limits{})
	load(t, r, "echo", Limits{})
	if n := calls.Load(); n != 1 {
		t.Errorf("the Compiler ran %d times for one module loaded twice, want 1", n)
	}
	load(t, r, "cadder", Limits{})
	if n := calls.Load(); n != 2 {
		t.Errorf("the Compiler ran %d times for two modules, want 2", n)
	}
}

func TestRuntimeRefusesWhatItsCompilerRefuses(t *testing.T) {
	refused := errors.New("no")
	r, _ := newRuntime(t, Config{CacheDir: t.TempDir(), Compiler: func(context.Context, []byte) error { return refused }})
	_, err := r.Load(context.Background(), "echo", readWasm(t, "echo"), Limits{})
	var le *LoadError
	if !errors.As(err, &le) || !errors.Is(err, refused) {
		t.Fatalf("Load: %v, want a LoadError with the Compiler's error", err)
	}
}

func TestCompilerNeedsACacheDir(t *testing.T) {
	_, err := NewRuntime(context.Background(), Config{Compiler: func(context.Context, []byte) error { return nil }})
	if err == nil {
		t.Fatal("NewRuntime took a Compiler without a CacheDir")
	}
}

// TestCompilerProcess runs real processes (sh) that end as a compiler
// process can.
func TestCompilerProcess(t *testing.T) {
	out := filepath.Join(t.TempDir(), "stdin")
	tests := []struct {
		name    string
		script  string
		want    error  // nil: success
		message string // in the error
	}{
		{"compiled", `cat > ` + out, nil, ""},
		{"invalid module", `echo "starting" >&2; echo "not a valid wasmrpcd module: invalid magic number" >&2; exit 1`,
			ErrInvalidModule, "not a valid wasmrpcd module: invalid magic number"},
		{"other failure", `echo "mkdir /x: permission denied" >&2; exit 3`, ErrCompiler, "exit status 3): mkdir /x: permission denied"},
		{"killed", `kill -9 $$`, ErrCompiler, "signal: killed"},
		{"exit 1 without a message", `exit 1`, ErrCompiler, "exit status 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CompilerProcess("sh", "-c", tt.script)(context.Background(), []byte("\x00asm module bytes"))
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := os.ReadFile(out); string(b) != "\x00asm module bytes" {
					t.Errorf("the process read %q on its standard input", b)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("err = %q, want it to contain %q", err, tt.message)
			}
			if strings.Count(err.Error(), ErrInvalidModule.Error()) > 1 {
				t.Errorf("err = %q repeats %q", err, ErrInvalidModule)
			}
		})
	}
	t.Run("missing program", func(t *testing.T) {
		err := CompilerProcess(filepath.Join(t.TempDir(), "none"))(context.Background(), nil)
		if !errors.Is(err, ErrCompiler) {
			t.Fatalf("err = %v, want ErrCompiler", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := CompilerProcess("sh", "-c", "sleep 5")(ctx, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

// TestPrecompileCacheError: a cache directory that cannot take the
// compiled form is the cache's error, not the module's.
func TestPrecompileCacheError(t *testing.T) {
	wasm := readWasm(t, "echo")
	// The directory of the entries is a file here: nothing can be
	// written in it.
	bad := t.TempDir()
	if err := os.WriteFile(versionDir(bad), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := Precompile(context.Background(), bad, testKey, wasm)
	if err == nil || errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), "compilation cache") {
		t.Fatalf("Precompile into a broken cache: %v, want a compilation cache error", err)
	}
}

// isSealed reports whether the cache in dir holds an entry of wasm that
// passes its check with testKey.
func isSealed(dir string, wasm []byte) bool {
	_, err := readSealed(versionDir(dir), testKey, sha256.Sum256(wasm), io.Discard)
	return err == nil
}
