package config

import (
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults of the admin section.
const (
	DefaultAdminReadHeaderTimeout = Duration(10 * time.Second)
	DefaultAdminReadTimeout       = Duration(30 * time.Second)
	DefaultAdminWriteTimeout      = Duration(2 * time.Minute)
	DefaultAdminIdleTimeout       = Duration(60 * time.Second)
	DefaultAdminMaxHeaderBytes    = 16 * KiB
	DefaultAdminMaxConnections    = 64
	DefaultAdminSocketMode        = "0600"
)

// AdminUnixPrefix starts an admin_listen that is a unix socket's path:
// "unix:/run/wasmrpcd/admin.sock".
const AdminUnixPrefix = "unix:"

// Admin configures the admin HTTP server that admin_listen places.
type Admin struct {
	// TokenFile is a file holding the bearer token every request but
	// GET /healthz and /readyz must carry (Authorization: Bearer TOKEN);
	// empty: no token. The file must be a regular file of the daemon's
	// user (or root) that its group cannot write and others cannot read.
	TokenFile string `yaml:"token_file,omitempty"`
	// SocketMode is the mode of the unix socket of admin_listen:
	// "0600" (the daemon's user only, the default) or "0660" (its group
	// too).
	SocketMode string `yaml:"socket_mode"`
	// ReadHeaderTimeout bounds the reading of a request's header;
	// ReadTimeout the reading of the whole request; WriteTimeout the time
	// from the end of the header to the end of the answer (a reload that
	// takes longer goes on, its answer is lost); IdleTimeout how long a
	// kept-alive connection waits for its next request.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	WriteTimeout      Duration `yaml:"write_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds a request's header. Default 16KiB.
	MaxHeaderBytes Size `yaml:"max_header_bytes"`
	// MaxConnections bounds the connections served at once; more wait to
	// be accepted. Default 64.
	MaxConnections int `yaml:"max_connections"`
}

// defaultAdmin returns the admin section's defaults.
func defaultAdmin() Admin {
	return Admin{
		SocketMode:        DefaultAdminSocketMode,
		ReadHeaderTimeout: DefaultAdminReadHeaderTimeout,
		ReadTimeout:       DefaultAdminReadTimeout,
		WriteTimeout:      DefaultAdminWriteTimeout,
		IdleTimeout:       DefaultAdminIdleTimeout,
		MaxHeaderBytes:    DefaultAdminMaxHeaderBytes,
		MaxConnections:    DefaultAdminMaxConnections,
	}
}

// AdminSocket returns the path of admin_listen's unix socket, and whether
// it is one.
func (c *Config) AdminSocket() (string, bool) {
	return strings.CutPrefix(c.AdminListen, AdminUnixPrefix)
}

func (d *decoder) admin(n *yaml.Node, path string, a *Admin) {
	d.mapping(n, path, []field{
		{"token_file", func(v *yaml.Node, p string) { d.str(v, p, &a.TokenFile) }},
		{"socket_mode", func(v *yaml.Node, p string) { d.str(v, p, &a.SocketMode) }},
		{"read_header_timeout", func(v *yaml.Node, p string) { d.duration(v, p, &a.ReadHeaderTimeout) }},
		{"read_timeout", func(v *yaml.Node, p string) { d.duration(v, p, &a.ReadTimeout) }},
		{"write_timeout", func(v *yaml.Node, p string) { d.duration(v, p, &a.WriteTimeout) }},
		{"idle_timeout", func(v *yaml.Node, p string) { d.duration(v, p, &a.IdleTimeout) }},
		{"max_header_bytes", func(v *yaml.Node, p string) { d.size(v, p, &a.MaxHeaderBytes) }},
		{"max_connections", func(v *yaml.Node, p string) { d.integer(v, p, &a.MaxConnections) }},
	})
}

// completeAdmin resolves the admin paths against the file's directory.
func (c *Config) completeAdmin(dir string) {
	if p, ok := c.AdminSocket(); ok && p != "" {
		c.AdminListen = AdminUnixPrefix + resolve(dir, p)
	}
	if c.Admin.TokenFile != "" {
		c.Admin.TokenFile = resolve(dir, c.Admin.TokenFile)
	}
}

// maxSocketPath is the longest path a unix socket address holds (Linux's
// sun_path, less its terminating NUL).
const maxSocketPath = 107

// Bounds of the admin section.
const (
	minAdminHeaderBytes = 1 * KiB
	maxAdminHeaderBytes = 1 * MiB
)

func (v *validator) admin() {
	c := v.c
	if p, ok := c.AdminSocket(); ok {
		switch {
		case p == "":
			v.add("admin_listen", "want unix:/path/of/the.sock, got no path")
		case !filepath.IsAbs(p):
			v.add("admin_listen", "the socket's path %q is not absolute", clip(p))
		case len(p) > maxSocketPath:
			v.add("admin_listen", "the socket's path is %d bytes long, more than a unix socket's %d", len(p), maxSocketPath)
		}
	} else if c.AdminListen != "" {
		v.listen("admin_listen", c.AdminListen)
	}
	a := c.Admin
	v.oneOf("admin.socket_mode", "socket mode", a.SocketMode, []string{"0600", "0660"})
	v.positive("admin.read_header_timeout", a.ReadHeaderTimeout)
	v.positive("admin.read_timeout", a.ReadTimeout)
	v.positive("admin.write_timeout", a.WriteTimeout)
	v.positive("admin.idle_timeout", a.IdleTimeout)
	if a.MaxHeaderBytes < minAdminHeaderBytes || a.MaxHeaderBytes > maxAdminHeaderBytes {
		v.add("admin.max_header_bytes", "must be from %s to %s, got %s", minAdminHeaderBytes, maxAdminHeaderBytes, a.MaxHeaderBytes)
	}
	v.atLeast("admin.max_connections", a.MaxConnections, 1)
}
