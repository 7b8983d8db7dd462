package notify

import (
	"fmt"
	"regexp"
	"sort"
)

// Rules are the regular expressions of a [Filter], as oslo's
// NotificationFilter takes them. An empty string or map sets no rule.
type Rules struct {
	// Context maps context keys to expressions their values must match.
	Context map[string]string
	// PublisherID and EventType are expressions the publisher_id and the
	// event_type must match.
	PublisherID, EventType string
	// Metadata maps "message_id" and "timestamp" to expressions.
	Metadata map[string]string
	// Payload maps keys of a map payload to expressions.
	Payload map[string]string
}

// Filter selects the notifications an endpoint receives, as oslo's
// NotificationFilter does: every rule must hold. A rule on a field holds
// when the field is a string that the expression matches at its start
// (Python's re.match); a rule on a map key holds when the map has the key
// and its value is a string that matches.
//
// # Notes
//
// Expressions use Go's RE2 syntax, which is Python's re without
// backreferences and lookaround; NewFilter rejects those. A payload
// rule on a payload that is not a map does not hold (oslo raises a
// TypeError in its dispatcher, and so requeues the notification, for
// most such payloads).
type Filter struct {
	publisherID, eventType *regexp.Regexp
	context, metadata      []keyRule
	payload                []keyRule
}

// keyRule is the expression the value of one map key must match.
type keyRule struct {
	key string
	re  *regexp.Regexp
}

// NewFilter compiles r. It fails on an expression that does not compile.
func NewFilter(r Rules) (*Filter, error) {
	f := new(Filter)
	var err error
	if f.publisherID, err = compileRule("publisher_id", r.PublisherID); err != nil {
		return nil, err
	}
	if f.eventType, err = compileRule("event_type", r.EventType); err != nil {
		return nil, err
	}
	if f.context, err = compileKeyRules("context", r.Context); err != nil {
		return nil, err
	}
	if f.metadata, err = compileKeyRules("metadata", r.Metadata); err != nil {
		return nil, err
	}
	if f.payload, err = compileKeyRules("payload", r.Payload); err != nil {
		return nil, err
	}
	return f, nil
}

// compileRule compiles expr anchored at the start, as re.match applies
// it; "" is no rule.
func compileRule(field, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(`\A(?:` + expr + `)`)
	if err != nil {
		// Compile once more unwrapped for a message about expr itself.
		if _, err2 := regexp.Compile(expr); err2 != nil {
			err = err2
		}
		return nil, fmt.Errorf("notify: filter rule for %s: %w", field, err)
	}
	return re, nil
}

func compileKeyRules(field string, m map[string]string) ([]keyRule, error) {
	if len(m) == 0 {
		return nil, nil
	}
	rules := make([]keyRule, 0, len(m))
	for k, expr := range m {
		re, err := compileRule(field+"["+k+"]", expr)
		if err != nil {
			return nil, err
		}
		if re == nil {
			// NotificationFilter compiles "" too: the key must be there
			// and hold a string.
			re = regexp.MustCompile(`\A`)
		}
		rules = append(rules, keyRule{k, re})
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].key < rules[j].key })
	return rules, nil
}

// Match reports whether m passes every rule. A nil *Filter passes all.
func (f *Filter) Match(m *Message) bool {
	if f == nil {
		return true
	}
	if f.publisherID != nil && !f.publisherID.MatchString(m.PublisherID) {
		return false
	}
	if f.eventType != nil && !f.eventType.MatchString(m.EventType) {
		return false
	}
	if len(f.context) > 0 && !matchKeys(f.context, m.Context) {
		return false
	}
	if len(f.metadata) > 0 {
		md := map[string]any{"message_id": m.Metadata.MessageID, "timestamp": m.Metadata.Timestamp}
		if !matchMap(f.metadata, md) {
			return false
		}
	}
	if len(f.payload) > 0 && !matchKeys(f.payload, m.Payload) {
		return false
	}
	return true
}

// matchKeys decodes the CBOR map data and matches rules against it; data
// that is not a map with text keys matches no rule.
func matchKeys(rules []keyRule, data []byte) bool {
	var v any
	if err := decMode.Unmarshal(data, &v); err != nil {
		return false
	}
	m, ok := v.(map[string]any)
	return ok && matchMap(rules, m)
}

func matchMap(rules []keyRule, m map[string]any) bool {
	for _, r := range rules {
		s, ok := m[r.key].(string)
		if !ok || !r.re.MatchString(s) {
			return false
		}
	}
	return true
}
