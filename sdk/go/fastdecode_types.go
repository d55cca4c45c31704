package extws

import (
	"encoding/json"
	"reflect"
	"strconv"
)

// The per-type decodeFuncs of the fast decoder (fastdecode.go). Each mirrors a case of
// assign (decode.go) on its success path and gives up wherever assign would fail.

var (
	int64s  = reflect.TypeOf([]int64(nil))
	anyType = reflect.TypeOf((*any)(nil)).Elem()
)

// build compiles type t's decodeFunc.
func build(t reflect.Type) decodeFunc {
	if t.Kind() != reflect.Ptr && t.Kind() != reflect.Interface && mayHaveMethods(t) {
		if _, ok := reflect.New(t).Interface().(json.Unmarshaler); ok {
			return decodeCustom
		}
	}
	switch t.Kind() {
	case reflect.Ptr:
		return pointerDecoder(t)
	case reflect.Interface:
		if t == anyType { // not NumMethod: some TinyGo versions' reflect leave it unimplemented
			return decodeAny
		}
	case reflect.Bool:
		return decodeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return func(r *reader, v reflect.Value) bool {
			i, ok := r.int(bits)
			if ok {
				v.SetInt(i)
			}
			return ok
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := t.Bits()
		return func(r *reader, v reflect.Value) bool {
			n, ok := r.number()
			if !ok || !integral(n) {
				return false
			}
			u, err := strconv.ParseUint(n, 10, bits)
			if err == nil {
				v.SetUint(u)
			}
			return err == nil
		}
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(r *reader, v reflect.Value) bool {
			n, ok := r.number()
			if !ok {
				return false
			}
			f, err := strconv.ParseFloat(n, bits)
			if err == nil {
				v.SetFloat(f)
			}
			return err == nil
		}
	case reflect.String:
		return func(r *reader, v reflect.Value) bool {
			span, plain, ok := r.str()
			if !ok {
				return false
			}
			s, ok := stringValue(span, plain)
			if ok {
				v.SetString(s)
			}
			return ok
		}
	case reflect.Slice:
		if t == int64s {
			return decodeInt64s
		}
		return sliceDecoder(t)
	case reflect.Map:
		if t.Key().Kind() == reflect.String {
			return mapDecoder(t)
		}
	case reflect.Struct:
		return structDecoder(t)
	}
	return giveUp // assign fails (or panics) on these: let it
}

// mayHaveMethods is false for types that cannot have methods: unnamed ones other than structs
// with embedded fields. It spares reflect.New on them, which is slow the first time for a type
// whose pointer type the program never mentions (reflect then makes that type, ~80 µs).
func mayHaveMethods(t reflect.Type) bool {
	if t.Name() != "" {
		return true
	}
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).Anonymous {
				return true
			}
		}
	}
	return false
}

// int reads an integral JSON number that fits in bits.
func (r *reader) int(bits int) (int64, bool) {
	n, ok := r.number()
	if !ok || !integral(n) {
		return 0, false
	}
	i, err := strconv.ParseInt(n, 10, bits)
	return i, err == nil
}

// decodeCustom is assign's path for types with their own UnmarshalJSON: the value decoded
// generically, encoded again and handed to the method.
func decodeCustom(r *reader, v reflect.Value) bool {
	text, ok := r.span()
	if !ok || !v.CanAddr() {
		return false
	}
	x, ok := generic(text)
	if !ok {
		return false
	}
	encoded, err := json.Marshal(x)
	if err != nil {
		return false
	}
	u, ok := v.Addr().Interface().(json.Unmarshaler)
	return ok && u.UnmarshalJSON(encoded) == nil
}

// decodeAny stores the value as encoding/json would in an `any` (numbers as float64); null
// leaves it nil.
func decodeAny(r *reader, v reflect.Value) bool {
	text, ok := r.span()
	if !ok {
		return false
	}
	x, ok := generic(text)
	if ok && x != nil {
		v.Set(reflect.ValueOf(plain(x)))
	}
	return ok
}

func decodeBool(r *reader, v reflect.Value) bool {
	r.space()
	switch {
	case r.literal("true"):
		v.SetBool(true)
	case r.literal("false"):
		v.SetBool(false)
	default:
		return false
	}
	return true
}

