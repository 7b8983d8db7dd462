// Package tests holds wasmrpcd's end-to-end tests: the daemon binary built
// from this checkout, the real RabbitMQ broker (AMQP_URL, default
// amqp://guest:guest@127.0.0.1:5672/) and the real Python oslo.messaging
// (Debian's /usr/bin/python3 with python3-oslo.messaging, which `make deps`
// installs), driven through tests/python.
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
