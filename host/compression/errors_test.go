package compression

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestDecompressNoHeader(t *testing.T) {
	body := []byte(`{"oslo.version": "2.0"}`)
	got, err := Decompress("", body, len(body))
	if err != nil || &got[0] != &body[0] {
		t.Fatalf("Decompress without a header = %q, %v; want body itself", got, err)
	}
	if _, err := Decompress("", body, len(body)-1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("uncompressed body over the limit: %v, want ErrTooLarge", err)
	}
	if _, err := Decompress("", nil, -1); err != nil {
		t.Fatalf("empty body, negative limit: %v", err)
	}
}

func TestDecompressUnknown(t *testing.T) {
	for _, h := range []string{"bz2", "GZIP", "application/gzip", "identity", "x"} {
		_, err := Decompress(h, []byte("body"), 100)
		if !errors.Is(err, ErrUnknownCodec) {
			t.Errorf("header %q: %v, want ErrUnknownCodec", h, err)
		} else if !strings.Contains(err.Error(), "application/x-gzip") {
			t.Errorf("header %q: %q does not list the known names", h, err)
		}
	}
}

// TestDecompressCorrupt decompresses bodies that are not data of their
// header's method: each fails with ErrCorrupt (and only that).
func TestDecompressCorrupt(t *testing.T) {
	garbage := []byte("this is not compressed at all, just JSON-ish text {}")
	for _, c := range codecs {
		golden := readTestdata(t, "kombu/rpc."+c.Name())
		flipped := bytes.Clone(golden)
		flipped[len(flipped)/2] ^= 0x55
		tests := map[string][]byte{
			"garbage":   garbage,
			"truncated": golden[:len(golden)-3],
			"half":      golden[:len(golden)/2],
		}
		if c != zstdCodec && c != brotliCodec { // python-zstandard writes no checksum, brotli has none
			tests["flipped"] = flipped
		}
		if c != bzip2Codec { // Python's bz2.decompress(b'') is b''
			tests["empty"] = nil
		}
		for name, body := range tests {
			t.Run(c.Name()+"/"+name, func(t *testing.T) {
				got, err := Decompress(c.MIME(), body, 1<<20)
				if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrUnknownCodec) {
					t.Fatalf("Decompress = %d bytes, %v; want ErrCorrupt", len(got), err)
				}
				if !strings.Contains(err.Error(), c.Name()) {
					t.Fatalf("%q does not name %s", err, c.Name())
				}
			})
		}
	}
	if got, err := Decompress("bzip2", nil, 10); err != nil || len(got) != 0 {
		t.Fatalf("empty bzip2 body = %q, %v; want empty, as for Python", got, err)
	}
}

// TestDecompressBomb decompresses 32 MiB of zeros, a few kB or less
// compressed (64 MiB for bzip2), with a limit of 1 MiB: each fails with ErrTooLarge without
// allocating more than a few times the limit.
func TestDecompressBomb(t *testing.T) {
	const size, limit = 32 << 20, 1 << 20
	zeros := make([]byte, size)
	bombs := map[string][]byte{"bzip2": readTestdata(t, "kombu/bomb.bzip2")}
	for _, c := range writable() {
		z, err := c.Compress(nil, zeros)
		if err != nil {
			t.Fatal(err)
		}
		bombs[c.Name()] = z
	}
	bombs["gzip-container"] = gzipBytes(t, zeros)
	for name, z := range bombs {
		t.Run(name, func(t *testing.T) {
			header := strings.TrimSuffix(name, "-container")
			var err error
			n := allocated(func() { _, err = Decompress(header, z, limit) })
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("bomb of %d bytes: %v, want ErrTooLarge", len(z), err)
			}
			if n > 8*limit+16<<20 {
				t.Fatalf("bomb of %d bytes allocated %d bytes with a limit of %d", len(z), n, limit)
			}
			t.Logf("%d bytes compressed, %d allocated", len(z), n)
		})
	}
}

// TestZstdWindowBomb sends zstd frames whose headers ask for a big
// window: refused before the window is allocated.
func TestZstdWindowBomb(t *testing.T) {
	// Magic, descriptor: no content size, not single segment, no
	// checksum; window descriptor: exponent 21 (2^31 = 2 GiB); then a
	// last raw block of 1 byte.
	frame := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x09, 0x00, 0x00, 'x'}
	var err error
	if n := allocated(func() { _, err = Decompress("zstd", frame, 1<<20) }); n > 1<<20 {
		t.Fatalf("a 2 GiB window allocated %d bytes", n)
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("2 GiB window: %v, want ErrTooLarge", err)
	}
	// The same frame with an 8 MiB window is fine, whatever the limit.
	frame[5] = 13 << 3
	if got, err := Decompress("zstd", frame, 10); err != nil || string(got) != "x" {
		t.Fatalf("8 MiB window = %q, %v; want x", got, err)
	}
	// A single-segment frame declaring 1 GiB of content.
	fcs := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 0x40, 0x01, 0x00, 0x00, 'x'}
	if _, err := Decompress("zstd", fcs, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("1 GiB content size: %v, want ErrTooLarge", err)
	}
}
