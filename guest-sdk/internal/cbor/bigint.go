package cbor

import (
	"math"
	"strconv"
)

// BigInt is an integer beyond the range of int64 and uint64, as
// [DecodeAny] gives one: its sign and its absolute value, big-endian
// without leading zeros. Python has such integers (2**100); the ABI
// carries them as bignums (tags 2 and 3). It encodes back to the same
// CBOR, and converts to a math/big.Int with
// new(big.Int).SetBytes(b.Abs), negated when Neg.
//
// The codec does not use math/big, which would add a sixth to the size of
// a module.
type BigInt struct {
	Neg bool
	Abs []byte
}

// String returns the integer in decimal, as Python prints it.
func (b BigInt) String() string {
	digits := decimal(b.Abs)
	if b.Neg && digits != "0" {
		return "-" + digits
	}
	return digits
}

// MarshalCBOR encodes b as an integer when it fits 64 bits, as a bignum
// otherwise.
func (b BigInt) MarshalCBOR() ([]byte, error) {
	return AppendBigInt(nil, b), nil
}

// UnmarshalCBOR decodes an integer or bignum into b.
func (b *BigInt) UnmarshalCBOR(data []byte) error {
	d := decoder{data: data}
	p := 0
	for d.data[p]>>5 == majorTag && !isBignum(d.data, p) {
		_, p = argument(d.data, p)
	}
	switch c := d.data[p]; {
	case c>>5 == majorUint:
		n, _ := argument(d.data, p)
		*b = BigInt{Abs: trimZeros(be8(n))}
	case c>>5 == majorNint:
		n, _ := argument(d.data, p)
		*b = bigFromNint(n)
	case isBignum(d.data, p):
		num, next := argument(d.data, p)
		mag, _ := d.bytes(next)
		*b = bigFromBignum(num, mag)
	default:
		return &UnmarshalTypeError{CBORType: typeName(c >> 5), GoType: "cbor.BigInt"}
	}
	return nil
}

// Float64 returns the float nearest to b (±Inf beyond the float range).
func (b BigInt) Float64() float64 {
	abs := trimZeros(b.Abs)
	var f float64
	if len(abs) <= 8 {
		f = float64(beUint64(abs))
	} else {
		// The top 64 bits with a sticky bit for the rest round as the
		// whole does.
		top := beUint64(abs[:8])
		for _, x := range abs[8:] {
			if x != 0 {
				top |= 1
				break
			}
		}
		f = math.Ldexp(float64(top), 8*(len(abs)-8))
	}
	if b.Neg {
		return -f
	}
	return f
}

// AppendBigInt appends b as an integer when it fits 64 bits and as a
// bignum (tag 2 or 3) otherwise.
func AppendBigInt(dst []byte, b BigInt) []byte {
	abs := trimZeros(b.Abs)
	if !b.Neg || len(abs) == 0 {
		if len(abs) <= 8 {
			return AppendUint(dst, beUint64(abs))
		}
		dst = append(dst, 0xc2)
		return AppendBytes(dst, abs)
	}
	m := trimZeros(subOne(abs)) // -1 - m is the value
	if len(m) <= 8 {
		return AppendHead(dst, majorNint, beUint64(m))
	}
	dst = append(dst, 0xc3)
	return AppendBytes(dst, m)
}

// bigFromBignum returns the value of a bignum of tag num (2 or 3) and
// magnitude mag.
func bigFromBignum(num uint64, mag []byte) BigInt {
	mag = trimZeros(mag)
	if num == 2 {
		return BigInt{Abs: cloneBytes(mag)}
	}
	return BigInt{Neg: true, Abs: addOne(mag)}
}

// bigFromNint returns -1-n for n beyond int64.
func bigFromNint(n uint64) BigInt {
	return BigInt{Neg: true, Abs: addOne(trimZeros(be8(n)))}
}

// be8 returns n as 8 big-endian bytes.
func be8(n uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[7-i] = byte(n >> (8 * i))
	}
	return b
}

// intText writes the integer at off (major type 0 or 1, or a bignum) in
// decimal.
func (d *decoder) intText(off int) string {
	b := d.data[off]
	switch b >> 5 {
	case majorUint:
		n, _ := argument(d.data, off)
		return strconv.FormatUint(n, 10)
	case majorNint:
		n, _ := argument(d.data, off)
		if n == math.MaxUint64 {
			return "-18446744073709551616"
		}
		return "-" + strconv.FormatUint(n+1, 10)
	}
	num, next := argument(d.data, off)
	mag, _ := d.bytes(next)
	return bigFromBignum(num, mag).String()
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func beUint64(b []byte) uint64 {
	var n uint64
	for _, x := range b {
		n = n<<8 | uint64(x)
	}
	return n
}

// addOne returns b+1 in a new slice.
func addOne(b []byte) []byte {
	out := make([]byte, len(b)+1)
	copy(out[1:], b)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]++
		if out[i] != 0 {
			break
		}
	}
	return trimZeros(out)
}

// subOne returns b-1 in a new slice; b must not be zero.
func subOne(b []byte) []byte {
	out := cloneBytes(b)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]--
		if out[i] != 0xff {
			break
		}
	}
	return out
}

// decimal writes the big-endian magnitude b in decimal.
func decimal(b []byte) string {
	b = trimZeros(b)
	if len(b) <= 8 {
		return strconv.FormatUint(beUint64(b), 10)
	}
	// Divide by 10⁹ repeatedly, 32-bit limbs at a time.
	limbs := make([]uint32, (len(b)+3)/4)
	for i, x := range b {
		pos := len(b) - 1 - i
		limbs[len(limbs)-1-pos/4] |= uint32(x) << (8 * (pos % 4))
	}
	var chunks []uint32
	for len(limbs) > 0 {
		var rem uint64
		for i := range limbs {
			cur := rem<<32 | uint64(limbs[i])
			limbs[i] = uint32(cur / 1e9)
			rem = cur % 1e9
		}
		chunks = append(chunks, uint32(rem))
		for len(limbs) > 0 && limbs[0] == 0 {
			limbs = limbs[1:]
		}
	}
	out := strconv.AppendUint(nil, uint64(chunks[len(chunks)-1]), 10)
	for i := len(chunks) - 2; i >= 0; i-- {
		s := strconv.FormatUint(uint64(chunks[i]), 10)
		for range 9 - len(s) {
			out = append(out, '0')
		}
		out = append(out, s...)
	}
	return string(out)
}

// parseDecimal reads an optionally signed decimal integer into a BigInt.
func parseDecimal(s string) (BigInt, bool) {
	var b BigInt
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		b.Neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return b, false
	}
	var abs []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return b, false
		}
		// abs = abs*10 + digit
		carry := uint(c - '0')
		for j := len(abs) - 1; j >= 0; j-- {
			v := uint(abs[j])*10 + carry
			abs[j], carry = byte(v), v>>8
		}
		for carry > 0 {
			abs = append([]byte{byte(carry)}, abs...)
			carry >>= 8
		}
	}
	b.Abs = trimZeros(abs)
	return b, true
}
