package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
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

// Precompile compiles wasm into the compilation cache in dir, with the
// configuration of every Runtime, so that a Runtime whose CacheDir is dir
// then loads it from the cache. It is what a compiler process runs. It
// fails when wasm does not compile or the compiled form cannot be stored.
func Precompile(ctx context.Context, dir string, wasm []byte) error {
	if !bytes.HasPrefix(wasm, wasmMagic) {
		return fmt.Errorf("%w: not a WebAssembly binary (it does not start with \\0asm)", ErrInvalidModule)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
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
	// A cache that cannot take the record only costs a compiler process
	// at each load of the module.
	sum := sha256.Sum256(wasm)
	_ = markCompiled(dir, hex.EncodeToString(sum[:]))
	return nil
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

// The compilation cache's key is wazero's own; which modules it holds is
// kept beside it, one empty file per module named by the digest of its
// bytes, in a directory named by wazero's version and the platform (as
// wazero names its own), written once the compiled form is in the cache.

// compiledMarker returns the path of the marker of the module whose
// SHA-256 is digest (lowercase hex) in the cache dir.
func compiledMarker(dir, digest string) string {
	return filepath.Join(dir, "wasmrpcd-"+wazeroVersion()+"-"+runtime.GOARCH+"-"+runtime.GOOS, digest)
}

// isCompiled reports whether the cache in dir holds the compiled form of
// the module whose SHA-256 is digest.
func isCompiled(dir, digest string) bool {
	_, err := os.Stat(compiledMarker(dir, digest))
	return err == nil
}

// markCompiled records that the cache in dir holds the compiled form of
// the module whose SHA-256 is digest.
func markCompiled(dir, digest string) error {
	path := compiledMarker(dir, digest)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("wasm: compilation cache: %w", err)
	}
	return f.Close()
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
