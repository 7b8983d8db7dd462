package wasm

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// The benchmarks docs/BENCHMARKS.md records ("Wasm call path"):
//
//	go test -run '^$' -bench . -benchmem ./host/wasm/

// benchArgs are the keyword arguments of the benchmarked call: echo with
// a 100-byte string.
var benchArgs = mustMarshal(map[string]any{"value": strings.Repeat("x", 100)})

// nativeEcho is testkit's echo written as a native Go handler taking and
// returning the same CBOR bytes as the wasm path.
func nativeEcho(_ context.Context, _, args []byte) ([]byte, error) {
	var a struct {
		Value any `cbor:"value"`
	}
	if err := cborcodec.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	return cborcodec.Marshal(a.Value)
}

func benchRuntime(b *testing.B) *Runtime {
	r, err := NewRuntime(context.Background(), Config{Logger: slog.New(slog.DiscardHandler), CacheDir: testCacheDir, CacheKeyFile: testKeyFile})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close(context.Background()) })
	return r
}

// BenchmarkCall measures one call with a 100-byte argument: the echo
// method as a native Go function, and through the wasm path into the Go
// testkit module (whose guest SDK decodes the arguments and encodes the
// result), into the C cadder module (which does the same with its own
// CBOR code), and into the WAT echo module (which only copies its
// arguments: the share of the host and wazero alone).
func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	b.Run("native", func(b *testing.B) {
		for b.Loop() {
			if _, err := nativeEcho(ctx, emptyMap, benchArgs); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, name := range []string{"testkit", "cadder", "echo"} {
		b.Run("wasm/"+name, func(b *testing.B) {
			m := load(b, benchRuntime(b), name, Limits{})
			for b.Loop() {
				if _, err := m.Call(ctx, "rpc.echo", emptyMap, benchArgs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("wasm/testkit/parallel", func(b *testing.B) {
		m := load(b, benchRuntime(b), "testkit", Limits{})
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := m.Call(ctx, "rpc.echo", emptyMap, benchArgs); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkInstantiate measures making one more instance of a loaded
// module: instantiation, _initialize, export lookups.
func BenchmarkInstantiate(b *testing.B) {
	for _, name := range []string{"testkit", "echo"} {
		b.Run(name, func(b *testing.B) {
			m := load(b, benchRuntime(b), name, Limits{})
			for b.Loop() {
				in, err := m.newInstance(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				in.close()
			}
		})
	}
}

// BenchmarkCompile measures compiling a module with an empty cache (cold)
// and with a warm on-disk cache (cached), with the runtime configuration
// Load uses.
func BenchmarkCompile(b *testing.B) {
	ctx := context.Background()
	for _, name := range []string{"testkit", "echo"} {
		wasm := readWasm(b, name)
		compile := func(b *testing.B, cache wazero.CompilationCache) {
			rt := wazero.NewRuntimeWithConfig(ctx, runtimeConfig(cache))
			defer rt.Close(ctx)
			if _, err := rt.CompileModule(compileContext(ctx), wasm); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(name+"/cold", func(b *testing.B) {
			for b.Loop() {
				cache := wazero.NewCompilationCache()
				compile(b, cache)
				cache.Close(ctx)
			}
		})
		b.Run(name+"/cached", func(b *testing.B) {
			dir := b.TempDir()
			warm, err := wazero.NewCompilationCacheWithDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			compile(b, warm)
			warm.Close(ctx)
			for b.Loop() {
				cache, err := wazero.NewCompilationCacheWithDir(dir)
				if err != nil {
					b.Fatal(err)
				}
				compile(b, cache)
				cache.Close(ctx)
			}
		})
	}
}

// BenchmarkLoad measures a whole Load with a warm on-disk cache: compile
// from the cache, validate, instantiate the first instance.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	for _, name := range []string{"testkit", "echo"} {
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			wasm := readWasm(b, name)
			load := func(i int) {
				r, err := NewRuntime(ctx, Config{Logger: slog.New(slog.DiscardHandler), CacheDir: dir, CacheKeyFile: testKeyFile})
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close(ctx)
				if _, err := r.Load(ctx, fmt.Sprint(name, i), wasm, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
			load(-1) // warms the cache
			for i := 0; b.Loop(); i++ {
				load(i)
			}
		})
	}
}
