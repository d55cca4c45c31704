// Command {{name}} is a message handler component for extws-wasm, on the Go SDK
// (extws.dev/extws, vendored in ./extws-sdk).
//
// Each registered function handles one request Type (the name of its request struct) and
// returns the reply struct (whose name is the reply Type). The SDK checks Data against the
// struct before the function runs, and the component's describe export reports the structs
// as JSON Schema.
package main

import "extws.dev/extws"

// CalculateRequest asks for the sum of Numbers: {"numbers": [1, 2, 3]}.
type CalculateRequest struct {
	Numbers []int64 `json:"numbers"`
}

// CalculateResponse is the sum.
type CalculateResponse struct {
	Result int64 `json:"result"`
}

// calculate adds up the numbers (user is the Telegram user, nil without authentication).
func calculate(req CalculateRequest, user *extws.User) (CalculateResponse, error) {
	var sum int64
	for _, n := range req.Numbers {
		if s := sum + n; (s < sum) != (n < 0) {
			return CalculateResponse{}, extws.Errorf("the sum does not fit in a signed 64-bit integer")
		}
		sum += n
	}
	return CalculateResponse{Result: sum}, nil
}

// init registers the handlers: a component is a WASI reactor, main never runs.
func init() {
	extws.Name = "{{name}}"
	extws.Register(calculate)
}

func main() {}
