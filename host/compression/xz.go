package compression

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// xzMaxDict is the dictionary of xz's preset 6, the default of Python's
// lzma.compress, which kombu uses for application/x-lzma.
const xzMaxDict = 8 << 20

// xzEncode appends src compressed as Python's lzma.compress(src) does: an
// .xz container (CRC64 check) of one LZMA2 block with preset 6's literal
// and position settings (lc=3, lp=0, pb=2) and dictionary, cut down to
// the size of src: a bigger dictionary gains nothing and costs every
// decoder that allocates what the header declares (liblzma does) memory.
// The match finder is ulikunitz/xz's default hash chain, faster than the
// binary tree preset 6 uses, for an output a little bigger.
func xzEncode(dst, src []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	w, err := xz.WriterConfig{
		DictCap:  min(max(len(src), lzma.MinDictCap), xzMaxDict),
		CheckSum: xz.CRC64,
	}.NewWriter(buf)
	if err != nil {
		return dst, err
	}
	if _, err = w.Write(src); err == nil {
		err = w.Close()
	}
	return buf.Bytes(), err
}

// xzMagic opens every .xz stream.
var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

// lzmaDecode decompresses body as Python's lzma.decompress does
// (format FORMAT_AUTO): an .xz container, every stream of it with what
// follows the last valid one ignored, or else the legacy .lzma format
// ("LZMA alone").
//
// Both formats declare the decoder's dictionary size in their headers,
// up to 4 GiB, and ulikunitz/xz allocates what they declare: 8 MiB for
// every message of Python's lzma.compress, 4 GiB for a crafted body of a
// few dozen bytes. So lzmaDecode cuts the dictionary down first (see
// xzScan and lzmaAloneDecode), which decodes a valid body the same:
// a dictionary never needs to be bigger than what it decodes.
func lzmaDecode(body []byte, limit int) ([]byte, error) {
	if !bytes.HasPrefix(body, xzMagic) {
		return lzmaAloneDecode(body, limit)
	}
	s, err := xzScan(body)
	if err != nil {
		return nil, err
	}
	if s.size > uint64(limit) {
		return nil, errTooLarge
	}
	r, err := xz.ReaderConfig{DictCap: lzma.MinDictCap}.NewReader(bytes.NewReader(s.patched()))
	if err != nil {
		return nil, err
	}
	return readLimited(r, limit)
}

// lzmaAloneHeader is the size of a .lzma header: properties (1 byte),
// dictionary size (4, little endian), uncompressed size (8, little
// endian, all ones when unknown).
const lzmaAloneHeader = 13

// lzmaAloneDecode decompresses the legacy .lzma format. When the header
// gives the uncompressed size, ulikunitz/xz cuts the dictionary to it
// and a size over the limit is refused at once; when it does not, the
// dictionary is cut to the limit (at least lzma.MinDictCap) in a copy of
// the header.
//
// # Notes
//
// With the dictionary cut to the limit, a valid body of unknown size
// that decompresses to more than the limit may fail as corrupt rather
// than too large, if it refers further back than the limit before
// reaching it. Either way it is refused; kombu never sends this format.
func lzmaAloneDecode(body []byte, limit int) ([]byte, error) {
	if len(body) < lzmaAloneHeader {
		return nil, errLZMAShort
	}
	header := [lzmaAloneHeader]byte(body)
	dict := int64(binary.LittleEndian.Uint32(header[1:5]))
	size := binary.LittleEndian.Uint64(header[5:13])
	if !lzmaAlonePlausible(header) {
		return nil, errLZMAHeader
	}
	if size != math.MaxUint64 && size > uint64(limit) {
		return nil, errTooLarge
	}
	if cut := max(pastLimit(limit), lzma.MinDictCap); size == math.MaxUint64 && dict > cut {
		dict = cut
		binary.LittleEndian.PutUint32(header[1:5], uint32(dict))
		body = append(header[:], body[lzmaAloneHeader:]...)
	}
	r, err := lzma.ReaderConfig{DictCap: int(max(dict, lzma.MinDictCap))}.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return readLimited(r, limit)
}

// lzmaAlonePlausible reports whether h passes liblzma's checks of a .lzma
// header in the "picky" mode Python's lzma.decompress (FORMAT_AUTO) uses,
// there to tell .lzma data from anything else: valid properties, a
// dictionary of 2^n or 2^n + 2^(n-1) bytes (or all ones), and a size
// unknown or under 256 GiB.
func lzmaAlonePlausible(h [lzmaAloneHeader]byte) bool {
	if h[0] >= 9*5*5 {
		return false
	}
	dict := binary.LittleEndian.Uint32(h[1:5])
	if dict != math.MaxUint32 {
		d := dict - 1
		d |= d >> 2
		d |= d >> 3
		d |= d >> 4
		d |= d >> 8
		d |= d >> 16
		if d+1 != dict {
			return false
		}
	}
	size := binary.LittleEndian.Uint64(h[5:13])
	return size == math.MaxUint64 || size < 1<<38
}
