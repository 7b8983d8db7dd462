package cbor

import (
	"encoding"
	"errors"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// DecodeAny decodes data, exactly one CBOR data item, into the Go value
// JSON's data model gives it: nil (null, undefined and other simple
// values), bool, int64 (uint64 from 2⁶³ to 2⁶⁴-1, [BigInt] beyond,
// bignums included), float64, string, []byte, []any or map[string]any.
// Tags other than bignums are read as their content. Text must be valid
// UTF-8, map keys text without repetition.
func DecodeAny(data []byte) (any, error) {
	if err := Wellformed(data); err != nil {
		return nil, err
	}
	d := decoder{data: data}
	v, _, err := d.any(0)
	return v, err
}

// DecodeAnyItem decodes item as [DecodeAny] does; item must be one data
// item that was checked to be well formed (by [Wellformed], or by a
// [MapReader] as a value of its map).
func DecodeAnyItem(item []byte) (any, error) {
	d := decoder{data: item}
	v, _, err := d.any(0)
	return v, err
}

// Unmarshal decodes data, exactly one CBOR data item, into the value v
// points to, as the host's codec would. See [DecodeValue].
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("cbor: Unmarshal needs a non-nil pointer")
	}
	if err := Wellformed(data); err != nil {
		return err
	}
	return DecodeValue(data, rv.Elem())
}

// DecodeValue decodes item, one data item [Wellformed] accepted (on its
// own or as part of a larger item), into the settable v:
//
//   - integers into integer kinds when they fit (bignums too), into
//     floats, into [BigInt] or math/big.Int; floats into float kinds
//     (float32 when they fit); text into strings; byte strings into []byte
//     or byte arrays; arrays into slices and arrays; maps into maps with
//     string keys and into structs (fields named as the encoder names
//     them, matched exactly or else without regard to case; other keys
//     skipped); true and false into bool; time.Time from RFC 3339 text
//     (not from epoch seconds, which the host's codec also reads);
//     anything into an empty interface as [DecodeAny] does;
//   - null and undefined leave a value unchanged, or set a pointer,
//     interface, slice or map to nil;
//   - a type whose pointer has an UnmarshalCBOR method gets the item's
//     bytes.
//
// A value that does not fit is an *[UnmarshalTypeError].
func DecodeValue(item []byte, v reflect.Value) error {
	d := decoder{data: item}
	_, err := d.value(0, v)
	return err
}

// decoder decodes from data, which [Wellformed] accepted: it does not
// check bounds or syntax again, only what Wellformed leaves to decoding.
type decoder struct {
	data []byte
}

