package wasm_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// A module is loaded once and called many times; each failure is a
// *wasm.CallError that says what went wrong.
func Example() {
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)

	b, err := os.ReadFile("testdata/misbehave.wasm")
	if err != nil {
		panic(err)
	}
	m, err := rt.Load(ctx, "misbehave", b, wasm.Limits{MaxInstances: 2})
	if err != nil {
		panic(err)
	}

	args, _ := cborcodec.Marshal(map[string]any{"greeting": "hello"})
	value, err := m.Call(ctx, "rpc.echo", nil, args)
	var echoed map[string]any
	_ = cborcodec.Unmarshal(value, &echoed)
	fmt.Println(echoed, err)

	_, err = m.Call(ctx, "rpc.trap", nil, nil)
	fmt.Println(errors.Is(err, wasm.ErrTrap), err)

	_, err = m.Call(ctx, "rpc.oob_ptr", nil, nil)
	fmt.Println(errors.Is(err, wasm.ErrBadPointer), err)

	_, err = m.Call(ctx, "rpc.nope", nil, nil)
	fmt.Println(errors.Is(err, wasm.ErrNoSuchExport), err)
	// Output:
	// map[greeting:hello] <nil>
	// true wasm: module misbehave, rpc.trap: guest trapped: wasm error: unreachable
	// true wasm: module misbehave, rpc.oob_ptr: guest returned a pointer outside its memory: 10 bytes at 0xffff0000, memory is 6291456 bytes
	// true wasm: module misbehave, rpc.nope: no such export in the module's manifest
}

// Load refuses a module of another ABI version before reading anything
// else about it.
func ExampleRuntime_Load_abiVersion() {
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)

	b, err := os.ReadFile("testdata/abi_v2.wasm")
	if err != nil {
		panic(err)
	}
	_, err = rt.Load(ctx, "abi_v2", b, wasm.Limits{})
	fmt.Println(errors.Is(err, wasm.ErrABIVersion))
	fmt.Println(err)
	// Output:
	// true
	// wasm: loading module abi_v2: ABI version mismatch: the module speaks wasmrpcd ABI version 2, this host speaks version 1; rebuild it with an SDK for version 1
}
