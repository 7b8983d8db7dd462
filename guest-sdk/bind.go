package sdk

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/fxamacker/cbor/v2"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/guest-sdk/py"
)

// ContextParam is the name of the request-context parameter of the Python
// method a handler stands for, `def echo(self, ctxt, value)`: a keyword
// argument named "self" or "ctxt" gets Python's "got multiple values for
// argument" TypeError.
const ContextParam = "ctxt"

// binder binds the keyword arguments of a call to a Go value of the type a
// handler declares, raising the TypeErrors Python raises when it calls
// `method(ctxt, **kwargs)`.
type binder struct {
	typ    reflect.Type
	params []param // declared parameters, in field order
	byName map[string]int
	rest   []int // index of the field that collects unknown keywords (**kwargs), or nil
	isMap  bool  // the type is a map: every keyword is collected
}

// param is one declared keyword parameter: a struct field.
type param struct {
	name     string
	index    []int
	typ      reflect.Type
	required bool
	def      reflect.Value // the default value, when tagged default=
}

// newBinder plans the binding for type t: a struct whose fields are the
// parameters, or a map with string keys that takes any keyword.
//
// A struct field's parameter name is its `arg` tag, or its name in
// snake_case ("SizeGB" is size_gb); `arg:"-"` skips it. Options after the
// name: "optional" (absent leaves the zero value), "default=VALUE" (a
// string, integer, float or bool literal; must be the last option) and
// "kwargs" (on a map[string]V field: collects the keywords no other field
// takes, like Python's **kwargs).
func newBinder(t reflect.Type) (*binder, error) {
	b := &binder{typ: t, byName: map[string]int{}}
	switch t.Kind() {
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("arguments type %v: map keys must be strings", t)
		}
		b.isMap = true
		return b, nil
	case reflect.Struct:
	default:
		return nil, fmt.Errorf("arguments type %v: must be a struct or a map with string keys", t)
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, tagged := f.Tag.Lookup("arg")
		if tag == "-" {
			continue
		}
		if f.Anonymous {
			return nil, fmt.Errorf("arguments type %v: embedded field %s is not supported", t, f.Name)
		}
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !tagged || name == "" {
			name = snakeCase(f.Name)
		}
		if opts == "kwargs" {
			if f.Type.Kind() != reflect.Map || f.Type.Key().Kind() != reflect.String || b.rest != nil {
				return nil, fmt.Errorf("arguments type %v: field %s: kwargs needs a single map with string keys", t, f.Name)
			}
			b.rest = f.Index
			continue
		}
		if name == "self" || name == ContextParam {
			return nil, fmt.Errorf("arguments type %v: field %s: %q is the Python method's own parameter", t, f.Name, name)
		}
		if _, dup := b.byName[name]; dup {
			return nil, fmt.Errorf("arguments type %v: two fields are named %q", t, name)
		}
		p := param{name: name, index: f.Index, typ: f.Type, required: true}
		for opts != "" {
			var opt string
			if strings.HasPrefix(opts, "default=") {
				opt, opts = opts, ""
			} else {
				opt, opts, _ = strings.Cut(opts, ",")
			}
			switch {
			case opt == "optional":
				p.required = false
			case strings.HasPrefix(opt, "default="):
				def, err := parseDefault(f.Type, strings.TrimPrefix(opt, "default="))
				if err != nil {
					return nil, fmt.Errorf("arguments type %v: field %s: %w", t, f.Name, err)
				}
				p.required, p.def = false, def
			default:
				return nil, fmt.Errorf("arguments type %v: field %s: unknown arg option %q", t, f.Name, opt)
			}
		}
		b.byName[name] = len(b.params)
		b.params = append(b.params, p)
	}
	return b, nil
}

// parseDefault parses a default= literal for a field of type t.
func parseDefault(t reflect.Type, s string) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	var err error
	switch t.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		var x bool
		x, err = strconv.ParseBool(s)
		v.SetBool(x)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var x int64
		x, err = strconv.ParseInt(s, 10, t.Bits())
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var x uint64
		x, err = strconv.ParseUint(s, 10, t.Bits())
		v.SetUint(x)
	case reflect.Float32, reflect.Float64:
		var x float64
		x, err = strconv.ParseFloat(s, t.Bits())
		v.SetFloat(x)
	default:
		return v, fmt.Errorf("default= needs a string, integer, float or bool field, not %v", t)
	}
	if err != nil {
		return v, fmt.Errorf("default %q: %w", s, err)
	}
	return v, nil
}

