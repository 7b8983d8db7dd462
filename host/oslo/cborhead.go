package oslo

import (
	"encoding/binary"
	"math"

	"github.com/x448/float16"
)

// CBOR major types (RFC 8949 section 3.1), shifted into the high bits of
// an initial byte.
const (
	majorUint   byte = 0 << 5
	majorNegInt byte = 1 << 5
	majorBytes  byte = 2 << 5
	majorText   byte = 3 << 5
	majorArray  byte = 4 << 5
	majorMap    byte = 5 << 5
	majorTag    byte = 6 << 5
)

// Initial bytes of the CBOR simple values and float heads.
const (
	cborFalse   byte = 0xf4
	cborTrue    byte = 0xf5
	cborNull    byte = 0xf6
	cborFloat16 byte = 0xf9
	cborFloat32 byte = 0xfa
	cborFloat64 byte = 0xfb
	cborBreak   byte = 0xff
)

// CBOR tags with a meaning of their own for the JSON mapping; any other
// tag stands for its content.
const (
	tagPosBignum = 2
	tagNegBignum = 3
	tagBase64URL = 21
	tagBase64    = 22
	tagBase16    = 23
)

// appendHead appends the head of a data item of the given major type with
// argument n, in its shortest form.
func appendHead(dst []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(dst, major|byte(n))
	case n <= math.MaxUint8:
		return append(dst, major|24, byte(n))
	case n <= math.MaxUint16:
		return append(dst, major|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(dst, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, major|27), n)
	}
}

// headLen is the length of the head appendHead writes for n.
func headLen(n uint64) int {
	switch {
	case n < 24:
		return 1
	case n <= math.MaxUint8:
		return 2
	case n <= math.MaxUint16:
		return 3
	case n <= math.MaxUint32:
		return 5
	default:
		return 9
	}
}

// patchHead writes the head of a container that holds n items at dst[pos],
// where a one-byte placeholder was reserved, moving the content after it
// when the head needs more than one byte.
func patchHead(dst []byte, pos int, major byte, n uint64) []byte {
	hl := headLen(n)
	if hl == 1 {
		dst[pos] = major | byte(n)
		return dst
	}
	end := len(dst)
	for i := 1; i < hl; i++ {
		dst = append(dst, 0)
	}
	copy(dst[pos+hl:], dst[pos+1:end])
	appendHead(dst[pos:pos], major, n)
	return dst
}

// appendFloat appends f in the shortest CBOR float form that keeps its
// value exactly (RFC 8949 preferred serialization): half, single or double
// precision. Every NaN becomes the half-precision quiet NaN 0x7e00.
func appendFloat(dst []byte, f float64) []byte {
	if f != f {
		return append(dst, cborFloat16, 0x7e, 0x00)
	}
	f32 := float32(f)
	if float64(f32) != f {
		return binary.BigEndian.AppendUint64(append(dst, cborFloat64), math.Float64bits(f))
	}
	if h := float16.Fromfloat32(f32); h.Float32() == f32 {
		return binary.BigEndian.AppendUint16(append(dst, cborFloat16), h.Bits())
	}
	return binary.BigEndian.AppendUint32(append(dst, cborFloat32), math.Float32bits(f32))
}
