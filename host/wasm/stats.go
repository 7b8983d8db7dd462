package wasm

// Instances returns how many instances the module has: idle, busy or being
// made.
func (m *Module) Instances() int {
	m.pool.mu.Lock()
	defer m.pool.mu.Unlock()
	return m.pool.live
}
