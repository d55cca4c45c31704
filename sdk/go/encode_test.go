package extws

import (
	"encoding/json"
	"math"
	"math/rand"
	"reflect"
	"testing"
	"time"
)

type valueMarshal int

func (v valueMarshal) MarshalJSON() ([]byte, error) {
	return []byte(`{ "v" : ` + string(rune('0'+v%10)) + `}`), nil
}

type pointerMarshal struct{ N int }

func (p *pointerMarshal) MarshalJSON() ([]byte, error) { return []byte(`"pointer"`), nil }

type textKey string

func (k textKey) MarshalText() ([]byte, error) { return []byte("k-" + string(k)), nil }

type Reply struct {
	B      bool               `json:"b"`
	I      int                `json:"i,omitempty"`
	I8     int8               `json:"i8"`
	U      uint64             `json:"u,omitempty"`
	Up     uintptr            `json:"up"`
	F      float64            `json:"f"`
	F32    float32            `json:"f32,omitempty"`
	S      string             `json:"s,omitempty"`
	Named  textKey            `json:"named"`
	P      *int64             `json:"p,omitempty"`
	PS     *Shape             `json:"ps"`
	List   []Point            `json:"list"`
	Bytes  []byte             `json:"bytes"`
	Arr    [2]string          `json:"arr"`
	M      map[textKey]string `json:"m,omitempty"`
	Any    any                `json:"any"`
	T      time.Time          `json:"t"`
	VM     valueMarshal       `json:"vm"`
	PM     pointerMarshal     `json:"pm"`
	PMs    []pointerMarshal   `json:"pms"`
	Odd    OddTags            `json:"odd"`
	PO     *OddTags           `json:"po,omitempty"`
	Dash   string             `json:"-,"`
	Skip   string             `json:"-"`
	NoTag  string
	hidden string
	User   *User `json:"user"`
}

// OddTags is a leaf: json.Marshal encodes it.
type OddTags struct {
	Quoted int    `json:"quoted,string"`
	Zero   int    `json:"zero,omitzero"`
	Odd    string `json:"a<b"`
}

type WithEmbedded struct {
	Point
	Z int `json:"z"`
}

// TestEncodeMatchesMarshal checks encodeReply against json.Marshal on random values, as
// values and through pointers (encoding/json uses pointer methods of addressable values).
func TestEncodeMatchesMarshal(t *testing.T) {
	rnd := rand.New(rand.NewSource(2))
	models := []any{Reply{}, &Reply{}, Shape{}, &Shape{}, CalculateResponse{}, WhoAmIResponse{}, WithEmbedded{}, &WithEmbedded{}}
	leaves := 0
	for _, model := range models {
		typ := reflect.TypeOf(model)
		enc := encoderFor(typ)
		for k := 0; k < 2000; k++ {
			v := reflect.New(typ).Elem()
			fill(rnd, v, 0)
			want, wantErr := json.Marshal(v.Interface())
			got, ok := encodeReply(enc, reflect.ValueOf(v.Interface()))
			if !ok {
				leaves++
				if wantErr == nil {
					t.Errorf("%s: gave up on %s", typ, want)
				}
				continue
			}
			if wantErr != nil || string(got) != string(want) {
				t.Fatalf("%s:\n got %s\nwant %s (%v)", typ, got, want, wantErr)
			}
		}
	}
	if leaves == 0 || leaves > 4000 {
		t.Errorf("gave up %d times", leaves)
	}
}

var specialStrings = []string{"", "a", "<&>", "é", "\u2028", "\x7f", "\xff", "\"\\\n\t\x01", "plain text 123"}
var specialFloats = []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-7, 1e21, 1e20, 123456789.125, 5e-324, math.MaxFloat64, math.NaN(), math.Inf(1)}

// fill sets v to a random value of its type.
func fill(rnd *rand.Rand, v reflect.Value, depth int) {
	if rnd.Intn(4) == 0 {
		return // the zero value
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := rnd.Int63() >> rnd.Intn(64)
		if rnd.Intn(2) == 0 {
			n = -n
		}
		if v.OverflowInt(n) {
			n %= 100
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rnd.Uint64() >> rnd.Intn(64); !v.OverflowUint(u) {
			v.SetUint(u)
		}
	case reflect.Float32, reflect.Float64:
		f := specialFloats[rnd.Intn(len(specialFloats))]
		if rnd.Intn(2) == 0 {
			f = math.Float64frombits(rnd.Uint64())
		}
		if v.Kind() == reflect.Float32 && !math.IsNaN(f) && !math.IsInf(f, 0) {
			f = float64(float32(f))
		}
		v.SetFloat(f)
	case reflect.String:
		v.SetString(specialStrings[rnd.Intn(len(specialStrings))])
	case reflect.Ptr:
		if depth < 3 {
			p := reflect.New(v.Type().Elem())
			fill(rnd, p.Elem(), depth+1)
			v.Set(p)
		}
	case reflect.Slice:
		n := rnd.Intn(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n && depth < 3; i++ {
			fill(rnd, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(rnd, v.Index(i), depth+1)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := rnd.Intn(3); i > 0; i-- {
			key, elem := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(rnd, key, depth+1)
			fill(rnd, elem, depth+1)
			m.SetMapIndex(key, elem)
		}
		v.Set(m)
	case reflect.Interface:
		v.Set(reflect.ValueOf([]any{"x", 1.5, []any{nil}, map[string]any{"<": true}}[rnd.Intn(4)]))
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(rnd.Int63n(1e10), rnd.Int63n(1e9)).UTC()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(rnd, v.Field(i), depth+1)
			}
		}
	}
}
