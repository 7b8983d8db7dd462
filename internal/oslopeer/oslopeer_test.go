package oslopeer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestUnpackConcurrent unpacks the tarball from several goroutines at
// once, as test processes do: each gets the same complete folder, and no
// temporary folder is left.
func TestUnpackConcurrent(t *testing.T) {
	repo, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tarball, err := findTarball(repo)
	if err != nil {
		if inCI() {
			t.Fatal(err)
		}
		t.Skipf("oslo.messaging %s: %v", V18, err)
	}
	parent := t.TempDir()
	dirs := make([]string, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range dirs {
		wg.Go(func() { dirs[i], errs[i] = unpack(tarball, parent) })
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != filepath.Join(parent, dirName) {
			t.Fatalf("unpack %d: %q, %v", i, dirs[i], errs[i])
		}
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != dirName {
		t.Errorf("%s holds %v, want %s alone", parent, entries, dirName)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "oslo_messaging", "rpc", "client.py")); err != nil {
		t.Error(err)
	}
}

func TestFindTarballNamed(t *testing.T) {
	t.Setenv(tarballEnv, filepath.Join(t.TempDir(), "missing.tar.gz"))
	if _, err := findTarball(t.TempDir()); err == nil || !strings.Contains(err.Error(), tarballEnv) {
		t.Fatalf("findTarball = %v, want an error naming %s", err, tarballEnv)
	}
}

// TestPeers imports oslo_messaging in every peer, from where it should.
func TestPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python; -short runs the unit tests only")
	}
	Run(t, func(t *testing.T, p Peer) {
		out, err := p.Command("-c", "import oslo_messaging; print(oslo_messaging.__file__)").Output()
		if err != nil {
			t.Fatal(err)
		}
		file := strings.TrimSpace(string(out))
		if want := map[string]string{V14: "/usr/lib/python3/dist-packages/", V18: "/.cache/peers/" + dirName + "/"}[p.Name]; !strings.Contains(file, want) {
			t.Errorf("oslo_messaging is %s, want it under %s", file, want)
		}
	})
}

// recorder is a testing.TB that records Fatalf and Logf, for Peers.
type recorder struct {
	testing.TB
	fatal, log string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recorder) Logf(format string, a ...any)   { r.log = fmt.Sprintf(format, a...) }

// TestWithoutTarball checks what a checkout without the 18.1.0 tarball
// gets: its cases skip, saying so, except in CI, where they fail.
func TestWithoutTarball(t *testing.T) {
	saved := modern
	t.Cleanup(func() { modern = saved })
	modern = func() (Peer, error) { return Peer{}, fmt.Errorf("%w at /nowhere", errNoTarball) }

	t.Setenv("CI", "")
	r := &recorder{TB: t}
	if got := Peers(r); len(got) != 1 || got[0].Name != V14 || r.fatal != "" || !strings.Contains(r.log, "18.1.0 cases skipped") {
		t.Errorf("outside CI: Peers = %v, fatal %q, log %q; want 14.0.3 alone and a note", got, r.fatal, r.log)
	}
	ran := map[string]bool{}
	Run(t, func(t *testing.T, p Peer) { ran[p.Name] = true })
	if !ran[V14] || ran[V18] {
		t.Errorf("Run ran %v, want 14.0.3 alone", ran)
	}

	t.Setenv("CI", "true")
	r = &recorder{TB: t}
	Peers(r)
	if !strings.Contains(r.fatal, "tarball not found") {
		t.Errorf("in CI: fatal %q, want the missing tarball to fail the test", r.fatal)
	}
}
