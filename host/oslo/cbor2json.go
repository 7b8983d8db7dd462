package oslo

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/x448/float16"
)

// ErrCBOR is wrapped by every error about CBOR that is not well-formed or
// has no JSON form.
var ErrCBOR = errors.New("invalid CBOR")

// maxTags bounds how many tags may enclose one another.
const maxTags = 16

// CBORToJSON appends to dst the JSON text of the CBOR data item src,
// written as Python's json.dumps writes the same value (ensure_ascii,
// separators ", " and ": ", float repr, NaN and Infinity tokens). Trailing
// bytes after the item are an error. See docs/VALUES.md for every type.
func CBORToJSON(dst, src []byte) ([]byte, error) {
	w := writer{src: src}
	dst, err := w.item(dst)
	if err != nil {
		return dst, err
	}
	if w.pos != len(src) {
		return dst, w.errorf("%d bytes after the data item", len(src)-w.pos)
	}
	return dst, nil
}

// writer reads CBOR from src and writes JSON.
type writer struct {
	src   []byte
	pos   int
	depth int
	tags  int
	// buf collects the chunks of indefinite-length strings.
	buf []byte
}

func (w *writer) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrCBOR, fmt.Sprintf(format, args...), w.pos)
}

// head reads an initial byte and its argument. indef reports the
// indefinite-length marker (additional information 31).
func (w *writer) head() (major byte, ai byte, arg uint64, indef bool, err error) {
	if w.pos >= len(w.src) {
		return 0, 0, 0, false, w.errorf("unexpected end of data")
	}
	ib := w.src[w.pos]
	major, ai = ib&0xe0, ib&0x1f
	w.pos++
	switch {
	case ai < 24:
		return major, ai, uint64(ai), false, nil
	case ai <= 27:
		n := 1 << (ai - 24)
		if len(w.src)-w.pos < n {
			w.pos--
			return 0, 0, 0, false, w.errorf("truncated head")
		}
		b := w.src[w.pos : w.pos+n]
		w.pos += n
		switch n {
		case 1:
			arg = uint64(b[0])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(b))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(b))
		default:
			arg = binary.BigEndian.Uint64(b)
		}
		return major, ai, arg, false, nil
	case ai == 31 && major != majorUint && major != majorNegInt && major != majorTag:
		return major, ai, 0, true, nil
	default:
		w.pos--
		return 0, 0, 0, false, w.errorf("reserved additional information %d", ai)
	}
}

// item transcodes one data item.
func (w *writer) item(dst []byte) ([]byte, error) {
	start := w.pos
	major, ai, arg, indef, err := w.head()
	if err != nil {
		return dst, err
	}
	switch major {
	case majorUint:
		return strconv.AppendUint(dst, arg, 10), nil
	case majorNegInt:
		return appendNegative(dst, arg), nil
	case majorBytes, majorText:
		s, err := w.stringBody(major, arg, indef)
		if err != nil {
			return dst, err
		}
		if !utf8.Valid(s) {
			if major == majorBytes {
				return dst, w.errorf("byte string is not UTF-8 text (tag it 21, 22 or 23 for base64url, base64 or hex)")
			}
			return dst, w.errorf("text string is not valid UTF-8")
		}
		return appendPyString(dst, s), nil
	case majorArray:
		return w.array(dst, arg, indef)
	case majorMap:
		return w.mapItem(dst, arg, indef)
	case majorTag:
		return w.tagged(dst, arg, false)
	default:
		return w.simple(dst, start, ai, arg, indef)
	}
}

// appendNegative appends the value -1-n of a CBOR negative integer.
func appendNegative(dst []byte, n uint64) []byte {
	if n < math.MaxInt64 {
		return strconv.AppendInt(dst, -1-int64(n), 10)
	}
	if n == math.MaxUint64 {
		return append(dst, "-18446744073709551616"...)
	}
	dst = append(dst, '-')
	return strconv.AppendUint(dst, n+1, 10)
}

