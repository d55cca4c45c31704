//go:build tinygo

package runtime

import "unsafe"

// rawAlloc: TinyGo's collector never calls out of the instance, so plain heap memory will do;
// it stays alive through the slices and strings that point into it.
func rawAlloc(n uintptr) unsafe.Pointer {
	return unsafe.Pointer(unsafe.SliceData(make([]byte, n)))
}
