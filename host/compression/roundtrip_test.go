package compression

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// testBodies returns bodies to compress: empty, tiny, the golden RPC
// call and notification, random bytes that do not compress, and 3 MiB
// of repetitive JSON, more than one LZMA2 chunk or zstd block.
func testBodies(tb testing.TB) map[string][]byte {
	tb.Helper()
	random := make([]byte, 256<<10)
	r := rand.New(rand.NewChaCha8([32]byte{1}))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	notification := readTestdata(tb, "bodies/notification.json")
	return map[string][]byte{
		"empty":        {},
		"tiny":         []byte("x"),
		"rpc":          readTestdata(tb, "bodies/rpc.json"),
		"notification": notification,
		"random":       random,
		"big":          bytes.Repeat(notification, 3<<20/len(notification)),
	}
}

// writable returns the codecs wasmrpcd compresses with.
func writable() []*Codec {
	var out []*Codec
	for _, c := range codecs {
		if c.CanCompress() {
			out = append(out, c)
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for name, body := range testBodies(t) {
		for _, c := range writable() {
			t.Run(c.Name()+"/"+name, func(t *testing.T) {
				prefix := []byte("prefix")
				out, err := c.Compress(prefix, body)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(out, prefix) {
					t.Fatalf("Compress did not append to dst: %q", out[:min(len(out), 16)])
				}
				z := out[len(prefix):]
				checkFormat(t, c, z, len(body))
				got, err := Decompress(c.MIME(), z, len(body))
				if err != nil {
					t.Fatalf("Decompress at the exact limit: %v", err)
				}
				if !bytes.Equal(got, body) {
					t.Fatalf("round trip gave %d bytes, want %d", len(got), len(body))
				}
				if len(body) > 0 {
					if _, err := Decompress(c.MIME(), z, len(body)-1); !errors.Is(err, ErrTooLarge) {
						t.Fatalf("Decompress with limit %d: %v, want ErrTooLarge", len(body)-1, err)
					}
				}
			})
		}
	}
}

// checkFormat checks that z, of a body of n bytes, is in the format of
// kombu's encoder for c.
func checkFormat(t *testing.T, c *Codec, z []byte, n int) {
	t.Helper()
	switch c {
	case gzipCodec: // Python's zlib.compress: a zlib stream at level 6
		if len(z) < 2 || z[0] != 0x78 || z[1] != 0x9c {
			t.Fatalf("zlib header % x, want 78 9c", z[:min(len(z), 2)])
		}
	case lzmaCodec:
		if !bytes.HasPrefix(z, xzMagic) {
			t.Fatalf("no .xz magic: % x", z[:min(len(z), 6)])
		}
	case zstdCodec: // python-zstandard's decompress needs the content size
		var h zstd.Header
		if err := h.Decode(z); err != nil {
			t.Fatal(err)
		}
		if !h.HasFCS || h.FrameContentSize != uint64(n) {
			t.Fatalf("zstd frame content size %v %d, want %d", h.HasFCS, h.FrameContentSize, n)
		}
	}
}

// TestXZDictionary checks that Compress declares a dictionary no bigger
// than the body (and than preset 6's), so that decoders allocate little.
func TestXZDictionary(t *testing.T) {
	for _, tt := range []struct{ n, dict int64 }{
		{0, 4 << 10}, {100, 4 << 10}, {5000, 6 << 10}, {3 << 20, 3 << 20}, {9 << 20, 8 << 20},
	} {
		z, err := lzmaCodec.Compress(nil, make([]byte, tt.n))
		if err != nil {
			t.Fatal(err)
		}
		l, err := xzScan(z)
		if err != nil {
			t.Fatal(err)
		}
		if tt.n == 0 {
			continue // no block
		}
		// The dictionary code of the first block header: after the
		// size, the flags, the filter ID and the properties size.
		got := dictOf(t, z[12:])
		if got != tt.dict {
			t.Errorf("body of %d bytes: dictionary %d, want %d", tt.n, got, tt.dict)
		}
		if len(l.fixes) != 0 {
			t.Errorf("body of %d bytes: Compress declared a dictionary xzScan cuts down", tt.n)
		}
	}
}

// TestConcurrent compresses and decompresses from many goroutines at
// once, to let the race detector look at the pools.
func TestConcurrent(t *testing.T) {
	body := readTestdata(t, "bodies/notification.json")
	rounds := 10
	if testing.Short() {
		rounds = 3
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(codecs))
	for _, c := range writable() {
		for g := range 8 {
			wg.Go(func() {
				for i := range rounds {
					b := body[:len(body)-g-i]
					z, err := c.Compress(nil, b)
					if err == nil {
						var got []byte
						got, err = Decompress(c.MIME(), z, len(b))
						if err == nil && !bytes.Equal(got, b) {
							err = fmt.Errorf("round trip of %d bytes gave %d", len(b), len(got))
						}
					}
					if err != nil {
						errs <- fmt.Errorf("%s: %w", c, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// gzipBytes returns b in a gzip container.
func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
