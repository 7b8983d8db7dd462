package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// Python's json module writes the floats JSON has no words for as the bare
// tokens NaN, Infinity and -Infinity, which Go's encoding/json refuses, and
// keeps a lone UTF-16 surrogate ("\ud800") in a str, which Go decodes as
// U+FFFD. pyJSON makes such text standard without losing what a Python
// client sees: each non-finite float becomes an object {"$float": "NaN"}
// (a shape the tests never send otherwise), and each surrogate escape
// \uD800-\uDFFF is kept as the six characters of its text (escaping its
// backslash), so that a lone surrogate and U+FFFD stay different.

// nonFiniteKey is the key of the object that stands for a non-finite float.
const nonFiniteKey = "$float"

// pyJSON returns Python's JSON text src as standard JSON.
func pyJSON(src []byte) []byte {
	if !bytes.Contains(src, []byte("NaN")) && !bytes.Contains(src, []byte("Infinity")) && !bytes.Contains(src, []byte(`\u`)) {
		return src
	}
	out := make([]byte, 0, len(src)+32)
	inString := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch {
			case c == '"':
				inString = false
			case c == '\\' && i+1 < len(src):
				if src[i+1] == 'u' && i+5 < len(src) && isSurrogate(src[i+2:i+6]) {
					out = append(out, `\\`...)
					out = append(out, src[i+1:i+6]...)
					i += 5
					continue
				}
				out = append(out, c, src[i+1])
				i++
				continue
			}
			out = append(out, c)
			continue
		}
		switch {
		case c == '"':
			inString = true
		case bytes.HasPrefix(src[i:], []byte("NaN")):
			out = fmt.Appendf(out, `{%q: "NaN"}`, nonFiniteKey)
			i += len("NaN") - 1
			continue
		case bytes.HasPrefix(src[i:], []byte("Infinity")):
			out = fmt.Appendf(out, `{%q: "Infinity"}`, nonFiniteKey)
			i += len("Infinity") - 1
			continue
		case bytes.HasPrefix(src[i:], []byte("-Infinity")):
			out = fmt.Appendf(out, `{%q: "-Infinity"}`, nonFiniteKey)
			i += len("-Infinity") - 1
			continue
		}
		out = append(out, c)
	}
	return out
}

// isSurrogate reports whether the four hex digits of a \u escape name a
// UTF-16 surrogate (D800 to DFFF).
func isSurrogate(hex4 []byte) bool {
	return (hex4[0] == 'd' || hex4[0] == 'D') && bytes.IndexByte([]byte("89abcdefABCDEF"), hex4[1]) >= 0
}

// jsonValue decodes standard JSON text keeping numbers as their text, so
// that 1 and 1.0 (an int and a float in Python) differ and integers of any
// size compare exactly.
func jsonValue(text []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// jsonEqual reports whether two JSON texts hold the same value (objects
// compare without regard to key order).
func jsonEqual(a, b []byte) bool {
	va, erra := jsonValue(a)
	vb, errb := jsonValue(b)
	return erra == nil && errb == nil && reflect.DeepEqual(va, vb)
}

func TestPyJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"result": 1}`, `{"result": 1}`},
		{`{"result": NaN}`, `{"result": {"$float": "NaN"}}`},
		{`[Infinity, -Infinity, 1.5]`, `[{"$float": "Infinity"}, {"$float": "-Infinity"}, 1.5]`},
		{`{"s": "NaN \" Infinity", "v": NaN}`, `{"s": "NaN \" Infinity", "v": {"$float": "NaN"}}`},
		{`["a\\", NaN]`, `["a\\", {"$float": "NaN"}]`},
		{`["\ud800", "\ud83d\ude00", "\u00e9", "\\ud800"]`, `["\\ud800", "\\ud83d\\ude00", "\u00e9", "\\ud800"]`},
	} {
		got := string(pyJSON([]byte(tc.in)))
		if got != tc.want {
			t.Errorf("pyJSON(%s) = %s, want %s", tc.in, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("pyJSON(%s) is not valid JSON: %s", tc.in, got)
		}
	}
	if !jsonEqual([]byte(`{"a": 1, "b": [2.0]}`), []byte(`{"b": [2.0], "a": 1}`)) {
		t.Error("jsonEqual: key order matters")
	}
	if jsonEqual(pyJSON([]byte(`"\ud800"`)), pyJSON([]byte(`"\ufffd"`))) {
		t.Error("jsonEqual: a lone surrogate equals U+FFFD")
	}
	if jsonEqual([]byte(`1`), []byte(`1.0`)) {
		t.Error("jsonEqual: an int equals a float")
	}
}
