package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/config"
)

// TestExampleConfig loads the example that `make run` uses.
func TestExampleConfig(t *testing.T) {
	path := filepath.Join("..", "..", "examples", "wasmrpcd.yaml")
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if c.TransportURL != "rabbit://guest:guest@127.0.0.1:5672/" || c.ControlExchange != "openstack" ||
		c.AdminListen != "127.0.0.1:9464" || c.Server != host ||
		c.CacheDir != filepath.Join(root, ".cache", "wasmrpcd") {
		t.Errorf("top level: %+v", c)
	}
	def, ex := c.Tenant("default"), c.Tenant("examples")
	if def == nil || def.MaxInstances != 8 || def.MemoryLimit != 64*config.MiB || def.CallTimeout.Std() != 30*time.Second ||
		!def.AllowsNotification("testkit_seen") || def.AllowsNotification("notifications") {
		t.Errorf("default tenant: %+v", def)
	}
	if ex == nil || ex.MaxInstances != 1 || ex.MaxConcurrency != 1 {
		t.Errorf("examples tenant: %+v", ex)
	}
	for _, want := range []struct {
		name, topic, tenant string
		notify              []string
	}{
		{"testkit", "testkit", "default", []string{"notifications"}},
		{"volumes", "volumes", "examples", nil},
		{"cadder", "cadder", "default", nil},
	} {
		m := c.Module(want.name)
		if m == nil {
			t.Errorf("no module %s", want.name)
			continue
		}
		file := filepath.Join(root, "modules", want.name, want.name+".wasm")
		if m.Topic != want.topic || m.Tenant != want.tenant || m.Server != host || m.Exchange != "openstack" ||
			len(m.Versions) != 1 || m.Versions[0].Path != file || !reflect.DeepEqual(m.NotificationTopics, want.notify) {
			t.Errorf("module %s: %+v", want.name, m)
		}
	}
	if len(c.Modules) != 3 {
		t.Errorf("%d modules, want 3", len(c.Modules))
	}
}

func ExampleParse() {
	_, err := config.Parse([]byte(`transport_url: rabbit://guest:guest@127.0.0.1:5672/
tenants:
  default: {memory_limit: 64MiB, call_timeout: 30, max_instances: 8}
modules:
  - name: testkit
    path: modules/testkit/testkit.wasm
    topic: testkit
    tenant: gold
    notification_topic: [notifications]
`), "wasmrpcd.yaml")
	fmt.Println(err)
	// Output:
	// wasmrpcd.yaml:3: tenants.default.call_timeout: duration "30" needs a unit, such as "30s"
	// wasmrpcd.yaml:8: modules[0].tenant: unknown tenant "gold" (tenants are: default)
	// wasmrpcd.yaml:9: modules[0].notification_topic: unknown key (did you mean "notification_topics"?)
}
