package wasm

import (
	"context"
	"errors"
	"testing"
)

func TestWarm(t *testing.T) {
	r, _ := newRuntime(t, Config{})
	m := load(t, r, "echo", Limits{MaxInstances: 3})
	for _, tc := range []struct{ ask, want int }{
		{0, 1}, // Load leaves one ready; Warm never shrinks
		{2, 2},
		{2, 2},
		{9, 3}, // capped at MaxInstances
	} {
		if err := m.Warm(context.Background(), tc.ask); err != nil {
			t.Fatalf("Warm(%d): %v", tc.ask, err)
		}
		if got := m.Instances(); got != tc.want {
			t.Fatalf("after Warm(%d): %d instances, want %d", tc.ask, got, tc.want)
		}
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Warm(context.Background(), 2); !errors.Is(err, ErrClosed) {
		t.Fatalf("Warm after Close = %v, want ErrClosed", err)
	}
}
