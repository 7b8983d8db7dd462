package py

import (
	"fmt"
	"math/big"
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
// Python integers are unbounded, the ABI's are 64-bit. A sum of two
// integers outside the int64 range is returned as a float64, which is what
// the ABI does with any JSON integer outside that range (see abi/README.md).
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
	ai, aInt := toInt(a)
	bi, bInt := toInt(b)
	if aInt && bInt {
		sum := new(big.Int).Add(ai, bi)
		if sum.IsInt64() {
			return sum.Int64(), true
		}
		f, _ := new(big.Float).SetInt(sum).Float64()
		return f, true
	}
	af, aNum := toFloat(a, ai, aInt)
	bf, bNum := toFloat(b, bi, bInt)
	if !aNum || !bNum {
		return nil, false
	}
	return af + bf, true
}

// toInt returns v as an integer when it is a Python int or bool.
func toInt(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return big.NewInt(1), true
		}
		return big.NewInt(0), true
	case int64:
		return big.NewInt(x), true
	case uint64:
		return new(big.Int).SetUint64(x), true
	}
	return nil, false
}

// toFloat returns v as a float when it is a Python float, or an int already
// converted by toInt.
func toFloat(v any, i *big.Int, isInt bool) (float64, bool) {
	if isInt {
		f, _ := new(big.Float).SetInt(i).Float64()
		return f, true
	}
	f, ok := v.(float64)
	return f, ok
}