// any decodes the item at off as [DecodeAny] does and returns the offset
// after it.
func (d *decoder) any(off int) (any, int, error) {
	b := d.data[off]
	major, ai := b>>5, b&0x1f
	switch major {
	case majorUint:
		n, next := argument(d.data, off)
		if n <= math.MaxInt64 {
			return int64(n), next, nil
		}
		return n, next, nil
	case majorNint:
		n, next := argument(d.data, off)
		if n <= math.MaxInt64 {
			return -1 - int64(n), next, nil
		}
		return bigFromNint(n), next, nil
	case majorBytes:
		s, next := d.bytes(off)
		return cloneBytes(s), next, nil
	case majorText:
		s, next, err := d.text(off)
		if err != nil {
			return nil, next, err
		}
		return string(s), next, nil
	case majorArray:
		n, next := argument(d.data, off)
		var out []any
		if ai == 31 {
			out = []any{}
			for d.data[next] != Break {
				var v any
				var err error
				if v, next, err = d.any(next); err != nil {
					return nil, next, err
				}
				out = append(out, v)
			}
			return out, next + 1, nil
		}
		out = make([]any, n)
		for i := range out {
			var err error
			if out[i], next, err = d.any(next); err != nil {
				return nil, next, err
			}
		}
		return out, next, nil
	case majorMap:
		n, next := argument(d.data, off)
		m := make(map[string]any, min(n, 64))
		for i := 0; ai == 31 && d.data[next] != Break || ai != 31 && i < int(n); i++ {
			k, after, err := d.key(next)
			if err != nil {
				return nil, after, err
			}
			if _, dup := m[k]; dup {
				return nil, after, &DupMapKeyError{Key: k, Index: i}
			}
			var v any
			if v, next, err = d.any(after); err != nil {
				return nil, next, err
			}
			m[k] = v
		}
		if ai == 31 {
			next++
		}
		return m, next, nil
	case majorTag:
		num, next := argument(d.data, off)
		if err := checkTagContent(num, d.data[next]); err != nil {
			return nil, next, err
		}
		if num == 2 || num == 3 {
			mag, after := d.bytes(next)
			mag = trimZeros(mag)
			switch {
			case len(mag) > 8:
			case num == 2 && beUint64(mag) <= math.MaxInt64:
				return int64(beUint64(mag)), after, nil
			case num == 2:
				return beUint64(mag), after, nil
			case beUint64(mag) <= math.MaxInt64:
				return -1 - int64(beUint64(mag)), after, nil
			}
			return bigFromBignum(num, mag), after, nil
		}
		return d.any(next)
	}
	switch ai {
	case 20:
		return false, off + 1, nil
	case 21:
		return true, off + 1, nil
	case 25, 26, 27:
		f, next := d.float(off)
		return f, next, nil
	}
	// null, undefined, other simple values
	_, next := argument(d.data, off)
	return nil, next, nil
}

// key decodes the map key at off, which must be text, as a string.
func (d *decoder) key(off int) (string, int, error) {
	if d.data[off]>>5 == majorText {
		b, next, err := d.text(off)
		return string(b), next, err
	}
	var s string
	next, err := d.value(off, reflect.ValueOf(&s).Elem())
	return s, next, err
}

// float reads the float at off.
func (d *decoder) float(off int) (float64, int) {
	ai := d.data[off] & 0x1f
	n, next := argument(d.data, off)
	switch ai {
	case 25:
		return float16ToFloat64(uint16(n)), next
	case 26:
		return float64(math.Float32frombits(uint32(n))), next
	}
	return math.Float64frombits(n), next
}

// bytes returns the content of the string at off (major type 2 or 3):
// a slice of data, or a new slice joining the chunks of an
// indefinite-length string.
func (d *decoder) bytes(off int) ([]byte, int) {
	indefinite := d.data[off]&0x1f == 31
	n, next := argument(d.data, off)
	if !indefinite {
		return d.data[next : next+int(n)], next + int(n)
	}
	out := []byte{}
	for d.data[next] != Break {
		var chunk []byte
		chunk, next = d.bytes(next)
		out = append(out, chunk...)
	}
	return out, next + 1
}

// text returns the content of the text string at off after checking that
// it is UTF-8.
func (d *decoder) text(off int) ([]byte, int, error) {
	s, next := d.bytes(off)
	if !utf8.Valid(s) {
		return nil, next, errInvalidUTF8()
	}
	return s, next, nil
}

// checkTagContent checks the content of the built-in tags as the host's
// codec does: a date/time string (tag 0) is text, an epoch (tag 1) a
// number, a bignum (tags 2 and 3) a byte string.
func checkTagContent(num uint64, content byte) error {
	major := content >> 5
	switch num {
	case 0:
		if major != majorText {
			return &SyntaxError{"tag number 0 must be followed by text string, got " + typeName(major)}
		}
	case 1:
		if major != majorUint && major != majorNint && (content < 0xf9 || content > 0xfb) {
			return &SyntaxError{"tag number 1 must be followed by integer or floating-point number, got " + typeName(major)}
		}
	case 2, 3:
		if major != majorBytes {
			return &SyntaxError{"tag number 2 or 3 must be followed by byte string, got " + typeName(major)}
		}
	}
	return nil
}

