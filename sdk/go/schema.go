package extws

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// object is a JSON object that keeps its keys in insertion order.
type object struct {
	keys   []string
	values []any
}

func (o *object) set(key string, value any) *object {
	o.keys = append(o.keys, key)
	o.values = append(o.values, value)
	return o
}

func obj(pairs ...any) *object {
	o := &object{}
	for i := 0; i+1 < len(pairs); i += 2 {
		o.set(pairs[i].(string), pairs[i+1])
	}
	return o
}

// writeJSON writes the values schemas are made of (*object, []any, []string, string, bool,
// int), without reflection.
func writeJSON(b *strings.Builder, v any) {
	switch v := v.(type) {
	case *object:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, k)
			b.WriteByte(':')
			writeJSON(b, v.values[i])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, item)
		}
		b.WriteByte(']')
	case []string:
		items := make([]any, len(v))
		for i, s := range v {
			items[i] = s
		}
		writeJSON(b, items)
	case string:
		text, _ := json.Marshal(v)
		b.Write(text)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	default:
		b.WriteString("null")
	}
}

// schemaOf is the JSON Schema (sdk/README.md's subset) of a request (reply false) or reply
// struct type: nested named structs under $defs, a model's title its name. A request field is
// required unless it is a pointer or omitempty; a reply field unless it is omitempty (what
// encoding/json always writes).
func schemaOf(t reflect.Type, reply bool) *object {
	t = derefType(t)
	s := &schemaBuilder{root: t, reply: reply, defs: &object{}, seen: map[reflect.Type]bool{}}
	root := s.schema(t)
	if root.keys[0] == "$ref" {
		root = s.structSchema(t)
	}
	if len(s.defs.keys) > 0 {
		root.set("$defs", s.defs)
	}
	return root
}

type schemaBuilder struct {
	root  reflect.Type
	reply bool
	defs  *object
	seen  map[reflect.Type]bool
}

func (s *schemaBuilder) schema(t reflect.Type) *object {
	if custom(t) {
		return &object{} // its own (Un)MarshalJSON: any JSON
	}
	switch t.Kind() {
	case reflect.Ptr:
		return obj("anyOf", []any{s.schema(t.Elem()), obj("type", "null")})
	case reflect.Bool:
		return obj("type", "boolean")
	case reflect.Int, reflect.Int64:
		return obj("type", "integer", "format", "int64")
	case reflect.Int32:
		return obj("type", "integer", "format", "int32")
	case reflect.Int8, reflect.Int16:
		max := int64(1)<<(t.Bits()-1) - 1
		return obj("type", "integer", "format", "int32", "minimum", -max-1, "maximum", max)
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return obj("type", "integer", "format", "uint64", "minimum", 0)
	case reflect.Uint32:
		return obj("type", "integer", "format", "uint32", "minimum", 0)
	case reflect.Uint8, reflect.Uint16:
		return obj("type", "integer", "format", "uint32", "minimum", 0, "maximum", int64(1)<<t.Bits()-1)
	case reflect.Float32, reflect.Float64:
		return obj("type", "number")
	case reflect.String:
		return obj("type", "string")
	case reflect.Slice, reflect.Array:
		return obj("type", "array", "items", s.schema(t.Elem()))
	case reflect.Map:
		return obj("type", "object", "additionalProperties", s.schema(t.Elem()))
	case reflect.Struct:
		if t.Name() == "" {
			return s.structSchema(t)
		}
		if t == s.root {
			return obj("$ref", "#")
		}
		if !s.seen[t] {
			s.seen[t] = true
			placeholder := &object{}
			s.defs.set(t.Name(), placeholder)
			*placeholder = *s.structSchema(t)
		}
		return obj("$ref", "#/$defs/"+t.Name())
	}
	return &object{} // interfaces and the rest: any JSON
}

func (s *schemaBuilder) structSchema(t reflect.Type) *object {
	properties, required := &object{}, []string{}
	s.addFields(t, properties, &required)
	o := &object{}
	if t.Name() != "" {
		o.set("title", t.Name())
	}
	return o.set("type", "object").set("properties", properties).set("required", required)
}

func (s *schemaBuilder) addFields(t reflect.Type, properties *object, req *[]string) {
	for _, f := range fieldsOf(t) {
		if embedded(t, f) {
			s.addFields(t.Field(f.index).Type, properties, req)
			continue
		}
		ft := t.Field(f.index).Type
		if s.reply && f.omitEmpty && ft.Kind() == reflect.Ptr {
			ft = ft.Elem() // encoding/json leaves a nil pointer out rather than writing null
		}
		properties.set(f.name, s.schema(ft))
		if (s.reply && !f.omitEmpty) || (!s.reply && required(t, f)) {
			*req = append(*req, f.name)
		}
	}
}

// custom reports types with their own JSON methods (time.Time, json.RawMessage, ...).
func custom(t reflect.Type) bool {
	if t.Kind() == reflect.Ptr || t.Kind() == reflect.Interface {
		return false
	}
	v := reflect.New(t).Interface()
	_, m := v.(json.Marshaler)
	_, u := v.(json.Unmarshaler)
	return m || u
}

// describe is the component's API, as the describe export documents it.
func describe() string {
	types := &object{}
	for _, r := range routes {
		types.set(r.msgType, obj(
			"request", schemaOf(r.request, false),
			"reply", typeName(r.reply),
			"reply_schema", schemaOf(r.reply, true),
		))
	}
	out := obj("types", types)
	if len(pushes) > 0 {
		p := &object{}
		for _, t := range pushes {
			p.set(typeName(t), schemaOf(t, true))
		}
		out.set("pushes", p)
	}
	hooks := []string{}
	if onConnect != nil {
		hooks = append(hooks, "on-connect")
	}
	if onDisconnect != nil {
		hooks = append(hooks, "on-disconnect")
	}
	out.set("hooks", hooks)
	var b strings.Builder
	writeJSON(&b, out)
	return b.String()
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	return t
}
