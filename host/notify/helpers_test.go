package notify

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// cb encodes v as CBOR with the encoding options both sides use.
func cb(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cborcodec.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	return b
}

// hx decodes a hex literal in a test table.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decoded decodes CBOR into Go values, as the guest side does.
func decoded(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := cborcodec.Unmarshal(b, &v); err != nil {
		t.Fatalf("unmarshal %x: %v", b, err)
	}
	return v
}

// sameValue reports whether the CBOR a holds the Go value want.
func sameValue(t testing.TB, a []byte, want any) bool {
	t.Helper()
	return reflect.DeepEqual(decoded(t, a), decoded(t, cb(t, want))) || bytes.Equal(a, cb(t, want))
}
