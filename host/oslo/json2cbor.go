package oslo

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// ErrSyntax is wrapped by every error about JSON that Python's json module
// would not read either.
var ErrSyntax = errors.New("invalid JSON")

// ErrTooDeep is wrapped when a value nests arrays and maps deeper than
// [abi.MaxNesting], the limit guests decode.
var ErrTooDeep = fmt.Errorf("value nests deeper than %d levels", abi.MaxNesting)

// JSONToCBOR appends the CBOR encoding of the JSON text src to dst. It
// reads what Python's json.loads reads (NaN, Infinity and -Infinity
// included) and keeps what Python keeps: integers exactly, whatever their
// size, floats as IEEE doubles, objects with the last value of a repeated
// key at the key's first position. See docs/VALUES.md for every type.
func JSONToCBOR(dst, src []byte) ([]byte, error) {
	p := getParser()
	defer putParser(p)
	p.reset(src)
	p.ws()
	dst, err := p.value(dst)
	if err != nil {
		return dst, err
	}
	p.ws()
	if p.pos != len(p.src) {
		return dst, p.errorf("extra data")
	}
	return dst, nil
}

// parser reads JSON from src and writes CBOR. It keeps its buffers between
// uses through parserPool.
type parser struct {
	src   []byte
	pos   int
	depth int
	// str holds the unescaped text of a string with escapes.
	str []byte
	// msg holds the message unescaped from an envelope.
	msg []byte
	// discard receives values read only to be checked.
	discard []byte
	// aux holds a string member kept while others are read.
	aux []byte
	// args, ctx and num receive the parts of a message being decoded;
	// ctxPairs are the entries of ctx.
	args, ctx, num []byte
	ctxPairs       []pair
	// pairs records the key and value spans of the maps being written, for
	// finding repeated keys; each open map owns the tail from its base.
	pairs []pair
	// merge, spans, winner and order are mergeRepeats' scratch.
	merge         []byte
	spans         []pair
	winner, order []int
}

// pair is the span of one map entry in the output: key at [key, val),
// value at [val, end).
type pair struct{ key, val, end int }

func (p *parser) reset(src []byte) {
	p.src, p.pos, p.depth = src, 0, 0
	p.pairs = p.pairs[:0]
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrSyntax, fmt.Sprintf(format, args...), p.pos)
}

// ws skips the whitespace Python's json accepts.
func (p *parser) ws() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value transcodes one JSON value at p.pos.
func (p *parser) value(dst []byte) ([]byte, error) {
	if p.pos >= len(p.src) {
		return dst, p.errorf("unexpected end of input")
	}
	switch c := p.src[p.pos]; c {
	case '{':
		return p.object(dst)
	case '[':
		return p.array(dst)
	case '"':
		return p.text(dst)
	case 't':
		return append(dst, cborTrue), p.literal("true")
	case 'f':
		return append(dst, cborFalse), p.literal("false")
	case 'n':
		return append(dst, cborNull), p.literal("null")
	case 'N':
		return appendFloat(dst, math.NaN()), p.literal("NaN")
	case 'I':
		return appendFloat(dst, math.Inf(1)), p.literal("Infinity")
	case '-':
		if p.pos+1 < len(p.src) && p.src[p.pos+1] == 'I' {
			p.pos++
			return appendFloat(dst, math.Inf(-1)), p.literal("Infinity")
		}
		return p.number(dst)
	default:
		if c >= '0' && c <= '9' {
			return p.number(dst)
		}
		return dst, p.errorf("unexpected character %q", c)
	}
}

func (p *parser) literal(word string) error {
	if !bytes.HasPrefix(p.src[p.pos:], []byte(word)) {
		return p.errorf("invalid literal")
	}
	p.pos += len(word)
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > abi.MaxNesting {
		return fmt.Errorf("%w (offset %d)", ErrTooDeep, p.pos)
	}
	return nil
}

