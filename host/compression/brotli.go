package compression

import (
	"bytes"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
)

// brotliQuality is the quality wasmrpcd compresses brotli with. Python's
// brotli.compress defaults to 11, the densest and slowest: on oslo
// messages of 1 kB to 64 kB it takes 30 to 70 times as long as quality 6
// (milliseconds for a 1 kB message, over 100 ms for 64 kB) for an output
// 10 to 20% smaller. RPC calls wait on every message, so wasmrpcd uses
// andybalholm/brotli's default, 6, which compresses within a few percent
// of quality 9 at the speed of zlib.
const brotliQuality = 6

var brotliWriters, brotliReaders sync.Pool

// brotliEncode appends src compressed with brotli at brotliQuality, as
// one brotli stream (RFC 7932), what Python's brotli.decompress reads.
func brotliEncode(dst, src []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	w, _ := brotliWriters.Get().(*brotli.Writer)
	if w == nil {
		w = brotli.NewWriterLevel(buf, brotliQuality)
	} else {
		w.Reset(buf)
	}
	_, err := w.Write(src)
	if err == nil {
		err = w.Close()
	}
	w.Reset(io.Discard) // drop the reference to dst
	brotliWriters.Put(w)
	return buf.Bytes(), err
}

// brotliReader is a reusable brotli decoder and the reader it reads from.
type brotliReader struct {
	src bytes.Reader
	br  *brotli.Reader
}

// brotliDecode decompresses one brotli stream, as Python's
// brotli.decompress does; bytes after it are an error, as for Python.
// The decoder's window is at most 16 MiB (the large-window extension,
// which Python's brotli.decompress does not read either, is refused).
func brotliDecode(body []byte, limit int) ([]byte, error) {
	r, _ := brotliReaders.Get().(*brotliReader)
	if r == nil {
		r = new(brotliReader)
	}
	defer func() {
		r.src.Reset(nil)
		brotliReaders.Put(r)
	}()
	r.src.Reset(body)
	if r.br == nil {
		r.br = brotli.NewReader(&r.src)
	} else if err := r.br.Reset(&r.src); err != nil {
		return nil, err
	}
	return readLimited(r.br, limit)
}
