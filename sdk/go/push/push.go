//go:build wasip1

// Package push sends messages to other connections of the tenant (WIT interface push).
//
//	err := push.Publish("counter", CounterChanged{User: id, Count: n}) // Type "CounterChanged"
//	err = push.ToUser(42, Notice{Text: "hi"})
//	err = push.Subscribe("counter")                                   // this connection
//
// The pushed Type is the struct's name (declare it with extws.Pushes so that describe lists
// it). Failures are *extws.Error values ("push unavailable: ...", "invalid push: ...").
package push

import (
	"encoding/json"
	"reflect"

	"extws.dev/extws"
	wpush "extws.dev/extws/internal/wit/extws_handler_push"
	wit "extws.dev/extws/internal/wit/types"
)

func check(r wit.Result[wit.Unit, wpush.PushError]) error {
	if !r.IsErr() {
		return nil
	}
	if e := r.Err(); e.Tag() == wpush.PushError_Unavailable {
		return &extws.Error{Message: "push unavailable: " + e.Unavailable()}
	} else {
		return &extws.Error{Message: "invalid push: " + e.Invalid()}
	}
}

func encode(message any) (string, string, error) {
	t := reflect.TypeOf(message)
	for t != nil && t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	if t == nil || t.Name() == "" {
		return "", "", &extws.Error{Message: "invalid push: the message must be a named struct"}
	}
	data, err := json.Marshal(message)
	if err != nil {
		return "", "", &extws.Error{Message: "invalid push: " + err.Error()}
	}
	return t.Name(), string(data), nil
}

// ToUser sends message to every connection of Telegram user userID, on every server.
func ToUser(userID int64, message any) error {
	msgType, data, err := encode(message)
	if err != nil {
		return err
	}
	return check(wpush.SendToUser(userID, msgType, data))
}

// Publish sends message to every connection subscribed to topic.
func Publish(topic string, message any) error {
	msgType, data, err := encode(message)
	if err != nil {
		return err
	}
	return check(wpush.Publish(topic, msgType, data))
}

// Subscribe subscribes the calling connection to topic (until it closes or unsubscribes).
func Subscribe(topic string) error { return check(wpush.Subscribe(topic)) }

// Unsubscribe unsubscribes the calling connection from topic.
func Unsubscribe(topic string) error { return check(wpush.Unsubscribe(topic)) }
