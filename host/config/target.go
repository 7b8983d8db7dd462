package config

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Any, as a whole rule, exchange, topic or notification topic, allows
// everything in its place.
const Any = "*"

// RPCTarget is one entry of Tenant.RPCTargets: the targets a guest may
// call or cast to. In the config file it is a string:
//
//	"*"                    any target
//	"volumes"              topic volumes on the control exchange, any server, fanout too
//	"volumes@host-a"       topic volumes, server host-a only (no fanout)
//	"nova/compute"         topic compute on exchange nova
//	"nova/*"               any topic on exchange nova
//	"nova/compute@host-a"  all three
//
// A topic may contain dots (ironic.conductor_manager); it cannot contain
// "/" or "@".
type RPCTarget struct {
	// Exchange is the target's exchange, or "*" for any. Parse fills in
	// the control exchange when the rule names none.
	Exchange string
	// Topic is the target's topic, or "*" for any.
	Topic string
	// Server restricts the rule to direct calls and casts to this server;
	// empty allows any server and fanout casts.
	Server string
}

// ParseRPCTarget parses a rule written as "[exchange/]topic[@server]" or
// "*". An omitted exchange is left empty, for the caller to fill in.
func ParseRPCTarget(s string) (RPCTarget, error) {
	if s == Any {
		return RPCTarget{Exchange: Any, Topic: Any}, nil
	}
	if s == "" {
		return RPCTarget{}, fmt.Errorf("empty target (want \"topic\", \"exchange/topic\", \"topic@server\" or \"*\")")
	}
	if r, bad := badRune(s); bad {
		return RPCTarget{}, fmt.Errorf("target %q contains %q", clip(s), r)
	}
	left, server, hasServer := strings.Cut(s, "@")
	exchange, topic, hasExchange := strings.Cut(left, "/")
	if !hasExchange {
		exchange, topic = "", left
	}
	switch {
	case hasExchange && exchange == "":
		return RPCTarget{}, fmt.Errorf("target %q has an empty exchange before \"/\"", clip(s))
	case topic == "":
		return RPCTarget{}, fmt.Errorf("target %q has an empty topic", clip(s))
	case strings.Contains(topic, "/"):
		return RPCTarget{}, fmt.Errorf("target %q has more than one \"/\" (want \"exchange/topic\")", clip(s))
	case hasServer && server == "":
		return RPCTarget{}, fmt.Errorf("target %q has an empty server after \"@\"", clip(s))
	case server == Any:
		return RPCTarget{}, fmt.Errorf("target %q: a server of \"*\" is the same as none; write %q", clip(s), strings.TrimSuffix(s, "@*"))
	}
	for _, part := range []struct{ what, name string }{{"exchange", exchange}, {"topic", topic}, {"server", server}} {
		if part.name == "" || part.name == Any && part.what != "server" {
			continue
		}
		if err := checkName(part.what, part.name, part.what != "exchange"); err != nil {
			return RPCTarget{}, fmt.Errorf("target %q: %w", clip(s), err)
		}
	}
	return RPCTarget{Exchange: exchange, Topic: topic, Server: server}, nil
}

// String writes the rule as ParseRPCTarget reads it.
func (r RPCTarget) String() string {
	if r.Exchange == Any && r.Topic == Any && r.Server == "" {
		return Any
	}
	s := r.Topic
	if r.Exchange != "" {
		s = r.Exchange + "/" + s
	}
	if r.Server != "" {
		s += "@" + r.Server
	}
	return s
}

// MarshalYAML writes the rule as String does.
func (r RPCTarget) MarshalYAML() (any, error) { return r.String(), nil }

// UnmarshalYAML reads the rule as ParseRPCTarget does.
func (r *RPCTarget) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || isNull(n) || n.ShortTag() == "!!binary" {
		return fmt.Errorf("want a target such as \"topic\" or \"exchange/topic@server\", got %s", describe(n))
	}
	v, err := ParseRPCTarget(n.Value)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Allows reports whether the rule allows a call or cast to the target.
