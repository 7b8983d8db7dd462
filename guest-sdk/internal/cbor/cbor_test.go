package cbor

import (
	"bytes"
	"encoding/hex"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	fxcbor "github.com/fxamacker/cbor/v2"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// The host's codec is the reference: this package must accept what it
// accepts, refuse what it refuses and encode as it encodes.
var hostDec = func() fxcbor.DecMode {
	m, err := cborcodec.DecOptions().DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWellformed(t *testing.T) {
	deep := func(n int) []byte { return append([]byte(strings.Repeat("\x81", n)), 0x01) }
	tests := []struct {
		name, hex string
		raw       []byte
		wantErr   string
	}{
		{"int", "01", nil, ""},
		{"map", "a2 6161 01 6162 f6", nil, ""},
		{"indefinite map", "bf 6161 9f 01 ff ff", nil, ""},
		{"indefinite text", "7f 6161 6162 ff", nil, ""},
		{"bignum", "c2 49 010000000000000000", nil, ""},
		{"float16", "f9 3c00", nil, ""},
		{"empty", "", nil, "EOF"},
		{"truncated", "a1 61", nil, "unexpected EOF"},
		{"truncated head", "19 01", nil, "unexpected EOF"},
		{"trailing", "01 02", nil, "1 bytes of extraneous data starting at index 1"},
		{"break", "ff", nil, `unexpected "break" code`},
		{"odd indefinite map", "bf 01 ff", nil, `unexpected "break" code`},
		{"reserved ai", "1c", nil, "invalid additional information 28 for type positive integer"},
		{"indefinite int", "1f", nil, "invalid additional information 31 for type positive integer"},
		{"bad simple", "f8 10", nil, "invalid simple value 16 for type primitives"},
		{"chunk type", "7f 4161 ff", nil, "wrong element type byte string for indefinite-length UTF-8 text string"},
		{"nested chunk", "7f 7f ff ff", nil, "chunk is not definite-length"},
		{"64 levels", "", deep(64), ""},
		{"65 levels", "", deep(65), "exceeded max nested level 64"},
		{"tag without content", "c2", nil, "unexpected EOF"},
		{"huge array", "9b 0000000000200000", nil, "exceeded max number of elements"},
		{"huge string", "5b ffffffffffffffff", nil, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.raw
			if data == nil {
				data = unhex(t, tt.hex)
			}
			err := Wellformed(data)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Wellformed: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Wellformed: %v, want an error containing %q", err, tt.wantErr)
			}
			if hostErr := hostDec.Wellformed(data); (hostErr == nil) != (err == nil) {
				t.Fatalf("Wellformed: %v, the host's codec: %v", err, hostErr)
			}
		})
	}
}

func FuzzWellformed(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Wellformed(data)
		hostErr := hostDec.Wellformed(data)
		if (err == nil) != (hostErr == nil) {
			t.Fatalf("% x: Wellformed: %v, the host's codec: %v", data, err, hostErr)
		}
		if err == nil {
			if end := Skip(data, 0); end != len(data) {
				t.Fatalf("% x: Skip = %d, want %d", data, end, len(data))
			}
		}
	})
}

func addSeeds(f *testing.F) {
	for _, v := range seedValues() {
		b, err := cborcodec.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, h := range []string{"bf6161f6ff", "7f616161ffff", "c249010000000000000000", "c34100", "d81841ff", "f0", "f7",
		"a2616e01616e02", "a16556414c55456161", "9f01ff", "5f4101ff", "fa7f800000", "f97e00", "c074323032342d30352d30365430373a30383a30395a"} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
}

// seedValues are values every test of this package encodes and decodes.
func seedValues() []any {
	return []any{
		nil, true, false, int64(0), int64(-1), int64(23), int64(24), int64(-25), int64(255), int64(256), int64(65536),
		int64(math.MaxInt64), int64(math.MinInt64), uint64(math.MaxUint64),
		0.0, math.Copysign(0, -1), 1.0, 1.5, 0.1, 65504.0, 65505.0, 1e300, 5.960464477539063e-08, 1e-40,
		math.Inf(1), math.Inf(-1), math.NaN(), float32(0.1),
		"", "héllo ☃", strings.Repeat("x", 100), []byte{}, []byte{0, 1, 0xff},
		[]any{}, []any{int64(1), "x", nil, []any{true}}, map[string]any{},
		map[string]any{"b": int64(1), "aa": int64(2), "a": []any{}, "ccc": map[string]any{"z": nil}},
		new(big.Int).Lsh(big.NewInt(1), 100), new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 70)),
	}
}

