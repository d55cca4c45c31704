// The calc example's Go module. `wit-bindgen go` names it wit_component and generates every
// package in it except export_wit_world (ours) at build time; see build.sh.
module wit_component

go 1.25

require go.bytecodealliance.org/pkg v0.4.0

// The bindings' support library, vendored: our own wit/runtime (no GC inside cabi_realloc) plus
// wit/types and wit/async copied from the wit-bindgen-go crate at build time.
replace go.bytecodealliance.org/pkg => ./witpkg
