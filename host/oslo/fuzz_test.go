package oslo

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// goldenBodies returns the bodies of the golden messages, as fuzz seeds.
func goldenBodies(f *testing.F) [][]byte {
	f.Helper()
	files, err := filepath.Glob("testdata/*_*.json")
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		v, err := DecodeValue(data)
		if err != nil {
			f.Fatal(err)
		}
		if body, ok := v.(map[string]any)["body"].(string); ok {
			out = append(out, []byte(body))
		}
	}
	return out
}

var jsonSeeds = []string{
	`{"a": [1, -1, 1.5e300, NaN, Infinity, -Infinity, "x\u00e9\ud83d\ude00", null, true, false]}`,
	`18446744073709551616`, `-18446744073709551617`, `[[[[{}]]]]`, `"\ud800"`,
	`{"a": 1, "a": 2}`, `0.1`, `-0.0`, `1e400`, `"\\\"\/\b\f\n\r\t"`,
}

// FuzzJSONToCBOR checks that the JSON decoder never panics, writes
// well-formed CBOR, reads what encoding/json reads (but for NaN and
// Infinity, which it adds, and its limits), and that JSON→CBOR→JSON→CBOR
// is stable.
func FuzzJSONToCBOR(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	for _, b := range goldenBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := JSONToCBOR(nil, in)
		if err != nil {
			if json.Valid(in) && utf8.Valid(in) && !bytes.Contains(in, []byte(`\u`)) &&
				!isLimit(err) {
				t.Fatalf("refused valid JSON %q: %v", in, err)
			}
			return
		}
		if !json.Valid(in) && !bytes.Contains(in, []byte("NaN")) && !bytes.Contains(in, []byte("Infinity")) {
			t.Fatalf("accepted invalid JSON %q", in)
		}
		if err := cbor.Wellformed(c); err != nil {
			t.Fatalf("wrote ill-formed CBOR %x for %q: %v", c, in, err)
		}
		j, err := CBORToJSON(nil, c)
		if err != nil {
			t.Fatalf("CBORToJSON(%x) of %q: %v", c, in, err)
		}
		c2, err := JSONToCBOR(nil, j)
		if err != nil {
			t.Fatalf("JSONToCBOR(%s): %v", j, err)
		}
		if !bytes.Equal(c, c2) {
			t.Fatalf("unstable: %q → %x → %s → %x", in, c, j, c2)
		}
	})
}

// isLimit reports an error from a limit encoding/json does not have: the
// nesting depth and the integer length.
func isLimit(err error) bool {
	return err != nil && (bytes.Contains([]byte(err.Error()), []byte("nests deeper")) ||
		bytes.Contains([]byte(err.Error()), []byte("digits exceeds")))
}

// FuzzCBORToJSON checks that the CBOR decoder never panics and that what
// it writes is JSON that reads back to the same JSON.
func FuzzCBORToJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		c, err := JSONToCBOR(nil, []byte(s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c)
	}
	for _, h := range []string{"9f0102ff", "bf616101ff", "7f6161ff", "d54103", "c24101", "c34101", "f7", "f820", "a1f93e0001", "fb7ff8000000000001"} {
		f.Add(mustHex(h))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		j, err := CBORToJSON(nil, in)
		if err != nil {
			return
		}
		c, err := JSONToCBOR(nil, j)
		if err != nil {
			t.Fatalf("CBORToJSON(%x) wrote %s, which JSONToCBOR refuses: %v", in, j, err)
		}
		j2, err := CBORToJSON(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(j, j2) && !bytes.Contains(j, []byte(`{`)) {
			// Objects may lose repeated keys; anything else is stable.
			t.Fatalf("unstable: %x → %s → %x → %s", in, j, c, j2)
		}
	})
}

