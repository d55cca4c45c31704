package main

import "extws.dev/extws"

// The request and reply models: their json tags are the wire names, and describe reports them.
type (
	CalculateRequest struct {
		Numbers []int64 `json:"numbers"`
	}
	CalculateResponse struct {
		Result int64 `json:"result"`
	}
	WhoAmIRequest  struct{}
	WhoAmIResponse struct {
		User *extws.User `json:"user"`
	}
)
