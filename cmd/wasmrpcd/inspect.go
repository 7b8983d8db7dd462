package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// inspection is what `wasmrpcd inspect` prints: the file, and the
// manifest the module declares.
type inspection struct {
	File   string `json:"file"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	*abi.Manifest
}

// runInspect is `wasmrpcd inspect FILE.wasm`: load the module as the
// daemon would (compile, check the ABI version, run _initialize and
// wasmrpc.manifest in the sandbox, check the exports the manifest names)
// and print its manifest as JSON.
func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wasmrpcd inspect FILE.wasm")
		fmt.Fprintln(fs.Output(), "Prints the module's manifest as JSON; fails when the file is not a module of ABI version", abi.Version)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: wasmrpcd inspect FILE.wasm", errUsage)
	}
	path := fs.Arg(0)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt, err := wasm.NewRuntime(ctx, wasm.Config{Logger: log})
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	m, err := rt.Load(ctx, path, b, wasm.Limits{MaxInstances: 1})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(inspection{File: path, Size: m.Size(), SHA256: m.Digest(), Manifest: m.Manifest()})
}
