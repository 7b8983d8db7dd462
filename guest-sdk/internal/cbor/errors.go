package cbor

import (
	"fmt"
	"reflect"
	"strconv"
)

// SyntaxError reports bytes that are not one well-formed CBOR data item
// within the ABI's limits. A truncated item is io.ErrUnexpectedEOF, and
// empty input io.EOF, as with the host's codec.
type SyntaxError struct{ msg string }

func (e *SyntaxError) Error() string { return "cbor: " + e.msg }

// UnmarshalTypeError reports a CBOR value that does not fit the Go type it
// is decoded into.
type UnmarshalTypeError struct {
	CBORType string // "positive integer", "UTF-8 text string", …
	GoType   string // the Go type, as reflect writes it
	// StructField, when set, is "pkg.Type.key": the struct field the
	// value was meant for.
	StructField string
	// Detail, when set, says more ("300 overflows int8").
	Detail string
}

func (e *UnmarshalTypeError) Error() string {
	var s string
	if e.StructField != "" {
		s = "cbor: cannot unmarshal " + e.CBORType + " into Go struct field " + e.StructField + " of type " + e.GoType
	} else {
		s = "cbor: cannot unmarshal " + e.CBORType + " into Go value of type " + e.GoType
	}
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// DupMapKeyError reports a map key that appears twice.
type DupMapKeyError struct {
	Key   any // a string, or an int64 for an integer key
	Index int // the index of the key-value pair that repeats it
}

func (e *DupMapKeyError) Error() string {
	key := fmt.Sprint(e.Key)
	if s, ok := e.Key.(string); ok {
		key = strconv.Quote(s)
	}
	return "cbor: found duplicate map key " + key + " at map element index " + strconv.Itoa(e.Index)
}

// UnsupportedTypeError reports a Go value the encoder cannot write: a
// channel, a function, a complex number, a map whose keys are neither
// strings nor integers.
type UnsupportedTypeError struct {
	Type reflect.Type
}

func (e *UnsupportedTypeError) Error() string {
	return "cbor: unsupported type: " + e.Type.String()
}

// ValueError reports a Go value the encoder refuses: text that is not
// UTF-8 in a map key, a value nested deeper than the ABI allows (which
// includes a cycle of pointers), a MarshalCBOR method that returned
// something else than one well-formed item.
type ValueError struct{ msg string }

func (e *ValueError) Error() string { return "cbor: " + e.msg }

func errInvalidUTF8() error { return &SyntaxError{"invalid UTF-8 string"} }

func errExtraneous(n, at int) error {
	return &SyntaxError{fmt.Sprintf("%d bytes of extraneous data starting at index %d", n, at)}
}

// typeName names a CBOR major type as the host's codec does.
func typeName(major byte) string {
	switch major {
	case majorUint:
		return "positive integer"
	case majorNint:
		return "negative integer"
	case majorBytes:
		return "byte string"
	case majorText:
		return "UTF-8 text string"
	case majorArray:
		return "array"
	case majorMap:
		return "map"
	case majorTag:
		return "tag"
	}
	return "primitives"
}
