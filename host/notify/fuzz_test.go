package notify

import (
	"bytes"
	"testing"
)

// FuzzSanitizeContext feeds SanitizeContext arbitrary bytes, as a guest
// can pass any context to the host's notifier: it must not panic, and what
// it returns is a map of safe keys that sanitises to itself.
func FuzzSanitizeContext(f *testing.F) {
	for _, seed := range []string{
		"", "a0", "bf" + "6869735f61646d696e" + "f5" + "ff", "a1" + "67757365725f6964" + "6175",
		"a2" + "6a617574685f746f6b656e" + "6178" + "65726f6c6573" + "816172", "80", "a10100", "ba7fffffff", "bf",
	} {
		f.Add(hx(f, seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := SanitizeContext(data)
		if err != nil {
			return
		}
		if len(data) == 0 {
			if out != nil {
				t.Fatalf("empty context sanitised to %x", out)
			}
			return
		}
		var m map[string]any
		if err := decMode.Unmarshal(out, &m); err != nil {
			t.Fatalf("SanitizeContext(%x) = %x, which does not decode: %v", data, out, err)
		}
		for k := range m {
			if !safeContextKeys[k] {
				t.Fatalf("SanitizeContext(%x) kept %q", data, k)
			}
		}
		again, err := SanitizeContext(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("sanitising %x again gave %x, %v", out, again, err)
		}
	})
}

// FuzzFilterMatch matches arbitrary context and payload bytes (which come
// from the broker) against filter rules on them: no panic.
func FuzzFilterMatch(f *testing.F) {
	f.Add(cb(f, map[string]any{"tenant_id": "5f64"}), cb(f, map[string]any{"state": "active"}))
	f.Add(hx(f, "f6"), hx(f, "a1"))
	f.Add(hx(f, "bf6174ff"), hx(f, "9f"))
	filter, err := NewFilter(Rules{
		Context: map[string]string{"tenant_id": "^5f"},
		Payload: map[string]string{"state": "act"},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ctx, payload []byte) {
		m := &Message{Context: ctx, Payload: payload}
		filter.Match(m)
	})
}

// FuzzResultOf reads arbitrary guest result values: no panic, and an
// error only for bytes that are not one CBOR item.
func FuzzResultOf(f *testing.F) {
	for _, seed := range []string{"", "f6", "6772657175657565", "7f647265717563657565ff", "6768616e646c6564", "62ff", "1818"} {
		f.Add(hx(f, seed))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		res, err := ResultOf(value)
		if err != nil && res != Handled {
			t.Fatalf("ResultOf(%x) = %v with error %v", value, res, err)
		}
		if res == Requeue {
			var s string
			if err := decMode.Unmarshal(value, &s); err != nil || s != "requeue" {
				t.Fatalf("ResultOf(%x) = requeue", value)
			}
		}
	})
}
