package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// dialTimeout bounds one TCP connect and AMQP handshake.
const dialTimeout = 30 * time.Second

// closeTimeout bounds the graceful close of a connection or channel.
const closeTimeout = 5 * time.Second

// supervisor keeps one AMQP connection up. It dials the URL's hosts in
// turn (kombu's failover), pausing with backoff after each round of
// failures, watches the connection, and dials again when it is lost.
// Listeners and the publisher ask it for the current connection and open
// their own channels on it.
type supervisor struct {
	name string // the connection_name client property
	url  *URL
	opts Options
	log  *slog.Logger
	tls  *tls.Config

	mu   sync.Mutex
	cur  *session      // nil while disconnected
	up   chan struct{} // closed when cur is set
	next int           // index of the host to try first

	reconnects atomic.Uint64
	done       chan struct{} // closed by close
	closeOnce  sync.Once
	wg         sync.WaitGroup // run
}

// session is one connection's life.
type session struct {
	conn *amqp.Connection
	lost chan struct{} // closed when the supervisor saw the connection go
}

// newSupervisor connects (trying every host until ctx is done) and starts
// watching the connection.
func newSupervisor(ctx context.Context, name string, u *URL, opts Options) (*supervisor, error) {
	s := &supervisor{
		name: name,
		url:  u,
		opts: opts,
		log:  opts.logger().With("connection", name),
		up:   make(chan struct{}),
		done: make(chan struct{}),
	}
	if opts.TLS {
		cfg, err := tlsConfig(opts)
		if err != nil {
			return nil, err
		}
		s.tls = cfg
		if w := opts.TLSWarning(); w != "" {
			s.log.Warn(w)
		}
	}
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go s.run(conn)
	return s, nil
}

// run watches each connection and replaces it when it is lost, until close.
func (s *supervisor) run(conn *amqp.Connection) {
	defer s.wg.Done()
	for {
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 1))
		sess := &session{conn: conn, lost: make(chan struct{})}
		s.mu.Lock()
		s.cur = sess
		close(s.up)
		s.mu.Unlock()

	watch:
		for {
			select {
			case b, ok := <-blocked:
				if !ok {
					blocked = nil
				} else if b.Active {
					s.log.Warn("broker blocked the connection", "reason", b.Reason)
				} else {
					s.log.Info("broker unblocked the connection")
				}
			case err := <-closed:
				s.log.Error("AMQP connection lost", "error", err)
				break watch
			case <-s.done:
				_ = conn.CloseDeadline(time.Now().Add(closeTimeout))
				s.mu.Lock()
				s.cur = nil
				close(sess.lost)
				s.mu.Unlock()
				return
			}
		}
		s.mu.Lock()
		s.cur = nil
		s.up = make(chan struct{})
		close(sess.lost)
		s.mu.Unlock()

		if !s.sleep(s.opts.reconnectPause()) {
			return
		}
		c, err := s.connect(context.Background())
		if err != nil {
			return // closed while reconnecting
		}
		s.reconnects.Add(1)
		conn = c
	}
}

// refusedProbeInterval is how often, during a pause between rounds of
// attempts, the hosts that refused the last attempt's TCP connection
// (nothing listens on the port: a broker stopped or starting) are dialed
// again. A refused connect is answered by the host's kernel, not by
// RabbitMQ, so probing at this rate costs a broker that stays down
// nothing, and brings the connection back within this interval of the
// broker's listener opening instead of after the rest of a backoff pause.
const refusedProbeInterval = 200 * time.Millisecond

