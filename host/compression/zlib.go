package compression

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"sync"
)

// zlibLevel is the level of kombu's encoder for application/x-gzip,
// Python's zlib.compress: zlib's default, 6.
const zlibLevel = zlib.DefaultCompression

// zlibWriters holds idle *zlib.Writer, which are big enough (about
// 1 MiB of flate state) to be worth reusing.
var zlibWriters sync.Pool

// zlibEncode appends src compressed as Python's zlib.compress(src) does:
// a zlib stream (RFC 1950, 78 9c...), not the gzip container that the
// MIME type application/x-gzip suggests.
func zlibEncode(dst, src []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	w, _ := zlibWriters.Get().(*zlib.Writer)
	if w == nil {
		var err error
		if w, err = zlib.NewWriterLevel(buf, zlibLevel); err != nil {
			return dst, err
		}
	} else {
		w.Reset(buf)
	}
	_, err := w.Write(src)
	if err == nil {
		err = w.Close()
	}
	w.Reset(io.Discard) // drop the reference to dst
	zlibWriters.Put(w)
	return buf.Bytes(), err
}

// zlibReader is a reusable zlib decoder and the reader it reads from.
type zlibReader struct {
	src bytes.Reader
	zr  io.ReadCloser // also a zlib.Resetter
}

// gzipReader is a reusable gzip decoder and the reader it reads from.
type gzipReader struct {
	src bytes.Reader
	zr  gzip.Reader
}

var zlibReaders, gzipReaders sync.Pool

// zlibDecode decompresses body as Python's zlib.decompress does: one
// zlib stream, whatever follows it ignored. A gzip container (1f 8b),
// which Python's zlib.decompress refuses, is read too, in case a
// publisher other than kombu took the MIME type at its word.
func zlibDecode(body []byte, limit int) ([]byte, error) {
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		return gzipDecode(body, limit)
	}
	r, _ := zlibReaders.Get().(*zlibReader)
	if r == nil {
		r = new(zlibReader)
	}
	defer func() {
		r.src.Reset(nil)
		zlibReaders.Put(r)
	}()
	r.src.Reset(body)
	var err error
	if r.zr == nil {
		r.zr, err = zlib.NewReader(&r.src)
	} else {
		err = r.zr.(zlib.Resetter).Reset(&r.src, nil)
	}
	if err != nil {
		r.zr = nil // its state after a failed header is not worth trusting
		return nil, err
	}
	return readLimited(r.zr, limit)
}

// gzipDecode decompresses a gzip container (RFC 1952), every member of
// it.
func gzipDecode(body []byte, limit int) ([]byte, error) {
	r, _ := gzipReaders.Get().(*gzipReader)
	if r == nil {
		r = new(gzipReader)
	}
	defer func() {
		r.src.Reset(nil)
		gzipReaders.Put(r)
	}()
	r.src.Reset(body)
	if err := r.zr.Reset(&r.src); err != nil {
		return nil, err
	}
	return readLimited(&r.zr, limit)
}
