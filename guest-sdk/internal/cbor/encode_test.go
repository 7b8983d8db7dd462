package cbor

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

type withOmit struct {
	A  string         `cbor:"a,omitempty"`
	B  int            `json:"b,omitempty"`
	C  []int          `cbor:"c,omitempty"`
	D  *inner         `cbor:"d,omitempty"`
	E  inner          `cbor:"e,omitempty"`
	F  abi.RawMessage `cbor:"f,omitzero"`
	G  any            `cbor:"g,omitempty"`
	H  map[string]int `cbor:"h,omitempty"`
	Tm time.Time      `cbor:"tm"`
}

type shadow struct {
	Embedded
	E string `cbor:"E"` // shadows Embedded.E
	*Inner2
}

type conflict struct {
	A1
	A2
}

type (
	A1 struct{ X int }
	A2 struct{ X int }
)

// TestEncodeMatchesHost encodes values with this package and with the
// host's codec: the bytes must be the same.
func TestEncodeMatchesHost(t *testing.T) {
	one := 1
	values := append(seedValues(),
		int8(-3), uint8(200), int16(-300), uint32(70000), float32(1e38), float32(math.SmallestNonzeroFloat32),
		[]string{"a", "b"}, []int{}, []int(nil), [3]int{1, 2, 3}, [2]byte{1, 2}, map[string]int{"b": 1, "a": 2},
		map[string]any(nil), map[string][]any{"x": nil}, &one, (*int)(nil), []*int{&one, nil},
		inner{"z", 2}, &inner{}, outer{Name: "n", Tags: []string{"t"}, Embedded: Embedded{"e", 1}, Inner2: &Inner2{"i"}},
		withOmit{}, withOmit{A: "a", B: 1, C: []int{1}, D: &inner{}, E: inner{Zone: "z"}, F: abi.RawMessage{0x01}, G: 0,
			H: map[string]int{"k": 1}, Tm: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)},
		shadow{Embedded: Embedded{"e", 1}, E: "top"}, conflict{A1{1}, A2{2}},
		abi.Result{Value: abi.RawMessage{0x61, 'x'}}, abi.Result{}, abi.Result{Error: &abi.Error{Class: "E", Message: "m", Args: []any{"a"}, Kwargs: map[string]any{"k": true}, Expected: true}},
		abi.CallRequest{Target: abi.Target{Topic: "t"}, Method: "m", Args: abi.RawMessage{0xa0}},
		abi.Manifest{ABIVersion: 1, Module: "m", Endpoints: []abi.Endpoint{{Version: "1.0", Methods: []abi.Method{{Name: "a", Export: "rpc.a"}}}}},
		*big.NewInt(5), big.NewInt(-1), new(big.Int).Lsh(big.NewInt(-1), 64), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(-1), 64), big.NewInt(1)),
		(*big.Int)(nil), struct{ N *big.Int }{big.NewInt(3)}, []any{time.Time{}}, time.Date(1, 2, 3, 4, 5, 6, 7, time.FixedZone("x", 3600)),
		map[string]any{strings.Repeat("k", 30): 1, strings.Repeat("j", 300): 2, "z": 3},
	)
	for _, v := range values {
		want, err := cborcodec.Marshal(v)
		if err != nil {
			t.Fatalf("the host's codec cannot encode %#v: %v", v, err)
		}
		got, err := Marshal(v)
		if err != nil {
			t.Errorf("Marshal(%#v): %v", v, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Marshal(%#v)\n = % x\nwant % x", v, got, want)
		}
	}
}

func TestEncodeDiffers(t *testing.T) {
	tests := []struct {
		name    string
		v       any
		want    []byte
		wantErr string
	}{
		{"int keys as text", map[int]string{10: "a", 2: "b"}, []byte{0xa2, 0x61, '2', 0x61, 'b', 0x62, '1', '0', 0x61, 'a'}, ""},
		{"invalid UTF-8", "a\xffb", []byte{0x65, 'a', 0xef, 0xbf, 0xbd, 'b'}, ""},
		{"channel", make(chan int), nil, "unsupported type: chan int"},
		{"func in a map", map[string]any{"f": func() {}}, nil, "unsupported type: func()"},
		{"bool keys", map[bool]int{true: 1}, nil, "unsupported type: map[bool]int"},
		{"bad marshaler", abi.RawMessage{0x82, 0x01}, nil, "did not return one well-formed CBOR item"},
		{"too deep", func() any {
			var v any = 1
			for range MaxNesting + 1 {
				v = []any{v}
			}
			return v
		}(), nil, "nests deeper than 64"},
		{"cycle", func() any {
			m := map[string]any{}
			m["m"] = m
			return m
		}(), nil, "nests deeper than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.v)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Marshal = % x, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("Marshal = % x, %v; want % x", got, err, tt.want)
			}
		})
	}
	var ute *UnsupportedTypeError
	if _, err := Marshal(make(chan int)); !errors.As(err, &ute) || ute.Type.String() != "chan int" {
		t.Fatalf("error %#v", err)
	}
}

func TestFloat16(t *testing.T) {
	for h := range 1 << 16 {
		f := float16ToFloat64(uint16(h))
		if math.IsNaN(f) || math.IsInf(f, 0) { // written apart by appendFloat
			continue
		}
		got, ok := float16Exact(float32(f))
		if !ok || got != uint16(h) && !(f == 0 && got&0x7fff == 0) {
			t.Fatalf("half %04x = %v back as %04x, %v", h, f, got, ok)
		}
	}
	for _, f := range []float32{65520, 1e-8, 1.0009765625 + 1.0/(1<<11), 1.0 / (1 << 25), 1.5 / (1 << 24)} {
		if h, ok := float16Exact(f); ok {
			t.Fatalf("%v is not a half, got %04x", f, h)
		}
	}
}

// FuzzEncode decodes arbitrary CBOR and encodes the value with this
// package and with the host's codec: same bytes.
func FuzzEncode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeAny(data)
		if err != nil {
			return
		}
		got, err := Marshal(v)
		if err != nil {
			t.Fatalf("% x: Marshal(%#v): %v", data, v, err)
		}
		want, err := cborcodec.Marshal(v)
		if err != nil {
			t.Fatalf("% x: the host's codec: %v", data, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("% x: Marshal(%#v)\n = % x\nwant % x", data, v, got, want)
		}
		back, err := DecodeAny(got)
		if err != nil || !equalValues(back, v) {
			t.Fatalf("% x: decoding the encoding gives %#v, %v; want %#v", got, back, err, v)
		}
	})
}
