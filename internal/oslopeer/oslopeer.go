// Package oslopeer knows the reference oslo.messaging peers the tests
// compare wasmrpcd with, and runs Python scripts against each:
//
//   - "14.0.3": Debian's /usr/bin/python3 with python3-oslo.messaging
//     (scripts/deps.sh installs it); always there.
//   - "18.1.0": the same interpreter with PYTHONPATH on the source of
//     oslo.messaging 18.1.0, unpacked from its tarball into
//     <repo>/.cache/peers/oslo.messaging-18.1.0 (never copied into the
//     repository), and PBR_VERSION=18.1.0.
//
// A test runs its cases once per peer, in subtests named by peer:
//
//	oslopeer.Run(t, func(t *testing.T, p oslopeer.Peer) {
//		out, err := p.Command("testdata/interop.py").Output()
//		...
//	})
//
// # The 18.1.0 tarball
//
// It is WASMRPCD_OSLO18_TARBALL if set, else
// <repo>/../shared/peers/oslo.messaging-18.1.0.tar.gz, else
// /work/shared/peers/oslo.messaging-18.1.0.tar.gz. Where it is absent (a
// clone outside the team), the 18.1.0 subtests skip, saying so; in CI (env
// CI=true) they fail instead. The first test process that needs it unpacks
// it into a temporary folder and renames that into place, so packages
// testing in parallel share one copy; each process then checks that
// Python imports oslo_messaging from there.
//
// # Notes
//
// 18.1.0 reports its version as 14.0.3 (importlib.metadata finds Debian's
// egg-info first): scripts must not tell the peers apart by version.
package oslopeer

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Python is the interpreter of every peer: Debian's, which has
// python3-oslo.messaging and the libraries 18.1.0 runs on.
const Python = "/usr/bin/python3"

// The names of the peers.
const (
	V14 = "14.0.3" // Debian 12's python3-oslo.messaging
	V18 = "18.1.0" // the release current OpenStack services run
)

// Peer is one reference oslo.messaging.
type Peer struct {
	Name string   // V14 or V18
	Env  []string // added to the test's environment for Python; none for V14
}

// Debian is the 14.0.3 peer, always there. Helpers that take no peer use it.
var Debian = Peer{Name: V14}

// String is the peer's subtest name, "oslo-14.0.3".
func (p Peer) String() string { return "oslo-" + p.Name }

// Command returns the exec.Cmd running Python on script with args, in the
// peer's environment.
func (p Peer) Command(script string, args ...string) *exec.Cmd {
	return p.CommandContext(context.Background(), script, args...)
}

// CommandContext is Command with a context that kills the process.
func (p Peer) CommandContext(ctx context.Context, script string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, Python, append([]string{script}, args...)...)
	if len(p.Env) > 0 {
		cmd.Env = append(os.Environ(), p.Env...)
	}
	// A process group of its own: 18.1.0's queue manager reads
	// /proc/<process group leader>/stat, which is gone when the test
	// runs in a group whose leader has exited (a background shell's).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// Peers returns the peers a test runs against: 14.0.3, and 18.1.0 when
// its tarball is there. When it is not, Peers logs that the 18.1.0 cases
// are skipped, or fails t in CI. Run is the form with subtests.
func Peers(t testing.TB) []Peer {
	t.Helper()
	p, err := modern()
	if err != nil {
		if !errors.Is(err, errNoTarball) || inCI() {
			t.Fatalf("oslo.messaging %s: %v", V18, err)
		}
		t.Logf("oslo.messaging %s cases skipped: %v", V18, err)
		return []Peer{Debian}
	}
	return []Peer{Debian, p}
}

// Run runs f in a subtest per peer, named by Peer.String. The 18.1.0
// subtest skips, saying why, when the tarball is absent, and fails in CI.
func Run(t *testing.T, f func(t *testing.T, p Peer)) {
	t.Helper()
	t.Run(Debian.String(), func(t *testing.T) { f(t, Debian) })
	t.Run(Peer{Name: V18}.String(), func(t *testing.T) {
		p, err := modern()
		if err != nil {
			if !errors.Is(err, errNoTarball) || inCI() {
				t.Fatalf("oslo.messaging %s: %v", V18, err)
			}
			t.Skipf("oslo.messaging %s cases skipped: %v", V18, err)
		}
		f(t, p)
	})
}