// value decodes the item at off into v (see DecodeValue) and returns the
// offset after it.
func (d *decoder) value(off int, v reflect.Value) (int, error) {
	b := d.data[off]
	if (b == Null || b == Undefined) && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		v.SetZero()
		return off + 1, nil
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	ti := infoOf(v.Type())
	if ti.unmarshaler {
		end := Skip(d.data, off)
		return end, v.Addr().Interface().(Unmarshaler).UnmarshalCBOR(d.data[off:end])
	}
	for p := off; d.data[p]>>5 == majorTag; {
		num, next := argument(d.data, p)
		if err := checkTagContent(num, d.data[next]); err != nil {
			return off, err
		}
		p = next
	}
	switch ti.special {
	case specialBigInt:
		return d.bigInt(off, v)
	case specialTime:
		return d.time(off, v)
	}
	if v.Kind() == reflect.Interface {
		if v.NumMethod() != 0 {
			return Skip(d.data, off), d.typeError(off, v)
		}
		x, next, err := d.any(off)
		if err != nil {
			return next, err
		}
		if x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
		return next, nil
	}
	if b == Null || b == Undefined {
		switch v.Kind() {
		case reflect.Slice, reflect.Map:
			v.SetZero()
		}
		return off + 1, nil
	}
	major, ai := b>>5, b&0x1f
	switch major {
	case majorUint, majorNint:
		n, next := argument(d.data, off)
		return next, d.setInt(off, v, major == majorNint, n, false)
	case majorTag:
		num, next := argument(d.data, off)
		if num != 2 && num != 3 {
			return d.value(next, v)
		}
		mag, after := d.bytes(next)
		switch v.Kind() {
		case reflect.Slice, reflect.Array:
			return after, d.setBytes(off, v, mag)
		}
		mag = trimZeros(mag)
		return after, d.setInt(off, v, num == 3, beUint64(mag), len(mag) > 8)
	case majorBytes:
		s, next := d.bytes(off)
		return next, d.setBytes(off, v, s)
	case majorText:
		s, next, err := d.text(off)
		if err != nil {
			return next, err
		}
		if v.Kind() != reflect.String {
			return next, d.typeError(off, v)
		}
		v.SetString(string(s))
		return next, nil
	case majorArray:
		return d.array(off, v)
	case majorMap:
		switch v.Kind() {
		case reflect.Map:
			return d.goMap(off, v)
		case reflect.Struct:
			return d.goStruct(off, v, ti)
		}
		return Skip(d.data, off), d.typeError(off, v)
	}
	switch ai {
	case 20, 21:
		if v.Kind() != reflect.Bool {
			return off + 1, d.typeError(off, v)
		}
		v.SetBool(ai == 21)
		return off + 1, nil
	case 25, 26, 27:
		f, next := d.float(off)
		switch v.Kind() {
		case reflect.Float32, reflect.Float64:
			if v.OverflowFloat(f) {
				return next, &UnmarshalTypeError{CBORType: typeName(majorOther), GoType: v.Type().String(),
					Detail: strconv.FormatFloat(f, 'g', -1, 64) + " overflows " + v.Type().String()}
			}
			v.SetFloat(f)
			return next, nil
		}
		return next, d.typeError(off, v)
	}
	return Skip(d.data, off), d.typeError(off, v)
}

// typeError reports that the item at off does not fit v.
func (d *decoder) typeError(off int, v reflect.Value) error {
	return &UnmarshalTypeError{CBORType: typeName(d.data[off] >> 5), GoType: v.Type().String()}
}

