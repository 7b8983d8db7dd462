package transport

import (
	"errors"
	"net"
	"syscall"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestStaleSettleErrors(t *testing.T) {
	reset := &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}
	other := errors.New("delivery not initialized")
	for _, tt := range []struct {
		name  string
		err   error
		stale bool
		cause error
	}{
		{"nil", nil, false, nil},
		{"channel closed", amqp.ErrClosed, true, nil},
		{"write on a reset connection", reset, true, syscall.ECONNRESET},
		{"anything else", other, false, other},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := stale(tt.err)
			if errors.Is(got, ErrStaleDelivery) != tt.stale {
				t.Fatalf("stale(%v) = %v, want ErrStaleDelivery: %v", tt.err, got, tt.stale)
			}
			if tt.err == nil && got != nil {
				t.Fatalf("stale(nil) = %v", got)
			}
			if tt.cause != nil && !errors.Is(got, tt.cause) {
				t.Fatalf("stale(%v) = %v, lost the cause %v", tt.err, got, tt.cause)
			}
		})
	}
}
