package wasm

import (
	"fmt"
	"math"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// A guest's call stack lives outside its linear memory too: wazero's
// compiler (wazevo) runs each exported function on a stack of its own, a
// Go byte slice that starts at 10 KiB and doubles whenever a call needs
// more, up to a ceiling of about 80 MiB (so about 120 MiB at once while
// it copies the last time), which no setting lowers. An instance keeps
// the stack of each export it was called through for as long as it
// lives.
//
// The host therefore counts the stack itself. instrumentStack rewrites
// every function the module defines so that, on entry, it takes its
// frame's weight (frameWeight: a bound on what its frame can hold) from
// a budget, a mutable global the host sets to Limits.StackLimit, and
// traps when the budget runs out; it gives the weight back on its way
// out. A second global keeps the budget's low-water mark, so that the
// host can tell how deep a call went (see instance.stackUsed).
//
// The rewrite of each function body:
//
//	global.get $left  i32.const -W  i32.add  global.set $left
//	global.get $left  i32.const 0  i32.lt_s  if  unreachable  end
//	global.get $left  global.get $low  i32.lt_s  if  global.get $left  global.set $low  end
//	block (result …)          ;; the function's results
//	  … the body, each `return` made a `br` to this block …
//	end
//	global.get $left  i32.const W  i32.add  global.set $left
//	end
//
// A module's own code cannot reach the globals: an index of them would be
// out of range in the module as it was, and is refused.
//
// A branch to the function's own label now ends the block and so passes
// through the epilogue, as does a return; only a trap leaves without
// giving the weight back, and a trap discards the instance. The globals
// (and the block types of functions with several results) are appended
// after the module's own, so no index the module uses changes, and the
// globals are exported under names the host reserves (exportStackLeft,
// exportStackLow). A call past the budget fails with ErrMemoryLimit.
//
// The instrumentation decodes every instruction, so it knows those of
// WebAssembly 2.0, the core features the host enables, and refuses any
// other (exception handling, tail calls, threads, GC), which wazero would
// refuse too. It costs a few instructions a call (see BENCHMARKS.md).
//
// A start function (the binary's start section) runs while wazero
// instantiates, before the host sets the budget: on DefaultStackLimit,
// the globals' initial value.
//
// wazero's ceiling stays, as a second bound: no stack grows past it
// whatever the count.

// Export names of the stack budget's globals.
const (
	exportStackLeft = "wasmrpcd.stack_left"
	exportStackLow  = "wasmrpcd.stack_low"
)

// Binary section ids the stack instrumentation rewrites.
const (
	sectionType     = 1
	sectionFunction = 3
	sectionGlobal   = 6
	sectionExport   = 7
	sectionCode     = 10
)

// Limits of a function, those of V8 (and so of every browser that runs
// WebAssembly), which no toolchain's output passes: past them, wazero's
// compiler would size its work by counts a module of a few bytes can
// declare, and no frame would fit in a stack budget anyway.
const (
	maxLocals  = 50000
	maxParams  = 1000
	maxResults = 1000
)

// sectionOrder is the position of each known section id in a binary.
var sectionOrder = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

// frameWeight bounds the bytes of a frame of a function with n
// parameters and locals and a body of size bytes, in a module whose
// function types have at most sig parameters and results together and at
// most results results: 16 bytes for each parameter and local (a v128
// takes 16); 8 for each value an instruction yields, which the compiler
// may spill to a slot of its own, an instruction taking at least one byte
// and yielding at most results values (one, or a call's or a block's
// results); 16 for each argument and result of the largest signature,
// for the space a call passes them in; and what each frame holds
// whatever its code (return address, frame pointer, saved registers).
func frameWeight(n uint64, size int, sig, results uint64) uint64 {
	const frameBase = 256
	w := frameBase + 16*n + 16*sig + 8*uint64(size)*max(results, 1)
	return min(w, math.MaxInt32/2)
}

type rawSection struct {
	id   byte
	body []byte
}

// instrumentStack returns wasm with the stack budget woven into every
// function it defines (see above), or an error for a binary it cannot
// decode, one that already exports the budget's names, or one that uses
// instructions of proposals this host does not enable.
func instrumentStack(wasm []byte, initial int32) ([]byte, error) {
	out, _, err := instrumentFrames(wasm, initial)
	return out, err
}

// instrumentFrames is instrumentStack that also returns the largest
// weight of a frame.
func instrumentFrames(wasm []byte, initial int32) (_ []byte, maxFrame uint64, err error) {
	if len(wasm) < 8 {
		return nil, 0, fmt.Errorf("%w: not a WebAssembly binary", ErrInvalidModule)
	}
	var sections []rawSection
	d := decoder{b: wasm, off: 8}
	for d.off < len(d.b) {
		id, err := d.byte()
		if err != nil {
			return nil, 0, d.fail("section id", err)
		}
		size, err := d.u32()
		if err != nil {
			return nil, 0, d.fail("section size", err)
		}
		body, err := d.take(int(size))
		if err != nil {
			return nil, 0, d.fail(fmt.Sprintf("section %d", id), err)
		}
		if _, vector := sectionOrder[id]; vector && id != 8 && id != 12 {
			// Every section but start and data count is a vector: a
			// count past its bytes is refused before wazero sizes
			// anything by it.
			vd := decoder{b: body}
			if _, err := vd.count(); err != nil {
				return nil, 0, d.fail(fmt.Sprintf("section %d", id), err)
			}
		}
		sections = append(sections, rawSection{id, body})
	}
	find := func(id byte) int {
		for i, s := range sections {
			if s.id == id {
				return i
			}
		}
		return -1
	}

	var types []funcType
	if i := find(sectionType); i >= 0 {
		var err error
		if types, err = decodeTypes(sections[i].body); err != nil {
			return nil, 0, err
		}
	}
	importedGlobals, err := countImports(sections, find(sectionImport))
	if err != nil {
		return nil, 0, err
	}
	var funcTypes []uint32
	if i := find(sectionFunction); i >= 0 {
		if funcTypes, err = decodeIndices(sections[i].body, "function section"); err != nil {
			return nil, 0, err
		}
	}
	if find(sectionCode) < 0 && len(funcTypes) > 0 {
		return nil, 0, fmt.Errorf("%w: %d functions and no code section", errMalformed, len(funcTypes))
	}

	// The globals: appended after the module's own.
	var definedGlobals uint32
	gi := find(sectionGlobal)
	if gi >= 0 {
		gd := decoder{b: sections[gi].body}
		if definedGlobals, err = gd.count(); err != nil {
			return nil, 0, gd.fail("global count", err)
		}
	}
	left := importedGlobals + definedGlobals
	low := left + 1
	global := []byte{0x7f, 0x01, 0x41}
	global = appendS32(global, initial)
	global = append(global, 0x0b)
	globals := appendU32(nil, definedGlobals+2)
	if gi >= 0 {
		gd := decoder{b: sections[gi].body}
		_, _ = gd.u32()
		globals = append(globals, sections[gi].body[gd.off:]...)
	}
	globals = append(globals, global...)
	globals = append(globals, global...)
	sections = placeSection(sections, rawSection{sectionGlobal, globals})

	// The exports.
	exports, err := appendExports(sections, find(sectionExport), []string{exportStackLeft, exportStackLow}, []uint32{left, low})
	if err != nil {
		return nil, 0, err
	}
	sections = placeSection(sections, rawSection{sectionExport, exports})

	// The code, with the block types it needs for multi-value results.
	blockTypes := map[int]uint32{} // type index -> index of the type [] -> results
	nTypes := uint32(len(types))
	var newTypes []byte
	blockType := func(typeIdx uint32) ([]byte, error) {
		if int(typeIdx) >= len(types) {
			return nil, fmt.Errorf("%w: type index %d out of range", errMalformed, typeIdx)
		}
		results := types[typeIdx].results
		rd := decoder{b: results}
		n, _ := rd.u32()
		switch n {
		case 0:
			return []byte{0x40}, nil
		case 1:
			return results[rd.off:], nil
		}
		idx, ok := blockTypes[int(typeIdx)]
		if !ok {
			idx = nTypes
			nTypes++
			blockTypes[int(typeIdx)] = idx
			newTypes = append(append(newTypes, 0x60, 0x00), results...)
		}
		return appendS32(nil, int32(idx)), nil
	}
	if code := find(sectionCode); code >= 0 {
		out, w, err := instrumentCode(sections[code].body, funcTypes, types, blockType, left, low)
		if err != nil {
			return nil, 0, err
		}
		maxFrame = w
		sections[code].body = out
	}
	if len(newTypes) > 0 {
		ti := find(sectionType)
		td := decoder{b: sections[ti].body}
		_, _ = td.u32()
		body := appendU32(nil, nTypes)
		body = append(body, sections[ti].body[td.off:]...)
		sections[ti].body = append(body, newTypes...)
	}

	res := append([]byte(nil), wasm[:8]...)
	for _, s := range sections {
		res = append(res, s.id)
		res = appendU32(res, uint32(len(s.body)))
		res = append(res, s.body...)
	}
	return res, maxFrame, nil
}

// placeSection replaces the section of s's id, or inserts s where its id
// belongs.
func placeSection(sections []rawSection, s rawSection) []rawSection {
	for i := range sections {
		if sections[i].id == s.id {
			sections[i] = s
			return sections
		}
	}
	at := len(sections)
	for i, x := range sections {
		if o, ok := sectionOrder[x.id]; ok && o > sectionOrder[s.id] {
			at = i
			break
		}
	}
	return append(sections[:at], append([]rawSection{s}, sections[at:]...)...)
}

// funcType is what the instrumentation needs of a function type.
type funcType struct {
	params  uint64
	results []byte // encoded as a vector
}

// decodeTypes decodes a type section.
func decodeTypes(body []byte) ([]funcType, error) {
	d := decoder{b: body}
	n, err := d.count()
	if err != nil {
		return nil, d.fail("type count", err)
	}
	types := make([]funcType, 0, n)
	for i := uint32(0); i < n; i++ {
		form, err := d.byte()
		if err != nil {
			return nil, d.fail("type form", err)
		}
		if form != 0x60 {
			return nil, fmt.Errorf("%w: type %d has form 0x%02x, not a function type", errMalformed, i, form)
		}
		pd := decoder{b: body, off: d.off}
		params, _ := pd.u32()
		if err := d.valTypes(); err != nil {
			return nil, d.fail(fmt.Sprintf("type %d parameters", i), err)
		}
		at := d.off
		rd := decoder{b: body, off: d.off}
		results, _ := rd.u32()
		if err := d.valTypes(); err != nil {
			return nil, d.fail(fmt.Sprintf("type %d results", i), err)
		}
		if params > maxParams || results > maxResults {
			return nil, fmt.Errorf("%w: type %d has %d parameters and %d results; the host allows at most %d and %d",
				ErrInvalidModule, i, params, results, maxParams, maxResults)
		}
		types = append(types, funcType{uint64(params), body[at:d.off]})
	}
	return types, d.done("type section")
}

func (d *decoder) valTypes() error {
	n, err := d.count()
	if err != nil {
		return err
	}
	for j := uint32(0); j < n; j++ {
		if err := d.valType(); err != nil {
			return err
		}
	}
	return nil
}

// countImports counts the globals the module imports.
func countImports(sections []rawSection, i int) (globals uint32, err error) {
	if i < 0 {
		return 0, nil
	}
	d := decoder{b: sections[i].body}
	n, err := d.count()
	if err != nil {
		return 0, d.fail("import count", err)
	}
	for j := uint32(0); j < n; j++ {
		if _, err := d.name(); err != nil {
			return 0, d.fail("import module", err)
		}
		if _, err := d.name(); err != nil {
			return 0, d.fail("import name", err)
		}
		kind, err := d.byte()
		if err != nil {
			return 0, d.fail("import kind", err)
		}
		switch kind {
		case externFunc:
			_, err = d.u32()
		case externTable:
			_, _, err = d.table(nil)
		case externMemory:
			err = d.limits(nil)
		case externGlobal:
			globals++
			if err = d.valType(); err == nil {
				_, err = d.byte()
			}
		case externTag:
			if _, err = d.byte(); err == nil {
				_, err = d.u32()
			}
		default:
			return 0, fmt.Errorf("%w: import %d has unknown kind 0x%02x", errMalformed, j, kind)
		}
		if err != nil {
			return 0, d.fail(fmt.Sprintf("import %d", j), err)
		}
	}
	return globals, d.done("import section")
}

func decodeIndices(body []byte, what string) ([]uint32, error) {
	d := decoder{b: body}
	n, err := d.count()
	if err != nil {
		return nil, d.fail(what, err)
	}
	out := make([]uint32, n)
	for i := range out {
		if out[i], err = d.u32(); err != nil {
			return nil, d.fail(what, err)
		}
	}
	return out, d.done(what)
}

// appendExports returns the export section's contents with exports of
// the given globals appended.
func appendExports(sections []rawSection, i int, names []string, globals []uint32) ([]byte, error) {
	var n uint32
	var rest []byte
	if i >= 0 {
		d := decoder{b: sections[i].body}
		var err error
		if n, err = d.count(); err != nil {
			return nil, d.fail("export count", err)
		}
		rest = sections[i].body[d.off:]
		for j := uint32(0); j < n; j++ {
			name, err := d.name()
			if err != nil {
				return nil, d.fail("export name", err)
			}
			for _, reserved := range names {
				if name == reserved {
					return nil, fmt.Errorf("%w: it exports %q, a name the host reserves", ErrInvalidModule, name)
				}
			}
			if _, err := d.byte(); err != nil {
				return nil, d.fail("export kind", err)
			}
			if _, err := d.u32(); err != nil {
				return nil, d.fail("export index", err)
			}
		}
		if err := d.done("export section"); err != nil {
			return nil, err
		}
	}
	out := appendU32(nil, n+uint32(len(names)))
	out = append(out, rest...)
	for j, name := range names {
		out = appendU32(out, uint32(len(name)))
		out = append(out, name...)
		out = append(out, externGlobal)
		out = appendU32(out, globals[j])
	}
	return out, nil
}

// instrumentCode rewrites a code section's contents, and returns the
// largest weight of a frame.
func instrumentCode(body []byte, funcTypes []uint32, types []funcType, blockType func(uint32) ([]byte, error), left, low uint32) ([]byte, uint64, error) {
	d := decoder{b: body}
	n, err := d.count()
	if err != nil {
		return nil, 0, d.fail("code count", err)
	}
	if int(n) != len(funcTypes) {
		return nil, 0, fmt.Errorf("%w: %d function bodies for %d functions", errMalformed, n, len(funcTypes))
	}
	var sig, results, maxFrame uint64
	for _, t := range types {
		rd := decoder{b: t.results}
		r, _ := rd.u32()
		sig = max(sig, t.params+uint64(r))
		results = max(results, uint64(r))
	}
	out := appendU32(make([]byte, 0, len(body)+int(n)*48), n)
	var fn []byte
	for i := uint32(0); i < n; i++ {
		size, err := d.u32()
		if err != nil {
			return nil, 0, d.fail(fmt.Sprintf("function %d size", i), err)
		}
		b, err := d.take(int(size))
		if err != nil {
			return nil, 0, d.fail(fmt.Sprintf("function %d", i), err)
		}
		if int(funcTypes[i]) >= len(types) {
			return nil, 0, fmt.Errorf("%w: function %d has type %d of %d", errMalformed, i, funcTypes[i], len(types))
		}
		bt, err := blockType(funcTypes[i])
		if err != nil {
			return nil, 0, err
		}
		var w uint64
		if fn, w, err = instrumentBody(fn[:0], b, bt, types[funcTypes[i]].params, sig, results, left, low); err != nil {
			return nil, 0, fmt.Errorf("%w: function %d: %w", errMalformed, i, err)
		}
		maxFrame = max(maxFrame, w)
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	return out, maxFrame, d.done("code section")
}

// instrumentBody appends to out the body b of one function, rewritten.
func instrumentBody(out, b, bt []byte, params, sig, results uint64, left, low uint32) ([]byte, uint64, error) {
	d := decoder{b: b}
	groups, err := d.count()
	if err != nil {
		return nil, 0, err
	}
	var locals uint64
	for g := uint32(0); g < groups; g++ {
		c, err := d.u32()
		if err != nil {
			return nil, 0, err
		}
		if err := d.valType(); err != nil {
			return nil, 0, err
		}
		locals += uint64(c)
		if locals > maxLocals {
			return nil, 0, fmt.Errorf("more than %d locals; the host allows at most %d", maxLocals, maxLocals)
		}
	}
	w := int32(frameWeight(params+locals, len(b), sig, results))
	out = append(out, b[:d.off]...)
	// Prologue.
	out = appendGlobalAdd(out, left, -w)
	out = append(out, 0x23)
	out = appendU32(out, left)
	out = append(out, 0x41, 0x00, 0x48, 0x04, 0x40, 0x00, 0x0b)
	out = append(out, 0x23)
	out = appendU32(out, left)
	out = append(out, 0x23)
	out = appendU32(out, low)
	out = append(out, 0x48, 0x04, 0x40, 0x23)
	out = appendU32(out, left)
	out = append(out, 0x24)
	out = appendU32(out, low)
	out = append(out, 0x0b)
	out = append(out, 0x02)
	out = append(out, bt...)
	// The body: its final end closes the block.
	depth := 0
	for {
		at := d.off
		op, err := d.byte()
		if err != nil {
			return nil, 0, err
		}
		switch op {
		case 0x0f: // return: a branch to the block
			out = append(out, 0x0c)
			out = appendU32(out, uint32(depth))
			continue
		case 0x02, 0x03, 0x04: // block, loop, if
			depth++
		case 0x23, 0x24: // global.get, global.set
			// The budget's globals come after the module's own: an index
			// of them is out of range in the module as it was, and would
			// let it reset its own budget.
			g, err := d.u32()
			if err != nil {
				return nil, 0, err
			}
			if g >= left {
				return nil, 0, fmt.Errorf("global index %d out of range (%d globals)", g, left)
			}
			out = append(out, b[at:d.off]...)
			continue
		case 0x0b: // end
			if depth == 0 {
				if d.off != len(b) {
					return nil, 0, fmt.Errorf("%d bytes past the end of the body", len(b)-d.off)
				}
				out = append(out, 0x0b)
				out = appendGlobalAdd(out, left, w)
				return append(out, 0x0b), uint64(w), nil
			}
			depth--
		}
		if err := d.immediates(op); err != nil {
			return nil, 0, fmt.Errorf("instruction 0x%02x at byte %d: %w", op, at, err)
		}
		out = append(out, b[at:d.off]...)
	}
}

// appendGlobalAdd appends global.get g, i32.const v, i32.add, global.set g.
func appendGlobalAdd(out []byte, g uint32, v int32) []byte {
	out = append(out, 0x23)
	out = appendU32(out, g)
	out = append(out, 0x41)
	out = appendS32(out, v)
	out = append(out, 0x6a, 0x24)
	return appendU32(out, g)
}

// appendS32 appends v as a signed LEB128.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// immediates skips the immediates of the instruction op, whose opcode
// was just read. It knows the instructions of WebAssembly 2.0 (the core
// features this host enables) and fails on any other.
func (d *decoder) immediates(op byte) error {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block types
		c, err := d.byte()
		if err != nil {
			return err
		}
		switch {
		case c == 0x40, c >= 0x6f && c <= 0x7f:
			return nil
		case c == refNullable || c == refNonNullable:
			return d.sleb(33)
		}
		d.off--
		return d.sleb(33) // a type index
	case op == 0x0c || op == 0x0d || op == 0x10 || (op >= 0x20 && op <= 0x26) || op == 0xd2:
		_, err := d.u32()
		return err
	case op == 0x0e: // br_table
		n, err := d.count()
		if err != nil {
			return err
		}
		for i := uint64(0); i <= uint64(n); i++ {
			if _, err := d.u32(); err != nil {
				return err
			}
		}
		return nil
	case op == 0x11: // call_indirect
		if _, err := d.u32(); err != nil {
			return err
		}
		_, err := d.u32()
		return err
	case op == 0x1c: // select t*
		return d.valTypes()
	case op >= 0x28 && op <= 0x3e:
		return d.memarg()
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		_, err := d.u32()
		return err
	case op == 0x41:
		return d.sleb(32)
	case op == 0x42:
		return d.sleb(64)
	case op == 0x43:
		_, err := d.take(4)
		return err
	case op == 0x44:
		_, err := d.take(8)
		return err
	case op == 0xd0: // ref.null
		return d.sleb(33)
	case op == 0xfc:
		return d.prefixedFC()
	case op == 0xfd:
		return d.prefixedFD()
	case op <= 0x01, op == 0x05, op == 0x0b, op == 0x1a, op == 0x1b,
		op >= 0x45 && op <= 0xc4, op == 0xd1:
		return nil
	}
	return fmt.Errorf("opcode 0x%02x is not one of WebAssembly 2.0", op)
}

func (d *decoder) memarg() error {
	align, err := d.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 { // multiple memories: a memory index
		if _, err := d.u32(); err != nil {
			return err
		}
	}
	_, err = d.u32()
	return err
}

func (d *decoder) prefixedFC() error {
	sub, err := d.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // saturating truncations
		return nil
	case sub == 9 || sub == 11 || sub == 13 || (sub >= 15 && sub <= 17):
		_, err := d.u32()
		return err
	case sub == 8 || sub == 10 || sub == 12 || sub == 14:
		if _, err := d.u32(); err != nil {
			return err
		}
		_, err := d.u32()
		return err
	}
	return fmt.Errorf("instruction 0xfc %d is not one of WebAssembly 2.0", sub)
}

