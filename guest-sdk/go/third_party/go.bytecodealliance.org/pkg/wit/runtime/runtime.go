package runtime

import (
	"fmt"
	"runtime"
	"unsafe"
)

type Handle struct {
	value int32
}

func (h *Handle) Use() int32 {
	if h.value == 0 {
		panic("nil handle")
	}
	return h.value
}

func (h *Handle) Take() int32 {
	if h.value == 0 {
		panic("nil handle")
	}
	value := h.value
	h.value = 0
	return value
}

func (h *Handle) Set(value int32) {
	if value == 0 {
		panic("nil handle")
	}
	if h.value != 0 {
		panic("handle already set")
	}
	h.value = value
}

func (h *Handle) TakeOrNil() int32 {
	value := h.value
	h.value = 0
	return value
}

func MakeHandle(value int32) *Handle {
	if value == 0 {
		panic("nil handle")
	}
	return &Handle{value}
}

func Allocate(pinner *runtime.Pinner, size, align uintptr) unsafe.Pointer {
	pointer := allocateRaw(size, align)
	pinner.Pin(pointer)
	return pointer
}

func allocateRaw(size, align uintptr) unsafe.Pointer {
	if size == 0 {
		return nil
	}

	if size%align != 0 {
		panic(fmt.Sprintf("size %v is not compatible with alignment %v", size, align))
	}

	switch align {
	case 1:
		return unsafe.Pointer(unsafe.SliceData(make([]uint8, size)))
	case 2:
		return unsafe.Pointer(unsafe.SliceData(make([]uint16, size/align)))
	case 4:
		return unsafe.Pointer(unsafe.SliceData(make([]uint32, size/align)))
	case 8:
		return unsafe.Pointer(unsafe.SliceData(make([]uint64, size/align)))
	default:
		panic(fmt.Sprintf("unsupported alignment: %v", align))
	}
}

// NB: `cabi_realloc` may be called before the Go runtime has been initialized,
// in which case we need to use `runtime.sbrk` to do allocations.  The following
// is an abbreviation of [Till's
// efforts](https://github.com/bytecodealliance/go-modules/pull/367).

//go:linkname sbrk runtime.sbrk
func sbrk(n uintptr) unsafe.Pointer

//nolint:unused
var useGCAllocations = false

func init() {
	useGCAllocations = true
}

//nolint:unused
func offset(ptr, align uintptr) uintptr {
	newptr := (ptr + align - 1) &^ (align - 1)
	return newptr - ptr
}

var pinner = runtime.Pinner{}

func Unpin() {
	pinner.Unpin()
}

//nolint:unused
//go:wasmimport wasi_snapshot_preview1 adapter_monotonic_clock_set_paused
func adapterMonotonicClockSetPaused(paused bool)

//nolint:unused
//go:wasmexport cabi_realloc
func cabiRealloc(oldPointer unsafe.Pointer, oldSize, align, newSize uintptr) unsafe.Pointer {
	if oldPointer != nil || oldSize != 0 {
		panic("todo")
	}

	if callsInFlight > 0 {
		return arenaAllocate(newSize, align)
	}
	if useGCAllocations {
		// Here we call `adapter_monotonic_clock_set_paused` before and
		// after allocating since the Go garbage collector calls
		// `clock_time_get` to measure time spent in various stages of
		// GC, but calls to imports from `cabi_realloc` are forbidden by
		// the component model, so we must tell the
		// `wasi_snapshot_preview1` adapter to use a cached value
		// instead of calling `monotonic_clock::now`.
		//
		// See https://github.com/bytecodealliance/wasmtime/pull/13563
		// for more details.
		adapterMonotonicClockSetPaused(true)
		pointer := Allocate(&pinner, newSize, align)
		adapterMonotonicClockSetPaused(false)
		return pointer
	} else {
		alignedSize := newSize + offset(newSize, align)
		unaligned := sbrk(alignedSize)
		off := offset(uintptr(unaligned), align)
		return unsafe.Add(unaligned, off)
	}
}

// Import calls (added for rigor; `rigor build` rewrites the generated
// import wrappers to use what follows, see third_party/README.md).
//
// Upstream, a wrapper pins its return area and arguments on a fresh
// `runtime.Pinner`, and `cabi_realloc` hands the host GC-heap memory for
// the call's strings and lists, pinned on a global pinner released only
// when an export returns. That costs a pinner, heap allocations and pins
// per call, keeps every result of a long-running export alive, and lets
// the allocation inside `cabi_realloc` start or finish a garbage
// collection, which reads the wall clock and polls timers: host calls,
// which the component model forbids there ("cannot leave component
// instance").
//
// Here, between BeginCall and EndCall, the return area, the lowered
// arguments and everything `cabi_realloc` returns come from an arena of
// raw memory outside the Go heap, reused by every call: nothing in a call
// allocates on the GC heap before its results are lifted, so no collection
// can run while the host holds pointers into the guest, and the lifted
// strings and slices are copies (LiftString, LiftSlice) that the arena's
// reuse cannot touch.

// Call is the import call in progress.
type Call struct{}

// Pin does nothing: a call's memory is in the arena, and no collection can
// run before the call ends.
func (*Call) Pin(any) {}

var (
	call Call
	// Import calls begun and not yet ended. Lifting a call's results
	// allocates, which can park its goroutine (a GC assist) and let another
	// goroutine make a call of its own: the arena is reused only once no
	// call is left that may still be reading from it.
	callsInFlight int
	arenaBase     uintptr
	arenaSize     uintptr
	arenaUsed     uintptr
)

// arenaChunk is the smallest arena. A call that needs more gets a fresh
// one at least twice as large (the old one is left behind, with whatever
// calls in flight still read there: sbrk memory cannot be returned), so the
// arena settles at twice the largest need of the calls in flight at once.
const arenaChunk = 64 << 10

// BeginCall starts an import call.
func BeginCall() *Call {
	if callsInFlight == 0 {
		arenaUsed = 0
	}
	callsInFlight++
	return &call
}

// EndCall ends the import call: its results are lifted.
func EndCall(*Call) {
	callsInFlight--
}

// AllocateInCall is Allocate for an import call: arena memory.
func AllocateInCall(_ *Call, size, align uintptr) unsafe.Pointer {
	return arenaAllocate(size, align)
}

func arenaAllocate(size, align uintptr) unsafe.Pointer {
	if size == 0 {
		return unsafe.Pointer(align)
	}
	start := (arenaBase + arenaUsed + align - 1) &^ (align - 1)
	if arenaBase == 0 || start+size > arenaBase+arenaSize {
		grown := arenaSize * 2
		if grown < arenaChunk {
			grown = arenaChunk
		}
		if grown < size+align {
			grown = size + align
		}
		base := sbrk(grown)
		if base == nil {
			panic(fmt.Sprintf("out of memory: an import call needs %v more bytes", size))
		}
		arenaBase, arenaSize = uintptr(base), grown
		start = (arenaBase + align - 1) &^ (align - 1)
	}
	arenaUsed = start + size - arenaBase
	return unsafe.Pointer(start)
}

// LiftString copies a string the host wrote into the arena.
func LiftString(data *uint8, length uint32) string {
	return string(unsafe.Slice(data, length))
}

// LiftSlice copies a list the host wrote into the arena.
func LiftSlice[T any](data *T, length uint32) []T {
	lifted := make([]T, length)
	copy(lifted, unsafe.Slice(data, length))
	return lifted
}
