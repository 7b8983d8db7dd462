package oslo

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// This file writes JSON scalars exactly as Python's json.dumps does with
// its defaults (ensure_ascii=True, allow_nan=True), which oslo.messaging
// and kombu use for every message.

const hexDigits = "0123456789abcdef"

// safeASCII marks the bytes json.dumps writes unescaped with
// ensure_ascii: printable ASCII except '"' and '\\'.
var safeASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendPyString appends s, valid UTF-8, as a JSON string with Python's
// escapes: \" \\ \n \r \t \b \f, \u00XX for other control characters and
// DEL, and \uXXXX (surrogate pairs above U+FFFF) for everything beyond
// ASCII.
func appendPyString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	dst = appendPyStringBody(dst, s)
	return append(dst, '"')
}

// appendPyStringBody is appendPyString without the quotes.
func appendPyStringBody(dst []byte, s []byte) []byte {
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && safeASCII[s[j]] {
			j++
		}
		dst = append(dst, s[i:j]...)
		if j == len(s) {
			break
		}
		i = j
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch c {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = appendU4(dst, rune(c))
			}
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			dst = appendU4(dst, 0xd800+(r>>10))
			dst = appendU4(dst, 0xdc00+(r&0x3ff))
			continue
		}
		dst = appendU4(dst, r)
	}
	return dst
}

func appendU4(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// appendPyFloat appends f as Python's float.__repr__ writes it, with
// json's NaN, Infinity and -Infinity: the shortest digits that read back
// as f, in positional notation when the decimal exponent is in [-4, 16),
// with ".0" added to integral values, and in scientific notation (at least
// two exponent digits, with a sign) otherwise.
func appendPyFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // [-]d[.ddd]e±dd
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	var digits [24]byte
	nd := 0
	i := 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[nd] = e[i]
			nd++
		}
	}
	exp := 0
	esign := e[i+1]
	for _, c := range e[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if esign == '-' {
		exp = -exp
	}
	d := digits[:nd]
	decpt := exp + 1 // digits d[0..decpt) come before the decimal point
	if neg {
		dst = append(dst, '-')
	}
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			dst = append(dst, '0', '.')
			for k := 0; k < -decpt; k++ {
				dst = append(dst, '0')
			}
			dst = append(dst, d...)
		case decpt >= nd:
			dst = append(dst, d...)
			for k := nd; k < decpt; k++ {
				dst = append(dst, '0')
			}
			dst = append(dst, '.', '0')
		default:
			dst = append(dst, d[:decpt]...)
			dst = append(dst, '.')
			dst = append(dst, d[decpt:]...)
		}
		return dst
	}
	dst = append(dst, d[0])
	if nd > 1 {
		dst = append(dst, '.')
		dst = append(dst, d[1:]...)
	}
	dst = append(dst, 'e')
	if exp < 0 {
		dst = append(dst, '-')
		exp = -exp
	} else {
		dst = append(dst, '+')
	}
	if exp < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(exp), 10)
}
