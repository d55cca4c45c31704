//go:build wasip1

package extws

import (
	"extws.dev/extws/internal/wit/extws_handler_log"
	"extws.dev/extws/internal/wit/extws_handler_session"
	witTypes "extws.dev/extws/internal/wit/extws_handler_types"
	wit "extws.dev/extws/internal/wit/types"
)

// The functions wit_exports.go (generated) calls for the world's exports.

func exportMessageTypes() []string { return messageTypes() }

func exportDescribe() string { return describe() }

func exportHandle(msgType, data string, user wit.Option[witTypes.User]) wit.Result[witTypes.Response, witTypes.HandlerError] {
	replyType, replyData, err := dispatch(msgType, data, fromWIT(user))
	if err != nil {
		e, ok := err.(*Error)
		if !ok {
			e = &Error{Message: err.Error()}
		}
		code := wit.None[uint16]()
		if e.CloseCode != 0 {
			code = wit.Some(e.CloseCode)
		}
		return wit.Err[witTypes.Response](witTypes.HandlerError{
			Message: e.Message, CloseConnection: e.CloseConnection, CloseCode: code,
		})
	}
	return wit.Ok[witTypes.Response, witTypes.HandlerError](witTypes.Response{MsgType: replyType, Data: replyData})
}

func exportOnConnect(user wit.Option[witTypes.User]) {
	if onConnect != nil {
		onConnect(fromWIT(user))
	}
}

func exportOnDisconnect(user wit.Option[witTypes.User]) {
	if onDisconnect != nil {
		onDisconnect(fromWIT(user))
	}
}

func fromWIT(user wit.Option[witTypes.User]) *User {
	if user.IsNone() {
		return nil
	}
	u := user.Some()
	return &User{
		ID:                    u.Id,
		IsBot:                 optBool(u.IsBot),
		FirstName:             u.FirstName,
		LastName:              u.LastName.SomeOr(""),
		Username:              u.Username.SomeOr(""),
		LanguageCode:          u.LanguageCode.SomeOr(""),
		IsPremium:             optBool(u.IsPremium),
		AddedToAttachmentMenu: optBool(u.AddedToAttachmentMenu),
		AllowsWriteToPM:       optBool(u.AllowsWriteToPm),
		PhotoURL:              u.PhotoUrl.SomeOr(""),
	}
}

func optBool(b wit.Option[bool]) *bool {
	if b.IsNone() {
		return nil
	}
	v := b.Some()
	return &v
}

// Level is the severity of a log record.
type Level uint8

// The log levels.
const (
	LevelTrace Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
)

// Log writes message to the host's log at level, tagged with the tenant and component.
func Log(level Level, message string) {
	extws_handler_log.Log(uint8(level), message)
}

// Tenant is the name of the tenant (bot or app) the current connection belongs to.
func Tenant() string {
	return extws_handler_session.Tenant()
}

// OriginKind says where a call came from.
type OriginKind uint8

const (
	// OriginClient is a message from a client connection (and the connect/disconnect hooks).
	OriginClient OriginKind = iota
	// OriginUpdate is a bot update from Telegram; CallOrigin.UpdateID is its update_id.
	OriginUpdate
	// OriginSchedule is a schedule firing.
	OriginSchedule
	// OriginCLI is the `extws-wasm call` subcommand, run by the operator.
	OriginCLI
)

// CallOrigin is where the current call came from.
type CallOrigin struct {
	// Kind is the origin.
	Kind OriginKind
	// UpdateID is the update's update_id when Kind is OriginUpdate.
	UpdateID int64
}

// Origin says where the current call came from. Types starting with "telegram." only ever
// come from OriginUpdate (or OriginCLI) and those starting with "schedule." from
// OriginSchedule (or OriginCLI): the host refuses them from clients, so a handler need not
// check. Needs a host with WIT 0.1.3 or later.
func Origin() CallOrigin {
	o := extws_handler_session.Origin()
	if o.Tag() == extws_handler_session.CallOrigin_Update {
		return CallOrigin{Kind: OriginUpdate, UpdateID: o.Update()}
	}
	return CallOrigin{Kind: OriginKind(o.Tag())}
}
