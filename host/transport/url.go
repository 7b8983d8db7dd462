package transport

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// DefaultPort is the AMQP port used for a host without one.
const DefaultPort = 5672

// URL is a parsed oslo.messaging transport URL:
//
//	rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost?option=value
//
// It is parsed exactly as oslo_messaging.TransportURL.parse parses it:
// the network location is split on commas into hosts, user names and
// passwords are percent-decoded, host names are not, the virtual host is
// the percent-decoded path without its first slash, and the query's
// repeated keys are joined with commas.
type URL struct {
	// Scheme is the transport name in lower case: "rabbit", "amqp" (accepted
	// as a synonym of rabbit), "kombu" (oslo's old alias of rabbit) or
	// "fake" (the in-memory transport).
	Scheme string
	// Hosts are the brokers in the order the URL lists them. Empty means
	// one host, guest:guest@localhost:5672.
	Hosts []Host
	// VirtualHost is the decoded virtual host; "" means the broker's
	// default, "/".
	VirtualHost string
	// Query holds the driver options the URL overrides (see Options.Apply).
	Query map[string]string
}

// Host is one broker of a transport URL. Empty fields take the defaults
// kombu gives them when connecting: user "guest", password "guest", host
// "localhost", port 5672.
type Host struct {
	Hostname string
	Port     int // 0 means DefaultPort
	Username string
	Password string
}

// ErrInvalidURL is wrapped by every error ParseURL returns.
var ErrInvalidURL = errors.New("invalid transport URL")

// ParseURL parses a transport URL. The error never contains the password.
func ParseURL(raw string) (*URL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("%w: no scheme:// prefix", ErrInvalidURL)
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "rabbit", "amqp", "kombu", "fake":
	default:
		if strings.ContainsFunc(scheme, func(r rune) bool { return !isSchemeRune(r) }) {
			// Not a scheme: perhaps "user:pass@host" before a "://".
			return nil, fmt.Errorf("%w: no scheme:// prefix (want rabbit, amqp, kombu or fake)", ErrInvalidURL)
		}
		return nil, fmt.Errorf("%w: unsupported transport %q (want rabbit, amqp, kombu or fake)", ErrInvalidURL, scheme)
	}
	u := &URL{Scheme: scheme}
	if err := checkUserinfo(rest); err != nil {
		return nil, err
	}

	// Split off the fragment, the query and the path as urllib.parse does:
	// the network location ends at the first '/', '?' or '#'.
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	var query string
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	netloc, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		netloc, path = rest[:i], rest[i:]
	}
	if strings.Contains(netloc, "[") != strings.Contains(netloc, "]") {
		return nil, fmt.Errorf("%w: invalid IPv6 address brackets", ErrInvalidURL)
	}

	for i, part := range strings.Split(netloc, ",") {
		if part == "" {
			continue
		}
		h, err := parseHost(part, i+1)
		if err != nil {
			return nil, err
		}
		if h == (Host{}) {
			// oslo keeps an empty host (from "@" or ":") that it can
			// neither print nor connect to; it means the default host.
			continue
		}
		u.Hosts = append(u.Hosts, h)
	}

	if strings.HasPrefix(path, "/") {
		u.VirtualHost = unquote(path[1:])
	}
	u.Query = parseQuery(query)
	return u, nil
}

// checkUserinfo refuses the URLs whose parse would put a piece of a
// user name or password where it is not secret: in a host name or a
// port, which logs and errors show, or in the virtual host. A password
// holding ',', '/', '?' or '#' that is not percent-encoded is cut there
// (oslo splits the hosts on ',' and the network location ends at the
// first '/', '?' or '#'): "guest:1234/5678@h" would be host "guest",
// port 1234, virtual host "5678@h"; "guest:s3cr,et@h" host "guest" with
// port "s3cr", then "et@h". oslo.messaging takes the first and fails to
// connect to host "guest", saying so. Both cut forms leave an '@'
// after the piece that was taken for a host, so ParseURL refuses:
//
//   - an '@' after the network location (a virtual host or query value
//     holding '@' writes it %40);
//   - a host without user info before one with it ("h1,u:p@h2" must
//     name the user of h1 too, or list h1 after).
//
// Neither error quotes anything of rest.
func checkUserinfo(rest string) error {
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if strings.Contains(rest[end:], "@") {
		return fmt.Errorf("%w: an '@' after the hosts: a user name or password holding '/', '?' or '#' must percent-encode them (%%2F, %%3F, %%23); a virtual host or query holding '@', as %%40", ErrInvalidURL)
	}
	bare := false // a host without '@' came before
	for _, part := range strings.Split(rest[:end], ",") {
		switch {
		case part == "":
		case strings.Contains(part, "@"):
			if bare {
				return fmt.Errorf("%w: a host without a user name comes before one with it: a password holding ',' must percent-encode it (%%2C); otherwise name the user of every host, or list the hosts without one last", ErrInvalidURL)
			}
		default:
			bare = true
		}
	}
	return nil
}

// isSchemeRune reports whether r may appear in a URL scheme (RFC 3986).
func isSchemeRune(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '+' || r == '-' || r == '.'
}

