package cbor

import (
	"cmp"
	"encoding"
	"reflect"
	"strconv"
	"strings"
)

// Encoder appends CBOR to a buffer it reuses: [Encoder.Reset] empties it
// and keeps its memory. Common types (those [DecodeAny] gives, the Go
// integer and float types, Marshaler) go through a type switch; the rest
// through reflection, with the field lists of struct types computed once.
// Nothing is allocated but the buffer's growth and, for maps, the sorting
// of their keys beyond a few.
//
// Values encode as the host's codec encodes them: shortest integers and
// floats, NaN and infinities as half-precision, map keys and struct fields
// in bytewise order of their encoded keys, nil slices, maps and pointers
// as null, time.Time as RFC 3339 text (the zero time as null), [BigInt]
// and math/big.Int as an integer or bignum.
// Map keys must be strings or integers (written as their decimal text, as
// Python's json writes int keys); text is written as UTF-8, invalid bytes
// as U+FFFD.
type Encoder struct {
	buf   []byte
	keys  []string // map keys being sorted, a stack shared by nested maps
	depth int
}

// Reset empties the buffer, keeping its memory.
func (e *Encoder) Reset() { e.buf, e.depth = e.buf[:0], 0 }

// ResetResult empties the buffer and starts the ABI's success Result, the
// one-entry map {"value": …}, whose value comes next.
func (e *Encoder) ResetResult() {
	e.buf = append(e.buf[:0], 0xa1, 0x65, 'v', 'a', 'l', 'u', 'e')
	e.depth = 0
}

// ResetError empties the buffer and starts the ABI's error Result, the
// one-entry map {"error": …}, whose error comes next.
func (e *Encoder) ResetError() {
	e.buf = append(e.buf[:0], 0xa1, 0x65, 'e', 'r', 'r', 'o', 'r')
	e.depth = 0
}

// Bytes returns what was encoded since the last Reset. The bytes are
// valid until the next Reset.
func (e *Encoder) Bytes() []byte { return e.buf }

// Truncate drops what was appended after the first n bytes.
func (e *Encoder) Truncate(n int) { e.buf = e.buf[:n] }

// Len returns the number of bytes encoded since the last Reset.
func (e *Encoder) Len() int { return len(e.buf) }

// AppendRaw appends b, which must be encoded CBOR, as it is.
func (e *Encoder) AppendRaw(b []byte) { e.buf = append(e.buf, b...) }

// Head appends the head of an item of major type major (4 for an array,
// 5 for a map) with n elements.
func (e *Encoder) Head(major byte, n int) { e.buf = AppendHead(e.buf, major, uint64(n)) }

// Text appends s as a text string.
func (e *Encoder) Text(s string) { e.buf = AppendText(e.buf, s) }

// Int appends an integer.
func (e *Encoder) Int(n int64) { e.buf = AppendInt(e.buf, n) }

// Float appends a float.
func (e *Encoder) Float(f float64) { e.buf = appendFloat(e.buf, f) }

// Bool appends true or false.
func (e *Encoder) Bool(b bool) { e.buf = AppendBool(e.buf, b) }

// Marshal encodes v into a new slice.
func Marshal(v any) ([]byte, error) {
	var e Encoder
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// Encode appends v. On error the buffer holds a partial encoding: callers
// truncate it to where they started.
func (e *Encoder) Encode(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, Null)
	case bool:
		e.buf = AppendBool(e.buf, x)
	case int:
		e.buf = AppendInt(e.buf, int64(x))
	case int64:
		e.buf = AppendInt(e.buf, x)
	case int32:
		e.buf = AppendInt(e.buf, int64(x))
	case uint64:
		e.buf = AppendUint(e.buf, x)
	case uint:
		e.buf = AppendUint(e.buf, uint64(x))
	case float64:
		e.buf = appendFloat(e.buf, x)
	case float32:
		e.buf = appendFloat(e.buf, float64(x))
	case string:
		e.buf = AppendText(e.buf, x)
	case []byte:
		if x == nil {
			e.buf = append(e.buf, Null)
		} else {
			e.buf = AppendBytes(e.buf, x)
		}
	case []any:
		return e.slice(x)
	case map[string]any:
		return e.stringMap(x)
	case BigInt:
		e.buf = AppendBigInt(e.buf, x)
	case Marshaler:
		return e.marshaler(x)
	default:
		return e.value(reflect.ValueOf(v))
	}
	return nil
}

