package cbor

import (
	"io"
)

// MapReader reads the entries of a map one by one without decoding their
// values, checking as it goes that each is well formed: the keyword
// arguments of a call, bound to parameters by name in one pass.
type MapReader struct {
	d          decoder
	off        int
	left       int // entries left in a definite-length map
	indefinite bool
	index      int
}

// NewMapReader starts reading data, which must start with a map head (the
// caller checks the major type).
func NewMapReader(data []byte) (MapReader, error) {
	major, ai, n, off, err := head(data, 0)
	if err != nil {
		return MapReader{}, err
	}
	if major != majorMap {
		return MapReader{}, &UnmarshalTypeError{CBORType: typeName(major), GoType: "map"}
	}
	if ai != 31 && n > MaxElements {
		return MapReader{}, errTooMany(majorMap)
	}
	return MapReader{d: decoder{data: data}, off: off, left: int(n), indefinite: ai == 31}, nil
}

// SmallMapReader starts reading data, whose first byte must be 0xa0 to
// 0xb7: a map of up to 23 entries, the head the binder meets most. Unlike
// NewMapReader, it is inlined.
func SmallMapReader(data []byte) MapReader {
	return MapReader{d: decoder{data}, off: 1, left: int(data[0] - 0xa0)}
}

// More reports whether the map has another entry for Next to read. It is
// true at the end of data that lacks the break code of an indefinite
// map, where Next reports the error.
func (r *MapReader) More() bool {
	if r.indefinite {
		return r.off >= len(r.d.data) || r.d.data[r.off] != Break
	}
	return r.left > 0
}

// Rest returns the number of bytes after the map, once More is false.
func (r *MapReader) Rest() int {
	n := len(r.d.data) - r.off
	if r.indefinite {
		n-- // the break code
	}
	return n
}

// End returns the offset just after the map, once More is false.
func (r *MapReader) End() int { return len(r.d.data) - r.Rest() }

// Next returns the next entry: its index, its key and its value's encoded
// bytes (a slice of the map's bytes), or ok false after the last entry.
//
// A key that is a definite-length text string is returned as a slice of
// the map's bytes, unchecked: compare it with known names, and check any
// other with utf8.Valid. Any other key is decoded as decoding into a
// map[string]T would (an indefinite-length string joined, a tag's content
// read; anything else is an *[UnmarshalTypeError]) and returned as a new
// slice; keyErr reports such a key's error, after which reading may go on.
// err reports data that is not well formed, after which it may not.
func (r *MapReader) Next() (index int, key, value []byte, ok bool, keyErr, err error) {
	data := r.d.data
	if r.indefinite {
		if r.off >= len(data) {
			return 0, nil, nil, false, nil, io.ErrUnexpectedEOF
		}
		if data[r.off] == Break {
			return 0, nil, nil, false, nil, nil
		}
		if r.index >= MaxElements {
			return 0, nil, nil, false, nil, errTooMany(majorMap)
		}
	} else if r.left == 0 {
		return 0, nil, nil, false, nil, nil
	}
	r.left--
	index = r.index
	r.index++
	off := r.off
	if off < len(data) && data[off] >= 0x60 && data[off] <= 0x77 { // short text
		end := off + 1 + int(data[off]-0x60)
		if end > len(data) {
			return index, nil, nil, false, nil, io.ErrUnexpectedEOF
		}
		key = data[off+1 : end]
		off = end
	} else {
		end, err := wellformed(data, off, 1)
		if err != nil {
			return index, nil, nil, false, nil, err
		}
		var s string
		s, _, keyErr = r.d.key(off)
		key, off = []byte(s), end
	}
	// The end of the value: from the table for items whose head tells
	// their size, without a function call (each costs in wasm).
	end := -1
	if off < len(data) {
		b := data[off]
		if n := itemSize[b]; n != 0 {
			end = off + int(n)
		} else if b == 0x58 || b == 0x78 { // a string of up to 255 bytes
			if off+1 < len(data) {
				end = off + 2 + int(data[off+1])
			}
		}
	}
	if end < 0 || end > len(data) {
		if end, err = wellformed(data, off, 1); err != nil {
			return index, nil, nil, false, nil, err
		}
	}
	r.off = end
	return index, key, data[off:end], true, keyErr, nil
}

// itemSize is the whole size of the items whose initial byte tells it:
// integers, strings of up to 23 bytes, false, true, null, undefined and
// floats; 0 for the others.
var itemSize = func() (t [256]uint8) {
	for b := range 256 {
		major, ai := b>>5, b&0x1f
		switch {
		case major <= majorNint && ai < 24:
			t[b] = 1
		case major <= majorNint && ai < 28:
			t[b] = 1 + 1<<(ai-24)
		case (major == majorBytes || major == majorText) && ai < 24:
			t[b] = uint8(1 + ai)
		case b >= False && b <= Undefined:
			t[b] = 1
		case b == 0xf9:
			t[b] = 3
		case b == 0xfa:
			t[b] = 5
		case b == 0xfb:
			t[b] = 9
		}
	}
	return t
}()
