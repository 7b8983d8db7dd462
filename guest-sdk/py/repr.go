package py

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Repr returns repr(s) as Python 3 writes it: single quotes unless s
// contains a single quote and no double quote, backslash escapes for the
// quote, backslash, \t, \n and \r, and \xhh, \uhhhh or \Uhhhhhhhh for other
// characters that are not printable (str.isprintable). Bytes that are not
// valid UTF-8 are written as \xhh, as Python would show them after a
// surrogateescape decode.
func Repr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			writeHex(&b, 'x', uint32(s[i]), 2)
			i++
			continue
		}
		i += size
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			writeHex(&b, 'x', uint32(r), 2)
		case r < 0x10000:
			writeHex(&b, 'u', uint32(r), 4)
		default:
			writeHex(&b, 'U', uint32(r), 8)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

func writeHex(b *strings.Builder, kind byte, v uint32, digits int) {
	const hex = "0123456789abcdef"
	b.WriteByte('\\')
	b.WriteByte(kind)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hex[v>>uint(shift)&0xf])
	}
}
