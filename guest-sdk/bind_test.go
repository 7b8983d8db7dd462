package sdk

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

type volumeArgs struct {
	Name       string
	SizeGB     int    `arg:"size_gb"`
	VolumeType string `arg:"volume_type,default=standard"`
	Bootable   *bool  `arg:",optional"`
	Ratio      float64
	Skipped    string `arg:"-"`
	private    int
}

type nested struct {
	Spec struct {
		Zone  string `cbor:"zone"`
		Count int    `cbor:"count"`
	}
	Tags []string
}

type withKwargs struct {
	A     int
	Extra map[string]any `arg:",kwargs"`
}

func TestBind(t *testing.T) {
	yes := true
	tests := []struct {
		name    string
		typ     reflect.Type
		args    any // encoded to CBOR; []byte is sent as is
		want    any // the bound value, when wantErr is empty
		wantErr string
	}{
		{"all given", reflect.TypeFor[volumeArgs](),
			map[string]any{"name": "v", "size_gb": 3, "volume_type": "ssd", "bootable": true, "ratio": 0.5},
			volumeArgs{Name: "v", SizeGB: 3, VolumeType: "ssd", Bootable: &yes, Ratio: 0.5}, ""},
		{"defaults", reflect.TypeFor[volumeArgs](),
			map[string]any{"name": "v", "size_gb": 3, "ratio": 1},
			volumeArgs{Name: "v", SizeGB: 3, VolumeType: "standard", Ratio: 1}, ""},
		{"int into float", reflect.TypeFor[volumeArgs](),
			map[string]any{"name": "v", "size_gb": 3, "ratio": 2},
			volumeArgs{Name: "v", SizeGB: 3, VolumeType: "standard", Ratio: 2}, ""},
		{"null into pointer", reflect.TypeFor[volumeArgs](),
			map[string]any{"name": "v", "size_gb": 3, "ratio": 1, "bootable": nil},
			volumeArgs{Name: "v", SizeGB: 3, VolumeType: "standard", Ratio: 1}, ""},
		{"missing one", reflect.TypeFor[volumeArgs](),
			map[string]any{"name": "v", "size_gb": 3},
			nil, "TypeError: f() missing 1 required positional argument: 'ratio'"},
		{"missing two", reflect.TypeFor[volumeArgs](),
			map[string]any{"size_gb": 3},
			nil, "TypeError: f() missing 2 required positional arguments: 'name' and 'ratio'"},
		{"missing three", reflect.TypeFor[volumeArgs](),
			map[string]any{},
			nil, "TypeError: f() missing 3 required positional arguments: 'name', 'size_gb', and 'ratio'"},
		{"no args bytes", reflect.TypeFor[volumeArgs](), []byte(nil),
			nil, "TypeError: f() missing 3 required positional arguments: 'name', 'size_gb', and 'ratio'"},
		{"unexpected", reflect.TypeFor[volumeArgs](),
			map[string]any{"name": "v", "size_gb": 3, "ratio": 1, "zzz": 1, "colour": 2},
			// The first in the map's order, which is the encoder's here:
			// shorter keys first.
			nil, "TypeError: f() got an unexpected keyword argument 'zzz'"},
		{"unexpected before missing", reflect.TypeFor[volumeArgs](),
			map[string]any{"skipped": 1},
			nil, "TypeError: f() got an unexpected keyword argument 'skipped'"},
		{"unexported is not a parameter", reflect.TypeFor[volumeArgs](),
			map[string]any{"private": 1},
			nil, "TypeError: f() got an unexpected keyword argument 'private'"},
		{"ctxt twice", reflect.TypeFor[volumeArgs](),
			map[string]any{"ctxt": 1, "name": "v"},
			nil, "TypeError: f() got multiple values for argument 'ctxt'"},
		{"self twice", reflect.TypeFor[struct{}](),
			map[string]any{"self": 1},
			nil, "TypeError: f() got multiple values for argument 'self'"},
		{"no parameters", reflect.TypeFor[struct{}](), map[string]any{}, struct{}{}, ""},
		{"no parameters, one given", reflect.TypeFor[struct{}](),
			map[string]any{"x": 1},
			nil, "TypeError: f() got an unexpected keyword argument 'x'"},
		{"str into int", reflect.TypeFor[volumeArgs](),
			map[string]any{"name": "v", "size_gb": "3", "ratio": 1},
			nil, "TypeError: f() argument 'size_gb' must be int, not str"},
		{"float into int", reflect.TypeFor[volumeArgs](),
			map[string]any{"name": "v", "size_gb": 2.5, "ratio": 1},
			nil, "TypeError: f() argument 'size_gb' must be int, not float"},
		{"bool into int", reflect.TypeFor[volumeArgs](),
			map[string]any{"name": "v", "size_gb": true, "ratio": 1},
			nil, "TypeError: f() argument 'size_gb' must be int, not bool"},
		{"null into int", reflect.TypeFor[volumeArgs](),
			map[string]any{"name": "v", "size_gb": nil, "ratio": 1},
			nil, "TypeError: f() argument 'size_gb' must be int, not NoneType"},
		{"list into str", reflect.TypeFor[volumeArgs](),
			map[string]any{"name": []any{1}, "size_gb": 1, "ratio": 1},
			nil, "TypeError: f() argument 'name' must be str, not list"},
		{"overflow", reflect.TypeFor[struct{ N int8 }](),
			map[string]any{"n": 300},
			nil, "OverflowError: f() argument 'n' out of range for int8: 300"},
		{"negative into uint", reflect.TypeFor[struct{ N uint }](),
			map[string]any{"n": -1},
			nil, "OverflowError: f() argument 'n' out of range for uint: -1"},
		{"nested", reflect.TypeFor[nested](),
			map[string]any{"spec": map[string]any{"zone": "a", "count": 2}, "tags": []any{"x"}},
			func() nested {
				var n nested
				n.Spec.Zone, n.Spec.Count, n.Tags = "a", 2, []string{"x"}
				return n
			}(), ""},
		{"nested mismatch", reflect.TypeFor[nested](),
			map[string]any{"spec": map[string]any{}, "tags": []any{1}},
			nil, "TypeError: f() argument 'tags': cannot unmarshal positive integer into Go value of type string"},
		{"dict into list", reflect.TypeFor[nested](),
			map[string]any{"spec": map[string]any{}, "tags": map[string]any{}},
			nil, "TypeError: f() argument 'tags' must be list, not dict"},
		{"map takes all", reflect.TypeFor[map[string]any](),
			map[string]any{"a": 1, "b": []any{"x"}},
			map[string]any{"a": int64(1), "b": []any{"x"}}, ""},
		{"map refuses ctxt", reflect.TypeFor[map[string]any](),
			map[string]any{"ctxt": 1},
			nil, "TypeError: f() got multiple values for argument 'ctxt'"},
		{"typed map", reflect.TypeFor[map[string]int](),
			map[string]any{"a": "x"},
			nil, "TypeError: f() argument 'a' must be int, not str"},
		{"kwargs field", reflect.TypeFor[withKwargs](),
			map[string]any{"a": 1, "b": 2, "c": "x"},
			withKwargs{A: 1, Extra: map[string]any{"b": int64(2), "c": "x"}}, ""},
		{"kwargs field, none extra", reflect.TypeFor[withKwargs](),
			map[string]any{"a": 1},
			withKwargs{A: 1}, ""},
		{"args not a map", reflect.TypeFor[struct{}](), []any{1},
			nil, "TypeError: f() argument after ** must be a mapping, not list"},
		{"args not CBOR", reflect.TypeFor[struct{}](), []byte{0xff},
			nil, "TypeError: f() arguments are not valid CBOR: unexpected \"break\" code"},
		{"args with an integer key", reflect.TypeFor[struct{}](), []byte{0xa1, 0x01, 0x02},
			nil, "TypeError: f() arguments are not a valid CBOR map with text keys: cannot unmarshal positive integer into Go value of type string"},
		{"args with a repeated key", reflect.TypeFor[struct{ A int }](), []byte{0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02},
			nil, "TypeError: f() arguments are not a valid CBOR map with text keys: found duplicate map key \"a\" at map element index 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, ok := tt.args.([]byte)
			if !ok {
				args = enc(t, tt.args)
			}
			got, err := bindInto(t, tt.typ, "f", args)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("bound %#v, want error %q", got.Interface(), tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Fatalf("error %q, want %q", err, tt.wantErr)
				}
				if se, ok := err.(*Error); !ok || se.Module != "builtins" {
					t.Fatalf("error %#v is not a builtins *Error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got.Interface(), tt.want) {
				t.Fatalf("bound %#v, want %#v", got.Interface(), tt.want)
			}
		})
	}
}

