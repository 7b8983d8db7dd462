package compression

import (
	"bytes"
	"compress/bzip2"
)

// bzip2Decode decompresses body as Python's bz2.decompress does, every
// stream of it. Unlike Python, which ignores what follows the last valid
// stream, it refuses trailing bytes (Go's reader does not say where a
// stream ended). An empty body is empty, as it is for Python.
//
// The decoder's memory is bounded by the block size (900 kB at most,
// about 4 MB of state), whatever the body declares.
func bzip2Decode(body []byte, limit int) ([]byte, error) {
	if len(body) == 0 {
		return body, nil
	}
	return readLimited(bzip2.NewReader(bytes.NewReader(body)), limit)
}
