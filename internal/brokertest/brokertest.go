// Package brokertest holds what the tests of several packages need from
// the shared RabbitMQ broker: rabbitmqctl, and closing a named client
// connection as the broker does when it drops one.
package brokertest

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Rabbitmqctl runs rabbitmqctl with args and returns its output; it fails
// t when the command fails.
func Rabbitmqctl(t testing.TB, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("rabbitmqctl")
	if err != nil {
		path = "/usr/sbin/rabbitmqctl"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).Output()
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// CloseConnections closes, through rabbitmqctl, the broker's client
// connections whose connection_name is one of names, and returns how
// many it closed.
func CloseConnections(t testing.TB, names ...string) int {
	t.Helper()
	// Lines are "<pid>\t[{"connection_name","NAME"},...]"; the JSON
	// formatter prints pids that close_connection does not take.
	out := Rabbitmqctl(t, "list_connections", "pid", "client_properties", "--quiet", "--no-table-headers")
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		pid, props, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		for _, name := range names {
			if strings.Contains(props, `{"connection_name","`+name+`"}`) {
				Rabbitmqctl(t, "close_connection", pid, "closed by a wasmrpcd test")
				n++
			}
		}
	}
	return n
}
