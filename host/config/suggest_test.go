package config

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"topic", "topic", 0}, {"tenat", "tenant", 1},
		{"tneant", "tenant", 1}, {"servr", "server", 1}, {"kitten", "sitting", 3},
	} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"amqp_durable_queues", "heartbeat_timeout_threshold", "rabbit_qos_prefetch_count", "server", "tenant", "topic"}
	for _, tc := range []struct{ in, want string }{
		{"tenat", "tenant"},
		{"Topic", "topic"},
		{"durable_queues", "amqp_durable_queues"},
		{"qos_prefetch_count", "rabbit_qos_prefetch_count"},
		{"heartbeat_timeout", "heartbeat_timeout_threshold"},
		{"server_name", "server"},
		{"colour", ""},
		{"x", ""},
	} {
		if got := suggest(tc.in, keys); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := suggest("a", nil); got != "" {
		t.Errorf("suggest with no candidates = %q", got)
	}
}
