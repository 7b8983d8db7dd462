package config

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// osloFile is an oslo.config file read as oslo.config's iniparser reads
// one: [section] headers, "key = value" or "key: value" lines, comments
// on lines of their own starting with # or ;, values continued on the
// next lines when these start with blanks, surrounding quotes removed.
// A key given twice keeps its last value, as a single-valued option does.
type osloFile struct {
	name     string
	sections map[string]map[string]osloValueAt
}

// osloValueAt is one value and the line it starts on.
type osloValueAt struct {
	value string
	line  int
}

// readOsloFile reads and parses the oslo.config file at path.
func readOsloFile(path string) (*osloFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxFileSize)
	}
	return parseOsloFile(path, data)
}

func parseOsloFile(name string, data []byte) (*osloFile, error) {
	f := &osloFile{name: name, sections: map[string]map[string]osloValueAt{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), MaxFileSize)
	var section, key string
	for n := 1; sc.Scan(); n++ {
		raw := strings.TrimSuffix(sc.Text(), "\r")
		line := strings.TrimSpace(raw)
		switch {
		case line == "":
			key = "" // a blank line ends a continued value
		case line[0] == '#' || line[0] == ';':
		case raw[0] == ' ' || raw[0] == '\t':
			if key == "" {
				return nil, fmt.Errorf("%s:%d: unexpected continuation line", name, n)
			}
			v := f.sections[section][key]
			v.value = strings.TrimSpace(v.value + "\n" + line)
			f.sections[section][key] = v
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("%s:%d: invalid section header %q", name, n, clip(line))
			}
			section, key = strings.TrimSpace(line[1:len(line)-1]), ""
			if f.sections[section] == nil {
				f.sections[section] = map[string]osloValueAt{}
			}
		default:
			if section == "" {
				return nil, fmt.Errorf("%s:%d: a value before any [section]", name, n)
			}
			i := strings.IndexAny(line, "=:")
			if i <= 0 {
				// Not quoted: the line may hold a password.
				return nil, fmt.Errorf("%s:%d: want key = value", name, n)
			}
			key = strings.TrimSpace(line[:i])
			f.sections[section][key] = osloValueAt{value: strings.TrimSpace(line[i+1:]), line: n}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// unquote removes a pair of surrounding quotes, as oslo's iniparser does.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == v[len(v)-1] && (v[0] == '"' || v[0] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

// get returns the value of key in section with oslo.config's
// substitutions done: $name and ${name} are the value of option name of
// [DEFAULT] (or of the section, for ${section.name}), $$ is a $.
func (f *osloFile) get(section, key string) (string, int, bool, error) {
	v, ok := f.sections[section][key]
	if !ok {
		return "", 0, false, nil
	}
	s, err := f.substitute(unquote(v.value), 0)
	if err != nil {
		return "", v.line, true, fmt.Errorf("%s:%d: %s: %v", f.name, v.line, key, err)
	}
	return s, v.line, true, nil
}

func (f *osloFile) substitute(v string, depth int) (string, error) {
	if !strings.Contains(v, "$") {
		return v, nil
	}
	if depth > 10 {
		return "", fmt.Errorf("substitutions nest more than 10 deep")
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '$' {
			b.WriteByte(v[i])
			continue
		}
		rest := v[i+1:]
		var ref string
		switch {
		case strings.HasPrefix(rest, "$"):
			b.WriteByte('$')
			i++
			continue
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return "", fmt.Errorf("unclosed ${")
			}
			ref = rest[1:end]
			i += end + 1
		default:
			end := 0
			for end < len(rest) && (rest[end] == '_' || rest[end] >= 'a' && rest[end] <= 'z' || rest[end] >= 'A' && rest[end] <= 'Z' || rest[end] >= '0' && rest[end] <= '9') {
				end++
			}
			if end == 0 {
				return "", fmt.Errorf("a $ that starts no substitution (write $$ for a $)")
			}
			ref = rest[:end]
			i += end
		}
		section, name := "DEFAULT", ref
		if s, n, ok := strings.Cut(ref, "."); ok {
			section, name = s, n
		}
		val, ok := f.sections[section][name]
		if !ok {
			return "", fmt.Errorf("$%s: no option %s in [%s]", ref, name, section)
		}
		sub, err := f.substitute(unquote(val.value), depth+1)
		if err != nil {
			return "", err
		}
		b.WriteString(sub)
	}
	return b.String(), nil
}
