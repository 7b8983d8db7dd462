package transport

import (
	"errors"
	"testing"
	"time"
)

// memoryImpl runs the behaviour tests on one in-memory broker per test.
type memoryImpl struct{ first *Memory }

func (m *memoryImpl) open(t *testing.T, opts Options) Transport {
	t.Helper()
	var tr *Memory
	var err error
	if m.first == nil {
		tr, err = NewMemory(opts)
		m.first = tr
	} else {
		tr, err = m.first.Connect(opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func (m *memoryImpl) forget(*testing.T, []string, []string) {}

func TestMemoryBehaviour(t *testing.T) {
	runBehaviour(t, func(*testing.T) impl { return &memoryImpl{} })
}

func TestTopicMatches(t *testing.T) {
	tests := []struct {
		pattern, key string
		want         bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"a.#", "a", true},
		{"a.#", "a.b.c", true},
		{"#", "", true},
		{"#.c", "a.b.c", true},
		{"*.b.#", "a.b", true},
		{"*", "", true},
		{"*", "a.b", false},
	}
	for _, tt := range tests {
		if got := bindingMatches(kindTopic, tt.pattern, tt.key); got != tt.want {
			t.Errorf("%q ~ %q = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

func TestMemoryExpiration(t *testing.T) {
	m, err := NewMemory(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e := &env{t: t, impl: &memoryImpl{first: m}, tr: m, exchange: DefaultControlExchange}
	l := e.listenRPC(m, Target{Topic: "t", Server: "s"})
	e.send(Target{Topic: "t"}, "stale", SendOptions{Expiration: time.Millisecond})
	e.send(Target{Topic: "t"}, "fresh", SendOptions{})
	// Expiry is checked on delivery: wait until the first has expired.
	deadline := time.Now().Add(time.Millisecond)
	for time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	ack(t, e.next(l, "fresh"))
}

func TestMemoryAutoDeleteQueue(t *testing.T) {
	m, err := NewMemory(Options{AutoDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e := &env{t: t, impl: &memoryImpl{first: m}, tr: m}
	l := e.listenRPC(m, Target{Topic: "t", Server: "s"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	err = m.Send(e.ctx(), Target{Topic: "t"}, nil, SendOptions{Mandatory: true})
	if !errors.Is(err, ErrNoRoute) {
		t.Fatalf("Send after the auto-delete queues went = %v, want ErrNoRoute", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.queues) != 0 {
		t.Errorf("queues left: %v", m.queues)
	}
}
