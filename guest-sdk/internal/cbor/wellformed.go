package cbor

import (
	"encoding/binary"
	"io"
	"strconv"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// Major types, as the top three bits of an initial byte.
const (
	majorUint  = 0
	majorNint  = 1
	majorBytes = 2
	majorText  = 3
	majorArray = 4
	majorMap   = 5
	majorTag   = 6
	majorOther = 7 // floats and simple values
)

// Simple values and the break code.
const (
	False     = 0xf4
	True      = 0xf5
	Null      = 0xf6
	Undefined = 0xf7
	Break     = 0xff
)

// Limits of one data item, those of the host's codec.
const (
	// MaxNesting bounds the depth of arrays, maps and nested tags.
	MaxNesting = abi.MaxNesting
	// MaxElements bounds the elements of an array and the pairs of a map.
	MaxElements = 1 << 20
)

// Wellformed checks that data is exactly one well-formed CBOR data item
// within the ABI's limits: arrays, maps and chains of tags nested at most
// MaxNesting deep, at most MaxElements elements or pairs, indefinite
// lengths allowed. It does not look inside strings (UTF-8) or at map keys
// (types, duplicates): decoding does. It never allocates.
func Wellformed(data []byte) error {
	if len(data) == 0 {
		return io.EOF
	}
	end, err := wellformed(data, 0, 0)
	if err != nil {
		return err
	}
	if end != len(data) {
		return errExtraneous(len(data)-end, end)
	}
	return nil
}

// WellformedPrefix checks the first data item of data as [Wellformed]
// does and returns the offset after it.
func WellformedPrefix(data []byte) (int, error) {
	if len(data) == 0 {
		return 0, io.EOF
	}
	return wellformed(data, 0, 0)
}

// head reads the head of the item at data[off]: its major type, additional
// information and argument, and the offset after the head. It checks what
// the head alone can get wrong: truncation, reserved additional
// information (28 to 30), indefinite length where none may be, a two-byte
// simple value below 32, a break code.
func head(data []byte, off int) (major, ai byte, arg uint64, next int, err error) {
	if off >= len(data) {
		return 0, 0, 0, off, io.ErrUnexpectedEOF
	}
	b := data[off]
	major, ai = b>>5, b&0x1f
	off++
	switch {
	case ai < 24:
		return major, ai, uint64(ai), off, nil
	case ai == 24:
		if len(data)-off < 1 {
			return 0, 0, 0, off, io.ErrUnexpectedEOF
		}
		arg = uint64(data[off])
		if major == majorOther && arg < 32 {
			return 0, 0, 0, off, &SyntaxError{"invalid simple value " + strconv.Itoa(int(arg)) + " for type primitives"}
		}
		return major, ai, arg, off + 1, nil
	case ai == 25:
		if len(data)-off < 2 {
			return 0, 0, 0, off, io.ErrUnexpectedEOF
		}
		return major, ai, uint64(binary.BigEndian.Uint16(data[off:])), off + 2, nil
	case ai == 26:
		if len(data)-off < 4 {
			return 0, 0, 0, off, io.ErrUnexpectedEOF
		}
		return major, ai, uint64(binary.BigEndian.Uint32(data[off:])), off + 4, nil
	case ai == 27:
		if len(data)-off < 8 {
			return 0, 0, 0, off, io.ErrUnexpectedEOF
		}
		return major, ai, binary.BigEndian.Uint64(data[off:]), off + 8, nil
	case ai == 31:
		switch major {
		case majorUint, majorNint, majorTag:
			return 0, 0, 0, off, &SyntaxError{"invalid additional information 31 for type " + typeName(major)}
		case majorOther:
			return 0, 0, 0, off, &SyntaxError{`unexpected "break" code`}
		}
		return major, ai, 0, off, nil
	}
	return 0, 0, 0, off, &SyntaxError{"invalid additional information " + strconv.Itoa(int(ai)) + " for type " + typeName(major)}
}

// wellformed checks the item at data[off], whose containers (and tags
// beyond the first of a chain) sit depth levels deep, and returns the
// offset after it.
func wellformed(data []byte, off, depth int) (int, error) {
	major, ai, arg, off, err := head(data, off)
	if err != nil {
		return off, err
	}
	switch major {
	case majorBytes, majorText:
		if ai == 31 {
			return wellformedChunks(data, off, major)
		}
		if arg > uint64(len(data)-off) {
			return off, io.ErrUnexpectedEOF
		}
		return off + int(arg), nil
	case majorArray, majorMap:
		depth++
		if depth > MaxNesting {
			return off, &SyntaxError{"exceeded max nested level " + strconv.Itoa(MaxNesting)}
		}
		if ai == 31 {
			return wellformedIndefinite(data, off, depth, major)
		}
		if arg > MaxElements {
			return off, errTooMany(major)
		}
		n := int(arg)
		if major == majorMap {
			n *= 2
		}
		for range n {
			if off, err = wellformed(data, off, depth); err != nil {
				return off, err
			}
		}
		return off, nil
	case majorTag:
		// A chain of tags counts one level per tag after the first, as
		// in the host's codec.
		for {
			if off >= len(data) {
				return off, io.ErrUnexpectedEOF
			}
			if data[off]>>5 != majorTag {
				break
			}
			if _, _, _, off, err = head(data, off); err != nil {
				return off, err
			}
			depth++
			if depth > MaxNesting {
				return off, &SyntaxError{"exceeded max nested level " + strconv.Itoa(MaxNesting)}
			}
		}
		return wellformed(data, off, depth)
	}
	return off, nil
}

// wellformedChunks checks the chunks of an indefinite-length string up to
// its break code.
func wellformedChunks(data []byte, off int, major byte) (int, error) {
	for {
		if off >= len(data) {
			return off, io.ErrUnexpectedEOF
		}
		if data[off] == Break {
			return off + 1, nil
		}
		if m := data[off] >> 5; m != major {
			return off, &SyntaxError{"wrong element type " + typeName(m) + " for indefinite-length " + typeName(major)}
		}
		if data[off]&0x1f == 31 {
			return off, &SyntaxError{"indefinite-length " + typeName(major) + " chunk is not definite-length"}
		}
		_, _, arg, next, err := head(data, off)
		if err != nil {
			return next, err
		}
		if arg > uint64(len(data)-next) {
			return next, io.ErrUnexpectedEOF
		}
		off = next + int(arg)
	}
}

// wellformedIndefinite checks the items of an indefinite-length array or
// map up to its break code.
func wellformedIndefinite(data []byte, off, depth int, major byte) (int, error) {
	var err error
	for i := 0; ; i++ {
		if off >= len(data) {
			return off, io.ErrUnexpectedEOF
		}
		if data[off] == Break {
			if major == majorMap && i%2 == 1 {
				return off, &SyntaxError{`unexpected "break" code`}
			}
			return off + 1, nil
		}
		if off, err = wellformed(data, off, depth); err != nil {
			return off, err
		}
		if major == majorArray && i+1 > MaxElements || major == majorMap && (i+1)%2 == 0 && (i+1)/2 > MaxElements {
			return off, errTooMany(major)
		}
	}
}

func errTooMany(major byte) error {
	if major == majorArray {
		return &SyntaxError{"exceeded max number of elements " + strconv.Itoa(MaxElements) + " for CBOR array"}
	}
	return &SyntaxError{"exceeded max number of key-value pairs " + strconv.Itoa(MaxElements) + " for CBOR map"}
}

// Skip returns the offset after the item at data[off], which must be part
// of data that [Wellformed] accepted.
func Skip(data []byte, off int) int {
	b := data[off]
	major, ai := b>>5, b&0x1f
	arg, off := argument(data, off)
	switch major {
	case majorBytes, majorText:
		if ai == 31 {
			for data[off] != Break {
				off = Skip(data, off)
			}
			return off + 1
		}
		return off + int(arg)
	case majorArray, majorMap:
		if ai == 31 {
			for data[off] != Break {
				off = Skip(data, off)
			}
			return off + 1
		}
		n := int(arg)
		if major == majorMap {
			n *= 2
		}
		for range n {
			off = Skip(data, off)
		}
		return off
	case majorTag:
		return Skip(data, off)
	}
	return off
}

// argument reads the argument of the well-formed head at data[off] and
// returns it with the offset after the head. An indefinite length reads
// as 0.
func argument(data []byte, off int) (uint64, int) {
	ai := data[off] & 0x1f
	off++
	switch {
	case ai < 24:
		return uint64(ai), off
	case ai == 24:
		return uint64(data[off]), off + 1
	case ai == 25:
		return uint64(binary.BigEndian.Uint16(data[off:])), off + 2
	case ai == 26:
		return uint64(binary.BigEndian.Uint32(data[off:])), off + 4
	case ai == 27:
		return binary.BigEndian.Uint64(data[off:]), off + 8
	}
	return 0, off
}
