package transport

import (
	"errors"
	"strings"
	"testing"
)

// TestURLNeverShowsUserinfo: whatever the URL, a ParseURL error holds
// nothing of its user names and passwords, and Redacted, what the daemon
// logs and `check` prints, nothing of its passwords. The pieces are what
// a password cut at ',', '/', '?' or '#', or a user name, would show.
func TestURLNeverShowsUserinfo(t *testing.T) {
	tests := []struct {
		raw    string
		ok     bool     // ParseURL accepts it
		user   []string // in no error
		secret []string // in no error and no Redacted
	}{
		// A password holding what splits the network location.
		{"rabbit://guest:s3cr,et@h/", false, []string{"guest"}, []string{"s3cr", "et@"}},
		{"rabbit://guest:1234/5678@h", false, []string{"guest"}, []string{"1234", "5678"}},
		{"rabbit://guest:1234,5678@h/", false, []string{"guest"}, []string{"1234", "5678"}},
		{"rabbit://guest:12?34@h/", false, []string{"guest"}, []string{"12", "34"}},
		{"rabbit://guest:12#34@h/", false, []string{"guest"}, []string{"12", "34"}},
		{"rabbit://guest:qx7,zk9,wv3@h/", false, []string{"guest"}, []string{"qx7", "zk9", "wv3"}},
		{"rabbit://alice:pw7@h1,bob:qx7,zk9@h2/", false, []string{"alice", "bob"}, []string{"pw7", "qx7", "zk9"}},
		{"rabbit://alice:pw1@h1:5672,bob:s3/cr@h2/", false, []string{"alice", "bob"}, []string{"pw1", "s3", "cr"}},
		{"rabbit://gu st:s3cr,et@h/", false, []string{"gu st"}, []string{"s3cr", "et@"}},
		{"rabbit://us[er:s3cr@h/", false, []string{"us[er"}, []string{"s3cr"}},
		{"rabbit://usr9q:s3[cr@h]/", false, []string{"usr9q"}, []string{"s3[cr"}},
		{"rabbit://usr9q:p%zzw@h:port/", false, []string{"usr9q"}, []string{"p%zzw"}},
		{"rabbit://usr9q:p%2Cw@h:99999/", false, []string{"usr9q"}, []string{"p%2Cw", "p,w"}},
		{"rabbit://usr9q:s3cr@h st/", false, []string{"usr9q"}, []string{"s3cr"}},
		{"guest:s3cr@rabbit://h/", false, []string{"guest"}, []string{"s3cr"}},
		{"gu-est.x:s3cr@h://h/", false, []string{"gu-est"}, []string{"s3cr"}},
		{"zmq://usr9q:s3cr@h/", false, []string{"usr9q"}, []string{"s3cr"}},
		{"guest:s3cr@h", false, []string{"guest"}, []string{"s3cr"}},

		// Accepted: Redacted hides the passwords, however written.
		{"rabbit://guest:s3cr%2Cet@h/", true, nil, []string{"s3cr", "%2C"}},
		{"rabbit://guest:1234%2F5678@h/", true, nil, []string{"1234", "5678"}},
		{"rabbit://u:s3:cr@h/", true, nil, []string{"s3", "cr"}},
		{"rabbit://u:s3@cr@h/", true, nil, []string{"s3", "cr"}},
		{"rabbit://alice:pw1@h1:5672,bob:pw2@h2:5673/v", true, nil, []string{"pw1", "pw2"}},
		{"rabbit://alice:pw1@h1,h2/", true, nil, []string{"pw1"}},
		{"rabbit://u:p%40ss%3Fw@[::1]:5672/%2F", true, nil, []string{"p%40", "p@ss", "ss?w", "%3F"}},
		{"rabbit://u:s3cr@h/v%40x", true, nil, []string{"s3cr"}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := ParseURL(tt.raw)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseURL: %v", err)
				}
				r := u.Redacted()
				for _, s := range tt.secret {
					if strings.Contains(r, s) {
						t.Errorf("Redacted() %q shows %q", r, s)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseURL accepts it: %s", u.Redacted())
			}
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("error %v does not wrap ErrInvalidURL", err)
			}
			msg := strings.TrimPrefix(err.Error(), ErrInvalidURL.Error())
			for _, s := range append(tt.user, tt.secret...) {
				if strings.Contains(msg, s) {
					t.Errorf("error %q shows %q", msg, s)
				}
			}
		})
	}
}
