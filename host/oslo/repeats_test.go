package oslo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// repeatShapes are maps nested depth levels deep, each level repeating a
// key in its own way; "none" is the same text without a repeat. Each
// level holds a filler string so that the whole is about size bytes.
var repeatShapes = []struct {
	name string
	// level wraps inner, the next level, with filler.
	level func(inner, filler string) string
}{
	{"none", func(inner, filler string) string { return `{"a": "` + filler + `", "k": ` + inner + `}` }},
	// The repeat's value is the next level: it moves back over the
	// first value.
	{"last wins", func(inner, filler string) string { return `{"k": 1, "k": ` + inner + `, "f": "` + filler + `"}` }},
	// The first value is the next level, dropped.
	{"first dropped", func(inner, filler string) string { return `{"k": ` + inner + `, "k": "` + filler + `"}` }},
	// A repeat after another key: its value moves ahead of that key,
	// which holds the next level.
	{"moves ahead", func(inner, filler string) string {
		return `{"k": 1, "n": ` + inner + `, "k": "` + filler + `"}`
	}},
}

// nestedRepeats returns the text of shape nested depth levels deep, of
// about size bytes.
func nestedRepeats(level func(inner, filler string) string, depth, size int) string {
	filler := strings.Repeat("x", size/depth)
	doc := `"leaf"`
	for range depth {
		doc = level(doc, filler)
	}
	return doc
}