// setInt stores an integer into v: the CBOR integer n (negative:
// -1-n), or one beyond 64 bits when huge is set.
func (d *decoder) setInt(off int, v reflect.Value, negative bool, n uint64, huge bool) error {
	overflow := func() error {
		t := v.Type().String()
		return &UnmarshalTypeError{CBORType: typeName(d.data[off] >> 5), GoType: t, Detail: d.intText(off) + " overflows " + t}
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if huge || n > math.MaxInt64 {
			return overflow()
		}
		i := int64(n)
		if negative {
			i = -1 - i
		}
		if v.OverflowInt(i) {
			return overflow()
		}
		v.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if huge || negative || v.OverflowUint(n) {
			return overflow()
		}
		v.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		switch {
		case huge || negative && n > math.MaxInt64:
			return overflow()
		case negative:
			v.SetFloat(float64(-1 - int64(n)))
		default:
			v.SetFloat(float64(n))
		}
		return nil
	}
	return d.typeError(off, v)
}

// bigInt decodes an integer or bignum into a math/big.Int, through its
// decimal text.
func (d *decoder) bigInt(off int, v reflect.Value) (int, error) {
	p := off
	for d.data[p]>>5 == majorTag && !isBignum(d.data, p) {
		_, p = argument(d.data, p)
	}
	b := d.data[p]
	switch {
	case b == Null || b == Undefined:
		return p + 1, nil
	case b>>5 == majorUint || b>>5 == majorNint || isBignum(d.data, p):
		next := Skip(d.data, p)
		return next, v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(d.intText(p)))
	}
	return Skip(d.data, off), d.typeError(p, v)
}

// isBignum reports whether the item at off is tag 2 or 3.
func isBignum(data []byte, off int) bool { return data[off] == 0xc2 || data[off] == 0xc3 }

// time decodes RFC 3339 text into a time.Time.
func (d *decoder) time(off int, v reflect.Value) (int, error) {
	p := off
	for d.data[p]>>5 == majorTag {
		_, p = argument(d.data, p)
	}
	b := d.data[p]
	switch {
	case b == Null || b == Undefined:
		return p + 1, nil
	case b>>5 == majorText:
		s, next, err := d.text(p)
		if err != nil {
			return next, err
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText(s); err != nil {
			return next, &UnmarshalTypeError{CBORType: typeName(majorText), GoType: v.Type().String(), Detail: err.Error()}
		}
		return next, nil
	}
	return Skip(d.data, off), d.typeError(p, v)
}

// setBytes stores the content of a byte string into a []byte or a byte
// array.
func (d *decoder) setBytes(off int, v reflect.Value, s []byte) error {
	switch {
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		v.SetBytes(cloneBytes(s))
		return nil
	case v.Kind() == reflect.Array && v.Type().Elem().Kind() == reflect.Uint8:
		n := reflect.Copy(v, reflect.ValueOf(s))
		for i := n; i < v.Len(); i++ {
			v.Index(i).SetZero()
		}
		return nil
	}
	return d.typeError(off, v)
}

// array decodes an array into a slice or an array.
func (d *decoder) array(off int, v reflect.Value) (int, error) {
	indefinite := d.data[off]&0x1f == 31
	n, next := argument(d.data, off)
	var err error
	switch v.Kind() {
	case reflect.Slice:
		if indefinite {
			s := reflect.MakeSlice(v.Type(), 0, 4)
			for i := 0; d.data[next] != Break; i++ {
				s = reflect.Append(s, reflect.New(v.Type().Elem()).Elem())
				if next, err = d.value(next, s.Index(i)); err != nil {
					return next, err
				}
			}
			v.Set(s)
			return next + 1, nil
		}
		s := reflect.MakeSlice(v.Type(), int(n), int(n))
		for i := range int(n) {
			if next, err = d.value(next, s.Index(i)); err != nil {
				return next, err
			}
		}
		v.Set(s)
		return next, nil
	case reflect.Array:
		i := 0
		for ; indefinite && d.data[next] != Break || !indefinite && i < int(n); i++ {
			if i >= v.Len() {
				next = Skip(d.data, next)
				continue
			}
			if next, err = d.value(next, v.Index(i)); err != nil {
				return next, err
			}
		}
		for j := i; j < v.Len(); j++ {
			v.Index(j).SetZero()
		}
		if indefinite {
			next++
		}
		return next, nil
	}
	return Skip(d.data, off), d.typeError(off, v)
}

// goMap decodes a map into a Go map with string keys.
func (d *decoder) goMap(off int, v reflect.Value) (int, error) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		return Skip(d.data, off), &UnmarshalTypeError{CBORType: typeName(majorMap), GoType: t.String(), Detail: "map keys must be strings"}
	}
	indefinite := d.data[off]&0x1f == 31
	n, next := argument(d.data, off)
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, min(int(n), 64)))
	}
	var seen map[string]bool // when v had entries before
	if v.Len() > 0 {
		seen = map[string]bool{}
	}
	for i := 0; indefinite && d.data[next] != Break || !indefinite && i < int(n); i++ {
		k, after, err := d.key(next)
		if err != nil {
			return after, err
		}
		kv := reflect.New(t.Key()).Elem()
		kv.SetString(k)
		if seen != nil && seen[k] || seen == nil && v.MapIndex(kv).IsValid() {
			return after, &DupMapKeyError{Key: k, Index: i}
		}
		if seen != nil {
			seen[k] = true
		}
		ev := reflect.New(t.Elem()).Elem()
		if next, err = d.value(after, ev); err != nil {
			return next, err
		}
		v.SetMapIndex(kv, ev)
	}
	if indefinite {
		next++
	}
	return next, nil
}

