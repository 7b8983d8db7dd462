package cborcodec

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

func TestDecodeManifest(t *testing.T) {
	good := abi.Manifest{
		ABIVersion: abi.Version,
		Module:     "m",
		Endpoints: []abi.Endpoint{{Version: "1.5", Methods: []abi.Method{
			{Name: "echo", Export: "rpc.echo"}, {Name: "add", Export: "rpc.add"},
		}}},
		Notifications: []abi.NotificationHandler{{Priority: "info", Export: "notify.info"}},
	}
	for _, tc := range []struct {
		name   string
		mutate func(*abi.Manifest)
		errHas string
	}{
		{"valid", func(*abi.Manifest) {}, ""},
		{"other ABI", func(m *abi.Manifest) { m.ABIVersion = 2 }, "ABI version 2"},
		{"empty", func(m *abi.Manifest) { m.Endpoints = nil; m.Notifications = nil }, "no endpoint"},
		{"bad version", func(m *abi.Manifest) { m.Endpoints[0].Version = "x" }, "not major.minor"},
		{"method twice", func(m *abi.Manifest) {
			m.Endpoints[0].Methods = append(m.Endpoints[0].Methods, abi.Method{Name: "echo", Export: "rpc.echo2"})
		}, "declared twice"},
		{"no export", func(m *abi.Manifest) { m.Endpoints[0].Methods[0].Export = "" }, "without name or export"},
		{"bad priority", func(m *abi.Manifest) { m.Notifications[0].Priority = "loud" }, "unknown priority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good
			m.Endpoints = []abi.Endpoint{good.Endpoints[0]}
			m.Endpoints[0].Methods = append([]abi.Method(nil), good.Endpoints[0].Methods...)
			m.Notifications = append([]abi.NotificationHandler(nil), good.Notifications...)
			tc.mutate(&m)
			data, err := Marshal(&m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeManifest(data)
			if tc.errHas == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(got.Exports()) != 3 {
					t.Errorf("Exports() = %v", got.Exports())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.errHas)
			}
		})
	}
}

func TestDecodeManifestRejectsGarbage(t *testing.T) {
	for _, data := range [][]byte{nil, {0xff}, {0xa1, 0x61}, make([]byte, abi.MaxManifestSize+1)} {
		if _, err := DecodeManifest(data); err == nil {
			t.Errorf("DecodeManifest(% x...) accepted", data[:min(len(data), 4)])
		}
	}
}

func FuzzDecodeManifest(f *testing.F) {
	m := abi.Manifest{ABIVersion: abi.Version, Endpoints: []abi.Endpoint{{Version: "1.0", Methods: []abi.Method{{Name: "a", Export: "rpc.a"}}}}}
	data, _ := Marshal(&m)
	f.Add(data)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeManifest(data)
		if err == nil && m.Validate() != nil {
			t.Fatal("DecodeManifest returned a manifest that does not validate")
		}
	})
}

func FuzzUnmarshalResult(f *testing.F) {
	ok, _ := Marshal(&abi.Result{Value: []byte{0x01}})
	bad, _ := Marshal(&abi.Result{Error: &abi.Error{Class: "ValueError", Message: "x"}})
	f.Add(ok)
	f.Add(bad)
	f.Fuzz(func(t *testing.T, data []byte) {
		var r abi.Result
		_ = Unmarshal(data, &r)
	})
}

// TestRawMessageFields checks that abi.RawMessage fields encode and decode
// as the CBOR items they hold, and that an empty one is left out.
func TestRawMessageFields(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want []byte
	}{
		{"empty result", abi.Result{}, []byte{0xa0}},
		{"value", abi.Result{Value: abi.RawMessage{0x61, 'x'}}, []byte{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e', 0x61, 'x'}},
		{"null value", abi.Result{Value: abi.RawMessage{0xf6}}, []byte{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e', 0xf6}},
		{"call without args", abi.CallRequest{Target: abi.Target{Topic: "t"}, Method: "m", Args: abi.RawMessage{}},
			[]byte{0xa2, 0x66, 'm', 'e', 't', 'h', 'o', 'd', 0x61, 'm', 0x66, 't', 'a', 'r', 'g', 'e', 't', 0xa1, 0x65, 't', 'o', 'p', 'i', 'c', 0x61, 't'}},
		{"notification with payload", abi.Notification{Priority: "info", PublisherID: "p", EventType: "e", Payload: abi.RawMessage{0x01}},
			[]byte{0xa4, 0x67, 'p', 'a', 'y', 'l', 'o', 'a', 'd', 0x01, 0x68, 'p', 'r', 'i', 'o', 'r', 'i', 't', 'y', 0x64, 'i', 'n', 'f', 'o',
				0x6a, 'e', 'v', 'e', 'n', 't', '_', 't', 'y', 'p', 'e', 0x61, 'e', 0x6c, 'p', 'u', 'b', 'l', 'i', 's', 'h', 'e', 'r', '_', 'i', 'd', 0x61, 'p'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("Marshal = % x, want % x", got, tt.want)
			}
		})
	}
	var r abi.Result
	if err := Unmarshal([]byte{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e', 0x82, 0x01, 0xf6}, &r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Value, []byte{0x82, 0x01, 0xf6}) {
		t.Fatalf("Value = % x", r.Value)
	}
	if err := Unmarshal([]byte{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e', 0x82, 0x01}, &r); err == nil {
		t.Fatal("a truncated value was accepted")
	}
}
