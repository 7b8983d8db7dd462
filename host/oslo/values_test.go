package oslo

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// pythonJSON is testdata/python_json.json, written by capture.py from
// Python's own json module.
func pythonJSON(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("testdata/python_json.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeValue(data)
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

// TestPythonFloatRepr checks appendPyFloat, and the float path of both
// transcoders, against Python's json.dumps of 4,000 doubles.
func TestPythonFloatRepr(t *testing.T) {
	floats := pythonJSON(t)["floats"].([]any)
	if len(floats) < 4000 {
		t.Fatalf("only %d floats", len(floats))
	}
	for _, e := range floats {
		pair := e.([]any)
		raw, err := hex.DecodeString(pair[0].(string))
		if err != nil {
			t.Fatal(err)
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(raw))
		want := pair[1].(string)
		if got := string(appendPyFloat(nil, f)); got != want {
			t.Errorf("repr(%v) = %s, want %s", f, got, want)
			continue
		}
		if got := toJSON(t, toCBOR(t, want)); got != want {
			t.Errorf("round trip of %s gives %s", want, got)
		}
	}
}

// pythonDifferences are the inputs Python's json reads into values UTF-8
// cannot hold (lone surrogates), which JSONToCBOR replaces with U+FFFD.
var pythonDifferences = map[string]string{
	`"\ud800"`:       `"\ufffd"`,
	`"\udc00x"`:      `"\ufffdx"`,
	`"\ud800\u0041"`: `"\ufffdA"`,
}

// TestPythonJSONCases checks JSONToCBOR then CBORToJSON against Python's
// json.dumps(json.loads(input)), errors included.
func TestPythonJSONCases(t *testing.T) {
	for _, e := range pythonJSON(t)["cases"].([]any) {
		c := e.(map[string]any)
		in := c["input"].(string)
		t.Run(in, func(t *testing.T) {
			cb, err := JSONToCBOR(nil, []byte(in))
			if _, pyErr := c["error"]; pyErr {
				if err == nil {
					t.Fatalf("accepted %q (%x), Python refuses it", in, cb)
				}
				if !errors.Is(err, ErrSyntax) {
					t.Errorf("error %v does not wrap ErrSyntax", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused %q: %v", in, err)
			}
			want := c["output"].(string)
			if d, ok := pythonDifferences[in]; ok {
				want = d
			}
			if got := toJSON(t, cb); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

func TestJSONToCBOR(t *testing.T) {
	deep := func(n int, inner string) string {
		return strings.Repeat("[", n) + inner + strings.Repeat("]", n)
	}
	for _, tc := range []struct {
		name, in, want string // want: CBOR hex
	}{
		{"zero", `0`, "00"},
		{"minus zero is the integer 0", `-0`, "00"},
		{"small", `23`, "17"},
		{"one byte", `24`, "1818"},
		{"negative", `-1`, "20"},
		{"int64 max", `9223372036854775807`, "1b7fffffffffffffff"},
		{"int64 min", `-9223372036854775808`, "3b7fffffffffffffff"},
		{"uint64 max", `18446744073709551615`, "1bffffffffffffffff"},
		{"-2^64 still fits major type 1", `-18446744073709551616`, "3bffffffffffffffff"},
		{"2^64 is a bignum", `18446744073709551616`, "c249010000000000000000"},
		{"-2^64-1 is a negative bignum", `-18446744073709551617`, "c349010000000000000000"},
		{"float 1.0 as half", `1.0`, "f93c00"},
		{"float -0.0", `-0.0`, "f98000"},
		{"float 0.1 as double", `0.1`, "fb3fb999999999999a"},
		{"float 100000.0 as single", `100000.0`, "fa47c35000"},
		{"exponent makes a float", `1e2`, "f95640"},
		{"NaN", `NaN`, "f97e00"},
		{"Infinity", `Infinity`, "f97c00"},
		{"-Infinity", `-Infinity`, "f9fc00"},
		{"overflow is Infinity", `1e400`, "f97c00"},
		{"true false null", `[true, false, null]`, "83f5f4f6"},
		{"string", `"a\u00e9\ud83d\ude00"`, "6761c3a9f09f9880"},
		{"escapes", `"\"\\\/\b\f\n\r\t"`, "68225c2f080c0a0d09"},
		{"raw UTF-8", "\"\u00e9\"", "62c3a9"},
		{"empty containers", `[{}, []]`, "82a080"},
		{"24 items need a two-byte head", `[` + strings.Repeat("0,", 23) + `0]`, "9818" + strings.Repeat("00", 24)},
		{"repeated key: first place, last value", `{"a": 1, "b": 2, "a": 3}`, "a2616103616202"},
		{"repeated key in a large map", `{` + strings.Repeat(`"k": 0, `, 20) + `"z": 1, "k": 2}`, "a2616b02617a01"},
		{"64 levels", deep(64, ""), strings.Repeat("81", 63) + "80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JSONToCBOR(nil, []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != tc.want {
				t.Errorf("got %x, want %s", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"65 levels", deep(65, ""), ErrTooDeep},
		{"65 levels of objects", strings.Repeat(`{"a":`, 65) + `1` + strings.Repeat("}", 65), ErrTooDeep},
		{"integer over 4300 digits", strings.Repeat("1", 4301), ErrSyntax},
		{"invalid UTF-8", "\"\xff\"", ErrSyntax},
		{"invalid UTF-8 after an escape", "\"\\n\xff\"", ErrSyntax},
		{"control character", "\"\x01\"", ErrSyntax},
		{"trailing data", `1 1`, ErrSyntax},
		{"empty", ``, ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := JSONToCBOR(nil, []byte(tc.in)); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCBORToJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string // in: CBOR hex
	}{
		{"uint64 max", "1bffffffffffffffff", "18446744073709551615"},
		{"int64 min", "3b7fffffffffffffff", "-9223372036854775808"},
		{"-2^63-1", "3b8000000000000000", "-9223372036854775809"},
		{"-2^64", "3bffffffffffffffff", "-18446744073709551616"},
		{"bignum", "c249010000000000000000", "18446744073709551616"},
		{"negative bignum", "c349010000000000000000", "-18446744073709551617"},
		{"half float", "f93e00", "1.5"},
		{"single float", "fa3dcccccd", "0.10000000149011612"},
		{"double", "fb3fb999999999999a", "0.1"},
		{"integral float", "fb4341c37937e08000", "1e+16"},
		{"NaN of any form", "fb7ff8000000000001", "NaN"},
		{"-Infinity", "f9fc00", "-Infinity"},
		{"undefined is null", "f7", "null"},
		{"simple value is null", "f820", "null"},
		{"low simple value is null", "e0", "null"},
		{"text with escapes", "6a22 5c 0a 7f c3a9 f09f9880", `"\"\\\n\u007f\u00e9\ud83d\ude00"`},
		{"UTF-8 byte string is text", "4568656c6c6f", `"hello"`},
		{"indefinite text", "7f6161626263ff", `"abc"`},
		{"indefinite bytes", "5f416141 62ff", `"ab"`},
		{"indefinite array", "9f0102ff", "[1, 2]"},
		{"indefinite map", "bf616101ff", `{"a": 1}`},
		{"nested", "a26161a1616280616283f5f4f6", `{"a": {"b": []}, "b": [true, false, null]}`},
		{"integer keys", "a2016161206162", `{"1": "a", "-1": "b"}`},
		{"float keys", "a3f93e0001f97e0002f97c0003", `{"1.5": 1, "NaN": 2, "Infinity": 3}`},
		{"bool and null keys", "a3f501f402f603", `{"true": 1, "false": 2, "null": 3}`},
		{"byte string key", "a1416b01", `{"k": 1}`},
		{"bignum key", "a1c249010000000000000000 01", `{"18446744073709551616": 1}`},
		{"date string tag is its text", "c074323031332d30332d32315432303a30343a30305a", `"2013-03-21T20:04:00Z"`},
		{"epoch tag is its number", "c11a514b67b0", "1363896240"},
		{"base64url tag", "d54403ff00fe", `"A_8A_g"`},
		{"base64 tag", "d64403ff00fe", `"A/8A/g=="`},
		{"base16 tag", "d74403ff00fe", `"03ff00fe"`},
		{"self-described", "d9d9f783010203", "[1, 2, 3]"},
		{"unknown tag is its content", "d8ff6161", `"a"`},
		{"repeated keys are kept, as json.dumps keeps them", "a2 01 6161 6131 6162", `{"1": "a", "1": "b"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := hex.DecodeString(strings.ReplaceAll(tc.in, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			got, err := CBORToJSON(nil, in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	deepArray := strings.Repeat("81", 65) + "00"
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrCBOR},
		{"truncated head", "19 01", ErrCBOR},
		{"truncated string", "63 6161", ErrCBOR},
		{"huge array length", "9b ffffffffffffffff", ErrCBOR},
		{"reserved additional information", "1c", ErrCBOR},
		{"indefinite integer", "1f", ErrCBOR},
		{"break outside a container", "ff", ErrCBOR},
		{"unterminated indefinite array", "9f 01", ErrCBOR},
		{"bad chunk", "7f 41 61 ff", ErrCBOR},
		{"bytes not UTF-8", "41 ff", ErrCBOR},
		{"text not UTF-8", "61 ff", ErrCBOR},
		{"trailing bytes", "01 02", ErrCBOR},
		{"array key", "a1 80 01", ErrCBOR},
		{"map key", "a1 a0 01", ErrCBOR},
		{"two-byte low simple value", "f8 10", ErrCBOR},
		{"too many tags", strings.Repeat("c5", 17) + "01", ErrCBOR},
		{"bignum over 4300 digits", "c2 59 0800" + strings.Repeat("ff", 2048), ErrCBOR},
		{"65 levels", deepArray, ErrTooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := hex.DecodeString(strings.ReplaceAll(tc.in, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := CBORToJSON(nil, in); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestGuestsDecodeTranscodedValues checks that what JSONToCBOR writes at
// the nesting limit, bignums included, is what guests decode with the
// ABI's options, and that CBORToJSON reads what guests write with them.
func TestGuestsDecodeTranscodedValues(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("[", 64) + strings.Repeat("]", 64),
		strings.Repeat("[", 64) + "1267650600228229401496703205376" + strings.Repeat("]", 64),
		`{"a": [1, -1, 1.5, NaN, Infinity, "x", null, true, {"b": {}}]}`,
		`[-9223372036854775808, 9223372036854775807, -18446744073709551617]`,
	} {
		c := toCBOR(t, in)
		var v any
		if err := cborcodec.Unmarshal(c, &v); err != nil {
			t.Errorf("cborcodec.Unmarshal of %.40s…: %v", in, err)
			continue
		}
		back, err := cborcodec.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CBORToJSON(nil, back); err != nil {
			t.Errorf("CBORToJSON of cborcodec.Marshal(%v): %v", v, err)
		}
	}
}

func TestValues(t *testing.T) {
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	v, err := DecodeValue([]byte(`{"i": 1, "u": 18446744073709551615, "b": 1180591620717411303424, "f": 1.5, "n": NaN, "s": "\u00e9", "l": [null, true], "m": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if m["i"] != int64(1) || m["f"] != 1.5 || m["s"] != "é" || !math.IsNaN(m["n"].(float64)) {
		t.Errorf("decoded %#v", m)
	}
	if u, ok := m["u"].(*big.Int); !ok || u.String() != "18446744073709551615" {
		t.Errorf("u = %#v", m["u"])
	}
	if b, ok := m["b"].(*big.Int); !ok || b.Cmp(big70) != 0 {
		t.Errorf("b = %#v", m["b"])
	}
	if !reflect.DeepEqual(m["l"], []any{nil, true}) || !reflect.DeepEqual(m["m"], map[string]any{}) {
		t.Errorf("l, m = %#v %#v", m["l"], m["m"])
	}

	type tagged struct {
		Name string `cbor:"name"`
		N    int    `cbor:"n"`
	}
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, "null"},
		{[]any{true, "x\n", int64(-3), uint64(math.MaxUint64), 0.5, float32(0.25), math.Inf(-1)}, `[true, "x\n", -3, 18446744073709551615, 0.5, 0.25, -Infinity]`},
		{map[string]any{"b": 1, "a": []string{"é"}}, `{"a": ["\u00e9"], "b": 1}`},
		{big70, "1180591620717411303424"},
		{*big70, "1180591620717411303424"},
		{cbor.RawMessage{0x82, 0x01, 0xf6}, "[1, null]"},
		{tagged{"n", 2}, `{"n": 2, "name": "n"}`},
		{[]int{1, 2}, "[1, 2]"},
		{"\xff", `"\ufffd"`},
	} {
		got, err := AppendValue(nil, tc.in)
		if err != nil {
			t.Errorf("AppendValue(%#v): %v", tc.in, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("AppendValue(%#v) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if _, err := AppendValue(nil, make(chan int)); err == nil {
		t.Error("AppendValue of a channel succeeded")
	}
}

// TestRepeatedKeys checks the three ways repeats finds repeated keys
// (pairwise, hashed, sorted) against Python's rule, the first position
// with the last value.
func TestRepeatedKeys(t *testing.T) {
	for _, n := range []int{2, 8, 9, 200, 256, 257, 1000} {
		for _, dup := range []int{0, n / 2, n - 1} {
			var in, want strings.Builder
			in.WriteString("{")
			want.WriteString("{")
			for i := 0; i < n; i++ {
				if i > 0 {
					in.WriteString(", ")
					want.WriteString(", ")
				}
				fmt.Fprintf(&in, `"k%d": %d`, i, i)
				if i == dup {
					fmt.Fprintf(&want, `"k%d": "last"`, i)
				} else {
					fmt.Fprintf(&want, `"k%d": %d`, i, i)
				}
			}
			fmt.Fprintf(&in, `, "k%d": "last"}`, dup)
			want.WriteString("}")
			if got := toJSON(t, toCBOR(t, in.String())); got != want.String() {
				t.Errorf("%d keys, k%d repeated: got %.80s…", n, dup, got)
			}
			// Without the repeat nothing changes.
			plain := strings.Replace(in.String(), fmt.Sprintf(`, "k%d": "last"}`, dup), "}", 1)
			if got := toJSON(t, toCBOR(t, plain)); got != plain {
				t.Errorf("%d distinct keys: got %.80s…", n, got)
			}
		}
	}
}