func (p *parser) array(dst []byte) ([]byte, error) {
	if err := p.enter(); err != nil {
		return dst, err
	}
	p.pos++ // [
	head := len(dst)
	dst = append(dst, 0)
	var n uint64
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		p.depth--
		dst[head] = majorArray
		return dst, nil
	}
	for {
		var err error
		p.ws()
		if dst, err = p.value(dst); err != nil {
			return dst, err
		}
		n++
		p.ws()
		if p.pos >= len(p.src) {
			return dst, p.errorf("unterminated array")
		}
		c := p.src[p.pos]
		p.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			p.pos--
			return dst, p.errorf("expected ',' or ']'")
		}
	}
	p.depth--
	return patchHead(dst, head, majorArray, n), nil
}

func (p *parser) object(dst []byte) ([]byte, error) {
	if err := p.enter(); err != nil {
		return dst, err
	}
	p.pos++ // {
	head := len(dst)
	dst = append(dst, 0)
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		p.depth--
		dst[head] = majorMap
		return dst, nil
	}
	base := len(p.pairs)
	for {
		var err error
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return dst, p.errorf("expected a string key")
		}
		key := len(dst)
		if dst, err = p.text(dst); err != nil {
			return dst, err
		}
		val := len(dst)
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return dst, p.errorf("expected ':'")
		}
		p.pos++
		p.ws()
		if dst, err = p.value(dst); err != nil {
			return dst, err
		}
		p.pairs = append(p.pairs, pair{key, val, len(dst)})
		p.ws()
		if p.pos >= len(p.src) {
			return dst, p.errorf("unterminated object")
		}
		c := p.src[p.pos]
		p.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			p.pos--
			return dst, p.errorf("expected ',' or '}'")
		}
	}
	n := len(p.pairs) - base
	if repeats(dst, p.pairs[base:]) {
		var merged []pair
		dst, merged = p.mergeRepeats(dst, head+1, p.pairs[base:])
		n = len(merged)
	}
	p.pairs = p.pairs[:base]
	p.depth--
	return patchHead(dst, head, majorMap, uint64(n)), nil
}

// repeats reports whether two of the pairs have the same key.
func repeats(dst []byte, pairs []pair) bool {
	switch n := len(pairs); {
	case n < 2:
		return false
	case n <= 8:
		for i := 1; i < n; i++ {
			k := dst[pairs[i].key:pairs[i].val]
			for _, q := range pairs[:i] {
				if bytes.Equal(dst[q.key:q.val], k) {
					return true
				}
			}
		}
		return false
	case n <= hashedPairs:
		// Open addressing over the key hashes, in a table on the stack.
		var table [2 * hashedPairs]int16 // pair index + 1; 0 is empty
		mask := uint64(len(table) - 1)
		for i, q := range pairs {
			k := dst[q.key:q.val]
			for h := fnv(k) & mask; ; h = (h + 1) & mask {
				j := table[h]
				if j == 0 {
					table[h] = int16(i + 1)
					break
				}
				o := pairs[j-1]
				if bytes.Equal(dst[o.key:o.val], k) {
					return true
				}
			}
		}
		return false
	default:
		keys := make([][]byte, len(pairs))
		for i, q := range pairs {
			keys[i] = dst[q.key:q.val]
		}
		slices.SortFunc(keys, bytes.Compare)
		for i := 1; i < len(keys); i++ {
			if bytes.Equal(keys[i-1], keys[i]) {
				return true
			}
		}
		return false
	}
}

// hashedPairs is the largest map repeats checks with a hash table on the
// stack (a power of two).
const hashedPairs = 256

