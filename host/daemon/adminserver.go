package daemon

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wasmrpcd/wasmrpcd/host/config"
)

// The admin HTTP server's defences (docs/CONFIG.md#admin):
//
//   - timeouts on reading the header, the request and writing the answer,
//     and on idle kept-alive connections, a cap on the header's size and
//     one on the connections served at once, so that idle or slow
//     clients cannot pile up;
//   - an optional bearer token (admin.token_file), compared in constant
//     time, on every request but GET /healthz and /readyz;
//   - or a unix socket (admin_listen: unix:/path), reachable by the
//     daemon's user (0600) or group (0660) only;
//   - when bound to a loopback address, a Host header naming a loopback
//     host and the port, so that a web page whose name was rebound to
//     127.0.0.1 (DNS rebinding) is refused;
//   - a state-changing request (POST, PUT, PATCH, DELETE) refused when a
//     browser says it is cross-site (Sec-Fetch-Site, Origin) and unless
//     it carries Content-Type: application/json, which no cross-site page
//     can send without a CORS preflight the API never grants.

// Bounds of the admin server that are not configurable.
const (
	// maxAdminBody bounds a request's body; no endpoint reads one.
	maxAdminBody = 64 << 10
	// maxTokenFile bounds the token file's size.
	maxTokenFile = 4 << 10
	// minTokenLen is the shortest token taken.
	minTokenLen = 16
)

// adminServer is the running admin HTTP server.
type adminServer struct {
	srv  *http.Server
	ln   net.Listener
	addr string // "host:port", or "unix:/path"
	sock string // the unix socket's path, to remove at stop; "" for TCP
	done chan struct{}
}

// startAdmin listens on cfg.AdminListen and serves h there with cfg's
// limits, until stop.
func startAdmin(cfg *config.Config, h http.Handler, log *slog.Logger) (*adminServer, error) {
	a := cfg.Admin
	var token []byte
	if a.TokenFile != "" {
		t, err := loadAdminToken(a.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("admin.token_file: %w", err)
		}
		token = t
	}
	s := &adminServer{done: make(chan struct{})}
	guard := &adminGuard{next: h, token: token}
	if path, ok := cfg.AdminSocket(); ok {
		ln, err := listenUnix(path, a.SocketMode)
		if err != nil {
			return nil, fmt.Errorf("admin_listen: %w", err)
		}
		s.ln, s.addr, s.sock = ln, config.AdminUnixPrefix+path, path
	} else {
		ln, err := net.Listen("tcp", cfg.AdminListen)
		if err != nil {
			return nil, fmt.Errorf("admin_listen: %w", err)
		}
		s.ln, s.addr = ln, ln.Addr().String()
		tcp := ln.Addr().(*net.TCPAddr)
		if tcp.IP.IsLoopback() {
			guard.loopbackPort = strconv.Itoa(tcp.Port)
		} else if token == nil {
			log.Warn("the admin API listens beyond this host, without a token: anyone who reaches "+s.addr+" can read the modules and reload them; set admin.token_file, or listen on a loopback address or a unix socket",
				"addr", s.addr)
		}
	}
	s.ln = newLimitListener(s.ln, a.MaxConnections)
	s.srv = &http.Server{
		Handler:           http.NewCrossOriginProtection().Handler(guard),
		ReadHeaderTimeout: time.Duration(a.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(a.ReadTimeout),
		WriteTimeout:      time.Duration(a.WriteTimeout),
		IdleTimeout:       time.Duration(a.IdleTimeout),
		MaxHeaderBytes:    int(a.MaxHeaderBytes),
		// What a client does wrong is its problem: debug, never a flood.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin server failed", "err", err)
		}
	}()
	return s, nil
}

// stop closes the server and its connections, and removes its socket.
func (s *adminServer) stop() {
	s.srv.Close()
	<-s.done
	if s.sock != "" {
		if fi, err := os.Lstat(s.sock); err == nil && fi.Mode().Type() == fs.ModeSocket {
			os.Remove(s.sock)
		}
	}
}

// adminGuard checks each request before the admin handler sees it.
type adminGuard struct {
	next http.Handler
	// token is the bearer token's SHA-256, nil for none.
	token []byte
	// loopbackPort is the port of a loopback listener, whose requests
	// must name a loopback host and it in Host; "" for no check.
	loopbackPort string
}

