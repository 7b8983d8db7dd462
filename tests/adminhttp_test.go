package tests

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The admin HTTP server against hostile clients, on the real daemon:
// idle and slow connections are cut, the connections served at once are
// capped, a token is wanted, cross-site state changes and foreign Host
// headers are refused; and the admin API on a unix socket.

// adminToken is the token the tests' token files hold.
const adminToken = "e2e-admin-token-0123456789abcdef"

// writeTokenFile writes adminToken to a file of mode and returns its path.
func writeTokenFile(t *testing.T, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(path, []byte(adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// adminDo sends a request to the daemon's admin API with the headers
// given (Host among them) and returns the status code.
func adminDo(t *testing.T, d *daemon, method, path string, headers map[string]string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, d.adminURL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := d.adminClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// closedByServer reads c until the daemon closes it and fails the test
// when that takes more than a minute (the liveness bound: the timeouts
// under test are of a second): the server must end the connection, not
// the test.
func closedByServer(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the daemon kept the connection open for a minute")
	}
	// nil (EOF) or a reset: the daemon closed it.
}

// daemonSockets counts the daemon's open sockets.
func daemonSockets(t *testing.T, d *daemon) int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if link, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(link, "socket:") {
			n++
		}
	}
	return n
}

func TestAdminHTTPHostileClients(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topic := n.topic("admin", "wasm")
	cfg := testkitConfig(ex, topic, "wasm")
	const maxConns = 4
	cfg.Extra = map[string]any{"admin": map[string]any{
		"token_file":          writeTokenFile(t, 0o600),
		"read_header_timeout": "1s",
		"idle_timeout":        "1s",
		"max_connections":     maxConns,
	}}
	d := startDaemon(t, cfg)
	d.token = adminToken
	_, port, err := net.SplitHostPort(d.admin)
	if err != nil {
		t.Fatal(err)
	}
	auth := "Bearer " + adminToken
	jsonAuth := map[string]string{"Authorization": auth, "Content-Type": "application/json"}
	with := func(base map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for bk, bv := range base {
			if _, set := out[bk]; !set {
				out[bk] = bv
			}
		}
		return out
	}

	t.Run("token required", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			headers      map[string]string
			want         int
		}{
			{"GET", "/v1/modules", nil, http.StatusUnauthorized},
			{"GET", "/metrics", nil, http.StatusUnauthorized},
			{"GET", "/v1/modules", map[string]string{"Authorization": "Bearer not-the-token-0123456789"}, http.StatusUnauthorized},
			{"POST", "/v1/modules/testkit/reload", map[string]string{"Content-Type": "application/json"}, http.StatusUnauthorized},
			{"GET", "/v1/modules", map[string]string{"Authorization": auth}, http.StatusOK},
			{"GET", "/metrics", map[string]string{"Authorization": auth}, http.StatusOK},
			{"GET", "/healthz", nil, http.StatusOK},
			{"GET", "/readyz", nil, http.StatusOK},
		} {
			if got := adminDo(t, d, tc.method, tc.path, tc.headers); got != tc.want {
				t.Errorf("%s %s with %v: %d, want %d", tc.method, tc.path, tc.headers, got, tc.want)
			}
		}
	})

	t.Run("cross-site POST refused", func(t *testing.T) {
		const reload = "/v1/modules/testkit/reload"
		for _, tc := range []struct {
			name    string
			headers map[string]string
			want    int
		}{
			{"a form's bodyless POST", map[string]string{"Authorization": auth}, http.StatusUnsupportedMediaType},
			{"text/plain, as fetch no-cors sends", with(map[string]string{"Authorization": auth}, "Content-Type", "text/plain"), http.StatusUnsupportedMediaType},
			{"Sec-Fetch-Site: cross-site", with(jsonAuth, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden},
			{"Origin of another site", with(jsonAuth, "Origin", "https://evil.example"), http.StatusForbidden},
			{"JSON, with the token, from no browser", jsonAuth, http.StatusOK},
		} {
			if got := adminDo(t, d, "POST", reload, tc.headers); got != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
			}
		}
		if st := d.moduleStatus(t, "testkit"); st.Swaps != 0 || st.State != "serving" {
			t.Errorf("module after the refused reloads: %+v", st)
		}
	})

	t.Run("bad Host refused", func(t *testing.T) {
		for _, tc := range []struct {
			host string
			want int
		}{
			{"rebound.evil.example:" + port, http.StatusMisdirectedRequest},
			{"localhost.:" + port, http.StatusMisdirectedRequest},
			{"127.0.0.1:1", http.StatusMisdirectedRequest},
			{"localhost:" + port, http.StatusOK},
			{"127.0.0.1:" + port, http.StatusOK},
		} {
			if got := adminDo(t, d, "GET", "/v1/modules", map[string]string{"Host": tc.host, "Authorization": auth}); got != tc.want {
				t.Errorf("Host %s: %d, want %d", tc.host, got, tc.want)
			}
		}
	})

	t.Run("idle connection closed", func(t *testing.T) {
		c, err := net.Dial("tcp", d.admin)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\n", port)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("GET /healthz: %s, close %v; want 200 kept alive", resp.Status, resp.Close)
		}
		closedByServer(t, c) // after idle_timeout
	})

	t.Run("slowloris header cut", func(t *testing.T) {
		c, err := net.Dial("tcp", d.admin)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A header sent a byte at a time, never ended: the daemon cuts
		// it after read_header_timeout, not at each byte.
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n", port)
		cut := false
		for i := 0; i < 600 && !cut; i++ {
			if _, err := c.Write([]byte("X")); err != nil {
				cut = true
				break
			}
			_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			var b [512]byte
			_, err := c.Read(b[:])
			var ne net.Error
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				cut = true // EOF or reset: closed
			}
		}
		if !cut {
			t.Fatal("the daemon read a never-ending header for a minute")
		}
	})

	t.Run("header cap", func(t *testing.T) {
		c, err := net.Dial("tcp", d.admin)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nX-Big: %s\r\n\r\n", port, strings.Repeat("a", 64<<10))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("a 64 KiB header: %s, want 431", resp.Status)
		}
	})

	t.Run("connection cap", func(t *testing.T) {
		before := daemonSockets(t, d)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for range 50 {
			c, err := net.Dial("tcp", d.admin) // the kernel completes it; the daemon accepts 4
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		most := 0
		for range 20 {
			most = max(most, daemonSockets(t, d)-before)
			time.Sleep(50 * time.Millisecond)
		}
		// Slack of 2 for the daemon's own sockets coming and going.
		if most > maxConns+2 {
			t.Fatalf("the daemon held %d more sockets with 50 idle admin connections, cap %d", most, maxConns)
		}
		t.Logf("50 idle connections: at most %d more sockets in the daemon (cap %d)", most, maxConns)
		for _, c := range conns {
			c.Close()
		}
		conns = nil
		if got := adminDo(t, d, "GET", "/healthz", nil); got != http.StatusOK {
			t.Fatalf("GET /healthz after: %d", got)
		}
	})
}

