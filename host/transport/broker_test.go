package transport

import (
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Helpers for the tests that need the real broker.

// brokerURL returns AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/)
// parsed, and fails the test when the broker does not answer. Under -short
// (make test-short: no broker, no Python) it skips the test.
func brokerURL(t *testing.T) *URL {
	t.Helper()
	if testing.Short() {
		t.Skip("needs RabbitMQ; -short runs the unit tests only")
	}
	raw := os.Getenv("AMQP_URL")
	if raw == "" {
		raw = "amqp://guest:guest@127.0.0.1:5672/"
	}
	u, err := ParseURL(raw)
	if err != nil {
		t.Fatalf("AMQP_URL: %v", err)
	}
	brokerOnce.Do(func() {
		conn, err := adminDial(u)
		if err != nil {
			brokerErr = err
			return
		}
		_ = conn.Close()
	})
	if brokerErr != nil {
		t.Fatalf("RabbitMQ at %s is unreachable (start it with `make broker`): %v", u.Redacted(), brokerErr)
	}
	return u
}

var (
	brokerOnce sync.Once
	brokerErr  error
)

func adminDial(u *URL) (*amqp.Connection, error) {
	h := u.Brokers()[0]
	return amqp.DialConfig("amqp://"+h.Addr()+"/", amqp.Config{
		Vhost: u.VHost(),
		SASL:  []amqp.Authentication{&amqp.PlainAuth{Username: h.User(), Password: h.Pass()}},
		Dial:  amqp.DefaultDial(10 * time.Second),
	})
}

// janitor deletes at the end of a test the queues and exchanges it was
// told about. Create it before the test's transports so that its cleanup
// runs after theirs.
type janitor struct {
	mu        sync.Mutex
	queues    []string
	exchanges []string
}

func newJanitor(t *testing.T, u *URL) *janitor {
	j := &janitor{}
	t.Cleanup(func() {
		j.mu.Lock()
		defer j.mu.Unlock()
		conn, err := adminDial(u)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer conn.Close()
		del := func(f func(ch *amqp.Channel) error) {
			ch, err := conn.Channel()
			if err != nil {
				t.Errorf("cleanup: %v", err)
				return
			}
			defer ch.Close()
			if err := f(ch); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
		for _, q := range j.queues {
			del(func(ch *amqp.Channel) error { _, err := ch.QueueDelete(q, false, false, false); return err })
		}
		for _, e := range j.exchanges {
			if e != "" {
				del(func(ch *amqp.Channel) error { return ch.ExchangeDelete(e, false, false) })
			}
		}
	})
	return j
}

func (j *janitor) add(queues, exchanges []string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.queues = append(j.queues, queues...)
	j.exchanges = append(j.exchanges, exchanges...)
}

// testLogger logs through t.Log, so that a test's connection events show
// with its failure.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
