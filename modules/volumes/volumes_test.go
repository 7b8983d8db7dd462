package main

import (
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	sdk "github.com/wasmrpcd/wasmrpcd/guest-sdk"
)

// call runs h on the host with the given context and arguments, returning
// the decoded value or the raised error.
func call(t *testing.T, h *sdk.Handler, ctx, args map[string]any) (any, *abi.Error) {
	t.Helper()
	cb, err := cborcodec.Marshal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := cborcodec.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	var r abi.Result
	if err := cborcodec.Unmarshal(h.Handle(cb, ab), &r); err != nil {
		t.Fatal(err)
	}
	if r.Error != nil {
		return nil, r.Error
	}
	var v any
	if len(r.Value) > 0 {
		if err := cborcodec.Unmarshal(r.Value, &v); err != nil {
			t.Fatal(err)
		}
	}
	return v, nil
}

func TestCreateVolumeValidates(t *testing.T) {
	p1 := map[string]any{"project_id": "p1"}
	tests := []struct {
		name      string
		args      map[string]any
		wantClass string
		wantMsg   string
	}{
		{"ok", map[string]any{"name": "db", "size_gb": 10}, "", ""},
		{"ok ssd", map[string]any{"name": "db", "size_gb": 1, "volume_type": "ssd"}, "", ""},
		{"zero size", map[string]any{"name": "db", "size_gb": 0}, "InvalidInput", "Invalid input received: size_gb must be between 1 and 16384, got 0"},
		{"too big", map[string]any{"name": "db", "size_gb": 16385}, "InvalidInput", "Invalid input received: size_gb must be between 1 and 16384, got 16385"},
		{"blank name", map[string]any{"name": "  ", "size_gb": 1}, "InvalidInput", "Invalid input received: name must be 1 to 255 characters, not 2"},
		{"bad type", map[string]any{"name": "db", "size_gb": 1, "volume_type": "tape"}, "InvalidInput", `Invalid input received: volume_type must be one of standard, ssd, archive, got "tape"`},
		{"size as string", map[string]any{"name": "db", "size_gb": "10"}, "TypeError", "create_volume() argument 'size_gb' must be int, not str"},
		{"missing", map[string]any{}, "TypeError", "create_volume() missing 2 required positional arguments: 'name' and 'size_gb'"},
		{"unexpected", map[string]any{"name": "db", "size_gb": 1, "size": 1}, "TypeError", "create_volume() got an unexpected keyword argument 'size'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, e := call(t, createVolume, p1, tt.args)
			if tt.wantClass == "" {
				if e != nil {
					t.Fatalf("error %#v", e)
				}
				vol := v.(map[string]any)
				if vol["name"] != tt.args["name"] || vol["project_id"] != "p1" || vol["status"] != "available" || len(vol["id"].(string)) != 36 {
					t.Fatalf("volume %#v", vol)
				}
				return
			}
			if e == nil || e.Class != tt.wantClass || e.Message != tt.wantMsg {
				t.Fatalf("got %#v, %#v; want %s: %s", v, e, tt.wantClass, tt.wantMsg)
			}
			if tt.wantClass == "InvalidInput" && (e.Module != "volumes.exceptions" || !e.Expected) {
				t.Fatalf("InvalidInput is not an expected volumes.exceptions error: %#v", e)
			}
		})
	}
}

func TestVolumeLifecycle(t *testing.T) {
	clear(store)
	p1, p2 := map[string]any{"project_id": "p1"}, map[string]any{"project_id": "p2"}
	a, e := call(t, createVolume, p1, map[string]any{"name": "a", "size_gb": 1})
	if e != nil {
		t.Fatal(e)
	}
	id := a.(map[string]any)["id"].(string)
	if a.(map[string]any)["volume_type"] != "standard" {
		t.Fatalf("default volume_type: %#v", a)
	}
	if _, e := call(t, createVolume, p2, map[string]any{"name": "b", "size_gb": 2}); e != nil {
		t.Fatal(e)
	}

	got, e := call(t, getVolume, p1, map[string]any{"volume_id": id})
	if e != nil || got.(map[string]any)["id"] != id {
		t.Fatalf("get_volume: %#v, %#v", got, e)
	}
	_, e = call(t, getVolume, p2, map[string]any{"volume_id": id})
	if e == nil || e.Class != "VolumeNotFound" || !e.Expected || e.Kwargs["volume_id"] != id {
		t.Fatalf("another project's volume: %#v", e)
	}

	list, e := call(t, listVolumes, p1, map[string]any{})
	if e != nil || len(list.([]any)) != 1 || list.([]any)[0].(map[string]any)["id"] != id {
		t.Fatalf("list_volumes: %#v, %#v", list, e)
	}
	if _, e := call(t, listVolumes, p1, map[string]any{"all": true}); e == nil || e.Message != "list_volumes() got an unexpected keyword argument 'all'" {
		t.Fatalf("list_volumes(all=True): %#v", e)
	}

	if v, e := call(t, deleteVolume, p1, map[string]any{"volume_id": id}); e != nil || v != nil {
		t.Fatalf("delete_volume: %#v, %#v", v, e)
	}
	if _, e := call(t, deleteVolume, p1, map[string]any{"volume_id": id}); e == nil || e.Class != "VolumeNotFound" || e.Message != "Volume "+id+" could not be found." {
		t.Fatalf("second delete_volume: %#v", e)
	}
	list, _ = call(t, listVolumes, p1, map[string]any{})
	if len(list.([]any)) != 0 {
		t.Fatalf("after delete: %#v", list)
	}
}
