;; table_big.wat: a table of 2^27 entries at its start (1 GiB of the
;; host's memory), without a maximum; the host refuses it.
(module
  (memory (export "memory") 1)
  (table 0x8000000 funcref))
