package wasm

import (
	"github.com/tetratelabs/wazero/experimental"
)

// cappedMemory backs one instance's linear memory and enforces the memory
// limit itself, so that the host can tell a call that failed because the
// guest hit the limit (memory.grow answered -1) from any other failure.
//
// wazero's own limit (RuntimeConfig.WithMemoryLimitPages) refuses a grow
// before any hook sees it; a guest whose single large grow is refused
// would then look like any other trap. The runtime therefore keeps
// wazero's limit at the wasm32 maximum and this allocator refuses the
// grows past the tenant's limit, remembering that it did.
//
// It is used by one goroutine at a time, that of the call running in the
// instance, so it needs no lock.
type cappedMemory struct {
	buf   []byte
	limit uint64
	// refused is set when a grow past limit was refused; the host clears
	// it before each call.
	refused bool
}

var _ experimental.LinearMemory = (*cappedMemory)(nil)

func newCappedMemory(limit, capacity uint64) *cappedMemory {
	if capacity > limit {
		capacity = limit
	}
	return &cappedMemory{buf: make([]byte, 0, capacity), limit: limit}
}

// Reallocate implements experimental.LinearMemory: it returns the memory
// grown to size bytes, keeping its contents, or nil past the limit.
func (m *cappedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused = true
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		// Memory never shrinks, so bytes past the old length were never
		// exposed and are still zero.
		m.buf = m.buf[:size]
		return m.buf
	}
	// Grow by at least a quarter to keep repeated small grows linear,
	// within the limit.
	capacity := uint64(cap(m.buf)) + uint64(cap(m.buf))/4
	if capacity < size {
		capacity = size
	}
	if capacity > m.limit {
		capacity = m.limit
	}
	buf := make([]byte, size, capacity)
	copy(buf, m.buf)
	m.buf = buf
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *cappedMemory) Free() { m.buf = nil }
