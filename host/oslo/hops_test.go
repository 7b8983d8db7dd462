package oslo

import (
	"strings"
	"testing"
)

func TestRequestHops(t *testing.T) {
	body, err := EncodeRequest(nil, &Request{Method: "m", UniqueID: "u", Hops: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `\"_wasmrpcd_hops\": 3`) {
		t.Fatalf("body %s lacks the hop count", body)
	}
	r, err := DecodeRequest(body)
	if err != nil || r.Hops != 3 {
		t.Fatalf("DecodeRequest: hops %d, %v", r.Hops, err)
	}
	if string(r.Context) != "\xa1\x6eclient_timeout\xf6" {
		t.Fatalf("the hop count leaked into the context: %x", r.Context)
	}
	none, _ := EncodeRequest(nil, &Request{Method: "m", UniqueID: "u"})
	if strings.Contains(string(none), keyHops) {
		t.Fatalf("a request of no hops writes the key: %s", none)
	}

	for _, tc := range []struct {
		value string
		want  int
	}{
		{"0", 0}, {"7", 7}, {"65536", MaxHops}, {"18446744073709551615", MaxHops},
		{"-1", 0}, {"1.5", 0}, {`"3"`, 0}, {"null", 0}, {"[1]", 0}, {"{}", 0},
	} {
		r, err := DecodeRequest([]byte(`{"method": "m", "args": {}, "_wasmrpcd_hops": ` + tc.value + `, "_unique_id": "u"}`))
		if err != nil || r.Hops != tc.want {
			t.Errorf("hops %s: got %d, %v; want %d", tc.value, r.Hops, err, tc.want)
		}
	}
}

func TestNotificationHops(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		n := Notification{MessageID: "m", PublisherID: "p", EventType: "e", Priority: "INFO", UniqueID: "u", Hops: 2, Legacy: legacy}
		body, err := EncodeNotification(nil, &n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeNotification(body)
		if err != nil || got.Hops != 2 || got.EventType != "e" {
			t.Fatalf("legacy %v: DecodeNotification(%s) = hops %d, %v", legacy, body, got.Hops, err)
		}
		n.Hops = 0
		if body, _ := EncodeNotification(nil, &n); strings.Contains(string(body), keyHops) {
			t.Fatalf("a notification of no hops writes the key: %s", body)
		}
	}
}
