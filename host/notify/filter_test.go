package notify

import (
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// filterCase is a filter and a message, and whether the filter matches.
type filterCase struct {
	name  string
	rules Rules
	edit  func(*Message)
	want  bool
	// pyRaises marks a case where oslo's NotificationFilter raises
	// instead (a payload rule on a payload that is not a map).
	pyRaises bool
}

// filterMessage is the message the filter cases start from.
func filterMessage(t testing.TB) *Message {
	return &Message{
		Context:     cb(t, map[string]any{"tenant_id": "5f64", "roles": "private", "count": 3}),
		PublisherID: "compute.host1",
		EventType:   "compute.instance.create.end",
		Priority:    PriorityInfo,
		Payload:     cb(t, map[string]any{"state": "active", "size": 10, "nested": map[string]any{"a": "b"}}),
		Metadata:    Metadata{MessageID: "6a0e5a0e-9a47-4b4e-9d5a-2f6e0b0c5c1e", Timestamp: "2024-08-01 10:00:00.000001"},
	}
}

func filterCases(t testing.TB) []filterCase {
	return []filterCase{
		{"no rules", Rules{}, nil, true, false},
		{"publisher prefix", Rules{PublisherID: "^compute.*"}, nil, true, false},
		{"publisher matches at the start only", Rules{PublisherID: "host1"}, nil, false, false},
		{"publisher partial match is a match", Rules{PublisherID: "comp"}, nil, true, false},
		{"event type", Rules{EventType: `^compute\.instance\..*`}, nil, true, false},
		{"event type mismatch", Rules{EventType: `^volume\.`}, nil, false, false},
		{"event type anchored end", Rules{EventType: `compute\.instance\.create\.end$`}, nil, true, false},
		{"alternation anchored as a whole", Rules{EventType: `volume|compute`}, nil, true, false},
		{"alternation anchored, no match", Rules{EventType: `volume|instance`}, nil, false, false},
		{"context key", Rules{Context: map[string]string{"tenant_id": "^5f64$", "roles": "private"}}, nil, true, false},
		{"context value mismatch", Rules{Context: map[string]string{"tenant_id": "^abc"}}, nil, false, false},
		{"context key missing", Rules{Context: map[string]string{"user_id": ".*"}}, nil, false, false},
		{"context value not a string", Rules{Context: map[string]string{"count": ".*"}}, nil, false, false},
		{"context empty expression needs the key", Rules{Context: map[string]string{"roles": ""}}, nil, true, false},
		{"context empty expression, key missing", Rules{Context: map[string]string{"nope": ""}}, nil, false, false},
		{"no context at all", Rules{Context: map[string]string{"roles": ".*"}}, func(m *Message) { m.Context = nil }, false, false},
		{"metadata timestamp", Rules{Metadata: map[string]string{"timestamp": "2024-08"}}, nil, true, false},
		{"metadata message id mismatch", Rules{Metadata: map[string]string{"message_id": "^0"}}, nil, false, false},
		{"metadata unknown key", Rules{Metadata: map[string]string{"priority": ".*"}}, nil, false, false},
		{"payload key", Rules{Payload: map[string]string{"state": "^active$"}}, nil, true, false},
		{"payload mismatch", Rules{Payload: map[string]string{"state": "^deleted$"}}, nil, false, false},
		{"payload value not a string", Rules{Payload: map[string]string{"size": "1"}}, nil, false, false},
		{"payload nested map is not a string", Rules{Payload: map[string]string{"nested": ".*"}}, nil, false, false},
		{"payload not a map", Rules{Payload: map[string]string{"state": ".*"}}, func(m *Message) { m.Payload = cb(t, "state") }, false, true},
		{"payload a list", Rules{Payload: map[string]string{"state": ".*"}}, func(m *Message) { m.Payload = cb(t, []any{"state"}) }, false, true},
		{"payload a string without the key", Rules{Payload: map[string]string{"state": ".*"}}, func(m *Message) { m.Payload = cb(t, "other") }, false, false},
		{"payload null", Rules{Payload: map[string]string{"state": ".*"}}, func(m *Message) { m.Payload = hx(t, "f6") }, false, true},
		{"case sensitive", Rules{PublisherID: "COMPUTE"}, nil, false, false},
		{"inline flag", Rules{PublisherID: "(?i)COMPUTE"}, nil, true, false},
		{"every rule", Rules{
			PublisherID: "compute", EventType: "compute", Context: map[string]string{"roles": "priv"},
			Metadata: map[string]string{"timestamp": `\d{4}`}, Payload: map[string]string{"state": "act"},
		}, nil, true, false},
		{"every rule but one", Rules{
			PublisherID: "compute", EventType: "compute", Context: map[string]string{"roles": "priv"},
			Metadata: map[string]string{"timestamp": `\d{4}`}, Payload: map[string]string{"state": "idle"},
		}, nil, false, false},
	}
}

func TestFilterMatch(t *testing.T) {
	cases := append(filterCases(t), filterCase{
		name: "payload malformed", rules: Rules{Payload: map[string]string{"state": ".*"}},
		edit: func(m *Message) { m.Payload = hx(t, "a1") }, want: false,
	})
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFilter(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			m := filterMessage(t)
			if tt.edit != nil {
				tt.edit(m)
			}
			if got := f.Match(m); got != tt.want {
				t.Fatalf("Match = %v, want %v", got, tt.want)
			}
		})
	}
	var nilFilter *Filter
	if !nilFilter.Match(filterMessage(t)) {
		t.Fatal("a nil filter must match everything")
	}
}

