package sdk

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/guest-sdk/py"
)

func TestToABI(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want abi.Error
	}{
		{"builtin class gets builtins", Errorf("ValueError", "bad %d", 1), abi.Error{Class: "ValueError", Module: "builtins", Message: "bad 1"}},
		{"own class keeps no module", NewError("VolumeNotFound", "no"), abi.Error{Class: "VolumeNotFound", Message: "no"}},
		{"explicit module", NewError("ValueError", "x").WithModule("mymod"), abi.Error{Class: "ValueError", Module: "mymod", Message: "x"}},
		{"everything", NewError("E", "m").WithArgs("a", int64(1)).WithKwargs(map[string]any{"k": "v"}).AsExpected(),
			abi.Error{Class: "E", Message: "m", Args: []any{"a", int64(1)}, Kwargs: map[string]any{"k": "v"}, Expected: true}},
		{"wrapped", fmt.Errorf("ctx: %w", NewError("KeyError", "k")), abi.Error{Class: "KeyError", Module: "builtins", Message: "k"}},
		{"joined", errors.Join(errors.New("first"), NewError("IndexError", "i")), abi.Error{Class: "IndexError", Module: "builtins", Message: "i"}},
		{"empty class", &Error{Message: "m"}, abi.Error{Class: "RuntimeError", Module: "builtins", Message: "m"}},
		{"py error", py.TypeError("t"), abi.Error{Class: "TypeError", Module: "builtins", Message: "t"}},
		{"plain", errors.New("plain"), abi.Error{Class: "RuntimeError", Module: "builtins", Message: "plain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := toABI(tt.err); !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("toABI\n %#v\nwant\n %#v", *got, tt.want)
			}
		})
	}
}

func TestErrorMethodsCopy(t *testing.T) {
	e := NewError("E", "m")
	_ = e.WithModule("x").WithArgs(1).WithKwargs(map[string]any{}).AsExpected()
	if !reflect.DeepEqual(e, &Error{Class: "E", Message: "m"}) {
		t.Fatalf("the With methods changed the original: %#v", e)
	}
	if e.Error() != "E: m" || (&Error{Message: "m"}).Error() != "RuntimeError: m" {
		t.Fatalf("Error() = %q", e.Error())
	}
	if got := fromABI(&abi.Error{Class: "C", Module: "M", Message: "m", Expected: true}); !reflect.DeepEqual(got, &Error{Class: "C", Module: "M", Message: "m", Expected: true}) {
		t.Fatalf("fromABI: %#v", got)
	}
}

// TestBuiltinsMatchPython checks the list of built-in exception names
// against the running Python.
func TestBuiltinsMatchPython(t *testing.T) {
	var want []string
	python(t, `
import builtins, json, sys
json.dump(sorted(n for n in dir(builtins) if isinstance(getattr(builtins, n), type) and issubclass(getattr(builtins, n), BaseException)), sys.stdout)
`, nil, &want)
	var got []string
	for n := range builtinExceptions {
		got = append(got, n)
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("built-in exceptions\n %v\nPython\n %v", got, want)
	}
	if !IsBuiltin("ValueError") || IsBuiltin("VolumeNotFound") || IsBuiltin("") {
		t.Fatal("IsBuiltin")
	}
}
