package compression

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzLimit is the limit of the fuzz tests: over the biggest golden
// body, far under what the bombs hold.
const fuzzLimit = 1 << 17

// sentinels are the errors of the package; every error wraps one.
var sentinels = []error{ErrUnknownCodec, ErrCannotCompress, ErrTooLarge, ErrCorrupt}

// seedGoldens adds every golden body of codec c (all of them for nil)
// to f, through add.
func seedGoldens(f *testing.F, c *Codec, add func(header string, body []byte)) {
	f.Helper()
	for _, gc := range readManifest(f).Cases {
		if c == nil || lookup(gc.Header) == c {
			add(gc.Header, readTestdata(f, gc.File))
		}
	}
	for _, w := range writable() {
		if c == nil || w == c {
			for _, body := range [][]byte{nil, []byte("x"), readTestdata(f, "bodies/rpc.json")} {
				z, err := w.Compress(nil, body)
				if err != nil {
					f.Fatal(err)
				}
				add(w.MIME(), z)
			}
		}
	}
}

// checkDecompress decompresses body under header and checks what the
// documentation promises: no more than the limit, errors that wrap one
// sentinel, and a result that does not depend on the limit, as long as
// it fits.
func checkDecompress(t *testing.T, header string, body []byte) {
	out, err := Decompress(header, body, fuzzLimit)
	if err != nil {
		n := 0
		for _, s := range sentinels {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("Decompress(%q): error wraps %d sentinels: %v", header, n, err)
		}
		if c := lookup(header); (c == nil) != errors.Is(err, ErrUnknownCodec) {
			t.Fatalf("Decompress(%q): %v", header, err)
		}
		return
	}
	if len(out) > fuzzLimit {
		t.Fatalf("Decompress(%q) returned %d bytes, over the limit of %d", header, len(out), fuzzLimit)
	}
	again, err := Decompress(header, body, len(out))
	if err != nil || !bytes.Equal(again, out) {
		t.Fatalf("Decompress(%q) with the limit at its %d bytes: %d bytes, %v", header, len(out), len(again), err)
	}
	if len(out) > 0 {
		if _, err := Decompress(header, body, len(out)-1); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Decompress(%q) with the limit 1 under its %d bytes: %v, want ErrTooLarge", header, len(out), err)
		}
	}
	if c := lookup(header); c != nil && c.CanCompress() {
		z, err := c.Compress(nil, out)
		if err != nil {
			t.Fatal(err)
		}
		if rt, err := Decompress(header, z, len(out)); err != nil || !bytes.Equal(rt, out) {
			t.Fatalf("round trip of %d bytes through %s: %d bytes, %v", len(out), c, len(rt), err)
		}
	}
}

// FuzzDecompress decompresses any body under any header, seeded with
// the goldens of every method under each of their names.
func FuzzDecompress(f *testing.F) {
	seedGoldens(f, nil, func(header string, body []byte) {
		for _, h := range append([]string{header}, lookup(header).aliases...) {
			f.Add(h, body)
		}
	})
	f.Add("", []byte("{}"))
	f.Add("bz2", []byte("BZh9"))
	f.Fuzz(checkDecompress)
}

// fuzzCodec fuzzes the bodies of one method, to give each decoder its
// own run: go test -fuzz FuzzXZ.
func fuzzCodec(f *testing.F, c *Codec) {
	seedGoldens(f, c, func(_ string, body []byte) { f.Add(body) })
	f.Fuzz(func(t *testing.T, body []byte) { checkDecompress(t, c.MIME(), body) })
}

func FuzzGzip(f *testing.F)   { fuzzCodec(f, gzipCodec) }
func FuzzBzip2(f *testing.F)  { fuzzCodec(f, bzip2Codec) }
func FuzzXZ(f *testing.F)     { fuzzCodec(f, lzmaCodec) }
func FuzzBrotli(f *testing.F) { fuzzCodec(f, brotliCodec) }
func FuzzZstd(f *testing.F)   { fuzzCodec(f, zstdCodec) }