// stringBody returns the content of a byte or text string whose head was
// read: a slice of src, or of w.buf for indefinite-length strings.
func (w *writer) stringBody(major byte, n uint64, indef bool) ([]byte, error) {
	if !indef {
		if n > uint64(len(w.src)-w.pos) {
			return nil, w.errorf("string of %d bytes runs past the end", n)
		}
		s := w.src[w.pos : w.pos+int(n)]
		w.pos += int(n)
		return s, nil
	}
	buf := w.buf[:0]
	for {
		if w.pos >= len(w.src) {
			return nil, w.errorf("unterminated indefinite-length string")
		}
		if w.src[w.pos] == cborBreak {
			w.pos++
			w.buf = buf
			return buf, nil
		}
		m, _, cn, cindef, err := w.head()
		if err != nil {
			return nil, err
		}
		if m != major || cindef {
			return nil, w.errorf("bad chunk in indefinite-length string")
		}
		if cn > uint64(len(w.src)-w.pos) {
			return nil, w.errorf("string chunk of %d bytes runs past the end", cn)
		}
		buf = append(buf, w.src[w.pos:w.pos+int(cn)]...)
		w.pos += int(cn)
	}
}

func (w *writer) enter() error {
	w.depth++
	if w.depth > abi.MaxNesting {
		return fmt.Errorf("%w (offset %d)", ErrTooDeep, w.pos)
	}
	return nil
}

// more reports whether a container has another item: for a definite
// length, while i < n; for an indefinite one, until the break byte.
func (w *writer) more(i, n uint64, indef bool) (bool, error) {
	if !indef {
		return i < n, nil
	}
	if w.pos >= len(w.src) {
		return false, w.errorf("unterminated indefinite-length container")
	}
	if w.src[w.pos] == cborBreak {
		w.pos++
		return false, nil
	}
	return true, nil
}

func (w *writer) array(dst []byte, n uint64, indef bool) ([]byte, error) {
	if err := w.enter(); err != nil {
		return dst, err
	}
	if !indef && n > uint64(len(w.src)-w.pos) {
		return dst, w.errorf("array of %d items runs past the end", n)
	}
	dst = append(dst, '[')
	for i := uint64(0); ; i++ {
		ok, err := w.more(i, n, indef)
		if err != nil {
			return dst, err
		}
		if !ok {
			break
		}
		if i > 0 {
			dst = append(dst, ',', ' ')
		}
		if dst, err = w.item(dst); err != nil {
			return dst, err
		}
	}
	w.depth--
	return append(dst, ']'), nil
}

func (w *writer) mapItem(dst []byte, n uint64, indef bool) ([]byte, error) {
	if err := w.enter(); err != nil {
		return dst, err
	}
	if !indef && n > uint64(len(w.src)-w.pos)/2 {
		return dst, w.errorf("map of %d pairs runs past the end", n)
	}
	dst = append(dst, '{')
	for i := uint64(0); ; i++ {
		ok, err := w.more(i, n, indef)
		if err != nil {
			return dst, err
		}
		if !ok {
			break
		}
		if i > 0 {
			dst = append(dst, ',', ' ')
		}
		if dst, err = w.key(dst); err != nil {
			return dst, err
		}
		dst = append(dst, ':', ' ')
		if dst, err = w.item(dst); err != nil {
			return dst, err
		}
	}
	w.depth--
	return append(dst, '}'), nil
}

// key writes a map key as Python's json.dumps writes a dict key: strings
// as they are, integers and floats as their repr, booleans and None as
// "true", "false" and "null". Byte strings are taken as UTF-8 text, as
// elsewhere. Arrays and maps cannot be keys.
func (w *writer) key(dst []byte) ([]byte, error) {
	if w.pos >= len(w.src) {
		return dst, w.errorf("unexpected end of data")
	}
	ib := w.src[w.pos]
	switch ib & 0xe0 {
	case majorText, majorBytes:
		return w.item(dst)
	case majorArray, majorMap:
		return dst, w.errorf("a map key must not be an array or a map")
	case majorTag:
		_, _, tag, _, err := w.head()
		if err != nil {
			return dst, err
		}
		return w.tagged(dst, tag, true)
	}
	// Numbers and simple values: their JSON text, quoted.
	dst = append(dst, '"')
	dst, err := w.item(dst)
	if err != nil {
		return dst, err
	}
	return append(dst, '"'), nil
}

