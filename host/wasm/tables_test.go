package wasm

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// wasmBinary assembles a module from sections, each given as its id
// followed by its contents.
func wasmBinary(sections ...[]byte) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		b = append(b, s[0])
		b = appendU32(b, uint32(len(s)-1))
		b = append(b, s[1:]...)
	}
	return b
}

func section(id byte, contents ...byte) []byte { return append([]byte{id}, contents...) }

// Sections the cases share: a memory of one page, and a function import.
var (
	memorySection = section(5, 1, 0x00, 1)
	typeSection   = section(1, 1, 0x60, 0, 0)
	funcImport    = section(2, 1, 1, 'm', 1, 'f', externFunc, 0)
)

func TestBoundTables(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wasm     []byte
		want     []table
		rewrites bool   // the result differs from the input
		err      error  // errors.Is
		message  string // in the error
	}{
		{name: "no table", wasm: wasmBinary(memorySection)},
		{name: "with a maximum", wasm: wasmBinary(section(4, 1, 0x70, 0x01, 2, 10), memorySection),
			want: []table{{min: 2, max: 10, hasMax: true}}},
		{name: "without a maximum", wasm: wasmBinary(section(4, 1, 0x70, 0x00, 0x80, 0x01), memorySection),
			want: []table{{min: 128, max: 128, hasMax: true}}, rewrites: true},
		{name: "two tables, one without a maximum", wasm: wasmBinary(section(4, 2, 0x70, 0x01, 1, 1, 0x6f, 0x00, 3)),
			want: []table{{min: 1, max: 1, hasMax: true}, {min: 3, max: 3, hasMax: true}}, rewrites: true},
		{name: "with an initializer", wasm: wasmBinary(typeSection, section(3, 1, 0),
			section(4, 1, 0x40, 0x00, 0x70, 0x00, 4, 0xd2, 0x00, 0x0b), section(10, 1, 2, 0, 0x0b)),
			want: []table{{min: 4, max: 4, hasMax: true}}, rewrites: true},
		{name: "after imports of each kind", wasm: wasmBinary(typeSection,
			section(2, 3, 1, 'm', 1, 'f', externFunc, 0, 1, 'm', 1, 'g', externGlobal, 0x7f, 0x00, 1, 'm', 1, 'r', externGlobal, 0x63, 0x70, 0x00),
			section(4, 1, 0x70, 0x00, 1)),
			want: []table{{min: 1, max: 1, hasMax: true}}, rewrites: true},
		{name: "a table import", wasm: wasmBinary(section(2, 1, 1, 'm', 1, 't', externTable, 0x70, 0x00, 1)),
			err: ErrInvalidModule, message: "imports a table (m.t)"},
		{name: "section past the end", wasm: append(wasmBinary(memorySection), 4, 10, 1),
			err: ErrInvalidModule, message: "malformed binary"},
		// Given to wazero, these 15 bytes make it ask for 128 GiB: it
		// reads the count past the section's end.
		{name: "count past the section", wasm: []byte("\x00asm\x01\x00\x00\x00\x04\x01\xff\xff\xff\xff\x0f"),
			err: ErrInvalidModule, message: "malformed binary"},
		{name: "overlong integer", wasm: wasmBinary(section(4, 1, 0x70, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)),
			err: ErrInvalidModule, message: "too long"},
		{name: "integer past 32 bits", wasm: wasmBinary(section(4, 1, 0x70, 0x00, 0xff, 0xff, 0xff, 0xff, 0x7f)),
			err: ErrInvalidModule, message: "too large"},
		{name: "maximum below minimum", wasm: wasmBinary(section(4, 1, 0x70, 0x01, 5, 4)),
			err: ErrInvalidModule, message: "maximum 4 below minimum 5"},
		{name: "bytes past the tables", wasm: wasmBinary(section(4, 1, 0x70, 0x00, 1, 0xff)),
			err: ErrInvalidModule, message: "past its end"},
		{name: "two table sections", wasm: wasmBinary(section(4, 0), section(4, 0)),
			err: ErrInvalidModule, message: "two table sections"},
		{name: "too many tables", wasm: wasmBinary(section(4, 0xff, 0xff, 0x03)),
			err: ErrInvalidModule, message: "more entries than bytes left"},
		{name: "bad initializer", wasm: wasmBinary(section(4, 1, 0x40, 0x00, 0x70, 0x00, 1, 0x20, 0x00, 0x0b)),
			err: ErrInvalidModule, message: "opcode 0x20"},
		{name: "not wasm", wasm: []byte("\x00as"), err: ErrInvalidModule, message: "not a WebAssembly binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, tables, err := boundTables(tc.wasm)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.message) {
					t.Fatalf("error %v, want %v saying %q", err, tc.err, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tables, tc.want) {
				t.Errorf("tables %+v, want %+v", tables, tc.want)
			}
			if rewritten := !bytes.Equal(out, tc.wasm); rewritten != tc.rewrites {
				t.Errorf("rewritten: %v, want %v", rewritten, tc.rewrites)
			}
			checkBounded(t, tc.wasm, out, tables)
		})
	}
}