func (d *decoder) prefixedFD() error {
	sub, err := d.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 11 || sub == 92 || sub == 93: // loads and stores
		return d.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		_, err := d.take(16)
		return err
	case sub >= 21 && sub <= 34: // lanes
		_, err := d.byte()
		return err
	case sub >= 84 && sub <= 91: // lane loads and stores
		if err := d.memarg(); err != nil {
			return err
		}
		_, err := d.byte()
		return err
	case sub <= 255:
		return nil
	}
	return fmt.Errorf("instruction 0xfd %d is not one of WebAssembly 2.0", sub)
}

// sandboxed is what sandbox makes of a module.
type sandboxed struct {
	wasm   []byte  // what the host compiles
	tables []table // the tables, as bounded
	// maxFrame is the largest weight of a frame of the module's
	// functions (see frameWeight).
	maxFrame uint64
}

// sandbox returns the bytes the host compiles for a module's bytes: its
// tables bounded (see boundTables) and its stack counted (see
// instrumentStack). It depends on nothing but wasm, so that a compiler
// process and the Runtime compile the same bytes.
func sandbox(wasm []byte) (sandboxed, error) {
	bounded, tables, err := boundTables(wasm)
	if err != nil {
		return sandboxed{}, err
	}
	out, maxFrame, err := instrumentFrames(bounded, DefaultStackLimit)
	if err != nil {
		return sandboxed{}, err
	}
	return sandboxed{out, tables, maxFrame}, nil
}

