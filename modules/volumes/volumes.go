// Command volumes is an example module in the spirit of OpenStack
// Cinder's volume manager: typed arguments, typed and expected errors,
// the request context, logging and notifications.
//
// Endpoint: namespace none, version 1.0.
//
//	create_volume(name, size_gb, volume_type="standard") -> volume
//	get_volume(volume_id) -> volume              raises VolumeNotFound
//	list_volumes() -> [volume, ...]
//	delete_volume(volume_id) -> None             raises VolumeNotFound
//
// Volumes belong to the context's project_id: another project's volume is
// not found. Bad arguments raise InvalidInput, both exceptions of module
// volumes.exceptions and marked expected.
//
// The volumes live in the memory of the instance that created them: run
// the module with max_instances 1 for one consistent view, and expect an
// empty store after the host replaces an instance (it does after a trap,
// a timeout or the memory limit). A real module would keep its state
// behind an RPC call to a service that owns it.
package main

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"

	sdk "github.com/wasmrpcd/wasmrpcd/guest-sdk"
)

// Volume is what the methods return; the json tags name its keys.
type Volume struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	SizeGB     int    `json:"size_gb"`
	VolumeType string `json:"volume_type"`
	Status     string `json:"status"`
	ProjectID  string `json:"project_id"`
	CreatedAt  string `json:"created_at"`
}

// Limits of create_volume's arguments.
const (
	maxNameLen = 255
	maxSizeGB  = 16384
)

// volumeTypes are the types create_volume accepts.
var volumeTypes = []string{"standard", "ssd", "archive"}

// store holds the volumes by ID; the instance owns it.
var store = map[string]*Volume{}

// exceptions is the Python module of this module's exception classes.
const exceptions = "volumes.exceptions"

func invalidInput(format string, a ...any) error {
	return sdk.Errorf("InvalidInput", "Invalid input received: "+format, a...).WithModule(exceptions).AsExpected()
}

func notFound(id string) error {
	return sdk.Errorf("VolumeNotFound", "Volume %s could not be found.", id).
		WithModule(exceptions).WithKwargs(map[string]any{"volume_id": id}).AsExpected()
}

var (
	createVolume = sdk.Method("create_volume", func(c *sdk.Context, a struct {
		Name       string
		SizeGB     int    `arg:"size_gb"`
		VolumeType string `arg:"volume_type,default=standard"`
	}) (*Volume, error) {
		switch {
		case strings.TrimSpace(a.Name) == "" || len(a.Name) > maxNameLen:
			return nil, invalidInput("name must be 1 to %d characters, not %d", maxNameLen, len(a.Name))
		case a.SizeGB <= 0 || a.SizeGB > maxSizeGB:
			return nil, invalidInput("size_gb must be between 1 and %d, got %d", maxSizeGB, a.SizeGB)
		case !slices.Contains(volumeTypes, a.VolumeType):
			return nil, invalidInput("volume_type must be one of %s, got %q", strings.Join(volumeTypes, ", "), a.VolumeType)
		}
		v := &Volume{
			ID:         newID(),
			Name:       a.Name,
			SizeGB:     a.SizeGB,
			VolumeType: a.VolumeType,
			Status:     "available",
			ProjectID:  c.String("project_id"),
			CreatedAt:  time.Now().UTC().Format(time.RFC3339),
		}
		store[v.ID] = v
		sdk.Logf(sdk.LevelInfo, "created volume %s (%d GB %s) for project %q, request %s", v.ID, v.SizeGB, v.VolumeType, v.ProjectID, c.String("request_id"))
		emit(c, "volume.create.end", v)
		return v, nil
	})

	getVolume = sdk.Method("get_volume", func(c *sdk.Context, a struct{ VolumeID string }) (*Volume, error) {
		return lookup(c, a.VolumeID)
	})

	listVolumes = sdk.Method("list_volumes", func(c *sdk.Context, _ struct{}) ([]*Volume, error) {
		out := []*Volume{}
		for _, v := range store {
			if v.ProjectID == c.String("project_id") {
				out = append(out, v)
			}
		}
		slices.SortFunc(out, func(a, b *Volume) int {
			return strings.Compare(a.CreatedAt+a.ID, b.CreatedAt+b.ID)
		})
		return out, nil
	})

	deleteVolume = sdk.Method("delete_volume", func(c *sdk.Context, a struct{ VolumeID string }) (any, error) {
		v, err := lookup(c, a.VolumeID)
		if err != nil {
			return nil, err
		}
		delete(store, v.ID)
		emit(c, "volume.delete.end", v)
		return nil, nil
	})
)

func init() {
	sdk.Register(sdk.Module{
		Name: "volumes",
		Endpoints: []sdk.Endpoint{{
			Version: "1.0",
			Methods: []*sdk.Handler{createVolume, getVolume, listVolumes, deleteVolume},
		}},
	})
}

func main() {}

// lookup finds a volume of the context's project.
func lookup(c *sdk.Context, id string) (*Volume, error) {
	v, ok := store[id]
	if !ok || v.ProjectID != c.String("project_id") {
		return nil, notFound(id)
	}
	return v, nil
}

// emit sends a notification about v, as Cinder does after each change.
// Notifications are best effort: a host that refuses them (a tenant with
// no notification topic) gets a warning in its log, and the call goes on.
func emit(c *sdk.Context, event string, v *Volume) {
	err := sdk.Notify(c, sdk.Notification{
		Priority:    "info",
		PublisherID: "volumes",
		EventType:   event,
		Payload:     v,
	})
	if err != nil {
		sdk.Logf(sdk.LevelWarn, "notification %s for %s not sent: %v", event, v.ID, err)
	}
}

// newID returns a random UUID (version 4), as Cinder's volume IDs are.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
