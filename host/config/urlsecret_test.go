package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestURLErrorsHideUserinfo: however the transport URL comes (the file,
// transport_url_file, an oslo config file) and however it is wrong, the
// load error shows nothing of its user names and passwords.
func TestURLErrorsHideUserinfo(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secrets := []string{"usr9q", "s3cr", "qx7", "zk9"}
	tests := []struct{ name, yaml string }{
		{"comma in the password", "transport_url: rabbit://usr9q:s3cr,qx7@h/\n"},
		{"slash in the password", "transport_url: rabbit://usr9q:s3cr/qx7@h/\n"},
		{"hash in the password", "transport_url: rabbit://usr9q:s3cr#qx7@h/\n"},
		{"question mark in the password", "transport_url: 'rabbit://usr9q:s3cr?qx7=zk9@h/'\n"},
		{"two hosts, commas", "transport_url: rabbit://usr9q:s3cr@h1,usr9q:qx7,zk9@h2/\n"},
		{"no scheme", "transport_url: usr9q:s3cr@h\n"},
		{"not a scheme", "transport_url: 'usr9q:s3cr@h://h/'\n"},
		{"unsupported scheme", "transport_url: zmq://usr9q:s3cr@h/\n"},
		{"bad port after the userinfo", "transport_url: rabbit://usr9q:s3cr@h:qx7/\n"},
		{"in transport_url_file", "transport_url_file: " + write("url", "rabbit://usr9q:s3cr,qx7@h/\n") + "\n"},
		{"in an oslo config file", "oslo_config_file: " + write("a.conf", "[DEFAULT]\ntransport_url = rabbit://usr9q:s3cr/qx7@h/\n") + "\n"},
		{"an oslo line without '='", "oslo_config_file: " + write("b.conf", "[DEFAULT]\nusr9q s3cr qx7\n") + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), filepath.Join(dir, "wasmrpcd.yaml"))
			if err == nil {
				t.Fatal("loads")
			}
			msg := strings.ReplaceAll(err.Error(), dir, "DIR")
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error %q shows %q", msg, s)
				}
			}
		})
	}
}
