package py

import (
	"fmt"
	"math/bits"

	"github.com/wasmrpcd/wasmrpcd/guest-sdk/internal/cbor"
)

// Add returns a + b as Python computes it for decoded values:
//
//   - int + int is an int (bool counts as an int, as in Python: True + 1 == 2);
//   - int or float mixed with a float is a float;
//   - str + str, list + list and bytes + bytes concatenate;
//   - anything else is a TypeError with Python 3.11's message, such as
//     "unsupported operand type(s) for +: 'int' and 'str'" or
//     `can only concatenate str (not "int") to str`.
//
// # Notes
//
// Python integers are unbounded. A sum of two integers outside the int64
// range is returned as a float64, as modules/cadder does, and so is a sum
// with an integer beyond 64 bits (a decoded bignum, cbor.BigInt).
func Add(a, b any) (any, error) {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return x + y, nil
		}
		return nil, TypeError(fmt.Sprintf("can only concatenate str (not %q) to str", TypeName(b)))
	case []any:
		if y, ok := b.([]any); ok {
			out := make([]any, 0, len(x)+len(y))
			return append(append(out, x...), y...), nil
		}
		return nil, TypeError(fmt.Sprintf("can only concatenate list (not %q) to list", TypeName(b)))
	case []byte:
		if y, ok := b.([]byte); ok {
			out := make([]byte, 0, len(x)+len(y))
			return append(append(out, x...), y...), nil
		}
		return nil, TypeError(fmt.Sprintf("can't concat %s to bytes", TypeName(b)))
	}
	if sum, ok := addNumbers(a, b); ok {
		return sum, nil
	}
	return nil, TypeError(fmt.Sprintf("unsupported operand type(s) for +: '%s' and '%s'", TypeName(a), TypeName(b)))
}

// addNumbers adds two Python numbers (bool, int or float); ok is false when
// either is not one.
func addNumbers(a, b any) (any, bool) {
	ahi, alo, aInt := toInt(a)
	bhi, blo, bInt := toInt(b)
	if aInt && bInt {
		// 128-bit two's complement: no 64-bit sum overflows it.
		lo, carry := bits.Add64(alo, blo, 0)
		hi := ahi + bhi + int64(carry)
		if hi == int64(lo)>>63 {
			return int64(lo), true
		}
		return int128Float(hi, lo), true
	}
	af, aNum := toFloat(a, ahi, alo, aInt)
	bf, bNum := toFloat(b, bhi, blo, bInt)
	if !aNum || !bNum {
		return nil, false
	}
	return af + bf, true
}

// toInt returns v as a 128-bit two's complement integer when it is a
// Python int of at most 64 bits, or a bool.
func toInt(v any) (hi int64, lo uint64, ok bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 0, 1, true
		}
		return 0, 0, true
	case int64:
		return x >> 63, uint64(x), true
	case uint64:
		return 0, x, true
	}
	return 0, 0, false
}

// toFloat returns v as a float when it is a Python float, an integer
// beyond 64 bits, or an int already converted by toInt.
func toFloat(v any, hi int64, lo uint64, isInt bool) (float64, bool) {
	if isInt {
		return int128Float(hi, lo), true
	}
	switch x := v.(type) {
	case float64:
		return x, true
	case cbor.BigInt:
		return x.Float64(), true
	}
	return 0, false
}

// int128Float returns the float nearest to the 128-bit integer hi:lo, which
// lies within ±2⁶⁵.
func int128Float(hi int64, lo uint64) float64 {
	neg := hi < 0
	if neg { // negate: ^x + 1
		var c uint64
		lo, c = bits.Add64(^lo, 1, 0)
		hi = ^hi + int64(c)
	}
	var f float64
	if hi == 0 {
		f = float64(lo)
	} else {
		// 2⁶⁴ + lo: halve it, keeping the lost bit as a sticky bit, so
		// that the conversion rounds as it would the whole.
		f = float64(1<<63|lo>>1|lo&1) * 2
	}
	if neg {
		return -f
	}
	return f
}
