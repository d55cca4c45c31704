// Command {{name}} is a message handler component for extws-wasm, on the Go SDK
// (extws.dev/extws, vendored in ./extws-sdk).
//
// Each registered function handles one request Type (the name of its request struct) and
// returns the reply struct (whose name is the reply Type). The SDK checks Data against the
// struct before the function runs, and the component's describe export reports the structs
// as JSON Schema.
package main

import (
	"strings"

	"extws.dev/extws"
)

// GreetRequest asks for a greeting: {"name": "Ann"}.
type GreetRequest struct {
	Name string `json:"name"`
}

// GreetResponse is the greeting.
type GreetResponse struct {
	Text string `json:"text"`
}

// greet greets Name, saying who asked (user is nil without authentication).
func greet(req GreetRequest, user *extws.User) (GreetResponse, error) {
	if strings.TrimSpace(req.Name) == "" {
		return GreetResponse{}, extws.Errorf("name is empty")
	}
	by := "nobody"
	if user != nil {
		by = user.FirstName
	}
	return GreetResponse{Text: "Hello, " + req.Name + "! (asked by " + by + ")"}, nil
}

// init registers the handlers: a component is a WASI reactor, main never runs.
func init() {
	extws.Name = "{{name}}"
	extws.Register(greet)
}

func main() {}
