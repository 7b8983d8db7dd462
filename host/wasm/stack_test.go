package wasm

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// instantiateRaw compiles and instantiates wasm as it is, with no host
// imports.
func instantiateRaw(t testing.TB, wasm []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2))
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

// TestInstrumentStack calls each function of testdata/stack.wasm, which
// leave in every way a function can, with and without the instrumentation:
// the results are the same, and the budget is whole again after each
// call.
func TestInstrumentStack(t *testing.T) {
	orig := readWasm(t, "stack")
	const budget = 1 << 20
	out, err := instrumentStack(orig, budget)
	if err != nil {
		t.Fatal(err)
	}
	plain, counted := instantiateRaw(t, orig), instantiateRaw(t, out)
	left := counted.ExportedGlobal(exportStackLeft).(api.MutableGlobal)
	low := counted.ExportedGlobal(exportStackLow).(api.MutableGlobal)
	if left.Get() != budget || low.Get() != budget {
		t.Fatalf("budget %d, low-water mark %d at the start, want %d", left.Get(), low.Get(), budget)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		export string
		args   []uint64
	}{
		{"ret_nested", []uint64{0}}, {"ret_nested", []uint64{11}}, {"ret_nested", []uint64{200}},
		{"br_func", []uint64{0}}, {"br_func", []uint64{1}}, {"br_func", []uint64{2}},
		{"br_table", []uint64{0}}, {"br_table", []uint64{1}}, {"br_table", []uint64{2}},
		{"multi", []uint64{0}}, {"multi", []uint64{1}},
		{"fact", []uint64{10}},
		{"indirect", []uint64{4}}, {"indirect", []uint64{5}},
		{"simd", []uint64{7}},
		{"bulk", []uint64{3}},
		{"select", []uint64{0}}, {"select", []uint64{1}},
		{"unreachable_after_return", []uint64{9}},
		{"deep", []uint64{1000}},
	} {
		want, err := plain.ExportedFunction(tc.export).Call(ctx, tc.args...)
		if err != nil {
			t.Fatalf("%s%v without the instrumentation: %v", tc.export, tc.args, err)
		}
		got, err := counted.ExportedFunction(tc.export).Call(ctx, tc.args...)
		if err != nil || len(got) != 1 || got[0] != want[0] {
			t.Errorf("%s%v = %v, %v; want %v", tc.export, tc.args, got, err, want)
		}
		if left.Get() != budget {
			t.Errorf("%s%v left the budget at %d, want %d", tc.export, tc.args, int32(left.Get()), budget)
		}
	}
	if used := uint64(budget - int64(int32(low.Get()))); used < 1000*frameWeight(1, 1, 0, 1) {
		t.Errorf("deep(1000) used %d of the budget, want at least 1000 frames of %d", used, frameWeight(1, 1, 0, 1))
	}

	// Past the budget, the call traps and the budget is left negative.
	left.Set(1000 * frameWeight(1, 1, 0, 1))
	if _, err := counted.ExportedFunction("deep").Call(ctx, 2000); err == nil || int32(left.Get()) >= 0 {
		t.Errorf("deep(2000) on a budget of 1000 frames: %v, budget left %d", err, int32(left.Get()))
	}
}

