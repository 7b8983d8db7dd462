// Package tests holds wasmrpcd's end-to-end tests: the daemon binary built
// from this checkout, the real RabbitMQ broker (AMQP_URL, default
// amqp://guest:guest@127.0.0.1:5672/) and the real Python oslo.messaging,
// driven through tests/python: Debian's 14.0.3 (python3-oslo.messaging,
// which `make deps` installs) and 18.1.0, what current OpenStack runs,
// from its source tarball (internal/oslopeer; its cases skip, saying so,
// where the tarball is absent, and fail in CI).
//
// The suites that compare with Python run against both peers; the
// options that 16 to 18 added, alone and as Kolla Ansible sets them, run
// against 18.1.0 (kolla_test.go).
//
// The differential tests run each case against a Python oslo.messaging
// server serving tests/python/testkit_endpoint.py and against wasmrpcd
// serving modules/testkit, with the same Python client, and require equal
// outcomes. The fault test closes every connection of the broker and
// restarts it, so it runs only with WASMRPCD_FAULT_TESTS=1, which `make
// test` sets in a serial step of its own.
//
// Every test declares its own control exchange and topics, with a random
// suffix, and deletes them at the end: the broker is shared with the other
// packages' tests running at the same time.
package tests