// connect dials the hosts round after round until one answers, ctx is done
// or the supervisor is closed. Between rounds it pauses with kombu's
// backoff (rabbit_retry_interval, rabbit_retry_backoff,
// rabbit_interval_max), logging each round as oslo does; during a pause it
// quietly dials again, every refusedProbeInterval, the hosts that refused
// the TCP connection, and stops probing a host that fails otherwise.
func (s *supervisor) connect(ctx context.Context) (*amqp.Connection, error) {
	hosts := s.url.Brokers()
	var lastErr error
	for round := 0; ; round++ {
		var refused []int
		for _, i := range s.order(len(hosts)) {
			conn, err := s.dial(hosts[i])
			if err == nil {
				s.answered(i, hosts[i])
				return conn, nil
			}
			lastErr = err
			if errors.Is(err, syscall.ECONNREFUSED) {
				refused = append(refused, i)
			}
			s.log.Error("AMQP server unreachable", "host", hosts[i].Addr(), "error", err)
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("connect to %s: %w (last error: %v)", s.url.Redacted(), ctx.Err(), lastErr)
			case <-s.done:
				return nil, ErrClosed
			default:
			}
		}
		pause := s.opts.backoff(round)
		s.log.Info("retrying AMQP connection", "in", pause)
		end := time.Now().Add(pause)
		for {
			wait := time.Until(end)
			if len(refused) > 0 {
				wait = min(wait, refusedProbeInterval)
			}
			if wait <= 0 {
				break
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("connect to %s: %w (last error: %v)", s.url.Redacted(), ctx.Err(), lastErr)
			case <-s.done:
				t.Stop()
				return nil, ErrClosed
			}
			still := refused[:0]
			for _, i := range refused {
				conn, err := s.dial(hosts[i])
				if err == nil {
					s.answered(i, hosts[i])
					return conn, nil
				}
				if errors.Is(err, syscall.ECONNREFUSED) {
					still = append(still, i)
				} else {
					lastErr = err
					s.log.Error("AMQP server unreachable", "host", hosts[i].Addr(), "error", err)
				}
			}
			refused = still
		}
	}
}

// answered records that host i answered, so that the next round starts
// after it.
func (s *supervisor) answered(i int, h Host) {
	s.mu.Lock()
	s.next = (i + 1) % len(s.url.Brokers())
	s.mu.Unlock()
	s.log.Info("connected to AMQP server", "host", h.Addr())
}

// order returns the host indexes to try in one round.
func (s *supervisor) order(n int) []int {
	idx := make([]int, n)
	if strings.EqualFold(s.opts.FailoverStrategy, "shuffle") {
		for i, j := range rand.Perm(n) {
			idx[i] = j
		}
		return idx
	}
	s.mu.Lock()
	start := s.next
	s.mu.Unlock()
	for i := range idx {
		idx[i] = (start + i) % n
	}
	return idx
}

// dial opens one AMQP connection to h.
func (s *supervisor) dial(h Host) (*amqp.Connection, error) {
	cfg := amqp.Config{
		Vhost:      s.url.VHost(),
		Heartbeat:  s.opts.heartbeat(),
		Locale:     "en_US",
		Properties: amqp.Table{"product": "wasmrpcd", "platform": "Go", "connection_name": s.name},
	}
	var readErr func() error
	serverName, _, _ := net.SplitHostPort(h.Addr()) // "localhost" for none
	cfg.Dial, readErr = dialer(s.tls, serverName, dialTimeout)
	switch strings.ToUpper(s.opts.LoginMethod) {
	case "PLAIN":
		cfg.SASL = []amqp.Authentication{&amqp.PlainAuth{Username: h.User(), Password: h.Pass()}}
	case "EXTERNAL":
		cfg.SASL = []amqp.Authentication{&amqp.ExternalAuth{}}
	default:
		cfg.SASL = []amqp.Authentication{&amqp.AMQPlainAuth{Username: h.User(), Password: h.Pass()}}
	}
	// "amqp": cfg.Dial does the TLS handshake, when s.tls is set.
	uri := "amqp://" + h.Addr() + "/"
	if cfg.Heartbeat == 0 {
		uri += "?heartbeat=0" // amqp091 replaces a 0 in Config by 10 s
	}
	conn, err := amqp.DialConfig(uri, cfg)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", h.Addr(), amqpOpenError(err, readErr()))
	}
	return conn, nil
}

