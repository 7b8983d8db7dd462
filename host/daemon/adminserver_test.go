package daemon

import (
	"crypto/sha256"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestAdminGuard(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	sum := sha256.Sum256([]byte(token))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	loopback := http.NewCrossOriginProtection().Handler(&adminGuard{next: ok, loopbackPort: "9464"})
	withToken := http.NewCrossOriginProtection().Handler(&adminGuard{next: ok, token: sum[:], loopbackPort: "9464"})
	open := http.NewCrossOriginProtection().Handler(&adminGuard{next: ok}) // unix socket, or no loopback

	type hdr = map[string]string
	json := hdr{"Content-Type": "application/json"}
	tests := []struct {
		name    string
		h       http.Handler
		method  string
		path    string
		host    string
		headers hdr
		want    int
	}{
		{"GET from localhost", loopback, "GET", "/v1/modules", "localhost:9464", nil, http.StatusTeapot},
		{"GET from 127.0.0.1", loopback, "GET", "/v1/modules", "127.0.0.1:9464", nil, http.StatusTeapot},
		{"GET from [::1]", loopback, "GET", "/v1/modules", "[::1]:9464", nil, http.StatusTeapot},
		{"GET from LOCALHOST", loopback, "GET", "/v1/modules", "LOCALHOST:9464", nil, http.StatusTeapot},
		{"DNS rebinding: another name", loopback, "GET", "/v1/modules", "evil.example:9464", nil, http.StatusMisdirectedRequest},
		{"DNS rebinding: localhost. with a dot", loopback, "GET", "/v1/modules", "localhost.:9464", nil, http.StatusMisdirectedRequest},
		{"another port", loopback, "GET", "/v1/modules", "localhost:80", nil, http.StatusMisdirectedRequest},
		{"no port", loopback, "GET", "/v1/modules", "localhost", nil, http.StatusMisdirectedRequest},
		{"a probe is checked too", loopback, "GET", "/healthz", "evil.example:9464", nil, http.StatusMisdirectedRequest},
		{"any host on a unix socket", open, "GET", "/v1/modules", "whatever", nil, http.StatusTeapot},

		{"POST with JSON", loopback, "POST", "/v1/modules/m/reload", "localhost:9464", json, http.StatusTeapot},
		{"POST with JSON and charset", loopback, "POST", "/v1/modules/m/reload", "localhost:9464", hdr{"Content-Type": "application/json; charset=utf-8"}, http.StatusTeapot},
		{"bodyless POST: a form could send it", loopback, "POST", "/v1/modules/m/reload", "localhost:9464", nil, http.StatusUnsupportedMediaType},
		{"POST text/plain", loopback, "POST", "/v1/modules/m/reload", "localhost:9464", hdr{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{"POST form", open, "POST", "/v1/modules/m/reload", "x", hdr{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{"DELETE without JSON", open, "DELETE", "/v1/modules/m", "x", nil, http.StatusUnsupportedMediaType},
		{"cross-site POST (Sec-Fetch-Site)", loopback, "POST", "/v1/modules/m/reload", "localhost:9464", hdr{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"cross-site POST (Origin)", loopback, "POST", "/v1/modules/m/reload", "localhost:9464", hdr{"Content-Type": "application/json", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"same-origin POST", loopback, "POST", "/v1/modules/m/reload", "localhost:9464", hdr{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}, http.StatusTeapot},
		{"cross-site GET is a read: the Host check guards it", loopback, "GET", "/v1/modules", "localhost:9464", hdr{"Sec-Fetch-Site": "cross-site"}, http.StatusTeapot},

		{"token: none given", withToken, "GET", "/v1/modules", "localhost:9464", nil, http.StatusUnauthorized},
		{"token: right", withToken, "GET", "/v1/modules", "localhost:9464", hdr{"Authorization": "Bearer " + token}, http.StatusTeapot},
		{"token: scheme in lower case", withToken, "GET", "/metrics", "localhost:9464", hdr{"Authorization": "bearer " + token}, http.StatusTeapot},
		{"token: wrong", withToken, "GET", "/v1/modules", "localhost:9464", hdr{"Authorization": "Bearer " + strings.ToUpper(token)}, http.StatusUnauthorized},
		{"token: a prefix", withToken, "GET", "/v1/modules", "localhost:9464", hdr{"Authorization": "Bearer " + token[:20]}, http.StatusUnauthorized},
		{"token: basic auth", withToken, "GET", "/v1/modules", "localhost:9464", hdr{"Authorization": "Basic " + token}, http.StatusUnauthorized},
		{"token: POST without", withToken, "POST", "/v1/modules/m/reload", "localhost:9464", json, http.StatusUnauthorized},
		{"token: POST with", withToken, "POST", "/v1/modules/m/reload", "localhost:9464", hdr{"Content-Type": "application/json", "Authorization": "Bearer " + token}, http.StatusTeapot},
		{"token: /healthz needs none", withToken, "GET", "/healthz", "localhost:9464", nil, http.StatusTeapot},
		{"token: /readyz needs none", withToken, "GET", "/readyz", "localhost:9464", nil, http.StatusTeapot},
		{"token: POST /healthz needs it", withToken, "POST", "/healthz", "localhost:9464", json, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://x"+tt.path, nil)
			r.Host = tt.host
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("%d %s, want %d", w.Code, strings.TrimSpace(w.Body.String()), tt.want)
			}
			if w.Code == http.StatusUnauthorized && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without WWW-Authenticate: Bearer")
			}
		})
	}
}

func TestLoadAdminToken(t *testing.T) {
	dir := t.TempDir()
	const good = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		content string
		mode    fs.FileMode
		fails   string // in the error; "" loads
	}{
		{"0600", good + "\n", 0o600, ""},
		{"0400", good, 0o400, ""},
		{"0640: the group reads it", good, 0o640, ""},
		{"0644: others read it", good, 0o644, "mode 0644"},
		{"0660: the group writes it", good, 0o660, "mode 0660"},
		{"0602: others write it", good, 0o602, "mode 0602"},
		{"empty", "\n", 0o600, "token of 0 bytes"},
		{"short", "abc", 0o600, "token of 3 bytes"},
		{"blanks inside", "0123456789 abcdef0123456789", 0o600, "blanks"},
		{"too large", strings.Repeat("a", maxTokenFile+1), 0o600, "larger than"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "token"+string(rune('a'+i)))
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			sum, err := loadAdminToken(path)
			if tt.fails == "" {
				want := sha256.Sum256([]byte(good))
				if err != nil || string(sum) != string(want[:]) {
					t.Fatalf("loadAdminToken = %x, %v; want the token's digest", sum, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.fails) {
				t.Fatalf("error %v, want %q in it", err, tt.fails)
			}
			if strings.Contains(err.Error(), good) {
				t.Fatalf("error %v shows the token", err)
			}
		})
	}
	t.Run("a directory", func(t *testing.T) {
		if _, err := loadAdminToken(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("error %v, want not a regular file", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := loadAdminToken(filepath.Join(dir, "nope")); err == nil {
			t.Fatal("a missing file loads")
		}
	})
}

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	for _, mode := range []string{"0600", "0660"} {
		t.Run(mode, func(t *testing.T) {
			path := filepath.Join(dir, "admin-"+mode+".sock")
			ln, err := listenUnix(path, mode)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm().String() != map[string]string{"0600": "-rw-------", "0660": "-rw-rw----"}[mode] {
				t.Fatalf("socket mode %v", fi.Mode())
			}
			go func() {
				if c, err := ln.Accept(); err == nil {
					c.Close()
				}
			}()
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			// A second listener on a live socket is refused.
			if _, err := listenUnix(path, mode); err == nil || !strings.Contains(err.Error(), "another process listens") {
				t.Fatalf("second listen: %v", err)
			}
		})
	}
	t.Run("stale socket replaced", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		old.SetUnlinkOnClose(false)
		old.Close() // the file stays, nothing listens
		ln, err := listenUnix(path, "0600")
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
	})
	t.Run("a directory others can write", func(t *testing.T) {
		open := filepath.Join(dir, "open")
		if err := os.Mkdir(open, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(open, 0o777); err != nil {
			t.Fatal(err)
		}
		if _, err := listenUnix(filepath.Join(open, "a.sock"), "0600"); err == nil || !strings.Contains(err.Error(), "others may replace") {
			t.Fatalf("error %v, want the directory refused", err)
		}
		if err := os.Chmod(open, 0o777|fs.ModeSticky); err != nil {
			t.Fatal(err)
		}
		ln, err := listenUnix(filepath.Join(open, "a.sock"), "0600")
		if err != nil {
			t.Fatalf("a sticky directory: %v", err)
		}
		ln.Close()
	})
	t.Run("not a socket", func(t *testing.T) {
		path := filepath.Join(dir, "file.sock")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := listenUnix(path, "0600"); err == nil || !strings.Contains(err.Error(), "not a socket") {
			t.Fatalf("error %v, want not a socket", err)
		}
	})
}

// TestLimitListener: never more than n connections accepted and open at
// once; a closed one lets the next in.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const n = 2
	ln := newLimitListener(inner, n)
	defer ln.Close()
	var open, most atomic.Int32
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			v := open.Add(1)
			for m := most.Load(); v > m && !most.CompareAndSwap(m, v); m = most.Load() {
			}
			accepted <- c
		}
	}()
	var clients []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	for range 5 {
		c := <-accepted // the first n at once, then one per Close
		if got := open.Load(); got > n {
			t.Fatalf("%d connections accepted at once, limit %d", got, n)
		}
		open.Add(-1)
		c.Close()
		c.Close() // a second Close gives back nothing more
	}
	if m := most.Load(); m > n {
		t.Fatalf("%d connections open at once, limit %d", m, n)
	}
}