// inCI reports whether the tests run in CI, where every peer must run.
func inCI() bool { return os.Getenv("CI") == "true" }

// errNoTarball is the error of a checkout without the 18.1.0 tarball.
var errNoTarball = errors.New("tarball not found")

// tarballEnv names the tarball's path when set.
const tarballEnv = "WASMRPCD_OSLO18_TARBALL"

// dirName is the tarball's top folder, and the name of its unpacked copy.
const dirName = "oslo.messaging-" + V18

var modern = sync.OnceValues(func() (Peer, error) {
	repo, err := repoRoot()
	if err != nil {
		return Peer{}, err
	}
	tarball, err := findTarball(repo)
	if err != nil {
		return Peer{}, err
	}
	dir, err := unpack(tarball, filepath.Join(repo, ".cache", "peers"))
	if err != nil {
		return Peer{}, fmt.Errorf("unpacking %s: %w", tarball, err)
	}
	p := Peer{Name: V18, Env: []string{"PYTHONPATH=" + dir, "PBR_VERSION=" + V18}}
	if err := verify(p, dir); err != nil {
		return Peer{}, err
	}
	return p, nil
})

// repoRoot returns the nearest folder above the working directory (a
// package's, under go test) that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// findTarball returns the path of the 18.1.0 tarball, or an error
// wrapping errNoTarball that lists where it looked.
func findTarball(repo string) (string, error) {
	if path := os.Getenv(tarballEnv); path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("%s=%s: %w", tarballEnv, path, err) // named, so not a skip
		}
		return path, nil
	}
	const file = dirName + ".tar.gz"
	candidates := []string{
		filepath.Join(filepath.Dir(repo), "shared", "peers", file),
		// This team's machines keep the peers here; CI runs `.ci/run` in
		// a fresh clone whose location is unknown.
		filepath.Join("/work/shared/peers", file),
	}
	for _, path := range candidates {
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%w at %s (set %s to its path)", errNoTarball, strings.Join(candidates, " or "), tarballEnv)
}

// unpack extracts the tarball's folder dirName into parent, unless a
// previous run did, and returns its path. It extracts into a temporary
// folder beside it and renames that into place, so that processes racing
// to unpack leave one complete copy.
func unpack(tarball, parent string) (string, error) {
	dst := filepath.Join(parent, dirName)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, "."+dirName+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := extract(tarball, tmp); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, dirName), dst); err != nil {
		if _, serr := os.Stat(dst); serr == nil {
			return dst, nil // another process renamed its copy first
		}
		return "", err
	}
	return dst, nil
}

// extract writes the tarball's folders and regular files under dir,
// refusing any entry outside dirName.
func extract(tarball, dir string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // git archive's pax header (the commit id): no file
		}
		name := filepath.Clean(h.Name)
		if !filepath.IsLocal(name) || name != dirName && !strings.HasPrefix(name, dirName+string(filepath.Separator)) {
			return fmt.Errorf("entry %q is outside %s/", h.Name, dirName)
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fs.FileMode(h.Mode)&0o755|0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q: type %c is neither a folder nor a file", h.Name, h.Typeflag)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, dirName, "oslo_messaging", "__init__.py")); err != nil {
		return fmt.Errorf("no %s/oslo_messaging in the tarball: %w", dirName, err)
	}
	return zr.Close()
}

// verify checks that Python, in p's environment, imports oslo_messaging
// from dir rather than Debian's.
func verify(p Peer, dir string) error {
	out, err := p.Command("-c", "import oslo_messaging; print(oslo_messaging.__file__)").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s cannot import oslo_messaging from %s: %v\n%s", Python, dir, err, out)
	}
	file := strings.TrimSpace(string(out))
	if !strings.HasPrefix(file, dir+string(filepath.Separator)) {
		return fmt.Errorf("%s imports oslo_messaging from %s, not from %s", Python, file, dir)
	}
	return nil
}
