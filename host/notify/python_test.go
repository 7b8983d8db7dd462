package notify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// The Python peers are internal/oslopeer's: Debian's oslo.messaging
// 14.0.3 (python3-oslo.messaging, installed by scripts/deps.sh), and
// 18.1.0.

// checkPython fails the test when Debian's Python is missing, and skips
// it under -short (no broker, no Python).
func checkPython(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Python's oslo.messaging; -short runs the unit tests only")
	}
	if _, err := os.Stat(oslopeer.Python); err != nil {
		t.Fatalf("%s is missing (scripts/deps.sh installs python3-oslo.messaging): %v", oslopeer.Python, err)
	}
}

// runPython runs testdata/oslo_notify.py MODE ARGS of peer on items, one
// JSON line each, and returns its JSON answers.
func runPython(t *testing.T, peer oslopeer.Peer, mode string, items []any, args ...string) []map[string]any {
	t.Helper()
	checkPython(t)
	var in bytes.Buffer
	for _, it := range items {
		line, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(append(line, '\n'))
	}
	cmd := peer.Command("testdata/oslo_notify.py", append([]string{mode}, args...)...)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oslo_notify.py %s: %v\n%s%s", mode, err, out, stderr.String())
	}
	var res []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("oslo_notify.py %s said %q: %v", mode, sc.Text(), err)
		}
		res = append(res, m)
	}
	if len(res) != len(items) {
		t.Fatalf("oslo_notify.py %s answered %d of %d items:\n%s", mode, len(res), len(items), stderr.String())
	}
	return res
}

// jsonValue turns CBOR into the value encoding/json would decode from its
// JSON, as oslo would write it.
func jsonValue(t testing.TB, c []byte) any {
	t.Helper()
	j, err := oslo.CBORToJSON(nil, c)
	if err != nil {
		t.Fatalf("CBORToJSON(%x): %v", c, err)
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		t.Fatalf("%s: %v", j, err)
	}
	return v
}
