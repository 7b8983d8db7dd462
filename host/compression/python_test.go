package compression

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"testing"
)

// pythonKombu is the Python that has kombu (Debian's python3-kombu).
const pythonKombu = "/usr/bin/python3"

// kombuDecompress is run by pythonKombu: it decompresses each request of
// its standard input with kombu.compression.decompress, as kombu's
// consumer does, and writes the results and the methods kombu registers.
const kombuDecompress = `
import base64, json, sys
from kombu import compression
out = {'registered': compression.encoders(), 'results': []}
for req in json.load(sys.stdin):
    try:
        body = compression.decompress(base64.b64decode(req['data']), req['header'])
        out['results'].append({'data': base64.b64encode(body).decode()})
    except Exception as e:
        out['results'].append({'error': repr(e)})
json.dump(out, sys.stdout)
`

// TestPythonReadsCompress checks that kombu decompresses what Compress
// writes, for every method kombu registers on this machine. kombu
// registers brotli and zstd only when the Python modules brotli and
// zstandard import (see testdata/capture.py to try them without
// installing them: PYTHONPATH reaches the Python this test runs).
func TestPythonReadsCompress(t *testing.T) {
	if _, err := os.Stat(pythonKombu); err != nil {
		t.Skipf("no %s (Debian's python3 with python3-kombu): %v", pythonKombu, err)
	}
	type request struct {
		Header string `json:"header"`
		Data   []byte `json:"data"`
	}
	type result struct {
		Data  []byte `json:"data"`
		Error string `json:"error"`
	}
	bodies := testBodies(t)
	var reqs []request
	var want [][]byte
	var names []string
	for _, c := range writable() {
		for name, body := range bodies {
			z, err := c.Compress(nil, body)
			if err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, request{c.MIME(), z}, request{c.Name(), z})
			want = append(want, body, body)
			names = append(names, c.MIME()+"/"+name, c.Name()+"/"+name)
		}
	}
	in, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pythonKombu, "-c", kombuDecompress)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		if bytes.Contains(stderr.Bytes(), []byte("No module named 'kombu'")) {
			t.Skipf("%s has no kombu (Debian's python3-kombu)", pythonKombu)
		}
		t.Fatalf("%s: %v\n%s", pythonKombu, err, stderr.Bytes())
	}
	var out struct {
		Registered []string `json:"registered"`
		Results    []result `json:"results"`
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != len(reqs) {
		t.Fatalf("Python answered %d requests of %d", len(out.Results), len(reqs))
	}
	for _, c := range writable() {
		t.Run(c.Name(), func(t *testing.T) {
			if !slices.Contains(out.Registered, c.MIME()) {
				t.Skipf("kombu here does not register %s (its Python module is missing)", c.MIME())
			}
			for i, r := range out.Results {
				switch {
				case lookup(reqs[i].Header) != c:
				case r.Error != "":
					t.Errorf("%s: kombu cannot decompress it: %s", names[i], r.Error)
				case !bytes.Equal(r.Data, want[i]):
					t.Errorf("%s: kombu decompressed %d bytes, want %d", names[i], len(r.Data), len(want[i]))
				}
			}
		})
	}
}

// TestCLIReadsCompress checks that the zstd and brotli command-line
// tools (Debian packages zstd, brotli) decompress what Compress writes.
func TestCLIReadsCompress(t *testing.T) {
	for _, tt := range []struct {
		codec *Codec
		tool  string
	}{{zstdCodec, "zstd"}, {brotliCodec, "brotli"}, {lzmaCodec, "xz"}} {
		t.Run(tt.tool, func(t *testing.T) {
			path, err := exec.LookPath(tt.tool)
			if err != nil {
				t.Skipf("%s not installed (Debian package %s)", tt.tool, tt.tool)
			}
			for name, body := range testBodies(t) {
				z, err := tt.codec.Compress(nil, body)
				if err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(path, "-d", "-c")
				cmd.Stdin = bytes.NewReader(z)
				got, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s: %s -d: %v", name, tt.tool, err)
				}
				if !bytes.Equal(got, body) {
					t.Fatalf("%s: %s -d gave %d bytes, want %d", name, tt.tool, len(got), len(body))
				}
			}
		})
	}
}
