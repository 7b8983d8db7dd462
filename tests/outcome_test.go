package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// The comparison of two outcomes, the heart of the differential tests.

// firstLine returns a message up to its first line break, literal or
// escaped: a rebuilt remote exception's message is followed by the
// server's traceback, which differs between servers (a KeyError's str()
// is a repr, where the break is the two characters `\n`).
// Message IDs (UUIDs as 32 hex digits), which differ from call to call,
// read as "<id>".
func firstLine(s string) string {
	if i := strings.Index(s, "\n"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, `\n`); i >= 0 {
		s = s[:i]
	}
	return messageID.ReplaceAllString(s, "<id>")
}

var messageID = regexp.MustCompile(`\b[0-9a-f]{32}\b`)

// sameOutcome returns nil when a client cannot tell the outcomes apart
// (tracebacks aside): the same result (as JSON text, so that the order of
// object keys counts), or an exception of the same class
// and module, with the same first line of message (see text), the same arguments
// after the first (which carries the traceback) and, for a RemoteError,
// the same exc_type and value.
func sameOutcome(py, wasm Outcome) error {
	if py.OK != wasm.OK {
		return fmt.Errorf("python: %v; wasmrpcd: %v", py, wasm)
	}
	if py.OK {
		// The same client wrote both as JSON: equal values in the same
		// order (of keys, say) are the same text.
		if !bytes.Equal(py.Result, wasm.Result) {
			return fmt.Errorf("results differ: python %s, wasmrpcd %s", py.Result, wasm.Result)
		}
		return nil
	}
	p, w := py.Error, wasm.Error
	if p == nil || w == nil {
		return fmt.Errorf("an error without a description: python %v, wasmrpcd %v", py, wasm)
	}
	var diffs []string
	diff := func(what string, a, b any) {
		diffs = append(diffs, fmt.Sprintf("%s: python %v, wasmrpcd %v", what, a, b))
	}
	if p.Class != w.Class {
		diff("class", p.Class, w.Class)
	}
	if p.Module != w.Module {
		diff("module", p.Module, w.Module)
	}
	if pm, wm := firstLine(p.text()), firstLine(w.text()); pm != wm {
		diff("message", quote(pm), quote(wm))
	}
	if deref(p.ExcType) != deref(w.ExcType) {
		diff("exc_type", deref(p.ExcType), deref(w.ExcType))
	}
	if !rawEqual(p.Value, w.Value) {
		diff("value", string(p.Value), string(w.Value))
	}
	if pa, wa := restArgs(p.Args), restArgs(w.Args); !rawEqual(pa, wa) {
		diff("args[1:]", string(pa), string(wa))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("exceptions differ:\n\t%s", strings.Join(diffs, "\n\t"))
	}
	return nil
}

// text returns the exception's message: its first argument when that is
// a string (for a rebuilt built-in exception, the remote message and the
// traceback; str() of a KeyError would be their repr, whose quotes depend
// on the traceback's text), else str() of it.
func (e *RemoteError) text() string {
	if len(e.Args) > 0 {
		var s string
		if json.Unmarshal(e.Args[0], &s) == nil {
			return s
		}
	}
	return e.Message
}

// restArgs returns the exception's arguments after the first, as JSON.
func restArgs(args []json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, a := range args {
		if i == 0 {
			continue
		}
		if i > 1 {
			b.WriteByte(',')
		}
		b.Write(a)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// rawEqual compares JSON texts as values; absent and null are equal.
func rawEqual(a, b []byte) bool {
	if len(bytes.TrimSpace(a)) == 0 {
		a = []byte("null")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("null")
	}
	return jsonEqual(a, b)
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// check returns nil when o is what want describes:
//
//	"ok JSON"        a result equal to JSON (Python's JSON: NaN, big integers)
//	"error CLASS"    an exception of class CLASS (the client's name for it)
//	"remote EXC"     a RemoteError whose exc_type is EXC
func (o Outcome) check(want string) error {
	kind, arg, _ := strings.Cut(want, " ")
	switch kind {
	case "ok":
		if o.resultIs(arg) {
			return nil
		}
	case "error":
		if !o.OK && o.Error != nil && o.Error.Class == arg {
			return nil
		}
	case "remote":
		if !o.OK && o.Error != nil && o.Error.Class == "RemoteError" && deref(o.Error.ExcType) == arg {
			return nil
		}
	default:
		return fmt.Errorf("bad expectation %q", want)
	}
	return fmt.Errorf("got %v, want %s", o, want)
}