func TestInstrumentStackErrors(t *testing.T) {
	code := func(body ...byte) []byte { return section(10, append([]byte{1, byte(len(body))}, body...)...) }
	funcs := section(3, 1, 0)
	for _, tc := range []struct {
		name    string
		wasm    []byte
		message string
	}{
		{"reserved export", wasmBinary(section(7, 1, byte(len(exportStackLeft)))), ""},
		{"exception handling", wasmBinary(typeSection, funcs, code(0, 0x06, 0x40, 0x0b, 0x0b)), "opcode 0x06"},
		{"threads", wasmBinary(typeSection, funcs, code(0, 0xfe, 0x03, 0x00, 0x0b)), "opcode 0xfe"},
		{"unknown 0xfc", wasmBinary(typeSection, funcs, code(0, 0xfc, 0x20, 0x0b)), "0xfc 32"},
		{"no end", wasmBinary(typeSection, funcs, code(0, 0x01)), "unexpected end"},
		{"past the end", wasmBinary(typeSection, funcs, code(0, 0x0b, 0x01)), "past the end"},
		{"bodies and functions", wasmBinary(typeSection, section(3, 2, 0, 0), code(0, 0x0b)), "1 function bodies for 2"},
		{"type out of range", wasmBinary(typeSection, section(3, 1, 5), code(0, 0x0b)), "type 5"},
		{"not a function type", wasmBinary(section(1, 1, 0x5f, 0, 0)), "not a function type"},
		{"a set of the budget", wasmBinary(typeSection, funcs, code(0, 0x41, 0x7f, 0x24, 0x00, 0x0b)), "global index 0 out of range (0 globals)"},
		{"a read of the low-water mark", wasmBinary(typeSection, funcs, section(6, 1, 0x7f, 0x00, 0x41, 0x00, 0x0b),
			code(0, 0x23, 0x02, 0x1a, 0x0b)), "global index 2 out of range (1 globals)"},
		{"too many locals", wasmBinary(typeSection, funcs, code(1, 0xd1, 0x86, 0x03, 0x7f, 0x0b)), "more than 50000 locals"},
		{"too many parameters", wasmBinary(append(section(1, 1, 0x60, 0xe9, 0x07), append(bytes.Repeat([]byte{0x7f}, 1001), 0)...)), "1001 parameters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "reserved export" {
				exp := appendU32(nil, 1)
				exp = appendU32(exp, uint32(len(exportStackLeft)))
				exp = append(exp, exportStackLeft...)
				exp = append(exp, externGlobal, 0)
				tc.wasm = wasmBinary(append([]byte{sectionGlobal}, 1, 0x7f, 0x00, 0x41, 0x00, 0x0b), append([]byte{sectionExport}, exp...))
				tc.message = "a name the host reserves"
			}
			_, err := instrumentStack(tc.wasm, DefaultStackLimit)
			if !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("error %v, want ErrInvalidModule saying %q", err, tc.message)
			}
		})
	}
}

// TestStackLimit calls a method that recurses without end and one that
// recurses 1000 deep, under a small stack limit: the first fails with
// ErrMemoryLimit, the second returns; the module serves on.
func TestStackLimit(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	m := load(t, r, "tables", Limits{MaxInstances: 1, StackLimit: 256 << 10})
	_, err := m.Call(context.Background(), "rpc.recurse", nil, nil)
	checkCallError(t, err, "tables", "rpc.recurse", ErrMemoryLimit)
	if !strings.Contains(err.Error(), "call stack passed its limit of 256KiB") {
		t.Errorf("error %q does not name the stack limit", err)
	}
	args := enc(t, map[string]any{"after": "recurse"})
	if _, err := m.Call(context.Background(), "rpc.echo", nil, args); err != nil {
		t.Fatal(err)
	}
}

// TestStackTrim calls a method that recurses 4000 calls deep, past
// stackKeep in the host's count: the instance looks its functions up
// again after each such call, so that wazero's grown stacks go.
func TestStackTrim(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	m := load(t, r, "tables", Limits{MaxInstances: 1})
	idx := m.exports["rpc.deep"]
	for i := range 3 {
		in := <-m.pool.idle
		before := in.fns[idx]
		m.pool.idle <- in
		value, err := m.Call(context.Background(), "rpc.deep", nil, nil)
		if err != nil || decode(t, value) != int64(10) {
			t.Fatalf("call %d: %x, %v", i, value, err)
		}
		in = <-m.pool.idle
		trimmed, kept := in.fns[idx] != before, in.stackKept
		m.pool.idle <- in
		if !trimmed || kept != 0 {
			t.Errorf("call %d: functions looked up again: %v, stack kept %d; want true, 0", i, trimmed, kept)
		}
	}
	// A shallow call keeps its function and counts what it used.
	in := <-m.pool.idle
	before := in.fns[m.exports["rpc.echo"]]
	m.pool.idle <- in
	if _, err := m.Call(context.Background(), "rpc.echo", nil, enc(t, map[string]any{"v": 1})); err != nil {
		t.Fatal(err)
	}
	in = <-m.pool.idle
	defer func() { m.pool.idle <- in }()
	if in.fns[m.exports["rpc.echo"]] != before || in.stackKept == 0 || in.stackKept > stackKeep {
		t.Errorf("after echo: function replaced %v, stack kept %d", in.fns[m.exports["rpc.echo"]] != before, in.stackKept)
	}
}

