;; table_max.wat: a table that may grow to 2^32-1 entries (32 GiB of the
;; host's memory); the host refuses it whatever the rest of the module.
(module
  (memory (export "memory") 1)
  (table 1 0xffffffff funcref))
