package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

var update = flag.Bool("update", false, "regenerate golden files from the real oslo.messaging")

// urlCases are parsed by both ParseURL and oslo_messaging.TransportURL.parse
// (testdata/parse_urls.py); the answers must agree.
var urlCases = []string{
	"rabbit://",
	"rabbit:///",
	"rabbit://guest:guest@127.0.0.1:5672/",
	"rabbit://guest:guest@127.0.0.1:5672//",
	"rabbit://guest:guest@127.0.0.1:5672/%2F",
	"rabbit://user:pass@h1:5672,user:pass@h2:5673/vhost",
	"amqp://guest:guest@localhost/",
	"kombu://h",
	"fake://",
	"RABBIT://h/",
	"rabbit://h1,h2,,h3:1/",
	"rabbit://u:p@[::1]:5672/",
	"rabbit://u:p@[fe80::1%25eth0]/",
	"rabbit://[::1]/",
	"rabbit://u%40x:p%3Aw%2F@host/v%20h",
	"rabbit://a@b@host/",
	"rabbit://user:pa:ss@host/",
	"rabbit://user@host/",
	"rabbit://:pass@host/",
	"rabbit://:@host/",
	"rabbit://@host/",
	"rabbit://host:/",
	"rabbit://:5673/",
	"rabbit://u:p%zz@host/",
	"rabbit://u:p+q@host/",
	"rabbit://h/?rabbit_quorum_queue=true&amqp_durable_queues=1",
	"rabbit://h/?x=1&x=2&y=&z&w=a+b&v=%41%zz",
	"rabbit://h/v?q=1#frag",
	"rabbit://h#frag/v",
	"rabbit://h/a/b",
	"rabbit://h?q=1",
	"rabbit://h:05672/",
	"rabbit://[::1/",
	"rabbit://::1]/",
	"rabbit://h:port/",
	"rabbit://u:p@h1:5672,h2:5673/",
}

type urlGolden struct {
	URL         string            `json:"url"`
	OK          bool              `json:"ok"`
	Error       string            `json:"error,omitempty"`
	Scheme      string            `json:"scheme,omitempty"`
	VirtualHost string            `json:"virtual_host,omitempty"`
	Hosts       []urlGoldenHost   `json:"hosts,omitempty"`
	Query       map[string]string `json:"query,omitempty"`
	Str         string            `json:"str,omitempty"`
}

type urlGoldenHost struct {
	Hostname string `json:"hostname"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"password"`
}

const urlGoldenFile = "testdata/urls.golden.json"

// parseURLs returns testdata/parse_urls.py's answer for urlCases: what
// peer's TransportURL.parse makes of each, as the golden file holds it.
func parseURLs(t *testing.T, peer oslopeer.Peer) []byte {
	t.Helper()
	in, _ := json.Marshal(urlCases)
	cmd := peer.Command("testdata/parse_urls.py")
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parse_urls.py: %v", err)
	}
	return out
}