// stackKeep bounds, in the host's count, the stacks an instance keeps
// between calls: wazero keeps each export's stack at the largest it grew
// to, for the life of the instance. When the deepest calls of its
// exports add up to more, the host drops the functions, and with them
// their stacks: a function looked up again starts on a new 10 KiB stack.
const stackKeep = 1 << 20

// Slots of instance.stackPeaks past the manifest's exports.
const (
	slotAlloc = iota
	slotFree
	slotsExtra
)

// stackUsed records, after a call that returned, how deep the function
// in slot went (the manifest's exports by index, then slotAlloc and
// slotFree past them), and trims the instance's stacks past stackKeep.
func (in *instance) stackUsed(slot int) {
	lim := in.m.lim.StackLimit
	used := lim - uint64(int64(int32(in.stackLow.Get())))
	if used <= in.stackPeaks[slot] {
		return
	}
	in.stackKept += used - in.stackPeaks[slot]
	in.stackPeaks[slot] = used
	if in.stackKept > stackKeep {
		in.trimStacks()
	}
}

// trimStacks looks up the instance's functions again, on new stacks.
func (in *instance) trimStacks() {
	in.alloc = in.mod.ExportedFunction(abi.ExportAlloc)
	in.free = in.mod.ExportedFunction(abi.ExportFree)
	if in.fns != nil {
		in.resolve(in.m.exportNames)
	}
	clear(in.stackPeaks)
	in.stackKept = 0
}
