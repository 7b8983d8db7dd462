package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// dialer returns the Dial of amqp.Config for one host: a TCP connect and,
// with TLS, the TLS handshake, done here rather than by amqp091 so that
// the connection it returns records why it failed (see watchedConn).
func dialer(tlsCfg *tls.Config, serverName string, timeout time.Duration) (dial func(network, addr string) (net.Conn, error), last func() error) {
	var mu sync.Mutex
	var conn *watchedConn
	dial = func(network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		raw, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		// As amqp.DefaultDial: the deadline bounds the TLS and AMQP
		// handshakes, and amqp091 clears it once the connection is open.
		deadline, _ := ctx.Deadline()
		if err := raw.SetDeadline(deadline); err != nil {
			raw.Close()
			return nil, err
		}
		var c net.Conn = raw
		if tlsCfg != nil {
			cfg := tlsCfg.Clone()
			if cfg.ServerName == "" {
				cfg.ServerName = serverName
			}
			tc := tls.Client(raw, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				raw.Close()
				return nil, fmt.Errorf("TLS handshake: %w", err)
			}
			c = tc
		}
		w := &watchedConn{Conn: c}
		mu.Lock()
		conn = w
		mu.Unlock()
		return w, nil
	}
	last = func() error {
		mu.Lock()
		defer mu.Unlock()
		if conn == nil {
			return nil
		}
		return conn.readErr()
	}
	return dial, last
}

// watchedConn is a connection that remembers the first error a read
// returned before it was closed.
//
// With TLS 1.3 the client's handshake ends before the server has checked
// the client's certificate: a broker that refuses it sends its alert
// ("tls: certificate required", "tls: unknown certificate authority")
// afterwards, and amqp091's reader goroutine gets it as a read error and
// closes the connection, often before the AMQP open has sent its
// protocol header, which then fails with amqp.ErrClosed ("channel/
// connection is not open"). The read error is the reason; dial reports
// it instead (see amqpOpenError).
type watchedConn struct {
	net.Conn

	mu     sync.Mutex
	err    error
	closed bool
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.mu.Lock()
		if c.err == nil && !c.closed {
			c.err = err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.Conn.Close()
}

func (c *watchedConn) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// ConnectionState returns the TLS state, for amqp.Connection.ConnectionState.
func (c *watchedConn) ConnectionState() tls.ConnectionState {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// amqpOpenError is the error of an AMQP open that failed with err after
// the connection's first failed read returned readErr. The broker's own
// refusal (an *amqp.Error such as ACCESS_REFUSED) stays; anything else
// (amqp.ErrClosed, a frame error carrying the read error's text, or the
// write error of a protocol header sent on a connection the reader had
// already closed) gives way to readErr, so that a TLS alert or a reset
// reads as such.
func amqpOpenError(err, readErr error) error {
	if readErr == nil {
		return err
	}
	var ae *amqp.Error
	if errors.As(err, &ae) && ae != amqp.ErrClosed && ae.Code != amqp.FrameError {
		return err
	}
	return fmt.Errorf("the connection failed during the AMQP handshake: %w", readErr)
}

// TLSWarning returns a warning when o connects with TLS without checking
// everything about the broker's certificate: its host name is checked
// only with ssl_ca_file and ssl_enforce_hostname_verification true (as
// oslo.messaging does), so that any certificate a trusted CA issued, to
// anyone, is taken. "" when o does not use TLS or checks it all.
func (o Options) TLSWarning() string {
	if !o.TLS || o.checksHostname() {
		return ""
	}
	why := "ssl_ca_file is not set: the system's CAs"
	if o.TLSCAFile != "" {
		why = "ssl_enforce_hostname_verification is false"
	}
	return "ssl: the broker's certificate is checked against the CAs but not against the host name dialed (" + why +
		"): any certificate those CAs issued is accepted; set ssl_ca_file and leave ssl_enforce_hostname_verification true to verify the broker"
}
