package config

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxNodes bounds the nodes the decoder visits, aliases expanded, so that
// a file of nested aliases ("billion laughs") cannot make it work forever.
const maxNodes = 100_000

// decoder walks a yaml.Node tree, records the line of every key path it
// sees and collects problems instead of stopping at the first.
type decoder struct {
	problems []Problem
	lines    map[string]int
	visits   int
}

// field is one known key of a mapping and how to decode its value.
type field struct {
	name   string
	decode func(v *yaml.Node, path string)
}

// fail records a problem at node n.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.problems = append(d.problems, Problem{Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// resolve follows aliases and counts the visit; nil means the node budget
// is spent (a problem has been recorded).
func (d *decoder) resolve(n *yaml.Node, path string) *yaml.Node {
	ref := n
	for hops := 0; n != nil && n.Kind == yaml.AliasNode; hops++ {
		if hops > 100 {
			d.fail(n, path, "alias refers to itself")
			return nil
		}
		n = n.Alias
	}
	d.visits++
	if d.visits == maxNodes+1 {
		line := 0
		if ref != nil {
			line = ref.Line
		}
		if l, ok := d.lines[path]; ok {
			line = l // the key, not some alias deep inside it
		}
		d.problems = append(d.problems, Problem{Line: line, Path: path,
			Message: fmt.Sprintf("document too large (more than %d values once aliases are expanded)", maxNodes)})
	}
	if d.visits > maxNodes {
		return nil
	}
	return n
}

// isNull reports a missing or null value: such a key keeps its default.
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// entry is one key and value of a mapping, merge keys expanded.
type entry struct {
	key, value *yaml.Node
}

// entries returns the key-value pairs of mapping n with YAML merge keys
// ("<<: *base") expanded: explicit keys win over merged ones and earlier
// merged mappings over later ones. A repeated explicit key is a problem.
func (d *decoder) entries(n *yaml.Node, path string) []entry {
	var out []entry
	seen := map[string]*yaml.Node{}
	var merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSources(v, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "a key must be a plain string, not %s", describe(k))
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.fail(k, join(path, k.Value), "key %q appears twice (first on line %d)", k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, entry{k, v})
	}
	for _, e := range merged {
		if _, dup := seen[e.key.Value]; dup {
			continue
		}
		seen[e.key.Value] = e.key
		out = append(out, e)
	}
	return out
}

// mergeSources returns the entries a merge key's value contributes: a
// mapping, or a list of mappings (earlier ones win).
func (d *decoder) mergeSources(v *yaml.Node, path string) []entry {
	v = d.resolve(v, path)
	if v == nil {
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		return d.entries(v, path)
	case yaml.SequenceNode:
		var out []entry
		for _, item := range v.Content {
			item = d.resolve(item, path)
			if item == nil {
				return out
			}
			if item.Kind != yaml.MappingNode {
				d.fail(item, path, "a merge key (<<) takes a mapping or a list of mappings, not %s", describe(item))
				continue
			}
			out = append(out, d.entries(item, path)...)
		}
		return out
	}
	d.fail(v, path, "a merge key (<<) takes a mapping or a list of mappings, not %s", describe(v))
	return nil
}

// mapping decodes a mapping with a fixed set of keys. A null value is an
// empty mapping. It reports whether n was a mapping (or null).
func (d *decoder) mapping(n *yaml.Node, path string, fields []field) bool {
	n = d.resolve(n, path)
	if n == nil {
		return false
	}
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, got %s", describe(n))
		return false
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	slices.Sort(names)
	for _, e := range d.entries(n, path) {
		p := join(path, e.key.Value)
		i := slices.IndexFunc(fields, func(f field) bool { return f.name == e.key.Value })
		if i < 0 {
			d.fail(e.key, p, "unknown key%s", hint(e.key.Value, names, "known keys: "))
			continue
		}
		d.lines[p] = e.key.Line
		fields[i].decode(e.value, p)
	}
	return true
}

// namedMappings decodes a mapping from names to values with each; a null
// value is passed on as nil.
func (d *decoder) namedMappings(n *yaml.Node, path string, each func(name string, v *yaml.Node, path string)) {
	n = d.resolve(n, path)
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of names, got %s", describe(n))
		return
	}
	for _, e := range d.entries(n, path) {
		p := join(path, e.key.Value)
		d.lines[p] = e.key.Line
		each(e.key.Value, e.value, p)
	}
}