// normal rewrites a value the host's codec decoded into what DecodeAny
// gives: big.Int as int64, uint64 or BigInt, other tags as their content,
// simple values as nil.
func normal(v any) any {
	switch x := v.(type) {
	case big.Int:
		return fromBig(&x)
	case fxcbor.Tag:
		return normal(x.Content)
	case fxcbor.SimpleValue:
		return nil
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normal(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normal(e)
		}
		return out
	}
	return v
}

// beyondReference reports whether well-formed data holds what this
// package reads differently from the host's codec on purpose: tags 0 and
// 1 (time.Time there, their content here) and simple values other than
// false, true, null and undefined (cbor.SimpleValue there, nil here, and
// never an integer).
func beyondReference(data []byte) bool {
	if Wellformed(data) != nil {
		return false
	}
	found := false
	var walk func(off int) int
	walk = func(off int) int {
		b := data[off]
		major, ai := b>>5, b&0x1f
		switch {
		case major == majorTag:
			if num, _ := argument(data, off); num <= 1 {
				found = true
			}
		case major == majorOther && ai != 20 && ai != 21 && ai != 22 && ai != 23 && ai != 25 && ai != 26 && ai != 27:
			found = true
		}
		switch major {
		case majorArray, majorMap:
			n, next := argument(data, off)
			if ai == 31 {
				for data[next] != Break {
					next = walk(next)
				}
				return next + 1
			}
			if major == majorMap {
				n *= 2
			}
			for range n {
				next = walk(next)
			}
			return next
		case majorTag:
			_, next := argument(data, off)
			return walk(next)
		}
		return Skip(data, off)
	}
	walk(0)
	return found
}

func FuzzDecodeAny(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeAny(data)
		var want any
		hostErr := hostDec.Unmarshal(data, &want)
		if beyondReference(data) {
			return
		}
		if (err == nil) != (hostErr == nil) {
			t.Fatalf("% x: DecodeAny: %v, the host's codec: %v", data, err, hostErr)
		}
		if err != nil {
			return
		}
		if w := normal(want); !equalValues(got, w) {
			t.Fatalf("% x: DecodeAny = %#v, the host's codec %#v", data, got, w)
		}
	})
}

// fromBig returns n as DecodeAny would give it.
func fromBig(n *big.Int) any {
	switch {
	case n.IsInt64():
		return n.Int64()
	case n.IsUint64():
		return n.Uint64()
	}
	return BigInt{Neg: n.Sign() < 0, Abs: new(big.Int).Abs(n).Bytes()}
}

