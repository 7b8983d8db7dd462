package compression

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"testing"

	"github.com/ulikunitz/xz/lzma"
)

// dictOf returns the LZMA2 dictionary that the block header h declares
// (one filter, no sizes: what Python and ulikunitz/xz write).
func dictOf(t *testing.T, h []byte) int64 {
	t.Helper()
	if h[1] != 0 || h[2] != 0x21 || h[3] != 1 {
		t.Fatalf("unexpected block header % x", h[:8])
	}
	d, err := lzma.DecodeDictCap(h[4])
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// setDict returns a copy of the .xz data z, of one stream, whose first
// block header declares the dictionary code code, CRC fixed.
func setDict(z []byte, code byte) []byte {
	z = bytes.Clone(z)
	n := (int(z[12]) + 1) * 4
	z[16] = code
	binary.LittleEndian.PutUint32(z[12+n-4:], crc32.ChecksumIEEE(z[12:12+n-4]))
	return z
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestXZScanPython checks what xzScan makes of Python's lzma.compress:
// one block declaring preset 6's 8 MiB dictionary, cut down to the body.
func TestXZScanPython(t *testing.T) {
	z := readTestdata(t, "kombu/rpc.lzma")
	body := readTestdata(t, "bodies/rpc.json")
	if d := dictOf(t, z[12:]); d != 8<<20 {
		t.Fatalf("Python declared %d bytes of dictionary, want 8 MiB", d)
	}
	l, err := xzScan(z)
	if err != nil {
		t.Fatal(err)
	}
	if l.size != uint64(len(body)) || l.end != len(z) || len(l.fixes) != 1 {
		t.Fatalf("xzScan = size %d end %d fixes %d, want %d %d 1", l.size, l.end, len(l.fixes), len(body), len(z))
	}
	p := l.patched()
	if d := dictOf(t, p[12:]); d != 4<<10 {
		t.Fatalf("patched dictionary %d, want 4 KiB", d)
	}
	if dictOf(t, z[12:]) != 8<<20 {
		t.Fatal("patched changed the body")
	}
	if n := allocated(func() { _, _ = Decompress("xz", z, 1<<20) }); n > 1<<20 {
		t.Fatalf("decompressing %d bytes of Python's xz allocated %d bytes", len(z), n)
	}
}

// TestXZDictionaryBomb checks that a body declaring the biggest
// dictionary, 4 GiB, costs no more memory than any other.
func TestXZDictionaryBomb(t *testing.T) {
	body := readTestdata(t, "bodies/rpc.json")
	z := setDict(readTestdata(t, "kombu/rpc.lzma"), 40) // 4 GiB - 1
	var got []byte
	var err error
	if n := allocated(func() { got, err = Decompress("xz", z, 1<<20) }); n > 1<<20 {
		t.Fatalf("a 4 GiB dictionary allocated %d bytes", n)
	}
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("Decompress = %d bytes, %v", len(got), err)
	}
	if _, err := Decompress("xz", setDict(z, 41), 1<<20); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("dictionary code 41: %v, want ErrCorrupt", err)
	}

	// The legacy format, unknown size, dictionary 4 GiB - 1.
	alone := bytes.Clone(readTestdata(t, "kombu/rpc.lzma-alone"))
	binary.LittleEndian.PutUint32(alone[1:], 0xffffffff)
	if n := allocated(func() { got, err = Decompress("xz", alone, 1<<20) }); n > 2<<20 {
		t.Fatalf("a 4 GiB .lzma dictionary allocated %d bytes", n)
	}
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("Decompress(.lzma) = %d bytes, %v", len(got), err)
	}
	// The same with its size: over the limit, refused before decoding.
	binary.LittleEndian.PutUint64(alone[5:], 1<<37)
	if _, err := Decompress("xz", alone, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf(".lzma declaring 128 GiB: %v, want ErrTooLarge", err)
	}
	// liblzma takes a size of 256 GiB or more, or a dictionary that is
	// not 2^n or 2^n + 2^(n-1), for data that is not .lzma.
	binary.LittleEndian.PutUint64(alone[5:], 1<<38)
	if _, err := Decompress("xz", alone, 1<<20); !errors.Is(err, ErrCorrupt) {
		t.Fatalf(".lzma declaring 256 GiB: %v, want ErrCorrupt", err)
	}
	for dict, ok := range map[uint32]bool{0x12345: false, 0xfff: false, 0x30000: true, 0x1000: true, 0: true} {
		a := bytes.Clone(readTestdata(t, "kombu/rpc.lzma-alone"))
		binary.LittleEndian.PutUint32(a[1:], dict)
		if _, err := Decompress("xz", a, 1<<20); (err == nil) != ok {
			t.Errorf(".lzma dictionary %#x: %v, want success %v (as liblzma)", dict, err, ok)
		}
	}
}

func TestXZStreams(t *testing.T) {
	x := readTestdata(t, "kombu/rpc.lzma")
	body := readTestdata(t, "bodies/rpc.json")
	pad := make([]byte, 8)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		z    []byte
		want []byte // nil: an error
	}{
		{"one", x, body},
		{"two", cat(x, x), cat(body, body)},
		{"padding between", cat(x, pad, x), cat(body, body)},
		{"padding after", cat(x, pad), body},
		{"odd padding after", cat(x, pad[:3]), body},
		{"junk after", cat(x, []byte("junk")), body},
		{"junk after two", cat(x, x, []byte("junk")), cat(body, body)},
		{"truncated second", cat(x, x[:len(x)-1]), body},
		{"truncated", x[:len(x)-1], nil},
		{"header only", x[:12], nil},
		{"junk before", cat([]byte{0, 0, 0, 0}, x), nil}, // a .lzma header declaring a huge size
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decompress("application/x-lzma", tt.z, 1<<20)
			if tt.want == nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("Decompress = %d bytes, %v; want an error", len(got), err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("Decompress = %d bytes, %v; want %d", len(got), err, len(tt.want))
			}
		})
	}
}
