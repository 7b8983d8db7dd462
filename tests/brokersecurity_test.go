package tests

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The broker settings a daemon must not take silently: a TLS connection
// that does not check the broker's host name (a warning at start and in
// `check`), and a transport URL whose password would show in the log
// (refused, without showing it).

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// writeConfig writes a config file of text and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wasmrpcd.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const tlsWarning = "ssl: the broker's certificate is checked against the CAs but not against the host name dialed"

func TestUnverifiedTLSWarned(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem") // check does not read it
	for _, tc := range []struct {
		name, rabbit, why string
	}{
		{"no CA", "{ssl: true}", "ssl_ca_file is not set"},
		{"host name check off", "{ssl: true, ssl_ca_file: " + ca + ", ssl_enforce_hostname_verification: false}", "ssl_enforce_hostname_verification is false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, "transport_url: rabbit://guest:guest@127.0.0.1:"+closedPort(t)+"/\n"+
				"admin_listen: ''\ncache_dir: ''\nlog: {format: json}\nrabbit: "+tc.rabbit+"\n")

			out, err := exec.Command(daemonBin, "check", "--config", path).CombinedOutput()
			if err != nil {
				t.Fatalf("check: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "warning: "+tlsWarning) || !strings.Contains(string(out), tc.why) {
				t.Fatalf("check prints no warning about TLS:\n%s", out)
			}

			// run: the warning is logged before it connects (here, to
			// nothing: it retries until stopped).
			cmd := exec.Command(daemonBin, "run", "--config", path)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			log := newOutput()
			done := make(chan struct{})
			go func() { defer close(done); log.read(stderr) }()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			line, _, err := log.waitFor(ctx, 0, func(l string) bool { return strings.Contains(l, tlsWarning) })
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-done
			_ = cmd.Wait()
			if err != nil {
				t.Fatalf("no TLS warning at start: %v\n%s", err, log.tail(10))
			}
			if !strings.Contains(line, `"level":"WARN"`) {
				t.Fatalf("the TLS warning is not a WARN record: %s", line)
			}
		})
	}
}

func TestTransportURLPasswordNeverShown(t *testing.T) {
	for _, tc := range []struct{ name, url string }{
		{"comma", "rabbit://guest:s3cr,et9@127.0.0.1/"},
		{"slash", "rabbit://guest:1234/5678@127.0.0.1"},
		{"comma between digits", "rabbit://guest:1234,5678@127.0.0.1/"},
	} {
		url := tc.url
		t.Run(tc.name, func(t *testing.T) { // not the URL: it names the temporary directory
			path := writeConfig(t, "transport_url: "+url+"\nadmin_listen: ''\ncache_dir: ''\n")
			for _, sub := range []string{"check", "run"} {
				out, err := exec.Command(daemonBin, sub, "--config", path).CombinedOutput()
				if err == nil {
					t.Fatalf("%s takes it:\n%s", sub, out)
				}
				for _, piece := range []string{"s3cr", "et9", "1234", "5678"} {
					if strings.Contains(string(out), piece) {
						t.Errorf("%s shows %q of the password:\n%s", sub, piece, out)
					}
				}
			}
		})
	}
}