// checkBounded checks what boundTables promises of out, bounded from in:
// every table has a maximum, a second pass changes nothing, and out
// compiles when in does.
func checkBounded(t *testing.T, in, out []byte, tables []table) {
	t.Helper()
	again, tables2, err := boundTables(out)
	if err != nil || !bytes.Equal(again, out) || !reflect.DeepEqual(tables2, tables) {
		t.Fatalf("second pass: %v, tables %+v (first %+v), same bytes %v", err, tables2, tables, bytes.Equal(again, out))
	}
	for i, tb := range tables {
		if !tb.hasMax || tb.max < tb.min {
			t.Errorf("table %d left unbounded: %+v", i, tb)
		}
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, in); err != nil {
		return
	}
	if _, err := rt.CompileModule(ctx, out); err != nil {
		t.Errorf("the input compiles, its bounded form does not: %v", err)
	}
}

func TestMemoryCap(t *testing.T) {
	const limit = 16 << 20
	for _, tc := range []struct {
		name    string
		tables  []table
		want    uint64
		message string
	}{
		{name: "no table", want: limit},
		{name: "fixed", tables: []table{{min: 8192, max: 8192, hasMax: true}}, want: limit - pageSize},
		{name: "fixed, part of a page", tables: []table{{min: 1, max: 1, hasMax: true}}, want: limit - pageSize},
		{name: "growable counts thrice", tables: []table{{min: 0, max: 65536, hasMax: true}}, want: limit - 24*pageSize},
		{name: "the whole limit", tables: []table{{min: 2 << 20, max: 2 << 20, hasMax: true}},
			message: "its tables can take 16MiB (2097152 entries, at 8 bytes each"},
		{name: "32 GiB", tables: []table{{min: 1, max: 1<<32 - 1, hasMax: true}},
			message: "its tables can take 96GiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := memoryCap(Limits{MemoryLimit: limit}, tc.tables)
			if tc.message != "" {
				if !errors.Is(err, ErrMemoryLimit) || !strings.Contains(err.Error(), tc.message) {
					t.Fatalf("got %d, %v; want ErrMemoryLimit saying %q", got, err, tc.message)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// TestTables loads modules whose tables could hold more than the memory
// limit, and calls one that grows its tables and its stack as far as it
// can (the stack's own limit has tests of its own).
func TestTables(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	lim := Limits{MemoryLimit: 16 << 20, MaxInstances: 2}
	for _, tc := range []struct {
		name    string
		err     error
		message string
	}{
		{"table_max", ErrMemoryLimit, "its tables can take 96GiB"},
		{"table_big", ErrMemoryLimit, "its tables can take 1GiB"},
		{"table_import", ErrInvalidModule, "imports a table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Load(context.Background(), tc.name, readWasm(t, tc.name), lim)
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("error %v, want %v saying %q", err, tc.err, tc.message)
			}
		})
	}

	m := load(t, r, "tables", lim)
	// The growable table takes 65536 entries × 8 bytes × 3 of the limit,
	// the other 8 bytes: 1.5 MiB and a page.
	if want := uint64(16<<20 - 25*pageSize); m.memCap != want {
		t.Errorf("memory cap %d, want %d", m.memCap, want)
	}
	for _, tc := range []struct {
		export string
		want   any
		err    error
	}{
		{export: "rpc.grow_unbounded", want: int64(1)},
		{export: "rpc.grow_bounded", want: int64(16)},
		{export: "rpc.grow_huge", want: int64(-1)},
		{export: "rpc.grow_memory", want: int64(14)},
		{export: "rpc.recurse", err: ErrMemoryLimit},
	} {
		t.Run(strings.TrimPrefix(tc.export, "rpc."), func(t *testing.T) {
			value, err := m.Call(context.Background(), tc.export, nil, nil)
			if tc.err != nil {
				checkCallError(t, err, "tables", tc.export, tc.err)
				t.Log(err)
			} else if err != nil {
				t.Fatal(err)
			} else if got := decode(t, value); got != tc.want {
				t.Errorf("value %v (%T), want %v (%T)", got, got, tc.want, tc.want)
			}
			args := enc(t, map[string]any{"after": tc.export})
			if value, err := m.Call(context.Background(), "rpc.echo", nil, args); err != nil || !bytes.Equal(value, args) {
				t.Errorf("echo after %s: %x, %v", tc.export, value, err)
			}
		})
	}
}
