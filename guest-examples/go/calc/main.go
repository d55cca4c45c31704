// Command calc is the calc example on the Go SDK: guest-examples/CONFORMANCE.md's contract.
package main

import "extws.dev/extws"

func calculate(req CalculateRequest, _ *extws.User) (CalculateResponse, error) {
	var sum int64
	for _, n := range req.Numbers {
		if s := sum + n; (s < sum) != (n < 0) {
			return CalculateResponse{}, extws.Errorf("overflow: the sum does not fit in a signed 64-bit integer")
		}
		sum += n
	}
	return CalculateResponse{Result: sum}, nil
}

func whoAmI(_ WhoAmIRequest, user *extws.User) (WhoAmIResponse, error) {
	return WhoAmIResponse{User: user}, nil
}

func init() {
	extws.Name = "calc"
	extws.Register(calculate)
	extws.Register(whoAmI)
}

func main() {}
