package sdk

import (
	"fmt"
	"strings"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/guest-sdk/internal/cbor"
)

// Module describes what a module serves; [Register] turns it into the
// manifest the host reads through wasmrpc.manifest.
type Module struct {
	// Name is the module's own name, for logs and `wasmrpcd inspect`.
	Name string
	// Endpoints are the RPC endpoints, in the order the dispatcher tries
	// them.
	Endpoints []Endpoint
	// Listeners are notification handlers from [Listener], one per
	// priority.
	Listeners []*Handler
}

// Endpoint is one oslo.messaging endpoint: methods under a namespace and
// version, like a Python endpoint object with a `target` attribute.
type Endpoint struct {
	// Namespace is the target namespace; empty for none.
	Namespace string
	// Version is "major.minor[.revision]".
	Version string
	// Class, when set, is the Python class name the endpoint stands for:
	// argument errors then read "Class.echo() missing …" as a bound
	// method's do, instead of "echo() missing …".
	Class string
	// Methods are the endpoint's handlers from [Method].
	Methods []*Handler
}

// registered is the encoded manifest of the module, set once by Register.
var registered []byte

// Register declares the module's endpoints and listeners; call it once,
// from an init function. It panics when the module is not valid (no
// version, a method twice, an export name used for two handlers, an
// export in the reserved "wasmrpc." space, a second Register), a mistake
// the first load of the module shows: the host reports the trap of its
// initialization with the panic's message.
func Register(m Module) {
	man, err := m.Manifest()
	if err != nil {
		panic(fmt.Sprintf("sdk.Register: %v", err))
	}
	if registered != nil {
		panic("sdk.Register: called twice")
	}
	b, err := cbor.Marshal(man)
	if err != nil {
		panic(fmt.Sprintf("sdk.Register: encoding the manifest: %v", err))
	}
	for _, ep := range m.Endpoints {
		for _, h := range ep.Methods {
			h.setClass(ep.Class)
		}
	}
	registered = b
}

// Manifest builds and checks the manifest that [Register] would publish.
func (m Module) Manifest() (*abi.Manifest, error) {
	man := &abi.Manifest{ABIVersion: abi.Version, Module: m.Name, Endpoints: []abi.Endpoint{}}
	exports := map[string]*Handler{}
	claim := func(h *Handler) error {
		if h == nil {
			return fmt.Errorf("a nil handler")
		}
		if strings.HasPrefix(h.export, "wasmrpc.") || h.export == abi.ExportMemory || h.export == abi.ExportInitialize || h.export == abi.ExportStart {
			return fmt.Errorf("%s: export name %q is reserved", h.name, h.export)
		}
		if other, ok := exports[h.export]; ok && other != h {
			return fmt.Errorf("export %q serves both %s and %s", h.export, other.name, h.name)
		}
		exports[h.export] = h
		return nil
	}
	for _, ep := range m.Endpoints {
		e := abi.Endpoint{Namespace: ep.Namespace, Version: ep.Version, Methods: []abi.Method{}}
		for _, h := range ep.Methods {
			if err := claim(h); err != nil {
				return nil, err
			}
			if h.listener {
				return nil, fmt.Errorf("endpoint %q: %s is a notification listener, not a method", ep.Namespace, h.name)
			}
			e.Methods = append(e.Methods, abi.Method{Name: h.name, Export: h.export})
		}
		man.Endpoints = append(man.Endpoints, e)
	}
	for _, h := range m.Listeners {
		if err := claim(h); err != nil {
			return nil, err
		}
		if !h.listener {
			return nil, fmt.Errorf("listener %s is a method, not a notification listener", h.name)
		}
		man.Notifications = append(man.Notifications, abi.NotificationHandler{Priority: h.name, Export: h.export})
	}
	if err := man.Validate(); err != nil {
		return nil, err
	}
	return man, nil
}

// manifestBytes returns the encoded manifest; a module that registered
// nothing publishes an empty one, which the host refuses with a clear
// message.
func manifestBytes() []byte {
	if registered != nil {
		return registered
	}
	b, err := cbor.Marshal(abi.Manifest{ABIVersion: abi.Version, Endpoints: []abi.Endpoint{}})
	if err != nil {
		panic(fmt.Sprintf("sdk: encoding the empty manifest: %v", err))
	}
	return b
}