func pointerDecoder(t reflect.Type) decodeFunc {
	elemType := t.Elem()
	elem := compile(elemType)
	return func(r *reader, v reflect.Value) bool {
		if r.peek() == 'n' {
			if !r.literal("null") {
				return false
			}
			v.Set(reflect.Zero(t))
			return true
		}
		p := reflect.New(elemType)
		if !elem(r, p.Elem()) {
			return false
		}
		v.Set(p)
		return true
	}
}

// decodeInt64s is []int64, the common case, without reflection per item.
func decodeInt64s(r *reader, v reflect.Value) bool {
	items := make([]int64, 0, 8)
	ok := r.array(func() bool {
		i, ok := r.int(64)
		items = append(items, i)
		return ok
	})
	if ok {
		v.Set(reflect.ValueOf(items[:len(items):len(items)]))
	}
	return ok
}

// sliceDecoder counts the items first, so that the slice is made once with its length.
func sliceDecoder(t reflect.Type) decodeFunc {
	elem := compile(t.Elem())
	return func(r *reader, v reflect.Value) bool {
		ahead, n := *r, 0
		if !ahead.array(func() bool { n++; return ahead.skip() }) {
			return false
		}
		s, i := reflect.MakeSlice(t, n, n), 0
		ok := r.array(func() bool {
			i++
			return elem(r, s.Index(i-1))
		})
		if ok {
			v.Set(s)
		}
		return ok
	}
}

func mapDecoder(t reflect.Type) decodeFunc {
	keyType, elemType := t.Key(), t.Elem()
	elem := compile(elemType)
	return func(r *reader, v reflect.Value) bool {
		m := reflect.MakeMap(t)
		ok := r.object(func(span string, plain bool) bool {
			key, ok := stringValue(span, plain)
			e := reflect.New(elemType).Elem()
			if !ok || !elem(r, e) {
				return false
			}
			k := reflect.New(keyType).Elem() // SetString, not Convert: TinyGo lacks parts of Convert
			k.SetString(key)
			m.SetMapIndex(k, e)
			return true
		})
		if ok {
			v.Set(m)
		}
		return ok
	}
}

// structField is a field a request object's key may set: embedded structs flattened, as
// assignStruct walks them.
type structField struct {
	name     string
	index    []int // Field indexes from the outer struct
	required bool
	decode   decodeFunc
}

// flatten lists t's fields for structDecoder, false for structs it leaves to assignStruct:
// unexported embedded non-structs (reflect refuses to set them) and names met twice
// (assignStruct sets every field of the name).
func flatten(t reflect.Type, outer []int, out *[]structField) bool {
	for _, f := range fieldsOf(t) {
		sf := t.Field(f.index)
		index := append(append([]int(nil), outer...), f.index)
		if embedded(t, f) {
			if !flatten(sf.Type, index, out) {
				return false
			}
			continue
		}
		if sf.PkgPath != "" {
			return false
		}
		for _, g := range *out {
			if g.name == f.name {
				return false
			}
		}
		*out = append(*out, structField{f.name, index, required(t, f), compile(sf.Type)})
	}
	return true
}

func structDecoder(t reflect.Type) decodeFunc {
	var fields []structField
	if !flatten(t, nil, &fields) || len(fields) > 64 {
		return giveUp
	}
	var need uint64 // the required fields
	for i, f := range fields {
		if f.required {
			need |= 1 << i
		}
	}
	return func(r *reader, v reflect.Value) bool {
		var seen uint64
		ok := r.object(func(span string, plain bool) bool {
			key := span[1 : len(span)-1]
			if !plain {
				var ok bool
				if key, ok = stringValue(span, plain); !ok {
					return false
				}
			}
			for i := range fields {
				if f := &fields[i]; f.name == key {
					if seen&(1<<i) != 0 {
						return false // a repeated key: the last one counts, let assignStruct see
					}
					seen |= 1 << i
					target := v
					for _, j := range f.index {
						target = target.Field(j)
					}
					return f.decode(r, target)
				}
			}
			return r.skip()
		})
		return ok && seen&need == need
	}
}
