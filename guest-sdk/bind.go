package sdk

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/wasmrpcd/wasmrpcd/guest-sdk/internal/cbor"
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
	typ      reflect.Type
	params   []param // declared parameters, in field order
	required int     // how many of them are required
	byName   map[string]int
	rest     []int // index of the field that collects unknown keywords (**kwargs), or nil
	isMap    bool  // the type is a map: every keyword is collected
}

// param is one declared keyword parameter: a struct field.
type param struct {
	name     string
	name8    uint64  // name's first 8 bytes, little-endian
	mask     uint64  // of name's bytes in name8
	offset   uintptr // of the field
	typ      reflect.Type
	set      setKind
	required bool
	def      reflect.Value // the default value, when tagged default=
}

// setKind selects how an argument is stored into its field: directly for
// the common types, through the general decoder for the rest.
type setKind uint8

const (
	setGeneral setKind = iota
	setRaw             // Raw: the argument's bytes
	setString          // a string kind
	setInt             // int or int64, 64 bits
	setBool            // bool
	setAny             // an empty interface
)

// setKindOf returns how arguments are stored into a field of type t.
func setKindOf(t reflect.Type) setKind {
	switch {
	case t == rawType:
		return setRaw
	case t.Kind() == reflect.String:
		return setString
	case (t.Kind() == reflect.Int || t.Kind() == reflect.Int64) && t.Size() == 8:
		return setInt
	case t.Kind() == reflect.Bool:
		return setBool
	case t.Kind() == reflect.Interface && t.NumMethod() == 0:
		return setAny
	}
	return setGeneral
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
		p := param{name: name, offset: f.Offset, typ: f.Type, set: setKindOf(f.Type), required: true}
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
		for i := range min(len(name), 8) {
			p.name8 |= uint64(name[i]) << (8 * i)
			p.mask |= 0xff << (8 * i)
		}
		b.byName[name] = len(b.params)
		b.params = append(b.params, p)
		if p.required {
			b.required++
		}
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

// maxInlineParams is how many parameters bind tracks without allocating.
const maxInlineParams = 16

// bind decodes the CBOR keyword arguments args into the value of the
// binder's type at base, which is zero. fn is the function name Python's
// messages start with ("echo", or "Class.echo"). Every failure is an
// *Error of a built-in class, worded as Python 3.11 words it. The Raw
// arguments it binds are recorded as well formed in w, when not nil.
//
// It reads the map in place, in one pass: a parameter's value is decoded
// straight into its field from the bytes of args, and a Raw parameter is
// a slice of args; scalars allocate nothing, a string one copy. It keeps
// function calls and loop iterations few, as each costs in wasm (a host
// that stops guests at their deadline checks at every loop header).
func (b *binder) bind(fn string, args []byte, base unsafe.Pointer, w *resultWriter) error {
	var valueBuf [maxInlineParams][]byte
	values := valueBuf[:]
	if len(b.params) > maxInlineParams {
		values = make([][]byte, len(b.params))
	}
	values = values[:len(b.params)]
	var rest []restArg
	given := 0                                                 // required parameters given a value
	if len(args) > 0 && !(len(args) == 1 && args[0] == 0xa0) { // nothing, or {}
		if args[0]>>5 != 5 { // CBOR major type 5: map
			return notMapping(fn, args)
		}
		var r cbor.MapReader
		if args[0]-0xa0 < 24 {
			r = cbor.SmallMapReader(args)
		} else {
			var err error
			if r, err = cbor.NewMapReader(args); err != nil {
				return notValidMap(fn, err)
			}
		}
		var (
			others    [][]byte // keywords that name no parameter, to find repeats
			offending []byte   // the first, in the caller's order, of self, ctxt and unexpected keywords
			firstErr  error    // a key that is not valid, or repeated
			next      int      // the parameter the next keyword most likely names
		)
		for r.More() {
			i, key, value, _, keyErr, err := r.Next()
			if err != nil {
				return notValidMap(fn, err)
			}
			if firstErr != nil {
				continue // the rest is still checked to be well formed
			}
			if keyErr != nil {
				firstErr = keyErr
				continue
			}
			// Keywords mostly come in the order of the parameters: the
			// expected one is compared first, inline (see param.is).
			p := -1
			if next < len(b.params) {
				q := &b.params[next]
				if len(key) == len(q.name) && len(key) <= 8 && cap(key) >= 8 {
					k := key[:8]
					x := uint64(k[0]) | uint64(k[1])<<8 | uint64(k[2])<<16 | uint64(k[3])<<24 |
						uint64(k[4])<<32 | uint64(k[5])<<40 | uint64(k[6])<<48 | uint64(k[7])<<56
					if x&q.mask == q.name8 {
						p = next
					}
				}
			}
			if p < 0 {
				p = b.param(key)
			}
			if p >= 0 {
				if values[p] != nil {
					firstErr = &cbor.DupMapKeyError{Key: string(key), Index: i}
				} else if b.params[p].required {
					given++
				}
				values[p] = value
				next = p + 1
				continue
			}
			if offending, firstErr = b.other(key, value, i, offending, &others, &rest); firstErr != nil {
				continue
			}
		}
		if n := r.Rest(); n != 0 {
			return notValidMap(fn, extraneous(n, r.End()))
		}
		if firstErr != nil {
			return notValidMap(fn, firstErr)
		}
		if offending != nil {
			return unexpected(fn, string(offending))
		}
	}
	if given < b.required {
		return b.missing(fn, values)
	}
	for i := range b.params {
		p := &b.params[i]
		ptr := unsafe.Add(base, p.offset)
		v := values[i]
		switch {
		case v == nil:
			if p.def.IsValid() {
				reflect.NewAt(p.typ, ptr).Elem().Set(p.def)
			}
		case p.set == setRaw:
			*(*Raw)(ptr) = v // the host's bytes, valid during the call
			if w != nil {
				w.trust(v)
			}
		case setFast(p.set, ptr, v):
		default:
			if err := decodeArg(fn, p.name, v, reflect.NewAt(p.typ, ptr).Elem()); err != nil {
				return err
			}
		}
	}
	if len(rest) == 0 {
		return nil
	}
	return b.bindRest(fn, base, rest)
}

// other handles a keyword that names no parameter: it is collected when
// the type collects keywords; self, ctxt and, when it does not, any other
// keyword offends, and the first in the caller's order is reported, as
// Python reports it (the host keeps the order of the caller's JSON).
func (b *binder) other(key, value []byte, index int, offending []byte, others *[][]byte, rest *[]restArg) ([]byte, error) {
	if !utf8.Valid(key) {
		return offending, errors.New("cbor: invalid UTF-8 string")
	}
	for _, o := range *others {
		if string(o) == string(key) {
			return offending, &cbor.DupMapKeyError{Key: string(key), Index: index}
		}
	}
	*others = append(*others, key)
	if string(key) == "self" || string(key) == ContextParam || !b.isMap && b.rest == nil {
		if offending == nil {
			offending = key
		}
		return offending, nil
	}
	*rest = append(*rest, restArg{key: string(key), value: value})
	return offending, nil
}

// bindRest decodes the keywords no parameter takes into the map that
// collects them.
func (b *binder) bindRest(fn string, base unsafe.Pointer, rest []restArg) error {
	// Decoded in sorted order, so that the first bad one is reported
	// as before the host's keys were read in place.
	cbor.SortBy(len(rest), func(i, j int) bool { return rest[i].key < rest[j].key },
		func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	m := reflect.NewAt(b.typ, base).Elem()
	if !b.isMap {
		m = m.FieldByIndex(b.rest)
	}
	if m.IsNil() {
		m.Set(reflect.MakeMapWithSize(m.Type(), len(rest)))
	}
	for _, r := range rest {
		v := reflect.New(m.Type().Elem()).Elem()
		if err := decodeArg(fn, r.key, r.value, v); err != nil {
			return err
		}
		k := reflect.New(m.Type().Key()).Elem()
		k.SetString(r.key)
		m.SetMapIndex(k, v)
	}
	return nil
}

func extraneous(n, at int) error {
	return fmt.Errorf("cbor: %d bytes of extraneous data starting at index %d", n, at)
}

// missing raises Python's TypeError for the required parameters without
// a value.
func (b *binder) missing(fn string, values [][]byte) error {
	var names []string
	for i, p := range b.params {
		if values[i] == nil && p.required {
			names = append(names, p.name)
		}
	}
	return builtinError("TypeError", missingMessage(fn, names))
}

// setFast stores the argument v into the field at ptr when it is of a
// common type and holds a value of that type; it reports false otherwise,
// leaving the general decoder to store it or raise the right TypeError.
func setFast(k setKind, ptr unsafe.Pointer, v []byte) bool {
	b := v[0]
	major, ai := b>>5, b&0x1f
	switch k {
	case setString:
		if major == 3 && ai < 24 && len(v) == 1+int(ai) && utf8.Valid(v[1:]) {
			*(*string)(ptr) = string(v[1:])
			return true
		}
		if b == 0x78 && len(v) == 2+int(v[1]) && utf8.Valid(v[2:]) {
			*(*string)(ptr) = string(v[2:])
			return true
		}
	case setInt:
		if major <= 1 && ai < 24 {
			if major == 0 {
				*(*int64)(ptr) = int64(ai)
			} else {
				*(*int64)(ptr) = -1 - int64(ai)
			}
			return true
		}
	case setBool:
		if b == cbor.False || b == cbor.True {
			*(*bool)(ptr) = b == cbor.True
			return true
		}
	case setAny:
		x, err := cbor.DecodeAnyItem(v)
		if err != nil {
			return false
		}
		*(*any)(ptr) = x
		return true
	}
	return false
}

// restArg is a keyword argument that no parameter takes, for a map
// argument type or a kwargs field.
type restArg struct {
	key   string
	value []byte
}

// notMapping raises the TypeError of arguments that are not a map.
func notMapping(fn string, args []byte) error {
	v, err := cbor.DecodeAny(args)
	if err != nil {
		return builtinError("TypeError", fmt.Sprintf("%s() arguments are not valid CBOR: %v", fn, cleanCBORError(err)))
	}
	return builtinError("TypeError", fmt.Sprintf("%s() argument after ** must be a mapping, not %s", fn, py.TypeName(v)))
}

// notValidMap raises the TypeError of arguments that are not a valid map.
func notValidMap(fn string, err error) error {
	return builtinError("TypeError", fmt.Sprintf("%s() arguments are not a valid CBOR map with text keys: %v", fn, cleanCBORError(err)))
}

// unexpected raises the TypeError of the offending keyword key.
func unexpected(fn, key string) error {
	if key == "self" || key == ContextParam {
		return builtinError("TypeError", fmt.Sprintf("%s() got multiple values for argument '%s'", fn, key))
	}
	return builtinError("TypeError", fmt.Sprintf("%s() got an unexpected keyword argument '%s'", fn, key))
}

// param returns the index of the parameter named key, or -1.
func (b *binder) param(key []byte) int {
	if len(b.params) <= 8 {
		for i := range b.params {
			if b.params[i].is(key) {
				return i
			}
		}
		return -1
	}
	if i, ok := b.byName[string(key)]; ok {
		return i
	}
	return -1
}

// is reports whether key is p's name. Names of up to 8 bytes compare as
// one integer, without the call of a string comparison, when the map's
// bytes extend 8 bytes past the key's start (as they do before a value).
func (p *param) is(key []byte) bool {
	if len(key) != len(p.name) {
		return false
	}
	if len(key) <= 8 && cap(key) >= 8 {
		k := key[:8]
		x := uint64(k[0]) | uint64(k[1])<<8 | uint64(k[2])<<16 | uint64(k[3])<<24 |
			uint64(k[4])<<32 | uint64(k[5])<<40 | uint64(k[6])<<48 | uint64(k[7])<<56
		return x&p.mask == p.name8
	}
	return p.name == string(key)
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
// the field is an OverflowError. A Raw gets the bytes as they are.
func decodeArg(fn, name string, raw []byte, dst reflect.Value) error {
	if dst.Type() == rawType {
		dst.SetBytes(raw) // the host's bytes, valid during the call
		return nil
	}
	if raw[0] == cbor.Null || raw[0] == cbor.Undefined {
		switch dst.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
			dst.SetZero()
			return nil
		}
		return builtinError("TypeError", fmt.Sprintf("%s() argument '%s' must be %s, not NoneType", fn, name, py.KindName(dst.Type())))
	}
	err := cbor.DecodeValue(raw, dst)
	if err == nil {
		return nil
	}
	want := py.KindName(dst.Type())
	major := raw[0] >> 5
	if (major <= 1 || raw[0] == 0xc2 || raw[0] == 0xc3) && want == "int" || raw[0] >= 0xf9 && raw[0] <= 0xfb && want == "float" {
		// An integer (major type 0 or 1, or a bignum) or a float that
		// does not fit.
		return builtinError("OverflowError", fmt.Sprintf("%s() argument '%s' out of range for %v: %s", fn, name, dst.Type(), numberText(raw)))
	}
	got, derr := cbor.DecodeAny(raw)
	if derr != nil {
		return builtinError("TypeError", fmt.Sprintf("%s() argument '%s': %v", fn, name, cleanCBORError(err)))
	}
	if have := py.TypeName(got); want != have {
		return builtinError("TypeError", fmt.Sprintf("%s() argument '%s' must be %s, not %s", fn, name, want, have))
	}
	return builtinError("TypeError", fmt.Sprintf("%s() argument '%s': %v", fn, name, cleanCBORError(err)))
}

// rawType is the type of Raw arguments.
var rawType = reflect.TypeFor[Raw]()

// numberText writes the number raw holds as Python prints it.
func numberText(raw []byte) string {
	v, err := cbor.DecodeAny(raw)
	if err != nil {
		return "?"
	}
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprint(v) // int64, uint64, or BigInt's decimal String

}

// cleanCBORError drops the codec's "cbor: " prefix from an error message.
func cleanCBORError(err error) string {
	return strings.TrimPrefix(err.Error(), "cbor: ")
}
