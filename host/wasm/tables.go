package wasm

import (
	"errors"
	"fmt"
	"math"
)

// A module's tables live outside its linear memory, on the host's heap:
// wazero holds each entry as one 8-byte reference, allocates a table's
// initial size at instantiation and appends to it on table.grow, up to
// the table's declared maximum or, without one, 2^32-1 entries (32 GiB).
// No wazero setting bounds them (WithMemoryLimitPages is for memories
// only) and a grow cannot be interrupted, so the host bounds them before
// it compiles the module:
//
//   - boundTables gives every table that declares no maximum its initial
//     size as its maximum. The core specification lets table.grow fail
//     (answer -1) whenever an implementation chooses; toolchains that emit
//     tables without a maximum (Go's wasip1 port) never grow them.
//   - tablesCost is what the tables can hold at most, counted against
//     the tenant's memory_limit alongside linear memory (see
//     Module.memoryCap): a module whose tables alone exceed the limit is
//     refused, and its memory may grow only to what they leave.
//
// A grow is then bounded by the limit, so that it ends in milliseconds
// and needs no interruption.

// tableEntryBytes is what wazero holds for one table entry.
const tableEntryBytes = 8

// tableGrowFactor is how many times its entries a growable table may hold
// at once during table.grow: the old array, and a new one of up to twice
// the length Go's append gives it.
const tableGrowFactor = 3

// Binary section ids (WebAssembly core specification 5.5.2).
const (
	sectionImport = 2
	sectionTable  = 4
)

// Import and export kinds.
const (
	externFunc   = 0x00
	externTable  = 0x01
	externMemory = 0x02
	externGlobal = 0x03
	externTag    = 0x04
)

// table is one table a module defines, as its binary declares it.
type table struct {
	min    uint32
	max    uint32
	hasMax bool
}

// cost is the most bytes of the host's heap the table can take.
func (t table) cost() uint64 {
	if !t.hasMax || t.max == t.min { // without a maximum: once bounded
		return uint64(t.min) * tableEntryBytes
	}
	return uint64(t.max) * tableEntryBytes * tableGrowFactor
}

// tablesCost is the most bytes the tables can take together.
func tablesCost(ts []table) uint64 {
	var sum uint64
	for _, t := range ts {
		sum += t.cost()
	}
	return sum
}

// errMalformed is the error of a binary that does not decode where the
// host reads it (see boundTables, instrumentStack); it wraps
// ErrInvalidModule.
var errMalformed = fmt.Errorf("%w: malformed binary", ErrInvalidModule)

// boundTables returns wasm with every table it defines bounded (one that
// declares no maximum gets its initial size as its maximum), and the
// tables as bounded. It refuses a module that imports a table, which
// this host never provides. It decodes only the section headers and the
// import and table sections, and returns wasm itself when no table needs
// a maximum; wazero validates the rest when it compiles the result.
func boundTables(wasm []byte) ([]byte, []table, error) {
	if len(wasm) < 8 || string(wasm[:4]) != string(wasmMagic) {
		return nil, nil, fmt.Errorf("%w: not a WebAssembly binary (it does not start with \\0asm)", ErrInvalidModule)
	}
	d := decoder{b: wasm, off: 8}
	var (
		tables        []table
		tableSection  []byte // the section's contents
		start, end    int    // of the whole table section, id included
		seenImport    bool
		seenTableSect bool
		needsRewrite  bool
	)
	for d.off < len(d.b) {
		at := d.off
		id, err := d.byte()
		if err != nil {
			return nil, nil, d.fail("section id", err)
		}
		size, err := d.u32()
		if err != nil {
			return nil, nil, d.fail("section size", err)
		}
		body, err := d.take(int(size))
		if err != nil {
			return nil, nil, d.fail(fmt.Sprintf("section %d", id), err)
		}
		switch id {
		case sectionImport:
			if seenImport {
				return nil, nil, fmt.Errorf("%w: two import sections", errMalformed)
			}
			seenImport = true
			if err := checkImportedTables(body); err != nil {
				return nil, nil, err
			}
		case sectionTable:
			if seenTableSect {
				return nil, nil, fmt.Errorf("%w: two table sections", errMalformed)
			}
			seenTableSect = true
			tableSection, start, end = body, at, d.off
			ts, rewrite, err := decodeTables(body)
			if err != nil {
				return nil, nil, err
			}
			tables, needsRewrite = ts, rewrite
		}
	}
	if !needsRewrite {
		return wasm, tables, nil
	}
	for i := range tables {
		if !tables[i].hasMax {
			tables[i].max, tables[i].hasMax = tables[i].min, true
		}
	}
	section := encodeTables(tableSection, tables)
	out := make([]byte, 0, len(wasm)+len(section)-(end-start))
	out = append(out, wasm[:start]...)
	out = append(out, section...)
	out = append(out, wasm[end:]...)
	return out, tables, nil
}

