package main

import (
	"fmt"
	"slices"
	"strings"
)

// hostileTenant is the tenant of the hostile modules: the settings the
// attacks were found with.
var hostileTenant = map[string]any{
	"memory_limit":  "16MiB",
	"call_timeout":  "2s",
	"max_instances": 2,
	// Topics nobody listens to: the broker drops what flood emits.
	"notification_topics": []string{notesTopic},
}

// notesTopic is the topic of notify_flood's notifications.
const notesTopic = "bench_hostile_notes"

// attack is one hostile call, repeated during its phase.
type attack struct {
	name   string
	module string // host/wasm/testdata/<module>.wasm, served for tenant hostile
	method string
	args   map[string]any
}

// attacks are every attack the bench knows, in the order they run.
var attacks = []attack{
	{name: "spin", module: "misbehave", method: "spin"},
	{name: "grow", module: "misbehave", method: "grow"},
	{name: "sleep", module: "misbehave", method: "sleep"},
	{name: "trap", module: "misbehave", method: "trap"},
	{name: "huge", module: "misbehave", method: "huge"},
	{name: "stdout", module: "misbehave", method: "stdout"},
	// Each tries 20,000 lines of 8 KiB (157 MiB) or 20,000 notifications
	// in one call; the tenant's budgets (host/budget) hold them.
	{name: "log_flood", module: "flood", method: "log_flood"},
	{name: "stdout_flood", module: "flood", method: "stdout_flood"},
	{name: "notify_flood", module: "flood", method: "notify_flood", args: map[string]any{
		"topic": notesTopic, "priority": "info", "publisher_id": "flood", "event_type": "flood.x", "payload": "x"}},
}

func attackNames() []string {
	var names []string
	for _, a := range attacks {
		names = append(names, a.name)
	}
	return names
}

// pick returns the attacks named in list (comma-separated), or all of
// them when it is empty.
func pick(list string) ([]attack, error) {
	if list == "" {
		return attacks, nil
	}
	var out []attack
	for _, name := range strings.Split(list, ",") {
		i := slices.IndexFunc(attacks, func(a attack) bool { return a.name == name })
		if i < 0 {
			return nil, fmt.Errorf("no attack %q; there are %s", name, strings.Join(attackNames(), ", "))
		}
		out = append(out, attacks[i])
	}
	return out, nil
}
