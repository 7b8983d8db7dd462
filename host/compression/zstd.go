package compression

import (
	"bytes"
	"errors"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// zstdEncoders compress every zstd body: single is for bodies of up to
// zstdMinWindow bytes, large for the others. A zstd.Encoder is costly to
// build and its EncodeAll is safe for concurrent use, so there is one of
// each, built on first use. They encode at klauspost/compress's
// SpeedDefault, its equivalent of zstd level 3, the default of Python's
// zstandard.ZstdCompressor that kombu uses.
//
// Every frame must record its content size: python-zstandard's one-shot
// decompress, kombu's decoder, refuses a frame without it. klauspost's
// EncodeAll leaves it out of frames of 1 to 255 bytes unless they are
// single-segment frames (no window, the content size instead), which is
// what single writes, as libzstd does for a body of known size; large
// writes frames with a window, which all record sizes of 256 bytes and
// more. An empty body still becomes a frame.
var zstdEncoders = sync.OnceValues(func() (*[2]*zstd.Encoder, error) {
	var e [2]*zstd.Encoder
	for i, single := range []bool{true, false} {
		opts := []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithZeroFrames(true)}
		if single {
			opts = append(opts, zstd.WithSingleSegment(true))
		}
		var err error
		if e[i], err = zstd.NewWriter(nil, opts...); err != nil {
			return nil, err
		}
	}
	return &e, nil
})

// zstdEncode appends src compressed as one zstd frame.
func zstdEncode(dst, src []byte) ([]byte, error) {
	e, err := zstdEncoders()
	if err != nil {
		return dst, err
	}
	if len(src) <= zstdMinWindow {
		return e[0].EncodeAll(src, dst), nil
	}
	return e[1].EncodeAll(src, dst), nil
}

// zstdMinWindow is the window every zstd body may use, however small the
// limit: the 8 MiB that the zstd format recommends every decoder
// supports. Frames of small bodies have small windows: klauspost's
// encoder, python-zstandard and the zstd CLI size the window to the
// content when they know its size, as they do for a message.
const zstdMinWindow = 8 << 20

// zstdReader is a reusable zstd decoder and the reader it reads from.
// The decoders run synchronously (concurrency 1): no goroutines, so an
// idle decoder that the pool drops needs no Close.
type zstdReader struct {
	src bytes.Reader
	d   *zstd.Decoder
}

var zstdReaders sync.Pool

// errZstdEmpty is an empty zstd body, which holds no frame.
var errZstdEmpty = errors.New("zstd: empty body, no frame")

// zstdDecode decompresses every zstd frame of body (skippable frames
// skipped), and refuses bytes after the last. python-zstandard's one-shot
// decompress, kombu's decoder, reads the first frame only, ignores what
// follows, and refuses a frame that does not record its content size,
// which zstdDecode reads. kombu's bodies are one frame. A frame whose window exceeds both zstdMinWindow and the limit
// is refused as too large, before the decoder allocates the window: the
// window is memory the decoder needs whatever the frame holds.
func zstdDecode(body []byte, limit int) ([]byte, error) {
	if len(body) == 0 {
		return nil, errZstdEmpty // klauspost reads no frames; Python fails
	}
	r, _ := zstdReaders.Get().(*zstdReader)
	if r == nil {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		r = &zstdReader{d: d}
	}
	defer func() {
		_ = r.d.Reset(nil)
		r.src.Reset(nil)
		zstdReaders.Put(r)
	}()
	window := uint64(max(limit, zstdMinWindow)) + 1
	window = min(window, zstd.MaxWindowSize)
	r.src.Reset(body)
	if err := r.d.ResetWithOptions(&r.src,
		zstd.WithDecoderMaxWindow(window),
		zstd.WithDecoderMaxMemory(window)); err != nil {
		return nil, err
	}
	out, err := readLimited(r.d, limit)
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return nil, errTooLarge
	}
	return out, err
}