func (g *adminGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.loopbackPort != "" && !loopbackHost(r.Host, g.loopbackPort) {
		adminRefuse(w, http.StatusMisdirectedRequest, "the admin API answers to localhost, 127.0.0.1 or [::1] with port "+g.loopbackPort+" in Host only")
		return
	}
	if g.token != nil && !probe(r) && !g.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wasmrpcd admin"`)
		adminRefuse(w, http.StatusUnauthorized, "this admin API wants the token of admin.token_file: Authorization: Bearer TOKEN")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if !jsonContent(r) {
			adminRefuse(w, http.StatusUnsupportedMediaType, r.Method+" requests to the admin API must carry Content-Type: application/json (an empty body is fine)")
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
	g.next.ServeHTTP(w, r)
}

// probe reports whether r is a liveness or readiness probe, which needs
// no token.
func probe(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && (r.URL.Path == "/healthz" || r.URL.Path == "/readyz")
}

// authorized reports whether r carries the token, compared in constant
// time (on digests, so that the length does not show either).
func (g *adminGuard) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], g.token) == 1
}

// loopbackHost reports whether a Host header names a loopback host
// (localhost, or a loopback IP address) and port.
func loopbackHost(host, port string) bool {
	h, p, err := net.SplitHostPort(host)
	if err != nil || p != port {
		return false
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// jsonContent reports whether r says its body is JSON.
func jsonContent(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

func adminRefuse(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// loadAdminToken reads the token file and returns the token's SHA-256.
// The file must be a regular file owned by the daemon's user or root,
// that its group cannot write and others can neither read nor write;
// the token is its content without surrounding blanks, at least
// minTokenLen bytes without blanks or control characters.
func loadAdminToken(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() && st.Uid != 0 {
		return nil, fmt.Errorf("%s belongs to user %d, neither the daemon's (%d) nor root", path, st.Uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o027 != 0 {
		return nil, fmt.Errorf("%s has mode %04o: its group may write it or others read it; chmod 0600 (or 0640) it", path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxTokenFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxTokenFile)
	}
	token := bytes.TrimSpace(data)
	if len(token) < minTokenLen {
		return nil, fmt.Errorf("%s holds a token of %d bytes; want at least %d (such as `openssl rand -hex 32`)", path, len(token), minTokenLen)
	}
	if bytes.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("%s: the token holds blanks or control characters", path)
	}
	sum := sha256.Sum256(token)
	return sum[:], nil
}

// listenUnix listens on a unix socket at path with mode ("0600" or
// "0660"). The socket is bound under a temporary name in the same
// directory, given its mode, then renamed to path, so that it is never
// there with a wider mode. A stale socket at path (nothing accepts on
// it) is replaced; a live one, another kind of file, or a directory that
// others can write and is not sticky, is an error.
func listenUnix(path, mode string) (net.Listener, error) {
	perm, err := strconv.ParseUint(mode, 8, 32)
	if err != nil {
		return nil, fmt.Errorf("socket mode %q: %v", mode, err)
	}
	// Only the daemon's user may replace what is in the directory
	// between the bind, the chmod and the rename: a directory others
	// can write must be sticky (as /tmp).
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if di.Mode().Perm()&0o022 != 0 && di.Mode()&fs.ModeSticky == 0 {
		return nil, fmt.Errorf("the socket's directory %s has mode %04o: others may replace the socket; make it writable by its owner only (or sticky)", dir, di.Mode().Perm())
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another process listens on it", path)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// A short temporary name: a socket's path holds 107 bytes at most.
	tmp := filepath.Join(dir, ".w"+strconv.FormatInt(int64(os.Getpid()), 36))
	if len(tmp) > 107 {
		return nil, fmt.Errorf("%s: its directory's name is too long for the socket's temporary name %s", path, filepath.Base(tmp))
	}
	os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false) // its name changes: stop removes path
	fail := func(err error) (net.Listener, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, fs.FileMode(perm)); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	return ln, nil
}

// limitListener accepts at most n connections at once: Accept waits
// while n are open, leaving the others in the kernel's backlog.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back once, at its first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
