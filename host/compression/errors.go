package compression

import "errors"

// Errors of this package. Every error that [ForOption], [Codec.Compress]
// and [Decompress] return wraps exactly one of them, so callers tell the
// cases apart with errors.Is.
var (
	// ErrUnknownCodec is an option value or a compression header that
	// names no kombu compression method.
	ErrUnknownCodec = errors.New("compression: unknown compression method")

	// ErrCannotCompress is a compression method wasmrpcd decompresses but
	// cannot produce (bzip2: Go's standard library has no bzip2 encoder).
	ErrCannotCompress = errors.New("compression: cannot compress")

	// ErrTooLarge is a body whose decompressed size would exceed the
	// limit given to [Decompress].
	ErrTooLarge = errors.New("compression: decompressed body too large")

	// ErrCorrupt is a body that is not valid data of the method its
	// compression header names. The error also wraps the decoder's own
	// error, when there is one.
	ErrCorrupt = errors.New("compression: corrupt body")
)
