package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
)

// A Compiler compiles a module into a Runtime's on-disk compilation
// cache before the Runtime loads it, out of the Runtime's process: a
// compile of a large module takes hundreds of milliseconds of every CPU
// and allocates hundreds of megabytes, which in another process neither
// holds the calls of the modules already serving behind Go's scheduler
// nor grows their heap, and cannot crash the daemon. [CompilerProcess]
// returns one. It is called only for bytes the cache does not hold yet.
type Compiler func(ctx context.Context, wasm []byte) error

// Precompile compiles wasm into the compilation cache in dir, sealed
// with key (see [LoadCacheKey]) and with the configuration of every
// Runtime, so that a Runtime whose CacheDir is dir and whose key is key
// then loads it from the cache. It is what a compiler process runs. It
// does nothing when the cache holds the module already, and fails when
// wasm does not compile, or the cache dir is not private to this user
// (see docs/CONFIG.md, cache_dir), or the compiled form cannot be stored.
func Precompile(ctx context.Context, dir string, key []byte, wasm []byte) error {
	if !bytes.HasPrefix(wasm, wasmMagic) {
		return fmt.Errorf("%w: not a WebAssembly binary (it does not start with \\0asm)", ErrInvalidModule)
	}
	if len(key) != CacheKeySize {
		return fmt.Errorf("wasm: compilation cache: the key has %d bytes, want %d", len(key), CacheKeySize)
	}
	if err := checkCacheDir(dir); err != nil {
		return err
	}
	vdir, err := ensureVersionDir(dir)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(wasm)
	if _, err := readSealed(vdir, key, digest, io.Discard); err == nil {
		return nil
	}
	return compileSealed(ctx, vdir, key, digest, wasm)
}

// compileSealed compiles what sandbox makes of wasm, whose SHA-256 is
// digest, in a private directory of its own in the cache's version
// directory vdir, and seals what wazero wrote there as the module's
// entry: the entry of a module's digest holds its sandboxed form.
func compileSealed(ctx context.Context, vdir string, key []byte, digest [sha256.Size]byte, wasm []byte) error {
	tmp, err := os.MkdirTemp(vdir, ".compile-")
	if err != nil {
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	cache, err := wazero.NewCompilationCacheWithDir(tmp)
	if err != nil {
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	defer cache.Close(context.Background())
	rt := wazero.NewRuntimeWithConfig(ctx, runtimeConfig(cache))
	defer rt.Close(context.Background())
	// The Runtime compiles what sandbox makes of the module: so must its
	// compiler, for the cache to hold what the Runtime looks up.
	sb, err := sandbox(wasm)
	if err != nil {
		return err
	}
	compiled, err := rt.CompileModule(compileContext(ctx), sb.wasm)
	if err != nil {
		return compileError(ctx, err)
	}
	_ = compiled.Close(context.Background())
	files, _ := filepath.Glob(filepath.Join(tmp, "wazero-*", "*"))
	files = slices.DeleteFunc(files, func(f string) bool { return strings.Contains(filepath.Base(f), ".tmp") })
	if len(files) != 1 {
		return fmt.Errorf("wasm: compilation cache: the compile left %d entries, want 1", len(files))
	}
	var wazeroKey [sha256.Size]byte
	b, err := hex.DecodeString(filepath.Base(files[0]))
	if err != nil || len(b) != len(wazeroKey) {
		return fmt.Errorf("wasm: compilation cache: wazero filed the module as %q", filepath.Base(files[0]))
	}
	copy(wazeroKey[:], b)
	payload, err := os.ReadFile(files[0])
	if err != nil {
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	return writeSealed(vdir, key, digest, wazeroKey, payload)
}

// compileError classifies an error of wazero's CompileModule: the
// context's, the cache directory's (a file it could not write), or else
// the module's own.
func compileError(ctx context.Context, err error) error {
	var pathErr *fs.PathError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &pathErr):
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	return fmt.Errorf("%w: %v", ErrInvalidModule, err)
}

// CompilerProcess returns a Compiler that runs argv (a program and its
// arguments, such as `wasmrpcd compile --cache-dir DIR -`) with the
// module's bytes on its standard input. The program must compile them
// with [Precompile] into the Runtime's CacheDir and exit 0, or exit 1
// when they are not a valid module; the last line it wrote to its
// standard error is the error. Any other end (another exit code, a
// signal, such as the kernel's OOM killer's) is an [ErrCompiler].
func CompilerProcess(argv ...string) Compiler {
	return func(ctx context.Context, wasm []byte) error {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdin = bytes.NewReader(wasm)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 1 && msg != "" {
			return fmt.Errorf("%w: %s", ErrInvalidModule, strings.TrimPrefix(msg, ErrInvalidModule.Error()+": "))
		}
		if msg == "" {
			return fmt.Errorf("%w (%v)", ErrCompiler, err)
		}
		return fmt.Errorf("%w (%v): %s", ErrCompiler, err, msg)
	}
}

// wazeroVersion is the version of wazero built in, "dev" when unknown.
func wazeroVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/tetratelabs/wazero" {
				if m.Replace != nil {
					m = m.Replace
				}
				if m.Version != "" && m.Version != "(devel)" {
					return m.Version
				}
			}
		}
	}
	return "dev"
}
