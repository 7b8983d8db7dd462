package daemon

import (
	"runtime"
	"syscall"
	"testing"
)

// TestInBackground: f runs, on a thread 10 nicer than the caller's, and
// inBackground returns once it has.
func TestInBackground(t *testing.T) {
	// getpriority(2) answers 20 - nice.
	nice := func() int {
		p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
		if err != nil {
			t.Fatal(err)
		}
		return 20 - p
	}
	runtime.LockOSThread()
	before := nice()
	runtime.UnlockOSThread()
	ran, inside := false, 0
	inBackground(func() {
		ran, inside = true, nice()
	})
	if want := min(before+10, 19); !ran || inside != want {
		t.Errorf("ran %v at nice %d, want nice %d", ran, inside, want)
	}
}