// EncodeValue appends the value v holds, as Encode does. A value of
// interface type goes through Encode's type switch; any other through
// reflection, which allocates nothing for numbers, strings, slices and
// structs of them.
func (e *Encoder) EncodeValue(v reflect.Value) error {
	if v.Kind() == reflect.Interface {
		return e.Encode(v.Interface())
	}
	return e.value(v)
}

func (e *Encoder) enter() error {
	e.depth++
	if e.depth > MaxNesting {
		return &ValueError{"a value nests deeper than " + strconv.Itoa(MaxNesting) + " levels (or refers to itself)"}
	}
	return nil
}

func (e *Encoder) slice(x []any) error {
	if x == nil {
		e.buf = append(e.buf, Null)
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = AppendHead(e.buf, majorArray, uint64(len(x)))
	for _, el := range x {
		if err := e.Encode(el); err != nil {
			return err
		}
	}
	e.depth--
	return nil
}

var mapStringAnyType = reflect.TypeFor[map[string]any]()

// compareKeys orders text map keys as their encodings sort bytewise: by
// length, then by bytes.
func compareKeys(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func (e *Encoder) stringMap(m map[string]any) error {
	if m == nil {
		e.buf = append(e.buf, Null)
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = AppendHead(e.buf, majorMap, uint64(len(m)))
	start := len(e.keys)
	for k := range m {
		e.keys = append(e.keys, k)
	}
	keys := e.keys[start:]
	SortBy(len(keys), func(i, j int) bool { return compareKeys(keys[i], keys[j]) < 0 },
		func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for i := range keys {
		k := e.keys[start+i]
		e.buf = AppendText(e.buf, k)
		if err := e.Encode(m[k]); err != nil {
			e.keys = e.keys[:start]
			return err
		}
	}
	clear(e.keys[start:])
	e.keys = e.keys[:start]
	e.depth--
	return nil
}

func (e *Encoder) marshaler(m Marshaler) error {
	b, err := m.MarshalCBOR()
	if err != nil {
		return err
	}
	if err := Wellformed(b); err != nil {
		return &ValueError{"MarshalCBOR of " + reflect.TypeOf(m).String() + " did not return one well-formed CBOR item: " + strings.TrimPrefix(err.Error(), "cbor: ")}
	}
	e.buf = append(e.buf, b...)
	return nil
}

// value appends v by reflection.
func (e *Encoder) value(v reflect.Value) error {
	if !v.IsValid() {
		e.buf = append(e.buf, Null)
		return nil
	}
	for n := 0; v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface; n++ {
		if v.IsNil() {
			e.buf = append(e.buf, Null)
			return nil
		}
		if v.Kind() == reflect.Pointer && infoOf(v.Type()).valueMarshaler {
			break
		}
		if n > MaxNesting {
			return &ValueError{"a chain of more than " + strconv.Itoa(MaxNesting) + " pointers"}
		}
		v = v.Elem()
	}
	ti := infoOf(v.Type())
	if ti.valueMarshaler || ti.marshaler && v.CanAddr() {
		if ti.valueMarshaler {
			return e.marshaler(v.Interface().(Marshaler))
		}
		return e.marshaler(v.Addr().Interface().(Marshaler))
	}
	if ti.marshaler {
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		return e.marshaler(p.Interface().(Marshaler))
	}
	if ti.special != specialNone {
		return e.special(v, ti.special)
	}
	switch v.Kind() {
	case reflect.Bool:
		e.buf = AppendBool(e.buf, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = AppendInt(e.buf, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = AppendUint(e.buf, v.Uint())
	case reflect.Float32, reflect.Float64:
		e.buf = appendFloat(e.buf, v.Float())
	case reflect.String:
		e.buf = AppendText(e.buf, v.String())
	case reflect.Slice:
		if v.IsNil() {
			e.buf = append(e.buf, Null)
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			e.buf = AppendBytes(e.buf, v.Bytes())
			return nil
		}
		return e.array(v)
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			e.buf = AppendHead(e.buf, majorBytes, uint64(v.Len()))
			for i := range v.Len() {
				e.buf = append(e.buf, byte(v.Index(i).Uint()))
			}
			return nil
		}
		return e.array(v)
	case reflect.Map:
		if v.Type() == mapStringAnyType {
			return e.stringMap(v.Interface().(map[string]any)) // no allocation
		}
		return e.goMap(v)
	case reflect.Struct:
		return e.goStruct(v, ti)
	default:
		return &UnsupportedTypeError{Type: v.Type()}
	}
	return nil
}

// special appends a math/big.Int as an integer or bignum and a time.Time
// as RFC 3339 text (null when zero), both through their text form.
func (e *Encoder) special(v reflect.Value, sp special) error {
	p := v
	if v.CanAddr() {
		p = v.Addr()
	} else {
		p = reflect.New(v.Type())
		p.Elem().Set(v)
	}
	if sp == specialTime && p.Interface().(interface{ IsZero() bool }).IsZero() {
		e.buf = append(e.buf, Null)
		return nil
	}
	text, err := p.Interface().(encoding.TextMarshaler).MarshalText()
	if err != nil {
		return &ValueError{v.Type().String() + ": " + err.Error()}
	}
	if sp == specialTime {
		e.buf = AppendText(e.buf, string(text))
		return nil
	}
	n, ok := parseDecimal(string(text))
	if !ok {
		return &ValueError{"math/big.Int text " + strconv.Quote(string(text)) + " is not decimal"}
	}
	e.buf = AppendBigInt(e.buf, n)
	return nil
}

func (e *Encoder) array(v reflect.Value) error {
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = AppendHead(e.buf, majorArray, uint64(v.Len()))
	for i := range v.Len() {
		if err := e.value(v.Index(i)); err != nil {
			return err
		}
	}
	e.depth--
	return nil
}

func (e *Encoder) goMap(v reflect.Value) error {
	if v.IsNil() {
		e.buf = append(e.buf, Null)
		return nil
	}
	kt := v.Type().Key()
	var keyText func(reflect.Value) string
	switch kt.Kind() {
	case reflect.String:
		keyText = reflect.Value.String
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		keyText = func(k reflect.Value) string { return strconv.FormatInt(k.Int(), 10) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		keyText = func(k reflect.Value) string { return strconv.FormatUint(k.Uint(), 10) }
	default:
		return &UnsupportedTypeError{Type: v.Type()}
	}
	if err := e.enter(); err != nil {
		return err
	}
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		entries = append(entries, entry{keyText(it.Key()), it.Value()})
	}
	SortBy(len(entries), func(i, j int) bool { return compareKeys(entries[i].key, entries[j].key) < 0 },
		func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	e.buf = AppendHead(e.buf, majorMap, uint64(len(entries)))
	for _, en := range entries {
		e.buf = AppendText(e.buf, en.key)
		if err := e.value(en.val); err != nil {
			return err
		}
	}
	e.depth--
	return nil
}

func (e *Encoder) goStruct(v reflect.Value, ti *typeInfo) error {
	if err := e.enter(); err != nil {
		return err
	}
	n := 0
	for i := range ti.fields {
		if fv, ok := embeddedField(v, ti.fields[i].index); ok && !omitted(&ti.fields[i], fv) {
			n++
		}
	}
	e.buf = AppendHead(e.buf, majorMap, uint64(n))
	for i := range ti.fields {
		f := &ti.fields[i]
		fv, ok := embeddedField(v, f.index)
		if !ok || omitted(f, fv) {
			continue
		}
		e.buf = AppendText(e.buf, f.name)
		if err := e.value(fv); err != nil {
			return err
		}
	}
	e.depth--
	return nil
}

// embeddedField returns the field of v at index; ok is false when a nil
// embedded pointer lies on the way.
func embeddedField(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return v, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// omitted reports whether field f holding fv is left out: `omitempty`
// and empty, or `omitzero` and zero.
func omitted(f *field, fv reflect.Value) bool {
	if f.omitZero {
		if infoOf(fv.Type()).isZeroer {
			if (fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Interface) && fv.IsNil() {
				return true
			}
			if fv.Interface().(interface{ IsZero() bool }).IsZero() {
				return true
			}
		} else if fv.IsZero() {
			return true
		}
	}
	return f.omitEmpty && isEmpty(fv)
}

// isEmpty is `omitempty`'s emptiness, as the host's codec judges it.
func isEmpty(v reflect.Value) bool {
	ti := infoOf(v.Type())
	if ti.marshaler || ti.valueMarshaler || ti.special != specialNone {
		return false
	}
	switch v.Kind() {
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Struct:
		for _, f := range ti.fields {
			if !f.omitEmpty {
				return false
			}
			if fv, ok := embeddedField(v, f.index); ok && !isEmpty(fv) {
				return false
			}
		}
		return true
	}
	return false
}
