package py

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/guest-sdk/internal/cbor"
)

// python runs script with Debian's Python 3, which the differential tests
// compare against, feeding it input as JSON on stdin and decoding its JSON
// output into out. It skips under -short (no Python there, as `make
// test-short` promises) and fails when Python is missing otherwise.
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
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("decoding Python's output %q: %v", data, err)
	}
}

// fromJSON turns a value decoded with UseNumber into the ABI's types.
func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(x.String(), ".eE") {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fromJSON(x[k])
		}
	}
	return v
}

func TestTypeName(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, "NoneType"},
		{true, "bool"},
		{int64(1), "int"},
		{uint64(1), "int"},
		{cbor.BigInt{Abs: []byte{1}}, "int"},
		{1.5, "float"},
		{"s", "str"},
		{[]byte("b"), "bytes"},
		{[]any{1}, "list"},
		{map[string]any{}, "dict"},
		{int32(1), "int"},
		{[]string{"a"}, "list"},
		{struct{}{}, "dict"},
		{map[string]int{}, "dict"},
		{new(int), "int"},
		{make(chan int), "chan int"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := TypeName(tt.v); got != tt.want {
				t.Errorf("TypeName(%#v) = %q, want %q", tt.v, got, tt.want)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		name    string
		a, b    any
		want    any
		wantErr string
	}{
		{"int+int", int64(1), int64(2), int64(3), ""},
		{"int+float", int64(1), 1.5, 2.5, ""},
		{"float+int", 1.5, int64(1), 2.5, ""},
		{"float+float", 1.5, 1.5, 3.0, ""},
		{"bool+bool", true, true, int64(2), ""},
		{"bool+int", false, int64(7), int64(7), ""},
		{"bool+float", true, 1.5, 2.5, ""},
		{"str+str", "ab", "cd", "abcd", ""},
		{"list+list", []any{int64(1)}, []any{"x"}, []any{int64(1), "x"}, ""},
		{"bytes+bytes", []byte("a"), []byte("b"), []byte("ab"), ""},
		{"overflow", int64(math.MaxInt64), int64(1), 9223372036854775808.0, ""},
		{"underflow", int64(math.MinInt64), int64(-1), -9223372036854775809.0, ""},
		{"uint back to int", uint64(1 << 63), int64(-1), int64(math.MaxInt64), ""},
		{"uint+uint", uint64(math.MaxUint64), uint64(math.MaxUint64), 36893488147419103230.0, ""},
		{"min+min", int64(math.MinInt64), int64(math.MinInt64), -18446744073709551616.0, ""},
		{"bigint+int", cbor.BigInt{Abs: []byte{1, 0, 0, 0, 0, 0, 0, 0, 0}}, int64(1), 18446744073709551617.0, ""},
		{"bigint+str", cbor.BigInt{Neg: true, Abs: []byte{1, 0, 0, 0, 0, 0, 0, 0, 0}}, "s", nil, "unsupported operand type(s) for +: 'int' and 'str'"},
		{"int+str", int64(1), "s", nil, "unsupported operand type(s) for +: 'int' and 'str'"},
		{"str+int", "s", int64(1), nil, `can only concatenate str (not "int") to str`},
		{"list+dict", []any{}, map[string]any{}, nil, `can only concatenate list (not "dict") to list`},
		{"bytes+str", []byte("a"), "s", nil, "can't concat str to bytes"},
		{"dict+dict", map[string]any{}, map[string]any{}, nil, "unsupported operand type(s) for +: 'dict' and 'dict'"},
		{"None+None", nil, nil, nil, "unsupported operand type(s) for +: 'NoneType' and 'NoneType'"},
		{"bool+str", true, "s", nil, "unsupported operand type(s) for +: 'bool' and 'str'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Add(tt.a, tt.b)
			if tt.wantErr != "" {
				pe, ok := err.(*Error)
				if !ok || pe.Class != "TypeError" || pe.Message != tt.wantErr {
					t.Fatalf("Add(%#v, %#v) error = %v, want TypeError: %s", tt.a, tt.b, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Add(%#v, %#v) = %#v, %v; want %#v", tt.a, tt.b, got, err, tt.want)
			}
		})
	}
}

func TestAddDoesNotAlias(t *testing.T) {
	a := make([]any, 1, 8)
	got, err := Add(a, []any{"x"})
	if err != nil {
		t.Fatal(err)
	}
	got.([]any)[0] = "changed"
	if a[0] != nil || len(a) != 1 {
		t.Fatalf("Add changed its operand: %#v", a)
	}
}

// TestAddMatchesPython compares Add with Python's + for every pair of a set
// of JSON values.
func TestAddMatchesPython(t *testing.T) {
	values := []any{int64(-3), int64(1), 2.5, -0.5, true, false, "", "s", []any{}, []any{int64(1), "a"},
		map[string]any{}, map[string]any{"k": int64(1)}, nil, int64(math.MaxInt64 - 1)}
	var pairs [][2]any
	for _, a := range values {
		for _, b := range values {
			pairs = append(pairs, [2]any{a, b})
		}
	}
	const script = `
import json, sys
out = []
for a, b in json.load(sys.stdin):
    try:
        out.append({"value": a + b})
    except Exception as e:
        out.append({"class": type(e).__name__, "message": str(e)})
json.dump(out, sys.stdout)
`
	var want []map[string]any
	python(t, script, pairs, &want)
	if len(want) != len(pairs) {
		t.Fatalf("Python answered %d results for %d pairs", len(want), len(pairs))
	}
	for i, p := range pairs {
		got, err := Add(p[0], p[1])
		w := want[i]
		if class, ok := w["class"]; ok {
			pe, isPy := err.(*Error)
			if !isPy || pe.Class != class || pe.Message != w["message"] {
				t.Errorf("%#v + %#v: got %#v, %v; Python raised %v: %v", p[0], p[1], got, err, class, w["message"])
			}
			continue
		}
		if err != nil {
			t.Errorf("%#v + %#v: got error %v; Python returned %v", p[0], p[1], err, w["value"])
			continue
		}
		if wv := fromJSON(w["value"]); !reflect.DeepEqual(got, wv) {
			t.Errorf("%#v + %#v = %#v; Python returned %#v", p[0], p[1], got, wv)
		}
	}
}

func TestRepr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"boom", `'boom'`},
		{"it's", `"it's"`},
		{`a"b`, `'a"b'`},
		{`both'"`, `'both\'"'`},
		{"\t\r\n\\", `'\t\r\n\\'`},
		{"\x00\x7f", `'\x00\x7f'`},
		{"\u00a0\u00ad\u00e9", `'\xa0\xad` + "\u00e9'"},
		{"\u2028\U0001f600\U000e0001", `'\u2028` + "\U0001f600" + `\U000e0001'`},
		{"", `''`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Repr(tt.in); got != tt.want {
				t.Errorf("Repr(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestReprMatchesPython(t *testing.T) {
	inputs := []string{"plain", "it's", `say "hi"`, `'"`, "tab\there", "nl\n", "bell\a", "del\x7f",
		"nbsp\u00a0", "soft\u00adhyphen", "é ü ß", "日本語", "zero\u200bwidth", "line\u2028sep",
		"emoji😀", "tag\U000e0041", "private\ue000", "\\back\\slash", "bom\ufeff"}
	var want []string
	python(t, "import json, sys; json.dump([repr(s) for s in json.load(sys.stdin)], sys.stdout)", inputs, &want)
	for i, in := range inputs {
		if got := Repr(in); got != want[i] {
			t.Errorf("Repr(%q) = %s; Python: %s", in, got, want[i])
		}
	}
}

// TestIntSumRounds checks the float of an integer sum beyond int64 against
// math/big's correctly rounded conversion.
func TestIntSumRounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	edges := []uint64{0, 1, 1 << 63, 1<<63 - 1, math.MaxUint64, math.MaxUint64 - 1, 1<<11 - 1, 1 << 11, 1<<10 + 1}
	for i := range 20000 {
		var a, b any
		if i < len(edges)*len(edges) {
			a, b = edges[i/len(edges)], edges[i%len(edges)]
		} else {
			a, b = r.Uint64(), r.Uint64()
		}
		if r.IntN(2) == 0 {
			a = int64(a.(uint64))
		}
		if r.IntN(2) == 0 {
			b = int64(b.(uint64))
		}
		got, err := Add(a, b)
		if err != nil {
			t.Fatal(err)
		}
		sum := new(big.Int).Add(bigOf(a), bigOf(b))
		var want any
		if sum.IsInt64() {
			want = sum.Int64()
		} else {
			want, _ = new(big.Float).SetInt(sum).Float64()
		}
		if got != want {
			t.Fatalf("%v + %v = %v, want %v", a, b, got, want)
		}
	}
}

func bigOf(v any) *big.Int {
	switch x := v.(type) {
	case int64:
		return big.NewInt(x)
	case uint64:
		return new(big.Int).SetUint64(x)
	}
	panic(v)
}
