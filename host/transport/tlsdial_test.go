package transport

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestAMQPOpenError(t *testing.T) {
	alert := &net.OpError{Op: "remote error", Err: errors.New("tls: certificate required")}
	frame := &amqp.Error{Code: amqp.FrameError, Reason: alert.Error()}
	auth := &amqp.Error{Code: amqp.AccessRefused, Reason: "username or password not allowed"}
	tests := []struct {
		name      string
		err, read error
		want      string
	}{
		{"closed before the header was sent: the alert", amqp.ErrClosed, alert, "the connection failed during the AMQP handshake: remote error: tls: certificate required"},
		{"reader's frame error: the alert", frame, alert, "remote error: tls: certificate required"},
		{"closed, EOF read", amqp.ErrClosed, io.EOF, "during the AMQP handshake: EOF"},
		{"header written after the reader closed: the alert", &net.OpError{Op: "write", Err: net.ErrClosed}, alert, "during the AMQP handshake: remote error: tls: certificate required"},
		{"closed, nothing read", amqp.ErrClosed, nil, amqp.ErrClosed.Error()},
		{"the broker's own refusal stays", auth, io.EOF, "username or password not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := amqpOpenError(tt.err, tt.read)
			if !strings.Contains(got.Error(), tt.want) {
				t.Fatalf("error %q, want %q in it", got, tt.want)
			}
			if tt.read != nil && got != tt.err && !errors.Is(got, tt.read) {
				t.Fatalf("error %v does not wrap %v", got, tt.read)
			}
		})
	}
}

// TestWatchedConnRecordsFirstReadError: a read error before Close is
// kept, the errors of reads after Close (amqp091 closing) are not.
func TestWatchedConnRecordsFirstReadError(t *testing.T) {
	a, b := net.Pipe()
	w := &watchedConn{Conn: a}
	b.Close()
	if _, err := w.Read(make([]byte, 1)); err == nil {
		t.Fatal("read of a closed pipe succeeded")
	}
	first := w.readErr()
	if first == nil {
		t.Fatal("no read error recorded")
	}
	w.Close()
	_, _ = w.Read(make([]byte, 1))
	if w.readErr() != first {
		t.Fatalf("read error %v replaced by %v", first, w.readErr())
	}

	c, d := net.Pipe()
	defer d.Close()
	w = &watchedConn{Conn: c}
	w.Close()
	_, _ = w.Read(make([]byte, 1))
	if err := w.readErr(); err != nil {
		t.Fatalf("a read after Close recorded %v", err)
	}
	if w.ConnectionState().HandshakeComplete {
		t.Fatal("a plain connection has a TLS state")
	}
}

func TestTLSWarning(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string // "" for none
	}{
		{"no TLS", Options{}, ""},
		{"no TLS, even without a CA", Options{TLSSkipHostname: true}, ""},
		{"TLS, CA, host name checked", Options{TLS: true, TLSCAFile: "ca.pem"}, ""},
		{"TLS without a CA: system roots, no host name", Options{TLS: true}, "ssl_ca_file is not set"},
		{"TLS, CA, host name check off", Options{TLS: true, TLSCAFile: "ca.pem", TLSSkipHostname: true}, "ssl_enforce_hostname_verification is false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.opts.TLSWarning()
			if tt.want == "" {
				if got != "" {
					t.Fatalf("warning %q, want none", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) || !strings.Contains(got, "not against the host name") {
				t.Fatalf("warning %q, want %q in it", got, tt.want)
			}
		})
	}
}
