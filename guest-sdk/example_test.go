package sdk_test

import (
	"encoding/json"
	"fmt"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	sdk "github.com/wasmrpcd/wasmrpcd/guest-sdk"
)

// show prints a CBOR result as JSON.
func show(result []byte) {
	var v any
	if err := cborcodec.Unmarshal(result, &v); err != nil {
		fmt.Println("bad result:", err)
		return
	}
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func ExampleMethod() {
	greet := sdk.Method("greet", func(c *sdk.Context, a struct {
		Name        string
		Punctuation string `arg:"punctuation,default=!"`
	}) (string, error) {
		if a.Name == "" {
			return "", sdk.Errorf("ValueError", "name must not be empty")
		}
		return "Hello, " + a.Name + a.Punctuation, nil
	})

	args := func(kw map[string]any) []byte { b, _ := cborcodec.Marshal(kw); return b }
	show(greet.Handle(nil, args(map[string]any{"name": "Ada"})))
	show(greet.Handle(nil, args(map[string]any{"name": "Ada", "punctuation": "?"})))
	show(greet.Handle(nil, args(map[string]any{})))
	show(greet.Handle(nil, args(map[string]any{"name": "Ada", "loud": true})))
	show(greet.Handle(nil, args(map[string]any{"name": ""})))
	// Output:
	// {"value":"Hello, Ada!"}
	// {"value":"Hello, Ada?"}
	// {"error":{"class":"TypeError","message":"greet() missing 1 required positional argument: 'name'","module":"builtins"}}
	// {"error":{"class":"TypeError","message":"greet() got an unexpected keyword argument 'loud'","module":"builtins"}}
	// {"error":{"class":"ValueError","message":"name must not be empty","module":"builtins"}}
}

func ExampleListener() {
	info := sdk.Listener("info", func(c *sdk.Context, e sdk.Event) (sdk.Ack, error) {
		if e.EventType == "volume.retry" {
			return sdk.Requeue, nil
		}
		return sdk.Handled, nil
	})
	ev, _ := cborcodec.Marshal(map[string]any{"publisher_id": "volumes", "event_type": "volume.retry", "payload": nil, "metadata": map[string]any{}})
	show(info.Handle(nil, ev))
	// Output:
	// {"value":"requeue"}
}
