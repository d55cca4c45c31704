package extws

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// The reply encoder: the bytes json.Marshal writes, without its first-call cost in a fresh
// instance (its type cache, pools and field sorting: ~170 µs for calc's reply). An encodeFunc
// is compiled once per type and writes the common shapes (structs of plain fields, pointers,
// slices, numbers, strings) itself; anything else (maps, interfaces, types with their own
// JSON or text methods, unusual tags, strings needing escapes) it hands to json.Marshal as a
// leaf, in the same addressability encoding/json would see it in. If it gives up (NaN, a
// failing leaf, very deep values) the caller encodes the whole reply with json.Marshal, so
// errors are json.Marshal's too.

// encodeFunc appends v's JSON to b, reporting false to give up.
type encodeFunc func(e *encoder, v reflect.Value) bool

// encoder is the reply being written.
type encoder struct {
	b     []byte
	depth int
}

var (
	encodersMu sync.Mutex
	encoders   = map[reflect.Type]*encodeFunc{}
)

// encodeReply returns rep's JSON as json.Marshal writes it, or false to leave it to
// json.Marshal.
func encodeReply(enc encodeFunc, rep reflect.Value) ([]byte, bool) {
	e := &encoder{b: make([]byte, 0, 64)}
	ok := enc(e, rep)
	return e.b, ok
}

// encoderFor returns type t's encodeFunc, compiling it on first use.
func encoderFor(t reflect.Type) encodeFunc {
	encodersMu.Lock()
	defer encodersMu.Unlock()
	return compileEncoder(t)
}

// compileEncoder is compile's twin for encoders; encodersMu is held.
func compileEncoder(t reflect.Type) encodeFunc {
	if p, ok := encoders[t]; ok {
		return func(e *encoder, v reflect.Value) bool { return (*p)(e, v) }
	}
	p := new(encodeFunc)
	encoders[t] = p
	*p = buildEncoder(t)
	return *p
}

func buildEncoder(t reflect.Type) encodeFunc {
	if mayHaveMethods(t) {
		x := reflect.New(t).Interface()
		_, m := x.(json.Marshaler)
		_, tm := x.(encoding.TextMarshaler)
		if m || tm {
			return encodeLeaf
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(e *encoder, v reflect.Value) bool {
			e.b = strconv.AppendBool(e.b, v.Bool())
			return true
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(e *encoder, v reflect.Value) bool {
			e.b = strconv.AppendInt(e.b, v.Int(), 10)
			return true
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(e *encoder, v reflect.Value) bool {
			e.b = strconv.AppendUint(e.b, v.Uint(), 10)
			return true
		}
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(e *encoder, v reflect.Value) bool { return e.float(v.Float(), bits) }
	case reflect.String:
		return encodeString
	case reflect.Ptr:
		elem := compileEncoder(t.Elem())
		return func(e *encoder, v reflect.Value) bool {
			if v.IsNil() {
				e.b = append(e.b, "null"...)
				return true
			}
			return e.nested(elem, v.Elem())
		}
	case reflect.Slice:
		if t.Elem().Kind() != reflect.Uint8 { // []byte is base64
			return sliceEncoder(t)
		}
	case reflect.Struct:
		return structEncoder(t)
	}
	return encodeLeaf
}

// nested encodes a value inside another, giving up very deep (json.Marshal detects cycles).
func (e *encoder) nested(enc encodeFunc, v reflect.Value) bool {
	if e.depth++; e.depth > 100 {
		return false
	}
	ok := enc(e, v)
	e.depth--
	return ok
}

// encodeLeaf is json.Marshal's encoding of v where it stands: through its address when it is
// addressable, as encoding/json then uses pointer-receiver methods.
func encodeLeaf(e *encoder, v reflect.Value) bool {
	x := v.Interface()
	if v.CanAddr() {
		x = v.Addr().Interface()
	}
	text, err := json.Marshal(x)
	e.b = append(e.b, text...)
	return err == nil
}

// encodeString writes strings json.Marshal leaves as they are; others go to it.
func encodeString(e *encoder, v reflect.Value) bool {
	s := v.String()
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			text, err := json.Marshal(s)
			e.b = append(e.b, text...)
			return err == nil
		}
	}
	e.b = append(append(append(e.b, '"'), s...), '"')
	return true
}

// float is encoding/json's floatEncoder: 'f' format unless tiny or huge, then 'e' with e-07
// written e-7; NaN and infinities are errors.
func (e *encoder) float(f float64, bits int) bool {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	e.b = strconv.AppendFloat(e.b, f, format, -1, bits)
	if n := len(e.b); format == 'e' && n >= 4 && e.b[n-4] == 'e' && e.b[n-3] == '-' && e.b[n-2] == '0' {
		e.b[n-2] = e.b[n-1]
		e.b = e.b[:n-1]
	}
	return true
}

func sliceEncoder(t reflect.Type) encodeFunc {
	elem := compileEncoder(t.Elem())
	return func(e *encoder, v reflect.Value) bool {
		if v.IsNil() {
			e.b = append(e.b, "null"...)
			return true
		}
		e.b = append(e.b, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			if !e.nested(elem, v.Index(i)) {
				return false
			}
		}
		e.b = append(e.b, ']')
		return true
	}
}

// replyField is a struct field json.Marshal writes.
type replyField struct {
	index     int
	key       string // `"name":`
	omitEmpty bool
	encode    encodeFunc
}

// structEncoder writes structs whose fields encoding/json names simply (no embedded fields,
// tags with at most omitempty, ASCII names, none twice); others are leaves.
func structEncoder(t reflect.Type) encodeFunc {
	var fields []replyField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			return encodeLeaf
		}
		tag := f.Tag.Get("json")
		if f.PkgPath != "" || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		if (opts != "" && opts != "omitempty") || !simpleName(name) {
			return encodeLeaf
		}
		for _, g := range fields {
			if g.key == `"`+name+`":` {
				return encodeLeaf
			}
		}
		fields = append(fields, replyField{i, `"` + name + `":`, opts == "omitempty", compileEncoder(f.Type)})
	}
	return func(e *encoder, v reflect.Value) bool {
		e.b = append(e.b, '{')
		first := true
		for i := range fields {
			f := &fields[i]
			fv := v.Field(f.index)
			if f.omitEmpty && empty(fv) {
				continue
			}
			if !first {
				e.b = append(e.b, ',')
			}
			first = false
			e.b = append(e.b, f.key...)
			if !e.nested(f.encode, fv) {
				return false
			}
		}
		e.b = append(e.b, '}')
		return true
	}
}

// simpleName reports names encoding/json takes from a tag as they are and writes unescaped.
func simpleName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return name != ""
}

// empty is encoding/json's isEmptyValue, for omitempty.
func empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Ptr:
		return v.IsNil()
	}
	return false
}
