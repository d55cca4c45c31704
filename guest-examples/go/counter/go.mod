// The counter example on the Go SDK (../../../sdk/go, module extws.dev/extws).
module counter

go 1.23

require extws.dev/extws v0.0.0

replace extws.dev/extws => ../../../sdk/go