// list decodes a sequence, calling each for every item; a null value is
// an empty list. It returns the number of items.
func (d *decoder) list(n *yaml.Node, path string, each func(i int, v *yaml.Node, path string)) int {
	n = d.resolve(n, path)
	if n == nil || isNull(n) {
		return 0
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "want a list, got %s", describe(n))
		return 0
	}
	for i, item := range n.Content {
		p := index(path, i)
		d.lines[p] = item.Line
		each(i, item, p)
	}
	return len(n.Content)
}

// scalar returns the scalar value of n, or false (with a problem
// recorded unless n is null) when n is no scalar.
func (d *decoder) scalar(n *yaml.Node, path, want string) (*yaml.Node, bool) {
	n = d.resolve(n, path)
	if n == nil || isNull(n) {
		return nil, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!binary" {
		d.fail(n, path, "want %s, got %s", want, describe(n))
		return nil, false
	}
	return n, true
}

// str decodes a string; numbers and booleans are taken as written. A null
// value leaves *dst unchanged.
func (d *decoder) str(n *yaml.Node, path string, dst *string) {
	if s, ok := d.scalar(n, path, "a string"); ok {
		*dst = s.Value
	}
}

// stringList decodes a list of strings; a single string is refused with
// a hint to write a list.
func (d *decoder) stringList(n *yaml.Node, path string, dst *[]string) {
	if r := d.resolve(n, path); r != nil && r.Kind == yaml.ScalarNode && !isNull(r) {
		d.fail(r, path, "want a list, got %s (write [%s])", describe(r), r.Value)
		return
	}
	var out []string
	d.list(n, path, func(_ int, v *yaml.Node, p string) {
		s := ""
		d.str(v, p, &s)
		if isNull(v) {
			d.fail(v, p, "want a string, got null")
		}
		out = append(out, s)
	})
	if out != nil {
		*dst = out
	}
}

// integer decodes an int.
func (d *decoder) integer(n *yaml.Node, path string, dst *int) {
	s, ok := d.scalar(n, path, "an integer")
	if !ok {
		return
	}
	var v int64
	if s.ShortTag() != "!!int" || s.Decode(&v) != nil {
		if s.ShortTag() == "!!int" {
			d.fail(s, path, "integer %s is out of range", clip(s.Value))
			return
		}
		d.fail(s, path, "want an integer, got %s", describe(s))
		return
	}
	if v > math.MaxInt32 || v < math.MinInt32 {
		d.fail(s, path, "integer %s is out of range", clip(s.Value))
		return
	}
	*dst = int(v)
}

// boolean decodes true or false.
func (d *decoder) boolean(n *yaml.Node, path string, dst *bool) {
	s, ok := d.scalar(n, path, "true or false")
	if !ok {
		return
	}
	var v bool
	if s.ShortTag() != "!!bool" || s.Decode(&v) != nil {
		d.fail(s, path, "want true or false, got %s", describe(s))
		return
	}
	*dst = v
}

// unmarshaler decodes a value through its UnmarshalYAML method.
func (d *decoder) unmarshaler(n *yaml.Node, path string, dst interface{ UnmarshalYAML(*yaml.Node) error }) {
	r := d.resolve(n, path)
	if r == nil || isNull(r) {
		return
	}
	if err := dst.UnmarshalYAML(r); err != nil {
		d.fail(r, path, "%v", err)
	}
}

// size decodes a Size.
func (d *decoder) size(n *yaml.Node, path string, dst *Size) { d.unmarshaler(n, path, dst) }

// duration decodes a Duration.
func (d *decoder) duration(n *yaml.Node, path string, dst *Duration) { d.unmarshaler(n, path, dst) }

// plainKey matches map keys that need no quoting in a path.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// join appends a key to a path: "tenants.default", `tenants."a b"`.
func join(path, key string) string {
	if !plainKey.MatchString(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends a list index to a path: "modules[0]".
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// under reports whether path is p or lies below it.
func under(path, p string) bool {
	return path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[")
}
