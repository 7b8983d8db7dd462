package config

import (
	"fmt"
	"strings"
)

// MaxNameBytes bounds an exchange, a topic, a server, a namespace and a
// routing key: AMQP carries exchange names and routing keys as short
// strings of at most 255 bytes.
const MaxNameBytes = 255

// fanoutSuffix names a topic's fanout exchange, as oslo's driver does.
const fanoutSuffix = "_fanout"

// CheckGuestTarget checks the names of a target a guest gives to the host
// imports call and cast, before [Tenant.AllowsRPC] checks where it goes:
// exchange ("" for the control exchange), topic (required), server and
// namespace (optional). None may hold white space, control characters or
// invalid UTF-8; the exchange, topic and server may not hold the AMQP
// wildcards "#" and "*"; the topic and server may not have an empty part
// between dots (".x", "x.", "x..y"); none may be longer than
// [MaxNameBytes], nor may the routing key or fanout exchange they make.
// The error says what is wrong, for the guest's exception.
func CheckGuestTarget(exchange, topic, server, namespace string, fanout bool) error {
	if topic == "" {
		return fmt.Errorf("the target has no topic")
	}
	if exchange != "" {
		if err := checkName("exchange", exchange, false); err != nil {
			return err
		}
	}
	if err := checkName("topic", topic, true); err != nil {
		return err
	}
	if server != "" {
		if err := checkName("server", server, true); err != nil {
			return err
		}
	}
	if namespace != "" {
		if err := checkText("namespace", namespace); err != nil {
			return err
		}
	}
	if fanout {
		if n := len(topic) + len(fanoutSuffix); n > MaxNameBytes {
			return fmt.Errorf("the fanout exchange %q is %d bytes, more than %d", clip(topic+fanoutSuffix), n, MaxNameBytes)
		}
	} else if key := RoutingKey(topic, server); len(key) > MaxNameBytes {
		return fmt.Errorf("the routing key %q is %d bytes, more than %d", clip(key), len(key), MaxNameBytes)
	}
	return nil
}

// CheckText checks a name a guest gives the host (a method name, say):
// not empty, at most MaxNameBytes, no white space, control character or
// invalid UTF-8. what names it in the error.
func CheckText(what, name string) error { return checkText(what, name) }

// checkName checks an exchange, topic or server name; dotted names
// (topics and servers) may not have an empty part between dots.
func checkName(what, name string, dotted bool) error {
	if err := checkText(what, name); err != nil {
		return err
	}
	if i := strings.IndexAny(name, "#*"); i >= 0 {
		return fmt.Errorf("%s %q contains the AMQP wildcard %q", what, clip(name), name[i])
	}
	if dotted && (strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..")) {
		return fmt.Errorf("%s %q has an empty part between dots", what, clip(name))
	}
	return nil
}

// checkText checks that a name is not empty, not too long, and holds no
// white space, control character or invalid UTF-8.
func checkText(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is empty", what)
	case len(name) > MaxNameBytes:
		return fmt.Errorf("%s %q is %d bytes, more than %d", what, clip(name), len(name), MaxNameBytes)
	}
	if r, bad := badRune(name); bad {
		return fmt.Errorf("%s %q contains %q", what, clip(name), r)
	}
	return nil
}
