package notify

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// SafeContextKeys are the request context keys oslo.messaging's Notifier
// keeps (notifier.py's _sanitize_context): every other key, tokens and
// credentials among them, is dropped before a notification goes out.
var SafeContextKeys = []string{
	"user_id", "project_id", "domain_id", "user_domain_id", "project_domain_id",
	"is_admin", "request_id", "roles", "user_name", "project_name",
	"domain_name", "user_domain_name", "project_domain_name",
	"service_user_id", "service_user_domain_id", "service_user_domain_name",
	"service_project_id", "service_project_name", "service_project_domain_id",
	"service_project_domain_name", "service_roles", "global_request_id",
	"system_scope", "user", "domain", "user_domain", "project_domain",
}

var safeContextKeys = func() map[string]bool {
	m := make(map[string]bool, len(SafeContextKeys))
	for _, k := range SafeContextKeys {
		m[k] = true
	}
	return m
}()

var errContext = errors.New("notify: the context must be a CBOR map with text keys")

// decMode reads CBOR from callers and the broker with the limits guests
// and the host share.
var decMode = func() cbor.DecMode {
	m, err := cborcodec.DecOptions().DecMode()
	if err != nil {
		panic(fmt.Sprintf("notify: CBOR decoding options: %v", err))
	}
	return m
}()

// SanitizeContext returns the CBOR map ctx with only the
// [SafeContextKeys], in their order in ctx, as oslo's Notifier sanitises
// a context. Empty ctx means an empty context. The result never aliases
// ctx.
func SanitizeContext(ctx []byte) ([]byte, error) {
	if len(ctx) == 0 {
		return nil, nil
	}
	n, rest, err := mapHead(ctx)
	if err != nil {
		return nil, err
	}
	var (
		kept [][]byte
		key  string
		seen = map[string]bool{}
	)
	for i := 0; n < 0 || i < n; i++ {
		if n < 0 && len(rest) > 0 && rest[0] == 0xff {
			rest = rest[1:]
			break
		}
		start := rest
		if rest, err = decMode.UnmarshalFirst(rest, &key); err != nil {
			return nil, fmt.Errorf("%w: %w", errContext, err)
		}
		if seen[key] {
			return nil, fmt.Errorf("%w: key %q repeated", errContext, key)
		}
		seen[key] = true
		// Decoded, not only skipped, so that a value the wire cannot carry
		// (invalid UTF-8, too deep) is refused here.
		var v any
		if rest, err = decMode.UnmarshalFirst(rest, &v); err != nil {
			return nil, fmt.Errorf("%w: value of %q: %w", errContext, key, err)
		}
		if safeContextKeys[key] {
			kept = append(kept, start[:len(start)-len(rest)])
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the map", errContext, len(rest))
	}
	out := appendHead(nil, 5, uint64(len(kept)))
	for _, kv := range kept {
		out = append(out, kv...)
	}
	return out, nil
}

// mapHead reads the head of a CBOR map: its number of pairs (-1 for an
// indefinite-length map) and what follows the head.
func mapHead(b []byte) (n int, rest []byte, err error) {
	if len(b) == 0 || b[0]>>5 != 5 {
		return 0, nil, errContext
	}
	info := b[0] & 0x1f
	var size int
	switch {
	case info < 24:
		return int(info), b[1:], nil
	case info == 31:
		return -1, b[1:], nil
	case info <= 27:
		size = 1 << (info - 24)
	default:
		return 0, nil, errContext
	}
	if len(b) < 1+size {
		return 0, nil, fmt.Errorf("%w: truncated", errContext)
	}
	var v uint64
	for _, c := range b[1 : 1+size] {
		v = v<<8 | uint64(c)
	}
	if v > uint64(len(b)) { // each pair takes at least two bytes
		return 0, nil, fmt.Errorf("%w: %d pairs in %d bytes", errContext, v, len(b))
	}
	return int(v), b[1+size:], nil
}

// appendHead appends the shortest CBOR head of major type major and
// argument v.
func appendHead(dst []byte, major byte, v uint64) []byte {
	m := major << 5
	switch {
	case v < 24:
		return append(dst, m|byte(v))
	case v <= 0xff:
		return append(dst, m|24, byte(v))
	case v <= 0xffff:
		return append(dst, m|25, byte(v>>8), byte(v))
	case v <= 0xffffffff:
		return append(dst, m|26, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(dst, m|27, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
