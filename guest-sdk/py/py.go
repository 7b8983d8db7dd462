// Package py gives Go values decoded from the wasmrpc ABI's CBOR (JSON's
// data model: nil, bool, int64 (uint64 and sdk.BigInt beyond), float64,
// string, []byte, []any, map[string]any) the Python behaviour a module needs to answer exactly as
// a Python oslo.messaging endpoint would: the name of a value's Python
// type, repr of a string, and the + operator.
package py

import (
	"fmt"
	"reflect"

	"github.com/wasmrpcd/wasmrpcd/guest-sdk/internal/cbor"
)

// TypeName returns the name of the Python type a decoded value stands for:
// "NoneType", "bool", "int", "float", "str", "bytes", "list" or "dict".
// Other Go values are named after their reflect kind the same way (any
// integer kind is "int", a struct is "dict"); a value Python has no
// counterpart for gets its Go type name.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, uint64, cbor.BigInt:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return KindName(reflect.TypeOf(v))
}

// KindName returns the name of the Python type that values of Go type t
// decode from or encode to, as [TypeName] does for values: "int" for every
// integer type, "list" for slices and arrays, "dict" for maps and structs.
// A pointer is named after what it points to; an interface type is
// "object", as anything fits it.
func KindName(t reflect.Type) string {
	if t == nil {
		return "NoneType"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "float"
	case reflect.String:
		return "str"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "bytes"
		}
		return "list"
	case reflect.Array:
		return "list"
	case reflect.Map, reflect.Struct:
		return "dict"
	case reflect.Pointer:
		return KindName(t.Elem())
	case reflect.Interface:
		return "object"
	}
	return fmt.Sprint(t)
}
