package sdk

import (
	"errors"
	"maps"

	"github.com/wasmrpcd/wasmrpcd/guest-sdk/internal/cbor"
)

// Context is the request context of one call: the oslo.messaging context
// dict the caller sent (its `_context_*` keys, without the prefix), and
// the name of the method or notification priority being served. A handler
// gets it as its first argument; it is valid during the call only (the
// wasm export reuses it for the next call).
//
// The context is decoded (and checked) on first use, from the bytes the
// host passed, which it does not copy: a method that never looks at it
// does not pay for reading the twenty-odd keys of an OpenStack request
// context.
type Context struct {
	name string
	// raw is the CBOR map the host passed, until values is decoded from
	// it.
	raw    []byte
	values map[string]any
	// override is set on a context derived with [Context.WithValue]:
	// calls, casts and notifications made with it send its values instead
	// of letting the host reuse the current request's context.
	override bool
}

// reset makes c the context of a call of name, whose CBOR map data (the
// host's bytes, kept until release) is decoded and checked on first use;
// empty bytes are an empty context. Bytes that are not a map at all are
// an error at once.
func (c *Context) reset(name string, data []byte) error {
	*c = Context{name: name}
	if len(data) == 0 || len(data) == 1 && data[0] == 0xa0 { // nothing, or {}
		return nil
	}
	if data[0]>>5 != 5 { // CBOR major type 5: map
		return errContextNotMap
	}
	c.raw = data
	return nil
}

var errContextNotMap = errors.New("wasmrpc: the request context is not a CBOR map")

// release drops what c refers to once the call is over.
func (c *Context) release() { c.raw, c.values = nil, nil }

// decoded returns the context's values, decoding them on first use. A
// context that does not decode (truncated, a repeated key, text that is
// not UTF-8: what no wasmrpcd host sends) is logged and read as empty.
func (c *Context) decoded() map[string]any {
	if c.raw != nil {
		v, err := cbor.DecodeAny(c.raw)
		c.values, _ = v.(map[string]any)
		if err != nil {
			Logf(LevelError, "%s(): the request context does not decode: %v", c.name, err)
			c.values = nil
		}
		c.raw = nil
	}
	return c.values
}

// Method returns the name of the method being called, or the priority of
// the notification being handled.
func (c *Context) Method() string {
	if c == nil {
		return ""
	}
	return c.name
}

// Value returns the context's value for key, or nil when it has none:
// c.Value("request_id"), c.Value("project_id").
func (c *Context) Value(key string) any {
	if c == nil {
		return nil
	}
	return c.decoded()[key]
}

// String returns the context's value for key when it is a string, and ""
// otherwise.
func (c *Context) String(key string) string {
	s, _ := c.Value(key).(string)
	return s
}

// Values returns a copy of the whole context.
func (c *Context) Values() map[string]any {
	if c == nil || c.decoded() == nil {
		return map[string]any{}
	}
	return maps.Clone(c.values)
}

// WithValue returns a copy of c in which key is set to v (nil removes
// it). Calls, casts and notifications made with the copy send its values
// as their context; with c itself the host sends the current request's.
// The copy stays valid after the call.
func (c *Context) WithValue(key string, v any) *Context {
	d := &Context{name: c.Method(), values: c.Values(), override: true}
	if v == nil {
		delete(d.values, key)
	} else {
		d.values[key] = v
	}
	return d
}