func TestNewFilterErrors(t *testing.T) {
	tests := []struct {
		name  string
		rules Rules
		want  string
	}{
		{"bad publisher", Rules{PublisherID: "(unclosed"}, "publisher_id"},
		{"lookahead", Rules{EventType: "compute(?=\\.)"}, "event_type"},
		{"backreference", Rules{Payload: map[string]string{"k": `(a)\1`}}, "payload[k]"},
		{"bad context", Rules{Context: map[string]string{"tenant": "["}}, "context[tenant]"},
		{"bad metadata", Rules{Metadata: map[string]string{"timestamp": "*"}}, "metadata[timestamp]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFilter(tt.rules)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewFilter = %v, %v; want an error naming %s", f, err, tt.want)
			}
		})
	}
}

// TestFilterMatchesPython runs every filter case through oslo.messaging's
// own NotificationFilter, of each reference peer.
func TestFilterMatchesPython(t *testing.T) {
	oslopeer.Run(t, testFilterMatchesPython)
}

func testFilterMatchesPython(t *testing.T, peer oslopeer.Peer) {
	cases := filterCases(t)
	var items []any
	for _, tt := range cases {
		m := filterMessage(t)
		if tt.edit != nil {
			tt.edit(m)
		}
		ctxt := any(map[string]any{})
		if len(m.Context) > 0 {
			ctxt = jsonValue(t, m.Context)
		}
		rules := map[string]any{}
		if tt.rules.PublisherID != "" {
			rules["publisher_id"] = tt.rules.PublisherID
		}
		if tt.rules.EventType != "" {
			rules["event_type"] = tt.rules.EventType
		}
		for k, v := range map[string]map[string]string{"context": tt.rules.Context, "metadata": tt.rules.Metadata, "payload": tt.rules.Payload} {
			if v != nil {
				rules[k] = v
			}
		}
		items = append(items, map[string]any{
			"rules": rules, "ctxt": ctxt, "publisher_id": m.PublisherID, "event_type": m.EventType,
			"metadata": map[string]any{"message_id": m.Metadata.MessageID, "timestamp": m.Metadata.Timestamp},
			"payload":  jsonValue(t, m.Payload),
		})
	}
	answers := runPython(t, peer, "filter", items)
	for i, tt := range cases {
		got := answers[i]
		switch {
		case tt.pyRaises:
			if got["error"] == nil {
				t.Errorf("%s: oslo answered %v, want an exception", tt.name, got)
			}
		case got["match"] != tt.want:
			t.Errorf("%s: oslo answered %v, want match %v", tt.name, got, tt.want)
		}
	}
}