// tagged writes the content of a tag whose head was read: bignums as
// integers, tags 21, 22 and 23 on a byte string as base64url, base64 and
// hex text, any other tag as its content alone. asKey writes it as a map
// key.
func (w *writer) tagged(dst []byte, tag uint64, asKey bool) ([]byte, error) {
	w.tags++
	if w.tags > maxTags {
		return dst, w.errorf("more than %d nested tags", maxTags)
	}
	defer func() { w.tags-- }()
	if w.pos >= len(w.src) {
		return dst, w.errorf("tag %d without content", tag)
	}
	contentMajor := w.src[w.pos] & 0xe0
	if contentMajor == majorBytes {
		switch tag {
		case tagPosBignum, tagNegBignum:
			_, _, n, indef, err := w.head()
			if err != nil {
				return dst, err
			}
			mag, err := w.stringBody(majorBytes, n, indef)
			if err != nil {
				return dst, err
			}
			if len(mag) > maxBignumBytes {
				return dst, w.errorf("bignum of %d bytes exceeds %d", len(mag), maxBignumBytes)
			}
			var b big.Int
			b.SetBytes(mag)
			if tag == tagNegBignum {
				b.Add(&b, big.NewInt(1))
				b.Neg(&b)
			}
			if asKey {
				dst = append(dst, '"')
				dst = b.Append(dst, 10)
				return append(dst, '"'), nil
			}
			return b.Append(dst, 10), nil
		case tagBase64URL, tagBase64, tagBase16:
			_, _, n, indef, err := w.head()
			if err != nil {
				return dst, err
			}
			raw, err := w.stringBody(majorBytes, n, indef)
			if err != nil {
				return dst, err
			}
			dst = append(dst, '"')
			switch tag {
			case tagBase64URL:
				dst = base64.RawURLEncoding.AppendEncode(dst, raw)
			case tagBase64:
				dst = base64.StdEncoding.AppendEncode(dst, raw)
			default:
				dst = hex.AppendEncode(dst, raw)
			}
			return append(dst, '"'), nil
		}
	}
	if asKey {
		return w.key(dst)
	}
	return w.item(dst)
}

// maxBignumBytes bounds bignums to fewer than 4,300 decimal digits: Python
// 3.11 refuses to read or write longer integers from or to text
// (sys.int_info.default_max_str_digits), so no Python peer could use them.
const maxBignumBytes = 1785

// simple writes a major type 7 item: false, true, null, undefined (as
// null), floats, and other simple values (as null, RFC 8949 section 6.1).
func (w *writer) simple(dst []byte, start int, ai byte, arg uint64, indef bool) ([]byte, error) {
	if indef {
		w.pos = start
		return dst, w.errorf("unexpected break")
	}
	switch ai {
	case 20:
		return append(dst, "false"...), nil
	case 21:
		return append(dst, "true"...), nil
	case 22, 23:
		return append(dst, "null"...), nil
	case 24:
		if arg < 32 {
			w.pos = start
			return dst, w.errorf("simple value %d in two bytes", arg)
		}
		return append(dst, "null"...), nil
	case 25:
		return appendPyFloat(dst, float64(float16.Frombits(uint16(arg)).Float32())), nil
	case 26:
		return appendPyFloat(dst, float64(math.Float32frombits(uint32(arg)))), nil
	case 27:
		return appendPyFloat(dst, math.Float64frombits(arg)), nil
	default:
		return append(dst, "null"...), nil
	}
}
