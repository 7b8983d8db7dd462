package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
