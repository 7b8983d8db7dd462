package modules_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// BenchmarkEcho measures one echo call through host/wasm for the Go SDK
// module and the C module, with a small and a 64 KiB string.
func BenchmarkEcho(b *testing.B) {
	for _, mod := range []string{"testkit/testkit.wasm", "cadder/cadder.wasm"} {
		m := load(b, mod, wasm.Limits{MaxInstances: 1}, nil)
		for _, size := range []int{16, 64 << 10} {
			args := enc(b, map[string]any{"value": strings.Repeat("x", size)})
			b.Run(strings.Split(mod, "/")[0]+"/"+formatSize(size), func(b *testing.B) {
				b.SetBytes(int64(len(args)))
				for b.Loop() {
					if _, err := m.Call(context.Background(), "rpc.echo", nil, args); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkAddBinding measures a call whose arguments are bound to a typed
// struct and whose answer is an argument error, the SDK's slowest path.
func BenchmarkAddBinding(b *testing.B) {
	m := load(b, "testkit/testkit.wasm", wasm.Limits{MaxInstances: 1}, nil)
	args := enc(b, map[string]any{"a": 1, "x": 2})
	for b.Loop() {
		if _, err := m.Call(context.Background(), "rpc.add", nil, args); err == nil {
			b.Fatal("add(a=1, x=2) succeeded")
		}
	}
}

func formatSize(n int) string {
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// BenchmarkTrivial measures the cheapest call of each module: the fixed
// cost of entering the guest, binding no arguments and encoding a result.
func BenchmarkTrivial(b *testing.B) {
	m := load(b, "testkit/testkit.wasm", wasm.Limits{MaxInstances: 1}, nil)
	for b.Loop() {
		if _, err := m.Call(context.Background(), "rpc._private", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
