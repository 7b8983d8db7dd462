package wasm

import (
	"bytes"
	"context"
	"log/slog"
	"strings"

	"github.com/wasmrpcd/wasmrpcd/host/budget"
)

// maxLogLine bounds one guest log line; longer lines are cut and the rest
// logged as further lines.
const maxLogLine = 8 << 10

// lineWriter is a guest's stdout or stderr: it logs each complete line
// with the module's name, within the module's log budget (see
// Module.keep). A line longer than maxLogLine is logged in pieces, so a
// guest cannot make the host buffer without bound.
//
// Like the instance it belongs to, it is used by one goroutine at a time.
type lineWriter struct {
	m      *Module
	log    *slog.Logger
	level  slog.Level
	stream budget.Stream
	buf    []byte
	max    int // longest line logged in one piece
	// first is the first line written since mark, for error messages.
	first  string
	marked bool
}

func newLineWriter(m *Module, level slog.Level, stream budget.Stream) *lineWriter {
	return &lineWriter{m: m, log: m.log, level: level, stream: stream, max: maxLogLine}
}

// Write implements io.Writer; it never fails.
func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := w.max - len(w.buf)
			if len(p) < room {
				w.buf = append(w.buf, p...)
				break
			}
			w.buf = append(w.buf, p[:room]...)
			p = p[room:]
			w.emit()
			continue
		}
		line := p[:i]
		p = p[i+1:]
		for len(w.buf)+len(line) > w.max {
			room := w.max - len(w.buf)
			w.buf = append(w.buf, line[:room]...)
			line = line[room:]
			w.emit()
		}
		w.buf = append(w.buf, line...)
		w.emit()
	}
	return n, nil
}

// flush logs a last unterminated line.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.emit()
	}
}

// mark starts remembering the first line written from now on.
func (w *lineWriter) mark() {
	w.first = ""
	w.marked = true
}

// firstLine returns the first non-blank line written since mark.
func (w *lineWriter) firstLine() string {
	if len(w.buf) > 0 && w.first == "" && w.marked {
		return sanitize(w.buf)
	}
	return w.first
}

func (w *lineWriter) emit() {
	raw := bytes.TrimSuffix(w.buf, []byte("\r"))
	w.buf = w.buf[:0]
	if w.marked && w.first == "" && len(bytes.TrimSpace(raw)) > 0 {
		// Kept for the call's error message even when not logged.
		w.first = sanitize(raw)
	}
	ctx := context.Background()
	if l, ok := w.m.keep(ctx, w.stream, w.level, len(raw)); ok {
		w.log.Log(ctx, l, sanitize(raw), slog.String("stream", w.stream.String()))
	}
}

// sanitize makes guest bytes a valid UTF-8 string.
func sanitize(b []byte) string {
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
