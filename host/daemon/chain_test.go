package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/config"
)

func TestNextHop(t *testing.T) {
	tenant := config.NewTenant("t")
	tenant.MaxHops, tenant.MaxSendsPerRequest = 3, 2
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		sends int    // calls and casts made before
		want  int    // the hop sent, when accepted
		why   string // part of the refusal
	}{
		{"from outside", withChain(context.Background(), 0), 0, 1, ""},
		{"initialize", context.Background(), 0, 1, ""},
		{"deep", withChain(context.Background(), 2), 0, 3, ""},
		{"too deep", withChain(context.Background(), 3), 0, 0, "would be hop 4 of its chain, and tenant t allows 3 (max_hops)"},
		{"far too deep", withChain(context.Background(), 1<<16), 0, 0, "max_hops"},
		{"second send", withChain(context.Background(), 0), 1, 1, ""},
		{"third send", withChain(context.Background(), 0), 2, 0, "number 3, and tenant t allows 2 (max_sends_per_request)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range tc.sends {
				if _, err := nextHop(tc.ctx, tenant); err != nil {
					t.Fatal(err)
				}
			}
			hop, err := nextHop(tc.ctx, tenant)
			var ae *abi.Error
			switch {
			case tc.why == "" && (err != nil || hop != tc.want):
				t.Errorf("hop %d, %v; want hop %d", hop, err, tc.want)
			case tc.why != "" && (!errors.As(err, &ae) || ae.Class != "RecursionError" || !strings.Contains(ae.Message, tc.why)):
				t.Errorf("error %v, want a RecursionError saying %q", err, tc.why)
			}
		})
	}
}

func TestCheckTarget(t *testing.T) {
	tenant := config.NewTenant("a")
	for _, s := range []string{"good", "other@host.example.org"} {
		r, err := config.ParseRPCTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		r.Exchange = "openstack"
		tenant.RPCTargets = append(tenant.RPCTargets, r)
	}
	req := func(topic, server, method string, fanout bool) *abi.CallRequest {
		return &abi.CallRequest{Target: abi.Target{Topic: topic, Server: server, Fanout: fanout}, Method: method}
	}
	for _, tc := range []struct {
		name       string
		req        *abi.CallRequest
		class, why string // "" for accepted
	}{
		{"topic", req("good", "", "echo", false), "", ""},
		{"server", req("good", "h1", "echo", false), "", ""},
		{"fanout", req("good", "", "echo", true), "", ""},
		{"named dotted server", req("other", "host.example.org", "echo", false), "", ""},
		{"dotted server", req("good", "admin.h", "echo", false), "PermissionError", "routing key good.admin.h"},
		{"dotted topic", req("good.admin", "h", "echo", false), "PermissionError", "routing key good.admin.h"},
		{"fanout of a server rule", req("other", "", "echo", true), "PermissionError", "fanout exchange other_fanout"},
		{"wildcard", req("good", "#", "echo", false), "ValueError", "wildcard"},
		{"empty part", req("good", "h.", "echo", false), "ValueError", "empty part"},
		{"control character", req("good\r\n", "", "echo", false), "ValueError", "contains"},
		{"no method", req("good", "", "", false), "ValueError", "a method"},
		{"method with a newline", req("good", "", "echo\nINFO forged", false), "ValueError", "invalid method name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkTarget(tenant, "openstack", tc.req)
			var ae *abi.Error
			switch {
			case tc.class == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.class != "" && (!errors.As(err, &ae) || ae.Class != tc.class || !strings.Contains(ae.Message, tc.why)):
				t.Errorf("error %v, want %s saying %q", err, tc.class, tc.why)
			}
		})
	}
}

func TestNextNotifyHop(t *testing.T) {
	tenant := config.NewTenant("t")
	tenant.MaxHops, tenant.MaxSendsPerRequest = 2, 1
	ctx := withChain(context.Background(), 1)
	for range 3 { // notifications do not count as sends
		if hop, err := nextNotifyHop(ctx, tenant); err != nil || hop != 2 {
			t.Fatalf("hop %d, %v; want 2", hop, err)
		}
	}
	var ae *abi.Error
	if _, err := nextNotifyHop(withChain(context.Background(), 2), tenant); !errors.As(err, &ae) || ae.Class != "RecursionError" || !strings.Contains(ae.Message, "max_hops") {
		t.Fatalf("error %v, want a RecursionError naming max_hops", err)
	}
}
