package sdk

import (
	"reflect"
	"testing"
)

func TestContext(t *testing.T) {
	c, err := newContext("echo", enc(t, map[string]any{"request_id": "req-1", "n": 3, "roles": []any{"admin"}}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Method() != "echo" || c.Value("request_id") != "req-1" || c.String("request_id") != "req-1" {
		t.Fatalf("context %#v", c)
	}
	if c.String("n") != "" || c.Value("missing") != nil || c.Value("n") != int64(3) {
		t.Fatalf("n %#v missing %#v", c.Value("n"), c.Value("missing"))
	}
	vals := c.Values()
	vals["request_id"] = "changed"
	if c.Value("request_id") != "req-1" {
		t.Fatal("Values() is not a copy")
	}
	d := c.WithValue("user_id", "u")
	if !d.override || c.override || d.Value("user_id") != "u" || c.Value("user_id") != nil || d.Method() != "echo" {
		t.Fatalf("WithValue: %#v from %#v", d, c)
	}

	var nilCtx *Context
	if nilCtx.Method() != "" || nilCtx.Value("x") != nil || !reflect.DeepEqual(nilCtx.Values(), map[string]any{}) {
		t.Fatal("a nil context is not empty")
	}
	if e := nilCtx.WithValue("x", 1); e.Value("x") != 1 {
		t.Fatal("WithValue on a nil context")
	}

	empty, err := newContext("m", nil)
	if err != nil || len(empty.Values()) != 0 {
		t.Fatalf("empty context: %#v, %v", empty, err)
	}
	for _, bad := range [][]byte{{0x01}, {0xff}, {0x81, 0x01}} {
		if _, err := newContext("m", bad); err == nil {
			t.Fatalf("context % x was accepted", bad)
		}
	}
	// A map that is not well formed is found on first use, and read as
	// empty (no wasmrpcd host sends one).
	truncated, err := newContext("m", []byte{0xa1, 0x61, 'k'})
	if err != nil {
		t.Fatal(err)
	}
	if truncated.Value("k") != nil || len(truncated.Values()) != 0 {
		t.Fatalf("a truncated context reads %#v", truncated.Values())
	}
	// Well formed but invalid (a repeated key): read as empty when used.
	dup, err := newContext("m", []byte{0xa2, 0x61, 'k', 0x01, 0x61, 'k', 0x02})
	if err != nil {
		t.Fatal(err)
	}
	if dup.Value("k") != nil || len(dup.Values()) != 0 {
		t.Fatalf("a context with a repeated key reads %#v", dup.Values())
	}
}
