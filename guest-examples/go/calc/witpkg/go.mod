// This example's copy of go.bytecodealliance.org/pkg: wit/runtime is ours (see its package
// doc); build.sh copies wit/types and wit/async in from the wit-bindgen-go crate's sources.
module go.bytecodealliance.org/pkg

go 1.25
