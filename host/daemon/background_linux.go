package daemon

import (
	"runtime"
	"syscall"
)

// inBackground runs f on an OS thread of its own, 10 nicer than the
// daemon, and waits for it: the CPU a swap's loading takes (reading the compiled module
// from the cache, instantiating the new version) is then what the calls
// of the modules serving leave. The thread ends with f.
func inBackground(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // not unlocked: the thread exits with this goroutine
		tid := syscall.Gettid()
		if p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid); err == nil {
			nice := 20 - p // getpriority(2) answers 20 - nice
			_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(nice+10, 19))
		}
		f()
	}()
	<-done
}
