package compression_test

import (
	"errors"
	"fmt"

	"github.com/wasmrpcd/wasmrpcd/host/compression"
)

// A publisher compresses as kombu_compression says, a consumer
// decompresses by the header of each message.
func Example() {
	c, err := compression.ForOption("zlib")
	if err != nil {
		panic(err)
	}
	body := []byte(`{"oslo.version": "2.0", "oslo.message": "{\"method\": \"add\"}"}`)
	z, err := c.Compress(nil, body)
	if err != nil {
		panic(err)
	}
	headers := map[string]string{"compression": c.MIME()}
	fmt.Printf("%s %s % x\n", c.Name(), headers["compression"], z[:2])

	got, err := compression.Decompress(headers["compression"], z, 1<<20)
	fmt.Println(string(got) == string(body), err)
	// Output:
	// gzip application/x-gzip 78 9c
	// true <nil>
}

// What goes wrong: an option kombu does not know, a method wasmrpcd only
// reads, a bomb.
func Example_errors() {
	_, err := compression.ForOption("bz2")
	fmt.Println(err)

	c, _ := compression.ForOption("bzip2")
	_, err = c.Compress(nil, []byte("{}"))
	fmt.Println(c.CanCompress(), errors.Is(err, compression.ErrCannotCompress))

	xz, _ := compression.ForOption("xz")
	bomb, _ := xz.Compress(nil, make([]byte, 10<<20))
	_, err = compression.Decompress(xz.MIME(), bomb, 1<<20)
	fmt.Println(len(bomb) < 2000, err)

	_, err = compression.Decompress("application/x-snappy", bomb, 1<<20)
	fmt.Println(errors.Is(err, compression.ErrUnknownCodec))
	// Output:
	// compression: unknown compression method: "bz2" is not a kombu compression name (kombu fails to publish with it, whatever oslo.messaging's help says): use bzip2
	// false true
	// true compression: decompressed body too large: lzma: more than 1048576 bytes once decompressed
	// true
}
