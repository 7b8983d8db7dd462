// Package compression is kombu's message compression, as
// oslo.messaging's kombu_compression option uses it: wasmrpcd reads what
// a Python service compresses and compresses what a Python service can
// read.
//
// # The kombu contract
//
// A kombu publisher with compression set compresses the serialized body
// and adds the AMQP header compression = <MIME type>; the content type
// stays application/json. A kombu consumer decompresses every message
// that carries the header, whatever its own compression option says,
// looking the header up as a method's alias or its MIME type (kombu
// 5.2.4, kombu/compression.py, kombu/message.py):
//
//	option values              header                 body
//	gzip, zlib                 application/x-gzip     zlib stream (78 9c...), not gzip
//	bzip2, bzip                application/x-bz2      bzip2
//	lzma, xz                   application/x-lzma     .xz container
//	brotli                     application/x-brotli   brotli (Python module brotli)
//	zstd, zstandard            application/zstd       zstd frame (Python module zstandard)
//
// So a publisher calls [ForOption] once with the option value and, for
// each message, [Codec.Compress] and sets the header to [Codec.MIME];
// a consumer calls [Decompress] with the header of each message, which
// returns the body unchanged when there is no header:
//
//	c, err := compression.ForOption(opts.KombuCompression) // nil: no compression
//	body, err = c.Compress(nil, body)
//	headers["compression"] = c.MIME()
//
//	body, err := compression.Decompress(headers["compression"], body, maxBody)
//
// "bz2", which the help of oslo.messaging's option suggests, is no kombu
// name: kombu fails to publish with it, and so does ForOption. bzip2 is
// read but not written: Go's standard library has no bzip2 encoder.
//
// # Levels
//
// Compress uses the level of kombu's encoder where that is sensible:
// zlib level 6 (Python's zlib.compress), xz with preset 6's 8 MiB
// dictionary (Python's lzma.compress) cut to the body's size, zstd level
// 3 (python-zstandard's default). For brotli it uses quality 6, not
// Python's default 11, which is tens of times slower (see brotliQuality).
// The bytes differ from Python's, the data does not.
//
// # Untrusted bodies
//
// Bodies come from the broker: Decompress stops at the limit it is
// given, and it does not let a body's headers size the decoder's memory.
// The lzma and xz headers declare a dictionary of up to 4 GiB, which
// ulikunitz/xz allocates as declared, and Python's lzma.compress
// declares 8 MiB for every body; Decompress first cuts the dictionary to
// what the body needs (which also makes a small xz body about 150 times
// faster to decode). A zstd frame may use a window of 8 MiB, or up to
// the limit; a bigger one is refused as too large. brotli windows are
// 16 MiB at most and bzip2 blocks 900 kB, whatever the body.
//
// # Beyond kombu's own bodies
//
// Decompress also reads a real gzip container under application/x-gzip
// and the legacy .lzma format under application/x-lzma (Python's
// lzma.decompress detects it, with the same checks of its header), and,
// like Python, ignores bytes after a zlib stream or after the last valid
// .xz stream. Where Python is laxer it refuses: bytes after bzip2 or zstd
// data. It reads every zstd frame of a body, where python-zstandard reads
// the first, and frames without a content size, which python-zstandard
// refuses. kombu's bodies are one stream or frame, with nothing after.
package compression
