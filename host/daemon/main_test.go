package daemon

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// amqpURL is the broker the tests use: AMQP_URL, or the local one.
func amqpURL() string {
	if u := os.Getenv("AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func TestMain(m *testing.M) {
	u, err := url.Parse(amqpURL())
	if err == nil {
		var conn net.Conn
		conn, err = net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err == nil {
			conn.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "host/daemon tests need RabbitMQ at %s (AMQP_URL): %v\n", amqpURL(), err)
		os.Exit(1)
	}
	for _, f := range []string{"../../modules/testkit/testkit.wasm", "../../modules/testkit/testkit-v1.6.wasm"} {
		if _, err := os.Stat(f); err != nil {
			fmt.Fprintf(os.Stderr, "host/daemon tests need the test modules (run `make modules`): %v\n", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// waitFor polls cond until it holds, failing the test after a generous
// time: the machine is shared and slow at times.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// containsAll reports whether s holds every one of subs.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
