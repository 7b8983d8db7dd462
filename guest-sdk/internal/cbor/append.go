package cbor

import "unicode/utf8"

// AppendHead appends the head of an item of major type major with
// argument n, in its shortest form.
func AppendHead(dst []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(dst, m|byte(n))
	case n <= 0xff:
		return append(dst, m|24, byte(n))
	case n <= 0xffff:
		return append(dst, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(dst, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// AppendInt appends an integer.
func AppendInt(dst []byte, n int64) []byte {
	if n < 0 {
		return AppendHead(dst, majorNint, uint64(-1-n))
	}
	return AppendHead(dst, majorUint, uint64(n))
}

// AppendUint appends a non-negative integer.
func AppendUint(dst []byte, n uint64) []byte { return AppendHead(dst, majorUint, n) }

// AppendFloat appends a float in its shortest exact form.
func AppendFloat(dst []byte, f float64) []byte { return appendFloat(dst, f) }

// AppendBool appends true or false.
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, True)
	}
	return append(dst, False)
}

// AppendNull appends null.
func AppendNull(dst []byte) []byte { return append(dst, Null) }

// AppendText appends s as a text string. Bytes of s that are not valid
// UTF-8 are written as U+FFFD, as Go's encoding/json and the host's
// value encoder do: a text string must be UTF-8.
func AppendText(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = toValidUTF8(s)
	}
	dst = AppendHead(dst, majorText, uint64(len(s)))
	return append(dst, s...)
}

// AppendBytes appends b as a byte string.
func AppendBytes(dst, b []byte) []byte {
	dst = AppendHead(dst, majorBytes, uint64(len(b)))
	return append(dst, b...)
}

// toValidUTF8 replaces each invalid byte sequence of s with U+FFFD.
func toValidUTF8(s string) string {
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, s[i:i+n]...)
		}
		i += n
	}
	return string(out)
}
