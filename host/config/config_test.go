package config

import (
	"errors"
	"testing"
)

// TestValidateBuiltInCode checks a Config built from Default: it is
// valid once the machine-dependent values are set, and its problems
// carry no line.
func TestValidateBuiltInCode(t *testing.T) {
	c := Default()
	c.TransportURL = "amqp://guest:guest@127.0.0.1:5672/"
	c.Server = "host-a"
	c.Modules = []Module{{
		Name: "a", Versions: []ModuleFile{{Path: "/a.wasm"}}, Topic: "a",
		Server: "host-a", Exchange: DefaultControlExchange, Tenant: DefaultTenant,
	}}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c.Modules = append(c.Modules, Module{Name: "b", Versions: []ModuleFile{{Path: "/b.wasm"}}, Topic: "b"})
	c.Tenants["t"] = &Tenant{Name: "t", RPCTargets: []RPCTarget{{Topic: "x"}}}
	c.Tenants["nil"] = nil
	err := c.Validate()
	want := "tenants.nil: tenant is nil\n" +
		"tenants.t.memory_limit: must be from 64KiB (one wasm page) to 4GiB, got 0\n" +
		"tenants.t.call_timeout: must be positive, got 0s\n" +
		"tenants.t.max_instances: must be at least 1, got 0\n" +
		"tenants.t.max_result_size: must be from 1B to 4GiB-1B, got 0\n" +
		"tenants.t.stack_limit: must be from 64KiB to 256MiB, got 0\n" +
		"tenants.t.max_hops: must be from 1 to 65536, got 0\n" +
		"tenants.t.max_sends_per_request: must be at least 1, got 0\n" +
		"tenants.t.rpc_targets[0]: exchange must not be empty (\"*\" for any)\n" +
		"tenants.t.max_notification_size: must be from 1B to 4GiB-1B, got 0\n" +
		"tenants.t.guest_log_level: unknown level \"\" (want one of debug, info, warn, error)\n" +
		"tenants.t.guest_log_max_level: unknown level \"\" (want one of debug, info, warn, error)\n" +
		"modules[1].server: must not be empty\n" +
		"modules[1].exchange: must not be empty\n" +
		"modules[1].tenant: must not be empty"
	var ce *Error
	if !errors.As(err, &ce) || err.Error() != want {
		t.Fatalf("Validate:\n%v\nwant:\n%s", err, want)
	}
	for _, p := range ce.Problems {
		if p.Line != 0 {
			t.Errorf("problem %v has a line", p)
		}
	}
}

func TestLookups(t *testing.T) {
	c, err := parse([]byte(`transport_url: rabbit://
tenants: {b: {}, a: {max_instances: 2}}
modules:
  - {name: x, path: x.wasm, topic: x, tenant: a}
  - {name: y, path: y.wasm, topic: y}
`), testFile, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Module("y"); m == nil || m != &c.Modules[1] {
		t.Errorf("Module(y) = %v", m)
	}
	if m := c.Module("z"); m != nil {
		t.Errorf("Module(z) = %v", m)
	}
	if tn := c.Tenant(c.Module("x").Tenant); tn == nil || tn.Name != "a" || tn.MaxInstances != 2 {
		t.Errorf("Tenant(a) = %+v", tn)
	}
	if tn := c.Tenant("default"); tn == nil || tn.MaxInstances != DefaultMaxInstances {
		t.Errorf("implicit default tenant = %+v", tn)
	}
	if tn := c.Tenant("z"); tn != nil {
		t.Errorf("Tenant(z) = %+v", tn)
	}
	if got := c.TenantNames(); len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "default" {
		t.Errorf("TenantNames() = %v", got)
	}
}

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		file string
		want string
	}{
		{Problem{Line: 3, Path: "a.b", Message: "m"}, "f.yaml", "f.yaml:3: a.b: m"},
		{Problem{Path: "a.b", Message: "m"}, "f.yaml", "f.yaml: a.b: m"},
		{Problem{Line: 3, Message: "m"}, "f.yaml", "f.yaml:3: m"},
		{Problem{Line: 3, Path: "a", Message: "m"}, "", "line 3: a: m"},
		{Problem{Path: "a", Message: "m"}, "", "a: m"},
		{Problem{Message: "m"}, "", "m"},
	} {
		if got := (&Error{File: tc.file, Problems: []Problem{tc.p}}).Error(); got != tc.want {
			t.Errorf("%+v in %q = %q, want %q", tc.p, tc.file, got, tc.want)
		}
	}
	if got := (Problem{Line: 1, Path: "p", Message: "m"}).String(); got != "line 1: p: m" {
		t.Errorf("String() = %q", got)
	}
}
