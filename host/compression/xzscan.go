package compression

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"

	"github.com/ulikunitz/xz/lzma"
)

// The .xz container (tukaani.org/xz/xz-file-format.txt) is a sequence of
// streams: a 12-byte header, blocks, an index and a 12-byte footer. Each
// block has a header, which holds the LZMA2 dictionary size and a CRC32,
// then LZMA2 chunks, each of which states its uncompressed size, padding
// and a check. So the uncompressed size of each block, and of the whole,
// is known by reading chunk headers only, and a block never needs a
// dictionary bigger than the block: xzScan finds both, so that
// lzmaDecode refuses an oversized body before decoding it and hands
// ulikunitz/xz headers whose dictionary fits the block. ulikunitz/xz
// still checks everything else (CRCs of the data, index, footer).

// Errors of the structure of .xz data; Decompress wraps them in
// ErrCorrupt.
var (
	errXZTruncated = errors.New("xz: truncated data")
	errXZHeader    = errors.New("xz: invalid stream header")
	errXZBlock     = errors.New("xz: invalid block header")
	errXZFilter    = errors.New("xz: unsupported filter chain (wasmrpcd decodes a single LZMA2 filter)")
	errXZChunk     = errors.New("xz: invalid LZMA2 chunk")
	errXZVarint    = errors.New("xz: invalid variable-length integer")
	errLZMAShort   = errors.New("lzma: truncated header")
	errLZMAHeader  = errors.New("lzma: neither .xz nor .lzma data")
)

// xzLayout is what xzScan learned of .xz data.
type xzLayout struct {
	body  []byte
	end   int     // body[:end] holds the complete streams and their padding
	size  uint64  // the uncompressed size of those streams
	fixes []xzFix // block headers whose dictionary to cut down
}

// xzFix is a block header and the dictionary code to write in it.
type xzFix struct {
	header int  // offset of the block header
	length int  // its length, CRC32 included
	props  int  // offset of the LZMA2 dictionary code
	code   byte // the code to write there
}

// patched returns the streams of the data with every dictionary cut
// down and the CRC32 of every block header changed recomputed: a copy
// of the data when there is a header to change.
func (l *xzLayout) patched() []byte {
	if len(l.fixes) == 0 {
		return l.body[:l.end]
	}
	b := bytes.Clone(l.body[:l.end])
	for _, f := range l.fixes {
		b[f.props] = f.code
		crc := f.header + f.length - 4
		binary.LittleEndian.PutUint32(b[crc:], crc32.ChecksumIEEE(b[f.header:crc]))
	}
	return b
}

// xzScan reads the structure of the .xz data b. As Python's
// lzma.decompress, it ignores what follows the last valid stream (but a
// first stream must be valid); unlike it, it takes zero padding between
// and after streams as the format defines it.
func xzScan(b []byte) (*xzLayout, error) {
	l := &xzLayout{body: b}
	for p := 0; ; {
		if p > 0 {
			for p+4 <= len(b) && binary.LittleEndian.Uint32(b[p:]) == 0 {
				p += 4
			}
			l.end = p
			if p == len(b) {
				return l, nil
			}
		}
		end, err := l.scanStream(b, p)
		if err != nil {
			if p == 0 {
				return nil, err
			}
			return l, nil // trailing data, ignored
		}
		p = end
	}
}

// xzCheckLen is the length of a block's check for each check type.
var xzCheckLen = [16]int{0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64}

// scanStream reads the stream at b[p:], adds its blocks to l when it is
// complete and returns its end.
func (l *xzLayout) scanStream(b []byte, p int) (int, error) {
	c := xzCursor{b: b, p: p}
	h, err := c.take(12)
	if err != nil {
		return 0, err
	}
	if !bytes.Equal(h[:6], xzMagic) || h[6] != 0 || h[7]&0xf0 != 0 ||
		crc32.ChecksumIEEE(h[6:8]) != binary.LittleEndian.Uint32(h[8:]) {
		return 0, errXZHeader
	}
	checkLen := xzCheckLen[h[7]]
	var size uint64
	var fixes []xzFix
	for {
		start := c.p
		n, err := c.byte()
		if err != nil {
			return 0, err
		}
		if n == 0 {
			break // the index
		}
		blockSize, fix, err := c.block(start, (int(n)+1)*4, checkLen)
		if err != nil {
			return 0, err
		}
		size += blockSize
		if fix != nil {
			fixes = append(fixes, *fix)
		}
	}
	if err := c.index(c.p - 1); err != nil {
		return 0, err
	}
	if _, err := c.take(12); err != nil { // the footer, which ulikunitz/xz checks
		return 0, err
	}
	l.size += size
	l.fixes = append(l.fixes, fixes...)
	l.end = c.p
	return c.p, nil
}

