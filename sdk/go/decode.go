package extws

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// dataError is a request that does not fit its struct: the field path and the problem.
type dataError struct {
	path, problem string
}

func (e *dataError) Error() string {
	if e.path == "" {
		return e.problem
	}
	return e.path + ": " + e.problem
}

// decodeRequest decodes the JSON text data into *target (a pointer to the request struct);
// null reads as {}.
func decodeRequest(data string, target any) error {
	d := json.NewDecoder(strings.NewReader(data))
	d.UseNumber()
	var value any
	if err := d.Decode(&value); err != nil {
		return &dataError{problem: "not JSON: " + err.Error()}
	}
	if d.More() {
		return &dataError{problem: "not JSON: text after the value"}
	}
	if value == nil {
		value = map[string]any{}
	}
	return assign(reflect.ValueOf(target).Elem(), value, "")
}

// field is a struct field as encoding/json names it.
type field struct {
	index     int
	name      string
	omitEmpty bool
}

// fieldsOf lists the exported, JSON-visible fields of struct type t (embedded structs
// without a name tag are flattened into theirs, as encoding/json does, by fieldsOf callers).
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (f.PkgPath != "" && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		omit := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		out = append(out, field{index: i, name: name, omitEmpty: omit})
	}
	return out
}

// embedded reports whether field f of struct type t is an embedded struct to flatten.
func embedded(t reflect.Type, f field) bool {
	sf := t.Field(f.index)
	return sf.Anonymous && sf.Type.Kind() == reflect.Struct && sf.Tag.Get("json") == ""
}

// required reports whether a request must carry the field: not a pointer, not omitempty.
func required(t reflect.Type, f field) bool {
	return !f.omitEmpty && t.Field(f.index).Type.Kind() != reflect.Ptr
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// assign stores the decoded JSON value x (from a UseNumber decoder) into v.
func assign(v reflect.Value, x any, path string) error {
	// A type assertion rather than Type.Implements, which TinyGo's reflect lacks.
	if u, ok := unmarshaler(v); ok {
		text, err := json.Marshal(x)
		if err == nil {
			err = u.UnmarshalJSON(text)
		}
		if err != nil {
			return &dataError{path, err.Error()}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Ptr:
		if x == nil {
			v.Set(reflect.Zero(v.Type()))
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := assign(p.Elem(), x, path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Interface:
		if x != nil {
			v.Set(reflect.ValueOf(plain(x)))
		}
		return nil
	case reflect.Bool:
		b, ok := x.(bool)
		if !ok {
			return mismatch(path, "a boolean", x)
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := x.(json.Number)
		bits := v.Type().Bits()
		if !ok || !integral(string(n)) {
			return mismatch(path, "an integer", x)
		}
		i, err := strconv.ParseInt(string(n), 10, bits)
		if err != nil {
			return mismatch(path, intName("an integer", bits, 64), x)
		}
		v.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := x.(json.Number)
		bits := v.Type().Bits()
		if !ok || !integral(string(n)) {
			return mismatch(path, "a non-negative integer", x)
		}
		u, err := strconv.ParseUint(string(n), 10, bits)
		if err != nil {
			return mismatch(path, intName("a non-negative integer", bits, 0), x)
		}
		v.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		n, ok := x.(json.Number)
		if !ok {
			return mismatch(path, "a number", x)
		}
		f, err := strconv.ParseFloat(string(n), v.Type().Bits())
		if err != nil {
			return mismatch(path, "a number", x)
		}
		v.SetFloat(f)
		return nil
	case reflect.String:
		s, ok := x.(string)
		if !ok {
			return mismatch(path, "a string", x)
		}
		v.SetString(s)
		return nil
	case reflect.Slice:
		items, ok := x.([]any)
		if !ok {
			return mismatch(path, "an array", x)
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			if err := assign(s.Index(i), item, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		object, ok := x.(map[string]any)
		if !ok || v.Type().Key().Kind() != reflect.String {
			return mismatch(path, "an object", x)
		}
		m := reflect.MakeMap(v.Type())
		for key, item := range object {
			e := reflect.New(v.Type().Elem()).Elem()
			if err := assign(e, item, join(path, key)); err != nil {
				return err
			}
			k := reflect.New(v.Type().Key()).Elem() // SetString, not Convert: TinyGo lacks parts of Convert
			k.SetString(key)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
		return nil
	case reflect.Struct:
		object, ok := x.(map[string]any)
		if !ok {
			return mismatch(path, "an object", x)
		}
		return assignStruct(v, object, path)
	}
	return &dataError{path, "extws cannot decode into " + v.Type().String()}
}

// unmarshaler is v's json.Unmarshaler (e.g. time.Time), if its pointer type has one.
func unmarshaler(v reflect.Value) (json.Unmarshaler, bool) {
	if v.Kind() == reflect.Ptr || v.Kind() == reflect.Interface || !v.CanAddr() {
		return nil, false
	}
	u, ok := v.Addr().Interface().(json.Unmarshaler)
	return u, ok
}

func assignStruct(v reflect.Value, object map[string]any, path string) error {
	t := v.Type()
	for _, f := range fieldsOf(t) {
		if embedded(t, f) {
			if err := assignStruct(v.Field(f.index), object, path); err != nil {
				return err
			}
			continue
		}
		item, present := object[f.name]
		if !present {
			if required(t, f) {
				return &dataError{problem: "missing field " + join(path, f.name)}
			}
			continue
		}
		if err := assign(v.Field(f.index), item, join(path, f.name)); err != nil {
			return err
		}
	}
	return nil
}

// integral reports whether a JSON number literal is written as an integer (serde_json reads
// 1.0, 1e2 and -0 as floats).
func integral(literal string) bool {
	return !strings.ContainsAny(literal, ".eE") && literal != "-0"
}

func intName(what string, bits, signed int) string {
	if bits == 64 && signed == 64 {
		return what
	}
	return what + " that fits in " + strconv.Itoa(bits) + " bits"
}

// plain turns json.Number into float64 for interface-typed fields, as encoding/json would.
func plain(x any) any {
	switch x := x.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = plain(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = plain(x[k])
		}
	}
	return x
}

func mismatch(path, want string, x any) error {
	return &dataError{path, "expected " + want + ", got " + show(x)}
}

// show is how a problem names a JSON value: scalars as JSON, containers by kind.
func show(x any) string {
	switch x := x.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case string:
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		_ = e.Encode(x)
		s := strings.TrimSuffix(b.String(), "\n")
		if len(s) > 40 {
			s = s[:37] + "..."
		}
		return s
	}
	return "a value"
}
