package modules_test

import (
	"reflect"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

func TestVolumes(t *testing.T) {
	host := &hostCalls{}
	// One instance: the volumes live in the instance's memory.
	m := load(t, "volumes/volumes.wasm", wasm.Limits{MaxInstances: 1}, host)
	p1 := map[string]any{"project_id": "p1", "request_id": "req-1"}
	p2 := map[string]any{"project_id": "p2"}

	created := call(t, m, "rpc.create_volume", p1, map[string]any{"name": "db", "size_gb": 10})
	if created.err != nil || created.raised != nil {
		t.Fatalf("create_volume: %#v", created)
	}
	vol := created.value.(map[string]any)
	id, _ := vol["id"].(string)
	if len(id) != 36 || vol["name"] != "db" || vol["size_gb"] != int64(10) || vol["volume_type"] != "standard" ||
		vol["status"] != "available" || vol["project_id"] != "p1" || vol["created_at"] == "" {
		t.Fatalf("created volume %#v", vol)
	}
	notes := host.taken()
	if len(notes) != 1 || notes[0].notify.EventType != "volume.create.end" || notes[0].notify.PublisherID != "volumes" ||
		!reflect.DeepEqual(decode(t, notes[0].notify.Payload), vol) {
		t.Fatalf("notifications after create: %#v", notes)
	}

	tests := []struct {
		name   string
		export string
		ctx    map[string]any
		args   map[string]any
		want   any
	}{
		{"get", "rpc.get_volume", p1, map[string]any{"volume_id": id}, vol},
		{"get from another project", "rpc.get_volume", p2, map[string]any{"volume_id": id},
			abi.Error{Class: "VolumeNotFound", Module: "volumes.exceptions", Message: "Volume " + id + " could not be found.",
				Kwargs: map[string]any{"volume_id": id}, Expected: true}},
		{"get unknown", "rpc.get_volume", p1, map[string]any{"volume_id": "nope"},
			abi.Error{Class: "VolumeNotFound", Module: "volumes.exceptions", Message: "Volume nope could not be found.",
				Kwargs: map[string]any{"volume_id": "nope"}, Expected: true}},
		{"get without id", "rpc.get_volume", p1, map[string]any{}, typeError("get_volume() missing 1 required positional argument: 'volume_id'")},
		{"list", "rpc.list_volumes", p1, map[string]any{}, []any{vol}},
		{"list other project", "rpc.list_volumes", p2, map[string]any{}, []any{}},
		{"create invalid size", "rpc.create_volume", p1, map[string]any{"name": "x", "size_gb": 0},
			abi.Error{Class: "InvalidInput", Module: "volumes.exceptions", Message: "Invalid input received: size_gb must be between 1 and 16384, got 0", Expected: true}},
		{"create size as string", "rpc.create_volume", p1, map[string]any{"name": "x", "size_gb": "1"},
			typeError("create_volume() argument 'size_gb' must be int, not str")},
		{"create bad type", "rpc.create_volume", p1, map[string]any{"name": "x", "size_gb": 1, "volume_type": "tape"},
			abi.Error{Class: "InvalidInput", Module: "volumes.exceptions", Message: `Invalid input received: volume_type must be one of standard, ssd, archive, got "tape"`, Expected: true}},
		{"delete", "rpc.delete_volume", p1, map[string]any{"volume_id": id}, nil},
		{"delete again", "rpc.delete_volume", p1, map[string]any{"volume_id": id},
			abi.Error{Class: "VolumeNotFound", Module: "volumes.exceptions", Message: "Volume " + id + " could not be found.",
				Kwargs: map[string]any{"volume_id": id}, Expected: true}},
		{"list after delete", "rpc.list_volumes", p1, map[string]any{}, []any{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, call(t, m, tc.export, tc.ctx, tc.args), tc.want)
		})
	}
	if notes := host.taken(); len(notes) != 1 || notes[0].notify.EventType != "volume.delete.end" {
		t.Fatalf("notifications after the table: %#v", notes)
	}
}

// TestVolumesWithoutNotifications: a host that refuses notifications does
// not stop create_volume (they are best effort).
func TestVolumesWithoutNotifications(t *testing.T) {
	m := load(t, "volumes/volumes.wasm", wasm.Limits{MaxInstances: 1}, nil)
	got := call(t, m, "rpc.create_volume", map[string]any{}, map[string]any{"name": "a", "size_gb": 1, "volume_type": "ssd"})
	if got.err != nil || got.raised != nil || got.value.(map[string]any)["volume_type"] != "ssd" {
		t.Fatalf("create_volume: %#v", got)
	}
}
