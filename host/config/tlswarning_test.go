package config

import (
	"strings"
	"testing"
)

// TestTLSWarning: a file whose TLS connection does not check the broker's
// host name loads with a warning (logged at start, printed by check),
// wherever ssl is set.
func TestTLSWarning(t *testing.T) {
	const url = "transport_url: rabbit://guest:guest@127.0.0.1:5671/"
	tests := []struct {
		name, yaml string
		want       string // in a warning; "" for none about ssl
	}{
		{"no ssl", url + "\n", ""},
		{"ssl, no CA", url + "\nrabbit: {ssl: true}\n", "ssl_ca_file is not set"},
		{"ssl in the URL's query", url + "?ssl=true\n", "ssl_ca_file is not set"},
		{"ssl, CA, host name check off", url + "\nrabbit: {ssl: true, ssl_ca_file: ca.pem, ssl_enforce_hostname_verification: false}\n", "ssl_enforce_hostname_verification is false"},
		{"ssl, CA, host name checked", url + "\nrabbit: {ssl: true, ssl_ca_file: ca.pem}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "wasmrpcd.yaml")
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for _, w := range c.Warnings() {
				if strings.HasPrefix(w, "ssl:") {
					got = w
				}
			}
			if tt.want == "" {
				if got != "" {
					t.Fatalf("warning %q, want none", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("warnings %q, want one about ssl with %q", c.Warnings(), tt.want)
			}
		})
	}
}
