package oslo

import (
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"

	"github.com/fxamacker/cbor/v2"
	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// valueDecMode decodes the CBOR that JSONToCBOR writes into plain Go
// values: integers as int64 or, beyond, *big.Int; maps as map[string]any.
var valueDecMode = func() cbor.DecMode {
	opts := cborcodec.DecOptions()
	opts.IntDec = cbor.IntDecConvertSignedOrBigInt
	opts.BigIntDec = cbor.BigIntDecodePointer
	opts.DefaultMapType = reflect.TypeOf(map[string]any(nil))
	m, err := opts.DecMode()
	if err != nil {
		panic(fmt.Sprintf("oslo: value decoding options: %v", err))
	}
	return m
}()

// DecodeValue decodes JSON text as Python's json.loads would, into Go
// values: nil, bool, int64 (or *big.Int beyond its range), float64,
// string, []any and map[string]any.
func DecodeValue(data []byte) (any, error) {
	c, err := JSONToCBOR(nil, data)
	if err != nil {
		return nil, err
	}
	var v any
	if err := valueDecMode.Unmarshal(c, &v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCBOR, err)
	}
	return v, nil
}

// AppendValue appends the JSON of the Go value v to dst as Python's
// json.dumps writes the equivalent Python value: nil, booleans, integers
// of every size (*big.Int too), floats (NaN and infinities as tokens),
// strings, slices and maps of those (map keys sorted), and
// [cbor.RawMessage] transcoded. Any other value is encoded with
// [cborcodec.Marshal] first, so CBOR struct tags apply.
func AppendValue(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, v, 0)
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > abi.MaxNesting {
		return dst, ErrTooDeep
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		return appendPyString(dst, []byte(x)), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case float64:
		return appendPyFloat(dst, x), nil
	case float32:
		return appendPyFloat(dst, float64(x)), nil
	case *big.Int:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return x.Append(dst, 10), nil
	case big.Int:
		return x.Append(dst, 10), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',', ' ')
			}
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',', ' ')
			}
			dst = appendPyString(dst, []byte(e))
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',', ' ')
			}
			dst = appendPyString(dst, []byte(k))
			dst = append(dst, ':', ' ')
			if dst, err = appendValue(dst, x[k], depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case cbor.RawMessage:
		return CBORToJSON(dst, x)
	default:
		c, err := cborcodec.Marshal(v)
		if err != nil {
			return dst, fmt.Errorf("oslo: value of type %T: %w", v, err)
		}
		return CBORToJSON(dst, c)
	}
}
