// Package benchkit holds what the benchmark commands of tests/bench share:
// a wasmrpcd daemon process started on a config, latency quantiles, and
// the deletion of the queues and exchanges a run declared.
package benchkit