// goStruct decodes a map into a struct: keys name fields; keys that name
// none (text or integer) are skipped; other keys are an error.
func (d *decoder) goStruct(off int, v reflect.Value, ti *typeInfo) (int, error) {
	indefinite := d.data[off]&0x1f == 31
	n, next := argument(d.data, off)
	var found uint64     // fields set so far, when there are at most 64
	var foundMore []bool // when there are more
	if len(ti.fields) > 64 {
		foundMore = make([]bool, len(ti.fields))
	}
	var unmatched []any // keys that name no field, for duplicates
	for i := 0; indefinite && d.data[next] != Break || !indefinite && i < int(n); i++ {
		kb := d.data[next]
		var key any
		switch kb >> 5 {
		case majorText:
			name, after, err := d.text(next)
			if err != nil {
				return after, err
			}
			next = after
			if fi, ok := ti.fieldFor(name); ok {
				if foundMore != nil && foundMore[fi] || foundMore == nil && found&(1<<fi) != 0 {
					return next, &DupMapKeyError{Key: string(name), Index: i}
				}
				if foundMore != nil {
					foundMore[fi] = true
				} else {
					found |= 1 << fi
				}
				f := &ti.fields[fi]
				fv, err := fieldValue(v, f.index)
				if err != nil {
					return next, err
				}
				if next, err = d.value(next, fv); err != nil {
					var te *UnmarshalTypeError
					if errors.As(err, &te) && te.StructField == "" {
						te.StructField = v.Type().String() + "." + f.name
					}
					return next, err
				}
				continue
			}
			key = string(name)
		case majorUint, majorNint:
			k, after := argument(d.data, next)
			if k > math.MaxInt64 {
				return after, &UnmarshalTypeError{CBORType: typeName(kb >> 5), GoType: "int64", Detail: "the key overflows Go's int64"}
			}
			next = after
			if kb>>5 == majorNint {
				key = -1 - int64(k)
			} else {
				key = int64(k)
			}
		default:
			return next, &UnmarshalTypeError{CBORType: typeName(kb >> 5), GoType: "string",
				Detail: "map key is of type " + typeName(kb>>5) + " and cannot be used to match struct field name"}
		}
		for _, u := range unmatched {
			if u == key {
				return next, &DupMapKeyError{Key: key, Index: i}
			}
		}
		unmatched = append(unmatched, key)
		next = Skip(d.data, next)
	}
	if indefinite {
		next++
	}
	return next, nil
}

// fieldValue returns the field of struct v at index, allocating the
// embedded structs it goes through.
func fieldValue(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return v, errors.New("cbor: cannot set embedded pointer to unexported struct " + v.Type().Elem().String())
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

func cloneBytes(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}