// checkImportedTables walks the import section and refuses a table
// import.
func checkImportedTables(body []byte) error {
	d := decoder{b: body}
	n, err := d.count()
	if err != nil {
		return d.fail("import count", err)
	}
	for i := uint32(0); i < n; i++ {
		module, err := d.name()
		if err != nil {
			return d.fail(fmt.Sprintf("import %d module", i), err)
		}
		field, err := d.name()
		if err != nil {
			return d.fail(fmt.Sprintf("import %d name", i), err)
		}
		kind, err := d.byte()
		if err != nil {
			return d.fail(fmt.Sprintf("import %d kind", i), err)
		}
		switch kind {
		case externFunc:
			_, err = d.u32()
		case externTable:
			return fmt.Errorf("%w: it imports a table (%s.%s); this host provides none, a module must define its own",
				ErrInvalidModule, module, field)
		case externMemory:
			err = d.limits(nil)
		case externGlobal:
			if err = d.valType(); err == nil {
				_, err = d.byte() // mutability
			}
		case externTag:
			if _, err = d.byte(); err == nil { // attribute
				_, err = d.u32()
			}
		default:
			return fmt.Errorf("%w: import %d has unknown kind 0x%02x", errMalformed, i, kind)
		}
		if err != nil {
			return d.fail(fmt.Sprintf("import %d (%s.%s)", i, module, field), err)
		}
	}
	return d.done("import section")
}

// decodeTables decodes the contents of a table section, and says whether
// a table declares no maximum.
func decodeTables(body []byte) ([]table, bool, error) {
	d := decoder{b: body}
	n, err := d.count()
	if err != nil {
		return nil, false, d.fail("table count", err)
	}
	ts := make([]table, 0, n)
	unbounded := false
	for i := uint32(0); i < n; i++ {
		var t table
		if _, _, err := d.table(&t); err != nil {
			return nil, false, d.fail(fmt.Sprintf("table %d", i), err)
		}
		unbounded = unbounded || !t.hasMax
		ts = append(ts, t)
	}
	if err := d.done("table section"); err != nil {
		return nil, false, err
	}
	return ts, unbounded, nil
}

// encodeTables re-encodes a table section (id and size included) from its
// contents, with each table's limits replaced by those of ts (the tables
// decodeTables read from body, each given a maximum).
func encodeTables(body []byte, ts []table) []byte {
	d := decoder{b: body}
	_, _ = d.u32()
	out := appendU32(nil, uint32(len(ts)))
	for i := range ts {
		var t table
		begin := d.off
		limitsAt, limitsEnd, _ := d.table(&t) // decodeTables read it
		out = append(out, body[begin:limitsAt]...)
		out = append(out, 0x01)
		out = appendU32(out, ts[i].min)
		out = appendU32(out, ts[i].max)
		out = append(out, body[limitsEnd:d.off]...)
	}
	section := append([]byte{sectionTable}, appendU32(nil, uint32(len(out)))...)
	return append(section, out...)
}

// decoder reads a WebAssembly binary; off is where the next read starts.
type decoder struct {
	b   []byte
	off int
}

var errEOF = errors.New("unexpected end")

func (d *decoder) fail(what string, err error) error {
	return fmt.Errorf("%w: %s at byte %d: %v", errMalformed, what, d.off, err)
}

func (d *decoder) done(what string) error {
	if d.off != len(d.b) {
		return fmt.Errorf("%w: %s has %d bytes past its end", errMalformed, what, len(d.b)-d.off)
	}
	return nil
}

func (d *decoder) byte() (byte, error) {
	if d.off >= len(d.b) {
		return 0, errEOF
	}
	d.off++
	return d.b[d.off-1], nil
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, fmt.Errorf("%d bytes wanted, %d left", n, len(d.b)-d.off)
	}
	d.off += n
	return d.b[d.off-n : d.off], nil
}

// u32 reads an unsigned LEB128 of at most 32 bits (5 bytes).
func (d *decoder) u32() (uint32, error) {
	var v uint64
	for i := 0; i < 5; i++ {
		c, err := d.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if v > math.MaxUint32 {
				return 0, errors.New("integer too large")
			}
			return uint32(v), nil
		}
	}
	return 0, errors.New("integer representation too long")
}

