package nice

import "syscall"

// lower raises the calling thread's nice value by n (to at most 19).
func lower(n int) {
	if n <= 0 {
		return
	}
	tid := syscall.Gettid()
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return
	}
	// The raw getpriority(2) answers 20 - nice.
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(20-p+n, 19))
}

// threadNice returns the calling thread's nice value.
func threadNice() (int, error) {
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	return 20 - p, err
}