// snakeCase turns a Go field name into a Python parameter name: "Value" is
// value, "SizeGB" size_gb, "VolumeID" volume_id, "HTTPServer" http_server.
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// bind decodes the CBOR keyword arguments args into dst, which has the
// binder's type. fn is the function name Python's messages start with
// ("echo", or "Class.echo"). Every failure is an *Error of a built-in
// class, worded as Python 3.11 words it.
func (b *binder) bind(fn string, args []byte, dst reflect.Value) error {
	kwargs, err := decodeKwargs(fn, args)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(kwargs))
	for k := range kwargs {
		keys = append(keys, k)
	}
	// The host sends keys in CBOR's canonical order, so the order of the
	// caller's dict is gone; Python reports the first offending keyword
	// in that order, this reports the first in sorted order.
	slices.Sort(keys)

	var restKeys []string
	for _, k := range keys {
		if k == "self" || k == ContextParam {
			return builtinError("TypeError", fmt.Sprintf("%s() got multiple values for argument '%s'", fn, k))
		}
		if _, ok := b.byName[k]; ok {
			continue
		}
		if !b.isMap && b.rest == nil {
			return builtinError("TypeError", fmt.Sprintf("%s() got an unexpected keyword argument '%s'", fn, k))
		}
		restKeys = append(restKeys, k)
	}
	var missing []string
	for _, p := range b.params {
		if _, ok := kwargs[p.name]; !ok && p.required {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return builtinError("TypeError", missingMessage(fn, missing))
	}

	for _, p := range b.params {
		field := dst.FieldByIndex(p.index)
		raw, ok := kwargs[p.name]
		if !ok {
			if p.def.IsValid() {
				field.Set(p.def)
			}
			continue
		}
		if err := decodeArg(fn, p.name, raw, field); err != nil {
			return err
		}
	}
	if len(restKeys) == 0 && !b.isMap {
		return nil
	}
	m := dst
	if !b.isMap {
		m = dst.FieldByIndex(b.rest)
	}
	if m.IsNil() {
		m.Set(reflect.MakeMapWithSize(m.Type(), len(restKeys)))
	}
	for _, k := range restKeys {
		v := reflect.New(m.Type().Elem()).Elem()
		if err := decodeArg(fn, k, kwargs[k], v); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(k).Convert(m.Type().Key()), v)
	}
	return nil
}

// decodeKwargs decodes the top-level CBOR map of keyword arguments,
// keeping each value's bytes for decoding into its parameter's type.
func decodeKwargs(fn string, args []byte) (map[string]cbor.RawMessage, error) {
	if len(args) == 0 || len(args) == 1 && args[0] == 0xa0 { // nothing, or {}
		return nil, nil
	}
	if args[0]>>5 != 5 { // CBOR major type 5: map
		var v any
		if err := cborcodec.Unmarshal(args, &v); err != nil {
			return nil, builtinError("TypeError", fmt.Sprintf("%s() arguments are not valid CBOR: %v", fn, cleanCBORError(err)))
		}
		return nil, builtinError("TypeError", fmt.Sprintf("%s() argument after ** must be a mapping, not %s", fn, py.TypeName(v)))
	}
	var kwargs map[string]cbor.RawMessage
	if err := cborcodec.Unmarshal(args, &kwargs); err != nil {
		return nil, builtinError("TypeError", fmt.Sprintf("%s() arguments are not a valid CBOR map with text keys: %v", fn, cleanCBORError(err)))
	}
	return kwargs, nil
}

// missingMessage words Python's TypeError for missing required arguments:
// "add() missing 2 required positional arguments: 'a' and 'b'".
func missingMessage(fn string, names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "'" + n + "'"
	}
	var list string
	switch len(quoted) {
	case 1:
		list = quoted[0]
	case 2:
		list = quoted[0] + " and " + quoted[1]
	default:
		list = strings.Join(quoted[:len(quoted)-1], ", ") + ", and " + quoted[len(quoted)-1]
	}
	plural := "s"
	if len(names) == 1 {
		plural = ""
	}
	return fmt.Sprintf("%s() missing %d required positional argument%s: %s", fn, len(names), plural, list)
}

// decodeArg decodes one argument's CBOR into dst. A value of the wrong
// Python type is a TypeError "fn() argument 'x' must be int, not str" (the
// wording of Python's own argument checks); an integer that does not fit
// the field is an OverflowError.
func decodeArg(fn, name string, raw cbor.RawMessage, dst reflect.Value) error {
	if len(raw) == 1 && (raw[0] == 0xf6 || raw[0] == 0xf7) { // null, undefined
		switch dst.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
			dst.SetZero()
			return nil
		}
		return builtinError("TypeError", fmt.Sprintf("%s() argument '%s' must be %s, not NoneType", fn, name, py.KindName(dst.Type())))
	}
	err := cborcodec.Unmarshal(raw, dst.Addr().Interface())
	if err == nil {
		return nil
	}
	want := py.KindName(dst.Type())
	if major := raw[0] >> 5; major <= 1 && want == "int" || raw[0] >= 0xf9 && raw[0] <= 0xfb && want == "float" {
		// An integer (major type 0 or 1) or a float that does not fit.
		value, _ := cbor.Diagnose(raw)
		var f float64
		if want == "float" && cborcodec.Unmarshal(raw, &f) == nil {
			value = fmt.Sprint(f)
		}
		return builtinError("OverflowError", fmt.Sprintf("%s() argument '%s' out of range for %v: %s", fn, name, dst.Type(), value))
	}
	var got any
	if cborcodec.Unmarshal(raw, &got) != nil {
		return builtinError("TypeError", fmt.Sprintf("%s() argument '%s': %v", fn, name, cleanCBORError(err)))
	}
	switch have := py.TypeName(got); {
	case want != have:
		return builtinError("TypeError", fmt.Sprintf("%s() argument '%s' must be %s, not %s", fn, name, want, have))
	}
	return builtinError("TypeError", fmt.Sprintf("%s() argument '%s': %v", fn, name, cleanCBORError(err)))
}

// cleanCBORError drops the library's "cbor: " prefix from an error message.
func cleanCBORError(err error) string {
	return strings.TrimPrefix(err.Error(), "cbor: ")
}
