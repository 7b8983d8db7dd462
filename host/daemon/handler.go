package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// methodHandler serves the methods of one endpoint of a loaded wasm module:
// each RPC method is a call of the export the manifest names for it.
type methodHandler struct {
	module  *wasm.Module
	exports map[string]string // method → export
	hidden  map[string]bool   // context keys the guest does not see
}

var _ rpc.Handler = (*methodHandler)(nil)

func (h *methodHandler) ServeRPC(ctx context.Context, req *rpc.Request) ([]byte, error) {
	export, ok := h.exports[req.Method]
	if !ok { // the dispatcher checks the manifest's methods first
		return nil, &rpc.NoSuchMethodError{Method: req.Method}
	}
	reqCtx, err := oslo.HideContextKeys(req.Context, h.hidden)
	if err != nil {
		return nil, &abi.Error{Class: "ValueError", Module: "builtins", Message: "wasmrpcd could not read the request context: " + err.Error()}
	}
	value, err := h.module.Call(withChain(ctx, req.Hops), export, reqCtx, req.Args)
	if err != nil {
		return nil, guestFailure(h.module.Name(), req.Method, err)
	}
	return value, nil
}

// endpointsOf returns the RPC endpoints a module's manifest declares, each
// served by the module, whose guests do not see the hidden context keys.
func endpointsOf(m *wasm.Module, hidden map[string]bool) []rpc.Endpoint {
	manifest := m.Manifest()
	eps := make([]rpc.Endpoint, 0, len(manifest.Endpoints))
	for _, ep := range manifest.Endpoints {
		h := &methodHandler{module: m, exports: make(map[string]string, len(ep.Methods)), hidden: hidden}
		methods := make([]string, 0, len(ep.Methods))
		for _, meth := range ep.Methods {
			h.exports[meth.Name] = meth.Export
			methods = append(methods, meth.Name)
		}
		eps = append(eps, rpc.Endpoint{Namespace: ep.Namespace, Version: ep.Version, Methods: methods, Handler: h})
	}
	return eps
}

// hiddenKeys returns the set of a tenant's context_hidden_keys; nil when
// it hides none.
func hiddenKeys(t *config.Tenant) map[string]bool {
	if t == nil || len(t.ContextHiddenKeys) == 0 {
		return nil
	}
	m := make(map[string]bool, len(t.ContextHiddenKeys))
	for _, k := range t.ContextHiddenKeys {
		m[k] = true
	}
	return m
}

// guestFailure turns the error of a wasm call into the exception the RPC
// caller gets: the guest's own exception as it is, and the host's reasons
// for stopping a guest as Python built-in exceptions a client rebuilds
// (TimeoutError, MemoryError, RuntimeError). A module closed by a swap
// before the call started becomes rpc.ErrEndpointReplaced, so the
// dispatcher serves the call on the new version.
func guestFailure(module, method string, err error) error {
	var guest *abi.Error
	switch {
	case errors.As(err, &guest):
		return guest
	case errors.Is(err, wasm.ErrClosed):
		return fmt.Errorf("%w: %w", rpc.ErrEndpointReplaced, err)
	case errors.Is(err, context.DeadlineExceeded):
		return &abi.Error{Class: "TimeoutError", Module: "builtins",
			Message: fmt.Sprintf("%s.%s was stopped at its deadline", module, method)}
	case errors.Is(err, context.Canceled):
		return &abi.Error{Class: "RuntimeError", Module: "builtins",
			Message: fmt.Sprintf("%s.%s was cancelled: the server is shutting down", module, method)}
	case errors.Is(err, wasm.ErrMemoryLimit):
		return &abi.Error{Class: "MemoryError", Module: "builtins",
			Message: fmt.Sprintf("%s.%s exceeded its memory limit: %v", module, method, err)}
	default:
		return &abi.Error{Class: "RuntimeError", Module: "builtins",
			Message: fmt.Sprintf("%s.%s failed in the sandbox: %v", module, method, err)}
	}
}
