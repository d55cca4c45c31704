package main

// IncrementRequest adds By (default 1) to the caller's counter.
type IncrementRequest struct {
	By *int64 `json:"by"`
}

// IncrementResponse is the new count.
type IncrementResponse struct {
	Count int64 `json:"count"`
}

// CounterChanged is pushed to the topic "counter" after every increment.
type CounterChanged struct {
	User  int64 `json:"user"`
	Count int64 `json:"count"`
}

// GetCountRequest asks for the caller's count.
type GetCountRequest struct{}

// GetCountResponse is the caller's count.
type GetCountResponse struct {
	Count int64 `json:"count"`
}

// SubscribeRequest subscribes this connection to CounterChanged.
type SubscribeRequest struct{}

// SubscribeResponse names the topic subscribed to.
type SubscribeResponse struct {
	Topic string `json:"topic"`
}

// NotifyUserRequest pushes a Notice with Text to every connection of User.
type NotifyUserRequest struct {
	User int64   `json:"user"`
	Text *string `json:"text"`
}

// Notice is what NotifyUserRequest pushes.
type Notice struct {
	Text *string `json:"text"`
}

// NotifyUserResponse confirms the push.
type NotifyUserResponse struct {
	Sent bool `json:"sent"`
}

// PresenceRequest asks how many connections are open.
type PresenceRequest struct{}

// PresenceResponse is the number of open connections, counted by the hooks.
type PresenceResponse struct {
	Online int64 `json:"online"`
}
