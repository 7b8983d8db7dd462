package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// TestDocsExamples parses every YAML block of docs/CONFIG.md, so that the
// reference cannot show a config that does not load.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "CONFIG.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(doc), "```yaml\n")[1:]
	if len(blocks) < 2 {
		t.Fatalf("found %d YAML blocks", len(blocks))
	}
	for i, b := range blocks {
		body, _, ok := strings.Cut(b, "```")
		if !ok {
			t.Fatalf("block %d is not closed", i)
		}
		if !strings.Contains(body, "transport_url:") {
			body = "transport_url: rabbit://\n" + body
		}
		if _, err := parse([]byte(body), testFile, testEnv); err != nil {
			t.Errorf("block %d:\n%s\n%v", i, body, err)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the rabbit options table of docs/CONFIG.md from transport.RabbitOptions")

// The rabbit section's table in docs/CONFIG.md lies between these lines.
const (
	rabbitTableStart = "<!-- rabbit options: generated from transport.RabbitOptions by `go test ./host/config -run TestDocsRabbitTable -update` -->\n"
	rabbitTableEnd   = "<!-- end of rabbit options -->\n"
)

// TestDocsRabbitTable checks that docs/CONFIG.md lists exactly the rabbit
// options, with their types, defaults and help, as transport.RabbitOptions
// declares them; -update rewrites the table.
func TestDocsRabbitTable(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "CONFIG.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(doc), rabbitTableStart)
	table, after, ok2 := strings.Cut(rest, rabbitTableEnd)
	if !ok || !ok2 {
		t.Fatalf("docs/CONFIG.md has no rabbit options table between %q and %q", rabbitTableStart, rabbitTableEnd)
	}
	want := rabbitTable()
	if *update {
		if err := os.WriteFile(path, []byte(before+rabbitTableStart+want+rabbitTableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if table != want {
		t.Errorf("the rabbit options table of docs/CONFIG.md is not what transport.RabbitOptions declares; run go test ./host/config -run TestDocsRabbitTable -update\n got:\n%s\nwant:\n%s", table, want)
	}
}

// rabbitTable is the Markdown table of the rabbit options.
func rabbitTable() string {
	var b strings.Builder
	b.WriteString("| option | type | default | meaning |\n|---|---|---|---|\n")
	removed := false
	for _, opt := range transport.RabbitOptions() {
		if opt.Status == transport.Removed && !removed {
			removed = true
			b.WriteString("| **removed in 17.0** | | | Kept so that a 14.0.3 file loads; each logs a warning. |\n")
		}
		def := "`" + opt.Default + "`"
		switch {
		case opt.Default == "" && opt.Name == "hostname":
			def = "the host name"
		case opt.Default == "" && opt.Name == "processname":
			def = "`wasmrpcd`"
		case opt.Default == "":
			def = "none"
		}
		help := opt.Help
		switch {
		case opt.Status == transport.NoEffect:
			help = "*No effect.* " + help
		case opt.Status == transport.Removed && opt.ReplacedBy != "":
			help = "*Use `" + opt.ReplacedBy + "`.* " + help
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", opt.Name, strings.ReplaceAll(opt.Type, " | ", ", "), def, help)
	}
	return b.String()
}
