//go:build !tinygo

// Lets rawalloc_gc.go declare the body-less, linknamed sbrk.
