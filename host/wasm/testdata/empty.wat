;; empty.wat: a valid WebAssembly module that exports nothing.
(module)