// sleep waits d, or less when the supervisor closes; it reports whether
// the supervisor is still open.
func (s *supervisor) sleep(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-s.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// current returns the live connection, waiting for one until ctx is done.
func (s *supervisor) current(ctx context.Context) (*amqp.Connection, error) {
	for {
		s.mu.Lock()
		sess, up := s.cur, s.up
		s.mu.Unlock()
		if sess != nil && !sess.conn.IsClosed() {
			return sess.conn, nil
		}
		wait := up
		if sess != nil {
			wait = sess.lost // closed but not yet replaced
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the AMQP connection: %w", ctx.Err())
		case <-s.done:
			return nil, ErrClosed
		}
	}
}

// connected reports whether a connection is up now.
func (s *supervisor) connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil && !s.cur.conn.IsClosed()
}

// close closes the connection and stops reconnecting.
func (s *supervisor) close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.wg.Wait()
}

// connectionName returns the connection_name of a connection for purpose,
// oslo's "<program>:<pid>:<uuid>" unless Options.ConnectionName is set.
func connectionName(opts Options, purpose string) string {
	if opts.ConnectionName != "" {
		return opts.ConnectionName + ":" + purpose
	}
	prog := "wasmrpcd"
	if len(os.Args) > 0 && os.Args[0] != "" {
		prog = os.Args[0][strings.LastIndexByte(os.Args[0], '/')+1:]
	}
	return fmt.Sprintf("%s:%d:%s", prog, os.Getpid(), uuidHex())
}

// tlsConfig builds the TLS settings of oslo's ssl options, as py-amqp
// applies them: the broker's certificate must chain to the CAs of
// ssl_ca_file, or to the system's roots without one; its host name is
// checked too with a CA file, unless ssl_enforce_hostname_verification
// is false.
func tlsConfig(o Options) (*tls.Config, error) {
	min, max, err := o.tlsVersion()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidOption, err)
	}
	cfg := &tls.Config{MinVersion: min, MaxVersion: max}
	if o.TLSCertFile != "" || o.TLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: ssl_cert_file/ssl_key_file: %v", ErrInvalidOption, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	var roots *x509.CertPool // nil: the system's
	if o.TLSCAFile != "" {
		pem, err := os.ReadFile(o.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: ssl_ca_file: %v", ErrInvalidOption, err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: ssl_ca_file %s holds no PEM certificate", ErrInvalidOption, o.TLSCAFile)
		}
		cfg.RootCAs = roots
	}
	if !o.checksHostname() {
		// Check the chain but not the name, as py-amqp does without a CA
		// file or with ssl_enforce_hostname_verification=false.
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("broker sent no certificate")
			}
			certs := make([]*x509.Certificate, len(raw))
			for i, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return err
				}
				certs[i] = c
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return cfg, nil
}

// checksHostname reports whether TLS connections check the broker's host
// name against its certificate: with a CA file, unless
// ssl_enforce_hostname_verification is false.
func (o Options) checksHostname() bool { return o.TLSCAFile != "" && !o.TLSSkipHostname }

// tlsVersion returns the TLS versions of ssl_version (Python's ssl
// protocol names).
func (o Options) tlsVersion() (min, max uint16, err error) {
	switch strings.ToLower(o.TLSVersion) {
	case "", "sslv23", "tls", "tls_client":
		return tls.VersionTLS12, 0, nil
	case "tlsv1":
		return tls.VersionTLS10, tls.VersionTLS10, nil
	case "tlsv1_1":
		return tls.VersionTLS11, tls.VersionTLS11, nil
	case "tlsv1_2":
		return tls.VersionTLS12, tls.VersionTLS12, nil
	case "tlsv1_3":
		return tls.VersionTLS13, tls.VersionTLS13, nil
	case "sslv2", "sslv3":
		return 0, 0, fmt.Errorf("ssl_version %s: SSL 2 and 3 are broken and not supported; use tlsv1_2 or leave it empty", o.TLSVersion)
	}
	return 0, 0, fmt.Errorf("ssl_version %q (want tlsv1, tlsv1_1, tlsv1_2, tlsv1_3 or sslv23)", o.TLSVersion)
}
