package oslo

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/internal/oslopeer"
)

// TestCaptureMatchesGolden captures the wire messages again, live, with
// each reference peer (testdata/capture.py into a temporary folder, on the
// broker of AMQP_URL), runs the golden tests on what it captured, and
// compares each message with its golden file (written by 14.0.3), IDs,
// names, timestamps and tracebacks aside: the envelope has not changed
// since 14.0.3, so 18.1.0 must send the same, but where oslo18Capture says.
func TestCaptureMatchesGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("needs RabbitMQ and Python's oslo.messaging; -short runs the unit tests only")
	}
	golden, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	oslopeer.Run(t, func(t *testing.T, peer oslopeer.Peer) {
		t.Parallel() // each capture takes about 12 s, mostly waiting
		dir := t.TempDir()
		if out, err := peer.Command("testdata/capture.py", dir).CombinedOutput(); err != nil {
			t.Fatalf("capture.py: %v\n%s", err, out)
		}
		t.Run("requests", func(t *testing.T) { goldenRequests(t, dir) })
		t.Run("replies", func(t *testing.T) { goldenReplies(t, dir) })
		t.Run("dispatcher failures", func(t *testing.T) { goldenDispatcherFailures(t, dir) })
		t.Run("notifications", func(t *testing.T) { goldenNotifications(t, dir) })
		for _, g := range golden {
			name := filepath.Base(g)
			if name == "python_json.json" {
				continue // Python's json and random floats, not oslo.messaging
			}
			t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
				want, got := captureLeaves(t, g), captureLeaves(t, filepath.Join(dir, name))
				if peer.Name == oslopeer.V18 {
					for prefix, d := range oslo18Capture {
						if strings.HasPrefix(name, prefix) {
							d.edit(want)
							t.Logf("as golden, but %s", d.why)
						}
					}
				}
				for _, path := range slices.Sorted(func(yield func(string) bool) {
					for p := range want {
						if !yield(p) {
							return
						}
					}
					for p := range got {
						if _, ok := want[p]; !ok && !yield(p) {
							return
						}
					}
				}) {
					if w, g := want[path], got[path]; w != g {
						t.Errorf("%s: captured %s, golden %s", path, orAbsent(g), orAbsent(w))
					}
				}
			})
		}
	})
}

// oslo18Capture are the golden files 18.1.0 sends otherwise, by name
// prefix: edit turns the golden file's leaves into what 18.1.0 captures.
var oslo18Capture = map[string]struct {
	why  string
	edit func(leaves map[string]string)
}{
	"notify_": {
		"18.1.0's Notifier sends no context: notifier._sanitize_context wants RequestContext.redacted_copy, " +
			"which Debian's oslo.context 5.0.0 lacks, and drops the context",
		func(leaves map[string]string) {
			for p := range leaves {
				context := strings.HasPrefix(p, "body._context_") || // messaging, no envelope
					strings.HasPrefix(p, "body.oslo.message._context_") ||
					strings.HasPrefix(p, "python.json.sent_ctxt.")
				for _, view := range []string{"python.ctxt.", "python.json.ctxt."} {
					// The listener's unpack_context adds client_timeout.
					context = context || strings.HasPrefix(p, view) && p != view+"client_timeout"
				}
				if context {
					delete(leaves, p)
				}
			}
			leaves["python.json.sent_ctxt"] = "{}"
		},
	},
}

func orAbsent(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

// captureLeaves reads a capture file and returns its leaves by path
// (a.b.0.c), as canonical JSON, with what changes from run to run masked
// (see maskCapture). Strings that hold JSON (the body, oslo.message, a
// failure) are opened, so that paths reach inside them.
func captureLeaves(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeValue(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	leaves := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		join := func(k string) string {
			if path == "" {
				return k
			}
			return path + "." + k
		}
		switch v := v.(type) {
		case map[string]any:
			if len(v) == 0 {
				leaves[path] = "{}"
			}
			for k, e := range v {
				switch k {
				case "produced_by": // names the version
				case "tb":
					leaves[join(k)] = "<traceback>"
				default:
					walk(join(k), e)
				}
			}
		case []any:
			if len(v) == 0 {
				leaves[path] = "[]"
			}
			for i, e := range v {
				walk(join(strconv.Itoa(i)), e)
			}
		case string:
			if s := strings.TrimSpace(v); strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
				if inner, err := DecodeValue([]byte(s)); err == nil {
					walk(path, inner)
					return
				}
			}
			leaves[path] = canonical(t, maskCapture(v))
		default:
			leaves[path] = canonical(t, v)
		}
	}
	walk("", v)
	return leaves
}

var (
	hexID       = regexp.MustCompile(`[0-9a-f]{32}`)
	uuidID      = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	runSuffix   = regexp.MustCompile(`\b(oslo_capture|capture_notif|capture|reply_capture)_[0-9a-f]{10}`)
	pyTimestamp = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}`)
)

// maskCapture replaces in s what differs from capture to capture: IDs,
// the run's name suffix, timestamps, and anything from a traceback on.
func maskCapture(s string) string {
	if i := strings.Index(s, "Traceback (most recent call last)"); i >= 0 {
		s = s[:i] + "<traceback>"
	}
	s = uuidID.ReplaceAllString(s, "<uuid>")
	s = hexID.ReplaceAllString(s, "<id>")
	s = runSuffix.ReplaceAllString(s, "${1}_<run>")
	return pyTimestamp.ReplaceAllString(s, "<timestamp>")
}
