package tests

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

var (
	// repoRoot is the checkout's top directory.
	repoRoot string
	// daemonBin is the wasmrpcd binary built from this checkout.
	daemonBin string
	// brokerURL is AMQP_URL, as amqp091-go dials it.
	brokerURL string
	// cacheDir is the compiled-module cache every test daemon shares, so
	// that each module compiles once per run, and cacheKeyFile its key.
	cacheDir, cacheKeyFile string
)

// modules are the wasm files the tests serve; `make modules` builds them.
var modules = struct{ testkit, testkit16 string }{
	testkit:   "modules/testkit/testkit.wasm",
	testkit16: "modules/testkit/testkit-v1.6.wasm",
}

// TestMain checks the real peers, builds the daemon and runs the tests.
// A missing broker or 14.0.3 peer fails the run with a message saying how
// to get it: these tests are never skipped silently. The 18.1.0 peer's
// cases skip, saying so, where its tarball is absent, except in CI
// (internal/oslopeer). Under -short (`make test-short`: the
// unit tests, no broker, no Python) the package runs nothing.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("tests: end-to-end tests need RabbitMQ and Python oslo.messaging; -short runs none")
		os.Exit(0)
	}
	code, err := setUp(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// setUp checks the peers and the modules, builds the daemon into a
// temporary directory and runs m.
func setUp(m *testing.M) (int, error) {
	wd, err := os.Getwd()
	if err != nil {
		return 0, err
	}
	repoRoot = filepath.Dir(wd)
	brokerURL = os.Getenv("AMQP_URL")
	if brokerURL == "" {
		brokerURL = "amqp://guest:guest@127.0.0.1:5672/"
	}
	if err := checkBroker(); err != nil {
		return 0, fmt.Errorf("RabbitMQ at AMQP_URL does not answer (start it with `make broker`): %w", err)
	}
	// The peers are oslopeer's: Debian's 14.0.3 must be there; 18.1.0 is
	// unpacked by the first test that runs against it.
	if out, err := oslopeer.Debian.Command("-c", "import oslo_messaging").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%s cannot import oslo_messaging (install it with `make deps`): %v: %s", oslopeer.Python, err, out)
	}
	for _, path := range []string{modules.testkit, modules.testkit16} {
		if _, err := os.Stat(filepath.Join(repoRoot, path)); err != nil {
			return 0, fmt.Errorf("module %s is missing: run `make modules`", path)
		}
	}
	dir, err := os.MkdirTemp("", "wasmrpcd-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	daemonBin = filepath.Join(dir, "wasmrpcd")
	cacheDir = filepath.Join(dir, "cache")
	cacheKeyFile = filepath.Join(dir, "cache.key")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", daemonBin, "./cmd/wasmrpcd")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build ./cmd/wasmrpcd: %v\n%s", err, out)
	}
	return m.Run(), nil
}

// checkBroker dials the broker once.
func checkBroker() error {
	conn, err := dial()
	if err != nil {
		return err
	}
	return conn.Close()
}