// TestSandboxModules checks that every module of the repository that
// the host does not refuse for its tables passes sandbox, and that what
// sandbox makes of it compiles.
func TestSandboxModules(t *testing.T) {
	names := []string{"testkit", "cadder"}
	srcs, err := filepath.Glob(filepath.Join("testdata", "*.wat"))
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range srcs {
		names = append(names, strings.TrimSuffix(filepath.Base(src), ".wat"))
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			sb, err := sandbox(readWasm(t, name))
			if name == "table_import" {
				if err == nil {
					t.Error("a table import passed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rt.CompileModule(ctx, sb.wasm); err != nil {
				t.Fatal(err)
			}
			t.Logf("its largest frame counts %d bytes", sb.maxFrame)
			if sb.maxFrame > DefaultStackLimit/4 {
				t.Errorf("a frame counts %d, more than a quarter of the default stack limit", sb.maxFrame)
			}
		})
	}
}

// FuzzSandbox feeds sandbox arbitrary bytes: it never panics; what it
// accepts it returns with its tables bounded and its stack counted, and a
// second pass over the result finds the same tables and the host's own
// exports. (wazero itself is not run on the inputs: a few bytes can make
// its decoder allocate by a count the host never lets reach it.)
func FuzzSandbox(f *testing.F) {
	for _, name := range []string{"tables", "table_max", "echo", "misbehave", "stack"} {
		f.Add(readWasm(f, name))
	}
	f.Add(wasmBinary(section(4, 2, 0x70, 0x01, 1, 1, 0x6f, 0x00, 3), memorySection))
	f.Add(wasmBinary(typeSection, funcImport, section(4, 1, 0x40, 0x00, 0x70, 0x00, 4, 0xd2, 0x00, 0x0b)))
	f.Fuzz(func(t *testing.T, b []byte) {
		sb, err := sandbox(b)
		out, tables := sb.wasm, sb.tables
		if err != nil {
			if !errors.Is(err, ErrInvalidModule) {
				t.Fatalf("error %v is not ErrInvalidModule", err)
			}
			return
		}
		for i, tb := range tables {
			if !tb.hasMax || tb.max < tb.min {
				t.Errorf("table %d left unbounded: %+v", i, tb)
			}
		}
		again, tables2, err := boundTables(out)
		if err != nil || !bytes.Equal(again, out) || !reflect.DeepEqual(tables2, tables) {
			t.Fatalf("tables of the result: %v, %+v (first %+v)", err, tables2, tables)
		}
		if _, err := instrumentStack(out, DefaultStackLimit); err == nil || !strings.Contains(err.Error(), "reserves") {
			t.Fatalf("the result instrumented again: %v, want the host's exports found", err)
		}
	})
}

// BenchmarkStack calls deep(100) of testdata/stack.wasm, 101 calls of a
// small function, as compiled from the module and with the stack
// instrumentation: the cost of the count at its worst, a call that does
// almost nothing else.
func BenchmarkStack(b *testing.B) {
	orig := readWasm(b, "stack")
	counted, err := instrumentStack(orig, DefaultStackLimit)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		wasm []byte
	}{{"plain", orig}, {"counted", counted}} {
		b.Run(bc.name, func(b *testing.B) {
			fn := instantiateRaw(b, bc.wasm).ExportedFunction("deep")
			stack := []uint64{100}
			for b.Loop() {
				stack[0] = 100
				if err := fn.CallWithStack(context.Background(), stack); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
