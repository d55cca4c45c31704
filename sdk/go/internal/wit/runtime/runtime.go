// Package runtime is the SDK's canonical-ABI support package, in place of
// go.bytecodealliance.org/pkg/wit/runtime (which the generated bindings import upstream): its
// `cabi_realloc` never allocates from the Go heap, and its Pinner works with TinyGo too.
//
// Why: the host calls `cabi_realloc` to copy a call's arguments (and an import's results) into
// the guest, and the component model forbids calling out of the instance while it runs. The
// upstream version allocates there with `make`, which may start or finish a garbage collection,
// and the collector reads the wall clock (a WASI import), so a busy instance traps sooner or
// later with "cannot leave component instance".
//
// How: `cabi_realloc` only bumps a pointer through an arena, a Go byte slice that is replaced,
// never rewound, at safe points (the start of every export call, see Unpin, and every Allocate)
// where allocating is allowed. A string the bindings make from argument bytes points into its
// arena and keeps it alive, so a handler may keep such strings as long as it likes (at the cost
// of keeping their arena, usually 32 KiB, alive: strings.Clone what you keep for long).
// Arguments bigger than what is left take fresh memory from the runtime's page allocator (never
// freed, never collected); the arenas then grow so that this stays rare and bounded by about
// twice the largest call.
package runtime

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Handle is a resource handle, as upstream.
type Handle struct {
	value int32
}

// Use returns the handle's value, panicking on a nil handle.
func (h *Handle) Use() int32 {
	if h.value == 0 {
		panic("nil handle")
	}
	return h.value
}

// Take returns the handle's value and clears it.
func (h *Handle) Take() int32 {
	value := h.Use()
	h.value = 0
	return value
}

// Set stores a value into an empty handle.
func (h *Handle) Set(value int32) {
	if value == 0 {
		panic("nil handle")
	}
	if h.value != 0 {
		panic("handle already set")
	}
	h.value = value
}

// TakeOrNil returns the handle's value (0 when empty) and clears it.
func (h *Handle) TakeOrNil() int32 {
	value := h.value
	h.value = 0
	return value
}

// MakeHandle wraps a non-zero handle value.
func MakeHandle(value int32) *Handle {
	if value == 0 {
		panic("nil handle")
	}
	return &Handle{value}
}

// Allocate returns zeroed Go-heap memory, pinned until pinner.Unpin. The bindings call it from
// ordinary Go code (never from cabi_realloc), e.g. for an import's return area just before the
// host writes into it, so it is also a safe point to prepare the next chunk.
func Allocate(pinner *Pinner, size, align uintptr) unsafe.Pointer {
	refill()
	if size == 0 {
		return nil
	}
	if size%align != 0 {
		panic(fmt.Sprintf("size %v is not compatible with alignment %v", size, align))
	}
	var pointer unsafe.Pointer
	switch align {
	case 1:
		pointer = unsafe.Pointer(unsafe.SliceData(make([]uint8, size)))
	case 2:
		pointer = unsafe.Pointer(unsafe.SliceData(make([]uint16, size/2)))
	case 4:
		pointer = unsafe.Pointer(unsafe.SliceData(make([]uint32, size/4)))
	case 8:
		pointer = unsafe.Pointer(unsafe.SliceData(make([]uint64, size/8)))
	default:
		panic(fmt.Sprintf("unsupported alignment: %v", align))
	}
	pinner.Pin(pointer)
	return pointer
}

// Unpin is called by every export right after it has read its arguments and before it runs the
// handler. Upstream unpins the argument memory here; arenas need no unpinning, so this is a safe
// point. It also yields once: in a reactor nothing else ever gives the garbage collector's
// background goroutines a turn, so on a long-lived instance collections finish late and the heap
// balloons (to hundreds of MiB in a 20k-call test; with the yield it stayed under 32 MiB).
func Unpin() {
	runtime.Gosched()
	refill()
}

// Pinner keeps memory handed to the host reachable until Unpin, standing in for runtime.Pinner
// (Go 1.21, absent from TinyGo 0.35): neither Go's nor TinyGo's collector moves objects, so
// reachability is all that pinning has to guarantee here.
type Pinner struct {
	pinned []any
}

// Pin keeps pointer (an unsafe.Pointer) alive until Unpin.
func (p *Pinner) Pin(pointer any) {
	p.pinned = append(p.pinned, pointer)
}

// Unpin releases everything pinned.
func (p *Pinner) Unpin() {
	p.pinned = nil
}

// An arena hands out memory by bumping an offset. It is replaced when spent, never rewound.
type arena struct {
	buf  []byte
	used uintptr
}

// take returns size bytes aligned to align, or nil when they do not fit.
func (a *arena) take(size, align uintptr) unsafe.Pointer {
	data := unsafe.Pointer(unsafe.SliceData(a.buf))
	if data == nil {
		return nil
	}
	start := (uintptr(data)+a.used+align-1)&^(align-1) - uintptr(data)
	if start+size > uintptr(len(a.buf)) {
		return nil
	}
	a.used = start + size
	return unsafe.Add(data, start)
}

func (a *arena) free() uintptr { return uintptr(len(a.buf)) - a.used }

const (
	smallSize = 32 << 10 // the usual arena: a kept argument string keeps at most this alive
	smallMin  = 16 << 10 // the small arena is replaced when less than this is left
)

var (
	small    arena   // where arguments normally go
	large    arena   // bursts that do not fit into small; replaced after every use
	demand   uintptr // bytes asked for since the last safe point
	peak     uintptr // the largest demand seen between two safe points
	goHeapOK bool    // set once the Go runtime (and so make) can be used
)

func init() {
	goHeapOK = true
	refill()
}

// refill runs at safe points, where it may allocate from the Go heap. It leaves at least
// smallMin bytes in the small arena and, once a burst has outgrown that, twice the largest burst
// in the large one, so that a burst that fits nowhere at least doubles the peak: memory taken
// from the page allocator stays below about twice the largest burst.
func refill() {
	if !goHeapOK {
		return
	}
	peak = max(peak, demand)
	demand = 0
	if small.free() < smallMin {
		small = arena{buf: make([]byte, smallSize)}
	}
	if peak > smallMin && (large.used > 0 || large.free() < 2*peak) {
		large = arena{buf: make([]byte, 2*peak)}
	}
}

//go:wasmexport cabi_realloc
func cabiRealloc(oldPointer unsafe.Pointer, oldSize, align, newSize uintptr) unsafe.Pointer {
	pointer := bump(max(newSize, 1), align)
	if oldPointer != nil {
		copy(unsafe.Slice((*byte)(pointer), newSize), unsafe.Slice((*byte)(oldPointer), min(oldSize, newSize)))
	}
	return pointer
}

// bump hands out memory without touching the Go heap: from the small arena, else the large one,
// else from a new large arena of page-allocator memory (the only way before the Go runtime is
// initialised).
func bump(size, align uintptr) unsafe.Pointer {
	demand += size + align
	if p := small.take(size, align); p != nil {
		return p
	}
	if p := large.take(size, align); p != nil {
		return p
	}
	n := max(size+align, smallSize)
	fresh := rawAlloc(n)
	if fresh == nil {
		panic("cabi_realloc: out of memory")
	}
	large = arena{buf: unsafe.Slice((*byte)(fresh), n)}
	return large.take(size, align)
}
