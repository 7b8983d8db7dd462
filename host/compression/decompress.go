package compression

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Decompress returns the body of a message whose compression header is
// header, as kombu's consumer decompresses it: header is looked up as an
// alias or a MIME type, whatever compression the consumer itself
// publishes with. An empty header means the body is not compressed:
// Decompress returns body itself.
//
// The result never holds more than limit bytes (a negative limit counts
// as 0): past that, Decompress stops reading and fails with an error
// wrapping [ErrTooLarge], so a small body that decompresses to gigabytes
// costs no more than limit bytes of memory. The decoders' own state is
// bounded too, whatever the body declares: at most limit bytes more for
// lzma and zstd windows and a few MiB at worst for the others (see the
// package documentation).
//
// An unknown header fails with an error wrapping [ErrUnknownCodec], and a
// body that is not valid data of the method with one wrapping
// [ErrCorrupt] (and the decoder's error). kombu records such failures as
// the message's errors; the caller decides what to do with the message.
func Decompress(header string, body []byte, limit int) ([]byte, error) {
	limit = max(limit, 0)
	if header == "" {
		if len(body) > limit {
			return nil, tooLarge("uncompressed body", limit)
		}
		return body, nil
	}
	c := lookup(header)
	if c == nil {
		return nil, fmt.Errorf("%w: compression header %q (kombu knows %s)", ErrUnknownCodec, header, strings.Join(Names(), ", "))
	}
	out, err := c.decode(body, limit)
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, errTooLarge):
		return nil, tooLarge(c.Name(), limit)
	case errors.Is(err, ErrCorrupt):
		return nil, err
	default:
		return nil, corrupt(c, err)
	}
}

// errTooLarge is what decoders return when the output passes the limit;
// Decompress turns it into an error wrapping ErrTooLarge.
var errTooLarge = errors.New("output exceeds the limit")

// tooLarge returns the error for a body of what that exceeds limit.
func tooLarge(what string, limit int) error {
	return fmt.Errorf("%w: %s: more than %d bytes once decompressed", ErrTooLarge, what, limit)
}

// corrupt returns the error for a body of c that its decoder refused
// with err.
func corrupt(c *Codec, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, c.Name(), err)
}

// readLimited reads r to its end and returns what it read, or
// errTooLarge once that would exceed limit bytes: it never reads more
// than limit+1 bytes from r.
func readLimited(r io.Reader, limit int) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, pastLimit(limit)))
	if err != nil {
		return nil, err
	}
	if len(out) > limit {
		return nil, errTooLarge
	}
	return out, nil
}

// pastLimit returns limit+1, the first size over limit, or the largest
// int64 when limit is that.
func pastLimit(limit int) int64 {
	if int64(limit) == math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(limit) + 1
}
