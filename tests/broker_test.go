package tests

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// dial opens an AMQP connection to the broker, named so that it shows up
// as the tests' own in `rabbitmqctl list_connections`.
func dial() (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("wasmrpcd-e2e-tests")
	return amqp.DialConfig(brokerURL, amqp.Config{
		Dial:       amqp.DefaultDial(10 * time.Second),
		Properties: props,
	})
}

// dialT is dial that fails the test, closing the connection at its end.
func dialT(t *testing.T) *amqp.Connection {
	t.Helper()
	conn, err := dial()
	if err != nil {
		t.Fatalf("RabbitMQ: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// rabbitURL returns the broker URL as oslo.messaging writes it, with the
// driver options query (may be empty): "rabbit://guest:guest@host:5672/?q".
func rabbitURL(query string) string {
	u := "rabbit" + strings.TrimPrefix(strings.TrimPrefix(brokerURL, "amqps"), "amqp")
	if query != "" {
		u += "?" + query
	}
	return u
}

// names makes the unique broker names of one test: its control exchange
// and topics carry a random suffix, so that tests of every package can
// share the broker, and everything it names is deleted when the test ends.
type names struct {
	prefix    string
	exchanges []string
	queues    []string
}

// newNames returns the names of test t and registers their deletion.
func newNames(t *testing.T) *names {
	t.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	n := &names{prefix: "e2e_" + hex.EncodeToString(b[:])}
	t.Cleanup(func() { n.delete(t) })
	return n
}

// exchange returns the test's control exchange.
func (n *names) exchange() string {
	name := n.prefix + "_x"
	n.addExchange(name)
	return name
}

// topic returns a topic of the test named after what (a word), and
// registers the deletion of its queues: topic, topic.SERVER for each of
// servers, and of its fanout exchange topic_fanout.
func (n *names) topic(what string, servers ...string) string {
	topic := n.prefix + "_" + what
	n.addExchange(topic + "_fanout")
	n.addQueue(topic)
	for _, s := range servers {
		n.addQueue(topic + "." + s)
	}
	return topic
}

// addQueue registers the deletion of a queue the test declared or caused
// to be declared (a reply queue, say).
func (n *names) addQueue(name string) {
	if name != "" {
		n.queues = append(n.queues, name)
	}
}

func (n *names) addExchange(name string) { n.exchanges = append(n.exchanges, name) }

// delete deletes the test's queues and exchanges; a missing one is fine.
func (n *names) delete(t *testing.T) {
	conn, err := dial()
	if err != nil {
		t.Errorf("cleaning up the broker: %v", err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Errorf("cleaning up the broker: %v", err)
		return
	}
	for _, q := range n.queues {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			if ch, err = reopen(conn, err); err != nil {
				t.Errorf("deleting queue %s: %v", q, err)
				return
			}
		}
	}
	for _, x := range n.exchanges {
		if err := ch.ExchangeDelete(x, false, false); err != nil {
			if ch, err = reopen(conn, err); err != nil {
				t.Errorf("deleting exchange %s: %v", x, err)
				return
			}
		}
	}
	_ = ch.Close()
}

// reopen returns a new channel after a channel error (the broker closes a
// channel on any failed operation); it fails on a connection error.
func reopen(conn *amqp.Connection, cause error) (*amqp.Channel, error) {
	var aerr *amqp.Error
	if errors.As(cause, &aerr) && !aerr.Recover && conn.IsClosed() {
		return nil, cause
	}
	return conn.Channel()
}
