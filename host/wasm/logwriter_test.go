package wasm

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/host/budget"
)

func TestLineWriter(t *testing.T) {
	long := strings.Repeat("a", maxLogLine+10)
	for _, tc := range []struct {
		name   string
		writes []string
		want   []string // lines logged, after flush
		first  string
	}{
		{name: "one line", writes: []string{"hello\n"}, want: []string{"hello"}, first: "hello"},
		{name: "split writes", writes: []string{"hel", "lo\nwor", "ld\n"}, want: []string{"hello", "world"}, first: "hello"},
		{name: "unterminated", writes: []string{"a\nb"}, want: []string{"a", "b"}, first: "a"},
		{name: "crlf", writes: []string{"dos\r\n"}, want: []string{"dos"}, first: "dos"},
		{name: "blank first", writes: []string{"\n\npanic: boom\n"}, want: []string{"", "", "panic: boom"}, first: "panic: boom"},
		{name: "invalid UTF-8", writes: []string{"bad \xff byte\n"}, want: []string{"bad \uFFFD byte"}, first: "bad \uFFFD byte"},
		{name: "long line", writes: []string{long + "\n"}, want: []string{long[:maxLogLine], "aaaaaaaaaa"}, first: long[:maxLogLine]},
		{name: "long unterminated", writes: []string{long}, want: []string{long[:maxLogLine], "aaaaaaaaaa"}, first: long[:maxLogLine]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &logRecorder{}
			w := newLineWriter(writerModule(slog.New(rec), nil), slog.LevelInfo, budget.StreamStdout)
			w.mark()
			for _, s := range tc.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := w.firstLine(); got != tc.first {
				t.Errorf("first line %q, want %q", got, tc.first)
			}
			w.flush()
			var got []string
			for _, r := range rec.records {
				got = append(got, r.Msg)
				if r.Attrs["stream"] != "stdout" {
					t.Errorf("record %q without stream=stdout", r.Msg)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("logged %q, want %q", got, tc.want)
			}
		})
	}
}

// writerModule is the least of a Module a lineWriter needs: its logger
// and budget (nil: none).
func writerModule(log *slog.Logger, b *budget.Tenant) *Module {
	return &Module{log: log, lim: Limits{Budget: b}}
}
