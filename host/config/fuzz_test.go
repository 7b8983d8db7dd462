package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse checks that Parse never panics, that what it returns is
// either a valid Config or an *Error with at least one problem, and that
// a valid Config written back as YAML parses to the same Config.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "examples", "wasmrpcd.yaml")); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"transport_url: rabbit://\n",
		"transport_url: rabbit://\ntenants: {a: &a {max_instances: 2}, b: {<<: *a}}\nmodules: [{name: m, path: m.wasm, topic: t, tenant: b}]\n",
		"transport_url: amqp://h\nrabbit: {rabbit_quorum_queue: true, heartbeat_timeout_threshold: 0s}\nlog: {level: debug}\n",
		"transport_url: rabbit://\ntenants: {default: {rpc_targets: ['*', 'a/b@c'], notification_topics: [x]}}\n",
		"transport_url: rabbit://\nmodules: [{name: v, versions: [{path: a, sha256: " + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12" + "}, {path: b}], notification_topics: [n], notification_pool: p}]\n",
		"- [\n",
		"a: *b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse(data, testFile, testEnv)
		if err != nil {
			var ce *Error
			if c != nil || !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("parse returned %v and %#v", c, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parse returned a Config that does not validate: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := parse(out, testFile, testEnv)
		if err != nil {
			t.Fatalf("parsing the marshalled Config:\n%s\n%v", out, err)
		}
		c.lines, again.lines = nil, nil
		c.rabbitFrom, again.rabbitFrom = nil, nil
		if !reflect.DeepEqual(c, again) {
			back, _ := yaml.Marshal(again)
			t.Fatalf("round trip changed the Config:\n%s\nbecame\n%s", out, back)
		}
	})
}
