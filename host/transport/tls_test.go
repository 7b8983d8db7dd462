package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The ssl options against the real broker, behind a TLS front: a
// listener of the test's that completes the TLS handshake with
// certificates made for the test, then relays the plain AMQP bytes to
// the broker (as a TLS-terminating proxy or a broker's TLS listener
// would).

// testCA is a certificate authority made for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // its certificate, PEM
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name+".pem")
	writePEM(t, file, "CERTIFICATE", der)
	return &testCA{cert: cert, key: key, file: file}
}

// issue makes a certificate for the names (DNS names, or IP addresses)
// and writes it and its key as PEM files; it returns both paths and the
// pair.
func (ca *testCA) issue(t *testing.T, dir, name string, client bool, names ...string) (certFile, keyFile string, pair tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	pair, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

func writePEM(t *testing.T, file, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsFront listens with cfg on a free local port and relays every
// connection to the broker at addr until the test ends; it returns its
// port.
func tlsFront(t *testing.T, cfg *tls.Config, broker string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				b, err := net.Dial("tcp", broker)
				if err != nil {
					return
				}
				defer b.Close()
				mu.Lock()
				conns = append(conns, c, b)
				mu.Unlock()
				done := make(chan struct{})
				go func() {
					_, _ = io.Copy(b, c)
					b.Close()
					close(done)
				}()
				_, _ = io.Copy(c, b)
				c.Close()
				<-done
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func TestTLSBroker(t *testing.T) {
	u := brokerURL(t)
	h := u.Brokers()[0]
	dir := t.TempDir()
	ca := newTestCA(t, dir, "test-ca")
	otherCA := newTestCA(t, dir, "other-ca")
	_, _, namedOnly := ca.issue(t, dir, "broker-named", false, "broker.test")
	_, _, withIP := ca.issue(t, dir, "broker-ip", false, "broker.test", "127.0.0.1")
	clientCert, clientKey, _ := ca.issue(t, dir, "client", true, "wasmrpcd")
	strangerCert, strangerKey, _ := otherCA.issue(t, dir, "stranger", true, "wasmrpcd")

	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(ca.cert)
	fronts := map[string]*tls.Config{
		"named":       {Certificates: []tls.Certificate{namedOnly}},
		"ip":          {Certificates: []tls.Certificate{withIP}},
		"client-auth": {Certificates: []tls.Certificate{withIP}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs},
	}
	ports := map[string]string{}
	for name, cfg := range fronts {
		ports[name] = tlsFront(t, cfg, h.Addr())
	}

	tests := []struct {
		name  string
		front string
		opts  Options
		fails string // in the error; "" connects
	}{
		{"no CA: the certificate must chain to the system's roots, as with py-amqp", "named", Options{}, "certificate signed by unknown authority"},
		{"CA, host name not checked", "named", Options{TLSCAFile: ca.file, TLSSkipHostname: true}, ""},
		{"CA of another authority", "named", Options{TLSCAFile: otherCA.file, TLSSkipHostname: true}, "certificate signed by unknown authority"},
		{"host name checked by default: the certificate does not name 127.0.0.1", "named", Options{TLSCAFile: ca.file}, "doesn't contain any IP SANs"},
		{"host name checked by default: the certificate names 127.0.0.1", "ip", Options{TLSCAFile: ca.file}, ""},
		{"TLS 1.3 only", "ip", Options{TLSCAFile: ca.file, TLSVersion: "tlsv1_3"}, ""},
		{"TLS 1.1 only: the front refuses it", "ip", Options{TLSCAFile: ca.file, TLSVersion: "tlsv1_1"}, "protocol version"},
		{"client certificate required and given", "client-auth", Options{TLSCAFile: ca.file, TLSCertFile: clientCert, TLSKeyFile: clientKey}, ""},
		{"client certificate required, none given", "client-auth", Options{TLSCAFile: ca.file}, "certificate required"},
		// Go's client sends no certificate the front's CAs did not sign.
		{"client certificate of another authority", "client-auth", Options{TLSCAFile: ca.file, TLSCertFile: strangerCert, TLSKeyFile: strangerKey}, "certificate required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.TLS = true
			opts.RetryInterval = 100 * time.Millisecond
			opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			raw := fmt.Sprintf("rabbit://%s:%s@127.0.0.1:%s/", h.User(), h.Pass(), ports[tc.front])
			wait := 10 * time.Second
			if tc.fails != "" {
				wait = 2 * time.Second // it retries until then
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			tr, err := Open(ctx, raw, opts)
			if tc.fails != "" {
				if err == nil {
					tr.Close()
					t.Fatalf("connected; want an error with %q", tc.fails)
				}
				if !strings.Contains(err.Error(), tc.fails) {
					t.Fatalf("error %q, want it to contain %q", err, tc.fails)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			// A round trip over TLS: a publish the broker confirms.
			if err := tr.Reply(ctx, "wasmrpcd-tls-test-no-such-queue", []byte(`{}`)); err != nil && !strings.Contains(err.Error(), "unroutable") {
				t.Fatalf("publish over TLS: %v", err)
			}
		})
	}
}
