// Command counter is the Rust counter (guest-examples/counter) on the Go SDK: a per-user
// counter in the tenant's key-value store whose new value is pushed to the subscribers of the
// topic "counter", and presence through the connection hooks.
package main

import (
	"strconv"

	"extws.dev/extws"
	"extws.dev/extws/kv"
	"extws.dev/extws/push"
)

const topic = "counter"

func increment(req IncrementRequest, user *extws.User) (IncrementResponse, error) {
	id, err := userID(user)
	if err != nil {
		return IncrementResponse{}, err
	}
	by := int64(1)
	if req.By != nil {
		by = *req.By
	}
	count, err := kv.Increment("count:"+strconv.FormatInt(id, 10), by)
	if err == nil {
		err = push.Publish(topic, CounterChanged{User: id, Count: count})
	}
	return IncrementResponse{Count: count}, err
}

func getCount(_ GetCountRequest, user *extws.User) (GetCountResponse, error) {
	id, err := userID(user)
	if err != nil {
		return GetCountResponse{}, err
	}
	count, err := storedInt("count:" + strconv.FormatInt(id, 10))
	return GetCountResponse{Count: count}, err
}

func subscribe(SubscribeRequest, *extws.User) (SubscribeResponse, error) {
	return SubscribeResponse{Topic: topic}, push.Subscribe(topic)
}

func notifyUser(req NotifyUserRequest, _ *extws.User) (NotifyUserResponse, error) {
	return NotifyUserResponse{Sent: true}, push.ToUser(req.User, Notice{Text: req.Text})
}

func presence(PresenceRequest, *extws.User) (PresenceResponse, error) {
	online, err := storedInt("presence:online")
	return PresenceResponse{Online: online}, err
}

func userID(user *extws.User) (int64, error) {
	if user == nil {
		return 0, extws.Errorf("the counter needs an authenticated user")
	}
	return user.ID, nil
}

// storedInt reads a counter that kv.Increment keeps (absent: 0).
func storedInt(key string) (int64, error) {
	var n int64
	_, err := kv.Get(key, &n)
	return n, err
}

func init() {
	extws.Name = "counter"
	extws.Register(increment)
	extws.Register(getCount)
	extws.Register(subscribe)
	extws.Register(notifyUser)
	extws.Register(presence)
	extws.Pushes(CounterChanged{}, Notice{})
	// Best-effort, as in the Rust counter: a failed update is not retried.
	extws.OnConnect(func(*extws.User) { _, _ = kv.Increment("presence:online", 1) })
	extws.OnDisconnect(func(*extws.User) { _, _ = kv.Increment("presence:online", -1) })
}

func main() {}
