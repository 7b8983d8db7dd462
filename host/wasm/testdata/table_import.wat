;; table_import.wat: imports a table, which this host never provides.
(module
  (import "wasmrpc" "table" (table 1 funcref))
  (memory (export "memory") 1))
