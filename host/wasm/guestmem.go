package wasm

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// This file decodes what a guest writes into its memory. Everything here
// treats its input as hostile: any bytes, any pointer, any length. Each
// decoder has a fuzz test in guestmem_fuzz_test.go.

// decMode checks guest CBOR with the ABI's limits.
var decMode = func() cbor.DecMode {
	m, err := cborcodec.DecOptions().DecMode()
	if err != nil {
		panic(fmt.Sprintf("wasm: CBOR decoding options: %v", err))
	}
	return m
}()

var (
	// valueHeader starts the usual successful Result: {"value": ...
	valueHeader = []byte{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e'}
	// cborNull is the CBOR null value.
	cborNull = []byte{0xf6}
	// emptyMap is the CBOR empty map, {}.
	emptyMap = []byte{0xa0}
)

// guestSpan checks a packed pointer and length a guest returned: the
// length must not exceed max and the bytes must lie inside a memory of
// memSize bytes.
func guestSpan(packed uint64, memSize uint64, max int) (ptr, n uint32, err error) {
	ptr, n = abi.Unpack(packed)
	if max < 0 || uint64(n) > uint64(max) {
		return ptr, n, fmt.Errorf("%w: %d bytes, the cap is %d", ErrResultTooLarge, n, max)
	}
	if uint64(ptr)+uint64(n) > memSize {
		return ptr, n, fmt.Errorf("%w: %d bytes at 0x%x, memory is %d bytes", ErrBadPointer, n, ptr, memSize)
	}
	return ptr, n, nil
}

// decodeResult decodes the CBOR Result a guest returned. It returns the
// value's CBOR (a copy, null when absent), or the exception the guest
// raised, or an error wrapping ErrBadResult. The value is checked to be
// well-formed CBOR within the ABI's nesting and size limits (and its
// built-in tags well-typed); its deeper validity (UTF-8, text map keys,
// no duplicate keys) is checked by whoever decodes it, with
// cborcodec.Unmarshal.
//
// scratch, reused across calls, spares an allocation on the fast path.
func decodeResult(b []byte, scratch *cbor.RawMessage) (value []byte, raised *abi.Error, err error) {
	// The fast path: {"value": V} with nothing else. Decoding into a
	// RawMessage checks the value as the full decode of a Result does.
	if rest, ok := bytes.CutPrefix(b, valueHeader); ok && len(rest) > 0 {
		if decMode.Unmarshal(rest, scratch) == nil {
			return bytes.Clone(*scratch), nil, nil
		}
	}
	var r abi.Result
	if err := decMode.Unmarshal(b, &r); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadResult, err)
	}
	if r.Error != nil {
		if r.Error.Class == "" {
			return nil, nil, fmt.Errorf("%w: an error without a class", ErrBadResult)
		}
		return nil, r.Error, nil
	}
	if len(r.Value) == 0 {
		return cborNull, nil, nil
	}
	return r.Value, nil, nil
}

// isMap reports whether b starts a CBOR map (major type 5).
func isMap(b []byte) bool { return len(b) > 0 && b[0]>>5 == 5 }

// errRequest marks a guest request the host imports refuse with
// ErrnoBadRequest.
var errRequest = errors.New("bad request")

// decodeCallRequest decodes the request a guest passes to wasmrpc.call or
// wasmrpc.cast.
func decodeCallRequest(b []byte) (*abi.CallRequest, error) {
	var req abi.CallRequest
	if err := decMode.Unmarshal(b, &req); err != nil {
		return nil, fmt.Errorf("%w: %v", errRequest, err)
	}
	switch {
	case req.Method == "":
		return nil, fmt.Errorf("%w: no method", errRequest)
	case req.Target.Topic == "":
		return nil, fmt.Errorf("%w: the target has no topic", errRequest)
	case len(req.Args) > 0 && !isMap(req.Args):
		return nil, fmt.Errorf("%w: args is not a map", errRequest)
	case len(req.Context) > 0 && !isMap(req.Context):
		return nil, fmt.Errorf("%w: context is not a map", errRequest)
	}
	if req.Target.Version != "" {
		if _, err := abi.ParseVersion(req.Target.Version); err != nil {
			return nil, fmt.Errorf("%w: target %w", errRequest, err)
		}
	}
	if len(req.Args) == 0 {
		req.Args = emptyMap
	}
	return &req, nil
}

// decodeNotification decodes the notification a guest passes to
// wasmrpc.notify.
func decodeNotification(b []byte) (*abi.Notification, error) {
	var n abi.Notification
	if err := decMode.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("%w: %v", errRequest, err)
	}
	switch {
	case !abi.IsPriority(n.Priority):
		return nil, fmt.Errorf("%w: unknown priority %q", errRequest, n.Priority)
	case n.EventType == "":
		return nil, fmt.Errorf("%w: no event_type", errRequest)
	case n.PublisherID == "":
		return nil, fmt.Errorf("%w: no publisher_id", errRequest)
	case len(n.Context) > 0 && !isMap(n.Context):
		return nil, fmt.Errorf("%w: context is not a map", errRequest)
	}
	if len(n.Payload) == 0 {
		n.Payload = cborNull
	}
	return &n, nil
}

// decodeManifest decodes and checks the manifest a guest returned.
func decodeManifest(b []byte) (*abi.Manifest, error) {
	m, err := cborcodec.DecodeManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	for _, name := range m.Exports() {
		if isReserved(name) {
			return nil, fmt.Errorf("%w: it maps a method or handler to %q, a name the ABI reserves", ErrManifest, name)
		}
	}
	return m, nil
}

// isReserved reports whether an export name belongs to the ABI itself.
func isReserved(name string) bool {
	switch name {
	case abi.ExportMemory, abi.ExportInitialize, abi.ExportStart:
		return true
	}
	return len(name) >= len("wasmrpc.") && name[:len("wasmrpc.")] == "wasmrpc."
}
