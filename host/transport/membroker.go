package transport

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// The in-memory broker: exchanges, queues, bindings and routing with
// RabbitMQ's rules, enough for the topology oslo.messaging uses. Every
// method here runs with memBroker.mu held.

type memExchange struct {
	decl     exchangeDecl
	bindings []memBinding
}

type memBinding struct {
	queue, key string
}

type memQueue struct {
	decl        queueDecl
	msgs        []*memMessage
	consumers   int
	hadConsumer bool
}

type memMessage struct {
	body        []byte
	exchange    string
	key         string
	redelivered bool
	expires     time.Time // zero: never
	ttl         time.Duration
}

// checkedQueueArgs are the queue arguments RabbitMQ compares when a queue
// is declared again; the others (x-ha-policy among them) may differ.
var checkedQueueArgs = []string{
	"x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key",
	"x-max-length", "x-max-length-bytes", "x-max-in-memory-length", "x-max-in-memory-bytes",
	"x-max-priority", "x-overflow", "x-queue-mode", "x-queue-type", "x-single-active-consumer",
	"x-delivery-limit", "x-quorum-initial-group-size",
}

func (m *memBroker) declareExchange(d exchangeDecl) error {
	if d.Name == "" {
		return nil
	}
	if old, ok := m.exchanges[d.Name]; ok {
		switch {
		case old.decl.Kind != d.Kind:
			return inequivalent("exchange", d.Name, "type", old.decl.Kind, d.Kind)
		case old.decl.Durable != d.Durable:
			return inequivalent("exchange", d.Name, "durable", old.decl.Durable, d.Durable)
		case old.decl.AutoDelete != d.AutoDelete:
			return inequivalent("exchange", d.Name, "auto_delete", old.decl.AutoDelete, d.AutoDelete)
		}
		return nil
	}
	m.exchanges[d.Name] = &memExchange{decl: d}
	return nil
}

// declareQueue declares q, its exchange and its binding.
func (m *memBroker) declareQueue(q queueDecl) error {
	if err := m.declareExchange(q.Exchange); err != nil {
		return err
	}
	if old, ok := m.queues[q.Name]; ok {
		switch {
		case old.decl.Durable != q.Durable:
			return inequivalent("queue", q.Name, "durable", old.decl.Durable, q.Durable)
		case old.decl.AutoDelete != q.AutoDelete:
			return inequivalent("queue", q.Name, "auto_delete", old.decl.AutoDelete, q.AutoDelete)
		}
		for _, k := range checkedQueueArgs {
			if !reflect.DeepEqual(old.decl.Args[k], q.Args[k]) {
				return inequivalent("queue", q.Name, k, old.decl.Args[k], q.Args[k])
			}
		}
	} else {
		m.queues[q.Name] = &memQueue{decl: q}
	}
	if q.Exchange.Name == "" {
		return nil
	}
	ex := m.exchanges[q.Exchange.Name]
	b := memBinding{queue: q.Name, key: q.BindingKey}
	for _, old := range ex.bindings {
		if old == b {
			return nil
		}
	}
	ex.bindings = append(ex.bindings, b)
	return nil
}

func inequivalent(kind, name, field string, old, new any) error {
	return fmt.Errorf("%w: inequivalent arg '%s' for %s '%s': received '%v' but current is '%v'",
		ErrPreconditionFailed, field, kind, name, new, old)
}

// deleteQueue removes a queue and its bindings, and the auto-delete
// exchanges left without bindings.
func (m *memBroker) deleteQueue(name string) {
	if _, ok := m.queues[name]; !ok {
		return
	}
	delete(m.queues, name)
	for exName, ex := range m.exchanges {
		kept := ex.bindings[:0]
		removed := false
		for _, b := range ex.bindings {
			if b.queue == name {
				removed = true
				continue
			}
			kept = append(kept, b)
		}
		ex.bindings = kept
		if removed && len(kept) == 0 && ex.decl.AutoDelete {
			delete(m.exchanges, exName)
		}
	}
}

// route delivers a message to every queue it routes to and returns how
// many. Publishing to a missing exchange is an error, as on the broker.
func (m *memBroker) route(exchange, key string, body []byte, ttl time.Duration) (int, error) {
	var targets []*memQueue
	if exchange == "" {
		if q, ok := m.queues[key]; ok {
			targets = append(targets, q)
		}
	} else {
		ex, ok := m.exchanges[exchange]
		if !ok {
			return 0, fmt.Errorf("%w: no exchange '%s'", errNotFound, exchange)
		}
		seen := map[string]bool{}
		for _, b := range ex.bindings {
			if seen[b.queue] || !bindingMatches(ex.decl.Kind, b.key, key) {
				continue
			}
			seen[b.queue] = true
			targets = append(targets, m.queues[b.queue])
		}
	}
	var expires time.Time
	if ttl > 0 {
		expires = time.Now().Add(ttl)
	}
	for _, q := range targets {
		q.msgs = append(q.msgs, &memMessage{
			body:     append([]byte(nil), body...),
			exchange: exchange,
			key:      key,
			expires:  expires,
			ttl:      ttl,
		})
	}
	return len(targets), nil
}

// bindingMatches applies an exchange kind's routing rule.
func bindingMatches(kind, bindingKey, routingKey string) bool {
	switch kind {
	case kindFanout:
		return true
	case kindTopic:
		return topicMatches(strings.Split(bindingKey, "."), strings.Split(routingKey, "."))
	default:
		return bindingKey == routingKey
	}
}

// topicMatches matches AMQP topic patterns: "*" is one word, "#" zero or
// more words.
func topicMatches(pattern, words []string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case "#":
			for i := 0; i <= len(words); i++ {
				if topicMatches(pattern[1:], words[i:]) {
					return true
				}
			}
			return false
		case "*":
			if len(words) == 0 {
				return false
			}
		default:
			if len(words) == 0 || words[0] != pattern[0] {
				return false
			}
		}
		pattern, words = pattern[1:], words[1:]
	}
	return len(words) == 0
}

// take removes and returns the first live message of queue name, or nil.
func (m *memBroker) take(name string, now time.Time) *memMessage {
	q, ok := m.queues[name]
	if !ok {
		return nil
	}
	for len(q.msgs) > 0 {
		msg := q.msgs[0]
		q.msgs[0] = nil
		q.msgs = q.msgs[1:]
		if msg.expires.IsZero() || now.Before(msg.expires) {
			return msg
		}
	}
	return nil
}

// requeue puts msg back at the head of its queue, if the queue still exists.
func (m *memBroker) requeue(queue string, msg *memMessage) {
	q, ok := m.queues[queue]
	if !ok {
		return
	}
	msg.redelivered = true
	q.msgs = append([]*memMessage{msg}, q.msgs...)
}
