package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// runCompile is `wasmrpcd compile --cache-dir DIR [--key-file F] FILE.wasm`:
// compile a module into a compilation cache, sealed with the cache's key
// (a config's cache_key_file, created when missing), so that a daemon on that cache loads
// it without compiling. The daemon runs it, with the module on standard
// input (FILE "-") and one CPU fewer than the machine has, for every
// module its cache does not hold yet; a deployment can run it before
// putting a new file in place.
//
// Exit status: 0 compiled (or already in the cache), 1 the file is not a
// valid module, 3 any other failure.
func runCompile(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("compile", stderr)
	dir := fs.String("cache-dir", "", "the compilation cache `directory` (a config's cache_dir)")
	keyFile := fs.String("key-file", "", "the cache's key `file` (a config's cache_key_file); default: cache_key_file's default")
	cpus := fs.Int("cpus", 0, "compile on at most `N` CPUs; 0: all")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wasmrpcd compile --cache-dir DIR [--key-file FILE] FILE.wasm  (FILE - reads standard input)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() != 1 {
		return fmt.Errorf("%w: wasmrpcd compile --cache-dir DIR FILE.wasm", errUsage)
	}
	if *keyFile == "" {
		var err error
		if *keyFile, err = config.DefaultCacheKeyFile(); err != nil {
			return exitError{code: 3, msg: fmt.Sprintf("cache_key_file: no default: %v; give --key-file", err)}
		}
	}
	key, err := wasm.LoadCacheKey(*keyFile)
	if err != nil {
		return exitError{code: 3, msg: err.Error()}
	}
	if *cpus > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*cpus))
	}
	var b []byte
	if path := fs.Arg(0); path == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return exitError{code: 3, msg: err.Error()}
	}
	if err := wasm.Precompile(ctx, *dir, key, b); err != nil {
		if errors.Is(err, wasm.ErrInvalidModule) {
			return exitError{code: 1, msg: err.Error()}
		}
		return exitError{code: 3, msg: err.Error()}
	}
	return nil
}