func TestNewBinderRefuses(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"int", reflect.TypeFor[int](), "must be a struct or a map"},
		{"int keys", reflect.TypeFor[map[int]any](), "map keys must be strings"},
		{"pointer", reflect.TypeFor[*volumeArgs](), "must be a struct or a map"},
		{"duplicate", reflect.TypeFor[struct {
			A int
			B int `arg:"a"`
		}](), `two fields are named "a"`},
		{"ctxt field", reflect.TypeFor[struct{ Ctxt int }](), `"ctxt" is the Python method's own parameter`},
		{"self field", reflect.TypeFor[struct {
			S int `arg:"self"`
		}](), `"self" is the Python method's own parameter`},
		{"bad default", reflect.TypeFor[struct {
			N int `arg:"n,default=x"`
		}](), `default "x"`},
		{"default of a slice", reflect.TypeFor[struct {
			L []int `arg:"l,default=1"`
		}](), "default= needs a string, integer, float or bool field"},
		{"unknown option", reflect.TypeFor[struct {
			N int `arg:"n,required"`
		}](), `unknown arg option "required"`},
		{"embedded", reflect.TypeFor[struct{ volumeArgs }](), "embedded field"},
		{"two kwargs", reflect.TypeFor[struct {
			A map[string]any `arg:",kwargs"`
			B map[string]any `arg:",kwargs"`
		}](), "kwargs needs a single map"},
		{"kwargs not a map", reflect.TypeFor[struct {
			A []any `arg:",kwargs"`
		}](), "kwargs needs a single map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newBinder(tt.typ)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("newBinder(%v) = %v, want an error containing %q", tt.typ, err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	type all struct {
		S  string  `arg:"s,default=a,b=c"`
		I  int16   `arg:"i,default=-7"`
		U  uint8   `arg:"u,default=200"`
		F  float32 `arg:"f,default=0.25"`
		B  bool    `arg:"b,default=true"`
		Op string  `arg:"op,optional"`
	}
	got, err := bindInto(t, reflect.TypeFor[all](), "f", enc(t, map[string]any{}))
	if err != nil {
		t.Fatal(err)
	}
	want := all{S: "a,b=c", I: -7, U: 200, F: 0.25, B: true}
	if !reflect.DeepEqual(got.Interface(), want) {
		t.Fatalf("defaults %#v, want %#v", got.Interface(), want)
	}
}

