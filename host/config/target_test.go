package config

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestRPCTargetRoundTrip(t *testing.T) {
	for _, s := range []string{"*", "volumes", "ironic.conductor_manager", "volumes@host-a", "nova/compute",
		"nova/*", "*/compute", "nova/compute@host-a", "cinder-volume@host@lvm", "t@host.example.org"} {
		r, err := ParseRPCTarget(s)
		if err != nil {
			t.Fatalf("ParseRPCTarget(%q): %v", s, err)
		}
		if got := r.String(); got != s {
			t.Errorf("ParseRPCTarget(%q).String() = %q", s, got)
		}
		var back RPCTarget
		if err := yaml.Unmarshal([]byte(`"`+s+`"`), &back); err != nil || back != r {
			t.Errorf("yaml.Unmarshal(%q) = %+v, %v", s, back, err)
		}
	}
}

func TestRPCTargetAllows(t *testing.T) {
	type call struct {
		exchange, topic, server string
		fanout                  bool
	}
	plain := call{"openstack", "volumes", "", false}
	direct := call{"openstack", "volumes", "host-a", false}
	otherServer := call{"openstack", "volumes", "host-b", false}
	fanout := call{"openstack", "volumes", "", true}
	otherTopic := call{"openstack", "images", "", false}
	otherExchange := call{"cinder", "volumes", "", false}
	all := []call{plain, direct, otherServer, fanout, otherTopic, otherExchange}
	for _, tc := range []struct {
		rule    RPCTarget
		allowed []call
	}{
		{RPCTarget{Exchange: Any, Topic: Any}, all},
		{RPCTarget{Exchange: "openstack", Topic: "volumes"}, []call{plain, direct, otherServer, fanout}},
		{RPCTarget{Exchange: "openstack", Topic: "volumes", Server: "host-a"}, []call{direct}},
		// A fanout exchange belongs to no exchange: "any topic of
		// openstack" does not grant it.
		{RPCTarget{Exchange: "openstack", Topic: Any}, []call{plain, direct, otherServer, otherTopic}},
		{RPCTarget{Exchange: Any, Topic: "volumes"}, []call{plain, direct, otherServer, fanout, otherExchange}},
		{RPCTarget{Exchange: "cinder", Topic: "volumes"}, []call{otherExchange}},
	} {
		for _, c := range all {
			want := false
			for _, a := range tc.allowed {
				want = want || a == c
			}
			if got := tc.rule.Allows(c.exchange, c.topic, c.server, c.fanout); got != want {
				t.Errorf("%s allows %+v = %v, want %v", tc.rule, c, got, want)
			}
		}
	}
}

func TestTenantAllows(t *testing.T) {
	none := NewTenant("none")
	some := NewTenant("some")
	some.RPCTargets = []RPCTarget{{Exchange: "openstack", Topic: "a"}, {Exchange: "openstack", Topic: "b", Server: "s"}}
	some.NotificationTopics = []string{"testkit_seen"}
	anyTopic := NewTenant("any")
	anyTopic.NotificationTopics = []string{Any}
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"none rpc", none.AllowsRPC("openstack", "a", "", false), false},
		{"none notify", none.AllowsNotification("n"), false},
		{"some a", some.AllowsRPC("openstack", "a", "x", false), true},
		{"some b other server", some.AllowsRPC("openstack", "b", "x", false), false},
		{"some b@s", some.AllowsRPC("openstack", "b", "s", false), true},
		{"some b fanout", some.AllowsRPC("openstack", "b", "", true), false},
		{"some c", some.AllowsRPC("openstack", "c", "", false), false},
		{"some notify listed", some.AllowsNotification("testkit_seen"), true},
		{"some notify other", some.AllowsNotification("notifications"), false},
		{"any notify", anyTopic.AllowsNotification("whatever"), true},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestRPCTargetUnmarshalYAMLErrors(t *testing.T) {
	for _, in := range []string{"[a]", "{a: 1}", "'a b'", "x@"} {
		var r RPCTarget
		if err := yaml.Unmarshal([]byte(in), &r); err == nil {
			t.Errorf("yaml.Unmarshal(%q) accepted: %+v", in, r)
		}
	}
}
