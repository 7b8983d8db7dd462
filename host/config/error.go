package config

import (
	"sort"
	"strconv"
	"strings"
)

// Error lists every problem found in a config file. Parse, Load and
// Validate return it (as error) when there is at least one problem.
type Error struct {
	// File is the config file's name as given to Load or Parse; empty for a
	// Config built in code.
	File string
	// Problems are sorted by line; problems without a line come first.
	Problems []Problem
}

var _ error = (*Error)(nil)

// Problem is one mistake in a config file.
type Problem struct {
	// Line is the 1-based line of the offending key or value; 0 when it is
	// not known (a Config built in code, a key that is missing).
	Line int
	// Path names the key: "modules[0].tenant", "tenants.default.memory_limit";
	// empty for the file as a whole.
	Path string
	// Message says what is wrong, without the path.
	Message string
}

// format formats the problem as one line: "file:line: path: message".
func (p Problem) format(file string) string {
	var b strings.Builder
	b.WriteString(file)
	if p.Line > 0 {
		if file == "" {
			b.WriteString("line ")
		} else {
			b.WriteString(":")
		}
		b.WriteString(strconv.Itoa(p.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// String formats the problem as "line: path: message".
func (p Problem) String() string { return p.format("") }

// Error returns one line per problem:
//
//	wasmrpcd.yaml:14: modules[0].tenant: unknown tenant "gold" (tenants are: default)
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.format(e.File)
	}
	return strings.Join(lines, "\n")
}

// newError returns nil for no problems, otherwise an *Error with the
// problems sorted by line.
func newError(file string, problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	ps := append([]Problem(nil), problems...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	return &Error{File: file, Problems: ps}
}
