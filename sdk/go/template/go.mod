module {{name}}

go 1.23

require extws.dev/extws v0.0.0

// The Go SDK, vendored: extws-sdk/ holds its sources and WIT bindings.
replace extws.dev/extws => ./extws-sdk