// TestParseURLMatchesOslo holds ParseURL to the golden file, 14.0.3's
// parse of urlCases (-update rewrites it); TestURLGoldenMatchesPeers holds
// the golden file to each peer.
func TestParseURLMatchesOslo(t *testing.T) {
	if *update {
		if err := os.WriteFile(urlGoldenFile, parseURLs(t, oslopeer.Debian), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(urlGoldenFile)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var golden []urlGolden
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden) != len(urlCases) {
		t.Fatalf("golden has %d cases, test has %d: run with -update", len(golden), len(urlCases))
	}
	for _, g := range golden {
		t.Run(g.URL, func(t *testing.T) {
			u, err := ParseURL(g.URL)
			if !g.OK {
				if err == nil {
					t.Fatalf("oslo refuses it (%s), ParseURL accepts it: %+v", g.Error, u)
				}
				if !errors.Is(err, ErrInvalidURL) {
					t.Fatalf("error %v does not wrap ErrInvalidURL", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("oslo accepts it, ParseURL: %v", err)
			}
			if u.Scheme != g.Scheme {
				t.Errorf("scheme %q, oslo %q", u.Scheme, g.Scheme)
			}
			if u.VirtualHost != g.VirtualHost {
				t.Errorf("virtual host %q, oslo %q", u.VirtualHost, g.VirtualHost)
			}
			var hosts []urlGoldenHost
			for _, h := range u.Hosts {
				hosts = append(hosts, urlGoldenHost(h))
			}
			if (len(hosts) != 0 || len(g.Hosts) != 0) && !reflect.DeepEqual(hosts, g.Hosts) {
				t.Errorf("hosts %+v, oslo %+v", hosts, g.Hosts)
			}
			if len(u.Query) != 0 || len(g.Query) != 0 {
				if !reflect.DeepEqual(u.Query, g.Query) {
					t.Errorf("query %v, oslo %v", u.Query, g.Query)
				}
			}
			back, err := ParseURL(u.String())
			if err != nil || !reflect.DeepEqual(back, u) {
				t.Errorf("String() = %q parses back to %+v, %v", u.String(), back, err)
			}
		})
	}
}

// oslo18URLs are the cases 18.1.0 parses unlike 14.0.3 (the golden file,
// which ParseURL follows), with what 18.1.0 answers and why.
var oslo18URLs = map[string]struct {
	want urlGolden
	why  string
}{
	"rabbit://host:/": {urlGolden{URL: "rabbit://host:/", Error: "ValueError"},
		"18.1.0 splits host and port with oslo_utils.netutils.parse_host_port, and int('') fails; " +
			"14.0.3 read an empty port as none"},
}

// TestURLGoldenMatchesPeers parses urlCases with each peer's own
// TransportURL.parse, live, and compares with the golden file: 14.0.3
// must answer as when it was written, 18.1.0 the same but for oslo18URLs.
func TestURLGoldenMatchesPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python's oslo.messaging; -short runs the unit tests only")
	}
	var golden []urlGolden
	raw, err := os.ReadFile(urlGoldenFile)
	if err == nil {
		err = json.Unmarshal(raw, &golden)
	}
	if err != nil {
		t.Fatal(err)
	}
	oslopeer.Run(t, func(t *testing.T, peer oslopeer.Peer) {
		var live []urlGolden
		if err := json.Unmarshal(parseURLs(t, peer), &live); err != nil {
			t.Fatal(err)
		}
		if len(live) != len(golden) {
			t.Fatalf("%d answers, the golden file has %d: run with -update", len(live), len(golden))
		}
		for i, g := range golden {
			want := g
			if d, ok := oslo18URLs[g.URL]; ok && peer.Name == oslopeer.V18 {
				want = d.want
				t.Logf("%s: %s", g.URL, d.why)
			}
			if !reflect.DeepEqual(live[i], want) {
				t.Errorf("%s: parsed as %+v, want %+v", g.URL, live[i], want)
			}
		}
	})
}

func TestParseURLStricterThanOslo(t *testing.T) {
	// oslo.messaging accepts these and fails later, when connecting.
	for _, raw := range []string{
		"rabbit://h:99999/",
		"rabbit://h:0/",
		"rabbit://h:-1/",
		"zmq://h/",
		"h:5672",
		"://h",
		"rabbit://a[b]c/",
		"rabbit://h st/",
		// A password holding ',', '/', '?' or '#' cut there (url_secret_test.go).
		"rabbit://h1,u:p@h2/",
		"rabbit://u:p@h/v@x",
		"rabbit://h/?q=a@b",
	} {
		t.Run(raw, func(t *testing.T) {
			if u, err := ParseURL(raw); !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("ParseURL = %+v, %v; want ErrInvalidURL", u, err)
			}
		})
	}
}

func TestURLDefaults(t *testing.T) {
	tests := []struct {
		raw              string
		addr, user, pass string
		vhost            string
	}{
		{"rabbit://", "localhost:5672", "guest", "guest", "/"},
		{"rabbit://u:p@h:1234/v", "h:1234", "u", "p", "v"},
		{"amqp://[::1]//", "[::1]:5672", "guest", "guest", "/"},
		{"rabbit://u@h/", "h:5672", "u", "guest", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := ParseURL(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			h := u.Brokers()[0]
			if h.Addr() != tt.addr || h.User() != tt.user || h.Pass() != tt.pass || u.VHost() != tt.vhost {
				t.Fatalf("got %s %s %s %s", h.Addr(), h.User(), h.Pass(), u.VHost())
			}
		})
	}
}

func TestURLRedacted(t *testing.T) {
	u, err := ParseURL("rabbit://u:s3cret@h1,v:other@h2/")
	if err != nil {
		t.Fatal(err)
	}
	got := u.Redacted()
	if want := "rabbit://u:****@h1,v:****@h2/"; got != want {
		t.Fatalf("Redacted() = %q, want %q", got, want)
	}
}

func FuzzParseURL(f *testing.F) {
	for _, c := range urlCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseURL(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("error %v does not wrap ErrInvalidURL", err)
			}
			return
		}
		s := u.String()
		back, err := ParseURL(s)
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", s, raw, err)
		}
		if !reflect.DeepEqual(back, u) {
			t.Fatalf("%q -> %+v -> %q -> %+v", raw, u, s, back)
		}
		_, _ = u.Options(Options{})
	})
}
