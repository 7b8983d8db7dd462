//go:build !linux

package nice

// lower does nothing where thread priorities are not set per thread.
func lower(int) {}

func threadNice() (int, error) { return 0, nil }