// exchange is the effective exchange (the control exchange when the
// target names none).
//
// The rule must allow the target as named, and also where the message
// goes: a fanout cast goes to the exchange topic_fanout, anything else to
// exchange with the routing key topic.server (or topic), and the rule
// must grant that key (see [RPCTarget.GrantsKey]); a fanout cast, whose
// exchange is the topic's whatever exchange it names, needs a rule that
// names the topic, or "*". So topic "good" with
// server "admin.h" is refused by the rule "good": its key "good.admin.h"
// is also the queue of topic "good.admin" and server "h".
func (r RPCTarget) Allows(exchange, topic, server string, fanout bool) bool {
	if !r.allowsExchange(exchange) || r.Topic != Any && r.Topic != topic {
		return false
	}
	if fanout {
		// The fanout exchange topic_fanout is the topic's on every
		// exchange: a rule for any topic of one exchange cannot grant it.
		return r.Server == "" && (r.Topic != Any || r.Exchange == Any)
	}
	return (r.Server == "" || r.Server == server) && r.GrantsKey(exchange, RoutingKey(topic, server))
}

// GrantsKey reports whether the rule allows a message published on
// exchange with routing key key:
//
//	"*", "nova/*"         any key (on that exchange)
//	"volumes"             "volumes", and "volumes.S" for a server S without dots
//	"volumes@host.a.org"  "volumes.host.a.org" only
//
// A server with dots must be named by a rule of its own: "t.a.b" is both
// server "a.b" of topic "t" and server "b" of topic "t.a", and a rule for
// "t" alone does not say that the second is allowed. Exchanges whose
// name starts with "amq." (the broker's own, amq.default among them,
// through which any queue is reached by name) are granted only by a rule
// that names them.
func (r RPCTarget) GrantsKey(exchange, key string) bool {
	if !r.allowsExchange(exchange) {
		return false
	}
	switch {
	case r.Topic == Any:
		return true
	case r.Server != "":
		return key == r.Topic+"."+r.Server
	case key == r.Topic:
		return true
	}
	server, ok := strings.CutPrefix(key, r.Topic+".")
	return ok && server != "" && !strings.Contains(server, ".")
}

// allowsExchange reports whether the rule covers exchange.
func (r RPCTarget) allowsExchange(exchange string) bool {
	if r.Exchange == Any {
		return !strings.HasPrefix(exchange, reservedExchangePrefix)
	}
	return r.Exchange == exchange
}

// reservedExchangePrefix starts the names of the broker's own exchanges.
const reservedExchangePrefix = "amq."

// RoutingKey returns the routing key of a call or cast that is not
// fanout: topic.server, or topic when server is empty, as oslo's driver
// publishes it.
func RoutingKey(topic, server string) string {
	if server == "" {
		return topic
	}
	return topic + "." + server
}

// AllowsRPC reports whether the tenant's guests may call or cast to the
// target; exchange is the effective exchange. It checks where the message
// goes ([RPCTarget.Allows]); [CheckGuestTarget] checks the names first.
func (t *Tenant) AllowsRPC(exchange, topic, server string, fanout bool) bool {
	for _, r := range t.RPCTargets {
		if r.Allows(exchange, topic, server, fanout) {
			return true
		}
	}
	return false
}

// AllowsNotification reports whether the tenant's guests may emit
// notifications to topic.
func (t *Tenant) AllowsNotification(topic string) bool {
	for _, allowed := range t.NotificationTopics {
		if allowed == Any || allowed == topic {
			return true
		}
	}
	return false
}

// badRune returns the first rune of s that no name may hold.
func badRune(s string) (rune, bool) {
	for _, r := range s {
		if badNameRune(r) {
			return r, true
		}
	}
	return 0, false
}

// badNameRune reports runes that no exchange, topic or server name holds:
// white space and control characters.
func badNameRune(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError || r == '\ufeff'
}
