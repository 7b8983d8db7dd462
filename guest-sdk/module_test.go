package sdk

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

func noop(name string) *Handler {
	return Method(name, func(*Context, struct{}) (any, error) { return nil, nil })
}

func TestManifest(t *testing.T) {
	a, b, info := noop("a"), noop("b"), Listener("info", func(*Context, Event) (Ack, error) { return Handled, nil })
	adminB := noop("b").WithExport("rpc.admin.b")
	m := Module{
		Name: "demo",
		Endpoints: []Endpoint{
			{Version: "1.2", Methods: []*Handler{a, b}},
			{Namespace: "admin", Version: "2.0", Methods: []*Handler{adminB, a}},
		},
		Listeners: []*Handler{info},
	}
	got, err := m.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	want := &abi.Manifest{
		ABIVersion: abi.Version,
		Module:     "demo",
		Endpoints: []abi.Endpoint{
			{Version: "1.2", Methods: []abi.Method{{Name: "a", Export: "rpc.a"}, {Name: "b", Export: "rpc.b"}}},
			{Namespace: "admin", Version: "2.0", Methods: []abi.Method{{Name: "b", Export: "rpc.admin.b"}, {Name: "a", Export: "rpc.a"}}},
		},
		Notifications: []abi.NotificationHandler{{Priority: "info", Export: "notify.info"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("manifest\n %#v\nwant\n %#v", got, want)
	}
	// What the host will decode.
	b2, err := cborcodec.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cborcodec.DecodeManifest(b2); err != nil {
		t.Fatalf("the host refuses the manifest: %v", err)
	}
}

func TestManifestRefuses(t *testing.T) {
	a := noop("a")
	info := Listener("info", func(*Context, Event) (Ack, error) { return Handled, nil })
	tests := []struct {
		name string
		m    Module
		want string
	}{
		{"nothing", Module{}, "declares no endpoint and no notification handler"},
		{"no version", Module{Endpoints: []Endpoint{{Methods: []*Handler{a}}}}, "is not major.minor"},
		{"method twice", Module{Endpoints: []Endpoint{{Version: "1.0", Methods: []*Handler{a, a}}}}, `method "a" declared twice`},
		{"export clash", Module{Endpoints: []Endpoint{{Version: "1.0", Methods: []*Handler{a, noop("a")}}}}, `export "rpc.a" serves both a and a`},
		{"reserved export", Module{Endpoints: []Endpoint{{Version: "1.0", Methods: []*Handler{noop("x").WithExport("wasmrpc.alloc")}}}}, "is reserved"},
		{"memory export", Module{Endpoints: []Endpoint{{Version: "1.0", Methods: []*Handler{noop("x").WithExport("memory")}}}}, "is reserved"},
		{"nil handler", Module{Endpoints: []Endpoint{{Version: "1.0", Methods: []*Handler{nil}}}}, "a nil handler"},
		{"listener as method", Module{Endpoints: []Endpoint{{Version: "1.0", Methods: []*Handler{info}}}}, "is a notification listener"},
		{"method as listener", Module{Listeners: []*Handler{a}}, "is a method"},
		{"bad priority", Module{Listeners: []*Handler{Listener("loud", func(*Context, Event) (Ack, error) { return "", nil })}}, `unknown priority "loud"`},
		{"priority twice", Module{Listeners: []*Handler{info, Listener("info", func(*Context, Event) (Ack, error) { return "", nil }).WithExport("notify.info2")}}, `"info" handled twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.m.Manifest()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Manifest() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestRegister registers once per test binary (as a module does in init)
// and checks what wasmrpc.manifest publishes and the class the endpoint
// gives its methods' messages.
func TestRegister(t *testing.T) {
	if got, err := cborcodec.DecodeManifest(manifestBytes()); err == nil {
		t.Fatalf("before Register the manifest is valid: %#v", got)
	}
	echo := Method("echo", func(_ *Context, a struct{ Value any }) (any, error) { return a.Value, nil })
	Register(Module{Name: "reg", Endpoints: []Endpoint{{Version: "1.5", Class: "TestkitEndpoint", Methods: []*Handler{echo}}}})
	m, err := cborcodec.DecodeManifest(manifestBytes())
	if err != nil {
		t.Fatal(err)
	}
	if m.Module != "reg" || m.Endpoints[0].Version != "1.5" || m.Endpoints[0].Methods[0].Export != "rpc.echo" {
		t.Fatalf("manifest %#v", m)
	}
	_, e := result(t, echo.Handle(nil, enc(t, map[string]any{})))
	if want := "TestkitEndpoint.echo() missing 1 required positional argument: 'value'"; e == nil || e.Message != want {
		t.Fatalf("error %#v, want message %q", e, want)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "called twice") {
			t.Fatalf("a second Register: recovered %v", r)
		}
	}()
	Register(Module{Name: "again", Endpoints: []Endpoint{{Version: "1.0", Methods: []*Handler{noop("x")}}}})
}

func TestRegisterPanicsOnInvalidModule(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "sdk.Register: abi: manifest declares no endpoint") {
			t.Fatalf("recovered %v", r)
		}
	}()
	Register(Module{})
}
