package sdk

import (
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

var (
	rawEcho = Method("echo", func(_ *Context, a struct{ Value Raw }) (Raw, error) { return a.Value, nil })
	scalars = Method("scalars", func(_ *Context, a struct {
		N    int
		F    float64
		B    bool
		Kind string `arg:",default=x"`
	}) (int, error) {
		return a.N, nil
	})
	noArgs = Method("_private", func(*Context, struct{}) (string, error) { return "private", nil })
)

// TestServeAllocations checks what the wasm export's path allocates per
// call once warm (reused storage, as Serve uses): nothing for Raw values,
// numbers and bools, nothing for a method without arguments, one copy for
// a string argument.
func TestServeAllocations(t *testing.T) {
	ctx := enc(t, map[string]any{"request_id": "req-1", "roles": []any{"admin"}})
	tests := []struct {
		name string
		h    *Handler
		args []byte
		want float64
	}{
		{"raw echo", rawEcho, enc(t, map[string]any{"value": strings.Repeat("x", 100)}), 0},
		{"raw echo of a map", rawEcho, enc(t, map[string]any{"value": map[string]any{"k": []any{1, 2.5}}}), 0},
		{"scalars", scalars, enc(t, map[string]any{"n": 7, "f": 2.5, "b": true}), 0},
		{"scalars and a string", scalars, enc(t, map[string]any{"n": 7, "f": 2.5, "b": true, "kind": "abc"}), 1},
		{"no arguments", noArgs, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w resultWriter
			var c Context
			first := tt.h.serve(&w, &c, ctx, tt.args, true)
			if _, e := result(t, first); e != nil {
				t.Fatalf("error %#v", e)
			}
			got := testing.AllocsPerRun(100, func() { tt.h.serve(&w, &c, ctx, tt.args, true) })
			if got != tt.want {
				t.Fatalf("%v allocations per call, want %v", got, tt.want)
			}
		})
	}
}

func BenchmarkServe(b *testing.B) {
	ctx := enc(b, map[string]any{})
	for _, bc := range []struct {
		name string
		h    *Handler
		args []byte
	}{
		{"raw echo", rawEcho, enc(b, map[string]any{"value": strings.Repeat("x", 100)})},
		{"any echo", testEcho, enc(b, map[string]any{"value": strings.Repeat("x", 100)})},
		{"scalars", scalars, enc(b, map[string]any{"n": 7, "f": 2.5, "b": true, "kind": "abc"})},
		{"no arguments", noArgs, nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var w resultWriter
			var c Context
			b.ReportAllocs()
			for b.Loop() {
				bc.h.serve(&w, &c, ctx, bc.args, true)
			}
		})
	}
}

// TestServeAfterPanic checks that a panic leaves the reused storage as
// clean as a normal return: an optional argument of one call must not
// reach the next.
func TestServeAfterPanic(t *testing.T) {
	h := Method("p", func(_ *Context, a struct {
		Boom bool   `arg:",optional"`
		Tag  string `arg:",optional"`
	}) (string, error) {
		if a.Boom {
			panic("boom")
		}
		return a.Tag, nil
	})
	var w resultWriter
	var c Context
	if _, e := result(t, h.serve(&w, &c, nil, enc(t, map[string]any{"boom": true, "tag": "kept?"}), true)); e == nil || e.Message != "panic: boom" {
		t.Fatalf("error %#v", e)
	}
	if v, e := result(t, h.serve(&w, &c, nil, enc(t, map[string]any{}), true)); e != nil || v != "" {
		t.Fatalf("after a panic: %#v, %#v; want the zero tag", v, e)
	}
}

// TestErrorResultMatchesHost checks the error Result, written without
// reflection, against the host's codec encoding the same abi.Result.
func TestErrorResultMatchesHost(t *testing.T) {
	for _, e := range []*abi.Error{
		{Class: "ValueError", Module: "builtins", Message: "bad"},
		{Class: "E", Message: "m"},
		{Class: "VolumeNotFound", Module: "volumes.exceptions", Message: "no v1", Args: []any{"v1", int64(2)},
			Kwargs: map[string]any{"volume_id": "v1", "b": []any{1.5}}, Expected: true},
		{Class: "E", Message: "m", Args: []any{}, Kwargs: map[string]any{}},
	} {
		var w resultWriter
		got := w.error(e)
		want, err := cborcodec.Marshal(abi.Result{Error: e})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("error %#v:\n got % x\nwant % x", e, got, want)
		}
	}
}
