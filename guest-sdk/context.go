package sdk

import (
	"fmt"
	"maps"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// Context is the request context of one call: the oslo.messaging context
// dict the caller sent (its `_context_*` keys, without the prefix), and
// the name of the method or notification priority being served. A handler
// gets it as its first argument; it is valid during the call only.
type Context struct {
	name   string
	values map[string]any
	// override is set on a context derived with [Context.WithValue]:
	// calls, casts and notifications made with it send its values instead
	// of letting the host reuse the current request's context.
	override bool
}

// newContext decodes the CBOR request context the host passed; empty bytes
// are an empty context.
func newContext(name string, data []byte) (*Context, error) {
	c := &Context{name: name}
	if len(data) == 0 {
		return c, nil
	}
	if err := abi.Unmarshal(data, &c.values); err != nil {
		return nil, fmt.Errorf("wasmrpc: the request context is not a CBOR map: %w", err)
	}
	return c, nil
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
	return c.values[key]
}

// String returns the context's value for key when it is a string, and ""
// otherwise.
func (c *Context) String(key string) string {
	s, _ := c.Value(key).(string)
	return s
}

// Values returns a copy of the whole context.
func (c *Context) Values() map[string]any {
	if c == nil || c.values == nil {
		return map[string]any{}
	}
	return maps.Clone(c.values)
}

// WithValue returns a copy of c in which key is set to v (nil removes
// it). Calls, casts and notifications made with the copy send its values
// as their context; with c itself the host sends the current request's.
func (c *Context) WithValue(key string, v any) *Context {
	d := &Context{name: c.Method(), values: c.Values(), override: true}
	if v == nil {
		delete(d.values, key)
	} else {
		d.values[key] = v
	}
	return d
}
