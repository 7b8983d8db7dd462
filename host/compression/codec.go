package compression

import (
	"fmt"
	"strings"
)

// Codec is one of kombu's compression methods: a MIME type, which the
// publisher puts in the message's compression header, and the aliases
// kombu also accepts in its place.
//
// The codecs are package-level values: [ForOption] returns the same
// *Codec for every name of one method, so codecs compare with ==.
type Codec struct {
	mime    string
	aliases []string // kombu's, in kombu's order; aliases[0] is Name()

	// encode appends the compressed src to dst; nil when wasmrpcd
	// cannot compress with this method.
	encode func(dst, src []byte) ([]byte, error)
	// decode decompresses body, failing with errTooLarge past limit
	// bytes of output.
	decode func(body []byte, limit int) ([]byte, error)
}

// Name returns kombu's first alias of c ("gzip", "bzip2", "lzma",
// "brotli" or "zstd"), the name wasmrpcd's documentation and messages use.
func (c *Codec) Name() string { return c.aliases[0] }

// MIME returns the value of the compression header of a message that c
// compressed, such as "application/x-gzip".
func (c *Codec) MIME() string { return c.mime }

// Aliases returns the names kombu accepts for c besides its MIME type,
// [Codec.Name] first.
func (c *Codec) Aliases() []string { return append([]string(nil), c.aliases...) }

// String returns [Codec.Name].
func (c *Codec) String() string { return c.Name() }

// CanCompress reports whether [Codec.Compress] works: false for bzip2,
// which wasmrpcd reads but cannot write.
func (c *Codec) CanCompress() bool { return c.encode != nil }

// Compress appends src compressed with c to dst and returns the extended
// slice, as kombu's encoder for c would compress it (see each method's
// level in the package documentation). The message then carries the
// header compression = [Codec.MIME].
//
// Compress fails with an error wrapping [ErrCannotCompress] when
// [Codec.CanCompress] is false.
func (c *Codec) Compress(dst, src []byte) ([]byte, error) {
	if c.encode == nil {
		return dst, fmt.Errorf("%w: wasmrpcd reads %s but cannot write it (Go has no %s encoder); use %s",
			ErrCannotCompress, c.Name(), c.Name(), writableNames())
	}
	return c.encode(dst, src)
}

// The methods, in the order kombu 5.2.4 registers them
// (kombu/compression.py).
var (
	gzipCodec   = &Codec{mime: "application/x-gzip", aliases: []string{"gzip", "zlib"}, encode: zlibEncode, decode: zlibDecode}
	bzip2Codec  = &Codec{mime: "application/x-bz2", aliases: []string{"bzip2", "bzip"}, decode: bzip2Decode}
	brotliCodec = &Codec{mime: "application/x-brotli", aliases: []string{"brotli"}, encode: brotliEncode, decode: brotliDecode}
	lzmaCodec   = &Codec{mime: "application/x-lzma", aliases: []string{"lzma", "xz"}, encode: xzEncode, decode: lzmaDecode}
	zstdCodec   = &Codec{mime: "application/zstd", aliases: []string{"zstd", "zstandard"}, encode: zstdEncode, decode: zstdDecode}

	codecs = []*Codec{gzipCodec, bzip2Codec, brotliCodec, lzmaCodec, zstdCodec}
)

// byName maps every alias and every MIME type to its codec, as kombu's
// get_decoder looks a name up: exactly, case and all.
var byName = func() map[string]*Codec {
	m := make(map[string]*Codec)
	for _, c := range codecs {
		m[c.mime] = c
		for _, a := range c.aliases {
			m[a] = c
		}
	}
	return m
}()

// lookup returns the codec kombu's get_decoder finds for name, or nil.
func lookup(name string) *Codec { return byName[name] }

// Names returns every value kombu_compression accepts: the aliases of
// every method, then their MIME types, in kombu's order.
func Names() []string {
	var names []string
	for _, c := range codecs {
		names = append(names, c.aliases...)
	}
	for _, c := range codecs {
		names = append(names, c.mime)
	}
	return names
}

// ForOption returns the codec that the kombu_compression option value
// names: an alias (gzip, zlib, bzip2, bzip, lzma, xz, brotli, zstd,
// zstandard) or a MIME type, matched exactly as kombu matches it. An
// empty value means no compression: ForOption returns nil and no error.
//
// An unknown value is an error wrapping [ErrUnknownCodec] that lists the
// accepted names. So is "bz2", although oslo.messaging's help for the
// option suggests it: kombu has no method of that name and fails to
// publish with it; the error suggests bzip2.
//
// ForOption returns bzip2's codec, whose [Codec.CanCompress] is false:
// a caller that must publish says so in its own terms, and one that only
// consumes can go on (consumers decompress whatever the header says).
//
// # Notes
//
// kombu registers brotli and zstd only when the Python modules brotli
// and zstandard are installed; Python peers need them to read what
// wasmrpcd compresses with those methods.
func ForOption(value string) (*Codec, error) {
	if value == "" {
		return nil, nil
	}
	if c := lookup(value); c != nil {
		return c, nil
	}
	if value == "bz2" {
		return nil, fmt.Errorf("%w: %q is not a kombu compression name (kombu fails to publish with it, whatever oslo.messaging's help says): use bzip2",
			ErrUnknownCodec, value)
	}
	return nil, fmt.Errorf("%w: %q; kombu_compression accepts %s", ErrUnknownCodec, value, strings.Join(Names(), ", "))
}

// writableNames lists the names of the codecs wasmrpcd can compress with.
func writableNames() string {
	var names []string
	for _, c := range codecs {
		if c.CanCompress() {
			names = append(names, c.Name())
		}
	}
	return strings.Join(names, ", ")
}