// xzCursor reads .xz data from b[p:].
type xzCursor struct {
	b []byte
	p int
}

// take returns the next n bytes.
func (c *xzCursor) take(n int) ([]byte, error) {
	if n < 0 || n > len(c.b)-c.p {
		return nil, errXZTruncated
	}
	c.p += n
	return c.b[c.p-n : c.p], nil
}

// byte returns the next byte.
func (c *xzCursor) byte() (byte, error) {
	s, err := c.take(1)
	if err != nil {
		return 0, err
	}
	return s[0], nil
}

// uint16 returns the next two bytes, big endian.
func (c *xzCursor) uint16() (int, error) {
	s, err := c.take(2)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(s)), nil
}

// varint returns the next variable-length integer: 7 bits a byte, least
// significant first, at most 9 bytes.
func (c *xzCursor) varint() (uint64, error) {
	var x uint64
	for i := 0; i < 9; i++ {
		b, err := c.byte()
		if err != nil {
			return 0, err
		}
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if b == 0 && i > 0 {
				return 0, errXZVarint // not the shortest encoding
			}
			return x, nil
		}
	}
	return 0, errXZVarint
}

// block reads the block whose header, of length n, starts at start (its
// first byte read already), and returns its uncompressed size and the
// fix of its header, if its dictionary is bigger than the block.
func (c *xzCursor) block(start, n, checkLen int) (uint64, *xzFix, error) {
	if _, err := c.take(n - 1); err != nil {
		return 0, nil, err
	}
	h := c.b[start : start+n]
	if crc32.ChecksumIEEE(h[:n-4]) != binary.LittleEndian.Uint32(h[n-4:]) {
		return 0, nil, errXZBlock
	}
	flags := h[1]
	if flags&0x3c != 0 {
		return 0, nil, errXZBlock
	}
	if flags&0x03 != 0 {
		return 0, nil, errXZFilter
	}
	hc := xzCursor{b: h[:n-4], p: 2}
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} {
		if present { // compressed, uncompressed size: ulikunitz/xz checks them
			if _, err := hc.varint(); err != nil {
				return 0, nil, errXZBlock
			}
		}
	}
	id, err := hc.varint()
	if err != nil {
		return 0, nil, errXZBlock
	}
	propsLen, err := hc.varint()
	if err != nil {
		return 0, nil, errXZBlock
	}
	if id != 0x21 || propsLen != 1 {
		return 0, nil, errXZFilter
	}
	props := hc.p
	code, err := hc.byte()
	if err != nil {
		return 0, nil, errXZBlock
	}
	if _, err := lzma.DecodeDictCap(code); err != nil {
		return 0, nil, errXZBlock
	}

	data := c.p
	size, err := c.lzma2()
	if err != nil {
		return 0, nil, err
	}
	pad := (4 - (n+c.p-data)%4) % 4
	if _, err := c.take(pad + checkLen); err != nil {
		return 0, nil, err
	}

	var fix *xzFix
	if small := lzma.EncodeDictCap(int64(min(max(size, lzma.MinDictCap), lzma.MaxDictCap))); small < code {
		fix = &xzFix{header: start, length: n, props: start + props, code: small}
	}
	return size, fix, nil
}

// lzma2 skips LZMA2 chunks up to the end marker and returns their
// uncompressed size.
func (c *xzCursor) lzma2() (uint64, error) {
	var size uint64
	for {
		ctl, err := c.byte()
		if err != nil {
			return 0, err
		}
		switch {
		case ctl == 0x00: // end of data
			return size, nil
		case ctl == 0x01 || ctl == 0x02: // uncompressed chunk
			n, err := c.uint16()
			if err != nil {
				return 0, err
			}
			if _, err := c.take(n + 1); err != nil {
				return 0, err
			}
			size += uint64(n) + 1
		case ctl >= 0x80: // LZMA chunk
			u, err := c.uint16()
			if err != nil {
				return 0, err
			}
			packed, err := c.uint16()
			if err != nil {
				return 0, err
			}
			if ctl >= 0xc0 { // new properties
				packed++
			}
			if _, err := c.take(packed + 1); err != nil {
				return 0, err
			}
			size += uint64(ctl&0x1f)<<16 + uint64(u) + 1
		default:
			return 0, errXZChunk
		}
	}
}

// index skips the index that starts at start (its indicator read).
func (c *xzCursor) index(start int) error {
	records, err := c.varint()
	if err != nil {
		return err
	}
	for range records { // each takes two bytes or more: this ends
		for range 2 { // unpadded size, uncompressed size
			if _, err := c.varint(); err != nil {
				return err
			}
		}
	}
	_, err = c.take((4-(c.p-start)%4)%4 + 4) // padding, CRC32
	return err
}
