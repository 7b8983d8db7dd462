package notify

import (
	"fmt"
	"strings"
)

// Priority is a notification priority, in lower case as listeners and
// routing keys spell it. The Notifier writes it in upper case in the
// message ("INFO"), as oslo.messaging does.
type Priority string

// The priorities of oslo.messaging, in its order (notify/dispatcher.py's
// PRIORITIES).
const (
	PriorityAudit    Priority = "audit"
	PriorityDebug    Priority = "debug"
	PriorityInfo     Priority = "info"
	PriorityWarn     Priority = "warn"
	PriorityError    Priority = "error"
	PriorityCritical Priority = "critical"
	PrioritySample   Priority = "sample"
)

// Priorities returns every priority, in oslo.messaging's order.
func Priorities() []Priority {
	return []Priority{PriorityAudit, PriorityDebug, PriorityInfo, PriorityWarn, PriorityError, PriorityCritical, PrioritySample}
}

// Valid reports whether p is one of [Priorities].
func (p Priority) Valid() bool {
	switch p {
	case PriorityAudit, PriorityDebug, PriorityInfo, PriorityWarn, PriorityError, PriorityCritical, PrioritySample:
		return true
	}
	return false
}

// ParsePriority returns the priority named s in any case ("INFO", "info"),
// as a listener reads a message's priority; "warning" is not one (oslo's
// Notifier.warning sends "WARN").
func ParsePriority(s string) (Priority, error) {
	p := Priority(strings.ToLower(s))
	if !p.Valid() {
		return "", fmt.Errorf("notify: unknown priority %q (want one of audit, debug, info, warn, error, critical, sample)", s)
	}
	return p, nil
}

// wire is the priority as the Notifier writes it in a message: upper case.
func (p Priority) wire() string { return strings.ToUpper(string(p)) }
