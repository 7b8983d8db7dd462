package cbor

import (
	"encoding"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Marshaler is a type that encodes itself: MarshalCBOR returns one
// well-formed CBOR data item, written as it is (abi.RawMessage, sdk.Raw).
type Marshaler interface {
	MarshalCBOR() ([]byte, error)
}

// Unmarshaler is a type that decodes itself: UnmarshalCBOR gets the bytes
// of one well-formed data item, tags included, which it must copy to keep.
type Unmarshaler interface {
	UnmarshalCBOR([]byte) error
}

var (
	marshalerType   = reflect.TypeFor[Marshaler]()
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	isZeroerType    = reflect.TypeFor[interface{ IsZero() bool }]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// special marks the types the codec treats apart from their kind:
// math/big.Int (an integer, through its decimal text) and time.Time
// (RFC 3339 text). They are recognised by name and handled through
// encoding.TextMarshaler and TextUnmarshaler, so that a module that does
// not use them does not link their packages' formatting and parsing.
type special uint8

const (
	specialNone special = iota
	specialBigInt
	specialTime
)

// specialOf returns how t is treated apart, if it is.
func specialOf(t reflect.Type) special {
	pt := reflect.PointerTo(t)
	if !pt.Implements(textMarshaler) || !pt.Implements(textUnmarshaler) {
		return specialNone
	}
	switch {
	case t.PkgPath() == "math/big" && t.Name() == "Int":
		return specialBigInt
	case t.PkgPath() == "time" && t.Name() == "Time":
		return specialTime
	}
	return specialNone
}

// typeInfo is what the codec needs of a Go type, computed once per type.
type typeInfo struct {
	special special
	// marshaler and unmarshaler: *T implements Marshaler or Unmarshaler
	// (valueMarshaler: T itself implements Marshaler).
	marshaler, valueMarshaler, unmarshaler bool
	// isZeroer: T implements IsZero, which `omitzero` uses.
	isZeroer bool
	// fields of a struct: by encoded name, in encoding order.
	fields []field
	byName map[string]int
}

// field is one encoded struct field.
type field struct {
	name      string
	index     []int // through embedded structs
	typ       reflect.Type
	omitEmpty bool
	omitZero  bool
}

// The typeInfo cache: a map under a mutex, in front of which a small
// direct-mapped table answers most lookups with one load and one
// comparison. Looking a type up in a map hashes the interface value, which
// costs a call of a module's method several times over in wasm.
var (
	typeMu    sync.Mutex
	typeMap   = map[reflect.Type]*typeInfo{}
	typeSlots [256]atomic.Pointer[typeSlot]
)

// typeSlot is one entry of the direct-mapped table.
type typeSlot struct {
	key  unsafe.Pointer // the *rtype a reflect.Type holds
	info *typeInfo
}

// typeKey returns the pointer that identifies t: the dynamic value of the
// reflect.Type interface, one per type.
func typeKey(t reflect.Type) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
}

// infoOf returns the cached typeInfo of t.
func infoOf(t reflect.Type) *typeInfo {
	key := typeKey(t)
	slot := &typeSlots[uintptr(key)>>3%uintptr(len(typeSlots))]
	if s := slot.Load(); s != nil && s.key == key {
		return s.info
	}
	ti := infoOfSlow(t)
	slot.Store(&typeSlot{key: key, info: ti})
	return ti
}

func infoOfSlow(t reflect.Type) *typeInfo {
	typeMu.Lock()
	ti, ok := typeMap[t]
	typeMu.Unlock()
	if ok {
		return ti
	}
	pt := reflect.PointerTo(t)
	ti = &typeInfo{
		marshaler:      pt.Implements(marshalerType),
		valueMarshaler: t.Implements(marshalerType),
		unmarshaler:    pt.Implements(unmarshalerType),
		isZeroer:       t.Implements(isZeroerType),
	}
	ti.special = specialOf(t)
	if t.Kind() == reflect.Struct && ti.special == specialNone {
		ti.fields = structFields(t)
		ti.byName = make(map[string]int, len(ti.fields))
		for i, f := range ti.fields {
			ti.byName[f.name] = i
		}
	}
	typeMu.Lock()
	defer typeMu.Unlock()
	if old, ok := typeMap[t]; ok {
		return old
	}
	typeMap[t] = ti
	return ti
}

// structFields lists the fields of struct type t as the host's codec
// encodes them, following encoding/json's rules: the key is the `cbor`
// tag's name, else the `json` tag's, else the field name; "-" leaves a
// field out; exported fields of embedded structs are promoted unless a
// shallower field (or, at equal depth, a tagged one) has the same key.
// Fields come sorted by their encoded key: by length, then bytewise.
func structFields(t reflect.Type) []field {
	type candidate struct {
		field
		depth  int
		tagged bool
	}
	var all []candidate
	type level struct {
		t     reflect.Type
		index []int
	}
	current := []level{{t: t}}
	visited := map[reflect.Type]bool{}
	for depth := 0; len(current) > 0; depth++ {
		var next []level
		for _, lv := range current {
			if visited[lv.t] {
				continue
			}
			visited[lv.t] = true
			for i := range lv.t.NumField() {
				sf := lv.t.Field(i)
				tag, tagged := sf.Tag.Lookup("cbor")
				if !tagged {
					tag, tagged = sf.Tag.Lookup("json")
				}
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				index := append(slices.Clone(lv.index), i)
				ft := sf.Type
				if sf.Anonymous {
					et := ft
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if name == "" && et.Kind() == reflect.Struct {
						next = append(next, level{t: et, index: index})
						continue
					}
					if !sf.IsExported() {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				named := name != ""
				if !named {
					name = sf.Name
				}
				f := field{name: name, index: index, typ: ft}
				for opts != "" {
					var o string
					o, opts, _ = strings.Cut(opts, ",")
					switch o {
					case "omitempty":
						f.omitEmpty = true
					case "omitzero":
						f.omitZero = true
					}
				}
				all = append(all, candidate{field: f, depth: depth, tagged: named})
			}
		}
		current = next
	}
	// For each key, keep the dominant field: the shallowest, and among
	// those the only tagged one; a tie drops the key.
	byName := map[string][]candidate{}
	var order []string
	for _, c := range all {
		if _, ok := byName[c.name]; !ok {
			order = append(order, c.name)
		}
		byName[c.name] = append(byName[c.name], c)
	}
	var out []field
	for _, name := range order {
		cs := byName[name]
		minDepth := cs[0].depth
		for _, c := range cs {
			minDepth = min(minDepth, c.depth)
		}
		var top []candidate
		for _, c := range cs {
			if c.depth == minDepth {
				top = append(top, c)
			}
		}
		if len(top) > 1 {
			var tagged []candidate
			for _, c := range top {
				if c.tagged {
					tagged = append(tagged, c)
				}
			}
			top = tagged
		}
		if len(top) == 1 {
			out = append(out, top[0].field)
		}
	}
	SortBy(len(out), func(i, j int) bool { return compareKeys(out[i].name, out[j].name) < 0 },
		func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// fieldFor returns the struct field a map key names: an exact match, or
// else one that matches without regard to case.
func (ti *typeInfo) fieldFor(key []byte) (int, bool) {
	if i, ok := ti.byName[string(key)]; ok {
		return i, true
	}
	for i, f := range ti.fields {
		if strings.EqualFold(f.name, string(key)) {
			return i, true
		}
	}
	return 0, false
}
