package abi

import "fmt"

// Manifest is what a module declares about itself through
// [ExportManifest]: the RPC endpoints it serves and the notification
// priorities it handles.
type Manifest struct {
	// ABIVersion must equal [Version].
	ABIVersion uint32 `cbor:"abi_version" json:"abi_version"`
	// Module is the module's own name, for logs and `wasmrpcd inspect`.
	Module string `cbor:"module,omitempty" json:"module,omitempty"`
	// Endpoints are the RPC endpoints, in the order the dispatcher tries
	// them.
	Endpoints []Endpoint `cbor:"endpoints" json:"endpoints"`
	// Notifications are the notification handlers, one per priority.
	Notifications []NotificationHandler `cbor:"notifications,omitempty" json:"notifications,omitempty"`
}

// Endpoint is one oslo.messaging RPC endpoint: the methods served under a
// target namespace and version.
type Endpoint struct {
	// Namespace is the target namespace; empty for none.
	Namespace string `cbor:"namespace,omitempty" json:"namespace,omitempty"`
	// Version is "major.minor", as in oslo's target version.
	Version string `cbor:"version" json:"version"`
	// Methods are the endpoint's methods.
	Methods []Method `cbor:"methods" json:"methods"`
}

// Method maps an RPC method name to the export that serves it.
type Method struct {
	Name   string `cbor:"name" json:"name"`
	Export string `cbor:"export" json:"export"`
}

// NotificationHandler maps a notification priority ("info", "error", …) to
// the export that handles notifications of that priority. The export gets
// the notification's context and, as arguments, a map with the keys
// "publisher_id", "event_type", "payload" and "metadata"; its result value
// is null or "handled" to acknowledge the notification, "requeue" to have
// it delivered again.
type NotificationHandler struct {
	Priority string `cbor:"priority" json:"priority"`
	Export   string `cbor:"export" json:"export"`
}

// Notification handler results.
const (
	NotifyHandled = "handled"
	NotifyRequeue = "requeue"
)

// Result is what a method or notification export returns: a value, or an
// error when Error is set.
type Result struct {
	// Value is the CBOR result; absent means null.
	Value RawMessage `cbor:"value,omitzero"`
	// Error, when set, is raised to the caller instead of returning Value.
	Error *Error `cbor:"error,omitempty"`
}

// Error is an exception raised by a guest. The host sends it to an
// oslo.messaging caller as a remote failure: a Python client rebuilds
// Class from Module when it is allowed to (Module "builtins" for
// ValueError, TypeError, KeyError, …) and raises RemoteError otherwise.
type Error struct {
	// Class is the exception class name, such as "ValueError".
	Class string `cbor:"class"`
	// Module is the Python module of the class; empty lets the host choose
	// ("builtins" for Python's built-in exception names).
	Module string `cbor:"module,omitempty"`
	// Message is the human-readable message.
	Message string `cbor:"message"`
	// Args are the positional arguments of the exception; absent means
	// [Message].
	Args []any `cbor:"args,omitempty"`
	// Kwargs are keyword arguments of the exception.
	Kwargs map[string]any `cbor:"kwargs,omitempty"`
	// Expected marks an error the method's author expects (oslo's
	// ExpectedException): the host logs it without alarm.
	Expected bool `cbor:"expected,omitempty"`
}

func (e *Error) Error() string {
	return e.Class + ": " + e.Message
}

// Target addresses an RPC server, as oslo.messaging's Target does.
type Target struct {
	Exchange  string `cbor:"exchange,omitempty"`
	Topic     string `cbor:"topic"`
	Server    string `cbor:"server,omitempty"`
	Namespace string `cbor:"namespace,omitempty"`
	Version   string `cbor:"version,omitempty"`
	Fanout    bool   `cbor:"fanout,omitempty"`
}

// CallRequest is what a guest passes to [ImportCall] and [ImportCast].
type CallRequest struct {
	Target Target `cbor:"target"`
	Method string `cbor:"method"`
	// Args are the keyword arguments, a CBOR map.
	Args RawMessage `cbor:"args,omitzero"`
	// Context replaces the current request's context when set.
	Context RawMessage `cbor:"context,omitzero"`
	// TimeoutMillis bounds a call; the host also bounds it by the deadline
	// of the guest's own call. Zero means that deadline alone.
	TimeoutMillis uint32 `cbor:"timeout_ms,omitempty"`
}

// Notification is what a guest passes to [ImportNotify].
type Notification struct {
	// Topic is the notification topic; the host's default when empty.
	Topic       string `cbor:"topic,omitempty"`
	Priority    string `cbor:"priority"`
	PublisherID string `cbor:"publisher_id"`
	EventType   string `cbor:"event_type"`
	// Payload is any CBOR value.
	Payload RawMessage `cbor:"payload,omitzero"`
	// Context replaces the current request's context when set.
	Context RawMessage `cbor:"context,omitzero"`
}

// Validate checks a decoded manifest: the ABI version, at least one
// endpoint or notification handler, every method and handler naming an
// export, no method name twice in one endpoint, no priority twice.
func (m *Manifest) Validate() error {
	if m.ABIVersion != Version {
		return fmt.Errorf("abi: manifest declares ABI version %d, this host speaks %d", m.ABIVersion, Version)
	}
	if len(m.Endpoints) == 0 && len(m.Notifications) == 0 {
		return fmt.Errorf("abi: manifest declares no endpoint and no notification handler")
	}
	for i, ep := range m.Endpoints {
		if _, err := ParseVersion(ep.Version); err != nil {
			return fmt.Errorf("abi: endpoint %d (namespace %q): %w", i, ep.Namespace, err)
		}
		seen := make(map[string]bool, len(ep.Methods))
		for _, meth := range ep.Methods {
			if meth.Name == "" || meth.Export == "" {
				return fmt.Errorf("abi: endpoint %d (namespace %q): a method without name or export", i, ep.Namespace)
			}
			if seen[meth.Name] {
				return fmt.Errorf("abi: endpoint %d (namespace %q): method %q declared twice", i, ep.Namespace, meth.Name)
			}
			seen[meth.Name] = true
		}
	}
	seen := make(map[string]bool, len(m.Notifications))
	for _, h := range m.Notifications {
		if !IsPriority(h.Priority) {
			return fmt.Errorf("abi: notification handler for unknown priority %q", h.Priority)
		}
		if h.Export == "" {
			return fmt.Errorf("abi: notification handler for %q names no export", h.Priority)
		}
		if seen[h.Priority] {
			return fmt.Errorf("abi: notification priority %q handled twice", h.Priority)
		}
		seen[h.Priority] = true
	}
	return nil
}

// Exports lists every export the manifest names, each once.
func (m *Manifest) Exports() []string {
	var out []string
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, ep := range m.Endpoints {
		for _, meth := range ep.Methods {
			add(meth.Export)
		}
	}
	for _, h := range m.Notifications {
		add(h.Export)
	}
	return out
}

// Priorities are the oslo.messaging notification priorities, in their
// order of severity.
var Priorities = []string{"audit", "debug", "info", "warn", "error", "critical", "sample"}

// IsPriority reports whether p is one of [Priorities].
func IsPriority(p string) bool {
	for _, q := range Priorities {
		if p == q {
			return true
		}
	}
	return false
}
