// Package export_wit_world is the calc example handler in Go: it sums numbers and tells the
// caller who they are.
//
// Its exact behaviour is the contract in guest-examples/CONFORMANCE.md, shared by the same
// example in every guest language (the Rust reference is guest-examples/calc). `wit-bindgen go`
// generates the rest of the module (the export glue and the WIT types) at build time; this
// package only provides the two functions the world exports.
package export_wit_world

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	. "wit_component/extws_handler_types"
)

const (
	invalidRequest = `invalid CalculateRequest: expected {"numbers": [integers]}`
	overflow       = "overflow: the sum does not fit in a signed 64-bit integer"
)

// Result is what Handle returns: a reply or a deliberate failure.
type Result = witTypes.Result[Response, HandlerError]

// MessageTypes lists the request Types the host routes to this component.
func MessageTypes() []string {
	return []string{"CalculateRequest", "WhoAmIRequest"}
}

// Handle answers one request; data is the JSON text of its Data.
func Handle(msgType string, data string, user witTypes.Option[User]) Result {
	switch msgType {
	case "CalculateRequest":
		return calculate(data)
	case "WhoAmIRequest":
		return whoAmI(user)
	default:
		return fail("calc does not handle " + msgType)
	}
}

func calculate(data string) Result {
	numbers, ok := parseNumbers(data)
	if !ok {
		return fail(invalidRequest)
	}
	var sum int64
	for _, n := range numbers {
		if n > 0 && sum > math.MaxInt64-n || n < 0 && sum < math.MinInt64-n {
			return fail(overflow)
		}
		sum += n
	}
	return reply("CalculateResponse", `{"result":`+strconv.FormatInt(sum, 10)+`}`)
}

// parseNumbers reads `{"numbers": [int64, ...]}` (other keys ignored), accepting exactly what
// the Rust reference's serde_json accepts.
func parseNumbers(data string) ([]int64, bool) {
	var request map[string]json.RawMessage // a map, not a struct: keys match case-sensitively
	if json.Unmarshal([]byte(data), &request) != nil || request == nil || serdeRejects(data) {
		return nil, false
	}
	var items []json.RawMessage
	if json.Unmarshal(request["numbers"], &items) != nil || items == nil {
		return nil, false
	}
	numbers := make([]int64, len(items))
	for i, item := range items {
		n, err := strconv.ParseInt(string(item), 10, 64) // rejects 1.5, 1e2, "1", true, 2^63
		if err != nil || string(item) == "-0" {          // serde_json reads -0 as a float
			return nil, false
		}
		numbers[i] = n
	}
	return numbers, true
}

// serdeRejects reports valid JSON that encoding/json accepts but serde_json does not: nesting
// deeper than 127, numbers beyond float64's range, and \u escapes that are lone UTF-16
// surrogates.
func serdeRejects(valid string) bool {
	depth := 0
	for i := 0; i < len(valid); i++ {
		switch c := valid[i]; {
		case c == '[' || c == '{':
			if depth++; depth > 127 {
				return true
			}
		case c == ']' || c == '}':
			depth--
		case c == '-' || '0' <= c && c <= '9':
			end := i + 1
			for end < len(valid) && strings.IndexByte("0123456789.eE+-", valid[end]) >= 0 {
				end++
			}
			if _, err := strconv.ParseFloat(valid[i:end], 64); err != nil {
				return true
			}
			i = end - 1
		case c == '"':
			for i++; valid[i] != '"'; i++ {
				if valid[i] != '\\' {
					continue
				}
				if i++; valid[i] != 'u' {
					continue
				}
				switch u := hex4(valid[i+1:]); {
				case 0xDC00 <= u && u <= 0xDFFF:
					return true
				case 0xD800 <= u && u <= 0xDBFF:
					if !strings.HasPrefix(valid[i+5:], `\u`) || hex4(valid[i+7:])&0xFC00 != 0xDC00 {
						return true
					}
					i += 6
				}
				i += 4
			}
		}
	}
	return false
}

// hex4 decodes the four hex digits at the start of s (valid JSON guarantees them).
func hex4(s string) uint64 {
	u, _ := strconv.ParseUint(s[:4], 16, 16)
	return u
}

func whoAmI(user witTypes.Option[User]) Result {
	var b strings.Builder
	b.WriteString(`{"user":`)
	if user.IsNone() {
		b.WriteString("null")
	} else {
		writeUser(&b, user.Some())
	}
	b.WriteString("}")
	return reply("WhoAmIResponse", b.String())
}

// writeUser writes Telegram's WebAppUser field names in the contract's order, omitting absent
// optional fields.
func writeUser(b *strings.Builder, u User) {
	b.WriteString(`{"id":` + strconv.FormatInt(u.Id, 10))
	boolField(b, "is_bot", u.IsBot)
	b.WriteString(`,"first_name":`)
	writeString(b, u.FirstName)
	stringField(b, "last_name", u.LastName)
	stringField(b, "username", u.Username)
	stringField(b, "language_code", u.LanguageCode)
	boolField(b, "is_premium", u.IsPremium)
	boolField(b, "added_to_attachment_menu", u.AddedToAttachmentMenu)
	boolField(b, "allows_write_to_pm", u.AllowsWriteToPm)
	stringField(b, "photo_url", u.PhotoUrl)
	b.WriteString("}")
}

func boolField(b *strings.Builder, name string, value witTypes.Option[bool]) {
	if value.IsSome() {
		b.WriteString(`,"` + name + `":` + strconv.FormatBool(value.Some()))
	}
}

func stringField(b *strings.Builder, name string, value witTypes.Option[string]) {
	if value.IsSome() {
		b.WriteString(`,"` + name + `":`)
		writeString(b, value.Some())
	}
}

// writeString writes s as a JSON string escaped minimally, like serde_json: `"`, `\` and
// control characters only. (encoding/json also escapes U+2028, U+2029 and, by default, <>&.)
func writeString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00` + string(hex[c>>4]) + string(hex[c&0xf]))
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

func reply(msgType, data string) Result {
	return witTypes.Ok[Response, HandlerError](Response{MsgType: msgType, Data: data})
}

func fail(message string) Result {
	return witTypes.Err[Response](HandlerError{Message: message})
}
