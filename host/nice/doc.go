// Package nice runs functions on OS threads of a lower CPU priority (a
// higher nice value), so that the kernel gives what they compute only
// the CPU that the rest of the process leaves.
//
// Go's scheduler switches goroutines every 10 ms at best, and a goroutine
// running a wasm guest holds its P for all of that: with guests spinning
// on every P, everything else of the daemon waits for a time slice. A
// [Pool] gives each function a thread whose nice value is raised for good
// (lowering it back would need CAP_SYS_NICE). Such a thread may hold a P
// while the kernel runs others, so a process using pools needs one P more
// than its CPUs for each thread they may run (the daemon raises
// GOMAXPROCS so). On systems other than Linux a Pool runs its functions
// on threads of the process's own priority.
package nice
