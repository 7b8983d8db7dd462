package rpc

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
)

func TestFailureOf(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		err                    error
		class, module, message string
		expected               bool
	}{
		{"guest builtin", &abi.Error{Class: "ValueError", Message: "bad size"}, "ValueError", "builtins", "bad size", false},
		{"guest custom", &abi.Error{Class: "VolumeNotFound", Module: "volumes", Message: "v1", Expected: true}, "VolumeNotFound", "volumes", "v1", true},
		{"guest custom without module", &abi.Error{Class: "VolumeNotFound", Message: "v1"}, "VolumeNotFound", "", "v1", false},
		{"wrapped guest", fmt.Errorf("call: %w", &abi.Error{Class: "KeyError", Message: "k"}), "KeyError", "builtins", "k", false},
		{"failure as is", oslo.NewFailure("MessagingTimeout", "late"), "MessagingTimeout", oslo.NewFailure("MessagingTimeout", "late").Module, "late", false},
		{"no such method", &NoSuchMethodError{Method: "nope"}, "NoSuchMethod", oslo.ModuleDispatcher, "Endpoint does not support RPC method nope", false},
		{"unsupported version", &UnsupportedVersionError{Version: "2.0", Method: "echo"}, "UnsupportedVersion", oslo.ModuleDispatcher,
			"Endpoint does not support RPC version 2.0. Attempted method: echo", false},
		{"deadline", fmt.Errorf("spin: %w", context.DeadlineExceeded), "TimeoutError", "builtins", "spin: context deadline exceeded", false},
		{"other", errors.New("boom"), "RuntimeError", "builtins", "boom", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, expected := FailureOf(tc.err)
			if f.Class != tc.class || f.Module != tc.module || f.Message != tc.message || expected != tc.expected {
				t.Fatalf("FailureOf(%v) = %+v, expected=%v", tc.err, f, expected)
			}
		})
	}
}
