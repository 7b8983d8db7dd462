package rpc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// Endpoint is a set of methods served under one target namespace and
// version, as an oslo.messaging endpoint object with a `target` attribute.
type Endpoint struct {
	// Namespace is the endpoint's namespace; "" for none.
	Namespace string
	// Version is the endpoint's version, "major.minor[.revision]"; ""
	// means "1.0" as in oslo.
	Version string
	// Methods are the names the endpoint serves.
	Methods []string
	// Handler serves them.
	Handler Handler
}

// endpoint is an [Endpoint] prepared for dispatch.
type endpoint struct {
	Endpoint
	version abi.APIVersion
	methods map[string]bool
}

// Dispatcher routes requests to endpoints by oslo.messaging's rules: the
// first endpoint whose namespace equals the requested one and whose version
// serves the requested version, and that has the method, handles it;
// methods whose names start with "_" are private and never dispatched.
// When a compatible endpoint lacks the method the caller gets
// NoSuchMethod, when none is compatible UnsupportedVersion.
//
// The endpoint list can be replaced while requests are dispatched
// ([Dispatcher.SetEndpoints]); each request sees one list.
type Dispatcher struct {
	endpoints atomic.Pointer[[]endpoint]
}

// NewDispatcher returns a dispatcher over endpoints.
func NewDispatcher(endpoints ...Endpoint) (*Dispatcher, error) {
	d := new(Dispatcher)
	if err := d.SetEndpoints(endpoints...); err != nil {
		return nil, err
	}
	return d, nil
}

// SetEndpoints replaces the endpoints; requests already dispatched finish
// on the old ones. It fails, leaving the old ones in place, when an
// endpoint's version does not parse or it has no handler.
func (d *Dispatcher) SetEndpoints(endpoints ...Endpoint) error {
	prepared := make([]endpoint, 0, len(endpoints))
	for _, ep := range endpoints {
		v := ep.Version
		if v == "" {
			v = "1.0"
		}
		ver, err := abi.ParseVersion(v)
		if err != nil {
			return fmt.Errorf("rpc: endpoint (namespace %q): %w", ep.Namespace, err)
		}
		if ep.Handler == nil {
			return fmt.Errorf("rpc: endpoint (namespace %q, version %s) has no handler", ep.Namespace, v)
		}
		methods := make(map[string]bool, len(ep.Methods))
		for _, m := range ep.Methods {
			methods[m] = true
		}
		prepared = append(prepared, endpoint{Endpoint: ep, version: ver, methods: methods})
	}
	d.endpoints.Store(&prepared)
	return nil
}

// Endpoints returns the current endpoints.
func (d *Dispatcher) Endpoints() []Endpoint {
	eps := d.endpoints.Load()
	if eps == nil {
		return nil
	}
	out := make([]Endpoint, len(*eps))
	for i, ep := range *eps {
		out[i] = ep.Endpoint
	}
	return out
}

// ErrEndpointReplaced is what a [Handler] returns when it was replaced
// (by [Dispatcher.SetEndpoints]) and closed before it could start the
// request: the dispatcher then serves the request on the current
// endpoints, so a live swap loses no call.
var ErrEndpointReplaced = errors.New("rpc: endpoint replaced before the request started")

// maxRedispatch bounds how often one request follows replaced endpoints.
const maxRedispatch = 8

// HasMethod reports whether any endpoint declares method: what bounds
// the method names a caller can make appear in metrics.
func (d *Dispatcher) HasMethod(method string) bool {
	eps := d.endpoints.Load()
	if eps == nil {
		return false
	}
	for i := range *eps {
		if (*eps)[i].methods[method] {
			return true
		}
	}
	return false
}

// Dispatch serves req on the endpoint oslo.messaging's rules pick.
func (d *Dispatcher) Dispatch(ctx context.Context, req *Request) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		ep, err := d.Lookup(req)
		if err != nil {
			return nil, err
		}
		result, err := ep.Handler.ServeRPC(ctx, req)
		if errors.Is(err, ErrEndpointReplaced) && attempt < maxRedispatch {
			continue
		}
		return result, err
	}
}

// Lookup returns the endpoint that would serve req, or the error the
// caller gets: [*NoSuchMethodError], [*UnsupportedVersionError], or the
// ValueError or IndexError Python raises for a malformed version.
func (d *Dispatcher) Lookup(req *Request) (*Endpoint, error) {
	requested := req.Version
	if requested == "" {
		requested = "1.0"
	}
	eps := d.endpoints.Load()
	if eps == nil {
		return nil, &UnsupportedVersionError{Version: requested, Method: req.Method}
	}
	compatible := false
	for i := range *eps {
		ep := &(*eps)[i]
		if ep.Namespace != req.Namespace {
			continue
		}
		ok, err := versionServes(ep.version, requested)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if ep.methods[req.Method] && !strings.HasPrefix(req.Method, "_") {
			return &ep.Endpoint, nil
		}
		compatible = true
	}
	if compatible {
		return nil, &NoSuchMethodError{Method: req.Method}
	}
	return nil, &UnsupportedVersionError{Version: requested, Method: req.Method}
}

// versionServes is oslo's version_is_compatible(impl, requested), step by
// step, so that a malformed requested version fails where and as Python's
// int() and indexing fail.
func versionServes(impl abi.APIVersion, requested string) (bool, error) {
	parts := strings.Split(requested, ".")
	part := func(i int) (int, error) {
		if i >= len(parts) {
			return 0, &abi.Error{Class: "IndexError", Module: "builtins", Message: "list index out of range"}
		}
		n, err := strconv.Atoi(strings.TrimSpace(parts[i]))
		if err != nil {
			return 0, &abi.Error{
				Class:   "ValueError",
				Module:  "builtins",
				Message: fmt.Sprintf("invalid literal for int() with base 10: '%s'", parts[i]),
			}
		}
		return n, nil
	}
	major, err := part(0)
	if err != nil || major != impl.Major {
		return false, err
	}
	minor, err := part(1)
	if err != nil || minor > impl.Minor {
		return false, err
	}
	if minor < impl.Minor {
		return true, nil
	}
	rev := 0
	if len(parts) > 2 {
		if rev, err = part(2); err != nil {
			return false, err
		}
	}
	return rev <= impl.Revision, nil
}

// NoSuchMethodError is oslo's NoSuchMethod: a compatible endpoint exists
// but does not expose the method.
type NoSuchMethodError struct {
	Method string
}

func (e *NoSuchMethodError) Error() string {
	return "Endpoint does not support RPC method " + e.Method
}

// UnsupportedVersionError is oslo's UnsupportedVersion: no endpoint serves
// the requested namespace and version.
type UnsupportedVersionError struct {
	Version string
	Method  string
}

func (e *UnsupportedVersionError) Error() string {
	msg := "Endpoint does not support RPC version " + e.Version
	if e.Method != "" {
		msg += ". Attempted method: " + e.Method
	}
	return msg
}