// fnv is the 64-bit FNV-1a hash of b.
func fnv(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// mergeRepeats rewrites the entries of a map that start at dst[start:] so
// that each key appears once, at its first position, with its last value,
// as a Python dict built from the same pairs. It returns the new entries'
// spans in pairs' storage.
//
// It costs the size of the map and its number of entries, never more:
// the entries move within dst, through p.merge only when a value has to
// move ahead of an entry that comes before it in the input. Nothing is
// allocated per level of nesting that would hold the nested levels' bytes
// again (a map with repeats at each of 62 levels once cost 62 copies of
// the whole message).
func (p *parser) mergeRepeats(dst []byte, start int, pairs []pair) ([]byte, []pair) {
	// first maps each distinct key to its entry; the keys are views of
	// dst, which does not change until the entries move below.
	first := make(map[string]int, len(pairs))
	winner := p.winner[:0] // per distinct key: the pair whose value wins
	order := p.order[:0]   // per distinct key: its first pair
	for i, q := range pairs {
		k := dst[q.key:q.val]
		ks := unsafe.String(unsafe.SliceData(k), len(k))
		if j, ok := first[ks]; ok {
			winner[j] = i
			continue
		}
		first[ks] = len(order)
		order = append(order, i)
		winner = append(winner, i)
	}
	p.winner, p.order = winner, order
	// In place when the spans kept are in input order: each moves back
	// over bytes already read (copy is a memmove).
	inOrder := true
	last := start
	for j, i := range order {
		q, w := pairs[i], pairs[winner[j]]
		if q.key < last {
			inOrder = false
			break
		}
		last = w.end
	}
	merged := pairs[:0] // merged[j] is written after pairs[order[j]] is read: order[j] >= j
	if inOrder {
		pos := start
		for j, i := range order {
			q, w := pairs[i], pairs[winner[j]]
			key := pos
			pos += copy(dst[pos:], dst[q.key:q.val])
			val := pos
			pos += copy(dst[pos:], dst[w.val:w.end])
			merged = append(merged, pair{key, val, pos})
		}
		return dst[:pos], merged
	}
	out := p.merge[:0]
	spans := p.spans[:0]
	for j, i := range order {
		q, w := pairs[i], pairs[winner[j]]
		key := start + len(out)
		out = append(out, dst[q.key:q.val]...)
		val := start + len(out)
		out = append(out, dst[w.val:w.end]...)
		spans = append(spans, pair{key, val, start + len(out)})
	}
	dst = append(dst[:start], out...)
	merged = append(merged, spans...)
	p.merge, p.spans = out, spans
	return dst, merged
}

// text transcodes the JSON string at p.pos into a CBOR text string.
func (p *parser) text(dst []byte) ([]byte, error) {
	s, err := p.stringBytes()
	if err != nil {
		return dst, err
	}
	dst = appendHead(dst, majorText, uint64(len(s)))
	return append(dst, s...), nil
}

// stringBytes reads the JSON string at p.pos and returns its UTF-8 text:
// a slice of src when it has no escapes, of p.str otherwise (valid until
// the next call). A lone UTF-16 surrogate escape becomes U+FFFD, as UTF-8
// cannot carry it.
func (p *parser) stringBytes() ([]byte, error) {
	start := p.pos + 1
	ascii := true
	i := start
	for ; i < len(p.src); i++ {
		c := p.src[i]
		if c == '"' {
			s := p.src[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, p.errorf("string is not valid UTF-8")
			}
			p.pos = i + 1
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			p.pos = i
			return nil, p.errorf("control character in string")
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if i >= len(p.src) {
		return nil, p.errorf("unterminated string")
	}
	// Slow path: escapes.
	if !ascii && !utf8.Valid(p.src[start:i]) {
		return nil, p.errorf("string is not valid UTF-8")
	}
	buf := append(p.str[:0], p.src[start:i]...)
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case c == '"':
			p.pos = i + 1
			p.str = buf
			return buf, nil
		case c == '\\':
			if i+1 >= len(p.src) {
				p.pos = i
				return nil, p.errorf("unterminated string")
			}
			e := p.src[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(p.src, i)
				if !ok {
					p.pos = i - 2
					return nil, p.errorf("invalid \\u escape")
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok := rune(0), false
					if r < 0xdc00 && i+6 <= len(p.src) && p.src[i] == '\\' && p.src[i+1] == 'u' {
						r2, ok = hex4(p.src, i+2)
					}
					if ok && r2 >= 0xdc00 && r2 <= 0xdfff {
						r = utf16.DecodeRune(r, r2)
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				p.pos = i - 2
				return nil, p.errorf("invalid escape %q", e)
			}
		case c < 0x20:
			p.pos = i
			return nil, p.errorf("control character in string")
		default:
			// Copy the run up to the next quote or backslash.
			j := i
			high := false
			for ; j < len(p.src); j++ {
				d := p.src[j]
				if d == '"' || d == '\\' || d < 0x20 {
					break
				}
				if d >= 0x80 {
					high = true
				}
			}
			run := p.src[i:j]
			if high && !utf8.Valid(run) {
				p.pos = i
				return nil, p.errorf("string is not valid UTF-8")
			}
			buf = append(buf, run...)
			i = j
		}
	}
	p.str = buf
	p.pos = i
	return nil, p.errorf("unterminated string")
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number transcodes a JSON number: an integer (no fraction, no exponent)
// to a CBOR integer, a bignum beyond 64 bits; anything else to a float.
func (p *parser) number(dst []byte) ([]byte, error) {
	start := p.pos
	i := p.pos
	neg := false
	if p.src[i] == '-' {
		neg = true
		i++
	}
	digits := i
	if i >= len(p.src) || p.src[i] < '0' || p.src[i] > '9' {
		p.pos = i
		return dst, p.errorf("invalid number")
	}
	if p.src[i] == '0' {
		i++
	} else {
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
		}
	}
	intEnd := i
	isFloat := false
	if i < len(p.src) && p.src[i] == '.' {
		i++
		if i >= len(p.src) || p.src[i] < '0' || p.src[i] > '9' {
			p.pos = i
			return dst, p.errorf("invalid number")
		}
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
		}
		isFloat = true
	}
	if i < len(p.src) && (p.src[i] == 'e' || p.src[i] == 'E') {
		i++
		if i < len(p.src) && (p.src[i] == '+' || p.src[i] == '-') {
			i++
		}
		if i >= len(p.src) || p.src[i] < '0' || p.src[i] > '9' {
			p.pos = i
			return dst, p.errorf("invalid number")
		}
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
		}
		isFloat = true
	}
	p.pos = i
	if !isFloat && intEnd-digits > maxIntDigits {
		return dst, p.errorf("integer of %d digits exceeds Python's limit of %d", intEnd-digits, maxIntDigits)
	}
	if isFloat {
		// The string does not outlive ParseFloat's result: no copy needed.
		s := p.src[start:i]
		f, err := strconv.ParseFloat(unsafe.String(&s[0], len(s)), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return dst, p.errorf("invalid number")
		}
		// Out of range: ±Inf or 0, as Python's float() gives.
		return appendFloat(dst, f), nil
	}
	return appendInteger(dst, neg, p.src[digits:intEnd]), nil
}

// maxIntDigits is the longest integer Python 3.11's json.loads reads
// (sys.int_info.default_max_str_digits).
const maxIntDigits = 4300

// appendInteger appends the integer with the given sign and decimal
// digits: a CBOR integer when it fits 64 bits (-2^64 to 2^64-1), a bignum
// (tag 2 or 3) otherwise.
func appendInteger(dst []byte, neg bool, digits []byte) []byte {
	if len(digits) <= 19 {
		var m uint64
		for _, c := range digits {
			m = m*10 + uint64(c-'0')
		}
		return appendSigned(dst, neg, m)
	}
	if m, err := strconv.ParseUint(unsafe.String(&digits[0], len(digits)), 10, 64); err == nil {
		return appendSigned(dst, neg, m)
	}
	var b big.Int
	b.SetString(string(digits), 10)
	if neg {
		b.Sub(&b, big.NewInt(1))
		if b.IsUint64() { // exactly -2^64
			return appendHead(dst, majorNegInt, b.Uint64())
		}
		dst = appendHead(dst, majorTag, tagNegBignum)
	} else {
		dst = appendHead(dst, majorTag, tagPosBignum)
	}
	mag := b.Bytes()
	dst = appendHead(dst, majorBytes, uint64(len(mag)))
	return append(dst, mag...)
}

// appendSigned appends m, or -m when neg, as a CBOR integer.
func appendSigned(dst []byte, neg bool, m uint64) []byte {
	if !neg || m == 0 {
		return appendHead(dst, majorUint, m)
	}
	return appendHead(dst, majorNegInt, m-1)
}
