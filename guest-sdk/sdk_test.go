package sdk

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"reflect"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// enc encodes v with the ABI's options, failing the test on error.
func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cborcodec.Marshal(v)
	if err != nil {
		t.Fatalf("encoding %#v: %v", v, err)
	}
	return b
}

// result decodes a handler's CBOR Result into its value or error.
func result(t testing.TB, b []byte) (any, *abi.Error) {
	t.Helper()
	var r abi.Result
	if err := cborcodec.Unmarshal(b, &r); err != nil {
		t.Fatalf("the handler's result is not a CBOR Result: %v (% x)", err, b)
	}
	if r.Error != nil {
		return nil, r.Error
	}
	var v any
	if len(r.Value) > 0 {
		if err := cborcodec.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("the result's value is not CBOR: %v", err)
		}
	}
	return v, nil
}

// python runs script with Debian's Python 3 (the interop peer the
// differential tests compare with), feeding it input as JSON and decoding
// its JSON answer into out. It skips under -short, where `make test-short`
// promises no Python, and fails when Python is missing otherwise.
func python(t *testing.T, script string, input, out any) {
	t.Helper()
	if testing.Short() {
		t.Skip("differential test against Python; skipped with -short")
	}
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		t.Fatalf("/usr/bin/python3: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("decoding Python's output %q: %v", data, err)
	}
}

// bindInto binds CBOR-encoded kwargs into a new value of type t.
func bindInto(t *testing.T, typ reflect.Type, fn string, args []byte) (reflect.Value, error) {
	t.Helper()
	b, err := newBinder(typ)
	if err != nil {
		t.Fatalf("newBinder(%v): %v", typ, err)
	}
	dst := reflect.New(typ)
	return dst.Elem(), b.bind(fn, args, dst.UnsafePointer(), nil)
}

// newContext returns the context of a call of name with the CBOR context
// data, as the export's reset makes it.
func newContext(name string, data []byte) (*Context, error) {
	c := new(Context)
	if err := c.reset(name, data); err != nil {
		return nil, err
	}
	return c, nil
}
