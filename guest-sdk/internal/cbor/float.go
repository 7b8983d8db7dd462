package cbor

import "math"

// float16ToFloat64 converts an IEEE 754 half-precision float.
func float16ToFloat64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 31:
		if mant == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1024+mant, exp-25)
}

// float16Exact returns f as a half-precision float when it holds f
// exactly (normal or subnormal).
func float16Exact(f float32) (uint16, bool) {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0 {
		// ±0; a single-precision subnormal is too small for half.
		return sign, mant == 0
	}
	e := exp - 127
	switch {
	case e > 15:
		return 0, false
	case e >= -14:
		if mant&0x1fff != 0 {
			return 0, false
		}
		return sign | uint16(e+15)<<10 | uint16(mant>>13), true
	case e >= -24:
		// A half-precision subnormal: m × 2⁻²⁴ with m < 1024.
		full := mant | 1<<23
		shift := uint(-(e + 1)) // 13 … 23
		if full&(1<<shift-1) != 0 {
			return 0, false
		}
		return sign | uint16(full>>shift), true
	}
	return 0, false
}

// appendFloat appends f in the shortest of half, single and double
// precision that holds it exactly; NaN is f9 7e00 and the infinities
// half-precision, as the host's codec writes them.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, 0xf9, 0x7e, 0x00)
	case math.IsInf(f, 1):
		return append(dst, 0xf9, 0x7c, 0x00)
	case math.IsInf(f, -1):
		return append(dst, 0xf9, 0xfc, 0x00)
	}
	f32 := float32(f)
	if float64(f32) != f {
		b := math.Float64bits(f)
		return append(dst, 0xfb, byte(b>>56), byte(b>>48), byte(b>>40), byte(b>>32), byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
	}
	if h, ok := float16Exact(f32); ok {
		return append(dst, 0xf9, byte(h>>8), byte(h))
	}
	b := math.Float32bits(f32)
	return append(dst, 0xfa, byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
}
