package compression

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestForOption(t *testing.T) {
	tests := []struct {
		value    string
		name     string // "" for nil
		mime     string
		compress bool
		err      error
		errText  string // in the message
	}{
		{value: ""},
		{value: "gzip", name: "gzip", mime: "application/x-gzip", compress: true},
		{value: "zlib", name: "gzip", mime: "application/x-gzip", compress: true},
		{value: "application/x-gzip", name: "gzip", mime: "application/x-gzip", compress: true},
		{value: "bzip2", name: "bzip2", mime: "application/x-bz2"},
		{value: "bzip", name: "bzip2", mime: "application/x-bz2"},
		{value: "application/x-bz2", name: "bzip2", mime: "application/x-bz2"},
		{value: "lzma", name: "lzma", mime: "application/x-lzma", compress: true},
		{value: "xz", name: "lzma", mime: "application/x-lzma", compress: true},
		{value: "application/x-lzma", name: "lzma", mime: "application/x-lzma", compress: true},
		{value: "brotli", name: "brotli", mime: "application/x-brotli", compress: true},
		{value: "application/x-brotli", name: "brotli", mime: "application/x-brotli", compress: true},
		{value: "zstd", name: "zstd", mime: "application/zstd", compress: true},
		{value: "zstandard", name: "zstd", mime: "application/zstd", compress: true},
		{value: "application/zstd", name: "zstd", mime: "application/zstd", compress: true},
		{value: "bz2", err: ErrUnknownCodec, errText: "use bzip2"},
		{value: "GZIP", err: ErrUnknownCodec, errText: "gzip, zlib, bzip2"},
		{value: "gz", err: ErrUnknownCodec, errText: "application/zstd"},
		{value: " gzip", err: ErrUnknownCodec},
		{value: "snappy", err: ErrUnknownCodec},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, err := ForOption(tt.value)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || c != nil {
					t.Fatalf("ForOption(%q) = %v, %v; want nil, %v", tt.value, c, err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("ForOption(%q): %q does not say %q", tt.value, err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("ForOption(%q): %v", tt.value, err)
			}
			if tt.name == "" {
				if c != nil {
					t.Fatalf("ForOption(%q) = %v, want nil", tt.value, c)
				}
				return
			}
			if c.Name() != tt.name || c.String() != tt.name || c.MIME() != tt.mime || c.CanCompress() != tt.compress {
				t.Fatalf("ForOption(%q) = %s %s %v, want %s %s %v",
					tt.value, c.Name(), c.MIME(), c.CanCompress(), tt.name, tt.mime, tt.compress)
			}
			if c2, _ := ForOption(tt.mime); c2 != c {
				t.Fatalf("ForOption(%q) and ForOption(%q) differ", tt.value, tt.mime)
			}
		})
	}
}

func TestNames(t *testing.T) {
	want := []string{"gzip", "zlib", "bzip2", "bzip", "brotli", "lzma", "xz", "zstd", "zstandard",
		"application/x-gzip", "application/x-bz2", "application/x-brotli", "application/x-lzma", "application/zstd"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
	for _, n := range Names() {
		if c, err := ForOption(n); err != nil || c == nil {
			t.Errorf("ForOption(%q) = %v, %v", n, c, err)
		}
	}
	c, _ := ForOption("xz")
	a := c.Aliases()
	a[0] = "changed"
	if c.Name() != "lzma" {
		t.Fatal("Aliases returned the codec's own slice")
	}
}

func TestCompressBzip2(t *testing.T) {
	c, err := ForOption("bzip2")
	if err != nil {
		t.Fatal(err)
	}
	dst := []byte("prefix")
	out, err := c.Compress(dst, []byte("body"))
	if !errors.Is(err, ErrCannotCompress) {
		t.Fatalf("Compress: %v, want ErrCannotCompress", err)
	}
	if string(out) != "prefix" {
		t.Fatalf("Compress changed dst to %q", out)
	}
	for _, s := range []string{"reads bzip2 but cannot write it", "gzip"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not say %q", err, s)
		}
	}
}