// FuzzDecodeRequest checks that the request decoder never panics and that
// a decoded request encodes and decodes back to the same request.
func FuzzDecodeRequest(f *testing.F) {
	for _, b := range goldenBodies(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"method": "m", "args": {"a": 1}, "_context_x": 1, "_context_x": 2, "_context_msg_id": 3}`))
	f.Add([]byte(`{"method": "m", "args": {}, "_unique_id": "u", "_wasmrpcd_hops": 7, "_wasmrpcd_hops": 1e400}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body)
		if err != nil || r.Method == "" {
			// An empty method decodes (the server answers NoSuchMethod) but
			// is not one a client sends.
			return
		}
		if r.UniqueID == "" {
			r.UniqueID = "u"
		}
		out, err := EncodeRequest(nil, &r)
		if err != nil {
			t.Fatalf("EncodeRequest(%+v) of %q: %v", r, body, err)
		}
		r2, err := DecodeRequest(out)
		if err != nil {
			t.Fatalf("DecodeRequest(%s): %v", out, err)
		}
		if r.Method != r2.Method || r.Namespace != r2.Namespace || r.Version != r2.Version ||
			r.MsgID != r2.MsgID || (r.IsCall() && r.ReplyQ != r2.ReplyQ) || r.UniqueID != r2.UniqueID ||
			!bytes.Equal(r.Args, r2.Args) || r.Hops != r2.Hops {
			t.Fatalf("round trip of %q:\n%+v\n%+v", body, r, r2)
		}
	})
}

// FuzzDecodeReply checks that the reply decoder never panics and that a
// decoded reply encodes and decodes back to the same reply.
func FuzzDecodeReply(f *testing.F) {
	for _, b := range goldenBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeReply(body)
		if err != nil {
			return
		}
		if r.MsgID == "" {
			r.MsgID = "m"
		}
		if r.UniqueID == "" {
			r.UniqueID = "u"
		}
		out, err := EncodeReply(nil, &r)
		if err != nil {
			t.Fatalf("EncodeReply(%+v) of %q: %v", r, body, err)
		}
		r2, err := DecodeReply(out)
		if err != nil {
			t.Fatalf("DecodeReply(%s): %v", out, err)
		}
		if r.MsgID != r2.MsgID || r.Ending != r2.Ending || !bytes.Equal(r.Result, r2.Result) ||
			(r.Failure == nil) != (r2.Failure == nil) {
			t.Fatalf("round trip of %q:\n%+v\n%+v", body, r, r2)
		}
		if r.Failure != nil && (r.Failure.Class != r2.Failure.Class || r.Failure.Message != r2.Failure.Message) {
			t.Fatalf("failure round trip: %+v %+v", r.Failure, r2.Failure)
		}
	})
}

// FuzzDecodeNotification checks that the notification decoder never
// panics and that a decoded notification encodes and decodes back.
func FuzzDecodeNotification(f *testing.F) {
	for _, b := range goldenBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := DecodeNotification(body)
		if err != nil {
			return
		}
		if n.UniqueID == "" {
			n.UniqueID = "u"
		}
		out, err := EncodeNotification(nil, &n)
		if err != nil {
			t.Fatalf("EncodeNotification(%+v) of %q: %v", n, body, err)
		}
		n2, err := DecodeNotification(out)
		if err != nil {
			t.Fatalf("DecodeNotification(%s): %v", out, err)
		}
		if n.EventType != n2.EventType || n.Priority != n2.Priority || n.Legacy != n2.Legacy ||
			!bytes.Equal(n.Payload, n2.Payload) {
			t.Fatalf("round trip of %q:\n%+v\n%+v", body, n, n2)
		}
	})
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzDecodeFailure checks that the failure decoder never panics and that
// a decoded failure encodes and decodes back to the same failure.
func FuzzDecodeFailure(f *testing.F) {
	for _, s := range []string{
		`{"class": "ValueError", "module": "builtins", "message": "m", "tb": ["a\n"], "args": ["m", 1], "kwargs": {"k": [1.5]}}`,
		`{"class": "NoSuchMethod"}`, `{"tb": [], "args": [], "kwargs": {}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fl, err := DecodeFailure(in)
		if err != nil {
			return
		}
		out, err := EncodeFailure(nil, fl)
		if err != nil {
			t.Fatalf("EncodeFailure(%+v) of %q: %v", fl, in, err)
		}
		fl2, err := DecodeFailure(out)
		if err != nil {
			t.Fatalf("DecodeFailure(%s): %v", out, err)
		}
		if fl.Class != fl2.Class || fl.Module != fl2.Module || fl.Message != fl2.Message ||
			(fl.Traceback != nil && len(fl.Traceback) != len(fl2.Traceback)) {
			t.Fatalf("round trip of %q:\n%+v\n%+v", in, fl, fl2)
		}
	})
}
