// Package extws writes extws-wasm message handlers in Go: one typed function per request Type,
// with the WebAssembly component plumbing (WIT world described-handler) inside the SDK.
//
//	package main
//
//	import "extws.dev/extws"
//
//	type CalculateRequest struct {
//		Numbers []int64 `json:"numbers"`
//	}
//
//	type CalculateResponse struct {
//		Result int64 `json:"result"`
//	}
//
//	func calculate(req CalculateRequest, user *extws.User) (CalculateResponse, error) {
//		var sum int64
//		for _, n := range req.Numbers {
//			sum += n
//		}
//		return CalculateResponse{Result: sum}, nil
//	}
//
//	func init() { extws.Register(calculate) } // Type "CalculateRequest", reply "CalculateResponse"
//
//	func main() {}
//
// Register handlers in init (a component is a WASI reactor: main never runs). Before a handler
// runs, the request's Data is decoded into its request struct following the struct's json
// tags: names match exactly, unknown fields are ignored, absent or null Data reads as {}, a
// field is required unless it is a pointer or tagged omitempty, and integers must be integral
// JSON numbers in range (1.5, "1", true and 9223372036854775808 are not int64s). Bad data
// fails with "invalid <Type>: <field path>: <problem>". Replies are encoded as encoding/json
// encodes them. The component's describe export reports every request and reply struct as
// JSON Schema.
//
// The subpackages kv and push wrap the host's state and push imports; Log and Tenant are here.
package extws

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
)

// Name appears in the error for a Type no handler is registered for: "<Name> does not handle
// <Type>" (the host routes only registered Types, so only direct calls see it).
var Name = "handler"

// User is the Telegram Mini App user (Telegram's WebAppUser) a request comes from. It encodes
// with Telegram's field names, absent optional fields left out.
type User struct {
	ID                    int64  `json:"id"`
	IsBot                 *bool  `json:"is_bot,omitempty"`
	FirstName             string `json:"first_name"`
	LastName              string `json:"last_name,omitempty"`
	Username              string `json:"username,omitempty"`
	LanguageCode          string `json:"language_code,omitempty"`
	IsPremium             *bool  `json:"is_premium,omitempty"`
	AddedToAttachmentMenu *bool  `json:"added_to_attachment_menu,omitempty"`
	AllowsWriteToPM       *bool  `json:"allows_write_to_pm,omitempty"`
	PhotoURL              string `json:"photo_url,omitempty"`
}

// Error is a handler's deliberate failure: the client gets a HandlerException with Message.
// Return one from a handler (Errorf, Close); any other error becomes one with its text.
type Error struct {
	// Message is sent to the client.
	Message string
	// CloseConnection asks the host to close the connection after sending the error.
	CloseConnection bool
	// CloseCode is the close code when CloseConnection is set (0: none, the host uses 1008).
	CloseCode uint16
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the formatted message.
func Errorf(format string, args ...any) error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// Close returns an *Error that makes the host close the connection with code after sending
// reason (codes other than 1000, 1001, 1003, 1007–1011 and 3000–4999 become 1008).
func Close(code uint16, reason string) error {
	return &Error{Message: reason, CloseConnection: true, CloseCode: code}
}

// route is one registered request Type.
type route struct {
	msgType string
	request reflect.Type
	reply   reflect.Type
	call    func(data string, user *User) (replyType, replyData string, err error)
}

var (
	routes       []route
	pushes       []reflect.Type
	onConnect    func(*User)
	onDisconnect func(*User)
)

// Handle registers fn for request Type msgType ("" means the request struct's name). The
// reply's Type is the name of the struct fn returns. It panics when msgType is taken or Req
// or Rep is not a named struct (or a pointer to one).
func Handle[Req, Rep any](msgType string, fn func(Req, *User) (Rep, error)) {
	request := reflect.TypeOf((*Req)(nil)).Elem()
	reply := reflect.TypeOf((*Rep)(nil)).Elem()
	for _, t := range []reflect.Type{request, reply} {
		if d := derefType(t); d.Kind() != reflect.Struct || d.Name() == "" {
			panic("extws: handler models must be named structs, not " + t.String())
		}
	}
	if msgType == "" {
		msgType = typeName(request)
	}
	for _, r := range routes {
		if r.msgType == msgType {
			panic("extws: " + msgType + " is registered twice")
		}
	}
	var (
		compiled  sync.Once
		decode    decodeFunc
		encode    encodeFunc
		replyType = typeName(reply) // what reflect.TypeOf(rep) names: Rep is concrete
	)
	call := func(data string, user *User) (string, string, error) {
		compiled.Do(func() { // on first use: init stays cheap
			decode, encode = decoderFor(request), encoderFor(reply)
		})
		var req Req
		if !decodeFast(decode, data, reflect.ValueOf(&req).Elem()) {
			var zero Req
			req = zero // the fast path gave up, maybe halfway: decodeRequest starts afresh
			if err := decodeRequest(data, &req); err != nil {
				return "", "", &Error{Message: "invalid " + msgType + ": " + err.Error()}
			}
		}
		rep, err := fn(req, user)
		if err != nil {
			return "", "", err
		}
		text, ok := encodeReply(encode, reflect.ValueOf(rep))
		if !ok {
			if text, err = json.Marshal(rep); err != nil {
				return "", "", fmt.Errorf("encoding the reply: %w", err)
			}
		}
		return replyType, string(text), nil
	}
	routes = append(routes, route{msgType, request, reply, call})
}

// Register registers fn for the request Type named like its request struct; see Handle.
func Register[Req, Rep any](fn func(Req, *User) (Rep, error)) {
	Handle("", fn)
}

// OnConnect sets the hook run when a connection of the tenant is authenticated.
func OnConnect(fn func(user *User)) { onConnect = fn }

// OnDisconnect sets the hook run when a connection of the tenant closes.
func OnDisconnect(fn func(user *User)) { onDisconnect = fn }

// Pushes declares the structs this component pushes (push.Publish, push.ToUser), so that
// describe lists their Types (the struct names) and schemas. Pass zero values.
func Pushes(models ...any) {
	for _, m := range models {
		pushes = append(pushes, reflect.TypeOf(m))
	}
}

// typeName is a model's Type: the name of the struct type, through pointers.
func typeName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	if t == nil || t.Name() == "" {
		return "null"
	}
	return t.Name()
}

// dispatch runs one request.
func dispatch(msgType, data string, user *User) (string, string, error) {
	for _, r := range routes {
		if r.msgType == msgType {
			return r.call(data, user)
		}
	}
	return "", "", &Error{Message: Name + " does not handle " + msgType}
}

// Describe returns the component's API as its describe export reports it: per registered
// Type the request and reply JSON Schemas, the declared pushes and the hooks set. Handy in
// tests (go test runs on the host; the WIT glue is only compiled for wasip1).
func Describe() string { return describe() }

// messageTypes lists the registered Types in registration order.
func messageTypes() []string {
	types := make([]string, len(routes))
	for i, r := range routes {
		types[i] = r.msgType
	}
	return types
}