// equalValues is reflect.DeepEqual with NaN equal to NaN.
func equalValues(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			if f, ok := y[k]; !ok || !equalValues(e, f) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func TestDecodeAny(t *testing.T) {
	tests := []struct {
		hex     string
		want    any
		wantErr string
	}{
		{"1bffffffffffffffff", uint64(math.MaxUint64), ""},
		{"3b7fffffffffffffff", int64(math.MinInt64), ""},
		{"3b8000000000000000", BigInt{Neg: true, Abs: []byte{0x80, 0, 0, 0, 0, 0, 0, 1}}, ""},
		{"c24101", int64(1), ""},
		{"c248ffffffffffffffff", uint64(math.MaxUint64), ""},
		{"c349010000000000000000", BigInt{Neg: true, Abs: []byte{1, 0, 0, 0, 0, 0, 0, 0, 1}}, ""},
		{"d818 6161", "a", ""},
		{"f0", nil, ""},
		{"f93c00", 1.0, ""},
		{"5f 4101 4102 ff", []byte{1, 2}, ""},
		{"a1 01 02", nil, "cannot unmarshal positive integer into Go value of type string"},
		{"a2 6161 01 6161 02", nil, `found duplicate map key "a" at map element index 1`},
		{"62 c328", nil, "invalid UTF-8 string"},
		{"c2 01", nil, "tag number 2 or 3 must be followed by byte string, got positive integer"},
	}
	for _, tt := range tests {
		t.Run(tt.hex, func(t *testing.T) {
			got, err := DecodeAny(unhex(t, tt.hex))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DecodeAny = %#v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !equalValues(got, tt.want) {
				t.Fatalf("DecodeAny = %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}

// Types the typed decoder is checked with against the host's codec.
type (
	inner struct {
		Zone  string `cbor:"zone"`
		Count int    `json:"count"`
	}
	Embedded struct {
		E    string
		Deep int `cbor:"deep"`
	}
	outer struct {
		Name    string
		Size    int8
		U       uint16
		F32     float32
		F       float64
		B       bool
		Bytes   []byte
		Arr     [2]byte
		Tags    []string
		Nums    [3]int
		Spec    inner
		PSpec   *inner
		Map     map[string]int
		Any     any
		Raw     abi.RawMessage
		Skipped string `cbor:"-"`
		Embedded
		*Inner2
	}
	Inner2 struct {
		I2 string
	}
)

func typedTargets() []func() any {
	return []func() any{
		func() any { return new(outer) },
		func() any { return new(abi.Result) },
		func() any { return new(abi.CallRequest) },
		func() any { return new(abi.Manifest) },
		func() any { return new(map[string]any) },
		func() any { return new(map[string]string) },
		func() any { return new([]string) },
		func() any { return new([]any) },
		func() any { return new(int8) },
		func() any { return new(uint64) },
		func() any { return new(int64) },
		func() any { return new(float32) },
		func() any { return new(float64) },
		func() any { return new(string) },
		func() any { return new(bool) },
		func() any { return new([]byte) },
		func() any { return new(*int) },
	}
}

func FuzzUnmarshal(f *testing.F) {
	addSeeds(f)
	for _, v := range []any{
		outer{Name: "n", Size: -3, U: 7, F32: 0.5, F: 2, B: true, Bytes: []byte{1}, Arr: [2]byte{1, 2}, Tags: []string{"a"},
			Nums: [3]int{1, 2, 3}, Spec: inner{"z", 1}, PSpec: &inner{}, Map: map[string]int{"k": 1}, Any: []any{"x"},
			Raw: abi.RawMessage{0x01}, Embedded: Embedded{"e", 2}, Inner2: &Inner2{"i"}},
		abi.Result{Value: abi.RawMessage{0x61, 'x'}}, abi.Result{Error: &abi.Error{Class: "E", Message: "m", Args: []any{1}, Kwargs: map[string]any{"k": 1}}},
		abi.CallRequest{Target: abi.Target{Topic: "t", Fanout: true}, Method: "m", Args: abi.RawMessage{0xa0}, TimeoutMillis: 5},
		map[string]any{"NAME": "x", "size": 300, "zone": 1}, map[string]any{"name": "x", "Name": "y"},
	} {
		b, err := cborcodec.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if beyondReference(data) {
			return
		}
		for _, newTarget := range typedTargets() {
			got, want := newTarget(), newTarget()
			err := Unmarshal(data, got)
			hostErr := hostDec.Unmarshal(data, want)
			if (err == nil) != (hostErr == nil) {
				t.Fatalf("% x into %T: Unmarshal: %v, the host's codec: %v", data, got, err, hostErr)
			}
			if err != nil {
				continue
			}
			if !typedEqual(got, want) {
				t.Fatalf("% x into %T: Unmarshal = %#v, the host's codec %#v", data, got, got, want)
			}
		}
	})
}

// typedEqual compares decoded values, normalising what the host's codec
// decodes differently into an empty interface.
func typedEqual(a, b any) bool {
	switch x := a.(type) {
	case *outer:
		y := b.(*outer)
		xa, ya := x.Any, normal(y.Any)
		xc, yc := *x, *y
		xc.Any, yc.Any = nil, nil
		return equalValues(xa, ya) && reflect.DeepEqual(xc, yc)
	case *map[string]any:
		return equalValues(*x, normal(*b.(*map[string]any)))
	case *[]any:
		return equalValues(*x, normal(*b.(*[]any)))
	case *abi.Result:
		y := b.(*abi.Result)
		if (x.Error == nil) != (y.Error == nil) || string(x.Value) != string(y.Value) {
			return false
		}
		if x.Error == nil {
			return true
		}
		xe, ye := *x.Error, *y.Error
		return equalValues(xe.Args, normal(ye.Args)) && equalValues(xe.Kwargs, normal(ye.Kwargs)) &&
			xe.Class == ye.Class && xe.Module == ye.Module && xe.Message == ye.Message && xe.Expected == ye.Expected
	case *float32:
		y := *b.(*float32)
		return *x == y || *x != *x && y != y
	case *float64:
		return equalValues(*x, *b.(*float64))
	}
	return reflect.DeepEqual(a, b)
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name    string
		target  any
		hex     string
		wantErr string
	}{
		{"struct field", new(struct {
			EventType string `cbor:"event_type"`
		}), "a1 6a6576656e745f74797065 01", "cannot unmarshal positive integer into Go struct field struct { EventType string \"cbor:\\\"event_type\\\"\" }.event_type of type string"},
		{"nested", new(struct{ Tags []string }), "a1 6474616773 81 01", "cannot unmarshal positive integer into Go struct field struct { Tags []string }.Tags of type string"},
		{"overflow", new(int8), "19 012c", "cannot unmarshal positive integer into Go value of type int8 (300 overflows int8)"},
		{"negative uint", new(uint), "20", "(-1 overflows uint)"},
		{"float32", new(float32), "fb 7e37e43c8800759c", "(1e+300 overflows float32)"},
		{"float into int", new(int), "f9 3c00", "cannot unmarshal primitives into Go value of type int"},
		{"bytes into string", new(string), "41 61", "cannot unmarshal byte string into Go value of type string"},
		{"text into bytes", new([]byte), "61 61", "cannot unmarshal UTF-8 text string into Go value of type []uint8"},
		{"dup field", new(struct{ N int }), "a2 616e 01 614e 02", `found duplicate map key "N" at map element index 1`},
		{"dup unknown", new(struct{ N int }), "a2 6178 01 6178 02", `found duplicate map key "x" at map element index 1`},
		{"array key", new(struct{ N int }), "a1 80 01", "map key is of type array"},
		{"int key", new(map[string]int), "a1 01 01", "cannot unmarshal positive integer into Go value of type string"},
		{"truncated", new(any), "a2 01", "unexpected EOF"},
		{"non-empty interface", new(error), "01", "cannot unmarshal positive integer into Go value of type error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := unhex(t, tt.hex)
			err := Unmarshal(data, tt.target)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Unmarshal: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestUnmarshalValues(t *testing.T) {
	var o outer
	o.Size = 9
	o.Tags = []string{"old"}
	data, err := cborcodec.Marshal(map[string]any{"name": "n", "SIZE": nil, "tags": nil,
		"i2": "deep", "e": "emb", "deep": 4, "arr": []byte{9}, "any": map[string]any{"k": []any{1.5}}, "raw": []any{1, "x"},
		"unknown": map[string]any{"x": 1}, "pspec": map[string]any{"zone": "a"}, "f": 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(data, &o); err != nil {
		t.Fatal(err)
	}
	raw, _ := cborcodec.Marshal([]any{1, "x"})
	want := outer{Name: "n", Size: 9, F: 3, Embedded: Embedded{"emb", 4}, Inner2: &Inner2{"deep"},
		Arr: [2]byte{9, 0}, Any: map[string]any{"k": []any{1.5}}, Raw: raw, PSpec: &inner{Zone: "a"}}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("decoded\n %#v\nwant\n %#v", o, want)
	}
	var tm time.Time
	if err := Unmarshal(unhex(t, "74 323032342d30352d30365430373a30383a30395a"), &tm); err != nil || !tm.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Fatalf("time %v, %v", tm, err)
	}
}

func TestUnmarshalBigInt(t *testing.T) {
	tests := []struct {
		hex     string
		want    string
		wantErr bool
	}{
		{"1bffffffffffffffff", "18446744073709551615", false},
		{"3bffffffffffffffff", "-18446744073709551616", false},
		{"c2 49 010000000000000000", "18446744073709551616", false},
		{"c3 41 00", "-1", false},
		{"f6", "7", false},
		{"d818 20", "-1", false},
		{"61 61", "", true},
		{"a0", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.hex, func(t *testing.T) {
			n := big.NewInt(7)
			err := Unmarshal(unhex(t, tt.hex), n)
			if tt.wantErr != (err != nil) || !tt.wantErr && n.String() != tt.want {
				t.Fatalf("Unmarshal = %v, %v; want %s (error %v)", n, err, tt.want, tt.wantErr)
			}
			var p *big.Int
			if err := Unmarshal(unhex(t, tt.hex), &p); tt.wantErr != (err != nil) {
				t.Fatalf("into *big.Int: %v", err)
			}
			var b BigInt
			err = Unmarshal(unhex(t, tt.hex), &b)
			if tt.hex == "f6" {
				return
			}
			if tt.wantErr != (err != nil) || !tt.wantErr && b.String() != tt.want {
				t.Fatalf("into BigInt: %v, %v", b, err)
			}
		})
	}
}

func TestBigInt(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "255", "256", "18446744073709551615", "18446744073709551616", "-18446744073709551616",
		"-18446744073709551617", "1267650600228229401496703205376", "-1267650600228229401496703205376", strings.Repeat("9", 200)} {
		t.Run(s, func(t *testing.T) {
			want, _ := new(big.Int).SetString(s, 10)
			b, ok := parseDecimal(s)
			if !ok || b.String() != s {
				t.Fatalf("parseDecimal(%s) = %v, %v", s, b, ok)
			}
			got, err := b.MarshalCBOR()
			if err != nil {
				t.Fatal(err)
			}
			ref, err := cborcodec.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, ref) {
				t.Fatalf("MarshalCBOR = % x, the host's codec % x", got, ref)
			}
			back, err := DecodeAny(got)
			if err != nil || !reflect.DeepEqual(back, fromBig(want)) {
				t.Fatalf("DecodeAny = %#v, %v; want %#v", back, err, fromBig(want))
			}
			f, _ := new(big.Float).SetInt(want).Float64()
			if g := b.Float64(); g != f {
				t.Fatalf("Float64 = %v, want %v", g, f)
			}
		})
	}
	if _, ok := parseDecimal("1x"); ok {
		t.Fatal("parseDecimal accepted 1x")
	}
}

func TestSortBy(t *testing.T) {
	for _, n := range []int{0, 1, 2, 12, 13, 100, 1000} {
		s := make([]int, n)
		for i := range s {
			s[i] = (i * 7919) % (n + 1)
		}
		SortBy(len(s), func(i, j int) bool { return s[i] < s[j] }, func(i, j int) { s[i], s[j] = s[j], s[i] })
		for i := 1; i < len(s); i++ {
			if s[i-1] > s[i] {
				t.Fatalf("n=%d: not sorted at %d: %v", n, i, s)
			}
		}
	}
}

func TestMapReader(t *testing.T) {
	tests := []struct {
		name    string
		hex     string
		keys    []string
		values  []string // hex
		wantErr string
	}{
		{"small", "a2 6161 01 6162 78 03 787878", []string{"a", "b"}, []string{"01", "7803787878"}, ""},
		{"all quick kinds", "a8 6161 1b 0000000000000001 6162 39 0100 6163 59 0001 ff 6164 f5 6165 f9 3c00 6166 fa 3f800000 6167 fb 3ff0000000000000 6168 f7",
			[]string{"a", "b", "c", "d", "e", "f", "g", "h"},
			[]string{"1b0000000000000001", "390100", "590001ff", "f5", "f93c00", "fa3f800000", "fb3ff0000000000000", "f7"}, ""},
		{"nested", "a1 6161 82 01 a0", []string{"a"}, []string{"8201a0"}, ""},
		{"indefinite", "bf 6161 01 ff", []string{"a"}, []string{"01"}, ""},
		{"long key", "a1 78 18 " + strings.Repeat("61", 24) + " 01", []string{strings.Repeat("a", 24)}, []string{"01"}, ""},
		{"tagged key", "a1 d818 6161 01", []string{"a"}, []string{"01"}, ""},
		{"empty", "a0", nil, nil, ""},
		{"int key", "a1 01 02", nil, nil, "cannot unmarshal positive integer into Go value of type string"},
		{"truncated value", "a1 6161 62 61", nil, nil, "unexpected EOF"},
		{"truncated quick int", "a1 6161 1b 00", nil, nil, "unexpected EOF"},
		{"missing entry", "a2 6161 01", nil, nil, "unexpected EOF"},
		{"bad simple value", "a1 6161 f8 01", nil, nil, "invalid simple value"},
		{"open indefinite", "bf 6161 01", nil, nil, "unexpected EOF"},
		{"odd indefinite", "bf 6161 ff", nil, nil, `unexpected "break" code`},
		{"too deep", "a1 6161 " + strings.Repeat("81", MaxNesting) + "01", nil, nil, "exceeded max nested level"},
		{"deep enough", "a1 6161 " + strings.Repeat("81", MaxNesting-1) + "01", []string{"a"}, []string{strings.Repeat("81", MaxNesting-1) + "01"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := unhex(t, tt.hex)
			r, err := NewMapReader(data)
			var keys, values []string
			for err == nil {
				_, key, value, ok, keyErr, nerr := r.Next()
				if nerr != nil {
					err = nerr
					break
				}
				if keyErr != nil {
					err = keyErr
					break
				}
				if !ok {
					break
				}
				keys = append(keys, string(key))
				values = append(values, hex.EncodeToString(value))
			}
			if err == nil && r.Rest() != 0 {
				t.Fatalf("%d bytes after the map", r.Rest())
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if Wellformed(data) == nil && !strings.Contains(tt.wantErr, "unmarshal") {
					t.Fatalf("Wellformed accepts what the reader refuses")
				}
				return
			}
			if err != nil || !reflect.DeepEqual(keys, tt.keys) || !reflect.DeepEqual(values, tt.values) {
				t.Fatalf("keys %q values %q, %v; want %q %q", keys, values, err, tt.keys, tt.values)
			}
			if Wellformed(data) != nil {
				t.Fatalf("the reader accepts what Wellformed refuses")
			}
		})
	}
}

// FuzzMapReader checks that the reader accepts exactly the maps
// Wellformed accepts, and finds the same entries as decoding does.
func FuzzMapReader(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0]>>5 != majorMap {
			return
		}
		r, err := NewMapReader(data)
		var keys []string
		keyErrs := false
		for err == nil {
			_, key, _, ok, keyErr, nerr := r.Next()
			if nerr != nil {
				err = nerr
				break
			}
			if !ok {
				break
			}
			keyErrs = keyErrs || keyErr != nil
			keys = append(keys, string(key))
		}
		if err == nil && r.Rest() != 0 {
			err = errExtraneous(r.Rest(), r.End())
		}
		if wf := Wellformed(data); (wf == nil) != (err == nil) {
			t.Fatalf("% x: reader %v, Wellformed %v", data, err, wf)
		}
		if err != nil || keyErrs {
			return
		}
		var m map[string]any
		if Unmarshal(data, &m) != nil {
			return // invalid UTF-8 or a repeated key: the binder checks those
		}
		if len(m) != len(keys) {
			t.Fatalf("% x: %d keys read, %d decoded", data, len(keys), len(m))
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Fatalf("% x: key %q read, not decoded", data, k)
			}
		}
	})
}
