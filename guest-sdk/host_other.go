//go:build !wasip1

package sdk

import (
	"fmt"
	"os"
)

// hostLog writes to standard error outside wasm.
func hostLog(level Level, msg string) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", level, msg)
}

// Outside wasm there is no host to ask.
func exchangeCall([]byte) ([]byte, error)   { return nil, ErrNoHost }
func exchangeCast([]byte) ([]byte, error)   { return nil, ErrNoHost }
func exchangeNotify([]byte) ([]byte, error) { return nil, ErrNoHost }