// parseQuery parses a query string as urllib.parse.parse_qs does with its
// defaults: pairs without '=' and blank values are dropped, '+' is a space,
// bad escapes stay as they are, and repeated keys are joined with commas.
func parseQuery(query string) map[string]string {
	var q map[string]string
	for _, pair := range strings.Split(query, "&") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || v == "" {
			continue
		}
		k = unquote(strings.ReplaceAll(k, "+", " "))
		v = unquote(strings.ReplaceAll(v, "+", " "))
		if q == nil {
			q = map[string]string{}
		}
		if old, dup := q[k]; dup {
			v = old + "," + v
		}
		q[k] = v
	}
	return q
}

// parseHost parses the nth comma-separated part of the network location.
// Its errors quote nothing of the part: the part may be a piece of a
// password that was not percent-encoded.
func parseHost(part string, n int) (Host, error) {
	var h Host
	hostport := part
	if i := strings.LastIndexByte(part, '@'); i >= 0 {
		userinfo := part[:i]
		hostport = part[i+1:]
		user, pass, hasPass := strings.Cut(userinfo, ":")
		h.Username = unquote(user)
		if hasPass {
			h.Password = unquote(pass)
		}
	}

	var port string
	switch {
	case strings.HasPrefix(hostport, "["):
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return Host{}, fmt.Errorf("%w: invalid IPv6 address brackets", ErrInvalidURL)
		}
		h.Hostname = hostport[1:end]
		if _, p, ok := strings.Cut(hostport[end:], ":"); ok {
			port = p
		}
	case strings.Contains(hostport, ":"):
		h.Hostname, port, _ = strings.Cut(hostport, ":")
	default:
		h.Hostname = hostport
	}
	if strings.ContainsAny(h.Hostname, "[] \t\r\n") || strings.ContainsFunc(h.Hostname, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Host{}, fmt.Errorf("%w: host %d: the host name has characters a host name cannot have ('[', ']', white space or control characters)", ErrInvalidURL, n)
	}
	if port != "" {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || p == 0 {
			// Quote neither: in a part without '@', they may be a user
			// name and a piece of a password holding ',' or '/'.
			return Host{}, fmt.Errorf("%w: host %d: the port is not a number in 1-65535 (a user name or password holding ',', '/', ':' or '@' must be percent-encoded)", ErrInvalidURL, n)
		}
		h.Port = int(p)
	}
	return h, nil
}

// unquote decodes %XX escapes like urllib.parse.unquote: a '+' stays a
// '+' and a '%' not followed by two hex digits stays as it is.
func unquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// Addr returns "host:port" with the defaults filled in, brackets around an
// IPv6 address.
func (h Host) Addr() string {
	name := h.Hostname
	if name == "" {
		name = "localhost"
	}
	port := h.Port
	if port == 0 {
		port = DefaultPort
	}
	if strings.Contains(name, ":") {
		name = "[" + name + "]"
	}
	return name + ":" + strconv.Itoa(port)
}

// User returns the user name, "guest" when empty.
func (h Host) User() string {
	if h.Username == "" {
		return "guest"
	}
	return h.Username
}

// Pass returns the password, "guest" when empty.
func (h Host) Pass() string {
	if h.Password == "" {
		return "guest"
	}
	return h.Password
}

// Brokers returns the hosts to connect to: the URL's hosts, or the single
// default host when it has none.
func (u *URL) Brokers() []Host {
	if len(u.Hosts) == 0 {
		return []Host{{}}
	}
	return u.Hosts
}

// VHost returns the virtual host to open, "/" when the URL names none.
func (u *URL) VHost() string {
	if u.VirtualHost == "" {
		return "/"
	}
	return u.VirtualHost
}

// String formats the URL as TransportURL.__str__ does; ParseURL of the
// result gives back an equal URL.
func (u *URL) String() string { return u.format(false) }

// Redacted is String with every password replaced by "****", for logs.
func (u *URL) Redacted() string { return u.format(true) }

func (u *URL) format(redact bool) string {
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	for i, h := range u.Hosts {
		if i > 0 {
			b.WriteByte(',')
		}
		if h.Username != "" || h.Password != "" {
			b.WriteString(quoteAll(h.Username))
			if h.Password != "" {
				b.WriteByte(':')
				if redact {
					b.WriteString("****")
				} else {
					b.WriteString(quoteAll(h.Password))
				}
			}
			b.WriteByte('@')
		}
		if strings.Contains(h.Hostname, ":") {
			b.WriteString("[" + h.Hostname + "]")
		} else {
			b.WriteString(h.Hostname)
		}
		if h.Port != 0 {
			b.WriteString(":" + strconv.Itoa(h.Port))
		}
	}
	b.WriteByte('/')
	b.WriteString(quotePath(u.VirtualHost))
	if len(u.Query) > 0 {
		keys := make([]string, 0, len(u.Query))
		for k := range u.Query {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('?')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(u.Query[k]))
		}
	}
	return b.String()
}

// quoteAll percent-encodes everything but unreserved characters, like
// urllib.parse.quote(s, safe=”).
func quoteAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// quotePath is quoteAll that keeps '/', like urllib.parse.quote(s).
func quotePath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