// allocated returns the bytes one call of f allocates.
func allocated(f func()) uint64 {
	f() // warm the pools
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestRepeatsCostLinear checks that maps repeating keys at each of 62
// levels cost about what the same text without repeats costs: the merge
// moves entries within the output instead of copying each level, nested
// levels included, once per level (1,040 MiB against 48 MiB for 16 MiB
// of request, before).
func TestRepeatsCostLinear(t *testing.T) {
	const depth, size = 62, 4 << 20
	var base uint64
	for _, shape := range repeatShapes {
		t.Run(shape.name, func(t *testing.T) {
			doc := []byte(nestedRepeats(shape.level, depth, size))
			msg := []byte(`{"method": "echo", "args": {"v": ` + string(doc) + `}, "_context_c": ` + string(doc) + `}`)
			var err error
			n := allocated(func() {
				if _, err = JSONToCBOR(nil, doc); err == nil {
					_, err = DecodeRequest(msg)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes of text allocate %d bytes", shape.name, len(doc)+len(msg), n)
			if shape.name == "none" {
				base = n
				return
			}
			if base == 0 {
				t.Fatal("no baseline")
			}
			if n >= 3*base {
				t.Fatalf("%d bytes allocated, %.1f times the %d without repeats; want under 3", n, float64(n)/float64(base), base)
			}
		})
	}
}

// BenchmarkRepeats decodes 16 MiB requests whose args nest maps 62
// levels deep, with and without a repeated key at each level.
func BenchmarkRepeats(b *testing.B) {
	for _, shape := range repeatShapes {
		b.Run(shape.name, func(b *testing.B) {
			doc := nestedRepeats(shape.level, 62, 16<<20)
			msg := []byte(`{"method": "echo", "args": {"v": ` + doc + `}, "_msg_id": "m", "_reply_q": "q", "_unique_id": "u"}`)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeRequest(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRepeatsLastWins checks the merge against dedup, a plain model of
// Python's dict: each key at its first position with its last value.
func TestRepeatsLastWins(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a": 1, "a": 2}`, `{"a": 2}`},
		{`{"a": 1, "b": 2, "a": 3}`, `{"a": 3, "b": 2}`},
		{`{"a": {"x": 1, "x": [2]}, "b": 2, "a": {"y": 1, "y": {"z": 0, "z": 3}}}`, `{"a": {"y": {"z": 3}}, "b": 2}`},
		{`{"a": 1, "b": 2, "b": 3, "a": 4, "c": 5, "a": 6}`, `{"a": 6, "b": 3, "c": 5}`},
		{`{"b": [{"k": 1, "k": 2}], "a": 0, "b": "s", "a": {"q": 1, "q": 2}}`, `{"b": "s", "a": {"q": 2}}`},
		{`[{"a": 1, "a": 2}, {"b": 1, "c": 2, "b": 3}]`, `[{"a": 2}, {"b": 3, "c": 2}]`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if model, err := dedup([]byte(tc.in)); err != nil || !bytes.Equal(model, []byte(tc.want)) {
				t.Fatalf("the model gives %s, %v; want %s", model, err, tc.want)
			}
			checkLastWins(t, []byte(tc.in))
		})
	}
	for _, shape := range repeatShapes {
		t.Run(shape.name, func(t *testing.T) {
			checkLastWins(t, []byte(nestedRepeats(shape.level, 62, 4096)))
		})
	}
}

// checkLastWins checks that in decodes as dedup(in), the same text
// without repeats, decodes; in without a model (NaN, …) is skipped.
func checkLastWins(t *testing.T, in []byte) {
	t.Helper()
	want, err := dedup(in)
	if err != nil {
		return
	}
	got, err := JSONToCBOR(nil, in)
	if err != nil {
		if isLimit(err) {
			return
		}
		t.Fatalf("JSONToCBOR(%q): %v", in, err)
	}
	wantCBOR, err := JSONToCBOR(nil, want)
	if err != nil {
		t.Fatalf("JSONToCBOR(%q) of the model: %v", want, err)
	}
	if !bytes.Equal(got, wantCBOR) {
		t.Fatalf("%q decodes to %x; the model %s to %x", in, got, want, wantCBOR)
	}
	// The context merges its repeats through the same code.
	msg := append(append([]byte(`{"method": "m", "args": {}, "_context_a": `), in...), `, "_context_b": 1, "_context_a": 2}`...)
	r, err := DecodeRequest(msg)
	if err != nil {
		t.Fatalf("DecodeRequest: %v", err)
	}
	wantCtx, _ := JSONToCBOR(nil, []byte(`{"a": 2, "b": 1, "client_timeout": null}`))
	if !bytes.Equal(r.Context, wantCtx) {
		t.Fatalf("context %x, want %x", r.Context, wantCtx)
	}
}

// dedup rewrites JSON text with each object's repeated keys merged, the
// slow way: a dict of the object's keys in first order, each with the
// last value read. It uses encoding/json's tokens, so it fails on what
// that does not read (NaN, Infinity).
func dedup(in []byte) ([]byte, error) {
	if !json.Valid(in) || !utf8.Valid(in) {
		return nil, fmt.Errorf("not JSON encoding/json reads as it is")
	}
	d := json.NewDecoder(bytes.NewReader(in))
	d.UseNumber()
	v, err := dedupValue(d)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func dedupValue(d *json.Decoder) ([]byte, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('['):
		out := []byte{'['}
		for i := 0; d.More(); i++ {
			v, err := dedupValue(d)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				out = append(out, ", "...)
			}
			out = append(out, v...)
		}
		if _, err := d.Token(); err != nil {
			return nil, err
		}
		return append(out, ']'), nil
	case json.Delim('{'):
		var keys []string
		values := map[string][]byte{}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return nil, err
			}
			v, err := dedupValue(d)
			if err != nil {
				return nil, err
			}
			ks := k.(string)
			if _, ok := values[ks]; !ok {
				keys = append(keys, ks)
			}
			values[ks] = v
		}
		if _, err := d.Token(); err != nil {
			return nil, err
		}
		out := []byte{'{'}
		for i, k := range keys {
			if i > 0 {
				out = append(out, ", "...)
			}
			kj, _ := json.Marshal(k)
			out = append(append(append(out, kj...), ": "...), values[k]...)
		}
		return append(out, '}'), nil
	default:
		return json.Marshal(tok)
	}
}

// FuzzRepeatsLastWins checks that whatever repeats an input has, it
// decodes as the model of Python's dict says.
func FuzzRepeatsLastWins(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"a": 1, "b": 2, "a": 3}`, `{"a": {"x": 1, "x": 2}, "a": [3], "b": {"a": 1, "a": 2}}`,
		`{"k": 1, "n": {"k": 1, "n": {}, "k": 2}, "k": "z"}`, `{"":0,"":1,"a":2,"":3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkLastWins(t, in)
	})
}