func TestAdminHTTPUnixSocket(t *testing.T) {
	n := newNames(t)
	ex := n.exchange()
	topic := n.topic("adminunix", "wasm")
	cfg := testkitConfig(ex, topic, "wasm")
	dir, err := os.MkdirTemp("", "wasmrpcd-sock") // short: a socket's path has 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "admin.sock")
	cfg.Extra = map[string]any{"admin_listen": "unix:" + sock}
	d := startDaemon(t, cfg)
	if d.admin != "unix:"+sock {
		t.Fatalf("admin listening on %q, want unix:%s", d.admin, sock)
	}
	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want a socket of 0600", fi.Mode())
	}
	if st := d.moduleStatus(t, "testkit"); st.State != "serving" {
		t.Fatalf("module over the socket: %+v", st)
	}
	var answer map[string]any
	if code, err := d.adminRequest(http.MethodPost, "/v1/modules/testkit/reload", &answer); err != nil || code != http.StatusOK {
		t.Fatalf("POST reload over the socket: %d %v", code, err)
	}
	if got := adminDo(t, d, "POST", "/v1/modules/testkit/reload", nil); got != http.StatusUnsupportedMediaType {
		t.Fatalf("bodyless POST over the socket: %d, want 415", got)
	}
	d.stop()
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the socket is still there after the daemon stopped: %v", err)
	}
}

// TestAdminHTTPTokenFileRefused: a token file others can read stops the
// daemon at start, with the reason, before it serves.
func TestAdminHTTPTokenFileRefused(t *testing.T) {
	n := newNames(t)
	cfg := testkitConfig(n.exchange(), n.topic("admintoken", "wasm"), "wasm")
	cfg.Extra = map[string]any{"admin": map[string]any{"token_file": writeTokenFile(t, 0o644)}}
	code, stderr := refusedStart(t, cfg, time.Minute)
	if code == 0 || !strings.Contains(lastLine(stderr), "admin.token_file") || !strings.Contains(lastLine(stderr), "mode 0644") {
		t.Fatalf("exit %d, last line %q; want an error about the token file's mode", code, lastLine(stderr))
	}
	if strings.Contains(stderr, adminToken) {
		t.Fatal("the daemon's output shows the token")
	}
}