func TestSnakeCase(t *testing.T) {
	tests := map[string]string{
		"Value": "value", "A": "a", "SizeGB": "size_gb", "VolumeID": "volume_id",
		"HTTPServer": "http_server", "MS": "ms", "Value2": "value2", "V2Name": "v2_name",
		"already_snake": "already_snake", "ReadFile": "read_file",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := snakeCase(in); got != want {
				t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

// TestBindMatchesPython checks the TypeErrors of argument binding against
// Python calling a method `def f(self, ctxt, <params>)` with the same
// keywords, in the same order.
func TestBindMatchesPython(t *testing.T) {
	type signature struct {
		Required []string `json:"required"`
		Optional []string `json:"optional"`
	}
	type call struct {
		Sig    signature `json:"sig"`
		Kwargs [][2]any  `json:"kwargs"` // in order: Python makes a dict of them
	}
	sigs := []signature{
		{},
		{Required: []string{"value"}},
		{Required: []string{"a", "b"}},
		{Required: []string{"a", "b", "c"}, Optional: []string{"d"}},
		{Required: []string{"name", "size_gb", "kind", "zone"}, Optional: []string{"volume_type"}},
	}
	kw := func(pairs ...any) [][2]any {
		out := [][2]any{}
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, [2]any{pairs[i], pairs[i+1]})
		}
		return out
	}
	kwargSets := [][][2]any{
		kw(), kw("a", 1), kw("b", 1), kw("value", 1), kw("x", 1), kw("value", 1, "x", 1), kw("a", 1, "zz", 2, "bb", 3),
		kw("ctxt", 1), kw("self", 1), kw("ctxt", 1, "a", 1), kw("b", 1, "ctxt", 2), kw("d", 1), kw("volume_type", "x"),
		kw("name", "n", "zone", "z"), kw("a", 1, "b", 2, "c", 3), kw("aa", 1, "ctxt", 2),
		kw("zz", 1, "bb", 2), kw("bb", 1, "zz", 2), kw("x", 1, "self", 2), kw("self", 1, "x", 2), kw("zz", 1, "ctxt", 2, "a", 3),
	}
	var calls []call
	for _, s := range sigs {
		for _, k := range kwargSets {
			calls = append(calls, call{s, k})
		}
	}
	const script = `
import json, sys
out = []
for c in json.load(sys.stdin):
    params = ["self", "ctxt"] + (c["sig"]["required"] or []) + [p + "=None" for p in c["sig"]["optional"] or []]
    ns = {}
    exec("def f(%s): pass" % ", ".join(params), ns)
    try:
        ns["f"](None, {}, **dict(c["kwargs"]))
        out.append("")
    except TypeError as e:
        out.append(str(e))
json.dump(out, sys.stdout)
`
	var want []string
	python(t, script, calls, &want)
	if len(want) != len(calls) {
		t.Fatalf("Python answered %d times for %d calls", len(want), len(calls))
	}
	for i, c := range calls {
		var fields []reflect.StructField
		for _, p := range c.Sig.Required {
			fields = append(fields, reflect.StructField{Name: "F" + p, Type: reflect.TypeFor[any](), Tag: reflect.StructTag(`arg:"` + p + `"`)})
		}
		for _, p := range c.Sig.Optional {
			fields = append(fields, reflect.StructField{Name: "F" + p, Type: reflect.TypeFor[any](), Tag: reflect.StructTag(`arg:"` + p + `,optional"`)})
		}
		typ := reflect.StructOf(fields)
		_, err := bindInto(t, typ, "f", encPairs(t, c.Kwargs))
		got := ""
		if err != nil {
			got = strings.TrimPrefix(err.Error(), "TypeError: ")
		}
		if got != want[i] {
			var keys []any
			for _, kv := range c.Kwargs {
				keys = append(keys, kv[0])
			}
			t.Errorf("f(%v) with keywords %v: got %q, Python %q", c.Sig, keys, got, want[i])
		}
	}
}

// encPairs encodes a CBOR map of the key-value pairs in their order (at
// most 23).
func encPairs(t *testing.T, pairs [][2]any) []byte {
	t.Helper()
	b := []byte{0xa0 + byte(len(pairs))}
	for _, kv := range pairs {
		b = append(b, enc(t, kv[0])...)
		b = append(b, enc(t, kv[1])...)
	}
	return b
}

func TestBindLargeInt(t *testing.T) {
	got, err := bindInto(t, reflect.TypeFor[struct{ N int64 }](), "f", enc(t, map[string]any{"n": int64(math.MaxInt64)}))
	if err != nil || got.Field(0).Int() != math.MaxInt64 {
		t.Fatalf("got %v, %v", got, err)
	}
	_, err = bindInto(t, reflect.TypeFor[struct{ N int64 }](), "f", enc(t, map[string]any{"n": uint64(math.MaxUint64)}))
	if want := "OverflowError: f() argument 'n' out of range for int64: 18446744073709551615"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	_, err = bindInto(t, reflect.TypeFor[struct{ F float32 }](), "f", enc(t, map[string]any{"f": 1e300}))
	if want := "OverflowError: f() argument 'f' out of range for float32: 1e+300"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}
