package config

import (
	"strings"
	"testing"
)

// TestAllowsRoutingKey: a rule is checked against the routing key a call
// or cast is published with, not against the topic and server it was
// named by.
func TestAllowsRoutingKey(t *testing.T) {
	rule := func(s string) RPCTarget {
		r, err := ParseRPCTarget(s)
		if err != nil {
			t.Fatalf("ParseRPCTarget(%q): %v", s, err)
		}
		if r.Exchange == "" {
			r.Exchange = "openstack"
		}
		return r
	}
	for _, tc := range []struct {
		rule                    string
		exchange, topic, server string
		fanout                  bool
		want                    bool
	}{
		{"good", "openstack", "good", "", false, true},
		{"good", "openstack", "good", "h", false, true},
		{"good", "openstack", "good", "", true, true},
		// good.admin.h is topic good.admin's queue for server h.
		{"good", "openstack", "good", "admin.h", false, false},
		{"good", "openstack", "good.admin", "h", false, false},
		{"good", "openstack", "good.admin", "", true, false},
		{"good", "openstack", "goodx", "", false, false},
		{"good", "openstack", "goo", "d.x", false, false},
		// A server with dots is granted by a rule naming it.
		{"good@host.example.org", "openstack", "good", "host.example.org", false, true},
		{"good@host.example.org", "openstack", "good.host", "example.org", false, false},
		{"good@host.example.org", "openstack", "good", "host.example", false, false},
		{"good@host.example.org", "openstack", "good", "", true, false},
		{"ironic.conductor_manager", "openstack", "ironic.conductor_manager", "c1", false, true},
		{"ironic.conductor_manager", "openstack", "ironic", "conductor_manager.c1", false, false},
		{"ironic.conductor_manager", "openstack", "ironic", "conductor_manager", false, false},
		{"nova/*", "nova", "anything", "a.b.c", false, true},
		{"nova/*", "cinder", "anything", "", false, false},
		// anything_fanout is topic anything's on every exchange.
		{"nova/*", "nova", "anything", "", true, false},
		{"*", "nova", "anything", "", true, true},
		{"*/anything", "nova", "anything", "", true, true},
		// The broker's own exchanges only by name: amq.default reaches
		// any queue by its name.
		{"*", "amq.default", "reply_x", "", false, false},
		{"*/x", "amq.topic", "x", "", false, false},
		{"*", "openstack", "x", "a.b", false, true},
		{"amq.topic/x", "amq.topic", "x", "", false, true},
	} {
		got := rule(tc.rule).Allows(tc.exchange, tc.topic, tc.server, tc.fanout)
		if got != tc.want {
			t.Errorf("rule %s allows exchange %s topic %q server %q fanout %v = %v, want %v",
				tc.rule, tc.exchange, tc.topic, tc.server, tc.fanout, got, tc.want)
		}
	}
}

func TestCheckGuestTarget(t *testing.T) {
	long := strings.Repeat("t", MaxNameBytes)
	for _, tc := range []struct {
		name                               string
		exchange, topic, server, namespace string
		fanout                             bool
		why                                string // "" for accepted
	}{
		{"plain", "", "good", "", "", false, ""},
		{"all", "nova", "ironic.conductor_manager", "host-1.example.org", "baremetal", false, ""},
		{"cinder server", "", "cinder-volume", "host@lvm", "", false, ""},
		{"no topic", "", "", "", "", false, "no topic"},
		{"hash in topic", "", "good.#", "", "", false, "wildcard"},
		{"star in server", "", "good", "*", "", false, "wildcard"},
		{"star in exchange", "*", "good", "", "", false, "wildcard"},
		{"leading dot", "", ".good", "", "", false, "empty part"},
		{"trailing dot in server", "", "good", "h.", "", false, "empty part"},
		{"double dot", "", "good", "a..h", "", false, "empty part"},
		{"space", "", "good", "a h", "", false, "contains"},
		{"newline in namespace", "", "good", "", "ns\n", false, "contains"},
		{"NUL in exchange", "x\x00", "good", "", "", false, "contains"},
		{"tab in topic", "", "go\tod", "", "", false, "contains"},
		{"invalid UTF-8", "", "good\xff", "", "", false, "contains"},
		{"long topic", "", long, "", "", false, ""},
		{"too long topic", "", long + "t", "", "", false, "more than 255"},
		{"too long key", "", long, "h", "", false, "routing key"},
		{"too long fanout", "", long, "", "", true, "fanout exchange"},
		{"too long namespace", "", "good", "", long + "n", false, "more than 255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckGuestTarget(tc.exchange, tc.topic, tc.server, tc.namespace, tc.fanout)
			switch {
			case tc.why == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.why != "" && (err == nil || !strings.Contains(err.Error(), tc.why)):
				t.Errorf("error %v, want one saying %q", err, tc.why)
			}
		})
	}
}

func TestParseRPCTargetRefusesWildcards(t *testing.T) {
	for _, s := range []string{"good.*", "g#", "nova*/x", "x@h*", "a..b", ".a", "x@h.", "x@.h"} {
		if r, err := ParseRPCTarget(s); err == nil {
			t.Errorf("ParseRPCTarget(%q) = %+v, want an error", s, r)
		}
	}
}
