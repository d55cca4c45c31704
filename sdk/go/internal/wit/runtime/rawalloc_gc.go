//go:build !tinygo

package runtime

import "unsafe"

// rawAlloc takes n bytes from the Go runtime's page allocator: memory the garbage collector
// neither manages nor frees, usable before the runtime is initialised and without starting a
// collection. (Needs `-ldflags=-checklinkname=0`, as upstream does.)
func rawAlloc(n uintptr) unsafe.Pointer {
	return sbrk(n)
}

//go:linkname sbrk runtime.sbrk
func sbrk(n uintptr) unsafe.Pointer