// sleb skips a signed LEB128 of at most n bits.
func (d *decoder) sleb(bits int) error {
	for i := 0; i < (bits+6)/7; i++ {
		c, err := d.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return errors.New("integer representation too long")
}

// errCount is the error of a vector that counts more entries than it
// has bytes left: a count a valid binary cannot have, which the host
// refuses before wazero sizes anything by it.
var errCount = errors.New("more entries than bytes left")

// count reads a vector's count, each entry taking at least one byte.
func (d *decoder) count() (uint32, error) {
	n, err := d.u32()
	if err == nil && uint64(n) > uint64(len(d.b)-d.off) {
		return 0, fmt.Errorf("%d entries: %w (%d)", n, errCount, len(d.b)-d.off)
	}
	return n, err
}

func (d *decoder) name() (string, error) {
	n, err := d.u32()
	if err != nil {
		return "", err
	}
	b, err := d.take(int(n))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Reference type encodings: the short forms and the prefixes of the
// typed function references proposal, which wazero also decodes.
const (
	refNullable    = 0x63
	refNonNullable = 0x64
)

// valType skips a value type.
func (d *decoder) valType() error {
	c, err := d.byte()
	if err != nil {
		return err
	}
	if c == refNullable || c == refNonNullable {
		return d.sleb(33) // heap type
	}
	return nil
}

// limits reads a limits pair into t (nil: skips it).
func (d *decoder) limits(t *table) error {
	flag, err := d.byte()
	if err != nil {
		return err
	}
	if flag > 0x03 {
		return fmt.Errorf("limits flag 0x%02x not in 0x00..0x03", flag)
	}
	min, err := d.u32()
	if err != nil {
		return err
	}
	var max uint32
	if flag&0x01 != 0 {
		if max, err = d.u32(); err != nil {
			return err
		}
		if max < min {
			return fmt.Errorf("maximum %d below minimum %d", max, min)
		}
	}
	if t != nil {
		*t = table{min: min, max: max, hasMax: flag&0x01 != 0}
	}
	return nil
}

// table reads one table type into t, with its initializer when it has
// one, and returns where its limits start and end.
func (d *decoder) table(t *table) (limitsAt, limitsEnd int, err error) {
	c, err := d.byte()
	if err != nil {
		return 0, 0, err
	}
	withInit := false
	if c == 0x40 {
		if c, err = d.byte(); err != nil {
			return 0, 0, err
		}
		if c != 0x00 {
			return 0, 0, fmt.Errorf("byte 0x%02x after 0x40, want 0x00", c)
		}
		withInit = true
	} else {
		d.off--
	}
	if err := d.valType(); err != nil {
		return 0, 0, err
	}
	limitsAt = d.off
	if err := d.limits(t); err != nil {
		return 0, 0, err
	}
	limitsEnd = d.off
	if withInit {
		if err := d.constExpr(); err != nil {
			return 0, 0, fmt.Errorf("initializer: %w", err)
		}
	}
	return limitsAt, limitsEnd, nil
}

// constExpr skips a constant expression up to and including its end.
func (d *decoder) constExpr() error {
	for {
		op, err := d.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b: // end
			return nil
		case 0x41: // i32.const
			err = d.sleb(32)
		case 0x42: // i64.const
			err = d.sleb(64)
		case 0x43: // f32.const
			_, err = d.take(4)
		case 0x44: // f64.const
			_, err = d.take(8)
		case 0x23, 0xd2: // global.get, ref.func
			_, err = d.u32()
		case 0xd0: // ref.null
			err = d.sleb(33)
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended constants: add, sub, mul
		default:
			return fmt.Errorf("opcode 0x%02x in a constant expression", op)
		}
		if err != nil {
			return err
		}
	}
}

// appendU32 appends v as an unsigned LEB128.
func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// memoryCap is what the tables ts leave of the memory limit for linear
// memory, in whole pages. It refuses tables that can take the whole
// limit.
func memoryCap(lim Limits, ts []table) (uint64, error) {
	cost := tablesCost(ts)
	if cost >= lim.MemoryLimit {
		var entries uint64
		for _, t := range ts {
			entries += uint64(max(t.min, t.max))
		}
		return 0, fmt.Errorf("%w: its tables can take %s (%d entries, at %d bytes each, %d for one a table can grow to), the limit is %s; declare smaller maximums",
			ErrMemoryLimit, formatSize(cost), entries, tableEntryBytes, tableEntryBytes*tableGrowFactor, formatBytes(lim.MemoryLimit))
	}
	return (lim.MemoryLimit - cost) &^ (pageSize - 1), nil
}

// formatSize writes a byte count to the nearest unit, rounded up.
func formatSize(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%dGiB", (n+1<<30-1)>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", (n+1<<20-1)>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", (n+1<<10-1)>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
