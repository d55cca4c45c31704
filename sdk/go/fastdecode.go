package extws

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The fast request decoder. decodeRequest (decode.go) is the reference: it decodes Data into
// generic values with encoding/json and then walks the request type by reflection, on every
// call. A decodeFunc is compiled once per type instead and reads the JSON text directly into
// the value. It only ever succeeds where decodeRequest succeeds, with the same value; whenever
// anything is off (bad or unusual JSON, a repeated key, a missing field, a type it does not
// handle) it gives up, and the caller runs decodeRequest from a zero value, so errors keep
// their exact messages and rare cases their exact behaviour.

// reader is JSON text being decoded.
type reader struct {
	data  string
	pos   int
	depth int
}

// maxDepth is how deep the fast path nests before giving up (decodeRequest takes over).
const maxDepth = 500

// decodeFunc decodes the JSON value at r (after optional white space) into v, reporting
// false to give up.
type decodeFunc func(r *reader, v reflect.Value) bool

// decodeFast decodes the request text data into v (the request value) with dec, null read as
// {}, reporting false to give up.
func decodeFast(dec decodeFunc, data string, v reflect.Value) bool {
	r := &reader{data: data}
	if r.peek() == 'n' {
		if !r.literal("null") || r.peek() != 0 || r.pos != len(data) {
			return false
		}
		r = &reader{data: "{}"}
	}
	if !dec(r, v) {
		return false
	}
	r.space()
	return r.pos == len(r.data)
}

// space skips JSON white space.
func (r *reader) space() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, 0 at the end.
func (r *reader) peek() byte {
	r.space()
	if r.pos < len(r.data) {
		return r.data[r.pos]
	}
	return 0
}

func (r *reader) literal(word string) bool {
	if strings.HasPrefix(r.data[r.pos:], word) {
		r.pos += len(word)
		return true
	}
	return false
}

func digit(c byte) bool { return '0' <= c && c <= '9' }

// digits skips decimal digits from i, reporting where they end and whether there was one.
func (r *reader) digits(i int) (int, bool) {
	start := i
	for i < len(r.data) && digit(r.data[i]) {
		i++
	}
	return i, i > start
}

// number reads a JSON number literal (after white space), as written.
func (r *reader) number() (string, bool) {
	r.space()
	d, i, ok := r.data, r.pos, false
	if i < len(d) && d[i] == '-' {
		i++
	}
	if i < len(d) && d[i] == '0' {
		i++
	} else if i, ok = r.digits(i); !ok {
		return "", false
	}
	if i < len(d) && d[i] == '.' {
		if i, ok = r.digits(i + 1); !ok {
			return "", false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i, ok = r.digits(i); !ok {
			return "", false
		}
	}
	text := d[r.pos:i]
	r.pos = i
	return text, true
}

// str reads a JSON string (after white space) and returns it with its quotes; plain means
// ASCII without escapes, the text between the quotes being the value.
func (r *reader) str() (span string, plain, ok bool) {
	if r.peek() != '"' {
		return "", false, false
	}
	d, i := r.data, r.pos+1
	plain = true
	for i < len(d) {
		switch c := d[i]; {
		case c == '"':
			span, r.pos = d[r.pos:i+1], i+1
			return span, plain, true
		case c == '\\':
			plain = false
			if i+1 >= len(d) {
				return "", false, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) {
					return "", false, false
				}
				if _, err := strconv.ParseUint(d[i+2:i+6], 16, 16); err != nil {
					return "", false, false
				}
				i += 6
			default:
				return "", false, false
			}
		case c < 0x20:
			return "", false, false
		default:
			if c >= 0x80 {
				plain = false
			}
			i++
		}
	}
	return "", false, false
}

// stringValue is the string a span from str stands for, as encoding/json reads it (invalid
// UTF-8 and lone surrogates become U+FFFD), never sharing memory with the request text.
func stringValue(span string, plain bool) (string, bool) {
	inner := span[1 : len(span)-1]
	if plain || (!strings.Contains(inner, `\`) && utf8.ValidString(inner)) {
		return strings.Clone(inner), true
	}
	var s string
	return s, json.Unmarshal([]byte(span), &s) == nil
}

// enter reads a container's opening byte, one level deeper (within maxDepth); empty says it
// was closed at once, in which case the closing byte is read too and the level left.
func (r *reader) enter(open, close byte) (ok, empty bool) {
	if r.peek() != open {
		return false, false
	}
	r.pos++
	if r.depth++; r.depth > maxDepth {
		return false, false
	}
	if r.peek() == close {
		r.pos++
		r.depth--
		return true, true
	}
	return true, false
}

// object reads a JSON object, calling field with each key's span (see str) with r at its
// value, which field must read.
func (r *reader) object(field func(key string, plain bool) bool) bool {
	if ok, empty := r.enter('{', '}'); !ok || empty {
		return ok
	}
	for {
		key, plain, ok := r.str()
		if !ok || r.peek() != ':' {
			return false
		}
		r.pos++
		if !field(key, plain) {
			return false
		}
		switch r.peek() {
		case ',':
			r.pos++
		case '}':
			r.pos++
			r.depth--
			return true
		default:
			return false
		}
	}
}

// array reads a JSON array, calling item with r at each item, which item must read.
func (r *reader) array(item func() bool) bool {
	if ok, empty := r.enter('[', ']'); !ok || empty {
		return ok
	}
	for {
		if !item() {
			return false
		}
		switch r.peek() {
		case ',':
			r.pos++
		case ']':
			r.pos++
			r.depth--
			return true
		default:
			return false
		}
	}
}

// skip reads any JSON value, checking it.
func (r *reader) skip() bool {
	switch c := r.peek(); {
	case c == '{':
		return r.object(func(string, bool) bool { return r.skip() })
	case c == '[':
		return r.array(r.skip)
	case c == '"':
		_, _, ok := r.str()
		return ok
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	}
	_, ok := r.number()
	return ok
}

// span reads any JSON value and returns its text.
func (r *reader) span() (string, bool) {
	r.space()
	start := r.pos
	ok := r.skip()
	return r.data[start:r.pos], ok
}

// generic decodes the JSON text of one value as decodeRequest does (json.Number for numbers).
func generic(text string) (any, bool) {
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var x any
	return x, d.Decode(&x) == nil
}

var (
	decodersMu sync.Mutex
	decoders   = map[reflect.Type]*decodeFunc{}
)

// decoderFor returns the decodeFunc of type t, compiling it (and those of the types it
// contains) on first use.
func decoderFor(t reflect.Type) decodeFunc {
	decodersMu.Lock()
	defer decodersMu.Unlock()
	return compile(t)
}

// compile returns t's decodeFunc; decodersMu is held. A type met again (shared, or
// recursive and still being compiled) gets a call through its cache entry.
func compile(t reflect.Type) decodeFunc {
	if p, ok := decoders[t]; ok {
		return func(r *reader, v reflect.Value) bool { return (*p)(r, v) }
	}
	p := new(decodeFunc)
	decoders[t] = p
	*p = build(t)
	return *p
}

func giveUp(*reader, reflect.Value) bool { return false }
