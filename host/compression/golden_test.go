package compression

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// manifest is testdata/manifest.json, which testdata/capture.py writes
// from the real kombu.
type manifest struct {
	Kombu        string             `json:"kombu"`
	Registered   []string           `json:"registered"`
	OptionValues map[string]*string `json:"option_values"`
	Cases        []goldenCase       `json:"cases"`
}

// goldenCase is one compressed body of the manifest.
type goldenCase struct {
	File       string  `json:"file"`
	Header     string  `json:"header"`
	Output     *string `json:"output"`      // the body file it decompresses to
	OutputSize int     `json:"output_size"` // or its size, for a bomb
	KombuReads bool    `json:"kombu_reads"`
	Source     string  `json:"source"`
}

// readManifest reads testdata/manifest.json.
func readManifest(tb testing.TB) *manifest {
	tb.Helper()
	data, err := os.ReadFile("testdata/manifest.json")
	if err != nil {
		tb.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		tb.Fatal(err)
	}
	return &m
}

// readTestdata reads testdata/rel.
func readTestdata(tb testing.TB, rel string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", rel))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// TestGolden decompresses every body of the manifest, under its MIME type
// and under each alias (kombu's consumer looks the header up either
// way), to the body kombu (or the CLI) compressed.
func TestGolden(t *testing.T) {
	m := readManifest(t)
	if len(m.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, gc := range m.Cases {
		t.Run(gc.File, func(t *testing.T) {
			body := readTestdata(t, gc.File)
			c := lookup(gc.Header)
			if c == nil {
				t.Fatalf("header %q: no codec", gc.Header)
			}
			if gc.Output == nil {
				// Every limit under its size stops it; 1 MiB is quick.
				_, err := Decompress(gc.Header, body, min(gc.OutputSize-1, 1<<20))
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("bomb of %d bytes: err = %v, want ErrTooLarge", gc.OutputSize, err)
				}
				return
			}
			want := readTestdata(t, *gc.Output)
			for _, header := range append([]string{gc.Header}, c.aliases...) {
				got, err := Decompress(header, body, len(want))
				if err != nil {
					t.Fatalf("Decompress(%q) (%s): %v", header, gc.Source, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("Decompress(%q) (%s) = %d bytes, want the %d of %s", header, gc.Source, len(got), len(want), *gc.Output)
				}
			}
		})
	}
}

// TestGoldenOptionValues checks ForOption against what kombu's
// get_encoder maps each option value to.
func TestGoldenOptionValues(t *testing.T) {
	m := readManifest(t)
	for value, mime := range m.OptionValues {
		c, err := ForOption(value)
		switch {
		case mime != nil && err != nil:
			t.Errorf("ForOption(%q): %v; kombu maps it to %s", value, err, *mime)
		case mime != nil && c.MIME() != *mime:
			t.Errorf("ForOption(%q).MIME() = %s; kombu maps it to %s", value, c.MIME(), *mime)
		case mime == nil && err == nil && slices.Contains(m.Registered, c.MIME()):
			t.Errorf("ForOption(%q) = %s; kombu %s refuses it", value, c, m.Kombu)
		}
	}
	for _, mime := range m.Registered {
		if lookup(mime) == nil {
			t.Errorf("kombu registers %s, wasmrpcd does not", mime)
		}
	}
}
